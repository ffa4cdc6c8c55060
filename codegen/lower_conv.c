/* codegen/lower_conv.c - cast: exact conversions between every pair of
 * dtypes, bit-exact with vm_cast (vm/dtype_conv.c; VM.md 3).
 *
 * Where a PTX cvt rounds exactly as vm_cast does it is used:
 *   int -> f32/f64 cvt.rn; f32 -> f16/bf16 cvt.rn; f64 -> f32/f16 cvt.rn;
 *   f16 -> f32 exact; float -> int cvt.rni (saturating, NaN -> 0) then a
 *   clamp to a narrower int; int -> int a clamp in the source type;
 *   ints of <= 24 bits -> f16 through f32 (exact), wider ints through f64
 *   (exact up to 2^53; a value f64 rounds is beyond f16's range anyway);
 *   ints of <= 24 bits, f16 and narrow floats -> bf16 through f32 (exact).
 * Every other float target (all narrow floats, bf16 from 32/64-bit ints and
 * f64) goes through the reference algorithm written as integer ops: the
 * source is unpacked exactly into (sign, 64-bit magnitude, exponent, NaN,
 * inf), then rounded once to the target (round_float of dtype_conv.c:
 * nearest even, saturation of narrow formats, canonical NaN).
 * Narrow floats widen to f32 exactly: magnitude * 2^exp in f32 (both exact),
 * sign or'ed in, specials selected. Every conversion producing a NaN gives
 * the canonical NaN (checked with setp.nan and a select). */
#include "codegen/lower.h"

typedef struct {
    int bits, e, m, bias;
    int sp; /* 0 none, 1 fn (e4m3), 2 ieee */
    bool saturate;
    uint64_t maxcode;
} Fmt;

static Fmt fmt_of(Dtype dt)
{
    const DtypeInfo *d = vm_dtype_info(dt);
    Fmt f = {d->bits, d->ebits, d->mbits, (1 << (d->ebits - 1)) - 1, 0, d->bits <= 8, 0};
    f.sp = vm_dtype_has_inf(dt) ? 2 : vm_dtype_has_nan(dt) ? 1 : 0;
    uint64_t emax = (1ull << f.e) - 1, mmax = (1ull << f.m) - 1;
    f.maxcode = f.sp == 2 ? ((emax - 1) << f.m) | mmax
                : f.sp == 1 ? (emax << f.m) | (mmax - 1)
                            : (emax << f.m) | mmax;
    return f;
}

static bool narrow(Dtype dt) { return vm_dtype_is_float(dt) && vm_dtype_bits(dt) <= 8; }

static int canon(CgLower *L, TirType t, int x)
{
    int nan = cg_setp(L, TIR_CMP_NAN, t, cg_R(x), cg_R(x));
    uint64_t c = t == TIR_F64 ? 0x7FFFFFFFFFFFFFFFull : t == TIR_F32 ? 0x7FFFFFFFull : 0x7FFFull;
    return cg_selp(L, t, cg_I((int64_t)c), cg_R(x), nan);
}

/* ---------------------------------------------------------------- unpacked values */

typedef struct {
    int neg;      /* pred */
    int mag;      /* u64 */
    int exp;      /* s32 */
    int nan, inf; /* pred or -1 */
} Unp;

static int u64_of(CgLower *L, int code)
{
    TirType t = L->t->regs[code].type;
    return t == TIR_U64 ? code : cg_cvt(L, TIR_U64, TIR_U32, TIR_RND_NONE, false, cg_R(code));
}

/* a float code (u32 or u64) of format f */
static Unp unpack_float(CgLower *L, const Fmt *f, int code)
{
    const TirType U = TIR_U64;
    Unp u;
    int c = u64_of(L, code);
    uint64_t emax = (1ull << f->e) - 1, mmax = (1ull << f->m) - 1;
    int sb = cg_op2(L, TIR_OP_SHR, U, cg_R(c), cg_I(f->bits - 1));
    sb = cg_op2(L, TIR_OP_AND, U, cg_R(sb), cg_I(1));
    u.neg = cg_setp(L, TIR_CMP_NE, U, cg_R(sb), cg_I(0));
    int e = cg_op2(L, TIR_OP_SHR, U, cg_R(c), cg_I(f->m));
    e = cg_op2(L, TIR_OP_AND, U, cg_R(e), cg_I((int64_t)emax));
    int m = cg_op2(L, TIR_OP_AND, U, cg_R(c), cg_I((int64_t)mmax));
    int ez = cg_setp(L, TIR_CMP_EQ, U, cg_R(e), cg_I(0));
    int hid = cg_op2(L, TIR_OP_OR, U, cg_R(m), cg_I((int64_t)(1ull << f->m)));
    u.mag = cg_selp(L, U, cg_R(m), cg_R(hid), ez);
    int e32 = cg_cvt(L, TIR_S32, U, TIR_RND_NONE, false, cg_R(e));
    int e1 = cg_selp(L, TIR_S32, cg_I(1), cg_R(e32), ez);
    u.exp = cg_op2(L, TIR_OP_SUB, TIR_S32, cg_R(e1), cg_I(f->bias + f->m));
    u.nan = u.inf = -1;
    if (f->sp == 2) {
        int top = cg_setp(L, TIR_CMP_EQ, U, cg_R(e), cg_I((int64_t)emax));
        int mz = cg_setp(L, TIR_CMP_EQ, U, cg_R(m), cg_I(0));
        u.inf = cg_pand(L, top, mz);
        int mnz = cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(mz));
        u.nan = cg_pand(L, top, mnz);
    } else if (f->sp == 1) {
        int low = cg_op2(L, TIR_OP_AND, U, cg_R(c), cg_I((int64_t)((emax << f->m) | mmax)));
        u.nan = cg_setp(L, TIR_CMP_EQ, U, cg_R(low), cg_I((int64_t)((emax << f->m) | mmax)));
    }
    return u;
}

static Unp unpack_int(CgLower *L, Dtype from, int reg)
{
    TirType t = cg_elem_type(from);
    Unp u = {-1, -1, -1, -1, -1};
    int x64 = reg;
    if (t == TIR_S32)
        x64 = cg_cvt(L, TIR_S64, TIR_S32, TIR_RND_NONE, false, cg_R(reg));
    else if (t == TIR_U32)
        x64 = cg_cvt(L, TIR_U64, TIR_U32, TIR_RND_NONE, false, cg_R(reg));
    if (t == TIR_S32 || t == TIR_S64) {
        u.neg = cg_setp(L, TIR_CMP_LT, TIR_S64, cg_R(x64), cg_I(0));
        int ng = cg_op1(L, TIR_OP_NEG, TIR_S64, cg_R(x64));
        int a = cg_selp(L, TIR_S64, cg_R(ng), cg_R(x64), u.neg);
        u.mag = cg_bitcast(L, TIR_U64, TIR_S64, cg_R(a));
    } else {
        u.mag = x64;
        u.neg = cg_setp(L, TIR_CMP_NE, TIR_U64, cg_R(u.mag), cg_R(u.mag)); /* false */
    }
    u.exp = cg_reg(L, TIR_S32, NULL);
    cg_mov(L, u.exp, cg_I(0));
    return u;
}

/* round_float of dtype_conv.c: the code (u64) of the unpacked value in f */
static int round_float(CgLower *L, const Fmt *f, Unp u)
{
    const TirType U = TIR_U64, S = TIR_S32;
    uint64_t inf = ((1ull << f->e) - 1) << f->m;
    uint64_t big = f->saturate ? f->maxcode : inf;
    int clz = cg_op1(L, TIR_OP_CLZ, TIR_B64, cg_R(u.mag));
    L->cur->last->type2 = TIR_B64;
    int clzs = cg_bitcast(L, S, TIR_U32, cg_R(clz));
    int bl = cg_op2(L, TIR_OP_SUB, S, cg_I(64), cg_R(clzs));
    int top = cg_op2(L, TIR_OP_ADD, S, cg_R(u.exp), cg_R(bl));
    top = cg_op2(L, TIR_OP_SUB, S, cg_R(top), cg_I(1));
    int far = cg_setp(L, TIR_CMP_GT, S, cg_R(top), cg_I((1 << f->e) - f->bias));
    int tt = cg_op2(L, TIR_OP_MAX, S, cg_R(top), cg_I(1 - f->bias));
    int ulp = cg_op2(L, TIR_OP_SUB, S, cg_R(tt), cg_I(f->m));
    int s = cg_op2(L, TIR_OP_SUB, S, cg_R(ulp), cg_R(u.exp));
    int spos = cg_setp(L, TIR_CMP_GT, S, cg_R(s), cg_I(0));
    int sbig = cg_setp(L, TIR_CMP_GT, S, cg_R(s), cg_I(64));
    int ns = cg_op1(L, TIR_OP_NEG, S, cg_R(s));
    int nsu = cg_bitcast(L, TIR_U32, S, cg_R(ns));
    int su = cg_bitcast(L, TIR_U32, S, cg_R(s));
    int ql = cg_op2(L, TIR_OP_SHL, U, cg_R(u.mag), cg_R(nsu));
    int qr = cg_op2(L, TIR_OP_SHR, U, cg_R(u.mag), cg_R(su));
    int q = cg_selp(L, U, cg_R(qr), cg_R(ql), spos);
    int qs = cg_op2(L, TIR_OP_SHL, U, cg_R(qr), cg_R(su));
    int rem = cg_op2(L, TIR_OP_SUB, U, cg_R(u.mag), cg_R(qs));
    int s1 = cg_op2(L, TIR_OP_SUB, TIR_U32, cg_R(su), cg_I(1));
    int half = cg_op2(L, TIR_OP_SHL, U, cg_I(1), cg_R(s1));
    int above = cg_setp(L, TIR_CMP_GT, U, cg_R(rem), cg_R(half));
    int tie = cg_setp(L, TIR_CMP_EQ, U, cg_R(rem), cg_R(half));
    /* code: subnormal q, or exponent field and the low M bits of q */
    int qn = cg_op2(L, TIR_OP_SHR, U, cg_R(q), cg_I(f->m));
    int isnorm = cg_setp(L, TIR_CMP_NE, U, cg_R(qn), cg_I(0));
    int eb = cg_op2(L, TIR_OP_ADD, S, cg_R(top), cg_I(f->bias));
    int eb64 = cg_cvt(L, U, S, TIR_RND_NONE, false, cg_R(eb));
    int ef = cg_op2(L, TIR_OP_SHL, U, cg_R(eb64), cg_I(f->m));
    int ml = cg_op2(L, TIR_OP_AND, U, cg_R(q), cg_I((int64_t)((1ull << f->m) - 1)));
    int nc = cg_op2(L, TIR_OP_OR, U, cg_R(ef), cg_R(ml));
    int code = cg_selp(L, U, cg_R(nc), cg_R(q), isnorm);
    int odd = cg_op2(L, TIR_OP_AND, U, cg_R(code), cg_I(1));
    int oddp = cg_setp(L, TIR_CMP_NE, U, cg_R(odd), cg_I(0));
    int up = cg_op2(L, TIR_OP_OR, TIR_PRED, cg_R(above), cg_R(cg_pand(L, tie, oddp)));
    up = cg_pand(L, up, spos);
    up = cg_pand(L, up, cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(sbig)));
    int inc = cg_selp(L, U, cg_I(1), cg_I(0), up);
    code = cg_op2(L, TIR_OP_ADD, U, cg_R(code), cg_R(inc));
    int over = cg_setp(L, TIR_CMP_GT, U, cg_R(code), cg_I((int64_t)f->maxcode));
    code = cg_selp(L, U, cg_I((int64_t)big), cg_R(code),
                   cg_op2(L, TIR_OP_OR, TIR_PRED, cg_R(over), cg_R(far)));
    int zero = cg_setp(L, TIR_CMP_EQ, U, cg_R(u.mag), cg_I(0));
    code = cg_selp(L, U, cg_I(0), cg_R(code), zero);
    if (u.inf >= 0)
        code = cg_selp(L, U, cg_I((int64_t)(f->sp == 2 ? inf : f->maxcode)), cg_R(code), u.inf);
    int sign = cg_selp(L, U, cg_I((int64_t)(1ull << (f->bits - 1))), cg_I(0), u.neg);
    code = cg_op2(L, TIR_OP_OR, U, cg_R(code), cg_R(sign));
    if (u.nan >= 0) {
        uint64_t nanc = f->sp == 0 ? f->maxcode : (1ull << (f->bits - 1)) - 1;
        code = cg_selp(L, U, cg_I((int64_t)nanc), cg_R(code), u.nan);
    }
    return code;
}

static int code_to_reg(CgLower *L, Dtype to, int code64)
{
    if (vm_dtype_bits(to) == 64)
        return cg_from_code(L, to, code64);
    int c = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false, cg_R(code64));
    return cg_from_code(L, to, c);
}

/* generic: any source -> float target through the reference algorithm */
static int cast_generic(CgLower *L, Dtype to, Dtype from, int reg)
{
    Fmt tf = fmt_of(to);
    Unp u;
    if (vm_dtype_is_float(from)) {
        Fmt sf = fmt_of(from);
        u = unpack_float(L, &sf, cg_to_code(L, from, reg));
    } else {
        u = unpack_int(L, from, reg);
    }
    return code_to_reg(L, to, round_float(L, &tf, u));
}

/* ---------------------------------------------------------------- widening to f32 */

int cg_float_to_f32(CgLower *L, Dtype from, int reg)
{
    const TirType F = TIR_F32, U = TIR_U32;
    if (from == VM_DT_F32)
        return reg;
    if (from == VM_DT_F16)
        return canon(L, F, cg_cvt(L, F, TIR_F16, TIR_RND_NONE, false, cg_R(reg)));
    if (from == VM_DT_BF16) {
        int c = cg_to_code(L, from, reg);
        int b = cg_op2(L, TIR_OP_SHL, U, cg_R(c), cg_I(16));
        return canon(L, F, cg_bitcast(L, F, U, cg_R(b)));
    }
    Fmt f = fmt_of(from);
    uint32_t emax = (1u << f.e) - 1, mmax = (1u << f.m) - 1;
    int c = reg;
    int e = cg_op2(L, TIR_OP_SHR, U, cg_R(c), cg_I(f.m));
    e = cg_op2(L, TIR_OP_AND, U, cg_R(e), cg_I(emax));
    int m = cg_op2(L, TIR_OP_AND, U, cg_R(c), cg_I(mmax));
    int ez = cg_setp(L, TIR_CMP_EQ, U, cg_R(e), cg_I(0));
    int hid = cg_op2(L, TIR_OP_OR, U, cg_R(m), cg_I(1ll << f.m));
    int mag = cg_selp(L, U, cg_R(m), cg_R(hid), ez);
    int e1 = cg_selp(L, U, cg_I(1), cg_R(e), ez);
    /* 2^(e1 - bias - M) as f32 bits: (e1 - bias - M + 127) << 23 */
    int eb = cg_op2(L, TIR_OP_ADD, U, cg_R(e1), cg_I(127 - f.bias - f.m));
    int sc = cg_bitcast(L, F, U, cg_R(cg_op2(L, TIR_OP_SHL, U, cg_R(eb), cg_I(23))));
    int mf = cg_cvt(L, F, U, TIR_RND_RN, false, cg_R(mag));
    int v = cg_op2(L, TIR_OP_MUL, F, cg_R(mf), cg_R(sc));
    int vb = cg_bitcast(L, U, F, cg_R(v));
    int sb = cg_op2(L, TIR_OP_SHR, U, cg_R(c), cg_I(f.bits - 1));
    sb = cg_op2(L, TIR_OP_SHL, U, cg_R(sb), cg_I(31));
    vb = cg_op2(L, TIR_OP_OR, U, cg_R(vb), cg_R(sb));
    if (f.sp == 1) {
        int low = cg_op2(L, TIR_OP_AND, U, cg_R(c), cg_I((emax << f.m) | mmax));
        int nan = cg_setp(L, TIR_CMP_EQ, U, cg_R(low), cg_I((emax << f.m) | mmax));
        vb = cg_selp(L, U, cg_I(0x7FFFFFFF), cg_R(vb), nan);
    } else if (f.sp == 2) {
        int top = cg_setp(L, TIR_CMP_EQ, U, cg_R(e), cg_I(emax));
        int mz = cg_setp(L, TIR_CMP_EQ, U, cg_R(m), cg_I(0));
        int infb = cg_op2(L, TIR_OP_OR, U, cg_R(sb), cg_I(0x7F800000));
        int sp = cg_selp(L, U, cg_R(infb), cg_I(0x7FFFFFFF), mz);
        vb = cg_selp(L, U, cg_R(sp), cg_R(vb), top);
    }
    return cg_bitcast(L, F, U, cg_R(vb));
}

/* ---------------------------------------------------------------- cast */

static int64_t int_lo(Dtype dt)
{
    int n = vm_dtype_bits(dt);
    return vm_dtype_is_signed(dt) ? (int64_t)(-(1ull << (n - 1))) : 0;
}

static uint64_t int_hi(Dtype dt)
{
    int n = vm_dtype_bits(dt) - (vm_dtype_is_signed(dt) ? 1 : 0);
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* saturating: clamps in the source type where the target's bound is inside
 * the source's range, then narrows, widens or re-types */
static int int_to_int(CgLower *L, Dtype to, Dtype from, int reg)
{
    TirType ft = cg_elem_type(from), tt = cg_elem_type(to);
    int x = reg;
    if (int_lo(to) > int_lo(from))
        x = cg_op2(L, TIR_OP_MAX, ft, cg_R(x), cg_I(int_lo(to)));
    if (int_hi(to) < int_hi(from))
        x = cg_op2(L, TIR_OP_MIN, ft, cg_R(x), cg_I((int64_t)int_hi(to)));
    if (ft == tt)
        return x;
    if (tir_type_bits(ft) == tir_type_bits(tt))
        return cg_bitcast(L, tt, ft, cg_R(x));
    return cg_cvt(L, tt, ft, TIR_RND_NONE, false, cg_R(x));
}

static int float_to_int(CgLower *L, Dtype to, Dtype from, int reg)
{
    TirType tt = cg_elem_type(to);
    int x = reg;
    TirType st = TIR_F64;
    if (from != VM_DT_F64) {
        x = cg_float_to_f32(L, from, reg);
        st = TIR_F32;
    }
    int r = cg_cvt(L, tt, st, TIR_RND_RNI, true, cg_R(x));
    int n = vm_dtype_bits(to);
    if (n < 32) {
        r = cg_op2(L, TIR_OP_MAX, tt, cg_R(r), cg_I((int64_t)vm_dtype_min(to)));
        r = cg_op2(L, TIR_OP_MIN, tt, cg_R(r), cg_I((int64_t)vm_dtype_max(to)));
    }
    return r;
}

static TirType int_cvt_type(Dtype from) { return cg_elem_type(from); }

int cg_cast(CgLower *L, Dtype to, Dtype from, int reg)
{
    if (to == from)
        return reg;
    if (from == VM_DT_BOOL) {
        int u = cg_selp(L, TIR_U32, cg_I(1), cg_I(0), reg);
        return cg_cast(L, to, VM_DT_U1, u);
    }
    if (to == VM_DT_BOOL) {
        int c = cg_to_code(L, from, reg);
        TirType ct = L->t->regs[c].type;
        if (vm_dtype_is_float(from)) {
            int bits = vm_dtype_bits(from);
            uint64_t m = bits == 64 ? 0x7FFFFFFFFFFFFFFFull : (1ull << (bits - 1)) - 1;
            c = cg_op2(L, TIR_OP_AND, ct, cg_R(c), cg_I((int64_t)m));
        }
        return cg_setp(L, TIR_CMP_NE, ct, cg_R(c), cg_I(0));
    }
    bool fi = !vm_dtype_is_float(from), ti = !vm_dtype_is_float(to);
    if (fi && ti)
        return int_to_int(L, to, from, reg);
    if (ti)
        return float_to_int(L, to, from, reg);
    TirType tt = cg_elem_type(to);
    int fbits = vm_dtype_bits(from);
    if (narrow(to))
        return cast_generic(L, to, from, reg);
    if (to == VM_DT_F32 || to == VM_DT_F64) {
        if (fi)
            return cg_cvt(L, tt, int_cvt_type(from), TIR_RND_RN, false, cg_R(reg));
        if (from == VM_DT_F64)
            return canon(L, TIR_F32, cg_cvt(L, TIR_F32, TIR_F64, TIR_RND_RN, false, cg_R(reg)));
        int f = cg_float_to_f32(L, from, reg);
        if (to == VM_DT_F32)
            return f;
        return canon(L, TIR_F64, cg_cvt(L, TIR_F64, TIR_F32, TIR_RND_NONE, false, cg_R(f)));
    }
    /* f16 or bf16 */
    if (to == VM_DT_F16) {
        if (from == VM_DT_F64)
            return canon(L, tt, cg_cvt(L, tt, TIR_F64, TIR_RND_RN, false, cg_R(reg)));
        if (fi && fbits > 24) {
            int d = cg_cvt(L, TIR_F64, int_cvt_type(from), TIR_RND_RN, false, cg_R(reg));
            return cg_cvt(L, tt, TIR_F64, TIR_RND_RN, false, cg_R(d));
        }
        if (fi) {
            int d = cg_cvt(L, TIR_F32, int_cvt_type(from), TIR_RND_RN, false, cg_R(reg));
            return cg_cvt(L, tt, TIR_F32, TIR_RND_RN, false, cg_R(d));
        }
        int f = cg_float_to_f32(L, from, reg);
        return canon(L, tt, cg_cvt(L, tt, TIR_F32, TIR_RND_RN, false, cg_R(f)));
    }
    if (from == VM_DT_F64 || (fi && fbits > 24))
        return cast_generic(L, to, from, reg);
    int f = fi ? cg_cvt(L, TIR_F32, int_cvt_type(from), TIR_RND_RN, false, cg_R(reg))
               : cg_float_to_f32(L, from, reg);
    return canon(L, tt, cg_cvt(L, tt, TIR_F32, TIR_RND_RN, false, cg_R(f)));
}

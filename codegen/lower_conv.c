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
 * the canonical NaN (checked with setp.nan and a select).
 *
 * Fast register conversions (CODEGEN.md 1, PTX-FACTS.md "Bit tricks"):
 * cast(view(words, d), f16/bf16/f32) for every int d of <= 8 bits, where the view's
 * source holds whole 32-bit words per thread, converts each word at once
 * (cg_cast_packed): the codes are placed under a magic exponent with lop3
 * or prmt and one f16x2/bf16x2 (or f32) subtract or fma gives two values.
 *   u4/i4 -> f16: lop3 (w & 0x000f000f) | 0x64006400 -> 1024 + n, minus
 *     1024; nibbles at bit 4 (w & 0x00f000f0) give 1024 + 16n, fma with
 *     1/16 and -64; w >> 8 for the other four. Signed: the lop3 also xors
 *     the nibble's top bit ((w & m) ^ 0x64086408), subtract 1024 + 8.
 *   u4/i4 -> bf16: (w >> 4j & 0x000f000f) | 0x43004300 -> 128 + n,
 *     fma.rn.bf16x2 with 1.0 and -128 (-136 signed); sm_80 has no bf16x2 sub.
 *   u8/i8 -> f16: prmt bytes under 0x64 (signed: w ^ 0x80808080 first),
 *     sub.f16x2 of 1024 (1152 signed).
 *   u8/i8 -> f32: prmt each byte under 0x4B000000 (2^23 + x as f32),
 *     sub.f32 of 2^23 (+128 signed); -> bf16: then cvt.rn.bf16.f32 (exact:
 *     |x| < 256).
 *   u4/i4 -> f32: the f16 pairs, then cvt.f32.f16 (exact, never NaN: no
 *     canonicalization).
 *   other widths of 1..7 bits (u3, i5, ...): lower_conv_fields.c, lop3 +
 *     add pairs with codes at any mantissa bit p (p + b <= 10 f16, <= 7
 *     bf16; the magic of each half makes the code's unit 1) of source
 *     registers planned per group of words; -> f32 through the f16 pairs
 *     and cvt.f32.f16.
 * Every subtract is of equal magnitudes for code 0, so 0 gives +0.0 as
 * vm_cast does. The pairs are split back into one register per element
 * (the tensor's element l stays element l): the order the trick produces
 * ((n0, n4), (n1, n5), ... per word) only decides which unpack half goes
 * to which element, so any layout is right. */
#include <string.h>

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

/* ---------------------------------------------------------------- fast, packed */

static int bits_f16x2(CgLower *L, TirType pt, int word)
{
    return cg_bitcast(L, pt, TIR_B32, cg_R(word));
}

/* the two halves of a f16x2/bf16x2 pair as registers of the element type */
void cg_split_pair(CgLower *L, TirType et, TirType pt, int pair, int *lo, int *hi)
{
    *lo = cg_reg(L, et, NULL);
    *hi = cg_reg(L, et, NULL);
    TirOp *o = cg_emit(L, TIR_OP_UNPACK, et);
    o->type2 = pt;
    o->nd = 2;
    o->d[0] = *lo;
    o->d[1] = *hi;
    o->na = 1;
    o->a[0] = cg_R(pair);
}

int cg_lop3(CgLower *L, int a, uint32_t b, uint32_t c, int lut)
{
    int d = cg_op3(L, TIR_OP_LOP3, TIR_B32, cg_R(a), cg_I(b), cg_I(c));
    L->cur->last->imm = lut;
    return d;
}

enum { LUT_AND_OR = 0xEA, LUT_AND_XOR = 0x6A };

/* 8 nibbles of word w (nibble j = element j) */
static void u4_word(CgLower *L, Dtype to, bool sgn, int w, int *out)
{
    int lut = sgn ? LUT_AND_XOR : LUT_AND_OR;
    if (to == VM_DT_F16) {
        const TirType P = TIR_F16X2;
        uint32_t lo_c = sgn ? 0x64086408u : 0x64006400u, hi_c = sgn ? 0x64806480u : 0x64006400u;
        uint32_t sub = sgn ? 0x64086408u : 0x64006400u, bias = sgn ? 0xD480D480u : 0xD400D400u;
        int w8 = cg_op2(L, TIR_OP_SHR, TIR_B32, cg_R(w), cg_I(8));
        for (int s = 0; s < 2; s++) {
            int x = s ? w8 : w;
            int a = bits_f16x2(L, P, cg_lop3(L, x, 0x000F000Fu, lo_c, lut));
            int b = bits_f16x2(L, P, cg_lop3(L, x, 0x00F000F0u, hi_c, lut));
            int pa = cg_op2(L, TIR_OP_SUB, P, cg_R(a), cg_I(sub));
            int pb = cg_op3(L, TIR_OP_FMA, P, cg_R(b), cg_I(0x2C002C00u), cg_I(bias));
            cg_split_pair(L, TIR_F16, P, pa, &out[2 * s], &out[2 * s + 4]);
            cg_split_pair(L, TIR_F16, P, pb, &out[2 * s + 1], &out[2 * s + 5]);
        }
        return;
    }
    const TirType P = TIR_BF16X2;
    uint32_t c = sgn ? 0x43084308u : 0x43004300u, bias = sgn ? 0xC308C308u : 0xC300C300u;
    for (int s = 0; s < 4; s++) {
        int x = s ? cg_op2(L, TIR_OP_SHR, TIR_B32, cg_R(w), cg_I(4 * s)) : w;
        int a = bits_f16x2(L, P, cg_lop3(L, x, 0x000F000Fu, c, lut));
        int p = cg_op3(L, TIR_OP_FMA, P, cg_R(a), cg_I(0x3F803F80u), cg_I(bias));
        cg_split_pair(L, TIR_BF16, P, p, &out[s], &out[s + 4]);
    }
}

/* 4 bytes of word w as f32: 2^23 + x, minus 2^23 (+128 signed) */
static void u8_word_f32(CgLower *L, bool sgn, int w, int *out)
{
    int x = sgn ? cg_op2(L, TIR_OP_XOR, TIR_B32, cg_R(w), cg_I(0x80808080u)) : w;
    uint32_t bias = sgn ? 0x4B000080u : 0x4B000000u;
    for (int j = 0; j < 4; j++) {
        int q = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(x), cg_I(0x4B000000u), cg_I(0x7440 + j));
        int f = cg_bitcast(L, TIR_F32, TIR_B32, cg_R(q));
        out[j] = cg_op2(L, TIR_OP_SUB, TIR_F32, cg_R(f), cg_I(bias));
    }
}

/* 4 bytes of word w (byte j = element j) */
static void u8_word(CgLower *L, Dtype to, bool sgn, int w, int *out)
{
    if (to == VM_DT_F16) {
        int x = sgn ? cg_op2(L, TIR_OP_XOR, TIR_B32, cg_R(w), cg_I(0x80808080u)) : w;
        const TirType P = TIR_F16X2;
        for (int s = 0; s < 2; s++) {
            int q = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(x), cg_I(0x64646464u),
                           cg_I(s ? 0x4342 : 0x4140));
            int h = bits_f16x2(L, P, q);
            int p = cg_op2(L, TIR_OP_SUB, P, cg_R(h), cg_I(sgn ? 0x64806480u : 0x64006400u));
            cg_split_pair(L, TIR_F16, P, p, &out[s * 2], &out[s * 2 + 1]);
        }
        return;
    }
    u8_word_f32(L, sgn, w, out);
    for (int j = 0; j < 4; j++)
        out[j] = cg_cvt(L, TIR_BF16, TIR_F32, TIR_RND_RN, false, cg_R(out[j]));
}

/* The last op of the current block writing reg, or NULL. */
static TirOp *last_def(CgLower *L, int reg)
{
    TirOp *d = NULL;
    for (TirOp *o = L->cur->first; o; o = o->next)
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] == reg)
                d = o;
    return d;
}

static bool written_after(const TirOp *from, int reg)
{
    for (const TirOp *o = from->next; o; o = o->next) {
        if (o->body.first || o->orelse.first)
            return true;
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] == reg)
                return true;
    }
    return false;
}

/* Moves the ops emitted after `mark` (the block's last op before them) to
 * just after op `at` of the current block. */
static void move_after(CgLower *L, TirOp *mark, TirOp *at)
{
    TirOp *first = mark->next, *last = L->cur->last;
    if (!first || at == mark)
        return;
    mark->next = NULL;
    L->cur->last = mark;
    last->next = at->next;
    at->next = first;
    if (L->cur->last == at)
        L->cur->last = last;
}

/* Where the four byte registers b[] are destinations of one 4- or 8-byte
 * load of bytes (ld.u8 x4/x8: words split into bytes by the load itself),
 * makes that load one or two u32 words w and its bytes bfe.u32 w, 8j, 8
 * right after it (a guarded load keeps w = 0 where it does not run, as the
 * bytes were). */
static void split_byte_load(CgLower *L, const int *b)
{
    TirOp *o = last_def(L, b[0]), *prev = NULL;
    if (!o || o->op != TIR_OP_LD || (o->nd != 4 && o->nd != 8) || o->width != o->nd ||
        o->type != TIR_U32 || o->type2 != TIR_U8 || o == L->cur->last)
        return;
    int k = 0;
    while (k < o->nd && o->d[k] != b[0])
        k++;
    if (k % 4)
        return;
    for (int j = 0; j < 4; j++)
        if (o->d[k + j] != b[j])
            return;
    for (int j = 0; j < o->nd; j++)
        if (written_after(o, o->d[j]))
            return;
    for (TirOp *q = L->cur->first; q && q != o; q = q->next)
        prev = q;
    int nw = o->nd / 4, w[2], bytes[8];
    TirOp *mark = L->cur->last;
    for (int i = 0; i < nw; i++) {
        w[i] = cg_reg(L, TIR_U32, "word");
        cg_mov(L, w[i], cg_I(0));
    }
    if (prev) {
        move_after(L, mark, prev);
    } else { /* o first in the block */
        TirOp *z = mark->next, *zl = L->cur->last;
        mark->next = NULL;
        L->cur->last = mark;
        zl->next = L->cur->first;
        L->cur->first = z;
    }
    memcpy(bytes, o->d, sizeof(int) * (size_t)o->nd);
    for (int j = 0; j < o->nd; j++)
        o->d[j] = j < nw ? w[j] : 0;
    o->nd = nw;
    o->type2 = TIR_U32;
    mark = L->cur->last;
    for (int j = 0; j < 4 * nw; j++) {
        TirOp *x = cg_emit(L, TIR_OP_BFE, TIR_U32);
        x->nd = 1;
        x->d[0] = bytes[j];
        x->na = 3;
        x->a[0] = cg_R(w[j / 4]);
        x->a[1] = cg_I(8 * (j % 4));
        x->a[2] = cg_I(8);
    }
    move_after(L, mark, o);
}

/* The word whose bytes 0..3 the four byte registers b[] were extracted from
 * (bfe.u32 w, 8j, 8: a vector load split into elements), or -1. */
static int word_of_bytes(CgLower *L, const int *b)
{
    split_byte_load(L, b);
    int w = -1;
    for (int j = 0; j < 4; j++) {
        TirOp *o = last_def(L, b[j]);
        if (!o || o->op != TIR_OP_BFE || o->guard >= 0 || tir_type_is_signed(o->type) ||
            tir_type_bits(o->type) != 32 || o->na != 3 || o->a[0].kind != TIR_A_REG ||
            o->a[1].kind != TIR_A_IMM || o->a[1].imm != (uint64_t)(8 * j) ||
            o->a[2].kind != TIR_A_IMM || o->a[2].imm != 8 || (j && o->a[0].reg != w) ||
            tir_type_bits(L->t->regs[o->a[0].reg].type) != 32)
            return -1;
        w = o->a[0].reg;
        if (written_after(o, w))
            return -1;
    }
    return w;
}

bool cg_cast_packed(CgLower *L, const Inst *i)
{
    const Value *x = i->a[0], *r = i->res;
    Dtype to = i->dtype, from = x->dtype;
    int eb = vm_dtype_bits(from);
    bool bytelike = eb == 4 || eb == 8;
    if (i->op != VM_CAST || (to != VM_DT_F16 && to != VM_DT_BF16 && to != VM_DT_F32) ||
        vm_dtype_is_float(from) || from == VM_DT_BOOL || eb > 8)
        return false;
    if (L->opt.sm && L->opt.sm < 80)
        return false;
    const Inst *v = x->def;
    if (!v || x->var || v->op != VM_VIEW || !v->a[0] || x->rank != r->rank ||
        !lay_eq(x->layout, r->layout))
        return false;
    const Value *src = v->a[0];
    Dtype sd = src->dtype;
    int sb = vm_dtype_bits(sd);
    CgTensor *st = cg_val(L, src);
    if (!st || vm_dtype_is_float(sd) || sd == VM_DT_BOOL || (sb != 8 && sb != 16 && sb != 32))
        return false;
    int n = lay_local_size(r->layout);
    if ((int64_t)st->n * sb != (int64_t)n * eb || (n * eb) % 32)
        return false;
    CgTensor out = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    int per = sb == 32 ? 1 : 32 / sb, epw = 32 / eb, nw = n * eb / 32;
    bool sgn = vm_dtype_is_signed(from);
    int *words = vm_alloc(L->a, sizeof(int) * (size_t)(nw ? nw : 1));
    for (int wi = 0; wi < nw; wi++) {
        int w = sb == 8 && !vm_dtype_is_signed(sd) ? word_of_bytes(L, st->r + wi * per) : -1;
        for (int p = 0, whole = w >= 0; !whole && p < per; p++) {
            int c = cg_to_code(L, sd, st->r[wi * per + p]);
            if (p)
                c = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(c), cg_I(p * sb));
            w = w < 0 ? c : cg_op2(L, TIR_OP_OR, TIR_U32, cg_R(w), cg_R(c));
        }
        words[wi] = w;
        if (!bytelike)
            continue;
        int *o = out.r + wi * epw;
        if (eb == 4)
            u4_word(L, to == VM_DT_F32 ? VM_DT_F16 : to, sgn, w, o);
        else if (to == VM_DT_F32)
            u8_word_f32(L, sgn, w, o);
        else
            u8_word(L, to, sgn, w, o);
        for (int j = 0; eb == 4 && to == VM_DT_F32 && j < epw; j++)
            o[j] = cg_cvt(L, TIR_F32, TIR_F16, TIR_RND_NONE, false, cg_R(o[j]));
    }
    if (!bytelike)
        cg_fields_convert(L, to, sgn, eb, words, n, out.r);
    L->vals[r->id] = out;
    return true;
}

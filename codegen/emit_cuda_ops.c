/* codegen/emit_cuda_ops.c - the CUDA C emitter's value ops: one TIR op
 * (not control flow or memory; its guard is already open) as C statements.
 *
 * Ints compute in unsigned (wrapping) or signed C types of 32 or 64 bits and
 * are converted on assignment; f32/f64 through the _rn intrinsics; f16/bf16
 * (and x2) through their PTX instruction in inline asm (bf16 add/sub/mul,
 * sm_90 instructions, as an fma with 1, -1 or -0, which rounds the same);
 * float compares are ordered except neu/nan, halves compared after an exact
 * widening to f32. bfe, lop3, prmt, approximate math, float conversions and
 * mma come from cg_asm_for; int -> int conversions are C (truncation,
 * extension, explicit clamps for .sat). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emit_cuda.h"

typedef enum { TC_PRED, TC_INT, TC_F32, TC_F64, TC_HALF } Tc;

static Tc tc(TirType t)
{
    switch (t) {
    case TIR_PRED: return TC_PRED;
    case TIR_F32: return TC_F32;
    case TIR_F64: return TC_F64;
    case TIR_F16:
    case TIR_BF16:
    case TIR_F16X2:
    case TIR_BF16X2: return TC_HALF;
    default: return TC_INT;
    }
}

static bool is64(TirType t) { return tir_type_bits(t) == 64; }
static EcCk kind_u(TirType t) { return is64(t) ? EC_U64 : EC_U32; }
static EcCk kind_s(TirType t) { return is64(t) ? EC_S64 : EC_S32; }
static EcCk kind_int(TirType t) { return tir_type_is_signed(t) ? kind_s(t) : kind_u(t); }

/* asm computing d0 (kind of rt) from arguments ai of types at[i]. */
static void asm_val(EcEm *e, const TirOp *o, const char *tmpl, TirType rt, int n,
                    const TirType *at)
{
    EcAsm a;
    ec_asm_init(&a);
    ec_asm_out(e, &a, o, o->d[0], ec_ck(rt));
    for (int i = 0; i < n; i++)
        ec_asm_arg(e, &a, o, i, at[i]);
    ec_asm_emit(e, &a, tmpl, false);
}

static void set(EcEm *e, const TirOp *o, EcCk from, const char *x)
{
    ec_assign(e, o, o->d[0], from, x);
}

/* ------------------------------------------------------------ arithmetic */

static void arith(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    EcEx a, b, c, r;
    const char *tn = tir_type_name(t);
    char tmpl[128];
    int n = o->op == TIR_OP_FMA || o->op == TIR_OP_MAD ? 3 : 2;
    TirType at[3] = {t, t, t};
    if (tc(t) == TC_HALF) {
        switch (o->op) {
        case TIR_OP_ADD:
        case TIR_OP_SUB:
        case TIR_OP_MUL:
            if (t == TIR_BF16 || t == TIR_BF16X2) {
                /* add/sub/mul.bf16 are sm_90; fma with 1, -1 or -0 rounds the same */
                bool p = t == TIR_BF16X2;
                const char *c = o->op == TIR_OP_MUL   ? (p ? "0x80008000u" : "0x8000")
                                : o->op == TIR_OP_SUB ? (p ? "0xBF80BF80u" : "0xBF80")
                                                      : (p ? "0x3F803F80u" : "0x3F80");
                char cx[40];
                snprintf(cx, sizeof cx, p ? "%s" : "(unsigned short)%s", c);
                int id = o->op == TIR_OP_ADD ? EC_A_BFADD : o->op == TIR_OP_SUB ? EC_A_BFSUB
                                                                                : EC_A_BFMUL;
                snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[id], tn);
                EcAsm s;
                ec_asm_init(&s);
                ec_asm_out(e, &s, o, o->d[0], ec_ck(t));
                ec_asm_arg(e, &s, o, 0, t);
                ec_asm_arg(e, &s, o, 1, t);
                ec_asm_in(e, &s, o, cx, ec_ck(t));
                ec_asm_emit(e, &s, tmpl, false);
                return;
            } else
                snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_HALF2], tir_op_name(o->op), tn);
            break;
        case TIR_OP_MIN:
        case TIR_OP_MAX:
            snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_HMINMAX], tir_op_name(o->op), tn);
            break;
        case TIR_OP_FMA: snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_HFMA], tn); break;
        default: ec_fail(e, o, "no PTX instruction for %s", tir_type_name(t)); return;
        }
        asm_val(e, o, tmpl, t, n, at);
        return;
    }
    if (tc(t) == TC_F32 || tc(t) == TC_F64) {
        bool d = tc(t) == TC_F64;
        const char *f = NULL;
        switch (o->op) {
        case TIR_OP_ADD: f = d ? "__dadd_rn" : "__fadd_rn"; break;
        case TIR_OP_SUB: f = d ? "__dsub_rn" : "__fsub_rn"; break;
        case TIR_OP_MUL: f = d ? "__dmul_rn" : "__fmul_rn"; break;
        case TIR_OP_DIV: f = d ? "__ddiv_rn" : "__fdiv_rn"; break;
        case TIR_OP_MIN: f = d ? "fmin" : "fminf"; break;
        case TIR_OP_MAX: f = d ? "fmax" : "fmaxf"; break;
        case TIR_OP_FMA: f = d ? "__fma_rn" : "__fmaf_rn"; break;
        default: ec_fail(e, o, "not defined on floats"); return;
        }
        if (!ec_arg(e, o, 0, t, &a) || !ec_arg(e, o, 1, t, &b))
            return;
        if (n == 3) {
            if (!ec_arg(e, o, 2, t, &c))
                return;
            ec_exf(e, &r, "%s(%s, %s, %s)", f, a.s, b.s, c.s);
        } else
            ec_exf(e, &r, "%s(%s, %s)", f, a.s, b.s);
        set(e, o, ec_ck(t), r.s);
        return;
    }
    if (tc(t) != TC_INT) {
        ec_fail(e, o, "not defined on %s", tn);
        return;
    }
    /* ints: wrapping ops in unsigned; division, remainder, min, max signed
     * where the type is */
    bool sgn = o->op == TIR_OP_DIV || o->op == TIR_OP_REM || o->op == TIR_OP_MIN ||
               o->op == TIR_OP_MAX;
    EcCk k = sgn ? kind_int(t) : kind_u(t);
    if (!ec_arg_ck(e, o, 0, k, &a) || !ec_arg_ck(e, o, 1, k, &b))
        return;
    switch (o->op) {
    case TIR_OP_ADD: ec_exf(e, &r, "%s + %s", a.s, b.s); break;
    case TIR_OP_SUB: ec_exf(e, &r, "%s - %s", a.s, b.s); break;
    case TIR_OP_MUL: ec_exf(e, &r, "%s * %s", a.s, b.s); break;
    case TIR_OP_DIV: ec_exf(e, &r, "%s / %s", a.s, b.s); break;
    case TIR_OP_REM: ec_exf(e, &r, "%s %% %s", a.s, b.s); break;
    case TIR_OP_MIN: ec_exf(e, &r, "%s < %s ? %s : %s", a.s, b.s, a.s, b.s); break;
    case TIR_OP_MAX: ec_exf(e, &r, "%s > %s ? %s : %s", a.s, b.s, a.s, b.s); break;
    case TIR_OP_MAD:
        if (!ec_arg_ck(e, o, 2, k, &c))
            return;
        ec_exf(e, &r, "%s * %s + %s", a.s, b.s, c.s);
        break;
    default: ec_fail(e, o, "not defined on ints (fma is float; use mad)"); return;
    }
    set(e, o, k, r.s);
}

static void unary(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    EcEx a, r;
    switch (tc(t)) {
    case TC_HALF: {
        /* the PTX instruction, not a sign-bit operation: it returns the
         * canonical NaN for a NaN, as the LLVM backend's neg/abs do */
        if (o->op == TIR_OP_SQRT) {
            ec_fail(e, o, "no PTX instruction for %s", tir_type_name(t));
            return;
        }
        char tmpl[64];
        snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_HUNARY], tir_op_name(o->op), tir_type_name(t));
        asm_val(e, o, tmpl, t, 1, &t);
        return;
    }
    case TC_F32:
    case TC_F64: {
        bool d = tc(t) == TC_F64;
        if (!ec_arg(e, o, 0, t, &a))
            return;
        if (o->op == TIR_OP_NEG)
            ec_exf(e, &r, "-%s", a.s);
        else
            ec_exf(e, &r, "%s(%s)",
                   o->op == TIR_OP_ABS ? (d ? "fabs" : "fabsf") : (d ? "__dsqrt_rn" : "__fsqrt_rn"),
                   a.s);
        set(e, o, ec_ck(t), r.s);
        return;
    }
    case TC_INT: {
        EcCk k = kind_int(t);
        if (o->op == TIR_OP_SQRT || !ec_arg_ck(e, o, 0, k, &a)) {
            ec_fail(e, o, "not defined on ints");
            return;
        }
        const char *z = is64(t) ? "0ull" : "0u", *u = ec_ctype(kind_u(t));
        if (o->op == TIR_OP_NEG)
            ec_exf(e, &r, "%s - (%s)%s", z, u, a.s);
        else if (tir_type_is_signed(t))
            ec_exf(e, &r, "%s < 0 ? %s - (%s)%s : (%s)%s", a.s, z, u, a.s, u, a.s);
        else
            ec_exf(e, &r, "%s", a.s);
        set(e, o, kind_u(t), r.s);
        return;
    }
    default: ec_fail(e, o, "not defined on pred"); return;
    }
}

static void bitwise(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    EcEx a, b, r;
    if (t == TIR_PRED) {
        if (!ec_arg(e, o, 0, t, &a) || (o->op != TIR_OP_NOT && !ec_arg(e, o, 1, t, &b)))
            return;
        switch (o->op) {
        case TIR_OP_AND: ec_exf(e, &r, "%s && %s", a.s, b.s); break;
        case TIR_OP_OR: ec_exf(e, &r, "%s || %s", a.s, b.s); break;
        case TIR_OP_XOR: ec_exf(e, &r, "%s != %s", a.s, b.s); break;
        default: ec_exf(e, &r, "!%s", a.s); break;
        }
        set(e, o, EC_BOOL, r.s);
        return;
    }
    EcCk k = kind_u(t);
    if (!ec_arg_ck(e, o, 0, k, &a) || (o->op != TIR_OP_NOT && !ec_arg_ck(e, o, 1, k, &b)))
        return;
    switch (o->op) {
    case TIR_OP_AND: ec_exf(e, &r, "%s & %s", a.s, b.s); break;
    case TIR_OP_OR: ec_exf(e, &r, "%s | %s", a.s, b.s); break;
    case TIR_OP_XOR: ec_exf(e, &r, "%s ^ %s", a.s, b.s); break;
    default: ec_exf(e, &r, "~%s", a.s); break;
    }
    set(e, o, k, r.s);
}

/* Shifts: counts >= the width give 0 or the sign fill (PTX clamps). */
static void shift(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    int w = tir_type_bits(t);
    if (tc(t) != TC_INT || (w != 32 && w != 64)) {
        ec_fail(e, o, "shifts are defined on 32- and 64-bit ints");
        return;
    }
    bool arith = o->op == TIR_OP_SHR && tir_type_is_signed(t);
    EcCk k = arith ? kind_s(t) : kind_u(t);
    if (o->na > 1 && o->a[1].kind == TIR_A_IMM) {
        uint64_t n = o->a[1].imm & 0xFFFFFFFFu;
        EcEx a, r;
        if (!ec_arg_ck(e, o, 0, k, &a))
            return;
        if (n >= (uint64_t)w && !arith)
            ec_exf(e, &r, "%s", w == 64 ? "0ull" : "0u");
        else
            ec_exf(e, &r, "%s %s %d", a.s, o->op == TIR_OP_SHL ? "<<" : ">>",
                   (int)(n >= (uint64_t)w ? (uint64_t)w - 1 : n));
        set(e, o, k, r.s);
        return;
    }
    char tmpl[96];
    snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_SHIFT], o->op == TIR_OP_SHL ? "shl" : "shr",
             o->op == TIR_OP_SHL ? "b" : arith ? "s" : "u", w);
    EcAsm a;
    ec_asm_init(&a);
    ec_asm_out(e, &a, o, o->d[0], k);
    EcEx x;
    if (ec_arg_ck(e, o, 0, k, &x))
        ec_asm_in(e, &a, o, x.s, k);
    ec_asm_arg(e, &a, o, 1, TIR_U32);
    ec_asm_emit(e, &a, tmpl, false);
}

static const char *const cmp_c[] = {"==", "!=", "<", "<=", ">", ">="};

static void setp(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    EcEx a, b, r;
    EcCk k = tc(t) == TC_INT ? kind_int(t) : ec_ck(t);
    if (t == TIR_F16X2 || t == TIR_BF16X2) {
        ec_fail(e, o, "compares of pairs are not supported");
        return;
    }
    if (!ec_arg_ck(e, o, 0, k, &a) || !ec_arg_ck(e, o, 1, k, &b))
        return;
    if (t == TIR_F16 || t == TIR_BF16) {
        const char *f = t == TIR_F16 ? "lpvm_h2f" : "lpvm_bf2f";
        EcEx x = a, y = b;
        ec_exf(e, &a, "%s(%s)", f, x.s);
        ec_exf(e, &b, "%s(%s)", f, y.s);
    }
    bool fl = tir_type_is_float(t);
    int m = o->mod;
    if ((!fl && m > TIR_CMP_NE + (t != TIR_PRED) * 4) || m < 0 || m > TIR_CMP_NAN) {
        ec_fail(e, o, "compare %d is not defined on %s", m, tir_type_name(t));
        return;
    }
    if (fl && m == TIR_CMP_NE)
        ec_exf(e, &r, "%s < %s || %s > %s", a.s, b.s, a.s, b.s);
    else if (m == TIR_CMP_NEU)
        ec_exf(e, &r, "%s != %s", a.s, b.s);
    else if (m == TIR_CMP_NAN)
        ec_exf(e, &r, "%s != %s || %s != %s", a.s, a.s, b.s, b.s);
    else
        ec_exf(e, &r, "%s %s %s", a.s, cmp_c[m], b.s);
    set(e, o, EC_BOOL, r.s);
}

/* ---------------------------------------------------------- conversions */

/* int <- int: truncation or extension of the source type's value; .sat
 * clamps to the destination range, compared in the (widened) source type. */
static void cvt_int(EcEm *e, const TirOp *o)
{
    TirType dt = o->type, st = o->type2;
    EcCk dk = ec_ck(dt), sk = ec_ck(st);
    EcEx x, v, r, lo, hi;
    if (!ec_arg(e, o, 0, st, &x))
        return;
    if (!o->imm) {
        if (ec_conv(e, o, dk, sk, x.s, &r))
            set(e, o, dk, r.s);
        return;
    }
    int db = tir_type_bits(dt), sb = tir_type_bits(st);
    bool ds = tir_type_is_signed(dt), ss = tir_type_is_signed(st);
    bool clamp_lo = ss && (!ds || db < sb);
    bool clamp_hi = ss || !ds ? db < sb : db <= sb;
    EcCk wk = ss ? (sb == 64 ? EC_S64 : EC_S32) : (sb == 64 ? EC_U64 : EC_U32);
    const char *w = ec_ctype(wk);
    ec_exf(e, &v, "(%s)%s", w, x.s);
    if (!ds)
        ec_exf(e, &lo, "(%s)0", w);
    else if (db == 64)
        ec_exf(e, &lo, "(%s)(-9223372036854775807ll - 1)", w);
    else
        ec_exf(e, &lo, "(%s)(%lldll)", w, -(1ll << (db - 1)));
    ec_exf(e, &hi, "(%s)%lluull", w,
           (unsigned long long)(ds ? (1ull << (db - 1)) - 1 : db == 64 ? ~0ull : (1ull << db) - 1));
    const char *d = ec_ctype(dk);
    if (clamp_lo && clamp_hi)
        ec_exf(e, &r, "(%s)(%s < %s ? %s : %s > %s ? %s : %s)", d, v.s, lo.s, lo.s, v.s, hi.s,
               hi.s, v.s);
    else if (clamp_lo)
        ec_exf(e, &r, "(%s)(%s < %s ? %s : %s)", d, v.s, lo.s, lo.s, v.s);
    else if (clamp_hi)
        ec_exf(e, &r, "(%s)(%s > %s ? %s : %s)", d, v.s, hi.s, hi.s, v.s);
    else
        ec_exf(e, &r, "(%s)%s", d, v.s);
    set(e, o, dk, r.s);
}

/* Float conversions are cg_asm_for's cvt, but bf16 -> f32, which is exact
 * as a shift and so needs no sm_90 cvt.f32.bf16. */
static void cvt(EcEm *e, const TirOp *o)
{
    TirType dt = o->type, st = o->type2;
    if (dt == TIR_PRED || st == TIR_PRED || o->mod < 0 || o->mod > TIR_RND_RZI) {
        ec_fail(e, o, "bad conversion %s <- %s", tir_type_name(dt), tir_type_name(st));
        return;
    }
    if (!tir_type_is_float(dt) && !tir_type_is_float(st)) {
        cvt_int(e, o);
        return;
    }
    EcEx x;
    if (dt == TIR_F32 && st == TIR_BF16 && !o->mod && !o->imm) {
        /* exact, and valid before sm_90's cvt.f32.bf16 */
        if (ec_arg(e, o, 0, st, &x)) {
            EcEx r;
            ec_exf(e, &r, "lpvm_bf2f(%s)", x.s);
            set(e, o, EC_F32, r.s);
        }
        return;
    }
    ec_shared_asm(e, o);
    if (!tir_type_is_float(dt) && tir_type_bits(dt) < 32 && o->nd == 1 && o->d[0] >= 0 &&
        o->d[0] < e->k->nregs && !ec_ck_float(ec_reg_ck(e, o->d[0]))) {
        /* an 8/16-bit result extends in its 32-bit register, as TIR defines */
        ec_exf(e, &x, "(%s)%s", ec_ctype(ec_ck(dt)), e->name[o->d[0]]);
        set(e, o, ec_ck(dt), x.s);
    }
}

/* PACK: d = {a0, a1, ..} low first; UNPACK: {d0, d1, ..} = a0 split. */
static void pack(EcEm *e, const TirOp *o)
{
    int eb = tir_type_bits(o->type2), tb = tir_type_bits(o->type);
    EcCk k = tb <= 32 ? EC_U32 : EC_U64;
    if (eb * o->na > tb || eb < 8) {
        ec_fail(e, o, "%d elements of %s do not fit %s", o->na, tir_type_name(o->type2),
                tir_type_name(o->type));
        return;
    }
    EcBuf b = {0};
    for (int i = 0; i < o->na; i++) {
        EcEx x;
        if (!ec_arg_ck(e, o, i, ec_ck_uint(eb), &x))
            break;
        ec_put(&b, i ? " | " : "");
        if (i)
            ec_put(&b, "(%s)%s << %d", ec_ctype(k), x.s, i * eb);
        else
            ec_put(&b, "(%s)%s", ec_ctype(k), x.s);
    }
    if (b.s)
        set(e, o, k, b.s);
    free(b.s);
}

static void unpack(EcEm *e, const TirOp *o)
{
    int eb = tir_type_bits(o->type), sb = tir_type_bits(o->type2);
    EcCk sk = ec_ck_uint(sb), ek = ec_ck_uint(eb);
    EcEx x, raw, v;
    if (eb * o->nd > sb || eb < 8 || !ec_arg_ck(e, o, 0, sk, &x)) {
        ec_fail(e, o, "%d elements of %s do not fit %s", o->nd, tir_type_name(o->type),
                tir_type_name(o->type2));
        return;
    }
    for (int i = 0; i < o->nd; i++) {
        if (i)
            ec_exf(e, &raw, "(%s)(%s >> %d)", ec_ctype(ek), x.s, i * eb);
        else
            ec_exf(e, &raw, "(%s)%s", ec_ctype(ek), x.s);
        if (ec_conv(e, o, ec_ck(o->type), ek, raw.s, &v))
            ec_assign(e, o, o->d[i], ec_ck(o->type), v.s);
    }
}

/* ------------------------------------------------------------- value ops */

static const char *const sreg_c[] = {
    [TIR_SR_TID_X] = "threadIdx.x",  [TIR_SR_CTAID_X] = "blockIdx.x",
    [TIR_SR_CTAID_Y] = "blockIdx.y", [TIR_SR_CTAID_Z] = "blockIdx.z",
    [TIR_SR_NCTAID_X] = "gridDim.x", [TIR_SR_NCTAID_Y] = "gridDim.y",
    [TIR_SR_NCTAID_Z] = "gridDim.z",
};
static const char *const shfl_s[] = {"bfly", "idx", "up", "down"};

void ec_value_op(EcEm *e, const TirOp *o)
{
    TirType t = o->type;
    EcEx a, b, c, r;
    char tmpl[160];
    if (o->nd < 1 && o->op != TIR_OP_BAR) {
        ec_fail(e, o, "no destination");
        return;
    }
    switch (o->op) {
    case TIR_OP_MOV:
        if (ec_arg(e, o, 0, t, &a))
            set(e, o, ec_ck(t), a.s);
        return;
    case TIR_OP_BITCAST:
        if (tir_type_bits(t) != tir_type_bits(o->type2))
            ec_fail(e, o, "bitcast between widths");
        else if (ec_arg(e, o, 0, o->type2, &a) && ec_conv(e, o, ec_ck(t), ec_ck(o->type2), a.s, &r))
            set(e, o, ec_ck(t), r.s);
        return;
    case TIR_OP_PACK: pack(e, o); return;
    case TIR_OP_UNPACK: unpack(e, o); return;
    case TIR_OP_SREG:
        if (o->mod == TIR_SR_LANEID) {
            EcAsm s;
            ec_asm_init(&s);
            ec_asm_out(e, &s, o, o->d[0], EC_U32);
            ec_asm_emit(e, &s, ec_asm_tmpl[EC_A_LANEID], false);
        } else if (o->mod >= 0 && o->mod <= TIR_SR_NCTAID_Z)
            set(e, o, EC_U32, sreg_c[o->mod]);
        else
            ec_fail(e, o, "unknown special register %d", o->mod);
        return;
    case TIR_OP_ADD:
    case TIR_OP_SUB:
    case TIR_OP_MUL:
    case TIR_OP_MAD:
    case TIR_OP_FMA:
    case TIR_OP_DIV:
    case TIR_OP_REM:
    case TIR_OP_MIN:
    case TIR_OP_MAX: arith(e, o); return;
    case TIR_OP_MULWIDE: {
        EcCk k = ec_ck(t);
        if (tc(t) != TC_INT || tir_type_bits(t) != 2 * tir_type_bits(o->type2)) {
            ec_fail(e, o, "mul.wide needs ints of twice the source width");
            return;
        }
        if (ec_arg(e, o, 0, o->type2, &a) && ec_arg(e, o, 1, o->type2, &b)) {
            ec_exf(e, &r, "(%s)%s * (%s)%s", ec_ctype(k), a.s, ec_ctype(k), b.s);
            set(e, o, k, r.s);
        }
        return;
    }
    case TIR_OP_NEG:
    case TIR_OP_ABS:
    case TIR_OP_SQRT: unary(e, o); return;
    case TIR_OP_AND:
    case TIR_OP_OR:
    case TIR_OP_XOR:
    case TIR_OP_NOT: bitwise(e, o); return;
    case TIR_OP_SHL:
    case TIR_OP_SHR: shift(e, o); return;
    case TIR_OP_BFE:
    case TIR_OP_LOP3:
    case TIR_OP_PRMT:
    case TIR_OP_EX2:
    case TIR_OP_LG2:
    case TIR_OP_SIN:
    case TIR_OP_COS:
    case TIR_OP_RSQRT:
    case TIR_OP_TANH:
    case TIR_OP_RCP:
    case TIR_OP_MMA: ec_shared_asm(e, o); return;
    case TIR_OP_CLZ:
    case TIR_OP_POPC: {
        bool w = is64(o->type2);
        if (!ec_arg_ck(e, o, 0, w ? EC_U64 : EC_U32, &a))
            return;
        if (o->op == TIR_OP_CLZ)
            ec_exf(e, &r, w ? "(unsigned)__clzll((long long)%s)" : "(unsigned)__clz((int)%s)",
                   a.s);
        else
            ec_exf(e, &r, w ? "(unsigned)__popcll(%s)" : "(unsigned)__popc(%s)", a.s);
        set(e, o, EC_U32, r.s);
        return;
    }
    case TIR_OP_SETP: setp(e, o); return;
    case TIR_OP_SELP:
        if (ec_arg(e, o, 0, t, &a) && ec_arg(e, o, 1, t, &b) && ec_arg(e, o, 2, TIR_PRED, &c)) {
            ec_exf(e, &r, "%s ? %s : %s", c.s, a.s, b.s);
            set(e, o, ec_ck(t), r.s);
        }
        return;
    case TIR_OP_CVT: cvt(e, o); return;
    case TIR_OP_SHFL: {
        TirType at[3] = {TIR_B32, TIR_U32, TIR_U32};
        if (o->mod < 0 || o->mod > TIR_SHFL_DOWN) {
            ec_fail(e, o, "unknown shuffle mode %d", o->mod);
            return;
        }
        snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_SHFL], shfl_s[o->mod]);
        EcAsm a;
        ec_asm_init(&a);
        a.vol = true;
        ec_asm_out(e, &a, o, o->d[0], EC_U32);
        for (int i = 0; i < 3; i++)
            ec_asm_arg(e, &a, o, i, at[i]);
        ec_asm_emit(e, &a, tmpl, false);
        return;
    }
    default: ec_fail(e, o, "not a value op"); return;
    }
}

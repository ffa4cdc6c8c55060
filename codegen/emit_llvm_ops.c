/* codegen/emit_llvm_ops.c - the LLVM emitter's value ops (TIR form 'V'):
 * one op -> LLVM instructions, NVVM intrinsics or cg_asm_for's inline asm.
 *
 * Which form, and why it keeps the TIR semantics exactly:
 *  - int arithmetic, bit ops, compares, selects: LLVM instructions (div/rem
 *    only ever see non-zero divisors and no MIN/-1, as TIR promises);
 *  - shifts: LLVM shl/lshr/ashr are poison for counts >= the width, so the
 *    count is tested and the TIR result (0, or the sign fill) selected;
 *  - f16/bf16/f32/f64 (and f16x2/bf16x2 as <2 x half>/<2 x bfloat>) add, sub,
 *    mul, div, sqrt with no fast-math flags: IEEE .rn, never contracted; fma
 *    is llvm.fma (fma.rn). Where the arch lacks a bf16 instruction LLVM
 *    computes in f32 and rounds once more: exact for add/sub/mul, as f32 has
 *    more than 2p+2 bits for bf16's p = 8;
 *  - min/max of floats: llvm.minnum/maxnum (a NaN operand is ignored, as in
 *    PTX min/max);
 *  - cvt: LLVM only for int <-> int (explicit clamps for .sat), exact float
 *    widening (fpext), fptrunc .rn of f32 -> f16/bf16 and f64 -> f32, and
 *    int -> f32/f64 .rn (sitofp/uitofp). Everything else, and every float ->
 *    int conversion (LLVM's fptosi is poison on overflow and NaN; PTX
 *    saturates and gives 0), is the PTX cvt as inline asm (with a NaN
 *    select where the hardware gives INT_MIN instead of 0: emit_asm.c);
 *  - ex2/lg2/sin/cos/rsqrt.approx: the NVVM intrinsics (non-ftz); tanh and
 *    rcp.approx, bfe, lop3, prmt and mma: inline asm. */
#include <stdio.h>
#include <string.h>

#include "codegen/emit_llvm.h"

static const char *const sregs[] = {
#define X(id, s) s,
    TIR_SREGS(X)
#undef X
};
static const char *const shfls[] = {"bfly", "idx", "up", "down"};

static int lbits(LLVMTypeRef ty)
{
    switch (LLVMGetTypeKind(ty)) {
    case LLVMIntegerTypeKind: return (int)LLVMGetIntTypeWidth(ty);
    case LLVMHalfTypeKind: case LLVMBFloatTypeKind: return 16;
    case LLVMFloatTypeKind: return 32;
    case LLVMDoubleTypeKind: return 64;
    case LLVMVectorTypeKind: return 32; /* <2 x half>, <2 x bfloat> */
    default: return 0;
    }
}

static LLVMTypeRef int_type(Em *e, int bits) { return LLVMIntTypeInContext(e->ctx, (unsigned)bits); }

static bool is_int(TirType t) { return t != TIR_PRED && !tir_type_is_float(t); }

/* v (an int) in type ty: truncated or extended by `sign`. */
static LLVMValueRef resize(Em *e, LLVMValueRef v, LLVMTypeRef ty, bool sign)
{
    int a = lbits(LLVMTypeOf(v)), b = lbits(ty);
    if (a == b)
        return v;
    if (a > b)
        return LLVMBuildTrunc(e->b, v, ty, "");
    return sign ? LLVMBuildSExt(e->b, v, ty, "") : LLVMBuildZExt(e->b, v, ty, "");
}

static LLVMValueRef call1(Em *e, const char *name, LLVMTypeRef ovl, LLVMValueRef a)
{
    return em_call(e, name, &ovl, ovl ? 1 : 0, &a, 1, "");
}

static LLVMValueRef call2(Em *e, const char *name, LLVMTypeRef ovl, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef args[2] = {a, b};
    return em_call(e, name, &ovl, 1, args, 2, "");
}

static bool need(Em *e, const TirOp *o, int nd, int na)
{
    if (o->nd == nd && o->na == na)
        return true;
    em_fail(e, o, "takes %d destination(s) and %d argument(s), has %d and %d", nd, na, o->nd,
            o->na);
    return false;
}

static bool set(Em *e, const TirOp *o, LLVMValueRef v)
{
    if (v)
        em_set(e, o, o->d[0], v);
    return v && !e->err;
}

static bool bad_type(Em *e, const TirOp *o)
{
    em_fail(e, o, "not defined for %s", tir_type_name(o->type));
    return false;
}

/* ------------------------------------------------------------ conversions */

/* int -> int: the source's value (its low bits, extended by its own sign),
 * clamped to the destination's range for .sat, then cut to the destination
 * and extended into its register by the destination's sign. */
static bool cvt_int(Em *e, const TirOp *o)
{
    TirType dt = o->type, st = o->type2;
    int sb = tir_type_bits(st), db = tir_type_bits(dt);
    bool ss = tir_type_is_signed(st), ds = tir_type_is_signed(dt);
    LLVMTypeRef dty = em_type(e, dt);
    int w = lbits(em_type(e, st)) == 64 || lbits(dty) == 64 ? 64 : 32;
    LLVMTypeRef wt = int_type(e, w);
    LLVMValueRef v = em_arg(e, o, 0, st);
    v = resize(e, resize(e, v, int_type(e, sb), false), wt, ss);
    if (o->imm) {
        __int128 smin = ss ? -((__int128)1 << (sb - 1)) : 0;
        __int128 smax = ss ? ((__int128)1 << (sb - 1)) - 1 : ((__int128)1 << sb) - 1;
        __int128 dmin = ds ? -((__int128)1 << (db - 1)) : 0;
        __int128 dmax = ds ? ((__int128)1 << (db - 1)) - 1 : ((__int128)1 << db) - 1;
        if (dmin > smin)
            v = call2(e, "llvm.smax", wt, v, LLVMConstInt(wt, (uint64_t)dmin, 0));
        if (dmax < smax)
            v = call2(e, ss ? "llvm.smin" : "llvm.umin", wt, v, LLVMConstInt(wt, (uint64_t)dmax, 0));
    }
    v = resize(e, resize(e, v, int_type(e, db), false), dty, ds);
    return set(e, o, v);
}

static bool int_fits(TirType to, TirType from)
{
    int sig = to == TIR_F64 ? 53 : 24;
    return tir_type_bits(from) - (tir_type_is_signed(from) ? 1 : 0) <= sig;
}

static bool cvt(Em *e, const TirOp *o)
{
    TirType dt = o->type, st = o->type2;
    bool df = tir_type_is_float(dt), sf = tir_type_is_float(st);
    TirRnd r = (TirRnd)o->mod;
    bool plain = o->nd == 1 && o->na == 1 && !o->imm && dt != TIR_PRED && st != TIR_PRED;
    bool vec = dt == TIR_F16X2 || dt == TIR_BF16X2 || st == TIR_F16X2 || st == TIR_BF16X2;
    if (o->nd == 1 && o->na == 1 && is_int(dt) && is_int(st))
        return cvt_int(e, o);
    if (plain && df && sf && !vec) {
        LLVMTypeRef dty = em_type(e, dt);
        if (tir_type_bits(dt) > tir_type_bits(st) && r == TIR_RND_NONE)
            return set(e, o, LLVMBuildFPExt(e->b, em_arg(e, o, 0, st), dty, ""));
        if (r == TIR_RND_RN && ((st == TIR_F32 && (dt == TIR_F16 || dt == TIR_BF16)) ||
                                (st == TIR_F64 && dt == TIR_F32)))
            return set(e, o, LLVMBuildFPTrunc(e->b, em_arg(e, o, 0, st), dty, ""));
    }
    if (plain && is_int(st) && (dt == TIR_F32 || dt == TIR_F64) &&
        (r == TIR_RND_RN || (r == TIR_RND_NONE && int_fits(dt, st)))) {
        int sb = tir_type_bits(st);
        bool ss = tir_type_is_signed(st);
        LLVMValueRef v = resize(e, em_arg(e, o, 0, st), int_type(e, sb), false);
        LLVMTypeRef dty = em_type(e, dt);
        return set(e, o, ss ? LLVMBuildSIToFP(e->b, v, dty, "") : LLVMBuildUIToFP(e->b, v, dty, ""));
    }
    return em_asm(e, o);
}

/* ------------------------------------------------------------ bits */

static bool shift(Em *e, const TirOp *o)
{
    LLVMTypeRef ty = em_type(e, o->type);
    if (!is_int(o->type))
        return bad_type(e, o);
    int w = lbits(ty);
    LLVMValueRef x = em_arg(e, o, 0, o->type), c = em_arg(e, o, 1, TIR_U32);
    LLVMValueRef in = LLVMBuildICmp(e->b, LLVMIntULT, c, LLVMConstInt(e->i32, (uint64_t)w, 0), "");
    LLVMValueRef cw = resize(e, c, ty, false), zero = LLVMConstNull(ty), v;
    if (o->op == TIR_OP_SHL)
        v = LLVMBuildSelect(e->b, in, LLVMBuildShl(e->b, x, cw, ""), zero, "");
    else if (tir_type_is_signed(o->type))
        v = LLVMBuildAShr(e->b, x,
                          LLVMBuildSelect(e->b, in, cw, LLVMConstInt(ty, (uint64_t)w - 1, 0), ""),
                          "");
    else
        v = LLVMBuildSelect(e->b, in, LLVMBuildLShr(e->b, x, cw, ""), zero, "");
    return set(e, o, v);
}

/* pack: parts of type2, low first, into d0; unpack: the reverse. */
static bool pack(Em *e, const TirOp *o)
{
    LLVMTypeRef dty = em_type(e, o->type);
    int db = lbits(dty), pw = tir_type_bits(o->type2);
    if (o->nd != 1 || o->na < 1 || pw < 8 || o->na * pw != db) {
        em_fail(e, o, "%d parts of %s do not make a %s", o->na, tir_type_name(o->type2),
                tir_type_name(o->type));
        return false;
    }
    LLVMTypeRef it = int_type(e, db), pt = int_type(e, pw);
    LLVMValueRef acc = LLVMConstNull(it);
    for (int i = 0; i < o->na; i++) {
        LLVMValueRef v = em_arg(e, o, i, o->type2);
        v = em_coerce(e, o, v, int_type(e, lbits(LLVMTypeOf(v))));
        v = LLVMBuildZExt(e->b, resize(e, v, pt, false), it, "");
        if (i)
            v = LLVMBuildShl(e->b, v, LLVMConstInt(it, (uint64_t)(i * pw), 0), "");
        acc = i ? LLVMBuildOr(e->b, acc, v, "") : v;
    }
    return set(e, o, em_coerce(e, o, acc, dty));
}

static bool unpack(Em *e, const TirOp *o)
{
    LLVMTypeRef sty = em_type(e, o->type2), dty = em_type(e, o->type);
    int sb = lbits(sty);
    int pw = o->nd ? sb / o->nd : 0;
    if (o->na != 1 || o->nd < 1 || pw < 8 || pw * o->nd != sb || lbits(dty) < pw ||
        (lbits(dty) > pw && !is_int(o->type))) {
        em_fail(e, o, "%s does not split into %d x %s", tir_type_name(o->type2), o->nd,
                tir_type_name(o->type));
        return false;
    }
    LLVMTypeRef it = int_type(e, sb), pt = int_type(e, pw);
    LLVMValueRef v = em_coerce(e, o, em_arg(e, o, 0, o->type2), it);
    for (int i = 0; i < o->nd; i++) {
        LLVMValueRef p = i ? LLVMBuildLShr(e->b, v, LLVMConstInt(it, (uint64_t)(i * pw), 0), "") : v;
        p = resize(e, p, pt, false);
        if (lbits(dty) > pw)
            p = resize(e, p, dty, tir_type_is_signed(o->type));
        em_set(e, o, o->d[i], em_coerce(e, o, p, dty));
    }
    return !e->err;
}

/* ------------------------------------------------------------ compare */

static bool setp(Em *e, const TirOp *o)
{
    TirType t = o->type;
    LLVMValueRef a = em_arg(e, o, 0, t), b = em_arg(e, o, 1, t), v;
    if (tir_type_is_float(t)) {
        static const LLVMRealPredicate fp[] = {LLVMRealOEQ, LLVMRealONE, LLVMRealOLT,
                                               LLVMRealOLE, LLVMRealOGT, LLVMRealOGE,
                                               LLVMRealUNE, LLVMRealUNO};
        if (t == TIR_F16X2 || t == TIR_BF16X2 || o->mod < 0 || o->mod > TIR_CMP_NAN)
            return bad_type(e, o);
        v = LLVMBuildFCmp(e->b, fp[o->mod], a, b, "");
    } else {
        bool s = tir_type_is_signed(t);
        LLVMIntPredicate ip;
        switch (o->mod) {
        case TIR_CMP_EQ: ip = LLVMIntEQ; break;
        case TIR_CMP_NE: ip = LLVMIntNE; break;
        case TIR_CMP_LT: ip = s ? LLVMIntSLT : LLVMIntULT; break;
        case TIR_CMP_LE: ip = s ? LLVMIntSLE : LLVMIntULE; break;
        case TIR_CMP_GT: ip = s ? LLVMIntSGT : LLVMIntUGT; break;
        case TIR_CMP_GE: ip = s ? LLVMIntSGE : LLVMIntUGE; break;
        default:
            em_fail(e, o, "compare %d is not defined for %s", o->mod, tir_type_name(t));
            return false;
        }
        if (t == TIR_PRED && ip != LLVMIntEQ && ip != LLVMIntNE)
            return bad_type(e, o);
        v = LLVMBuildICmp(e->b, ip, a, b, "");
    }
    return set(e, o, v);
}

/* ------------------------------------------------------------ dispatch */

static bool arith(Em *e, const TirOp *o)
{
    TirType t = o->type;
    LLVMTypeRef ty = em_type(e, t);
    bool fl = tir_type_is_float(t), sg = tir_type_is_signed(t), in = is_int(t);
    LLVMValueRef a = em_arg(e, o, 0, t), b = o->na > 1 ? em_arg(e, o, 1, t) : NULL, v = NULL;
    switch (o->op) {
    case TIR_OP_ADD: v = fl ? LLVMBuildFAdd(e->b, a, b, "") : in ? LLVMBuildAdd(e->b, a, b, "") : NULL; break;
    case TIR_OP_SUB: v = fl ? LLVMBuildFSub(e->b, a, b, "") : in ? LLVMBuildSub(e->b, a, b, "") : NULL; break;
    case TIR_OP_MUL: v = fl ? LLVMBuildFMul(e->b, a, b, "") : in ? LLVMBuildMul(e->b, a, b, "") : NULL; break;
    case TIR_OP_DIV:
        if (fl)
            v = t == TIR_F32 || t == TIR_F64 ? LLVMBuildFDiv(e->b, a, b, "") : NULL;
        else if (in)
            v = sg ? LLVMBuildSDiv(e->b, a, b, "") : LLVMBuildUDiv(e->b, a, b, "");
        break;
    case TIR_OP_REM:
        if (in)
            v = sg ? LLVMBuildSRem(e->b, a, b, "") : LLVMBuildURem(e->b, a, b, "");
        break;
    case TIR_OP_MIN:
    case TIR_OP_MAX: {
        bool mn = o->op == TIR_OP_MIN;
        const char *f = fl   ? (mn ? "llvm.minnum" : "llvm.maxnum")
                        : sg ? (mn ? "llvm.smin" : "llvm.smax")
                             : (mn ? "llvm.umin" : "llvm.umax");
        if (fl || in)
            v = call2(e, f, ty, a, b);
        break;
    }
    case TIR_OP_NEG: v = fl ? LLVMBuildFNeg(e->b, a, "") : in ? LLVMBuildNeg(e->b, a, "") : NULL; break;
    case TIR_OP_ABS:
        if (fl)
            v = call1(e, "llvm.fabs", ty, a);
        else if (in)
            v = call2(e, "llvm.abs", ty, a, LLVMConstInt(e->i1, 0, 0));
        break;
    case TIR_OP_SQRT:
        if (t == TIR_F32 || t == TIR_F64)
            v = call1(e, "llvm.sqrt", ty, a);
        break;
    case TIR_OP_AND: v = fl ? NULL : LLVMBuildAnd(e->b, a, b, ""); break;
    case TIR_OP_OR: v = fl ? NULL : LLVMBuildOr(e->b, a, b, ""); break;
    case TIR_OP_XOR: v = fl ? NULL : LLVMBuildXor(e->b, a, b, ""); break;
    case TIR_OP_NOT: v = fl ? NULL : LLVMBuildNot(e->b, a, ""); break;
    default: break;
    }
    if (!v)
        return e->err ? false : bad_type(e, o);
    return set(e, o, v);
}

bool em_value_op(Em *e, const TirOp *o)
{
    TirType t = o->type;
    LLVMTypeRef ty = em_type(e, t);
    switch (o->op) {
    case TIR_OP_MOV:
        return need(e, o, 1, 1) && set(e, o, em_arg(e, o, 0, t));
    case TIR_OP_BITCAST:
        return need(e, o, 1, 1) && set(e, o, em_coerce(e, o, em_arg(e, o, 0, o->type2), ty));
    case TIR_OP_PACK:
        return pack(e, o);
    case TIR_OP_UNPACK:
        return unpack(e, o);
    case TIR_OP_SREG: {
        if (!need(e, o, 1, 0))
            return false;
        if (o->mod < 0 || o->mod > TIR_SR_NCTAID_Z) {
            em_fail(e, o, "special register %d", o->mod);
            return false;
        }
        char name[64];
        snprintf(name, sizeof name, "llvm.nvvm.read.ptx.sreg.%s", sregs[o->mod]);
        return set(e, o, em_call(e, name, NULL, 0, NULL, 0, ""));
    }
    case TIR_OP_ADD:
    case TIR_OP_SUB:
    case TIR_OP_MUL:
    case TIR_OP_DIV:
    case TIR_OP_REM:
    case TIR_OP_MIN:
    case TIR_OP_MAX:
    case TIR_OP_AND:
    case TIR_OP_OR:
    case TIR_OP_XOR:
        return need(e, o, 1, 2) && arith(e, o);
    case TIR_OP_NEG:
    case TIR_OP_ABS:
    case TIR_OP_SQRT:
    case TIR_OP_NOT:
        return need(e, o, 1, 1) && arith(e, o);
    case TIR_OP_MULWIDE: {
        if (!need(e, o, 1, 2) || !is_int(t) || !is_int(o->type2))
            return e->err ? false : bad_type(e, o);
        bool s = tir_type_is_signed(o->type2);
        LLVMValueRef a = resize(e, em_arg(e, o, 0, o->type2), ty, s);
        LLVMValueRef b = resize(e, em_arg(e, o, 1, o->type2), ty, s);
        return set(e, o, LLVMBuildMul(e->b, a, b, ""));
    }
    case TIR_OP_MAD:
        if (!need(e, o, 1, 3) || !is_int(t))
            return e->err ? false : bad_type(e, o);
        return set(e, o, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, em_arg(e, o, 0, t), em_arg(e, o, 1, t), ""),
                                      em_arg(e, o, 2, t), ""));
    case TIR_OP_FMA: {
        if (!need(e, o, 1, 3) || !tir_type_is_float(t))
            return e->err ? false : bad_type(e, o);
        LLVMValueRef args[3] = {em_arg(e, o, 0, t), em_arg(e, o, 1, t), em_arg(e, o, 2, t)};
        return set(e, o, em_call(e, "llvm.fma", &ty, 1, args, 3, ""));
    }
    case TIR_OP_SHL:
    case TIR_OP_SHR:
        return need(e, o, 1, 2) && shift(e, o);
    case TIR_OP_CLZ:
    case TIR_OP_POPC: {
        if (!need(e, o, 1, 1) || !is_int(o->type2))
            return e->err ? false : bad_type(e, o);
        LLVMTypeRef sty = em_type(e, o->type2);
        LLVMValueRef a = em_arg(e, o, 0, o->type2), v;
        if (o->op == TIR_OP_CLZ)
            v = call2(e, "llvm.ctlz", sty, a, LLVMConstInt(e->i1, 0, 0));
        else
            v = call1(e, "llvm.ctpop", sty, a);
        return set(e, o, v ? resize(e, v, e->i32, false) : NULL);
    }
    case TIR_OP_SETP:
        return need(e, o, 1, 2) && setp(e, o);
    case TIR_OP_SELP:
        return need(e, o, 1, 3) &&
               set(e, o, LLVMBuildSelect(e->b, em_arg(e, o, 2, TIR_PRED), em_arg(e, o, 0, t),
                                         em_arg(e, o, 1, t), ""));
    case TIR_OP_CVT:
        return cvt(e, o);
    case TIR_OP_EX2:
    case TIR_OP_LG2:
    case TIR_OP_SIN:
    case TIR_OP_COS:
    case TIR_OP_RSQRT: {
        if (!need(e, o, 1, 1) || t != TIR_F32)
            return e->err ? false : bad_type(e, o);
        char name[64];
        snprintf(name, sizeof name, "llvm.nvvm.%s.f", tir_op_name(o->op));
        return set(e, o, call1(e, name, NULL, em_arg(e, o, 0, t)));
    }
    case TIR_OP_SHFL: {
        if (!need(e, o, 1, 3) || o->mod < TIR_SHFL_BFLY || o->mod > TIR_SHFL_DOWN)
            return e->err ? false : bad_type(e, o);
        char name[64];
        snprintf(name, sizeof name, "llvm.nvvm.shfl.sync.%s.i32", shfls[o->mod]);
        LLVMValueRef args[4] = {LLVMConstInt(e->i32, 0xFFFFFFFFu, 0), em_arg(e, o, 0, TIR_B32),
                                em_arg(e, o, 1, TIR_U32), em_arg(e, o, 2, TIR_U32)};
        return set(e, o, em_call(e, name, NULL, 0, args, 4, ""));
    }
    case TIR_OP_BFE:
    case TIR_OP_LOP3:
    case TIR_OP_PRMT:
    case TIR_OP_TANH:
    case TIR_OP_RCP:
    case TIR_OP_MMA:
        return em_asm(e, o);
    default:
        em_fail(e, o, "not a value op");
        return false;
    }
}

/* codegen/lower_arith.c - per-element computation: elementwise unary,
 * binary, compare, fma, where; view; constants; register shape changes; dot
 * as an FMA loop (VM.md 3, 5; CODEGEN.md 1).
 *
 * Exactness (bit-exact with vm_binop / vm_fma, dtype_arith.c):
 *   - ints of n < 32 bits compute in 32 bits and are renormalized (signed:
 *     sign-extended with bfe.s32, unsigned: masked); x / 0 = 0, x % 0 = x,
 *     MIN / -1 wraps and MIN % -1 = 0 through selects; 64-bit shift counts
 *     saturate at 64 before narrowing to u32;
 *   - f32/f64: add/sub/mul/div/fma .rn; min/max via min/max then the sign of
 *     equal zeros fixed (-0 below +0) with an or/and of the bits; NaN
 *     results of arithmetic are assumed canonical (the GPU's own);
 *   - f16/bf16: + - * / and min/max in f32 and rounded once back: f32 has
 *     more than 2p+2 bits for both, so the double rounding is innocuous;
 *     fma with fma.rn.f16 / fma.rn.bf16 (one rounding);
 *   - narrow floats: exact decode to f32, the f32 op, encode (cast rules);
 *   - bool ops compute as u1 (0/1);
 *   - transcendentals: f32 approximate instructions (exp = ex2(x*log2 e),
 *     log = lg2(x)*ln 2, sigmoid = 1/(1+ex2(-x*log2 e)) with div.rn); f16,
 *     bf16 and narrow floats through f32; f64 only sqrt (the others fail);
 *   - float % (fmod) is not lowered yet.
 * A cast f16 -> f32 whose every use turns a NaN operand into the canonical
 * NaN anyway (+ - * / fma reduce_sum, through reshapes) skips its own
 * canonicalisation (widen_nan_blind).
 * Register-only forms: a view to the same dtype is the operand's registers
 * (local l stays local l); a concat whose result layout leaves every
 * element in a thread that holds it is a reorder of the operands' registers
 * (else it goes through shared scratch, like any layout change).
 * dot: A and B are cast to C's dtype, stored to shared scratch (row-major),
 * and each thread runs a k loop: acc = fma(a, b, acc), k ascending, as the
 * interpreter does. */
#include <string.h>

#include "codegen/lower.h"

static int bits_of(Dtype dt) { return vm_dtype_bits(dt); }
static bool is_narrow_float(Dtype dt) { return vm_dtype_is_float(dt) && bits_of(dt) <= 8; }

static int norm(CgLower *L, Dtype dt, int r)
{
    int n = bits_of(dt);
    TirType t = cg_elem_type(dt);
    if (n >= 32 || t == TIR_PRED)
        return r;
    if (t == TIR_S32)
        return cg_op3(L, TIR_OP_BFE, TIR_S32, cg_R(r), cg_I(0), cg_I(n));
    return cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(r), cg_I((1ll << n) - 1));
}

static int pred_to_u32(CgLower *L, int p) { return cg_selp(L, TIR_U32, cg_I(1), cg_I(0), p); }

static int canon_nan(CgLower *L, TirType t, int x, int r)
{
    int nan = cg_setp(L, TIR_CMP_NAN, t, cg_R(x), cg_R(x));
    uint64_t c = t == TIR_F64 ? 0x7FFFFFFFFFFFFFFFull : t == TIR_F32 ? 0x7FFFFFFFull : 0x7FFFull;
    return cg_selp(L, t, cg_I((int64_t)c), cg_R(r), nan);
}

/* ints (not bool) */
static int int_binop(CgLower *L, Op op, Dtype dt, int a, int b)
{
    TirType t = cg_elem_type(dt);
    bool s = t == TIR_S32 || t == TIR_S64;
    switch (op) {
    case VM_ADD: return norm(L, dt, cg_op2(L, TIR_OP_ADD, t, cg_R(a), cg_R(b)));
    case VM_SUB: return norm(L, dt, cg_op2(L, TIR_OP_SUB, t, cg_R(a), cg_R(b)));
    case VM_MUL: return norm(L, dt, cg_op2(L, TIR_OP_MUL, t, cg_R(a), cg_R(b)));
    case VM_MIN: return cg_op2(L, TIR_OP_MIN, t, cg_R(a), cg_R(b));
    case VM_MAX: return cg_op2(L, TIR_OP_MAX, t, cg_R(a), cg_R(b));
    case VM_AND: return cg_op2(L, TIR_OP_AND, t, cg_R(a), cg_R(b));
    case VM_OR: return cg_op2(L, TIR_OP_OR, t, cg_R(a), cg_R(b));
    case VM_XOR: return cg_op2(L, TIR_OP_XOR, t, cg_R(a), cg_R(b));
    case VM_SHL:
    case VM_SHR: {
        int cnt = b;
        if (tir_type_bits(t) == 64) {
            int c = cg_op2(L, TIR_OP_MIN, TIR_U64, cg_R(b), cg_I(64));
            cnt = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false, cg_R(c));
        }
        if (op == VM_SHL)
            return norm(L, dt, cg_op2(L, TIR_OP_SHL, t, cg_R(a), cg_R(cnt)));
        return cg_op2(L, TIR_OP_SHR, t, cg_R(a), cg_R(cnt));
    }
    case VM_DIV:
    case VM_REM: {
        int z = cg_setp(L, TIR_CMP_EQ, t, cg_R(b), cg_I(0));
        int safe = cg_selp(L, t, cg_I(1), cg_R(b), z);
        int m1 = -1;
        if (s) {
            m1 = cg_setp(L, TIR_CMP_EQ, t, cg_R(b), cg_I(-1));
            safe = cg_selp(L, t, cg_I(1), cg_R(safe), m1);
        }
        if (op == VM_DIV) {
            int q = cg_op2(L, TIR_OP_DIV, t, cg_R(a), cg_R(safe));
            if (s)
                q = cg_selp(L, t, cg_R(cg_op1(L, TIR_OP_NEG, t, cg_R(a))), cg_R(q), m1);
            return norm(L, dt, cg_selp(L, t, cg_I(0), cg_R(q), z));
        }
        int r = cg_op2(L, TIR_OP_REM, t, cg_R(a), cg_R(safe));
        if (s)
            r = cg_selp(L, t, cg_I(0), cg_R(r), m1);
        return cg_selp(L, t, cg_R(a), cg_R(r), z);
    }
    default:
        return -1;
    }
}

static int float_minmax(CgLower *L, Op op, TirType t, int a, int b)
{
    int r = cg_op2(L, op == VM_MIN ? TIR_OP_MIN : TIR_OP_MAX, t, cg_R(a), cg_R(b));
    TirType bt = t == TIR_F64 ? TIR_B64 : TIR_B32;
    int ab = cg_bitcast(L, bt, t, cg_R(a)), bb = cg_bitcast(L, bt, t, cg_R(b));
    int z = cg_op2(L, op == VM_MIN ? TIR_OP_OR : TIR_OP_AND, bt, cg_R(ab), cg_R(bb));
    int zf = cg_bitcast(L, t, bt, cg_R(z));
    int eq = cg_setp(L, TIR_CMP_EQ, t, cg_R(a), cg_R(b));
    return cg_selp(L, t, cg_R(zf), cg_R(r), eq);
}

static TirCmp cmp_of(Op op, bool fl)
{
    switch (op) {
    case VM_EQ: return TIR_CMP_EQ;
    case VM_NE: return fl ? TIR_CMP_NEU : TIR_CMP_NE;
    case VM_LT: return TIR_CMP_LT;
    case VM_LE: return TIR_CMP_LE;
    case VM_GT: return TIR_CMP_GT;
    default: return TIR_CMP_GE;
    }
}

int cg_binop(CgLower *L, const Inst *i, Op op, Dtype dt, int a, int b)
{
    TirType t = cg_elem_type(dt);
    bool cmp = vm_ops[op].cls == VM_C_CMP;
    if (dt == VM_DT_BOOL) {
        if (op == VM_AND || op == VM_OR || op == VM_XOR)
            return cg_op2(L, op == VM_AND ? TIR_OP_AND : op == VM_OR ? TIR_OP_OR : TIR_OP_XOR,
                          TIR_PRED, cg_R(a), cg_R(b));
        int r = cg_binop(L, i, op, VM_DT_U1, pred_to_u32(L, a), pred_to_u32(L, b));
        if (r < 0 || cmp)
            return r;
        return cg_setp(L, TIR_CMP_NE, TIR_U32, cg_R(r), cg_I(0));
    }
    if (!vm_dtype_is_float(dt)) {
        if (cmp)
            return cg_setp(L, cmp_of(op, false), t, cg_R(a), cg_R(b));
        int r = int_binop(L, op, dt, a, b);
        if (r < 0)
            cg_fail(L, i, "%s on %s is not supported", vm_op_name(op), vm_dtype_name(dt));
        return r;
    }
    if (is_narrow_float(dt) || t == TIR_F16 || t == TIR_BF16) {
        int x = cg_float_to_f32(L, dt, a), y = cg_float_to_f32(L, dt, b);
        int r = cg_binop(L, i, op, VM_DT_F32, x, y);
        if (r < 0 || cmp)
            return r;
        return cg_cast(L, dt, VM_DT_F32, r);
    }
    if (cmp)
        return cg_setp(L, cmp_of(op, true), t, cg_R(a), cg_R(b));
    switch (op) {
    case VM_ADD: return cg_op2(L, TIR_OP_ADD, t, cg_R(a), cg_R(b));
    case VM_SUB: return cg_op2(L, TIR_OP_SUB, t, cg_R(a), cg_R(b));
    case VM_MUL: return cg_op2(L, TIR_OP_MUL, t, cg_R(a), cg_R(b));
    case VM_DIV: return cg_op2(L, TIR_OP_DIV, t, cg_R(a), cg_R(b));
    case VM_MIN:
    case VM_MAX: return float_minmax(L, op, t, a, b);
    default:
        cg_fail(L, i, "%s on %s is not supported by the plain lowering yet", vm_op_name(op),
                vm_dtype_name(dt));
        return -1;
    }
}

static int fma_op(CgLower *L, Dtype dt, int a, int b, int c)
{
    TirType t = cg_elem_type(dt);
    if (dt == VM_DT_BOOL) {
        int ab = cg_op2(L, TIR_OP_AND, TIR_PRED, cg_R(a), cg_R(b));
        return cg_op2(L, TIR_OP_XOR, TIR_PRED, cg_R(ab), cg_R(c));
    }
    if (!vm_dtype_is_float(dt))
        return norm(L, dt, cg_op3(L, TIR_OP_MAD, t, cg_R(a), cg_R(b), cg_R(c)));
    if (is_narrow_float(dt)) {
        int x = cg_float_to_f32(L, dt, a), y = cg_float_to_f32(L, dt, b),
            z = cg_float_to_f32(L, dt, c);
        int r = cg_op3(L, TIR_OP_FMA, TIR_F32, cg_R(x), cg_R(y), cg_R(z));
        return cg_cast(L, dt, VM_DT_F32, r);
    }
    return cg_op3(L, TIR_OP_FMA, t, cg_R(a), cg_R(b), cg_R(c));
}

static int f32_unop(CgLower *L, Op op, int x)
{
    const TirType F = TIR_F32;
    switch (op) {
    case VM_EXP:
        return cg_op1(L, TIR_OP_EX2, F,
                      cg_R(cg_op2(L, TIR_OP_MUL, F, cg_R(x), tir_immf(1.4426950408889634, F))));
    case VM_EXP2: return cg_op1(L, TIR_OP_EX2, F, cg_R(x));
    case VM_LOG:
        return cg_op2(L, TIR_OP_MUL, F, cg_R(cg_op1(L, TIR_OP_LG2, F, cg_R(x))),
                      tir_immf(0.6931471805599453, F));
    case VM_LOG2: return cg_op1(L, TIR_OP_LG2, F, cg_R(x));
    case VM_SQRT: return cg_op1(L, TIR_OP_SQRT, F, cg_R(x));
    case VM_RSQRT: return cg_op1(L, TIR_OP_RSQRT, F, cg_R(x));
    case VM_SIN: return cg_op1(L, TIR_OP_SIN, F, cg_R(x));
    case VM_COS: return cg_op1(L, TIR_OP_COS, F, cg_R(x));
    case VM_TANH: return cg_op1(L, TIR_OP_TANH, F, cg_R(x));
    case VM_SIGMOID:
    case VM_SILU: {
        int m = cg_op2(L, TIR_OP_MUL, F, cg_R(x), tir_immf(-1.4426950408889634, F));
        int e = cg_op1(L, TIR_OP_EX2, F, cg_R(m));
        int d = cg_op2(L, TIR_OP_ADD, F, cg_R(e), tir_immf(1.0, F));
        int s = cg_op2(L, TIR_OP_DIV, F, tir_immf(1.0, F), cg_R(d));
        return op == VM_SIGMOID ? s : cg_op2(L, TIR_OP_MUL, F, cg_R(x), cg_R(s));
    }
    default:
        return -1;
    }
}

int cg_unop(CgLower *L, const Inst *i, Op op, Dtype dt, int a)
{
    TirType t = cg_elem_type(dt);
    if (dt == VM_DT_BOOL) {
        if (op == VM_NOT)
            return cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(a));
        cg_fail(L, i, "%s of bool", vm_op_name(op));
        return -1;
    }
    if (!vm_dtype_is_float(dt)) {
        switch (op) {
        case VM_NEG: return norm(L, dt, cg_op1(L, TIR_OP_NEG, t, cg_R(a)));
        case VM_ABS:
            if (!vm_dtype_is_signed(dt))
                return a;
            return norm(L, dt, cg_op1(L, TIR_OP_ABS, t, cg_R(a)));
        case VM_NOT: return norm(L, dt, cg_op1(L, TIR_OP_NOT, t, cg_R(a)));
        default:
            cg_fail(L, i, "%s of %s", vm_op_name(op), vm_dtype_name(dt));
            return -1;
        }
    }
    if (t == TIR_F32 || t == TIR_F64) {
        if (op == VM_NEG || op == VM_ABS)
            return canon_nan(L, t, a, cg_op1(L, op == VM_NEG ? TIR_OP_NEG : TIR_OP_ABS, t, cg_R(a)));
        if (op == VM_SQRT)
            return cg_op1(L, TIR_OP_SQRT, t, cg_R(a));
        if (t == TIR_F32) {
            int r = f32_unop(L, op, a);
            if (r >= 0)
                return r;
        }
        cg_fail(L, i, "%s of %s is not supported by the plain lowering yet", vm_op_name(op),
                vm_dtype_name(dt));
        return -1;
    }
    int x = cg_float_to_f32(L, dt, a);
    int r = op == VM_NEG   ? cg_op1(L, TIR_OP_NEG, TIR_F32, cg_R(x))
            : op == VM_ABS ? cg_op1(L, TIR_OP_ABS, TIR_F32, cg_R(x))
                           : f32_unop(L, op, x);
    if (r < 0) {
        cg_fail(L, i, "%s of %s", vm_op_name(op), vm_dtype_name(dt));
        return -1;
    }
    return cg_cast(L, dt, VM_DT_F32, r);
}

/* ---------------------------------------------------------------- codes */

int cg_to_code(CgLower *L, Dtype dt, int reg)
{
    TirType t = cg_elem_type(dt);
    int n = bits_of(dt);
    switch (t) {
    case TIR_PRED: return pred_to_u32(L, reg);
    case TIR_F16:
    case TIR_BF16: {
        TirArg v[2] = {cg_R(reg), cg_I(0)};
        int d = cg_op(L, TIR_OP_PACK, TIR_U32, 2, v);
        L->cur->last->type2 = t;
        return d;
    }
    case TIR_F32: return cg_bitcast(L, TIR_U32, TIR_F32, cg_R(reg));
    case TIR_F64: return cg_bitcast(L, TIR_U64, TIR_F64, cg_R(reg));
    case TIR_S64: return cg_bitcast(L, TIR_U64, TIR_S64, cg_R(reg));
    case TIR_U64: return reg;
    case TIR_S32:
        reg = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(reg));
        /* fallthrough */
    default:
        return n < 32 ? cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(reg), cg_I((1ll << n) - 1)) : reg;
    }
}

int cg_from_code(CgLower *L, Dtype dt, int code)
{
    TirType t = cg_elem_type(dt);
    int n = bits_of(dt);
    switch (t) {
    case TIR_PRED: return cg_setp(L, TIR_CMP_NE, TIR_U32, cg_R(code), cg_I(0));
    case TIR_F16:
    case TIR_BF16: {
        int lo = cg_reg(L, t, NULL), hi = cg_reg(L, t, NULL);
        TirOp *o = cg_emit(L, TIR_OP_UNPACK, t);
        o->type2 = TIR_U32;
        o->nd = 2;
        o->d[0] = lo;
        o->d[1] = hi;
        o->na = 1;
        o->a[0] = cg_R(code);
        return lo;
    }
    case TIR_F32: return cg_bitcast(L, TIR_F32, TIR_U32, cg_R(code));
    case TIR_F64: return cg_bitcast(L, TIR_F64, TIR_U64, cg_R(code));
    case TIR_S64: return cg_bitcast(L, TIR_S64, TIR_U64, cg_R(code));
    case TIR_U64: return code;
    case TIR_S32: return n < 32 ? cg_op3(L, TIR_OP_BFE, TIR_S32, cg_R(code), cg_I(0), cg_I(n))
                                : cg_bitcast(L, TIR_S32, TIR_U32, cg_R(code));
    default:
        return code;
    }
}

/* ---------------------------------------------------------------- view */

static bool view(CgLower *L, const Inst *i)
{
    const Value *x = i->a[0], *r = i->res;
    CgTensor *xt = cg_val(L, x);
    if (!xt)
        return cg_fail(L, i, "view: operand not lowered");
    int bx = bits_of(x->dtype), br = bits_of(r->dtype);
    int nx = xt->n, nr = lay_local_size(r->layout);
    if ((int64_t)nx * bx != (int64_t)nr * br)
        return cg_fail(L, i, "view: %d x %d bits per thread become %d x %d", nx, bx, nr, br);
    if (x->dtype == r->dtype) {
        /* local l stays local l: the registers themselves (copies of a
         * mutable var's, which a later assignment changes), no bit shuffling;
         * the fragment views of an mma GEMV cost nothing */
        CgTensor same = {nr, vm_alloc(L->a, sizeof(int) * (size_t)(nr ? nr : 1))};
        for (int l = 0; l < nr; l++) {
            same.r[l] = xt->r[l];
            if (x->var && x->var->mut) {
                same.r[l] = cg_reg(L, cg_elem_type(r->dtype), r->name);
                cg_mov(L, same.r[l], cg_R(xt->r[l]));
            }
        }
        L->vals[r->id] = same;
        return true;
    }
    bool wide = bx == 64 || br == 64;
    TirType at = wide ? TIR_U64 : TIR_U32;
    int *codes = vm_alloc(L->a, sizeof(int) * (size_t)(nx ? nx : 1));
    for (int l = 0; l < nx; l++) {
        codes[l] = cg_to_code(L, x->dtype, xt->r[l]);
        if (wide && bx < 64)
            codes[l] = cg_cvt(L, TIR_U64, TIR_U32, TIR_RND_NONE, false, cg_R(codes[l]));
    }
    CgTensor out = {nr, vm_alloc(L->a, sizeof(int) * (size_t)(nr ? nr : 1))};
    for (int j = 0; j < nr; j++) {
        int64_t lo = (int64_t)j * br, hi = lo + br;
        int acc = -1;
        for (int s = (int)(lo / bx); s < nx && (int64_t)s * bx < hi; s++) {
            int64_t sb = (int64_t)s * bx;
            int v = codes[s];
            if (sb > lo)
                v = cg_op2(L, TIR_OP_SHL, at, cg_R(v), cg_I(sb - lo));
            else if (sb < lo)
                v = cg_op2(L, TIR_OP_SHR, at, cg_R(v), cg_I(lo - sb));
            acc = acc < 0 ? v : cg_op2(L, TIR_OP_OR, at, cg_R(acc), cg_R(v));
        }
        if (br < tir_type_bits(at))
            acc = cg_op2(L, TIR_OP_AND, at, cg_R(acc), cg_I((1ll << br) - 1));
        if (wide && br < 64)
            acc = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false, cg_R(acc));
        out.r[j] = cg_from_code(L, r->dtype, acc);
    }
    L->vals[r->id] = out;
    return true;
}

/* ---------------------------------------------------------------- dot */

static bool dot(CgLower *L, const Inst *i)
{
    const Value *A = i->a[0], *B = i->a[1], *C = i->a[2], *R = i->res;
    Dtype cd = R->dtype;
    int M = A->shape[0], K = A->shape[1], N = B->shape[1];
    int *c0 = cg_operand(L, i, C, R->layout, R->rank, R->shape);
    CgTensor *at = cg_val(L, A), *bt = cg_val(L, B);
    if (!c0 || !at || !bt)
        return cg_fail(L, i, "dot: operands not lowered");
    int slot = cg_slot_bytes(cd);
    int64_t base = cg_scratch(L, (int64_t)(M + N) * K * slot);
    int64_t bbase = base + (int64_t)M * K * slot;
    const Value *ops[2] = {A, B};
    CgTensor *ts[2] = {at, bt};
    for (int o = 0; o < 2; o++) {
        CgCoords c;
        cg_coords(L, ops[o]->layout, &c);
        int rep = cg_replica_pred(L, ops[o]->layout);
        int64_t cols = ops[o]->shape[1];
        int row = c.base[0] >= 0 ? cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(c.base[0]), cg_I(cols)) : -1;
        int tb = row;
        if (c.base[1] >= 0)
            tb = tb >= 0 ? cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(tb), cg_R(c.base[1])) : c.base[1];
        int ta = -1;
        if (tb >= 0) {
            ta = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(tb));
            ta = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(ta), cg_I(slot));
        } else {
            ta = cg_reg(L, TIR_U32, "saddr");
            cg_mov(L, ta, cg_I(0));
        }
        for (int l = 0; l < c.n; l++) {
            int64_t k = (int64_t)c.cst[l * 2] * cols + c.cst[l * 2 + 1];
            int v = cg_cast(L, cd, ops[o]->dtype, ts[o]->r[l]);
            cg_st_slot(L, cd, cg_R(ta), (o ? bbase : base) + k * slot, v, rep);
        }
    }
    cg_bar(L);
    CgCoords c;
    cg_coords(L, R->layout, &c);
    CgTensor acc = cg_new_tensor(L, c.n, cd, R->name ? R->name : "acc");
    for (int l = 0; l < c.n; l++)
        cg_mov(L, acc.r[l], cg_R(c0[l]));
    /* row and column byte addresses of each element, outside the loop */
    int *ra = vm_alloc(L->a, sizeof(int) * (size_t)(c.n ? c.n : 1) * 2), *ca = ra + c.n;
    for (int l = 0; l < c.n; l++) {
        int r = cg_coord(L, &c, l, 0), cc = cg_coord(L, &c, l, 1);
        int ru = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(r));
        ra[l] = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(ru), cg_I((int64_t)K * slot));
        int cu = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(cc));
        ca[l] = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(cu), cg_I(slot));
    }
    int kk = cg_reg(L, TIR_U32, "kk");
    cg_mov(L, kk, cg_I(0));
    TirOp *loop = cg_emit(L, TIR_OP_LOOP, TIR_B32);
    TirBlock *saved, *s2;
    cg_enter(L, &loop->body, &saved);
    int done = cg_setp(L, TIR_CMP_GE, TIR_U32, cg_R(kk), cg_I(K));
    TirOp *f = cg_if(L, done, false);
    cg_enter(L, &f->body, &s2);
    cg_emit(L, TIR_OP_BREAK, TIR_B32);
    L->cur = s2;
    int ka = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(kk), cg_I(slot));
    int kb = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(kk), cg_I((int64_t)N * slot));
    for (int l = 0; l < c.n; l++) {
        int aadr = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(ra[l]), cg_R(ka));
        int badr = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(ca[l]), cg_R(kb));
        int a = cg_ld_slot(L, cd, cg_R(aadr), base);
        int b = cg_ld_slot(L, cd, cg_R(badr), bbase);
        cg_mov(L, acc.r[l], cg_R(fma_op(L, cd, a, b, acc.r[l])));
    }
    L->cur = &loop->orelse;
    cg_mov(L, kk, cg_R(cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(kk), cg_I(1))));
    L->cur = saved;
    cg_bar(L);
    L->vals[R->id] = acc;
    return true;
}

/* ---------------------------------------------------------------- shape changes */

static void row_major(int rank, const int32_t *shape, int64_t *st)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        st[d] = s;
        s *= shape[d];
    }
}

/* concat: both operands into a scratch image of the result, then read */
/* concat without data movement: where every thread already holds, in one
 * of the operands, each element its result layout gives it (the same
 * operand and local for every thread), the result's registers are those
 * (an mma fragment assembled from two loaded halves). false: not so. */
static bool concat_in_place(CgLower *L, const Inst *i)
{
    const Value *r = i->res, *x[2] = {i->a[0], i->a[1]};
    CgTensor *xt[2] = {cg_val(L, x[0]), cg_val(L, x[1])};
    int n = lay_local_size(r->layout), T = lay_num_threads(r->layout), cap = T * 4 + 4;
    if (!xt[0] || !xt[1] || lay_num_threads(x[0]->layout) != T ||
        lay_num_threads(x[1]->layout) != T || (x[0]->var && x[0]->var->mut) ||
        (x[1]->var && x[1]->var->mut))
        return false;
    int *src = vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1));
    int *part = vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1));
    int *ot = vm_alloc(L->a, sizeof(int) * (size_t)cap * 2);
    bool ok = true;
    for (int l = 0; l < n && ok; l++) {
        src[l] = part[l] = -1;
        for (int t = 0; t < T && ok; t++) {
            int32_t idx[VM_MAX_DIMS];
            lay_apply(r->layout, t, l, idx);
            int j = idx[i->dim] >= x[0]->shape[i->dim];
            if (j)
                idx[i->dim] -= x[0]->shape[i->dim];
            int no = lay_owners(x[j]->layout, idx, ot, ot + cap, cap), found = -1;
            for (int q = 0; q < no && q < cap; q++)
                if (ot[q] == t)
                    found = ot[cap + q];
            ok = found >= 0 && (part[l] < 0 || (part[l] == j && src[l] == found));
            part[l] = j;
            src[l] = found;
        }
    }
    for (int l = 0; l < n && ok; l++)
        src[l] = xt[part[l]]->r[src[l]];
    if (ok)
        L->vals[r->id] = (CgTensor){n, src};
    return ok;
}

static bool concat(CgLower *L, const Inst *i)
{
    const Value *r = i->res;
    if (concat_in_place(L, i))
        return true;
    int64_t rm[VM_MAX_DIMS];
    row_major(r->rank, r->shape, rm);
    int64_t base = cg_scratch(L, vm_shape_numel(r->rank, r->shape) * cg_slot_bytes(r->dtype));
    for (int j = 0; j < 2; j++) {
        CgTensor *t = cg_val(L, i->a[j]);
        if (!t)
            return cg_fail(L, i, "concat: operand not lowered");
        int64_t off = j ? (int64_t)i->a[0]->shape[i->dim] * rm[i->dim] : 0;
        cg_scratch_store(L, r->dtype, t->r, i->a[j]->layout, rm, off, base);
    }
    cg_bar(L);
    int *regs = cg_scratch_load(L, r->dtype, r->layout, rm, 0, base);
    cg_bar(L);
    L->vals[r->id] = (CgTensor){lay_local_size(r->layout), regs};
    return true;
}

/* a register slice at a runtime start: through a scratch image of x */
static bool slice_runtime(CgLower *L, const Inst *i, const Value *x, const int64_t *mul,
                          int64_t soff, int roff)
{
    const Value *r = i->res;
    CgTensor *xt = cg_val(L, x);
    if (!xt)
        return cg_fail(L, i, "slice: operand not lowered");
    int64_t xs[VM_MAX_DIMS];
    row_major(x->rank, x->shape, xs);
    int64_t base = cg_scratch(L, vm_shape_numel(x->rank, x->shape) * cg_slot_bytes(x->dtype));
    cg_scratch_store(L, x->dtype, xt->r, x->layout, xs, 0, base);
    cg_bar(L);
    int *regs = cg_scratch_load_at(L, x->dtype, r->layout, mul, soff, roff, base);
    cg_bar(L);
    L->vals[r->id] = (CgTensor){lay_local_size(r->layout), regs};
    return true;
}

static bool shape_op(CgLower *L, const Inst *i)
{
    if (i->op == VM_CONCAT)
        return concat(L, i);
    const Value *x = i->a[0], *r = i->res;
    int64_t mul[VM_MAX_DIMS] = {0}, xs[VM_MAX_DIMS], soff = 0;
    row_major(x ? x->rank : 0, x ? x->shape : NULL, xs);
    switch (i->op) {
    case VM_BROADCAST: {
        int off = r->rank - x->rank;
        for (int j = 0; j < x->rank; j++)
            mul[j + off] = x->shape[j] == 1 ? 0 : xs[j];
        break;
    }
    case VM_RESHAPE:
        row_major(r->rank, r->shape, mul);
        break;
    case VM_PERMUTE:
        for (int d = 0; d < r->rank; d++)
            mul[d] = xs[i->perm[d]];
        break;
    case VM_TRANSPOSE:
        for (int d = 0; d < r->rank; d++)
            mul[d] = xs[d];
        mul[r->rank - 2] = xs[r->rank - 1];
        mul[r->rank - 1] = xs[r->rank - 2];
        break;
    case VM_SLICE: {
        const Tile *t = &i->mem[0];
        x = t->base;
        row_major(x->rank, x->shape, xs);
        int q = 0, roff = -1;
        for (int d = 0; d < t->rank; d++) {
            int64_t s0 = 0;
            if (t->start[d] && !vm_e_const_int(t->start[d], &s0)) {
                /* a runtime start: the element is found at run time */
                int v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(cg_expr_s32(L, t->start[d])),
                               cg_I(xs[d]));
                roff = roff < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(roff), cg_R(v));
            }
            soff += s0 * xs[d];
            if (!t->drop[d])
                mul[q++] = xs[d];
        }
        if (roff >= 0)
            return slice_runtime(L, i, x, mul, soff, roff);
        break;
    }
    default:
        return cg_fail(L, i, "%s is not supported by the plain lowering yet", vm_op_name(i->op));
    }
    int *regs = cg_remap(L, i, x, r->layout, mul, soff);
    if (!regs)
        return false;
    int n = lay_local_size(r->layout);
    if (x->var && x->var->mut) {
        /* the result keeps the contents the `var` has now (`let old = acc;`):
         * copies, not the var's registers, which a later assignment changes */
        TirType t = cg_elem_type(r->dtype);
        for (int l = 0; l < n; l++) {
            int c = cg_reg(L, t, r->name);
            cg_mov(L, c, cg_R(regs[l]));
            regs[l] = c;
        }
    }
    L->vals[r->id] = (CgTensor){n, regs};
    return true;
}

/* ---------------------------------------------------------------- constants */

static bool constant(CgLower *L, const Inst *i)
{
    const Value *r = i->res;
    int n = lay_local_size(r->layout);
    CgTensor out = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    TirType t = cg_elem_type(r->dtype);
    if (i->op == VM_ZEROS || i->op == VM_FULL) {
        int v;
        if (i->op == VM_ZEROS) {
            v = cg_reg(L, t, r->name);
            cg_mov(L, v, cg_I(0));
        } else
            v = cg_cast(L, r->dtype, i->e[0]->dtype, cg_expr(L, i->e[0]));
        for (int l = 0; l < n; l++)
            out.r[l] = v;
    } else if (i->op == VM_ARANGE) {
        CgCoords c;
        cg_coords(L, r->layout, &c);
        for (int l = 0; l < n; l++)
            out.r[l] = cg_cast(L, r->dtype, VM_DT_I32, cg_coord(L, &c, l, 0));
    } else {
        return cg_lower_misc(L, i);
    }
    L->vals[r->id] = out;
    return true;
}

/* ---------------------------------------------------------------- widening casts */

/* Whether every use of v in b (nested blocks; through layout-only shape
 * changes, looked up from root) is float arithmetic that gives the GPU's
 * canonical NaN for a NaN operand (+ - * /, fma, reduce_sum over 2 or more
 * elements: lower_reduce adds every element at least once). */
static bool nan_blind(const Block *root, const Block *b, const Value *v)
{
    for (const Inst *i = b->first; i; i = i->next) {
        if (!nan_blind(root, &i->body, v) || !nan_blind(root, &i->orelse, v) ||
            i->mem[0].base == v || i->mem[1].base == v || i->res2 == v)
            return false;
        for (int j = 0; j < 3; j++) {
            if (i->a[j] != v)
                continue;
            switch (i->op) {
            case VM_ADD: case VM_SUB: case VM_MUL: case VM_DIV: case VM_FMA:
                break;
            case VM_REDUCE_SUM:
                if (i->dim < 0 || i->dim >= v->rank || v->shape[i->dim] < 2)
                    return false;
                break;
            case VM_RESHAPE: case VM_PERMUTE: case VM_TRANSPOSE: case VM_BROADCAST:
                if (!i->res || i->res->var || !nan_blind(root, root, i->res))
                    return false;
                break;
            default:
                return false;
            }
        }
    }
    return true;
}

/* cast of f16 to f32 (exact) whose result only meets nan_blind uses:
 * cvt without the NaN canonicalisation (which costs a setp and a select
 * per element: the GEMV's activations); false when not so. */
static bool widen_nan_blind(CgLower *L, const Inst *i)
{
    const Value *x = i->a[0], *r = i->res;
    if (i->dtype != VM_DT_F32 || x->dtype != VM_DT_F16 || r->var ||
        !nan_blind(&L->k->body, &L->k->body, r))
        return false;
    int *xs = cg_operand(L, i, x, r->layout, r->rank, r->shape);
    if (!xs)
        return false;
    int n = lay_local_size(r->layout);
    CgTensor out = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    for (int l = 0; l < n; l++)
        out.r[l] = cg_cvt(L, TIR_F32, TIR_F16, TIR_RND_NONE, false, cg_R(xs[l]));
    L->vals[r->id] = out;
    return true;
}

/* ---------------------------------------------------------------- dispatch */

bool cg_lower_arith(CgLower *L, const Inst *i)
{
    const Value *r = i->res;
    switch (vm_ops[i->op].cls) {
    case VM_C_VIEW:
        return view(L, i);
    case VM_C_DOT:
        return cg_dot_mma(L, i) ? !L->failed : dot(L, i);
    case VM_C_SHAPE:
        return shape_op(L, i);
    case VM_C_CONST:
        return constant(L, i);
    default:
        break;
    }
    if (i->op == VM_CAST && cg_cast_packed(L, i))
        return true;
    if (i->op == VM_CAST && widen_nan_blind(L, i))
        return true;
    int na = i->op == VM_CAST || vm_ops[i->op].cls == VM_C_UNARY ? 1
             : vm_ops[i->op].cls == VM_C_TERNARY                  ? 3
                                                                  : 2;
    int *x[3] = {0};
    for (int j = 0; j < na; j++)
        if (!(x[j] = cg_operand(L, i, i->a[j], r->layout, r->rank, r->shape)))
            return false;
    int n = lay_local_size(r->layout);
    CgTensor out = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    Dtype dt = i->a[i->op == VM_WHERE ? 1 : 0]->dtype;
    for (int l = 0; l < n; l++) {
        int v;
        if (i->op == VM_CAST)
            v = cg_cast(L, i->dtype, dt, x[0][l]);
        else if (i->op == VM_WHERE)
            v = cg_selp(L, cg_elem_type(dt), cg_R(x[1][l]), cg_R(x[2][l]), x[0][l]);
        else if (i->op == VM_FMA)
            v = fma_op(L, dt, x[0][l], x[1][l], x[2][l]);
        else if (na == 1)
            v = cg_unop(L, i, i->op, dt, x[0][l]);
        else
            v = cg_binop(L, i, i->op, dt, x[0][l], x[1][l]);
        if (v < 0)
            return false;
        out.r[l] = v;
    }
    L->vals[r->id] = out;
    return true;
}

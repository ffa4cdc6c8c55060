/* codegen/lower_reduce.c - reduce_sum/max/min along one dim (VM.md 5):
 * thread, then warp shuffle, then shared memory across warps.
 *
 * 1. Thread: the local elements of X that share an output coordinate (the
 *    constant part of every other dim) are folded in ascending order of
 *    the reduced coordinate.
 * 2. Warp: the part inside a warp of each spatial mode of the reduced dim
 *    ((t / div) % size, div and size powers of two, div < 32: the first
 *    min(size, 32 / div) steps) is folded with shfl.sync.bfly over lane
 *    masks div, 2 div, ... (every lane ends with that part's total); the
 *    rest of the mode (across warps) joins step 3.
 * 3. Block: the remaining modes (across warps, or not powers of two) go
 *    through shared scratch: every thread writes its partial at
 *    [output index][r] (r: its coordinate in the remaining modes; replicas
 *    write the same value), barrier, each thread folds the R partials of its
 *    result elements in r order, barrier.
 * Without step 3 the partials are in lay_reduce(X) and are remapped to the
 * result layout (registers when it matches, else shared memory).
 * Float sums therefore add in a tree order, not the interpreter's ascending
 * order, and a thread folds a sum of products x = a * b with fma (one
 * rounding per term fewer: the GEMV inner loop): results agree within the
 * accumulation-order tolerance of VM.md 7;
 * max/min and integer sums are exact.
 * argmax, cumsum and topk are serial (exact, slow): X goes to a shared
 * scratch image and each result element loops over its row in the
 * interpreter's order (topk: the element whose rank is the result's
 * position, NaN below every number, ties to the lower index). */
#include <stdlib.h>
#include <string.h>

#include "codegen/lower.h"

static bool pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

static Op fold_op(Op op) { return op == VM_REDUCE_SUM ? VM_ADD : op == VM_REDUCE_MAX ? VM_MAX : VM_MIN; }

/* shfl.sync.bfly of a value of any element type */
static int shfl(CgLower *L, Dtype dt, int v, int lanemask)
{
    TirType t = cg_elem_type(dt);
    int bits = t == TIR_PRED ? 32 : tir_type_bits(t);
    if (bits == 64) {
        int b = cg_bitcast(L, TIR_B64, t, cg_R(v));
        int lo = cg_reg(L, TIR_B32, NULL), hi = cg_reg(L, TIR_B32, NULL);
        TirOp *o = cg_emit(L, TIR_OP_UNPACK, TIR_B32);
        o->type2 = TIR_B64;
        o->nd = 2;
        o->d[0] = lo;
        o->d[1] = hi;
        o->na = 1;
        o->a[0] = cg_R(b);
        int s[2];
        for (int h = 0; h < 2; h++) {
            s[h] = cg_op3(L, TIR_OP_SHFL, TIR_B32, cg_R(h ? hi : lo), cg_I(lanemask), cg_I(31));
            L->cur->last->mod = TIR_SHFL_BFLY;
        }
        TirArg a[2] = {cg_R(s[0]), cg_R(s[1])};
        int p = cg_op(L, TIR_OP_PACK, TIR_B64, 2, a);
        L->cur->last->type2 = TIR_B32;
        return cg_bitcast(L, t, TIR_B64, cg_R(p));
    }
    int c = t == TIR_F16 || t == TIR_BF16 || t == TIR_PRED ? cg_to_code(L, dt, v)
                                                           : v;
    int b = cg_bitcast(L, TIR_B32, L->t->regs[c].type, cg_R(c));
    int s = cg_op3(L, TIR_OP_SHFL, TIR_B32, cg_R(b), cg_I(lanemask), cg_I(31));
    L->cur->last->mod = TIR_SHFL_BFLY;
    if (t == TIR_F16 || t == TIR_BF16 || t == TIR_PRED)
        return cg_from_code(L, dt, cg_bitcast(L, TIR_U32, TIR_B32, cg_R(s)));
    return cg_bitcast(L, t, TIR_B32, cg_R(s));
}

/* ---------------------------------------------------------------- serial along the dim */

typedef struct {
    TirOp *loop;
    TirBlock *saved;
    int q; /* u32 counter */
} Lp;

/* for (q = lo; q < hi; q++) { ... } with hi a u32 register or immediate */
static Lp loop_open(CgLower *L, int64_t lo, TirArg hi)
{
    Lp lp;
    lp.q = cg_reg(L, TIR_U32, "q");
    cg_mov(L, lp.q, cg_I(lo));
    lp.loop = cg_emit(L, TIR_OP_LOOP, TIR_B32);
    cg_enter(L, &lp.loop->body, &lp.saved);
    int done = cg_setp(L, TIR_CMP_GE, TIR_U32, cg_R(lp.q), hi);
    TirOp *f = cg_if(L, done, false);
    TirBlock *s2;
    cg_enter(L, &f->body, &s2);
    cg_emit(L, TIR_OP_BREAK, TIR_B32);
    L->cur = s2;
    return lp;
}

static void loop_close(CgLower *L, Lp *lp)
{
    L->cur = &lp->loop->orelse;
    cg_mov(L, lp->q, cg_R(cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(lp->q), cg_I(1))));
    L->cur = lp->saved;
}

/* x before y in argmax/topk order: a larger number, NaN below every number
 * (ties are decided by the caller on indices) */
static int better(CgLower *L, Dtype dt, int x, int y)
{
    if (!vm_dtype_is_float(dt))
        return cg_setp(L, TIR_CMP_GT, cg_elem_type(dt), cg_R(x), cg_R(y));
    TirType t = dt == VM_DT_F64 ? TIR_F64 : TIR_F32;
    if (t == TIR_F32) {
        x = cg_float_to_f32(L, dt, x);
        y = cg_float_to_f32(L, dt, y);
    }
    int gt = cg_setp(L, TIR_CMP_GT, t, cg_R(x), cg_R(y));
    int xn = cg_setp(L, TIR_CMP_NAN, t, cg_R(x), cg_R(x));
    int yn = cg_setp(L, TIR_CMP_NAN, t, cg_R(y), cg_R(y));
    int num = cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(xn));
    int over = cg_pand(L, num, yn);
    return cg_op2(L, TIR_OP_OR, TIR_PRED, cg_R(gt), cg_R(over));
}

/* argmax, cumsum, topk: X goes to a row-major scratch image; each result
 * element walks its row with a loop (plain and exact: the interpreter's
 * order, ascending along the dim) */
static bool serial(CgLower *L, const Inst *i)
{
    const Value *x = i->a[0];
    CgTensor *xt = cg_val(L, x);
    if (!xt)
        return cg_fail(L, i, "%s: operand not lowered", vm_op_name(i->op));
    Dtype dt = x->dtype;
    int dim = i->dim, rank = x->rank, D = x->shape[dim];
    int slot = cg_slot_bytes(dt);
    int64_t rm[VM_MAX_DIMS], s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        rm[d] = s;
        s *= x->shape[d];
    }
    int64_t base = cg_scratch(L, s * slot);
    cg_scratch_store(L, dt, xt->r, x->layout, rm, 0, base);
    cg_bar(L);
    for (int out = 0; out < (i->op == VM_TOPK ? 2 : 1); out++) {
        const Value *r = out ? i->res2 : i->res;
        bool rdim = i->op != VM_ARGMAX || i->keepdim; /* r has the dim */
        CgCoords rc;
        cg_coords(L, r->layout, &rc);
        CgTensor res = cg_new_tensor(L, rc.n, r->dtype, r->name);
        for (int l = 0; l < rc.n; l++) {
            /* the row's base slot (dim coordinate 0) and the position p */
            int row = -1, p = -1;
            for (int d = 0, q = 0; d < rank; d++) {
                if (d == dim && !rdim)
                    continue;
                int c = cg_coord(L, &rc, l, q++);
                if (d == dim) {
                    p = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(c));
                    continue;
                }
                int v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(c), cg_I(rm[d]));
                row = row < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(row), cg_R(v));
            }
            int ra;
            if (row < 0) {
                ra = cg_reg(L, TIR_U32, NULL);
                cg_mov(L, ra, cg_I(0));
            } else
                ra = cg_op2(L, TIR_OP_MUL, TIR_U32,
                            cg_R(cg_bitcast(L, TIR_U32, TIR_S32, cg_R(row))), cg_I(slot));
            int64_t stp = rm[dim] * slot;
            int first = cg_ld_slot(L, dt, cg_R(ra), base);
            if (i->op == VM_CUMSUM) {
                cg_mov(L, res.r[l], cg_R(first));
                Lp lp = loop_open(L, 1, cg_R(cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(p), cg_I(1))));
                int a = cg_op3(L, TIR_OP_MAD, TIR_U32, cg_R(lp.q), cg_I(stp), cg_R(ra));
                int v = cg_ld_slot(L, dt, cg_R(a), base);
                int sum = cg_binop(L, i, VM_ADD, dt, res.r[l], v);
                if (sum < 0)
                    return false;
                cg_mov(L, res.r[l], cg_R(sum));
                loop_close(L, &lp);
            } else if (i->op == VM_ARGMAX) {
                int best = cg_reg(L, cg_elem_type(dt), "best");
                cg_mov(L, best, cg_R(first));
                cg_mov(L, res.r[l], cg_I(0));
                Lp lp = loop_open(L, 1, cg_I(D));
                int a = cg_op3(L, TIR_OP_MAD, TIR_U32, cg_R(lp.q), cg_I(stp), cg_R(ra));
                int v = cg_ld_slot(L, dt, cg_R(a), base);
                int b = better(L, dt, v, best);
                cg_mov(L, best, cg_R(cg_selp(L, cg_elem_type(dt), cg_R(v), cg_R(best), b)));
                int qi = cg_bitcast(L, TIR_S32, TIR_U32, cg_R(lp.q));
                cg_mov(L, res.r[l], cg_R(cg_selp(L, TIR_S32, cg_R(qi), cg_R(res.r[l]), b)));
                loop_close(L, &lp);
            } else {
                /* topk: the candidate c whose rank (elements ordered before
                 * it) is p; rank counts e before c: better, or a tie and a
                 * lower index */
                cg_mov(L, res.r[l], out ? cg_I(0) : cg_R(first));
                Lp lc = loop_open(L, 0, cg_I(D));
                int ca = cg_op3(L, TIR_OP_MAD, TIR_U32, cg_R(lc.q), cg_I(stp), cg_R(ra));
                int cv = cg_ld_slot(L, dt, cg_R(ca), base);
                int rank_ = cg_reg(L, TIR_U32, "rank");
                cg_mov(L, rank_, cg_I(0));
                Lp le = loop_open(L, 0, cg_I(D));
                int ea = cg_op3(L, TIR_OP_MAD, TIR_U32, cg_R(le.q), cg_I(stp), cg_R(ra));
                int ev = cg_ld_slot(L, dt, cg_R(ea), base);
                int eb = better(L, dt, ev, cv), ce = better(L, dt, cv, ev);
                int tie = cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(cg_op2(L, TIR_OP_OR, TIR_PRED,
                                                                    cg_R(eb), cg_R(ce))));
                int lower = cg_setp(L, TIR_CMP_LT, TIR_U32, cg_R(le.q), cg_R(lc.q));
                int before = cg_op2(L, TIR_OP_OR, TIR_PRED, cg_R(eb),
                                    cg_R(cg_pand(L, tie, lower)));
                int inc = cg_selp(L, TIR_U32, cg_I(1), cg_I(0), before);
                cg_mov(L, rank_, cg_R(cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(rank_), cg_R(inc))));
                loop_close(L, &le);
                int hit = cg_setp(L, TIR_CMP_EQ, TIR_U32, cg_R(rank_), cg_R(p));
                int val = out ? cg_bitcast(L, TIR_S32, TIR_U32, cg_R(lc.q)) : cv;
                cg_mov(L, res.r[l], cg_R(cg_selp(L, cg_elem_type(r->dtype), cg_R(val),
                                                 cg_R(res.r[l]), hit)));
                loop_close(L, &lc);
            }
        }
        L->vals[r->id] = res;
    }
    cg_bar(L);
    return true;
}

/* Where x is a product a * b (through register-aliasing reshapes and
 * permutes): operand j's register for each local element of x; else NULL.
 * Not for an operand that is a mutable var: an assignment between the
 * product and the sum would change its registers. */
static int *product_operands(CgLower *L, const Value *x, int j)
{
    const Value *v = x;
    while (v->def && !v->var &&
           (v->def->op == VM_RESHAPE || v->def->op == VM_PERMUTE || v->def->op == VM_TRANSPOSE))
        v = v->def->a[0];
    const Inst *m = v->def;
    CgTensor *xt = cg_val(L, x), *mt = cg_val(L, v);
    if (!m || v->var || m->op != VM_MUL || !xt || !mt || m->a[j]->dtype != x->dtype ||
        (m->a[j]->var && m->a[j]->var->mut))
        return NULL;
    int *o = cg_operand(L, m, m->a[j], v->layout, v->rank, v->shape);
    int *out = o ? vm_alloc(L->a, sizeof(int) * (size_t)(xt->n + 1)) : NULL;
    for (int l = 0; out && l < xt->n; l++) {
        out[l] = -1;
        for (int q = 0; q < mt->n && out[l] < 0; q++)
            if (mt->r[q] == xt->r[l])
                out[l] = o[q];
        if (out[l] < 0)
            out = NULL;
    }
    return out;
}

bool cg_lower_reduce(CgLower *L, const Inst *i)
{
    if (i->op == VM_ARGMAX || i->op == VM_CUMSUM || i->op == VM_TOPK)
        return serial(L, i);
    const Value *x = i->a[0], *r = i->res;
    CgTensor *xt = cg_val(L, x);
    if (!xt)
        return cg_fail(L, i, "%s: operand not lowered", vm_op_name(i->op));
    Dtype dt = x->dtype;
    Op op = fold_op(i->op);
    int dim = i->dim, rank = x->rank, n = xt->n;
    Layout lx = x->layout;
    /* 1. thread-local groups, in order of first appearance */
    int32_t *cst = vm_alloc(L->a, sizeof(int32_t) * (size_t)(n * rank + 1));
    LayAffine aff[LAY_MAX_DIMS];
    for (int l = 0; l < n; l++) {
        lay_symbolic_apply(lx, l, aff);
        for (int d = 0; d < rank; d++)
            cst[l * rank + d] = aff[d].constant;
    }
    lay_symbolic_apply(lx, 0, aff); /* the thread terms (the same for every l) */
    int *group = vm_alloc(L->a, sizeof(int) * (size_t)(n + 1));
    int *first = vm_alloc(L->a, sizeof(int) * (size_t)(n + 1));
    int ng = 0;
    for (int l = 0; l < n; l++) {
        group[l] = -1;
        for (int g = 0; g < ng && group[l] < 0; g++) {
            bool same = true;
            for (int d = 0; d < rank; d++)
                if (d != dim && cst[first[g] * rank + d] != cst[l * rank + d])
                    same = false;
            if (same)
                group[l] = g;
        }
        if (group[l] < 0) {
            first[ng] = l;
            group[l] = ng++;
        }
    }
    /* a float sum of products folds with fma (a * b + cur, one rounding
     * fewer, the same order): the products' operands in X's layout */
    int *fa = op == VM_ADD && (dt == VM_DT_F32 || dt == VM_DT_F64) ? product_operands(L, x, 0) : NULL;
    int *fb = fa ? product_operands(L, x, 1) : NULL;
    if (!fb)
        fa = NULL;
    TirType ft = dt == VM_DT_F64 ? TIR_F64 : TIR_F32;
    int *part = vm_alloc(L->a, sizeof(int) * (size_t)(ng + 1));
    for (int g = 0; g < ng; g++) {
        int cur = -1;
        int32_t last = INT32_MIN;
        for (;;) { /* ascending reduced coordinate */
            int best = -1;
            for (int l = 0; l < n; l++)
                if (group[l] == g && cst[l * rank + dim] > last &&
                    (best < 0 || cst[l * rank + dim] < cst[best * rank + dim]))
                    best = l;
            if (best < 0)
                break;
            last = cst[best * rank + dim];
            if (cur >= 0 && fa) {
                cur = cg_op3(L, TIR_OP_FMA, ft, cg_R(fa[best]), cg_R(fb[best]), cg_R(cur));
                continue;
            }
            cur = cur < 0 ? xt->r[best] : cg_binop(L, i, op, dt, cur, xt->r[best]);
            if (cur < 0)
                return false;
        }
        part[g] = cur;
    }
    /* 2. warp shuffles; collect the remaining modes */
    int T = lay_num_threads(lx);
    int32_t rdiv[LAY_MAX_TERMS], rsize[LAY_MAX_TERMS];
    int nrem = 0;
    int64_t R = 1;
    for (int k = 0; k < aff[dim].nterms; k++) {
        int32_t div = aff[dim].div[k];
        int32_t size = aff[dim].mod[k] ? aff[dim].mod[k] : T / div;
        int32_t s1 = 1; /* the part of the mode inside a warp */
        if (pow2(div) && pow2(size) && div < 32)
            s1 = size < 32 / div ? size : 32 / div;
        for (int m = div; m < div * s1; m *= 2)
            for (int g = 0; g < ng; g++) {
                int o = shfl(L, dt, part[g], m);
                part[g] = cg_binop(L, i, op, dt, part[g], o);
            }
        if (size / s1 > 1) {
            rdiv[nrem] = div * s1;
            rsize[nrem++] = size / s1;
            R *= size / s1;
        }
    }
    if (nrem == 0) {
        Layout red;
        if (lay_reduce(&red, lx, 1, &dim, i->keepdim) == LAY_OK &&
            lay_local_size(red) == ng) {
            int64_t mul[VM_MAX_DIMS];
            int64_t s = 1;
            for (int d = r->rank - 1; d >= 0; d--) {
                mul[d] = s;
                s *= r->shape[d];
            }
            int *regs = cg_remap_regs(L, part, dt, red, r->rank, r->shape, r->layout, mul, 0);
            L->vals[r->id] = (CgTensor){lay_local_size(r->layout), regs};
            return true;
        }
    }
    /* 3. shared memory: slot [out][rr] */
    int slot = cg_slot_bytes(dt);
    int64_t ost[VM_MAX_DIMS], s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        ost[d] = d == dim ? 0 : s;
        s *= d == dim ? 1 : x->shape[d];
    }
    int64_t base = cg_scratch(L, s * R * slot);
    CgCoords xc;
    cg_coords(L, lx, &xc);
    int rr = -1;
    int64_t inner = 1;
    for (int k = 0; k < nrem; k++) {
        int v = L->tid;
        if (rdiv[k] > 1)
            v = cg_op2(L, TIR_OP_DIV, TIR_U32, cg_R(v), cg_I(rdiv[k]));
        v = cg_op2(L, TIR_OP_REM, TIR_U32, cg_R(v), cg_I(rsize[k]));
        if (inner > 1)
            v = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(v), cg_I(inner));
        rr = rr < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(rr), cg_R(v));
        inner *= rsize[k];
    }
    if (rr < 0) {
        rr = cg_reg(L, TIR_U32, NULL);
        cg_mov(L, rr, cg_I(0));
    }
    for (int g = 0; g < ng; g++) {
        int l = first[g];
        int acc = -1;
        int64_t k = 0;
        for (int d = 0; d < rank; d++) {
            if (!ost[d])
                continue;
            k += (int64_t)cst[l * rank + d] * ost[d];
            if (xc.base[d] < 0)
                continue;
            int v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(xc.base[d]), cg_I(ost[d]));
            acc = acc < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(v));
        }
        int o;
        if (acc < 0) {
            o = cg_reg(L, TIR_U32, NULL);
            cg_mov(L, o, cg_I(0));
        } else
            o = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(acc));
        o = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(o), cg_I(R));
        o = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(o), cg_R(rr));
        o = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(o), cg_I(slot));
        cg_st_slot(L, dt, cg_R(o), base + k * R * slot, part[g], -1);
    }
    cg_bar(L);
    CgCoords rc;
    cg_coords(L, r->layout, &rc);
    CgTensor out = {rc.n, vm_alloc(L->a, sizeof(int) * (size_t)(rc.n ? rc.n : 1))};
    for (int l = 0; l < rc.n; l++) {
        int acc = -1;
        int64_t k = 0;
        for (int d = 0, q = 0; d < rank; d++) {
            if (d == dim && !i->keepdim)
                continue;
            int rd = q++;
            if (!ost[d])
                continue;
            k += (int64_t)rc.cst[l * rc.rank + rd] * ost[d];
            if (rc.base[rd] < 0)
                continue;
            int v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(rc.base[rd]), cg_I(ost[d]));
            acc = acc < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(v));
        }
        int o;
        if (acc < 0) {
            o = cg_reg(L, TIR_U32, NULL);
            cg_mov(L, o, cg_I(0));
        } else
            o = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(cg_bitcast(L, TIR_U32, TIR_S32, cg_R(acc))),
                       cg_I(R * slot));
        int v = -1;
        for (int64_t q = 0; q < R; q++) {
            int e = cg_ld_slot(L, dt, cg_R(o), base + (k * R + q) * slot);
            v = v < 0 ? e : cg_binop(L, i, op, dt, v, e);
            if (v < 0)
                return false;
        }
        out.r[l] = v;
    }
    cg_bar(L);
    L->vals[r->id] = out;
    return true;
}

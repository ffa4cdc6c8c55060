/* codegen/lower.c - the driver of VM IR -> TIR (CODEGEN.md 1): kernel set-up
 * (params, tid, shared plan), scalar expressions, control flow and
 * variables, per-thread coordinates of layouts, replica predicates and the
 * general layout conversion through shared memory. The instruction classes
 * are lowered in lower_mem.c, lower_arith.c, lower_conv.c, lower_reduce.c
 * and lower_misc.c.
 *
 * Input: a verified kernel whose every register layout is known. Output: a
 * TirKernel, or diagnostics naming each instruction the plain lowering does
 * not handle yet. Deliberate simplifications of the plain lowering:
 *   - one register per local element (no packing, no vector accesses);
 *   - scalar expressions are recomputed at each use (uniform over the block);
 *   - every layout conversion goes through a scratch area of shared memory
 *     placed above the program's shared allocations (barrier, store by the
 *     lowest replica, barrier, load, barrier);
 *   - linear element indices are 32-bit (tensors below 2^31 elements). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/lower.h"

#define BUG(msg)                                                                             \
    do {                                                                                     \
        fprintf(stderr, "%s:%d: lpvm internal error: %s\n", __FILE__, __LINE__, msg);       \
        abort();                                                                             \
    } while (0)

/* ---------------------------------------------------------------- emission */

TirOp *cg_emit(CgLower *L, TirOpcode op, TirType type)
{
    TirOp *o = tir_op_new(L->t, op, type);
    o->line = L->line;
    tir_append(L->cur, o);
    return o;
}

int cg_reg(CgLower *L, TirType t, const char *name) { return tir_reg(L->t, t, name); }
TirArg cg_R(int reg) { return tir_r(reg); }
TirArg cg_I(int64_t v) { return tir_imm((uint64_t)v); }

int cg_op(CgLower *L, TirOpcode op, TirType t, int na, const TirArg *a)
{
    TirType dt = t;
    if (op == TIR_OP_SETP)
        dt = TIR_PRED;
    else if (op == TIR_OP_CLZ || op == TIR_OP_POPC)
        dt = TIR_U32;
    int d = cg_reg(L, dt, NULL);
    TirOp *o = cg_emit(L, op, t);
    o->nd = 1;
    o->d[0] = d;
    o->na = na;
    for (int j = 0; j < na; j++)
        o->a[j] = a[j];
    return d;
}

int cg_op1(CgLower *L, TirOpcode op, TirType t, TirArg a) { return cg_op(L, op, t, 1, &a); }
int cg_op2(CgLower *L, TirOpcode op, TirType t, TirArg a, TirArg b)
{
    TirArg v[2] = {a, b};
    return cg_op(L, op, t, 2, v);
}
int cg_op3(CgLower *L, TirOpcode op, TirType t, TirArg a, TirArg b, TirArg c)
{
    TirArg v[3] = {a, b, c};
    return cg_op(L, op, t, 3, v);
}

void cg_mov(CgLower *L, int dst, TirArg src)
{
    TirOp *o = cg_emit(L, TIR_OP_MOV, L->t->regs[dst].type);
    o->nd = 1;
    o->d[0] = dst;
    o->na = 1;
    o->a[0] = src;
}

int cg_setp(CgLower *L, TirCmp c, TirType t, TirArg a, TirArg b)
{
    int d = cg_op2(L, TIR_OP_SETP, t, a, b);
    L->cur->last->mod = c;
    return d;
}

int cg_selp(CgLower *L, TirType t, TirArg a, TirArg b, int pred)
{
    if (t == TIR_PRED) { /* no selp.pred in PTX: (a & p) | (b & !p) */
        int np = cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(pred));
        int x = cg_op2(L, TIR_OP_AND, TIR_PRED, a, cg_R(pred));
        int y = cg_op2(L, TIR_OP_AND, TIR_PRED, b, cg_R(np));
        return cg_op2(L, TIR_OP_OR, TIR_PRED, cg_R(x), cg_R(y));
    }
    return cg_op3(L, TIR_OP_SELP, t, a, b, cg_R(pred));
}

int cg_cvt(CgLower *L, TirType to, TirType from, TirRnd rnd, bool sat, TirArg a)
{
    int d = cg_op1(L, TIR_OP_CVT, to, a);
    TirOp *o = L->cur->last;
    o->type2 = from;
    o->mod = rnd;
    o->imm = sat;
    return d;
}

int cg_bitcast(CgLower *L, TirType to, TirType from, TirArg a)
{
    int d = cg_op1(L, TIR_OP_BITCAST, to, a);
    L->cur->last->type2 = from;
    return d;
}

int cg_pand(CgLower *L, int p, int q)
{
    if (p < 0)
        return q;
    if (q < 0)
        return p;
    return cg_op2(L, TIR_OP_AND, TIR_PRED, cg_R(p), cg_R(q));
}

void cg_enter(CgLower *L, TirBlock *b, TirBlock **saved)
{
    if (saved)
        *saved = L->cur;
    L->cur = b;
}

TirOp *cg_if(CgLower *L, int pred, bool neg)
{
    int p = pred;
    if (neg)
        p = cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(pred));
    TirOp *o = cg_emit(L, TIR_OP_IF, TIR_PRED);
    o->na = 1;
    o->a[0] = cg_R(p);
    return o;
}

void cg_bar(CgLower *L) { cg_emit(L, TIR_OP_BAR, TIR_B32); }

bool cg_fail(CgLower *L, const Inst *i, const char *fmt, ...)
{
    /* an operand left unlowered by an earlier failure: already reported */
    if (L->failed && strstr(fmt, "not lowered"))
        return false;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vm_diag(L->d, i ? i->loc : L->k->loc, "codegen: %s", buf);
    L->failed = true;
    return false;
}

TirType cg_elem_type(Dtype dt)
{
    switch (dt) {
    case VM_DT_BOOL:
        return TIR_PRED;
    case VM_DT_F16:
        return TIR_F16;
    case VM_DT_BF16:
        return TIR_BF16;
    case VM_DT_F32:
        return TIR_F32;
    case VM_DT_F64:
        return TIR_F64;
    case VM_DT_I64:
        return TIR_S64;
    case VM_DT_U64:
        return TIR_U64;
    default:
        return vm_dtype_is_float(dt) || !vm_dtype_is_signed(dt) ? TIR_U32 : TIR_S32;
    }
}

CgTensor cg_new_tensor(CgLower *L, int n, Dtype dt, const char *name)
{
    CgTensor t = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    for (int j = 0; j < n; j++)
        t.r[j] = cg_reg(L, cg_elem_type(dt), name);
    return t;
}

CgTensor *cg_val(CgLower *L, const Value *v)
{
    if (!v || v->kind != VM_REG || v->id < 0 || v->id >= L->k->nvalues)
        return NULL;
    CgTensor *t = &L->vals[v->id];
    return t->n ? t : NULL;
}

/* ---------------------------------------------------------------- scalar expressions */

static Op sop_to_op(ScalarOp s)
{
    switch (s) {
    case VM_S_ADD: return VM_ADD;
    case VM_S_SUB: return VM_SUB;
    case VM_S_MUL: return VM_MUL;
    case VM_S_DIV: return VM_DIV;
    case VM_S_REM: return VM_REM;
    case VM_S_MIN: return VM_MIN;
    case VM_S_MAX: return VM_MAX;
    case VM_S_AND: case VM_S_LAND: return VM_AND;
    case VM_S_OR: case VM_S_LOR: return VM_OR;
    case VM_S_XOR: return VM_XOR;
    case VM_S_SHL: return VM_SHL;
    case VM_S_SHR: return VM_SHR;
    case VM_S_EQ: return VM_EQ;
    case VM_S_NE: return VM_NE;
    case VM_S_LT: return VM_LT;
    case VM_S_LE: return VM_LE;
    case VM_S_GT: return VM_GT;
    case VM_S_GE: return VM_GE;
    default: return VM_NOPS;
    }
}

static int sreg(CgLower *L, TirSreg s)
{
    int d = cg_reg(L, TIR_U32, s == TIR_SR_TID_X ? "tid" : "sreg");
    TirOp *o = cg_emit(L, TIR_OP_SREG, TIR_U32);
    o->nd = 1;
    o->d[0] = d;
    o->mod = s;
    return d;
}

int cg_expr(CgLower *L, const Expr *e)
{
    TirType t = cg_elem_type(e->dtype);
    switch (e->kind) {
    case VM_E_INT:
    case VM_E_BOOL: {
        int d = cg_reg(L, t, NULL);
        cg_mov(L, d, cg_I(e->ival));
        return d;
    }
    case VM_E_FLOAT: {
        int d = cg_reg(L, TIR_F32, NULL);
        cg_mov(L, d, tir_immf(e->fval, TIR_F32));
        return d;
    }
    case VM_E_PARAM:
        return L->param_reg[e->param->index];
    case VM_E_BID:
    case VM_E_GDIM: {
        int s = sreg(L, (TirSreg)((e->kind == VM_E_BID ? TIR_SR_CTAID_X : TIR_SR_NCTAID_X) +
                                  e->axis));
        int r = cg_bitcast(L, TIR_S32, TIR_U32, cg_R(s));
        return e->dtype == VM_DT_I64 ? cg_cvt(L, TIR_S64, TIR_S32, TIR_RND_NONE, false, cg_R(r))
                                     : r;
    }
    case VM_E_VAR:
        return L->svar[e->var->id];
    case VM_E_SELECT: {
        int c = cg_expr(L, e->a), a = cg_expr(L, e->b), b = cg_expr(L, e->c);
        return cg_selp(L, t, cg_R(a), cg_R(b), c);
    }
    case VM_E_CAST:
        return cg_cast(L, e->dtype, e->a->dtype, cg_expr(L, e->a));
    case VM_E_UNARY: {
        int a = cg_expr(L, e->a);
        if (e->sop == VM_S_LNOT)
            return cg_op1(L, TIR_OP_NOT, TIR_PRED, cg_R(a));
        return cg_unop(L, NULL, e->sop == VM_S_NEG ? VM_NEG : VM_NOT, e->a->dtype, a);
    }
    case VM_E_BINARY: {
        int a = cg_expr(L, e->a), b = cg_expr(L, e->b);
        Dtype dt = e->a->dtype;
        if (e->sop == VM_S_CDIV) {
            /* ceil(a / b): q + (r != 0 && (r ^ b) >= 0) */
            TirType it = cg_elem_type(dt);
            int q = cg_binop(L, NULL, VM_DIV, dt, a, b);
            int r = cg_binop(L, NULL, VM_REM, dt, a, b);
            int nz = cg_setp(L, TIR_CMP_NE, it, cg_R(r), cg_I(0));
            int x = cg_op2(L, TIR_OP_XOR, it, cg_R(r), cg_R(b));
            int same = cg_setp(L, TIR_CMP_GE, it, cg_R(x), cg_I(0));
            int up = cg_pand(L, nz, same);
            int one = cg_selp(L, it, cg_I(1), cg_I(0), up);
            return cg_op2(L, TIR_OP_ADD, it, cg_R(q), cg_R(one));
        }
        Op op = sop_to_op(e->sop);
        if (op == VM_NOPS)
            BUG("unknown scalar operator");
        return cg_binop(L, NULL, op, dt, a, b);
    }
    }
    BUG("unknown expression kind");
}

int cg_expr_s32(CgLower *L, const Expr *e)
{
    int r = cg_expr(L, e);
    TirType t = L->t->regs[r].type;
    if (t == TIR_S32)
        return r;
    if (t == TIR_S64 || t == TIR_U64)
        return cg_cvt(L, TIR_S32, t, TIR_RND_NONE, false, cg_R(r));
    if (t == TIR_U32)
        return cg_bitcast(L, TIR_S32, TIR_U32, cg_R(r));
    return cg_cast(L, VM_DT_I32, e->dtype, r);
}

/* ---------------------------------------------------------------- coordinates */

static bool pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }
static int log2i(int64_t x)
{
    int n = 0;
    while ((1ll << n) < x)
        n++;
    return n;
}

/* (t / div) % mod as u32 (mod 0: none) */
static int tdivmod(CgLower *L, int32_t div, int32_t mod)
{
    int v = L->tid;
    if (div > 1)
        v = pow2(div) ? cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(v), cg_I(log2i(div)))
                      : cg_op2(L, TIR_OP_DIV, TIR_U32, cg_R(v), cg_I(div));
    if (mod > 0 && (int64_t)div * mod < L->nthreads)
        v = pow2(mod) ? cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(v), cg_I(mod - 1))
                      : cg_op2(L, TIR_OP_REM, TIR_U32, cg_R(v), cg_I(mod));
    return v;
}

void cg_coords(CgLower *L, Layout lay, CgCoords *c)
{
    int n = lay_local_size(lay);
    c->rank = lay.rank;
    c->n = n;
    c->cst = vm_alloc(L->a, sizeof(int32_t) * (size_t)(n * (lay.rank ? lay.rank : 1)));
    LayAffine aff[LAY_MAX_DIMS];
    for (int l = 0; l < n; l++) {
        lay_symbolic_apply(lay, l, aff);
        for (int d = 0; d < lay.rank; d++)
            c->cst[l * lay.rank + d] = aff[d].constant;
    }
    if (n == 0)
        lay_symbolic_apply(lay, 0, aff);
    for (int d = 0; d < lay.rank; d++) {
        int acc = -1;
        for (int k = 0; k < aff[d].nterms; k++) {
            int v = tdivmod(L, aff[d].div[k], aff[d].mod[k]);
            int32_t mul = aff[d].mul[k];
            if (mul != 1)
                v = pow2(mul) ? cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(v), cg_I(log2i(mul)))
                              : cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(v), cg_I(mul));
            acc = acc < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(acc), cg_R(v));
        }
        c->base[d] = acc < 0 ? -1 : cg_bitcast(L, TIR_S32, TIR_U32, cg_R(acc));
    }
}

int cg_coord(CgLower *L, const CgCoords *c, int l, int d)
{
    int32_t k = c->cst[l * c->rank + d];
    if (c->base[d] < 0) {
        int r = cg_reg(L, TIR_S32, NULL);
        cg_mov(L, r, cg_I(k));
        return r;
    }
    if (k == 0)
        return c->base[d];
    return cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(c->base[d]), cg_I(k));
}

int cg_replica_pred(CgLower *L, Layout lay)
{
    int p = -1;
    int64_t inner = 1;
    for (int k = lay.nspatial - 1; k >= 0; k--) {
        int32_t e = lay.spatial[k];
        int64_t s = e < 0 ? -(int64_t)e : lay.mode_size[e];
        if (e < 0 && s > 1) {
            int v = tdivmod(L, (int32_t)inner, (int32_t)s);
            int q = cg_setp(L, TIR_CMP_EQ, TIR_U32, cg_R(v), cg_I(0));
            p = cg_pand(L, p, q);
        }
        inner *= s;
    }
    return p;
}

/* ---------------------------------------------------------------- shared scratch */

int64_t cg_scratch(CgLower *L, int64_t bytes)
{
    if (bytes > L->scratch)
        L->scratch = bytes;
    return (L->plan.size + 15) & ~(int64_t)15;
}

int cg_slot_bytes(Dtype dt)
{
    TirType t = cg_elem_type(dt);
    return t == TIR_PRED ? 1 : tir_type_bits(t) / 8;
}

void cg_st_slot(CgLower *L, Dtype dt, TirArg addr, int64_t off, int reg, int guard)
{
    TirType t = cg_elem_type(dt), mt = t;
    int v = reg;
    if (t == TIR_PRED) {
        v = cg_selp(L, TIR_U32, cg_I(1), cg_I(0), reg);
        t = TIR_U32;
        mt = TIR_U8;
    } else if (t == TIR_F16 || t == TIR_BF16)
        mt = TIR_B16;
    TirOp *o = cg_emit(L, TIR_OP_ST, t);
    o->type2 = mt;
    o->space = TIR_SPACE_SHARED;
    o->width = tir_type_bits(mt) / 8;
    o->off = off;
    o->na = 2;
    o->a[0] = addr;
    o->a[1] = cg_R(v);
    o->guard = guard;
}

int cg_ld_slot(CgLower *L, Dtype dt, TirArg addr, int64_t off)
{
    TirType t = cg_elem_type(dt), rt = t == TIR_PRED ? TIR_U32 : t;
    TirType mt = t == TIR_PRED ? TIR_U8 : (t == TIR_F16 || t == TIR_BF16) ? TIR_B16 : t;
    int d = cg_reg(L, rt, NULL);
    TirOp *o = cg_emit(L, TIR_OP_LD, rt);
    o->type2 = mt;
    o->space = TIR_SPACE_SHARED;
    o->width = tir_type_bits(mt) / 8;
    o->off = off;
    o->na = 1;
    o->a[0] = addr;
    o->nd = 1;
    o->d[0] = d;
    if (t == TIR_PRED)
        return cg_setp(L, TIR_CMP_NE, TIR_U32, cg_R(d), cg_I(0));
    return d;
}

/* sum_d c_d * mul[d] (+ off) * slot as a u32 byte address in the scratch */
static int scratch_addr(CgLower *L, const CgCoords *c, int l, const int64_t *mul, int64_t off,
                        int slot)
{
    int acc = -1;
    int64_t k = off;
    for (int d = 0; d < c->rank; d++) {
        if (!mul[d])
            continue;
        k += (int64_t)c->cst[l * c->rank + d] * mul[d];
        if (c->base[d] < 0)
            continue;
        int v = mul[d] == 1 ? c->base[d]
                            : cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(c->base[d]), cg_I(mul[d]));
        acc = acc < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(v));
    }
    int r;
    if (acc < 0) {
        r = cg_reg(L, TIR_U32, "saddr");
        cg_mov(L, r, cg_I(k * slot));
        return r;
    }
    if (k)
        acc = cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_I(k));
    r = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(acc));
    if (slot > 1)
        r = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(r), cg_I(slot));
    return r;
}

void cg_scratch_store(CgLower *L, Dtype dt, const int *src, Layout from, const int64_t *mul,
                      int64_t off, int64_t base)
{
    int slot = cg_slot_bytes(dt);
    CgCoords fc;
    cg_coords(L, from, &fc);
    int rep = cg_replica_pred(L, from);
    for (int l = 0; l < fc.n; l++) {
        int a = scratch_addr(L, &fc, l, mul, off, slot);
        cg_st_slot(L, dt, cg_R(a), base, src[l], rep);
    }
}

int *cg_scratch_load(CgLower *L, Dtype dt, Layout to, const int64_t *mul, int64_t off,
                     int64_t base)
{
    return cg_scratch_load_at(L, dt, to, mul, off, -1, base);
}

int *cg_scratch_load_at(CgLower *L, Dtype dt, Layout to, const int64_t *mul, int64_t off,
                        int off_reg, int64_t base)
{
    int slot = cg_slot_bytes(dt);
    CgCoords tc;
    cg_coords(L, to, &tc);
    int *out = vm_alloc(L->a, sizeof(int) * (size_t)(tc.n ? tc.n : 1));
    int extra = -1;
    if (off_reg >= 0) {
        extra = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(off_reg));
        extra = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(extra), cg_I(slot));
    }
    for (int l = 0; l < tc.n; l++) {
        int a = scratch_addr(L, &tc, l, mul, off, slot);
        if (extra >= 0)
            a = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(a), cg_R(extra));
        out[l] = cg_ld_slot(L, dt, cg_R(a), base);
    }
    return out;
}

int *cg_through_shared(CgLower *L, Dtype dt, const int *src, Layout from, int srank,
                       const int32_t *sshape, Layout to, const int64_t *smul, int64_t soff)
{
    int64_t numel = vm_shape_numel(srank, sshape);
    int64_t base = cg_scratch(L, numel * cg_slot_bytes(dt));
    int64_t rm[VM_MAX_DIMS];
    int64_t s = 1;
    for (int d = srank - 1; d >= 0; d--) {
        rm[d] = s;
        s *= sshape[d];
    }
    cg_scratch_store(L, dt, src, from, rm, 0, base);
    cg_bar(L);
    int *out = cg_scratch_load(L, dt, to, smul, soff, base);
    cg_bar(L);
    return out;
}

/* ---------------------------------------------------------------- operands */

/* For each target element l, the local index of x holding its source in the
 * same thread for every thread, or false. The source of target index r is
 * x's row-major element soff + sum_d r_d * smul[d]. */
static bool direct_map(Layout to, Layout from, int xr, const int32_t *xshape,
                       const int64_t *smul, int64_t soff, int *lmap)
{
    int n = lay_local_size(to), T = lay_num_threads(to);
    if (xr == 0) {
        if (lay_local_size(from) != 1)
            return false;
        for (int l = 0; l < n; l++)
            lmap[l] = 0;
        return true;
    }
    if (lay_num_threads(from) != T)
        return false;
    int32_t ridx[VM_MAX_DIMS], sidx[VM_MAX_DIMS];
    int cap = T * 4 + 4;
    int *ot = malloc(sizeof(int) * (size_t)cap * 2);
    if (!ot)
        BUG("out of memory");
    int *ol = ot + cap;
    bool ok = true;
    for (int l = 0; l < n && ok; l++) {
        lmap[l] = -1;
        for (int t = 0; t < T && ok; t++) {
            lay_apply(to, t, l, ridx);
            int64_t lin = soff;
            for (int d = 0; d < to.rank; d++)
                lin += ridx[d] * smul[d];
            for (int j = xr - 1; j >= 0; j--) {
                sidx[j] = (int32_t)(lin % xshape[j]);
                lin /= xshape[j];
            }
            int no = lay_owners(from, sidx, ot, ol, cap);
            int found = -1;
            for (int q = 0; q < no && q < cap; q++)
                if (ot[q] == t) {
                    found = ol[q];
                    break;
                }
            if (found < 0 || (lmap[l] >= 0 && lmap[l] != found))
                ok = false;
            lmap[l] = found;
        }
    }
    free(ot);
    return ok;
}

int *cg_remap_regs(CgLower *L, const int *src, Dtype dt, Layout from, int srank,
                   const int32_t *sshape, Layout to, const int64_t *smul, int64_t soff)
{
    int n = lay_local_size(to);
    int *lmap = vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1));
    if (direct_map(to, from, srank, sshape, smul, soff, lmap)) {
        for (int l = 0; l < n; l++)
            lmap[l] = src[lmap[l]];
        return lmap;
    }
    return cg_through_shared(L, dt, src, from, srank, sshape, to, smul, soff);
}

int *cg_remap(CgLower *L, const Inst *i, const Value *x, Layout to, const int64_t *smul,
              int64_t soff)
{
    CgTensor *xt = cg_val(L, x);
    if (!xt) {
        cg_fail(L, i, "%s: operand %s was not lowered", i ? vm_op_name(i->op) : "?",
                vm_value_label(L->a, x));
        return NULL;
    }
    return cg_remap_regs(L, xt->r, x->dtype, x->layout, x->rank, x->shape, to, smul, soff);
}

int *cg_operand(CgLower *L, const Inst *i, const Value *x, Layout lay, int rank,
                const int32_t *shape)
{
    (void)shape;
    int64_t mul[VM_MAX_DIMS] = {0}, s = 1;
    int off = rank - x->rank;
    for (int j = x->rank - 1; j >= 0; j--) {
        mul[j + off] = x->shape[j] == 1 ? 0 : s;
        s *= x->shape[j];
    }
    return cg_remap(L, i, x, lay, mul, 0);
}

/* ---------------------------------------------------------------- control flow, vars */

static bool lower_inst(CgLower *L, const Inst *i);

bool cg_block(CgLower *L, const Block *b)
{
    bool ok = true;
    for (const Inst *i = b->first; i; i = i->next)
        ok = lower_inst(L, i) && ok;
    return ok;
}

static void note(CgLower *L, const Inst *i)
{
    L->line = i->loc.line;
    TirOp *o = cg_emit(L, TIR_OP_NOTE, TIR_B32);
    const char *res = i->res ? vm_value_label(L->a, i->res) : i->var ? i->var->name : NULL;
    o->str = res ? vm_sprintf(L->a, "%s = %s", res, vm_op_name(i->op))
                 : vm_sprintf(L->a, "%s", vm_op_name(i->op));
}

static bool lower_var(CgLower *L, const Inst *i)
{
    Var *v = i->var;
    if (v->scalar) {
        int x = cg_expr(L, i->e[0]);
        if (i->e[0]->dtype != v->dtype)
            x = cg_cast(L, v->dtype, i->e[0]->dtype, x);
        if (i->op == VM_VAR_DEF)
            L->svar[v->id] = cg_reg(L, cg_elem_type(v->dtype), v->name);
        cg_mov(L, L->svar[v->id], cg_R(x));
        return true;
    }
    Value *vv = v->val;
    if (i->op == VM_VAR_DEF)
        L->vals[vv->id] = cg_new_tensor(L, lay_local_size(vv->layout), vv->dtype, v->name);
    CgTensor *t = &L->vals[vv->id];
    int *src = cg_operand(L, i, i->a[0], vv->layout, vv->rank, vv->shape);
    if (!src)
        return false;
    for (int l = 0; l < t->n; l++)
        cg_mov(L, t->r[l], cg_R(src[l]));
    return true;
}

static bool lower_ctrl(CgLower *L, const Inst *i)
{
    TirBlock *saved;
    switch (i->op) {
    case VM_IF: {
        int c = cg_expr(L, i->e[0]);
        TirOp *o = cg_if(L, c, false);
        cg_enter(L, &o->body, &saved);
        bool ok = cg_block(L, &i->body);
        L->cur = &o->orelse;
        ok = cg_block(L, &i->orelse) && ok;
        L->cur = saved;
        return ok;
    }
    case VM_WHILE: {
        TirOp *o = cg_emit(L, TIR_OP_LOOP, TIR_B32);
        cg_enter(L, &o->body, &saved);
        int c = cg_expr(L, i->e[0]);
        TirOp *f = cg_if(L, c, true);
        TirBlock *s2;
        cg_enter(L, &f->body, &s2);
        cg_emit(L, TIR_OP_BREAK, TIR_B32);
        L->cur = s2;
        bool ok = cg_block(L, &i->body);
        L->cur = saved;
        return ok;
    }
    case VM_FOR: {
        Var *v = i->var;
        TirType t = cg_elem_type(v->dtype);
        int var = cg_reg(L, t, v->name);
        L->svar[v->id] = var;
        int start = cg_expr(L, i->e[0]), end = cg_reg(L, t, "end"), step = cg_reg(L, t, "step");
        cg_mov(L, var, cg_R(start));
        cg_mov(L, end, cg_R(cg_expr(L, i->e[1])));
        cg_mov(L, step, cg_R(cg_expr(L, i->e[2])));
        int64_t sc = 0;
        bool konst = vm_e_const_int(i->e[2], &sc);
        TirOp *o = cg_emit(L, TIR_OP_LOOP, TIR_B32);
        cg_enter(L, &o->body, &saved);
        int go;
        if (konst)
            go = cg_setp(L, sc > 0 ? TIR_CMP_LT : TIR_CMP_GT, t, cg_R(var), cg_R(end));
        else {
            int up = cg_setp(L, TIR_CMP_GT, t, cg_R(step), cg_I(0));
            int lt = cg_setp(L, TIR_CMP_LT, t, cg_R(var), cg_R(end));
            int gt = cg_setp(L, TIR_CMP_GT, t, cg_R(var), cg_R(end));
            go = cg_selp(L, TIR_PRED, cg_R(lt), cg_R(gt), up);
        }
        TirOp *f = cg_if(L, go, true);
        TirBlock *s2;
        cg_enter(L, &f->body, &s2);
        cg_emit(L, TIR_OP_BREAK, TIR_B32);
        L->cur = s2;
        bool ok = cg_block(L, &i->body);
        L->cur = &o->orelse;
        int nx = cg_op2(L, TIR_OP_ADD, t, cg_R(var), cg_R(step));
        cg_mov(L, var, cg_R(nx));
        L->cur = saved;
        return ok;
    }
    case VM_BREAK:
        cg_emit(L, TIR_OP_BREAK, TIR_B32);
        return true;
    case VM_CONTINUE:
        cg_emit(L, TIR_OP_CONTINUE, TIR_B32);
        return true;
    case VM_EXIT:
        cg_emit(L, TIR_OP_RET, TIR_B32);
        return true;
    default:
        return cg_fail(L, i, "%s is not a control instruction", vm_op_name(i->op));
    }
}

/* Registers made for i's result get the result's source name. */
static void name_result(CgLower *L, const Inst *i, int first_reg)
{
    const Value *r = i->res;
    CgTensor *t = r ? cg_val(L, r) : NULL;
    if (!t || !r->name)
        return;
    for (int l = 0; l < t->n; l++)
        if (t->r[l] >= first_reg && !L->t->regs[t->r[l]].name)
            L->t->regs[t->r[l]].name = r->name;
}

static bool dispatch(CgLower *L, const Inst *i);

static bool lower_inst(CgLower *L, const Inst *i)
{
    note(L, i);
    int first = L->t->nregs;
    bool ok = dispatch(L, i);
    if (ok)
        name_result(L, i, first);
    return ok;
}

static bool dispatch(CgLower *L, const Inst *i)
{
    switch (vm_ops[i->op].cls) {
    case VM_C_MEM:
    case VM_C_ALLOC:
        return cg_lower_mem(L, i);
    case VM_C_ASYNC:
        if (i->op == VM_SYNC) {
            cg_bar(L);
            return true;
        }
        return cg_lower_mem(L, i); /* commit, wait: cp.async groups */
    case VM_C_VIEW:
    case VM_C_UNARY:
    case VM_C_BINARY:
    case VM_C_CMP:
    case VM_C_TERNARY:
    case VM_C_DOT:
    case VM_C_SHAPE:
    case VM_C_CONST:
        return cg_lower_arith(L, i);
    case VM_C_REDUCE:
        return cg_lower_reduce(L, i);
    case VM_C_ATOMIC:
    case VM_C_DEBUG:
        return cg_lower_misc(L, i);
    case VM_C_VAR:
        return lower_var(L, i);
    case VM_C_CTRL:
        return lower_ctrl(L, i);
    }
    return cg_fail(L, i, "unknown instruction class");
}

/* ---------------------------------------------------------------- the entry point */

static TirType param_type(Dtype dt)
{
    return dt == VM_DT_I64 ? TIR_S64 : dt == VM_DT_F32 ? TIR_F32 : TIR_S32;
}

CgStatus cg_lower(Kernel *k, const CgOptions *opt, VmArena *a, TirKernel **out, VmDiags *d)
{
    *out = NULL;
    CgLower L = {0};
    L.a = a;
    L.k = k;
    L.d = d;
    if (opt)
        L.opt = *opt;
    if (!L.opt.sm)
        L.opt.sm = 80;
    L.nthreads = 32 * k->warps;
    L.t = tir_kernel_new(a, k->name, k->warps);
    L.t->file = k->loc.file;
    L.cur = &L.t->body;
    L.vals = vm_alloc(a, sizeof *L.vals * (size_t)(k->nvalues + 1));
    L.svar = vm_alloc(a, sizeof(int) * (size_t)(k->nvars + 1));
    L.gbase = vm_alloc(a, sizeof(int) * (size_t)(k->nvalues + 1));
    for (int j = 0; j < k->nvalues; j++)
        L.gbase[j] = -1;
    L.param_reg = vm_alloc(a, sizeof(int) * (size_t)(k->nparams + 1));
    VmDiags pd;
    vm_diags_init(&pd, a);
    if (!vm_shared_plan(k, a, &L.plan, &pd)) {
        for (int j = 0; j < pd.n; j++)
            vm_diag(d, pd.v[j].loc, "%s", pd.v[j].msg);
        return CG_ERR_INPUT;
    }
    int cap = k->nparams + 8;
    L.t->params = vm_alloc(a, sizeof *L.t->params * (size_t)cap);
    for (int j = 0; j < k->nparams; j++) {
        Param *p = k->params[j];
        TirParam *tp = &L.t->params[L.t->nparams++];
        tp->name = p->name;
        tp->kind = p->kind == VM_P_TENSOR ? TIR_P_PTR : TIR_P_SCALAR;
        tp->type = p->kind == VM_P_TENSOR ? TIR_U64 : param_type(p->dtype);
        tp->dtype = p->dtype;
        tp->reg = cg_reg(&L, tp->type, p->name);
        L.param_reg[j] = tp->reg;
        if (p->kind == VM_P_TENSOR && p->value)
            L.gbase[p->value->id] = tp->reg;
    }
    L.tid = sreg(&L, TIR_SR_TID_X);
    cg_block(&L, &k->body);
    L.t->shared_bytes = L.scratch ? cg_scratch(&L, 0) + ((L.scratch + 15) & ~(int64_t)15)
                                  : (L.plan.size + 15) & ~(int64_t)15;
    if (L.failed)
        return CG_ERR_UNSUPPORTED;
    tir_fold_xor(L.t);
    tir_pack_pairs(L.t);
    *out = L.t;
    return CG_OK;
}

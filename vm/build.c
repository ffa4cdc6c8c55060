/* vm/build.c - the builder: the one way IR is made (by the language front
 * end, host programs and tests).
 *
 * Instructions are appended to the innermost open block with the location
 * set by vm_set_loc. Builders never fail on user mistakes: each result gets
 * a best-effort type (dtype and shape) from its operands and the verifier
 * (verify.c) reports what is wrong, with the instruction's location. Misuse
 * of the structured API itself (vm_b_else without an open if, vm_b_end with
 * nothing open) is a bug of the caller and aborts with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

#define BUG(msg)                                                             \
    do {                                                                     \
        fprintf(stderr, "%s:%d: lpvm internal error: %s\n", __FILE__, __LINE__, msg); \
        abort();                                                             \
    } while (0)

#define PUSH(k, arr, n, cap, x)                                              \
    do {                                                                     \
        (arr) = vm_grow((k)->prog->arena, (arr), (n), &(cap), sizeof *(arr)); \
        (arr)[(n)++] = (x);                                                  \
    } while (0)

static VmArena *arena(Kernel *k) {
    return k->prog->arena;
}

Prog *vm_prog_new(VmArena *a) {
    Prog *p = vm_alloc(a, sizeof *p);
    p->arena = a;
    return p;
}

Kernel *vm_kernel_new(Prog *p, const char *name, VmLoc loc) {
    Kernel *k = vm_alloc(p->arena, sizeof *k);
    k->name = vm_strdup(p->arena, name);
    k->loc = loc;
    k->cur_loc = loc;
    k->prog = p;
    k->warps = 1;
    p->kernels = vm_grow(p->arena, p->kernels, p->nkernels, &p->cap_kernels, sizeof *p->kernels);
    p->kernels[p->nkernels++] = k;
    k->ngrid = 1;
    k->grid[0] = vm_e_i32(k, 1);
    return k;
}

Kernel *vm_prog_find(Prog *p, const char *name) {
    for (int i = 0; i < p->nkernels; i++)
        if (!strcmp(p->kernels[i]->name, name))
            return p->kernels[i];
    return NULL;
}

void vm_set_loc(Kernel *k, VmLoc loc) {
    k->cur_loc = loc;
}

void vm_set_grid(Kernel *k, int n, Expr *const *grid) {
    k->ngrid = n < 0 ? 0 : n > 3 ? 3 : n;
    for (int i = 0; i < 3; i++)
        k->grid[i] = i < k->ngrid ? grid[i] : NULL;
}

void vm_set_warps(Kernel *k, int warps) {
    k->warps = warps;
}

/* ---------------------------------------------------------------- params */

static Param *add_param(Kernel *k, const char *name, ParamKind kind, Dtype dt) {
    Param *p = vm_alloc(arena(k), sizeof *p);
    p->name = vm_strdup(arena(k), name);
    p->kind = kind;
    p->dtype = dt;
    p->loc = k->cur_loc;
    p->index = k->nparams;
    PUSH(k, k->params, k->nparams, k->cap_params, p);
    return p;
}

Param *vm_param_find(Kernel *k, const char *name) {
    for (int i = 0; i < k->nparams; i++)
        if (!strcmp(k->params[i]->name, name))
            return k->params[i];
    return NULL;
}

Param *vm_param_scalar(Kernel *k, const char *name, Dtype dt) {
    return add_param(k, name, VM_P_SCALAR, dt);
}

Param *vm_param_dim(Kernel *k, const char *name) {
    Param *p = vm_param_find(k, name);
    if (p && p->implicit)
        return p;
    p = add_param(k, name, VM_P_SCALAR, VM_DT_I32);
    p->implicit = true;
    return p;
}

static Value *new_value(Kernel *k, ValueKind kind, Dtype dt, int rank, const int32_t *shape) {
    Value *v = vm_alloc(arena(k), sizeof *v);
    v->id = k->nvalues;
    v->kind = kind;
    v->dtype = dt;
    v->rank = rank < 0 ? 0 : rank > VM_MAX_DIMS ? VM_MAX_DIMS : rank;
    if (shape)
        memcpy(v->shape, shape, sizeof(int32_t) * (size_t)v->rank);
    v->loc = k->cur_loc;
    PUSH(k, k->values, k->nvalues, k->cap_values, v);
    return v;
}

static Expr **copy_exprs(Kernel *k, int n, Expr *const *src) {
    if (n <= 0 || !src)
        return NULL;
    Expr **e = vm_alloc(arena(k), sizeof *e * (size_t)n);
    memcpy(e, src, sizeof *e * (size_t)n);
    return e;
}

Param *vm_param_tensor(Kernel *k, const char *name, Dtype dt, int rank, Expr *const *shape) {
    Param *p = add_param(k, name, VM_P_TENSOR, dt);
    Value *v = new_value(k, VM_GLOBAL, dt, rank, NULL);
    p->rank = v->rank;
    p->shape = copy_exprs(k, v->rank, shape);
    v->gshape = p->shape;
    v->param = p;
    v->name = p->name;
    p->value = v;
    return p;
}

/* ---------------------------------------------------------------- expressions */

static Expr *new_expr(Kernel *k, ExprKind kind, Dtype dt) {
    Expr *e = vm_alloc(arena(k), sizeof *e);
    e->kind = kind;
    e->dtype = dt;
    e->loc = k->cur_loc;
    return e;
}

Expr *vm_e_int(Kernel *k, Dtype dt, int64_t v) {
    Expr *e = new_expr(k, VM_E_INT, dt);
    e->ival = dt == VM_DT_I32 ? (int64_t)(int32_t)(uint32_t)(uint64_t)v : v;
    return e;
}

Expr *vm_e_i32(Kernel *k, int64_t v) {
    return vm_e_int(k, VM_DT_I32, v);
}

Expr *vm_e_i64(Kernel *k, int64_t v) {
    return vm_e_int(k, VM_DT_I64, v);
}

Expr *vm_e_f32(Kernel *k, double v) {
    Expr *e = new_expr(k, VM_E_FLOAT, VM_DT_F32);
    e->fval = v;
    return e;
}

Expr *vm_e_bool(Kernel *k, bool v) {
    Expr *e = new_expr(k, VM_E_BOOL, VM_DT_BOOL);
    e->ival = v;
    return e;
}

Expr *vm_e_param(Kernel *k, Param *p) {
    Expr *e = new_expr(k, VM_E_PARAM, p ? p->dtype : VM_DT_I32);
    e->param = p;
    return e;
}

Expr *vm_e_bid(Kernel *k, int axis) {
    Expr *e = new_expr(k, VM_E_BID, VM_DT_I32);
    e->axis = axis;
    return e;
}

Expr *vm_e_gdim(Kernel *k, int axis) {
    Expr *e = new_expr(k, VM_E_GDIM, VM_DT_I32);
    e->axis = axis;
    return e;
}

Expr *vm_e_var(Kernel *k, Var *v) {
    Expr *e = new_expr(k, VM_E_VAR, v ? v->dtype : VM_DT_I32);
    e->var = v;
    return e;
}

static bool is_bool_result(ScalarOp op) {
    return op == VM_S_LNOT || (op >= VM_S_EQ && op <= VM_S_LOR);
}

Expr *vm_e_un(Kernel *k, ScalarOp op, Expr *a) {
    Expr *e = new_expr(k, VM_E_UNARY, is_bool_result(op) ? VM_DT_BOOL : a ? a->dtype : VM_DT_I32);
    e->sop = op;
    e->a = a;
    return e;
}

/* Literals convert implicitly (VM.md 3): an integer literal meeting an i64
 * or f32 operand takes that dtype. */
static Expr *convert_literal(Kernel *k, Expr *lit, Dtype to) {
    if (!lit || lit->kind != VM_E_INT || lit->dtype == to)
        return lit;
    if (to == VM_DT_I64)
        return vm_e_int(k, VM_DT_I64, lit->ival);
    if (to == VM_DT_F32)
        return vm_e_f32(k, (double)lit->ival);
    return lit;
}

Expr *vm_e_bin(Kernel *k, ScalarOp op, Expr *a, Expr *b) {
    if (a && b && a->dtype != b->dtype) {
        if (b->kind == VM_E_INT)
            b = convert_literal(k, b, a->dtype);
        else if (a->kind == VM_E_INT)
            a = convert_literal(k, a, b->dtype);
    }
    Expr *e = new_expr(k, VM_E_BINARY, is_bool_result(op) ? VM_DT_BOOL : a ? a->dtype : VM_DT_I32);
    e->sop = op;
    e->a = a;
    e->b = b;
    return e;
}

Expr *vm_e_select(Kernel *k, Expr *c, Expr *a, Expr *b) {
    if (a && b && a->dtype != b->dtype) {
        if (b->kind == VM_E_INT)
            b = convert_literal(k, b, a->dtype);
        else if (a->kind == VM_E_INT)
            a = convert_literal(k, a, b->dtype);
    }
    Expr *e = new_expr(k, VM_E_SELECT, a ? a->dtype : VM_DT_I32);
    e->a = c;
    e->b = a;
    e->c = b;
    return e;
}

Expr *vm_e_cast(Kernel *k, Dtype dt, Expr *a) {
    Expr *e = new_expr(k, VM_E_CAST, dt);
    e->a = a;
    return e;
}

/* ---------------------------------------------------------------- names, layouts */

void vm_set_name(Kernel *k, Value *v, const char *name) {
    if (v)
        v->name = vm_strdup(arena(k), name);
}

void vm_set_layout(Value *v, Layout L) {
    if (!v)
        return;
    v->layout = L;
    v->lstate = VM_LAY_EXPLICIT;
    if (v->def && v->def->op == VM_VIEW && v == v->def->res) {
        v->rank = L.rank;
        memcpy(v->shape, L.shape, sizeof(int32_t) * (size_t)L.rank);
    }
}

void vm_set_shared_layout(Value *v, SharedLayout s) {
    if (!v)
        return;
    v->slayout = s;
    v->has_slayout = true;
    v->slayout_explicit = true;
}

/* ---------------------------------------------------------------- instructions */

static Block *cursor(Kernel *k) {
    if (k->depth == 0)
        return &k->body;
    Inst *o = k->open[k->depth - 1];
    return k->in_else[k->depth - 1] ? &o->orelse : &o->body;
}

static Inst *emit(Kernel *k, Op op) {
    Inst *i = vm_alloc(arena(k), sizeof *i);
    i->op = op;
    i->id = k->ninsts++;
    i->loc = k->cur_loc;
    i->dtype = VM_DT_INVALID;
    Block *b = cursor(k);
    if (b->last)
        b->last->next = i;
    else
        b->first = i;
    b->last = i;
    return i;
}

static Value *result(Kernel *k, Inst *i, Dtype dt, int rank, const int32_t *shape) {
    Value *v = new_value(k, VM_REG, dt, rank, shape);
    v->def = i;
    i->res = v;
    return v;
}

static Dtype dt_of(const Value *v) {
    return v ? v->dtype : VM_DT_INVALID;
}

static Value *tile_result(Kernel *k, Inst *i, const Tile *t) {
    int32_t shape[VM_MAX_DIMS];
    int r = vm_tile_shape(t, shape);
    return result(k, i, dt_of(t->base), r, shape);
}

Value *vm_b_load_global(Kernel *k, Tile t, Value *mask, Value *other) {
    Inst *i = emit(k, VM_LOAD_GLOBAL);
    i->mem[0] = t;
    i->a[0] = mask;
    i->a[1] = other;
    return tile_result(k, i, &t);
}

void vm_b_store_global(Kernel *k, Tile t, Value *v, Value *mask) {
    Inst *i = emit(k, VM_STORE_GLOBAL);
    i->mem[0] = t;
    i->a[0] = v;
    i->a[1] = mask;
}

Value *vm_b_gather(Kernel *k, Tile t, Value *idx, int dim) {
    Inst *i = emit(k, VM_GATHER);
    i->mem[0] = t;
    i->a[0] = idx;
    i->dim = dim;
    return tile_result(k, i, &t);
}

static Var *new_var(Kernel *k, const char *name, bool scalar, bool mut, Dtype dt) {
    Var *v = vm_alloc(arena(k), sizeof *v);
    v->id = k->nvars;
    v->name = vm_strdup(arena(k), name);
    v->scalar = scalar;
    v->mut = mut;
    v->dtype = dt;
    v->loc = k->cur_loc;
    PUSH(k, k->vars, k->nvars, k->cap_vars, v);
    return v;
}

/* The scalar dtype a loaded element converts to. */
static Dtype scalar_dtype_of(Dtype dt) {
    if (dt == VM_DT_BOOL)
        return VM_DT_BOOL;
    if (vm_dtype_is_float(dt))
        return VM_DT_F32;
    if (dt == VM_DT_I64 || dt == VM_DT_U64 || dt == VM_DT_U32)
        return VM_DT_I64;
    return VM_DT_I32;
}

Var *vm_b_load_scalar(Kernel *k, const char *name, Tile t) {
    Inst *i = emit(k, VM_LOAD_SCALAR);
    i->mem[0] = t;
    Dtype dt = t.base ? scalar_dtype_of(t.base->dtype) : VM_DT_I32;
    i->var = new_var(k, name, true, false, dt);
    i->var->def = i;
    return i->var;
}

Value *vm_b_load_shared(Kernel *k, Tile t) {
    Inst *i = emit(k, VM_LOAD_SHARED);
    i->mem[0] = t;
    return tile_result(k, i, &t);
}

void vm_b_store_shared(Kernel *k, Tile t, Value *v) {
    Inst *i = emit(k, VM_STORE_SHARED);
    i->mem[0] = t;
    i->a[0] = v;
}

void vm_b_copy_async(Kernel *k, Tile dst, Tile src, Value *mask) {
    Inst *i = emit(k, VM_COPY_ASYNC);
    i->mem[0] = dst;
    i->mem[1] = src;
    i->a[0] = mask;
}

static void set_shape(Inst *i, int rank, const int32_t *shape) {
    i->rank = rank < 0 ? 0 : rank > VM_MAX_DIMS ? VM_MAX_DIMS : rank;
    if (shape)
        memcpy(i->shape, shape, sizeof(int32_t) * (size_t)i->rank);
}

Value *vm_b_shared_alloc(Kernel *k, Dtype dt, int rank, const int32_t *shape,
                         const SharedLayout *s) {
    Inst *i = emit(k, VM_SHARED_ALLOC);
    i->dtype = dt;
    set_shape(i, rank, shape);
    Value *v = new_value(k, VM_SHARED, dt, i->rank, i->shape);
    v->def = i;
    i->res = v;
    if (s)
        vm_set_shared_layout(v, *s);
    return v;
}

void vm_b_shared_free(Kernel *k, Value *s) {
    Inst *i = emit(k, VM_SHARED_FREE);
    i->a[0] = s;
}

Value *vm_b_global_view(Kernel *k, Value *g, Expr *byte_offset, Dtype dt, int rank,
                        Expr *const *shape, Expr *const *strides) {
    Inst *i = emit(k, VM_GLOBAL_VIEW);
    i->a[0] = g;
    i->e[0] = byte_offset;
    i->dtype = dt;
    Value *v = new_value(k, VM_GLOBAL, dt, rank, NULL);
    v->gshape = copy_exprs(k, v->rank, shape);
    v->gstride = copy_exprs(k, v->rank, strides);
    v->def = i;
    i->res = v;
    i->rank = v->rank;
    return v;
}

Value *vm_b_workspace(Kernel *k, Dtype dt, int rank, Expr *const *shape) {
    Inst *i = emit(k, VM_WORKSPACE);
    i->dtype = dt;
    Value *v = new_value(k, VM_GLOBAL, dt, rank, NULL);
    v->gshape = copy_exprs(k, v->rank, shape);
    v->def = i;
    i->res = v;
    i->rank = v->rank;
    return v;
}

void vm_b_commit(Kernel *k) {
    emit(k, VM_COMMIT);
}

void vm_b_wait(Kernel *k, int n) {
    emit(k, VM_WAIT)->n = n;
}

void vm_b_sync(Kernel *k) {
    emit(k, VM_SYNC);
}

Value *vm_b_view(Kernel *k, Value *x, Dtype dt, const Layout *L) {
    Inst *i = emit(k, VM_VIEW);
    i->a[0] = x;
    i->dtype = dt;
    int32_t shape[VM_MAX_DIMS] = {0};
    int rank = x ? x->rank : 0;
    if (x)
        memcpy(shape, x->shape, sizeof shape);
    if (x && rank > 0 && dt >= 0 && vm_dtype_bits(dt) != vm_dtype_bits(x->dtype)) {
        int64_t bits = (int64_t)shape[rank - 1] * vm_dtype_bits(x->dtype);
        shape[rank - 1] = (int32_t)(bits / vm_dtype_bits(dt));
    }
    Value *v = result(k, i, dt, rank, shape);
    if (L)
        vm_set_layout(v, *L);
    return v;
}

Value *vm_b_cast(Kernel *k, Value *x, Dtype dt) {
    Inst *i = emit(k, VM_CAST);
    i->a[0] = x;
    i->dtype = dt;
    return result(k, i, dt, x ? x->rank : 0, x ? x->shape : NULL);
}

Value *vm_b_unary(Kernel *k, Op op, Value *x) {
    Inst *i = emit(k, op);
    i->a[0] = x;
    return result(k, i, dt_of(x), x ? x->rank : 0, x ? x->shape : NULL);
}

static int bshape(Value *const *v, int n, int32_t *out) {
    int r = 0;
    int32_t tmp[VM_MAX_DIMS];
    for (int j = 0; j < n; j++) {
        if (!v[j])
            continue;
        memcpy(tmp, out, sizeof tmp);
        vm_broadcast_shape(r, tmp, v[j]->rank, v[j]->shape, &r, out);
    }
    return r;
}

Value *vm_b_binary(Kernel *k, Op op, Value *x, Value *y) {
    Inst *i = emit(k, op);
    i->a[0] = x;
    i->a[1] = y;
    int32_t shape[VM_MAX_DIMS] = {0};
    int r = bshape(i->a, 2, shape);
    return result(k, i, vm_ops[op].cls == VM_C_CMP ? VM_DT_BOOL : dt_of(x), r, shape);
}

static Value *ternary(Kernel *k, Op op, Value *a, Value *b, Value *c, Dtype dt) {
    Inst *i = emit(k, op);
    i->a[0] = a;
    i->a[1] = b;
    i->a[2] = c;
    int32_t shape[VM_MAX_DIMS] = {0};
    int r = bshape(i->a, 3, shape);
    return result(k, i, dt, r, shape);
}

Value *vm_b_fma(Kernel *k, Value *a, Value *b, Value *c) {
    return ternary(k, VM_FMA, a, b, c, dt_of(a));
}

Value *vm_b_where(Kernel *k, Value *c, Value *a, Value *b) {
    return ternary(k, VM_WHERE, c, a, b, dt_of(a));
}

Value *vm_b_dot(Kernel *k, Value *a, Value *b, Value *c) {
    Inst *i = emit(k, VM_DOT);
    i->a[0] = a;
    i->a[1] = b;
    i->a[2] = c;
    int32_t shape[2] = {a && a->rank > 0 ? a->shape[0] : 0, b && b->rank > 1 ? b->shape[1] : 0};
    return result(k, i, dt_of(c), 2, shape);
}

static int reduced_shape(const Value *x, int dim, bool keepdim, int32_t size, int32_t *out) {
    int r = 0;
    for (int d = 0; x && d < x->rank; d++) {
        if (d != dim)
            out[r++] = x->shape[d];
        else if (keepdim)
            out[r++] = size;
    }
    return r;
}

Value *vm_b_reduce(Kernel *k, Op op, Value *x, int dim, bool keepdim) {
    Inst *i = emit(k, op);
    i->a[0] = x;
    i->dim = dim;
    i->keepdim = keepdim;
    int32_t shape[VM_MAX_DIMS];
    int r = reduced_shape(x, dim, keepdim, 1, shape);
    return result(k, i, op == VM_ARGMAX ? VM_DT_I32 : dt_of(x), r, shape);
}

Value *vm_b_topk(Kernel *k, Value *x, int kk, int dim, Value **indices) {
    Inst *i = emit(k, VM_TOPK);
    i->a[0] = x;
    i->k = kk;
    i->dim = dim;
    i->keepdim = true;
    int32_t shape[VM_MAX_DIMS];
    int r = reduced_shape(x, dim, true, kk, shape);
    Value *v = result(k, i, dt_of(x), r, shape);
    Value *ix = new_value(k, VM_REG, VM_DT_I32, r, shape);
    ix->def = i;
    i->res2 = ix;
    if (indices)
        *indices = ix;
    return v;
}

Value *vm_b_cumsum(Kernel *k, Value *x, int dim) {
    Inst *i = emit(k, VM_CUMSUM);
    i->a[0] = x;
    i->dim = dim;
    return result(k, i, dt_of(x), x ? x->rank : 0, x ? x->shape : NULL);
}

static Value *reshaped(Kernel *k, Op op, Value *x, int rank, const int32_t *shape) {
    Inst *i = emit(k, op);
    i->a[0] = x;
    set_shape(i, rank, shape);
    return result(k, i, dt_of(x), i->rank, i->shape);
}

Value *vm_b_broadcast(Kernel *k, Value *x, int rank, const int32_t *shape) {
    return reshaped(k, VM_BROADCAST, x, rank, shape);
}

Value *vm_b_reshape(Kernel *k, Value *x, int rank, const int32_t *shape) {
    return reshaped(k, VM_RESHAPE, x, rank, shape);
}

Value *vm_b_permute(Kernel *k, Value *x, const int *perm) {
    Inst *i = emit(k, VM_PERMUTE);
    i->a[0] = x;
    int r = x ? x->rank : 0;
    int32_t shape[VM_MAX_DIMS] = {0};
    for (int d = 0; d < r; d++) {
        i->perm[d] = perm[d];
        shape[d] = perm[d] >= 0 && perm[d] < r ? x->shape[perm[d]] : 0;
    }
    return result(k, i, dt_of(x), r, shape);
}

Value *vm_b_transpose(Kernel *k, Value *x) {
    Inst *i = emit(k, VM_TRANSPOSE);
    i->a[0] = x;
    int r = x ? x->rank : 0;
    int32_t shape[VM_MAX_DIMS] = {0};
    if (x)
        memcpy(shape, x->shape, sizeof shape);
    if (r >= 2) {
        shape[r - 2] = x->shape[r - 1];
        shape[r - 1] = x->shape[r - 2];
    }
    return result(k, i, dt_of(x), r, shape);
}

Value *vm_b_slice(Kernel *k, Tile t) {
    Inst *i = emit(k, VM_SLICE);
    i->mem[0] = t;
    return tile_result(k, i, &t);
}

Value *vm_b_concat(Kernel *k, Value *x, Value *y, int dim) {
    Inst *i = emit(k, VM_CONCAT);
    i->a[0] = x;
    i->a[1] = y;
    i->dim = dim;
    int32_t shape[VM_MAX_DIMS] = {0};
    int r = x ? x->rank : 0;
    if (x)
        memcpy(shape, x->shape, sizeof shape);
    if (dim >= 0 && dim < r && y && y->rank == r)
        shape[dim] += y->shape[dim];
    return result(k, i, dt_of(x), r, shape);
}

void vm_b_atomic_add(Kernel *k, Tile t, Value *v) {
    Inst *i = emit(k, VM_ATOMIC_ADD);
    i->mem[0] = t;
    i->a[0] = v;
}

void vm_b_lock(Kernel *k, Tile t, Expr *v) {
    Inst *i = emit(k, VM_LOCK);
    i->mem[0] = t;
    i->e[0] = v;
}

void vm_b_release(Kernel *k, Tile t, Expr *v) {
    Inst *i = emit(k, VM_RELEASE);
    i->mem[0] = t;
    i->e[0] = v;
}

static Value *constant(Kernel *k, Op op, Dtype dt, int rank, const int32_t *shape) {
    Inst *i = emit(k, op);
    i->dtype = dt;
    set_shape(i, rank, shape);
    return result(k, i, dt, i->rank, i->shape);
}

Value *vm_b_zeros(Kernel *k, Dtype dt, int rank, const int32_t *shape) {
    return constant(k, VM_ZEROS, dt, rank, shape);
}

Value *vm_b_full(Kernel *k, Dtype dt, int rank, const int32_t *shape, Expr *v) {
    Value *r = constant(k, VM_FULL, dt, rank, shape);
    r->def->e[0] = v;
    return r;
}

Value *vm_b_scalar(Kernel *k, Dtype dt, Expr *v) {
    return vm_b_full(k, dt, 0, NULL, v);
}

Value *vm_b_arange(Kernel *k, Dtype dt, int n) {
    int32_t shape[1] = {n};
    return constant(k, VM_ARANGE, dt, 1, shape);
}

Value *vm_b_rand(Kernel *k, int rank, const int32_t *shape, Expr *seed, Expr *offset) {
    Value *r = constant(k, VM_RAND, VM_DT_F32, rank, shape);
    r->def->e[0] = seed;
    r->def->e[1] = offset;
    return r;
}

void vm_b_printf(Kernel *k, const char *fmt, int n, Expr *const *args) {
    Inst *i = emit(k, VM_PRINTF);
    i->str = vm_strdup(arena(k), fmt);
    i->neargs = n < 0 ? 0 : n;
    i->eargs = copy_exprs(k, i->neargs, args);
}

void vm_b_print(Kernel *k, const char *label, Value *x) {
    Inst *i = emit(k, VM_PRINT);
    i->str = vm_strdup(arena(k), label);
    i->a[0] = x;
}

void vm_b_assume(Kernel *k, Expr *cond) {
    emit(k, VM_ASSUME)->e[0] = cond;
}

void vm_b_exit(Kernel *k) {
    emit(k, VM_EXIT);
}

/* ---------------------------------------------------------------- variables */

Var *vm_b_var(Kernel *k, const char *name, Value *init) {
    Inst *i = emit(k, VM_VAR_DEF);
    Var *v = new_var(k, name, false, true, dt_of(init));
    v->def = i;
    v->val = new_value(k, VM_REG, dt_of(init), init ? init->rank : 0, init ? init->shape : NULL);
    v->val->var = v;
    v->val->name = v->name;
    i->var = v;
    i->a[0] = init;
    return v;
}

Var *vm_b_svar(Kernel *k, const char *name, Expr *init, bool mut) {
    Inst *i = emit(k, VM_VAR_DEF);
    Var *v = new_var(k, name, true, mut, init ? init->dtype : VM_DT_I32);
    v->def = i;
    i->var = v;
    i->e[0] = init;
    return v;
}

void vm_b_assign(Kernel *k, Var *v, Value *x) {
    Inst *i = emit(k, VM_ASSIGN);
    i->var = v;
    i->a[0] = x;
}

Value *vm_b_read(Kernel *k, Var *v) {
    Value *x = v ? v->val : NULL;
    return vm_b_broadcast(k, x, x ? x->rank : 0, x ? x->shape : NULL);
}

void vm_b_sassign(Kernel *k, Var *v, Expr *x) {
    Inst *i = emit(k, VM_ASSIGN);
    i->var = v;
    i->e[0] = v ? convert_literal(k, x, v->dtype) : x;
}

/* ---------------------------------------------------------------- control flow */

static void open_block(Kernel *k, Inst *i) {
    if (k->depth == k->cap_open) {
        int cap = k->cap_open ? k->cap_open * 2 : 8;
        Inst **o = vm_alloc(arena(k), sizeof *o * (size_t)cap);
        bool *e = vm_alloc(arena(k), sizeof *e * (size_t)cap);
        if (k->depth) {
            memcpy(o, k->open, sizeof *o * (size_t)k->depth);
            memcpy(e, k->in_else, sizeof *e * (size_t)k->depth);
        }
        k->open = o;
        k->in_else = e;
        k->cap_open = cap;
    }
    k->open[k->depth] = i;
    k->in_else[k->depth] = false;
    k->depth++;
}

Var *vm_b_for(Kernel *k, const char *name, Expr *start, Expr *end, Expr *step) {
    Inst *i = emit(k, VM_FOR);
    Dtype dt = (start && start->dtype == VM_DT_I64) || (end && end->dtype == VM_DT_I64) ||
                       (step && step->dtype == VM_DT_I64)
                   ? VM_DT_I64
                   : VM_DT_I32;
    i->e[0] = convert_literal(k, start, dt);
    i->e[1] = convert_literal(k, end, dt);
    i->e[2] = step ? convert_literal(k, step, dt) : vm_e_int(k, dt, 1);
    i->var = new_var(k, name, true, false, dt);
    i->var->def = i;
    open_block(k, i);
    return i->var;
}

void vm_b_while(Kernel *k, Expr *cond) {
    Inst *i = emit(k, VM_WHILE);
    i->e[0] = cond;
    open_block(k, i);
}

void vm_b_if(Kernel *k, Expr *cond) {
    Inst *i = emit(k, VM_IF);
    i->e[0] = cond;
    open_block(k, i);
}

void vm_b_else(Kernel *k) {
    if (k->depth == 0 || k->open[k->depth - 1]->op != VM_IF || k->in_else[k->depth - 1])
        BUG("vm_b_else without an open if");
    k->in_else[k->depth - 1] = true;
}

void vm_b_end(Kernel *k) {
    if (k->depth == 0)
        BUG("vm_b_end with no open block");
    k->depth--;
}

void vm_b_break(Kernel *k) {
    emit(k, VM_BREAK);
}

void vm_b_continue(Kernel *k) {
    emit(k, VM_CONTINUE);
}

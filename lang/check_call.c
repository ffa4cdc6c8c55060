/* lang/check_call.c - built-in calls: dispatch, arguments, scalars, values.
 *
 * One table (LANG_BUILTINS in check.h) maps a call name to its checker. Each
 * checker takes the positional and keyword arguments as AST (so a list like
 * [16, 64] or a raw layout literal is read as written), checks kinds, dtypes
 * and shapes, and emits one instruction through the builder. Elementwise
 * instructions (exp, add, lt, ...) come from the IR's own table
 * (vm_op_parse), so every instruction of VM.md 5 is callable by name without
 * a second list. Memory instructions are in check_mem.c, layouts and
 * annotations in check_layout.c. */
#include <stdio.h>
#include <string.h>

#include "lang/check.h"

Val lang_chk_mk(VKind k)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.k = k;
    return v;
}

Val lang_chk_vtensor(Value *x)
{
    Val v = lang_chk_mk(x ? V_TENSOR : V_ERR);
    v.v = x;
    return v;
}

Val lang_chk_vscalar(Expr *e)
{
    Val v = lang_chk_mk(e ? V_SCALAR : V_ERR);
    v.e = e;
    return v;
}

Val lang_chk_vlayout(Chk *c, Layout L)
{
    Val v = lang_chk_mk(V_LAYOUT);
    v.lay = lang_alloc(c->la, sizeof *v.lay);
    *v.lay = L;
    return v;
}

const Ast *lang_chk_kwarg(const Args *a, const char *name)
{
    for (int i = 0; i < a->nkw; i++)
        if (!strcmp(a->kw[i]->str, name))
            return a->kw[i]->a;
    return NULL;
}

/* Arity and keyword names ("mask,other"); reports and returns false. */
bool lang_chk_arity(Chk *c, const Args *a, int min, int max, const char *kws)
{
    if (a->npos < min || a->npos > max) {
        if (min == max)
            lang_chk_err(c, a->call->loc, "%s takes %d argument%s, got %d", a->name, min,
                    min == 1 ? "" : "s", a->npos);
        else
            lang_chk_err(c, a->call->loc, "%s takes %d to %d arguments, got %d", a->name, min, max,
                    a->npos);
        return false;
    }
    for (int i = 0; i < a->nkw; i++) {
        const char *n = a->kw[i]->str;
        size_t len = strlen(n);
        const char *p = kws;
        bool ok = false;
        while (p && *p) {
            const char *q = strchr(p, ',');
            size_t l = q ? (size_t)(q - p) : strlen(p);
            if (l == len && !memcmp(p, n, len))
                ok = true;
            p = q ? q + 1 : NULL;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(a->kw[j]->str, n)) {
                lang_chk_err(c, a->kw[i]->loc, "'%s' given twice", n);
                return false;
            }
        if (!ok) {
            lang_chk_err(c, a->kw[i]->loc, "%s has no argument '%s'", a->name, n);
            return false;
        }
    }
    return true;
}

bool lang_chk_pos_int(Chk *c, const Args *a, int i, const char *what, int64_t lo, int64_t hi,
                    int64_t *out)
{
    Val v = lang_chk_expr(c, a->pos[i]);
    if (!lang_chk_const_int(c, v, lang_ast_start(a->pos[i]), what, out))
        return false;
    if (*out < lo || *out > hi) {
        lang_chk_err(c, lang_ast_start(a->pos[i]), "%s %lld out of range [%lld, %lld]", what, (long long)*out,
                (long long)lo, (long long)hi);
        return false;
    }
    return true;
}

bool lang_chk_ast_int(Chk *c, const Ast *e, const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    Val v = lang_chk_expr(c, e);
    if (!lang_chk_const_int(c, v, e->loc, what, out))
        return false;
    if (*out < lo || *out > hi) {
        lang_chk_err(c, e->loc, "%s %lld out of range [%lld, %lld]", what, (long long)*out,
                (long long)lo, (long long)hi);
        return false;
    }
    return true;
}

/* [a, b, ...] of compile-time integers. */
int lang_chk_int_list(Chk *c, const Ast *e, const char *what, int max, int64_t lo, int32_t *out)
{
    if (e->kind != AST_LIST) {
        lang_chk_err(c, e->loc, "%s must be a list [..]", what);
        return -1;
    }
    if (e->nargs > max) {
        lang_chk_err(c, e->loc, "%s has more than %d entries", what, max);
        return -1;
    }
    for (int i = 0; i < e->nargs; i++) {
        int64_t v;
        if (!lang_chk_ast_int(c, e->args[i], what, lo, 1 << 24, &v))
            return -1;
        out[i] = (int32_t)v;
    }
    return e->nargs;
}

Value *lang_chk_reg_arg(Chk *c, const Args *a, int i, Dtype hint)
{
    Val v = lang_chk_expr(c, a->pos[i]);
    return lang_chk_tensor(c, v, hint, lang_ast_start(a->pos[i]));
}

bool lang_chk_dtype_arg(Chk *c, const Ast *e, Dtype *dt)
{
    Val v = lang_chk_expr(c, e);
    if (v.k == V_ERR)
        return false;
    if (v.k != V_DTYPE) {
        lang_chk_err(c, e->loc, "expected a dtype, got %s", lang_chk_kind_name(&v));
        return false;
    }
    *dt = v.dt;
    return true;
}

/* dt[shape] with constant sizes. */
bool lang_chk_type_arg(Chk *c, const Ast *e, Val *t, bool runtime_ok)
{
    *t = lang_chk_expr(c, e);
    if (t->k == V_ERR)
        return false;
    if (t->k == V_DTYPE && runtime_ok) {
        lang_chk_err(c, e->loc, "expected a type dtype[shape]");
        return false;
    }
    if (t->k != V_TYPE) {
        lang_chk_err(c, e->loc, "expected a type dtype[shape], got %s", lang_chk_kind_name(t));
        return false;
    }
    if (!runtime_ok)
        for (int d = 0; d < t->rank; d++)
            if (t->shape[d] < 0) {
                lang_chk_err(c, e->args[d]->loc, "a register or shared shape must be constant");
                return false;
            }
    return true;
}

/* ------------------------------------------------------------ scalars */

static Val minmax(Chk *c, Args *a, ScalarOp sop, Op op);
Val lang_chk_f_min(Chk *c, Args *a) { return minmax(c, a, VM_S_MIN, VM_MIN); }
Val lang_chk_f_max(Chk *c, Args *a) { return minmax(c, a, VM_S_MAX, VM_MAX); }

static Val scalar_pair(Chk *c, Args *a, ScalarOp sop, Val x, Val y)
{
    Dtype hint = x.k == V_SCALAR ? x.e->dtype : y.k == V_SCALAR ? y.e->dtype : VM_DT_INVALID;
    Expr *ex = lang_chk_scalar(c, x, hint, lang_ast_start(a->pos[0])), *ey = lang_chk_scalar(c, y, hint, lang_ast_start(a->pos[1]));
    if (!ex || !ey)
        return lang_chk_mk(V_ERR);
    if (ex->dtype != ey->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: %s(%s, %s) (use cast)", a->name,
                       vm_dtype_name(ex->dtype), vm_dtype_name(ey->dtype));
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vscalar(vm_e_bin(c->k, sop, ex, ey));
}

Val lang_chk_f_cdiv(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 2, 2, ""))
        return lang_chk_mk(V_ERR);
    Val x = lang_chk_expr(c, a->pos[0]), y = lang_chk_expr(c, a->pos[1]);
    if (x.k == V_ERR || y.k == V_ERR)
        return lang_chk_mk(V_ERR);
    if (x.k == V_INT && y.k == V_INT) {
        if (y.i <= 0)
            return lang_chk_err(c, lang_ast_start(a->pos[1]), "cdiv by %lld", (long long)y.i);
        Val r = lang_chk_mk(V_INT);
        r.i = x.i >= 0 ? (x.i + y.i - 1) / y.i : x.i / y.i;
        return r;
    }
    Val r = scalar_pair(c, a, VM_S_CDIV, x, y);
    if (r.k == V_SCALAR && !vm_dtype_is_int(r.e->dtype))
        return lang_chk_err(c, a->call->loc, "cdiv needs integers");
    return r;
}

static Val minmax(Chk *c, Args *a, ScalarOp sop, Op op)
{
    if (!lang_chk_arity(c, a, 2, 2, ""))
        return lang_chk_mk(V_ERR);
    Val x = lang_chk_expr(c, a->pos[0]), y = lang_chk_expr(c, a->pos[1]);
    if (x.k == V_ERR || y.k == V_ERR)
        return lang_chk_mk(V_ERR);
    if (x.k == V_INT && y.k == V_INT) {
        Val r = lang_chk_mk(V_INT);
        r.i = (sop == VM_S_MIN) == (x.i < y.i) ? x.i : y.i;
        return r;
    }
    if (x.k == V_TENSOR || y.k == V_TENSOR || x.k == V_TILE || y.k == V_TILE)
        return lang_chk_tensor_binary(c, a->call->loc, op, x, y);
    return scalar_pair(c, a, sop, x, y);
}

Val lang_chk_f_select(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Val cv = lang_chk_expr(c, a->pos[0]), x = lang_chk_expr(c, a->pos[1]), y = lang_chk_expr(c, a->pos[2]);
    if (cv.k == V_ERR || x.k == V_ERR || y.k == V_ERR)
        return lang_chk_mk(V_ERR);
    if (cv.k == V_BOOL)
        return cv.i ? x : y;
    Expr *ec = lang_chk_scalar(c, cv, VM_DT_BOOL, lang_ast_start(a->pos[0]));
    if (!ec)
        return lang_chk_mk(V_ERR);
    if (ec->dtype != VM_DT_BOOL)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "select needs a bool condition");
    Dtype hint = x.k == V_SCALAR ? x.e->dtype : y.k == V_SCALAR ? y.e->dtype : VM_DT_INVALID;
    Expr *ex = lang_chk_scalar(c, x, hint, lang_ast_start(a->pos[1])), *ey = lang_chk_scalar(c, y, hint, lang_ast_start(a->pos[2]));
    if (!ex || !ey)
        return lang_chk_mk(V_ERR);
    if (ex->dtype != ey->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: select(%s, %s) (use cast)",
                       vm_dtype_name(ex->dtype), vm_dtype_name(ey->dtype));
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vscalar(vm_e_select(c->k, ec, ex, ey));
}

Val lang_chk_f_bits(Chk *c, Args *a)
{
    Dtype dt;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_dtype_arg(c, a->pos[0], &dt))
        return lang_chk_mk(V_ERR);
    Val r = lang_chk_mk(V_INT);
    r.i = vm_dtype_bits(dt);
    return r;
}

/* signed(dt): the signed integer dtype of dt's width (u3 -> i3, i5 -> i5),
 * for reading offset codes as two's complement (q ^ 2^(b-1) is q - 2^(b-1)
 * as an i<b>). */
Val lang_chk_f_signed(Chk *c, Args *a)
{
    Dtype dt;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_dtype_arg(c, a->pos[0], &dt))
        return lang_chk_mk(V_ERR);
    if (vm_dtype_is_float(dt) || dt == VM_DT_BOOL)
        return lang_chk_err(c, a->call->loc, "signed(%s): not an integer dtype", vm_dtype_name(dt));
    char name[8];
    snprintf(name, sizeof name, "i%d", vm_dtype_bits(dt));
    Val r = lang_chk_mk(V_DTYPE);
    r.dt = vm_dtype_parse(name, strlen(name));
    return r;
}

Val lang_chk_f_cast(Chk *c, Args *a)
{
    Dtype dt;
    if (!lang_chk_arity(c, a, 2, 2, "") || !lang_chk_dtype_arg(c, a->pos[1], &dt))
        return lang_chk_mk(V_ERR);
    Val x = lang_chk_expr(c, a->pos[0]);
    LangLoc loc = a->call->loc;
    lang_chk_loc(c, loc);
    switch (x.k) {
    case V_ERR: return x;
    case V_INT:
        if (dt == VM_DT_I32 || dt == VM_DT_I64)
            return lang_chk_vscalar(vm_e_int(c->k, dt, x.i));
        if (dt == VM_DT_F32)
            return lang_chk_vscalar(vm_e_f32(c->k, (double)x.i));
        break;
    case V_FLOAT:
        if (dt == VM_DT_F32)
            return lang_chk_vscalar(vm_e_f32(c->k, x.f));
        break;
    case V_SCALAR:
        if (!lang_chk_is_scalar_dtype(dt))
            return lang_chk_err(c, lang_ast_start(a->pos[1]),
                           "a scalar casts to i32, i64, f32 or bool, not %s (tensors take any "
                           "dtype)",
                           vm_dtype_name(dt));
        if (x.e->dtype == dt)
            return x;
        return lang_chk_vscalar(vm_e_cast(c->k, dt, x.e));
    case V_TENSOR: {
        Value *v = lang_chk_tensor(c, x, VM_DT_INVALID, lang_ast_start(a->pos[0]));
        if (!v)
            return lang_chk_mk(V_ERR);
        lang_chk_loc(c, loc);
        return lang_chk_vtensor(vm_b_cast(c->k, v, dt));
    }
    default: break;
    }
    if (x.k == V_INT || x.k == V_FLOAT || x.k == V_BOOL) {
        if (x.k == V_FLOAT && !vm_dtype_is_float(dt))
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "cast of a float literal to %s: write an integer",
                           vm_dtype_name(dt));
        if (x.k == V_BOOL && dt != VM_DT_BOOL)
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "cast of a bool literal to %s", vm_dtype_name(dt));
        return lang_chk_vtensor(lang_chk_tensor(c, x, dt, lang_ast_start(a->pos[0])));
    }
    return lang_chk_err(c, lang_ast_start(a->pos[0]), "cannot cast %s", lang_chk_kind_name(&x));
}

/* ------------------------------------------------------------ values */

/* view(x, dtype?, layout?): a layout may also come from an annotation
 * (view(x, u3) @ L), passed down in c->pending. */
Val lang_chk_f_view(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 3, ""))
        return lang_chk_mk(V_ERR);
    const Layout *pending = c->pending;
    c->pending = NULL;
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x)
        return lang_chk_mk(V_ERR);
    Dtype dt = x->dtype;
    if (a->npos >= 2 && !lang_chk_dtype_arg(c, a->pos[1], &dt))
        return lang_chk_mk(V_ERR);
    const Layout *L = pending;
    if (a->npos == 3) {
        Val l = lang_chk_expr(c, a->pos[2]);
        if (l.k == V_ERR)
            return l;
        if (l.k != V_LAYOUT)
            return lang_chk_err(c, lang_ast_start(a->pos[2]), "expected a layout, got %s", lang_chk_kind_name(&l));
        L = l.lay;
    }
    if (!L && x->lstate != VM_LAY_EXPLICIT)
        return lang_chk_err(c, a->call->loc,
                       "view needs an explicit layout on one side: annotate the result "
                       "(view(x, %s) @ layout) or the operand",
                       vm_dtype_name(dt));
    if (L && lay_num_threads(*L) != c->nthreads)
        return lang_chk_err(c, a->call->loc, "the view's layout has %d threads but the block has %d",
                       lay_num_threads(*L), c->nthreads);
    if (L && x->lstate == VM_LAY_EXPLICIT) {
        int64_t b0 = (int64_t)lay_local_size(x->layout) * vm_dtype_bits(x->dtype);
        int64_t b1 = (int64_t)lay_local_size(*L) * vm_dtype_bits(dt);
        if (b0 != b1)
            return lang_chk_err(c, a->call->loc,
                           "view changes the bits per thread: %lld (%d x %s) to %lld (%d x %s)",
                           (long long)b0, lay_local_size(x->layout), vm_dtype_name(x->dtype),
                           (long long)b1, lay_local_size(*L), vm_dtype_name(dt));
    }
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_view(c->k, x, dt, L));
}

Val lang_chk_f_fma(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Val v[3];
    Dtype hint = VM_DT_INVALID;
    for (int i = 0; i < 3; i++) {
        v[i] = lang_chk_expr(c, a->pos[i]);
        if (v[i].k == V_ERR)
            return v[i];
        if (v[i].k == V_TENSOR && hint == VM_DT_INVALID)
            hint = v[i].v->dtype;
    }
    Value *x[3];
    for (int i = 0; i < 3; i++)
        if (!(x[i] = lang_chk_tensor(c, v[i], hint, lang_ast_start(a->pos[i]))))
            return lang_chk_mk(V_ERR);
    if (x[0]->dtype != x[1]->dtype || x[0]->dtype != x[2]->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: fma(%s, %s, %s) (use cast)",
                       vm_dtype_name(x[0]->dtype), vm_dtype_name(x[1]->dtype),
                       vm_dtype_name(x[2]->dtype));
    int r;
    int32_t s[VM_MAX_DIMS];
    if (!vm_broadcast_shape(x[0]->rank, x[0]->shape, x[1]->rank, x[1]->shape, &r, s) ||
        !vm_broadcast_shape(r, s, x[2]->rank, x[2]->shape, &r, s))
        return lang_chk_err(c, a->call->loc, "shape mismatch: fma operands do not broadcast");
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_fma(c->k, x[0], x[1], x[2]));
}

Val lang_chk_f_where(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Val cv = lang_chk_expr(c, a->pos[0]), xv = lang_chk_expr(c, a->pos[1]), yv = lang_chk_expr(c, a->pos[2]);
    if (cv.k == V_ERR || xv.k == V_ERR || yv.k == V_ERR)
        return lang_chk_mk(V_ERR);
    Dtype hint = xv.k == V_TENSOR ? xv.v->dtype : yv.k == V_TENSOR ? yv.v->dtype : VM_DT_INVALID;
    Value *cc = lang_chk_tensor(c, cv, VM_DT_BOOL, lang_ast_start(a->pos[0]));
    Value *x = cc ? lang_chk_tensor(c, xv, hint, lang_ast_start(a->pos[1])) : NULL;
    Value *y = x ? lang_chk_tensor(c, yv, hint, lang_ast_start(a->pos[2])) : NULL;
    if (!y)
        return lang_chk_mk(V_ERR);
    if (cc->dtype != VM_DT_BOOL)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "where needs a bool condition, got %s",
                       vm_dtype_name(cc->dtype));
    if (x->dtype != y->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: where(c, %s, %s) (use cast)",
                       vm_dtype_name(x->dtype), vm_dtype_name(y->dtype));
    int r;
    int32_t s[VM_MAX_DIMS];
    if (!vm_broadcast_shape(cc->rank, cc->shape, x->rank, x->shape, &r, s) ||
        !vm_broadcast_shape(r, s, y->rank, y->shape, &r, s))
        return lang_chk_err(c, a->call->loc, "shape mismatch: where operands do not broadcast");
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_where(c->k, cc, x, y));
}

Val lang_chk_f_dot(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    Value *y = x ? lang_chk_reg_arg(c, a, 1, VM_DT_INVALID) : NULL;
    Value *acc = y ? lang_chk_reg_arg(c, a, 2, VM_DT_INVALID) : NULL;
    if (!acc)
        return lang_chk_mk(V_ERR);
    if (x->rank != 2 || y->rank != 2 || acc->rank != 2)
        return lang_chk_err(c, a->call->loc, "dot takes 2-D tensors A[m, k], B[k, n], C[m, n]");
    if (x->shape[1] != y->shape[0] || acc->shape[0] != x->shape[0] || acc->shape[1] != y->shape[1])
        return lang_chk_err(c, a->call->loc,
                       "shape mismatch: dot of [%d, %d] and [%d, %d] into [%d, %d]", x->shape[0],
                       x->shape[1], y->shape[0], y->shape[1], acc->shape[0], acc->shape[1]);
    if (x->dtype != y->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: dot of %s and %s (use cast)",
                       vm_dtype_name(x->dtype), vm_dtype_name(y->dtype));
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_dot(c->k, x, y, acc));
}

static bool keepdim_arg(Chk *c, const Args *a, bool *keep)
{
    const Ast *k = lang_chk_kwarg(a, "keepdim");
    *keep = false;
    if (!k)
        return true;
    Val v = lang_chk_expr(c, k);
    if (v.k == V_ERR)
        return false;
    if (v.k != V_BOOL) {
        lang_chk_err(c, lang_ast_start(k), "keepdim must be true or false");
        return false;
    }
    *keep = v.i;
    return true;
}

static Val reduce(Chk *c, Args *a, Op op)
{
    int64_t dim;
    bool keep;
    if (!lang_chk_arity(c, a, 2, 2, "keepdim"))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x || !lang_chk_pos_int(c, a, 1, "the dim", 0, x->rank - 1, &dim) || !keepdim_arg(c, a, &keep))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_reduce(c->k, op, x, (int)dim, keep));
}

Val lang_chk_f_reduce_sum(Chk *c, Args *a) { return reduce(c, a, VM_REDUCE_SUM); }
Val lang_chk_f_reduce_max(Chk *c, Args *a) { return reduce(c, a, VM_REDUCE_MAX); }
Val lang_chk_f_reduce_min(Chk *c, Args *a) { return reduce(c, a, VM_REDUCE_MIN); }
Val lang_chk_f_argmax(Chk *c, Args *a) { return reduce(c, a, VM_ARGMAX); }

Val lang_chk_f_cumsum(Chk *c, Args *a)
{
    int64_t dim;
    if (!lang_chk_arity(c, a, 2, 2, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x || !lang_chk_pos_int(c, a, 1, "the dim", 0, x->rank - 1, &dim))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_cumsum(c->k, x, (int)dim));
}

Val lang_chk_f_topk(Chk *c, Args *a)
{
    int64_t kk, dim;
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x || !lang_chk_pos_int(c, a, 2, "the dim", 0, x->rank - 1, &dim) ||
        !lang_chk_pos_int(c, a, 1, "k", 1, x->shape[dim], &kk))
        return lang_chk_mk(V_ERR);
    Val r = lang_chk_mk(V_TOPK);
    lang_chk_loc(c, a->call->loc);
    r.v = vm_b_topk(c->k, x, (int)kk, (int)dim, &r.v2);
    return r;
}

static Val shape_op(Chk *c, Args *a, Op op)
{
    if (!lang_chk_arity(c, a, 2, 2, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x)
        return lang_chk_mk(V_ERR);
    int32_t s[VM_MAX_DIMS];
    int r = lang_chk_int_list(c, a->pos[1], op == VM_PERMUTE ? "a permutation" : "a shape", VM_MAX_DIMS,
                     op == VM_PERMUTE ? 0 : 1, s);
    if (r < 0)
        return lang_chk_mk(V_ERR);
    char s1[96], s2[96];
    vm_shape_str(x->rank, x->shape, s1, sizeof s1);
    vm_shape_str(r, s, s2, sizeof s2);
    lang_chk_loc(c, a->call->loc);
    if (op == VM_RESHAPE) {
        if (vm_shape_numel(r, s) != vm_shape_numel(x->rank, x->shape))
            return lang_chk_err(c, a->call->loc, "reshape of %s to %s changes the element count", s1,
                           s2);
        return lang_chk_vtensor(vm_b_reshape(c->k, x, r, s));
    }
    if (op == VM_BROADCAST) {
        int ro;
        int32_t o[VM_MAX_DIMS];
        if (!vm_broadcast_shape(x->rank, x->shape, r, s, &ro, o) || !vm_shape_eq(ro, o, r, s))
            return lang_chk_err(c, a->call->loc, "shape mismatch: %s does not broadcast to %s", s1, s2);
        return lang_chk_vtensor(vm_b_broadcast(c->k, x, r, s));
    }
    if (r != x->rank)
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "permute of a rank-%d tensor needs %d entries", x->rank,
                       x->rank);
    int perm[VM_MAX_DIMS];
    unsigned seen = 0;
    for (int d = 0; d < r; d++) {
        if (s[d] >= r || (seen >> s[d] & 1))
            return lang_chk_err(c, lang_ast_start(a->pos[1]), "%s is not a permutation of 0..%d", s2, r - 1);
        seen |= 1u << s[d];
        perm[d] = s[d];
    }
    return lang_chk_vtensor(vm_b_permute(c->k, x, perm));
}

Val lang_chk_f_broadcast(Chk *c, Args *a) { return shape_op(c, a, VM_BROADCAST); }
Val lang_chk_f_reshape(Chk *c, Args *a) { return shape_op(c, a, VM_RESHAPE); }
Val lang_chk_f_permute(Chk *c, Args *a) { return shape_op(c, a, VM_PERMUTE); }

Val lang_chk_f_transpose(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 1, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    if (!x)
        return lang_chk_mk(V_ERR);
    if (x->rank < 2)
        return lang_chk_err(c, a->call->loc, "transpose needs rank >= 2");
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_transpose(c->k, x));
}

Val lang_chk_f_slice(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 1, ""))
        return lang_chk_mk(V_ERR);
    if (a->pos[0]->kind != AST_INDEX)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "slice takes an indexed register tensor x[a : n, ...]");
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    return x ? lang_chk_vtensor(x) : lang_chk_mk(V_ERR);
}

Val lang_chk_f_concat(Chk *c, Args *a)
{
    int64_t dim;
    if (!lang_chk_arity(c, a, 3, 3, ""))
        return lang_chk_mk(V_ERR);
    Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
    Value *y = x ? lang_chk_reg_arg(c, a, 1, x->dtype) : NULL;
    if (!y || !lang_chk_pos_int(c, a, 2, "the dim", 0, x->rank - 1, &dim))
        return lang_chk_mk(V_ERR);
    if (x->dtype != y->dtype)
        return lang_chk_err(c, a->call->loc, "type mismatch: concat of %s and %s",
                       vm_dtype_name(x->dtype), vm_dtype_name(y->dtype));
    bool ok = x->rank == y->rank;
    for (int d = 0; ok && d < x->rank; d++)
        if (d != dim && x->shape[d] != y->shape[d])
            ok = false;
    if (!ok)
        return lang_chk_err(c, a->call->loc, "shape mismatch: concat along dim %lld", (long long)dim);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_concat(c->k, x, y, (int)dim));
}

Val lang_chk_f_zeros(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_type_arg(c, a->pos[0], &t, false))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_zeros(c->k, t.dt, t.rank, t.shape));
}

Val lang_chk_f_full(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 2, 2, "") || !lang_chk_type_arg(c, a->pos[0], &t, false))
        return lang_chk_mk(V_ERR);
    Dtype hint = vm_dtype_is_float(t.dt) ? VM_DT_F32
                 : t.dt == VM_DT_BOOL   ? VM_DT_BOOL
                 : vm_dtype_bits(t.dt) > 32 ? VM_DT_I64
                                           : VM_DT_I32;
    Val v = lang_chk_expr(c, a->pos[1]);
    Expr *e = lang_chk_scalar(c, v, v.k == V_SCALAR ? VM_DT_INVALID : hint, lang_ast_start(a->pos[1]));
    if (!e)
        return lang_chk_mk(V_ERR);
    if (v.k == V_SCALAR && e->dtype != t.dt && !(vm_dtype_is_float(t.dt) && e->dtype == VM_DT_F32))
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "type mismatch: full of %s with a %s scalar (use cast)",
                       vm_dtype_name(t.dt), vm_dtype_name(e->dtype));
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_full(c->k, t.dt, t.rank, t.shape, e));
}

Val lang_chk_f_arange(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_type_arg(c, a->pos[0], &t, false))
        return lang_chk_mk(V_ERR);
    if (t.rank != 1 || !vm_dtype_is_int(t.dt))
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "arange takes an integer type of one dim, e.g. i32[64]");
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_arange(c->k, t.dt, t.shape[0]));
}

Val lang_chk_f_rand(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 3, 3, "") || !lang_chk_type_arg(c, a->pos[0], &t, false))
        return lang_chk_mk(V_ERR);
    if (t.dt != VM_DT_F32)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "rand makes f32 tensors");
    Expr *seed = lang_chk_scalar(c, lang_chk_expr(c, a->pos[1]), VM_DT_INVALID, lang_ast_start(a->pos[1]));
    Expr *off = seed ? lang_chk_scalar(c, lang_chk_expr(c, a->pos[2]), VM_DT_INVALID, lang_ast_start(a->pos[2])) : NULL;
    if (!off)
        return lang_chk_mk(V_ERR);
    if (!vm_dtype_is_int(seed->dtype) || !vm_dtype_is_int(off->dtype))
        return lang_chk_err(c, a->call->loc, "rand takes an integer seed and offset");
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_rand(c->k, t.rank, t.shape, seed, off));
}

Val lang_chk_f_printf(Chk *c, Args *a)
{
    if (a->npos < 1 || a->nkw)
        return lang_chk_err(c, a->call->loc, "printf takes a format string and scalars");
    Val f = lang_chk_expr(c, a->pos[0]);
    if (f.k == V_ERR)
        return f;
    if (f.k != V_STR || memchr(f.str, 0, f.len))
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "printf needs a format string first");
    Expr **args = lang_alloc(c->la, sizeof(Expr *) * (size_t)a->npos);
    for (int i = 1; i < a->npos; i++) {
        args[i - 1] = lang_chk_scalar(c, lang_chk_expr(c, a->pos[i]), VM_DT_INVALID, lang_ast_start(a->pos[i]));
        if (!args[i - 1])
            return lang_chk_mk(V_ERR);
    }
    lang_chk_loc(c, a->call->loc);
    vm_b_printf(c->k, f.str, a->npos - 1, args);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_print(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 2, ""))
        return lang_chk_mk(V_ERR);
    const char *label = NULL;
    int xi = 0;
    if (a->npos == 2) {
        Val l = lang_chk_expr(c, a->pos[0]);
        if (l.k == V_ERR)
            return l;
        if (l.k != V_STR || memchr(l.str, 0, l.len))
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "print takes a label string first");
        label = l.str;
        xi = 1;
    }
    Value *x = lang_chk_reg_arg(c, a, xi, VM_DT_INVALID);
    if (!x)
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_print(c->k, label, x);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_assume(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 1, ""))
        return lang_chk_mk(V_ERR);
    Val v = lang_chk_expr(c, a->pos[0]);
    if (v.k == V_ERR)
        return v;
    if (v.k == V_BOOL) {
        if (!v.i)
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "this assumption is false for this specialization");
        return lang_chk_mk(V_VOID);
    }
    Expr *e = lang_chk_scalar(c, v, VM_DT_BOOL, lang_ast_start(a->pos[0]));
    if (!e)
        return lang_chk_mk(V_ERR);
    if (e->dtype != VM_DT_BOOL)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "assume needs a bool condition, got %s",
                       vm_dtype_name(e->dtype));
    lang_chk_loc(c, a->call->loc);
    vm_b_assume(c->k, e);
    return lang_chk_mk(V_VOID);
}

/* The elementwise instructions of the IR table, called by name. */
static Val elementwise(Chk *c, Args *a, Op op)
{
    InstClass cls = vm_ops[op].cls;
    if (cls == VM_C_UNARY) {
        if (!lang_chk_arity(c, a, 1, 1, ""))
            return lang_chk_mk(V_ERR);
        Value *x = lang_chk_reg_arg(c, a, 0, VM_DT_INVALID);
        if (!x)
            return lang_chk_mk(V_ERR);
        bool float_only = op != VM_NEG && op != VM_ABS && op != VM_NOT;
        if (float_only && !vm_dtype_is_float(x->dtype))
            return lang_chk_err(c, a->call->loc, "%s needs a float tensor, got %s (use cast)",
                           vm_ops[op].name, vm_dtype_name(x->dtype));
        lang_chk_loc(c, a->call->loc);
        return lang_chk_vtensor(vm_b_unary(c->k, op, x));
    }
    if (!lang_chk_arity(c, a, 2, 2, ""))
        return lang_chk_mk(V_ERR);
    Val x = lang_chk_expr(c, a->pos[0]), y = lang_chk_expr(c, a->pos[1]);
    if (x.k == V_ERR || y.k == V_ERR)
        return lang_chk_mk(V_ERR);
    return lang_chk_tensor_binary(c, a->call->loc, op, x, y);
}


static const struct {
    const char *name;
    Val (*fn)(Chk *, Args *);
} builtins[] = {
#define X(n) {#n, lang_chk_f_##n},
    LANG_BUILTINS(X)
#undef X
};

Val lang_chk_call(Chk *c, const Ast *e)
{
    if (e->a->kind != AST_NAME)
        return lang_chk_err(c, e->loc, "only named functions can be called");
    const char *name = e->a->str;
    if (lang_chk_lookup(c, name))
        return lang_chk_err(c, e->loc, "'%s' is a value, not a function", name);
    Args a = {.call = e, .name = name};
    a.pos = lang_alloc(c->la, sizeof(Ast *) * (size_t)(e->nargs + 1));
    a.kw = lang_alloc(c->la, sizeof(Ast *) * (size_t)(e->nargs + 1));
    for (int i = 0; i < e->nargs; i++) {
        if (e->args[i]->kind == AST_KWARG)
            a.kw[a.nkw++] = e->args[i];
        else if (a.nkw)
            return lang_chk_err(c, e->args[i]->loc, "a positional argument after a keyword argument");
        else
            a.pos[a.npos++] = e->args[i];
    }
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(builtins[i].name, name))
            return builtins[i].fn(c, &a);
    Op op = vm_op_parse(name);
    if (op != VM_NOPS && (vm_ops[op].cls == VM_C_UNARY || vm_ops[op].cls == VM_C_BINARY ||
                          vm_ops[op].cls == VM_C_CMP))
        return elementwise(c, &a, op);
    LayHw hw;
    if (lay_hw_lookup(name, &hw)) {
        if (!lang_chk_arity(c, &a, 0, 0, ""))
            return lang_chk_mk(V_ERR);
        return lang_chk_named(c, e->a, name);
    }
    if (!strcmp(name, "row_major") || !strcmp(name, "column_major") ||
        !strcmp(name, "swizzled_row_major")) {
        if (!lang_chk_arity(c, &a, 0, 0, ""))
            return lang_chk_mk(V_ERR);
        return lang_chk_named(c, e->a, name);
    }
    if (!strcmp(name, "range"))
        return lang_chk_err(c, e->loc, "range(...) is only valid in a for loop");
    return lang_chk_err(c, e->loc, "unknown function '%s'", name);
}


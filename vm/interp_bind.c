/* vm/interp_bind.c - launch-time binding of arguments to a kernel's
 * parameters (VM.md 1), shared by both executors: the interpreter binds
 * host memory, the GPU runtime (vm_launch_bind) device addresses.
 *
 * The argument count and kinds are checked; scalars take their value (an
 * i32 must fit); every tensor argument binds its Param's bare shape
 * identifiers from its shape (a second use of an identifier must agree),
 * then every other shape expression is evaluated with exact division and
 * compared, and each tensor's byte size must be exactly
 * ceil(numel * bits / 8). The grid is evaluated last (missing dims are 1).
 * vm_launch_bind also checks the top-level assumes that depend on
 * parameters only (the interpreter checks every assume when reached).
 * Sizes above INT32_MAX (64-bit indexing) are rejected for now. */
#include <stdlib.h>
#include <string.h>

#include "vm/interp.h"

static bool bind_scalar(Interp *ix, const Param *p, const VmArg *a)
{
    Code c;
    if (p->dtype == VM_DT_F32) {
        c = vm_encode(VM_DT_F32, a->f);
    } else if (p->dtype == VM_DT_I32) {
        if (a->i < INT32_MIN || a->i > INT32_MAX)
            return ix_fault(ix, p->loc, "argument %s = %lld does not fit i32", p->name,
                            (long long)a->i);
        c = (Code)(uint32_t)(int32_t)a->i;
    } else if (p->dtype == VM_DT_I64) {
        c = (Code)a->i;
    } else {
        return ix_fault(ix, p->loc, "parameter %s: scalar dtype %s is not i32, i64 or f32", p->name,
                        vm_dtype_name(p->dtype));
    }
    ix->pval[p->index] = c;
    ix->pbound[p->index] = true;
    return true;
}

static bool bind_dims(Interp *ix, const Param *p, const VmArg *a)
{
    if (a->rank != p->rank)
        return ix_fault(ix, p->loc, "argument %s: rank %d given, %d expected", p->name, a->rank,
                        p->rank);
    for (int d = 0; d < p->rank; d++) {
        const Expr *e = p->shape ? p->shape[d] : NULL;
        if (a->shape[d] < 0)
            return ix_fault(ix, p->loc, "argument %s: negative size in dim %d", p->name, d);
        if (!e || e->kind != VM_E_PARAM || !e->param->implicit)
            continue;
        const Param *q = e->param;
        if (a->shape[d] > INT32_MAX)
            return ix_fault(ix, p->loc, "argument %s: size %lld of dim %d needs 64-bit indexing",
                            p->name, (long long)a->shape[d], d);
        Code c = (Code)(uint32_t)a->shape[d];
        if (ix->pbound[q->index] && ix->pval[q->index] != c)
            return ix_fault(ix, p->loc, "argument %s: dim %d is %lld but %s = %lld", p->name, d,
                            (long long)a->shape[d], q->name,
                            (long long)vm_decode_int(VM_DT_I32, ix->pval[q->index]));
        ix->pval[q->index] = c;
        ix->pbound[q->index] = true;
    }
    return true;
}

static bool bind_tensor(Interp *ix, const Param *p, const VmArg *a)
{
    Glob *g = &ix->glob[p->value->id];
    g->dt = p->dtype;
    g->rank = p->rank;
    g->param = true;
    ix->exact_div = true;
    ix->shape_loc = p->loc;
    for (int d = 0; d < p->rank; d++) {
        int64_t v;
        if (!p->shape || !ix_eval_int(ix, p->shape[d], &v))
            return ix->exact_div = false, p->shape ? false : ix_fault(ix, p->loc, "no shape");
        if (v != a->shape[d])
            return ix->exact_div = false,
                   ix_fault(ix, p->loc, "argument %s: dim %d is %lld, the shape says %lld", p->name,
                            d, (long long)a->shape[d], (long long)v);
        g->shape[d] = v;
    }
    ix->exact_div = false;
    int64_t s = 1;
    for (int d = p->rank - 1; d >= 0; d--) {
        g->stride[d] = s;
        s *= g->shape[d];
    }
    size_t need = vm_packed_bytes(p->dtype, (size_t)s);
    if (a->nbytes != need)
        return ix_fault(ix, p->loc, "argument %s: %zu bytes given, %s[%lld] takes %zu", p->name,
                        a->nbytes, vm_dtype_name(p->dtype), (long long)s, need);
    if (ix->host && !a->data && need)
        return ix_fault(ix, p->loc, "argument %s: no data", p->name);
    g->data = a->data;
    g->nbits = (uint64_t)a->nbytes * 8;
    return true;
}

bool ix_bind(Interp *ix, const VmArg *args, int nargs)
{
    Kernel *k = ix->k;
    int nexp = 0;
    for (int j = 0; j < k->nparams; j++)
        nexp += !k->params[j]->implicit;
    if (nargs != nexp)
        return ix_fault(ix, k->loc, "kernel %s takes %d arguments, %d given", k->name, nexp, nargs);
    int ai = 0;
    for (int j = 0; j < k->nparams; j++) {
        const Param *p = k->params[j];
        if (p->implicit)
            continue;
        const VmArg *a = &args[ai++];
        if (a->kind != p->kind)
            return ix_fault(ix, p->loc, "argument %d (%s): a %s was given, a %s expected", ai,
                            p->name, a->kind == VM_P_TENSOR ? "tensor" : "scalar",
                            p->kind == VM_P_TENSOR ? "tensor" : "scalar");
        if (p->kind == VM_P_SCALAR ? !bind_scalar(ix, p, a) : !bind_dims(ix, p, a))
            return false;
    }
    ai = 0;
    for (int j = 0; j < k->nparams; j++) {
        const Param *p = k->params[j];
        if (p->implicit)
            continue;
        const VmArg *a = &args[ai++];
        if (p->kind == VM_P_TENSOR && !bind_tensor(ix, p, a))
            return false;
    }
    return true;
}

bool ix_eval_grid(Interp *ix)
{
    Kernel *k = ix->k;
    for (int d = 0; d < 3; d++) {
        ix->grid[d] = 1;
        if (d >= k->ngrid)
            continue;
        if (!ix_eval_int(ix, k->grid[d], &ix->grid[d]))
            return false;
        if (ix->grid[d] < 0 || ix->grid[d] > INT32_MAX)
            return ix_fault(ix, k->loc, "grid dim %d is %lld", d, (long long)ix->grid[d]);
    }
    return true;
}

/* an expression that depends on parameters and constants only */
static bool launch_time(const Expr *e)
{
    if (!e)
        return true;
    switch (e->kind) {
    case VM_E_BID:
    case VM_E_VAR:
        return false;
    default:
        return launch_time(e->a) && launch_time(e->b) && launch_time(e->c);
    }
}

static void scratch_init(Interp *ix, Kernel *k, VmDiags *d)
{
    memset(ix, 0, sizeof *ix);
    ix->k = k;
    ix->faults = d;
    ix->max_steps = VM_INTERP_MAX_STEPS;
    ix->nthreads = 32 * k->warps;
    size_t nv = (size_t)k->nvalues + 1, np = (size_t)k->nparams + 1;
    ix->glob = ix_xmalloc(sizeof *ix->glob * nv);
    ix->pval = ix_xmalloc(sizeof *ix->pval * np);
    ix->pbound = ix_xmalloc(sizeof *ix->pbound * np);
}

static void scratch_free(Interp *ix)
{
    free(ix->glob);
    free(ix->pval);
    free(ix->pbound);
}

bool vm_launch_bind(Kernel *k, const VmArg *args, int nargs, int64_t *vals, int64_t grid[3],
                    VmDiags *d)
{
    Interp ix;
    scratch_init(&ix, k, d);
    bool ok = ix_bind(&ix, args, nargs) && ix_eval_grid(&ix);
    for (const Inst *i = k->body.first; ok && i; i = i->next) {
        Code c;
        if (i->op != VM_ASSUME || !launch_time(i->e[0]))
            continue;
        ok = ix_eval(&ix, i->e[0], &c) && (c || ix_fault(&ix, i->loc, "assumption violated"));
    }
    for (int j = 0; ok && j < k->nparams; j++) {
        const Param *p = k->params[j];
        vals[j] = !ix.pbound[j] ? 0
                  : p->dtype == VM_DT_F32 ? (int64_t)ix.pval[j]
                                          : ix_code_int(p->dtype, ix.pval[j]);
    }
    for (int j = 0; ok && j < 3; j++)
        grid[j] = ix.grid[j];
    scratch_free(&ix);
    return ok && !ix.failed;
}

bool vm_eval_bound(Kernel *k, const int64_t *vals, const Expr *e, int64_t *out)
{
    if (!e || !launch_time(e) || e->dtype == VM_DT_F32)
        return false;
    VmArena *a = vm_arena_new();
    VmDiags d;
    vm_diags_init(&d, a);
    Interp ix;
    scratch_init(&ix, k, &d);
    for (int j = 0; j < k->nparams; j++) {
        const Param *p = k->params[j];
        if (p->kind != VM_P_SCALAR)
            continue;
        ix.pval[j] = p->dtype == VM_DT_F32 ? (Code)(uint32_t)vals[j]
                     : p->dtype == VM_DT_I32 ? (Code)(uint32_t)vals[j] : (Code)vals[j];
        ix.pbound[j] = true;
    }
    bool ok = ix_eval_grid(&ix) && ix_eval_int(&ix, e, out);
    scratch_free(&ix);
    vm_arena_free(a);
    return ok;
}

/* vm/verify.c - the IR verifier (QBE's ssacheck for the VM IR).
 *
 * Input: a Prog from the builder (directly or through the language front
 * end), before or after layout inference. Output: one VmDiag per problem,
 * located at the offending instruction; nothing is changed.
 *
 * One walk over each kernel in program order, with:
 *   - scopes: a Value or Var is usable after its definition, inside the
 *     block that defines it (and blocks nested in it);
 *   - shared lifetimes: shared_free in the block of its shared_alloc, once;
 *     no use after it; every allocation freed before its block ends;
 *   - async groups: a wait needs a commit before it (in program order), and
 *     every copy_async must be committed before the kernel ends;
 *   - loop depth for break/continue.
 * Per-instruction rules follow the class of the op (vm.h's table). Register
 * layouts are checked once per value at the end (thread count, shape); a
 * layout still unknown is an error only after inference. The rules are
 * deliberately local: a conservative linear walk, no path sensitivity. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm/vm.h"

typedef struct {
    Kernel *k;
    VmDiags *d;
    VmArena *a;
    int nthreads;
    bool layouts_done;
    uint8_t *vdef;  /* per value id: in scope */
    uint8_t *vardef; /* per var id: in scope */
    uint8_t *sstate; /* per value id: 0 none, 1 live, 2 freed */
    int *sdepth;     /* per value id: block depth of its shared_alloc */
    int *stack;      /* scope stack: value ids (>= 0) and ~var ids (< 0) */
    int nstack, cap_stack;
    int depth, loops;
    int commits, pending_copies;
    VmLoc last_copy;
    int errors;
} Ctx;

static void err(Ctx *c, VmLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(Ctx *c, VmLoc loc, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vm_diag(c->d, loc, "%s", buf);
    c->errors++;
}

static const char *dtn(Dtype dt) {
    return dt >= 0 && dt < VM_NDTYPES ? vm_dtype_name(dt) : "<invalid dtype>";
}

static bool dt_ok(Dtype dt) {
    return dt >= 0 && dt < VM_NDTYPES;
}

static const char *nm(Ctx *c, const Value *v) {
    return vm_value_label(c->a, v);
}

static const char *shp(Ctx *c, int rank, const int32_t *shape) {
    char buf[VM_MAX_DIMS * 14 + 4];
    vm_shape_str(rank, shape, buf, sizeof buf);
    return vm_strdup(c->a, buf);
}

static const char *kind_name(ValueKind k) {
    return k == VM_REG ? "a register tensor" : k == VM_SHARED ? "a shared tensor" : "a global tensor";
}

static bool scalar_dt(Dtype dt) {
    return dt == VM_DT_I32 || dt == VM_DT_I64 || dt == VM_DT_F32 || dt == VM_DT_BOOL;
}

static bool int_scalar(Dtype dt) {
    return dt == VM_DT_I32 || dt == VM_DT_I64;
}

/* ---------------------------------------------------------------- scalar expressions */

static bool param_of(Kernel *k, const Param *p) {
    return p && p->index >= 0 && p->index < k->nparams && k->params[p->index] == p;
}

/* shape_only: parameters and constants only (shapes, grid, workspace). */
static bool check_expr(Ctx *c, const Expr *e, bool shape_only, VmLoc at) {
    if (!e) {
        err(c, at, "missing scalar expression");
        return false;
    }
    VmLoc loc = e->loc.line ? e->loc : at;
    if (!scalar_dt(e->dtype)) {
        err(c, loc, "scalar expressions have dtype i32, i64, f32 or bool, not %s", dtn(e->dtype));
        return false;
    }
    switch (e->kind) {
    case VM_E_INT:
        if (!int_scalar(e->dtype)) {
            err(c, loc, "integer constant of dtype %s", dtn(e->dtype));
            return false;
        }
        return true;
    case VM_E_FLOAT:
    case VM_E_BOOL:
        return true;
    case VM_E_PARAM:
        if (!param_of(c->k, e->param)) {
            err(c, loc, "unknown parameter '%s' in kernel '%s'",
                e->param ? e->param->name : "?", c->k->name);
            return false;
        }
        if (e->param->kind != VM_P_SCALAR) {
            err(c, loc, "parameter '%s' is a tensor, not a scalar", e->param->name);
            return false;
        }
        return true;
    case VM_E_BID:
    case VM_E_GDIM:
        if (shape_only) {
            err(c, loc, "%s may not appear here: only parameters and constants",
                e->kind == VM_E_BID ? "bid" : "gdim");
            return false;
        }
        if (e->axis < 0 || e->axis >= c->k->ngrid) {
            err(c, loc, "%s.%c used but the grid has %d dim%s", e->kind == VM_E_BID ? "bid" : "gdim",
                "xyz?"[e->axis >= 0 && e->axis < 3 ? e->axis : 3], c->k->ngrid,
                c->k->ngrid == 1 ? "" : "s");
            return false;
        }
        return true;
    case VM_E_VAR:
        if (shape_only) {
            err(c, loc, "variable '%s' may not appear here: only parameters and constants",
                e->var ? e->var->name : "?");
            return false;
        }
        if (!e->var || !e->var->scalar) {
            err(c, loc, "'%s' is not a scalar variable", e->var ? e->var->name : "?");
            return false;
        }
        if (!c->vardef[e->var->id]) {
            err(c, loc, "use of '%s' before its definition or outside its scope", e->var->name);
            return false;
        }
        return true;
    case VM_E_UNARY:
        if (!check_expr(c, e->a, shape_only, at))
            return false;
        if (e->sop == VM_S_LNOT && e->a->dtype != VM_DT_BOOL) {
            err(c, loc, "'!' needs a bool operand, got %s", dtn(e->a->dtype));
            return false;
        }
        if (e->sop == VM_S_BNOT && !int_scalar(e->a->dtype)) {
            err(c, loc, "'~' needs an integer operand, got %s", dtn(e->a->dtype));
            return false;
        }
        if (e->sop != VM_S_LNOT && e->sop != VM_S_BNOT && e->sop != VM_S_NEG) {
            err(c, loc, "'%s' is not a unary operator", vm_sop_name(e->sop));
            return false;
        }
        return true;
    case VM_E_BINARY: {
        if (!check_expr(c, e->a, shape_only, at) || !check_expr(c, e->b, shape_only, at))
            return false;
        const char *op = vm_sop_name(e->sop);
        if (vm_sop_arity(e->sop) != 2) {
            err(c, loc, "'%s' is not a binary operator", op);
            return false;
        }
        if (e->a->dtype != e->b->dtype) {
            err(c, loc, "scalar operands of '%s' have different dtypes %s and %s", op,
                dtn(e->a->dtype), dtn(e->b->dtype));
            return false;
        }
        Dtype dt = e->a->dtype;
        switch (e->sop) {
        case VM_S_LAND:
        case VM_S_LOR:
            if (dt != VM_DT_BOOL) {
                err(c, loc, "'%s' needs bool operands, got %s", op, dtn(dt));
                return false;
            }
            break;
        case VM_S_AND:
        case VM_S_OR:
        case VM_S_XOR:
        case VM_S_SHL:
        case VM_S_SHR:
        case VM_S_CDIV:
            if (!int_scalar(dt)) {
                err(c, loc, "'%s' needs integer operands, got %s", op, dtn(dt));
                return false;
            }
            break;
        case VM_S_EQ:
        case VM_S_NE:
            break;
        default:
            if (dt == VM_DT_BOOL) {
                err(c, loc, "'%s' needs numeric operands, got bool", op);
                return false;
            }
        }
        return true;
    }
    case VM_E_SELECT:
        if (!check_expr(c, e->a, shape_only, at) || !check_expr(c, e->b, shape_only, at) ||
            !check_expr(c, e->c, shape_only, at))
            return false;
        if (e->a->dtype != VM_DT_BOOL) {
            err(c, loc, "select condition must be bool, got %s", dtn(e->a->dtype));
            return false;
        }
        if (e->b->dtype != e->c->dtype) {
            err(c, loc, "select arms have different dtypes %s and %s", dtn(e->b->dtype),
                dtn(e->c->dtype));
            return false;
        }
        return true;
    case VM_E_CAST:
        return check_expr(c, e->a, shape_only, at);
    }
    err(c, loc, "malformed scalar expression");
    return false;
}

static bool check_int_expr(Ctx *c, const Expr *e, VmLoc at, const char *what) {
    if (!check_expr(c, e, false, at))
        return false;
    if (!int_scalar(e->dtype)) {
        err(c, at, "%s must be an integer scalar, got %s", what, dtn(e->dtype));
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- scopes */

static void push(Ctx *c, int entry) {
    c->stack = vm_grow(c->a, c->stack, c->nstack, &c->cap_stack, sizeof *c->stack);
    c->stack[c->nstack++] = entry;
}

static void define_value(Ctx *c, Value *v) {
    if (!v)
        return;
    c->vdef[v->id] = 1;
    push(c, v->id);
}

static void define_var(Ctx *c, Var *v) {
    if (!v)
        return;
    c->vardef[v->id] = 1;
    push(c, ~v->id);
    if (v->val)
        define_value(c, v->val);
}

static void walk_block(Ctx *c, Block *b);

/* Leave a scope: its names go out of scope, its shared tensors must be freed. */
static void scope_end(Ctx *c, int mark) {
    while (c->nstack > mark) {
        int e = c->stack[--c->nstack];
        if (e < 0) {
            c->vardef[~e] = 0;
            continue;
        }
        c->vdef[e] = 0;
        if (c->sstate[e] == 1) {
            Value *s = c->k->values[e];
            err(c, s->loc, "shared tensor '%s' is not freed before the end of its block "
                "(missing shared_free)", nm(c, s));
            c->sstate[e] = 2;
        }
    }
}

static void nested(Ctx *c, Block *b, Var *loopvar, bool loop) {
    int mark = c->nstack;
    c->depth++;
    c->loops += loop;
    if (loopvar)
        define_var(c, loopvar);
    walk_block(c, b);
    scope_end(c, mark);
    c->loops -= loop;
    c->depth--;
}

/* ---------------------------------------------------------------- operands */

static bool use(Ctx *c, const Inst *i, Value *v, ValueKind kind, const char *what) {
    const char *op = vm_op_name(i->op);
    if (!v) {
        err(c, i->loc, "%s: missing %s", op, what);
        return false;
    }
    if (v->id < 0 || v->id >= c->k->nvalues || c->k->values[v->id] != v) {
        err(c, i->loc, "%s: %s '%s' does not belong to kernel '%s'", op, what, nm(c, v), c->k->name);
        return false;
    }
    if (!c->vdef[v->id]) {
        err(c, i->loc, "%s: use of '%s' before its definition or outside its scope", op, nm(c, v));
        return false;
    }
    if (v->kind != kind) {
        err(c, i->loc, "%s: %s must be %s, got %s '%s'", op, what, kind_name(kind),
            kind_name(v->kind), nm(c, v));
        return false;
    }
    if (kind == VM_SHARED && c->sstate[v->id] == 2) {
        err(c, i->loc, "%s: use of shared tensor '%s' after its shared_free", op, nm(c, v));
        return false;
    }
    return true;
}

static bool tile(Ctx *c, const Inst *i, const Tile *t, ValueKind kind, const char *what) {
    if (!use(c, i, t->base, kind, what))
        return false;
    const char *op = vm_op_name(i->op);
    Value *b = t->base;
    if (t->rank != b->rank) {
        err(c, i->loc, "%s: tile of '%s' has %d indices, the tensor has rank %d", op, nm(c, b),
            t->rank, b->rank);
        return false;
    }
    bool ok = true;
    for (int d = 0; d < t->rank; d++) {
        if (t->start[d] && !check_int_expr(c, t->start[d], i->loc, "a tile start"))
            ok = false;
        if (t->size[d] <= 0) {
            err(c, i->loc, "%s: tile of '%s' has size %d in dim %d (sizes are positive constants)",
                op, nm(c, b), t->size[d], d);
            ok = false;
            continue;
        }
        if (kind == VM_GLOBAL)
            continue;
        int64_t s = 0;
        if (t->size[d] > b->shape[d] ||
            ((!t->start[d] || vm_e_const_int(t->start[d], &s)) &&
             (s < 0 || s + t->size[d] > b->shape[d]))) {
            err(c, i->loc, "%s: tile [%lld : %d] is out of range in dim %d of '%s' (size %d)", op,
                (long long)s, t->size[d], d, nm(c, b), b->shape[d]);
            ok = false;
        }
    }
    return ok;
}

static bool all_indices(Ctx *c, const Inst *i, const Tile *t) {
    for (int d = 0; d < t->rank; d++)
        if (!t->drop[d]) {
            err(c, i->loc, "%s: needs one element: index every dim of '%s'", vm_op_name(i->op),
                nm(c, t->base));
            return false;
        }
    return true;
}

/* x broadcastable to (rank, shape) */
static bool fits(const Value *x, int rank, const int32_t *shape) {
    int r;
    int32_t out[VM_MAX_DIMS];
    return vm_broadcast_shape(rank, shape, x->rank, x->shape, &r, out) &&
           vm_shape_eq(r, out, rank, shape);
}

static void same_shape(Ctx *c, const Inst *i, const Value *v, int rank, const int32_t *shape,
                       const char *what) {
    if (!vm_shape_eq(v->rank, v->shape, rank, shape))
        err(c, i->loc, "%s: %s '%s' has shape %s, expected %s", vm_op_name(i->op), what, nm(c, v),
            shp(c, v->rank, v->shape), shp(c, rank, shape));
}

static void same_dtype(Ctx *c, const Inst *i, const Value *x, Dtype want, const char *what) {
    if (x->dtype != want)
        err(c, i->loc, "%s: %s '%s' is %s, expected %s (mixing dtypes needs a cast)",
            vm_op_name(i->op), what, nm(c, x), dtn(x->dtype), dtn(want));
}

static void mask(Ctx *c, const Inst *i, Value *m, int rank, const int32_t *shape) {
    if (!m || !use(c, i, m, VM_REG, "mask"))
        return;
    if (m->dtype != VM_DT_BOOL)
        err(c, i->loc, "%s: mask '%s' must be bool, got %s", vm_op_name(i->op), nm(c, m),
            dtn(m->dtype));
    if (!fits(m, rank, shape))
        err(c, i->loc, "%s: mask shape %s does not broadcast to %s", vm_op_name(i->op),
            shp(c, m->rank, m->shape), shp(c, rank, shape));
}

static bool shape_ok(Ctx *c, const Inst *i, int rank, const int32_t *shape) {
    for (int d = 0; d < rank; d++)
        if (shape[d] <= 0) {
            err(c, i->loc, "%s: shape %s has a non-positive size", vm_op_name(i->op),
                shp(c, rank, shape));
            return false;
        }
    return true;
}

static bool is_float_only(Op op) {
    switch (op) {
    case VM_EXP: case VM_EXP2: case VM_LOG: case VM_LOG2: case VM_SQRT: case VM_RSQRT:
    case VM_SIN: case VM_COS: case VM_TANH: case VM_SIGMOID: case VM_SILU:
        return true;
    default:
        return false;
    }
}

static void check_layout_pair(Ctx *c, const Inst *i, Value *x, Value *r) {
    if (x->lstate == VM_LAY_UNKNOWN || r->lstate == VM_LAY_UNKNOWN)
        return;
    int tx = lay_num_threads(x->layout), tr = lay_num_threads(r->layout);
    if (tx != tr) {
        err(c, i->loc, "view: the operand's layout has %d threads, the result's %d", tx, tr);
        return;
    }
    int64_t bx = (int64_t)lay_local_size(x->layout) * vm_dtype_bits(x->dtype);
    int64_t br = (int64_t)lay_local_size(r->layout) * vm_dtype_bits(r->dtype);
    if (bx != br)
        err(c, i->loc, "view: the operand holds %lld bits per thread (%d x %s), the result %lld "
            "(%d x %s)", (long long)bx, lay_local_size(x->layout), dtn(x->dtype), (long long)br,
            lay_local_size(r->layout), dtn(r->dtype));
}

/* ---------------------------------------------------------------- instructions */

/* Every operand checked (arguments are all evaluated, so all are reported). */
static bool all(bool a, bool b, bool c) {
    return a && b && c;
}

/* The slots of i against its table signature (vm.h VM_OPS). */
static bool check_sig(Ctx *c, const Inst *i) {
    const char *sig = vm_ops[i->op].sig, *op = vm_ops[i->op].name;
    const void *slot[13] = {i->res, i->res2, NULL, i->a[0], i->a[1], i->a[2], NULL,
                            i->mem[0].base, i->mem[1].base, NULL, i->e[0], i->e[1], i->e[2]};
    static const char *names[13] = {"result", "second result", "", "a[0]", "a[1]", "a[2]", "",
                                    "mem[0]", "mem[1]", "", "e[0]", "e[1]", "e[2]"};
    bool ok = true;
    for (int j = 0; j < 13 && sig[j]; j++) {
        if (sig[j] == '/')
            continue;
        if (sig[j] == '-' && slot[j]) {
            err(c, i->loc, "malformed %s: unexpected %s", op, names[j]);
            ok = false;
        } else if (j < 2 && sig[j] != '-' && !slot[j]) {
            err(c, i->loc, "malformed %s: missing %s", op, names[j]);
            ok = false;
        }
    }
    return ok;
}

static void check_inst(Ctx *c, Inst *i) {
    const char *op = vm_op_name(i->op);
    Value *r = i->res;
    int32_t ts[VM_MAX_DIMS];
    int tr;
    if ((unsigned)i->op >= VM_NOPS) {
        err(c, i->loc, "unknown instruction %d", (int)i->op);
        return;
    }
    if (!check_sig(c, i)) {
        define_value(c, r);
        define_value(c, i->res2);
        return;
    }
    switch (vm_ops[i->op].cls) {
    case VM_C_MEM:
        switch (i->op) {
        case VM_LOAD_GLOBAL:
            if (!tile(c, i, &i->mem[0], VM_GLOBAL, "source"))
                break;
            tr = vm_tile_shape(&i->mem[0], ts);
            mask(c, i, i->a[0], tr, ts);
            if (i->a[1] && use(c, i, i->a[1], VM_REG, "other")) {
                same_dtype(c, i, i->a[1], i->mem[0].base->dtype, "other");
                if (!fits(i->a[1], tr, ts))
                    err(c, i->loc, "load_global: other's shape %s does not broadcast to %s",
                        shp(c, i->a[1]->rank, i->a[1]->shape), shp(c, tr, ts));
            }
            break;
        case VM_STORE_GLOBAL:
        case VM_STORE_SHARED:
            if (!tile(c, i, &i->mem[0], i->op == VM_STORE_GLOBAL ? VM_GLOBAL : VM_SHARED,
                      "destination"))
                break;
            tr = vm_tile_shape(&i->mem[0], ts);
            if (use(c, i, i->a[0], VM_REG, "stored value")) {
                same_dtype(c, i, i->a[0], i->mem[0].base->dtype, "stored value");
                same_shape(c, i, i->a[0], tr, ts, "stored value");
            }
            if (i->op == VM_STORE_GLOBAL)
                mask(c, i, i->a[1], tr, ts);
            break;
        case VM_GATHER:
            if (!tile(c, i, &i->mem[0], VM_GLOBAL, "source"))
                break;
            tr = vm_tile_shape(&i->mem[0], ts);
            if (i->dim < 0 || i->dim >= i->mem[0].rank || i->mem[0].drop[i->dim])
                err(c, i->loc, "gather: dim %d is not a dim of the tile", i->dim);
            if (use(c, i, i->a[0], VM_REG, "index")) {
                if (!vm_dtype_is_int(i->a[0]->dtype))
                    err(c, i->loc, "gather: index '%s' must be an integer tensor, got %s",
                        nm(c, i->a[0]), dtn(i->a[0]->dtype));
                if (!fits(i->a[0], tr, ts))
                    err(c, i->loc, "gather: index shape %s does not broadcast to %s",
                        shp(c, i->a[0]->rank, i->a[0]->shape), shp(c, tr, ts));
            }
            break;
        case VM_LOAD_SCALAR:
            if (tile(c, i, &i->mem[0], VM_GLOBAL, "source"))
                all_indices(c, i, &i->mem[0]);
            define_var(c, i->var);
            break;
        case VM_LOAD_SHARED:
            tile(c, i, &i->mem[0], VM_SHARED, "source");
            break;
        case VM_COPY_ASYNC: {
            bool ok = tile(c, i, &i->mem[0], VM_SHARED, "destination");
            ok = tile(c, i, &i->mem[1], VM_GLOBAL, "source") && ok;
            if (!ok)
                break;
            int32_t gs[VM_MAX_DIMS];
            tr = vm_tile_shape(&i->mem[0], ts);
            int gr = vm_tile_shape(&i->mem[1], gs);
            if (i->mem[0].base->dtype != i->mem[1].base->dtype)
                err(c, i->loc, "copy_async: source is %s, destination %s",
                    dtn(i->mem[1].base->dtype), dtn(i->mem[0].base->dtype));
            if (!vm_shape_eq(tr, ts, gr, gs))
                err(c, i->loc, "copy_async: source tile %s and destination tile %s differ",
                    shp(c, gr, gs), shp(c, tr, ts));
            mask(c, i, i->a[0], gr, gs);
            c->pending_copies++;
            c->last_copy = i->loc;
            break;
        }
        default:
            break;
        }
        break;
    case VM_C_ALLOC:
        switch (i->op) {
        case VM_SHARED_ALLOC:
            if (!dt_ok(i->dtype))
                err(c, i->loc, "shared_alloc: invalid dtype");
            else if (i->rank < 1)
                err(c, i->loc, "shared_alloc: a shared tensor needs at least one dim");
            else if (shape_ok(c, i, i->rank, i->shape) && r->has_slayout) {
                if (!vm_shape_eq(r->slayout.rank, r->slayout.shape, r->rank, r->shape))
                    err(c, i->loc, "shared_alloc: shared layout shape %s does not match %s",
                        shp(c, r->slayout.rank, r->slayout.shape), shp(c, r->rank, r->shape));
                else if (r->slayout.elem_bits != vm_dtype_bits(r->dtype))
                    err(c, i->loc, "shared_alloc: shared layout of %d-bit elements for %s",
                        r->slayout.elem_bits, dtn(r->dtype));
            }
            c->sstate[r->id] = 1;
            c->sdepth[r->id] = c->depth;
            break;
        case VM_SHARED_FREE:
            if (i->a[0] && i->a[0]->kind == VM_SHARED && c->sstate[i->a[0]->id] == 2 &&
                c->vdef[i->a[0]->id]) {
                err(c, i->loc, "shared_free: '%s' is freed twice", nm(c, i->a[0]));
                break;
            }
            if (!use(c, i, i->a[0], VM_SHARED, "operand"))
                break;
            if (c->sdepth[i->a[0]->id] != c->depth)
                err(c, i->loc, "shared_free of '%s' must be in the block of its shared_alloc",
                    nm(c, i->a[0]));
            c->sstate[i->a[0]->id] = 2;
            break;
        case VM_GLOBAL_VIEW:
            use(c, i, i->a[0], VM_GLOBAL, "base");
            if (i->e[0])
                check_int_expr(c, i->e[0], i->loc, "global_view's byte offset");
            for (int d = 0; r && d < r->rank; d++) {
                check_int_expr(c, r->gshape ? r->gshape[d] : NULL, i->loc, "a shape");
                if (r->gstride)
                    check_int_expr(c, r->gstride[d], i->loc, "a stride");
            }
            break;
        case VM_WORKSPACE:
            if (c->depth)
                err(c, i->loc, "workspace must be at the top level of the kernel");
            for (int d = 0; r && d < r->rank; d++)
                check_expr(c, r->gshape ? r->gshape[d] : NULL, true, i->loc);
            break;
        default:
            break;
        }
        break;
    case VM_C_ASYNC:
        if (i->op == VM_COMMIT) {
            c->commits++;
            c->pending_copies = 0;
        } else if (i->op == VM_WAIT) {
            if (i->n < 0)
                err(c, i->loc, "wait(%d): the count must be >= 0", i->n);
            if (!c->commits)
                err(c, i->loc, "wait with no commit before it");
        }
        break;
    case VM_C_VIEW: {
        Value *x = i->a[0];
        if (!use(c, i, x, VM_REG, "operand"))
            break;
        if (!dt_ok(i->dtype)) {
            err(c, i->loc, "view: invalid dtype");
            break;
        }
        bool rx = r->lstate == VM_LAY_EXPLICIT, xx = x->lstate == VM_LAY_EXPLICIT;
        if (!rx && !xx)
            err(c, i->loc, "view needs an explicit layout on its operand '%s' or its result: "
                "layouts are never inferred across a view", nm(c, x));
        else if (!rx && vm_dtype_bits(i->dtype) != vm_dtype_bits(x->dtype))
            err(c, i->loc, "view from %s to %s changes the bits per element: annotate its "
                "result with @ layout", dtn(x->dtype), dtn(i->dtype));
        else
            check_layout_pair(c, i, x, r);
        break;
    }
    case VM_C_UNARY:
        if (!use(c, i, i->a[0], VM_REG, "operand"))
            break;
        if (is_float_only(i->op) && !vm_dtype_is_float(i->a[0]->dtype))
            err(c, i->loc, "%s needs a float operand, got %s '%s'", op, dtn(i->a[0]->dtype),
                nm(c, i->a[0]));
        if ((i->op == VM_NEG || i->op == VM_ABS) && i->a[0]->dtype == VM_DT_BOOL)
            err(c, i->loc, "%s of a bool tensor", op);
        if (i->op == VM_NOT && vm_dtype_is_float(i->a[0]->dtype))
            err(c, i->loc, "~ needs an integer or bool operand, got %s", dtn(i->a[0]->dtype));
        break;
    case VM_C_BINARY:
    case VM_C_CMP: {
        if (!all(use(c, i, i->a[0], VM_REG, "operand 1"), use(c, i, i->a[1], VM_REG, "operand 2"),
                 true))
            break;
        Value *x = i->a[0], *y = i->a[1];
        const char *sym = vm_ops[i->op].sym ? vm_ops[i->op].sym : op;
        if (x->dtype != y->dtype) {
            err(c, i->loc, "operands of '%s' have different dtypes %s and %s: cast one", sym,
                dtn(x->dtype), dtn(y->dtype));
            break;
        }
        int rr;
        int32_t rs[VM_MAX_DIMS];
        if (!vm_broadcast_shape(x->rank, x->shape, y->rank, y->shape, &rr, rs))
            err(c, i->loc, "operands of '%s': shapes %s and %s do not broadcast", sym,
                shp(c, x->rank, x->shape), shp(c, y->rank, y->shape));
        bool bitwise = i->op == VM_AND || i->op == VM_OR || i->op == VM_XOR;
        bool shift = i->op == VM_SHL || i->op == VM_SHR;
        if ((bitwise && vm_dtype_is_float(x->dtype)) || (shift && !vm_dtype_is_int(x->dtype)))
            err(c, i->loc, "'%s' needs integer%s operands, got %s", sym, bitwise ? " or bool" : "",
                dtn(x->dtype));
        if (!bitwise && !shift && vm_ops[i->op].cls == VM_C_BINARY && x->dtype == VM_DT_BOOL &&
            i->op != VM_MIN && i->op != VM_MAX)
            err(c, i->loc, "'%s' needs numeric operands, got bool", sym);
        break;
    }
    case VM_C_TERNARY:
        if (i->op == VM_CAST) {
            if (use(c, i, i->a[0], VM_REG, "operand") && !dt_ok(i->dtype))
                err(c, i->loc, "cast: invalid dtype");
            break;
        }
        if (!all(use(c, i, i->a[0], VM_REG, "operand 1"), use(c, i, i->a[1], VM_REG, "operand 2"),
                 use(c, i, i->a[2], VM_REG, "operand 3")))
            break;
        if (i->op == VM_WHERE && i->a[0]->dtype != VM_DT_BOOL)
            err(c, i->loc, "where: condition '%s' must be bool, got %s", nm(c, i->a[0]),
                dtn(i->a[0]->dtype));
        for (int j = i->op == VM_WHERE ? 2 : 1; j < 3; j++)
            if (i->a[j]->dtype != i->a[i->op == VM_WHERE ? 1 : 0]->dtype)
                err(c, i->loc, "%s: operands have different dtypes %s and %s: cast one", op,
                    dtn(i->a[i->op == VM_WHERE ? 1 : 0]->dtype), dtn(i->a[j]->dtype));
        {
            int rr = 0;
            int32_t rs[VM_MAX_DIMS], tmp[VM_MAX_DIMS];
            for (int j = 0; j < 3; j++) {
                memcpy(tmp, rs, sizeof tmp);
                if (!vm_broadcast_shape(rr, tmp, i->a[j]->rank, i->a[j]->shape, &rr, rs)) {
                    err(c, i->loc, "%s: operand shapes do not broadcast (%s)", op,
                        shp(c, i->a[j]->rank, i->a[j]->shape));
                    break;
                }
            }
        }
        break;
    case VM_C_DOT: {
        if (!all(use(c, i, i->a[0], VM_REG, "A"), use(c, i, i->a[1], VM_REG, "B"),
                 use(c, i, i->a[2], VM_REG, "C")))
            break;
        Value *A = i->a[0], *B = i->a[1], *C = i->a[2];
        if (A->rank != 2 || B->rank != 2 || C->rank != 2) {
            err(c, i->loc, "dot: A, B and C must have rank 2 (got %d, %d, %d)", A->rank, B->rank,
                C->rank);
            break;
        }
        if (A->shape[1] != B->shape[0])
            err(c, i->loc, "dot: A %s @ B %s: inner dims %d and %d differ",
                shp(c, 2, A->shape), shp(c, 2, B->shape), A->shape[1], B->shape[0]);
        else if (C->shape[0] != A->shape[0] || C->shape[1] != B->shape[1])
            err(c, i->loc, "dot: C is %s, expected [%d, %d] for A %s @ B %s",
                shp(c, 2, C->shape), A->shape[0], B->shape[1], shp(c, 2, A->shape),
                shp(c, 2, B->shape));
        if (A->dtype != B->dtype)
            err(c, i->loc, "dot: A is %s and B is %s: cast one", dtn(A->dtype), dtn(B->dtype));
        break;
    }
    case VM_C_REDUCE: {
        if (!use(c, i, i->a[0], VM_REG, "operand"))
            break;
        Value *x = i->a[0];
        if (i->dim < 0 || i->dim >= x->rank) {
            err(c, i->loc, "%s: dim %d is out of range for rank %d", op, i->dim, x->rank);
            break;
        }
        if (i->op == VM_TOPK && (i->k < 1 || i->k > x->shape[i->dim]))
            err(c, i->loc, "topk: k = %d is out of range 1..%d", i->k, x->shape[i->dim]);
        if (i->op != VM_REDUCE_MAX && i->op != VM_REDUCE_MIN && x->dtype == VM_DT_BOOL)
            err(c, i->loc, "%s of a bool tensor", op);
        break;
    }
    case VM_C_SHAPE: {
        Value *x = i->a[0];
        if (i->op == VM_SLICE) {
            tile(c, i, &i->mem[0], VM_REG, "operand");
            break;
        }
        if (!use(c, i, x, VM_REG, "operand"))
            break;
        switch (i->op) {
        case VM_BROADCAST:
            if (shape_ok(c, i, i->rank, i->shape) && !fits(x, i->rank, i->shape))
                err(c, i->loc, "broadcast: %s does not broadcast to %s",
                    shp(c, x->rank, x->shape), shp(c, i->rank, i->shape));
            break;
        case VM_RESHAPE:
            if (shape_ok(c, i, i->rank, i->shape) &&
                vm_shape_numel(i->rank, i->shape) != vm_shape_numel(x->rank, x->shape))
                err(c, i->loc, "reshape: %s and %s have different sizes",
                    shp(c, x->rank, x->shape), shp(c, i->rank, i->shape));
            break;
        case VM_PERMUTE: {
            bool seen[VM_MAX_DIMS] = {0};
            for (int d = 0; d < x->rank; d++) {
                if (i->perm[d] < 0 || i->perm[d] >= x->rank || seen[i->perm[d]]) {
                    err(c, i->loc, "permute: not a permutation of %d dims", x->rank);
                    break;
                }
                seen[i->perm[d]] = true;
            }
            break;
        }
        case VM_TRANSPOSE:
            if (x->rank < 2)
                err(c, i->loc, "transpose needs rank >= 2, got %d", x->rank);
            break;
        case VM_CONCAT:
            if (!use(c, i, i->a[1], VM_REG, "operand 2"))
                break;
            same_dtype(c, i, i->a[1], x->dtype, "operand 2");
            if (i->dim < 0 || i->dim >= x->rank)
                err(c, i->loc, "concat: dim %d is out of range for rank %d", i->dim, x->rank);
            else {
                bool ok = i->a[1]->rank == x->rank;
                for (int d = 0; ok && d < x->rank; d++)
                    ok = d == i->dim || x->shape[d] == i->a[1]->shape[d];
                if (!ok)
                    err(c, i->loc, "concat: shapes %s and %s differ outside dim %d",
                        shp(c, x->rank, x->shape), shp(c, i->a[1]->rank, i->a[1]->shape), i->dim);
            }
            break;
        default:
            break;
        }
        break;
    }
    case VM_C_ATOMIC:
        if (!tile(c, i, &i->mem[0], VM_GLOBAL, "destination"))
            break;
        if (i->op == VM_ATOMIC_ADD) {
            tr = vm_tile_shape(&i->mem[0], ts);
            if (use(c, i, i->a[0], VM_REG, "value")) {
                same_dtype(c, i, i->a[0], i->mem[0].base->dtype, "value");
                same_shape(c, i, i->a[0], tr, ts, "value");
            }
        } else {
            all_indices(c, i, &i->mem[0]);
            if (!vm_dtype_is_int(i->mem[0].base->dtype) || vm_dtype_bits(i->mem[0].base->dtype) != 32)
                err(c, i->loc, "%s: semaphores are i32 or u32, '%s' is %s", op,
                    nm(c, i->mem[0].base), dtn(i->mem[0].base->dtype));
            check_int_expr(c, i->e[0], i->loc, "the semaphore value");
        }
        break;
    case VM_C_CONST:
        if (!dt_ok(i->dtype)) {
            err(c, i->loc, "%s: invalid dtype", op);
            break;
        }
        shape_ok(c, i, i->rank, i->shape);
        if (i->op == VM_FULL)
            check_expr(c, i->e[0], false, i->loc);
        if (i->op == VM_ARANGE && (i->rank != 1 || vm_dtype_is_float(i->dtype) ||
                                   i->dtype == VM_DT_BOOL))
            err(c, i->loc, "arange: needs an integer dtype and one dim");
        if (i->op == VM_RAND) {
            check_int_expr(c, i->e[0], i->loc, "rand's seed");
            check_int_expr(c, i->e[1], i->loc, "rand's offset");
        }
        break;
    case VM_C_DEBUG:
        if (i->op == VM_PRINTF) {
            if (!i->str)
                err(c, i->loc, "printf: missing format");
            for (int j = 0; j < i->neargs; j++)
                check_expr(c, i->eargs[j], false, i->loc);
        } else if (i->op == VM_PRINT) {
            use(c, i, i->a[0], VM_REG, "operand");
        } else if (i->op == VM_ASSUME) {
            if (check_expr(c, i->e[0], false, i->loc) && i->e[0]->dtype != VM_DT_BOOL)
                err(c, i->loc, "assume needs a bool condition, got %s", dtn(i->e[0]->dtype));
        }
        break;
    case VM_C_VAR: {
        Var *v = i->var;
        if (!v) {
            err(c, i->loc, "%s: missing variable", op);
            break;
        }
        if (i->op == VM_ASSIGN) {
            if (!c->vardef[v->id]) {
                err(c, i->loc, "assignment to '%s' before its definition or outside its scope",
                    v->name);
                break;
            }
            if (!v->mut) {
                err(c, i->loc, "cannot assign to '%s': it is not a var", v->name);
                break;
            }
        }
        if (v->scalar) {
            if (check_expr(c, i->e[0], false, i->loc) && i->e[0]->dtype != v->dtype)
                err(c, i->loc, "%s '%s' is %s, the value is %s", i->op == VM_ASSIGN ?
                    "assignment: variable" : "var:", v->name, dtn(v->dtype), dtn(i->e[0]->dtype));
        } else if (use(c, i, i->a[0], VM_REG, "value")) {
            if (i->a[0]->dtype != v->dtype)
                err(c, i->loc, "assignment to '%s' changes its dtype from %s to %s", v->name,
                    dtn(v->dtype), dtn(i->a[0]->dtype));
            else if (v->val)
                same_shape(c, i, i->a[0], v->val->rank, v->val->shape, "value");
        }
        if (i->op == VM_VAR_DEF)
            define_var(c, v);
        break;
    }
    case VM_C_CTRL:
        switch (i->op) {
        case VM_FOR: {
            bool ok = true;
            for (int j = 0; j < 3; j++)
                ok = check_int_expr(c, i->e[j], i->loc, "a range bound") && ok;
            if (ok && (i->e[0]->dtype != i->e[1]->dtype || i->e[1]->dtype != i->e[2]->dtype))
                err(c, i->loc, "range bounds have different dtypes %s, %s, %s",
                    dtn(i->e[0]->dtype), dtn(i->e[1]->dtype), dtn(i->e[2]->dtype));
            int64_t s;
            if (ok && vm_e_const_int(i->e[2], &s) && s == 0)
                err(c, i->loc, "range step is 0");
            if (!i->var || !i->var->scalar)
                err(c, i->loc, "for: missing loop variable");
            nested(c, &i->body, i->var, true);
            break;
        }
        case VM_WHILE:
        case VM_IF:
            if (check_expr(c, i->e[0], false, i->loc) && i->e[0]->dtype != VM_DT_BOOL)
                err(c, i->loc, "condition of %s must be a bool scalar, got %s", op,
                    dtn(i->e[0]->dtype));
            nested(c, &i->body, NULL, i->op == VM_WHILE);
            if (i->op == VM_IF)
                nested(c, &i->orelse, NULL, false);
            else if (i->orelse.first)
                err(c, i->loc, "while has no else block");
            break;
        case VM_BREAK:
        case VM_CONTINUE:
            if (!c->loops)
                err(c, i->loc, "%s outside a loop", op);
            break;
        default:
            break;
        }
        break;
    }
    if (r)
        define_value(c, r);
    if (i->res2)
        define_value(c, i->res2);
}

static void walk_block(Ctx *c, Block *b) {
    for (Inst *i = b->first; i; i = i->next)
        check_inst(c, i);
}

/* ---------------------------------------------------------------- values and kernels */

static void check_value_layout(Ctx *c, Value *v) {
    if (v->kind != VM_REG)
        return;
    if (v->lstate == VM_LAY_UNKNOWN) {
        if (c->layouts_done)
            err(c, v->loc, "layout of '%s' is unknown: annotate it with @ layout", nm(c, v));
        return;
    }
    Layout L = v->layout;
    int t = lay_num_threads(L);
    if (t != c->nthreads)
        err(c, v->loc, "layout of '%s' has %d threads; the kernel has %d (32 * warps %d)",
            nm(c, v), t, c->nthreads, c->k->warps);
    if (!vm_shape_eq(L.rank, L.shape, v->rank, v->shape))
        err(c, v->loc, "layout of '%s' has shape %s, the tensor %s", nm(c, v),
            shp(c, L.rank, L.shape), shp(c, v->rank, v->shape));
}

static void check_kernel(Prog *p, Kernel *k, VmDiags *d) {
    Ctx c = {.k = k, .d = d, .a = d->arena, .layouts_done = p->layouts_done};
    c.nthreads = 32 * k->warps;
    c.vdef = vm_alloc(c.a, (size_t)k->nvalues + 1);
    c.sstate = vm_alloc(c.a, (size_t)k->nvalues + 1);
    c.sdepth = vm_alloc(c.a, sizeof(int) * ((size_t)k->nvalues + 1));
    c.vardef = vm_alloc(c.a, (size_t)k->nvars + 1);

    if (k->warps < 1 || k->warps > VM_MAX_WARPS)
        err(&c, k->loc, "warps(%d) of kernel '%s' is out of range 1..32", k->warps, k->name);
    if (k->ngrid < 1 || k->ngrid > 3)
        err(&c, k->loc, "kernel '%s' has a grid of %d dims (1 to 3)", k->name, k->ngrid);
    for (int g = 0; g < k->ngrid && g < 3; g++)
        if (check_expr(&c, k->grid[g], true, k->loc) && !int_scalar(k->grid[g]->dtype))
            err(&c, k->loc, "grid size must be an integer, got %s", dtn(k->grid[g]->dtype));
    if (k->depth)
        err(&c, k->loc, "kernel '%s': %d control-flow block%s left open (missing vm_b_end)",
            k->name, k->depth, k->depth == 1 ? "" : "s");

    for (int j = 0; j < k->nparams; j++) {
        Param *q = k->params[j];
        for (int m = 0; m < j; m++)
            if (!strcmp(k->params[m]->name, q->name))
                err(&c, q->loc, "parameter '%s' is declared twice", q->name);
        if (q->kind == VM_P_SCALAR) {
            if (q->dtype != VM_DT_I32 && q->dtype != VM_DT_I64 && q->dtype != VM_DT_F32)
                err(&c, q->loc, "scalar parameter '%s' must be i32, i64 or f32, not %s", q->name,
                    dtn(q->dtype));
            continue;
        }
        if (!dt_ok(q->dtype))
            err(&c, q->loc, "tensor parameter '%s' has an invalid dtype", q->name);
        if (q->rank < 1)
            err(&c, q->loc, "tensor parameter '%s' needs at least one dim", q->name);
        for (int m = 0; m < q->rank; m++)
            if (check_expr(&c, q->shape ? q->shape[m] : NULL, true, q->loc) &&
                !int_scalar(q->shape[m]->dtype))
                err(&c, q->loc, "shape of '%s' must be integers, got %s", q->name,
                    dtn(q->shape[m]->dtype));
        if (q->value)
            c.vdef[q->value->id] = 1;
    }

    walk_block(&c, &k->body);
    scope_end(&c, 0);
    if (c.pending_copies)
        err(&c, c.last_copy, "copy_async is never committed (missing commit)");
    for (int j = 0; j < k->nvalues; j++)
        check_value_layout(&c, k->values[j]);
}

bool vm_verify(Prog *p, VmDiags *d) {
    int before = d->n;
    for (int i = 0; i < p->nkernels; i++) {
        Kernel *k = p->kernels[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(p->kernels[j]->name, k->name))
                vm_diag(d, k->loc, "kernel '%s' is defined twice", k->name);
        check_kernel(p, k, d);
    }
    return d->n == before;
}

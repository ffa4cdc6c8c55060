/* vm/infer.c - layout inference (VM.md 4.3).
 *
 * Input: a verified Prog whose register values may lack layouts (explicit
 * `@ layout` annotations are kept as they are). Output: every register value
 * has a layout (VM_LAY_INFERRED where filled here), every shared tensor a
 * shared layout (row-major unless given), and prog->layouts_done is set; or
 * diagnostics where a layout stays unknown or two constraints conflict.
 *
 * A fixpoint over local rules, each relating the values of one instruction:
 *   elementwise ops (unary, binary, compare, fma, where, cast), broadcast,
 *     and the mask/other/index companions of loads, gathers and stores:
 *     the operands with the full shape share the result's layout F; a
 *     broadcast operand gets lay_reduce(F) over its broadcast dims (size-1
 *     dims kept, missing leading dims dropped). The way back, from a
 *     broadcast operand to the full layout, is not unique: never taken;
 *   var definitions and assignments: the value and the variable agree;
 *   dot: the result and the accumulator C agree. A and B get nothing from
 *     dot: the mma fragments arrive through annotations (the front end's
 *     mma_* constructors); unannotated they fall back to the defaults below
 *     and codegen to FMA;
 *   reduce_* / argmax: result = lay_reduce(operand); cumsum: equal;
 *   reshape / permute / transpose: lay_reshape / lay_permute both ways;
 *   view: never inferred across; with equal element widths and no result
 *     layout, the result is the operand's explicit layout (that is what the
 *     view means; the verifier requires an explicit side).
 * When the rules stall, the largest candidate still unknown (the first in
 * program order among equals) gets vm_default_layout and the fixpoint
 * resumes, so large tiles choose and the small operands broadcast against
 * them follow. Candidates: sources (load, gather, load_shared, constants,
 * slice, concat, topk), elementwise results with no full-shape operand (an
 * outer product), and broadcasts, which take their operand's layout with
 * the new extent local (a weak forward rule, applied only then so that
 * constraints from their users win). Nothing else is defaulted: a value
 * left unknown is reported ("annotate it with @ layout"), only where the
 * chain of unknowns starts. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm/vm.h"

typedef struct {
    Kernel *k;
    VmDiags *d;
    VmArena *a;
    int nthreads;
    bool changed;
    uint8_t *reported; /* per inst id: a conflict was reported */
    uint8_t *failed;   /* per value id: no default layout (reported) */
    uint8_t *blocked;  /* per value id: see find_blocked */
} Ctx;

static const char *lstr(Ctx *c, Layout L) {
    char buf[1024];
    lay_print(L, buf, sizeof buf);
    return vm_strdup(c->a, buf);
}

static const char *nm(Ctx *c, const Value *v) {
    return vm_value_label(c->a, v);
}

/* v must have layout L (required by instruction i). */
static void set(Ctx *c, const Inst *i, Value *v, Layout L) {
    if (!v || v->kind != VM_REG)
        return;
    if (v->lstate == VM_LAY_UNKNOWN) {
        v->layout = L;
        v->lstate = VM_LAY_INFERRED;
        c->changed = true;
        return;
    }
    if (lay_eq(v->layout, L) || c->reported[i->id])
        return;
    c->reported[i->id] = 1;
    vm_diag(c->d, i->loc, "conflicting layouts for '%s' at %s: it has %s%s, %s needs %s",
            nm(c, v), vm_op_name(i->op), lstr(c, v->layout),
            v->lstate == VM_LAY_EXPLICIT ? " (annotated)" : "", vm_op_name(i->op), lstr(c, L));
}

static bool known(const Value *v) {
    return v && v->kind == VM_REG && v->lstate != VM_LAY_UNKNOWN;
}

/* The layout of an operand of shape (r, s) broadcast to a full layout F. */
static bool broadcast_layout(Layout F, int r, const int32_t *s, Layout *out) {
    int R = F.rank, lead = R - r, dims[VM_MAX_DIMS], n = 0;
    if (lead < 0)
        return false;
    for (int d = lead; d < R; d++)
        if (s[d - lead] == 1 && F.shape[d] != 1)
            dims[n++] = d;
        else if (s[d - lead] != F.shape[d])
            return false;
    Layout L = F;
    if (n && lay_reduce(&L, F, n, dims, true) != LAY_OK)
        return false;
    n = 0;
    for (int d = 0; d < lead; d++)
        dims[n++] = d;
    if (n && lay_reduce(&L, L, n, dims, false) != LAY_OK)
        return false;
    *out = L;
    return true;
}

/* Members of an elementwise group around the full shape (rank, shape). */
static void group(Ctx *c, const Inst *i, Value **vs, int n, int rank, const int32_t *shape) {
    Value *full = NULL;
    for (int j = 0; j < n; j++)
        if (known(vs[j]) && vm_shape_eq(vs[j]->rank, vs[j]->shape, rank, shape)) {
            full = vs[j];
            break;
        }
    if (!full)
        return;
    for (int j = 0; j < n; j++) {
        Value *v = vs[j];
        if (!v || v == full || v->kind != VM_REG)
            continue;
        Layout L;
        if (vm_shape_eq(v->rank, v->shape, rank, shape))
            set(c, i, v, full->layout);
        else if (broadcast_layout(full->layout, v->rank, v->shape, &L))
            set(c, i, v, L);
    }
}

static void equal(Ctx *c, const Inst *i, Value *x, Value *y) {
    if (!x || !y || x->kind != VM_REG || y->kind != VM_REG ||
        !vm_shape_eq(x->rank, x->shape, y->rank, y->shape))
        return;
    if (known(x))
        set(c, i, y, x->layout);
    else if (known(y))
        set(c, i, x, y->layout);
}

static void permuted(Ctx *c, const Inst *i, Value *x, Value *r, const int *perm) {
    if (!x || !r || x->kind != VM_REG || x->rank != r->rank)
        return;
    int inv[VM_MAX_DIMS];
    for (int d = 0; d < x->rank; d++) {
        if (perm[d] < 0 || perm[d] >= x->rank)
            return;
        inv[perm[d]] = d;
    }
    Layout L;
    if (known(x) && lay_permute(&L, x->layout, perm) == LAY_OK)
        set(c, i, r, L);
    else if (known(r) && lay_permute(&L, r->layout, inv) == LAY_OK)
        set(c, i, x, L);
}

static void rule(Ctx *c, Inst *i) {
    Value *r = i->res;
    Layout L;
    switch (vm_ops[i->op].cls) {
    case VM_C_UNARY:
    case VM_C_BINARY:
    case VM_C_CMP:
    case VM_C_TERNARY: {
        Value *vs[4] = {r, i->a[0], i->a[1], i->a[2]};
        if (r)
            group(c, i, vs, 4, r->rank, r->shape);
        break;
    }
    case VM_C_MEM:
        if (i->op == VM_LOAD_GLOBAL || i->op == VM_GATHER) {
            Value *vs[3] = {r, i->a[0], i->a[1]};
            group(c, i, vs, 3, r->rank, r->shape);
        } else if (i->op == VM_STORE_GLOBAL && i->a[0]) {
            Value *vs[2] = {i->a[0], i->a[1]};
            group(c, i, vs, 2, i->a[0]->rank, i->a[0]->shape);
        }
        break;
    case VM_C_VIEW: {
        Value *x = i->a[0];
        if (!known(r) && x && x->lstate == VM_LAY_EXPLICIT && i->dtype >= 0 &&
            vm_dtype_bits(i->dtype) == vm_dtype_bits(x->dtype))
            set(c, i, r, x->layout);
        break;
    }
    case VM_C_DOT:
        equal(c, i, r, i->a[2]);
        break;
    case VM_C_REDUCE:
        if (i->op == VM_CUMSUM)
            equal(c, i, r, i->a[0]);
        else if (i->op == VM_TOPK)
            equal(c, i, r, i->res2);
        else if (known(i->a[0]) && i->dim >= 0 && i->dim < i->a[0]->rank &&
                 lay_reduce(&L, i->a[0]->layout, 1, &i->dim, i->keepdim) == LAY_OK)
            set(c, i, r, L);
        break;
    case VM_C_SHAPE:
        switch (i->op) {
        case VM_BROADCAST: {
            Value *vs[2] = {r, i->a[0]};
            group(c, i, vs, 2, r->rank, r->shape);
            break;
        }
        case VM_RESHAPE: {
            Value *x = i->a[0];
            if (!x || x->kind != VM_REG)
                break;
            if (known(x) && lay_reshape(&L, x->layout, r->rank, r->shape) == LAY_OK)
                set(c, i, r, L);
            else if (known(r) && lay_reshape(&L, r->layout, x->rank, x->shape) == LAY_OK)
                set(c, i, x, L);
            break;
        }
        case VM_PERMUTE:
            permuted(c, i, i->a[0], r, i->perm);
            break;
        case VM_TRANSPOSE: {
            int perm[VM_MAX_DIMS];
            int n = r->rank;
            for (int d = 0; d < n; d++)
                perm[d] = d;
            if (n >= 2) {
                perm[n - 2] = n - 1;
                perm[n - 1] = n - 2;
            }
            permuted(c, i, i->a[0], r, perm);
            break;
        }
        default:
            break;
        }
        break;
    case VM_C_VAR:
        if (i->var && !i->var->scalar)
            equal(c, i, i->var->val, i->a[0]);
        break;
    default:
        break;
    }
}

static void rules_block(Ctx *c, Block *b) {
    for (Inst *i = b->first; i; i = i->next) {
        rule(c, i);
        rules_block(c, &i->body);
        rules_block(c, &i->orelse);
    }
}

/* A broadcast nobody constrains: the operand's layout with the new extent
 * held locally, outermost (local(f) * X; its reduce gives X back). */
static LayStatus broadcast_forward(const Value *x, const Value *r, Layout *out) {
    int f[VM_MAX_DIMS], lead = r->rank - x->rank;
    if (lead < 0)
        return LAY_ERR_SHAPE;
    for (int d = 0; d < r->rank; d++) {
        int xs = d < lead ? 1 : x->shape[d - lead];
        f[d] = xs == 1 ? r->shape[d] : 1;
    }
    Layout F;
    LayStatus st = lay_local(&F, r->rank, f);
    return st ? st : lay_product(out, F, x->layout);
}

static bool is_source(Op op) {
    switch (op) {
    case VM_LOAD_GLOBAL: case VM_GATHER: case VM_LOAD_SHARED: case VM_ZEROS: case VM_FULL:
    case VM_ARANGE: case VM_RAND: case VM_SLICE: case VM_CONCAT: case VM_TOPK: case VM_BROADCAST:
        return true;
    default:
        return false;
    }
}

/* An elementwise result none of whose operands has its full shape (an
 * outer product col[m, 1] + row[1, n]) gets no layout from the rules; it may
 * take a default like a source (before its smaller operands), unless it is
 * blocked (find_blocked). */
static bool is_elementwise(Op op) {
    InstClass k = vm_ops[op].cls;
    return k == VM_C_UNARY || k == VM_C_BINARY || k == VM_C_CMP || k == VM_C_TERNARY;
}

/* blocked: unknown for a reason no default fixes - a view without a layout,
 * a reshape/permute the algebra cannot follow, or anything computed from
 * such a value. Values are numbered in creation order, operands first. */
static void find_blocked(Ctx *c) {
    Kernel *k = c->k;
    for (int j = 0; j < k->nvalues; j++) {
        Value *v = k->values[j];
        c->blocked[j] = 0;
        if (v->kind != VM_REG || known(v))
            continue;
        const Inst *i = v->var ? v->var->def : v->def;
        if (!i || is_source(i->op))
            continue;
        if (i->op == VM_VIEW) {
            c->blocked[j] = 1;
            continue;
        }
        Value *ops[5];
        int n = vm_inst_operands(i, ops);
        bool all_known = true;
        for (int m = 0; m < n; m++) {
            if (ops[m]->kind != VM_REG || ops[m] == v)
                continue;
            if (c->blocked[ops[m]->id])
                c->blocked[j] = 1;
            all_known = all_known && known(ops[m]);
        }
        if (all_known && !is_elementwise(i->op))
            c->blocked[j] = 1;
    }
}

static bool pending(Ctx *c, const Value *v) {
    return v && v->lstate == VM_LAY_UNKNOWN && !c->failed[v->id];
}

static void consider(Ctx *c, Value *v, Value **best) {
    if (pending(c, v) && (!*best || vm_shape_numel(v->rank, v->shape) >
                                        vm_shape_numel((*best)->rank, (*best)->shape)))
        *best = v;
}

/* The source still unknown with the most elements, the first in program
 * order among equals: large tiles choose, and the small operands broadcast
 * against them (indices, scales, masks) follow through the rules. */
static void next_source(Ctx *c, Block *b, Value **best) {
    for (Inst *i = b->first; i; i = i->next) {
        if (is_source(i->op) || (is_elementwise(i->op) && i->res && !c->blocked[i->res->id])) {
            consider(c, i->res, best);
            consider(c, i->res2, best);
        }
        next_source(c, &i->body, best);
        next_source(c, &i->orelse, best);
    }
}

static Value *first_unknown_source(Ctx *c, Block *b) {
    Value *best = NULL;
    find_blocked(c);
    next_source(c, b, &best);
    return best;
}

static void fixpoint(Ctx *c) {
    do {
        c->changed = false;
        rules_block(c, &c->k->body);
    } while (c->changed);
}

/* Only the first unknown of a chain is reported: a value one of whose
 * operands is itself unknown is a consequence, not a cause. */
static bool downstream_of_unknown(const Value *v) {
    const Inst *i = v->var ? v->var->def : v->def;
    Value *ops[5];
    int n = i ? vm_inst_operands(i, ops) : 0;
    for (int j = 0; j < n; j++)
        if (ops[j] != v && ops[j]->kind == VM_REG && ops[j]->lstate == VM_LAY_UNKNOWN)
            return true;
    return false;
}

static void infer_kernel(Kernel *k, VmDiags *d) {
    Ctx c = {.k = k, .d = d, .a = d->arena, .nthreads = 32 * k->warps};
    c.reported = vm_alloc(c.a, (size_t)k->ninsts + 1);
    c.failed = vm_alloc(c.a, (size_t)k->nvalues + 1);
    c.blocked = vm_alloc(c.a, (size_t)k->nvalues + 1);
    for (int j = 0; j < k->nvalues; j++) {
        Value *v = k->values[j];
        if (v->kind != VM_SHARED || v->has_slayout)
            continue;
        int shape[VM_MAX_DIMS];
        for (int e = 0; e < v->rank; e++)
            shape[e] = v->shape[e];
        if (lay_shared_row_major(&v->slayout, v->rank, shape, vm_dtype_bits(v->dtype)) == LAY_OK)
            v->has_slayout = true;
        else
            vm_diag(d, v->loc, "no row-major shared layout for '%s' (%s)", nm(&c, v),
                    vm_dtype_name(v->dtype));
    }
    fixpoint(&c);
    for (Value *v; (v = first_unknown_source(&c, &k->body));) {
        Layout L;
        LayStatus st = v->def->op == VM_BROADCAST && known(v->def->a[0])
                           ? broadcast_forward(v->def->a[0], v, &L)
                           : vm_default_layout(&L, v->shape, v->rank, v->dtype, c.nthreads);
        if (st != LAY_OK) {
            vm_diag(d, v->loc, "no default layout for '%s' (%s): annotate it with @ layout",
                    nm(&c, v), lay_status_str(st));
            c.failed[v->id] = 1;
            continue;
        }
        v->layout = L;
        v->lstate = VM_LAY_INFERRED;
        fixpoint(&c);
    }
    for (int j = 0; j < k->nvalues; j++) {
        Value *v = k->values[j];
        if (v->kind != VM_REG || v->lstate != VM_LAY_UNKNOWN || c.failed[v->id] ||
            downstream_of_unknown(v))
            continue;
        if (v->def && v->def->op == VM_VIEW)
            vm_diag(d, v->loc, "layout of '%s' is unknown: layouts are never inferred across a "
                    "view; annotate it with @ layout", nm(&c, v));
        else
            vm_diag(d, v->loc, "layout of '%s' is unknown: annotate it with @ layout", nm(&c, v));
    }
}

bool vm_infer_layouts(Prog *p, VmDiags *d) {
    int before = d->n;
    for (int i = 0; i < p->nkernels; i++)
        infer_kernel(p->kernels[i], d);
    p->layouts_done = d->n == before;
    return p->layouts_done;
}

static int gcd(int a, int b) {
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

LayStatus vm_default_layout(Layout *out, const int32_t *shape, int rank, Dtype dt,
                            int nthreads) {
    if (rank < 0 || rank > VM_MAX_DIMS || nthreads < 1)
        return LAY_ERR_RANK;
    if (rank == 0)
        return lay_replicate(out, nthreads);
    for (int d = 0; d < rank; d++)
        if (shape[d] < 1)
            return LAY_ERR_SHAPE;
    int bits = vm_dtype_bits(dt);
    int maxv = bits >= 128 || bits < 1 ? 1 : 128 / bits;
    int v = 1;
    while (v * 2 <= maxv && shape[rank - 1] % (v * 2) == 0)
        v *= 2;
    int outer[VM_MAX_DIMS], threads[VM_MAX_DIMS], inner[VM_MAX_DIMS];
    int rem = nthreads;
    for (int d = rank - 1; d >= 0; d--) {
        int m = d == rank - 1 ? shape[d] / v : shape[d];
        threads[d] = gcd(m, rem);
        rem /= threads[d];
        outer[d] = m / threads[d];
        inner[d] = d == rank - 1 ? v : 1;
    }
    Layout R, A, B, C, t;
    LayStatus st;
    if ((st = lay_replicate(&R, rem)) || (st = lay_local(&A, rank, outer)) ||
        (st = lay_spatial(&B, rank, threads)) || (st = lay_local(&C, rank, inner)) ||
        (st = lay_product(&t, R, A)) || (st = lay_product(&t, t, B)) ||
        (st = lay_product(out, t, C)))
        return st;
    return LAY_OK;
}

/* vm/interp_mem.c - memory for the interpreter: global tiles (masks,
 * strided views, workspace), atomics and semaphores, the shared-memory plan,
 * shared tiles, asynchronous copies and the race checks (VM.md 2, 5, 7).
 *
 * Global tensors are dense bit streams: element coord sits at bit
 * (sum coord[d] * stride[d]) * bits from the tensor's base byte. A tile
 * element is read or written only when 0 <= coord < shape in every dim and
 * the mask (broadcast to the tile) is true; other elements of a load take
 * `other` (default 0); an element inside the shape whose address falls
 * outside the argument's bytes (a bad global_view) is a fault. Blocks run in
 * grid order, so atomic_add is a plain add with the dtype's arithmetic, and
 * lock(G[i], v) either finds v now or faults: no later block can run first.
 *
 * Shared memory is one byte array per block; a shared tensor's element idx
 * is at plan offset + lay_shared_bit_offset(layout, idx). Per byte the
 * interpreter keeps the thread that last wrote it, the barrier epoch of that
 * write (sync() starts a new epoch), the thread (or "several") that read it
 * in the current epoch and how many copy_asyncs are in flight to it. Race
 * checks:
 *   - store_shared: element e is written by the lowest thread holding it in
 *     the stored value's layout (replicas write once);
 *   - load_shared: every (thread, local) of the result layout reads its
 *     element; a byte never written since its shared_alloc, a byte with a
 *     copy in flight, or a byte written in the current epoch by another
 *     thread is a fault;
 *   - copy_async bytes (zero-filled where masked) land at the wait that
 *     completes their group, written by "the async unit": like a write by
 *     another thread, reading them needs a sync() after that wait;
 *   - write after read: store_shared or copy_async (at issue) to a byte that
 *     another thread read in the current epoch, or store_shared to a byte
 *     with a copy in flight, is a fault (the reader may not be done).
 * Races are tracked per byte: sub-byte elements of different threads in one
 * byte count as one writer (the last), which on the GPU is a race as well. */
#include <stdlib.h>
#include <string.h>

#include "vm/interp.h"

/* ---------------------------------------------------------------- windows */

typedef struct {
    int rank;
    int64_t start[VM_MAX_DIMS];
    int32_t size[VM_MAX_DIMS];
    int64_t n;
    int rrank; /* result rank (indexed dims dropped) */
    int32_t rshape[VM_MAX_DIMS];
} Win;

static bool window(Interp *ix, const Inst *i, const Tile *t, Win *w)
{
    memset(w, 0, sizeof *w);
    w->rank = t->rank;
    w->n = 1;
    for (int d = 0; d < t->rank; d++) {
        w->start[d] = 0;
        if (t->start[d] && !ix_eval_int(ix, t->start[d], &w->start[d]))
            return false;
        w->size[d] = t->size[d];
        if (w->size[d] < 0 || (t->drop[d] && w->size[d] != 1))
            return ix_fault(ix, i->loc, "%s: bad tile size %d in dim %d", vm_op_name(i->op),
                            w->size[d], d);
        w->n *= w->size[d];
    }
    w->rrank = vm_tile_shape(t, w->rshape);
    return true;
}

/* the next position of an odometer over w's sizes (last dim fastest) */
static void win_next(const Win *w, int64_t *c)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        if (++c[d] < w->size[d])
            return;
        c[d] = 0;
    }
}

/* ---------------------------------------------------------------- global */

static Glob *gget(Interp *ix, const Inst *i, const Value *v)
{
    if (!v || v->kind != VM_GLOBAL) {
        ix_fault(ix, i->loc, "%s: a global tensor was expected", vm_op_name(i->op));
        return NULL;
    }
    Glob *g = &ix->glob[v->id];
    if (!g->param && g->gen != ix->gen) {
        ix_fault(ix, i->loc, "%s: %s is used before it is defined", vm_op_name(i->op),
                 vm_value_label(ix->faults->arena, v));
        return NULL;
    }
    return g;
}

/* 1: in the shape, *bit set; 0: outside the shape; -1: fault */
static int gaddr(Interp *ix, const Inst *i, const Glob *g, const int64_t *co, uint64_t *bit)
{
    int64_t lin = 0;
    for (int d = 0; d < g->rank; d++) {
        if (co[d] < 0 || co[d] >= g->shape[d])
            return 0;
        lin += co[d] * g->stride[d];
    }
    int bits = vm_dtype_bits(g->dt);
    if (lin < 0 || (uint64_t)lin * (uint64_t)bits + (uint64_t)bits > g->nbits) {
        ix_fault(ix, i->loc, "%s: element %lld of a %s tensor lies outside its bytes",
                 vm_op_name(i->op), (long long)lin, vm_dtype_name(g->dt));
        return -1;
    }
    *bit = (uint64_t)lin * (uint64_t)bits;
    return 1;
}

/* coordinates of tile position c (gather: dim replaced by the index) */
static void coord(const Win *w, const int64_t *c, int64_t *co)
{
    for (int d = 0; d < w->rank; d++)
        co[d] = w->start[d] + c[d];
}

static bool mask_of(Interp *ix, const Inst *i, const Value *m, const Win *w, const Ten **mt,
                    int64_t **midx)
{
    *mt = NULL;
    *midx = NULL;
    if (!m)
        return true;
    *mt = ix_reg(ix, i, m);
    if (!*mt)
        return false;
    *midx = ix_bcast(ix, i, *mt, w->rrank, w->rshape);
    return *midx != NULL;
}

static bool load_global(Interp *ix, const Inst *i)
{
    Win w;
    Glob *g = gget(ix, i, i->mem[0].base);
    if (!g || !window(ix, i, &i->mem[0], &w))
        return false;
    const Ten *mt, *ot = NULL;
    int64_t *midx, *oidx = NULL;
    if (!mask_of(ix, i, i->a[0], &w, &mt, &midx))
        return false;
    if (i->a[1]) {
        ot = ix_reg(ix, i, i->a[1]);
        if (!ot || !(oidx = ix_bcast(ix, i, ot, w.rrank, w.rshape)))
            return free(midx), false;
    }
    Ten *r = ix_def(ix, i->res, g->dt, w.rrank, w.rshape);
    int bits = vm_dtype_bits(g->dt);
    int64_t c[VM_MAX_DIMS] = {0}, co[VM_MAX_DIMS];
    bool ok = true;
    for (int64_t e = 0; e < w.n && ok; e++, win_next(&w, c)) {
        coord(&w, c, co);
        uint64_t bit;
        int in = mt && !mt->v[midx[e]] ? 0 : gaddr(ix, i, g, co, &bit);
        if (in < 0)
            ok = false;
        else if (in)
            r->v[e] = vm_bits_get(g->data, bit, bits);
        else
            r->v[e] = ot ? ix_conv(g->dt, ot->dt, ot->v[oidx[e]]) : 0;
    }
    free(midx);
    free(oidx);
    return ok;
}

typedef enum { ST_STORE, ST_ATOMIC_ADD } StoreKind;

static bool store_global(Interp *ix, const Inst *i, StoreKind kind)
{
    Win w;
    Glob *g = gget(ix, i, i->mem[0].base);
    if (!g || !window(ix, i, &i->mem[0], &w))
        return false;
    const Ten *v = ix_reg(ix, i, i->a[0]), *mt;
    int64_t *midx, *vidx;
    if (!v || !mask_of(ix, i, kind == ST_STORE ? i->a[1] : NULL, &w, &mt, &midx))
        return false;
    if (!(vidx = ix_bcast(ix, i, v, w.rrank, w.rshape)))
        return free(midx), false;
    int bits = vm_dtype_bits(g->dt);
    int64_t c[VM_MAX_DIMS] = {0}, co[VM_MAX_DIMS];
    bool ok = true;
    for (int64_t e = 0; e < w.n && ok; e++, win_next(&w, c)) {
        if (mt && !mt->v[midx[e]])
            continue;
        coord(&w, c, co);
        uint64_t bit;
        int in = gaddr(ix, i, g, co, &bit);
        if (in < 0)
            ok = false;
        if (in <= 0)
            continue;
        Code x = ix_conv(g->dt, v->dt, v->v[vidx[e]]);
        if (kind == ST_ATOMIC_ADD)
            x = vm_binop(VM_OP_ADD, g->dt, vm_bits_get(g->data, bit, bits), x);
        vm_bits_set(g->data, bit, bits, x);
    }
    free(midx);
    free(vidx);
    return ok;
}

static bool gather(Interp *ix, const Inst *i)
{
    Win w;
    Glob *g = gget(ix, i, i->mem[0].base);
    if (!g || !window(ix, i, &i->mem[0], &w))
        return false;
    if (i->dim < 0 || i->dim >= w.rank)
        return ix_fault(ix, i->loc, "gather: dim %d out of range", i->dim);
    const Ten *x = ix_reg(ix, i, i->a[0]);
    int64_t *xidx;
    if (!x || !(xidx = ix_bcast(ix, i, x, w.rrank, w.rshape)))
        return false;
    Ten *r = ix_def(ix, i->res, g->dt, w.rrank, w.rshape);
    int bits = vm_dtype_bits(g->dt);
    int64_t c[VM_MAX_DIMS] = {0}, co[VM_MAX_DIMS];
    bool ok = true;
    for (int64_t e = 0; e < w.n && ok; e++, win_next(&w, c)) {
        coord(&w, c, co);
        co[i->dim] = w.start[i->dim] + vm_decode_int(x->dt, x->v[xidx[e]]);
        uint64_t bit;
        int in = gaddr(ix, i, g, co, &bit);
        ok = in >= 0;
        r->v[e] = in > 0 ? vm_bits_get(g->data, bit, bits) : 0;
    }
    free(xidx);
    return ok;
}

/* the one element of a scalar tile (load_scalar, lock, release) */
static bool element(Interp *ix, const Inst *i, Glob **g, uint64_t *bit)
{
    Win w;
    *g = gget(ix, i, i->mem[0].base);
    if (!*g || !window(ix, i, &i->mem[0], &w))
        return false;
    if (w.n != 1)
        return ix_fault(ix, i->loc, "%s: the tile has %lld elements, one expected",
                        vm_op_name(i->op), (long long)w.n);
    int in = gaddr(ix, i, *g, w.start, bit);
    if (in == 0) {
        char s[128];
        int32_t c32[VM_MAX_DIMS];
        for (int d = 0; d < w.rank; d++)
            c32[d] = (int32_t)w.start[d];
        ix_index_str(w.rank, c32, s, sizeof s);
        return ix_fault(ix, i->loc, "%s: index %s is out of bounds", vm_op_name(i->op), s);
    }
    return in > 0;
}

static bool scalar_mem(Interp *ix, const Inst *i)
{
    Glob *g;
    uint64_t bit;
    if (!element(ix, i, &g, &bit))
        return false;
    int bits = vm_dtype_bits(g->dt);
    Code cur = vm_bits_get(g->data, bit, bits), want;
    if (i->op == VM_LOAD_SCALAR) {
        Var *v = i->var;
        if (!v)
            return ix_fault(ix, i->loc, "load_scalar without a variable");
        ix->svar[v->id] = ix_conv(v->dtype, g->dt, cur);
        ix->svar_gen[v->id] = ix->gen;
        return true;
    }
    if (!ix_eval(ix, i->e[0], &want))
        return false;
    want = ix_conv(g->dt, i->e[0]->dtype, want);
    if (i->op == VM_RELEASE) {
        vm_bits_set(g->data, bit, bits, want);
        return true;
    }
    if (cur != want)
        return ix_fault(ix, i->loc,
                        "semaphore wait can never be satisfied in grid order (it holds %lld, "
                        "the lock waits for %lld)",
                        (long long)vm_decode_int(g->dt, cur), (long long)vm_decode_int(g->dt, want));
    return true;
}

static bool eval_shape(Interp *ix, const Inst *i, const Value *v, Glob *g)
{
    g->rank = v->rank;
    g->dt = v->dtype;
    for (int d = 0; d < v->rank; d++) {
        if (!v->gshape || !ix_eval_int(ix, v->gshape[d], &g->shape[d]))
            return v->gshape ? false : ix_fault(ix, i->loc, "%s: no shape", vm_op_name(i->op));
        if (g->shape[d] < 0)
            return ix_fault(ix, i->loc, "%s: negative size %lld in dim %d", vm_op_name(i->op),
                            (long long)g->shape[d], d);
    }
    int64_t s = 1;
    for (int d = v->rank - 1; d >= 0; d--) {
        g->stride[d] = s;
        s *= g->shape[d];
        if (v->gstride && !ix_eval_int(ix, v->gstride[d], &g->stride[d]))
            return false;
    }
    return true;
}

static bool global_view(Interp *ix, const Inst *i)
{
    Glob *b = gget(ix, i, i->a[0]);
    int64_t off = 0;
    if (!b || (i->e[0] && !ix_eval_int(ix, i->e[0], &off)))
        return false;
    if (off < 0 || (uint64_t)off * 8 > b->nbits)
        return ix_fault(ix, i->loc, "global_view: byte offset %lld outside the tensor's %llu bytes",
                        (long long)off, (unsigned long long)(b->nbits / 8));
    Glob g = {.data = b->data + off, .nbits = b->nbits - (uint64_t)off * 8, .gen = ix->gen};
    if (!eval_shape(ix, i, i->res, &g))
        return false;
    ix->glob[i->res->id] = g;
    return true;
}

static bool workspace(Interp *ix, const Inst *i)
{
    Glob g = {.gen = ix->gen};
    if (!eval_shape(ix, i, i->res, &g))
        return false;
    int64_t n = 1;
    for (int d = 0; d < g.rank; d++)
        n *= g.shape[d];
    size_t bytes = vm_packed_bytes(g.dt, (size_t)n);
    Glob *old = &ix->glob[i->res->id];
    if (ix->ws[i->res->id] && old->nbits != (uint64_t)bytes * 8)
        return ix_fault(ix, i->loc, "workspace: its size differs between blocks");
    if (!ix->ws[i->res->id])
        ix->ws[i->res->id] = ix_xmalloc(bytes);
    g.data = ix->ws[i->res->id];
    g.nbits = (uint64_t)bytes * 8;
    *old = g;
    return true;
}

/* ---------------------------------------------------------------- the plan */

LayStatus vm_shared_layout_of(const Value *v, SharedLayout *out)
{
    int bits = vm_dtype_bits(v->dtype);
    if (!v->has_slayout) {
        int shape[VM_MAX_DIMS];
        for (int d = 0; d < v->rank; d++)
            shape[d] = v->shape[d];
        return lay_shared_row_major(out, v->rank, shape, bits);
    }
    *out = v->slayout;
    if (out->elem_bits != bits || !vm_shape_eq(out->rank, out->shape, v->rank, v->shape))
        return LAY_ERR_SHAPE;
    return LAY_OK;
}

typedef struct {
    int id;
    int64_t end;
    bool freed;
} Live;

typedef struct {
    Kernel *k;
    VmArena *a;
    VmDiags *d;
    Live *live;
    int n, cap;
    int64_t peak, *offset;
    bool ok;
} Plan;

static int nfreed(const Plan *p)
{
    int c = 0;
    for (int j = 0; j < p->n; j++)
        c += p->live[j].freed;
    return c;
}

static void plan_block(Plan *p, const Block *b);

static void plan_body(Plan *p, const Inst *i, const Block *b)
{
    int n0 = p->n, f0 = nfreed(p);
    plan_block(p, b);
    if (p->n != n0 || nfreed(p) != f0) {
        vm_diag(p->d, i->loc, "%s: its body must free exactly the shared tensors it allocates",
                vm_op_name(i->op));
        p->ok = false;
        p->n = n0;
    }
}

static void plan_block(Plan *p, const Block *b)
{
    for (const Inst *i = b->first; i; i = i->next) {
        switch (i->op) {
        case VM_SHARED_ALLOC: {
            SharedLayout s;
            if (!i->res || vm_shared_layout_of(i->res, &s) != LAY_OK) {
                vm_diag(p->d, i->loc, "shared_alloc: its shared layout does not fit its shape");
                p->ok = false;
                break;
            }
            int64_t top = p->n ? p->live[p->n - 1].end : 0;
            int64_t off = (top + VM_SHARED_ALIGN - 1) / VM_SHARED_ALIGN * VM_SHARED_ALIGN;
            p->live = vm_grow(p->a, p->live, p->n, &p->cap, sizeof *p->live);
            p->live[p->n++] = (Live){i->res->id, off + lay_shared_size(s), false};
            p->offset[i->res->id] = off;
            if (off + lay_shared_size(s) > p->peak)
                p->peak = off + lay_shared_size(s);
            break;
        }
        case VM_SHARED_FREE: {
            int j = p->n - 1;
            while (j >= 0 && (!i->a[0] || p->live[j].id != i->a[0]->id || p->live[j].freed))
                j--;
            if (j < 0) {
                vm_diag(p->d, i->loc, "shared_free of a tensor that is not allocated");
                p->ok = false;
                break;
            }
            p->live[j].freed = true;
            while (p->n > 0 && p->live[p->n - 1].freed)
                p->n--;
            break;
        }
        case VM_FOR:
        case VM_WHILE:
            plan_body(p, i, &i->body);
            break;
        case VM_IF:
            plan_body(p, i, &i->body);
            plan_body(p, i, &i->orelse);
            break;
        default:
            break;
        }
    }
}

bool vm_shared_plan(Kernel *k, VmArena *a, VmSharedPlan *plan, VmDiags *d)
{
    Plan p = {.k = k, .a = a, .d = d, .ok = true};
    p.offset = vm_alloc(a, sizeof *p.offset * (size_t)(k->nvalues + 1));
    for (int j = 0; j <= k->nvalues; j++)
        p.offset[j] = -1;
    plan_block(&p, &k->body);
    plan->offset = p.offset;
    plan->size = p.peak;
    return p.ok;
}

/* ---------------------------------------------------------------- shared */

void ix_shared_reset(Interp *ix)
{
    size_t n = (size_t)ix->plan.size;
    for (size_t b = 0; b < n; b++) {
        ix->swriter[b] = ix->sreader[b] = IX_NEVER;
        ix->sepoch[b] = ix->srepoch[b] = 0;
        ix->spend[b] = 0;
    }
    memset(ix->salloc, 0, (size_t)ix->k->nvalues + 1);
    ix->epoch = 0;
    ix->npend = ix->pend_head = 0;
    ix->ncommitted = ix->nlanded = 0;
}

/* bit offsets (from the block's shared base) of every element of a shared
 * tile, row-major over the tile */
static int64_t *stile(Interp *ix, const Inst *i, const Tile *t, Win *w)
{
    const Value *v = t->base;
    if (!v || v->kind != VM_SHARED) {
        ix_fault(ix, i->loc, "%s: a shared tensor was expected", vm_op_name(i->op));
        return NULL;
    }
    if (ix->salloc[v->id] != 1) {
        ix_fault(ix, i->loc, "%s: %s is %s", vm_op_name(i->op), vm_value_label(ix->faults->arena, v),
                 ix->salloc[v->id] ? "freed" : "not allocated");
        return NULL;
    }
    SharedLayout s;
    if (vm_shared_layout_of(v, &s) != LAY_OK) {
        ix_fault(ix, i->loc, "%s: the shared layout of %s does not fit it", vm_op_name(i->op),
                 vm_value_label(ix->faults->arena, v));
        return NULL;
    }
    if (!window(ix, i, t, w))
        return NULL;
    int64_t base = ix->plan.offset[v->id] * 8;
    int64_t *bit = ix_xmalloc(sizeof *bit * (size_t)(w->n ? w->n : 1));
    int64_t c[VM_MAX_DIMS] = {0};
    for (int64_t e = 0; e < w->n; e++, win_next(w, c)) {
        int32_t idx[VM_MAX_DIMS];
        for (int d = 0; d < w->rank; d++)
            idx[d] = (int32_t)(w->start[d] + c[d]);
        int64_t b = lay_shared_bit_offset(s, idx);
        if (b < 0) {
            char str[128];
            ix_index_str(w->rank, idx, str, sizeof str);
            ix_fault(ix, i->loc, "%s: index %s is outside %s", vm_op_name(i->op), str,
                     vm_value_label(ix->faults->arena, v));
            free(bit);
            return NULL;
        }
        bit[e] = base + b;
    }
    return bit;
}

static void swrite(Interp *ix, int64_t bit, int width, Code v, int32_t writer)
{
    vm_bits_set(ix->smem, (uint64_t)bit, width, v);
    for (int64_t b = bit / 8; b <= (bit + width - 1) / 8; b++) {
        ix->swriter[b] = writer;
        ix->sepoch[b] = ix->epoch;
    }
}

static bool sread_ok(Interp *ix, const Inst *i, int64_t bit, int width, int t)
{
    for (int64_t b = bit / 8; b <= (bit + width - 1) / 8; b++) {
        int32_t w = ix->swriter[b];
        if (ix->spend[b])
            return ix_fault(ix, i->loc,
                            "shared read by thread %d of bytes whose copy_async has not landed "
                            "(no wait for its group)", t);
        if (w == IX_NEVER)
            return ix_fault(ix, i->loc, "shared read by thread %d of bytes never written", t);
        if (w != t && ix->sepoch[b] == ix->epoch) {
            if (w == IX_ASYNC)
                return ix_fault(ix, i->loc,
                                "shared read by thread %d of copy_async bytes without a sync() "
                                "after their wait", t);
            return ix_fault(ix, i->loc,
                            "shared read of bytes written by thread %d without an intervening "
                            "sync() (reader thread %d)", w, t);
        }
        if (ix->sreader[b] != IX_NEVER && ix->srepoch[b] == ix->epoch && ix->sreader[b] != t)
            ix->sreader[b] = IX_MANY;
        else
            ix->sreader[b] = t;
        ix->srepoch[b] = ix->epoch;
    }
    return true;
}

/* write-after-read and write-over-copy checks for writer w (a thread or
 * IX_ASYNC) */
static bool swrite_ok(Interp *ix, const Inst *i, int64_t bit, int width, int32_t w)
{
    for (int64_t b = bit / 8; b <= (bit + width - 1) / 8; b++) {
        int32_t r = ix->sreader[b];
        if (w != IX_ASYNC && ix->spend[b])
            return ix_fault(ix, i->loc,
                            "shared write by thread %d to bytes with a copy_async in flight", w);
        if (r == IX_NEVER || ix->srepoch[b] != ix->epoch || r == w)
            continue;
        const char *who = w == IX_ASYNC ? "copy_async" : "shared write";
        if (r == IX_MANY)
            return ix_fault(ix, i->loc,
                            "%s to bytes read by several threads without an intervening sync()", who);
        return ix_fault(ix, i->loc, "%s to bytes read by thread %d without an intervening sync()",
                        who, r);
    }
    return true;
}

/* appends to the fault just reported which element of the tile it hit:
 * " (at s[3, 17])" */
static bool at_element(Interp *ix, const Tile *t, const Win *w, int64_t e)
{
    VmDiags *d = ix->faults;
    if (d->n == 0)
        return false;
    int32_t idx[VM_MAX_DIMS];
    for (int k = w->rank - 1; k >= 0; k--) {
        int64_t sz = w->size[k] > 0 ? w->size[k] : 1;
        idx[k] = (int32_t)(w->start[k] + e % sz);
        e /= sz;
    }
    char s[128];
    ix_index_str(w->rank, idx, s, sizeof s);
    d->v[d->n - 1].msg = vm_sprintf(d->arena, "%s (at %s%s)", d->v[d->n - 1].msg,
                                    vm_value_label(d->arena, t->base), s);
    return false;
}

static bool load_shared(Interp *ix, const Inst *i)
{
    Win w;
    Layout L;
    const int64_t *map = ix_lmap(ix, i, i->res, &L);
    if (!map)
        return false;
    int64_t *bit = stile(ix, i, &i->mem[0], &w);
    if (!bit)
        return false;
    Dtype dt = i->mem[0].base->dtype;
    int width = vm_dtype_bits(dt);
    bool ok = true;
    int n = lay_local_size(L);
    for (int t = 0; t < ix->nthreads && ok; t++)
        for (int l = 0; l < n && ok; l++)
            if (!sread_ok(ix, i, bit[map[(int64_t)t * n + l]], width, t))
                ok = at_element(ix, &i->mem[0], &w, map[(int64_t)t * n + l]);
    if (ok) {
        Ten *r = ix_def(ix, i->res, dt, w.rrank, w.rshape);
        for (int64_t e = 0; e < w.n; e++)
            r->v[e] = vm_bits_get(ix->smem, (uint64_t)bit[e], width);
    }
    free(bit);
    return ok;
}

/* the lowest thread holding each element of v (row-major) */
static int32_t *lowest_owners(Interp *ix, const Inst *i, const Value *v)
{
    Layout L;
    const int64_t *map = ix_lmap(ix, i, v, &L);
    if (!map)
        return NULL;
    int64_t n = lay_numel(L);
    int32_t *own = ix_xmalloc(sizeof *own * (size_t)(n ? n : 1));
    for (int64_t e = 0; e < n; e++)
        own[e] = -1;
    int nl = lay_local_size(L);
    for (int t = ix->nthreads - 1; t >= 0; t--)
        for (int l = 0; l < nl; l++)
            own[map[(int64_t)t * nl + l]] = t;
    for (int64_t e = 0; e < n; e++)
        if (own[e] < 0) {
            ix_fault(ix, i->loc, "%s: the layout of %s does not cover element %lld",
                     vm_op_name(i->op), vm_value_label(ix->faults->arena, v), (long long)e);
            free(own);
            return NULL;
        }
    return own;
}

static bool store_shared(Interp *ix, const Inst *i)
{
    Win w;
    const Ten *v = ix_reg(ix, i, i->a[0]);
    if (!v)
        return false;
    int32_t *own = lowest_owners(ix, i, i->a[0]);
    if (!own)
        return false;
    int64_t *bit = stile(ix, i, &i->mem[0], &w), *vidx = NULL;
    if (!bit || !(vidx = ix_bcast(ix, i, v, w.rrank, w.rshape))) {
        free(own);
        free(bit);
        return false;
    }
    Dtype dt = i->mem[0].base->dtype;
    int width = vm_dtype_bits(dt);
    bool ok = true;
    for (int64_t e = 0; e < w.n && ok; e++)
        if (!swrite_ok(ix, i, bit[e], width, own[vidx[e]]))
            ok = at_element(ix, &i->mem[0], &w, e);
    for (int64_t e = 0; e < w.n && ok; e++)
        swrite(ix, bit[e], width, ix_conv(dt, v->dt, v->v[vidx[e]]), own[vidx[e]]);
    free(own);
    free(bit);
    free(vidx);
    return ok;
}

static bool copy_async(Interp *ix, const Inst *i)
{
    Win sw, gw;
    Glob *g = gget(ix, i, i->mem[1].base);
    if (!g || !window(ix, i, &i->mem[1], &gw))
        return false;
    int64_t *bit = stile(ix, i, &i->mem[0], &sw), *midx;
    if (!bit)
        return false;
    const Ten *mt;
    Dtype dt = i->mem[0].base->dtype;
    if (gw.n != sw.n || vm_dtype_bits(dt) != vm_dtype_bits(g->dt) ||
        !vm_shape_eq(gw.rrank, gw.rshape, sw.rrank, sw.rshape)) {
        free(bit);
        return ix_fault(ix, i->loc, "copy_async: the shared and global tiles differ in shape or dtype");
    }
    if (!mask_of(ix, i, i->a[0], &gw, &mt, &midx))
        return free(bit), false;
    int width = vm_dtype_bits(dt);
    int64_t c[VM_MAX_DIMS] = {0}, co[VM_MAX_DIMS];
    bool ok = true;
    for (int64_t e = 0; e < gw.n && ok; e++, win_next(&gw, c)) {
        coord(&gw, c, co);
        uint64_t gb;
        int in = mt && !mt->v[midx[e]] ? 0 : gaddr(ix, i, g, co, &gb);
        if (in < 0 || !swrite_ok(ix, i, bit[e], width, IX_ASYNC)) {
            ok = in < 0 ? false : at_element(ix, &i->mem[0], &sw, e);
            break;
        }
        if (ix->npend == ix->pend_cap) {
            int64_t cap = ix->pend_cap ? 2 * ix->pend_cap : 1024;
            Pend *p = ix_xmalloc(sizeof *p * (size_t)cap);
            if (ix->npend)
                memcpy(p, ix->pend, sizeof *p * (size_t)ix->npend);
            free(ix->pend);
            ix->pend = p;
            ix->pend_cap = cap;
        }
        ix->pend[ix->npend++] = (Pend){bit[e], width, in ? vm_bits_get(g->data, gb, width) : 0,
                                       ix->ncommitted};
        for (int64_t b = bit[e] / 8; b <= (bit[e] + width - 1) / 8; b++)
            ix->spend[b]++;
    }
    free(bit);
    free(midx);
    return ok;
}

static bool wait_groups(Interp *ix, const Inst *i)
{
    if (ix->ncommitted == 0)
        return ix_fault(ix, i->loc, "wait(%d) with no matching commit()", i->n);
    int64_t target = ix->ncommitted - i->n;
    while (ix->pend_head < ix->npend && ix->pend[ix->pend_head].group < target) {
        Pend *p = &ix->pend[ix->pend_head++];
        swrite(ix, p->bit, p->width, p->v, IX_ASYNC);
        for (int64_t b = p->bit / 8; b <= (p->bit + p->width - 1) / 8; b++)
            ix->spend[b]--;
    }
    if (ix->pend_head == ix->npend)
        ix->pend_head = ix->npend = 0;
    if (target > ix->nlanded)
        ix->nlanded = target;
    return true;
}

static bool shared_alloc(Interp *ix, const Inst *i)
{
    const Value *v = i->res;
    int64_t off = ix->plan.offset[v->id];
    SharedLayout s;
    if (off < 0 || vm_shared_layout_of(v, &s) != LAY_OK)
        return ix_fault(ix, i->loc, "shared_alloc: not in the shared-memory plan");
    for (int64_t b = off; b < off + lay_shared_size(s); b++)
        ix->swriter[b] = ix->sreader[b] = IX_NEVER;
    ix->salloc[v->id] = 1;
    return true;
}

bool ix_mem(Interp *ix, const Inst *i)
{
    switch (i->op) {
    case VM_LOAD_GLOBAL: return load_global(ix, i);
    case VM_STORE_GLOBAL: return store_global(ix, i, ST_STORE);
    case VM_ATOMIC_ADD: return store_global(ix, i, ST_ATOMIC_ADD);
    case VM_GATHER: return gather(ix, i);
    case VM_LOAD_SCALAR:
    case VM_LOCK:
    case VM_RELEASE: return scalar_mem(ix, i);
    case VM_GLOBAL_VIEW: return global_view(ix, i);
    case VM_WORKSPACE: return workspace(ix, i);
    case VM_SHARED_ALLOC: return shared_alloc(ix, i);
    case VM_SHARED_FREE:
        if (!i->a[0] || i->a[0]->kind != VM_SHARED || ix->salloc[i->a[0]->id] != 1)
            return ix_fault(ix, i->loc, "shared_free of a tensor that is not allocated");
        ix->salloc[i->a[0]->id] = 2;
        return true;
    case VM_LOAD_SHARED: return load_shared(ix, i);
    case VM_STORE_SHARED: return store_shared(ix, i);
    case VM_COPY_ASYNC: return copy_async(ix, i);
    case VM_COMMIT: ix->ncommitted++; return true;
    case VM_WAIT: return wait_groups(ix, i);
    case VM_SYNC: ix->epoch++; return true;
    default: return ix_fault(ix, i->loc, "%s is not a memory instruction", vm_op_name(i->op));
    }
}

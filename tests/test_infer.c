/* tests/test_infer.c - layout inference (VM.md 4.3): backward and forward
 * propagation through elementwise ops, broadcast operands (lay_reduce of the
 * full layout), vars in loops, dot's accumulator, reductions, transposes, the
 * coalesced default for unconstrained loads, shared defaults, and the two
 * errors: conflicting constraints and a layout left unknown. Expected
 * layouts come from the rules in infer.c's header, written by hand. */
#include <string.h>

#include <criterion/criterion.h>

#include "vm/vm.h"

typedef struct {
    VmArena *a;
    Prog *p;
    Kernel *k;
    VmDiags d;
    Value *x, *y, *w; /* x, y: f32[m, n]; w: u8[nb] */
} T;

static T setup(int warps) {
    T t;
    t.a = vm_arena_new();
    t.p = vm_prog_new(t.a);
    t.k = vm_kernel_new(t.p, "k", (VmLoc){"i.lpk", 1, 1});
    vm_set_warps(t.k, warps);
    vm_diags_init(&t.d, t.a);
    Expr *mn[2] = {vm_e_param(t.k, vm_param_dim(t.k, "m")), vm_e_param(t.k, vm_param_dim(t.k, "n"))};
    Expr *nb[1] = {vm_e_param(t.k, vm_param_dim(t.k, "nb"))};
    t.x = vm_param_tensor(t.k, "x", VM_DT_F32, 2, mn)->value;
    t.y = vm_param_tensor(t.k, "y", VM_DT_F32, 2, mn)->value;
    t.w = vm_param_tensor(t.k, "w", VM_DT_U8, 1, nb)->value;
    vm_set_loc(t.k, (VmLoc){"i.lpk", 10, 3});
    return t;
}

static void line(T *t, int l) {
    vm_set_loc(t->k, (VmLoc){"i.lpk", l, 3});
}

static Layout P(const char *s) {
    Layout L;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return L;
}

static const char *msgs(T *t) {
    static char buf[4096];
    buf[0] = 0;
    for (int i = 0; i < t->d.n; i++) {
        char l[512];
        vm_diag_format(&t->d.v[i], l, sizeof l);
        strncat(buf, l, sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

static const char *lstr(Layout L) {
    static char buf[2][512];
    static int n;
    n ^= 1;
    lay_print(L, buf[n], sizeof buf[n]);
    return buf[n];
}

#define LAY_EQ(v, want)                                                      \
    cr_assert(lay_eq((v)->layout, (want)), "got %s, want %s", lstr((v)->layout), lstr(want))

static Value *load2(T *t, Value *g, int r, int c) {
    Tile tl = vm_tile(g);
    vm_tile_range(&tl, 0, NULL, r);
    vm_tile_range(&tl, 1, NULL, c);
    return vm_b_load_global(t->k, tl, NULL, NULL);
}

static void store2(T *t, Value *g, Value *v) {
    Tile tl = vm_tile(g);
    vm_tile_range(&tl, 0, NULL, v->shape[0]);
    vm_tile_range(&tl, 1, NULL, v->shape[1]);
    vm_b_store_global(t->k, tl, v, NULL);
}

static void infer_ok(T *t) {
    cr_assert(vm_verify(t->p, &t->d), "verify: %s", msgs(t));
    cr_assert(vm_infer_layouts(t->p, &t->d), "infer: %s", msgs(t));
    cr_assert(vm_verify(t->p, &t->d), "verify after: %s", msgs(t));
}

static void infer_fails(T *t, const char *want, int ln) {
    cr_assert_not(vm_infer_layouts(t->p, &t->d), "inferred; expected: %s", want);
    cr_assert_not(t->p->layouts_done);
    for (int i = 0; i < t->d.n; i++)
        if (strstr(t->d.v[i].msg, want)) {
            cr_assert_eq(t->d.v[i].loc.line, ln, "at line %d, expected %d", t->d.v[i].loc.line, ln);
            return;
        }
    cr_assert_fail("no diagnostic contains '%s'; got:\n%s", want, msgs(t));
}

/* An annotation on the sum flows back into both loads (no default). */
Test(infer, backward_through_elementwise) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 8), *b = load2(&t, t.y, 16, 8);
    Value *s = vm_b_binary(t.k, VM_ADD, a, b);
    Layout L = P("local(2, 1) * spatial(8, 4) * local(1, 2)"); /* the mma C fragment */
    vm_set_layout(s, L);
    Value *e = vm_b_unary(t.k, VM_EXP, s);
    store2(&t, t.y, e);
    infer_ok(&t);
    LAY_EQ(a, L);
    LAY_EQ(b, L);
    LAY_EQ(e, L);
    cr_assert_eq(a->lstate, VM_LAY_INFERRED);
    cr_assert_eq(s->lstate, VM_LAY_EXPLICIT);
    vm_arena_free(t.a);
}

/* Nothing constrains the load: the coalesced default, then forward. */
Test(infer, default_load) {
    T t = setup(4);
    Value *a = load2(&t, t.x, 64, 64);
    Value *c = vm_b_cast(t.k, a, VM_DT_F16);
    infer_ok(&t);
    Layout want;
    cr_assert_eq(vm_default_layout(&want, (int32_t[]){64, 64}, 2, VM_DT_F32, 128), LAY_OK);
    LAY_EQ(a, want);
    /* by hand: 4 f32 per thread, 16 threads per row, 8 rows, 8 row groups */
    LAY_EQ(a, P("local(8, 1) * spatial(8, 16) * local(1, 4)"));
    LAY_EQ(c, want); /* cast keeps the layout */
    vm_arena_free(t.a);
}

/* A row vector and a column vector broadcast against a [16, 64] tile get
 * the full layout reduced over their size-1 (or missing) dims. */
Test(infer, broadcast_operands) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 64);
    Value *row = vm_b_arange(t.k, VM_DT_I32, 64);
    Value *rowf = vm_b_cast(t.k, row, VM_DT_F32);
    Value *col = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 1});
    Value *s = vm_b_binary(t.k, VM_MUL, a, rowf);
    Value *u = vm_b_binary(t.k, VM_ADD, s, col);
    Layout L = P("local(8, 1) * spatial(2, 16) * local(1, 4)");
    vm_set_layout(u, L);
    store2(&t, t.y, u);
    infer_ok(&t);
    Layout r1, rc;
    cr_assert_eq(lay_reduce(&r1, L, 1, (int[]){0}, false), LAY_OK);
    cr_assert_eq(lay_reduce(&rc, L, 1, (int[]){1}, true), LAY_OK);
    LAY_EQ(a, L);
    LAY_EQ(rowf, r1);
    LAY_EQ(row, r1); /* through the cast */
    LAY_EQ(col, rc);
    /* by hand: 16 threads along a row, each row group replicated over 2 */
    LAY_EQ(rowf, P("replicate(2) * spatial(16) * local(4)"));
    vm_arena_free(t.a);
}

/* The annotated accumulator reaches the load inside the loop through the
 * var's assignment and the add. */
Test(infer, var_in_loop) {
    T t = setup(1);
    Layout L = P("spatial(16, 2) * local(1, 4)");
    Value *z = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 8});
    vm_set_layout(z, L);
    Var *acc = vm_b_var(t.k, "acc", z);
    vm_b_for(t.k, "i", vm_e_i32(t.k, 0), vm_e_i32(t.k, 4), NULL);
    Value *a = load2(&t, t.x, 16, 8);
    vm_b_assign(t.k, acc, vm_b_binary(t.k, VM_ADD, acc->val, a));
    vm_b_end(t.k);
    store2(&t, t.y, acc->val);
    infer_ok(&t);
    LAY_EQ(acc->val, L);
    LAY_EQ(a, L);
    vm_arena_free(t.a);
}

/* dot: the accumulator and the result agree; A and B take defaults. */
Test(infer, dot_accumulator) {
    T t = setup(1);
    Layout C = P("local(2, 1) * spatial(8, 4) * local(1, 2)");
    Value *A = load2(&t, t.x, 16, 16);
    Value *B = load2(&t, t.y, 16, 8);
    Value *c = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 8});
    Value *r = vm_b_dot(t.k, A, B, c);
    vm_set_layout(r, C);
    store2(&t, t.y, r);
    infer_ok(&t);
    LAY_EQ(c, C);
    Layout dA;
    cr_assert_eq(vm_default_layout(&dA, A->shape, 2, VM_DT_F32, 32), LAY_OK);
    LAY_EQ(A, dA);
    cr_assert_eq(B->lstate, VM_LAY_INFERRED);
    vm_arena_free(t.a);
}

/* reduce: lay_reduce of the operand; transpose: lay_permute both ways. */
Test(infer, reduce_and_transpose) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 32);
    Layout L = P("spatial(8, 4) * local(2, 8)");
    vm_set_layout(a, L);
    Value *m = vm_b_reduce(t.k, VM_REDUCE_MAX, a, 1, true);
    Value *n = vm_b_reduce(t.k, VM_REDUCE_SUM, a, 0, false);
    Value *tr = vm_b_transpose(t.k, a);
    Value *back = load2(&t, t.y, 32, 16);
    Value *sum = vm_b_binary(t.k, VM_ADD, tr, back);
    store2(&t, t.y, sum);
    infer_ok(&t);
    Layout want;
    cr_assert_eq(lay_reduce(&want, L, 1, (int[]){1}, true), LAY_OK);
    LAY_EQ(m, want);
    cr_assert_eq(lay_reduce(&want, L, 1, (int[]){0}, false), LAY_OK);
    LAY_EQ(n, want);
    LAY_EQ(n, P("replicate(8) * spatial(4) * local(8)"));
    cr_assert_eq(lay_permute(&want, L, (int[]){1, 0}), LAY_OK);
    LAY_EQ(tr, want);
    LAY_EQ(back, want); /* the elementwise partner follows the transpose */
    vm_arena_free(t.a);
}

/* A broadcast nobody constrains keeps its operand's layout, new rows local. */
Test(infer, broadcast_forward) {
    T t = setup(1);
    Value *row = load2(&t, t.x, 1, 64);
    Layout R = P("spatial(1, 32) * local(1, 2)");
    vm_set_layout(row, R);
    Value *b = vm_b_broadcast(t.k, row, 2, (int32_t[]){16, 64});
    store2(&t, t.y, b);
    infer_ok(&t);
    LAY_EQ(b, P("local(16, 1) * spatial(1, 32) * local(1, 2)"));
    vm_arena_free(t.a);
}

/* An outer product: the result takes the default, both vectors follow. */
Test(infer, outer_product) {
    T t = setup(2);
    Value *col = vm_b_reshape(t.k, vm_b_arange(t.k, VM_DT_I32, 16), 2, (int32_t[]){16, 1});
    Value *row = vm_b_reshape(t.k, vm_b_arange(t.k, VM_DT_I32, 64), 2, (int32_t[]){1, 64});
    Value *p = vm_b_binary(t.k, VM_MUL, col, row);
    Value *f = vm_b_cast(t.k, p, VM_DT_F32);
    store2(&t, t.y, f);
    infer_ok(&t);
    Layout want, rc, rr;
    cr_assert_eq(vm_default_layout(&want, (int32_t[]){16, 64}, 2, VM_DT_I32, 64), LAY_OK);
    LAY_EQ(p, want);
    LAY_EQ(f, want);
    cr_assert_eq(lay_reduce(&rc, want, 1, (int[]){1}, true), LAY_OK);
    cr_assert_eq(lay_reduce(&rr, want, 1, (int[]){0}, true), LAY_OK);
    LAY_EQ(col, rc);
    LAY_EQ(row, rr);
    vm_arena_free(t.a);
}

/* The mask of a load shares the loaded tile's layout. */
Test(infer, mask_companion) {
    T t = setup(1);
    Value *i = vm_b_arange(t.k, VM_DT_I32, 64);
    Value *lim = vm_b_scalar(t.k, VM_DT_I32, vm_e_i32(t.k, 40));
    Value *m = vm_b_binary(t.k, VM_LT, i, lim);
    Tile tl = vm_tile(t.w);
    vm_tile_range(&tl, 0, NULL, 64);
    Value *v = vm_b_load_global(t.k, tl, m, NULL);
    Layout L = P("replicate(2) * spatial(16) * local(4)");
    vm_set_layout(v, L);
    infer_ok(&t);
    LAY_EQ(m, L);
    LAY_EQ(i, L);
    cr_assert_eq(lim->rank, 0);
    cr_assert_eq(lay_num_threads(lim->layout), 32);
    cr_assert_eq(lay_local_size(lim->layout), 1);
    vm_arena_free(t.a);
}

Test(infer, shared_default) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F16, 2, (int32_t[]){32, 64}, NULL);
    SharedLayout sw;
    cr_assert_eq(lay_shared_swizzled_row_major(&sw, 2, (int[]){32, 64}, 16), LAY_OK);
    Value *s2 = vm_b_shared_alloc(t.k, VM_DT_F16, 2, (int32_t[]){32, 64}, &sw);
    vm_b_shared_free(t.k, s2);
    vm_b_shared_free(t.k, s);
    infer_ok(&t);
    SharedLayout rm;
    cr_assert_eq(lay_shared_row_major(&rm, 2, (int[]){32, 64}, 16), LAY_OK);
    cr_assert(s->has_slayout);
    cr_assert(lay_shared_eq(s->slayout, rm));
    cr_assert(lay_shared_eq(s2->slayout, sw));
    cr_assert(s2->slayout_explicit);
    vm_arena_free(t.a);
}

/* Two annotations meet at an add. */
Test(infer, conflict) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 8), *b = load2(&t, t.y, 16, 8);
    vm_set_name(t.k, b, "b");
    vm_set_layout(a, P("spatial(16, 2) * local(1, 4)"));
    vm_set_layout(b, P("local(2, 1) * spatial(8, 4) * local(1, 2)"));
    line(&t, 21);
    Value *s = vm_b_binary(t.k, VM_ADD, a, b);
    store2(&t, t.y, s);
    cr_assert(vm_verify(t.p, &t.d), "%s", msgs(&t));
    infer_fails(&t, "conflicting layouts for 'b' at add", 21);
    cr_assert(strstr(msgs(&t), "(annotated)"), "%s", msgs(&t));
    vm_arena_free(t.a);
}

/* A view whose result has no annotation and whose operand was inferred. */
Test(infer, unknown_after_view) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 8);
    line(&t, 22);
    Value *v = vm_b_view(t.k, a, VM_DT_I32, NULL);
    vm_set_name(t.k, v, "v");
    line(&t, 24);
    Value *e = vm_b_binary(t.k, VM_ADD, v, v);
    vm_b_reduce(t.k, VM_REDUCE_SUM, e, 0, false);
    infer_fails(&t, "layout of 'v' is unknown: layouts are never inferred across a view", 22);
    cr_assert_eq(t.d.n, 1, "only the cause is reported:\n%s", msgs(&t));
    vm_arena_free(t.a);
}

/* A reshape the layout algebra cannot follow leaves its result unknown. */
Test(infer, unknown_reshape) {
    T t = setup(1);
    Tile tl = vm_tile(t.w);
    vm_tile_range(&tl, 0, NULL, 6);
    Value *a = vm_b_load_global(t.k, tl, NULL, NULL);
    vm_set_layout(a, P("replicate(16) * spatial(2) * local(3)"));
    line(&t, 23);
    Value *r = vm_b_reshape(t.k, a, 2, (int32_t[]){3, 2});
    vm_set_name(t.k, r, "r");
    Layout tmp;
    cr_assert_neq(lay_reshape(&tmp, a->layout, 2, (int[]){3, 2}), LAY_OK);
    infer_fails(&t, "layout of 'r' is unknown: annotate it with @ layout", 23);
    vm_arena_free(t.a);
}

/* After inference the verifier insists on known layouts. */
Test(infer, verify_requires_layouts_after) {
    T t = setup(1);
    Value *a = load2(&t, t.x, 16, 8);
    store2(&t, t.y, a);
    infer_ok(&t);
    a->lstate = VM_LAY_UNKNOWN;
    cr_assert_not(vm_verify(t.p, &t.d));
    cr_assert(strstr(msgs(&t), "is unknown"), "%s", msgs(&t));
    vm_arena_free(t.a);
}

/* Running inference twice changes nothing. */
Test(infer, idempotent) {
    T t = setup(2);
    Value *a = load2(&t, t.x, 32, 32);
    Value *b = vm_b_unary(t.k, VM_SQRT, a);
    store2(&t, t.y, b);
    infer_ok(&t);
    Layout first = b->layout;
    cr_assert(vm_infer_layouts(t.p, &t.d), "%s", msgs(&t));
    LAY_EQ(b, first);
    cr_assert_eq(lay_num_threads(first), 64);
    vm_arena_free(t.a);
}

/* Random programs (fixed seeds), most of them wrong: the verifier and
 * inference never crash, and whatever inference accepts, the verifier
 * accepts too (every inferred layout has the kernel's thread count and its
 * tensor's shape; only a view whose operand's layout was inferred may
 * then fail its bits-per-thread check). */
static uint32_t rng(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_program(T *t, uint32_t *s) {
    static const int32_t shapes[][2] = {{8, 0}, {16, 0}, {4, 8}, {8, 8}, {1, 8}, {8, 1}, {32, 0}};
    static const Op bins[] = {VM_ADD, VM_MUL, VM_LT, VM_MAX, VM_AND};
    static const Dtype dts[] = {VM_DT_F32, VM_DT_F16, VM_DT_I32, VM_DT_U8, VM_DT_U4};
    Kernel *k = t->k;
    Value *pool[64];
    int n = 0, open = 0;
    int len = 4 + (int)(rng(s) % 20);
    for (int step = 0; step < len && n < 60; step++) {
        vm_set_loc(k, (VmLoc){"r.lpk", step + 2, 1});
        Value *x = n ? pool[rng(s) % (uint32_t)n] : NULL;
        Value *y = n ? pool[rng(s) % (uint32_t)n] : NULL;
        const int32_t *sh = shapes[rng(s) % 7];
        int rank = sh[1] ? 2 : 1;
        Value *r = NULL;
        switch (rng(s) % 16) {
        case 0:
        case 1: {
            Tile tl = vm_tile(rank == 2 ? t->x : t->w);
            for (int d = 0; d < rank; d++)
                vm_tile_range(&tl, d, NULL, sh[d]);
            r = vm_b_load_global(k, tl, NULL, NULL);
            break;
        }
        case 2: r = vm_b_zeros(k, dts[rng(s) % 5], rank, sh); break;
        case 3: r = x ? vm_b_binary(k, bins[rng(s) % 5], x, y) : NULL; break;
        case 4: r = x ? vm_b_unary(k, rng(s) % 2 ? VM_EXP : VM_NEG, x) : NULL; break;
        case 5: r = x ? vm_b_cast(k, x, dts[rng(s) % 5]) : NULL; break;
        case 6: r = x ? vm_b_reduce(k, VM_REDUCE_SUM, x, (int)(rng(s) % 3), rng(s) % 2) : NULL; break;
        case 7: r = x ? vm_b_broadcast(k, x, 2, (int32_t[]){8, 8}) : NULL; break;
        case 8: r = x ? vm_b_transpose(k, x) : NULL; break;
        case 9: r = x ? vm_b_reshape(k, x, rank, sh) : NULL; break;
        case 10: r = x ? vm_b_where(k, x, y, y) : NULL; break;
        case 11:
            if (x && rng(s) % 2) {
                Layout L;
                int nt = rng(s) % 4 ? 32 * k->warps : 32;
                if (vm_default_layout(&L, x->shape, x->rank, dts[rng(s) % 5], nt) == LAY_OK)
                    vm_set_layout(x, L);
            }
            break;
        case 12:
            if (x) {
                Var *v = vm_b_var(k, "acc", x);
                vm_b_for(k, "i", vm_e_i32(k, 0), vm_e_i32(k, 3), NULL);
                vm_b_assign(k, v, y ? y : x);
                vm_b_end(k);
                r = v->val;
            }
            break;
        case 13:
            if (open < 3) {
                vm_b_if(k, vm_e_bin(k, VM_S_LT, vm_e_bid(k, 0), vm_e_i32(k, 2)));
                open++;
            }
            break;
        case 14:
            if (open) {
                vm_b_end(k);
                open--;
                n = n > 2 ? n - 2 : n; /* some values go out of scope: forget a few */
            }
            break;
        case 15:
            if (x) {
                Layout L;
                if (x->lstate != VM_LAY_UNKNOWN && rng(s) % 2 &&
                    vm_default_layout(&L, x->shape, x->rank, VM_DT_U8, 32 * k->warps) == LAY_OK)
                    r = vm_b_view(k, x, rng(s) % 2 ? VM_DT_U8 : VM_DT_I32, &L);
                else
                    r = vm_b_view(k, x, VM_DT_I32, NULL);
            }
            break;
        }
        if (r)
            pool[n++] = r;
    }
    while (open--)
        vm_b_end(k);
    if (n) {
        Value *v = pool[rng(s) % (uint32_t)n];
        Tile tl = vm_tile(v->rank == 2 ? t->y : t->w);
        for (int d = 0; d < v->rank && d < tl.rank; d++)
            vm_tile_range(&tl, d, NULL, v->shape[d]);
        vm_b_store_global(k, tl, v, NULL);
    }
}

Test(infer, random_programs) {
    int verified = 0, inferred = 0;
    for (uint32_t seed = 1; seed <= 3000; seed++) {
        T t = setup(1 + (int)(seed % 3));
        uint32_t s = seed * 2654435761u;
        random_program(&t, &s);
        if (vm_verify(t.p, &t.d)) {
            verified++;
            if (vm_infer_layouts(t.p, &t.d)) {
                inferred++;
                /* only a view whose operand's layout was inferred may still be
                 * refused (its bits per thread are checked once both are known) */
                if (!vm_verify(t.p, &t.d))
                    for (int i = 0; i < t.d.n; i++)
                        cr_assert(!strncmp(t.d.v[i].msg, "view: ", 6),
                                  "seed %u: inferred layouts refused:\n%s", seed, msgs(&t));
            } else {
                cr_assert_gt(t.d.n, 0, "seed %u: inference failed silently", seed);
            }
        } else {
            cr_assert_gt(t.d.n, 0);
            vm_infer_layouts(t.p, &t.d); /* must not crash on refused programs either */
        }
        vm_arena_free(t.a);
    }
    cr_log_info("verified %d inferred %d", verified, inferred);
    cr_assert_gt(verified, 100, "only %d programs verified", verified);
    cr_assert_gt(inferred, 50, "only %d programs inferred", inferred);
}

/* The matmul of VM.md 6 (bm 16, bn 64, bk 64, 4 warps, u4 weights): mma
 * fragments by annotation, the packed bytes viewed as u4 in the B layout,
 * the per-column scale inferred as the B layout reduced over k. */
Test(infer, dequant_matmul) {
    T t = setup(4);
    Kernel *k = t.k;
    Param *sc = vm_param_tensor(k, "scale", VM_DT_F16, 2,
                                (Expr *[]){vm_e_i32(k, 1), vm_e_param(k, vm_param_find(k, "n"))});
    Param *xh = vm_param_tensor(k, "xh", VM_DT_F16, 2,
                                (Expr *[]){vm_e_param(k, vm_param_find(k, "m")),
                                           vm_e_param(k, vm_param_find(k, "n"))});
    LayMma mma;
    cr_assert_eq(lay_mma_block(&mma, 16, 1, 4, 1, 2, 4), LAY_OK);
    cr_assert_eq(lay_num_threads(mma.b), 128);
    cr_assert_eq(lay_local_size(mma.b), 32);
    Value *z = vm_b_zeros(k, VM_DT_F32, 2, (int32_t[]){16, 64});
    vm_set_layout(z, mma.c);
    Var *acc = vm_b_var(k, "acc", z);
    Var *k0 = vm_b_for(k, "k0", vm_e_i32(k, 0), vm_e_param(k, vm_param_find(k, "n")),
                       vm_e_i32(k, 64));
    Tile ta = vm_tile(xh->value);
    vm_tile_range(&ta, 0, vm_e_bin(k, VM_S_MUL, vm_e_bid(k, 0), vm_e_i32(k, 16)), 16);
    vm_tile_range(&ta, 1, vm_e_var(k, k0), 64);
    Value *a = vm_b_load_global(k, ta, NULL, NULL);
    vm_set_layout(a, mma.a);
    Tile tb = vm_tile(t.w);
    vm_tile_range(&tb, 0, vm_e_bin(k, VM_S_MUL, vm_e_var(k, k0), vm_e_i32(k, 32)), 2048);
    Value *bytes = vm_b_load_global(k, tb, NULL, NULL);
    vm_set_layout(bytes, P("spatial(128) * local(16)"));
    Value *q = vm_b_view(k, bytes, VM_DT_U4, &mma.b);
    cr_assert_eq(q->shape[0], 64);
    cr_assert_eq(q->shape[1], 64);
    Value *qh = vm_b_cast(k, q, VM_DT_F16);
    Tile ts = vm_tile(sc->value);
    vm_tile_range(&ts, 0, NULL, 1);
    vm_tile_range(&ts, 1, vm_e_bin(k, VM_S_MUL, vm_e_bid(k, 0), vm_e_i32(k, 64)), 64);
    Value *s = vm_b_load_global(k, ts, NULL, NULL);
    Value *b = vm_b_binary(k, VM_MUL, qh, s);
    vm_b_assign(k, acc, vm_b_dot(k, a, b, acc->val));
    vm_b_end(k);
    Value *out = vm_b_cast(k, acc->val, VM_DT_F16);
    Tile ty = vm_tile(xh->value);
    vm_tile_range(&ty, 0, NULL, 16);
    vm_tile_range(&ty, 1, NULL, 64);
    vm_b_store_global(k, ty, out, NULL);
    infer_ok(&t);
    Layout sl;
    cr_assert_eq(lay_reduce(&sl, mma.b, 1, (int[]){0}, true), LAY_OK);
    LAY_EQ(s, sl);
    LAY_EQ(b, mma.b);
    LAY_EQ(acc->val, mma.c);
    LAY_EQ(out, mma.c);
    vm_arena_free(t.a);
}

/* tests/test_interp_mem.c - the interpreter's memory instructions: packed
 * u3 tiles at odd offsets, masks with `other`, strided and offset
 * global_views, gather, load_scalar, atomics, lock/release in grid order,
 * workspace, the grid order itself, empty grids, shape binding, view with
 * explicit layouts (checked against a hand-written per-thread repacking),
 * shared memory through a swizzled layout, copy_async pipelines and the
 * shared-memory plan. */
#include <math.h>

#include "tests/test_interp.h"

#define K (t.k)

static Expr *i32(T *t, int64_t v)
{
    return vm_e_i32(t->k, v);
}

static Expr *bin(T *t, ScalarOp op, Expr *a, Expr *b)
{
    return vm_e_bin(t->k, op, a, b);
}

/* u3 elements straddle bytes: x[3 : 8] + 1 lands in o[5 : 8] */
Test(interp_mem, packed_u3_odd_offsets)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_U3, 20), *o = gvec(&t, "o", VM_DT_U3, 20);
    Tile tx = vm_tile(x), to = vm_tile(o);
    vm_tile_range(&tx, 0, i32(&t, 3), 8);
    vm_tile_range(&to, 0, i32(&t, 5), 8);
    Value *v = vm_b_load_global(K, tx, NULL, NULL);
    vm_b_store_global(K, to, vm_b_binary(K, VM_ADD, v, vm_b_scalar(K, VM_DT_U3, i32(&t, 1))), NULL);
    uint8_t X[8], O[8], O0[8];
    uint64_t s = 77;
    for (int i = 0; i < 8; i++) {
        X[i] = (uint8_t)rnd(&s);
        O[i] = O0[i] = (uint8_t)rnd(&s);
    }
    VmArg args[] = {avec(X, VM_DT_U3, 20), avec(O, VM_DT_U3, 20)};
    cr_assert_eq(args[0].nbytes, 8);
    launch_ok(&t, args, 2);
    for (int i = 0; i < 20; i++) {
        uint64_t want = i >= 5 && i < 13 ? (getbits(X, (i - 2) * 3, 3) + 1) & 7 : getbits(O0, i * 3, 3);
        cr_assert_eq(getbits(O, i * 3, 3), want, "element %d", i);
    }
    cr_assert_eq(O[7] & 0xF0, O0[7] & 0xF0); /* bits past element 19 untouched */
    done(&t);
}

/* u4 at half-byte offsets: x[1 : 5] lands in o[4 : 5], i4 reads sign-extend */
Test(interp_mem, packed_u4_i4_odd_offsets)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_U4, 9), *o = gvec(&t, "o", VM_DT_U4, 9);
    Value *y = gvec(&t, "y", VM_DT_I4, 9), *p = gvec(&t, "p", VM_DT_I16, 5);
    Tile tx = vm_tile(x), to = vm_tile(o), ty = vm_tile(y);
    vm_tile_range(&tx, 0, i32(&t, 1), 5);
    vm_tile_range(&to, 0, i32(&t, 4), 5);
    vm_tile_range(&ty, 0, i32(&t, 3), 5);
    vm_b_store_global(K, to, vm_b_load_global(K, tx, NULL, NULL), NULL);
    store(&t, p, vm_b_cast(K, vm_b_load_global(K, ty, NULL, NULL), VM_DT_I16));
    uint8_t X[5], O[5], O0[5], Y[5];
    int16_t Pv[5];
    uint64_t s = 17;
    for (int i = 0; i < 5; i++) {
        X[i] = (uint8_t)rnd(&s);
        O[i] = O0[i] = (uint8_t)rnd(&s);
        Y[i] = (uint8_t)rnd(&s);
    }
    VmArg args[] = {avec(X, VM_DT_U4, 9), avec(O, VM_DT_U4, 9), avec(Y, VM_DT_I4, 9), avec(Pv, VM_DT_I16, 5)};
    cr_assert_eq(args[0].nbytes, 5);
    launch_ok(&t, args, 4);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(getbits(O, i * 4, 4), i >= 4 ? getbits(X, (i - 3) * 4, 4) : getbits(O0, i * 4, 4),
                     "o[%d]", i);
    cr_assert_eq(O[4] >> 4, O0[4] >> 4); /* the pad nibble is untouched */
    for (int i = 0; i < 5; i++) {
        int v = (int)getbits(Y, (3 + i) * 4, 4);
        cr_assert_eq(Pv[i], v >= 8 ? v - 16 : v, "p[%d] = %d", i, Pv[i]);
    }
    done(&t);
}

/* load: out of shape or masked off -> other; store: masked, out of shape skipped */
Test(interp_mem, masks_and_other)
{
    T t = setup(1);
    vm_set_grid(K, 1, (Expr *[]){i32(&t, 2)});
    Value *x = gvec(&t, "x", VM_DT_F32, 10), *o = gvec(&t, "o", VM_DT_F32, 16);
    Value *o2 = gvec(&t, "o2", VM_DT_F32, 10);
    Expr *start = bin(&t, VM_S_MUL, vm_e_bid(K, 0), i32(&t, 8));
    Tile tx = vm_tile(x), to = vm_tile(o), t2 = vm_tile(o2);
    vm_tile_range(&tx, 0, start, 8);
    vm_tile_range(&to, 0, start, 8);
    vm_tile_range(&t2, 0, start, 8);
    Value *ar = vm_b_arange(K, VM_DT_I32, 8);
    Value *mask = vm_b_binary(K, VM_LT, ar, vm_b_scalar(K, VM_DT_I32, i32(&t, 6)));
    Value *v = vm_b_load_global(K, tx, mask, vm_b_scalar(K, VM_DT_F32, vm_e_f32(K, -1)));
    vm_b_store_global(K, to, v, NULL);
    Value *even = vm_b_binary(K, VM_EQ, vm_b_binary(K, VM_REM, ar, vm_b_scalar(K, VM_DT_I32, i32(&t, 2))),
                              vm_b_scalar(K, VM_DT_I32, i32(&t, 0)));
    Value *w = vm_b_load_global(K, tx, NULL, NULL); /* other defaults to 0 */
    vm_b_store_global(K, t2, vm_b_binary(K, VM_ADD, w, vm_b_scalar(K, VM_DT_F32, vm_e_f32(K, 1))), even);
    float X[10], O[16], O2[10];
    for (int i = 0; i < 10; i++)
        X[i] = 0.5f + (float)i, O2[i] = -5;
    VmArg args[] = {avec(X, VM_DT_F32, 10), avec(O, VM_DT_F32, 16), avec(O2, VM_DT_F32, 10)};
    launch_ok(&t, args, 3);
    for (int i = 0; i < 16; i++) {
        float want = i < 10 && i % 8 < 6 ? X[i] : -1;
        cr_assert_eq(O[i], want, "o[%d] = %g", i, O[i]);
    }
    for (int i = 0; i < 10; i++)
        cr_assert_eq(O2[i], i % 2 == 0 ? X[i] + 1 : -5, "o2[%d] = %g", i, O2[i]);
    done(&t);
}

Test(interp_mem, global_view_strides_and_offset)
{
    T t = setup(1);
    Value *a = gten(&t, "a", VM_DT_F32, 2, (int32_t[]){4, 4});
    Value *o = gten(&t, "o", VM_DT_F32, 2, (int32_t[]){4, 4}), *o2 = gvec(&t, "o2", VM_DT_F32, 3);
    Value *at = vm_b_global_view(K, a, i32(&t, 0), VM_DT_F32, 2, (Expr *[]){i32(&t, 4), i32(&t, 4)},
                                 (Expr *[]){i32(&t, 1), i32(&t, 4)});
    Tile ta = vm_tile(at);
    vm_tile_range(&ta, 0, NULL, 4);
    vm_tile_range(&ta, 1, NULL, 4);
    store(&t, o, vm_b_load_global(K, ta, NULL, NULL));
    Value *row = vm_b_global_view(K, a, i32(&t, 20), VM_DT_F32, 1, (Expr *[]){i32(&t, 3)}, NULL);
    Tile tr = vm_tile(row);
    vm_tile_range(&tr, 0, NULL, 3);
    store(&t, o2, vm_b_load_global(K, tr, NULL, NULL));
    float A[16], O[16], O2[3];
    for (int i = 0; i < 16; i++)
        A[i] = (float)(i * 3 - 7);
    VmArg args[] = {arg(A, VM_DT_F32, 2, (int64_t[]){4, 4}), arg(O, VM_DT_F32, 2, (int64_t[]){4, 4}),
                    avec(O2, VM_DT_F32, 3)};
    launch_ok(&t, args, 3);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            cr_assert_eq(O[i * 4 + j], A[j * 4 + i]);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(O2[i], A[5 + i]);
    done(&t);
}

Test(interp_mem, gather_rows)
{
    T t = setup(1);
    Value *tab = gten(&t, "tab", VM_DT_F16, 2, (int32_t[]){10, 4});
    Value *ix = gten(&t, "ix", VM_DT_I32, 2, (int32_t[]){4, 1});
    Value *o = gten(&t, "o", VM_DT_F16, 2, (int32_t[]){4, 4});
    Tile tt = vm_tile(tab);
    vm_tile_range(&tt, 0, NULL, 4);
    vm_tile_range(&tt, 1, NULL, 4);
    store(&t, o, vm_b_gather(K, tt, load(&t, ix), 0));
    uint16_t TAB[40], O[16];
    for (int i = 0; i < 40; i++)
        TAB[i] = (uint16_t)vm_encode(VM_DT_F16, i * 0.25 - 3);
    int32_t IX[4] = {7, 0, 9, 12};
    VmArg args[] = {arg(TAB, VM_DT_F16, 2, (int64_t[]){10, 4}), arg(IX, VM_DT_I32, 2, (int64_t[]){4, 1}),
                    arg(O, VM_DT_F16, 2, (int64_t[]){4, 4})};
    launch_ok(&t, args, 3);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_eq(O[r * 4 + c], IX[r] < 10 ? TAB[IX[r] * 4 + c] : 0, "(%d, %d)", r, c);
    done(&t);
}

/* lock/release order the blocks; load_scalar reads a counter that
 * atomic_add bumps; the counter value each block saw shows the grid order
 * (x fastest). The semaphore lives in the zeroed workspace. */
Test(interp_mem, atomics_locks_grid_order)
{
    T t = setup(1);
    vm_set_grid(K, 2, (Expr *[]){i32(&t, 3), i32(&t, 2)});
    Value *ctr = gvec(&t, "ctr", VM_DT_I32, 1), *o = gvec(&t, "o", VM_DT_I32, 6);
    Value *acc = gvec(&t, "acc", VM_DT_F32, 4);
    Value *sem = vm_b_workspace(K, VM_DT_I32, 1, (Expr *[]){i32(&t, 1)});
    Expr *b = bin(&t, VM_S_ADD, vm_e_bid(K, 0), bin(&t, VM_S_MUL, vm_e_bid(K, 1), i32(&t, 3)));
    Tile ts = vm_tile(sem), tc = vm_tile(ctr), to = vm_tile(o);
    vm_tile_index(&ts, 0, i32(&t, 0));
    vm_tile_index(&tc, 0, i32(&t, 0));
    vm_b_lock(K, ts, b);
    Var *c = vm_b_load_scalar(K, "c", tc);
    vm_tile_index(&to, 0, vm_e_var(K, c));
    vm_b_store_global(K, to, vm_b_scalar(K, VM_DT_I32, bin(&t, VM_S_ADD, vm_e_bid(K, 0),
                                                              bin(&t, VM_S_MUL, vm_e_bid(K, 1), i32(&t, 10)))), NULL);
    vm_b_atomic_add(K, tc, vm_b_scalar(K, VM_DT_I32, i32(&t, 1)));
    vm_b_atomic_add(K, whole(acc), vm_b_full(K, VM_DT_F32, 1, (int32_t[]){4}, vm_e_cast(K, VM_DT_F32, b)));
    vm_b_release(K, ts, bin(&t, VM_S_ADD, b, i32(&t, 1)));
    int32_t CTR[1] = {0}, O[6];
    float ACC[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    VmArg args[] = {avec(CTR, VM_DT_I32, 1), avec(O, VM_DT_I32, 6), avec(ACC, VM_DT_F32, 4)};
    launch_ok(&t, args, 3);
    int32_t want[6] = {0, 1, 2, 10, 11, 12};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(O[i], want[i], "block %d ran as %d", want[i], O[i]);
    cr_assert_eq(CTR[0], 6);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ACC[i], 15.5f);
    done(&t);
}

Test(interp_mem, empty_grid_and_binding)
{
    T t = setup(1);
    Param *n = vm_param_scalar(K, "n", VM_DT_I32);
    Param *m = vm_param_dim(K, "m"), *kd = vm_param_dim(K, "kd");
    Expr *xs[2] = {vm_e_param(K, m), vm_e_param(K, kd)};
    vm_param_tensor(K, "x", VM_DT_F32, 2, xs);
    Expr *ss[1] = {bin(&t, VM_S_DIV, vm_e_param(K, kd), i32(&t, 4))};
    vm_param_tensor(K, "s", VM_DT_U4, 1, ss);
    vm_set_grid(K, 1, (Expr *[]){vm_e_param(K, n)});
    vm_b_assume(K, bin(&t, VM_S_EQ, bin(&t, VM_S_REM, vm_e_param(K, kd), i32(&t, 4)), i32(&t, 0)));
    vm_b_printf(K, "%d %d %d\n", 3, (Expr *[]){vm_e_param(K, m), vm_e_param(K, kd), vm_e_gdim(K, 0)});
    float X[24];
    uint8_t S[1];
    VmArg args[] = {vm_arg_int(0), arg(X, VM_DT_F32, 2, (int64_t[]){3, 8}), avec(S, VM_DT_U4, 2)};
    launch_ok(&t, args, 3);
    cr_assert_null(t.out.s); /* nothing ran */
    args[0] = vm_arg_int(2);
    launch_ok(&t, args, 3);
    cr_assert_str_eq(t.out.s, "3 8 2\n3 8 2\n");
    done(&t);
}

/* u8[32, 2] (thread t holds row t) viewed as u4[4, 32] where thread t holds
 * column t: nibble j of thread t's 16 bits is element (j, t) */
Test(interp_mem, view_u8_u4_layouts)
{
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_U8, 2, (int32_t[]){32, 2});
    Value *o = gten(&t, "o", VM_DT_U4, 2, (int32_t[]){4, 32});
    Value *lx = load(&t, x);
    vm_set_layout(lx, P("spatial(32, 1) * local(1, 2)"));
    Layout lr = P("local(4, 1) * spatial(1, 32)");
    Value *q = vm_b_view(K, lx, VM_DT_U4, &lr);
    cr_assert_eq(q->shape[0], 4);
    cr_assert_eq(q->shape[1], 32);
    store(&t, o, q);
    uint8_t X[64], O[64];
    uint64_t s = 99;
    for (int i = 0; i < 64; i++)
        X[i] = (uint8_t)rnd(&s);
    VmArg args[] = {arg(X, VM_DT_U8, 2, (int64_t[]){32, 2}), arg(O, VM_DT_U4, 2, (int64_t[]){4, 32})};
    launch_ok(&t, args, 2);
    for (int th = 0; th < 32; th++)
        for (int j = 0; j < 4; j++) {
            unsigned want = (X[th * 2 + j / 2] >> (4 * (j % 2))) & 15;
            cr_assert_eq(getbits(O, (j * 32 + th) * 4, 4), want, "thread %d nibble %d", th, j);
        }
    done(&t);
}

/* u32[32, 3] (three words per thread) viewed as u3[32, 32]: element (t, j)
 * is bits [3j, 3j + 3) of thread t's 96-bit string (word 0 lowest) */
Test(interp_mem, view_u32_u3_layouts)
{
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_U32, 2, (int32_t[]){32, 3});
    Value *o = gten(&t, "o", VM_DT_U8, 2, (int32_t[]){32, 32});
    Value *lx = load(&t, x);
    vm_set_layout(lx, P("spatial(32, 1) * local(1, 3)"));
    Layout lr = P("spatial(32, 1) * local(1, 32)");
    store(&t, o, vm_b_cast(K, vm_b_view(K, lx, VM_DT_U3, &lr), VM_DT_U8));
    uint32_t X[96];
    uint8_t O[1024];
    uint64_t s = 5;
    for (int i = 0; i < 96; i++)
        X[i] = rnd(&s) ^ (rnd(&s) << 16);
    VmArg args[] = {arg(X, VM_DT_U32, 2, (int64_t[]){32, 3}), arg(O, VM_DT_U8, 2, (int64_t[]){32, 32})};
    launch_ok(&t, args, 2);
    for (int th = 0; th < 32; th++) {
        uint8_t bytes[12];
        for (int w = 0; w < 3; w++)
            for (int b = 0; b < 4; b++)
                bytes[w * 4 + b] = (uint8_t)(X[th * 3 + w] >> (8 * b));
        for (int j = 0; j < 32; j++) {
            int bit = 3 * j, want = 0;
            for (int q = 0; q < 3; q++)
                want |= ((bytes[(bit + q) / 8] >> ((bit + q) % 8)) & 1) << q;
            cr_assert_eq(O[th * 32 + j], want, "thread %d element %d", th, j);
        }
    }
    done(&t);
}

/* f16[8, 64] through a swizzled shared tile: stored with one layout, read
 * back after sync() with another; a second tile is read by its writers
 * without a sync (allowed: same threads) */
Test(interp_mem, shared_swizzled_round_trip)
{
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_F16, 2, (int32_t[]){8, 64});
    Value *o = gten(&t, "o", VM_DT_F16, 2, (int32_t[]){8, 64}), *o2 = gten(&t, "o2", VM_DT_F16, 2, (int32_t[]){8, 64});
    SharedLayout sl;
    cr_assert_eq(lay_shared_swizzled_row_major(&sl, 2, (int[]){8, 64}, 16), LAY_OK);
    cr_assert_neq(sl.swizzle.bits, 0);
    Value *s = vm_b_shared_alloc(K, VM_DT_F16, 2, (int32_t[]){8, 64}, &sl);
    Value *s2 = vm_b_shared_alloc(K, VM_DT_F16, 2, (int32_t[]){8, 64}, NULL);
    Value *lx = load(&t, x);
    vm_set_layout(lx, P("spatial(8, 4) * local(1, 16)"));
    vm_b_store_shared(K, vm_tile(s), lx);
    vm_b_store_shared(K, vm_tile(s2), lx);
    Value *same = vm_b_load_shared(K, vm_tile(s2));
    vm_set_layout(same, P("spatial(8, 4) * local(1, 16)"));
    vm_b_sync(K);
    Value *r = vm_b_load_shared(K, vm_tile(s));
    vm_set_layout(r, P("local(8, 1) * spatial(1, 32) * local(1, 2)"));
    store(&t, o, r);
    store(&t, o2, same);
    vm_b_shared_free(K, s2);
    vm_b_shared_free(K, s);
    uint16_t X[512], O[512], O2[512];
    uint64_t sd = 8;
    for (int i = 0; i < 512; i++)
        X[i] = (uint16_t)rnd(&sd);
    VmArg args[] = {arg(X, VM_DT_F16, 2, (int64_t[]){8, 64}), arg(O, VM_DT_F16, 2, (int64_t[]){8, 64}),
                    arg(O2, VM_DT_F16, 2, (int64_t[]){8, 64})};
    launch_ok(&t, args, 3);
    cr_assert_eq(memcmp(O, X, sizeof X), 0);
    cr_assert_eq(memcmp(O2, X, sizeof X), 0);
    done(&t);
}

/* two stages: copy, commit, copy, commit; wait(1) lands the first only;
 * the tail past x's shape is zero-filled */
Test(interp_mem, copy_async_pipeline)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, 60), *o = gvec(&t, "o", VM_DT_F32, 64);
    Value *s = vm_b_shared_alloc(K, VM_DT_F32, 2, (int32_t[]){2, 32}, NULL);
    for (int st = 0; st < 2; st++) {
        Tile ts = vm_tile(s), tx = vm_tile(x);
        vm_tile_index(&ts, 0, i32(&t, st));
        vm_tile_range(&tx, 0, i32(&t, 32 * st), 32);
        vm_b_copy_async(K, ts, tx, NULL);
        vm_b_commit(K);
    }
    for (int st = 0; st < 2; st++) {
        vm_b_wait(K, 1 - st);
        vm_b_sync(K);
        Tile ts = vm_tile(s), to = vm_tile(o);
        vm_tile_index(&ts, 0, i32(&t, st));
        vm_tile_range(&to, 0, i32(&t, 32 * st), 32);
        Value *r = vm_b_load_shared(K, ts);
        vm_set_layout(r, P("spatial(32)"));
        vm_b_store_global(K, to, r, NULL);
    }
    vm_b_shared_free(K, s);
    float X[60], O[64];
    for (int i = 0; i < 60; i++)
        X[i] = (float)i + 0.25f;
    VmArg args[] = {avec(X, VM_DT_F32, 60), avec(O, VM_DT_F32, 64)};
    launch_ok(&t, args, 2);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(O[i], i < 60 ? X[i] : 0.0f, "o[%d] = %g", i, O[i]);
    done(&t);
}

/* offsets: a stack of 128-byte aligned allocations, reused after frees */
Test(interp_mem, shared_plan)
{
    T t = setup(1);
    Value *a = vm_b_shared_alloc(K, VM_DT_F16, 2, (int32_t[]){16, 16}, NULL); /* 512 B */
    Value *b = vm_b_shared_alloc(K, VM_DT_U8, 1, (int32_t[]){100}, NULL);
    vm_b_shared_free(K, b);
    Value *c = vm_b_shared_alloc(K, VM_DT_F32, 1, (int32_t[]){64}, NULL);     /* 256 B */
    vm_b_for(K, "i", i32(&t, 0), i32(&t, 2), NULL);
    Value *d = vm_b_shared_alloc(K, VM_DT_U4, 1, (int32_t[]){3}, NULL);
    vm_b_shared_free(K, d);
    vm_b_end(K);
    vm_b_shared_free(K, c);
    vm_b_shared_free(K, a);
    Value *e = vm_b_shared_alloc(K, VM_DT_U3, 1, (int32_t[]){5}, NULL);
    vm_b_shared_free(K, e);
    VmSharedPlan plan;
    cr_assert(vm_shared_plan(K, t.a, &plan, &t.d), "%s", msgs(&t));
    cr_assert_eq(plan.offset[a->id], 0);
    cr_assert_eq(plan.offset[b->id], 512);
    cr_assert_eq(plan.offset[c->id], 512);
    cr_assert_eq(plan.offset[d->id], 768);
    cr_assert_eq(plan.offset[e->id], 0);
    cr_assert_eq(plan.size, 770);
    launch_ok(&t, NULL, 0);
    done(&t);
}

Test(interp_mem, shared_plan_errors)
{
    T t = setup(1);
    vm_b_if(K, vm_e_bool(K, true));
    at(&t, 7);
    vm_b_shared_alloc(K, VM_DT_F16, 1, (int32_t[]){16}, NULL);
    vm_b_end(K);
    Value *b = vm_b_shared_alloc(K, VM_DT_F16, 1, (int32_t[]){16}, NULL);
    vm_b_shared_free(K, b);
    at(&t, 9);
    vm_b_shared_free(K, b);
    VmSharedPlan plan;
    cr_assert_not(vm_shared_plan(K, t.a, &plan, &t.d));
    cr_assert_eq(t.d.n, 2, "%s", msgs(&t));
    cr_assert(strstr(t.d.v[0].msg, "must free"));
    cr_assert(strstr(t.d.v[1].msg, "not allocated"));
    cr_assert_eq(t.d.v[1].loc.line, 9);
    done(&t);
}

/* load_scalar of a u32 element converts to the i64 scalar */
Test(interp_mem, load_scalar_u32)
{
    T t = setup(1);
    Value *p = gvec(&t, "p", VM_DT_U32, 3), *o = gvec(&t, "o", VM_DT_I64, 1);
    Tile tp = vm_tile(p);
    vm_tile_index(&tp, 0, i32(&t, 2));
    Var *v = vm_b_load_scalar(K, "v", tp);
    cr_assert_eq(v->dtype, VM_DT_I64);
    Tile to = vm_tile(o);
    vm_tile_index(&to, 0, i32(&t, 0));
    vm_b_store_global(K, to, vm_b_scalar(K, VM_DT_I64, bin(&t, VM_S_ADD, vm_e_var(K, v), vm_e_int(K, VM_DT_I64, 1))), NULL);
    uint32_t P[3] = {1, 2, 0xFFFFFFF0u};
    int64_t O[1];
    VmArg args[] = {avec(P, VM_DT_U32, 3), avec(O, VM_DT_I64, 1)};
    launch_ok(&t, args, 2);
    cr_assert_eq(O[0], 0xFFFFFFF1ll);
    done(&t);
}

/* masked-off elements of a copy_async are zero-filled */
Test(interp_mem, copy_async_masked)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_I16, 32), *o = gvec(&t, "o", VM_DT_I16, 32);
    Value *s = vm_b_shared_alloc(K, VM_DT_I16, 1, (int32_t[]){32}, NULL);
    Value *ar = vm_b_arange(K, VM_DT_I32, 32);
    Value *m = vm_b_binary(K, VM_NE, vm_b_binary(K, VM_REM, ar, vm_b_scalar(K, VM_DT_I32, i32(&t, 3))),
                           vm_b_scalar(K, VM_DT_I32, i32(&t, 0)));
    vm_b_copy_async(K, vm_tile(s), whole(x), m);
    vm_b_commit(K);
    vm_b_wait(K, 0);
    vm_b_sync(K);
    Value *r = vm_b_load_shared(K, vm_tile(s));
    vm_set_layout(r, P("spatial(32)"));
    store(&t, o, r);
    vm_b_shared_free(K, s);
    int16_t X[32], O[32];
    for (int i = 0; i < 32; i++)
        X[i] = (int16_t)(1000 - 77 * i);
    VmArg args[] = {avec(X, VM_DT_I16, 32), avec(O, VM_DT_I16, 32)};
    launch_ok(&t, args, 2);
    for (int i = 0; i < 32; i++)
        cr_assert_eq(O[i], i % 3 ? X[i] : 0, "o[%d] = %d", i, O[i]);
    done(&t);
}

/* the pipeline the runtime uses: verify, infer the layouts nobody wrote,
 * verify again, run; a shared staging round trip with inferred layouts */
Test(interp_mem, inferred_layouts)
{
    T t = setup(2);
    Value *x = gten(&t, "x", VM_DT_F16, 2, (int32_t[]){16, 64});
    Value *o = gten(&t, "o", VM_DT_F16, 2, (int32_t[]){16, 64});
    Value *s = vm_b_shared_alloc(K, VM_DT_F16, 2, (int32_t[]){16, 64}, NULL);
    vm_b_store_shared(K, vm_tile(s), load(&t, x));
    vm_b_sync(K);
    Value *r = vm_b_load_shared(K, vm_tile(s));
    store(&t, o, vm_b_binary(K, VM_MUL, r, r));
    vm_b_shared_free(K, s);
    cr_assert(vm_verify(t.p, &t.d), "%s", msgs(&t));
    cr_assert(vm_infer_layouts(t.p, &t.d), "%s", msgs(&t));
    cr_assert(vm_verify(t.p, &t.d), "%s", msgs(&t));
    cr_assert_neq(r->lstate, VM_LAY_UNKNOWN);
    uint16_t X[1024], O[1024];
    uint64_t sd = 3;
    for (int i = 0; i < 1024; i++)
        X[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&sd, -8, 8));
    VmArg args[] = {arg(X, VM_DT_F16, 2, (int64_t[]){16, 64}), arg(O, VM_DT_F16, 2, (int64_t[]){16, 64})};
    launch_ok(&t, args, 2);
    for (int i = 0; i < 1024; i++) {
        double v = vm_decode(VM_DT_F16, X[i]);
        cr_assert_eq(O[i], vm_encode(VM_DT_F16, v * v), "element %d", i);
    }
    done(&t);
}

/* the GPU path's binder: device addresses (no host data), parameter values
 * by index, the grid, top-level assumes over parameters; vm_eval_bound */
Test(interp_mem, launch_bind_for_gpu)
{
    T t = setup(1);
    Param *n = vm_param_scalar(K, "n", VM_DT_I32), *f = vm_param_scalar(K, "f", VM_DT_F32);
    Param *m = vm_param_dim(K, "m");
    vm_param_tensor(K, "x", VM_DT_U4, 1, (Expr *[]){vm_e_param(K, m)});
    vm_set_grid(K, 2, (Expr *[]){vm_e_bin(K, VM_S_CDIV, vm_e_param(K, m), vm_e_i32(K, 16)), vm_e_param(K, n)});
    at(&t, 9);
    vm_b_assume(K, vm_e_bin(K, VM_S_EQ, vm_e_bin(K, VM_S_REM, vm_e_param(K, m), vm_e_i32(K, 2)), vm_e_i32(K, 0)));
    vm_b_assume(K, vm_e_bin(K, VM_S_LT, vm_e_bid(K, 0), vm_e_i32(K, 100))); /* not launch-time */
    Expr *ws = vm_e_bin(K, VM_S_MUL, vm_e_gdim(K, 0), vm_e_param(K, n));
    VmArg args[] = {vm_arg_int(3), vm_arg_float(0.5), vm_arg_tensor(NULL, 20, 1, (int64_t[]){40})};
    args[2].i = 0x7000;
    int64_t vals[4], grid[3], v;
    cr_assert(vm_launch_bind(K, args, 3, vals, grid, &t.d), "%s", msgs(&t));
    cr_assert_eq(vals[n->index], 3);
    cr_assert_eq(vals[f->index], 0x3F000000);
    cr_assert_eq(vals[m->index], 40);
    cr_assert_eq(grid[0], 3);
    cr_assert_eq(grid[1], 3);
    cr_assert_eq(grid[2], 1);
    cr_assert(vm_eval_bound(K, vals, ws, &v));
    cr_assert_eq(v, 9);
    cr_assert_not(vm_eval_bound(K, vals, vm_e_bid(K, 0), &v));
    args[2] = vm_arg_tensor(NULL, 20, 1, (int64_t[]){39}); /* u4[39] takes 20 bytes too; m odd */
    cr_assert_not(vm_launch_bind(K, args, 3, vals, grid, &t.d));
    cr_assert_eq(t.d.n, 1);
    cr_assert(strstr(t.d.v[0].msg, "assumption violated"));
    cr_assert_eq(t.d.v[0].loc.line, 9);
    done(&t);
}

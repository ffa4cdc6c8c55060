/* tests/test_interp_fault.c - every checked fault of the interpreter stops
 * the launch with one diagnostic at the faulting instruction's (or
 * parameter's) line: races on shared memory (missing sync, copy_async read
 * before its wait or without a sync after it), wait without commit,
 * violated assume, launch-time binding errors (shape mismatch, argument
 * count and kind, packed byte size, inexact division), semaphores that can
 * never be satisfied, the step limit, view replicas that disagree, layouts
 * that do not cover their value, and use of undefined values. Each race
 * test has a passing twin that differs only in the missing barrier. */
#include <math.h>

#include "tests/test_interp.h"

#define K (t.k)

static Expr *i32(T *t, int64_t v)
{
    return vm_e_i32(t->k, v);
}

/* x (f32[32], element t in thread t) -> shared -> read back through a
 * layout that gives most elements to other threads; with_sync adds the
 * barrier */
static void race_kernel(T *t, bool with_sync, VmArg *args)
{
    Kernel *k = t->k;
    Value *x = gvec(t, "x", VM_DT_F32, 32), *o = gvec(t, "o", VM_DT_F32, 32);
    Value *s = vm_b_shared_alloc(k, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    vm_set_name(k, s, "s");
    Value *lx = load(t, x);
    vm_set_layout(lx, P("spatial(32)"));
    vm_b_store_shared(k, vm_tile(s), lx);
    if (with_sync)
        vm_b_sync(k);
    at(t, 12);
    Value *r = vm_b_load_shared(k, vm_tile(s));
    /* thread t reads element (t % 2) * 16 + t / 2: thread 1 reads element 16 */
    vm_set_layout(r, P("layout(shape=[32], modes=[[2,16]], spatial=[1,0], local=[])"));
    store(t, o, r);
    vm_b_shared_free(k, s);
    static float X[32], O[32];
    for (int i = 0; i < 32; i++)
        X[i] = (float)i;
    args[0] = avec(X, VM_DT_F32, 32);
    args[1] = avec(O, VM_DT_F32, 32);
}

Test(interp_fault, missing_sync)
{
    T t = setup(1);
    VmArg args[2];
    race_kernel(&t, false, args);
    launch_fault(&t, args, 2, "without an intervening sync()", 12);
    cr_assert(strstr(t.d.v[0].msg, "written by thread 16 without an intervening sync() (reader thread 1) (at s[16])"),
              "%s", t.d.v[0].msg);
    done(&t);
    T u = setup(1);
    race_kernel(&u, true, args);
    launch_ok(&u, args, 2);
    done(&u);
}

static void async_kernel(T *t, int variant, VmArg *args)
{
    Kernel *k = t->k;
    Value *x = gvec(t, "x", VM_DT_F32, 32), *o = gvec(t, "o", VM_DT_F32, 32);
    Value *s = vm_b_shared_alloc(k, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    vm_b_copy_async(k, vm_tile(s), whole(x), NULL);
    at(t, 20);
    if (variant != 2)
        vm_b_commit(k);
    at(t, 21);
    if (variant != 0)
        vm_b_wait(k, 0);
    if (variant == 3)
        vm_b_sync(k);
    at(t, 23);
    Value *r = vm_b_load_shared(k, vm_tile(s));
    vm_set_layout(r, P("spatial(32)"));
    store(t, o, r);
    vm_b_shared_free(k, s);
    static float X[32], O[32];
    for (int i = 0; i < 32; i++)
        X[i] = (float)i * 2;
    args[0] = avec(X, VM_DT_F32, 32);
    args[1] = avec(O, VM_DT_F32, 32);
}

Test(interp_fault, copy_async_read_before_wait)
{
    T t = setup(1);
    VmArg args[2];
    async_kernel(&t, 0, args);
    launch_fault(&t, args, 2, "has not landed", 23);
    done(&t);
}

Test(interp_fault, copy_async_read_without_sync)
{
    T t = setup(1);
    VmArg args[2];
    async_kernel(&t, 1, args);
    launch_fault(&t, args, 2, "without a sync() after their wait", 23);
    done(&t);
    T u = setup(1);
    async_kernel(&u, 3, args);
    launch_ok(&u, args, 2);
    float *o = args[1].data;
    for (int i = 0; i < 32; i++)
        cr_assert_eq(o[i], (float)i * 2);
    done(&u);
}

Test(interp_fault, wait_without_commit)
{
    T t = setup(1);
    VmArg args[2];
    async_kernel(&t, 2, args);
    launch_fault(&t, args, 2, "no matching commit", 21);
    done(&t);
}

Test(interp_fault, shared_never_written)
{
    T t = setup(1);
    Value *s = vm_b_shared_alloc(K, VM_DT_U8, 1, (int32_t[]){32}, NULL);
    at(&t, 4);
    Value *r = vm_b_load_shared(K, vm_tile(s));
    vm_set_layout(r, P("spatial(32)"));
    vm_b_shared_free(K, s);
    launch_fault(&t, NULL, 0, "never written", 4);
    done(&t);
}

Test(interp_fault, assume_violated)
{
    T t = setup(1);
    Param *n = vm_param_scalar(K, "n", VM_DT_I32);
    vm_set_grid(K, 1, (Expr *[]){i32(&t, 4)});
    vm_b_for(K, "i", i32(&t, 0), vm_e_param(K, n), NULL);
    at(&t, 33);
    vm_b_assume(K, vm_e_bin(K, VM_S_LT, vm_e_bid(K, 0), i32(&t, 2)));
    vm_b_end(K);
    VmArg a = vm_arg_int(0);
    launch_ok(&t, &a, 1); /* never reached */
    a = vm_arg_int(1);
    launch_fault(&t, &a, 1, "assumption violated", 33);
    done(&t);
}

static Param *vec_dim(T *t, const char *name, Dtype dt, const char *dim)
{
    Expr *e[1] = {vm_e_param(t->k, vm_param_dim(t->k, dim))};
    return vm_param_tensor(t->k, name, dt, 1, e);
}

Test(interp_fault, shape_mismatch)
{
    T t = setup(1);
    at(&t, 3);
    vec_dim(&t, "x", VM_DT_F32, "m");
    at(&t, 4);
    vec_dim(&t, "y", VM_DT_F32, "m");
    float X[5], Y[6];
    VmArg args[] = {avec(X, VM_DT_F32, 5), avec(Y, VM_DT_F32, 6)};
    launch_fault(&t, args, 2, "dim 0 is 6 but m = 5", 4);
    done(&t);
}

Test(interp_fault, argument_count_and_kind)
{
    T t = setup(1);
    at(&t, 2);
    vm_param_scalar(K, "n", VM_DT_I32);
    vec_dim(&t, "x", VM_DT_F32, "m");
    float X[4];
    VmArg args[] = {vm_arg_int(3), avec(X, VM_DT_F32, 4)};
    launch_fault(&t, args, 1, "takes 2 arguments, 1 given", 1);
    done(&t);
    T u = setup(1);
    at(&u, 2);
    vm_param_scalar(u.k, "n", VM_DT_I32);
    VmArg bad = avec(X, VM_DT_F32, 4);
    launch_fault(&u, &bad, 1, "a tensor was given, a scalar expected", 2);
    done(&u);
    T w = setup(1);
    at(&w, 2);
    vm_param_scalar(w.k, "n", VM_DT_I32);
    VmArg big = vm_arg_int(1ll << 40);
    launch_fault(&w, &big, 1, "does not fit i32", 2);
    done(&w);
}

Test(interp_fault, packed_byte_size)
{
    T t = setup(1);
    at(&t, 6);
    vec_dim(&t, "w", VM_DT_U4, "n");
    uint8_t W[3];
    VmArg a = vm_arg_tensor(W, 2, 1, (int64_t[]){5}); /* u4[5] takes 3 bytes */
    launch_fault(&t, &a, 1, "2 bytes given, u4[5] takes 3", 6);
    done(&t);
}

Test(interp_fault, inexact_division)
{
    T t = setup(1);
    vec_dim(&t, "x", VM_DT_F32, "k");
    at(&t, 8);
    Expr *e[1] = {vm_e_bin(K, VM_S_DIV, vm_e_param(K, vm_param_dim(K, "k")), i32(&t, 4))};
    vm_param_tensor(K, "s", VM_DT_F32, 1, e);
    float X[6], S[1];
    VmArg args[] = {avec(X, VM_DT_F32, 6), avec(S, VM_DT_F32, 1)};
    launch_fault(&t, args, 2, "6 / 4 is not exact", 8);
    done(&t);
}

/* block b waits for the semaphore to hold (grid - 1 - b): the first block
 * waits for a release only a later block would make */
Test(interp_fault, semaphore_never_satisfied)
{
    T t = setup(1);
    vm_set_grid(K, 1, (Expr *[]){i32(&t, 3)});
    Value *sem = gvec(&t, "sem", VM_DT_I32, 1);
    Tile ts = vm_tile(sem);
    vm_tile_index(&ts, 0, i32(&t, 0));
    at(&t, 40);
    vm_b_lock(K, ts, vm_e_bin(K, VM_S_SUB, i32(&t, 2), vm_e_bid(K, 0)));
    vm_b_release(K, ts, vm_e_bin(K, VM_S_SUB, i32(&t, 1), vm_e_bid(K, 0)));
    int32_t S[1] = {0};
    VmArg a = avec(S, VM_DT_I32, 1);
    launch_fault(&t, &a, 1, "semaphore wait can never be satisfied in grid order", 40);
    S[0] = 2; /* now each block releases the next */
    T u = t;
    vm_diags_init(&u.d, u.a);
    launch_ok(&u, &a, 1);
    cr_assert_eq(S[0], -1);
    done(&t);
}

Test(interp_fault, step_limit)
{
    T t = setup(1);
    t.max_steps = 1000;
    at(&t, 50);
    vm_b_while(K, vm_e_bool(K, true));
    vm_b_end(K);
    launch_fault(&t, NULL, 0, "step limit of 1000", 50);
    done(&t);
    T u = setup(1); /* the limit is per block: 100 blocks of 11 steps pass */
    u.max_steps = 20;
    vm_set_grid(u.k, 1, (Expr *[]){i32(&u, 100)});
    vm_b_for(u.k, "i", i32(&u, 0), i32(&u, 5), NULL);
    vm_b_sync(u.k);
    vm_b_end(u.k);
    launch_ok(&u, NULL, 0);
    done(&u);
}

/* u8[64] (two per thread) viewed as a replicated u8[32]: threads t and
 * t + 16 both produce elements 2(t % 16), 2(t % 16) + 1 */
static void view_kernel(T *t, VmArg *args, uint8_t *X)
{
    Kernel *k = t->k;
    Value *x = gvec(t, "x", VM_DT_U8, 64), *o = gvec(t, "o", VM_DT_U8, 32);
    Value *lx = load(t, x);
    vm_set_layout(lx, P("spatial(32) * local(2)"));
    Layout lr = P("replicate(2) * spatial(16) * local(2)");
    at(t, 60);
    store(t, o, vm_b_view(k, lx, VM_DT_U8, &lr));
    static uint8_t O[32];
    args[0] = avec(X, VM_DT_U8, 64);
    args[1] = avec(O, VM_DT_U8, 32);
}

Test(interp_fault, view_replicas_disagree)
{
    static uint8_t X[64];
    uint64_t s = 12;
    for (int i = 0; i < 64; i++)
        X[i] = (uint8_t)rnd(&s);
    X[33] = (uint8_t)(X[1] + 1);
    T t = setup(1);
    VmArg args[2];
    view_kernel(&t, args, X);
    launch_fault(&t, args, 2, "replicas of result element", 60);
    done(&t);
    for (int i = 0; i < 32; i++)
        X[32 + i] = X[i];
    T u = setup(1);
    view_kernel(&u, args, X);
    launch_ok(&u, args, 2);
    uint8_t *o = args[1].data;
    for (int i = 0; i < 32; i++)
        cr_assert_eq(o[i], X[i]);
    done(&u);
}

Test(interp_fault, layout_does_not_cover)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, 32);
    Value *s = vm_b_shared_alloc(K, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    Value *lx = load(&t, x);
    vm_set_layout(lx, P("spatial(32) * local(2)"));
    at(&t, 70);
    vm_b_store_shared(K, vm_tile(s), lx);
    vm_b_shared_free(K, s);
    float X[32] = {1};
    VmArg a = avec(X, VM_DT_F32, 32);
    launch_fault(&t, &a, 1, "covers [64], not its shape [32]", 70);
    done(&t);
    T u = setup(2);
    x = gvec(&u, "x", VM_DT_F32, 32);
    s = vm_b_shared_alloc(u.k, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    lx = load(&u, x);
    vm_set_layout(lx, P("spatial(32)"));
    at(&u, 71);
    vm_b_store_shared(u.k, vm_tile(s), lx);
    vm_b_shared_free(u.k, s);
    launch_fault(&u, &a, 1, "covers 32 threads, the block has 64", 71);
    done(&u);
}

Test(interp_fault, undefined_value)
{
    T t = setup(1);
    Value *o = gvec(&t, "o", VM_DT_I32, 4);
    vm_b_if(K, vm_e_bool(K, false));
    Value *z = vm_b_zeros(K, VM_DT_I32, 1, (int32_t[]){4});
    vm_b_end(K);
    at(&t, 80);
    store(&t, o, z);
    int32_t O[4];
    VmArg a = avec(O, VM_DT_I32, 4);
    launch_fault(&t, &a, 1, "used before it is defined", 80);
    done(&t);
}

Test(interp_fault, out_of_range_accesses)
{
    T t = setup(1);
    Param *p = vm_param_scalar(K, "p", VM_DT_I32);
    Value *g = gvec(&t, "g", VM_DT_I32, 4);
    Value *z = vm_b_arange(K, VM_DT_I32, 4);
    Tile tl = vm_tile(z);
    vm_tile_range(&tl, 0, vm_e_param(K, p), 2);
    at(&t, 90);
    vm_b_slice(K, tl);
    Tile tg = vm_tile(g);
    vm_tile_index(&tg, 0, vm_e_bin(K, VM_S_ADD, vm_e_param(K, p), i32(&t, 2)));
    at(&t, 91);
    vm_b_load_scalar(K, "v", tg);
    Value *big = vm_b_global_view(K, g, i32(&t, 8), VM_DT_I32, 1, (Expr *[]){i32(&t, 3)}, NULL);
    Tile tb = vm_tile(big);
    vm_tile_range(&tb, 0, NULL, 3);
    at(&t, 92);
    vm_b_load_global(K, tb, NULL, NULL);
    int32_t G[4] = {0};
    VmArg args[] = {vm_arg_int(3), avec(G, VM_DT_I32, 4)};
    launch_fault(&t, args, 2, "outside dim 0 of size 4", 90);
    vm_diags_init(&t.d, t.a);
    args[0] = vm_arg_int(2);
    launch_fault(&t, args, 2, "index [4] is out of bounds", 91);
    vm_diags_init(&t.d, t.a);
    args[0] = vm_arg_int(1);
    launch_fault(&t, args, 2, "lies outside its bytes", 92);
    done(&t);
}

Test(interp_fault, printf_bad_format)
{
    T t = setup(1);
    at(&t, 100);
    vm_b_printf(K, "%d and %s\n", 2, (Expr *[]){i32(&t, 1), i32(&t, 2)});
    launch_fault(&t, NULL, 0, "unsupported conversion '%s'", 100);
    done(&t);
    T u = setup(1);
    at(&u, 101);
    vm_b_printf(u.k, "%d %d\n", 1, (Expr *[]){i32(&u, 1)});
    launch_fault(&u, NULL, 0, "more conversions than the 1 arguments", 101);
    done(&u);
    T w = setup(1);
    at(&w, 102);
    vm_b_printf(w.k, "%d\n", 2, (Expr *[]){i32(&w, 1), i32(&w, 2)});
    launch_fault(&w, NULL, 0, "2 arguments for 1 conversions", 102);
    done(&w);
}

Test(interp_fault, bad_warps_and_for_step)
{
    T t = setup(1);
    t.k->warps = 0;
    launch_fault(&t, NULL, 0, "has 0 warps", 1);
    done(&t);
    T u = setup(1);
    at(&u, 110);
    vm_b_for(u.k, "i", i32(&u, 0), i32(&u, 4), i32(&u, 0));
    vm_b_end(u.k);
    launch_fault(&u, NULL, 0, "step 0", 110);
    done(&u);
}

/* write after read: thread 2 read element 1 (race_kernel's layout); a
 * rewrite of the tile by its owners, or a copy_async into it, needs a sync
 * first. variant 0: store_shared, 1: copy_async, 2: store_shared after sync */
static void war_kernel(T *t, int variant, VmArg *args)
{
    Kernel *k = t->k;
    Value *x = gvec(t, "x", VM_DT_F32, 32), *o = gvec(t, "o", VM_DT_F32, 32);
    Value *s = vm_b_shared_alloc(k, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    Value *lx = load(t, x);
    vm_set_layout(lx, P("spatial(32)"));
    vm_b_store_shared(k, vm_tile(s), lx);
    vm_b_sync(k);
    Value *r = vm_b_load_shared(k, vm_tile(s));
    vm_set_layout(r, P("layout(shape=[32], modes=[[2,16]], spatial=[1,0], local=[])"));
    if (variant == 2)
        vm_b_sync(k);
    at(t, 120);
    if (variant == 1) {
        vm_b_copy_async(k, vm_tile(s), whole(x), NULL);
        vm_b_commit(k);
        vm_b_wait(k, 0);
    } else {
        Value *twice = vm_b_binary(k, VM_ADD, lx, lx);
        vm_set_layout(twice, P("spatial(32)"));
        vm_b_store_shared(k, vm_tile(s), twice);
    }
    store(t, o, r);
    vm_b_shared_free(k, s);
    static float X[32], O[32];
    for (int i = 0; i < 32; i++)
        X[i] = (float)i;
    args[0] = avec(X, VM_DT_F32, 32);
    args[1] = avec(O, VM_DT_F32, 32);
}

Test(interp_fault, write_after_read)
{
    VmArg args[2];
    T t = setup(1);
    war_kernel(&t, 0, args);
    launch_fault(&t, args, 2, "shared write to bytes read by thread 2 without an intervening sync()", 120);
    done(&t);
    T u = setup(1);
    war_kernel(&u, 1, args);
    launch_fault(&u, args, 2, "copy_async to bytes read by thread ", 120);
    done(&u);
    T w = setup(1);
    war_kernel(&w, 2, args);
    launch_ok(&w, args, 2);
    float *o = args[1].data;
    for (int i = 0; i < 32; i++)
        cr_assert_eq(o[i], (float)i);
    done(&w);
}

Test(interp_fault, store_over_copy_in_flight)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, 32);
    Value *s = vm_b_shared_alloc(K, VM_DT_F32, 1, (int32_t[]){32}, NULL);
    vm_b_copy_async(K, vm_tile(s), whole(x), NULL);
    vm_b_commit(K);
    Value *lx = load(&t, x);
    vm_set_layout(lx, P("spatial(32)"));
    at(&t, 130);
    vm_b_store_shared(K, vm_tile(s), lx);
    vm_b_wait(K, 0);
    vm_b_shared_free(K, s);
    float X[32] = {2};
    VmArg a = avec(X, VM_DT_F32, 32);
    launch_fault(&t, &a, 1, "shared write by thread 0 to bytes with a copy_async in flight", 130);
    done(&t);
}

/* tests/test_bench.c - the public benchmarking calls (runtime/bench.c) on a
 * machine without a GPU: arguments are checked first (LPVM_ERR_INVALID with
 * a message), then an interpreter context answers LPVM_ERR_NO_GPU without
 * calling the timed function. The timing itself runs only on a GPU
 * (bench/README.md). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "lpvm.h"

static const char VADD[] =
    "kernel vadd<block: int = 256>(x: global f32[n], y: global f32[n], z: global f32[n])\n"
    "    grid(cdiv(n, block)) warps(4)\n"
    "{\n"
    "    let i0 = bid.x * block;\n"
    "    store_global(z[i0 : block], load_global(x[i0 : block]) + load_global(y[i0 : block]));\n"
    "}\n";

static lpvm_context *interp(void)
{
    lpvm_context *ctx = NULL;
    lpvm_options o = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    cr_assert_eq(lpvm_context_create(&o, &ctx), LPVM_OK);
    return ctx;
}

static int calls;
static lpvm_status count_call(void *user, int set, lpvm_stream s)
{
    (void)user, (void)set, (void)s;
    calls++;
    return LPVM_OK;
}

Test(bench, callback_rejects_bad_arguments)
{
    lpvm_context *ctx = interp();
    lpvm_bench_result r;
    cr_expect_eq(lpvm_bench_callback(NULL, count_call, NULL, 1, NULL, &r), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench_callback(ctx, NULL, NULL, 1, NULL, &r), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "no function"));
    cr_expect_eq(lpvm_bench_callback(ctx, count_call, NULL, 0, NULL, &r), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "nsets"));
    cr_expect_eq(lpvm_bench_callback(ctx, count_call, NULL, 1, NULL, NULL), LPVM_ERR_INVALID);
    lpvm_bench_opts bad[] = {{.b2b_launches = -1}, {.b2b_runs = -2}, {.single_runs = -1},
                             {.warmup = -1},       {.flush_l2 = 2},  {.budget_s = -1},
                             {.budget_s = NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(lpvm_bench_callback(ctx, count_call, NULL, 1, &bad[i], &r), LPVM_ERR_INVALID,
                     "options %zu", i);
    cr_expect_eq(calls, 0);
    lpvm_context_destroy(ctx);
}

Test(bench, callback_needs_a_gpu)
{
    lpvm_context *ctx = interp();
    lpvm_bench_result r;
    memset(&r, 0x7f, sizeof r);
    lpvm_bench_opts o = {.b2b_launches = 10, .flush_l2 = 1, .budget_s = 1};
    cr_assert_eq(lpvm_bench_callback(ctx, count_call, NULL, 4, &o, &r), LPVM_ERR_NO_GPU);
    cr_expect(strstr(lpvm_error_message(ctx), "GPU"));
    cr_expect_eq(calls, 0, "the timed function must not run on the interpreter");
    cr_expect_eq(r.b2b_us, 0);
    cr_expect_eq(r.single_runs, 0);
    cr_expect_eq(lpvm_bench_callback(ctx, count_call, NULL, 1, NULL, &r), LPVM_ERR_NO_GPU);
    lpvm_context_destroy(ctx);
}

Test(bench, kernel_bench_checks_then_needs_a_gpu)
{
    lpvm_context *ctx = interp();
    lpvm_module *m;
    lpvm_kernel *k;
    cr_assert_eq(lpvm_module_load(ctx, VADD, "vadd.lpk", &m), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(m, NULL, NULL, &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    lpvm_buffer *b[3];
    int64_t n = 1024;
    lpvm_arg args[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(lpvm_buffer_alloc(ctx, (size_t)n * 4, &b[i]), LPVM_OK);
        args[i] = lpvm_arg_tensor(b[i], "f32", 1, &n);
    }
    const lpvm_arg *sets[2] = {args, args};
    const lpvm_arg *holey[2] = {args, NULL};
    lpvm_bench_result r;
    cr_expect_eq(lpvm_bench(NULL, sets, 2, 3, NULL, &r), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench(k, NULL, 2, 3, NULL, &r), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench(k, sets, 0, 3, NULL, &r), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench(k, holey, 2, 3, NULL, &r), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "argument set 1"));
    cr_expect_eq(lpvm_bench(k, sets, 2, 3, NULL, NULL), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench(k, sets, 2, 3, NULL, &r), LPVM_ERR_NO_GPU);
    for (int i = 0; i < 3; i++)
        lpvm_buffer_free(b[i]);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
}

/* a workspace kernel is timed like any other (its workspace comes from the
 * kernel's pool: no allocation or host wait per launch, runtime/gpu.c); on
 * the interpreter that means the arguments pass and the GPU is missing */
Test(bench, kernel_with_a_workspace_is_accepted)
{
    static const char src[] =
        "kernel chain(x: global f32[m, n], y: global f32[n]) grid(m) warps(1) {\n"
        "    let sem = workspace(i32[1]);\n"
        "    lock(sem[0], bid.x);\n"
        "    store_global(y[0 : 32], load_global(x[bid.x, 0 : 32]));\n"
        "    release(sem[0], bid.x + 1);\n"
        "}\n";
    lpvm_context *ctx = interp();
    lpvm_module *m;
    lpvm_kernel *k;
    cr_assert_eq(lpvm_module_load(ctx, src, "chain.lpk", &m), LPVM_OK, "%s", lpvm_error_message(ctx));
    cr_assert_eq(lpvm_kernel_get(m, NULL, NULL, &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    lpvm_arg none[1];
    const lpvm_arg *sets[1] = {none};
    lpvm_bench_result r;
    cr_expect_eq(lpvm_bench(k, sets, 1, 0, NULL, &r), LPVM_ERR_NO_GPU, "%s",
                 lpvm_error_message(ctx));
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
}

Test(bench, copy_bandwidth_checks_then_needs_a_gpu)
{
    lpvm_context *ctx = interp();
    double g = 123;
    cr_expect_eq(lpvm_bench_copy_bandwidth(NULL, 1 << 20, &g), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench_copy_bandwidth(ctx, 1 << 20, NULL), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_bench_copy_bandwidth(ctx, 0, &g), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "zero bytes"));
    cr_expect_eq(lpvm_bench_copy_bandwidth(ctx, 1 << 20, &g), LPVM_ERR_NO_GPU);
    cr_expect_eq(g, 0);
    lpvm_context_destroy(ctx);
}

Test(bench, device_pointer_is_zero_on_the_interpreter)
{
    lpvm_context *ctx = interp();
    lpvm_buffer *b;
    cr_assert_eq(lpvm_buffer_alloc(ctx, 64, &b), LPVM_OK);
    cr_expect_eq(lpvm_buffer_device_ptr(b), 0);
    cr_expect_eq(lpvm_buffer_device_ptr(NULL), 0);
    lpvm_buffer_free(b);
    lpvm_context_destroy(ctx);
}

Test(bench, device_info_on_the_interpreter)
{
    lpvm_context *ctx = interp();
    lpvm_device_info info;
    memset(&info, 0x55, sizeof info);
    cr_expect_eq(lpvm_device_get_info(NULL, &info), LPVM_ERR_INVALID);
    cr_expect_eq(lpvm_device_get_info(ctx, NULL), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_device_get_info(ctx, &info), LPVM_ERR_NO_GPU);
    cr_expect_str_eq(info.name, "interpreter");
    cr_expect_eq(info.sm_count, 0);
    cr_expect_eq(info.l2_bytes, 0);
    cr_expect_eq(info.total_mem, 0);
    lpvm_context_destroy(ctx);
}

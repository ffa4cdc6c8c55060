/* tests/gpu/workspace.c - the runtime's workspace pool (runtime/gpu.c) on
 * the GPU: a workspace is zero at every launch although the pool reuses its
 * buffer, grows when a launch needs more, and stays valid across streams
 * (lpvm_bench launches on a stream of its own and destroys it; the launch
 * after it waits on the pool's event, not on that stream). The kernel reads
 * its workspace into y (plus one) and then dirties it: any launch that
 * finds the previous launch's 7s fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpvm.h"

#include "tests/gpu/gpu.h"

static const char src[] =
    "kernel wsz(y: global i32[n]) grid(1) warps(2) {\n"
    "    let ws = workspace(i32[n]);\n"
    "    let v = load_global(ws[0 : 64]);\n"
    "    store_global(y[0 : 64], v + 1);\n"
    "    store_global(ws[0 : 64], full(i32[64], 7));\n"
    "}\n";

/* one launch with n elements on the default stream; y must be all 1 */
static bool launch_ok(lpvm_context *ctx, lpvm_kernel *k, lpvm_buffer *y, int64_t n, char *why,
                      size_t wn)
{
    int32_t h[64];
    for (int i = 0; i < 64; i++)
        h[i] = -5;
    lpvm_arg a = lpvm_arg_tensor(y, "i32", 1, &n);
    if (lpvm_buffer_upload(y, 0, h, sizeof h) != LPVM_OK || lpvm_launch(k, &a, 1, NULL) != LPVM_OK ||
        lpvm_synchronize(ctx) != LPVM_OK || lpvm_buffer_download(y, 0, h, sizeof h) != LPVM_OK) {
        snprintf(why, wn, "launch n=%lld: %s", (long long)n, lpvm_error_message(ctx));
        return false;
    }
    for (int i = 0; i < n; i++)
        if (h[i] != 1) {
            snprintf(why, wn, "n=%lld: y[%d] = %d, not 1 (workspace not zeroed)", (long long)n, i,
                     h[i]);
            return false;
        }
    return true;
}

bool gpu_workspace_pool(lpvm_context *ctx, char *why, size_t wn)
{
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    lpvm_buffer *y = NULL;
    bool ok = false;
    if (lpvm_module_load(ctx, src, "workspace.c", &m) != LPVM_OK ||
        lpvm_kernel_get(m, NULL, NULL, &k) != LPVM_OK ||
        lpvm_buffer_alloc(ctx, 64 * sizeof(int32_t), &y) != LPVM_OK) {
        snprintf(why, wn, "set-up: %s", lpvm_error_message(ctx));
        goto out;
    }
    /* first use, reuse, growth */
    if (!launch_ok(ctx, k, y, 16, why, wn) || !launch_ok(ctx, k, y, 16, why, wn) ||
        !launch_ok(ctx, k, y, 64, why, wn))
        goto out;
    /* the bench's own stream, destroyed when it returns */
    int64_t n = 48;
    lpvm_arg a = lpvm_arg_tensor(y, "i32", 1, &n);
    const lpvm_arg *sets[1] = {&a};
    lpvm_bench_opts o = {.b2b_launches = 4, .b2b_runs = 3, .single_runs = 3, .warmup = 2,
                         .budget_s = 0.1};
    lpvm_bench_result r;
    if (lpvm_bench(k, sets, 1, 1, &o, &r) != LPVM_OK) {
        snprintf(why, wn, "lpvm_bench: %s", lpvm_error_message(ctx));
        goto out;
    }
    ok = launch_ok(ctx, k, y, 48, why, wn) && launch_ok(ctx, k, y, 64, why, wn);
out:
    lpvm_buffer_free(y);
    lpvm_module_destroy(m);
    return ok;
}

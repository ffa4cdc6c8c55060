/* samples/jit/jit.c - a host program that JIT-compiles an lpvm kernel given
 * as a string and runs it through the public API (include/lpvm.h) only: on
 * the GPU when one is present, else on the interpreter. It computes
 * z = a * x + y with x in f16 and a, y, z in f32, checks z against a plain
 * C loop and prints OK or FAILED (exit status 0 or 1). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lpvm.h"

static const char *SRC =
    "kernel axpy<block: int = 1024>(a: f32, x: global f16[n], y: global f32[n], z: global f32[n])\n"
    "    grid(cdiv(n, block)) warps(4)\n"
    "{\n"
    "    let i0 = bid.x * block;\n"
    "    let xv = cast(load_global(x[i0 : block]), f32);\n"
    "    store_global(z[i0 : block], xv * a + load_global(y[i0 : block]));\n"
    "}\n";

/* An IEEE half (its bits) as a float. */
static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), e - 25);
    return h & 0x8000 ? -v : v;
}

static int fail(lpvm_context *ctx, lpvm_status st, const char *what)
{
    fprintf(stderr, "jit: %s: %s\n%s\n", what, lpvm_status_string(st), ctx ? lpvm_error_message(ctx) : "");
    printf("FAILED\n");
    return 1;
}

int main(void)
{
    enum { N = 5000 }; /* not a multiple of the block: the last block is masked */
    const float a = 0.75f;
    lpvm_context *ctx = NULL;
    lpvm_module *mod = NULL;
    lpvm_kernel *k = NULL;
    lpvm_status st = lpvm_context_create(NULL, &ctx); /* LPVM_DEVICE_AUTO */
    if (st != LPVM_OK)
        return fail(ctx, st, "context");
    printf("running on %s%s\n", lpvm_device_name(ctx), lpvm_is_gpu(ctx) ? " (GPU)" : " (no GPU found)");
    if ((st = lpvm_module_load(ctx, SRC, "axpy.lpk", &mod)) != LPVM_OK ||
        (st = lpvm_kernel_get(mod, "axpy", "block=512", &k)) != LPVM_OK)
        return fail(ctx, st, "compile");

    static uint16_t x[N];
    static float y[N], z[N];
    lpvm_buffer *bx = NULL, *by = NULL, *bz = NULL;
    if ((st = lpvm_fill_random(x, "f16", N, 1)) != LPVM_OK || (st = lpvm_fill_random(y, "f32", N, 2)) != LPVM_OK ||
        (st = lpvm_buffer_alloc(ctx, sizeof x, &bx)) != LPVM_OK ||
        (st = lpvm_buffer_alloc(ctx, sizeof y, &by)) != LPVM_OK ||
        (st = lpvm_buffer_alloc(ctx, sizeof z, &bz)) != LPVM_OK ||
        (st = lpvm_buffer_upload(bx, 0, x, sizeof x)) != LPVM_OK ||
        (st = lpvm_buffer_upload(by, 0, y, sizeof y)) != LPVM_OK)
        return fail(ctx, st, "buffers");

    int64_t n[1] = {N};
    lpvm_arg args[] = {lpvm_arg_f32(a), lpvm_arg_tensor(bx, "f16", 1, n), lpvm_arg_tensor(by, "f32", 1, n),
                       lpvm_arg_tensor(bz, "f32", 1, n)};
    if ((st = lpvm_launch(k, args, 4, NULL)) != LPVM_OK || (st = lpvm_synchronize(ctx)) != LPVM_OK ||
        (st = lpvm_buffer_download(bz, 0, z, sizeof z)) != LPVM_OK)
        return fail(ctx, st, "launch");

    int bad = 0;
    for (int i = 0; i < N; i++) {
        float ax = a * half_to_float(x[i]), want = ax + y[i];
        if (fabsf(z[i] - want) > 0x1p-23f * (fabsf(ax) + fabsf(y[i]))) { /* an fma would round once */
            if (bad++ < 5)
                fprintf(stderr, "z[%d] = %.9g, expected %.9g\n", i, z[i], want);
        }
    }
    lpvm_buffer_free(bx);
    lpvm_buffer_free(by);
    lpvm_buffer_free(bz);
    lpvm_module_destroy(mod);
    lpvm_context_destroy(ctx);
    printf(bad ? "FAILED (%d of %d wrong)\n" : "OK (%d of %d wrong)\n", bad, N);
    return bad != 0;
}

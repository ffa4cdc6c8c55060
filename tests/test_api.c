/* tests/test_api.c - the public API (include/lpvm.h) on the interpreter:
 * bad input is an error value with a message (never a crash or a print),
 * buffers keep their bounds, an empty grid is a no-op, and the data helpers
 * (lpvm_compare, lpvm_fill_random, lpvm_dtype_bytes) behave as documented.
 * Text of kernels: SOURCE round trips; TIR and LLVM-backend PTX need no GPU;
 * NVRTC pieces are skipped with a visible message where absent. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpvm.h"
#include "runtime/runtime.h"

static const char *VADD =
    "// spec: block=256\n"
    "// spec: dt=f16,block=128\n"
    "kernel vadd<dt: dtype = f32, block: int = 256>(x: global dt[n], y: global dt[n], z: global dt[n])\n"
    "    grid(cdiv(n, block)) warps(4)\n"
    "{\n"
    "    let i0 = bid.x * block;\n"
    "    store_global(z[i0 : block], load_global(x[i0 : block]) + load_global(y[i0 : block]));\n"
    "}\n"
    "kernel fill(z: global i32[m, 4], v: i32) grid(m) warps(1)\n"
    "{\n"
    "    store_global(z[bid.x : 1, 0 : 4], full(i32[1, 4], v));\n"
    "}\n"
    "kernel hello(z: global f32[n]) grid(2) warps(1)\n"
    "{\n"
    "    printf(\"block %d of n=%d\\n\", bid.x, n);\n"
    "}\n";

typedef struct {
    lpvm_context *ctx;
    lpvm_module *mod;
    lpvm_kernel *k; /* vadd, f32, block=256 */
    lpvm_buffer *x, *y, *z;
} Fix;

static void fix_open(Fix *f)
{
    memset(f, 0, sizeof *f);
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    cr_assert_eq(lpvm_context_create(&opt, &f->ctx), LPVM_OK);
    cr_assert_eq(lpvm_module_load(f->ctx, VADD, "api.lpk", &f->mod), LPVM_OK, "%s", lpvm_error_message(f->ctx));
    cr_assert_eq(lpvm_kernel_get(f->mod, "vadd", "block=256", &f->k), LPVM_OK, "%s", lpvm_error_message(f->ctx));
    cr_assert_eq(lpvm_buffer_alloc(f->ctx, 4000, &f->x), LPVM_OK);
    cr_assert_eq(lpvm_buffer_alloc(f->ctx, 4000, &f->y), LPVM_OK);
    cr_assert_eq(lpvm_buffer_alloc(f->ctx, 4000, &f->z), LPVM_OK);
}

static void fix_close(Fix *f)
{
    lpvm_buffer_free(f->x);
    lpvm_buffer_free(f->y);
    lpvm_buffer_free(f->z);
    lpvm_module_destroy(f->mod);
    lpvm_context_destroy(f->ctx);
}

/* Launches vadd with args and expects `want` and, on an error, a message
 * containing every string of `needles` (NULL-terminated). */
static void expect_launch(Fix *f, const lpvm_arg *a, size_t n, lpvm_status want, const char *const *needles)
{
    lpvm_status st = lpvm_launch(f->k, a, n, NULL);
    const char *msg = lpvm_error_message(f->ctx);
    cr_assert_eq(st, want, "status %s, message: %s", lpvm_status_string(st), msg);
    if (want == LPVM_OK)
        return;
    cr_assert(msg && *msg, "no error message");
    for (int i = 0; needles && needles[i]; i++)
        cr_expect(strstr(msg, needles[i]), "message lacks '%s': %s", needles[i], msg);
}

static const int64_t N1000[1] = {1000};

Test(api, context_and_version)
{
    cr_assert(lpvm_version() && *lpvm_version());
    for (int s = LPVM_OK; s <= LPVM_ERR_RUNTIME; s++)
        cr_assert(lpvm_status_string((lpvm_status)s) && *lpvm_status_string((lpvm_status)s));
    Fix f;
    fix_open(&f);
    cr_assert_str_eq(lpvm_device_name(f.ctx), "interpreter");
    cr_assert_eq(lpvm_is_gpu(f.ctx), 0);
    cr_assert_str_eq(lpvm_error_message(f.ctx), "");
    cr_assert_eq(lpvm_module_kernel_count(f.mod), 3);
    cr_assert_str_eq(lpvm_module_kernel_name(f.mod, 0), "vadd");
    cr_assert_str_eq(lpvm_module_kernel_name(f.mod, 2), "hello");
    cr_assert_eq(lpvm_module_spec_count(f.mod), 2);
    const char *kn = "x";
    cr_assert_str_eq(lpvm_module_spec(f.mod, 1, &kn), "dt=f16,block=128");
    cr_assert_null(kn);
    cr_assert_eq(lpvm_module_load(f.ctx, NULL, "x.lpk", &f.mod), LPVM_ERR_INVALID);
    fix_close(&f);
    cr_assert_eq(lpvm_context_create(NULL, NULL), LPVM_ERR_INVALID);
}

Test(api, launch_ok_and_params)
{
    Fix f;
    fix_open(&f);
    cr_assert_eq(lpvm_kernel_param_count(f.k), 3);
    lpvm_param_info p;
    cr_assert_eq(lpvm_kernel_param(f.k, 1, &p), LPVM_OK);
    cr_assert_str_eq(p.name, "y");
    cr_assert_eq(p.is_tensor, 1);
    cr_assert_str_eq(p.dtype, "f32");
    cr_assert_eq(p.bits, 32);
    cr_assert_eq(p.rank, 1);
    cr_assert_neq(lpvm_kernel_param(f.k, 3, &p), LPVM_OK);
    cr_assert_neq(lpvm_kernel_param(f.k, -1, &p), LPVM_OK);
    float x[1000], y[1000], z[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = (float)i, y[i] = 0.5f * (float)i;
    cr_assert_eq(lpvm_buffer_upload(f.x, 0, x, sizeof x), LPVM_OK);
    cr_assert_eq(lpvm_buffer_upload(f.y, 0, y, sizeof y), LPVM_OK);
    lpvm_arg a[3] = {lpvm_arg_tensor(f.x, "f32", 1, N1000), lpvm_arg_tensor(f.y, "f32", 1, N1000),
                     lpvm_arg_tensor(f.z, "f32", 1, N1000)};
    expect_launch(&f, a, 3, LPVM_OK, NULL);
    cr_assert_eq(lpvm_synchronize(f.ctx), LPVM_OK);
    cr_assert_eq(lpvm_buffer_download(f.z, 0, z, sizeof z), LPVM_OK);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(z[i], 1.5f * (float)i, "z[%d] = %g", i, z[i]);
    fix_close(&f);
}

Test(api, launch_bad_arguments)
{
    Fix f;
    fix_open(&f);
    lpvm_arg ok[3] = {lpvm_arg_tensor(f.x, "f32", 1, N1000), lpvm_arg_tensor(f.y, "f32", 1, N1000),
                      lpvm_arg_tensor(f.z, "f32", 1, N1000)};
    lpvm_arg a[4];

    expect_launch(&f, ok, 2, LPVM_ERR_INVALID, (const char *[]){"3", NULL});
    memcpy(a, ok, sizeof ok);
    a[3] = lpvm_arg_i32(1);
    expect_launch(&f, a, 4, LPVM_ERR_INVALID, (const char *[]){"3", NULL});

    memcpy(a, ok, sizeof ok);
    a[1].dtype = "f16";
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"y", "f16", "f32", NULL});

    memcpy(a, ok, sizeof ok);
    a[0].rank = 2, a[0].shape[0] = 10, a[0].shape[1] = 100;
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"x", "rank", NULL});

    memcpy(a, ok, sizeof ok);
    a[2] = lpvm_arg_f32(1.0f);
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"z", "tensor", NULL});

    memcpy(a, ok, sizeof ok);
    a[0].buffer = NULL;
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"x", NULL});

    memcpy(a, ok, sizeof ok);
    a[1].shape[0] = 999; /* n bound to 1000 by x: an interpreter fault (VM.md 7) */
    cr_assert_eq(lpvm_launch(f.k, a, 3, NULL), LPVM_ERR_RUNTIME);
    cr_expect(strstr(lpvm_error_message(f.ctx), "argument y: dim 0 is 999 but n = 1000"), "%s",
              lpvm_error_message(f.ctx));

    memcpy(a, ok, sizeof ok);
    int64_t big[1] = {1001}; /* 4004 bytes in a 4000-byte buffer */
    for (int i = 0; i < 3; i++)
        a[i] = lpvm_arg_tensor(i == 0 ? f.x : i == 1 ? f.y : f.z, "f32", 1, big);
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"x", "4004", "4000", NULL});

    memcpy(a, ok, sizeof ok);
    a[2].nbytes = 3996; /* an explicit byte size below the shape's */
    lpvm_status st = lpvm_launch(f.k, a, 3, NULL);
    cr_assert(st == LPVM_ERR_INVALID || st == LPVM_ERR_RUNTIME, "%s", lpvm_status_string(st));
    cr_expect(strstr(lpvm_error_message(f.ctx), "argument z: 3996 bytes given, f32[1000] takes 4000"), "%s",
              lpvm_error_message(f.ctx));

    lpvm_context *other = NULL;
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    cr_assert_eq(lpvm_context_create(&opt, &other), LPVM_OK);
    lpvm_buffer *ob = NULL;
    cr_assert_eq(lpvm_buffer_alloc(other, 4000, &ob), LPVM_OK);
    memcpy(a, ok, sizeof ok);
    a[2].buffer = ob;
    expect_launch(&f, a, 3, LPVM_ERR_INVALID, (const char *[]){"z", "context", NULL});
    lpvm_buffer_free(ob);
    lpvm_context_destroy(other);

    cr_assert_eq(lpvm_launch(f.k, NULL, 3, NULL), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_launch(NULL, ok, 3, NULL), LPVM_ERR_INVALID);
    expect_launch(&f, ok, 3, LPVM_OK, NULL); /* the errors left the kernel usable */
    fix_close(&f);
}

Test(api, scalar_given_a_tensor)
{
    Fix f;
    fix_open(&f);
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_kernel_get(f.mod, "fill", NULL, &k), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    int64_t sh[2] = {3, 4};
    lpvm_arg a[2] = {lpvm_arg_tensor(f.z, "i32", 2, sh), lpvm_arg_tensor(f.x, "i32", 2, sh)};
    lpvm_status st = lpvm_launch(k, a, 2, NULL);
    cr_assert_eq(st, LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(f.ctx), "v"), "%s", lpvm_error_message(f.ctx));
    a[1] = lpvm_arg_i64(7); /* an i64 for an i32 scalar */
    cr_expect_neq(lpvm_launch(k, a, 2, NULL), LPVM_OK, "i64 passed for an i32 scalar");
    a[1] = lpvm_arg_i32(-7);
    cr_assert_eq(lpvm_launch(k, a, 2, NULL), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    int32_t out[12];
    cr_assert_eq(lpvm_buffer_download(f.z, 0, out, sizeof out), LPVM_OK);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(out[i], -7);
    fix_close(&f);
}

Test(api, empty_grid_is_a_noop)
{
    Fix f;
    fix_open(&f);
    uint8_t pat[4000], back[4000];
    memset(pat, 0xA5, sizeof pat);
    cr_assert_eq(lpvm_buffer_upload(f.z, 0, pat, sizeof pat), LPVM_OK);
    int64_t zero[1] = {0};
    lpvm_arg a[3] = {lpvm_arg_tensor(f.x, "f32", 1, zero), lpvm_arg_tensor(f.y, "f32", 1, zero),
                     lpvm_arg_tensor(f.z, "f32", 1, zero)};
    cr_assert_eq(lpvm_launch(f.k, a, 3, NULL), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    cr_assert_eq(lpvm_buffer_download(f.z, 0, back, sizeof back), LPVM_OK);
    cr_assert(!memcmp(pat, back, sizeof pat), "an empty grid wrote to z");
    fix_close(&f);
}

Test(api, buffer_bounds)
{
    Fix f;
    fix_open(&f);
    cr_assert_eq(lpvm_buffer_size(f.x), 4000);
    uint8_t src[16], dst[16];
    for (int i = 0; i < 16; i++)
        src[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(lpvm_buffer_upload(f.x, 3984, src, 16), LPVM_OK);
    cr_assert_eq(lpvm_buffer_download(f.x, 3984, dst, 16), LPVM_OK);
    cr_assert(!memcmp(src, dst, 16));
    cr_assert_eq(lpvm_buffer_download(f.x, 3990, dst, 6), LPVM_OK);
    cr_assert(!memcmp(src + 6, dst, 6));
    cr_assert_eq(lpvm_buffer_upload(f.x, 3985, src, 16), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_download(f.x, 3985, dst, 16), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_upload(f.x, 4001, src, 0), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_upload(f.x, SIZE_MAX - 4, src, 8), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_download(f.x, 8, dst, SIZE_MAX - 4), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_upload(f.x, 0, NULL, 4), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_upload(NULL, 0, src, 4), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_buffer_download(f.x, 3984, dst, 16), LPVM_OK);
    cr_assert(!memcmp(src, dst, 16), "a refused upload changed the buffer");
    lpvm_buffer *b = NULL;
    cr_assert_eq(lpvm_buffer_alloc(NULL, 16, &b), LPVM_ERR_INVALID);
    lpvm_buffer_free(NULL);
    fix_close(&f);
}

Test(api, kernel_lookup_and_specs)
{
    Fix f;
    fix_open(&f);
    lpvm_kernel *k = NULL;
    lpvm_status st = lpvm_kernel_get(f.mod, "vsub", NULL, &k);
    cr_assert_neq(st, LPVM_OK);
    cr_expect(strstr(lpvm_error_message(f.ctx), "'vsub'"), "%s", lpvm_error_message(f.ctx));
    cr_expect_eq(st, LPVM_ERR_INVALID, "an unknown kernel name is LPVM_ERR_INVALID (lpvm.h), got %s",
                 lpvm_status_string(st));
    st = lpvm_kernel_get(f.mod, "vadd", "block=256,bz=3", &k);
    cr_assert(st == LPVM_ERR_SOURCE || st == LPVM_ERR_INVALID, "%s", lpvm_status_string(st));
    const char *m = lpvm_error_message(f.ctx);
    cr_expect(strstr(m, "unknown key 'bz'"), "%s", m);
    cr_expect(strstr(m, "<spec>:1:11"), "%s", m);
    st = lpvm_kernel_get(f.mod, "vadd", "block=f16", &k);
    cr_assert_neq(st, LPVM_OK);
    m = lpvm_error_message(f.ctx);
    cr_expect(strstr(m, "'block' is an int parameter"), "%s", m);
    st = lpvm_kernel_get(f.mod, "vadd", "dt=7", &k);
    cr_assert_neq(st, LPVM_OK);
    cr_expect(strstr(lpvm_error_message(f.ctx), "dt"), "%s", lpvm_error_message(f.ctx));
    cr_assert_eq(lpvm_kernel_get(f.mod, NULL, "", &k), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    lpvm_param_info p;
    cr_assert_eq(lpvm_kernel_param(k, 0, &p), LPVM_OK);
    cr_assert_str_eq(p.dtype, "f32");
    cr_assert_eq(lpvm_kernel_get(f.mod, NULL, "dt=f16,block=128", &k), LPVM_OK);
    cr_assert_eq(lpvm_kernel_param(k, 0, &p), LPVM_OK);
    cr_assert_str_eq(p.dtype, "f16");
    cr_assert_eq(p.bits, 16);
    fix_close(&f);
}

Test(api, syntax_error_located)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    const char *bad = "kernel k(x: global f32[n]) grid(1) warps(1)\n"
                      "{\n"
                      "    let a = load_global(x[0 : 32]) +;\n"
                      "}\n";
    lpvm_module *m = NULL;
    cr_assert_eq(lpvm_module_load(ctx, bad, "bad.lpk", &m), LPVM_ERR_SOURCE);
    const char *msg = lpvm_error_message(ctx);
    cr_assert(strstr(msg, "bad.lpk:3:"), "%s", msg);
    cr_assert(strstr(msg, "error:"), "%s", msg);
    cr_assert(strstr(msg, "    let a = load_global(x[0 : 32]) +;\n"), "no source line: %s", msg);
    cr_assert(strstr(msg, "^"), "no caret: %s", msg);
    const char *col = strstr(msg, "bad.lpk:3:") + 10;
    int c = atoi(col);
    const char *caret = strchr(msg, '^'), *bol = caret;
    while (bol > msg && bol[-1] != '\n')
        bol--;
    cr_expect_eq((int)(caret - bol) + 1, c, "caret at column %d, message says %d: %s", (int)(caret - bol) + 1, c,
                 msg);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
}

Test(api, kernel_param_shape)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    const char *src = "kernel g<wt: dtype>(x: global f16[k], w: global u8[n, k * bits(wt) / 8], s: f32)\n"
                      "    grid(n) warps(1)\n{\n}\n";
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, "g.lpk", &m), LPVM_OK, "%s", lpvm_error_message(ctx));
    cr_assert_eq(lpvm_kernel_get(m, NULL, "wt=u3", &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    int rank = -1;
    int64_t sh[LPVM_MAX_RANK];
    cr_assert_eq(lpvm_kernel_param_shape(k, 1, "n=37,k=512", &rank, sh), LPVM_OK, "%s", lpvm_error_message(ctx));
    cr_assert_eq(rank, 2);
    cr_assert_eq(sh[0], 37);
    cr_assert_eq(sh[1], 192);
    cr_assert_eq(lpvm_kernel_param_shape(k, 0, "k=512", &rank, sh), LPVM_OK);
    cr_assert_eq(rank, 1);
    cr_assert_eq(sh[0], 512);
    if (lpvm_kernel_param_shape(k, 1, "k=512", &rank, sh) == LPVM_ERR_INVALID)
        cr_expect(strstr(lpvm_error_message(ctx), "'w'"), "%s", lpvm_error_message(ctx));
    else
        cr_expect_fail("w's shape needs n, not given in \"k=512\": got OK with shape [%lld, %lld]",
                       (long long)sh[0], (long long)sh[1]);
    cr_assert_eq(lpvm_kernel_param_shape(k, 2, "n=1,k=256", &rank, sh), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "not a tensor"), "%s", lpvm_error_message(ctx));
    cr_assert_eq(lpvm_kernel_param_shape(k, 3, "n=1,k=256", &rank, sh), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_kernel_param_shape(k, 0, "q=3", &rank, sh), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_kernel_param_shape(k, 0, "k=abc", &rank, sh), LPVM_ERR_INVALID);
    cr_expect(strstr(lpvm_error_message(ctx), "k=abc"), "%s", lpvm_error_message(ctx));
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
}

Test(api, interpreter_printf)
{
    Fix f;
    fix_open(&f);
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_kernel_get(f.mod, "hello", NULL, &k), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    int64_t sh[1] = {5};
    lpvm_arg a = lpvm_arg_tensor(f.z, "f32", 1, sh);
    cr_assert_eq(lpvm_launch(k, &a, 1, NULL), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    cr_assert_str_eq(lpvm_launch_output(f.ctx), "block 0 of n=5\nblock 1 of n=5\n");
    cr_assert_eq(lpvm_launch(f.k,
                             (lpvm_arg[]){lpvm_arg_tensor(f.x, "f32", 1, N1000), lpvm_arg_tensor(f.y, "f32", 1, N1000),
                                          lpvm_arg_tensor(f.z, "f32", 1, N1000)},
                             3, NULL),
                 LPVM_OK);
    cr_assert_str_eq(lpvm_launch_output(f.ctx), "", "output of an earlier launch kept");
    fix_close(&f);
}

/* ---- data helpers */

Test(api, dtype_bytes_and_bits)
{
    cr_assert_eq(lpvm_dtype_bytes("u3", 1000), 375);
    cr_assert_eq(lpvm_dtype_bytes("u3", 3), 2);
    cr_assert_eq(lpvm_dtype_bytes("u4", 3), 2);
    cr_assert_eq(lpvm_dtype_bytes("f16", 3), 6);
    cr_assert_eq(lpvm_dtype_bytes("f4e2m1", 5), 3);
    cr_assert_eq(lpvm_dtype_bytes("bool", 9), 9);
    cr_assert_eq(lpvm_dtype_bytes("f32", 0), 0);
    cr_assert_eq(lpvm_dtype_bytes("f17", 4), 0);
    cr_assert_eq(lpvm_dtype_bits("u3"), 3);
    cr_assert_eq(lpvm_dtype_bits("bf16"), 16);
    cr_assert_eq(lpvm_dtype_bits("f8e4m3"), 8);
    cr_assert_eq(lpvm_dtype_bits("nope"), 0);
}

Test(api, fill_random_deterministic_and_in_range)
{
    float a[4096], b[4096], c[4096];
    cr_assert_eq(lpvm_fill_random(a, "f32", 4096, 42), LPVM_OK);
    cr_assert_eq(lpvm_fill_random(b, "f32", 4096, 42), LPVM_OK);
    cr_assert_eq(lpvm_fill_random(c, "f32", 4096, 43), LPVM_OK);
    cr_assert(!memcmp(a, b, sizeof a), "same seed, different data");
    int same = 0, neg = 0;
    double lo = 1, hi = -1;
    for (int i = 0; i < 4096; i++) {
        same += a[i] == c[i];
        neg += a[i] < 0;
        lo = fmin(lo, a[i]), hi = fmax(hi, a[i]);
        cr_assert(a[i] >= -1.0f && a[i] <= 1.0f, "a[%d] = %g", i, a[i]);
    }
    cr_assert_lt(same, 8, "seeds 42 and 43 agree on %d of 4096", same);
    cr_assert(neg > 1800 && neg < 2300, "%d negative of 4096", neg);
    cr_assert(lo < -0.99 && hi > 0.99, "range [%g, %g]", lo, hi);
    /* a prefix of a longer fill is the shorter fill (counter-based) */
    float p[100];
    cr_assert_eq(lpvm_fill_random(p, "f32", 100, 42), LPVM_OK);
    cr_assert(!memcmp(p, a, sizeof p));

    uint8_t u3[375 + 1] = {0}, u3b[376] = {0};
    u3[375] = u3b[375] = 0xEE;
    cr_assert_eq(lpvm_fill_random(u3, "u3", 1000, 5), LPVM_OK);
    cr_assert_eq(lpvm_fill_random(u3b, "u3", 1000, 5), LPVM_OK);
    cr_assert(!memcmp(u3, u3b, sizeof u3));
    cr_assert_eq(u3[375], 0xEE, "fill wrote past ceil(1000*3/8) bytes");
    int seen[8] = {0};
    for (int i = 0; i < 1000; i++) {
        int bit = i * 3, v = 0;
        for (int j = 0; j < 3; j++)
            v |= ((u3[(bit + j) / 8] >> ((bit + j) % 8)) & 1) << j;
        seen[v]++;
    }
    for (int v = 0; v < 8; v++)
        cr_assert(seen[v] > 70, "u3 code %d seen %d times of 1000", v, seen[v]);

    int8_t i8[1000];
    cr_assert_eq(lpvm_fill_random(i8, "i8", 1000, 9), LPVM_OK);
    int lo8 = 0, hi8 = 0;
    for (int i = 0; i < 1000; i++)
        lo8 = i8[i] < lo8 ? i8[i] : lo8, hi8 = i8[i] > hi8 ? i8[i] : hi8;
    cr_assert(lo8 < -120 && hi8 > 120, "i8 range [%d, %d]", lo8, hi8);
    uint8_t bl[500];
    cr_assert_eq(lpvm_fill_random(bl, "bool", 500, 1), LPVM_OK);
    int ones = 0;
    for (int i = 0; i < 500; i++) {
        cr_assert(bl[i] <= 1);
        ones += bl[i];
    }
    cr_assert(ones > 200 && ones < 300);
    uint16_t h[1000];
    cr_assert_eq(lpvm_fill_random(h, "f16", 1000, 3), LPVM_OK);
    for (int i = 0; i < 1000; i++)
        cr_assert((h[i] & 0x7fff) <= 0x3c00, "f16 code 0x%04x outside [-1, 1]", h[i]);
    cr_assert_eq(lpvm_fill_random(h, "f99", 10, 3), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_fill_random(NULL, "f16", 10, 3), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_fill_random(h, "f16", -1, 3), LPVM_ERR_INVALID);
}

static lpvm_status cmp_f32(float r, float g, const char *tol)
{
    return lpvm_compare("f32", &r, &g, 1, tol, NULL);
}

Test(api, compare_classes)
{
    float one = 1.0f, up = nextafterf(1.0f, 2.0f), up2 = nextafterf(up, 2.0f);
    cr_assert_eq(cmp_f32(one, one, NULL), LPVM_OK);
    cr_assert_eq(cmp_f32(one, one, "exact"), LPVM_OK);
    cr_assert_eq(cmp_f32(one, up, "exact"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(one, up, "ulp:1"), LPVM_OK);
    cr_assert_eq(cmp_f32(one, up, "ulp:0"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(one, up2, "ulp:1"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(one, up2, "ulp:2"), LPVM_OK);
    cr_assert_eq(cmp_f32(-0.0f, 0.0f, "ulp:0"), LPVM_OK, "-0 and +0 are 0 ulps apart");
    cr_assert_eq(cmp_f32(nextafterf(0, -1), nextafterf(0, 1), "ulp:2"), LPVM_OK);
    cr_assert_eq(cmp_f32(nextafterf(0, -1), nextafterf(0, 1), "ulp:1"), LPVM_ERR_RUNTIME);
    /* acc:K: 4 K eps32 max|ref| + 1 ulp; with ref = 1, acc:1 allows 5 ulps */
    cr_assert_eq(cmp_f32(1.0f, 1.0f + 5 * 0x1p-23f, "acc:1"), LPVM_OK);
    cr_assert_eq(cmp_f32(1.0f, 1.0f + 6 * 0x1p-23f, "acc:1"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(1.0f, 1.0f + 256 * 0x1p-23f, "acc:64"), LPVM_OK);
    cr_assert_eq(cmp_f32(1.0f, 1.0f + 1024 * 0x1p-23f, "acc:64"), LPVM_ERR_RUNTIME);
    /* NaN: NaN matches NaN, never a number */
    cr_assert_eq(cmp_f32(NAN, NAN, "exact"), LPVM_OK);
    cr_assert_eq(cmp_f32(NAN, -NAN, "exact"), LPVM_OK);
    cr_assert_eq(cmp_f32(NAN, 1.0f, "acc:1000"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(1.0f, NAN, "ulp:1000000"), LPVM_ERR_RUNTIME);
    cr_assert_eq(cmp_f32(INFINITY, INFINITY, "exact"), LPVM_OK);
    cr_assert_eq(cmp_f32(INFINITY, 3e38f, "acc:1000"), LPVM_ERR_RUNTIME);
    /* integers compare exactly whatever the class */
    int32_t ia = 5, ib = 6;
    cr_assert_eq(lpvm_compare("i32", &ia, &ib, 1, "ulp:4", NULL), LPVM_ERR_RUNTIME);
    cr_assert_eq(lpvm_compare("i32", &ia, &ia, 1, "acc:4", NULL), LPVM_OK);
    uint8_t p1[3] = {0x88, 0xc6, 0xfa}, p2[3] = {0x88, 0xc6, 0x7a};
    cr_assert_eq(lpvm_compare("u3", p1, p2, 7, NULL, NULL), LPVM_OK, "element 7 is not compared");
    cr_assert_eq(lpvm_compare("u3", p1, p2, 8, NULL, NULL), LPVM_ERR_RUNTIME);
    /* bad arguments */
    cr_assert_eq(cmp_f32(one, one, "ulp"), LPVM_ERR_INVALID);
    cr_assert_eq(cmp_f32(one, one, "acc:-1"), LPVM_ERR_INVALID);
    cr_assert_eq(cmp_f32(one, one, "close"), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_compare("f99", &one, &one, 1, NULL, NULL), LPVM_ERR_INVALID);
    cr_assert_eq(lpvm_compare("f32", NULL, &one, 1, NULL, NULL), LPVM_ERR_INVALID);
}

Test(api, compare_report)
{
    float ref[100], got[100];
    for (int i = 0; i < 100; i++)
        ref[i] = got[i] = (float)i;
    got[17] = 17.5f;
    got[42] = 40.0f;
    got[90] = NAN;
    char *rep = NULL;
    cr_assert_eq(lpvm_compare("f32", ref, got, 100, "ulp:2", &rep), LPVM_ERR_RUNTIME);
    cr_assert(rep);
    cr_expect(strstr(rep, "17"), "%s", rep);
    cr_expect(strstr(rep, "42"), "%s", rep);
    cr_expect(strstr(rep, "3 "), "mismatch count missing: %s", rep);
    cr_expect(strstr(rep, "90"), "the NaN's index is missing: %s", rep);
    lpvm_free(rep);
    rep = NULL;
    cr_assert_eq(lpvm_compare("f32", ref, ref, 100, "exact", &rep), LPVM_OK);
    lpvm_free(rep);
}

/* ---- kernel text */

/* NVRTC where runtime/nvrtc.c looks for it: the loader's path, then CUDA_HOME. */
/* NVRTC as the library finds it (kept loaded: a probe that dlclosed it
 * would leave its start-up allocations to LeakSanitizer as unknown). */
static int nvrtc_present(void)
{
    const char *path, *err;
    return rt_nvrtc_load(&path, &err) == 0;
}

Test(api, kernel_text_source_round_trip)
{
    Fix f;
    fix_open(&f);
    char *t1 = NULL, *t2 = NULL;
    cr_assert_eq(lpvm_kernel_text(f.k, LPVM_TEXT_SOURCE, &t1), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    cr_assert(strstr(t1, "vadd"), "%s", t1);
    cr_assert_null(strstr(t1, "block: int"), "compile-time parameters left: %s", t1);
    lpvm_module *m2 = NULL;
    lpvm_kernel *k2 = NULL;
    cr_assert_eq(lpvm_module_load(f.ctx, t1, "printed.lpk", &m2), LPVM_OK, "%s\n%s", lpvm_error_message(f.ctx), t1);
    cr_assert_eq(lpvm_kernel_get(m2, NULL, NULL, &k2), LPVM_OK, "%s", lpvm_error_message(f.ctx));
    cr_assert_eq(lpvm_kernel_text(k2, LPVM_TEXT_SOURCE, &t2), LPVM_OK);
    cr_assert_str_eq(t1, t2);
    lpvm_free(t2);
    t2 = NULL;
    cr_expect_eq(lpvm_kernel_text(f.k, (lpvm_text)99, &t2), LPVM_ERR_INVALID,
                 "an unknown lpvm_text value is accepted; it gave:\n%.200s", t2 ? t2 : "");
    lpvm_free(t1);
    lpvm_free(t2);
    lpvm_module_destroy(m2);
    fix_close(&f);
}

static void text_for(const char *arch, lpvm_backend be, lpvm_text what, const char *needle)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .backend = be, .arch = arch, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    cr_assert_eq(lpvm_module_load(ctx, VADD, "api.lpk", &m), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(m, "vadd", "dt=f16,block=128", &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    char *t = NULL;
    lpvm_status st = lpvm_kernel_text(k, what, &t);
    cr_assert_eq(st, LPVM_OK, "%s %d: %s", arch, (int)what, lpvm_error_message(ctx));
    cr_assert(t && strstr(t, needle), "%s %d lacks '%s':\n%.2000s", arch, (int)what, needle, t ? t : "");
    lpvm_free(t);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
}

Test(api, kernel_text_without_gpu)
{
    text_for("sm_80", LPVM_BACKEND_LLVM, LPVM_TEXT_TIR, "vadd");
    text_for("sm_80", LPVM_BACKEND_LLVM, LPVM_TEXT_PTX, ".target sm_80");
    text_for("sm_90", LPVM_BACKEND_LLVM, LPVM_TEXT_PTX, ".target sm_90");
    /* generated symbols are lpvm_<kernel> (runtime/gpu.c) */
    text_for("sm_90", LPVM_BACKEND_LLVM, LPVM_TEXT_LLVM, "define ptx_kernel void @lpvm_vadd(");
    text_for("sm_90", LPVM_BACKEND_NVRTC, LPVM_TEXT_CUDA, "__global__");
    if (!nvrtc_present()) {
        cr_log_warn("api/kernel_text_without_gpu: NVRTC not found: NVRTC PTX not checked");
        fprintf(stderr, "SKIP api/kernel_text_without_gpu: NVRTC not found: NVRTC PTX not checked\n");
        return;
    }
    text_for("sm_80", LPVM_BACKEND_NVRTC, LPVM_TEXT_PTX, ".target sm_80");
    text_for("sm_90", LPVM_BACKEND_NVRTC, LPVM_TEXT_PTX, ".target sm_90");
}

Test(api, bad_arch)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .arch = "sm_xx", .cache_dir = ""};
    lpvm_context *ctx = NULL;
    lpvm_status st = lpvm_context_create(&opt, &ctx);
    if (st == LPVM_OK) {
        lpvm_module *m = NULL;
        lpvm_kernel *k = NULL;
        cr_assert_eq(lpvm_module_load(ctx, VADD, "api.lpk", &m), LPVM_OK);
        char *t = NULL;
        st = lpvm_kernel_get(m, "vadd", NULL, &k);
        if (st == LPVM_OK)
            st = lpvm_kernel_text(k, LPVM_TEXT_PTX, &t);
        lpvm_free(t);
        lpvm_module_destroy(m);
    }
    cr_assert_neq(st, LPVM_OK, "arch sm_xx accepted");
    cr_expect(ctx && strstr(lpvm_error_message(ctx), "sm_xx"), "%s", ctx ? lpvm_error_message(ctx) : "(no ctx)");
    lpvm_context_destroy(ctx);
}

static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

Test(api, cache_dir_empty_is_memory_only)
{
    char dir[] = "/tmp/lpvm-api-cacheXXXXXX";
    cr_assert(mkdtemp(dir));
    setenv("LPVM_CACHE", dir, 1);
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .arch = "sm_90", .cache_dir = ""};
    lpvm_context *ctx = NULL;
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    cr_assert_eq(lpvm_module_load(ctx, VADD, "api.lpk", &m), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(m, "vadd", NULL, &k), LPVM_OK);
    char *t = NULL;
    cr_assert_eq(lpvm_kernel_text(k, LPVM_TEXT_PTX, &t), LPVM_OK, "%s", lpvm_error_message(ctx));
    lpvm_free(t);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    int n = dir_entries(dir);
    cr_expect_eq(n, 0, "cache_dir \"\" wrote %d entries under $LPVM_CACHE", n);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    unsetenv("LPVM_CACHE");
}

Test(api, gpu_request_without_gpu)
{
    lpvm_options opt = {.device = LPVM_DEVICE_GPU, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    lpvm_status st = lpvm_context_create(&opt, &ctx);
    if (st == LPVM_OK) {
        cr_assert(lpvm_is_gpu(ctx));
        cr_log_info("api/gpu_request_without_gpu: a GPU is present (%s)", lpvm_device_name(ctx));
        lpvm_context_destroy(ctx);
        return;
    }
    cr_assert_eq(st, LPVM_ERR_NO_GPU, "%s", lpvm_status_string(st));
    cr_expect(ctx && *lpvm_error_message(ctx), "no message says why there is no GPU");
    lpvm_context_destroy(ctx);
    ctx = NULL;
    opt.device = LPVM_DEVICE_AUTO;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    cr_assert_eq(lpvm_is_gpu(ctx), 0);
    cr_assert_str_eq(lpvm_device_name(ctx), "interpreter");
    lpvm_context_destroy(ctx);
    char *rep = NULL;
    cr_assert_eq(lpvm_cuda_selfcheck(0, &rep), LPVM_ERR_NO_GPU);
    lpvm_free(rep);
}

/* The library never prints: every error above, with stdout and stderr
 * redirected to a file that must stay empty. */
Test(api, errors_do_not_print)
{
    char path[] = "/tmp/lpvm-api-quietXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    fflush(stdout), fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fd, 1), dup2(fd, 2);
    Fix f;
    fix_open(&f);
    lpvm_kernel *k = NULL;
    lpvm_module *m = NULL;
    int64_t sh[1] = {1000};
    lpvm_arg a[3] = {lpvm_arg_tensor(f.x, "f16", 1, sh), lpvm_arg_i32(3), lpvm_arg_tensor(NULL, "f32", 1, sh)};
    int errors = (lpvm_launch(f.k, a, 3, NULL) != LPVM_OK) + (lpvm_launch(f.k, a, 1, NULL) != LPVM_OK) +
                 (lpvm_kernel_get(f.mod, "nope", NULL, &k) != LPVM_OK) +
                 (lpvm_kernel_get(f.mod, "vadd", "x=1", &k) != LPVM_OK) +
                 (lpvm_module_load(f.ctx, "kernel k( {", "q.lpk", &m) != LPVM_OK) +
                 (lpvm_buffer_upload(f.x, 4000, sh, 8) != LPVM_OK) +
                 (lpvm_compare("f32", sh, sh, 1, "bad", NULL) != LPVM_OK);
    char *t = NULL;
    errors += lpvm_layout_picture("spatial(", &t) != LPVM_OK;
    lpvm_free(t);
    lpvm_module_destroy(m);
    fix_close(&f);
    fflush(stdout), fflush(stderr);
    dup2(so, 1), dup2(se, 2);
    close(so), close(se);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    cr_assert_eq(errors, 8);
    cr_assert_eq(size, 0, "the library printed %lld bytes on errors", (long long)size);
}

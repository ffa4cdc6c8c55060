/* bench/gemv.c - an M=1 quantized GEMV kernel against its roofline, the
 * streaming floor and cuBLAS f16 (CODEGEN.md 5 and 6).
 *
 *   build/bench/gemv [--file samples/kernels/gemv_u3.lpk] [--kernel K] [--spec S]
 *                    [--n 8192] [--k 8192] [--sets N] [--budget 10]
 *                    [--stream bench/stream.lpk] [--no-blas]
 *
 * The kernel is any file whose launch is fixed by n and k (its tensors get
 * random data, one buffer each per argument set); its weight is its largest
 * tensor parameter. Argument sets rotate: at least 4, and enough that the
 * weights of all sets exceed 3x L2, so weights come from memory.
 *   roofline   every tensor's bytes (weights, scales, activation, output)
 *              over the copy bandwidth measured in the same run;
 *   floor      bench/stream.lpk reading the same weight bytes (w: u8[n, kb]
 *              with kb the weight's bytes per row), timed the same way;
 *   cuBLAS     cublasGemmEx with f16 weights n x k, f16 x and y, f32 compute.
 * The last lines are a markdown table for bench/results/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"

typedef struct {
    BenchBlas *blas;
    int n, k;
    lpvm_buffer *w[BENCH_MAX_SETS], *x, *y;
} Hgemv;

static lpvm_status blas_gemv(void *user, int set, lpvm_stream stream)
{
    Hgemv *h = user;
    const float one = 1, zero = 0;
    /* row-major w[n, k] is column-major k x n: y = w^T(col) x */
    if (h->blas->set_stream(h->blas->handle, stream) ||
        h->blas->gemm_ex(h->blas->handle, BLAS_OP_T, BLAS_OP_N, h->n, 1, h->k, &one,
                         (const void *)lpvm_buffer_device_ptr(h->w[set]), BLAS_R_16F, h->k,
                         (const void *)lpvm_buffer_device_ptr(h->x), BLAS_R_16F, h->k, &zero,
                         (void *)lpvm_buffer_device_ptr(h->y), BLAS_R_16F, h->n, BLAS_COMPUTE_32F,
                         BLAS_GEMM_DEFAULT))
        return LPVM_ERR_RUNTIME;
    return LPVM_OK;
}

static lpvm_status upload_random(lpvm_context *ctx, size_t numel, uint64_t seed, lpvm_buffer **b)
{
    size_t bytes = numel * 2;
    void *host = bench_random("f16", (int64_t)numel, seed);
    if (!host)
        return LPVM_ERR_NOMEM;
    lpvm_status st = lpvm_buffer_alloc(ctx, bytes, b);
    if (st == LPVM_OK)
        st = lpvm_buffer_upload(*b, 0, host, bytes);
    free(host);
    return st;
}

/* cuBLAS f16 GEMV over nsets weight matrices; 0 ok. */
static int bench_blas(lpvm_context *ctx, int n, int k, int nsets, const lpvm_bench_opts *bo,
                      lpvm_bench_result *r)
{
    BenchBlas blas;
    char why[4096];
    if (bench_blas_open(&blas, why, sizeof why)) {
        printf("  %s\n", why);
        return -1;
    }
    printf("  cuBLAS: %s\n", blas.path);
    Hgemv h = {.blas = &blas, .n = n, .k = k};
    lpvm_status st = upload_random(ctx, (size_t)k, 11, &h.x);
    if (st == LPVM_OK)
        st = lpvm_buffer_alloc(ctx, (size_t)n * 2, &h.y);
    for (int s = 0; s < nsets && st == LPVM_OK; s++)
        st = upload_random(ctx, (size_t)n * (size_t)k, 100 + (uint64_t)s, &h.w[s]);
    if (st == LPVM_OK)
        st = lpvm_bench_callback(ctx, blas_gemv, &h, nsets, bo, r);
    if (st == LPVM_OK)
        bench_print_result("cuBLAS GemmEx f16 M=1", r);
    else
        printf("  cuBLAS: FAILED: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
    for (int s = 0; s < nsets; s++)
        lpvm_buffer_free(h.w[s]);
    lpvm_buffer_free(h.x);
    lpvm_buffer_free(h.y);
    bench_blas_close(&blas);
    return st == LPVM_OK ? 0 : -1;
}

/* The floor kernel's y on set 0 against the host: per row, the largest
 * of the 128 words that xor its 512-byte steps (bench/stream.lpk). The
 * number of rows that differ; -1 when it could not run. */
static long check_stream(BenchKernel *sk, int n, size_t kb)
{
    unsigned char *w = malloc((size_t)n * kb);
    uint32_t *y = malloc((size_t)n * 4);
    long bad = -1;
    if (w && y && lpvm_launch(sk->k, sk->sets[0], (size_t)sk->np, NULL) == LPVM_OK &&
        lpvm_synchronize(sk->ctx) == LPVM_OK &&
        lpvm_buffer_download(sk->buf[0][0], 0, w, (size_t)n * kb) == LPVM_OK &&
        lpvm_buffer_download(sk->buf[0][1], 0, y, (size_t)n * 4) == LPVM_OK) {
        bad = 0;
        for (int r = 0; r < n; r++) {
            uint32_t best = 0;
            for (int j = 0; j < 128; j++) {
                uint32_t a = 0, v;
                for (size_t k0 = 0; k0 < kb; k0 += 512) {
                    memcpy(&v, w + (size_t)r * kb + k0 + 4 * (size_t)j, 4);
                    a ^= v;
                }
                best = a > best ? a : best;
            }
            bad += best != y[r];
        }
    }
    free(w);
    free(y);
    return bad;
}

int main(int argc, char **argv)
{
    const char *file = bench_opt(argc, argv, "file", "samples/kernels/gemv_u3.lpk");
    const char *kname = bench_opt(argc, argv, "kernel", NULL);
    const char *spec = bench_opt(argc, argv, "spec", NULL);
    const char *stream_file = bench_opt(argc, argv, "stream", "bench/stream.lpk");
    int n = atoi(bench_opt(argc, argv, "n", "8192")), k = atoi(bench_opt(argc, argv, "k", "8192"));
    int nsets = atoi(bench_opt(argc, argv, "sets", "0"));
    double budget = atof(bench_opt(argc, argv, "budget", "10"));
    int no_blas = 0;
    for (int i = 1; i < argc; i++)
        no_blas |= !strcmp(argv[i], "--no-blas");

    lpvm_options o = {.device = LPVM_DEVICE_GPU};
    lpvm_context *ctx = NULL;
    lpvm_status st = lpvm_context_create(&o, &ctx);
    if (st != LPVM_OK) {
        printf("gemv bench: no GPU context: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
        lpvm_context_destroy(ctx);
        return st == LPVM_ERR_NO_GPU ? 2 : 1;
    }
    double gbps = bench_print_card(ctx);
    lpvm_device_info info;
    lpvm_device_get_info(ctx, &info);
    char values[128];
    snprintf(values, sizeof values, "n=%d,k=%d", n, k);

    /* open once with one set to learn the weight's size, then with enough sets */
    BenchKernel bk;
    if (bench_kernel_open(&bk, ctx, file, kname, spec, values, 1)) {
        bench_kernel_close(&bk);
        lpvm_context_destroy(ctx);
        return 1;
    }
    int iw = 0;
    size_t total = 0;
    for (int i = 0; i < bk.np; i++) {
        total += bk.bytes[i];
        if (bk.bytes[i] > bk.bytes[iw])
            iw = i;
    }
    size_t wbytes = bk.bytes[iw];
    if (nsets <= 0) {
        nsets = 4;
        while (nsets < BENCH_MAX_SETS && (double)nsets * wbytes < 3.0 * info.l2_bytes)
            nsets++;
    }
    char spec_copy[256];
    snprintf(spec_copy, sizeof spec_copy, "%s", bk.spec ? bk.spec : "");
    bench_kernel_close(&bk);
    if (bench_kernel_open(&bk, ctx, file, kname, *spec_copy ? spec_copy : NULL, values, nsets)) {
        bench_kernel_close(&bk);
        lpvm_context_destroy(ctx);
        return 1;
    }
    double roof = gbps > 0 ? total / (gbps * 1e3) : 0;
    printf("gemv %s [%s] n=%d k=%d: weight '%s' %zu bytes, all tensors %zu bytes, %d argument sets\n",
           file, spec_copy, n, k, bk.pi[iw].name, wbytes, total, bk.nsets);
    printf("  roofline (all bytes / copy bandwidth): %.2f us\n", roof);

    lpvm_bench_opts bo = {.budget_s = budget};
    lpvm_bench_result ours = {0}, fl = {0}, cub = {0};
    st = lpvm_bench(bk.k, bk.sets, bk.nsets, (size_t)bk.np, &bo, &ours);
    int ours_ok = st == LPVM_OK;
    if (ours_ok)
        bench_print_result("lpvm", &ours);
    else
        printf("  lpvm: FAILED: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));

    /* the streaming floor over the same weight bytes */
    int floor_ok = 0;
    size_t kb = wbytes / (size_t)n;
    if (kb * (size_t)n != wbytes || kb % 512) {
        printf("  floor: skipped (weight bytes per row %zu not a multiple of 512)\n", kb);
    } else {
        BenchKernel sk;
        char sv[128];
        snprintf(sv, sizeof sv, "n=%d,kb=%zu", n, kb);
        if (!bench_kernel_open(&sk, ctx, stream_file, NULL, NULL, sv, nsets)) {
            st = lpvm_bench(sk.k, sk.sets, sk.nsets, (size_t)sk.np, &bo, &fl);
            floor_ok = st == LPVM_OK;
            if (floor_ok) {
                bench_print_result("floor (stream.lpk)", &fl);
                long bad = check_stream(&sk, n, kb);
                printf("  floor check against the host: %s (%ld rows differ)\n",
                       bad == 0 ? "ok" : bad < 0 ? "did not run" : "WRONG", bad);
            }
            else
                printf("  floor: FAILED: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
        }
        bench_kernel_close(&sk);
    }
    int blas_ok = !no_blas && !bench_blas(ctx, n, k, nsets < 3 ? 3 : nsets > 4 ? 4 : nsets, &bo, &cub);
    double roof16 = gbps > 0 ? (2.0 * n * k + 2.0 * k + 2.0 * n) / (gbps * 1e3) : 0;
    if (blas_ok)
        printf("  cuBLAS f16 roofline %.2f us: %.0f%% of it (b2b)\n", roof16, 100 * roof16 / cub.b2b_us);

    printf("\n| N x K | spec | bytes | roofline us | floor b2b us | lpvm b2b us | lpvm single us "
           "| lpvm %% of roofline (b2b) | cuBLAS f16 b2b / single us |\n"
           "|---|---|---|---|---|---|---|---|---|\n");
    printf("| %d x %d | %s | %zu | %.2f | ", n, k, spec_copy, total, roof);
    if (floor_ok)
        printf("%.2f | ", fl.b2b_us);
    else
        printf("- | ");
    if (ours_ok)
        printf("%.2f | %.2f | %.1f%% | ", ours.b2b_us, ours.single_us, 100 * roof / ours.b2b_us);
    else
        printf("failed | failed | - | ");
    if (blas_ok)
        printf("%.2f / %.2f |\n", cub.b2b_us, cub.single_us);
    else
        printf("- |\n");
    bench_kernel_close(&bk);
    lpvm_context_destroy(ctx);
    return ours_ok ? 0 : 1;
}

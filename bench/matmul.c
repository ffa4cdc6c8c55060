/* bench/matmul.c - an f16 matmul kernel against cuBLAS (CODEGEN.md 5).
 *
 *   build/bench/matmul [--file samples/kernels/matmul.lpk] [--kernel K] [--spec S]
 *                      [--m 4096] [--n 4096] [--k 4096] [--sets 2] [--budget 10] [--no-check]
 *
 * The kernel takes a: f16[m, k], b: f16[k, n] and writes c: f32[m, n]
 * (row-major); cuBLAS gets the same buffers through cublasGemmEx with f16
 * A and B, f32 C and f32 compute, so both do the same work. Both are timed
 * by lpvm_bench_callback (back to back and single launch, rotating over
 * --sets argument sets). Unless --no-check, c of one launch of each is
 * compared: ||ours - cuBLAS|| / ||cuBLAS||. The last lines are a markdown
 * table for bench/results/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"

typedef struct {
    BenchBlas *blas;
    BenchKernel *bk;
    int ia, ib, ic;
    int m, n, k;
    lpvm_buffer *cref; /* NULL: each set's own c */
} Gemm;

static lpvm_status blas_gemm(void *user, int set, lpvm_stream stream)
{
    Gemm *g = user;
    const float one = 1, zero = 0;
    lpvm_buffer **buf = g->bk->buf[set];
    uint64_t c = lpvm_buffer_device_ptr(g->cref ? g->cref : buf[g->ic]);
    /* row-major c = a b is column-major c^T = b^T a^T */
    if (g->blas->set_stream(g->blas->handle, stream) ||
        g->blas->gemm_ex(g->blas->handle, BLAS_OP_N, BLAS_OP_N, g->n, g->m, g->k, &one,
                         (const void *)lpvm_buffer_device_ptr(buf[g->ib]), BLAS_R_16F, g->n,
                         (const void *)lpvm_buffer_device_ptr(buf[g->ia]), BLAS_R_16F, g->k, &zero,
                         (void *)c, BLAS_R_32F, g->n, BLAS_COMPUTE_32F, BLAS_GEMM_DEFAULT))
        return LPVM_ERR_RUNTIME;
    return LPVM_OK;
}

/* ||ours - ref|| / ||ref|| over one launch of each on set 0; -1 on failure. */
static double check(Gemm *g)
{
    BenchKernel *bk = g->bk;
    size_t bytes = bk->bytes[g->ic];
    float *ours = malloc(bytes), *ref = malloc(bytes);
    double err = -1;
    if (!ours || !ref || lpvm_buffer_alloc(bk->ctx, bytes, &g->cref) != LPVM_OK)
        goto done;
    if (lpvm_launch(bk->k, bk->sets[0], (size_t)bk->np, NULL) != LPVM_OK ||
        blas_gemm(g, 0, NULL) != LPVM_OK || lpvm_synchronize(bk->ctx) != LPVM_OK ||
        lpvm_buffer_download(bk->buf[0][g->ic], 0, ours, bytes) != LPVM_OK ||
        lpvm_buffer_download(g->cref, 0, ref, bytes) != LPVM_OK)
        goto done;
    double num = 0, den = 0;
    for (size_t i = 0; i < bytes / 4; i++) {
        double d = (double)ours[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    err = den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
done:
    lpvm_buffer_free(g->cref);
    g->cref = NULL;
    free(ours);
    free(ref);
    return err;
}

int main(int argc, char **argv)
{
    const char *file = bench_opt(argc, argv, "file", "samples/kernels/matmul.lpk");
    const char *kname = bench_opt(argc, argv, "kernel", NULL);
    const char *spec = bench_opt(argc, argv, "spec", NULL);
    int m = atoi(bench_opt(argc, argv, "m", "4096")), n = atoi(bench_opt(argc, argv, "n", "4096")),
        k = atoi(bench_opt(argc, argv, "k", "4096")), nsets = atoi(bench_opt(argc, argv, "sets", "2"));
    double budget = atof(bench_opt(argc, argv, "budget", "10"));
    int do_check = 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--no-check"))
            do_check = 0;

    lpvm_options o = {.device = LPVM_DEVICE_GPU};
    lpvm_context *ctx = NULL;
    lpvm_status st = lpvm_context_create(&o, &ctx);
    if (st != LPVM_OK) {
        printf("matmul bench: no GPU context: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
        lpvm_context_destroy(ctx);
        return st == LPVM_ERR_NO_GPU ? 2 : 1;
    }
    bench_print_card(ctx);
    char values[128];
    snprintf(values, sizeof values, "m=%d,n=%d,k=%d", m, n, k);
    BenchKernel bk;
    if (bench_kernel_open(&bk, ctx, file, kname, spec, values, nsets)) {
        bench_kernel_close(&bk);
        lpvm_context_destroy(ctx);
        return 1;
    }
    Gemm g = {.bk = &bk, .m = m, .n = n, .k = k, .ia = bench_param_index(&bk, "a"),
              .ib = bench_param_index(&bk, "b"), .ic = bench_param_index(&bk, "c")};
    if (g.ia < 0 || g.ib < 0 || g.ic < 0) {
        g.ia = 0, g.ib = 1, g.ic = 2;
    }
    double flop = 2.0 * m * n * k;
    lpvm_bench_opts bo = {.budget_s = budget};
    lpvm_bench_result ours = {0}, cub = {0};
    printf("matmul %s [%s] m=%d n=%d k=%d, %d argument sets\n", file, bk.spec ? bk.spec : "defaults", m, n,
           k, bk.nsets);
    st = lpvm_bench(bk.k, bk.sets, bk.nsets, (size_t)bk.np, &bo, &ours);
    int ours_ok = st == LPVM_OK;
    if (ours_ok)
        bench_print_result("lpvm", &ours);
    else
        printf("  lpvm: FAILED: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));

    BenchBlas blas;
    char why[4096];
    int blas_ok = !bench_blas_open(&blas, why, sizeof why);
    g.blas = &blas;
    if (blas_ok) {
        printf("  cuBLAS: %s\n", blas.path);
        st = lpvm_bench_callback(ctx, blas_gemm, &g, bk.nsets, &bo, &cub);
        blas_ok = st == LPVM_OK;
        if (blas_ok)
            bench_print_result("cuBLAS GemmEx f16,f16->f32", &cub);
        else
            printf("  cuBLAS: FAILED: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
    } else {
        printf("  %s\n", why);
    }
    if (ours_ok && blas_ok && do_check) {
        double err = check(&g);
        printf("  check: ||lpvm - cuBLAS|| / ||cuBLAS|| = %.3g%s\n", err,
               err < 0 ? " (check failed to run)" : err < 1e-2 ? " ok" : " TOO LARGE");
    }

    printf("\n| shape (m x n x k) | dtype | spec | lpvm b2b us | lpvm single us | lpvm TFLOP/s (b2b) "
           "| cuBLAS b2b us | cuBLAS single us | cuBLAS TFLOP/s (b2b) | lpvm / cuBLAS (b2b) |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    printf("| %d x %d x %d | f16 in, f32 acc/out | %s | ", m, n, k, bk.spec ? bk.spec : "defaults");
    if (ours_ok)
        printf("%.1f | %.1f | %.2f | ", ours.b2b_us, ours.single_us, flop / ours.b2b_us / 1e6);
    else
        printf("failed | failed | - | ");
    if (blas_ok)
        printf("%.1f | %.1f | %.1f | ", cub.b2b_us, cub.single_us, flop / cub.b2b_us / 1e6);
    else
        printf("- | - | - | ");
    if (ours_ok && blas_ok)
        printf("%.3f |\n", cub.b2b_us / ours.b2b_us);
    else
        printf("- |\n");
    if (blas.lib)
        bench_blas_close(&blas);
    bench_kernel_close(&bk);
    lpvm_context_destroy(ctx);
    return ours_ok ? 0 : 1;
}

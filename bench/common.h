/* bench/common.h - what the bench programs share: reading kernel files,
 * argument sets of random data for a kernel, cuBLAS through dlopen, the
 * card's header lines. Plain C on the public API (include/lpvm.h). */
#ifndef LPVM_BENCH_COMMON_H
#define LPVM_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "lpvm.h"

enum { BENCH_MAX_PARAMS = 16, BENCH_MAX_SETS = 16 };

/* A kernel with nsets argument sets of random data (bench_random, a seed per set),
 * one buffer per tensor parameter and set. */
typedef struct {
    lpvm_context *ctx;
    lpvm_module *mod;
    lpvm_kernel *k;
    const char *spec;
    int np, nsets;
    lpvm_param_info pi[BENCH_MAX_PARAMS];
    int64_t numel[BENCH_MAX_PARAMS];
    size_t bytes[BENCH_MAX_PARAMS]; /* of each tensor parameter */
    lpvm_buffer *buf[BENCH_MAX_SETS][BENCH_MAX_PARAMS];
    lpvm_arg args[BENCH_MAX_SETS][BENCH_MAX_PARAMS];
    const lpvm_arg *sets[BENCH_MAX_SETS];
} BenchKernel;

/* Loads path, gets kernel kname (NULL: the first) for spec (NULL: the
 * first `// spec:` line for it), and builds nsets sets for `values`
 * ("n=8192,k=8192"; scalars by name too). 0, or -1 with a message printed. */
int bench_kernel_open(BenchKernel *b, lpvm_context *ctx, const char *path, const char *kname,
                      const char *spec, const char *values, int nsets);
void bench_kernel_close(BenchKernel *b);
int bench_param_index(const BenchKernel *b, const char *name); /* -1: none */

/* cuBLAS, loaded at run time: $LPVM_CUBLAS, $CUDA_HOME/lib64, /usr/local/cuda*,
 * PyTorch's wheel, the loader path. */
typedef struct {
    void *lib;
    void *handle;
    char path[1024];
    int (*create)(void **);
    int (*destroy)(void *);
    int (*set_stream)(void *, void *);
    int (*gemm_ex)(void *, int, int, int, int, int, const void *, const void *, int, int,
                   const void *, int, int, const void *, void *, int, int, int, int);
} BenchBlas;
enum { BLAS_OP_N = 0, BLAS_OP_T = 1, BLAS_R_16F = 2, BLAS_R_32F = 0, BLAS_COMPUTE_32F = 68,
       BLAS_GEMM_DEFAULT = -1 };
/* 0, or -1 with why in msg (every place tried). */
int bench_blas_open(BenchBlas *b, char *msg, size_t n);
void bench_blas_close(BenchBlas *b);

/* Prints the card (name, SMs, L2), the copy bandwidth and returns it (GB/s; 0 on failure). */
double bench_print_card(lpvm_context *ctx);

/* numel random elements of dtype (malloc'd; NULL on failure): the first
 * 2^22 drawn from seed, the rest repeating their bytes (drawing every
 * element of a large tensor takes seconds; timing needs no more). */
void *bench_random(const char *dtype, int64_t numel, uint64_t seed);
char *bench_read_file(const char *path);
const char *bench_opt(int argc, char **argv, const char *name, const char *dflt);
void bench_print_result(const char *what, const lpvm_bench_result *r);

#endif

/* bench/common.c - the helpers of bench/common.h. cuBLAS is found at run
 * time so the bench programs build without it; its entry points are taken
 * by their exported names and the enum values of cublas_api.h and
 * library_types.h are restated in common.h. */
#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"

char *bench_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s)
        s[n] = 0;
    return s;
}

/* --name=value or --name value */
const char *bench_opt(int argc, char **argv, const char *name, const char *dflt)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || strncmp(a + 2, name, len))
            continue;
        if (a[2 + len] == '=')
            return a + 3 + len;
        if (!a[2 + len] && i + 1 < argc)
            return argv[i + 1];
    }
    return dflt;
}

static const char *lookup(const char *values, const char *name, char *buf, size_t n)
{
    size_t len = strlen(name);
    for (const char *s = values; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
        if (!strncmp(s, name, len) && s[len] == '=') {
            snprintf(buf, n, "%.*s", (int)strcspn(s + len + 1, ","), s + len + 1);
            return buf;
        }
    return NULL;
}

int bench_param_index(const BenchKernel *b, const char *name)
{
    for (int i = 0; i < b->np; i++)
        if (!strcmp(b->pi[i].name, name))
            return i;
    return -1;
}

static const char *first_spec(lpvm_module *m, const char *kname)
{
    for (int i = 0; i < lpvm_module_spec_count(m); i++) {
        const char *for_k = NULL, *s = lpvm_module_spec(m, i, &for_k);
        if (!for_k || !kname || !strcmp(for_k, kname))
            return s;
    }
    return NULL;
}

void *bench_random(const char *dtype, int64_t numel, uint64_t seed)
{
    size_t bytes = lpvm_dtype_bytes(dtype, numel);
    char *p = malloc(bytes ? bytes : 1);
    int64_t block = numel > (1 << 22) ? (1 << 22) : numel;
    size_t bb = lpvm_dtype_bytes(dtype, block);
    if (!p || lpvm_fill_random(p, dtype, block, seed) != LPVM_OK) {
        free(p);
        return NULL;
    }
    for (size_t off = bb; bb && off < bytes; off += bb)
        memcpy(p + off, p, bytes - off < bb ? bytes - off : bb);
    return p;
}

static int set_tensor(BenchKernel *b, int s, int i, const char *values, uint64_t seed)
{
    int rank;
    int64_t shape[LPVM_MAX_RANK];
    if (lpvm_kernel_param_shape(b->k, i, values, &rank, shape) != LPVM_OK) {
        fprintf(stderr, "shape of '%s': %s\n", b->pi[i].name, lpvm_error_message(b->ctx));
        return -1;
    }
    b->numel[i] = 1;
    for (int d = 0; d < rank; d++)
        b->numel[i] *= shape[d];
    b->bytes[i] = lpvm_dtype_bytes(b->pi[i].dtype, b->numel[i]);
    void *host = bench_random(b->pi[i].dtype, b->numel[i], seed);
    int rc = host ? 0 : -1;
    if (!rc && (lpvm_buffer_alloc(b->ctx, b->bytes[i], &b->buf[s][i]) != LPVM_OK ||
                lpvm_buffer_upload(b->buf[s][i], 0, host, b->bytes[i]) != LPVM_OK)) {
        fprintf(stderr, "buffer '%s' (%zu bytes): %s\n", b->pi[i].name, b->bytes[i],
                lpvm_error_message(b->ctx));
        rc = -1;
    }
    free(host);
    b->args[s][i] = lpvm_arg_tensor(b->buf[s][i], b->pi[i].dtype, rank, shape);
    return rc;
}

int bench_kernel_open(BenchKernel *b, lpvm_context *ctx, const char *path, const char *kname,
                      const char *spec, const char *values, int nsets)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    b->nsets = nsets < 1 ? 1 : nsets > BENCH_MAX_SETS ? BENCH_MAX_SETS : nsets;
    char *src = bench_read_file(path);
    if (!src) {
        fprintf(stderr, "%s: cannot read\n", path);
        return -1;
    }
    lpvm_status st = lpvm_module_load(ctx, src, path, &b->mod);
    free(src);
    if (st == LPVM_OK) {
        b->spec = spec ? spec : first_spec(b->mod, kname);
        st = lpvm_kernel_get(b->mod, kname, b->spec, &b->k);
    }
    if (st != LPVM_OK) {
        fprintf(stderr, "%s [%s]: %s\n%s\n", path, spec ? spec : "", lpvm_status_string(st),
                lpvm_error_message(ctx));
        return -1;
    }
    b->np = lpvm_kernel_param_count(b->k);
    if (b->np > BENCH_MAX_PARAMS) {
        fprintf(stderr, "%s: too many parameters\n", path);
        return -1;
    }
    for (int i = 0; i < b->np; i++)
        lpvm_kernel_param(b->k, i, &b->pi[i]);
    for (int s = 0; s < b->nsets; s++) {
        for (int i = 0; i < b->np; i++) {
            char v[64];
            if (b->pi[i].is_tensor) {
                if (set_tensor(b, s, i, values, 0x5eed0000u + 97u * (unsigned)s + (unsigned)i))
                    return -1;
            } else if (!lookup(values, b->pi[i].name, v, sizeof v)) {
                fprintf(stderr, "%s: no value for scalar '%s' in '%s'\n", path, b->pi[i].name, values);
                return -1;
            } else {
                b->args[s][i] = !strcmp(b->pi[i].dtype, "f32")   ? lpvm_arg_f32(strtof(v, NULL))
                                : !strcmp(b->pi[i].dtype, "i64") ? lpvm_arg_i64(strtoll(v, NULL, 10))
                                                                 : lpvm_arg_i32((int32_t)strtol(v, NULL, 10));
            }
        }
        b->sets[s] = b->args[s];
    }
    return 0;
}

void bench_kernel_close(BenchKernel *b)
{
    for (int s = 0; s < BENCH_MAX_SETS; s++)
        for (int i = 0; i < BENCH_MAX_PARAMS; i++)
            lpvm_buffer_free(b->buf[s][i]);
    lpvm_module_destroy(b->mod);
    memset(b, 0, sizeof *b);
}

/* ---- cuBLAS */

static int try_blas(BenchBlas *b, const char *path)
{
    /* libcublas needs libcublasLt by soname: load the one beside it first */
    char lt[1024];
    const char *slash = strrchr(path, '/');
    if (slash) {
        snprintf(lt, sizeof lt, "%.*s/libcublasLt%s", (int)(slash - path), path,
                 strstr(slash, ".so") ? strstr(slash, ".so") : ".so");
        dlopen(lt, RTLD_NOW | RTLD_GLOBAL);
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
        return -1;
    b->create = (int (*)(void **))dlsym(lib, "cublasCreate_v2");
    b->destroy = (int (*)(void *))dlsym(lib, "cublasDestroy_v2");
    b->set_stream = (int (*)(void *, void *))dlsym(lib, "cublasSetStream_v2");
    *(void **)&b->gemm_ex = dlsym(lib, "cublasGemmEx");
    if (!b->create || !b->destroy || !b->set_stream || !b->gemm_ex) {
        dlclose(lib);
        return -1;
    }
    b->lib = lib;
    snprintf(b->path, sizeof b->path, "%s", path);
    return 0;
}

int bench_blas_open(BenchBlas *b, char *msg, size_t n)
{
    memset(b, 0, sizeof *b);
    const char *env = getenv("LPVM_CUBLAS"), *home = getenv("CUDA_HOME");
    char cand[8][512];
    int nc = 0;
    if (env && *env)
        snprintf(cand[nc++], sizeof cand[0], "%s", env);
    if (home && *home)
        snprintf(cand[nc++], sizeof cand[0], "%s/lib64/libcublas.so*", home);
    snprintf(cand[nc++], sizeof cand[0], "/usr/local/cuda/lib64/libcublas.so*");
    snprintf(cand[nc++], sizeof cand[0], "/usr/local/cuda*/lib64/libcublas.so*");
    snprintf(cand[nc++], sizeof cand[0], "/opt/torch/.venv/lib/python3*/site-packages/nvidia/cublas/lib/libcublas.so*");
    snprintf(cand[nc++], sizeof cand[0], "/opt/torch/.venv/lib/python3*/site-packages/nvidia/cu*/lib/libcublas.so*");
    snprintf(cand[nc++], sizeof cand[0], "/usr/lib/x86_64-linux-gnu/libcublas.so*");
    size_t used = (size_t)snprintf(msg, n, "cuBLAS not found; tried:");
    for (int c = 0; c < nc; c++) {
        glob_t g;
        if (glob(cand[c], 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++)
                if (!try_blas(b, g.gl_pathv[i])) {
                    globfree(&g);
                    goto found;
                }
            globfree(&g);
        }
        if (used < n)
            used += (size_t)snprintf(msg + used, n - used, " %s", cand[c]);
    }
    if (!try_blas(b, "libcublas.so") || !try_blas(b, "libcublas.so.13") || !try_blas(b, "libcublas.so.12"))
        goto found;
    if (used < n)
        snprintf(msg + used, n - used, " libcublas.so (loader path)");
    return -1;
found:
    if (b->create(&b->handle)) {
        snprintf(msg, n, "%s: cublasCreate failed", b->path);
        bench_blas_close(b);
        return -1;
    }
    return 0;
}

void bench_blas_close(BenchBlas *b)
{
    if (b->handle)
        b->destroy(b->handle);
    if (b->lib)
        dlclose(b->lib);
    memset(b, 0, sizeof *b);
}

/* ---- output */

double bench_print_card(lpvm_context *ctx)
{
    lpvm_device_info info;
    if (lpvm_device_get_info(ctx, &info) != LPVM_OK) {
        printf("card: %s\n", info.name);
        return 0;
    }
    double gbps = 0;
    lpvm_status st = lpvm_bench_copy_bandwidth(ctx, (size_t)1 << 30, &gbps);
    printf("card: %s, %d SMs, L2 %.0f MB, %.1f GB; lpvm %s\n", info.name, info.sm_count,
           info.l2_bytes / 1e6, info.total_mem / 1e9, lpvm_version());
    if (st == LPVM_OK)
        printf("copy bandwidth (1 GiB device-to-device, read + write): %.0f GB/s\n", gbps);
    else
        printf("copy bandwidth: %s: %s\n", lpvm_status_string(st), lpvm_error_message(ctx));
    return gbps;
}

void bench_print_result(const char *what, const lpvm_bench_result *r)
{
    printf("  %-28s b2b %10.2f us [%.2f..%.2f] (%d x %d)   single %10.2f us [%.2f..%.2f] (%d)   enqueue %.1f us\n",
           what, r->b2b_us, r->b2b_min_us, r->b2b_max_us, r->b2b_runs, r->b2b_launches, r->single_us,
           r->single_min_us, r->single_max_us, r->single_runs, r->enqueue_us);
}

/* tests/test_samples.c - the sample kernels (samples/kernels/NAME.lpk) end to
 * end on the interpreter through the public API: every `// spec:` line of
 * each file, on fresh random inputs for several seeds and shapes (the
 * file's `// run:` shapes and ragged ones that exercise masking), checked
 * against a plain C reference written here in f64. Bounds (VM.md 7):
 *
 *   vadd      exact: one rounding of the f64 sum to the dtype
 *   softmax   |got - ref| <= (n + 8) u |ref| + 2^-126, u = 2^-24: the f32
 *             sum of n positive terms, exp's few ulps, one division
 *   rmsnorm   |got - ref| <= ((n + 16) u + 2^-M) |ref| + min subnormal of
 *             dt: the f32 sum of squares and rsqrt, then one rounding to dt
 *             (M mantissa bits; a full ulp covers a flip at a rounding tie)
 *   matmul    |got - ref| <= K eps32 sum_k |a b| (f16 products are exact
 *             in f32, so only the accumulation order differs)
 *   gemv      w = (q - zero) * scale exactly (the kernel scales each lane's
 *             f32 partial sum), then |got - ref| <= K eps32 sum|w x| + 1 ulp
 *             f16 of ref + 2^-24 (accumulation, then one rounding to f16) */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpvm.h"
#include "vm/vm.h"

enum { NP = 8, NSEED = 3 };

typedef struct {
    int n;
    lpvm_param_info p[NP];
    int rank[NP];
    int64_t shape[NP][LPVM_MAX_RANK];
    int64_t numel[NP];
    uint8_t *in[NP];  /* the random inputs uploaded */
    uint8_t *out[NP]; /* every tensor downloaded after the launch */
    double scalar[NP];
} Run;

static char *read_sample(const char *name)
{
    const char *root = getenv("LPVM_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/kernels/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    cr_assert(s && fread(s, 1, (size_t)len, f) == (size_t)len);
    s[len] = 0;
    fclose(f);
    return s;
}

/* The number given for key in a "k=v,k=v" list, or def. */
static double value_of(const char *list, const char *key, double def)
{
    size_t kl = strlen(key);
    for (const char *s = list; s && *s;) {
        if (!strncmp(s, key, kl) && s[kl] == '=')
            return strtod(s + kl + 1, NULL);
        s = strchr(s, ',');
        s = s ? s + 1 : NULL;
    }
    return def;
}

static void spec_dtype(const char *spec, const char *key, const char *def, char *out, size_t n)
{
    const char *s = spec ? strstr(spec, key) : NULL;
    size_t kl = strlen(key);
    while (s && !((s == spec || s[-1] == ',') && s[kl] == '='))
        s = strstr(s + 1, key);
    if (s)
        snprintf(out, n, "%.*s", (int)strcspn(s + kl + 1, ","), s + kl + 1);
    else
        snprintf(out, n, "%s", def);
}

/* Makes random inputs for every tensor of k (shapes from `shapes`, scalars
 * by name from `scalars`), launches on the interpreter and downloads. */
typedef void (*PrepFn)(Run *r, int i); /* rewrites input i before the upload */

static void launch_prep(lpvm_context *ctx, lpvm_kernel *k, const char *shapes, const char *scalars, uint64_t seed,
                        Run *r, PrepFn prep)
{
    memset(r, 0, sizeof *r);
    r->n = lpvm_kernel_param_count(k);
    cr_assert(r->n > 0 && r->n <= NP);
    lpvm_arg args[NP];
    lpvm_buffer *buf[NP] = {0};
    for (int i = 0; i < r->n; i++) {
        cr_assert_eq(lpvm_kernel_param(k, i, &r->p[i]), LPVM_OK);
        if (!r->p[i].is_tensor) {
            r->scalar[i] = value_of(scalars, r->p[i].name, NAN);
            cr_assert(!isnan(r->scalar[i]), "no value for scalar %s", r->p[i].name);
            args[i] = !strcmp(r->p[i].dtype, "f32")   ? lpvm_arg_f32((float)r->scalar[i])
                      : !strcmp(r->p[i].dtype, "i64") ? lpvm_arg_i64((int64_t)r->scalar[i])
                                                      : lpvm_arg_i32((int32_t)r->scalar[i]);
            continue;
        }
        cr_assert_eq(lpvm_kernel_param_shape(k, i, shapes, &r->rank[i], r->shape[i]), LPVM_OK, "%s",
                     lpvm_error_message(ctx));
        r->numel[i] = 1;
        for (int d = 0; d < r->rank[i]; d++)
            r->numel[i] *= r->shape[i][d];
        size_t nb = lpvm_dtype_bytes(r->p[i].dtype, r->numel[i]);
        r->in[i] = calloc(1, nb + 1);
        r->out[i] = calloc(1, nb + 1);
        cr_assert_eq(lpvm_fill_random(r->in[i], r->p[i].dtype, r->numel[i], seed * 101 + (uint64_t)i), LPVM_OK);
        if (prep)
            prep(r, i);
        cr_assert_eq(lpvm_buffer_alloc(ctx, nb, &buf[i]), LPVM_OK);
        cr_assert_eq(lpvm_buffer_upload(buf[i], 0, r->in[i], nb), LPVM_OK);
        args[i] = lpvm_arg_tensor(buf[i], r->p[i].dtype, r->rank[i], r->shape[i]);
    }
    lpvm_status st = lpvm_launch(k, args, (size_t)r->n, NULL);
    cr_assert_eq(st, LPVM_OK, "launch %s: %s", shapes, lpvm_error_message(ctx));
    for (int i = 0; i < r->n; i++) {
        if (!buf[i])
            continue;
        cr_assert_eq(lpvm_buffer_download(buf[i], 0, r->out[i], lpvm_dtype_bytes(r->p[i].dtype, r->numel[i])),
                     LPVM_OK);
        lpvm_buffer_free(buf[i]);
    }
}

static void launch(lpvm_context *ctx, lpvm_kernel *k, const char *shapes, const char *scalars, uint64_t seed,
                   Run *r)
{
    launch_prep(ctx, k, shapes, scalars, seed, r, NULL);
}

static void run_free(Run *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->in[i]), free(r->out[i]);
}

static double el(const Run *r, int i, int64_t j, int which)
{
    Dtype dt = vm_dtype_parse(r->p[i].dtype, strlen(r->p[i].dtype));
    int bits = vm_dtype_bits(dt);
    return vm_decode(dt, vm_bits_get(which ? r->out[i] : r->in[i], (uint64_t)j * (uint64_t)bits, bits));
}
#define IN(r, i, j) el(r, i, j, 0)
#define OUT(r, i, j) el(r, i, j, 1)

/* The input tensors (all but `out`) must come back unchanged. */
static void inputs_untouched(const Run *r, int out)
{
    for (int i = 0; i < r->n; i++)
        if (r->p[i].is_tensor && i != out)
            cr_assert(!memcmp(r->in[i], r->out[i], lpvm_dtype_bytes(r->p[i].dtype, r->numel[i])),
                      "input %s was modified", r->p[i].name);
}

static double ulp_of(Dtype dt, double v)
{
    int m = vm_dtype_info(dt)->mbits;
    int e = v == 0 ? 0 : ilogb(v);
    int emin = 2 - (1 << (vm_dtype_info(dt)->ebits - 1));
    return ldexp(1.0, (e < emin ? emin : e) - m);
}

typedef void (*CheckFn)(const Run *r, const char *spec, const char *shapes, uint64_t seed);

/* Every spec line of the sample (or the `extra` specs when given), every
 * shape, NSEED seeds. */
static void for_specs(const char *file, const char *const *extra, int nextra, const char *const *shapes,
                      int nshapes, const char *scalars, CheckFn check, int *nspecs)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    char *src = read_sample(file);
    lpvm_module *m = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, file, &m), LPVM_OK, "%s", lpvm_error_message(ctx));
    int ns = extra ? nextra : lpvm_module_spec_count(m);
    cr_assert(ns >= 1, "%s has no // spec: lines", file);
    for (int s = 0; s < ns; s++) {
        const char *kname = NULL;
        const char *spec = extra ? extra[s] : lpvm_module_spec(m, s, &kname);
        cr_assert(spec);
        lpvm_kernel *k = NULL;
        cr_assert_eq(lpvm_kernel_get(m, kname, spec, &k), LPVM_OK, "%s [%s]: %s", file, spec,
                     lpvm_error_message(ctx));
        for (int h = 0; h < nshapes; h++) {
            if (!shapes[h])
                continue;
            for (uint64_t seed = 1; seed <= NSEED; seed++) {
                Run r;
                launch(ctx, k, shapes[h], scalars, seed, &r);
                check(&r, spec, shapes[h], seed);
                run_free(&r);
            }
        }
    }
    *nspecs = ns;
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    free(src);
}

static void for_each_spec(const char *file, const char *const *shapes, int nshapes, const char *scalars,
                          CheckFn check, int *nspecs)
{
    for_specs(file, NULL, 0, shapes, nshapes, scalars, check, nspecs);
}

/* ---- vadd: z = x + y, rounded once */

static void check_vadd(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    Dtype dt = vm_dtype_parse(r->p[2].dtype, strlen(r->p[2].dtype));
    int bits = vm_dtype_bits(dt);
    int64_t n = r->numel[2];
    uint8_t *ref = calloc(1, lpvm_dtype_bytes(r->p[2].dtype, n) + 1);
    for (int64_t i = 0; i < n; i++) {
        uint64_t at = (uint64_t)i * (uint64_t)bits;
        Code sum = vm_dtype_is_float(dt) ? vm_encode(dt, IN(r, 0, i) + IN(r, 1, i))
                                         : vm_bits_get(r->in[0], at, bits) + vm_bits_get(r->in[1], at, bits);
        vm_bits_set(ref, at, bits, bits == 64 ? sum : sum & ((UINT64_C(1) << bits) - 1)); /* ints wrap */
    }
    char *rep = NULL;
    lpvm_status st = lpvm_compare(r->p[2].dtype, ref, r->out[2], n, "exact", &rep);
    cr_expect_eq(st, LPVM_OK, "vadd [%s] %s seed %llu:\n%s", spec, shapes, (unsigned long long)seed, rep);
    inputs_untouched(r, 2);
    lpvm_free(rep);
    free(ref);
}

Test(samples, vadd)
{
    const char *shapes[] = {"n=1000", "n=4096", "n=1", "n=1023", "n=1025", "n=257", "n=3000"};
    int ns = 0;
    for_each_spec("vadd.lpk", shapes, 7, "", check_vadd, &ns);
    cr_assert_eq(ns, 2);
}

/* Narrow floats round once (saturating), integers wrap; packed dtypes
 * straddle bytes, so a ragged n ends inside a byte. */
Test(samples, vadd_more_dtypes)
{
    const char *specs[] = {"dt=bf16,block=512", "dt=f8e4m3,block=1024", "dt=f8e5m2,block=256", "dt=f4e2m1",
                           "dt=f6e3m2,block=256", "dt=i8", "dt=u3,block=256", "dt=i5,block=256", "dt=u16",
                           "dt=i64,block=256"};
    const char *shapes[] = {"n=1000", "n=1", "n=513", "n=3"};
    int ns = 0;
    for_specs("vadd.lpk", specs, 10, shapes, 4, "", check_vadd, &ns);
}

/* ---- softmax over rows */

static void check_softmax(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    int64_t m = r->shape[0][0], n = r->shape[0][1];
    double worst = 0;
    for (int64_t i = 0; i < m; i++) {
        double mx = -INFINITY, sum = 0, gsum = 0;
        for (int64_t j = 0; j < n; j++)
            mx = fmax(mx, IN(r, 0, i * n + j));
        for (int64_t j = 0; j < n; j++)
            sum += exp(IN(r, 0, i * n + j) - mx);
        for (int64_t j = 0; j < n; j++) {
            double ref = exp(IN(r, 0, i * n + j) - mx) / sum, got = OUT(r, 1, i * n + j);
            double bound = (double)(n + 8) * 0x1p-24 * fabs(ref) + 0x1p-126;
            gsum += got;
            worst = fmax(worst, fabs(got - ref) / bound);
            cr_expect(fabs(got - ref) <= bound, "softmax [%s] %s seed %llu: y[%lld,%lld] = %.9g, ref %.9g", spec,
                      shapes, (unsigned long long)seed, (long long)i, (long long)j, got, ref);
            if (fabs(got - ref) > bound)
                return;
        }
        cr_expect(fabs(gsum - 1) <= (double)(2 * n + 8) * 0x1p-24, "softmax row %lld sums to %.9g", (long long)i,
                  gsum);
    }
    cr_expect(worst <= 1);
    inputs_untouched(r, 1);
}

Test(samples, softmax)
{
    /* spec 0: cols=1024 (every shape); spec 1: rows=2,cols=256 (n <= 256) */
    const char *shapes[] = {"m=37,n=200", "m=1,n=1", "m=4,n=256", "m=3,n=129"};
    int ns = 0;
    for_each_spec("softmax.lpk", shapes, 4, "", check_softmax, &ns);
    cr_assert_eq(ns, 2);
    const char *wide[] = {"m=2,n=1024", "m=3,n=1000"};
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    char *src = read_sample("softmax.lpk");
    lpvm_module *mod = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, "softmax.lpk", &mod), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(mod, NULL, "cols=1024", &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    for (int h = 0; h < 2; h++) {
        Run r;
        launch(ctx, k, wide[h], "", 7, &r);
        check_softmax(&r, "cols=1024", wide[h], 7);
        run_free(&r);
    }
    lpvm_module_destroy(mod);
    lpvm_context_destroy(ctx);
    free(src);
}

/* Multiplies input 0 by 80 (rounded to its dtype), beyond exp's f32 range
 * without the max subtraction, and x^2 beyond f16's without f32 math. */
static void scale_x80(Run *r, int i)
{
    if (i != 0)
        return;
    Dtype dt = vm_dtype_parse(r->p[0].dtype, strlen(r->p[0].dtype));
    int bits = vm_dtype_bits(dt);
    for (int64_t j = 0; j < r->numel[0]; j++) {
        uint64_t at = (uint64_t)j * (uint64_t)bits;
        vm_bits_set(r->in[0], at, bits, vm_encode(dt, 80 * vm_decode(dt, vm_bits_get(r->in[0], at, bits))));
    }
}

static void scaled(const char *file, const char *spec, const char *shapes, const char *scalars, CheckFn check)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    char *src = read_sample(file);
    lpvm_module *mod = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, file, &mod), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(mod, NULL, spec, &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    for (uint64_t seed = 1; seed <= NSEED; seed++) {
        Run r;
        launch_prep(ctx, k, shapes, scalars, seed, &r, scale_x80);
        check(&r, spec, shapes, seed);
        run_free(&r);
    }
    lpvm_module_destroy(mod);
    lpvm_context_destroy(ctx);
    free(src);
}

Test(samples, softmax_large_inputs)
{
    scaled("softmax.lpk", "cols=1024", "m=6,n=1000", "", check_softmax);
    scaled("softmax.lpk", "rows=2,cols=256", "m=5,n=255", "", check_softmax);
}

/* ---- rmsnorm: y = x / sqrt(mean(x^2) + eps) * w */

static const double RMS_EPS = 1e-5;

static void check_rmsnorm(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    Dtype dt = vm_dtype_parse(r->p[0].dtype, strlen(r->p[0].dtype));
    int mb = vm_dtype_info(dt)->mbits;
    int64_t m = r->shape[0][0], n = r->shape[0][1];
    double tiny = ldexp(1.0, 2 - (1 << (vm_dtype_info(dt)->ebits - 1)) - mb);
    for (int64_t i = 0; i < m; i++) {
        double ss = 0;
        for (int64_t j = 0; j < n; j++)
            ss += IN(r, 0, i * n + j) * IN(r, 0, i * n + j);
        double inv = 1 / sqrt(ss / (double)n + (double)(float)RMS_EPS);
        for (int64_t j = 0; j < n; j++) {
            double ref = IN(r, 0, i * n + j) * inv * IN(r, 1, j), got = OUT(r, 2, i * n + j);
            double bound = ((double)(n + 16) * 0x1p-24 + ldexp(1.0, -mb)) * fabs(ref) + tiny;
            if (!(fabs(got - ref) <= bound)) {
                cr_expect_fail("rmsnorm [%s] %s seed %llu: y[%lld,%lld] = %.9g, ref %.9g, bound %.3g", spec, shapes,
                               (unsigned long long)seed, (long long)i, (long long)j, got, ref, bound);
                return;
            }
        }
    }
    inputs_untouched(r, 2);
}

Test(samples, rmsnorm)
{
    /* spec 0: cols=4096 f16; spec 1: cols=1024 bf16: n <= 1024 for both */
    const char *shapes[] = {"m=5,n=1000", "m=2,n=1024", "m=3,n=1", "m=1,n=129"};
    int ns = 0;
    for_each_spec("rmsnorm.lpk", shapes, 4, "eps=1e-5", check_rmsnorm, &ns);
    cr_assert_eq(ns, 2);
}

Test(samples, rmsnorm_large_inputs)
{
    scaled("rmsnorm.lpk", "cols=4096", "m=3,n=4096", "eps=1e-5", check_rmsnorm);
    scaled("rmsnorm.lpk", "cols=1024,dt=bf16", "m=3,n=700", "eps=1e-5", check_rmsnorm);
}

/* ---- matmul: c = a @ b, f16 in, f32 out */

static void check_matmul(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    int64_t m = r->shape[0][0], k = r->shape[0][1], n = r->shape[1][1];
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double ref = 0, mag = 0;
            for (int64_t t = 0; t < k; t++) {
                double p = IN(r, 0, i * k + t) * IN(r, 1, t * n + j);
                ref += p;
                mag += fabs(p);
            }
            double got = OUT(r, 2, i * n + j), bound = (double)k * 0x1p-23 * mag + 0x1p-126;
            if (!(fabs(got - ref) <= bound)) {
                cr_expect_fail("matmul [%s] %s seed %llu: c[%lld,%lld] = %.9g, ref %.9g, bound %.3g", spec, shapes,
                               (unsigned long long)seed, (long long)i, (long long)j, got, ref, bound);
                return;
            }
        }
    inputs_untouched(r, 2);
}

Test(samples, matmul)
{
    /* k must be a multiple of bk = 32; m, n ragged against the 64/32-wide tiles */
    const char *shapes[] = {"m=100,n=96,k=64", "m=64,n=64,k=32", "m=17,n=5,k=96", "m=1,n=1,k=32"};
    int ns = 0;
    for_each_spec("matmul.lpk", shapes, 4, "", check_matmul, &ns);
    cr_assert_eq(ns, 2);
}

/* ---- gemv_u3: y = W x with packed u3/u4 codes and f16 group scales */

static void check_gemv_wt(const Run *r, const char *spec, const char *shapes, uint64_t seed,
                          const char *wt_default)
{
    char wt[16];
    spec_dtype(spec, "wt", wt_default, wt, sizeof wt);
    Dtype wdt = vm_dtype_parse(wt, strlen(wt));
    int bits = vm_dtype_bits(wdt);
    int group = (int)value_of(spec, "group", 128);
    int64_t n = r->shape[3][0], k = r->shape[0][0];
    cr_assert_eq(r->shape[1][1], k * bits / 8);
    cr_assert_eq(r->shape[2][1], k / group);
    int zero = 1 << (bits - 1);
    for (int64_t i = 0; i < n; i++) {
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < k; j++) {
            Code q = vm_bits_get(r->in[1], (uint64_t)(i * k + j) * (uint64_t)bits, bits);
            double s = IN(r, 2, i * (k / group) + j / group);
            double w = ((double)q - zero) * s;
            ref += w * IN(r, 0, j);
            mag += fabs(w * IN(r, 0, j));
        }
        double got = OUT(r, 3, i);
        double bound = (double)k * 0x1p-23 * mag + ulp_of(VM_DT_F16, fabs(ref)) + 0x1p-24;
        if (!(fabs(got - ref) <= bound)) {
            cr_expect_fail("gemv [%s] %s seed %llu: y[%lld] = %.9g, ref %.9g, bound %.3g", spec, shapes,
                           (unsigned long long)seed, (long long)i, got, ref, bound);
            return;
        }
    }
    inputs_untouched(r, 3);
}

static void check_gemv(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    check_gemv_wt(r, spec, shapes, seed, "u3");
}

static void check_gemv_u4(const Run *r, const char *spec, const char *shapes, uint64_t seed)
{
    check_gemv_wt(r, spec, shapes, seed, "u4");
}

/* the tensor-core GEMV (group 128, k a multiple of 128): ragged n against
 * its 32-row blocks, k against its 1024-code steps and its 8192-code
 * windows of x in shared memory (8320: a second window of one chunk) */
Test(samples, gemv_u4)
{
    const char *shapes[] = {"n=37,k=1280", "n=1,k=128", "n=40,k=384", "n=33,k=2048", "n=9,k=8320"};
    int ns = 0;
    for_each_spec("gemv_u4.lpk", shapes, 5, "", check_gemv_u4, &ns);
    cr_assert_eq(ns, 5);
}

Test(samples, gemv_u3)
{
    const char *shapes[] = {"n=37,k=512", "n=1,k=256", "n=8,k=768", "n=5,k=256"};
    int ns = 0;
    for_each_spec("gemv_u3.lpk", shapes, 4, "", check_gemv, &ns);
    cr_assert_eq(ns, 3);
}

/* The packed-code decoding the reference uses, hand-checked: eight u3
 * codes 0..7 in three bytes, least significant bit first. */
Test(samples, u3_stream_decode)
{
    uint8_t b[3] = {0};
    for (int i = 0; i < 8; i++)
        vm_bits_set(b, (uint64_t)i * 3, 3, (Code)i);
    cr_assert_eq(b[0], 0x88); /* bits 3 (code 1) and 7 (code 2's middle bit) */
    cr_assert_eq(b[1], 0xc6);
    cr_assert_eq(b[2], 0xfa);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(vm_bits_get(b, (uint64_t)i * 3, 3), (Code)i);
}

/* A violated assume() is a fault located at the assume line of the file. */
static void expect_assume_fault(const char *file, const char *spec, const char *shapes)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    char *src = read_sample(file);
    int line = 1;
    for (const char *p = src; p < strstr(src, "    assume("); p++)
        line += *p == '\n';
    char want[128];
    snprintf(want, sizeof want, "%s:%d:5: error: assumption violated", file, line);
    lpvm_module *mod = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, file, &mod), LPVM_OK);
    cr_assert_eq(lpvm_kernel_get(mod, NULL, spec, &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    int n = lpvm_kernel_param_count(k);
    lpvm_arg args[NP];
    lpvm_buffer *buf[NP] = {0};
    for (int i = 0; i < n; i++) {
        lpvm_param_info p;
        int rank;
        int64_t shape[LPVM_MAX_RANK];
        cr_assert_eq(lpvm_kernel_param(k, i, &p), LPVM_OK);
        if (!p.is_tensor) {
            args[i] = lpvm_arg_f32(1e-5f);
            continue;
        }
        cr_assert_eq(lpvm_kernel_param_shape(k, i, shapes, &rank, shape), LPVM_OK, "%s", lpvm_error_message(ctx));
        int64_t numel = 1;
        for (int d = 0; d < rank; d++)
            numel *= shape[d];
        cr_assert_eq(lpvm_buffer_alloc(ctx, lpvm_dtype_bytes(p.dtype, numel) + 1, &buf[i]), LPVM_OK);
        args[i] = lpvm_arg_tensor(buf[i], p.dtype, rank, shape);
    }
    cr_assert_eq(lpvm_launch(k, args, (size_t)n, NULL), LPVM_ERR_RUNTIME, "%s %s ran", file, shapes);
    cr_expect(strstr(lpvm_error_message(ctx), want), "want '%s', got: %s", want, lpvm_error_message(ctx));
    for (int i = 0; i < n; i++)
        lpvm_buffer_free(buf[i]);
    lpvm_module_destroy(mod);
    lpvm_context_destroy(ctx);
    free(src);
}

Test(samples, assumptions_fault)
{
    expect_assume_fault("gemv_u3.lpk", "wt=u3", "n=2,k=128");
    expect_assume_fault("gemv_u4.lpk", "wt=u4,group=64", "n=2,k=128");
    expect_assume_fault("softmax.lpk", "cols=1024", "m=3,n=1025");
    expect_assume_fault("rmsnorm.lpk", "cols=1024,dt=bf16", "m=1,n=1025");
    expect_assume_fault("matmul.lpk", "bm=64,bn=64,bk=32", "m=64,n=64,k=48");
}

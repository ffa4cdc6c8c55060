/* runtime/compare.c - the one comparison of GPU results with the
 * interpreter's (STYLE 11): every test and the GPU runner go through it, so
 * none picks its own epsilon. Tolerance classes (VM.md 7):
 *
 *   exact    the codes are equal (NaN matches NaN: payloads are canonical)
 *   ulp:N    floats within N units in the last place of the dtype, counted
 *            on the codes (for approximate math: ex2/lg2/sin/cos/tanh/rsqrt)
 *   acc:K    accumulation of K terms in another order (dot, reductions):
 *            |got - ref| <= 4 K eps(f32) max|ref| + 1 ulp of the dtype at ref,
 *            the normwise form of VM.md 7's bound with sum|a b| <= max|ref|
 *            replaced by the output's scale
 *
 * The report lists the first mismatches, the count and the largest error
 * with its index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

typedef enum { TOL_EXACT, TOL_ULP, TOL_ACC } TolKind;

static int parse_tol(const char *tol, TolKind *kind, double *n)
{
    if (!tol || !strcmp(tol, "exact")) {
        *kind = TOL_EXACT;
        return 0;
    }
    char *end;
    if (!strncmp(tol, "ulp:", 4) || !strncmp(tol, "acc:", 4)) {
        *kind = tol[0] == 'u' ? TOL_ULP : TOL_ACC;
        *n = strtod(tol + 4, &end);
        return *end || *n < 0 ? -1 : 0;
    }
    return -1;
}

/* The code as a position on the number line (monotone in the value), so
 * that ulps are differences of positions. */
static int64_t ordinal(Dtype dt, Code c)
{
    int bits = vm_dtype_bits(dt);
    Code sign = (Code)1 << (bits - 1);
    int64_t mag = (int64_t)(c & (sign - 1));
    return c & sign ? -mag : mag;
}

static int is_nan(Dtype dt, Code c) { return vm_dtype_is_float(dt) && isnan(vm_decode(dt, c)); }

lpvm_status lpvm_compare(const char *dtype, const void *ref, const void *got, int64_t numel,
                         const char *tol, char **report)
{
    Dtype dt = dtype ? vm_dtype_parse(dtype, strlen(dtype)) : VM_DT_INVALID;
    TolKind kind = TOL_EXACT;
    double n = 0;
    if (dt == VM_DT_INVALID || !ref || !got || numel < 0 || parse_tol(tol, &kind, &n))
        return LPVM_ERR_INVALID;
    int bits = vm_dtype_bits(dt);
    int fl = vm_dtype_is_float(dt);
    double scale = 0;
    for (int64_t i = 0; fl && kind == TOL_ACC && i < numel; i++) {
        double r = fabs(vm_decode(dt, vm_bits_get(ref, (uint64_t)i * (uint64_t)bits, bits)));
        if (r > scale && isfinite(r))
            scale = r;
    }
    RtStrbuf sb = {0};
    int64_t bad = 0, worst_at = -1;
    double worst = -1;
    for (int64_t i = 0; i < numel; i++) {
        Code rc = vm_bits_get(ref, (uint64_t)i * (uint64_t)bits, bits);
        Code gc = vm_bits_get(got, (uint64_t)i * (uint64_t)bits, bits);
        double rv = fl ? vm_decode(dt, rc) : (double)rc, gv = fl ? vm_decode(dt, gc) : (double)gc;
        double err = fl && isfinite(rv) && isfinite(gv) ? fabs(gv - rv) : rc == gc ? 0 : INFINITY;
        int ok;
        if (rc == gc || (is_nan(dt, rc) && is_nan(dt, gc)))
            ok = 1, err = 0;
        else if (!fl || kind == TOL_EXACT)
            ok = 0;
        else if (kind == TOL_ULP)
            ok = !is_nan(dt, rc) && !is_nan(dt, gc) && llabs(ordinal(dt, rc) - ordinal(dt, gc)) <= (int64_t)n;
        else {
            Code up = rc + 1; /* the next code away from zero: one ulp at ref */
            double ulp = fabs(vm_decode(dt, up & (((Code)1 << (bits - 1)) | (((Code)1 << (bits - 1)) - 1))) - rv);
            ok = err <= 4 * n * 0x1p-23 * scale + (isfinite(ulp) ? ulp : 0);
        }
        if (err > worst) {
            worst = err;
            worst_at = i;
        }
        if (!ok && bad++ < 8)
            rt_sb_printf(&sb, "  [%lld] ref %.9g (0x%llx), got %.9g (0x%llx)\n", (long long)i, rv,
                         (unsigned long long)rc, gv, (unsigned long long)gc);
    }
    if (bad)
        rt_sb_printf(&sb, "  %lld of %lld elements differ (%s, tolerance %s); largest error %.3g at [%lld]\n",
                     (long long)bad, (long long)numel, dtype, tol ? tol : "exact", worst, (long long)worst_at);
    else
        rt_sb_printf(&sb, "  %lld elements match (%s, tolerance %s); largest error %.3g at [%lld]\n",
                     (long long)numel, dtype, tol ? tol : "exact", worst, (long long)worst_at);
    char *text = rt_sb_finish(&sb);
    if (report)
        *report = text;
    else
        free(text);
    return bad ? LPVM_ERR_RUNTIME : LPVM_OK;
}

/* tests/test_dtype_conv.c - float decoding and encoding, exhaustively.
 *
 * Three independent references: value tables written out by hand, a decoder
 * written from the format definition (ref_decode), and a brute-force encoder
 * that scans every code for the nearest value (ref_round). The hardware
 * conversions (double -> float, _Float16) check f32 and f16 on random
 * values. Random values come from a fixed-seed generator. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "vm/vm.h"

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static Code f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static bool is_narrow(Dtype dt) { return vm_dtype_is_float(dt) && vm_dtype_bits(dt) <= 8; }
static Code sign_bit(Dtype dt) { return 1ull << (vm_dtype_bits(dt) - 1); }

/* The value of a code from the format definition alone. */
static double ref_decode(Dtype dt, Code c)
{
    const DtypeInfo *d = vm_dtype_info(dt);
    int E = d->ebits, M = d->mbits, bias = (1 << (E - 1)) - 1;
    int s = (int)(c >> (d->bits - 1)) & 1;
    int e = (int)(c >> M) & ((1 << E) - 1);
    int m = (int)(c & ((1u << M) - 1));
    double sg = s ? -1 : 1;
    if (vm_dtype_has_inf(dt) && e == (1 << E) - 1)
        return m ? NAN : sg * INFINITY;
    if (dt == VM_DT_F8E4M3 && e == 15 && m == 7)
        return NAN;
    if (e == 0)
        return sg * ldexp(m, 1 - bias - M);
    return sg * ldexp((1 << M) + m, e - bias - M);
}

static Code max_code(Dtype dt) { return vm_encode(dt, vm_dtype_max(dt)); }

/* Nearest code by scanning every positive finite code; ties to the even code;
 * narrow formats saturate, NaN to the canonical NaN or +max. */
static Code ref_round(Dtype dt, double x)
{
    int bits = vm_dtype_bits(dt);
    if (isnan(x))
        return vm_dtype_has_nan(dt) ? vm_canonical_nan(dt) : max_code(dt);
    Code sign = signbit(x) ? sign_bit(dt) : 0;
    double a = fabs(x);
    if (isinf(a) && vm_dtype_has_inf(dt))
        return sign | vm_encode(dt, INFINITY);
    if (a > vm_dtype_max(dt))
        return sign | max_code(dt);
    Code best = 0;
    double bestd = INFINITY;
    for (Code c = 0; c < (1ull << (bits - 1)); c++) {
        double v = ref_decode(dt, c);
        if (isnan(v) || isinf(v))
            continue;
        double dist = fabs(a - v);
        if (dist < bestd || (dist == bestd && !(c & 1))) {
            best = c;
            bestd = dist;
        }
    }
    return sign | best;
}

/* A random double spread over the format's range and beyond. */
static double random_near(Dtype dt)
{
    double lo = log2(vm_dtype_min_subnormal(dt)) - 3, hi = log2(vm_dtype_max(dt)) + 3;
    double e = lo + (hi - lo) * (double)(rng() >> 11) * 0x1p-53;
    double m = 1 + (double)(rng() >> 11) * 0x1p-53;
    double v = ldexp(m, (int)floor(e));
    return (rng() & 1) ? -v : v;
}

/* ---- decoding */

Test(dtype_conv, decode_matches_definition)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!vm_dtype_is_float(dt) || vm_dtype_bits(dt) > 16)
            continue;
        for (Code c = 0; c < (1ull << vm_dtype_bits(dt)); c++) {
            double got = vm_decode(dt, c), want = ref_decode(dt, c);
            if (isnan(want))
                cr_assert(isnan(got), "%s 0x%llx", vm_dtype_name(dt), (unsigned long long)c);
            else
                cr_assert(got == want && !signbit(got) == !signbit(want), "%s 0x%llx: %a vs %a",
                          vm_dtype_name(dt), (unsigned long long)c, got, want);
        }
    }
}

Test(dtype_conv, positive_codes_increase)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!vm_dtype_is_float(dt) || vm_dtype_bits(dt) > 16)
            continue;
        Code mc = max_code(dt);
        for (Code c = 0; c < mc; c++)
            cr_assert_lt(vm_decode(dt, c), vm_decode(dt, c + 1), "%s 0x%llx", vm_dtype_name(dt),
                         (unsigned long long)c);
    }
}

Test(dtype_conv, f4e2m1_table)
{
    const double v[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    for (Code c = 0; c < 8; c++) {
        cr_assert_eq(vm_decode(VM_DT_F4E2M1, c), v[c]);
        cr_assert_eq(vm_decode(VM_DT_F4E2M1, c | 8), -v[c]);
        cr_assert_eq(vm_encode(VM_DT_F4E2M1, v[c]), c);
        cr_assert_eq(vm_encode(VM_DT_F4E2M1, -v[c]), c | 8);
    }
    cr_assert(signbit(vm_decode(VM_DT_F4E2M1, 8)));
}

Test(dtype_conv, small_format_tables)
{
    const double e1m1[4] = {0, 1, 2, 3};
    const double e3m0[8] = {0, 0.25, 0.5, 1, 2, 4, 8, 16};
    const double e2m0[4] = {0, 1, 2, 4};
    const double e1m2[8] = {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5};
    for (Code c = 0; c < 4; c++) {
        cr_assert_eq(vm_decode(VM_DT_F3E1M1, c), e1m1[c]);
        cr_assert_eq(vm_decode(VM_DT_F3E1M1, c | 4), -e1m1[c]);
        cr_assert_eq(vm_decode(VM_DT_F3E2M0, c), e2m0[c]);
    }
    for (Code c = 0; c < 8; c++) {
        cr_assert_eq(vm_decode(VM_DT_F4E3M0, c), e3m0[c]);
        cr_assert_eq(vm_decode(VM_DT_F4E1M2, c), e1m2[c]);
    }
    cr_assert_eq(vm_decode(VM_DT_F8E7M0, 0x01), 0x1p-62);
    cr_assert_eq(vm_decode(VM_DT_F8E7M0, 0x3F), 1.0);
    cr_assert_eq(vm_decode(VM_DT_F8E7M0, 0x7F), 0x1p64);
    cr_assert_eq(vm_decode(VM_DT_F8E7M0, 0xC0), -2.0);
    cr_assert_eq(vm_decode(VM_DT_F6E3M2, 0x1F), 28);
    cr_assert_eq(vm_decode(VM_DT_F6E3M2, 0x01), 0.0625);
    cr_assert_eq(vm_decode(VM_DT_F6E3M2, 0x0C), 1.0);
    cr_assert_eq(vm_decode(VM_DT_F6E3M2, 0x3F), -28);
    cr_assert_eq(vm_decode(VM_DT_F6E2M3, 0x1F), 7.5);
    cr_assert_eq(vm_decode(VM_DT_F6E2M3, 0x01), 0.125);
    cr_assert_eq(vm_decode(VM_DT_F6E2M3, 0x08), 1.0);
    cr_assert_eq(vm_decode(VM_DT_F8E1M6, 0x40), 2.0);
    cr_assert_eq(vm_decode(VM_DT_F8E1M6, 0x3F), 1.96875);
    cr_assert_eq(vm_decode(VM_DT_F5E2M2, 0x0F), 7.0);
}

Test(dtype_conv, f8e4m3_specials)
{
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x7E), 448);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0xFE), -448);
    cr_assert(isnan(vm_decode(VM_DT_F8E4M3, 0x7F)));
    cr_assert(isnan(vm_decode(VM_DT_F8E4M3, 0xFF)));
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x01), 0x1p-9);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x07), 7 * 0x1p-9);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x08), 0x1p-6);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x38), 1.0);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x78), 256);
    cr_assert_eq(vm_decode(VM_DT_F8E4M3, 0x7D), 416);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 448), 0x7E);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, NAN), 0x7F);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, -NAN), 0x7F);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 0x1p-9), 0x01);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, -0.0), 0x80);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 0x1p-10), 0x00);             /* tie to 0 */
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 0x1.000001p-10), 0x01);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 3 * 0x1p-10), 0x02);         /* tie to 2^-8 */
}

Test(dtype_conv, f8e5m2_specials)
{
    cr_assert(isinf(vm_decode(VM_DT_F8E5M2, 0x7C)) && vm_decode(VM_DT_F8E5M2, 0x7C) > 0);
    cr_assert(isinf(vm_decode(VM_DT_F8E5M2, 0xFC)) && vm_decode(VM_DT_F8E5M2, 0xFC) < 0);
    for (Code c = 0x7D; c <= 0x7F; c++) {
        cr_assert(isnan(vm_decode(VM_DT_F8E5M2, c)));
        cr_assert(isnan(vm_decode(VM_DT_F8E5M2, c | 0x80)));
    }
    cr_assert_eq(vm_decode(VM_DT_F8E5M2, 0x7B), 57344);
    cr_assert_eq(vm_decode(VM_DT_F8E5M2, 0x01), 0x1p-16);
    cr_assert_eq(vm_decode(VM_DT_F8E5M2, 0x04), 0x1p-14);
    cr_assert_eq(vm_decode(VM_DT_F8E5M2, 0x3C), 1.0);
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, INFINITY), 0x7C);
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, -INFINITY), 0xFC);
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, NAN), 0x7F);
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, 57344), 0x7B);
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, 1e9), 0x7B);   /* finite overflow saturates */
    cr_assert_eq(vm_encode(VM_DT_F8E5M2, -1e9), 0xFB);
}

/* ---- round trips */

static void check_round_trip(Dtype dt, Code c)
{
    const char *n = vm_dtype_name(dt);
    unsigned long long cc = c;
    double v = vm_decode(dt, c);
    if (isnan(v)) {
        cr_assert_eq(vm_encode(dt, v), vm_canonical_nan(dt), "%s 0x%llx", n, cc);
        cr_assert_eq(vm_cast(dt, dt, c), vm_canonical_nan(dt), "%s 0x%llx", n, cc);
        cr_assert_eq(vm_cast(dt, VM_DT_F32, vm_cast(VM_DT_F32, dt, c)), vm_canonical_nan(dt),
                     "%s 0x%llx", n, cc);
        return;
    }
    cr_assert_eq(vm_encode(dt, v), c, "%s 0x%llx (%a)", n, cc, v);
    cr_assert_eq(vm_cast(dt, dt, c), c, "%s 0x%llx", n, cc);
    if (!vm_dtype_is_float(dt))
        return;
    cr_assert_eq(vm_cast(dt, VM_DT_F32, vm_cast(VM_DT_F32, dt, c)), c, "%s 0x%llx via f32", n, cc);
    cr_assert_eq(vm_cast(dt, VM_DT_F64, vm_cast(VM_DT_F64, dt, c)), c, "%s 0x%llx via f64", n, cc);
    cr_assert_eq(vm_encode(dt, (float)v), c, "%s 0x%llx", n, cc);
    if (is_narrow(dt))
        cr_assert_eq(vm_cast(dt, VM_DT_BF16, vm_cast(VM_DT_BF16, dt, c)), c, "%s 0x%llx via bf16",
                     n, cc);
}

Test(dtype_conv, round_trip_narrow_every_code)
{
    int checked = 0;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        int bits = vm_dtype_bits(dt);
        if (dt == VM_DT_BOOL || bits > 8)
            continue;
        for (Code c = 0; c < (1u << bits); c++, checked++)
            check_round_trip(dt, c);
    }
    cr_assert_eq(checked, 2 * (2 + 4 + 8 + 16 + 32 + 64 + 128 + 256) +
                              (2 * 8 + 3 * 16 + 4 * 32 + 5 * 64 + 6 * 128 + 7 * 256));
}

Test(dtype_conv, round_trip_f16_bf16_every_code)
{
    for (Code c = 0; c < 65536; c++) {
        check_round_trip(VM_DT_F16, c);
        check_round_trip(VM_DT_BF16, c);
    }
    cr_assert_eq(vm_encode(VM_DT_F16, -0.0), 0x8000);
    cr_assert_eq(vm_encode(VM_DT_BF16, -0.0), 0x8000);
}

Test(dtype_conv, negative_zero_everywhere)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!vm_dtype_is_float(dt))
            continue;
        cr_assert_eq(vm_encode(dt, -0.0), sign_bit(dt), "%s", vm_dtype_name(dt));
        cr_assert_eq(vm_encode(dt, 0.0), 0, "%s", vm_dtype_name(dt));
        cr_assert(signbit(vm_decode(dt, sign_bit(dt))), "%s", vm_dtype_name(dt));
        /* underflow keeps the sign */
        if (dt != VM_DT_F64)
            cr_assert_eq(vm_encode(dt, -0x1p-1074), sign_bit(dt), "%s", vm_dtype_name(dt));
    }
}

Test(dtype_conv, round_trip_via_f16_when_it_fits)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        const DtypeInfo *d = vm_dtype_info(dt);
        if (!is_narrow(dt) || (d->ebits > 4 && dt != VM_DT_F8E5M2))
            continue;
        for (Code c = 0; c < (1u << d->bits); c++) {
            Code h = vm_cast(VM_DT_F16, dt, c);
            Code want = isnan(vm_decode(dt, c)) ? vm_canonical_nan(dt) : c;
            cr_assert_eq(vm_cast(dt, VM_DT_F16, h), want, "%s 0x%x", d->name, (unsigned)c);
        }
    }
}

/* ---- rounding: every tie of every float type up to 16 bits */

static void check_ties(Dtype dt, bool from_f32)
{
    const char *n = vm_dtype_name(dt);
    Code mc = max_code(dt);
    for (Code c = 0; c < mc; c++) {
        double lo = vm_decode(dt, c), hi = vm_decode(dt, c + 1), mid = (lo + hi) / 2;
        Code even = (c & 1) ? c + 1 : c;
        for (int s = 0; s < 2; s++) {
            Code sg = s ? sign_bit(dt) : 0;
            double x = s ? -mid : mid;
            double up = s ? -INFINITY : INFINITY;
            Code got, above, below;
            if (from_f32) {
                float xf = (float)x;
                cr_assert_eq((double)xf, x, "%s: midpoint not an f32", n);
                got = vm_cast(dt, VM_DT_F32, f32_bits(xf));
                above = vm_cast(dt, VM_DT_F32, f32_bits(nextafterf(xf, (float)up)));
                below = vm_cast(dt, VM_DT_F32, f32_bits(nextafterf(xf, 0)));
            } else {
                got = vm_encode(dt, x);
                above = vm_encode(dt, nextafter(x, up));
                below = vm_encode(dt, nextafter(x, 0));
            }
            unsigned long long uc = c;
            cr_assert_eq(got, sg | even, "%s tie %a (codes 0x%llx, +1)", n, x, uc);
            cr_assert_eq(above, sg | (c + 1), "%s above %a", n, x);
            cr_assert_eq(below, sg | c, "%s below %a", n, x);
        }
    }
}

Test(dtype_conv, every_tie_from_f64)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (vm_dtype_is_float(dt) && vm_dtype_bits(dt) <= 16)
            check_ties(dt, false);
    }
}

Test(dtype_conv, every_tie_from_f32)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (vm_dtype_is_float(dt) && vm_dtype_bits(dt) <= 16)
            check_ties(dt, true);
    }
}

/* M = 0 formats: the tie goes to the even code (even exponent field). */
Test(dtype_conv, m0_ties_by_hand)
{
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 1.5), 0x4);   /* 1 (0x3) | 2 (0x4) -> 2 */
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 3.0), 0x4);   /* 2 (0x4) | 4 (0x5) -> 2 */
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 6.0), 0x6);   /* 4 (0x5) | 8 (0x6) -> 8 */
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 0.375), 0x2); /* 0.25 | 0.5 -> 0.5 */
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 0.125), 0x0); /* 0 | 0.25 -> 0 */
    cr_assert_eq(vm_encode(VM_DT_F4E3M0, 0.126), 0x1);
    cr_assert_eq(vm_encode(VM_DT_F3E2M0, 3.0), 0x2);   /* 2 (0x2) | 4 (0x3) -> 2 */
    cr_assert_eq(vm_encode(VM_DT_F3E2M0, 1.5), 0x2);   /* 1 (0x1) | 2 (0x2) -> 2 */
    cr_assert_eq(vm_encode(VM_DT_F3E2M0, 0.5), 0x0);
    cr_assert_eq(vm_encode(VM_DT_F3E2M0, 100), 0x3);
}

/* Randomly placed values against the brute-force encoder. */
Test(dtype_conv, narrow_vs_brute_force)
{
    rng_state = 1;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!is_narrow(dt))
            continue;
        for (int k = 0; k < 2000; k++) {
            double x = random_near(dt);
            cr_assert_eq(vm_encode(dt, x), ref_round(dt, x), "%s %a", vm_dtype_name(dt), x);
            float xf = (float)x;
            cr_assert_eq(vm_cast(dt, VM_DT_F32, f32_bits(xf)), ref_round(dt, xf), "%s %a",
                         vm_dtype_name(dt), (double)xf);
        }
    }
}

/* Every narrow code converted to every other narrow format. */
Test(dtype_conv, narrow_to_narrow_vs_brute_force)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype from = (Dtype)i;
        if (!is_narrow(from))
            continue;
        for (int j = 0; j < VM_NDTYPES; j++) {
            Dtype to = (Dtype)j;
            if (!is_narrow(to))
                continue;
            for (Code c = 0; c < (1u << vm_dtype_bits(from)); c++)
                cr_assert_eq(vm_cast(to, from, c), ref_round(to, vm_decode(from, c)),
                             "%s -> %s 0x%x", vm_dtype_name(from), vm_dtype_name(to), (unsigned)c);
        }
    }
}

/* ---- saturation and overflow edges */

Test(dtype_conv, narrow_saturation_edges)
{
    int n = 0;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!is_narrow(dt))
            continue;
        const char *nm = vm_dtype_name(dt);
        int M = vm_dtype_info(dt)->mbits;
        double max = vm_dtype_max(dt);
        double half_ulp = ldexp(1, ilogb(max) - M - 1);
        Code mc = max_code(dt), sg = sign_bit(dt);
        cr_assert_eq(vm_decode(dt, mc), max, "%s", nm);
        cr_assert_eq(vm_encode(dt, max), mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, -max), sg | mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, max + half_ulp), mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, nextafter(max + half_ulp, 0)), mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, max + 2 * half_ulp), mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, -(max + 3 * half_ulp)), sg | mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, 1e300), mc, "%s", nm);
        cr_assert_eq(vm_encode(dt, -DBL_MAX), sg | mc, "%s", nm);
        cr_assert_eq(vm_cast(dt, VM_DT_F32, f32_bits(FLT_MAX)), mc, "%s", nm);
        if (max < 0x1p62) {
            cr_assert_eq(vm_cast(dt, VM_DT_I64, 0x7FFFFFFFFFFFFFFFull), mc, "%s", nm);
            cr_assert_eq(vm_cast(dt, VM_DT_I64, 0x8000000000000000ull), sg | mc, "%s", nm);
        }
        if (dt == VM_DT_F8E5M2) {
            cr_assert_eq(vm_encode(dt, INFINITY), 0x7C);
            cr_assert_eq(vm_encode(dt, -INFINITY), 0xFC);
        } else {
            cr_assert_eq(vm_encode(dt, INFINITY), mc, "%s", nm);
            cr_assert_eq(vm_encode(dt, -INFINITY), sg | mc, "%s", nm);
        }
        Code nan = vm_dtype_has_nan(dt) ? 0x7F : mc;
        cr_assert_eq(vm_encode(dt, NAN), nan, "%s", nm);
        cr_assert_eq(vm_encode(dt, -NAN), nan, "%s", nm);
        cr_assert_eq(vm_cast(dt, VM_DT_F32, 0xFFC00001u), nan, "%s", nm);
        cr_assert_eq(vm_cast(dt, VM_DT_F16, 0x7E00), nan, "%s", nm);
        n++;
    }
    cr_assert_eq(n, 27);
    /* e4m3: 464 is the tie between 448 and the NaN code's 480; saturates */
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 464), 0x7E);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 480), 0x7E);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 447), 0x7E);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 431), 0x7D);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 5.0), 0x6);  /* tie 4 | 6 -> 4 */
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 7.0), 0x7);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 1e6), 0x7);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 0.25), 0x0);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, -0.25), 0x8);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 0.75), 0x2);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 2.5), 0x4);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 3.5), 0x6);
    cr_assert_eq(vm_encode(VM_DT_F6E3M2, 30), 0x1F);
    cr_assert_eq(vm_encode(VM_DT_F6E2M3, 7.75), 0x1F);
}

Test(dtype_conv, ieee_overflow_edges)
{
    cr_assert_eq(vm_encode(VM_DT_F16, 65504), 0x7BFF);
    cr_assert_eq(vm_encode(VM_DT_F16, 65520), 0x7C00); /* max + ulp/2: tie, overflows */
    cr_assert_eq(vm_encode(VM_DT_F16, nextafter(65520, 0)), 0x7BFF);
    cr_assert_eq(vm_encode(VM_DT_F16, -65520), 0xFC00);
    cr_assert_eq(vm_encode(VM_DT_F16, 1e300), 0x7C00);
    cr_assert_eq(vm_encode(VM_DT_F16, INFINITY), 0x7C00);
    cr_assert_eq(vm_encode(VM_DT_F16, NAN), 0x7FFF);
    cr_assert_eq(vm_encode(VM_DT_F16, 0x1p-24), 0x0001);
    cr_assert_eq(vm_encode(VM_DT_F16, 0x1p-25), 0x0000);
    cr_assert_eq(vm_encode(VM_DT_F16, 0x1.8p-24), 0x0002);
    cr_assert_eq(vm_encode(VM_DT_F16, 0x1p-14), 0x0400);
    cr_assert_eq(vm_encode(VM_DT_F16, 1.0 / 3), 0x3555);
    cr_assert_eq(vm_encode(VM_DT_BF16, 0x1.FEp127), 0x7F7F);
    cr_assert_eq(vm_encode(VM_DT_BF16, 0x1.FFp127), 0x7F80);
    cr_assert_eq(vm_encode(VM_DT_BF16, nextafter(0x1.FFp127, 0)), 0x7F7F);
    cr_assert_eq(vm_encode(VM_DT_BF16, -1e300), 0xFF80);
    cr_assert_eq(vm_encode(VM_DT_BF16, NAN), 0x7FFF);
    cr_assert_eq(vm_encode(VM_DT_BF16, 1.0), 0x3F80);
    cr_assert_eq(vm_encode(VM_DT_BF16, 0x1p-133), 0x0001);
    cr_assert_eq(vm_encode(VM_DT_F32, 0x1.FFFFFFp127), 0x7F800000u);
    cr_assert_eq(vm_encode(VM_DT_F32, nextafter(0x1.FFFFFFp127, 0)), 0x7F7FFFFFu);
    cr_assert_eq(vm_encode(VM_DT_F32, 0x1p-150), 0);
    cr_assert_eq(vm_encode(VM_DT_F32, 0x1.8p-150), 1);
    cr_assert_eq(vm_encode(VM_DT_F32, NAN), 0x7FFFFFFFu);
    cr_assert_eq(vm_encode(VM_DT_F64, NAN), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_encode(VM_DT_F64, -INFINITY), 0xFFF0000000000000ull);
    cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_F64, 0xFFF8000000000001ull), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F32, 0xFFC00000u), 0x7FFFFFFFu);
}

/* No double rounding: a value just above a tie of the target stays above it
 * even where f32 (or a double) would land exactly on the tie. */
Test(dtype_conv, no_double_rounding_from_f64)
{
    double x = 1 + 0x1p-4 + 0x1p-40; /* e4m3 tie 1 | 1.125, plus a hair */
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, x), 0x39);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_F32, f32_bits((float)x)), 0x38);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 1 + 0x1p-4), 0x38);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 1 + 3 * 0x1p-4), 0x3A);
    cr_assert_eq(vm_encode(VM_DT_F8E4M3, 1 + 0x1p-4 - 0x1p-40), 0x38);
    cr_assert_eq(vm_encode(VM_DT_F16, 1 + 0x1p-11 + 0x1p-40), 0x3C01);
    cr_assert_eq(vm_encode(VM_DT_F16, 1 + 0x1p-11), 0x3C00);
    cr_assert_eq(vm_encode(VM_DT_BF16, 1 + 0x1p-8 + 0x1p-30), 0x3F81);
    cr_assert_eq(vm_encode(VM_DT_BF16, 1 + 0x1p-8), 0x3F80);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 5 + 0x1p-30), 0x7);
    cr_assert_eq(vm_encode(VM_DT_F4E2M1, 5 - 0x1p-30), 0x6);
    cr_assert_eq(vm_encode(VM_DT_F6E3M2, 0x1p-5 + 0x1p-50), 0x1); /* tie 0 | 2^-4, plus */
    cr_assert_eq(vm_encode(VM_DT_F6E3M2, 0x1p-5), 0x0);
}

/* f32 against the hardware double -> float conversion. */
Test(dtype_conv, f32_vs_hardware)
{
    rng_state = 2;
    for (int k = 0; k < 200000; k++) {
        double x;
        uint64_t r = rng();
        if (k % 3 == 0) {
            memcpy(&x, &r, sizeof x);
            if (isnan(x))
                continue;
        } else {
            x = ldexp((double)(r >> 11) * 0x1p-53 + 1, (int)(rng() % 300) - 160);
            if (k % 2)
                x = -x;
        }
        cr_assert_eq(vm_encode(VM_DT_F32, x), f32_bits((float)x), "%a", x);
    }
    /* ties of f32 at random codes: the midpoint is a double */
    for (int k = 0; k < 100000; k++) {
        uint32_t c = (uint32_t)rng() & 0x7F7FFFFEu;
        float lo, hi;
        uint32_t c1 = c + 1;
        memcpy(&lo, &c, 4);
        memcpy(&hi, &c1, 4);
        double mid = ((double)lo + (double)hi) / 2;
        cr_assert_eq(vm_encode(VM_DT_F32, mid), (c & 1) ? c1 : c, "%a", mid);
        cr_assert_eq(vm_encode(VM_DT_F32, nextafter(mid, INFINITY)), c1, "%a", mid);
        cr_assert_eq(vm_encode(VM_DT_F32, nextafter(mid, 0)), c, "%a", mid);
    }
}

/* f64 to itself is the identity on every non-NaN code, subnormals included. */
Test(dtype_conv, f64_identity)
{
    rng_state = 4;
    for (int k = 0; k < 100000; k++) {
        uint64_t c = rng();
        if (k % 4 == 0)
            c &= 0x800FFFFFFFFFFFFFull; /* subnormals */
        double x;
        memcpy(&x, &c, sizeof x);
        if (isnan(x))
            continue;
        cr_assert_eq(vm_encode(VM_DT_F64, x), c, "0x%llx", (unsigned long long)c);
        cr_assert_eq(vm_decode(VM_DT_F64, c), x);
    }
}

#ifdef __FLT16_MAX__
/* f16 against the compiler's _Float16 conversions (libgcc, correctly rounded). */
static Code f16_bits(_Float16 h)
{
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

Test(dtype_conv, f16_vs_compiler)
{
    rng_state = 3;
    for (int k = 0; k < 200000; k++) {
        double x = ldexp((double)(rng() >> 11) * 0x1p-53 + 1, (int)(rng() % 50) - 30);
        if (k % 2)
            x = -x;
        cr_assert_eq(vm_encode(VM_DT_F16, x), f16_bits((_Float16)x), "%a", x);
        float xf = (float)x;
        cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(xf)), f16_bits((_Float16)xf), "%a",
                     (double)xf);
    }
    for (Code c = 0; c < 65536; c++) {
        uint16_t u = (uint16_t)c;
        _Float16 h;
        memcpy(&h, &u, 2);
        double want = (double)h;
        if (!isnan(want))
            cr_assert_eq(vm_decode(VM_DT_F16, c), want, "0x%x", (unsigned)c);
    }
}
#endif

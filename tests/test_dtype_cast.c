/* tests/test_dtype_cast.c - casts involving integers and bool, and NaN/inf
 * mapping between float formats (suite dtype_conv).
 *
 * Hand-written expectations first; then random values against references
 * built from C: rint (round to nearest even in the default mode) with a
 * clamp for float -> int, a clamp for int -> int, and the hardware
 * i64 -> float conversion (one rounding) for int -> f32/f64. */
#include <criterion/criterion.h>
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

static Code f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static Code i64_code(int64_t v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static uint64_t mask(Dtype dt)
{
    int b = vm_dtype_bits(dt);
    return b == 64 ? ~0ull : (1ull << b) - 1;
}

/* the code of integer v in dt (v in range) */
static Code icode(Dtype dt, int64_t v) { return i64_code(v) & mask(dt); }

Test(dtype_conv, float_to_int_by_hand)
{
    cr_assert_eq(vm_encode(VM_DT_I8, 0.5), 0);
    cr_assert_eq(vm_encode(VM_DT_I8, 1.5), 2);
    cr_assert_eq(vm_encode(VM_DT_I8, 2.5), 2);
    cr_assert_eq(vm_encode(VM_DT_I8, 3.5), 4);
    cr_assert_eq(vm_encode(VM_DT_I8, -2.5), icode(VM_DT_I8, -2));
    cr_assert_eq(vm_encode(VM_DT_I8, -0.5), 0);
    cr_assert_eq(vm_encode(VM_DT_I8, -0.0), 0);
    cr_assert_eq(vm_encode(VM_DT_I8, -1.5), icode(VM_DT_I8, -2));
    cr_assert_eq(vm_encode(VM_DT_I8, 2.500001), 3);
    cr_assert_eq(vm_encode(VM_DT_I8, 127.5), 127);
    cr_assert_eq(vm_encode(VM_DT_I8, -128.5), 0x80);
    cr_assert_eq(vm_encode(VM_DT_I8, 300), 0x7F);
    cr_assert_eq(vm_encode(VM_DT_I8, -300), 0x80);
    cr_assert_eq(vm_encode(VM_DT_I8, NAN), 0);
    cr_assert_eq(vm_encode(VM_DT_I8, INFINITY), 0x7F);
    cr_assert_eq(vm_encode(VM_DT_I8, -INFINITY), 0x80);
    cr_assert_eq(vm_encode(VM_DT_I8, 0x1p-1074), 0);

    cr_assert_eq(vm_encode(VM_DT_U3, 7.4), 7);
    cr_assert_eq(vm_encode(VM_DT_U3, 7.5), 7);
    cr_assert_eq(vm_encode(VM_DT_U3, 6.5), 6);
    cr_assert_eq(vm_encode(VM_DT_U3, 5.5), 6);
    cr_assert_eq(vm_encode(VM_DT_U3, -0.4), 0);
    cr_assert_eq(vm_encode(VM_DT_U3, -3), 0);
    cr_assert_eq(vm_encode(VM_DT_U3, 100), 7);
    cr_assert_eq(vm_encode(VM_DT_U3, INFINITY), 7);
    cr_assert_eq(vm_encode(VM_DT_U3, -INFINITY), 0);
    cr_assert_eq(vm_encode(VM_DT_U3, NAN), 0);

    cr_assert_eq(vm_encode(VM_DT_I3, 3.5), 3);
    cr_assert_eq(vm_encode(VM_DT_I3, 2.5), 2);
    cr_assert_eq(vm_encode(VM_DT_I3, 1.5), 2);
    cr_assert_eq(vm_encode(VM_DT_I3, -1.5), 6);  /* -2 */
    cr_assert_eq(vm_encode(VM_DT_I3, -3.5), 4);  /* -4 */
    cr_assert_eq(vm_encode(VM_DT_I3, -4.5), 4);  /* -4 */
    cr_assert_eq(vm_encode(VM_DT_I3, -5), 4);
    cr_assert_eq(vm_encode(VM_DT_I3, -0.6), 7);  /* -1 */

    cr_assert_eq(vm_encode(VM_DT_I1, -0.5), 0);
    cr_assert_eq(vm_encode(VM_DT_I1, -0.6), 1); /* -1 */
    cr_assert_eq(vm_encode(VM_DT_I1, 0.7), 0);  /* saturates at 0 */
    cr_assert_eq(vm_encode(VM_DT_I1, -7), 1);
    cr_assert_eq(vm_encode(VM_DT_U1, 0.5), 0);
    cr_assert_eq(vm_encode(VM_DT_U1, 0.6), 1);
    cr_assert_eq(vm_encode(VM_DT_U1, 1.5), 1);
    cr_assert_eq(vm_encode(VM_DT_U1, 2), 1);

    cr_assert_eq(vm_encode(VM_DT_I32, 2147483647.5), 0x7FFFFFFFu);
    cr_assert_eq(vm_encode(VM_DT_I32, 2147483646.5), 0x7FFFFFFEu);
    cr_assert_eq(vm_encode(VM_DT_I32, -2147483648.5), 0x80000000u);
    cr_assert_eq(vm_encode(VM_DT_I32, -2147483649.5), 0x80000000u);
    cr_assert_eq(vm_encode(VM_DT_U32, 4294967295.5), 0xFFFFFFFFu);
    cr_assert_eq(vm_encode(VM_DT_U32, 4294967294.5), 0xFFFFFFFEu);
    cr_assert_eq(vm_encode(VM_DT_U64, 0x1p64), ~0ull);
    cr_assert_eq(vm_encode(VM_DT_U64, 0x1p63), 0x8000000000000000ull);
    cr_assert_eq(vm_encode(VM_DT_U64, 0x1.FFFFFFFFFFFFFp63), 0xFFFFFFFFFFFFF800ull);
    cr_assert_eq(vm_encode(VM_DT_U64, 1e30), ~0ull);
    cr_assert_eq(vm_encode(VM_DT_U64, -1), 0);
    cr_assert_eq(vm_encode(VM_DT_I64, 0x1p63), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_encode(VM_DT_I64, -0x1p63), 0x8000000000000000ull);
    cr_assert_eq(vm_encode(VM_DT_I64, -0x1p64), 0x8000000000000000ull);
    cr_assert_eq(vm_encode(VM_DT_I64, -1e300), 0x8000000000000000ull);
    cr_assert_eq(vm_encode(VM_DT_I64, 0x1p51 + 0.5), 0x8000000000000ull);
    cr_assert_eq(vm_encode(VM_DT_I64, 0x1p51 + 1.5), 0x8000000000002ull);
    cr_assert_eq(vm_encode(VM_DT_I64, -(0x1p51 + 2.5)), icode(VM_DT_I64, -0x8000000000002ll));
    cr_assert_eq(vm_encode(VM_DT_I64, 0x1p62 + 0x1p10), 0x4000000000000400ull);
}

Test(dtype_conv, float_sources_to_int)
{
    cr_assert_eq(vm_cast(VM_DT_I16, VM_DT_F32, f32_bits(-2.5f)), 0xFFFE);
    cr_assert_eq(vm_cast(VM_DT_I16, VM_DT_F32, f32_bits(16777216.0f)), 0x7FFF);
    cr_assert_eq(vm_cast(VM_DT_I32, VM_DT_F32, f32_bits(16777216.0f)), 0x1000000);
    cr_assert_eq(vm_cast(VM_DT_I32, VM_DT_F32, f32_bits(3e9f)), 0x7FFFFFFF);
    cr_assert_eq(vm_cast(VM_DT_U32, VM_DT_F32, f32_bits(3e9f)), 3000000000u);
    cr_assert_eq(vm_cast(VM_DT_I16, VM_DT_F16, 0x7BFF), 0x7FFF);  /* 65504 */
    cr_assert_eq(vm_cast(VM_DT_U16, VM_DT_F16, 0x7BFF), 0xFFE0);
    cr_assert_eq(vm_cast(VM_DT_U8, VM_DT_F16, 0x7C00), 0xFF);     /* inf */
    cr_assert_eq(vm_cast(VM_DT_U8, VM_DT_F16, 0x7E00), 0);        /* NaN */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F16, 0x3E00), 2);        /* 1.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F16, 0x4100), 2);        /* 2.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_BF16, 0xC020), 0xFE);    /* -2.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F4E2M1, 0x3), 2);        /* 1.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F4E2M1, 0x1), 0);        /* 0.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F4E2M1, 0xB), 0xFE);     /* -1.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F4E2M1, 0xF), 0xFA);     /* -6 */
    cr_assert_eq(vm_cast(VM_DT_U3, VM_DT_F4E2M1, 0x7), 6);
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_F4E2M1, 0x7), 3);
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F8E4M3, 0x42), 2);       /* 2.5 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F8E4M3, 0x7E), 0x7F);    /* 448 */
    cr_assert_eq(vm_cast(VM_DT_I16, VM_DT_F8E4M3, 0xFE), icode(VM_DT_I16, -448));
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F8E4M3, 0x7F), 0);       /* NaN */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F8E5M2, 0x7C), 0x7F);    /* inf */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_F8E5M2, 0xFC), 0x80);
    cr_assert_eq(vm_cast(VM_DT_U8, VM_DT_F8E5M2, 0xFC), 0);
    cr_assert_eq(vm_cast(VM_DT_U64, VM_DT_F8E7M0, 0x7F), ~0ull);  /* 2^64 */
    cr_assert_eq(vm_cast(VM_DT_U64, VM_DT_F8E7M0, 0x7E), 0x8000000000000000ull);
}

/* Random doubles against rint + clamp for every integer dtype up to 32 bits. */
Test(dtype_conv, float_to_int_vs_rint)
{
    rng_state = 11;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        if (!vm_dtype_is_int(dt) || vm_dtype_bits(dt) > 32)
            continue;
        double lo = vm_dtype_min(dt), hi = vm_dtype_max(dt);
        for (int k = 0; k < 5000; k++) {
            double span = (hi - lo + 4) * 1.5;
            double x = lo - span / 6 + span * (double)(rng() >> 11) * 0x1p-53;
            if (k % 4 == 0)
                x = floor(x) + 0.5; /* ties */
            double r = rint(x);
            r = r < lo ? lo : r > hi ? hi : r;
            Code want = icode(dt, (int64_t)r);
            cr_assert_eq(vm_encode(dt, x), want, "%s %a", vm_dtype_name(dt), x);
            float xf = (float)x;
            double rf = rint(xf);
            rf = rf < lo ? lo : rf > hi ? hi : rf;
            cr_assert_eq(vm_cast(dt, VM_DT_F32, f32_bits(xf)), icode(dt, (int64_t)rf), "%s %a",
                         vm_dtype_name(dt), (double)xf);
        }
    }
}

Test(dtype_conv, int_to_int_by_hand)
{
    cr_assert_eq(vm_cast(VM_DT_U8, VM_DT_I32, 0xFFFFFFFFu), 0);
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_U8, 200), 0x7F);
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_I16, 0xFF38), 0x80); /* -200 */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_I16, 0xFF85), 0x85); /* -123 */
    cr_assert_eq(vm_cast(VM_DT_I64, VM_DT_U64, ~0ull), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_cast(VM_DT_U64, VM_DT_I64, 0x8000000000000000ull), 0);
    cr_assert_eq(vm_cast(VM_DT_U64, VM_DT_I64, 0x7FFFFFFFFFFFFFFFull), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_cast(VM_DT_U3, VM_DT_U64, ~0ull), 7);
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_I8, 0xFB), 4); /* -5 -> -4 */
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_I8, 3), 3);
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_I8, 4), 3);
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_I8, 0xFD), 5); /* -3 */
    cr_assert_eq(vm_cast(VM_DT_I1, VM_DT_I8, 0xFF), 1); /* -1 */
    cr_assert_eq(vm_cast(VM_DT_I1, VM_DT_I8, 1), 0);
    cr_assert_eq(vm_cast(VM_DT_U1, VM_DT_I8, 0xFF), 0);
    cr_assert_eq(vm_cast(VM_DT_U1, VM_DT_I8, 5), 1);
    cr_assert_eq(vm_cast(VM_DT_I32, VM_DT_U32, 0x80000000u), 0x7FFFFFFFu);
    cr_assert_eq(vm_cast(VM_DT_I64, VM_DT_I32, 0x80000000u), 0xFFFFFFFF80000000ull);
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_I3, 4), 0xFC);
    cr_assert_eq(vm_cast(VM_DT_U3, VM_DT_I3, 7), 0);
    cr_assert_eq(vm_cast(VM_DT_I3, VM_DT_U3, 7), 3);
    cr_assert_eq(vm_cast(VM_DT_U8, VM_DT_U3, 0xF9), 1);  /* bits above the width ignored */
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_I5, 0x10), 0xF0); /* -16 */
    cr_assert_eq(vm_decode_int(VM_DT_I3, 4), -4);
    cr_assert_eq(vm_decode_int(VM_DT_I3, 3), 3);
    cr_assert_eq(vm_decode_int(VM_DT_I1, 1), -1);
    cr_assert_eq(vm_decode_int(VM_DT_I64, 0x8000000000000000ull), INT64_MIN);
    cr_assert_eq(vm_decode_int(VM_DT_U8, 0x1FF), 255);
    cr_assert_eq(vm_decode_int(VM_DT_U64, ~0ull), INT64_MAX); /* saturating cast */
    cr_assert_eq(vm_decode_int(VM_DT_F32, f32_bits(-2.5f)), -2);
    cr_assert_eq(vm_decode_uint(VM_DT_U64, ~0ull), ~0ull);
    cr_assert_eq(vm_decode_uint(VM_DT_U5, 0xFF), 31);
    cr_assert_eq(vm_decode_uint(VM_DT_I8, 0xFF), 0);
    cr_assert_eq(vm_decode(VM_DT_I5, 0x11), -15);
    cr_assert_eq(vm_decode(VM_DT_U7, 0x7F), 127);
}

static int64_t clamp(int64_t v, Dtype dt)
{
    int64_t lo = (int64_t)vm_dtype_min(dt);
    if (v < lo)
        return lo;
    int b = vm_dtype_bits(dt);
    if (vm_dtype_is_signed(dt) && b < 64 && v > (int64_t)((1ull << (b - 1)) - 1))
        return (int64_t)((1ull << (b - 1)) - 1);
    if (!vm_dtype_is_signed(dt) && b < 63 && v > (int64_t)((1ull << b) - 1))
        return (int64_t)((1ull << b) - 1);
    return v;
}

/* Every pair of integer dtypes, random source codes, against a clamp. */
Test(dtype_conv, int_to_int_vs_clamp)
{
    rng_state = 12;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype from = (Dtype)i;
        if (!vm_dtype_is_int(from))
            continue;
        for (int j = 0; j < VM_NDTYPES; j++) {
            Dtype to = (Dtype)j;
            if (!vm_dtype_is_int(to))
                continue;
            for (int k = 0; k < 300; k++) {
                Code c = rng() & mask(from);
                Code got = vm_cast(to, from, c);
                if (!vm_dtype_is_signed(from) && vm_decode_uint(from, c) > (uint64_t)INT64_MAX) {
                    Code want = vm_dtype_is_signed(to) ? mask(to) >> 1 : mask(to);
                    if (to == VM_DT_U64)
                        want = c;
                    cr_assert_eq(got, want, "%s->%s", vm_dtype_name(from), vm_dtype_name(to));
                    continue;
                }
                int64_t v = vm_decode_int(from, c);
                if (to == VM_DT_U64 && v >= 0) {
                    cr_assert_eq(got, (Code)v);
                    continue;
                }
                cr_assert_eq(got, icode(to, clamp(v, to)), "%s->%s %lld", vm_dtype_name(from),
                             vm_dtype_name(to), (long long)v);
            }
        }
    }
}

/* u64/i64 -> f32 and f64 round once; through a double would round twice. */
Test(dtype_conv, int_to_float_single_rounding)
{
    Code u = 0x8000008000000001ull; /* 2^63 + 2^39 + 1: above the f32 tie */
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U64, u), 0x5F000001u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F64, f64_bits((double)u)), 0x5F000000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U64, 0x8000008000000000ull), 0x5F000000u); /* tie */
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U64, 0x8000018000000000ull), 0x5F000002u); /* tie up */
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I64, i64_code(-(int64_t)0x4000004000000001ll)),
                 0xDE800001u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U64, ~0ull), 0x5F800000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I64, 0x8000000000000000ull), 0xDF000000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I32, 16777217), 0x4B800000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I32, 16777219), 0x4B800002u);
    cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_U64, 0x20000000000001ull), 0x4340000000000000ull);
    cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_U64, 0x20000000000003ull), 0x4340000000000002ull);
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_U64, 0x8080000000000001ull), 0x5F01);
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_U64, 0x8080000000000000ull), 0x5F00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_U32, 2049), 0x6800);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_U32, 2051), 0x6802);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_I32, 65519), 0x7BFF);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_I32, 65520), 0x7C00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_I32, icode(VM_DT_I32, -70000)), 0xFC00);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_I32, 17), 0x58);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_I32, 19), 0x5A);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_I32, 1000), 0x7E);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_I32, icode(VM_DT_I32, -1000)), 0xFE);
    cr_assert_eq(vm_cast(VM_DT_F8E5M2, VM_DT_U64, ~0ull), 0x7B);
    cr_assert_eq(vm_cast(VM_DT_F4E2M1, VM_DT_U8, 255), 0x7);
    cr_assert_eq(vm_cast(VM_DT_F4E2M1, VM_DT_U8, 5), 0x6);
    cr_assert_eq(vm_cast(VM_DT_F4E2M1, VM_DT_I3, 4), 0xE); /* -4 */
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I1, 1), 0xBF800000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U3, 0xF), 0x40E00000u); /* 7, high bits ignored */
}

/* Random 64-bit integers against the hardware conversion (one rounding). */
Test(dtype_conv, int_to_float_vs_hardware)
{
    rng_state = 13;
    for (int k = 0; k < 100000; k++) {
        uint64_t r = rng() >> (rng() % 64);
        int64_t s = (int64_t)r * ((k & 1) ? -1 : 1);
        cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_U64, r), f32_bits((float)r), "%llu",
                     (unsigned long long)r);
        cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_U64, r), f64_bits((double)r));
        cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_I64, i64_code(s)), f32_bits((float)s), "%lld",
                     (long long)s);
        cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_I64, i64_code(s)), f64_bits((double)s));
    }
}

Test(dtype_conv, bool_casts)
{
    cr_assert_eq(vm_encode(VM_DT_BOOL, NAN), 1);
    cr_assert_eq(vm_encode(VM_DT_BOOL, -0.0), 0);
    cr_assert_eq(vm_encode(VM_DT_BOOL, 0.0), 0);
    cr_assert_eq(vm_encode(VM_DT_BOOL, 0x1p-1074), 1);
    cr_assert_eq(vm_encode(VM_DT_BOOL, -INFINITY), 1);
    cr_assert_eq(vm_encode(VM_DT_BOOL, -3), 1);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_F4E2M1, 0x8), 0);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_F4E2M1, 0x9), 1);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_I8, 0x80), 1);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_U64, 1ull << 63), 1);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_I8, 0), 0);
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_F8E4M3, 0x7F), 1);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_BOOL, 1), 0x3F800000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_BOOL, 0x40), 0x3F800000u);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_BOOL, 0), 0);
    cr_assert_eq(vm_cast(VM_DT_I8, VM_DT_BOOL, 1), 1);
    cr_assert_eq(vm_cast(VM_DT_I1, VM_DT_BOOL, 1), 0); /* i1 holds {-1, 0}: saturates */
    cr_assert_eq(vm_cast(VM_DT_BOOL, VM_DT_BOOL, 7), 1);
    cr_assert_eq(vm_decode(VM_DT_BOOL, 1), 1.0);
    cr_assert_eq(vm_decode(VM_DT_BOOL, 0), 0.0);
    cr_assert_eq(vm_decode_int(VM_DT_BOOL, 1), 1);
}

Test(dtype_conv, nan_and_inf_between_floats)
{
    for (Code c = 0x7F; c <= 0xFF; c += 0x80) {
        cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E4M3, c), 0x7FFF);
        cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F8E4M3, c), 0x7FFF);
        cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F8E4M3, c), 0x7FFFFFFFu);
        cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_F8E4M3, c), 0x7FFFFFFFFFFFFFFFull);
        cr_assert_eq(vm_cast(VM_DT_F8E5M2, VM_DT_F8E4M3, c), 0x7F);
        cr_assert_eq(vm_cast(VM_DT_F4E2M1, VM_DT_F8E4M3, c), 0x7);
    }
    for (Code c = 0x7D; c <= 0x7F; c++) {
        cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E5M2, c), 0x7FFF);
        cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E5M2, c | 0x80), 0x7FFF);
        cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_F8E5M2, c), 0x7F);
        cr_assert_eq(vm_cast(VM_DT_F6E3M2, VM_DT_F8E5M2, c), 0x1F);
    }
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E5M2, 0x7C), 0x7C00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E5M2, 0xFC), 0xFC00);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F8E5M2, 0x7C), 0x7F800000u);
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F8E5M2, 0xFC), 0xFF80);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_F8E5M2, 0x7C), 0x7E);
    cr_assert_eq(vm_cast(VM_DT_F8E4M3, VM_DT_F8E5M2, 0xFC), 0xFE);
    cr_assert_eq(vm_cast(VM_DT_F4E2M1, VM_DT_F8E5M2, 0xFC), 0xF);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E5M2, 0x7B), 0x7B00); /* 57344 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E4M3, 0x7E), 0x5F00); /* 448 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E7M0, 0x7F), 0x7C00); /* 2^64 overflows f16 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E7M0, 0x4E), 0x7800); /* 2^15 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E7M0, 0x4F), 0x7C00); /* 2^16 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F8E7M0, 0x01), 0x0000); /* 2^-62 underflows */
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F8E7M0, 0x7F), 0x5F80);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F8E7M0, 0x7F), 0x5F800000u);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F6E5M0, 0x1F), 0x7C00); /* 2^16 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F7E5M1, 0x3F), 0x7C00); /* 1.5 * 2^16 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F7E5M1, 0x3D), 0x7A00); /* 1.5 * 2^15 */
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(65520.0f)), 0x7C00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(nextafterf(65520.0f, 0))), 0x7BFF);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(1e10f)), 0x7C00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(-INFINITY)), 0xFC00);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, 0x7FC00001u), 0x7FFF);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(0x1p-25f)), 0x0000);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(0x1.000002p-25f)), 0x0001);
    cr_assert_eq(vm_cast(VM_DT_F16, VM_DT_F32, f32_bits(-0x1p-25f)), 0x8000);
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F32, 0x3F808000u), 0x3F80); /* tie, even */
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F32, 0x3F818000u), 0x3F82); /* tie, even */
    cr_assert_eq(vm_cast(VM_DT_BF16, VM_DT_F32, 0x3F808001u), 0x3F81);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F16, 0x0001), 0x33800000u); /* 2^-24 */
    cr_assert_eq(vm_cast(VM_DT_F64, VM_DT_F32, 0x00000001u), 0x36A0000000000000ull);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F64, 0x36A0000000000000ull), 1);
    cr_assert_eq(vm_cast(VM_DT_F32, VM_DT_F64, 0x3690000000000000ull), 0); /* 2^-150 tie */
}

/* tests/test_dtype.c - the dtype table and its value properties.
 *
 * Expected values are written out by hand from the format definitions
 * (bias 2^(E-1)-1, subnormals, the e4m3/e5m2 specials), then cross-checked
 * against a brute-force scan of every code. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vm/vm.h"

static Dtype parse(const char *s) { return vm_dtype_parse(s, strlen(s)); }

Test(dtype, every_name_parses_back)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        const char *n = vm_dtype_name((Dtype)i);
        cr_assert_eq(parse(n), (Dtype)i, "%s", n);
        cr_assert_eq(vm_dtype_info((Dtype)i)->bits, vm_dtype_bits((Dtype)i));
    }
    cr_assert_eq(VM_NDTYPES, 1 + 11 + 11 + 4 + 27);
}

Test(dtype, parse_known_and_unknown)
{
    cr_assert_eq(parse("bool"), VM_DT_BOOL);
    cr_assert_eq(parse("u3"), VM_DT_U3);
    cr_assert_eq(parse("i64"), VM_DT_I64);
    cr_assert_eq(parse("bf16"), VM_DT_BF16);
    cr_assert_eq(parse("f8e4m3"), VM_DT_F8E4M3);
    cr_assert_eq(parse("f8e5m2"), VM_DT_F8E5M2);
    cr_assert_eq(parse("f3e1m1"), VM_DT_F3E1M1);
    cr_assert_eq(vm_dtype_parse("f16x", 3), VM_DT_F16);
    cr_assert_eq(vm_dtype_parse("f16", 2), VM_DT_INVALID);
    cr_assert_eq(parse("f9e4m4"), VM_DT_INVALID);
    cr_assert_eq(parse("f8e4m"), VM_DT_INVALID);
    cr_assert_eq(parse("u9"), VM_DT_INVALID);
    cr_assert_eq(parse("i0"), VM_DT_INVALID);
    cr_assert_eq(parse("f2e1m0"), VM_DT_INVALID);
    cr_assert_eq(parse(""), VM_DT_INVALID);
    cr_assert_eq(parse("F16"), VM_DT_INVALID);
    cr_assert_null(vm_dtype_info(VM_DT_INVALID));
    cr_assert_null(vm_dtype_info(VM_NDTYPES));
}

/* Every narrow float f{b}e{E}m{M} with 3 <= b <= 8 is in the table once. */
Test(dtype, narrow_floats_complete)
{
    int n = 0;
    for (int bits = 3; bits <= 8; bits++)
        for (int e = 1; e <= bits - 1; e++) {
            int m = bits - 1 - e;
            char name[16];
            snprintf(name, sizeof name, "f%de%dm%d", bits, e, m);
            Dtype dt = parse(name);
            cr_assert_neq(dt, VM_DT_INVALID, "%s", name);
            const DtypeInfo *d = vm_dtype_info(dt);
            cr_assert_eq(d->kind, VM_FLOAT, "%s", name);
            cr_assert_eq(d->bits, bits, "%s", name);
            cr_assert_eq(d->ebits, e, "%s", name);
            cr_assert_eq(d->mbits, m, "%s", name);
            n++;
        }
    cr_assert_eq(n, 27);
}

Test(dtype, kinds_and_widths)
{
    cr_assert_eq(vm_dtype_bits(VM_DT_BOOL), 8);
    cr_assert_eq(vm_dtype_info(VM_DT_BOOL)->kind, VM_BOOL);
    for (int w = 1; w <= 8; w++) {
        char u[8], i[8];
        snprintf(u, sizeof u, "u%d", w);
        snprintf(i, sizeof i, "i%d", w);
        cr_assert_eq(vm_dtype_bits(parse(u)), w);
        cr_assert_eq(vm_dtype_bits(parse(i)), w);
        cr_assert(vm_dtype_is_int(parse(u)) && !vm_dtype_is_signed(parse(u)));
        cr_assert(vm_dtype_is_int(parse(i)) && vm_dtype_is_signed(parse(i)));
    }
    cr_assert_eq(vm_dtype_bits(VM_DT_U64), 64);
    cr_assert_eq(vm_dtype_bits(VM_DT_BF16), 16);
    cr_assert(vm_dtype_is_float(VM_DT_F4E2M1));
    cr_assert(vm_dtype_is_signed(VM_DT_F4E2M1));
    cr_assert(!vm_dtype_is_int(VM_DT_F32));
    cr_assert(!vm_dtype_is_int(VM_DT_BOOL));
    cr_assert(!vm_dtype_is_float(VM_DT_BOOL));
    cr_assert(!vm_dtype_is_signed(VM_DT_BOOL));
}

Test(dtype, nan_and_inf_sets)
{
    const Dtype nan[] = {VM_DT_F16, VM_DT_BF16, VM_DT_F32, VM_DT_F64, VM_DT_F8E4M3, VM_DT_F8E5M2};
    int nnan = 0, ninf = 0;
    for (int i = 0; i < VM_NDTYPES; i++) {
        bool want = false;
        for (size_t k = 0; k < sizeof nan / sizeof nan[0]; k++)
            want |= nan[k] == (Dtype)i;
        cr_assert_eq(vm_dtype_has_nan((Dtype)i), want, "%s", vm_dtype_name((Dtype)i));
        nnan += vm_dtype_has_nan((Dtype)i);
        ninf += vm_dtype_has_inf((Dtype)i);
    }
    cr_assert_eq(nnan, 6);
    cr_assert_eq(ninf, 5);
    cr_assert(vm_dtype_has_inf(VM_DT_F8E5M2));
    cr_assert(!vm_dtype_has_inf(VM_DT_F8E4M3));
    cr_assert(vm_dtype_has_inf(VM_DT_BF16));
}

Test(dtype, canonical_nan)
{
    cr_assert_eq(vm_canonical_nan(VM_DT_F8E4M3), 0x7F);
    cr_assert_eq(vm_canonical_nan(VM_DT_F8E5M2), 0x7F);
    cr_assert_eq(vm_canonical_nan(VM_DT_F16), 0x7FFF);
    cr_assert_eq(vm_canonical_nan(VM_DT_BF16), 0x7FFF);
    cr_assert_eq(vm_canonical_nan(VM_DT_F32), 0x7FFFFFFFu);
    cr_assert_eq(vm_canonical_nan(VM_DT_F64), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(vm_canonical_nan(VM_DT_F4E2M1), 0);
    cr_assert_eq(vm_canonical_nan(VM_DT_I8), 0);
    for (int i = 0; i < VM_NDTYPES; i++)
        if (vm_dtype_has_nan((Dtype)i))
            cr_assert(isnan(vm_decode((Dtype)i, vm_canonical_nan((Dtype)i))), "%s",
                      vm_dtype_name((Dtype)i));
}

typedef struct {
    Dtype dt;
    double min, max, minsub, exact;
} Props;

/* Hand-computed: max = (2 - 2^-M) * 2^(emax - bias) except where noted. */
static const Props props[] = {
    {VM_DT_BOOL, 0, 1, 1, 1},
    {VM_DT_U1, 0, 1, 1, 1},
    {VM_DT_U3, 0, 7, 1, 7},
    {VM_DT_U8, 0, 255, 1, 255},
    {VM_DT_U16, 0, 65535, 1, 65535},
    {VM_DT_U32, 0, 4294967295.0, 1, 4294967295.0},
    {VM_DT_I1, -1, 0, 1, 0},
    {VM_DT_I3, -4, 3, 1, 3},
    {VM_DT_I5, -16, 15, 1, 15},
    {VM_DT_I8, -128, 127, 1, 127},
    {VM_DT_I32, -2147483648.0, 2147483647.0, 1, 2147483647.0},
    {VM_DT_I64, -0x1p63, 0x1p63, 1, 0x1p63}, /* 2^63-1 rounds to 2^63 as a double */
    {VM_DT_U64, 0, 0x1p64, 1, 0x1p64},
    {VM_DT_F16, -65504, 65504, 0x1p-24, 2048},
    {VM_DT_BF16, -0x1.FEp127, 0x1.FEp127, 0x1p-133, 256},
    {VM_DT_F32, -0x1.FFFFFEp127, 0x1.FFFFFEp127, 0x1p-149, 0x1p24},
    {VM_DT_F64, -0x1.FFFFFFFFFFFFFp1023, 0x1.FFFFFFFFFFFFFp1023, 0x1p-1074, 0x1p53},
    {VM_DT_F8E4M3, -448, 448, 0x1p-9, 16},      /* 1.75 * 2^8: S.1111.111 is NaN */
    {VM_DT_F8E5M2, -57344, 57344, 0x1p-16, 8},  /* 1.75 * 2^15: exponent 31 is inf/NaN */
    {VM_DT_F6E3M2, -28, 28, 0.0625, 8},
    {VM_DT_F6E2M3, -7.5, 7.5, 0.125, 7},
    {VM_DT_F4E2M1, -6, 6, 0.5, 4},
    {VM_DT_F3E1M1, -3, 3, 1, 3},
    {VM_DT_F3E2M0, -4, 4, 1, 2},
    {VM_DT_F4E1M2, -3.5, 3.5, 0.5, 3},
    {VM_DT_F4E3M0, -16, 16, 0.25, 2},
    {VM_DT_F5E4M0, -256, 256, 0x1p-6, 2},
    {VM_DT_F8E7M0, -0x1p64, 0x1p64, 0x1p-62, 2},
    {VM_DT_F8E1M6, -3.96875, 3.96875, 1.0 / 32, 3},
    {VM_DT_F8E6M1, -0x1.8p32, 0x1.8p32, 0x1p-31, 4},
    {VM_DT_F8E3M4, -31, 31, 1.0 / 64, 31},
    {VM_DT_F8E2M5, -7.875, 7.875, 1.0 / 32, 7},
    {VM_DT_F7E3M3, -30, 30, 1.0 / 32, 16},
    {VM_DT_F5E2M2, -7, 7, 0.25, 7},
    {VM_DT_F6E5M0, -0x1p16, 0x1p16, 0x1p-14, 2},
    {VM_DT_F7E6M0, -0x1p32, 0x1p32, 0x1p-30, 2},
};

Test(dtype, value_properties_hand)
{
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        const Props *p = &props[i];
        const char *n = vm_dtype_name(p->dt);
        cr_assert_eq(vm_dtype_min(p->dt), p->min, "%s min %g", n, vm_dtype_min(p->dt));
        cr_assert_eq(vm_dtype_max(p->dt), p->max, "%s max %g", n, vm_dtype_max(p->dt));
        cr_assert_eq(vm_dtype_min_subnormal(p->dt), p->minsub, "%s minsub %g", n,
                     vm_dtype_min_subnormal(p->dt));
        cr_assert_eq(vm_dtype_max_exact_int(p->dt), p->exact, "%s exact %g", n,
                     vm_dtype_max_exact_int(p->dt));
    }
}

/* For every float of <= 16 bits, max / min_subnormal / max_exact_int agree
 * with a scan of every code. */
Test(dtype, value_properties_scan)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        const DtypeInfo *d = vm_dtype_info(dt);
        if (d->kind != VM_FLOAT || d->bits > 16)
            continue;
        double max = 0, minpos = INFINITY;
        for (Code c = 0; c < (1u << d->bits); c++) {
            double v = vm_decode(dt, c);
            if (isnan(v) || isinf(v))
                continue;
            if (v > max)
                max = v;
            if (v > 0 && v < minpos)
                minpos = v;
        }
        cr_assert_eq(vm_dtype_max(dt), max, "%s", d->name);
        cr_assert_eq(vm_dtype_min(dt), -max, "%s", d->name);
        cr_assert_eq(vm_dtype_min_subnormal(dt), minpos, "%s", d->name);
        /* every integer up to max_exact_int encodes exactly; the next does not */
        double lim = vm_dtype_max_exact_int(dt);
        for (double k = 0; k <= lim; k++) {
            cr_assert_eq(vm_decode(dt, vm_encode(dt, k)), k, "%s %g", d->name, k);
            cr_assert_eq(vm_decode(dt, vm_encode(dt, -k)), -k, "%s %g", d->name, -k);
        }
        double next = lim + 1;
        cr_assert_neq(vm_decode(dt, vm_encode(dt, next)), next, "%s: %g is exact too", d->name,
                      next);
    }
}

Test(dtype, packed_bytes)
{
    cr_assert_eq(vm_packed_bytes(VM_DT_U3, 8), 3);
    cr_assert_eq(vm_packed_bytes(VM_DT_U3, 3), 2);
    cr_assert_eq(vm_packed_bytes(VM_DT_F4E2M1, 5), 3);
    cr_assert_eq(vm_packed_bytes(VM_DT_F6E3M2, 4), 3);
    cr_assert_eq(vm_packed_bytes(VM_DT_U1, 1), 1);
    cr_assert_eq(vm_packed_bytes(VM_DT_U1, 9), 2);
    cr_assert_eq(vm_packed_bytes(VM_DT_BOOL, 5), 5);
    cr_assert_eq(vm_packed_bytes(VM_DT_F16, 3), 6);
    cr_assert_eq(vm_packed_bytes(VM_DT_U7, 7), 7);
    cr_assert_eq(vm_packed_bytes(VM_DT_I5, 0), 0);
}

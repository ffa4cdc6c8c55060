/* tests/test_dtype_arith.c - scalar arithmetic on codes (vm_binop, vm_fma).
 *
 * Hand-checked cases for every rule of VM.md 3 (wrap-around, shifts past
 * the width, division by zero, narrow-float rounding and saturation, IEEE
 * specials), then exhaustive or random checks against references written
 * from the definitions: integer ops on exact int64 values reduced modulo
 * 2^n; narrow floats as "f32 result, then the brute-force nearest code";
 * f16 against float arithmetic rounded to _Float16 (24 >= 2*11+2 bits,
 * so that double rounding is harmless) and fma against long double. */
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

static float f32_of(Code c)
{
    uint32_t u = (uint32_t)c;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static Code f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static Code bin(VmBinop op, Dtype dt, Code a, Code b) { return vm_binop(op, dt, a, b); }
static Code enc(Dtype dt, double v) { return vm_encode(dt, v); }

/* ---- integers */

Test(dtype_arith, wrap_around_narrow)
{
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_U3, 5, 6), 3);
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_U3, 2, 3), 7);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_U3, 5, 3), 7);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_U3, 4, 2), 0);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I3, 3, 1), 4);   /* 3 + 1 = -4 */
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_I3, 4, 1), 3);   /* -4 - 1 = 3 */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_I3, 6, 6), 4);   /* -2 * -2 = 4 = -4 */
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I5, 15, 1), 0x10); /* -16 */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_I5, 0x10, 0x1F), 0x10); /* -16 * -1 */
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_I5, 0, 0x10), 0x10);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I8, 127, 1), 0x80);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_I8, 100, 3), 44);
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_I8, 0x80, 1), 0x7F);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_U8, 200, 100), 44);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_U1, 1, 1), 0);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I1, 1, 1), 0);   /* -1 + -1 = -2 = 0 */
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_U3, 0xFD, 0xFE), 3); /* bits above the width ignored */
}

Test(dtype_arith, wrap_around_64)
{
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_U64, ~0ull, 1), 0);
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_U64, 0, 1), ~0ull);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_U64, 1ull << 63, 2), 0);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_U64, 0x100000001ull, 0xFFFFFFFFull), ~0ull);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I64, 0x7FFFFFFFFFFFFFFFull, 1), 0x8000000000000000ull);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I64, 0x8000000000000000ull, ~0ull), 0x8000000000000000ull);
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I64, 0x8000000000000000ull, ~0ull), 0);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_U64, ~0ull, 2), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I64, ~0ull, 2), 0); /* -1 / 2 truncates */
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_I64, ~0ull, 1), ~0ull);
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_U64, ~0ull, 1), 1);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_I32, 0x7FFFFFFF, 1), 0x80000000u);
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_U32, 0x10000, 0x10000), 0);
    cr_assert_eq(vm_fma(VM_DT_U64, 1ull << 32, 1ull << 32, 5), 5);
    cr_assert_eq(vm_fma(VM_DT_I8, 0xFF, 0x80, 1), 0x81); /* -1 * -128 + 1 = 129 = -127 */
    cr_assert_eq(vm_fma(VM_DT_U3, 3, 3, 7), 0);
}

Test(dtype_arith, division)
{
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I8, 0xF9, 2), 0xFD); /* -7 / 2 = -3 */
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I8, 0xF9, 3), 0xFF); /* -7 % 3 = -1 */
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I8, 7, 0xFD), 1);    /* 7 % -3 = 1 */
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I8, 7, 0xFD), 0xFE); /* 7 / -3 = -2 */
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I8, 0x80, 0xFF), 0x80); /* -128 / -1 wraps */
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I8, 0x80, 0xFF), 0);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I3, 4, 7), 4);       /* -4 / -1 wraps */
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_I8, 5, 0), 0);
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I8, 5, 0), 5);
    cr_assert_eq(bin(VM_OP_REM, VM_DT_I8, 0xFB, 0), 0xFB);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_U8, 200, 0), 0);
    cr_assert_eq(bin(VM_OP_REM, VM_DT_U8, 200, 0), 200);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_U8, 200, 7), 28);
    cr_assert_eq(bin(VM_OP_REM, VM_DT_U8, 200, 7), 4);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_U3, 7, 2), 3);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_U64, 5, 0), 0);
}

Test(dtype_arith, shifts_past_width)
{
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U8, 1, 7), 0x80);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U8, 1, 8), 0);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U8, 0xFF, 200), 0);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_U8, 0x80, 7), 1);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_U8, 0x80, 8), 0);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I8, 0x80, 8), 0xFF);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I8, 0x80, 100), 0xFF);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I8, 0x80, 1), 0xC0);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I8, 64, 9), 0);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_I8, 1, 7), 0x80);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_I8, 1, 0xFF), 0);    /* negative count */
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I8, 0x80, 0xFF), 0xFF);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U3, 1, 2), 4);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U3, 1, 3), 0);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U3, 3, 2), 4);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I3, 4, 1), 6);       /* -4 >> 1 = -2 */
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I3, 4, 2), 7);       /* -1 */
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I3, 4, 3), 7);       /* past the width: sign fill */
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I3, 3, 3), 0);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U64, 1, 63), 1ull << 63);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U64, 1, 64), 0);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_U64, ~0ull, 64), 0);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_U64, ~0ull, 63), 1);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I64, 1ull << 63, 63), ~0ull);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I64, 1ull << 63, 64), ~0ull);
    cr_assert_eq(bin(VM_OP_SHR, VM_DT_I64, 1ull << 62, 64), 0);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_I32, 3, 31), 0x80000000u);
    cr_assert_eq(bin(VM_OP_SHL, VM_DT_U16, 0xFFFF, 16), 0);
}

Test(dtype_arith, int_min_max_bitwise_bool)
{
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_I3, 4, 3), 4);
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_I3, 4, 3), 3);
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_U3, 7, 0), 0);
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_I8, 0xFF, 1), 1);
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_U8, 0xFF, 1), 0xFF);
    cr_assert_eq(bin(VM_OP_AND, VM_DT_U8, 0xF0, 0x3C), 0x30);
    cr_assert_eq(bin(VM_OP_OR, VM_DT_I5, 0x10, 0x01), 0x11);
    cr_assert_eq(bin(VM_OP_XOR, VM_DT_U3, 5, 3), 6);
    cr_assert_eq(bin(VM_OP_AND, VM_DT_BOOL, 1, 1), 1);
    cr_assert_eq(bin(VM_OP_AND, VM_DT_BOOL, 1, 0), 0);
    cr_assert_eq(bin(VM_OP_OR, VM_DT_BOOL, 0, 1), 1);
    cr_assert_eq(bin(VM_OP_XOR, VM_DT_BOOL, 1, 1), 0);
    cr_assert_eq(bin(VM_OP_XOR, VM_DT_BOOL, 0, 1), 1);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_BOOL, 1, 1), 0); /* bool computes as u1 */
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_BOOL, 0, 1), 1);
    cr_assert_eq(vm_fma(VM_DT_BOOL, 1, 1, 0), 1);
    cr_assert_eq(vm_fma(VM_DT_BOOL, 1, 1, 1), 0);
}

/* Exact value of a code as an integer (test-side sign extension). */
static int64_t ival(Dtype dt, Code c)
{
    int n = vm_dtype_bits(dt);
    c &= (1ull << n) - 1;
    if (vm_dtype_is_signed(dt) && (c >> (n - 1)))
        return (int64_t)c - (int64_t)(1ull << n);
    return (int64_t)c;
}

/* v mod 2^n as a code (v any int64) */
static Code wrap(Dtype dt, int64_t v)
{
    int n = vm_dtype_bits(dt);
    int64_t m = (int64_t)1 << n;
    return (Code)(((v % m) + m) % m);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static Code ref_int(VmBinop op, Dtype dt, Code a, Code b)
{
    int n = vm_dtype_bits(dt);
    int64_t x = ival(dt, a), y = ival(dt, b);
    switch (op) {
    case VM_OP_ADD: return wrap(dt, (int64_t)((uint64_t)x + (uint64_t)y));
    case VM_OP_SUB: return wrap(dt, (int64_t)((uint64_t)x - (uint64_t)y));
    case VM_OP_MUL: return wrap(dt, (int64_t)((uint64_t)x * (uint64_t)y));
    case VM_OP_DIV: return y == 0 ? 0 : wrap(dt, x / y);
    case VM_OP_REM: return y == 0 ? wrap(dt, x) : wrap(dt, x - (x / y) * y);
    case VM_OP_MIN: return wrap(dt, x < y ? x : y);
    case VM_OP_MAX: return wrap(dt, x > y ? x : y);
    case VM_OP_AND: return a & b;
    case VM_OP_OR: return a | b;
    case VM_OP_XOR: return a ^ b;
    case VM_OP_SHL: return (y < 0 || y >= n) ? 0 : wrap(dt, x * ((int64_t)1 << y));
    case VM_OP_SHR:
        if (y < 0 || y >= n)
            return wrap(dt, x < 0 ? -1 : 0);
        return wrap(dt, floor_div(x, (int64_t)1 << y));
    default: return ~0ull;
    }
}

Test(dtype_arith, ints_exhaustive_up_to_8_bits)
{
    int checked = 0;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        int n = vm_dtype_bits(dt);
        if (!vm_dtype_is_int(dt) || n > 8)
            continue;
        for (int op = 0; op < VM_NBINOPS; op++)
            for (Code a = 0; a < (1u << n); a++)
                for (Code b = 0; b < (1u << n); b++, checked++)
                    cr_assert_eq(bin((VmBinop)op, dt, a, b), ref_int((VmBinop)op, dt, a, b),
                                 "%s op %d: 0x%x 0x%x", vm_dtype_name(dt), op, (unsigned)a,
                                 (unsigned)b);
    }
    cr_assert_gt(checked, 12 * 2 * 65536);
}

Test(dtype_arith, ints_random_16_32)
{
    rng_state = 21;
    const Dtype dts[] = {VM_DT_U16, VM_DT_I16, VM_DT_U32, VM_DT_I32};
    for (size_t i = 0; i < 4; i++)
        for (int op = 0; op < VM_NBINOPS; op++)
            for (int k = 0; k < 3000; k++) {
                Code a = rng(), b = rng();
                if (k % 3 == 0)
                    b = rng() % 40; /* shift counts around the width */
                Code mk = (1ull << vm_dtype_bits(dts[i])) - 1;
                cr_assert_eq(bin((VmBinop)op, dts[i], a, b),
                             ref_int((VmBinop)op, dts[i], a & mk, b & mk),
                             "%s op %d", vm_dtype_name(dts[i]), op);
            }
}

/* ---- narrow floats: f32 arithmetic, then one rounding back */

Test(dtype_arith, f4e2m1_by_hand)
{
    Dtype t = VM_DT_F4E2M1;
    cr_assert_eq(bin(VM_OP_ADD, t, enc(t, 1.5), enc(t, 1.5)), enc(t, 3));
    cr_assert_eq(bin(VM_OP_ADD, t, enc(t, 4), enc(t, 1)), enc(t, 4));   /* 5: tie, even */
    cr_assert_eq(bin(VM_OP_ADD, t, enc(t, 4), enc(t, 1.5)), enc(t, 6)); /* 5.5 */
    cr_assert_eq(bin(VM_OP_ADD, t, enc(t, 6), enc(t, 6)), enc(t, 6));   /* saturates */
    cr_assert_eq(bin(VM_OP_SUB, t, enc(t, -6), enc(t, 6)), enc(t, -6));
    cr_assert_eq(bin(VM_OP_MUL, t, enc(t, 6), enc(t, 6)), enc(t, 6));
    cr_assert_eq(bin(VM_OP_MUL, t, enc(t, 0.5), enc(t, 0.5)), 0x0);     /* 0.25: tie to 0 */
    cr_assert_eq(bin(VM_OP_MUL, t, enc(t, -0.5), enc(t, 0.5)), 0x8);    /* -0 */
    cr_assert_eq(bin(VM_OP_MUL, t, enc(t, 1.5), enc(t, 1.5)), enc(t, 2)); /* 2.25 */
    cr_assert_eq(bin(VM_OP_DIV, t, enc(t, 1), enc(t, 3)), enc(t, 0.5));  /* 0.333 */
    cr_assert_eq(bin(VM_OP_DIV, t, enc(t, 1), 0x0), enc(t, 6));          /* inf saturates */
    cr_assert_eq(bin(VM_OP_DIV, t, enc(t, -1), 0x0), enc(t, -6));
    cr_assert_eq(bin(VM_OP_DIV, t, 0x0, 0x0), enc(t, 6));                /* NaN: +max */
    cr_assert_eq(bin(VM_OP_SUB, t, enc(t, 3), enc(t, 3)), 0x0);
    cr_assert_eq(bin(VM_OP_REM, t, enc(t, 6), enc(t, 4)), enc(t, 2));
    cr_assert_eq(bin(VM_OP_REM, t, enc(t, -3), enc(t, 2)), enc(t, -1));
    cr_assert_eq(bin(VM_OP_MIN, t, enc(t, -0.5), enc(t, 3)), enc(t, -0.5));
    cr_assert_eq(bin(VM_OP_MAX, t, 0x8, 0x0), 0x0);
    cr_assert_eq(bin(VM_OP_MIN, t, 0x0, 0x8), 0x8);
    cr_assert_eq(vm_fma(t, enc(t, 1.5), enc(t, 1.5), enc(t, 1)), enc(t, 3)); /* 3.25 */
    cr_assert_eq(vm_fma(t, enc(t, 2), enc(t, 3), enc(t, 0.5)), enc(t, 6));  /* 6.5 saturates */
    cr_assert_eq(vm_fma(t, enc(t, 1.5), enc(t, 3), enc(t, -0.5)), enc(t, 4)); /* exactly 4 */
    cr_assert_eq(bin(VM_OP_XOR, t, 0x7, 0x8), 0xF); /* bitwise acts on the codes */
    cr_assert_eq(bin(VM_OP_SHL, t, 0x3, 2), 0xC);
}

Test(dtype_arith, f8_by_hand)
{
    Dtype a = VM_DT_F8E4M3, b = VM_DT_F8E5M2;
    cr_assert_eq(bin(VM_OP_ADD, a, 0x7E, enc(a, 32)), 0x7E);   /* 480 -> 448 */
    cr_assert_eq(bin(VM_OP_ADD, a, 0x7E, enc(a, 16)), 0x7E);   /* 464 -> 448 */
    cr_assert_eq(bin(VM_OP_MUL, a, 0xFE, enc(a, 2)), 0xFE);
    cr_assert_eq(bin(VM_OP_ADD, a, 0x7F, enc(a, 1)), 0x7F);    /* NaN */
    cr_assert_eq(bin(VM_OP_ADD, a, 0xFF, enc(a, 1)), 0x7F);    /* canonical */
    cr_assert_eq(bin(VM_OP_DIV, a, enc(a, 1), 0x00), 0x7E);    /* inf saturates */
    cr_assert_eq(bin(VM_OP_DIV, a, 0x00, 0x00), 0x7F);
    cr_assert_eq(bin(VM_OP_ADD, a, enc(a, 1), enc(a, 0.0625)), enc(a, 1)); /* tie, even */
    cr_assert_eq(bin(VM_OP_ADD, a, enc(a, 1.125), enc(a, 0.0625)), enc(a, 1.25));
    cr_assert_eq(bin(VM_OP_MUL, a, 0x01, enc(a, 0.5)), 0x00);  /* 2^-10: tie to 0 */
    cr_assert_eq(bin(VM_OP_MUL, a, 0x03, enc(a, 0.5)), 0x02);  /* 1.5 * 2^-9: tie to 2 */
    cr_assert_eq(bin(VM_OP_MUL, b, 0x7B, enc(b, 2)), 0x7B);    /* finite overflow saturates */
    cr_assert_eq(bin(VM_OP_DIV, b, enc(b, 1), 0x00), 0x7C);    /* inf stays inf */
    cr_assert_eq(bin(VM_OP_DIV, b, enc(b, -1), 0x00), 0xFC);
    cr_assert_eq(bin(VM_OP_SUB, b, 0x7C, 0x7C), 0x7F);         /* inf - inf */
    cr_assert_eq(bin(VM_OP_ADD, b, 0x7C, enc(b, 1)), 0x7C);
    cr_assert_eq(bin(VM_OP_ADD, b, 0x7D, enc(b, 1)), 0x7F);
    cr_assert_eq(bin(VM_OP_MIN, b, 0x7D, enc(b, 1)), enc(b, 1)); /* NaN ignored */
    cr_assert_eq(bin(VM_OP_MAX, a, 0x7F, enc(a, -3)), enc(a, -3));
    cr_assert_eq(bin(VM_OP_MAX, a, 0x7F, 0xFF), 0x7F);
    cr_assert_eq(bin(VM_OP_MIN, b, 0xFC, 0x7B), 0xFC);
    cr_assert_eq(vm_fma(a, 0x7E, enc(a, 2), enc(a, -448)), 0x7E); /* 448: f32 keeps 896 */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_F8E7M0, 0x7F, 0x7F), 0x7F); /* 2^128 is inf in f32 */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_F8E7M0, 0x01, 0x01), 0x00); /* 2^-124 underflows */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_F8E7M0, 0x7F, 0x01), 0x41); /* 2^64 * 2^-62 = 4 */
}

/* Reference for narrow formats: nearest code to the f32 result by a scan of
 * the format's positive values (vals[c] for codes 0..maxc). */
typedef struct {
    Dtype dt;
    Code maxc;
    double vals[128];
} Scan;

static Scan scan_of(Dtype dt)
{
    Scan s = {dt, vm_encode(dt, vm_dtype_max(dt)), {0}};
    for (Code c = 0; c <= s.maxc; c++)
        s.vals[c] = vm_decode(dt, c);
    return s;
}

static Code ref_narrow(const Scan *s, float r)
{
    Dtype dt = s->dt;
    if (isnan(r))
        return vm_dtype_has_nan(dt) ? vm_canonical_nan(dt) : s->maxc;
    Code sign = signbit(r) ? 1ull << (vm_dtype_bits(dt) - 1) : 0;
    double a = fabs((double)r);
    if (isinf(a) && vm_dtype_has_inf(dt))
        return sign | 0x7C;
    if (a >= s->vals[s->maxc])
        return sign | s->maxc;
    Code best = 0;
    double bestd = INFINITY;
    for (Code c = 0; c <= s->maxc; c++) {
        double dist = fabs(a - s->vals[c]);
        if (s->vals[c] > a && dist > bestd)
            break;
        if (dist < bestd || (dist == bestd && !(c & 1))) {
            best = c;
            bestd = dist;
        }
    }
    return sign | best;
}

static float fop(VmBinop op, float x, float y)
{
    switch (op) {
    case VM_OP_ADD: return x + y;
    case VM_OP_SUB: return x - y;
    case VM_OP_MUL: return x * y;
    case VM_OP_DIV: return x / y;
    default: return fmodf(x, y);
    }
}

Test(dtype_arith, narrow_exhaustive)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        int n = vm_dtype_bits(dt);
        if (!vm_dtype_is_float(dt) || n > 8)
            continue;
        Scan sc = scan_of(dt);
        for (int op = VM_OP_ADD; op <= VM_OP_REM; op++)
            for (Code a = 0; a < (1u << n); a++)
                for (Code b = 0; b < (1u << n); b++) {
                    float x = (float)vm_decode(dt, a), y = (float)vm_decode(dt, b);
                    Code want = ref_narrow(&sc, fop((VmBinop)op, x, y));
                    cr_assert_eq(bin((VmBinop)op, dt, a, b), want, "%s op %d: %g %g",
                                 vm_dtype_name(dt), op, x, y);
                }
    }
}

/* ---- f16, bf16, f32, f64 */

Test(dtype_arith, f16_by_hand)
{
    Dtype h = VM_DT_F16;
    cr_assert_eq(bin(VM_OP_ADD, h, 0x7BFF, enc(h, 16)), 0x7C00); /* 65520: overflows */
    cr_assert_eq(bin(VM_OP_ADD, h, 0x7BFF, enc(h, 15)), 0x7BFF);
    cr_assert_eq(bin(VM_OP_ADD, h, enc(h, 2048), enc(h, 1)), 0x6800); /* tie, even */
    cr_assert_eq(bin(VM_OP_ADD, h, enc(h, 2048), enc(h, 3)), 0x6802);
    cr_assert_eq(bin(VM_OP_MUL, h, 0x0400, enc(h, 0.5)), 0x0200);    /* into subnormals */
    cr_assert_eq(bin(VM_OP_MUL, h, 0x0001, enc(h, 0.5)), 0x0000);    /* 2^-25: tie to 0 */
    cr_assert_eq(bin(VM_OP_MUL, h, 0x0001, enc(h, 0.75)), 0x0001);
    cr_assert_eq(bin(VM_OP_MUL, h, 0x8001, enc(h, 0.25)), 0x8000);
    cr_assert_eq(bin(VM_OP_DIV, h, enc(h, 1), enc(h, 3)), 0x3555);
    cr_assert_eq(bin(VM_OP_DIV, h, enc(h, 1), 0x0000), 0x7C00);
    cr_assert_eq(bin(VM_OP_DIV, h, enc(h, 1), 0x8000), 0xFC00);
    cr_assert_eq(bin(VM_OP_DIV, h, 0x0000, 0x0000), 0x7FFF);
    cr_assert_eq(bin(VM_OP_SUB, h, 0x7C00, 0x7C00), 0x7FFF);
    cr_assert_eq(bin(VM_OP_ADD, h, 0x8000, 0x8000), 0x8000);
    cr_assert_eq(bin(VM_OP_ADD, h, 0x8000, 0x0000), 0x0000);
    cr_assert_eq(bin(VM_OP_MIN, h, 0x0000, 0x8000), 0x8000);
    cr_assert_eq(bin(VM_OP_MAX, h, 0x8000, 0x0000), 0x0000);
    cr_assert_eq(bin(VM_OP_MIN, h, 0x7E01, 0x3C00), 0x3C00);
    cr_assert_eq(bin(VM_OP_MIN, h, 0x3C00, 0xFE01), 0x3C00);
    cr_assert_eq(bin(VM_OP_MAX, h, 0x7E01, 0xFE01), 0x7FFF);
    cr_assert_eq(bin(VM_OP_MAX, h, 0xFC00, 0x7BFF), 0x7BFF);
    cr_assert_eq(vm_fma(h, 0x7BFF, enc(h, 2), 0xFBFF), 0x7BFF); /* no intermediate overflow */
}

Test(dtype_arith, f32_f64_ieee)
{
    Code one = f32_bits(1.0f);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_F32, 0, 0), 0x7FFFFFFFu);
    cr_assert_eq(bin(VM_OP_SUB, VM_DT_F32, 0x7F800000u, 0x7F800000u), 0x7FFFFFFFu);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_F32, one, 0), 0x7F800000u);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_F32, 0x7F7FFFFFu, 0x7F7FFFFFu), 0x7F800000u);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_F32, one, f32_bits(0x1p-24f)), one); /* tie, even */
    cr_assert_eq(bin(VM_OP_MUL, VM_DT_F32, 1, f32_bits(0.5f)), 0);        /* 2^-150 */
    cr_assert_eq(bin(VM_OP_REM, VM_DT_F32, f32_bits(7.5f), f32_bits(2.0f)), f32_bits(1.5f));
    cr_assert_eq(bin(VM_OP_REM, VM_DT_F32, f32_bits(-7.5f), f32_bits(2.0f)), f32_bits(-1.5f));
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_F32, 0x7FC00000u, one), one);
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_F32, 0xFFC00000u, 0x7FC00001u), 0x7FFFFFFFu);
    cr_assert_eq(bin(VM_OP_DIV, VM_DT_F64, 0, 0), 0x7FFFFFFFFFFFFFFFull);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_F64, f64_bits(0.1), f64_bits(0.2)), f64_bits(0.1 + 0.2));
    cr_assert_eq(bin(VM_OP_MIN, VM_DT_F64, f64_bits(-0.0), f64_bits(0.0)), f64_bits(-0.0));
    cr_assert_eq(bin(VM_OP_MAX, VM_DT_F64, f64_bits(-0.0), f64_bits(0.0)), f64_bits(0.0));
    /* fma rounds once: (1 + 2^-12)^2 - 1 */
    Code a = f32_bits(1.0f + 0x1p-12f);
    Code m1 = f32_bits(-1.0f);
    cr_assert_eq(vm_fma(VM_DT_F32, a, a, m1), f32_bits(0x1p-11f + 0x1p-24f));
    Code sq = bin(VM_OP_MUL, VM_DT_F32, a, a);
    cr_assert_eq(bin(VM_OP_ADD, VM_DT_F32, sq, m1), f32_bits(0x1p-11f));
    Code d = f64_bits(1.0 + 0x1p-27);
    cr_assert_eq(vm_fma(VM_DT_F64, d, d, f64_bits(-1.0)), f64_bits(0x1p-26 + 0x1p-54));
    cr_assert_eq(vm_fma(VM_DT_F32, 0x7F800000u, 0, one), 0x7FFFFFFFu);
}

/* bf16 fma: the product lands on a tie and c moves it by 2^-100. */
Test(dtype_arith, bf16_fma_single_rounding)
{
    Dtype t = VM_DT_BF16;
    Code a = enc(t, 1.125), b = enc(t, 1.09375); /* product 315/256: a tie */
    cr_assert_eq(vm_fma(t, a, b, enc(t, -0x1p-100)), enc(t, 1 + 29.0 / 128));
    cr_assert_eq(vm_fma(t, a, b, enc(t, 0x1p-100)), enc(t, 1 + 30.0 / 128));
    cr_assert_eq(vm_fma(t, a, b, 0), enc(t, 1 + 30.0 / 128)); /* plain tie: even */
    cr_assert_eq(bin(VM_OP_MUL, t, a, b), enc(t, 1 + 30.0 / 128));
    cr_assert_eq(vm_fma(t, enc(t, -1.125), b, enc(t, 0x1p-100)), enc(t, -(1 + 29.0 / 128)));
    cr_assert_eq(vm_fma(t, 0x7F7F, enc(t, 2), 0xFF7F), 0x7F7F);
    cr_assert_eq(vm_fma(t, 0x7F7F, enc(t, 2), 0), 0x7F80);
    cr_assert_eq(vm_fma(t, 0x7F80, 0, 0), 0x7FFF);
    cr_assert_eq(vm_fma(t, enc(t, 1), enc(t, -1), enc(t, 1)), 0x0000);
}

#ifdef __FLT16_MAX__
static Code h_bits(_Float16 h)
{
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

static _Float16 h_of(Code c)
{
    uint16_t u = (uint16_t)c;
    _Float16 h;
    memcpy(&h, &u, sizeof h);
    return h;
}

static Code h_canon(_Float16 h) { return isnan((float)h) ? 0x7FFF : h_bits(h); }

Test(dtype_arith, f16_random_vs_compiler)
{
    rng_state = 22;
    for (int k = 0; k < 200000; k++) {
        Code a = rng() & 0xFFFF, b = rng() & 0xFFFF, c = rng() & 0xFFFF;
        float x = (float)h_of(a), y = (float)h_of(b), z = (float)h_of(c);
        cr_assert_eq(bin(VM_OP_ADD, VM_DT_F16, a, b), h_canon((_Float16)(x + y)));
        cr_assert_eq(bin(VM_OP_SUB, VM_DT_F16, a, b), h_canon((_Float16)(x - y)));
        cr_assert_eq(bin(VM_OP_MUL, VM_DT_F16, a, b), h_canon((_Float16)(x * y)));
        cr_assert_eq(bin(VM_OP_DIV, VM_DT_F16, a, b), h_canon((_Float16)(x / y)));
        long double p = (long double)x * (long double)y;
        long double s = p + (long double)z;
        cr_assert_eq(vm_fma(VM_DT_F16, a, b, c), h_canon((_Float16)s), "fma 0x%x 0x%x 0x%x",
                     (unsigned)a, (unsigned)b, (unsigned)c);
    }
}
#endif

/* bf16 against float arithmetic rounded to bf16 by the usual bit trick; fma
 * against long double with exponents kept close so its sum is exact. */
static Code bf16_round(float f)
{
    if (isnan(f))
        return 0x7FFF;
    uint32_t u = (uint32_t)f32_bits(f);
    return (u + 0x7FFF + ((u >> 16) & 1)) >> 16;
}

static float bf16_val(Code c) { return f32_of(c << 16); }

/* exponent in [-10, 10]: a*b + c then spans at most 57 bits, exact in long double */
static Code random_bf16_near_one(void)
{
    return (rng() & 0x807F) | (((rng() % 21) + 117) << 7);
}

/* t rounded to bf16, ties to even, by comparing the neighbours of a guess
 * that is at most one code off. */
static Code bf16_nearest(long double t)
{
    if (t == 0)
        return 0;
    Code c0 = bf16_round((float)t), best = c0;
    long double bestd = fabsl(bf16_val(c0) - t);
    for (int dlt = -1; dlt <= 1; dlt += 2) {
        Code cand = (c0 + (Code)(int64_t)dlt) & 0xFFFF;
        float v = bf16_val(cand);
        if (isnan(v) || isinf(v) || (v < 0) != (t < 0))
            continue;
        long double dist = fabsl(v - t);
        if (dist < bestd || (dist == bestd && !(cand & 1))) {
            best = cand;
            bestd = dist;
        }
    }
    return best;
}

Test(dtype_arith, bf16_random)
{
    rng_state = 23;
    for (int k = 0; k < 200000; k++) {
        Code a = rng() & 0xFFFF, b = rng() & 0xFFFF;
        float x = bf16_val(a), y = bf16_val(b);
        cr_assert_eq(bin(VM_OP_ADD, VM_DT_BF16, a, b), bf16_round(x + y));
        cr_assert_eq(bin(VM_OP_SUB, VM_DT_BF16, a, b), bf16_round(x - y));
        cr_assert_eq(bin(VM_OP_MUL, VM_DT_BF16, a, b), bf16_round(x * y));
        float q = x / y;
        if (!(fabsf(q) < 0x1p-126f))
            cr_assert_eq(bin(VM_OP_DIV, VM_DT_BF16, a, b), bf16_round(q));
        Code fa = random_bf16_near_one(), fb = random_bf16_near_one(), fc = random_bf16_near_one();
        long double t = (long double)bf16_val(fa) * (long double)bf16_val(fb);
        t += (long double)bf16_val(fc);
        cr_assert_eq(vm_fma(VM_DT_BF16, fa, fb, fc), bf16_nearest(t), "fma 0x%x 0x%x 0x%x",
                     (unsigned)fa, (unsigned)fb, (unsigned)fc);
    }
}

/* vm/dtype_arith.c - scalar arithmetic on codes: the reference for every
 * elementwise instruction (VM.md 3, arithmetic).
 *
 * Integers (and bool, which computes as u1 on 0/1) wrap modulo 2^n:
 *   - division by zero gives 0 and the remainder by zero gives the dividend,
 *     so a == (a / b) * b + a % b always holds; MIN / -1 wraps to MIN and
 *     MIN % -1 is 0; / and % truncate toward zero (C);
 *   - shifts by >= the width give 0 (<<, unsigned >>) or the sign fill
 *     (signed >>); a negative shift count of a signed type counts as past
 *     the width.
 * Floats:
 *   - f32 computes in float and f64 in double, IEEE round to nearest even;
 *   - f16 and bf16 compute +, -, *, / in double and round once: double has
 *     more than 2p+2 bits for both, so the result is correctly rounded. fma
 *     needs more: the exact product is added in double with the error kept
 *     (two-sum) and the sum rounded to odd, which a second rounding to
 *     p <= 51 bits cannot spoil;
 *   - narrow floats decode to f32, compute in f32 (fmaf for fma) and round
 *     back with the cast rules (nearest even, saturate, NaN to the format's
 *     NaN or, without one, its largest finite value);
 *   - % is fmod (truncating, exact);
 *   - min/max are IEEE 754-2019 minimumNumber/maximumNumber: a NaN operand
 *     is ignored (NaN only when both are), -0 is below +0; the result is
 *     the chosen operand's code;
 *   - every NaN result is the canonical NaN of the type;
 *   - & | ^ << >> act on the codes as unsigned integers of the width (the
 *     checker rejects them on floats; this is what `view` then the op does).
 * Each call performs one operation, so no multiply and add can be contracted
 * into an fma by the compiler; the only fused operation is vm_fma. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

static const DtypeInfo *info(Dtype dt)
{
    const DtypeInfo *d = vm_dtype_info(dt);
    if (!d) {
        fprintf(stderr, "%s:%d: internal error: invalid dtype %d\n", __FILE__, __LINE__, (int)dt);
        abort();
    }
    return d;
}

static uint64_t width_mask(int bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

/* ---- integers */

static int64_t sext(uint64_t v, int bits)
{
    if (bits < 64 && (v >> (bits - 1)) & 1)
        v |= ~width_mask(bits);
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return s;
}

static Code bitwise(VmBinop op, int bits, bool sgn, uint64_t a, uint64_t b)
{
    uint64_t mask = width_mask(bits);
    int64_t sb = sgn ? sext(b, bits) : 0;
    uint64_t count = sgn && sb < 0 ? (uint64_t)bits : b;
    switch (op) {
    case VM_OP_AND:
        return a & b;
    case VM_OP_OR:
        return a | b;
    case VM_OP_XOR:
        return a ^ b;
    case VM_OP_SHL:
        return count >= (uint64_t)bits ? 0 : (a << count) & mask;
    case VM_OP_SHR:
        if (sgn) {
            int64_t sa = sext(a, bits);
            int64_t fill = sa < 0 ? -1 : 0;
            return (uint64_t)(count >= (uint64_t)bits ? fill : sa >> count) & mask;
        }
        return count >= (uint64_t)bits ? 0 : a >> count;
    default:
        break;
    }
    fprintf(stderr, "%s:%d: internal error: not a bitwise op %d\n", __FILE__, __LINE__, (int)op);
    abort();
}

static Code int_binop(VmBinop op, int bits, bool sgn, uint64_t a, uint64_t b)
{
    uint64_t mask = width_mask(bits);
    int64_t sa = sext(a, bits), sb = sext(b, bits);
    switch (op) {
    case VM_OP_ADD:
        return (a + b) & mask;
    case VM_OP_SUB:
        return (a - b) & mask;
    case VM_OP_MUL:
        return (a * b) & mask;
    case VM_OP_DIV:
        if (b == 0)
            return 0;
        if (!sgn)
            return a / b;
        if (sb == -1)
            return (0 - a) & mask;
        return (uint64_t)(sa / sb) & mask;
    case VM_OP_REM:
        if (b == 0)
            return a;
        if (!sgn)
            return a % b;
        if (sb == -1)
            return 0;
        return (uint64_t)(sa % sb) & mask;
    case VM_OP_MIN:
        return (sgn ? sa < sb : a < b) ? a : b;
    case VM_OP_MAX:
        return (sgn ? sa > sb : a > b) ? a : b;
    default:
        return bitwise(op, bits, sgn, a, b);
    }
}

/* ---- floats */

static Code f32_code(float x)
{
    if (isnan(x))
        return vm_canonical_nan(VM_DT_F32);
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float f32_value(Code c)
{
    uint32_t u = (uint32_t)c;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static Code f64_code(double x)
{
    if (isnan(x))
        return vm_canonical_nan(VM_DT_F64);
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double f64_value(Code c)
{
    double x;
    memcpy(&x, &c, sizeof x);
    return x;
}

static double fop_double(VmBinop op, double x, double y)
{
    switch (op) {
    case VM_OP_ADD:
        return x + y;
    case VM_OP_SUB:
        return x - y;
    case VM_OP_MUL:
        return x * y;
    case VM_OP_DIV:
        return x / y;
    case VM_OP_REM:
        return fmod(x, y);
    default:
        break;
    }
    fprintf(stderr, "%s:%d: internal error: not a float op %d\n", __FILE__, __LINE__, (int)op);
    abort();
}

static float fop_float(VmBinop op, float x, float y)
{
    switch (op) {
    case VM_OP_ADD:
        return x + y;
    case VM_OP_SUB:
        return x - y;
    case VM_OP_MUL:
        return x * y;
    case VM_OP_DIV:
        return x / y;
    case VM_OP_REM:
        return fmodf(x, y);
    default:
        break;
    }
    fprintf(stderr, "%s:%d: internal error: not a float op %d\n", __FILE__, __LINE__, (int)op);
    abort();
}

/* minimumNumber / maximumNumber on exact values; returns the chosen code. */
static Code float_minmax(VmBinop op, Dtype dt, Code a, Code b)
{
    double x = vm_decode(dt, a), y = vm_decode(dt, b);
    if (isnan(x) && isnan(y))
        return vm_canonical_nan(dt);
    if (isnan(x))
        return b;
    if (isnan(y))
        return a;
    bool a_first = x == y ? !(signbit(y) && !signbit(x)) : x < y; /* a is the smaller */
    return (op == VM_OP_MIN) == a_first ? a : b;
}

static Code float_binop(VmBinop op, Dtype dt, const DtypeInfo *d, Code a, Code b)
{
    switch (op) {
    case VM_OP_MIN:
    case VM_OP_MAX:
        return float_minmax(op, dt, a, b);
    case VM_OP_AND:
    case VM_OP_OR:
    case VM_OP_XOR:
    case VM_OP_SHL:
    case VM_OP_SHR:
        return bitwise(op, d->bits, false, a, b);
    default:
        break;
    }
    if (d->bits == 64)
        return f64_code(fop_double(op, f64_value(a), f64_value(b)));
    if (d->bits == 32)
        return f32_code(fop_float(op, f32_value(a), f32_value(b)));
    if (d->bits == 16)
        return vm_encode(dt, fop_double(op, vm_decode(dt, a), vm_decode(dt, b)));
    float x = (float)vm_decode(dt, a), y = (float)vm_decode(dt, b);
    return vm_cast(dt, VM_DT_F32, f32_code(fop_float(op, x, y)));
}

Code vm_binop(VmBinop op, Dtype dt, Code a, Code b)
{
    const DtypeInfo *d = info(dt);
    uint64_t mask = width_mask(d->bits);
    a &= mask;
    b &= mask;
    switch (d->kind) {
    case VM_BOOL:
        return int_binop(op, 1, false, a != 0, b != 0);
    case VM_UINT:
        return int_binop(op, d->bits, false, a, b);
    case VM_INT:
        return int_binop(op, d->bits, true, a, b);
    case VM_FLOAT:
        break;
    }
    return float_binop(op, dt, d, a, b);
}

/* f16/bf16 fma: x*y is exact in double (at most 2 * 11 significant bits);
 * s + e == x*y + z exactly (two-sum); if inexact, s is replaced by its
 * neighbour toward e when s is even (round to odd), then rounded once. */
static Code fma_half(Dtype dt, Code a, Code b, Code c)
{
    double x = vm_decode(dt, a), y = vm_decode(dt, b), z = vm_decode(dt, c);
    double p = x * y;
    double s = p + z;
    if (!isfinite(s))
        return vm_encode(dt, s);
    double bv = s - p;
    double av = s - bv;
    double e = (p - av) + (z - bv);
    uint64_t sbits;
    memcpy(&sbits, &s, sizeof sbits);
    if (e != 0 && !(sbits & 1))
        s = nextafter(s, e > 0 ? INFINITY : -INFINITY);
    return vm_encode(dt, s);
}

Code vm_fma(Dtype dt, Code a, Code b, Code c)
{
    const DtypeInfo *d = info(dt);
    uint64_t mask = width_mask(d->bits);
    a &= mask;
    b &= mask;
    c &= mask;
    switch (d->kind) {
    case VM_BOOL:
        return ((a != 0) & (b != 0)) ^ (c != 0);
    case VM_UINT:
    case VM_INT:
        return (a * b + c) & mask;
    case VM_FLOAT:
        break;
    }
    if (d->bits == 64)
        return f64_code(fma(f64_value(a), f64_value(b), f64_value(c)));
    if (d->bits == 32)
        return f32_code(fmaf(f32_value(a), f32_value(b), f32_value(c)));
    if (d->bits == 16)
        return fma_half(dt, a, b, c);
    float x = (float)vm_decode(dt, a), y = (float)vm_decode(dt, b), z = (float)vm_decode(dt, c);
    return vm_cast(dt, VM_DT_F32, f32_code(fmaf(x, y, z)));
}

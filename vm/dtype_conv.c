/* vm/dtype_conv.c - decoding, encoding and casts: the reference conversions.
 *
 * Every value is first unpacked exactly into (sign, 64-bit magnitude,
 * power-of-two exponent) or a class (zero, inf, NaN); every source code of
 * every dtype fits (f64 has 53 significant bits, integers 64). The target is
 * then produced by one rounding from that exact value, so no conversion
 * rounds twice (u64 -> f32 and f64 -> f8 included).
 *
 * Float targets: round to nearest, ties to the even code. For M >= 1 the
 * even code is the even significand of IEEE; the M = 0 formats (f3e2m0,
 * f4e3m0, ...) have significand 1 everywhere, so there the tie goes to the
 * code whose exponent field is even (as ml_dtypes does). Rounding is done
 * with an unbounded exponent and then checked for overflow:
 *   - f16, bf16, f32, f64: IEEE, a result above the largest finite value is
 *     inf (|v| >= max + ulp/2 overflows); inf stays inf.
 *   - narrow floats (<= 8 bits): a finite value above the largest finite
 *     value saturates to +-max finite; an inf source saturates to +-max
 *     finite too, except in f8e5m2 which has inf and keeps it.
 *   - NaN becomes the target's canonical NaN (sign clear, every other bit
 *     set: f8e4m3/f8e5m2 0x7F, f16/bf16 0x7FFF, f32 0x7FFFFFFF, f64
 *     0x7FFFFFFFFFFFFFFF); a format without NaN gets its largest finite
 *     value, positive.
 *   - Underflow keeps the sign: -2^-30 in f8e4m3 is -0.
 * Integer targets: round to nearest even, saturate to the range (an
 * unsigned target takes every negative value to 0, -0.4 included), NaN
 * gives 0, +-inf the range ends.
 * bool target: 1 for every value that is not zero (NaN gives 1, -0 gives 0).
 * bool source: the code 0 is false, any other is true (value 1).
 * Codes are masked to the source width first; bits above it are ignored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

typedef enum { CL_ZERO, CL_FIN, CL_INF, CL_NAN } Class;

/* value = (neg ? -1 : 1) * mag * 2^exp; mag != 0 only for CL_FIN */
typedef struct {
    Class cls;
    bool neg;
    uint64_t mag;
    int exp;
} Unp;

typedef enum { SP_NONE, SP_FN, SP_IEEE } Specials;

typedef struct {
    int bits, e, m, bias;
    Specials sp;
    bool saturate; /* narrow formats: finite overflow saturates */
    uint64_t maxcode; /* largest finite value's code, sign clear */
} Fmt;

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

static Fmt fmt_of(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    Fmt f = {d->bits, d->ebits, d->mbits, (1 << (d->ebits - 1)) - 1, SP_NONE, d->bits <= 8, 0};
    if (vm_dtype_has_inf(dt))
        f.sp = SP_IEEE;
    else if (vm_dtype_has_nan(dt))
        f.sp = SP_FN;
    uint64_t emax = (1ull << f.e) - 1, mmax = (1ull << f.m) - 1;
    if (f.sp == SP_IEEE)
        f.maxcode = ((emax - 1) << f.m) | mmax;
    else if (f.sp == SP_FN)
        f.maxcode = (emax << f.m) | (mmax - 1);
    else
        f.maxcode = (emax << f.m) | mmax;
    return f;
}

static int bit_length(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

/* ---- unpacking */

static Unp unpack_float(const Fmt *f, Code c)
{
    Unp u = {CL_FIN, (c >> (f->bits - 1)) & 1, 0, 0};
    uint64_t emax = (1ull << f->e) - 1, mmax = (1ull << f->m) - 1;
    uint64_t e = (c >> f->m) & emax, m = c & mmax;
    if (f->sp == SP_IEEE && e == emax) {
        u.cls = m ? CL_NAN : CL_INF;
    } else if (f->sp == SP_FN && e == emax && m == mmax) {
        u.cls = CL_NAN;
    } else if (e == 0 && m == 0) {
        u.cls = CL_ZERO;
    } else if (e == 0) {
        u.mag = m;
        u.exp = 1 - f->bias - f->m;
    } else {
        u.mag = m | (1ull << f->m);
        u.exp = (int)e - f->bias - f->m;
    }
    return u;
}

static Unp unpack_int(Dtype dt, const DtypeInfo *d, Code c)
{
    Unp u = {CL_FIN, false, 0, 0};
    if (d->kind == VM_BOOL) {
        u.mag = (c & 0xFF) != 0;
    } else if (d->kind == VM_UINT) {
        u.mag = c & width_mask(d->bits);
    } else {
        int64_t v = vm_decode_int(dt, c);
        u.neg = v < 0;
        u.mag = u.neg ? 0 - (uint64_t)v : (uint64_t)v;
    }
    if (u.mag == 0)
        u.cls = CL_ZERO;
    return u;
}

static Unp unpack(Dtype dt, Code c)
{
    const DtypeInfo *d = info(dt);
    c &= width_mask(d->bits);
    if (d->kind == VM_FLOAT) {
        Fmt f = fmt_of(dt);
        return unpack_float(&f, c);
    }
    return unpack_int(dt, d, c);
}

/* ---- rounding an exact value into a target */

/* q = floor(mag / 2^s), and *cmp tells how the dropped bits compare with
 * half of 2^s: -2 none dropped (exact), -1 below, 0 a tie, 1 above. */
static uint64_t shift_round(uint64_t mag, int s, int *cmp)
{
    if (s <= 0) {
        *cmp = -2;
        return mag << -s;
    }
    if (s > 64) {
        *cmp = -1;
        return 0;
    }
    uint64_t q = s == 64 ? 0 : mag >> s;
    uint64_t rem = s == 64 ? mag : mag & ((1ull << s) - 1);
    uint64_t half = 1ull << (s - 1);
    *cmp = rem == 0 ? -2 : rem < half ? -1 : rem == half ? 0 : 1;
    return q;
}

static Code round_float(const Fmt *f, Unp u)
{
    Code sign = (Code)u.neg << (f->bits - 1);
    Code inf = ((1ull << f->e) - 1) << f->m;
    switch (u.cls) {
    case CL_NAN:
        return f->sp == SP_NONE ? f->maxcode : width_mask(f->bits - 1);
    case CL_INF:
        return sign | (f->sp == SP_IEEE ? inf : f->maxcode);
    case CL_ZERO:
        return sign;
    case CL_FIN:
        break;
    }
    int top = u.exp + bit_length(u.mag) - 1; /* 2^top <= |v| < 2^(top+1) */
    int emin = 1 - f->bias;
    if (top + f->bias > (1 << f->e)) /* far past the largest binade */
        return sign | (f->saturate ? f->maxcode : inf);
    int ulp = (top >= emin ? top : emin) - f->m;
    int cmp;
    uint64_t q = shift_round(u.mag, ulp - u.exp, &cmp);
    Code code = q;
    if (q >> f->m) /* normal: q in [2^M, 2^(M+1)) */
        code = ((Code)(top + f->bias) << f->m) | (q & ((1ull << f->m) - 1));
    /* code + 1 is the next magnitude up (a mantissa carry bumps the
     * exponent), so ties to the even code need no case for M = 0 */
    if (cmp == 1 || (cmp == 0 && (code & 1)))
        code++;
    if (code > f->maxcode)
        code = f->saturate ? f->maxcode : inf;
    return sign | code;
}

static Code round_int(const DtypeInfo *d, Unp u)
{
    if (d->kind == VM_BOOL)
        return u.cls != CL_ZERO;
    bool sgn = d->kind == VM_INT;
    uint64_t mask = width_mask(d->bits);
    uint64_t maxpos = sgn ? mask >> 1 : mask;    /* largest value */
    uint64_t maxneg = sgn ? (mask >> 1) + 1 : 0; /* magnitude of the smallest */
    if (u.cls == CL_NAN || u.cls == CL_ZERO)
        return 0;
    bool big = u.cls == CL_INF;
    uint64_t q = 0;
    if (!big) {
        if (u.exp > 0 && bit_length(u.mag) + u.exp > 64) {
            big = true;
        } else {
            int cmp;
            q = shift_round(u.mag, -u.exp, &cmp);
            if (cmp == 1 || (cmp == 0 && (q & 1)))
                q++;
        }
    }
    if (u.neg) {
        if (big || q > maxneg)
            q = maxneg;
        return (0 - q) & mask;
    }
    if (big || q > maxpos)
        q = maxpos;
    return q;
}

static Code round_to(Dtype to, Unp u)
{
    const DtypeInfo *d = info(to);
    if (d->kind == VM_FLOAT) {
        Fmt f = fmt_of(to);
        return round_float(&f, u);
    }
    return round_int(d, u);
}

/* ---- the public conversions */

Code vm_cast(Dtype to, Dtype from, Code c) { return round_to(to, unpack(from, c)); }

Code vm_encode(Dtype dt, double v)
{
    Code bits;
    memcpy(&bits, &v, sizeof bits);
    return vm_cast(dt, VM_DT_F64, bits);
}

double vm_decode(Dtype dt, Code c)
{
    const DtypeInfo *d = info(dt);
    if (d->kind == VM_INT)
        return (double)vm_decode_int(dt, c);
    if (d->kind == VM_UINT)
        return (double)vm_decode_uint(dt, c);
    Unp u = unpack(dt, c);
    double s = u.neg ? -1.0 : 1.0;
    switch (u.cls) {
    case CL_NAN:
        return NAN;
    case CL_INF:
        return s * INFINITY;
    case CL_ZERO:
        return s * 0.0;
    case CL_FIN:
        break;
    }
    return s * ldexp((double)u.mag, u.exp);
}

/* Integer dtypes exactly; other dtypes are cast to i64 (round, saturate). */
int64_t vm_decode_int(Dtype dt, Code c)
{
    const DtypeInfo *d = info(dt);
    c &= width_mask(d->bits);
    if (d->kind == VM_INT) {
        if (d->bits < 64 && (c >> (d->bits - 1)) & 1)
            c |= ~width_mask(d->bits);
        int64_t v;
        memcpy(&v, &c, sizeof v);
        return v;
    }
    if (d->kind == VM_UINT && c <= (uint64_t)INT64_MAX)
        return (int64_t)c;
    Code r = vm_cast(VM_DT_I64, dt, c);
    int64_t v;
    memcpy(&v, &r, sizeof v);
    return v;
}

/* Unsigned dtypes exactly; other dtypes are cast to u64 (round, saturate). */
uint64_t vm_decode_uint(Dtype dt, Code c)
{
    const DtypeInfo *d = info(dt);
    if (d->kind == VM_UINT)
        return c & width_mask(d->bits);
    return vm_cast(VM_DT_U64, dt, c);
}

Code vm_canonical_nan(Dtype dt)
{
    return vm_dtype_has_nan(dt) ? width_mask(info(dt)->bits - 1) : 0;
}

/* ---- value properties */

double vm_dtype_max(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    switch (d->kind) {
    case VM_BOOL:
        return 1;
    case VM_UINT:
        return ldexp(1, d->bits) - 1;
    case VM_INT:
        return ldexp(1, d->bits - 1) - 1;
    case VM_FLOAT:
        break;
    }
    return vm_decode(dt, fmt_of(dt).maxcode);
}

double vm_dtype_min(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    if (d->kind == VM_INT)
        return -ldexp(1, d->bits - 1);
    if (d->kind == VM_FLOAT)
        return -vm_dtype_max(dt);
    return 0;
}

double vm_dtype_min_subnormal(Dtype dt)
{
    return info(dt)->kind == VM_FLOAT ? vm_decode(dt, 1) : 1;
}

/* Floats: 2^(M+1), where the integers stop being consecutive, capped by the
 * largest integer not above max (f4e2m1: 4, f3e1m1: 3, f6e2m3: 7). */
double vm_dtype_max_exact_int(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    if (d->kind != VM_FLOAT)
        return vm_dtype_max(dt);
    double v = ldexp(1, d->mbits + 1), max = floor(vm_dtype_max(dt));
    return v < max ? v : max;
}

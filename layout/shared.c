/* layout/shared.c - shared-memory layouts (VM.md 4.2).
 *
 * A shared layout maps an index of a constant-shape tile to a byte offset:
 *   linear = sum(idx[d] * stride[d])            (elements)
 *   offset = swizzle(linear * elem_bits / 8)    (bytes)
 * with the XOR swizzle on byte offsets
 *   Swizzle(bits, base, shift)(x) = x ^ ((x >> shift) & (((1 << bits) - 1) << base)).
 * The swizzle only flips the byte-address bits [base, base + bits) from the
 * bits [base + shift, base + shift + bits); with shift >= bits it is an
 * involution, so it is a bijection on every range [0, k * 2^(base + bits)).
 * Counting in bytes lets one swizzle serve every dtype; an element must then
 * not straddle a 2^base-byte chunk, hence power-of-two widths only.
 *
 * Invariants kept by lay_shared_make (every constructor goes through it):
 * rank in 1..LAY_MAX_DIMS, shape > 0, strides >= 0, elem_bits in 1..64,
 * unused entries zero, a swizzle with bits == 0 stored as {0, 0, 0}, and
 * size = the bytes spanned, rounded up to 2^(base + bits) when swizzled, at
 * most INT32_MAX. Equality is then field by field.
 *
 * Sub-byte elements form a dense bit stream (VM.md 3); lay_shared_bit_offset
 * gives their bit address. Non-power-of-two widths (u3, u5...) get plain
 * strided layouts only: swizzled tiles of them live as u8 bytes.
 *
 * swizzled_row_major: the rows are the last dim (row bytes R = shape[-1] *
 * bits / 8), the row index runs over all leading dims. The 16-byte chunk index
 * is XORed with the row index mod 8 so that 8 rows of one 16-byte column
 * (ldmatrix) and 8 consecutive 16-byte chunks in row-major order (16-byte
 * cp.async by a quarter warp) fall into 8 distinct 16-byte bank groups:
 *   R = 16:                 no swizzle (8 rows already span 128 bytes);
 *   R = 32, 64:             Swizzle(log2(R/16), 4, 3): the chunk within the row
 *                           XORed with the row pair/quad index, i.e. the index
 *                           of the 128-byte line (bits 7..), which together
 *                           with the row's place in its line is row mod 8;
 *   R = 2^p >= 128:         Swizzle(3, 4, p - 4): the low 3 chunk bits XORed with
 *                           row mod 8 (bits p..p+2).
 * Elements never leave their row. Other row sizes (not a multiple of 16 bytes,
 * or not a power of two) fail with LAY_ERR_SHAPE: use a padded layout.
 *
 * Textual form (printed exactly like this, parsed with free whitespace and
 * keys in any order; shape and bits required, strides default row-major,
 * swizzle default none):
 *   shared(shape=[64,64], strides=[64,1], bits=16, swizzle=(3,4,3))
 */
#include "layout/layout.h"

#include <stdio.h>
#include <string.h>

static bool is_pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

static int log2i(int64_t x)
{
    int r = 0;
    while ((INT64_C(1) << r) < x)
        r++;
    return r;
}

int64_t lay_swizzle_apply(LaySwizzle s, int64_t x)
{
    int64_t mask = ((INT64_C(1) << s.bits) - 1) << s.base;
    return x ^ ((x >> s.shift) & mask);
}

static bool swizzle_valid(LaySwizzle s, int elem_bits)
{
    if (s.bits == 0)
        return true;
    if (s.bits < 0 || s.base < 0 || s.shift < s.bits || s.base + s.shift + s.bits > 40)
        return false;
    return is_pow2(elem_bits) && (INT64_C(8) << s.base) >= elem_bits;
}

LayStatus lay_shared_make(SharedLayout *out, int rank, const int *shape, const int *strides,
                          int elem_bits, LaySwizzle swz)
{
    SharedLayout s;
    memset(&s, 0, sizeof s);
    if (rank < 1 || rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (elem_bits < 1 || elem_bits > 64 || !swizzle_valid(swz, elem_bits))
        return LAY_ERR_SHAPE;
    int64_t last = 0;
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 1 || strides[d] < 0)
            return LAY_ERR_SHAPE;
        last += (int64_t)(shape[d] - 1) * strides[d];
        if (last > INT32_MAX)
            return LAY_ERR_SHAPE;
        s.shape[d] = shape[d];
        s.stride[d] = strides[d];
    }
    int64_t bytes = ((last + 1) * elem_bits + 7) / 8;
    if (swz.bits) {
        int64_t period = INT64_C(1) << (swz.base + swz.bits);
        bytes = (bytes + period - 1) / period * period;
        s.swizzle = swz;
    }
    if (bytes > INT32_MAX)
        return LAY_ERR_SHAPE;
    s.rank = (int8_t)rank;
    s.elem_bits = (int8_t)elem_bits;
    s.size = bytes;
    *out = s;
    return LAY_OK;
}

static LayStatus strided(SharedLayout *out, int rank, const int *shape, int elem_bits,
                         bool column, int pad, LaySwizzle swz)
{
    if (rank < 1 || rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (pad < 0)
        return LAY_ERR_SHAPE;
    int strides[LAY_MAX_DIMS];
    int64_t st = 1;
    for (int k = 0; k < rank; k++) {
        int d = column ? k : rank - 1 - k;
        if (shape[d] < 1)
            return LAY_ERR_SHAPE;
        strides[d] = (int)st;
        st *= (int64_t)shape[d] + (k == 0 ? pad : 0);
        if (st > INT32_MAX && k + 1 < rank)
            return LAY_ERR_SHAPE;
    }
    return lay_shared_make(out, rank, shape, strides, elem_bits, swz);
}

LayStatus lay_shared_row_major(SharedLayout *out, int rank, const int *shape, int elem_bits)
{
    return strided(out, rank, shape, elem_bits, false, 0, (LaySwizzle){0, 0, 0});
}

LayStatus lay_shared_column_major(SharedLayout *out, int rank, const int *shape, int elem_bits)
{
    return strided(out, rank, shape, elem_bits, true, 0, (LaySwizzle){0, 0, 0});
}

LayStatus lay_shared_padded(SharedLayout *out, int rank, const int *shape, int elem_bits,
                            int pad_elems)
{
    return strided(out, rank, shape, elem_bits, false, pad_elems, (LaySwizzle){0, 0, 0});
}

LayStatus lay_shared_swizzled_row_major(SharedLayout *out, int rank, const int *shape,
                                        int elem_bits)
{
    if (rank < 1 || rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (!is_pow2(elem_bits) || elem_bits > 64 || shape[rank - 1] < 1)
        return LAY_ERR_SHAPE;
    int64_t row_bits = (int64_t)shape[rank - 1] * elem_bits;
    if (row_bits % 128 != 0 || !is_pow2(row_bits / 128))
        return LAY_ERR_SHAPE;
    int64_t row = row_bits / 8;
    LaySwizzle swz = {0, 0, 0};
    if (row >= 128)
        swz = (LaySwizzle){3, 4, (int8_t)(log2i(row) - 4)};
    else if (row > 16)
        swz = (LaySwizzle){(int8_t)log2i(row / 16), 4, 3};
    if (swz.base + swz.shift + swz.bits > 40)
        return LAY_ERR_SHAPE;
    return strided(out, rank, shape, elem_bits, false, 0, swz);
}

int64_t lay_shared_bit_offset(SharedLayout s, const int32_t *idx)
{
    int64_t lin = 0;
    for (int d = 0; d < s.rank; d++) {
        if (idx[d] < 0 || idx[d] >= s.shape[d])
            return -1;
        lin += (int64_t)idx[d] * s.stride[d];
    }
    int64_t bit = lin * s.elem_bits;
    return lay_swizzle_apply(s.swizzle, bit >> 3) * 8 + (bit & 7);
}

int64_t lay_shared_offset(SharedLayout s, const int32_t *idx)
{
    int64_t b = lay_shared_bit_offset(s, idx);
    return b < 0 ? -1 : b >> 3;
}

int64_t lay_shared_size(SharedLayout s) { return s.size; }

bool lay_shared_eq(SharedLayout a, SharedLayout b)
{
    if (a.rank != b.rank || a.elem_bits != b.elem_bits || a.size != b.size ||
        a.swizzle.bits != b.swizzle.bits || a.swizzle.base != b.swizzle.base ||
        a.swizzle.shift != b.swizzle.shift)
        return false;
    for (int d = 0; d < LAY_MAX_DIMS; d++)
        if (a.shape[d] != b.shape[d] || a.stride[d] != b.stride[d])
            return false;
    return true;
}

static uint64_t mix(uint64_t h, int64_t v)
{
    h ^= (uint64_t)v;
    return h * UINT64_C(0x100000001b3);
}

uint64_t lay_shared_hash(SharedLayout s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    h = mix(h, s.rank);
    h = mix(h, s.elem_bits);
    h = mix(h, s.swizzle.bits);
    h = mix(h, s.swizzle.base);
    h = mix(h, s.swizzle.shift);
    for (int d = 0; d < s.rank; d++) {
        h = mix(h, s.shape[d]);
        h = mix(h, s.stride[d]);
    }
    return h;
}

/* ---- printing (snprintf convention: returns the full length) */

typedef struct {
    char *buf;
    size_t n, len;
} Out;

static void put(Out *o, const char *fmt, long long v)
{
    size_t room = o->len < o->n ? o->n - o->len : 0;
    int k = snprintf(room ? o->buf + o->len : NULL, room, fmt, v);
    if (k > 0)
        o->len += (size_t)k;
}

static void put_list(Out *o, const char *key, int rank, const int32_t *v)
{
    put(o, key, 0);
    for (int d = 0; d < rank; d++)
        put(o, d ? ",%lld" : "%lld", v[d]);
    put(o, "]", 0);
}

int lay_shared_print(SharedLayout s, char *buf, size_t n)
{
    Out o = {buf, n, 0};
    if (n)
        buf[0] = '\0';
    put_list(&o, "shared(shape=[", s.rank, s.shape);
    put_list(&o, ", strides=[", s.rank, s.stride);
    put(&o, ", bits=%lld", s.elem_bits);
    if (s.swizzle.bits) {
        put(&o, ", swizzle=(%lld", s.swizzle.bits);
        put(&o, ",%lld", s.swizzle.base);
        put(&o, ",%lld)", s.swizzle.shift);
    }
    put(&o, ")", 0);
    return (int)o.len;
}

/* ---- parsing
 * layout  := "shared" "(" field ("," field)* ")"
 * field   := "shape" "=" list | "strides" "=" list | "bits" "=" int
 *          | "swizzle" "=" "(" int "," int "," int ")"
 * list    := "[" int ("," int)* "]"
 * int     := [0-9]+                                                        */

typedef struct {
    const char *s;
    int pos;
    int errpos;
    char *err;
    size_t errn;
    bool failed;
} Parser;

static bool fail(Parser *p, const char *msg)
{
    if (!p->failed) {
        p->failed = true;
        p->errpos = p->pos;
        if (p->errn)
            snprintf(p->err, p->errn, "%s", msg);
    }
    return false;
}

static void skip_ws(Parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static bool accept(Parser *p, char c)
{
    skip_ws(p);
    if (p->s[p->pos] != c)
        return false;
    p->pos++;
    return true;
}

static bool expect(Parser *p, char c, const char *msg)
{
    return accept(p, c) || fail(p, msg);
}

static bool parse_int(Parser *p, int *v)
{
    skip_ws(p);
    const char *s = p->s;
    if (s[p->pos] < '0' || s[p->pos] > '9')
        return fail(p, "expected a non-negative integer");
    int64_t x = 0;
    int start = p->pos;
    while (s[p->pos] >= '0' && s[p->pos] <= '9') {
        x = x * 10 + (s[p->pos] - '0');
        if (x > INT32_MAX) {
            p->pos = start;
            return fail(p, "integer too large");
        }
        p->pos++;
    }
    *v = (int)x;
    return true;
}

static bool parse_list(Parser *p, int *v, int *count)
{
    if (!expect(p, '[', "expected '['"))
        return false;
    int k = 0;
    do {
        if (k == LAY_MAX_DIMS) {
            skip_ws(p);
            return fail(p, "too many dims");
        }
        if (!parse_int(p, &v[k++]))
            return false;
    } while (accept(p, ','));
    *count = k;
    return expect(p, ']', "expected ',' or ']'");
}

static bool parse_word(Parser *p, char *w, size_t n)
{
    skip_ws(p);
    size_t k = 0;
    while ((p->s[p->pos] >= 'a' && p->s[p->pos] <= 'z') || p->s[p->pos] == '_') {
        if (k + 1 < n)
            w[k++] = p->s[p->pos];
        p->pos++;
    }
    w[k] = '\0';
    return k > 0;
}

LayStatus lay_shared_parse(const char *s, SharedLayout *out, int *errpos, char *err, size_t errn)
{
    Parser p = {s, 0, 0, err, errn, false};
    int shape[LAY_MAX_DIMS], strides[LAY_MAX_DIMS], sw[3] = {0, 0, 0};
    int rank = 0, nstrides = 0, bits = 0;
    bool seen[4] = {false, false, false, false};
    int shape_pos = 0, strides_pos = 0, swizzle_pos = 0, bits_pos = 0;
    static const char *const keys[4] = {"shape", "strides", "bits", "swizzle"};
    char word[16];
    if (errn)
        err[0] = '\0';

    int head = (skip_ws(&p), p.pos);
    if (!parse_word(&p, word, sizeof word) || strcmp(word, "shared") != 0) {
        p.pos = head;
        fail(&p, "expected 'shared('");
        goto done;
    }
    if (!expect(&p, '(', "expected '('"))
        goto done;
    do {
        skip_ws(&p);
        int kpos = p.pos, k = 0;
        if (!parse_word(&p, word, sizeof word)) {
            fail(&p, "expected a field name (shape, strides, bits, swizzle)");
            goto done;
        }
        while (k < 4 && strcmp(word, keys[k]) != 0)
            k++;
        if (k == 4 || seen[k]) {
            p.pos = kpos;
            fail(&p, k == 4 ? "unknown field (expected shape, strides, bits or swizzle)"
                            : "duplicate field");
            goto done;
        }
        seen[k] = true;
        if (!expect(&p, '=', "expected '='"))
            goto done;
        skip_ws(&p);
        int vpos = p.pos;
        bool ok = true;
        if (k == 0) {
            shape_pos = vpos;
            ok = parse_list(&p, shape, &rank);
        } else if (k == 1) {
            strides_pos = vpos;
            ok = parse_list(&p, strides, &nstrides);
        } else if (k == 2) {
            bits_pos = vpos;
            ok = parse_int(&p, &bits);
        } else {
            swizzle_pos = vpos;
            ok = expect(&p, '(', "expected '('") && parse_int(&p, &sw[0]) &&
                 expect(&p, ',', "expected ','") && parse_int(&p, &sw[1]) &&
                 expect(&p, ',', "expected ','") && parse_int(&p, &sw[2]) &&
                 expect(&p, ')', "expected ')'");
        }
        if (!ok)
            goto done;
    } while (accept(&p, ','));
    if (!expect(&p, ')', "expected ',' or ')'"))
        goto done;
    skip_ws(&p);
    if (s[p.pos] != '\0') {
        fail(&p, "unexpected text after the layout");
        goto done;
    }
    if (!seen[0] || !seen[2]) {
        fail(&p, !seen[0] ? "missing field 'shape'" : "missing field 'bits'");
        goto done;
    }
    if (seen[1] && nstrides != rank) {
        p.pos = strides_pos;
        fail(&p, "strides and shape differ in length");
        goto done;
    }
    if (bits < 1 || bits > 64) {
        p.pos = bits_pos;
        fail(&p, "bits must be in 1..64");
        goto done;
    }
    for (int d = 0; d < rank; d++)
        if (shape[d] < 1) {
            p.pos = shape_pos;
            fail(&p, "shape entries must be positive");
            goto done;
        }
    if (sw[0] > 16 || sw[1] > 40 || sw[2] > 40) {
        p.pos = swizzle_pos;
        fail(&p, "swizzle out of range");
        goto done;
    }
    LaySwizzle swz = {(int8_t)sw[0], (int8_t)sw[1], (int8_t)sw[2]};
    if (swz.bits == 0)
        swz = (LaySwizzle){0, 0, 0};
    if (!swizzle_valid(swz, bits)) {
        p.pos = swizzle_pos;
        fail(&p, is_pow2(bits) ? "invalid swizzle (needs shift >= bits and 2^base bytes "
                                 ">= one element)"
                               : "a swizzle needs a power-of-two element width");
        goto done;
    }
    SharedLayout L;
    LayStatus st = seen[1] ? lay_shared_make(&L, rank, shape, strides, bits, swz)
                           : strided(&L, rank, shape, bits, false, 0, swz);
    if (st != LAY_OK) {
        p.pos = 0;
        fail(&p, "layout too large");
        goto done;
    }
    *out = L;
done:
    if (errpos)
        *errpos = p.failed ? p.errpos + 1 : 0; /* 1-based column, as lay_parse */
    return p.failed ? LAY_ERR_PARSE : LAY_OK;
}

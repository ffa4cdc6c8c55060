/* tests/test_layout_shared.c - shared layouts: hand-checked offsets, the
 * swizzle's bijectivity and bank-conflict freedom (PTX-FACTS.md: 32 banks of
 * 4 bytes, 16-byte accesses served per quarter warp, conflict-free when the 8
 * addresses fall in 8 distinct 16-byte bank groups), print/parse. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"

static int64_t off2(SharedLayout s, int r, int c)
{
    int32_t idx[2] = {r, c};
    return lay_shared_offset(s, idx);
}

Test(layout_shared, row_major_by_hand)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_row_major(&s, 2, (int[]){4, 6}, 16), LAY_OK);
    cr_assert_eq(lay_shared_size(s), 48);
    cr_assert_eq(off2(s, 0, 0), 0);
    cr_assert_eq(off2(s, 0, 1), 2);
    cr_assert_eq(off2(s, 1, 0), 12);
    cr_assert_eq(off2(s, 3, 5), 46);
    cr_assert_eq(off2(s, 4, 0), -1);
    cr_assert_eq(off2(s, 0, 6), -1);
    cr_assert_eq(off2(s, -1, 0), -1);

    cr_assert_eq(lay_shared_row_major(&s, 3, (int[]){2, 3, 4}, 32), LAY_OK);
    cr_assert_eq(lay_shared_size(s), 96);
    cr_assert_eq(s.stride[0], 12);
    cr_assert_eq(s.stride[1], 4);
    cr_assert_eq(s.stride[2], 1);
    cr_assert_eq(lay_shared_offset(s, (int32_t[]){1, 2, 3}), (12 + 8 + 3) * 4);

    cr_assert_eq(lay_shared_row_major(&s, 1, (int[]){10}, 3), LAY_OK); /* u3 bit stream */
    cr_assert_eq(lay_shared_size(s), 4);
    cr_assert_eq(lay_shared_bit_offset(s, (int32_t[]){3}), 9);
    cr_assert_eq(lay_shared_offset(s, (int32_t[]){3}), 1);
    cr_assert_eq(lay_shared_bit_offset(s, (int32_t[]){9}), 27);
}

Test(layout_shared, column_major_by_hand)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_column_major(&s, 2, (int[]){4, 6}, 8), LAY_OK);
    cr_assert_eq(lay_shared_size(s), 24);
    cr_assert_eq(off2(s, 1, 0), 1);
    cr_assert_eq(off2(s, 0, 1), 4);
    cr_assert_eq(off2(s, 3, 5), 23);
    cr_assert_eq(lay_shared_column_major(&s, 3, (int[]){2, 3, 4}, 16), LAY_OK);
    cr_assert_eq(lay_shared_offset(s, (int32_t[]){1, 2, 3}), (1 + 2 * 2 + 3 * 6) * 2);
}

Test(layout_shared, padded_by_hand)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_padded(&s, 2, (int[]){4, 8}, 16, 2), LAY_OK);
    cr_assert_eq(s.stride[0], 10);
    cr_assert_eq(off2(s, 1, 0), 20);
    cr_assert_eq(off2(s, 3, 7), (30 + 7) * 2);
    cr_assert_eq(lay_shared_size(s), 76); /* the last element ends at byte 76: no trailing pad */
    cr_assert_eq(lay_shared_padded(&s, 3, (int[]){2, 4, 8}, 16, 8), LAY_OK);
    cr_assert_eq(s.stride[0], 64);
    cr_assert_eq(s.stride[1], 16);
    cr_assert_eq(lay_shared_offset(s, (int32_t[]){1, 3, 2}), (64 + 48 + 2) * 2);
    SharedLayout r;
    cr_assert_eq(lay_shared_padded(&s, 2, (int[]){4, 8}, 16, 0), LAY_OK);
    cr_assert_eq(lay_shared_row_major(&r, 2, (int[]){4, 8}, 16), LAY_OK);
    cr_assert(lay_shared_eq(s, r));
    cr_assert_eq(lay_shared_padded(&s, 2, (int[]){4, 8}, 16, -1), LAY_ERR_SHAPE);
}

Test(layout_shared, swizzle_formula)
{
    LaySwizzle sw = {3, 4, 3};
    /* x ^ ((x >> 3) & 0x70): row 1 of a 128-byte-row tile, chunk 0 -> chunk 1 */
    cr_assert_eq(lay_swizzle_apply(sw, 128), 128 + 16);
    cr_assert_eq(lay_swizzle_apply(sw, 128 + 16), 128);
    cr_assert_eq(lay_swizzle_apply(sw, 7 * 128 + 3 * 16 + 5), 7 * 128 + (3 ^ 7) * 16 + 5);
    cr_assert_eq(lay_swizzle_apply((LaySwizzle){0, 0, 0}, 12345), 12345);
    SharedLayout s;
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){64, 64}, 16), LAY_OK);
    cr_assert_eq(s.swizzle.bits, 3);
    cr_assert_eq(s.swizzle.base, 4);
    cr_assert_eq(s.swizzle.shift, 3);
    cr_assert_eq(lay_shared_size(s), 8192);
    /* element (r, c): chunk (c / 8) ^ (r % 8), element c % 8 within it */
    cr_assert_eq(off2(s, 0, 0), 0);
    cr_assert_eq(off2(s, 1, 0), 128 + 16);
    cr_assert_eq(off2(s, 5, 19), 5 * 128 + (2 ^ 5) * 16 + 3 * 2);
    cr_assert_eq(off2(s, 13, 63), 13 * 128 + (7 ^ 5) * 16 + 7 * 2);
}

Test(layout_shared, swizzle_choice_by_row_size)
{
    static const struct {
        int rows, cols, bits;
        int8_t sb, sbase, sshift;
    } c[] = {
        {16, 8, 16, 0, 0, 0},   /* 16-byte rows: no swizzle */
        {16, 16, 16, 1, 4, 3},  /* 32 */
        {16, 32, 16, 2, 4, 3},  /* 64 */
        {16, 64, 16, 3, 4, 3},  /* 128 */
        {16, 128, 16, 3, 4, 4}, /* 256: row index at bit 8 */
        {8, 128, 32, 3, 4, 5},  /* 512 */
        {8, 64, 8, 2, 4, 3},    /* 64 bytes of u8 */
        {8, 256, 4, 3, 4, 3},   /* 128 bytes of u4 */
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        SharedLayout s;
        cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){c[k].rows, c[k].cols}, c[k].bits),
                     LAY_OK, "case %zu", k);
        cr_assert(s.swizzle.bits == c[k].sb && s.swizzle.base == c[k].sbase &&
                      s.swizzle.shift == c[k].sshift,
                  "case %zu: (%d,%d,%d)", k, s.swizzle.bits, s.swizzle.base, s.swizzle.shift);
    }
    SharedLayout s;
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 24}, 16), LAY_ERR_SHAPE); /* 48 B */
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 4}, 16), LAY_ERR_SHAPE);  /* 8 B */
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 96}, 16), LAY_ERR_SHAPE); /* 192 B */
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 128}, 3), LAY_ERR_SHAPE); /* u3 */
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 64}, 12), LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 0, (int[]){8}, 16), LAY_ERR_RANK);
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){0, 64}, 16), LAY_ERR_SHAPE);
}

static const int bits_of[] = {16, 8, 32};

static void check_bijection(SharedLayout s)
{
    int64_t size = lay_shared_size(s), n = 1;
    for (int d = 0; d < s.rank; d++)
        n *= s.shape[d];
    int eb = s.elem_bits / 8;
    cr_assert_eq(n * eb, size, "a dense swizzled tile fills its size exactly");
    unsigned char *seen = calloc((size_t)size, 1);
    int32_t idx[LAY_MAX_DIMS] = {0};
    for (int64_t e = 0; e < n; e++) {
        int64_t x = e;
        for (int d = s.rank - 1; d >= 0; d--) {
            idx[d] = (int32_t)(x % s.shape[d]);
            x /= s.shape[d];
        }
        int64_t o = lay_shared_offset(s, idx);
        cr_assert(o >= 0 && o + eb <= size && o % eb == 0, "offset %lld", (long long)o);
        cr_assert_eq(seen[o], 0, "offset %lld hit twice", (long long)o);
        memset(seen + o, 1, (size_t)eb);
    }
    free(seen);
}

Test(layout_shared, swizzled_bijection)
{
    static const int shapes[][4] = {
        {2, 64, 64}, {2, 8, 64},   {2, 16, 128}, {2, 32, 16},    {2, 8, 8},   {3, 2, 32, 32},
        {2, 24, 32}, {1, 64},      {1, 512},     {2, 128, 256},  {3, 3, 8, 64}, {2, 40, 32},
        {2, 1, 64},  {3, 2, 8, 256}, {2, 7, 128},
    };
    int tested = 0;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int b = 0; b < 3; b++) {
            SharedLayout s;
            if (lay_shared_swizzled_row_major(&s, shapes[k][0], shapes[k] + 1, bits_of[b]) != LAY_OK)
                continue; /* row bytes not 16 * 2^k */
            check_bijection(s);
            tested++;
        }
    cr_assert_geq(tested, 30);
}

/* u4 (power of two, sub-byte): the swizzle moves whole 16-byte chunks, so
 * nibbles stay paired in their byte, low nibble first (VM.md 3). */
Test(layout_shared, swizzled_sub_byte)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){16, 256}, 4), LAY_OK);
    cr_assert_eq(lay_shared_size(s), 16 * 128);
    unsigned char *seen = calloc((size_t)lay_shared_size(s) * 2, 1);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 256; c++) {
            int64_t b = lay_shared_bit_offset(s, (int32_t[]){r, c});
            cr_assert(b >= 0 && b % 4 == 0 && b / 8 < lay_shared_size(s));
            cr_assert_eq(b % 8, (c % 2) * 4);
            cr_assert_eq(b / 8, r * 128 + (((c / 32) ^ (r % 8)) * 16) + (c % 32) / 2);
            cr_assert_eq(seen[b / 4], 0);
            seen[b / 4] = 1;
        }
    free(seen);
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){16, 128}, 2), LAY_OK);
    cr_assert_eq(s.swizzle.bits, 1, "32-byte rows of u2");
}

static int group(int64_t off) { return (int)((off / 16) % 8); }

/* ldmatrix: 8 rows x 16 bytes at row r0 and 16-byte column chunk ch. The
 * element at the chunk's start is the row address. */
static void check_ldmatrix(SharedLayout s, int r0, int ch)
{
    int per = 128 / s.elem_bits, seen = 0;
    for (int r = r0; r < r0 + 8; r++) {
        int64_t o = off2(s, r, ch * per);
        cr_assert(o % 16 == 0, "row address 16-byte aligned");
        for (int e = 1; e < per; e++)
            cr_assert_eq(off2(s, r, ch * per + e), o + e * s.elem_bits / 8, "16 contiguous bytes");
        cr_assert_eq(seen & (1 << group(o)), 0, "rows %d..%d chunk %d: bank group %d twice", r0,
                     r0 + 7, ch, group(o));
        seen |= 1 << group(o);
    }
    cr_assert_eq(seen, 0xFF);
}

Test(layout_shared, ldmatrix_conflict_free)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){64, 64}, 16), LAY_OK);
    /* every 8-row block and every chunk; also unaligned row starts */
    for (int r0 = 0; r0 + 8 <= 64; r0++)
        for (int ch = 0; ch < 8; ch++)
            check_ldmatrix(s, r0, ch);
    /* 32 distinct 4-byte banks for the 8 rows of one matrix */
    for (int r0 = 0; r0 < 64; r0 += 8)
        for (int ch = 0; ch < 8; ch++) {
            uint32_t banks = 0;
            for (int r = r0; r < r0 + 8; r++)
                for (int w = 0; w < 4; w++)
                    banks |= 1u << ((off2(s, r, ch * 8) / 4 + w) % 32);
            cr_assert_eq(banks, 0xFFFFFFFFu);
        }
    /* other row sizes and dtypes */
    static const int shp[][3] = {{32, 32, 16}, {32, 16, 16}, {16, 128, 16}, {16, 64, 32},
                                 {16, 128, 8}, {16, 64, 8},  {24, 32, 32},  {16, 256, 16}};
    for (size_t k = 0; k < sizeof shp / sizeof shp[0]; k++) {
        cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, shp[k], shp[k][2]), LAY_OK);
        int chunks = shp[k][1] * shp[k][2] / 128;
        for (int r0 = 0; r0 + 8 <= shp[k][0]; r0++)
            for (int ch = 0; ch < chunks; ch++)
                check_ldmatrix(s, r0, ch);
    }
    /* the plain row-major 64x64 f16 tile conflicts (8-way): the test can fail */
    cr_assert_eq(lay_shared_row_major(&s, 2, (int[]){64, 64}, 16), LAY_OK);
    cr_assert_eq(group(off2(s, 0, 0)), group(off2(s, 1, 0)));
}

/* 16-byte cp.async: thread t of the block copies the t-th 16-byte chunk of the
 * tile in row-major order; each quarter warp (8 consecutive threads) must hit
 * 8 distinct bank groups. */
Test(layout_shared, cp_async_conflict_free)
{
    static const int shp[][3] = {{64, 64, 16}, {32, 32, 16}, {32, 16, 16}, {16, 128, 16},
                                 {64, 32, 32}, {16, 128, 8}, {32, 32, 8},  {8, 512, 16}};
    for (size_t k = 0; k < sizeof shp / sizeof shp[0]; k++) {
        SharedLayout s;
        cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, shp[k], shp[k][2]), LAY_OK);
        int per = 128 / shp[k][2], chunks_per_row = shp[k][1] / per;
        int nchunks = shp[k][0] * chunks_per_row;
        for (int q0 = 0; q0 < nchunks; q0 += 8) {
            int seen = 0;
            for (int t = q0; t < q0 + 8; t++) {
                int r = t / chunks_per_row, c = (t % chunks_per_row) * per;
                int64_t o = off2(s, r, c);
                cr_assert(o % 16 == 0);
                cr_assert_eq(off2(s, r, c + per - 1), o + 16 - shp[k][2] / 8);
                cr_assert_eq(seen & (1 << group(o)), 0, "case %zu chunk %d", k, t);
                seen |= 1 << group(o);
            }
        }
    }
}

Test(layout_shared, make_validates)
{
    SharedLayout s;
    LaySwizzle none = {0, 0, 0};
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){4, 4}, (int[]){4, 1}, 16, none), LAY_OK);
    cr_assert_eq(lay_shared_make(&s, 0, (int[]){4}, (int[]){1}, 16, none), LAY_ERR_RANK);
    cr_assert_eq(lay_shared_make(&s, 9, (int[9]){0}, (int[9]){0}, 16, none), LAY_ERR_RANK);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){4, 4}, (int[]){4, -1}, 16, none), LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){4, 0}, (int[]){4, 1}, 16, none), LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){4, 4}, (int[]){4, 1}, 0, none), LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){4, 4}, (int[]){4, 1}, 65, none), LAY_ERR_SHAPE);
    /* swizzles: shift < bits, non-power-of-two width, chunk smaller than an element */
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){8, 64}, (int[]){64, 1}, 16, (LaySwizzle){3, 4, 2}),
                 LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){8, 64}, (int[]){64, 1}, 6, (LaySwizzle){3, 4, 3}),
                 LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){8, 64}, (int[]){64, 1}, 64, (LaySwizzle){3, 2, 3}),
                 LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){8, 64}, (int[]){64, 1}, 64, (LaySwizzle){3, 3, 3}),
                 LAY_OK);
    /* a swizzled layout's size is rounded up to the swizzle's period */
    cr_assert_eq(lay_shared_make(&s, 2, (int[]){3, 8}, (int[]){8, 1}, 16, (LaySwizzle){2, 4, 3}),
                 LAY_OK);
    cr_assert_eq(lay_shared_size(s), 64);
    /* too large */
    cr_assert_eq(lay_shared_row_major(&s, 3, (int[]){65536, 65536, 2}, 8), LAY_ERR_SHAPE);
    cr_assert_eq(lay_shared_row_major(&s, 2, (int[]){65536, 32768}, 16), LAY_ERR_SHAPE);
}

Test(layout_shared, equality)
{
    SharedLayout a, b;
    cr_assert_eq(lay_shared_row_major(&a, 2, (int[]){8, 64}, 16), LAY_OK);
    cr_assert_eq(lay_shared_make(&b, 2, (int[]){8, 64}, (int[]){64, 1}, 16, (LaySwizzle){0, 5, 9}),
                 LAY_OK);
    cr_assert(lay_shared_eq(a, b), "a zero-bit swizzle is no swizzle");
    cr_assert_eq(lay_shared_hash(a), lay_shared_hash(b));
    cr_assert_eq(lay_shared_swizzled_row_major(&b, 2, (int[]){8, 64}, 16), LAY_OK);
    cr_assert_not(lay_shared_eq(a, b));
    cr_assert_eq(lay_shared_row_major(&b, 2, (int[]){8, 64}, 8), LAY_OK);
    cr_assert_not(lay_shared_eq(a, b));
    cr_assert_eq(lay_shared_column_major(&b, 2, (int[]){8, 64}, 16), LAY_OK);
    cr_assert_not(lay_shared_eq(a, b));
    cr_assert_eq(lay_shared_padded(&b, 2, (int[]){8, 64}, 16, 8), LAY_OK);
    cr_assert_not(lay_shared_eq(a, b));
    cr_assert_neq(lay_shared_hash(a), lay_shared_hash(b));
    cr_assert_eq(lay_shared_swizzled_row_major(&b, 2, (int[]){8, 64}, 16), LAY_OK);
    cr_assert_neq(lay_shared_hash(a), lay_shared_hash(b));
}

static void round_trip(SharedLayout s, const char *expect)
{
    char buf[256], err[128];
    int n = lay_shared_print(s, buf, sizeof buf);
    cr_assert_eq(n, (int)strlen(buf));
    if (expect)
        cr_assert_str_eq(buf, expect);
    SharedLayout t;
    int pos = 99;
    cr_assert_eq(lay_shared_parse(buf, &t, &pos, err, sizeof err), LAY_OK, "%s: %s", buf, err);
    cr_assert_eq(pos, 0);
    cr_assert(lay_shared_eq(s, t), "%s", buf);
}

Test(layout_shared, print_parse_round_trip)
{
    SharedLayout s;
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){64, 64}, 16), LAY_OK);
    round_trip(s, "shared(shape=[64,64], strides=[64,1], bits=16, swizzle=(3,4,3))");
    cr_assert_eq(lay_shared_row_major(&s, 3, (int[]){2, 3, 4}, 8), LAY_OK);
    round_trip(s, "shared(shape=[2,3,4], strides=[12,4,1], bits=8)");
    cr_assert_eq(lay_shared_column_major(&s, 2, (int[]){16, 8}, 32), LAY_OK);
    round_trip(s, "shared(shape=[16,8], strides=[1,16], bits=32)");
    cr_assert_eq(lay_shared_padded(&s, 2, (int[]){16, 64}, 16, 8), LAY_OK);
    round_trip(s, "shared(shape=[16,64], strides=[72,1], bits=16)");
    cr_assert_eq(lay_shared_row_major(&s, 1, (int[]){100}, 3), LAY_OK);
    round_trip(s, NULL);
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 3, (int[]){2, 8, 128}, 16), LAY_OK);
    round_trip(s, NULL);
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){8, 32}, 8), LAY_OK);
    round_trip(s, NULL);

    /* truncated output keeps the full length and a terminated prefix */
    char small[10];
    cr_assert_eq(lay_shared_swizzled_row_major(&s, 2, (int[]){64, 64}, 16), LAY_OK);
    cr_assert_eq(lay_shared_print(s, small, sizeof small), 63);
    cr_assert_str_eq(small, "shared(sh");
    cr_assert_eq(lay_shared_print(s, NULL, 0), 63);
}

Test(layout_shared, parse_forms)
{
    SharedLayout s, e;
    char err[128];
    int pos;
    cr_assert_eq(lay_shared_parse("  shared ( bits = 16 , shape = [ 64 , 64 ] , swizzle=(3,4,3) ) ",
                                  &s, &pos, err, sizeof err),
                 LAY_OK, "%s", err);
    cr_assert_eq(lay_shared_swizzled_row_major(&e, 2, (int[]){64, 64}, 16), LAY_OK);
    cr_assert(lay_shared_eq(s, e), "strides default to row-major");
    cr_assert_eq(lay_shared_parse("shared(shape=[8,8],bits=16,swizzle=(0,4,3))", &s, &pos, err,
                                  sizeof err),
                 LAY_OK);
    cr_assert_eq(lay_shared_row_major(&e, 2, (int[]){8, 8}, 16), LAY_OK);
    cr_assert(lay_shared_eq(s, e));
}

Test(layout_shared, parse_errors)
{
    static const struct {
        const char *text;
        int pos;
        const char *msg; /* a word the message must contain */
    } bad[] = {
        {"", 0, "shared"},
        {"local(2,2)", 0, "shared"},
        {"shared", 6, "("},
        {"shared(", 7, "field"},
        {"shared(shape=[4,4]", 18, "')'"},
        {"shared(shape=[4,4], bits=16", 27, "')'"},
        {"shared(shape=[4,4], bits=16))", 28, "unexpected"},
        {"shared(shape=[4,4], bits=16) x", 29, "unexpected"},
        {"shared(shape=[4,4])", 19, "bits"},
        {"shared(bits=8)", 14, "shape"},
        {"shared(shape=[4,4], bits=16, colour=1)", 29, "unknown"},
        {"shared(shape=[4,4], shape=[4,4], bits=16)", 20, "duplicate"},
        {"shared(shape=[4,x], bits=16)", 16, "integer"},
        {"shared(shape=[4,-4], bits=16)", 16, "integer"},
        {"shared(shape=[4,4 4], bits=16)", 18, "']'"},
        {"shared(shape=4, bits=16)", 13, "'['"},
        {"shared(shape=[4,4], bits 16)", 25, "'='"},
        {"shared(shape=[4,4], bits=99999999999)", 25, "large"},
        {"shared(shape=[4,4], bits=0)", 25, "bits"},
        {"shared(shape=[4,0], bits=8)", 13, "positive"},
        {"shared(shape=[1,2,3,4,5,6,7,8,9], bits=8)", 30, "dims"},
        {"shared(shape=[4,4], strides=[1], bits=8)", 28, "length"},
        {"shared(shape=[8,64], bits=12, swizzle=(3,4,3))", 38, "power-of-two"},
        {"shared(shape=[8,64], bits=16, swizzle=(3,4,2))", 38, "shift"},
        {"shared(shape=[8,64], bits=16, swizzle=(3,4))", 42, "','"},
        {"shared(shape=[8,64], bits=16, swizzle=(99,4,3))", 38, "range"},
        {"shared(shape=[65536,65536], bits=16)", 0, "large"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        SharedLayout s;
        memset(&s, 0x5A, sizeof s);
        SharedLayout before = s;
        char err[128] = "";
        int pos = -7;
        cr_assert_eq(lay_shared_parse(bad[k].text, &s, &pos, err, sizeof err), LAY_ERR_PARSE,
                     "%s", bad[k].text);
        cr_assert_eq(pos, bad[k].pos + 1, "%s: column %d (%s)", bad[k].text, pos, err);
        cr_assert(strstr(err, bad[k].msg), "%s: message '%s'", bad[k].text, err);
        cr_assert_eq(memcmp(&s, &before, sizeof s), 0, "out untouched on error");
    }
    /* NULL errpos / no message buffer are allowed */
    SharedLayout s;
    cr_assert_eq(lay_shared_parse("shared(", &s, NULL, NULL, 0), LAY_ERR_PARSE);
}

/* Every prefix of valid texts, and fixed-seed byte mutations, fail cleanly or
 * parse to something that prints and parses back equal. */
Test(layout_shared, parse_never_crashes)
{
    const char *good = "shared(shape=[16,64], strides=[64,1], bits=16, swizzle=(3,4,3))";
    char buf[128], out[256], err[64];
    size_t n = strlen(good);
    for (size_t k = 0; k <= n; k++) {
        memcpy(buf, good, k);
        buf[k] = '\0';
        SharedLayout s;
        int pos;
        LayStatus st = lay_shared_parse(buf, &s, &pos, err, sizeof err);
        cr_assert_eq(st, k == n ? LAY_OK : LAY_ERR_PARSE, "prefix %zu", k);
        if (st != LAY_OK)
            cr_assert(pos >= 1 && pos <= (int)k + 1, "prefix %zu: column %d", k, pos);
    }
    static const char alphabet[] = "shared(),=[] 0123456789-xbitswzlpe";
    uint32_t seed = 12345;
    for (int it = 0; it < 20000; it++) {
        strcpy(buf, good);
        for (int m = 0; m < 3; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            buf[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        SharedLayout s, t;
        int pos;
        if (lay_shared_parse(buf, &s, &pos, err, sizeof err) == LAY_OK) {
            cr_assert_eq(pos, 0);
            lay_shared_print(s, out, sizeof out);
            cr_assert_eq(lay_shared_parse(out, &t, &pos, err, sizeof err), LAY_OK, "%s", out);
            cr_assert(lay_shared_eq(s, t), "%s", buf);
        } else {
            cr_assert(pos >= 1 && pos <= (int)strlen(buf) + 1, "%s: column %d", buf, pos);
        }
    }
}

/* tests/test_layout.c - register layouts on hand-checked examples: each
 * primitive's apply/owners, the mma.m16n8k16 accumulator fragment, canonical
 * equality, product padding, divide, reduce, permute/reshape/flatten/stack,
 * contiguity and symbolic apply (VM.md 4.1). Expected values are written
 * from the definitions, not from the code. */
#include "layout/layout.h"

#include <criterion/criterion.h>

#define DIMS(...) (int[]){__VA_ARGS__}, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int))

static Layout mk(LayStatus (*f)(Layout *, int, const int *), const int *d, int r)
{
    Layout L;
    cr_assert_eq(f(&L, r, d), LAY_OK);
    return L;
}
#define LOC(...) mk(lay_local, DIMS(__VA_ARGS__))
#define SPA(...) mk(lay_spatial, DIMS(__VA_ARGS__))
#define CLOC(...) mk(lay_column_local, DIMS(__VA_ARGS__))
#define CSPA(...) mk(lay_column_spatial, DIMS(__VA_ARGS__))

static Layout rep(int r)
{
    Layout L;
    cr_assert_eq(lay_replicate(&L, r), LAY_OK);
    return L;
}

static Layout mul(Layout a, Layout b)
{
    Layout L;
    cr_assert_eq(lay_product(&L, a, b), LAY_OK);
    return L;
}

static Layout mma_c(void)
{
    return mul(mul(LOC(2, 1), SPA(8, 4)), LOC(1, 2));
}

static void expect_eq(Layout a, Layout b)
{
    char sa[512], sb[512];
    lay_print(a, sa, sizeof sa);
    lay_print(b, sb, sizeof sb);
    cr_expect(lay_eq(a, b), "%s != %s", sa, sb);
    cr_expect_eq(lay_hash(a), lay_hash(b), "hash of %s", sa);
}

/* The single owner of idx must be (t, l). */
static void expect_owner(Layout L, const int32_t *idx, int t, int l)
{
    int ot[4], ol[4];
    int k = lay_owners(L, idx, ot, ol, 4);
    cr_expect_eq(k, 1, "owners count %d", k);
    cr_expect(ot[0] == t && ol[0] == l, "owner (%d,%d), expected (%d,%d)", ot[0], ol[0], t, l);
    int32_t back[LAY_MAX_DIMS];
    lay_apply(L, t, l, back);
    for (int d = 0; d < L.rank; d++)
        cr_expect_eq(back[d], idx[d]);
}

Test(layout, local_row_major)
{
    Layout L = LOC(2, 3);
    cr_expect_eq(lay_num_threads(L), 1);
    cr_expect_eq(lay_local_size(L), 6);
    cr_expect_eq(lay_numel(L), 6);
    for (int l = 0; l < 6; l++)
        expect_owner(L, (int32_t[]){l / 3, l % 3}, 0, l);
}

Test(layout, spatial_row_major)
{
    Layout L = SPA(2, 3);
    cr_expect_eq(lay_num_threads(L), 6);
    cr_expect_eq(lay_local_size(L), 1);
    for (int t = 0; t < 6; t++)
        expect_owner(L, (int32_t[]){t / 3, t % 3}, t, 0);
}

Test(layout, column_variants)
{
    Layout a = CLOC(2, 3), b = CSPA(2, 3);
    for (int l = 0; l < 6; l++)
        expect_owner(a, (int32_t[]){l % 2, l / 2}, 0, l);
    for (int t = 0; t < 6; t++)
        expect_owner(b, (int32_t[]){t % 2, t / 2}, t, 0);
    cr_expect(!lay_eq(a, LOC(2, 3)));
    cr_expect(!lay_eq(b, SPA(2, 3)));
    expect_eq(CLOC(1, 5), LOC(1, 5));
    expect_eq(CLOC(2, 3), mul(LOC(1, 3), LOC(2, 1)));
    expect_eq(CSPA(4, 2, 3), mul(mul(SPA(1, 1, 3), SPA(1, 2, 1)), SPA(4, 1, 1)));
}

Test(layout, replicate)
{
    Layout R = rep(4);
    cr_expect_eq(R.rank, 0);
    cr_expect_eq(lay_num_threads(R), 4);
    cr_expect_eq(lay_local_size(R), 1);
    int t[8], l[8];
    cr_expect_eq(lay_owners(R, NULL, t, l, 8), 4);
    for (int i = 0; i < 4; i++)
        cr_expect(t[i] == i && l[i] == 0);
    /* spatial(2) * replicate(3) * local(2): element i held by threads
     * (i/2)*3 + 0..2 at local i%2 */
    Layout L = mul(mul(SPA(2), rep(3)), LOC(2));
    cr_expect_eq(lay_num_threads(L), 6);
    cr_expect_eq(lay_local_size(L), 2);
    for (int i = 0; i < 4; i++) {
        int k = lay_owners(L, (int32_t[]){i}, t, l, 8);
        cr_expect_eq(k, 3);
        for (int j = 0; j < 3; j++)
            cr_expect(t[j] == (i / 2) * 3 + j && l[j] == i % 2, "idx %d owner %d", i, j);
    }
    cr_expect_eq(lay_owners(L, (int32_t[]){1}, t, l, 2), 3, "count beyond cap");
    cr_expect_eq(lay_owners(L, (int32_t[]){4}, t, l, 8), 0, "out of range");
    cr_expect_eq(lay_owners(L, (int32_t[]){-1}, t, l, 8), 0, "negative");
}

Test(layout, mma_accumulator)
{
    Layout C = mma_c();
    cr_expect_eq(C.rank, 2);
    cr_expect(C.shape[0] == 16 && C.shape[1] == 8);
    cr_expect_eq(lay_num_threads(C), 32);
    cr_expect_eq(lay_local_size(C), 4);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++)
            expect_owner(C, (int32_t[]){r, c}, (r % 8) * 4 + c / 2, (r / 8) * 2 + c % 2);
}

Test(layout, canonical_equality)
{
    expect_eq(mul(LOC(2, 1), LOC(2, 1)), LOC(4, 1));
    expect_eq(mul(SPA(2), SPA(4)), SPA(8));
    expect_eq(mul(LOC(2, 1), LOC(1, 2)), LOC(2, 2));
    expect_eq(mul(rep(2), rep(3)), rep(6));
    expect_eq(mul(mul(SPA(4), rep(2)), rep(2)), mul(SPA(4), rep(4)));
    expect_eq(mul(rep(1), LOC(4)), LOC(4));
    expect_eq(mul(LOC(3), LOC(5)), LOC(15));
    Layout L = LOC(4, 1);
    cr_expect_eq(L.nmodes, 1);
    cr_expect_eq(L.nlocal, 1);
    Layout one = LOC(1, 1);
    cr_expect_eq(one.nmodes, 0);
    cr_expect_eq(lay_local_size(one), 1);
    expect_eq(one, SPA(1, 1));
    cr_expect(!lay_eq(LOC(2, 2), CLOC(2, 2)));
    cr_expect(!lay_eq(LOC(4), SPA(4)));
    cr_expect(!lay_eq(LOC(4), LOC(1, 4)), "rank differs");
    cr_expect(!lay_eq(mul(LOC(2), SPA(2)), mul(SPA(2), LOC(2))));
    cr_expect(!lay_eq(mul(SPA(2), rep(2)), mul(rep(2), SPA(2))));
    /* spatial(2,1) * local(2,1) * spatial(2,1): spatial modes not adjacent in
     * their dim, so they stay apart */
    Layout s = mul(mul(SPA(2, 1), LOC(2, 1)), SPA(2, 1));
    cr_expect_eq(s.nmodes, 3);
    cr_expect_eq(s.nspatial, 2);
}

Test(layout, canon_of_hand_built)
{
    Layout L = {0};
    L.rank = 1;
    L.shape[0] = 8;
    L.nmodes = 3;
    L.mode_size[0] = 2, L.mode_size[1] = 1, L.mode_size[2] = 4;
    L.nlocal = 3;
    L.local[0] = 0, L.local[1] = 1, L.local[2] = 2;
    cr_expect_eq(lay_canon(&L), LAY_OK);
    expect_eq(L, LOC(8));
    Layout bad = {0};
    bad.rank = 1;
    bad.shape[0] = 8;
    bad.nmodes = 1;
    bad.mode_size[0] = 4;
    bad.nlocal = 1;
    cr_expect_eq(lay_canon(&bad), LAY_ERR_SHAPE, "modes do not multiply to the shape");
    bad.rank = 100;
    cr_expect_eq(lay_canon(&bad), LAY_ERR_RANK);
}

Test(layout, literal_constructor)
{
    Layout L;
    /* the mma C fragment as a literal */
    cr_expect_eq(lay_literal(&L, 2, (int[]){16, 8}, 4, (int[]){2, 8, 4, 2}, (int[]){0, 0, 1, 1}, 2,
                             (int[]){1, 2}, 2, (int[]){0, 3}),
                 LAY_OK);
    expect_eq(L, mma_c());
    cr_expect_eq(lay_literal(&L, 1, (int[]){4}, 1, (int[]){4}, (int[]){0}, 1, (int[]){0}, 1,
                             (int[]){0}),
                 LAY_ERR_SHAPE, "mode used twice");
    cr_expect_eq(lay_literal(&L, 1, (int[]){4}, 1, (int[]){4}, (int[]){0}, 0, NULL, 0, NULL),
                 LAY_ERR_SHAPE, "mode unused");
    cr_expect_eq(lay_literal(&L, 2, (int[]){2, 2}, 2, (int[]){2, 2}, (int[]){1, 0}, 2,
                             (int[]){0, 1}, 0, NULL),
                 LAY_ERR_SHAPE, "dims out of order");
    cr_expect_eq(lay_literal(&L, 1, (int[]){4}, 1, (int[]){4}, (int[]){0}, 2, (int[]){0, -3}, 0,
                             NULL),
                 LAY_OK);
    cr_expect_eq(lay_num_threads(L), 12);
}

Test(layout, product_padding)
{
    /* local(2) * spatial(3,4): local(2) padded to (1,2); shape (3,8);
     * element (i,j): t = i*4 + j%4, l = j/4 */
    Layout L = mul(LOC(2), SPA(3, 4));
    cr_expect(L.rank == 2 && L.shape[0] == 3 && L.shape[1] == 8);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 8; j++)
            expect_owner(L, (int32_t[]){i, j}, i * 4 + j % 4, j / 4);
    /* spatial(3,4) * local(2): (i,j): t = i*4 + j/2, l = j%2 */
    Layout R = mul(SPA(3, 4), LOC(2));
    cr_expect(R.rank == 2 && R.shape[0] == 3 && R.shape[1] == 8);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 8; j++)
            expect_owner(R, (int32_t[]){i, j}, i * 4 + j / 2, j % 2);
    Layout S = mul(rep(2), LOC(3, 1, 2));
    cr_expect(S.rank == 3 && S.shape[0] == 3 && S.shape[2] == 2);
    cr_expect_eq(lay_num_threads(S), 2);
}

Test(layout, non_power_of_two)
{
    /* local(3) * spatial(5): i -> thread i%5, local i/5 */
    Layout L = mul(LOC(3), SPA(5));
    cr_expect_eq(L.shape[0], 15);
    cr_expect_eq(lay_num_threads(L), 5);
    cr_expect_eq(lay_local_size(L), 3);
    for (int i = 0; i < 15; i++)
        expect_owner(L, (int32_t[]){i}, i % 5, i / 5);
    Layout M = mul(SPA(3, 1), LOC(1, 7));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 7; j++)
            expect_owner(M, (int32_t[]){i, j}, i, j);
}

Test(layout, capacity_errors)
{
    Layout L;
    cr_expect_eq(lay_local(&L, 9, (int[]){1, 1, 1, 1, 1, 1, 1, 1, 1}), LAY_ERR_RANK);
    cr_expect_eq(lay_local(&L, 2, (int[]){0, 1}), LAY_ERR_SHAPE);
    cr_expect_eq(lay_spatial(&L, 1, (int[]){-3}), LAY_ERR_SHAPE);
    cr_expect_eq(lay_replicate(&L, 0), LAY_ERR_SHAPE);
    cr_expect_eq(lay_local(&L, 1, (int[]){LAY_MAX_EXTENT + 1}), LAY_ERR_SHAPE);
    Layout big = LOC(1 << 20);
    cr_expect_eq(lay_product(&L, big, big), LAY_ERR_SHAPE, "n over the extent limit");
    /* alternating local/spatial on one dim never merge: 25 modes overflow */
    Layout acc = LOC(2);
    LayStatus st = LAY_OK;
    for (int i = 1; i < 25 && st == LAY_OK; i++)
        st = lay_product(&acc, acc, i % 2 ? SPA(2) : LOC(2));
    cr_expect_eq(st, LAY_ERR_RANK);
    cr_expect_eq(lay_local(&L, 0, NULL), LAY_OK);
    cr_expect_eq(L.rank, 0);
}

Test(layout, status_strings)
{
    const char *s[] = {lay_status_str(LAY_OK), lay_status_str(LAY_ERR_RANK),
                       lay_status_str(LAY_ERR_SHAPE), lay_status_str(LAY_ERR_DIVIDE),
                       lay_status_str(LAY_ERR_PARSE)};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(s[i], s[j]);
    cr_expect_str_eq(lay_status_str(LAY_OK), "ok");
}

static void expect_divide(Layout a, Layout b, Layout want)
{
    Layout q;
    cr_expect_eq(lay_divide(&q, a, b), LAY_OK);
    expect_eq(q, want);
}

static void expect_left_divide(Layout a, Layout b, Layout want)
{
    Layout q;
    cr_expect_eq(lay_left_divide(&q, a, b), LAY_OK);
    expect_eq(q, want);
}

Test(layout, divide)
{
    Layout C = mma_c(), q;
    /* a warp tile of 2x4 mma atoms, and 4 warps side by side */
    expect_divide(mul(LOC(2, 4), C), C, LOC(2, 4));
    expect_divide(mul(SPA(1, 4), C), C, SPA(1, 4));
    expect_divide(mul(mul(SPA(2, 2), LOC(2, 2)), C), C, mul(SPA(2, 2), LOC(2, 2)));
    expect_divide(C, LOC(1, 2), mul(LOC(2, 1), SPA(8, 4)));
    expect_divide(C, C, LOC(1, 1));
    /* refinement by divisibility: 12 = 3 * 4 = 4 * 3 */
    expect_divide(LOC(12), LOC(4), LOC(3));
    expect_divide(LOC(12), LOC(3), LOC(4));
    expect_divide(LOC(4, 6), LOC(3), LOC(4, 2));
    expect_divide(mul(SPA(6), LOC(4)), LOC(2), mul(SPA(6), LOC(2)));
    expect_divide(mul(LOC(4), SPA(8)), SPA(2), mul(LOC(4), SPA(4)));
    expect_divide(SPA(4, 2), SPA(1, 2), SPA(4, 1));
    expect_divide(mul(SPA(4), rep(6)), rep(2), mul(SPA(4), rep(3)));
    expect_divide(LOC(1, 6), LOC(3), LOC(1, 2));
    /* failures, as values */
    cr_expect_eq(lay_divide(&q, LOC(12), LOC(5)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, LOC(12), LOC(8)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, SPA(8, 4), SPA(2, 1)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, mul(LOC(2, 4), C), SPA(8, 4)), LAY_ERR_DIVIDE,
                 "inner locals come first");
    cr_expect_eq(lay_divide(&q, LOC(8), SPA(2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, SPA(8), LOC(2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, SPA(4), rep(2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, mul(SPA(4), rep(2)), SPA(2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_divide(&q, LOC(4), LOC(2, 2)), LAY_ERR_DIVIDE, "rank beyond the layout");
    cr_expect_eq(lay_divide(&q, LOC(6), LOC(1, 3)), LAY_ERR_DIVIDE, "rank beyond the layout");
    /* spatial(2) * local(3) * spatial(2) on one dim: a spatial(4) atom would
     * need the two thread modes adjacent in the dim */
    cr_expect_eq(lay_divide(&q, mul(mul(SPA(2), LOC(3)), SPA(2)), SPA(4)), LAY_ERR_DIVIDE);
    /* mode order within a dim: local(2,1)*local(1,2) == local(2,2) is not
     * column_local(2,2) */
    cr_expect_eq(lay_divide(&q, LOC(4, 4), CLOC(2, 2)), LAY_ERR_DIVIDE);
    /* local(2,2) * local(2,2) interleaves (l = (i/2)*8 + (j/2)*4 + ...), so it
     * is not local(4,4), and local(2,2) does not divide local(4,4) */
    cr_expect_eq(lay_divide(&q, LOC(4, 4), LOC(2, 2)), LAY_ERR_DIVIDE);
    expect_divide(mul(LOC(2, 2), LOC(2, 2)), LOC(2, 2), LOC(2, 2));
    expect_divide(LOC(4, 4), LOC(1, 2), LOC(4, 2));
}

Test(layout, left_divide)
{
    Layout C = mma_c(), q;
    expect_left_divide(mul(LOC(2, 4), C), LOC(2, 4), C);
    expect_left_divide(mul(SPA(1, 4), C), SPA(1, 4), C);
    expect_left_divide(LOC(12), LOC(3), LOC(4));
    expect_left_divide(SPA(8, 4), SPA(2, 1), SPA(4, 4));
    expect_left_divide(C, LOC(2, 1), mul(SPA(8, 4), LOC(1, 2)));
    expect_left_divide(mul(rep(6), SPA(4)), rep(3), mul(rep(2), SPA(4)));
    cr_expect_eq(lay_left_divide(&q, SPA(8, 4), SPA(1, 2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_left_divide(&q, C, LOC(1, 2)), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_left_divide(&q, LOC(12), LOC(5)), LAY_ERR_DIVIDE);
}

/* The threads holding idx in L. */
static int threads_of(Layout L, const int32_t *idx, int *t)
{
    int l[256];
    return lay_owners(L, idx, t, l, 256);
}

Test(layout, reduce_keepdim)
{
    Layout C = mma_c(), R;
    cr_expect_eq(lay_reduce(&R, C, 1, (int[]){1}, true), LAY_OK);
    cr_expect(R.rank == 2 && R.shape[0] == 16 && R.shape[1] == 1);
    cr_expect_eq(lay_num_threads(R), 32);
    cr_expect_eq(lay_local_size(R), 2);
    /* row r: the 4 threads (r%8)*4 + 0..3, local r/8 */
    for (int r = 0; r < 16; r++) {
        int t[8], l[8];
        cr_expect_eq(lay_owners(R, (int32_t[]){r, 0}, t, l, 8), 4);
        for (int j = 0; j < 4; j++)
            cr_expect(t[j] == (r % 8) * 4 + j && l[j] == r / 8, "row %d owner %d", r, j);
    }
    expect_eq(R, mul(mul(mul(LOC(2, 1), SPA(8, 1)), rep(4)), LOC(1, 1)));
}

Test(layout, reduce_drop)
{
    Layout C = mma_c(), R;
    cr_expect_eq(lay_reduce(&R, C, 1, (int[]){0}, false), LAY_OK);
    cr_expect(R.rank == 1 && R.shape[0] == 8);
    cr_expect_eq(lay_num_threads(R), 32);
    cr_expect_eq(lay_local_size(R), 2);
    /* column c: threads g*4 + c/2 for g = 0..7, local c%2 */
    for (int c = 0; c < 8; c++) {
        int t[64];
        cr_expect_eq(threads_of(R, (int32_t[]){c}, t), 8);
        for (int g = 0; g < 8; g++)
            cr_expect_eq(t[g], g * 4 + c / 2);
    }
    expect_eq(R, mul(mul(rep(8), SPA(4)), LOC(2)));
    cr_expect_eq(lay_reduce(&R, SPA(4, 8), 1, (int[]){-1}, false), LAY_OK);
    expect_eq(R, mul(SPA(4), rep(8)));
    cr_expect_eq(lay_reduce(&R, LOC(4, 8), 1, (int[]){1}, false), LAY_OK);
    expect_eq(R, LOC(4));
    cr_expect_eq(lay_reduce(&R, C, 2, (int[]){0, 1}, false), LAY_OK);
    cr_expect_eq(R.rank, 0);
    expect_eq(R, rep(32));
    cr_expect_eq(lay_reduce(&R, C, 0, NULL, false), LAY_OK);
    expect_eq(R, C);
    cr_expect_eq(lay_reduce(&R, C, 1, (int[]){2}, false), LAY_ERR_SHAPE);
    cr_expect_eq(lay_reduce(&R, C, 2, (int[]){1, 1}, false), LAY_ERR_SHAPE);
}

Test(layout, permute)
{
    Layout C = mma_c(), P;
    cr_expect_eq(lay_permute(&P, C, (int[]){1, 0}), LAY_OK);
    cr_expect(P.shape[0] == 8 && P.shape[1] == 16);
    for (int t = 0; t < 32; t++)
        for (int l = 0; l < 4; l++) {
            int32_t a[2], b[2];
            lay_apply(C, t, l, a);
            lay_apply(P, t, l, b);
            cr_expect(a[0] == b[1] && a[1] == b[0]);
        }
    expect_eq(P, mul(mul(LOC(1, 2), CSPA(4, 8)), LOC(2, 1)));
    cr_expect_eq(lay_permute(&P, LOC(2, 3), (int[]){1, 0}), LAY_OK);
    expect_eq(P, CLOC(3, 2));
    cr_expect_eq(lay_permute(&P, SPA(2, 3, 4), (int[]){2, 0, 1}), LAY_OK);
    cr_expect(P.shape[0] == 4 && P.shape[1] == 2 && P.shape[2] == 3);
    cr_expect_eq(lay_permute(&P, C, (int[]){0, 0}), LAY_ERR_SHAPE);
    cr_expect_eq(lay_permute(&P, C, (int[]){0, 2}), LAY_ERR_SHAPE);
}

Test(layout, reshape_flatten)
{
    Layout L, C = mma_c();
    cr_expect_eq(lay_reshape(&L, LOC(4, 6), 1, (int[]){24}), LAY_OK);
    expect_eq(L, LOC(24));
    cr_expect_eq(lay_reshape(&L, LOC(24), 2, (int[]){4, 6}), LAY_OK);
    expect_eq(L, LOC(4, 6));
    cr_expect_eq(lay_reshape(&L, mul(SPA(8), LOC(4)), 2, (int[]){8, 4}), LAY_OK);
    expect_eq(L, mul(SPA(8, 1), LOC(1, 4)));
    cr_expect_eq(lay_reshape(&L, mul(SPA(8), LOC(4)), 3, (int[]){4, 4, 2}), LAY_OK);
    expect_eq(L, mul(SPA(4, 2, 1), LOC(1, 2, 2)));
    cr_expect_eq(lay_reshape(&L, C, 1, (int[]){128}), LAY_OK);
    for (int t = 0; t < 32; t++)
        for (int l = 0; l < 4; l++) {
            int32_t a[2], b[1];
            lay_apply(C, t, l, a);
            lay_apply(L, t, l, b);
            cr_expect_eq(b[0], a[0] * 8 + a[1]);
        }
    cr_expect_eq(lay_reshape(&L, C, 3, (int[]){2, 8, 8}), LAY_OK);
    expect_eq(L, mul(mul(LOC(2, 1, 1), SPA(1, 8, 4)), LOC(1, 1, 2)));
    /* spatial(3) * local(2) as 2x3: dim 1 would be flat % 3, no mode grouping */
    cr_expect_eq(lay_reshape(&L, mul(SPA(3), LOC(2)), 2, (int[]){2, 3}), LAY_ERR_DIVIDE);
    cr_expect_eq(lay_reshape(&L, C, 1, (int[]){127}), LAY_ERR_SHAPE);
    cr_expect_eq(lay_reshape(&L, C, 2, (int[]){0, 8}), LAY_ERR_SHAPE);
    cr_expect_eq(lay_reshape(&L, LOC(1, 1), 0, NULL), LAY_OK);
    cr_expect_eq(L.rank, 0);
    cr_expect_eq(lay_flatten(&L, SPA(2, 3)), LAY_OK);
    expect_eq(L, SPA(6));
    cr_expect_eq(lay_flatten(&L, CSPA(2, 3)), LAY_OK);
    for (int t = 0; t < 6; t++) {
        int32_t b[1];
        lay_apply(L, t, 0, b);
        cr_expect_eq(b[0], (t % 2) * 3 + t / 2);
    }
    cr_expect_eq(lay_flatten(&L, rep(3)), LAY_OK);
    cr_expect(L.rank == 1 && L.shape[0] == 1 && lay_num_threads(L) == 3);
}

Test(layout, stack)
{
    Layout C = mma_c(), S, ls[3] = {C, C, C};
    cr_expect_eq(lay_stack(&S, 3, ls), LAY_OK);
    cr_expect(S.rank == 3 && S.shape[0] == 3 && S.shape[1] == 16 && S.shape[2] == 8);
    cr_expect_eq(lay_local_size(S), 12);
    cr_expect_eq(lay_num_threads(S), 32);
    expect_eq(S, mul(LOC(3, 1, 1), C));
    for (int k = 0; k < 3; k++)
        for (int r = 0; r < 16; r += 5)
            for (int c = 0; c < 8; c += 3)
                expect_owner(S, (int32_t[]){k, r, c}, (r % 8) * 4 + c / 2,
                             k * 4 + (r / 8) * 2 + c % 2);
    ls[1] = LOC(16, 8);
    cr_expect_eq(lay_stack(&S, 3, ls), LAY_ERR_SHAPE);
    cr_expect_eq(lay_stack(&S, 0, ls), LAY_ERR_SHAPE);
    cr_expect_eq(lay_stack(&S, 1, ls), LAY_OK);
    expect_eq(S, mul(LOC(1, 1, 1), C));
}

Test(layout, contiguity)
{
    Layout C = mma_c();
    cr_expect_eq(lay_contiguity(LOC(4, 8), 1, 0), 8);
    cr_expect_eq(lay_contiguity(LOC(4, 8), 1, 3), 5);
    cr_expect_eq(lay_contiguity(LOC(4, 8), 0, 0), 1);
    cr_expect_eq(lay_contiguity(CLOC(4, 8), 0, 0), 4);
    cr_expect_eq(lay_contiguity(CLOC(4, 8), 0, 2), 2);
    cr_expect_eq(lay_contiguity(CLOC(4, 8), 1, 0), 1);
    cr_expect_eq(lay_contiguity(C, 1, 0), 2);
    cr_expect_eq(lay_contiguity(C, 1, 1), 1);
    cr_expect_eq(lay_contiguity(C, 0, 0), 1);
    Layout M = mul(mul(LOC(2), SPA(4)), LOC(4));
    cr_expect_eq(lay_contiguity(M, 0, 0), 4);
    cr_expect_eq(lay_contiguity(M, 0, 2), 2);
    cr_expect_eq(lay_contiguity(M, 0, 4), 4);
    cr_expect_eq(lay_contiguity(SPA(32), 0, 0), 1);
    cr_expect_eq(lay_contiguity(M, 1, 0), 0, "no such dim");
    cr_expect_eq(lay_contiguity(M, 0, 8), 0, "no such local");
}

Test(layout, symbolic_apply)
{
    Layout C = mma_c();
    LayAffine a[2];
    lay_symbolic_apply(C, 0, a);
    /* row = (t / 4) % 8 with 4*8 == T, so no modulo; col = (t % 4) * 2 */
    cr_expect_eq(a[0].constant, 0);
    cr_expect_eq(a[0].nterms, 1);
    cr_expect(a[0].div[0] == 4 && a[0].mod[0] == 0 && a[0].mul[0] == 1);
    cr_expect_eq(a[1].constant, 0);
    cr_expect_eq(a[1].nterms, 1);
    cr_expect(a[1].div[0] == 1 && a[1].mod[0] == 4 && a[1].mul[0] == 2);
    lay_symbolic_apply(C, 3, a);
    cr_expect_eq(a[0].constant, 8);
    cr_expect_eq(a[1].constant, 1);
    /* spatial(4,1) * local(1,2) * spatial(2,4) * replicate(2):
     * row = ((t/16)%4)*2 + ((t/8)%2), col = ((t/2)%4) ... */
    Layout L = mul(mul(mul(SPA(4, 1), LOC(1, 2)), SPA(2, 4)), rep(2));
    cr_expect_eq(lay_num_threads(L), 64);
    lay_symbolic_apply(L, 1, a);
    cr_expect_eq(a[0].nterms, 1, "modes 4 and 2 of dim 0 merge");
    cr_expect(a[0].div[0] == 8 && a[0].mod[0] == 0 && a[0].mul[0] == 1);
    cr_expect_eq(a[1].constant, 4);
    cr_expect_eq(a[1].nterms, 1);
    cr_expect(a[1].div[0] == 2 && a[1].mod[0] == 4 && a[1].mul[0] == 1);
}

/* tests/test_layout_hw.c - hardware layout constructors against the PTX ISA
 * fragment tables of PTX-FACTS.md, written out here by hand as formulas in
 * (lane, element) -> (row, col), independent of the layout algebra. */
#include <criterion/criterion.h>

#include "layout/layout.h"

typedef void (*Frag)(int lane, int i, int *r, int *c);

#define G(lane) ((lane) >> 2)
#define Q(lane) ((lane) & 3)

/* mma.sync m16n8k16, A 16x16: row g for i in {0,1,4,5}, g+8 for {2,3,6,7};
 * col 2q + (i & 1) for i < 4, 2q + (i & 1) + 8 for i >= 4 */
static void k16_a(int lane, int i, int *r, int *c)
{
    *r = (i == 0 || i == 1 || i == 4 || i == 5) ? G(lane) : G(lane) + 8;
    *c = i < 4 ? 2 * Q(lane) + (i & 1) : 2 * Q(lane) + (i & 1) + 8;
}
/* B 16x8 (k x n): k = 2q + (i & 1) (+8 for i >= 2), n = g */
static void k16_b(int lane, int i, int *r, int *c)
{
    *r = i < 2 ? 2 * Q(lane) + (i & 1) : 2 * Q(lane) + (i & 1) + 8;
    *c = G(lane);
}
/* C/D 16x8: row g for i < 2, g + 8 for i >= 2; col 2q + (i & 1) */
static void k16_c(int lane, int i, int *r, int *c)
{
    *r = i < 2 ? G(lane) : G(lane) + 8;
    *c = 2 * Q(lane) + (i & 1);
}
/* m16n8k32 A 16x32: row g + 8 * ((i >> 2) & 1), col 4q + (i & 3) + 16 * (i >> 3) */
static void k32_a(int lane, int i, int *r, int *c)
{
    *r = G(lane) + 8 * ((i >> 2) & 1);
    *c = 4 * Q(lane) + (i & 3) + 16 * (i >> 3);
}
/* B 32x8: k = 4q + (i & 3) + 16 * (i >> 2), n = g */
static void k32_b(int lane, int i, int *r, int *c)
{
    *r = 4 * Q(lane) + (i & 3) + 16 * (i >> 2);
    *c = G(lane);
}

/* ldmatrix, 16-bit: register j = matrix j; per matrix the thread holds row
 * lane >> 2, cols 2 * (lane & 3) and +1 (.trans: col lane >> 2, rows 2q, +1).
 * Matrix placement in the stored tile as documented in layout.h. */
static void ldm_x1(int lane, int i, int *r, int *c)
{
    *r = G(lane);
    *c = 2 * Q(lane) + (i & 1);
}
static void ldm_x2(int lane, int i, int *r, int *c) /* 8x16, matrices side by side */
{
    *r = G(lane);
    *c = 8 * (i >> 1) + 2 * Q(lane) + (i & 1);
}
static void ldm_x4(int lane, int i, int *r, int *c) /* 16x16, matrix j at (8(j&1), 8(j>>1)) */
{
    int j = i >> 1;
    *r = 8 * (j & 1) + G(lane);
    *c = 8 * (j >> 1) + 2 * Q(lane) + (i & 1);
}
static void ldm_x1_t(int lane, int i, int *r, int *c)
{
    *r = 2 * Q(lane) + (i & 1);
    *c = G(lane);
}
static void ldm_x2_t(int lane, int i, int *r, int *c) /* 16x8, matrix j at rows 8j */
{
    *r = 8 * (i >> 1) + 2 * Q(lane) + (i & 1);
    *c = G(lane);
}
static void ldm_x4_t(int lane, int i, int *r, int *c)
{
    int j = i >> 1;
    *r = 8 * (j & 1) + 2 * Q(lane) + (i & 1);
    *c = 8 * (j >> 1) + G(lane);
}
/* 8-bit non-transposed: spatial(8,4) * local(1,4) per 8x16-byte matrix */
static void ldm_x1_b8(int lane, int i, int *r, int *c)
{
    *r = G(lane);
    *c = 4 * Q(lane) + (i & 3);
}
static void ldm_x2_b8(int lane, int i, int *r, int *c)
{
    *r = G(lane);
    *c = 16 * (i >> 2) + 4 * Q(lane) + (i & 3);
}
static void ldm_x4_b8(int lane, int i, int *r, int *c)
{
    int j = i >> 2;
    *r = 8 * (j & 1) + G(lane);
    *c = 16 * (j >> 1) + 4 * Q(lane) + (i & 3);
}

typedef struct {
    LayHw h;
    LayStatus (*ctor)(Layout *);
    Frag f;
    int n, rows, cols;
} Case;

static const Case cases[] = {
    {LAY_HW_mma_m16n8k16_a, lay_mma_m16n8k16_a, k16_a, 8, 16, 16},
    {LAY_HW_mma_m16n8k16_b, lay_mma_m16n8k16_b, k16_b, 4, 16, 8},
    {LAY_HW_mma_m16n8k16_c, lay_mma_m16n8k16_c, k16_c, 4, 16, 8},
    {LAY_HW_mma_m16n8k32_a, lay_mma_m16n8k32_a, k32_a, 16, 16, 32},
    {LAY_HW_mma_m16n8k32_b, lay_mma_m16n8k32_b, k32_b, 8, 32, 8},
    {LAY_HW_mma_m16n8k32_c, lay_mma_m16n8k32_c, k16_c, 4, 16, 8},
    {LAY_HW_ldmatrix_x1, lay_ldmatrix_x1, ldm_x1, 2, 8, 8},
    {LAY_HW_ldmatrix_x2, lay_ldmatrix_x2, ldm_x2, 4, 8, 16},
    {LAY_HW_ldmatrix_x4, lay_ldmatrix_x4, ldm_x4, 8, 16, 16},
    {LAY_HW_ldmatrix_x1_trans, lay_ldmatrix_x1_trans, ldm_x1_t, 2, 8, 8},
    {LAY_HW_ldmatrix_x2_trans, lay_ldmatrix_x2_trans, ldm_x2_t, 4, 16, 8},
    {LAY_HW_ldmatrix_x4_trans, lay_ldmatrix_x4_trans, ldm_x4_t, 8, 16, 16},
    {LAY_HW_ldmatrix_x1_b8, lay_ldmatrix_x1_b8, ldm_x1_b8, 4, 8, 16},
    {LAY_HW_ldmatrix_x2_b8, lay_ldmatrix_x2_b8, ldm_x2_b8, 8, 8, 32},
    {LAY_HW_ldmatrix_x4_b8, lay_ldmatrix_x4_b8, ldm_x4_b8, 16, 16, 32},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static Layout build(const Case *k)
{
    Layout L, M;
    cr_assert_eq(k->ctor(&L), LAY_OK, "%s", lay_hw_name(k->h));
    cr_assert_eq(lay_hw(&M, k->h), LAY_OK);
    cr_assert(lay_eq(L, M), "%s: named constructor and table differ", lay_hw_name(k->h));
    return L;
}

Test(layout_hw, table_covers_every_atom)
{
    cr_assert_eq(NCASES, LAY_HW_COUNT);
    for (int i = 0; i < NCASES; i++) {
        cr_assert_eq(cases[i].h, (LayHw)i);
        LayHw h;
        cr_assert(lay_hw_lookup(lay_hw_name((LayHw)i), &h));
        cr_assert_eq(h, (LayHw)i);
    }
    LayHw h;
    cr_assert_not(lay_hw_lookup("mma_m16n8k8_a", &h));
    cr_assert_str_eq(lay_hw_name(LAY_HW_mma_m16n8k16_a), "mma_m16n8k16_a");
    cr_assert_eq(lay_hw_elem_bits(LAY_HW_mma_m16n8k16_b), 16);
    cr_assert_eq(lay_hw_elem_bits(LAY_HW_mma_m16n8k32_a), 8);
    Layout L;
    cr_assert_neq(lay_hw(&L, LAY_HW_COUNT), LAY_OK);
}

Test(layout_hw, shapes_threads_locals)
{
    for (int k = 0; k < NCASES; k++) {
        Layout L = build(&cases[k]);
        const char *nm = lay_hw_name(cases[k].h);
        cr_assert_eq(L.rank, 2, "%s", nm);
        cr_assert_eq(L.shape[0], cases[k].rows, "%s", nm);
        cr_assert_eq(L.shape[1], cases[k].cols, "%s", nm);
        cr_assert_eq(lay_num_threads(L), 32, "%s", nm);
        cr_assert_eq(lay_local_size(L), cases[k].n, "%s", nm);
        cr_assert_eq(lay_numel(L), (int64_t)cases[k].rows * cases[k].cols, "%s", nm);
    }
}

Test(layout_hw, apply_matches_ptx_tables)
{
    for (int k = 0; k < NCASES; k++) {
        Layout L = build(&cases[k]);
        for (int lane = 0; lane < 32; lane++)
            for (int i = 0; i < cases[k].n; i++) {
                int r, c;
                int32_t idx[LAY_MAX_DIMS] = {0};
                cases[k].f(lane, i, &r, &c);
                lay_apply(L, lane, i, idx);
                cr_assert(idx[0] == r && idx[1] == c,
                          "%s lane %d i %d: layout (%d,%d), PTX (%d,%d)",
                          lay_hw_name(cases[k].h), lane, i, idx[0], idx[1], r, c);
            }
    }
}

Test(layout_hw, owners_exactly_one)
{
    for (int k = 0; k < NCASES; k++) {
        Layout L = build(&cases[k]);
        for (int r = 0; r < cases[k].rows; r++)
            for (int c = 0; c < cases[k].cols; c++) {
                int32_t idx[2] = {r, c};
                int t[4], l[4];
                int n = lay_owners(L, idx, t, l, 4);
                cr_assert_eq(n, 1, "%s (%d,%d): %d owners", lay_hw_name(cases[k].h), r, c, n);
                int er, ec;
                cases[k].f(t[0], l[0], &er, &ec);
                cr_assert(er == r && ec == c, "%s (%d,%d): owner (%d,%d) holds (%d,%d) per PTX",
                          lay_hw_name(cases[k].h), r, c, t[0], l[0], er, ec);
            }
    }
}

/* Fragments that are the same layout under two names. */
Test(layout_hw, ldmatrix_gives_mma_fragments)
{
    Layout a, b;
    cr_assert_eq(lay_ldmatrix_x4(&a), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k16_a(&b), LAY_OK);
    cr_assert(lay_eq(a, b), "x4 is the A fragment");
    cr_assert_eq(lay_ldmatrix_x2_trans(&a), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k16_b(&b), LAY_OK);
    cr_assert(lay_eq(a, b), "x2.trans is the B fragment");
    cr_assert_eq(lay_ldmatrix_x4_b8(&a), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k32_a(&b), LAY_OK);
    cr_assert(lay_eq(a, b), "x4 b8 is the k32 A fragment");
    cr_assert_eq(lay_mma_m16n8k32_c(&a), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k16_c(&b), LAY_OK);
    cr_assert(lay_eq(a, b));
    cr_assert_eq(lay_mma_m16n8k16_c(&a), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k16_a(&b), LAY_OK);
    cr_assert_not(lay_eq(a, b));
}

Test(layout_hw, ldmatrix_x2_transposed_is_b)
{
    Layout a, b, p;
    cr_assert_eq(lay_ldmatrix_x2(&a), LAY_OK);
    cr_assert_eq(lay_permute(&p, a, (int[2]){1, 0}), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k16_b(&b), LAY_OK);
    cr_assert(lay_eq(p, b));
    cr_assert_eq(lay_ldmatrix_x2_b8(&a), LAY_OK);
    cr_assert_eq(lay_permute(&p, a, (int[2]){1, 0}), LAY_OK);
    cr_assert_eq(lay_mma_m16n8k32_b(&b), LAY_OK);
    cr_assert(lay_eq(p, b));
}

/* Simulate ldmatrix from the row addresses: matrix j's row r is 8 (16-bit) or
 * 16 (8-bit) elements at the address lane 8j + r gives. Plain: thread lane
 * receives row lane >> 2, elements per_reg * (lane & 3) + e; .trans: the
 * element of row 2 * (lane & 3) + e at column lane >> 2. */
Test(layout_hw, ldmatrix_row_addresses)
{
    static const struct {
        LayHw h;
        int nmat, per_reg;
        bool trans;
    } ld[] = {
        {LAY_HW_ldmatrix_x1, 1, 2, false},       {LAY_HW_ldmatrix_x2, 2, 2, false},
        {LAY_HW_ldmatrix_x4, 4, 2, false},       {LAY_HW_ldmatrix_x1_trans, 1, 2, true},
        {LAY_HW_ldmatrix_x2_trans, 2, 2, true},  {LAY_HW_ldmatrix_x4_trans, 4, 2, true},
        {LAY_HW_ldmatrix_x1_b8, 1, 4, false},    {LAY_HW_ldmatrix_x2_b8, 2, 4, false},
        {LAY_HW_ldmatrix_x4_b8, 4, 4, false},
    };
    for (size_t k = 0; k < sizeof ld / sizeof ld[0]; k++) {
        Layout L;
        cr_assert_eq(lay_hw(&L, ld[k].h), LAY_OK);
        int32_t row[32][2];
        for (int lane = 0; lane < 32; lane++) {
            bool used = lane < 8 * ld[k].nmat;
            cr_assert_eq(lay_ldmatrix_row(ld[k].h, lane, row[lane]), used, "%s lane %d",
                         lay_hw_name(ld[k].h), lane);
            if (used)
                cr_assert(row[lane][1] % 8 == 0);
        }
        for (int lane = 0; lane < 32; lane++)
            for (int i = 0; i < ld[k].nmat * ld[k].per_reg; i++) {
                int j = i / ld[k].per_reg, e = i % ld[k].per_reg;
                int src = ld[k].trans ? 8 * j + 2 * Q(lane) + e : 8 * j + G(lane);
                int col = ld[k].trans ? G(lane) : ld[k].per_reg * Q(lane) + e;
                int32_t idx[LAY_MAX_DIMS];
                lay_apply(L, lane, i, idx);
                cr_assert(idx[0] == row[src][0] && idx[1] == row[src][1] + col,
                          "%s lane %d i %d", lay_hw_name(ld[k].h), lane, i);
            }
    }
    int32_t rc[2];
    cr_assert_not(lay_ldmatrix_row(LAY_HW_mma_m16n8k16_a, 0, rc));
    cr_assert_not(lay_ldmatrix_row(LAY_HW_ldmatrix_x4, 32, rc));
    cr_assert_not(lay_ldmatrix_row(LAY_HW_ldmatrix_x4, -1, rc));
    /* x4 = the usual A addressing: lane l points at row l % 16, col 8 * (l / 16) */
    for (int lane = 0; lane < 32; lane++) {
        cr_assert(lay_ldmatrix_row(LAY_HW_ldmatrix_x4, lane, rc));
        cr_assert(rc[0] == lane % 16 && rc[1] == 8 * (lane / 16), "lane %d", lane);
    }
}

/* spatial(warps) * local(repeats) * atom, by hand: warp (wm, wn) owns the
 * contiguous warp tile at (wm * rm * am, wn * rn * an); local l = rep * n + i. */
Test(layout_hw, mma_tile_by_hand)
{
    static const struct {
        int atom, wm, wn, rm, rn;
    } cfg[] = {{2, 2, 2, 2, 1}, {0, 1, 4, 1, 2}, {1, 2, 1, 3, 2}, {3, 1, 1, 2, 2}};
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        const Case *a = &cases[cfg[k].atom];
        Layout atom = build(a), T;
        cr_assert_eq(lay_mma_tile(&T, atom, cfg[k].wm, cfg[k].wn, cfg[k].rm, cfg[k].rn), LAY_OK);
        cr_assert_eq(lay_num_threads(T), 32 * cfg[k].wm * cfg[k].wn);
        cr_assert_eq(lay_local_size(T), a->n * cfg[k].rm * cfg[k].rn);
        cr_assert_eq(T.shape[0], a->rows * cfg[k].wm * cfg[k].rm);
        cr_assert_eq(T.shape[1], a->cols * cfg[k].wn * cfg[k].rn);
        for (int t = 0; t < lay_num_threads(T); t++)
            for (int l = 0; l < lay_local_size(T); l++) {
                int warp = t / 32, lane = t % 32, rep = l / a->n, i = l % a->n, r, c;
                a->f(lane, i, &r, &c);
                r += (warp / cfg[k].wn) * cfg[k].rm * a->rows + (rep / cfg[k].rn) * a->rows;
                c += (warp % cfg[k].wn) * cfg[k].rn * a->cols + (rep % cfg[k].rn) * a->cols;
                int32_t idx[LAY_MAX_DIMS];
                lay_apply(T, t, l, idx);
                cr_assert(idx[0] == r && idx[1] == c, "cfg %zu t %d l %d", k, t, l);
            }
        Layout q;
        cr_assert_eq(lay_divide(&q, T, atom), LAY_OK, "a block tile divides by its atom");
    }
    Layout atom, T;
    cr_assert_eq(lay_mma_m16n8k16_c(&atom), LAY_OK);
    cr_assert_neq(lay_mma_tile(&T, atom, 0, 1, 1, 1), LAY_OK);
}

/* dot operands for warps (wm x wn) and repeats (rm, rn, rk), by hand: A is held
 * by all warps of a warp row, B by all warps of a warp column. */
static void check_block(int kk, int wm, int wn, int rm, int rn, int rk)
{
    LayMma m;
    cr_assert_eq(lay_mma_block(&m, kk, wm, wn, rm, rn, rk), LAY_OK);
    Frag fa = kk == 16 ? k16_a : k32_a, fb = kk == 16 ? k16_b : k32_b, fc = k16_c;
    int na = kk == 16 ? 8 : 16, nb = kk == 16 ? 4 : 8, nc = 4, T = 32 * wm * wn;
    cr_assert_eq(lay_num_threads(m.a), T);
    cr_assert_eq(lay_num_threads(m.b), T);
    cr_assert_eq(lay_num_threads(m.c), T);
    cr_assert(m.a.shape[0] == 16 * wm * rm && m.a.shape[1] == kk * rk);
    cr_assert(m.b.shape[0] == kk * rk && m.b.shape[1] == 8 * wn * rn);
    cr_assert(m.c.shape[0] == 16 * wm * rm && m.c.shape[1] == 8 * wn * rn);
    cr_assert_eq(lay_local_size(m.a), na * rm * rk);
    cr_assert_eq(lay_local_size(m.b), nb * rk * rn);
    cr_assert_eq(lay_local_size(m.c), nc * rm * rn);
    for (int t = 0; t < T; t++) {
        int lane = t % 32, warp_m = (t / 32) / wn, warp_n = (t / 32) % wn;
        int32_t idx[LAY_MAX_DIMS];
        for (int l = 0; l < lay_local_size(m.a); l++) {
            int rep = l / na, r, c;
            fa(lane, l % na, &r, &c);
            lay_apply(m.a, t, l, idx);
            cr_assert(idx[0] == warp_m * rm * 16 + (rep / rk) * 16 + r &&
                          idx[1] == (rep % rk) * kk + c,
                      "A t %d l %d", t, l);
        }
        for (int l = 0; l < lay_local_size(m.b); l++) {
            int rep = l / nb, r, c;
            fb(lane, l % nb, &r, &c);
            lay_apply(m.b, t, l, idx);
            cr_assert(idx[0] == (rep / rn) * kk + r &&
                          idx[1] == warp_n * rn * 8 + (rep % rn) * 8 + c,
                      "B t %d l %d", t, l);
        }
        for (int l = 0; l < lay_local_size(m.c); l++) {
            int rep = l / nc, r, c;
            fc(lane, l % nc, &r, &c);
            lay_apply(m.c, t, l, idx);
            cr_assert(idx[0] == warp_m * rm * 16 + (rep / rn) * 16 + r &&
                          idx[1] == warp_n * rn * 8 + (rep % rn) * 8 + c,
                      "C t %d l %d", t, l);
        }
    }
    int32_t idx[2] = {0, 0};
    int t[64], l[64];
    cr_assert_eq(lay_owners(m.a, idx, t, l, 64), wn, "A replicated over the warps along n");
    for (int x = 0; x < wn; x++)
        cr_assert(t[x] == 32 * x && l[x] == 0);
    cr_assert_eq(lay_owners(m.b, idx, t, l, 64), wm, "B replicated over the warps along m");
    for (int x = 0; x < wm; x++)
        cr_assert(t[x] == 32 * wn * x && l[x] == 0);
    cr_assert_eq(lay_owners(m.c, idx, t, l, 64), 1);
}

Test(layout_hw, mma_block_by_hand)
{
    check_block(16, 1, 4, 1, 2, 4); /* the VM.md 6 matmul: bm 16, bn 64, bk 64 */
    check_block(16, 2, 2, 2, 1, 1);
    check_block(32, 2, 1, 1, 2, 2);
    check_block(32, 1, 1, 1, 1, 1);
    LayMma m;
    cr_assert_neq(lay_mma_block(&m, 8, 1, 1, 1, 1, 1), LAY_OK);
    cr_assert_neq(lay_mma_block(&m, 16, 1, 0, 1, 1, 1), LAY_OK);
}

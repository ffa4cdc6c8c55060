/* layout/hw.c - hardware layouts as constructors of ordinary register layouts.
 *
 * Each mma.sync / ldmatrix fragment of PTX-FACTS.md is a product of at most
 * three primitives, listed once in LAY_HW_ATOMS (layout/layout.h); everything
 * here is built from that table with lay_product, so instruction selection can
 * treat an atom like any other layout (divide by it). The tests check every
 * atom against the PTX ISA fragment tables written out by hand.
 *
 * Block tiles (lay_mma_tile, lay_mma_block) put the warps outermost and the
 * per-warp repeats between the warps and the atom: each warp owns one
 * contiguous warp tile (the CUTLASS convention), and the quotient of a block
 * tile by an atom is spatial(warps) * local(repeats), the loop over atoms. */
#include "layout/layout.h"

#include <string.h>

typedef struct {
    const char *name;
    int bits;
    int kind[3], d0[3], d1[3];
} Atom;

static const Atom atoms[LAY_HW_COUNT] = {
#define X(name, bits, k0, a0, b0, k1, a1, b1, k2, a2, b2)                                  \
    {#name, bits, {LAY_PRIM_##k0, LAY_PRIM_##k1, LAY_PRIM_##k2}, {a0, a1, a2}, {b0, b1, b2}},
    LAY_HW_ATOMS(X)
#undef X
};

static LayStatus prim(Layout *out, int kind, int d0, int d1)
{
    int dims[2] = {d0, d1};
    switch (kind) {
    case LAY_PRIM_LOCAL: return lay_local(out, 2, dims);
    case LAY_PRIM_SPATIAL: return lay_spatial(out, 2, dims);
    case LAY_PRIM_COLUMN_LOCAL: return lay_column_local(out, 2, dims);
    case LAY_PRIM_COLUMN_SPATIAL: return lay_column_spatial(out, 2, dims);
    default: return lay_local(out, 2, (int[2]){1, 1});
    }
}

LayStatus lay_hw(Layout *out, LayHw h)
{
    if ((unsigned)h >= LAY_HW_COUNT)
        return LAY_ERR_SHAPE;
    const Atom *a = &atoms[h];
    Layout acc, f;
    LayStatus st = prim(&acc, a->kind[0], a->d0[0], a->d1[0]);
    for (int k = 1; k < 3 && st == LAY_OK; k++) {
        st = prim(&f, a->kind[k], a->d0[k], a->d1[k]);
        if (st == LAY_OK)
            st = lay_product(&acc, acc, f);
    }
    if (st == LAY_OK)
        *out = acc;
    return st;
}

#define X(name, ...)                                                                        \
    LayStatus lay_##name(Layout *out) { return lay_hw(out, LAY_HW_##name); }
LAY_HW_ATOMS(X)
#undef X

const char *lay_hw_name(LayHw h)
{
    return (unsigned)h < LAY_HW_COUNT ? atoms[h].name : "?";
}

int lay_hw_elem_bits(LayHw h)
{
    return (unsigned)h < LAY_HW_COUNT ? atoms[h].bits : 0;
}

bool lay_hw_lookup(const char *name, LayHw *h)
{
    for (int i = 0; i < LAY_HW_COUNT; i++)
        if (strcmp(atoms[i].name, name) == 0) {
            *h = (LayHw)i;
            return true;
        }
    return false;
}

/* Matrix j is register j; lane 0 holds its element (0, 0) first in both the
 * plain and the transposed form, so lane 0's first element of register j is
 * the corner of matrix j, and lane 8j + r addresses the corner's row + r. */
bool lay_ldmatrix_row(LayHw h, int lane, int32_t rc[2])
{
    if ((unsigned)h >= LAY_HW_COUNT || strncmp(atoms[h].name, "ldmatrix", 8) != 0 ||
        lane < 0 || lane >= 32)
        return false;
    Layout L;
    if (lay_hw(&L, h) != LAY_OK)
        return false;
    int per_reg = 32 / atoms[h].bits;
    int nmat = lay_local_size(L) / per_reg;
    if (lane >= 8 * nmat)
        return false;
    int32_t corner[LAY_MAX_DIMS];
    lay_apply(L, 0, (lane >> 3) * per_reg, corner);
    rc[0] = corner[0] + (lane & 7);
    rc[1] = corner[1];
    return true;
}

LayStatus lay_mma_tile(Layout *out, Layout atom, int warps_m, int warps_n, int repeat_m,
                       int repeat_n)
{
    Layout w, r;
    LayStatus st = lay_spatial(&w, 2, (int[2]){warps_m, warps_n});
    if (st == LAY_OK)
        st = lay_local(&r, 2, (int[2]){repeat_m, repeat_n});
    if (st == LAY_OK)
        st = lay_product(&w, w, r);
    if (st == LAY_OK)
        st = lay_product(&w, w, atom);
    if (st == LAY_OK)
        *out = w;
    return st;
}

/* spatial(wm, 1) * replicate(rep) (rep_inner) or replicate(rep) * spatial(1, wn) */
static LayStatus warps(Layout *out, int wm, int wn, int rep, bool rep_inner)
{
    Layout s, r;
    LayStatus st = lay_spatial(&s, 2, (int[2]){wm, wn});
    if (st == LAY_OK)
        st = lay_replicate(&r, rep);
    if (st == LAY_OK)
        st = rep_inner ? lay_product(out, s, r) : lay_product(out, r, s);
    return st;
}

static LayStatus operand(Layout *out, Layout w, int rep0, int rep1, LayHw atom)
{
    Layout r, a;
    LayStatus st = lay_local(&r, 2, (int[2]){rep0, rep1});
    if (st == LAY_OK)
        st = lay_hw(&a, atom);
    if (st == LAY_OK)
        st = lay_product(&w, w, r);
    if (st == LAY_OK)
        st = lay_product(out, w, a);
    return st;
}

LayStatus lay_mma_block(LayMma *out, int k, int warps_m, int warps_n, int repeat_m,
                        int repeat_n, int repeat_k)
{
    if (k != 16 && k != 32)
        return LAY_ERR_SHAPE;
    if (warps_m < 1 || warps_n < 1 || repeat_m < 1 || repeat_n < 1 || repeat_k < 1)
        return LAY_ERR_SHAPE;
    LayHw ha = k == 16 ? LAY_HW_mma_m16n8k16_a : LAY_HW_mma_m16n8k32_a;
    LayHw hb = k == 16 ? LAY_HW_mma_m16n8k16_b : LAY_HW_mma_m16n8k32_b;
    LayHw hc = k == 16 ? LAY_HW_mma_m16n8k16_c : LAY_HW_mma_m16n8k32_c;
    LayMma m;
    Layout wa, wb, wc;
    LayStatus st = warps(&wa, warps_m, 1, warps_n, true);
    if (st == LAY_OK)
        st = warps(&wb, 1, warps_n, warps_m, false);
    if (st == LAY_OK)
        st = lay_spatial(&wc, 2, (int[2]){warps_m, warps_n});
    if (st == LAY_OK)
        st = operand(&m.a, wa, repeat_m, repeat_k, ha);
    if (st == LAY_OK)
        st = operand(&m.b, wb, repeat_k, repeat_n, hb);
    if (st == LAY_OK)
        st = operand(&m.c, wc, repeat_m, repeat_n, hc);
    if (st == LAY_OK)
        *out = m;
    return st;
}

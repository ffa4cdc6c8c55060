/* codegen/lower_mma.c - tensor cores for dot and ldmatrix for shared ->
 * register tiles, chosen by layout division (CODEGEN.md 1, PTX-FACTS.md).
 *
 * dot(A, B, C): when C's layout divides by the mma C atom and A and B by
 * their atoms, every thread's registers ARE mma fragments: C == Qc * atom_c,
 * thread t = w * 32 + lane, local l = lq * n_atom + e. The quotients give
 * the loop over atoms: C atom lq of warp w sits at tile (mi, ni) = Qc(w, lq);
 * it needs A's atom at (mi, ki) and B's at (ki, ni) for each ki, which must
 * be one constant local index of Qa / Qb for every warp (else no mma). The
 * atoms are issued ki outer, ki ascending, so every C element accumulates
 * k in ascending order as the interpreter does (within one k16/k32 atom
 * the tensor core's order and rounding are its own: VM.md 7 tolerance).
 * Fragment registers pack two 16-bit elements; where both are the halves of
 * a word made in the same block (a 16-bit load's words, the f16x2 pairs of
 * the fast conversions) the word itself or one prmt of two words is the
 * register (pack_halves), else a pack.
 * Shapes: m16n8k16 f16/bf16 -> f32 and f16 -> f16 (the accumulator packed
 * in f16x2 words across the atoms), m16n8k32 s8/u8 -> s32 (exact: integers
 * wrap, no .satfinite). Other dtypes or no division: false, the caller's
 * FMA loop runs. Nothing is emitted before the decision.
 *
 * load_shared: when the result layout divides by an ldmatrix atom (x4, x2,
 * x1, then the .trans forms; 16-bit elements) and the shared layout gives
 * every stored 8-element row 16 contiguous bytes at a 16-byte aligned
 * address (last dim stride 1, the other strides, starts and the planned
 * offset multiples of 8 elements, a swizzle acting on 16-byte chunks; a
 * runtime start of the last dim needs 8 | start by cg_div_log2), one
 * ldmatrix per quotient local replaces 2 * n_regs scalar loads. Lane row
 * addresses come from lay_ldmatrix_row, written as a sum over the lane's
 * bits (checked against the table for every lane that gives an address). */
#include <string.h>

#include "codegen/lower.h"

/* ---------------------------------------------------------------- dot */

typedef struct {
    LayHw a, b, c;
    const char *shape;
    int ka;    /* A elements per fragment */
    int kb;    /* B elements per fragment */
    int per;   /* elements per b32 register */
} MmaKind;

static bool mma_kind(Dtype ad, Dtype bd, Dtype cd, MmaKind *m)
{
    if (ad != bd)
        return false;
    if ((ad == VM_DT_F16 || ad == VM_DT_BF16) && (cd == VM_DT_F32 || (cd == ad && ad == VM_DT_F16))) {
        *m = (MmaKind){LAY_HW_mma_m16n8k16_a, LAY_HW_mma_m16n8k16_b, LAY_HW_mma_m16n8k16_c,
                       "m16n8k16", 8, 4, 2};
        return true;
    }
    if ((ad == VM_DT_I8 || ad == VM_DT_U8) && cd == VM_DT_I32) {
        *m = (MmaKind){LAY_HW_mma_m16n8k32_a, LAY_HW_mma_m16n8k32_b, LAY_HW_mma_m16n8k32_c,
                       "m16n8k32", 16, 8, 4};
        return true;
    }
    return false;
}

static bool quotient(Layout lay, LayHw h, int nthreads, Layout *q)
{
    Layout atom;
    return lay_num_threads(lay) == nthreads && lay_hw(&atom, h) == LAY_OK &&
           lay_divide(q, lay, atom) == LAY_OK && lay_num_threads(*q) * 32 == nthreads;
}

/* The local index of q holding tile (r, c) in warp w; -1 if none. */
static int find_tile(Layout q, int w, int r, int c)
{
    int n = lay_local_size(q);
    for (int l = 0; l < n; l++) {
        int32_t idx[2];
        lay_apply(q, w, l, idx);
        if (idx[0] == r && idx[1] == c)
            return l;
    }
    return -1;
}

/* Where register r was made by an unguarded unpack of a 32-bit word in the
 * current block, and that word is not written again before the end of the
 * block: the word (and in *half which half); else -1. An op with a body
 * (if, loop) may write anything. */
static int unpacked_half(CgLower *L, int r, int *half)
{
    const TirOp *def = NULL;
    for (const TirOp *o = L->cur->first; o; o = o->next) {
        if (o->body.first || o->orelse.first) {
            def = NULL;
            continue;
        }
        for (int d = 0; d < o->nd; d++) {
            if (o->d[d] == r) {
                def = o->op == TIR_OP_UNPACK && o->nd == 2 && o->na == 1 && o->guard < 0 &&
                              o->a[0].kind == TIR_A_REG && tir_type_bits(o->type2) == 32
                          ? o
                          : NULL;
                *half = d;
            } else if (def && o->d[d] == def->a[0].reg) {
                def = NULL;
            }
        }
    }
    return def ? def->a[0].reg : -1;
}

/* The b32 word of 16-bit elements (lo, hi) when both are halves of
 * unpacked words (unpacked_half): that word itself when they are its low and
 * high half in order (a fragment loaded as words costs nothing), else one
 * prmt picking the two halves (the pairs a fast conversion makes); -1 when
 * not both are such halves. */
static int pack_halves(CgLower *L, int lo, int hi)
{
    int hl, hh, wl = unpacked_half(L, lo, &hl), wh = unpacked_half(L, hi, &hh);
    if (wl < 0 || wh < 0)
        return -1;
    if (wl == wh && hl == 0 && hh == 1)
        return cg_bitcast(L, TIR_B32, L->t->regs[wl].type, cg_R(wl));
    int sel = (2 * hl) | (2 * hl + 1) << 4 | (4 + 2 * hh) << 8 | (5 + 2 * hh) << 12;
    int a = cg_bitcast(L, TIR_B32, L->t->regs[wl].type, cg_R(wl));
    int b = cg_bitcast(L, TIR_B32, L->t->regs[wh].type, cg_R(wh));
    return cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(a), cg_R(b), cg_I(sel));
}

/* b32 words of fragment f (elements regs[f * n + ..]) of a dtype of
 * 32 / per bits: low element first. */
static void pack_frag(CgLower *L, const int *regs, int n, int per, TirType et, int *words)
{
    for (int j = 0; j < n / per; j++) {
        const int *e = regs + j * per;
        if (per == 2 && (words[j] = pack_halves(L, e[0], e[1])) >= 0)
            continue;
        if (per == 2) {
            TirArg v[2] = {cg_R(e[0]), cg_R(e[1])};
            words[j] = cg_op(L, TIR_OP_PACK, TIR_B32, 2, v);
            L->cur->last->type2 = et;
        } else {
            int lo = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(e[0]), cg_R(e[1]), cg_I(0x0040));
            int hi = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(e[2]), cg_R(e[3]), cg_I(0x0040));
            words[j] = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(lo), cg_R(hi), cg_I(0x5410));
        }
    }
}

bool cg_dot_mma(CgLower *L, const Inst *i)
{
    const Value *A = i->a[0], *B = i->a[1], *C = i->a[2], *R = i->res;
    MmaKind mk;
    if (!A || !B || !C || A->rank != 2 || B->rank != 2 || R->rank != 2 ||
        !mma_kind(A->dtype, B->dtype, R->dtype, &mk) || L->nthreads % 32)
        return false;
    Layout qa, qb, qc;
    if (!quotient(A->layout, mk.a, L->nthreads, &qa) ||
        !quotient(B->layout, mk.b, L->nthreads, &qb) ||
        !quotient(R->layout, mk.c, L->nthreads, &qc))
        return false;
    int W = L->nthreads / 32, nc = lay_local_size(qc), kt = qa.shape[1];
    if (qb.shape[0] != kt || kt < 1)
        return false;
    /* fa[lq * kt + ki], fb[..]: the A and B quotient locals of C atom lq at ki */
    int *fa = vm_alloc(L->a, sizeof(int) * (size_t)(nc * kt) * 2), *fb = fa + nc * kt;
    for (int lq = 0; lq < nc; lq++)
        for (int ki = 0; ki < kt; ki++)
            for (int w = 0; w < W; w++) {
                int32_t t[2];
                lay_apply(qc, w, lq, t);
                int la = find_tile(qa, w, t[0], ki), lb = find_tile(qb, w, ki, t[1]);
                if (la < 0 || lb < 0 ||
                    (w && (la != fa[lq * kt + ki] || lb != fb[lq * kt + ki])))
                    return false;
                fa[lq * kt + ki] = la;
                fb[lq * kt + ki] = lb;
            }
    int *c0 = cg_operand(L, i, C, R->layout, R->rank, R->shape);
    CgTensor *at = cg_val(L, A), *bt = cg_val(L, B);
    if (!c0 || !at || !bt) {
        cg_fail(L, i, "dot: operands not lowered");
        return true;
    }
    TirType et = cg_elem_type(A->dtype), ct = cg_elem_type(R->dtype);
    CgTensor acc = cg_new_tensor(L, nc * 4, R->dtype, R->name ? R->name : "acc");
    for (int l = 0; l < nc * 4; l++)
        cg_mov(L, acc.r[l], cg_R(c0[l]));
    /* an f16 accumulator stays packed in f16x2 words (b32) across the k atoms */
    bool h16 = R->dtype == VM_DT_F16;
    int nd = h16 ? 2 : 4, *cw = NULL;
    if (h16) {
        cw = vm_alloc(L->a, sizeof(int) * (size_t)(nc * 2));
        for (int j = 0; j < nc * 2; j++) {
            TirArg v[2] = {cg_R(acc.r[2 * j]), cg_R(acc.r[2 * j + 1])};
            cw[j] = cg_op(L, TIR_OP_PACK, TIR_B32, 2, v);
            L->cur->last->type2 = TIR_F16;
        }
    }
    int na = lay_local_size(qa), nb = lay_local_size(qb);
    int wa = mk.ka / mk.per, wb = mk.kb / mk.per;
    int *pa = vm_alloc(L->a, sizeof(int) * (size_t)(na * wa + nb * wb)), *pb = pa + na * wa;
    char *done = vm_alloc(L->a, (size_t)(na + nb));
    memset(done, 0, (size_t)(na + nb));
    for (int ki = 0; ki < kt; ki++)
        for (int lq = 0; lq < nc; lq++) {
            int la = fa[lq * kt + ki], lb = fb[lq * kt + ki];
            if (!done[la]++)
                pack_frag(L, at->r + la * mk.ka, mk.ka, mk.per, et, pa + la * wa);
            if (!done[na + lb]++)
                pack_frag(L, bt->r + lb * mk.kb, mk.kb, mk.per, et, pb + lb * wb);
            TirOp *o = cg_emit(L, TIR_OP_MMA, h16 ? TIR_F16X2 : ct);
            o->type2 = A->dtype == VM_DT_I8 ? TIR_S8 : A->dtype == VM_DT_U8 ? TIR_U8 : et;
            o->str = mk.shape;
            o->nd = nd;
            int *cr = h16 ? cw + lq * 2 : acc.r + lq * 4;
            for (int e = 0; e < nd; e++)
                o->d[e] = cr[e];
            int n = 0;
            for (int j = 0; j < wa; j++)
                o->a[n++] = cg_R(pa[la * wa + j]);
            for (int j = 0; j < wb; j++)
                o->a[n++] = cg_R(pb[lb * wb + j]);
            for (int e = 0; e < nd; e++)
                o->a[n++] = cg_R(cr[e]);
            o->na = n;
        }
    for (int j = 0; h16 && j < nc * 2; j++) {
        TirOp *u = cg_emit(L, TIR_OP_UNPACK, TIR_F16);
        u->type2 = TIR_B32;
        u->nd = 2;
        u->d[0] = acc.r[2 * j];
        u->d[1] = acc.r[2 * j + 1];
        u->na = 1;
        u->a[0] = cg_R(cw[j]);
    }
    if (L->t->sm_needed < 80)
        L->t->sm_needed = 80;
    L->vals[R->id] = acc;
    return true;
}

/* ---------------------------------------------------------------- ldmatrix */

static const struct {
    LayHw h;
    int n;
    bool trans;
} lds[] = {
    {LAY_HW_ldmatrix_x4, 4, false},       {LAY_HW_ldmatrix_x4_trans, 4, true},
    {LAY_HW_ldmatrix_x2, 2, false},       {LAY_HW_ldmatrix_x2_trans, 2, true},
    {LAY_HW_ldmatrix_x1, 1, false},       {LAY_HW_ldmatrix_x1_trans, 1, true},
};

/* rc(lane) = rc0 + sum over set bits b of lane of coef[b], for every lane
 * that gives an address. */
static bool lane_affine(LayHw h, int32_t rc0[2], int32_t coef[5][2])
{
    int32_t z[2];
    if (!lay_ldmatrix_row(h, 0, z))
        return false;
    memcpy(rc0, z, sizeof z);
    for (int b = 0; b < 5; b++) {
        int32_t v[2];
        if (lay_ldmatrix_row(h, 1 << b, v)) {
            coef[b][0] = v[0] - z[0];
            coef[b][1] = v[1] - z[1];
        } else {
            coef[b][0] = coef[b][1] = 0;
        }
    }
    for (int lane = 0; lane < 32; lane++) {
        int32_t v[2], w[2] = {z[0], z[1]};
        if (!lay_ldmatrix_row(h, lane, v))
            continue;
        for (int b = 0; b < 5; b++)
            if (lane >> b & 1) {
                w[0] += coef[b][0];
                w[1] += coef[b][1];
            }
        if (w[0] != v[0] || w[1] != v[1])
            return false;
    }
    return true;
}

/* sum over the lane's bits b of coef[b][d] (s32): one shift, mask and
 * multiply when the bits are contiguous with coefficients doubling, as for
 * every ldmatrix atom (row = lane & 15, col = 8 * (lane >> 4)); -1 for 0 */
static int lane_term(CgLower *L, int lane, int32_t coef[5][2], int d)
{
    int lo = -1, hi = -1;
    for (int b = 0; b < 5; b++)
        if (coef[b][d]) {
            lo = lo < 0 ? b : lo;
            hi = b;
        }
    if (lo < 0)
        return -1;
    bool run = true;
    for (int b = lo; b <= hi; b++)
        run &= coef[b][d] == coef[lo][d] * (1 << (b - lo));
    int acc = -1;
    for (int b = lo; b <= hi; b++) {
        if (!run && !coef[b][d])
            continue;
        int x = b ? cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(lane), cg_I(b)) : lane;
        x = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(x), cg_I(run ? (1 << (hi - lo + 1)) - 1 : 1));
        x = cg_bitcast(L, TIR_S32, TIR_U32, cg_R(x));
        if (coef[b][d] != 1)
            x = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(x), cg_I(coef[b][d]));
        acc = acc < 0 ? x : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(x));
        if (run)
            break;
    }
    return acc;
}

static bool const_expr(const Expr *e, int64_t *v)
{
    if (!e) {
        *v = 0;
        return true;
    }
    if (e->kind != VM_E_INT)
        return false;
    *v = e->ival;
    return true;
}

bool cg_load_shared_ldmatrix(CgLower *L, const Inst *i)
{
    const Value *r = i->res;
    const Tile *t = &i->mem[0];
    const Value *v = t->base;
    SharedLayout s;
    if (!r || r->rank != 2 || vm_dtype_bits(r->dtype) != 16 || !vm_dtype_is_float(r->dtype) ||
        !v || v->kind != VM_SHARED || vm_shared_layout_of(v, &s) != LAY_OK ||
        L->plan.offset[v->id] < 0 || s.elem_bits != 16 || L->nthreads % 32)
        return false;
    int64_t base = L->plan.offset[v->id];
    /* dims of the shared tensor: tile dim (or -1 dropped) and runtime starts */
    int tmap[VM_MAX_DIMS], last = -1, nr = 0;
    for (int d = 0; d < v->rank; d++) {
        tmap[d] = t->drop[d] ? -1 : nr++;
        if (tmap[d] == 1)
            last = d;
    }
    if (nr != 2 || last < 0 || s.stride[last] != 1 || base % 16)
        return false;
    if (s.swizzle.bits && s.swizzle.base < 4)
        return false;
    for (int d = 0; d < v->rank; d++) {
        int64_t c;
        if (d == last) {
            if (t->start[d] && (const_expr(t->start[d], &c) ? c % 8 != 0
                                                            : cg_div_log2(L, t->start[d]) < 3))
                return false;
        } else if (s.stride[d] % 8) {
            return false;
        }
    }
    int pick = -1;
    Layout q;
    int32_t rc0[2], coef[5][2];
    for (size_t j = 0; j < sizeof lds / sizeof lds[0] && pick < 0; j++)
        if (quotient(r->layout, lds[j].h, L->nthreads, &q) && lane_affine(lds[j].h, rc0, coef) &&
            rc0[1] % 8 == 0)
            pick = (int)j;
    if (pick < 0)
        return false;
    for (int b = 0; b < 5; b++)
        if (coef[b][1] % 8)
            return false;
    Layout atom;
    lay_hw(&atom, lds[pick].h);
    int ash[2] = {atom.shape[0], atom.shape[1]};
    /* per quotient local: tile coords = (qbase(w) + qcst[lq]) * atom shape + rc(lane) */
    Layout rep, p;
    if (lay_replicate(&rep, 32) != LAY_OK || lay_product(&p, q, rep) != LAY_OK)
        return false;
    CgCoords c;
    cg_coords(L, p, &c);
    int lane = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(L->tid), cg_I(31));
    /* s32 thread parts of the linear element index: dims whose byte strides
     * are multiples of the swizzle's span (2^(shift+base+bits): stages, row
     * blocks) are added after the swizzle, swizzle(x + y) = swizzle(x) + y */
    LaySwizzle z = s.swizzle;
    int64_t unit = z.bits ? (int64_t)1 << (z.shift + z.base + z.bits) : 1;
    int tb = -1, tbo = -1;
    for (int d = 0; d < v->rank; d++) {
        int x = t->start[d] ? cg_expr_s32(L, t->start[d]) : -1;
        int td = tmap[d];
        if (td >= 0) {
            int acc = -1;
            if (c.base[td] >= 0)
                acc = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(c.base[td]), cg_I(ash[td]));
            int lt = lane_term(L, lane, coef, td);
            if (lt >= 0)
                acc = acc < 0 ? lt : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(lt));
            if (rc0[td] && acc < 0) {
                acc = cg_reg(L, TIR_S32, NULL);
                cg_mov(L, acc, cg_I(rc0[td]));
            } else if (rc0[td]) {
                acc = cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_I(rc0[td]));
            }
            if (acc >= 0)
                x = x >= 0 ? cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(x), cg_R(acc)) : acc;
        }
        if (x < 0 || !s.stride[d])
            continue;
        if (s.stride[d] != 1)
            x = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(x), cg_I(s.stride[d]));
        int *dst = z.bits && (int64_t)s.stride[d] * 2 % unit == 0 ? &tbo : &tb;
        *dst = *dst < 0 ? x : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(*dst), cg_R(x));
    }
    if (tb < 0) {
        tb = cg_reg(L, TIR_S32, NULL);
        cg_mov(L, tb, cg_I(0));
    }
    int tbyte = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(cg_bitcast(L, TIR_U32, TIR_S32, cg_R(tb))),
                       cg_I(1));
    int obyte = -1;
    if (tbo >= 0)
        obyte = cg_op2(L, TIR_OP_SHL, TIR_U32,
                       cg_R(cg_bitcast(L, TIR_U32, TIR_S32, cg_R(tbo))), cg_I(1));
    int n = lds[pick].n, per = lay_local_size(atom);
    int nq = lay_local_size(q);
    CgTensor out = cg_new_tensor(L, nq * per, r->dtype, r->name);
    TirType et = cg_elem_type(r->dtype);
    /* swizzled thread addresses by the low part of the constant offset */
    int64_t *lo_key = vm_alloc(L->a, sizeof(int64_t) * (size_t)nq);
    int *lo_reg = vm_alloc(L->a, sizeof(int) * (size_t)nq), nlo = 0;
    for (int lq = 0; lq < nq; lq++) {
        int64_t k = 0;
        for (int d = 0; d < v->rank; d++)
            if (tmap[d] >= 0)
                k += (int64_t)c.cst[lq * c.rank + tmap[d]] * ash[tmap[d]] * s.stride[d];
        int64_t kb = k * 2, lo = z.bits ? kb % unit : 0, off = base + kb - lo;
        if (lo < 0) {
            lo += unit;
            off -= unit;
        }
        int addr = -1;
        for (int j = 0; j < nlo && addr < 0; j++)
            if (lo_key[j] == lo)
                addr = lo_reg[j];
        if (addr < 0) {
            addr = tbyte;
            if (z.bits) {
                int x = lo ? cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(tbyte), cg_I(lo)) : tbyte;
                int y = cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(x), cg_I(z.shift));
                y = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(y), cg_I(((1ll << z.bits) - 1) << z.base));
                addr = cg_op2(L, TIR_OP_XOR, TIR_U32, cg_R(x), cg_R(y));
            }
            if (obyte >= 0)
                addr = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(addr), cg_R(obyte));
            lo_key[nlo] = lo;
            lo_reg[nlo++] = addr;
        }
        TirOp *o = cg_emit(L, TIR_OP_LDMATRIX, TIR_B32);
        o->space = TIR_SPACE_SHARED;
        o->imm = n;
        o->flag = lds[pick].trans;
        o->off = off;
        o->na = 1;
        o->a[0] = cg_R(addr);
        o->nd = n;
        int words[4];
        for (int j = 0; j < n; j++)
            o->d[j] = words[j] = cg_reg(L, TIR_B32, "frag");
        for (int j = 0; j < n; j++) {
            TirOp *u = cg_emit(L, TIR_OP_UNPACK, et);
            u->type2 = TIR_B32;
            u->nd = 2;
            u->d[0] = out.r[lq * per + 2 * j];
            u->d[1] = out.r[lq * per + 2 * j + 1];
            u->na = 1;
            u->a[0] = cg_R(words[j]);
        }
    }
    L->vals[r->id] = out;
    return true;
}

/* codegen/lower_mem.c - memory instructions: global and shared tiles, masks,
 * sub-byte packing, copy_async, load_scalar, gather, global views and
 * workspaces (VM.md 2, 3; CODEGEN.md 1).
 *
 * Addresses: a global element's address is base + linear index * bytes
 * (linear = sum (start + coord) * stride, strides row-major unless given),
 * computed in 32-bit and widened; n-bit elements take bit offsets
 * (linear * n), a byte address and a shift. A global access is guarded by
 * the bounds of every dim ((u32)coord < (u32)size, which also catches
 * negative starts) AND the user mask; a masked-off load gives `other`.
 * Shared offsets follow the shared layout: strides, then the XOR swizzle
 * on byte offsets, as integer ops, plus the allocation's planned offset.
 *
 * Stores of replicated elements are done by the lowest replica only.
 * Sub-byte stores: threads may share a byte, so an n-bit element is written
 * with atom.and (clear) then atom.or (set) on the aligned 32-bit word(s)
 * holding it (two words when it straddles one, widths 3/5/6/7): correct for
 * any layout at the cost of atomics. This assumes the aligned 32-bit words
 * around a global sub-byte tensor are addressable (true for CUDA
 * allocations, whose bases are 256-byte aligned). Sub-byte loads read one
 * or two bytes, never past the tensor's last byte.
 *
 * Vectorization (lower_vec.c plans it): a run of a thread's elements that
 * is contiguous, aligned and uniformly in bounds moves with one 2..16-byte
 * ld/st (16 one-byte elements as four words; 16-bit elements as words
 * split by unpack, so that a guarded load zero-fills whole registers and
 * mma fragments take the words as they are; sub-byte runs as whole bytes
 * in aligned pieces, split with bfe); shared tiles the same way where the
 * shared layout keeps the run contiguous and aligned (a swizzle moves
 * aligned 2^base-byte chunks whole).
 *
 * copy_async is distributed over the threads by the mask's layout or
 * vm_default_layout; runs of 4/8/16 bytes become cp.async (commit and wait
 * its groups), the rest is copied synchronously (plain loads and stores:
 * the VM's rules make the data visible only after wait + sync anyway).
 * Global runs are vectorized by lower_vec.c's plan. */
#include <string.h>

#include "codegen/lower.h"

/* ---------------------------------------------------------------- element access */

static TirType mem_type(Dtype dt)
{
    int bits = vm_dtype_bits(dt);
    if (dt == VM_DT_BOOL)
        return TIR_U8;
    if (vm_dtype_is_float(dt) && bits >= 16)
        return bits == 16 ? TIR_B16 : cg_elem_type(dt);
    bool s = vm_dtype_is_int(dt) && vm_dtype_is_signed(dt);
    switch (bits) {
    case 8:
        return s ? TIR_S8 : TIR_U8;
    case 16:
        return s ? TIR_S16 : TIR_U16;
    default:
        return cg_elem_type(dt);
    }
}

static int ld(CgLower *L, TirSpace sp, TirType rt, TirType mt, TirArg addr, int64_t off, int dst,
              int guard)
{
    TirOp *o = cg_emit(L, TIR_OP_LD, rt);
    o->type2 = mt;
    o->space = sp;
    o->width = tir_type_bits(mt) / 8;
    o->off = off;
    o->na = 1;
    o->a[0] = addr;
    o->nd = 1;
    o->d[0] = dst;
    o->guard = guard;
    return dst;
}

static void st(CgLower *L, TirSpace sp, TirType rt, TirType mt, TirArg addr, int64_t off,
               TirArg v, int guard)
{
    TirOp *o = cg_emit(L, TIR_OP_ST, rt);
    o->type2 = mt;
    o->space = sp;
    o->width = tir_type_bits(mt) / 8;
    o->off = off;
    o->na = 2;
    o->a[0] = addr;
    o->a[1] = v;
    o->guard = guard;
}

static void atom_bits(CgLower *L, TirSpace sp, TirAtomOp op, TirArg addr, int64_t off, TirArg v,
                      int guard)
{
    TirOp *o = cg_emit(L, TIR_OP_ATOM, TIR_B32);
    o->mod = op;
    o->space = sp;
    o->scope = sp == TIR_SPACE_SHARED ? TIR_SCOPE_CTA : TIR_SCOPE_GPU;
    o->off = off;
    o->na = 2;
    o->a[0] = addr;
    o->a[1] = v;
    o->guard = guard;
}

/* Loads an element whose first bit is at byte address addr (+off), bit sh
 * (u32 register; -1 for whole-byte dtypes). Returns the value register; the
 * load happens only under guard, else the result is `other` (-1: zero). */
static int elem_load(CgLower *L, TirSpace sp, int addr, int64_t off, int sh, Dtype dt, int guard,
                     int other)
{
    TirType rt = cg_elem_type(dt);
    int bits = vm_dtype_bits(dt);
    if (bits >= 8) {
        TirType lt = rt == TIR_PRED ? TIR_U32 : rt;
        int d = cg_reg(L, lt, NULL);
        if (rt == TIR_PRED)
            cg_mov(L, d, other >= 0 ? cg_R(cg_selp(L, TIR_U32, cg_I(1), cg_I(0), other)) : cg_I(0));
        else
            cg_mov(L, d, other >= 0 ? cg_R(other) : cg_I(0));
        ld(L, sp, lt, mem_type(dt), cg_R(addr), off, d, guard);
        return rt == TIR_PRED ? cg_setp(L, TIR_CMP_NE, TIR_U32, cg_R(d), cg_I(0)) : d;
    }
    int b0 = cg_reg(L, TIR_U32, "byte");
    cg_mov(L, b0, cg_I(0));
    ld(L, sp, TIR_U32, TIR_U8, cg_R(addr), off, b0, guard);
    int w = b0;
    if (8 % bits) {
        int b1 = cg_reg(L, TIR_U32, "byte");
        cg_mov(L, b1, cg_I(0));
        int end = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(sh), cg_I(bits));
        int two = cg_setp(L, TIR_CMP_GT, TIR_U32, cg_R(end), cg_I(8));
        ld(L, sp, TIR_U32, TIR_U8, cg_R(addr), off + 1, b1, cg_pand(L, guard, two));
        int hi = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(b1), cg_I(8));
        w = cg_op2(L, TIR_OP_OR, TIR_U32, cg_R(b0), cg_R(hi));
    }
    int v = cg_op3(L, TIR_OP_BFE, rt, cg_R(w), cg_R(sh), cg_I(bits));
    if (other >= 0 && guard >= 0)
        v = cg_selp(L, rt, cg_R(v), cg_R(other), guard);
    return v;
}

static void elem_store(CgLower *L, TirSpace sp, int addr, int64_t off, int sh, Dtype dt, int val,
                       int guard)
{
    TirType rt = cg_elem_type(dt);
    int bits = vm_dtype_bits(dt);
    if (bits >= 8) {
        int v = val;
        if (rt == TIR_PRED) {
            v = cg_selp(L, TIR_U32, cg_I(1), cg_I(0), val);
            rt = TIR_U32;
        }
        st(L, sp, rt, mem_type(dt), cg_R(addr), off, cg_R(v), guard);
        return;
    }
    TirType at = sp == TIR_SPACE_SHARED ? TIR_U32 : TIR_U64;
    int a = addr;
    if (off)
        a = cg_op2(L, TIR_OP_ADD, at, cg_R(a), cg_I(off));
    int lo2 = cg_cvt(L, TIR_U32, at, TIR_RND_NONE, false, cg_R(a));
    lo2 = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(lo2), cg_I(3));
    int word = cg_op2(L, TIR_OP_AND, at, cg_R(a), cg_I(sp == TIR_SPACE_SHARED ? 0xFFFFFFFCll : -4));
    int p = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(lo2), cg_I(3));
    p = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(p), cg_R(sh));
    uint32_t mask = (1u << bits) - 1;
    int code = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(val), cg_I(mask));
    int c64 = cg_cvt(L, TIR_U64, TIR_U32, TIR_RND_NONE, false, cg_R(code));
    int v64 = cg_op2(L, TIR_OP_SHL, TIR_U64, cg_R(c64), cg_R(p));
    int m64 = cg_op2(L, TIR_OP_SHL, TIR_U64, cg_I(mask), cg_R(p));
    int n64 = cg_op1(L, TIR_OP_NOT, TIR_U64, cg_R(m64));
    int vlo = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false, cg_R(v64));
    int nlo = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false, cg_R(n64));
    atom_bits(L, sp, TIR_ATOM_AND, cg_R(word), 0, cg_R(nlo), guard);
    atom_bits(L, sp, TIR_ATOM_OR, cg_R(word), 0, cg_R(vlo), guard);
    if (32 % bits) {
        int end = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(p), cg_I(bits));
        int two = cg_pand(L, guard, cg_setp(L, TIR_CMP_GT, TIR_U32, cg_R(end), cg_I(32)));
        int vhi = cg_cvt(L, TIR_U32, TIR_U64,  TIR_RND_NONE, false,
                         cg_R(cg_op2(L, TIR_OP_SHR, TIR_U64, cg_R(v64), cg_I(32))));
        int nhi = cg_cvt(L, TIR_U32, TIR_U64, TIR_RND_NONE, false,
                         cg_R(cg_op2(L, TIR_OP_SHR, TIR_U64, cg_R(n64), cg_I(32))));
        atom_bits(L, sp, TIR_ATOM_AND, cg_R(word), 4, cg_R(nhi), two);
        atom_bits(L, sp, TIR_ATOM_OR, cg_R(word), 4, cg_R(vhi), two);
    }
}

/* ---------------------------------------------------------------- global tensors */

int cg_global_base(CgLower *L, const Value *g) { return g ? L->gbase[g->id] : -1; }

bool cg_gtile_init(CgLower *L, const Inst *i, const Tile *t, CgGTile *G)
{
    const Value *g = t->base;
    if (cg_global_base(L, g) < 0)
        return cg_fail(L, i, "%s: global tensor %s has no base pointer", vm_op_name(i->op),
                       vm_value_label(L->a, g));
    G->g = g;
    G->tile = t;
    G->rank = g->rank;
    int r = 0;
    for (int d = 0; d < g->rank; d++) {
        G->start[d] = t->start[d] ? cg_expr_s32(L, t->start[d]) : -1;
        G->size[d] = cg_expr_s32(L, g->gshape[d]);
        G->tmap[d] = t->drop[d] ? -1 : r++;
    }
    for (int d = g->rank - 1; d >= 0; d--) {
        if (g->gstride)
            G->stride[d] = cg_expr_s32(L, g->gstride[d]);
        else if (d == g->rank - 1) {
            G->stride[d] = cg_reg(L, TIR_S32, "stride");
            cg_mov(L, G->stride[d], cg_I(1));
        } else
            G->stride[d] = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(G->stride[d + 1]),
                                  cg_R(G->size[d + 1]));
    }
    return true;
}

/* Element at global coordinates gc[d] (s32 registers): its byte address
 * (u64), bit shift (u32, -1 for whole bytes) and in-bounds pred (inb NULL:
 * none, the caller has its own, tile_inb). */
static void gtile_addr(CgLower *L, const CgGTile *G, const int *gc, int *addr, int *sh,
                       int *inb)
{
    int lin = -1, p = -1;
    for (int d = 0; d < G->rank; d++) {
        if (inb) {
            int q = cg_setp(L, TIR_CMP_LT, TIR_U32, cg_R(gc[d]), cg_R(G->size[d]));
            p = cg_pand(L, p, q);
        }
        int m = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(gc[d]), cg_R(G->stride[d]));
        lin = lin < 0 ? m : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(lin), cg_R(m));
    }
    if (lin < 0) {
        lin = cg_reg(L, TIR_S32, NULL);
        cg_mov(L, lin, cg_I(0));
    }
    if (inb)
        *inb = p;
    int bits = vm_dtype_bits(G->g->dtype);
    int off;
    int wide = bits % 8 ? bits : bits / 8;
    off = cg_op2(L, TIR_OP_MULWIDE, TIR_S64, cg_R(lin), cg_I(wide));
    L->cur->last->type2 = TIR_S32;
    *sh = -1;
    if (bits % 8) {
        int s64 = cg_op2(L, TIR_OP_AND, TIR_S64, cg_R(off), cg_I(7));
        *sh = cg_cvt(L, TIR_U32, TIR_S64, TIR_RND_NONE, false, cg_R(s64));
        off = cg_op2(L, TIR_OP_SHR, TIR_S64, cg_R(off), cg_I(3));
    }
    int u = cg_bitcast(L, TIR_U64, TIR_S64, cg_R(off));
    *addr = cg_op2(L, TIR_OP_ADD, TIR_U64, cg_R(cg_global_base(L, G->g)), cg_R(u));
}

void cg_gtile_addr(CgLower *L, const CgGTile *G, const int *gc, int *addr, int *sh, int *inb)
{
    gtile_addr(L, G, gc, addr, sh, inb);
}

/* Global coordinates of element l of a tile distributed by coords c. */
void cg_gtile_coords(CgLower *L, const CgGTile *G, const CgCoords *c, int l, int *gc)
{
    for (int d = 0; d < G->rank; d++) {
        int v = G->tmap[d] >= 0 ? cg_coord(L, c, l, G->tmap[d]) : -1;
        if (G->start[d] >= 0 && v >= 0)
            v = cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(G->start[d]), cg_R(v));
        else if (v < 0 && G->start[d] >= 0)
            v = G->start[d];
        else if (v < 0) {
            v = cg_reg(L, TIR_S32, NULL);
            cg_mov(L, v, cg_I(0));
        }
        gc[d] = v;
    }
}

/* Elements l..l+v-1 (cg_gvec) with one v * bytes load under element l's
 * guard, which holds for all of them; 16 one-byte elements as four words
 * (bfe each), 2-byte elements as words too (unpack each word: a guarded
 * word load zero-fills whole registers, and mma fragments reuse the words,
 * lower_mma.c pack_frag). */
static void load_run(CgLower *L, Dtype dt, int addr, int p, int v, const int *other, int *out)
{
    TirType rt = cg_elem_type(dt);
    int eb = vm_dtype_bits(dt) / 8, nw = v > 8 || (eb == 2 && v >= 2) ? v * eb / 4 : 0;
    int nd = nw ? nw : v;
    TirType dtt = nw ? TIR_U32 : rt;
    int d[TIR_MAX_DST];
    for (int j = 0; j < nd; j++) {
        d[j] = cg_reg(L, dtt, nw ? "word" : NULL);
        cg_mov(L, d[j], !nw && other ? cg_R(other[j]) : cg_I(0));
    }
    TirOp *o = cg_emit(L, TIR_OP_LD, dtt);
    o->type2 = nw ? TIR_U32 : mem_type(dt);
    o->space = TIR_SPACE_GLOBAL;
    o->width = v * eb;
    o->na = 1;
    o->a[0] = cg_R(addr);
    o->nd = nd;
    memcpy(o->d, d, sizeof(int) * (size_t)nd);
    o->guard = p;
    for (int j = 0; j < v; j++) {
        if (!nw) {
            out[j] = d[j];
            continue;
        }
        int x;
        if (eb == 2) {
            if (j % 2 == 0)
                cg_split_pair(L, rt, TIR_U32, d[j / 2], &out[j], &out[j + 1]);
            x = out[j];
        } else {
            x = cg_op3(L, TIR_OP_BFE, rt, cg_R(d[j / 4]), cg_I(8 * (j % 4)), cg_I(8));
        }
        out[j] = other && p >= 0 ? cg_selp(L, rt, cg_R(x), cg_R(other[j]), p) : x;
    }
}

/* v sub-byte elements in whole bytes from addr (aligned to 2^align): the
 * bytes in aligned pieces of 16/8/4 (words) or 2/1 (shifted into their
 * word), then each element's bits, across a word boundary where it
 * straddles one. */
static void load_bits_run(CgLower *L, Dtype dt, int addr, int p, int v, int align,
                          const int *other, int *out)
{
    int bits = vm_dtype_bits(dt), nbytes = v * bits / 8, w[4];
    TirType rt = cg_elem_type(dt);
    for (int j = 0; j < (nbytes + 3) / 4; j++) {
        w[j] = cg_reg(L, TIR_U32, "word");
        cg_mov(L, w[j], cg_I(0));
    }
    for (int o = 0; o < nbytes;) {
        int s = 16;
        while (s > 1 && (s > nbytes - o || s > (1 << align) || o % s))
            s /= 2;
        int t = -1;
        if (s < 4) {
            t = cg_reg(L, TIR_U32, "bytes");
            cg_mov(L, t, cg_I(0));
        }
        TirOp *ld = cg_emit(L, TIR_OP_LD, TIR_U32);
        ld->type2 = s >= 4 ? TIR_U32 : s == 2 ? TIR_U16 : TIR_U8;
        ld->space = TIR_SPACE_GLOBAL;
        ld->width = s;
        ld->off = o;
        ld->na = 1;
        ld->a[0] = cg_R(addr);
        ld->guard = p;
        if (s >= 4) {
            ld->nd = s / 4;
            for (int j = 0; j < s / 4; j++)
                ld->d[j] = w[o / 4 + j];
        } else {
            ld->nd = 1;
            ld->d[0] = t;
            int sh = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(t), cg_I(8 * (o % 4)));
            cg_mov(L, w[o / 4], cg_R(cg_op2(L, TIR_OP_OR, TIR_U32, cg_R(w[o / 4]), cg_R(sh))));
        }
        o += s;
    }
    for (int j = 0; j < v; j++) {
        int q = j * bits, wi = q / 32, sh = q % 32, src = w[wi];
        if (sh + bits > 32) {
            int lo = cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(w[wi]), cg_I(sh));
            int hi = cg_op2(L, TIR_OP_SHL, TIR_U32, cg_R(w[wi + 1]), cg_I(32 - sh));
            src = cg_op2(L, TIR_OP_OR, TIR_U32, cg_R(lo), cg_R(hi));
            sh = 0;
        }
        int x = cg_op3(L, TIR_OP_BFE, rt, cg_R(src), cg_I(sh), cg_I(bits));
        out[j] = other && p >= 0 ? cg_selp(L, rt, cg_R(x), cg_R(other[j]), p) : x;
    }
}

static int *load_global_tile(CgLower *L, const Inst *i, const Tile *t, Layout lay,
                             const int *mask, const int *other)
{
    CgGTile G;
    if (!cg_gtile_init(L, i, t, &G))
        return NULL;
    CgCoords c;
    cg_coords(L, lay, &c);
    int *out = vm_alloc(L->a, sizeof(int) * (size_t)(c.n ? c.n : 1));
    for (int l = 0; l < c.n;) {
        int gc[VM_MAX_DIMS], addr, sh, inb;
        int al, v = cg_gvec(L, &G, lay, l, mask, 16, &al);
        cg_gtile_coords(L, &G, &c, l, gc);
        cg_gtile_addr(L, &G, gc, &addr, &sh, &inb);
        int p = cg_pand(L, inb, mask ? mask[l] : -1);
        if (v > 1 && vm_dtype_bits(G.g->dtype) % 8)
            load_bits_run(L, G.g->dtype, addr, p, v, al, other ? other + l : NULL, out + l);
        else if (v > 1)
            load_run(L, G.g->dtype, addr, p, v, other ? other + l : NULL, out + l);
        else
            out[l] = elem_load(L, TIR_SPACE_GLOBAL, addr, 0, sh, G.g->dtype, p,
                               other ? other[l] : -1);
        l += v;
    }
    return out;
}

static bool store_global_tile(CgLower *L, const Inst *i, const Tile *t, Layout lay,
                              const int *val, const int *mask)
{
    CgGTile G;
    if (!cg_gtile_init(L, i, t, &G))
        return false;
    CgCoords c;
    cg_coords(L, lay, &c);
    int rep = cg_replica_pred(L, lay);
    int eb = vm_dtype_bits(G.g->dtype) / 8;
    for (int l = 0; l < c.n;) {
        int gc[VM_MAX_DIMS], addr, sh, inb;
        int v = cg_gvec(L, &G, lay, l, mask, eb * 8 < 16 ? eb * 8 : 16, NULL);
        cg_gtile_coords(L, &G, &c, l, gc);
        cg_gtile_addr(L, &G, gc, &addr, &sh, &inb);
        int p = cg_pand(L, cg_pand(L, inb, mask ? mask[l] : -1), rep);
        if (v > 1) {
            TirOp *o = cg_emit(L, TIR_OP_ST, cg_elem_type(G.g->dtype));
            o->type2 = mem_type(G.g->dtype);
            o->space = TIR_SPACE_GLOBAL;
            o->width = v * eb;
            o->na = 1 + v;
            o->a[0] = cg_R(addr);
            for (int j = 0; j < v; j++)
                o->a[1 + j] = cg_R(val[l + j]);
            o->guard = p;
        } else {
            elem_store(L, TIR_SPACE_GLOBAL, addr, 0, sh, G.g->dtype, val[l], p);
        }
        l += v;
    }
    return true;
}

/* ---------------------------------------------------------------- shared tensors */

typedef struct {
    SharedLayout s;
    int64_t base; /* planned byte offset of the allocation */
    int start[VM_MAX_DIMS];
    int tmap[VM_MAX_DIMS];
    int rank;
    int outer; /* u32 bytes added after the swizzle (stile_init), -1: none */
} STile;

static bool stile_init(CgLower *L, const Inst *i, const Tile *t, STile *S)
{
    const Value *v = t->base;
    if (!v || v->kind != VM_SHARED || vm_shared_layout_of(v, &S->s) != LAY_OK ||
        L->plan.offset[v->id] < 0)
        return cg_fail(L, i, "%s: shared tensor without a planned layout", vm_op_name(i->op));
    S->base = L->plan.offset[v->id];
    S->rank = v->rank;
    S->outer = -1;
    LaySwizzle z = S->s.swizzle;
    int64_t period = (int64_t)1 << (z.base + z.bits + (z.shift > 0 ? z.shift : 0));
    int r = 0;
    for (int d = 0; d < v->rank; d++) {
        S->start[d] = t->start[d] ? cg_expr_s32(L, t->start[d]) : -1;
        S->tmap[d] = t->drop[d] ? -1 : r++;
        int64_t sb = S->s.stride[d] * S->s.elem_bits;
        /* an index (a ring's stage) whose stride is a whole number of
         * swizzle periods moves the swizzled offsets unchanged: added after
         * the swizzle, which then stays the same for every stage */
        if (z.bits > 0 && t->drop[d] && S->start[d] >= 0 && S->s.elem_bits % 8 == 0 &&
            sb % (8 * period) == 0) {
            int o = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(S->start[d]), cg_I(sb / 8));
            S->outer = S->outer < 0 ? o : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(S->outer), cg_R(o));
            S->start[d] = -1;
        }
    }
    if (S->outer >= 0)
        S->outer = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(S->outer));
    return true;
}

/* Byte address (u32, region-relative) and bit shift (-1: whole bytes) of
 * element l. The thread part of the linear index is shared by the caller's
 * loop through tbase (computed on first use). */
static void stile_addr(CgLower *L, const STile *S, const CgCoords *c, int l, int *tbase,
                       int *addr, int64_t *off, int *sh)
{
    if (*tbase == -2) {
        int acc = -1;
        for (int d = 0; d < S->rank; d++) {
            int v = S->start[d];
            int cb = S->tmap[d] >= 0 ? c->base[S->tmap[d]] : -1;
            if (cb >= 0)
                v = v >= 0 ? cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(v), cg_R(cb)) : cb;
            if (v < 0 || !S->s.stride[d])
                continue;
            if (S->s.stride[d] != 1)
                v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(v), cg_I(S->s.stride[d]));
            acc = acc < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(acc), cg_R(v));
        }
        *tbase = acc;
    }
    int64_t k = 0;
    for (int d = 0; d < S->rank; d++)
        if (S->tmap[d] >= 0)
            k += (int64_t)c->cst[l * c->rank + S->tmap[d]] * S->s.stride[d];
    int bits = S->s.elem_bits;
    bool swz = S->s.swizzle.bits > 0;
    *sh = -1;
    if (*tbase < 0 && !swz && bits % 8 == 0) {
        int z = cg_reg(L, TIR_U32, "saddr");
        cg_mov(L, z, cg_I(0));
        *addr = z;
        *off = S->base + k * (bits / 8);
        return;
    }
    int lin;
    if (*tbase < 0) {
        lin = cg_reg(L, TIR_S32, NULL);
        cg_mov(L, lin, cg_I(k));
    } else
        lin = k ? cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(*tbase), cg_I(k)) : *tbase;
    int u = cg_bitcast(L, TIR_U32, TIR_S32, cg_R(lin));
    if (!swz && bits % 8 == 0) {
        *addr = bits == 8 ? u : cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(u), cg_I(bits / 8));
        *off = S->base;
        return;
    }
    int bit = cg_op2(L, TIR_OP_MUL, TIR_U32, cg_R(u), cg_I(bits));
    int byte = cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(bit), cg_I(3));
    if (swz) {
        LaySwizzle z = S->s.swizzle;
        int x = cg_op2(L, TIR_OP_SHR, TIR_U32, cg_R(byte), cg_I(z.shift));
        x = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(x), cg_I(((1ll << z.bits) - 1) << z.base));
        byte = cg_op2(L, TIR_OP_XOR, TIR_U32, cg_R(byte), cg_R(x));
    }
    if (bits % 8)
        *sh = cg_op2(L, TIR_OP_AND, TIR_U32, cg_R(bit), cg_I(7));
    if (S->outer >= 0)
        byte = cg_op2(L, TIR_OP_ADD, TIR_U32, cg_R(byte), cg_R(S->outer));
    *addr = byte;
    *off = S->base;
}

/* min(a, log2 of the largest power of two dividing x); x == 0 keeps a */
static int min_tz(int a, int32_t x)
{
    int z = x ? __builtin_ctz((unsigned)x) : a;
    return z < a ? z : a;
}

/* The largest v' <= v (a power of two) such that shared elements l..l+v'-1
 * of S are consecutive bytes aligned to v' * bytes: stride 1 along result
 * dim rd, the start and thread terms divisible; a swizzle moves aligned
 * 2^base-byte chunks whole, so it caps the chunk at 2^base bytes. */
static int svec(CgLower *L, const STile *S, const Tile *t, Layout lay, int l, int rd, int v)
{
    int bits = S->s.elem_bits, ds = -1;
    for (int d = 0; d < S->rank; d++)
        if (S->tmap[d] == rd)
            ds = d;
    if (v < 2 || bits % 8 || ds < 0 || S->s.stride[ds] != 1)
        return 1;
    int eb = __builtin_ctz((unsigned)bits / 8);
    LayAffine aff[LAY_MAX_DIMS];
    lay_symbolic_apply(lay, l, aff);
    int lin = CG_DIV_ANY;
    for (int d = 0; d < S->rank; d++) {
        if (!S->s.stride[d])
            continue;
        int cd = t->start[d] ? cg_div_log2(L, t->start[d]) : CG_DIV_ANY;
        if (S->tmap[d] >= 0) {
            const LayAffine *f = &aff[S->tmap[d]];
            cd = min_tz(cd, f->constant);
            for (int k = 0; k < f->nterms; k++)
                cd = min_tz(cd, f->mul[k]);
        }
        int sd = __builtin_ctz((unsigned)S->s.stride[d]) + cd;
        lin = lin < sd ? lin : sd;
    }
    int align = S->base ? __builtin_ctzll((uint64_t)S->base) : CG_DIV_ANY;
    align = align < lin + eb ? align : lin + eb;
    if (S->s.swizzle.bits > 0 && S->s.swizzle.base < align)
        align = S->s.swizzle.base;
    while (v > 1 && (v << eb) > (1 << (align < 16 ? align : 16)))
        v /= 2;
    return v;
}

/* Elements l.. of a shared tile that one ld/st.shared may cover (at most
 * 8, max_bytes bytes), 1 when none. */
static int srun(CgLower *L, const STile *S, const Tile *t, Layout lay, Dtype dt, int l)
{
    int bits = S->s.elem_bits, rd = -1;
    if (bits % 8 || dt == VM_DT_BOOL)
        return 1;
    for (int d = 0; d < S->rank; d++)
        if (S->tmap[d] >= 0 && S->s.stride[d] == 1)
            rd = S->tmap[d];
    if (rd < 0)
        return 1;
    int run = lay_contiguity(lay, rd, l), v = 1;
    while (2 * v <= run && 2 * v <= 8 && 2 * v * bits <= 128)
        v *= 2;
    return svec(L, S, t, lay, l, rd, v);
}

static int *load_shared_tile(CgLower *L, const Inst *i, const Tile *t, Layout lay, Dtype dt)
{
    STile S;
    if (!stile_init(L, i, t, &S))
        return NULL;
    CgCoords c;
    cg_coords(L, lay, &c);
    int *out = vm_alloc(L->a, sizeof(int) * (size_t)(c.n ? c.n : 1));
    int tb = -2;
    for (int l = 0; l < c.n;) {
        int addr, sh, v = srun(L, &S, t, lay, dt, l);
        int64_t off;
        stile_addr(L, &S, &c, l, &tb, &addr, &off, &sh);
        if (v == 1) {
            out[l++] = elem_load(L, TIR_SPACE_SHARED, addr, off, sh, dt, -1, -1);
            continue;
        }
        /* 2-byte elements as words, unpacked (as load_run: mma fragments
         * reuse the words) */
        bool words = vm_dtype_bits(dt) == 16;
        TirType et = cg_elem_type(dt);
        TirOp *o = cg_emit(L, TIR_OP_LD, words ? TIR_U32 : et);
        o->type2 = words ? TIR_U32 : mem_type(dt);
        o->space = TIR_SPACE_SHARED;
        o->width = v * vm_dtype_bits(dt) / 8;
        o->off = off;
        o->na = 1;
        o->a[0] = cg_R(addr);
        o->nd = words ? v / 2 : v;
        for (int j = 0; j < o->nd; j++)
            o->d[j] = cg_reg(L, words ? TIR_U32 : et, words ? "word" : NULL);
        for (int j = 0; j < v; j++) {
            if (!words) {
                out[l + j] = o->d[j];
            } else if (j % 2 == 0) {
                cg_split_pair(L, et, TIR_U32, o->d[j / 2], &out[l + j], &out[l + j + 1]);
            }
        }
        l += v;
    }
    return out;
}

static bool store_shared_tile(CgLower *L, const Inst *i, const Tile *t, Layout lay, Dtype dt,
                              const int *val, const int *guard)
{
    STile S;
    if (!stile_init(L, i, t, &S))
        return false;
    CgCoords c;
    cg_coords(L, lay, &c);
    int rep = cg_replica_pred(L, lay);
    int tb = -2;
    for (int l = 0; l < c.n;) {
        int addr, sh, v = guard ? 1 : srun(L, &S, t, lay, dt, l);
        int64_t off;
        stile_addr(L, &S, &c, l, &tb, &addr, &off, &sh);
        if (v == 1) {
            elem_store(L, TIR_SPACE_SHARED, addr, off, sh, dt, val[l],
                       cg_pand(L, rep, guard ? guard[l] : -1));
            l++;
            continue;
        }
        TirOp *o = cg_emit(L, TIR_OP_ST, cg_elem_type(dt));
        o->type2 = mem_type(dt);
        o->space = TIR_SPACE_SHARED;
        o->width = v * vm_dtype_bits(dt) / 8;
        o->off = off;
        o->na = 1 + v;
        o->a[0] = cg_R(addr);
        for (int j = 0; j < v; j++)
            o->a[1 + j] = cg_R(val[l + j]);
        o->guard = rep;
        l += v;
    }
    return true;
}

/* ---------------------------------------------------------------- instructions */

static int *mask_of(CgLower *L, const Inst *i, const Value *m, const Value *res)
{
    return m ? cg_operand(L, i, m, res->layout, res->rank, res->shape) : NULL;
}

/* The in-bounds pred of a tile element at coordinates gc = start + o, o
 * below the tile's size: per dim where the start and the extent are both
 * known multiples of the (power-of-two) size, start + o < extent for every
 * o < size exactly when start < extent (and a negative start fails both),
 * so the compare is the tile's, uniform and loop-invariant where the start
 * is, instead of one per element (the k steps of the matmul sample:
 * assume(k % bk == 0)). */
static int tile_inb(CgLower *L, const CgGTile *G, const int *gc)
{
    int p = -1;
    for (int d = 0; d < G->rank; d++) {
        const Tile *t = G->tile;
        int32_t sz = t->size[d];
        int lg = 0;
        while (lg < 30 && (1 << lg) < sz)
            lg++;
        bool whole = sz > 0 && (1 << lg) == sz && G->start[d] >= 0 && t->start[d] &&
                     cg_div_log2(L, t->start[d]) >= lg && cg_div_log2(L, G->g->gshape[d]) >= lg;
        int q = cg_setp(L, TIR_CMP_LT, TIR_U32, cg_R(whole ? G->start[d] : gc[d]),
                        cg_R(G->size[d]));
        p = cg_pand(L, p, q);
    }
    return p;
}

/* copy_async as cp.async where a run of the thread's elements moves 4, 8
 * or 16 bytes (cg_gvec on the global side, svec on the shared side): the
 * bytes outside the bounds or the mask are zero-filled through src-size 0
 * (from the tensor's base address, so no address outside it is formed);
 * other elements take the plain synchronous path. */
static bool copy_async_tile(CgLower *L, const Inst *i, Layout lay, const int *mask)
{
    CgGTile G;
    STile S;
    if (!cg_gtile_init(L, i, &i->mem[1], &G) || !stile_init(L, i, &i->mem[0], &S))
        return false;
    Dtype dt = G.g->dtype;
    CgCoords c;
    cg_coords(L, lay, &c);
    int rep = cg_replica_pred(L, lay);
    int eb = vm_dtype_bits(dt) / 8, rd = G.rank ? G.tmap[G.rank - 1] : -1;
    int tb = -2;
    for (int l = 0; l < c.n;) {
        int gc[VM_MAX_DIMS], addr, sh, inb, saddr, ssh;
        int64_t soff;
        int v = cg_gvec(L, &G, lay, l, mask, 16, NULL);
        if (rd >= 0)
            v = svec(L, &S, &i->mem[0], lay, l, rd, v);
        if (v * eb < 4)
            v = 1;
        cg_gtile_coords(L, &G, &c, l, gc);
        gtile_addr(L, &G, gc, &addr, &sh, NULL);
        inb = tile_inb(L, &G, gc);
        int p = cg_pand(L, inb, mask ? mask[l] : -1);
        stile_addr(L, &S, &c, l, &tb, &saddr, &soff, &ssh);
        if (v == 1) {
            int x = elem_load(L, TIR_SPACE_GLOBAL, addr, 0, sh, dt, p, -1);
            elem_store(L, TIR_SPACE_SHARED, saddr, soff, ssh, dt, x, rep);
            l++;
            continue;
        }
        int w = v * eb;
        TirArg src = cg_R(addr), n = cg_I(w);
        if (p >= 0) {
            src = cg_R(cg_selp(L, TIR_U64, cg_R(addr), cg_R(cg_global_base(L, G.g)), p));
            n = cg_R(cg_selp(L, TIR_U32, cg_I(w), cg_I(0), p));
        }
        TirOp *o = cg_emit(L, TIR_OP_CP_ASYNC, TIR_B32);
        o->type2 = TIR_B32;
        o->width = w;
        o->flag = w == 16;
        o->off = soff;
        o->na = 3;
        o->a[0] = cg_R(saddr);
        o->a[1] = src;
        o->a[2] = n;
        o->guard = rep;
        l += v;
    }
    return true;
}

static bool copy_async(CgLower *L, const Inst *i)
{
    int32_t shape[VM_MAX_DIMS];
    int rank = vm_tile_shape(&i->mem[1], shape);
    Dtype dt = i->mem[1].base->dtype;
    Layout lay;
    const int *mask = NULL;
    if (i->a[0] && vm_shape_eq(i->a[0]->rank, i->a[0]->shape, rank, shape)) {
        lay = i->a[0]->layout;
        CgTensor *mt = cg_val(L, i->a[0]);
        if (!mt)
            return cg_fail(L, i, "copy_async: mask not lowered");
        mask = mt->r;
    } else if (vm_default_layout(&lay, shape, rank, dt, L->nthreads) != LAY_OK) {
        return cg_fail(L, i, "copy_async: no layout for the tile");
    } else if (i->a[0] && !(mask = cg_operand(L, i, i->a[0], lay, rank, shape))) {
        return false;
    }
    if (vm_dtype_bits(dt) % 8 == 0 && dt != VM_DT_BOOL)
        return copy_async_tile(L, i, lay, mask);
    int *v = load_global_tile(L, i, &i->mem[1], lay, mask, NULL);
    return v && store_shared_tile(L, i, &i->mem[0], lay, dt, v, NULL);
}

static bool load_scalar(CgLower *L, const Inst *i)
{
    CgGTile G;
    if (!cg_gtile_init(L, i, &i->mem[0], &G))
        return false;
    int gc[VM_MAX_DIMS], addr, sh, inb;
    for (int d = 0; d < G.rank; d++) {
        gc[d] = G.start[d];
        if (gc[d] < 0) {
            gc[d] = cg_reg(L, TIR_S32, NULL);
            cg_mov(L, gc[d], cg_I(0));
        }
    }
    cg_gtile_addr(L, &G, gc, &addr, &sh, &inb);
    int v = elem_load(L, TIR_SPACE_GLOBAL, addr, 0, sh, G.g->dtype, inb, -1);
    Var *var = i->var;
    if (!L->svar[var->id])
        L->svar[var->id] = cg_reg(L, cg_elem_type(var->dtype), var->name);
    cg_mov(L, L->svar[var->id], cg_R(cg_cast(L, var->dtype, G.g->dtype, v)));
    return true;
}

static bool gather(CgLower *L, const Inst *i)
{
    Value *r = i->res;
    CgGTile G;
    if (!cg_gtile_init(L, i, &i->mem[0], &G))
        return false;
    int *idx = cg_operand(L, i, i->a[0], r->layout, r->rank, r->shape);
    if (!idx)
        return false;
    CgCoords c;
    cg_coords(L, r->layout, &c);
    CgTensor out = cg_new_tensor(L, c.n, r->dtype, r->name);
    for (int l = 0; l < c.n; l++) {
        int gc[VM_MAX_DIMS], addr, sh, inb;
        cg_gtile_coords(L, &G, &c, l, gc);
        int ix = cg_cast(L, VM_DT_I32, i->a[0]->dtype, idx[l]);
        gc[i->dim] = G.start[i->dim] >= 0
                         ? cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(G.start[i->dim]), cg_R(ix))
                         : ix;
        cg_gtile_addr(L, &G, gc, &addr, &sh, &inb);
        int v = elem_load(L, TIR_SPACE_GLOBAL, addr, 0, sh, r->dtype, inb, -1);
        cg_mov(L, out.r[l], cg_R(v));
    }
    L->vals[r->id] = out;
    return true;
}

static bool set_result(CgLower *L, const Value *r, const int *regs)
{
    if (!regs)
        return false;
    int n = lay_local_size(r->layout);
    CgTensor t = {n, vm_alloc(L->a, sizeof(int) * (size_t)(n ? n : 1))};
    memcpy(t.r, regs, sizeof(int) * (size_t)n);
    L->vals[r->id] = t;
    return true;
}

bool cg_lower_mem(CgLower *L, const Inst *i)
{
    Value *r = i->res;
    switch (i->op) {
    case VM_LOAD_GLOBAL: {
        int *mask = mask_of(L, i, i->a[0], r);
        int *other = i->a[1] ? cg_operand(L, i, i->a[1], r->layout, r->rank, r->shape) : NULL;
        if ((i->a[0] && !mask) || (i->a[1] && !other))
            return false;
        return set_result(L, r, load_global_tile(L, i, &i->mem[0], r->layout, mask, other));
    }
    case VM_STORE_GLOBAL: {
        Value *v = i->a[0];
        CgTensor *vt = cg_val(L, v);
        if (!vt)
            return cg_fail(L, i, "store_global: value not lowered");
        int *mask = mask_of(L, i, i->a[1], v);
        if (i->a[1] && !mask)
            return false;
        return store_global_tile(L, i, &i->mem[0], v->layout, vt->r, mask);
    }
    case VM_LOAD_SHARED:
        if (cg_load_shared_ldmatrix(L, i))
            return !L->failed;
        return set_result(L, r, load_shared_tile(L, i, &i->mem[0], r->layout, r->dtype));
    case VM_STORE_SHARED: {
        CgTensor *vt = cg_val(L, i->a[0]);
        if (!vt)
            return cg_fail(L, i, "store_shared: value not lowered");
        return store_shared_tile(L, i, &i->mem[0], i->a[0]->layout, i->a[0]->dtype, vt->r, NULL);
    }
    case VM_COPY_ASYNC:
        return copy_async(L, i);
    case VM_COMMIT:
        cg_emit(L, TIR_OP_CP_COMMIT, TIR_B32);
        return true;
    case VM_WAIT:
        cg_emit(L, TIR_OP_CP_WAIT, TIR_B32)->imm = i->n;
        return true;
    case VM_LOAD_SCALAR:
        return load_scalar(L, i);
    case VM_GATHER:
        return gather(L, i);
    case VM_SHARED_ALLOC:
    case VM_SHARED_FREE:
        return true;
    case VM_GLOBAL_VIEW: {
        int base = cg_global_base(L, i->a[0]);
        if (base < 0)
            return cg_fail(L, i, "global_view of a tensor without a base pointer");
        int off = cg_expr(L, i->e[0]);
        TirType ot = L->t->regs[off].type;
        int o64 = ot == TIR_S64 ? off : cg_cvt(L, TIR_S64, ot, TIR_RND_NONE, false, cg_R(off));
        int u = cg_bitcast(L, TIR_U64, TIR_S64, cg_R(o64));
        L->gbase[r->id] = cg_op2(L, TIR_OP_ADD, TIR_U64, cg_R(base), cg_R(u));
        return true;
    }
    case VM_WORKSPACE: {
        TirKernel *t = L->t;
        if (t->nparams >= L->k->nparams + 8)
            return cg_fail(L, i, "too many workspaces");
        TirParam *p = &t->params[t->nparams++];
        p->name = vm_sprintf(L->a, "workspace%d", t->nparams - L->k->nparams - 1);
        p->kind = TIR_P_PTR;
        p->type = TIR_U64;
        p->dtype = r->dtype;
        p->hidden = true;
        p->reg = cg_reg(L, TIR_U64, p->name);
        L->gbase[r->id] = p->reg;
        return true;
    }
    default:
        return cg_fail(L, i, "%s is not a memory instruction", vm_op_name(i->op));
    }
}

/* codegen/lower_vec.c - the vectorization planner (CODEGEN.md 1): which
 * local elements of a global tile one thread may move with one 2/4/8/16-byte
 * access.
 *
 * Facts are powers of two only (log2 of a known divisor; CG_DIV_ANY for the
 * value 0): enough for alignment, and gcd/product become min/sum. Sources:
 * integer constants, top-level `assume(p % c == 0)` over parameters, `let`
 * initializers, loop starts and steps, and CgOptions.div16 (the runtime's
 * per-launch divisibility-by-16 class of each int and pointer parameter).
 * Anything else (bid, mutable vars, division by a non-constant) gives 0.
 *
 * A run of v elements l..l+v-1 is vectorized when: the layout gives them
 * consecutive indices along the tile's innermost global dim (stride 1);
 * the byte address of element l is a multiple of v * bytes (base alignment,
 * linear index divisibility); the bounds check is the same for the v
 * elements (the innermost coordinate and size are multiples of v, the other
 * coordinates are shared); the user mask is one register for all of them.
 * Sub-byte dtypes: the run covers whole bytes from a byte boundary, moved
 * in aligned pieces (the caller's; the alignment is returned). Otherwise the
 * plain per-element access stays. */
#include "codegen/lower.h"

static int tz(int64_t v)
{
    if (!v)
        return CG_DIV_ANY;
    int n = __builtin_ctzll((uint64_t)v);
    return n < CG_DIV_ANY ? n : CG_DIV_ANY;
}

static int imin(int a, int b) { return a < b ? a : b; }
static int sat(int v) { return v < CG_DIV_ANY ? v : CG_DIV_ANY; }

static bool is_int(const Expr *e, int64_t *v)
{
    if (e->kind != VM_E_INT)
        return false;
    *v = e->ival;
    return true;
}

/* log2 of c when `cond` says p % c == 0 for param p (conjunctions too). */
static int assume_fact(const Expr *c, const Param *p)
{
    int64_t m, z;
    if (c->kind != VM_E_BINARY)
        return 0;
    if (c->sop == VM_S_LAND) {
        int x = assume_fact(c->a, p), y = assume_fact(c->b, p);
        return x > y ? x : y;
    }
    if (c->sop != VM_S_EQ || !is_int(c->b, &z) || z || c->a->kind != VM_E_BINARY ||
        c->a->sop != VM_S_REM || c->a->a->kind != VM_E_PARAM || c->a->a->param != p ||
        !is_int(c->a->b, &m) || m <= 0)
        return 0;
    return tz(m);
}

static int param_div(CgLower *L, const Param *p)
{
    int best = 0;
    if (p->index < 64 && (L->opt.div16 >> p->index) & 1)
        best = 4;
    for (const Inst *i = L->k->body.first; i; i = i->next)
        if (i->op == VM_ASSUME && i->e[0]) {
            int f = assume_fact(i->e[0], p);
            best = f > best ? f : best;
        }
    return best;
}

static int var_div(CgLower *L, const Var *v)
{
    if (!v->scalar || v->mut || !v->def)
        return 0;
    const Inst *d = v->def;
    if (d->op == VM_VAR_DEF && d->e[0])
        return cg_div_log2(L, d->e[0]);
    if (d->op == VM_FOR && d->e[0] && d->e[2])
        return imin(cg_div_log2(L, d->e[0]), cg_div_log2(L, d->e[2]));
    return 0;
}

int cg_div_log2(CgLower *L, const Expr *e)
{
    int64_t c;
    switch (e->kind) {
    case VM_E_INT:
        return tz(e->ival);
    case VM_E_PARAM:
        return param_div(L, e->param);
    case VM_E_VAR:
        return var_div(L, e->var);
    case VM_E_CAST:
        return e->dtype == VM_DT_I32 || e->dtype == VM_DT_I64 ? cg_div_log2(L, e->a) : 0;
    case VM_E_SELECT:
        return imin(cg_div_log2(L, e->b), cg_div_log2(L, e->c));
    case VM_E_UNARY:
        return e->sop == VM_S_NEG ? cg_div_log2(L, e->a) : 0;
    case VM_E_BINARY:
        break;
    default:
        return 0;
    }
    int a = cg_div_log2(L, e->a), b;
    switch (e->sop) {
    case VM_S_ADD: case VM_S_SUB: case VM_S_MIN: case VM_S_MAX:
        return imin(a, cg_div_log2(L, e->b));
    case VM_S_MUL:
        return sat(a + cg_div_log2(L, e->b));
    case VM_S_SHL:
        return is_int(e->b, &c) && c >= 0 && c < 31 ? sat(a + (int)c) : 0;
    case VM_S_DIV: /* exact division by 2^b keeps a - b */
        if (!is_int(e->b, &c) || c <= 0 || (c & (c - 1)))
            return 0;
        b = tz(c);
        return a >= b ? (a == CG_DIV_ANY ? a : a - b) : 0;
    case VM_S_REM: /* x % 2^b with 2^b | x... only the shared factor survives */
        return is_int(e->b, &c) && c > 0 ? imin(a, tz(c)) : 0;
    default:
        return 0;
    }
}

int cg_base_align_log2(CgLower *L, const Value *g)
{
    if (!g)
        return 0;
    int bits = vm_dtype_bits(g->dtype);
    int nat = bits % 8 ? 0 : tz(bits / 8);
    if (g->param)
        return (g->param->index < 64 && (L->opt.div16 >> g->param->index) & 1) ? 4 : nat;
    const Inst *d = g->def;
    if (d && d->op == VM_WORKSPACE)
        return 4; /* runtime allocations are 256-byte aligned */
    if (d && d->op == VM_GLOBAL_VIEW && d->e[0] && d->a[0]) {
        int ab = cg_base_align_log2(L, d->a[0]);
        int ob = cg_div_log2(L, d->e[0]);
        return imin(ab, ob);
    }
    return nat;
}

/* log2 divisor of global coordinate d of element l: start + coordinate. */
static int coord_div(CgLower *L, const CgGTile *G, const LayAffine *aff, int d)
{
    const Expr *s = G->g && G->tile ? G->tile->start[d] : NULL;
    int v = s ? cg_div_log2(L, s) : CG_DIV_ANY;
    if (G->tmap[d] < 0)
        return v;
    const LayAffine *a = &aff[G->tmap[d]];
    v = imin(v, tz(a->constant));
    for (int k = 0; k < a->nterms; k++)
        v = imin(v, tz(a->mul[k]));
    return v;
}

static int stride_div(CgLower *L, const CgGTile *G, int d)
{
    const Value *g = G->g;
    if (g->gstride)
        return cg_div_log2(L, g->gstride[d]);
    int v = 0;
    for (int e = d + 1; e < g->rank; e++)
        v = sat(v + cg_div_log2(L, g->gshape[e]));
    return v;
}

int cg_gvec(CgLower *L, const CgGTile *G, Layout lay, int l, const int *mask, int max_bytes,
            int *align_out)
{
    const Value *g = G->g;
    int bits = vm_dtype_bits(g->dtype);
    int in = g->rank - 1;
    int64_t one;
    if (align_out)
        *align_out = 0;
    if (!G->tile || in < 0 || g->dtype == VM_DT_BOOL || G->tmap[in] < 0 ||
        (g->gstride && !(is_int(g->gstride[in], &one) && one == 1)))
        return 1;
    int eb = tz(bits); /* log2 bits per element: sub-byte widths 1, 2, 4 */
    int run = lay_contiguity(lay, G->tmap[in], l);
    int v = 0;
    while ((2 << v) <= run && (int64_t)bits * (2 << v) <= 8 * max_bytes)
        v++;
    LayAffine aff[LAY_MAX_DIMS];
    lay_symbolic_apply(lay, l, aff);
    int cin = coord_div(L, G, aff, in);
    int lin = cin;
    for (int d = 0; d < in; d++)
        lin = imin(lin, sat(stride_div(L, G, d) + coord_div(L, G, aff, d)));
    int bit_align = sat(lin + eb); /* log2 divisor of the first bit's offset */
    if (bit_align < 3)
        return 1;
    int align = imin(cg_base_align_log2(L, g), bit_align - 3);
    if (bits % 8 == 0)
        v = imin(v, align - (eb - 3));
    else
        while (v > 0 && (bits << v) % 8)
            v--; /* whole bytes */
    v = imin(v, imin(cin, cg_div_log2(L, g->gshape[in])));
    if (v > 0 && bits % 8 && (bits << v) % 8)
        return 1;
    if (mask)
        for (int j = 1; j < (1 << (v > 0 ? v : 0)); j++)
            if (mask[l + j] != mask[l]) {
                v = 0;
                break;
            }
    if (align_out)
        *align_out = align;
    return v > 0 ? 1 << v : 1;
}

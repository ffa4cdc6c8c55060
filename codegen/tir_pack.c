/* codegen/tir_pack.c - keeps 16-bit register pairs packed across control
 * flow (a TIR-to-TIR pass run at the end of cg_lower).
 *
 * A register tensor of f16/bf16 lives in one register per element
 * (codegen.h, tir.c): an ldmatrix fragment word is unpacked into two halves
 * and packed again (`pack.b32.f16 lo, hi`) where mma.sync reads it. Inside
 * one basic block LLVM folds pack(unpack(w)) back to w; a `var` holding the
 * fragments across a loop iteration (register double buffering) is a pair
 * of 16-bit phis instead, which ptxas re-packs with a PRMT per word on every
 * use (192 PRMTs per k step in the matmul sample). This pass gives each such
 * pair (lo, hi) a 32-bit shadow register P that always equals
 * pack(lo, hi), and rewrites the packs to `mov P`: the halves are then dead
 * and the loop carries whole words.
 *
 * A pair qualifies when every pack of lo has the same hi and type, and every
 * definition of lo or hi is one of these "pair sites" (so that on every path
 * both halves change together and P can be updated right after):
 *   - `lo, hi = unpack.<16>.<32> w` (one op; P = mov w after it);
 *   - `lo = mov a` immediately followed by `hi = mov b`, (a, b) itself a
 *     qualifying pair (P = mov P_ab after the second mov).
 * Both halves start at 0 like P (registers are zero-initialized), so P ==
 * pack(lo, hi) holds everywhere. Anything else (a guarded or other op
 * defining a half, halves packed in two ways) leaves the pair as it is.
 * Pairs depend on their sources, so disqualification runs to a fixpoint. */
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"

typedef struct {
    int hi;        /* lo register -> its hi partner; -1 none */
    int lo_of;     /* hi register -> its lo partner; -1 none */
    TirType ptype; /* the packed type of the pair's packs */
    bool bad;      /* lo: the pair does not qualify */
    int ndefs;     /* definitions of this register (either half) */
    int nsites;    /* lo: pair sites seen */
    int shadow;    /* lo: P, or -1 */
} PkReg;

typedef struct {
    TirKernel *k;
    PkReg *r;
    int n;
} Pk;

static bool half_type(TirType t) { return t == TIR_F16 || t == TIR_BF16; }

/* the word's type: 32-bit integer types are interchangeable (codegen.h),
 * so an unpack of a u32 word and a pack to b32 name the same pair */
static TirType word_type(TirType t) { return tir_type_is_float(t) ? t : TIR_B32; }

static bool is_pack(const Pk *p, const TirOp *o)
{
    return o->op == TIR_OP_PACK && o->na == 2 && o->nd == 1 && o->guard < 0 &&
           tir_type_bits(o->type) == 32 && half_type(o->type2) && o->a[0].kind == TIR_A_REG &&
           o->a[1].kind == TIR_A_REG && o->a[0].reg != o->a[1].reg && o->a[0].reg < p->n &&
           o->a[1].reg < p->n;
}

static void disqualify(Pk *p, int lo)
{
    if (lo >= 0 && p->r[lo].hi >= 0)
        p->r[lo].bad = true;
}

static void declare(Pk *p, int lo, int hi, TirType t)
{
    t = word_type(t);
    PkReg *L = &p->r[lo], *H = &p->r[hi];
    if (L->hi < 0 && L->lo_of < 0 && H->hi < 0 && H->lo_of < 0) {
        L->hi = hi;
        H->lo_of = lo;
        L->ptype = t;
    } else if (L->hi != hi || L->ptype != t) {
        disqualify(p, lo);
        disqualify(p, H->lo_of);
        disqualify(p, L->lo_of);
        disqualify(p, hi);
    }
}

/* pass 1: the pairs the packs and unpacks name; conflicting pairings
 * disqualify */
static void find_pairs(Pk *p, const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        find_pairs(p, &o->body);
        find_pairs(p, &o->orelse);
        if (is_pack(p, o))
            declare(p, o->a[0].reg, o->a[1].reg, o->type);
        else if (o->op == TIR_OP_UNPACK && o->nd == 2 && half_type(o->type) &&
                 tir_type_bits(o->type2) == 32 && o->d[0] != o->d[1] && o->d[0] < p->n &&
                 o->d[1] < p->n)
            declare(p, o->d[0], o->d[1], o->type2);
    }
}

static int lo_of_reg(const Pk *p, int r)
{
    if (r < 0 || r >= p->n)
        return -1;
    return p->r[r].hi >= 0 ? r : p->r[r].lo_of;
}

/* the pair site starting at o for pair lo (o defines lo), or NULL */
static const TirOp *site_end(const Pk *p, const TirOp *o, int lo)
{
    int hi = p->r[lo].hi;
    if (o->guard >= 0)
        return NULL;
    if (o->op == TIR_OP_UNPACK)
        return o->nd == 2 && o->na == 1 && o->d[0] == lo && o->d[1] == hi &&
                       o->a[0].kind == TIR_A_REG && o->a[0].reg != lo &&
                       o->a[0].reg != hi && word_type(o->type2) == p->r[lo].ptype
                   ? o
                   : NULL;
    const TirOp *m = o->next;
    if (o->op != TIR_OP_MOV || o->nd != 1 || o->d[0] != lo || o->a[0].kind != TIR_A_REG || !m ||
        m->op != TIR_OP_MOV || m->nd != 1 || m->d[0] != hi || m->guard >= 0 ||
        m->a[0].kind != TIR_A_REG)
        return NULL;
    int a = o->a[0].reg, bb = m->a[0].reg;
    if (a >= p->n || a == lo || a == hi || bb == lo || bb == hi || p->r[a].hi != bb ||
        p->r[a].bad || p->r[a].ptype != p->r[lo].ptype)
        return NULL;
    return m;
}

/* pass 2 (repeated): counts the sites; a definition of lo outside a site
 * disqualifies its pair (hi's are checked by count in tir_pack_pairs) */
static void check_defs(Pk *p, const TirBlock *b, bool *changed)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        check_defs(p, &o->body, changed);
        check_defs(p, &o->orelse, changed);
        for (int j = 0; j < o->nd; j++) {
            int lo = lo_of_reg(p, o->d[j]);
            if (lo < 0 || p->r[lo].bad)
                continue;
            if (o->d[j] == lo && site_end(p, o, lo)) {
                p->r[lo].nsites++;
                continue;
            }
            if (o->d[j] != lo)
                continue; /* hi: its count of definitions is checked against the sites */
            p->r[lo].bad = true;
            *changed = true;
        }
    }
}

static void count_defs(Pk *p, const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        count_defs(p, &o->body);
        count_defs(p, &o->orelse);
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] < p->n)
                p->r[o->d[j]].ndefs++;
    }
}

static TirOp *mov_after(Pk *p, TirBlock *b, TirOp *at, int dst, int src, TirType t)
{
    TirOp *m = tir_op_new(p->k, TIR_OP_MOV, t);
    m->nd = 1;
    m->d[0] = dst;
    m->na = 1;
    m->a[0] = tir_r(src);
    m->line = at->line;
    m->next = at->next;
    at->next = m;
    if (b->last == at)
        b->last = m;
    return m;
}

static bool good(const Pk *p, int lo)
{
    return lo >= 0 && !p->r[lo].bad && p->r[lo].shadow >= 0;
}

/* pass 3: shadow updates after every site, packs become movs */
static void rewrite(Pk *p, TirBlock *b)
{
    for (TirOp *o = b->first; o; o = o->next) {
        rewrite(p, &o->body);
        rewrite(p, &o->orelse);
        if (is_pack(p, o) && good(p, o->a[0].reg) && p->r[o->a[0].reg].hi == o->a[1].reg) {
            int s = p->r[o->a[0].reg].shadow;
            o->op = TIR_OP_MOV;
            o->type2 = o->type;
            o->na = 1;
            o->a[0] = tir_r(s);
            o->a[1] = (TirArg){0};
            continue;
        }
        if (o->nd < 1 || o->d[0] >= p->n || !good(p, o->d[0]))
            continue;
        int lo = o->d[0];
        const TirOp *end = site_end(p, o, lo);
        if (!end)
            continue;
        TirType t = p->r[lo].ptype;
        int src = o->op == TIR_OP_UNPACK ? o->a[0].reg : p->r[o->a[0].reg].shadow;
        o = mov_after(p, b, (TirOp *)end, p->r[lo].shadow, src, t);
    }
}

void tir_pack_pairs(TirKernel *k)
{
    Pk p = {k, calloc((size_t)k->nregs + 1, sizeof(PkReg)), k->nregs};
    if (!p.r)
        return;
    for (int r = 0; r < p.n; r++)
        p.r[r] = (PkReg){.hi = -1, .lo_of = -1, .shadow = -1};
    find_pairs(&p, &k->body);
    for (int r = 0; r < p.n; r++)
        if (p.r[r].hi >= 0 && (!half_type(k->regs[r].type) ||
                               k->regs[p.r[r].hi].type != k->regs[r].type))
            p.r[r].bad = true;
    count_defs(&p, &k->body);
    bool changed = true;
    while (changed) {
        changed = false;
        for (int r = 0; r < p.n; r++)
            p.r[r].nsites = 0;
        check_defs(&p, &k->body, &changed);
        for (int r = 0; r < p.n; r++) {
            PkReg *L = &p.r[r];
            if (L->hi < 0 || L->bad)
                continue;
            /* every definition of either half belongs to a site */
            if (L->ndefs != L->nsites || p.r[L->hi].ndefs != L->nsites) {
                L->bad = true;
                changed = true;
            }
        }
    }
    for (int r = 0; r < p.n; r++)
        if (p.r[r].hi >= 0 && !p.r[r].bad)
            p.r[r].shadow = tir_reg(k, p.r[r].ptype, k->regs[r].name);
    rewrite(&p, &k->body);
    free(p.r);
}

/* codegen/lower_conv_fields.c - fast register conversions of packed int
 * codes of any width of 1..7 bits (u3, i5, u7, ...; 4 and 8 bits have
 * their own paths in lower_conv.c) to f16, bf16 and f32, bit-exact with
 * vm_cast (CODEGEN.md 1, PTX-FACTS.md "Bit tricks").
 *
 * The trick: a half whose exponent makes mantissa bit p worth 1 (f16
 * 2^(10-p): exponent 25-p, ulp 2^-p; bf16 2^(7-p)) reads 2^(10-p) + v
 * exactly when a b-bit code v sits at mantissa bits [p, p+b) (p + b <= 10
 * for f16, <= 7 for bf16: bf16 0x4300 is 128). One lop3
 *   (src & maskA|maskB) | magic          (unsigned)
 *   (src & maskA|maskB) ^ (magic | tops) (signed: the code's top bit flipped,
 *                                         v = q + 2^(b-1))
 * fills both halves of a pair from one 32-bit source register `src`
 * (code A at bits [pA, pA+b) of the low half, code B at [16+pB, 16+pB+b);
 * the magic of each half chosen by its own p), then one add.rn.f16x2
 * (bf16x2; add.bf16x2 is sm_90: on sm_80 LLVM widens it to f32, exact but
 * a few instructions more) of -(2^(10-p) + s 2^(b-1)) per half gives the
 * two codes' values exactly (every operand and the result are
 * representable; the value 0 comes out as x - x = +0.0 like vm_cast). An
 * earlier form with one magic for all positions needed an fma with a
 * per-pair scale (2^-pA, 2^-pB): in SASS a register per distinct scale,
 * which ptxas rematerialised in the loop (112 IMAD per k step of the u3
 * GEMV); the add takes both constants as immediates. -> f32: the f16
 * pairs, then cvt.f32.f16 (exact). Cost: 2 instructions per pair plus the
 * source registers.
 *
 * Source registers: the codes are planned per group, the smallest run of
 * whole 32-bit words holding whole codes (32 / gcd(b, 32) codes: 32 u3
 * codes in 3 words), at bit offsets j b from the group's start. A source
 * register has a base bit B of the group: its low window takes codes at
 * [B, B + M - b], its high window codes at [B + 16, B + 16 + M - b] (M = 10
 * for f16, 7 for bf16), each wholly inside the bits the register holds.
 * Candidates: a word itself (B = 32i, free); B = 32i + 8m by one prmt of
 * words i and i+1 (a byte funnel shift); other B by one shr of word i, or a
 * prmt and a shr where that reaches codes straddling into word i+1.
 * The plan: start from every byte-aligned candidate (plus a candidate at
 * each code not yet covered), pair codes by a greedy matching (a low code
 * with the first free high code some chosen register holds in its other
 * window), then a local search adds, removes or moves registers while the
 * count (registers + 2 per lop3) drops. 32 u3 codes -> f32 cost 38
 * instructions before the cvts: 17 lop3 + 17 add (15 pairs, 2 single
 * codes) from the 3 words, 3 prmt and 1 shr. Results that stay f16/bf16
 * pair as an mma fragment reads them where the windows allow (plan_fixed):
 * u3 -> f16 16 lop3 + 16 add + 12 shifts and prmts, 44, and no prmt per
 * fragment register afterwards (16 per 32 codes with the free pairing).
 * Both plans depend only on (b, M), are deterministic, and cost well under
 * a millisecond. Codes of 6 and 7 bits -> bf16 pair badly (p <= 1: no two
 * codes 16 bits apart in one register): one lop3 + add per code there.
 * Candidates with B < 0 (one shl of word 0, B > -8) serve the fixed
 * pairing's first pairs. */
#include <math.h>
#include <string.h>

#include "codegen/lower.h"

enum { FC_MAXG = 32, FC_MAXBITS = 7 * 32, FC_MAXC = FC_MAXBITS + 16, FC_INF = 1 << 30 };

typedef struct {
    int B, end;       /* window base; bits [B, end) of the group are held */
    int cost;         /* 0 word, 1 prmt or shr, 2 prmt + shr */
    uint32_t lo, hi;  /* codes (bit j = code j) in the low / high window */
} FcCand;

typedef struct {
    int b, M, G, gbits, gw; /* code bits, mantissa bits, codes/bits/words per group */
    int nc;
    FcCand c[FC_MAXC];
    bool fixed;             /* pairs (c, c + 4) of every 8 codes, in pr[] */
    int pr[FC_MAXG][2], npr;
} FcPlan;

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

static void window_masks(const FcPlan *P, FcCand *c)
{
    c->lo = c->hi = 0;
    for (int j = 0; j < P->G; j++) {
        int o = j * P->b;
        if (o + P->b > c->end)
            continue;
        if (o >= c->B && o <= c->B + P->M - P->b)
            c->lo |= 1u << j;
        if (o >= c->B + 16 && o <= c->B + 16 + P->M - P->b)
            c->hi |= 1u << j;
    }
}

static void plan_cands(FcPlan *P)
{
    P->nc = 0;
    for (int B = 0; B < P->gbits; B++) {
        int i = B / 32, k = B % 32, endw = 32 * (i + 1);
        bool next = i + 1 < P->gw;
        FcCand c = {B, endw, k ? 1 : 0, 0, 0};
        if (k % 8 == 0 && k && next)
            c.end = B + 32;
        window_masks(P, &c);
        if (k % 8 && k >= 8 && next) { /* prmt + shr reaches into word i+1 */
            FcCand f = {B, 32 * i + 8 * (k / 8) + 32, 2, 0, 0};
            window_masks(P, &f);
            if ((f.lo | f.hi) & ~(c.lo | c.hi))
                c = f;
        }
        P->c[P->nc++] = c;
    }
    for (int B = -1; B >= -(P->M - P->b) && B > -8; B--) { /* one shl of word 0 */
        FcCand c = {B, 32, 1, 0, 0};
        window_masks(P, &c);
        P->c[P->nc++] = c;
    }
}

/* greedy matching over the chosen candidates: pairs (lo, hi) written to
 * pr[] (hi -1: a single); returns the cost or FC_INF when a code is left
 * uncovered */
static int plan_eval(const FcPlan *P, const bool *on, int (*pr)[2], int *npr)
{
    uint32_t all = P->G == 32 ? ~0u : (1u << P->G) - 1, cov = 0;
    int cost = 0, ids[FC_MAXBITS], nid = 0;
    for (int k = 0; k < P->nc; k++)
        if (on[k]) {
            ids[nid++] = k;
            cov |= P->c[k].lo | P->c[k].hi;
            cost += P->c[k].cost;
        }
    if ((cov & all) != all)
        return FC_INF;
    uint32_t done = 0;
    int n = 0;
    for (int j = 0; j < P->G; j++) {
        if (done >> j & 1)
            continue;
        uint32_t hm = 0;
        for (int q = 0; q < nid; q++)
            if (P->c[ids[q]].lo >> j & 1)
                hm |= P->c[ids[q]].hi;
        hm &= ~done & ~(1u << j);
        int h = hm ? __builtin_ctz(hm) : -1;
        done |= 1u << j;
        if (h >= 0)
            done |= 1u << h;
        if (pr) {
            pr[n][0] = j;
            pr[n][1] = h;
        }
        n++;
        cost += 2;
    }
    if (npr)
        *npr = n;
    return cost;
}

/* the chosen candidates in on[] (P->nc of them) */
static int plan_search(const FcPlan *P, bool *on)
{
    uint32_t cov = 0;
    for (int k = 0; k < P->nc; k++) {
        on[k] = P->c[k].B % 8 == 0;
        if (on[k])
            cov |= P->c[k].lo | P->c[k].hi;
    }
    for (int j = 0; j < P->G; j++)
        if (!(cov >> j & 1)) {
            on[j * P->b] = true; /* code j at p = 0 of its own window */
            cov |= P->c[j * P->b].lo | P->c[j * P->b].hi;
        }
    int best = plan_eval(P, on, NULL, NULL);
    for (bool better = true; better;) {
        better = false;
        for (int k = 0; k < P->nc && !better; k++)
            for (int d = -4; d <= 4 && !better; d++) {
                /* d == 0: toggle k; else move k (on) to k + d (off) */
                int m = k + d;
                if (d && (!on[k] || m < 0 || m >= P->nc || on[m]))
                    continue;
                on[k] = !on[k];
                if (d)
                    on[m] = true;
                int v = plan_eval(P, on, NULL, NULL);
                if (v < best) {
                    best = v;
                    better = true;
                } else {
                    on[k] = !on[k];
                    if (d)
                        on[m] = false;
                }
            }
    }
    return best;
}

/* The pairing an mma fragment reads without repacking (codes c and c + 4
 * of every 8 in one f16x2 word: the order of the 4-bit path, and the k
 * order of samples/kernels/gemv_u4.lpk): each pair from one candidate
 * holding c in its low window and c + 4 in its high one, the candidates
 * chosen greedily (an existing one, else the cheapest, ties to the one
 * serving more pairs). False where some pair has no such candidate (codes
 * 4 b bits apart must fit in the windows: b = 2, 3, 5 for f16, 3 for
 * bf16). */
static bool plan_fixed(FcPlan *P, bool *on)
{
    if (P->G % 8)
        return false;
    for (int k = 0; k < P->nc; k++)
        on[k] = false;
    P->npr = 0;
    for (int j = 0; j < P->G; j++)
        if (!(j & 4)) {
            P->pr[P->npr][0] = j;
            P->pr[P->npr++][1] = j + 4;
        }
    for (int q = 0; q < P->npr; q++) {
        int lo = P->pr[q][0], hi = P->pr[q][1], best = -1, bv = 0;
        for (int k = 0; k < P->nc; k++) {
            const FcCand *C = &P->c[k];
            if (!(C->lo >> lo & 1) || !(C->hi >> hi & 1))
                continue;
            if (on[k]) {
                best = k;
                break;
            }
            int serves = 0;
            for (int r = q + 1; r < P->npr; r++)
                serves += (C->lo >> P->pr[r][0] & 1) && (C->hi >> P->pr[r][1] & 1);
            int v = 64 * C->cost - serves;
            if (best < 0 || v < bv)
                best = k, bv = v;
        }
        if (best < 0)
            return false;
        on[best] = true;
    }
    P->fixed = true;
    return true;
}

static void plan_init(FcPlan *P, int b, int M)
{
    P->b = b;
    P->M = M;
    P->G = 32 / gcd(b, 32);
    P->gbits = P->G * b;
    P->gw = P->gbits / 32;
    plan_cands(P);
}

/* the source register of candidate c over the group's words w[]; the
 * byte funnel shifts (prmt of words i, i+1 from byte m) are shared through
 * prm[i * 4 + m] (-1: not made yet) */
static int source(CgLower *L, const FcCand *c, const int *w, int *prm)
{
    if (c->B < 0)
        return cg_op2(L, TIR_OP_SHL, TIR_B32, cg_R(w[0]), cg_I(-c->B));
    int i = c->B / 32, k = c->B % 32;
    if (!k)
        return w[i];
    int base = w[i], sh = k;
    if (c->end > 32 * (i + 1)) { /* bytes k/8.. of words i, i+1 */
        int m = k / 8;
        uint32_t sel = (uint32_t)(m | (m + 1) << 4 | (m + 2) << 8 | (m + 3) << 12);
        if (prm[i * 4 + m] < 0)
            prm[i * 4 + m] = cg_op3(L, TIR_OP_PRMT, TIR_B32, cg_R(w[i]), cg_R(w[i + 1]), cg_I(sel));
        base = prm[i * 4 + m];
        sh = k % 8;
    }
    return sh ? cg_op2(L, TIR_OP_SHR, TIR_B32, cg_R(base), cg_I(sh)) : base;
}

/* the bits of v (exact) as a half of type h */
static uint32_t half_of(Dtype h, double v) { return (uint32_t)vm_encode(h, v); }

/* one group: G codes from the words w[] -> f16/bf16 registers out[] */
static void convert_group(CgLower *L, const FcPlan *P, const bool *on, Dtype h, bool sgn,
                          const int *w, int *out)
{
    TirType P2 = h == VM_DT_F16 ? TIR_F16X2 : TIR_BF16X2, E = cg_elem_type(h);
    uint32_t cmask = (1u << P->b) - 1;
    int mexp = P->M; /* a code at mantissa bit p: magic 2^(M - p) */
    int pr[FC_MAXG][2], npr = P->npr;
    int src[FC_MAXC], prm[4 * 8]; /* 7 words at most: i * 4 + m < 28 */
    for (int k = 0; k < P->nc; k++)
        src[k] = -1;
    for (int k = 0; k < 4 * 8; k++)
        prm[k] = -1;
    if (P->fixed)
        memcpy(pr, P->pr, sizeof pr);
    else
        plan_eval(P, on, pr, &npr);
    for (int q = 0; q < npr; q++) {
        int lo = pr[q][0], hi = pr[q][1], k = -1;
        for (int c = 0; c < P->nc && k < 0; c++) {
            const FcCand *C = &P->c[c];
            if (on[c] && (hi < 0 ? ((C->lo | C->hi) >> lo & 1)
                                 : ((C->lo >> lo & 1) && (C->hi >> hi & 1))))
                k = c;
        }
        const FcCand *C = &P->c[k];
        int a = -1, bb = -1; /* codes in the low / high half */
        if (hi >= 0 || (C->lo >> lo & 1))
            a = lo, bb = hi;
        else
            bb = lo;
        if (src[k] < 0)
            src[k] = source(L, C, w, prm);
        uint32_t mask = 0, cst = 0, add = 0;
        int code[2] = {a, bb};
        for (int s = 0; s < 2; s++) {
            int p = 0; /* an empty half reads 2^M - 2^M */
            double top = 0;
            if (code[s] >= 0) {
                p = code[s] * P->b - C->B - 16 * s;
                mask |= cmask << (p + 16 * s);
                if (sgn)
                    cst |= 1u << (p + P->b - 1 + 16 * s);
                top = sgn ? (double)(1 << (P->b - 1)) : 0;
            }
            cst |= half_of(h, ldexp(1, mexp - p)) << 16 * s;
            add |= half_of(h, -(ldexp(1, mexp - p) + top)) << 16 * s;
        }
        int x = cg_lop3(L, src[k], mask, cst, sgn ? 0x6A : 0xEA);
        int xv = cg_bitcast(L, P2, TIR_B32, cg_R(x));
        int v = cg_op(L, TIR_OP_ADD, P2, 2, (TirArg[]){cg_R(xv), cg_I(add)});
        int d0, d1;
        cg_split_pair(L, E, P2, v, &d0, &d1);
        if (a >= 0)
            out[a] = d0;
        if (bb >= 0)
            out[bb] = d1;
    }
}

void cg_fields_convert(CgLower *L, Dtype to, bool sgn, int eb, const int *w, int n, int *out)
{
    Dtype h = to == VM_DT_BF16 ? VM_DT_BF16 : VM_DT_F16;
    FcPlan *P = vm_alloc(L->a, sizeof *P);
    bool *on = vm_alloc(L->a, sizeof(bool) * FC_MAXC);
    plan_init(P, eb, h == VM_DT_F16 ? 10 : 7);
    /* n eb % 32 == 0 makes n a multiple of G: whole groups. Halves that
     * stay halves take the fragment pairing where it exists (a few more
     * source registers, no prmt per mma register); -> f32 the cheapest. */
    P->fixed = false;
    if (to == VM_DT_F32 || !plan_fixed(P, on))
        plan_search(P, on);
    for (int g = 0; g < n / P->G; g++)
        convert_group(L, P, on, h, sgn, w + g * P->gw, out + g * P->G);
    for (int j = 0; to == VM_DT_F32 && j < n; j++)
        out[j] = cg_cvt(L, TIR_F32, TIR_F16, TIR_RND_NONE, false, cg_R(out[j]));
}

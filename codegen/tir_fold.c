/* codegen/tir_fold.c - removes dead value ops, then folds an xor with a
 * constant into the lop3s that consume it (TIR-to-TIR, run at the end of
 * cg_lower).
 *
 * Dead ops: a pure op (tir_op_pure) none of whose destinations is ever read
 * goes, to a fixpoint. LLVM and NVRTC would drop them too, but the fold
 * below needs every use of a register to be a real one.
 *
 * The zero point of a quantized GEMV is `q ^ zero` (q - zero as a signed
 * code, samples/kernels/gemv_u4.lpk); the fast conversion of the result
 * (lower_conv_fields.c) is one lop3 `(a & mask) ^ magic` (0x6A; unsigned
 * 0xEA `(a & mask) | magic` with magic outside mask) per pair of codes,
 * after shifts or prmts that line the fields up. An xor with a constant
 * commutes with all of these:
 *   (v ^ K) >> s = (v >> s) ^ (K >> s)       (also <<, and & M)
 *   prmt(v ^ K, u ^ J, sel) = prmt(v, u, sel) ^ prmt(K, J, sel)
 *   ((v ^ K) & b) ^ c = (v & b) ^ ((K & b) ^ c)
 * so the xor disappears into the lop3's constant: one instruction less per
 * word (16 of about 316 per k step of the u4 GEMV).
 *
 * Each register r of the set S carries an offset off[r]: after the rewrite
 * r holds its old value ^ off[r]. Roots are xors `t = v ^ K` (K a constant,
 * v a register); t is replaced by v in its users. A register joins S through
 * a "linear" op (shift or and by a constant, prmt, mov or bitcast between
 * 32-bit integer types) with an input in S. Every use of a member must be
 * such an op defining another member, or a lop3 0x6A / 0xEA with constant
 * b and c reading it as a; members that fail leave S, to a fixpoint.
 * Conservative shape: every register involved has one definition, every use
 * of a member is in the member's own block, and a root's v is not redefined
 * between the xor and its users (the users read v later than the xor did).
 * Constants are registers with one definition by an op of constant
 * arguments (the VM's `full` tensors reach TIR as mov/shl/or chains). */
#include <stdlib.h>

#include "codegen/codegen.h"

typedef struct {
    int ndefs;
    TirOp *def;       /* the one definition */
    TirBlock *blk;    /* its block */
    bool known;       /* a constant */
    uint32_t val;
    bool in;          /* a member of S */
    bool out;         /* left S: never again */
    bool root;        /* defined by a root xor */
    int base;         /* root: v */
    uint32_t off;
} FdReg;

typedef struct {
    TirKernel *k;
    FdReg *r;
    int n;
} Fd;

static bool int32(TirType t)
{
    return tir_type_bits(t) == 32 && !tir_type_is_float(t);
}

static bool reg_arg(const Fd *f, const TirOp *o, int i)
{
    return i < o->na && o->a[i].kind == TIR_A_REG && o->a[i].reg >= 0 && o->a[i].reg < f->n;
}

/* the constant value of argument i, if it has one */
static bool const_arg(const Fd *f, const TirOp *o, int i, uint32_t *v)
{
    if (i >= o->na)
        return false;
    if (o->a[i].kind == TIR_A_IMM) {
        *v = (uint32_t)o->a[i].imm;
        return true;
    }
    if (!reg_arg(f, o, i) || !f->r[o->a[i].reg].known)
        return false;
    *v = f->r[o->a[i].reg].val;
    return true;
}

/* the single 32-bit destination of an unguarded op, or -1 */
static int dest(const Fd *f, const TirOp *o)
{
    if (o->nd != 1 || o->guard >= 0 || o->d[0] < 0 || o->d[0] >= f->n || !int32(o->type) ||
        f->r[o->d[0]].ndefs != 1)
        return -1;
    return o->d[0];
}

static void count_defs(Fd *f, TirBlock *b)
{
    for (TirOp *o = b->first; o; o = o->next) {
        count_defs(f, &o->body);
        count_defs(f, &o->orelse);
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] >= 0 && o->d[j] < f->n) {
                f->r[o->d[j]].ndefs++;
                f->r[o->d[j]].def = o;
                f->r[o->d[j]].blk = b;
            }
    }
}

static bool prmt_ok(uint32_t sel)
{
    for (int i = 0; i < 4; i++)
        if (sel >> 4 * i & 8)
            return false; /* sign replication: not byte-linear */
    return true;
}

static uint32_t prmt_eval(uint32_t a, uint32_t b, uint32_t sel)
{
    uint64_t src = (uint64_t)b << 32 | a;
    uint32_t r = 0;
    for (int i = 0; i < 4; i++)
        r |= (uint32_t)(src >> 8 * (sel >> 4 * i & 7) & 0xFF) << 8 * i;
    return r;
}

/* the result of op o applied to constant inputs x[] */
static bool eval(const TirOp *o, const uint32_t *x, uint32_t *out)
{
    switch (o->op) {
    case TIR_OP_MOV:
    case TIR_OP_BITCAST: *out = x[0]; return o->op == TIR_OP_MOV || int32(o->type2);
    case TIR_OP_AND: *out = x[0] & x[1]; return true;
    case TIR_OP_OR: *out = x[0] | x[1]; return true;
    case TIR_OP_XOR: *out = x[0] ^ x[1]; return true;
    case TIR_OP_ADD: *out = x[0] + x[1]; return true;
    case TIR_OP_SUB: *out = x[0] - x[1]; return true;
    case TIR_OP_MUL: *out = x[0] * x[1]; return true;
    case TIR_OP_MIN:
    case TIR_OP_MAX: {
        bool lt = o->type == TIR_S32 ? (int32_t)x[0] < (int32_t)x[1] : x[0] < x[1];
        *out = lt == (o->op == TIR_OP_MIN) ? x[0] : x[1];
        return true;
    }
    case TIR_OP_SHL: *out = x[1] >= 32 ? 0 : x[0] << x[1]; return true;
    case TIR_OP_SHR:
        if (x[1] >= 32)
            *out = o->type == TIR_S32 && (int32_t)x[0] < 0 ? ~0u : 0;
        else
            *out = o->type == TIR_S32 ? (uint32_t)((int32_t)x[0] >> x[1]) : x[0] >> x[1];
        return true;
    case TIR_OP_PRMT: *out = prmt_eval(x[0], x[1], x[2]); return prmt_ok(x[2]);
    default: return false;
    }
}

/* constants, in program order (definitions come before uses) */
static void constants(Fd *f, const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        constants(f, &o->body);
        constants(f, &o->orelse);
        int d = dest(f, o);
        uint32_t x[3];
        if (d < 0 || o->na > 3)
            continue;
        bool all = true;
        for (int i = 0; i < o->na && all; i++)
            all = const_arg(f, o, i, &x[i]);
        if (all && eval(o, x, &f->r[d].val))
            f->r[d].known = true;
    }
}

/* o consumes a member as `a` of `(a & b) ^ c` (or `| c`, c outside b) */
static bool absorbs(const Fd *f, const TirOp *o, int r)
{
    uint32_t b, c;
    if (o->op != TIR_OP_LOP3 || o->guard >= 0 || !reg_arg(f, o, 0) || o->a[0].reg != r ||
        !const_arg(f, o, 1, &b) || !const_arg(f, o, 2, &c) ||
        (reg_arg(f, o, 1) && o->a[1].reg == r) || (reg_arg(f, o, 2) && o->a[2].reg == r))
        return false;
    return o->imm == 0x6A || (o->imm == 0xEA && !(b & c));
}

/* o maps offsets of its inputs to an offset of its destination; the
 * inputs not in S count as offset 0 */
static bool linear(const Fd *f, const TirOp *o, uint32_t *off)
{
    uint32_t k, x[2] = {0, 0};
    if (dest(f, o) < 0)
        return false;
    for (int i = 0; i < 2 && i < o->na; i++)
        if (reg_arg(f, o, i) && f->r[o->a[i].reg].in)
            x[i] = f->r[o->a[i].reg].off;
    switch (o->op) {
    case TIR_OP_MOV: *off = x[0]; return o->na == 1 && reg_arg(f, o, 0);
    case TIR_OP_BITCAST: *off = x[0]; return int32(o->type2) && reg_arg(f, o, 0);
    case TIR_OP_SHL:
    case TIR_OP_SHR:
    case TIR_OP_AND:
        if (!reg_arg(f, o, 0) || !const_arg(f, o, 1, &k) || (o->op != TIR_OP_AND && k >= 32) ||
            (reg_arg(f, o, 1) && f->r[o->a[1].reg].in))
            return false;
        x[1] = k;
        return eval(o, x, off);
    case TIR_OP_PRMT:
        if (o->na != 3 || !const_arg(f, o, 2, &k) || (reg_arg(f, o, 2) && f->r[o->a[2].reg].in))
            return false;
        *off = prmt_eval(x[0], x[1], k);
        return prmt_ok(k);
    default: return false;
    }
}

/* does any op in [from, to) of b (nested included) define reg? */
static bool defined_in(const TirOp *from, const TirOp *to, int reg)
{
    for (const TirOp *o = from; o && o != to; o = o->next) {
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] == reg)
                return true;
        if (defined_in(o->body.first, NULL, reg) || defined_in(o->orelse.first, NULL, reg))
            return true;
    }
    return false;
}

/* pass over b: roots and members (forward), then the check of every use
 * of a member; *changed when a member leaves S */
static void grow(Fd *f, TirBlock *b)
{
    for (TirOp *o = b->first; o; o = o->next) {
        grow(f, &o->body);
        grow(f, &o->orelse);
        int d = dest(f, o);
        uint32_t k, off;
        if (d < 0 || f->r[d].in || f->r[d].out)
            continue;
        if (o->op == TIR_OP_XOR && o->na == 2)
            for (int i = 0; i < 2; i++)
                if (reg_arg(f, o, i) && !f->r[o->a[i].reg].in && !f->r[o->a[i].reg].known &&
                    const_arg(f, o, 1 - i, &k)) {
                    FdReg *R = &f->r[d];
                    R->in = R->root = true;
                    R->base = o->a[i].reg;
                    R->off = k;
                    break;
                }
        if (!f->r[d].in && linear(f, o, &off))
            for (int i = 0; i < o->na; i++)
                if (reg_arg(f, o, i) && f->r[o->a[i].reg].in) {
                    f->r[d].in = true;
                    f->r[d].off = off;
                }
    }
}

static void leave(Fd *f, int r, bool *changed)
{
    f->r[r].in = false;
    f->r[r].root = false;
    f->r[r].out = true;
    *changed = true;
}

static void check_uses(Fd *f, TirBlock *b, bool *changed)
{
    for (TirOp *o = b->first; o; o = o->next) {
        check_uses(f, &o->body, changed);
        check_uses(f, &o->orelse, changed);
        int d = o->nd == 1 && o->d[0] >= 0 && o->d[0] < f->n ? o->d[0] : -1;
        for (int i = 0; i < o->na; i++) {
            if (!reg_arg(f, o, i) || !f->r[o->a[i].reg].in)
                continue;
            int r = o->a[i].reg;
            FdReg *R = &f->r[r];
            uint32_t off;
            bool ok = R->blk == b && (absorbs(f, o, r) ||
                                      (d >= 0 && f->r[d].in && f->r[d].def == o &&
                                       linear(f, o, &off)));
            if (ok && R->root)
                ok = !defined_in(R->def->next, o, R->base);
            if (!ok)
                leave(f, r, changed);
        }
        if (o->guard >= 0 && o->guard < f->n && f->r[o->guard].in)
            leave(f, o->guard, changed);
    }
}

/* the members other than roots are derived again after one left S (their
 * offsets were computed with it) */
static void reset(Fd *f)
{
    for (int r = 0; r < f->n; r++)
        if (f->r[r].in && !f->r[r].root)
            f->r[r].in = false;
}

static void rewrite(Fd *f, TirBlock *b)
{
    TirOp *prev = NULL;
    for (TirOp *o = b->first; o; o = o->next) {
        rewrite(f, &o->body);
        rewrite(f, &o->orelse);
        if (o->nd == 1 && o->d[0] >= 0 && o->d[0] < f->n && f->r[o->d[0]].root &&
            f->r[o->d[0]].def == o) {
            /* the root xor: its users read v now */
            if (prev)
                prev->next = o->next;
            else
                b->first = o->next;
            if (b->last == o)
                b->last = prev;
            continue;
        }
        bool lop = false;
        uint32_t off = 0;
        for (int i = 0; i < o->na; i++) {
            if (!reg_arg(f, o, i) || !f->r[o->a[i].reg].in)
                continue;
            const FdReg *R = &f->r[o->a[i].reg];
            if (o->op == TIR_OP_LOP3 && i == 0) {
                lop = true;
                off = R->off;
            }
            if (R->root)
                o->a[i] = tir_r(R->base);
        }
        if (lop) {
            uint32_t bb, c;
            const_arg(f, o, 1, &bb);
            const_arg(f, o, 2, &c);
            o->a[2] = tir_imm((uint64_t)(c ^ (off & bb)));
            o->imm = 0x6A;
        }
        prev = o;
    }
}

/* ------------------------------------------------------------ dead ops */

static void count_uses(int *uses, int n, const TirBlock *b, int delta)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        count_uses(uses, n, &o->body, delta);
        count_uses(uses, n, &o->orelse, delta);
        for (int i = 0; i < o->na; i++)
            if (o->a[i].kind == TIR_A_REG && o->a[i].reg >= 0 && o->a[i].reg < n)
                uses[o->a[i].reg] += delta;
        if (o->guard >= 0 && o->guard < n)
            uses[o->guard] += delta;
    }
}

static bool drop_dead(int *uses, int n, TirBlock *b)
{
    bool any = false;
    TirOp *prev = NULL;
    for (TirOp *o = b->first; o; o = o->next) {
        any |= drop_dead(uses, n, &o->body);
        any |= drop_dead(uses, n, &o->orelse);
        bool dead = tir_op_pure(o->op) && o->nd > 0;
        for (int j = 0; j < o->nd && dead; j++)
            dead = o->d[j] >= 0 && o->d[j] < n && !uses[o->d[j]];
        if (!dead) {
            prev = o;
            continue;
        }
        TirBlock one = {o, o};
        TirOp *next = o->next;
        o->next = NULL;
        count_uses(uses, n, &one, -1);
        o->next = next;
        if (prev)
            prev->next = next;
        else
            b->first = next;
        if (b->last == o)
            b->last = prev;
        any = true;
    }
    return any;
}

static void dce(TirKernel *k)
{
    int *uses = calloc((size_t)k->nregs + 1, sizeof *uses);
    if (!uses)
        return;
    count_uses(uses, k->nregs, &k->body, 1);
    while (drop_dead(uses, k->nregs, &k->body))
        ;
    free(uses);
}

/* ------------------------------------------------------------ the pass */

void tir_fold_xor(TirKernel *k)
{
    dce(k);
    Fd f = {k, calloc((size_t)k->nregs + 1, sizeof(FdReg)), k->nregs};
    if (!f.r)
        return;
    count_defs(&f, &k->body);
    constants(&f, &k->body);
    bool changed = true;
    while (changed) {
        changed = false;
        reset(&f);
        grow(&f, &k->body);
        check_uses(&f, &k->body, &changed);
    }
    rewrite(&f, &k->body);
    free(f.r);
}

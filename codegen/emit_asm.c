/* codegen/emit_asm.c - the PTX text of the TIR ops that the emitters write as
 * inline asm, in one place so the LLVM and the CUDA C paths print the same
 * instructions (declared in codegen.h, section emit_asm.c).
 *
 * Input: one TIR op (and its kernel, for register types). Output: a template
 * with operands $0..$n-1 (outputs first, then inputs, in the order of
 * CgAsm.opd; a template may be a `{ ... }` block with its own .reg), the
 * constraint letter of each operand (h: 16-bit, r: 32-bit,
 * l: 64-bit, f: f32, d: f64; the same letters in LLVM and in CUDA C), and
 * whether the asm touches memory. The template contains no other `$` or `%`,
 * so the CUDA C emitter can rewrite `$N` to `%N` verbatim.
 *
 * Addresses: an ADDR operand is the op's address register (a[idx]): a u64
 * global address ('l'), or for shared memory the 32-bit shared-window address
 * base + a[idx] ('r'), base being the address of the kernel's one shared
 * region; the op's constant offset (o->off) is written into the template.
 *
 * Nothing is decided here: every modifier comes from the op. An op whose
 * PTX form does not exist (a float->int cvt without rni/rzi, ...) is an
 * error, not a substitute. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/codegen.h"

static const char *const sems[] = {".relaxed", ".acquire", ".release", ".acq_rel"};
static const char *const scopes[] = {".cta", ".gpu", ".sys"};
static const char *const rnds[] = {
#define X(id, s) s,
    TIR_RNDS(X)
#undef X
};
static const char *const atom_ops[] = {
#define X(id, s) s,
    TIR_ATOMS(X)
#undef X
};

char cg_asm_letter(TirType t)
{
    switch (tir_type_bits(t)) {
    case 16:
        return 'h';
    case 64:
        return t == TIR_F64 ? 'd' : 'l';
    case 1:
        return 0;
    default: /* 8-bit conversion types live in 32-bit registers */
        return t == TIR_F32 ? 'f' : 'r';
    }
}

/* The type an operand has in a register: the register's own type, else
 * (an immediate) the type the op gives argument i. */
static TirType arg_type(const TirKernel *k, const TirOp *o, int i)
{
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_REG && a->reg >= 0 && a->reg < k->nregs)
        return k->regs[a->reg].type;
    return tir_arg_type(o, i);
}

/* 8/16-bit integer conversion types are held in 32-bit registers. */
static char conv_letter(TirType t)
{
    if (t == TIR_U8 || t == TIR_S8 || t == TIR_B8 || t == TIR_U16 || t == TIR_S16)
        return 'r';
    return cg_asm_letter(t);
}

typedef struct {
    CgAsm *a;
    size_t n;
    bool overflow;
} Tx;

static void tx(Tx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx(Tx *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t cap = sizeof t->a->text;
    int n = vsnprintf(t->a->text + t->n, cap - t->n, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - t->n) {
        t->overflow = true;
        t->n = cap - 1;
    } else {
        t->n += (size_t)n;
    }
}

static int opd(CgAsm *a, CgAsmKind kind, int idx, char cons, TirType type)
{
    if (a->n >= CG_ASM_MAX)
        return -1;
    a->opd[a->n] = (CgAsmOperand){kind, idx, cons, type};
    if (kind == CG_ASM_OUT || kind == CG_ASM_DUMMY)
        a->nout++;
    return a->n++;
}

static int out(const TirKernel *k, CgAsm *a, const TirOp *o, int i)
{
    TirType t = o->d[i] >= 0 && o->d[i] < k->nregs ? k->regs[o->d[i]].type : o->type;
    return opd(a, CG_ASM_OUT, i, conv_letter(t), t);
}

static int in(const TirKernel *k, CgAsm *a, const TirOp *o, int i)
{
    TirType t = arg_type(k, o, i);
    return opd(a, CG_ASM_IN, i, conv_letter(t), t);
}

static int addr(CgAsm *a, int i, TirSpace space)
{
    return opd(a, CG_ASM_ADDR, i, space == TIR_SPACE_SHARED ? 'r' : 'l',
               space == TIR_SPACE_SHARED ? TIR_U32 : TIR_U64);
}

static const char *int_name(TirType t)
{
    switch (t) {
    case TIR_B8: return "u8";
    case TIR_B16: return "u16";
    case TIR_B32: return "u32";
    case TIR_B64: return "u64";
    default: return tir_type_name(t);
    }
}

static const char *bits_name(TirType t)
{
    switch (tir_type_bits(t)) {
    case 16: return "b16";
    case 64: return "b64";
    default: return "b32";
    }
}

/* A conversion a PTX cvt may write without a rounding mode is exact: an
 * int -> float one needs the int to fit the float's significand. */
static bool int_to_float_exact(TirType to, TirType from)
{
    int sig = to == TIR_F64 ? 53 : to == TIR_F32 ? 24 : to == TIR_F16 ? 11 : 8;
    int bits = tir_type_bits(from) - (tir_type_is_signed(from) ? 1 : 0);
    return bits <= sig;
}

static const char *cvt_text(const TirOp *o, Tx *t)
{
    TirType dt = o->type, st = o->type2;
    bool df = tir_type_is_float(dt), sf = tir_type_is_float(st);
    if (o->mod < TIR_RND_NONE || o->mod > TIR_RND_RZI)
        return "cvt with an unknown rounding mode";
    const char *rnd = rnds[o->mod];
    if (dt == TIR_PRED || st == TIR_PRED)
        return "cvt has no pred form";
    if (df && !sf && o->mod == TIR_RND_NONE) {
        if (!int_to_float_exact(dt, st))
            return "an int -> float cvt that may round needs a rounding mode (rn/rz)";
        rnd = "rn";
    }
    if (!df && sf && o->mod != TIR_RND_RNI && o->mod != TIR_RND_RZI)
        return "a float -> int cvt needs rni or rzi";
    if (df && sf && o->mod == TIR_RND_NONE && tir_type_bits(dt) < tir_type_bits(st))
        return "a narrowing float cvt needs a rounding mode";
    const char *dn = df ? tir_type_name(dt) : int_name(dt);
    const char *sn = sf ? tir_type_name(st) : int_name(st);
    if (sf && !df && (tir_type_bits(dt) == 64 || st == TIR_F64)) {
        /* NaN gives 0x80000000(00000000) here, not 0 (measured on an H200
         * for f32/f16 -> s64/u64 and f64 -> s32); f32/f16 to 32-bit and
         * narrower ints give 0. TIR says 0. */
        tx(t, "{ .reg .pred p; setp.nan.%s p, $1, $1; cvt.%s%s.%s.%s $0, $1; @p mov.b%d $0, 0; }",
           sn, rnd, o->imm ? ".sat" : "", dn, sn, tir_type_bits(dt) == 64 ? 64 : 32);
        return NULL;
    }
    tx(t, "cvt%s%s%s.%s.%s ", *rnd ? "." : "", rnd, o->imm ? ".sat" : "", dn, sn);
    if (o->na == 2)
        tx(t, "$0, $2, $1;"); /* the first source goes to the upper half */
    else
        tx(t, "$0, $1;");
    return NULL;
}

static const char *atom_text(const TirKernel *k, const TirOp *o, CgAsm *a, Tx *t)
{
    TirType ty = o->type;
    const char *tn;
    if (o->mod < TIR_ATOM_ADD || o->mod > TIR_ATOM_CAS || o->sem < TIR_SEM_RELAXED ||
        o->sem > TIR_SEM_ACQ_REL || o->scope < TIR_SCOPE_CTA || o->scope > TIR_SCOPE_SYS)
        return "atom with an unknown operation, order or scope";
    switch (o->mod) {
    case TIR_ATOM_ADD:
        tn = ty == TIR_F16 || ty == TIR_BF16 || ty == TIR_F16X2 || ty == TIR_BF16X2
                 ? NULL
                 : ty == TIR_S64 || ty == TIR_B64 ? "u64" : int_name(ty);
        break;
    case TIR_ATOM_MIN:
    case TIR_ATOM_MAX:
        tn = int_name(ty);
        break;
    default:
        tn = bits_name(ty);
        break;
    }
    if (ty == TIR_PRED || tir_type_bits(ty) < 16)
        return "atom needs a 16, 32 or 64-bit type";
    int need = o->mod == TIR_ATOM_CAS ? 3 : 2;
    if (o->na != need)
        return o->mod == TIR_ATOM_CAS ? "atom.cas takes an address, a compare and a value"
                                      : "atom takes an address and a value";
    if (o->nd > 1)
        return "atom has at most one destination";
    tx(t, "atom%s%s.%s.%s", sems[o->sem], scopes[o->scope],
       o->space == TIR_SPACE_SHARED ? "shared" : "global", atom_ops[o->mod]);
    if (tn)
        tx(t, ".%s", tn);
    else
        tx(t, ".noftz.%s", tir_type_name(ty));
    if (o->nd)
        out(k, a, o, 0);
    else
        opd(a, CG_ASM_DUMMY, 0, cg_asm_letter(ty), ty);
    int pa = addr(a, 0, o->space);
    int p1 = in(k, a, o, 1);
    tx(t, " $0, [$%d", pa);
    if (o->off)
        tx(t, "+%lld", (long long)o->off);
    tx(t, "], $%d", p1);
    if (need == 3)
        tx(t, ", $%d", in(k, a, o, 2));
    tx(t, ";");
    a->memory = true;
    return NULL;
}

/* mma: A and B fragments take M*K and K*N elements of the A type, spread over
 * the warp's 32 lanes in b32 registers. */
static const char *mma_text(const TirKernel *k, const TirOp *o, CgAsm *a, Tx *t)
{
    int m, n, kk;
    if (!o->str || sscanf(o->str, "m%dn%dk%d", &m, &n, &kk) != 3)
        return "mma needs a shape string such as m16n8k16";
    int bits = tir_type_bits(o->type2);
    if (bits != 8 && bits != 16)
        return "mma operands must be 8 or 16-bit (f16, bf16, s8, u8)";
    int na = m * kk * bits / 1024, nb = kk * n * bits / 1024;
    int nc = o->na - na - nb;
    if (na < 1 || nb < 1 || nc != o->nd || nc < 1)
        return "mma register counts do not match its shape and types";
    const char *ct = tir_type_name(o->type), *at = tir_type_name(o->type2);
    if (o->type == TIR_F16X2)
        ct = "f16";
    tx(t, "mma.sync.aligned.%s.row.col.%s.%s.%s.%s {", o->str, ct, at, at, ct);
    for (int i = 0; i < o->nd; i++)
        tx(t, "%s$%d", i ? ", " : "", out(k, a, o, i));
    int i = 0;
    for (int g = 0; g < 3; g++) {
        int cnt = g == 0 ? na : g == 1 ? nb : nc;
        tx(t, "}, {");
        for (int j = 0; j < cnt; j++, i++)
            tx(t, "%s$%d", j ? ", " : "", in(k, a, o, i));
    }
    tx(t, "};");
    a->convergent = true;
    return NULL;
}

static const char *text_for(const TirKernel *k, const TirOp *o, CgAsm *a, Tx *t)
{
    switch (o->op) {
    case TIR_OP_BFE:
        if (o->na != 3 || o->nd != 1 || (tir_type_bits(o->type) != 32 && tir_type_bits(o->type) != 64))
            return "bfe takes one 32/64-bit destination and three arguments";
        tx(t, "bfe.%s $0, $1, $2, $3;", tir_type_is_signed(o->type) ? tir_type_name(o->type)
                                                                     : int_name(o->type));
        out(k, a, o, 0);
        for (int i = 0; i < 3; i++)
            in(k, a, o, i);
        return NULL;
    case TIR_OP_LOP3:
        if (o->na != 3 || o->nd != 1)
            return "lop3 takes one destination and three arguments";
        tx(t, "lop3.b32 $0, $1, $2, $3, 0x%02X;", (unsigned)(o->imm & 0xFF));
        out(k, a, o, 0);
        for (int i = 0; i < 3; i++)
            in(k, a, o, i);
        return NULL;
    case TIR_OP_PRMT:
        if (o->na != 3 || o->nd != 1)
            return "prmt takes one destination and three arguments";
        tx(t, "prmt.b32 $0, $1, $2, $3;");
        out(k, a, o, 0);
        for (int i = 0; i < 3; i++)
            in(k, a, o, i);
        return NULL;
    case TIR_OP_CVT: {
        if (o->nd != 1 || o->na < 1 || o->na > 2 ||
            (o->na == 2 && o->type != TIR_F16X2 && o->type != TIR_BF16X2))
            return "cvt takes one destination and one argument (two for a packed f16x2/bf16x2)";
        const char *why = cvt_text(o, t);
        if (why)
            return why;
        out(k, a, o, 0);
        for (int i = 0; i < o->na; i++)
            in(k, a, o, i);
        return NULL;
    }
    case TIR_OP_EX2:
    case TIR_OP_LG2:
    case TIR_OP_SIN:
    case TIR_OP_COS:
    case TIR_OP_RSQRT:
    case TIR_OP_TANH:
    case TIR_OP_RCP:
        if (o->type != TIR_F32 || o->na != 1 || o->nd != 1)
            return "approximate math takes one f32 destination and one f32 argument";
        tx(t, "%s.f32 $0, $1;", tir_op_name(o->op));
        out(k, a, o, 0);
        in(k, a, o, 0);
        return NULL;
    case TIR_OP_ATOM:
        return atom_text(k, o, a, t);
    case TIR_OP_LDMATRIX: {
        int n = (int)o->imm;
        if ((n != 1 && n != 2 && n != 4) || o->nd != n || o->na != 1)
            return "ldmatrix takes x1, x2 or x4 with that many destinations and one address";
        tx(t, "ldmatrix.sync.aligned.m8n8.x%d%s.shared.b16 {", n, o->flag ? ".trans" : "");
        for (int i = 0; i < n; i++)
            tx(t, "%s$%d", i ? ", " : "", out(k, a, o, i));
        tx(t, "}, [$%d", addr(a, 0, TIR_SPACE_SHARED));
        if (o->off)
            tx(t, "+%lld", (long long)o->off);
        tx(t, "];");
        a->memory = a->convergent = true;
        return NULL;
    }
    case TIR_OP_CP_ASYNC: {
        int w = o->width;
        if ((w != 4 && w != 8 && w != 16) || o->na < 2 || o->na > 3 || o->nd)
            return "cp.async copies 4, 8 or 16 bytes from [a1 global] to [a0 shared]";
        if (o->flag && w != 16)
            return "cp.async.cg copies 16 bytes only";
        int pd = addr(a, 0, TIR_SPACE_SHARED), ps = addr(a, 1, TIR_SPACE_GLOBAL);
        tx(t, "cp.async.%s.shared.global [$%d", o->flag ? "cg" : "ca", pd);
        if (o->off)
            tx(t, "+%lld", (long long)o->off);
        tx(t, "], [$%d], %d", ps, w);
        if (o->na == 3)
            tx(t, ", $%d", in(k, a, o, 2));
        tx(t, ";");
        a->memory = true;
        return NULL;
    }
    case TIR_OP_LD:
    case TIR_OP_ST: {
        /* only the ordered forms: ld.acquire / st.release of one element */
        bool ld = o->op == TIR_OP_LD;
        if (o->sem != (ld ? TIR_SEM_ACQUIRE : TIR_SEM_RELEASE) || o->space != TIR_SPACE_GLOBAL ||
            (ld ? o->nd != 1 || o->na != 1 : o->nd != 0 || o->na != 2) ||
            (o->width != 4 && o->width != 8) || tir_type_bits(o->type) != 8 * o->width)
            return "ordered ld/st: one 4- or 8-byte global element, ld.acquire or st.release";
        const char *scope = o->scope == TIR_SCOPE_CTA ? "cta" : o->scope == TIR_SCOPE_SYS ? "sys" : "gpu";
        if (ld) {
            int d = out(k, a, o, 0);
            tx(t, "ld.acquire.%s.global.b%d $%d, [$%d", scope, 8 * o->width, d, addr(a, 0, TIR_SPACE_GLOBAL));
        } else {
            int pa = addr(a, 0, TIR_SPACE_GLOBAL);
            tx(t, "st.release.%s.global.b%d [$%d", scope, 8 * o->width, pa);
        }
        if (o->off)
            tx(t, "+%lld", (long long)o->off);
        if (ld)
            tx(t, "];");
        else
            tx(t, "], $%d;", in(k, a, o, 1));
        a->memory = true;
        return NULL;
    }
    case TIR_OP_CP_COMMIT:
        tx(t, "cp.async.commit_group;");
        a->memory = true;
        return NULL;
    case TIR_OP_CP_WAIT:
        if (o->imm < 0)
            return "cp.async.wait_group needs a count >= 0";
        tx(t, "cp.async.wait_group %lld;", (long long)o->imm);
        a->memory = true;
        return NULL;
    case TIR_OP_MMA:
        return mma_text(k, o, a, t);
    case TIR_OP_FENCE:
        if (o->scope < TIR_SCOPE_CTA || o->scope > TIR_SCOPE_SYS)
            return "fence with an unknown scope";
        tx(t, "fence.acq_rel%s;", scopes[o->scope]);
        a->memory = true;
        return NULL;
    default:
        return "the op has no inline asm form";
    }
}

int cg_asm_for(const TirKernel *k, const TirOp *o, CgAsm *a, const char **why)
{
    memset(a, 0, sizeof *a);
    Tx t = {a, 0, false};
    const char *w = text_for(k, o, a, &t);
    if (!w && t.overflow)
        w = "inline asm text too long";
    for (int i = 0; !w && i < a->n; i++)
        if (!a->opd[i].cons)
            w = "a pred operand cannot go into inline asm";
    if (w) {
        if (why)
            *why = w;
        return -1;
    }
    return 0;
}

/* codegen/tir.c - the thread-level IR: type and op tables, the builder and
 * the text printer (CODEGEN.md 1; semantics in codegen.h).
 *
 * Everything lives in the compilation's VmArena. The printer writes one op
 * per line; registers print as %name.id (names from the source, ids make
 * them unique), immediates as decimal ints or PTX-style hex floats (0f..., 0d...)
 * so the text is exact. There is no parser back yet. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"

static const struct {
    const char *name;
    int bits;
} types[TIR_NTYPES] = {
#define X(id, name, bits) {name, bits},
    TIR_TYPES(X)
#undef X
};

static const struct {
    const char *name;
    char form;
} ops[TIR_NOPS] = {
#define X(id, name, form) {name, form},
    TIR_OPS(X)
#undef X
};

bool tir_op_pure(TirOpcode op)
{
    return op >= 0 && op < TIR_NOPS && ops[op].form == 'V' && op != TIR_OP_SHFL &&
           op != TIR_OP_MMA && op != TIR_OP_SREG;
}

const char *const tir_cmp_names[TIR_NCMPS] = {
#define X(id, s) s,
    TIR_CMPS(X)
#undef X
};
const char *const tir_rnd_names[TIR_NRNDS] = {
#define X(id, s) s,
    TIR_RNDS(X)
#undef X
};
const char *const tir_sreg_names[TIR_NSREGS] = {
#define X(id, s) s,
    TIR_SREGS(X)
#undef X
};
const char *const tir_atom_names[TIR_NATOMS] = {
#define X(id, s) s,
    TIR_ATOMS(X)
#undef X
};
static const char *const sems[] = {"", ".acquire", ".release", ".acq_rel"};
static const char *const scopes[] = {".cta", ".gpu", ".sys"};
static const char *const shfls[] = {"bfly", "idx", "up", "down"};

const char *tir_type_name(TirType t) { return (unsigned)t < TIR_NTYPES ? types[t].name : "?"; }
int tir_type_bits(TirType t) { return (unsigned)t < TIR_NTYPES ? types[t].bits : 0; }
bool tir_type_is_float(TirType t)
{
    return t == TIR_F16 || t == TIR_BF16 || t == TIR_F32 || t == TIR_F64 || t == TIR_F16X2 ||
           t == TIR_BF16X2;
}
bool tir_type_is_signed(TirType t)
{
    return t == TIR_S8 || t == TIR_S16 || t == TIR_S32 || t == TIR_S64;
}
const char *tir_op_name(TirOpcode op) { return (unsigned)op < TIR_NOPS ? ops[op].name : "?"; }

/* ---------------------------------------------------------------- builder */

TirKernel *tir_kernel_new(VmArena *a, const char *name, int warps)
{
    TirKernel *k = vm_alloc(a, sizeof *k);
    k->arena = a;
    k->name = vm_strdup(a, name);
    k->warps = warps;
    return k;
}

int tir_reg(TirKernel *k, TirType t, const char *name)
{
    k->regs = vm_grow(k->arena, k->regs, k->nregs, &k->cap_regs, sizeof *k->regs);
    k->regs[k->nregs].type = t;
    k->regs[k->nregs].name = name ? vm_strdup(k->arena, name) : NULL;
    return k->nregs++;
}

TirArg tir_r(int reg) { return (TirArg){TIR_A_REG, reg, 0}; }
TirArg tir_imm(uint64_t bits) { return (TirArg){TIR_A_IMM, -1, bits}; }
TirArg tir_immf(double v, TirType t)
{
    if (t == TIR_F64) {
        uint64_t u;
        memcpy(&u, &v, sizeof u);
        return tir_imm(u);
    }
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return tir_imm(u);
}

TirOp *tir_op_new(TirKernel *k, TirOpcode op, TirType type)
{
    TirOp *o = vm_alloc(k->arena, sizeof *o);
    o->op = op;
    o->type = type;
    o->type2 = type;
    o->guard = -1;
    return o;
}

void tir_append(TirBlock *b, TirOp *o)
{
    if (b->last)
        b->last->next = o;
    else
        b->first = o;
    b->last = o;
}

static int count_block(const TirBlock *b, TirOpcode op)
{
    int n = 0;
    for (const TirOp *o = b->first; o; o = o->next)
        n += (o->op == op) + count_block(&o->body, op) + count_block(&o->orelse, op);
    return n;
}

int tir_count(const TirKernel *k, TirOpcode op) { return count_block(&k->body, op); }

TirType tir_arg_type(const TirOp *o, int i)
{
    switch (o->op) {
    case TIR_OP_SHL:
    case TIR_OP_SHR:
        return i == 1 ? TIR_U32 : o->type;
    case TIR_OP_BFE:
        return i >= 1 ? TIR_U32 : o->type;
    case TIR_OP_SHFL:
        return i >= 1 ? TIR_U32 : TIR_B32;
    case TIR_OP_SELP:
        return i == 2 ? TIR_PRED : o->type;
    case TIR_OP_CVT:
    case TIR_OP_BITCAST:
    case TIR_OP_UNPACK:
    case TIR_OP_MULWIDE:
    case TIR_OP_CLZ:
    case TIR_OP_POPC:
        return o->type2;
    case TIR_OP_IF:
        return TIR_PRED;
    case TIR_OP_LD:
    case TIR_OP_ST:
    case TIR_OP_ATOM:
        if (i == 0)
            return o->space == TIR_SPACE_SHARED ? TIR_U32 : TIR_U64;
        return o->type;
    case TIR_OP_LDMATRIX:
        return TIR_U32;
    case TIR_OP_CP_ASYNC:
        return i == 1 ? TIR_U64 : TIR_U32;
    case TIR_OP_PRINTF:
        return TIR_B64;
    case TIR_OP_MMA:
        return TIR_B32;
    case TIR_OP_PACK:
        return o->type2;
    default:
        return o->type;
    }
}

/* ---------------------------------------------------------------- printer */

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    const char *src = tmp;
    char *big = NULL;
    if ((size_t)n >= sizeof tmp) {
        big = malloc((size_t)n + 1);
        if (!big)
            abort();
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        src = big;
    }
    if (b->n + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p)
            abort();
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, src, (size_t)n + 1);
    b->n += (size_t)n;
    free(big);
}

static void put_reg(Buf *b, const TirKernel *k, int r)
{
    if (r < 0 || r >= k->nregs) {
        put(b, "%%?%d", r);
        return;
    }
    if (k->regs[r].name)
        put(b, "%%%s.%d", k->regs[r].name, r);
    else
        put(b, "%%r%d", r);
}

static void put_imm(Buf *b, TirType t, uint64_t v)
{
    int bits = tir_type_bits(t);
    if (t == TIR_F32 || t == TIR_F16X2 || t == TIR_BF16X2)
        put(b, "0f%08X", (unsigned)(v & 0xFFFFFFFFu));
    else if (t == TIR_F64)
        put(b, "0d%016llX", (unsigned long long)v);
    else if (t == TIR_F16 || t == TIR_BF16)
        put(b, "0h%04X", (unsigned)(v & 0xFFFF));
    else if (tir_type_is_signed(t)) {
        int64_t s = (int64_t)(bits < 64 && ((v >> (bits - 1)) & 1) ? v | ~((1ull << bits) - 1)
                                                                    : v);
        if (bits < 64 && !((v >> (bits - 1)) & 1))
            s = (int64_t)(v & ((1ull << bits) - 1));
        put(b, "%lld", (long long)s);
    } else {
        if (bits < 64)
            v &= (1ull << bits) - 1;
        if (v > 0xFFFF)
            put(b, "0x%llX", (unsigned long long)v);
        else
            put(b, "%llu", (unsigned long long)v);
    }
}

static void put_arg(Buf *b, const TirKernel *k, const TirOp *o, int i)
{
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_REG)
        put_reg(b, k, a->reg);
    else if (a->kind == TIR_A_IMM)
        put_imm(b, tir_arg_type(o, i), a->imm);
    else
        put(b, "_");
}

static void put_args(Buf *b, const TirKernel *k, const TirOp *o, int from)
{
    for (int i = from; i < o->na; i++) {
        if (i > from)
            put(b, ", ");
        put_arg(b, k, o, i);
    }
}

static void put_addr(Buf *b, const TirKernel *k, const TirOp *o)
{
    put(b, "[");
    put_arg(b, k, o, 0);
    if (o->off)
        put(b, " + %lld", (long long)o->off);
    put(b, "]");
}

static void indent(Buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        put(b, "  ");
}

static void put_block(Buf *b, const TirKernel *k, const TirBlock *blk, int depth, int *line);

static void put_op(Buf *b, const TirKernel *k, const TirOp *o, int depth, int *line)
{
    if (o->line && o->line != *line && o->op != TIR_OP_NOTE) {
        *line = o->line;
    }
    indent(b, depth);
    if (o->guard >= 0) {
        put(b, "@%s", o->guard_neg ? "!" : "");
        put_reg(b, k, o->guard);
        put(b, " ");
    }
    if (o->nd > 0 && o->op != TIR_OP_IF && o->op != TIR_OP_LOOP) {
        for (int i = 0; i < o->nd; i++) {
            if (i)
                put(b, ", ");
            put_reg(b, k, o->d[i]);
        }
        put(b, " = ");
    }
    const char *tn = tir_type_name(o->type), *tn2 = tir_type_name(o->type2);
    switch (o->op) {
    case TIR_OP_NOTE:
        *line = o->line;
        put(b, "// line %d: %s\n", o->line, o->str ? o->str : "");
        return;
    case TIR_OP_SREG:
        put(b, "sreg.u32 %s", tir_sreg_names[o->mod]);
        break;
    case TIR_OP_SETP:
        put(b, "setp.%s.%s ", tir_cmp_names[o->mod], tn);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_CVT:
        put(b, "cvt%s%s%s.%s.%s ", o->mod ? "." : "", tir_rnd_names[o->mod], o->imm ? ".sat" : "", tn,
            tn2);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_BITCAST:
    case TIR_OP_PACK:
    case TIR_OP_UNPACK:
    case TIR_OP_MULWIDE:
        put(b, "%s.%s.%s ", ops[o->op].name, tn, tn2);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_ADD:
    case TIR_OP_SUB:
    case TIR_OP_MUL:
    case TIR_OP_DIV:
    case TIR_OP_FMA:
    case TIR_OP_SQRT:
        put(b, "%s%s.%s ", ops[o->op].name, tir_type_is_float(o->type) ? ".rn" : "", tn);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_LOP3:
        put(b, "lop3.b32 ");
        put_args(b, k, o, 0);
        put(b, ", 0x%02llX", (unsigned long long)o->imm);
        break;
    case TIR_OP_SHFL:
        put(b, "shfl.sync.%s.b32 ", shfls[o->mod]);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_LD:
        put(b, "ld%s%s.%s.%s.%s.w%d ", sems[o->sem], o->sem ? scopes[o->scope] : "", o->space == TIR_SPACE_SHARED ? "shared" : "global", tn2, tn,
            o->width);
        put_addr(b, k, o);
        break;
    case TIR_OP_ST:
        put(b, "st%s%s.%s.%s.%s.w%d ", sems[o->sem], o->sem ? scopes[o->scope] : "", o->space == TIR_SPACE_SHARED ? "shared" : "global", tn2, tn,
            o->width);
        put_addr(b, k, o);
        put(b, ", ");
        put_args(b, k, o, 1);
        break;
    case TIR_OP_ATOM:
        put(b, "atom%s%s.%s.%s.%s ", sems[o->sem], scopes[o->scope],
            o->space == TIR_SPACE_SHARED ? "shared" : "global", tir_atom_names[o->mod], tn);
        put_addr(b, k, o);
        if (o->na > 1) {
            put(b, ", ");
            put_args(b, k, o, 1);
        }
        break;
    case TIR_OP_LDMATRIX:
        put(b, "ldmatrix.x%lld%s.b16 ", (long long)o->imm, o->flag ? ".trans" : "");
        put_addr(b, k, o);
        break;
    case TIR_OP_CP_ASYNC:
        put(b, "cp.async%s.w%d ", o->flag ? ".cg" : "", o->width);
        put_addr(b, k, o);
        if (o->na > 1) {
            put(b, ", ");
            put_args(b, k, o, 1);
        }
        break;
    case TIR_OP_CP_WAIT:
        put(b, "cp.async.wait_group %lld", (long long)o->imm);
        break;
    case TIR_OP_MMA:
        put(b, "mma.sync.%s.%s.%s ", o->str ? o->str : "?", tn, tn2);
        put_args(b, k, o, 0);
        break;
    case TIR_OP_FENCE:
        put(b, "fence.acq_rel%s", scopes[o->scope]);
        break;
    case TIR_OP_PRINTF: {
        put(b, "printf \"");
        for (const char *s = o->str ? o->str : ""; *s; s++) {
            if (*s == '"' || *s == '\\')
                put(b, "\\%c", *s);
            else if (*s == '\n')
                put(b, "\\n");
            else
                put(b, "%c", *s);
        }
        put(b, "\"");
        for (int i = 0; i < o->na; i++) {
            put(b, ", ");
            put_reg(b, k, o->a[i].reg);
            put(b, ":%s", tir_type_name(k->regs[o->a[i].reg].type));
        }
        break;
    }
    case TIR_OP_IF:
        put(b, "if ");
        put_arg(b, k, o, 0);
        put(b, " {\n");
        put_block(b, k, &o->body, depth + 1, line);
        indent(b, depth);
        if (o->orelse.first) {
            put(b, "} else {\n");
            put_block(b, k, &o->orelse, depth + 1, line);
            indent(b, depth);
        }
        put(b, "}\n");
        return;
    case TIR_OP_LOOP:
        put(b, "loop {\n");
        put_block(b, k, &o->body, depth + 1, line);
        indent(b, depth);
        if (o->orelse.first) {
            put(b, "} latch {\n");
            put_block(b, k, &o->orelse, depth + 1, line);
            indent(b, depth);
        }
        put(b, "}\n");
        return;
    case TIR_OP_BREAK:
    case TIR_OP_CONTINUE:
    case TIR_OP_RET:
    case TIR_OP_BAR:
    case TIR_OP_CP_COMMIT:
        put(b, "%s", ops[o->op].name);
        break;
    default:
        put(b, "%s", ops[o->op].name);
        if (o->op == TIR_OP_BFE || o->op == TIR_OP_SHR || o->op == TIR_OP_SHL ||
            o->op == TIR_OP_MIN || o->op == TIR_OP_MAX || o->op == TIR_OP_NEG ||
            o->op == TIR_OP_ABS || o->op == TIR_OP_REM || o->op == TIR_OP_MAD ||
            o->op == TIR_OP_SELP || o->op == TIR_OP_MOV || o->op == TIR_OP_AND ||
            o->op == TIR_OP_OR || o->op == TIR_OP_XOR || o->op == TIR_OP_NOT ||
            o->op == TIR_OP_CLZ || o->op == TIR_OP_POPC || o->op == TIR_OP_PRMT ||
            ops[o->op].form == 'V')
            put(b, ".%s", tn);
        if (o->na) {
            put(b, " ");
            put_args(b, k, o, 0);
        }
        break;
    }
    put(b, "\n");
}

static void put_block(Buf *b, const TirKernel *k, const TirBlock *blk, int depth, int *line)
{
    for (const TirOp *o = blk->first; o; o = o->next)
        put_op(b, k, o, depth, line);
}

static Buf print_buf(const TirKernel *k)
{
    Buf b = {0};
    put(&b, "kernel %s(", k->name);
    for (int i = 0; i < k->nparams; i++) {
        const TirParam *p = &k->params[i];
        put(&b, "%s", i ? ", " : "");
        put_reg(&b, k, p->reg);
        if (p->kind == TIR_P_PTR)
            put(&b, ": ptr.global %s", vm_dtype_name(p->dtype));
        else
            put(&b, ": %s", tir_type_name(p->type));
        if (p->hidden)
            put(&b, " hidden");
    }
    put(&b, ") threads %d shared %lld\n", 32 * k->warps, (long long)k->shared_bytes);
    if (k->sm_needed || k->ptx_needed)
        put(&b, ".needs sm_%d ptx %d.%d\n", k->sm_needed, k->ptx_needed / 10,
            k->ptx_needed % 10);
    for (int t = 0; t < TIR_NTYPES; t++) {
        int n = 0;
        for (int r = 0; r < k->nregs; r++) {
            if (k->regs[r].type != (TirType)t)
                continue;
            put(&b, n % 8 ? ", " : n ? ",\n    " : ".reg %s ", tir_type_name((TirType)t));
            put_reg(&b, k, r);
            n++;
        }
        if (n)
            put(&b, ";\n");
    }
    put(&b, "{\n");
    int line = 0;
    put_block(&b, k, &k->body, 1, &line);
    put(&b, "}\n");
    return b;
}

int tir_print(const TirKernel *k, char *buf, size_t n)
{
    Buf b = print_buf(k);
    if (n) {
        size_t m = b.n < n - 1 ? b.n : n - 1;
        if (b.s)
            memcpy(buf, b.s, m);
        buf[m] = 0;
    }
    free(b.s);
    return (int)b.n;
}

char *tir_print_alloc(const TirKernel *k)
{
    Buf b = print_buf(k);
    if (!b.s) {
        b.s = malloc(1);
        if (!b.s)
            abort();
        b.s[0] = 0;
    }
    return b.s;
}

/* ---------------------------------------------------------------- verifier */

typedef struct {
    const TirKernel *k;
    char *err;
    size_t n;
    bool bad;
} Chk;

static bool bad(Chk *c, const TirOp *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool bad(Chk *c, const TirOp *o, const char *fmt, ...)
{
    if (c->bad)
        return false;
    c->bad = true;
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (c->n)
        snprintf(c->err, c->n, "%s (line %d): %s", tir_op_name(o->op), o->line, m);
    return false;
}

static bool reg_ok(const Chk *c, int r) { return r >= 0 && r < c->k->nregs; }

static TirType reg_type(const Chk *c, int r) { return c->k->regs[r].type; }

static void check_block(Chk *c, const TirBlock *b, int loops);

static void check_op(Chk *c, const TirOp *o, int loops)
{
    for (int j = 0; j < o->nd; j++)
        if (!reg_ok(c, o->d[j]))
            bad(c, o, "destination %d is not a register", j);
    for (int j = 0; j < o->na; j++)
        if (o->a[j].kind == TIR_A_REG && !reg_ok(c, o->a[j].reg))
            bad(c, o, "argument %d is not a register", j);
    if (c->bad)
        return;
    if (o->guard >= 0 && (!reg_ok(c, o->guard) || reg_type(c, o->guard) != TIR_PRED))
        bad(c, o, "the guard is not a pred");
    bool value = ops[o->op].form == 'V' && o->op != TIR_OP_MMA;
    if (value && o->op != TIR_OP_UNPACK && o->nd != 1)
        bad(c, o, "%d destinations, one expected", o->nd);
    switch (o->op) {
    case TIR_OP_SETP:
        if (reg_type(c, o->d[0]) != TIR_PRED || o->na != 2)
            bad(c, o, "setp writes a pred from two arguments");
        break;
    case TIR_OP_SELP:
        if (o->na != 3 || o->a[2].kind != TIR_A_REG || reg_type(c, o->a[2].reg) != TIR_PRED)
            bad(c, o, "selp's third argument must be a pred register");
        if (o->type == TIR_PRED)
            bad(c, o, "selp of preds (use and/or)");
        break;
    case TIR_OP_IF:
        if (o->na != 1 || o->a[0].kind != TIR_A_REG || reg_type(c, o->a[0].reg) != TIR_PRED)
            bad(c, o, "if needs a pred register");
        break;
    case TIR_OP_BREAK:
    case TIR_OP_CONTINUE:
        if (!loops)
            bad(c, o, "outside a loop");
        break;
    case TIR_OP_LD:
    case TIR_OP_ST:
    case TIR_OP_ATOM: {
        TirType at = o->space == TIR_SPACE_SHARED ? TIR_U32 : TIR_U64;
        if (o->na < 1 || (o->a[0].kind == TIR_A_REG && tir_type_bits(reg_type(c, o->a[0].reg)) !=
                                                           tir_type_bits(at)))
            bad(c, o, "the address must be a %s register", tir_type_name(at));
        int parts = o->op == TIR_OP_LD ? o->nd : o->op == TIR_OP_ST ? o->na - 1 : 1;
        if (o->op != TIR_OP_ATOM && o->width != parts * tir_type_bits(o->type2) / 8)
            bad(c, o, "width %d for %d x %s", o->width, parts, tir_type_name(o->type2));
        if (o->op == TIR_OP_LD && o->nd < 1)
            bad(c, o, "a load needs a destination");
        break;
    }
    default:
        break;
    }
    check_block(c, &o->body, loops + (o->op == TIR_OP_LOOP));
    check_block(c, &o->orelse, loops + (o->op == TIR_OP_LOOP));
}

static void check_block(Chk *c, const TirBlock *b, int loops)
{
    for (const TirOp *o = b->first; o && !c->bad; o = o->next)
        check_op(c, o, loops);
}

bool tir_verify(const TirKernel *k, char *err, size_t n)
{
    Chk c = {k, err, n, false};
    if (n)
        err[0] = 0;
    for (int p = 0; p < k->nparams; p++)
        if (!reg_ok(&c, k->params[p].reg)) {
            snprintf(err, n, "param %s has no register", k->params[p].name);
            return false;
        }
    check_block(&c, &k->body, 0);
    return !c.bad;
}

/* codegen/emit_cuda.c - the second backend: TIR printed as CUDA C, which
 * NVRTC (--fmad=false) compiles to PTX (CODEGEN.md 3). The runtime calls
 * NVRTC; this file only writes text.
 *
 * The output is one `extern "C" __global__` function named as the TIR kernel
 * with __launch_bounds__(32 * warps) and one dynamic shared region
 * `lpvm_smem` (TIR shared addresses are byte offsets from it; lpvm_sbase is
 * its shared-window address). Registers are zero-initialised locals named
 * from the source (sanitised, made unique); kernel parameters are the
 * registers TIR gives them. Control flow is C: if/else, for (;;) with the
 * latch after a `lpvm_latch_N:` label so `continue` is a goto, break, return.
 * A `// line N` comment precedes the ops of each VM source line.
 *
 * Exactness: the emitter decides nothing. f32/f64 arithmetic goes through the
 * _rn intrinsics (never contracted whatever the flags), f16/bf16 through the
 * PTX instruction in inline asm, approximate math, conversions with a float
 * side, shifts by a register, bfe, lop3, prmt, shuffles and every memory,
 * atomic, ldmatrix, cp.async and mma operation through inline PTX: the same
 * instructions the LLVM backend emits. Memory asm is volatile with a "memory"
 * clobber (program order is kept; ptxas still schedules); value asm is not,
 * so dead values disappear. Value ops live in emit_cuda_ops.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/emit_cuda.h"

/* ---------------------------------------------------------------- text */

void ec_put(EcBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
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
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

static const char *buf_str(const EcBuf *b) { return b->s ? b->s : ""; }

void ec_ln(EcEm *e, const char *fmt, ...)
{
    char tmp[256], *s = tmp;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp) {
        s = malloc((size_t)n + 1);
        if (!s)
            abort();
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    ec_put(&e->out, "%*s%s\n", 4 * e->depth, "", s);
    if (s != tmp)
        free(s);
}

void ec_fail(EcEm *e, const TirOp *o, const char *fmt, ...)
{
    if (e->err)
        return;
    EcBuf b = {0};
    ec_put(&b, "CUDA C emitter, kernel %s", e->k->name);
    if (o) {
        if (o->line)
            ec_put(&b, ", line %d", o->line);
        ec_put(&b, ", %s.%s", tir_op_name(o->op), tir_type_name(o->type));
    }
    ec_put(&b, ": ");
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ec_put(&b, "%s", msg);
    e->err = b.s;
}

void ec_exf(EcEm *e, EcEx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->s, sizeof x->s, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof x->s)
        ec_fail(e, NULL, "internal: expression longer than %zu characters", sizeof x->s);
}

/* ------------------------------------------------------------ C kinds */

static const struct {
    const char *c;
    int bits;
} cks[] = {
    [EC_BOOL] = {"bool", 1},
    [EC_U8] = {"unsigned char", 8},
    [EC_S8] = {"signed char", 8},
    [EC_U16] = {"unsigned short", 16},
    [EC_S16] = {"short", 16},
    [EC_U32] = {"unsigned", 32},
    [EC_S32] = {"int", 32},
    [EC_U64] = {"unsigned long long", 64},
    [EC_S64] = {"long long", 64},
    [EC_F32] = {"float", 32},
    [EC_F64] = {"double", 64},
};

const char *ec_ctype(EcCk c) { return cks[c].c; }
int ec_ck_bits(EcCk c) { return cks[c].bits; }
bool ec_ck_float(EcCk c) { return c == EC_F32 || c == EC_F64; }

EcCk ec_ck_uint(int bits)
{
    return bits <= 8 ? EC_U8 : bits <= 16 ? EC_U16 : bits <= 32 ? EC_U32 : EC_U64;
}

EcCk ec_ck(TirType t)
{
    switch (t) {
    case TIR_PRED: return EC_BOOL;
    case TIR_B8:
    case TIR_U8: return EC_U8;
    case TIR_S8: return EC_S8;
    case TIR_B16:
    case TIR_U16:
    case TIR_F16:
    case TIR_BF16: return EC_U16;
    case TIR_S16: return EC_S16;
    case TIR_S32: return EC_S32;
    case TIR_B64:
    case TIR_U64: return EC_U64;
    case TIR_S64: return EC_S64;
    case TIR_F32: return EC_F32;
    case TIR_F64: return EC_F64;
    default: return EC_U32; /* b32 u32 f16x2 bf16x2 */
    }
}

EcCk ec_reg_ck(const EcEm *e, int reg) { return ec_ck(e->k->regs[reg].type); }

/* ----------------------------------------------------------- literals */

static void lit_float(EcEm *e, EcEx *x, EcCk c, uint64_t bits)
{
    char num[64];
    bool finite;
    double v;
    if (c == EC_F32) {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, sizeof f);
        finite = (u & 0x7F800000u) != 0x7F800000u;
        v = f;
        snprintf(num, sizeof num, "%.9g", v);
        if (finite && (float)strtod(num, NULL) == f && !(f == 0 && (u >> 31))) {
            bool dot = strpbrk(num, ".e") != NULL;
            ec_exf(e, x, v < 0 ? "(%s%sf)" : "%s%sf", num, dot ? "" : ".0");
            return;
        }
        ec_exf(e, x, "__uint_as_float(0x%08Xu)", u);
        return;
    }
    memcpy(&v, &bits, sizeof v);
    finite = ((bits >> 52) & 0x7FF) != 0x7FF;
    snprintf(num, sizeof num, "%.17g", v);
    if (finite && strtod(num, NULL) == v && !(v == 0 && (bits >> 63))) {
        bool dot = strpbrk(num, ".e") != NULL;
        ec_exf(e, x, v < 0 ? "(%s%s)" : "%s%s", num, dot ? "" : ".0");
        return;
    }
    ec_exf(e, x, "__longlong_as_double(0x%016llXll)", (unsigned long long)bits);
}

static void literal(EcEm *e, EcEx *x, EcCk c, uint64_t bits)
{
    int w = cks[c].bits;
    uint64_t m = w >= 64 ? ~0ull : (1ull << w) - 1;
    uint64_t u = bits & m;
    int64_t s = w < 64 && (u >> (w - 1)) ? (int64_t)(u | ~m) : (int64_t)u;
    switch (c) {
    case EC_BOOL: ec_exf(e, x, "%s", bits & 1 ? "true" : "false"); break;
    case EC_U8:
    case EC_U16: ec_exf(e, x, "(%s)0x%llX", cks[c].c, (unsigned long long)u); break;
    case EC_S8:
    case EC_S16: ec_exf(e, x, "(%s)(%lld)", cks[c].c, (long long)s); break;
    case EC_U32: ec_exf(e, x, u <= 0xFFFF ? "%lluu" : "0x%llXu", (unsigned long long)u); break;
    case EC_S32:
        if (s == INT32_MIN)
            ec_exf(e, x, "(-2147483647 - 1)");
        else
            ec_exf(e, x, s < 0 ? "(%lld)" : "%lld", (long long)s);
        break;
    case EC_U64: ec_exf(e, x, "0x%llXull", (unsigned long long)u); break;
    case EC_S64:
        if (s == INT64_MIN)
            ec_exf(e, x, "(-9223372036854775807ll - 1)");
        else
            ec_exf(e, x, s < 0 ? "(%lldll)" : "%lldll", (long long)s);
        break;
    case EC_F32:
    case EC_F64: lit_float(e, x, c, bits); break;
    }
}

/* -------------------------------------------------- conversions, operands */

bool ec_conv(EcEm *e, const TirOp *o, EcCk to, EcCk from, const char *x, EcEx *out)
{
    if (to == from) {
        ec_exf(e, out, "%s", x);
        return true;
    }
    if (to == EC_BOOL || from == EC_BOOL) {
        ec_fail(e, o, "a %s value used as %s", cks[from].c, cks[to].c);
        return false;
    }
    if (ec_ck_float(to) || ec_ck_float(from)) {
        if (cks[to].bits != cks[from].bits) {
            ec_fail(e, o, "a %s value used as %s (different widths)", cks[from].c, cks[to].c);
            return false;
        }
        const char *f = NULL;
        switch (to) {
        case EC_F32: f = from == EC_S32 ? "__int_as_float(%s)" : "__uint_as_float(%s)"; break;
        case EC_F64:
            f = from == EC_S64 ? "__longlong_as_double(%s)"
                               : "__longlong_as_double((long long)(%s))";
            break;
        case EC_U32: f = "__float_as_uint(%s)"; break;
        case EC_S32: f = "__float_as_int(%s)"; break;
        case EC_U64: f = "(unsigned long long)__double_as_longlong(%s)"; break;
        default: f = "__double_as_longlong(%s)"; break;
        }
        ec_exf(e, out, f, x);
        return true;
    }
    ec_exf(e, out, "(%s)(%s)", cks[to].c, x);
    return true;
}

bool ec_arg_ck(EcEm *e, const TirOp *o, int i, EcCk want, EcEx *out)
{
    if (i >= o->na || o->a[i].kind == TIR_A_NONE) {
        ec_fail(e, o, "operand %d is missing", i);
        return false;
    }
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_IMM) {
        literal(e, out, want, a->imm);
        return true;
    }
    if (a->reg < 0 || a->reg >= e->k->nregs) {
        ec_fail(e, o, "operand %d: no register %d", i, a->reg);
        return false;
    }
    return ec_conv(e, o, want, ec_reg_ck(e, a->reg), e->name[a->reg], out);
}

bool ec_arg(EcEm *e, const TirOp *o, int i, TirType want, EcEx *out)
{
    return ec_arg_ck(e, o, i, ec_ck(want), out);
}

void ec_assign(EcEm *e, const TirOp *o, int reg, EcCk from, const char *x)
{
    if (reg < 0 || reg >= e->k->nregs) {
        ec_fail(e, o, "no destination register %d", reg);
        return;
    }
    EcEx v;
    if (ec_conv(e, o, ec_reg_ck(e, reg), from, x, &v))
        ec_ln(e, "%s = %s;", e->name[reg], v.s);
}

/* ---------------------------------------------------------- inline asm */

const char *const ec_asm_tmpl[] = {
#define X(id, t) t,
    EC_ASM(X)
#undef X
};

static const char *constraint(EcCk c)
{
    switch (c) {
    case EC_U16:
    case EC_S16: return "h";
    case EC_U64:
    case EC_S64: return "l";
    case EC_F32: return "f";
    case EC_F64: return "d";
    default: return "r";
    }
}

void ec_asm_init(EcAsm *a) { memset(a, 0, sizeof *a); }

int ec_asm_out(EcEm *e, EcAsm *a, const TirOp *o, int reg, EcCk want)
{
    if (reg < 0 || reg >= e->k->nregs) {
        ec_fail(e, o, "no destination register %d", reg);
        return a->nout++;
    }
    if (want == EC_BOOL || want == EC_U8 || want == EC_S8)
        want = want == EC_S8 ? EC_S32 : EC_U32;
    const char *dst = e->name[reg];
    char tmp[32];
    if (ec_reg_ck(e, reg) != want) {
        snprintf(tmp, sizeof tmp, "lpvm_t%d", e->ntmp++);
        ec_put(&a->pre, "%s %s;\n", cks[want].c, tmp);
        EcEx v;
        if (ec_conv(e, o, ec_reg_ck(e, reg), want, tmp, &v))
            ec_put(&a->post, "%s = %s;\n", dst, v.s);
        dst = tmp;
    }
    ec_put(&a->outs, "%s\"=%s\"(%s)", a->nout ? ", " : "", constraint(want), dst);
    return a->nout++;
}

int ec_asm_out_raw(EcAsm *a, const char *lvalue, EcCk ck)
{
    ec_put(&a->outs, "%s\"=%s\"(%s)", a->nout ? ", " : "", constraint(ck), lvalue);
    return a->nout++;
}

int ec_asm_in(EcEm *e, EcAsm *a, const TirOp *o, const char *x, EcCk ck)
{
    (void)e;
    (void)o;
    if (ck == EC_BOOL || ck == EC_U8 || ck == EC_S8)
        ec_put(&a->ins, "%s\"r\"((%s)(%s))", a->nin ? ", " : "", ck == EC_S8 ? "int" : "unsigned",
               x);
    else
        ec_put(&a->ins, "%s\"%s\"(%s)", a->nin ? ", " : "", constraint(ck), x);
    return a->nin++;
}

int ec_asm_arg(EcEm *e, EcAsm *a, const TirOp *o, int i, TirType want)
{
    EcEx x;
    if (!ec_arg(e, o, i, want, &x))
        return a->nin++;
    return ec_asm_in(e, a, o, x.s, ec_ck(want));
}

static void put_lines(EcEm *e, const EcBuf *b)
{
    const char *s = buf_str(b);
    while (*s) {
        const char *nl = strchr(s, '\n');
        int n = nl ? (int)(nl - s) : (int)strlen(s);
        ec_ln(e, "%.*s", n, s);
        s += n + (nl != NULL);
    }
}

void ec_asm_emit(EcEm *e, EcAsm *a, const char *tmpl, bool mem)
{
    EcBuf t = {0};
    for (const char *s = tmpl; *s; s++) {
        if (*s == '$' && (s[1] == 'o' || s[1] == 'i') && s[2] >= '0' && s[2] <= '9') {
            char *end;
            long n = strtol(s + 2, &end, 10);
            ec_put(&t, "%%%ld", s[1] == 'o' ? n : a->nout + n);
            s = end - 1;
        } else if (*s == '$' && s[1] >= '0' && s[1] <= '9')
            ec_put(&t, "%%"); /* cg_asm_for's $N: the digits follow */
        else if (*s == '"' || *s == '\\')
            ec_put(&t, "\\%c", *s);
        else
            ec_put(&t, "%c", *s);
    }
    bool block = a->pre.n > 0;
    if (block) {
        ec_ln(e, "{");
        e->depth++;
        put_lines(e, &a->pre);
    }
    if (a->nin || mem)
        ec_ln(e, "asm%s(\"%s\" : %s : %s%s);", mem || a->vol ? " volatile" : "", buf_str(&t),
              buf_str(&a->outs), buf_str(&a->ins), mem ? " : \"memory\"" : "");
    else
        ec_ln(e, "asm%s(\"%s\" : %s);", a->vol ? " volatile" : "", buf_str(&t),
              buf_str(&a->outs));
    if (block) {
        put_lines(e, &a->post);
        e->depth--;
        ec_ln(e, "}");
    }
    free(t.s);
    free(a->outs.s);
    free(a->ins.s);
    free(a->pre.s);
    free(a->post.s);
    ec_asm_init(a);
}

static EcCk letter_ck(char cons, TirType t)
{
    switch (cons) {
    case 'h': return EC_U16;
    case 'l': return tir_type_is_signed(t) ? EC_S64 : EC_U64;
    case 'f': return EC_F32;
    case 'd': return EC_F64;
    default: return tir_type_is_signed(t) ? EC_S32 : EC_U32;
    }
}

void ec_shared_asm(EcEm *e, const TirOp *o)
{
    CgAsm ca;
    const char *why = "";
    if (cg_asm_for(e->k, o, &ca, &why)) {
        ec_fail(e, o, "%s", why);
        return;
    }
    EcAsm a;
    ec_asm_init(&a);
    a.vol = ca.convergent;
    for (int i = 0; i < ca.n; i++) {
        const CgAsmOperand *p = &ca.opd[i];
        EcCk ck = letter_ck(p->cons, p->type);
        EcEx x, v;
        char tmp[24];
        switch (p->kind) {
        case CG_ASM_OUT:
            ec_asm_out(e, &a, o, o->d[p->idx], ck);
            break;
        case CG_ASM_DUMMY:
            snprintf(tmp, sizeof tmp, "lpvm_t%d", e->ntmp++);
            ec_put(&a.pre, "%s %s;\n", cks[ck].c, tmp);
            ec_asm_out_raw(&a, tmp, ck);
            break;
        case CG_ASM_IN:
            if (!ec_arg_ck(e, o, p->idx, ck, &x))
                x.s[0] = 0;
            ec_asm_in(e, &a, o, x.s, ck);
            break;
        case CG_ASM_ADDR:
            if (!ec_arg_ck(e, o, p->idx, p->cons == 'l' ? EC_U64 : EC_U32, &x))
                x.s[0] = 0;
            if (p->cons == 'l')
                ec_asm_in(e, &a, o, x.s, EC_U64);
            else {
                ec_exf(e, &v, "lpvm_sbase + %s", x.s);
                ec_asm_in(e, &a, o, v.s, EC_U32);
            }
            break;
        }
    }
    ec_asm_emit(e, &a, ca.text, ca.memory);
}

/* --------------------------------------------------------------- names */

/* C++ keywords and the identifiers the generated code itself uses. */
static const char *const reserved[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "compl", "concept",
    "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq", "threadIdx", "blockIdx",
    "blockDim", "gridDim", "warpSize", "printf", "fminf", "fmaxf", "fmin", "fmax", "fabsf",
    "fabs", "main", "NULL",
};

static bool is_reserved(const char *s)
{
    if (!strncmp(s, "lpvm_", 5) || (s[0] == '_' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z'))))
        return true;
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(s, reserved[i]))
            return true;
    return false;
}

static bool is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

typedef struct {
    char **key;
    int *next; /* next suffix to try for this base */
    size_t cap, n;
} Names;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t names_slot(const Names *t, const char *s)
{
    size_t i = hash_str(s) & (t->cap - 1);
    while (t->key[i] && strcmp(t->key[i], s))
        i = (i + 1) & (t->cap - 1);
    return i;
}

static void names_add(Names *t, char *s)
{
    if (2 * (t->n + 1) > t->cap) {
        Names u = {0};
        u.cap = t->cap ? 2 * t->cap : 256;
        u.key = calloc(u.cap, sizeof *u.key);
        u.next = calloc(u.cap, sizeof *u.next);
        if (!u.key || !u.next)
            abort();
        for (size_t i = 0; i < t->cap; i++)
            if (t->key[i]) {
                size_t j = names_slot(&u, t->key[i]);
                u.key[j] = t->key[i];
                u.next[j] = t->next[i];
            }
        u.n = t->n;
        free(t->key);
        free(t->next);
        *t = u;
    }
    size_t i = names_slot(t, s);
    t->key[i] = s;
    t->next[i] = 1;
    t->n++;
}

static bool names_has(const Names *t, const char *s)
{
    return t->cap && t->key[names_slot(t, s)] != NULL;
}

/* A fresh C identifier for `want` (NULL: r<id>). */
static char *unique_name(Names *t, const char *want, int id)
{
    char base[48];
    size_t n = 0;
    if (want)
        for (const char *s = want; *s && n < 40; s++)
            base[n++] = is_ident_char(*s) ? *s : '_';
    if (!n)
        n = (size_t)snprintf(base, sizeof base, "r%d", id);
    base[n] = 0;
    if ((base[0] >= '0' && base[0] <= '9') || is_reserved(base)) {
        memmove(base + 2, base, n + 1);
        base[0] = 'v';
        base[1] = '_';
    }
    char cand[64];
    snprintf(cand, sizeof cand, "%s", base);
    if (names_has(t, cand)) {
        int *next = &t->next[names_slot(t, base)];
        do
            snprintf(cand, sizeof cand, "%s_%d", base, (*next)++);
        while (names_has(t, cand));
    }
    char *s = strdup(cand);
    if (!s)
        abort();
    names_add(t, s);
    return s;
}

static bool valid_ident(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9') || is_reserved(s))
        return false;
    for (; *s; s++)
        if (!is_ident_char(*s))
            return false;
    return true;
}

/* -------------------------------------------------------- control flow */

static void block(EcEm *e, const TirBlock *b);

/* Comment text on one line, never ending in a backslash (a line splice). */
static void comment(EcEm *e, const char *prefix, const char *text)
{
    EcBuf b = {0};
    for (const char *s = text ? text : ""; *s; s++)
        ec_put(&b, "%c", *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
    while (b.n && b.s[b.n - 1] == ' ')
        b.s[--b.n] = 0;
    bool splice = b.n && b.s[b.n - 1] == '\\';
    ec_ln(e, "// %s%s%s%s", prefix, *buf_str(&b) ? ": " : "", buf_str(&b), splice ? "." : "");
    free(b.s);
}

static void control(EcEm *e, const TirOp *o)
{
    switch (o->op) {
    case TIR_OP_IF: {
        EcEx c;
        if (!ec_arg(e, o, 0, TIR_PRED, &c))
            return;
        ec_ln(e, "if (%s) {", c.s);
        e->depth++;
        block(e, &o->body);
        e->depth--;
        if (o->orelse.first) {
            ec_ln(e, "} else {");
            e->depth++;
            block(e, &o->orelse);
            e->depth--;
        }
        ec_ln(e, "}");
        return;
    }
    case TIR_OP_LOOP: {
        int saved = e->loop, id = e->nloops++;
        bool saved_latch = e->latch, saved_in = e->in_latch;
        e->loop = id;
        e->latch = o->orelse.first != NULL;
        e->in_latch = false;
        ec_ln(e, "for (;;) {");
        e->depth++;
        block(e, &o->body);
        if (e->latch) {
            e->depth--;
            ec_ln(e, "lpvm_latch_%d:;", id);
            e->depth++;
            e->in_latch = true;
            block(e, &o->orelse);
        }
        e->depth--;
        ec_ln(e, "}");
        e->loop = saved;
        e->latch = saved_latch;
        e->in_latch = saved_in;
        return;
    }
    case TIR_OP_BREAK:
    case TIR_OP_CONTINUE:
        if (e->loop < 0) {
            ec_fail(e, o, "outside a loop");
            return;
        }
        if (o->op == TIR_OP_BREAK)
            ec_ln(e, "break;");
        else if (e->latch && !e->in_latch)
            ec_ln(e, "goto lpvm_latch_%d;", e->loop);
        else
            ec_ln(e, "continue;");
        return;
    case TIR_OP_RET: ec_ln(e, "return;"); return;
    default: return;
    }
}

static void op(EcEm *e, const TirOp *o)
{
    if (o->op == TIR_OP_NOTE) {
        char pre[32];
        snprintf(pre, sizeof pre, "line %d", o->line);
        comment(e, pre, o->str);
        e->line = o->line;
        return;
    }
    if (o->line && o->line != e->line) {
        ec_ln(e, "// line %d", o->line);
        e->line = o->line;
    }
    bool ctl = o->op == TIR_OP_IF || o->op == TIR_OP_LOOP || o->op == TIR_OP_BREAK ||
               o->op == TIR_OP_CONTINUE || o->op == TIR_OP_RET;
    if (o->guard >= 0) {
        if (o->guard >= e->k->nregs || e->k->regs[o->guard].type != TIR_PRED) {
            ec_fail(e, o, "guard %d is not a pred register", o->guard);
            return;
        }
        ec_ln(e, "if (%s%s) {", o->guard_neg ? "!" : "", e->name[o->guard]);
        e->depth++;
    }
    if (ctl)
        control(e, o);
    else if (o->op == TIR_OP_LD || o->op == TIR_OP_ST || o->op == TIR_OP_ATOM ||
             o->op == TIR_OP_LDMATRIX || o->op == TIR_OP_CP_ASYNC || o->op == TIR_OP_CP_COMMIT ||
             o->op == TIR_OP_CP_WAIT || o->op == TIR_OP_BAR || o->op == TIR_OP_FENCE ||
             o->op == TIR_OP_PRINTF)
        ec_mem_op(e, o);
    else
        ec_value_op(e, o);
    if (o->guard >= 0) {
        e->depth--;
        ec_ln(e, "}");
    }
}

static void block(EcEm *e, const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next)
        op(e, o);
}

/* ------------------------------------------------------------- kernel */

static void decls(EcEm *e, const bool *is_param)
{
    static const EcCk order[] = {EC_BOOL, EC_U16, EC_S16, EC_U32, EC_S32,
                                 EC_U64,  EC_S64, EC_F32, EC_F64, EC_U8, EC_S8};
    const TirKernel *k = e->k;
    for (size_t c = 0; c < sizeof order / sizeof *order; c++) {
        EcBuf b = {0};
        int n = 0;
        for (int r = 0; r < k->nregs; r++) {
            if (is_param[r] || ec_reg_ck(e, r) != order[c])
                continue;
            if (!n)
                ec_put(&b, "%s ", cks[order[c]].c);
            else
                ec_put(&b, n % 8 ? ", " : ",\n    ");
            ec_put(&b, "%s = 0", e->name[r]);
            n++;
        }
        if (n) {
            ec_put(&b, ";");
            put_lines(e, &b);
        }
        free(b.s);
    }
}

static void header(EcEm *e)
{
    const TirKernel *k = e->k;
    EcBuf *b = &e->out;
    ec_put(b, "// CUDA C for lpvm kernel %s", k->name);
    if (k->file) {
        ec_put(b, " (");
        for (const char *s = k->file; *s; s++)
            ec_put(b, "%c", *s == '\n' || *s == '\r' || *s == '\\' ? '_' : *s);
        ec_put(b, ")");
    }
    ec_put(b, ", generated by lpvm from its thread IR: %d threads, %lld bytes of shared memory.\n",
           32 * k->warps, (long long)k->shared_bytes);
    ec_put(b, "// f16/bf16 values are their 16-bit codes; half arithmetic, conversions, shifts,\n"
              "// memory and warp operations are inline PTX; f32/f64 are round-to-nearest.\n");
    /* registers set but never read are normal in generated code */
    ec_put(b, "#pragma nv_diag_suppress 177, 550\n");
    ec_put(b, "static __device__ __forceinline__ float lpvm_h2f(unsigned short h)\n{\n"
              "    float f;\n    asm(\"cvt.f32.f16 %%0, %%1;\" : \"=f\"(f) : \"h\"(h));\n"
              "    return f;\n}\n");
    ec_put(b, "static __device__ __forceinline__ float lpvm_bf2f(unsigned short h)\n{\n"
              "    return __uint_as_float((unsigned)h << 16);\n}\n\n");
}

char *cg_emit_cuda(const TirKernel *k, char **err)
{
    if (err)
        *err = NULL;
    EcEm e = {.k = k, .loop = -1};
    Names names = {0};
    char *kname = NULL;
    bool *is_param = calloc((size_t)k->nregs + 1, sizeof *is_param);
    e.name = calloc((size_t)k->nregs + 1, sizeof *e.name);
    if (!is_param || !e.name)
        abort();
    /* The runtime names kernels lpvm_<name>: the lpvm_ prefix, reserved for
     * generated names, is allowed for the kernel itself. */
    if (!valid_ident(strncmp(k->name, "lpvm_", 5) ? k->name : k->name + 5))
        ec_fail(&e, NULL, "the kernel name is not a C identifier");
    else
        names_add(&names, kname = strdup(k->name));
    if (k->warps < 1 || k->warps > 32)
        ec_fail(&e, NULL, "%d warps (1..32)", k->warps);
    for (int r = 0; r < k->nregs; r++)
        e.name[r] = unique_name(&names, k->regs[r].name, r);

    header(&e);
    EcBuf sig = {0};
    for (int i = 0; i < k->nparams && !e.err; i++) {
        const TirParam *p = &k->params[i];
        if (p->reg < 0 || p->reg >= k->nregs || is_param[p->reg]) {
            ec_fail(&e, NULL, "parameter %s: bad register %d", p->name, p->reg);
            break;
        }
        TirType want = p->kind == TIR_P_PTR ? TIR_U64 : p->type;
        if (ec_ck(want) != ec_reg_ck(&e, p->reg) || want == TIR_PRED) {
            ec_fail(&e, NULL, "parameter %s: register type %s, parameter type %s", p->name,
                    tir_type_name(k->regs[p->reg].type), tir_type_name(want));
            break;
        }
        is_param[p->reg] = true;
        ec_put(&sig, "%s%s %s", i ? ", " : "", cks[ec_ck(want)].c, e.name[p->reg]);
        if (p->kind == TIR_P_PTR)
            ec_put(&sig, " /* %s *%s */", vm_dtype_name(p->dtype), p->hidden ? ", hidden" : "");
        else if (p->hidden)
            ec_put(&sig, " /* hidden */");
    }
    ec_put(&e.out, "extern \"C\" __global__ void __launch_bounds__(%d) %s(%s)\n{\n",
           32 * k->warps, k->name, buf_str(&sig));
    free(sig.s);
    e.depth = 1;
    ec_ln(&e, "extern __shared__ __align__(16) unsigned char lpvm_smem[];");
    ec_ln(&e, "const unsigned lpvm_sbase = (unsigned)__cvta_generic_to_shared(lpvm_smem);");
    ec_ln(&e, "(void)lpvm_sbase;");
    decls(&e, is_param);
    block(&e, &k->body);
    e.depth = 0;
    ec_put(&e.out, "}\n");

    for (int r = 0; r < k->nregs; r++)
        free(e.name[r]);
    free(e.name);
    free(is_param);
    free(names.key);
    free(names.next);
    free(kname);
    if (e.err) {
        free(e.out.s);
        if (err)
            *err = e.err;
        else
            free(e.err);
        return NULL;
    }
    return e.out.s;
}

/* ------------------------------------------------------- NVRTC's log */

/* The text of 1-based line n of src, or NULL. */
static const char *src_line(const char *src, long n, int *len)
{
    for (long i = 1; i < n && src; i++) {
        src = strchr(src, '\n');
        if (src)
            src++;
    }
    if (!src || !*src || n < 1)
        return NULL;
    const char *nl = strchr(src, '\n');
    *len = nl ? (int)(nl - src) : (int)strlen(src);
    return src;
}

char *cg_cuda_annotate_log(const char *cuda_src, const char *log)
{
    EcBuf b = {0};
    const char *s = log ? log : "";
    while (*s) {
        const char *nl = strchr(s, '\n');
        int n = nl ? (int)(nl - s) : (int)strlen(s);
        ec_put(&b, "%.*s\n", n, s);
        /* "<name>(<line>): " at the start of a line: NVRTC's location. */
        const char *p = s, *end = s + n;
        while (p < end && *p != '(' && *p != ' ')
            p++;
        if (p < end && *p == '(' && p > s) {
            char *q;
            long ln = strtol(p + 1, &q, 10);
            int len = 0;
            const char *text;
            if (q > p + 1 && q + 2 <= end && q[0] == ')' && q[1] == ':' &&
                (text = src_line(cuda_src, ln, &len))) {
                while (len && (*text == ' ' || *text == '\t'))
                    text++, len--;
                ec_put(&b, "  generated line %ld: %.*s\n", ln, len, text);
            }
        }
        s += n + (nl != NULL);
    }
    if (!b.s) {
        b.s = calloc(1, 1);
        if (!b.s)
            abort();
    }
    return b.s;
}

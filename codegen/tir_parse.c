/* codegen/tir_parse.c - the TIR text form back to a TirKernel (STYLE 6):
 * tir_parse(tir_print(k)) prints the same text.
 *
 * Line-based, one op per line, as tir.c prints: the header `kernel`
 * line, an optional `.needs` line, `.reg TYPE %a, %b, ...;` declarations
 * (possibly wrapped), then `{`, the ops, `}`. Registers keep their ids
 * (%name.ID or %rID); an op's source line is the one of the last
 * `// line N:` note before it (as the lowering sets it). Not carried by the
 * text: the kernel's source file name. Errors are values: false and a
 * message with the text's line number. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"

typedef struct {
    VmArena *a;
    TirKernel *k;
    int lineno, vmline;
    char *err;
    size_t n;
    bool failed;
} P;

static bool fail(P *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(P *p, const char *fmt, ...)
{
    if (p->failed)
        return false;
    p->failed = true;
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (p->n)
        snprintf(p->err, p->n, "tir line %d: %s", p->lineno, m);
    return false;
}

static const char *skip(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool type_of(const char *s, size_t len, TirType *t)
{
    for (int i = 0; i < TIR_NTYPES; i++) {
        const char *nm = tir_type_name((TirType)i);
        if (strlen(nm) == len && !strncmp(nm, s, len)) {
            *t = (TirType)i;
            return true;
        }
    }
    return false;
}

/* dot-separated pieces of a mnemonic */
enum { MAXP = 12 };
typedef struct {
    char s[MAXP][32];
    int n;
} Pieces;

static void split_dots(const char *m, size_t len, Pieces *pc)
{
    pc->n = 0;
    size_t i = 0;
    while (i <= len && pc->n < MAXP) {
        size_t j = i;
        while (j < len && m[j] != '.')
            j++;
        size_t l = j - i < 31 ? j - i : 31;
        memcpy(pc->s[pc->n], m + i, l);
        pc->s[pc->n][l] = 0;
        pc->n++;
        i = j + 1;
    }
}

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static const char *const scopes[] = {"cta", "gpu", "sys"};
static const char *const sems[] = {"", "acquire", "release", "acq_rel"};
static const char *const shfls[] = {"bfly", "idx", "up", "down"};

static bool reg_ref(P *p, const char *s, size_t len, int *r)
{
    if (len < 2 || s[0] != '%')
        return fail(p, "expected a register, got '%.*s'", (int)len, s);
    size_t i = len;
    while (i > 1 && isdigit((unsigned char)s[i - 1]))
        i--;
    if (i == len || (s[i - 1] != '.' && !(i == 2 && s[1] == 'r')))
        return fail(p, "malformed register '%.*s'", (int)len, s);
    *r = atoi(s + i);
    if (*r < 0 || *r >= p->k->nregs)
        return fail(p, "register '%.*s' is not declared", (int)len, s);
    return true;
}

static bool arg(P *p, const char *s, size_t len, TirArg *a)
{
    while (len && s[len - 1] == ' ')
        len--;
    if (len && s[0] == '%') {
        int r;
        if (!reg_ref(p, s, len, &r))
            return false;
        *a = tir_r(r);
        return true;
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return fail(p, "bad operand '%.*s'", (int)len, s);
    memcpy(buf, s, len);
    buf[len] = 0;
    if (buf[0] == '0' && (buf[1] == 'f' || buf[1] == 'd' || buf[1] == 'h' || buf[1] == 'x'))
        *a = tir_imm(strtoull(buf + 2, NULL, 16));
    else if (buf[0] == '-')
        *a = tir_imm((uint64_t)strtoll(buf, NULL, 10));
    else if (isdigit((unsigned char)buf[0]))
        *a = tir_imm(strtoull(buf, NULL, 10));
    else
        return fail(p, "bad operand '%s'", buf);
    return true;
}

/* comma-separated operands from s, into o->a from index `from`; an
 * operand `[x + off]` sets a0 and off */
static bool operands(P *p, TirOp *o, const char *s, int from)
{
    int i = from;
    s = skip(s);
    while (*s) {
        if (i >= TIR_MAX_ARG)
            return fail(p, "too many operands");
        if (*s == '[') {
            const char *e = strchr(s, ']');
            if (!e)
                return fail(p, "missing ]");
            const char *plus = memchr(s, '+', (size_t)(e - s));
            const char *end = plus ? plus : e;
            if (!arg(p, s + 1, (size_t)(end - s - 1), &o->a[i]))
                return false;
            if (plus)
                o->off = strtoll(skip(plus + 1), NULL, 10);
            s = e + 1;
        } else {
            const char *e = s;
            while (*e && *e != ',')
                e++;
            const char *colon = memchr(s, ':', (size_t)(e - s));
            if (!arg(p, s, (size_t)((colon ? colon : e) - s), &o->a[i]))
                return false;
            s = e;
        }
        i++;
        s = skip(s);
        if (*s == ',')
            s = skip(s + 1);
    }
    o->na = i;
    return true;
}

static bool want_type(P *p, const char *s, TirType *t)
{
    if (!type_of(s, strlen(s), t))
        return fail(p, "unknown type '%s'", s);
    return true;
}

/* the op named by the mnemonic's longest table prefix */
static int opcode(const char *m, size_t len)
{
    int best = -1;
    size_t bl = 0;
    for (int i = 0; i < TIR_NOPS; i++) {
        const char *nm = tir_op_name((TirOpcode)i);
        size_t l = strlen(nm);
        if (l <= len && !strncmp(m, nm, l) && (l == len || m[l] == '.') && l > bl) {
            best = i;
            bl = l;
        }
    }
    return best;
}

static bool parse_op(P *p, TirOp *o, const char *m, size_t ml, const char *rest)
{
    Pieces pc;
    split_dots(m, ml, &pc);
    int nn = 1; /* pieces of the op's own name */
    for (const char *c = tir_op_name(o->op); *c; c++)
        nn += *c == '.';
    const char *last = pc.s[pc.n - 1];
    switch (o->op) {
    case TIR_OP_SREG: {
        o->type = o->type2 = TIR_U32;
        char tok[32];
        snprintf(tok, sizeof tok, "%s", skip(rest));
        o->mod = lookup(tok, tir_sreg_names, TIR_NSREGS);
        return o->mod >= 0 || fail(p, "unknown special register '%s'", tok);
    }
    case TIR_OP_SETP:
        o->mod = lookup(pc.s[1], tir_cmp_names, TIR_NCMPS);
        if (o->mod < 0)
            return fail(p, "unknown compare '%s'", pc.s[1]);
        if (!want_type(p, last, &o->type))
            return false;
        o->type2 = o->type;
        return operands(p, o, rest, 0);
    case TIR_OP_CVT: {
        int i = 1;
        o->mod = TIR_RND_NONE;
        if (pc.n > 3 && lookup(pc.s[i], tir_rnd_names, TIR_NRNDS) > 0)
            o->mod = lookup(pc.s[i++], tir_rnd_names, TIR_NRNDS);
        if (!strcmp(pc.s[i], "sat")) {
            o->imm = 1;
            i++;
        }
        if (!want_type(p, pc.s[i], &o->type) || !want_type(p, pc.s[i + 1], &o->type2))
            return false;
        return operands(p, o, rest, 0);
    }
    case TIR_OP_BITCAST:
    case TIR_OP_PACK:
    case TIR_OP_UNPACK:
    case TIR_OP_MULWIDE:
        if (!want_type(p, pc.s[pc.n - 2], &o->type) || !want_type(p, last, &o->type2))
            return false;
        return operands(p, o, rest, 0);
    case TIR_OP_SHFL:
        o->mod = lookup(pc.s[2], shfls, 4);
        o->type = o->type2 = TIR_B32;
        return (o->mod >= 0 || fail(p, "unknown shuffle '%s'", pc.s[2])) &&
               operands(p, o, rest, 0);
    case TIR_OP_LOP3:
        o->type = o->type2 = TIR_B32;
        if (!operands(p, o, rest, 0) || o->na != 4)
            return fail(p, "lop3 takes three operands and a LUT");
        o->imm = (int64_t)o->a[3].imm;
        o->na = 3;
        return true;
    case TIR_OP_LD:
    case TIR_OP_ST:
    case TIR_OP_ATOM:
    case TIR_OP_FENCE: {
        int i = 1;
        int sem = lookup(pc.s[i], sems, 4);
        if (sem > 0) {
            o->sem = (TirSem)sem;
            i++;
        }
        int sc = lookup(pc.s[i], scopes, 3);
        if (o->op == TIR_OP_FENCE) {
            o->scope = sc >= 0 ? (TirScope)sc : TIR_SCOPE_GPU;
            return true;
        }
        if (sc >= 0 && (o->op == TIR_OP_ATOM || sem > 0)) {
            o->scope = (TirScope)sc;
            i++;
        }
        if (!strcmp(pc.s[i], "shared"))
            o->space = TIR_SPACE_SHARED;
        else if (strcmp(pc.s[i], "global"))
            return fail(p, "unknown space '%s'", pc.s[i]);
        i++;
        if (o->op == TIR_OP_ATOM) {
            o->mod = lookup(pc.s[i++], tir_atom_names, TIR_NATOMS);
            if (o->mod < 0 || !want_type(p, pc.s[i], &o->type))
                return fail(p, "bad atom");
            o->type2 = o->type;
        } else {
            if (!want_type(p, pc.s[i], &o->type2) || !want_type(p, pc.s[i + 1], &o->type))
                return false;
            o->width = atoi(pc.s[i + 2] + 1);
        }
        return operands(p, o, rest, 0);
    }
    case TIR_OP_LDMATRIX:
        o->imm = atoi(pc.s[1] + 1);
        o->flag = !strcmp(pc.s[2], "trans");
        o->type = o->type2 = TIR_B32;
        return operands(p, o, rest, 0);
    case TIR_OP_CP_ASYNC:
        o->width = atoi(pc.s[pc.n - 1] + 1);
        o->flag = pc.n > 3 && !strcmp(pc.s[2], "cg");
        o->type = o->type2 = TIR_B32;
        return operands(p, o, rest, 0);
    case TIR_OP_CP_WAIT:
        o->imm = strtoll(skip(rest), NULL, 10);
        return true;
    case TIR_OP_MMA: {
        if (pc.n < 5)
            return fail(p, "mma needs a shape and two types");
        if (!want_type(p, pc.s[pc.n - 2], &o->type) || !want_type(p, last, &o->type2))
            return false;
        const char *sh = m + strlen("mma.sync.");
        size_t shl = ml - strlen("mma.sync.") - strlen(pc.s[pc.n - 2]) - strlen(last) - 2;
        o->str = vm_strndup(p->a, sh, shl);
        return operands(p, o, rest, 0);
    }
    case TIR_OP_BAR:
    case TIR_OP_CP_COMMIT:
    case TIR_OP_BREAK:
    case TIR_OP_CONTINUE:
    case TIR_OP_RET:
        return true;
    default:
        if (pc.n > nn && !want_type(p, last, &o->type))
            return false;
        o->type2 = o->type;
        return operands(p, o, rest, 0);
    }
}

static bool parse_printf(P *p, TirOp *o, const char *s)
{
    s = skip(s);
    if (*s != '"')
        return fail(p, "printf needs a format string");
    char *buf = vm_alloc(p->a, strlen(s) + 1);
    size_t n = 0;
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            buf[n++] = *s == 'n' ? '\n' : *s;
        } else
            buf[n++] = *s;
    }
    if (*s != '"')
        return fail(p, "unterminated format string");
    o->str = buf;
    s = skip(s + 1);
    if (*s == ',')
        s++;
    return operands(p, o, s, 0);
}

static bool reg_decls(P *p, const char *decls)
{
    const char *d = decls;
    while ((d = strstr(d, ".reg "))) {
        d += 5;
        const char *te = d;
        while (*te && *te != ' ')
            te++;
        TirType t;
        if (!type_of(d, (size_t)(te - d), &t))
            return fail(p, "bad .reg type");
        const char *end = strchr(te, ';');
        if (!end)
            return fail(p, "missing ; after .reg");
        for (const char *r = te; (r = strchr(r, '%')) && r < end; r++) {
            const char *e = r;
            while (e < end && *e != ',' && *e != '\n' && *e != ' ')
                e++;
            int id;
            if (!reg_ref(p, r, (size_t)(e - r), &id))
                return false;
            p->k->regs[id].type = t;
            const char *dot = e;
            while (dot > r && *dot != '.')
                dot--;
            if (dot > r)
                p->k->regs[id].name = vm_strndup(p->a, r + 1, (size_t)(dot - r - 1));
            r = e - 1;
        }
        d = end;
    }
    return true;
}

/* the header: kernel NAME(%r: ptr.global DT [hidden], %r: TYPE, ..) threads T shared S */
static bool header(P *p, const char *s, const char *decls)
{
    if (strncmp(s, "kernel ", 7))
        return fail(p, "expected 'kernel'");
    const char *lp = strchr(s, '(');
    const char *rp = strrchr(s, ')');
    if (!lp || !rp || rp < lp)
        return fail(p, "malformed kernel header");
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(lp - s - 7), s + 7);
    int threads = 0;
    long long shared = 0;
    if (sscanf(rp + 1, " threads %d shared %lld", &threads, &shared) != 2 || threads % 32)
        return fail(p, "malformed threads/shared");
    p->k = tir_kernel_new(p->a, name, threads / 32);
    p->k->shared_bytes = shared;
    /* registers first: .reg lines, each reg %..ID */
    int maxid = -1;
    for (const char *d = decls; (d = strchr(d, '%')); d++) {
        const char *e = d;
        while (*e && *e != ',' && *e != ';' && *e != '\n' && *e != ' ')
            e++;
        const char *q = e;
        while (q > d && isdigit((unsigned char)q[-1]))
            q--;
        int id = atoi(q);
        if (id > maxid)
            maxid = id;
    }
    for (int r = 0; r <= maxid; r++)
        tir_reg(p->k, TIR_U32, NULL);
    if (!reg_decls(p, decls))
        return false;
    int nparams = 0;
    for (const char *c = lp + 1; c < rp; c++)
        nparams += *c == '%';
    p->k->params = vm_alloc(p->a, sizeof *p->k->params * (size_t)(nparams + 1));
    const char *c = lp + 1;
    while (c < rp && (c = strchr(c, '%')) && c < rp) {
        const char *colon = strchr(c, ':');
        TirParam *tp = &p->k->params[p->k->nparams++];
        if (!colon || !reg_ref(p, c, (size_t)(colon - c), &tp->reg))
            return fail(p, "malformed parameter");
        tp->name = p->k->regs[tp->reg].name;
        const char *t = skip(colon + 1);
        const char *e = t;
        while (e < rp && *e != ',' && *e != ' ')
            e++;
        if (!strncmp(t, "ptr.global", 10)) {
            tp->kind = TIR_P_PTR;
            tp->type = TIR_U64;
            const char *dn = skip(t + 10);
            const char *de = dn;
            while (de < rp && *de != ',' && *de != ' ')
                de++;
            tp->dtype = vm_dtype_parse(dn, (size_t)(de - dn));
            e = de;
        } else {
            tp->kind = TIR_P_SCALAR;
            tp->dtype = VM_DT_INVALID;
            if (!type_of(t, (size_t)(e - t), &tp->type))
                return fail(p, "bad parameter type");
        }
        e = skip(e);
        tp->hidden = !strncmp(e, "hidden", 6);
        c = e;
    }
    return true;
}

bool tir_parse(VmArena *a, const char *text, TirKernel **out, char *err, size_t n)
{
    P p = {a, NULL, 1, 0, err, n, false};
    *out = NULL;
    const char *brace = strstr(text, "\n{\n");
    if (!brace)
        return fail(&p, "missing body");
    const char *nl = strchr(text, '\n');
    char *hdr = vm_strndup(a, text, (size_t)(nl - text));
    char *decls = vm_strndup(a, nl, (size_t)(brace - nl));
    if (!header(&p, hdr, decls))
        return false;
    const char *nd = strstr(decls, ".needs sm_");
    if (nd) {
        int sm = 0, ma = 0, mi = 0;
        sscanf(nd, ".needs sm_%d ptx %d.%d", &sm, &ma, &mi);
        p.k->sm_needed = sm;
        p.k->ptx_needed = ma * 10 + mi;
    }
    for (const char *c = text; c < brace + 1; c++)
        p.lineno += *c == '\n';
    TirBlock *stack[256];
    TirOp *owner[256];
    int depth = 0;
    stack[0] = &p.k->body;
    owner[0] = NULL;
    const char *s = brace + 3;
    while (*s && !p.failed) {
        const char *e = strchr(s, '\n');
        if (!e)
            e = s + strlen(s);
        char *line = vm_strndup(a, s, (size_t)(e - s));
        s = *e ? e + 1 : e;
        p.lineno++;
        const char *l = skip(line);
        if (!*l)
            continue;
        if (!strcmp(l, "}")) {
            if (depth == 0) {
                *out = p.k;
                return true;
            }
            depth--;
            continue;
        }
        if (!strcmp(l, "} else {") || !strcmp(l, "} latch {")) {
            if (depth == 0)
                return fail(&p, "else/latch outside a block");
            stack[depth] = &owner[depth]->orelse;
            continue;
        }
        TirOp *o = tir_op_new(p.k, TIR_OP_NOTE, TIR_B32);
        if (!strncmp(l, "// line ", 8)) {
            o->line = p.vmline = atoi(l + 8);
            const char *col = strchr(l, ':');
            o->str = vm_strdup(a, col ? skip(col + 1) : "");
            tir_append(stack[depth], o);
            continue;
        }
        o->line = p.vmline;
        if (*l == '@') {
            o->guard_neg = l[1] == '!';
            const char *r = l + 1 + o->guard_neg;
            const char *re = strchr(r, ' ');
            if (!re || !reg_ref(&p, r, (size_t)(re - r), &o->guard))
                return false;
            l = skip(re);
        }
        const char *eq = strstr(l, " = ");
        const char *q = strchr(l, '"');
        if (eq && (!q || eq < q)) {
            for (const char *r = l; r < eq;) {
                const char *re = r;
                while (re < eq && *re != ',')
                    re++;
                if (o->nd >= TIR_MAX_DST || !reg_ref(&p, r, (size_t)(re - r), &o->d[o->nd]))
                    return fail(&p, "bad destination");
                o->nd++;
                r = re < eq ? skip(re + 1) : eq;
            }
            l = eq + 3;
        }
        const char *me = l;
        while (*me && *me != ' ')
            me++;
        int op = opcode(l, (size_t)(me - l));
        if (op < 0)
            return fail(&p, "unknown op '%.*s'", (int)(me - l), l);
        o->op = (TirOpcode)op;
        if (o->op == TIR_OP_IF || o->op == TIR_OP_LOOP) {
            if (o->op == TIR_OP_IF) {
                const char *ob = strrchr(l, '{');
                if (!ob || !operands(&p, o, vm_strndup(a, me, (size_t)(ob - me)), 0))
                    return fail(&p, "malformed if");
                o->type = o->type2 = TIR_PRED;
            }
            tir_append(stack[depth], o);
            if (depth + 1 >= 256)
                return fail(&p, "nesting too deep");
            stack[++depth] = &o->body;
            owner[depth] = o;
            continue;
        }
        bool ok = o->op == TIR_OP_PRINTF ? parse_printf(&p, o, me)
                                         : parse_op(&p, o, l, (size_t)(me - l), me);
        if (!ok)
            return false;
        tir_append(stack[depth], o);
    }
    return fail(&p, "missing closing }");
}

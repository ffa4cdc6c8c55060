/* vm/print.c - the IR printer: a concrete Prog as canonical kernel source.
 *
 * The text is the language of lang/README.md, so `lpvm print` output can be
 * compiled again: every instruction result becomes one `let` (or `var`),
 * every register layout known at print time is written explicitly (`@`), every shared
 * layout is written as its raw literal, compile-time parameters are gone
 * (the program is specialized), and scalar expressions are printed with the
 * fewest parentheses the grammar needs. Round trip: printing the program
 * compiled from this text gives this text again (tests/test_lang_roundtrip.c).
 *
 * Names: a value or variable keeps its source name when that name is unique
 * in the kernel and is no built-in word; otherwise it gets a suffix with its
 * id (`acc_12`); unnamed values are `_12`. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

typedef struct {
    char *s;
    size_t n, cap;
} Out;

static void put(Out *o, const char *s, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        char *p = realloc(o->s, o->cap);
        if (!p) {
            fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
            abort();
        }
        o->s = p;
    }
    memcpy(o->s + o->n, s, n);
    o->n += n;
    o->s[o->n] = 0;
}

static void putf(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        abort();
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(o, tmp, (size_t)n);
    free(tmp);
}

typedef struct {
    Out *o;
    const Kernel *k;
    char **vname;   /* by value id */
    char **varname; /* by var id */
    int indent;
} P;

/* ------------------------------------------------------------ names */

static const char *const words[] = {
    "kernel", "let", "var", "for", "in", "while", "if", "else", "break", "continue", "global",
    "true", "false", "bid", "gdim", "range", "local", "spatial", "column_local",
    "column_spatial", "replicate", "layout", "shared", "padded", "mma_tile", "mma_m16n8k16",
    "mma_m16n8k32", "cdiv", "select", "bits", "signed", "row_major", "column_major",
    "swizzled_row_major", "grid", "warps",
};

static bool ident_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    if (s[0] == '_') {
        const char *p = s + 1;
        while (isdigit((unsigned char)*p))
            p++;
        if (!*p)
            return false; /* _12 is reserved for unnamed values */
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(s, words[i]))
            return false;
    if (vm_op_parse(s) != VM_NOPS || vm_dtype_parse(s, strlen(s)) != VM_DT_INVALID)
        return false;
    LayHw hw;
    return !lay_hw_lookup(s, &hw);
}

/* How often each name occurs: open addressing, size a power of two at
 * least twice the number of names. */
typedef struct {
    const char *name;
    int count;
} Count;

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static Count *count_slot(Count *t, int cap, const char *name)
{
    uint32_t mask = (uint32_t)cap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask)
        if (!t[i].name || !strcmp(t[i].name, name))
            return &t[i];
}

static int count_of(Count *t, int cap, const char *name)
{
    return count_slot(t, cap, name)->count;
}

static void bump(Count *t, int cap, const char *name)
{
    Count *c = count_slot(t, cap, name);
    c->name = name;
    c->count++;
}

static char *dupf(const char *fmt, const char *s, int id)
{
    int n = snprintf(NULL, 0, fmt, s, id);
    char *p = malloc((size_t)n + 1);
    if (!p)
        abort();
    snprintf(p, (size_t)n + 1, fmt, s, id);
    return p;
}

/* name, or name_<id> (repeatedly) while it is taken; records the result. */
static char *unique(Count *given, int cap, char *name, int id)
{
    while (count_of(given, cap, name)) {
        char *n = dupf("%s_%d", name, id);
        free(name);
        name = n;
    }
    bump(given, cap, name);
    return name;
}

static void make_names(P *p)
{
    const Kernel *k = p->k;
    int total = k->nvalues + k->nvars + k->nparams, nc = 16;
    while (nc < 2 * total)
        nc *= 2;
    Count *cnt = calloc((size_t)nc, sizeof *cnt);
    if (!cnt)
        abort();
    for (int i = 0; i < k->nparams; i++)
        bump(cnt, nc, k->params[i]->name);
    for (int i = 0; i < k->nvars; i++)
        if (k->vars[i]->name)
            bump(cnt, nc, k->vars[i]->name);
    for (int i = 0; i < k->nvalues; i++) {
        const Value *v = k->values[i];
        if (v && v->name && !v->var && !v->param)
            bump(cnt, nc, v->name);
    }
    p->varname = calloc((size_t)k->nvars + 1, sizeof *p->varname);
    p->vname = calloc((size_t)k->nvalues + 1, sizeof *p->vname);
    if (!p->varname || !p->vname)
        abort();
    /* the names given so far, to keep generated ones from clashing */
    Count *given = calloc((size_t)nc, sizeof *given);
    if (!given)
        abort();
    for (int i = 0; i < k->nparams; i++)
        bump(given, nc, k->params[i]->name);
    for (int i = 0; i < k->nvars; i++) {
        const Var *v = k->vars[i];
        if (v->name && ident_ok(v->name) && count_of(cnt, nc, v->name) == 1)
            p->varname[i] = dupf("%s", v->name, 0);
        else
            p->varname[i] = dupf("%s_v%d", v->name && ident_ok(v->name) ? v->name : "", v->id);
        p->varname[i] = unique(given, nc, p->varname[i], v->id);
    }
    for (int i = 0; i < k->nvalues; i++) {
        const Value *v = k->values[i];
        if (!v)
            continue;
        if (v->var && v->var->id < k->nvars)
            p->vname[i] = dupf("%s", p->varname[v->var->id], 0);
        else if (v->param)
            p->vname[i] = dupf("%s", v->param->name, 0);
        else {
            if (v->name && ident_ok(v->name) && count_of(cnt, nc, v->name) == 1)
                p->vname[i] = dupf("%s", v->name, 0);
            else if (v->name && ident_ok(v->name))
                p->vname[i] = dupf("%s_%d", v->name, v->id);
            else
                p->vname[i] = dupf("%s_%d", "", v->id);
            p->vname[i] = unique(given, nc, p->vname[i], v->id);
        }
    }
    /* topk: the instruction is named after its first result */
    for (int i = 0; i < k->nvalues; i++) {
        const Value *v = k->values[i];
        if (!v || !v->def || v->def->op != VM_TOPK || v != v->def->res || !v->def->res2)
            continue;
        char *base = p->vname[v->id];
        int j = v->def->res2->id;
        free(p->vname[j]);
        p->vname[j] = dupf("%s.indices", base, 0);
        p->vname[v->id] = dupf("%s.values", base, 0);
        free(base);
    }
    free(cnt);
    free(given);
}

static void free_names(P *p)
{
    for (int i = 0; i < p->k->nvalues; i++)
        free(p->vname[i]);
    for (int i = 0; i < p->k->nvars; i++)
        free(p->varname[i]);
    free(p->vname);
    free(p->varname);
}

static const char *vn(P *p, const Value *v)
{
    if (!v || v->id < 0 || v->id >= p->k->nvalues || !p->vname[v->id])
        return "<?>";
    return p->vname[v->id];
}

static const char *varn(P *p, const Var *v)
{
    if (!v || v->id < 0 || v->id >= p->k->nvars)
        return "<?>";
    return p->varname[v->id];
}

/* ------------------------------------------------------------ scalars */

static int sop_prec(ScalarOp op)
{
    switch (op) {
    case VM_S_LOR: return 2;
    case VM_S_LAND: return 3;
    case VM_S_OR: return 4;
    case VM_S_XOR: return 5;
    case VM_S_AND: return 6;
    case VM_S_EQ:
    case VM_S_NE: return 7;
    case VM_S_LT:
    case VM_S_LE:
    case VM_S_GT:
    case VM_S_GE: return 8;
    case VM_S_SHL:
    case VM_S_SHR: return 9;
    case VM_S_ADD:
    case VM_S_SUB: return 10;
    case VM_S_MUL:
    case VM_S_DIV:
    case VM_S_REM: return 11;
    default: return 13; /* cdiv, min, max: calls */
    }
}

static void pfloat(Out *o, double f)
{
    if (isnan(f)) {
        put(o, "(0.0 / 0.0)", 11);
        return;
    }
    if (isinf(f)) {
        putf(o, "(%s1.0 / 0.0)", f < 0 ? "-" : "");
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", f);
    put(o, buf, strlen(buf));
    if (!strpbrk(buf, ".e"))
        put(o, ".0", 2);
}

static void pe(P *p, const Expr *e, int ctx)
{
    Out *o = p->o;
    if (!e) {
        put(o, "0", 1);
        return;
    }
    static const char *axes = "xyz";
    switch (e->kind) {
    case VM_E_INT:
        if (e->dtype == VM_DT_I64)
            putf(o, "cast(%lld, i64)", (long long)e->ival);
        else if (e->ival < 0 && ctx > 12)
            putf(o, "(%lld)", (long long)e->ival);
        else
            putf(o, "%lld", (long long)e->ival);
        return;
    case VM_E_FLOAT:
        if (e->fval < 0 && ctx > 12) {
            put(o, "(", 1);
            pfloat(o, e->fval);
            put(o, ")", 1);
        } else
            pfloat(o, e->fval);
        return;
    case VM_E_BOOL: putf(o, "%s", e->ival ? "true" : "false"); return;
    case VM_E_PARAM: putf(o, "%s", e->param ? e->param->name : "<?>"); return;
    case VM_E_BID:
    case VM_E_GDIM:
        putf(o, "%s.%c", e->kind == VM_E_BID ? "bid" : "gdim",
             e->axis >= 0 && e->axis < 3 ? axes[e->axis] : '?');
        return;
    case VM_E_VAR: putf(o, "%s", varn(p, e->var)); return;
    case VM_E_UNARY: {
        const char *s = e->sop == VM_S_NEG ? "-" : e->sop == VM_S_LNOT ? "!" : "~";
        if (ctx > 12)
            put(o, "(", 1);
        put(o, s, 1);
        pe(p, e->a, 12);
        if (ctx > 12)
            put(o, ")", 1);
        return;
    }
    case VM_E_BINARY: {
        int prec = sop_prec(e->sop);
        if (prec == 13) {
            putf(o, "%s(", vm_sop_name(e->sop));
            pe(p, e->a, 0);
            put(o, ", ", 2);
            pe(p, e->b, 0);
            put(o, ")", 1);
            return;
        }
        if (prec < ctx)
            put(o, "(", 1);
        pe(p, e->a, prec);
        putf(o, " %s ", vm_sop_name(e->sop));
        pe(p, e->b, prec + 1);
        if (prec < ctx)
            put(o, ")", 1);
        return;
    }
    case VM_E_SELECT:
        put(o, "select(", 7);
        pe(p, e->a, 0);
        put(o, ", ", 2);
        pe(p, e->b, 0);
        put(o, ", ", 2);
        pe(p, e->c, 0);
        put(o, ")", 1);
        return;
    case VM_E_CAST:
        put(o, "cast(", 5);
        pe(p, e->a, 0);
        putf(o, ", %s)", vm_dtype_name(e->dtype));
        return;
    }
    put(o, "<?>", 3);
}

/* ------------------------------------------------------------ tensors */

static bool whole(const Tile *t)
{
    const Value *b = t->base;
    if (!b || b->kind == VM_GLOBAL || t->rank != b->rank)
        return false;
    for (int d = 0; d < t->rank; d++)
        if (t->drop[d] || t->start[d] || t->size[d] != b->shape[d])
            return false;
    return true;
}

static void ptile(P *p, const Tile *t)
{
    put(p->o, vn(p, t->base), strlen(vn(p, t->base)));
    if (whole(t))
        return;
    put(p->o, "[", 1);
    for (int d = 0; d < t->rank; d++) {
        if (d)
            put(p->o, ", ", 2);
        if (t->start[d])
            pe(p, t->start[d], 0);
        else
            put(p->o, "0", 1);
        if (!t->drop[d])
            putf(p->o, " : %d", t->size[d]);
    }
    put(p->o, "]", 1);
}

static void pshape(P *p, Dtype dt, int rank, const int32_t *shape)
{
    putf(p->o, "%s[", vm_dtype_name(dt));
    for (int d = 0; d < rank; d++)
        putf(p->o, "%s%d", d ? ", " : "", shape[d]);
    put(p->o, "]", 1);
}

static void pshape_e(P *p, Dtype dt, int rank, Expr *const *shape)
{
    putf(p->o, "%s[", vm_dtype_name(dt));
    for (int d = 0; d < rank; d++) {
        if (d)
            put(p->o, ", ", 2);
        pe(p, shape[d], 0);
    }
    put(p->o, "]", 1);
}

static void playout(P *p, const Value *v)
{
    if (!v || v->kind != VM_REG || v->lstate == VM_LAY_UNKNOWN)
        return;
    int n = lay_print(v->layout, NULL, 0);
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        abort();
    lay_print(v->layout, buf, (size_t)n + 1);
    putf(p->o, " @ %s", buf);
    free(buf);
}

static void pints(P *p, int n, const int32_t *v)
{
    put(p->o, "[", 1);
    for (int i = 0; i < n; i++)
        putf(p->o, "%s%d", i ? ", " : "", v[i]);
    put(p->o, "]", 1);
}

static void pstr(Out *o, const char *s)
{
    put(o, "\"", 1);
    for (; s && *s; s++) {
        switch (*s) {
        case '\n': put(o, "\\n", 2); break;
        case '\t': put(o, "\\t", 2); break;
        case '"': put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        default: put(o, s, 1);
        }
    }
    put(o, "\"", 1);
}

static void indent(P *p)
{
    for (int i = 0; i < p->indent; i++)
        put(p->o, "    ", 4);
}

static void pblock(P *p, const Block *b);

/* The right-hand side of an instruction with a register/shared/global result. */
static void prhs(P *p, const Inst *i)
{
    Out *o = p->o;
    const OpInfo *info = &vm_ops[i->op];
    switch (i->op) {
    case VM_LOAD_GLOBAL:
        put(o, "load_global(", 12);
        ptile(p, &i->mem[0]);
        if (i->a[0])
            putf(o, ", mask = %s", vn(p, i->a[0]));
        if (i->a[1])
            putf(o, ", other = %s", vn(p, i->a[1]));
        put(o, ")", 1);
        return;
    case VM_GATHER:
        put(o, "gather(", 7);
        ptile(p, &i->mem[0]);
        putf(o, ", %s, %d)", vn(p, i->a[0]), i->dim);
        return;
    case VM_LOAD_SHARED:
        put(o, "load_shared(", 12);
        ptile(p, &i->mem[0]);
        put(o, ")", 1);
        return;
    case VM_SHARED_ALLOC: {
        put(o, "shared_alloc(", 13);
        pshape(p, i->dtype, i->rank, i->shape);
        const Value *r = i->res;
        if (r && r->has_slayout) {
            int n = lay_shared_print(r->slayout, NULL, 0);
            char *buf = malloc((size_t)n + 1);
            if (!buf)
                abort();
            lay_shared_print(r->slayout, buf, (size_t)n + 1);
            putf(o, ", %s", buf);
            free(buf);
        }
        put(o, ")", 1);
        return;
    }
    case VM_GLOBAL_VIEW: {
        const Value *r = i->res;
        putf(o, "global_view(%s, ", vn(p, i->a[0]));
        pe(p, i->e[0], 0);
        put(o, ", ", 2);
        pshape_e(p, r->dtype, r->rank, r->gshape);
        if (r->gstride) {
            put(o, ", strides = [", 13);
            for (int d = 0; d < r->rank; d++) {
                if (d)
                    put(o, ", ", 2);
                pe(p, r->gstride[d], 0);
            }
            put(o, "]", 1);
        }
        put(o, ")", 1);
        return;
    }
    case VM_WORKSPACE:
        put(o, "workspace(", 10);
        pshape_e(p, i->res->dtype, i->res->rank, i->res->gshape);
        put(o, ")", 1);
        return;
    case VM_VIEW: putf(o, "view(%s, %s)", vn(p, i->a[0]), vm_dtype_name(i->dtype)); return;
    case VM_CAST: putf(o, "cast(%s, %s)", vn(p, i->a[0]), vm_dtype_name(i->dtype)); return;
    case VM_FMA:
    case VM_WHERE:
    case VM_DOT:
        putf(o, "%s(%s, %s, %s)", info->name, vn(p, i->a[0]), vn(p, i->a[1]), vn(p, i->a[2]));
        return;
    case VM_REDUCE_SUM:
    case VM_REDUCE_MAX:
    case VM_REDUCE_MIN:
    case VM_ARGMAX:
        putf(o, "%s(%s, %d%s)", info->name, vn(p, i->a[0]), i->dim,
             i->keepdim ? ", keepdim = true" : "");
        return;
    case VM_TOPK: putf(o, "topk(%s, %d, %d)", vn(p, i->a[0]), i->k, i->dim); return;
    case VM_CUMSUM: putf(o, "cumsum(%s, %d)", vn(p, i->a[0]), i->dim); return;
    case VM_BROADCAST:
    case VM_RESHAPE:
        putf(o, "%s(%s, ", info->name, vn(p, i->a[0]));
        pints(p, i->rank, i->shape);
        put(o, ")", 1);
        return;
    case VM_PERMUTE: {
        int32_t perm[VM_MAX_DIMS];
        int r = i->a[0] ? i->a[0]->rank : 0;
        for (int d = 0; d < r; d++)
            perm[d] = i->perm[d];
        putf(o, "permute(%s, ", vn(p, i->a[0]));
        pints(p, r, perm);
        put(o, ")", 1);
        return;
    }
    case VM_TRANSPOSE: putf(o, "transpose(%s)", vn(p, i->a[0])); return;
    case VM_SLICE:
        put(o, "slice(", 6);
        ptile(p, &i->mem[0]);
        put(o, ")", 1);
        return;
    case VM_CONCAT:
        putf(o, "concat(%s, %s, %d)", vn(p, i->a[0]), vn(p, i->a[1]), i->dim);
        return;
    case VM_ZEROS:
        put(o, "zeros(", 6);
        pshape(p, i->res->dtype, i->res->rank, i->res->shape);
        put(o, ")", 1);
        return;
    case VM_FULL:
        put(o, "full(", 5);
        pshape(p, i->res->dtype, i->res->rank, i->res->shape);
        put(o, ", ", 2);
        pe(p, i->e[0], 0);
        put(o, ")", 1);
        return;
    case VM_ARANGE:
        put(o, "arange(", 7);
        pshape(p, i->res->dtype, i->res->rank, i->res->shape);
        put(o, ")", 1);
        return;
    case VM_RAND:
        put(o, "rand(", 5);
        pshape(p, i->res->dtype, i->res->rank, i->res->shape);
        put(o, ", ", 2);
        pe(p, i->e[0], 0);
        put(o, ", ", 2);
        pe(p, i->e[1], 0);
        put(o, ")", 1);
        return;
    default: break;
    }
    if (info->cls == VM_C_UNARY) {
        if (info->sym)
            putf(o, "%s%s", info->sym, vn(p, i->a[0]));
        else
            putf(o, "%s(%s)", info->name, vn(p, i->a[0]));
        return;
    }
    if (info->cls == VM_C_BINARY || info->cls == VM_C_CMP) {
        if (info->sym)
            putf(o, "%s %s %s", vn(p, i->a[0]), info->sym, vn(p, i->a[1]));
        else
            putf(o, "%s(%s, %s)", info->name, vn(p, i->a[0]), vn(p, i->a[1]));
        return;
    }
    putf(o, "<%s?>", info->name);
}

static void pinst(P *p, const Inst *i)
{
    Out *o = p->o;
    indent(p);
    switch (i->op) {
    case VM_STORE_GLOBAL:
    case VM_STORE_SHARED:
    case VM_ATOMIC_ADD:
        putf(o, "%s(", vm_ops[i->op].name);
        ptile(p, &i->mem[0]);
        putf(o, ", %s", vn(p, i->a[0]));
        if (i->op == VM_STORE_GLOBAL && i->a[1])
            putf(o, ", mask = %s", vn(p, i->a[1]));
        put(o, ");\n", 3);
        return;
    case VM_COPY_ASYNC:
        put(o, "copy_async(", 11);
        ptile(p, &i->mem[0]);
        put(o, ", ", 2);
        ptile(p, &i->mem[1]);
        if (i->a[0])
            putf(o, ", mask = %s", vn(p, i->a[0]));
        put(o, ");\n", 3);
        return;
    case VM_LOCK:
    case VM_RELEASE:
        putf(o, "%s(", vm_ops[i->op].name);
        ptile(p, &i->mem[0]);
        put(o, ", ", 2);
        pe(p, i->e[0], 0);
        put(o, ");\n", 3);
        return;
    case VM_LOAD_SCALAR:
        putf(o, "let %s = load_scalar(", varn(p, i->var));
        ptile(p, &i->mem[0]);
        put(o, ");\n", 3);
        return;
    case VM_SHARED_FREE: putf(o, "shared_free(%s);\n", vn(p, i->a[0])); return;
    case VM_COMMIT: put(o, "commit();\n", 10); return;
    case VM_WAIT: putf(o, "wait(%d);\n", i->n); return;
    case VM_SYNC: put(o, "sync();\n", 8); return;
    case VM_EXIT: put(o, "exit();\n", 8); return;
    case VM_BREAK: put(o, "break;\n", 7); return;
    case VM_CONTINUE: put(o, "continue;\n", 10); return;
    case VM_PRINTF:
        put(o, "printf(", 7);
        pstr(o, i->str);
        for (int j = 0; j < i->neargs; j++) {
            put(o, ", ", 2);
            pe(p, i->eargs[j], 0);
        }
        put(o, ");\n", 3);
        return;
    case VM_PRINT:
        put(o, "print(", 6);
        if (i->str) {
            pstr(o, i->str);
            put(o, ", ", 2);
        }
        putf(o, "%s);\n", vn(p, i->a[0]));
        return;
    case VM_ASSUME:
        put(o, "assume(", 7);
        pe(p, i->e[0], 0);
        put(o, ");\n", 3);
        return;
    case VM_VAR_DEF:
        if (i->var && !i->var->scalar)
            putf(o, "var %s = %s;\n", varn(p, i->var), vn(p, i->a[0]));
        else {
            putf(o, "%s %s = ", i->var && i->var->mut ? "var" : "let", varn(p, i->var));
            pe(p, i->e[0], 0);
            put(o, ";\n", 2);
        }
        return;
    case VM_ASSIGN:
        if (i->var && !i->var->scalar)
            putf(o, "%s = %s;\n", varn(p, i->var), vn(p, i->a[0]));
        else {
            putf(o, "%s = ", varn(p, i->var));
            pe(p, i->e[0], 0);
            put(o, ";\n", 2);
        }
        return;
    case VM_FOR:
        putf(o, "for %s in range(", varn(p, i->var));
        pe(p, i->e[0], 0);
        put(o, ", ", 2);
        pe(p, i->e[1], 0);
        put(o, ", ", 2);
        pe(p, i->e[2], 0);
        put(o, ") {\n", 4);
        pblock(p, &i->body);
        indent(p);
        put(o, "}\n", 2);
        return;
    case VM_WHILE:
        put(o, "while ", 6);
        pe(p, i->e[0], 0);
        put(o, " {\n", 3);
        pblock(p, &i->body);
        indent(p);
        put(o, "}\n", 2);
        return;
    case VM_IF:
        put(o, "if ", 3);
        pe(p, i->e[0], 0);
        put(o, " {\n", 3);
        pblock(p, &i->body);
        indent(p);
        if (i->orelse.first) {
            put(o, "} else {\n", 9);
            pblock(p, &i->orelse);
            indent(p);
        }
        put(o, "}\n", 2);
        return;
    default: break;
    }
    if (!i->res) {
        putf(o, "%s(<?>);\n", vm_ops[i->op].name);
        return;
    }
    const char *name = vn(p, i->res);
    if (i->op == VM_TOPK) {
        const char *dot = strrchr(name, '.');
        putf(o, "let %.*s = ", dot ? (int)(dot - name) : (int)strlen(name), name);
        prhs(p, i);
        put(o, ";\n", 2);
        return;
    }
    putf(o, "let %s = ", name);
    prhs(p, i);
    playout(p, i->res);
    put(o, ";\n", 2);
}

static void pblock(P *p, const Block *b)
{
    p->indent++;
    for (const Inst *i = b->first; i; i = i->next)
        pinst(p, i);
    p->indent--;
}

static void pkernel(Out *o, const Kernel *k)
{
    P p = {.o = o, .k = k};
    make_names(&p);
    putf(o, "kernel %s(", k->name);
    bool first = true;
    for (int i = 0; i < k->nparams; i++) {
        const Param *pa = k->params[i];
        if (pa->implicit)
            continue;
        putf(o, "%s%s: ", first ? "" : ", ", pa->name);
        first = false;
        if (pa->kind == VM_P_SCALAR)
            putf(o, "%s", vm_dtype_name(pa->dtype));
        else {
            put(o, "global ", 7);
            pshape_e(&p, pa->dtype, pa->rank, pa->shape);
        }
    }
    put(o, ")\n    grid(", 11);
    for (int i = 0; i < k->ngrid; i++) {
        if (i)
            put(o, ", ", 2);
        pe(&p, k->grid[i], 0);
    }
    putf(o, ") warps(%d)\n{\n", k->warps);
    pblock(&p, &k->body);
    put(o, "}\n", 2);
    free_names(&p);
}

char *vm_print_kernel(const Kernel *k)
{
    Out o = {0};
    put(&o, "", 0);
    pkernel(&o, k);
    return o.s;
}

char *vm_print(const Prog *p)
{
    Out o = {0};
    put(&o, "", 0);
    for (int i = 0; i < p->nkernels; i++) {
        if (i)
            put(&o, "\n", 1);
        pkernel(&o, p->kernels[i]);
    }
    return o.s;
}

/* lang/spec.c - specialization strings (VM.md 1).
 *
 *   spec  := [pair (',' pair)*]        pair := NAME '=' value
 *   value := ['-'] digits | true | false | dtype-name
 *
 * lang_spec_parse checks the syntax and the kinds of values (duplicate keys
 * are refused here); lang_spec_bind matches the pairs against a kernel's
 * compile-time parameters (unknown keys, wrong kinds, missing keys without a
 * default) and yields one value per parameter; lang_spec_canonical prints them
 * sorted by name with defaults filled, the form that goes into cache keys.
 * Errors in the string itself point into it, as a source named "<spec>". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return p;
}

static bool is_id0(int c) { return isalpha(c) || c == '_'; }
static bool is_id(int c) { return isalnum(c) || c == '_'; }

int lang_val_print(LangVal v, char *buf, size_t n)
{
    switch (v.kind) {
    case LANG_CT_INT: return snprintf(buf, n, "%lld", (long long)v.i);
    case LANG_CT_BOOL: return snprintf(buf, n, "%s", v.i ? "true" : "false");
    case LANG_CT_DTYPE: return snprintf(buf, n, "%s", vm_dtype_name(v.dt));
    }
    return snprintf(buf, n, "?");
}

static const char *kind_noun(LangCtKind k)
{
    switch (k) {
    case LANG_CT_INT: return "an integer";
    case LANG_CT_BOOL: return "true or false";
    case LANG_CT_DTYPE: return "a dtype";
    }
    return "?";
}

bool lang_spec_parse(const char *spec, LangSpec *out, LangDiags *d)
{
    LangSrc src = {"<spec>", spec ? spec : "", spec ? strlen(spec) : 0};
    const char *s = src.text;
    size_t n = src.len, i = 0;
    out->n = 0;
#define AT(k) ((LangLoc){.line = 1, .col = (int)(k) + 1})
#define SKIP()                                                               \
    while (i < n && (s[i] == ' ' || s[i] == '\t'))                           \
    i++
    SKIP();
    if (i == n)
        return true;
    for (;;) {
        SKIP();
        size_t start = i;
        if (i >= n || !is_id0((unsigned char)s[i])) {
            lang_error(d, &src, AT(i), "expected a parameter name");
            return false;
        }
        while (i < n && is_id((unsigned char)s[i]))
            i++;
        size_t nlen = i - start;
        if (nlen >= sizeof out->kv[0].name) {
            lang_error(d, &src, AT(start), "parameter name too long");
            return false;
        }
        SKIP();
        if (i >= n || s[i] != '=') {
            lang_error(d, &src, AT(i), "expected '=' after '%.*s'", (int)nlen, s + start);
            return false;
        }
        i++;
        SKIP();
        size_t vstart = i;
        while (i < n && (is_id((unsigned char)s[i]) || s[i] == '-' || s[i] == '+'))
            i++;
        size_t vlen = i - vstart;
        LangVal v = {0};
        const char *vs = s + vstart;
        if (vlen == 0) {
            lang_error(d, &src, AT(vstart), "expected a value for '%.*s'", (int)nlen, s + start);
            return false;
        } else if (isdigit((unsigned char)vs[0]) || vs[0] == '-' || vs[0] == '+') {
            char tmp[32];
            char *end;
            if (vlen >= sizeof tmp) {
                lang_error(d, &src, AT(vstart), "integer out of range");
                return false;
            }
            memcpy(tmp, vs, vlen);
            tmp[vlen] = 0;
            errno = 0;
            long long x = strtoll(tmp, &end, 0);
            if (*end || end == tmp) {
                lang_error(d, &src, AT(vstart),
                           "bad value '%s' for '%.*s': expected an integer, true, false or a "
                           "dtype name",
                           tmp, (int)nlen, s + start);
                return false;
            }
            if (errno || x < INT32_MIN || x > INT32_MAX) {
                lang_error(d, &src, AT(vstart), "integer '%s' out of range", tmp);
                return false;
            }
            v.kind = LANG_CT_INT;
            v.i = x;
        } else if (vlen == 4 && !memcmp(vs, "true", 4)) {
            v.kind = LANG_CT_BOOL;
            v.i = 1;
        } else if (vlen == 5 && !memcmp(vs, "false", 5)) {
            v.kind = LANG_CT_BOOL;
            v.i = 0;
        } else if ((v.dt = vm_dtype_parse(vs, vlen)) != VM_DT_INVALID) {
            v.kind = LANG_CT_DTYPE;
        } else {
            lang_error(d, &src, AT(vstart),
                       "bad value '%.*s' for '%.*s': expected an integer, true, false or a "
                       "dtype name",
                       (int)(vlen > 40 ? 40 : vlen), vs, (int)nlen, s + start);
            return false;
        }
        for (int k = 0; k < out->n; k++) {
            if (strlen(out->kv[k].name) == nlen && !memcmp(out->kv[k].name, s + start, nlen)) {
                lang_error(d, &src, AT(start), "duplicate key '%.*s'", (int)nlen, s + start);
                return false;
            }
        }
        if (out->n == LANG_MAX_SPEC) {
            lang_error(d, &src, AT(start), "more than %d parameters", LANG_MAX_SPEC);
            return false;
        }
        memcpy(out->kv[out->n].name, s + start, nlen);
        out->kv[out->n].name[nlen] = 0;
        out->kv[out->n].v = v;
        out->kv[out->n].col = (int)start + 1;
        out->n++;
        SKIP();
        if (i == n)
            return true;
        if (s[i] != ',') {
            lang_error(d, &src, AT(i), "expected ',' between parameters");
            return false;
        }
        i++;
    }
#undef SKIP
}

/* The default of a compile-time parameter as a value of its kind. */
static bool ct_default(const AstCtParam *p, const LangSrc *src, LangVal *v, LangDiags *d)
{
    const Ast *e = p->def;
    v->kind = p->kind;
    bool ok = false;
    switch (p->kind) {
    case LANG_CT_INT:
        ok = e->kind == AST_INT;
        v->i = e->ival;
        break;
    case LANG_CT_BOOL:
        ok = e->kind == AST_BOOL;
        v->i = e->ival;
        break;
    case LANG_CT_DTYPE:
        ok = e->kind == AST_NAME &&
             (v->dt = vm_dtype_parse(e->str, strlen(e->str))) != VM_DT_INVALID;
        break;
    }
    if (!ok)
        lang_error(d, src, e->loc, "default of '%s' is not %s", p->name, kind_noun(p->kind));
    return ok;
}

bool lang_spec_bind(const AstKernel *k, const LangSrc *src, const char *spec, LangVal *vals,
                    LangDiags *d)
{
    LangSpec sp;
    if (!lang_spec_parse(spec, &sp, d))
        return false;
    LangSrc ssrc = {"<spec>", spec ? spec : "", spec ? strlen(spec) : 0};
    bool ok = true;
    bool *set = xmalloc((size_t)k->nct * sizeof *set);
    memset(set, 0, (size_t)k->nct * sizeof *set);
    for (int j = 0; j < sp.n; j++) {
        int p = -1;
        for (int i = 0; i < k->nct; i++)
            if (!strcmp(k->ct[i].name, sp.kv[j].name))
                p = i;
        LangLoc at = {.line = 1, .col = sp.kv[j].col};
        if (p < 0) {
            char names[256] = "";
            size_t len = 0;
            for (int i = 0; i < k->nct && len < sizeof names - 1; i++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                        k->ct[i].name);
            if (k->nct)
                lang_error(d, &ssrc, at, "unknown key '%s' for kernel '%s' (its parameters: %s)",
                           sp.kv[j].name, k->name, names);
            else
                lang_error(d, &ssrc, at,
                           "unknown key '%s': kernel '%s' has no compile-time parameters",
                           sp.kv[j].name, k->name);
            ok = false;
            continue;
        }
        set[p] = true;
        if (sp.kv[j].v.kind != k->ct[p].kind) {
            char vb[32];
            lang_val_print(sp.kv[j].v, vb, sizeof vb);
            lang_error(d, &ssrc, at, "'%s' is %s %s parameter: expected %s, got '%s'",
                       sp.kv[j].name, k->ct[p].kind == LANG_CT_INT ? "an" : "a",
                       lang_ct_kind_name(k->ct[p].kind), kind_noun(k->ct[p].kind), vb);
            ok = false;
            continue;
        }
        vals[p] = sp.kv[j].v;
    }
    for (int i = 0; i < k->nct; i++) {
        if (set[i])
            continue;
        if (k->ct[i].def) {
            if (!ct_default(&k->ct[i], src, &vals[i], d))
                ok = false;
        } else {
            lang_error(d, src, k->ct[i].loc,
                       "the specialization \"%s\" gives no value for '%s', which has no default",
                       spec ? spec : "", k->ct[i].name);
            ok = false;
        }
    }
    free(set);
    return ok;
}

static int cmp_name(const void *a, const void *b)
{
    const AstCtParam *x = *(const AstCtParam *const *)a, *y = *(const AstCtParam *const *)b;
    return strcmp(x->name, y->name);
}

char *lang_spec_canonical(const AstKernel *k, const LangSrc *src, const char *spec, LangDiags *d)
{
    LangVal *vals = xmalloc((size_t)k->nct * sizeof *vals);
    if (!lang_spec_bind(k, src, spec, vals, d)) {
        free(vals);
        return NULL;
    }
    const AstCtParam **order = xmalloc((size_t)k->nct * sizeof *order);
    for (int i = 0; i < k->nct; i++)
        order[i] = &k->ct[i];
    qsort(order, (size_t)k->nct, sizeof *order, cmp_name);
    size_t cap = 1;
    for (int i = 0; i < k->nct; i++)
        cap += strlen(k->ct[i].name) + 40;
    char *out = xmalloc(cap);
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < k->nct; i++) {
        char vb[32];
        lang_val_print(vals[order[i] - k->ct], vb, sizeof vb);
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? "," : "", order[i]->name, vb);
    }
    free(order);
    free(vals);
    return out;
}

int lang_file_specs(const char *src, size_t len, LangSpecLine **out)
{
    int n = 0, cap = 0;
    LangSpecLine *v = NULL;
    size_t i = 0;
    int line = 1;
    while (i < len) {
        const char *e = memchr(src + i, '\n', len - i);
        size_t end = e ? (size_t)(e - src) : len;
        size_t j = i;
        while (j < end && (src[j] == ' ' || src[j] == '\t'))
            j++;
        static const char tag[] = "// spec:";
        if (end - j >= sizeof tag - 1 && !memcmp(src + j, tag, sizeof tag - 1)) {
            j += sizeof tag - 1;
            size_t b = j, t = end;
            while (b < t && isspace((unsigned char)src[b]))
                b++;
            while (t > b && isspace((unsigned char)src[t - 1]))
                t--;
            const char *colon = memchr(src + b, ':', t - b);
            LangSpecLine l = {.line = line};
            if (colon) {
                size_t c = (size_t)(colon - src), ke = c;
                while (ke > b && isspace((unsigned char)src[ke - 1]))
                    ke--;
                l.kernel = xmalloc(ke - b + 1);
                memcpy(l.kernel, src + b, ke - b);
                l.kernel[ke - b] = 0;
                b = c + 1;
                while (b < t && isspace((unsigned char)src[b]))
                    b++;
            }
            l.spec = xmalloc(t - b + 1);
            memcpy(l.spec, src + b, t - b);
            l.spec[t - b] = 0;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                LangSpecLine *w = realloc(v, (size_t)cap * sizeof *v);
                if (!w)
                    abort();
                v = w;
            }
            v[n++] = l;
        }
        i = end + 1;
        line++;
    }
    *out = v;
    return n;
}

void lang_spec_lines_free(LangSpecLine *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].kernel);
        free(v[i].spec);
    }
    free(v);
}

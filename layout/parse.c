/* layout/parse.c - read the textual form of a register layout (grammar in
 * print.c). Recursive descent over the string, one function per production.
 *
 * Every failure is a value: LAY_ERR_PARSE with the 1-based column of the
 * offending token and a message (the first error wins). Numbers are capped at
 * LAY_MAX_EXTENT, lists at the fixed capacities, nesting at MAX_DEPTH, so no
 * input overflows, recurses without bound or reads past its end (the parser
 * is fuzzed). A product that does not fit (too many modes, extents over the
 * limit) is reported at its '*'. */
#include "layout/work.h"

#include <stdio.h>
#include <string.h>

enum { MAX_DEPTH = 64, MAX_LIST = LAY_MAX_MODES };

typedef struct {
    const char *s;
    int pos, depth;
    bool failed;
    int errpos;
    char msg[128];
} P;

static bool fail(P *p, int pos, const char *msg)
{
    if (!p->failed) {
        p->failed = true;
        p->errpos = pos + 1;
        snprintf(p->msg, sizeof p->msg, "%s", msg);
    }
    return false;
}

static void skip(P *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static char peek(P *p)
{
    skip(p);
    return p->s[p->pos];
}

static bool accept(P *p, char c)
{
    if (peek(p) != c)
        return false;
    p->pos++;
    return true;
}

static bool expect(P *p, char c)
{
    if (accept(p, c))
        return true;
    char m[64];
    if (p->s[p->pos])
        snprintf(m, sizeof m, "expected '%c' before '%c'", c, p->s[p->pos]);
    else
        snprintf(m, sizeof m, "expected '%c' at end of input", c);
    return fail(p, p->pos, m);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ident := [A-Za-z_][A-Za-z0-9_]*; copies at most n-1 chars. */
static int ident(P *p, char *buf, size_t n)
{
    skip(p);
    int start = p->pos, len = 0;
    while (is_alpha(p->s[p->pos]) || is_digit(p->s[p->pos])) {
        if ((size_t)len + 1 < n)
            buf[len++] = p->s[p->pos];
        p->pos++;
    }
    buf[len] = '\0';
    return p->pos - start;
}

/* int := [0-9]+, at least 1 (min) and at most LAY_MAX_EXTENT */
static bool number(P *p, int *v, int min)
{
    skip(p);
    int start = p->pos;
    if (!is_digit(p->s[p->pos]))
        return fail(p, start, "expected a number");
    int64_t x = 0;
    while (is_digit(p->s[p->pos])) {
        x = x * 10 + (p->s[p->pos++] - '0');
        if (x > LAY_MAX_EXTENT)
            return fail(p, start, "number too large");
    }
    if (x < min)
        return fail(p, start, min == 1 ? "a size must be at least 1" : "number too small");
    *v = (int)x;
    return true;
}

/* '(' [int (',' int)*] ')' */
static bool int_args(P *p, int *v, int *nv, int cap)
{
    *nv = 0;
    if (!expect(p, '('))
        return false;
    if (accept(p, ')'))
        return true;
    do {
        if (*nv == cap)
            return fail(p, p->pos, "too many dims");
        if (!number(p, &v[(*nv)++], 1))
            return false;
    } while (accept(p, ','));
    return expect(p, ')');
}

/* ints := '[' [int (',' int)*] ']' */
static bool int_list(P *p, int *v, int *nv, int cap, int min)
{
    *nv = 0;
    if (!expect(p, '['))
        return false;
    if (accept(p, ']'))
        return true;
    do {
        if (*nv == cap)
            return fail(p, p->pos, "list too long");
        if (!number(p, &v[(*nv)++], min))
            return false;
    } while (accept(p, ','));
    return expect(p, ']');
}

static bool keyword(P *p, const char *kw)
{
    char buf[32], m[64];
    int at = (skip(p), p->pos);
    ident(p, buf, sizeof buf);
    if (strcmp(buf, kw) != 0) {
        snprintf(m, sizeof m, "expected '%s='", kw);
        return fail(p, at, m);
    }
    return expect(p, '=');
}

/* literal := 'layout' '(' 'shape' '=' ints ',' 'modes' '=' '[' ... ']' ','
 *            'spatial' '=' '[' [sp (',' sp)*] ']' ',' 'local' '=' ints ')' */
static bool literal(P *p, int at, Layout *out)
{
    int shape[LAY_MAX_DIMS], rank, size[MAX_LIST], dim[MAX_LIST], nm = 0;
    int sp[MAX_LIST], ns = 0, lo[MAX_LIST], nl = 0;
    if (!expect(p, '(') || !keyword(p, "shape") || !int_list(p, shape, &rank, LAY_MAX_DIMS, 1) ||
        !expect(p, ',') || !keyword(p, "modes") || !expect(p, '['))
        return false;
    int nd = 0;
    if (!accept(p, ']')) {
        do {
            int v[MAX_LIST], nv;
            int lat = (skip(p), p->pos);
            if (!int_list(p, v, &nv, MAX_LIST, 1))
                return false;
            if (nd == rank)
                return fail(p, lat, "more mode lists than dims");
            for (int i = 0; i < nv; i++) {
                if (nm == MAX_LIST)
                    return fail(p, lat, "too many modes");
                size[nm] = v[i];
                dim[nm++] = nd;
            }
            nd++;
        } while (accept(p, ','));
        if (!expect(p, ']'))
            return false;
    }
    if (nd != rank)
        return fail(p, p->pos, "one mode list per dim expected");
    if (!expect(p, ',') || !keyword(p, "spatial") || !expect(p, '['))
        return false;
    if (!accept(p, ']')) {
        do {
            int v, eat = (skip(p), p->pos);
            bool rep = p->s[p->pos] == 'r';
            if (rep)
                p->pos++;
            if (ns == MAX_LIST)
                return fail(p, eat, "list too long");
            if (!number(p, &v, rep ? 1 : 0))
                return false;
            sp[ns++] = rep ? -v : v;
        } while (accept(p, ','));
        if (!expect(p, ']'))
            return false;
    }
    if (!expect(p, ',') || !keyword(p, "local") || !int_list(p, lo, &nl, MAX_LIST, 0) ||
        !expect(p, ')'))
        return false;
    for (int k = 0; k < ns; k++)
        if (sp[k] >= nm)
            return fail(p, at, "layout literal: spatial names a mode that does not exist");
    for (int k = 0; k < nl; k++)
        if (lo[k] >= nm)
            return fail(p, at, "layout literal: local names a mode that does not exist");
    LayStatus st = lay_literal(out, rank, shape, nm, size, dim, ns, sp, nl, lo);
    if (st == LAY_ERR_SHAPE)
        return fail(p, at,
                    "layout literal: each dim's modes must multiply to its size and every "
                    "mode appear once in spatial or local");
    if (st != LAY_OK)
        return fail(p, at, lay_status_str(st));
    return true;
}

static bool expr(P *p, Layout *out);

/* term := '(' expr ')' | prim '(' ints ')' | 'replicate' '(' int ')' | literal */
static bool term(P *p, Layout *out)
{
    int at = (skip(p), p->pos);
    if (accept(p, '(')) {
        if (++p->depth > MAX_DEPTH)
            return fail(p, at, "too deeply nested");
        bool ok = expr(p, out) && expect(p, ')');
        p->depth--;
        return ok;
    }
    char name[32], m[96];
    if (!is_alpha(p->s[p->pos])) {
        if (!p->s[p->pos])
            return fail(p, at, "expected a layout at end of input");
        snprintf(m, sizeof m, "expected a layout, found '%c'", p->s[p->pos]);
        return fail(p, at, m);
    }
    int len = ident(p, name, sizeof name);
    if (strcmp(name, "layout") == 0 && len == 6)
        return literal(p, at, out);
    int v[LAY_MAX_DIMS], nv;
    LayStatus (*ctor)(Layout *, int, const int *) = NULL;
    if (strcmp(name, "local") == 0)
        ctor = lay_local;
    else if (strcmp(name, "spatial") == 0)
        ctor = lay_spatial;
    else if (strcmp(name, "column_local") == 0)
        ctor = lay_column_local;
    else if (strcmp(name, "column_spatial") == 0)
        ctor = lay_column_spatial;
    else if (strcmp(name, "replicate") != 0 || len != 9) {
        snprintf(m, sizeof m, "unknown layout '%.40s'", name);
        return fail(p, at, m);
    }
    if (!int_args(p, v, &nv, LAY_MAX_DIMS))
        return false;
    if (!ctor) {
        if (nv != 1)
            return fail(p, at, "replicate takes one size");
        return lay_replicate(out, v[0]) == LAY_OK || fail(p, at, "bad replicate");
    }
    LayStatus st = ctor(out, nv, v);
    return st == LAY_OK || fail(p, at, lay_status_str(st));
}

/* expr := term ('*' term)* */
static bool expr(P *p, Layout *out)
{
    if (!term(p, out))
        return false;
    while (peek(p) == '*') {
        int at = p->pos++;
        Layout rhs, prod;
        if (!term(p, &rhs))
            return false;
        LayStatus st = lay_product(&prod, *out, rhs);
        if (st != LAY_OK) {
            char m[96];
            snprintf(m, sizeof m, "product does not fit: %s", lay_status_str(st));
            return fail(p, at, m);
        }
        *out = prod;
    }
    return true;
}

LayStatus lay_parse(const char *s, Layout *out, int *errpos, char *err, size_t errn)
{
    P p = {.s = s ? s : ""};
    Layout L;
    bool ok = expr(&p, &L);
    if (ok && peek(&p) != '\0') {
        char m[64];
        snprintf(m, sizeof m, "unexpected '%c' after the layout", p.s[p.pos]);
        ok = fail(&p, p.pos, m);
    }
    if (errpos)
        *errpos = ok ? 0 : p.errpos;
    if (err && errn > 0)
        snprintf(err, errn, "%s", ok ? "" : p.msg);
    if (!ok)
        return LAY_ERR_PARSE;
    if (out)
        *out = L;
    return LAY_OK;
}

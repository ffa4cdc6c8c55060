/* lang/diag.c - diagnostics as values.
 *
 * An error is recorded with its file, line, column, message and a copy of the
 * source line, so the list can be rendered long after the source is gone:
 *
 *   k.lpk:3:9: error: unknown name 'y'
 *       x = y + 1;
 *           ^
 *
 * Nothing here prints; lang_diags_render returns a malloc'd string. At most
 * LANG_MAX_DIAGS errors are kept (a fuzzer's input can produce one per byte);
 * the render then ends with a line saying more were dropped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void lang_diags_init(LangDiags *d) { memset(d, 0, sizeof *d); }

void lang_diags_free(LangDiags *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
        free(d->v[i].src_line);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* The text of line `line` (from 1), without its newline; NULL past the end. */
static char *line_of(const LangSrc *src, int line)
{
    if (!src || !src->text || line < 1)
        return NULL;
    const char *s = src->text, *end = s + src->len;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            return NULL;
        s = nl + 1;
    }
    const char *e = memchr(s, '\n', (size_t)(end - s));
    if (!e)
        e = end;
    if (e > s && e[-1] == '\r')
        e--;
    size_t n = (size_t)(e - s);
    if (n > 4096)
        n = 4096;
    char *p = xstrndup(s, n);
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0)
            p[i] = ' ';
    return p;
}

void lang_error(LangDiags *d, const LangSrc *src, LangLoc loc, const char *fmt, ...)
{
    if (d->n >= LANG_MAX_DIAGS) {
        d->truncated = true;
        return;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 8;
        d->v = xrealloc(d->v, (size_t)d->cap * sizeof *d->v);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = xrealloc(NULL, (size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    const char *file = src && src->file ? src->file : "<input>";
    d->v[d->n++] = (LangDiag){
        .file = xstrndup(file, strlen(file)),
        .line = loc.line,
        .col = loc.col,
        .msg = msg,
        .src_line = line_of(src, loc.line),
    };
}

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

char *lang_diags_render(const LangDiags *d)
{
    Buf b = {0};
    put(&b, "", 0);
    for (int i = 0; i < d->n; i++) {
        const LangDiag *g = &d->v[i];
        put(&b, g->file, strlen(g->file));
        putf(&b, ":%d:%d: error: ", g->line, g->col);
        put(&b, g->msg, strlen(g->msg));
        put(&b, "\n", 1);
        if (g->src_line) {
            size_t len = strlen(g->src_line);
            put(&b, g->src_line, len);
            put(&b, "\n", 1);
            for (int c = 1; c < g->col && (size_t)c <= len; c++)
                put(&b, g->src_line[c - 1] == '\t' ? "\t" : " ", 1);
            put(&b, "^\n", 2);
        }
    }
    if (d->truncated)
        putf(&b, "too many errors; only the first %d are shown\n", LANG_MAX_DIAGS);
    return b.s;
}

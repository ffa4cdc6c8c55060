/* layout/print.c - the textual form of a register layout (VM.md 4.1).
 *
 * A layout prints as a product of primitives when it is one, else as the raw
 * literal. Grammar of the text (parse.c reads exactly this, plus spaces):
 *
 *   expr    := term ('*' term)*
 *   term    := '(' expr ')' | prim '(' [int (',' int)*] ')'
 *            | 'replicate' '(' int ')' | literal
 *   prim    := 'local' | 'spatial' | 'column_local' | 'column_spatial'
 *   literal := 'layout' '(' 'shape' '=' ints ',' 'modes' '=' '[' [ints (',' ints)*] ']'
 *              ',' 'spatial' '=' '[' [sp (',' sp)*] ']' ',' 'local' '=' ints ')'
 *   ints    := '[' [int (',' int)*] ']'
 *   sp      := int | 'r' int
 *
 * In the literal, modes lists each dim's mode sizes major to minor (one list
 * per dim, [] for a dim without modes); modes are numbered 0.. across those
 * lists in order; spatial lists the thread modes outermost first, where rN
 * is a replication mode of N threads; local lists the local modes outermost
 * first. Example: local(2,1) * spatial(8,4) * local(1,2) is
 *   layout(shape=[16,8], modes=[[2,8],[4,2]], spatial=[1,2], local=[0,3]).
 *
 * Recognizing a product: peel single-mode factors off the inner end. A local
 * (spatial) mode can be the innermost factor when it is last in the local
 * (spatial) list and the minor-most remaining mode of its dim; a replication
 * last in the spatial list always can. If nothing can be peeled the layout is
 * no product of primitives and prints as a literal. Consecutive factors of
 * one kind on strictly increasing dims print as one row-major primitive, on
 * strictly decreasing dims as one column_ primitive; each primitive is
 * written at the full rank of the layout (so the product has its shape). */
#include "layout/work.h"

#include <stdio.h>
#include <string.h>

void out_printf(Out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->n ? o->n - o->len : 0;
    int k = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->len += (size_t)k;
}

enum { F_REP, F_LOCAL, F_SPATIAL };

typedef struct {
    int kind, dim;
    int64_t size;
} Factor;

/* Factors outermost first; false when L is no product of primitives. */
static bool peel(const Layout *L, Factor *f, int *nf)
{
    int last[LAY_MAX_DIMS];
    for (int d = 0; d < L->rank; d++)
        last[d] = -1;
    for (int m = 0; m < L->nmodes; m++)
        last[L->mode_dim[m]] = m;
    int ns = L->nspatial, nl = L->nlocal, n = 0, prev = -1;
    while (ns > 0 || nl > 0) {
        bool can[3];
        can[F_REP] = ns > 0 && L->spatial[ns - 1] < 0;
        can[F_LOCAL] = nl > 0 && last[L->mode_dim[L->local[nl - 1]]] == L->local[nl - 1];
        can[F_SPATIAL] = ns > 0 && L->spatial[ns - 1] >= 0 &&
                         last[L->mode_dim[L->spatial[ns - 1]]] == L->spatial[ns - 1];
        int k = prev >= 0 && can[prev] ? prev : can[F_REP] ? F_REP : can[F_LOCAL] ? F_LOCAL
                                            : can[F_SPATIAL]             ? F_SPATIAL
                                                                         : -1;
        if (k < 0)
            return false;
        if (k == F_REP) {
            f[n++] = (Factor){F_REP, -1, -(int64_t)L->spatial[--ns]};
        } else {
            int m = k == F_LOCAL ? L->local[--nl] : L->spatial[--ns];
            int d = L->mode_dim[m];
            f[n++] = (Factor){k, d, L->mode_size[m]};
            last[d] = m > 0 && L->mode_dim[m - 1] == d ? m - 1 : -1;
        }
        prev = k;
    }
    for (int i = 0; i < n / 2; i++) {
        Factor t = f[i];
        f[i] = f[n - 1 - i];
        f[n - 1 - i] = t;
    }
    *nf = n;
    return true;
}

static void print_literal(Out *o, const Layout *L)
{
    out_printf(o, "layout(shape=[");
    for (int d = 0; d < L->rank; d++)
        out_printf(o, "%s%d", d ? "," : "", L->shape[d]);
    out_printf(o, "], modes=[");
    for (int d = 0; d < L->rank; d++) {
        out_printf(o, "%s[", d ? "," : "");
        bool first = true;
        for (int m = 0; m < L->nmodes; m++)
            if (L->mode_dim[m] == d) {
                out_printf(o, "%s%d", first ? "" : ",", L->mode_size[m]);
                first = false;
            }
        out_printf(o, "]");
    }
    out_printf(o, "], spatial=[");
    for (int k = 0; k < L->nspatial; k++) {
        if (L->spatial[k] < 0)
            out_printf(o, "%sr%d", k ? "," : "", -L->spatial[k]);
        else
            out_printf(o, "%s%d", k ? "," : "", L->spatial[k]);
    }
    out_printf(o, "], local=[");
    for (int k = 0; k < L->nlocal; k++)
        out_printf(o, "%s%d", k ? "," : "", L->local[k]);
    out_printf(o, "])");
}

static void print_product(Out *o, const Layout *L, const Factor *f, int nf)
{
    if (nf == 0) {
        if (L->rank == 0) {
            out_printf(o, "replicate(1)");
            return;
        }
        out_printf(o, "local(");
        for (int d = 0; d < L->rank; d++)
            out_printf(o, "%s1", d ? "," : "");
        out_printf(o, ")");
        return;
    }
    bool only_rep = true;
    for (int i = 0; i < nf; i++)
        only_rep &= f[i].kind == F_REP;
    if (only_rep && L->rank > 0) {
        out_printf(o, "local(");
        for (int d = 0; d < L->rank; d++)
            out_printf(o, "%s1", d ? "," : "");
        out_printf(o, ") * ");
    }
    for (int i = 0; i < nf;) {
        out_printf(o, "%s", i ? " * " : "");
        if (f[i].kind == F_REP) {
            out_printf(o, "replicate(%lld)", (long long)f[i].size);
            i++;
            continue;
        }
        int j = i + 1, dir = 0;
        while (j < nf && f[j].kind == f[i].kind) {
            int step = f[j].dim > f[j - 1].dim ? 1 : f[j].dim < f[j - 1].dim ? -1 : 0;
            if (step == 0 || (dir != 0 && step != dir))
                break;
            dir = step;
            j++;
        }
        int64_t dims[LAY_MAX_DIMS];
        for (int d = 0; d < L->rank; d++)
            dims[d] = 1;
        for (int k = i; k < j; k++)
            dims[f[k].dim] = f[k].size;
        out_printf(o, "%s%s(", dir < 0 ? "column_" : "", f[i].kind == F_LOCAL ? "local" : "spatial");
        for (int d = 0; d < L->rank; d++)
            out_printf(o, "%s%lld", d ? "," : "", (long long)dims[d]);
        out_printf(o, ")");
        i = j;
    }
}

int lay_print(Layout L, char *buf, size_t n)
{
    Out o = {buf, n, 0};
    if (n > 0)
        buf[0] = '\0';
    Layout c = L;
    Factor f[2 * LAY_MAX_MODES];
    int nf = 0;
    if (lay_canon(&c) != LAY_OK)
        out_printf(&o, "<invalid layout>");
    else if (peel(&c, f, &nf))
        print_product(&o, &c, f, nf);
    else
        print_literal(&o, &c);
    return (int)o.len;
}

/* layout/picture.c - draw a register layout as a grid (what `lpvm layout`
 * prints).
 *
 * First line: the layout's text, its shape, T and n. Then one row per index
 * of the leading dims (rank 0 and 1 draw one row; rank > 2 label each row with
 * its leading coordinates) and one column per index of the last dim. Each
 * cell is "t:l", the lowest thread t holding the element at its local l;
 * "*R" follows when R threads hold it (replication). Tensors over
 * PICTURE_MAX elements are summarized, not drawn. */
#include "layout/work.h"

#include <stdio.h>
#include <string.h>

enum { PICTURE_MAX = 1 << 16 };

static int cell(Layout L, const int32_t *idx, char *buf, size_t n)
{
    int t, l;
    int R = lay_owners(L, idx, &t, &l, 1);
    if (R == 0)
        return snprintf(buf, n, "?");
    if (R == 1)
        return snprintf(buf, n, "%d:%d", t, l);
    return snprintf(buf, n, "%d:%d*%d", t, l, R);
}

static void unravel(const Layout *L, int64_t flat, int32_t *idx)
{
    for (int d = L->rank - 1; d >= 0; d--) {
        idx[d] = (int32_t)(flat % L->shape[d]);
        flat /= L->shape[d];
    }
}

static int row_label(const Layout *L, const int32_t *idx, char *buf, size_t n)
{
    int len = 0;
    buf[0] = '\0';
    for (int d = 0; d + 1 < L->rank; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%d", d ? "," : "", idx[d]);
    return len;
}

int lay_picture(Layout L, char *buf, size_t n)
{
    Out o = {buf, n, 0};
    if (n > 0)
        buf[0] = '\0';
    char text[1024];
    lay_print(L, text, sizeof text);
    if (lay_canon(&L) != LAY_OK) {
        out_printf(&o, "%s\n", text);
        return (int)o.len;
    }
    out_printf(&o, "%s  shape=[", text);
    for (int d = 0; d < L.rank; d++)
        out_printf(&o, "%s%d", d ? "," : "", L.shape[d]);
    out_printf(&o, "] T=%d n=%d\n", lay_num_threads(L), lay_local_size(L));
    int64_t numel = lay_numel(L);
    if (numel > PICTURE_MAX) {
        out_printf(&o, "(%lld elements: too many to draw)\n", (long long)numel);
        return (int)o.len;
    }
    int64_t cols = L.rank > 0 ? L.shape[L.rank - 1] : 1, rows = numel / cols;
    int32_t idx[LAY_MAX_DIMS] = {0};
    char c[64], lab[128];
    int cw = 1, lw = 1;
    for (int64_t i = 0; i < numel; i++) {
        unravel(&L, i, idx);
        int k = cell(L, idx, c, sizeof c);
        cw = k > cw ? k : cw;
        k = row_label(&L, idx, lab, sizeof lab);
        lw = k > lw ? k : lw;
    }
    for (int64_t j = 0; j < cols; j++) {
        int k = snprintf(c, sizeof c, "%lld", (long long)j);
        cw = k > cw ? k : cw;
    }
    out_printf(&o, "%*s ", lw, "");
    for (int64_t j = 0; j < cols; j++)
        out_printf(&o, " %*lld", cw, (long long)j);
    out_printf(&o, "\n");
    for (int64_t r = 0; r < rows; r++) {
        unravel(&L, r * cols, idx);
        row_label(&L, idx, lab, sizeof lab);
        if (L.rank <= 1)
            snprintf(lab, sizeof lab, "%lld", (long long)r);
        out_printf(&o, "%*s:", lw, lab);
        for (int64_t j = 0; j < cols; j++) {
            unravel(&L, r * cols + j, idx);
            cell(L, idx, c, sizeof c);
            out_printf(&o, " %*s", cw, c);
        }
        out_printf(&o, "\n");
    }
    return (int)o.len;
}

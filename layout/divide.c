/* layout/divide.c - the operations that regroup modes: divide, left_divide,
 * reduce, permute, reshape, flatten, stack (VM.md 4.1).
 *
 * divide(A, B) = Q with A == Q * B. In Q * B, B's spatial and local lists
 * are the inner ends of the lists and B's modes the minor ends of each dim.
 * So B's entries are matched against A's from the inner end of each list,
 * splitting an A mode (major rest, minor part matched) when B's mode divides
 * it; then every dim must end in exactly B's modes, in B's order. Because A
 * is canonical (neighbours adjacent in dim and list are merged), a B mode can
 * never span two A modes, so this greedy match finds Q whenever one exists.
 * The result is checked once more with the product (Q * B == A). B of a
 * higher rank than A never divides it (the product has B's rank).
 *
 * left_divide uses the reversal rev (lists reversed, each dim's modes
 * reversed), a structural involution with rev(A * B) == rev(B) * rev(A):
 * A == B * Q  <=>  rev(A) == rev(Q) * rev(B).
 *
 * reshape is row-major: flatten (all modes onto one dim, dims in order), then
 * cut the flat modes into the new dims from the minor end, splitting a mode
 * where a new dim boundary falls inside it. A boundary that cuts a mode
 * whose size it does not divide cannot be expressed: LAY_ERR_DIVIDE.
 *
 * stack(k, [L, ..., L]) = local(k, 1, ..., 1) * unsqueeze(L): k equal
 * layouts side by side along a new leading dim, element (i, ...) of copy i at
 * local i * n + l of the threads that hold it in L. Different layouts cannot
 * share one Kronecker form: LAY_ERR_SHAPE. */
#include "layout/work.h"

#include <string.h>

static LayStatus reverse(Layout *out, Layout L)
{
    Work w;
    memset(&w, 0, sizeof w);
    w.rank = L.rank;
    for (int d = 0; d < L.rank; d++)
        w.shape[d] = L.shape[d];
    int map[LAY_MAX_MODES];
    for (int s = 0; s < L.nmodes;) {
        int e = s;
        while (e < L.nmodes && L.mode_dim[e] == L.mode_dim[s])
            e++;
        for (int m = s; m < e; m++) {
            map[m] = s + e - 1 - m;
            w.size[map[m]] = L.mode_size[m];
            w.dim[map[m]] = L.mode_dim[m];
            w.tag[map[m]] = -1;
        }
        s = e;
    }
    w.nm = L.nmodes;
    for (int k = L.nspatial - 1; k >= 0; k--)
        w.sp[w.ns++] = L.spatial[k] < 0 ? L.spatial[k] : map[L.spatial[k]];
    for (int k = L.nlocal - 1; k >= 0; k--)
        w.lo[w.nl++] = map[L.local[k]];
    return work_pack(&w, out);
}

/* Match b's list (inner end first) against the inner end of w's list;
 * returns the length of w's unmatched prefix, -1 if no match, -2 if out of
 * room. */
static int match_list(Work *w, bool sp, const Layout *b, int off)
{
    int nb = sp ? b->nspatial : b->nlocal;
    int i = (sp ? w->ns : w->nl) - 1;
    for (int j = nb - 1; j >= 0; j--) {
        if (i < 0)
            return -1;
        int64_t e = sp ? b->spatial[j] : b->local[j];
        int64_t x = sp ? w->sp[i] : w->lo[i];
        if (e < 0) {
            if (x >= 0 || (-x) % (-e) != 0)
                return -1;
            if (x == e) {
                i--;
                continue;
            }
            w->sp[i] = -((-x) / (-e));
            if (!work_insert(w, true, i + 1, e))
                return -2;
            continue;
        }
        int64_t bs = b->mode_size[e];
        if (x < 0 || w->dim[x] != b->mode_dim[e] + off || w->size[x] % bs != 0)
            return -1;
        if (w->size[x] == bs) {
            w->tag[x] = (int)e;
            i--;
            continue;
        }
        if (!work_split(w, (int)x, w->size[x] / bs, bs))
            return -2;
        w->tag[x + 1] = (int)e;
    }
    return i + 1;
}

LayStatus lay_divide(Layout *q, Layout a, Layout b)
{
    if (b.rank > a.rank)
        return LAY_ERR_DIVIDE;
    int off = a.rank - b.rank;
    int64_t bs[LAY_MAX_DIMS];
    for (int d = 0; d < a.rank; d++) {
        bs[d] = d >= off ? b.shape[d - off] : 1;
        if (a.shape[d] % bs[d] != 0)
            return LAY_ERR_DIVIDE;
    }
    Work w;
    work_from(&w, a);
    int ns = match_list(&w, true, &b, off);
    if (ns < 0)
        return ns == -2 ? LAY_ERR_RANK : LAY_ERR_DIVIDE;
    int nl = match_list(&w, false, &b, off);
    if (nl < 0)
        return nl == -2 ? LAY_ERR_RANK : LAY_ERR_DIVIDE;
    for (int d = off; d < a.rank; d++) {
        int bm[LAY_MAX_MODES], nbm = 0, wm[W_MAX], nwm = 0;
        for (int m = 0; m < b.nmodes; m++)
            if (b.mode_dim[m] == d - off)
                bm[nbm++] = m;
        for (int m = 0; m < w.nm; m++)
            if (w.dim[m] == d)
                wm[nwm++] = m;
        if (nwm < nbm)
            return LAY_ERR_DIVIDE;
        for (int k = 0; k < nwm; k++) {
            int want = k < nwm - nbm ? -1 : bm[k - (nwm - nbm)];
            if (w.tag[wm[k]] != want)
                return LAY_ERR_DIVIDE;
        }
    }
    Work qw;
    memset(&qw, 0, sizeof qw);
    qw.rank = a.rank;
    int map[W_MAX];
    for (int d = 0; d < a.rank; d++)
        qw.shape[d] = a.shape[d] / bs[d];
    for (int m = 0; m < w.nm; m++)
        if (w.tag[m] < 0) {
            map[m] = qw.nm;
            qw.size[qw.nm] = w.size[m];
            qw.dim[qw.nm] = w.dim[m];
            qw.tag[qw.nm++] = -1;
        }
    for (int k = 0; k < ns; k++) {
        if (w.sp[k] >= 0 && w.tag[w.sp[k]] >= 0)
            return LAY_ERR_DIVIDE;
        qw.sp[qw.ns++] = w.sp[k] < 0 ? w.sp[k] : map[w.sp[k]];
    }
    for (int k = 0; k < nl; k++) {
        if (w.tag[w.lo[k]] >= 0)
            return LAY_ERR_DIVIDE;
        qw.lo[qw.nl++] = map[w.lo[k]];
    }
    Layout res, check;
    LayStatus st = work_pack(&qw, &res);
    if (st != LAY_OK)
        return st;
    if (lay_product(&check, res, b) != LAY_OK || !lay_eq(check, a))
        return LAY_ERR_DIVIDE;
    *q = res;
    return LAY_OK;
}

LayStatus lay_left_divide(Layout *q, Layout a, Layout b)
{
    Layout ra, rb, rq;
    LayStatus st;
    if ((st = reverse(&ra, a)) != LAY_OK || (st = reverse(&rb, b)) != LAY_OK)
        return st;
    if ((st = lay_divide(&rq, ra, rb)) != LAY_OK)
        return st;
    return reverse(q, rq);
}

LayStatus lay_reduce(Layout *out, Layout L, int ndims, const int *dims, bool keepdim)
{
    bool red[LAY_MAX_DIMS] = {false};
    if (ndims < 0 || (ndims > 0 && !dims))
        return LAY_ERR_SHAPE;
    for (int i = 0; i < ndims; i++) {
        int d = dims[i] < 0 ? dims[i] + L.rank : dims[i];
        if (d < 0 || d >= L.rank || red[d])
            return LAY_ERR_SHAPE;
        red[d] = true;
    }
    Work w;
    memset(&w, 0, sizeof w);
    int newd[LAY_MAX_DIMS], map[LAY_MAX_MODES];
    for (int d = 0; d < L.rank; d++) {
        if (red[d] && !keepdim) {
            newd[d] = -1;
            continue;
        }
        newd[d] = w.rank;
        w.shape[w.rank++] = red[d] ? 1 : L.shape[d];
    }
    for (int m = 0; m < L.nmodes; m++) {
        map[m] = -1;
        if (red[L.mode_dim[m]])
            continue;
        map[m] = w.nm;
        w.size[w.nm] = L.mode_size[m];
        w.dim[w.nm] = newd[L.mode_dim[m]];
        w.tag[w.nm++] = -1;
    }
    for (int k = 0; k < L.nspatial; k++) {
        int32_t e = L.spatial[k];
        w.sp[w.ns++] = e < 0 ? e : map[e] >= 0 ? map[e] : -(int64_t)L.mode_size[e];
    }
    for (int k = 0; k < L.nlocal; k++)
        if (map[L.local[k]] >= 0)
            w.lo[w.nl++] = map[L.local[k]];
    return work_pack(&w, out);
}

LayStatus lay_permute(Layout *out, Layout L, const int *perm)
{
    bool seen[LAY_MAX_DIMS] = {false};
    if (L.rank > 0 && !perm)
        return LAY_ERR_SHAPE;
    for (int i = 0; i < L.rank; i++) {
        if (perm[i] < 0 || perm[i] >= L.rank || seen[perm[i]])
            return LAY_ERR_SHAPE;
        seen[perm[i]] = true;
    }
    Work w;
    memset(&w, 0, sizeof w);
    w.rank = L.rank;
    int map[LAY_MAX_MODES];
    for (int i = 0; i < L.rank; i++) {
        w.shape[i] = L.shape[perm[i]];
        for (int m = 0; m < L.nmodes; m++)
            if (L.mode_dim[m] == perm[i]) {
                map[m] = w.nm;
                w.size[w.nm] = L.mode_size[m];
                w.dim[w.nm] = i;
                w.tag[w.nm++] = -1;
            }
    }
    for (int k = 0; k < L.nspatial; k++)
        w.sp[w.ns++] = L.spatial[k] < 0 ? L.spatial[k] : map[L.spatial[k]];
    for (int k = 0; k < L.nlocal; k++)
        w.lo[w.nl++] = map[L.local[k]];
    return work_pack(&w, out);
}

LayStatus lay_flatten(Layout *out, Layout L)
{
    int64_t numel = lay_numel(L);
    if (numel > LAY_MAX_EXTENT)
        return LAY_ERR_SHAPE;
    Work w;
    work_from(&w, L);
    w.rank = 1;
    w.shape[0] = numel;
    for (int m = 0; m < w.nm; m++)
        w.dim[m] = 0;
    return work_pack(&w, out);
}

LayStatus lay_reshape(Layout *out, Layout L, int rank, const int *shape)
{
    if (rank < 0 || rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (rank > 0 && !shape)
        return LAY_ERR_SHAPE;
    int64_t numel = 1;
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 1 || shape[d] > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
        numel *= shape[d];
        if (numel > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
    }
    if (numel != lay_numel(L))
        return LAY_ERR_SHAPE;
    Layout flat;
    LayStatus st = lay_flatten(&flat, L);
    if (st != LAY_OK)
        return st;
    Work w;
    work_from(&w, flat);
    w.rank = rank;
    for (int d = 0; d < rank; d++)
        w.shape[d] = shape[d];
    int d = rank - 1;
    int64_t need = d >= 0 ? shape[d] : 1;
    for (int m = w.nm - 1; m >= 0;) {
        while (need == 1 && d > 0)
            need = shape[--d];
        int64_t s = w.size[m];
        if (need == 1)
            return LAY_ERR_SHAPE;
        if (need % s == 0) {
            w.dim[m--] = d;
            need /= s;
        } else if (s % need == 0) {
            if (!work_split(&w, m, s / need, need))
                return LAY_ERR_RANK;
            w.dim[m + 1] = d;
            need = 1;
        } else {
            return LAY_ERR_DIVIDE;
        }
    }
    return work_pack(&w, out);
}

LayStatus lay_stack(Layout *out, int n, const Layout *ls)
{
    if (n < 1 || !ls)
        return LAY_ERR_SHAPE;
    for (int i = 1; i < n; i++)
        if (!lay_eq(ls[0], ls[i]))
            return LAY_ERR_SHAPE;
    Layout L = ls[0];
    if (L.rank + 1 > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    Work w;
    work_from(&w, L);
    w.rank = L.rank + 1;
    for (int d = L.rank; d > 0; d--)
        w.shape[d] = w.shape[d - 1];
    w.shape[0] = 1;
    for (int m = 0; m < w.nm; m++)
        w.dim[m]++;
    Layout un, outer;
    LayStatus st = work_pack(&w, &un);
    if (st != LAY_OK)
        return st;
    int dims[LAY_MAX_DIMS];
    dims[0] = n;
    for (int d = 1; d < w.rank; d++)
        dims[d] = 1;
    if ((st = lay_local(&outer, w.rank, dims)) != LAY_OK)
        return st;
    return lay_product(out, outer, un);
}

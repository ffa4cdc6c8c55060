/* layout/register.c - register layouts: construction, canonical form, the
 * Kronecker product and the queries the interpreter and codegen ask
 * (apply, owners, symbolic apply, contiguity) (VM.md 4.1).
 *
 * A Layout is a fixed-capacity value. Every operation builds its result in a
 * roomier scratch form (Work, up to W_MAX modes and list entries, 64-bit
 * sizes) and packs it: canonicalize (drop size-1 modes and replications of 1,
 * merge neighbours adjacent in their dim and in the same order list), check
 * the extents (dims, T, n <= LAY_MAX_EXTENT) and the capacity of Layout.
 *
 * Invariants of a Layout: modes are numbered dims in order, major to minor
 * within a dim (mode_dim nondecreasing); the mode sizes of a dim multiply to
 * its extent; each mode appears exactly once in spatial or local. Then
 *   L(t, l) = per dim, the mixed-radix number of its mode coordinates, where
 *   t unravels over spatial (outermost first) and l over local.
 * The spatial and local contributions add: index = S(t) + Lc(l).
 *
 * divide.c holds the operations that regroup modes (divide, reduce, permute,
 * reshape, flatten, stack); it shares Work through layout/work.h. */
#include "layout/work.h"

#include <string.h>

const char *lay_status_str(LayStatus s)
{
    switch (s) {
#define X(e, str) \
    case e:       \
        return str;
        LAY_STATUS(X)
#undef X
    }
    return "unknown layout status";
}

/* ---- scratch form */

void work_from(Work *w, Layout L)
{
    memset(w, 0, sizeof *w);
    w->rank = L.rank;
    w->nm = L.nmodes;
    w->ns = L.nspatial;
    w->nl = L.nlocal;
    for (int d = 0; d < L.rank; d++)
        w->shape[d] = L.shape[d];
    for (int m = 0; m < L.nmodes; m++) {
        w->size[m] = L.mode_size[m];
        w->dim[m] = L.mode_dim[m];
        w->tag[m] = -1;
    }
    for (int k = 0; k < L.nspatial; k++)
        w->sp[k] = L.spatial[k];
    for (int k = 0; k < L.nlocal; k++)
        w->lo[k] = L.local[k];
}

static void list_remove(int64_t *list, int *n, int k)
{
    for (int j = k; j + 1 < *n; j++)
        list[j] = list[j + 1];
    (*n)--;
}

static void list_insert(int64_t *list, int *n, int k, int64_t v)
{
    for (int j = *n; j > k; j--)
        list[j] = list[j - 1];
    list[k] = v;
    (*n)++;
}

/* Position of mode m in its list; *in_sp tells which list. */
static int find_mode(const Work *w, int m, bool *in_sp)
{
    for (int k = 0; k < w->ns; k++)
        if (w->sp[k] == m) {
            *in_sp = true;
            return k;
        }
    for (int k = 0; k < w->nl; k++)
        if (w->lo[k] == m) {
            *in_sp = false;
            return k;
        }
    return -1;
}

static void remove_mode(Work *w, int m)
{
    bool in_sp;
    int k = find_mode(w, m, &in_sp);
    if (k >= 0)
        list_remove(in_sp ? w->sp : w->lo, in_sp ? &w->ns : &w->nl, k);
    for (int j = 0; j < w->ns; j++)
        if (w->sp[j] > m)
            w->sp[j]--;
    for (int j = 0; j < w->nl; j++)
        if (w->lo[j] > m)
            w->lo[j]--;
    for (int j = m; j + 1 < w->nm; j++) {
        w->size[j] = w->size[j + 1];
        w->dim[j] = w->dim[j + 1];
        w->tag[j] = w->tag[j + 1];
    }
    w->nm--;
}

bool work_split(Work *w, int m, int64_t major, int64_t minor)
{
    if (w->nm >= W_MAX || w->ns >= W_MAX || w->nl >= W_MAX)
        return false;
    bool in_sp;
    int k = find_mode(w, m, &in_sp);
    for (int j = 0; j < w->ns; j++)
        if (w->sp[j] > m)
            w->sp[j]++;
    for (int j = 0; j < w->nl; j++)
        if (w->lo[j] > m)
            w->lo[j]++;
    for (int j = w->nm; j > m + 1; j--) {
        w->size[j] = w->size[j - 1];
        w->dim[j] = w->dim[j - 1];
        w->tag[j] = w->tag[j - 1];
    }
    w->nm++;
    w->size[m] = major;
    w->size[m + 1] = minor;
    w->dim[m + 1] = w->dim[m];
    w->tag[m + 1] = -1;
    if (k >= 0)
        list_insert(in_sp ? w->sp : w->lo, in_sp ? &w->ns : &w->nl, k + 1, m + 1);
    return true;
}

bool work_insert(Work *w, bool in_sp, int k, int64_t v)
{
    if ((in_sp ? w->ns : w->nl) >= W_MAX)
        return false;
    list_insert(in_sp ? w->sp : w->lo, in_sp ? &w->ns : &w->nl, k, v);
    return true;
}

static bool merge_pass(Work *w, int64_t *list, int *n, bool sp)
{
    for (int k = 0; k + 1 < *n; k++) {
        int64_t p = list[k], q = list[k + 1];
        if (sp && p < 0 && q < 0) {
            list[k] = -(p * q);
            list_remove(list, n, k + 1);
            return true;
        }
        if (p >= 0 && q == p + 1 && w->dim[p] == w->dim[q]) {
            w->size[p] *= w->size[q];
            remove_mode(w, (int)q);
            return true;
        }
    }
    return false;
}

static void canon(Work *w)
{
    for (int m = w->nm - 1; m >= 0; m--)
        if (w->size[m] == 1)
            remove_mode(w, m);
    for (int k = w->ns - 1; k >= 0; k--)
        if (w->sp[k] == -1)
            list_remove(w->sp, &w->ns, k);
    while (merge_pass(w, w->sp, &w->ns, true) || merge_pass(w, w->lo, &w->nl, false))
        ;
}

/* Structural validity: what every Work must satisfy before canon. */
static bool work_valid(const Work *w)
{
    if (w->rank < 0 || w->rank > LAY_MAX_DIMS || w->nm < 0 || w->nm > W_MAX || w->ns < 0 ||
        w->ns > W_MAX || w->nl < 0 || w->nl > W_MAX)
        return false;
    int64_t prod[LAY_MAX_DIMS];
    for (int d = 0; d < w->rank; d++) {
        if (w->shape[d] < 1 || w->shape[d] > LAY_MAX_EXTENT)
            return false;
        prod[d] = 1;
    }
    int seen[W_MAX] = {0};
    for (int m = 0; m < w->nm; m++) {
        if (w->dim[m] < 0 || w->dim[m] >= w->rank || (m > 0 && w->dim[m] < w->dim[m - 1]))
            return false;
        if (w->size[m] < 1 || w->size[m] > LAY_MAX_EXTENT)
            return false;
        prod[w->dim[m]] *= w->size[m];
        if (prod[w->dim[m]] > LAY_MAX_EXTENT)
            return false;
    }
    for (int d = 0; d < w->rank; d++)
        if (prod[d] != w->shape[d])
            return false;
    for (int k = 0; k < w->ns; k++) {
        if (w->sp[k] < -(int64_t)LAY_MAX_EXTENT || w->sp[k] >= w->nm)
            return false;
        if (w->sp[k] >= 0)
            seen[w->sp[k]]++;
    }
    for (int k = 0; k < w->nl; k++) {
        if (w->lo[k] < 0 || w->lo[k] >= w->nm)
            return false;
        seen[w->lo[k]]++;
    }
    for (int m = 0; m < w->nm; m++)
        if (seen[m] != 1)
            return false;
    return true;
}

static int64_t entry_size(const Work *w, int64_t e)
{
    return e < 0 ? -e : w->size[e];
}

LayStatus work_pack(Work *w, Layout *out)
{
    for (int d = 0; d < w->rank && d < LAY_MAX_DIMS; d++)
        if (w->shape[d] > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
    if (w->rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (!work_valid(w))
        return LAY_ERR_SHAPE;
    int64_t T = 1, n = 1;
    for (int k = 0; k < w->ns; k++)
        if ((T *= entry_size(w, w->sp[k])) > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
    for (int k = 0; k < w->nl; k++)
        if ((n *= entry_size(w, w->lo[k])) > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
    canon(w);
    if (w->nm > LAY_MAX_MODES || w->ns > LAY_MAX_MODES || w->nl > LAY_MAX_MODES)
        return LAY_ERR_RANK;
    Layout L;
    memset(&L, 0, sizeof L);
    L.rank = (int8_t)w->rank;
    L.nmodes = (int8_t)w->nm;
    L.nspatial = (int8_t)w->ns;
    L.nlocal = (int8_t)w->nl;
    for (int d = 0; d < w->rank; d++)
        L.shape[d] = (int32_t)w->shape[d];
    for (int m = 0; m < w->nm; m++) {
        L.mode_size[m] = (int32_t)w->size[m];
        L.mode_dim[m] = (int8_t)w->dim[m];
    }
    for (int k = 0; k < w->ns; k++)
        L.spatial[k] = (int32_t)w->sp[k];
    for (int k = 0; k < w->nl; k++)
        L.local[k] = (int8_t)w->lo[k];
    *out = L;
    return LAY_OK;
}

/* ---- constructors */

static LayStatus primitive(Layout *out, int rank, const int *dims, bool spatial, bool column)
{
    if (rank < 0 || rank > LAY_MAX_DIMS)
        return LAY_ERR_RANK;
    if (rank > 0 && !dims)
        return LAY_ERR_SHAPE;
    Work w;
    memset(&w, 0, sizeof w);
    w.rank = rank;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 1 || dims[d] > LAY_MAX_EXTENT)
            return LAY_ERR_SHAPE;
        w.shape[d] = dims[d];
        w.size[d] = dims[d];
        w.dim[d] = d;
        w.tag[d] = -1;
    }
    w.nm = rank;
    for (int k = 0; k < rank; k++) {
        int m = column ? rank - 1 - k : k;
        if (spatial)
            w.sp[w.ns++] = m;
        else
            w.lo[w.nl++] = m;
    }
    return work_pack(&w, out);
}

LayStatus lay_local(Layout *out, int rank, const int *dims)
{
    return primitive(out, rank, dims, false, false);
}

LayStatus lay_spatial(Layout *out, int rank, const int *dims)
{
    return primitive(out, rank, dims, true, false);
}

LayStatus lay_column_local(Layout *out, int rank, const int *dims)
{
    return primitive(out, rank, dims, false, true);
}

LayStatus lay_column_spatial(Layout *out, int rank, const int *dims)
{
    return primitive(out, rank, dims, true, true);
}

LayStatus lay_replicate(Layout *out, int r)
{
    if (r < 1 || r > LAY_MAX_EXTENT)
        return LAY_ERR_SHAPE;
    Work w;
    memset(&w, 0, sizeof w);
    w.sp[w.ns++] = -(int64_t)r;
    return work_pack(&w, out);
}

LayStatus lay_literal(Layout *out, int rank, const int *shape, int nmodes, const int *mode_size,
                      const int *mode_dim, int nspatial, const int *spatial, int nlocal,
                      const int *local)
{
    if (rank < 0 || rank > LAY_MAX_DIMS || nmodes < 0 || nmodes > W_MAX || nspatial < 0 ||
        nspatial > W_MAX || nlocal < 0 || nlocal > W_MAX)
        return LAY_ERR_RANK;
    Work w;
    memset(&w, 0, sizeof w);
    w.rank = rank;
    w.nm = nmodes;
    w.ns = nspatial;
    w.nl = nlocal;
    for (int d = 0; d < rank; d++)
        w.shape[d] = shape[d];
    for (int m = 0; m < nmodes; m++) {
        w.size[m] = mode_size[m];
        w.dim[m] = mode_dim[m];
        w.tag[m] = -1;
    }
    for (int k = 0; k < nspatial; k++)
        w.sp[k] = spatial[k];
    for (int k = 0; k < nlocal; k++)
        w.lo[k] = local[k];
    return work_pack(&w, out);
}

LayStatus lay_canon(Layout *L)
{
    if (L->rank < 0 || L->rank > LAY_MAX_DIMS || L->nmodes < 0 || L->nmodes > LAY_MAX_MODES ||
        L->nspatial < 0 || L->nspatial > LAY_MAX_MODES || L->nlocal < 0 ||
        L->nlocal > LAY_MAX_MODES)
        return LAY_ERR_RANK;
    Work w;
    work_from(&w, *L);
    return work_pack(&w, L);
}

/* ---- scalar queries */

int lay_num_threads(Layout L)
{
    int64_t T = 1;
    for (int k = 0; k < L.nspatial; k++)
        T *= L.spatial[k] < 0 ? -(int64_t)L.spatial[k] : L.mode_size[L.spatial[k]];
    return (int)T;
}

int lay_local_size(Layout L)
{
    int64_t n = 1;
    for (int k = 0; k < L.nlocal; k++)
        n *= L.mode_size[L.local[k]];
    return (int)n;
}

int64_t lay_numel(Layout L)
{
    int64_t n = 1;
    for (int d = 0; d < L.rank; d++)
        n *= L.shape[d];
    return n;
}

bool lay_eq(Layout a, Layout b)
{
    if (a.rank != b.rank || a.nmodes != b.nmodes || a.nspatial != b.nspatial ||
        a.nlocal != b.nlocal)
        return false;
    for (int d = 0; d < a.rank; d++)
        if (a.shape[d] != b.shape[d])
            return false;
    for (int m = 0; m < a.nmodes; m++)
        if (a.mode_size[m] != b.mode_size[m] || a.mode_dim[m] != b.mode_dim[m])
            return false;
    for (int k = 0; k < a.nspatial; k++)
        if (a.spatial[k] != b.spatial[k])
            return false;
    for (int k = 0; k < a.nlocal; k++)
        if (a.local[k] != b.local[k])
            return false;
    return true;
}

static uint64_t mix(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint64_t)(v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t lay_hash(Layout L)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, L.rank);
    h = mix(h, L.nmodes);
    h = mix(h, L.nspatial);
    h = mix(h, L.nlocal);
    for (int d = 0; d < L.rank; d++)
        h = mix(h, L.shape[d]);
    for (int m = 0; m < L.nmodes; m++)
        h = mix(mix(h, L.mode_size[m]), L.mode_dim[m]);
    for (int k = 0; k < L.nspatial; k++)
        h = mix(h, L.spatial[k]);
    for (int k = 0; k < L.nlocal; k++)
        h = mix(h, L.local[k]);
    return h;
}

/* ---- the product */

LayStatus lay_product(Layout *out, Layout a, Layout b)
{
    int r = a.rank > b.rank ? a.rank : b.rank;
    int offa = r - a.rank, offb = r - b.rank;
    int mapa[LAY_MAX_MODES], mapb[LAY_MAX_MODES];
    Work w;
    memset(&w, 0, sizeof w);
    w.rank = r;
    for (int d = 0; d < r; d++) {
        int64_t sa = d >= offa ? a.shape[d - offa] : 1;
        int64_t sb = d >= offb ? b.shape[d - offb] : 1;
        w.shape[d] = sa * sb;
        for (int m = 0; m < a.nmodes; m++)
            if (a.mode_dim[m] + offa == d) {
                mapa[m] = w.nm;
                w.size[w.nm] = a.mode_size[m];
                w.tag[w.nm] = -1;
                w.dim[w.nm++] = d;
            }
        for (int m = 0; m < b.nmodes; m++)
            if (b.mode_dim[m] + offb == d) {
                mapb[m] = w.nm;
                w.size[w.nm] = b.mode_size[m];
                w.tag[w.nm] = -1;
                w.dim[w.nm++] = d;
            }
    }
    for (int k = 0; k < a.nspatial; k++)
        w.sp[w.ns++] = a.spatial[k] < 0 ? a.spatial[k] : mapa[a.spatial[k]];
    for (int k = 0; k < b.nspatial; k++)
        w.sp[w.ns++] = b.spatial[k] < 0 ? b.spatial[k] : mapb[b.spatial[k]];
    for (int k = 0; k < a.nlocal; k++)
        w.lo[w.nl++] = mapa[a.local[k]];
    for (int k = 0; k < b.nlocal; k++)
        w.lo[w.nl++] = mapb[b.local[k]];
    return work_pack(&w, out);
}

/* ---- apply, owners */

/* Stride of mode m inside its dim: the sizes of the more minor modes. */
static int64_t dim_stride(const Layout *L, int m)
{
    int64_t s = 1;
    for (int j = m + 1; j < L->nmodes && L->mode_dim[j] == L->mode_dim[m]; j++)
        s *= L->mode_size[j];
    return s;
}

/* t and l are taken in [0, T) and [0, n); values outside wrap. */
void lay_apply(Layout L, int t, int l, int32_t *idx)
{
    int64_t coord[LAY_MAX_MODES] = {0};
    int64_t tt = t < 0 ? 0 : t, ll = l < 0 ? 0 : l;
    for (int k = L.nspatial - 1; k >= 0; k--) {
        int32_t e = L.spatial[k];
        int64_t s = e < 0 ? -(int64_t)e : L.mode_size[e];
        if (e >= 0)
            coord[e] = tt % s;
        tt /= s;
    }
    for (int k = L.nlocal - 1; k >= 0; k--) {
        int m = L.local[k];
        coord[m] = ll % L.mode_size[m];
        ll /= L.mode_size[m];
    }
    for (int d = 0; d < L.rank; d++)
        idx[d] = 0;
    for (int m = 0; m < L.nmodes; m++) {
        int d = L.mode_dim[m];
        idx[d] = (int32_t)(idx[d] * L.mode_size[m] + coord[m]);
    }
}

int lay_owners(Layout L, const int32_t *idx, int *t, int *l, int cap)
{
    int64_t coord[LAY_MAX_MODES] = {0}, rest[LAY_MAX_DIMS];
    for (int d = 0; d < L.rank; d++) {
        if (idx[d] < 0 || idx[d] >= L.shape[d])
            return 0;
        rest[d] = idx[d];
    }
    for (int m = L.nmodes - 1; m >= 0; m--) {
        int d = L.mode_dim[m];
        coord[m] = rest[d] % L.mode_size[m];
        rest[d] /= L.mode_size[m];
    }
    int64_t lv = 0, R = 1;
    for (int k = 0; k < L.nlocal; k++)
        lv = lv * L.mode_size[L.local[k]] + coord[L.local[k]];
    for (int k = 0; k < L.nspatial; k++)
        if (L.spatial[k] < 0)
            R *= -(int64_t)L.spatial[k];
    for (int64_t r = 0; r < R && r < cap; r++) {
        int64_t rr = r, digit[LAY_MAX_MODES];
        for (int k = L.nspatial - 1; k >= 0; k--)
            if (L.spatial[k] < 0) {
                digit[k] = rr % -(int64_t)L.spatial[k];
                rr /= -(int64_t)L.spatial[k];
            }
        int64_t tv = 0;
        for (int k = 0; k < L.nspatial; k++) {
            int32_t e = L.spatial[k];
            tv = e < 0 ? tv * -(int64_t)e + digit[k] : tv * L.mode_size[e] + coord[e];
        }
        t[r] = (int)tv;
        l[r] = (int)lv;
    }
    return (int)R;
}

/* ---- symbolic apply, contiguity */

void lay_symbolic_apply(Layout L, int l, LayAffine *coord)
{
    int32_t base[LAY_MAX_DIMS];
    lay_apply(L, 0, l, base);
    int64_t T = lay_num_threads(L);
    for (int d = 0; d < L.rank; d++) {
        memset(&coord[d], 0, sizeof coord[d]);
        coord[d].constant = base[d];
    }
    int64_t inner = 1;
    for (int k = L.nspatial - 1; k >= 0; k--) {
        int32_t e = L.spatial[k];
        int64_t s = e < 0 ? -(int64_t)e : L.mode_size[e];
        if (e >= 0 && s > 1) {
            LayAffine *c = &coord[L.mode_dim[e]];
            for (int j = c->nterms; j > 0; j--) {
                c->div[j] = c->div[j - 1];
                c->mod[j] = c->mod[j - 1];
                c->mul[j] = c->mul[j - 1];
            }
            c->div[0] = (int32_t)inner;
            c->mod[0] = inner * s == T ? 0 : (int32_t)s;
            c->mul[0] = (int32_t)dim_stride(&L, e);
            c->nterms++;
        }
        inner *= s;
    }
}

int lay_contiguity(Layout L, int dim, int l)
{
    int n = lay_local_size(L);
    if (dim < 0 || dim >= L.rank || l < 0 || l >= n)
        return 0;
    int32_t base[LAY_MAX_DIMS], idx[LAY_MAX_DIMS];
    lay_apply(L, 0, l, base);
    int j = 1;
    for (; l + j < n; j++) {
        lay_apply(L, 0, l + j, idx);
        base[dim]++;
        if (memcmp(base, idx, sizeof(int32_t) * L.rank) != 0)
            break;
    }
    return j;
}

/* tests/test_layout_prop.c - algebraic properties of register layouts over
 * hundreds of random layouts (fixed seeds): random products of random
 * primitives with small, often non-power-of-two dims in 1..3 dims, some
 * passed through permute/reshape/reduce so raw (non-product) layouts occur.
 *   associativity, divide/left_divide undo the product, apply and owners are
 *   inverse and cover every index, symbolic apply agrees with apply,
 *   print/parse round trip, equal layouts hash equal, reshape/permute/stack
 *   agree with apply. */
#include "layout/layout.h"

#include <criterion/criterion.h>
#include <string.h>

enum { N_CASES = 300, MAX_ELEMS = 2048 };

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static int small_dim(void)
{
    static const int pick[] = {1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 8};
    return pick[rnd(sizeof pick / sizeof pick[0])];
}

/* A random primitive of rank <= rank. */
static Layout rand_prim(int rank)
{
    Layout L;
    int r = 1 + (int)rnd((uint32_t)rank), dims[3];
    for (int d = 0; d < r; d++)
        dims[d] = small_dim();
    LayStatus st;
    switch (rnd(9)) {
    case 0: case 1: st = lay_local(&L, r, dims); break;
    case 2: case 3: st = lay_spatial(&L, r, dims); break;
    case 4: st = lay_column_local(&L, r, dims); break;
    case 5: st = lay_column_spatial(&L, r, dims); break;
    case 6: st = lay_replicate(&L, 1 + (int)rnd(3)); break;
    default: st = r == rank ? lay_local(&L, r, dims) : lay_spatial(&L, r, dims); break;
    }
    cr_assert_eq(st, LAY_OK);
    return L;
}

static bool small(Layout L)
{
    return (int64_t)lay_num_threads(L) * lay_local_size(L) <= MAX_ELEMS;
}

/* A random product of 2..5 primitives, at most MAX_ELEMS (t, l) pairs. */
static Layout rand_product(int rank)
{
    for (;;) {
        Layout L = rand_prim(rank);
        int k = 1 + (int)rnd(4);
        for (int i = 0; i < k; i++) {
            Layout P;
            cr_assert_eq(lay_product(&P, L, rand_prim(rank)), LAY_OK);
            L = P;
        }
        if (small(L))
            return L;
    }
}

/* Sometimes reshaped, permuted or reduced: layouts that need not be products. */
static Layout rand_layout(void)
{
    int rank = 1 + (int)rnd(3);
    Layout L = rand_product(rank), M;
    switch (rnd(7)) {
    case 0:
        if (L.rank >= 2) {
            int perm[3] = {0, 1, 2};
            for (int i = L.rank - 1; i > 0; i--) {
                int j = (int)rnd((uint32_t)i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            cr_assert_eq(lay_permute(&M, L, perm), LAY_OK);
            return M;
        }
        return L;
    case 1: {
        int64_t n = lay_numel(L);
        int a = small_dim();
        if (n % a == 0 && lay_reshape(&M, L, 2, (int[]){a, (int)(n / a)}) == LAY_OK)
            return M;
        return L;
    }
    case 2:
        if (L.rank >= 2) {
            cr_assert_eq(lay_reduce(&M, L, 1, (int[]){(int)rnd((uint32_t)L.rank)}, rnd(2)),
                         LAY_OK);
            return M;
        }
        return L;
    case 3:
        cr_assert_eq(lay_flatten(&M, L), LAY_OK);
        return M;
    default:
        return L;
    }
}

static const char *str(Layout L)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    lay_print(L, buf[k], sizeof buf[k]);
    return buf[k];
}

/* L with leading size-1 dims up to rank. */
static Layout pad(Layout L, int rank)
{
    if (L.rank >= rank)
        return L;
    int ones[LAY_MAX_DIMS];
    for (int d = 0; d < rank; d++)
        ones[d] = 1;
    Layout O, P;
    cr_assert_eq(lay_local(&O, rank, ones), LAY_OK);
    cr_assert_eq(lay_product(&P, O, L), LAY_OK);
    return P;
}

Test(layout_prop, product_associative)
{
    rng_state = 1;
    int checked = 0;
    for (int i = 0; i < N_CASES; i++) {
        Layout a = rand_product(3), b = rand_product(2), c = rand_product(3), ab, bc, l, r;
        if (lay_product(&ab, a, b) || lay_product(&l, ab, c) || lay_product(&bc, b, c) ||
            lay_product(&r, a, bc))
            continue;
        cr_expect(lay_eq(l, r), "(%s)*(%s)*(%s): %s vs %s", str(a), str(b), str(c), str(l),
                  str(r));
        cr_expect_eq(lay_hash(l), lay_hash(r));
        checked++;
    }
    cr_expect_gt(checked, N_CASES / 2);
}

Test(layout_prop, divide_undoes_product)
{
    rng_state = 2;
    int checked = 0;
    for (int i = 0; i < N_CASES; i++) {
        Layout a = rand_layout(), b = rand_layout(), ab, q;
        if (lay_product(&ab, a, b) != LAY_OK)
            continue;
        checked++;
        LayStatus st = lay_divide(&q, ab, b);
        cr_expect_eq(st, LAY_OK, "divide(%s, %s)", str(ab), str(b));
        if (st == LAY_OK)
            cr_expect(lay_eq(q, pad(a, ab.rank)), "divide(%s, %s) = %s, want %s", str(ab),
                      str(b), str(q), str(a));
        st = lay_left_divide(&q, ab, a);
        cr_expect_eq(st, LAY_OK, "left_divide(%s, %s)", str(ab), str(a));
        if (st == LAY_OK)
            cr_expect(lay_eq(q, pad(b, ab.rank)), "left_divide(%s, %s) = %s, want %s", str(ab),
                      str(a), str(q), str(b));
    }
    cr_expect_gt(checked, N_CASES * 9 / 10, "%d products fit", checked);
}

/* Whenever divide succeeds, the product gives the layout back. */
Test(layout_prop, divide_sound)
{
    rng_state = 3;
    int ok = 0;
    for (int i = 0; i < N_CASES; i++) {
        Layout a = rand_layout(), b = rand_prim(a.rank ? a.rank : 1), q, back;
        if (lay_divide(&q, a, b) == LAY_OK) {
            ok++;
            cr_assert_eq(lay_product(&back, q, b), LAY_OK);
            cr_expect(lay_eq(back, a), "%s / %s = %s", str(a), str(b), str(q));
        }
        if (lay_left_divide(&q, a, b) == LAY_OK) {
            ok++;
            cr_assert_eq(lay_product(&back, b, q), LAY_OK);
            cr_expect(lay_eq(back, a), "%s \\ %s = %s", str(b), str(a), str(q));
        }
    }
    cr_expect_gt(ok, 20);
}

static int64_t flat_index(Layout L, const int32_t *idx)
{
    int64_t f = 0;
    for (int d = 0; d < L.rank; d++)
        f = f * L.shape[d] + idx[d];
    return f;
}

Test(layout_prop, apply_owners_inverse)
{
    rng_state = 4;
    static int count[MAX_ELEMS * 8];
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_layout();
        int T = lay_num_threads(L), n = lay_local_size(L);
        int64_t numel = lay_numel(L);
        cr_assert_leq(numel, MAX_ELEMS * 8);
        memset(count, 0, sizeof(int) * (size_t)numel);
        bool bad = false;
        for (int t = 0; t < T && !bad; t++)
            for (int l = 0; l < n && !bad; l++) {
                int32_t idx[LAY_MAX_DIMS];
                lay_apply(L, t, l, idx);
                for (int d = 0; d < L.rank; d++)
                    if (idx[d] < 0 || idx[d] >= L.shape[d])
                        bad = true;
                if (bad)
                    break;
                count[flat_index(L, idx)]++;
                int ot[MAX_ELEMS], ol[MAX_ELEMS];
                int k = lay_owners(L, idx, ot, ol, MAX_ELEMS);
                bool found = false;
                for (int j = 0; j < k; j++) {
                    found |= ot[j] == t && ol[j] == l;
                    if (j > 0 && !(ot[j] > ot[j - 1] || (ot[j] == ot[j - 1] && ol[j] > ol[j - 1])))
                        bad = true;
                }
                if (!found)
                    bad = true;
            }
        cr_expect(!bad, "apply/owners of %s", str(L));
        /* onto: every index is held, by the same number of replicas */
        int64_t replicas = (int64_t)T * n / numel;
        cr_expect_eq(replicas * numel, (int64_t)T * n, "%s", str(L));
        bool even = true;
        for (int64_t f = 0; f < numel; f++)
            even &= count[f] == replicas;
        cr_expect(even, "coverage of %s", str(L));
    }
}

Test(layout_prop, symbolic_apply_agrees)
{
    rng_state = 5;
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_layout();
        int T = lay_num_threads(L), n = lay_local_size(L);
        bool ok = true;
        for (int l = 0; l < n; l++) {
            LayAffine a[LAY_MAX_DIMS];
            lay_symbolic_apply(L, l, a);
            for (int d = 0; d < L.rank; d++)
                for (int k = 0; k < a[d].nterms; k++)
                    ok &= a[d].mod[k] != 1 && a[d].div[k] >= 1;
            for (int t = 0; t < T; t++) {
                int32_t idx[LAY_MAX_DIMS];
                lay_apply(L, t, l, idx);
                for (int d = 0; d < L.rank; d++) {
                    int64_t v = a[d].constant;
                    for (int k = 0; k < a[d].nterms; k++) {
                        int64_t q = t / a[d].div[k];
                        v += (a[d].mod[k] ? q % a[d].mod[k] : q) * a[d].mul[k];
                    }
                    ok &= v == idx[d];
                }
            }
        }
        cr_expect(ok, "symbolic apply of %s", str(L));
    }
}

Test(layout_prop, print_parse_round_trip)
{
    rng_state = 6;
    int literals = 0;
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_layout(), P;
        char buf[1024], err[128];
        int n = lay_print(L, buf, sizeof buf), pos = -1;
        cr_assert_lt(n, (int)sizeof buf);
        cr_expect_eq((int)strlen(buf), n);
        literals += strncmp(buf, "layout(", 7) == 0;
        LayStatus st = lay_parse(buf, &P, &pos, err, sizeof err);
        cr_expect_eq(st, LAY_OK, "parse '%s': %d: %s", buf, pos, err);
        if (st == LAY_OK) {
            cr_expect(lay_eq(P, L), "round trip of %s gives %s", buf, str(P));
            cr_expect_eq(lay_hash(P), lay_hash(L));
        }
    }
    cr_expect_gt(literals, 5, "raw literals occur (%d)", literals);
    cr_expect_lt(literals, N_CASES / 2, "most are products (%d literals)", literals);
}

Test(layout_prop, flatten_reshape_permute_agree)
{
    rng_state = 7;
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_layout(), F, R, P, Q;
        int T = lay_num_threads(L), n = lay_local_size(L);
        cr_assert_eq(lay_flatten(&F, L), LAY_OK);
        int shape[LAY_MAX_DIMS], perm[LAY_MAX_DIMS], inv[LAY_MAX_DIMS];
        for (int d = 0; d < L.rank; d++) {
            shape[d] = L.shape[d];
            perm[d] = L.rank - 1 - d;
            inv[d] = L.rank - 1 - d;
        }
        cr_expect_eq(lay_reshape(&R, F, L.rank, shape), LAY_OK);
        cr_expect(lay_eq(R, L), "reshape(flatten(%s)) = %s", str(L), str(R));
        cr_assert_eq(lay_permute(&P, L, perm), LAY_OK);
        cr_assert_eq(lay_permute(&Q, P, inv), LAY_OK);
        cr_expect(lay_eq(Q, L), "permute twice %s", str(L));
        bool ok = true;
        for (int t = 0; t < T; t++)
            for (int l = 0; l < n; l++) {
                int32_t a[LAY_MAX_DIMS], f[1], p[LAY_MAX_DIMS];
                lay_apply(L, t, l, a);
                lay_apply(F, t, l, f);
                lay_apply(P, t, l, p);
                ok &= f[0] == flat_index(L, a);
                for (int d = 0; d < L.rank; d++)
                    ok &= p[d] == a[perm[d]];
            }
        cr_expect(ok, "flatten/permute of %s", str(L));
    }
}

Test(layout_prop, reduce_owners)
{
    rng_state = 8;
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_product(3), R;
        if (L.rank < 2)
            continue;
        int d = (int)rnd((uint32_t)L.rank);
        bool keep = rnd(2);
        cr_assert_eq(lay_reduce(&R, L, 1, &d, keep), LAY_OK);
        int T = lay_num_threads(L), n = lay_local_size(L);
        cr_expect_eq(lay_num_threads(R), T);
        cr_expect_eq(R.rank, keep ? L.rank : L.rank - 1);
        /* every (t, l) of L: thread t holds the reduced index in R */
        bool ok = true;
        for (int t = 0; t < T; t++)
            for (int l = 0; l < n; l++) {
                int32_t a[LAY_MAX_DIMS], b[LAY_MAX_DIMS];
                lay_apply(L, t, l, a);
                int k = 0;
                for (int e = 0; e < L.rank; e++)
                    if (e != d)
                        b[k++] = a[e];
                    else if (keep)
                        b[k++] = 0;
                int ot[MAX_ELEMS], ol[MAX_ELEMS];
                int c = lay_owners(R, b, ot, ol, MAX_ELEMS);
                bool found = false;
                for (int j = 0; j < c && j < MAX_ELEMS; j++)
                    found |= ot[j] == t;
                ok &= found;
            }
        cr_expect(ok, "reduce(%s, %d)", str(L), d);
    }
}

Test(layout_prop, stack_and_contiguity)
{
    rng_state = 9;
    for (int i = 0; i < N_CASES; i++) {
        Layout L = rand_layout(), S, ls[3] = {L, L, L};
        if (lay_stack(&S, 3, ls) != LAY_OK) {
            cr_expect_eq(L.rank, LAY_MAX_DIMS);
            continue;
        }
        int T = lay_num_threads(L), n = lay_local_size(L);
        cr_expect_eq(lay_local_size(S), 3 * n);
        bool ok = true;
        for (int t = 0; t < T; t++)
            for (int l = 0; l < 3 * n; l++) {
                int32_t a[LAY_MAX_DIMS], s[LAY_MAX_DIMS];
                lay_apply(L, t, l % n, a);
                lay_apply(S, t, l, s);
                ok &= s[0] == l / n;
                for (int d = 0; d < L.rank; d++)
                    ok &= s[d + 1] == a[d];
            }
        cr_expect(ok, "stack of %s", str(L));
        /* contiguity: the run holds for every thread and stops where it says */
        for (int d = 0; d < L.rank; d++)
            for (int l = 0; l < n; l++) {
                int c = lay_contiguity(L, d, l);
                cr_expect(c >= 1 && l + c <= n);
                for (int t = 0; t < T; t += 1 + T / 4) {
                    int32_t a[LAY_MAX_DIMS], b[LAY_MAX_DIMS];
                    lay_apply(L, t, l, a);
                    for (int j = 1; j <= c && l + j < n; j++) {
                        lay_apply(L, t, l + j, b);
                        a[d]++;
                        bool same = memcmp(a, b, sizeof(int32_t) * (size_t)L.rank) == 0;
                        ok &= j < c ? same : !same;
                    }
                }
            }
        cr_expect(ok, "contiguity of %s", str(L));
    }
}

/* Equal layouts hash equal (above); unequal ones practically never collide. */
Test(layout_prop, hash_distinguishes)
{
    rng_state = 10;
    enum { K = 200 };
    static Layout ls[K];
    for (int i = 0; i < K; i++)
        ls[i] = rand_layout();
    int pairs = 0, equal = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < i; j++) {
            bool eq = lay_eq(ls[i], ls[j]);
            equal += eq;
            pairs += !eq;
            if (eq)
                cr_expect_eq(lay_hash(ls[i]), lay_hash(ls[j]));
            else
                cr_expect_neq(lay_hash(ls[i]), lay_hash(ls[j]), "%s vs %s", str(ls[i]),
                              str(ls[j]));
        }
    cr_expect_gt(pairs, K * (K - 1) / 4);
    cr_expect_gt(equal, 0, "some random layouts coincide");
}

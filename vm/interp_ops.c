/* vm/interp_ops.c - compute instructions on logical register tensors:
 * view, cast, elementwise, dot, reductions, shape changes and constants.
 *
 * Each instruction is a straight loop over row-major Codes; operands are
 * broadcast through index arrays (ix_bcast) made once per instruction.
 * - Arithmetic is vm_binop / vm_fma / vm_cast (bit-exact, VM.md 3).
 * - Unary math (exp exp2 log log2 sqrt rsqrt sin cos tanh sigmoid silu) is
 *   computed in f32 (C's expf, ...) for f32 and narrower floats, then
 *   rounded to the dtype, and in double for f64. sigmoid(x) = 1 / (1 +
 *   exp(-x)), silu(x) = x * sigmoid(x), rsqrt(x) = 1 / sqrt(x). The GPU uses
 *   approximate instructions for these and is compared within a ulp bound.
 *   neg and abs flip or clear the sign (floats; a NaN gives the canonical
 *   NaN) or wrap (ints); not is logical on bool, bitwise otherwise.
 * - Comparisons give bool; a NaN operand makes every comparison false
 *   except != (true).
 * - dot(A, B, C): for each (i, j), acc = C[i, j], then for kk = 0, 1, ...,
 *   K-1: acc = fma(cast(A[i, kk]), cast(B[kk, j]), acc) in C's dtype (one
 *   rounding per step; for f16 or 8-bit inputs into f32 the product is
 *   exact, so this is also mul-then-add; integers wrap).
 * - reduce_sum and cumsum add in the operand's dtype in ascending order,
 *   starting from the first element; max/min use vm_binop MAX/MIN (a NaN
 *   is ignored unless all are NaN); argmax and topk treat NaN as below every
 *   number and take the first index among equal values.
 * - view works per thread (VM.md 5): thread t's elements of the source, in
 *   local order through its layout, are packed LSB first into one bit
 *   string, which is unpacked as the result dtype in the result layout's
 *   local order; replicas of a result element must agree and every element
 *   must be produced. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/interp.h"

/* the result slot, checked against the IR's type of res */
static Ten *def(Interp *ix, const Inst *i, const Value *res, Dtype dt, int rank, const int32_t *shape)
{
    if (!res) {
        ix_fault(ix, i->loc, "%s: no result", vm_op_name(i->op));
        return NULL;
    }
    if (res->dtype != dt || !vm_shape_eq(res->rank, res->shape, rank, shape)) {
        char a[96], b[96];
        vm_shape_str(res->rank, res->shape, a, sizeof a);
        vm_shape_str(rank, shape, b, sizeof b);
        ix_fault(ix, i->loc, "%s: the result is typed %s%s but the operands give %s%s",
                 vm_op_name(i->op), vm_dtype_name(res->dtype), a, vm_dtype_name(dt), b);
        return NULL;
    }
    return ix_def(ix, res, dt, rank, shape);
}

/* ---------------------------------------------------------------- view */

static bool view(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    Layout Ls, Lr;
    const int64_t *ms = x ? ix_lmap(ix, i, i->a[0], &Ls) : NULL, *mr;
    if (!ms)
        return false;
    int bs = vm_dtype_bits(x->dt), br = vm_dtype_bits(i->res->dtype);
    if (i->res->lstate == VM_LAY_UNKNOWN && bs == br &&
        vm_shape_eq(Ls.rank, Ls.shape, i->res->rank, i->res->shape))
        Lr = Ls, mr = ms;
    else if (!(mr = ix_lmap(ix, i, i->res, &Lr)))
        return false;
    int ns = lay_local_size(Ls), nr = lay_local_size(Lr);
    if ((int64_t)ns * bs != (int64_t)nr * br)
        return ix_fault(ix, i->loc, "view: %d x %d bits per thread become %d x %d bits", ns, bs, nr, br);
    Ten *r = def(ix, i, i->res, i->res->dtype, i->res->rank, i->res->shape);
    if (!r)
        return false;
    size_t nbuf = (size_t)((int64_t)ns * bs + 7) / 8;
    uint8_t *seen = ix_xmalloc((size_t)r->n + 1), *buf = ix_xmalloc(nbuf + 8);
    bool ok = true;
    for (int t = 0; t < ix->nthreads && ok; t++) {
        memset(buf, 0, nbuf);
        for (int l = 0; l < ns; l++)
            vm_bits_set(buf, (uint64_t)l * (uint64_t)bs, bs, x->v[ms[(int64_t)t * ns + l]]);
        for (int l = 0; l < nr && ok; l++) {
            int64_t e = mr[(int64_t)t * nr + l];
            Code c = vm_bits_get(buf, (uint64_t)l * (uint64_t)br, br);
            if (seen[e] && r->v[e] != c) {
                int32_t idx[VM_MAX_DIMS];
                char s[128];
                lay_apply(Lr, t, l, idx);
                ix_index_str(r->rank, idx, s, sizeof s);
                ok = ix_fault(ix, i->loc,
                              "view: replicas of result element %s disagree (thread %d gives 0x%llx, "
                              "a lower thread 0x%llx)",
                              s, t, (unsigned long long)c, (unsigned long long)r->v[e]);
            }
            seen[e] = 1;
            r->v[e] = c;
        }
    }
    for (int64_t e = 0; e < r->n && ok; e++)
        if (!seen[e])
            ok = ix_fault(ix, i->loc, "view: result element %lld is not produced by any thread",
                          (long long)e);
    free(seen);
    free(buf);
    return ok;
}

/* ---------------------------------------------------------------- elementwise */

static Code f32_code(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float math_f(Op op, float x)
{
    switch (op) {
    case VM_EXP: return expf(x);
    case VM_EXP2: return exp2f(x);
    case VM_LOG: return logf(x);
    case VM_LOG2: return log2f(x);
    case VM_SQRT: return sqrtf(x);
    case VM_RSQRT: return 1.0f / sqrtf(x);
    case VM_SIN: return sinf(x);
    case VM_COS: return cosf(x);
    case VM_TANH: return tanhf(x);
    case VM_SIGMOID: return 1.0f / (1.0f + expf(-x));
    default: return x * (1.0f / (1.0f + expf(-x))); /* SILU */
    }
}

static double math_d(Op op, double x)
{
    switch (op) {
    case VM_EXP: return exp(x);
    case VM_EXP2: return exp2(x);
    case VM_LOG: return log(x);
    case VM_LOG2: return log2(x);
    case VM_SQRT: return sqrt(x);
    case VM_RSQRT: return 1.0 / sqrt(x);
    case VM_SIN: return sin(x);
    case VM_COS: return cos(x);
    case VM_TANH: return tanh(x);
    case VM_SIGMOID: return 1.0 / (1.0 + exp(-x));
    default: return x * (1.0 / (1.0 + exp(-x)));
    }
}

static Code unary1(Op op, Dtype dt, Code c)
{
    int bits = vm_dtype_bits(dt);
    Code sign = (Code)1 << (bits - 1);
    bool fl = vm_dtype_is_float(dt);
    switch (op) {
    case VM_NEG:
    case VM_ABS:
        if (fl) {
            if (isnan(vm_decode(dt, c)))
                return vm_canonical_nan(dt);
            return op == VM_NEG ? c ^ sign : c & ~sign;
        }
        if (op == VM_ABS && (!vm_dtype_is_signed(dt) || !(c & sign)))
            return c;
        return vm_binop(VM_OP_SUB, dt, 0, c);
    case VM_NOT:
        if (dt == VM_DT_BOOL)
            return c == 0;
        return vm_binop(VM_OP_XOR, dt, c, ~(Code)0);
    default:
        break;
    }
    if (dt == VM_DT_F64) {
        double x;
        memcpy(&x, &c, sizeof x);
        return vm_encode(VM_DT_F64, math_d(op, x));
    }
    return vm_cast(dt, VM_DT_F32, f32_code(math_f(op, (float)vm_decode(dt, c))));
}

static bool unary(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    if (!x)
        return false;
    if (i->op != VM_NEG && i->op != VM_ABS && i->op != VM_NOT && !vm_dtype_is_float(x->dt))
        return ix_fault(ix, i->loc, "%s of %s: a float dtype is needed", vm_op_name(i->op),
                        vm_dtype_name(x->dt));
    Ten *r = def(ix, i, i->res, x->dt, x->rank, x->shape);
    if (!r)
        return false;
    for (int64_t e = 0; e < x->n; e++)
        r->v[e] = unary1(i->op, x->dt, x->v[e]);
    return true;
}

static bool cast(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    if (!x)
        return false;
    Ten *r = def(ix, i, i->res, i->dtype, x->rank, x->shape);
    if (!r)
        return false;
    for (int64_t e = 0; e < x->n; e++)
        r->v[e] = vm_cast(i->dtype, x->dt, x->v[e]);
    return true;
}

/* a < b: -1, a == b: 0, a > b: 1; 2 when unordered (a NaN) */
static int compare(Dtype dt, Code a, Code b)
{
    if (vm_dtype_is_float(dt)) {
        double x = vm_decode(dt, a), y = vm_decode(dt, b);
        if (isnan(x) || isnan(y))
            return 2;
        return x < y ? -1 : x > y;
    }
    if (dt == VM_DT_BOOL || !vm_dtype_is_signed(dt)) {
        uint64_t x = dt == VM_DT_BOOL ? a != 0 : vm_decode_uint(dt, a);
        uint64_t y = dt == VM_DT_BOOL ? b != 0 : vm_decode_uint(dt, b);
        return x < y ? -1 : x > y;
    }
    int64_t x = vm_decode_int(dt, a), y = vm_decode_int(dt, b);
    return x < y ? -1 : x > y;
}

static Code cmp1(Op op, Dtype dt, Code a, Code b)
{
    int c = compare(dt, a, b);
    switch (op) {
    case VM_EQ: return c == 0;
    case VM_NE: return c != 0;
    case VM_LT: return c == -1;
    case VM_LE: return c == -1 || c == 0;
    case VM_GT: return c == 1;
    default: return c == 1 || c == 0; /* GE */
    }
}

/* binary, compare, fma, where: n operands broadcast to one shape */
static bool elementwise(Interp *ix, const Inst *i, int n)
{
    Ten *x[3];
    int rank = 0;
    int32_t shape[VM_MAX_DIMS] = {0}, tmp[VM_MAX_DIMS];
    for (int j = 0; j < n; j++) {
        if (!(x[j] = ix_reg(ix, i, i->a[j])))
            return false;
        memcpy(tmp, shape, sizeof tmp);
        if (!vm_broadcast_shape(rank, tmp, x[j]->rank, x[j]->shape, &rank, shape))
            return ix_fault(ix, i->loc, "%s: operand shapes do not broadcast", vm_op_name(i->op));
    }
    int first = i->op == VM_WHERE ? 1 : 0;
    Dtype dt = x[first]->dt;
    for (int j = first; j < n; j++)
        if (x[j]->dt != dt)
            return ix_fault(ix, i->loc, "%s: operands of dtypes %s and %s", vm_op_name(i->op),
                            vm_dtype_name(dt), vm_dtype_name(x[j]->dt));
    Dtype rdt = vm_ops[i->op].cls == VM_C_CMP ? VM_DT_BOOL : dt;
    Ten *r = def(ix, i, i->res, rdt, rank, shape);
    if (!r)
        return false;
    int64_t *idx[3] = {0};
    bool ok = true;
    for (int j = 0; j < n && ok; j++)
        ok = (idx[j] = ix_bcast(ix, i, x[j], rank, shape)) != NULL;
    if (ok) {
        Code *a = x[0]->v, *b = x[1]->v, *c = n > 2 ? x[2]->v : NULL;
        int64_t *ia = idx[0], *ib = idx[1], *ic = idx[2];
        int bop = vm_op_binop(i->op);
        if (bop >= 0)
            for (int64_t e = 0; e < r->n; e++)
                r->v[e] = vm_binop((VmBinop)bop, dt, a[ia[e]], b[ib[e]]);
        else if (rdt == VM_DT_BOOL && i->op != VM_WHERE && n == 2)
            for (int64_t e = 0; e < r->n; e++)
                r->v[e] = cmp1(i->op, dt, a[ia[e]], b[ib[e]]);
        else if (i->op == VM_FMA)
            for (int64_t e = 0; e < r->n; e++)
                r->v[e] = vm_fma(dt, a[ia[e]], b[ib[e]], c[ic[e]]);
        else
            for (int64_t e = 0; e < r->n; e++)
                r->v[e] = a[ia[e]] ? b[ib[e]] : c[ic[e]];
    }
    for (int j = 0; j < n; j++)
        free(idx[j]);
    return ok;
}

/* ---------------------------------------------------------------- dot */

static bool dot(Interp *ix, const Inst *i)
{
    Ten *a = ix_reg(ix, i, i->a[0]), *b = a ? ix_reg(ix, i, i->a[1]) : NULL;
    Ten *c = b ? ix_reg(ix, i, i->a[2]) : NULL;
    if (!c)
        return false;
    if (a->rank != 2 || b->rank != 2 || c->rank != 2 || a->shape[1] != b->shape[0] ||
        c->shape[0] != a->shape[0] || c->shape[1] != b->shape[1])
        return ix_fault(ix, i->loc, "dot: shapes do not match A[m,k] @ B[k,n] + C[m,n]");
    int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
    Dtype dt = c->dt;
    Ten *r = def(ix, i, i->res, dt, 2, c->shape);
    if (!r)
        return false;
    Code *ca = ix_xmalloc(sizeof(Code) * (size_t)(m * k + 1));
    Code *cb = ix_xmalloc(sizeof(Code) * (size_t)(k * n + 1));
    for (int64_t e = 0; e < m * k; e++)
        ca[e] = ix_conv(dt, a->dt, a->v[e]);
    for (int64_t e = 0; e < k * n; e++)
        cb[e] = ix_conv(dt, b->dt, b->v[e]);
    for (int64_t y = 0; y < m; y++)
        for (int64_t x = 0; x < n; x++) {
            Code acc = c->v[y * n + x];
            for (int64_t kk = 0; kk < k; kk++)
                acc = vm_fma(dt, ca[y * k + kk], cb[kk * n + x], acc);
            r->v[y * n + x] = acc;
        }
    free(ca);
    free(cb);
    return true;
}

/* ---------------------------------------------------------------- reductions */

/* does a rank above b for argmax/topk: NaN lowest, ties keep the first */
static bool above(Dtype dt, Code a, Code b)
{
    int c = compare(dt, a, b);
    if (c == 2)
        return !(vm_dtype_is_float(dt) && isnan(vm_decode(dt, a)));
    return c == 1;
}

static bool reduce(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    if (!x)
        return false;
    int dim = i->dim;
    if (dim < 0 || dim >= x->rank)
        return ix_fault(ix, i->loc, "%s: dim %d out of range", vm_op_name(i->op), dim);
    int64_t outer = 1, inner = 1, len = x->shape[dim];
    for (int d = 0; d < dim; d++)
        outer *= x->shape[d];
    for (int d = dim + 1; d < x->rank; d++)
        inner *= x->shape[d];
    int kk = i->op == VM_TOPK ? i->k : 1;
    if (len == 0 || (i->op == VM_TOPK && (kk < 1 || kk > len)))
        return ix_fault(ix, i->loc, "%s: %lld elements along dim %d", vm_op_name(i->op),
                        (long long)len, dim);
    int32_t shape[VM_MAX_DIMS];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != dim)
            shape[rank++] = x->shape[d];
        else if (i->op == VM_CUMSUM)
            shape[rank++] = (int32_t)len;
        else if (i->keepdim || i->op == VM_TOPK)
            shape[rank++] = kk;
    Dtype rdt = i->op == VM_ARGMAX ? VM_DT_I32 : x->dt;
    Ten *r = def(ix, i, i->res, rdt, rank, shape), *r2 = NULL;
    if (!r || (i->op == VM_TOPK && !(r2 = def(ix, i, i->res2, VM_DT_I32, rank, shape))))
        return false;
    int bop = i->op == VM_REDUCE_MAX ? VM_OP_MAX : i->op == VM_REDUCE_MIN ? VM_OP_MIN : VM_OP_ADD;
    uint8_t *taken = i->op == VM_TOPK ? ix_xmalloc((size_t)len) : NULL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const Code *v = x->v + o * len * inner + in;
            int64_t rk = i->op == VM_CUMSUM ? len : kk;
            Code *out = r->v + o * rk * inner + in;
            if (i->op == VM_ARGMAX) {
                int64_t best = 0;
                for (int64_t j = 1; j < len; j++)
                    if (above(x->dt, v[j * inner], v[best * inner]))
                        best = j;
                *out = (Code)(uint32_t)best;
            } else if (i->op == VM_TOPK) {
                memset(taken, 0, (size_t)len);
                for (int q = 0; q < kk; q++) {
                    int64_t best = -1;
                    for (int64_t j = 0; j < len; j++)
                        if (!taken[j] && (best < 0 || above(x->dt, v[j * inner], v[best * inner])))
                            best = j;
                    taken[best] = 1;
                    out[q * inner] = v[best * inner];
                    r2->v[o * kk * inner + in + q * inner] = (Code)(uint32_t)best;
                }
            } else {
                Code acc = v[0];
                if (i->op == VM_CUMSUM)
                    out[0] = acc;
                for (int64_t j = 1; j < len; j++) {
                    acc = vm_binop((VmBinop)bop, x->dt, acc, v[j * inner]);
                    if (i->op == VM_CUMSUM)
                        out[j * inner] = acc;
                }
                if (i->op != VM_CUMSUM)
                    *out = acc;
            }
        }
    free(taken);
    return true;
}

/* ---------------------------------------------------------------- shapes */

static bool permute(Interp *ix, const Inst *i, const int *perm)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    if (!x)
        return false;
    int64_t xs[VM_MAX_DIMS], st[VM_MAX_DIMS];
    int32_t shape[VM_MAX_DIMS];
    bool used[VM_MAX_DIMS] = {0};
    int64_t s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->shape[d];
    }
    for (int d = 0; d < x->rank; d++) {
        if (perm[d] < 0 || perm[d] >= x->rank || used[perm[d]])
            return ix_fault(ix, i->loc, "%s: not a permutation", vm_op_name(i->op));
        used[perm[d]] = true;
        shape[d] = x->shape[perm[d]];
        st[d] = xs[perm[d]];
    }
    Ten *r = def(ix, i, i->res, x->dt, x->rank, shape);
    if (!r)
        return false;
    int32_t c[VM_MAX_DIMS] = {0};
    for (int64_t e = 0; e < r->n; e++) {
        int64_t src = 0;
        for (int d = 0; d < x->rank; d++)
            src += c[d] * st[d];
        r->v[e] = x->v[src];
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++c[d] < shape[d])
                break;
            c[d] = 0;
        }
    }
    return true;
}

static bool slice(Interp *ix, const Inst *i)
{
    const Tile *t = &i->mem[0];
    Ten *x = ix_reg(ix, i, t->base);
    if (!x)
        return false;
    if (t->rank != x->rank)
        return ix_fault(ix, i->loc, "slice: the tile's rank differs from its tensor's");
    int64_t start[VM_MAX_DIMS], xs[VM_MAX_DIMS], s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->shape[d];
    }
    for (int d = 0; d < x->rank; d++) {
        start[d] = 0;
        if (t->start[d] && !ix_eval_int(ix, t->start[d], &start[d]))
            return false;
        if (start[d] < 0 || t->size[d] < 0 || start[d] + t->size[d] > x->shape[d])
            return ix_fault(ix, i->loc, "slice: [%lld : %d] is outside dim %d of size %d",
                            (long long)start[d], t->size[d], d, x->shape[d]);
    }
    int32_t shape[VM_MAX_DIMS];
    int rank = vm_tile_shape(t, shape);
    Ten *r = def(ix, i, i->res, x->dt, rank, shape);
    if (!r)
        return false;
    int64_t c[VM_MAX_DIMS] = {0};
    for (int64_t e = 0; e < r->n; e++) {
        int64_t src = 0;
        for (int d = 0; d < x->rank; d++)
            src += (start[d] + c[d]) * xs[d];
        r->v[e] = x->v[src];
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++c[d] < t->size[d])
                break;
            c[d] = 0;
        }
    }
    return true;
}

static bool concat(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]), *y = x ? ix_reg(ix, i, i->a[1]) : NULL;
    if (!y)
        return false;
    int dim = i->dim;
    bool ok = x->rank == y->rank && x->dt == y->dt && dim >= 0 && dim < x->rank;
    for (int d = 0; ok && d < x->rank; d++)
        ok = d == dim || x->shape[d] == y->shape[d];
    if (!ok)
        return ix_fault(ix, i->loc, "concat: operands do not fit along dim %d", dim);
    int32_t shape[VM_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] += y->shape[dim];
    Ten *r = def(ix, i, i->res, x->dt, x->rank, shape);
    if (!r)
        return false;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++)
        outer *= x->shape[d];
    for (int d = dim + 1; d < x->rank; d++)
        inner *= x->shape[d];
    int64_t nx = x->shape[dim] * inner, ny = y->shape[dim] * inner;
    for (int64_t o = 0; o < outer; o++) {
        memcpy(r->v + o * (nx + ny), x->v + o * nx, sizeof(Code) * (size_t)nx);
        memcpy(r->v + o * (nx + ny) + nx, y->v + o * ny, sizeof(Code) * (size_t)ny);
    }
    return true;
}

static bool reshape(Interp *ix, const Inst *i)
{
    Ten *x = ix_reg(ix, i, i->a[0]);
    if (!x)
        return false;
    if (i->op == VM_RESHAPE) {
        if (vm_shape_numel(i->rank, i->shape) != x->n)
            return ix_fault(ix, i->loc, "reshape: %lld elements into %lld", (long long)x->n,
                            (long long)vm_shape_numel(i->rank, i->shape));
        Ten *r = def(ix, i, i->res, x->dt, i->rank, i->shape);
        if (r)
            memcpy(r->v, x->v, sizeof(Code) * (size_t)x->n);
        return r != NULL;
    }
    int64_t *idx = ix_bcast(ix, i, x, i->rank, i->shape);
    if (!idx)
        return false;
    Ten *r = def(ix, i, i->res, x->dt, i->rank, i->shape);
    for (int64_t e = 0; r && e < r->n; e++)
        r->v[e] = x->v[idx[e]];
    free(idx);
    return r != NULL;
}

/* ---------------------------------------------------------------- constants */

float vm_rand_f32(uint64_t seed, uint64_t counter)
{
    uint64_t z = seed * UINT64_C(0x9E3779B97F4A7C15) + counter;
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return (float)(z >> 40) * 0x1p-24f;
}

static bool constant(Interp *ix, const Inst *i)
{
    Dtype dt = i->op == VM_RAND ? VM_DT_F32 : i->dtype;
    if (dt < 0 || dt >= VM_NDTYPES)
        return ix_fault(ix, i->loc, "%s: no dtype", vm_op_name(i->op));
    Code fill = 0;
    int64_t seed = 0, off = 0;
    if (i->op == VM_FULL) {
        if (!ix_eval(ix, i->e[0], &fill))
            return false;
        fill = vm_cast(dt, i->e[0]->dtype, fill);
    }
    if (i->op == VM_RAND && (!ix_eval_int(ix, i->e[0], &seed) || !ix_eval_int(ix, i->e[1], &off)))
        return false;
    Ten *r = def(ix, i, i->res, dt, i->rank, i->shape);
    if (!r)
        return false;
    for (int64_t e = 0; e < r->n; e++) {
        switch (i->op) {
        case VM_FULL: r->v[e] = fill; break;
        case VM_ARANGE: r->v[e] = vm_cast(dt, VM_DT_I64, (Code)e); break;
        case VM_RAND: r->v[e] = f32_code(vm_rand_f32((uint64_t)seed, (uint64_t)(off + e))); break;
        default: r->v[e] = 0; break;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- print */

static void put_elem(Interp *ix, Dtype dt, Code c)
{
    char b[64];
    int n;
    if (vm_dtype_is_float(dt))
        n = snprintf(b, sizeof b, "%g", vm_decode(dt, c));
    else if (dt == VM_DT_BOOL)
        n = snprintf(b, sizeof b, "%d", c != 0);
    else if (vm_dtype_is_signed(dt))
        n = snprintf(b, sizeof b, "%lld", (long long)vm_decode_int(dt, c));
    else
        n = snprintf(b, sizeof b, "%llu", (unsigned long long)vm_decode_uint(dt, c));
    ix_out(ix, b, (size_t)n);
}

static void put_dim(Interp *ix, const Ten *t, int d, int64_t base)
{
    if (d == t->rank) {
        put_elem(ix, t->dt, t->v[base]);
        return;
    }
    int64_t inner = 1;
    for (int q = d + 1; q < t->rank; q++)
        inner *= t->shape[q];
    ix_out(ix, "[", 1);
    for (int j = 0; j < t->shape[d]; j++) {
        if (j)
            ix_out(ix, ", ", 2);
        put_dim(ix, t, d + 1, base + j * inner);
    }
    ix_out(ix, "]", 1);
}

void ix_print_tensor(Interp *ix, const char *label, const Ten *t)
{
    ix_out(ix, label, strlen(label));
    ix_out(ix, ": ", 2);
    put_dim(ix, t, 0, 0);
    ix_out(ix, "\n", 1);
}

bool ix_ops(Interp *ix, const Inst *i)
{
    switch (vm_ops[i->op].cls) {
    case VM_C_UNARY: return unary(ix, i);
    case VM_C_BINARY:
    case VM_C_CMP: return elementwise(ix, i, 2);
    case VM_C_REDUCE: return reduce(ix, i);
    case VM_C_CONST: return constant(ix, i);
    default: break;
    }
    switch (i->op) {
    case VM_VIEW: return view(ix, i);
    case VM_CAST: return cast(ix, i);
    case VM_FMA:
    case VM_WHERE: return elementwise(ix, i, 3);
    case VM_DOT: return dot(ix, i);
    case VM_BROADCAST:
    case VM_RESHAPE: return reshape(ix, i);
    case VM_PERMUTE: return permute(ix, i, i->perm);
    case VM_TRANSPOSE: {
        int perm[VM_MAX_DIMS];
        const Value *x = i->a[0];
        int r = x ? x->rank : 0;
        for (int d = 0; d < r; d++)
            perm[d] = d;
        if (r < 2)
            return ix_fault(ix, i->loc, "transpose of rank %d", r);
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        return permute(ix, i, perm);
    }
    case VM_SLICE: return slice(ix, i);
    case VM_CONCAT: return concat(ix, i);
    default: return ix_fault(ix, i->loc, "%s is not a compute instruction", vm_op_name(i->op));
    }
}

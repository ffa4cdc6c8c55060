/* tests/test_tir_eval.c - lowered kernels compute what the interpreter
 * computes: each kernel runs through cg_lower and the CPU TIR evaluator
 * (tests/tir_eval.c) and through vm_interp_launch on the same inputs, and
 * the output bytes must be equal (bit-exact: the kernels here use only
 * exact instructions). Inputs: every code of every dtype of <= 8 bits,
 * and for wider dtypes fixed-seed random codes plus the values around
 * every narrow format's codes (rounding ties, saturation edges). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tir_eval.h"
#include "tests/tir_util.h"

typedef struct {
    Dtype dt;
    int rank;
    int64_t shape[2];
    size_t bytes;
    uint8_t *a, *b; /* TIR run, interpreter run */
} EvBuf;

static uint64_t rng = 0x1234567ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static EvBuf ev_buf(Dtype dt, int rank, int64_t d0, int64_t d1)
{
    EvBuf b = {dt, rank, {d0, d1}, 0, NULL, NULL};
    int64_t numel = rank == 1 ? d0 : d0 * d1;
    b.bytes = vm_packed_bytes(dt, (size_t)numel);
    b.a = calloc(b.bytes + 8, 1);
    b.b = calloc(b.bytes + 8, 1);
    return b;
}

static void ev_fill_codes(EvBuf *b, const Code *c, size_t n)
{
    vm_pack(b->a, 0, c, n, vm_dtype_bits(b->dt));
    memcpy(b->b, b->a, b->bytes);
}

static void ev_free(EvBuf *b, int n)
{
    for (int j = 0; j < n; j++) {
        free(b[j].a);
        free(b[j].b);
    }
}

/* printf output of the last run_both: TIR evaluator, interpreter */
static char *g_tir_out, *g_ix_out;

/* Runs u on the TIR evaluator and the interpreter; n binds the shape
 * identifier "n" (if any); grid as given. Returns false (with a message)
 * when either fails. */
static bool run_both(TuKernel *u, EvBuf *bufs, int nb, int64_t n, const int *grid, char *why,
                     size_t whyn)
{
    TirKernel *t = tu_lower_ok(u);
    if (!t) {
        snprintf(why, whyn, "lowering failed");
        return false;
    }
    uint64_t pv[16];
    TeBuf tb[16];
    VmArg args[16];
    int nargs = 0, ti = 0;
    for (int p = 0; p < u->k->nparams; p++) {
        Param *q = u->k->params[p];
        if (q->kind == VM_P_TENSOR) {
            EvBuf *b = &bufs[ti++];
            pv[p] = (uint64_t)(uintptr_t)b->a;
            tb[ti - 1] = (TeBuf){b->a, b->bytes};
            args[nargs++] = vm_arg_tensor(b->b, b->bytes, b->rank, b->shape);
        } else {
            pv[p] = (uint64_t)n;
            if (!q->implicit)
                args[nargs++] = vm_arg_int(n);
        }
    }
    (void)nb;
    TeVm ev;
    bool ok = te_run(&ev, t, pv, tb, ti, grid);
    if (!ok)
        snprintf(why, whyn, "TIR evaluation: %s", ev.msg);
    free(g_tir_out);
    g_tir_out = strdup(ev.out ? ev.out : "");
    te_free(&ev);
    if (!ok)
        return false;
    VmDiags d;
    vm_diags_init(&d, u->a);
    VmText text = {0};
    VmInterpOptions io = {0};
    io.text = &text;
    bool iok = vm_interp_launch(u->k, args, nargs, &io, &d);
    free(g_ix_out);
    g_ix_out = strdup(text.s ? text.s : "");
    vm_text_free(&text);
    if (!iok) {
        char m[400] = "?";
        if (d.n)
            vm_diag_format(&d.v[0], m, sizeof m);
        snprintf(why, whyn, "interpreter: %s", m);
        return false;
    }
    return true;
}

/* first differing element of an output buffer, or -1 */
static int64_t first_diff(const EvBuf *b, int64_t numel, Code *ga, Code *gb)
{
    int bits = vm_dtype_bits(b->dt);
    for (int64_t e = 0; e < numel; e++) {
        Code x = vm_bits_get(b->a, (uint64_t)e * bits, bits);
        Code y = vm_bits_get(b->b, (uint64_t)e * bits, bits);
        if (x != y) {
            *ga = x;
            *gb = y;
            return e;
        }
    }
    return -1;
}

static int grid1(int64_t n, int64_t tile, int *g)
{
    g[0] = (int)((n + tile - 1) / tile);
    g[1] = g[2] = 1;
    return g[0];
}

/* ---------------------------------------------------------------- inputs */

static Code *src_codes(Dtype dt, size_t *n)
{
    int bits = vm_dtype_bits(dt);
    size_t cap = 20000, k = 0;
    Code *c = malloc(sizeof *c * cap);
    if (dt == VM_DT_BOOL) {
        c[0] = 0;
        c[1] = 1;
        *n = 2;
        return c;
    }
    if (bits <= 8) {
        for (Code v = 0; v < (1ull << bits); v++)
            c[k++] = v;
        *n = k;
        return c;
    }
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
    if (vm_dtype_is_float(dt)) {
        for (int d = 0; d < VM_NDTYPES && k + 2100 < cap; d++) {
            if (!vm_dtype_is_float((Dtype)d) || vm_dtype_bits((Dtype)d) > 16 || d == (int)dt)
                continue;
            int db = vm_dtype_bits((Dtype)d);
            for (Code v = 0; v + 1 < (1ull << db) && k + 4 < cap; v += db > 8 ? 61 : 1) {
                double x = vm_decode((Dtype)d, v), y = vm_decode((Dtype)d, v + 1);
                if (isnan(x) || isnan(y))
                    continue;
                c[k++] = vm_encode(dt, x);
                c[k++] = vm_encode(dt, (x + y) / 2);
                c[k++] = vm_encode(dt, x * 1.0000001 + 1e-30);
            }
        }
        double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30, -1e30, 65504, 65520, 3e38};
        for (size_t j = 0; j < sizeof sp / sizeof sp[0]; j++)
            c[k++] = vm_encode(dt, sp[j]);
    } else {
        int64_t sp[] = {0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 32767, 32768, 65535,
                        65536, 16777217, 2147483647, -2147483647 - 1, 4294967295ll,
                        (int64_t)1 << 53, ((int64_t)1 << 53) + 1, INT64_MAX, INT64_MIN};
        for (size_t j = 0; j < sizeof sp / sizeof sp[0]; j++)
            c[k++] = (Code)sp[j] & m;
        for (int s = 0; s < 64; s++) {
            c[k++] = ((1ull << s) + 1) & m;
            c[k++] = ((1ull << s) - 1) & m;
        }
    }
    for (int j = 0; j < 1500; j++)
        c[k++] = rnd() & m;
    *n = k;
    return c;
}

/* ---------------------------------------------------------------- tests */

static void check_cast(Dtype from, Dtype to)
{
    size_t n;
    Code *codes = src_codes(from, &n);
    TuKernel u = tu_cast(from, to, 1);
    EvBuf b[2] = {ev_buf(from, 1, (int64_t)n, 0), ev_buf(to, 1, (int64_t)n, 0)};
    ev_fill_codes(&b[0], codes, n);
    int g[3];
    grid1((int64_t)n, 64, g);
    char why[512];
    bool ok = run_both(&u, b, 2, (int64_t)n, g, why, sizeof why);
    cr_expect(ok, "cast %s -> %s: %s", vm_dtype_name(from), vm_dtype_name(to), why);
    if (ok) {
        Code x, y;
        int64_t e = first_diff(&b[1], (int64_t)n, &x, &y);
        cr_expect_eq(e, -1, "cast %s -> %s: source code %#llx gives %#llx, interpreter %#llx",
                     vm_dtype_name(from), vm_dtype_name(to),
                     (unsigned long long)(e >= 0 ? codes[e] : 0), (unsigned long long)x,
                     (unsigned long long)y);
    }
    ev_free(b, 2);
    tu_free(&u);
    free(codes);
}

Test(tir_eval, cast_every_pair_bit_exact, .timeout = 600)
{
    for (int a = 0; a < VM_NDTYPES; a++)
        for (int c = 0; c < VM_NDTYPES; c++)
            if (a != c)
                check_cast((Dtype)a, (Dtype)c);
}

static void check_copy(Dtype dt, int64_t n, int warps)
{
    TuKernel u = tu_copy(dt, warps, 64);
    Code *codes = malloc(sizeof *codes * (size_t)n);
    int bits = vm_dtype_bits(dt);
    for (int64_t j = 0; j < n; j++)
        codes[j] = dt == VM_DT_BOOL ? rnd() & 1 : rnd() & (bits == 64 ? ~0ull : (1ull << bits) - 1);
    EvBuf b[2] = {ev_buf(dt, 1, n, 0), ev_buf(dt, 1, n, 0)};
    ev_fill_codes(&b[0], codes, (size_t)n);
    /* the output starts with garbage: bits outside the tensor must survive */
    for (size_t j = 0; j < b[1].bytes; j++)
        b[1].a[j] = b[1].b[j] = (uint8_t)rnd();
    int g[3];
    grid1(n, 64, g);
    char why[512];
    bool ok = run_both(&u, b, 2, n, g, why, sizeof why);
    cr_expect(ok, "copy %s: %s", vm_dtype_name(dt), why);
    if (ok)
        cr_expect_eq(memcmp(b[1].a, b[1].b, b[1].bytes), 0, "copy of %s differs",
                     vm_dtype_name(dt));
    ev_free(b, 2);
    tu_free(&u);
    free(codes);
}

Test(tir_eval, copy_every_dtype_with_masked_tail)
{
    for (int d = 0; d < VM_NDTYPES; d++) {
        check_copy((Dtype)d, 200, 1);
        check_copy((Dtype)d, 77, 2);
    }
}

static void check_binop(Op op, Dtype dt)
{
    int bits = vm_dtype_bits(dt);
    int64_t n = bits <= 4 ? (1 << (2 * bits)) : 2048;
    Code *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
    for (int64_t j = 0; j < n; j++) {
        if (bits <= 4) {
            x[j] = (Code)j & m;
            y[j] = ((Code)j >> bits) & m;
        } else {
            x[j] = rnd() & m;
            y[j] = j % 7 == 0 ? x[j] : j % 11 == 0 ? 0 : rnd() & m;
            if (j % 5 == 0 && bits > 8)
                y[j] &= 0x3F;
        }
    }
    TuKernel u = tu_new("binop", 1);
    Value *X = tu_vec(&u, "x", dt), *Y = tu_vec(&u, "y", dt);
    Value *Z = tu_vec(&u, "z", vm_ops[op].cls == VM_C_CMP ? VM_DT_BOOL : dt);
    tu_grid1(&u, 64);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, X, 64), NULL, NULL);
    Value *b = vm_b_load_global(u.k, tu_block_tile(&u, Y, 64), NULL, NULL);
    Value *c = vm_b_binary(u.k, op, a, b);
    vm_b_store_global(u.k, tu_block_tile(&u, Z, 64), c, NULL);
    EvBuf bf[3] = {ev_buf(dt, 1, n, 0), ev_buf(dt, 1, n, 0), ev_buf(Z->dtype, 1, n, 0)};
    ev_fill_codes(&bf[0], x, (size_t)n);
    ev_fill_codes(&bf[1], y, (size_t)n);
    int g[3];
    grid1(n, 64, g);
    char why[512];
    bool ok = run_both(&u, bf, 3, n, g, why, sizeof why);
    cr_expect(ok, "%s %s: %s", vm_op_name(op), vm_dtype_name(dt), why);
    if (ok) {
        Code ga, gb;
        int64_t e = first_diff(&bf[2], n, &ga, &gb);
        cr_expect_eq(e, -1, "%s %s: %#llx, %#llx gives %#llx, interpreter %#llx", vm_op_name(op),
                     vm_dtype_name(dt), (unsigned long long)(e >= 0 ? x[e] : 0),
                     (unsigned long long)(e >= 0 ? y[e] : 0), (unsigned long long)ga,
                     (unsigned long long)gb);
    }
    ev_free(bf, 3);
    tu_free(&u);
    free(x);
    free(y);
}

Test(tir_eval, binops_bit_exact, .timeout = 600)
{
    static const Op ops[] = {VM_ADD, VM_SUB, VM_MUL, VM_DIV, VM_REM, VM_MIN, VM_MAX,
                             VM_AND, VM_OR,  VM_XOR, VM_SHL, VM_SHR, VM_EQ,  VM_NE,
                             VM_LT,  VM_LE,  VM_GT,  VM_GE};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int d = 0; d < VM_NDTYPES; d++) {
            Op op = ops[o];
            bool fl = vm_dtype_is_float((Dtype)d);
            if (fl && (op == VM_REM || op == VM_AND || op == VM_OR || op == VM_XOR ||
                       op == VM_SHL || op == VM_SHR))
                continue;
            if (d == VM_DT_BOOL && op != VM_AND && op != VM_OR && op != VM_XOR &&
                op != VM_MIN && op != VM_MAX && op != VM_EQ && op != VM_NE && op != VM_LT)
                continue;
            check_binop(op, (Dtype)d);
        }
}

static void check_kernel(TuKernel *u, EvBuf *b, int nb, int64_t n, const int *g, int out,
                         int64_t numel, const char *what)
{
    char why[512];
    bool ok = run_both(u, b, nb, n, g, why, sizeof why);
    cr_expect(ok, "%s: %s", what, why);
    if (ok) {
        Code ga, gb;
        int64_t e = first_diff(&b[out], numel, &ga, &gb);
        cr_expect_eq(e, -1, "%s: element %lld is %#llx, interpreter %#llx", what, (long long)e,
                     (unsigned long long)ga, (unsigned long long)gb);
    }
}

static void fill_random(EvBuf *b, int64_t numel)
{
    int bits = vm_dtype_bits(b->dt);
    for (int64_t j = 0; j < numel; j++) {
        Code c = rnd() & (bits == 64 ? ~0ull : (1ull << bits) - 1);
        if (vm_dtype_is_float(b->dt)) /* small finite values: sums stay exact-ish */
            c = vm_encode(b->dt, (double)((int64_t)(rnd() % 64) - 32) / 8);
        vm_bits_set(b->a, (uint64_t)j * bits, bits, c);
    }
    memcpy(b->b, b->a, b->bytes);
}

Test(tir_eval, reductions)
{
    static const struct {
        Dtype dt;
        int warps;
        int64_t rows, cols;
    } cs[] = {{VM_DT_I32, 2, 8, 64}, {VM_DT_F32, 1, 4, 128}, {VM_DT_I8, 4, 16, 32},
              {VM_DT_F16, 2, 2, 256}, {VM_DT_U4, 1, 8, 64}};
    for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++) {
        int64_t n = cs[j].rows * 3 + 1;
        TuKernel u = tu_rowsum(cs[j].dt, cs[j].warps, cs[j].rows, cs[j].cols);
        EvBuf b[2] = {ev_buf(cs[j].dt, 2, n, cs[j].cols), ev_buf(cs[j].dt, 1, n, 0)};
        fill_random(&b[0], n * cs[j].cols);
        int g[3];
        grid1(n, cs[j].rows, g);
        char what[64];
        snprintf(what, sizeof what, "rowsum %s", vm_dtype_name(cs[j].dt));
        check_kernel(&u, b, 2, n, g, 1, n, what);
        ev_free(b, 2);
        tu_free(&u);
    }
}

Test(tir_eval, fma_dot)
{
    static const struct {
        Dtype a, c;
        int M, N, K, warps;
    } cs[] = {{VM_DT_F16, VM_DT_F32, 16, 16, 16, 1}, {VM_DT_I8, VM_DT_I32, 8, 32, 16, 2},
              {VM_DT_F32, VM_DT_F32, 4, 8, 32, 1}, {VM_DT_BF16, VM_DT_F32, 16, 8, 8, 4}};
    for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++) {
        TuKernel u = tu_dot(cs[j].a, cs[j].c, cs[j].M, cs[j].N, cs[j].K, cs[j].warps);
        EvBuf b[3] = {ev_buf(cs[j].a, 2, cs[j].M, cs[j].K), ev_buf(cs[j].a, 2, cs[j].K, cs[j].N),
                      ev_buf(cs[j].c, 2, cs[j].M, cs[j].N)};
        fill_random(&b[0], cs[j].M * cs[j].K);
        fill_random(&b[1], cs[j].K * cs[j].N);
        int g[3] = {1, 1, 1};
        char what[64];
        snprintf(what, sizeof what, "dot %s -> %s", vm_dtype_name(cs[j].a),
                 vm_dtype_name(cs[j].c));
        check_kernel(&u, b, 3, 0, g, 2, cs[j].M * cs[j].N, what);
        ev_free(b, 3);
        tu_free(&u);
    }
}

Test(tir_eval, shared_round_trip_and_broadcast)
{
    static const Dtype dts[] = {VM_DT_F16, VM_DT_U8, VM_DT_F32, VM_DT_U4};
    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++)
        for (int sw = 0; sw < 2; sw++) {
            TuKernel u = tu_shared_round_trip(dts[j], 2, sw);
            EvBuf b[2] = {ev_buf(dts[j], 2, 16, 64), ev_buf(dts[j], 2, 16, 64)};
            fill_random(&b[0], 16 * 64);
            int g[3] = {1, 1, 1};
            char what[64];
            snprintf(what, sizeof what, "smem %s%s", vm_dtype_name(dts[j]), sw ? " swizzled" : "");
            check_kernel(&u, b, 2, 0, g, 1, 16 * 64, what);
            ev_free(b, 2);
            tu_free(&u);
        }
    TuKernel u = tu_bias_rows(VM_DT_F16, 2);
    int64_t n = 40;
    EvBuf b[3] = {ev_buf(VM_DT_F16, 2, n, 64), ev_buf(VM_DT_F16, 2, n, 64),
                  ev_buf(VM_DT_F16, 1, 64, 0)};
    fill_random(&b[0], n * 64);
    fill_random(&b[2], 64);
    int g[3];
    grid1(n, 16, g);
    /* params in order: x, n, y, b -> buffers x, y, b */
    check_kernel(&u, b, 3, n, g, 1, n * 64, "bias_rows f16");
    ev_free(b, 3);
    tu_free(&u);
}

/* ---------------------------------------------------------------- more instructions */

static Layout LP(const char *s)
{
    Layout L;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return L;
}

/* y = op(x) (unary) or fma(x, x2, x3) or where(x < x2, x2, x3), exhaustive
 * for small dtypes */
static void check_elem(Op op, Dtype dt)
{
    int bits = vm_dtype_bits(dt);
    int64_t n = 2048;
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1;
    TuKernel u = tu_new("elem", 2);
    Value *X = tu_vec(&u, "x", dt), *X2 = tu_vec(&u, "x2", dt), *X3 = tu_vec(&u, "x3", dt);
    Value *Y = tu_vec(&u, "y", dt);
    tu_grid1(&u, 128);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, X, 128), NULL, NULL);
    Value *b = vm_b_load_global(u.k, tu_block_tile(&u, X2, 128), NULL, NULL);
    Value *c = vm_b_load_global(u.k, tu_block_tile(&u, X3, 128), NULL, NULL);
    Value *r = op == VM_FMA     ? vm_b_fma(u.k, a, b, c)
               : op == VM_WHERE ? vm_b_where(u.k, vm_b_binary(u.k, VM_LT, a, b), b, c)
                                : vm_b_unary(u.k, op, a);
    vm_b_store_global(u.k, tu_block_tile(&u, Y, 128), r, NULL);
    EvBuf bf[4] = {ev_buf(dt, 1, n, 0), ev_buf(dt, 1, n, 0), ev_buf(dt, 1, n, 0),
                   ev_buf(dt, 1, n, 0)};
    for (int j = 0; j < 3; j++)
        for (int64_t e = 0; e < n; e++) {
            Code v = bits <= 8 && j == 0 ? (Code)e & m : rnd() & m;
            if (dt == VM_DT_BOOL)
                v &= 1;
            vm_bits_set(bf[j].a, (uint64_t)e * bits, bits, v);
        }
    for (int j = 0; j < 3; j++)
        memcpy(bf[j].b, bf[j].a, bf[j].bytes);
    int g[3];
    grid1(n, 128, g);
    char what[64];
    snprintf(what, sizeof what, "%s %s", vm_op_name(op), vm_dtype_name(dt));
    check_kernel(&u, bf, 4, n, g, 3, n, what);
    ev_free(bf, 4);
    tu_free(&u);
}

Test(tir_eval, unary_fma_where_bit_exact, .timeout = 300)
{
    for (int d = 0; d < VM_NDTYPES; d++) {
        Dtype dt = (Dtype)d;
        bool fl = vm_dtype_is_float(dt);
        if (dt != VM_DT_BOOL) {
            check_elem(VM_NEG, dt);
            check_elem(VM_ABS, dt);
            check_elem(VM_FMA, dt);
        }
        if (!fl)
            check_elem(VM_NOT, dt);
        if (fl && dt != VM_DT_F64)
            check_elem(VM_SQRT, dt);
        check_elem(VM_WHERE, dt);
    }
}

/* acc = 0; for r in range(0, n): acc += x[r, :]; y = acc (a var in a loop) */
Test(tir_eval, loop_with_var_and_scalar_vars)
{
    TuKernel u = tu_new("loop", 1);
    Value *X = tu_mat(&u, "x", VM_DT_I32, "n", 64);
    Expr *s64[1] = {vm_e_i32(u.k, 64)};
    Value *Y = vm_param_tensor(u.k, "y", VM_DT_I32, 1, s64)->value;
    tu_line(&u);
    int32_t shape[1] = {64};
    Var *acc = vm_b_var(u.k, "acc", vm_b_zeros(u.k, VM_DT_I32, 1, shape));
    Var *cnt = vm_b_svar(u.k, "cnt", vm_e_i32(u.k, 0), true);
    tu_line(&u);
    Var *r = vm_b_for(u.k, "r", vm_e_i32(u.k, 0), vm_e_param(u.k, vm_param_find(u.k, "n")),
                      vm_e_i32(u.k, 1));
    tu_line(&u);
    Tile t = vm_tile(X);
    vm_tile_index(&t, 0, vm_e_var(u.k, r));
    vm_tile_range(&t, 1, NULL, 64);
    Value *row = vm_b_load_global(u.k, t, NULL, NULL);
    vm_b_if(u.k, vm_e_bin(u.k, VM_S_EQ, vm_e_bin(u.k, VM_S_REM, vm_e_var(u.k, r), vm_e_i32(u.k, 3)),
                          vm_e_i32(u.k, 1)));
    vm_b_continue(u.k);
    vm_b_end(u.k);
    vm_b_assign(u.k, acc, vm_b_binary(u.k, VM_ADD, acc->val, row));
    vm_b_sassign(u.k, cnt, vm_e_bin(u.k, VM_S_ADD, vm_e_var(u.k, cnt), vm_e_i32(u.k, 1)));
    vm_b_if(u.k, vm_e_bin(u.k, VM_S_GE, vm_e_var(u.k, cnt), vm_e_i32(u.k, 5)));
    vm_b_break(u.k);
    vm_b_end(u.k);
    vm_b_end(u.k);
    tu_line(&u);
    Value *cv = vm_b_full(u.k, VM_DT_I32, 1, shape, vm_e_var(u.k, cnt));
    vm_b_store_global(u.k, tu_whole(Y), vm_b_binary(u.k, VM_MUL, acc->val, cv), NULL);
    int64_t n = 20;
    EvBuf b[2] = {ev_buf(VM_DT_I32, 2, n, 64), ev_buf(VM_DT_I32, 1, 64, 0)};
    fill_random(&b[0], n * 64);
    int g[3] = {1, 1, 1};
    check_kernel(&u, b, 2, n, g, 1, 64, "loop");
    ev_free(b, 2);
    tu_free(&u);
}

/* y = rand(seed, offset) + arange, and a block-dependent exit */
Test(tir_eval, rand_arange_exit)
{
    TuKernel u = tu_new("rand", 2);
    Value *Y = tu_vec(&u, "y", VM_DT_F32);
    tu_grid1(&u, 128);
    tu_line(&u);
    vm_b_if(u.k, vm_e_bin(u.k, VM_S_EQ, vm_e_bid(u.k, 0), vm_e_i32(u.k, 1)));
    vm_b_exit(u.k);
    vm_b_end(u.k);
    int32_t shape[1] = {128};
    Value *rv = vm_b_rand(u.k, 1, shape, vm_e_i32(u.k, 42),
                          vm_e_bin(u.k, VM_S_MUL, vm_e_bid(u.k, 0), vm_e_i32(u.k, 128)));
    Value *ar = vm_b_cast(u.k, vm_b_arange(u.k, VM_DT_I32, 128), VM_DT_F32);
    vm_b_store_global(u.k, tu_block_tile(&u, Y, 128), vm_b_binary(u.k, VM_ADD, rv, ar), NULL);
    int64_t n = 300;
    EvBuf b[1] = {ev_buf(VM_DT_F32, 1, n, 0)};
    int g[3];
    grid1(n, 128, g);
    check_kernel(&u, b, 1, n, g, 0, n, "rand");
    ev_free(b, 1);
    tu_free(&u);
}

/* u8 bytes viewed as u4 (and as i16 pairs), cast to i32 */
Test(tir_eval, view_subbyte)
{
    static const struct {
        Dtype to;
        const char *src, *dst;
        int ratio_num, ratio_den;
    } cs[] = {{VM_DT_U4, "spatial(32) * local(4)", "spatial(32) * local(8)", 2, 1},
              {VM_DT_I2, "local(2) * spatial(32) * local(2)", "local(2) * spatial(32) * local(8)", 4, 1},
              {VM_DT_I16, "spatial(32) * local(4)", "spatial(32) * local(2)", 1, 2},
              {VM_DT_F4E2M1, "spatial(32) * local(4)", "spatial(32) * local(8)", 2, 1}};
    for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++) {
        TuKernel u = tu_new("view", 1);
        Value *X = tu_vec(&u, "x", VM_DT_U8);
        Expr *ys[1] = {vm_e_bin(u.k, VM_S_DIV,
                                vm_e_bin(u.k, VM_S_MUL, vm_e_param(u.k, vm_param_find(u.k, "n")),
                                         vm_e_i32(u.k, cs[j].ratio_num)),
                                vm_e_i32(u.k, cs[j].ratio_den))};
        Value *Y = vm_param_tensor(u.k, "y", VM_DT_F32, 1, ys)->value;
        tu_grid1(&u, 128);
        tu_line(&u);
        Value *a = vm_b_load_global(u.k, tu_block_tile(&u, X, 128), NULL, NULL);
        vm_set_layout(a, LP(cs[j].src));
        Layout dl = LP(cs[j].dst);
        Value *v = vm_b_view(u.k, a, cs[j].to, &dl);
        Value *c = vm_b_cast(u.k, v, VM_DT_F32);
        int64_t ot = 128 * cs[j].ratio_num / cs[j].ratio_den;
        vm_b_store_global(u.k, tu_block_tile(&u, Y, ot), c, NULL);
        int64_t n = 256;
        EvBuf b[2] = {ev_buf(VM_DT_U8, 1, n, 0),
                      ev_buf(VM_DT_F32, 1, n * cs[j].ratio_num / cs[j].ratio_den, 0)};
        fill_random(&b[0], n);
        int g[3];
        grid1(n, 128, g);
        char what[64];
        snprintf(what, sizeof what, "view u8 -> %s", vm_dtype_name(cs[j].to));
        check_kernel(&u, b, 2, n, g, 1, n * cs[j].ratio_num / cs[j].ratio_den, what);
        ev_free(b, 2);
        tu_free(&u);
    }
}

/* elementwise on operands in different layouts, transpose, reduce_max
 * keepdim, copy_async, atomic_add */
Test(tir_eval, layout_conversions_and_memory)
{
    TuKernel u = tu_new("mix", 2);
    Expr *sh[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 8)};
    Expr *st[2] = {vm_e_i32(u.k, 8), vm_e_i32(u.k, 16)};
    Expr *s1[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 1)};
    Value *X = vm_param_tensor(u.k, "x", VM_DT_F32, 2, sh)->value;
    Value *Y = vm_param_tensor(u.k, "y", VM_DT_F32, 2, st)->value;
    Value *M = vm_param_tensor(u.k, "m", VM_DT_F32, 2, s1)->value;
    Value *A = vm_param_tensor(u.k, "acc", VM_DT_F32, 2, sh)->value;
    Expr *g3[1] = {vm_e_i32(u.k, 3)};
    vm_set_grid(u.k, 1, g3);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
    vm_set_layout(a, LP("spatial(16, 4) * local(1, 2)"));
    Value *c = vm_b_binary(u.k, VM_MUL, a, a);
    vm_b_store_global(u.k, tu_whole(Y), vm_b_transpose(u.k, c), NULL);
    vm_b_store_global(u.k, tu_whole(M), vm_b_reduce(u.k, VM_REDUCE_MAX, c, 1, true), NULL);
    int shp[2] = {16, 8};
    int32_t shp32[2] = {16, 8};
    SharedLayout sl;
    lay_shared_padded(&sl, 2, shp, 32, 1);
    Value *s = vm_b_shared_alloc(u.k, VM_DT_F32, 2, shp32, &sl);
    vm_b_copy_async(u.k, vm_tile(s), tu_whole(X), NULL);
    vm_b_commit(u.k);
    vm_b_wait(u.k, 0);
    vm_b_sync(u.k);
    Value *w = vm_b_load_shared(u.k, vm_tile(s));
    vm_b_atomic_add(u.k, tu_whole(A), w);
    vm_b_shared_free(u.k, s);
    EvBuf bf[4] = {ev_buf(VM_DT_F32, 2, 16, 8), ev_buf(VM_DT_F32, 2, 8, 16),
                   ev_buf(VM_DT_F32, 2, 16, 1), ev_buf(VM_DT_F32, 2, 16, 8)};
    fill_random(&bf[0], 128);
    fill_random(&bf[3], 128);
    int g[3] = {3, 1, 1};
    char why[512];
    bool ok = run_both(&u, bf, 4, 0, g, why, sizeof why);
    cr_expect(ok, "mix: %s", why);
    for (int j = 1; ok && j < 4; j++) {
        Code ga, gb;
        int64_t e = first_diff(&bf[j], (int64_t)bf[j].bytes / 4, &ga, &gb);
        cr_expect_eq(e, -1, "mix: output %d element %lld: %#llx, interpreter %#llx", j,
                     (long long)e, (unsigned long long)ga, (unsigned long long)gb);
    }
    ev_free(bf, 4);
    tu_free(&u);
}

/* lock(sem[0], bid) ... release(sem[0], bid + 1): ordered across blocks */
Test(tir_eval, lock_release_in_grid_order)
{
    TuKernel u = tu_new("sem", 1);
    Expr *s1[1] = {vm_e_i32(u.k, 1)};
    Expr *s4[1] = {vm_e_i32(u.k, 4)};
    Value *S = vm_param_tensor(u.k, "sem", VM_DT_I32, 1, s1)->value;
    Value *Y = vm_param_tensor(u.k, "y", VM_DT_I32, 1, s4)->value;
    vm_set_grid(u.k, 1, s4);
    tu_line(&u);
    Tile t = vm_tile(S);
    vm_tile_index(&t, 0, vm_e_i32(u.k, 0));
    vm_b_lock(u.k, t, vm_e_bid(u.k, 0));
    Var *v = vm_b_load_scalar(u.k, "v", t);
    Tile ty = vm_tile(Y);
    vm_tile_range(&ty, 0, vm_e_bid(u.k, 0), 1);
    int32_t one[1] = {1};
    vm_b_store_global(u.k, ty, vm_b_full(u.k, VM_DT_I32, 1, one,
                                         vm_e_bin(u.k, VM_S_MUL, vm_e_var(u.k, v), vm_e_i32(u.k, 10))),
                      NULL);
    vm_b_release(u.k, t, vm_e_bin(u.k, VM_S_ADD, vm_e_bid(u.k, 0), vm_e_i32(u.k, 1)));
    EvBuf bf[2] = {ev_buf(VM_DT_I32, 1, 1, 0), ev_buf(VM_DT_I32, 1, 4, 0)};
    int g[3] = {4, 1, 1};
    check_kernel(&u, bf, 2, 0, g, 1, 4, "lock/release");
    int32_t y3;
    memcpy(&y3, bf[1].a + 12, 4);
    cr_expect_eq(y3, 30);
    ev_free(bf, 2);
    tu_free(&u);
}

/* reductions in explicit layouts: inside a warp (shuffles), across warps
 * (shared memory), a non-power-of-two mode, keepdim, both dims */
Test(tir_eval, reductions_in_explicit_layouts)
{
    static const struct {
        const char *lay;
        int warps, dim;
        bool keep;
        Op op;
        Dtype dt;
    } cs[] = {
        {"local(4, 1) * spatial(1, 128) * local(1, 2)", 4, 1, false, VM_REDUCE_SUM, VM_DT_I32},
        {"local(4, 1) * spatial(1, 128) * local(1, 2)", 4, 1, true, VM_REDUCE_MAX, VM_DT_F32},
        {"spatial(4, 8) * local(1, 32)", 1, 0, false, VM_REDUCE_SUM, VM_DT_I16},
        {"replicate(2) * spatial(2, 32) * local(2, 8)", 4, 0, true, VM_REDUCE_MIN, VM_DT_F16},
        {"spatial(4, 16) * local(1, 16)", 2, 1, false, VM_REDUCE_MAX, VM_DT_U4},
        {"spatial(4, 4) * spatial(1, 4) * replicate(2) * local(1, 16)", 4, 1, false, VM_REDUCE_SUM,
         VM_DT_I64},
    };
    for (size_t j = 0; j < sizeof cs / sizeof cs[0]; j++) {
        Layout L = LP(cs[j].lay);
        int rows = L.shape[0], cols = L.shape[1];
        TuKernel u = tu_new("red", cs[j].warps);
        Expr *sh[2] = {vm_e_i32(u.k, rows), vm_e_i32(u.k, cols)};
        int rr = cs[j].dim == 0 ? cols : rows;
        Expr *so[2] = {vm_e_i32(u.k, cs[j].dim == 0 ? 1 : rows),
                       vm_e_i32(u.k, cs[j].dim == 0 ? cols : 1)};
        Expr *s1[1] = {vm_e_i32(u.k, rr)};
        Value *X = vm_param_tensor(u.k, "x", cs[j].dt, 2, sh)->value;
        Value *Y = cs[j].keep ? vm_param_tensor(u.k, "y", cs[j].dt, 2, so)->value
                              : vm_param_tensor(u.k, "y", cs[j].dt, 1, s1)->value;
        tu_line(&u);
        Value *a = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
        vm_set_layout(a, L);
        Value *r = vm_b_reduce(u.k, cs[j].op, a, cs[j].dim, cs[j].keep);
        vm_b_store_global(u.k, tu_whole(Y), r, NULL);
        EvBuf b[2] = {ev_buf(cs[j].dt, 2, rows, cols),
                      cs[j].keep ? ev_buf(cs[j].dt, 2, cs[j].dim == 0 ? 1 : rows,
                                          cs[j].dim == 0 ? cols : 1)
                                 : ev_buf(cs[j].dt, 1, rr, 0)};
        fill_random(&b[0], rows * cols);
        int g[3] = {1, 1, 1};
        char what[128];
        snprintf(what, sizeof what, "%s %s over %s", vm_op_name(cs[j].op),
                 vm_dtype_name(cs[j].dt), cs[j].lay);
        check_kernel(&u, b, 2, 0, g, 1, rr, what);
        ev_free(b, 2);
        tu_free(&u);
    }
}

/* load with mask and other, store with a mask; gather rows by an index
 * tensor; reshape, permute, broadcast and slice of register tensors */
Test(tir_eval, masks_gather_shapes)
{
    TuKernel u = tu_new("shapes", 2);
    Expr *sh[2] = {vm_e_i32(u.k, 8), vm_e_i32(u.k, 16)};
    Expr *sv[1] = {vm_e_i32(u.k, 8)};
    Expr *st[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 8)};
    Expr *sr[2] = {vm_e_i32(u.k, 4), vm_e_i32(u.k, 32)};
    Value *X = vm_param_tensor(u.k, "x", VM_DT_F16, 2, sh)->value;
    Value *I = vm_param_tensor(u.k, "idx", VM_DT_I32, 1, sv)->value;
    Value *Y1 = vm_param_tensor(u.k, "y1", VM_DT_F16, 2, sh)->value;
    Value *Y2 = vm_param_tensor(u.k, "y2", VM_DT_F16, 2, sh)->value;
    Value *Y3 = vm_param_tensor(u.k, "y3", VM_DT_F16, 2, st)->value;
    Value *Y4 = vm_param_tensor(u.k, "y4", VM_DT_F16, 2, sr)->value;
    Value *Y5 = vm_param_tensor(u.k, "y5", VM_DT_F16, 2, sh)->value;
    tu_line(&u);
    /* a = x where (row + col) is odd, else 7 */
    int32_t s16[1] = {16}, s8[2] = {8, 1};
    Value *ar = vm_b_arange(u.k, VM_DT_I32, 16);
    Value *col = vm_b_broadcast(u.k, ar, 2, (int32_t[]){8, 16});
    Value *row = vm_b_reshape(u.k, vm_b_arange(u.k, VM_DT_I32, 8), 2, s8);
    Value *sum = vm_b_binary(u.k, VM_ADD, col, row);
    Value *one = vm_b_scalar(u.k, VM_DT_I32, vm_e_i32(u.k, 1));
    Value *odd = vm_b_binary(u.k, VM_EQ, vm_b_binary(u.k, VM_AND, sum, one), one);
    Value *seven = vm_b_scalar(u.k, VM_DT_F16, vm_e_f32(u.k, 7.0));
    Value *a = vm_b_load_global(u.k, tu_whole(X), odd, seven);
    vm_b_store_global(u.k, tu_whole(Y1), a, NULL);
    /* y2 = a only where even (masked store) */
    vm_b_store_global(u.k, tu_whole(Y2), a, vm_b_unary(u.k, VM_NOT, odd));
    /* y3 = transpose(a) through permute */
    vm_b_store_global(u.k, tu_whole(Y3), vm_b_permute(u.k, a, (int[]){1, 0}), NULL);
    /* y4 = reshape(a, [4, 32]) */
    vm_b_store_global(u.k, tu_whole(Y4), vm_b_reshape(u.k, a, 2, (int32_t[]){4, 32}), NULL);
    /* y5 = x[idx[r], :] (gather along dim 0) */
    Value *iv = vm_b_load_global(u.k, tu_whole(I), NULL, NULL);
    Value *ix = vm_b_reshape(u.k, iv, 2, s8);
    Tile gt = tu_whole(X);
    Value *gv = vm_b_gather(u.k, gt, ix, 0);
    vm_b_store_global(u.k, tu_whole(Y5), gv, NULL);
    (void)s16;
    EvBuf b[7] = {ev_buf(VM_DT_F16, 2, 8, 16), ev_buf(VM_DT_I32, 1, 8, 0),
                  ev_buf(VM_DT_F16, 2, 8, 16), ev_buf(VM_DT_F16, 2, 8, 16),
                  ev_buf(VM_DT_F16, 2, 16, 8), ev_buf(VM_DT_F16, 2, 4, 32),
                  ev_buf(VM_DT_F16, 2, 8, 16)};
    fill_random(&b[0], 128);
    int32_t idx[8] = {3, 0, 7, 7, 1, 9, -1, 2}; /* 9 and -1 are out of range: 0 */
    memcpy(b[1].a, idx, sizeof idx);
    memcpy(b[1].b, idx, sizeof idx);
    for (int j = 2; j < 7; j++)
        for (size_t q = 0; q < b[j].bytes; q++)
            b[j].a[q] = b[j].b[q] = (uint8_t)q;
    int g[3] = {1, 1, 1};
    char why[512];
    bool ok = run_both(&u, b, 7, 0, g, why, sizeof why);
    cr_expect(ok, "shapes: %s", why);
    for (int j = 2; ok && j < 7; j++) {
        int changed = 0;
        for (size_t q = 0; q < b[j].bytes; q++)
            changed += b[j].a[q] != (uint8_t)q;
        cr_expect_gt(changed, 64, "shapes: output %d was written", j);
        Code ga, gb;
        int64_t e = first_diff(&b[j], 128, &ga, &gb);
        cr_expect_eq(e, -1, "shapes: output %d element %lld: %#llx, interpreter %#llx", j,
                     (long long)e, (unsigned long long)ga, (unsigned long long)gb);
    }
    ev_free(b, 7);
    tu_free(&u);
}

/* concat along each dim, and printf (thread 0 only, f32 widened) */
Test(tir_eval, concat_and_printf)
{
    for (int dim = 0; dim < 2; dim++) {
        TuKernel u = tu_new("concat", 1);
        Expr *sa[2] = {vm_e_i32(u.k, 8), vm_e_i32(u.k, 16)};
        Expr *sr[2] = {vm_e_i32(u.k, dim ? 8 : 16), vm_e_i32(u.k, dim ? 32 : 16)};
        Value *A = vm_param_tensor(u.k, "a", VM_DT_U8, 2, sa)->value;
        Value *B = vm_param_tensor(u.k, "b", VM_DT_U8, 2, sa)->value;
        Value *Y = vm_param_tensor(u.k, "y", VM_DT_U8, 2, sr)->value;
        tu_line(&u);
        Value *a = vm_b_load_global(u.k, tu_whole(A), NULL, NULL);
        Value *b = vm_b_load_global(u.k, tu_whole(B), NULL, NULL);
        Value *c = vm_b_concat(u.k, a, b, dim);
        vm_b_store_global(u.k, tu_whole(Y), c, NULL);
        Expr *pa[2] = {vm_e_bid(u.k, 0), vm_e_f32(u.k, 1.5)};
        vm_b_printf(u.k, "block %d x %f\n", 2, pa);
        EvBuf b3[3] = {ev_buf(VM_DT_U8, 2, 8, 16), ev_buf(VM_DT_U8, 2, 8, 16),
                       ev_buf(VM_DT_U8, 2, dim ? 8 : 16, dim ? 32 : 16)};
        fill_random(&b3[0], 128);
        fill_random(&b3[1], 128);
        int g[3] = {1, 1, 1};
        check_kernel(&u, b3, 3, 0, g, 2, 256, dim ? "concat dim 1" : "concat dim 0");
        VmDiags d;
        TirKernel *t = tu_lower(&u, &d);
        cr_assert_not_null(t);
        cr_expect_eq(tir_count(t, TIR_OP_PRINTF), 1);
        cr_expect_str_eq(g_tir_out, g_ix_out, "printf output");
        char *s = tir_print_alloc(t);
        cr_expect(strstr(s, "printf \"block %d x %f\\n\"") != NULL, "%s", s);
        cr_expect(strstr(s, "cvt.f64.f32") != NULL, "f32 printf arguments are widened");
        free(s);
        ev_free(b3, 3);
        tu_free(&u);
    }
}

/* argmax (NaN below numbers, first index on ties), cumsum (ascending, as the
 * interpreter adds) and topk, along either dim */
Test(tir_eval, argmax_cumsum_topk)
{
    static const Dtype dts[] = {VM_DT_F32, VM_DT_I8, VM_DT_F16, VM_DT_U4};
    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++)
        for (int dim = 0; dim < 2; dim++) {
            Dtype dt = dts[j];
            TuKernel u = tu_new("scan", 2);
            Expr *sh[2] = {vm_e_i32(u.k, 8), vm_e_i32(u.k, 16)};
            Expr *sa[1] = {vm_e_i32(u.k, dim ? 8 : 16)};
            Expr *st[2] = {vm_e_i32(u.k, dim ? 8 : 3), vm_e_i32(u.k, dim ? 3 : 16)};
            Value *X = vm_param_tensor(u.k, "x", dt, 2, sh)->value;
            Value *A = vm_param_tensor(u.k, "am", VM_DT_I32, 1, sa)->value;
            Value *C = vm_param_tensor(u.k, "cs", dt, 2, sh)->value;
            Value *TV = vm_param_tensor(u.k, "tv", dt, 2, st)->value;
            Value *TI = vm_param_tensor(u.k, "ti", VM_DT_I32, 2, st)->value;
            tu_line(&u);
            Value *a = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
            vm_b_store_global(u.k, tu_whole(A), vm_b_reduce(u.k, VM_ARGMAX, a, dim, false), NULL);
            vm_b_store_global(u.k, tu_whole(C), vm_b_cumsum(u.k, a, dim), NULL);
            Value *ti;
            Value *tv = vm_b_topk(u.k, a, 3, dim, &ti);
            vm_b_store_global(u.k, tu_whole(TV), tv, NULL);
            vm_b_store_global(u.k, tu_whole(TI), ti, NULL);
            EvBuf b[5] = {ev_buf(dt, 2, 8, 16), ev_buf(VM_DT_I32, 1, dim ? 8 : 16, 0),
                          ev_buf(dt, 2, 8, 16), ev_buf(dt, 2, dim ? 8 : 3, dim ? 3 : 16),
                          ev_buf(VM_DT_I32, 2, dim ? 8 : 3, dim ? 3 : 16)};
            int bits = vm_dtype_bits(dt);
            for (int e = 0; e < 128; e++) {
                Code c = rnd() % 5; /* many ties */
                Code v = vm_dtype_is_float(dt) ? vm_encode(dt, (double)c - 2) : c;
                if (vm_dtype_is_float(dt) && e % 13 == 5)
                    v = vm_canonical_nan(dt);
                vm_bits_set(b[0].a, (uint64_t)e * bits, bits, v);
            }
            memcpy(b[0].b, b[0].a, b[0].bytes);
            int g[3] = {1, 1, 1};
            char why[512];
            bool ok = run_both(&u, b, 5, 0, g, why, sizeof why);
            cr_expect(ok, "%s dim %d: %s", vm_dtype_name(dt), dim, why);
            for (int q = 1; ok && q < 5; q++) {
                Code ga, gb;
                int64_t n = (int64_t)b[q].bytes * 8 / vm_dtype_bits(b[q].dt);
                int64_t e = first_diff(&b[q], n, &ga, &gb);
                cr_expect_eq(e, -1, "%s dim %d output %d element %lld: %#llx, interpreter %#llx",
                             vm_dtype_name(dt), dim, q, (long long)e, (unsigned long long)ga,
                             (unsigned long long)gb);
            }
            ev_free(b, 5);
            tu_free(&u);
        }
}

/* print(R) writes the interpreter's text */
Test(tir_eval, print_tensor_text)
{
    static const Dtype dts[] = {VM_DT_F32, VM_DT_I4, VM_DT_BOOL, VM_DT_U16, VM_DT_F8E4M3};
    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++) {
        TuKernel u = tu_new("print", 1);
        Expr *sh[2] = {vm_e_i32(u.k, 2), vm_e_i32(u.k, 3)};
        Value *X = vm_param_tensor(u.k, "x", dts[j], 2, sh)->value;
        tu_line(&u);
        Value *a = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
        vm_b_print(u.k, j == 1 ? "100% a" : NULL, a);
        vm_b_print(u.k, "col", vm_b_reduce(u.k, VM_REDUCE_MAX, a, 0, false));
        EvBuf b[1] = {ev_buf(dts[j], 2, 2, 3)};
        fill_random(&b[0], 6);
        if (dts[j] == VM_DT_BOOL)
            for (int e = 0; e < 6; e++)
                b[0].a[e] = b[0].b[e] = (uint8_t)(e % 2);
        int g[3] = {2, 1, 1};
        Expr *g2[1] = {vm_e_i32(u.k, 2)};
        vm_set_grid(u.k, 1, g2);
        char why[512];
        bool ok = run_both(&u, b, 1, 0, g, why, sizeof why);
        cr_expect(ok, "print %s: %s", vm_dtype_name(dts[j]), why);
        if (ok) {
            cr_expect_str_eq(g_tir_out, g_ix_out, "print %s", vm_dtype_name(dts[j]));
            cr_expect(strstr(g_tir_out, "]]\ncol: [") != NULL, "%s", g_tir_out);
        }
        ev_free(b, 1);
        tu_free(&u);
    }
}

/* a register slice at a runtime start; copy_async with a broadcast mask
 * (masked-off elements are zero-filled) */
Test(tir_eval, runtime_slice_and_masked_copy)
{
    TuKernel u = tu_new("slice", 1);
    Expr *sh[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 8)};
    Expr *sy[2] = {vm_e_i32(u.k, 12), vm_e_i32(u.k, 4)};
    Value *X = vm_param_tensor(u.k, "x", VM_DT_F32, 2, sh)->value;
    Value *Y = vm_param_tensor(u.k, "y", VM_DT_F32, 2, sy)->value;
    Value *Z = vm_param_tensor(u.k, "z", VM_DT_F32, 2, sh)->value;
    Expr *g3[1] = {vm_e_i32(u.k, 3)};
    vm_set_grid(u.k, 1, g3);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
    Tile t = vm_tile(a);
    vm_tile_range(&t, 0, vm_e_bin(u.k, VM_S_MUL, vm_e_bid(u.k, 0), vm_e_i32(u.k, 3)), 4);
    vm_tile_range(&t, 1, vm_e_i32(u.k, 2), 4);
    Value *s = vm_b_slice(u.k, t);
    Tile ty = vm_tile(Y);
    vm_tile_range(&ty, 0, vm_e_bin(u.k, VM_S_MUL, vm_e_bid(u.k, 0), vm_e_i32(u.k, 4)), 4);
    vm_tile_range(&ty, 1, NULL, 4);
    vm_b_store_global(u.k, ty, s, NULL);
    int32_t shp32[2] = {16, 8};
    Value *sm = vm_b_shared_alloc(u.k, VM_DT_F32, 2, shp32, NULL);
    Value *rows = vm_b_reshape(u.k, vm_b_arange(u.k, VM_DT_I32, 16), 2, (int32_t[]){16, 1});
    Value *lim = vm_b_scalar(u.k, VM_DT_I32, vm_e_i32(u.k, 10));
    vm_b_copy_async(u.k, vm_tile(sm), tu_whole(X), vm_b_binary(u.k, VM_LT, rows, lim));
    vm_b_commit(u.k);
    vm_b_wait(u.k, 0);
    vm_b_sync(u.k);
    vm_b_store_global(u.k, tu_whole(Z), vm_b_load_shared(u.k, vm_tile(sm)), NULL);
    vm_b_shared_free(u.k, sm);
    EvBuf b[3] = {ev_buf(VM_DT_F32, 2, 16, 8), ev_buf(VM_DT_F32, 2, 12, 4),
                  ev_buf(VM_DT_F32, 2, 16, 8)};
    fill_random(&b[0], 128);
    for (int j = 1; j < 3; j++)
        for (size_t q = 0; q < b[j].bytes; q++)
            b[j].a[q] = b[j].b[q] = 0x55;
    int g[3] = {3, 1, 1};
    char why[512];
    bool ok = run_both(&u, b, 3, 0, g, why, sizeof why);
    cr_expect(ok, "slice: %s", why);
    for (int j = 1; ok && j < 3; j++) {
        Code ga, gb;
        int64_t e = first_diff(&b[j], (int64_t)b[j].bytes / 4, &ga, &gb);
        cr_expect_eq(e, -1, "slice: output %d element %lld: %#llx, interpreter %#llx", j,
                     (long long)e, (unsigned long long)ga, (unsigned long long)gb);
    }
    ev_free(b, 3);
    tu_free(&u);
}

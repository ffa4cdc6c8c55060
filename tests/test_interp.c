/* tests/test_interp.c - the interpreter's compute instructions against
 * plain C reference code: elementwise (with broadcasting) in f32, f16, i8,
 * packed u4; comparisons and where with NaN; fma; unary math; casts with
 * hand-checked codes (f8e4m3, f6e3m2, u4, i4); dot f16 -> f32 and i8 -> i32;
 * reductions, argmax/topk/cumsum with ties; shape changes; constants and
 * rand; printf/print; control flow. Random inputs use fixed seeds. */
#include <math.h>

#include "tests/test_interp.h"

#define K (t.k)

static void fill_f32(float *v, int n, uint64_t seed, float lo, float hi)
{
    for (int i = 0; i < n; i++)
        v[i] = rndf(&seed, lo, hi);
}

Test(interp, binary_f32_broadcast)
{
    static const Op ops[] = {VM_ADD, VM_SUB, VM_MUL, VM_DIV, VM_REM, VM_MIN, VM_MAX};
    enum { NOPS = sizeof ops / sizeof ops[0] };
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_F32, 2, (int32_t[]){4, 8});
    Value *y = gvec(&t, "y", VM_DT_F32, 8);
    Value *o = gten(&t, "o", VM_DT_F32, 3, (int32_t[]){NOPS, 4, 8});
    Value *lx = load(&t, x), *ly = load(&t, y);
    for (int j = 0; j < NOPS; j++) {
        Tile tl = whole(o);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_binary(K, ops[j], lx, ly), NULL);
    }
    float X[32], Y[8], O[NOPS * 32];
    fill_f32(X, 32, 1, -5, 5);
    fill_f32(Y, 8, 2, 0.5f, 3);
    VmArg args[] = {arg(X, VM_DT_F32, 2, (int64_t[]){4, 8}), avec(Y, VM_DT_F32, 8),
                    arg(O, VM_DT_F32, 3, (int64_t[]){NOPS, 4, 8})};
    launch_ok(&t, args, 3);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 8; c++) {
            float a = X[i * 8 + c], b = Y[c];
            float want[NOPS] = {a + b, a - b, a * b, a / b, fmodf(a, b), fminf(a, b), fmaxf(a, b)};
            for (int j = 0; j < NOPS; j++)
                cr_assert_eq(fbits(O[j * 32 + i * 8 + c]), fbits(want[j]), "op %d at %d,%d: %g vs %g",
                             j, i, c, O[j * 32 + i * 8 + c], want[j]);
        }
    done(&t);
}

Test(interp, binary_i8)
{
    static const Op ops[] = {VM_ADD, VM_SUB, VM_MUL, VM_DIV, VM_REM, VM_SHL, VM_SHR,
                             VM_AND, VM_OR, VM_XOR, VM_MIN, VM_MAX};
    enum { NOPS = sizeof ops / sizeof ops[0], N = 64 };
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_I8, N), *y = gvec(&t, "y", VM_DT_I8, N);
    Value *o = gten(&t, "o", VM_DT_I8, 2, (int32_t[]){NOPS, N});
    Value *lx = load(&t, x), *ly = load(&t, y);
    for (int j = 0; j < NOPS; j++) {
        Tile tl = whole(o);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_binary(K, ops[j], lx, ly), NULL);
    }
    int8_t X[N], Y[N], O[NOPS * N];
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        X[i] = (int8_t)rnd(&s);
        Y[i] = i % 4 == 0 ? (int8_t)(rnd(&s) % 11) : (int8_t)rnd(&s);
    }
    X[0] = -128, Y[0] = -1; /* MIN / -1 wraps */
    Y[1] = 0;               /* x / 0 = 0, x % 0 = x */
    VmArg args[] = {avec(X, VM_DT_I8, N), avec(Y, VM_DT_I8, N), arg(O, VM_DT_I8, 2, (int64_t[]){NOPS, N})};
    launch_ok(&t, args, 3);
    for (int i = 0; i < N; i++) {
        int a = X[i], b = Y[i];
        int cnt = b < 0 || b >= 8 ? 8 : b;
        int want[NOPS] = {
            (int8_t)(a + b), (int8_t)(a - b), (int8_t)(a * b),
            b == 0 ? 0 : (int8_t)(a / b), b == 0 ? a : (int8_t)(a % b),
            cnt >= 8 ? 0 : (int8_t)((unsigned)a << cnt), cnt >= 8 ? (a < 0 ? -1 : 0) : a >> cnt,
            a & b, a | b, (int8_t)(a ^ b), a < b ? a : b, a > b ? a : b,
        };
        for (int j = 0; j < NOPS; j++)
            cr_assert_eq(O[j * N + i], want[j], "op %d: %d, %d gives %d, want %d", j, a, b,
                         O[j * N + i], want[j]);
    }
    done(&t);
}

/* packed u4 operands and result, broadcasting a [1, 8] row over [3, 8] */
Test(interp, binary_u4_packed)
{
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_U4, 2, (int32_t[]){3, 8});
    Value *y = gten(&t, "y", VM_DT_U4, 2, (int32_t[]){1, 8});
    Value *o = gten(&t, "o", VM_DT_U4, 2, (int32_t[]){3, 8});
    Value *lx = load(&t, x), *ly = load(&t, y);
    store(&t, o, vm_b_binary(K, VM_MUL, vm_b_binary(K, VM_ADD, lx, ly), ly));
    uint8_t X[12], Y[4], O[12] = {0};
    uint64_t s = 3;
    for (int i = 0; i < 12; i++)
        X[i] = (uint8_t)rnd(&s);
    for (int i = 0; i < 4; i++)
        Y[i] = (uint8_t)rnd(&s);
    VmArg args[] = {arg(X, VM_DT_U4, 2, (int64_t[]){3, 8}), arg(Y, VM_DT_U4, 2, (int64_t[]){1, 8}),
                    arg(O, VM_DT_U4, 2, (int64_t[]){3, 8})};
    launch_ok(&t, args, 3);
    for (int i = 0; i < 24; i++) {
        unsigned a = (unsigned)getbits(X, i * 4, 4), b = (unsigned)getbits(Y, (i % 8) * 4, 4);
        cr_assert_eq(getbits(O, i * 4, 4), ((a + b) * b) & 15, "element %d", i);
    }
    done(&t);
}

Test(interp, binary_f16)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F16, 32), *y = gvec(&t, "y", VM_DT_F16, 32);
    Value *o = gten(&t, "o", VM_DT_F16, 2, (int32_t[]){2, 32});
    Value *lx = load(&t, x), *ly = load(&t, y);
    Tile t0 = whole(o), t1 = whole(o);
    vm_tile_index(&t0, 0, vm_e_i32(K, 0));
    vm_tile_index(&t1, 0, vm_e_i32(K, 1));
    vm_b_store_global(K, t0, vm_b_binary(K, VM_ADD, lx, ly), NULL);
    vm_b_store_global(K, t1, vm_b_binary(K, VM_MUL, lx, ly), NULL);
    uint16_t X[32], Y[32], O[64];
    uint64_t s = 11;
    for (int i = 0; i < 32; i++) {
        X[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&s, -100, 100));
        Y[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&s, -100, 100));
    }
    VmArg args[] = {avec(X, VM_DT_F16, 32), avec(Y, VM_DT_F16, 32), arg(O, VM_DT_F16, 2, (int64_t[]){2, 32})};
    launch_ok(&t, args, 3);
    for (int i = 0; i < 32; i++) {
        double a = vm_decode(VM_DT_F16, X[i]), b = vm_decode(VM_DT_F16, Y[i]);
        cr_assert_eq(O[i], vm_encode(VM_DT_F16, a + b));
        cr_assert_eq(O[32 + i], vm_encode(VM_DT_F16, a * b));
    }
    done(&t);
}

Test(interp, compare_where_fma)
{
    static const Op ops[] = {VM_EQ, VM_NE, VM_LT, VM_LE, VM_GT, VM_GE};
    enum { N = 16 };
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, N), *y = gvec(&t, "y", VM_DT_F32, N), *z = gvec(&t, "z", VM_DT_F32, N);
    Value *c = gten(&t, "c", VM_DT_BOOL, 2, (int32_t[]){6, N});
    Value *w = gvec(&t, "w", VM_DT_F32, N), *f = gvec(&t, "f", VM_DT_F32, N);
    Value *lx = load(&t, x), *ly = load(&t, y), *lz = load(&t, z);
    for (int j = 0; j < 6; j++) {
        Tile tl = whole(c);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_binary(K, ops[j], lx, ly), NULL);
    }
    store(&t, w, vm_b_where(K, vm_b_binary(K, VM_LT, lx, ly), lx, ly));
    store(&t, f, vm_b_fma(K, lx, ly, lz));
    float X[N], Y[N], Z[N], W[N], F[N];
    uint8_t C[6 * N];
    fill_f32(X, N, 5, -2, 2);
    fill_f32(Y, N, 6, -2, 2);
    fill_f32(Z, N, 8, -2, 2);
    Y[3] = X[3];
    X[5] = NAN;
    Y[6] = NAN;
    X[7] = 0.0f, Y[7] = -0.0f;
    VmArg args[] = {avec(X, VM_DT_F32, N), avec(Y, VM_DT_F32, N), avec(Z, VM_DT_F32, N),
                    arg(C, VM_DT_BOOL, 2, (int64_t[]){6, N}), avec(W, VM_DT_F32, N), avec(F, VM_DT_F32, N)};
    launch_ok(&t, args, 6);
    for (int i = 0; i < N; i++) {
        float a = X[i], b = Y[i];
        int want[6] = {a == b, a != b, a < b, a <= b, a > b, a >= b};
        for (int j = 0; j < 6; j++)
            cr_assert_eq(C[j * N + i], want[j], "cmp %d at %d", j, i);
        cr_assert_eq(fbits(W[i]), fbits(a < b ? a : b), "where at %d", i);
        float fm = fmaf(a, b, Z[i]);
        if (isnan(fm))
            cr_assert_eq(fbits(F[i]), 0x7FFFFFFFu);
        else
            cr_assert_eq(fbits(F[i]), fbits(fm), "fma at %d", i);
    }
    cr_assert_eq(C[0 * N + 7], 1); /* 0 == -0 */
    cr_assert_eq(C[1 * N + 5], 1); /* NaN != y */
    done(&t);
}

Test(interp, unary_f32)
{
    static const Op ops[] = {VM_EXP, VM_EXP2, VM_LOG, VM_LOG2, VM_SQRT, VM_RSQRT, VM_SIN,
                             VM_COS, VM_TANH, VM_SIGMOID, VM_SILU, VM_NEG, VM_ABS};
    enum { NOPS = sizeof ops / sizeof ops[0], N = 32 };
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, N), *o = gten(&t, "o", VM_DT_F32, 2, (int32_t[]){NOPS, N});
    Value *lx = load(&t, x);
    for (int j = 0; j < NOPS; j++) {
        Tile tl = whole(o);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_unary(K, ops[j], lx), NULL);
    }
    float X[N], O[NOPS * N];
    fill_f32(X, N, 9, 0.05f, 6);
    VmArg args[] = {avec(X, VM_DT_F32, N), arg(O, VM_DT_F32, 2, (int64_t[]){NOPS, N})};
    launch_ok(&t, args, 2);
    for (int i = 0; i < N; i++) {
        float a = X[i];
        float want[NOPS] = {expf(a), exp2f(a), logf(a), log2f(a), sqrtf(a), 1.0f / sqrtf(a),
                            sinf(a), cosf(a), tanhf(a), 1.0f / (1.0f + expf(-a)),
                            a * (1.0f / (1.0f + expf(-a))), -a, a};
        for (int j = 0; j < NOPS; j++)
            cr_assert_eq(fbits(O[j * N + i]), fbits(want[j]), "op %d of %g", j, a);
    }
    done(&t);
}

/* narrow floats compute in f32 and round; ints wrap */
Test(interp, unary_f16_i8)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F16, 8), *o = gvec(&t, "o", VM_DT_F16, 8);
    Value *y = gvec(&t, "y", VM_DT_I8, 4), *p = gten(&t, "p", VM_DT_I8, 2, (int32_t[]){3, 4});
    store(&t, o, vm_b_unary(K, VM_EXP, load(&t, x)));
    Value *ly = load(&t, y);
    static const Op iops[] = {VM_NEG, VM_ABS, VM_NOT};
    for (int j = 0; j < 3; j++) {
        Tile tl = whole(p);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_unary(K, iops[j], ly), NULL);
    }
    uint16_t X[8], O[8];
    uint64_t s = 4;
    for (int i = 0; i < 8; i++)
        X[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&s, -4, 4));
    int8_t Y[4] = {-128, -5, 0, 77}, Pv[12];
    VmArg args[] = {avec(X, VM_DT_F16, 8), avec(O, VM_DT_F16, 8), avec(Y, VM_DT_I8, 4),
                    arg(Pv, VM_DT_I8, 2, (int64_t[]){3, 4})};
    launch_ok(&t, args, 4);
    for (int i = 0; i < 8; i++) {
        float e = expf((float)vm_decode(VM_DT_F16, X[i]));
        cr_assert_eq(O[i], vm_cast(VM_DT_F16, VM_DT_F32, fbits(e)));
    }
    int8_t want[12] = {-128, 5, 0, -77, -128, 5, 0, 77, 127, 4, -1, -78};
    for (int i = 0; i < 12; i++)
        cr_assert_eq(Pv[i], want[i], "element %d: %d", i, Pv[i]);
    done(&t);
}

/* hand-checked codes: e4m3 bias 7 (max 448, NaN 0x7F), e3m2 bias 3 (max 28,
 * no NaN), u4 rounds to nearest even and saturates */
Test(interp, cast_narrow)
{
    enum { N = 8 };
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F32, N);
    Value *a = gvec(&t, "a", VM_DT_F8E4M3, N), *b = gvec(&t, "b", VM_DT_F6E3M2, N);
    Value *c = gvec(&t, "c", VM_DT_U4, N);
    Value *lx = load(&t, x);
    store(&t, a, vm_b_cast(K, lx, VM_DT_F8E4M3));
    store(&t, b, vm_b_cast(K, lx, VM_DT_F6E3M2));
    store(&t, c, vm_b_cast(K, lx, VM_DT_U4));
    float X[N] = {1.0f, -2.0f, 448.0f, 1000.0f, 0.3f, NAN, 2.5f, 0x1p-9f};
    uint8_t A[N], B[6], C[4];
    VmArg args[] = {avec(X, VM_DT_F32, N), avec(A, VM_DT_F8E4M3, N), avec(B, VM_DT_F6E3M2, N),
                    avec(C, VM_DT_U4, N)};
    launch_ok(&t, args, 4);
    uint8_t wa[N] = {0x38, 0xC0, 0x7E, 0x7E, 0x2A, 0x7F, 0x42, 0x01};
    uint8_t wb[N] = {0x0C, 0x30, 0x1F, 0x1F, 0x05, 0x1F, 0x11, 0x00};
    uint8_t wc[N] = {1, 0, 15, 15, 0, 0, 2, 0};
    for (int i = 0; i < N; i++) {
        cr_assert_eq(A[i], wa[i], "e4m3 of %g: 0x%x", X[i], A[i]);
        cr_assert_eq(getbits(B, i * 6, 6), wb[i], "e3m2 of %g: 0x%llx", X[i],
                     (unsigned long long)getbits(B, i * 6, 6));
        cr_assert_eq(getbits(C, i * 4, 4), wc[i], "u4 of %g", X[i]);
    }
    done(&t);
}

/* i4 codes sign-extend when cast to i32 */
Test(interp, cast_i4_to_i32)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_I4, 6), *o = gvec(&t, "o", VM_DT_I32, 6);
    store(&t, o, vm_b_cast(K, load(&t, x), VM_DT_I32));
    uint8_t X[3] = {0xF8, 0x07, 0x91}; /* -8, -1, 7, 0, 1, -7 */
    int32_t O[6];
    VmArg args[] = {avec(X, VM_DT_I4, 6), avec(O, VM_DT_I32, 6)};
    launch_ok(&t, args, 2);
    int32_t want[6] = {-8, -1, 7, 0, 1, -7};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(O[i], want[i], "element %d: %d", i, O[i]);
    done(&t);
}

Test(interp, dot_f16_f32)
{
    enum { M = 16, KK = 16, N = 8 };
    T t = setup(1);
    Value *a = gten(&t, "a", VM_DT_F16, 2, (int32_t[]){M, KK});
    Value *b = gten(&t, "b", VM_DT_F16, 2, (int32_t[]){KK, N});
    Value *c = gten(&t, "c", VM_DT_F32, 2, (int32_t[]){M, N});
    Value *o = gten(&t, "o", VM_DT_F32, 2, (int32_t[]){M, N});
    store(&t, o, vm_b_dot(K, load(&t, a), load(&t, b), load(&t, c)));
    uint16_t A[M * KK], B[KK * N];
    float C[M * N], O[M * N];
    uint64_t s = 21;
    for (int i = 0; i < M * KK; i++)
        A[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&s, -3, 3));
    for (int i = 0; i < KK * N; i++)
        B[i] = (uint16_t)vm_encode(VM_DT_F16, rndf(&s, -3, 3));
    fill_f32(C, M * N, 22, -10, 10);
    VmArg args[] = {arg(A, VM_DT_F16, 2, (int64_t[]){M, KK}), arg(B, VM_DT_F16, 2, (int64_t[]){KK, N}),
                    arg(C, VM_DT_F32, 2, (int64_t[]){M, N}), arg(O, VM_DT_F32, 2, (int64_t[]){M, N})};
    launch_ok(&t, args, 4);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = C[i * N + j];
            for (int q = 0; q < KK; q++)
                acc = acc + (float)vm_decode(VM_DT_F16, A[i * KK + q]) * (float)vm_decode(VM_DT_F16, B[q * N + j]);
            cr_assert_eq(fbits(O[i * N + j]), fbits(acc), "(%d, %d): %g vs %g", i, j, O[i * N + j], acc);
        }
    done(&t);
}

Test(interp, dot_i8_i32)
{
    enum { M = 8, KK = 32, N = 8 };
    T t = setup(1);
    Value *a = gten(&t, "a", VM_DT_I8, 2, (int32_t[]){M, KK});
    Value *b = gten(&t, "b", VM_DT_I8, 2, (int32_t[]){KK, N});
    Value *c = gten(&t, "c", VM_DT_I32, 2, (int32_t[]){M, N});
    store(&t, c, vm_b_dot(K, load(&t, a), load(&t, b), load(&t, c)));
    int8_t A[M * KK], B[KK * N];
    int32_t C[M * N], want[M * N];
    uint64_t s = 23;
    for (int i = 0; i < M * KK; i++)
        A[i] = (int8_t)rnd(&s);
    for (int i = 0; i < KK * N; i++)
        B[i] = (int8_t)rnd(&s);
    for (int i = 0; i < M * N; i++)
        C[i] = (int32_t)rnd(&s) | (i % 2 ? (int32_t)0x7FFF0000 : 0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            uint32_t acc = (uint32_t)C[i * N + j];
            for (int q = 0; q < KK; q++)
                acc += (uint32_t)(A[i * KK + q] * B[q * N + j]);
            want[i * N + j] = (int32_t)acc;
        }
    VmArg args[] = {arg(A, VM_DT_I8, 2, (int64_t[]){M, KK}), arg(B, VM_DT_I8, 2, (int64_t[]){KK, N}),
                    arg(C, VM_DT_I32, 2, (int64_t[]){M, N})};
    launch_ok(&t, args, 3);
    for (int i = 0; i < M * N; i++)
        cr_assert_eq(C[i], want[i], "element %d", i);
    done(&t);
}

Test(interp, reductions)
{
    enum { R = 6, C = 10 };
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_F32, 2, (int32_t[]){R, C});
    Value *y = gten(&t, "y", VM_DT_I32, 2, (int32_t[]){R, C});
    Value *sum = gvec(&t, "sum", VM_DT_F32, R), *mx = gten(&t, "mx", VM_DT_F32, 2, (int32_t[]){1, C});
    Value *mn = gvec(&t, "mn", VM_DT_I32, R), *cs = gten(&t, "cs", VM_DT_I32, 2, (int32_t[]){R, C});
    Value *lx = load(&t, x), *ly = load(&t, y);
    store(&t, sum, vm_b_reduce(K, VM_REDUCE_SUM, lx, 1, false));
    store(&t, mx, vm_b_reduce(K, VM_REDUCE_MAX, lx, 0, true));
    store(&t, mn, vm_b_reduce(K, VM_REDUCE_MIN, ly, 1, false));
    store(&t, cs, vm_b_cumsum(K, ly, 1));
    float X[R * C], SUM[R], MX[C];
    int32_t Y[R * C], MN[R], CS[R * C];
    fill_f32(X, R * C, 31, -100, 100);
    uint64_t s = 32;
    for (int i = 0; i < R * C; i++)
        Y[i] = (int32_t)rnd(&s);
    X[0] = NAN; /* ignored by max */
    VmArg args[] = {arg(X, VM_DT_F32, 2, (int64_t[]){R, C}), arg(Y, VM_DT_I32, 2, (int64_t[]){R, C}),
                    avec(SUM, VM_DT_F32, R), arg(MX, VM_DT_F32, 2, (int64_t[]){1, C}),
                    avec(MN, VM_DT_I32, R), arg(CS, VM_DT_I32, 2, (int64_t[]){R, C})};
    launch_ok(&t, args, 6);
    for (int i = 1; i < R; i++) {
        float acc = X[i * C];
        for (int j = 1; j < C; j++)
            acc = acc + X[i * C + j];
        cr_assert_eq(fbits(SUM[i]), fbits(acc), "sum of row %d", i);
    }
    cr_assert(isnan(SUM[0]));
    for (int j = 0; j < C; j++) {
        float m = -INFINITY;
        for (int i = 0; i < R; i++)
            if (!isnan(X[i * C + j]) && X[i * C + j] > m)
                m = X[i * C + j];
        cr_assert_eq(fbits(MX[j]), fbits(m), "max of col %d", j);
    }
    for (int i = 0; i < R; i++) {
        int32_t m = Y[i * C];
        uint32_t acc = 0;
        for (int j = 0; j < C; j++) {
            m = Y[i * C + j] < m ? Y[i * C + j] : m;
            acc += (uint32_t)Y[i * C + j];
            cr_assert_eq(CS[i * C + j], (int32_t)acc, "cumsum %d,%d", i, j);
        }
        cr_assert_eq(MN[i], m);
    }
    done(&t);
}

/* first index on ties; NaN below every number */
Test(interp, argmax_topk)
{
    T t = setup(1);
    Value *x = gten(&t, "x", VM_DT_F32, 2, (int32_t[]){3, 6});
    Value *am = gten(&t, "am", VM_DT_I32, 2, (int32_t[]){3, 1});
    Value *tv = gten(&t, "tv", VM_DT_F32, 2, (int32_t[]){3, 3});
    Value *ti = gten(&t, "ti", VM_DT_I32, 2, (int32_t[]){3, 3});
    Value *lx = load(&t, x), *idx;
    store(&t, am, vm_b_reduce(K, VM_ARGMAX, lx, 1, true));
    Value *top = vm_b_topk(K, lx, 3, 1, &idx);
    store(&t, tv, top);
    store(&t, ti, idx);
    float X[18] = {3, 9, 1, 9, 4, 9,          /* */
                   NAN, 2, 5, 5, -1, NAN,     /* */
                   -7, -7, -7, -8, -6.5f, -7};
    int32_t AM[3], TI[9];
    float TV[9];
    VmArg args[] = {arg(X, VM_DT_F32, 2, (int64_t[]){3, 6}), arg(AM, VM_DT_I32, 2, (int64_t[]){3, 1}),
                    arg(TV, VM_DT_F32, 2, (int64_t[]){3, 3}), arg(TI, VM_DT_I32, 2, (int64_t[]){3, 3})};
    launch_ok(&t, args, 4);
    int32_t wam[3] = {1, 2, 4}, wti[9] = {1, 3, 5, 2, 3, 1, 4, 0, 1};
    float wtv[9] = {9, 9, 9, 5, 5, 2, -6.5f, -7, -7};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(AM[i], wam[i], "argmax row %d: %d", i, AM[i]);
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(TI[i], wti[i], "topk index %d: %d", i, TI[i]);
        cr_assert_eq(TV[i], wtv[i], "topk value %d: %g", i, TV[i]);
    }
    done(&t);
}

Test(interp, shape_ops)
{
    T t = setup(1);
    Param *sp = vm_param_scalar(K, "s", VM_DT_I32);
    Value *x = gten(&t, "x", VM_DT_I32, 3, (int32_t[]){2, 3, 4});
    Value *y = gten(&t, "y", VM_DT_I32, 3, (int32_t[]){2, 1, 4});
    Value *v = gvec(&t, "v", VM_DT_I32, 4);
    Value *op = gten(&t, "op", VM_DT_I32, 3, (int32_t[]){4, 2, 3});
    Value *ot = gten(&t, "ot", VM_DT_I32, 3, (int32_t[]){2, 4, 3});
    Value *orr = gten(&t, "or", VM_DT_I32, 2, (int32_t[]){6, 4});
    Value *ob = gten(&t, "ob", VM_DT_I32, 2, (int32_t[]){3, 4});
    Value *os = gten(&t, "os", VM_DT_I32, 2, (int32_t[]){2, 2});
    Value *oc = gten(&t, "oc", VM_DT_I32, 3, (int32_t[]){2, 4, 4});
    Value *lx = load(&t, x);
    store(&t, op, vm_b_permute(K, lx, (int[]){2, 0, 1}));
    store(&t, ot, vm_b_transpose(K, lx));
    store(&t, orr, vm_b_reshape(K, lx, 2, (int32_t[]){6, 4}));
    store(&t, ob, vm_b_broadcast(K, load(&t, v), 2, (int32_t[]){3, 4}));
    Tile sl = vm_tile(lx);
    vm_tile_index(&sl, 0, vm_e_i32(K, 1));
    vm_tile_range(&sl, 1, vm_e_param(K, sp), 2);
    vm_tile_range(&sl, 2, vm_e_i32(K, 1), 2);
    store(&t, os, vm_b_slice(K, sl));
    store(&t, oc, vm_b_concat(K, lx, load(&t, y), 1));
    int32_t X[24], Y[8], V[4] = {5, 6, 7, 8}, OP[24], OT[24], OR[24], OB[12], OS[4], OC[32];
    for (int i = 0; i < 24; i++)
        X[i] = 100 + i;
    for (int i = 0; i < 8; i++)
        Y[i] = -1 - i;
    VmArg args[] = {vm_arg_int(1), arg(X, VM_DT_I32, 3, (int64_t[]){2, 3, 4}),
                    arg(Y, VM_DT_I32, 3, (int64_t[]){2, 1, 4}), avec(V, VM_DT_I32, 4),
                    arg(OP, VM_DT_I32, 3, (int64_t[]){4, 2, 3}), arg(OT, VM_DT_I32, 3, (int64_t[]){2, 4, 3}),
                    arg(OR, VM_DT_I32, 2, (int64_t[]){6, 4}), arg(OB, VM_DT_I32, 2, (int64_t[]){3, 4}),
                    arg(OS, VM_DT_I32, 2, (int64_t[]){2, 2}), arg(OC, VM_DT_I32, 3, (int64_t[]){2, 4, 4})};
    launch_ok(&t, args, 10);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) {
                int xv = X[(a * 3 + b) * 4 + c];
                cr_assert_eq(OP[(c * 2 + a) * 3 + b], xv);
                cr_assert_eq(OT[(a * 4 + c) * 3 + b], xv);
                cr_assert_eq(OC[(a * 4 + b) * 4 + c], xv);
            }
    for (int a = 0; a < 2; a++)
        for (int c = 0; c < 4; c++)
            cr_assert_eq(OC[(a * 4 + 3) * 4 + c], Y[a * 4 + c]);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(OR[i], X[i]);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(OB[i], V[i % 4]);
    int32_t ws[4] = {117, 118, 121, 122}; /* x[1, 1:3, 1:3] */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(OS[i], ws[i], "slice %d: %d", i, OS[i]);
    done(&t);
}

Test(interp, constants_and_rand)
{
    T t = setup(1);
    Param *seed = vm_param_scalar(K, "seed", VM_DT_I64);
    Value *oz = gvec(&t, "oz", VM_DT_F16, 4), *of = gvec(&t, "of", VM_DT_BF16, 3);
    Value *oi = gvec(&t, "oi", VM_DT_I8, 2), *oa = gvec(&t, "oa", VM_DT_U4, 20);
    Value *orand = gten(&t, "r", VM_DT_F32, 2, (int32_t[]){4, 16});
    store(&t, oz, vm_b_zeros(K, VM_DT_F16, 1, (int32_t[]){4}));
    store(&t, of, vm_b_full(K, VM_DT_BF16, 1, (int32_t[]){3}, vm_e_f32(K, 1.5)));
    store(&t, oi, vm_b_full(K, VM_DT_I8, 1, (int32_t[]){2}, vm_e_f32(K, 300.7)));
    store(&t, oa, vm_b_arange(K, VM_DT_U4, 20));
    store(&t, orand, vm_b_rand(K, 2, (int32_t[]){4, 16}, vm_e_param(K, seed), vm_e_int(K, VM_DT_I64, 5)));
    uint16_t OZ[4] = {1, 1, 1, 1}, OF[3];
    int8_t OI[2];
    uint8_t OA[10];
    float R1[64], R2[64];
    VmArg args[] = {vm_arg_int(1234567), avec(OZ, VM_DT_F16, 4), avec(OF, VM_DT_BF16, 3),
                    avec(OI, VM_DT_I8, 2), avec(OA, VM_DT_U4, 20),
                    arg(R1, VM_DT_F32, 2, (int64_t[]){4, 16})};
    launch_ok(&t, args, 6);
    args[5].data = R2;
    launch_ok(&t, args, 6);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(OZ[i], 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(OF[i], 0x3FC0);
    cr_assert_eq(OI[0], 127);
    cr_assert_eq(OI[1], 127);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(getbits(OA, i * 4, 4), (uint64_t)(i < 15 ? i : 15));
    float lo = 1, hi = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t z = 1234567ull * 0x9E3779B97F4A7C15ull + (uint64_t)(5 + i) + 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        cr_assert_eq(fbits(R1[i]), fbits((float)(z >> 40) / 16777216.0f), "rand %d", i);
        cr_assert_eq(fbits(R1[i]), fbits(R2[i]));
        cr_assert(R1[i] >= 0 && R1[i] < 1);
        lo = R1[i] < lo ? R1[i] : lo;
        hi = R1[i] > hi ? R1[i] : hi;
    }
    cr_assert(lo < 0.2f && hi > 0.8f, "64 draws span [%g, %g]", lo, hi);
    done(&t);
}

Test(interp, printf_once_per_block)
{
    T t = setup(2);
    vm_set_grid(K, 1, (Expr *[]){vm_e_i32(K, 3)});
    Expr *args[] = {vm_e_bid(K, 0), vm_e_gdim(K, 0), vm_e_f32(K, 1.5), vm_e_i32(K, 255),
                    vm_e_bin(K, VM_S_LT, vm_e_bid(K, 0), vm_e_i32(K, 1))};
    vm_b_printf(K, "block %d of %d: %.2f %x %d 100%%\n", 5, args);
    vm_b_if(K, vm_e_bin(K, VM_S_EQ, vm_e_bid(K, 0), vm_e_i32(K, 2)));
    Value *a = vm_b_arange(K, VM_DT_I32, 6);
    vm_b_print(K, "a", vm_b_reshape(K, a, 2, (int32_t[]){2, 3}));
    vm_b_print(K, "h", vm_b_full(K, VM_DT_F16, 1, (int32_t[]){2}, vm_e_f32(K, -0.25)));
    vm_b_end(K);
    launch_ok(&t, NULL, 0);
    cr_assert_str_eq(t.out.s, "block 0 of 3: 1.50 ff 1 100%\n"
                              "block 1 of 3: 1.50 ff 0 100%\n"
                              "block 2 of 3: 1.50 ff 0 100%\n"
                              "a: [[0, 1, 2], [3, 4, 5]]\n"
                              "h: [-0.25, -0.25]\n");
    done(&t);
}

/* for with a register accumulator, while with break/continue, if/else,
 * exit before a store */
Test(interp, control_flow)
{
    T t = setup(1);
    vm_set_grid(K, 1, (Expr *[]){vm_e_i32(K, 2)});
    Value *o = gten(&t, "o", VM_DT_I32, 2, (int32_t[]){2, 4});
    Value *o2 = gvec(&t, "o2", VM_DT_I32, 2);
    Var *acc = vm_b_var(K, "acc", vm_b_zeros(K, VM_DT_I32, 1, (int32_t[]){4}));
    Var *i = vm_b_for(K, "i", vm_e_i32(K, 0), vm_e_i32(K, 10), vm_e_i32(K, 3)); /* 0 3 6 9 */
    vm_b_assign(K, acc, vm_b_binary(K, VM_ADD, acc->val,
                                    vm_b_full(K, VM_DT_I32, 1, (int32_t[]){4}, vm_e_var(K, i))));
    vm_b_end(K);
    Var *j = vm_b_svar(K, "j", vm_e_i32(K, 0), true);
    Var *s = vm_b_svar(K, "s", vm_e_i32(K, 0), true);
    vm_b_while(K, vm_e_bool(K, true));
    vm_b_sassign(K, j, vm_e_bin(K, VM_S_ADD, vm_e_var(K, j), vm_e_i32(K, 1)));
    vm_b_if(K, vm_e_bin(K, VM_S_EQ, vm_e_var(K, j), vm_e_i32(K, 3)));
    vm_b_continue(K);
    vm_b_else(K);
    vm_b_if(K, vm_e_bin(K, VM_S_GT, vm_e_var(K, j), vm_e_i32(K, 5)));
    vm_b_break(K);
    vm_b_end(K);
    vm_b_end(K);
    vm_b_sassign(K, s, vm_e_bin(K, VM_S_ADD, vm_e_var(K, s), vm_e_var(K, j))); /* 1+2+4+5 */
    vm_b_end(K);
    Tile t2 = whole(o2);
    vm_tile_index(&t2, 0, vm_e_bid(K, 0));
    vm_b_store_global(K, t2, vm_b_scalar(K, VM_DT_I32, vm_e_var(K, s)), NULL);
    vm_b_if(K, vm_e_bin(K, VM_S_EQ, vm_e_bid(K, 0), vm_e_i32(K, 1)));
    vm_b_exit(K);
    vm_b_end(K);
    Tile to = whole(o);
    vm_tile_index(&to, 0, vm_e_bid(K, 0));
    vm_b_store_global(K, to, acc->val, NULL);
    int32_t O[8] = {-1, -1, -1, -1, -1, -1, -1, -1}, O2[2];
    VmArg args[] = {arg(O, VM_DT_I32, 2, (int64_t[]){2, 4}), avec(O2, VM_DT_I32, 2)};
    launch_ok(&t, args, 2);
    for (int q = 0; q < 4; q++) {
        cr_assert_eq(O[q], 18);
        cr_assert_eq(O[4 + q], -1); /* block 1 exited */
    }
    cr_assert_eq(O2[0], 12);
    cr_assert_eq(O2[1], 12);
    done(&t);
}

/* scalar expressions: C division and remainder, x / 0 = x % 0 = 0, cdiv,
 * shifts past the width, wrapping, casts that round to nearest even and
 * saturate, select, short-circuit logic */
Test(interp, scalar_exprs)
{
    T t = setup(1);
    Param *pa = vm_param_scalar(K, "a", VM_DT_I32), *pb = vm_param_scalar(K, "b", VM_DT_I32);
    Param *pf = vm_param_scalar(K, "f", VM_DT_F32), *pg = vm_param_scalar(K, "g", VM_DT_I64);
    Expr *a = vm_e_param(K, pa), *b = vm_e_param(K, pb), *f = vm_e_param(K, pf), *g = vm_e_param(K, pg);
#define B(op, x, y) vm_e_bin(K, VM_S_##op, x, y)
#define I(v) vm_e_i32(K, v)
#define C32(x) vm_e_cast(K, VM_DT_I32, x)
    Expr *e[] = {
        B(DIV, a, b), B(REM, a, b), B(CDIV, I(7), b), B(CDIV, a, b), B(REM, a, I(0)), B(DIV, a, I(0)),
        B(SHR, a, I(1)), B(SHL, a, I(29)), B(SHR, a, I(40)), B(SHL, I(1), I(32)),
        B(MIN, a, b), B(MAX, a, b), C32(f), C32(B(ADD, f, vm_e_f32(K, 1))),
        vm_e_select(K, B(LT, a, b), I(10), I(20)), C32(vm_e_un(K, VM_S_LNOT, B(LT, a, b))),
        C32(B(LAND, B(LT, a, b), B(GT, b, I(5)))), C32(B(LOR, B(LT, a, b), B(GT, b, I(5)))),
        vm_e_un(K, VM_S_BNOT, a), vm_e_un(K, VM_S_NEG, a), B(XOR, a, b), B(AND, a, b), B(OR, a, b),
        C32(B(DIV, g, vm_e_int(K, VM_DT_I64, 2))), C32(B(MUL, f, f)), C32(B(DIV, f, vm_e_f32(K, 0))),
        B(ADD, I(2147483647), b), C32(B(LT, vm_e_f32(K, NAN), f)), C32(B(NE, vm_e_f32(K, NAN), f)),
    };
#undef B
#undef I
#undef C32
    enum { N = sizeof e / sizeof e[0] };
    Value *o = gvec(&t, "o", VM_DT_I32, N);
    for (int j = 0; j < N; j++) {
        Tile tl = whole(o);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_scalar(K, VM_DT_I32, e[j]), NULL);
    }
    int32_t O[N];
    VmArg args[] = {vm_arg_int(-7), vm_arg_int(2), vm_arg_float(2.5), vm_arg_int(1ll << 40), avec(O, VM_DT_I32, N)};
    launch_ok(&t, args, 5);
    int32_t want[N] = {-3, -1, 4, -3, 0, 0, -4, 536870912, -1, 0, -7, 2, 2, 4, 10, 0, 0, 1,
                       6, 7, -5, 0, -5, 2147483647, 6, 2147483647, -2147483647, 0, 1};
    for (int j = 0; j < N; j++)
        cr_assert_eq(O[j], want[j], "expression %d gives %d, want %d", j, O[j], want[j]);
    done(&t);
}

Test(interp, unary_f64_bf16_bool)
{
    T t = setup(1);
    Value *x = gvec(&t, "x", VM_DT_F64, 8), *o = gten(&t, "o", VM_DT_F64, 2, (int32_t[]){3, 8});
    Value *h = gvec(&t, "h", VM_DT_BF16, 8), *ho = gvec(&t, "ho", VM_DT_BF16, 8);
    Value *bo = gten(&t, "bo", VM_DT_BOOL, 2, (int32_t[]){4, 8});
    Value *lx = load(&t, x);
    static const Op ops[] = {VM_EXP, VM_SIN, VM_RSQRT};
    for (int j = 0; j < 3; j++) {
        Tile tl = whole(o);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, vm_b_unary(K, ops[j], lx), NULL);
    }
    store(&t, ho, vm_b_unary(K, VM_EXP, load(&t, h)));
    Value *p = vm_b_binary(K, VM_GT, lx, vm_b_scalar(K, VM_DT_F64, vm_e_f32(K, 1)));
    Value *q = vm_b_binary(K, VM_LT, lx, vm_b_scalar(K, VM_DT_F64, vm_e_f32(K, 2)));
    Value *bv[4] = {vm_b_binary(K, VM_AND, p, q), vm_b_binary(K, VM_OR, p, q), vm_b_binary(K, VM_XOR, p, q),
                    vm_b_unary(K, VM_NOT, p)};
    for (int j = 0; j < 4; j++) {
        Tile tl = whole(bo);
        vm_tile_index(&tl, 0, vm_e_i32(K, j));
        vm_b_store_global(K, tl, bv[j], NULL);
    }
    double X[8], O[24];
    uint16_t H[8], HO[8];
    uint8_t BO[32];
    uint64_t s = 41;
    for (int i = 0; i < 8; i++) {
        X[i] = 0.25 + 0.37 * i + rndf(&s, 0, 0.01f);
        H[i] = (uint16_t)vm_encode(VM_DT_BF16, rndf(&s, -3, 3));
    }
    VmArg args[] = {avec(X, VM_DT_F64, 8), arg(O, VM_DT_F64, 2, (int64_t[]){3, 8}), avec(H, VM_DT_BF16, 8),
                    avec(HO, VM_DT_BF16, 8), arg(BO, VM_DT_BOOL, 2, (int64_t[]){4, 8})};
    launch_ok(&t, args, 5);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(O[i], exp(X[i]));
        cr_assert_eq(O[8 + i], sin(X[i]));
        cr_assert_eq(O[16 + i], 1.0 / sqrt(X[i]));
        float e = expf((float)vm_decode(VM_DT_BF16, H[i]));
        cr_assert_eq(HO[i], vm_cast(VM_DT_BF16, VM_DT_F32, fbits(e)));
        int pp = X[i] > 1, qq = X[i] < 2;
        cr_assert_eq(BO[i], pp & qq);
        cr_assert_eq(BO[8 + i], pp | qq);
        cr_assert_eq(BO[16 + i], pp ^ qq);
        cr_assert_eq(BO[24 + i], !pp);
    }
    done(&t);
}

/* a negative step counts down; the i64 loop variable feeds a scalar var */
Test(interp, for_negative_step)
{
    T t = setup(1);
    Value *o = gvec(&t, "o", VM_DT_I64, 1);
    Var *s = vm_b_svar(K, "s", vm_e_int(K, VM_DT_I64, 0), true);
    Var *i = vm_b_for(K, "i", vm_e_int(K, VM_DT_I64, 10), vm_e_int(K, VM_DT_I64, 0), vm_e_int(K, VM_DT_I64, -3));
    cr_assert_eq(i->dtype, VM_DT_I64);
    vm_b_sassign(K, s, vm_e_bin(K, VM_S_ADD, vm_e_bin(K, VM_S_MUL, vm_e_var(K, s), vm_e_int(K, VM_DT_I64, 100)),
                                vm_e_var(K, i)));
    vm_b_end(K);
    Tile to = whole(o);
    vm_tile_index(&to, 0, vm_e_i32(K, 0));
    vm_b_store_global(K, to, vm_b_scalar(K, VM_DT_I64, vm_e_var(K, s)), NULL);
    int64_t O[1];
    VmArg a = avec(O, VM_DT_I64, 1);
    launch_ok(&t, &a, 1);
    cr_assert_eq(O[0], 10070401); /* 10, 7, 4, 1 */
    done(&t);
}

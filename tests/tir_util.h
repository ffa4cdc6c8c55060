/* tests/tir_util.h - small kernels built with the VM builder for the
 * lowering tests (test_tir.c, test_tir_eval.c), and a helper that verifies,
 * infers layouts and lowers one kernel. Each kernel's instructions carry
 * source lines 1, 2, 3... in order. */
#ifndef LPVM_TESTS_TIR_UTIL_H
#define LPVM_TESTS_TIR_UTIL_H

#include <stdio.h>
#include <string.h>

#include "codegen/codegen.h"

typedef struct {
    VmArena *a;
    Prog *p;
    Kernel *k;
    int line;
    int64_t tile; /* elements per block along dim 0 of the main input (eval) */
} TuKernel;

static inline void tu_line(TuKernel *u)
{
    vm_set_loc(u->k, (VmLoc){"t.lpk", ++u->line, 1});
}

static inline TuKernel tu_new(const char *name, int warps)
{
    TuKernel u = {0};
    u.a = vm_arena_new();
    u.p = vm_prog_new(u.a);
    u.k = vm_kernel_new(u.p, name, (VmLoc){"t.lpk", 1, 1});
    vm_set_warps(u.k, warps);
    return u;
}

static inline void tu_free(TuKernel *u) { vm_arena_free(u->a); }

/* A 1-D tensor parameter of length n (the shared shape identifier). */
static inline Value *tu_vec(TuKernel *u, const char *name, Dtype dt)
{
    Expr *sh[1] = {vm_e_param(u->k, vm_param_dim(u->k, "n"))};
    return vm_param_tensor(u->k, name, dt, 1, sh)->value;
}

static inline Value *tu_mat(TuKernel *u, const char *name, Dtype dt, const char *rows,
                            int64_t cols)
{
    Expr *sh[2] = {vm_e_param(u->k, vm_param_dim(u->k, rows)), vm_e_i32(u->k, cols)};
    return vm_param_tensor(u->k, name, dt, 2, sh)->value;
}

static inline void tu_grid1(TuKernel *u, int64_t tile)
{
    Expr *n = vm_e_param(u->k, vm_param_dim(u->k, "n"));
    Expr *g[1] = {vm_e_bin(u->k, VM_S_CDIV, n, vm_e_i32(u->k, tile))};
    vm_set_grid(u->k, 1, g);
    u->tile = tile;
}

/* v[bid.x * tile : tile] */
static inline Tile tu_block_tile(TuKernel *u, Value *v, int64_t tile)
{
    Tile t = vm_tile(v);
    vm_tile_range(&t, 0, vm_e_bin(u->k, VM_S_MUL, vm_e_bid(u->k, 0), vm_e_i32(u->k, tile)),
                  (int32_t)tile);
    for (int d = 1; d < v->rank; d++) {
        int64_t c = 0;
        vm_e_const_int(v->gshape[d], &c);
        vm_tile_range(&t, d, NULL, (int32_t)c);
    }
    return t;
}

/* the whole of a global tensor of constant shape */
static inline Tile tu_whole(Value *v)
{
    Tile t = vm_tile(v);
    for (int d = 0; d < v->rank; d++) {
        int64_t c = 0;
        vm_e_const_int(v->gshape[d], &c);
        vm_tile_range(&t, d, NULL, (int32_t)c);
    }
    return t;
}

/* z = x + y, tile elements per block */
static inline TuKernel tu_vadd(Dtype dt, int warps, int64_t tile)
{
    TuKernel u = tu_new("vadd", warps);
    Value *x = tu_vec(&u, "x", dt), *y = tu_vec(&u, "y", dt), *z = tu_vec(&u, "z", dt);
    tu_grid1(&u, tile);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, x, tile), NULL, NULL);
    tu_line(&u);
    Value *b = vm_b_load_global(u.k, tu_block_tile(&u, y, tile), NULL, NULL);
    tu_line(&u);
    Value *c = vm_b_binary(u.k, VM_ADD, a, b);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, z, tile), c, NULL);
    return u;
}

/* y[m, 64] = x[m, 64] + b[64] (row broadcast), 16 rows per block */
static inline TuKernel tu_bias_rows(Dtype dt, int warps)
{
    TuKernel u = tu_new("bias_rows", warps);
    Value *x = tu_mat(&u, "x", dt, "n", 64), *y = tu_mat(&u, "y", dt, "n", 64);
    Expr *sh[1] = {vm_e_i32(u.k, 64)};
    Value *b = vm_param_tensor(u.k, "b", dt, 1, sh)->value;
    tu_grid1(&u, 16);
    tu_line(&u);
    Value *xv = vm_b_load_global(u.k, tu_block_tile(&u, x, 16), NULL, NULL);
    tu_line(&u);
    Value *bv = vm_b_load_global(u.k, tu_whole(b), NULL, NULL);
    tu_line(&u);
    Value *r = vm_b_binary(u.k, VM_ADD, xv, bv);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, y, 16), r, NULL);
    return u;
}

/* y = cast(x, to), 64 elements per block */
static inline TuKernel tu_cast(Dtype from, Dtype to, int warps)
{
    TuKernel u = tu_new("cast", warps);
    Value *x = tu_vec(&u, "x", from), *y = tu_vec(&u, "y", to);
    tu_grid1(&u, 64);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, x, 64), NULL, NULL);
    tu_line(&u);
    Value *c = vm_b_cast(u.k, a, to);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, y, 64), c, NULL);
    return u;
}

/* y = cast(w, to) for a packed w, 256 elements per block */
static inline TuKernel tu_dequant(Dtype wt, Dtype to, int warps)
{
    TuKernel u = tu_cast(wt, to, warps);
    u.k->name = "dequant";
    return u;
}

/* y = x (load and store), tile elements per block */
static inline TuKernel tu_copy(Dtype dt, int warps, int64_t tile)
{
    TuKernel u = tu_new("copy", warps);
    Value *x = tu_vec(&u, "x", dt), *y = tu_vec(&u, "y", dt);
    tu_grid1(&u, tile);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, x, tile), NULL, NULL);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, y, tile), a, NULL);
    return u;
}

/* y[n] = reduce_sum(x[n, cols], 1), rows per block */
static inline TuKernel tu_rowsum(Dtype dt, int warps, int64_t rows, int64_t cols)
{
    TuKernel u = tu_new("rowsum", warps);
    Value *x = tu_mat(&u, "x", dt, "n", cols), *y = tu_vec(&u, "y", dt);
    tu_grid1(&u, rows);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, x, rows), NULL, NULL);
    tu_line(&u);
    Value *s = vm_b_reduce(u.k, VM_REDUCE_SUM, a, 1, false);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, y, rows), s, NULL);
    return u;
}

/* c[M, N] = a[M, K] @ b[K, N] (one block) */
static inline TuKernel tu_dot(Dtype ad, Dtype cd, int M, int N, int K, int warps)
{
    TuKernel u = tu_new("dot", warps);
    Expr *sa[2] = {vm_e_i32(u.k, M), vm_e_i32(u.k, K)};
    Expr *sb[2] = {vm_e_i32(u.k, K), vm_e_i32(u.k, N)};
    Expr *sc[2] = {vm_e_i32(u.k, M), vm_e_i32(u.k, N)};
    Value *A = vm_param_tensor(u.k, "a", ad, 2, sa)->value;
    Value *B = vm_param_tensor(u.k, "b", ad, 2, sb)->value;
    Value *C = vm_param_tensor(u.k, "c", cd, 2, sc)->value;
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_whole(A), NULL, NULL);
    tu_line(&u);
    Value *b = vm_b_load_global(u.k, tu_whole(B), NULL, NULL);
    tu_line(&u);
    int32_t shape[2] = {M, N};
    Value *z = vm_b_zeros(u.k, cd, 2, shape);
    tu_line(&u);
    Value *r = vm_b_dot(u.k, a, b, z);
    tu_line(&u);
    vm_b_store_global(u.k, tu_whole(C), r, NULL);
    return u;
}

/* y = x through a [16, 64] shared tile (swizzled or row-major), one block */
static inline TuKernel tu_shared_round_trip(Dtype dt, int warps, bool swizzled)
{
    TuKernel u = tu_new("smem", warps);
    Expr *sh[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 64)};
    Value *X = vm_param_tensor(u.k, "x", dt, 2, sh)->value;
    Value *Y = vm_param_tensor(u.k, "y", dt, 2, sh)->value;
    int shp[2] = {16, 64};
    int32_t shp32[2] = {16, 64};
    SharedLayout sl;
    if (swizzled)
        lay_shared_swizzled_row_major(&sl, 2, shp, vm_dtype_bits(dt));
    else
        lay_shared_row_major(&sl, 2, shp, vm_dtype_bits(dt));
    tu_line(&u);
    Value *s = vm_b_shared_alloc(u.k, dt, 2, shp32, &sl);
    tu_line(&u);
    Value *v = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
    tu_line(&u);
    vm_b_store_shared(u.k, vm_tile(s), v);
    tu_line(&u);
    vm_b_sync(u.k);
    tu_line(&u);
    Value *w = vm_b_load_shared(u.k, vm_tile(s));
    tu_line(&u);
    vm_b_store_global(u.k, tu_whole(Y), w, NULL);
    tu_line(&u);
    vm_b_shared_free(u.k, s);
    return u;
}

/* y = x % x for floats (fmod, not lowered yet) at line 3 */
static inline TuKernel tu_fmod(Dtype dt, int warps)
{
    TuKernel u = tu_new("fmod", warps);
    Value *x = tu_vec(&u, "x", dt), *y = tu_vec(&u, "y", dt);
    tu_grid1(&u, 64);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, x, 64), NULL, NULL);
    tu_line(&u);
    tu_line(&u);
    Value *c = vm_b_binary(u.k, VM_REM, a, a);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, y, 64), c, NULL);
    return u;
}

/* y = x for one 16 x 8 tile held in the mma C fragment layout */
static inline TuKernel tu_store_layout_c(void)
{
    TuKernel u = tu_new("mma_c", 1);
    Expr *sh[2] = {vm_e_i32(u.k, 16), vm_e_i32(u.k, 8)};
    Value *X = vm_param_tensor(u.k, "x", VM_DT_F32, 2, sh)->value;
    Value *Y = vm_param_tensor(u.k, "y", VM_DT_F32, 2, sh)->value;
    Layout c;
    lay_mma_m16n8k16_c(&c);
    tu_line(&u);
    Value *v = vm_b_load_global(u.k, tu_whole(X), NULL, NULL);
    vm_set_layout(v, c);
    tu_line(&u);
    vm_b_store_global(u.k, tu_whole(Y), v, NULL);
    return u;
}

/* verify, infer, verify, lower; NULL (diagnostics on stderr) on failure */
static inline TirKernel *tu_lower(TuKernel *u, VmDiags *d)
{
    vm_diags_init(d, u->a);
    if (!vm_verify(u->p, d) || !vm_infer_layouts(u->p, d) || !vm_verify(u->p, d))
        return NULL;
    TirKernel *t = NULL;
    if (cg_lower(u->k, NULL, u->a, &t, d) != CG_OK)
        return NULL;
    char err[256];
    if (!tir_verify(t, err, sizeof err)) {
        vm_diag(d, u->k->loc, "tir_verify: %s", err);
        return NULL;
    }
    return t;
}

static inline TirKernel *tu_lower_ok(TuKernel *u)
{
    VmDiags d;
    TirKernel *t = tu_lower(u, &d);
    for (int j = 0; !t && j < d.n; j++) {
        char buf[512];
        vm_diag_format(&d.v[j], buf, sizeof buf);
        fprintf(stderr, "%s: %s\n", u->k->name, buf);
    }
    return t;
}

/* Whether b holds a loop (at any depth). */
static inline bool tu_has_loop(const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next)
        if (o->op == TIR_OP_LOOP || tu_has_loop(&o->body) || tu_has_loop(&o->orelse))
            return true;
    return false;
}

/* Ops `op` inside innermost loops (a kernel's k steps); in: b is inside one. */
static inline int tu_in_inner_loops(const TirBlock *b, TirOpcode op, bool in)
{
    int n = 0;
    for (const TirOp *o = b->first; o; o = o->next) {
        n += in && o->op == op;
        bool l = in || (o->op == TIR_OP_LOOP && !tu_has_loop(&o->body));
        n += tu_in_inner_loops(&o->body, op, l) + tu_in_inner_loops(&o->orelse, op, l);
    }
    return n;
}

#endif

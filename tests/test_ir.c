/* tests/test_ir.c - the VM IR and its builder: the instruction table, the
 * arena, scalar constant folding, tiles and broadcasting, and five small
 * programs built with the C API (vector add, a row reduction, a loop with an
 * accumulator var, a shared alloc/copy/free pair, a u8 -> u4 view with
 * explicit layouts) that the verifier and layout inference accept. Expected
 * layouts are written from the default rule (vm.h), not from the code. */
#include <string.h>

#include <criterion/criterion.h>

#include "vm/vm.h"

typedef struct {
    VmArena *a;
    Prog *p;
    Kernel *k;
    VmDiags d;
} T;

static T setup(int warps) {
    T t;
    t.a = vm_arena_new();
    t.p = vm_prog_new(t.a);
    t.k = vm_kernel_new(t.p, "k", (VmLoc){"test.lpk", 1, 1});
    vm_set_warps(t.k, warps);
    vm_diags_init(&t.d, t.a);
    return t;
}

static const char *msgs(T *t) {
    static char buf[4096];
    buf[0] = 0;
    for (int i = 0; i < t->d.n; i++) {
        char line[512];
        vm_diag_format(&t->d.v[i], line, sizeof line);
        strncat(buf, line, sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

static void accept(T *t) {
    cr_assert(vm_verify(t->p, &t->d), "verify: %s", msgs(t));
    cr_assert(vm_infer_layouts(t->p, &t->d), "infer: %s", msgs(t));
    cr_assert(vm_verify(t->p, &t->d), "verify after inference: %s", msgs(t));
    cr_assert(t->p->layouts_done);
}

static Layout P(const char *s) {
    Layout L;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return L;
}

static void at(T *t, int line) {
    vm_set_loc(t->k, (VmLoc){"test.lpk", line, 5});
}

static Expr *I(T *t, int64_t v) {
    return vm_e_i32(t->k, v);
}

/* start = bid.x * n */
static Expr *block_start(T *t, int axis, int n) {
    return vm_e_bin(t->k, VM_S_MUL, vm_e_bid(t->k, axis), I(t, n));
}

static Param *vec(T *t, const char *name, Dtype dt, const char *dim) {
    Expr *shape[1] = {vm_e_param(t->k, vm_param_dim(t->k, dim))};
    return vm_param_tensor(t->k, name, dt, 1, shape);
}

static Param *mat(T *t, const char *name, Dtype dt, const char *d0, const char *d1) {
    Expr *shape[2] = {vm_e_param(t->k, vm_param_dim(t->k, d0)),
                      vm_e_param(t->k, vm_param_dim(t->k, d1))};
    return vm_param_tensor(t->k, name, dt, 2, shape);
}

static Tile tile1(Value *g, Expr *s, int n) {
    Tile tl = vm_tile(g);
    vm_tile_range(&tl, 0, s, n);
    return tl;
}

static Tile tile2(Value *g, Expr *s0, int n0, Expr *s1, int n1) {
    Tile tl = vm_tile(g);
    vm_tile_range(&tl, 0, s0, n0);
    vm_tile_range(&tl, 1, s1, n1);
    return tl;
}

Test(ir, op_table) {
    for (int i = 0; i < VM_NOPS; i++) {
        cr_assert_eq(vm_op_parse(vm_op_name((Op)i)), (Op)i, "%s", vm_op_name((Op)i));
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(vm_ops[i].name, vm_ops[j].name);
    }
    cr_assert_eq(vm_op_parse("no_such_op"), VM_NOPS);
    cr_assert_str_eq(vm_op_name(VM_LOAD_GLOBAL), "load_global");
    cr_assert_str_eq(vm_ops[VM_ADD].sym, "+");
    cr_assert_eq(vm_ops[VM_LT].cls, VM_C_CMP);
    cr_assert_eq(vm_op_binop(VM_ADD), VM_OP_ADD);
    cr_assert_eq(vm_op_binop(VM_SHR), VM_OP_SHR);
    cr_assert_eq(vm_op_binop(VM_FMA), -1);
    cr_assert_str_eq(vm_sop_name(VM_S_CDIV), "cdiv");
    cr_assert_eq(vm_sop_arity(VM_S_LNOT), 1);
}

Test(ir, arena_and_diags) {
    VmArena *a = vm_arena_new();
    char *big = vm_alloc(a, 1 << 20);
    cr_assert_eq(big[0], 0);
    cr_assert_eq(big[(1 << 20) - 1], 0);
    for (int i = 0; i < 1000; i++) {
        int *p = vm_alloc(a, 24);
        cr_assert_eq(((uintptr_t)p) % 16, 0);
        cr_assert_eq(p[5], 0);
    }
    cr_assert_str_eq(vm_sprintf(a, "%s-%d", "x", 42), "x-42");
    VmDiags d;
    vm_diags_init(&d, a);
    for (int i = 0; i < 20; i++)
        vm_diag(&d, (VmLoc){"f.lpk", i + 1, 3}, "bad %d", i);
    cr_assert_eq(d.n, 20);
    char buf[128];
    vm_diag_format(&d.v[19], buf, sizeof buf);
    cr_assert_str_eq(buf, "f.lpk:20:3: error: bad 19");
    vm_arena_free(a);
}

Test(ir, const_fold) {
    T t = setup(1);
    Kernel *k = t.k;
    int64_t v;
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_DIV, I(&t, -7), I(&t, 2)), &v));
    cr_assert_eq(v, -3); /* truncation toward zero */
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_REM, I(&t, -7), I(&t, 2)), &v));
    cr_assert_eq(v, -1);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_CDIV, I(&t, 7), I(&t, 2)), &v));
    cr_assert_eq(v, 4);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_CDIV, I(&t, 8), I(&t, 2)), &v));
    cr_assert_eq(v, 4);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_DIV, I(&t, 5), I(&t, 0)), &v));
    cr_assert_eq(v, 0);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_ADD, I(&t, 0x7fffffff), I(&t, 1)), &v));
    cr_assert_eq(v, -2147483648LL); /* i32 wraps */
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_MAX, I(&t, 3), I(&t, 9)), &v));
    cr_assert_eq(v, 9);
    Expr *cmp = vm_e_bin(k, VM_S_LT, I(&t, 3), I(&t, 9));
    cr_assert_eq(cmp->dtype, VM_DT_BOOL);
    cr_assert(vm_e_const_int(vm_e_select(k, cmp, I(&t, 10), I(&t, 20)), &v));
    cr_assert_eq(v, 10);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_SHL, I(&t, 3), I(&t, 30)), &v));
    cr_assert_eq(v, -1073741824LL); /* 3 << 30 wraps in i32 */
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_SHL, I(&t, 3), I(&t, 32)), &v));
    cr_assert_eq(v, 0);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_SHR, I(&t, -8), I(&t, 40)), &v));
    cr_assert_eq(v, -1); /* signed >> past the width: the sign fill */
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_SHR, I(&t, -8), I(&t, 1)), &v));
    cr_assert_eq(v, -4);
    cr_assert(vm_e_const_int(vm_e_bin(k, VM_S_XOR, I(&t, 6), I(&t, 3)), &v));
    cr_assert_eq(v, 5);
    cr_assert_not(vm_e_const_int(vm_e_bid(k, 0), &v));
    Expr *mixed = vm_e_bin(k, VM_S_ADD, vm_e_int(k, VM_DT_I64, 5), I(&t, 1));
    cr_assert_eq(mixed->b->dtype, VM_DT_I64); /* literals convert */
    cr_assert(vm_e_const_int(mixed, &v));
    cr_assert_eq(v, 6);
    vm_arena_free(t.a);
}

Test(ir, shapes_and_tiles) {
    int r;
    int32_t out[VM_MAX_DIMS];
    cr_assert(vm_broadcast_shape(2, (int32_t[]){16, 1}, 1, (int32_t[]){64}, &r, out));
    cr_assert_eq(r, 2);
    cr_assert_eq(out[0], 16);
    cr_assert_eq(out[1], 64);
    cr_assert_not(vm_broadcast_shape(1, (int32_t[]){16}, 1, (int32_t[]){64}, &r, out));
    char buf[64];
    vm_shape_str(2, (int32_t[]){16, 64}, buf, sizeof buf);
    cr_assert_str_eq(buf, "[16, 64]");
    vm_shape_str(0, NULL, buf, sizeof buf);
    cr_assert_str_eq(buf, "[]");

    T t = setup(1);
    Value *g = mat(&t, "x", VM_DT_F16, "m", "k")->value;
    cr_assert_eq(t.k->nparams, 3); /* m, k (made first for the shape), x */
    cr_assert(t.k->params[0]->implicit);
    cr_assert_eq(t.k->params[2]->kind, VM_P_TENSOR);
    cr_assert_eq(vm_param_dim(t.k, "m"), t.k->params[0]);
    cr_assert_eq(t.k->nparams, 3);
    Tile tl = vm_tile(g);
    vm_tile_index(&tl, 0, I(&t, 3));
    vm_tile_range(&tl, 1, I(&t, 0), 64);
    cr_assert_eq(vm_tile_shape(&tl, out), 1);
    cr_assert_eq(out[0], 64);
    Value *x = vm_b_load_global(t.k, tl, NULL, NULL);
    cr_assert_eq(x->rank, 1);
    cr_assert_eq(x->shape[0], 64);
    cr_assert_eq(x->dtype, VM_DT_F16);
    Value *ops[5];
    cr_assert_eq(vm_inst_operands(x->def, ops), 1);
    cr_assert_eq(ops[0], g);
    vm_arena_free(t.a);
}

Test(ir, default_layout) {
    Layout L;
    /* [512] f32, 128 threads: 4 per thread (16 bytes), 128 threads along it */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){512}, 1, VM_DT_F32, 128), LAY_OK);
    cr_assert(lay_eq(L, P("spatial(128) * local(4)")));
    /* [16, 64] f16, 128 threads: 8 per thread, 8 threads per row, 16 rows */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){16, 64}, 2, VM_DT_F16, 128), LAY_OK);
    cr_assert(lay_eq(L, P("spatial(16, 8) * local(1, 8)")));
    /* [64, 64] f16, 128 threads: the rest of the rows local, outermost */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){64, 64}, 2, VM_DT_F16, 128), LAY_OK);
    cr_assert(lay_eq(L, P("local(4, 1) * spatial(16, 8) * local(1, 8)")));
    /* [4, 8] f32 on 64 threads: 2 threads per row, 4 rows, 8 replicas */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){4, 8}, 2, VM_DT_F32, 64), LAY_OK);
    cr_assert(lay_eq(L, P("replicate(8) * spatial(4, 2) * local(1, 4)")));
    cr_assert_eq(lay_num_threads(L), 64);
    /* [12] u8: 16 does not divide 12, 4 does; 3 groups share no factor
     * with 32 threads, so they stay local and every thread replicates */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){12}, 1, VM_DT_U8, 32), LAY_OK);
    cr_assert(lay_eq(L, P("replicate(32) * local(12)")));
    /* [24, 6] f32 on 96 threads (3 warps): 2 per thread, 3 threads per
     * row, gcd(24, 32) = 8 rows of threads, 3 row groups local, 4 replicas */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){24, 6}, 2, VM_DT_F32, 96), LAY_OK);
    cr_assert(lay_eq(L, P("replicate(4) * local(3, 1) * spatial(8, 3) * local(1, 2)")));
    cr_assert_eq(lay_num_threads(L), 96);
    /* [256] u4: 32 per thread (16 bytes), 8 threads, 4 replicas */
    cr_assert_eq(vm_default_layout(&L, (int32_t[]){256}, 1, VM_DT_U4, 32), LAY_OK);
    cr_assert(lay_eq(L, P("replicate(4) * spatial(8) * local(32)")));
    /* rank 0: every thread holds the scalar */
    cr_assert_eq(vm_default_layout(&L, NULL, 0, VM_DT_F32, 96), LAY_OK);
    cr_assert_eq(lay_num_threads(L), 96);
    cr_assert_eq(lay_local_size(L), 1);
    cr_assert_neq(vm_default_layout(&L, (int32_t[]){0}, 1, VM_DT_F32, 32), LAY_OK);
}

/* z[i] = x[i] + y[i], 512 per block, 4 warps */
Test(ir, vector_add) {
    T t = setup(4);
    Kernel *k = t.k;
    Value *x = vec(&t, "x", VM_DT_F32, "n")->value;
    Value *y = vec(&t, "y", VM_DT_F32, "n")->value;
    Value *z = vec(&t, "z", VM_DT_F32, "n")->value;
    Expr *grid[1] = {vm_e_bin(k, VM_S_CDIV, vm_e_param(k, vm_param_find(k, "n")), I(&t, 512))};
    vm_set_grid(k, 1, grid);
    at(&t, 3);
    Value *a = vm_b_load_global(k, tile1(x, block_start(&t, 0, 512), 512), NULL, NULL);
    Value *b = vm_b_load_global(k, tile1(y, block_start(&t, 0, 512), 512), NULL, NULL);
    Value *s = vm_b_binary(k, VM_ADD, a, b);
    vm_set_name(k, s, "s");
    vm_b_store_global(k, tile1(z, block_start(&t, 0, 512), 512), s, NULL);
    cr_assert_eq(k->nparams, 4);
    cr_assert_eq(s->def->loc.line, 3);
    accept(&t);
    Layout want = P("spatial(128) * local(4)");
    cr_assert(lay_eq(a->layout, want));
    cr_assert(lay_eq(b->layout, want));
    cr_assert(lay_eq(s->layout, want));
    cr_assert_eq(s->lstate, VM_LAY_INFERRED);
    vm_arena_free(t.a);
}

/* y[r] = sum_c x[r, c] over a [16, 64] tile, 1 warp */
Test(ir, row_reduction) {
    T t = setup(1);
    Kernel *k = t.k;
    Value *x = mat(&t, "x", VM_DT_F32, "m", "c")->value;
    Value *y = vec(&t, "y", VM_DT_F32, "m")->value;
    Value *a = vm_b_load_global(k, tile2(x, block_start(&t, 0, 16), 16, NULL, 64), NULL, NULL);
    Value *s = vm_b_reduce(k, VM_REDUCE_SUM, a, 1, false);
    cr_assert_eq(s->rank, 1);
    cr_assert_eq(s->shape[0], 16);
    Value *m = vm_b_reduce(k, VM_ARGMAX, a, 1, true);
    cr_assert_eq(m->dtype, VM_DT_I32);
    cr_assert_eq(m->rank, 2);
    cr_assert_eq(m->shape[1], 1);
    vm_b_store_global(k, tile1(y, block_start(&t, 0, 16), 16), s, NULL);
    accept(&t);
    Layout la = P("local(8, 1) * spatial(2, 16) * local(1, 4)");
    cr_assert(lay_eq(a->layout, la));
    Layout red;
    cr_assert_eq(lay_reduce(&red, la, 1, (int[]){1}, false), LAY_OK);
    cr_assert(lay_eq(s->layout, red));
    cr_assert_eq(lay_num_threads(s->layout), 32);
    vm_arena_free(t.a);
}

/* acc = 0; for k0 in range(0, c, 64): acc = acc + x[tile]; y[tile] = acc */
Test(ir, loop_accumulator) {
    T t = setup(2);
    Kernel *k = t.k;
    Value *x = mat(&t, "x", VM_DT_F32, "m", "c")->value;
    Value *y = mat(&t, "y", VM_DT_F32, "m", "n")->value;
    Var *acc = vm_b_var(k, "acc", vm_b_zeros(k, VM_DT_F32, 2, (int32_t[]){16, 64}));
    Var *k0 = vm_b_for(k, "k0", I(&t, 0), vm_e_param(k, vm_param_find(k, "c")), I(&t, 64));
    cr_assert(k0->scalar);
    cr_assert_eq(k0->dtype, VM_DT_I32);
    Value *a = vm_b_load_global(k, tile2(x, block_start(&t, 0, 16), 16, vm_e_var(k, k0), 64),
                                NULL, NULL);
    vm_b_assign(k, acc, vm_b_binary(k, VM_ADD, acc->val, a));
    vm_b_end(k);
    vm_b_store_global(k, tile2(y, block_start(&t, 0, 16), 16, NULL, 64), acc->val, NULL);
    cr_assert_eq(k->depth, 0);
    cr_assert_eq(k->body.first->op, VM_ZEROS);
    cr_assert_eq(k->body.first->next->op, VM_VAR_DEF);
    Inst *loop = k->body.first->next->next;
    cr_assert_eq(loop->op, VM_FOR);
    cr_assert_eq(loop->body.last->op, VM_ASSIGN);
    accept(&t);
    Layout want = P("local(4, 1) * spatial(4, 16) * local(1, 4)");
    cr_assert(lay_eq(acc->val->layout, want));
    cr_assert(lay_eq(a->layout, want));
    vm_arena_free(t.a);
}

/* let old = acc; acc = acc + 1: the snapshot is a separate value */
Test(ir, var_snapshot) {
    T t = setup(1);
    Kernel *k = t.k;
    Var *acc = vm_b_var(k, "acc", vm_b_zeros(k, VM_DT_F32, 1, (int32_t[]){32}));
    Value *old = vm_b_read(k, acc);
    cr_assert_neq(old, acc->val);
    cr_assert_null(old->var);
    cr_assert_eq(old->def->op, VM_BROADCAST);
    cr_assert_eq(old->def->a[0], acc->val);
    cr_assert_eq(old->rank, 1);
    cr_assert_eq(old->shape[0], 32);
    vm_b_assign(k, acc, vm_b_binary(k, VM_ADD, acc->val, vm_b_scalar(k, VM_DT_F32, vm_e_f32(k, 1))));
    Value *d = vm_b_binary(k, VM_SUB, acc->val, old);
    vm_b_print(k, "d", d);
    accept(&t);
    cr_assert(lay_eq(old->layout, acc->val->layout));
    vm_arena_free(t.a);
}

/* shared tile: copy_async, commit, wait, sync, load_shared, free */
Test(ir, shared_pair) {
    T t = setup(4);
    Kernel *k = t.k;
    Value *x = mat(&t, "x", VM_DT_F16, "m", "n")->value;
    Value *y = mat(&t, "y", VM_DT_F16, "m", "n")->value;
    Value *s = vm_b_shared_alloc(k, VM_DT_F16, 2, (int32_t[]){64, 64}, NULL);
    vm_b_copy_async(k, vm_tile(s), tile2(x, block_start(&t, 0, 64), 64, NULL, 64), NULL);
    vm_b_commit(k);
    vm_b_wait(k, 0);
    vm_b_sync(k);
    Tile half = vm_tile(s);
    vm_tile_range(&half, 0, I(&t, 32), 32);
    Value *r = vm_b_load_shared(k, half);
    cr_assert_eq(r->shape[0], 32);
    vm_b_store_global(k, tile2(y, block_start(&t, 0, 32), 32, NULL, 64), r, NULL);
    vm_b_shared_free(k, s);
    accept(&t);
    cr_assert(s->has_slayout);
    SharedLayout rm;
    cr_assert_eq(lay_shared_row_major(&rm, 2, (int[]){64, 64}, 16), LAY_OK);
    cr_assert(lay_shared_eq(s->slayout, rm));
    vm_arena_free(t.a);
}

/* 128 bytes as 256 u4 values: 4 bytes = 8 nibbles per thread on both sides */
Test(ir, view_u8_u4) {
    T t = setup(1);
    Kernel *k = t.k;
    Value *w = vec(&t, "w", VM_DT_U8, "nb")->value;
    Value *y = vec(&t, "y", VM_DT_F16, "n")->value;
    Value *bytes = vm_b_load_global(k, tile1(w, block_start(&t, 0, 128), 128), NULL, NULL);
    vm_set_layout(bytes, P("spatial(32) * local(4)"));
    Layout lq = P("spatial(32) * local(8)");
    Value *q = vm_b_view(k, bytes, VM_DT_U4, &lq);
    cr_assert_eq(q->rank, 1);
    cr_assert_eq(q->shape[0], 256);
    cr_assert_eq(q->lstate, VM_LAY_EXPLICIT);
    Value *h = vm_b_cast(k, q, VM_DT_F16);
    vm_b_store_global(k, tile1(y, block_start(&t, 0, 256), 256), h, NULL);
    accept(&t);
    cr_assert(lay_eq(h->layout, lq));
    cr_assert_eq(bytes->lstate, VM_LAY_EXPLICIT);
    vm_arena_free(t.a);
}

/* Later annotation of a view's result sets its shape; equal-width views
 * keep the operand's explicit layout. */
Test(ir, view_annotation) {
    T t = setup(1);
    Kernel *k = t.k;
    Value *w = vec(&t, "w", VM_DT_U8, "nb")->value;
    Value *bytes = vm_b_load_global(k, tile1(w, NULL, 64), NULL, NULL);
    vm_set_layout(bytes, P("spatial(32) * local(2)"));
    Value *q = vm_b_view(k, bytes, VM_DT_U2, NULL);
    cr_assert_eq(q->shape[0], 256); /* best effort before the annotation */
    vm_set_layout(q, P("spatial(32) * local(8)"));
    cr_assert_eq(q->shape[0], 256);
    vm_set_layout(q, P("spatial(32) * local(2, 4)"));
    cr_assert_eq(q->rank, 2);
    cr_assert_eq(q->shape[0], 2);
    cr_assert_eq(q->shape[1], 128);
    Value *s = vm_b_view(k, bytes, VM_DT_I8, NULL);
    cr_assert_eq(s->shape[0], 64);
    accept(&t);
    cr_assert(lay_eq(s->layout, bytes->layout));
    vm_arena_free(t.a);
}

/* Control flow nesting, scalar vars, printf and the other builders. */
Test(ir, builders) {
    T t = setup(1);
    Kernel *k = t.k;
    Value *g = vec(&t, "g", VM_DT_I32, "n")->value;
    Param *seed = vm_param_scalar(k, "seed", VM_DT_I64);
    Var *i = vm_b_svar(k, "i", I(&t, 0), true);
    vm_b_while(k, vm_e_bin(k, VM_S_LT, vm_e_var(k, i), I(&t, 10)));
    vm_b_if(k, vm_e_bin(k, VM_S_EQ, vm_e_var(k, i), I(&t, 5)));
    vm_b_break(k);
    vm_b_else(k);
    vm_b_sassign(k, i, vm_e_bin(k, VM_S_ADD, vm_e_var(k, i), I(&t, 1)));
    vm_b_continue(k);
    vm_b_end(k);
    vm_b_end(k);
    Tile one = vm_tile(g);
    vm_tile_index(&one, 0, I(&t, 0));
    Var *pos = vm_b_load_scalar(k, "pos", one);
    cr_assert_eq(pos->dtype, VM_DT_I32);
    Expr *args[2] = {vm_e_var(k, i), vm_e_var(k, pos)};
    vm_b_printf(k, "i=%d pos=%d\n", 2, args);
    Value *r = vm_b_rand(k, 1, (int32_t[]){32}, vm_e_param(k, seed),
                         vm_e_int(k, VM_DT_I64, 0));
    Value *idx;
    Value *top = vm_b_topk(k, r, 4, 0, &idx);
    cr_assert_eq(top->shape[0], 4);
    cr_assert_eq(idx->dtype, VM_DT_I32);
    Value *ar = vm_b_arange(k, VM_DT_I32, 32);
    Value *e = vm_b_unary(k, VM_EXP, r);
    Value *f = vm_b_fma(k, e, r, vm_b_scalar(k, VM_DT_F32, vm_e_f32(k, 1.0)));
    Value *c = vm_b_binary(k, VM_LT, f, r);
    cr_assert_eq(c->dtype, VM_DT_BOOL);
    Value *wh = vm_b_where(k, c, ar, vm_b_scalar(k, VM_DT_I32, I(&t, -1)));
    Value *rs = vm_b_reshape(k, wh, 2, (int32_t[]){4, 8});
    Value *tr = vm_b_transpose(k, rs);
    cr_assert_eq(tr->shape[0], 8);
    Value *pm = vm_b_permute(k, tr, (int[]){1, 0});
    cr_assert_eq(pm->shape[0], 4);
    Value *cc = vm_b_concat(k, pm, pm, 0);
    cr_assert_eq(cc->shape[0], 8);
    Value *bc = vm_b_broadcast(k, vm_b_reduce(k, VM_REDUCE_MAX, cc, 0, true), 2,
                               (int32_t[]){8, 8});
    cr_assert_eq(bc->shape[0], 8);
    Tile sl = vm_tile(bc);
    vm_tile_range(&sl, 0, I(&t, 2), 4);
    Value *slc = vm_b_slice(k, sl);
    cr_assert_eq(slc->shape[0], 4);
    vm_b_print(k, "slc", vm_b_cumsum(k, slc, 1));
    vm_b_assume(k, vm_e_bin(k, VM_S_GT, vm_e_param(k, vm_param_find(k, "n")), I(&t, 0)));
    vm_b_exit(k);
    accept(&t);
    cr_assert_eq(k->nvars, 2);
    vm_arena_free(t.a);
}

/* gather, masked loads with other, global_view, workspace semaphores,
 * atomic_add: accepted and inferred. */
Test(ir, memory_builders) {
    T t = setup(1);
    Kernel *k = t.k;
    Value *emb = mat(&t, "emb", VM_DT_F16, "vocab", "d")->value;
    Value *ids = vec(&t, "ids", VM_DT_I32, "nt")->value;
    Value *out = mat(&t, "out", VM_DT_F32, "nt", "d")->value;
    Value *w = vec(&t, "w", VM_DT_U8, "nb")->value;
    vm_set_loc(k, (VmLoc){"test.lpk", 2, 1});
    Value *sem = vm_b_workspace(k, VM_DT_I32, 1, (Expr *[]){vm_e_i32(k, 64)});
    Value *idx = vm_b_load_global(k, tile1(ids, block_start(&t, 0, 8), 8), NULL, NULL);
    Value *idx2 = vm_b_reshape(k, idx, 2, (int32_t[]){8, 1});
    Value *rows = vm_b_gather(k, tile2(emb, NULL, 8, NULL, 32), idx2, 0);
    cr_assert_eq(rows->shape[0], 8);
    cr_assert_eq(rows->shape[1], 32);
    Value *col = vm_b_arange(k, VM_DT_I32, 32);
    Value *m = vm_b_binary(k, VM_LT, col, vm_b_scalar(k, VM_DT_I32, I(&t, 30)));
    Value *other = vm_b_scalar(k, VM_DT_F16, vm_e_f32(k, -1.0));
    Value *masked = vm_b_load_global(k, tile2(emb, NULL, 8, NULL, 32), m, other);
    Value *sum = vm_b_binary(k, VM_ADD, vm_b_cast(k, rows, VM_DT_F32),
                             vm_b_cast(k, masked, VM_DT_F32));
    Value *wh = vm_b_global_view(k, w, I(&t, 0), VM_DT_F16, 2,
                                 (Expr *[]){I(&t, 8), I(&t, 32)}, NULL);
    Value *extra = vm_b_load_global(k, tile2(wh, NULL, 8, NULL, 32), NULL, NULL);
    sum = vm_b_binary(k, VM_ADD, sum, vm_b_cast(k, extra, VM_DT_F32));
    Tile one = vm_tile(sem);
    vm_tile_index(&one, 0, vm_e_bid(k, 0));
    vm_b_lock(k, one, I(&t, 0));
    vm_b_atomic_add(k, tile2(out, block_start(&t, 0, 8), 8, NULL, 32), sum);
    vm_b_release(k, one, I(&t, 1));
    accept(&t);
    cr_assert(lay_eq(m->layout, masked->def->a[0]->layout));
    cr_assert_eq(lay_num_threads(idx2->layout), 32);
    Layout r;
    cr_assert_eq(lay_reduce(&r, rows->layout, 1, (int[]){1}, true), LAY_OK);
    cr_assert(lay_eq(idx2->layout, r)); /* the index broadcasts along the row */
    vm_arena_free(t.a);
}

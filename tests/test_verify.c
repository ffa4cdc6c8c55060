/* tests/test_verify.c - one small broken program per verifier rule: each
 * builds a kernel with exactly one defect through the builder and checks
 * that vm_verify refuses it with the expected message at the expected line.
 * A last test checks that a correct program yields no diagnostic at all. */
#include <string.h>

#include <criterion/criterion.h>

#include "vm/vm.h"

typedef struct {
    VmArena *a;
    Prog *p;
    Kernel *k;
    VmDiags d;
    Value *x, *y, *h; /* x, y: f32[n]; h: f16[n] */
} T;

static T setup(int warps) {
    T t;
    t.a = vm_arena_new();
    t.p = vm_prog_new(t.a);
    t.k = vm_kernel_new(t.p, "k", (VmLoc){"v.lpk", 1, 1});
    vm_set_warps(t.k, warps);
    vm_diags_init(&t.d, t.a);
    Expr *n[1] = {vm_e_param(t.k, vm_param_dim(t.k, "n"))};
    t.x = vm_param_tensor(t.k, "x", VM_DT_F32, 1, n)->value;
    t.y = vm_param_tensor(t.k, "y", VM_DT_F32, 1, n)->value;
    t.h = vm_param_tensor(t.k, "h", VM_DT_F16, 1, n)->value;
    vm_set_loc(t.k, (VmLoc){"v.lpk", 10, 5});
    return t;
}

static void line(T *t, int l) {
    vm_set_loc(t->k, (VmLoc){"v.lpk", l, 5});
}

static Layout P(const char *s) {
    Layout L;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return L;
}

static Tile tile1(Value *g, int start, int n) {
    Tile tl = vm_tile(g);
    vm_tile_range(&tl, 0, NULL, n);
    (void)start;
    return tl;
}

static Value *load(T *t, Value *g, int n) {
    return vm_b_load_global(t->k, tile1(g, 0, n), NULL, NULL);
}

static const char *msgs(T *t) {
    static char buf[4096];
    buf[0] = 0;
    for (int i = 0; i < t->d.n; i++) {
        char l[512];
        vm_diag_format(&t->d.v[i], l, sizeof l);
        strncat(buf, l, sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

/* verify refuses the program with a message containing `want` at `ln` */
static void refuse(T *t, const char *want, int ln) {
    cr_assert_not(vm_verify(t->p, &t->d), "accepted; expected: %s", want);
    for (int i = 0; i < t->d.n; i++)
        if (strstr(t->d.v[i].msg, want)) {
            if (ln)
                cr_assert_eq(t->d.v[i].loc.line, ln, "'%s' at line %d, expected %d", want,
                             t->d.v[i].loc.line, ln);
            vm_arena_free(t->a);
            return;
        }
    cr_assert_fail("no diagnostic contains '%s'; got:\n%s", want, msgs(t));
}

Test(verify, dtype_mix) {
    T t = setup(1);
    Value *a = load(&t, t.x, 32), *b = load(&t, t.h, 32);
    line(&t, 12);
    vm_b_binary(t.k, VM_ADD, a, b);
    refuse(&t, "operands of '+' have different dtypes f32 and f16: cast one", 12);
}

Test(verify, shape_mismatch) {
    T t = setup(1);
    Value *a = load(&t, t.x, 16), *b = load(&t, t.y, 32);
    line(&t, 13);
    vm_b_binary(t.k, VM_MUL, a, b);
    refuse(&t, "shapes [16] and [32] do not broadcast", 13);
}

Test(verify, layout_thread_count) {
    T t = setup(1);
    line(&t, 14);
    Value *a = load(&t, t.x, 64);
    vm_set_layout(a, P("spatial(64)"));
    refuse(&t, "has 64 threads; the kernel has 32 (32 * warps 1)", 14);
}

Test(verify, layout_shape) {
    T t = setup(1);
    line(&t, 15);
    Value *a = load(&t, t.x, 128);
    vm_set_name(t.k, a, "a");
    vm_set_layout(a, P("spatial(32) * local(2)"));
    refuse(&t, "layout of 'a' has shape [64], the tensor [128]", 15);
}

Test(verify, view_without_explicit_layout) {
    T t = setup(1);
    Value *a = load(&t, t.x, 64);
    line(&t, 16);
    vm_b_view(t.k, a, VM_DT_I32, NULL);
    refuse(&t, "view needs an explicit layout on its operand", 16);
}

Test(verify, view_changes_width_without_result_layout) {
    T t = setup(1);
    Value *a = load(&t, t.x, 64);
    vm_set_layout(a, P("spatial(32) * local(2)"));
    line(&t, 17);
    vm_b_view(t.k, a, VM_DT_F16, NULL);
    refuse(&t, "view from f32 to f16 changes the bits per element", 17);
}

Test(verify, view_bits_per_thread) {
    T t = setup(1);
    Value *a = load(&t, t.x, 64);
    vm_set_layout(a, P("spatial(32) * local(2)"));
    Layout l = P("spatial(32) * local(2)"); /* 2 x 16 bits, the operand 2 x 32 */
    line(&t, 18);
    vm_b_view(t.k, a, VM_DT_F16, &l);
    refuse(&t, "the operand holds 64 bits per thread (2 x f32), the result 32 (2 x f16)", 18);
}

Test(verify, view_thread_count) {
    T t = setup(2);
    Value *a = load(&t, t.x, 128);
    vm_set_layout(a, P("replicate(2) * spatial(32) * local(4)"));
    Layout l = P("spatial(64) * local(4)");
    line(&t, 19);
    Value *v = vm_b_view(t.k, a, VM_DT_I32, &l);
    vm_set_layout(v, P("spatial(32) * local(8)"));
    refuse(&t, "view: the operand's layout has 64 threads, the result's 32", 19);
}

Test(verify, use_after_shared_free) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    vm_b_shared_free(t.k, s);
    line(&t, 20);
    vm_b_load_shared(t.k, vm_tile(s));
    refuse(&t, "use of shared tensor 's' after its shared_free", 20);
}

Test(verify, missing_shared_free) {
    T t = setup(1);
    line(&t, 21);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    refuse(&t, "shared tensor 's' is not freed before the end of its block", 21);
}

Test(verify, missing_shared_free_in_loop) {
    T t = setup(1);
    vm_b_for(t.k, "i", vm_e_i32(t.k, 0), vm_e_i32(t.k, 4), NULL);
    line(&t, 22);
    vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_b_end(t.k);
    refuse(&t, "missing shared_free", 22);
}

Test(verify, double_free) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    vm_b_shared_free(t.k, s);
    line(&t, 23);
    vm_b_shared_free(t.k, s);
    refuse(&t, "shared_free: 's' is freed twice", 23);
}

Test(verify, free_in_other_block) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    vm_b_if(t.k, vm_e_bool(t.k, true));
    line(&t, 24);
    vm_b_shared_free(t.k, s);
    vm_b_end(t.k);
    refuse(&t, "shared_free of 's' must be in the block of its shared_alloc", 24);
}

Test(verify, wait_without_commit) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_b_copy_async(t.k, vm_tile(s), tile1(t.x, 0, 64), NULL);
    line(&t, 25);
    vm_b_wait(t.k, 0);
    vm_b_commit(t.k);
    vm_b_shared_free(t.k, s);
    refuse(&t, "wait with no commit before it", 25);
}

Test(verify, copy_never_committed) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    line(&t, 26);
    vm_b_copy_async(t.k, vm_tile(s), tile1(t.x, 0, 64), NULL);
    line(&t, 27);
    vm_b_shared_free(t.k, s);
    refuse(&t, "copy_async is never committed", 26);
}

Test(verify, dot_inner_dims) {
    T t = setup(1);
    Value *A = vm_b_zeros(t.k, VM_DT_F16, 2, (int32_t[]){16, 32});
    Value *B = vm_b_zeros(t.k, VM_DT_F16, 2, (int32_t[]){64, 8});
    Value *C = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 8});
    line(&t, 28);
    vm_b_dot(t.k, A, B, C);
    refuse(&t, "dot: A [16, 32] @ B [64, 8]: inner dims 32 and 64 differ", 28);
}

Test(verify, dot_accumulator_shape) {
    T t = setup(1);
    Value *A = vm_b_zeros(t.k, VM_DT_F16, 2, (int32_t[]){16, 32});
    Value *B = vm_b_zeros(t.k, VM_DT_F16, 2, (int32_t[]){32, 8});
    Value *C = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 16});
    line(&t, 29);
    vm_b_dot(t.k, A, B, C);
    refuse(&t, "dot: C is [16, 16], expected [16, 8]", 29);
}

Test(verify, reduce_dim_range) {
    T t = setup(1);
    Value *a = vm_b_zeros(t.k, VM_DT_F32, 2, (int32_t[]){16, 32});
    line(&t, 30);
    vm_b_reduce(t.k, VM_REDUCE_SUM, a, 2, false);
    refuse(&t, "reduce_sum: dim 2 is out of range for rank 2", 30);
}

Test(verify, condition_not_bool) {
    T t = setup(1);
    line(&t, 31);
    vm_b_if(t.k, vm_e_bid(t.k, 0));
    vm_b_end(t.k);
    refuse(&t, "condition of if must be a bool scalar, got i32", 31);
}

Test(verify, break_outside_loop) {
    T t = setup(1);
    vm_b_if(t.k, vm_e_bool(t.k, true));
    line(&t, 32);
    vm_b_break(t.k);
    vm_b_end(t.k);
    refuse(&t, "break outside a loop", 32);
}

Test(verify, unclosed_block) {
    T t = setup(1);
    vm_b_while(t.k, vm_e_bool(t.k, true));
    refuse(&t, "1 control-flow block left open", 1);
}

Test(verify, unknown_param) {
    T t = setup(1);
    Kernel *other = vm_kernel_new(t.p, "other", (VmLoc){"v.lpk", 40, 1});
    Param *q = vm_param_scalar(other, "q", VM_DT_I32);
    line(&t, 33);
    vm_b_if(t.k, vm_e_bin(t.k, VM_S_LT, vm_e_param(t.k, q), vm_e_i32(t.k, 3)));
    vm_b_end(t.k);
    refuse(&t, "unknown parameter 'q' in kernel 'k'", 33);
}

Test(verify, store_dtype) {
    T t = setup(1);
    Value *a = load(&t, t.x, 32);
    vm_set_name(t.k, a, "a");
    line(&t, 34);
    vm_b_store_global(t.k, tile1(t.h, 0, 32), a, NULL);
    refuse(&t, "stored value 'a' is f32, expected f16 (mixing dtypes needs a cast)", 34);
}

Test(verify, store_shape) {
    T t = setup(1);
    Value *a = load(&t, t.x, 32);
    vm_set_name(t.k, a, "a");
    line(&t, 35);
    vm_b_store_global(t.k, tile1(t.y, 0, 64), a, NULL);
    refuse(&t, "stored value 'a' has shape [32], expected [64]", 35);
}

Test(verify, out_of_scope) {
    T t = setup(1);
    vm_b_for(t.k, "i", vm_e_i32(t.k, 0), vm_e_i32(t.k, 4), NULL);
    Value *a = load(&t, t.x, 32);
    vm_set_name(t.k, a, "a");
    vm_b_end(t.k);
    line(&t, 36);
    vm_b_unary(t.k, VM_EXP, a);
    refuse(&t, "exp: use of 'a' before its definition or outside its scope", 36);
}

Test(verify, assign_to_let) {
    T t = setup(1);
    Var *v = vm_b_svar(t.k, "v", vm_e_i32(t.k, 0), false);
    line(&t, 37);
    vm_b_sassign(t.k, v, vm_e_i32(t.k, 1));
    refuse(&t, "cannot assign to 'v': it is not a var", 37);
}

Test(verify, assign_changes_dtype) {
    T t = setup(1);
    Var *acc = vm_b_var(t.k, "acc", vm_b_zeros(t.k, VM_DT_F32, 1, (int32_t[]){32}));
    line(&t, 38);
    vm_b_assign(t.k, acc, load(&t, t.h, 32));
    refuse(&t, "assignment to 'acc' changes its dtype from f32 to f16", 38);
}

Test(verify, warps_range) {
    T t = setup(33);
    refuse(&t, "warps(33) of kernel 'k' is out of range 1..32", 1);
}

Test(verify, bid_beyond_grid) {
    T t = setup(1);
    line(&t, 39);
    vm_b_load_global(t.k, tile1(t.x, 0, 32), NULL, NULL)->def->mem[0].start[0] =
        vm_e_bid(t.k, 1);
    refuse(&t, "bid.y used but the grid has 1 dim", 39);
}

Test(verify, scalar_dtype_mix) {
    T t = setup(1);
    Param *p64 = vm_param_scalar(t.k, "big", VM_DT_I64);
    line(&t, 41);
    Expr *e = vm_e_bin(t.k, VM_S_ADD, vm_e_param(t.k, p64), vm_e_bid(t.k, 0));
    vm_b_svar(t.k, "s", e, false);
    refuse(&t, "scalar operands of '+' have different dtypes i64 and i32", 41);
}

Test(verify, shared_tile_range) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    Tile tl = vm_tile(s);
    vm_tile_range(&tl, 0, vm_e_i32(t.k, 48), 32);
    line(&t, 42);
    vm_b_load_shared(t.k, tl);
    line(&t, 43);
    vm_b_shared_free(t.k, s);
    refuse(&t, "tile [48 : 32] is out of range in dim 0 of 's' (size 64)", 42);
}

Test(verify, float_only_unary) {
    T t = setup(1);
    Value *a = vm_b_arange(t.k, VM_DT_I32, 32);
    line(&t, 44);
    vm_b_unary(t.k, VM_EXP, a);
    refuse(&t, "exp needs a float operand, got i32", 44);
}

Test(verify, wrong_tensor_kind) {
    T t = setup(1);
    Value *s = vm_b_shared_alloc(t.k, VM_DT_F32, 1, (int32_t[]){64}, NULL);
    vm_set_name(t.k, s, "s");
    line(&t, 45);
    vm_b_load_global(t.k, vm_tile(s), NULL, NULL);
    vm_b_shared_free(t.k, s);
    refuse(&t, "load_global: source must be a global tensor, got a shared tensor 's'", 45);
}

Test(verify, mask_dtype) {
    T t = setup(1);
    Value *m = load(&t, t.x, 32);
    vm_set_name(t.k, m, "m");
    line(&t, 46);
    vm_b_load_global(t.k, tile1(t.y, 0, 32), m, NULL);
    refuse(&t, "load_global: mask 'm' must be bool, got f32", 46);
}

Test(verify, range_step_zero) {
    T t = setup(1);
    line(&t, 47);
    vm_b_for(t.k, "i", vm_e_i32(t.k, 0), vm_e_i32(t.k, 8), vm_e_i32(t.k, 0));
    vm_b_end(t.k);
    refuse(&t, "range step is 0", 47);
}

Test(verify, workspace_top_level) {
    T t = setup(1);
    vm_b_if(t.k, vm_e_bool(t.k, true));
    line(&t, 48);
    vm_b_workspace(t.k, VM_DT_I32, 1, (Expr *[]){vm_e_i32(t.k, 4)});
    vm_b_end(t.k);
    refuse(&t, "workspace must be at the top level", 48);
}

Test(verify, semaphore_dtype_and_index) {
    T t = setup(1);
    line(&t, 49);
    vm_b_lock(t.k, tile1(t.x, 0, 1), vm_e_i32(t.k, 0));
    refuse(&t, "lock: needs one element: index every dim of 'x'", 49);
}

Test(verify, duplicate_param) {
    T t = setup(1);
    vm_set_loc(t.k, (VmLoc){"v.lpk", 2, 9});
    vm_param_scalar(t.k, "x", VM_DT_I32);
    refuse(&t, "parameter 'x' is declared twice", 2);
}

Test(verify, malformed_slots) {
    T t = setup(1);
    Value *a = load(&t, t.x, 32);
    line(&t, 50);
    Value *s = vm_b_binary(t.k, VM_ADD, a, a);
    s->def->a[2] = a;
    refuse(&t, "malformed add: unexpected a[2]", 50);
}

Test(verify, clean_program_has_no_diagnostics) {
    T t = setup(1);
    Var *acc = vm_b_var(t.k, "acc", vm_b_zeros(t.k, VM_DT_F32, 1, (int32_t[]){32}));
    Var *i = vm_b_for(t.k, "i", vm_e_i32(t.k, 0), vm_e_i32(t.k, 4), NULL);
    Tile tl = vm_tile(t.x);
    vm_tile_range(&tl, 0, vm_e_bin(t.k, VM_S_MUL, vm_e_var(t.k, i), vm_e_i32(t.k, 32)), 32);
    Value *a = vm_b_load_global(t.k, tl, NULL, NULL);
    vm_b_assign(t.k, acc, vm_b_binary(t.k, VM_ADD, acc->val, a));
    vm_b_if(t.k, vm_e_bin(t.k, VM_S_GE, vm_e_var(t.k, i), vm_e_i32(t.k, 2)));
    vm_b_break(t.k);
    vm_b_end(t.k);
    vm_b_end(t.k);
    vm_b_store_global(t.k, tile1(t.y, 0, 32), acc->val, NULL);
    cr_assert(vm_verify(t.p, &t.d), "%s", msgs(&t));
    cr_assert_eq(t.d.n, 0);
    vm_arena_free(t.a);
}

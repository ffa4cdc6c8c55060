/* tests/test_lower_regs.c - lowering that moves no data: what costs no
 * instruction must emit none (codegen/lower_arith.c, lower_mem.c,
 * lower_mma.c, lower_reduce.c). Values are checked elsewhere: the same
 * kernels run against the interpreter in tests/kernels/regs.lpk (GPU
 * runner) and the tensor-core GEMV sample on the CPU TIR evaluator
 * (test_fastconv.c) and its C reference (test_samples.c). Here:
 *   - a view to the same dtype is the registers themselves;
 *   - a concat whose result stays in the threads that hold it is a register
 *     reorder (no shared memory, no barrier); one that moves data between
 *     threads still goes through shared memory;
 *   - a float sum of products folds with fma;
 *   - 16-bit elements load as words, and mma fragments reuse those words;
 *   - the tensor-core GEMV's weights reach mma.sync with no repacking;
 *   - lpvm_kernel_text_variant gives the aligned variant's code;
 *   - an f16 -> f32 cast feeding only arithmetic is a bare cvt (the
 *     arithmetic gives the canonical NaN), one stored keeps its select;
 *   - signed(dt) names the signed integer of dt's width. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "lpvm.h"
#include "tests/lang_util.h"
#include "tests/tir_util.h"

static TirKernel *lr_lower(VmArena *a, const char *src, const char *kernel, const char *spec,
                           uint64_t div16)
{
    Prog *p = NULL;
    LangDiags d;
    lang_diags_init(&d);
    LangStatus st = lang_compile(a, src, strlen(src), "t.lpk", kernel, spec, &p, &d);
    char *m = st == LANG_OK ? NULL : lang_diags_render(&d);
    cr_assert_eq(st, LANG_OK, "%s", m ? m : "");
    lang_diags_free(&d);
    VmDiags vd;
    vm_diags_init(&vd, a);
    CgOptions o = {.sm = 90, .div16 = div16};
    TirKernel *t = NULL;
    cr_assert_eq(cg_lower(p->kernels[0], &o, a, &t, &vd), CG_OK, "%s", vd.n ? vd.v[0].msg : "?");
    return t;
}

static char *lr_sample(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/kernels/%s", tl_root(), file);
    size_t n;
    char *s = tl_read(path, &n);
    cr_assert_not_null(s, "cannot read %s", path);
    return s;
}

/* ops of kind op in loops (in = inside one already) */
static int in_loops(const TirBlock *b, TirOpcode op, bool in)
{
    int n = 0;
    for (const TirOp *o = b->first; o; o = o->next) {
        n += in && o->op == op;
        bool l = in || o->op == TIR_OP_LOOP;
        n += in_loops(&o->body, op, l) + in_loops(&o->orelse, op, l);
    }
    return n;
}

static const char *const k_view =
    "kernel v(x: global f16[n], y: global f16[n]) grid(1) warps(1) {\n"
    "    let a = load_global(x[0 : 256]) @ spatial(32) * local(8);\n"
    "    let b = view(a, f16) @ local(8) * spatial(32);\n"
    "    store_global(y[0 : 256], b);\n"
    "}\n";

Test(lower_regs, same_dtype_view_is_the_registers)
{
    VmArena *a = vm_arena_new();
    TirKernel *t = lr_lower(a, k_view, "v", "", ~0ull);
    /* the load's words are unpacked once; the view packs nothing back */
    cr_expect_eq(tir_count(t, TIR_OP_PACK), 0, "view packed %d", tir_count(t, TIR_OP_PACK));
    cr_expect_eq(tir_count(t, TIR_OP_BFE), 0);
    vm_arena_free(a);
}

static const char *const k_concat =
    "kernel c(x: global f16[n], y: global f16[n]) grid(1) warps(1) {\n"
    "    let x3 = reshape(load_global(x[0 : 256]) @ spatial(32) * local(8), [32, 2, 4]);\n"
    "    let xa = x3[0 : 32, 0 : 1, 0 : 4] @ spatial(32, 1, 1) * local(1, 1, 4);\n"
    "    let xb = x3[0 : 32, 1 : 1, 0 : 4] @ spatial(32, 1, 1) * local(1, 1, 4);\n"
    "    let c = concat(xa, xb, 1) @ LAYOUT;\n"
    "    store_global(y[0 : 256], reshape(c, [256]));\n"
    "}\n";

static char *with_layout(const char *lay)
{
    const char *at = strstr(k_concat, "LAYOUT");
    size_t n = strlen(k_concat) + strlen(lay) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(at - k_concat), k_concat, lay, at + 6);
    return s;
}

Test(lower_regs, concat_within_threads_is_a_register_reorder)
{
    VmArena *a = vm_arena_new();
    char *in_place = with_layout("layout(shape=[32,2,4], modes=[[32],[2],[4]], spatial=[0], local=[2,1])");
    TirKernel *t = lr_lower(a, in_place, "c", "", ~0ull);
    cr_expect_eq(tir_count(t, TIR_OP_BAR), 0, "in-place concat used a barrier");
    /* the same concat laid out over other threads moves data: shared memory */
    char *moved = with_layout("spatial(4, 2, 4) * local(8, 1, 1)");
    TirKernel *u = lr_lower(a, moved, "c", "", ~0ull);
    cr_expect_gt(tir_count(u, TIR_OP_BAR), 0, "a concat across threads needs shared memory");
    free(in_place);
    free(moved);
    vm_arena_free(a);
}

static const char *const k_dot =
    "kernel d(a: global f32[m, n], b: global f32[n], y: global f32[m]) grid(m) warps(1) {\n"
    "    let t = load_global(a[bid.x : 1, 0 : 96]) @ spatial(1, 32) * local(1, 3);\n"
    "    let u = reshape(load_global(b[0 : 96]), [1, 96]);\n"
    "    let p = reshape(t * u, [1, 32, 3]);\n"
    "    store_global(y[bid.x : 1], reduce_sum(reduce_sum(p, 2), 1));\n"
    "}\n";

Test(lower_regs, sum_of_products_folds_with_fma)
{
    VmArena *a = vm_arena_new();
    TirKernel *t = lr_lower(a, k_dot, "d", "", ~0ull);
    /* each lane: one product, then two fma (through the reshape) */
    cr_expect_eq(tir_count(t, TIR_OP_FMA), 2, "fma: %d", tir_count(t, TIR_OP_FMA));
    vm_arena_free(a);
}

/* a product of a var that is assigned before the sum: its registers then
 * hold the new value, so the sum adds the products as they were */
static const char *const k_dot_var =
    "kernel d(a: global f32[m, n], y: global f32[m]) grid(m) warps(1) {\n"
    "    var u = load_global(a[bid.x : 1, 0 : 96]) @ spatial(1, 32) * local(1, 3);\n"
    "    let p = reshape(u * u, [1, 32, 3]);\n"
    "    u = u + 1.0;\n"
    "    store_global(y[bid.x : 1], reduce_sum(reduce_sum(p, 2), 1) + reduce_sum(reduce_sum(reshape(u, [1, 32, 3]), 2), 1));\n"
    "}\n";

Test(lower_regs, product_of_a_reassigned_var_is_not_folded)
{
    VmArena *a = vm_arena_new();
    TirKernel *t = lr_lower(a, k_dot_var, "d", "", ~0ull);
    cr_expect_eq(tir_count(t, TIR_OP_FMA), 0, "fma: %d", tir_count(t, TIR_OP_FMA));
    vm_arena_free(a);
}

Test(lower_regs, half_words_load_whole_and_feed_mma)
{
    VmArena *a = vm_arena_new();
    static const char *const k =
        "kernel f(a: global f16[m, n], b: global f16[n, 16], c: global f32[m, 16])\n"
        "    grid(cdiv(m, 16)) warps(1) {\n"
        "    let mma = mma_m16n8k16(f16, f32, warps = [1, 1], repeat = [1, 2, 4]);\n"
        "    let ta = load_global(a[bid.x * 16 : 16, 0 : 64]) @ mma.a;\n"
        "    let tb = load_global(b[0 : 64, 0 : 16]) @ mma.b;\n"
        "    store_global(c[bid.x * 16 : 16, 0 : 16], dot(ta, tb, zeros(f32[16, 16]) @ mma.c));\n"
        "}\n";
    TirKernel *t = lr_lower(a, k, "f", "", ~0ull);
    cr_expect_eq(tir_count(t, TIR_OP_MMA), 8);
    /* A's 16 fragment registers are its loaded words (no pack, no prmt);
     * B is k-major in memory: its 16 registers each pack two 2-byte loads */
    cr_expect_eq(tir_count(t, TIR_OP_PACK), 16, "pack: %d", tir_count(t, TIR_OP_PACK));
    cr_expect_eq(tir_count(t, TIR_OP_PRMT), 0, "prmt: %d", tir_count(t, TIR_OP_PRMT));
    vm_arena_free(a);
}

/* the tensor-core GEMV: per step and lane, 4 rows x 32 codes reach 16 mma
 * with the conversion's own f16x2 words, and x's B registers come whole
 * from its shared window (no prmt); the k loop has one barrier (the
 * weights' ring), the window loop around it two more */
Test(lower_regs, gemv_u4_weights_reach_mma_unpacked)
{
    VmArena *a = vm_arena_new();
    char *src = lr_sample("gemv_u4.lpk");
    TirKernel *t = lr_lower(a, src, "gemv", "wt=u4", ~0ull);
    cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_MMA, false), 16);
    cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_PRMT, false), 0, "prmt in the k loop: %d",
                 tu_in_inner_loops(&t->body, TIR_OP_PRMT, false));
    cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_BAR, false), 1);
    cr_expect_eq(in_loops(&t->body, TIR_OP_BAR, false), 3, "the window loop syncs");
    cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_PACK, false), 0);
    free(src);
    vm_arena_free(a);
}

static const char *const k_widen =
    "kernel w(x: global f16[n], y: global f32[n], z: global f32[n]) grid(1) warps(1) {\n"
    "    let f = cast(load_global(x[0 : 64]) @ spatial(32) * local(2), f32);\n"
    "    store_global(y[0 : 64], f * 2.0 + 1.0);\n"
    "    store_global(z[0 : 64], STORED);\n"
    "}\n";

static int nan_selects(VmArena *a, const char *stored)
{
    const char *at = strstr(k_widen, "STORED");
    char *src = vm_sprintf(a, "%.*s%s%s", (int)(at - k_widen), k_widen, stored, at + 6);
    TirKernel *t = lr_lower(a, src, "w", "", ~0ull);
    int n = 0;
    for (const TirOp *o = t->body.first; o; o = o->next)
        n += o->op == TIR_OP_SETP && o->mod == TIR_CMP_NAN;
    return n;
}

Test(lower_regs, widening_cast_skips_nan_select_before_arithmetic)
{
    VmArena *a = vm_arena_new();
    cr_expect_eq(nan_selects(a, "f * f"), 0, "arithmetic-only uses kept the NaN select");
    cr_expect_eq(nan_selects(a, "f"), 2, "a stored cast lost its NaN canonicalisation");
    vm_arena_free(a);
}

Test(lower_regs, aligned_variant_text)
{
    lpvm_options opt = {.device = LPVM_DEVICE_INTERP, .cache_dir = ""};
    lpvm_context *ctx = NULL;
    cr_assert_eq(lpvm_context_create(&opt, &ctx), LPVM_OK);
    char *src = lr_sample("vadd.lpk");
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    cr_assert_eq(lpvm_module_load(ctx, src, "vadd.lpk", &m), LPVM_OK, "%s", lpvm_error_message(ctx));
    cr_assert_eq(lpvm_kernel_get(m, NULL, NULL, &k), LPVM_OK, "%s", lpvm_error_message(ctx));
    char *plain = NULL, *aligned = NULL, *zero = NULL;
    cr_assert_eq(lpvm_kernel_text(k, LPVM_TEXT_TIR, &plain), LPVM_OK);
    cr_assert_eq(lpvm_kernel_text_variant(k, LPVM_TEXT_TIR, 0, &zero), LPVM_OK);
    cr_assert_eq(lpvm_kernel_text_variant(k, LPVM_TEXT_TIR, LPVM_DIV16_ALL, &aligned), LPVM_OK);
    cr_expect_str_eq(plain, zero, "lpvm_kernel_text is variant 0");
    /* aligned: 16-byte accesses that variant 0 cannot prove */
    cr_expect(strstr(aligned, ".w16") != NULL, "no 16-byte access in the aligned variant");
    cr_expect(strstr(plain, ".w16") == NULL, "variant 0 assumed alignment");
    lpvm_free(plain);
    lpvm_free(zero);
    lpvm_free(aligned);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    free(src);
}

Test(lower_regs, signed_names_the_signed_code)
{
    static const char *const ok =
        "kernel s<wt: dtype = u3>(w: global u8[n], y: global i32[n]) grid(1) warps(1) {\n"
        "    let b = load_global(w[0 : 96]) @ spatial(32) * local(3);\n"
        "    let q = view(b, signed(wt)) @ spatial(32) * local(8);\n"
        "    store_global(y[0 : 256], cast(q, i32));\n"
        "}\n";
    VmArena *a = vm_arena_new();
    Prog *p = NULL;
    LangDiags d;
    lang_diags_init(&d);
    cr_assert_eq(lang_compile(a, ok, strlen(ok), "t.lpk", "s", "", &p, &d), LANG_OK);
    char *text = vm_print_kernel(p->kernels[0]);
    cr_expect(strstr(text, "view(b, i3)") != NULL, "%s", text);
    free(text);
    lang_diags_free(&d);
    lang_diags_init(&d);
    cr_expect_neq(lang_compile(a, ok, strlen(ok), "t.lpk", "s", "wt=f16", &p, &d), LANG_OK);
    char *m = lang_diags_render(&d);
    cr_expect(strstr(m, "signed(f16): not an integer dtype") != NULL, "%s", m);
    free(m);
    lang_diags_free(&d);
    vm_arena_free(a);
}

/* tests/test_lang_roundtrip.c - parse(print(p)) == p on every kernel file.
 *
 * For every .lpk under samples/kernels, tests/lang, stdlib (not
 * tests/lang/invalid) and every "// spec:" line of it (every kernel of the
 * file, or the one the line names; files without spec lines use the empty
 * specialization): compile, print, compile the printed text, print again.
 * Equality is the textual fixpoint plus a structural comparison of the two
 * programs: the same parameters, instructions and values, with equal dtypes,
 * shapes and layouts, value by value. */
#include <criterion/criterion.h>

#include "lang/lang.h"
#include "tests/lang_util.h"

static void same_kernel(const Kernel *a, const Kernel *b, const char *what)
{
    cr_expect_str_eq(a->name, b->name, "%s: kernel name", what);
    cr_expect_eq(a->nparams, b->nparams, "%s: params", what);
    cr_expect_eq(a->ninsts, b->ninsts, "%s: instructions", what);
    cr_expect_eq(a->warps, b->warps, "%s: warps", what);
    cr_expect_eq(a->ngrid, b->ngrid, "%s: grid rank", what);
    cr_expect_eq(a->nvalues, b->nvalues, "%s: values", what);
    cr_expect_eq(a->nvars, b->nvars, "%s: vars", what);
    if (a->nvalues != b->nvalues)
        return;
    for (int i = 0; i < a->nvalues; i++) {
        const Value *x = a->values[i], *y = b->values[i];
        if (!x || !y) {
            cr_expect_eq(x == NULL, y == NULL, "%s: value %d", what, i);
            continue;
        }
        cr_expect_eq(x->kind, y->kind, "%s: value %d kind", what, i);
        cr_expect_eq(x->dtype, y->dtype, "%s: value %d dtype", what, i);
        cr_expect(vm_shape_eq(x->rank, x->shape, y->rank, y->shape), "%s: value %d shape", what, i);
        if (x->kind == VM_REG) {
            cr_expect_neq(x->lstate, VM_LAY_UNKNOWN, "%s: value %d has no layout", what, i);
            cr_expect(lay_eq(x->layout, y->layout), "%s: value %d layout", what, i);
        }
        if (x->kind == VM_SHARED && x->has_slayout)
            cr_expect(lay_shared_eq(x->slayout, y->slayout), "%s: value %d shared layout", what, i);
    }
}

static int roundtrip_file(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *src = tl_read(path, &len);
    cr_assert_not_null(src, "cannot read %s", path);
    LangSpecLine *specs;
    int ns = lang_file_specs(src, len, &specs);
    LangDiags d;
    lang_diags_init(&d);
    char **kernels;
    int nk;
    cr_assert_eq(lang_list_kernels(src, len, name, &kernels, &nk, &d), LANG_OK, "%s: %s", name,
                 lang_diags_render(&d));
    int checked = 0;
    for (int s = 0; s < (ns ? ns : 1); s++) {
        for (int k = 0; k < nk; k++) {
            if (ns && specs[s].kernel && strcmp(specs[s].kernel, kernels[k]))
                continue;
            const char *spec = ns ? specs[s].spec : "";
            char what[512];
            snprintf(what, sizeof what, "%s kernel %s spec \"%s\"", name, kernels[k], spec);
            VmArena *va = vm_arena_new(), *vb = vm_arena_new();
            Prog *p1, *p2;
            LangStatus st = lang_compile(va, src, len, name, kernels[k], spec, &p1, &d);
            char *msg = lang_diags_render(&d);
            cr_expect_eq(st, LANG_OK, "%s: %s", what, msg);
            free(msg);
            if (st == LANG_OK) {
                char *t1 = vm_print(p1);
                st = lang_compile(vb, t1, strlen(t1), "<printed>", NULL, "", &p2, &d);
                msg = lang_diags_render(&d);
                cr_expect_eq(st, LANG_OK, "%s: the printed program does not compile:\n%s\n%s",
                             what, msg, t1);
                free(msg);
                if (st == LANG_OK) {
                    char *t2 = vm_print(p2);
                    cr_expect_str_eq(t1, t2, "%s: print is no fixpoint", what);
                    same_kernel(p1->kernels[0], p2->kernels[0], what);
                    free(t2);
                }
                free(t1);
                checked++;
            }
            lang_diags_free(&d);
            lang_diags_init(&d);
            vm_arena_free(va);
            vm_arena_free(vb);
        }
    }
    lang_free_names(kernels, nk);
    lang_spec_lines_free(specs, ns);
    lang_diags_free(&d);
    free(src);
    return checked;
}

static int roundtrip_dir(const char *sub)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", tl_root(), sub);
    char **files;
    int n = tl_list(dir, ".lpk", &files), checked = 0;
    for (int i = 0; i < n; i++)
        checked += roundtrip_file(dir, files[i]);
    tl_free_list(files, n);
    return checked;
}

Test(lang_roundtrip, samples)
{
    cr_expect_geq(roundtrip_dir("samples/kernels"), 10, "every sample at each of its specs");
}

Test(lang_roundtrip, tests_and_stdlib)
{
    cr_expect_geq(roundtrip_dir("tests/lang"), 1);
    roundtrip_dir("stdlib");
    cr_expect_geq(roundtrip_dir("tests/kernels"), 100, "every conformance kernel at each of its specs");
}

/* Every sample lists the specializations its tests use. */
Test(lang_roundtrip, samples_have_specs)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/samples/kernels", tl_root());
    char **files;
    int n = tl_list(dir, ".lpk", &files);
    cr_expect_geq(n, 5);
    for (int i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        size_t len = 0;
        char *src = tl_read(path, &len);
        LangSpecLine *specs;
        int ns = lang_file_specs(src, len, &specs);
        cr_expect_geq(ns, 1, "%s has no // spec: line", files[i]);
        lang_spec_lines_free(specs, ns);
        free(src);
    }
    tl_free_list(files, n);
}

/* A program made with the C builder (no source) prints as source that
 * compiles to a program printing the same text. */
Test(lang_roundtrip, builder_program)
{
    VmArena *a = vm_arena_new();
    Prog *p = vm_prog_new(a);
    Kernel *k = vm_kernel_new(p, "axpy", (VmLoc){"b", 1, 1});
    Param *n = vm_param_dim(k, "n");
    Expr *sh[1] = {vm_e_param(k, n)};
    Param *x = vm_param_tensor(k, "x", VM_DT_F32, 1, sh);
    Param *y = vm_param_tensor(k, "y", VM_DT_F32, 1, sh);
    Param *al = vm_param_scalar(k, "alpha", VM_DT_F32);
    vm_set_warps(k, 2);
    Expr *g[1] = {vm_e_bin(k, VM_S_CDIV, vm_e_param(k, n), vm_e_i32(k, 256))};
    vm_set_grid(k, 1, g);
    Expr *i0 = vm_e_bin(k, VM_S_MUL, vm_e_bid(k, 0), vm_e_i32(k, 256));
    Tile tx = vm_tile(x->value), ty = vm_tile(y->value);
    vm_tile_range(&tx, 0, i0, 256);
    vm_tile_range(&ty, 0, i0, 256);
    Value *vx = vm_b_load_global(k, tx, NULL, NULL);
    Value *vy = vm_b_load_global(k, ty, NULL, NULL);
    Value *s = vm_b_scalar(k, VM_DT_F32, vm_e_param(k, al));
    vm_b_store_global(k, ty, vm_b_fma(k, vx, s, vy), NULL);
    VmDiags vd;
    vm_diags_init(&vd, a);
    cr_assert(vm_verify(p, &vd) && vm_infer_layouts(p, &vd) && vm_verify(p, &vd));
    char *t1 = vm_print(p);
    const char *head = "kernel axpy(x: global f32[n], y: global f32[n], alpha: f32)\n"
                       "    grid(cdiv(n, 256)) warps(2)\n"
                       "{\n"
                       "    let _2 = load_global(x[bid.x * 256 : 256]) @ spatial(64) * local(4);\n";
    cr_expect_eq(strncmp(t1, head, strlen(head)), 0, "%s", t1);
    cr_expect(strstr(t1, "    let _4 = full(f32[], alpha) @ replicate(64);\n"), "%s", t1);
    cr_expect(strstr(t1, "    let _5 = fma(_2, _4, _3) @ spatial(64) * local(4);\n"), "%s", t1);
    cr_expect(strstr(t1, "    store_global(y[bid.x * 256 : 256], _5);\n}\n"), "%s", t1);
    LangDiags d;
    lang_diags_init(&d);
    VmArena *b = vm_arena_new();
    Prog *p2;
    cr_assert_eq(lang_compile(b, t1, strlen(t1), "<printed>", NULL, "", &p2, &d), LANG_OK, "%s",
                 lang_diags_render(&d));
    char *t2 = vm_print(p2);
    cr_expect_str_eq(t1, t2);
    same_kernel(p->kernels[0], p2->kernels[0], "axpy");
    free(t1);
    free(t2);
    lang_diags_free(&d);
    vm_arena_free(a);
    vm_arena_free(b);
}

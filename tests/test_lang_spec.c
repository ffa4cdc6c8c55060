/* tests/test_lang_spec.c - specialization strings (VM.md 1): syntax, binding
 * to a kernel's compile-time parameters, the canonical form, and the
 * "// spec:" lines of a file. Expected strings are written by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

static const char *K =
    "kernel mm<wt: dtype, group: int = 128, bm: int = 16, fast: bool = false>(\n"
    "        x: global f16[m, k])\n"
    "    grid(1) warps(1)\n"
    "{\n"
    "}\n";

static AstKernel *parse_k(LangArena *a, LangSrc *src, LangDiags *d)
{
    *src = (LangSrc){"k.lpk", K, strlen(K)};
    AstFile *f;
    cr_assert(lang_parse(a, src, &f, d));
    cr_assert_eq(f->nkernels, 1);
    return f->kernels[0];
}

static char *canon(const char *spec, char **err)
{
    LangArena *a = lang_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    LangSrc src;
    AstKernel *k = parse_k(a, &src, &d);
    char *c = lang_spec_canonical(k, &src, spec, &d);
    *err = lang_diags_render(&d);
    lang_diags_free(&d);
    lang_arena_free(a);
    return c;
}

Test(lang_spec, parse_values)
{
    LangSpec s;
    LangDiags d;
    lang_diags_init(&d);
    cr_assert(lang_spec_parse("wt=u3, group=128,fast=true,neg=-4,hex=0x10,f=f6e3m2", &s, &d));
    cr_assert_eq(s.n, 6);
    cr_expect_str_eq(s.kv[0].name, "wt");
    cr_expect_eq(s.kv[0].v.kind, LANG_CT_DTYPE);
    cr_expect_eq(s.kv[0].v.dt, VM_DT_U3);
    cr_expect_str_eq(s.kv[1].name, "group");
    cr_expect_eq(s.kv[1].v.kind, LANG_CT_INT);
    cr_expect_eq(s.kv[1].v.i, 128);
    cr_expect_eq(s.kv[1].col, 8);
    cr_expect_eq(s.kv[2].v.kind, LANG_CT_BOOL);
    cr_expect_eq(s.kv[2].v.i, 1);
    cr_expect_eq(s.kv[3].v.i, -4);
    cr_expect_eq(s.kv[4].v.i, 16);
    cr_expect_eq(s.kv[5].v.dt, VM_DT_F6E3M2);
    cr_expect_eq(d.n, 0);
    cr_assert(lang_spec_parse("", &s, &d));
    cr_expect_eq(s.n, 0);
    cr_assert(lang_spec_parse("  ", &s, &d));
    cr_expect_eq(s.n, 0);
    cr_assert(lang_spec_parse(NULL, &s, &d));
    cr_expect_eq(s.n, 0);
    lang_diags_free(&d);
}

static void parse_err(const char *spec, const char *want)
{
    LangSpec s;
    LangDiags d;
    lang_diags_init(&d);
    cr_expect_not(lang_spec_parse(spec, &s, &d), "\"%s\" parsed", spec);
    char *r = lang_diags_render(&d);
    cr_expect_str_eq(r, want);
    free(r);
    lang_diags_free(&d);
}

Test(lang_spec, parse_errors)
{
    parse_err("bm", "<spec>:1:3: error: expected '=' after 'bm'\nbm\n  ^\n");
    parse_err("bm=", "<spec>:1:4: error: expected a value for 'bm'\nbm=\n   ^\n");
    parse_err("=3", "<spec>:1:1: error: expected a parameter name\n=3\n^\n");
    parse_err("a=1,,b=2", "<spec>:1:5: error: expected a parameter name\na=1,,b=2\n    ^\n");
    parse_err("a=1;b=2", "<spec>:1:4: error: expected ',' between parameters\na=1;b=2\n   ^\n");
    parse_err("a=1,a=2", "<spec>:1:5: error: duplicate key 'a'\na=1,a=2\n    ^\n");
    parse_err("a=u9", "<spec>:1:3: error: bad value 'u9' for 'a': expected an integer, true, false "
                      "or a dtype name\na=u9\n  ^\n");
    parse_err("a=12x", "<spec>:1:3: error: bad value '12x' for 'a': expected an integer, true, "
                       "false or a dtype name\na=12x\n  ^\n");
    parse_err("a=99999999999", "<spec>:1:3: error: integer '99999999999' out of range\n"
                               "a=99999999999\n  ^\n");
}

Test(lang_spec, canonical_sorted_with_defaults)
{
    char *err;
    char *c = canon("wt=u3", &err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_str_eq(c, "bm=16,fast=false,group=128,wt=u3");
    free(c);
    free(err);
    c = canon(" group = 64 , wt=f4e2m1,fast=true,bm=32", &err);
    cr_assert_not_null(c, "%s", err);
    cr_expect_str_eq(c, "bm=32,fast=true,group=64,wt=f4e2m1");
    free(c);
    free(err);
    /* two spellings of one specialization give one key */
    char *c1 = canon("wt=u4,bm=16", &err);
    free(err);
    char *c2 = canon("bm=0x10,group=128,wt=u4", &err);
    free(err);
    cr_assert(c1 && c2);
    cr_expect_str_eq(c1, c2);
    free(c1);
    free(c2);
}

static void bind_err(const char *spec, const char *want)
{
    char *err;
    char *c = canon(spec, &err);
    cr_expect_null(c, "\"%s\" bound", spec);
    free(c);
    cr_expect_str_eq(err, want);
    free(err);
}

Test(lang_spec, bind_errors)
{
    bind_err("wt=u3,bz=3", "<spec>:1:7: error: unknown key 'bz' for kernel 'mm' (its parameters: "
                           "wt, group, bm, fast)\nwt=u3,bz=3\n      ^\n");
    bind_err("group=64", "k.lpk:1:11: error: the specialization \"group=64\" gives no value for "
                         "'wt', which has no default\n"
                         "kernel mm<wt: dtype, group: int = 128, bm: int = 16, fast: bool = false>(\n"
                         "          ^\n");
    bind_err("wt=3", "<spec>:1:1: error: 'wt' is a dtype parameter: expected a dtype, got '3'\n"
                     "wt=3\n^\n");
    bind_err("wt=u3,fast=1", "<spec>:1:7: error: 'fast' is a bool parameter: expected true or "
                             "false, got '1'\nwt=u3,fast=1\n      ^\n");
    bind_err("wt=u3,bm=true", "<spec>:1:7: error: 'bm' is an int parameter: expected an integer, "
                              "got 'true'\nwt=u3,bm=true\n      ^\n");
}

Test(lang_spec, val_print)
{
    char b[32];
    cr_expect_eq(lang_val_print((LangVal){.kind = LANG_CT_INT, .i = -7}, b, sizeof b), 2);
    cr_expect_str_eq(b, "-7");
    lang_val_print((LangVal){.kind = LANG_CT_BOOL, .i = 1}, b, sizeof b);
    cr_expect_str_eq(b, "true");
    lang_val_print((LangVal){.kind = LANG_CT_DTYPE, .dt = VM_DT_BF16}, b, sizeof b);
    cr_expect_str_eq(b, "bf16");
}

Test(lang_spec, file_spec_lines)
{
    const char *src = "// spec: wt=u3,group=128\n"
                      "kernel a() {}\n"
                      "  // spec:   b : bm=4  \n"
                      "// spec:\n"
                      "x // spec: not=this\n"
                      "// specs: nor=this\n";
    LangSpecLine *v;
    int n = lang_file_specs(src, strlen(src), &v);
    cr_assert_eq(n, 3);
    cr_expect_null(v[0].kernel);
    cr_expect_str_eq(v[0].spec, "wt=u3,group=128");
    cr_expect_eq(v[0].line, 1);
    cr_expect_str_eq(v[1].kernel, "b");
    cr_expect_str_eq(v[1].spec, "bm=4");
    cr_expect_eq(v[1].line, 3);
    cr_expect_null(v[2].kernel);
    cr_expect_str_eq(v[2].spec, "");
    cr_expect_eq(v[2].line, 4);
    lang_spec_lines_free(v, n);
    cr_expect_eq(lang_file_specs("", 0, &v), 0);
    lang_spec_lines_free(v, 0);
}

/* The specialization decides the program: constants fold into it. */
Test(lang_spec, instantiation_folds_constants)
{
    const char *src =
        "kernel k<bm: int = 64, wide: bool = false, dt: dtype = f32>(x: global dt[n])\n"
        "    grid(cdiv(n, bm)) warps(bm / 32)\n"
        "{\n"
        "    if wide {\n"
        "        store_global(x[bid.x * bm : bm], zeros(dt[bm]));\n"
        "    } else {\n"
        "        store_global(x[bid.x * bm : bm / 2], full(dt[bm / 2], 1));\n"
        "    }\n"
        "}\n";
    VmArena *va = vm_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    Prog *p;
    cr_assert_eq(lang_compile(va, src, strlen(src), "k.lpk", "k", "bm=128,dt=f16", &p, &d), LANG_OK,
                 "%s", lang_diags_render(&d));
    Kernel *k = p->kernels[0];
    cr_expect_eq(k->warps, 4);
    char *t = vm_print(p);
    cr_expect(strstr(t, "grid(cdiv(n, 128)) warps(4)"), "%s", t);
    cr_expect(strstr(t, "full(f16[64], 1.0)") || strstr(t, "full(f16[64], 1)"), "%s", t);
    cr_expect(strstr(t, "zeros") == NULL, "the untaken branch is not checked:\n%s", t);
    cr_expect(strstr(t, "x[bid.x * 128 : 64]"), "%s", t);
    cr_expect(strstr(t, "if ") == NULL, "%s", t);
    free(t);
    cr_assert_eq(lang_compile(va, src, strlen(src), "k.lpk", "k", "wide=true", &p, &d), LANG_OK);
    t = vm_print(p);
    cr_expect(strstr(t, "zeros(f32[64])"), "%s", t);
    cr_expect(strstr(t, "warps(2)"), "%s", t);
    free(t);
    lang_diags_free(&d);
    vm_arena_free(va);
}

Test(lang_spec, canonical_from_source)
{
    LangDiags d;
    lang_diags_init(&d);
    char *c;
    cr_assert_eq(lang_canonical_spec(K, strlen(K), "k.lpk", "mm", "wt=u2,bm=32", &c, &d), LANG_OK);
    cr_expect_str_eq(c, "bm=32,fast=false,group=128,wt=u2");
    free(c);
    cr_assert_eq(lang_canonical_spec(K, strlen(K), "k.lpk", NULL, "wt=i4", &c, &d), LANG_OK);
    cr_expect_str_eq(c, "bm=16,fast=false,group=128,wt=i4");
    free(c);
    cr_expect_eq(lang_canonical_spec(K, strlen(K), "k.lpk", "mm", "", &c, &d), LANG_ERR_SPEC);
    cr_expect_null(c);
    cr_expect_eq(lang_canonical_spec(K, strlen(K), "k.lpk", "nn", "wt=u2", &c, &d), LANG_ERR_KERNEL);
    cr_expect_eq(d.n, 2);
    lang_diags_free(&d);
}

/* tests/test_lang.c - the lexer, parser, diagnostics and checker of the
 * kernel language: the AST of a small kernel, locations, rendering with a
 * caret, error recovery, nesting limits, robustness on random input (fixed
 * seed), and checker rules (types, shapes, scopes, implicit shape
 * parameters, control flow). Expected values are written by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

static const char *VADD =
    "// comment\n"
    "kernel vadd<dt: dtype = f32, block: int = 1024>(x: global dt[n], y: global dt[n],\n"
    "                                                z: global dt[n], alpha: f32)\n"
    "    grid(cdiv(n, block)) warps(4)\n"
    "{\n"
    "    let i0 = bid.x * block;\n"
    "    let a = load_global(x[i0 : block]);\n"
    "    store_global(z[i0 : block], a + load_global(y[i0 : block]));\n"
    "}\n";

Test(lang, parse_kernel_ast)
{
    LangArena *a = lang_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    LangSrc src = {"v.lpk", VADD, strlen(VADD)};
    AstFile *f;
    cr_assert(lang_parse(a, &src, &f, &d));
    cr_assert_eq(f->nkernels, 1);
    AstKernel *k = f->kernels[0];
    cr_expect_str_eq(k->name, "vadd");
    cr_expect_eq(k->loc.line, 2);
    cr_expect_eq(k->loc.col, 8);
    cr_assert_eq(k->nct, 2);
    cr_expect_str_eq(k->ct[0].name, "dt");
    cr_expect_eq(k->ct[0].kind, LANG_CT_DTYPE);
    cr_expect_eq(k->ct[1].kind, LANG_CT_INT);
    cr_expect_eq(k->ct[1].def->ival, 1024);
    cr_assert_eq(k->nparams, 4);
    cr_expect(k->params[0].global);
    cr_expect_not(k->params[3].global);
    cr_expect_eq(k->params[2].loc.line, 3);
    cr_expect_eq(k->params[2].loc.col, 49);
    cr_expect_eq(k->params[0].type->kind, AST_INDEX);
    cr_assert_eq(k->nattrs, 2);
    cr_expect_str_eq(k->attrs[0]->a->str, "grid");
    cr_assert_eq(k->body->nstmts, 3);
    Stmt *s0 = k->body->stmts[0];
    cr_expect_eq(s0->kind, ST_LET);
    cr_expect_str_eq(s0->name, "i0");
    cr_expect_eq(s0->e->kind, AST_BINARY);
    cr_expect_eq(s0->e->op, LANG_OP_MUL);
    cr_expect_eq(s0->e->a->kind, AST_MEMBER);
    cr_expect_str_eq(s0->e->a->str, "x");
    Stmt *s2 = k->body->stmts[2];
    cr_expect_eq(s2->kind, ST_EXPR);
    cr_expect_eq(s2->e->kind, AST_CALL);
    cr_expect_eq(s2->e->nargs, 2);
    cr_expect_eq(s2->e->args[0]->kind, AST_INDEX);
    cr_expect_eq(s2->e->args[0]->args[0]->kind, AST_SLICE);
    cr_expect_eq(d.n, 0);
    lang_arena_free(a);
}

Test(lang, precedence_and_annotation)
{
    const char *s = "kernel k() { let v = a + b * c << 2 @ local(2) * spatial(32); }";
    LangArena *a = lang_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    LangSrc src = {"p.lpk", s, strlen(s)};
    AstFile *f;
    cr_assert(lang_parse(a, &src, &f, &d));
    Ast *e = f->kernels[0]->body->stmts[0]->e;
    cr_assert_eq(e->kind, AST_ANNOT);
    cr_expect_eq(e->a->op, LANG_OP_SHL);
    cr_expect_eq(e->a->a->op, LANG_OP_ADD);
    cr_expect_eq(e->a->a->b->op, LANG_OP_MUL);
    cr_expect_eq(e->b->kind, AST_BINARY);
    cr_expect_eq(e->b->op, LANG_OP_MUL);
    cr_expect_eq(e->b->a->kind, AST_CALL);
    lang_arena_free(a);
}

Test(lang, spans_cover_calls)
{
    const char *s = "kernel k() { f(layout(shape=[4], modes=[[4]], spatial=[0], local=[])); }";
    LangArena *a = lang_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    LangSrc src = {"p.lpk", s, strlen(s)};
    AstFile *f;
    cr_assert(lang_parse(a, &src, &f, &d));
    Ast *lit = f->kernels[0]->body->stmts[0]->e->args[0];
    cr_assert_eq(lit->kind, AST_CALL);
    cr_expect_eq(lit->loc.end - lit->loc.off, (int)strlen("layout(shape=[4], modes=[[4]], spatial=[0], local=[])"));
    cr_expect_eq(strncmp(s + lit->loc.off, "layout(", 7), 0);
    lang_arena_free(a);
}

Test(lang, render_with_caret)
{
    LangDiags d;
    lang_diags_init(&d);
    const char *text = "line one\n\tx = y;\nlast";
    LangSrc src = {"f.lpk", text, strlen(text)};
    lang_error(&d, &src, (LangLoc){.line = 2, .col = 6}, "unknown name '%s'", "y");
    lang_error(&d, &src, (LangLoc){.line = 3, .col = 1}, "second");
    lang_error(&d, NULL, (LangLoc){.line = 9, .col = 9}, "no source");
    char *r = lang_diags_render(&d);
    cr_expect_str_eq(r, "f.lpk:2:6: error: unknown name 'y'\n"
                        "\tx = y;\n"
                        "\t    ^\n"
                        "f.lpk:3:1: error: second\n"
                        "last\n"
                        "^\n"
                        "<input>:9:9: error: no source\n");
    free(r);
    lang_diags_free(&d);
    lang_diags_init(&d);
    r = lang_diags_render(&d);
    cr_expect_str_eq(r, "");
    free(r);
}

Test(lang, too_many_errors_are_capped)
{
    LangDiags d;
    lang_diags_init(&d);
    LangSrc src = {"f.lpk", "x", 1};
    for (int i = 0; i < 3 * LANG_MAX_DIAGS; i++)
        lang_error(&d, &src, (LangLoc){.line = 1, .col = 1}, "e%d", i);
    cr_expect_eq(d.n, LANG_MAX_DIAGS);
    cr_expect(d.truncated);
    char *r = lang_diags_render(&d);
    cr_expect(strstr(r, "too many errors") != NULL);
    free(r);
    lang_diags_free(&d);
}

static LangStatus compile(const char *s, const char *spec, char **msg, Prog **p, VmArena *va)
{
    LangDiags d;
    lang_diags_init(&d);
    LangStatus st = lang_compile(va, s, strlen(s), "t.lpk", NULL, spec, p, &d);
    *msg = lang_diags_render(&d);
    lang_diags_free(&d);
    return st;
}

Test(lang, several_errors_per_file)
{
    const char *s = "kernel k(n: i32) grid(1) warps(1) {\n"
                    "    let a = ;\n"
                    "    let b = 1 +;\n"
                    "    let c = ) ;\n"
                    "}\n"
                    "kernel j() { let = 4; }\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_expect_eq(compile(s, "", &msg, &p, va), LANG_ERR_SYNTAX);
    int lines = 0;
    for (char *q = msg; (q = strstr(q, ": error: ")); q++)
        lines++;
    cr_expect_eq(lines, 4, "%s", msg);
    cr_expect(strstr(msg, "t.lpk:2:13: error: syntax error, unexpected ';'"), "%s", msg);
    cr_expect(strstr(msg, "t.lpk:6:18: error: syntax error, unexpected '='"), "%s", msg);
    free(msg);
    vm_arena_free(va);
}

Test(lang, several_check_errors_per_kernel)
{
    const char *s = "kernel k(n: i32, f: f32) grid(1) warps(1) {\n"
                    "    let a = n + f;\n"
                    "    let b = q;\n"
                    "    break;\n"
                    "}\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_expect_eq(compile(s, "", &msg, &p, va), LANG_ERR_CHECK);
    cr_expect(strstr(msg, "t.lpk:2:15: error: type mismatch: i32 + f32"), "%s", msg);
    cr_expect(strstr(msg, "t.lpk:3:13: error: unknown name 'q'"), "%s", msg);
    cr_expect(strstr(msg, "t.lpk:4:5: error: break outside of a loop"), "%s", msg);
    free(msg);
    vm_arena_free(va);
}

Test(lang, deep_nesting_is_an_error)
{
    size_t n = 100000;
    char *s = malloc(3 * n + 64);
    strcpy(s, "kernel k() { let a = ");
    size_t l = strlen(s);
    for (size_t i = 0; i < n; i++)
        s[l++] = '(';
    s[l++] = '1';
    for (size_t i = 0; i < n; i++)
        s[l++] = ')';
    strcpy(s + l, "; }");
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_expect_eq(compile(s, "", &msg, &p, va), LANG_ERR_SYNTAX);
    cr_expect(strstr(msg, "brackets nested deeper than 200"), "%s", msg);
    free(msg);
    /* long operator chains and unary chains do not nest brackets */
    l = strlen("kernel k() { let a = ");
    for (size_t i = 0; i < n; i++) {
        s[l++] = '1';
        s[l++] = '+';
    }
    s[l++] = '1';
    strcpy(s + l, "; }");
    cr_expect_neq(compile(s, "", &msg, &p, va), LANG_OK);
    cr_expect(strstr(msg, "nested deeper"), "%s", msg);
    free(msg);
    l = strlen("kernel k() { let a = ");
    for (size_t i = 0; i < n; i++)
        s[l++] = '-';
    s[l++] = '1';
    strcpy(s + l, "; }");
    cr_expect_neq(compile(s, "", &msg, &p, va), LANG_OK);
    free(msg);
    free(s);
    vm_arena_free(va);
}

/* Random bytes and random mutations of a valid kernel: every run ends with a
 * status and diagnostics, never a crash (ASan runs find the rest). */
Test(lang, random_input_never_crashes)
{
    uint64_t x = 0x9E3779B97F4A7C15ull;
    const char *alphabet = "kernel let var for in range while if else break continue global "
                           "(){}[]<>=;:,.@+-*/%&|^!~ 0123456789 abc x y f16 u3 \"s\" // \n";
    size_t alen = strlen(alphabet), vlen = strlen(VADD);
    char buf[512];
    for (int it = 0; it < 3000; it++) {
        size_t n;
        if (it % 2 == 0) {
            n = 1 + (it % 300);
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[i] = it % 4 == 0 ? (char)(x & 0xff) : alphabet[x % alen];
            }
        } else {
            n = vlen < sizeof buf ? vlen : sizeof buf;
            memcpy(buf, VADD, n);
            for (int m = 0; m < 3; m++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[x % n] = alphabet[(x >> 20) % alen];
            }
        }
        VmArena *va = vm_arena_new();
        LangDiags d;
        lang_diags_init(&d);
        Prog *p = NULL;
        LangStatus st = lang_compile(va, buf, n, "r.lpk", NULL, it % 3 ? "" : "block=64", &p, &d);
        cr_assert(st == LANG_OK ? p != NULL && d.n == 0 : p == NULL && d.n > 0,
                  "iteration %d: status %d with %d diagnostics", it, st, d.n);
        char *r = lang_diags_render(&d);
        free(r);
        if (p) {
            char *t = vm_print(p);
            free(t);
        }
        lang_diags_free(&d);
        vm_arena_free(va);
    }
}

Test(lang, implicit_shape_parameters)
{
    const char *s = "kernel k(x: global f16[m, k], s: global f16[k / 32, n], y: global f32[m, n],\n"
                    "         n2: i32)\n"
                    "    grid(cdiv(n, 64), m) warps(2)\n"
                    "{\n"
                    "}\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_assert_eq(compile(s, "", &msg, &p, va), LANG_OK, "%s", msg);
    free(msg);
    Kernel *k = p->kernels[0];
    cr_expect_eq(k->warps, 2);
    cr_expect_eq(k->ngrid, 2);
    /* shape identifiers join where first used, before their tensor */
    const char *names[] = {"m", "k", "x", "n", "s", "y", "n2"};
    const bool implicit[] = {true, true, false, true, false, false, false};
    cr_assert_eq(k->nparams, 7);
    for (int i = 0; i < 7; i++) {
        cr_expect_str_eq(k->params[i]->name, names[i]);
        cr_expect_eq(k->params[i]->implicit, implicit[i], "%s", names[i]);
    }
    cr_assert_eq(k->params[4]->kind, VM_P_TENSOR);
    cr_expect_eq(k->params[4]->shape[0]->kind, VM_E_BINARY);
    cr_expect_eq(k->params[6]->dtype, VM_DT_I32);
    vm_arena_free(va);
}

Test(lang, control_flow_and_vars)
{
    const char *s = "kernel k(x: global f32[n], steps: i32) grid(1) warps(1) {\n"
                    "    var acc = zeros(f32[32]);\n"
                    "    var i = 0;\n"
                    "    while i < steps {\n"
                    "        i += 1;\n"
                    "        if i % 2 == 0 { continue; } else if i > 100 { break; }\n"
                    "        for j in range(0, n, 32) {\n"
                    "            acc = acc + load_global(x[j : 32]);\n"
                    "        }\n"
                    "        for j in range(4) { acc *= 0.5; }\n"
                    "    }\n"
                    "    store_global(x[0 : 32], acc);\n"
                    "}\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_assert_eq(compile(s, "", &msg, &p, va), LANG_OK, "%s", msg);
    free(msg);
    char *t = vm_print(p);
    cr_expect(strstr(t, "    var i = 0;\n    while i < steps {\n        i = i + 1;\n"), "%s", t);
    cr_expect(strstr(t, "for j_v"), "two loops named j get distinct names:\n%s", t);
    cr_expect(strstr(t, "} else {\n            if i > 100 {\n                break;\n"), "%s", t);
    cr_expect(strstr(t, "range(0, 4, 1)"), "%s", t);
    free(t);
    vm_arena_free(va);
}

static void expect_error(const char *body, const char *want)
{
    char s[2048];
    snprintf(s, sizeof s,
             "kernel k(x: global f32[n], h: global f16[n], i: global i32[n], m: i32)\n"
             "    grid(1) warps(1)\n{\n%s\n}\n",
             body);
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_expect_neq(compile(s, "", &msg, &p, va), LANG_OK, "no error for: %s", body);
    cr_expect(strstr(msg, want), "for:\n%s\nwanted '%s', got:\n%s", body, want, msg);
    free(msg);
    vm_arena_free(va);
}

Test(lang, checker_rules)
{
    expect_error("let a = load_global(x[0 : 32]) + load_global(h[0 : 32]);",
                 "type mismatch: f32 + f16");
    expect_error("let a = load_global(i[0 : 32]) + 0.5;", "cannot convert the float literal 0.5 to i32");
    expect_error("let a = load_global(x[0 : 32]) + m;", "type mismatch: a i32 scalar with a f32 tensor");
    expect_error("let a = load_global(x[0 : 32]) && true;", "'&&' needs scalars");
    expect_error("let a = exp(load_global(i[0 : 32]));", "exp needs a float tensor, got i32");
    expect_error("let a = x + 1.0;", "'x' is a global tensor: load it first (load_global)");
    expect_error("let a = load_global(x[0 : 32], bogus = 1);", "load_global has no argument 'bogus'");
    expect_error("let a = load_global(x[0 : 32], mask = load_global(x[0 : 32]));",
                 "mask must be a bool tensor, got f32");
    expect_error("let a = zeros(f32[32]); let b = a[30 : 4];", "[30 : 4] is out of range for dim 0 of size 32");
    expect_error("let a = reduce_sum(zeros(f32[4, 4]), 2);", "the dim 2 out of range [0, 1]");
    expect_error("let a = reshape(zeros(f32[4, 4]), [3, 5]);", "changes the element count");
    expect_error("let a = cast(m, f16);", "a scalar casts to i32, i64, f32 or bool, not f16");
    expect_error("let a = bid.w;", "'bid' has no member 'w'");
    expect_error("let f16 = 3;", "'f16' is a reserved name");
    expect_error("if m { }", "a condition must be a bool, got i32");
    expect_error("for j in range(0, 10, 0) { }", "a range step of 0");
    expect_error("let a = range(4);", "range(...) is only valid in a for loop");
    expect_error("let a = zeros(f32[m]);", "a register or shared shape must be constant");
    expect_error("let l = local(4) * spatial(8); let a = zeros(f32[32]) @ l;",
                 "the layout has 8 threads but the block has 32");
    expect_error("let a = mma_m16n8k16(f32);", "mma_m16n8k16 takes 16-bit operands, not f32");
    expect_error("let s = shared_alloc(f16[4, 12], swizzled_row_major);", "does not fit");
    expect_error("sync(1);", "sync takes 0 arguments, got 1");
    expect_error("let a = 1 / 0;", "division by zero in a constant expression");
    expect_error("let a = m; a = 3;", "cannot assign to 'a'");
    expect_error("var a = m; a = 1.5;", "cannot convert the float literal 1.5 to i32");
    expect_error("let a = topk(zeros(f32[4, 8]), 9, 1);", "k 9 out of range [1, 8]");
    expect_error("let a = load_scalar(x[0 : 2]);", "load_scalar needs one element");
    expect_error("let a = workspace(f32[n]); if m > 0 { let b = workspace(f32[n]); }",
                 "workspace is only allowed at the top level");
}

Test(lang, list_kernels)
{
    const char *s = "kernel a() {}\nkernel b<t: int = 1>(x: global f32[n]) grid(1) warps(1) {}\n";
    char **names;
    int n;
    LangDiags d;
    lang_diags_init(&d);
    cr_assert_eq(lang_list_kernels(s, strlen(s), "f", &names, &n, &d), LANG_OK);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(names[0], "a");
    cr_expect_str_eq(names[1], "b");
    lang_free_names(names, n);
    VmArena *va = vm_arena_new();
    Prog *p;
    cr_expect_eq(lang_compile(va, s, strlen(s), "f", "c", "", &p, &d), LANG_ERR_KERNEL);
    char *r = lang_diags_render(&d);
    cr_expect(strstr(r, "no kernel named 'c' in this file"), "%s", r);
    free(r);
    lang_diags_free(&d);
    lang_diags_init(&d);
    cr_expect_eq(lang_compile(va, s, strlen(s), "f", "b", "t=3", &p, &d), LANG_OK);
    cr_expect_str_eq(p->kernels[0]->name, "b");
    lang_diags_free(&d);
    vm_arena_free(va);
}

Test(lang, print_scalar_expressions)
{
    const char *s = "kernel k(x: global f32[n], a: i32, b: i32, f: f32, l: i64) grid(1) warps(1) {\n"
                    "    let e1 = (a + b) * (a - b) - -a;\n"
                    "    let e2 = a - (b - 1);\n"
                    "    let e3 = !(a < b) && (a == b || b != 0);\n"
                    "    let e4 = min(cdiv(a, 4), max(b, 2)) << 1 | 3;\n"
                    "    let e5 = select(a > 0, f * 2.0, -f) / 0.25;\n"
                    "    let e6 = l + 1;\n"
                    "    let e7 = cast(a, f32) + 1e30 + cast(e6, f32);\n"
                    "}\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_assert_eq(compile(s, "", &msg, &p, va), LANG_OK, "%s", msg);
    free(msg);
    char *t = vm_print(p);
    cr_expect(strstr(t, "let e1 = (a + b) * (a - b) - -a;"), "%s", t);
    cr_expect(strstr(t, "let e2 = a - (b - 1);"), "%s", t);
    cr_expect(strstr(t, "let e3 = !(a < b) && (a == b || b != 0);"), "%s", t);
    cr_expect(strstr(t, "let e4 = min(cdiv(a, 4), max(b, 2)) << 1 | 3;"), "%s", t);
    cr_expect(strstr(t, "let e5 = select(a > 0, f * 2.0, -f) / 0.25;"), "%s", t);
    cr_expect(strstr(t, "let e6 = l + cast(1, i64);"), "%s", t);
    cr_expect(strstr(t, "let e7 = cast(a, f32) + 1e+30 + cast(e6, f32);"), "%s", t);
    free(t);
    vm_arena_free(va);
}

/* A var's operand reads the var's current contents where it is used; a let
 * of a var takes a copy at the let. */
Test(lang, let_of_var_is_a_snapshot)
{
    const char *s = "kernel k(x: global f32[n]) grid(1) warps(1) {\n"
                    "    var acc = zeros(f32[32]);\n"
                    "    let old = acc;\n"
                    "    acc = acc + 1.0;\n"
                    "    store_global(x[0 : 32], old + acc);\n"
                    "}\n";
    VmArena *va = vm_arena_new();
    Prog *p;
    char *msg;
    cr_assert_eq(compile(s, "", &msg, &p, va), LANG_OK, "%s", msg);
    free(msg);
    char *t = vm_print(p);
    cr_expect(strstr(t, "    var acc = _1;\n    let old = broadcast(acc, [32]) @ "), "%s", t);
    cr_expect(strstr(t, "= old + acc @ "), "%s", t);
    free(t);
    vm_arena_free(va);
}

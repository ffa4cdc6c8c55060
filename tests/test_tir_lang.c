/* tests/test_tir_lang.c - the front end's example programs (tests/lang/
 * *.lpk, every kernel for every "// spec:" line) go through cg_lower: each
 * lowers, or fails only with "not supported by the plain lowering yet"
 * diagnostics; the lowered TIR verifies and round-trips through its text. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "tests/lang_util.h"

static void lower_file(const char *name, int *lowered, int *unsupported)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/lang/%s", tl_root(), name);
    size_t len = 0;
    char *src = tl_read(path, &len);
    cr_assert_not_null(src, "cannot read %s", path);
    LangSpecLine *specs;
    int ns = lang_file_specs(src, len, &specs);
    char **kn;
    int nk = 0;
    LangDiags ld;
    lang_diags_init(&ld);
    cr_assert_eq(lang_list_kernels(src, len, name, &kn, &nk, &ld), LANG_OK);
    for (int k = 0; k < nk; k++)
        for (int s = 0; s < (ns ? ns : 1); s++) {
            if (ns && specs[s].kernel && strcmp(specs[s].kernel, kn[k]))
                continue;
            VmArena *a = vm_arena_new();
            Prog *p = NULL;
            LangDiags d;
            lang_diags_init(&d);
            LangStatus st = lang_compile(a, src, len, name, kn[k], ns ? specs[s].spec : "", &p, &d);
            lang_diags_free(&d);
            if (st != LANG_OK) {
                vm_arena_free(a);
                continue; /* a spec meant for another kernel */
            }
            VmDiags vd;
            vm_diags_init(&vd, a);
            TirKernel *t = NULL;
            CgStatus cs = cg_lower(p->kernels[0], NULL, a, &t, &vd);
            if (cs == CG_OK) {
                char err[256];
                cr_expect(tir_verify(t, err, sizeof err), "%s %s: %s", name, kn[k], err);
                char *s1 = tir_print_alloc(t);
                TirKernel *back;
                cr_expect(tir_parse(a, s1, &back, err, sizeof err), "%s %s: %s", name, kn[k], err);
                free(s1);
                (*lowered)++;
            } else {
                for (int j = 0; j < vd.n; j++)
                    if (getenv("LPVM_TIR_VERBOSE"))
                        fprintf(stderr, "%s %s: %s\n", name, kn[k], vd.v[j].msg);
                for (int j = 0; j < vd.n; j++)
                    cr_expect(strstr(vd.v[j].msg, "not supported by the plain lowering yet"),
                              "%s %s: %s", name, kn[k], vd.v[j].msg);
                (*unsupported)++;
            }
            vm_arena_free(a);
        }
    lang_free_names(kn, nk);
    lang_diags_free(&ld);
    lang_spec_lines_free(specs, ns);
    free(src);
}

Test(tir_lang, example_programs_lower)
{
    int lowered = 0, unsupported = 0;
    lower_file("control.lpk", &lowered, &unsupported);
    lower_file("instructions.lpk", &lowered, &unsupported);
    lower_file("layouts.lpk", &lowered, &unsupported);
    cr_expect_geq(lowered, 3, "lowered %d kernel specializations (%d unsupported)", lowered,
                  unsupported);
}

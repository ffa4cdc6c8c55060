/* tests/test_lang_golden.c - every invalid program under tests/lang/invalid
 * fails to compile with exactly the diagnostics of its golden .err file (the
 * full rendered text: location, message, source line, caret). A file's first
 * "// spec:" line gives the specialization to use. Regenerate the goldens
 * after a deliberate change and review the diff:
 *   make build/tests/lpvm-tests &&
 *   LPVM_REGEN=1 build/tests/lpvm-tests --filter 'lang_golden/invalid_programs' */
#include <criterion/criterion.h>

#include "lang/lang.h"
#include "tests/lang_util.h"

Test(lang_golden, invalid_programs)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/lang/invalid", tl_root());
    char **files;
    int n = tl_list(dir, ".lpk", &files);
    cr_assert_geq(n, 30, "expected at least 30 invalid programs in %s, found %d", dir, n);
    bool regen = getenv("LPVM_REGEN") && !strcmp(getenv("LPVM_REGEN"), "1");
    for (int i = 0; i < n; i++) {
        char path[1200], errpath[1200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(errpath, sizeof errpath, "%s/%.*s.err", dir, (int)strlen(files[i]) - 4, files[i]);
        size_t len;
        char *src = tl_read(path, &len);
        cr_assert_not_null(src, "cannot read %s", path);
        LangSpecLine *specs;
        int ns = lang_file_specs(src, len, &specs);
        LangDiags d;
        lang_diags_init(&d);
        VmArena *va = vm_arena_new();
        Prog *p = NULL;
        LangStatus st = lang_compile(va, src, len, files[i], NULL, ns ? specs[0].spec : "", &p, &d);
        cr_expect_neq(st, LANG_OK, "%s compiled without an error", files[i]);
        cr_expect_null(p, "%s: no program on error", files[i]);
        cr_expect_gt(d.n, 0, "%s: no diagnostics", files[i]);
        char *got = lang_diags_render(&d);
        if (regen) {
            FILE *f = fopen(errpath, "wb");
            cr_assert_not_null(f, "cannot write %s", errpath);
            fputs(got, f);
            fclose(f);
        } else {
            char *want = tl_read(errpath, NULL);
            cr_expect_not_null(want, "missing golden %s (LPVM_REGEN=1 regenerates)", errpath);
            if (want)
                cr_expect_str_eq(got, want, "%s: diagnostics differ from %s", files[i], errpath);
            free(want);
        }
        free(got);
        lang_diags_free(&d);
        vm_arena_free(va);
        lang_spec_lines_free(specs, ns);
        free(src);
    }
    tl_free_list(files, n);
}

/* Each golden names one error class: its first line is the first error. */
Test(lang_golden, one_class_per_file)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/lang/invalid", tl_root());
    char **files;
    int n = tl_list(dir, ".err", &files);
    cr_assert_geq(n, 30);
    for (int i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *t = tl_read(path, NULL);
        cr_assert_not_null(t);
        cr_expect(strstr(t, ": error: ") != NULL, "%s has no error line", files[i]);
        free(t);
    }
    tl_free_list(files, n);
}

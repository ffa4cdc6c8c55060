/* tests/fuzz/fuzz_lang.c - libFuzzer harness for the language front end.
 *
 * Input: any bytes, taken as a kernel file; its first "// spec:" line (if
 * any) is the specialization. Every input must end in a status with
 * diagnostics, never a crash, hang or leak; a program that compiles must
 * print, compile again and print the same text (the round trip).
 *
 * Not part of the Criterion binary: `make fuzz` builds it with clang,
 * libFuzzer, ASan and UBSan and runs it on tests/fuzz/corpus (the
 * repository's kernels and invalid programs) with tests/fuzz/lang.dict;
 * `make fuzz-smoke` runs it for 60 s (CI). Reproducers land in
 * tests/fuzz/crashes/. */
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *src = (const char *)data;
    LangSpecLine *specs;
    int ns = lang_file_specs(src, size, &specs);
    VmArena *va = vm_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    Prog *p = NULL;
    LangStatus st = lang_compile(va, src, size, "f.lpk", NULL, ns ? specs[0].spec : "", &p, &d);
    if ((st == LANG_OK) != (p != NULL) || (st != LANG_OK && d.n == 0))
        abort();
    free(lang_diags_render(&d));
    if (p) {
        char *t1 = vm_print(p);
        VmArena *vb = vm_arena_new();
        LangDiags d2;
        lang_diags_init(&d2);
        Prog *p2;
        if (lang_compile(vb, t1, strlen(t1), "p.lpk", NULL, "", &p2, &d2) != LANG_OK)
            abort();
        char *t2 = vm_print(p2);
        if (strcmp(t1, t2))
            abort();
        free(t1);
        free(t2);
        lang_diags_free(&d2);
        vm_arena_free(vb);
    }
    lang_diags_free(&d);
    vm_arena_free(va);
    lang_spec_lines_free(specs, ns);
    return 0;
}

/* tools/cli_kernel.c - `lpvm check`, `lpvm print` and `lpvm compile`: the
 * front half of the pipeline from the command line, through the public API
 * only. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

int cli_parse(int argc, char **argv, CliOpts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *val = NULL;
        if (!strcmp(a, "--interp") || !strcmp(a, "--aligned")) {
            *(a[2] == 'i' ? &o->interp : &o->aligned) = 1;
            continue;
        }
        static const struct {
            const char *flag;
            size_t off;
        } flags[] = {
            {"-k", offsetof(CliOpts, kernel)},     {"--kernel", offsetof(CliOpts, kernel)},
            {"--spec", offsetof(CliOpts, spec)},   {"--arch", offsetof(CliOpts, arch)},
            {"--emit", offsetof(CliOpts, emit)},   {"--dump", offsetof(CliOpts, dump)},
            {"--show", offsetof(CliOpts, show)},
            {"--backend", 0},                      {"--arg", 0},
            {"--out", 0},
        };
        size_t f = 0;
        for (; f < sizeof flags / sizeof flags[0]; f++) {
            size_t n = strlen(flags[f].flag);
            if (!strncmp(a, flags[f].flag, n) && (a[n] == 0 || a[n] == '=')) {
                val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                break;
            }
        }
        if (f == sizeof flags / sizeof flags[0]) {
            if (a[0] == '-' || o->file) {
                fprintf(stderr, "lpvm: unexpected argument '%s'\n", a);
                return 2;
            }
            o->file = a;
            continue;
        }
        if (!val) {
            fprintf(stderr, "lpvm: %s needs a value\n", flags[f].flag);
            return 2;
        }
        if (!strcmp(flags[f].flag, "--backend")) {
            if (!strcmp(val, "llvm"))
                o->backend = LPVM_BACKEND_LLVM;
            else if (!strcmp(val, "nvrtc"))
                o->backend = LPVM_BACKEND_NVRTC;
            else {
                fprintf(stderr, "lpvm: --backend is llvm or nvrtc, not '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(flags[f].flag, "--arg") || !strcmp(flags[f].flag, "--out")) {
            int is_arg = flags[f].flag[2] == 'a';
            int *n = is_arg ? &o->nargs : &o->nouts;
            if (*n == CLI_MAX_PAIRS || !strchr(val, '=')) {
                fprintf(stderr, "lpvm: %s takes NAME=VALUE (at most %d)\n", flags[f].flag, CLI_MAX_PAIRS);
                return 2;
            }
            (is_arg ? o->args : o->outs)[(*n)++] = val;
        } else {
            slot = (const char **)((char *)o + flags[f].off);
            *slot = val;
        }
    }
    if (!o->file) {
        fprintf(stderr, "lpvm: no kernel file given\n");
        return 2;
    }
    return 0;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lpvm: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len - 1 == 0) {
            char *p = realloc(buf, cap *= 2);
            if (!p)
                free(buf);
            buf = p;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "lpvm: %s: %s\n", path, bad ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    if (memchr(buf, 0, len)) {
        fprintf(stderr, "lpvm: %s: not a text file (NUL byte)\n", path);
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

int cli_fail(lpvm_context *ctx, lpvm_status st, const char *what)
{
    const char *msg = lpvm_error_message(ctx);
    if (*msg) {
        fputs(msg, stderr);
        if (msg[strlen(msg) - 1] != '\n')
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "lpvm: %s: %s\n", what, lpvm_status_string(st));
    }
    return 1;
}

/* A context for the front half: the interpreter unless a GPU is asked for. */
static lpvm_context *open_ctx(const CliOpts *o, lpvm_device dev)
{
    lpvm_options opt = {.device = dev, .backend = o->backend, .arch = o->arch};
    lpvm_context *ctx = NULL;
    lpvm_status st = lpvm_context_create(&opt, &ctx);
    if (st != LPVM_OK) {
        cli_fail(ctx, st, "context");
        lpvm_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/* Loads o->file into a module of ctx; NULL with the diagnostics printed. */
static lpvm_module *load(lpvm_context *ctx, const CliOpts *o)
{
    char *src = cli_read_file(o->file);
    if (!src)
        return NULL;
    lpvm_module *m = NULL;
    lpvm_status st = lpvm_module_load(ctx, src, o->file, &m);
    free(src);
    if (st != LPVM_OK)
        cli_fail(ctx, st, o->file);
    return m;
}

/* Checks every kernel at each `// spec:` line that applies to it (at its
 * defaults when none does), or the one kernel/spec asked for. */
int cli_check(int argc, char **argv)
{
    CliOpts o;
    if (cli_parse(argc, argv, &o))
        return 2;
    lpvm_context *ctx = open_ctx(&o, LPVM_DEVICE_INTERP);
    if (!ctx)
        return 1;
    lpvm_module *m = load(ctx, &o);
    int errors = !m, checked = 0;
    for (int i = 0; m && i < lpvm_module_kernel_count(m); i++) {
        const char *name = lpvm_module_kernel_name(m, i);
        if (o.kernel && strcmp(o.kernel, name))
            continue;
        int used = 0;
        for (int s = -1; s < lpvm_module_spec_count(m); s++) {
            const char *for_kernel = NULL;
            const char *spec = s < 0 ? o.spec : lpvm_module_spec(m, s, &for_kernel);
            if (s < 0 && !o.spec)
                continue;
            if (s >= 0 && (o.spec || (for_kernel && strcmp(for_kernel, name))))
                continue;
            lpvm_kernel *k;
            lpvm_status st = lpvm_kernel_get(m, name, spec, &k);
            errors += st != LPVM_OK;
            if (st != LPVM_OK)
                cli_fail(ctx, st, name);
            used = 1, checked++;
        }
        if (!used) {
            lpvm_kernel *k;
            lpvm_status st = lpvm_kernel_get(m, name, NULL, &k);
            errors += st != LPVM_OK;
            if (st != LPVM_OK)
                cli_fail(ctx, st, name);
            checked++;
        }
    }
    if (m && !errors)
        printf("%s: %d kernel instance%s checked, no errors\n", o.file, checked, checked == 1 ? "" : "s");
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    return errors ? 1 : 0;
}

static int print_text(const CliOpts *o, lpvm_text what)
{
    lpvm_context *ctx = open_ctx(o, LPVM_DEVICE_INTERP);
    if (!ctx)
        return 1;
    lpvm_module *m = load(ctx, o);
    int rc = 1;
    lpvm_kernel *k;
    lpvm_status st;
    uint64_t div16 = o->aligned ? LPVM_DIV16_ALL : 0;
    if (m && (st = lpvm_kernel_get(m, o->kernel, o->spec, &k)) != LPVM_OK) {
        cli_fail(ctx, st, o->file);
    } else if (m) {
        static const struct {
            const char *name;
            lpvm_text what;
        } stages[] = {{"ir", LPVM_TEXT_SOURCE}, {"layout", LPVM_TEXT_SOURCE}, {"tir", LPVM_TEXT_TIR},
                      {"llvm", LPVM_TEXT_LLVM},  {"cuda", LPVM_TEXT_CUDA},       {"ptx", LPVM_TEXT_PTX}};
        rc = 0;
        for (size_t i = 0; o->dump && i < sizeof stages / sizeof stages[0]; i++) {
            if (!strstr(o->dump, stages[i].name))
                continue;
            char *text = NULL;
            if ((st = lpvm_kernel_text_variant(k, stages[i].what, div16, &text)) != LPVM_OK) {
                rc = cli_fail(ctx, st, stages[i].name);
                break;
            }
            fprintf(stderr, "==== %s ====\n%s\n", stages[i].name, text);
            lpvm_free(text);
        }
        char *text = NULL;
        if (!rc && (st = lpvm_kernel_text_variant(k, what, div16, &text)) != LPVM_OK)
            rc = cli_fail(ctx, st, o->file);
        else if (!rc)
            fputs(text, stdout);
        lpvm_free(text);
    }
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    return rc;
}

int cli_print(int argc, char **argv)
{
    CliOpts o;
    return cli_parse(argc, argv, &o) ? 2 : print_text(&o, LPVM_TEXT_SOURCE);
}

int cli_compile(int argc, char **argv)
{
    CliOpts o;
    if (cli_parse(argc, argv, &o))
        return 2;
    static const struct {
        const char *name;
        lpvm_text what;
    } emits[] = {{"ptx", LPVM_TEXT_PTX}, {"llvm", LPVM_TEXT_LLVM}, {"tir", LPVM_TEXT_TIR},
                 {"cuda", LPVM_TEXT_CUDA}, {"source", LPVM_TEXT_SOURCE}};
    const char *emit = o.emit ? o.emit : "ptx";
    for (size_t i = 0; i < sizeof emits / sizeof emits[0]; i++)
        if (!strcmp(emit, emits[i].name))
            return print_text(&o, emits[i].what);
    fprintf(stderr, "lpvm: --emit is ptx, llvm, tir, cuda or source, not '%s'\n", emit);
    return 2;
}

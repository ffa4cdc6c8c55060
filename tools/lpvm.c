/* tools/lpvm.c - the `lpvm` command line. One table of subcommands; each
 * is a thin layer over the public API (include/lpvm.h), so everything the
 * command line does a host program can do too. Exit status: 0 success,
 * 1 a user error (message on stderr), 2 a usage error. */
#include <stdio.h>
#include <string.h>

#include "lpvm.h"
#include "tools/cli.h"

typedef int (*CmdFn)(int argc, char **argv);

static int usage(void);

/* Print text the library returned (a table, a picture or an error) and
 * free it; failures go to stderr. */
static int emit(lpvm_status st, char *text)
{
    if (st == LPVM_OK) {
        if (text)
            fputs(text, stdout);
    } else if (text) {
        fputs(text, stderr);
    } else {
        fprintf(stderr, "lpvm: %s\n", lpvm_status_string(st));
    }
    lpvm_free(text);
    return st == LPVM_OK ? 0 : 1;
}

static int cmd_dtypes(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage();
    char *text = NULL;
    lpvm_status st = lpvm_dtype_table(&text);
    return emit(st, text);
}

static int cmd_layout(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    char *text = NULL;
    lpvm_status st = lpvm_layout_picture(argv[1], &text);
    return emit(st, text);
}

static int cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("lpvm %s\n", lpvm_version());
    return 0;
}

static int cmd_check(int argc, char **argv) { return cli_check(argc, argv); }
static int cmd_print(int argc, char **argv) { return cli_print(argc, argv); }
static int cmd_compile(int argc, char **argv) { return cli_compile(argc, argv); }
static int cmd_run(int argc, char **argv) { return cli_run(argc, argv); }

#define COMMANDS(X)                                                                  \
    X(check, "FILE.lpk [-k K] [--spec S]", "diagnostics only (every // spec: line)")     \
    X(print, "FILE.lpk [-k K] [--spec S]", "canonical source after specialization and layouts") \
    X(compile, "FILE.lpk [-k K] [--spec S] [--backend llvm|nvrtc] [--arch sm_90] [--emit ptx|llvm|tir|cuda] [--dump ir,tir,ptx] [--aligned]", "generated code (--aligned: the variant for launches with every address and integer a multiple of 16)") \
    X(run, "FILE.lpk [-k K] [--spec S] [--interp] [--backend B] --arg NAME=VALUE... [--out NAME=FILE.npy] [--show NAME]", "run one launch (GPU, else the interpreter)") \
    X(dtypes, "", "the dtype table: bits, kind, range, smallest value, exact integers") \
    X(layout, "\"EXPR\"", "the ownership picture of a 2-D register layout")           \
    X(version, "", "the version")

static const struct {
    const char *name, *args, *help;
    CmdFn fn;
} commands[] = {
#define X(n, a, h) {#n, a, h, cmd_##n},
    COMMANDS(X)
#undef X
};

static int usage(void)
{
    fprintf(stderr, "usage: lpvm COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(stderr, "  lpvm %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
    }
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage();
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lpvm: unknown command '%s'\n", argv[1]);
    return usage();
}

/* tools/cli.h - shared pieces of the lpvm command line's subcommands. */
#ifndef LPVM_TOOLS_CLI_H
#define LPVM_TOOLS_CLI_H

#include "lpvm.h"

enum { CLI_MAX_PAIRS = 64 };

/* The options every kernel subcommand understands. */
typedef struct {
    const char *file, *kernel, *spec, *arch, *emit, *dump, *show;
    lpvm_backend backend;
    int interp;
    int aligned; /* compile: the variant for all-multiple-of-16 launches */
    int nargs, nouts;
    const char *args[CLI_MAX_PAIRS]; /* NAME=VALUE */
    const char *outs[CLI_MAX_PAIRS]; /* NAME=FILE.npy */
} CliOpts;

/* Parses argv (after the subcommand); returns 0 or prints a message and
 * returns 2. */
int cli_parse(int argc, char **argv, CliOpts *o);
/* The whole file, NUL-terminated, malloc'd; NULL with a message printed. */
char *cli_read_file(const char *path);
/* Prints the context's error (or the status) to stderr; returns 1. */
int cli_fail(lpvm_context *ctx, lpvm_status st, const char *what);

int cli_check(int argc, char **argv);
int cli_print(int argc, char **argv);
int cli_compile(int argc, char **argv);
int cli_run(int argc, char **argv);

#endif

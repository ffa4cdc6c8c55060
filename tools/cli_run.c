/* tools/cli_run.c - `lpvm run`: one launch of a kernel with arguments from
 * the command line, on the GPU when one is present (or --interp for the
 * interpreter), outputs written as .npy.
 *
 *   --arg NAME=FILE.npy          a tensor; its shape binds the kernel's
 *                                shape identifiers
 *   --arg NAME=FILE.npy:DIMS     a packed sub-byte tensor (1-D u8 bytes)
 *                                with its logical shape, e.g. :4096x1024
 *   --arg NAME=random:SEED:DIMS  random contents (lpvm_fill_random)
 *   --arg NAME=zeros:DIMS        zero-filled (an output)
 *   --arg NAME=VALUE             a scalar (i32, i64, f32)
 *   --show NAME                  print the tensor's first elements after
 *                                the launch
 *   --out NAME=FILE.npy          a tensor argument written back after the
 *                                launch (bf16/f8 as raw u16/u8 bits, packed
 *                                sub-byte tensors as 1-D u8 bytes) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/npy.h"

typedef struct {
    lpvm_param_info p;
    const char *value; /* the --arg text after NAME= */
    lpvm_buffer *buf;
    int64_t numel;
} RunArg;

static const char *find_pair(const char *const *pairs, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (!strncmp(pairs[i], name, len) && pairs[i][len] == '=')
            return pairs[i] + len + 1;
    return NULL;
}

/* "64x128" -> shape; 0 on success. */
static int parse_dims(const char *s, lpvm_arg *a)
{
    a->rank = 0;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || a->rank == LPVM_MAX_RANK)
            return -1;
        a->shape[a->rank++] = v;
        s = end;
        if (*s == 'x' || *s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

static int64_t numel_of(const lpvm_arg *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++)
        n *= a->shape[i];
    return n;
}

/* Builds the tensor argument for r from a file or random data. */
static int tensor_arg(lpvm_context *ctx, RunArg *r, lpvm_arg *a)
{
    const char *v = r->value;
    const char *name = r->p.name;
    *a = lpvm_arg_tensor(NULL, r->p.dtype, 0, NULL);
    void *host = NULL;
    size_t nbytes = 0;
    if (!strncmp(v, "zeros:", 6)) {
        if (parse_dims(v + 6, a)) {
            fprintf(stderr, "lpvm: --arg %s=zeros:DIMS (e.g. zeros:64x128), not '%s'\n", name, v);
            return -1;
        }
        nbytes = lpvm_dtype_bytes(r->p.dtype, numel_of(a));
        host = calloc(1, nbytes ? nbytes : 1);
        if (!host) {
            fprintf(stderr, "lpvm: --arg %s: out of memory\n", name);
            return -1;
        }
    } else if (!strncmp(v, "random:", 7)) {
        char *end;
        unsigned long long seed = strtoull(v + 7, &end, 10);
        if (*end != ':' || parse_dims(end + 1, a)) {
            fprintf(stderr, "lpvm: --arg %s=random:SEED:DIMS (e.g. random:1:64x128), not '%s'\n", name, v);
            return -1;
        }
        nbytes = lpvm_dtype_bytes(r->p.dtype, numel_of(a));
        host = calloc(1, nbytes ? nbytes : 1);
        if (!host || lpvm_fill_random(host, r->p.dtype, numel_of(a), seed) != LPVM_OK) {
            free(host);
            fprintf(stderr, "lpvm: --arg %s: cannot make random data\n", name);
            return -1;
        }
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s", v);
        char *colon = strstr(path, ".npy:");
        const char *dims = NULL;
        if (colon) {
            colon[4] = 0;
            dims = colon + 5;
        }
        Npy n;
        char err[512];
        if (npy_load(path, &n, err, sizeof err)) {
            fprintf(stderr, "lpvm: --arg %s: %s\n", name, err);
            return -1;
        }
        char kind;
        int itemsize;
        npy_kind_for(r->p.dtype, r->p.bits, &kind, &itemsize);
        int packed = r->p.bits < 8;
        if (n.kind != kind || n.itemsize != itemsize || (packed && n.rank != 1)) {
            fprintf(stderr, "lpvm: --arg %s: %s holds %s%s, the kernel's %s needs %s%c%d%s\n", name, path,
                    npy_dtype_name(&n) ? npy_dtype_name(&n) : "an unsupported dtype",
                    packed && n.rank != 1 ? " of rank > 1" : "", r->p.dtype, packed ? "a 1-D array of " : "",
                    kind, itemsize * 8, packed ? " bytes" : "");
            npy_free(&n);
            return -1;
        }
        if (dims ? parse_dims(dims, a) : 0) {
            fprintf(stderr, "lpvm: --arg %s: bad shape '%s' (e.g. 64x128)\n", name, dims);
            npy_free(&n);
            return -1;
        }
        if (!dims) {
            if (packed) {
                fprintf(stderr, "lpvm: --arg %s: %s is a packed %s tensor: give its shape, %s:DIMS\n", name,
                        path, r->p.dtype, path);
                npy_free(&n);
                return -1;
            }
            a->rank = n.rank;
            for (int i = 0; i < n.rank; i++)
                a->shape[i] = n.shape[i];
        }
        host = n.data;
        nbytes = n.nbytes;
    }
    lpvm_status st = lpvm_buffer_alloc(ctx, nbytes, &r->buf);
    if (st == LPVM_OK)
        st = lpvm_buffer_upload(r->buf, 0, host, nbytes);
    free(host);
    if (st != LPVM_OK)
        return cli_fail(ctx, st, name), -1;
    a->buffer = r->buf;
    a->nbytes = nbytes;
    r->numel = numel_of(a);
    return 0;
}

static int scalar_arg(RunArg *r, lpvm_arg *a)
{
    char *end;
    if (!strcmp(r->p.dtype, "f32")) {
        double f = strtod(r->value, &end);
        *a = lpvm_arg_f32((float)f);
    } else {
        long long i = strtoll(r->value, &end, 0);
        *a = !strcmp(r->p.dtype, "i64") ? lpvm_arg_i64(i) : lpvm_arg_i32((int32_t)i);
        if (!strcmp(r->p.dtype, "i32") && (i < INT32_MIN || i > INT32_MAX))
            end = (char *)r->value;
    }
    if (*end || end == r->value) {
        fprintf(stderr, "lpvm: --arg %s: '%s' is not a%s %s value\n", r->p.name, r->value,
                r->p.dtype[0] == 'i' ? "n" : "", r->p.dtype);
        return -1;
    }
    return 0;
}

static int write_out(RunArg *r, const lpvm_arg *a, const char *path)
{
    Npy n = {0};
    npy_kind_for(r->p.dtype, r->p.bits, &n.kind, &n.itemsize);
    n.nbytes = lpvm_buffer_size(r->buf);
    if (r->p.bits < 8) {
        n.rank = 1;
        n.shape[0] = (int64_t)n.nbytes;
    } else {
        n.rank = a->rank;
        for (int i = 0; i < a->rank; i++)
            n.shape[i] = a->shape[i];
        n.nbytes = (size_t)r->numel * (size_t)n.itemsize;
    }
    n.data = malloc(n.nbytes ? n.nbytes : 1);
    char err[512];
    int rc = 0;
    if (!n.data || lpvm_buffer_download(r->buf, 0, n.data, n.nbytes) != LPVM_OK ||
        npy_save(path, &n, err, sizeof err)) {
        fprintf(stderr, "lpvm: --out %s: %s\n", r->p.name, n.data ? err : "out of memory");
        rc = -1;
    }
    free(n.data);
    return rc;
}

int cli_run(int argc, char **argv)
{
    CliOpts o;
    if (cli_parse(argc, argv, &o))
        return 2;
    char *src = cli_read_file(o.file);
    if (!src)
        return 1;
    lpvm_options opt = {.device = o.interp ? LPVM_DEVICE_INTERP : LPVM_DEVICE_AUTO,
                        .backend = o.backend,
                        .arch = o.arch};
    lpvm_context *ctx = NULL;
    lpvm_module *m = NULL;
    lpvm_kernel *k = NULL;
    RunArg *ra = NULL;
    lpvm_arg *args = NULL;
    int rc = 1, n = 0;
    lpvm_status st = lpvm_context_create(&opt, &ctx);
    if (st != LPVM_OK) {
        cli_fail(ctx, st, "context");
        goto done;
    }
    fprintf(stderr, "lpvm: running on %s\n", lpvm_device_name(ctx));
    if ((st = lpvm_module_load(ctx, src, o.file, &m)) != LPVM_OK ||
        (st = lpvm_kernel_get(m, o.kernel, o.spec, &k)) != LPVM_OK) {
        cli_fail(ctx, st, o.file);
        goto done;
    }
    n = lpvm_kernel_param_count(k);
    ra = calloc((size_t)n + 1, sizeof *ra);
    args = calloc((size_t)n + 1, sizeof *args);
    if (!ra || !args)
        goto done;
    for (int i = 0; i < n; i++) {
        lpvm_kernel_param(k, i, &ra[i].p);
        ra[i].value = find_pair(o.args, o.nargs, ra[i].p.name);
        if (!ra[i].value) {
            fprintf(stderr, "lpvm: missing --arg %s=... (a %s%s)\n", ra[i].p.name, ra[i].p.dtype,
                    ra[i].p.is_tensor ? " tensor" : "");
            goto done;
        }
        if (ra[i].p.is_tensor ? tensor_arg(ctx, &ra[i], &args[i]) : scalar_arg(&ra[i], &args[i]))
            goto done;
    }
    for (int i = 0; i < o.nargs + o.nouts; i++) {
        const char *pair = i < o.nargs ? o.args[i] : o.outs[i - o.nargs];
        int known = 0;
        for (int j = 0; j < n; j++)
            known |= !strncmp(pair, ra[j].p.name, strlen(ra[j].p.name)) && pair[strlen(ra[j].p.name)] == '=';
        if (!known) {
            fprintf(stderr, "lpvm: '%.*s' is not a parameter of the kernel\n", (int)strcspn(pair, "="), pair);
            goto done;
        }
    }
    int show_known = !o.show;
    for (int j = 0; j < n; j++)
        show_known |= o.show && !strcmp(o.show, ra[j].p.name) && ra[j].p.is_tensor;
    if (!show_known) {
        fprintf(stderr, "lpvm: --show: '%s' is not a parameter of the kernel holding a tensor\n", o.show);
        goto done;
    }
    if ((st = lpvm_launch(k, args, (size_t)n, NULL)) != LPVM_OK || (st = lpvm_synchronize(ctx)) != LPVM_OK) {
        cli_fail(ctx, st, "launch");
        goto done;
    }
    fputs(lpvm_launch_output(ctx), stdout);
    rc = 0;
    for (int i = 0; i < n; i++) {
        if (!ra[i].p.is_tensor || !o.show || strcmp(o.show, ra[i].p.name))
            continue;
        size_t nb = lpvm_buffer_size(ra[i].buf);
        unsigned char *h = malloc(nb ? nb : 1);
        if (h && lpvm_buffer_download(ra[i].buf, 0, h, nb) == LPVM_OK) {
            printf("%s (%s, %lld elements):", ra[i].p.name, ra[i].p.dtype, (long long)ra[i].numel);
            for (int64_t j = 0; j < ra[i].numel && j < 16; j++)
                printf(" %.6g", lpvm_value(ra[i].p.dtype, h, j));
            printf("%s\n", ra[i].numel > 16 ? " ..." : "");
        }
        free(h);
    }
    for (int i = 0; i < n; i++) {
        const char *path = find_pair(o.outs, o.nouts, ra[i].p.name);
        if (path && (!ra[i].p.is_tensor || write_out(&ra[i], &args[i], path)))
            rc = 1;
    }
done:
    for (int i = 0; ra && i < n; i++)
        lpvm_buffer_free(ra[i].buf);
    free(ra);
    free(args);
    lpvm_module_destroy(m);
    lpvm_context_destroy(ctx);
    free(src);
    return rc;
}

/* tests/gpu/runner.c - the GPU runner: every kernel of the repository on
 * the GPU through both backends, compared with the interpreter on fresh
 * random inputs. Plain C on the public API only (no Criterion: its forked
 * tests break once CUDA is initialised), built here and carried to the GPU
 * machine with build/ (CODEGEN.md 3).
 *
 * Kernel files say what to run in comment lines beside their `// spec:`
 * lines:
 *     // run: n=1000,k=256 [tol=exact|ulp:N|acc:K] [order=any]
 *     // run: KERNEL: n=1000 ...        (for one kernel of the file)
 * giving the shape identifiers and scalar parameters by name. Every spec
 * line that applies is combined with every run line that applies, for two
 * seeds. Each combination checks: LLVM == interpreter and NVRTC ==
 * interpreter within the tolerance (exact by default; VM.md 7), and
 * LLVM == NVRTC bit for bit — except where the run line says order=any: a
 * result that depends on the order in which the hardware serves float
 * atomics (atomic_add of f32 from many blocks) differs from launch to launch
 * even on one backend, so there the backends are compared with the line's
 * tolerance too. The last line is `N passed, N failed` and the
 * card's name. Without a GPU it says so and counts nothing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpvm.h"

#include "tests/gpu/gpu.h"

enum { MAX_PARAMS = 32, NSEEDS = 2 };

static int passed, failed;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s)
        s[n] = 0;
    return s;
}

typedef struct {
    char kernel[64]; /* "" for every kernel */
    char values[512];
    char tol[32];
    int order_any; /* order=any: float atomics; results vary between launches */
} RunLine;

/* The file's `// run:` lines. */
static int run_lines(const char *src, RunLine *out, int cap)
{
    int n = 0;
    for (const char *p = strstr(src, "// run:"); p && n < cap; p = strstr(p + 1, "// run:")) {
        const char *s = p + 7, *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        char line[700];
        snprintf(line, sizeof line, "%.*s", (int)len, s);
        RunLine r = {.tol = "exact"};
        char *q = line;
        while (*q == ' ')
            q++;
        char *colon = strchr(q, ':'), *eq = strchr(q, '=');
        if (colon && (!eq || colon < eq) && colon[1] == ' ') {
            snprintf(r.kernel, sizeof r.kernel, "%.*s", (int)(colon - q), q);
            q = colon + 1;
        }
        for (char *tok = strtok(q, " \t"); tok; tok = strtok(NULL, " \t")) {
            if (!strncmp(tok, "tol=", 4))
                snprintf(r.tol, sizeof r.tol, "%s", tok + 4);
            else if (!strcmp(tok, "order=any"))
                r.order_any = 1;
            else
                snprintf(r.values, sizeof r.values, "%s", tok);
        }
        out[n++] = r;
    }
    return n;
}

/* value of name in "a=1,b=2.5" */
static const char *lookup(const char *values, const char *name, char *buf, size_t n)
{
    size_t len = strlen(name);
    for (const char *s = values; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
        if (!strncmp(s, name, len) && s[len] == '=') {
            snprintf(buf, n, "%.*s", (int)strcspn(s + len + 1, ","), s + len + 1);
            return buf;
        }
    return NULL;
}

typedef struct {
    const char *name;
    lpvm_context *ctx;
    lpvm_module *mod;
    lpvm_kernel *k;
    lpvm_buffer *buf[MAX_PARAMS];
    lpvm_arg args[MAX_PARAMS];
    void *out[MAX_PARAMS];
} Exec;

static void report(const char *what, const char *id, const char *detail)
{
    printf("FAIL %s: %s\n%s%s", id, what, detail ? detail : "", detail && *detail && detail[strlen(detail) - 1] != '\n' ? "\n" : "");
}

/* One kernel instance (spec, run line, seed) on the three executors. */
static void run_one(Exec *ex, int nex, const char *file, const char *kname, const char *spec,
                    const RunLine *r, unsigned seed)
{
    char id[512];
    snprintf(id, sizeof id, "%s:%s [%s] {%s} seed %u", file, kname, spec ? spec : "defaults", r->values, seed);
    for (int e = 0; e < nex; e++) {
        ex[e].k = NULL;
        lpvm_status st = lpvm_kernel_get(ex[e].mod, kname, spec, &ex[e].k);
        if (st != LPVM_OK) {
            report(ex[e].name, id, lpvm_error_message(ex[e].ctx));
            failed++;
            return;
        }
    }
    int np = lpvm_kernel_param_count(ex[0].k);
    if (np > MAX_PARAMS) {
        report("too many parameters", id, NULL);
        failed++;
        return;
    }
    /* the integer values (shape identifiers, int scalars) for shape queries */
    char ints[512] = "";
    for (const char *s = r->values; *s;) {
        size_t len = strcspn(s, ",");
        if (!memchr(s, '.', len) && !memchr(s, 'e', len) && strlen(ints) + len + 2 < sizeof ints) {
            strncat(ints, s, len);
            strcat(ints, ",");
        }
        s += len + (s[len] == ',');
    }
    if (*ints)
        ints[strlen(ints) - 1] = 0;
    lpvm_param_info pi[MAX_PARAMS];
    int64_t numel[MAX_PARAMS];
    size_t bytes[MAX_PARAMS];
    int ok = 1;
    for (int i = 0; i < np && ok; i++) {
        lpvm_kernel_param(ex[0].k, i, &pi[i]);
        if (pi[i].is_tensor) {
            int rank;
            int64_t shape[LPVM_MAX_RANK];
            if (lpvm_kernel_param_shape(ex[0].k, i, ints, &rank, shape) != LPVM_OK) {
                report("shape", id, lpvm_error_message(ex[0].ctx));
                ok = 0;
                break;
            }
            numel[i] = 1;
            for (int d = 0; d < rank; d++)
                numel[i] *= shape[d];
            bytes[i] = lpvm_dtype_bytes(pi[i].dtype, numel[i]);
            void *host = malloc(bytes[i] ? bytes[i] : 1);
            lpvm_fill_random(host, pi[i].dtype, numel[i], seed * 1000003u + (unsigned)i);
            for (int e = 0; e < nex; e++) {
                ex[e].out[i] = malloc(bytes[i] ? bytes[i] : 1);
                if (lpvm_buffer_alloc(ex[e].ctx, bytes[i], &ex[e].buf[i]) != LPVM_OK ||
                    lpvm_buffer_upload(ex[e].buf[i], 0, host, bytes[i]) != LPVM_OK) {
                    report("buffer", id, lpvm_error_message(ex[e].ctx));
                    ok = 0;
                }
                ex[e].args[i] = lpvm_arg_tensor(ex[e].buf[i], pi[i].dtype, rank, shape);
            }
            free(host);
        } else {
            char v[64];
            if (!lookup(r->values, pi[i].name, v, sizeof v)) {
                report("missing value", id, pi[i].name);
                ok = 0;
                break;
            }
            for (int e = 0; e < nex; e++)
                ex[e].args[i] = !strcmp(pi[i].dtype, "f32")   ? lpvm_arg_f32(strtof(v, NULL))
                                : !strcmp(pi[i].dtype, "i64") ? lpvm_arg_i64(strtoll(v, NULL, 10))
                                                              : lpvm_arg_i32((int32_t)strtol(v, NULL, 10));
        }
    }
    for (int e = 0; e < nex && ok; e++) {
        lpvm_status st = lpvm_launch(ex[e].k, ex[e].args, (size_t)np, NULL);
        if (st == LPVM_OK)
            st = lpvm_synchronize(ex[e].ctx);
        if (st != LPVM_OK) {
            report(ex[e].name, id, lpvm_error_message(ex[e].ctx));
            ok = 0;
        }
        for (int i = 0; i < np && ok; i++)
            if (pi[i].is_tensor)
                lpvm_buffer_download(ex[e].buf[i], 0, ex[e].out[i], bytes[i]);
    }
    /* ex[0] is the interpreter; the others are compared with it and with
     * each other (bit for bit). */
    for (int e = 1; e < nex && ok; e++)
        for (int i = 0; i < np; i++) {
            if (!pi[i].is_tensor)
                continue;
            char *rep = NULL;
            if (lpvm_compare(pi[i].dtype, ex[0].out[i], ex[e].out[i], numel[i], r->tol, &rep) != LPVM_OK) {
                char what[128];
                snprintf(what, sizeof what, "%s differs from the interpreter in '%s'", ex[e].name, pi[i].name);
                report(what, id, rep);
                ok = 0;
            }
            lpvm_free(rep);
            if (e == 2 && ok &&
                lpvm_compare(pi[i].dtype, ex[1].out[i], ex[2].out[i], numel[i],
                             r->order_any ? r->tol : "exact", &rep) != LPVM_OK) {
                char what[128];
                snprintf(what, sizeof what, "llvm and nvrtc differ in '%s'", pi[i].name);
                report(what, id, rep);
                ok = 0;
                lpvm_free(rep);
            }
        }
    for (int e = 0; e < nex; e++)
        for (int i = 0; i < np; i++) {
            if (pi[i].is_tensor) {
                lpvm_buffer_free(ex[e].buf[i]);
                free(ex[e].out[i]);
            }
            ex[e].buf[i] = NULL;
            ex[e].out[i] = NULL;
        }
    ok ? passed++ : failed++;
}

static void run_file(Exec *ex, int nex, const char *path)
{
    char *src = read_file(path);
    if (!src) {
        printf("FAIL %s: cannot read\n", path);
        failed++;
        return;
    }
    RunLine runs[32];
    int nruns = run_lines(src, runs, 32);
    int ok = 1;
    for (int e = 0; e < nex; e++)
        if (lpvm_module_load(ex[e].ctx, src, path, &ex[e].mod) != LPVM_OK) {
            report(ex[e].name, path, lpvm_error_message(ex[e].ctx));
            ok = 0;
        }
    if (ok && nruns == 0)
        printf("note %s: no // run: line, not run\n", path);
    for (int kk = 0; ok && kk < lpvm_module_kernel_count(ex[0].mod); kk++) {
        const char *kname = lpvm_module_kernel_name(ex[0].mod, kk);
        int nspecs = lpvm_module_spec_count(ex[0].mod);
        for (int s = nspecs ? 0 : -1; s < nspecs; s++) {
            const char *for_kernel = NULL;
            const char *spec = s < 0 ? NULL : lpvm_module_spec(ex[0].mod, s, &for_kernel);
            if (for_kernel && strcmp(for_kernel, kname))
                continue;
            for (int r = 0; r < nruns; r++) {
                if (runs[r].kernel[0] && strcmp(runs[r].kernel, kname))
                    continue;
                for (unsigned seed = 1; seed <= NSEEDS; seed++)
                    run_one(ex, nex, path, kname, spec, &runs[r], seed);
            }
        }
    }
    for (int e = 0; e < nex; e++) {
        lpvm_module_destroy(ex[e].mod);
        ex[e].mod = NULL;
    }
    free(src);
}

static void run_dir(Exec *ex, int nex, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[256];
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 256;) {
        size_t len = strlen(de->d_name);
        if (len > 4 && !strcmp(de->d_name + len - 4, ".lpk"))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        run_file(ex, nex, path);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    char *rep = NULL;
    /* --dry: three interpreter contexts, to test the runner without a GPU */
    int dry = argc > 1 && !strcmp(argv[1], "--dry");
    if (dry)
        argc--, argv++;
    lpvm_status st = dry ? LPVM_OK : lpvm_cuda_selfcheck(0, &rep);
    if (st == LPVM_ERR_NO_GPU) {
        printf("no GPU here: %sGPU tests skipped (run build/lpvm-gpu-tests on a GPU machine)\n", rep ? rep : "");
        lpvm_free(rep);
        return 0;
    }
    printf("driver self-check: %s\n%s", lpvm_status_string(st), rep ? rep : "");
    lpvm_free(rep);
    st == LPVM_OK ? passed++ : failed++;
    Exec ex[3] = {{.name = "interpreter"}, {.name = "llvm"}, {.name = "nvrtc"}};
    lpvm_options opts[3] = {{.device = LPVM_DEVICE_INTERP, .cache_dir = ""},
                            {.device = LPVM_DEVICE_GPU, .backend = LPVM_BACKEND_LLVM, .cache_dir = ""},
                            {.device = LPVM_DEVICE_GPU, .backend = LPVM_BACKEND_NVRTC, .cache_dir = ""}};
    for (int e = 0; e < 3; e++) {
        if (dry)
            opts[e].device = LPVM_DEVICE_INTERP;
        if (lpvm_context_create(&opts[e], &ex[e].ctx) != LPVM_OK) {
            printf("FAIL context %s: %s\n", ex[e].name, lpvm_error_message(ex[e].ctx));
            printf("0 passed, 1 failed\n");
            return 1;
        }
    }
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            run_file(ex, 3, argv[i]);
    } else {
        run_dir(ex, 3, "samples/kernels");
        run_dir(ex, 3, "stdlib");
        run_dir(ex, 3, "tests/kernels");
        run_dir(ex, 3, "tests/lang");
    }
    for (int e = 1; e < 3 && !dry; e++) {
        char why[512];
        bool ok = gpu_workspace_pool(ex[e].ctx, why, sizeof why);
        if (!ok)
            printf("FAIL workspace pool [%s]: %s\n", ex[e].name, why);
        ok ? passed++ : failed++;
    }
    char card[256];
    snprintf(card, sizeof card, "%s", lpvm_device_name(ex[1].ctx));
    for (int e = 0; e < 3; e++)
        lpvm_context_destroy(ex[e].ctx);
    printf("card: %s\n", card);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* tests/test_cli.c - the built `lpvm` command line and the JIT sample, run
 * as programs (system()), as a user runs them: exit status, stdout and
 * stderr. Paths: $LPVM_BUILD (else "build") holds lpvm and samples/jit;
 * $LPVM_ROOT (else ".") holds samples/kernels. Inputs are written with
 * tools/npy.h and random:SEED arguments are reproduced with
 * lpvm_fill_random, so every result is checked against a C reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lpvm.h"
#include "runtime/runtime.h"
#include "tools/npy.h"

static const char *SAMPLES[] = {"vadd", "softmax", "rmsnorm", "matmul", "gemv_u3"};

typedef struct {
    int rc;
    char *out, *err;
} Res;

static const char *build_dir(void) { return getenv("LPVM_BUILD") ? getenv("LPVM_BUILD") : "build"; }
static const char *root_dir(void) { return getenv("LPVM_ROOT") ? getenv("LPVM_ROOT") : "."; }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    cr_assert(s && fread(s, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return s;
}

static char g_tmp[64];

static const char *tmpdir(void)
{
    if (!g_tmp[0]) {
        snprintf(g_tmp, sizeof g_tmp, "/tmp/lpvm-cli-XXXXXX");
        cr_assert(mkdtemp(g_tmp));
    }
    return g_tmp;
}

static const char *tmp(const char *name)
{
    static char buf[8][256];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir(), name);
    return p;
}

/* Runs `lpvm ARGS` (or, with lpvm = 0, the command as given). */
static Res run(int lpvm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static Res run(int lpvm, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s%s%s >'%s' 2>'%s'", root_dir(), lpvm ? build_dir() : "",
             lpvm ? "/lpvm " : "", args, tmp("stdout"), tmp("stderr"));
    int st = system(cmd);
    Res r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(tmp("stdout")), slurp(tmp("stderr"))};
    return r;
}

static void res_free(Res *r) { free(r->out), free(r->err); }

static void cleanup(void)
{
    if (g_tmp[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        cr_assert_eq(system(cmd), 0);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

static void save(const char *path, char kind, int itemsize, int rank, const int64_t *shape, const void *data)
{
    Npy n = {.kind = kind, .itemsize = itemsize, .rank = rank};
    int64_t numel = 1;
    for (int i = 0; i < rank; i++)
        numel *= n.shape[i] = shape[i];
    n.nbytes = (size_t)numel * (size_t)itemsize;
    n.data = (uint8_t *)data;
    char err[256];
    cr_assert_eq(npy_save(path, &n, err, sizeof err), 0, "%s", err);
}

/* NVRTC where runtime/nvrtc.c looks for it: the loader's path, then CUDA_HOME. */
/* NVRTC as the library finds it (kept loaded: a probe that dlclosed it
 * would leave its start-up allocations to LeakSanitizer as unknown). */
static int nvrtc_present(void)
{
    const char *path, *err;
    return rt_nvrtc_load(&path, &err) == 0;
}

TestSuite(cli, .fini = cleanup);

Test(cli, dtypes)
{
    Res r = run(1, "dtypes");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    const char *line = strstr(r.out, "\nf4e2m1 ");
    cr_assert(line, "no f4e2m1 row:\n%s", r.out);
    char name[16], kind[16], em[16], mn[16], mx[16], small[16];
    int bits;
    cr_assert_eq(sscanf(line + 1, "%15s %d %15s %15s %15s %15s %15s", name, &bits, kind, em, mn, mx, small), 7);
    cr_assert_eq(bits, 4);
    cr_assert_str_eq(kind, "float");
    cr_assert_str_eq(em, "2/1");
    cr_assert_str_eq(mn, "-6");
    cr_assert_str_eq(mx, "6");
    cr_assert_str_eq(small, "0.5");
    cr_assert(strstr(r.out, "\nf8e4m3 "), "no f8e4m3 row");
    res_free(&r);
    r = run(1, "dtypes extra");
    cr_assert_eq(r.rc, 2, "a usage error exits 2");
    res_free(&r);
}

Test(cli, layout_picture)
{
    Res r = run(1, "layout 'local(2,1) * spatial(8,4) * local(1,2)'");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "shape=[16,8] T=32 n=4"), "%s", r.out);
    /* spatial(8,4) * local(1,2): thread t holds row t / 4, columns 2 (t % 4) + {0,1};
     * the outer local(2,1) repeats that for rows 8..15 as local 2, 3 */
    cr_assert(strstr(r.out, "\n 0:  0:0  0:1  1:0  1:1  2:0  2:1  3:0  3:1\n"), "%s", r.out);
    cr_assert(strstr(r.out, "\n 7: 28:0 28:1 29:0 29:1 30:0 30:1 31:0 31:1\n"), "%s", r.out);
    cr_assert(strstr(r.out, "\n 8:  0:2  0:3  1:2  1:3  2:2  2:3  3:2  3:3\n"), "%s", r.out);
    res_free(&r);

    r = run(1, "layout 'local(2,1) * spatail(8,4)'");
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "layout:1:14: error: unknown layout 'spatail'"), "%s", r.err);
    const char *src = strstr(r.err, "local(2,1) * spatail(8,4)\n");
    cr_assert(src, "%s", r.err);
    const char *caret = strchr(src, '\n') + 1;
    const char *bol = src;
    while (bol > r.err && bol[-1] != '\n')
        bol--;
    cr_assert_eq(strspn(caret, " "), (size_t)(src - bol) + 13, "caret not under column 14:\n%s", r.err);
    cr_assert_eq(caret[strspn(caret, " ")], '^');
    res_free(&r);
}

Test(cli, check_samples)
{
    for (size_t i = 0; i < sizeof SAMPLES / sizeof *SAMPLES; i++) {
        Res r = run(1, "check samples/kernels/%s.lpk", SAMPLES[i]);
        cr_expect_eq(r.rc, 0, "%s: %s", SAMPLES[i], r.err);
        cr_expect(strstr(r.out, "no errors"), "%s: %s", SAMPLES[i], r.out);
        res_free(&r);
    }
    Res r = run(1, "check samples/kernels/gemv_u3.lpk");
    cr_assert(strstr(r.out, "3 kernel instances checked"), "one per spec line: %s", r.out);
    res_free(&r);
}

Test(cli, check_errors)
{
    write_file(tmp("bad.lpk"), "kernel k(x: global f32[n]) grid(1) warps(1)\n{\n    let a = 1 +;\n}\n");
    Res r = run(1, "check '%s'", tmp("bad.lpk"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "bad.lpk:3:16: error: syntax error"), "%s", r.err);
    cr_assert(strstr(r.err, "    let a = 1 +;\n               ^"), "no caret under column 16: %s", r.err);
    res_free(&r);
    write_file(tmp("type.lpk"), "kernel k(x: global f32[n], y: global f16[n]) grid(1) warps(1)\n{\n"
                                "    store_global(y[0 : 32], load_global(x[0 : 32]));\n}\n");
    r = run(1, "check '%s'", tmp("type.lpk"));
    cr_assert_eq(r.rc, 1, "storing f32 into f16 accepted: %s", r.out);
    cr_assert(strstr(r.err, "type.lpk:3:"), "%s", r.err);
    res_free(&r);
    r = run(1, "check '%s'", tmp("missing.lpk"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "missing.lpk"), "%s", r.err);
    res_free(&r);
    r = run(1, "check");
    cr_assert_eq(r.rc, 2, "%s", r.err);
    res_free(&r);
    r = run(1, "check samples/kernels/vadd.lpk --spec blok=3");
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "unknown key 'blok'"), "%s", r.err);
    res_free(&r);
}

/* The `// spec:` strings of a sample. */
static int spec_lines(const char *name, char specs[][128], int cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/samples/kernels/%s.lpk", root_dir(), name);
    char *src = slurp(path), *p = src;
    int n = 0;
    while ((p = strstr(p, "// spec:")) && n < cap) {
        p += 8;
        p += strspn(p, " ");
        snprintf(specs[n++], 128, "%.*s", (int)strcspn(p, "\n"), p);
    }
    free(src);
    return n;
}

Test(cli, print_round_trip)
{
    int total = 0;
    for (size_t i = 0; i < sizeof SAMPLES / sizeof *SAMPLES; i++) {
        char specs[8][128];
        int ns = spec_lines(SAMPLES[i], specs, 8);
        cr_assert(ns > 0, "%s: no spec lines", SAMPLES[i]);
        for (int s = 0; s < ns; s++, total++) {
            Res a = run(1, "print samples/kernels/%s.lpk --spec '%s'", SAMPLES[i], specs[s]);
            cr_assert_eq(a.rc, 0, "%s [%s]: %s", SAMPLES[i], specs[s], a.err);
            cr_assert(strstr(a.out, "kernel "), "%s", a.out);
            write_file(tmp("printed.lpk"), a.out);
            Res c = run(1, "check '%s'", tmp("printed.lpk"));
            cr_expect_eq(c.rc, 0, "%s [%s]: the printed program does not check:\n%s\n%s", SAMPLES[i], specs[s], c.err,
                         a.out);
            Res b = run(1, "print '%s'", tmp("printed.lpk"));
            cr_expect_eq(b.rc, 0, "%s [%s]: %s", SAMPLES[i], specs[s], b.err);
            cr_expect_str_eq(b.out, a.out, "%s [%s]: print(parse(print)) differs", SAMPLES[i], specs[s]);
            res_free(&a), res_free(&b), res_free(&c);
        }
    }
    cr_assert_eq(total, 11);
}

Test(cli, compile_emits)
{
    struct {
        const char *args, *needle;
        int nvrtc;
    } cases[] = {
        {"--emit tir", "kernel lpvm_vadd(", 0},
        {"--emit source", "kernel vadd(x: global f16[n]", 0},
        {"--emit ptx --arch sm_80", ".target sm_80", 0},
        {"--emit ptx --arch sm_90", ".target sm_90", 0},
        {"--emit llvm", "define ptx_kernel void @lpvm_vadd(", 0},
        {"--emit cuda --backend nvrtc", "__global__ void __launch_bounds__", 0},
        {"--emit ptx --backend nvrtc --arch sm_90", ".target sm_90", 1},
    };
    int have_nvrtc = nvrtc_present();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cases[i].nvrtc && !have_nvrtc) {
            cr_log_warn("cli/compile_emits: NVRTC not found: '%s' not checked", cases[i].args);
            fprintf(stderr, "SKIP cli/compile_emits: NVRTC not found: '%s' not checked\n", cases[i].args);
            continue;
        }
        Res r = run(1, "compile samples/kernels/vadd.lpk --spec dt=f16,block=256 %s", cases[i].args);
        cr_expect_eq(r.rc, 0, "%s: %s", cases[i].args, r.err);
        cr_expect(strstr(r.out, cases[i].needle), "%s lacks '%s':\n%.1000s", cases[i].args, cases[i].needle, r.out);
        res_free(&r);
    }
    Res r = run(1, "compile samples/kernels/vadd.lpk --emit cuda");
    cr_assert_eq(r.rc, 1, "CUDA C from the LLVM backend");
    cr_assert(strstr(r.err, "--backend nvrtc"), "%s", r.err);
    res_free(&r);
    r = run(1, "compile samples/kernels/vadd.lpk --emit xyz");
    cr_assert_eq(r.rc, 2);
    cr_assert(strstr(r.err, "'xyz'"), "%s", r.err);
    res_free(&r);
    r = run(1, "compile samples/kernels/vadd.lpk --backend gcc");
    cr_assert_eq(r.rc, 2);
    cr_assert(strstr(r.err, "'gcc'"), "%s", r.err);
    res_free(&r);
}

static Npy load(const char *path)
{
    Npy n;
    char err[256];
    cr_assert_eq(npy_load(path, &n, err, sizeof err), 0, "%s", err);
    return n;
}

Test(cli, run_vadd_npy)
{
    enum { N = 1000 };
    float x[N], y[N], z[N] = {0};
    for (int i = 0; i < N; i++)
        x[i] = (float)i * 0.25f, y[i] = 1.0f / (float)(i + 1);
    int64_t sh[1] = {N};
    save(tmp("x.npy"), 'f', 4, 1, sh, x);
    save(tmp("y.npy"), 'f', 4, 1, sh, y);
    save(tmp("z.npy"), 'f', 4, 1, sh, z);
    Res r = run(1, "run --interp samples/kernels/vadd.lpk --arg x=%s --arg y=%s --arg z=%s --out z=%s", tmp("x.npy"),
                tmp("y.npy"), tmp("z.npy"), tmp("zo.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.err, "running on interpreter"), "%s", r.err);
    res_free(&r);
    Npy o = load(tmp("zo.npy"));
    cr_assert_eq(o.kind, 'f');
    cr_assert_eq(o.itemsize, 4);
    cr_assert_eq(o.rank, 1);
    cr_assert_eq(o.shape[0], N);
    const float *got = (const float *)o.data;
    for (int i = 0; i < N; i++)
        cr_assert_eq(got[i], x[i] + y[i], "z[%d] = %.9g, want %.9g", i, got[i], x[i] + y[i]);
    npy_free(&o);

    /* f16 from .npy ('<f2'), the dt=f16 specialization */
    uint16_t hx[N], hy[N], hz[N] = {0};
    cr_assert_eq(lpvm_fill_random(hx, "f16", N, 11), LPVM_OK);
    cr_assert_eq(lpvm_fill_random(hy, "f16", N, 12), LPVM_OK);
    save(tmp("hx.npy"), 'f', 2, 1, sh, hx);
    save(tmp("hy.npy"), 'f', 2, 1, sh, hy);
    save(tmp("hz.npy"), 'f', 2, 1, sh, hz);
    r = run(1, "run --interp samples/kernels/vadd.lpk --spec dt=f16,block=256 --arg x=%s --arg y=%s --arg z=%s --out z=%s",
            tmp("hx.npy"), tmp("hy.npy"), tmp("hz.npy"), tmp("hzo.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    res_free(&r);
    o = load(tmp("hzo.npy"));
    cr_assert_eq(o.itemsize, 2);
    cr_assert_eq(o.shape[0], N);
    /* the reference through the runtime itself would be circular: sum in
     * f32 (exact for two f16s) and round to f16 by hand */
    for (int i = 0; i < N; i++) {
        float a = 0, b = 0;
        for (int k = 0; k < 2; k++) {
            uint16_t h = k ? hy[i] : hx[i];
            int e = (h >> 10) & 31, m = h & 1023;
            float v = e ? ldexpf((float)(m | 1024), e - 25) : ldexpf((float)m, -24);
            *(k ? &b : &a) = h & 0x8000 ? -v : v;
        }
        float s = a + b;
        float back;
        uint16_t g = ((uint16_t *)o.data)[i];
        int e = (g >> 10) & 31, m = g & 1023;
        back = e ? ldexpf((float)(m | 1024), e - 25) : ldexpf((float)m, -24);
        back = g & 0x8000 ? -back : back;
        float ulp = ldexpf(1.0f, (s == 0 ? -14 : ilogbf(s) < -14 ? -14 : ilogbf(s)) - 10);
        cr_assert(fabsf(back - s) <= 0.5f * ulp, "z[%d] = %g, a + b = %g", i, back, s);
    }
    npy_free(&o);
}

Test(cli, run_random_args)
{
    enum { N = 1500 };
    Res r = run(1, "run --interp samples/kernels/vadd.lpk --arg x=random:1:%d --arg y=random:2:%d "
                   "--arg z=random:3:%d --out z=%s --out x=%s", N, N, N, tmp("z.npy"), tmp("x.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    res_free(&r);
    float x[N], y[N];
    cr_assert_eq(lpvm_fill_random(x, "f32", N, 1), LPVM_OK);
    cr_assert_eq(lpvm_fill_random(y, "f32", N, 2), LPVM_OK);
    Npy z = load(tmp("z.npy")), xo = load(tmp("x.npy"));
    cr_assert_eq(z.shape[0], N);
    cr_assert(!memcmp(xo.data, x, sizeof x), "random:1 is not lpvm_fill_random(seed 1)");
    for (int i = 0; i < N; i++)
        cr_assert_eq(((float *)z.data)[i], x[i] + y[i], "z[%d]", i);
    npy_free(&z), npy_free(&xo);

    r = run(1, "run --interp samples/kernels/rmsnorm.lpk --spec cols=1024,dt=bf16 --arg x=random:1:5x1000 "
               "--arg w=random:2:1000 --arg y=random:3:5x1000 --arg eps=1e-5 --out y=%s", tmp("y.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    res_free(&r);
    Npy yo = load(tmp("y.npy"));
    cr_assert_eq(yo.kind, 'u', "bf16 leaves as raw u16 bits");
    cr_assert_eq(yo.itemsize, 2);
    cr_assert_eq(yo.rank, 2);
    cr_assert_eq(yo.shape[0], 5);
    cr_assert_eq(yo.shape[1], 1000);
    npy_free(&yo);
}

static const char *WIDEN = "kernel widen(q: global u3[n], y: global u8[n]) grid(cdiv(n, 256)) warps(4)\n"
                           "{\n"
                           "    let i0 = bid.x * 256;\n"
                           "    store_global(y[i0 : 256], cast(load_global(q[i0 : 256]), u8));\n"
                           "}\n";

Test(cli, run_packed_u3)
{
    enum { N = 1000, NB = 375 };
    write_file(tmp("widen.lpk"), WIDEN);
    uint8_t q[NB + 1];
    cr_assert_eq(lpvm_fill_random(q, "u3", N, 77), LPVM_OK);
    int64_t nb[1] = {NB};
    save(tmp("q.npy"), 'u', 1, 1, nb, q);
    Res r = run(1, "run --interp '%s' --arg q=%s:%d --arg y=random:0:%d --out y=%s --out q=%s", tmp("widen.lpk"),
                tmp("q.npy"), N, N, tmp("y.npy"), tmp("qo.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    res_free(&r);
    Npy y = load(tmp("y.npy")), qo = load(tmp("qo.npy"));
    cr_assert_eq(y.shape[0], N);
    for (int i = 0; i < N; i++) {
        int bit = 3 * i, code = 0;
        for (int j = 0; j < 3; j++)
            code |= ((q[(bit + j) / 8] >> ((bit + j) % 8)) & 1) << j;
        cr_assert_eq(y.data[i], code, "code %d: %d, want %d", i, y.data[i], code);
    }
    cr_assert_eq(qo.rank, 1, "a packed tensor leaves as 1-D bytes");
    cr_assert_eq(qo.shape[0], NB);
    cr_assert(!memcmp(qo.data, q, NB));
    npy_free(&y), npy_free(&qo);

    r = run(1, "run --interp '%s' --arg q=%s --arg y=random:0:%d", tmp("widen.lpk"), tmp("q.npy"), N);
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "packed u3 tensor: give its shape"), "%s", r.err);
    res_free(&r);
    r = run(1, "run --interp '%s' --arg q=%s:1001 --arg y=random:0:1001", tmp("widen.lpk"), tmp("q.npy"));
    cr_assert_eq(r.rc, 1, "1001 u3 codes do not fit in 375 bytes");
    cr_assert(strstr(r.err, "q"), "%s", r.err);
    res_free(&r);
    r = run(1, "run --interp '%s' --arg q=%s:10y --arg y=random:0:10", tmp("widen.lpk"), tmp("q.npy"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "bad shape '10y'"), "%s", r.err);
    res_free(&r);
}

Test(cli, run_errors)
{
    const char *V = "run --interp samples/kernels/vadd.lpk";
    Res r = run(1, "%s --arg x=random:1:10 --arg y=random:2:10", V);
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "missing --arg z=... (a f32 tensor)"), "%s", r.err);
    res_free(&r);
    r = run(1, "%s --arg x=random:1:10 --arg y=random:2:10 --arg z=random:3:10 --arg w=3", V);
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "'w' is not a parameter"), "%s", r.err);
    res_free(&r);
    r = run(1, "%s --arg x=random:1:10 --arg y=random:2:10 --arg z=random:3:10 --out q=%s", V, tmp("q.npy"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "'q' is not a parameter"), "%s", r.err);
    res_free(&r);
    write_file(tmp("junk.npy"), "not a numpy file\n");
    r = run(1, "%s --arg x=%s --arg y=random:2:10 --arg z=random:3:10", V, tmp("junk.npy"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "junk.npy"), "%s", r.err);
    cr_assert(strstr(r.err, "--arg x"), "%s", r.err);
    res_free(&r);
    r = run(1, "%s --arg x=%s --arg y=random:2:10 --arg z=random:3:10", V, tmp("nonexistent.npy"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "nonexistent.npy"), "%s", r.err);
    res_free(&r);
    int32_t iv[10] = {0};
    int64_t sh[1] = {10};
    save(tmp("i.npy"), 'i', 4, 1, sh, iv);
    r = run(1, "%s --arg x=%s --arg y=random:2:10 --arg z=random:3:10", V, tmp("i.npy"));
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "holds i32, the kernel's f32 needs f32"), "%s", r.err);
    res_free(&r);
    float fv[10] = {0};
    int64_t sh2[2] = {2, 5};
    save(tmp("f2d.npy"), 'f', 4, 2, sh2, fv);
    r = run(1, "%s --arg x=%s --arg y=random:2:10 --arg z=random:3:10", V, tmp("f2d.npy"));
    cr_assert_eq(r.rc, 1, "a 2-D array for a 1-D parameter");
    cr_assert(strstr(r.err, "x"), "%s", r.err);
    res_free(&r);
    r = run(1, "%s --arg x=random:1:10 --arg y=random:2:9 --arg z=random:3:10", V);
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "argument y: dim 0 is 9 but n = 10"), "%s", r.err);
    res_free(&r);
    r = run(1, "%s --arg x=random:1 --arg y=random:2:10 --arg z=random:3:10", V);
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "random:SEED:DIMS"), "%s", r.err);
    res_free(&r);
    r = run(1, "run --interp samples/kernels/rmsnorm.lpk --arg x=random:1:2x8 --arg w=random:2:8 "
               "--arg y=random:3:2x8 --arg eps=abc");
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "--arg eps: 'abc' is not a f32 value"), "%s", r.err);
    res_free(&r);
    r = run(1, "run --interp samples/kernels/vadd.lpk --arg x");
    cr_assert_eq(r.rc, 2, "--arg without NAME=VALUE: %s", r.err);
    res_free(&r);
}

Test(cli, jit_sample)
{
    Res r = run(0, "%s/samples/jit", build_dir());
    cr_assert_eq(r.rc, 0, "build/samples/jit failed (make samples?):\n%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "running on "), "%s", r.out);
    if (!strstr(r.out, "(GPU)"))
        cr_assert(strstr(r.out, "running on interpreter"), "%s", r.out);
    cr_assert(strstr(r.out, "\nOK ("), "%s", r.out);
    cr_assert_null(strstr(r.out, "FAILED"), "%s", r.out);
    res_free(&r);
}

Test(cli, run_zeros_and_show)
{
    Res r = run(1, "run --interp samples/kernels/vadd.lpk --arg x=random:1:10 --arg y=zeros:10 --arg z=zeros:10 "
                   "--show z --out y=%s", tmp("y.npy"));
    cr_assert_eq(r.rc, 0, "%s", r.err);
    float x[10];
    cr_assert_eq(lpvm_fill_random(x, "f32", 10, 1), LPVM_OK);
    const char *line = strstr(r.out, "z (f32, 10 elements):");
    cr_assert(line, "%s", r.out);
    line += strlen("z (f32, 10 elements):");
    for (int i = 0; i < 10; i++) {
        char *end;
        double v = strtod(line, &end);
        cr_assert(end != line, "%s", r.out);
        cr_assert(fabs(v - x[i]) <= 1e-5 * fabs(x[i]) + 1e-30, "z[%d] shown as %g, x + 0 = %g", i, v, x[i]);
        line = end;
    }
    res_free(&r);
    Npy y = load(tmp("y.npy"));
    for (int i = 0; i < 10; i++)
        cr_assert_eq(((float *)y.data)[i], 0.0f);
    npy_free(&y);
    r = run(1, "run --interp samples/kernels/vadd.lpk --arg x=zeros:10 --arg y=zeros:10 --arg z=zeros:1y0");
    cr_assert_eq(r.rc, 1);
    cr_assert(strstr(r.err, "zeros:DIMS"), "%s", r.err);
    res_free(&r);
    r = run(1, "run --interp samples/kernels/vadd.lpk --arg x=zeros:10 --arg y=zeros:10 --arg z=zeros:10 --show q");
    cr_expect_eq(r.rc, 1, "--show of a name that is not a parameter is ignored (exit 0, nothing shown)");
    cr_expect(strstr(r.err, "'q' is not a parameter"), "%s", r.err);
    res_free(&r);
}

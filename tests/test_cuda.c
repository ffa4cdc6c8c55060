/* tests/test_cuda.c - the CUDA driver layer (runtime/cuda.c) on a machine
 * without a GPU.
 *
 * Without a driver: rt_cu_init reports the clear error and every other call
 * returns it (no crash, no driver call); $LPVM_LIBCUDA naming a missing
 * file, a non-library, a library without cuGetProcAddress_v2 or the
 * toolkit's stub is reported as such.
 *
 * With a fake driver: FAKE_SRC below is compiled at test time (cc -shared)
 * into a libcuda look-alike that exports cuGetProcAddress_v2 and serves a
 * table of entry points, each with the ABI version it implements; it
 * records the version each entry was asked for, so the tests check the
 * versions cuda.c requests, and it answers like a driver would (versions
 * too new, hidden entry points, a JIT error log, faults on demand). Device
 * memory is host memory there, so copies can be checked. When no C compiler
 * is found these tests skip with a message.
 *
 * The driver is loaded once per process; Criterion runs each test in its
 * own process, so each test may choose its own environment. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"

/* ------------------------------------------------------------ the fake driver */

#define FAKE_SOURCE(...) #__VA_ARGS__
static const char FAKE_SRC[] = FAKE_SOURCE(
    typedef unsigned long size_t;
    void *memcpy(void *, const void *, size_t);
    void *memset(void *, int, size_t);
    int strcmp(const char *, const char *);
    char *strstr(const char *, const char *);
    char *getenv(const char *);
    int atoi(const char *);
    void *malloc(size_t);
    void free(void *);
    int snprintf(char *, size_t, const char *, ...);

    static __thread void *current;
    static int driver_version = 13000, bad_flags, wrong_abi, retains, set_current_calls;
    static int next_sync_error, max_dyn = 49152, attr_sets, nlaunch, graph_launches;
    static unsigned last_launch[7];

    static int env_int(const char *name, int dflt)
    {
        const char *v = getenv(name);
        return v && *v ? atoi(v) : dflt;
    }

    static int get_error_name(int r, const char **s)
    {
        switch (r) {
        case 0: *s = "CUDA_SUCCESS"; return 0;
        case 1: *s = "CUDA_ERROR_INVALID_VALUE"; return 0;
        case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
        case 218: *s = "CUDA_ERROR_INVALID_PTX"; return 0;
        case 500: *s = "CUDA_ERROR_NOT_FOUND"; return 0;
        case 700: *s = "CUDA_ERROR_ILLEGAL_ADDRESS"; return 0;
        }
        *s = 0;
        return 1;
    }
    static int get_error_string(int r, const char **s)
    {
        switch (r) {
        case 1: *s = "invalid argument"; return 0;
        case 2: *s = "out of memory"; return 0;
        case 218: *s = "a PTX JIT compilation failed"; return 0;
        case 500: *s = "named symbol not found"; return 0;
        case 700: *s = "an illegal memory access was encountered"; return 0;
        }
        *s = 0;
        return 1;
    }
    static int driver_get_version(int *v) { *v = driver_version; return 0; }
    static int init(unsigned f) { return f ? 1 : env_int("FAKE_CUDA_INIT", 0); }
    static int device_get_count(int *n) { *n = env_int("FAKE_CUDA_NDEV", 2); return 0; }
    static int device_get(int *d, int ord) { *d = ord; return 0; }
    static int device_get_name(char *s, int n, int d)
    {
        snprintf(s, (size_t)n, "Fake GPU %d", d);
        return 0;
    }
    static int device_get_attribute(int *v, int a, int d)
    {
        (void)d;
        switch (a) {
        case 1: *v = 1024; return 0;
        case 8: *v = 49152; return 0;
        case 10: *v = 32; return 0;
        case 13: return 1;
        case 16: *v = 132; return 0;
        case 75: *v = 9; return 0;
        case 76: *v = 0; return 0;
        case 81: *v = 233472; return 0;
        case 97: *v = 232448; return 0;
        }
        *v = 7;
        return 0;
    }
    static int device_total_mem(size_t *b, int d) { (void)d; *b = (size_t)80 << 30; return 0; }
    static int primary_retain(void **c, int d)
    {
        *c = (void *)(0x1000ul + (size_t)d);
        retains++;
        return 0;
    }
    static int primary_release(int d) { (void)d; retains--; return 0; }
    static int ctx_set_current(void *c) { current = c; set_current_calls++; return 0; }
    static int ctx_get_current(void **c) { *c = current; return 0; }
    static int ctx_synchronize(void)
    {
        int r = next_sync_error;
        next_sync_error = 0;
        return current ? r : 201;
    }
    static int ctx_synchronize_v13(void *c) { (void)c; wrong_abi = 1; return 0; }
    static int module_load(void **m, const void *image, unsigned n, int *opt, void **val)
    {
        char *elog = 0, *ilog = 0;
        size_t esize = 0, isize = 0;
        for (unsigned i = 0; i < n; i++) {
            if (opt[i] == 5) elog = val[i];
            if (opt[i] == 6) esize = (size_t)val[i];
            if (opt[i] == 3) ilog = val[i];
            if (opt[i] == 4) isize = (size_t)val[i];
        }
        if (strstr(image, "no_such_register")) {
            snprintf(elog, esize, "ptxas application ptx input, line 7; error   : Unknown "
                                  "symbol '%%no_such_register'");
            return 218;
        }
        if (strstr(image, "BAD")) {
            if (elog && esize)
                snprintf(elog, esize, "ptxas application ptx input, line 3; "
                                      "error   : Unknown symbol 'BAD'");
            return 218;
        }
        if (ilog && isize)
            snprintf(ilog, isize, "ptxas info    : fake info");
        *m = (void *)0x2000;
        return 0;
    }
    static int module_unload(void *m) { (void)m; return 0; }
    static int module_get_function(void **f, void *m, const char *name)
    {
        (void)m;
        static const char *const names[] = {"k", "lpvm_check_axpb", "lpvm_check_smem"};
        for (unsigned i = 0; i < 3; i++)
            if (!strcmp(name, names[i])) {
                *f = (void *)(0x3000ul + i);
                return 0;
            }
        return 500;
    }
    static int func_get_attribute(int *v, int a, void *f)
    {
        (void)f;
        *v = a == 4 ? 32 : a == 0 ? 1024 : 0;
        return 0;
    }
    static int func_set_attribute(void *f, int a, int v)
    {
        (void)f;
        if (a != 8) return 1;
        max_dyn = v;
        attr_sets++;
        return 0;
    }
    static void *capturing;
    static struct { void *f; unsigned threads; unsigned long long p; unsigned n; } captured[8];
    static int ncaptured;

    static void run_kernel(void *f, unsigned gx, unsigned bx, unsigned long long p, unsigned n)
    {
        unsigned *out = (unsigned *)p;
        if (f == (void *)0x3000)
            *out = gx * 1000 + bx + n;
        if (f == (void *)0x3001)
            for (unsigned i = 0; i < n && i < gx * bx; i++)
                out[i] = 3 * out[i] + 1;
        if (f == (void *)0x3002)
            for (unsigned k = 0; k < n; k++)
                out[k] = 7 * (n - 1 - k);
    }
    static int launch_kernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned smem, void *s, void **params,
                             void **extra)
    {
        (void)extra;
        if (smem > (unsigned)max_dyn || !current)
            return 1;
        unsigned l[7] = {gx, gy, gz, bx, by, bz, smem};
        memcpy(last_launch, l, sizeof l);
        nlaunch++;
        if (!params)
            return 0;
        unsigned long long p = *(unsigned long long *)params[0];
        unsigned n = *(unsigned *)params[1];
        if (s && s == capturing) {
            if (ncaptured == 8)
                return 1;
            captured[ncaptured].f = f;
            captured[ncaptured].threads = gx * bx;
            captured[ncaptured].p = p;
            captured[ncaptured++].n = n;
            return 0;
        }
        run_kernel(f, gx, bx, p, n);
        return 0;
    }
    static int mem_get_info(size_t *f, size_t *t)
    {
        *f = (size_t)70 << 30;
        *t = (size_t)80 << 30;
        return 0;
    }
    static int mem_alloc(unsigned long long *p, size_t n)
    {
        if (n == 0 || n > ((size_t)1 << 40))
            return n ? 2 : 1;
        *p = (unsigned long long)malloc(n);
        return 0;
    }
    static int mem_free(unsigned long long p) { free((void *)p); return 0; }
    static int htod(unsigned long long d, const void *s, size_t n)
    {
        memcpy((void *)d, s, n);
        return 0;
    }
    static int dtoh(void *d, unsigned long long s, size_t n) { memcpy(d, (void *)s, n); return 0; }
    static int dtod(unsigned long long d, unsigned long long s, size_t n)
    {
        memcpy((void *)d, (void *)s, n);
        return 0;
    }
    static int htod_async(unsigned long long d, const void *s, size_t n, void *st)
    {
        (void)st;
        return htod(d, s, n);
    }
    static int dtoh_async(void *d, unsigned long long s, size_t n, void *st)
    {
        (void)st;
        return dtoh(d, s, n);
    }
    static int memset8(unsigned long long d, unsigned char v, size_t n)
    {
        memset((void *)d, v, n);
        return 0;
    }
    static int memset8_async(unsigned long long d, unsigned char v, size_t n, void *s)
    {
        (void)s;
        return memset8(d, v, n);
    }
    static int new_handle(void **h, unsigned f) { (void)f; *h = malloc(8); return 0; }
    static int free_handle(void *h) { free(h); return 0; }
    static int no_op(void *h) { (void)h; return 0; }
    static int event_record(void *e, void *s) { (void)e; (void)s; return 0; }
    static int event_elapsed(float *ms, void *a, void *b)
    {
        (void)a;
        (void)b;
        *ms = 1.5f;
        return 0;
    }
    static int begin_capture(void *s, int mode)
    {
        if (!s || mode != 1 || capturing)
            return 1;
        capturing = s;
        ncaptured = 0;
        return 0;
    }
    static int end_capture(void *s, void **g)
    {
        if (s != capturing)
            return 1;
        capturing = 0;
        *g = (void *)0x4000;
        return 0;
    }
    static int graph_instantiate(void **ge, void *g, unsigned long long f)
    {
        *ge = g && !f ? (void *)0x5000 : 0;
        return *ge ? 0 : 1;
    }
    static int graph_launch(void *g, void *s)
    {
        (void)s;
        graph_launches += g == (void *)0x5000;
        for (int i = 0; i < ncaptured; i++)
            run_kernel(captured[i].f, captured[i].threads, 1, captured[i].p, captured[i].n);
        return 0;
    }

    static struct { const char *name; int ver; void *fn; int requested; } table[] = {
        {"cuGetErrorName", 6000, get_error_name, 0},
        {"cuGetErrorString", 6000, get_error_string, 0},
        {"cuDriverGetVersion", 2020, driver_get_version, 0},
        {"cuInit", 2000, init, 0},
        {"cuDeviceGetCount", 2000, device_get_count, 0},
        {"cuDeviceGet", 2000, device_get, 0},
        {"cuDeviceGetName", 2000, device_get_name, 0},
        {"cuDeviceGetAttribute", 2000, device_get_attribute, 0},
        {"cuDeviceTotalMem", 3020, device_total_mem, 0},
        {"cuDevicePrimaryCtxRetain", 7000, primary_retain, 0},
        {"cuDevicePrimaryCtxRelease", 11000, primary_release, 0},
        {"cuCtxSetCurrent", 4000, ctx_set_current, 0},
        {"cuCtxGetCurrent", 4000, ctx_get_current, 0},
        {"cuCtxSynchronize", 2000, ctx_synchronize, 0},
        {"cuModuleLoadDataEx", 2010, module_load, 0},
        {"cuModuleUnload", 2000, module_unload, 0},
        {"cuModuleGetFunction", 2000, module_get_function, 0},
        {"cuFuncGetAttribute", 2020, func_get_attribute, 0},
        {"cuFuncSetAttribute", 9000, func_set_attribute, 0},
        {"cuLaunchKernel", 4000, launch_kernel, 0},
        {"cuMemGetInfo", 3020, mem_get_info, 0},
        {"cuMemAlloc", 3020, mem_alloc, 0},
        {"cuMemFree", 3020, mem_free, 0},
        {"cuMemcpyHtoD", 3020, htod, 0},
        {"cuMemcpyDtoH", 3020, dtoh, 0},
        {"cuMemcpyDtoD", 3020, dtod, 0},
        {"cuMemcpyHtoDAsync", 3020, htod_async, 0},
        {"cuMemcpyDtoHAsync", 3020, dtoh_async, 0},
        {"cuMemsetD8", 3020, memset8, 0},
        {"cuMemsetD8Async", 3020, memset8_async, 0},
        {"cuStreamCreate", 2000, new_handle, 0},
        {"cuStreamDestroy", 4000, free_handle, 0},
        {"cuStreamSynchronize", 2000, no_op, 0},
        {"cuEventCreate", 2000, new_handle, 0},
        {"cuEventDestroy", 4000, free_handle, 0},
        {"cuEventRecord", 2000, event_record, 0},
        {"cuEventSynchronize", 2000, no_op, 0},
        {"cuStreamWaitEvent", 3020, no_op, 0},
        {"cuEventElapsedTime", 2000, event_elapsed, 0},
        {"cuStreamBeginCapture", 10010, begin_capture, 0},
        {"cuStreamEndCapture", 10000, end_capture, 0},
        {"cuGraphInstantiateWithFlags", 11040, graph_instantiate, 0},
        {"cuGraphLaunch", 10000, graph_launch, 0},
        {"cuGraphExecDestroy", 10000, no_op, 0},
        {"cuGraphDestroy", 10000, no_op, 0},
    };

    int cuGetProcAddress_v2(const char *sym, void **pfn, int ver, unsigned long long flags,
                            int *status)
    {
        const char *hide = getenv("FAKE_CUDA_HIDE");
        driver_version = env_int("FAKE_CUDA_VERSION", 13000);
        *pfn = 0;
        if (flags != 1)
            bad_flags++;
        if (ver > driver_version)
            return 1;
        for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) {
            if (strcmp(table[i].name, sym))
                continue;
            table[i].requested = ver;
            if (hide && !strcmp(hide, sym))
                break;
            if (ver < table[i].ver) {
                if (status) *status = 2;
                return 0;
            }
            *pfn = table[i].fn;
            if (ver >= 13000 && !strcmp(sym, "cuCtxSynchronize"))
                *pfn = (void *)ctx_synchronize_v13;
            if (status) *status = 0;
            return 0;
        }
        if (status) *status = 1;
        return 500;
    }

    int fake_requested(const char *sym)
    {
        for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
            if (!strcmp(table[i].name, sym))
                return table[i].requested;
        return -1;
    }
    int fake_unrequested(void)
    {
        for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
            if (!table[i].requested)
                return (int)i;
        return -1;
    }
    int fake_bad_flags(void) { return bad_flags; }
    int fake_wrong_abi(void) { return wrong_abi; }
    int fake_retains(void) { return retains; }
    int fake_set_current_calls(void) { return set_current_calls; }
    void *fake_current(void) { return current; }
    void fake_sync_error(int r) { next_sync_error = r; }
    int fake_max_dyn(void) { return max_dyn; }
    int fake_attr_sets(void) { return attr_sets; }
    int fake_nlaunch(void) { return nlaunch; }
    int fake_graph_launches(void) { return graph_launches; }
    const unsigned *fake_last_launch(void) { return last_launch; }
);

static char fake_path[256];
static void *fake;

/* Builds the fake driver and points LPVM_LIBCUDA at it; skips without cc. */
static void use_fake(void)
{
    char src[256];
    snprintf(src, sizeof src, "/tmp/lpvm-fakecuda-%d.c", (int)getpid());
    snprintf(fake_path, sizeof fake_path, "/tmp/lpvm-fakecuda-%d.so", (int)getpid());
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs(FAKE_SRC, f);
    fclose(f);
    const char *cc = getenv("CC");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -shared -fPIC -w -o %s %s 2>&1", cc && *cc ? cc : "cc",
             fake_path, src);
    int rc = system(cmd);
    unlink(src);
    if (rc != 0) {
        cr_log_warn("cuda: no C compiler to build the fake driver (%s)", cmd);
        cr_skip_test("cannot build the fake libcuda (%s)", cmd);
    }
    fake = dlopen(fake_path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(fake, "%s", dlerror());
    setenv("LPVM_LIBCUDA", fake_path, 1);
}

static void drop_fake(void)
{
    if (fake_path[0])
        unlink(fake_path);
}

static void *fake_fn(const char *name)
{
    void *p = dlsym(fake, name);
    cr_assert_not_null(p, "fake driver lacks %s", name);
    return p;
}
#define FAKE(name, type) ((type)fake_fn(name))

/* A test against the fake driver, built for it in the test's own process. */
#define FAKE_TEST(name) Test(cuda, fake_##name, .init = use_fake, .fini = drop_fake)


static void open_fake(RtCuDev *d, int ordinal)
{
    RtCuErr e;
    cr_assert_eq(rt_cu_device_open(ordinal, d, &e), 0, "%s", e.msg);
}

/* ------------------------------------------------------------ no driver */

static int have_real_driver(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

#define NEED_NO_DRIVER()                                                          \
    do {                                                                          \
        unsetenv("LPVM_LIBCUDA");                                                 \
        if (have_real_driver()) {                                                 \
            cr_log_warn("cuda: a CUDA driver is installed; no-driver test skipped"); \
            cr_skip_test("libcuda.so.1 is present on this machine");              \
        }                                                                         \
    } while (0)

static const char NO_DRIVER_MSG[] =
    "no CUDA driver (libcuda.so.1 not found): GPU actions need an NVIDIA driver";

Test(cuda, no_driver_clear_error)
{
    NEED_NO_DRIVER();
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert_eq(e.result, 0);
    cr_assert_eq(e.sticky, 0);
    cr_assert_str_eq(e.msg, NO_DRIVER_MSG);
    RtCuErr e2;
    cr_assert_eq(rt_cu_init(&e2), -1);
    cr_assert_str_eq(e2.msg, NO_DRIVER_MSG, "the second call reports the same");
    cr_assert_eq(rt_cu_init(NULL), -1);
}

static void expect_no_driver(int rc, RtCuErr *e, const char *what)
{
    cr_assert_eq(rc, -1, "%s succeeded without a driver", what);
    cr_assert_eq(e->fail, RT_CU_NO_DRIVER, "%s: fail %d", what, e->fail);
    cr_assert_str_eq(e->msg, NO_DRIVER_MSG, "%s", what);
    rt_cu_err_clear(e);
}

Test(cuda, no_driver_every_call_fails)
{
    NEED_NO_DRIVER();
    RtCuErr e;
    RtCuDev d;
    memset(&d, 0, sizeof d);
    int n = 7, v = 7;
    RtCuModule m = (RtCuModule)&d;
    RtCuFunc f = (RtCuFunc)&d;
    RtCuStream s = (RtCuStream)&d;
    RtCuEvent ev = (RtCuEvent)&d;
    RtCuGraph g = (RtCuGraph)&d;
    RtCuPtr p = 0x1000;
    unsigned grid[3] = {1, 1, 1};
    char buf[16] = "";
    size_t fb, tb;
    float ms;
    RtCuFuncInfo fi;
    expect_no_driver(rt_cu_device_count(&n, &e), &e, "device_count");
    cr_assert_eq(n, 0);
    expect_no_driver(rt_cu_driver_version(&v, &e), &e, "driver_version");
    expect_no_driver(rt_cu_device_open(0, &d, &e), &e, "device_open");
    cr_assert_null(d.ctx);
    expect_no_driver(rt_cu_bind(&d, &e), &e, "bind");
    expect_no_driver(rt_cu_mem_info(&d, &fb, &tb, &e), &e, "mem_info");
    expect_no_driver(rt_cu_sync(&d, &e), &e, "sync");
    expect_no_driver(rt_cu_module_load(&d, ".version 8.0", &m, NULL, &e), &e, "module_load");
    cr_assert_null(m);
    m = (RtCuModule)&d;
    expect_no_driver(rt_cu_function(&d, m, "k", &f, &e), &e, "function");
    cr_assert_null(f);
    f = (RtCuFunc)&d;
    expect_no_driver(rt_cu_func_info(&d, f, &fi, &e), &e, "func_info");
    expect_no_driver(rt_cu_launch(&d, f, grid, 4, 0, NULL, NULL, &e), &e, "launch");
    expect_no_driver(rt_cu_alloc(&d, 64, &p, &e), &e, "alloc");
    cr_assert_eq(p, 0);
    p = 0x1000;
    expect_no_driver(rt_cu_free(&d, p, &e), &e, "free");
    expect_no_driver(rt_cu_upload(&d, p, buf, 4, NULL, &e), &e, "upload");
    expect_no_driver(rt_cu_download(&d, buf, p, 4, s, &e), &e, "download");
    expect_no_driver(rt_cu_copy(&d, p, p, 4, &e), &e, "copy");
    expect_no_driver(rt_cu_memset(&d, p, 0, 4, NULL, &e), &e, "memset");
    expect_no_driver(rt_cu_stream_create(&d, &s, &e), &e, "stream_create");
    cr_assert_null(s);
    s = (RtCuStream)&d;
    expect_no_driver(rt_cu_stream_sync(&d, s, &e), &e, "stream_sync");
    expect_no_driver(rt_cu_event_create(&d, &ev, &e), &e, "event_create");
    cr_assert_null(ev);
    ev = (RtCuEvent)&d;
    expect_no_driver(rt_cu_event_record(&d, ev, s, &e), &e, "event_record");
    expect_no_driver(rt_cu_event_sync(&d, ev, &e), &e, "event_sync");
    expect_no_driver(rt_cu_event_elapsed(&d, ev, ev, &ms, &e), &e, "event_elapsed");
    expect_no_driver(rt_cu_capture_begin(&d, s, &e), &e, "capture_begin");
    expect_no_driver(rt_cu_capture_end(&d, s, &g, &e), &e, "capture_end");
    cr_assert_null(g);
    g = (RtCuGraph)&d;
    expect_no_driver(rt_cu_graph_launch(&d, g, s, &e), &e, "graph_launch");
    rt_cu_module_unload(&d, m);
    rt_cu_stream_destroy(&d, s);
    rt_cu_event_destroy(&d, ev);
    rt_cu_graph_destroy(&d, g);
    rt_cu_device_close(&d);
    rt_cu_device_close(NULL);
    cr_assert_eq(rt_cu_alloc(&d, 64, &p, NULL), -1, "a NULL error pointer is allowed");
}

static void *init_thread(void *arg)
{
    RtCuErr *e = arg;
    return (void *)(intptr_t)rt_cu_init(e);
}

Test(cuda, no_driver_init_from_threads)
{
    NEED_NO_DRIVER();
    pthread_t th[8];
    static RtCuErr errs[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, init_thread, &errs[i]), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_eq((intptr_t)r, -1);
        cr_assert_str_eq(errs[i].msg, NO_DRIVER_MSG);
    }
}

Test(cuda, libcuda_override_missing_file)
{
    setenv("LPVM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert(strstr(e.msg, "LPVM_LIBCUDA=/nonexistent/libcuda.so.1 did not load"), "%s", e.msg);
}

Test(cuda, libcuda_override_not_a_library)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/lpvm-notalib-%d.so", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("this is not an ELF file\n", f);
    fclose(f);
    setenv("LPVM_LIBCUDA", path, 1);
    RtCuErr e;
    int rc = rt_cu_init(&e);
    unlink(path);
    cr_assert_eq(rc, -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert(strstr(e.msg, "did not load"), "%s", e.msg);
    cr_assert(strstr(e.msg, path), "%s", e.msg);
}

Test(cuda, libcuda_override_without_get_proc_address)
{
    setenv("LPVM_LIBCUDA", "libm.so.6", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert(strstr(e.msg, "too old"), "%s", e.msg);
    cr_assert(strstr(e.msg, "cuGetProcAddress_v2"), "%s", e.msg);
}

Test(cuda, libcuda_override_toolkit_stub)
{
    const char *home = getenv("CUDA_HOME");
    char path[512];
    snprintf(path, sizeof path, "%s/lib64/stubs/libcuda.so", home && *home ? home : LPVM_CUDA_HOME);
    if (access(path, R_OK)) {
        cr_log_warn("cuda: %s not found, stub test skipped", path);
        cr_skip_test("no stub libcuda at %s", path);
    }
    setenv("LPVM_LIBCUDA", path, 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert_eq(e.result, 34);
    cr_assert(strstr(e.msg, "stub libcuda, not a driver"), "%s", e.msg);
    cr_assert(strstr(e.msg, path), "%s", e.msg);
}

Test(cuda, err_clear)
{
    RtCuErr e = {.fail = RT_CU_FAILED, .result = 700, .sticky = 1, .msg = "x"};
    rt_cu_err_clear(&e);
    cr_assert_eq(e.fail, RT_CU_OK);
    cr_assert_eq(e.result, 0);
    cr_assert_eq(e.sticky, 0);
    cr_assert_str_eq(e.msg, "");
    rt_cu_err_clear(NULL);
}

/* ------------------------------------------------------------ the fake driver */

FAKE_TEST(init_and_requested_versions)
{
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), 0, "%s", e.msg);
    int n, v;
    cr_assert_eq(rt_cu_device_count(&n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rt_cu_driver_version(&v, &e), 0);
    cr_assert_eq(v, 13000);
    int (*requested)(const char *) = FAKE("fake_requested", int (*)(const char *));
    /* Hand-checked against cudaTypedefs.h (PFN_<name>_v<version>). */
    cr_assert_eq(requested("cuMemAlloc"), 3020);
    cr_assert_eq(requested("cuMemcpyHtoD"), 3020);
    cr_assert_eq(requested("cuMemsetD8"), 3020);
    cr_assert_eq(requested("cuCtxSynchronize"), 2000, "the CUDA 13 form takes a context");
    cr_assert_eq(requested("cuDevicePrimaryCtxRelease"), 11000);
    cr_assert_eq(requested("cuStreamDestroy"), 4000);
    cr_assert_eq(requested("cuEventDestroy"), 4000);
    cr_assert_eq(requested("cuStreamBeginCapture"), 10010);
    cr_assert_eq(requested("cuGraphInstantiateWithFlags"), 11040);
    cr_assert_eq(requested("cuLaunchKernel"), 4000);
    cr_assert_eq(requested("cuModuleLoadDataEx"), 2010);
    cr_assert_eq(requested("cuFuncSetAttribute"), 9000);
    cr_assert_eq(FAKE("fake_unrequested", int (*)(void))(), -1, "an entry point was not resolved");
    cr_assert_eq(FAKE("fake_bad_flags", int (*)(void))(), 0,
                 "every lookup asks for legacy streams");
}

FAKE_TEST(device_open_and_close)
{
    RtCuDev d;
    open_fake(&d, 1);
    cr_assert_str_eq(d.name, "Fake GPU 1");
    cr_assert_str_eq(d.arch, "sm_90");
    cr_assert_eq(d.sm, 90);
    cr_assert_eq(d.cc_major, 9);
    cr_assert_eq(d.cc_minor, 0);
    cr_assert_eq(d.sm_count, 132);
    cr_assert_eq(d.smem_per_block, 49152);
    cr_assert_eq(d.smem_optin, 232448);
    cr_assert_eq(d.smem_per_sm, 233472);
    cr_assert_eq(d.max_threads_per_block, 1024);
    cr_assert_eq(d.warp_size, 32);
    cr_assert_eq(d.clock_khz, 0, "an optional attribute the driver refuses reads 0");
    cr_assert_eq(d.total_mem, (size_t)80 << 30);
    cr_assert_eq(d.driver_version, 13000);
    cr_assert_eq(d.ordinal, 1);
    cr_assert_eq((uintptr_t)d.ctx, 0x1001);
    cr_assert_eq(FAKE("fake_current", void *(*)(void))(), (void *)d.ctx);
    cr_assert_eq(FAKE("fake_retains", int (*)(void))(), 1);
    size_t fb, tb;
    RtCuErr e;
    cr_assert_eq(rt_cu_mem_info(&d, &fb, &tb, &e), 0);
    cr_assert_eq(fb, (size_t)70 << 30);
    cr_assert_eq(tb, (size_t)80 << 30);
    rt_cu_device_close(&d);
    cr_assert_null(d.ctx);
    cr_assert_eq(FAKE("fake_retains", int (*)(void))(), 0);
    cr_assert_null(FAKE("fake_current", void *(*)(void))());
    cr_assert_eq(rt_cu_sync(&d, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
}

FAKE_TEST(device_open_bad_ordinal)
{
    RtCuDev d;
    RtCuErr e;
    cr_assert_eq(rt_cu_device_open(2, &d, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    cr_assert_str_eq(e.msg, "no CUDA device 2 (this machine has 2: 0..1)");
    cr_assert_eq(rt_cu_device_open(-1, &d, &e), -1);
    cr_assert_null(d.ctx);
}

FAKE_TEST(memory_round_trip)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    unsigned char src[64], dst[64];
    for (int i = 0; i < 64; i++)
        src[i] = (unsigned char)(i * 5 + 1);
    RtCuPtr a, b;
    cr_assert_eq(rt_cu_alloc(&d, 64, &a, &e), 0, "%s", e.msg);
    cr_assert_eq(rt_cu_alloc(&d, 64, &b, &e), 0);
    cr_assert_eq(rt_cu_upload(&d, a, src, 64, NULL, &e), 0);
    cr_assert_eq(rt_cu_copy(&d, b, a, 64, &e), 0);
    cr_assert_eq(rt_cu_memset(&d, a, 0x5a, 32, NULL, &e), 0);
    cr_assert_eq(rt_cu_download(&d, dst, b, 64, NULL, &e), 0);
    cr_assert_eq(memcmp(dst, src, 64), 0);
    cr_assert_eq(rt_cu_download(&d, dst, a, 64, (RtCuStream)&d, &e), 0);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(dst[i], i < 32 ? 0x5a : src[i]);
    cr_assert_eq(rt_cu_free(&d, a, &e), 0);
    cr_assert_eq(rt_cu_free(&d, b, &e), 0);

    RtCuPtr z = 99;
    cr_assert_eq(rt_cu_alloc(&d, 0, &z, &e), 0, "zero bytes is no allocation");
    cr_assert_eq(z, 0);
    cr_assert_eq(rt_cu_free(&d, 0, &e), 0);
    cr_assert_eq(rt_cu_upload(&d, 0, src, 0, NULL, &e), 0);
    cr_assert_eq(rt_cu_upload(&d, 0, src, 4, NULL, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    rt_cu_device_close(&d);
}

FAKE_TEST(failed_call_message)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    RtCuPtr p = 5;
    cr_assert_eq(rt_cu_alloc(&d, (size_t)1 << 41, &p, &e), -1);
    cr_assert_eq(p, 0);
    cr_assert_eq(e.fail, RT_CU_FAILED);
    cr_assert_eq(e.result, 2);
    cr_assert_eq(e.sticky, 0);
    const char *want = "cuMemAlloc(p, bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of "
                       "memory at runtime/cuda.c:";
    cr_assert_eq(strncmp(e.msg, want, strlen(want)), 0, "%s", e.msg);
    cr_assert_gt(atoi(e.msg + strlen(want)), 0, "a line number follows: %s", e.msg);
    rt_cu_device_close(&d);
}

FAKE_TEST(sticky_fault)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    FAKE("fake_sync_error", void (*)(int))(700);
    cr_assert_eq(rt_cu_sync(&d, &e), -1);
    cr_assert_eq(e.fail, RT_CU_FAILED);
    cr_assert_eq(e.result, 700);
    cr_assert_eq(e.sticky, 1);
    cr_assert(strstr(e.msg, "cuCtxSynchronize() failed: CUDA_ERROR_ILLEGAL_ADDRESS (700): an "
                            "illegal memory access was encountered at runtime/cuda.c:"),
              "%s", e.msg);
    cr_assert(strstr(e.msg, "unusable"), "%s", e.msg);
    cr_assert_eq(FAKE("fake_wrong_abi", int (*)(void))(), 0);
    FAKE("fake_sync_error", void (*)(int))(4242);
    cr_assert_eq(rt_cu_sync(&d, &e), -1);
    cr_assert(strstr(e.msg, "unknown CUresult (4242)"), "%s", e.msg);
    cr_assert_eq(e.sticky, 0);
    cr_assert_eq(rt_cu_sync(&d, &e), 0);
    rt_cu_device_close(&d);
}

FAKE_TEST(jit_error_log)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    RtCuModule m = (RtCuModule)&d;
    char *info = (char *)&d;
    cr_assert_eq(rt_cu_module_load(&d, "// BAD ptx", &m, &info, &e), -1);
    cr_assert_null(m);
    cr_assert_null(info);
    cr_assert_eq(e.fail, RT_CU_JIT);
    cr_assert_eq(e.result, 218);
    cr_assert(strstr(e.msg, "cuModuleLoadDataEx"), "%s", e.msg);
    cr_assert(strstr(e.msg, "CUDA_ERROR_INVALID_PTX (218)"), "%s", e.msg);
    cr_assert(strstr(e.msg, "\nJIT log for sm_90:\nptxas application ptx input, line 3; error   "
                            ": Unknown symbol 'BAD'"),
              "%s", e.msg);
    cr_assert_eq(rt_cu_module_load(&d, ".version 8.0", &m, &info, &e), 0, "%s", e.msg);
    cr_assert_eq((uintptr_t)m, 0x2000);
    cr_assert_str_eq(info, "ptxas info    : fake info");
    free(info);
    cr_assert_eq(rt_cu_module_load(&d, NULL, &m, NULL, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    rt_cu_device_close(&d);
}

FAKE_TEST(function_lookup)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    RtCuModule m;
    RtCuFunc f;
    cr_assert_eq(rt_cu_module_load(&d, "ptx", &m, NULL, &e), 0);
    cr_assert_eq(rt_cu_function(&d, m, "k", &f, &e), 0);
    cr_assert_eq((uintptr_t)f, 0x3000);
    RtCuFuncInfo fi;
    cr_assert_eq(rt_cu_func_info(&d, f, &fi, &e), 0);
    cr_assert_eq(fi.regs, 32);
    cr_assert_eq(fi.max_threads, 1024);
    cr_assert_eq(rt_cu_function(&d, m, "nope", &f, &e), -1);
    cr_assert_null(f);
    cr_assert_eq(e.result, 500);
    cr_assert(strstr(e.msg, "CUDA_ERROR_NOT_FOUND"), "%s", e.msg);
    cr_assert(strstr(e.msg, "no kernel named 'nope'"), "%s", e.msg);
    rt_cu_module_unload(&d, m);
    rt_cu_device_close(&d);
}

FAKE_TEST(launch)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    int (*nlaunch)(void) = FAKE("fake_nlaunch", int (*)(void));
    int (*attr_sets)(void) = FAKE("fake_attr_sets", int (*)(void));
    const unsigned *(*last)(void) = FAKE("fake_last_launch", const unsigned *(*)(void));
    RtCuFunc f = (RtCuFunc)0x3000;
    RtCuPtr out;
    unsigned add = 7, got = 0;
    cr_assert_eq(rt_cu_alloc(&d, 4, &out, &e), 0);
    void *params[] = {&out, &add};

    unsigned grid[3] = {3, 2, 1};
    cr_assert_eq(rt_cu_launch(&d, f, grid, 4, 0, NULL, params, &e), 0, "%s", e.msg);
    const unsigned want[7] = {3, 2, 1, 128, 1, 1, 0};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(last()[i], want[i], "launch field %d", i);
    cr_assert_eq(rt_cu_download(&d, &got, out, 4, NULL, &e), 0);
    cr_assert_eq(got, 3 * 1000 + 128 + 7, "the parameters reached the kernel");

    cr_assert_eq(rt_cu_launch(&d, f, grid, 1, 40000, NULL, params, &e), 0);
    cr_assert_eq(attr_sets(), 0, "no opt-in at or below 48 KB");
    cr_assert_eq(rt_cu_launch(&d, f, grid, 32, 65536, NULL, params, &e), 0, "%s", e.msg);
    cr_assert_eq(attr_sets(), 1);
    cr_assert_eq(FAKE("fake_max_dyn", int (*)(void))(), 65536);
    cr_assert_eq(last()[3], 1024);
    cr_assert_eq(last()[6], 65536);
    cr_assert_eq(nlaunch(), 3);

    cr_assert_eq(rt_cu_launch(&d, f, grid, 4, 232449, NULL, params, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    cr_assert(strstr(e.msg, "232449 bytes") && strstr(e.msg, "at most 232448"), "%s", e.msg);
    cr_assert_eq(rt_cu_launch(&d, f, grid, 0, 0, NULL, params, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    cr_assert_eq(rt_cu_launch(&d, f, grid, 33, 0, NULL, params, &e), -1);
    cr_assert_str_eq(e.msg, "33 warps per block; the device allows 1..32");
    unsigned tall[3] = {1, 65536, 1};
    cr_assert_eq(rt_cu_launch(&d, f, tall, 4, 0, NULL, params, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    unsigned empty[3] = {0, 1, 1};
    cr_assert_eq(rt_cu_launch(&d, f, empty, 4, 0, NULL, params, &e), 0);
    cr_assert_eq(nlaunch(), 3, "refused and empty launches reach no driver");
    rt_cu_free(&d, out, &e);
    rt_cu_device_close(&d);
}

FAKE_TEST(streams_events_graphs)
{
    RtCuDev d;
    RtCuErr e;
    open_fake(&d, 0);
    RtCuStream s;
    RtCuEvent a, b;
    RtCuGraph g;
    float ms = 0;
    cr_assert_eq(rt_cu_stream_create(&d, &s, &e), 0);
    cr_assert_not_null(s);
    cr_assert_eq(rt_cu_event_create(&d, &a, &e), 0);
    cr_assert_eq(rt_cu_event_create(&d, &b, &e), 0);
    cr_assert_eq(rt_cu_event_record(&d, a, s, &e), 0);
    cr_assert_eq(rt_cu_event_record(&d, b, s, &e), 0);
    cr_assert_eq(rt_cu_event_sync(&d, b, &e), 0);
    cr_assert_eq(rt_cu_event_elapsed(&d, a, b, &ms, &e), 0);
    cr_assert_float_eq(ms, 1.5f, 0);
    cr_assert_eq(rt_cu_stream_sync(&d, s, &e), 0);

    cr_assert_eq(rt_cu_capture_begin(&d, NULL, &e), -1);
    cr_assert_eq(e.fail, RT_CU_INVALID);
    cr_assert(strstr(e.msg, "not the default stream"), "%s", e.msg);
    cr_assert_eq(rt_cu_capture_begin(&d, s, &e), 0, "%s", e.msg);
    cr_assert_eq(rt_cu_capture_end(&d, s, &g, &e), 0, "%s", e.msg);
    cr_assert_eq((uintptr_t)g, 0x5000);
    cr_assert_eq(rt_cu_graph_launch(&d, g, s, &e), 0);
    cr_assert_eq(FAKE("fake_graph_launches", int (*)(void))(), 1);
    cr_assert_eq(rt_cu_graph_launch(&d, NULL, s, &e), -1);
    rt_cu_graph_destroy(&d, g);
    rt_cu_event_destroy(&d, a);
    rt_cu_event_destroy(&d, b);
    rt_cu_stream_destroy(&d, s);
    rt_cu_device_close(&d);
}

typedef struct {
    RtCuDev *d;
    RtCuErr e;
    int rc;
    void *current;
} BindArg;

static void *bind_thread(void *p)
{
    BindArg *a = p;
    RtCuPtr q = 0;
    a->rc = rt_cu_alloc(a->d, 16, &q, &a->e) || rt_cu_free(a->d, q, &a->e);
    void *(*cur)(void) = (void *(*)(void))dlsym(fake, "fake_current");
    a->current = cur ? cur() : NULL;
    return NULL;
}

FAKE_TEST(other_thread_binds_context)
{
    RtCuDev d;
    open_fake(&d, 1);
    int (*calls)(void) = FAKE("fake_set_current_calls", int (*)(void));
    int before = calls();
    BindArg a = {.d = &d};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, bind_thread, &a), 0);
    pthread_join(th, NULL);
    cr_assert_eq(a.rc, 0, "%s", a.e.msg);
    cr_assert_eq(a.current, (void *)d.ctx, "the thread's current context is the device's");
    cr_assert_eq(calls(), before + 1, "set once in the new thread, not on every call");
    RtCuErr e;
    RtCuPtr p;
    cr_assert_eq(rt_cu_alloc(&d, 16, &p, &e), 0);
    cr_assert_eq(calls(), before + 1, "already current on this thread");
    rt_cu_free(&d, p, &e);
    rt_cu_device_close(&d);
}

FAKE_TEST(missing_entry_point)
{
    setenv("FAKE_CUDA_HIDE", "cuGraphLaunch", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert_eq(e.result, 500);
    cr_assert(strstr(e.msg, "has no entry point cuGraphLaunch for the CUDA 10.0 ABI"), "%s",
              e.msg);
    cr_assert(strstr(e.msg, fake_path), "%s", e.msg);
}

FAKE_TEST(driver_older_than_an_entry_point)
{
    setenv("FAKE_CUDA_VERSION", "11020", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert(strstr(e.msg, "the CUDA driver (CUDA 11.2) is older than "
                            "cuGraphInstantiateWithFlags needs (CUDA 11.4)"),
              "%s", e.msg);
}

FAKE_TEST(driver_12_0_is_enough)
{
    setenv("FAKE_CUDA_VERSION", "12000", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), 0, "%s", e.msg);
    int v;
    cr_assert_eq(rt_cu_driver_version(&v, &e), 0);
    cr_assert_eq(v, 12000);
}

FAKE_TEST(no_device)
{
    setenv("FAKE_CUDA_NDEV", "0", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DEVICE);
    cr_assert_str_eq(e.msg, "no CUDA device");
    int n = 5;
    cr_assert_eq(rt_cu_device_count(&n, &e), -1);
    cr_assert_eq(n, 0);
}

FAKE_TEST(init_reports_no_device)
{
    setenv("FAKE_CUDA_INIT", "100", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DEVICE);
    cr_assert(strstr(e.msg, "no CUDA device"), "%s", e.msg);
}

FAKE_TEST(init_fails)
{
    setenv("FAKE_CUDA_INIT", "999", 1);
    RtCuErr e;
    cr_assert_eq(rt_cu_init(&e), -1);
    cr_assert_eq(e.fail, RT_CU_NO_DRIVER);
    cr_assert_eq(e.result, 999);
    cr_assert(strstr(e.msg, "cuInit(0) failed: unknown CUresult (999)"), "%s", e.msg);
}

/* ------------------------------------------------------------ the GPU self-check */

Test(cuda, selfcheck_without_driver)
{
    NEED_NO_DRIVER();
    char *report = NULL;
    cr_assert_eq(lpvm_cuda_selfcheck(0, &report), LPVM_ERR_NO_GPU);
    cr_assert_not_null(report);
    cr_assert(strstr(report, NO_DRIVER_MSG), "%s", report);
    free(report);
    cr_assert_eq(lpvm_cuda_selfcheck(0, NULL), LPVM_ERR_INVALID);
}

/* The fake runs the check's kernels on the host (and replays captured
 * launches), so every step of the GPU check runs here. */
FAKE_TEST(selfcheck_runs_every_step)
{
    char *report = NULL;
    lpvm_status st = lpvm_cuda_selfcheck(1, &report);
    cr_assert_not_null(report);
    cr_assert_eq(st, LPVM_OK, "%s", report);
    cr_assert_null(strstr(report, "FAIL"), "%s", report);
    static const char *const steps[] = {
        "ok   device 1: Fake GPU 1, sm_90, 132 SMs",
        "ok   upload, memset, device copy, download (1000 words)",
        "ok   module from PTX; lpvm_check_axpb: 32 registers",
        "ok   missing kernel reported",
        "ok   elementwise kernel (8 blocks of 4 warps)",
        "ok   98304 bytes of dynamic shared memory (opt-in limit 232448)",
        "ok   too much shared memory refused",
        "ok   bad PTX refused with the JIT log",
        "Unknown symbol '%no_such_register'",
        "ok   stream: async copies, two launches, events 1.5000 ms apart",
        "ok   graph of two launches captured and replayed twice",
        "ok   device used from a second thread",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        cr_assert(strstr(report, steps[i]), "missing '%s' in:\n%s", steps[i], report);
    free(report);
    cr_assert_eq(FAKE("fake_retains", int (*)(void))(), 0, "the device was closed");
}

FAKE_TEST(selfcheck_bad_device)
{
    char *report = NULL;
    cr_assert_eq(lpvm_cuda_selfcheck(7, &report), LPVM_ERR_INVALID);
    cr_assert(strstr(report, "FAIL device open: no CUDA device 7"), "%s", report);
    free(report);
}

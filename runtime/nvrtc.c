/* runtime/nvrtc.c - NVRTC, found at run time and loaded with dlopen: CUDA C
 * text in, PTX text out (the second emitter's last step, CODEGEN.md 3).
 *
 * The build needs no CUDA toolkit: the few NVRTC entry points are declared
 * here with the C ABI they have had since CUDA 7, and resolved with dlsym.
 *
 * Where NVRTC is looked for, once per process (pthread_once; environment
 * changes after the first use are not seen):
 *   1. $LPVM_NVRTC, a library path. When set it is the only place tried: an
 *      explicit choice that fails is reported, never replaced by another
 *      NVRTC.
 *   2. $CUDA_HOME/lib64 then $CUDA_HOME/lib (CUDA_HOME from the environment,
 *      else the toolkit the library was built for, LPVM_CUDA_HOME), each for
 *      libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so;
 *   3. the same names through the loader path (LD_LIBRARY_PATH, ld.so.cache).
 * When nothing loads, the error names every place tried and why it failed.
 *
 * Compilation: --gpu-architecture=compute_XX (the arch table of codegen.h;
 * sm_90a -> compute_90a) and --fmad=false, so f32 mul and add stay separate
 * (mul.rn/add.rn in the PTX) as the interpreter computes them. No
 * -default-device: the CUDA C emitter marks every function (extern "C"
 * __global__ kernels, __device__ helpers), and a missing qualifier should be
 * an error, not silently device code. A failed compile returns NVRTC's log
 * (file(line): error: ...) as the error value. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

#ifndef LPVM_CUDA_HOME
#define LPVM_CUDA_HOME "/usr/local/cuda"
#endif

typedef int nvrtcResult; /* NVRTC_SUCCESS = 0 */
typedef struct NvrtcProgram *nvrtcProgram;

#define NVRTC_FNS(X)                                                               \
    X(nvrtcVersion, nvrtcResult, (int *, int *))                                   \
    X(nvrtcGetErrorString, const char *, (nvrtcResult))                            \
    X(nvrtcCreateProgram, nvrtcResult,                                             \
      (nvrtcProgram *, const char *, const char *, int, const char *const *,       \
       const char *const *))                                                       \
    X(nvrtcCompileProgram, nvrtcResult, (nvrtcProgram, int, const char *const *))  \
    X(nvrtcGetPTXSize, nvrtcResult, (nvrtcProgram, size_t *))                      \
    X(nvrtcGetPTX, nvrtcResult, (nvrtcProgram, char *))                            \
    X(nvrtcGetProgramLogSize, nvrtcResult, (nvrtcProgram, size_t *))               \
    X(nvrtcGetProgramLog, nvrtcResult, (nvrtcProgram, char *))                     \
    X(nvrtcDestroyProgram, nvrtcResult, (nvrtcProgram *))

static struct {
    void *handle;
    char *path;  /* what loaded */
    char *error; /* why nothing loaded */
#define X(fn, ret, args) ret(*fn) args;
    NVRTC_FNS(X)
#undef X
} nv;

static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

static const char *const lib_names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
enum { NLIB_NAMES = sizeof lib_names / sizeof lib_names[0] };

/* 0 when path loads and has every entry point; else why not, in sb. */
static int try_open(const char *path, RtStrbuf *why)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        if (e && !strncmp(e, path, strlen(path)))
            rt_sb_printf(why, "\n  %s", e);
        else
            rt_sb_printf(why, "\n  %s: %s", path, e ? e : "dlopen failed");
        return -1;
    }
#define X(fn, ret, args)                                                  \
    *(void **)&nv.fn = dlsym(h, #fn);                                     \
    if (!nv.fn) {                                                         \
        rt_sb_printf(why, "\n  %s: loaded, but has no %s", path, #fn);   \
        dlclose(h);                                                       \
        return -1;                                                        \
    }
    NVRTC_FNS(X)
#undef X
    nv.handle = h;
    nv.path = strdup(path);
    return 0;
}

static void nv_load(void)
{
    RtStrbuf why = {0};
    const char *over = getenv("LPVM_NVRTC");
    if (over && *over) {
        if (!try_open(over, &why))
            goto done;
        rt_sb_printf(&why, "\n(LPVM_NVRTC is set, so nothing else was tried)");
    } else {
        const char *home = getenv("CUDA_HOME");
        if (!home || !*home)
            home = LPVM_CUDA_HOME;
        static const char *const subdirs[] = {"lib64", "lib"};
        for (int d = 0; d < 2; d++)
            for (int i = 0; i < NLIB_NAMES; i++) {
                RtStrbuf p = {0};
                rt_sb_printf(&p, "%s/%s/%s", home, subdirs[d], lib_names[i]);
                char *path = rt_sb_finish(&p);
                int ok = path && !try_open(path, &why);
                free(path);
                if (ok)
                    goto done;
            }
        for (int i = 0; i < NLIB_NAMES; i++)
            if (!try_open(lib_names[i], &why))
                goto done;
        rt_sb_printf(&why, "\n(set LPVM_NVRTC to the library or CUDA_HOME to the toolkit)");
    }
    char *tried = rt_sb_finish(&why);
    RtStrbuf e = {0};
    rt_sb_printf(&e, "NVRTC not found; tried:%s", tried ? tried : " (out of memory)");
    free(tried);
    nv.error = rt_sb_finish(&e);
    return;
done:
    free(rt_sb_finish(&why));
}

int rt_nvrtc_load(const char **path, const char **err)
{
    pthread_once(&nv_once, nv_load);
    if (path)
        *path = nv.path;
    if (err)
        *err = nv.handle ? NULL : (nv.error ? nv.error : "NVRTC not found (out of memory)");
    return nv.handle ? 0 : -1;
}

int rt_nvrtc_version(int *major, int *minor)
{
    if (rt_nvrtc_load(NULL, NULL))
        return -1;
    return nv.nvrtcVersion(major, minor) ? -1 : 0;
}

/* Every NVRTC call goes through NV_CALL: the failing call's text, NVRTC's
 * name for the result and our location go into the error. */
#define NV_CALL(sb, fn, args) nv_check(nv.fn args, #fn #args, __FILE__, __LINE__, (sb))

static int nv_check(nvrtcResult r, const char *call, const char *file, int line, RtStrbuf *sb)
{
    if (r == 0)
        return 0;
    const char *name = nv.nvrtcGetErrorString(r);
    rt_sb_printf(sb, "%s failed: %s (%d) at %s:%d", call, name ? name : "?", r, file, line);
    return -1;
}

static char *program_log(nvrtcProgram prog)
{
    size_t n = 0;
    if (nv.nvrtcGetProgramLogSize(prog, &n) || n <= 1)
        return NULL;
    char *s = malloc(n);
    if (s && nv.nvrtcGetProgramLog(prog, s)) {
        free(s);
        return NULL;
    }
    return s;
}

static void set_out(char **dst, char *s)
{
    if (dst)
        *dst = s;
    else
        free(s);
}

int rt_nvrtc_compile_ex(const char *src, const char *name, const char *arch,
                        const char *const *extra, int nextra, char **ptx, char **log)
{
    *ptx = NULL;
    if (log)
        *log = NULL;
    if (!name)
        name = "kernel.cu";
    RtStrbuf e = {0};
    CgArch a;
    const char *lerr;
    if (!cg_arch_parse(arch, &a)) {
        rt_sb_printf(&e, "unknown GPU arch '%s' (expected one of: %s)", arch ? arch : "(null)",
                     cg_arch_list());
        set_out(log, rt_sb_finish(&e));
        return -1;
    }
    if (rt_nvrtc_load(NULL, &lerr)) {
        rt_sb_printf(&e, "%s", lerr);
        set_out(log, rt_sb_finish(&e));
        return -1;
    }
    if (nextra < 0 || nextra > 64) {
        rt_sb_printf(&e, "NVRTC option count %d out of range 0..64", nextra);
        set_out(log, rt_sb_finish(&e));
        return -1;
    }

    RtStrbuf archopt = {0};
    rt_sb_printf(&archopt, "--gpu-architecture=%s", cg_arch_compute(a));
    char *archs = rt_sb_finish(&archopt);
    const char *opts[2 + 64] = {archs, "--fmad=false"};
    int nopt = 2;
    for (int i = 0; i < nextra; i++)
        opts[nopt++] = extra[i];

    int rc = -1;
    nvrtcProgram prog = NULL;
    if (!archs) {
        rt_sb_printf(&e, "out of memory");
        goto out;
    }
    if (NV_CALL(&e, nvrtcCreateProgram, (&prog, src, name, 0, NULL, NULL)))
        goto out;
    RtStrbuf ce = {0};
    int failed = NV_CALL(&ce, nvrtcCompileProgram, (prog, nopt, opts));
    char *plog = program_log(prog);
    char *call = rt_sb_finish(&ce);
    if (failed) {
        rt_sb_printf(&e, "%s: NVRTC compile for %s failed:\n%s\n(%s)", name,
                     cg_arch_compute(a), plog ? plog : "(no log)", call ? call : "");
        free(plog);
        free(call);
        goto out;
    }
    free(call);
    size_t n = 0;
    if (NV_CALL(&e, nvrtcGetPTXSize, (prog, &n))) {
        free(plog);
        goto out;
    }
    char *s = malloc(n + 1);
    if (!s) {
        rt_sb_printf(&e, "out of memory for %zu bytes of PTX", n);
        free(plog);
        goto out;
    }
    if (NV_CALL(&e, nvrtcGetPTX, (prog, s))) {
        free(s);
        free(plog);
        goto out;
    }
    s[n] = 0;
    *ptx = s;
    set_out(log, plog);
    rc = 0;
out:
    if (prog)
        nv.nvrtcDestroyProgram(&prog);
    free(archs);
    if (rc)
        set_out(log, rt_sb_finish(&e));
    else
        free(rt_sb_finish(&e));
    return rc;
}

int rt_nvrtc_compile(const char *src, const char *name, const char *arch, char **ptx,
                     char **log)
{
    return rt_nvrtc_compile_ex(src, name, arch, NULL, 0, ptx, log);
}

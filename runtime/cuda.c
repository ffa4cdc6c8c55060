/* runtime/cuda.c - the CUDA driver API, found at run time: devices and their
 * primary contexts, modules from PTX or cubin (the driver's JIT, its log
 * captured into the error), launches, plain device memory, streams, events
 * and stream-captured graphs (CODEGEN.md 3).
 *
 * The build needs no CUDA toolkit and no driver: libcuda.so.1 ($LPVM_LIBCUDA
 * overrides the name; when set it is the only library tried) is opened with
 * dlopen, the one symbol taken with dlsym is cuGetProcAddress_v2 (CUDA 12.0
 * and later), and every other entry point comes from it. cuGetProcAddress
 * takes the base name ("cuMemAlloc") and the CUDA version of the ABI the
 * caller was written for, and returns the matching versioned function
 * (cuMemAlloc_v2); asking for a version newer than the driver is an error.
 * So each entry of CU_FNS names the version whose signature it declares,
 * taken from the toolkit's cudaTypedefs.h (PFN_<name>_v<version>). That
 * pins every ABI on any driver from 12.0 on, and a CUDA 13 renaming cannot
 * silently change one: cuCtxSynchronize, for example, has a CUDA 13 form
 * that takes a context; we ask for the CUDA 2.0 form, which still exists.
 * The types and enum values below are copied by number from cuda.h 13.0.
 *
 * Loading and cuInit happen once per process (pthread_once); the outcome,
 * an error included, is kept and reported by every later call. A device is
 * used through its primary context (never cuCtxCreate), made current on the
 * calling thread by every call that takes the device. Memory is plain
 * device allocations (cuMemAlloc), never managed memory.
 *
 * Errors are values: every driver call goes through CU(), which records the
 * call's text, the driver's name and description of the result and our
 * file:line in an RtCuErr. Faults that poison the context (illegal address,
 * launch failure, ...) are marked sticky: the process cannot use the GPU
 * afterwards. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUgraph_st *CUgraph;
typedef RtCuModule CUmodule;
typedef RtCuFunc CUfunction;
typedef RtCuStream CUstream;
typedef RtCuEvent CUevent;
typedef RtCuGraph CUgraphExec;
typedef RtCuPtr CUdeviceptr;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_JIT_COMPILATION_DISABLED = 223,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
};

enum { /* CUjit_option */
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

enum { /* CUfunction_attribute */
    CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
    CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3,
    CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
    CU_FUNC_ATTRIBUTE_PTX_VERSION = 5,
    CU_FUNC_ATTRIBUTE_BINARY_VERSION = 6,
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};

enum {
    CU_GET_PROC_ADDRESS_LEGACY_STREAM = 1,
    CU_GET_PROC_ADDRESS_SUCCESS = 0,
    CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND = 1,
    CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT = 2,
    CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
    CU_STREAM_DEFAULT = 0,
    CU_EVENT_DEFAULT = 0,
    CU_EVENT_DISABLE_TIMING = 2,
};

/* X(name, abi version, parameters): every entry point used, each at the
 * CUDA version whose signature is written here. */
#define CU_FNS(X)                                                                       \
    X(cuGetErrorName, 6000, (CUresult, const char **))                                  \
    X(cuGetErrorString, 6000, (CUresult, const char **))                                \
    X(cuDriverGetVersion, 2020, (int *))                                                \
    X(cuInit, 2000, (unsigned))                                                         \
    X(cuDeviceGetCount, 2000, (int *))                                                  \
    X(cuDeviceGet, 2000, (CUdevice *, int))                                             \
    X(cuDeviceGetName, 2000, (char *, int, CUdevice))                                   \
    X(cuDeviceGetAttribute, 2000, (int *, int, CUdevice))                               \
    X(cuDeviceTotalMem, 3020, (size_t *, CUdevice))                                     \
    X(cuDevicePrimaryCtxRetain, 7000, (CUcontext *, CUdevice))                          \
    X(cuDevicePrimaryCtxRelease, 11000, (CUdevice))                                     \
    X(cuCtxSetCurrent, 4000, (CUcontext))                                               \
    X(cuCtxGetCurrent, 4000, (CUcontext *))                                             \
    X(cuCtxSynchronize, 2000, (void))                                                   \
    X(cuModuleLoadDataEx, 2010, (CUmodule *, const void *, unsigned, int *, void **))   \
    X(cuModuleUnload, 2000, (CUmodule))                                                 \
    X(cuModuleGetFunction, 2000, (CUfunction *, CUmodule, const char *))                \
    X(cuFuncGetAttribute, 2020, (int *, int, CUfunction))                               \
    X(cuFuncSetAttribute, 9000, (CUfunction, int, int))                                 \
    X(cuLaunchKernel, 4000,                                                             \
      (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,  \
       CUstream, void **, void **))                                                     \
    X(cuMemGetInfo, 3020, (size_t *, size_t *))                                         \
    X(cuMemAlloc, 3020, (CUdeviceptr *, size_t))                                        \
    X(cuMemFree, 3020, (CUdeviceptr))                                                   \
    X(cuMemcpyHtoD, 3020, (CUdeviceptr, const void *, size_t))                          \
    X(cuMemcpyDtoH, 3020, (void *, CUdeviceptr, size_t))                                \
    X(cuMemcpyDtoD, 3020, (CUdeviceptr, CUdeviceptr, size_t))                           \
    X(cuMemcpyHtoDAsync, 3020, (CUdeviceptr, const void *, size_t, CUstream))           \
    X(cuMemcpyDtoHAsync, 3020, (void *, CUdeviceptr, size_t, CUstream))                 \
    X(cuMemsetD8, 3020, (CUdeviceptr, unsigned char, size_t))                           \
    X(cuMemsetD8Async, 3020, (CUdeviceptr, unsigned char, size_t, CUstream))            \
    X(cuStreamCreate, 2000, (CUstream *, unsigned))                                     \
    X(cuStreamDestroy, 4000, (CUstream))                                                \
    X(cuStreamSynchronize, 2000, (CUstream))                                            \
    X(cuEventCreate, 2000, (CUevent *, unsigned))                                       \
    X(cuEventDestroy, 4000, (CUevent))                                                  \
    X(cuEventRecord, 2000, (CUevent, CUstream))                                         \
    X(cuEventSynchronize, 2000, (CUevent))                                              \
    X(cuStreamWaitEvent, 3020, (CUstream, CUevent, unsigned))                           \
    X(cuEventElapsedTime, 2000, (float *, CUevent, CUevent))                            \
    X(cuStreamBeginCapture, 10010, (CUstream, int))                                     \
    X(cuStreamEndCapture, 10000, (CUstream, CUgraph *))                                 \
    X(cuGraphInstantiateWithFlags, 11040, (CUgraphExec *, CUgraph, unsigned long long)) \
    X(cuGraphLaunch, 10000, (CUgraphExec, CUstream))                                    \
    X(cuGraphExecDestroy, 10000, (CUgraphExec))                                         \
    X(cuGraphDestroy, 10000, (CUgraph))

typedef CUresult (*GetProcAddressFn)(const char *, void **, int, unsigned long long, int *);

static struct {
    void *lib;
    GetProcAddressFn get_proc;
    int ok;
    int driver_version;
    int ndev;
    RtCuErr init_err;
#define X(name, ver, params) CUresult (*name) params;
    CU_FNS(X)
#undef X
} cu;

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------ errors */

static void err_vset(RtCuErr *e, RtCuFail fail, int result, const char *fmt, va_list ap)
{
    if (!e)
        return;
    e->fail = fail;
    e->result = result;
    e->sticky = 0;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

__attribute__((format(printf, 4, 5))) static int err_set(RtCuErr *e, RtCuFail fail,
                                                          int result, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, fail, result, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 2, 3))) static void err_append(RtCuErr *e, const char *fmt, ...)
{
    if (!e)
        return;
    size_t n = strlen(e->msg);
    if (n + 1 >= sizeof e->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
    va_end(ap);
}

void rt_cu_err_clear(RtCuErr *e)
{
    if (e) {
        e->fail = RT_CU_OK;
        e->result = 0;
        e->sticky = 0;
        e->msg[0] = 0;
    }
}

/* Faults after which the context is unusable (CUDA documents these as
 * leaving the process in an inconsistent state). */
static int is_sticky(CUresult r)
{
    switch (r) {
    case 700: case 702: case 710: case 714: case 715: case 716: case 717: case 718: case 719:
        return 1;
    }
    return 0;
}

/* Names for results seen before cuGetErrorName is resolved. */
static const char *early_name(CUresult r)
{
    switch (r) {
    case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
    case 3: return "CUDA_ERROR_NOT_INITIALIZED";
    case CUDA_ERROR_STUB_LIBRARY:
        return "CUDA_ERROR_STUB_LIBRARY (this is the toolkit's stub libcuda, not a driver)";
    case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
    case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
    case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH: return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
    }
    return "unknown CUresult";
}

static int cu_check(CUresult r, const char *call, const char *file, int line, RtCuErr *e)
{
    if (r == CUDA_SUCCESS)
        return 0;
    if (!e)
        return -1;
    const char *name = NULL, *desc = NULL;
    if (cu.cuGetErrorName && cu.cuGetErrorName(r, &name))
        name = NULL;
    if (cu.cuGetErrorString && cu.cuGetErrorString(r, &desc))
        desc = NULL;
    err_set(e, RT_CU_FAILED, r, "%s failed: %s (%d)%s%s at %s:%d", call,
            name ? name : early_name(r), r, desc ? ": " : "", desc ? desc : "", file, line);
    if (is_sticky(r)) {
        e->sticky = 1;
        err_append(e, "\n(the CUDA context is now unusable: GPU work in this process will "
                      "keep failing; restart it)");
    }
    return -1;
}

/* Every driver call: CU(e, cuMemAlloc, (&p, n)) records "cuMemAlloc(&p, n)". */
#define CU(e, fn, args) cu_check(cu.fn args, #fn #args, __FILE__, __LINE__, (e))

/* ------------------------------------------------------------ loading */

static int resolve(const char *name, int ver, void **fn, RtCuErr *e)
{
    int status = CU_GET_PROC_ADDRESS_SUCCESS;
    *fn = NULL;
    CUresult r = cu.get_proc(name, fn, ver, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status);
    if (r == CUDA_SUCCESS && *fn)
        return 0;
    char drv[32] = "unknown";
    if (cu.driver_version)
        snprintf(drv, sizeof drv, "%d.%d", cu.driver_version / 1000,
                 cu.driver_version % 1000 / 10);
    if (r == CUDA_ERROR_INVALID_VALUE && cu.driver_version && ver > cu.driver_version)
        return err_set(e, RT_CU_NO_DRIVER, r,
                       "the CUDA driver (CUDA %s) is older than %s needs (CUDA %d.%d)", drv,
                       name, ver / 1000, ver % 1000 / 10);
    if (r != CUDA_SUCCESS && r != CUDA_ERROR_NOT_FOUND)
        return err_set(e, RT_CU_NO_DRIVER, r, "cuGetProcAddress_v2(\"%s\", %d) failed: %s (%d)",
                       name, ver, early_name(r), r);
    const char *why = status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                          ? "it is newer than the requested ABI version"
                          : "the driver does not have it";
    return err_set(e, RT_CU_NO_DRIVER, CUDA_ERROR_NOT_FOUND,
                   "the CUDA driver (CUDA %s) has no entry point %s for the CUDA %d.%d ABI (%s)",
                   drv, name, ver / 1000, ver % 1000 / 10, why);
}

static int load(RtCuErr *e)
{
    const char *over = getenv("LPVM_LIBCUDA");
    const char *path = over && *over ? over : "libcuda.so.1";
    cu.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!cu.lib) {
        const char *d = dlerror();
        if (over && *over)
            return err_set(e, RT_CU_NO_DRIVER, 0,
                           "no CUDA driver: LPVM_LIBCUDA=%s did not load: %s", over,
                           d ? d : "dlopen failed");
        return err_set(e, RT_CU_NO_DRIVER, 0,
                       "no CUDA driver (libcuda.so.1 not found): GPU actions need an NVIDIA "
                       "driver");
    }
    *(void **)&cu.get_proc = dlsym(cu.lib, "cuGetProcAddress_v2");
    if (!cu.get_proc)
        return err_set(e, RT_CU_NO_DRIVER, 0,
                       "the CUDA driver %s is too old: it has no cuGetProcAddress_v2 (CUDA "
                       "12.0 or newer is needed)",
                       path);
    if (!resolve("cuDriverGetVersion", 2020, (void **)&cu.cuDriverGetVersion, e) &&
        cu.cuDriverGetVersion(&cu.driver_version))
        cu.driver_version = 0;
#define X(name, ver, params)                              \
    if (resolve(#name, ver, (void **)&cu.name, e)) {      \
        err_append(e, " [%s]", path);                     \
        return -1;                                        \
    }
    CU_FNS(X)
#undef X
    CUresult r = cu.cuInit(0);
    if (r == CUDA_ERROR_NO_DEVICE)
        return err_set(e, RT_CU_NO_DEVICE, r, "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
    if (cu_check(r, "cuInit(0)", __FILE__, __LINE__, e)) {
        e->fail = RT_CU_NO_DRIVER;
        return -1;
    }
    if (CU(e, cuDeviceGetCount, (&cu.ndev)))
        return -1;
    if (cu.ndev <= 0)
        return err_set(e, RT_CU_NO_DEVICE, 0, "no CUDA device");
    return 0;
}

static void load_once(void)
{
    if (load(&cu.init_err) == 0)
        cu.ok = 1;
}

int rt_cu_init(RtCuErr *e)
{
    pthread_once(&cu_once, load_once);
    if (cu.ok)
        return 0;
    if (e)
        *e = cu.init_err;
    return -1;
}

int rt_cu_driver_version(int *version, RtCuErr *e)
{
    if (rt_cu_init(e))
        return -1;
    *version = cu.driver_version;
    return 0;
}

int rt_cu_device_count(int *n, RtCuErr *e)
{
    *n = 0;
    if (rt_cu_init(e))
        return -1;
    *n = cu.ndev;
    return 0;
}

/* ------------------------------------------------------------ devices */

/* X(field, CUdevice_attribute, required) */
#define CU_ATTRS(X)                            \
    X(max_threads_per_block, 1, 1)             \
    X(smem_per_block, 8, 1)                    \
    X(warp_size, 10, 1)                        \
    X(clock_khz, 13, 0)                        \
    X(sm_count, 16, 1)                         \
    X(mem_clock_khz, 36, 0)                    \
    X(mem_bus_bits, 37, 0)                     \
    X(l2_bytes, 38, 0)                         \
    X(max_threads_per_sm, 39, 0)               \
    X(cc_major, 75, 1)                         \
    X(cc_minor, 76, 1)                         \
    X(smem_per_sm, 81, 0)                      \
    X(regs_per_sm, 82, 0)                      \
    X(smem_optin, 97, 1)                       \
    X(max_blocks_per_sm, 106, 0)

static int bind(const RtCuDev *d, RtCuErr *e)
{
    if (rt_cu_init(e))
        return -1;
    if (!d || !d->ctx)
        return err_set(e, RT_CU_INVALID, 0, "no open CUDA device");
    CUcontext cur = NULL;
    if (CU(e, cuCtxGetCurrent, (&cur)))
        return -1;
    if (cur == d->ctx)
        return 0;
    return CU(e, cuCtxSetCurrent, (d->ctx));
}

int rt_cu_bind(const RtCuDev *d, RtCuErr *e) { return bind(d, e); }

int rt_cu_device_open(int ordinal, RtCuDev *d, RtCuErr *e)
{
    memset(d, 0, sizeof *d);
    if (rt_cu_init(e))
        return -1;
    if (ordinal < 0 || ordinal >= cu.ndev)
        return err_set(e, RT_CU_INVALID, 0, "no CUDA device %d (this machine has %d: 0..%d)",
                       ordinal, cu.ndev, cu.ndev - 1);
    CUdevice dev;
    if (CU(e, cuDeviceGet, (&dev, ordinal)))
        return -1;
#define X(field, attr, required)                                                   \
    if (required && CU(e, cuDeviceGetAttribute, (&d->field, attr, dev)))          \
        return -1;                                                                 \
    if (!required && cu.cuDeviceGetAttribute(&d->field, attr, dev) != CUDA_SUCCESS) \
        d->field = 0;
    CU_ATTRS(X)
#undef X
    if (CU(e, cuDeviceGetName, (d->name, (int)sizeof d->name, dev)) ||
        CU(e, cuDeviceTotalMem, (&d->total_mem, dev)))
        return -1;
    d->name[sizeof d->name - 1] = 0;
    d->ordinal = ordinal;
    d->handle = dev;
    d->sm = d->cc_major * 10 + d->cc_minor;
    snprintf(d->arch, sizeof d->arch, "sm_%d", d->sm);
    d->driver_version = cu.driver_version;
    CUcontext ctx = NULL;
    if (CU(e, cuDevicePrimaryCtxRetain, (&ctx, dev)))
        return -1;
    if (CU(e, cuCtxSetCurrent, (ctx))) {
        cu.cuDevicePrimaryCtxRelease(dev);
        return -1;
    }
    d->ctx = ctx;
    return 0;
}

void rt_cu_device_close(RtCuDev *d)
{
    if (!d || !d->ctx || !cu.ok)
        return;
    CUcontext cur = NULL;
    if (cu.cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == d->ctx)
        cu.cuCtxSetCurrent(NULL);
    cu.cuDevicePrimaryCtxRelease(d->handle);
    d->ctx = NULL;
}

int rt_cu_mem_info(const RtCuDev *d, size_t *free_bytes, size_t *total_bytes, RtCuErr *e)
{
    *free_bytes = *total_bytes = 0;
    if (bind(d, e))
        return -1;
    return CU(e, cuMemGetInfo, (free_bytes, total_bytes));
}

int rt_cu_sync(const RtCuDev *d, RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    return CU(e, cuCtxSynchronize, ());
}

/* ------------------------------------------------------------ modules */

enum { JIT_LOG_BYTES = 16384 };

static int is_jit_error(CUresult r)
{
    return r == CUDA_ERROR_INVALID_PTX || r == CUDA_ERROR_INVALID_IMAGE ||
           r == CUDA_ERROR_NO_BINARY_FOR_GPU || r == CUDA_ERROR_JIT_COMPILER_NOT_FOUND ||
           r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION || r == CUDA_ERROR_JIT_COMPILATION_DISABLED;
}

int rt_cu_module_load(const RtCuDev *d, const void *image, RtCuModule *m, char **info,
                      RtCuErr *e)
{
    *m = NULL;
    if (info)
        *info = NULL;
    if (!image)
        return err_set(e, RT_CU_INVALID, 0, "no module image (PTX or cubin) to load");
    if (bind(d, e))
        return -1;
    char *elog = calloc(1, JIT_LOG_BYTES), *ilog = calloc(1, JIT_LOG_BYTES);
    if (!elog || !ilog) {
        free(elog);
        free(ilog);
        return err_set(e, RT_CU_FAILED, 0, "out of memory for the JIT logs");
    }
    int opt[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                 CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
    void *val[] = {elog, (void *)(uintptr_t)JIT_LOG_BYTES, ilog, (void *)(uintptr_t)JIT_LOG_BYTES};
    int rc = CU(e, cuModuleLoadDataEx, (m, image, 4, opt, val));
    elog[JIT_LOG_BYTES - 1] = ilog[JIT_LOG_BYTES - 1] = 0;
    if (rc) {
        *m = NULL;
        if (e && is_jit_error(e->result))
            e->fail = RT_CU_JIT;
        if (e && e->result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
            err_append(e, "\n(the driver, CUDA %d.%d, is older than the PTX ISA version of this "
                          "module)", cu.driver_version / 1000, cu.driver_version % 1000 / 10);
        err_append(e, "\nJIT log for %s:\n%s", d->arch, *elog ? elog : "(empty)");
        if (*ilog)
            err_append(e, "\n%s", ilog);
    } else if (info && *ilog) {
        *info = strdup(ilog);
    }
    free(elog);
    free(ilog);
    return rc;
}

void rt_cu_module_unload(const RtCuDev *d, RtCuModule m)
{
    if (m && !bind(d, NULL))
        cu.cuModuleUnload(m);
}

int rt_cu_function(const RtCuDev *d, RtCuModule m, const char *name, RtCuFunc *f, RtCuErr *e)
{
    *f = NULL;
    if (!m || !name)
        return err_set(e, RT_CU_INVALID, 0, "no module or kernel name");
    if (bind(d, e))
        return -1;
    if (CU(e, cuModuleGetFunction, (f, m, name))) {
        *f = NULL;
        if (e && e->result == CUDA_ERROR_NOT_FOUND)
            err_append(e, "\n(the module has no kernel named '%s')", name);
        return -1;
    }
    return 0;
}

int rt_cu_func_info(const RtCuDev *d, RtCuFunc f, RtCuFuncInfo *fi, RtCuErr *e)
{
    memset(fi, 0, sizeof *fi);
    if (!f)
        return err_set(e, RT_CU_INVALID, 0, "no kernel");
    if (bind(d, e))
        return -1;
    if (CU(e, cuFuncGetAttribute, (&fi->regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f)) ||
        CU(e, cuFuncGetAttribute, (&fi->static_smem, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f)) ||
        CU(e, cuFuncGetAttribute, (&fi->local_bytes, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f)) ||
        CU(e, cuFuncGetAttribute,
           (&fi->max_threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f)) ||
        CU(e, cuFuncGetAttribute, (&fi->ptx_version, CU_FUNC_ATTRIBUTE_PTX_VERSION, f)) ||
        CU(e, cuFuncGetAttribute, (&fi->binary_version, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f)))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ launch */

int rt_cu_launch(const RtCuDev *d, RtCuFunc f, const unsigned grid[3], unsigned warps,
                 unsigned smem, RtCuStream s, void **params, RtCuErr *e)
{
    if (!f || !grid)
        return err_set(e, RT_CU_INVALID, 0, "launch without a kernel or a grid");
    if (bind(d, e))
        return -1;
    if (!grid[0] || !grid[1] || !grid[2])
        return 0;
    if (grid[0] > 0x7fffffffu || grid[1] > 65535 || grid[2] > 65535)
        return err_set(e, RT_CU_INVALID, 0,
                       "grid (%u, %u, %u) beyond the limits (2147483647, 65535, 65535)",
                       grid[0], grid[1], grid[2]);
    unsigned max_warps =
        (unsigned)(d->max_threads_per_block > 0 ? d->max_threads_per_block : 1024) / 32;
    if (warps < 1 || warps > max_warps)
        return err_set(e, RT_CU_INVALID, 0, "%u warps per block; the device allows 1..%u",
                       warps, max_warps);
    if (smem > (unsigned)d->smem_optin)
        return err_set(e, RT_CU_INVALID, 0,
                       "the kernel needs %u bytes of dynamic shared memory; %s (%s) allows at "
                       "most %d per block",
                       smem, d->name, d->arch, d->smem_optin);
    if (smem > RT_CU_SMEM_DEFAULT &&
        CU(e, cuFuncSetAttribute, (f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem)))
        return -1;
    return CU(e, cuLaunchKernel,
              (f, grid[0], grid[1], grid[2], 32 * warps, 1, 1, smem, s, params, NULL));
}

/* ------------------------------------------------------------ memory */

int rt_cu_alloc(const RtCuDev *d, size_t bytes, RtCuPtr *p, RtCuErr *e)
{
    *p = 0;
    if (bind(d, e))
        return -1;
    if (bytes == 0)
        return 0;
    if (CU(e, cuMemAlloc, (p, bytes))) {
        *p = 0;
        return -1;
    }
    return 0;
}

int rt_cu_free(const RtCuDev *d, RtCuPtr p, RtCuErr *e)
{
    if (!p)
        return 0;
    if (bind(d, e))
        return -1;
    return CU(e, cuMemFree, (p));
}

int rt_cu_upload(const RtCuDev *d, RtCuPtr dst, const void *src, size_t n, RtCuStream s,
                 RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    if (n == 0)
        return 0;
    if (!dst || !src)
        return err_set(e, RT_CU_INVALID, 0, "upload of %zu bytes with a null pointer", n);
    if (s)
        return CU(e, cuMemcpyHtoDAsync, (dst, src, n, s));
    return CU(e, cuMemcpyHtoD, (dst, src, n));
}

int rt_cu_download(const RtCuDev *d, void *dst, RtCuPtr src, size_t n, RtCuStream s,
                   RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    if (n == 0)
        return 0;
    if (!dst || !src)
        return err_set(e, RT_CU_INVALID, 0, "download of %zu bytes with a null pointer", n);
    if (s)
        return CU(e, cuMemcpyDtoHAsync, (dst, src, n, s));
    return CU(e, cuMemcpyDtoH, (dst, src, n));
}

int rt_cu_copy(const RtCuDev *d, RtCuPtr dst, RtCuPtr src, size_t n, RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    if (n == 0)
        return 0;
    if (!dst || !src)
        return err_set(e, RT_CU_INVALID, 0, "device copy of %zu bytes with a null pointer", n);
    return CU(e, cuMemcpyDtoD, (dst, src, n));
}

int rt_cu_memset(const RtCuDev *d, RtCuPtr dst, unsigned char byte, size_t n, RtCuStream s,
                 RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    if (n == 0)
        return 0;
    if (!dst)
        return err_set(e, RT_CU_INVALID, 0, "memset of %zu bytes at a null pointer", n);
    if (s)
        return CU(e, cuMemsetD8Async, (dst, byte, n, s));
    return CU(e, cuMemsetD8, (dst, byte, n));
}

/* ------------------------------------------------------------ streams, events */

int rt_cu_stream_create(const RtCuDev *d, RtCuStream *s, RtCuErr *e)
{
    *s = NULL;
    if (bind(d, e))
        return -1;
    return CU(e, cuStreamCreate, (s, CU_STREAM_DEFAULT));
}

void rt_cu_stream_destroy(const RtCuDev *d, RtCuStream s)
{
    if (s && !bind(d, NULL))
        cu.cuStreamDestroy(s);
}

int rt_cu_stream_sync(const RtCuDev *d, RtCuStream s, RtCuErr *e)
{
    if (bind(d, e))
        return -1;
    return CU(e, cuStreamSynchronize, (s));
}

int rt_cu_event_create(const RtCuDev *d, RtCuEvent *ev, RtCuErr *e)
{
    *ev = NULL;
    if (bind(d, e))
        return -1;
    return CU(e, cuEventCreate, (ev, CU_EVENT_DEFAULT));
}

int rt_cu_event_create_order(const RtCuDev *d, RtCuEvent *ev, RtCuErr *e)
{
    *ev = NULL;
    if (bind(d, e))
        return -1;
    return CU(e, cuEventCreate, (ev, CU_EVENT_DISABLE_TIMING));
}

void rt_cu_event_destroy(const RtCuDev *d, RtCuEvent ev)
{
    if (ev && !bind(d, NULL))
        cu.cuEventDestroy(ev);
}

int rt_cu_event_record(const RtCuDev *d, RtCuEvent ev, RtCuStream s, RtCuErr *e)
{
    if (!ev)
        return err_set(e, RT_CU_INVALID, 0, "no event");
    if (bind(d, e))
        return -1;
    return CU(e, cuEventRecord, (ev, s));
}

int rt_cu_event_sync(const RtCuDev *d, RtCuEvent ev, RtCuErr *e)
{
    if (!ev)
        return err_set(e, RT_CU_INVALID, 0, "no event");
    if (bind(d, e))
        return -1;
    return CU(e, cuEventSynchronize, (ev));
}

int rt_cu_stream_wait_event(const RtCuDev *d, RtCuStream s, RtCuEvent ev, RtCuErr *e)
{
    if (!ev)
        return err_set(e, RT_CU_INVALID, 0, "no event");
    if (bind(d, e))
        return -1;
    return CU(e, cuStreamWaitEvent, (s, ev, 0));
}

int rt_cu_event_elapsed(const RtCuDev *d, RtCuEvent start, RtCuEvent end, float *ms, RtCuErr *e)
{
    *ms = 0;
    if (!start || !end)
        return err_set(e, RT_CU_INVALID, 0, "no event");
    if (bind(d, e))
        return -1;
    return CU(e, cuEventElapsedTime, (ms, start, end));
}

/* ------------------------------------------------------------ graphs */

int rt_cu_capture_begin(const RtCuDev *d, RtCuStream s, RtCuErr *e)
{
    if (!s)
        return err_set(e, RT_CU_INVALID, 0,
                       "graph capture needs a created stream, not the default stream");
    if (bind(d, e))
        return -1;
    return CU(e, cuStreamBeginCapture, (s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
}

int rt_cu_capture_end(const RtCuDev *d, RtCuStream s, RtCuGraph *g, RtCuErr *e)
{
    *g = NULL;
    if (!s)
        return err_set(e, RT_CU_INVALID, 0, "no capturing stream");
    if (bind(d, e))
        return -1;
    CUgraph graph = NULL;
    if (CU(e, cuStreamEndCapture, (s, &graph)))
        return -1;
    int rc = CU(e, cuGraphInstantiateWithFlags, (g, graph, 0));
    cu.cuGraphDestroy(graph);
    if (rc)
        *g = NULL;
    return rc;
}

int rt_cu_graph_launch(const RtCuDev *d, RtCuGraph g, RtCuStream s, RtCuErr *e)
{
    if (!g)
        return err_set(e, RT_CU_INVALID, 0, "no graph");
    if (bind(d, e))
        return -1;
    return CU(e, cuGraphLaunch, (g, s));
}

void rt_cu_graph_destroy(const RtCuDev *d, RtCuGraph g)
{
    if (g && !bind(d, NULL))
        cu.cuGraphExecDestroy(g);
}

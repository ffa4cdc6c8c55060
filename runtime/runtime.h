/* runtime/runtime.h - the runtime module: the public API (include/lpvm.h)
 * on top of the internal modules, the CUDA driver, NVRTC and the caches.
 * Declarations are grouped under the file that defines them. */
#ifndef LPVM_RUNTIME_H
#define LPVM_RUNTIME_H

#include <stddef.h>

#include "lpvm.h"
#include "lang/lang.h"
#include "vm/vm.h"

typedef struct RtGpuKernel RtGpuKernel; /* gpu.c */

/* ------------------------------------------------------- strbuf.c */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} RtStrbuf;
void rt_sb_printf(RtStrbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *rt_sb_finish(RtStrbuf *sb); /* malloc'd text, NULL if allocation failed */

/* ------------------------------------------------------- nvrtc.c
 * NVRTC through dlopen ($LPVM_NVRTC, else $CUDA_HOME/lib64, lib, the loader
 * path); loaded once per process, thread-safe. */
/* 0 and the loaded path; else -1 and why (names every place tried). Both
 * strings are owned by the module and live as long as the process. */
int rt_nvrtc_load(const char **path, const char **err);
int rt_nvrtc_version(int *major, int *minor); /* 0 ok, -1 when not loadable */
/* CUDA C -> PTX for arch (sm_XX or compute_XX of CG_ARCHS), --fmad=false.
 * 0 ok: *ptx malloc'd, *log the warnings or NULL. -1: *ptx NULL, *log the
 * error (NVRTC's log on a failed compile). log may be NULL. */
int rt_nvrtc_compile(const char *src, const char *name, const char *arch, char **ptx,
                     char **log);
/* The same with up to 64 extra NVRTC options. */
int rt_nvrtc_compile_ex(const char *src, const char *name, const char *arch,
                        const char *const *extra, int nextra, char **ptx, char **log);

/* ------------------------------------------------------- cuda.c
 * The CUDA driver API, found at run time (libcuda.so.1, or $LPVM_LIBCUDA),
 * loaded and cuInit'ed once per process, thread-safe. A device is used
 * through its primary context, which every call taking the device makes
 * current on the calling thread. Calls return 0, or -1 with *e filled (e may
 * be NULL). Sizes of 0 and empty grids are no-ops. */
typedef unsigned long long RtCuPtr;     /* CUdeviceptr; 0 is null */
typedef struct CUmod_st *RtCuModule;
typedef struct CUfunc_st *RtCuFunc;
typedef struct CUstream_st *RtCuStream; /* NULL: the legacy default stream */
typedef struct CUevent_st *RtCuEvent;
typedef struct CUgraphExec_st *RtCuGraph;

typedef enum {
    RT_CU_OK,
    RT_CU_NO_DRIVER, /* no usable libcuda: absent, a stub, too old */
    RT_CU_NO_DEVICE, /* a driver and no device */
    RT_CU_INVALID,   /* a bad argument, caught before the driver */
    RT_CU_FAILED,    /* a driver call failed: result is its CUresult */
    RT_CU_JIT,       /* the module did not compile or load: msg ends with the JIT log */
} RtCuFail;

typedef struct {
    RtCuFail fail;
    int result;     /* the failing call's CUresult, 0 when the failure is ours */
    int sticky;     /* a fault that left the context unusable (illegal address, ...) */
    /* "cuMemAlloc(p, bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory at
     * runtime/cuda.c:612", or our own message */
    char msg[4096];
} RtCuErr;

enum { RT_CU_SMEM_DEFAULT = 48 * 1024 }; /* dynamic shared memory without opt-in */

typedef struct {
    int ordinal, handle;  /* handle: the CUdevice */
    struct CUctx_st *ctx; /* the retained primary context; NULL when closed */
    char name[256];
    char arch[16];        /* "sm_90" */
    int sm;               /* 90 */
    int cc_major, cc_minor;
    int driver_version;   /* 13000 = CUDA 13.0 */
    size_t total_mem;
    int sm_count, warp_size, max_threads_per_block, max_threads_per_sm, max_blocks_per_sm;
    int smem_per_block;   /* 48 KB: without opt-in */
    int smem_optin;       /* the most dynamic shared memory a block can opt in to */
    int smem_per_sm, regs_per_sm, l2_bytes;
    int clock_khz, mem_clock_khz, mem_bus_bits; /* 0 where the driver does not say */
} RtCuDev;

typedef struct {
    int regs, static_smem, local_bytes, max_threads;
    int ptx_version, binary_version; /* 90 = sm_90 / PTX 9.0 */
} RtCuFuncInfo;

void rt_cu_err_clear(RtCuErr *e);
int rt_cu_init(RtCuErr *e);                        /* the driver and >= 1 device */
int rt_cu_driver_version(int *version, RtCuErr *e); /* 13000 = CUDA 13.0 */
int rt_cu_device_count(int *n, RtCuErr *e);
int rt_cu_device_open(int ordinal, RtCuDev *d, RtCuErr *e); /* retains the primary context */
void rt_cu_device_close(RtCuDev *d);
int rt_cu_bind(const RtCuDev *d, RtCuErr *e); /* d's context current on this thread */
int rt_cu_mem_info(const RtCuDev *d, size_t *free_bytes, size_t *total_bytes, RtCuErr *e);
int rt_cu_sync(const RtCuDev *d, RtCuErr *e); /* cuCtxSynchronize */
/* image: NUL-terminated PTX text or a cubin. On a failed JIT, e->fail is
 * RT_CU_JIT and e->msg ends with the JIT's error log. *info (may be NULL):
 * the JIT's info log, malloc'd, or NULL when empty. */
int rt_cu_module_load(const RtCuDev *d, const void *image, RtCuModule *m, char **info,
                      RtCuErr *e);
void rt_cu_module_unload(const RtCuDev *d, RtCuModule m);
int rt_cu_function(const RtCuDev *d, RtCuModule m, const char *name, RtCuFunc *f, RtCuErr *e);
int rt_cu_func_info(const RtCuDev *d, RtCuFunc f, RtCuFuncInfo *fi, RtCuErr *e);
/* grid[3] blocks of 32*warps threads, smem bytes of dynamic shared memory
 * (above RT_CU_SMEM_DEFAULT the kernel's limit is raised first), params as
 * cuLaunchKernel takes them (one pointer per kernel parameter). */
int rt_cu_launch(const RtCuDev *d, RtCuFunc f, const unsigned grid[3], unsigned warps,
                 unsigned smem, RtCuStream s, void **params, RtCuErr *e);
int rt_cu_alloc(const RtCuDev *d, size_t bytes, RtCuPtr *p, RtCuErr *e); /* cuMemAlloc */
int rt_cu_free(const RtCuDev *d, RtCuPtr p, RtCuErr *e);
/* s NULL: synchronous copies; else asynchronous on s. */
int rt_cu_upload(const RtCuDev *d, RtCuPtr dst, const void *src, size_t n, RtCuStream s,
                 RtCuErr *e);
int rt_cu_download(const RtCuDev *d, void *dst, RtCuPtr src, size_t n, RtCuStream s,
                   RtCuErr *e);
int rt_cu_copy(const RtCuDev *d, RtCuPtr dst, RtCuPtr src, size_t n, RtCuErr *e);
int rt_cu_memset(const RtCuDev *d, RtCuPtr dst, unsigned char byte, size_t n, RtCuStream s,
                 RtCuErr *e);
int rt_cu_stream_create(const RtCuDev *d, RtCuStream *s, RtCuErr *e);
void rt_cu_stream_destroy(const RtCuDev *d, RtCuStream s);
int rt_cu_stream_sync(const RtCuDev *d, RtCuStream s, RtCuErr *e);
int rt_cu_event_create(const RtCuDev *d, RtCuEvent *ev, RtCuErr *e);
/* an event for ordering only (no timestamps: cheaper to record) */
int rt_cu_event_create_order(const RtCuDev *d, RtCuEvent *ev, RtCuErr *e);
void rt_cu_event_destroy(const RtCuDev *d, RtCuEvent ev);
int rt_cu_event_record(const RtCuDev *d, RtCuEvent ev, RtCuStream s, RtCuErr *e);
/* later work on s waits (on the GPU) for ev's recorded work */
int rt_cu_stream_wait_event(const RtCuDev *d, RtCuStream s, RtCuEvent ev, RtCuErr *e);
int rt_cu_event_sync(const RtCuDev *d, RtCuEvent ev, RtCuErr *e);
int rt_cu_event_elapsed(const RtCuDev *d, RtCuEvent start, RtCuEvent end, float *ms,
                        RtCuErr *e);
/* Stream capture into a graph: begin, launches on s, end (instantiates). */
int rt_cu_capture_begin(const RtCuDev *d, RtCuStream s, RtCuErr *e);
int rt_cu_capture_end(const RtCuDev *d, RtCuStream s, RtCuGraph *g, RtCuErr *e);
int rt_cu_graph_launch(const RtCuDev *d, RtCuGraph g, RtCuStream s, RtCuErr *e);
void rt_cu_graph_destroy(const RtCuDev *d, RtCuGraph g);

/* ------------------------------------------------------- cuda_check.c
 * lpvm_cuda_selfcheck (include/lpvm.h). */

/* ------------------------------------------------------- cache.c
 * Compiled kernels (PTX or cubin) by key, in memory and on disk: $LPVM_CACHE,
 * else ~/.cache/lpvm. The caller builds the key (CODEGEN.md 3; it must hold
 * the codegen version); the whole key is stored and compared. Thread-safe;
 * concurrent processes sharing the directory are safe. Bad entries on disk
 * are removed and read as misses; disk failures never fail a call, they
 * show in the status. */
#define RT_CACHE_FORMAT 1 /* the entry file format; bump when it changes */

typedef struct RtCache RtCache;

typedef struct {
    int disk;             /* 1: entries are read from and written to dir */
    char dir[1024];       /* the directory in use ("" when memory only) */
    char disk_note[1536]; /* why there is no disk cache, or the last disk problem */
    unsigned long mem_hits, disk_hits, misses, puts;
    unsigned long disk_writes, disk_errors, corrupt; /* corrupt: bad entries removed */
} RtCacheStatus;

/* dir: the directory; NULL for $LPVM_CACHE or ~/.cache/lpvm; "" for memory
 * only. NULL only when out of memory. */
RtCache *rt_cache_open(const char *dir);
void rt_cache_close(RtCache *c);
/* 1 on a hit: *data malloc'd (a NUL after its *len bytes); 0 on a miss. */
int rt_cache_get(RtCache *c, const char *key, void **data, size_t *len);
/* 0, or -1 when out of memory (disk failures show in the status only). */
int rt_cache_put(RtCache *c, const char *key, const void *data, size_t len);
void rt_cache_status(RtCache *c, RtCacheStatus *st);
/* The file holding key's entry; -1 ("") when there is no disk cache. */
int rt_cache_path(RtCache *c, const char *key, char *buf, size_t n);


/* ------------------------------------------------------- context.c
 * The objects behind the public handles. A context owns its error message
 * and its device; modules own their kernels; a kernel owns one arena with
 * its specialized program (and, on a GPU, its loaded module). */
struct lpvm_context {
    lpvm_options opt;
    char arch[16];      /* the arch code is generated for */
    int gpu;            /* 1: dev is open */
    RtCuDev dev;
    RtCache *cache;
    char *err;          /* the last failure's message */
    char *output;       /* interpreter printf/print output of the last launch */
};

struct lpvm_buffer {
    lpvm_context *ctx;
    size_t n;
    void *host;         /* the interpreter's memory */
    RtCuPtr dptr;       /* the GPU's memory */
};

/* Records the message (printf-style) and returns st. */
lpvm_status rt_fail(lpvm_context *ctx, lpvm_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes ownership of a malloc'd message. */
lpvm_status rt_fail_take(lpvm_context *ctx, lpvm_status st, char *msg);
/* One line per diagnostic (file:line:col: error: ...). */
lpvm_status rt_fail_diags(lpvm_context *ctx, lpvm_status st, const VmDiags *d);
void rt_clear_error(lpvm_context *ctx);

/* ------------------------------------------------------- module.c */
struct lpvm_kernel {
    lpvm_module *mod;
    char *name, *spec;  /* as asked for */
    VmArena *arena;
    Prog *prog;
    Kernel *k;          /* specialized, layouts known */
    RtGpuKernel *gpu;   /* compiled and loaded; NULL on the interpreter */
    lpvm_kernel *next;
};

struct lpvm_module {
    lpvm_context *ctx;
    char *src, *filename;
    size_t len;
    char **names;
    int nnames;
    LangSpecLine *specs; /* the file's // spec: lines */
    int nspecs;
    lpvm_kernel *kernels;
};


/* ------------------------------------------------------- gpu.c
 * A kernel on the GPU: lowered to TIR, emitted by the context's backend,
 * JIT-loaded (PTX cached by CODEGEN.md 3's key), launched with the grid
 * evaluated on the host. rt_gpu_text needs no GPU (lpvm compile). */
lpvm_status rt_gpu_compile(lpvm_context *ctx, Kernel *k, RtGpuKernel **out);
void rt_gpu_kernel_free(lpvm_context *ctx, RtGpuKernel *g);
lpvm_status rt_gpu_text(lpvm_context *ctx, Kernel *k, lpvm_text what, uint64_t div16, char **text);
/* The PTX cache key of k for a backend and arch, the PTX version the TIR
 * needs and a divisibility class (malloc'd; NULL: out of memory). */
char *rt_gpu_cache_key(Kernel *k, const char *arch, bool nvrtc, int ptx_needed, uint64_t div16);
/* The divisibility class of a launch (CgOptions.div16): args as bound
 * (tensor device addresses in .i), vals from vm_launch_bind. */
uint64_t rt_gpu_div16(const Kernel *k, const VmArg *args, const int64_t *vals);
lpvm_status rt_gpu_launch(lpvm_context *ctx, Kernel *k, RtGpuKernel *g, const VmArg *args,
                          int nargs, lpvm_stream stream);
/* module.c: checks args against k's signature into VmArgs (device
 * addresses in .i on a GPU context). */
lpvm_status rt_bind_args(lpvm_context *ctx, Kernel *k, const lpvm_arg *args, size_t nargs,
                         VmArg *out);

#endif

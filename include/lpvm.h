/* lpvm.h - the public C API of lpvm, a virtual machine for low-precision GPU
 * kernels. This is the only public header: liblpvm.so exports lpvm_* and
 * nothing else (libLLVM and every internal module are hidden inside it).
 *
 * Conventions
 *  - Every fallible call returns an lpvm_status; LPVM_OK is 0.
 *  - Strings the library returns through `char **` are malloc'd and freed
 *    with lpvm_free(). On failure such an out-string holds the error
 *    message (file:line:col: error: ..., with the source line and a caret
 *    for language errors) when the call documents it.
 *  - The library never prints, never exits and never aborts on user input. */
#ifndef LPVM_H
#define LPVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LPVM_API __attribute__((visibility("default")))

enum { LPVM_MAX_RANK = 8 }; /* the most dims a tensor has */

typedef enum {
    LPVM_OK = 0,
    LPVM_ERR_INVALID,   /* a bad argument: null pointer, unknown name, ... */
    LPVM_ERR_SOURCE,    /* kernel source or an expression did not parse/check */
    LPVM_ERR_NOMEM,     /* allocation failed */
    LPVM_ERR_NO_GPU,    /* a GPU action without a usable driver or device */
    LPVM_ERR_TOOLCHAIN, /* LLVM, NVRTC or the driver's JIT reported an error */
    LPVM_ERR_RUNTIME,   /* a fault while running (interpreter or GPU) */
} lpvm_status;

LPVM_API const char *lpvm_status_string(lpvm_status s);
LPVM_API const char *lpvm_version(void);
LPVM_API void lpvm_free(void *p);

/* ---- introspection for kernel authors (what `lpvm dtypes` / `lpvm layout` print) */

/* The dtype table: name, bits, kind, min, max, smallest positive value and
 * the range of exactly representable integers, one row per dtype. */
LPVM_API lpvm_status lpvm_dtype_table(char **text);

/* The ownership picture of a 2-D register layout given as a layout
 * expression ("local(2,1) * spatial(8,4) * local(1,2)"): for each element,
 * the thread and local index holding it. On a malformed expression returns
 * LPVM_ERR_SOURCE with a located message (column and caret) in *text. */
LPVM_API lpvm_status lpvm_layout_picture(const char *expr, char **text);


/* ---- contexts: a GPU, or the CPU interpreter (the reference semantics) */

typedef enum {
    LPVM_DEVICE_AUTO = 0, /* the GPU when a driver and device are present, else the interpreter */
    LPVM_DEVICE_GPU,      /* the GPU or an LPVM_ERR_NO_GPU error */
    LPVM_DEVICE_INTERP,   /* always the interpreter */
} lpvm_device;

typedef enum {
    LPVM_BACKEND_LLVM = 0, /* TIR -> LLVM IR -> NVPTX (libLLVM inside liblpvm.so) */
    LPVM_BACKEND_NVRTC,    /* TIR -> CUDA C -> NVRTC (loaded at run time) */
} lpvm_backend;

typedef struct {
    lpvm_device device;
    lpvm_backend backend;
    const char *arch;      /* "sm_90", ...; NULL: the GPU's own, sm_90 without a GPU */
    const char *cache_dir; /* NULL: $LPVM_CACHE or ~/.cache/lpvm; "" disables the disk cache */
} lpvm_options;

typedef struct lpvm_context lpvm_context;
typedef struct lpvm_module lpvm_module;
typedef struct lpvm_kernel lpvm_kernel;
typedef struct lpvm_buffer lpvm_buffer;
typedef void *lpvm_stream; /* NULL: the default stream */

/* opt may be NULL (all defaults). On failure *ctx may still be set so that
 * lpvm_error_message can say why; destroy it either way. */
LPVM_API lpvm_status lpvm_context_create(const lpvm_options *opt, lpvm_context **ctx);
LPVM_API void lpvm_context_destroy(lpvm_context *ctx);
/* The message of the context's last failure ("" if none): language errors
 * as file:line:col with the source line and a caret, the driver's JIT log for
 * PTX failures, the failing call for driver errors. */
LPVM_API const char *lpvm_error_message(const lpvm_context *ctx);
/* "interpreter" or the GPU's name ("NVIDIA H100 80GB HBM3"). */
LPVM_API const char *lpvm_device_name(const lpvm_context *ctx);
LPVM_API int lpvm_is_gpu(const lpvm_context *ctx);

/* ---- modules and kernels */

/* Parses src (all kernels of one file). filename names it in messages. */
LPVM_API lpvm_status lpvm_module_load(lpvm_context *ctx, const char *src, const char *filename,
                                      lpvm_module **mod);
LPVM_API void lpvm_module_destroy(lpvm_module *mod);
LPVM_API int lpvm_module_kernel_count(const lpvm_module *mod);
LPVM_API const char *lpvm_module_kernel_name(const lpvm_module *mod, int i);
/* The file's `// spec:` lines, the specializations its tests use: line i's
 * spec string, and in *kernel the kernel it is for (NULL: every kernel). */
LPVM_API int lpvm_module_spec_count(const lpvm_module *mod);
LPVM_API const char *lpvm_module_spec(const lpvm_module *mod, int i, const char **kernel);

/* Specializes, checks and infers layouts (and on a GPU context compiles)
 * kernel `name` (NULL: the module's first) for `spec` ("wt=u3,group=128";
 * NULL or "" for the defaults). The kernel belongs to the module. */
LPVM_API lpvm_status lpvm_kernel_get(lpvm_module *mod, const char *name, const char *spec,
                                     lpvm_kernel **k);

typedef enum {
    LPVM_TEXT_SOURCE, /* canonical source after specialization and inference */
    LPVM_TEXT_TIR,    /* the thread-level IR */
    LPVM_TEXT_LLVM,   /* LLVM IR (LLVM backend) */
    LPVM_TEXT_CUDA,   /* CUDA C (NVRTC backend) */
    LPVM_TEXT_PTX,    /* PTX of the context's backend and arch */
} lpvm_text;
LPVM_API lpvm_status lpvm_kernel_text(lpvm_kernel *k, lpvm_text what, char **text);
/* The same for one divisibility variant (the runtime compiles one per
 * pattern of launch arguments that are multiples of 16): bit j of div16
 * says that the kernel's j-th parameter (tensor address or integer scalar,
 * shape identifiers included, in signature order) is a multiple of 16;
 * LPVM_DIV16_ALL is what aligned buffers and shapes give. lpvm_kernel_text
 * is the variant 0 (nothing known). */
#define LPVM_DIV16_ALL (~(uint64_t)0)
LPVM_API lpvm_status lpvm_kernel_text_variant(lpvm_kernel *k, lpvm_text what, uint64_t div16,
                                              char **text);

/* The kernel's explicit parameters in signature order (the arguments
 * lpvm_launch takes; shape identifiers are bound, not passed). */
typedef struct {
    const char *name;
    int is_tensor;
    const char *dtype; /* element dtype of a tensor, or i32/i64/f32 */
    int bits;          /* of the dtype */
    int rank;          /* tensors */
} lpvm_param_info;
LPVM_API int lpvm_kernel_param_count(const lpvm_kernel *k);
LPVM_API lpvm_status lpvm_kernel_param(const lpvm_kernel *k, int i, lpvm_param_info *info);
/* The shape tensor parameter i has in a launch where `values` gives the
 * shape identifiers and integer scalars by name ("n=1000,k=256"). */
LPVM_API lpvm_status lpvm_kernel_param_shape(lpvm_kernel *k, int i, const char *values,
                                             int *rank, int64_t shape[LPVM_MAX_RANK]);

/* ---- buffers: device memory on a GPU context, host memory on the interpreter */
LPVM_API lpvm_status lpvm_buffer_alloc(lpvm_context *ctx, size_t nbytes, lpvm_buffer **buf);
LPVM_API void lpvm_buffer_free(lpvm_buffer *buf);
LPVM_API size_t lpvm_buffer_size(const lpvm_buffer *buf);
LPVM_API lpvm_status lpvm_buffer_upload(lpvm_buffer *buf, size_t offset, const void *src, size_t n);
LPVM_API lpvm_status lpvm_buffer_download(const lpvm_buffer *buf, size_t offset, void *dst, size_t n);

/* ---- launching */

typedef enum { LPVM_ARG_TENSOR, LPVM_ARG_I32, LPVM_ARG_I64, LPVM_ARG_F32 } lpvm_arg_kind;

/* One argument per kernel parameter, in signature order (shape identifiers
 * are not passed: they are bound from the tensors' shapes). A tensor
 * carries its buffer, its element dtype (which must equal the parameter's),
 * its shape (elements) and its byte size (0: the buffer's size); the byte
 * size must hold the shape: ceil(numel * bits / 8) bytes. */
typedef struct {
    lpvm_arg_kind kind;
    lpvm_buffer *buffer;
    const char *dtype;
    int rank;
    int64_t shape[LPVM_MAX_RANK];
    size_t nbytes;
    int64_t i; /* I32, I64 */
    double f;  /* F32 */
} lpvm_arg;

LPVM_API lpvm_arg lpvm_arg_tensor(lpvm_buffer *buf, const char *dtype, int rank, const int64_t *shape);
LPVM_API lpvm_arg lpvm_arg_i32(int32_t v);
LPVM_API lpvm_arg lpvm_arg_i64(int64_t v);
LPVM_API lpvm_arg lpvm_arg_f32(float v);

/* Binds shape identifiers, checks argument count, dtypes, shapes, byte
 * sizes and assumptions, evaluates the kernel's grid and runs it (an empty
 * grid is a no-op). On the interpreter the call returns when the kernel is
 * done; on a GPU it is asynchronous on `stream` (lpvm_synchronize waits). */
LPVM_API lpvm_status lpvm_launch(lpvm_kernel *k, const lpvm_arg *args, size_t nargs,
                                 lpvm_stream stream);
LPVM_API lpvm_status lpvm_synchronize(lpvm_context *ctx);
/* printf/print output of the interpreter's last launch ("" on a GPU, where
 * it goes to the driver's printf buffer on stdout). */
LPVM_API const char *lpvm_launch_output(const lpvm_context *ctx);

/* ---- diagnostics of the GPU path */

/* The driver layer's check on a real GPU: hand-written PTX through every
 * driver call lpvm makes (module load, launch, copies, streams, events,
 * graphs). LPVM_OK and a report of what ran; LPVM_ERR_NO_GPU without a
 * driver or device; else the first failure. *report: lpvm_free. */
LPVM_API lpvm_status lpvm_cuda_selfcheck(int ordinal, char **report);

/* ---- data helpers for host programs and tests */

/* Bytes of numel elements of dtype in the memory image (ceil(numel*bits/8));
 * 0 for an unknown dtype. */
LPVM_API size_t lpvm_dtype_bytes(const char *dtype, int64_t numel);
LPVM_API int lpvm_dtype_bits(const char *dtype); /* 0: unknown */
/* Fills dst with numel random elements of dtype (a counter-based generator,
 * so a seed gives the same data everywhere): floats uniform in [-1, 1)
 * rounded to the dtype, integers uniform over their whole range, bool 0/1. */
LPVM_API lpvm_status lpvm_fill_random(void *dst, const char *dtype, int64_t numel, uint64_t seed);
/* Element i of a memory image of dtype, as a double (exact for every dtype
 * but 64-bit integers); NaN for an unknown dtype. */
LPVM_API double lpvm_value(const char *dtype, const void *data, int64_t i);
/* Compares numel elements of got with ref (memory images of dtype) under a
 * tolerance class: "exact" (NULL), "ulp:N" or "acc:K" (runtime/compare.c).
 * LPVM_OK when every element is within it, LPVM_ERR_RUNTIME otherwise;
 * *report (may be NULL; lpvm_free): the first mismatches, the count and the
 * largest error with its index. */
LPVM_API lpvm_status lpvm_compare(const char *dtype, const void *ref, const void *got, int64_t numel,
                                  const char *tol, char **report);

/* ---- benchmarking (CODEGEN.md 5; runtime/bench.c). GPU contexts only:
 * on the interpreter every call below returns LPVM_ERR_NO_GPU (after its
 * arguments are checked). All times are CUDA-event times in microseconds. */

typedef struct {
    int b2b_launches; /* launches per back-to-back run; 0: 50 */
    int b2b_runs;     /* back-to-back runs, median taken; 0: 30 */
    int single_runs;  /* single-launch runs, median taken; 0: 100 */
    int warmup;       /* untimed launches first; 0: 5 */
    int flush_l2;     /* 1: before each single launch, memset a scratch buffer of 2x L2 */
    double budget_s;  /* 0: 30. Expected GPU time of one mode above this: fewer
                       * runs (at least 3) and launches (at least 2), as the result says */
} lpvm_bench_opts;

typedef struct {
    double b2b_us, b2b_min_us, b2b_max_us;          /* per launch, median over runs */
    double single_us, single_min_us, single_max_us; /* median over runs */
    double enqueue_us;  /* host time to queue one launch */
    int b2b_launches, b2b_runs, single_runs; /* what was run */
} lpvm_bench_result;

/* Queues one launch of argument set `set` (0 <= set < nsets) on `stream`. */
typedef lpvm_status (*lpvm_bench_fn)(void *user, int set, lpvm_stream stream);

/* Times fn with the two methods of CODEGEN.md 5 on a stream of its own:
 * (1) back to back: b2b_launches calls queued between two events (behind a
 * kernel that holds the GPU until they are all queued), divided by their
 * count, the median of b2b_runs runs; (2) single launch: events around one
 * call, the median of single_runs runs. Calls rotate over the nsets argument
 * sets (launch i of a run, run r: set (r + i) % nsets), so that with sets
 * larger than L2 together their data comes from memory. o may be NULL. */
LPVM_API lpvm_status lpvm_bench_callback(lpvm_context *ctx, lpvm_bench_fn fn, void *user, int nsets,
                                         const lpvm_bench_opts *o, lpvm_bench_result *r);
/* lpvm_bench_callback over lpvm_launch(k, arg_sets[set], nargs, stream). */
LPVM_API lpvm_status lpvm_bench(lpvm_kernel *k, const lpvm_arg *const *arg_sets, int nsets,
                                size_t nargs, const lpvm_bench_opts *o, lpvm_bench_result *r);
/* Device-to-device copy bandwidth in GB/s (1e9 bytes/s): bytes read + bytes
 * written over the event time of one copy of `bytes`, the median of 10. */
LPVM_API lpvm_status lpvm_bench_copy_bandwidth(lpvm_context *ctx, size_t bytes, double *gbps);

/* The buffer's device address (for handing it to cuBLAS); 0 on the interpreter. */
LPVM_API uint64_t lpvm_buffer_device_ptr(const lpvm_buffer *buf);

typedef struct {
    char name[256];
    int cc_major, cc_minor, sm_count, l2_bytes;
    size_t total_mem;
    int clock_khz, mem_clock_khz, mem_bus_bits; /* 0 where the driver does not say */
} lpvm_device_info;
/* The context's GPU; on the interpreter name "interpreter", the rest 0, and
 * LPVM_ERR_NO_GPU. */
LPVM_API lpvm_status lpvm_device_get_info(const lpvm_context *ctx, lpvm_device_info *info);

#ifdef __cplusplus
}
#endif
#endif

/* runtime/gpu.c - a kernel on the GPU: the back half of the pipeline.
 *
 *   Kernel --cg_lower--> TIR --cg_emit_llvm | cg_emit_cuda + NVRTC--> PTX
 *          --cache (CODEGEN.md 3 key)--> --rt_cu_module_load--> function
 *
 * rt_gpu_text runs the same stages without a GPU (lpvm compile, tests).
 * The cache key: the canonical specialized source + backend + arch + PTX
 * version + CG_VERSION + LLVM version + NVRTC version + the divisibility
 * class.
 *
 * Divisibility specialization (VM.md 1, as Triton): at launch every tensor
 * address and i32/i64 scalar (shape identifiers included) is classed as a
 * multiple of 16 or not; the bit pattern (CgOptions.div16) selects one
 * compiled variant, lowered on first use and kept in a short list. The
 * variant for pattern 0 (nothing known) is compiled at load, reports the
 * errors, and serves any launch once the list is full. LPVM_DIV16=0 in the
 * environment launches pattern 0 always (to measure what the facts buy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

enum { RT_GPU_VARIANTS = 8 };
typedef struct {
    uint64_t div16;
    RtCuModule mod;
    RtCuFunc fn;
    TirKernel *tir; /* its params say how to marshal the launch */
} RtGpuVariant;

/* Workspaces (VM.md 2: zeroed, per launch) come from a pool kept with the
 * kernel: one buffer per WORKSPACE instruction, grown to the largest size
 * launched, zeroed by an asynchronous memset on the launch's stream before
 * the kernel. An ordering event is recorded after each such launch; a
 * launch on another stream than the last one waits for it on the GPU
 * (cuStreamWaitEvent), so two launches of the kernel never share a buffer
 * while one runs. (The same handle is the same stream: a stream destroyed
 * with work pending keeps its handle until that work is done.) Growing a
 * buffer and freeing the kernel wait for the event on the host. So a
 * launch with a workspace costs a memset and an event record, no
 * allocation and no host wait: workspace kernels (split-k) can be timed
 * back to back. Like the variant list, the pool has no lock: one kernel
 * object is launched from one host thread at a time. */
enum { RT_GPU_WS = 8 };

struct RtGpuKernel {
    VmArena *arena;
    RtGpuVariant v[RT_GPU_VARIANTS];
    int nv;
    RtCuPtr ws[RT_GPU_WS];
    size_t ws_cap[RT_GPU_WS];
    RtCuEvent ws_done; /* recorded after the last launch that used the pool */
    RtCuStream ws_last; /* that launch's stream */
    bool ws_pending;
};

static lpvm_status lower(lpvm_context *ctx, Kernel *k, uint64_t div16, VmArena *a, TirKernel **tir)
{
    CgArch arch;
    cg_arch_parse(ctx->arch, &arch);
    CgOptions opt = {.sm = cg_arch_sm(arch), .div16 = div16};
    VmDiags d;
    vm_diags_init(&d, a);
    if (cg_lower(k, &opt, a, tir, &d) != CG_OK)
        return rt_fail_diags(ctx, LPVM_ERR_TOOLCHAIN, &d);
    /* The symbol both backends emit: prefixed, so that no kernel name
     * collides with CUDA's own functions (a kernel `fmaf`). */
    (*tir)->name = vm_sprintf(a, "lpvm_%s", (*tir)->name);
    return LPVM_OK;
}

/* The emitted text of `what` (LLVM, CUDA or PTX) for tir. */
static lpvm_status emit(lpvm_context *ctx, const TirKernel *tir, lpvm_text what, char **text)
{
    char *err = NULL, *llvm = NULL, *ptx = NULL;
    if (what == LPVM_TEXT_TIR) {
        *text = tir_print_alloc(tir);
        return *text ? LPVM_OK : rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    }
    int nvrtc = ctx->opt.backend == LPVM_BACKEND_NVRTC;
    if (what == LPVM_TEXT_LLVM && nvrtc)
        return rt_fail(ctx, LPVM_ERR_INVALID, "LLVM IR is the llvm backend's (--backend llvm)");
    if (what == LPVM_TEXT_CUDA && !nvrtc)
        return rt_fail(ctx, LPVM_ERR_INVALID, "CUDA C is the nvrtc backend's (--backend nvrtc)");
    if (!nvrtc) {
        CgTarget t = {.arch = ctx->arch,
                      .ptx_version = cg_ptx_version_for(ctx->arch, tir->ptx_needed),
                      .opt_level = 2,
                      .passes = NULL}; /* CG_LLVM_PASSES */
        if (cg_emit_llvm(tir, &t, what == LPVM_TEXT_LLVM ? &llvm : NULL, &ptx, &err))
            return rt_fail_take(ctx, LPVM_ERR_TOOLCHAIN, err);
        *text = what == LPVM_TEXT_LLVM ? llvm : ptx;
        free(what == LPVM_TEXT_LLVM ? ptx : llvm);
        return LPVM_OK;
    }
    char *cuda = cg_emit_cuda(tir, &err);
    if (!cuda)
        return rt_fail_take(ctx, LPVM_ERR_TOOLCHAIN, err);
    if (what == LPVM_TEXT_CUDA) {
        *text = cuda;
        return LPVM_OK;
    }
    char *log = NULL;
    if (rt_nvrtc_compile(cuda, tir->name, ctx->arch, &ptx, &log)) {
        char *msg = cg_cuda_annotate_log(cuda, log ? log : "NVRTC failed");
        free(log);
        free(cuda);
        return rt_fail_take(ctx, LPVM_ERR_TOOLCHAIN, msg);
    }
    free(log);
    free(cuda);
    *text = ptx;
    return LPVM_OK;
}

lpvm_status rt_gpu_text(lpvm_context *ctx, Kernel *k, lpvm_text what, uint64_t div16, char **text)
{
    VmArena *a = vm_arena_new();
    TirKernel *tir = NULL;
    lpvm_status st = lower(ctx, k, div16, a, &tir);
    if (st == LPVM_OK)
        st = emit(ctx, tir, what, text);
    vm_arena_free(a);
    return st;
}

char *rt_gpu_cache_key(Kernel *k, const char *arch, bool nvrtc, int ptx_needed, uint64_t div16)
{
    char *src = vm_print_kernel(k);
    if (!src)
        return NULL;
    int lmaj, lmin, lpat, nmaj = 0, nmin = 0;
    cg_llvm_version(&lmaj, &lmin, &lpat);
    if (nvrtc)
        rt_nvrtc_version(&nmaj, &nmin);
    RtStrbuf sb = {0};
    rt_sb_printf(&sb, "lpvm-ptx cg=%d backend=%s arch=%s ptx=%d llvm=%d.%d.%d nvrtc=%d.%d div16=%llx\n%s",
                 CG_VERSION, nvrtc ? "nvrtc" : "llvm", arch, cg_ptx_version_for(arch, ptx_needed),
                 lmaj, lmin, lpat, nmaj, nmin, (unsigned long long)div16, src);
    free(src);
    return rt_sb_finish(&sb);
}

uint64_t rt_gpu_div16(const Kernel *k, const VmArg *args, const int64_t *vals)
{
    uint64_t m = 0;
    for (int j = 0, arg = 0; j < k->nparams && j < 64; j++) {
        const Param *p = k->params[j];
        int64_t v = 1;
        if (p->kind == VM_P_TENSOR)
            v = args[arg].i;
        else if (p->dtype == VM_DT_I32 || p->dtype == VM_DT_I64)
            v = vals[j];
        if (v % 16 == 0)
            m |= 1ull << j;
        arg += !p->implicit;
    }
    return m;
}

/* Lowers, emits (through the cache) and loads the variant for div16. */
static lpvm_status variant(lpvm_context *ctx, Kernel *k, RtGpuKernel *g, uint64_t div16,
                           RtGpuVariant *out)
{
    out->div16 = div16;
    lpvm_status st = lower(ctx, k, div16, g->arena, &out->tir);
    char *key = NULL, *ptx = NULL;
    size_t len;
    if (st == LPVM_OK && !(key = rt_gpu_cache_key(k, ctx->arch, ctx->opt.backend == LPVM_BACKEND_NVRTC,
                                                  out->tir->ptx_needed, div16)))
        st = rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    if (st == LPVM_OK && !rt_cache_get(ctx->cache, key, (void **)&ptx, &len)) {
        st = emit(ctx, out->tir, LPVM_TEXT_PTX, &ptx);
        if (st == LPVM_OK)
            rt_cache_put(ctx->cache, key, ptx, strlen(ptx));
    }
    RtCuErr e;
    if (st == LPVM_OK && (rt_cu_module_load(&ctx->dev, ptx, &out->mod, NULL, &e) ||
                          rt_cu_function(&ctx->dev, out->mod, out->tir->name, &out->fn, &e)))
        st = rt_fail(ctx, e.fail == RT_CU_JIT ? LPVM_ERR_TOOLCHAIN : LPVM_ERR_RUNTIME, "%s", e.msg);
    free(key);
    free(ptx);
    return st;
}

lpvm_status rt_gpu_compile(lpvm_context *ctx, Kernel *k, RtGpuKernel **out)
{
    RtGpuKernel *g = calloc(1, sizeof *g);
    if (!g)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    g->arena = vm_arena_new();
    lpvm_status st = variant(ctx, k, g, 0, &g->v[0]);
    g->nv = 1;
    if (st != LPVM_OK) {
        rt_gpu_kernel_free(ctx, g);
        return st;
    }
    *out = g;
    return LPVM_OK;
}

void rt_gpu_kernel_free(lpvm_context *ctx, RtGpuKernel *g)
{
    if (!g)
        return;
    for (int j = 0; j < g->nv; j++)
        if (g->v[j].mod)
            rt_cu_module_unload(&ctx->dev, g->v[j].mod);
    if (g->ws_pending)
        rt_cu_event_sync(&ctx->dev, g->ws_done, NULL);
    for (int w = 0; w < RT_GPU_WS; w++)
        if (g->ws[w])
            rt_cu_free(&ctx->dev, g->ws[w], NULL);
    rt_cu_event_destroy(&ctx->dev, g->ws_done);
    vm_arena_free(g->arena);
    free(g);
}

/* Every WORKSPACE instruction of the kernel's top level, in order: the
 * lowering appends one hidden pointer parameter for each. */
static int workspaces(const Kernel *k, const Inst **out, int cap)
{
    int n = 0;
    for (const Inst *i = k->body.first; i; i = i->next)
        if (i->op == VM_WORKSPACE && n < cap)
            out[n++] = i;
    return n;
}

/* workspace w of the pool, at least `bytes` long and zeroed on `stream`
 * (the pool's rules above) */
static int ws_take(lpvm_context *ctx, RtGpuKernel *g, int w, size_t bytes, RtCuStream stream,
                   RtCuPtr *out, RtCuErr *e)
{
    if (!g->ws_done && rt_cu_event_create_order(&ctx->dev, &g->ws_done, e))
        return -1;
    if (g->ws_pending && stream != g->ws_last &&
        rt_cu_stream_wait_event(&ctx->dev, stream, g->ws_done, e))
        return -1;
    if (g->ws_cap[w] < bytes) {
        if (g->ws[w] && ((g->ws_pending && rt_cu_event_sync(&ctx->dev, g->ws_done, e)) ||
                         rt_cu_free(&ctx->dev, g->ws[w], e)))
            return -1;
        g->ws[w] = 0;
        g->ws_cap[w] = 0;
        size_t cap = (bytes + 255) & ~(size_t)255;
        if (rt_cu_alloc(&ctx->dev, cap, &g->ws[w], e))
            return -1;
        g->ws_cap[w] = cap;
    }
    *out = g->ws[w];
    return rt_cu_memset(&ctx->dev, g->ws[w], 0, bytes, stream, e);
}

lpvm_status rt_gpu_launch(lpvm_context *ctx, Kernel *k, RtGpuKernel *g, const VmArg *args,
                          int nargs, lpvm_stream stream)
{
    VmArena *a = vm_arena_new();
    VmDiags d;
    vm_diags_init(&d, a);
    int64_t *vals = vm_alloc(a, sizeof *vals * (size_t)(k->nparams + 1));
    int64_t grid[3];
    lpvm_status st = LPVM_OK;
    if (!vm_launch_bind(k, args, nargs, vals, grid, &d)) {
        st = rt_fail_diags(ctx, LPVM_ERR_INVALID, &d);
        goto done;
    }
    for (int j = 0; j < 3; j++)
        if (grid[j] < 0 || grid[j] > 0x7fffffff) {
            st = rt_fail(ctx, LPVM_ERR_INVALID, "grid dimension %d is %lld", j, (long long)grid[j]);
            goto done;
        }
    if (!grid[0] || !grid[1] || !grid[2])
        goto done; /* an empty grid is a no-op */
    uint64_t div16 = rt_gpu_div16(k, args, vals);
    const char *env = getenv("LPVM_DIV16"); /* "0": measure without the specialization */
    if (env && !strcmp(env, "0"))
        div16 = 0;
    const RtGpuVariant *var = &g->v[0];
    for (int j = 0; j < g->nv; j++)
        if (g->v[j].div16 == div16)
            var = &g->v[j];
    if (var->div16 != div16 && g->nv < RT_GPU_VARIANTS) {
        RtGpuVariant nv = {0};
        st = variant(ctx, k, g, div16, &nv);
        if (st != LPVM_OK) {
            if (nv.mod)
                rt_cu_module_unload(&ctx->dev, nv.mod);
            goto done;
        }
        g->v[g->nv] = nv;
        var = &g->v[g->nv++];
    }
    const TirKernel *t = var->tir;
    void **params = vm_alloc(a, sizeof *params * (size_t)(t->nparams + 1));
    int64_t *store = vm_alloc(a, sizeof *store * (size_t)(t->nparams + 1));
    const Inst *ws[RT_GPU_WS];
    int nws = workspaces(k, ws, RT_GPU_WS);
    RtCuErr e;
    for (int j = 0, w = 0, arg = 0; j < t->nparams; j++) {
        const TirParam *tp = &t->params[j];
        if (tp->hidden) {
            if (w >= nws) {
                st = rt_fail(ctx, LPVM_ERR_RUNTIME, "internal: workspace parameters do not match");
                goto done;
            }
            int64_t numel = 1, dim;
            for (int r = 0; r < ws[w]->res->rank; r++) {
                if (!vm_eval_bound(k, vals, ws[w]->res->gshape[r], &dim) || dim < 0) {
                    st = rt_fail(ctx, LPVM_ERR_INVALID, "workspace size is not computable at launch");
                    goto done;
                }
                numel *= dim;
            }
            size_t bytes = vm_packed_bytes(ws[w]->res->dtype, (size_t)numel);
            RtCuPtr p = 0;
            if (bytes && ws_take(ctx, g, w, bytes, (RtCuStream)stream, &p, &e)) {
                st = rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
                goto done;
            }
            store[j] = (int64_t)p;
            w++;
        } else {
            const Param *p = k->params[j];
            if (p->kind == VM_P_TENSOR) {
                store[j] = args[arg].i; /* the device address rt_bind_args put there */
            } else if (p->dtype == VM_DT_F32) {
                float f = (float)(p->implicit ? 0 : args[arg].f);
                memcpy(&store[j], &f, sizeof f);
            } else if (p->dtype == VM_DT_I32) {
                int32_t v = (int32_t)vals[j];
                memcpy(&store[j], &v, sizeof v);
            } else {
                store[j] = vals[j];
            }
            arg += !p->implicit;
        }
        params[j] = &store[j];
    }
    unsigned gr[3] = {(unsigned)grid[0], (unsigned)grid[1], (unsigned)grid[2]};
    if (rt_cu_launch(&ctx->dev, var->fn, gr, (unsigned)t->warps, (unsigned)t->shared_bytes,
                     (RtCuStream)stream, params, &e))
        st = rt_fail(ctx, e.fail == RT_CU_INVALID ? LPVM_ERR_INVALID : LPVM_ERR_RUNTIME, "%s", e.msg);
    else if (nws && rt_cu_event_record(&ctx->dev, g->ws_done, (RtCuStream)stream, &e))
        st = rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
    else if (nws) {
        g->ws_pending = true;
        g->ws_last = (RtCuStream)stream;
    }
done:
    vm_arena_free(a);
    return st;
}

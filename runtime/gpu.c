/* runtime/gpu.c - a kernel on the GPU: the back half of the pipeline.
 *
 *   Kernel --cg_lower--> TIR --cg_emit_llvm | cg_emit_cuda + NVRTC--> PTX
 *          --cache (CODEGEN.md 3 key)--> --rt_cu_module_load--> function
 *
 * rt_gpu_text runs the same stages without a GPU (lpvm compile, tests).
 * The cache key: the canonical specialized source + backend + arch + PTX
 * version + CG_VERSION + LLVM version + NVRTC version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

struct RtGpuKernel {
    RtCuModule mod;
    RtCuFunc fn;
    VmArena *arena;
    TirKernel *tir; /* its params say how to marshal the launch */
};

static lpvm_status lower(lpvm_context *ctx, Kernel *k, VmArena *a, TirKernel **tir)
{
    CgArch arch;
    cg_arch_parse(ctx->arch, &arch);
    CgOptions opt = {.sm = cg_arch_sm(arch)};
    VmDiags d;
    vm_diags_init(&d, a);
    if (cg_lower(k, &opt, a, tir, &d) != CG_OK)
        return rt_fail_diags(ctx, LPVM_ERR_TOOLCHAIN, &d);
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

lpvm_status rt_gpu_text(lpvm_context *ctx, Kernel *k, lpvm_text what, char **text)
{
    VmArena *a = vm_arena_new();
    TirKernel *tir = NULL;
    lpvm_status st = lower(ctx, k, a, &tir);
    if (st == LPVM_OK)
        st = emit(ctx, tir, what, text);
    vm_arena_free(a);
    return st;
}

/* The cache key of CODEGEN.md 3. */
static char *cache_key(lpvm_context *ctx, Kernel *k, const TirKernel *tir)
{
    char *src = vm_print_kernel(k);
    if (!src)
        return NULL;
    int lmaj, lmin, lpat, nmaj = 0, nmin = 0;
    cg_llvm_version(&lmaj, &lmin, &lpat);
    int nvrtc = ctx->opt.backend == LPVM_BACKEND_NVRTC;
    if (nvrtc)
        rt_nvrtc_version(&nmaj, &nmin);
    RtStrbuf sb = {0};
    rt_sb_printf(&sb, "lpvm-ptx cg=%d backend=%s arch=%s ptx=%d llvm=%d.%d.%d nvrtc=%d.%d\n%s", CG_VERSION,
                 nvrtc ? "nvrtc" : "llvm", ctx->arch, cg_ptx_version_for(ctx->arch, tir->ptx_needed),
                 lmaj, lmin, lpat, nmaj, nmin, src);
    free(src);
    return rt_sb_finish(&sb);
}

lpvm_status rt_gpu_compile(lpvm_context *ctx, Kernel *k, RtGpuKernel **out)
{
    RtGpuKernel *g = calloc(1, sizeof *g);
    if (!g)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    g->arena = vm_arena_new();
    lpvm_status st = lower(ctx, k, g->arena, &g->tir);
    char *key = NULL, *ptx = NULL;
    size_t len;
    if (st == LPVM_OK && !(key = cache_key(ctx, k, g->tir)))
        st = rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    if (st == LPVM_OK && !rt_cache_get(ctx->cache, key, (void **)&ptx, &len)) {
        st = emit(ctx, g->tir, LPVM_TEXT_PTX, &ptx);
        if (st == LPVM_OK)
            rt_cache_put(ctx->cache, key, ptx, strlen(ptx));
    }
    RtCuErr e;
    if (st == LPVM_OK && (rt_cu_module_load(&ctx->dev, ptx, &g->mod, NULL, &e) ||
                          rt_cu_function(&ctx->dev, g->mod, g->tir->name, &g->fn, &e)))
        st = rt_fail(ctx, e.fail == RT_CU_JIT ? LPVM_ERR_TOOLCHAIN : LPVM_ERR_RUNTIME, "%s", e.msg);
    free(key);
    free(ptx);
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
    if (g->mod)
        rt_cu_module_unload(&ctx->dev, g->mod);
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
    const TirKernel *t = g->tir;
    void **params = vm_alloc(a, sizeof *params * (size_t)(t->nparams + 1));
    int64_t *store = vm_alloc(a, sizeof *store * (size_t)(t->nparams + 1));
    const Inst *ws[8];
    int nws = workspaces(k, ws, 8);
    RtCuPtr wptr[8] = {0};
    RtCuErr e;
    for (int j = 0, w = 0, arg = 0; j < t->nparams; j++) {
        const TirParam *tp = &t->params[j];
        if (tp->hidden) {
            if (w >= nws) {
                st = rt_fail(ctx, LPVM_ERR_RUNTIME, "internal: workspace parameters do not match");
                goto free_ws;
            }
            int64_t numel = 1, dim;
            for (int r = 0; r < ws[w]->res->rank; r++) {
                if (!vm_eval_bound(k, vals, ws[w]->res->gshape[r], &dim) || dim < 0) {
                    st = rt_fail(ctx, LPVM_ERR_INVALID, "workspace size is not computable at launch");
                    goto free_ws;
                }
                numel *= dim;
            }
            size_t bytes = vm_packed_bytes(ws[w]->res->dtype, (size_t)numel);
            if (bytes && (rt_cu_alloc(&ctx->dev, bytes, &wptr[w], &e) ||
                          rt_cu_memset(&ctx->dev, wptr[w], 0, bytes, stream, &e))) {
                st = rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
                goto free_ws;
            }
            store[j] = (int64_t)wptr[w++];
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
    if (rt_cu_launch(&ctx->dev, g->fn, gr, (unsigned)t->warps, (unsigned)t->shared_bytes,
                     (RtCuStream)stream, params, &e))
        st = rt_fail(ctx, e.fail == RT_CU_INVALID ? LPVM_ERR_INVALID : LPVM_ERR_RUNTIME, "%s", e.msg);
free_ws:
    /* Workspaces live for one launch: wait for it before freeing them. */
    if (nws && rt_cu_stream_sync(&ctx->dev, (RtCuStream)stream, &e) && st == LPVM_OK)
        st = rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
    for (int w = 0; w < nws; w++)
        if (wptr[w])
            rt_cu_free(&ctx->dev, wptr[w], NULL);
done:
    vm_arena_free(a);
    return st;
}

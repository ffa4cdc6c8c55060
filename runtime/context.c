/* runtime/context.c - contexts, errors and buffers of the public API.
 *
 * A context is the GPU (device 0 through its primary context) or the CPU
 * interpreter. LPVM_DEVICE_AUTO takes the GPU when the driver and a device
 * answer, else the interpreter; LPVM_DEVICE_GPU without a driver fails with
 * the driver layer's message. Buffers are device memory on a GPU context and
 * host memory on the interpreter, so the same host program runs on both. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

lpvm_status rt_fail_take(lpvm_context *ctx, lpvm_status st, char *msg)
{
    if (!ctx) {
        free(msg);
        return st;
    }
    free(ctx->err);
    ctx->err = msg;
    return st;
}

lpvm_status rt_fail(lpvm_context *ctx, lpvm_status st, const char *fmt, ...)
{
    RtStrbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    rt_sb_printf(&sb, "%s", tmp);
    return rt_fail_take(ctx, st, rt_sb_finish(&sb));
}

lpvm_status rt_fail_diags(lpvm_context *ctx, lpvm_status st, const VmDiags *d)
{
    RtStrbuf sb = {0};
    for (int i = 0; i < d->n; i++) {
        char line[2048];
        vm_diag_format(&d->v[i], line, sizeof line);
        rt_sb_printf(&sb, "%s\n", line);
    }
    return rt_fail_take(ctx, st, rt_sb_finish(&sb));
}

void rt_clear_error(lpvm_context *ctx)
{
    free(ctx->err);
    ctx->err = NULL;
}

const char *lpvm_error_message(const lpvm_context *ctx)
{
    return ctx && ctx->err ? ctx->err : "";
}

/* The newest arch codegen knows that the device runs (a GPU newer than the
 * table runs the newest one's PTX through the driver's JIT). */
static const char *device_arch(int sm)
{
    const char *best = "sm_80";
    for (int a = 0; a < CG_NARCH; a++)
        if (cg_arch_sm((CgArch)a) <= sm && strcmp(cg_arch_name((CgArch)a), "sm_90a"))
            best = cg_arch_name((CgArch)a);
    return best;
}

static lpvm_status open_gpu(lpvm_context *ctx)
{
    RtCuErr e;
    if (rt_cu_init(&e) || rt_cu_device_open(0, &ctx->dev, &e)) {
        lpvm_status st = e.fail == RT_CU_NO_DRIVER || e.fail == RT_CU_NO_DEVICE ? LPVM_ERR_NO_GPU
                         : e.fail == RT_CU_INVALID                              ? LPVM_ERR_INVALID
                                                                                : LPVM_ERR_RUNTIME;
        return rt_fail(ctx, st, "%s", e.msg);
    }
    ctx->gpu = 1;
    if (!ctx->opt.arch)
        snprintf(ctx->arch, sizeof ctx->arch, "%s", device_arch(ctx->dev.sm));
    return LPVM_OK;
}

lpvm_status lpvm_context_create(const lpvm_options *opt, lpvm_context **out)
{
    if (!out)
        return LPVM_ERR_INVALID;
    *out = NULL;
    lpvm_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return LPVM_ERR_NOMEM;
    *out = ctx;
    if (opt)
        ctx->opt = *opt;
    if (ctx->opt.device > LPVM_DEVICE_INTERP || ctx->opt.backend > LPVM_BACKEND_NVRTC)
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_context_create: unknown device or backend");
    const char *arch = ctx->opt.arch ? ctx->opt.arch : "sm_90";
    CgArch ca;
    if (!cg_arch_parse(arch, &ca))
        return rt_fail(ctx, LPVM_ERR_INVALID, "unknown arch '%s' (one of sm_80, sm_86, sm_89, sm_90, sm_90a)",
                       arch);
    snprintf(ctx->arch, sizeof ctx->arch, "%s", cg_arch_name(ca));
    ctx->opt.arch = NULL; /* the caller's string need not outlive the call */
    if (opt && opt->arch)
        ctx->opt.arch = ctx->arch;
    ctx->opt.cache_dir = NULL;
    ctx->cache = rt_cache_open(opt ? opt->cache_dir : NULL);
    if (!ctx->cache)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    if (ctx->opt.device == LPVM_DEVICE_INTERP)
        return LPVM_OK;
    lpvm_status st = open_gpu(ctx);
    if (st != LPVM_OK && ctx->opt.device == LPVM_DEVICE_AUTO) {
        rt_clear_error(ctx);
        return LPVM_OK;
    }
    return st;
}

void lpvm_context_destroy(lpvm_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->gpu)
        rt_cu_device_close(&ctx->dev);
    rt_cache_close(ctx->cache);
    free(ctx->err);
    free(ctx->output);
    free(ctx);
}

const char *lpvm_device_name(const lpvm_context *ctx)
{
    return !ctx ? "" : ctx->gpu ? ctx->dev.name : "interpreter";
}

int lpvm_is_gpu(const lpvm_context *ctx) { return ctx && ctx->gpu; }

const char *lpvm_launch_output(const lpvm_context *ctx)
{
    return ctx && ctx->output ? ctx->output : "";
}

lpvm_status lpvm_synchronize(lpvm_context *ctx)
{
    if (!ctx)
        return LPVM_ERR_INVALID;
    RtCuErr e;
    if (ctx->gpu && rt_cu_sync(&ctx->dev, &e))
        return rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
    return LPVM_OK;
}

/* ---- buffers */

lpvm_status lpvm_buffer_alloc(lpvm_context *ctx, size_t nbytes, lpvm_buffer **out)
{
    if (!ctx || !out)
        return LPVM_ERR_INVALID;
    *out = NULL;
    lpvm_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    b->ctx = ctx;
    b->n = nbytes;
    if (ctx->gpu) {
        RtCuErr e;
        if (nbytes && rt_cu_alloc(&ctx->dev, nbytes, &b->dptr, &e)) {
            free(b);
            return rt_fail(ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
        }
    } else {
        b->host = calloc(1, nbytes ? nbytes : 1);
        if (!b->host) {
            free(b);
            return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory allocating %zu bytes", nbytes);
        }
    }
    *out = b;
    return LPVM_OK;
}

void lpvm_buffer_free(lpvm_buffer *b)
{
    if (!b)
        return;
    if (b->dptr)
        rt_cu_free(&b->ctx->dev, b->dptr, NULL);
    free(b->host);
    free(b);
}

size_t lpvm_buffer_size(const lpvm_buffer *b) { return b ? b->n : 0; }

static lpvm_status check_range(const lpvm_buffer *b, size_t off, const void *p, size_t n)
{
    if (!b || (!p && n))
        return LPVM_ERR_INVALID;
    if (off > b->n || n > b->n - off)
        return rt_fail(b->ctx, LPVM_ERR_INVALID, "buffer access [%zu, %zu) past its %zu bytes", off,
                       off + n, b->n);
    return LPVM_OK;
}

lpvm_status lpvm_buffer_upload(lpvm_buffer *b, size_t off, const void *src, size_t n)
{
    lpvm_status st = check_range(b, off, src, n);
    if (st != LPVM_OK || !n)
        return st;
    if (!b->ctx->gpu) {
        memcpy((char *)b->host + off, src, n);
        return LPVM_OK;
    }
    RtCuErr e;
    if (rt_cu_upload(&b->ctx->dev, b->dptr + off, src, n, NULL, &e))
        return rt_fail(b->ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
    return LPVM_OK;
}

lpvm_status lpvm_buffer_download(const lpvm_buffer *b, size_t off, void *dst, size_t n)
{
    lpvm_status st = check_range(b, off, dst, n);
    if (st != LPVM_OK || !n)
        return st;
    if (!b->ctx->gpu) {
        memcpy(dst, (const char *)b->host + off, n);
        return LPVM_OK;
    }
    RtCuErr e;
    if (rt_cu_download(&b->ctx->dev, dst, b->dptr + off, n, NULL, &e))
        return rt_fail(b->ctx, LPVM_ERR_RUNTIME, "%s", e.msg);
    return LPVM_OK;
}

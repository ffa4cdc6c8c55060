/* runtime/module.c - modules, kernels and launches of the public API: the
 * pipeline of ARCHITECTURE.md in one place.
 *
 *   lpvm_module_load   source text, kept; its kernel names listed (syntax
 *                      errors reported here)
 *   lpvm_kernel_get    lang_compile: parse, specialize, check, verify,
 *                      infer layouts -> one concrete Kernel; on a GPU
 *                      context rt_gpu_compile then lowers, emits, JITs
 *   lpvm_launch        arguments checked against the signature, then the
 *                      interpreter (vm_interp_launch) or the GPU
 *                      (rt_gpu_launch)
 *
 * Kernels are memoized per (name, spec) in their module. */
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "runtime/runtime.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static lpvm_status fail_diags(lpvm_context *ctx, lpvm_status st, const LangDiags *d)
{
    char *msg = lang_diags_render(d);
    return rt_fail_take(ctx, st, msg);
}

lpvm_status lpvm_module_load(lpvm_context *ctx, const char *src, const char *filename,
                             lpvm_module **out)
{
    if (!ctx || !src || !out)
        return ctx ? rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_module_load: null argument")
                   : LPVM_ERR_INVALID;
    *out = NULL;
    lpvm_module *m = calloc(1, sizeof *m);
    if (!m)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    m->ctx = ctx;
    m->len = strlen(src);
    m->src = strdup(src);
    m->filename = strdup(filename ? filename : "<source>");
    if (!m->src || !m->filename) {
        lpvm_module_destroy(m);
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    }
    LangDiags d;
    lang_diags_init(&d);
    LangStatus ls = lang_list_kernels(m->src, m->len, m->filename, &m->names, &m->nnames, &d);
    if (ls != LANG_OK) {
        lpvm_status st = fail_diags(ctx, LPVM_ERR_SOURCE, &d);
        lang_diags_free(&d);
        lpvm_module_destroy(m);
        return st;
    }
    lang_diags_free(&d);
    m->nspecs = lang_file_specs(m->src, m->len, &m->specs);
    *out = m;
    return LPVM_OK;
}

static void kernel_destroy(lpvm_kernel *k)
{
    if (k->gpu)
        rt_gpu_kernel_free(k->mod->ctx, k->gpu);
    vm_arena_free(k->arena);
    free(k->name);
    free(k->spec);
    free(k);
}

void lpvm_module_destroy(lpvm_module *m)
{
    if (!m)
        return;
    for (lpvm_kernel *k = m->kernels, *next; k; k = next) {
        next = k->next;
        kernel_destroy(k);
    }
    lang_free_names(m->names, m->nnames);
    lang_spec_lines_free(m->specs, m->nspecs);
    free(m->src);
    free(m->filename);
    free(m);
}

int lpvm_module_kernel_count(const lpvm_module *m) { return m ? m->nnames : 0; }

const char *lpvm_module_kernel_name(const lpvm_module *m, int i)
{
    return m && i >= 0 && i < m->nnames ? m->names[i] : NULL;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

lpvm_status lpvm_kernel_get(lpvm_module *m, const char *name, const char *spec, lpvm_kernel **out)
{
    if (!m || !out)
        return m ? rt_fail(m->ctx, LPVM_ERR_INVALID, "lpvm_kernel_get: null argument")
                 : LPVM_ERR_INVALID;
    lpvm_context *ctx = m->ctx;
    *out = NULL;
    if (spec && !*spec)
        spec = NULL;
    for (lpvm_kernel *k = m->kernels; k; k = k->next)
        if (same(k->name, name) && same(k->spec, spec)) {
            *out = k;
            return LPVM_OK;
        }
    int known = !name;
    for (int i = 0; name && i < m->nnames; i++)
        known |= !strcmp(m->names[i], name);
    if (!known)
        return rt_fail(ctx, LPVM_ERR_INVALID, "%s: no kernel named '%s' (the file has %d kernel%s)",
                       m->filename, name, m->nnames, m->nnames == 1 ? "" : "s");
    lpvm_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    k->mod = m;
    k->name = dup_or_null(name);
    k->spec = dup_or_null(spec);
    k->arena = vm_arena_new();
    LangDiags d;
    lang_diags_init(&d);
    LangStatus ls = lang_compile(k->arena, m->src, m->len, m->filename, name, spec, &k->prog, &d);
    if (ls != LANG_OK) {
        lpvm_status st = fail_diags(ctx, LPVM_ERR_SOURCE, &d);
        lang_diags_free(&d);
        kernel_destroy(k);
        return st;
    }
    lang_diags_free(&d);
    k->k = k->prog->kernels[0];
    if (ctx->gpu) {
        lpvm_status st = rt_gpu_compile(ctx, k->k, &k->gpu);
        if (st != LPVM_OK) {
            kernel_destroy(k);
            return st;
        }
    }
    k->next = m->kernels;
    m->kernels = k;
    *out = k;
    return LPVM_OK;
}

lpvm_status lpvm_kernel_text(lpvm_kernel *k, lpvm_text what, char **text)
{
    return lpvm_kernel_text_variant(k, what, 0, text);
}

lpvm_status lpvm_kernel_text_variant(lpvm_kernel *k, lpvm_text what, uint64_t div16, char **text)
{
    if (!k || !text)
        return LPVM_ERR_INVALID;
    *text = NULL;
    lpvm_context *ctx = k->mod->ctx;
    if (what > LPVM_TEXT_PTX)
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_kernel_text: unknown text kind %d", (int)what);
    if (what == LPVM_TEXT_SOURCE) {
        *text = vm_print_kernel(k->k);
        return *text ? LPVM_OK : rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    }
    return rt_gpu_text(ctx, k->k, what, div16, text);
}

/* ---- launching */

lpvm_arg lpvm_arg_tensor(lpvm_buffer *buf, const char *dtype, int rank, const int64_t *shape)
{
    lpvm_arg a = {.kind = LPVM_ARG_TENSOR, .buffer = buf, .dtype = dtype, .rank = rank};
    for (int i = 0; i < rank && i < LPVM_MAX_RANK && shape; i++)
        a.shape[i] = shape[i];
    return a;
}
lpvm_arg lpvm_arg_i32(int32_t v) { return (lpvm_arg){.kind = LPVM_ARG_I32, .i = v}; }
lpvm_arg lpvm_arg_i64(int64_t v) { return (lpvm_arg){.kind = LPVM_ARG_I64, .i = v}; }
lpvm_arg lpvm_arg_f32(float v) { return (lpvm_arg){.kind = LPVM_ARG_F32, .f = v}; }

/* The explicit parameters (shape identifiers are bound, not passed). */
static int explicit_params(Kernel *k, Param **out)
{
    int n = 0;
    for (int i = 0; i < k->nparams; i++)
        if (!k->params[i]->implicit)
            out[n++] = k->params[i];
    return n;
}

static const char *arg_kind_name(lpvm_arg_kind kind)
{
    static const char *names[] = {"tensor", "i32", "i64", "f32"};
    return kind <= LPVM_ARG_F32 ? names[kind] : "unknown";
}

/* Checks args against k's signature and fills VmArgs (host pointers on the
 * interpreter, device addresses on a GPU in .i). */
lpvm_status rt_bind_args(lpvm_context *ctx, Kernel *k, const lpvm_arg *args, size_t nargs,
                         VmArg *out)
{
    Param **ps = malloc(sizeof *ps * (size_t)(k->nparams + 1));
    if (!ps)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    int np = explicit_params(k, ps);
    lpvm_status st = LPVM_OK;
    if ((size_t)np != nargs) {
        st = rt_fail(ctx, LPVM_ERR_INVALID, "kernel '%s' takes %d arguments, %zu given", k->name, np,
                     nargs);
        goto done;
    }
    for (int i = 0; i < np; i++) {
        const Param *p = ps[i];
        const lpvm_arg *a = &args[i];
        if (p->kind == VM_P_TENSOR) {
            if (a->kind != LPVM_ARG_TENSOR) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): a %s tensor expected, %s given",
                             i, p->name, vm_dtype_name(p->dtype), arg_kind_name(a->kind));
                goto done;
            }
            if (!a->buffer || a->buffer->ctx != ctx) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): %s", i, p->name,
                             a->buffer ? "buffer of another context" : "null buffer");
                goto done;
            }
            if (!a->dtype || vm_dtype_parse(a->dtype, strlen(a->dtype)) != p->dtype) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): dtype %s, the kernel wants %s", i,
                             p->name, a->dtype ? a->dtype : "(null)", vm_dtype_name(p->dtype));
                goto done;
            }
            if (a->rank != p->rank || a->rank < 0 || a->rank > LPVM_MAX_RANK) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): rank %d, the kernel wants %d", i,
                             p->name, a->rank, p->rank);
                goto done;
            }
            /* nbytes 0: exactly what the shape needs; the binder checks
             * an explicit one against the shape. */
            int64_t numel = 1;
            for (int d = 0; d < a->rank; d++)
                numel = a->shape[d] < 0 || numel < 0 ? -1 : numel * a->shape[d];
            if (numel < 0) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): negative shape", i, p->name);
                goto done;
            }
            size_t nbytes = a->nbytes ? a->nbytes : vm_packed_bytes(p->dtype, (size_t)numel);
            if (nbytes > a->buffer->n) {
                st = rt_fail(ctx, LPVM_ERR_INVALID,
                             "argument %d ('%s'): its shape needs %zu bytes, the buffer has %zu", i, p->name,
                             nbytes, a->buffer->n);
                goto done;
            }
            /* The exact size check (numel * bits) is the binder's, shared by both executors. */
            out[i] = vm_arg_tensor(ctx->gpu ? NULL : a->buffer->host, nbytes, a->rank, a->shape);
            out[i].i = (int64_t)a->buffer->dptr;
        } else {
            int ok = (p->dtype == VM_DT_F32 && a->kind == LPVM_ARG_F32) ||
                     (p->dtype == VM_DT_I32 && a->kind == LPVM_ARG_I32) ||
                     (p->dtype == VM_DT_I64 && (a->kind == LPVM_ARG_I64 || a->kind == LPVM_ARG_I32));
            if (!ok) {
                st = rt_fail(ctx, LPVM_ERR_INVALID, "argument %d ('%s'): %s expected, %s given", i, p->name,
                             vm_dtype_name(p->dtype), arg_kind_name(a->kind));
                goto done;
            }
            out[i] = a->kind == LPVM_ARG_F32 ? vm_arg_float(a->f) : vm_arg_int(a->i);
        }
    }
done:
    free(ps);
    return st;
}

lpvm_status lpvm_launch(lpvm_kernel *k, const lpvm_arg *args, size_t nargs, lpvm_stream stream)
{
    if (!k || (!args && nargs))
        return k ? rt_fail(k->mod->ctx, LPVM_ERR_INVALID, "lpvm_launch: null arguments")
                 : LPVM_ERR_INVALID;
    lpvm_context *ctx = k->mod->ctx;
    VmArg *vargs = calloc(nargs + 1, sizeof *vargs);
    if (!vargs)
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    lpvm_status st = rt_bind_args(ctx, k->k, args, nargs, vargs);
    if (st == LPVM_OK && ctx->gpu) {
        st = rt_gpu_launch(ctx, k->k, k->gpu, vargs, (int)nargs, stream);
    } else if (st == LPVM_OK) {
        VmArena *a = vm_arena_new();
        VmDiags d;
        vm_diags_init(&d, a);
        VmText text = {0};
        VmInterpOptions opt = {.text = &text};
        if (!vm_interp_launch(k->k, vargs, (int)nargs, &opt, &d))
            st = rt_fail_diags(ctx, LPVM_ERR_RUNTIME, &d);
        free(ctx->output);
        ctx->output = text.s;
        vm_arena_free(a);
    }
    free(vargs);
    return st;
}

/* ---- introspection */

int lpvm_module_spec_count(const lpvm_module *m) { return m ? m->nspecs : 0; }

const char *lpvm_module_spec(const lpvm_module *m, int i, const char **kernel)
{
    if (!m || i < 0 || i >= m->nspecs)
        return NULL;
    if (kernel)
        *kernel = m->specs[i].kernel;
    return m->specs[i].spec;
}

int lpvm_kernel_param_count(const lpvm_kernel *k)
{
    int n = 0;
    for (int i = 0; k && i < k->k->nparams; i++)
        n += !k->k->params[i]->implicit;
    return n;
}

lpvm_status lpvm_kernel_param(const lpvm_kernel *k, int i, lpvm_param_info *info)
{
    if (!k || !info)
        return LPVM_ERR_INVALID;
    for (int j = 0, n = 0; j < k->k->nparams; j++) {
        const Param *p = k->k->params[j];
        if (p->implicit)
            continue;
        if (n++ == i) {
            *info = (lpvm_param_info){.name = p->name,
                                      .is_tensor = p->kind == VM_P_TENSOR,
                                      .dtype = vm_dtype_name(p->dtype),
                                      .bits = vm_dtype_bits(p->dtype),
                                      .rank = p->rank};
            return LPVM_OK;
        }
    }
    return rt_fail(k->mod->ctx, LPVM_ERR_INVALID, "kernel '%s' has no parameter %d", k->k->name, i);
}

/* Whether every parameter e reads was given. */
static int given_all(const Kernel *K, const Expr *e, const char *given)
{
    if (!e)
        return 1;
    if (e->kind == VM_E_PARAM) {
        for (int j = 0; j < K->nparams; j++)
            if (K->params[j] == e->param)
                return given[j];
        return 0;
    }
    return given_all(K, e->a, given) && given_all(K, e->b, given) && given_all(K, e->c, given);
}

lpvm_status lpvm_kernel_param_shape(lpvm_kernel *k, int i, const char *values, int *rank,
                                    int64_t shape[LPVM_MAX_RANK])
{
    if (!k || !values || !rank || !shape)
        return LPVM_ERR_INVALID;
    lpvm_context *ctx = k->mod->ctx;
    Kernel *K = k->k;
    int64_t *vals = calloc((size_t)K->nparams + 1, sizeof *vals);
    char *given = calloc((size_t)K->nparams + 1, 1);
    if (!vals || !given) {
        free(vals);
        free(given);
        return rt_fail(ctx, LPVM_ERR_NOMEM, "out of memory");
    }
    lpvm_status st = LPVM_OK;
    for (const char *s = values; *s && st == LPVM_OK;) {
        size_t nlen = strcspn(s, "=,");
        char *end = NULL;
        long long v = s[nlen] == '=' ? strtoll(s + nlen + 1, &end, 10) : 0;
        int j = 0;
        for (; end && j < K->nparams; j++)
            if (strlen(K->params[j]->name) == nlen && !strncmp(K->params[j]->name, s, nlen))
                break;
        if (!end || (*end && *end != ',') || j == K->nparams || K->params[j]->kind != VM_P_SCALAR)
            st = rt_fail(ctx, LPVM_ERR_INVALID, "bad value list '%s' for kernel '%s' (name=integer,...)",
                         values, K->name);
        else
            vals[j] = v, given[j] = 1;
        s = end && *end == ',' ? end + 1 : end ? end : s + strlen(s);
    }
    int n = 0;
    for (int j = 0; st == LPVM_OK && j < K->nparams; j++) {
        const Param *p = K->params[j];
        if (p->implicit || n++ != i)
            continue;
        if (p->kind != VM_P_TENSOR) {
            st = rt_fail(ctx, LPVM_ERR_INVALID, "parameter '%s' is not a tensor", p->name);
            break;
        }
        *rank = p->rank;
        for (int d = 0; d < p->rank && st == LPVM_OK; d++)
            if (!given_all(K, p->shape[d], given) || !vm_eval_bound(K, vals, p->shape[d], &shape[d]))
                st = rt_fail(ctx, LPVM_ERR_INVALID, "the shape of '%s' needs a value not given in '%s'",
                             p->name, values);
        break;
    }
    if (st == LPVM_OK && n <= i)
        st = rt_fail(ctx, LPVM_ERR_INVALID, "kernel '%s' has no parameter %d", K->name, i);
    free(vals);
    free(given);
    return st;
}

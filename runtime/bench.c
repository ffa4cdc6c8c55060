/* runtime/bench.c - the timing methods of CODEGEN.md 5 behind the public
 * benchmarking calls (include/lpvm.h, "benchmarking").
 *
 * Both methods time with CUDA events on a stream of their own:
 *   back to back  a hold kernel spins on %globaltimer while the host queues
 *                 the run's launches behind it, then the start event, the
 *                 launches and the end event run without host gaps (the
 *                 decode regime, as inside a CUDA graph); time / launches.
 *                 When the host took longer to queue than the hold lasted,
 *                 the run is repeated with a longer hold.
 *   single        events around one launch: includes the launch's fixed
 *                 cost; optionally an L2 flush (a memset of 2x L2) first.
 * Medians over runs. Argument sets rotate so weights come from memory when
 * their total exceeds L2. The expected GPU time of each mode is capped by a
 * budget (slow kernels get fewer runs, never fewer than 3; the result says
 * how many ran). Callbacks queue their work on the stream they are given, so
 * a library such as cuBLAS is timed exactly as lpvm kernels are. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/runtime.h"

enum { HOLD_RETRIES = 4, COPY_RUNS = 10 };

static const char hold_ptx[] =
    ".version 7.0\n"
    ".target sm_80\n"
    ".address_size 64\n"
    "\n"
    "// returns once ns nanoseconds of %globaltimer have passed\n"
    ".visible .entry lpvm_bench_hold(.param .u64 ns)\n"
    "{\n"
    "    .reg .pred %p;\n"
    "    .reg .b64 %rd<5>;\n"
    "    ld.param.u64 %rd1, [ns];\n"
    "    mov.u64 %rd2, %globaltimer;\n"
    "SPIN:\n"
    "    mov.u64 %rd3, %globaltimer;\n"
    "    sub.u64 %rd4, %rd3, %rd2;\n"
    "    setp.lt.u64 %p, %rd4, %rd1;\n"
    "    @%p bra SPIN;\n"
    "    ret;\n"
    "}\n";

typedef struct {
    lpvm_context *ctx;
    const RtCuDev *d;
    RtCuStream s;
    RtCuEvent ev0, ev1;
    RtCuModule mod;
    RtCuFunc hold;
    RtCuPtr scratch;
    size_t scratch_n;
    RtCuErr e;
    lpvm_bench_fn fn;
    void *user;
    int nsets;
} Bench;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v; the median. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static lpvm_status cu_fail(Bench *b)
{
    return rt_fail(b->ctx, b->e.fail == RT_CU_INVALID ? LPVM_ERR_INVALID : LPVM_ERR_RUNTIME, "%s",
                   b->e.msg);
}

static lpvm_status setup(Bench *b, int flush)
{
    const RtCuDev *d = b->d;
    if (rt_cu_stream_create(d, &b->s, &b->e) || rt_cu_event_create(d, &b->ev0, &b->e) ||
        rt_cu_event_create(d, &b->ev1, &b->e) ||
        rt_cu_module_load(d, hold_ptx, &b->mod, NULL, &b->e) ||
        rt_cu_function(d, b->mod, "lpvm_bench_hold", &b->hold, &b->e))
        return cu_fail(b);
    if (flush) {
        b->scratch_n = 2 * (size_t)(d->l2_bytes > 0 ? d->l2_bytes : 64 << 20);
        if (rt_cu_alloc(d, b->scratch_n, &b->scratch, &b->e))
            return cu_fail(b);
    }
    return LPVM_OK;
}

static void teardown(Bench *b)
{
    const RtCuDev *d = b->d;
    if (b->s)
        rt_cu_stream_sync(d, b->s, NULL);
    if (b->scratch)
        rt_cu_free(d, b->scratch, NULL);
    if (b->mod)
        rt_cu_module_unload(d, b->mod);
    rt_cu_event_destroy(d, b->ev0);
    rt_cu_event_destroy(d, b->ev1);
    rt_cu_stream_destroy(d, b->s);
}

/* The event time between ev0 and ev1 once ev1 has passed. */
static lpvm_status elapsed_us(Bench *b, double *us)
{
    float ms = 0;
    if (rt_cu_event_sync(b->d, b->ev1, &b->e) ||
        rt_cu_event_elapsed(b->d, b->ev0, b->ev1, &ms, &b->e))
        return cu_fail(b);
    *us = (double)ms * 1e3;
    return LPVM_OK;
}

/* One back-to-back run of n calls from set `first` on; *host_us: how long
 * the host took to queue them. */
static lpvm_status b2b_run(Bench *b, int first, int n, double hold_us, double *us, double *host_us)
{
    unsigned long long ns = (unsigned long long)(hold_us * 1e3);
    void *params[] = {&ns};
    const unsigned one[3] = {1, 1, 1};
    if (rt_cu_launch(b->d, b->hold, one, 1, 0, b->s, params, &b->e) ||
        rt_cu_event_record(b->d, b->ev0, b->s, &b->e))
        return cu_fail(b);
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        lpvm_status st = b->fn(b->user, (first + i) % b->nsets, (lpvm_stream)b->s);
        if (st != LPVM_OK)
            return st;
    }
    *host_us = now_us() - t0;
    if (rt_cu_event_record(b->d, b->ev1, b->s, &b->e))
        return cu_fail(b);
    return elapsed_us(b, us);
}

static lpvm_status single_run(Bench *b, int set, double *us)
{
    if (b->scratch && rt_cu_memset(b->d, b->scratch, (unsigned char)set, b->scratch_n, b->s, &b->e))
        return cu_fail(b);
    if (rt_cu_event_record(b->d, b->ev0, b->s, &b->e))
        return cu_fail(b);
    lpvm_status st = b->fn(b->user, set % b->nsets, (lpvm_stream)b->s);
    if (st != LPVM_OK)
        return st;
    if (rt_cu_event_record(b->d, b->ev1, b->s, &b->e))
        return cu_fail(b);
    return elapsed_us(b, us);
}

static int clamp_runs(int want, int least, double budget_us, double each_us)
{
    if (each_us <= 0 || want * each_us <= budget_us)
        return want;
    int n = (int)(budget_us / each_us);
    return n < least ? least : n;
}

static lpvm_status run_all(Bench *b, const lpvm_bench_opts *o, lpvm_bench_result *r)
{
    lpvm_status st;
    double t0 = 0, t = 0;
    /* warm-up, timing the host's queueing from the second call on */
    for (int i = 0; i < o->warmup; i++) {
        if (i == 1)
            t0 = now_us();
        if ((st = b->fn(b->user, i % b->nsets, (lpvm_stream)b->s)) != LPVM_OK)
            return st;
    }
    r->enqueue_us = o->warmup > 1 ? (now_us() - t0) / (o->warmup - 1) : 0;
    if (rt_cu_stream_sync(b->d, b->s, &b->e))
        return cu_fail(b);
    double probe;
    if ((st = single_run(b, 0, &probe)) != LPVM_OK)
        return st;
    double budget = o->budget_s * 1e6;
    int n = o->b2b_launches, runs = clamp_runs(o->b2b_runs, 3, budget, n * probe);
    if (runs * n * probe > budget) {
        n = (int)(budget / (runs * probe));
        n = n < 2 ? 2 : n;
    }
    int sruns = clamp_runs(o->single_runs, 3, budget, probe);
    double *v = malloc(sizeof *v * (size_t)(runs > sruns ? runs : sruns));
    if (!v)
        return rt_fail(b->ctx, LPVM_ERR_NOMEM, "out of memory");
    double hold = 2 * n * (r->enqueue_us > 1 ? r->enqueue_us : 1) + 50;
    st = LPVM_OK;
    for (int i = 0; i < runs && st == LPVM_OK; i++) {
        double host = 0;
        for (int retry = 0;; retry++) {
            if ((st = b2b_run(b, i, n, hold, &t, &host)) != LPVM_OK || host < 0.8 * hold ||
                retry == HOLD_RETRIES)
                break;
            hold *= 2;
        }
        v[i] = t / n;
    }
    if (st == LPVM_OK) {
        r->b2b_us = median(v, runs);
        r->b2b_min_us = v[0];
        r->b2b_max_us = v[runs - 1];
    }
    for (int i = 0; i < sruns && st == LPVM_OK; i++)
        st = single_run(b, i, &v[i]);
    if (st == LPVM_OK) {
        r->single_us = median(v, sruns);
        r->single_min_us = v[0];
        r->single_max_us = v[sruns - 1];
        r->b2b_launches = n;
        r->b2b_runs = runs;
        r->single_runs = sruns;
    }
    free(v);
    return st;
}

lpvm_status lpvm_bench_callback(lpvm_context *ctx, lpvm_bench_fn fn, void *user, int nsets,
                                const lpvm_bench_opts *o, lpvm_bench_result *r)
{
    if (!ctx)
        return LPVM_ERR_INVALID;
    if (!fn || nsets < 1 || !r)
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_bench: %s",
                       !fn ? "no function" : !r ? "no result" : "nsets must be >= 1");
    lpvm_bench_opts op = o ? *o : (lpvm_bench_opts){0};
    if (op.b2b_launches < 0 || op.b2b_runs < 0 || op.single_runs < 0 || op.warmup < 0 ||
        !(op.budget_s >= 0) || (op.flush_l2 != 0 && op.flush_l2 != 1))
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_bench: negative counts or budget, or flush_l2 not 0/1");
    memset(r, 0, sizeof *r);
    if (!ctx->gpu)
        return rt_fail(ctx, LPVM_ERR_NO_GPU, "lpvm_bench: timing needs a GPU context (this one is the interpreter)");
    op.b2b_launches = op.b2b_launches ? op.b2b_launches : 50;
    op.b2b_runs = op.b2b_runs ? op.b2b_runs : 30;
    op.single_runs = op.single_runs ? op.single_runs : 100;
    op.warmup = op.warmup ? op.warmup : 5;
    op.budget_s = op.budget_s > 0 ? op.budget_s : 30;
    Bench b = {.ctx = ctx, .d = &ctx->dev, .fn = fn, .user = user, .nsets = nsets};
    lpvm_status st = setup(&b, op.flush_l2);
    if (st == LPVM_OK)
        st = run_all(&b, &op, r);
    if (st == LPVM_OK && rt_cu_stream_sync(b.d, b.s, &b.e))
        st = cu_fail(&b);
    teardown(&b);
    return st;
}

typedef struct {
    lpvm_kernel *k;
    const lpvm_arg *const *sets;
    size_t nargs;
} KernelBench;

static lpvm_status launch_set(void *user, int set, lpvm_stream stream)
{
    KernelBench *kb = user;
    return lpvm_launch(kb->k, kb->sets[set], kb->nargs, stream);
}

lpvm_status lpvm_bench(lpvm_kernel *k, const lpvm_arg *const *arg_sets, int nsets, size_t nargs,
                       const lpvm_bench_opts *o, lpvm_bench_result *r)
{
    if (!k)
        return LPVM_ERR_INVALID;
    lpvm_context *ctx = k->mod->ctx;
    if (!arg_sets || nsets < 1)
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_bench: no argument sets");
    for (int i = 0; i < nsets; i++)
        if (!arg_sets[i] && nargs)
            return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_bench: argument set %d is null", i);
    KernelBench kb = {k, arg_sets, nargs};
    return lpvm_bench_callback(ctx, launch_set, &kb, nsets, o, r);
}

lpvm_status lpvm_bench_copy_bandwidth(lpvm_context *ctx, size_t bytes, double *gbps)
{
    if (!ctx)
        return LPVM_ERR_INVALID;
    if (!gbps || !bytes)
        return rt_fail(ctx, LPVM_ERR_INVALID, "lpvm_bench_copy_bandwidth: %s",
                       !gbps ? "no result" : "zero bytes");
    *gbps = 0;
    if (!ctx->gpu)
        return rt_fail(ctx, LPVM_ERR_NO_GPU, "lpvm_bench_copy_bandwidth: needs a GPU context");
    Bench b = {.ctx = ctx, .d = &ctx->dev};
    RtCuPtr src = 0, dst = 0;
    double v[COPY_RUNS];
    lpvm_status st = LPVM_OK;
    if (rt_cu_event_create(b.d, &b.ev0, &b.e) || rt_cu_event_create(b.d, &b.ev1, &b.e) ||
        rt_cu_alloc(b.d, bytes, &src, &b.e) || rt_cu_alloc(b.d, bytes, &dst, &b.e) ||
        rt_cu_memset(b.d, src, 0x5a, bytes, NULL, &b.e) || rt_cu_copy(b.d, dst, src, bytes, &b.e))
        st = cu_fail(&b);
    for (int i = 0; i < COPY_RUNS && st == LPVM_OK; i++) {
        if (rt_cu_event_record(b.d, b.ev0, NULL, &b.e) || rt_cu_copy(b.d, dst, src, bytes, &b.e) ||
            rt_cu_event_record(b.d, b.ev1, NULL, &b.e))
            st = cu_fail(&b);
        else
            st = elapsed_us(&b, &v[i]);
    }
    if (st == LPVM_OK) {
        double us = median(v, COPY_RUNS);
        *gbps = us > 0 ? 2.0 * (double)bytes / (us * 1e3) : 0;
    }
    if (src)
        rt_cu_free(b.d, src, NULL);
    if (dst)
        rt_cu_free(b.d, dst, NULL);
    rt_cu_event_destroy(b.d, b.ev0);
    rt_cu_event_destroy(b.d, b.ev1);
    return st;
}

uint64_t lpvm_buffer_device_ptr(const lpvm_buffer *buf) { return buf ? (uint64_t)buf->dptr : 0; }

lpvm_status lpvm_device_get_info(const lpvm_context *ctx, lpvm_device_info *info)
{
    if (!ctx || !info)
        return LPVM_ERR_INVALID;
    memset(info, 0, sizeof *info);
    if (!ctx->gpu) {
        strcpy(info->name, "interpreter");
        return LPVM_ERR_NO_GPU;
    }
    const RtCuDev *d = &ctx->dev;
    memcpy(info->name, d->name, sizeof info->name);
    info->name[sizeof info->name - 1] = 0;
    info->cc_major = d->cc_major;
    info->cc_minor = d->cc_minor;
    info->sm_count = d->sm_count;
    info->l2_bytes = d->l2_bytes;
    info->total_mem = d->total_mem;
    info->clock_khz = d->clock_khz;
    info->mem_clock_khz = d->mem_clock_khz;
    info->mem_bus_bits = d->mem_bus_bits;
    return LPVM_OK;
}

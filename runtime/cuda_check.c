/* runtime/cuda_check.c - the driver layer checked on a real GPU: hand-written
 * PTX kernels run through every rt_cu_* call, each result compared with
 * what the host computes. The GPU runner (plain C, public symbols only)
 * calls lpvm_cuda_selfcheck; CPU tests cannot, as no driver is there.
 *
 * What is checked, in order: device facts; memory round trips (upload,
 * memset, device copy, download); a module from PTX, its functions and
 * their attributes, a missing function; an elementwise kernel; a kernel
 * using more than 48 KB of dynamic shared memory (the opt-in path); a
 * launch asking for more than the device allows; PTX that does not compile
 * (the JIT log must reach the error); a stream with async copies and timed
 * events; a captured graph replayed; the device used from a second thread.
 * The kernels target sm_80 with PTX 7.0, so any GPU lpvm supports JITs them. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static const char check_ptx[] =
    ".version 7.0\n"
    ".target sm_80\n"
    ".address_size 64\n"
    "\n"
    "// p[i] = 3 * p[i] + 1 for i < n\n"
    ".visible .entry lpvm_check_axpb(.param .u64 p, .param .u32 n)\n"
    "{\n"
    "    .reg .pred %p<2>;\n"
    "    .reg .b32 %r<8>;\n"
    "    .reg .b64 %rd<4>;\n"
    "    ld.param.u64 %rd1, [p];\n"
    "    ld.param.u32 %r1, [n];\n"
    "    mov.u32 %r2, %ctaid.x;\n"
    "    mov.u32 %r3, %ntid.x;\n"
    "    mov.u32 %r4, %tid.x;\n"
    "    mad.lo.u32 %r5, %r2, %r3, %r4;\n"
    "    setp.ge.u32 %p1, %r5, %r1;\n"
    "    @%p1 bra DONE;\n"
    "    cvta.to.global.u64 %rd1, %rd1;\n"
    "    mul.wide.u32 %rd2, %r5, 4;\n"
    "    add.u64 %rd3, %rd1, %rd2;\n"
    "    ld.global.u32 %r6, [%rd3];\n"
    "    mad.lo.u32 %r7, %r6, 3, 1;\n"
    "    st.global.u32 [%rd3], %r7;\n"
    "DONE:\n"
    "    ret;\n"
    "}\n"
    "\n"
    ".extern .shared .align 16 .b8 lpvm_check_dsm[];\n"
    "\n"
    "// one block: dsm[k] = 7k for k < n, barrier, out[k] = dsm[n-1-k]\n"
    ".visible .entry lpvm_check_smem(.param .u64 out, .param .u32 n)\n"
    "{\n"
    "    .reg .pred %p<3>;\n"
    "    .reg .b32 %r<12>;\n"
    "    .reg .b64 %rd<4>;\n"
    "    ld.param.u64 %rd1, [out];\n"
    "    cvta.to.global.u64 %rd1, %rd1;\n"
    "    ld.param.u32 %r1, [n];\n"
    "    mov.u32 %r2, %tid.x;\n"
    "    mov.u32 %r3, %ntid.x;\n"
    "    mov.u32 %r4, lpvm_check_dsm;\n"
    "    mov.u32 %r5, %r2;\n"
    "FILL:\n"
    "    setp.ge.u32 %p1, %r5, %r1;\n"
    "    @%p1 bra FILLED;\n"
    "    mul.lo.u32 %r6, %r5, 7;\n"
    "    shl.b32 %r7, %r5, 2;\n"
    "    add.u32 %r8, %r4, %r7;\n"
    "    st.shared.u32 [%r8], %r6;\n"
    "    add.u32 %r5, %r5, %r3;\n"
    "    bra FILL;\n"
    "FILLED:\n"
    "    bar.sync 0;\n"
    "    mov.u32 %r5, %r2;\n"
    "READ:\n"
    "    setp.ge.u32 %p2, %r5, %r1;\n"
    "    @%p2 bra END;\n"
    "    sub.u32 %r9, %r1, %r5;\n"
    "    sub.u32 %r9, %r9, 1;\n"
    "    shl.b32 %r7, %r9, 2;\n"
    "    add.u32 %r8, %r4, %r7;\n"
    "    ld.shared.u32 %r10, [%r8];\n"
    "    mul.wide.u32 %rd2, %r5, 4;\n"
    "    add.u64 %rd3, %rd1, %rd2;\n"
    "    st.global.u32 [%rd3], %r10;\n"
    "    add.u32 %r5, %r5, %r3;\n"
    "    bra READ;\n"
    "END:\n"
    "    ret;\n"
    "}\n";

static const char bad_ptx[] =
    ".version 7.0\n"
    ".target sm_80\n"
    ".address_size 64\n"
    ".visible .entry lpvm_check_bad()\n"
    "{\n"
    "    .reg .b32 %r<2>;\n"
    "    mov.u32 %r1, %no_such_register;\n"
    "    ret;\n"
    "}\n";

enum { N = 1000, WARPS = 4 };

typedef struct {
    RtStrbuf sb;
    RtCuErr e;
    RtCuDev d;
    lpvm_status st;
} Check;

/* Records a failed rt_cu_* call (returns 1 so callers can `goto out`). */
static int failed(Check *c, const char *what, lpvm_status st)
{
    rt_sb_printf(&c->sb, "FAIL %s: %s\n", what, c->e.msg);
    c->st = st;
    return 1;
}

static int mismatch(Check *c, const char *what, size_t i, uint32_t got, uint32_t want)
{
    rt_sb_printf(&c->sb, "FAIL %s: element %zu is %u, expected %u\n", what, i, got, want);
    c->st = LPVM_ERR_RUNTIME;
    return 1;
}

static uint32_t axpb(uint32_t x, int times)
{
    while (times--)
        x = 3 * x + 1;
    return x;
}

static int check_buffer(Check *c, const char *what, RtCuPtr p, uint32_t *host, int times)
{
    if (rt_cu_download(&c->d, host, p, N * sizeof *host, NULL, &c->e))
        return failed(c, what, LPVM_ERR_RUNTIME);
    for (uint32_t i = 0; i < N; i++)
        if (host[i] != axpb(i, times))
            return mismatch(c, what, i, host[i], axpb(i, times));
    return 0;
}

typedef struct {
    const RtCuDev *d;
    RtCuErr e;
    int rc;
} ThreadArg;

static void *other_thread(void *p)
{
    ThreadArg *a = p;
    RtCuPtr q = 0;
    uint32_t v = 0x12345678, back = 0;
    a->rc = rt_cu_alloc(a->d, sizeof v, &q, &a->e) ||
            rt_cu_upload(a->d, q, &v, sizeof v, NULL, &a->e) ||
            rt_cu_download(a->d, &back, q, sizeof back, NULL, &a->e) ||
            rt_cu_free(a->d, q, &a->e);
    if (!a->rc && back != v) {
        a->rc = -1;
        strcpy(a->e.msg, "the value read back differs");
    }
    return NULL;
}

static void run(Check *c)
{
    RtCuDev *d = &c->d;
    RtCuModule mod = NULL;
    RtCuFunc axpb_fn = NULL, smem_fn = NULL, nofn = NULL;
    RtCuPtr buf = 0, buf2 = 0, big = 0;
    RtCuStream s = NULL;
    RtCuEvent ev0 = NULL, ev1 = NULL;
    RtCuGraph g = NULL;
    uint32_t *host = malloc(N * sizeof *host);
    uint32_t *hbig = NULL;
    unsigned n = N;
    void *params[] = {&buf, &n};
    unsigned grid[3] = {(N + 32 * WARPS - 1) / (32 * WARPS), 1, 1};
    if (!host) {
        rt_sb_printf(&c->sb, "FAIL out of memory\n");
        c->st = LPVM_ERR_NOMEM;
        return;
    }

    size_t free_b, total_b;
    if (rt_cu_mem_info(d, &free_b, &total_b, &c->e) && failed(c, "cuMemGetInfo", LPVM_ERR_RUNTIME))
        goto out;
    rt_sb_printf(&c->sb, "ok   memory: %zu MiB free of %zu MiB\n", free_b >> 20, total_b >> 20);

    for (uint32_t i = 0; i < N; i++)
        host[i] = i;
    if ((rt_cu_alloc(d, N * 4, &buf, &c->e) || rt_cu_alloc(d, N * 4, &buf2, &c->e)) &&
        failed(c, "alloc", LPVM_ERR_RUNTIME))
        goto out;
    if (rt_cu_upload(d, buf, host, N * 4, NULL, &c->e) && failed(c, "upload", LPVM_ERR_RUNTIME))
        goto out;
    if (check_buffer(c, "upload/download", buf, host, 0))
        goto out;
    if (rt_cu_memset(d, buf2, 0xa5, N * 4, NULL, &c->e) && failed(c, "memset", LPVM_ERR_RUNTIME))
        goto out;
    if (rt_cu_download(d, host, buf2, N * 4, NULL, &c->e) &&
        failed(c, "download", LPVM_ERR_RUNTIME))
        goto out;
    for (size_t i = 0; i < N; i++)
        if (host[i] != 0xa5a5a5a5u && mismatch(c, "memset", i, host[i], 0xa5a5a5a5u))
            goto out;
    if (rt_cu_copy(d, buf2, buf, N * 4, &c->e) && failed(c, "device copy", LPVM_ERR_RUNTIME))
        goto out;
    if (check_buffer(c, "device copy", buf2, host, 0))
        goto out;
    rt_sb_printf(&c->sb, "ok   upload, memset, device copy, download (%d words)\n", N);

    char *info = NULL;
    if (rt_cu_module_load(d, check_ptx, &mod, &info, &c->e) &&
        failed(c, "module load", LPVM_ERR_TOOLCHAIN))
        goto out;
    free(info);
    if ((rt_cu_function(d, mod, "lpvm_check_axpb", &axpb_fn, &c->e) ||
         rt_cu_function(d, mod, "lpvm_check_smem", &smem_fn, &c->e)) &&
        failed(c, "get function", LPVM_ERR_RUNTIME))
        goto out;
    RtCuFuncInfo fi;
    if (rt_cu_func_info(d, axpb_fn, &fi, &c->e) && failed(c, "function info", LPVM_ERR_RUNTIME))
        goto out;
    rt_sb_printf(&c->sb,
                 "ok   module from PTX; lpvm_check_axpb: %d registers, binary sm_%d, PTX %d\n",
                 fi.regs, fi.binary_version, fi.ptx_version);
    if (!rt_cu_function(d, mod, "no_such_kernel", &nofn, &c->e)) {
        rt_sb_printf(&c->sb, "FAIL a missing kernel was found\n");
        c->st = LPVM_ERR_RUNTIME;
        goto out;
    }
    rt_sb_printf(&c->sb, "ok   missing kernel reported: %s\n", c->e.msg);

    if (rt_cu_launch(d, axpb_fn, grid, WARPS, 0, NULL, params, &c->e) &&
        failed(c, "launch", LPVM_ERR_RUNTIME))
        goto out;
    if (rt_cu_sync(d, &c->e) && failed(c, "synchronize", LPVM_ERR_RUNTIME))
        goto out;
    if (check_buffer(c, "elementwise kernel", buf, host, 1))
        goto out;
    rt_sb_printf(&c->sb, "ok   elementwise kernel (%u blocks of %d warps)\n", grid[0], WARPS);

    unsigned smem = d->smem_optin > 96 * 1024 ? 96 * 1024 : (unsigned)d->smem_optin;
    unsigned words = smem / 4;
    hbig = malloc(smem);
    if (!hbig || rt_cu_alloc(d, smem, &big, &c->e)) {
        failed(c, "alloc for the shared memory kernel", LPVM_ERR_RUNTIME);
        goto out;
    }
    void *sparams[] = {&big, &words};
    unsigned one[3] = {1, 1, 1};
    if ((rt_cu_launch(d, smem_fn, one, 8, smem, NULL, sparams, &c->e) || rt_cu_sync(d, &c->e) ||
         rt_cu_download(d, hbig, big, smem, NULL, &c->e)) &&
        failed(c, "dynamic shared memory kernel", LPVM_ERR_RUNTIME))
        goto out;
    for (unsigned k = 0; k < words; k++)
        if (hbig[k] != 7 * (words - 1 - k) &&
            mismatch(c, "dynamic shared memory kernel", k, hbig[k], 7 * (words - 1 - k)))
            goto out;
    rt_sb_printf(&c->sb, "ok   %u bytes of dynamic shared memory (opt-in limit %d)\n", smem,
                 d->smem_optin);
    if (!rt_cu_launch(d, smem_fn, one, 8, (unsigned)d->smem_optin + 16, NULL, sparams, &c->e) ||
        c->e.fail != RT_CU_INVALID) {
        rt_sb_printf(&c->sb, "FAIL a launch beyond the shared memory limit was not refused\n");
        c->st = LPVM_ERR_RUNTIME;
        goto out;
    }
    rt_sb_printf(&c->sb, "ok   too much shared memory refused: %s\n", c->e.msg);

    RtCuModule badmod = NULL;
    if (!rt_cu_module_load(d, bad_ptx, &badmod, NULL, &c->e) || c->e.fail != RT_CU_JIT ||
        !strstr(c->e.msg, "no_such_register")) {
        rt_cu_module_unload(d, badmod);
        rt_sb_printf(&c->sb, "FAIL bad PTX: no JIT error naming the bad register (%s)\n", c->e.msg);
        c->st = LPVM_ERR_RUNTIME;
        goto out;
    }
    rt_sb_printf(&c->sb, "ok   bad PTX refused with the JIT log:\n%s\n", c->e.msg);

    for (uint32_t i = 0; i < N; i++)
        host[i] = i;
    float ms = 0;
    if ((rt_cu_stream_create(d, &s, &c->e) || rt_cu_event_create(d, &ev0, &c->e) ||
         rt_cu_event_create(d, &ev1, &c->e) || rt_cu_upload(d, buf, host, N * 4, s, &c->e) ||
         rt_cu_event_record(d, ev0, s, &c->e) ||
         rt_cu_launch(d, axpb_fn, grid, WARPS, 0, s, params, &c->e) ||
         rt_cu_launch(d, axpb_fn, grid, WARPS, 0, s, params, &c->e) ||
         rt_cu_event_record(d, ev1, s, &c->e) ||
         rt_cu_download(d, host, buf, N * 4, s, &c->e) || rt_cu_stream_sync(d, s, &c->e) ||
         rt_cu_event_sync(d, ev1, &c->e) || rt_cu_event_elapsed(d, ev0, ev1, &ms, &c->e)) &&
        failed(c, "stream and events", LPVM_ERR_RUNTIME))
        goto out;
    for (uint32_t i = 0; i < N; i++)
        if (host[i] != axpb(i, 2) && mismatch(c, "stream", i, host[i], axpb(i, 2)))
            goto out;
    rt_sb_printf(&c->sb, "ok   stream: async copies, two launches, events %.4f ms apart\n", ms);

    if ((rt_cu_capture_begin(d, s, &c->e) ||
         rt_cu_launch(d, axpb_fn, grid, WARPS, 0, s, params, &c->e) ||
         rt_cu_launch(d, axpb_fn, grid, WARPS, 0, s, params, &c->e) ||
         rt_cu_capture_end(d, s, &g, &c->e)) &&
        failed(c, "graph capture", LPVM_ERR_RUNTIME))
        goto out;
    if ((rt_cu_graph_launch(d, g, s, &c->e) || rt_cu_graph_launch(d, g, s, &c->e) ||
         rt_cu_stream_sync(d, s, &c->e)) &&
        failed(c, "graph launch", LPVM_ERR_RUNTIME))
        goto out;
    if (check_buffer(c, "graph", buf, host, 6))
        goto out;
    rt_sb_printf(&c->sb, "ok   graph of two launches captured and replayed twice\n");

    ThreadArg ta = {.d = d};
    pthread_t th;
    if (pthread_create(&th, NULL, other_thread, &ta)) {
        rt_sb_printf(&c->sb, "FAIL pthread_create\n");
        c->st = LPVM_ERR_RUNTIME;
        goto out;
    }
    pthread_join(th, NULL);
    if (ta.rc) {
        c->e = ta.e;
        failed(c, "device used from a second thread", LPVM_ERR_RUNTIME);
        goto out;
    }
    rt_sb_printf(&c->sb, "ok   device used from a second thread\n");

out:
    rt_cu_graph_destroy(d, g);
    rt_cu_event_destroy(d, ev0);
    rt_cu_event_destroy(d, ev1);
    rt_cu_stream_destroy(d, s);
    rt_cu_free(d, buf, NULL);
    rt_cu_free(d, buf2, NULL);
    rt_cu_free(d, big, NULL);
    rt_cu_module_unload(d, mod);
    free(host);
    free(hbig);
}

LPVM_API lpvm_status lpvm_cuda_selfcheck(int ordinal, char **report)
{
    if (!report)
        return LPVM_ERR_INVALID;
    Check c = {.st = LPVM_OK};
    if (rt_cu_init(&c.e)) {
        rt_sb_printf(&c.sb, "%s\n", c.e.msg);
        c.st = c.e.fail == RT_CU_NO_DRIVER || c.e.fail == RT_CU_NO_DEVICE ? LPVM_ERR_NO_GPU
                                                                          : LPVM_ERR_RUNTIME;
    } else if (rt_cu_device_open(ordinal, &c.d, &c.e)) {
        failed(&c, "device open", c.e.fail == RT_CU_INVALID ? LPVM_ERR_INVALID : LPVM_ERR_RUNTIME);
    } else {
        rt_sb_printf(&c.sb,
                     "ok   device %d: %s, %s, %d SMs, %zu MiB, shared memory %d per block "
                     "(opt-in %d), %d per SM, driver CUDA %d.%d\n",
                     ordinal, c.d.name, c.d.arch, c.d.sm_count, c.d.total_mem >> 20,
                     c.d.smem_per_block, c.d.smem_optin, c.d.smem_per_sm,
                     c.d.driver_version / 1000, c.d.driver_version % 1000 / 10);
        run(&c);
        rt_cu_device_close(&c.d);
    }
    *report = rt_sb_finish(&c.sb);
    if (!*report)
        return LPVM_ERR_NOMEM;
    return c.st;
}

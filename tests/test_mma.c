/* tests/test_mma.c - tensor cores and ldmatrix (codegen/lower_mma.c): the
 * tiled matmul sample and small dot kernels are lowered, checked for the
 * instructions the layouts select (TIR, then PTX from both emitters through
 * ptxas: no spills), and run on the CPU TIR evaluator (whose mma/ldmatrix
 * follow PTX-FACTS.md's fragment maps, tests/tir_eval_mma.c) against the
 * interpreter. The evaluator accumulates k ascending with one f32 fma per
 * product, the interpreter's order, so the comparison is bit-exact; int8
 * is exact on any hardware. Layouts that no atom divides keep the FMA loop. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/lang.h"
#include "tests/lang_util.h"
#include "tests/tir_eval.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    VmArena *a;
    Kernel *k;
    TirKernel *t;
} Mk;

/* div16: CgOptions.div16, the runtime's divisibility specialization */
static Mk compile_div(const char *src, const char *file, const char *spec, uint64_t div16)
{
    Mk m = {vm_arena_new(), NULL, NULL};
    LangDiags d;
    lang_diags_init(&d);
    Prog *p = NULL;
    LangStatus st = lang_compile(m.a, src, strlen(src), file, NULL, spec, &p, &d);
    char *msg = lang_diags_render(&d);
    cr_assert_eq(st, LANG_OK, "%s %s: %s", file, spec, msg);
    free(msg);
    lang_diags_free(&d);
    m.k = p->kernels[0];
    VmDiags vd;
    vm_diags_init(&vd, m.a);
    CgOptions o = {0};
    o.sm = 90;
    o.div16 = div16;
    CgStatus cs = cg_lower(m.k, &o, m.a, &m.t, &vd);
    char e[400] = "";
    if (vd.n)
        vm_diag_format(&vd.v[0], e, sizeof e);
    cr_assert_eq(cs, CG_OK, "%s %s: %s", file, spec, e);
    char err[200];
    cr_assert(tir_verify(m.t, err, sizeof err), "%s", err);
    return m;
}

static Mk compile(const char *src, const char *file, const char *spec)
{
    return compile_div(src, file, spec, 0);
}

/* div16 for a launch with shape identifiers m, n, k (tensors: 16-byte
 * aligned allocations), in the order of the kernel's params */
static uint64_t div16_of(const char *src, const char *file, const char *spec, int64_t M,
                         int64_t N, int64_t K)
{
    Mk m = compile(src, file, spec);
    uint64_t bits = 0;
    for (int p = 0; p < m.k->nparams; p++) {
        Param *q = m.k->params[p];
        int64_t v = !strcmp(q->name, "m") ? M : !strcmp(q->name, "n") ? N : K;
        if (q->kind == VM_P_TENSOR || v % 16 == 0)
            bits |= 1ull << p;
    }
    vm_arena_free(m.a);
    return bits;
}

static char *sample(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/samples/kernels/matmul.lpk", tl_root());
    char *s = tl_read(path, NULL);
    cr_assert(s, "cannot read %s", path);
    return s;
}

/* One tensor argument: TIR run copy and interpreter copy. */
typedef struct {
    size_t bytes;
    uint8_t *x, *y;
    int64_t shape[2];
} Buf;

static Buf buf(Dtype dt, int64_t r, int64_t c)
{
    Buf b = {(size_t)(r * c) * (size_t)(vm_dtype_bits(dt) / 8), NULL, NULL, {r, c}};
    b.x = aligned_alloc(16, (b.bytes + 31) & ~(size_t)15);
    b.y = aligned_alloc(16, (b.bytes + 31) & ~(size_t)15);
    memset(b.x, 0, b.bytes);
    memset(b.y, 0, b.bytes);
    return b;
}

/* c = a @ b for a[m, k], b[k, n] through TIR and the interpreter; params
 * named m, n, k (shape identifiers or scalars), tensors a, b, c. */
static void run_both(Mk *m, Buf *bs, int64_t M, int64_t N, int64_t K, const int *grid)
{
    uint64_t pv[16];
    TeBuf tb[3];
    VmArg args[16];
    int na = 0, ti = 0;
    for (int p = 0; p < m->k->nparams; p++) {
        Param *q = m->k->params[p];
        if (q->kind == VM_P_TENSOR) {
            Buf *b = &bs[ti];
            pv[p] = (uint64_t)(uintptr_t)b->x;
            tb[ti++] = (TeBuf){b->x, b->bytes};
            args[na++] = vm_arg_tensor(b->y, b->bytes, 2, b->shape);
        } else {
            int64_t v = !strcmp(q->name, "m") ? M : !strcmp(q->name, "n") ? N : K;
            pv[p] = (uint64_t)v;
            if (!q->implicit)
                args[na++] = vm_arg_int(v);
        }
    }
    TeVm ev;
    bool ok = te_run(&ev, m->t, pv, tb, ti, grid);
    cr_assert(ok, "TIR evaluation: %s", ev.msg);
    te_free(&ev);
    VmDiags d;
    vm_diags_init(&d, m->a);
    VmInterpOptions io = {0};
    bool iok = vm_interp_launch(m->k, args, na, &io, &d);
    char msg[400] = "?";
    if (!iok && d.n)
        vm_diag_format(&d.v[0], msg, sizeof msg);
    cr_assert(iok, "interpreter: %s", msg);
}

static void check_equal(const Buf *c, int64_t n, int eb, const char *what)
{
    for (int64_t j = 0; j < n; j++)
        if (memcmp(c->x + j * eb, c->y + j * eb, (size_t)eb)) {
            uint32_t u = 0, v = 0;
            memcpy(&u, c->x + j * eb, (size_t)eb);
            memcpy(&v, c->y + j * eb, (size_t)eb);
            cr_assert_fail("%s: element %lld (row %lld col %lld): TIR %08x, interpreter %08x",
                           what, (long long)j, (long long)(j / c->shape[1]),
                           (long long)(j % c->shape[1]), u, v);
        }
}

static void free_bufs(Buf *b, int n)
{
    for (int j = 0; j < n; j++) {
        free(b[j].x);
        free(b[j].y);
    }
}

/* f16 codes of small random values (k exact sums would hide the order) */
static uint16_t rand_f16(void)
{
    float f = (float)((int)(rnd() % 2001) - 1000) / 256.0f;
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)vm_cast(VM_DT_F16, VM_DT_F32, u);
}

static void check_sample(const char *spec, int64_t M, int64_t N, int64_t K, int bm, int bn)
{
    char *src = sample();
    Mk m = compile_div(src, "matmul.lpk", spec, div16_of(src, "matmul.lpk", spec, M, N, K));
    Buf bs[3] = {buf(VM_DT_F16, M, K), buf(VM_DT_F16, K, N), buf(VM_DT_F32, M, N)};
    for (int j = 0; j < 2; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            uint16_t h = rand_f16();
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    if (M % 16 == 0 && N % 16 == 0 && K % 16 == 0)
        cr_assert_gt(tir_count(m.t, TIR_OP_CP_ASYNC), 0, "%s: no cp.async", spec);
    int grid[3] = {(int)((N + bn - 1) / bn), (int)((M + bm - 1) / bm), 1};
    run_both(&m, bs, M, N, K, grid);
    check_equal(&bs[2], M * N, 4, spec);
    free_bufs(bs, 3);
    vm_arena_free(m.a);
    free(src);
}

Test(mma, sample_small_tiles_on_the_evaluator, .timeout = 300)
{
    check_sample("bm=64,bn=64,bk=32,wm=2,wn=2,stages=2", 100, 96, 64, 64, 64);
    check_sample("bm=32,bn=64,bk=32,wm=1,wn=4,stages=3", 40, 72, 96, 32, 64);
    check_sample("bm=64,bn=64,bk=32,wm=2,wn=2,stages=3", 128, 128, 160, 64, 64);
    /* bk = 64: the k16 loop inside a step runs (runtime slice starts) */
    check_sample("bm=64,bn=64,bk=64,wm=2,wn=2,stages=4", 100, 96, 320, 64, 64);
    check_sample("bm=32,bn=64,bk=64,wm=1,wn=4,stages=2", 40, 72, 128, 32, 64);
}

Test(mma, sample_default_tiles_on_the_evaluator, .timeout = 600)
{
    check_sample("bm=128,bn=256,bk=32,wm=2,wn=4,stages=3", 128, 264, 160, 128, 256);
}

static int count(const char *s, const char *w)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, w)); p += strlen(w))
        n++;
    return n;
}

/* The default spec (128 x 256 x 32, 2 x 4 warps): per warp (64 x 64 of c)
 * the fragments of one k16 slice are 4 A fragments by ldmatrix.x4 and 4
 * pairs of B fragments by ldmatrix.x4.trans, multiplied by 4 x 8 mma.sync.
 * The sample loads slice by slice, register double-buffered: the TIR has
 * five slice loads (before the loop, two in the k16 loop that bk = 32 never
 * enters, the last slice of a step, the first of the next) and four dots;
 * the copies are cp.async. The loop-carried fragments stay whole words
 * (tir_pack.c): no f16 halves are packed again for the mma. */
Test(mma, sample_tir_selects_tensor_cores)
{
    char *src = sample();
    Mk m = compile_div(src, "matmul.lpk", "", ~0ull);
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 4 * 32);
    cr_assert_eq(tir_count(m.t, TIR_OP_LDMATRIX), 5 * 8);
    cr_assert_gt(tir_count(m.t, TIR_OP_CP_ASYNC), 0, "copy_async lowered without cp.async");
    cr_assert_eq(tir_count(m.t, TIR_OP_PACK), 0, "fragment halves packed again");
    char *text = tir_print_alloc(m.t);
    cr_assert_eq(count(text, "mma.sync.m16n8k16.f32.f16"), 4 * 32, "%s", text);
    cr_assert_eq(count(text, "ldmatrix.x4.b16"), 5 * 4);
    cr_assert_eq(count(text, "ldmatrix.x4.trans.b16"), 5 * 4);
    cr_assert_eq(tir_count(m.t, TIR_OP_FMA), 0, "the FMA loop ran");
    free(text);
    vm_arena_free(m.a);
    free(src);
}

static int ptxas_ok(const char *ptx, char *log, size_t n)
{
    char path[] = "/tmp/lpvm_mma_XXXXXX.ptx";
    int fd = mkstemps(path, 4);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    fputs(ptx, f);
    fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "/usr/local/cuda/bin/ptxas -arch=sm_90 -v -o /dev/null %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(log, 1, n - 1, p) : 0;
    log[got] = 0;
    int rc = p ? pclose(p) : -1;
    remove(path);
    return rc;
}

/* Both emitters: the PTX has the three instructions and ptxas reports no
 * spills and no stack frame. */
Test(mma, sample_ptx_both_backends_no_spills, .timeout = 120)
{
    if (access("/usr/local/cuda/bin/ptxas", X_OK))
        cr_skip_test("no ptxas");
    char *src = sample();
    Mk m = compile_div(src, "matmul.lpk", "", ~0ull);
    CgTarget tg = {"sm_90", 0, 3, NULL};
    char *ptx = NULL, *err = NULL;
    cr_assert_eq(cg_emit_llvm(m.t, &tg, NULL, &ptx, &err), 0, "%s", err ? err : "");
    const char *want[] = {"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32",
                          "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                          "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "cp.async"};
    for (int j = 0; j < 4; j++)
        cr_assert(strstr(ptx, want[j]), "LLVM PTX lacks %s", want[j]);
    /* the k16 loop that bk = 32 never enters is gone: 2 slices per step */
    cr_assert_eq(count(ptx, "mma.sync.aligned"), 64);
    cr_assert_eq(count(ptx, "ldmatrix.sync.aligned"), 3 * 8);
    char log[4096];
    cr_assert_eq(ptxas_ok(ptx, log, sizeof log), 0, "%s", log);
    cr_assert(strstr(log, "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads"),
              "%s", log);
    free(ptx);
    char *cu = cg_emit_cuda(m.t, &err);
    cr_assert(cu, "%s", err ? err : "");
    cr_assert_eq(count(cu, "mma.sync.aligned.m16n8k16"), 4 * 32);
    cr_assert(strstr(cu, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
    free(cu);
    vm_arena_free(m.a);
    free(src);
}

/* int8: m16n8k32 s8 x s8 -> s32 and u8, every code of the dtype appearing,
 * bit-exact (integers wrap in both). */
static const char *const mm8 =
    "kernel mm8<dt: dtype = i8>(a: global dt[m, k], b: global dt[k, n], c: global i32[m, n])\n"
    "    grid(1) warps(4)\n"
    "{\n"
    "    let mma = mma_m16n8k32(warps = [2, 2], repeat = [1, 2, 2]);\n"
    "    let ta = load_global(a[0 : 32, 0 : 64]) @ mma.a;\n"
    "    let tb = load_global(b[0 : 64, 0 : 32]) @ mma.b;\n"
    "    let c0 = load_global(c[0 : 32, 0 : 32]) @ mma.c;\n"
    "    store_global(c[0 : 32, 0 : 32], dot(ta, tb, c0));\n"
    "}\n";

static void check_int8(const char *spec, Dtype dt)
{
    Mk m = compile(mm8, "mm8.lpk", spec);
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 2 * 2, "%s: no tensor cores", spec);
    char *text = tir_print_alloc(m.t);
    cr_assert(strstr(text, dt == VM_DT_I8 ? "mma.sync.m16n8k32.s32.s8" : "mma.sync.m16n8k32.s32.u8"),
              "%s", text);
    free(text);
    Buf bs[3] = {buf(dt, 32, 64), buf(dt, 64, 32), buf(VM_DT_I32, 32, 32)};
    for (int j = 0; j < 3; j++) {
        for (size_t e = 0; e < bs[j].bytes; e++)
            bs[j].x[e] = j < 2 ? (uint8_t)e : (uint8_t)rnd();
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    int32_t cin;
    memcpy(&cin, bs[2].x, 4);
    run_both(&m, bs, 32, 32, 64, (int[3]){1, 1, 1});
    check_equal(&bs[2], 32 * 32, 4, spec);
    /* element (0, 0) by hand: a[0][k] = k, b[k][0] = 32 k (bytes) */
    int64_t s = 0;
    for (int kk = 0; kk < 64; kk++) {
        int av = (uint8_t)kk, bv = (uint8_t)(kk * 32);
        if (dt == VM_DT_I8) {
            av = (int8_t)av;
            bv = (int8_t)bv;
        }
        s += av * bv;
    }
    int32_t c00;
    memcpy(&c00, bs[2].x, 4);
    cr_assert_eq((uint32_t)c00, (uint32_t)cin + (uint32_t)s, "%s", spec);
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

Test(mma, int8_m16n8k32_exact)
{
    check_int8("dt=i8", VM_DT_I8);
    check_int8("dt=u8", VM_DT_U8);
}

/* A dot whose C layout no mma atom divides keeps the FMA loop (and is
 * still right). */
static const char *const fma_dot =
    "kernel fd(a: global f16[m, k], b: global f16[k, n], c: global f32[m, n])\n"
    "    grid(1) warps(1)\n"
    "{\n"
    "    let ta = load_global(a[0 : 16, 0 : 16]);\n"
    "    let tb = load_global(b[0 : 16, 0 : 8]);\n"
    "    store_global(c[0 : 16, 0 : 8], dot(ta, tb, zeros(f32[16, 8])));\n"
    "}\n";

Test(mma, no_atom_falls_back_to_fma)
{
    Mk m = compile(fma_dot, "fd.lpk", "");
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 0);
    cr_assert_gt(tir_count(m.t, TIR_OP_FMA), 0);
    Buf bs[3] = {buf(VM_DT_F16, 16, 16), buf(VM_DT_F16, 16, 8), buf(VM_DT_F32, 16, 8)};
    for (int j = 0; j < 2; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            uint16_t h = rand_f16();
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    run_both(&m, bs, 16, 8, 16, (int[3]){1, 1, 1});
    check_equal(&bs[2], 16 * 8, 4, "fma dot");
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

/* ldmatrix from plain, padded and sliced shared tiles: x4 for A, x2.trans
 * for a 16-byte-row B; a row stride that is not a multiple of 16 bytes
 * (padded(4): 72-byte rows) keeps the scalar loads. */
static const char *const ls_fmt =
    "kernel ls(a: global f16[m, k], b: global f16[k, n], c: global f32[m, n])\n"
    "    grid(1) warps(2)\n"
    "{\n"
    "    let mma = mma_m16n8k16(f16, f32, warps = [2, 1], repeat = [1, 1, 2]);\n"
    "    let sa = shared_alloc(f16[32, 48]%s);\n"
    "    let sb = shared_alloc(f16[32, 8]);\n"
    "    store_shared(sa[0 : 32, 0 : 16], full(f16[32, 16], 7.0));\n"
    "    store_shared(sa[0 : 32, 16 : 32], load_global(a[0 : 32, 0 : 32]));\n"
    "    store_shared(sb, load_global(b[0 : 32, 0 : 8]));\n"
    "    sync();\n"
    "    let ta = load_shared(sa[0 : 32, 16 : 32]) @ mma.a;\n"
    "    let tb = load_shared(sb) @ mma.b;\n"
    "    store_global(c[0 : 32, 0 : 8], dot(ta, tb, zeros(f32[32, 8]) @ mma.c));\n"
    "    shared_free(sa);\n"
    "    shared_free(sb);\n"
    "}\n";

static void check_ls(const char *lay, int want_x4, int want_x2t)
{
    char src[2048];
    snprintf(src, sizeof src, ls_fmt, lay);
    Mk m = compile(src, "ls.lpk", "");
    char *text = tir_print_alloc(m.t);
    cr_assert_eq(count(text, "ldmatrix.x4.b16"), want_x4, "%s:\n%s", lay, text);
    cr_assert_eq(count(text, "ldmatrix.x2.trans.b16"), want_x2t, "%s", lay);
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 2, "%s", lay);
    free(text);
    Buf bs[3] = {buf(VM_DT_F16, 32, 32), buf(VM_DT_F16, 32, 8), buf(VM_DT_F32, 32, 8)};
    for (int j = 0; j < 2; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            uint16_t h = rand_f16();
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    run_both(&m, bs, 32, 8, 32, (int[3]){1, 1, 1});
    check_equal(&bs[2], 32 * 8, 4, lay);
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

Test(mma, ldmatrix_plain_padded_sliced)
{
    check_ls("", 2, 2);
    check_ls(", padded(8)", 2, 2);
    check_ls(", padded(4)", 0, 2);
}

/* bf16 operands, f32 accumulator; fragments straight from global loads. */
static const char *const mmb =
    "kernel mmb(a: global bf16[m, k], b: global bf16[k, n], c: global f32[m, n])\n"
    "    grid(1) warps(4)\n"
    "{\n"
    "    let mma = mma_m16n8k16(bf16, f32, warps = [2, 2], repeat = [2, 2, 2]);\n"
    "    let ta = load_global(a[0 : 64, 0 : 32]) @ mma.a;\n"
    "    let tb = load_global(b[0 : 32, 0 : 32]) @ mma.b;\n"
    "    store_global(c[0 : 64, 0 : 32], dot(ta, tb, zeros(f32[64, 32]) @ mma.c));\n"
    "}\n";

Test(mma, bf16_m16n8k16)
{
    Mk m = compile(mmb, "mmb.lpk", "");
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 8);
    char *text = tir_print_alloc(m.t);
    cr_assert(strstr(text, "mma.sync.m16n8k16.f32.bf16"), "%s", text);
    free(text);
    Buf bs[3] = {buf(VM_DT_BF16, 64, 32), buf(VM_DT_BF16, 32, 32), buf(VM_DT_F32, 64, 32)};
    for (int j = 0; j < 2; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            float f = (float)((int)(rnd() % 20001) - 10000) / 1024.0f;
            uint32_t u;
            memcpy(&u, &f, 4);
            uint16_t h = (uint16_t)vm_cast(VM_DT_BF16, VM_DT_F32, u);
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    run_both(&m, bs, 64, 32, 32, (int[3]){1, 1, 1});
    check_equal(&bs[2], 64 * 32, 4, "bf16");
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

/* f16 x f16 -> f16 accumulator (f16x2 words): small integer values keep
 * every partial sum exact in f16, so the interpreter's per-step f16
 * rounding and the tensor core's agree bit for bit. */
static const char *const mmh =
    "kernel mmh(a: global f16[m, k], b: global f16[k, n], c: global f16[m, n])\n"
    "    grid(1) warps(2)\n"
    "{\n"
    "    let mma = mma_m16n8k16(f16, f16, warps = [1, 2], repeat = [2, 1, 2]);\n"
    "    let ta = load_global(a[0 : 32, 0 : 32]) @ mma.a;\n"
    "    let tb = load_global(b[0 : 32, 0 : 16]) @ mma.b;\n"
    "    let c0 = load_global(c[0 : 32, 0 : 16]) @ mma.c;\n"
    "    store_global(c[0 : 32, 0 : 16], dot(ta, tb, c0));\n"
    "}\n";

Test(mma, f16_accumulator)
{
    Mk m = compile(mmh, "mmh.lpk", "");
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 4);
    char *text = tir_print_alloc(m.t);
    cr_assert(strstr(text, "mma.sync.m16n8k16.f16x2.f16"), "%s", text);
    free(text);
    CgTarget tg = {"sm_90", 0, 3, NULL};
    char *ptx = NULL, *err = NULL;
    cr_assert_eq(cg_emit_llvm(m.t, &tg, NULL, &ptx, &err), 0, "%s", err ? err : "");
    cr_assert(strstr(ptx, "mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16"));
    free(ptx);
    Buf bs[3] = {buf(VM_DT_F16, 32, 32), buf(VM_DT_F16, 32, 16), buf(VM_DT_F16, 32, 16)};
    for (int j = 0; j < 3; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            float f = (float)((int)(rnd() % 7) - 3);
            uint32_t u;
            memcpy(&u, &f, 4);
            uint16_t h = (uint16_t)vm_cast(VM_DT_F16, VM_DT_F32, u);
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    run_both(&m, bs, 32, 16, 32, (int[3]){1, 1, 1});
    check_equal(&bs[2], 32 * 16, 2, "f16 acc");
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

/* Register double buffering: a `var` fragment carried around the loop and a
 * `let` snapshot of it taken before it is reassigned (the snapshot keeps the
 * old contents). The fragment halves are only ever moved as pairs, so
 * tir_pack.c carries them as whole words: no pack is left. With dbl = 1 the
 * loop also doubles the fragment elementwise (its halves are then defined
 * one by one): the pairs stay unpacked halves, packed at the mma. Both
 * bit-exact against the interpreter. */
static const char *const mmp =
    "kernel mmp<dbl: int = 0>(a: global f16[m, k], b: global f16[k, n], c: global f32[m, n])\n"
    "    grid(1) warps(2)\n"
    "{\n"
    "    let mma = mma_m16n8k16(f16, f32, warps = [1, 2], repeat = [2, 1, 1]);\n"
    "    let sa = shared_alloc(f16[32, 64], swizzled_row_major);\n"
    "    let sb = shared_alloc(f16[64, 16], swizzled_row_major);\n"
    "    store_shared(sa, load_global(a[0 : 32, 0 : 64]));\n"
    "    store_shared(sb, load_global(b[0 : 64, 0 : 16]));\n"
    "    sync();\n"
    "    var fa = load_shared(sa[0 : 32, 0 : 16]) @ mma.a;\n"
    "    var fb = load_shared(sb[0 : 16, 0 : 16]) @ mma.b;\n"
    "    var acc = zeros(f32[32, 16]) @ mma.c;\n"
    "    for kk in range(16, 64, 16) {\n"
    "        let old = fa;\n"
    "        let ob = fb;\n"
    "        fa = load_shared(sa[0 : 32, kk : 16]) @ mma.a;\n"
    "        fb = load_shared(sb[kk : 16, 0 : 16]) @ mma.b;\n"
    "        if dbl == 1 {\n"
    "            fa = fa + fa;\n"
    "        }\n"
    "        acc = dot(old, ob, acc);\n"
    "    }\n"
    "    acc = dot(fa, fb, acc);\n"
    "    shared_free(sa);\n"
    "    shared_free(sb);\n"
    "    store_global(c[0 : 32, 0 : 16], acc);\n"
    "}\n";

static void check_mmp(const char *spec, bool packed)
{
    Mk m = compile(mmp, "mmp.lpk", spec);
    cr_assert_eq(tir_count(m.t, TIR_OP_MMA), 4, "%s", spec);
    if (packed)
        cr_assert_eq(tir_count(m.t, TIR_OP_PACK), 0, "%s: fragment halves packed again", spec);
    else
        cr_assert_gt(tir_count(m.t, TIR_OP_PACK), 0, "%s: halves defined one by one", spec);
    Buf bs[3] = {buf(VM_DT_F16, 32, 64), buf(VM_DT_F16, 64, 16), buf(VM_DT_F32, 32, 16)};
    for (int j = 0; j < 2; j++) {
        for (size_t e = 0; e < bs[j].bytes / 2; e++) {
            uint16_t h = rand_f16();
            memcpy(bs[j].x + 2 * e, &h, 2);
        }
        memcpy(bs[j].y, bs[j].x, bs[j].bytes);
    }
    run_both(&m, bs, 32, 16, 64, (int[3]){1, 1, 1});
    check_equal(&bs[2], 32 * 16, 4, spec);
    free_bufs(bs, 3);
    vm_arena_free(m.a);
}

Test(mma, loop_carried_fragments_stay_packed)
{
    check_mmp("dbl=0", true);
    check_mmp("dbl=1", false);
}

/* Which registers depend on the registers named `name` (forward taint
 * through every op's register arguments, twice for loop-carried values). */
static void taint_block(const TirBlock *b, bool *t)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        taint_block(&o->body, t);
        taint_block(&o->orelse, t);
        bool any = false;
        for (int j = 0; j < o->na; j++)
            any = any || (o->a[j].kind == TIR_A_REG && t[o->a[j].reg]);
        for (int j = 0; j < o->nd && any; j++)
            t[o->d[j]] = true;
    }
}

static bool *taint(const TirKernel *k, const char *name)
{
    bool *t = calloc((size_t)k->nregs + 1, 1);
    for (int r = 0; r < k->nregs; r++)
        t[r] = k->regs[r].name && !strcmp(k->regs[r].name, name);
    taint_block(&k->body, t);
    taint_block(&k->body, t);
    return t;
}

typedef struct {
    const bool *st, *nx, *tid;
    int xor_st, cpa, cpa_st, setp_nx, setp_nx_tid;
} Hoist;

static void hoist_walk(const TirBlock *b, Hoist *h)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        hoist_walk(&o->body, h);
        hoist_walk(&o->orelse, h);
        bool st = false, nx = false, tid = false;
        for (int j = 0; j < o->na; j++)
            if (o->a[j].kind == TIR_A_REG) {
                st = st || h->st[o->a[j].reg];
                nx = nx || h->nx[o->a[j].reg];
                tid = tid || h->tid[o->a[j].reg];
            }
        if (o->op == TIR_OP_XOR && st)
            h->xor_st++;
        if (o->op == TIR_OP_CP_ASYNC) {
            h->cpa++;
            h->cpa_st += h->st[o->a[0].reg];
        }
        if (o->op == TIR_OP_SETP && nx) {
            h->setp_nx++;
            h->setp_nx_tid += tid;
        }
    }
}

/* The cp.async addresses of the ring (lower_mem.c): the stage `st` is added
 * after the swizzle (no swizzle XOR depends on it, so the per-thread part
 * is loop-invariant), and the k bound of a step is one compare of the
 * step's start (k % bk == 0 and the start nx * bk): no compare depends on
 * both the step `nx` and the thread. */
Test(mma, sample_cp_async_addresses_hoistable)
{
    char *src = sample();
    Mk m = compile_div(src, "matmul.lpk", "", ~0ull);
    bool *st = taint(m.t, "st"), *nx = taint(m.t, "nx"), *tid = taint(m.t, "tid");
    Hoist h = {st, nx, tid, 0, 0, 0, 0, 0};
    hoist_walk(&m.t->body, &h);
    cr_assert_gt(h.cpa, 0);
    cr_assert_eq(h.cpa_st, 6, "the stage picks the buffer of the 6 copies in the loop");
    cr_assert_eq(h.xor_st, 0, "a swizzle depends on the stage");
    cr_assert_gt(h.setp_nx, 0);
    cr_assert_eq(h.setp_nx_tid, 0, "the k bound is compared per element");
    free(st);
    free(nx);
    free(tid);
    vm_arena_free(m.a);
    free(src);
}

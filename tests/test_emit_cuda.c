/* tests/test_emit_cuda.c - the CUDA C emitter (codegen/emit_cuda*.c): TIR
 * kernels built by hand (a vector add; one kernel using every op class) are
 * printed as CUDA C, compiled by NVRTC for compute_80 and compute_90, and
 * the PTX is checked by ptxas -arch=sm_80/sm_90 and searched for the
 * instructions the ops must become (and for no fma.rn that was not asked
 * for). Also: names, literals, control flow text, errors as values, the
 * NVRTC log annotation, and every .lpk of samples/kernels at each of its
 * `// spec:` lines through lang_compile, cg_lower, this emitter, NVRTC and
 * ptxas.
 *
 * NVRTC and ptxas ($CUDA_HOME/bin/ptxas) are optional on a build machine:
 * tests needing them skip with a visible message when they are absent. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "lang/lang.h"
#include "runtime/runtime.h"
#include "tests/lang_util.h"

/* ------------------------------------------------------------ toolchain */

static char ptxas_bin[4096];

static bool have_ptxas(void)
{
    const char *h = getenv("CUDA_HOME");
    snprintf(ptxas_bin, sizeof ptxas_bin, "%s/bin/ptxas", h && *h ? h : LPVM_CUDA_HOME);
    return access(ptxas_bin, X_OK) == 0;
}

#define NEED_TOOLS()                                                                   \
    do {                                                                               \
        const char *why_;                                                              \
        if (rt_nvrtc_load(NULL, &why_)) {                                              \
            cr_log_warn("emit_cuda: NVRTC not available, CUDA C not compiled: %s", why_); \
            cr_skip_test("NVRTC not available: %s", why_);                             \
        }                                                                              \
        if (!have_ptxas()) {                                                           \
            cr_log_warn("emit_cuda: %s not found, PTX not validated", ptxas_bin);     \
            cr_skip_test("ptxas not found at %s (set CUDA_HOME)", ptxas_bin);          \
        }                                                                              \
    } while (0)

/* ptxas -arch=arch on ptx: its exit status, *out its output (malloc'd). */
static int run_ptxas(const char *ptx, const char *arch, char **out)
{
    char src[] = "/tmp/lpvm-emit-cuda-XXXXXX.ptx";
    int fd = mkstemps(src, 4);
    cr_assert(fd >= 0, "mkstemps failed");
    FILE *f = fdopen(fd, "w");
    cr_assert(f);
    cr_assert_eq(fwrite(ptx, 1, strlen(ptx), f), strlen(ptx));
    cr_assert_eq(fclose(f), 0);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "'%s' -arch=%s '%s' -o /dev/null 2>&1", ptxas_bin, arch, src);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen(%s) failed", cmd);
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    unlink(src);
    *out = buf;
    return st;
}

/* NVRTC for compute_<sm>, then ptxas sm_<sm>; the PTX, malloc'd. On failure
 * *why (malloc'd) says what failed, with the annotated NVRTC log. */
static char *compile(const char *cuda, int sm, char **why)
{
    char arch[32], *ptx = NULL, *log = NULL;
    *why = NULL;
    snprintf(arch, sizeof arch, "compute_%d", sm);
    if (rt_nvrtc_compile(cuda, "kernel.cu", arch, &ptx, &log)) {
        char *ann = cg_cuda_annotate_log(cuda, log);
        size_t n = strlen(ann) + 64;
        *why = malloc(n);
        snprintf(*why, n, "NVRTC (%s):\n%s", arch, ann);
        free(ann);
        free(log);
        return NULL;
    }
    free(log);
    snprintf(arch, sizeof arch, "sm_%d", sm);
    char *out;
    int st = run_ptxas(ptx, arch, &out);
    if (st) {
        size_t n = strlen(out) + 64;
        *why = malloc(n);
        snprintf(*why, n, "ptxas -arch=%s (status %d):\n%s", arch, st, out);
        free(out);
        free(ptx);
        return NULL;
    }
    free(out);
    return ptx;
}

static char *compile_ok(const char *cuda, int sm)
{
    char *why;
    char *ptx = compile(cuda, sm, &why);
    cr_assert_not_null(ptx, "%s\n--- CUDA C:\n%s", why, cuda);
    return ptx;
}

static int count(const char *s, const char *pat)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, pat)); p += strlen(pat))
        n++;
    return n;
}

static void has(const char *text, const char *pat, const char *what)
{
    cr_expect(strstr(text, pat), "'%s' not in the %s:\n%s", pat, what, text);
}

static const int sms[] = {80, 90};

/* ------------------------------------------------------------ TIR building */

typedef struct {
    VmArena *a;
    TirKernel *k;
    TirBlock *cur;
    int line;
} Kb;

static Kb kb_new(const char *name, int warps)
{
    Kb b = {0};
    b.a = vm_arena_new();
    b.k = tir_kernel_new(b.a, name, warps);
    b.cur = &b.k->body;
    b.line = 1;
    return b;
}

static int R(Kb *b, TirType t, const char *name) { return tir_reg(b->k, t, name); }
static TirArg r_(int reg) { return tir_r(reg); }
static TirArg i_(int64_t v) { return tir_imm((uint64_t)v); }
static TirArg f_(double v) { return tir_immf(v, TIR_F32); }
static TirArg d_(double v) { return tir_immf(v, TIR_F64); }

static int param(Kb *b, const char *name, TirParamKind kind, TirType t, Dtype dt)
{
    TirKernel *k = b->k;
    TirParam *p = vm_alloc(b->a, sizeof *p * (size_t)(k->nparams + 1));
    if (k->nparams)
        memcpy(p, k->params, sizeof *p * (size_t)k->nparams);
    TirType rt = kind == TIR_P_PTR ? TIR_U64 : t;
    p[k->nparams] = (TirParam){name, kind, rt, dt, tir_reg(k, rt, name), false};
    k->params = p;
    return p[k->nparams++].reg;
}

/* An op of type t with nd destinations then na TirArgs in the varargs. */
static TirOp *op(Kb *b, TirOpcode code, TirType t, int nd, int na, ...)
{
    TirOp *o = tir_op_new(b->k, code, t);
    va_list ap;
    va_start(ap, na);
    for (int i = 0; i < nd; i++)
        o->d[i] = va_arg(ap, int);
    for (int i = 0; i < na; i++)
        o->a[i] = va_arg(ap, TirArg);
    va_end(ap);
    o->nd = nd;
    o->na = na;
    o->line = b->line;
    tir_append(b->cur, o);
    return o;
}

/* d (fresh, type dt) = code.t(x[, y[, z]]) */
static int val(Kb *b, TirOpcode code, TirType t, TirType dt, int na, TirArg x, TirArg y, TirArg z)
{
    int d = R(b, dt, NULL);
    op(b, code, t, 1, na, d, x, y, z);
    return d;
}
#define V1(b, c, t, x) val(b, c, t, t, 1, x, i_(0), i_(0))
#define V2(b, c, t, x, y) val(b, c, t, t, 2, x, y, i_(0))
#define V3(b, c, t, x, y, z) val(b, c, t, t, 3, x, y, z)

static int sreg(Kb *b, TirSreg s, const char *name)
{
    int d = R(b, TIR_U32, name);
    op(b, TIR_OP_SREG, TIR_U32, 1, 0, d)->mod = s;
    return d;
}

static int setp(Kb *b, TirCmp c, TirType t, TirArg x, TirArg y)
{
    int d = R(b, TIR_PRED, "p");
    op(b, TIR_OP_SETP, t, 1, 2, d, x, y)->mod = c;
    return d;
}

/* d (register type reg) = cvt.rnd.sat.to.from x */
static int cvt(Kb *b, TirType reg, TirType to, TirType from, TirRnd rnd, bool sat, TirArg x)
{
    int d = R(b, reg, "cv");
    TirOp *o = op(b, TIR_OP_CVT, to, 1, 1, d, x);
    o->type2 = from;
    o->mod = rnd;
    o->imm = sat;
    return d;
}

static TirOp *ldop(Kb *b, TirSpace sp, TirArg addr, int64_t off, TirType rt, TirType mt, int n,
                   int *d)
{
    TirOp *o = tir_op_new(b->k, TIR_OP_LD, rt);
    o->type2 = mt;
    o->space = sp;
    o->off = off;
    o->a[0] = addr;
    o->na = 1;
    for (int i = 0; i < n; i++)
        o->d[i] = d[i] = R(b, rt, "ld");
    o->nd = n;
    o->width = n * tir_type_bits(mt) / 8;
    o->line = b->line;
    tir_append(b->cur, o);
    return o;
}

static TirOp *stop(Kb *b, TirSpace sp, TirArg addr, int64_t off, TirType rt, TirType mt, int n,
                   const int *v)
{
    TirOp *o = tir_op_new(b->k, TIR_OP_ST, rt);
    o->type2 = mt;
    o->space = sp;
    o->off = off;
    o->a[0] = addr;
    for (int i = 0; i < n; i++)
        o->a[1 + i] = tir_r(v[i]);
    o->na = 1 + n;
    o->width = n * tir_type_bits(mt) / 8;
    o->line = b->line;
    tir_append(b->cur, o);
    return o;
}

/* Stores reg to out + 16 * slot (pred as a u32 0/1). */
static int slot;
static void put(Kb *b, int out, int reg)
{
    TirType t = b->k->regs[reg].type;
    if (t == TIR_PRED) {
        reg = val(b, TIR_OP_SELP, TIR_U32, TIR_U32, 3, i_(1), i_(0), r_(reg));
        t = TIR_U32;
    }
    int bits = tir_type_bits(t);
    TirType mt = bits == 64 ? TIR_B64 : bits == 16 ? TIR_B16 : t == TIR_F32 ? TIR_F32 : TIR_B32;
    stop(b, TIR_SPACE_GLOBAL, r_(out), 16 * ++slot, t, mt, 1, &reg);
}

static TirOp *ctl(Kb *b, TirOpcode code, int pred)
{
    TirOp *o = tir_op_new(b->k, code, TIR_PRED);
    if (pred >= 0) {
        o->a[0] = tir_r(pred);
        o->na = 1;
    }
    o->line = b->line;
    tir_append(b->cur, o);
    return o;
}

static char *emit_ok(Kb *b)
{
    char *err = NULL;
    char *src = cg_emit_cuda(b->k, &err);
    if (!src) {
        char *tir = tir_print_alloc(b->k);
        cr_assert_not_null(src, "cg_emit_cuda: %s\n--- TIR:\n%s", err, tir);
    }
    cr_assert_null(err);
    return src;
}

/* vadd(a, b, c, n): i = ctaid.x * 128 + tid.x; if (i < n) c[i] = a[i] + b[i] */
static Kb build_vadd(void)
{
    Kb b = kb_new("vadd", 4);
    int pa = param(&b, "a", TIR_P_PTR, 0, VM_DT_F32), pb = param(&b, "b", TIR_P_PTR, 0, VM_DT_F32);
    int pc = param(&b, "c", TIR_P_PTR, 0, VM_DT_F32);
    int n = param(&b, "n", TIR_P_SCALAR, TIR_S32, VM_DT_I32);
    b.line = 7;
    int tid = sreg(&b, TIR_SR_TID_X, "tid"), cta = sreg(&b, TIR_SR_CTAID_X, "cta");
    int i = R(&b, TIR_S32, "i");
    op(&b, TIR_OP_MAD, TIR_S32, 1, 3, i, r_(cta), i_(128), r_(tid));
    int p = setp(&b, TIR_CMP_LT, TIR_S32, r_(i), r_(n));
    TirOp *iff = ctl(&b, TIR_OP_IF, p);
    b.cur = &iff->body;
    b.line = 8;
    int off = R(&b, TIR_S64, "off");
    op(&b, TIR_OP_MULWIDE, TIR_S64, 1, 2, off, r_(i), i_(4))->type2 = TIR_S32;
    int x[1], y[1];
    ldop(&b, TIR_SPACE_GLOBAL, r_(V2(&b, TIR_OP_ADD, TIR_U64, r_(pa), r_(off))), 0, TIR_F32,
         TIR_F32, 1, x);
    ldop(&b, TIR_SPACE_GLOBAL, r_(V2(&b, TIR_OP_ADD, TIR_U64, r_(pb), r_(off))), 0, TIR_F32,
         TIR_F32, 1, y);
    b.line = 9;
    int s = R(&b, TIR_F32, "sum");
    op(&b, TIR_OP_ADD, TIR_F32, 1, 2, s, r_(x[0]), r_(y[0]));
    stop(&b, TIR_SPACE_GLOBAL, r_(V2(&b, TIR_OP_ADD, TIR_U64, r_(pc), r_(off))), 0, TIR_F32,
         TIR_F32, 1, &s);
    b.cur = &b.k->body;
    return b;
}

/* ------------------------------------------------------------ tests */

Test(emit_cuda, vadd)
{
    Kb b = build_vadd();
    char *src = emit_ok(&b);
    has(src, "extern \"C\" __global__ void __launch_bounds__(128) vadd(", "CUDA C");
    has(src, "unsigned long long a /* f32 * */", "CUDA C");
    has(src, "int n", "CUDA C");
    has(src, "extern __shared__ __align__(16) unsigned char lpvm_smem[];", "CUDA C");
    has(src, "// line 7", "CUDA C");
    has(src, "// line 8", "CUDA C");
    has(src, "sum = __fadd_rn(ld, ld_1);", "CUDA C");
    has(src, "tid = threadIdx.x;", "CUDA C");
    has(src, "cta = blockIdx.x;", "CUDA C");
    has(src, "if (p) {", "CUDA C");
    cr_expect_eq(count(src, "// line 8"), 1, "one comment per line change:\n%s", src);
    NEED_TOOLS();
    for (int i = 0; i < 2; i++) {
        char *ptx = compile_ok(src, sms[i]);
        has(ptx, ".entry vadd(", "PTX");
        has(ptx, ".maxntid 128, 1, 1", "PTX");
        has(ptx, "add.rn.f32", "PTX");
        has(ptx, "ld.global.f32", "PTX");
        has(ptx, "st.global.f32", "PTX");
        cr_expect_eq(count(ptx, "fma.rn"), 0, "fma in:\n%s", ptx);
        free(ptx);
    }
    free(src);
    vm_arena_free(b.a);
}

/* d = a * b + c as separate ops, f32 and f64: never contracted. */
Test(emit_cuda, no_contraction)
{
    Kb b = kb_new("nocontract", 1);
    int out = param(&b, "out", TIR_P_PTR, 0, VM_DT_F32);
    int x = param(&b, "x", TIR_P_SCALAR, TIR_F32, VM_DT_F32);
    int m = V2(&b, TIR_OP_MUL, TIR_F32, r_(x), r_(x));
    put(&b, out, V2(&b, TIR_OP_ADD, TIR_F32, r_(m), f_(1.5)));
    int xd = cvt(&b, TIR_F64, TIR_F64, TIR_F32, TIR_RND_NONE, false, r_(x));
    int md = V2(&b, TIR_OP_MUL, TIR_F64, r_(xd), r_(xd));
    put(&b, out, V2(&b, TIR_OP_SUB, TIR_F64, r_(md), d_(0.25)));
    char *src = emit_ok(&b);
    has(src, "__fmul_rn(x, x)", "CUDA C");
    has(src, "1.5f", "CUDA C");
    has(src, "__dsub_rn(", "CUDA C");
    NEED_TOOLS();
    for (int i = 0; i < 2; i++) {
        char *ptx = compile_ok(src, sms[i]);
        has(ptx, "mul.rn.f32", "PTX");
        has(ptx, "add.rn.f32", "PTX");
        has(ptx, "mul.rn.f64", "PTX");
        has(ptx, "sub.rn.f64", "PTX");
        cr_expect_eq(count(ptx, "fma"), 0, "contracted:\n%s", ptx);
        free(ptx);
    }
    free(src);
    vm_arena_free(b.a);
}


/* One kernel using every TIR op class; each result is stored so none is dead. */
static Kb build_allops(void)
{
    Kb b = kb_new("allops", 4);
    b.k->shared_bytes = 4096;
    int out = param(&b, "out", TIR_P_PTR, 0, VM_DT_U32);
    int in = param(&b, "in", TIR_P_PTR, 0, VM_DT_U32);
    int n = param(&b, "n", TIR_P_SCALAR, TIR_S32, VM_DT_I32);
    int fx = param(&b, "fx", TIR_P_SCALAR, TIR_F32, VM_DT_F32);
    slot = 0;

    b.line = 10; /* special registers, addresses */
    int tid = sreg(&b, TIR_SR_TID_X, "tid"), lane = sreg(&b, TIR_SR_LANEID, "lane");
    put(&b, out, sreg(&b, TIR_SR_CTAID_Y, "cy"));
    put(&b, out, sreg(&b, TIR_SR_NCTAID_Z, "gz"));
    put(&b, out, lane);
    int off = R(&b, TIR_U64, "off");
    op(&b, TIR_OP_MULWIDE, TIR_U64, 1, 2, off, r_(tid), i_(16))->type2 = TIR_U32;
    int g = V2(&b, TIR_OP_ADD, TIR_U64, r_(in), r_(off));

    b.line = 11; /* global loads of every width */
    int d[8];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 0, TIR_U32, TIR_U8, 1, d);
    put(&b, out, d[0]);
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 1, TIR_S32, TIR_S8, 1, d);
    put(&b, out, d[0]);
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 2, TIR_F16, TIR_F16, 1, d);
    int h = d[0];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 2, TIR_U32, TIR_U8, 2, d);
    put(&b, out, d[1]);
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 4, TIR_F32, TIR_F32, 1, d);
    int f = d[0];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 8, TIR_B32, TIR_B32, 2, d);
    int w0 = d[0], w1 = d[1];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 8, TIR_F64, TIR_F64, 1, d);
    int dd = d[0];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 16, TIR_B32, TIR_B32, 4, d);
    int q[4] = {d[0], d[1], d[2], d[3]};
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 32, TIR_F16, TIR_F16, 8, d);
    int h8 = d[7];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 48, TIR_U64, TIR_U64, 2, d);
    int u64 = d[1];
    ldop(&b, TIR_SPACE_GLOBAL, r_(g), 64, TIR_F32, TIR_F32, 1, d)->sem = TIR_SEM_ACQUIRE;
    TirOp *la = b.cur->last;
    la->scope = TIR_SCOPE_GPU;
    put(&b, out, d[0]);

    b.line = 12; /* ints */
    int si = V2(&b, TIR_OP_ADD, TIR_S32, r_(w0), i_(-7));
    si = V2(&b, TIR_OP_MUL, TIR_S32, r_(si), r_(n));
    si = V2(&b, TIR_OP_SUB, TIR_S32, r_(si), i_(INT32_MIN));
    put(&b, out, V2(&b, TIR_OP_DIV, TIR_S32, r_(si), r_(n)));
    put(&b, out, V2(&b, TIR_OP_REM, TIR_S32, r_(si), r_(n)));
    put(&b, out, V2(&b, TIR_OP_DIV, TIR_U32, r_(w1), r_(w0)));
    put(&b, out, V2(&b, TIR_OP_MIN, TIR_S32, r_(si), i_(INT32_MIN)));
    put(&b, out, V2(&b, TIR_OP_MAX, TIR_U32, r_(w0), r_(w1)));
    put(&b, out, V1(&b, TIR_OP_NEG, TIR_S32, r_(si)));
    put(&b, out, V1(&b, TIR_OP_ABS, TIR_S32, r_(si)));
    put(&b, out, V3(&b, TIR_OP_MAD, TIR_U32, r_(w0), r_(w1), i_(5)));
    int s64 = R(&b, TIR_S64, "wide");
    op(&b, TIR_OP_MULWIDE, TIR_S64, 1, 2, s64, r_(si), i_(-3))->type2 = TIR_S32;
    put(&b, out, V2(&b, TIR_OP_DIV, TIR_S64, r_(s64), r_(u64)));
    put(&b, out, V2(&b, TIR_OP_ADD, TIR_U64, r_(u64), i_(0x100000000ll)));
    put(&b, out, V2(&b, TIR_OP_AND, TIR_B32, r_(w0), i_(0xFF00FF)));
    put(&b, out, V2(&b, TIR_OP_OR, TIR_B32, r_(w0), r_(w1)));
    put(&b, out, V2(&b, TIR_OP_XOR, TIR_B64, r_(u64), i_(-1)));
    put(&b, out, V1(&b, TIR_OP_NOT, TIR_B32, r_(w1)));

    b.line = 13; /* shifts, including counts >= the width */
    put(&b, out, V2(&b, TIR_OP_SHL, TIR_U32, r_(w0), i_(33)));
    put(&b, out, V2(&b, TIR_OP_SHR, TIR_S32, r_(si), i_(40)));
    put(&b, out, V2(&b, TIR_OP_SHR, TIR_U32, r_(w0), i_(3)));
    put(&b, out, V2(&b, TIR_OP_SHL, TIR_B32, r_(w0), r_(w1)));
    put(&b, out, V2(&b, TIR_OP_SHR, TIR_S32, r_(si), r_(w1)));
    put(&b, out, V2(&b, TIR_OP_SHR, TIR_U64, r_(u64), r_(w1)));

    b.line = 14; /* bit ops */
    put(&b, out, V3(&b, TIR_OP_BFE, TIR_U32, r_(w0), i_(4), i_(3)));
    put(&b, out, V3(&b, TIR_OP_BFE, TIR_S32, r_(w0), r_(w1), i_(5)));
    int lr = R(&b, TIR_B32, "lop");
    TirOp *lop = op(&b, TIR_OP_LOP3, TIR_B32, 1, 3, lr, r_(w0), r_(w1), i_(0x64006400));
    lop->imm = 0xEA;
    put(&b, out, lop->d[0]);
    put(&b, out, V3(&b, TIR_OP_PRMT, TIR_B32, r_(w0), r_(w1), i_(0x5140)));
    int cz = val(&b, TIR_OP_CLZ, TIR_U32, TIR_U32, 1, r_(w0), i_(0), i_(0));
    b.cur->last->type2 = TIR_B32;
    put(&b, out, cz);
    int pc = val(&b, TIR_OP_POPC, TIR_U32, TIR_U32, 1, r_(u64), i_(0), i_(0));
    b.cur->last->type2 = TIR_B64;
    put(&b, out, pc);

    b.line = 15; /* f32, f64 */
    int x = V2(&b, TIR_OP_ADD, TIR_F32, r_(f), r_(fx));
    x = V2(&b, TIR_OP_SUB, TIR_F32, r_(x), f_(0.5));
    x = V2(&b, TIR_OP_MUL, TIR_F32, r_(x), f_(-3.0));
    x = V2(&b, TIR_OP_DIV, TIR_F32, r_(x), r_(fx));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_F32, r_(x), r_(fx), r_(f)));
    put(&b, out, V2(&b, TIR_OP_MIN, TIR_F32, r_(x), r_(f)));
    put(&b, out, V2(&b, TIR_OP_MAX, TIR_F32, r_(x), tir_imm(0x7FC00000u)));
    put(&b, out, V1(&b, TIR_OP_NEG, TIR_F32, r_(x)));
    put(&b, out, V1(&b, TIR_OP_ABS, TIR_F32, r_(x)));
    put(&b, out, V1(&b, TIR_OP_SQRT, TIR_F32, r_(x)));
    int y = V2(&b, TIR_OP_ADD, TIR_F64, r_(dd), d_(1e-300));
    y = V2(&b, TIR_OP_DIV, TIR_F64, r_(y), r_(dd));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_F64, r_(y), r_(dd), d_(-0.0)));
    put(&b, out, V1(&b, TIR_OP_SQRT, TIR_F64, r_(y)));
    put(&b, out, V2(&b, TIR_OP_MAX, TIR_F64, r_(y), r_(dd)));
    static const TirOpcode approx[] = {TIR_OP_EX2, TIR_OP_LG2, TIR_OP_SIN, TIR_OP_COS,
                                       TIR_OP_RSQRT, TIR_OP_TANH, TIR_OP_RCP};
    for (int i = 0; i < 7; i++)
        put(&b, out, V1(&b, approx[i], TIR_F32, r_(x)));

    b.line = 16; /* f16, bf16 and pairs */
    int hb = cvt(&b, TIR_BF16, TIR_BF16, TIR_F32, TIR_RND_RN, false, r_(x));
    int hx = V2(&b, TIR_OP_ADD, TIR_F16, r_(h), r_(h8));
    hx = V2(&b, TIR_OP_SUB, TIR_F16, r_(hx), tir_imm(0x3C00));
    hx = V2(&b, TIR_OP_MUL, TIR_F16, r_(hx), r_(h));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_F16, r_(hx), r_(h), r_(h8)));
    put(&b, out, V2(&b, TIR_OP_MIN, TIR_F16, r_(hx), r_(h)));
    put(&b, out, V1(&b, TIR_OP_NEG, TIR_F16, r_(hx)));
    put(&b, out, V1(&b, TIR_OP_ABS, TIR_BF16, r_(hb)));
    int bx = V2(&b, TIR_OP_ADD, TIR_BF16, r_(hb), tir_imm(0x3F80));
    bx = V2(&b, TIR_OP_SUB, TIR_BF16, r_(bx), r_(hb));
    bx = V2(&b, TIR_OP_MUL, TIR_BF16, r_(bx), r_(hb));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_BF16, r_(bx), r_(hb), r_(hb)));
    put(&b, out, V2(&b, TIR_OP_MAX, TIR_BF16, r_(bx), r_(hb)));
    int h2 = R(&b, TIR_F16X2, "h2");
    op(&b, TIR_OP_PACK, TIR_F16X2, 1, 2, h2, r_(h), r_(h8))->type2 = TIR_F16;
    int p2 = V2(&b, TIR_OP_ADD, TIR_F16X2, r_(h2), r_(q[0]));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_F16X2, r_(p2), r_(q[1]), tir_imm(0xE400E400u)));
    put(&b, out, V3(&b, TIR_OP_FMA, TIR_BF16X2, r_(q[2]), r_(q[1]), r_(q[0])));
    put(&b, out, V2(&b, TIR_OP_SUB, TIR_BF16X2, r_(q[2]), r_(q[3])));
    int lo = R(&b, TIR_F16, "lo"), hi = R(&b, TIR_F16, "hi");
    op(&b, TIR_OP_UNPACK, TIR_F16, 2, 1, lo, hi, r_(p2))->type2 = TIR_B32;
    put(&b, out, hi);
    int w64 = R(&b, TIR_B64, "w64");
    op(&b, TIR_OP_PACK, TIR_B64, 1, 2, w64, r_(w0), r_(w1))->type2 = TIR_B32;
    int fl = R(&b, TIR_F32, "flo"), fh = R(&b, TIR_F32, "fhi");
    op(&b, TIR_OP_UNPACK, TIR_F32, 2, 1, fl, fh, r_(w64))->type2 = TIR_B64;
    put(&b, out, fh);
    int bits = R(&b, TIR_U32, "bits");
    op(&b, TIR_OP_BITCAST, TIR_U32, 1, 1, bits, r_(fl))->type2 = TIR_F32;
    put(&b, out, bits);

    b.line = 17; /* conversions */
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_S32, TIR_RND_RN, false, r_(si)));
    put(&b, out, cvt(&b, TIR_S32, TIR_S32, TIR_F32, TIR_RND_RZI, false, r_(x)));
    put(&b, out, cvt(&b, TIR_S32, TIR_S32, TIR_F32, TIR_RND_RNI, true, r_(x)));
    put(&b, out, cvt(&b, TIR_U32, TIR_U8, TIR_F32, TIR_RND_RNI, true, r_(x)));
    put(&b, out, cvt(&b, TIR_S32, TIR_S8, TIR_F32, TIR_RND_RZI, false, r_(x)));
    put(&b, out, cvt(&b, TIR_F16, TIR_F16, TIR_F32, TIR_RND_RN, false, r_(x)));
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_F16, TIR_RND_NONE, false, r_(hx)));
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_BF16, TIR_RND_NONE, false, r_(bx)));
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_F64, TIR_RND_RN, false, r_(y)));
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_F32, TIR_RND_NONE, true, r_(x)));
    put(&b, out, cvt(&b, TIR_S64, TIR_S64, TIR_F64, TIR_RND_RZI, false, r_(y)));
    put(&b, out, cvt(&b, TIR_S32, TIR_S8, TIR_S32, TIR_RND_NONE, true, r_(si)));
    put(&b, out, cvt(&b, TIR_U32, TIR_U16, TIR_S32, TIR_RND_NONE, true, r_(si)));
    put(&b, out, cvt(&b, TIR_S32, TIR_S32, TIR_S8, TIR_RND_NONE, false, r_(w0)));
    put(&b, out, cvt(&b, TIR_U32, TIR_U32, TIR_S64, TIR_RND_NONE, true, r_(s64)));
    put(&b, out, cvt(&b, TIR_S64, TIR_S64, TIR_S32, TIR_RND_NONE, false, r_(si)));
    put(&b, out, cvt(&b, TIR_F32, TIR_F32, TIR_U8, TIR_RND_NONE, false, r_(w0)));
    put(&b, out, cvt(&b, TIR_F16, TIR_F16, TIR_S16, TIR_RND_RN, false, r_(si)));
    int c2 = R(&b, TIR_F16X2, "c2");
    TirOp *o2 = op(&b, TIR_OP_CVT, TIR_F16X2, 1, 2, c2, r_(x), r_(f));
    o2->type2 = TIR_F32;
    o2->mod = TIR_RND_RN;
    put(&b, out, c2);

    b.line = 18; /* compares and selects */
    int p1 = setp(&b, TIR_CMP_LT, TIR_S32, r_(si), r_(n));
    put(&b, out, p1);
    put(&b, out, setp(&b, TIR_CMP_GE, TIR_U32, r_(w0), r_(w1)));
    put(&b, out, setp(&b, TIR_CMP_NE, TIR_F32, r_(x), r_(f)));
    put(&b, out, setp(&b, TIR_CMP_NEU, TIR_F32, r_(x), r_(f)));
    put(&b, out, setp(&b, TIR_CMP_NAN, TIR_F64, r_(y), r_(dd)));
    put(&b, out, setp(&b, TIR_CMP_LT, TIR_F16, r_(hx), r_(h)));
    int pb = setp(&b, TIR_CMP_EQ, TIR_BF16, r_(bx), r_(hb));
    int pp = V2(&b, TIR_OP_AND, TIR_PRED, r_(p1), r_(pb));
    pp = V2(&b, TIR_OP_XOR, TIR_PRED, r_(pp), i_(1));
    pp = V1(&b, TIR_OP_NOT, TIR_PRED, r_(pp));
    put(&b, out, setp(&b, TIR_CMP_EQ, TIR_PRED, r_(pp), r_(p1)));
    put(&b, out, val(&b, TIR_OP_SELP, TIR_F32, TIR_F32, 3, r_(x), f_(2.0), r_(pp)));

    b.line = 19; /* warp shuffles */
    for (int m = TIR_SHFL_BFLY; m <= TIR_SHFL_DOWN; m++) {
        int s = R(&b, TIR_B32, "sh");
        op(&b, TIR_OP_SHFL, TIR_B32, 1, 3, s, r_(w0), i_(m == TIR_SHFL_IDX ? 0 : 1),
           i_(m == TIR_SHFL_UP ? 0 : 0x1F))->mod = m;
        put(&b, out, s);
    }

    b.line = 20; /* shared memory, barrier */
    int sa = V2(&b, TIR_OP_MUL, TIR_U32, r_(tid), i_(16));
    stop(&b, TIR_SPACE_SHARED, r_(sa), 0, TIR_B32, TIR_B32, 4, q);
    stop(&b, TIR_SPACE_SHARED, r_(sa), 2048, TIR_B32, TIR_B32, 2, q);
    stop(&b, TIR_SPACE_SHARED, r_(sa), 2056, TIR_F16, TIR_B16, 1, &h);
    stop(&b, TIR_SPACE_SHARED, r_(sa), 2058, TIR_U32, TIR_U8, 1, &w0);
    int bytes[2] = {w0, w1};
    stop(&b, TIR_SPACE_SHARED, r_(sa), 2060, TIR_U32, TIR_U8, 2, bytes);
    int hh[4] = {h, h8, hx, h};
    stop(&b, TIR_SPACE_GLOBAL, r_(out), 4096, TIR_F16, TIR_F16, 4, hh);
    op(&b, TIR_OP_BAR, TIR_PRED, 0, 0);
    ldop(&b, TIR_SPACE_SHARED, r_(sa), 16, TIR_B32, TIR_B32, 4, d);
    put(&b, out, d[3]);
    ldop(&b, TIR_SPACE_SHARED, r_(sa), 2048, TIR_U32, TIR_U16, 1, d);
    put(&b, out, d[0]);

    b.line = 21; /* atomics, fence */
    int old = R(&b, TIR_U32, "old");
    TirOp *at = op(&b, TIR_OP_ATOM, TIR_U32, 1, 2, old, r_(out), i_(1));
    at->mod = TIR_ATOM_ADD, at->sem = TIR_SEM_ACQUIRE, at->scope = TIR_SCOPE_GPU;
    put(&b, out, old);
    at = op(&b, TIR_OP_ATOM, TIR_F32, 0, 2, r_(out), r_(x));
    at->mod = TIR_ATOM_ADD, at->off = 8, at->scope = TIR_SCOPE_GPU;
    int cas = R(&b, TIR_B32, "cas");
    at = op(&b, TIR_OP_ATOM, TIR_B32, 1, 3, cas, r_(out), r_(w0), r_(w1));
    at->mod = TIR_ATOM_CAS, at->sem = TIR_SEM_ACQ_REL, at->scope = TIR_SCOPE_GPU;
    put(&b, out, cas);
    at = op(&b, TIR_OP_ATOM, TIR_S32, 0, 2, r_(sa), r_(si));
    at->mod = TIR_ATOM_MIN, at->space = TIR_SPACE_SHARED, at->scope = TIR_SCOPE_CTA;
    op(&b, TIR_OP_FENCE, TIR_PRED, 0, 0)->scope = TIR_SCOPE_GPU;
    TirOp *rel = stop(&b, TIR_SPACE_GLOBAL, r_(out), 4, TIR_U32, TIR_U32, 1, &w1);
    rel->sem = TIR_SEM_RELEASE, rel->scope = TIR_SCOPE_GPU;

    b.line = 22; /* cp.async, ldmatrix, mma */
    TirOp *cp = op(&b, TIR_OP_CP_ASYNC, TIR_B32, 0, 3, r_(sa), r_(g), i_(16));
    cp->width = 16, cp->flag = true;
    cp = op(&b, TIR_OP_CP_ASYNC, TIR_B32, 0, 2, r_(sa), r_(g));
    cp->width = 4, cp->off = 1024;
    op(&b, TIR_OP_CP_COMMIT, TIR_PRED, 0, 0);
    op(&b, TIR_OP_CP_WAIT, TIR_PRED, 0, 0)->imm = 0;
    op(&b, TIR_OP_BAR, TIR_PRED, 0, 0);
    int A[4], Bm[2];
    for (int i = 0; i < 4; i++)
        A[i] = R(&b, TIR_B32, "a");
    TirOp *lm = op(&b, TIR_OP_LDMATRIX, TIR_B32, 4, 1, A[0], A[1], A[2], A[3], r_(sa));
    lm->imm = 4;
    for (int i = 0; i < 2; i++)
        Bm[i] = R(&b, TIR_B32, "b");
    lm = op(&b, TIR_OP_LDMATRIX, TIR_B32, 2, 1, Bm[0], Bm[1], r_(sa));
    lm->imm = 2, lm->flag = true, lm->off = 512;
    int C[4];
    for (int i = 0; i < 4; i++)
        C[i] = R(&b, TIR_F32, "acc");
    TirOp *mm = op(&b, TIR_OP_MMA, TIR_F32, 4, 10, C[0], C[1], C[2], C[3], r_(A[0]), r_(A[1]),
                   r_(A[2]), r_(A[3]), r_(Bm[0]), r_(Bm[1]), r_(C[0]), r_(C[1]), r_(C[2]),
                   r_(C[3]));
    mm->type2 = TIR_F16;
    mm->str = "m16n8k16";
    for (int i = 0; i < 4; i++)
        put(&b, out, C[i]);

    b.line = 23; /* printf */
    int xd = cvt(&b, TIR_F64, TIR_F64, TIR_F32, TIR_RND_NONE, false, r_(x));
    op(&b, TIR_OP_PRINTF, TIR_PRED, 0, 3, r_(tid), r_(si), r_(xd))->str =
        "tid %u: \"%d\" %f\\\n";

    b.line = 24; /* control flow: loop with latch, continue, break; if/else; guards; ret */
    int it = R(&b, TIR_S32, "it"), acc = R(&b, TIR_S32, "sum");
    op(&b, TIR_OP_MOV, TIR_S32, 1, 1, it, i_(0));
    op(&b, TIR_OP_MOV, TIR_S32, 1, 1, acc, i_(0));
    TirOp *loop = ctl(&b, TIR_OP_LOOP, -1);
    b.cur = &loop->body;
    TirOp *brk = ctl(&b, TIR_OP_IF, setp(&b, TIR_CMP_GE, TIR_S32, r_(it), r_(n)));
    b.cur = &brk->body;
    ctl(&b, TIR_OP_BREAK, -1);
    b.cur = &loop->body;
    TirOp *cnt = ctl(&b, TIR_OP_IF, setp(&b, TIR_CMP_EQ, TIR_S32, r_(it), i_(3)));
    b.cur = &cnt->body;
    ctl(&b, TIR_OP_CONTINUE, -1);
    b.cur = &cnt->orelse;
    op(&b, TIR_OP_ADD, TIR_S32, 1, 2, acc, r_(acc), r_(it));
    b.cur = &loop->body;
    op(&b, TIR_OP_NOTE, TIR_PRED, 0, 0)->str = "a note \\";
    b.cur = &loop->orelse;
    op(&b, TIR_OP_ADD, TIR_S32, 1, 2, it, r_(it), i_(1));
    b.cur = &b.k->body;
    put(&b, out, acc);
    int gp = setp(&b, TIR_CMP_LT, TIR_U32, r_(tid), i_(8));
    TirOp *gl = ldop(&b, TIR_SPACE_GLOBAL, r_(g), 128, TIR_B32, TIR_B32, 2, d);
    gl->guard = gp;
    put(&b, out, d[1]);
    TirOp *gs = stop(&b, TIR_SPACE_GLOBAL, r_(out), 8192, TIR_S32, TIR_S32, 1, &acc);
    gs->guard = gp, gs->guard_neg = true;
    TirOp *ie = ctl(&b, TIR_OP_IF, gp);
    b.cur = &ie->body;
    ctl(&b, TIR_OP_RET, -1);
    b.cur = &ie->orelse;
    put(&b, out, tid);
    b.cur = &b.k->body;
    return b;
}

/* Instructions each op class must become, in the PTX of both archs. */
static const char *const allops_ptx[] = {
    "%laneid", "%ctaid.y", "%nctaid.z", "ld.global.u8", "ld.global.s8",
    "ld.global.b16", "ld.global.f32", "ld.global.v2.b32", "ld.global.f64",
    "ld.global.v4.b32", "ld.global.v2.b64", "ld.acquire.gpu.global.f32", "div.s32",
    "div.u32", "div.s64", "shl.b32", "shr.s32", "shr.u64", "bfe.u32", "bfe.s32", "lop3.b32",
    "0xEA;", "prmt.b32", "clz.b32", "popc.b64", "add.rn.f32", "sub.rn.f32", "mul.rn.f32",
    "div.rn.f32", "sqrt.rn.f32", "sqrt.rn.f64", "div.rn.f64", "ex2.approx.f32", "lg2.approx.f32",
    "sin.approx.f32", "cos.approx.f32", "rsqrt.approx.f32", "tanh.approx.f32",
    "rcp.approx.f32", "add.rn.f16", "sub.rn.f16", "mul.rn.f16", "fma.rn.f16 ", "min.f16",
    "fma.rn.bf16 ", "max.bf16", "neg.f16", "abs.bf16", "add.rn.f16x2", "fma.rn.f16x2",
    "fma.rn.bf16x2",
    "cvt.rn.f32.s32", "cvt.rzi.s32.f32", "cvt.rni.sat.s32.f32", "cvt.rni.sat.u8.f32",
    "cvt.rzi.s8.f32", "cvt.rn.f16.f32", "cvt.f32.f16", "cvt.rn.bf16.f32", "cvt.rn.f32.f64",
    "cvt.sat.f32.f32", "cvt.rzi.s64.f64", "cvt.rn.f16x2.f32", "cvt.rn.f32.u8", "cvt.rn.f16.s16",
    "shfl.sync.bfly.b32",
    "shfl.sync.idx.b32", "shfl.sync.up.b32", "shfl.sync.down.b32", "st.shared.v4.b32",
    "st.shared.v2.b32", "st.shared.b16", "st.shared.u8", "st.global.v2.b32", "bar.sync",
    "ld.shared.v4.b32", "ld.shared.u16", "atom.acquire.gpu.global.add.u32",
    "atom.relaxed.gpu.global.add.f32", "atom.acq_rel.gpu.global.cas.b32",
    "atom.relaxed.cta.shared.min.s32", "fence.acq_rel.gpu", "st.release.gpu.global.u32",
    "cp.async.cg.shared.global", "cp.async.ca.shared.global", "cp.async.commit_group",
    "cp.async.wait_group 0", "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
    "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16",
    "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "vprintf", "ret;",
};

Test(emit_cuda, every_op_class)
{
    Kb b = build_allops();
    char *src = emit_ok(&b);
    static const char *const text[] = {
        "for (;;) {", "goto lpvm_latch_0;", "lpvm_latch_0:;", "break;", "return;",
        "} else {", "if (p_", "if (!p_", "// line 24", "// line 24: a note \\.",
        "printf(\"tid %u: \\\"%d\\\" %f\\\\\\n\", tid, ", "lpvm_h2f(", "lpvm_bf2f(",
        "__fmaf_rn(", "__fma_rn(", "fminf(", "fmax(", "(-2147483647 - 1)", "__syncthreads();",
        "lpvm_sbase + ", "asm volatile(", "\"memory\"", "0u;", ">> 31;", "(-3.0f)",
        "__uint_as_float(0x7FC00000u)",
    };
    for (size_t i = 0; i < sizeof text / sizeof *text; i++)
        has(src, text[i], "CUDA C");
    NEED_TOOLS();
    for (int a = 0; a < 2; a++) {
        char *ptx = compile_ok(src, sms[a]);
        char missing[2048] = "";
        for (size_t i = 0; i < sizeof allops_ptx / sizeof *allops_ptx; i++)
            if (!strstr(ptx, allops_ptx[i]) &&
                strlen(missing) + strlen(allops_ptx[i]) + 4 < sizeof missing) {
                strcat(missing, " '");
                strcat(missing, allops_ptx[i]);
                strcat(missing, "'");
            }
        cr_expect(!missing[0], "sm_%d: not in the PTX:%s\n--- PTX:\n%s", sms[a], missing, ptx);
        /* exactly the fma.rn.f32/f64 requested (one each) */
        cr_expect_eq(count(ptx, "fma.rn.f32"), 1, "sm_%d: fma.rn.f32 count", sms[a]);
        cr_expect_eq(count(ptx, "fma.rn.f64"), 1, "sm_%d: fma.rn.f64 count", sms[a]);
        cr_expect_eq(count(ptx, "add.rn.bf16"), 0, "sm_%d: bf16 add is an fma on sm_80", sms[a]);
        free(ptx);
    }
    free(src);
    vm_arena_free(b.a);
}

/* ------------------------------------------------------------ names, text */

Test(emit_cuda, names)
{
    Kb b = kb_new("names", 1);
    int out = param(&b, "out", TIR_P_PTR, 0, VM_DT_F16);
    const char *want[] = {"acc", "acc", "int", "1x", "a.b", "lpvm_x", NULL, "__y", "acc_1", "out"};
    char unnamed[16];
    const char *got[] = {"acc", "acc_1", "v_int", "v_1x", "a_b", "v_lpvm_x", unnamed, "v___y",
                         "acc_1_1", "out_1"};
    int r[10];
    for (int i = 0; i < 10; i++) {
        r[i] = R(&b, TIR_U32, want[i]);
        op(&b, TIR_OP_MOV, TIR_U32, 1, 1, r[i], i_(i));
        put(&b, out, r[i]);
    }
    snprintf(unnamed, sizeof unnamed, "r%d", r[6]);
    char *src = emit_ok(&b);
    for (int i = 0; i < 10; i++) {
        char decl[64];
        snprintf(decl, sizeof decl, "    %s = %du;", got[i], i);
        has(src, decl, "CUDA C");
    }
    has(src, "unsigned long long out /* f16 * */", "CUDA C");
    NEED_TOOLS();
    free(compile_ok(src, 80));
    free(src);
    vm_arena_free(b.a);
}

/* Immediates print exactly: floats as decimal where that round-trips, else
 * as their bits; extreme ints without overflow. */
Test(emit_cuda, literals)
{
    Kb b = kb_new("lits", 1);
    int out = param(&b, "out", TIR_P_PTR, 0, VM_DT_F32);
    int f = R(&b, TIR_F32, "f"), d = R(&b, TIR_F64, "d"), s = R(&b, TIR_S32, "s");
    int l = R(&b, TIR_S64, "l"), u = R(&b, TIR_U64, "u"), h = R(&b, TIR_F16, "h");
    struct {
        int reg;
        TirType t;
        TirArg v;
        const char *text;
    } cases[] = {
        {f, TIR_F32, f_(0.1), "f = 0.100000001f;"},
        {f, TIR_F32, f_(-2.0), "f = (-2.0f);"},
        {f, TIR_F32, f_(1e30), "f = 1.00000002e+30f;"},
        {f, TIR_F32, tir_imm(0x80000000u), "f = __uint_as_float(0x80000000u);"},
        {f, TIR_F32, tir_imm(0x7F800000u), "f = __uint_as_float(0x7F800000u);"},
        {f, TIR_F32, tir_imm(1), "f = 1.40129846e-45f;"},
        {d, TIR_F64, d_(0.1), "d = 0.10000000000000001;"},
        {d, TIR_F64, d_(3.0), "d = 3.0;"},
        {d, TIR_F64, tir_imm(0xFFF8000000000000ull),
         "d = __longlong_as_double(0xFFF8000000000000ll);"},
        {s, TIR_S32, i_(INT32_MIN), "s = (-2147483647 - 1);"},
        {s, TIR_S32, i_(-1), "s = (-1);"},
        {l, TIR_S64, i_(INT64_MIN), "l = (-9223372036854775807ll - 1);"},
        {u, TIR_U64, i_(-1), "u = 0xFFFFFFFFFFFFFFFFull;"},
        {h, TIR_F16, tir_imm(0x3C00), "h = (unsigned short)0x3C00;"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        op(&b, TIR_OP_MOV, cases[i].t, 1, 1, cases[i].reg, cases[i].v);
        put(&b, out, cases[i].reg);
    }
    char *src = emit_ok(&b);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        has(src, cases[i].text, "CUDA C");
    NEED_TOOLS();
    char *ptx = compile_ok(src, 80);
    has(ptx, "0f3DCCCCCD", "PTX"); /* 0.1f, exactly */
    has(ptx, "0d3FB999999999999A", "PTX");
    free(ptx);
    free(src);
    vm_arena_free(b.a);
}

/* A loop without a latch continues with `continue`; nested loops label their
 * own latches; break leaves the innermost loop. */
Test(emit_cuda, loops)
{
    Kb b = kb_new("loops", 1);
    int n = param(&b, "n", TIR_P_SCALAR, TIR_S32, VM_DT_I32);
    int i = R(&b, TIR_S32, "i"), j = R(&b, TIR_S32, "j");
    TirOp *outer = ctl(&b, TIR_OP_LOOP, -1);
    b.cur = &outer->body;
    TirOp *inner = ctl(&b, TIR_OP_LOOP, -1);
    b.cur = &inner->body;
    TirOp *c = ctl(&b, TIR_OP_IF, setp(&b, TIR_CMP_LT, TIR_S32, r_(j), r_(n)));
    b.cur = &c->body;
    op(&b, TIR_OP_ADD, TIR_S32, 1, 2, j, r_(j), i_(2));
    ctl(&b, TIR_OP_CONTINUE, -1);
    b.cur = &inner->body;
    ctl(&b, TIR_OP_BREAK, -1);
    b.cur = &outer->body;
    TirOp *c2 = ctl(&b, TIR_OP_IF, setp(&b, TIR_CMP_GE, TIR_S32, r_(i), r_(n)));
    b.cur = &c2->body;
    ctl(&b, TIR_OP_BREAK, -1);
    b.cur = &outer->body;
    ctl(&b, TIR_OP_CONTINUE, -1);
    b.cur = &outer->orelse;
    op(&b, TIR_OP_ADD, TIR_S32, 1, 2, i, r_(i), i_(1));
    b.cur = &b.k->body;
    char *src = emit_ok(&b);
    cr_expect_eq(count(src, "for (;;) {"), 2, "%s", src);
    cr_expect_eq(count(src, "goto lpvm_latch_0;"), 1, "%s", src);
    cr_expect_eq(count(src, "lpvm_latch_0:;"), 1, "%s", src);
    cr_expect_eq(count(src, "lpvm_latch_1"), 0, "%s", src);
    cr_expect_eq(count(src, "continue;"), 1, "%s", src);
    cr_expect_eq(count(src, "break;"), 2, "%s", src);
    /* the inner continue precedes the outer goto, which precedes the label */
    char *ic = strstr(src, "continue;"), *og = strstr(src, "goto lpvm_latch_0;");
    char *lab = strstr(src, "lpvm_latch_0:;");
    cr_expect(ic && og && lab && ic < og && og < lab, "%s", src);
    NEED_TOOLS();
    free(compile_ok(src, 90));
    free(src);
    vm_arena_free(b.a);
}

/* ------------------------------------------------------------ errors */

static void expect_error(Kb *b, const char *part)
{
    char *err = NULL;
    char *src = cg_emit_cuda(b->k, &err);
    cr_expect_null(src, "emitted:\n%s", src ? src : "");
    cr_expect(err && strstr(err, part), "error '%s' does not contain '%s'", err ? err : "(null)",
              part);
    free(err);
    free(src);
    vm_arena_free(b->a);
}

Test(emit_cuda, errors)
{
    Kb b = kb_new("bad name", 1);
    expect_error(&b, "not a C identifier");
    b = kb_new("float", 1);
    expect_error(&b, "not a C identifier");

    b = kb_new("k", 1);
    int h = R(&b, TIR_F16, "h");
    b.line = 42;
    V2(&b, TIR_OP_DIV, TIR_F16, r_(h), r_(h));
    expect_error(&b, "kernel k, line 42, div.f16: no PTX instruction for f16");

    b = kb_new("k", 1);
    b.line = 5;
    ctl(&b, TIR_OP_BREAK, -1);
    expect_error(&b, "line 5, break.pred: outside a loop");

    b = kb_new("k", 1);
    int x = R(&b, TIR_F32, "x");
    b.line = 6;
    cvt(&b, TIR_S32, TIR_S32, TIR_F32, TIR_RND_NONE, false, r_(x));
    expect_error(&b, "line 6, cvt.s32: a float -> int cvt needs rni or rzi");

    b = kb_new("k", 1);
    int u = R(&b, TIR_U32, "u");
    TirOp *o = op(&b, TIR_OP_ADD, TIR_U32, 1, 2, u, r_(u), r_(u));
    o->guard = u;
    expect_error(&b, "guard 0 is not a pred register");

    b = kb_new("k", 1);
    int d[3];
    ldop(&b, TIR_SPACE_GLOBAL, r_(R(&b, TIR_U64, "a")), 0, TIR_B32, TIR_B32, 3, d);
    expect_error(&b, "3 elements of b32 in 12 bytes");

    b = kb_new("k", 1);
    int f = R(&b, TIR_F32, "f"), p = R(&b, TIR_PRED, "p");
    op(&b, TIR_OP_ADD, TIR_F32, 1, 2, f, r_(f), r_(p));
    expect_error(&b, "a bool value used as float");
}

/* ------------------------------------------------------------ NVRTC's log */

Test(emit_cuda, annotate_log)
{
    const char *src = "line one\n  second line;\nthird\n";
    const char *log = "kernel.cu(2): error: identifier \"x\" is undefined\n"
                      "kernel.cu(9): warning: out of range\n"
                      "1 error detected in the compilation of \"kernel.cu\".\n";
    char *a = cg_cuda_annotate_log(src, log);
    cr_expect_str_eq(a, "kernel.cu(2): error: identifier \"x\" is undefined\n"
                        "  generated line 2: second line;\n"
                        "kernel.cu(9): warning: out of range\n"
                        "1 error detected in the compilation of \"kernel.cu\".\n");
    free(a);
    a = cg_cuda_annotate_log(src, NULL);
    cr_expect_str_eq(a, "");
    free(a);
}

/* A real NVRTC failure: the log comes back and points at the generated line. */
Test(emit_cuda, nvrtc_error_names_the_line)
{
    NEED_TOOLS();
    Kb b = build_vadd();
    char *src = emit_ok(&b);
    size_t n = strlen(src);
    char *bad = malloc(n + 64);
    memcpy(bad, src, n + 1);
    char *close = strrchr(bad, '}');
    strcpy(close, "    lpvm_undefined_thing = 1;\n}\n");
    int line = 1;
    for (const char *s = bad; s < close; s++)
        line += *s == '\n';
    char *why;
    char *ptx = compile(bad, 80, &why);
    cr_assert_null(ptx);
    char want[128];
    snprintf(want, sizeof want, "kernel.cu(%d): error", line);
    cr_expect(strstr(why, want), "no '%s' in:\n%s", want, why);
    snprintf(want, sizeof want, "  generated line %d: lpvm_undefined_thing = 1;", line);
    cr_expect(strstr(why, want), "no '%s' in:\n%s", want, why);
    free(why);
    free(bad);
    free(src);
    vm_arena_free(b.a);
}

/* ------------------------------------------------------------ samples */

/* Every kernel of samples/kernels at each of its spec lines: lang_compile,
 * cg_lower (sm 80 and 90), cg_emit_cuda, NVRTC, ptxas. Failures are listed
 * with the file, kernel, spec, arch and stage. */
Test(emit_cuda, samples, .timeout = 900)
{
    NEED_TOOLS();
    static const char *const dirs[] = {"samples/kernels", "tests/kernels", "tests/lang", "stdlib"};
    int built = 0, failed = 0;
    char *report = calloc(1, 1);
    size_t rlen = 0;
#define REPORT(...)                                                                 \
    do {                                                                            \
        int n_ = snprintf(NULL, 0, __VA_ARGS__);                                    \
        report = realloc(report, rlen + (size_t)n_ + 2);                            \
        snprintf(report + rlen, (size_t)n_ + 1, __VA_ARGS__);                       \
        rlen += (size_t)n_;                                                         \
        report[rlen++] = '\n';                                                      \
        report[rlen] = 0;                                                           \
        failed++;                                                                   \
    } while (0)
    for (size_t di = 0; di < sizeof dirs / sizeof dirs[0]; di++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", tl_root(), dirs[di]);
    char **files;
    int nf = tl_list(dir, ".lpk", &files);
    if (di == 0)
        cr_assert_gt(nf, 0, "no .lpk files in %s", dir);
    for (int fi = 0; fi < nf; fi++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
        size_t len;
        char *text = tl_read(path, &len);
        cr_assert_not_null(text, "cannot read %s", path);
        LangSpecLine *specs;
        int ns = lang_file_specs(text, len, &specs);
        LangDiags ld;
        lang_diags_init(&ld);
        char **kernels;
        int nk = 0;
        if (lang_list_kernels(text, len, files[fi], &kernels, &nk, &ld) != LANG_OK) {
            char *m = lang_diags_render(&ld);
            REPORT("%s: %s", files[fi], m);
            free(m);
            nk = 0;
        }
        for (int si = 0; si < (ns ? ns : 1); si++)
            for (int ki = 0; ki < nk; ki++) {
                if (ns && specs[si].kernel && strcmp(specs[si].kernel, kernels[ki]))
                    continue;
                const char *spec = ns ? specs[si].spec : "";
                for (int ai = 0; ai < 2; ai++) {
                    VmArena *va = vm_arena_new();
                    Prog *p = NULL;
                    lang_diags_free(&ld);
                    lang_diags_init(&ld);
                    if (lang_compile(va, text, len, files[fi], kernels[ki], spec, &p, &ld) !=
                        LANG_OK) {
                        char *m = lang_diags_render(&ld);
                        REPORT("%s %s \"%s\": lang_compile: %s", files[fi], kernels[ki], spec, m);
                        free(m);
                        vm_arena_free(va);
                        continue;
                    }
                    VmDiags vd;
                    vm_diags_init(&vd, va);
                    TirKernel *tk = NULL;
                    CgOptions opt = {.sm = sms[ai]};
                    CgStatus cs = cg_lower(p->kernels[0], &opt, va, &tk, &vd);
                    if (cs != CG_OK) {
                        char m[512] = "";
                        if (vd.n)
                            vm_diag_format(&vd.v[0], m, sizeof m);
                        REPORT("%s %s \"%s\" sm_%d: cg_lower (%d): %s", files[fi], kernels[ki],
                               spec, sms[ai], (int)cs, m);
                        vm_arena_free(va);
                        continue;
                    }
                    char *err = NULL, *src = cg_emit_cuda(tk, &err);
                    if (!src) {
                        REPORT("%s %s \"%s\" sm_%d: cg_emit_cuda: %s", files[fi], kernels[ki],
                               spec, sms[ai], err);
                        free(err);
                        vm_arena_free(va);
                        continue;
                    }
                    char *why, *ptx = compile(src, sms[ai], &why);
                    if (!ptx) {
                        REPORT("%s %s \"%s\" sm_%d: %s", files[fi], kernels[ki], spec, sms[ai],
                               why);
                        free(why);
                    } else {
                        char entry[256];
                        snprintf(entry, sizeof entry, ".entry %s(", tk->name);
                        if (!strstr(ptx, entry))
                            REPORT("%s %s \"%s\" sm_%d: no '%s' in the PTX", files[fi],
                                   kernels[ki], spec, sms[ai], entry);
                        else
                            built++;
                        free(ptx);
                    }
                    free(src);
                    vm_arena_free(va);
                }
            }
        lang_free_names(kernels, nk);
        lang_spec_lines_free(specs, ns);
        lang_diags_free(&ld);
        free(text);
    }
    tl_free_list(files, nf);
    }
    cr_log_info("emit_cuda samples: %d kernels built, %d failures", built, failed);
    cr_expect_eq(failed, 0, "%d failures (%d built):\n%s", failed, built, report);
    cr_expect_gt(built, 0);
    free(report);
#undef REPORT
}

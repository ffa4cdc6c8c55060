/* tests/test_toolchain.c - the toolchain proof: a vector-add kernel built
 * with the LLVM C API and emitted as PTX for sm_80/sm_90/sm_90a, and the same
 * kernel as CUDA C through NVRTC, both accepted by ptxas; the PTX version
 * rule; errors as values (bad arch, bad module, bad CUDA C, no NVRTC); and
 * no f32 contraction on either path.
 *
 * ptxas ($CUDA_HOME/bin/ptxas) and NVRTC are optional on a build machine:
 * tests needing them skip with a visible message when they are absent.
 * Tests that change the environment rely on Criterion running each test in
 * its own process. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Core.h>

#include "codegen/codegen.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ helpers */

static const char *cuda_home(void)
{
    const char *h = getenv("CUDA_HOME");
    return h && *h ? h : LPVM_CUDA_HOME;
}

static char ptxas[4096];

static bool have_ptxas(void)
{
    snprintf(ptxas, sizeof ptxas, "%s/bin/ptxas", cuda_home());
    return access(ptxas, X_OK) == 0;
}

#define NEED_PTXAS()                                                                 \
    do {                                                                             \
        if (!have_ptxas()) {                                                         \
            cr_log_warn("toolchain: %s not found, PTX not validated", ptxas);       \
            cr_skip_test("ptxas not found at %s (set CUDA_HOME)", ptxas);           \
        }                                                                            \
    } while (0)

#define NEED_NVRTC()                                                                 \
    do {                                                                             \
        const char *why_;                                                            \
        if (rt_nvrtc_load(NULL, &why_)) {                                            \
            cr_log_warn("toolchain: %s", why_);                                      \
            cr_skip_test("NVRTC not available: %s", why_);                           \
        }                                                                            \
    } while (0)

/* Runs ptxas -arch=arch on ptx; returns its exit status, *out its output. */
static int run_ptxas(const char *ptx, const char *arch, char **out)
{
    char src[] = "/tmp/lpvm-toolchain-XXXXXX.ptx";
    int fd = mkstemps(src, 4);
    cr_assert(fd >= 0, "mkstemps failed");
    FILE *f = fdopen(fd, "w");
    cr_assert(f);
    cr_assert_eq(fwrite(ptx, 1, strlen(ptx), f), strlen(ptx));
    cr_assert_eq(fclose(f), 0);
    char cubin[sizeof src + 8];
    snprintf(cubin, sizeof cubin, "%s.cubin", src);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' -arch=%s '%s' -o '%s' 2>&1", ptxas, arch, src, cubin);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen(%s) failed", cmd);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    unlink(src);
    unlink(cubin);
    *out = buf;
    return st;
}

static void assert_ptxas_ok(const char *ptx, const char *arch)
{
    char *out;
    int st = run_ptxas(ptx, arch, &out);
    cr_assert_eq(st, 0, "ptxas -arch=%s rejected the PTX (status %d):\n%s\n--- PTX:\n%s", arch,
                 st, out, ptx);
    free(out);
}

static LLVMValueRef sreg(LLVMModuleRef m, LLVMBuilderRef b, const char *name)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    cr_assert_neq(id, 0, "no intrinsic %s", name);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m, id, NULL, 0);
    LLVMTypeRef ty = LLVMIntrinsicGetType(LLVMGetModuleContext(m), id, NULL, 0);
    return LLVMBuildCall2(b, ty, fn, NULL, 0, name + 24);
}

/* vadd(float *a, float *b, float *c, int n), pointers in the global space:
 *   i = ctaid.x * ntid.x + tid.x; if (i < n) c[i] = a[i] + b[i]; */
static LLVMModuleRef build_vadd(LLVMContextRef ctx)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("vadd", ctx);
    LLVMTypeRef gptr = LLVMPointerTypeInContext(ctx, 1);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), f32 = LLVMFloatTypeInContext(ctx);
    LLVMTypeRef params[4] = {gptr, gptr, gptr, i32};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0);
    LLVMValueRef fn = LLVMAddFunction(m, "vadd", fty);
    cg_llvm_mark_kernel(fn);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, fn, "done");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);

    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef ctaid = sreg(m, b, "llvm.nvvm.read.ptx.sreg.ctaid.x");
    LLVMValueRef ntid = sreg(m, b, "llvm.nvvm.read.ptx.sreg.ntid.x");
    LLVMValueRef tid = sreg(m, b, "llvm.nvvm.read.ptx.sreg.tid.x");
    LLVMValueRef i = LLVMBuildAdd(b, LLVMBuildMul(b, ctaid, ntid, "base"), tid, "i");
    LLVMValueRef in = LLVMBuildICmp(b, LLVMIntSLT, i, LLVMGetParam(fn, 3), "in");
    LLVMBuildCondBr(b, in, body, done);

    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef idx = LLVMBuildSExt(b, i, LLVMInt64TypeInContext(ctx), "idx");
    LLVMValueRef pa = LLVMBuildGEP2(b, f32, LLVMGetParam(fn, 0), &idx, 1, "pa");
    LLVMValueRef pb = LLVMBuildGEP2(b, f32, LLVMGetParam(fn, 1), &idx, 1, "pb");
    LLVMValueRef pc = LLVMBuildGEP2(b, f32, LLVMGetParam(fn, 2), &idx, 1, "pc");
    LLVMValueRef sum = LLVMBuildFAdd(b, LLVMBuildLoad2(b, f32, pa, "x"),
                                     LLVMBuildLoad2(b, f32, pb, "y"), "sum");
    LLVMBuildStore(b, sum, pc);
    LLVMBuildBr(b, done);

    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    return m;
}

/* Emits vadd for t; returns the PTX (caller frees), asserting success. */
static char *emit_vadd(const CgTarget *t)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = build_vadd(ctx);
    char *ptx = NULL, *err = NULL;
    int rc = cg_llvm_emit_ptx(m, t, &ptx, &err);
    cr_assert_eq(rc, 0, "cg_llvm_emit_ptx(%s): %s", t->arch, err ? err : "(no message)");
    cr_assert_not_null(ptx);
    cr_assert_null(err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return ptx;
}

static void assert_has(const char *ptx, const char *needle)
{
    cr_assert(strstr(ptx, needle), "PTX lacks \"%s\":\n%s", needle, ptx);
}

static void assert_lacks(const char *ptx, const char *needle)
{
    cr_assert(!strstr(ptx, needle), "PTX has \"%s\":\n%s", needle, ptx);
}

/* ------------------------------------------------------------ arch table */

Test(toolchain, arch_table)
{
    CgArch a;
    cr_assert(cg_arch_parse("sm_80", &a));
    cr_assert_eq(a, CG_ARCH_SM80);
    cr_assert(cg_arch_parse("compute_90a", &a));
    cr_assert_eq(a, CG_ARCH_SM90A);
    cr_assert_str_eq(cg_arch_name(a), "sm_90a");
    cr_assert_str_eq(cg_arch_compute(a), "compute_90a");
    cr_assert_eq(cg_arch_sm(a), 90);
    cr_assert(cg_arch_parse("sm_89", &a));
    cr_assert_eq(cg_arch_sm(a), 89);
    cr_assert_str_eq(cg_arch_list(), "sm_80 sm_86 sm_89 sm_90 sm_90a");
    cr_assert_not(cg_arch_parse("sm_75", &a));
    cr_assert_not(cg_arch_parse("sm_100", &a));
    cr_assert_not(cg_arch_parse("SM_90", &a));
    cr_assert_not(cg_arch_parse("sm_90 ", &a));
    cr_assert_not(cg_arch_parse("", &a));
    cr_assert_not(cg_arch_parse(NULL, &a));
}

/* Hand-checked against the PTX ISA release notes: sm_80 came with 7.0,
 * sm_86 with 7.1, sm_89/sm_90 with 7.8, sm_90a with 8.0. */
Test(toolchain, ptx_version_rule)
{
    cr_assert_eq(cg_ptx_version_for("sm_80", 0), 70);
    cr_assert_eq(cg_ptx_version_for("sm_86", 0), 71);
    cr_assert_eq(cg_ptx_version_for("sm_89", 0), 78);
    cr_assert_eq(cg_ptx_version_for("sm_90", 0), 78);
    cr_assert_eq(cg_ptx_version_for("sm_90a", 0), 80);
    cr_assert_eq(cg_ptx_version_for("sm_90", 84), 84);  /* fp8 mma */
    cr_assert_eq(cg_ptx_version_for("sm_89", 81), 81);  /* cvt.rn.satfinite.f16.f32 */
    cr_assert_eq(cg_ptx_version_for("sm_90a", 78), 80); /* the arch wins */
    cr_assert_eq(cg_ptx_version_for("sm_80", 71), 71);
    cr_assert_eq(cg_ptx_version_for("sm_90", 79), -1); /* no PTX 7.9 */
    cr_assert_eq(cg_ptx_version_for("sm_90", 99), -1);
    cr_assert_eq(cg_ptx_version_for("sm_90", -1), -1);
    cr_assert_eq(cg_ptx_version_for("sm_70", 0), -1);
    cr_assert(cg_ptx_version_valid(84));
    cr_assert_not(cg_ptx_version_valid(69));
    cr_assert_geq(cg_ptx_version_max(), 85);
}

/* ------------------------------------------------------------ LLVM path */

static void llvm_vadd_for(const char *arch, int ptx_version, const char *version_line)
{
    NEED_PTXAS();
    CgTarget t = {arch, ptx_version, 2, NULL};
    char *ptx = emit_vadd(&t);
    char target[64];
    snprintf(target, sizeof target, ".target %s\n", arch);
    assert_has(ptx, target);
    assert_has(ptx, version_line);
    assert_has(ptx, ".entry vadd(");
    assert_has(ptx, "%ctaid.x");
    assert_has(ptx, "%ntid.x");
    assert_has(ptx, "%tid.x");
    assert_has(ptx, "ld.global.f32");
    assert_has(ptx, "st.global.f32");
    assert_has(ptx, "add.rn.f32");
    assert_ptxas_ok(ptx, arch);
    free(ptx);
}

Test(toolchain, llvm_vadd_sm80) { llvm_vadd_for("sm_80", 0, ".version 7.0\n"); }
Test(toolchain, llvm_vadd_sm90) { llvm_vadd_for("sm_90", 0, ".version 7.8\n"); }
Test(toolchain, llvm_vadd_sm90a) { llvm_vadd_for("sm_90a", 0, ".version 8.0\n"); }
Test(toolchain, llvm_vadd_sm86) { llvm_vadd_for("sm_86", 0, ".version 7.1\n"); }
Test(toolchain, llvm_vadd_sm89_ptx81) { llvm_vadd_for("sm_89", 81, ".version 8.1\n"); }
Test(toolchain, llvm_vadd_sm90_ptx84) { llvm_vadd_for("sm_90", 84, ".version 8.4\n"); }

/* The ptxas check itself can fail: sm_90 PTX is not sm_80 code. */
Test(toolchain, ptxas_rejects_wrong_arch)
{
    NEED_PTXAS();
    CgTarget t = {"sm_90", 0, 2, NULL};
    char *ptx = emit_vadd(&t), *out;
    cr_assert_neq(run_ptxas(ptx, "sm_80", &out), 0, "ptxas accepted .target sm_90 as sm_80");
    cr_assert(strstr(out, "sm_90") || strstr(out, "target"), "%s", out);
    free(out);
    free(ptx);
}

Test(toolchain, llvm_opt_levels_and_passes)
{
    NEED_PTXAS();
    for (int o = 0; o <= 3; o++) {
        CgTarget t = {"sm_90", 0, o, o == 3 ? "default<O2>" : NULL};
        char *ptx = emit_vadd(&t);
        assert_has(ptx, ".entry vadd(");
        assert_ptxas_ok(ptx, "sm_90");
        free(ptx);
    }
}

Test(toolchain, llvm_bad_pass_pipeline)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = build_vadd(ctx);
    CgTarget t = {"sm_90", 0, 2, "no-such-pass"};
    char *ptx = (char *)1, *err = NULL;
    cr_assert_eq(cg_llvm_emit_ptx(m, &t, &ptx, &err), -1);
    cr_assert_null(ptx);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "LLVMRunPasses") && strstr(err, "no-such-pass"), "%s", err);
    free(err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
}

Test(toolchain, llvm_invalid_arch)
{
    const char *bad[] = {"sm_75", "sm_100", "gfx90a", NULL};
    for (int i = 0; i < 4; i++) {
        LLVMContextRef ctx = LLVMContextCreate();
        LLVMModuleRef m = build_vadd(ctx);
        CgTarget t = {bad[i], 0, 2, NULL};
        char *ptx = (char *)1, *err = NULL;
        cr_assert_eq(cg_llvm_emit_ptx(m, &t, &ptx, &err), -1);
        cr_assert_null(ptx);
        cr_assert_not_null(err);
        cr_assert(strstr(err, bad[i] ? bad[i] : "(null)"), "%s", err);
        cr_assert(strstr(err, "sm_80 sm_86 sm_89 sm_90 sm_90a"), "%s", err);
        free(err);
        LLVMDisposeModule(m);
        LLVMContextDispose(ctx);
    }
}

Test(toolchain, llvm_invalid_ptx_version)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = build_vadd(ctx);
    CgTarget t = {"sm_90", 79, 2, NULL};
    char *ptx = NULL, *err = NULL;
    cr_assert_eq(cg_llvm_emit_ptx(m, &t, &ptx, &err), -1);
    cr_assert(strstr(err, "7.9") && strstr(err, "sm_90"), "%s", err);
    free(err);
    t.ptx_version = 84;
    t.opt_level = 4;
    cr_assert_eq(cg_llvm_emit_ptx(m, &t, &ptx, &err), -1);
    cr_assert(strstr(err, "opt level 4"), "%s", err);
    free(err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
}

Test(toolchain, llvm_verify_failure)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("bad", ctx);
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), NULL, 0, 0);
    LLVMValueRef fn = LLVMAddFunction(m, "broken", fty);
    cg_llvm_mark_kernel(fn);
    LLVMAppendBasicBlockInContext(ctx, fn, "entry"); /* no terminator */
    CgTarget t = {"sm_80", 0, 2, NULL};
    char *ptx = (char *)1, *err = NULL;
    cr_assert_eq(cg_llvm_emit_ptx(m, &t, &ptx, &err), -1);
    cr_assert_null(ptx);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "LLVMVerifyModule"), "%s", err);
    cr_assert(strstr(err, "does not have terminator"), "%s", err);
    cr_assert(strstr(err, "broken"), "%s", err);
    free(err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
}

/* fmac(float *p, float a, float b, float c): p[0] = a * b + c, written as
 * plain fmul/fadd, as llvm.nvvm.mul.rn.f/add.rn.f, or (the control that
 * shows the check can fail) as fmul/fadd carrying `contract`. */
typedef enum { FMAC_PLAIN, FMAC_NVVM, FMAC_CONTRACT } FmacMode;

static LLVMValueRef nvvm2(LLVMModuleRef m, LLVMBuilderRef b, const char *name, LLVMValueRef x,
                          LLVMValueRef y)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    cr_assert_neq(id, 0, "no intrinsic %s", name);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m, id, NULL, 0);
    LLVMTypeRef ty = LLVMIntrinsicGetType(LLVMGetModuleContext(m), id, NULL, 0);
    LLVMValueRef args[2] = {x, y};
    return LLVMBuildCall2(b, ty, fn, args, 2, "");
}

static char *emit_fmac(FmacMode mode, const CgTarget *t)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("fmac", ctx);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx);
    LLVMTypeRef params[4] = {LLVMPointerTypeInContext(ctx, 1), f32, f32, f32};
    LLVMValueRef fn =
        LLVMAddFunction(m, "fmac", LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0));
    cg_llvm_mark_kernel(fn);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef a = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2), c = LLVMGetParam(fn, 3);
    LLVMValueRef r;
    if (mode == FMAC_NVVM) {
        r = nvvm2(m, b, "llvm.nvvm.add.rn.f", nvvm2(m, b, "llvm.nvvm.mul.rn.f", a, x), c);
    } else {
        LLVMValueRef mul = LLVMBuildFMul(b, a, x, "mul");
        r = LLVMBuildFAdd(b, mul, c, "r");
        if (mode == FMAC_CONTRACT) {
            LLVMSetFastMathFlags(mul, LLVMFastMathAllowContract);
            LLVMSetFastMathFlags(r, LLVMFastMathAllowContract);
        }
    }
    LLVMBuildStore(b, r, LLVMGetParam(fn, 0));
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    char *ptx = NULL, *err = NULL;
    cr_assert_eq(cg_llvm_emit_ptx(m, t, &ptx, &err), 0, "%s", err ? err : "");
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return ptx;
}

Test(toolchain, llvm_no_fma_contraction)
{
    const char *archs[] = {"sm_80", "sm_90"};
    for (int i = 0; i < 2; i++)
        for (int o = 0; o <= 3; o++) {
            CgTarget t = {archs[i], 0, o, o == 3 ? "default<O3>" : NULL};
            for (FmacMode mode = FMAC_PLAIN; mode <= FMAC_NVVM; mode++) {
                char *ptx = emit_fmac(mode, &t);
                assert_has(ptx, "mul.rn.f32");
                assert_has(ptx, "add.rn.f32");
                assert_lacks(ptx, "fma.");
                assert_lacks(ptx, "mul.f32");
                assert_lacks(ptx, "add.f32");
                if (have_ptxas())
                    assert_ptxas_ok(ptx, archs[i]);
                free(ptx);
            }
        }
}

Test(toolchain, llvm_contract_flag_does_fuse)
{
    CgTarget t = {"sm_90", 0, 2, NULL};
    char *ptx = emit_fmac(FMAC_CONTRACT, &t);
    assert_has(ptx, "fma.rn.f32");
    assert_lacks(ptx, "mul.rn.f32");
    free(ptx);
}

static void *emit_thread(void *arg)
{
    (void)arg;
    CgTarget t = {"sm_90", 0, 2, NULL};
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = build_vadd(ctx);
    char *ptx = NULL, *err = NULL;
    int rc = cg_llvm_emit_ptx(m, &t, &ptx, &err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    free(err);
    return rc ? NULL : ptx;
}

Test(toolchain, llvm_emit_from_threads)
{
    enum { N = 4 };
    pthread_t th[N];
    char *ptx[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, emit_thread, NULL), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_join(th[i], (void **)&ptx[i]), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_not_null(ptx[i], "thread %d failed", i);
        cr_assert_str_eq(ptx[i], ptx[0]);
    }
    assert_has(ptx[0], ".entry vadd(");
    for (int i = 0; i < N; i++)
        free(ptx[i]);
}

Test(toolchain, llvm_version)
{
    int ma, mi, pa;
    cg_llvm_version(&ma, &mi, &pa);
    cr_assert_eq(ma, LPVM_LLVM_VERSION);
    cr_assert_geq(mi, 0);
    cr_assert_geq(pa, 0);
}

/* ------------------------------------------------------------ NVRTC path */

static const char vadd_cu[] =
    "extern \"C\" __global__ void vadd(const float *a, const float *b, float *c, int n)\n"
    "{\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n)\n"
    "        c[i] = a[i] + b[i];\n"
    "}\n";

static void nvrtc_vadd_for(const char *arch, const char *sm)
{
    NEED_NVRTC();
    NEED_PTXAS();
    char *ptx = NULL, *log = NULL;
    int rc = rt_nvrtc_compile(vadd_cu, "vadd.cu", arch, &ptx, &log);
    cr_assert_eq(rc, 0, "rt_nvrtc_compile(%s): %s", arch, log ? log : "(no log)");
    cr_assert_not_null(ptx);
    char target[64];
    snprintf(target, sizeof target, ".target %s\n", sm);
    assert_has(ptx, target);
    assert_has(ptx, ".entry vadd(");
    assert_has(ptx, "ld.global");
    assert_has(ptx, "add.rn.f32");
    assert_ptxas_ok(ptx, sm);
    free(ptx);
    free(log);
}

Test(toolchain, nvrtc_vadd_compute80) { nvrtc_vadd_for("compute_80", "sm_80"); }
Test(toolchain, nvrtc_vadd_compute90) { nvrtc_vadd_for("compute_90", "sm_90"); }
Test(toolchain, nvrtc_vadd_sm90a) { nvrtc_vadd_for("sm_90a", "sm_90a"); }

Test(toolchain, nvrtc_compile_error_has_line)
{
    NEED_NVRTC();
    static const char bad[] = "extern \"C\" __global__ void bad(float *p)\n"
                              "{\n"
                              "    p[0] = undefined_name;\n"
                              "}\n";
    char *ptx = (char *)1, *log = NULL;
    cr_assert_eq(rt_nvrtc_compile(bad, "bad.cu", "sm_90", &ptx, &log), -1);
    cr_assert_null(ptx);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "bad.cu(3)"), "%s", log);
    cr_assert(strstr(log, "error"), "%s", log);
    cr_assert(strstr(log, "undefined_name"), "%s", log);
    cr_assert(strstr(log, "nvrtcCompileProgram"), "%s", log);
    free(log);
}

Test(toolchain, nvrtc_invalid_arch)
{
    char *ptx = (char *)1, *log = NULL;
    cr_assert_eq(rt_nvrtc_compile(vadd_cu, "vadd.cu", "sm_75", &ptx, &log), -1);
    cr_assert_null(ptx);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "sm_75"), "%s", log);
    free(log);
    ptx = (char *)1;
    cr_assert_eq(rt_nvrtc_compile(vadd_cu, "vadd.cu", NULL, &ptx, NULL), -1);
    cr_assert_null(ptx);
}

Test(toolchain, nvrtc_no_fmad)
{
    NEED_NVRTC();
    static const char src[] =
        "extern \"C\" __global__ void fmac(float *p, float a, float b, float c)\n"
        "{ p[0] = a * b + c; }\n";
    static const char fused[] =
        "extern \"C\" __global__ void fmac(float *p, float a, float b, float c)\n"
        "{ p[0] = __fmaf_rn(a, b, c); }\n";
    char *ptx = NULL, *log = NULL;
    cr_assert_eq(rt_nvrtc_compile(src, "fmac.cu", "sm_90", &ptx, &log), 0, "%s", log);
    assert_has(ptx, "mul.rn.f32");
    assert_has(ptx, "add.rn.f32");
    assert_lacks(ptx, "fma.");
    free(ptx);
    free(log);
    cr_assert_eq(rt_nvrtc_compile(fused, "fmac.cu", "sm_90", &ptx, &log), 0, "%s", log);
    assert_has(ptx, "fma.rn.f32");
    free(ptx);
    free(log);
}

Test(toolchain, nvrtc_version)
{
    NEED_NVRTC();
    int ma = 0, mi = -1;
    cr_assert_eq(rt_nvrtc_version(&ma, &mi), 0);
    cr_assert_geq(ma, 12);
    cr_assert_geq(mi, 0);
    const char *path = NULL, *err = (const char *)1;
    cr_assert_eq(rt_nvrtc_load(&path, &err), 0);
    cr_assert_null(err);
    cr_assert(path && strstr(path, "libnvrtc"), "%s", path ? path : "(null)");
}

Test(toolchain, nvrtc_override_missing)
{
    cr_assert_eq(setenv("LPVM_NVRTC", "/nonexistent/libnvrtc-lpvm-test.so", 1), 0);
    const char *path = (const char *)1, *err = NULL;
    cr_assert_eq(rt_nvrtc_load(&path, &err), -1);
    cr_assert_null(path);
    cr_assert_not_null(err);
    cr_assert(strstr(err, "NVRTC not found"), "%s", err);
    cr_assert(strstr(err, "/nonexistent/libnvrtc-lpvm-test.so"), "%s", err);
    cr_assert(strstr(err, "LPVM_NVRTC"), "%s", err);
    int ma, mi;
    cr_assert_eq(rt_nvrtc_version(&ma, &mi), -1);
    char *ptx = (char *)1, *log = NULL;
    cr_assert_eq(rt_nvrtc_compile(vadd_cu, "vadd.cu", "sm_90", &ptx, &log), -1);
    cr_assert_null(ptx);
    cr_assert(log && strstr(log, "NVRTC not found"), "%s", log ? log : "(null)");
    free(log);
}

Test(toolchain, nvrtc_search_names_places)
{
    cr_assert_eq(unsetenv("LPVM_NVRTC"), 0);
    cr_assert_eq(setenv("CUDA_HOME", "/nonexistent-cuda", 1), 0);
    const char *path = NULL, *err = NULL;
    if (rt_nvrtc_load(&path, &err) == 0) {
        /* found through the loader path: the toolkit dirs were tried first */
        cr_assert(path && strncmp(path, "/nonexistent-cuda", 17) != 0, "%s", path);
        cr_assert(strstr(path, "libnvrtc.so"), "%s", path);
        cr_assert(!strchr(path, '/'), "expected a loader-path name, got %s", path);
    } else {
        cr_assert(strstr(err, "/nonexistent-cuda/lib64/libnvrtc.so.13"), "%s", err);
        cr_assert(strstr(err, "/nonexistent-cuda/lib/libnvrtc.so"), "%s", err);
        cr_assert(strstr(err, "CUDA_HOME"), "%s", err);
    }
}

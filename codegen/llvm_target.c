/* codegen/llvm_target.c - the NVPTX target of the LLVM emitter: one-time
 * target initialization, the arch and PTX-version tables, and the last step
 * of the LLVM path (an LLVM module in, PTX text out).
 *
 * Input: an LLVM module built with the C API in one LLVMContext (one thread
 * per context). cg_llvm_emit_ptx sets the module's triple and data layout,
 * verifies it (the verifier's message comes back as the error), optionally
 * runs a new-pass-manager pipeline, and asks a fresh target machine for PTX.
 * Output: a malloc'd NUL-terminated PTX string. Nothing is printed; every
 * failure is an error value.
 *
 * Target machine: triple "nvptx64-nvidia-cuda", CPU = the arch, features =
 * "+ptxNN". The PTX version is max(arch minimum, what the kernel needs);
 * LLVM 19 otherwise writes ".version 7.8" for sm_89/sm_90. Never
 * LLVMParseCommandLineOptions: its state is process-global.
 *
 * Kernels: cg_llvm_mark_kernel sets the PTX kernel calling convention (71,
 * honoured by LLVM 19) and adds the !nvvm.annotations {fn, !"kernel", i32 1}
 * entry older backends read; either one gives ".entry".
 *
 * Floating point, contraction (checked on LLVM 19.1 by the toolchain tests):
 *  - NVPTX's -nvptx-fma-level (default 2) is consulted only when it was given
 *    on the command line. Otherwise NVPTXTargetLowering::allowFMA is: opt
 *    level != None and (TargetOptions.AllowFPOpFusion == Fast or the
 *    function has "unsafe-fp-math"="true"). LLVMCreateTargetMachine leaves
 *    AllowFPOpFusion at Standard, so the NVPTX combine does not fuse, and the
 *    generic DAG combiner fuses fmul+fadd only when both carry `contract` (or
 *    for llvm.fmuladd, which Standard treats as fusable).
 *  - With fusion off NVPTX selects mul.rn.f32 / add.rn.f32: the explicit
 *    rounding mode also stops ptxas (whose --fmad defaults to true) from
 *    fusing them; a bare mul.f32 + add.f32 would be fused by ptxas.
 *  - So: emit plain fmul/fadd with no fast-math flags, never llvm.fmuladd,
 *    never "unsafe-fp-math"="true"; an intended fma is llvm.fma.f32 (fma.rn).
 *    llvm.nvvm.mul.rn.f / llvm.nvvm.add.rn.f exist in LLVM 19 and give the
 *    same mul.rn.f32 / add.rn.f32; they are the fallback should a later LLVM
 *    fuse by default. The tests assert both forms, and that `contract` flags
 *    do give fma.rn.f32 (so the check can fail).
 *  - No "denormal-fp-math" attributes: f32 keeps denormals (no .ftz);
 *    fdiv and sqrt stay IEEE (div.rn, sqrt.rn) without unsafe-fp-math.
 *
 * Not guarded: an LLVM internal error (e.g. "Cannot select" on an intrinsic
 * the arch lacks) still ends in report_fatal_error inside LLVM; emitters must
 * only produce what the arch supports. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/codegen.h"

static const struct {
    const char *name, *compute;
    int sm, min_ptx;
} archs[] = {
#define X(id, name, compute, sm, min_ptx) {name, compute, sm, min_ptx},
    CG_ARCHS(X)
#undef X
};

/* PTX ISA versions, as major*10+minor, that exist and the LLVM we build
 * against can emit (LLVM 19: up to 8.5; 20: 8.7; 21: 8.8). */
static const int ptx_versions[] = {70, 71, 72, 73, 74, 75, 76, 77, 78,
                                   80, 81, 82, 83, 84, 85, 86, 87, 88};
#if LPVM_LLVM_VERSION >= 21
enum { PTX_MAX = 88 };
#elif LPVM_LLVM_VERSION == 20
enum { PTX_MAX = 87 };
#else
enum { PTX_MAX = 85 };
#endif

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

bool cg_arch_parse(const char *name, CgArch *out)
{
    if (!name)
        return false;
    for (int i = 0; i < CG_NARCH; i++)
        if (!strcmp(name, archs[i].name) || !strcmp(name, archs[i].compute)) {
            *out = (CgArch)i;
            return true;
        }
    return false;
}

const char *cg_arch_name(CgArch a) { return archs[a].name; }
const char *cg_arch_compute(CgArch a) { return archs[a].compute; }
int cg_arch_sm(CgArch a) { return archs[a].sm; }
int cg_arch_min_ptx(CgArch a) { return archs[a].min_ptx; }

const char *cg_arch_list(void)
{
    static const char list[] =
#define X(id, name, compute, sm, min_ptx) " " name
        CG_ARCHS(X)
#undef X
        ;
    return list + 1;
}

bool cg_ptx_version_valid(int v)
{
    for (size_t i = 0; i < sizeof ptx_versions / sizeof ptx_versions[0]; i++)
        if (ptx_versions[i] == v)
            return v <= PTX_MAX;
    return false;
}

int cg_ptx_version_max(void) { return PTX_MAX; }

int cg_ptx_version_for(const char *arch, int needed)
{
    CgArch a;
    if (!cg_arch_parse(arch, &a) || needed < 0)
        return -1;
    int v = needed > archs[a].min_ptx ? needed : archs[a].min_ptx;
    return cg_ptx_version_valid(v) ? v : -1;
}

void cg_llvm_version(int *major, int *minor, int *patch)
{
    unsigned ma, mi, pa;
    LLVMGetVersion(&ma, &mi, &pa);
    *major = (int)ma;
    *minor = (int)mi;
    *patch = (int)pa;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_nvptx(void)
{
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
}

void cg_llvm_init(void) { pthread_once(&init_once, init_nvptx); }

void cg_llvm_mark_kernel(LLVMValueRef fn)
{
    LLVMModuleRef m = LLVMGetGlobalParent(fn);
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMSetFunctionCallConv(fn, LLVMPTXKernelCallConv);
    LLVMMetadataRef md[3] = {
        LLVMValueAsMetadata(fn),
        LLVMMDStringInContext2(ctx, "kernel", 6),
        LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(ctx), 1, 0)),
    };
    LLVMValueRef node = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, md, 3));
    LLVMAddNamedMetadataOperand(m, "nvvm.annotations", node);
}

static char *take_llvm_message(const char *what, char *msg)
{
    char *s = fmt("%s: %s", what, msg && *msg ? msg : "(no message)");
    LLVMDisposeMessage(msg);
    return s;
}

int cg_llvm_target_machine(const CgTarget *t, LLVMTargetMachineRef *tm, char **err)
{
    *tm = NULL;
    CgArch a;
    if (!cg_arch_parse(t->arch, &a)) {
        *err = fmt("unknown GPU arch '%s' (expected one of: %s)", t->arch ? t->arch : "(null)",
                   cg_arch_list());
        return -1;
    }
    int ptx = cg_ptx_version_for(archs[a].name, t->ptx_version);
    if (ptx < 0) {
        *err = fmt("PTX version %d.%d is not available for %s (LLVM %d emits up to %d.%d)",
                   t->ptx_version / 10, t->ptx_version % 10, archs[a].name, LPVM_LLVM_VERSION,
                   PTX_MAX / 10, PTX_MAX % 10);
        return -1;
    }
    if (t->opt_level < 0 || t->opt_level > 3) {
        *err = fmt("codegen opt level %d out of range 0..3", t->opt_level);
        return -1;
    }
    cg_llvm_init();
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(CG_NVPTX_TRIPLE, &target, &msg)) {
        *err = take_llvm_message("LLVMGetTargetFromTriple(" CG_NVPTX_TRIPLE ")", msg);
        return -1;
    }
    char features[16];
    snprintf(features, sizeof features, "+ptx%d", ptx);
    static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                                 LLVMCodeGenLevelDefault,
                                                 LLVMCodeGenLevelAggressive};
    *tm = LLVMCreateTargetMachine(target, CG_NVPTX_TRIPLE, archs[a].name, features,
                                  levels[t->opt_level], LLVMRelocDefault,
                                  LLVMCodeModelDefault);
    if (!*tm) {
        *err = fmt("LLVMCreateTargetMachine(%s, %s) failed", archs[a].name, features);
        return -1;
    }
    return 0;
}

int cg_llvm_emit_ptx(LLVMModuleRef m, const CgTarget *t, char **ptx, char **err)
{
    *ptx = NULL;
    *err = NULL;
    LLVMTargetMachineRef tm;
    if (cg_llvm_target_machine(t, &tm, err))
        return -1;

    int rc = -1;
    LLVMSetTarget(m, CG_NVPTX_TRIPLE);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, dl);
    LLVMDisposeTargetData(dl);

    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        *err = take_llvm_message("LLVMVerifyModule", msg);
        goto out;
    }
    LLVMDisposeMessage(msg);

    if (t->passes && *t->passes) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMErrorRef e = LLVMRunPasses(m, t->passes, tm, po);
        LLVMDisposePassBuilderOptions(po);
        if (e) {
            char *em = LLVMGetErrorMessage(e);
            *err = fmt("LLVMRunPasses(\"%s\"): %s", t->passes, em);
            LLVMDisposeErrorMessage(em);
            goto out;
        }
    }

    LLVMMemoryBufferRef buf = NULL;
    msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf)) {
        *err = take_llvm_message("LLVMTargetMachineEmitToMemoryBuffer", msg);
        goto out;
    }
    LLVMDisposeMessage(msg);
    size_t n = LLVMGetBufferSize(buf);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, LLVMGetBufferStart(buf), n);
        s[n] = 0;
        *ptx = s;
        rc = 0;
    } else {
        *err = fmt("out of memory for %zu bytes of PTX", n);
    }
    LLVMDisposeMemoryBuffer(buf);
out:
    LLVMDisposeTargetMachine(tm);
    return rc;
}

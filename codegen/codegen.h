/* codegen/codegen.h - code generation: VM IR -> thread IR (TIR) -> LLVM IR
 * or CUDA C -> PTX (CODEGEN.md sections 1-3). Read as the module's table of
 * contents: declarations are grouped under the file that defines them, in
 * pipeline order.
 *
 * Layering: codegen/ depends on vm/ and layout/ (and libLLVM's C API). */
#ifndef LPVM_CODEGEN_H
#define LPVM_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <llvm-c/Types.h>
#include <llvm-c/TargetMachine.h>

/* ------------------------------------------------------- llvm_target.c
 * The NVPTX target: arch table, PTX versions, target machine, PTX emission.
 *
 * X(id, name, compute, sm, min_ptx): the GPU archs lpvm generates code for.
 *   name: the PTX .target / LLVM CPU; compute: NVRTC's virtual arch;
 *   min_ptx: the first PTX ISA version (major*10+minor) knowing the arch. */
#define CG_ARCHS(X)                                 \
    X(SM80, "sm_80", "compute_80", 80, 70)          \
    X(SM86, "sm_86", "compute_86", 86, 71)          \
    X(SM89, "sm_89", "compute_89", 89, 78)          \
    X(SM90, "sm_90", "compute_90", 90, 78)          \
    X(SM90A, "sm_90a", "compute_90a", 90, 80)

typedef enum {
#define X(id, name, compute, sm, min_ptx) CG_ARCH_##id,
    CG_ARCHS(X)
#undef X
    CG_NARCH
} CgArch;

#define CG_NVPTX_TRIPLE "nvptx64-nvidia-cuda"

bool cg_arch_parse(const char *name, CgArch *out); /* "sm_90a" or "compute_90a" */
const char *cg_arch_name(CgArch a);                /* "sm_90a" */
const char *cg_arch_compute(CgArch a);             /* "compute_90a" */
int cg_arch_sm(CgArch a);                          /* 90 */
int cg_arch_min_ptx(CgArch a);                     /* 80 */
const char *cg_arch_list(void);                    /* "sm_80 sm_86 ..." for messages */

/* PTX versions are major*10+minor (84 = PTX ISA 8.4). */
bool cg_ptx_version_valid(int v);  /* an existing version this LLVM can emit */
int cg_ptx_version_max(void);
/* max(arch minimum, needed); needed 0 = no requirement; -1 for an unknown
 * arch or a version that does not exist or is beyond this LLVM. */
int cg_ptx_version_for(const char *arch, int needed);

typedef struct {
    const char *arch;    /* one of CG_ARCHS (sm_ or compute_ name) */
    int ptx_version;     /* what the kernel needs; 0 = the arch minimum */
    int opt_level;       /* codegen level 0..3 (LLVMCodeGenOptLevel) */
    const char *passes;  /* new-PM IR pipeline run before codegen, NULL = none */
} CgTarget;

void cg_llvm_init(void); /* thread-safe, once; the entry points call it */
void cg_llvm_version(int *major, int *minor, int *patch);
/* Calling convention ptx_kernel plus the !nvvm.annotations "kernel" entry. */
void cg_llvm_mark_kernel(LLVMValueRef fn);
/* A target machine for t (dispose with LLVMDisposeTargetMachine).
 * 0 ok; else -1 and *err malloc'd. */
int cg_llvm_target_machine(const CgTarget *t, LLVMTargetMachineRef *tm, char **err);
/* Sets m's triple and data layout, verifies m, runs t->passes, emits PTX.
 * 0 ok and *ptx malloc'd; else -1, *ptx NULL and *err malloc'd (the
 * verifier's or LLVM's message). m stays owned by the caller. */
int cg_llvm_emit_ptx(LLVMModuleRef m, const CgTarget *t, char **ptx, char **err);

#endif

/* codegen/emit_llvm.h - private to codegen/emit_llvm*.c: the LLVM emitter's
 * state and the helpers its two files share (the entry point is in
 * codegen/codegen.h). Like codegen/lower.h, not a module header. */
#ifndef LPVM_CODEGEN_EMIT_LLVM_H
#define LPVM_CODEGEN_EMIT_LLVM_H

#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>

#include "codegen/codegen.h"

enum { EM_MAX_LOOPS = 64 };

typedef struct {
    LLVMBasicBlockRef cont, brk; /* continue and break targets */
} EmLoop;

typedef struct {
    const TirKernel *k;
    LLVMContextRef ctx;
    LLVMModuleRef m;
    LLVMBuilderRef b;
    LLVMBuilderRef ab;         /* allocas, at the end of the entry block */
    LLVMValueRef fn;
    LLVMValueRef *slot;        /* alloca per register */
    LLVMValueRef smem;         /* @lpvm_smem, made on first use */
    LLVMValueRef vprintf;
    LLVMDIBuilderRef dib;      /* line tables when the TIR has source lines */
    LLVMMetadataRef sp;        /* the kernel's DISubprogram */
    int line;                  /* the line of the current debug location */
    EmLoop loops[EM_MAX_LOOPS];
    int nloops;
    LLVMTypeRef i1, i8, i16, i32, i64, f16, bf16, f32, f64, v2f16, v2bf16, ptr, gptr;
    char *err;                 /* the first error, malloc'd */
} Em;

/* emit_llvm.c */
void em_fail(Em *e, const TirOp *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
LLVMTypeRef em_type(Em *e, TirType t);   /* a register's LLVM type */
LLVMValueRef em_const(Em *e, TirType t, uint64_t bits);
/* v as LLVM type ty: same value, or the same bits for equal widths. */
LLVMValueRef em_coerce(Em *e, const TirOp *o, LLVMValueRef v, LLVMTypeRef ty);
LLVMValueRef em_reg(Em *e, int reg);     /* the register's current value */
/* Argument i of o as a value of type `want` (immediates are made in it). */
LLVMValueRef em_arg(Em *e, const TirOp *o, int i, TirType want);
void em_set(Em *e, const TirOp *o, int reg, LLVMValueRef v);
const char *em_name(Em *e, int reg);
LLVMValueRef em_call(Em *e, const char *intrinsic, LLVMTypeRef *ovl, int novl,
                     LLVMValueRef *args, int nargs, const char *name);
LLVMValueRef em_smem_base(Em *e);        /* i32 shared-window address of @lpvm_smem */
bool em_asm(Em *e, const TirOp *o);      /* through cg_asm_for */

/* emit_llvm_ops.c: value ops (form 'V'); false and an error if malformed. */
bool em_value_op(Em *e, const TirOp *o);

#endif

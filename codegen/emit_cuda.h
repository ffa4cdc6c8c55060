/* codegen/emit_cuda.h - private to codegen/emit_cuda*.c: the emitter's state
 * and the helpers its two files share (the entry points are in
 * codegen/codegen.h). Like codegen/lower.h, not a module header.
 *
 * C kinds (EcCk): the C type a TIR type lives in. f16/bf16 are their 16-bit
 * codes (unsigned short) and f16x2/bf16x2 their 32-bit words (unsigned), so
 * the generated code needs no cuda_fp16.h and every half operation is the
 * exact PTX instruction, written as inline asm. */
#ifndef LPVM_CODEGEN_EMIT_CUDA_H
#define LPVM_CODEGEN_EMIT_CUDA_H

#include "codegen/codegen.h"

typedef enum {
    EC_BOOL, EC_U8, EC_S8, EC_U16, EC_S16, EC_U32, EC_S32, EC_U64, EC_S64, EC_F32, EC_F64
} EcCk;

typedef struct {
    char *s;
    size_t n, cap;
} EcBuf;

/* A C expression being built; too long for the buffer is an internal error. */
typedef struct {
    char s[640];
} EcEx;

typedef struct {
    const TirKernel *k;
    EcBuf out;
    char **name;     /* C name per register */
    int depth;       /* indentation */
    int line;        /* VM line of the last `// line` comment */
    int loop;        /* id of the innermost loop, -1 outside loops */
    bool latch;      /* the innermost loop has a latch (continue = goto) */
    bool in_latch;   /* emitting a latch */
    int nloops, ntmp;
    char *err;       /* the first error, malloc'd */
} EcEm;

/* An inline asm statement under construction: operands are written in the
 * template as $oN (N-th output) and $iN (N-th input); outputs whose register
 * has another C kind go through temporaries copied back after the asm. */
typedef struct {
    EcBuf outs, ins, pre, post;
    int nout, nin;
    bool vol; /* volatile: a warp-collective op stays where it is (no "memory") */
} EcAsm;

/* The inline PTX only this emitter writes (the LLVM backend has LLVM
 * instructions or NVVM intrinsics for these); everything in codegen.h's
 * cg_asm_for comes from there. X(id, template): $oN outputs, $iN inputs
 * ($N: operand N as numbered in the statement); %s parts are filled first. */
#define EC_ASM(X)                                                                         \
    X(LANEID, "mov.u32 $o0, %%laneid;")                                                   \
    X(SHIFT, "%s.%s%d $o0, $i0, $i1;")   /* shl.b / shr.u / shr.s by a register count */ \
    X(SHFL, "shfl.sync.%s.b32 $o0, $i0, $i1, $i2, 0xffffffff;")                           \
    X(HALF2, "%s.rn.%s $o0, $i0, $i1;")  /* add/sub/mul of f16, f16x2 */                \
    X(HMINMAX, "%s.%s $o0, $i0, $i1;")                                                    \
    X(HUNARY, "%s.%s $o0, $i0;")          /* neg/abs of f16, bf16, x2 (NaN: canonical) */ \
    X(HFMA, "fma.rn.%s $o0, $i0, $i1, $i2;")                                              \
    X(BFADD, "fma.rn.%s $o0, $i0, $i2, $i1;") /* bf16 a + b as fma(a, 1, b): sm_80 */     \
    X(BFSUB, "fma.rn.%s $o0, $i1, $i2, $i0;") /* a - b as fma(b, -1, a) */               \
    X(BFMUL, "fma.rn.%s $o0, $i0, $i1, $i2;") /* a * b as fma(a, b, -0); $i2 the constant */ \
    X(LD, "ld%s.%s%s.%s %s, %s;")                                                         \
    X(ST, "st%s.%s%s.%s %s, %s;")

enum {
#define X(id, t) EC_A_##id,
    EC_ASM(X)
#undef X
};
extern const char *const ec_asm_tmpl[]; /* emit_cuda.c */

/* emit_cuda.c */
void ec_put(EcBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ec_ln(EcEm *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ec_fail(EcEm *e, const TirOp *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ec_exf(EcEm *e, EcEx *x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
EcCk ec_ck(TirType t);
EcCk ec_ck_uint(int bits);
const char *ec_ctype(EcCk c);
int ec_ck_bits(EcCk c);
bool ec_ck_float(EcCk c);
EcCk ec_reg_ck(const EcEm *e, int reg);
/* x (of kind from) as kind to: bits for equal widths involving a float, C
 * value conversion between ints. false (and an error) for bool/float
 * mismatches. */
bool ec_conv(EcEm *e, const TirOp *o, EcCk to, EcCk from, const char *x, EcEx *out);
/* Argument i of o as a C expression of kind ec_ck(want). */
bool ec_arg(EcEm *e, const TirOp *o, int i, TirType want, EcEx *out);
bool ec_arg_ck(EcEm *e, const TirOp *o, int i, EcCk want, EcEx *out);
/* reg = x, x of kind from. */
void ec_assign(EcEm *e, const TirOp *o, int reg, EcCk from, const char *x);

void ec_asm_init(EcAsm *a);
int ec_asm_out(EcEm *e, EcAsm *a, const TirOp *o, int reg, EcCk want);
int ec_asm_out_raw(EcAsm *a, const char *lvalue, EcCk ck); /* a C lvalue of kind ck */
int ec_asm_in(EcEm *e, EcAsm *a, const TirOp *o, const char *x, EcCk ck);
int ec_asm_arg(EcEm *e, EcAsm *a, const TirOp *o, int i, TirType want); /* ec_arg + ec_asm_in */
/* Writes the statement (volatile with a "memory" clobber when mem) and frees a. */
void ec_asm_emit(EcEm *e, EcAsm *a, const char *tmpl, bool mem);
/* o through codegen.h's cg_asm_for, the asm both backends share. */
void ec_shared_asm(EcEm *e, const TirOp *o);

/* emit_cuda_ops.c: one value op (the guard is handled by the caller). */
void ec_value_op(EcEm *e, const TirOp *o);
/* emit_cuda_mem.c: memory, atomics, barriers, cp.async, ldmatrix, printf. */
void ec_mem_op(EcEm *e, const TirOp *o);

#endif

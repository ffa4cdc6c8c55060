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

#include "vm/vm.h"

/* Bumped whenever generated code changes: part of every kernel cache key
 * (CODEGEN.md 3), so old cached PTX is never loaded. */
#define CG_VERSION 7

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

/* ---------------------------------------------------------------- tir.c
 * The thread-level IR (TIR, CODEGEN.md 1): what one thread of a block
 * executes. Produced by cg_lower, printed by the two emitters, which make no
 * decisions: every operation, type, rounding mode, width, guard and address
 * is explicit here.
 *
 * Registers are per-thread, typed, mutable (they are re-assigned by loops
 * and `var`s; the LLVM emitter keeps them in allocas promoted by mem2reg).
 * A VM register tensor is an array of layout.local_size registers indexed
 * by constants only, i.e. one register per local element: an element of a
 * dtype of <= 32 bits lives in a 32-bit register as its value (signed ints
 * sign-extended, unsigned zero-extended, narrow floats as their code), bool
 * in a pred, f16/bf16/f32/f64 and 64-bit ints in their own type. Packing
 * (sub-byte bits in b32 words) happens in `view` and in memory accesses.
 *
 * Semantics every emitter must keep exactly:
 *   - float add/sub/mul/div/fma/sqrt are IEEE round-to-nearest (.rn), never
 *     contracted; approximate math only through the ops named *.approx;
 *   - shifts by >= the width give 0 (shl, shr.u/b) or the sign fill (shr.s)
 *     (PTX clamps the count); the count is u32;
 *   - div/rem of ints are only emitted with a non-zero divisor (the lowering
 *     guards x/0 and MIN/-1 itself);
 *   - cvt: type = destination, type2 = source, rnd the rounding mode; float
 *     to int conversions saturate and give 0 for NaN (PTX semantics);
 *   - global addresses are 64-bit generic pointers; shared addresses are
 *     32-bit byte offsets from the start of the kernel's one shared region
 *     (the emitter adds the region's base);
 *   - a guarded op (guard >= 0) executes only where the pred is true (and
 *     false when guard_neg); a guarded load leaves its destination unchanged;
 *   - control flow is structured and uniform over the block: if, loop
 *     (body, then latch; `continue` jumps to the latch, `break` leaves),
 *     ret; an `if` on a per-thread pred (thread 0 only: printf, lock) is
 *     the one divergent form, and it contains no barrier;
 *   - integer registers of one width are interchangeable as operands: the
 *     op's type decides signedness (bfe.s32 on a u32 register is fine);
 *   - ld/st with a memory type (type2) narrower than the register type:
 *     loads extend by the memory type's signedness (u8 zero, s8 sign),
 *     stores write the register's low bits; b16 memory with an f16/bf16
 *     register moves the 16 bits;
 *   - cvt between int types without rounding truncates or extends by the
 *     source's signedness; cvt int->float and narrowing float->float carry
 *     .rn; widening float->float none; float->int .rni with sat = 1;
 *   - setp.nan is true when either operand is NaN; setp.neu when they are
 *     not equal or either is NaN; the other float compares are ordered;
 *   - min/max of floats return the non-NaN operand when one is NaN (PTX
 *     min/max); the lowering fixes the sign of equal zeros itself;
 *   - NaN results of float arithmetic are taken to be canonical
 *     (0x7FFFFFFF for f32, as the GPU produces); the lowering canonicalizes
 *     after neg/abs and conversions itself;
 *   - mov of an immediate to an f16/bf16/f32/f64 register moves its bits;
 *   - pack: type is the whole, type2 the parts (pack.u32.f16 {h, 0} puts
 *     h in the low 16 bits); unpack: type the parts, type2 the whole. */
#define TIR_TYPES(X)                                                          \
    X(PRED, "pred", 1) X(B8, "b8", 8) X(B16, "b16", 16) X(B32, "b32", 32)      \
    X(B64, "b64", 64) X(U8, "u8", 8) X(S8, "s8", 8) X(U16, "u16", 16)         \
    X(S16, "s16", 16) X(U32, "u32", 32) X(S32, "s32", 32) X(U64, "u64", 64)   \
    X(S64, "s64", 64) X(F16, "f16", 16) X(BF16, "bf16", 16)                   \
    X(F32, "f32", 32) X(F64, "f64", 64) X(F16X2, "f16x2", 32)                 \
    X(BF16X2, "bf16x2", 32)
/* Registers never have the 8/16-bit integer types: those are memory and
 * conversion types (ld.u8 into a u32 register zero-extends, ld.s8
 * sign-extends). */
typedef enum {
#define X(id, name, bits) TIR_##id,
    TIR_TYPES(X)
#undef X
    TIR_NTYPES
} TirType;
const char *tir_type_name(TirType t);
int tir_type_bits(TirType t);
bool tir_type_is_float(TirType t); /* f16 bf16 f32 f64 f16x2 bf16x2 */
bool tir_type_is_signed(TirType t); /* s8..s64 */

/* Op modifiers (TirOp.mod), by op: */
#define TIR_CMPS(X) /* setp: ordered compares; NEU is true for NaN operands */ \
    X(EQ, "eq") X(NE, "ne") X(LT, "lt") X(LE, "le") X(GT, "gt") X(GE, "ge")    \
    X(NEU, "neu") X(NAN, "nan")
typedef enum {
#define X(id, s) TIR_CMP_##id,
    TIR_CMPS(X)
#undef X
} TirCmp;
#define TIR_RNDS(X) /* cvt rounding: none (exact or int->int), float rn/rz, int rni/rzi */ \
    X(NONE, "") X(RN, "rn") X(RZ, "rz") X(RNI, "rni") X(RZI, "rzi")
typedef enum {
#define X(id, s) TIR_RND_##id,
    TIR_RNDS(X)
#undef X
} TirRnd;
#define TIR_SREGS(X)                                                           \
    X(TID_X, "tid.x") X(LANEID, "laneid") X(CTAID_X, "ctaid.x")                \
    X(CTAID_Y, "ctaid.y") X(CTAID_Z, "ctaid.z") X(NCTAID_X, "nctaid.x")        \
    X(NCTAID_Y, "nctaid.y") X(NCTAID_Z, "nctaid.z")
typedef enum {
#define X(id, s) TIR_SR_##id,
    TIR_SREGS(X)
#undef X
} TirSreg;
#define TIR_ATOMS(X) /* atom/red operations */                                 \
    X(ADD, "add") X(AND, "and") X(OR, "or") X(XOR, "xor") X(MIN, "min")        \
    X(MAX, "max") X(EXCH, "exch") X(CAS, "cas")
typedef enum {
#define X(id, s) TIR_ATOM_##id,
    TIR_ATOMS(X)
#undef X
} TirAtomOp;
/* The modifiers' spellings in the text form (tir.c), one table each, shared
 * by the printer and the parser. */
#define TIR_COUNT_(id, s) +1
enum {
    TIR_NCMPS = 0 TIR_CMPS(TIR_COUNT_),
    TIR_NRNDS = 0 TIR_RNDS(TIR_COUNT_),
    TIR_NSREGS = 0 TIR_SREGS(TIR_COUNT_),
    TIR_NATOMS = 0 TIR_ATOMS(TIR_COUNT_)
};
extern const char *const tir_cmp_names[TIR_NCMPS], *const tir_rnd_names[TIR_NRNDS],
    *const tir_sreg_names[TIR_NSREGS], *const tir_atom_names[TIR_NATOMS];
typedef enum { TIR_SEM_RELAXED, TIR_SEM_ACQUIRE, TIR_SEM_RELEASE, TIR_SEM_ACQ_REL } TirSem;
typedef enum { TIR_SCOPE_CTA, TIR_SCOPE_GPU, TIR_SCOPE_SYS } TirScope;
typedef enum { TIR_SPACE_GLOBAL, TIR_SPACE_SHARED } TirSpace;
typedef enum { TIR_SHFL_BFLY, TIR_SHFL_IDX, TIR_SHFL_UP, TIR_SHFL_DOWN } TirShfl;

/* THE op table. X(id, name, form): one line of semantics each.
 * d[] destinations, a[] arguments (register or immediate of the op's type
 * unless said otherwise); `type` is the operation type, type2 a second type.
 * Forms: V value op, M memory, C control, S sync/special. */
#define TIR_OPS(X)                                                             \
    X(MOV, "mov", 'V')        /* d0 = a0 (same type) */                        \
    X(BITCAST, "bitcast", 'V') /* d0 (type) = bits of a0 (type2, same width) */ \
    X(PACK, "pack", 'V')      /* d0 (type) = {a0, a1, ..} low first (mov.b32 d, {a,b}) */ \
    X(UNPACK, "unpack", 'V')  /* {d0, d1, ..} = a0 (type2) split, low first */  \
    X(SREG, "sreg", 'V')      /* d0 (u32) = special register mod (TirSreg) */    \
    X(ADD, "add", 'V')        /* d0 = a0 + a1 (ints wrap; floats .rn) */        \
    X(SUB, "sub", 'V')        /* d0 = a0 - a1 */                                \
    X(MUL, "mul", 'V')        /* d0 = a0 * a1 (ints: low half; floats .rn) */   \
    X(MULWIDE, "mul.wide", 'V') /* d0 (type, 64-bit) = a0 * a1 (type2, 32-bit) */ \
    X(MAD, "mad", 'V')        /* d0 = a0 * a1 + a2 (ints, low half) */          \
    X(FMA, "fma", 'V')        /* d0 = a0 * a1 + a2, one rounding (fma.rn) */    \
    X(DIV, "div", 'V')        /* d0 = a0 / a1 (ints truncate, a1 != 0; floats div.rn) */ \
    X(REM, "rem", 'V')        /* d0 = a0 % a1 (ints, a1 != 0, sign of a0) */    \
    X(MIN, "min", 'V')        /* d0 = min (floats: a NaN operand ignored) */   \
    X(MAX, "max", 'V')        /* d0 = max */                                    \
    X(NEG, "neg", 'V')        /* d0 = -a0 */                                    \
    X(ABS, "abs", 'V')        /* d0 = |a0| */                                   \
    X(SQRT, "sqrt", 'V')      /* d0 = sqrt.rn(a0) */                            \
    X(AND, "and", 'V')        /* d0 = a0 & a1 (b/u/s or pred) */                \
    X(OR, "or", 'V')          /* d0 = a0 | a1 */                                \
    X(XOR, "xor", 'V')        /* d0 = a0 ^ a1 */                                \
    X(NOT, "not", 'V')        /* d0 = ~a0 (pred: !a0) */                        \
    X(SHL, "shl", 'V')        /* d0 = a0 << a1 (a1 u32; >= width gives 0) */    \
    X(SHR, "shr", 'V')        /* d0 = a0 >> a1 (s: arithmetic; u/b: logical) */ \
    X(BFE, "bfe", 'V')        /* d0 = a0 bits [a1, a1+a2) (s: sign-extended) */ \
    X(CLZ, "clz", 'V')        /* d0 (u32) = leading zeros of a0 (b32/b64) */    \
    X(POPC, "popc", 'V')      /* d0 (u32) = set bits of a0 */                   \
    X(LOP3, "lop3", 'V')      /* d0 = f(a0, a1, a2), f by imm LUT `imm` (b32) */ \
    X(PRMT, "prmt", 'V')      /* d0 = bytes of {a1, a0} picked by the nibbles of a2 (b32) */ \
    X(SETP, "setp", 'V')      /* d0 (pred) = a0 cmp(mod) a1 */                 \
    X(SELP, "selp", 'V')      /* d0 = a2 (pred) ? a0 : a1 */                    \
    X(CVT, "cvt", 'V')        /* d0 (type) = a0 (type2) converted, rounding mod (TirRnd), sat if imm=1 */ \
    X(EX2, "ex2.approx", 'V') /* d0 = 2^a0 (f32, approximate) */                \
    X(LG2, "lg2.approx", 'V') /* d0 = log2 a0 (f32, approximate) */             \
    X(SIN, "sin.approx", 'V') /* d0 = sin a0 (f32, approximate) */              \
    X(COS, "cos.approx", 'V') /* d0 = cos a0 (f32, approximate) */              \
    X(RSQRT, "rsqrt.approx", 'V') /* d0 = 1/sqrt a0 (f32, approximate) */       \
    X(TANH, "tanh.approx", 'V') /* d0 = tanh a0 (f32, approximate, sm_75+) */   \
    X(RCP, "rcp.approx", 'V') /* d0 = 1/a0 (f32, approximate) */                \
    X(SHFL, "shfl.sync", 'V') /* d0 (b32) = a0 of lane (mod TirShfl) a1, clamp a2, mask 0xffffffff */ \
    X(LD, "ld", 'M')          /* d0..dn-1 (type, memory type type2) = [a0 + off], space, width bytes */ \
    X(ST, "st", 'M')          /* [a0 + off] = a1..an (register type type, memory type2) */ \
    X(ATOM, "atom", 'M')      /* d0 (optional) = old [a0 + off]; [..] = op(mod)(old, a1[, a2 cas]), sem, scope */ \
    X(LDMATRIX, "ldmatrix", 'M') /* d0..d(n-1) b32 = ldmatrix.x(imm).trans?(flag) [a0] (shared) */ \
    X(CP_ASYNC, "cp.async", 'M') /* [a0 shared] <- [a1 global], width bytes, a2 src-size (zero-fill) */ \
    X(CP_COMMIT, "cp.async.commit_group", 'S') /* close a group of cp.async */  \
    X(CP_WAIT, "cp.async.wait_group", 'S') /* wait until <= imm groups pending */ \
    X(MMA, "mma.sync", 'V')   /* d = mma shape str (atype type2, ctype type) (a regs..., b regs..., c regs...) */ \
    X(BAR, "bar.sync", 'S')   /* block barrier 0 */                             \
    X(FENCE, "fence", 'S')    /* fence.acq_rel at scope */                      \
    X(PRINTF, "printf", 'S')  /* vprintf(str, a0..): args s32/s64/u32/u64/f64 */ \
    X(IF, "if", 'C')          /* if a0 (pred) body else orelse */               \
    X(LOOP, "loop", 'C')      /* forever: body then latch */                    \
    X(BREAK, "break", 'C')    /* leave the innermost loop */                    \
    X(CONTINUE, "continue", 'C') /* go to the innermost loop's latch */         \
    X(RET, "ret", 'C')        /* end the thread */                              \
    X(NOTE, "note", 'S')      /* no-op: str describes the VM instruction at line */

typedef enum {
#define X(id, name, form) TIR_OP_##id,
    TIR_OPS(X)
#undef X
    TIR_NOPS
} TirOpcode;
const char *tir_op_name(TirOpcode op);
/* a value op of the threads' registers only: removable when unused (not
 * shfl.sync or mma.sync, which the warp executes together, nor sreg) */
bool tir_op_pure(TirOpcode op);

enum { TIR_MAX_DST = 8, TIR_MAX_ARG = 16 };
typedef enum { TIR_A_NONE, TIR_A_REG, TIR_A_IMM } TirArgKind;
typedef struct {
    TirArgKind kind;
    int reg;      /* TIR_A_REG */
    uint64_t imm; /* TIR_A_IMM: the bits, in the op's (argument's) type */
} TirArg;

typedef struct TirOp TirOp;
typedef struct {
    TirOp *first, *last;
} TirBlock;

struct TirOp {
    TirOpcode op;
    TirType type, type2;
    int mod;          /* TirCmp, TirRnd, TirSreg, TirAtomOp, TirShfl or TirScope */
    TirSpace space;
    TirSem sem;
    TirScope scope;
    int width;        /* LD/ST/CP_ASYNC: bytes (1/2/4/8/16) */
    int64_t off;      /* LD/ST/ATOM: constant byte offset added to a0 */
    int64_t imm;      /* LOP3 lut, CVT sat, LDMATRIX count, CP_WAIT n, flags */
    bool flag;        /* LDMATRIX .trans */
    int nd, na;
    int d[TIR_MAX_DST];
    TirArg a[TIR_MAX_ARG];
    int guard;        /* pred register or -1 */
    bool guard_neg;
    const char *str;  /* PRINTF format, NOTE text, MMA shape */
    int line;         /* VM source line (0: none) */
    TirBlock body, orelse; /* IF, LOOP (orelse = latch) */
    TirOp *next;
};

typedef struct {
    TirType type;
    const char *name; /* from the source, or a role ("tid", "addr") */
} TirReg;

typedef enum { TIR_P_PTR, TIR_P_SCALAR } TirParamKind;
typedef struct {
    const char *name;
    TirParamKind kind;
    TirType type;     /* scalars: s32/s64/f32; pointers: u64 */
    Dtype dtype;      /* pointers: the VM element dtype (for comments) */
    int reg;          /* the register holding its value from the start */
    bool hidden;      /* added by codegen (workspace pointers), not in the VM signature */
} TirParam;

typedef struct {
    const char *name;
    const char *file;  /* source file for comments (may be NULL) */
    int warps;         /* block = 32 * warps threads, 1-D */
    int64_t shared_bytes; /* size of the one dynamic shared region (16-byte aligned) */
    TirParam *params;
    int nparams;
    TirReg *regs;
    int nregs, cap_regs;
    TirBlock body;
    int ptx_needed;    /* PTX ISA version the ops need (major*10+minor), 0 none */
    int sm_needed;     /* minimum sm the ops need */
    VmArena *arena;
} TirKernel;

/* Builder: everything in the arena. */
TirKernel *tir_kernel_new(VmArena *a, const char *name, int warps);
int tir_reg(TirKernel *k, TirType t, const char *name);
TirArg tir_r(int reg);
TirArg tir_imm(uint64_t bits);
TirArg tir_immf(double v, TirType t); /* the bits of v in float type t (f32/f64) */
TirOp *tir_op_new(TirKernel *k, TirOpcode op, TirType type);
void tir_append(TirBlock *b, TirOp *o);
/* The text form (snprintf convention): a header with the params and the
 * shared size, register declarations grouped by type, then the ops, one per
 * line, `// line N: what` notes before each VM instruction's ops. */
int tir_print(const TirKernel *k, char *buf, size_t n);
/* The type of argument i of o (immediates carry no type of their own):
 * the op's type except shift counts, bfe positions and shuffle lanes (u32),
 * selp's pred, cvt/bitcast/unpack sources (type2), addresses (u64 global,
 * u32 shared) and stored values (type). */
TirType tir_arg_type(const TirOp *o, int i);
char *tir_print_alloc(const TirKernel *k); /* malloc'd, caller frees */
/* tir_parse.c: the text back (tir_print(tir_parse(text)) == text); false
 * with a message (text line number) in err on malformed input. The source
 * file name is not part of the text. */
bool tir_parse(VmArena *a, const char *text, TirKernel **out, char *err, size_t n);
/* Counts ops (recursively), for tests. */
int tir_count(const TirKernel *k, TirOpcode op);
/* Structural checks (STYLE 7): register indices, destination and argument
 * counts, preds where preds belong (guards, setp, selp, if), address
 * register types by space, memory widths, break/continue inside a loop.
 * Returns true when sound; else writes the first problem to err (n bytes). */
bool tir_verify(const TirKernel *k, char *err, size_t n);

/* ------------------------------------------------------- tir_pack.c
 * Run by cg_lower last: f16/bf16 register pairs that are only ever packed
 * as (lo, hi) words and only defined together (an unpack of a word, or two
 * adjacent movs from another such pair) get a 32-bit shadow register that
 * always equals pack(lo, hi); the packs read it instead. Loop-carried
 * ldmatrix fragments (`var`s) then cross the back edge as whole words
 * instead of 16-bit halves that ptxas re-packs with PRMTs. */
void tir_pack_pairs(TirKernel *k);

/* ------------------------------------------------------- tir_fold.c
 * Run by cg_lower before tir_pack_pairs: pure ops whose results are never
 * read go (the element-wise paths a word-wise lowering left unused), then
 * an xor with a constant whose result reaches only lop3 `(a & b) ^ c` /
 * `(a & b) | c` (constant b, c) through shifts, ands and prmts is folded
 * into those lop3s' c (the zero point of quantized codes: `q ^ zero`
 * before the fast conversion). */
void tir_fold_xor(TirKernel *k);

/* ------------------------------------------------------- lower*.c
 * cg_lower: one specialized, verified, layout-inferred kernel -> TIR
 * (CODEGEN.md 1), everything allocated in arena a. The plain lowering:
 * scalar accesses, shared memory for layout conversions, dot as FMA loops,
 * reductions by thread, warp shuffle and shared memory; argmax, cumsum and
 * topk serial per row. Bit-exact with the interpreter except approximate
 * math and the order of float reduce_sum (tests/test_tir_eval.c).
 * Failure is a value: one diagnostic per instruction it cannot lower yet
 * ("codegen: rem on f32 is not supported by the plain lowering yet") with
 * the instruction's location, CG_ERR_UNSUPPORTED; CG_ERR_INPUT when the
 * shared-memory plan fails.
 * For the runtime: TIR params are the kernel's params in order (implicit
 * shape identifiers included, as s32 scalars), then one hidden u64 pointer
 * per `workspace` in program order; shared_bytes of dynamic shared memory;
 * printf is vprintf-style. */
typedef struct {
    int sm;           /* target sm (80, 86, 89, 90); 0 = 80 */
    /* The runtime's divisibility specialization (VM.md 1): bit j set when
     * kernel param j (i32/i64 scalar or shape identifier: its value; tensor:
     * its base address) is a multiple of 16 in every launch of this code. */
    uint64_t div16;
} CgOptions;
typedef enum { CG_OK, CG_ERR_UNSUPPORTED, CG_ERR_INPUT } CgStatus;
CgStatus cg_lower(Kernel *k, const CgOptions *opt, VmArena *a, TirKernel **out, VmDiags *d);

/* ------------------------------------------------------- emit_asm.c
 * The PTX text of TIR ops written as inline asm, shared by both emitters:
 * bfe, lop3, prmt, cvt, ex2/lg2/sin/cos/rsqrt/tanh/rcp.approx, atom, ldmatrix,
 * cp.async (+ commit/wait), mma.sync, fence, ld.acquire / st.release. The
 * template names operands $0..
 * (outputs first, then inputs, as in opd[]) and has no other `$` or `%`: the
 * CUDA C emitter rewrites `$N` to `%N`. An ADDR operand is the op's address
 * a[idx]: u64 global ('l'), or shared: the 32-bit shared-window address
 * (region base + a[idx], 'r'); o->off is already in the text. A DUMMY
 * output receives a value nobody reads (atom without a destination).
 * Reading of TIR fields beyond the op table: CP_ASYNC `flag` = .cg (16 bytes
 * only), CP_ASYNC `off` applies to the shared address; CVT with two
 * arguments into f16x2/bf16x2 packs a0 into the low half; mma C/D of f16
 * are f16x2 registers. A float -> int cvt from f64 or to 64 bits is a
 * `{ .reg .pred p; setp.nan; cvt; @p mov 0; }` block: the hardware gives
 * INT_MIN for NaN there (measured on an H200), TIR says 0. */
typedef enum { CG_ASM_OUT, CG_ASM_DUMMY, CG_ASM_IN, CG_ASM_ADDR } CgAsmKind;
typedef struct {
    CgAsmKind kind;
    int idx;      /* OUT: index into o->d; IN/ADDR: index into o->a */
    char cons;    /* constraint letter: h r l f d */
    TirType type; /* the register's type (or the immediate's, the address's) */
} CgAsmOperand;
enum { CG_ASM_MAX = TIR_MAX_DST + TIR_MAX_ARG + 1 };
typedef struct {
    char text[640];
    int n, nout;             /* operands; the first nout are outputs */
    CgAsmOperand opd[CG_ASM_MAX];
    bool memory;             /* touches memory or orders it: volatile + "memory" clobber */
    bool convergent;         /* .sync.aligned: the whole warp executes it together */
} CgAsm;
char cg_asm_letter(TirType t); /* 0 for pred */
/* 0 ok; -1 and *why (static text) when o has no asm form or is malformed. */
int cg_asm_for(const TirKernel *k, const TirOp *o, CgAsm *out, const char **why);

/* ------------------------------------------------------- emit_llvm*.c
 * cg_emit_llvm: TIR -> an LLVM module (one kernel function named k->name)
 * -> PTX through the NVPTX target (CODEGEN.md 3). Registers are allocas
 * (zero-initialized) promoted by the pass pipeline; pointers are `ptr
 * addrspace(1)` params turned into u64 registers; shared memory is
 * `@lpvm_smem = external addrspace(3) global [0 x i8], align 16`. No
 * .maxntid: with it ptxas aims at an occupancy and may spill (rmsnorm bf16 on
 * sm_90: 40 registers and a spill, 46 and none without). LLVM instructions
 * only where they mean exactly the TIR semantics (f32/f64/f16/bf16
 * arithmetic, fma as llvm.fma, min/max as llvm.minnum/maxnum, shifts with a
 * select on the count, int cvt with explicit clamps, fpext, fptrunc
 * f32->f16/bf16 f64->f32 .rn, int->f32/f64 .rn), NVVM intrinsics for sregs,
 * barrier, shuffles and ex2/lg2/sin/cos/rsqrt, and cg_asm_for's inline asm
 * for everything else.
 *
 * t->passes NULL means CG_LLVM_PASSES: promotion, CSE, instcombine, LICM,
 * GVN, plus sreg ranges (nvvm-intr-range, LLVM 19) and infer-alignment (so
 * the backend's load/store vectorizer sees the 16-byte alignment of shared
 * memory); no unrolling, loop rotation or IR vectorizers: the TIR decided
 * those. Measured on the samples against default<O1>: matmul bm=64 sm_90
 * 1198 PTX instructions / 187 registers (O1: 1227 / 170, the old list
 * without the two passes: 1353 / 221), gemv u4 sm_90 32 registers (O1: 40).
 * "" means no passes. The PTX version is
 * max(t->ptx_version, k->ptx_needed); an arch below k->sm_needed is an error.
 * ptx NULL: build and verify only. *llvm_ir (optional): the module as built,
 * before the passes. 0 ok; else -1 and *err malloc'd ("emit_llvm: line 12:
 * cvt.rni.s32.f16x2: ..."). Outputs are malloc'd, the caller frees them. */
#if LPVM_LLVM_VERSION <= 19
#define CG_LLVM_PASSES_RANGES "nvvm-intr-range,"
#else
#define CG_LLVM_PASSES_RANGES "" /* LLVM 20 puts the ranges on the intrinsics */
#endif
#define CG_LLVM_PASSES                                                          \
    "function(" CG_LLVM_PASSES_RANGES "sroa,early-cse<memssa>,"                 \
    "instcombine<no-verify-fixpoint>,simplifycfg,loop-mssa(licm),gvn,"          \
    "instcombine<no-verify-fixpoint>,simplifycfg,adce,infer-alignment)"
int cg_emit_llvm(const TirKernel *k, const CgTarget *t, char **llvm_ir, char **ptx, char **err);

/* ------------------------------------------------------- emit_cuda*.c
 * cg_emit_cuda: TIR -> CUDA C text for NVRTC (CODEGEN.md 3; the runtime
 * compiles it with --fmad=false). One `extern "C" __global__` function named
 * k->name (which must be a C identifier) with __launch_bounds__(32 * warps),
 * parameters in TIR order (pointers as unsigned long long), one dynamic
 * shared region `lpvm_smem` (align 16), registers as locals named from the
 * source, a `// line N` comment before each VM line's ops. The ops are
 * cg_asm_for's asm where it has them, the _rn intrinsics for f32/f64, inline
 * PTX for f16/bf16, memory and warp ops: the same bits as cg_emit_llvm.
 * Returns malloc'd text; NULL and *err malloc'd ("CUDA C emitter, kernel k,
 * line 12, cvt.s32: ...") for TIR it cannot print. */
char *cg_emit_cuda(const TirKernel *k, char **err);
/* NVRTC's log with, after each `name(N): ...` line, the generated source
 * line N ("  generated line N: text"). malloc'd; never NULL. */
char *cg_cuda_annotate_log(const char *cuda_src, const char *log);

#endif

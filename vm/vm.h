/* vm/vm.h - the virtual machine: dtypes, VM IR, builder, printer, verifier,
 * interpreter.  Read as the module's table of contents: declarations are
 * grouped under the file that defines them, in pipeline order.
 *
 * Layering: vm/ depends on layout/ only. */
#ifndef LPVM_VM_H
#define LPVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout/layout.h"

/* ---------------------------------------------------------------- dtype.c
 * The one table of data types (VM.md section 3).
 *
 * X(ident, name, bits, kind, E, M)
 *   kind: VM_BOOL, VM_INT (two's complement), VM_UINT, VM_FLOAT
 *   E, M: exponent and mantissa bits for floats (0 for the others).
 * Enumerators VM_DT_<ident> (VM_DT_F16, VM_DT_F8E4M3); VM_<kind> are kinds.
 * Narrow floats f{bits}e{E}m{M}: 1 sign bit, E >= 1, M >= 0, 3 <= bits <= 8,
 * bias 2^(E-1)-1, subnormals; all codes finite except f8e4m3 (S.1111.111 is
 * NaN, no inf) and f8e5m2 (IEEE-like inf and NaN). */
#define VM_DTYPES(X)                                                         \
    X(BOOL, "bool", 8, VM_BOOL, 0, 0)                                        \
    X(U1, "u1", 1, VM_UINT, 0, 0) X(U2, "u2", 2, VM_UINT, 0, 0)              \
    X(U3, "u3", 3, VM_UINT, 0, 0) X(U4, "u4", 4, VM_UINT, 0, 0)              \
    X(U5, "u5", 5, VM_UINT, 0, 0) X(U6, "u6", 6, VM_UINT, 0, 0)              \
    X(U7, "u7", 7, VM_UINT, 0, 0) X(U8, "u8", 8, VM_UINT, 0, 0)              \
    X(U16, "u16", 16, VM_UINT, 0, 0) X(U32, "u32", 32, VM_UINT, 0, 0)        \
    X(U64, "u64", 64, VM_UINT, 0, 0)                                         \
    X(I1, "i1", 1, VM_INT, 0, 0) X(I2, "i2", 2, VM_INT, 0, 0)                \
    X(I3, "i3", 3, VM_INT, 0, 0) X(I4, "i4", 4, VM_INT, 0, 0)                \
    X(I5, "i5", 5, VM_INT, 0, 0) X(I6, "i6", 6, VM_INT, 0, 0)                \
    X(I7, "i7", 7, VM_INT, 0, 0) X(I8, "i8", 8, VM_INT, 0, 0)                \
    X(I16, "i16", 16, VM_INT, 0, 0) X(I32, "i32", 32, VM_INT, 0, 0)          \
    X(I64, "i64", 64, VM_INT, 0, 0)                                          \
    X(F16, "f16", 16, VM_FLOAT, 5, 10) X(BF16, "bf16", 16, VM_FLOAT, 8, 7)   \
    X(F32, "f32", 32, VM_FLOAT, 8, 23) X(F64, "f64", 64, VM_FLOAT, 11, 52)   \
    X(F3E1M1, "f3e1m1", 3, VM_FLOAT, 1, 1)                                   \
    X(F3E2M0, "f3e2m0", 3, VM_FLOAT, 2, 0)                                   \
    X(F4E1M2, "f4e1m2", 4, VM_FLOAT, 1, 2)                                   \
    X(F4E2M1, "f4e2m1", 4, VM_FLOAT, 2, 1)                                   \
    X(F4E3M0, "f4e3m0", 4, VM_FLOAT, 3, 0)                                   \
    X(F5E1M3, "f5e1m3", 5, VM_FLOAT, 1, 3)                                   \
    X(F5E2M2, "f5e2m2", 5, VM_FLOAT, 2, 2)                                   \
    X(F5E3M1, "f5e3m1", 5, VM_FLOAT, 3, 1)                                   \
    X(F5E4M0, "f5e4m0", 5, VM_FLOAT, 4, 0)                                   \
    X(F6E1M4, "f6e1m4", 6, VM_FLOAT, 1, 4)                                   \
    X(F6E2M3, "f6e2m3", 6, VM_FLOAT, 2, 3)                                   \
    X(F6E3M2, "f6e3m2", 6, VM_FLOAT, 3, 2)                                   \
    X(F6E4M1, "f6e4m1", 6, VM_FLOAT, 4, 1)                                   \
    X(F6E5M0, "f6e5m0", 6, VM_FLOAT, 5, 0)                                   \
    X(F7E1M5, "f7e1m5", 7, VM_FLOAT, 1, 5)                                   \
    X(F7E2M4, "f7e2m4", 7, VM_FLOAT, 2, 4)                                   \
    X(F7E3M3, "f7e3m3", 7, VM_FLOAT, 3, 3)                                   \
    X(F7E4M2, "f7e4m2", 7, VM_FLOAT, 4, 2)                                   \
    X(F7E5M1, "f7e5m1", 7, VM_FLOAT, 5, 1)                                   \
    X(F7E6M0, "f7e6m0", 7, VM_FLOAT, 6, 0)                                   \
    X(F8E1M6, "f8e1m6", 8, VM_FLOAT, 1, 6)                                   \
    X(F8E2M5, "f8e2m5", 8, VM_FLOAT, 2, 5)                                   \
    X(F8E3M4, "f8e3m4", 8, VM_FLOAT, 3, 4)                                   \
    X(F8E4M3, "f8e4m3", 8, VM_FLOAT, 4, 3)                                   \
    X(F8E5M2, "f8e5m2", 8, VM_FLOAT, 5, 2)                                   \
    X(F8E6M1, "f8e6m1", 8, VM_FLOAT, 6, 1)                                   \
    X(F8E7M0, "f8e7m0", 8, VM_FLOAT, 7, 0)

typedef enum { VM_BOOL, VM_INT, VM_UINT, VM_FLOAT } DtypeKind;

typedef enum {
#define X(id, name, bits, kind, e, m) VM_DT_##id,
    VM_DTYPES(X)
#undef X
    VM_NDTYPES,
    VM_DT_INVALID = -1
} Dtype;

typedef struct {
    const char *name;
    int bits;
    DtypeKind kind;
    int ebits, mbits; /* floats only */
} DtypeInfo;

const DtypeInfo *vm_dtype_info(Dtype dt);
Dtype vm_dtype_parse(const char *name, size_t len); /* VM_DT_INVALID if unknown */
const char *vm_dtype_name(Dtype dt);
int vm_dtype_bits(Dtype dt);
bool vm_dtype_is_float(Dtype dt);
bool vm_dtype_is_int(Dtype dt);    /* VM_INT or VM_UINT */
bool vm_dtype_is_signed(Dtype dt); /* VM_INT or VM_FLOAT */
bool vm_dtype_has_nan(Dtype dt);   /* f16 bf16 f32 f64 f8e4m3 f8e5m2 */
bool vm_dtype_has_inf(Dtype dt);   /* f16 bf16 f32 f64 f8e5m2 */

/* ----------------------------------------------------------- dtype_conv.c
 * Value properties as doubles (exact for every dtype except 64-bit ints). */
double vm_dtype_min(Dtype dt);           /* most negative finite value */
double vm_dtype_max(Dtype dt);           /* largest finite value */
double vm_dtype_min_subnormal(Dtype dt); /* smallest positive value (1 for ints) */
double vm_dtype_max_exact_int(Dtype dt); /* every integer in [-v, v] is exact
                                           * (floats: min(2^(M+1), floor(max))) */

/* A value of dtype dt is carried as its code: the dt's bits, zero-extended
 * into a uint64_t (bool: 0 or 1; f64: the IEEE bits). */
typedef uint64_t Code;

/* Decoding and encoding. vm_decode is exact for floats and ints of <= 53
 * bits; vm_encode rounds to nearest even with the cast rules of VM.md 3. */
double vm_decode(Dtype dt, Code c);
Code vm_encode(Dtype dt, double v);
int64_t vm_decode_int(Dtype dt, Code c);   /* integer dtypes, exact (else cast) */
uint64_t vm_decode_uint(Dtype dt, Code c); /* unsigned dtypes, exact (else cast) */
Code vm_canonical_nan(Dtype dt);           /* 0 if the dtype has no NaN */

/* cast: exact conversion with the rules of VM.md section 3 (round to nearest
 * even, saturation, canonical NaN, no double rounding). */
Code vm_cast(Dtype to, Dtype from, Code c);

/* ---------------------------------------------------------- dtype_arith.c
 * Arithmetic with VM.md section 3 rules: integers wrap modulo 2^n, shifts
 * past the width give 0 or the sign fill, narrow floats compute in f32 and
 * round back, f16/bf16/f32/f64 follow IEEE (f16/bf16 computed exactly then
 * rounded once). Integer division by zero gives 0, remainder by zero the
 * dividend; float min/max ignore a NaN operand (dtype_arith.c). */
#define VM_BINOPS(X)                                                         \
    X(ADD, "+") X(SUB, "-") X(MUL, "*") X(DIV, "/") X(REM, "%")              \
    X(MIN, "min") X(MAX, "max") X(AND, "&") X(OR, "|") X(XOR, "^")           \
    X(SHL, "<<") X(SHR, ">>")
typedef enum {
#define X(id, s) VM_OP_##id,
    VM_BINOPS(X)
#undef X
    VM_NBINOPS
} VmBinop;
Code vm_binop(VmBinop op, Dtype dt, Code a, Code b);
Code vm_fma(Dtype dt, Code a, Code b, Code c); /* a*b+c, one rounding (narrow: in f32) */

/* ----------------------------------------------------------- dtype_bits.c
 * Bit streams (VM.md 3, memory image): element i of an n-bit tensor occupies
 * bits [i*n, (i+1)*n) counted from the base byte, least significant first. */
Code vm_bits_get(const uint8_t *base, uint64_t bit_offset, int width);
void vm_bits_set(uint8_t *base, uint64_t bit_offset, int width, Code v);
void vm_pack(uint8_t *dst, uint64_t dst_bit, const Code *src, size_t n, int width);
void vm_unpack(Code *dst, const uint8_t *src, uint64_t src_bit, size_t n, int width);
size_t vm_packed_bytes(Dtype dt, size_t numel); /* ceil(numel*bits/8) */


/* ================================================================== the IR
 * The VM IR (VM.md 1, 2, 5). A Prog is a list of Kernels; a kernel is
 * concrete (specialized): every shape, dtype and layout is a constant or a
 * runtime scalar expression. Everything lives in one VmArena per
 * compilation, freed at once (no per-node frees).
 *
 * Three kinds of things an instruction reads:
 *   Expr  - a scalar expression, uniform over the block (tree, pure except
 *           that it reads scalar Vars: it is evaluated where it is used);
 *   Value - a tensor: register (SSA, constant shape, register layout),
 *           shared (constant shape, shared layout) or global (runtime shape);
 *   Tile  - a window of a tensor: t[a : n, i] (start : size; an index drops
 *           its dim). Memory instructions and register slices take Tiles.
 * Mutable variables (VM.md 2 `var`) are named slots, not SSA phis: a Var is
 * declared by VM_VAR_DEF, written by VM_ASSIGN and read simply by using it:
 * a register Var is read through its Value (var->val, an operand standing
 * for the slot's current contents), a scalar Var through vm_e_var. The
 * interpreter keeps one slot per Var; codegen maps a register Var to one
 * per-thread array of layout.local_size elements. Loop variables, scalar
 * `let`s and load_scalar results are scalar Vars (mut == false). */

enum { VM_MAX_DIMS = LAY_MAX_DIMS, VM_MAX_WARPS = 32 };

/* ---------------------------------------------------------------- ir.c */
typedef struct VmArena VmArena;
VmArena *vm_arena_new(void);
void vm_arena_free(VmArena *a);
void *vm_alloc(VmArena *a, size_t n); /* zeroed; aborts (file:line) when out of memory */
char *vm_strdup(VmArena *a, const char *s);
char *vm_strndup(VmArena *a, const char *s, size_t n);
char *vm_sprintf(VmArena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Source locations: every instruction, expression, param and value has one. */
typedef struct {
    const char *file;
    int line, col; /* from 1; 0 when unknown */
} VmLoc;

/* Diagnostics as values: the verifier and inference append, never print. */
typedef struct {
    VmLoc loc;
    const char *msg; /* in the diags' arena */
} VmDiag;
typedef struct {
    VmArena *arena;
    VmDiag *v;
    int n, cap;
} VmDiags;
void vm_diags_init(VmDiags *d, VmArena *a);
void vm_diag(VmDiags *d, VmLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "file:line:col: error: msg" (snprintf convention) */
int vm_diag_format(const VmDiag *g, char *buf, size_t n);

typedef struct Expr Expr;
typedef struct Value Value;
typedef struct Var Var;
typedef struct Param Param;
typedef struct Inst Inst;
typedef struct Kernel Kernel;
typedef struct Prog Prog;

/* Scalar operators: X(id, symbol, arity). Integers wrap (i32, i64); `/`
 * truncates toward zero and `%` takes the sign of the dividend (C); x / 0
 * and x % 0 give 0 (as vm_binop). cdiv(a, b) = ceil(a / b), integers only.
 * f32: IEEE, `%` is C's fmodf. Shifts follow VM.md 3 (integers only).
 * Comparisons and && || ! give bool; && || ! take bool. */
#define VM_SOPS(X)                                                           \
    X(NEG, "-", 1) X(LNOT, "!", 1) X(BNOT, "~", 1)                           \
    X(ADD, "+", 2) X(SUB, "-", 2) X(MUL, "*", 2) X(DIV, "/", 2)              \
    X(REM, "%", 2) X(CDIV, "cdiv", 2) X(MIN, "min", 2) X(MAX, "max", 2)      \
    X(AND, "&", 2) X(OR, "|", 2) X(XOR, "^", 2) X(SHL, "<<", 2)              \
    X(SHR, ">>", 2) X(EQ, "==", 2) X(NE, "!=", 2) X(LT, "<", 2)              \
    X(LE, "<=", 2) X(GT, ">", 2) X(GE, ">=", 2) X(LAND, "&&", 2)             \
    X(LOR, "||", 2)
typedef enum {
#define X(id, s, n) VM_S_##id,
    VM_SOPS(X)
#undef X
    VM_NSOPS
} ScalarOp;
const char *vm_sop_name(ScalarOp op);
int vm_sop_arity(ScalarOp op);

typedef enum {
    VM_E_INT,    /* ival (dtype i32 or i64) */
    VM_E_FLOAT,  /* fval (f32) */
    VM_E_BOOL,   /* ival 0/1 */
    VM_E_PARAM,  /* param: a scalar runtime parameter (explicit or shape identifier) */
    VM_E_BID,    /* bid.x/y/z: axis */
    VM_E_GDIM,   /* grid size gdim.x/y/z: axis */
    VM_E_VAR,    /* var: current value of a scalar Var */
    VM_E_UNARY,  /* sop a */
    VM_E_BINARY, /* a sop b */
    VM_E_SELECT, /* a ? b : c (a bool) */
    VM_E_CAST,   /* (dtype) a, cast rules of VM.md 3 */
} ExprKind;

/* A scalar expression; dtype is one of i32, i64, f32, bool. */
struct Expr {
    ExprKind kind;
    Dtype dtype;
    VmLoc loc;
    ScalarOp sop;
    int axis;
    int64_t ival;
    double fval;
    Param *param;
    Var *var;
    Expr *a, *b, *c;
};

/* Tensors. */
typedef enum { VM_REG, VM_SHARED, VM_GLOBAL } ValueKind;
typedef enum { VM_LAY_UNKNOWN, VM_LAY_EXPLICIT, VM_LAY_INFERRED } LayState;

struct Value {
    int id;            /* unique in the kernel: %id */
    const char *name;  /* source name or NULL */
    ValueKind kind;
    Dtype dtype;
    int rank;
    int32_t shape[VM_MAX_DIMS]; /* REG, SHARED */
    Expr **gshape;              /* GLOBAL: rank runtime sizes */
    Expr **gstride;             /* GLOBAL: strides in elements; NULL: row-major dense */
    Layout layout;              /* REG: valid unless lstate == VM_LAY_UNKNOWN */
    LayState lstate;
    SharedLayout slayout;       /* SHARED: valid when has_slayout */
    bool has_slayout, slayout_explicit;
    Inst *def;   /* defining instruction; NULL for params and vars */
    Param *param; /* GLOBAL parameter */
    Var *var;     /* non-NULL: this value reads the register Var's slot */
    VmLoc loc;
};

struct Var {
    int id;
    const char *name;
    bool scalar; /* scalar Var (Dtype i32/i64/f32/bool) or register Var */
    bool mut;    /* `var` (assignable) or `let`/loop variable/load_scalar */
    Dtype dtype;
    Value *val;  /* register Var: the operand reading it (shape, layout) */
    Inst *def;   /* VM_VAR_DEF, VM_FOR or VM_LOAD_SCALAR */
    VmLoc loc;
};

/* A window t[start : size, ...] of base (REG, SHARED or GLOBAL); rank is
 * base's rank. start NULL means 0. An index (drop[d]) has size 1 and the
 * dim is dropped from the result shape. Sizes are constants. */
typedef struct {
    Value *base;
    int rank;
    Expr *start[VM_MAX_DIMS];
    int32_t size[VM_MAX_DIMS];
    bool drop[VM_MAX_DIMS];
} Tile;
Tile vm_tile(Value *base); /* every dim whole (constant shapes) or size 0 (global: set it) */
void vm_tile_range(Tile *t, int d, Expr *start, int32_t size); /* t[start : size] */
void vm_tile_index(Tile *t, int d, Expr *i);                  /* t[i] (dim dropped) */
int vm_tile_shape(const Tile *t, int32_t *shape);              /* result shape; returns rank */

/* Instruction classes: how operands are typed and layouts inferred. */
typedef enum {
    VM_C_MEM,     /* memory access */
    VM_C_ALLOC,   /* shared/global tensor creation and release */
    VM_C_ASYNC,   /* commit, wait, sync */
    VM_C_VIEW,    /* bit reinterpretation */
    VM_C_UNARY,   /* elementwise, result dtype = operand's */
    VM_C_BINARY,  /* elementwise, broadcasting, same dtypes */
    VM_C_CMP,     /* elementwise comparison -> bool */
    VM_C_TERNARY, /* fma, where, cast (cast: unary with a new dtype) */
    VM_C_DOT,
    VM_C_REDUCE,  /* along one dim */
    VM_C_SHAPE,   /* register shape changes */
    VM_C_ATOMIC,  /* global atomics and semaphores */
    VM_C_CONST,   /* register constants */
    VM_C_DEBUG,
    VM_C_VAR,
    VM_C_CTRL,    /* structured control flow */
} InstClass;

/* THE instruction table. X(id, name, class, symbol, signature)
 *   symbol: infix operator of the language for binary/compare, prefix for
 *   unary (NULL: call syntax name(...)).
 *   signature "rr/aaa/mm/eee": which Inst slots the op uses - results
 *   (res, res2), tensor operands a[0..2], tiles mem[0..1], scalars e[0..2];
 *   R S G: a register/shared/global tensor or tile (required), r: an
 *   optional register operand, e: a scalar (required), o: optional, -:
 *   unused (must be empty). VAR_DEF/ASSIGN use a[0] for register vars and
 *   e[0] for scalar ones. The verifier checks every instruction against it.
 * Operand conventions (Inst fields): a[] register/shared/global operands in
 * order; mem[] tiles; e[] scalar expressions; res the result Value.
 * "R" register, "S" shared, "G" global tensor. */
#define VM_OPS(X)                                                                                  \
    /* ---- memory */                                                                              \
    /* res = mem[0] (G tile), masked by G's shape & mask (a[0]?), masked-off = other (a[1]?,       \
     * default 0) */                                                                               \
    X(LOAD_GLOBAL, "load_global", VM_C_MEM, NULL, "R-/rr-/G-/---")                                 \
    /* mem[0] (G tile) = a[0], masked by shape & mask (a[1]?); replicas write once */              \
    X(STORE_GLOBAL, "store_global", VM_C_MEM, NULL, "--/Rr-/G-/---")                               \
    /* res[i] = mem[0] at i except coord dim = start[dim] + a[0][i] (int R, broadcast to res);     \
     * masked, off-range 0 */                                                                      \
    X(GATHER, "gather", VM_C_MEM, NULL, "R-/R--/G-/---")                                           \
    /* scalar var = mem[0] (G, every dim an index), converted to var->dtype */                     \
    X(LOAD_SCALAR, "load_scalar", VM_C_MEM, NULL, "--/---/G-/---")                                 \
    /* res = mem[0] (S slice) */                                                                   \
    X(LOAD_SHARED, "load_shared", VM_C_MEM, NULL, "R-/---/S-/---")                                 \
    /* mem[0] (S slice) = a[0]; replicas write once */                                             \
    X(STORE_SHARED, "store_shared", VM_C_MEM, NULL, "--/R--/S-/---")                               \
    /* mem[0] (S slice) <- mem[1] (G tile, same shape, dtype), masked (a[0]?), zero-filled;        \
     * lands at the matching wait */                                                               \
    X(COPY_ASYNC, "copy_async", VM_C_MEM, NULL, "--/r--/SG/---")                                   \
    /* ---- allocation */                                                                          \
    /* res = S of dtype[shape], res->slayout (row-major unless given) */                           \
    X(SHARED_ALLOC, "shared_alloc", VM_C_ALLOC, NULL, "S-/---/--/---")                             \
    /* end of a[0]'s (S) lifetime */                                                               \
    X(SHARED_FREE, "shared_free", VM_C_ALLOC, NULL, "--/S--/--/---")                               \
    /* res = G of dtype over a[0]'s (G) bytes from byte e[0], res->gshape, res->gstride */         \
    X(GLOBAL_VIEW, "global_view", VM_C_ALLOC, NULL, "G-/G--/--/o--")                               \
    /* res = G of dtype[gshape], zeroed, one per launch shared by all blocks; top level only */    \
    X(WORKSPACE, "workspace", VM_C_ALLOC, NULL, "G-/---/--/---")                                   \
    /* ---- asynchronous copies and barriers */                                                    \
    /* close the group of copy_asyncs issued since the last commit */                              \
    X(COMMIT, "commit", VM_C_ASYNC, NULL, "--/---/--/---")                                         \
    /* wait until at most n committed groups are pending */                                        \
    X(WAIT, "wait", VM_C_ASYNC, NULL, "--/---/--/---")                                             \
    /* block barrier */                                                                            \
    X(SYNC, "sync", VM_C_ASYNC, NULL, "--/---/--/---")                                             \
    /* ---- reinterpretation and conversion */                                                     \
    /* res = a[0]'s per-thread local bits as dtype, in res's layout (same bits and threads per     \
     * thread) */                                                                                  \
    X(VIEW, "view", VM_C_VIEW, NULL, "R-/R--/--/---")                                              \
    /* res = a[0] converted to dtype (VM.md 3) */                                                  \
    X(CAST, "cast", VM_C_TERNARY, NULL, "R-/R--/--/---")                                           \
    /* ---- elementwise unary: res = f(a[0]) */                                                    \
    /* -x (ints wrap) */                                                                           \
    X(NEG, "neg", VM_C_UNARY, "-", "R-/R--/--/---")                                                \
    /* |x| (ints wrap) */                                                                          \
    X(ABS, "abs", VM_C_UNARY, NULL, "R-/R--/--/---")                                               \
    /* e^x, floats */                                                                              \
    X(EXP, "exp", VM_C_UNARY, NULL, "R-/R--/--/---")                                               \
    /* 2^x, floats */                                                                              \
    X(EXP2, "exp2", VM_C_UNARY, NULL, "R-/R--/--/---")                                             \
    /* ln x, floats */                                                                             \
    X(LOG, "log", VM_C_UNARY, NULL, "R-/R--/--/---")                                               \
    /* log2 x, floats */                                                                           \
    X(LOG2, "log2", VM_C_UNARY, NULL, "R-/R--/--/---")                                             \
    /* floats */                                                                                   \
    X(SQRT, "sqrt", VM_C_UNARY, NULL, "R-/R--/--/---")                                             \
    /* 1/sqrt(x), floats */                                                                        \
    X(RSQRT, "rsqrt", VM_C_UNARY, NULL, "R-/R--/--/---")                                           \
    /* floats */                                                                                   \
    X(SIN, "sin", VM_C_UNARY, NULL, "R-/R--/--/---")                                               \
    /* floats */                                                                                   \
    X(COS, "cos", VM_C_UNARY, NULL, "R-/R--/--/---")                                               \
    /* floats */                                                                                   \
    X(TANH, "tanh", VM_C_UNARY, NULL, "R-/R--/--/---")                                             \
    /* 1/(1+e^-x), floats */                                                                       \
    X(SIGMOID, "sigmoid", VM_C_UNARY, NULL, "R-/R--/--/---")                                       \
    /* x*sigmoid(x), floats */                                                                     \
    X(SILU, "silu", VM_C_UNARY, NULL, "R-/R--/--/---")                                             \
    /* bitwise not (ints), logical not (bool) */                                                   \
    X(NOT, "not", VM_C_UNARY, "~", "R-/R--/--/---")                                                \
    /* ---- elementwise binary: res = a[0] op a[1], broadcasting, same dtypes */                   \
    /* vm_binop ADD */                                                                             \
    X(ADD, "add", VM_C_BINARY, "+", "R-/RR-/--/---")                                               \
    /* vm_binop SUB */                                                                             \
    X(SUB, "sub", VM_C_BINARY, "-", "R-/RR-/--/---")                                               \
    /* vm_binop MUL */                                                                             \
    X(MUL, "mul", VM_C_BINARY, "*", "R-/RR-/--/---")                                               \
    /* vm_binop DIV (ints truncate, x/0 = 0) */                                                    \
    X(DIV, "div", VM_C_BINARY, "/", "R-/RR-/--/---")                                               \
    /* vm_binop REM */                                                                             \
    X(REM, "rem", VM_C_BINARY, "%", "R-/RR-/--/---")                                               \
    /* vm_binop MIN */                                                                             \
    X(MIN, "min", VM_C_BINARY, NULL, "R-/RR-/--/---")                                              \
    /* vm_binop MAX */                                                                             \
    X(MAX, "max", VM_C_BINARY, NULL, "R-/RR-/--/---")                                              \
    /* ints and bool */                                                                            \
    X(AND, "and", VM_C_BINARY, "&", "R-/RR-/--/---")                                               \
    /* ints and bool */                                                                            \
    X(OR, "or", VM_C_BINARY, "|", "R-/RR-/--/---")                                                 \
    /* ints and bool */                                                                            \
    X(XOR, "xor", VM_C_BINARY, "^", "R-/RR-/--/---")                                               \
    /* ints; >= width gives 0 */                                                                   \
    X(SHL, "shl", VM_C_BINARY, "<<", "R-/RR-/--/---")                                              \
    /* ints; arithmetic for signed */                                                              \
    X(SHR, "shr", VM_C_BINARY, ">>", "R-/RR-/--/---")                                              \
    /* -> bool */                                                                                  \
    X(EQ, "eq", VM_C_CMP, "==", "R-/RR-/--/---")                                                   \
    /* -> bool (NaN != NaN) */                                                                     \
    X(NE, "ne", VM_C_CMP, "!=", "R-/RR-/--/---")                                                   \
    /* -> bool */                                                                                  \
    X(LT, "lt", VM_C_CMP, "<", "R-/RR-/--/---")                                                    \
    /* -> bool */                                                                                  \
    X(LE, "le", VM_C_CMP, "<=", "R-/RR-/--/---")                                                   \
    /* -> bool */                                                                                  \
    X(GT, "gt", VM_C_CMP, ">", "R-/RR-/--/---")                                                    \
    /* -> bool */                                                                                  \
    X(GE, "ge", VM_C_CMP, ">=", "R-/RR-/--/---")                                                   \
    /* a[0]*a[1]+a[2], one rounding, broadcasting */                                               \
    X(FMA, "fma", VM_C_TERNARY, NULL, "R-/RRR/--/---")                                             \
    /* a[0] (bool) ? a[1] : a[2], broadcasting */                                                  \
    X(WHERE, "where", VM_C_TERNARY, NULL, "R-/RRR/--/---")                                         \
    /* ---- matrix product and reductions */                                                       \
    /* a[0][m,k] @ a[1][k,n] + a[2][m,n], accumulated in a[2]'s dtype */                           \
    X(DOT, "dot", VM_C_DOT, NULL, "R-/RRR/--/---")                                                 \
    /* sum of a[0] along dim (keepdim: size 1 kept) */                                             \
    X(REDUCE_SUM, "reduce_sum", VM_C_REDUCE, NULL, "R-/R--/--/---")                                \
    /* max along dim */                                                                            \
    X(REDUCE_MAX, "reduce_max", VM_C_REDUCE, NULL, "R-/R--/--/---")                                \
    /* min along dim */                                                                            \
    X(REDUCE_MIN, "reduce_min", VM_C_REDUCE, NULL, "R-/R--/--/---")                                \
    /* i32 index of the max along dim (first on ties) */                                           \
    X(ARGMAX, "argmax", VM_C_REDUCE, NULL, "R-/R--/--/---")                                        \
    /* res = k largest along dim, descending; res2 = their i32 indices (first on ties) */          \
    X(TOPK, "topk", VM_C_REDUCE, NULL, "RR/R--/--/---")                                            \
    /* inclusive prefix sum along dim, same shape */                                               \
    X(CUMSUM, "cumsum", VM_C_REDUCE, NULL, "R-/R--/--/---")                                        \
    /* ---- register shape changes */                                                              \
    /* a[0] expanded to shape (size-1 dims, leading dims added) */                                 \
    X(BROADCAST, "broadcast", VM_C_SHAPE, NULL, "R-/R--/--/---")                                   \
    /* same elements, row-major order, new shape */                                                \
    X(RESHAPE, "reshape", VM_C_SHAPE, NULL, "R-/R--/--/---")                                       \
    /* res dim d = a[0] dim perm[d] */                                                             \
    X(PERMUTE, "permute", VM_C_SHAPE, NULL, "R-/R--/--/---")                                       \
    /* swap the last two dims (rank >= 2) */                                                       \
    X(TRANSPOSE, "transpose", VM_C_SHAPE, NULL, "R-/R--/--/---")                                   \
    /* res = mem[0] (register tile) */                                                             \
    X(SLICE, "slice", VM_C_SHAPE, NULL, "R-/---/R-/---")                                           \
    /* a[0] then a[1] along dim (other dims equal) */                                              \
    X(CONCAT, "concat", VM_C_SHAPE, NULL, "R-/RR-/--/---")                                         \
    /* ---- global atomics and semaphores */                                                       \
    /* mem[0] (G tile) += a[0] atomically, masked by shape; replicas once */                       \
    X(ATOMIC_ADD, "atomic_add", VM_C_ATOMIC, NULL, "--/R--/G-/---")                                \
    /* spin until mem[0] (G element) == e[0], acquire */                                           \
    X(LOCK, "lock", VM_C_ATOMIC, NULL, "--/---/G-/e--")                                            \
    /* mem[0] (G element) = e[0], release, after the block's prior writes */                       \
    X(RELEASE, "release", VM_C_ATOMIC, NULL, "--/---/G-/e--")                                      \
    /* ---- register constants */                                                                  \
    /* res = dtype[shape] of 0 */                                                                  \
    X(ZEROS, "zeros", VM_C_CONST, NULL, "R-/---/--/---")                                           \
    /* res = dtype[shape] of e[0] cast to dtype (rank 0: a scalar operand) */                      \
    X(FULL, "full", VM_C_CONST, NULL, "R-/---/--/e--")                                             \
    /* res = dtype[n] with 0, 1, ..., n-1 (shape[0] = n) */                                        \
    X(ARANGE, "arange", VM_C_CONST, NULL, "R-/---/--/---")                                         \
    /* res = f32[shape] uniform in [0,1), counter-based on (seed e[0], offset e[1] + row-major     \
     * index) */                                                                                   \
    X(RAND, "rand", VM_C_CONST, NULL, "R-/---/--/ee-")                                             \
    /* ---- debugging (once per block) */                                                          \
    /* printf(str, eargs...) with scalar arguments */                                              \
    X(PRINTF, "printf", VM_C_DEBUG, NULL, "--/---/--/---")                                         \
    /* print a[0] (R) labelled str (may be NULL) */                                                \
    X(PRINT, "print", VM_C_DEBUG, NULL, "--/R--/--/---")                                           \
    /* fact e[0] for codegen; checked by the interpreter */                                        \
    X(ASSUME, "assume", VM_C_DEBUG, NULL, "--/---/--/e--")                                         \
    /* end the block now */                                                                        \
    X(EXIT, "exit", VM_C_CTRL, NULL, "--/---/--/---")                                              \
    /* ---- variables */                                                                           \
    /* declare var, initialized with a[0] (register) or e[0] (scalar) */                           \
    X(VAR_DEF, "var", VM_C_VAR, NULL, "--/r--/--/o--")                                             \
    /* var = a[0] (register) or e[0] (scalar); var->mut */                                         \
    X(ASSIGN, "assign", VM_C_VAR, NULL, "--/r--/--/o--")                                           \
    /* ---- structured control flow on uniform scalars */                                          \
    /* for var in range(e[0], e[1], e[2]) body: bounds evaluated once on entry; step != 0, its     \
     * sign picks the direction */                                                                 \
    X(FOR, "for", VM_C_CTRL, NULL, "--/---/--/eee")                                                \
    /* while e[0] body: e[0] evaluated before each iteration */                                    \
    X(WHILE, "while", VM_C_CTRL, NULL, "--/---/--/e--")                                            \
    /* if e[0] body else orelse */                                                                 \
    X(IF, "if", VM_C_CTRL, NULL, "--/---/--/e--")                                                  \
    /* leave the innermost for/while */                                                            \
    X(BREAK, "break", VM_C_CTRL, NULL, "--/---/--/---")                                            \
    /* next iteration of the innermost for/while */                                                \
    X(CONTINUE, "continue", VM_C_CTRL, NULL, "--/---/--/---")
typedef enum {
#define X(id, name, cls, sym, sig) VM_##id,
    VM_OPS(X)
#undef X
    VM_NOPS
} Op;

typedef struct {
    const char *name;
    InstClass cls;
    const char *sym;
    const char *sig; /* see VM_OPS */
} OpInfo;
extern const OpInfo vm_ops[VM_NOPS];
const char *vm_op_name(Op op);
Op vm_op_parse(const char *name); /* VM_NOPS if unknown */
/* VmBinop of a BINARY-class op (ADD..SHR); -1 for others */
int vm_op_binop(Op op);

typedef struct {
    Inst *first, *last;
} Block;

struct Inst {
    Op op;
    int id;
    VmLoc loc;
    Inst *next;            /* in its Block */
    Value *res, *res2;     /* results (res2: topk indices) */
    Value *a[3];           /* tensor operands (see the table); unused NULL */
    Tile mem[2];           /* tiles (see the table) */
    Expr *e[3];            /* scalar operands */
    Expr **eargs;          /* printf arguments */
    int neargs;
    Dtype dtype;           /* cast/view/const/alloc target dtype */
    int rank;              /* target shape: broadcast/reshape/const/shared_alloc */
    int32_t shape[VM_MAX_DIMS];
    int perm[VM_MAX_DIMS]; /* permute */
    int dim, k, n;         /* reduce/concat/gather/cumsum dim; topk k; wait n */
    bool keepdim;          /* reduce_*, argmax */
    const char *str;       /* printf format, print label */
    Var *var;              /* VAR_DEF, ASSIGN, FOR, LOAD_SCALAR */
    Block body, orelse;    /* FOR, WHILE, IF */
};
/* Every tensor operand of i (a[], tile bases) into out (<= 5); returns the
 * count. */
int vm_inst_operands(const Inst *i, Value **out);
/* NumPy broadcasting of two shapes; false (out still filled) if they clash. */
bool vm_broadcast_shape(int ra, const int32_t *sa, int rb, const int32_t *sb, int *rout,
                        int32_t *out);
bool vm_shape_eq(int ra, const int32_t *sa, int rb, const int32_t *sb);
int64_t vm_shape_numel(int rank, const int32_t *shape);
int vm_shape_str(int rank, const int32_t *shape, char *buf, size_t n); /* "[16, 64]" */
const char *vm_value_label(VmArena *a, const Value *v); /* its name, else %id */
/* Growable arrays in the arena: returns v, or a copy with *cap doubled when
 * n == *cap (the old copy stays in the arena). */
void *vm_grow(VmArena *a, void *v, int n, int *cap, size_t elem);

typedef enum { VM_P_SCALAR, VM_P_TENSOR } ParamKind;
struct Param {
    const char *name;
    ParamKind kind;
    Dtype dtype;     /* scalars: i32, i64, f32; tensors: element dtype */
    bool implicit;   /* shape identifier: i32 bound from a tensor argument's shape */
    int index;       /* position in kernel->params */
    int rank;        /* tensors */
    Expr **shape;    /* tensors: rank expressions over params and constants */
    Value *value;    /* tensors: the GLOBAL value */
    VmLoc loc;
};

struct Kernel {
    const char *name;
    VmLoc loc;
    Prog *prog;
    Param **params; /* creation order (a shape identifier usually precedes its tensor) */
    int nparams, cap_params;
    Expr *grid[3];
    int ngrid;      /* 1..3 */
    int warps;      /* 1..32: 32 * warps threads */
    Block body;
    Value **values; /* every Value (params, results, vars' values), by id */
    int nvalues, cap_values;
    Var **vars;     /* every Var, by id */
    int nvars, cap_vars;
    int ninsts;
    /* builder state */
    VmLoc cur_loc;
    Inst **open;    /* open control-flow instructions, innermost last */
    bool *in_else;
    int depth, cap_open;
};

struct Prog {
    VmArena *arena;
    Kernel **kernels;
    int nkernels, cap_kernels;
    bool layouts_done; /* set by vm_infer_layouts: every layout must be known */
};

/* ---------------------------------------------------------------- build.c
 * The builder: host programs, tests and the language front end make IR
 * through these. Instructions are appended at the cursor (the innermost open
 * block) with the current location (vm_set_loc). Builders never fail: a
 * result's type is computed best-effort and the verifier reports misuse.
 * Literal operands: wrap a scalar Expr with vm_b_scalar (rank-0 `full`). */
Prog *vm_prog_new(VmArena *a);
Kernel *vm_kernel_new(Prog *p, const char *name, VmLoc loc); /* warps 1, grid (1) */
Kernel *vm_prog_find(Prog *p, const char *name);
void vm_set_loc(Kernel *k, VmLoc loc);
void vm_set_grid(Kernel *k, int n, Expr *const *grid);
void vm_set_warps(Kernel *k, int warps);

Param *vm_param_scalar(Kernel *k, const char *name, Dtype dt);
Param *vm_param_dim(Kernel *k, const char *name); /* shape identifier: found or added (i32) */
Param *vm_param_tensor(Kernel *k, const char *name, Dtype dt, int rank, Expr *const *shape);
Param *vm_param_find(Kernel *k, const char *name);

Expr *vm_e_int(Kernel *k, Dtype dt, int64_t v); /* i32 or i64 */
Expr *vm_e_i32(Kernel *k, int64_t v);
Expr *vm_e_i64(Kernel *k, int64_t v);
Expr *vm_e_f32(Kernel *k, double v);
Expr *vm_e_bool(Kernel *k, bool v);
Expr *vm_e_param(Kernel *k, Param *p);
Expr *vm_e_bid(Kernel *k, int axis);
Expr *vm_e_gdim(Kernel *k, int axis);
Expr *vm_e_var(Kernel *k, Var *v);
Expr *vm_e_un(Kernel *k, ScalarOp op, Expr *a);
Expr *vm_e_bin(Kernel *k, ScalarOp op, Expr *a, Expr *b); /* dtype: a's, bool for compare/logic */
Expr *vm_e_select(Kernel *k, Expr *c, Expr *a, Expr *b);
Expr *vm_e_cast(Kernel *k, Dtype dt, Expr *a);
/* A constant's value: true when e folds to an integer (no params/vars/bid). */
bool vm_e_const_int(const Expr *e, int64_t *out);

/* Names and explicit layouts (annotations `@ layout`). */
void vm_set_name(Kernel *k, Value *v, const char *name);
void vm_set_layout(Value *v, Layout L); /* explicit; a view's result takes L's shape */
void vm_set_shared_layout(Value *v, SharedLayout s);

Value *vm_b_load_global(Kernel *k, Tile t, Value *mask, Value *other);
void vm_b_store_global(Kernel *k, Tile t, Value *v, Value *mask);
Value *vm_b_gather(Kernel *k, Tile t, Value *idx, int dim);
Var *vm_b_load_scalar(Kernel *k, const char *name, Tile t);
Value *vm_b_load_shared(Kernel *k, Tile t);
void vm_b_store_shared(Kernel *k, Tile t, Value *v);
void vm_b_copy_async(Kernel *k, Tile dst, Tile src, Value *mask);
Value *vm_b_shared_alloc(Kernel *k, Dtype dt, int rank, const int32_t *shape,
                         const SharedLayout *s /* NULL: row-major */);
void vm_b_shared_free(Kernel *k, Value *s);
Value *vm_b_global_view(Kernel *k, Value *g, Expr *byte_offset, Dtype dt, int rank,
                        Expr *const *shape, Expr *const *strides /* NULL: row-major */);
Value *vm_b_workspace(Kernel *k, Dtype dt, int rank, Expr *const *shape);
void vm_b_commit(Kernel *k);
void vm_b_wait(Kernel *k, int n);
void vm_b_sync(Kernel *k);
Value *vm_b_view(Kernel *k, Value *x, Dtype dt, const Layout *L /* NULL: same layout */);
Value *vm_b_cast(Kernel *k, Value *x, Dtype dt);
Value *vm_b_unary(Kernel *k, Op op, Value *x);
Value *vm_b_binary(Kernel *k, Op op, Value *x, Value *y); /* BINARY and CMP ops */
Value *vm_b_fma(Kernel *k, Value *a, Value *b, Value *c);
Value *vm_b_where(Kernel *k, Value *c, Value *a, Value *b);
Value *vm_b_dot(Kernel *k, Value *a, Value *b, Value *c);
Value *vm_b_reduce(Kernel *k, Op op, Value *x, int dim, bool keepdim); /* REDUCE_*, ARGMAX */
Value *vm_b_topk(Kernel *k, Value *x, int kk, int dim, Value **indices);
Value *vm_b_cumsum(Kernel *k, Value *x, int dim);
Value *vm_b_broadcast(Kernel *k, Value *x, int rank, const int32_t *shape);
Value *vm_b_reshape(Kernel *k, Value *x, int rank, const int32_t *shape);
Value *vm_b_permute(Kernel *k, Value *x, const int *perm);
Value *vm_b_transpose(Kernel *k, Value *x);
Value *vm_b_slice(Kernel *k, Tile t);
Value *vm_b_concat(Kernel *k, Value *x, Value *y, int dim);
void vm_b_atomic_add(Kernel *k, Tile t, Value *v);
void vm_b_lock(Kernel *k, Tile t, Expr *v);
void vm_b_release(Kernel *k, Tile t, Expr *v);
Value *vm_b_zeros(Kernel *k, Dtype dt, int rank, const int32_t *shape);
Value *vm_b_full(Kernel *k, Dtype dt, int rank, const int32_t *shape, Expr *v);
Value *vm_b_scalar(Kernel *k, Dtype dt, Expr *v); /* full(dt[], v) */
Value *vm_b_arange(Kernel *k, Dtype dt, int n);
Value *vm_b_rand(Kernel *k, int rank, const int32_t *shape, Expr *seed, Expr *offset);
void vm_b_printf(Kernel *k, const char *fmt, int n, Expr *const *args);
void vm_b_print(Kernel *k, const char *label, Value *x);
void vm_b_assume(Kernel *k, Expr *cond);
void vm_b_exit(Kernel *k);
Var *vm_b_var(Kernel *k, const char *name, Value *init);          /* register `var` */
Var *vm_b_svar(Kernel *k, const char *name, Expr *init, bool mut); /* scalar var / let */
void vm_b_assign(Kernel *k, Var *v, Value *x);
void vm_b_sassign(Kernel *k, Var *v, Expr *x);
/* A snapshot of a register Var's current contents (`let old = acc`): var->val
 * itself always reads the slot's latest value, so a later assignment would
 * show through it. Emitted as broadcast(v->val, its own shape), a copy. */
Value *vm_b_read(Kernel *k, Var *v);
/* Control flow: open with for/while/if, vm_b_else once for an if, close
 * with vm_b_end. vm_b_for returns the loop variable. */
Var *vm_b_for(Kernel *k, const char *name, Expr *start, Expr *end, Expr *step);
void vm_b_while(Kernel *k, Expr *cond);
void vm_b_if(Kernel *k, Expr *cond);
void vm_b_else(Kernel *k);
void vm_b_end(Kernel *k);
void vm_b_break(Kernel *k);
void vm_b_continue(Kernel *k);

/* ---------------------------------------------------------------- print.c
 * The IR printer: prints the kernel language (lang/README.md): a concrete Prog as canonical source, every layout
 * explicit; lang_compile of the text gives a program that prints the same.
 * malloc'd; the caller frees. */
char *vm_print(const Prog *p);
char *vm_print_kernel(const Kernel *k);

/* ---------------------------------------------------------------- verify.c
 * Checks a whole program; appends one diagnostic per problem (with the
 * instruction's location) and returns true when there is none. Before
 * inference unknown register layouts are allowed; after (prog->layouts_done)
 * every layout must be known. */
bool vm_verify(Prog *p, VmDiags *d);

/* ---------------------------------------------------------------- infer.c
 * Layout inference (VM.md 4.3): fills every unknown register layout and
 * every missing shared layout (row-major), or reports where it cannot
 * ("layout of 'x' is unknown: annotate it with @ layout", "conflicting
 * layouts for 'x' at add: ..."). Explicit layouts are never changed. Rules
 * (a fixpoint; infer.c has the details): elementwise ops, casts, masks and
 * var assignments share one layout, broadcast operands get it reduced over
 * their broadcast dims; reductions reduce; reshape/permute/transpose map;
 * dot ties only its result to C (mma fragments come from annotations); a
 * view is never inferred across. Unconstrained loads and constants get
 * vm_default_layout. Sets prog->layouts_done on success. */
bool vm_infer_layouts(Prog *p, VmDiags *d);
/* The coalesced default of a tensor nobody constrains: 16 bytes per thread
 * along the last dim where the shape allows, threads from the innermost dim
 * outward, the rest local, leftover threads replicated (outermost). */
LayStatus vm_default_layout(Layout *out, const int32_t *shape, int rank, Dtype dt,
                            int nthreads);

/* ================================================================ interp
 * The interpreter (VM.md 7): the reference semantics and the oracle every
 * GPU result is compared with. interp.c runs blocks and control flow,
 * interp_expr.c scalar expressions, interp_mem.c global/shared memory,
 * asynchronous copies, atomics and the race checks, interp_ops.c compute and
 * shape instructions. The rules each file implements are at its top. */

/* One launch argument per explicit (non-implicit) Param, in kernel->params
 * order. A tensor is host memory holding the dense bit stream of VM.md 3
 * (nbytes == ceil(numel * bits / 8) of the Param's dtype); its shape binds
 * the Param's bare shape identifiers and is checked against the others. A
 * scalar takes i (i32, i64) or f (f32, rounded to nearest even). */
typedef struct {
    ParamKind kind;
    void *data;
    size_t nbytes;
    int rank;
    int64_t shape[VM_MAX_DIMS];
    int64_t i;
    double f;
} VmArg;
VmArg vm_arg_tensor(void *data, size_t nbytes, int rank, const int64_t *shape);
VmArg vm_arg_int(int64_t v);
VmArg vm_arg_float(double v);

/* printf/print output: a growable malloc'd string (NUL-terminated). */
typedef struct {
    char *s;
    size_t n, cap;
} VmText;
void vm_text_append(VmText *t, const char *s, size_t n);
void vm_text_free(VmText *t);

#define VM_INTERP_MAX_STEPS 1000000000ull
typedef struct {
    /* printf/print output goes to out(out_ctx, ...), else appended to text,
     * else nowhere; the library never prints by itself. */
    void (*out)(void *ctx, const char *s, size_t n);
    void *out_ctx;
    VmText *text;
    uint64_t max_steps; /* instructions and loop iterations per block;
                         * 0: VM_INTERP_MAX_STEPS */
} VmInterpOptions;

/* Runs every block of k's grid on the arguments (opt may be NULL). Returns
 * false when a check fails, with the fault in *faults at the instruction's
 * or parameter's location (one fault; a rejected shared-memory plan may add
 * several); memory written before the fault stays written. An empty grid
 * runs nothing and succeeds. */
bool vm_interp_launch(Kernel *k, const VmArg *args, int nargs, const VmInterpOptions *opt,
                      VmDiags *faults);

/* interp_bind.c: launch-time binding for the GPU path (tensor data may be
 * NULL there): checks the arguments and shapes as the interpreter does and
 * the top-level assumes over parameters only, then gives every Param's
 * value in vals[param index] (i32/i64 scalars and shape identifiers as
 * integers, f32 scalars as their IEEE bits, tensors 0) and the grid.
 * vm_eval_bound evaluates an integer expression over parameters, the grid
 * size and constants with those values (false when it reads bid, a
 * variable or is f32). */
bool vm_launch_bind(Kernel *k, const VmArg *args, int nargs, int64_t *vals, int64_t grid[3],
                    VmDiags *d);
bool vm_eval_bound(Kernel *k, const int64_t *vals, const Expr *e, int64_t *out);

/* interp_mem.c: the shared-memory plan both executors use. Walking the
 * program in order, shared_alloc takes the next 128-byte aligned offset above
 * the live allocations, shared_free releases (a stack: space is reused once
 * everything above it is freed); a loop or branch body must free what it
 * allocates. offset[value id] is the byte offset of each shared_alloc result
 * (-1 for other values); size is the peak. */
enum { VM_SHARED_ALIGN = 128 };
typedef struct {
    int64_t *offset; /* k->nvalues entries, in the arena */
    int64_t size;
} VmSharedPlan;
bool vm_shared_plan(Kernel *k, VmArena *a, VmSharedPlan *plan, VmDiags *d);
/* The shared layout a SHARED value lives in: its own, else row-major. */
LayStatus vm_shared_layout_of(const Value *v, SharedLayout *out);

/* interp_ops.c: rand's counter-based generator, bit-exact on both
 * executors: z = splitmix64(seed * 0x9E3779B97F4A7C15 + counter) (the
 * finalizer of Steele et al. with increment 0x9E3779B97F4A7C15), value =
 * (z >> 40) * 2^-24, in [0, 1). */
float vm_rand_f32(uint64_t seed, uint64_t counter);

#endif

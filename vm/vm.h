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
#define X(id, name, bits, kind, e, m) VM_##id,
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

/* Value properties as doubles (exact for every dtype except 64-bit ints). */
double vm_dtype_min(Dtype dt);           /* most negative finite value */
double vm_dtype_max(Dtype dt);           /* largest finite value */
double vm_dtype_min_subnormal(Dtype dt); /* smallest positive value (1 for ints) */
double vm_dtype_max_exact_int(Dtype dt); /* every integer in [-v, v] is exact */

/* A value of dtype dt is carried as its code: the dt's bits, zero-extended
 * into a uint64_t (bool: 0 or 1; f64: the IEEE bits). */
typedef uint64_t Code;

/* Decoding and encoding. vm_decode is exact for floats and ints of <= 53
 * bits; vm_encode rounds to nearest even with the cast rules of VM.md 3. */
double vm_decode(Dtype dt, Code c);
Code vm_encode(Dtype dt, double v);
int64_t vm_decode_int(Dtype dt, Code c);   /* integer dtypes, exact */
uint64_t vm_decode_uint(Dtype dt, Code c); /* unsigned dtypes, exact */
Code vm_canonical_nan(Dtype dt);           /* 0 if the dtype has no NaN */

/* cast: exact conversion with the rules of VM.md section 3 (round to nearest
 * even, saturation, canonical NaN, no double rounding). */
Code vm_cast(Dtype to, Dtype from, Code c);

/* Arithmetic with VM.md section 3 rules: integers wrap modulo 2^n, shifts
 * past the width give 0 or the sign fill, narrow floats compute in f32 and
 * round back, f16/bf16/f32/f64 follow IEEE (f16/bf16 computed exactly then
 * rounded once). Division by zero of integers gives 0 (documented). */
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
Code vm_fma(Dtype dt, Code a, Code b, Code c); /* a*b+c, one rounding */

/* Bit streams (VM.md 3, memory image): element i of an n-bit tensor occupies
 * bits [i*n, (i+1)*n) counted from the base byte, least significant first. */
Code vm_bits_get(const uint8_t *base, uint64_t bit_offset, int width);
void vm_bits_set(uint8_t *base, uint64_t bit_offset, int width, Code v);
void vm_pack(uint8_t *dst, uint64_t dst_bit, const Code *src, size_t n, int width);
void vm_unpack(Code *dst, const uint8_t *src, uint64_t src_bit, size_t n, int width);
size_t vm_packed_bytes(Dtype dt, size_t numel); /* ceil(numel*bits/8) */

#endif

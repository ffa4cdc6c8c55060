/* layout/layout.h - the algebra of register and shared layouts (VM.md 4).
 *
 * Layouts are values: plain fixed-size structs, copied by value, compared
 * with lay_eq and hashed with lay_hash after canonicalization. No heap, no
 * closures. Failure is a value (LayStatus / bool), never an abort.
 *
 * Layering: layout/ depends on nothing else in lpvm. */
#ifndef LPVM_LAYOUT_H
#define LPVM_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LAY_MAX_DIMS = 8, LAY_MAX_MODES = 24 };

/* ------------------------------------------------------- register.c, divide.c
 * A register layout of a tensor of shape s (rank r) for T threads with n local
 * elements each: L(t, l) -> index, onto every index (VM.md 4.1).
 *
 * Representation (canonical form kept by every constructor/operation):
 *   shape[r];
 *   modes: each dim d is split into modes, listed major to minor, dims in
 *     order; mode_size[i], mode_dim[i];
 *   spatial[]: the thread modes, outermost first; an entry >= 0 is a mode
 *     index, an entry < 0 is a replication mode of size -entry;
 *   local[]:   the local modes, outermost first (mode indices).
 *   Canonical: no size-1 modes; modes adjacent in their dim and in the same
 *   order list (spatial or local) are merged; unused entries zero. */
typedef struct {
    int8_t rank, nmodes, nspatial, nlocal;
    int32_t shape[LAY_MAX_DIMS];
    int32_t mode_size[LAY_MAX_MODES];
    int8_t mode_dim[LAY_MAX_MODES];
    int32_t spatial[LAY_MAX_MODES];
    int8_t local[LAY_MAX_MODES];
} Layout;

/* Extents (every dim, T and n) are at most LAY_MAX_EXTENT; beyond: LAY_ERR_SHAPE. */
#define LAY_MAX_EXTENT (1 << 30)
#define LAY_STATUS(X)                                                              \
    X(LAY_OK, "ok")                                                                \
    X(LAY_ERR_RANK, "too many dims or modes for the fixed capacity")               \
    X(LAY_ERR_SHAPE, "shapes do not fit the operation")                            \
    X(LAY_ERR_DIVIDE, "the divisor is not a factor of the layout")                 \
    X(LAY_ERR_PARSE, "malformed layout expression")
typedef enum {
#define X(e, s) e,
    LAY_STATUS(X)
#undef X
} LayStatus;
const char *lay_status_str(LayStatus s);

/* Primitives (row-major; column_* order their dims column-major). */
LayStatus lay_local(Layout *out, int rank, const int *dims);
LayStatus lay_spatial(Layout *out, int rank, const int *dims);
LayStatus lay_column_local(Layout *out, int rank, const int *dims);
LayStatus lay_column_spatial(Layout *out, int rank, const int *dims);
LayStatus lay_replicate(Layout *out, int r);
/* The raw constructor (what the literal layout(...) parses to): modes listed
 * dims in order, major to minor (mode_dim nondecreasing, sizes multiplying to
 * the shape); spatial entries >= 0 are modes, < 0 replication of size -entry;
 * every mode once in spatial or local. Canonicalizes; LAY_ERR_SHAPE if
 * inconsistent. */
LayStatus lay_literal(Layout *out, int rank, const int *shape, int nmodes,
                      const int *mode_size, const int *mode_dim, int nspatial,
                      const int *spatial, int nlocal, const int *local);
/* Validate and bring any hand-built Layout to canonical form. */
LayStatus lay_canon(Layout *L);

int lay_num_threads(Layout L); /* T */
int lay_local_size(Layout L);  /* n */
int64_t lay_numel(Layout L);
bool lay_eq(Layout a, Layout b);
uint64_t lay_hash(Layout L);

/* A * B: Kronecker product, A outer, B inner (shorter shape padded left). */
LayStatus lay_product(Layout *out, Layout a, Layout b);
/* divide(A, B) = Q with A == Q * B; left_divide(A, B) = Q with A == B * Q;
 * Q has A's rank; LAY_ERR_DIVIDE when there is none (modes are refined by
 * divisibility: a mode of 12 splits 3 x 4 or 4 x 3 to match). */
LayStatus lay_divide(Layout *q, Layout a, Layout b);
LayStatus lay_left_divide(Layout *q, Layout a, Layout b);
/* drop (or keep as size 1) dims (negative counts from the end); spatial
 * modes on them become replication, local modes on them disappear. */
LayStatus lay_reduce(Layout *out, Layout L, int ndims, const int *dims, bool keepdim);
LayStatus lay_permute(Layout *out, Layout L, const int *perm);
/* reshape is row-major; LAY_ERR_SHAPE if the sizes differ, LAY_ERR_DIVIDE if a
 * new dim boundary cuts a mode it does not divide. flatten: to rank 1. */
LayStatus lay_reshape(Layout *out, Layout L, int rank, const int *shape);
LayStatus lay_flatten(Layout *out, Layout L);
/* k equal layouts side by side along a new leading dim:
 * local(k, 1, .., 1) * L with L's shape prefixed by 1 (else LAY_ERR_SHAPE). */
LayStatus lay_stack(Layout *out, int n, const Layout *ls);

/* apply: the index held by thread t in [0, T) at local l in [0, n); idx gets
 * rank entries. */
void lay_apply(Layout L, int t, int l, int32_t *idx);
/* owners: every (t, l) holding idx, in increasing (t, l); returns the count
 * (up to cap written; 0 for an index outside the shape). */
int lay_owners(Layout L, const int32_t *idx, int *t, int *l, int cap);

/* Symbolic apply (codegen): for a constant local index l, coordinate d is
 *   constant + sum_k ((t / div[k]) % mod[k]) * mul[k],
 * one term per spatial mode on d, outermost first; mod[k] == 0 means no
 * modulo (t / div[k] < that mode's size for every t < T). */
enum { LAY_MAX_TERMS = LAY_MAX_MODES };
typedef struct {
    int nterms;
    int32_t constant;
    int32_t div[LAY_MAX_TERMS], mod[LAY_MAX_TERMS], mul[LAY_MAX_TERMS];
} LayAffine;
void lay_symbolic_apply(Layout L, int l, LayAffine *coord /* [rank] */);
/* How many consecutive local elements, starting at local l, map to
 * consecutive indices along dim (the other coordinates fixed). */
int lay_contiguity(Layout L, int dim, int l);

/* ------------------------------------------------------- print.c / parse.c
 * Printing: a product of primitives where it is one, else the raw literal
 * layout(shape=[..], modes=[..], spatial=[..], local=[..]) (grammar in
 * print.c). Both parse back to an equal layout. lay_print returns the length
 * that would be written (snprintf convention). lay_parse reports the failing
 * column (1-based; 0 on success) in *errpos and a message in err; *out is
 * written only on success; any pointer but s may be NULL. */
int lay_print(Layout L, char *buf, size_t n);
LayStatus lay_parse(const char *s, Layout *out, int *errpos, char *err, size_t errn);
/* picture.c: a grid of the (rank <= 2, else leading dims as rows) tensor,
 * each cell "t:l" of its lowest owner, "*R" appended when R threads hold it
 * (snprintf convention). */
int lay_picture(Layout L, char *buf, size_t n);

/* ------------------------------------------------------- shared.c
 * A shared layout (VM.md 4.2): a constant-shape tile of elem_bits-bit
 * elements at byte offset
 *   swizzle(sum(idx[d] * stride[d]) * elem_bits / 8),   strides in elements,
 *   Swizzle(bits, base, shift)(x) = x ^ ((x >> shift) & (((1 << bits) - 1) << base))
 * on byte offsets (bits == 0: none). A valid swizzle has shift >= bits and
 * 2^base bytes >= one element, and needs a power-of-two element width.
 * Values; every constructor keeps the canonical form (unused entries zero,
 * size derived), so lay_shared_eq is field by field. Invalid shapes, widths
 * or swizzles fail with LAY_ERR_SHAPE (LAY_ERR_RANK for the rank).
 * Text: shared(shape=[64,64], strides=[64,1], bits=16, swizzle=(3,4,3)). */
typedef struct {
    int8_t bits, base, shift;
} LaySwizzle;
typedef struct {
    int8_t rank, elem_bits;          /* elem_bits in 1..64 */
    LaySwizzle swizzle;
    int32_t shape[LAY_MAX_DIMS];
    int32_t stride[LAY_MAX_DIMS];    /* in elements; >= 0 */
    int64_t size;                    /* bytes spanned; a multiple of 2^(base+bits) if swizzled */
} SharedLayout;

int64_t lay_swizzle_apply(LaySwizzle s, int64_t x);
LayStatus lay_shared_make(SharedLayout *out, int rank, const int *shape, const int *strides,
                          int elem_bits, LaySwizzle swz);
LayStatus lay_shared_row_major(SharedLayout *out, int rank, const int *shape, int elem_bits);
LayStatus lay_shared_column_major(SharedLayout *out, int rank, const int *shape, int elem_bits);
/* row-major, each row (last dim) followed by pad_elems unused elements */
LayStatus lay_shared_padded(SharedLayout *out, int rank, const int *shape, int elem_bits,
                            int pad_elems);
/* row-major with the 16-byte chunk index XORed with row mod 8: ldmatrix and
 * 16-byte cp.async conflict-free. Row bytes must be 16 * 2^k (see shared.c). */
LayStatus lay_shared_swizzled_row_major(SharedLayout *out, int rank, const int *shape,
                                        int elem_bits);
/* offsets of an in-range index; -1 when out of range */
int64_t lay_shared_offset(SharedLayout s, const int32_t *idx);     /* bytes */
int64_t lay_shared_bit_offset(SharedLayout s, const int32_t *idx); /* bits (sub-byte) */
int64_t lay_shared_size(SharedLayout s);
bool lay_shared_eq(SharedLayout a, SharedLayout b);
uint64_t lay_shared_hash(SharedLayout s);
int lay_shared_print(SharedLayout s, char *buf, size_t n); /* snprintf convention */
/* *errpos: the 1-based column of the error (0 on success), as lay_parse */
LayStatus lay_shared_parse(const char *s, SharedLayout *out, int *errpos, char *err, size_t errn);

/* ------------------------------------------------------- hw.c
 * Hardware fragments (PTX-FACTS.md) as ordinary register layouts over one warp
 * (32 threads = lanes). Local index i is the fragment's element i: registers in
 * order, within a b32 register the low element first. One table: name (the
 * id LAY_HW_<name>, the constructor lay_<name>), element bits, then three
 * primitive factors (kind, d0, d1), outer first.
 * ldmatrix layouts are of the tile as stored in shared memory (rows = the 8
 * rows of 16 bytes whose addresses lanes 8j..8j+7 give for matrix j; register
 * j = matrix j):
 *   x1      8x8    matrix 0
 *   x2      8x16   matrices side by side (cols 8j..): a stored n x k tile,
 *                  whose transpose is the mma B fragment (k halves)
 *   x4      16x16  matrix j at rows 8*(j&1), cols 8*(j>>1): the mma A fragment
 *   *_trans the same tiles as stored k x n (x2: 16x8 stacked, matrix j at
 *           rows 8j = the mma B fragment; x4: matrix j at rows 8*(j&1), cols
 *           8*(j>>1) = two B fragments, n 0..7 then n 8..15); 16-bit only
 *   *_b8    8-bit elements, four per register, 16 bytes per matrix row: x4 is
 *           the m16n8k32 A fragment, x2 (8x32, n x k) the transposed k32 B */
typedef enum {
    LAY_PRIM_NONE,
    LAY_PRIM_LOCAL,
    LAY_PRIM_SPATIAL,
    LAY_PRIM_COLUMN_LOCAL,
    LAY_PRIM_COLUMN_SPATIAL,
} LayPrim;

#define LAY_HW_ATOMS(X)                                                                   \
    X(mma_m16n8k16_a, 16, COLUMN_LOCAL, 2, 2, SPATIAL, 8, 4, LOCAL, 1, 2)                   \
    X(mma_m16n8k16_b, 16, LOCAL, 2, 1, COLUMN_SPATIAL, 4, 8, LOCAL, 2, 1)                   \
    X(mma_m16n8k16_c, 32, LOCAL, 2, 1, SPATIAL, 8, 4, LOCAL, 1, 2)                          \
    X(mma_m16n8k32_a, 8, COLUMN_LOCAL, 2, 2, SPATIAL, 8, 4, LOCAL, 1, 4)                    \
    X(mma_m16n8k32_b, 8, LOCAL, 2, 1, COLUMN_SPATIAL, 4, 8, LOCAL, 4, 1)                    \
    X(mma_m16n8k32_c, 32, LOCAL, 2, 1, SPATIAL, 8, 4, LOCAL, 1, 2)                          \
    X(ldmatrix_x1, 16, NONE, 1, 1, SPATIAL, 8, 4, LOCAL, 1, 2)                              \
    X(ldmatrix_x2, 16, LOCAL, 1, 2, SPATIAL, 8, 4, LOCAL, 1, 2)                             \
    X(ldmatrix_x4, 16, COLUMN_LOCAL, 2, 2, SPATIAL, 8, 4, LOCAL, 1, 2)                      \
    X(ldmatrix_x1_trans, 16, NONE, 1, 1, COLUMN_SPATIAL, 4, 8, LOCAL, 2, 1)                 \
    X(ldmatrix_x2_trans, 16, LOCAL, 2, 1, COLUMN_SPATIAL, 4, 8, LOCAL, 2, 1)                \
    X(ldmatrix_x4_trans, 16, COLUMN_LOCAL, 2, 2, COLUMN_SPATIAL, 4, 8, LOCAL, 2, 1)         \
    X(ldmatrix_x1_b8, 8, NONE, 1, 1, SPATIAL, 8, 4, LOCAL, 1, 4)                            \
    X(ldmatrix_x2_b8, 8, LOCAL, 1, 2, SPATIAL, 8, 4, LOCAL, 1, 4)                           \
    X(ldmatrix_x4_b8, 8, COLUMN_LOCAL, 2, 2, SPATIAL, 8, 4, LOCAL, 1, 4)

typedef enum {
#define X(name, ...) LAY_HW_##name,
    LAY_HW_ATOMS(X)
#undef X
    LAY_HW_COUNT
} LayHw;

#define X(name, ...) LayStatus lay_##name(Layout *out);
LAY_HW_ATOMS(X)
#undef X
LayStatus lay_hw(Layout *out, LayHw h);
const char *lay_hw_name(LayHw h);  /* "mma_m16n8k16_a" */
int lay_hw_elem_bits(LayHw h);     /* element bits the atom is defined for
                                      (C/D: 32; an f16 C has the same layout) */
bool lay_hw_lookup(const char *name, LayHw *h);
/* ldmatrix: the (row, col) of the stored tile whose 16-byte row address lane
 * gives; false for lanes whose address the instruction ignores or non-ldmatrix h */
bool lay_ldmatrix_row(LayHw h, int lane, int32_t rc[2]);

/* A block tile of one operand: spatial(warps_m, warps_n) * local(repeat_m,
 * repeat_n) * atom, i.e. warp (wm, wn) (warp index wm * warps_n + wn) owns the
 * contiguous warp tile of repeat x atom at (wm, wn), and each thread's local
 * elements run over the repeats (outer) then the atom's elements (inner). */
LayStatus lay_mma_tile(Layout *out, Layout atom, int warps_m, int warps_n, int repeat_m,
                       int repeat_n);
/* All three operands of dot(A[m,k], B[k,n], C[m,n]) for warps (warps_m x
 * warps_n, row-major warp index) and per-warp repeats (m, n, k): A is
 * replicated over the warps along n, B over the warps along m. k = 16 or 32
 * picks m16n8k16 (16-bit operands) or m16n8k32 (8-bit). */
typedef struct {
    Layout a, b, c;
} LayMma;
LayStatus lay_mma_block(LayMma *out, int k, int warps_m, int warps_n, int repeat_m,
                        int repeat_n, int repeat_k);

#endif

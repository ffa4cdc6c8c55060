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

/* ------------------------------------------------------- register.c
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

typedef enum {
    LAY_OK = 0,
    LAY_ERR_RANK,      /* too many dims / modes for the fixed capacity */
    LAY_ERR_SHAPE,     /* shapes do not fit the operation */
    LAY_ERR_DIVIDE,    /* the divisor is not a factor of the layout */
    LAY_ERR_PARSE,     /* malformed layout expression */
} LayStatus;
const char *lay_status_str(LayStatus s);

/* Primitives (row-major; column_* order their dims column-major). */
LayStatus lay_local(Layout *out, int rank, const int *dims);
LayStatus lay_spatial(Layout *out, int rank, const int *dims);
LayStatus lay_column_local(Layout *out, int rank, const int *dims);
LayStatus lay_column_spatial(Layout *out, int rank, const int *dims);
LayStatus lay_replicate(Layout *out, int r);

int lay_num_threads(Layout L); /* T */
int lay_local_size(Layout L);  /* n */
int64_t lay_numel(Layout L);
bool lay_eq(Layout a, Layout b);
uint64_t lay_hash(Layout L);

/* A * B: Kronecker product, A outer, B inner (shorter shape padded left). */
LayStatus lay_product(Layout *out, Layout a, Layout b);
/* divide(A, B) = Q with A == Q * B; left_divide(A, B) = Q with A == B * Q. */
LayStatus lay_divide(Layout *q, Layout a, Layout b);
LayStatus lay_left_divide(Layout *q, Layout a, Layout b);
/* drop (or keep as size 1) dims; spatial modes on them become replication */
LayStatus lay_reduce(Layout *out, Layout L, int ndims, const int *dims, bool keepdim);
LayStatus lay_permute(Layout *out, Layout L, const int *perm);
LayStatus lay_reshape(Layout *out, Layout L, int rank, const int *shape);
LayStatus lay_flatten(Layout *out, Layout L);
LayStatus lay_stack(Layout *out, int n, const Layout *ls); /* same layout side by side in a new leading dim? see register.c */

/* apply: the index held by thread t at local l; idx gets rank entries. */
void lay_apply(Layout L, int t, int l, int32_t *idx);
/* owners: every (t, l) holding idx, in increasing (t, l); returns the count
 * (up to cap written). */
int lay_owners(Layout L, const int32_t *idx, int *t, int *l, int cap);

/* Symbolic apply (codegen): for a constant local index l, coordinate d is
 *   constant + sum_k ((t / div[k]) % mod[k]) * mul[k]. */
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
 * layout(shape=[..], modes=[..], spatial=[..], local=[..]). Both parse back
 * to an equal layout. lay_print returns the length that would be written
 * (snprintf convention). lay_parse reports the failing column in *errpos
 * and a message in err. */
int lay_print(Layout L, char *buf, size_t n);
LayStatus lay_parse(const char *s, Layout *out, int *errpos, char *err, size_t errn);

#endif

/* tools/npy.h - NumPy .npy files for the command line (`lpvm run`):
 * tensors cross the command line as .npy, bf16 and f8 as raw u16/u8 bits,
 * packed sub-byte tensors as 1-D u8 arrays (VM.md 3). */
#ifndef LPVM_TOOLS_NPY_H
#define LPVM_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

enum { NPY_MAX_DIMS = 8 };

typedef struct {
    char kind;     /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
    int itemsize;  /* bytes per element */
    int rank;
    int64_t shape[NPY_MAX_DIMS];
    size_t nbytes;
    uint8_t *data; /* malloc'd, little-endian, C order */
} Npy;

/* Each returns 0 on success, else -1 with a message in err ("x.npy: ..."). */
int npy_load(const char *path, Npy *out, char *err, size_t errn);
int npy_parse(const uint8_t *buf, size_t len, const char *name, Npy *out, char *err, size_t errn);
int npy_save(const char *path, const Npy *a, char *err, size_t errn);
void npy_free(Npy *a);
int64_t npy_numel(const Npy *a);
/* The lpvm dtype name of a NumPy element type ("f16", "u8", ...), or NULL. */
const char *npy_dtype_name(const Npy *a);
/* The NumPy kind/itemsize for an lpvm dtype stored whole (bf16 -> u2,
 * f8* -> u1, f16 -> f2, ...); packed sub-byte dtypes -> u1 bytes. */
void npy_kind_for(const char *dtype, int bits, char *kind, int *itemsize);

#endif

/* lpvm.h - the public C API of lpvm, a virtual machine for low-precision GPU
 * kernels. This is the only public header: liblpvm.so exports lpvm_* and
 * nothing else (libLLVM and every internal module are hidden inside it).
 *
 * Conventions
 *  - Every fallible call returns an lpvm_status; LPVM_OK is 0.
 *  - Strings the library returns through `char **` are malloc'd and freed
 *    with lpvm_free(). On failure such an out-string holds the error
 *    message (file:line:col: error: ..., with the source line and a caret
 *    for language errors) when the call documents it.
 *  - The library never prints, never exits and never aborts on user input. */
#ifndef LPVM_H
#define LPVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LPVM_API __attribute__((visibility("default")))

typedef enum {
    LPVM_OK = 0,
    LPVM_ERR_INVALID,   /* a bad argument: null pointer, unknown name, ... */
    LPVM_ERR_SOURCE,    /* kernel source or an expression did not parse/check */
    LPVM_ERR_NOMEM,     /* allocation failed */
    LPVM_ERR_NO_GPU,    /* a GPU action without a usable driver or device */
    LPVM_ERR_TOOLCHAIN, /* LLVM, NVRTC or the driver's JIT reported an error */
    LPVM_ERR_RUNTIME,   /* a fault while running (interpreter or GPU) */
} lpvm_status;

LPVM_API const char *lpvm_status_string(lpvm_status s);
LPVM_API const char *lpvm_version(void);
LPVM_API void lpvm_free(void *p);

/* ---- introspection for kernel authors (what `lpvm dtypes` / `lpvm layout` print) */

/* The dtype table: name, bits, kind, min, max, smallest positive value and
 * the range of exactly representable integers, one row per dtype. */
LPVM_API lpvm_status lpvm_dtype_table(char **text);

/* The ownership picture of a 2-D register layout given as a layout
 * expression ("local(2,1) * spatial(8,4) * local(1,2)"): for each element,
 * the thread and local index holding it. On a malformed expression returns
 * LPVM_ERR_SOURCE with a located message (column and caret) in *text. */
LPVM_API lpvm_status lpvm_layout_picture(const char *expr, char **text);

#ifdef __cplusplus
}
#endif
#endif

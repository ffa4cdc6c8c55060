/* runtime/runtime.h - the runtime module: the public API (include/lpvm.h)
 * on top of the internal modules, the CUDA driver, NVRTC and the caches.
 * Declarations are grouped under the file that defines them. */
#ifndef LPVM_RUNTIME_H
#define LPVM_RUNTIME_H

#include <stddef.h>

#include "lpvm.h"

/* ------------------------------------------------------- strbuf.c */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} RtStrbuf;
void rt_sb_printf(RtStrbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *rt_sb_finish(RtStrbuf *sb); /* malloc'd text, NULL if allocation failed */

#endif

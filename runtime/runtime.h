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

/* ------------------------------------------------------- nvrtc.c
 * NVRTC through dlopen ($LPVM_NVRTC, else $CUDA_HOME/lib64, lib, the loader
 * path); loaded once per process, thread-safe. */
/* 0 and the loaded path; else -1 and why (names every place tried). Both
 * strings are owned by the module and live as long as the process. */
int rt_nvrtc_load(const char **path, const char **err);
int rt_nvrtc_version(int *major, int *minor); /* 0 ok, -1 when not loadable */
/* CUDA C -> PTX for arch (sm_XX or compute_XX of CG_ARCHS), --fmad=false.
 * 0 ok: *ptx malloc'd, *log the warnings or NULL. -1: *ptx NULL, *log the
 * error (NVRTC's log on a failed compile). log may be NULL. */
int rt_nvrtc_compile(const char *src, const char *name, const char *arch, char **ptx,
                     char **log);
/* The same with up to 64 extra NVRTC options. */
int rt_nvrtc_compile_ex(const char *src, const char *name, const char *arch,
                        const char *const *extra, int nextra, char **ptx, char **log);

#endif

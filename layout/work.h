/* layout/work.h - the scratch form shared by register.c and divide.c, private
 * to layout/.
 *
 * Work is a Layout with room to spare (W_MAX modes and list entries, 64-bit
 * sizes) and a tag per mode, so an operation may split modes and concatenate
 * lists before work_pack canonicalizes and checks it against the capacity of
 * Layout. Same conventions as Layout: modes dims in order, major to minor;
 * sp entries >= 0 are modes, < 0 replication of size -entry. */
#ifndef LPVM_LAYOUT_WORK_H
#define LPVM_LAYOUT_WORK_H

#include "layout/layout.h"

#include <stdarg.h>

enum { W_MAX = 2 * LAY_MAX_MODES + 8 };

typedef struct {
    int rank, nm, ns, nl;
    int64_t shape[LAY_MAX_DIMS];
    int64_t size[W_MAX];
    int dim[W_MAX];
    int tag[W_MAX];
    int64_t sp[W_MAX];
    int64_t lo[W_MAX];
} Work;

void work_from(Work *w, Layout L);
/* Split mode m into (major, minor), minor becoming mode m + 1 right after m
 * in its list; false when out of room. */
bool work_split(Work *w, int m, int64_t major, int64_t minor);
/* Insert entry v at position k of the spatial (in_sp) or local list. */
bool work_insert(Work *w, bool in_sp, int k, int64_t v);
/* Validate, canonicalize, check extents and capacity, write *out. */
LayStatus work_pack(Work *w, Layout *out);

/* print.c: snprintf-style text accumulation shared with picture.c. */
typedef struct {
    char *buf;
    size_t n, len;
} Out;
void out_printf(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

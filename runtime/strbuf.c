/* runtime/strbuf.c - a growable string for text the library hands back
 * (tables, pictures, messages). Allocation failure is sticky and reported
 * by rt_sb_finish returning NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

void rt_sb_printf(RtStrbuf *sb, const char *fmt, ...)
{
    if (sb->failed)
        return;
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap * 2 : 256;
        while (cap - sb->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(sb->buf, cap);
        if (!p) {
            sb->failed = 1;
            return;
        }
        sb->buf = p;
        sb->cap = cap;
    }
}

char *rt_sb_finish(RtStrbuf *sb)
{
    if (sb->failed) {
        free(sb->buf);
        *sb = (RtStrbuf){0};
        return NULL;
    }
    if (!sb->buf)
        return strdup("");
    char *s = sb->buf;
    *sb = (RtStrbuf){0};
    return s;
}

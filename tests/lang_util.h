/* tests/lang_util.h - helpers shared by the language tests: reading files
 * under the repository root ($LPVM_ROOT, else the current directory) and
 * listing a directory's files with one extension, sorted. */
#ifndef LPVM_TESTS_LANG_UTIL_H
#define LPVM_TESTS_LANG_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *tl_root(void)
{
    const char *r = getenv("LPVM_ROOT");
    return r && *r ? r : ".";
}

/* malloc'd contents (NUL-terminated) or NULL; *n the size. */
static inline char *tl_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    size_t got = fread(b, 1, (size_t)len, f);
    fclose(f);
    b[got] = 0;
    if (n)
        *n = got;
    return b;
}

static int tl_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted malloc'd names of the files in dir ending in ext; returns count. */
static inline int tl_list(const char *dir, const char *ext, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    size_t el = strlen(ext);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= el || strcmp(e->d_name + l - el, ext))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = realloc(v, (size_t)cap * sizeof *v);
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, tl_cmp);
    *out = v;
    return n;
}

static inline void tl_free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

#endif

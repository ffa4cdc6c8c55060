/* tools/npy.c - reading and writing NumPy .npy files (format versions 1, 2
 * and 3). The header is a Python dict literal; we parse exactly the three
 * keys NumPy writes (descr, fortran_order, shape) and reject anything else
 * with a message: big-endian data, Fortran order, object or structured
 * dtypes, sizes that disagree with the file length. Input is untrusted:
 * every length is checked before use. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/npy.h"

#define FAIL(...) do { snprintf(err, errn, __VA_ARGS__); return -1; } while (0)

typedef struct {
    const char *s, *end;
} Cur;

static void skip_ws(Cur *c)
{
    while (c->s < c->end && isspace((unsigned char)*c->s))
        c->s++;
}

static int eat(Cur *c, char ch)
{
    skip_ws(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return 1;
    }
    return 0;
}

/* 'text' or "text" into buf */
static int parse_str(Cur *c, char *buf, size_t n)
{
    skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"'))
        return 0;
    char q = *c->s++;
    size_t i = 0;
    while (c->s < c->end && *c->s != q) {
        if (i + 1 >= n)
            return 0;
        buf[i++] = *c->s++;
    }
    if (c->s >= c->end)
        return 0;
    c->s++;
    buf[i] = 0;
    return 1;
}

static int parse_descr(const char *d, Npy *a)
{
    char order = d[0];
    if (order != '<' && order != '|' && order != '=')
        return 0;
    char kind = d[1];
    if (!strchr("fiub", kind))
        return 0;
    char *endp;
    long size = strtol(d + 2, &endp, 10);
    if (*endp || size <= 0 || size > 8)
        return 0;
    if (order == '|' && size != 1)
        return 0;
    a->kind = kind;
    a->itemsize = (int)size;
    return 1;
}

int npy_parse(const uint8_t *buf, size_t len, const char *name, Npy *a, char *err, size_t errn)
{
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        FAIL("%s: not a .npy file (bad magic)", name);
    int major = buf[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            FAIL("%s: truncated header", name);
        hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        off = 12;
    } else {
        FAIL("%s: unsupported .npy version %d", name, major);
    }
    if (hlen > len - off)
        FAIL("%s: header extends past end of file", name);
    Cur c = {(const char *)buf + off, (const char *)buf + off + hlen};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!eat(&c, '{'))
        FAIL("%s: header is not a dict", name);
    while (!eat(&c, '}')) {
        char key[32], val[32];
        if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
            FAIL("%s: malformed header", name);
        if (!strcmp(key, "descr")) {
            if (!parse_str(&c, val, sizeof val))
                FAIL("%s: descr is not a simple dtype string", name);
            if (!parse_descr(val, a))
                FAIL("%s: unsupported dtype '%s' (need little-endian bool, int, uint or float)", name, val);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&c);
            if (c.end - c.s >= 5 && !memcmp(c.s, "False", 5))
                c.s += 5;
            else
                FAIL("%s: Fortran-ordered arrays are not supported (use np.ascontiguousarray)", name);
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!eat(&c, '('))
                FAIL("%s: malformed shape", name);
            a->rank = 0;
            while (!eat(&c, ')')) {
                skip_ws(&c);
                if (a->rank >= NPY_MAX_DIMS)
                    FAIL("%s: more than %d dimensions", name, NPY_MAX_DIMS);
                int64_t v = 0;
                int digits = 0;
                while (c.s < c.end && isdigit((unsigned char)*c.s)) {
                    if (v > (INT64_C(1) << 50))
                        FAIL("%s: dimension too large", name);
                    v = v * 10 + (*c.s++ - '0');
                    digits++;
                }
                if (!digits)
                    FAIL("%s: malformed shape", name);
                a->shape[a->rank++] = v;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')'))
                        FAIL("%s: malformed shape", name);
                    break;
                }
            }
            have_shape = 1;
        } else {
            FAIL("%s: unexpected header key '%s'", name, key);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                FAIL("%s: malformed header", name);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        FAIL("%s: header lacks descr, fortran_order or shape", name);
    int64_t numel = npy_numel(a);
    if (numel > (INT64_C(1) << 40))
        FAIL("%s: array too large", name);
    size_t need = (size_t)numel * (size_t)a->itemsize, have = len - off - hlen;
    if (have != need)
        FAIL("%s: data is %zu bytes, shape and dtype need %zu", name, have, need);
    a->nbytes = need;
    a->data = malloc(need ? need : 1);
    if (!a->data)
        FAIL("%s: out of memory", name);
    memcpy(a->data, buf + off + hlen, need);
    return 0;
}

int npy_load(const char *path, Npy *a, char *err, size_t errn)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        FAIL("%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                FAIL("%s: out of memory", path);
            }
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        FAIL("%s: read error", path);
    }
    int rc = npy_parse(buf, len, path, a, err, errn);
    free(buf);
    return rc;
}

int npy_save(const char *path, const Npy *a, char *err, size_t errn)
{
    char hdr[256], shape[160] = "";
    size_t sl = 0;
    for (int i = 0; i < a->rank; i++)
        sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%lld,%s", (long long)a->shape[i],
                               i + 1 < a->rank ? " " : "");
    if (a->rank > 1) /* NumPy writes (3,) for rank 1 and (3, 4) otherwise */
        shape[sl - 1] = 0;
    char order = a->itemsize == 1 ? '|' : '<';
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%c%c%d', 'fortran_order': False, 'shape': (%s), }",
                     order, a->kind, a->itemsize, shape);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        FAIL("%s: %s", path, strerror(errno));
    unsigned hl = (unsigned)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(a->data, 1, a->nbytes, f);
    if (fclose(f))
        FAIL("%s: write error", path);
    return 0;
}

void npy_free(Npy *a)
{
    free(a->data);
    a->data = NULL;
}

int64_t npy_numel(const Npy *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++)
        n *= a->shape[i];
    return n;
}

const char *npy_dtype_name(const Npy *a)
{
    static const struct {
        char kind;
        int size;
        const char *name;
    } map[] = {{'b', 1, "bool"}, {'i', 1, "i8"},  {'i', 2, "i16"}, {'i', 4, "i32"}, {'i', 8, "i64"},
               {'u', 1, "u8"},   {'u', 2, "u16"}, {'u', 4, "u32"}, {'u', 8, "u64"}, {'f', 2, "f16"},
               {'f', 4, "f32"},  {'f', 8, "f64"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].kind == a->kind && map[i].size == a->itemsize)
            return map[i].name;
    return NULL;
}

void npy_kind_for(const char *dtype, int bits, char *kind, int *itemsize)
{
    if (!strcmp(dtype, "bool")) {
        *kind = 'b', *itemsize = 1;
    } else if (bits < 8 || strcmp(dtype, "bf16") == 0 || (dtype[0] == 'f' && bits == 8)) {
        *kind = 'u', *itemsize = bits < 8 ? 1 : bits / 8;
    } else {
        *kind = dtype[0] == 'f' ? 'f' : dtype[0] == 'i' ? 'i' : 'u';
        *itemsize = bits / 8;
    }
}

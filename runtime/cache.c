/* runtime/cache.c - the kernel cache: compiled code (PTX text or a cubin)
 * by key, in memory and on disk (ARCHITECTURE.md, CODEGEN.md 3).
 *
 * The caller builds the key: the specialized IR text, backend, arch, PTX
 * version, codegen version, LLVM and NVRTC versions, options (and the driver
 * version for a cubin). Here the key is only bytes: its 128-bit FNV-1a hash
 * names the file, and the whole key is stored in the entry and compared on
 * every load, so a hash collision is a miss, never a wrong kernel.
 *
 * On disk: $LPVM_CACHE, else ~/.cache/lpvm, created as needed; one file per
 * entry, <32 hex digits of the hash>.k<RT_CACHE_FORMAT>:
 *     header (40 bytes, CacheHeader, little-endian) | key | payload
 * The checksum (64-bit FNV-1a) covers the header with a zero checksum, the
 * key and the payload; the file size must be exactly header + key +
 * payload. A file failing any check (magic, format, sizes, checksum, key,
 * not a regular file) is removed and reported as a miss. Writes go to a
 * unique temporary file renamed over the entry, so readers and concurrent
 * writers (threads or processes) only ever see whole entries. When the
 * directory cannot be created or written, the cache works in memory alone
 * and says why in its status; disk problems never fail a get or a put.
 *
 * In memory: a chained hash table, never evicted (a process compiles a
 * bounded set of kernels), behind one mutex. get returns a copy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"

/* The on-disk entry header. Decoded from and encoded to little-endian bytes
 * by hdr_decode/hdr_encode; the struct is the reference for the layout. */
typedef struct {
    uint8_t magic[8];  /* CACHE_MAGIC */
    uint32_t format;   /* RT_CACHE_FORMAT */
    uint32_t reserved; /* 0 */
    uint64_t key_len;
    uint64_t data_len;
    uint64_t checksum; /* FNV-1a 64 of header (checksum 0) | key | payload */
} CacheHeader;
_Static_assert(sizeof(CacheHeader) == 40, "the cache header is 40 bytes on disk");

static const uint8_t CACHE_MAGIC[8] = {'L', 'P', 'V', 'M', 'K', 'C', '\r', '\n'};
enum { HDR_BYTES = 40 };
#define MAX_PART ((uint64_t)1 << 30) /* a key or payload beyond 1 GiB is corrupt */

typedef struct Entry {
    struct Entry *next;
    uint64_t hash;
    char *key;
    size_t key_len;
    uint8_t *data;
    size_t len;
} Entry;

struct RtCache {
    pthread_mutex_t mu;
    Entry **buckets;
    size_t nbuckets, count;
    RtCacheStatus st;
};

/* ------------------------------------------------------------ hashes */

#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV64_PRIME;
    return h;
}

/* FNV-1a 128: basis 0x6c62272e07bb014262b821756295c58d, prime 2^88 + 0x13b. */
static void fnv128(const void *p, size_t n, uint64_t out[2])
{
    unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ull << 64) | 0x62b821756295c58dull;
    const unsigned __int128 prime = ((unsigned __int128)1 << 88) | 0x13b;
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * prime;
    out[0] = (uint64_t)(h >> 64);
    out[1] = (uint64_t)h;
}

/* ------------------------------------------------------------ header */

static void put_le(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void hdr_encode(const CacheHeader *h, uint8_t b[HDR_BYTES])
{
    memcpy(b, h->magic, 8);
    put_le(b + 8, h->format, 4);
    put_le(b + 12, h->reserved, 4);
    put_le(b + 16, h->key_len, 8);
    put_le(b + 24, h->data_len, 8);
    put_le(b + 32, h->checksum, 8);
}

static void hdr_decode(const uint8_t b[HDR_BYTES], CacheHeader *h)
{
    memcpy(h->magic, b, 8);
    h->format = (uint32_t)get_le(b + 8, 4);
    h->reserved = (uint32_t)get_le(b + 12, 4);
    h->key_len = get_le(b + 16, 8);
    h->data_len = get_le(b + 24, 8);
    h->checksum = get_le(b + 32, 8);
}

static uint64_t entry_checksum(const CacheHeader *h, const void *key, const void *data)
{
    CacheHeader z = *h;
    uint8_t b[HDR_BYTES];
    z.checksum = 0;
    hdr_encode(&z, b);
    uint64_t c = fnv64(FNV64_BASIS, b, HDR_BYTES);
    c = fnv64(c, key, (size_t)h->key_len);
    return fnv64(c, data, (size_t)h->data_len);
}

/* ------------------------------------------------------------ status */

__attribute__((format(printf, 2, 3))) static void note(RtCache *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->st.disk_note, sizeof c->st.disk_note, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ directory */

static int mkdir_p(const char *dir)
{
    char p[sizeof ((RtCacheStatus *)0)->dir];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return errno = ENAMETOOLONG, -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char ch = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) && errno != EEXIST)
            return -1;
        p[i] = ch;
    }
    struct stat sb;
    if (stat(dir, &sb))
        return -1;
    if (!S_ISDIR(sb.st_mode))
        return errno = ENOTDIR, -1;
    if (access(dir, W_OK | X_OK))
        return -1;
    return 0;
}

static void disk_setup(RtCache *c, const char *dir)
{
    char home_dir[sizeof c->st.dir];
    if (!dir) {
        const char *env = getenv("LPVM_CACHE");
        if (env && *env) {
            dir = env;
        } else {
            const char *home = getenv("HOME");
            if (!home || !*home) {
                note(c, "no disk cache: neither LPVM_CACHE nor HOME is set; kernels are cached "
                        "in memory only");
                return;
            }
            snprintf(home_dir, sizeof home_dir, "%s/.cache/lpvm", home);
            dir = home_dir;
        }
    }
    if (!*dir) {
        note(c, "no disk cache: memory only by request");
        return;
    }
    if (strlen(dir) + 64 >= sizeof c->st.dir) {
        note(c, "no disk cache: the directory name is too long; kernels are cached in memory "
                "only");
        return;
    }
    snprintf(c->st.dir, sizeof c->st.dir, "%s", dir);
    if (mkdir_p(dir)) {
        note(c, "no disk cache: %s is not a writable directory (%s); kernels are cached in "
                "memory only",
             dir, strerror(errno));
        return;
    }
    c->st.disk = 1;
}

RtCache *rt_cache_open(const char *dir)
{
    RtCache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    disk_setup(c, dir);
    return c;
}

void rt_cache_close(RtCache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (Entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->key);
            free(e->data);
            free(e);
        }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void rt_cache_status(RtCache *c, RtCacheStatus *st)
{
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    pthread_mutex_unlock(&c->mu);
}

static void entry_path(const RtCache *c, const char *key, size_t key_len, char *buf, size_t n)
{
    uint64_t h[2];
    fnv128(key, key_len, h);
    snprintf(buf, n, "%s/%016llx%016llx.k%d", c->st.dir, (unsigned long long)h[0],
             (unsigned long long)h[1], RT_CACHE_FORMAT);
}

int rt_cache_path(RtCache *c, const char *key, char *buf, size_t n)
{
    if (!c->st.disk) {
        if (n)
            buf[0] = 0;
        return -1;
    }
    entry_path(c, key, strlen(key), buf, n);
    return 0;
}

/* ------------------------------------------------------------ memory table */

static Entry *mem_find(RtCache *c, uint64_t h, const char *key, size_t key_len)
{
    for (Entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->key_len == key_len && !memcmp(e->key, key, key_len))
            return e;
    return NULL;
}

static void mem_grow(RtCache *c)
{
    size_t n = c->nbuckets * 2;
    Entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (Entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* Copies data (NUL-terminated) into the entry for key, made if absent.
 * -1 when out of memory. */
static int mem_set(RtCache *c, uint64_t h, const char *key, size_t key_len, const void *data,
                   size_t len)
{
    uint8_t *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, data, len);
    copy[len] = 0;
    Entry *e = mem_find(c, h, key, key_len);
    if (!e) {
        e = calloc(1, sizeof *e);
        char *k = malloc(key_len + 1);
        if (!e || !k) {
            free(e);
            free(k);
            free(copy);
            return -1;
        }
        memcpy(k, key, key_len + 1);
        e->key = k;
        e->key_len = key_len;
        e->hash = h;
        if (c->count + 1 > c->nbuckets * 3 / 4)
            mem_grow(c);
        e->next = c->buckets[h & (c->nbuckets - 1)];
        c->buckets[h & (c->nbuckets - 1)] = e;
        c->count++;
    }
    free(e->data);
    e->data = copy;
    e->len = len;
    return 0;
}

/* ------------------------------------------------------------ disk */

static int read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void remove_bad(RtCache *c, const char *path, const char *why)
{
    int gone = !unlink(path) || errno == ENOENT || (errno == EISDIR && !rmdir(path)) ||
               (errno == EPERM && !rmdir(path));
    c->st.corrupt++;
    note(c, "%s cache entry %s: %s", gone ? "removed the bad" : "could not remove the bad", path,
         why);
}

/* 0 and the entry's payload (malloc'd, NUL-terminated) when the file at
 * path holds a valid entry for key; -1 when there is none; a bad file is
 * removed and counted. */
static int disk_load(RtCache *c, const char *path, const char *key, size_t key_len,
                     uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            c->st.disk_errors++;
            note(c, "cannot read cache entry %s: %s", path, strerror(errno));
        }
        return -1;
    }
    const char *why = NULL;
    uint8_t hb[HDR_BYTES];
    CacheHeader h;
    uint8_t *buf = NULL;
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        why = "not a regular file";
        goto bad;
    }
    if ((uint64_t)sb.st_size < HDR_BYTES || read_all(fd, hb, HDR_BYTES)) {
        why = "shorter than its header";
        goto bad;
    }
    hdr_decode(hb, &h);
    if (memcmp(h.magic, CACHE_MAGIC, 8)) {
        why = "bad magic";
        goto bad;
    }
    if (h.format != RT_CACHE_FORMAT || h.reserved) {
        why = "wrong format version";
        goto bad;
    }
    if (h.key_len > MAX_PART || h.data_len > MAX_PART ||
        (uint64_t)sb.st_size != HDR_BYTES + h.key_len + h.data_len) {
        why = "its size does not match its header (truncated?)";
        goto bad;
    }
    buf = malloc((size_t)(h.key_len + h.data_len) + 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    if (read_all(fd, buf, (size_t)(h.key_len + h.data_len))) {
        why = "short read";
        goto bad;
    }
    if (entry_checksum(&h, buf, buf + h.key_len) != h.checksum) {
        why = "checksum mismatch";
        goto bad;
    }
    if (h.key_len != key_len || memcmp(buf, key, key_len)) {
        why = "it holds another key (hash collision)";
        goto bad;
    }
    close(fd);
    memmove(buf, buf + key_len, (size_t)h.data_len);
    buf[h.data_len] = 0;
    *data = buf;
    *len = (size_t)h.data_len;
    return 0;
bad:
    close(fd);
    free(buf);
    remove_bad(c, path, why);
    return -1;
}

static void disk_store(RtCache *c, const char *path, const char *key, size_t key_len,
                       const void *data, size_t len)
{
    CacheHeader h = {.format = RT_CACHE_FORMAT, .key_len = key_len, .data_len = len};
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.checksum = entry_checksum(&h, key, data);
    uint8_t hb[HDR_BYTES];
    hdr_encode(&h, hb);

    char tmp[sizeof c->st.dir + 128];
    static unsigned long seq; /* unique within the process, getpid() across processes */
    snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%lu-%s", c->st.dir, (long)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), strrchr(path, '/') + 1);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    const char *what = "create";
    if (fd >= 0) {
        what = "write";
        int ok = !write_all(fd, hb, HDR_BYTES) && !write_all(fd, key, key_len) &&
                 !write_all(fd, data, len);
        if (close(fd))
            ok = 0;
        if (ok) {
            what = "rename";
            if (!rename(tmp, path)) {
                c->st.disk_writes++;
                return;
            }
            if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
                remove_bad(c, path, "a directory in place of the entry");
                if (!rename(tmp, path)) {
                    c->st.disk_writes++;
                    return;
                }
            }
        }
    }
    int err = errno;
    unlink(tmp);
    c->st.disk_errors++;
    note(c, "cannot write cache entry %s (%s: %s); it is kept in memory", path, what,
         strerror(err));
}

/* ------------------------------------------------------------ get, put */

int rt_cache_get(RtCache *c, const char *key, void **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    size_t key_len = strlen(key);
    uint64_t h[2];
    fnv128(key, key_len, h);
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    Entry *e = mem_find(c, h[1], key, key_len);
    if (e) {
        uint8_t *copy = malloc(e->len + 1);
        if (copy) {
            memcpy(copy, e->data, e->len + 1);
            *data = copy;
            *len = e->len;
            c->st.mem_hits++;
            hit = 1;
        }
    } else if (c->st.disk) {
        char path[sizeof c->st.dir + 64];
        uint8_t *d;
        size_t n;
        entry_path(c, key, key_len, path, sizeof path);
        if (!disk_load(c, path, key, key_len, &d, &n)) {
            mem_set(c, h[1], key, key_len, d, n);
            *data = d;
            *len = n;
            c->st.disk_hits++;
            hit = 1;
        }
    }
    if (!hit)
        c->st.misses++;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

int rt_cache_put(RtCache *c, const char *key, const void *data, size_t len)
{
    size_t key_len = strlen(key);
    uint64_t h[2];
    fnv128(key, key_len, h);
    pthread_mutex_lock(&c->mu);
    Entry *e = mem_find(c, h[1], key, key_len);
    int same = e && e->len == len && !memcmp(e->data, data, len);
    int rc = same ? 0 : mem_set(c, h[1], key, key_len, data, len);
    c->st.puts++;
    if (!rc && !same && c->st.disk) {
        char path[sizeof c->st.dir + 64];
        entry_path(c, key, key_len, path, sizeof path);
        disk_store(c, path, key, key_len, data, len);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

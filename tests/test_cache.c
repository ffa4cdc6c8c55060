/* tests/test_cache.c - the kernel cache (runtime/cache.c): round trips in
 * memory and on disk, the entry file byte for byte (hand-computed FNV-1a
 * values), every kind of bad entry detected, removed and rebuilt, writers in
 * several processes and threads, and the cache without a usable directory.
 * Each test works in its own directory under /tmp. */
#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"

/* ------------------------------------------------------------ helpers */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lpvm-cache-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void remove_tmpdir(void) { rm_tree(tmpdir); }

TestSuite(cache, .init = make_tmpdir, .fini = remove_tmpdir);

static RtCache *open_tmp(void)
{
    RtCache *c = rt_cache_open(tmpdir);
    cr_assert_not_null(c);
    RtCacheStatus st;
    rt_cache_status(c, &st);
    cr_assert_eq(st.disk, 1, "disk cache off: %s", st.disk_note);
    return c;
}

static RtCacheStatus status(RtCache *c)
{
    RtCacheStatus st;
    rt_cache_status(c, &st);
    return st;
}

static void expect_hit(RtCache *c, const char *key, const void *want, size_t want_len)
{
    void *d = NULL;
    size_t n = 0;
    cr_assert_eq(rt_cache_get(c, key, &d, &n), 1, "miss for '%s'", key);
    cr_assert_eq(n, want_len);
    cr_assert_eq(memcmp(d, want, n), 0);
    cr_assert_eq(((char *)d)[n], 0, "payload not NUL-terminated");
    free(d);
}

static void expect_miss(RtCache *c, const char *key)
{
    void *d = (void *)1;
    size_t n = 99;
    cr_assert_eq(rt_cache_get(c, key, &d, &n), 0, "unexpected hit for '%s'", key);
    cr_assert_null(d);
    cr_assert_eq(n, 0);
}

static char *entry_path(RtCache *c, const char *key)
{
    static char p[2048];
    cr_assert_eq(rt_cache_path(c, key, p, sizeof p), 0);
    return p;
}

static size_t read_file(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_file(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ round trips */

Test(cache, put_get_memory_then_disk)
{
    const char *key = "ir=... backend=llvm arch=sm_90 ptx=84 cg=1 llvm=19.1 nvrtc=13.0 opt=3";
    const char ptx[] = ".version 8.4\n.target sm_90\n";
    RtCache *c = open_tmp();
    expect_miss(c, key);
    cr_assert_eq(rt_cache_put(c, key, ptx, sizeof ptx - 1), 0);
    expect_hit(c, key, ptx, sizeof ptx - 1);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.mem_hits, 1);
    cr_assert_eq(st.disk_hits, 0);
    cr_assert_eq(st.misses, 1);
    cr_assert_eq(st.puts, 1);
    cr_assert_eq(st.disk_writes, 1);
    cr_assert_eq(st.disk_errors, 0);
    rt_cache_close(c);

    c = open_tmp();
    expect_hit(c, key, ptx, sizeof ptx - 1);
    expect_hit(c, key, ptx, sizeof ptx - 1);
    st = status(c);
    cr_assert_eq(st.disk_hits, 1, "the first get after reopening reads the disk");
    cr_assert_eq(st.mem_hits, 1, "the second is served from memory");
    cr_assert_eq(st.corrupt, 0);
    rt_cache_close(c);
}

Test(cache, different_key_misses)
{
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "key A", "aaa", 3), 0);
    expect_miss(c, "key B");
    expect_miss(c, "key");
    expect_miss(c, "key A ");
    expect_hit(c, "key A", "aaa", 3);
    rt_cache_close(c);
    c = open_tmp();
    expect_miss(c, "key B");
    cr_assert_eq(status(c).corrupt, 0);
    rt_cache_close(c);
}

Test(cache, replace_payload)
{
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "k", "first", 5), 0);
    cr_assert_eq(rt_cache_put(c, "k", "second!", 7), 0);
    expect_hit(c, "k", "second!", 7);
    cr_assert_eq(rt_cache_put(c, "k", "second!", 7), 0);
    cr_assert_eq(status(c).disk_writes, 2, "an identical put writes nothing");
    rt_cache_close(c);
    c = open_tmp();
    expect_hit(c, "k", "second!", 7);
    rt_cache_close(c);
}

Test(cache, binary_payload_large)
{
    size_t n = 3u << 20;
    unsigned char *buf = malloc(n);
    cr_assert_not_null(buf);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    buf[0] = 0;
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "cubin sm_90 driver=13000", buf, n), 0);
    rt_cache_close(c);
    c = open_tmp();
    expect_hit(c, "cubin sm_90 driver=13000", buf, n);
    rt_cache_close(c);
    free(buf);
}

Test(cache, many_keys)
{
    RtCache *c = open_tmp();
    char key[64], val[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "kernel %d", i);
        snprintf(val, sizeof val, "ptx of %d", i * 7);
        cr_assert_eq(rt_cache_put(c, key, val, strlen(val)), 0);
    }
    for (int i = 999; i >= 0; i--) {
        snprintf(key, sizeof key, "kernel %d", i);
        snprintf(val, sizeof val, "ptx of %d", i * 7);
        expect_hit(c, key, val, strlen(val));
    }
    cr_assert_eq(status(c).mem_hits, 1000);
    cr_assert_eq(count_files(tmpdir), 1000);
    rt_cache_close(c);
}

Test(cache, empty_key_and_payload)
{
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "", "", 0), 0);
    rt_cache_close(c);
    c = open_tmp();
    expect_hit(c, "", "", 0);
    cr_assert_eq(status(c).disk_hits, 1);
    rt_cache_close(c);
}

/* ------------------------------------------------------------ the file format */

/* FNV-1a 128 of "" is the offset basis; of "a" the published test vector. */
Test(cache, file_names_are_fnv1a_128)
{
    RtCache *c = open_tmp();
    char want[512];
    snprintf(want, sizeof want, "%s/6c62272e07bb014262b821756295c58d.k%d", tmpdir,
             RT_CACHE_FORMAT);
    cr_assert_str_eq(entry_path(c, ""), want);
    snprintf(want, sizeof want, "%s/d228cb696f1a8caf78912b704e4a8964.k%d", tmpdir,
             RT_CACHE_FORMAT);
    cr_assert_str_eq(entry_path(c, "a"), want);
    snprintf(want, sizeof want, "%s/343e1662793c64bf6f0d3597ba446f18.k%d", tmpdir,
             RT_CACHE_FORMAT);
    cr_assert_str_eq(entry_path(c, "foobar"), want);
    rt_cache_close(c);
}

/* Key "a", payload "b": the whole file, with the checksum computed by hand
 * (FNV-1a 64 of the header with checksum 0, then "a", then "b"). */
Test(cache, entry_bytes)
{
    cr_assert_eq(RT_CACHE_FORMAT, 1, "the expected bytes below are for format 1");
    static const unsigned char want[] = {
        'L', 'P', 'V', 'M', 'K', 'C', '\r', '\n', /* magic */
        1, 0, 0, 0,                               /* format */
        0, 0, 0, 0,                               /* reserved */
        1, 0, 0, 0, 0, 0, 0, 0,                   /* key length */
        1, 0, 0, 0, 0, 0, 0, 0,                   /* payload length */
        0xcb, 0x3f, 0x61, 0x9b, 0x08, 0xf2, 0xc0, 0xec, /* checksum 0xecc0f2089b613fcb */
        'a', 'b'};
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "a", "b", 1), 0);
    unsigned char got[128];
    size_t n = read_file(entry_path(c, "a"), got, sizeof got);
    cr_assert_eq(n, sizeof want);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "byte %zu: %#x, expected %#x", i, got[i], want[i]);
    rt_cache_close(c);
    /* The same bytes written by hand are accepted. */
    c = open_tmp();
    write_file(entry_path(c, "a"), want, sizeof want);
    expect_hit(c, "a", "b", 1);
    rt_cache_close(c);
}

/* ------------------------------------------------------------ bad entries */

static const char BKEY[] = "spec: wt=u3 group=128 backend=nvrtc arch=sm_90a";
static const char BDATA[] = "// PTX\n.version 8.4\n.target sm_90a\n.address_size 64\n";
enum { BKEY_LEN = sizeof BKEY - 1, BDATA_LEN = sizeof BDATA - 1 };

static size_t good_entry(unsigned char *buf, size_t cap, char *path, size_t pcap)
{
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, BKEY, BDATA, BDATA_LEN), 0);
    snprintf(path, pcap, "%s", entry_path(c, BKEY));
    rt_cache_close(c);
    size_t n = read_file(path, buf, cap);
    cr_assert_eq(n, 40 + BKEY_LEN + BDATA_LEN);
    return n;
}

/* The damaged entry must read as a miss, be counted, noted and removed; a
 * put then rebuilds it and a fresh cache reads it back. */
static void expect_rebuilt(const char *path, const char *why)
{
    RtCache *c = open_tmp();
    expect_miss(c, BKEY);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.corrupt, 1, "damage not detected (%s)", why);
    cr_assert_eq(st.disk_hits, 0);
    cr_assert(strstr(st.disk_note, why), "note '%s' lacks '%s'", st.disk_note, why);
    struct stat sb;
    cr_assert_eq(lstat(path, &sb), -1, "the bad entry was not removed");
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(rt_cache_put(c, BKEY, BDATA, BDATA_LEN), 0);
    cr_assert_eq(status(c).disk_writes, 1);
    rt_cache_close(c);
    c = open_tmp();
    expect_hit(c, BKEY, BDATA, BDATA_LEN);
    cr_assert_eq(status(c).disk_hits, 1);
    cr_assert_eq(status(c).corrupt, 0);
    rt_cache_close(c);
}

static void damage(size_t offset, unsigned char xor_with, size_t new_len, const char *why)
{
    unsigned char buf[4096];
    char path[2048];
    size_t n = good_entry(buf, sizeof buf, path, sizeof path);
    if (offset < n)
        buf[offset] ^= xor_with;
    write_file(path, buf, new_len == (size_t)-1 ? n : new_len);
    expect_rebuilt(path, why);
}

Test(cache, truncated_entry)
{
    damage(0, 0, 40 + BKEY_LEN + BDATA_LEN - 1, "size does not match");
}

Test(cache, truncated_inside_header) { damage(0, 0, 20, "shorter than its header"); }

Test(cache, zero_length_entry) { damage(0, 0, 0, "shorter than its header"); }

Test(cache, flipped_payload_byte) { damage(40 + BKEY_LEN + 5, 0x01, (size_t)-1, "checksum"); }

Test(cache, flipped_key_byte) { damage(40 + 3, 0x20, (size_t)-1, "checksum"); }

Test(cache, flipped_checksum_byte) { damage(33, 0x80, (size_t)-1, "checksum"); }

Test(cache, wrong_magic) { damage(0, 0x01, (size_t)-1, "bad magic"); }

Test(cache, wrong_format) { damage(8, 0x02, (size_t)-1, "wrong format"); }

Test(cache, payload_length_lies) { damage(24, 0x01, (size_t)-1, "size does not match"); }

Test(cache, huge_length_in_header) { damage(31, 0x40, (size_t)-1, "size does not match"); }

Test(cache, directory_in_place_of_entry)
{
    unsigned char buf[4096];
    char path[2048];
    good_entry(buf, sizeof buf, path, sizeof path);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkdir(path, 0755), 0);
    expect_rebuilt(path, "not a regular file");
}

Test(cache, directory_in_place_of_entry_at_put)
{
    RtCache *c = open_tmp();
    char path[2048];
    snprintf(path, sizeof path, "%s", entry_path(c, BKEY));
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(rt_cache_put(c, BKEY, BDATA, BDATA_LEN), 0);
    cr_assert_eq(status(c).disk_writes, 1, "%s", status(c).disk_note);
    rt_cache_close(c);
    c = open_tmp();
    expect_hit(c, BKEY, BDATA, BDATA_LEN);
    rt_cache_close(c);
}

/* A valid entry of another key under this key's name: what a hash collision
 * looks like. Its checksum is right; only the stored key tells. */
Test(cache, another_key_in_the_file)
{
    RtCache *c = open_tmp();
    cr_assert_eq(rt_cache_put(c, "other key", "other", 5), 0);
    char other[2048], path[2048];
    snprintf(other, sizeof other, "%s", entry_path(c, "other key"));
    snprintf(path, sizeof path, "%s", entry_path(c, BKEY));
    rt_cache_close(c);
    cr_assert_eq(rename(other, path), 0);
    expect_rebuilt(path, "another key");
}

/* ------------------------------------------------------------ concurrency */

enum { ROUNDS = 60, PAYLOAD = 8192 };

static const char CKEY[] = "concurrent key";

/* Each round opens its own cache (as a process would) and writes a payload
 * of one repeated byte, so a torn entry would show as mixed bytes. */
static int writer(int id)
{
    int bad = 0;
    unsigned char *buf = malloc(PAYLOAD);
    if (!buf)
        return 1;
    for (int r = 0; r < ROUNDS; r++) {
        memset(buf, 'A' + (id * ROUNDS + r) % 26, PAYLOAD);
        RtCache *c = rt_cache_open(tmpdir);
        if (!c || rt_cache_put(c, CKEY, buf, PAYLOAD) || status(c).disk_writes != 1)
            bad++;
        rt_cache_close(c);
    }
    free(buf);
    return bad;
}

/* Returns the number of bad reads: a hit that is not one whole payload, or
 * a file the cache found corrupt. */
static int reader(int rounds)
{
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        RtCache *c = rt_cache_open(tmpdir);
        void *d;
        size_t n;
        if (!c)
            return bad + 1;
        if (rt_cache_get(c, CKEY, &d, &n)) {
            unsigned char *b = d;
            if (n != PAYLOAD)
                bad++;
            else
                for (size_t i = 1; i < n; i++)
                    if (b[i] != b[0]) {
                        bad++;
                        break;
                    }
            free(d);
        }
        bad += (int)status(c).corrupt;
        rt_cache_close(c);
    }
    return bad;
}

static void expect_one_valid_entry(void)
{
    RtCache *c = open_tmp();
    void *d;
    size_t n;
    cr_assert_eq(rt_cache_get(c, CKEY, &d, &n), 1);
    cr_assert_eq(n, PAYLOAD);
    unsigned char *b = d;
    cr_assert(b[0] >= 'A' && b[0] <= 'Z');
    for (size_t i = 1; i < n; i++)
        cr_assert_eq(b[i], b[0]);
    free(d);
    cr_assert_eq(status(c).corrupt, 0);
    rt_cache_close(c);
    cr_assert_eq(count_files(tmpdir), 1, "temporary files were left behind");
}

Test(cache, concurrent_writer_processes)
{
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = fork();
        cr_assert_neq(kids[k], -1);
        if (kids[k] == 0) {
            if (k < 2)
                _exit(writer(k) ? 1 : 0);
            _exit(reader(3 * ROUNDS) ? 1 : 0);
        }
    }
    for (int k = 0; k < 3; k++) {
        int ws;
        cr_assert_eq(waitpid(kids[k], &ws, 0), kids[k]);
        cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "process %d failed (%s)", k,
                  k < 2 ? "writer" : "reader saw a torn or corrupt entry");
    }
    expect_one_valid_entry();
}

static void *writer_thread(void *p)
{
    return writer((int)(intptr_t)p) ? (void *)1 : NULL;
}

typedef struct {
    RtCache *c;
    int id;
} Shared;

static void *shared_thread(void *p)
{
    Shared *s = p;
    char key[32], val[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i % 50);
        snprintf(val, sizeof val, "v%d", i % 50);
        if (rt_cache_put(s->c, key, val, strlen(val)))
            return (void *)1;
        void *d;
        size_t n;
        if (rt_cache_get(s->c, key, &d, &n) != 1 || n != strlen(val) || memcmp(d, val, n))
            return (void *)1;
        free(d);
    }
    return NULL;
}

Test(cache, concurrent_writer_threads)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, writer_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r, "writer thread %d: a put failed or did not reach the disk", i);
    }
    expect_one_valid_entry();
}

Test(cache, threads_share_one_cache)
{
    RtCache *c = open_tmp();
    pthread_t th[4];
    Shared s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (Shared){c, i};
        cr_assert_eq(pthread_create(&th[i], NULL, shared_thread, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r, "thread %d read back a wrong value", i);
    }
    RtCacheStatus st = status(c);
    cr_assert_eq(st.puts, 800);
    cr_assert_eq(st.disk_writes, 50, "each distinct entry is written once");
    cr_assert_eq(st.mem_hits, 800);
    rt_cache_close(c);
    cr_assert_eq(count_files(tmpdir), 50);
}

/* ------------------------------------------------------------ no usable directory */

Test(cache, unwritable_directory_memory_only)
{
    char file[512], dir[600];
    snprintf(file, sizeof file, "%s/plain-file", tmpdir);
    write_file(file, (const unsigned char *)"x", 1);
    snprintf(dir, sizeof dir, "%s/sub/cache", file);
    RtCache *c = rt_cache_open(dir);
    cr_assert_not_null(c);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.disk, 0);
    cr_assert(strstr(st.disk_note, "not a writable directory"), "%s", st.disk_note);
    cr_assert(strstr(st.disk_note, "memory only"), "%s", st.disk_note);
    char p[64];
    cr_assert_eq(rt_cache_path(c, "k", p, sizeof p), -1);
    cr_assert_str_eq(p, "");
    expect_miss(c, "k");
    cr_assert_eq(rt_cache_put(c, "k", "v", 1), 0);
    expect_hit(c, "k", "v", 1);
    st = status(c);
    cr_assert_eq(st.disk_writes, 0);
    cr_assert_eq(st.disk_errors, 0);
    rt_cache_close(c);
}

Test(cache, directory_removed_while_open)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/gone", tmpdir);
    RtCache *c = rt_cache_open(dir);
    cr_assert_eq(status(c).disk, 1);
    rm_tree(dir);
    cr_assert_eq(rt_cache_put(c, "k", "v", 1), 0);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.disk_errors, 1);
    cr_assert(strstr(st.disk_note, "cannot write"), "%s", st.disk_note);
    expect_hit(c, "k", "v", 1);
    rt_cache_close(c);
}

Test(cache, memory_only_by_request)
{
    RtCache *c = rt_cache_open("");
    RtCacheStatus st = status(c);
    cr_assert_eq(st.disk, 0);
    cr_assert_str_eq(st.dir, "");
    cr_assert(strstr(st.disk_note, "memory only"));
    cr_assert_eq(rt_cache_put(c, "k", "v", 1), 0);
    expect_hit(c, "k", "v", 1);
    rt_cache_close(c);
    cr_assert_eq(count_files(tmpdir), 0);
}

Test(cache, env_lpvm_cache_nested_directory)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/a/b/c", tmpdir);
    setenv("LPVM_CACHE", dir, 1);
    RtCache *c = rt_cache_open(NULL);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.disk, 1, "%s", st.disk_note);
    cr_assert_str_eq(st.dir, dir);
    cr_assert_eq(rt_cache_put(c, "k", "v", 1), 0);
    rt_cache_close(c);
    cr_assert_eq(count_files(dir), 1);
}

Test(cache, default_directory_under_home)
{
    unsetenv("LPVM_CACHE");
    setenv("HOME", tmpdir, 1);
    RtCache *c = rt_cache_open(NULL);
    RtCacheStatus st = status(c);
    char want[600];
    snprintf(want, sizeof want, "%s/.cache/lpvm", tmpdir);
    cr_assert_eq(st.disk, 1, "%s", st.disk_note);
    cr_assert_str_eq(st.dir, want);
    rt_cache_close(c);
    struct stat sb;
    cr_assert_eq(stat(want, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
}

Test(cache, no_home_no_env)
{
    unsetenv("LPVM_CACHE");
    unsetenv("HOME");
    RtCache *c = rt_cache_open(NULL);
    RtCacheStatus st = status(c);
    cr_assert_eq(st.disk, 0);
    cr_assert(strstr(st.disk_note, "HOME"), "%s", st.disk_note);
    cr_assert_eq(rt_cache_put(c, "k", "v", 1), 0);
    expect_hit(c, "k", "v", 1);
    rt_cache_close(c);
}

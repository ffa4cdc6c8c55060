/* tests/test_npy.c - .npy reading and writing for the command line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/npy.h"

static size_t make_npy(uint8_t *buf, const char *hdr, const void *data, size_t nbytes)
{
    size_t hl = strlen(hdr);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    memcpy(buf + 10, hdr, hl);
    memcpy(buf + 10 + hl, data, nbytes);
    return 10 + hl + nbytes;
}

Test(npy, parse_f32_2d)
{
    float d[6] = {1, 2, 3, 4, 5, 6};
    uint8_t buf[256];
    size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", d, sizeof d);
    Npy a;
    char err[256];
    cr_assert_eq(npy_parse(buf, n, "x.npy", &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.rank, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(a.kind, 'f');
    cr_assert_eq(a.itemsize, 4);
    cr_assert_str_eq(npy_dtype_name(&a), "f32");
    cr_assert_eq(((float *)a.data)[5], 6.0f);
    npy_free(&a);
}

Test(npy, rejects_bad_input)
{
    static const char *bad[] = {
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }",
        "{'descr': '<f4', 'shape': (2, 3), }",
        "not a dict",
    };
    float d[6] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[256];
        size_t n = make_npy(buf, bad[i], d, sizeof d);
        Npy a;
        char err[256] = "";
        cr_assert_eq(npy_parse(buf, n, "x.npy", &a, err, sizeof err), -1, "accepted: %s", bad[i]);
        cr_assert(strncmp(err, "x.npy: ", 7) == 0, "message lacks the file name: %s", err);
    }
    /* truncated header length */
    uint8_t buf[16] = "\x93NUMPY\x01\x00\xff\x00";
    Npy a;
    char err[256];
    cr_assert_eq(npy_parse(buf, 10, "t.npy", &a, err, sizeof err), -1);
    cr_assert(strstr(err, "past end"), "%s", err);
}

Test(npy, save_load_round_trip)
{
    char path[] = "/tmp/lpvm-npy-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    uint16_t d[5] = {1, 0x7fff, 3, 0xffff, 0};
    Npy a = {.kind = 'u', .itemsize = 2, .rank = 1, .shape = {5}, .nbytes = sizeof d, .data = (uint8_t *)d};
    char err[256];
    cr_assert_eq(npy_save(path, &a, err, sizeof err), 0, "%s", err);
    Npy b;
    cr_assert_eq(npy_load(path, &b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(b.rank, 1);
    cr_assert_eq(b.shape[0], 5);
    cr_assert_eq(b.nbytes, sizeof d);
    cr_assert_eq(memcmp(b.data, d, sizeof d), 0);
    npy_free(&b);
    remove(path);
}

Test(npy, kinds_for_dtypes)
{
    char k;
    int s;
    npy_kind_for("bf16", 16, &k, &s);
    cr_assert(k == 'u' && s == 2);
    npy_kind_for("f8e4m3", 8, &k, &s);
    cr_assert(k == 'u' && s == 1);
    npy_kind_for("u3", 3, &k, &s);
    cr_assert(k == 'u' && s == 1);
    npy_kind_for("f16", 16, &k, &s);
    cr_assert(k == 'f' && s == 2);
    npy_kind_for("i32", 32, &k, &s);
    cr_assert(k == 'i' && s == 4);
}

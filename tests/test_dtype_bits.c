/* tests/test_dtype_bits.c - bit streams: pack, unpack, get, set.
 *
 * The reference is a naive bit-by-bit writer and reader written here: bit j
 * of the stream is bit (j % 8) of byte j / 8. Random streams come from a
 * fixed-seed generator; every width 1..64 at every bit offset 0..63. */
#include <criterion/criterion.h>
#include <string.h>

#include "vm/vm.h"

static uint64_t rng_state;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int ref_get_bit(const uint8_t *p, uint64_t j) { return (p[j / 8] >> (j % 8)) & 1; }

static void ref_set_bit(uint8_t *p, uint64_t j, int v)
{
    p[j / 8] = (uint8_t)((p[j / 8] & ~(1u << (j % 8))) | ((unsigned)v << (j % 8)));
}

static uint64_t width_mask(int w) { return w == 64 ? ~0ull : (1ull << w) - 1; }

enum { NEL = 29, BUF = (64 + NEL * 64) / 8 + 16 };

Test(dtype_bits, pack_unpack_every_width_and_offset)
{
    rng_state = 31;
    int cases = 0;
    for (int w = 1; w <= 64; w++)
        for (int off = 0; off < 64; off++, cases++) {
            Code src[NEL], back[NEL];
            uint8_t got[BUF], want[BUF];
            for (int i = 0; i < BUF; i++)
                got[i] = want[i] = (uint8_t)rng();
            for (int i = 0; i < NEL; i++)
                src[i] = rng(); /* high bits above the width must be ignored */
            for (int i = 0; i < NEL; i++)
                for (int b = 0; b < w; b++)
                    ref_set_bit(want, (uint64_t)off + (uint64_t)i * w + b, (int)(src[i] >> b) & 1);
            vm_pack(got, (uint64_t)off, src, NEL, w);
            cr_assert_arr_eq(got, want, BUF, "pack w=%d off=%d", w, off);
            vm_unpack(back, got, (uint64_t)off, NEL, w);
            for (int i = 0; i < NEL; i++) {
                Code ref = 0;
                for (int b = 0; b < w; b++)
                    ref |= (Code)ref_get_bit(want, (uint64_t)off + (uint64_t)i * w + b) << b;
                cr_assert_eq(back[i], src[i] & width_mask(w), "unpack w=%d off=%d i=%d", w, off, i);
                cr_assert_eq(back[i], ref, "w=%d off=%d i=%d", w, off, i);
            }
        }
    cr_assert_eq(cases, 64 * 64);
}

/* get/set touch only the field's bits, even at large offsets */
Test(dtype_bits, get_set_fields)
{
    rng_state = 32;
    for (int k = 0; k < 20000; k++) {
        uint8_t buf[40], ref[40];
        for (int i = 0; i < 40; i++)
            buf[i] = ref[i] = (uint8_t)rng();
        int w = 1 + (int)(rng() % 64);
        uint64_t off = rng() % (40 * 8 - (uint64_t)w + 1);
        Code v = rng();
        Code before = 0;
        for (int b = 0; b < w; b++)
            before |= (Code)ref_get_bit(ref, off + b) << b;
        cr_assert_eq(vm_bits_get(buf, off, w), before, "w=%d off=%llu", w, (unsigned long long)off);
        vm_bits_set(buf, off, w, v);
        for (int b = 0; b < w; b++)
            ref_set_bit(ref, off + b, (int)(v >> b) & 1);
        cr_assert_arr_eq(buf, ref, 40, "w=%d off=%llu", w, (unsigned long long)off);
        cr_assert_eq(vm_bits_get(buf, off, w), v & width_mask(w));
    }
}

/* Bytes outside the field are neither read nor written: the field may sit
 * at the very end of the buffer. */
Test(dtype_bits, stays_inside_the_field)
{
    uint8_t buf[9] = {0};
    vm_bits_set(buf, 0, 64, ~0ull);
    cr_assert_eq(buf[8], 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(buf[i], 0xFF);
    vm_bits_set(buf + 1, 4, 4, 0x5);
    cr_assert_eq(buf[1], 0x5F);
    cr_assert_eq(buf[2], 0xFF);
    uint8_t one = 0xA5;
    cr_assert_eq(vm_bits_get(&one, 0, 8), 0xA5);
    cr_assert_eq(vm_bits_get(&one, 5, 3), 0x5);
    cr_assert_eq(vm_bits_get(&one, 7, 1), 1);
}

/* The memory image of VM.md 3, written out by hand. */
Test(dtype_bits, hand_layouts)
{
    /* u3 elements 1..8: bits 001 010 011 100 101 110 111 000 */
    Code v[8] = {1, 2, 3, 4, 5, 6, 7, 0};
    uint8_t b[3] = {0};
    vm_pack(b, 0, v, 8, 3);
    cr_assert_eq(b[0], 0xD1); /* 0b11 010 001 */
    cr_assert_eq(b[1], 0x58); /* 0b0 101 100 0 */
    cr_assert_eq(b[2], 0x1F); /* 0b000 111 11 */
    /* f4e2m1 nibbles: element 0 in the low nibble */
    Code n[4] = {0x1, 0x2, 0xF, 0x8};
    uint8_t nb[2] = {0};
    vm_pack(nb, 0, n, 4, 4);
    cr_assert_eq(nb[0], 0x21);
    cr_assert_eq(nb[1], 0x8F);
    /* u1 */
    Code bits[10] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0};
    uint8_t ub[2] = {0};
    vm_pack(ub, 0, bits, 10, 1);
    cr_assert_eq(ub[0], 0x8D);
    cr_assert_eq(ub[1], 0x01);
    /* 16-bit elements are little-endian */
    Code h[2] = {0x3C00, 0xABCD};
    uint8_t hb[4];
    vm_pack(hb, 0, h, 2, 16);
    cr_assert_eq(hb[0], 0x00);
    cr_assert_eq(hb[1], 0x3C);
    cr_assert_eq(hb[2], 0xCD);
    cr_assert_eq(hb[3], 0xAB);
    /* u6 at bit offset 2 */
    uint8_t sb[2] = {0x03, 0xF0};
    vm_bits_set(sb, 2, 6, 0x2A);
    cr_assert_eq(sb[0], 0xAB);
    cr_assert_eq(sb[1], 0xF0);
    cr_assert_eq(vm_bits_get(sb, 2, 6), 0x2A);
    cr_assert_eq(vm_bits_get(sb, 6, 6), 0x02); /* bits 6..11: 10 from byte 0, 0000 from byte 1 */
}

/* Every dtype: packing its codes and unpacking gives them back. */
Test(dtype_bits, every_dtype_round_trip)
{
    rng_state = 33;
    for (int i = 0; i < VM_NDTYPES; i++) {
        Dtype dt = (Dtype)i;
        int w = vm_dtype_bits(dt);
        size_t n = 37;
        Code src[37], back[37];
        uint8_t buf[37 * 8];
        for (size_t k = 0; k < n; k++)
            src[k] = rng() & width_mask(w);
        memset(buf, 0, sizeof buf);
        vm_pack(buf, 0, src, n, w);
        size_t used = vm_packed_bytes(dt, n);
        for (size_t k = used; k < sizeof buf; k++)
            cr_assert_eq(buf[k], 0, "%s: byte %zu past the packed size", vm_dtype_name(dt), k);
        vm_unpack(back, buf, 0, n, w);
        cr_assert_arr_eq(back, src, n * sizeof(Code), "%s", vm_dtype_name(dt));
    }
}

/* vm/dtype_bits.c - bit streams: the memory image of n-bit tensors.
 *
 * Element i of an n-bit tensor occupies bits [i*n, (i+1)*n) from the base
 * byte, least significant bit first (VM.md 3, memory image); widths 1..64 at
 * any bit offset. The accessors go one byte at a time: they are the
 * reference the GPU packing is compared with, so they stay obvious rather
 * than fast. They read and write only the bytes the field touches. */
#include <stdio.h>
#include <stdlib.h>

#include "vm/vm.h"

size_t vm_packed_bytes(Dtype dt, size_t numel)
{
    size_t bits = (size_t)vm_dtype_bits(dt);
    return (numel * bits + 7) / 8;
}

static void check_width(int width)
{
    if (width < 1 || width > 64) {
        fprintf(stderr, "%s:%d: internal error: bit width %d\n", __FILE__, __LINE__, width);
        abort();
    }
}

Code vm_bits_get(const uint8_t *base, uint64_t bit_offset, int width)
{
    check_width(width);
    Code v = 0;
    int done = 0;
    while (done < width) {
        uint64_t pos = bit_offset + (uint64_t)done;
        int shift = (int)(pos & 7);
        int take = 8 - shift;
        if (take > width - done)
            take = width - done;
        Code field = ((Code)base[pos >> 3] >> shift) & ((1u << take) - 1);
        v |= field << done;
        done += take;
    }
    return v;
}

void vm_bits_set(uint8_t *base, uint64_t bit_offset, int width, Code v)
{
    check_width(width);
    int done = 0;
    while (done < width) {
        uint64_t pos = bit_offset + (uint64_t)done;
        int shift = (int)(pos & 7);
        int take = 8 - shift;
        if (take > width - done)
            take = width - done;
        unsigned mask = ((1u << take) - 1) << shift;
        unsigned field = (unsigned)((v >> done) << shift) & mask;
        base[pos >> 3] = (uint8_t)((base[pos >> 3] & ~mask) | field);
        done += take;
    }
}

void vm_pack(uint8_t *dst, uint64_t dst_bit, const Code *src, size_t n, int width)
{
    for (size_t i = 0; i < n; i++)
        vm_bits_set(dst, dst_bit + (uint64_t)i * (uint64_t)width, width, src[i]);
}

void vm_unpack(Code *dst, const uint8_t *src, uint64_t src_bit, size_t n, int width)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = vm_bits_get(src, src_bit + (uint64_t)i * (uint64_t)width, width);
}

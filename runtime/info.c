/* runtime/info.c - introspection for kernel authors: the dtype table and
 * the ownership picture of a layout (`lpvm dtypes`, `lpvm layout`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "runtime/runtime.h"
#include "vm/vm.h"

static const char *kind_name(DtypeKind k)
{
    switch (k) {
    case VM_BOOL: return "bool";
    case VM_INT: return "int";
    case VM_UINT: return "uint";
    case VM_FLOAT: return "float";
    }
    return "?";
}

/* Integers print exactly, other values with 9 significant digits (enough
 * to tell any two f32 apart), so 2^-9 shows as 0.001953125. */
static void put_num(RtStrbuf *sb, double v, int width)
{
    char tmp[64];
    if (v == floor(v) && fabs(v) < 1e18)
        snprintf(tmp, sizeof tmp, "%.0f", v);
    else
        snprintf(tmp, sizeof tmp, "%.9g", v);
    rt_sb_printf(sb, " %*s", width, tmp);
}

lpvm_status lpvm_dtype_table(char **text)
{
    if (!text)
        return LPVM_ERR_INVALID;
    RtStrbuf sb = {0};
    rt_sb_printf(&sb, "%-8s %4s %-5s %5s %24s %24s %16s %22s\n", "dtype", "bits", "kind", "E/M",
                 "min", "max", "smallest>0", "exact integers +-");
    for (int d = 0; d < VM_NDTYPES; d++) {
        const DtypeInfo *in = vm_dtype_info((Dtype)d);
        char em[16] = "-";
        if (in->kind == VM_FLOAT)
            snprintf(em, sizeof em, "%d/%d", in->ebits, in->mbits);
        rt_sb_printf(&sb, "%-8s %4d %-5s %5s", in->name, in->bits, kind_name(in->kind), em);
        put_num(&sb, vm_dtype_min((Dtype)d), 24);
        put_num(&sb, vm_dtype_max((Dtype)d), 24);
        put_num(&sb, vm_dtype_min_subnormal((Dtype)d), 16);
        put_num(&sb, vm_dtype_max_exact_int((Dtype)d), 22);
        rt_sb_printf(&sb, "%s\n", vm_dtype_has_nan((Dtype)d) ? "  (nan)" : "");
    }
    *text = rt_sb_finish(&sb);
    return *text ? LPVM_OK : LPVM_ERR_NOMEM;
}

lpvm_status lpvm_layout_picture(const char *expr, char **text)
{
    if (!expr || !text)
        return LPVM_ERR_INVALID;
    Layout L;
    int pos = 0;
    char err[256] = "";
    RtStrbuf sb = {0};
    LayStatus st = lay_parse(expr, &L, &pos, err, sizeof err);
    if (st != LAY_OK) {
        int col = pos > 0 ? pos : 1; /* lay_parse reports 1-based columns */
        rt_sb_printf(&sb, "layout:1:%d: error: %s\n  %s\n  %*s^\n", col, err, expr, col - 1, "");
        *text = rt_sb_finish(&sb);
        return LPVM_ERR_SOURCE;
    }
    int n = lay_picture(L, NULL, 0);
    char *pic = malloc((size_t)n + 1);
    if (!pic)
        return LPVM_ERR_NOMEM;
    lay_picture(L, pic, (size_t)n + 1);
    *text = pic;
    return LPVM_OK;
}

/* ---- data helpers */

static Dtype dtype_of(const char *name)
{
    return name ? vm_dtype_parse(name, strlen(name)) : VM_DT_INVALID;
}

int lpvm_dtype_bits(const char *dtype)
{
    Dtype dt = dtype_of(dtype);
    return dt == VM_DT_INVALID ? 0 : vm_dtype_bits(dt);
}

size_t lpvm_dtype_bytes(const char *dtype, int64_t numel)
{
    Dtype dt = dtype_of(dtype);
    return dt == VM_DT_INVALID || numel < 0 ? 0 : vm_packed_bytes(dt, (size_t)numel);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

lpvm_status lpvm_fill_random(void *dst, const char *dtype, int64_t numel, uint64_t seed)
{
    Dtype dt = dtype_of(dtype);
    if (!dst || dt == VM_DT_INVALID || numel < 0)
        return LPVM_ERR_INVALID;
    int bits = vm_dtype_bits(dt);
    const DtypeInfo *in = vm_dtype_info(dt);
    uint64_t key = mix64(seed * 0x9E3779B97F4A7C15ull + 1);
    for (int64_t i = 0; i < numel; i++) {
        uint64_t r = mix64(key + (uint64_t)i * 0x9E3779B97F4A7C15ull);
        Code c;
        if (in->kind == VM_FLOAT)
            c = vm_encode(dt, (double)(r >> 11) * 0x1p-52 - 1.0); /* [-1, 1) */
        else if (in->kind == VM_BOOL)
            c = r & 1;
        else
            c = bits == 64 ? r : r & ((UINT64_C(1) << bits) - 1);
        vm_bits_set(dst, (uint64_t)i * (uint64_t)bits, bits, c);
    }
    return LPVM_OK;
}

double lpvm_value(const char *dtype, const void *data, int64_t i)
{
    Dtype dt = dtype_of(dtype);
    if (dt == VM_DT_INVALID || !data || i < 0)
        return NAN;
    int bits = vm_dtype_bits(dt);
    Code c = vm_bits_get(data, (uint64_t)i * (uint64_t)bits, bits);
    const DtypeInfo *in = vm_dtype_info(dt);
    if (in->kind == VM_INT)
        return (double)vm_decode_int(dt, c);
    if (in->kind != VM_FLOAT)
        return (double)vm_decode_uint(dt, c);
    return vm_decode(dt, c);
}

/* vm/dtype.c - the dtype table and its queries, and bit streams.
 *
 * Every property of a dtype is derived from its one row in VM_DTYPES
 * (vm.h): name, bits, kind, E, M. Which float formats have NaN and inf is
 * decided here once (vm_dtype_has_nan / vm_dtype_has_inf) and every other
 * file asks these two functions. Conversions are in dtype_conv.c,
 * arithmetic in dtype_arith.c, bit streams in dtype_bits.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

static const DtypeInfo dtype_table[VM_NDTYPES] = {
#define X(id, nm, nbits, k, e, m) [VM_DT_##id] = {nm, nbits, k, e, m},
    VM_DTYPES(X)
#undef X
};

const DtypeInfo *vm_dtype_info(Dtype dt)
{
    if ((int)dt < 0 || dt >= VM_NDTYPES)
        return NULL;
    return &dtype_table[dt];
}

static const DtypeInfo *info(Dtype dt)
{
    const DtypeInfo *d = vm_dtype_info(dt);
    if (!d) {
        fprintf(stderr, "%s:%d: internal error: invalid dtype %d\n", __FILE__, __LINE__, (int)dt);
        abort();
    }
    return d;
}

Dtype vm_dtype_parse(const char *name, size_t len)
{
    for (int i = 0; i < VM_NDTYPES; i++) {
        const char *n = dtype_table[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return (Dtype)i;
    }
    return VM_DT_INVALID;
}

const char *vm_dtype_name(Dtype dt) { return info(dt)->name; }
int vm_dtype_bits(Dtype dt) { return info(dt)->bits; }
bool vm_dtype_is_float(Dtype dt) { return info(dt)->kind == VM_FLOAT; }

bool vm_dtype_is_int(Dtype dt)
{
    DtypeKind k = info(dt)->kind;
    return k == VM_INT || k == VM_UINT;
}

bool vm_dtype_is_signed(Dtype dt)
{
    DtypeKind k = info(dt)->kind;
    return k == VM_INT || k == VM_FLOAT;
}

/* IEEE specials: the standard formats and f8e5m2. */
bool vm_dtype_has_inf(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    if (d->kind != VM_FLOAT)
        return false;
    return d->bits >= 16 || (d->bits == 8 && d->ebits == 5);
}

/* The IEEE formats, and f8e4m3 whose S.1111.111 codes are NaN. */
bool vm_dtype_has_nan(Dtype dt)
{
    const DtypeInfo *d = info(dt);
    if (vm_dtype_has_inf(dt))
        return true;
    return d->kind == VM_FLOAT && d->bits == 8 && d->ebits == 4;
}

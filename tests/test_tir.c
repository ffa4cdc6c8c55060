/* tests/test_tir.c - the lowering VM IR -> TIR (codegen/lower*.c) on kernels
 * built with the builder: it succeeds for the instruction classes of the
 * plain lowering, fails as a value (with the instruction's location) on
 * what it does not lower yet, and prints golden TIR for a few kernels.
 * Regenerate the goldens after a deliberate change and review the diff:
 *   make build/tests/lpvm-tests &&
 *   LPVM_REGEN=1 build/tests/lpvm-tests --filter tir/'*'
 * Semantics (the values computed) are checked by tests/test_tir_eval.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "tests/tir_util.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static void golden(const TirKernel *t, const char *name)
{
    const char *root = getenv("LPVM_ROOT") ? getenv("LPVM_ROOT") : ".";
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/tir/%s.tir", root, name);
    char *got = tir_print_alloc(t);
    if (getenv("LPVM_REGEN") && !strcmp(getenv("LPVM_REGEN"), "1")) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot write %s", path);
        fputs(got, f);
        fclose(f);
    } else {
        char *want = read_file(path);
        cr_expect_not_null(want, "missing golden %s (LPVM_REGEN=1 regenerates)", path);
        if (want)
            cr_expect_str_eq(got, want, "TIR of %s differs from %s", name, path);
        free(want);
    }
    free(got);
}

Test(tir, vadd_golden)
{
    TuKernel u = tu_vadd(VM_DT_F32, 1, 128);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    cr_expect_eq(t->nparams, 4); /* n, x, y, z */
    cr_expect_eq(tir_count(t, TIR_OP_LD), 8);
    cr_expect_eq(tir_count(t, TIR_OP_ST), 4);
    cr_expect_eq(tir_count(t, TIR_OP_BAR), 0, "no layout conversion in a vector add");
    cr_expect_eq(t->shared_bytes, 0);
    golden(t, "vadd");
    tu_free(&u);
}

Test(tir, broadcast_golden)
{
    TuKernel u = tu_bias_rows(VM_DT_F16, 2);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    golden(t, "bias_rows");
    tu_free(&u);
}

Test(tir, subbyte_golden)
{
    TuKernel u = tu_dequant(VM_DT_U4, VM_DT_F16, 1);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    golden(t, "dequant_u4");
    tu_free(&u);
}

Test(tir, reduce_golden)
{
    TuKernel u = tu_rowsum(VM_DT_F32, 2, 8, 64);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    cr_expect_gt(tir_count(t, TIR_OP_SHFL), 0, "a warp-level reduction uses shuffles");
    golden(t, "rowsum");
    tu_free(&u);
}

Test(tir, every_subbyte_dtype_lowers)
{
    static const Dtype dts[] = {VM_DT_U1, VM_DT_U2, VM_DT_U3, VM_DT_U5, VM_DT_U6, VM_DT_U7,
                                VM_DT_I1, VM_DT_I3, VM_DT_I4, VM_DT_I7, VM_DT_F3E1M1,
                                VM_DT_F4E2M1, VM_DT_F6E3M2, VM_DT_F8E4M3, VM_DT_F8E5M2};
    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++) {
        TuKernel u = tu_dequant(dts[j], VM_DT_F32, 1);
        TirKernel *t = tu_lower_ok(&u);
        cr_expect_not_null(t, "dequant of %s", vm_dtype_name(dts[j]));
        if (t && vm_dtype_bits(dts[j]) % 8)
            cr_expect_eq(tir_count(t, TIR_OP_ATOM), 0, "loads only: no atomics");
        tu_free(&u);
        u = tu_copy(dts[j], 1, 64);
        t = tu_lower_ok(&u);
        cr_expect_not_null(t, "copy of %s", vm_dtype_name(dts[j]));
        if (t && vm_dtype_bits(dts[j]) % 8)
            cr_expect_gt(tir_count(t, TIR_OP_ATOM), 0,
                         "sub-byte stores of %s use atom.and/or", vm_dtype_name(dts[j]));
        tu_free(&u);
    }
}

Test(tir, every_cast_pair_lowers)
{
    int n = 0;
    for (int a = 0; a < VM_NDTYPES; a++)
        for (int b = 0; b < VM_NDTYPES; b++) {
            TuKernel u = tu_cast((Dtype)a, (Dtype)b, 1);
            TirKernel *t = tu_lower_ok(&u);
            cr_expect_not_null(t, "cast %s -> %s", vm_dtype_name((Dtype)a),
                               vm_dtype_name((Dtype)b));
            n += t != NULL;
            tu_free(&u);
        }
    cr_expect_eq(n, VM_NDTYPES * VM_NDTYPES);
}

Test(tir, fma_dot_and_shared_round_trip)
{
    TuKernel u = tu_dot(VM_DT_F16, VM_DT_F32, 16, 16, 16, 1);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    cr_expect_gt(tir_count(t, TIR_OP_FMA), 0);
    cr_expect_geq(tir_count(t, TIR_OP_BAR), 2);
    cr_expect_geq(t->shared_bytes, (16 * 16 + 16 * 16) * 4);
    tu_free(&u);
    u = tu_shared_round_trip(VM_DT_F16, 1, true);
    t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    cr_expect_eq(tir_count(t, TIR_OP_BAR), 1);
    cr_expect_gt(tir_count(t, TIR_OP_XOR), 0, "the swizzle is an XOR on byte offsets");
    tu_free(&u);
}

Test(tir, unsupported_is_a_value)
{
    TuKernel u = tu_fmod(VM_DT_F32, 1);
    VmDiags d;
    cr_expect_null(tu_lower(&u, &d));
    cr_assert_eq(d.n, 1);
    cr_expect(strstr(d.v[0].msg, "rem on f32") != NULL, "message: %s", d.v[0].msg);
    cr_expect_eq(d.v[0].loc.line, 3, "the instruction's line");
    tu_free(&u);
}

/* The mma C fragment's coordinates: row = (t / 4) % 8 + 8 * (l / 2),
 * col = (t % 4) * 2 + l % 2 for one warp (PTX-FACTS.md): the TIR computes
 * the thread part with one shift and an and (row) and an and and a shift
 * (col), each element adding a constant. */
Test(tir, mma_c_coordinates)
{
    TuKernel u = tu_store_layout_c();
    TirKernel *t = tu_lower_ok(&u);
    cr_assert_not_null(t);
    char *s = tir_print_alloc(t);
    cr_expect(strstr(s, "= shr.u32 %tid.2, 2\n") != NULL, "row: tid >> 2 (no %% 8 in one warp)\n%s", s);
    cr_expect(strstr(s, "= and.u32 %tid.2, 3\n") != NULL, "col: tid & 3");
    cr_expect(strstr(s, "= shl.u32 %r9, 1\n") != NULL, "col: (tid & 3) * 2");
    cr_expect(strstr(s, "= add.s32 %r11, 1\n") != NULL, "col + 1 for l odd");
    cr_expect(strstr(s, "= add.s32 %r8, 8\n") != NULL, "row + 8 for l >= 2");
    free(s);
    tu_free(&u);
}

/* tir_verify catches a guard that is not a pred, a break outside a loop and
 * a load whose width does not match its memory type */
Test(tir, verify_rejects_malformed)
{
    VmArena *a = vm_arena_new();
    char err[256];
    TirKernel *k = tir_kernel_new(a, "bad", 1);
    int r = tir_reg(k, TIR_U32, "x");
    TirOp *o = tir_op_new(k, TIR_OP_MOV, TIR_U32);
    o->nd = 1;
    o->d[0] = r;
    o->na = 1;
    o->a[0] = tir_imm(1);
    tir_append(&k->body, o);
    cr_expect(tir_verify(k, err, sizeof err), "%s", err);
    o->guard = r;
    cr_expect_not(tir_verify(k, err, sizeof err));
    cr_expect(strstr(err, "guard") != NULL, "%s", err);
    o->guard = -1;
    tir_append(&k->body, tir_op_new(k, TIR_OP_BREAK, TIR_B32));
    cr_expect_not(tir_verify(k, err, sizeof err));
    cr_expect(strstr(err, "outside a loop") != NULL, "%s", err);
    TirKernel *k2 = tir_kernel_new(a, "bad2", 1);
    int p = tir_reg(k2, TIR_U64, "p"), v = tir_reg(k2, TIR_U32, "v");
    TirOp *l = tir_op_new(k2, TIR_OP_LD, TIR_U32);
    l->type2 = TIR_U8;
    l->width = 4;
    l->nd = 1;
    l->d[0] = v;
    l->na = 1;
    l->a[0] = tir_r(p);
    tir_append(&k2->body, l);
    cr_expect_not(tir_verify(k2, err, sizeof err));
    cr_expect(strstr(err, "width") != NULL, "%s", err);
    l->width = 1;
    cr_expect(tir_verify(k2, err, sizeof err), "%s", err);
    vm_arena_free(a);
}

/* parse(print(k)) prints the same text, for every golden kernel and a few
 * more; malformed text fails with a message */
Test(tir, parse_round_trip)
{
    TuKernel us[] = {tu_vadd(VM_DT_F32, 1, 128), tu_bias_rows(VM_DT_F16, 2),
                     tu_dequant(VM_DT_U4, VM_DT_F16, 1), tu_rowsum(VM_DT_F32, 2, 8, 64),
                     tu_dot(VM_DT_I8, VM_DT_I32, 8, 8, 16, 1), tu_shared_round_trip(VM_DT_U4, 2, false),
                     tu_cast(VM_DT_F64, VM_DT_F8E4M3, 1), tu_copy(VM_DT_U3, 1, 64)};
    for (size_t j = 0; j < sizeof us / sizeof us[0]; j++) {
        TirKernel *t = tu_lower_ok(&us[j]);
        cr_assert_not_null(t);
        char *s1 = tir_print_alloc(t);
        TirKernel *back = NULL;
        char err[256];
        bool ok = tir_parse(us[j].a, s1, &back, err, sizeof err);
        cr_expect(ok, "%s: %s", us[j].k->name, err);
        if (ok) {
            char *s2 = tir_print_alloc(back);
            cr_expect_str_eq(s2, s1, "%s: the text does not round-trip", us[j].k->name);
            cr_expect(tir_verify(back, err, sizeof err), "%s", err);
            free(s2);
        }
        free(s1);
        tu_free(&us[j]);
    }
    VmArena *a = vm_arena_new();
    TirKernel *k;
    char err[256];
    cr_expect_not(tir_parse(a, "kernel k() threads 32 shared 0\n{\n  %r0 = frob.u32 1\n}\n", &k,
                            err, sizeof err));
    cr_expect(strstr(err, "tir line 3") != NULL, "%s", err);
    cr_expect_not(tir_parse(a, "kernel k() threads 32 shared 0\n", &k, err, sizeof err));
    vm_arena_free(a);
}

/* tests/test_tir_fold.c - codegen/tir_fold.c: dead ops go, an xor with a
 * constant folds into the lop3s it reaches through shifts, ands and prmts,
 * and nothing folds where the value could differ. Each kernel runs on the
 * TIR evaluator before and after the pass on the same random words. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "tests/tir_eval.h"

enum { NT = 32, NOUT = 4 };

typedef enum { PLAIN, REDEFINED, OTHER_USE, DEAD, OVERLAP } Shape;

typedef struct {
    TirKernel *k;
    int p, q, tid;
} Fk;

static TirOp *op(Fk *f, TirOpcode o, TirType t, int d, int na, const TirArg *a)
{
    TirOp *x = tir_op_new(f->k, o, t);
    x->nd = d >= 0;
    x->d[0] = d;
    x->na = na;
    for (int i = 0; i < na; i++)
        x->a[i] = a[i];
    tir_append(&f->k->body, x);
    return x;
}

static int val(Fk *f, TirOpcode o, TirType t, TirArg a, TirArg b)
{
    int d = tir_reg(f->k, t, NULL);
    TirArg v[2] = {a, b};
    op(f, o, t, d, 2, v);
    return d;
}

static int lop3(Fk *f, int a, uint32_t b, uint32_t c, int lut)
{
    int d = tir_reg(f->k, TIR_B32, NULL);
    TirArg v[3] = {tir_r(a), tir_imm(b), tir_imm(c)};
    op(f, TIR_OP_LOP3, TIR_B32, d, 3, v)->imm = lut;
    return d;
}

/* thread t: v = in[t]; t1 = v ^ K (K built from registers, as a VM
 * constant tensor reaches TIR); lop3s of t1, t1 >> 8 and a prmt of both;
 * out[t * 4 + j] = the results */
static Fk build(VmArena *a, Shape s)
{
    Fk f = {.k = tir_kernel_new(a, "fold", 1)};
    f.k->params = vm_alloc(a, sizeof *f.k->params * 2);
    f.p = tir_reg(f.k, TIR_U64, "in");
    f.q = tir_reg(f.k, TIR_U64, "out");
    f.k->params[0] = (TirParam){"in", TIR_P_PTR, TIR_U64, VM_DT_U32, f.p, false};
    f.k->params[1] = (TirParam){"out", TIR_P_PTR, TIR_U64, VM_DT_U32, f.q, false};
    f.k->nparams = 2;
    f.tid = tir_reg(f.k, TIR_U32, "tid");
    op(&f, TIR_OP_SREG, TIR_U32, f.tid, 0, NULL)->mod = TIR_SR_TID_X;
    int off = val(&f, TIR_OP_MULWIDE, TIR_U64, tir_r(f.tid), tir_imm(4));
    f.k->body.last->type2 = TIR_U32;
    int ain = val(&f, TIR_OP_ADD, TIR_U64, tir_r(f.p), tir_r(off));
    int v = tir_reg(f.k, TIR_U32, "v");
    TirArg la[1] = {tir_r(ain)};
    TirOp *ld = op(&f, TIR_OP_LD, TIR_U32, v, 1, la);
    ld->type2 = TIR_U32;
    ld->width = 4;
    int c8 = val(&f, TIR_OP_MOV, TIR_U32, tir_imm(8), (TirArg){0});
    f.k->body.last->na = 1;
    int k1 = val(&f, TIR_OP_SHL, TIR_U32, tir_r(c8), tir_imm(28));
    int kz = val(&f, TIR_OP_OR, TIR_U32, tir_r(k1), tir_imm(0x08888888));
    int t1 = val(&f, TIR_OP_XOR, TIR_U32, tir_r(v), tir_r(kz));
    if (s == REDEFINED) /* v changes after the xor read it */
        op(&f, TIR_OP_ADD, TIR_U32, v, 2, (TirArg[]){tir_r(v), tir_imm(0x12345)});
    int sh = val(&f, TIR_OP_SHR, TIR_B32, tir_r(t1), tir_imm(8));
    int pm = tir_reg(f.k, TIR_B32, NULL);
    op(&f, TIR_OP_PRMT, TIR_B32, pm, 3, (TirArg[]){tir_r(t1), tir_r(sh), tir_imm(0x5140)});
    int out[NOUT] = {lop3(&f, t1, 0x000F000F, 0x64006400, 0xEA),
                     lop3(&f, sh, 0x000F000F, 0x64086408, 0x6A),
                     lop3(&f, pm, 0x00F000F0, 0x64806480, 0x6A),
                     s == OTHER_USE ? val(&f, TIR_OP_ADD, TIR_U32, tir_r(t1), tir_imm(1))
                     : s == OVERLAP /* (a & b) | c with c & b != 0 is not an xor */
                         ? lop3(&f, t1, 0x0F000F00, 0x64006400, 0xEA)
                         : lop3(&f, t1, 0x00F000F0, 0x64006400, 0xEA)};
    if (s == DEAD) /* read by nothing: goes, and does not stop the fold */
        val(&f, TIR_OP_BFE, TIR_S32, tir_r(t1), tir_imm(4));
    int off4 = val(&f, TIR_OP_MULWIDE, TIR_U64, tir_r(f.tid), tir_imm(4 * NOUT));
    f.k->body.last->type2 = TIR_U32;
    int aout = val(&f, TIR_OP_ADD, TIR_U64, tir_r(f.q), tir_r(off4));
    for (int j = 0; j < NOUT; j++) {
        TirOp *st = op(&f, TIR_OP_ST, TIR_U32, -1, 2, (TirArg[]){tir_r(aout), tir_r(out[j])});
        st->type2 = TIR_U32;
        st->width = 4;
        st->off = 4 * j;
    }
    return f;
}

/* out[] of the kernel on in[] */
static void run(const TirKernel *k, const uint32_t *in, uint32_t *out)
{
    uint32_t *i2 = malloc(NT * 4);
    memcpy(i2, in, NT * 4);
    memset(out, 0, NT * NOUT * 4);
    uint64_t pv[2] = {(uint64_t)(uintptr_t)i2, (uint64_t)(uintptr_t)out};
    TeBuf tb[2] = {{i2, NT * 4}, {out, NT * NOUT * 4}};
    int g[3] = {1, 1, 1};
    TeVm ev;
    bool ok = te_run(&ev, k, pv, tb, 2, g);
    cr_expect(ok, "%s", ev.msg);
    te_free(&ev);
    free(i2);
}

static void check(Shape s, int xors_left)
{
    VmArena *a = vm_arena_new();
    Fk before = build(a, s), after = build(a, s);
    char err[256];
    cr_assert(tir_verify(after.k, err, sizeof err), "%s", err);
    tir_fold_xor(after.k);
    cr_assert(tir_verify(after.k, err, sizeof err), "after the pass: %s", err);
    cr_expect_eq(tir_count(after.k, TIR_OP_XOR), xors_left, "shape %d: %d xor left", s,
                 tir_count(after.k, TIR_OP_XOR));
    cr_expect_eq(tir_count(after.k, TIR_OP_BFE), 0, "shape %d: the dead bfe stayed", s);
    uint32_t in[NT], o1[NT * NOUT], o2[NT * NOUT];
    srand(7 + s);
    for (int t = 0; t < NT; t++)
        in[t] = (uint32_t)rand() * 2654435761u ^ (uint32_t)rand();
    in[0] = 0, in[1] = ~0u, in[2] = 0x88888888u;
    run(before.k, in, o1);
    run(after.k, in, o2);
    for (int j = 0; j < NT * NOUT; j++)
        cr_expect_eq(o2[j], o1[j], "shape %d: out[%d] %08x, before the pass %08x", s, j, o2[j],
                     o1[j]);
    vm_arena_free(a);
}

Test(tir_fold, xor_folds_into_lop3s_through_shifts_and_prmts) { check(PLAIN, 0); }

Test(tir_fold, dead_ops_go_first) { check(DEAD, 0); }

Test(tir_fold, no_fold_when_the_source_is_redefined_in_between) { check(REDEFINED, 1); }

Test(tir_fold, no_fold_when_the_xor_has_another_use) { check(OTHER_USE, 1); }

Test(tir_fold, no_fold_into_an_or_lop3_whose_constant_overlaps_the_mask) { check(OVERLAP, 1); }

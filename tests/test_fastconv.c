/* tests/test_fastconv.c - the fast register conversions of cast lowering
 * (codegen/lower_conv.c cg_cast_packed): cast(view(bytes, d), f16/bf16) for
 * d in u4 i4 u8 i8 converts whole 32-bit words with lop3/prmt and the magic
 * exponents. Every code of every source type goes through the CPU TIR
 * evaluator and must equal vm_cast bit for bit; the lowered TIR must use
 * the fast instructions (so the generic path cannot pass for it); the PTX
 * from both emitters must carry them and be accepted by ptxas. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "lang/lang.h"
#include "runtime/runtime.h"
#include "tests/emit_llvm_util.h"
#include "tests/lang_util.h"
#include "tests/tir_eval.h"
#include "tests/tir_util.h"

static Layout fc_lay(const char *s)
{
    Layout l;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &l, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return l;
}

/* bytes per thread: 16 (one 16-byte load) for 4/8-bit codes, else 32 codes */
static int fc_bpt(Dtype wt)
{
    int b = vm_dtype_bits(wt);
    return b == 4 || b == 8 ? 16 : 4 * b;
}

/* y = cast(view(x bytes, wt), to); bpt bytes per thread, one warp */
static TuKernel fc_kernel_bpt(Dtype wt, Dtype to, int bpt)
{
    int per = bpt * 8 / vm_dtype_bits(wt); /* codes per thread */
    TuKernel u = tu_new("fastconv", 1);
    Value *X = tu_vec(&u, "x", VM_DT_U8);
    Expr *ys[1] = {vm_e_bin(u.k, VM_S_DIV,
                            vm_e_bin(u.k, VM_S_MUL, vm_e_param(u.k, vm_param_find(u.k, "n")),
                                     vm_e_i32(u.k, 8)),
                            vm_e_i32(u.k, vm_dtype_bits(wt)))};
    Value *Y = vm_param_tensor(u.k, "y", to, 1, ys)->value;
    tu_grid1(&u, 32 * bpt);
    tu_line(&u);
    Value *a = vm_b_load_global(u.k, tu_block_tile(&u, X, 32 * bpt), NULL, NULL);
    char sl[64];
    snprintf(sl, sizeof sl, "spatial(32) * local(%d)", bpt);
    vm_set_layout(a, fc_lay(sl));
    tu_line(&u);
    char dl[64];
    snprintf(dl, sizeof dl, "spatial(32) * local(%d)", per);
    Layout l = fc_lay(dl);
    Value *v = vm_b_view(u.k, a, wt, &l);
    tu_line(&u);
    Value *c = vm_b_cast(u.k, v, to);
    tu_line(&u);
    vm_b_store_global(u.k, tu_block_tile(&u, Y, 32 * per), c, NULL);
    return u;
}

static TuKernel fc_kernel(Dtype wt, Dtype to) { return fc_kernel_bpt(wt, to, fc_bpt(wt)); }

static const Dtype srcs[] = {VM_DT_U4, VM_DT_I4, VM_DT_U8, VM_DT_I8};
static const Dtype dsts[] = {VM_DT_F16, VM_DT_BF16, VM_DT_F32};

/* t on nblk blocks of bpt bytes per thread; elements differing from
 * vm_cast. Codes: bytes j * 167 + 13 (every byte value several times, so
 * every code in every nibble/byte position of a word) for spread false,
 * else code j of thread T is T + j mod 2^bits (every code at every
 * position of a thread's codes once nblk * 32 >= 2^bits). */
static int fc_run(TirKernel *t, Dtype wt, Dtype to, int bpt, int nblk, bool spread)
{
    int bits = vm_dtype_bits(wt), NB = 32 * nblk * bpt, per = bpt * 8 / bits;
    /* 16-byte aligned for the vector loads */
    uint8_t *x = aligned_alloc(16, (size_t)(NB + 15) / 16 * 16);
    for (int j = 0; j < NB; j++)
        x[j] = (uint8_t)(j * 167 + 13); /* 167 odd: a permutation of 0..255 */
    for (int e = 0; spread && e < NB * 8 / bits; e++)
        vm_bits_set(x, (uint64_t)e * (uint64_t)bits, bits,
                    (Code)(e / per + e % per) & ((1u << bits) - 1));
    int ny = NB * 8 / bits, yb = vm_dtype_bits(to) / 8;
    uint8_t *y = aligned_alloc(16, ((size_t)ny * (size_t)yb + 15) / 16 * 16);
    memset(y, 0xA5, (size_t)ny * (size_t)yb);
    uint64_t pv[3];
    cr_assert_eq(t->nparams, 3);
    for (int p = 0; p < 3; p++)
        pv[p] = !strcmp(t->params[p].name, "x")   ? (uint64_t)(uintptr_t)x
                : !strcmp(t->params[p].name, "y") ? (uint64_t)(uintptr_t)y
                                                  : (uint64_t)NB;
    TeBuf tb[2] = {{x, (size_t)NB}, {y, (size_t)ny * (size_t)yb}};
    int g[3] = {nblk, 1, 1};
    TeVm ev;
    bool ok = te_run(&ev, t, pv, tb, 2, g);
    cr_expect(ok, "%s -> %s: %s", vm_dtype_name(wt), vm_dtype_name(to), ev.msg);
    te_free(&ev);
    int bad = ok ? 0 : 1;
    for (int e = 0; ok && e < ny; e++) {
        Code code = vm_bits_get(x, (uint64_t)e * bits, bits);
        Code want = vm_cast(to, wt, code);
        Code got = vm_bits_get(y, (uint64_t)e * 8 * (uint64_t)yb, 8 * yb);
        if (got != want && bad++ < 4)
            cr_expect_eq(got, want, "%s -> %s: element %d code %#llx gives %#x, vm_cast %#llx",
                         vm_dtype_name(wt), vm_dtype_name(to), e, (unsigned long long)code,
                         (unsigned)got, (unsigned long long)want);
    }
    free(x);
    free(y);
    return bad;
}

/* every byte value through t (4 blocks of fc_bpt bytes per thread) */
static int fc_run_codes(TirKernel *t, Dtype wt, Dtype to)
{
    return fc_run(t, wt, to, fc_bpt(wt), 4, false);
}

/* shl by 8, 16 or 24: a word put together from byte registers */
static int fc_byte_shifts(const TirBlock *b)
{
    int n = 0;
    for (const TirOp *o = b->first; o; o = o->next) {
        if (o->op == TIR_OP_SHL && o->a[1].kind == TIR_A_IMM &&
            (o->a[1].imm == 8 || o->a[1].imm == 16 || o->a[1].imm == 24))
            n++;
        n += fc_byte_shifts(&o->body) + fc_byte_shifts(&o->orelse);
    }
    return n;
}

Test(fastconv, every_code_bit_exact_on_the_tir_evaluator)
{
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < 3; d++) {
            Dtype wt = srcs[s], to = dsts[d];
            int bits = vm_dtype_bits(wt);
            TuKernel u = fc_kernel(wt, to);
            TirKernel *t = tu_lower_ok(&u);
            cr_assert(t, "%s -> %s: lowering failed", vm_dtype_name(wt), vm_dtype_name(to));
            /* the fast path, not the generic cvt chain */
            if (bits == 4)
                cr_expect_gt(tir_count(t, TIR_OP_LOP3), 0, "%s -> %s: no lop3",
                             vm_dtype_name(wt), vm_dtype_name(to));
            else
                cr_expect_gt(tir_count(t, TIR_OP_PRMT), 0, "%s -> %s: no prmt",
                             vm_dtype_name(wt), vm_dtype_name(to));
            if (to == VM_DT_F16 || (bits == 4 && to == VM_DT_BF16) || (bits == 8 && to == VM_DT_F32))
                cr_expect_eq(tir_count(t, TIR_OP_CVT), 0, "%s -> %s: cvt on the fast path",
                             vm_dtype_name(wt), vm_dtype_name(to));
            cr_expect_eq(fc_run_codes(t, wt, to), 0, "%s -> %s: elements differ",
                         vm_dtype_name(wt), vm_dtype_name(to));
            /* with every param a multiple of 16 the bytes come from one
             * 16-byte load and the conversion takes its words whole (no
             * shl/or reassembly) */
            VmDiags vd;
            vm_diags_init(&vd, u.a);
            CgOptions o = {.sm = 90, .div16 = ~0ull};
            TirKernel *tv = NULL;
            cr_assert_eq(cg_lower(u.k, &o, u.a, &tv, &vd), CG_OK);
            cr_expect_eq(fc_byte_shifts(&tv->body), 0, "%s -> %s: bytes reassembled",
                         vm_dtype_name(wt), vm_dtype_name(to));
            cr_expect_eq(fc_byte_shifts(&t->body), 12, "%s -> %s: no reassembly to see",
                         vm_dtype_name(wt), vm_dtype_name(to));
            cr_expect_eq(fc_run_codes(tv, wt, to), 0, "%s -> %s (16-byte loads): elements differ",
                         vm_dtype_name(wt), vm_dtype_name(to));
            tu_free(&u);
        }
}

/* every width of 1..8 bits, signed and unsigned */
static const Dtype fc_ints[] = {VM_DT_U1, VM_DT_I1, VM_DT_U2, VM_DT_I2, VM_DT_U3, VM_DT_I3,
                                VM_DT_U4, VM_DT_I4, VM_DT_U5, VM_DT_I5, VM_DT_U6, VM_DT_I6,
                                VM_DT_U7, VM_DT_I7, VM_DT_U8, VM_DT_I8};
enum { FC_NINTS = sizeof fc_ints / sizeof fc_ints[0] };

/* the fewest bytes per thread holding whole words of whole codes */
static int fc_group_bytes(int bits)
{
    int g = bits;
    while (g % 4)
        g *= 2;
    return g;
}

/* packed f16x2/bf16x2 adds (the conversion's, one per pair of codes) */
static int fc_pair_adds(const TirBlock *b)
{
    int n = 0;
    for (const TirOp *o = b->first; o; o = o->next) {
        n += o->op == TIR_OP_ADD && (o->type == TIR_F16X2 || o->type == TIR_BF16X2);
        n += fc_pair_adds(&o->body) + fc_pair_adds(&o->orelse);
    }
    return n;
}

/* lop3 (and f16x2/bf16x2 add, one each per pair of codes) for `per` codes of
 * `bits` bits, at most: the plans of lower_conv_fields.c (per 32 codes: u3
 * 17 pairs -> f16, 18 -> bf16; u5 20/23; u6 21/32; u7 25/32; u1 u2: 16) */
static int fc_max_lop3(int bits, Dtype to, int per)
{
    static const int f16[9] = {0, 16, 16, 17, 16, 18, 18, 17, 0};
    static const int bf16[9] = {0, 16, 16, 18, 16, 17, 32, 32, 0};
    return (to == VM_DT_BF16 ? bf16 : f16)[bits] * per / 32;
}

/* every code of every width to f16/bf16/f32 at every position of a thread's
 * codes, one and two groups of words per thread (codes straddling words for
 * 3, 5, 6, 7 bits), scalar and vector loads */
Test(fastconv, every_width_every_code_bit_exact, .timeout = 120)
{
    for (int s = 0; s < FC_NINTS; s++)
        for (int d = 0; d < 3; d++)
            for (int m = 1; m <= 2; m++) {
                Dtype wt = fc_ints[s], to = dsts[d];
                int bits = vm_dtype_bits(wt), bpt = m * fc_group_bytes(bits);
                int per = bpt * 8 / bits;
                const char *wn = vm_dtype_name(wt), *tn = vm_dtype_name(to);
                TuKernel u = fc_kernel_bpt(wt, to, bpt);
                TirKernel *t = tu_lower_ok(&u);
                cr_assert(t, "%s -> %s: lowering failed", wn, tn);
                int lop3 = tir_count(t, TIR_OP_LOP3), add = fc_pair_adds(&t->body);
                int cvt = tir_count(t, TIR_OP_CVT);
                if (bits != 4 && bits != 8) {
                    /* one lop3 and one add per pair (the magic of each
                     * half puts the code's unit at 1: no scale, no fma) */
                    cr_expect_eq(lop3, add, "%s -> %s: %d lop3, %d add", wn, tn, lop3, add);
                    cr_expect_eq(tir_count(t, TIR_OP_FMA), 0, "%s -> %s: an fma", wn, tn);
                    cr_expect(lop3 >= per / 2 && lop3 <= fc_max_lop3(bits, to, per),
                              "%s -> %s, %d bytes: %d lop3", wn, tn, bpt, lop3);
                    cr_expect_eq(cvt, to == VM_DT_F32 ? per : 0, "%s -> %s: %d cvt", wn, tn, cvt);
                }
                cr_expect_eq(fc_run(t, wt, to, bpt, 8, true), 0, "%s -> %s, %d bytes: elements differ",
                             wn, tn, bpt);
                VmDiags vd;
                vm_diags_init(&vd, u.a);
                CgOptions o = {.sm = 90, .div16 = ~0ull};
                TirKernel *tv = NULL;
                cr_assert_eq(cg_lower(u.k, &o, u.a, &tv, &vd), CG_OK);
                cr_expect_eq(fc_run(tv, wt, to, bpt, 8, true), 0,
                             "%s -> %s, %d bytes (vector loads): elements differ", wn, tn, bpt);
                /* aligned: every word straight from a load (4-byte loads of
                 * bytes become word loads), none put together from bytes */
                cr_expect_eq(fc_byte_shifts(&tv->body), 0, "%s -> %s, %d bytes: bytes reassembled",
                             wn, tn, bpt);
                tu_free(&u);
            }
}

static void fc_defs(const TirBlock *b, const TirOp **def, int n)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        for (int j = 0; j < o->nd; j++)
            if (o->d[j] >= 0 && o->d[j] < n)
                def[o->d[j]] = o;
        fc_defs(&o->body, def, n);
        fc_defs(&o->orelse, def, n);
    }
}

static int fc_mark(const TirOp **def, bool *seen, int n, int r)
{
    if (r < 0 || r >= n || !def[r] || seen[r])
        return 0;
    const TirOp *o = def[r];
    if (o->op != TIR_OP_PRMT && o->op != TIR_OP_SHR && o->op != TIR_OP_SHL)
        return 0;
    seen[r] = true;
    int c = 1;
    for (int i = 0; i < o->na; i++)
        if (o->a[i].kind == TIR_A_REG)
            c += fc_mark(def, seen, n, o->a[i].reg);
    return c;
}

/* the prmt / shr / shl ops that make the lop3s' source registers */
static int fc_source_ops(const TirKernel *t)
{
    const TirOp **def = calloc((size_t)t->nregs + 1, sizeof *def);
    bool *seen = calloc((size_t)t->nregs + 1, 1);
    fc_defs(&t->body, def, t->nregs);
    int c = 0;
    for (int r = 0; r < t->nregs; r++)
        if (def[r] && def[r]->op == TIR_OP_LOP3 && def[r]->a[0].kind == TIR_A_REG)
            c += fc_mark(def, seen, t->nregs, def[r]->a[0].reg);
    free(def);
    free(seen);
    return c;
}

/* u3 -> f16, the GEMV's case: 32 codes in 3 words cost 16 lop3 + 16 add,
 * one pair (c, c + 4) each (the mma fragment's pairing, so no prmt per
 * register later), and the source registers: one shift where the pair's
 * bits lie in one word, a prmt + shr where they straddle two (4 pairs) */
Test(fastconv, u3_to_f16_about_one_instruction_per_code)
{
    TuKernel u = fc_kernel_bpt(VM_DT_U3, VM_DT_F16, 12);
    cr_assert(tu_lower_ok(&u));
    VmDiags vd;
    vm_diags_init(&vd, u.a);
    CgOptions o = {.sm = 90, .div16 = ~0ull};
    TirKernel *t = NULL;
    cr_assert_eq(cg_lower(u.k, &o, u.a, &t, &vd), CG_OK);
    int lop3 = tir_count(t, TIR_OP_LOP3), add = fc_pair_adds(&t->body);
    cr_expect_eq(lop3, 16);
    cr_expect_eq(add, 16);
    cr_expect_eq(tir_count(t, TIR_OP_FMA), 0);
    int src = fc_source_ops(t);
    cr_expect_leq(src, 12, "%d source ops", src);
    cr_expect_geq(src, 8, "%d source ops", src);
    cr_expect_eq(fc_run(t, VM_DT_U3, VM_DT_F16, 12, 8, true), 0);
    tu_free(&u);
}

/* a cast whose operand is not a view keeps the per-element path */
Test(fastconv, plain_cast_keeps_the_element_path)
{
    TuKernel u = tu_cast(VM_DT_U8, VM_DT_F16, 1);
    TirKernel *t = tu_lower_ok(&u);
    cr_assert(t);
    cr_expect_eq(tir_count(t, TIR_OP_PRMT), 0);
    cr_expect_eq(tir_count(t, TIR_OP_LOP3), 0);
    cr_expect_gt(tir_count(t, TIR_OP_CVT), 0);
    tu_free(&u);
}

/* both emitters print the fast instructions; ptxas takes the LLVM PTX */
Test(fastconv, emitters_carry_lop3_prmt_and_pairs)
{
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < 3; d++) {
            Dtype wt = srcs[s], to = dsts[d];
            TuKernel u = fc_kernel(wt, to);
            TirKernel *t = tu_lower_ok(&u);
            cr_assert(t);
            for (int a = 0; a < 2; a++) {
                CgTarget tg = {archs[a], 0, 2, NULL};
                char *ptx = NULL, *err = NULL;
                int rc = cg_emit_llvm(t, &tg, NULL, &ptx, &err);
                cr_assert_eq(rc, 0, "%s -> %s %s: %s", vm_dtype_name(wt), vm_dtype_name(to),
                             archs[a], err);
                assert_ptxas(ptx, archs[a]);
                if (vm_dtype_bits(wt) == 4) {
                    has(ptx, "lop3.b32");
                    /* LLVM 19 widens bf16x2 fma to f32 on sm_80 (exact here);
                     * on sm_90 fma with 1.0 becomes add.rn.bf16x2 */
                    if (to != VM_DT_BF16 || a == 1)
                        has(ptx, to != VM_DT_BF16 ? "f16x2" : "bf16x2");
                } else
                    has(ptx, "prmt.b32");
                free(ptx);
            }
            char *err = NULL, *cu = cg_emit_cuda(t, &err);
            cr_assert(cu, "%s -> %s: CUDA C: %s", vm_dtype_name(wt), vm_dtype_name(to), err);
            cr_expect(strstr(cu, vm_dtype_bits(wt) == 4 ? "lop3.b32" : "prmt.b32"),
                      "%s -> %s: no lop3/prmt in the CUDA C", vm_dtype_name(wt), vm_dtype_name(to));
            free(cu);
            tu_free(&u);
        }
}

/* the other widths: both emitters' PTX (the CUDA C through NVRTC when it is
 * there) through ptxas for sm_80 and sm_90, with lop3 and the pair fma */
Test(fastconv, emitters_every_width, .timeout = 300)
{
    const char *why = NULL;
    bool nvrtc = rt_nvrtc_load(NULL, &why) == 0;
    if (!nvrtc)
        cr_log_warn("fastconv: NVRTC not available, CUDA C not compiled: %s", why);
    for (int s = 0; s < FC_NINTS; s++)
        for (int d = 0; d < 3; d++) {
            Dtype wt = fc_ints[s], to = dsts[d];
            int bits = vm_dtype_bits(wt);
            if (bits == 4 || bits == 8)
                continue;
            const char *wn = vm_dtype_name(wt), *tn = vm_dtype_name(to);
            TuKernel u = fc_kernel_bpt(wt, to, fc_group_bytes(bits));
            TirKernel *t = tu_lower_ok(&u);
            cr_assert(t);
            for (int a = 0; a < 2; a++) {
                CgTarget tg = {archs[a], 0, 2, NULL};
                char *ptx = NULL, *err = NULL;
                cr_assert_eq(cg_emit_llvm(t, &tg, NULL, &ptx, &err), 0, "%s -> %s %s: %s", wn,
                             tn, archs[a], err);
                assert_ptxas(ptx, archs[a]);
                has(ptx, "lop3.b32");
                /* LLVM 19 widens bf16x2 arithmetic to f32 on sm_80 (exact
                 * here: the sums are small integers) */
                if (to != VM_DT_BF16)
                    has(ptx, "add.rn.f16x2");
                else if (a == 1)
                    has(ptx, "bf16x2");
                free(ptx);
            }
            char *err = NULL, *cu = cg_emit_cuda(t, &err);
            cr_assert(cu, "%s -> %s: CUDA C: %s", wn, tn, err);
            cr_expect(strstr(cu, "lop3.b32"), "%s -> %s: no lop3 in the CUDA C", wn, tn);
            for (int a = 0; nvrtc && a < 2; a++) {
                char arch[32], *ptx = NULL, *log = NULL;
                snprintf(arch, sizeof arch, "compute_%s", archs[a] + 3);
                cr_assert_eq(rt_nvrtc_compile(cu, "fastconv.cu", arch, &ptx, &log), 0,
                             "%s -> %s: NVRTC %s:\n%s", wn, tn, arch, log);
                assert_ptxas(ptx, archs[a]);
                has(ptx, "lop3.b32");
                has(ptx, to == VM_DT_BF16 ? "bf16x2" : "f16x2");
                free(ptx);
                free(log);
            }
            free(cu);
            tu_free(&u);
        }
}

/* ---------------------------------------------------------------- GEMV samples */

static uint64_t fc_rng = 0x9E3779B97F4A7C15ull;
static uint64_t fc_rnd(void)
{
    fc_rng ^= fc_rng << 13;
    fc_rng ^= fc_rng >> 7;
    fc_rng ^= fc_rng << 17;
    return fc_rng;
}

static Kernel *fc_sample(VmArena *a, const char *file, const char *spec)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/kernels/%s", tl_root(), file);
    size_t len = 0;
    char *src = tl_read(path, &len);
    cr_assert_not_null(src, "cannot read %s", path);
    Prog *p = NULL;
    LangDiags d;
    lang_diags_init(&d);
    LangStatus st = lang_compile(a, src, len, file, "gemv", spec, &p, &d);
    cr_assert_eq(st, LANG_OK, "%s [%s] does not compile", file, spec);
    lang_diags_free(&d);
    free(src);
    return p->kernels[0];
}

/* y = W x of a gemv sample on the TIR evaluator and the interpreter, both
 * checked against an f64 reference with w = (q - zero) * scale exact:
 * |got - ref| <= K eps32 sum|w x| + 1 ulp f16 + 2^-24; the two executors
 * may differ only in the order of their f32 sums. Returns the TIR. */
static TirKernel *fc_gemv_opt(VmArena *a, const char *file, const char *spec, Dtype wt,
                              int group, int64_t n, int64_t k, const CgOptions *opt)
{
    Kernel *K = fc_sample(a, file, spec);
    VmDiags vd;
    vm_diags_init(&vd, a);
    TirKernel *t = NULL;
    cr_assert_eq(cg_lower(K, opt, a, &t, &vd), CG_OK, "%s [%s]: %s", file, spec,
                 vd.n ? vd.v[0].msg : "?");
    int bits = vm_dtype_bits(wt), zero = 1 << (bits - 1);
    size_t wb = (size_t)(n * k * bits / 8), nx = (size_t)k, ns = (size_t)(n * (k / group));
    uint16_t *x = malloc(nx * 2), *s = malloc(ns * 2);
    uint8_t *w = malloc(wb), *w2 = malloc(wb);
    uint16_t *ya = calloc((size_t)n, 2), *yb = calloc((size_t)n, 2);
    for (size_t j = 0; j < nx; j++)
        x[j] = (uint16_t)vm_encode(VM_DT_F16, (double)((int64_t)(fc_rnd() % 2001) - 1000) / 997);
    for (size_t j = 0; j < ns; j++)
        s[j] = (uint16_t)vm_encode(VM_DT_F16, (double)(fc_rnd() % 1000 + 1) / 3001);
    for (size_t j = 0; j < wb; j++)
        w[j] = (uint8_t)fc_rnd();
    memcpy(w2, w, wb);
    uint16_t *x2 = malloc(nx * 2), *s2 = malloc(ns * 2);
    memcpy(x2, x, nx * 2);
    memcpy(s2, s, ns * 2);
    /* TIR params: the kernel's, in order (k, x, n, w, scale, y) */
    uint64_t pv[8];
    TeBuf tb[4] = {{x, nx * 2}, {w, wb}, {s, ns * 2}, {ya, (size_t)n * 2}};
    VmArg args[4];
    int64_t xs[1] = {k}, wsh[2] = {n, k * bits / 8}, ssh[2] = {n, k / group}, ysh[1] = {n};
    args[0] = vm_arg_tensor(x2, nx * 2, 1, xs);
    args[1] = vm_arg_tensor(w2, wb, 2, wsh);
    args[2] = vm_arg_tensor(s2, ns * 2, 2, ssh);
    args[3] = vm_arg_tensor(yb, (size_t)n * 2, 1, ysh);
    cr_assert_eq(t->nparams, 6);
    for (int p = 0; p < 6; p++) {
        const char *nm = t->params[p].name;
        pv[p] = !strcmp(nm, "k")       ? (uint64_t)k
                : !strcmp(nm, "n")     ? (uint64_t)n
                : !strcmp(nm, "x")     ? (uint64_t)(uintptr_t)x
                : !strcmp(nm, "w")     ? (uint64_t)(uintptr_t)w
                : !strcmp(nm, "scale") ? (uint64_t)(uintptr_t)s
                                       : (uint64_t)(uintptr_t)ya;
    }
    int64_t vals[16], grid[3];
    cr_assert(vm_launch_bind(K, args, 4, vals, grid, &vd), "%s: bind", file);
    int g[3] = {(int)grid[0], (int)grid[1], (int)grid[2]};
    TeVm ev;
    bool ok = te_run(&ev, t, pv, tb, 4, g);
    cr_expect(ok, "%s [%s]: %s", file, spec, ev.msg);
    te_free(&ev);
    cr_expect(vm_interp_launch(K, args, 4, NULL, &vd), "%s [%s]: interpreter", file, spec);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < k; j++) {
            Code q = vm_bits_get(w, (uint64_t)(i * k + j) * (uint64_t)bits, bits);
            double wv = ((double)q - zero) * vm_decode(VM_DT_F16, s[i * (k / group) + j / group]);
            double xv = vm_decode(VM_DT_F16, x[j]);
            ref += wv * xv;
            mag += fabs(wv * xv);
        }
        double ulp = ldexp(1, (int)floor(log2(fabs(ref) > 0x1p-14 ? fabs(ref) : 0x1p-14)) - 10);
        double bound = (double)k * 0x1p-23 * mag + ulp + 0x1p-24;
        double ga = vm_decode(VM_DT_F16, ya[i]), gb = vm_decode(VM_DT_F16, yb[i]);
        if ((!(fabs(ga - ref) <= bound) || !(fabs(gb - ref) <= bound)) && bad++ < 3)
            cr_expect_fail("%s [%s] n=%lld k=%lld: y[%lld] TIR %.9g, interpreter %.9g, ref %.9g, "
                           "bound %.3g", file, spec, (long long)n, (long long)k, (long long)i, ga,
                           gb, ref, bound);
    }
    cr_expect_eq(bad, 0);
    free(x), free(s), free(w), free(w2), free(x2), free(s2), free(ya), free(yb);
    return t;
}

static TirKernel *fc_gemv(VmArena *a, const char *file, const char *spec, Dtype wt, int group,
                          int64_t n, int64_t k)
{
    return fc_gemv_opt(a, file, spec, wt, group, n, k, NULL);
}

Test(fastconv, gemv_u4_matches_the_interpreter, .timeout = 300)
{
    static const struct {
        const char *spec;
        int group;
        int64_t n, k;
        Dtype wt;
    } cs[] = {{"wt=u4", 128, 37, 2048, VM_DT_U4}, {"wt=u4", 128, 9, 8320, VM_DT_U4},
              {"wt=u3", 128, 40, 1280, VM_DT_U3}, {"wt=u2", 128, 8, 1024, VM_DT_U2},
              {"wt=u8", 128, 8, 1024, VM_DT_U8}};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        VmArena *a = vm_arena_new();
        TirKernel *t = fc_gemv(a, "gemv_u4.lpk", cs[c].spec, cs[c].wt, cs[c].group, cs[c].n,
                               cs[c].k);
        /* the word-at-a-time conversion: lop3 + fma pairs, and the zero
         * point `q ^ zero` in the lop3 constants (tir_fold.c); whole bytes
         * (u8) convert by prmt instead and keep their xor */
        if (cs[c].wt != VM_DT_U8) {
            cr_expect_gt(tir_count(t, TIR_OP_LOP3), 0, "gemv_u4 [%s]: no lop3", cs[c].spec);
            cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_XOR, false), 0, "gemv_u4 [%s]: %d xor",
                         cs[c].spec, tu_in_inner_loops(&t->body, TIR_OP_XOR, false));
        }
        /* the weights' ring: one sync per k step, none more */
        cr_expect_eq(tu_in_inner_loops(&t->body, TIR_OP_BAR, false), 1,
                     "gemv_u4 [%s]: %d syncs in the k loop", cs[c].spec,
                     tu_in_inner_loops(&t->body, TIR_OP_BAR, false));
        vm_arena_free(a);
    }
}

Test(fastconv, gemv_u3_matches_the_interpreter, .timeout = 300)
{
    static const struct {
        const char *spec;
        Dtype wt;
        int group;
        int64_t n, k;
    } cs[] = {{"wt=u3,group=128", VM_DT_U3, 128, 37, 2048}, {"wt=u4,group=64", VM_DT_U4, 64, 11, 1280},
              {"wt=u3,group=32,rows=4", VM_DT_U3, 32, 20, 512}, {"wt=u3,group=128,rows=2,warps_k=4", VM_DT_U3, 128, 6, 4096}};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        VmArena *a = vm_arena_new();
        fc_gemv(a, "gemv_u3.lpk", cs[c].spec, cs[c].wt, cs[c].group, cs[c].n, cs[c].k);
        vm_arena_free(a);
    }
}

/* the variant launched with every address and integer a multiple of 16
 * (lpvm compile --aligned): the u3 codes' words come whole from word loads
 * (no bytes put together), 17 lop3 + fma pairs per 32 codes of a row */
Test(fastconv, gemv_u3_aligned_words_whole, .timeout = 300)
{
    static const struct {
        const char *spec;
        int rows;
        int64_t n, k;
    } cs[] = {{"wt=u3,group=128", 4, 48, 2048}, {"wt=u3,group=32,rows=4,warps_k=2", 4, 32, 512}};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        VmArena *a = vm_arena_new();
        CgOptions o = {.sm = 90, .div16 = ~0ull};
        int group = strstr(cs[c].spec, "group=32") ? 32 : 128;
        TirKernel *t = fc_gemv_opt(a, "gemv_u3.lpk", cs[c].spec, VM_DT_U3, group, cs[c].n,
                                   cs[c].k, &o);
        cr_expect_eq(fc_byte_shifts(&t->body), 0, "gemv_u3 [%s]: bytes reassembled", cs[c].spec);
        cr_expect_eq(tir_count(t, TIR_OP_LOP3), 17 * cs[c].rows, "gemv_u3 [%s]: %d lop3",
                     cs[c].spec, tir_count(t, TIR_OP_LOP3));
        vm_arena_free(a);
    }
}

/* golden: the u4 GEMV's PTX (LLVM, sm_90) converts with lop3 and f16x2 */
Test(fastconv, gemv_u4_ptx_uses_lop3)
{
    VmArena *a = vm_arena_new();
    Kernel *K = fc_sample(a, "gemv_u4.lpk", "group=128");
    VmDiags vd;
    vm_diags_init(&vd, a);
    TirKernel *t = NULL;
    cr_assert_eq(cg_lower(K, NULL, a, &t, &vd), CG_OK);
    CgTarget tg = {"sm_90", 0, 2, NULL};
    char *ptx = NULL, *err = NULL;
    cr_assert_eq(cg_emit_llvm(t, &tg, NULL, &ptx, &err), 0, "%s", err);
    assert_ptxas(ptx, "sm_90");
    /* 4 rows x 16 bytes = 16 words per lane and step, 4 lop3 each (the
     * zero point's xor folded into them) */
    cr_expect_geq(count(ptx, "lop3.b32"), 64, "lop3: %d", count(ptx, "lop3.b32"));
    cr_expect_geq(count(ptx, "sub.rn.f16x2") + count(ptx, "add.rn.f16x2"), 32);
    cr_expect_geq(count(ptx, "fma.rn.f16x2"), 32);
    free(ptx);
    vm_arena_free(a);
}

/* tests/test_emit_llvm_sem.c - the LLVM emitter (suite emit_llvm): the TIR
 * semantics it must keep, checked on kernels that LLVM's O2 folds to
 * constants (shift counts >= the width, .sat clamps, NaN compares, guards,
 * loops, break/continue/ret); errors as values; the PTX version rule; and
 * every kernel of samples/kernels at each `// spec:` line through
 * lang_compile, cg_lower, this emitter and ptxas, each failure listed with
 * its stage. */
#include "lang/lang.h"
#include "tests/emit_llvm_util.h"
#include "tests/lang_util.h"

/* ------------------------------------------------------------ semantics
 * With constant inputs and LLVM's O2 pipeline the whole kernel folds to
 * constant stores: the folded values are what LLVM believes the emitted IR
 * means, so they check the translation of TIR semantics (shift counts >=
 * the width, .sat clamps, NaN compares, guards, loops, break/continue/ret)
 * against values computed by hand. */

static int mov(B *b, TirType t, uint64_t v)
{
    int d = R(b, t, "k");
    opv(b, TIR_OP_MOV, t, 1, 1, d, i_((int64_t)v));
    return d;
}

static char *emit_o2(B *b)
{
    CgTarget t = {"sm_80", 0, 2, "default<O2>"};
    char *ptx = NULL, *err = NULL;
    int rc = cg_emit_llvm(b->k, &t, NULL, &ptx, &err);
    cr_assert_eq(rc, 0, "%s", err);
    assert_ptxas(ptx, "sm_80");
    return ptx;
}

/* out + 16 * s holds v: stored as an immediate, or from a register that a
 * mov set to v (ptxas-style PTX names each register once per function). */
static void stored(const char *ptx, int s, int bits, int64_t v)
{
    char pat[128], reg[32];
    snprintf(pat, sizeof pat, "st.global.u%d \t[%%rd1+%d], ", bits, 16 * s);
    const char *p = strstr(ptx, pat);
    cr_assert(p, "slot %d: '%s' not in the PTX:\n%s", s, pat, ptx);
    p += strlen(pat);
    size_t n = strcspn(p, ";");
    cr_assert(n < sizeof reg);
    memcpy(reg, p, n);
    reg[n] = 0;
    if (reg[0] == '%') {
        snprintf(pat, sizeof pat, " \t%s, %lld;", reg, (long long)v);
        cr_assert(strstr(ptx, pat), "slot %d: %s is not set to %lld:\n%s", s, reg, (long long)v,
                  ptx);
    } else {
        cr_assert_eq(strtoll(reg, NULL, 0), v, "slot %d: %s, not %lld", s, reg, (long long)v);
    }
}

Test(emit_llvm, folded_semantics)
{
    B *b = kb("fold", 1);
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0);
    TirBlock *save;
    /* 1..7: shifts by >= the width */
    put(b, out, V2(b, TIR_OP_SHL, TIR_B32, r_(mov(b, TIR_B32, 1)), r_(mov(b, TIR_U32, 32))));
    put(b, out, V2(b, TIR_OP_SHR, TIR_S32, r_(mov(b, TIR_S32, (uint32_t)-8)), r_(mov(b, TIR_U32, 40))));
    put(b, out, V2(b, TIR_OP_SHR, TIR_U32, r_(mov(b, TIR_U32, 0x80000000u)), r_(mov(b, TIR_U32, 31))));
    put(b, out, V2(b, TIR_OP_SHL, TIR_B64, r_(mov(b, TIR_B64, 1)), r_(mov(b, TIR_U32, 63))));
    put(b, out, V2(b, TIR_OP_SHR, TIR_U64, r_(mov(b, TIR_U64, ~0ull)), r_(mov(b, TIR_U32, 64))));
    put(b, out, V2(b, TIR_OP_SHL, TIR_B32, r_(mov(b, TIR_B32, 3)), r_(mov(b, TIR_U32, 0xFFFFFFFFu))));
    put(b, out, V2(b, TIR_OP_SHR, TIR_S64, r_(mov(b, TIR_S64, 1ull << 63)), r_(mov(b, TIR_U32, 200))));
    /* 8..15: int conversions */
    put(b, out, cvtr(b, TIR_S32, TIR_S8, TIR_S32, TIR_RND_NONE, 1, r_(mov(b, TIR_S32, 300))));
    put(b, out, cvtr(b, TIR_U32, TIR_U8, TIR_S32, TIR_RND_NONE, 1, r_(mov(b, TIR_S32, (uint32_t)-5))));
    put(b, out, cvtr(b, TIR_S32, TIR_S32, TIR_S8, TIR_RND_NONE, 0, r_(mov(b, TIR_U32, 0xFF))));
    put(b, out, cvtr(b, TIR_U32, TIR_U32, TIR_U8, TIR_RND_NONE, 0, r_(mov(b, TIR_U32, 0x1FF))));
    put(b, out, CVT(b, TIR_U32, TIR_S64, TIR_RND_NONE, 1, r_(mov(b, TIR_S64, ~0ull))));
    put(b, out, CVT(b, TIR_S32, TIR_U64, TIR_RND_NONE, 1, r_(mov(b, TIR_U64, ~0ull))));
    put(b, out, cvtr(b, TIR_S32, TIR_S16, TIR_S32, TIR_RND_NONE, 1, r_(mov(b, TIR_S32, (uint32_t)-40000))));
    put(b, out, cvtr(b, TIR_U32, TIR_U16, TIR_U32, TIR_RND_NONE, 0, r_(mov(b, TIR_U32, 0x12345))));
    /* 16..18: pack, unpack */
    int pk = R(b, TIR_B32, "pk");
    opv(b, TIR_OP_PACK, TIR_B32, 1, 2, pk, r_(mov(b, TIR_B16, 0x1234)), r_(mov(b, TIR_B16, 0x5678)))
        ->type2 = TIR_B16;
    put(b, out, pk);
    int lo = R(b, TIR_U32, "lo"), hi = R(b, TIR_U32, "hi");
    opv(b, TIR_OP_UNPACK, TIR_U32, 2, 1, lo, hi, r_(mov(b, TIR_B64, 0x1122334455667788ull)))
        ->type2 = TIR_B64;
    put(b, out, lo);
    put(b, out, hi);
    /* 19..21: NaN */
    int nan = mov(b, TIR_F32, 0x7FC00000u), one = mov(b, TIR_F32, 0x3F800000u);
    put(b, out, setp(b, TIR_CMP_NEU, TIR_F32, r_(nan), r_(nan)));
    put(b, out, setp(b, TIR_CMP_NE, TIR_F32, r_(nan), r_(one)));
    int mn = V2(b, TIR_OP_MIN, TIR_F32, r_(nan), r_(one));
    put(b, out, mn);
    /* 22: s = sum of the even i < 10, by break and continue */
    int i = mov(b, TIR_S32, 0), s = mov(b, TIR_S32, 0);
    TirOp *lp = ctl(b, TIR_OP_LOOP, -1);
    enter(b, &lp->body, &save);
    int stop = setp(b, TIR_CMP_GE, TIR_S32, r_(i), i_(10));
    ctl(b, TIR_OP_BREAK, -1)->guard = stop;
    int odd = V2(b, TIR_OP_AND, TIR_B32, r_(i), i_(1));
    TirOp *iff = ctl(b, TIR_OP_IF, setp(b, TIR_CMP_EQ, TIR_B32, r_(odd), i_(1)));
    TirBlock *save2;
    enter(b, &iff->body, &save2);
    ctl(b, TIR_OP_CONTINUE, -1);
    b->cur = save2;
    opv(b, TIR_OP_ADD, TIR_S32, 1, 2, s, r_(s), r_(i));
    b->cur = &lp->orelse;
    opv(b, TIR_OP_ADD, TIR_S32, 1, 2, i, r_(i), i_(1));
    b->cur = save;
    put(b, out, s);
    /* 23..25: guards */
    int f = setp(b, TIR_CMP_EQ, TIR_S32, r_(mov(b, TIR_S32, 1)), i_(2));
    int t = setp(b, TIR_CMP_EQ, TIR_S32, r_(mov(b, TIR_S32, 2)), i_(2));
    int g = mov(b, TIR_U32, 7), h = mov(b, TIR_U32, 5), hh = mov(b, TIR_U32, 5);
    int dd[1];
    TirOp *o = ld(b, TIR_SPACE_GLOBAL, out, 0, TIR_U32, TIR_U32, 1, dd);
    o->d[0] = g;
    o->guard = f;
    opv(b, TIR_OP_MOV, TIR_U32, 1, 1, h, i_(9))->guard = t;
    o = opv(b, TIR_OP_MOV, TIR_U32, 1, 1, hh, i_(9));
    o->guard = t;
    o->guard_neg = true;
    put(b, out, g);
    put(b, out, h);
    put(b, out, hh);
    /* 26: nested loops, the inner one left by break: sum of i for i < 4 */
    int n = mov(b, TIR_S32, 0), oi = mov(b, TIR_S32, 0);
    lp = ctl(b, TIR_OP_LOOP, -1);
    enter(b, &lp->body, &save);
    stop = setp(b, TIR_CMP_GE, TIR_S32, r_(oi), i_(4));
    ctl(b, TIR_OP_BREAK, -1)->guard = stop;
    int j = R(b, TIR_S32, "j");
    opv(b, TIR_OP_MOV, TIR_S32, 1, 1, j, i_(0));
    TirOp *in = ctl(b, TIR_OP_LOOP, -1);
    enter(b, &in->body, &save2);
    stop = setp(b, TIR_CMP_GE, TIR_S32, r_(j), r_(oi));
    ctl(b, TIR_OP_BREAK, -1)->guard = stop;
    opv(b, TIR_OP_ADD, TIR_S32, 1, 2, n, r_(n), i_(1));
    opv(b, TIR_OP_ADD, TIR_S32, 1, 2, j, r_(j), i_(1));
    b->cur = save2;
    opv(b, TIR_OP_ADD, TIR_S32, 1, 2, oi, r_(oi), i_(1));
    b->cur = save;
    put(b, out, n);
    /* 27: int -> f32 rounds to nearest even: 2^24 + 1 -> 2^24 */
    put(b, out, CVT(b, TIR_F32, TIR_S32, TIR_RND_RN, 0, r_(mov(b, TIR_S32, 16777217))));
    /* 28: if / else */
    int ie = mov(b, TIR_U32, 0);
    iff = ctl(b, TIR_OP_IF, t);
    enter(b, &iff->body, &save);
    opv(b, TIR_OP_MOV, TIR_U32, 1, 1, ie, i_(1));
    b->cur = &iff->orelse;
    opv(b, TIR_OP_MOV, TIR_U32, 1, 1, ie, i_(2));
    b->cur = save;
    put(b, out, ie);
    /* 29: ret inside an if: slot 30 is never written */
    iff = ctl(b, TIR_OP_IF, t);
    enter(b, &iff->body, &save);
    put(b, out, mov(b, TIR_U32, 11));
    ctl(b, TIR_OP_RET, -1);
    b->cur = save;
    put(b, out, mov(b, TIR_U32, 12));

    char *ptx = emit_o2(b);
    static const struct {
        int bits;
        int64_t v;
    } want[] = {
        {32, 0},          {32, -1},        {32, 1},          {64, INT64_MIN},
        {64, 0},          {32, 0},         {64, -1},         {32, 127},
        {32, 0},          {32, -1},        {32, 255},        {32, 0},
        {32, 2147483647}, {32, -32768},    {32, 0x2345},     {32, 0x56781234},
        {32, 0x55667788}, {32, 0x11223344}, {32, 1},         {32, 0},
        {32, 0x3F800000}, {32, 20},        {32, 7},          {32, 9},
        {32, 5},          {32, 6},         {32, 0x4B800000}, {32, 1},
        {32, 11},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        stored(ptx, (int)k + 1, want[k].bits, want[k].v);
    lacks(ptx, "+480]");
    lacks(ptx, "bra");
    free(ptx);
    vm_arena_free(b->a);
}

/* ------------------------------------------------------------ errors */

static char *emit_err(B *b, const char *arch)
{
    CgTarget t = {arch, 0, 2, NULL};
    char *ptx = (char *)1, *ir = (char *)1, *err = NULL;
    int rc = cg_emit_llvm(b->k, &t, &ir, &ptx, &err);
    cr_assert_eq(rc, -1, "emission succeeded:\n%s", ptx);
    cr_assert_null(ptx);
    cr_assert_null(ir);
    cr_assert(err && !strncmp(err, "emit_llvm: ", 11), "%s", err ? err : "(null)");
    return err;
}

static void expect_err(B *b, const char *arch, const char *what)
{
    char *err = emit_err(b, arch);
    cr_assert(strstr(err, what), "'%s' not in the error: %s", what, err);
    free(err);
    vm_arena_free(b->a);
}

Test(emit_llvm, error_arch)
{
    B *b = build_vadd();
    expect_err(b, "sm_70", "unknown GPU arch 'sm_70'");
    b = build_vadd();
    b->k->sm_needed = 90;
    expect_err(b, "sm_80", "needs sm_90, the target is sm_80");
}

Test(emit_llvm, error_float_to_int_needs_rni)
{
    B *b = kb("bad", 1);
    int x = param(b, "x", TIR_P_SCALAR, TIR_F32);
    TirOp *o = opv(b, TIR_OP_CVT, TIR_S32, 1, 1, R(b, TIR_S32, "i"), r_(x));
    o->type2 = TIR_F32;
    o->mod = TIR_RND_RN;
    o->line = 12;
    expect_err(b, "sm_80", "emit_llvm: line 12: cvt.s32: a float -> int cvt needs rni or rzi");
}

Test(emit_llvm, error_inexact_int_to_float_needs_rounding)
{
    B *b = kb("bad", 1);
    int i = param(b, "i", TIR_P_SCALAR, TIR_S32);
    TirOp *o = opv(b, TIR_OP_CVT, TIR_F16, 1, 1, R(b, TIR_F16, "h"), r_(i));
    o->type2 = TIR_S32;
    expect_err(b, "sm_80", "needs a rounding mode");
}

Test(emit_llvm, error_break_outside_loop)
{
    B *b = kb("bad", 1);
    ctl(b, TIR_OP_BREAK, -1);
    expect_err(b, "sm_80", "outside a loop");
}

Test(emit_llvm, error_width)
{
    B *b = kb("bad", 1);
    int p = param(b, "p", TIR_P_PTR, 0);
    int d[4];
    ld(b, TIR_SPACE_GLOBAL, p, 0, TIR_B32, TIR_B32, 4, d)->width = 8;
    expect_err(b, "sm_80", "4 x b32 is not 8 bytes");
}

Test(emit_llvm, error_register)
{
    B *b = kb("bad", 1);
    opv(b, TIR_OP_MOV, TIR_U32, 1, 1, 99, i_(0));
    expect_err(b, "sm_80", "register 99 does not exist");
}

Test(emit_llvm, error_type)
{
    B *b = kb("bad", 1);
    int x = param(b, "x", TIR_P_SCALAR, TIR_F32);
    V2(b, TIR_OP_REM, TIR_F32, r_(x), r_(x));
    expect_err(b, "sm_80", "rem.f32: not defined for f32");
    b = kb("bad", 1);
    x = param(b, "x", TIR_P_SCALAR, TIR_F32);
    int l = param(b, "l", TIR_P_SCALAR, TIR_S64);
    V2(b, TIR_OP_ADD, TIR_F32, r_(x), r_(l));
    expect_err(b, "sm_80", "a 64-bit value where a 32-bit one is expected");
}

Test(emit_llvm, error_mma_shape)
{
    B *b = kb("bad", 1);
    TirOp *o = tir_op_new(b->k, TIR_OP_MMA, TIR_F32);
    o->type2 = TIR_F16;
    o->str = "m16n8k16";
    for (int k = 0; k < 9; k++)
        o->a[k] = i_(0);
    o->na = 9;
    for (int k = 0; k < 4; k++)
        o->d[k] = R(b, TIR_F32, "d");
    o->nd = 4;
    tir_append(b->cur, o);
    expect_err(b, "sm_80", "mma register counts do not match");
}

/* LLVM's own messages come back too: tanh.approx is fine for ptxas on
 * sm_80, but a PTX version this LLVM cannot write is refused. */
Test(emit_llvm, ptx_version)
{
    B *b = build_vadd();
    b->k->ptx_needed = 84;
    char *ptx = emit(b, "sm_90");
    has(ptx, ".version 8.4");
    free(ptx);
    vm_arena_free(b->a);
    b = build_vadd();
    ptx = emit(b, "sm_90");
    has(ptx, ".version 7.8");
    free(ptx);
    vm_arena_free(b->a);
    b = build_vadd();
    b->k->ptx_needed = 99;
    expect_err(b, "sm_90", "PTX version 9.9 is not available");
}

/* ------------------------------------------------------------ samples */

typedef struct {
    char *s;
    size_t n;
    int failed;
} Report;

static void report(Report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(Report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    r->s = realloc(r->s, r->n + (size_t)n + 2);
    va_start(ap, fmt);
    vsnprintf(r->s + r->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->n += (size_t)n;
    r->s[r->n++] = '\n';
    r->s[r->n] = 0;
    r->failed++;
}

/* One (kernel, spec, arch): the stages in order; 1 built, 0 failed. */
static int sample(Report *r, const char *file, const char *text, size_t len, const char *kernel,
                  const char *spec, const char *arch)
{
    int sm = arch[3] == '9' ? 90 : 80, ok = 0;
    VmArena *va = vm_arena_new();
    LangDiags ld;
    lang_diags_init(&ld);
    Prog *p = NULL;
    VmDiags vd;
    vm_diags_init(&vd, va);
    TirKernel *tk = NULL;
    CgOptions opt = {.sm = sm};
    char *ptx = NULL, *err = NULL, *log = NULL;
    if (lang_compile(va, text, len, file, kernel, spec, &p, &ld) != LANG_OK) {
        char *m = lang_diags_render(&ld);
        report(r, "%s %s \"%s\": lang_compile: %s", file, kernel, spec, m);
        free(m);
    } else if (cg_lower(p->kernels[0], &opt, va, &tk, &vd) != CG_OK) {
        char m[512] = "(no diagnostic)";
        if (vd.n)
            vm_diag_format(&vd.v[0], m, sizeof m);
        report(r, "%s %s \"%s\" %s: cg_lower: %s", file, kernel, spec, arch, m);
    } else {
        CgTarget t = {arch, 0, 2, NULL};
        if (cg_emit_llvm(tk, &t, NULL, &ptx, &err)) {
            report(r, "%s %s \"%s\" %s: cg_emit_llvm: %s", file, kernel, spec, arch, err);
        } else {
            int st = ptxas(ptx, arch, true, &log);
            char entry[256];
            snprintf(entry, sizeof entry, ".entry %s(", tk->name);
            if (!strstr(ptx, entry)) {
                report(r, "%s %s \"%s\" %s: no '%s' in the PTX", file, kernel, spec, arch, entry);
            } else if (st > 0) {
                report(r, "%s %s \"%s\" %s: ptxas: %s", file, kernel, spec, arch, log);
            } else {
                const char *u = log ? strstr(log, "Used") : NULL;
                const char *sp = log ? strstr(log, "bytes stack frame") : NULL;
                while (sp && sp > log && sp[-1] != ':' && sp[-1] != '\n')
                    sp--;
                if (u)
                    cr_log_info("emit_llvm sample %s %s \"%s\" %s: %.*s; %.*s", file, kernel,
                                spec, arch, (int)strcspn(u, "\n"), u,
                                sp ? (int)strcspn(sp, "\n") : 0, sp ? sp : "");
                ok = 1;
            }
        }
    }
    free(ptx);
    free(err);
    free(log);
    lang_diags_free(&ld);
    vm_arena_free(va);
    return ok;
}

/* Every kernel of the repository (samples, test kernels, the stdlib) at
 * each of its spec lines, for sm_80 and sm_90. */
Test(emit_llvm, samples, .timeout = 900)
{
    static const char *const dirs[] = {"samples/kernels", "tests/kernels", "tests/lang", "stdlib"};
    int built = 0;
    Report r = {calloc(1, 1), 0, 0};
    for (size_t di = 0; di < sizeof dirs / sizeof dirs[0]; di++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", tl_root(), dirs[di]);
    char **files;
    int nf = tl_list(dir, ".lpk", &files);
    if (di == 0)
        cr_assert_gt(nf, 0, "no .lpk files in %s", dir);
    for (int fi = 0; fi < nf; fi++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
        size_t len;
        char *text = tl_read(path, &len);
        cr_assert_not_null(text, "cannot read %s", path);
        LangSpecLine *specs;
        int ns = lang_file_specs(text, len, &specs);
        LangDiags ld;
        lang_diags_init(&ld);
        char **kernels;
        int nk = 0;
        if (lang_list_kernels(text, len, files[fi], &kernels, &nk, &ld) != LANG_OK) {
            char *m = lang_diags_render(&ld);
            report(&r, "%s: %s", files[fi], m);
            free(m);
            nk = 0;
        }
        for (int si = 0; si < (ns ? ns : 1); si++)
            for (int ki = 0; ki < nk; ki++) {
                if (ns && specs[si].kernel && strcmp(specs[si].kernel, kernels[ki]))
                    continue;
                for (int ai = 0; ai < 2; ai++)
                    built += sample(&r, files[fi], text, len, kernels[ki],
                                    ns ? specs[si].spec : "", archs[ai]);
            }
        if (nk)
            lang_free_names(kernels, nk);
        lang_spec_lines_free(specs, ns);
        lang_diags_free(&ld);
        free(text);
    }
    tl_free_list(files, nf);
    }
    cr_log_info("emit_llvm samples: %d built, %d failures", built, r.failed);
    cr_expect_eq(r.failed, 0, "%d failures (%d built):\n%s", r.failed, built, r.s);
    cr_expect_gt(built, 0);
    free(r.s);
}

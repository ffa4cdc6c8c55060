/* tests/test_emit_llvm.c - the LLVM emitter (suite emit_llvm), op by op: TIR
 * kernels built by hand, emitted as PTX for sm_80 and sm_90, accepted by
 * ptxas, and grepped for the instructions TIR asked for (and for the absence
 * of those it did not ask for: no fma without an explicit one), register and
 * spill counts, asm attributes, the shared asm table, line directives.
 * Semantics, errors and the samples are in test_emit_llvm_sem.c. */
#include "tests/emit_llvm_util.h"

Test(emit_llvm, vadd)
{
    for (int a = 0; a < 2; a++) {
        B *b = build_vadd();
        char *ptx = emit(b, archs[a]);
        has(ptx, ".entry vadd(");
        lacks(ptx, ".maxntid");
        has(ptx, "add.rn.f32");
        has(ptx, "ld.global.f32");
        has(ptx, "st.global.f32");
        has(ptx, "%tid.x");
        has(ptx, "%ctaid.x");
        lacks(ptx, "fma");
        cr_assert(strstr(ptx, a ? ".target sm_90" : ".target sm_80"));
        free(ptx);
        vm_arena_free(b->a);
    }
}

Test(emit_llvm, names_in_ir)
{
    B *b = build_vadd();
    CgTarget t = {"sm_80", 0, 2, NULL};
    char *ir, *err;
    cr_assert_eq(cg_emit_llvm(b->k, &t, &ir, NULL, &err), 0, "%s", err);
    cr_assert(strstr(ir, "define ptx_kernel void @vadd(ptr addrspace(1) %a, ptr addrspace(1) %b, "
                         "ptr addrspace(1) %c, i32 %n)"),
              "%s", ir);
    cr_assert(strstr(ir, "%tid = alloca i32"), "%s", ir);
    cr_assert(strstr(ir, "llvm.nvvm.read.ptx.sreg.tid.x"), "%s", ir);
    free(ir);
    vm_arena_free(b->a);
}

/* A multiply and an add stay two roundings; the one explicit fma is one. */
Test(emit_llvm, no_contraction)
{
    for (int a = 0; a < 2; a++) {
        B *b = kb("contract", 1);
        int out = param(b, "out", TIR_P_PTR, 0);
        int x = param(b, "x", TIR_P_SCALAR, TIR_F32), y = param(b, "y", TIR_P_SCALAR, TIR_F32);
        int z = param(b, "z", TIR_P_SCALAR, TIR_F32);
        int m = V2(b, TIR_OP_MUL, TIR_F32, r_(x), r_(y));
        put(b, out, V2(b, TIR_OP_ADD, TIR_F32, r_(m), r_(z)));
        put(b, out, V3(b, TIR_OP_FMA, TIR_F32, r_(x), r_(z), r_(y)));
        char *ptx = emit(b, archs[a]);
        has(ptx, "mul.rn.f32");
        has(ptx, "add.rn.f32");
        cr_assert_eq(count(ptx, "fma"), 1, "%s", ptx);
        has(ptx, "fma.rn.f32");
        free(ptx);
        vm_arena_free(b->a);
    }
}

static B *build_arith(void)
{
    B *b = kb("arith", 2);
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0);
    int x = param(b, "x", TIR_P_SCALAR, TIR_F32), y = param(b, "y", TIR_P_SCALAR, TIR_F32);
    int i = param(b, "i", TIR_P_SCALAR, TIR_S32), j = param(b, "j", TIR_P_SCALAR, TIR_S32);
    int l = param(b, "l", TIR_P_SCALAR, TIR_S64);
    static const TirOpcode bin[] = {TIR_OP_ADD, TIR_OP_SUB, TIR_OP_MUL, TIR_OP_MIN, TIR_OP_MAX};
    static const TirOpcode un[] = {TIR_OP_NEG, TIR_OP_ABS};
    /* f32 and f64 */
    int xd = CVT(b, TIR_F64, TIR_F32, TIR_RND_NONE, 0, r_(x));
    int yd = CVT(b, TIR_F64, TIR_F32, TIR_RND_NONE, 0, r_(y));
    for (int f = 0; f < 2; f++) {
        TirType t = f ? TIR_F64 : TIR_F32;
        int p = f ? xd : x, q = f ? yd : y;
        for (size_t k = 0; k < 5; k++)
            put(b, out, V2(b, bin[k], t, r_(p), r_(q)));
        for (size_t k = 0; k < 2; k++)
            put(b, out, V1(b, un[k], t, r_(p)));
        put(b, out, V2(b, TIR_OP_DIV, t, r_(p), r_(q)));
        put(b, out, V1(b, TIR_OP_SQRT, t, r_(p)));
        put(b, out, V3(b, TIR_OP_FMA, t, r_(p), r_(q), r_(p)));
    }
    /* f16, bf16 and their pairs */
    int h = CVT(b, TIR_F16, TIR_F32, TIR_RND_RN, 0, r_(x));
    int g = CVT(b, TIR_F16, TIR_F32, TIR_RND_RN, 0, r_(y));
    int hb = CVT(b, TIR_BF16, TIR_F32, TIR_RND_RN, 0, r_(x));
    int gb = CVT(b, TIR_BF16, TIR_F32, TIR_RND_RN, 0, r_(y));
    int h2 = R(b, TIR_F16X2, "h2"), b2 = R(b, TIR_BF16X2, "b2");
    int g2 = R(b, TIR_F16X2, "g2"), e2 = R(b, TIR_BF16X2, "e2");
    opv(b, TIR_OP_PACK, TIR_F16X2, 1, 2, h2, r_(h), r_(g))->type2 = TIR_F16;
    opv(b, TIR_OP_PACK, TIR_BF16X2, 1, 2, b2, r_(hb), r_(gb))->type2 = TIR_BF16;
    opv(b, TIR_OP_PACK, TIR_F16X2, 1, 2, g2, r_(g), r_(h))->type2 = TIR_F16;
    opv(b, TIR_OP_PACK, TIR_BF16X2, 1, 2, e2, r_(gb), r_(hb))->type2 = TIR_BF16;
    TirType ht[4] = {TIR_F16, TIR_BF16, TIR_F16X2, TIR_BF16X2};
    int hp[4] = {h, hb, h2, b2}, hq[4] = {g, gb, g2, e2};
    for (int f = 0; f < 4; f++) {
        for (size_t k = 0; k < 5; k++)
            put(b, out, V2(b, bin[k], ht[f], r_(hp[f]), r_(hq[f])));
        for (size_t k = 0; k < 2; k++)
            put(b, out, V1(b, un[k], ht[f], r_(hp[f])));
        put(b, out, V3(b, TIR_OP_FMA, ht[f], r_(hp[f]), r_(hq[f]), r_(hp[f])));
    }
    /* ints */
    int u = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(i));
    int v = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(j));
    int ul = CVT(b, TIR_U64, TIR_S64, TIR_RND_NONE, 0, r_(l));
    int l2 = CVT(b, TIR_S64, TIR_S32, TIR_RND_NONE, 0, r_(j));
    static const TirOpcode ib[] = {TIR_OP_ADD, TIR_OP_SUB, TIR_OP_MUL, TIR_OP_DIV,
                                   TIR_OP_REM, TIR_OP_MIN, TIR_OP_MAX};
    TirType it[4] = {TIR_S32, TIR_U32, TIR_S64, TIR_U64};
    int ul2 = CVT(b, TIR_U64, TIR_U32, TIR_RND_NONE, 0, r_(v));
    int ip[4] = {i, u, l, ul}, iq[4] = {j, v, l2, ul2};
    for (int f = 0; f < 4; f++)
        for (size_t k = 0; k < 7; k++)
            put(b, out, V2(b, ib[k], it[f], r_(ip[f]), r_(iq[f])));
    put(b, out, V1(b, TIR_OP_NEG, TIR_S32, r_(i)));
    put(b, out, V1(b, TIR_OP_ABS, TIR_S32, r_(i)));
    put(b, out, V3(b, TIR_OP_MAD, TIR_S32, r_(i), r_(j), r_(i)));
    int w = R(b, TIR_S64, "w"), wu = R(b, TIR_U64, "wu");
    opv(b, TIR_OP_MULWIDE, TIR_S64, 1, 2, w, r_(i), r_(j))->type2 = TIR_S32;
    opv(b, TIR_OP_MULWIDE, TIR_U64, 1, 2, wu, r_(u), r_(v))->type2 = TIR_U32;
    put(b, out, w);
    put(b, out, wu);
    static const TirOpcode bits[] = {TIR_OP_AND, TIR_OP_OR, TIR_OP_XOR};
    for (size_t k = 0; k < 3; k++)
        put(b, out, V2(b, bits[k], TIR_B32, r_(u), r_(v)));
    put(b, out, V1(b, TIR_OP_NOT, TIR_B32, r_(u)));
    int c1 = R(b, TIR_U32, "clz"), c2 = R(b, TIR_U32, "popc"), c3 = R(b, TIR_U32, "clz64");
    opv(b, TIR_OP_CLZ, TIR_U32, 1, 1, c1, r_(u))->type2 = TIR_B32;
    opv(b, TIR_OP_POPC, TIR_U32, 1, 1, c2, r_(u))->type2 = TIR_B32;
    opv(b, TIR_OP_CLZ, TIR_U32, 1, 1, c3, r_(ul))->type2 = TIR_B64;
    put(b, out, c1);
    put(b, out, c2);
    put(b, out, c3);
    int p = setp(b, TIR_CMP_LT, TIR_S32, r_(i), r_(j));
    int q = setp(b, TIR_CMP_GE, TIR_U32, r_(u), r_(v));
    put(b, out, V2(b, TIR_OP_AND, TIR_PRED, r_(p), r_(q)));
    put(b, out, V2(b, TIR_OP_XOR, TIR_PRED, r_(p), r_(q)));
    put(b, out, V1(b, TIR_OP_NOT, TIR_PRED, r_(p)));
    return b;
}

Test(emit_llvm, arith)
{
    static const char *const want[] = {
        "add.rn.f32", "sub.rn.f32", "mul.rn.f32", "div.rn.f32", "sqrt.rn.f32", "min.f32",
        "max.f32", "neg.f32", "abs.f32", "fma.rn.f32", "add.rn.f64", "div.rn.f64",
        "sqrt.rn.f64", "fma.rn.f64", "min.f64", "add.rn.f16 ", "mul.rn.f16 ", "fma.rn.f16 ",
        "min.f16 ", "fma.rn.bf16 ", "min.bf16 ", "add.rn.f16x2", "fma.rn.f16x2",
        "max.f16x2", "fma.rn.bf16x2", "max.bf16x2", "div.s32", "div.u32",
        "div.s64", "div.u64", "min.s32", "max.u32", "min.s64", "max.u64", "abs.s32",
        "clz.b32", "popc.b32", "clz.b64", "not.b32",
        "xor.b32",
    };
    for (int a = 0; a < 2; a++) {
        B *b = build_arith();
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        /* bf16 add exists from sm_90; before, LLVM computes in f32 and rounds
         * once more, which is exact for add/sub/mul */
        has(ptx, a ? "add.rn.bf16 " : "cvt.rn.bf16.f32");
        cr_assert_eq(count(ptx, "fma.rn.f32"), 1, "%s", ptx);
        cr_assert_eq(count(ptx, "fma.rn.f64"), 1, "%s", ptx);
        free(ptx);
        vm_arena_free(b->a);
    }
}

static B *build_cvt(void)
{
    B *b = kb("conv", 1);
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0);
    int x = param(b, "x", TIR_P_SCALAR, TIR_F32), i = param(b, "i", TIR_P_SCALAR, TIR_S32);
    int l = param(b, "l", TIR_P_SCALAR, TIR_S64);
    int u = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(i));
    int xd = CVT(b, TIR_F64, TIR_F32, TIR_RND_NONE, 0, r_(x));
    int h = CVT(b, TIR_F16, TIR_F32, TIR_RND_RN, 0, r_(x));
    int hb = CVT(b, TIR_BF16, TIR_F32, TIR_RND_RN, 0, r_(x));
    put(b, out, h);
    put(b, out, hb);
    put(b, out, xd);
    /* float -> int: the saturating PTX cvt */
    put(b, out, CVT(b, TIR_S32, TIR_F32, TIR_RND_RNI, 0, r_(x)));
    put(b, out, CVT(b, TIR_U32, TIR_F32, TIR_RND_RZI, 0, r_(x)));
    put(b, out, cvtr(b, TIR_S32, TIR_S8, TIR_F32, TIR_RND_RZI, 0, r_(x)));
    put(b, out, cvtr(b, TIR_U32, TIR_U8, TIR_F32, TIR_RND_RNI, 1, r_(x)));
    put(b, out, CVT(b, TIR_S64, TIR_F64, TIR_RND_RNI, 0, r_(xd)));
    put(b, out, CVT(b, TIR_S32, TIR_F16, TIR_RND_RZI, 0, r_(h)));
    /* float -> float */
    put(b, out, CVT(b, TIR_F16, TIR_F32, TIR_RND_RZ, 0, r_(x)));
    put(b, out, CVT(b, TIR_F32, TIR_F16, TIR_RND_NONE, 0, r_(h)));
    put(b, out, CVT(b, TIR_F32, TIR_BF16, TIR_RND_NONE, 0, r_(hb)));
    int ld_ = CVT(b, TIR_F64, TIR_S64, TIR_RND_RN, 0, r_(l));
    put(b, out, CVT(b, TIR_F32, TIR_F64, TIR_RND_RN, 0, r_(ld_)));
    put(b, out, CVT(b, TIR_F32, TIR_F32, TIR_RND_RNI, 0, r_(x)));
    put(b, out, CVT(b, TIR_F32, TIR_F32, TIR_RND_NONE, 1, r_(x)));
    int p2 = R(b, TIR_F16X2, "p2"), q2 = R(b, TIR_BF16X2, "q2");
    TirOp *o = opv(b, TIR_OP_CVT, TIR_F16X2, 1, 2, p2, r_(x), f_(1.0));
    o->type2 = TIR_F32;
    o->mod = TIR_RND_RN;
    o = opv(b, TIR_OP_CVT, TIR_BF16X2, 1, 2, q2, r_(x), f_(-2.0));
    o->type2 = TIR_F32;
    o->mod = TIR_RND_RN;
    put(b, out, p2);
    put(b, out, q2);
    /* int -> float */
    put(b, out, CVT(b, TIR_F32, TIR_S32, TIR_RND_RN, 0, r_(i)));
    put(b, out, CVT(b, TIR_F32, TIR_U32, TIR_RND_RZ, 0, r_(u)));
    put(b, out, CVT(b, TIR_F32, TIR_U8, TIR_RND_NONE, 0, r_(u)));
    put(b, out, CVT(b, TIR_F16, TIR_S32, TIR_RND_RN, 0, r_(i)));
    put(b, out, CVT(b, TIR_F64, TIR_S64, TIR_RND_RN, 0, r_(l)));
    /* int -> int */
    put(b, out, cvtr(b, TIR_S32, TIR_S8, TIR_S32, TIR_RND_NONE, 1, r_(i)));
    put(b, out, cvtr(b, TIR_U32, TIR_U16, TIR_S32, TIR_RND_NONE, 1, r_(i)));
    put(b, out, CVT(b, TIR_S32, TIR_S8, TIR_RND_NONE, 0, r_(i)));
    put(b, out, CVT(b, TIR_S32, TIR_S64, TIR_RND_NONE, 1, r_(l)));
    put(b, out, CVT(b, TIR_U32, TIR_U64, TIR_RND_NONE, 0, r_(l)));
    put(b, out, CVT(b, TIR_S64, TIR_S32, TIR_RND_NONE, 0, r_(i)));
    return b;
}

Test(emit_llvm, cvt)
{
    static const char *const want[] = {
        "cvt.rn.f16.f32",   "cvt.rn.bf16.f32", "cvt.f64.f32",      "cvt.rni.s32.f32",
        "cvt.rzi.u32.f32",  "cvt.rzi.s8.f32",  "cvt.rni.sat.u8.f32", "cvt.rni.s64.f64",
        "cvt.rzi.s32.f16",  "cvt.rz.f16.f32",  "cvt.f32.f16",      "cvt.rn.f32.f64",
        "cvt.rni.f32.f32",  "cvt.sat.f32.f32", "cvt.rn.f16x2.f32", "cvt.rn.bf16x2.f32",
        "cvt.rn.f32.s32",   "cvt.rz.f32.u32",  "cvt.rn.f16.s32",   "cvt.rn.f64.s64",
        "cvt.s64.s32",
    };
    for (int a = 0; a < 2; a++) {
        B *b = build_cvt();
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        /* NaN -> 64-bit int is 0 as TIR says, not what the hardware gives */
        has(ptx, "setp.nan.f64 p, %fd");
        has(ptx, "@p mov.b64 %rd");
        /* .sat s32 -> s8 clamps to [-128, 127] */
        has(ptx, "-128");
        has(ptx, "127");
        has(ptx, "65535");
        free(ptx);
        vm_arena_free(b->a);
    }
}

static B *build_bits(void)
{
    B *b = kb("bits", 4);
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0);
    int u = param(b, "u", TIR_P_SCALAR, TIR_U32), c = param(b, "c", TIR_P_SCALAR, TIR_U32);
    int x = param(b, "x", TIR_P_SCALAR, TIR_F32), l = param(b, "l", TIR_P_SCALAR, TIR_S64);
    int s = CVT(b, TIR_S32, TIR_U32, TIR_RND_NONE, 0, r_(u));
    put(b, out, V2(b, TIR_OP_SHL, TIR_B32, r_(u), r_(c)));
    put(b, out, V2(b, TIR_OP_SHR, TIR_S32, r_(s), r_(c)));
    put(b, out, V2(b, TIR_OP_SHR, TIR_U32, r_(u), r_(c)));
    put(b, out, V2(b, TIR_OP_SHL, TIR_B64, r_(l), r_(c)));
    put(b, out, V2(b, TIR_OP_SHR, TIR_S64, r_(l), r_(c)));
    int bf = val(b, TIR_OP_BFE, TIR_U32, TIR_U32, 3, r_(u), r_(c), i_(5));
    int bs = val(b, TIR_OP_BFE, TIR_S32, TIR_S32, 3, r_(s), i_(4), r_(c));
    put(b, out, bf);
    put(b, out, bs);
    int lo = val(b, TIR_OP_LOP3, TIR_B32, TIR_B32, 3, r_(u), r_(c), i_(0x0F0F0F0F));
    b->k->body.last->imm = 0xEA;
    put(b, out, lo);
    put(b, out, V3(b, TIR_OP_PRMT, TIR_B32, r_(u), r_(c), i_(0x5410)));
    put(b, out, setp(b, TIR_CMP_NEU, TIR_F32, r_(x), f_(1.5)));
    put(b, out, setp(b, TIR_CMP_NAN, TIR_F32, r_(x), r_(x)));
    int p = setp(b, TIR_CMP_LE, TIR_S64, r_(l), i_(-3));
    put(b, out, val(b, TIR_OP_SELP, TIR_F32, TIR_F32, 3, r_(x), f_(2.0), r_(p)));
    static const TirShfl sh[] = {TIR_SHFL_BFLY, TIR_SHFL_IDX, TIR_SHFL_UP, TIR_SHFL_DOWN};
    for (int k = 0; k < 4; k++) {
        int d = R(b, TIR_B32, "sh");
        opv(b, TIR_OP_SHFL, TIR_B32, 1, 3, d, r_(u), i_(k + 1), i_(k == 2 ? 0 : 31))->mod = sh[k];
        put(b, out, d);
    }
    int fs = R(b, TIR_F32, "fsh");
    opv(b, TIR_OP_SHFL, TIR_B32, 1, 3, fs, r_(x), i_(16), i_(31))->mod = TIR_SHFL_BFLY;
    put(b, out, fs);
    opv(b, TIR_OP_BAR, TIR_PRED, 0, 0);
    put(b, out, sreg(b, TIR_SR_LANEID, "lane"));
    put(b, out, sreg(b, TIR_SR_CTAID_Y, "cy"));
    put(b, out, sreg(b, TIR_SR_NCTAID_X, "nx"));
    static const TirOpcode ap[] = {TIR_OP_EX2, TIR_OP_LG2, TIR_OP_SIN, TIR_OP_COS,
                                   TIR_OP_RSQRT, TIR_OP_TANH, TIR_OP_RCP};
    for (int k = 0; k < 7; k++)
        put(b, out, V1(b, ap[k], TIR_F32, r_(x)));
    return b;
}

Test(emit_llvm, bits_shfl_sync_approx)
{
    static const char *const want[] = {
        "bfe.u32",          "bfe.s32",          "lop3.b32",         ", 0xEA;",
        "prmt.b32",         "setp.neu.f32",     "setp.nan.f32",     "shfl.sync.bfly.b32",
        "shfl.sync.idx.b32", "shfl.sync.up.b32", "shfl.sync.down.b32", "bar.sync",
        "%laneid",          "%ctaid.y",         "%nctaid.x",        "ex2.approx.f32",
        "lg2.approx.f32",   "sin.approx.f32",   "cos.approx.f32",   "rsqrt.approx.f32",
        "tanh.approx.f32",  "rcp.approx.f32",   "shl.b32",          "shr.s32",
        "shr.u32",          "shl.b64",          "shr.s64",
    };
    for (int a = 0; a < 2; a++) {
        B *b = build_bits();
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        lacks(ptx, ".ftz");
        free(ptx);
        vm_arena_free(b->a);
    }
}

static B *build_mem(void)
{
    B *b = kb("mem", 2);
    b->k->shared_bytes = 4096;
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0), in = param(b, "in", TIR_P_PTR, 0);
    int so = param(b, "so", TIR_P_SCALAR, TIR_S32);
    int sa = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(so));
    int d[8];
    ld(b, TIR_SPACE_GLOBAL, in, 0, TIR_U32, TIR_U8, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 1, TIR_S32, TIR_S8, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 2, TIR_S32, TIR_S16, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 4, TIR_F32, TIR_F32, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 8, TIR_B64, TIR_B64, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 8, TIR_F16, TIR_F16, 1, d);
    put(b, out, d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 16, TIR_B32, TIR_B32, 2, d);
    st(b, TIR_SPACE_GLOBAL, out, 1024, TIR_B32, TIR_B32, 2, d[1], d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 32, TIR_B32, TIR_B32, 4, d);
    st(b, TIR_SPACE_GLOBAL, out, 2048, TIR_B32, TIR_B32, 4, d[3], d[2], d[1], d[0]);
    ld(b, TIR_SPACE_GLOBAL, in, 48, TIR_F16X2, TIR_B32, 4, d);
    st(b, TIR_SPACE_SHARED, sa, 16, TIR_F16X2, TIR_B32, 4, d[0], d[1], d[2], d[3]);
    st(b, TIR_SPACE_GLOBAL, out, 3, TIR_U32, TIR_U8, 1, sa);
    st(b, TIR_SPACE_GLOBAL, out, 6, TIR_U32, TIR_U16, 1, sa);
    opv(b, TIR_OP_BAR, TIR_PRED, 0, 0);
    ld(b, TIR_SPACE_SHARED, sa, 32, TIR_B32, TIR_B32, 4, d);
    st(b, TIR_SPACE_GLOBAL, out, 4096, TIR_B32, TIR_B32, 4, d[0], d[1], d[2], d[3]);
    ld(b, TIR_SPACE_SHARED, sa, 0, TIR_U32, TIR_U8, 1, d);
    put(b, out, d[0]);
    /* guarded: a load that leaves 7 where the guard is false, a store */
    int p = setp(b, TIR_CMP_GT, TIR_S32, r_(so), i_(100));
    int g = R(b, TIR_U32, "g");
    opv(b, TIR_OP_MOV, TIR_U32, 1, 1, g, i_(7));
    TirOp *o = tir_op_new(b->k, TIR_OP_LD, TIR_U32);
    o->type2 = TIR_U32;
    o->width = 4;
    o->a[0] = r_(in);
    o->na = 1;
    o->d[0] = g;
    o->nd = 1;
    o->guard = p;
    tir_append(b->cur, o);
    put(b, out, g);
    st(b, TIR_SPACE_GLOBAL, out, 5000, TIR_U32, TIR_U32, 1, g)->guard = p;
    o = st(b, TIR_SPACE_GLOBAL, out, 5004, TIR_U32, TIR_U32, 1, g);
    o->guard = p;
    o->guard_neg = true;
    return b;
}

Test(emit_llvm, memory)
{
    static const char *const want[] = {
        "ld.global.u8",      "ld.global.s8",     "ld.global.s16",
        "ld.global.v2.u32",  "ld.global.v4.u32", "st.global.v2.u32", "st.global.v4.u32",
        "st.shared.v4.u32",  "ld.shared.v4.u32", "ld.shared.u8",     "st.global.u8",
        "st.global.u16",     ".extern .shared .align 16 .b8 lpvm_smem[]",
    };
    for (int a = 0; a < 2; a++) {
        B *b = build_mem();
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        has(ptx, "@%p");
        free(ptx);
        vm_arena_free(b->a);
    }
}

static TirOp *atom(B *b, TirAtomOp op, TirType t, TirSem sem, TirScope sc, TirSpace sp, int d,
                   int addr, int64_t off, int na, TirArg x, TirArg y)
{
    TirOp *o = tir_op_new(b->k, TIR_OP_ATOM, t);
    o->mod = op;
    o->sem = sem;
    o->scope = sc;
    o->space = sp;
    o->off = off;
    o->a[0] = r_(addr);
    o->a[1] = x;
    o->a[2] = y;
    o->na = na;
    if (d >= 0) {
        o->d[0] = d;
        o->nd = 1;
    }
    tir_append(b->cur, o);
    return o;
}

Test(emit_llvm, atomics)
{
    static const char *const want[] = {
        "atom.relaxed.gpu.global.add.u32",  "atom.acquire.gpu.global.cas.b32",
        "atom.release.gpu.global.exch.b32", "atom.acq_rel.sys.global.add.f32",
        "atom.relaxed.cta.shared.add.u32",  "atom.relaxed.gpu.global.max.s32",
        "atom.relaxed.gpu.global.add.u64",  "fence.acq_rel.gpu",
        "atom.relaxed.gpu.global.add.noftz.f16",
    };
    for (int a = 0; a < 2; a++) {
        B *b = kb("atomics", 1);
        b->k->shared_bytes = 256;
        slot = 0;
        int out = param(b, "out", TIR_P_PTR, 0), lock = param(b, "lock", TIR_P_PTR, 0);
        int so = param(b, "so", TIR_P_SCALAR, TIR_S32);
        int sa = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(so));
        int old = R(b, TIR_U32, "old"), prev = R(b, TIR_B32, "prev");
        int f = R(b, TIR_F32, "f"), sh = R(b, TIR_U32, "sh"), mx = R(b, TIR_S32, "mx");
        int wide = R(b, TIR_U64, "wide"), h = R(b, TIR_F16, "h");
        int one = CVT(b, TIR_F16, TIR_F32, TIR_RND_RN, 0, f_(1.0));
        atom(b, TIR_ATOM_ADD, TIR_U32, TIR_SEM_RELAXED, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, old,
             out, 0, 2, i_(1), i_(0));
        atom(b, TIR_ATOM_CAS, TIR_B32, TIR_SEM_ACQUIRE, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, prev,
             lock, 0, 3, i_(0), i_(1));
        atom(b, TIR_ATOM_EXCH, TIR_B32, TIR_SEM_RELEASE, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, -1,
             lock, 0, 2, i_(0), i_(0));
        atom(b, TIR_ATOM_ADD, TIR_F32, TIR_SEM_ACQ_REL, TIR_SCOPE_SYS, TIR_SPACE_GLOBAL, f, out,
             16, 2, f_(0.5), i_(0));
        atom(b, TIR_ATOM_ADD, TIR_U32, TIR_SEM_RELAXED, TIR_SCOPE_CTA, TIR_SPACE_SHARED, sh, sa,
             8, 2, i_(3), i_(0));
        atom(b, TIR_ATOM_MAX, TIR_S32, TIR_SEM_RELAXED, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, mx, out,
             32, 2, r_(so), i_(0));
        atom(b, TIR_ATOM_ADD, TIR_U64, TIR_SEM_RELAXED, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, wide,
             out, 40, 2, i_(5), i_(0));
        atom(b, TIR_ATOM_ADD, TIR_F16, TIR_SEM_RELAXED, TIR_SCOPE_GPU, TIR_SPACE_GLOBAL, h, out,
             48, 2, r_(one), i_(0));
        opv(b, TIR_OP_FENCE, TIR_PRED, 0, 0)->scope = TIR_SCOPE_GPU;
        int vals[] = {old, prev, f, sh, mx, wide, h};
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
            put(b, out, vals[k]);
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        has(ptx, "[%r");  /* the shared atom takes a 32-bit shared address */
        has(ptx, "+8]");
        free(ptx);
        vm_arena_free(b->a);
    }
}

static B *build_tensor(void)
{
    B *b = kb("tensor", 4);
    b->k->shared_bytes = 16384;
    b->k->sm_needed = 80;
    slot = 0;
    int out = param(b, "out", TIR_P_PTR, 0), in = param(b, "in", TIR_P_PTR, 0);
    int so = param(b, "so", TIR_P_SCALAR, TIR_S32), n = param(b, "n", TIR_P_SCALAR, TIR_S32);
    int sa = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(so));
    int sz = CVT(b, TIR_U32, TIR_S32, TIR_RND_NONE, 0, r_(n));
    static const int widths[] = {4, 8, 16, 16};
    for (int k = 0; k < 4; k++) {
        TirOp *o = tir_op_new(b->k, TIR_OP_CP_ASYNC, TIR_B32);
        o->width = widths[k];
        o->flag = k == 3;
        o->off = 64 * k;
        o->a[0] = r_(sa);
        o->a[1] = r_(in);
        o->a[2] = r_(sz);
        o->na = k == 3 ? 3 : 2;
        tir_append(b->cur, o);
    }
    opv(b, TIR_OP_CP_COMMIT, TIR_PRED, 0, 0);
    opv(b, TIR_OP_CP_WAIT, TIR_PRED, 0, 0)->imm = 1;
    opv(b, TIR_OP_CP_WAIT, TIR_PRED, 0, 0)->imm = 0;
    opv(b, TIR_OP_BAR, TIR_PRED, 0, 0);
    int a[4], bb[2], c[4], d[4], bt[2];
    TirOp *o = tir_op_new(b->k, TIR_OP_LDMATRIX, TIR_B32);
    o->imm = 4;
    o->a[0] = r_(sa);
    o->na = 1;
    for (int k = 0; k < 4; k++)
        o->d[k] = a[k] = R(b, TIR_B32, "a");
    o->nd = 4;
    tir_append(b->cur, o);
    o = tir_op_new(b->k, TIR_OP_LDMATRIX, TIR_B32);
    o->imm = 2;
    o->flag = true;
    o->off = 512;
    o->a[0] = r_(sa);
    o->na = 1;
    for (int k = 0; k < 2; k++)
        o->d[k] = bb[k] = R(b, TIR_B32, "b");
    o->nd = 2;
    tir_append(b->cur, o);
    o = tir_op_new(b->k, TIR_OP_LDMATRIX, TIR_B32);
    o->imm = 1;
    o->off = 1024;
    o->a[0] = r_(sa);
    o->na = 1;
    o->d[0] = bt[0] = R(b, TIR_B32, "bt");
    o->nd = 1;
    tir_append(b->cur, o);
    bt[1] = bb[0];
    for (int k = 0; k < 4; k++) {
        c[k] = R(b, TIR_F32, "c");
        opv(b, TIR_OP_MOV, TIR_F32, 1, 1, c[k], f_(0.25 * k));
    }
    /* f16 x f16 -> f32, bf16 x bf16 -> f32, f16 x f16 -> f16, s8 x s8 -> s32 */
    static const TirType at[4] = {TIR_F16, TIR_BF16, TIR_F16, TIR_S8};
    static const TirType ct[4] = {TIR_F32, TIR_F32, TIR_F16X2, TIR_S32};
    static const char *const shape[4] = {"m16n8k16", "m16n8k16", "m16n8k16", "m16n8k32"};
    for (int m = 0; m < 4; m++) {
        int nc = ct[m] == TIR_F16X2 ? 2 : 4;
        o = tir_op_new(b->k, TIR_OP_MMA, ct[m]);
        o->type2 = at[m];
        o->str = shape[m];
        int na = 0;
        for (int k = 0; k < 4; k++)
            o->a[na++] = r_(a[k]);
        for (int k = 0; k < 2; k++)
            o->a[na++] = r_(m == 1 ? bt[k] : bb[k]);
        for (int k = 0; k < nc; k++) {
            if (ct[m] == TIR_F32)
                o->a[na++] = r_(c[k]);
            else
                o->a[na++] = i_(0);
            o->d[k] = d[k] = R(b, ct[m], "d");
        }
        o->na = na;
        o->nd = nc;
        tir_append(b->cur, o);
        for (int k = 0; k < nc; k++)
            put(b, out, d[k]);
    }
    return b;
}

Test(emit_llvm, tensor_core_and_async_copies)
{
    static const char *const want[] = {
        "cp.async.ca.shared.global [%r",
        ", 4;",
        ", 8;",
        "cp.async.cg.shared.global",
        "+192], [%rd",
        "cp.async.commit_group;",
        "cp.async.wait_group 1;",
        "cp.async.wait_group 0;",
        "bar.sync",
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x1.shared.b16",
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32",
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
        "mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16",
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32",
    };
    for (int a = 0; a < 2; a++) {
        B *b = build_tensor();
        char *ptx = emit(b, archs[a]);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            has(ptx, want[k]);
        cr_assert_eq(count(ptx, "cp.async.ca"), 3, "%s", ptx);
        cr_assert_eq(count(ptx, "mma.sync"), 4, "%s", ptx);
        free(ptx);
        vm_arena_free(b->a);
    }
}

/* ptxas -v: registers and spills, logged for the record; none may spill. */
Test(emit_llvm, resource_usage)
{
    B *(*builders[])(void) = {build_vadd, build_tensor, build_arith};
    for (size_t k = 0; k < 3; k++) {
        for (int a = 0; a < 2; a++) {
            B *b = builders[k]();
            char *ptx = emit(b, archs[a]), *log;
            int st = ptxas(ptx, archs[a], true, &log);
            if (st == -1)
                cr_skip_test("ptxas not found under %s", cuda_home());
            cr_assert_eq(st, 0, "%s", log);
            const char *u = strstr(log, "Used");
            cr_assert(u, "%s", log);
            cr_log_info("emit_llvm: %s %s: %.*s", b->k->name, archs[a], (int)strcspn(u, "\n"), u);
            cr_assert(strstr(log, "0 bytes spill stores, 0 bytes spill loads"), "%s", log);
            cr_assert(strstr(log, "0 bytes stack frame"), "%s", log);
            free(log);
            free(ptx);
            vm_arena_free(b->a);
        }
    }
}

Test(emit_llvm, printf)
{
    for (int a = 0; a < 2; a++) {
        B *b = kb("show", 1);
        int x = param(b, "x", TIR_P_SCALAR, TIR_F32), i = param(b, "i", TIR_P_SCALAR, TIR_S32);
        int l = param(b, "l", TIR_P_SCALAR, TIR_S64);
        int xd = CVT(b, TIR_F64, TIR_F32, TIR_RND_NONE, 0, r_(x));
        TirOp *o = opv(b, TIR_OP_PRINTF, TIR_PRED, 0, 3, r_(i), r_(xd), r_(l));
        o->str = "i=%d x=%f l=%lld\n";
        opv(b, TIR_OP_PRINTF, TIR_PRED, 0, 0)->str = "no arguments\n";
        int p = setp(b, TIR_CMP_EQ, TIR_S32, r_(i), i_(0));
        o = opv(b, TIR_OP_PRINTF, TIR_PRED, 0, 2, r_(x), r_(p));
        o->str = "%f %d\n";
        char *ptx = emit(b, archs[a]);
        has(ptx, ".extern .func  (.param .b32 func_retval0) vprintf");
        cr_assert_eq(count(ptx, "call.uni"), 3, "%s", ptx);
        has(ptx, ".b8 fmt[18] = {105, 61, 37, 100, 32, 120, 61, 37, 102, 32, 108,");
        free(ptx);
        vm_arena_free(b->a);
    }
}

/* The shared table: the same text whatever the emitter. */
Test(emit_llvm, asm_table)
{
    B *b = kb("tbl", 1);
    int u = R(b, TIR_U32, "u"), v = R(b, TIR_U32, "v"), d = R(b, TIR_U32, "d");
    TirOp *o = opv(b, TIR_OP_LOP3, TIR_B32, 1, 3, d, r_(u), r_(v), i_(0xFF));
    o->imm = 0x96;
    CgAsm a;
    const char *why = NULL;
    cr_assert_eq(cg_asm_for(b->k, o, &a, &why), 0, "%s", why);
    cr_assert_str_eq(a.text, "lop3.b32 $0, $1, $2, $3, 0x96;");
    cr_assert_eq(a.n, 4);
    cr_assert_eq(a.nout, 1);
    cr_assert_eq(a.opd[0].kind, CG_ASM_OUT);
    cr_assert_eq(a.opd[3].kind, CG_ASM_IN);
    cr_assert_eq(a.opd[3].cons, 'r');
    cr_assert(!a.memory && !a.convergent);
    o = tir_op_new(b->k, TIR_OP_ATOM, TIR_B32);
    o->mod = TIR_ATOM_CAS;
    o->sem = TIR_SEM_ACQUIRE;
    o->scope = TIR_SCOPE_GPU;
    o->space = TIR_SPACE_SHARED;
    o->off = 16;
    o->a[0] = r_(u);
    o->a[1] = i_(0);
    o->a[2] = r_(v);
    o->na = 3;
    cr_assert_eq(cg_asm_for(b->k, o, &a, &why), 0, "%s", why);
    cr_assert_str_eq(a.text, "atom.acquire.gpu.shared.cas.b32 $0, [$1+16], $2, $3;");
    cr_assert_eq(a.opd[0].kind, CG_ASM_DUMMY);
    cr_assert_eq(a.opd[1].kind, CG_ASM_ADDR);
    cr_assert_eq(a.opd[1].cons, 'r');
    cr_assert(a.memory);
    o = tir_op_new(b->k, TIR_OP_CVT, TIR_F16X2);
    o->type2 = TIR_F32;
    o->mod = TIR_RND_RN;
    o->d[0] = d;
    o->nd = 1;
    o->a[0] = r_(u);
    o->a[1] = r_(v);
    o->na = 2;
    cr_assert_eq(cg_asm_for(b->k, o, &a, &why), 0, "%s", why);
    cr_assert_str_eq(a.text, "cvt.rn.f16x2.f32 $0, $2, $1;");
    o->type = TIR_S64;
    o->type2 = TIR_F32;
    o->mod = TIR_RND_RZI;
    o->na = 1;
    o->d[0] = R(b, TIR_S64, "l");
    cr_assert_eq(cg_asm_for(b->k, o, &a, &why), 0, "%s", why);
    cr_assert_str_eq(a.text, "{ .reg .pred p; setp.nan.f32 p, $1, $1; cvt.rzi.s64.f32 $0, $1; "
                             "@p mov.b64 $0, 0; }");
    cr_assert_eq(a.opd[0].cons, 'l');
    cr_assert_eq(a.opd[1].cons, 'r'); /* u is a u32 register, whatever the op says */
    o->op = TIR_OP_ADD;
    cr_assert_eq(cg_asm_for(b->k, o, &a, &why), -1);
    cr_assert_str_eq(why, "the op has no inline asm form");
    vm_arena_free(b->a);
}

/* Pure asm is memory(none) (free to move, CSE or drop), memory asm is
 * volatile with a memory clobber, warp-wide asm is convergent. */
Test(emit_llvm, asm_attributes)
{
    B *b = build_tensor();
    CgTarget t = {"sm_80", 0, 2, NULL};
    char *ir, *err;
    cr_assert_eq(cg_emit_llvm(b->k, &t, &ir, NULL, &err), 0, "%s", err);
    cr_assert(strstr(ir, "call void asm sideeffect \"cp.async.commit_group;\", \"~{memory}\"()"),
              "%s", ir);
    cr_assert(strstr(ir, "asm sideeffect \"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {$0, $1, $2, "
                         "$3}, [$4];\", \"=r,=r,=r,=r,r,~{memory}\""),
              "%s", ir);
    const char *m = strstr(ir, "asm \"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32");
    cr_assert(m, "%s", ir);
    const char *attr = strstr(m, ") #");
    cr_assert(attr, "%s", ir);
    char key[32];
    snprintf(key, sizeof key, "attributes #%d = {", atoi(attr + 3));
    const char *def = strstr(ir, key);
    cr_assert(def, "%s", ir);
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(def, "\n"), def);
    cr_assert(strstr(line, "convergent") && strstr(line, "memory(none)"), "%s", line);
    free(ir);
    vm_arena_free(b->a);
}

/* Source lines become .file/.loc directives, without `.target ..., debug`
 * (which changes how ptxas compiles); without lines there are none. */
Test(emit_llvm, line_directives)
{
    B *b = build_vadd();
    b->k->file = "vadd.lpk";
    int n = 0;
    for (TirOp *o = b->k->body.first; o; o = o->next)
        o->line = 10 + n++;
    for (TirOp *o = b->k->body.last->body.first; o; o = o->next)
        o->line = 20;
    char *ptx = emit(b, "sm_80");
    has(ptx, ".file\t1 \"vadd.lpk\"");
    has(ptx, ".loc\t1 20 0");
    has(ptx, ".loc\t1 11 0");
    has(ptx, ".target sm_80\n");
    lacks(ptx, "debug\n");
    free(ptx);
    vm_arena_free(b->a);
    b = build_vadd();
    ptx = emit(b, "sm_80");
    lacks(ptx, ".loc");
    lacks(ptx, ".file");
    free(ptx);
    vm_arena_free(b->a);
}

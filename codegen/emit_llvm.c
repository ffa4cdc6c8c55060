/* codegen/emit_llvm.c - the LLVM emitter: TIR -> an LLVM module through the
 * LLVM C API -> PTX (CODEGEN.md 3). This file: the module, the kernel
 * function and its registers, memory and sync ops, printf, structured control
 * flow and the entry point; value ops are in emit_llvm_ops.c.
 *
 * Input: a TirKernel (trusted to follow codegen.h's TIR semantics, checked
 * only for what would otherwise crash LLVM: register ids, operand counts,
 * types). Output: PTX from cg_llvm_emit_ptx, optionally the LLVM IR text.
 *
 * The emitter decides nothing: every instruction, width and guard comes from
 * TIR. Registers are zero-initialized allocas in the entry block, so a value
 * that is never written (a guarded load whose guard is false) is a defined 0
 * rather than undef; SROA turns them into SSA values. A guarded op becomes
 * a branch around it (the pass pipeline turns cheap ones into selects or
 * predicated instructions). Control flow is structured: if -> then/else/merge
 * blocks; loop -> body, latch, exit; break/continue/ret end the current
 * block and emission continues in a fresh unreachable block.
 *
 * Memory: global addresses are u64 registers cast to `ptr addrspace(1)`
 * (ld.global/st.global); shared offsets are added to @lpvm_smem in
 * addrspace(3); multi-register accesses are vector loads/stores aligned to
 * their width. Everything else that touches memory (atom, ldmatrix,
 * cp.async, fences) is cg_asm_for's inline asm, volatile with a memory
 * clobber. One LLVMContext per call: emitters may run on several threads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>

#include "codegen/emit_llvm.h"

/* ------------------------------------------------------------ helpers */

static char *vfmt(const char *f, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, f, aq);
    va_end(aq);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, f, ap);
    return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

void em_fail(Em *e, const TirOp *o, const char *f, ...)
{
    if (e->err)
        return;
    va_list ap;
    va_start(ap, f);
    char *msg = vfmt(f, ap);
    va_end(ap);
    if (o && o->line)
        e->err = fmt("emit_llvm: line %d: %s.%s: %s", o->line, tir_op_name(o->op),
                     tir_type_name(o->type), msg ? msg : "?");
    else if (o)
        e->err = fmt("emit_llvm: %s.%s: %s", tir_op_name(o->op), tir_type_name(o->type),
                     msg ? msg : "?");
    else
        e->err = fmt("emit_llvm: %s", msg ? msg : "?");
    free(msg);
}

LLVMTypeRef em_type(Em *e, TirType t)
{
    switch (t) {
    case TIR_PRED: return e->i1;
    case TIR_B16: return e->i16;
    case TIR_B64: case TIR_U64: case TIR_S64: return e->i64;
    case TIR_F16: return e->f16;
    case TIR_BF16: return e->bf16;
    case TIR_F32: return e->f32;
    case TIR_F64: return e->f64;
    case TIR_F16X2: return e->v2f16;
    case TIR_BF16X2: return e->v2bf16;
    default: return e->i32; /* 32-bit ints and the 8/16-bit conversion types */
    }
}

static int type_bits(Em *e, LLVMTypeRef ty)
{
    switch (LLVMGetTypeKind(ty)) {
    case LLVMIntegerTypeKind: return (int)LLVMGetIntTypeWidth(ty);
    case LLVMHalfTypeKind: case LLVMBFloatTypeKind: return 16;
    case LLVMFloatTypeKind: return 32;
    case LLVMDoubleTypeKind: return 64;
    case LLVMVectorTypeKind:
        return (int)LLVMGetVectorSize(ty) * type_bits(e, LLVMGetElementType(ty));
    default: return 0;
    }
}

LLVMValueRef em_const(Em *e, TirType t, uint64_t bits)
{
    LLVMTypeRef ty = em_type(e, t);
    int n = type_bits(e, ty), tb = tir_type_bits(t);
    if (tb > 1 && tb < n) { /* an 8/16-bit conversion type in a 32-bit register */
        bits &= (1ull << tb) - 1;
        if (tir_type_is_signed(t) && (bits >> (tb - 1) & 1))
            bits |= ~((1ull << tb) - 1);
    }
    if (n < 64)
        bits &= (1ull << n) - 1;
    if (LLVMGetTypeKind(ty) == LLVMIntegerTypeKind)
        return LLVMConstInt(ty, bits, 0);
    return LLVMConstBitCast(LLVMConstInt(LLVMIntTypeInContext(e->ctx, (unsigned)n), bits, 0), ty);
}

LLVMValueRef em_coerce(Em *e, const TirOp *o, LLVMValueRef v, LLVMTypeRef ty)
{
    LLVMTypeRef from = LLVMTypeOf(v);
    if (from == ty)
        return v;
    int a = type_bits(e, from), b = type_bits(e, ty);
    if (a == b && a > 1)
        return LLVMBuildBitCast(e->b, v, ty, "");
    em_fail(e, o, "a %d-bit value where a %d-bit one is expected", a, b);
    return LLVMGetUndef(ty);
}

const char *em_name(Em *e, int reg)
{
    const char *n = e->k->regs[reg].name;
    return n && *n ? n : "r";
}

static bool reg_ok(Em *e, const TirOp *o, int reg)
{
    if (reg >= 0 && reg < e->k->nregs)
        return true;
    em_fail(e, o, "register %d does not exist", reg);
    return false;
}

LLVMValueRef em_reg(Em *e, int reg)
{
    return LLVMBuildLoad2(e->b, em_type(e, e->k->regs[reg].type), e->slot[reg], em_name(e, reg));
}

LLVMValueRef em_arg(Em *e, const TirOp *o, int i, TirType want)
{
    LLVMTypeRef ty = em_type(e, want);
    if (i >= o->na) {
        em_fail(e, o, "argument %d is missing", i);
        return LLVMGetUndef(ty);
    }
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_IMM)
        return em_const(e, want, a->imm);
    if (a->kind != TIR_A_REG || !reg_ok(e, o, a->reg)) {
        em_fail(e, o, "argument %d is missing", i);
        return LLVMGetUndef(ty);
    }
    return em_coerce(e, o, em_reg(e, a->reg), ty);
}

void em_set(Em *e, const TirOp *o, int reg, LLVMValueRef v)
{
    if (!reg_ok(e, o, reg))
        return;
    v = em_coerce(e, o, v, em_type(e, e->k->regs[reg].type));
    if (LLVMIsAInstruction(v) && !*LLVMGetValueName(v))
        LLVMSetValueName2(v, em_name(e, reg), strlen(em_name(e, reg)));
    LLVMBuildStore(e->b, v, e->slot[reg]);
}

LLVMValueRef em_call(Em *e, const char *intrinsic, LLVMTypeRef *ovl, int novl,
                     LLVMValueRef *args, int nargs, const char *name)
{
    unsigned id = LLVMLookupIntrinsicID(intrinsic, strlen(intrinsic));
    if (!id) {
        em_fail(e, NULL, "LLVM %d has no intrinsic %s", LPVM_LLVM_VERSION, intrinsic);
        return NULL;
    }
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->m, id, ovl, (size_t)novl);
    LLVMTypeRef fty = LLVMIntrinsicGetType(e->ctx, id, ovl, (size_t)novl);
    bool is_void = LLVMGetTypeKind(LLVMGetReturnType(fty)) == LLVMVoidTypeKind;
    return LLVMBuildCall2(e->b, fty, fn, args, (unsigned)nargs, is_void ? "" : name);
}

static LLVMValueRef smem(Em *e)
{
    if (!e->smem) {
        LLVMTypeRef ty = LLVMArrayType2(e->i8, 0);
        e->smem = LLVMAddGlobalInAddressSpace(e->m, ty, "lpvm_smem", 3);
        LLVMSetLinkage(e->smem, LLVMExternalLinkage);
        LLVMSetAlignment(e->smem, 16);
    }
    return e->smem;
}

LLVMValueRef em_smem_base(Em *e) { return LLVMBuildPtrToInt(e->b, smem(e), e->i32, "smem"); }

static void call_attr(Em *e, LLVMValueRef call, const char *name, uint64_t val)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex,
                             LLVMCreateEnumAttribute(e->ctx, kind, val));
}

/* ------------------------------------------------------------ inline asm */

static LLVMTypeRef asm_type(Em *e, const CgAsmOperand *p)
{
    switch (p->cons) {
    case 'h': {
        LLVMTypeRef t = em_type(e, p->type);
        return type_bits(e, t) == 16 ? t : e->i16;
    }
    case 'l': return e->i64;
    case 'f': return e->f32;
    case 'd': return e->f64;
    default: return e->i32;
    }
}

static LLVMValueRef addr_value(Em *e, const TirOp *o, const CgAsmOperand *p)
{
    if (p->cons == 'l')
        return em_arg(e, o, p->idx, TIR_U64);
    return LLVMBuildAdd(e->b, em_smem_base(e), em_arg(e, o, p->idx, TIR_U32), "saddr");
}

bool em_asm(Em *e, const TirOp *o)
{
    CgAsm a;
    const char *why;
    if (cg_asm_for(e->k, o, &a, &why)) {
        em_fail(e, o, "%s", why);
        return false;
    }
    LLVMTypeRef oty[CG_ASM_MAX], ity[CG_ASM_MAX];
    LLVMValueRef ival[CG_ASM_MAX];
    char cons[CG_ASM_MAX * 4 + 16];
    size_t n = 0;
    int nin = 0;
    for (int i = 0; i < a.n; i++) {
        const CgAsmOperand *p = &a.opd[i];
        bool isout = p->kind == CG_ASM_OUT || p->kind == CG_ASM_DUMMY;
        n += (size_t)snprintf(cons + n, sizeof cons - n, "%s%s%c", i ? "," : "",
                              isout ? "=" : "", p->cons);
        if (isout) {
            oty[i] = asm_type(e, p);
            continue;
        }
        ity[nin] = asm_type(e, p);
        LLVMValueRef v = p->kind == CG_ASM_ADDR ? addr_value(e, o, p) : em_arg(e, o, p->idx, p->type);
        ival[nin] = em_coerce(e, o, v, ity[nin]);
        nin++;
    }
    if (a.memory)
        snprintf(cons + n, sizeof cons - n, "%s~{memory}", a.n ? "," : "");
    LLVMTypeRef ret = a.nout == 0   ? LLVMVoidTypeInContext(e->ctx)
                      : a.nout == 1 ? oty[0]
                                    : LLVMStructTypeInContext(e->ctx, oty, (unsigned)a.nout, 0);
    LLVMTypeRef fty = LLVMFunctionType(ret, ity, (unsigned)nin, 0);
    LLVMValueRef fn = LLVMGetInlineAsm(fty, a.text, strlen(a.text), cons, strlen(cons), a.memory,
                                       0, LLVMInlineAsmDialectATT, 0);
    LLVMValueRef call = LLVMBuildCall2(e->b, fty, fn, ival, (unsigned)nin, a.nout ? "asm" : "");
    call_attr(e, call, "nounwind", 0);
    if (!a.memory)
        call_attr(e, call, "memory", 0); /* memory(none) */
    if (a.convergent)
        call_attr(e, call, "convergent", 0);
    for (int i = 0; i < a.nout; i++) {
        if (a.opd[i].kind != CG_ASM_OUT)
            continue;
        LLVMValueRef v = a.nout == 1 ? call : LLVMBuildExtractValue(e->b, call, (unsigned)i, "");
        em_set(e, o, o->d[a.opd[i].idx], v);
    }
    return !e->err;
}

/* ------------------------------------------------------------ memory */

static LLVMValueRef address(Em *e, const TirOp *o)
{
    if (o->space == TIR_SPACE_SHARED) {
        LLVMValueRef off = em_arg(e, o, 0, TIR_U32);
        if (o->off)
            off = LLVMBuildAdd(e->b, off, LLVMConstInt(e->i32, (uint64_t)o->off, 0), "");
        LLVMValueRef idx = LLVMBuildZExt(e->b, off, e->i64, "");
        return LLVMBuildGEP2(e->b, e->i8, smem(e), &idx, 1, "sptr");
    }
    LLVMValueRef a = em_arg(e, o, 0, TIR_U64);
    if (o->off)
        a = LLVMBuildAdd(e->b, a, LLVMConstInt(e->i64, (uint64_t)o->off, 0), "");
    return LLVMBuildIntToPtr(e->b, a, e->gptr, "gptr");
}

/* Element count and memory type of a LD/ST, checked against its width. */
static LLVMTypeRef mem_elem(Em *e, const TirOp *o, int n)
{
    int bits = tir_type_bits(o->type2);
    int w = o->width;
    if ((w != 1 && w != 2 && w != 4 && w != 8 && w != 16) || n < 1 || bits < 8 ||
        n * bits != 8 * w) {
        em_fail(e, o, "%d x %s is not %d bytes (widths 1, 2, 4, 8, 16)", n,
                tir_type_name(o->type2), w);
        return NULL;
    }
    TirType t = o->type2;
    if (t == TIR_F16 || t == TIR_BF16 || t == TIR_F32 || t == TIR_F64)
        return em_type(e, t);
    return LLVMIntTypeInContext(e->ctx, (unsigned)bits);
}

static bool em_ld(Em *e, const TirOp *o)
{
    if (o->sem != TIR_SEM_RELAXED) /* ld.acquire: the shared asm table */
        return em_asm(e, o);
    LLVMTypeRef el = mem_elem(e, o, o->nd);
    if (!el)
        return false;
    LLVMTypeRef ty = o->nd > 1 ? LLVMVectorType(el, (unsigned)o->nd) : el;
    LLVMValueRef ld = LLVMBuildLoad2(e->b, ty, address(e, o), "ld");
    LLVMSetAlignment(ld, (unsigned)o->width);
    LLVMTypeRef rty = em_type(e, o->type);
    int rb = type_bits(e, rty), mb = type_bits(e, el);
    if (rb < mb || (rb > mb && LLVMGetTypeKind(rty) != LLVMIntegerTypeKind)) {
        em_fail(e, o, "a %s register cannot hold %s memory", tir_type_name(o->type),
                tir_type_name(o->type2));
        return false;
    }
    for (int i = 0; i < o->nd; i++) {
        LLVMValueRef v = o->nd > 1 ? LLVMBuildExtractElement(e->b, ld, LLVMConstInt(e->i32, (uint64_t)i, 0), "")
                                   : ld;
        if (rb > mb)
            v = tir_type_is_signed(o->type2) ? LLVMBuildSExt(e->b, v, rty, "")
                                             : LLVMBuildZExt(e->b, v, rty, "");
        em_set(e, o, o->d[i], em_coerce(e, o, v, rty));
    }
    return !e->err;
}

static bool em_st(Em *e, const TirOp *o)
{
    if (o->sem != TIR_SEM_RELAXED) /* st.release: the shared asm table */
        return em_asm(e, o);
    int n = o->na - 1;
    LLVMTypeRef el = mem_elem(e, o, n);
    if (!el)
        return false;
    LLVMTypeRef rty = em_type(e, o->type);
    int rb = type_bits(e, rty), mb = type_bits(e, el);
    if (rb < mb || (rb > mb && LLVMGetTypeKind(rty) != LLVMIntegerTypeKind)) {
        em_fail(e, o, "a %s register cannot be stored as %s", tir_type_name(o->type),
                tir_type_name(o->type2));
        return false;
    }
    LLVMValueRef ptr = address(e, o);
    LLVMValueRef val = n > 1 ? LLVMGetUndef(LLVMVectorType(el, (unsigned)n)) : NULL;
    for (int i = 0; i < n; i++) {
        LLVMValueRef v = em_arg(e, o, i + 1, o->type);
        v = rb > mb ? LLVMBuildTrunc(e->b, v, el, "") : em_coerce(e, o, v, el);
        val = n > 1 ? LLVMBuildInsertElement(e->b, val, v, LLVMConstInt(e->i32, (uint64_t)i, 0), "")
                    : v;
    }
    LLVMValueRef st = LLVMBuildStore(e->b, val, ptr);
    LLVMSetAlignment(st, (unsigned)o->width);
    return !e->err;
}

/* vprintf(format, buffer): the arguments are laid out as C varargs would be
 * (32-bit ints as i32, 64-bit ints as i64, floats promoted to double), each
 * aligned to its size, in one stack buffer allocated in the entry block. */
static bool em_printf(Em *e, const TirOp *o)
{
    if (!e->vprintf) {
        LLVMTypeRef ps[2] = {e->ptr, e->ptr};
        e->vprintf = LLVMAddFunction(e->m, "vprintf", LLVMFunctionType(e->i32, ps, 2, 0));
    }
    const char *s = o->str ? o->str : "";
    LLVMValueRef init = LLVMConstStringInContext2(e->ctx, s, strlen(s), 0);
    LLVMValueRef g = LLVMAddGlobalInAddressSpace(e->m, LLVMTypeOf(init), "fmt", 1);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    LLVMValueRef args[2] = {LLVMBuildAddrSpaceCast(e->b, g, e->ptr, ""), LLVMConstNull(e->ptr)};
    if (o->na > 0) {
        LLVMTypeRef ft[TIR_MAX_ARG];
        LLVMValueRef fv[TIR_MAX_ARG];
        for (int i = 0; i < o->na; i++) {
            const TirArg *a = &o->a[i];
            TirType t = a->kind == TIR_A_REG && reg_ok(e, o, a->reg) ? e->k->regs[a->reg].type
                                                                     : TIR_B64;
            LLVMValueRef v = em_arg(e, o, i, t);
            if (tir_type_is_float(t) && t != TIR_F64) {
                if (t == TIR_F16X2 || t == TIR_BF16X2) {
                    em_fail(e, o, "printf of a packed %s", tir_type_name(t));
                    return false;
                }
                v = LLVMBuildFPExt(e->b, v, e->f64, "");
            } else if (t == TIR_PRED) {
                v = LLVMBuildZExt(e->b, v, e->i32, "");
            }
            ft[i] = LLVMTypeOf(v);
            fv[i] = v;
        }
        LLVMTypeRef st = LLVMStructTypeInContext(e->ctx, ft, (unsigned)o->na, 0);
        LLVMValueRef buf = LLVMBuildAlloca(e->ab, st, "printf.args");
        for (int i = 0; i < o->na; i++)
            LLVMBuildStore(e->b, fv[i], LLVMBuildStructGEP2(e->b, st, buf, (unsigned)i, ""));
        args[1] = buf;
    }
    LLVMBuildCall2(e->b, LLVMGlobalGetValueType(e->vprintf), e->vprintf, args, 2, "");
    return !e->err;
}

/* ------------------------------------------------------------ control flow */

static void em_block(Em *e, const TirBlock *b);

static LLVMBasicBlockRef new_bb(Em *e, const char *name)
{
    return LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
}

/* Ends the current block with a branch to bb (NULL: ret) and continues in a
 * fresh block that nothing reaches. */
static void jump(Em *e, LLVMBasicBlockRef bb)
{
    if (bb)
        LLVMBuildBr(e->b, bb);
    else
        LLVMBuildRetVoid(e->b);
    LLVMPositionBuilderAtEnd(e->b, new_bb(e, "dead"));
}

static void em_if(Em *e, const TirOp *o)
{
    LLVMValueRef c = em_arg(e, o, 0, TIR_PRED);
    LLVMBasicBlockRef then = new_bb(e, "then");
    LLVMBasicBlockRef els = o->orelse.first ? new_bb(e, "else") : NULL;
    LLVMBasicBlockRef end = new_bb(e, "endif");
    LLVMBuildCondBr(e->b, c, then, els ? els : end);
    LLVMPositionBuilderAtEnd(e->b, then);
    em_block(e, &o->body);
    LLVMBuildBr(e->b, end);
    if (els) {
        LLVMPositionBuilderAtEnd(e->b, els);
        em_block(e, &o->orelse);
        LLVMBuildBr(e->b, end);
    }
    LLVMPositionBuilderAtEnd(e->b, end);
}

/* loop: body, then latch, then body again; `continue` in the body jumps to
 * the latch (in the latch: to the body), `break` to the exit. */
static void em_loop(Em *e, const TirOp *o)
{
    if (e->nloops == EM_MAX_LOOPS) {
        em_fail(e, o, "loops nested deeper than %d", EM_MAX_LOOPS);
        return;
    }
    LLVMBasicBlockRef body = new_bb(e, "loop"), latch = new_bb(e, "latch");
    LLVMBasicBlockRef exit = new_bb(e, "endloop");
    LLVMBuildBr(e->b, body);
    LLVMPositionBuilderAtEnd(e->b, body);
    EmLoop *l = &e->loops[e->nloops++];
    *l = (EmLoop){latch, exit};
    em_block(e, &o->body);
    LLVMBuildBr(e->b, latch);
    LLVMPositionBuilderAtEnd(e->b, latch);
    l->cont = body;
    em_block(e, &o->orelse);
    LLVMBuildBr(e->b, body);
    e->nloops--;
    LLVMPositionBuilderAtEnd(e->b, exit);
}

static void em_op_body(Em *e, const TirOp *o)
{
    if (o->nd < 0 || o->nd > TIR_MAX_DST || o->na < 0 || o->na > TIR_MAX_ARG) {
        em_fail(e, o, "%d destinations, %d arguments", o->nd, o->na);
        return;
    }
    switch (o->op) {
    case TIR_OP_LD: em_ld(e, o); return;
    case TIR_OP_ST: em_st(e, o); return;
    case TIR_OP_ATOM:
    case TIR_OP_LDMATRIX:
    case TIR_OP_CP_ASYNC:
    case TIR_OP_CP_COMMIT:
    case TIR_OP_CP_WAIT:
    case TIR_OP_FENCE:
        em_asm(e, o);
        return;
    case TIR_OP_BAR: em_call(e, "llvm.nvvm.barrier0", NULL, 0, NULL, 0, ""); return;
    case TIR_OP_PRINTF: em_printf(e, o); return;
    case TIR_OP_NOTE: return;
    case TIR_OP_IF: em_if(e, o); return;
    case TIR_OP_LOOP: em_loop(e, o); return;
    case TIR_OP_BREAK:
    case TIR_OP_CONTINUE:
        if (!e->nloops) {
            em_fail(e, o, "outside a loop");
            return;
        }
        jump(e, o->op == TIR_OP_BREAK ? e->loops[e->nloops - 1].brk
                                      : e->loops[e->nloops - 1].cont);
        return;
    case TIR_OP_RET: jump(e, NULL); return;
    default: em_value_op(e, o); return;
    }
}

static void em_op(Em *e, const TirOp *o)
{
    if (e->sp && o->line > 0 && o->line != e->line) {
        e->line = o->line;
        LLVMSetCurrentDebugLocation2(
            e->b, LLVMDIBuilderCreateDebugLocation(e->ctx, (unsigned)o->line, 0, e->sp, NULL));
    }
    if (o->guard < 0) {
        em_op_body(e, o);
        return;
    }
    if (!reg_ok(e, o, o->guard))
        return;
    LLVMValueRef p = em_coerce(e, o, em_reg(e, o->guard), e->i1);
    LLVMBasicBlockRef then = new_bb(e, "guarded"), end = new_bb(e, "unguarded");
    if (o->guard_neg)
        LLVMBuildCondBr(e->b, p, end, then);
    else
        LLVMBuildCondBr(e->b, p, then, end);
    LLVMPositionBuilderAtEnd(e->b, then);
    em_op_body(e, o);
    LLVMBuildBr(e->b, end);
    LLVMPositionBuilderAtEnd(e->b, end);
}

static void em_block(Em *e, const TirBlock *b)
{
    for (const TirOp *o = b->first; o && !e->err; o = o->next)
        em_op(e, o);
}

/* ------------------------------------------------------------ the kernel */

static bool has_lines(const TirBlock *b)
{
    for (const TirOp *o = b->first; o; o = o->next)
        if (o->line > 0 || has_lines(&o->body) || has_lines(&o->orelse))
            return true;
    return false;
}

/* Line directives only (.file/.loc in the PTX): profilers map instructions
 * to the .lpk source; the code is the same with or without them. */
static void debug_info(Em *e)
{
    const TirKernel *k = e->k;
    if (!has_lines(&k->body))
        return;
    const char *file = k->file && *k->file ? k->file : k->name;
    e->dib = LLVMCreateDIBuilder(e->m);
    LLVMMetadataRef f = LLVMDIBuilderCreateFile(e->dib, file, strlen(file), "", 0);
    /* 3 = DebugDirectivesOnly (no C enum for it): .file/.loc without DWARF
     * sections and without `.target ..., debug`, which makes ptxas compile
     * differently (gemv u4 on sm_80: 54 registers instead of 48) */
    LLVMDIBuilderCreateCompileUnit(e->dib, LLVMDWARFSourceLanguageC, f, "lpvm", 4, 1, "", 0, 0,
                                   "", 0, (LLVMDWARFEmissionKind)3, 0, 0, 0, "", 0, "", 0);
    LLVMMetadataRef ty = LLVMDIBuilderCreateSubroutineType(e->dib, f, NULL, 0, LLVMDIFlagZero);
    e->sp = LLVMDIBuilderCreateFunction(e->dib, f, k->name, strlen(k->name), k->name,
                                        strlen(k->name), f, 0, ty, 0, 1, 0, LLVMDIFlagZero, 1);
    LLVMSetSubprogram(e->fn, e->sp);
    LLVMAddModuleFlag(e->m, LLVMModuleFlagBehaviorWarning, "Debug Info Version", 18,
                      LLVMValueAsMetadata(LLVMConstInt(e->i32, LLVMDebugMetadataVersion(), 0)));
    LLVMAddModuleFlag(e->m, LLVMModuleFlagBehaviorWarning, "Dwarf Version", 13,
                      LLVMValueAsMetadata(LLVMConstInt(e->i32, 2, 0)));
}

static void build(Em *e)
{
    const TirKernel *k = e->k;
    LLVMTypeRef *pt = calloc((size_t)k->nparams + 1, sizeof *pt);
    e->slot = calloc((size_t)k->nregs + 1, sizeof *e->slot);
    if (!pt || !e->slot) {
        free(pt);
        em_fail(e, NULL, "out of memory");
        return;
    }
    for (int i = 0; i < k->nparams; i++)
        pt[i] = k->params[i].kind == TIR_P_PTR ? e->gptr : em_type(e, k->params[i].type);
    e->fn = LLVMAddFunction(e->m, k->name,
                            LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), pt, (unsigned)k->nparams, 0));
    free(pt);
    for (int i = 0; i < k->nparams; i++)
        if (k->params[i].name)
            LLVMSetValueName2(LLVMGetParam(e->fn, (unsigned)i), k->params[i].name,
                              strlen(k->params[i].name));
    cg_llvm_mark_kernel(e->fn);
    debug_info(e);

    LLVMBasicBlockRef entry = new_bb(e, "entry"), start = new_bb(e, "start");
    LLVMPositionBuilderAtEnd(e->b, entry);
    for (int r = 0; r < k->nregs; r++) {
        LLVMTypeRef ty = em_type(e, k->regs[r].type);
        e->slot[r] = LLVMBuildAlloca(e->b, ty, em_name(e, r));
        LLVMBuildStore(e->b, LLVMConstNull(ty), e->slot[r]);
    }
    for (int i = 0; i < k->nparams && !e->err; i++) {
        const TirParam *p = &k->params[i];
        LLVMValueRef v = LLVMGetParam(e->fn, (unsigned)i);
        if (!reg_ok(e, NULL, p->reg))
            return;
        if (p->kind == TIR_P_PTR)
            v = LLVMBuildPtrToInt(e->b, v, e->i64, "");
        LLVMBuildStore(e->b, em_coerce(e, NULL, v, em_type(e, k->regs[p->reg].type)),
                       e->slot[p->reg]);
    }
    LLVMValueRef br = LLVMBuildBr(e->b, start);
    LLVMPositionBuilderBefore(e->ab, br);
    LLVMPositionBuilderAtEnd(e->b, start);
    em_block(e, &k->body);
    LLVMBuildRetVoid(e->b);
    if (e->dib)
        LLVMDIBuilderFinalize(e->dib);
}

int cg_emit_llvm(const TirKernel *k, const CgTarget *t, char **llvm_ir, char **ptx, char **err)
{
    if (llvm_ir)
        *llvm_ir = NULL;
    if (ptx)
        *ptx = NULL;
    *err = NULL;
    CgArch arch;
    if (!cg_arch_parse(t->arch, &arch)) {
        *err = fmt("emit_llvm: unknown GPU arch '%s' (expected one of: %s)",
                   t->arch ? t->arch : "(null)", cg_arch_list());
        return -1;
    }
    if (k->sm_needed > cg_arch_sm(arch)) {
        *err = fmt("emit_llvm: kernel %s needs sm_%d, the target is %s", k->name, k->sm_needed,
                   cg_arch_name(arch));
        return -1;
    }
    cg_llvm_init();
    Em e = {.k = k};
    e.ctx = LLVMContextCreate();
    e.m = LLVMModuleCreateWithNameInContext(k->name, e.ctx);
    e.b = LLVMCreateBuilderInContext(e.ctx);
    e.ab = LLVMCreateBuilderInContext(e.ctx);
    e.i1 = LLVMInt1TypeInContext(e.ctx);
    e.i8 = LLVMInt8TypeInContext(e.ctx);
    e.i16 = LLVMInt16TypeInContext(e.ctx);
    e.i32 = LLVMInt32TypeInContext(e.ctx);
    e.i64 = LLVMInt64TypeInContext(e.ctx);
    e.f16 = LLVMHalfTypeInContext(e.ctx);
    e.bf16 = LLVMBFloatTypeInContext(e.ctx);
    e.f32 = LLVMFloatTypeInContext(e.ctx);
    e.f64 = LLVMDoubleTypeInContext(e.ctx);
    e.v2f16 = LLVMVectorType(e.f16, 2);
    e.v2bf16 = LLVMVectorType(e.bf16, 2);
    e.ptr = LLVMPointerTypeInContext(e.ctx, 0);
    e.gptr = LLVMPointerTypeInContext(e.ctx, 1);

    build(&e);
    int rc = -1;
    if (!e.err) {
        if (llvm_ir)
            *llvm_ir = LLVMPrintModuleToString(e.m);
        if (llvm_ir && *llvm_ir) {
            char *s = strdup(*llvm_ir);
            LLVMDisposeMessage(*llvm_ir);
            *llvm_ir = s;
        }
        char *msg = NULL;
        if (!ptx) {
            if (LLVMVerifyModule(e.m, LLVMReturnStatusAction, &msg))
                e.err = fmt("emit_llvm: LLVMVerifyModule: %s", msg ? msg : "?");
            else
                rc = 0;
            LLVMDisposeMessage(msg);
        } else {
            CgTarget tt = *t;
            if (k->ptx_needed > tt.ptx_version)
                tt.ptx_version = k->ptx_needed;
            if (!tt.passes)
                tt.passes = CG_LLVM_PASSES;
            if (cg_llvm_emit_ptx(e.m, &tt, ptx, &msg)) {
                e.err = fmt("emit_llvm: %s", msg ? msg : "?");
                free(msg);
            } else {
                rc = 0;
            }
        }
    }
    if (rc) {
        *err = e.err ? e.err : fmt("emit_llvm: out of memory");
        if (llvm_ir) {
            free(*llvm_ir);
            *llvm_ir = NULL;
        }
    }
    free(e.slot);
    if (e.dib)
        LLVMDisposeDIBuilder(e.dib);
    LLVMDisposeBuilder(e.b);
    LLVMDisposeBuilder(e.ab);
    LLVMDisposeModule(e.m);
    LLVMContextDispose(e.ctx);
    return rc;
}

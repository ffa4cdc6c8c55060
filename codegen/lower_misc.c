/* codegen/lower_misc.c - atomics, semaphores, printf, assume and rand
 * (VM.md 2, 5).
 *
 * atomic_add: one atom.global.add per element, masked by the tensor's
 *   shape, by the lowest replica only; f32, f64, 32/64-bit ints and f16
 *   (atom.add.noftz.f16); bf16 on sm_90 only; other dtypes are not lowered.
 * lock(G[i], v): thread 0 spins on ld.acquire.gpu until the word equals v,
 *   then the block synchronizes (bar.sync).
 * release(G[i], v): bar.sync (the block's prior writes are done), then
 *   thread 0 issues fence.acq_rel.gpu and st.release.gpu.
 * printf: thread 0 only (once per block); f32 arguments are widened to f64
 *   and bool to s32 (vprintf's C promotions), so emitters pass them as is.
 * rand: the interpreter's generator (vm_rand_f32): splitmix64 of
 *   seed * 0x9E3779B97F4A7C15 + counter, counter = offset + the element's
 *   row-major index; value (z >> 40) * 2^-24.
 * assume: no code (a fact for later selection passes).
 * print(R): see print_op. */
#include <string.h>

#include "codegen/lower.h"

static int thread0(CgLower *L) { return cg_setp(L, TIR_CMP_EQ, TIR_U32, cg_R(L->tid), cg_I(0)); }

static bool atomic_add(CgLower *L, const Inst *i)
{
    const Value *v = i->a[0];
    CgTensor *vt = cg_val(L, v);
    if (!vt)
        return cg_fail(L, i, "atomic_add: value not lowered");
    Dtype dt = v->dtype;
    TirType t;
    switch (dt) {
    case VM_DT_F32: t = TIR_F32; break;
    case VM_DT_F64: t = TIR_F64; break;
    case VM_DT_I32: case VM_DT_U32: t = TIR_U32; break;
    case VM_DT_I64: case VM_DT_U64: t = TIR_U64; break;
    case VM_DT_F16: t = TIR_F16; break;
    case VM_DT_BF16:
        if (L->opt.sm >= 90) {
            t = TIR_BF16;
            break;
        }
        /* fallthrough */
    default:
        return cg_fail(L, i, "atomic_add of %s is not supported by the plain lowering yet",
                       vm_dtype_name(dt));
    }
    CgGTile G;
    if (!cg_gtile_init(L, i, &i->mem[0], &G))
        return false;
    CgCoords c;
    cg_coords(L, v->layout, &c);
    int rep = cg_replica_pred(L, v->layout);
    for (int l = 0; l < c.n; l++) {
        int gc[VM_MAX_DIMS], addr, sh, inb;
        cg_gtile_coords(L, &G, &c, l, gc);
        cg_gtile_addr(L, &G, gc, &addr, &sh, &inb);
        int x = vt->r[l];
        TirType rt = L->t->regs[x].type;
        if (rt != t)
            x = cg_bitcast(L, t, rt, cg_R(x));
        int guard = cg_pand(L, inb, rep);
        TirOp *o = cg_emit(L, TIR_OP_ATOM, t);
        o->mod = TIR_ATOM_ADD;
        o->space = TIR_SPACE_GLOBAL;
        o->scope = TIR_SCOPE_GPU;
        o->na = 2;
        o->a[0] = cg_R(addr);
        o->a[1] = cg_R(x);
        o->guard = guard;
    }
    if (t == TIR_BF16 && L->t->sm_needed < 90)
        L->t->sm_needed = 90;
    return true;
}

/* address of the single element of a tile whose every dim is an index */
static bool elem_addr(CgLower *L, const Inst *i, int *addr)
{
    CgGTile G;
    if (!cg_gtile_init(L, i, &i->mem[0], &G))
        return false;
    int gc[VM_MAX_DIMS], sh, inb;
    for (int d = 0; d < G.rank; d++) {
        gc[d] = G.start[d];
        if (gc[d] < 0) {
            gc[d] = cg_reg(L, TIR_S32, NULL);
            cg_mov(L, gc[d], cg_I(0));
        }
    }
    cg_gtile_addr(L, &G, gc, addr, &sh, &inb);
    if (sh >= 0 || vm_dtype_bits(G.g->dtype) < 32)
        return cg_fail(L, i, "%s needs a 32- or 64-bit integer element", vm_op_name(i->op));
    return true;
}

static bool lock_release(CgLower *L, const Inst *i)
{
    Dtype dt = i->mem[0].base->dtype;
    if (vm_dtype_is_float(dt) || dt == VM_DT_BOOL)
        return cg_fail(L, i, "%s needs an integer tensor", vm_op_name(i->op));
    int addr;
    if (!elem_addr(L, i, &addr))
        return false;
    TirType t = cg_elem_type(dt);
    int want = cg_cast(L, dt, i->e[0]->dtype, cg_expr(L, i->e[0]));
    TirBlock *saved;
    if (i->op == VM_RELEASE)
        cg_bar(L);
    TirOp *f = cg_if(L, thread0(L), false);
    cg_enter(L, &f->body, &saved);
    if (i->op == VM_LOCK) {
        TirOp *loop = cg_emit(L, TIR_OP_LOOP, TIR_B32);
        TirBlock *s2;
        cg_enter(L, &loop->body, &s2);
        int v = cg_reg(L, t, "sem");
        TirOp *o = cg_emit(L, TIR_OP_LD, t);
        o->type2 = t;
        o->space = TIR_SPACE_GLOBAL;
        o->sem = TIR_SEM_ACQUIRE;
        o->scope = TIR_SCOPE_GPU;
        o->width = tir_type_bits(t) / 8;
        o->na = 1;
        o->a[0] = cg_R(addr);
        o->nd = 1;
        o->d[0] = v;
        int eq = cg_setp(L, TIR_CMP_EQ, t, cg_R(v), cg_R(want));
        TirOp *b = cg_if(L, eq, false);
        TirBlock *s3;
        cg_enter(L, &b->body, &s3);
        cg_emit(L, TIR_OP_BREAK, TIR_B32);
        L->cur = s2;
    } else {
        TirOp *fe = cg_emit(L, TIR_OP_FENCE, TIR_B32);
        fe->scope = TIR_SCOPE_GPU;
        TirOp *o = cg_emit(L, TIR_OP_ST, t);
        o->type2 = t;
        o->space = TIR_SPACE_GLOBAL;
        o->sem = TIR_SEM_RELEASE;
        o->scope = TIR_SCOPE_GPU;
        o->width = tir_type_bits(t) / 8;
        o->na = 2;
        o->a[0] = cg_R(addr);
        o->a[1] = cg_R(want);
    }
    L->cur = saved;
    if (i->op == VM_LOCK)
        cg_bar(L);
    return true;
}

static bool printf_op(CgLower *L, const Inst *i)
{
    int *args = vm_alloc(L->a, sizeof(int) * (size_t)(i->neargs + 1));
    if (i->neargs > TIR_MAX_ARG)
        return cg_fail(L, i, "printf with more than %d arguments", TIR_MAX_ARG);
    for (int j = 0; j < i->neargs; j++) {
        const Expr *e = i->eargs[j];
        int v = cg_expr(L, e);
        if (e->dtype == VM_DT_F32)
            v = cg_cvt(L, TIR_F64, TIR_F32, TIR_RND_NONE, false, cg_R(v));
        else if (e->dtype == VM_DT_BOOL)
            v = cg_selp(L, TIR_S32, cg_I(1), cg_I(0), v);
        args[j] = v;
    }
    TirBlock *saved;
    TirOp *f = cg_if(L, thread0(L), false);
    cg_enter(L, &f->body, &saved);
    TirOp *o = cg_emit(L, TIR_OP_PRINTF, TIR_B32);
    o->str = i->str;
    o->na = i->neargs;
    for (int j = 0; j < i->neargs; j++)
        o->a[j] = cg_R(args[j]);
    L->cur = saved;
    return true;
}

/* print(R): the tensor goes to a row-major scratch image; thread 0 prints
 * one element per printf, each format carrying the brackets and
 * separators around its element, so the text is the interpreter's:
 * "label: [[a, b], [c, d]]\n" (floats %g of the exact value, ints as
 * integers, bool 0/1). */
static bool print_op(CgLower *L, const Inst *i)
{
    const Value *x = i->a[0];
    CgTensor *xt = cg_val(L, x);
    if (!xt)
        return cg_fail(L, i, "print: operand not lowered");
    Dtype dt = x->dtype;
    int rank = x->rank;
    int64_t numel = vm_shape_numel(rank, x->shape);
    if (numel > 4096)
        return cg_fail(L, i, "print of %lld elements is not supported by the plain lowering yet",
                       (long long)numel);
    int slot = cg_slot_bytes(dt);
    int64_t rm[VM_MAX_DIMS], s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        rm[d] = s;
        s *= x->shape[d];
    }
    int64_t base = cg_scratch(L, numel * slot);
    cg_scratch_store(L, dt, xt->r, x->layout, rm, 0, base);
    cg_bar(L);
    const char *label = i->str ? i->str
                        : x->name  ? x->name
                                   : vm_sprintf(L->a, "%%%d", x->id);
    char *lab = vm_alloc(L->a, strlen(label) * 2 + 1);
    size_t n = 0;
    for (const char *c = label; *c; c++) {
        lab[n++] = *c;
        if (*c == '%')
            lab[n++] = '%';
    }
    const char *conv = vm_dtype_is_float(dt)       ? "%g"
                       : dt == VM_DT_BOOL           ? "%d"
                       : vm_dtype_is_signed(dt)     ? "%lld"
                                                    : "%llu";
    Dtype pt = vm_dtype_is_float(dt) ? VM_DT_F64 : dt == VM_DT_BOOL ? VM_DT_I32
               : vm_dtype_is_signed(dt) ? VM_DT_I64 : VM_DT_U64;
    int addr = cg_reg(L, TIR_U32, "saddr");
    cg_mov(L, addr, cg_I(0));
    TirBlock *saved;
    TirOp *f = cg_if(L, cg_setp(L, TIR_CMP_EQ, TIR_U32, cg_R(L->tid), cg_I(0)), false);
    cg_enter(L, &f->body, &saved);
    for (int64_t e = 0; e < numel; e++) {
        char pre[64] = "", post[64] = "";
        size_t pn = 0, qn = 0;
        for (int d = 0; d < rank; d++) {
            int64_t blk = rm[d] * x->shape[d];
            if (e % blk == 0 && pn < 60)
                pre[pn++] = '[';
            if ((e + 1) % blk == 0 && qn < 60)
                post[qn++] = ']';
        }
        pre[pn] = post[qn] = 0;
        int v = cg_cast(L, pt, dt, cg_ld_slot(L, dt, cg_R(addr), base + e * slot));
        TirOp *o = cg_emit(L, TIR_OP_PRINTF, TIR_B32);
        o->str = vm_sprintf(L->a, "%s%s%s%s%s%s", e ? "" : lab, e ? "" : ": ", e ? ", " : "",
                            pre, conv, post);
        if (e == numel - 1)
            o->str = vm_sprintf(L->a, "%s\n", o->str);
        o->na = 1;
        o->a[0] = cg_R(v);
    }
    if (numel == 0) {
        TirOp *o = cg_emit(L, TIR_OP_PRINTF, TIR_B32);
        o->str = vm_sprintf(L->a, "%s: []\n", lab);
    }
    L->cur = saved;
    cg_bar(L);
    return true;
}

static int to_u64(CgLower *L, int r)
{
    TirType t = L->t->regs[r].type;
    if (t == TIR_S32)
        r = cg_cvt(L, TIR_S64, TIR_S32, TIR_RND_NONE, false, cg_R(r));
    else if (t == TIR_U32)
        return cg_cvt(L, TIR_U64, TIR_U32, TIR_RND_NONE, false, cg_R(r));
    return L->t->regs[r].type == TIR_U64 ? r : cg_bitcast(L, TIR_U64, TIR_S64, cg_R(r));
}

static bool rand_op(CgLower *L, const Inst *i)
{
    const Value *r = i->res;
    const TirType U = TIR_U64;
    int seed = to_u64(L, cg_expr(L, i->e[0])), off = to_u64(L, cg_expr(L, i->e[1]));
    int z0 = cg_op3(L, TIR_OP_MAD, U, cg_R(seed), cg_I((int64_t)0x9E3779B97F4A7C15ull), cg_R(off));
    z0 = cg_op2(L, TIR_OP_ADD, U, cg_R(z0), cg_I((int64_t)0x9E3779B97F4A7C15ull));
    CgCoords c;
    cg_coords(L, r->layout, &c);
    CgTensor out = cg_new_tensor(L, c.n, VM_DT_F32, r->name);
    for (int l = 0; l < c.n; l++) {
        int lin = -1;
        int64_t s = 1;
        for (int d = r->rank - 1; d >= 0; d--) {
            int v = cg_coord(L, &c, l, d);
            if (s != 1)
                v = cg_op2(L, TIR_OP_MUL, TIR_S32, cg_R(v), cg_I(s));
            lin = lin < 0 ? v : cg_op2(L, TIR_OP_ADD, TIR_S32, cg_R(lin), cg_R(v));
            s *= r->shape[d];
        }
        int z = z0;
        if (lin >= 0)
            z = cg_op2(L, TIR_OP_ADD, U, cg_R(z), cg_R(to_u64(L, lin)));
        int t = cg_op2(L, TIR_OP_SHR, U, cg_R(z), cg_I(30));
        z = cg_op2(L, TIR_OP_MUL, U, cg_R(cg_op2(L, TIR_OP_XOR, U, cg_R(z), cg_R(t))),
                   cg_I((int64_t)0xBF58476D1CE4E5B9ull));
        t = cg_op2(L, TIR_OP_SHR, U, cg_R(z), cg_I(27));
        z = cg_op2(L, TIR_OP_MUL, U, cg_R(cg_op2(L, TIR_OP_XOR, U, cg_R(z), cg_R(t))),
                   cg_I((int64_t)0x94D049BB133111EBull));
        t = cg_op2(L, TIR_OP_SHR, U, cg_R(z), cg_I(31));
        z = cg_op2(L, TIR_OP_XOR, U, cg_R(z), cg_R(t));
        int hi = cg_op2(L, TIR_OP_SHR, U, cg_R(z), cg_I(40));
        int f = cg_cvt(L, TIR_F32, U, TIR_RND_RN, false, cg_R(hi));
        cg_mov(L, out.r[l],
               cg_R(cg_op2(L, TIR_OP_MUL, TIR_F32, cg_R(f), tir_immf(0x1p-24, TIR_F32))));
    }
    L->vals[r->id] = out;
    return true;
}

bool cg_lower_misc(CgLower *L, const Inst *i)
{
    switch (i->op) {
    case VM_ATOMIC_ADD:
        return atomic_add(L, i);
    case VM_LOCK:
    case VM_RELEASE:
        return lock_release(L, i);
    case VM_PRINTF:
        return printf_op(L, i);
    case VM_ASSUME:
        return true;
    case VM_PRINT:
        return print_op(L, i);
    case VM_RAND:
        return rand_op(L, i);
    default:
        return cg_fail(L, i, "%s is not supported by the plain lowering yet", vm_op_name(i->op));
    }
}

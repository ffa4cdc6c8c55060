/* codegen/emit_cuda_mem.c - the CUDA C emitter's memory and synchronisation
 * ops: ld/st (1..16 bytes, global or shared) written here; atom, ldmatrix,
 * cp.async and its groups, fence from cg_asm_for; bar as __syncthreads();
 * printf as printf(). Memory asm is volatile with a "memory" clobber so the
 * C compiler keeps program order.
 *
 * Addresses: global ones are the TIR u64 value, shared ones lpvm_sbase plus
 * the TIR u32 offset; a constant offset that fits 32 bits goes into the PTX
 * address ([a+off]). A single element is one access of the TIR memory type
 * into the register (8/16-bit types extend in a wider register as PTX
 * defines); several elements are one access of 32-bit words (64-bit words for
 * 8-byte elements, one 16-bit word for 2 bytes), split or assembled in C.
 * f16/bf16 memory types are accessed as b16 (PTX ld/st have no f16 type). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emit_cuda.h"

static const char *const sem_s[] = {".relaxed", ".acquire", ".release", ".acq_rel"};
static const char *const scope_s[] = {".cta", ".gpu", ".sys"};

static const char *space_name(TirSpace sp) { return sp == TIR_SPACE_SHARED ? "shared" : "global"; }

/* Adds the address input (operand i plus o->off); writes "[$iN+off]" to ref. */
static void address(EcEm *e, EcAsm *a, const TirOp *o, int i, TirSpace sp, char *ref, size_t n)
{
    EcEx x, v;
    bool sh = sp == TIR_SPACE_SHARED;
    int64_t off = o->off;
    bool fold = off >= INT32_MIN && off <= INT32_MAX;
    if (!ec_arg_ck(e, o, i, sh ? EC_U32 : EC_U64, &x))
        x.s[0] = 0;
    if (sh && fold)
        ec_exf(e, &v, "lpvm_sbase + %s", x.s);
    else if (sh)
        ec_exf(e, &v, "lpvm_sbase + %s + %lluu", x.s, (unsigned long long)(uint32_t)off);
    else if (fold)
        ec_exf(e, &v, "%s", x.s);
    else
        ec_exf(e, &v, "%s + %lluull", x.s, (unsigned long long)off);
    int k = ec_asm_in(e, a, o, v.s, sh ? EC_U32 : EC_U64);
    if (fold && off)
        snprintf(ref, n, "[$i%d+%lld]", k, (long long)off);
    else
        snprintf(ref, n, "[$i%d]", k);
}

/* The PTX type of a one-element access of memory type mt with a register
 * of kind rk. */
static const char *mem_type(TirType mt, EcCk rk, char *buf, size_t n)
{
    int bits = tir_type_bits(mt);
    if (mt == TIR_F16 || mt == TIR_BF16 || mt == TIR_F16X2 || mt == TIR_BF16X2 ||
        (rk == EC_F32 && mt != TIR_F32) || (rk == EC_F64 && mt != TIR_F64)) {
        snprintf(buf, n, "b%d", bits);
        return buf;
    }
    return tir_type_name(mt);
}

static bool check_width(EcEm *e, const TirOp *o, int n)
{
    int w = o->width;
    if (n < 1 || (w != 1 && w != 2 && w != 4 && w != 8 && w != 16) || w % n ||
        (n > 1 && w / n > 8) || o->type2 == TIR_PRED || o->type == TIR_PRED) {
        ec_fail(e, o, "%d elements of %s in %d bytes", n, tir_type_name(o->type2), w);
        return false;
    }
    if (n == 1 && tir_type_bits(o->type2) != 8 * w) {
        ec_fail(e, o, "memory type %s is not %d bytes", tir_type_name(o->type2), w);
        return false;
    }
    return true;
}

/* The ld/st qualifier for TirOp.sem: plain, ld.acquire, st.release. */
static bool sem_qual(EcEm *e, const TirOp *o, char *buf, size_t n)
{
    buf[0] = 0;
    if (o->sem == TIR_SEM_RELAXED)
        return true;
    if ((o->op == TIR_OP_LD && o->sem == TIR_SEM_ACQUIRE) ||
        (o->op == TIR_OP_ST && o->sem == TIR_SEM_RELEASE)) {
        snprintf(buf, n, "%s%s", sem_s[o->sem], scope_s[o->scope]);
        return true;
    }
    ec_fail(e, o, "ordering %d is not defined for this access", o->sem);
    return false;
}

/* Words of a multi-element access: 64-bit for 8-byte elements, else 32-bit
 * (one 16-bit word for 2 bytes). */
typedef struct {
    int wb, nw;     /* word bytes, words */
    EcCk k;         /* C kind of a word */
    const char *pt; /* PTX type of a word */
} Words;

static Words words(int width, int eb)
{
    Words w;
    w.wb = eb == 8 ? 8 : width >= 4 ? 4 : 2;
    w.nw = width / w.wb;
    w.k = w.wb == 8 ? EC_U64 : w.wb == 4 ? EC_U32 : EC_U16;
    w.pt = w.wb == 8 ? "b64" : w.wb == 4 ? "b32" : "b16";
    return w;
}

static void load(EcEm *e, const TirOp *o)
{
    int n = o->nd, w = o->width;
    char q[32], ref[64], tb[8], dst[64] = "", tmpl[320];
    if (!check_width(e, o, n) || !sem_qual(e, o, q, sizeof q))
        return;
    EcAsm a;
    ec_asm_init(&a);
    const char *vec = "", *pt;
    if (n == 1) {
        int r = o->d[0];
        EcCk rk = r >= 0 && r < e->k->nregs ? ec_reg_ck(e, r) : EC_U32;
        if (rk == EC_BOOL || ec_ck_bits(rk) < 8 * w ||
            (ec_ck_float(rk) && ec_ck_bits(rk) != 8 * w)) {
            ec_fail(e, o, "a %d-byte load into a %s register", w, ec_ctype(rk));
            return;
        }
        pt = mem_type(o->type2, rk, tb, sizeof tb);
        ec_asm_out(e, &a, o, r, rk);
        snprintf(dst, sizeof dst, "$o0");
    } else {
        int eb = w / n;
        Words wd = words(w, eb);
        pt = wd.pt;
        EcCk ek = ec_ck(o->type2);
        if (eb * 8 != tir_type_bits(o->type2)) {
            ec_fail(e, o, "%d elements of %s in %d bytes", n, tir_type_name(o->type2), w);
            return;
        }
        int t0 = e->ntmp;
        e->ntmp += wd.nw;
        for (int j = 0; j < wd.nw; j++) {
            char t[24];
            snprintf(t, sizeof t, "lpvm_t%d", t0 + j);
            ec_put(&a.pre, "%s %s;\n", ec_ctype(wd.k), t);
            ec_asm_out_raw(&a, t, wd.k);
            size_t len = strlen(dst);
            snprintf(dst + len, sizeof dst - len, "%s$o%d", j ? ", " : "", j);
        }
        for (int i = 0; i < n; i++) {
            int j = i * eb / wd.wb, sh = (i * eb % wd.wb) * 8;
            EcEx raw, v, r;
            if (sh)
                ec_exf(e, &raw, "(lpvm_t%d >> %d)", t0 + j, sh);
            else
                ec_exf(e, &raw, "lpvm_t%d", t0 + j);
            EcCk rk = o->d[i] >= 0 && o->d[i] < e->k->nregs ? ec_reg_ck(e, o->d[i]) : EC_U32;
            EcCk uk = ec_ck_uint(eb * 8);
            if (ec_conv(e, o, uk, wd.k, raw.s, &v) && ec_conv(e, o, ek, uk, v.s, &raw) &&
                ec_conv(e, o, rk, ek, raw.s, &r))
                ec_put(&a.post, "%s = %s;\n", e->name[o->d[i]], r.s);
        }
        if (wd.nw > 1)
            vec = wd.nw == 2 ? ".v2" : ".v4";
        if (wd.nw > 1) {
            char braced[sizeof dst];
            snprintf(braced, sizeof braced, "{%.*s}", (int)sizeof dst - 3, dst);
            memcpy(dst, braced, sizeof dst);
        }
    }
    address(e, &a, o, 0, o->space, ref, sizeof ref);
    snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_LD], q, space_name(o->space), vec, pt, dst, ref);
    ec_asm_emit(e, &a, tmpl, true);
}

static void store(EcEm *e, const TirOp *o)
{
    int n = o->na - 1, w = o->width;
    char q[32], ref[64], tb[8], tmpl[320];
    if (!check_width(e, o, n) || !sem_qual(e, o, q, sizeof q))
        return;
    EcAsm a;
    ec_asm_init(&a);
    address(e, &a, o, 0, o->space, ref, sizeof ref);
    EcBuf vals = {0};
    const char *vec = "", *pt;
    if (n == 1) {
        EcCk rk = ec_ck(o->type);
        if (rk == EC_BOOL || ec_ck_bits(rk) < 8 * w ||
            (ec_ck_float(rk) && ec_ck_bits(rk) != 8 * w)) {
            ec_fail(e, o, "a %d-byte store of a %s value", w, tir_type_name(o->type));
            return;
        }
        pt = mem_type(o->type2, rk, tb, sizeof tb);
        int k = ec_asm_arg(e, &a, o, 1, o->type);
        ec_put(&vals, "$i%d", k);
    } else {
        int eb = w / n;
        Words wd = words(w, eb);
        pt = wd.pt;
        for (int j = 0; j < wd.nw; j++) {
            EcBuf x = {0};
            for (int i = 0; i < n; i++) {
                if (i * eb / wd.wb != j)
                    continue;
                int sh = (i * eb % wd.wb) * 8;
                EcEx raw;
                if (!ec_arg_ck(e, o, 1 + i, ec_ck_uint(eb * 8), &raw))
                    continue;
                ec_put(&x, "%s(%s)%s", x.n ? " | " : "", ec_ctype(wd.k == EC_U16 ? EC_U32 : wd.k),
                       raw.s);
                if (sh)
                    ec_put(&x, " << %d", sh);
            }
            EcEx word;
            if (wd.k == EC_U16)
                ec_exf(e, &word, "(unsigned short)(%s)", x.s ? x.s : "0");
            else
                ec_exf(e, &word, "%s", x.s ? x.s : "0");
            free(x.s);
            int k = ec_asm_in(e, &a, o, word.s, wd.k);
            ec_put(&vals, "%s$i%d", j ? ", " : "", k);
        }
        if (wd.nw > 1)
            vec = wd.nw == 2 ? ".v2" : ".v4";
    }
    char v[160];
    snprintf(v, sizeof v, *vec ? "{%s}" : "%s", vals.s ? vals.s : "");
    free(vals.s);
    snprintf(tmpl, sizeof tmpl, ec_asm_tmpl[EC_A_ST], q, space_name(o->space), vec, pt, ref, v);
    ec_asm_emit(e, &a, tmpl, true);
}

static void print(EcEm *e, const TirOp *o)
{
    EcBuf b = {0};
    ec_put(&b, "printf(\"");
    for (const unsigned char *s = (const unsigned char *)(o->str ? o->str : ""); *s; s++) {
        if (*s == '"' || *s == '\\')
            ec_put(&b, "\\%c", *s);
        else if (*s == '\n')
            ec_put(&b, "\\n");
        else if (*s < 32 || *s >= 127)
            ec_put(&b, "\\%03o", *s);
        else
            ec_put(&b, "%c", *s);
    }
    ec_put(&b, "\"");
    for (int i = 0; i < o->na; i++) {
        const TirArg *x = &o->a[i];
        if (x->kind == TIR_A_IMM) {
            ec_put(&b, ", 0x%llXull", (unsigned long long)x->imm);
            continue;
        }
        if (x->kind != TIR_A_REG || x->reg < 0 || x->reg >= e->k->nregs) {
            ec_fail(e, o, "argument %d is not a register", i);
            break;
        }
        EcCk k = ec_reg_ck(e, x->reg);
        const char *cast = k == EC_BOOL || k == EC_S16 || k == EC_S8 ? "(int)"
                           : k == EC_U16 || k == EC_U8               ? "(unsigned)"
                           : k == EC_F32                             ? "(double)"
                                                                     : "";
        ec_put(&b, ", %s%s", cast, e->name[x->reg]);
    }
    ec_ln(e, "%s);", b.s);
    free(b.s);
}

void ec_mem_op(EcEm *e, const TirOp *o)
{
    switch (o->op) {
    case TIR_OP_LD: load(e, o); return;
    case TIR_OP_ST: store(e, o); return;
    case TIR_OP_ATOM:
    case TIR_OP_LDMATRIX:
    case TIR_OP_CP_ASYNC:
    case TIR_OP_CP_COMMIT:
    case TIR_OP_CP_WAIT:
    case TIR_OP_FENCE: ec_shared_asm(e, o); return;
    case TIR_OP_BAR: ec_ln(e, "__syncthreads();"); return;
    case TIR_OP_PRINTF: print(e, o); return;
    default: ec_fail(e, o, "not a memory op"); return;
    }
}

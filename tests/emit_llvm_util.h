/* tests/emit_llvm_util.h - helpers of the emit_llvm suite (test_emit_llvm*.c):
 * ptxas on a PTX string (skipped with a visible message when absent), a small
 * TIR builder, emission with the checks every kernel gets, and the kernels
 * both files use. Results of test kernels go to out + 16 * slot. */
#ifndef LPVM_TESTS_EMIT_LLVM_UTIL_H
#define LPVM_TESTS_EMIT_LLVM_UTIL_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/codegen.h"

/* ------------------------------------------------------------ ptxas */

static const char *cuda_home(void)
{
    const char *h = getenv("CUDA_HOME");
    return h && *h ? h : LPVM_CUDA_HOME;
}

static inline bool ptxas_path(char *buf, size_t n)
{
    snprintf(buf, n, "%s/bin/ptxas", cuda_home());
    return access(buf, X_OK) == 0;
}

/* ptxas [-v] -arch=arch on ptx: exit status, *log its output (malloc'd). */
static inline int ptxas(const char *ptx, const char *arch, bool verbose, char **log)
{
    char exe[4096];
    if (!ptxas_path(exe, sizeof exe)) {
        *log = NULL;
        return -1;
    }
    char src[] = "/tmp/lpvm-emit-llvm-XXXXXX.ptx";
    int fd = mkstemps(src, 4);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    cr_assert(f);
    cr_assert_eq(fwrite(ptx, 1, strlen(ptx), f), strlen(ptx));
    cr_assert_eq(fclose(f), 0);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "'%s' %s -arch=%s '%s' -o /dev/null 2>&1", exe,
             verbose ? "-v" : "", arch, src);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0)
        if ((len += got) + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    buf[len] = 0;
    int st = pclose(p);
    unlink(src);
    *log = buf;
    return st;
}

static inline void assert_ptxas(const char *ptx, const char *arch)
{
    char *log;
    int st = ptxas(ptx, arch, false, &log);
    if (st == -1) {
        cr_log_warn("emit_llvm: ptxas not found under %s, PTX for %s not validated",
                    cuda_home(), arch);
        return;
    }
    cr_assert_eq(st, 0, "ptxas -arch=%s rejected the PTX:\n%s\n--- PTX:\n%s", arch, log, ptx);
    free(log);
}

/* ------------------------------------------------------------ TIR building */

typedef struct {
    VmArena *a;
    TirKernel *k;
    TirBlock *cur;
} B;

static inline B *kb(const char *name, int warps)
{
    static B b;
    b.a = vm_arena_new();
    b.k = tir_kernel_new(b.a, name, warps);
    b.cur = &b.k->body;
    return &b;
}

static inline int R(B *b, TirType t, const char *name) { return tir_reg(b->k, t, name); }

static inline int param(B *b, const char *name, TirParamKind kind, TirType t)
{
    TirKernel *k = b->k;
    TirParam *p = vm_alloc(b->a, sizeof *p * (size_t)(k->nparams + 1));
    if (k->nparams)
        memcpy(p, k->params, sizeof *p * (size_t)k->nparams);
    p[k->nparams] = (TirParam){name, kind, kind == TIR_P_PTR ? TIR_U64 : t, VM_DT_F32,
                               tir_reg(k, kind == TIR_P_PTR ? TIR_U64 : t, name), false};
    k->params = p;
    return p[k->nparams++].reg;
}

static inline TirArg r_(int reg) { return tir_r(reg); }
static inline TirArg i_(int64_t v) { return tir_imm((uint64_t)v); }
static inline TirArg f_(double v) { return tir_immf(v, TIR_F32); }

/* An op with nd destinations (listed first in the varargs as ints) and na
 * TirArg arguments. */
static inline TirOp *opv(B *b, TirOpcode code, TirType t, int nd, int na, ...)
{
    TirOp *o = tir_op_new(b->k, code, t);
    va_list ap;
    va_start(ap, na);
    for (int i = 0; i < nd; i++)
        o->d[i] = va_arg(ap, int);
    for (int i = 0; i < na; i++)
        o->a[i] = va_arg(ap, TirArg);
    va_end(ap);
    o->nd = nd;
    o->na = na;
    tir_append(b->cur, o);
    return o;
}

/* d = code.t (a, b, c...) into a fresh register of type dt */
static inline int val(B *b, TirOpcode code, TirType t, TirType dt, int na, TirArg x, TirArg y, TirArg z)
{
    int d = R(b, dt, NULL);
    opv(b, code, t, 1, na, d, x, y, z);
    return d;
}
#define V1(b, code, t, x) val(b, code, t, t, 1, x, i_(0), i_(0))
#define V2(b, code, t, x, y) val(b, code, t, t, 2, x, y, i_(0))
#define V3(b, code, t, x, y, z) val(b, code, t, t, 3, x, y, z)

static inline TirOp *st(B *b, TirSpace sp, int addr, int64_t off, TirType rt, TirType mt, int n, ...)
{
    TirOp *o = tir_op_new(b->k, TIR_OP_ST, rt);
    o->type2 = mt;
    o->space = sp;
    o->off = off;
    o->a[0] = tir_r(addr);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        o->a[1 + i] = tir_r(va_arg(ap, int));
    va_end(ap);
    o->na = 1 + n;
    o->width = n * tir_type_bits(mt) / 8;
    tir_append(b->cur, o);
    return o;
}

static inline TirOp *ld(B *b, TirSpace sp, int addr, int64_t off, TirType rt, TirType mt, int n, int *d)
{
    TirOp *o = tir_op_new(b->k, TIR_OP_LD, rt);
    o->type2 = mt;
    o->space = sp;
    o->off = off;
    o->a[0] = tir_r(addr);
    o->na = 1;
    for (int i = 0; i < n; i++)
        o->d[i] = d[i] = R(b, rt, "ld");
    o->nd = n;
    o->width = n * tir_type_bits(mt) / 8;
    tir_append(b->cur, o);
    return o;
}

static inline TirOp *ctl(B *b, TirOpcode code, int pred)
{
    TirOp *o = tir_op_new(b->k, code, TIR_PRED);
    if (pred >= 0) {
        o->a[0] = tir_r(pred);
        o->na = 1;
    }
    tir_append(b->cur, o);
    return o;
}

static inline int count(const char *s, const char *pat)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, pat)); p += strlen(pat))
        n++;
    return n;
}

/* Emits k for arch, asserts success and ptxas acceptance; the PTX (malloc'd). */
static inline char *emit(B *b, const char *arch)
{
    CgTarget t = {arch, 0, 2, NULL};
    char *ptx = NULL, *err = NULL, *ir = NULL;
    int rc = cg_emit_llvm(b->k, &t, &ir, &ptx, &err);
    if (rc) {
        char *tir = tir_print_alloc(b->k);
        cr_assert_eq(rc, 0, "cg_emit_llvm(%s): %s\n--- TIR:\n%s\n--- IR:\n%s", arch, err, tir,
                     ir ? ir : "(none)");
    }
    cr_assert_null(err);
    cr_assert(ptx && strstr(ptx, ".entry"), "no .entry in:\n%s", ptx);
    cr_assert(ir && strstr(ir, "define"));
    free(ir);
    assert_ptxas(ptx, arch);
    return ptx;
}

static inline void has(const char *ptx, const char *pat)
{
    cr_assert(strstr(ptx, pat), "'%s' not in the PTX:\n%s", pat, ptx);
}

static inline void lacks(const char *ptx, const char *pat)
{
    cr_assert(!strstr(ptx, pat), "'%s' in the PTX:\n%s", pat, ptx);
}

static const char *const archs[] = {"sm_80", "sm_90"};

/* ------------------------------------------------------------ kernels */

static inline int setp(B *b, TirCmp c, TirType t, TirArg x, TirArg y)
{
    int d = R(b, TIR_PRED, "p");
    opv(b, TIR_OP_SETP, t, 1, 2, d, x, y)->mod = c;
    return d;
}

/* A register r of type to holding a conversion of x (op type `to_op`). */
static inline int cvtr(B *b, TirType reg, TirType to, TirType from, TirRnd rnd, bool sat, TirArg x)
{
    int d = R(b, reg, "cv");
    TirOp *o = opv(b, TIR_OP_CVT, to, 1, 1, d, x);
    o->type2 = from;
    o->mod = rnd;
    o->imm = sat;
    return d;
}
#define CVT(b, to, from, rnd, sat, x) cvtr(b, to, to, from, rnd, sat, x)

static inline int sreg(B *b, TirSreg s, const char *name)
{
    int d = R(b, TIR_U32, name);
    opv(b, TIR_OP_SREG, TIR_U32, 1, 0, d)->mod = s;
    return d;
}

/* base + idx * scale, as a u64 address */
static inline int gaddr(B *b, int base, int idx, int scale)
{
    int off = R(b, TIR_S64, "off");
    TirOp *o = opv(b, TIR_OP_MULWIDE, TIR_S64, 1, 2, off, r_(idx), i_(scale));
    o->type2 = TIR_S32;
    return V2(b, TIR_OP_ADD, TIR_U64, r_(base), r_(off));
}

/* Results go to out + 16 * slot: 16-byte spacing, so no two stores are
 * adjacent and none gets merged into a vector store. */
static int slot;
static inline void put(B *b, int out, int reg)
{
    TirType t = b->k->regs[reg].type;
    int bits = tir_type_bits(t);
    TirType mt = bits == 64 ? TIR_B64 : bits == 16 ? TIR_B16 : TIR_B32;
    if (t == TIR_PRED) {
        reg = val(b, TIR_OP_SELP, TIR_U32, TIR_U32, 3, i_(1), i_(0), r_(reg));
        t = TIR_U32;
        mt = TIR_B32;
    }
    st(b, TIR_SPACE_GLOBAL, out, 16 * ++slot, t, mt, 1, reg);
}

static inline void enter(B *b, TirBlock *blk, TirBlock **save)
{
    *save = b->cur;
    b->cur = blk;
}

/* vadd(a, b, c, n): i = ctaid.x * 128 + tid.x; if (i < n) c[i] = a[i] + b[i] */
static inline B *build_vadd(void)
{
    B *b = kb("vadd", 4);
    int pa = param(b, "a", TIR_P_PTR, 0), pb = param(b, "b", TIR_P_PTR, 0);
    int pc = param(b, "c", TIR_P_PTR, 0), n = param(b, "n", TIR_P_SCALAR, TIR_S32);
    int tid = sreg(b, TIR_SR_TID_X, "tid"), cta = sreg(b, TIR_SR_CTAID_X, "cta");
    int i = V3(b, TIR_OP_MAD, TIR_S32, r_(cta), i_(128), r_(tid));
    int p = setp(b, TIR_CMP_LT, TIR_S32, r_(i), r_(n));
    TirOp *iff = ctl(b, TIR_OP_IF, p);
    TirBlock *save;
    enter(b, &iff->body, &save);
    int x, y;
    ld(b, TIR_SPACE_GLOBAL, gaddr(b, pa, i, 4), 0, TIR_F32, TIR_F32, 1, &x);
    ld(b, TIR_SPACE_GLOBAL, gaddr(b, pb, i, 4), 0, TIR_F32, TIR_F32, 1, &y);
    int s = V2(b, TIR_OP_ADD, TIR_F32, r_(x), r_(y));
    st(b, TIR_SPACE_GLOBAL, gaddr(b, pc, i, 4), 0, TIR_F32, TIR_F32, 1, s);
    b->cur = save;
    return b;
}

#endif

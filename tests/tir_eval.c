/* tests/tir_eval.c - the test-only TIR evaluator (see tir_eval.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tir_eval.h"

enum { RUN, BROKE, CONT, RET };

static void fault(TeVm *ev, const char *fmt, ...)
{
    if (ev->fault)
        return;
    ev->fault = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->msg, sizeof ev->msg, fmt, ap);
    va_end(ap);
}

static int bits(TirType t) { return t == TIR_PRED ? 1 : tir_type_bits(t); }
static uint64_t mask(int b) { return b >= 64 ? ~0ull : (1ull << b) - 1; }

static int64_t sext(uint64_t v, int b)
{
    if (b < 64 && ((v >> (b - 1)) & 1))
        v |= ~mask(b);
    return (int64_t)v;
}

static bool is_signed(TirType t) { return tir_type_is_signed(t); }

static uint64_t arg(TeVm *ev, const TirOp *o, int i, int t)
{
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_IMM)
        return a->imm;
    if (a->kind == TIR_A_REG)
        return ev->r[(size_t)a->reg * ev->T + t];
    return 0;
}

static void set(TeVm *ev, int reg, int t, uint64_t v)
{
    ev->r[(size_t)reg * ev->T + t] = v & mask(bits(ev->k->regs[reg].type));
}

static float f32(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double f64(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}
static uint64_t bf32(float f)
{
    if (isnan(f))
        return 0x7FFFFFFF;
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t bf64(double d)
{
    if (isnan(d))
        return 0x7FFFFFFFFFFFFFFFull;
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static Dtype vmdt(TirType t)
{
    switch (t) {
    case TIR_PRED: return VM_DT_U1;
    case TIR_U8: case TIR_B8: return VM_DT_U8;
    case TIR_S8: return VM_DT_I8;
    case TIR_U16: case TIR_B16: return VM_DT_U16;
    case TIR_S16: return VM_DT_I16;
    case TIR_U32: case TIR_B32: return VM_DT_U32;
    case TIR_S32: return VM_DT_I32;
    case TIR_U64: case TIR_B64: return VM_DT_U64;
    case TIR_S64: return VM_DT_I64;
    case TIR_F16: return VM_DT_F16;
    case TIR_BF16: return VM_DT_BF16;
    case TIR_F32: return VM_DT_F32;
    case TIR_F64: return VM_DT_F64;
    default: return VM_DT_U32;
    }
}

/* a float operand as double (f16/bf16/f32/f64) */
static double fval(TirType t, uint64_t v)
{
    if (t == TIR_F32)
        return f32(v);
    if (t == TIR_F64)
        return f64(v);
    return vm_decode(vmdt(t), v);
}

static uint64_t fres(TirType t, double x)
{
    if (t == TIR_F32)
        return bf32((float)x);
    if (t == TIR_F64)
        return bf64(x);
    return vm_encode(vmdt(t), x);
}

static uint64_t int_op(TirOpcode op, TirType t, uint64_t a, uint64_t b, uint64_t c)
{
    int w = bits(t);
    bool s = is_signed(t);
    int64_t sa = sext(a & mask(w), w), sb = sext(b & mask(w), w);
    uint64_t ua = a & mask(w), ub = b & mask(w);
    switch (op) {
    case TIR_OP_ADD: return a + b;
    case TIR_OP_SUB: return a - b;
    case TIR_OP_MUL: return a * b;
    case TIR_OP_MAD: return a * b + c;
    case TIR_OP_DIV: return s ? (uint64_t)(sa / sb) : ua / ub;
    case TIR_OP_REM: return s ? (uint64_t)(sa % sb) : ua % ub;
    case TIR_OP_MIN: return s ? (uint64_t)(sa < sb ? sa : sb) : (ua < ub ? ua : ub);
    case TIR_OP_MAX: return s ? (uint64_t)(sa > sb ? sa : sb) : (ua > ub ? ua : ub);
    case TIR_OP_NEG: return 0 - a;
    case TIR_OP_ABS: return sa < 0 ? (uint64_t)(-sa) : (uint64_t)sa;
    case TIR_OP_AND: return a & b;
    case TIR_OP_OR: return a | b;
    case TIR_OP_XOR: return a ^ b;
    case TIR_OP_NOT: return ~a;
    case TIR_OP_SHL: return (b & 0xFFFFFFFF) >= (uint64_t)w ? 0 : ua << (b & 0xFFFFFFFF);
    case TIR_OP_SHR:
        if ((b & 0xFFFFFFFF) >= (uint64_t)w)
            return s && sa < 0 ? ~0ull : 0;
        return s ? (uint64_t)(sa >> (b & 0xFFFFFFFF)) : ua >> (b & 0xFFFFFFFF);
    default: return 0;
    }
}

static uint64_t float_op(TirOpcode op, TirType t, uint64_t a, uint64_t b, uint64_t c)
{
    if (t == TIR_F16X2 || t == TIR_BF16X2) {
        TirType h = t == TIR_F16X2 ? TIR_F16 : TIR_BF16;
        uint64_t lo = float_op(op, h, a & 0xFFFF, b & 0xFFFF, c & 0xFFFF);
        uint64_t hi = float_op(op, h, a >> 16 & 0xFFFF, b >> 16 & 0xFFFF, c >> 16 & 0xFFFF);
        return (lo & 0xFFFF) | (hi & 0xFFFF) << 16;
    }
    if (op == TIR_OP_FMA) {
        if (t == TIR_F32)
            return bf32(fmaf(f32(a), f32(b), f32(c)));
        return vm_fma(vmdt(t), a, b, c);
    }
    if (t == TIR_F32) {
        float x = f32(a), y = f32(b);
        switch (op) {
        case TIR_OP_ADD: return bf32(x + y);
        case TIR_OP_SUB: return bf32(x - y);
        case TIR_OP_MUL: return bf32(x * y);
        case TIR_OP_DIV: return bf32(x / y);
        case TIR_OP_SQRT: return bf32(sqrtf(x));
        case TIR_OP_MIN: return isnan(x) ? bf32(y) : isnan(y) ? a : bf32(x < y ? x : y);
        case TIR_OP_MAX: return isnan(x) ? bf32(y) : isnan(y) ? a : bf32(x > y ? x : y);
        case TIR_OP_NEG: { uint32_t u = (uint32_t)a ^ 0x80000000u; return u; }
        case TIR_OP_ABS: return a & 0x7FFFFFFF;
        case TIR_OP_EX2: return bf32(exp2f(x));
        case TIR_OP_LG2: return bf32(log2f(x));
        case TIR_OP_SIN: return bf32(sinf(x));
        case TIR_OP_COS: return bf32(cosf(x));
        case TIR_OP_RSQRT: return bf32(1.0f / sqrtf(x));
        case TIR_OP_TANH: return bf32(tanhf(x));
        case TIR_OP_RCP: return bf32(1.0f / x);
        default: return 0;
        }
    }
    double x = fval(t, a), y = fval(t, b);
    switch (op) {
    case TIR_OP_ADD: return fres(t, x + y);
    case TIR_OP_SUB: return fres(t, x - y);
    case TIR_OP_MUL: return fres(t, x * y);
    case TIR_OP_DIV: return fres(t, x / y);
    case TIR_OP_SQRT: return fres(t, sqrt(x));
    case TIR_OP_MIN: return isnan(x) ? fres(t, y) : isnan(y) ? a : fres(t, x < y ? x : y);
    case TIR_OP_MAX: return isnan(x) ? fres(t, y) : isnan(y) ? a : fres(t, x > y ? x : y);
    case TIR_OP_NEG: return a ^ (1ull << (bits(t) - 1));
    case TIR_OP_ABS: return a & mask(bits(t) - 1);
    default: return 0;
    }
}

static bool setp(TirCmp c, TirType t, uint64_t a, uint64_t b)
{
    if (tir_type_is_float(t)) {
        double x = fval(t, a), y = fval(t, b);
        switch (c) {
        case TIR_CMP_EQ: return x == y;
        case TIR_CMP_NE: return x != y && !isnan(x) && !isnan(y);
        case TIR_CMP_LT: return x < y;
        case TIR_CMP_LE: return x <= y;
        case TIR_CMP_GT: return x > y;
        case TIR_CMP_GE: return x >= y;
        case TIR_CMP_NEU: return !(x == y);
        case TIR_CMP_NAN: return isnan(x) || isnan(y);
        }
        return false;
    }
    int w = bits(t);
    if (t == TIR_PRED)
        w = 1;
    if (is_signed(t)) {
        int64_t x = sext(a & mask(w), w), y = sext(b & mask(w), w);
        switch (c) {
        case TIR_CMP_EQ: return x == y;
        case TIR_CMP_NE: case TIR_CMP_NEU: return x != y;
        case TIR_CMP_LT: return x < y;
        case TIR_CMP_LE: return x <= y;
        case TIR_CMP_GT: return x > y;
        case TIR_CMP_GE: return x >= y;
        default: return false;
        }
    }
    uint64_t x = a & mask(w), y = b & mask(w);
    switch (c) {
    case TIR_CMP_EQ: return x == y;
    case TIR_CMP_NE: case TIR_CMP_NEU: return x != y;
    case TIR_CMP_LT: return x < y;
    case TIR_CMP_LE: return x <= y;
    case TIR_CMP_GT: return x > y;
    case TIR_CMP_GE: return x >= y;
    default: return false;
    }
}

static uint64_t cvt(const TirOp *o, uint64_t a)
{
    TirType to = o->type, from = o->type2;
    bool tf = tir_type_is_float(to), ff = tir_type_is_float(from);
    if (!tf && !ff) {
        int w = bits(from);
        return is_signed(from) ? (uint64_t)sext(a & mask(w), w) : a & mask(w);
    }
    return vm_cast(vmdt(to), vmdt(from), a & mask(bits(from)));
}

static uint8_t *gaddr(TeVm *ev, uint64_t addr, int width)
{
    for (int b = 0; b < ev->nbufs; b++) {
        uint64_t lo = (uint64_t)(uintptr_t)ev->bufs[b].p;
        uint64_t hi = lo + ((ev->bufs[b].n + 3) & ~(size_t)3);
        if (addr >= lo && addr + (uint64_t)width <= hi)
            return (uint8_t *)(uintptr_t)addr;
    }
    fault(ev, "global access of %d bytes at %#llx outside every buffer", width,
          (unsigned long long)addr);
    return NULL;
}

static uint8_t *maddr(TeVm *ev, TirSpace sp, uint64_t addr, int width)
{
    if (sp == TIR_SPACE_GLOBAL)
        return gaddr(ev, addr, width);
    if (addr + (uint64_t)width > (uint64_t)ev->k->shared_bytes) {
        fault(ev, "shared access at %llu beyond %lld", (unsigned long long)addr,
              (long long)ev->k->shared_bytes);
        return NULL;
    }
    return ev->shared + addr;
}

/* cp.async: src-size bytes read now (zero-filled to width), landing at the
 * wait that retires the group. */
static void cp_issue(TeVm *ev, const TirOp *o, int t, uint64_t dst, uint64_t src, uint64_t n)
{
    int w = o->width;
    dst = (dst + (uint64_t)o->off) & 0xFFFFFFFFu;
    if (dst % (uint64_t)w || src % (uint64_t)w || n > (uint64_t)w) {
        fault(ev, "cp.async of %d bytes: misaligned or src-size %llu", w, (unsigned long long)n);
        return;
    }
    if (!maddr(ev, TIR_SPACE_SHARED, dst, w))
        return;
    if (ev->ncp == ev->capcp) {
        ev->capcp = ev->capcp ? 2 * ev->capcp : 256;
        ev->cp = realloc(ev->cp, sizeof *ev->cp * (size_t)ev->capcp);
    }
    struct TeCopy *c = &ev->cp[ev->ncp];
    memset(c, 0, sizeof *c);
    c->t = t;
    c->group = ev->committed[t];
    c->width = w;
    c->dst = dst;
    if (n) {
        uint8_t *p = maddr(ev, TIR_SPACE_GLOBAL, src, (int)n);
        if (!p)
            return;
        memcpy(c->bytes, p, (size_t)n);
    }
    ev->ncp++;
}

static void cp_wait(TeVm *ev, int t, int n)
{
    int j = 0;
    for (int i = 0; i < ev->ncp; i++) {
        struct TeCopy *c = &ev->cp[i];
        if (c->t == t && c->group < ev->committed[t] - n)
            memcpy(ev->shared + c->dst, c->bytes, (size_t)c->width);
        else
            ev->cp[j++] = *c;
    }
    ev->ncp = j;
}

static uint64_t load(const uint8_t *p, TirType mt)
{
    uint64_t v = 0;
    int w = bits(mt) / 8;
    memcpy(&v, p, (size_t)w);
    if (is_signed(mt))
        v = (uint64_t)sext(v, w * 8);
    return v;
}

static void out(TeVm *ev, const char *s, size_t n)
{
    char *p = realloc(ev->out, ev->nout + n + 1);
    if (!p)
        abort();
    ev->out = p;
    memcpy(p + ev->nout, s, n);
    ev->nout += n;
    p[ev->nout] = 0;
}

/* vprintf: each conversion takes the next argument as its register type */
static void do_printf(TeVm *ev, const TirOp *o, int t)
{
    const char *f = o->str ? o->str : "";
    int next = 0;
    while (*f) {
        if (*f != '%') {
            out(ev, f++, 1);
            continue;
        }
        if (f[1] == '%') {
            out(ev, "%", 1);
            f += 2;
            continue;
        }
        const char *e = f + 1;
        while (*e && !strchr("diouxXcfFeEgGaAs", *e))
            e++;
        char spec[32], buf[128];
        snprintf(spec, sizeof spec, "%.*s", (int)(e - f + 1), f);
        f = *e ? e + 1 : e;
        if (next >= o->na)
            continue;
        uint64_t v = arg(ev, o, next, t);
        TirType ty = ev->k->regs[o->a[next++].reg].type;
        int n;
        if (ty == TIR_F64)
            n = snprintf(buf, sizeof buf, spec, f64(v));
        else if (tir_type_bits(ty) == 64)
            n = snprintf(buf, sizeof buf, spec, (long long)v);
        else
            n = snprintf(buf, sizeof buf, spec, (int)(int64_t)sext(v, 32));
        out(ev, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
    }
}

static void exec_block(TeVm *ev, const TirBlock *b, const uint8_t *m);

static void exec_op(TeVm *ev, const TirOp *o, const uint8_t *m)
{
    int T = ev->T;
    uint8_t act[1024];
    bool any = false;
    for (int t = 0; t < T; t++) {
        act[t] = m[t] && ev->st[t] == RUN;
        if (act[t] && o->guard >= 0) {
            bool g = ev->r[(size_t)o->guard * T + t] & 1;
            act[t] = o->guard_neg ? !g : g;
        }
        any |= act[t];
    }
    if (++ev->steps > 50000000)
        fault(ev, "too many steps");
    if (!any || ev->fault)
        return;
    TirType ty = o->type;
    if (o->op == TIR_OP_IF) {
        uint8_t m1[1024], m2[1024];
        for (int t = 0; t < T; t++) {
            bool p = arg(ev, o, 0, t) & 1;
            m1[t] = act[t] && p;
            m2[t] = act[t] && !p;
        }
        exec_block(ev, &o->body, m1);
        exec_block(ev, &o->orelse, m2);
        return;
    }
    if (o->op == TIR_OP_LOOP) {
        for (;;) {
            exec_block(ev, &o->body, act);
            for (int t = 0; t < T; t++)
                if (act[t] && ev->st[t] == CONT)
                    ev->st[t] = RUN;
            exec_block(ev, &o->orelse, act);
            bool run = false;
            for (int t = 0; t < T; t++)
                run |= act[t] && ev->st[t] == RUN;
            if (!run || ev->fault)
                break;
        }
        for (int t = 0; t < T; t++)
            if (act[t] && ev->st[t] == BROKE)
                ev->st[t] = RUN;
        return;
    }
    if (o->op == TIR_OP_MMA || o->op == TIR_OP_LDMATRIX) {
        te_warp_op(ev, o, act);
        return;
    }
    if (o->op == TIR_OP_SHFL) {
        uint64_t v[1024];
        for (int t = 0; t < T; t++) {
            int lane = t & 31, base = t - lane;
            uint32_t b = (uint32_t)arg(ev, o, 1, t);
            int src = o->mod == TIR_SHFL_BFLY ? lane ^ (int)b : o->mod == TIR_SHFL_IDX ? (int)b : lane;
            v[t] = arg(ev, o, 0, base + (src & 31));
        }
        for (int t = 0; t < T; t++)
            if (act[t])
                set(ev, o->d[0], t, v[t]);
        return;
    }
    for (int t = 0; t < T && !ev->fault; t++) {
        if (!act[t])
            continue;
        uint64_t a = arg(ev, o, 0, t), b = o->na > 1 ? arg(ev, o, 1, t) : 0,
                 c = o->na > 2 ? arg(ev, o, 2, t) : 0;
        switch (o->op) {
        case TIR_OP_NOTE: case TIR_OP_BAR: case TIR_OP_FENCE:
            break;
        case TIR_OP_CP_COMMIT: ev->committed[t]++; break;
        case TIR_OP_CP_WAIT: cp_wait(ev, t, (int)o->imm); break;
        case TIR_OP_CP_ASYNC: cp_issue(ev, o, t, a, b, o->na > 2 ? c : (uint64_t)o->width); break;
        case TIR_OP_PRINTF: do_printf(ev, o, t); break;
        case TIR_OP_BREAK: ev->st[t] = BROKE; break;
        case TIR_OP_CONTINUE: ev->st[t] = CONT; break;
        case TIR_OP_RET: ev->st[t] = RET; break;
        case TIR_OP_MOV: case TIR_OP_BITCAST: set(ev, o->d[0], t, a); break;
        case TIR_OP_PACK: {
            int w = bits(o->type2);
            uint64_t v = 0;
            for (int j = 0; j < o->na; j++)
                v |= (arg(ev, o, j, t) & mask(w)) << (j * w);
            set(ev, o->d[0], t, v);
            break;
        }
        case TIR_OP_UNPACK: {
            int w = bits(o->type);
            for (int j = 0; j < o->nd; j++)
                set(ev, o->d[j], t, a >> (j * w));
            break;
        }
        case TIR_OP_SREG: {
            uint64_t v = 0;
            switch (o->mod) {
            case TIR_SR_TID_X: v = (uint64_t)t; break;
            case TIR_SR_LANEID: v = (uint64_t)(t & 31); break;
            case TIR_SR_CTAID_X: case TIR_SR_CTAID_Y: case TIR_SR_CTAID_Z:
                v = (uint64_t)ev->ctaid[o->mod - TIR_SR_CTAID_X]; break;
            default: v = (uint64_t)ev->nctaid[o->mod - TIR_SR_NCTAID_X]; break;
            }
            set(ev, o->d[0], t, v);
            break;
        }
        case TIR_OP_MULWIDE:
            set(ev, o->d[0], t, (uint64_t)(sext(a, 32) * sext(b, 32)));
            break;
        case TIR_OP_SETP: set(ev, o->d[0], t, setp((TirCmp)o->mod, ty, a, b)); break;
        case TIR_OP_SELP: set(ev, o->d[0], t, (c & 1) ? a : b); break;
        case TIR_OP_CVT: set(ev, o->d[0], t, cvt(o, a)); break;
        case TIR_OP_BFE: {
            int w = bits(ty);
            uint64_t pos = b & 0xFF, len = c & 0xFF;
            uint64_t x = is_signed(ty) ? (uint64_t)sext(a & mask(w), w) : a & mask(w);
            uint64_t v = len == 0 ? 0 : (pos >= 64 ? 0 : x >> pos) & mask((int)len);
            if (is_signed(ty) && len)
                v = (uint64_t)sext(v, (int)len);
            set(ev, o->d[0], t, v);
            break;
        }
        case TIR_OP_CLZ: {
            int w = bits(o->type2);
            uint64_t x = a & mask(w);
            int n = 0;
            while (n < w && !((x >> (w - 1 - n)) & 1))
                n++;
            set(ev, o->d[0], t, (uint64_t)n);
            break;
        }
        case TIR_OP_POPC: set(ev, o->d[0], t, (uint64_t)__builtin_popcountll(a)); break;
        case TIR_OP_LOP3: {
            uint64_t v = 0;
            for (int bit = 0; bit < 32; bit++) {
                int idx = (int)(((a >> bit) & 1) << 2 | ((b >> bit) & 1) << 1 | ((c >> bit) & 1));
                v |= (uint64_t)((o->imm >> idx) & 1) << bit;
            }
            set(ev, o->d[0], t, v);
            break;
        }
        case TIR_OP_PRMT: {
            uint64_t bytes = (a & 0xFFFFFFFF) | (b & 0xFFFFFFFF) << 32, v = 0;
            for (int j = 0; j < 4; j++)
                v |= ((bytes >> (8 * ((c >> (4 * j)) & 7))) & 0xFF) << (8 * j);
            set(ev, o->d[0], t, v);
            break;
        }
        case TIR_OP_LD: {
            /* d0..dn-1 from consecutive elements; the hardware faults on an
             * access not aligned to its width */
            uint64_t ad = a + (uint64_t)o->off;
            int eb = bits(o->type2) / 8;
            if (ad % (uint64_t)o->width) {
                fault(ev, "misaligned %d-byte load at %#llx", o->width, (unsigned long long)ad);
                break;
            }
            uint8_t *p = maddr(ev, o->space, ad, o->width);
            for (int j = 0; p && j < o->nd; j++)
                set(ev, o->d[j], t, load(p + j * eb, o->type2));
            break;
        }
        case TIR_OP_ST: {
            uint64_t ad = a + (uint64_t)o->off;
            int eb = bits(o->type2) / 8;
            if (ad % (uint64_t)o->width) {
                fault(ev, "misaligned %d-byte store at %#llx", o->width, (unsigned long long)ad);
                break;
            }
            uint8_t *p = maddr(ev, o->space, ad, o->width);
            for (int j = 1; p && j < o->na; j++) {
                uint64_t v = arg(ev, o, j, t);
                memcpy(p + (j - 1) * eb, &v, (size_t)eb);
            }
            break;
        }
        case TIR_OP_ATOM: {
            int w = bits(ty) / 8;
            uint8_t *p = maddr(ev, o->space, a + (uint64_t)o->off, w);
            if (!p)
                break;
            uint64_t old = 0, v;
            memcpy(&old, p, (size_t)w);
            switch (o->mod) {
            case TIR_ATOM_AND: v = old & b; break;
            case TIR_ATOM_OR: v = old | b; break;
            case TIR_ATOM_XOR: v = old ^ b; break;
            case TIR_ATOM_EXCH: v = b; break;
            case TIR_ATOM_ADD:
                v = tir_type_is_float(ty) ? float_op(TIR_OP_ADD, ty, old, b, 0) : old + b;
                break;
            default: v = old; fault(ev, "atom op %d not modelled", o->mod); break;
            }
            memcpy(p, &v, (size_t)w);
            if (o->nd)
                set(ev, o->d[0], t, old);
            break;
        }
        default:
            if (tir_type_is_float(ty))
                set(ev, o->d[0], t, float_op(o->op, ty, a, b, c));
            else if (ty == TIR_PRED) {
                uint64_t v = o->op == TIR_OP_AND ? a & b : o->op == TIR_OP_OR ? a | b
                           : o->op == TIR_OP_XOR ? a ^ b : o->op == TIR_OP_NOT ? !(a & 1) : 0;
                set(ev, o->d[0], t, v);
            } else if (o->op == TIR_OP_DIV || o->op == TIR_OP_REM) {
                if ((b & mask(bits(ty))) == 0)
                    fault(ev, "integer division by zero (TIR forbids it)");
                else
                    set(ev, o->d[0], t, int_op(o->op, ty, a, b, c));
            } else
                set(ev, o->d[0], t, int_op(o->op, ty, a, b, c));
            break;
        }
    }
}

static void exec_block(TeVm *ev, const TirBlock *b, const uint8_t *m)
{
    for (const TirOp *o = b->first; o && !ev->fault; o = o->next)
        exec_op(ev, o, m);
}

bool te_run(TeVm *ev, const TirKernel *k, const uint64_t *pv, const TeBuf *bufs, int nbufs,
            const int *grid)
{
    memset(ev, 0, sizeof *ev);
    ev->k = k;
    ev->T = 32 * k->warps;
    ev->r = calloc((size_t)k->nregs * (size_t)ev->T + 1, sizeof *ev->r);
    ev->st = calloc((size_t)ev->T, 1);
    ev->shared = calloc((size_t)k->shared_bytes + 16, 1);
    ev->committed = calloc((size_t)ev->T, sizeof(int));
    ev->nbufs = nbufs < 16 ? nbufs : 16;
    memcpy(ev->bufs, bufs, sizeof *bufs * (size_t)ev->nbufs);
    for (int d = 0; d < 3; d++)
        ev->nctaid[d] = grid[d];
    uint8_t all[1024];
    memset(all, 1, sizeof all);
    for (int z = 0; z < grid[2] && !ev->fault; z++)
        for (int y = 0; y < grid[1] && !ev->fault; y++)
            for (int x = 0; x < grid[0] && !ev->fault; x++) {
                ev->ctaid[0] = x;
                ev->ctaid[1] = y;
                ev->ctaid[2] = z;
                memset(ev->r, 0, sizeof *ev->r * (size_t)k->nregs * (size_t)ev->T);
                memset(ev->st, RUN, (size_t)ev->T);
                memset(ev->shared, 0, (size_t)k->shared_bytes);
                memset(ev->committed, 0, sizeof(int) * (size_t)ev->T);
                ev->ncp = 0;
                for (int p = 0; p < k->nparams; p++)
                    for (int t = 0; t < ev->T; t++)
                        set(ev, k->params[p].reg, t, pv[p]);
                exec_block(ev, &k->body, all);
            }
    return !ev->fault;
}

void te_free(TeVm *ev)
{
    free(ev->out);
    free(ev->r);
    free(ev->st);
    free(ev->shared);
    free(ev->cp);
    free(ev->committed);
}

/* tests/tir_eval_mma.c - the warp-collective tensor-core ops of the TIR
 * evaluator (tir_eval.h): ldmatrix and mma.sync, one warp at a time, every
 * lane reading its operands before any lane writes.
 *
 * Fragment maps are PTX-FACTS.md's, written out here by hand (not taken
 * from layout/hw.c, which they check). The tensor core's order of additions
 * inside one mma is not specified; the evaluator accumulates k ascending
 * with one f32 fma per product (f16/bf16 products are exact in f32), the
 * interpreter's order, so a lowering whose atoms run k ascending matches
 * the interpreter bit for bit here and within VM.md 7 on a GPU. Integer mma
 * wraps modulo 2^32 (no .satfinite). An f16 accumulator (f16x2 registers)
 * accumulates in f32 and rounds once at the end. */
#include <stdio.h>
#include <string.h>

#include "tests/tir_eval.h"

static uint64_t rd(const TeVm *ev, const TirOp *o, int i, int t)
{
    const TirArg *a = &o->a[i];
    if (a->kind == TIR_A_IMM)
        return a->imm;
    return a->kind == TIR_A_REG ? ev->r[(size_t)a->reg * ev->T + t] : 0;
}

static void wr(TeVm *ev, int reg, int t, uint64_t v)
{
    int b = tir_type_bits(ev->k->regs[reg].type);
    ev->r[(size_t)reg * ev->T + t] = b >= 64 ? v : v & ((1ull << b) - 1);
}

static bool bad(TeVm *ev, const char *msg)
{
    if (!ev->fault) {
        ev->fault = true;
        snprintf(ev->msg, sizeof ev->msg, "%s", msg);
    }
    return false;
}

static float f32_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* an operand element (16 or 8 bits) of the a type as f32 or integer */
static float fel(TirType t, uint32_t code)
{
    if (t == TIR_BF16)
        return f32_of(code << 16);
    return f32_of((uint32_t)vm_cast(VM_DT_F32, VM_DT_F16, code));
}

static int64_t iel(TirType t, uint32_t code)
{
    return t == TIR_S8 ? (int64_t)(int8_t)code : (int64_t)(uint8_t)code;
}

static bool ldmatrix(TeVm *ev, const TirOp *o, int w)
{
    int n = (int)o->imm;
    uint32_t addr[32];
    for (int lane = 0; lane < 32; lane++) {
        uint64_t a = rd(ev, o, 0, w + lane) + (uint64_t)o->off;
        if (lane < 8 * n && (a % 16 || a + 16 > (uint64_t)ev->k->shared_bytes))
            return bad(ev, "ldmatrix: a row address is misaligned or outside shared memory");
        addr[lane] = (uint32_t)a;
    }
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2, q = lane & 3;
        for (int j = 0; j < n; j++) {
            uint16_t e[2];
            for (int h = 0; h < 2; h++) {
                int row = o->flag ? 2 * q + h : g, col = o->flag ? g : 2 * q + h;
                memcpy(&e[h], ev->shared + addr[8 * j + row] + 2 * col, 2);
            }
            wr(ev, o->d[j], w + lane, (uint64_t)e[0] | (uint64_t)e[1] << 16);
        }
    }
    return true;
}

static bool mma(TeVm *ev, const TirOp *o, int w)
{
    int m, n, k;
    if (!o->str || sscanf(o->str, "m%dn%dk%d", &m, &n, &k) != 3 || m != 16 || n != 8 ||
        (k != 16 && k != 32))
        return bad(ev, "mma: shape not modelled");
    bool i8 = k == 32;
    TirType at = o->type2;
    if (i8 != (at == TIR_S8 || at == TIR_U8) || (!i8 && at != TIR_F16 && at != TIR_BF16))
        return bad(ev, "mma: operand type not modelled");
    bool h16 = o->type == TIR_F16X2;
    int na = 4, nb = 2, nc = h16 ? 2 : 4, per = i8 ? 4 : 2, eb = 32 / per;
    if (o->na != na + nb + nc || o->nd != nc)
        return bad(ev, "mma: register counts");
    uint32_t A[16][32], B[32][8];
    double Cf[16][8];
    int64_t Ci[16][8];
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2, q = lane & 3;
        for (int i = 0; i < 4 * per; i++) {
            uint32_t word = (uint32_t)rd(ev, o, i / per, w + lane);
            uint32_t code = word >> (eb * (i % per)) & ((1u << eb) - 1);
            int row, col;
            if (i8) {
                row = g + 8 * ((i >> 2) & 1);
                col = 4 * q + (i & 3) + 16 * (i >> 3);
            } else {
                row = g + 8 * ((i >> 1) & 1);
                col = 2 * q + (i & 1) + 8 * (i >> 2);
            }
            A[row][col] = code;
        }
        for (int i = 0; i < 2 * per; i++) {
            uint32_t word = (uint32_t)rd(ev, o, na + i / per, w + lane);
            uint32_t code = word >> (eb * (i % per)) & ((1u << eb) - 1);
            int kk = i8 ? 4 * q + (i & 3) + 16 * (i >> 2) : 2 * q + (i & 1) + 8 * (i >> 1);
            B[kk][g] = code;
        }
        for (int i = 0; i < 4; i++) {
            int row = g + 8 * (i >> 1), col = 2 * q + (i & 1);
            uint64_t v = rd(ev, o, na + nb + (h16 ? i >> 1 : i), w + lane);
            if (h16)
                Cf[row][col] = f32_of((uint32_t)vm_cast(VM_DT_F32, VM_DT_F16,
                                                        (v >> (16 * (i & 1))) & 0xFFFF));
            else if (i8)
                Ci[row][col] = (int64_t)(int32_t)(uint32_t)v;
            else
                Cf[row][col] = f32_of((uint32_t)v);
        }
    }
    uint32_t D[16][8];
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++) {
            if (i8) {
                uint32_t s = (uint32_t)Ci[r][c];
                for (int kk = 0; kk < k; kk++)
                    s += (uint32_t)(iel(at, A[r][kk]) * iel(at, B[kk][c]));
                D[r][c] = s;
            } else {
                float s = (float)Cf[r][c];
                for (int kk = 0; kk < k; kk++)
                    s = __builtin_fmaf(fel(at, A[r][kk]), fel(at, B[kk][c]), s);
                D[r][c] = h16 ? (uint32_t)vm_cast(VM_DT_F16, VM_DT_F32, bits_of(s)) : bits_of(s);
            }
        }
    for (int lane = 0; lane < 32; lane++) {
        int g = lane >> 2, q = lane & 3;
        uint64_t hw[2] = {0, 0};
        for (int i = 0; i < 4; i++) {
            uint32_t v = D[g + 8 * (i >> 1)][2 * q + (i & 1)];
            if (h16)
                hw[i >> 1] |= (uint64_t)v << (16 * (i & 1));
            else
                wr(ev, o->d[i], w + lane, v);
        }
        if (h16)
            for (int j = 0; j < 2; j++)
                wr(ev, o->d[j], w + lane, hw[j]);
    }
    return true;
}

bool te_warp_op(TeVm *ev, const TirOp *o, const uint8_t *act)
{
    if (ev->T % 32)
        return bad(ev, "warp op in a block that is not whole warps");
    for (int w = 0; w < ev->T; w += 32) {
        int n = 0;
        for (int lane = 0; lane < 32; lane++)
            n += act[w + lane] != 0;
        if (n == 0)
            continue;
        if (n != 32)
            return bad(ev, "warp op (.sync.aligned) with part of the warp active");
        if (!(o->op == TIR_OP_MMA ? mma(ev, o, w) : ldmatrix(ev, o, w)))
            return false;
    }
    return true;
}

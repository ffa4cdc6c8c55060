/* tests/tir_eval.h - a CPU evaluator of TIR for the tests: one block at a
 * time, the block's threads in lockstep (SIMT with an active mask; uniform
 * control flow as the VM guarantees, per-thread guards and ifs by masks;
 * break/continue/ret as per-thread states), so bar.sync needs nothing and
 * shuffles read every lane before writing. Global addresses are host
 * pointers (checked against the registered buffers); shared memory is a
 * byte array. It models the PTX semantics TIR names: .rn float arithmetic
 * (canonical NaN results), saturating float->int cvt, clamped shift
 * counts; approximate math uses the C library. Used to compare lowered
 * kernels with the interpreter without a GPU. */
#ifndef LPVM_TESTS_TIR_EVAL_H
#define LPVM_TESTS_TIR_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen/codegen.h"

typedef struct {
    void *p;
    size_t n;
} TeBuf;

typedef struct {
    const TirKernel *k;
    int T;
    uint64_t *r;     /* nregs * T */
    uint8_t *st;     /* per-thread state */
    uint8_t *shared;
    int ctaid[3], nctaid[3];
    TeBuf bufs[16];
    int nbufs;
    bool fault;
    char msg[256];
    long steps;
    char *out; /* printf output, malloc'd (te_free frees it) */
    size_t nout;
    /* cp.async in flight: the source bytes read at issue, written to shared
     * when a wait_group retires their group (the thread's commit count at
     * issue; copies not yet committed are retired by no wait) */
    struct TeCopy {
        int t, group, width;
        uint64_t dst;
        uint8_t bytes[16];
    } *cp;
    int ncp, capcp;
    int *committed; /* per thread */
} TeVm;

/* Runs every block of grid g on param values pv (one per TirParam: a host
 * pointer cast to uint64_t, or a scalar's bits). Buffers named in bufs are
 * the only global memory. false with ev->msg on a fault. */
bool te_run(TeVm *ev, const TirKernel *k, const uint64_t *pv, const TeBuf *bufs, int nbufs,
            const int *grid);
void te_free(TeVm *ev);
/* tir_eval_mma.c: ldmatrix and mma.sync for the active warps (each wholly
 * active); false with ev->msg on a fault. */
bool te_warp_op(TeVm *ev, const TirOp *o, const uint8_t *act);

#endif

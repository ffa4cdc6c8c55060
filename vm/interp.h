/* vm/interp.h - the interpreter's state, private to vm/interp*.c.
 *
 * Register tensors (Ten) are dense row-major arrays of Codes with their
 * dtype and shape: one slot per Value id, reused when the defining
 * instruction runs again. A slot is defined in the current block when its
 * gen equals the block's generation (reading an undefined slot is a fault).
 * Global tensors (Glob) are byte pointers with shape and strides in
 * elements; shared memory is one byte array per block with, per byte, the
 * thread that last wrote it and the barrier epoch of that write, the
 * thread(s) that read it in the current epoch and the count of asynchronous
 * copies still in flight to it. */
#ifndef LPVM_VM_INTERP_H
#define LPVM_VM_INTERP_H

#include "vm/vm.h"

typedef struct {
    Dtype dt;
    int rank;
    int32_t shape[VM_MAX_DIMS];
    int64_t n;
    Code *v;
    int64_t cap;
    uint32_t gen;
} Ten;

typedef struct {
    uint8_t *data;
    uint64_t nbits; /* bits addressable from data */
    Dtype dt;
    int rank;
    int64_t shape[VM_MAX_DIMS];
    int64_t stride[VM_MAX_DIMS]; /* elements */
    uint32_t gen;                /* params: always defined (gen 0 is never a block's) */
    bool param;
} Glob;

/* shared byte writers and readers besides threads */
enum { IX_NEVER = -1, IX_ASYNC = -2, IX_MANY = -3 };

typedef struct {
    int64_t bit;
    int width;
    Code v;
    int64_t group;
} Pend;

typedef struct {
    Kernel *k;
    const VmInterpOptions *opt;
    VmDiags *faults;
    bool failed; /* one fault stops the launch */
    bool host;   /* tensor arguments carry host data (the interpreter) */
    uint64_t steps, max_steps;
    uint32_t gen; /* block generation, from 1 */
    int nthreads;
    int64_t grid[3], bid[3];
    /* scalars */
    Code *pval;
    bool *pbound;
    Code *svar;
    uint32_t *svar_gen;
    bool exact_div; /* shape checks: a division must be exact */
    VmLoc shape_loc;
    /* tensors, by value id */
    Ten *reg;
    Glob *glob;
    uint8_t **ws; /* workspace buffers, one per launch */
    int64_t **lmap; /* layout tables (ix_lmap), by value id */
    /* shared memory */
    VmSharedPlan plan; /* in scratch, freed with the launch */
    VmArena *scratch;
    uint8_t *smem;
    int32_t *swriter, *sreader;    /* per byte: last writer; reader in srepoch */
    uint32_t *sepoch, *srepoch, *spend;
    uint8_t *salloc; /* by value id: 1 allocated in this block, 2 freed */
    uint32_t epoch;
    Pend *pend;
    int64_t npend, pend_head, pend_cap;
    int64_t ncommitted, nlanded;
} Interp;

/* implicit conversion (a store of a value, a scalar into a variable): the
 * code unchanged when the dtypes agree (NaN payloads kept), else vm_cast */
static inline Code ix_conv(Dtype to, Dtype from, Code c)
{
    return to == from ? c : vm_cast(to, from, c);
}

/* interp.c */
bool ix_fault(Interp *ix, VmLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *ix_xmalloc(size_t n);
void ix_out(Interp *ix, const char *s, size_t n);
/* a defined register operand, else a fault and NULL */
Ten *ix_reg(Interp *ix, const Inst *i, const Value *v);
/* res's slot, sized for dt[shape], marked defined */
Ten *ix_def(Interp *ix, const Value *res, Dtype dt, int rank, const int32_t *shape);
/* for every element of out shape, the row-major index of src broadcast to it
 * (NumPy rules); a fault when the shapes clash */
int64_t *ix_bcast(Interp *ix, const Inst *i, const Ten *src, int rank, const int32_t *shape);
/* the layout of a register value, checked to cover its shape with the
 * block's threads */
bool ix_layout(Interp *ix, const Inst *i, const Value *v, Layout *L);
/* v's layout as a table: entry t * n + l is the row-major index of the
 * element thread t holds at local l (n = local size); made once per value
 * and launch. NULL after a fault. */
const int64_t *ix_lmap(Interp *ix, const Inst *i, const Value *v, Layout *L);
int ix_index_str(int rank, const int32_t *idx, char *buf, size_t n);

/* interp_bind.c */
bool ix_bind(Interp *ix, const VmArg *args, int nargs);
bool ix_eval_grid(Interp *ix);

/* interp_expr.c */
bool ix_eval(Interp *ix, const Expr *e, Code *out); /* code of e->dtype */
bool ix_eval_int(Interp *ix, const Expr *e, int64_t *out);
int64_t ix_code_int(Dtype dt, Code c); /* scalar i32/i64/bool code as an integer */

/* interp_mem.c */
bool ix_mem(Interp *ix, const Inst *i); /* memory, allocation, async, atomics */
void ix_shared_reset(Interp *ix);       /* at the start of each block */

/* interp_ops.c */
bool ix_ops(Interp *ix, const Inst *i); /* view, compute, shape, constants */
void ix_print_tensor(Interp *ix, const char *label, const Ten *t);

#endif

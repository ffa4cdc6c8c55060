/* vm/interp.c - the interpreter's driver: launch, the block loop, control
 * flow, variables and debugging output (VM.md 7).
 *
 * Launch: the arguments are bound and checked (interp_bind.c), the grid is
 * evaluated (an empty grid is a successful no-op) and the shared-memory
 * plan made.
 * Blocks run one at a time in grid order, x fastest, then y, then z; inside
 * a block instructions run in program order on logical tensors. The first
 * fault (with the instruction's location) stops the launch.
 * Steps: every instruction executed and every loop iteration counts one;
 * a block past opt->max_steps faults instead of hanging.
 * printf/print happen once per block. printf's conversions: d i u x X o c
 * take the argument as an integer, f F e E g G a A as a double (converted
 * when the argument has the other kind), %% is '%'; flags, width and
 * precision as in C, length modifiers are ignored, '*' and %s are faults.
 * print(R) writes "label: " then the elements as nested [..] lists, ints as
 * integers, floats with %g of their exact value, then a newline. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/interp.h"

typedef enum { FL_NEXT, FL_BREAK, FL_CONTINUE, FL_EXIT, FL_FAULT } Flow;

bool ix_fault(Interp *ix, VmLoc loc, const char *fmt, ...)
{
    if (ix->failed)
        return false;
    ix->failed = true;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vm_diag(ix->faults, loc, "%s", buf);
    return false;
}

void *ix_xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: lpvm internal error: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return p;
}

void vm_text_append(VmText *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p) {
            fprintf(stderr, "%s:%d: lpvm internal error: out of memory\n", __FILE__, __LINE__);
            abort();
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = 0;
}

void vm_text_free(VmText *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

void ix_out(Interp *ix, const char *s, size_t n)
{
    if (ix->opt && ix->opt->out)
        ix->opt->out(ix->opt->out_ctx, s, n);
    else if (ix->opt && ix->opt->text)
        vm_text_append(ix->opt->text, s, n);
}

VmArg vm_arg_tensor(void *data, size_t nbytes, int rank, const int64_t *shape)
{
    VmArg a = {.kind = VM_P_TENSOR, .data = data, .nbytes = nbytes, .rank = rank};
    for (int d = 0; d < rank && d < VM_MAX_DIMS; d++)
        a.shape[d] = shape[d];
    return a;
}

VmArg vm_arg_int(int64_t v)
{
    return (VmArg){.kind = VM_P_SCALAR, .i = v};
}

VmArg vm_arg_float(double v)
{
    return (VmArg){.kind = VM_P_SCALAR, .f = v};
}

int ix_index_str(int rank, const int32_t *idx, char *buf, size_t n)
{
    return vm_shape_str(rank, idx, buf, n);
}

/* ---------------------------------------------------------------- tensors */

Ten *ix_reg(Interp *ix, const Inst *i, const Value *v)
{
    if (!v) {
        ix_fault(ix, i->loc, "%s: missing operand", vm_op_name(i->op));
        return NULL;
    }
    if (v->kind != VM_REG) {
        ix_fault(ix, i->loc, "%s: %s is not a register tensor", vm_op_name(i->op),
                 vm_value_label(ix->faults->arena, v));
        return NULL;
    }
    Ten *t = &ix->reg[v->id];
    if (t->gen != ix->gen) {
        ix_fault(ix, i->loc, "%s: %s is used before it is defined", vm_op_name(i->op),
                 vm_value_label(ix->faults->arena, v));
        return NULL;
    }
    return t;
}

Ten *ix_def(Interp *ix, const Value *res, Dtype dt, int rank, const int32_t *shape)
{
    Ten *t = &ix->reg[res->id];
    int64_t n = vm_shape_numel(rank, shape);
    if (n > t->cap) {
        free(t->v);
        t->v = ix_xmalloc(sizeof(Code) * (size_t)n);
        t->cap = n;
    }
    t->dt = dt;
    t->rank = rank;
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, sizeof(int32_t) * (size_t)rank);
    t->n = n;
    t->gen = ix->gen;
    return t;
}

int64_t *ix_bcast(Interp *ix, const Inst *i, const Ten *src, int rank, const int32_t *shape)
{
    int64_t stride[VM_MAX_DIMS] = {0};
    int off = rank - src->rank;
    if (off < 0) {
        ix_fault(ix, i->loc, "%s: operand of rank %d does not broadcast to rank %d",
                 vm_op_name(i->op), src->rank, rank);
        return NULL;
    }
    int64_t s = 1;
    for (int d = src->rank - 1; d >= 0; d--) {
        if (src->shape[d] != shape[d + off] && src->shape[d] != 1) {
            char a[96], b[96];
            vm_shape_str(src->rank, src->shape, a, sizeof a);
            vm_shape_str(rank, shape, b, sizeof b);
            ix_fault(ix, i->loc, "%s: shape %s does not broadcast to %s", vm_op_name(i->op), a, b);
            return NULL;
        }
        stride[d + off] = src->shape[d] == 1 ? 0 : s;
        s *= src->shape[d];
    }
    int64_t n = vm_shape_numel(rank, shape);
    int64_t *idx = ix_xmalloc(sizeof *idx * (size_t)(n ? n : 1));
    int32_t c[VM_MAX_DIMS] = {0};
    int64_t cur = 0;
    for (int64_t e = 0; e < n; e++) {
        idx[e] = cur;
        for (int d = rank - 1; d >= 0; d--) {
            c[d]++;
            cur += stride[d];
            if (c[d] < shape[d])
                break;
            cur -= stride[d] * c[d];
            c[d] = 0;
        }
    }
    return idx;
}

bool ix_layout(Interp *ix, const Inst *i, const Value *v, Layout *L)
{
#define NAME vm_value_label(ix->faults->arena, v)
    if (v->lstate == VM_LAY_UNKNOWN)
        return ix_fault(ix, i->loc, "%s: the layout of %s is unknown (run layout inference)",
                        vm_op_name(i->op), NAME);
    *L = v->layout;
    if (!vm_shape_eq(L->rank, L->shape, v->rank, v->shape)) {
        char a[96], b[96];
        vm_shape_str(L->rank, L->shape, a, sizeof a);
        vm_shape_str(v->rank, v->shape, b, sizeof b);
        return ix_fault(ix, i->loc, "%s: the layout of %s covers %s, not its shape %s",
                        vm_op_name(i->op), NAME, a, b);
    }
    if (lay_num_threads(*L) != ix->nthreads)
        return ix_fault(ix, i->loc, "%s: the layout of %s covers %d threads, the block has %d",
                        vm_op_name(i->op), NAME, lay_num_threads(*L), ix->nthreads);
#undef NAME
    return true;
}

const int64_t *ix_lmap(Interp *ix, const Inst *i, const Value *v, Layout *L)
{
    if (!ix_layout(ix, i, v, L))
        return NULL;
    if (ix->lmap[v->id])
        return ix->lmap[v->id];
    int n = lay_local_size(*L);
    int64_t *m = ix_xmalloc(sizeof *m * (size_t)ix->nthreads * (size_t)(n ? n : 1));
    for (int t = 0; t < ix->nthreads; t++)
        for (int l = 0; l < n; l++) {
            int32_t idx[VM_MAX_DIMS];
            lay_apply(*L, t, l, idx);
            int64_t e = 0;
            for (int d = 0; d < L->rank; d++)
                e = e * L->shape[d] + idx[d];
            m[(int64_t)t * n + l] = e;
        }
    ix->lmap[v->id] = m;
    return m;
}

/* ---------------------------------------------------------------- printf */

static bool do_printf(Interp *ix, const Inst *i)
{
    const char *f = i->str ? i->str : "";
    char out[4096];
    size_t n = 0;
    int arg = 0;
#define PUT(s, len)                                                          \
    do {                                                                     \
        size_t l_ = (len);                                                   \
        if (n + l_ >= sizeof out) {                                          \
            ix_out(ix, out, n);                                              \
            n = 0;                                                           \
        }                                                                    \
        if (l_ >= sizeof out)                                                \
            ix_out(ix, (s), l_);                                             \
        else {                                                               \
            memcpy(out + n, (s), l_);                                        \
            n += l_;                                                         \
        }                                                                    \
    } while (0)
    while (*f) {
        if (*f != '%') {
            const char *p = strchr(f, '%');
            size_t len = p ? (size_t)(p - f) : strlen(f);
            PUT(f, len);
            f += len;
            continue;
        }
        if (f[1] == '%') {
            PUT("%", 1);
            f += 2;
            continue;
        }
        char spec[32] = "%";
        int sl = 1;
        const char *p = f + 1;
        while (*p && strchr("-+ #0", *p) && sl < 8)
            spec[sl++] = *p++;
        while ((*p >= '0' && *p <= '9') || *p == '.') {
            if (sl < 24)
                spec[sl++] = *p;
            p++;
        }
        while (*p && strchr("hlLqjzt", *p))
            p++;
        char conv = *p;
        if (!conv || !strchr("diuxXocfFeEgGaA", conv))
            return ix_fault(ix, i->loc, "printf: unsupported conversion '%%%c'", conv ? conv : ' ');
        if (arg >= i->neargs)
            return ix_fault(ix, i->loc, "printf: more conversions than the %d arguments", i->neargs);
        const Expr *e = i->eargs[arg++];
        Code c;
        if (!ix_eval(ix, e, &c))
            return false;
        bool isf = e->dtype == VM_DT_F32;
        double dv = isf ? vm_decode(VM_DT_F32, c) : (double)ix_code_int(e->dtype, c);
        long long iv = isf ? (long long)vm_decode_int(VM_DT_F32, c) : (long long)ix_code_int(e->dtype, c);
        char buf[512];
        int len;
        if (strchr("fFeEgGaA", conv)) {
            spec[sl++] = conv;
            spec[sl] = 0;
            len = snprintf(buf, sizeof buf, spec, dv);
        } else if (conv == 'c') {
            spec[sl++] = 'c';
            spec[sl] = 0;
            len = snprintf(buf, sizeof buf, spec, (int)iv);
        } else {
            spec[sl++] = 'l';
            spec[sl++] = 'l';
            spec[sl++] = conv;
            spec[sl] = 0;
            if (conv == 'd' || conv == 'i')
                len = snprintf(buf, sizeof buf, spec, iv);
            else
                len = snprintf(buf, sizeof buf, spec,
                               (unsigned long long)(e->dtype == VM_DT_I32 ? (uint32_t)iv : (uint64_t)iv));
        }
        if (len > 0)
            PUT(buf, (size_t)len < sizeof buf ? (size_t)len : sizeof buf - 1);
        f = p + 1;
    }
#undef PUT
    if (arg != i->neargs)
        return ix_fault(ix, i->loc, "printf: %d arguments for %d conversions", i->neargs, arg);
    if (n)
        ix_out(ix, out, n);
    return true;
}

/* ---------------------------------------------------------------- control */

static Flow exec_block(Interp *ix, const Block *b);

static bool step(Interp *ix, VmLoc loc)
{
    if (++ix->steps > ix->max_steps)
        return ix_fault(ix, loc, "step limit of %llu reached (an infinite loop?)",
                        (unsigned long long)ix->max_steps);
    return true;
}

static Flow loop_body(Interp *ix, const Inst *i, bool *stop)
{
    *stop = false;
    if (!step(ix, i->loc))
        return FL_FAULT;
    Flow f = exec_block(ix, &i->body);
    if (f == FL_BREAK) {
        *stop = true;
        return FL_NEXT;
    }
    if (f == FL_EXIT || f == FL_FAULT)
        return f;
    return FL_NEXT;
}

static Flow exec_for(Interp *ix, const Inst *i)
{
    int64_t start, end, stp;
    if (!ix_eval_int(ix, i->e[0], &start) || !ix_eval_int(ix, i->e[1], &end) ||
        !ix_eval_int(ix, i->e[2], &stp))
        return FL_FAULT;
    if (stp == 0)
        return ix_fault(ix, i->loc, "for: step 0"), FL_FAULT;
    Var *v = i->var;
    for (int64_t x = start; stp > 0 ? x < end : x > end; x += stp) {
        ix->svar[v->id] = vm_cast(v->dtype, VM_DT_I64, (Code)x);
        ix->svar_gen[v->id] = ix->gen;
        bool stop;
        Flow f = loop_body(ix, i, &stop);
        if (f != FL_NEXT)
            return f;
        if (stop)
            break;
        if ((stp > 0 && x > INT64_MAX - stp) || (stp < 0 && x < INT64_MIN - stp))
            break;
    }
    return FL_NEXT;
}

static Flow exec_while(Interp *ix, const Inst *i)
{
    for (;;) {
        Code c;
        if (!ix_eval(ix, i->e[0], &c))
            return FL_FAULT;
        if (!c)
            return FL_NEXT;
        bool stop;
        Flow f = loop_body(ix, i, &stop);
        if (f != FL_NEXT)
            return f;
        if (stop)
            return FL_NEXT;
    }
}

static bool copy_ten(Interp *ix, const Inst *i, const Value *dst, const Value *src)
{
    Ten *s = ix_reg(ix, i, src);
    if (!s)
        return false;
    if (s == &ix->reg[dst->id])
        return true;
    if (dst->rank != s->rank || !vm_shape_eq(dst->rank, dst->shape, s->rank, s->shape) ||
        dst->dtype != s->dt)
        return ix_fault(ix, i->loc, "%s: the value does not match variable %s's type",
                        vm_op_name(i->op), i->var->name);
    Ten *d = ix_def(ix, dst, s->dt, s->rank, s->shape);
    memcpy(d->v, s->v, sizeof(Code) * (size_t)s->n);
    return true;
}

static bool exec_var(Interp *ix, const Inst *i)
{
    Var *v = i->var;
    if (!v)
        return ix_fault(ix, i->loc, "%s without a variable", vm_op_name(i->op));
    if (!v->scalar)
        return copy_ten(ix, i, v->val, i->a[0]);
    Code c;
    if (!ix_eval(ix, i->e[0], &c))
        return false;
    ix->svar[v->id] = ix_conv(v->dtype, i->e[0]->dtype, c);
    ix->svar_gen[v->id] = ix->gen;
    return true;
}

static Flow exec(Interp *ix, const Inst *i)
{
    switch (i->op) {
    case VM_FOR:
        return exec_for(ix, i);
    case VM_WHILE:
        return exec_while(ix, i);
    case VM_IF: {
        Code c;
        if (!ix_eval(ix, i->e[0], &c))
            return FL_FAULT;
        return exec_block(ix, c ? &i->body : &i->orelse);
    }
    case VM_BREAK:
        return FL_BREAK;
    case VM_CONTINUE:
        return FL_CONTINUE;
    case VM_EXIT:
        return FL_EXIT;
    case VM_VAR_DEF:
    case VM_ASSIGN:
        return exec_var(ix, i) ? FL_NEXT : FL_FAULT;
    case VM_ASSUME: {
        Code c;
        if (!ix_eval(ix, i->e[0], &c))
            return FL_FAULT;
        return c ? FL_NEXT : (ix_fault(ix, i->loc, "assumption violated"), FL_FAULT);
    }
    case VM_PRINTF:
        return do_printf(ix, i) ? FL_NEXT : FL_FAULT;
    case VM_PRINT: {
        Ten *t = ix_reg(ix, i, i->a[0]);
        if (!t)
            return FL_FAULT;
        char lab[24];
        snprintf(lab, sizeof lab, "%%%d", i->a[0]->id);
        ix_print_tensor(ix, i->str ? i->str : i->a[0]->name ? i->a[0]->name : lab, t);
        return FL_NEXT;
    }
    case VM_LOAD_GLOBAL: case VM_STORE_GLOBAL: case VM_GATHER: case VM_LOAD_SCALAR:
    case VM_LOAD_SHARED: case VM_STORE_SHARED: case VM_COPY_ASYNC: case VM_SHARED_ALLOC:
    case VM_SHARED_FREE: case VM_GLOBAL_VIEW: case VM_WORKSPACE: case VM_COMMIT:
    case VM_WAIT: case VM_SYNC: case VM_ATOMIC_ADD: case VM_LOCK: case VM_RELEASE:
        return ix_mem(ix, i) ? FL_NEXT : FL_FAULT;
    case VM_VIEW: case VM_CAST: case VM_NEG: case VM_ABS: case VM_EXP: case VM_EXP2:
    case VM_LOG: case VM_LOG2: case VM_SQRT: case VM_RSQRT: case VM_SIN: case VM_COS:
    case VM_TANH: case VM_SIGMOID: case VM_SILU: case VM_NOT: case VM_ADD: case VM_SUB:
    case VM_MUL: case VM_DIV: case VM_REM: case VM_MIN: case VM_MAX: case VM_AND:
    case VM_OR: case VM_XOR: case VM_SHL: case VM_SHR: case VM_EQ: case VM_NE: case VM_LT:
    case VM_LE: case VM_GT: case VM_GE: case VM_FMA: case VM_WHERE: case VM_DOT:
    case VM_REDUCE_SUM: case VM_REDUCE_MAX: case VM_REDUCE_MIN: case VM_ARGMAX:
    case VM_TOPK: case VM_CUMSUM: case VM_BROADCAST: case VM_RESHAPE: case VM_PERMUTE:
    case VM_TRANSPOSE: case VM_SLICE: case VM_CONCAT: case VM_ZEROS: case VM_FULL:
    case VM_ARANGE: case VM_RAND:
        return ix_ops(ix, i) ? FL_NEXT : FL_FAULT;
    case VM_NOPS:
        break;
    }
    return ix_fault(ix, i->loc, "unknown instruction %d", (int)i->op), FL_FAULT;
}

static Flow exec_block(Interp *ix, const Block *b)
{
    for (const Inst *i = b->first; i; i = i->next) {
        if (!step(ix, i->loc))
            return FL_FAULT;
        Flow f = exec(ix, i);
        if (f != FL_NEXT)
            return f;
    }
    return FL_NEXT;
}

static void release(Interp *ix)
{
    Kernel *k = ix->k;
    if (ix->reg)
        for (int j = 0; j < k->nvalues; j++)
            free(ix->reg[j].v);
    if (ix->ws)
        for (int j = 0; j < k->nvalues; j++)
            free(ix->ws[j]);
    if (ix->lmap)
        for (int j = 0; j < k->nvalues; j++)
            free(ix->lmap[j]);
    free(ix->lmap);
    free(ix->reg);
    free(ix->glob);
    free(ix->ws);
    free(ix->pval);
    free(ix->pbound);
    free(ix->svar);
    free(ix->svar_gen);
    free(ix->smem);
    free(ix->swriter);
    free(ix->sepoch);
    free(ix->sreader);
    free(ix->srepoch);
    free(ix->spend);
    free(ix->salloc);
    free(ix->pend);
    vm_arena_free(ix->scratch);
}

static bool run(Interp *ix, const VmArg *args, int nargs)
{
    Kernel *k = ix->k;
    if (k->warps < 1 || k->warps > VM_MAX_WARPS)
        return ix_fault(ix, k->loc, "kernel %s has %d warps (1 to %d)", k->name, k->warps,
                        VM_MAX_WARPS);
    if (!ix_bind(ix, args, nargs) || !ix_eval_grid(ix))
        return false;
    if (ix->grid[0] == 0 || ix->grid[1] == 0 || ix->grid[2] == 0)
        return true;
    VmDiags pd;
    ix->scratch = vm_arena_new();
    vm_diags_init(&pd, ix->scratch);
    if (!vm_shared_plan(k, ix->scratch, &ix->plan, &pd)) {
        for (int j = 0; j < pd.n; j++)
            vm_diag(ix->faults, pd.v[j].loc, "%s", pd.v[j].msg);
        ix->failed = true;
        return false;
    }
    size_t sb = (size_t)ix->plan.size;
    ix->smem = ix_xmalloc(sb);
    ix->swriter = ix_xmalloc(sizeof *ix->swriter * (sb ? sb : 1));
    ix->sepoch = ix_xmalloc(sizeof *ix->sepoch * (sb ? sb : 1));
    ix->sreader = ix_xmalloc(sizeof *ix->sreader * (sb ? sb : 1));
    ix->srepoch = ix_xmalloc(sizeof *ix->srepoch * (sb ? sb : 1));
    ix->spend = ix_xmalloc(sizeof *ix->spend * (sb ? sb : 1));
    for (int64_t z = 0; z < ix->grid[2]; z++)
        for (int64_t y = 0; y < ix->grid[1]; y++)
            for (int64_t x = 0; x < ix->grid[0]; x++) {
                ix->bid[0] = x;
                ix->bid[1] = y;
                ix->bid[2] = z;
                ix->gen++;
                ix->steps = 0;
                ix_shared_reset(ix);
                if (exec_block(ix, &k->body) == FL_FAULT)
                    return false;
            }
    return true;
}

bool vm_interp_launch(Kernel *k, const VmArg *args, int nargs, const VmInterpOptions *opt,
                      VmDiags *faults)
{
    Interp ix;
    memset(&ix, 0, sizeof ix);
    ix.k = k;
    ix.opt = opt;
    ix.faults = faults;
    ix.max_steps = opt && opt->max_steps ? opt->max_steps : VM_INTERP_MAX_STEPS;
    ix.nthreads = 32 * k->warps;
    ix.host = true;
    size_t nv = (size_t)k->nvalues + 1, np = (size_t)k->nparams + 1, nvar = (size_t)k->nvars + 1;
    ix.reg = ix_xmalloc(sizeof *ix.reg * nv);
    ix.glob = ix_xmalloc(sizeof *ix.glob * nv);
    ix.ws = ix_xmalloc(sizeof *ix.ws * nv);
    ix.lmap = ix_xmalloc(sizeof *ix.lmap * nv);
    ix.salloc = ix_xmalloc(nv);
    ix.pval = ix_xmalloc(sizeof *ix.pval * np);
    ix.pbound = ix_xmalloc(sizeof *ix.pbound * np);
    ix.svar = ix_xmalloc(sizeof *ix.svar * nvar);
    ix.svar_gen = ix_xmalloc(sizeof *ix.svar_gen * nvar);
    bool ok = run(&ix, args, nargs) && !ix.failed;
    release(&ix);
    return ok;
}

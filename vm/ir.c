/* vm/ir.c - the IR's data: the arena, diagnostics, the instruction and
 * scalar-operator tables, tiles and small queries shared by the builder, the
 * verifier, inference, the printer and the interpreter.
 *
 * The arena is a list of chunks with a bump pointer; everything of one
 * compilation is freed by vm_arena_free. Running out of memory is not a user
 * error: it aborts with file:line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} Chunk;

struct VmArena {
    Chunk *head;
};

enum { CHUNK_MIN = 64 * 1024 };

static void oom(const char *file, int line) {
    fprintf(stderr, "%s:%d: lpvm internal error: out of memory\n", file, line);
    abort();
}

VmArena *vm_arena_new(void) {
    VmArena *a = calloc(1, sizeof *a);
    if (!a)
        oom(__FILE__, __LINE__);
    return a;
}

void vm_arena_free(VmArena *a) {
    if (!a)
        return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *vm_alloc(VmArena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    Chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(sizeof *c + size);
        if (!c)
            oom(__FILE__, __LINE__);
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *vm_strndup(VmArena *a, const char *s, size_t n) {
    char *p = vm_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

char *vm_strdup(VmArena *a, const char *s) {
    return s ? vm_strndup(a, s, strlen(s)) : NULL;
}

static char *vformat(VmArena *a, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *p = vm_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *vm_sprintf(VmArena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = vformat(a, fmt, ap);
    va_end(ap);
    return p;
}

void *vm_grow(VmArena *a, void *v, int n, int *cap, size_t elem) {
    if (n < *cap)
        return v;
    int nc = *cap ? *cap * 2 : 8;
    void *nv = vm_alloc(a, (size_t)nc * elem);
    if (n)
        memcpy(nv, v, (size_t)n * elem);
    *cap = nc;
    return nv;
}

/* ---------------------------------------------------------------- diagnostics */

void vm_diags_init(VmDiags *d, VmArena *a) {
    memset(d, 0, sizeof *d);
    d->arena = a;
}

void vm_diag(VmDiags *d, VmLoc loc, const char *fmt, ...) {
    d->v = vm_grow(d->arena, d->v, d->n, &d->cap, sizeof *d->v);
    va_list ap;
    va_start(ap, fmt);
    d->v[d->n].loc = loc;
    d->v[d->n].msg = vformat(d->arena, fmt, ap);
    va_end(ap);
    d->n++;
}

int vm_diag_format(const VmDiag *g, char *buf, size_t n) {
    return snprintf(buf, n, "%s:%d:%d: error: %s", g->loc.file ? g->loc.file : "<ir>",
                    g->loc.line, g->loc.col, g->msg);
}

/* ---------------------------------------------------------------- tables */

static const struct {
    const char *name;
    int arity;
} sops[VM_NSOPS] = {
#define X(id, s, n) {s, n},
    VM_SOPS(X)
#undef X
};

const char *vm_sop_name(ScalarOp op) {
    return (unsigned)op < VM_NSOPS ? sops[op].name : "?";
}

int vm_sop_arity(ScalarOp op) {
    return (unsigned)op < VM_NSOPS ? sops[op].arity : 0;
}

const OpInfo vm_ops[VM_NOPS] = {
#define X(id, name, cls, sym, sig) {name, cls, sym, sig},
    VM_OPS(X)
#undef X
};

const char *vm_op_name(Op op) {
    return (unsigned)op < VM_NOPS ? vm_ops[op].name : "?";
}

Op vm_op_parse(const char *name) {
    for (int i = 0; i < VM_NOPS; i++)
        if (!strcmp(vm_ops[i].name, name))
            return (Op)i;
    return VM_NOPS;
}

int vm_op_binop(Op op) {
    switch (op) {
#define X(id, s)                                                             \
    case VM_##id:                                                            \
        return VM_OP_##id;
        VM_BINOPS(X)
#undef X
    default:
        return -1;
    }
}

/* ---------------------------------------------------------------- tiles */

Tile vm_tile(Value *base) {
    Tile t;
    memset(&t, 0, sizeof t);
    t.base = base;
    if (!base)
        return t;
    t.rank = base->rank;
    if (base->kind != VM_GLOBAL)
        for (int d = 0; d < base->rank; d++)
            t.size[d] = base->shape[d];
    return t;
}

void vm_tile_range(Tile *t, int d, Expr *start, int32_t size) {
    if (d < 0 || d >= VM_MAX_DIMS)
        return;
    t->start[d] = start;
    t->size[d] = size;
    t->drop[d] = false;
}

void vm_tile_index(Tile *t, int d, Expr *i) {
    if (d < 0 || d >= VM_MAX_DIMS)
        return;
    t->start[d] = i;
    t->size[d] = 1;
    t->drop[d] = true;
}

int vm_tile_shape(const Tile *t, int32_t *shape) {
    int r = 0;
    for (int d = 0; d < t->rank && d < VM_MAX_DIMS; d++)
        if (!t->drop[d])
            shape[r++] = t->size[d];
    return r;
}

int vm_inst_operands(const Inst *i, Value **out) {
    int n = 0;
    for (int j = 0; j < 3; j++)
        if (i->a[j])
            out[n++] = i->a[j];
    for (int j = 0; j < 2; j++)
        if (i->mem[j].base)
            out[n++] = i->mem[j].base;
    return n;
}

/* ---------------------------------------------------------------- shapes */

bool vm_broadcast_shape(int ra, const int32_t *sa, int rb, const int32_t *sb, int *rout,
                        int32_t *out) {
    int r = ra > rb ? ra : rb;
    bool ok = true;
    for (int d = 0; d < r; d++) {
        int ia = d - (r - ra), ib = d - (r - rb);
        int32_t x = ia >= 0 ? sa[ia] : 1, y = ib >= 0 ? sb[ib] : 1;
        if (x == y || y == 1)
            out[d] = x;
        else if (x == 1)
            out[d] = y;
        else {
            out[d] = x;
            ok = false;
        }
    }
    *rout = r;
    return ok;
}

bool vm_shape_eq(int ra, const int32_t *sa, int rb, const int32_t *sb) {
    if (ra != rb)
        return false;
    for (int d = 0; d < ra; d++)
        if (sa[d] != sb[d])
            return false;
    return true;
}

int64_t vm_shape_numel(int rank, const int32_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= shape[d];
    return n;
}

int vm_shape_str(int rank, const int32_t *shape, char *buf, size_t n) {
    char tmp[VM_MAX_DIMS * 14 + 4];
    int w = 0;
    tmp[w++] = '[';
    for (int d = 0; d < rank && d < VM_MAX_DIMS; d++)
        w += sprintf(tmp + w, "%s%d", d ? ", " : "", (int)shape[d]);
    tmp[w++] = ']';
    tmp[w] = 0;
    return snprintf(buf, n, "%s", tmp);
}

/* ---------------------------------------------------------------- constants */

static int64_t wrap(Dtype dt, int64_t v) {
    return dt == VM_DT_I32 ? (int64_t)(int32_t)(uint32_t)(uint64_t)v : v;
}

bool vm_e_const_int(const Expr *e, int64_t *out) {
    if (!e)
        return false;
    int64_t a, b;
    switch (e->kind) {
    case VM_E_INT:
    case VM_E_BOOL:
        *out = e->ival;
        return true;
    case VM_E_UNARY:
        if (!vm_e_const_int(e->a, &a))
            return false;
        switch (e->sop) {
        case VM_S_NEG: *out = wrap(e->dtype, (int64_t)(0 - (uint64_t)a)); return true;
        case VM_S_LNOT: *out = !a; return true;
        case VM_S_BNOT: *out = wrap(e->dtype, ~a); return true;
        default: return false;
        }
    case VM_E_BINARY:
        if (e->a->dtype == VM_DT_F32 || !vm_e_const_int(e->a, &a) || !vm_e_const_int(e->b, &b))
            return false;
        switch (e->sop) {
        case VM_S_ADD: *out = wrap(e->dtype, (int64_t)((uint64_t)a + (uint64_t)b)); return true;
        case VM_S_SUB: *out = wrap(e->dtype, (int64_t)((uint64_t)a - (uint64_t)b)); return true;
        case VM_S_MUL: *out = wrap(e->dtype, (int64_t)((uint64_t)a * (uint64_t)b)); return true;
        case VM_S_DIV: *out = b == 0 || (b == -1 && a == INT64_MIN) ? 0 : a / b; return true;
        case VM_S_REM: *out = b == 0 || b == -1 ? 0 : a % b; return true;
        case VM_S_CDIV:
            if (b == 0) { *out = 0; return true; }
            *out = a / b + ((a % b != 0) && ((a < 0) == (b < 0)));
            return true;
        case VM_S_AND: *out = a & b; return true;
        case VM_S_OR: *out = a | b; return true;
        case VM_S_XOR: *out = a ^ b; return true;
        case VM_S_SHL:
        case VM_S_SHR: {
            int w = e->dtype == VM_DT_I64 ? 64 : 32;
            if (b < 0 || b >= w)
                *out = e->sop == VM_S_SHL ? 0 : a < 0 ? -1 : 0;
            else
                *out = e->sop == VM_S_SHL ? wrap(e->dtype, (int64_t)((uint64_t)a << b)) : a >> b;
            return true;
        }
        case VM_S_MIN: *out = a < b ? a : b; return true;
        case VM_S_MAX: *out = a > b ? a : b; return true;
        case VM_S_EQ: *out = a == b; return true;
        case VM_S_NE: *out = a != b; return true;
        case VM_S_LT: *out = a < b; return true;
        case VM_S_LE: *out = a <= b; return true;
        case VM_S_GT: *out = a > b; return true;
        case VM_S_GE: *out = a >= b; return true;
        case VM_S_LAND: *out = a && b; return true;
        case VM_S_LOR: *out = a || b; return true;
        default: return false;
        }
    case VM_E_SELECT:
        if (!vm_e_const_int(e->a, &a))
            return false;
        return vm_e_const_int(a ? e->b : e->c, out);
    case VM_E_CAST:
        if (e->a->dtype == VM_DT_F32 || !vm_e_const_int(e->a, &a))
            return false;
        *out = e->dtype == VM_DT_BOOL ? a != 0 : wrap(e->dtype, a);
        return true;
    default:
        return false;
    }
}

const char *vm_value_label(VmArena *a, const Value *v) {
    if (!v)
        return "<none>";
    if (v->name)
        return v->name;
    return vm_sprintf(a, "%%%d", v->id);
}

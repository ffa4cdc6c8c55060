/* lang/check_expr.c - expressions: constants, scalars, tensors, layouts.
 *
 * lang_chk_expr evaluates one expression of a specialized kernel to a Val
 * (check.h), folding compile-time values and emitting IR through the builder
 * for everything else. Rules (VM.md 3): the operands of a binary operation
 * have one dtype, only literals convert implicitly; tensors broadcast NumPy
 * style; `&&`, `||` and control flow take scalars. Calls are resolved in this
 * order: the built-in table below (layouts, memory, shapes, ...), then any
 * elementwise instruction of the IR table by name (exp, add, lt, ...).
 * Built-in calls live in check_call.c. */
#include <stdio.h>
#include <string.h>

#include "lang/check.h"

const char *lang_chk_kind_name(const Val *v)
{
    switch (v->k) {
    case V_ERR: return "an error";
    case V_VOID: return "nothing";
    case V_INT: return "an integer";
    case V_BOOL: return "a bool";
    case V_FLOAT: return "a float literal";
    case V_STR: return "a string";
    case V_DTYPE: return "a dtype";
    case V_TYPE: return "a type";
    case V_LAYOUT: return "a layout";
    case V_SLAYOUT: return "a shared layout";
    case V_MMA: return "an mma configuration";
    case V_NS: return "a namespace";
    case V_SCALAR: return "a scalar";
    case V_TENSOR:
        return v->v->kind == VM_REG ? "a register tensor"
               : v->v->kind == VM_SHARED ? "a shared tensor"
                                         : "a global tensor";
    case V_TILE: return "a tile";
    case V_TOPK: return "a topk result";
    }
    return "?";
}

void lang_chk_type_str(const Val *v, char *buf, size_t n)
{
    char sh[128];
    switch (v->k) {
    case V_SCALAR: snprintf(buf, n, "%s", vm_dtype_name(v->e->dtype)); return;
    case V_TENSOR:
        if (v->v->kind == VM_GLOBAL) {
            snprintf(buf, n, "global %s[rank %d]", vm_dtype_name(v->v->dtype), v->v->rank);
            return;
        }
        vm_shape_str(v->v->rank, v->v->shape, sh, sizeof sh);
        snprintf(buf, n, "%s%s%s", v->v->kind == VM_SHARED ? "shared " : "",
                 vm_dtype_name(v->v->dtype), sh);
        return;
    default: snprintf(buf, n, "%s", lang_chk_kind_name(v)); return;
    }
}

static Val mk(VKind k)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.k = k;
    return v;
}

static Val vint(int64_t i)
{
    Val v = mk(V_INT);
    v.i = i;
    return v;
}

static Val vbool(bool b)
{
    Val v = mk(V_BOOL);
    v.i = b;
    return v;
}

static Val vscalar(Expr *e)
{
    Val v = mk(e ? V_SCALAR : V_ERR);
    v.e = e;
    return v;
}

static Val vtensor(Value *x)
{
    Val v = mk(x ? V_TENSOR : V_ERR);
    v.v = x;
    return v;
}

static bool is_scalar_dt(Dtype dt)
{
    return dt == VM_DT_I32 || dt == VM_DT_I64 || dt == VM_DT_F32 || dt == VM_DT_BOOL;
}

/* A literal as a scalar Expr of dtype `hint` (VM_DT_INVALID: its own). */
Expr *lang_chk_scalar(Chk *c, Val v, Dtype hint, LangLoc loc)
{
    Kernel *k = c->k;
    lang_chk_loc(c, loc);
    switch (v.k) {
    case V_ERR: return NULL;
    case V_INT:
        if (hint == VM_DT_F32)
            return vm_e_f32(k, (double)v.i);
        if (hint == VM_DT_BOOL) {
            lang_chk_err(c, loc, "expected a bool, got the integer %lld", (long long)v.i);
            return NULL;
        }
        if (hint == VM_DT_I64)
            return vm_e_int(k, VM_DT_I64, v.i);
        if (v.i < INT32_MIN || v.i > INT32_MAX) {
            if (hint == VM_DT_I32) {
                lang_chk_err(c, loc, "integer %lld does not fit i32", (long long)v.i);
                return NULL;
            }
            return vm_e_int(k, VM_DT_I64, v.i);
        }
        return vm_e_i32(k, v.i);
    case V_FLOAT:
        if (hint != VM_DT_INVALID && hint != VM_DT_F32) {
            lang_chk_err(c, loc, "cannot convert the float literal %g to %s", v.f,
                    vm_dtype_name(hint));
            return NULL;
        }
        return vm_e_f32(k, v.f);
    case V_BOOL:
        if (hint != VM_DT_INVALID && hint != VM_DT_BOOL) {
            lang_chk_err(c, loc, "cannot convert %s to %s", v.i ? "true" : "false",
                    vm_dtype_name(hint));
            return NULL;
        }
        return vm_e_bool(k, v.i);
    case V_SCALAR: return v.e;
    default: {
        char t[96];
        lang_chk_type_str(&v, t, sizeof t);
        lang_chk_err(c, loc, "expected a scalar, got %s", t);
        return NULL;
    }
    }
}

bool lang_chk_const_int(Chk *c, Val v, LangLoc loc, const char *what, int64_t *out)
{
    if (v.k == V_ERR)
        return false;
    if (v.k != V_INT) {
        lang_chk_err(c, loc, "%s must be a compile-time integer, got %s", what, lang_chk_kind_name(&v));
        return false;
    }
    *out = v.i;
    return true;
}

/* A register tensor from a tensor, a scalar or a literal (literals take the
 * dtype hint: the other operand's). */
Value *lang_chk_tensor(Chk *c, Val v, Dtype hint, LangLoc loc)
{
    if (v.k == V_ERR)
        return NULL;
    if (v.k == V_TENSOR) {
        if (v.v->kind == VM_REG)
            return v.v;
        lang_chk_err(c, loc, "'%s' is a %s tensor: load it first (%s)", vm_value_label(c->va, v.v),
                v.v->kind == VM_SHARED ? "shared" : "global",
                v.v->kind == VM_SHARED ? "load_shared" : "load_global");
        return NULL;
    }
    if (v.k == V_TILE) {
        lang_chk_err(c, loc, "a tile of a %s tensor is not a value: load it first",
                v.tile->base->kind == VM_SHARED ? "shared" : "global");
        return NULL;
    }
    if (v.k == V_INT || v.k == V_FLOAT || v.k == V_BOOL) {
        Dtype dt = hint;
        if (dt == VM_DT_INVALID)
            dt = v.k == V_INT ? VM_DT_I32 : v.k == V_FLOAT ? VM_DT_F32 : VM_DT_BOOL;
        if (v.k == V_FLOAT && !vm_dtype_is_float(dt)) {
            lang_chk_err(c, loc, "cannot convert the float literal %g to %s", v.f, vm_dtype_name(dt));
            return NULL;
        }
        if (v.k == V_BOOL && dt != VM_DT_BOOL) {
            lang_chk_err(c, loc, "cannot convert a bool literal to %s", vm_dtype_name(dt));
            return NULL;
        }
        if (v.k == V_INT && dt == VM_DT_BOOL) {
            lang_chk_err(c, loc, "cannot convert an integer literal to bool");
            return NULL;
        }
        Dtype edt = vm_dtype_is_float(dt) ? VM_DT_F32
                    : dt == VM_DT_BOOL    ? VM_DT_BOOL
                    : vm_dtype_bits(dt) > 32 ? VM_DT_I64
                                            : VM_DT_I32;
        Expr *e = v.k == V_FLOAT ? vm_e_f32(c->k, v.f) : lang_chk_scalar(c, v, edt, loc);
        if (!e)
            return NULL;
        lang_chk_loc(c, loc);
        return vm_b_scalar(c->k, dt, e);
    }
    if (v.k == V_SCALAR) {
        if (hint != VM_DT_INVALID && hint != v.e->dtype) {
            lang_chk_err(c, loc, "type mismatch: a %s scalar with a %s tensor (use cast)",
                    vm_dtype_name(v.e->dtype), vm_dtype_name(hint));
            return NULL;
        }
        lang_chk_loc(c, loc);
        return vm_b_scalar(c->k, v.e->dtype, v.e);
    }
    char t[96];
    lang_chk_type_str(&v, t, sizeof t);
    lang_chk_err(c, loc, "expected a tensor, got %s", t);
    return NULL;
}

/* ------------------------------------------------------------ constants */

static Val fold_int(Chk *c, LangLoc loc, LangOp op, int64_t a, int64_t b)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case LANG_OP_ADD: return vint((int64_t)(ua + ub));
    case LANG_OP_SUB: return vint((int64_t)(ua - ub));
    case LANG_OP_MUL: return vint((int64_t)(ua * ub));
    case LANG_OP_DIV:
    case LANG_OP_REM:
        if (b == 0)
            return lang_chk_err(c, loc, "division by zero in a constant expression");
        if (a == INT64_MIN && b == -1)
            return op == LANG_OP_DIV ? vint(INT64_MIN) : vint(0);
        return vint(op == LANG_OP_DIV ? a / b : a % b);
    case LANG_OP_SHL: return vint(b < 0 || b >= 64 ? 0 : (int64_t)(ua << b));
    case LANG_OP_SHR: return vint(b < 0 || b >= 64 ? (a < 0 ? -1 : 0) : a >> b);
    case LANG_OP_LT: return vbool(a < b);
    case LANG_OP_LE: return vbool(a <= b);
    case LANG_OP_GT: return vbool(a > b);
    case LANG_OP_GE: return vbool(a >= b);
    case LANG_OP_EQ: return vbool(a == b);
    case LANG_OP_NE: return vbool(a != b);
    case LANG_OP_AND: return vint(a & b);
    case LANG_OP_OR: return vint(a | b);
    case LANG_OP_XOR: return vint(a ^ b);
    default: return lang_chk_err(c, loc, "'%s' needs bool operands", lang_op_str(op));
    }
}

static Val fold_float(Chk *c, LangLoc loc, LangOp op, double a, double b)
{
    Val v = mk(V_FLOAT);
    switch (op) {
    case LANG_OP_ADD: v.f = a + b; return v;
    case LANG_OP_SUB: v.f = a - b; return v;
    case LANG_OP_MUL: v.f = a * b; return v;
    case LANG_OP_DIV: v.f = a / b; return v;
    case LANG_OP_LT: return vbool(a < b);
    case LANG_OP_LE: return vbool(a <= b);
    case LANG_OP_GT: return vbool(a > b);
    case LANG_OP_GE: return vbool(a >= b);
    case LANG_OP_EQ: return vbool(a == b);
    case LANG_OP_NE: return vbool(a != b);
    default: return lang_chk_err(c, loc, "'%s' is not defined on float literals", lang_op_str(op));
    }
}

static ScalarOp sop_of(LangOp op)
{
    switch (op) {
    case LANG_OP_ADD: return VM_S_ADD;
    case LANG_OP_SUB: return VM_S_SUB;
    case LANG_OP_MUL: return VM_S_MUL;
    case LANG_OP_DIV: return VM_S_DIV;
    case LANG_OP_REM: return VM_S_REM;
    case LANG_OP_SHL: return VM_S_SHL;
    case LANG_OP_SHR: return VM_S_SHR;
    case LANG_OP_LT: return VM_S_LT;
    case LANG_OP_LE: return VM_S_LE;
    case LANG_OP_GT: return VM_S_GT;
    case LANG_OP_GE: return VM_S_GE;
    case LANG_OP_EQ: return VM_S_EQ;
    case LANG_OP_NE: return VM_S_NE;
    case LANG_OP_AND: return VM_S_AND;
    case LANG_OP_OR: return VM_S_OR;
    case LANG_OP_XOR: return VM_S_XOR;
    case LANG_OP_LAND: return VM_S_LAND;
    case LANG_OP_LOR: return VM_S_LOR;
    case LANG_OP_NEG: return VM_S_NEG;
    case LANG_OP_NOT: return VM_S_LNOT;
    case LANG_OP_BNOT: return VM_S_BNOT;
    default: return VM_NSOPS;
    }
}

static Op tensor_op_of(LangOp op)
{
    switch (op) {
    case LANG_OP_ADD: return VM_ADD;
    case LANG_OP_SUB: return VM_SUB;
    case LANG_OP_MUL: return VM_MUL;
    case LANG_OP_DIV: return VM_DIV;
    case LANG_OP_REM: return VM_REM;
    case LANG_OP_SHL: return VM_SHL;
    case LANG_OP_SHR: return VM_SHR;
    case LANG_OP_LT: return VM_LT;
    case LANG_OP_LE: return VM_LE;
    case LANG_OP_GT: return VM_GT;
    case LANG_OP_GE: return VM_GE;
    case LANG_OP_EQ: return VM_EQ;
    case LANG_OP_NE: return VM_NE;
    case LANG_OP_AND: return VM_AND;
    case LANG_OP_OR: return VM_OR;
    case LANG_OP_XOR: return VM_XOR;
    case LANG_OP_NEG: return VM_NEG;
    case LANG_OP_NOT:
    case LANG_OP_BNOT: return VM_NOT;
    default: return VM_NOPS;
    }
}

static bool is_const(const Val *v) { return v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL; }

/* Elementwise tensor operation with the rules of VM.md 3. */
Val lang_chk_tensor_binary(Chk *c, LangLoc loc, Op op, Val a, Val b)
{
    Dtype hint = a.k == V_TENSOR ? a.v->dtype : b.k == V_TENSOR ? b.v->dtype : VM_DT_INVALID;
    Value *x = lang_chk_tensor(c, a, hint, loc);
    if (!x)
        return mk(V_ERR);
    Value *y = lang_chk_tensor(c, b, hint, loc);
    if (!y)
        return mk(V_ERR);
    if (x->dtype != y->dtype)
        return lang_chk_err(c, loc, "type mismatch: %s %s %s (only literals convert; use cast)",
                       vm_dtype_name(x->dtype), vm_ops[op].sym ? vm_ops[op].sym : vm_ops[op].name,
                       vm_dtype_name(y->dtype));
    int r;
    int32_t sh[VM_MAX_DIMS];
    if (!vm_broadcast_shape(x->rank, x->shape, y->rank, y->shape, &r, sh)) {
        char s1[96], s2[96];
        vm_shape_str(x->rank, x->shape, s1, sizeof s1);
        vm_shape_str(y->rank, y->shape, s2, sizeof s2);
        return lang_chk_err(c, loc, "shape mismatch: %s and %s do not broadcast", s1, s2);
    }
    int bo = vm_op_binop(op);
    if ((bo == VM_OP_AND || bo == VM_OP_OR || bo == VM_OP_XOR || bo == VM_OP_SHL ||
         bo == VM_OP_SHR || bo == VM_OP_REM) &&
        vm_dtype_is_float(x->dtype))
        return lang_chk_err(c, loc, "'%s' needs integer tensors, got %s", vm_ops[op].name,
                       vm_dtype_name(x->dtype));
    lang_chk_loc(c, loc);
    return vtensor(vm_b_binary(c->k, op, x, y));
}

static Val scalar_binary(Chk *c, LangLoc loc, LangOp op, Val a, Val b)
{
    Dtype hint = a.k == V_SCALAR ? a.e->dtype : b.e->dtype;
    if (op == LANG_OP_LAND || op == LANG_OP_LOR)
        hint = VM_DT_BOOL;
    Expr *x = lang_chk_scalar(c, a, hint, loc), *y = lang_chk_scalar(c, b, hint, loc);
    if (!x || !y)
        return mk(V_ERR);
    if (x->dtype != y->dtype)
        return lang_chk_err(c, loc, "type mismatch: %s %s %s (only literals convert; use cast)",
                       vm_dtype_name(x->dtype), lang_op_str(op), vm_dtype_name(y->dtype));
    if ((op == LANG_OP_LAND || op == LANG_OP_LOR) && x->dtype != VM_DT_BOOL)
        return lang_chk_err(c, loc, "'%s' needs bool operands, got %s", lang_op_str(op),
                       vm_dtype_name(x->dtype));
    if (x->dtype == VM_DT_F32 && (op == LANG_OP_REM || op == LANG_OP_SHL || op == LANG_OP_SHR ||
                                  op == LANG_OP_AND || op == LANG_OP_OR || op == LANG_OP_XOR))
        return lang_chk_err(c, loc, "'%s' needs integer operands, got f32", lang_op_str(op));
    lang_chk_loc(c, loc);
    return vscalar(vm_e_bin(c->k, sop_of(op), x, y));
}

static Val binary(Chk *c, const Ast *e)
{
    Val a = lang_chk_expr(c, e->a);
    if (a.k == V_ERR)
        return a;
    Val b = lang_chk_expr(c, e->b);
    if (b.k == V_ERR)
        return b;
    LangOp op = e->op;
    if (a.k == V_LAYOUT && b.k == V_LAYOUT && op == LANG_OP_MUL) {
        Val r = mk(V_LAYOUT);
        r.lay = lang_alloc(c->la, sizeof *r.lay);
        LayStatus st = lay_product(r.lay, *a.lay, *b.lay);
        if (st != LAY_OK)
            return lang_chk_err(c, e->loc, "layout product failed: %s", lay_status_str(st));
        return r;
    }
    if (a.k == V_INT && b.k == V_INT)
        return fold_int(c, e->loc, op, a.i, b.i);
    if (a.k == V_BOOL && b.k == V_BOOL) {
        switch (op) {
        case LANG_OP_LAND: return vbool(a.i && b.i);
        case LANG_OP_LOR: return vbool(a.i || b.i);
        case LANG_OP_EQ: return vbool(a.i == b.i);
        case LANG_OP_NE: return vbool(a.i != b.i);
        default: return lang_chk_err(c, e->loc, "'%s' is not defined on bools", lang_op_str(op));
        }
    }
    if ((a.k == V_FLOAT || a.k == V_INT) && (b.k == V_FLOAT || b.k == V_INT))
        return fold_float(c, e->loc, op, a.k == V_FLOAT ? a.f : (double)a.i,
                          b.k == V_FLOAT ? b.f : (double)b.i);
    if (a.k == V_DTYPE && b.k == V_DTYPE && (op == LANG_OP_EQ || op == LANG_OP_NE))
        return vbool((a.dt == b.dt) == (op == LANG_OP_EQ));
    if (a.k == V_TENSOR || b.k == V_TENSOR || a.k == V_TILE || b.k == V_TILE) {
        Op top = tensor_op_of(op);
        if (top == VM_NOPS)
            return lang_chk_err(c, e->loc,
                           "'%s' needs scalars; on bool tensors use '%s'", lang_op_str(op),
                           op == LANG_OP_LAND ? "&" : "|");
        return lang_chk_tensor_binary(c, e->loc, top, a, b);
    }
    if ((a.k == V_SCALAR || is_const(&a)) && (b.k == V_SCALAR || is_const(&b)))
        return scalar_binary(c, e->loc, op, a, b);
    char t1[96], t2[96];
    lang_chk_type_str(&a, t1, sizeof t1);
    lang_chk_type_str(&b, t2, sizeof t2);
    return lang_chk_err(c, e->loc, "'%s' is not defined on %s and %s", lang_op_str(op), t1, t2);
}

static Val unary(Chk *c, const Ast *e)
{
    Val a = lang_chk_expr(c, e->a);
    switch (a.k) {
    case V_ERR: return a;
    case V_INT:
        if (e->op == LANG_OP_NEG)
            return vint((int64_t)(0 - (uint64_t)a.i));
        if (e->op == LANG_OP_BNOT)
            return vint(~a.i);
        return lang_chk_err(c, e->loc, "'!' needs a bool, got an integer");
    case V_FLOAT:
        if (e->op == LANG_OP_NEG) {
            a.f = -a.f;
            return a;
        }
        return lang_chk_err(c, e->loc, "'%s' is not defined on float literals", lang_op_str(e->op));
    case V_BOOL:
        if (e->op == LANG_OP_NOT)
            return vbool(!a.i);
        return lang_chk_err(c, e->loc, "'%s' is not defined on bools (use '!')", lang_op_str(e->op));
    case V_SCALAR: {
        Dtype dt = a.e->dtype;
        if (e->op == LANG_OP_NOT && dt != VM_DT_BOOL)
            return lang_chk_err(c, e->loc, "'!' needs a bool, got %s", vm_dtype_name(dt));
        if (e->op == LANG_OP_BNOT && !vm_dtype_is_int(dt))
            return lang_chk_err(c, e->loc, "'~' needs an integer, got %s", vm_dtype_name(dt));
        if (e->op == LANG_OP_NEG && dt == VM_DT_BOOL)
            return lang_chk_err(c, e->loc, "'-' is not defined on bool");
        lang_chk_loc(c, e->loc);
        return vscalar(vm_e_un(c->k, sop_of(e->op), a.e));
    }
    case V_TENSOR: {
        Value *x = lang_chk_tensor(c, a, VM_DT_INVALID, e->loc);
        if (!x)
            return mk(V_ERR);
        lang_chk_loc(c, e->loc);
        return vtensor(vm_b_unary(c->k, tensor_op_of(e->op), x));
    }
    default:
        return lang_chk_err(c, e->loc, "'%s' is not defined on %s", lang_op_str(e->op),
                       lang_chk_kind_name(&a));
    }
}

/* ------------------------------------------------------------ indexing */

/* t[start : size, index, ...] of a tensor: a Tile (bounds checked where
 * constant). */
bool lang_chk_tile(Chk *c, const Ast *e, Value *base, Tile *t)
{
    *t = vm_tile(base);
    if (e->nargs != base->rank) {
        lang_chk_err(c, e->loc, "'%s' has rank %d but %d %s given", vm_value_label(c->va, base),
                base->rank, e->nargs, e->nargs == 1 ? "index is" : "indices are");
        return false;
    }
    for (int d = 0; d < e->nargs; d++) {
        const Ast *ix = e->args[d];
        if (ix->kind == AST_SLICE && !ix->a) {
            if (base->kind == VM_GLOBAL) {
                lang_chk_err(c, lang_ast_start(ix), "a tile of a global tensor needs constant sizes: write "
                                    "start : size");
                return false;
            }
            continue;
        }
        if (ix->kind == AST_KWARG) {
            lang_chk_err(c, lang_ast_start(ix), "unexpected '%s =' in an index", ix->str);
            return false;
        }
        const Ast *sa = ix->kind == AST_SLICE ? ix->a : ix;
        Val sv = lang_chk_expr(c, sa);
        if (sv.k == V_ERR)
            return false;
        Expr *start = lang_chk_scalar(c, sv, VM_DT_INVALID, lang_ast_start(sa));
        if (!start)
            return false;
        if (!vm_dtype_is_int(start->dtype)) {
            lang_chk_err(c, lang_ast_start(sa), "an index must be an integer, got %s",
                    vm_dtype_name(start->dtype));
            return false;
        }
        int64_t size = 1;
        if (ix->kind == AST_SLICE) {
            Val zv = lang_chk_expr(c, ix->b);
            if (!lang_chk_const_int(c, zv, lang_ast_start(ix->b), "a tile size", &size))
                return false;
            if (size <= 0 || size > (1 << 24)) {
                lang_chk_err(c, lang_ast_start(ix->b), "tile size %lld out of range", (long long)size);
                return false;
            }
        }
        if (base->kind != VM_GLOBAL && sv.k == V_INT &&
            (sv.i < 0 || sv.i + size > base->shape[d])) {
            lang_chk_err(c, lang_ast_start(sa), "[%lld : %lld] is out of range for dim %d of size %d",
                    (long long)sv.i, (long long)size, d, base->shape[d]);
            return false;
        }
        if (ix->kind == AST_SLICE)
            vm_tile_range(t, d, start, (int32_t)size);
        else
            vm_tile_index(t, d, start);
    }
    return true;
}

static Val index_type(Chk *c, const Ast *e, Dtype dt)
{
    Val r = mk(V_TYPE);
    r.dt = dt;
    r.rank = e->nargs;
    if (e->nargs > VM_MAX_DIMS)
        return lang_chk_err(c, e->loc, "more than %d dims", VM_MAX_DIMS);
    r.shape = lang_alloc(c->la, sizeof(int32_t) * (size_t)(e->nargs + 1));
    r.eshape = lang_alloc(c->la, sizeof(Expr *) * (size_t)(e->nargs + 1));
    for (int d = 0; d < e->nargs; d++) {
        const Ast *ix = e->args[d];
        if (ix->kind == AST_SLICE || ix->kind == AST_KWARG)
            return lang_chk_err(c, lang_ast_start(ix), "a shape lists sizes, not slices");
        Val v = lang_chk_expr(c, ix);
        if (v.k == V_ERR)
            return v;
        if (v.k == V_INT) {
            if (v.i <= 0 || v.i > (1 << 24))
                return lang_chk_err(c, lang_ast_start(ix), "size %lld out of range", (long long)v.i);
            r.shape[d] = (int32_t)v.i;
        } else {
            Expr *x = lang_chk_scalar(c, v, VM_DT_INVALID, lang_ast_start(ix));
            if (!x)
                return mk(V_ERR);
            if (!vm_dtype_is_int(x->dtype))
                return lang_chk_err(c, lang_ast_start(ix), "a size must be an integer, got %s",
                               vm_dtype_name(x->dtype));
            r.shape[d] = -1;
            r.eshape[d] = x;
        }
    }
    return r;
}

static Val index_expr(Chk *c, const Ast *e)
{
    Val b = lang_chk_expr(c, e->a);
    if (b.k == V_ERR)
        return b;
    if (b.k == V_DTYPE)
        return index_type(c, e, b.dt);
    if (b.k != V_TENSOR)
        return lang_chk_err(c, e->loc, "%s cannot be indexed", lang_chk_kind_name(&b));
    Tile t;
    if (!lang_chk_tile(c, e, b.v, &t))
        return mk(V_ERR);
    if (b.v->kind == VM_REG) {
        lang_chk_loc(c, e->loc);
        return vtensor(vm_b_slice(c->k, t));
    }
    Val r = mk(V_TILE);
    r.tile = lang_alloc(c->la, sizeof *r.tile);
    *r.tile = t;
    return r;
}

static Val member(Chk *c, const Ast *e)
{
    Val b = lang_chk_expr(c, e->a);
    if (b.k == V_ERR)
        return b;
    if (b.k == V_NS) {
        int axis = !strcmp(e->str, "x") ? 0 : !strcmp(e->str, "y") ? 1 : !strcmp(e->str, "z") ? 2 : -1;
        if (axis < 0)
            return lang_chk_err(c, e->loc, "'%s' has no member '%s' (x, y or z)", b.i ? "gdim" : "bid",
                           e->str);
        lang_chk_loc(c, e->loc);
        return vscalar(b.i ? vm_e_gdim(c->k, axis) : vm_e_bid(c->k, axis));
    }
    if (b.k == V_MMA) {
        Val r = mk(V_LAYOUT);
        if (!strcmp(e->str, "a"))
            r.lay = &b.mma->a;
        else if (!strcmp(e->str, "b"))
            r.lay = &b.mma->b;
        else if (!strcmp(e->str, "c"))
            r.lay = &b.mma->c;
        else
            return lang_chk_err(c, e->loc, "an mma configuration has no member '%s' (a, b or c)",
                           e->str);
        return r;
    }
    if (b.k == V_TOPK) {
        if (!strcmp(e->str, "values"))
            return vtensor(b.v);
        if (!strcmp(e->str, "indices"))
            return vtensor(b.v2);
        return lang_chk_err(c, e->loc, "a topk result has no member '%s' (values or indices)", e->str);
    }
    return lang_chk_err(c, e->loc, "%s has no member '%s'", lang_chk_kind_name(&b), e->str);
}

Val lang_chk_expr(Chk *c, const Ast *e)
{
    switch (e->kind) {
    case AST_INT: return vint(e->ival);
    case AST_BOOL: return vbool(e->ival);
    case AST_FLOAT: {
        Val v = mk(V_FLOAT);
        v.f = e->fval;
        return v;
    }
    case AST_STR: {
        Val v = mk(V_STR);
        v.str = e->str;
        v.len = e->len;
        return v;
    }
    case AST_NAME: {
        Sym *s = lang_chk_lookup(c, e->str);
        if (s)
            return s->val;
        return lang_chk_named(c, e, e->str);
    }
    case AST_UNARY: return unary(c, e);
    case AST_BINARY: return binary(c, e);
    case AST_CALL: return lang_chk_call(c, e);
    case AST_INDEX: return index_expr(c, e);
    case AST_MEMBER: return member(c, e);
    case AST_ANNOT: return lang_chk_annotate(c, e);
    case AST_LIST: return lang_chk_err(c, e->loc, "a list is not a value here");
    case AST_SLICE: return lang_chk_err(c, e->loc, "a slice 'start : size' is only valid in an index");
    case AST_KWARG: return lang_chk_err(c, e->loc, "'%s = ...' is only valid in a call", e->str);
    }
    return lang_chk_err(c, e->loc, "unexpected expression");
}

/* Scalars usable where tensors are expected are not converted here; the
 * helper keeps is_scalar_dt for the scalar checks of check_call.c. */
bool lang_chk_is_scalar_dtype(Dtype dt) { return is_scalar_dt(dt); }

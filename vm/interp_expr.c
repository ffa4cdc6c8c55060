/* vm/interp_expr.c - scalar expressions (uniform over the block).
 *
 * A scalar is the Code of its dtype (i32, i64, f32 or bool). Integers wrap
 * (vm_binop), `/` truncates, x / 0 and x % 0 give 0 (the IR's rule, which
 * the constant folder follows too), cdiv(a, b) is the ceiling of the exact
 * quotient, shifts follow VM.md 3. f32 arithmetic is vm_binop on f32;
 * comparisons of floats are false on NaN (!= true). && and || short-circuit.
 * Casts use the rules of VM.md 3 (vm_cast).
 * While launch-time shape expressions are checked (ix->exact_div), an
 * integer `/` that leaves a remainder is a fault. */
#include <math.h>

#include "vm/interp.h"

int64_t ix_code_int(Dtype dt, Code c)
{
    if (dt == VM_DT_BOOL)
        return c != 0;
    return vm_decode_int(dt, c);
}

static Code int_code(Dtype dt, int64_t v)
{
    return dt == VM_DT_I64 ? (Code)v : (Code)(uint32_t)v;
}

static bool cmp(ScalarOp op, Dtype dt, Code a, Code b)
{
    if (dt == VM_DT_F32) {
        double x = vm_decode(dt, a), y = vm_decode(dt, b);
        switch (op) {
        case VM_S_EQ: return x == y;
        case VM_S_NE: return x != y;
        case VM_S_LT: return x < y;
        case VM_S_LE: return x <= y;
        case VM_S_GT: return x > y;
        default: return x >= y;
        }
    }
    int64_t x = ix_code_int(dt, a), y = ix_code_int(dt, b);
    switch (op) {
    case VM_S_EQ: return x == y;
    case VM_S_NE: return x != y;
    case VM_S_LT: return x < y;
    case VM_S_LE: return x <= y;
    case VM_S_GT: return x > y;
    default: return x >= y;
    }
}

static bool binary(Interp *ix, const Expr *e, Code *out)
{
    Code a, b;
    if (e->sop == VM_S_LAND || e->sop == VM_S_LOR) {
        if (!ix_eval(ix, e->a, &a))
            return false;
        if ((e->sop == VM_S_LAND) != (a != 0)) {
            *out = a != 0;
            return true;
        }
        if (!ix_eval(ix, e->b, &b))
            return false;
        *out = b != 0;
        return true;
    }
    if (!ix_eval(ix, e->a, &a) || !ix_eval(ix, e->b, &b))
        return false;
    Dtype dt = e->a->dtype;
    bool isf = dt == VM_DT_F32;
    switch (e->sop) {
    case VM_S_EQ: case VM_S_NE: case VM_S_LT: case VM_S_LE: case VM_S_GT: case VM_S_GE:
        *out = cmp(e->sop, dt, a, b);
        return true;
    case VM_S_ADD: *out = vm_binop(VM_OP_ADD, dt, a, b); return true;
    case VM_S_SUB: *out = vm_binop(VM_OP_SUB, dt, a, b); return true;
    case VM_S_MUL: *out = vm_binop(VM_OP_MUL, dt, a, b); return true;
    case VM_S_MIN: *out = vm_binop(VM_OP_MIN, dt, a, b); return true;
    case VM_S_MAX: *out = vm_binop(VM_OP_MAX, dt, a, b); return true;
    case VM_S_AND: *out = vm_binop(VM_OP_AND, dt, a, b); return true;
    case VM_S_OR: *out = vm_binop(VM_OP_OR, dt, a, b); return true;
    case VM_S_XOR: *out = vm_binop(VM_OP_XOR, dt, a, b); return true;
    case VM_S_SHL: *out = vm_binop(VM_OP_SHL, dt, a, b); return true;
    case VM_S_SHR: *out = vm_binop(VM_OP_SHR, dt, a, b); return true;
    case VM_S_DIV:
        if (!isf && ix->exact_div && vm_binop(VM_OP_REM, dt, a, b) != 0)
            return ix_fault(ix, ix->shape_loc, "shape expression %lld / %lld is not exact",
                            (long long)ix_code_int(dt, a), (long long)ix_code_int(dt, b));
        *out = vm_binop(VM_OP_DIV, dt, a, b);
        return true;
    case VM_S_REM:
        *out = !isf && ix_code_int(dt, b) == 0 ? 0 : vm_binop(VM_OP_REM, dt, a, b);
        return true;
    case VM_S_CDIV: {
        if (isf) {
            *out = vm_encode(VM_DT_F32, ceil(vm_decode(dt, a) / vm_decode(dt, b)));
            return true;
        }
        int64_t x = ix_code_int(dt, a), y = ix_code_int(dt, b);
        int64_t q = y == 0 || (y == -1 && x == INT64_MIN) ? 0 : x / y;
        if (y != 0 && y != -1 && x % y != 0 && (x < 0) == (y < 0))
            q++;
        *out = int_code(dt, q);
        return true;
    }
    default:
        return ix_fault(ix, e->loc, "scalar operator %s is not binary", vm_sop_name(e->sop));
    }
}

static bool unary(Interp *ix, const Expr *e, Code *out)
{
    Code a;
    if (!ix_eval(ix, e->a, &a))
        return false;
    Dtype dt = e->a->dtype;
    switch (e->sop) {
    case VM_S_NEG:
        if (dt == VM_DT_F32)
            *out = vm_encode(VM_DT_F32, -vm_decode(dt, a));
        else
            *out = vm_binop(VM_OP_SUB, dt, 0, a);
        return true;
    case VM_S_LNOT:
        *out = a == 0;
        return true;
    case VM_S_BNOT:
        *out = vm_binop(VM_OP_XOR, dt, a, ~(Code)0);
        return true;
    default:
        return ix_fault(ix, e->loc, "scalar operator %s is not unary", vm_sop_name(e->sop));
    }
}

bool ix_eval(Interp *ix, const Expr *e, Code *out)
{
    if (!e)
        return ix_fault(ix, ix->shape_loc, "missing scalar expression");
    switch (e->kind) {
    case VM_E_INT:
        *out = int_code(e->dtype, e->ival);
        return true;
    case VM_E_FLOAT:
        *out = vm_encode(VM_DT_F32, e->fval);
        return true;
    case VM_E_BOOL:
        *out = e->ival != 0;
        return true;
    case VM_E_PARAM:
        if (!e->param || !ix->pbound[e->param->index])
            return ix_fault(ix, e->loc, "parameter %s is not bound",
                            e->param ? e->param->name : "?");
        *out = ix_conv(e->dtype, e->param->dtype, ix->pval[e->param->index]);
        return true;
    case VM_E_BID:
    case VM_E_GDIM:
        if (e->axis < 0 || e->axis > 2)
            return ix_fault(ix, e->loc, "block axis %d out of range", e->axis);
        *out = int_code(e->dtype, e->kind == VM_E_BID ? ix->bid[e->axis] : ix->grid[e->axis]);
        return true;
    case VM_E_VAR:
        if (!e->var || ix->svar_gen[e->var->id] != ix->gen)
            return ix_fault(ix, e->loc, "variable %s is read before it is set",
                            e->var ? e->var->name : "?");
        *out = ix_conv(e->dtype, e->var->dtype, ix->svar[e->var->id]);
        return true;
    case VM_E_UNARY:
        return unary(ix, e, out);
    case VM_E_BINARY:
        return binary(ix, e, out);
    case VM_E_SELECT: {
        Code c;
        if (!ix_eval(ix, e->a, &c))
            return false;
        return ix_eval(ix, c ? e->b : e->c, out);
    }
    case VM_E_CAST: {
        Code a;
        if (!ix_eval(ix, e->a, &a))
            return false;
        *out = vm_cast(e->dtype, e->a->dtype, a);
        return true;
    }
    }
    return ix_fault(ix, e->loc, "unknown expression kind %d", (int)e->kind);
}

bool ix_eval_int(Interp *ix, const Expr *e, int64_t *out)
{
    Code c;
    if (!ix_eval(ix, e, &c))
        return false;
    if (e->dtype == VM_DT_F32)
        return ix_fault(ix, e->loc, "an integer expression was expected");
    *out = ix_code_int(e->dtype, c);
    return true;
}

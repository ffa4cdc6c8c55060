/* lang/check_mem.c - memory instructions: global and shared tiles, async
 * copies, allocation, barriers, atomics.
 *
 * A memory instruction takes tiles (t[start : size, ...], check_expr.c) of
 * the right space: global tiles for load_global, store_global, gather,
 * load_scalar, atomics; shared tiles (or whole shared tensors) for
 * load_shared, store_shared and the destination of copy_async. Stores check
 * the value's dtype (no implicit conversion into memory) and that its shape
 * broadcasts to the tile. Shared tensors released by shared_free may not be
 * used or released again. */
#include <stdio.h>
#include <string.h>

#include "lang/check.h"

static bool is_freed(Chk *c, Value *v)
{
    for (int i = 0; i < c->nfreed; i++)
        if (c->freed[i] == v)
            return true;
    return false;
}

/* A tile of the wanted space (VM_GLOBAL / VM_SHARED): an indexed tensor, or
 * a whole shared tensor. */
static bool tile_arg(Chk *c, const Ast *e, ValueKind want, const char *fn, Tile *t)
{
    Val v = lang_chk_expr(c, e);
    if (v.k == V_ERR)
        return false;
    Value *base = v.k == V_TILE ? v.tile->base : v.k == V_TENSOR ? v.v : NULL;
    if (!base) {
        lang_chk_err(c, e->loc, "%s needs a %s tile, got %s", fn,
                want == VM_GLOBAL ? "global" : "shared", lang_chk_kind_name(&v));
        return false;
    }
    if (base->kind != want) {
        lang_chk_err(c, e->loc, "%s needs a %s tensor, got %s '%s'", fn,
                want == VM_GLOBAL ? "global" : "shared",
                base->kind == VM_REG ? "register" : base->kind == VM_SHARED ? "shared" : "global",
                vm_value_label(c->va, base));
        return false;
    }
    if (want == VM_SHARED && is_freed(c, base)) {
        lang_chk_err(c, e->loc, "'%s' is used after shared_free", vm_value_label(c->va, base));
        return false;
    }
    if (v.k == V_TILE) {
        *t = *v.tile;
        return true;
    }
    if (base->kind == VM_GLOBAL) {
        lang_chk_err(c, e->loc, "%s needs a tile of '%s': write %s[start : size, ...]", fn,
                vm_value_label(c->va, base), vm_value_label(c->va, base));
        return false;
    }
    *t = vm_tile(base);
    return true;
}

static Value *mask_arg(Chk *c, const Args *a)
{
    const Ast *m = lang_chk_kwarg(a, "mask");
    if (!m)
        return NULL;
    Value *v = lang_chk_tensor(c, lang_chk_expr(c, m), VM_DT_BOOL, lang_ast_start(m));
    if (v && v->dtype != VM_DT_BOOL) {
        lang_chk_err(c, lang_ast_start(m), "mask must be a bool tensor, got %s", vm_dtype_name(v->dtype));
        return NULL;
    }
    return v;
}

static bool check_store_shape(Chk *c, LangLoc loc, const Tile *t, Value *v)
{
    int32_t ts[VM_MAX_DIMS];
    int tr = vm_tile_shape(t, ts);
    if (!vm_shape_eq(tr, ts, v->rank, v->shape)) {
        char s1[96], s2[96];
        vm_shape_str(tr, ts, s1, sizeof s1);
        vm_shape_str(v->rank, v->shape, s2, sizeof s2);
        lang_chk_err(c, loc, "shape mismatch: the tile is %s but the value is %s", s1, s2);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ memory */

Val lang_chk_f_load_global(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 1, 1, "mask,other") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    Value *mask = mask_arg(c, a);
    if (lang_chk_kwarg(a, "mask") && !mask)
        return lang_chk_mk(V_ERR);
    Value *other = NULL;
    const Ast *o = lang_chk_kwarg(a, "other");
    if (o) {
        other = lang_chk_tensor(c, lang_chk_expr(c, o), t.base->dtype, lang_ast_start(o));
        if (!other)
            return lang_chk_mk(V_ERR);
        if (other->dtype != t.base->dtype)
            return lang_chk_err(c, lang_ast_start(o), "other is %s but the tensor is %s",
                           vm_dtype_name(other->dtype), vm_dtype_name(t.base->dtype));
    }
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_load_global(c->k, t, mask, other));
}

Val lang_chk_f_store_global(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 2, 2, "mask") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    Value *v = lang_chk_reg_arg(c, a, 1, t.base->dtype);
    if (!v)
        return lang_chk_mk(V_ERR);
    if (v->dtype != t.base->dtype)
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "store_global of %s into the %s tensor '%s' (use cast)",
                       vm_dtype_name(v->dtype), vm_dtype_name(t.base->dtype),
                       vm_value_label(c->va, t.base));
    if (!check_store_shape(c, lang_ast_start(a->pos[1]), &t, v))
        return lang_chk_mk(V_ERR);
    Value *mask = mask_arg(c, a);
    if (lang_chk_kwarg(a, "mask") && !mask)
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_store_global(c->k, t, v, mask);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_atomic_add(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 2, 2, "") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    Value *v = lang_chk_reg_arg(c, a, 1, t.base->dtype);
    if (!v)
        return lang_chk_mk(V_ERR);
    if (v->dtype != t.base->dtype)
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "atomic_add of %s into a %s tensor (use cast)",
                       vm_dtype_name(v->dtype), vm_dtype_name(t.base->dtype));
    if (!check_store_shape(c, lang_ast_start(a->pos[1]), &t, v))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_atomic_add(c->k, t, v);
    return lang_chk_mk(V_VOID);
}

static Val sema(Chk *c, Args *a, bool lock)
{
    Tile t;
    if (!lang_chk_arity(c, a, 2, 2, "") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    for (int d = 0; d < t.rank; d++)
        if (!t.drop[d])
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "%s needs one element: index every dim", a->name);
    if (!vm_dtype_is_int(t.base->dtype) || vm_dtype_bits(t.base->dtype) != 32)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "%s needs an i32 or u32 tensor", a->name);
    Expr *v = lang_chk_scalar(c, lang_chk_expr(c, a->pos[1]), VM_DT_I32, lang_ast_start(a->pos[1]));
    if (!v)
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    if (lock)
        vm_b_lock(c->k, t, v);
    else
        vm_b_release(c->k, t, v);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_lock(Chk *c, Args *a) { return sema(c, a, true); }
Val lang_chk_f_release(Chk *c, Args *a) { return sema(c, a, false); }

Val lang_chk_f_gather(Chk *c, Args *a)
{
    Tile t;
    int64_t dim;
    if (!lang_chk_arity(c, a, 3, 3, "") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    Value *idx = lang_chk_reg_arg(c, a, 1, VM_DT_I32);
    if (!idx)
        return lang_chk_mk(V_ERR);
    if (!vm_dtype_is_int(idx->dtype))
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "gather indices must be integers, got %s",
                       vm_dtype_name(idx->dtype));
    if (!lang_chk_pos_int(c, a, 2, "the dim", 0, t.rank - 1, &dim))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_gather(c->k, t, idx, (int)dim));
}

Val lang_chk_f_load_scalar(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 1, 1, "") || !tile_arg(c, a->pos[0], VM_GLOBAL, a->name, &t))
        return lang_chk_mk(V_ERR);
    for (int d = 0; d < t.rank; d++)
        if (!t.drop[d])
            return lang_chk_err(c, lang_ast_start(a->pos[0]), "load_scalar needs one element: index every dim");
    lang_chk_loc(c, a->call->loc);
    Var *v = vm_b_load_scalar(c->k, c->let_name ? c->let_name : "s", t);
    c->let_name = NULL;
    return lang_chk_vscalar(vm_e_var(c->k, v));
}

Val lang_chk_f_load_shared(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 1, 1, "") || !tile_arg(c, a->pos[0], VM_SHARED, a->name, &t))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_load_shared(c->k, t));
}

Val lang_chk_f_store_shared(Chk *c, Args *a)
{
    Tile t;
    if (!lang_chk_arity(c, a, 2, 2, "") || !tile_arg(c, a->pos[0], VM_SHARED, a->name, &t))
        return lang_chk_mk(V_ERR);
    Value *v = lang_chk_reg_arg(c, a, 1, t.base->dtype);
    if (!v)
        return lang_chk_mk(V_ERR);
    if (v->dtype != t.base->dtype)
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "store_shared of %s into the %s tensor '%s' (use cast)",
                       vm_dtype_name(v->dtype), vm_dtype_name(t.base->dtype),
                       vm_value_label(c->va, t.base));
    if (!check_store_shape(c, lang_ast_start(a->pos[1]), &t, v))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_store_shared(c->k, t, v);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_copy_async(Chk *c, Args *a)
{
    Tile dst, src;
    if (!lang_chk_arity(c, a, 2, 2, "mask") || !tile_arg(c, a->pos[0], VM_SHARED, a->name, &dst) ||
        !tile_arg(c, a->pos[1], VM_GLOBAL, a->name, &src))
        return lang_chk_mk(V_ERR);
    if (dst.base->dtype != src.base->dtype)
        return lang_chk_err(c, a->call->loc, "copy_async from %s to %s: dtypes differ",
                       vm_dtype_name(src.base->dtype), vm_dtype_name(dst.base->dtype));
    int32_t s1[VM_MAX_DIMS], s2[VM_MAX_DIMS];
    int r1 = vm_tile_shape(&dst, s1), r2 = vm_tile_shape(&src, s2);
    if (!vm_shape_eq(r1, s1, r2, s2)) {
        char b1[96], b2[96];
        vm_shape_str(r1, s1, b1, sizeof b1);
        vm_shape_str(r2, s2, b2, sizeof b2);
        return lang_chk_err(c, a->call->loc, "copy_async: the shared tile is %s but the global tile is %s",
                       b1, b2);
    }
    Value *mask = mask_arg(c, a);
    if (lang_chk_kwarg(a, "mask") && !mask)
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_copy_async(c->k, dst, src, mask);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_shared_alloc(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 1, 2, "") || !lang_chk_type_arg(c, a->pos[0], &t, false))
        return lang_chk_mk(V_ERR);
    if (t.rank < 1)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "a shared tensor needs at least one dim");
    SharedLayout sl, *slp = NULL;
    int shape[VM_MAX_DIMS];
    for (int d = 0; d < t.rank; d++)
        shape[d] = t.shape[d];
    int bits = vm_dtype_bits(t.dt);
    if (a->npos == 2) {
        Val l = lang_chk_expr(c, a->pos[1]);
        if (l.k == V_ERR)
            return l;
        if (l.k != V_SLAYOUT)
            return lang_chk_err(c, lang_ast_start(a->pos[1]), "expected a shared layout, got %s", lang_chk_kind_name(&l));
        LayStatus st = LAY_OK;
        switch (l.slk) {
        case SL_LITERAL: sl = *l.sl; break;
        case SL_ROW: st = lay_shared_row_major(&sl, t.rank, shape, bits); break;
        case SL_COL: st = lay_shared_column_major(&sl, t.rank, shape, bits); break;
        case SL_PADDED: st = lay_shared_padded(&sl, t.rank, shape, bits, (int)l.i); break;
        case SL_SWIZZLED: st = lay_shared_swizzled_row_major(&sl, t.rank, shape, bits); break;
        }
        if (st != LAY_OK)
            return lang_chk_err(c, lang_ast_start(a->pos[1]), "this shared layout does not fit %s[...]: %s",
                           vm_dtype_name(t.dt), lay_status_str(st));
        if (sl.rank != t.rank || sl.elem_bits != bits ||
            memcmp(sl.shape, t.shape, sizeof(int32_t) * (size_t)t.rank))
            return lang_chk_err(c, lang_ast_start(a->pos[1]), "the shared layout's shape or element bits differ "
                                              "from the tensor's");
        slp = &sl;
    }
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_shared_alloc(c->k, t.dt, t.rank, t.shape, slp));
}

Val lang_chk_f_shared_free(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 1, 1, ""))
        return lang_chk_mk(V_ERR);
    Val v = lang_chk_expr(c, a->pos[0]);
    if (v.k == V_ERR)
        return v;
    if (v.k != V_TENSOR || v.v->kind != VM_SHARED)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "shared_free needs a shared tensor, got %s",
                       lang_chk_kind_name(&v));
    if (is_freed(c, v.v))
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "'%s' is freed twice", vm_value_label(c->va, v.v));
    c->freed = vm_grow(c->va, c->freed, c->nfreed, &c->capfreed, sizeof *c->freed);
    c->freed[c->nfreed++] = v.v;
    lang_chk_loc(c, a->call->loc);
    vm_b_shared_free(c->k, v.v);
    return lang_chk_mk(V_VOID);
}

static bool runtime_shape(Chk *c, const Val *t, Expr **out)
{
    for (int d = 0; d < t->rank; d++) {
        out[d] = t->shape[d] >= 0 ? vm_e_i32(c->k, t->shape[d]) : t->eshape[d];
        if (!out[d])
            return false;
    }
    return true;
}

Val lang_chk_f_global_view(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 3, 3, "strides"))
        return lang_chk_mk(V_ERR);
    Val g = lang_chk_expr(c, a->pos[0]);
    if (g.k == V_ERR)
        return g;
    if (g.k != V_TENSOR || g.v->kind != VM_GLOBAL)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "global_view needs a global tensor, got %s",
                       lang_chk_kind_name(&g));
    Expr *off = lang_chk_scalar(c, lang_chk_expr(c, a->pos[1]), VM_DT_INVALID, lang_ast_start(a->pos[1]));
    if (!off)
        return lang_chk_mk(V_ERR);
    if (!vm_dtype_is_int(off->dtype))
        return lang_chk_err(c, lang_ast_start(a->pos[1]), "a byte offset must be an integer");
    if (!lang_chk_type_arg(c, a->pos[2], &t, true))
        return lang_chk_mk(V_ERR);
    Expr *shape[VM_MAX_DIMS], *strides[VM_MAX_DIMS];
    lang_chk_loc(c, a->call->loc);
    if (!runtime_shape(c, &t, shape))
        return lang_chk_mk(V_ERR);
    const Ast *s = lang_chk_kwarg(a, "strides");
    if (s) {
        if (s->kind != AST_LIST || s->nargs != t.rank)
            return lang_chk_err(c, s->loc, "strides = [..] needs %d entries", t.rank);
        for (int d = 0; d < t.rank; d++) {
            strides[d] = lang_chk_scalar(c, lang_chk_expr(c, s->args[d]), VM_DT_I32, s->args[d]->loc);
            if (!strides[d])
                return lang_chk_mk(V_ERR);
        }
    }
    lang_chk_loc(c, a->call->loc);
    return lang_chk_vtensor(vm_b_global_view(c->k, g.v, off, t.dt, t.rank, shape, s ? strides : NULL));
}

Val lang_chk_f_workspace(Chk *c, Args *a)
{
    Val t;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_type_arg(c, a->pos[0], &t, true))
        return lang_chk_mk(V_ERR);
    if (c->scope != c->body_scope)
        return lang_chk_err(c, a->call->loc, "workspace is only allowed at the top level of a kernel");
    Expr *shape[VM_MAX_DIMS];
    lang_chk_loc(c, a->call->loc);
    if (!runtime_shape(c, &t, shape))
        return lang_chk_mk(V_ERR);
    return lang_chk_vtensor(vm_b_workspace(c->k, t.dt, t.rank, shape));
}

Val lang_chk_f_commit(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 0, 0, ""))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_commit(c->k);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_wait(Chk *c, Args *a)
{
    int64_t n;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_pos_int(c, a, 0, "the group count", 0, 64, &n))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_wait(c->k, (int)n);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_sync(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 0, 0, ""))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_sync(c->k);
    return lang_chk_mk(V_VOID);
}

Val lang_chk_f_exit(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 0, 0, ""))
        return lang_chk_mk(V_ERR);
    lang_chk_loc(c, a->call->loc);
    vm_b_exit(c->k);
    return lang_chk_mk(V_VOID);
}


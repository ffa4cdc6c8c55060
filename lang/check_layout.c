/* lang/check_layout.c - layout expressions and annotations (VM.md 4).
 *
 * Layouts are compile-time values: primitives (local, spatial, column_*,
 * replicate) combined with '*', hardware fragments by name, mma
 * configurations (.a .b .c), and raw literals layout(...) / shared(...) read
 * by the layout module's own parsers from the call's source text, so the
 * printer's output always reads back. `e @ L` checks L against e's shape and
 * the block's thread count and fixes e's layout; on a view call it is passed
 * down as the view's result layout (c->pending). */
#include <stdio.h>
#include <string.h>

#include "lang/check.h"

/* ------------------------------------------------------------ layouts */

static Val prim(Chk *c, const Args *a, LayStatus (*f)(Layout *, int, const int *))
{
    if (a->nkw || a->npos < 1 || a->npos > LAY_MAX_DIMS)
        return lang_chk_err(c, a->call->loc, "%s takes 1 to %d sizes", a->name, LAY_MAX_DIMS);
    int dims[LAY_MAX_DIMS];
    for (int i = 0; i < a->npos; i++) {
        int64_t v;
        if (!lang_chk_pos_int(c, a, i, "a layout size", 1, 1 << 20, &v))
            return lang_chk_mk(V_ERR);
        dims[i] = (int)v;
    }
    Layout L;
    LayStatus st = f(&L, a->npos, dims);
    if (st != LAY_OK)
        return lang_chk_err(c, a->call->loc, "bad layout: %s", lay_status_str(st));
    return lang_chk_vlayout(c, L);
}

Val lang_chk_f_local(Chk *c, Args *a) { return prim(c, a, lay_local); }
Val lang_chk_f_spatial(Chk *c, Args *a) { return prim(c, a, lay_spatial); }
Val lang_chk_f_column_local(Chk *c, Args *a) { return prim(c, a, lay_column_local); }
Val lang_chk_f_column_spatial(Chk *c, Args *a) { return prim(c, a, lay_column_spatial); }

Val lang_chk_f_replicate(Chk *c, Args *a)
{
    int64_t r;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_pos_int(c, a, 0, "a replication", 1, 1 << 20, &r))
        return lang_chk_mk(V_ERR);
    Layout L;
    if (lay_replicate(&L, (int)r) != LAY_OK)
        return lang_chk_err(c, a->call->loc, "bad replication %lld", (long long)r);
    return lang_chk_vlayout(c, L);
}

/* The raw literals layout(...) and shared(...) are read by the layout
 * module's own parsers, from the call's source text. */
static char *call_text(Chk *c, const Ast *call)
{
    int off = call->loc.off, end = call->loc.end;
    if (off < 0 || end < off || (size_t)end > c->src->len)
        return NULL;
    return lang_strndup(c->la, c->src->text + off, (size_t)(end - off));
}

Val lang_chk_f_layout(Chk *c, Args *a)
{
    char *s = call_text(c, a->call);
    if (!s)
        return lang_chk_err(c, a->call->loc, "layout literal: no source text");
    Layout L;
    int pos = 0;
    char err[128] = "";
    if (lay_parse(s, &L, &pos, err, sizeof err) != LAY_OK) {
        LangLoc at = a->call->loc;
        if (pos > 0 && !memchr(s, '\n', (size_t)pos))
            at.col += pos - 1;
        return lang_chk_err(c, at, "bad layout literal: %s", err);
    }
    return lang_chk_vlayout(c, L);
}

Val lang_chk_f_shared(Chk *c, Args *a)
{
    char *s = call_text(c, a->call);
    if (!s)
        return lang_chk_err(c, a->call->loc, "shared layout literal: no source text");
    Val v = lang_chk_mk(V_SLAYOUT);
    v.slk = SL_LITERAL;
    v.sl = lang_alloc(c->la, sizeof *v.sl);
    int pos = 0;
    char err[128] = "";
    if (lay_shared_parse(s, v.sl, &pos, err, sizeof err) != LAY_OK) {
        LangLoc at = a->call->loc;
        if (pos > 0 && !memchr(s, '\n', (size_t)pos))
            at.col += pos - 1;
        return lang_chk_err(c, at, "bad shared layout literal: %s", err);
    }
    return v;
}

Val lang_chk_f_padded(Chk *c, Args *a)
{
    int64_t p;
    if (!lang_chk_arity(c, a, 1, 1, "") || !lang_chk_pos_int(c, a, 0, "the padding", 0, 1 << 16, &p))
        return lang_chk_mk(V_ERR);
    Val v = lang_chk_mk(V_SLAYOUT);
    v.slk = SL_PADDED;
    v.i = p;
    return v;
}

Val lang_chk_f_mma_tile(Chk *c, Args *a)
{
    if (!lang_chk_arity(c, a, 5, 5, ""))
        return lang_chk_mk(V_ERR);
    Val atom = lang_chk_expr(c, a->pos[0]);
    if (atom.k == V_ERR)
        return atom;
    if (atom.k != V_LAYOUT)
        return lang_chk_err(c, lang_ast_start(a->pos[0]), "expected a layout, got %s", lang_chk_kind_name(&atom));
    int64_t n[4];
    for (int i = 0; i < 4; i++)
        if (!lang_chk_pos_int(c, a, i + 1, "an mma tile count", 1, 1024, &n[i]))
            return lang_chk_mk(V_ERR);
    Layout L;
    LayStatus st = lay_mma_tile(&L, *atom.lay, (int)n[0], (int)n[1], (int)n[2], (int)n[3]);
    if (st != LAY_OK)
        return lang_chk_err(c, a->call->loc, "bad mma tile: %s", lay_status_str(st));
    return lang_chk_vlayout(c, L);
}

/* mma_m16n8k16(warps = [wm, wn], repeat = [rm, rn, rk]); dtypes may be
 * given first for the reader (mma_m16n8k16(f16, f32, ...)). */
static Val mma_block(Chk *c, Args *a, int kk)
{
    if (!lang_chk_arity(c, a, 0, 2, "warps,repeat"))
        return lang_chk_mk(V_ERR);
    for (int i = 0; i < a->npos; i++) {
        Dtype dt;
        if (!lang_chk_dtype_arg(c, a->pos[i], &dt))
            return lang_chk_mk(V_ERR);
        if (i == 0 && vm_dtype_bits(dt) != (kk == 16 ? 16 : 8))
            return lang_chk_err(c, lang_ast_start(a->pos[i]), "mma_m16n8k%d takes %d-bit operands, not %s", kk,
                           kk == 16 ? 16 : 8, vm_dtype_name(dt));
    }
    const Ast *w = lang_chk_kwarg(a, "warps"), *r = lang_chk_kwarg(a, "repeat");
    int32_t wv[2] = {1, 1}, rv[3] = {1, 1, 1};
    if (w && lang_chk_int_list(c, w, "warps", 2, 1, wv) != 2)
        return w->kind == AST_LIST && w->nargs != 2
                   ? lang_chk_err(c, w->loc, "warps = [warps_m, warps_n]")
                   : lang_chk_mk(V_ERR);
    if (r && lang_chk_int_list(c, r, "repeat", 3, 1, rv) != 3)
        return r->kind == AST_LIST && r->nargs != 3
                   ? lang_chk_err(c, r->loc, "repeat = [repeat_m, repeat_n, repeat_k]")
                   : lang_chk_mk(V_ERR);
    Val v = lang_chk_mk(V_MMA);
    v.mma = lang_alloc(c->la, sizeof *v.mma);
    LayStatus st = lay_mma_block(v.mma, kk, wv[0], wv[1], rv[0], rv[1], rv[2]);
    if (st != LAY_OK)
        return lang_chk_err(c, a->call->loc, "bad mma configuration: %s", lay_status_str(st));
    return v;
}

Val lang_chk_f_mma_m16n8k16(Chk *c, Args *a) { return mma_block(c, a, 16); }
Val lang_chk_f_mma_m16n8k32(Chk *c, Args *a) { return mma_block(c, a, 32); }

Val lang_chk_named(Chk *c, const Ast *e, const char *name)
{
    Dtype dt = vm_dtype_parse(name, strlen(name));
    if (dt != VM_DT_INVALID) {
        Val v = lang_chk_mk(V_DTYPE);
        v.dt = dt;
        return v;
    }
    if (!strcmp(name, "bid") || !strcmp(name, "gdim")) {
        Val v = lang_chk_mk(V_NS);
        v.i = name[0] == 'g';
        return v;
    }
    LayHw hw;
    if (lay_hw_lookup(name, &hw)) {
        Layout L;
        if (lay_hw(&L, hw) != LAY_OK)
            return lang_chk_err(c, e->loc, "hardware layout '%s' failed", name);
        return lang_chk_vlayout(c, L);
    }
    static const struct {
        const char *n;
        SlKind k;
    } sls[] = {{"row_major", SL_ROW}, {"column_major", SL_COL}, {"swizzled_row_major", SL_SWIZZLED}};
    for (size_t i = 0; i < sizeof sls / sizeof sls[0]; i++)
        if (!strcmp(name, sls[i].n)) {
            Val v = lang_chk_mk(V_SLAYOUT);
            v.slk = sls[i].k;
            return v;
        }
    return lang_chk_err(c, e->loc, "unknown name '%s'", name);
}

/* e @ layout: explicit layout of a register tensor (VM.md 4.3). */
Val lang_chk_annotate(Chk *c, const Ast *e)
{
    Val l = lang_chk_expr(c, e->b);
    if (l.k == V_ERR)
        return l;
    if (l.k != V_LAYOUT)
        return lang_chk_err(c, lang_ast_start(e->b), "expected a layout after '@', got %s",
                       lang_chk_kind_name(&l));
    bool is_view = e->a->kind == AST_CALL && e->a->a->kind == AST_NAME &&
                   !strcmp(e->a->a->str, "view") && !lang_chk_lookup(c, "view");
    if (lay_num_threads(*l.lay) != c->nthreads)
        return lang_chk_err(c, lang_ast_start(e->b),
                       "the layout has %d threads but the block has %d (warps(%d))",
                       lay_num_threads(*l.lay), c->nthreads, c->nthreads / 32);
    if (is_view)
        c->pending = l.lay;
    Val v = lang_chk_expr(c, e->a);
    c->pending = NULL;
    if (v.k == V_ERR || is_view)
        return v;
    Value *x = lang_chk_tensor(c, v, VM_DT_INVALID, lang_ast_start(e->a));
    if (!x)
        return lang_chk_mk(V_ERR);
    if (!vm_shape_eq(l.lay->rank, l.lay->shape, x->rank, x->shape)) {
        char s1[96], s2[96];
        vm_shape_str(l.lay->rank, l.lay->shape, s1, sizeof s1);
        vm_shape_str(x->rank, x->shape, s2, sizeof s2);
        return lang_chk_err(c, e->loc, "the layout covers shape %s but the value has shape %s", s1, s2);
    }
    if (x->lstate == VM_LAY_EXPLICIT && !lay_eq(x->layout, *l.lay))
        return lang_chk_err(c, e->loc, "'%s' already has a different explicit layout",
                       vm_value_label(c->va, x));
    vm_set_layout(x, *l.lay);
    return lang_chk_vtensor(x);
}


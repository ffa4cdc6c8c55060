/* lang/check.c - the front end's pipeline, kernels and statements.
 *
 * lang_compile runs the stages in order:
 *   lang_parse -> pick the kernel -> lang_spec_bind -> check (this file and
 *   check_expr.c, check_call.c: names, types, shapes; IR through vm_b_*)
 *   -> vm_verify -> vm_infer_layouts -> vm_verify.
 * Each stage runs only when the one before produced no error. The result is
 * a concrete Prog holding one kernel: the source instantiated for one
 * specialization (compile-time parameters are constants, `if` on a constant
 * keeps one branch, constant arithmetic folds).
 *
 * Scopes: a kernel's compile-time and runtime parameters, then one scope per
 * block; a name may shadow an outer one but not be defined twice in one
 * scope. `let` binds a value (a scalar `let` becomes an immutable scalar Var);
 * `var` makes an assignable Var whose dtype and shape never change. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/check.h"

const char *lang_status_str(LangStatus s)
{
    switch (s) {
    case LANG_OK: return "ok";
    case LANG_ERR_SYNTAX: return "syntax error";
    case LANG_ERR_KERNEL: return "no such kernel";
    case LANG_ERR_SPEC: return "bad specialization";
    case LANG_ERR_CHECK: return "type error";
    case LANG_ERR_VERIFY: return "rejected by the IR verifier";
    }
    return "?";
}

Val lang_chk_err(Chk *c, LangLoc loc, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lang_error(c->d, c->src, loc, "%s", buf);
    Val v;
    memset(&v, 0, sizeof v);
    v.k = V_ERR;
    return v;
}

bool lang_chk_failed(const Chk *c)
{
    return c->d->n > c->errors_at_start || c->d->truncated != c->truncated_at_start;
}

void lang_chk_loc(Chk *c, LangLoc loc)
{
    vm_set_loc(c->k, (VmLoc){c->vfile, loc.line, loc.col});
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot of name: its entry, or the empty slot where it would go. */
static SymSlot *slot(Chk *c, const char *name)
{
    uint32_t mask = (uint32_t)c->ntab - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask)
        if (!c->tab[i].name || !strcmp(c->tab[i].name, name))
            return &c->tab[i];
}

static SymSlot *slot_add(Chk *c, const char *name)
{
    if (2 * (c->ntabused + 1) > c->ntab) {
        SymSlot *old = c->tab;
        int nold = c->ntab;
        c->ntab = nold ? 2 * nold : 64;
        c->tab = lang_alloc(c->la, sizeof *c->tab * (size_t)c->ntab);
        for (int i = 0; i < nold; i++)
            if (old[i].name)
                *slot(c, old[i].name) = old[i];
    }
    SymSlot *sl = slot(c, name);
    if (!sl->name) {
        sl->name = name;
        sl->sym = -1;
        c->ntabused++;
    }
    return sl;
}

Sym *lang_chk_lookup(Chk *c, const char *name)
{
    if (!c->ntab)
        return NULL;
    SymSlot *sl = slot(c, name);
    return sl->name && sl->sym >= 0 ? &c->syms[sl->sym] : NULL;
}

static bool reserved(const char *name)
{
    return !strcmp(name, "bid") || !strcmp(name, "gdim") ||
           vm_dtype_parse(name, strlen(name)) != VM_DT_INVALID;
}

void lang_chk_bind(Chk *c, const char *name, LangLoc loc, Val v, Var *var)
{
    Sym *prev = lang_chk_lookup(c, name);
    if (prev && prev->scope == c->scope) {
        lang_chk_err(c, loc, "'%s' is already defined in this scope (line %d)", name,
                     prev->loc.line);
        return;
    }
    if (reserved(name)) {
        lang_chk_err(c, loc, "'%s' is a reserved name", name);
        return;
    }
    SymSlot *sl = slot_add(c, name);
    c->syms = vm_grow(c->va, c->syms, c->nsyms, &c->capsyms, sizeof *c->syms);
    c->syms[c->nsyms] = (Sym){.name = name, .val = v, .var = var, .loc = loc, .scope = c->scope,
                              .prev = sl->sym};
    sl->sym = c->nsyms++;
}

static void push_scope(Chk *c) { c->scope++; }

static void pop_scope(Chk *c)
{
    while (c->nsyms > 0 && c->syms[c->nsyms - 1].scope == c->scope) {
        Sym *sy = &c->syms[--c->nsyms];
        slot(c, sy->name)->sym = sy->prev;
    }
    c->scope--;
}

static Val vscalar(Expr *e)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.k = e ? V_SCALAR : V_ERR;
    v.e = e;
    return v;
}

static Val vtensor(Value *x)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.k = x ? V_TENSOR : V_ERR;
    v.v = x;
    return v;
}

/* ------------------------------------------------------------ statements */

static void stmt(Chk *c, const Stmt *s);

static void block(Chk *c, const Stmt *b)
{
    push_scope(c);
    for (int i = 0; i < b->nstmts; i++)
        stmt(c, b->stmts[i]);
    pop_scope(c);
}

static void let(Chk *c, const Stmt *s)
{
    c->let_name = s->name;
    Val v = lang_chk_expr(c, s->e);
    c->let_name = NULL;
    switch (v.k) {
    case V_ERR: break; /* bound anyway: later uses stay silent */
    case V_VOID:
        lang_chk_err(c, lang_ast_start(s->e), "this expression has no value");
        v.k = V_ERR;
        break;
    case V_TENSOR:
        if (v.v->var) {
            /* a var's operand reads its current contents at each use: a
             * let takes a copy now (broadcast to its own shape) */
            lang_chk_loc(c, s->loc);
            v.v = vm_b_broadcast(c->k, v.v, v.v->rank, v.v->shape);
        }
        if (!v.v->name && !v.v->param)
            vm_set_name(c->k, v.v, s->name);
        break;
    case V_SCALAR:
        if (v.e->kind != VM_E_VAR || !v.e->var->name || strcmp(v.e->var->name, s->name)) {
            lang_chk_loc(c, s->loc);
            Var *var = vm_b_svar(c->k, s->name, v.e, false);
            v = vscalar(vm_e_var(c->k, var));
        }
        break;
    default: break;
    }
    lang_chk_bind(c, s->name, s->name_loc, v, NULL);
}

static void var(Chk *c, const Stmt *s)
{
    Val v = lang_chk_expr(c, s->e);
    Var *var = NULL;
    lang_chk_loc(c, s->loc);
    switch (v.k) {
    case V_ERR:
        lang_chk_bind(c, s->name, s->name_loc, v, NULL);
        return;
    case V_TENSOR: {
        Value *x = lang_chk_tensor(c, v, VM_DT_INVALID, lang_ast_start(s->e));
        if (!x)
            return;
        lang_chk_loc(c, s->loc);
        var = vm_b_var(c->k, s->name, x);
        v = vtensor(var->val);
        break;
    }
    case V_INT:
    case V_FLOAT:
    case V_BOOL:
    case V_SCALAR: {
        Expr *e = lang_chk_scalar(c, v, VM_DT_INVALID, lang_ast_start(s->e));
        if (!e)
            return;
        lang_chk_loc(c, s->loc);
        var = vm_b_svar(c->k, s->name, e, true);
        v = vscalar(vm_e_var(c->k, var));
        break;
    }
    default:
        lang_chk_err(c, lang_ast_start(s->e), "a var holds a tensor or a scalar, not %s", lang_chk_kind_name(&v));
        return;
    }
    lang_chk_bind(c, s->name, s->name_loc, v, var);
}

static void assign(Chk *c, const Stmt *s)
{
    Sym *sym = lang_chk_lookup(c, s->name);
    if (!sym) {
        lang_chk_err(c, s->name_loc, "unknown name '%s'", s->name);
        return;
    }
    if (sym->val.k == V_ERR)
        return;
    if (!sym->var) {
        lang_chk_err(c, s->name_loc, "cannot assign to '%s': only a var can be assigned", s->name);
        return;
    }
    Var *var = sym->var;
    Val v = lang_chk_expr(c, s->e);
    if (v.k == V_ERR)
        return;
    if (var->scalar) {
        Expr *e = lang_chk_scalar(c, v, var->dtype, lang_ast_start(s->e));
        if (!e)
            return;
        if (e->dtype != var->dtype) {
            lang_chk_err(c, lang_ast_start(s->e), "type mismatch: '%s' is %s but the value is %s (use cast)",
                    s->name, vm_dtype_name(var->dtype), vm_dtype_name(e->dtype));
            return;
        }
        lang_chk_loc(c, s->loc);
        vm_b_sassign(c->k, var, e);
        return;
    }
    Value *x = lang_chk_tensor(c, v, var->dtype, lang_ast_start(s->e));
    if (!x)
        return;
    Value *cur = var->val;
    if (x->dtype != cur->dtype || !vm_shape_eq(x->rank, x->shape, cur->rank, cur->shape)) {
        char s1[96], s2[96];
        vm_shape_str(cur->rank, cur->shape, s1, sizeof s1);
        vm_shape_str(x->rank, x->shape, s2, sizeof s2);
        lang_chk_err(c, lang_ast_start(s->e), "'%s' is %s%s but the value is %s%s: a var keeps its type", s->name,
                vm_dtype_name(cur->dtype), s1, vm_dtype_name(x->dtype), s2);
        return;
    }
    lang_chk_loc(c, s->loc);
    vm_b_assign(c->k, var, x);
}

static Expr *int_scalar(Chk *c, const Ast *e, Dtype hint)
{
    Val v = lang_chk_expr(c, e);
    Expr *x = lang_chk_scalar(c, v, hint, e->loc);
    if (x && !vm_dtype_is_int(x->dtype)) {
        lang_chk_err(c, e->loc, "expected an integer, got %s", vm_dtype_name(x->dtype));
        return NULL;
    }
    return x;
}

static void for_loop(Chk *c, const Stmt *s)
{
    const Ast *r = s->e;
    if (r->kind != AST_CALL || r->a->kind != AST_NAME || strcmp(r->a->str, "range")) {
        lang_chk_err(c, r->loc, "for loops run over range(start, end, step)");
        return;
    }
    if (r->nargs < 1 || r->nargs > 3) {
        lang_chk_err(c, r->loc, "range takes 1 to 3 arguments, got %d", r->nargs);
        return;
    }
    for (int i = 0; i < r->nargs; i++)
        if (r->args[i]->kind == AST_KWARG) {
            lang_chk_err(c, r->args[i]->loc, "range takes no keyword arguments");
            return;
        }
    Val v[3];
    Dtype dt = VM_DT_I32;
    for (int i = 0; i < r->nargs; i++) {
        v[i] = lang_chk_expr(c, r->args[i]);
        if (v[i].k == V_ERR)
            return;
        if (v[i].k == V_SCALAR && v[i].e->dtype == VM_DT_I64)
            dt = VM_DT_I64;
    }
    const Ast *sa = r->nargs >= 2 ? r->args[0] : NULL;
    Val vs = r->nargs >= 2 ? v[0] : (Val){.k = V_INT};
    Val ve = r->nargs >= 2 ? v[1] : v[0];
    Val vst = r->nargs == 3 ? v[2] : (Val){.k = V_INT, .i = 1};
    if (vst.k == V_INT && vst.i == 0) {
        lang_chk_err(c, r->args[2]->loc, "a range step of 0");
        return;
    }
    LangLoc loc = r->loc;
    Expr *es = lang_chk_scalar(c, vs, dt, sa ? lang_ast_start(sa) : loc);
    Expr *ee = lang_chk_scalar(c, ve, dt, r->args[r->nargs >= 2 ? 1 : 0]->loc);
    Expr *est = lang_chk_scalar(c, vst, dt, r->nargs == 3 ? r->args[2]->loc : loc);
    if (!es || !ee || !est)
        return;
    if (!vm_dtype_is_int(es->dtype) || es->dtype != ee->dtype || es->dtype != est->dtype) {
        lang_chk_err(c, r->loc, "range needs integers of one dtype (i32 or i64)");
        return;
    }
    lang_chk_loc(c, s->loc);
    Var *iv = vm_b_for(c->k, s->name, es, ee, est);
    push_scope(c);
    lang_chk_bind(c, s->name, s->name_loc, vscalar(vm_e_var(c->k, iv)), NULL);
    c->loops++;
    block(c, s->body);
    c->loops--;
    pop_scope(c);
    vm_b_end(c->k);
}

/* A condition: a constant bool (code selection) or a bool scalar. */
static bool cond(Chk *c, const Ast *e, Expr **out, int *konst)
{
    Val v = lang_chk_expr(c, e);
    *konst = -1;
    *out = NULL;
    if (v.k == V_ERR)
        return false;
    if (v.k == V_BOOL) {
        *konst = (int)v.i;
        return true;
    }
    if (v.k == V_TENSOR) {
        lang_chk_err(c, e->loc, "a condition must be a scalar: control flow is uniform over the block");
        return false;
    }
    Expr *x = lang_chk_scalar(c, v, VM_DT_BOOL, e->loc);
    if (!x)
        return false;
    if (x->dtype != VM_DT_BOOL) {
        lang_chk_err(c, e->loc, "a condition must be a bool, got %s", vm_dtype_name(x->dtype));
        return false;
    }
    *out = x;
    return true;
}

static void if_stmt(Chk *c, const Stmt *s)
{
    Expr *e;
    int k;
    if (!cond(c, s->e, &e, &k))
        return;
    if (k >= 0) {
        const Stmt *taken = k ? s->body : s->els;
        if (taken)
            stmt(c, taken);
        return;
    }
    lang_chk_loc(c, s->loc);
    vm_b_if(c->k, e);
    block(c, s->body);
    if (s->els) {
        vm_b_else(c->k);
        stmt(c, s->els);
    }
    vm_b_end(c->k);
}

static void while_loop(Chk *c, const Stmt *s)
{
    Expr *e;
    int k;
    if (!cond(c, s->e, &e, &k))
        return;
    if (k == 0)
        return;
    lang_chk_loc(c, s->loc);
    vm_b_while(c->k, e ? e : vm_e_bool(c->k, true));
    c->loops++;
    block(c, s->body);
    c->loops--;
    vm_b_end(c->k);
}

static void stmt(Chk *c, const Stmt *s)
{
    if (!s)
        return;
    switch (s->kind) {
    case ST_LET: let(c, s); break;
    case ST_VAR: var(c, s); break;
    case ST_ASSIGN: assign(c, s); break;
    case ST_EXPR: {
        Val v = lang_chk_expr(c, s->e);
        (void)v;
        break;
    }
    case ST_FOR: for_loop(c, s); break;
    case ST_WHILE: while_loop(c, s); break;
    case ST_IF: if_stmt(c, s); break;
    case ST_BREAK:
    case ST_CONTINUE:
        if (!c->loops) {
            lang_chk_err(c, s->loc, "%s outside of a loop", s->kind == ST_BREAK ? "break" : "continue");
            break;
        }
        lang_chk_loc(c, s->loc);
        if (s->kind == ST_BREAK)
            vm_b_break(c->k);
        else
            vm_b_continue(c->k);
        break;
    case ST_BLOCK: block(c, s); break;
    }
}

/* ------------------------------------------------------------ kernels */

/* One runtime parameter; false (reported) when it could not be declared. */
static bool param(Chk *c, const AstParam *p)
{
    lang_chk_loc(c, p->loc);
    if (!p->global) {
        Val t = lang_chk_expr(c, p->type);
        if (t.k == V_ERR)
            return false;
        if (t.k != V_DTYPE || (t.dt != VM_DT_I32 && t.dt != VM_DT_I64 && t.dt != VM_DT_F32)) {
            lang_chk_err(c, p->type->loc,
                    "a scalar parameter is i32, i64 or f32 (tensors are 'global dtype[...]')");
            return false;
        }
        lang_chk_loc(c, p->loc);
        Param *vp = vm_param_scalar(c->k, p->name, t.dt);
        lang_chk_bind(c, p->name, p->loc, vscalar(vm_e_param(c->k, vp)), NULL);
        return true;
    }
    const Ast *ty = p->type;
    if (ty->kind != AST_INDEX) {
        lang_chk_err(c, ty->loc, "a global tensor parameter needs a shape: dtype[d0, d1, ...]");
        return false;
    }
    Val dv = lang_chk_expr(c, ty->a);
    if (dv.k == V_ERR)
        return false;
    if (dv.k != V_DTYPE) {
        lang_chk_err(c, ty->a->loc, "expected a dtype, got %s", lang_chk_kind_name(&dv));
        return false;
    }
    if (ty->nargs < 1 || ty->nargs > VM_MAX_DIMS) {
        lang_chk_err(c, ty->loc, "a tensor has 1 to %d dims", VM_MAX_DIMS);
        return false;
    }
    Expr *shape[VM_MAX_DIMS];
    bool ok = true;
    for (int d = 0; d < ty->nargs && ok; d++) {
        const Ast *x = ty->args[d];
        if (x->kind == AST_NAME && !lang_chk_lookup(c, x->str) && !reserved(x->str)) {
            lang_chk_loc(c, x->loc);
            Param *dp = vm_param_dim(c->k, x->str);
            lang_chk_bind(c, x->str, x->loc, vscalar(vm_e_param(c->k, dp)), NULL);
            shape[d] = vm_e_param(c->k, dp);
            continue;
        }
        if (x->kind == AST_SLICE || x->kind == AST_KWARG) {
            lang_chk_err(c, x->loc, "a shape lists sizes");
            ok = false;
            break;
        }
        Val v = lang_chk_expr(c, x);
        shape[d] = lang_chk_scalar(c, v, VM_DT_I32, x->loc);
        if (!shape[d])
            ok = false;
        else if (shape[d]->dtype != VM_DT_I32) {
            lang_chk_err(c, x->loc, "a shape size is an i32 expression");
            ok = false;
        } else if (v.k == V_INT && v.i <= 0) {
            lang_chk_err(c, x->loc, "a size must be positive");
            ok = false;
        }
    }
    if (!ok)
        return false;
    lang_chk_loc(c, p->loc);
    Param *vp = vm_param_tensor(c->k, p->name, dv.dt, ty->nargs, shape);
    lang_chk_bind(c, p->name, p->loc, vtensor(vp->value), NULL);
    return true;
}

static void params(Chk *c)
{
    const AstKernel *ak = c->ak;
    for (int i = 0; i < ak->nct; i++) {
        Val v;
        memset(&v, 0, sizeof v);
        switch (c->ct[i].kind) {
        case LANG_CT_INT: v.k = V_INT; v.i = c->ct[i].i; break;
        case LANG_CT_BOOL: v.k = V_BOOL; v.i = c->ct[i].i; break;
        case LANG_CT_DTYPE: v.k = V_DTYPE; v.dt = c->ct[i].dt; break;
        }
        lang_chk_bind(c, ak->ct[i].name, ak->ct[i].loc, v, NULL);
    }
    for (int i = 0; i < ak->nparams; i++) {
        const AstParam *p = &ak->params[i];
        Sym *sy = lang_chk_lookup(c, p->name);
        if (!param(c, p) && !(sy && sy->scope == c->scope))
            lang_chk_bind(c, p->name, p->loc, (Val){.k = V_ERR}, NULL);
    }
}

static void attrs(Chk *c)
{
    const AstKernel *ak = c->ak;
    bool seen_grid = false, seen_warps = false;
    int warps = 4;
    for (int i = 0; i < ak->nattrs; i++) {
        const Ast *a = ak->attrs[i];
        const char *n = a->a->str;
        if (!strcmp(n, "warps")) {
            if (seen_warps) {
                lang_chk_err(c, a->loc, "warps given twice");
                continue;
            }
            seen_warps = true;
            int64_t w;
            if (a->nargs != 1) {
                lang_chk_err(c, a->loc, "warps takes one compile-time integer");
                continue;
            }
            if (!lang_chk_const_int(c, lang_chk_expr(c, a->args[0]), a->args[0]->loc, "warps", &w))
                continue;
            if (w < 1 || w > VM_MAX_WARPS) {
                lang_chk_err(c, a->args[0]->loc, "warps(%lld) out of range [1, %d]", (long long)w,
                        VM_MAX_WARPS);
                continue;
            }
            warps = (int)w;
        } else if (!strcmp(n, "grid")) {
            if (seen_grid) {
                lang_chk_err(c, a->loc, "grid given twice");
                continue;
            }
            seen_grid = true;
            if (a->nargs < 1 || a->nargs > 3) {
                lang_chk_err(c, a->loc, "grid takes 1 to 3 sizes");
                continue;
            }
            Expr *g[3];
            bool ok = true;
            for (int j = 0; j < a->nargs && ok; j++) {
                g[j] = a->args[j]->kind == AST_KWARG ? NULL : int_scalar(c, a->args[j], VM_DT_I32);
                if (!g[j]) {
                    if (a->args[j]->kind == AST_KWARG)
                        lang_chk_err(c, a->args[j]->loc, "grid takes no keyword arguments");
                    ok = false;
                } else if (g[j]->dtype != VM_DT_I32) {
                    lang_chk_err(c, a->args[j]->loc, "a grid size is an i32 expression");
                    ok = false;
                }
            }
            if (ok) {
                lang_chk_loc(c, a->loc);
                vm_set_grid(c->k, a->nargs, g);
            }
        } else {
            lang_chk_err(c, a->loc, "unknown kernel attribute '%s' (grid or warps)", n);
        }
    }
    vm_set_warps(c->k, warps);
    c->nthreads = 32 * warps;
}

static void check_kernel(Chk *c)
{
    VmLoc loc = {c->vfile, c->ak->loc.line, c->ak->loc.col};
    c->k = vm_kernel_new(c->prog, c->ak->name, loc);
    c->nthreads = 128;
    push_scope(c);
    params(c);
    attrs(c);
    c->body_scope = c->scope + 1;
    block(c, c->ak->body);
    pop_scope(c);
}

/* ------------------------------------------------------------ pipeline */

static void vm_to_lang(const VmDiags *vd, const LangSrc *src, LangDiags *d)
{
    for (int i = 0; i < vd->n; i++) {
        const VmDiag *g = &vd->v[i];
        LangSrc s = *src;
        if (g->loc.file && src->file && strcmp(g->loc.file, src->file))
            s = (LangSrc){g->loc.file, NULL, 0};
        lang_error(d, &s, (LangLoc){.line = g->loc.line, .col = g->loc.col}, "%s", g->msg);
    }
}

static const AstKernel *find_kernel(const AstFile *f, const char *name)
{
    if (!name || !*name)
        return f->nkernels ? f->kernels[0] : NULL;
    for (int i = 0; i < f->nkernels; i++)
        if (!strcmp(f->kernels[i]->name, name))
            return f->kernels[i];
    return NULL;
}

LangStatus lang_compile(VmArena *va, const char *src, size_t len, const char *filename,
                        const char *kernel, const char *spec, Prog **out, LangDiags *d)
{
    *out = NULL;
    LangSrc s = {filename ? filename : "<input>", src ? src : "", src ? len : 0};
    LangArena *la = lang_arena_new();
    AstFile *f;
    LangStatus st = LANG_OK;
    int before = d->n;
    if (!lang_parse(la, &s, &f, d)) {
        st = LANG_ERR_SYNTAX;
        goto done;
    }
    const AstKernel *ak = find_kernel(f, kernel);
    if (!ak) {
        if (f->nkernels == 0)
            lang_error(d, &s, (LangLoc){.line = 1, .col = 1}, "no kernel in this file");
        else
            lang_error(d, &s, (LangLoc){.line = 1, .col = 1}, "no kernel named '%s' in this file",
                       kernel);
        st = LANG_ERR_KERNEL;
        goto done;
    }
    LangVal *ct = lang_alloc(la, sizeof *ct * (size_t)(ak->nct + 1));
    if (!lang_spec_bind(ak, &s, spec, ct, d)) {
        st = LANG_ERR_SPEC;
        goto done;
    }
    Chk c = {.la = la, .va = va, .src = &s, .d = d, .ak = ak, .ct = ct, .errors_at_start = before,
             .truncated_at_start = d->truncated};
    c.vfile = vm_strdup(va, s.file);
    c.prog = vm_prog_new(va);
    check_kernel(&c);
    if (lang_chk_failed(&c)) {
        st = LANG_ERR_CHECK;
        goto done;
    }
    VmDiags vd;
    vm_diags_init(&vd, va);
    if (!vm_verify(c.prog, &vd) || !vm_infer_layouts(c.prog, &vd) || !vm_verify(c.prog, &vd)) {
        vm_to_lang(&vd, &s, d);
        if (d->n == before)
            lang_error(d, &s, (LangLoc){.line = 1, .col = 1}, "the IR verifier failed");
        st = LANG_ERR_VERIFY;
        goto done;
    }
    *out = c.prog;
done:
    lang_arena_free(la);
    return st;
}

LangStatus lang_canonical_spec(const char *src, size_t len, const char *filename,
                               const char *kernel, const char *spec, char **out, LangDiags *d)
{
    LangSrc s = {filename ? filename : "<input>", src ? src : "", src ? len : 0};
    LangArena *la = lang_arena_new();
    AstFile *f;
    LangStatus st = LANG_OK;
    *out = NULL;
    if (!lang_parse(la, &s, &f, d)) {
        st = LANG_ERR_SYNTAX;
    } else {
        const AstKernel *ak = find_kernel(f, kernel);
        if (!ak) {
            lang_error(d, &s, (LangLoc){.line = 1, .col = 1}, "no kernel named '%s' in this file",
                       kernel ? kernel : "");
            st = LANG_ERR_KERNEL;
        } else if (!(*out = lang_spec_canonical(ak, &s, spec, d))) {
            st = LANG_ERR_SPEC;
        }
    }
    lang_arena_free(la);
    return st;
}

LangStatus lang_list_kernels(const char *src, size_t len, const char *filename, char ***names,
                             int *n, LangDiags *d)
{
    LangSrc s = {filename ? filename : "<input>", src ? src : "", src ? len : 0};
    LangArena *la = lang_arena_new();
    AstFile *f;
    *names = NULL;
    *n = 0;
    bool ok = lang_parse(la, &s, &f, d);
    if (ok) {
        *names = calloc((size_t)f->nkernels + 1, sizeof **names);
        if (!*names)
            abort();
        for (int i = 0; i < f->nkernels; i++) {
            (*names)[i] = strdup(f->kernels[i]->name);
            if (!(*names)[i])
                abort();
        }
        *n = f->nkernels;
    }
    lang_arena_free(la);
    return ok ? LANG_OK : LANG_ERR_SYNTAX;
}

void lang_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

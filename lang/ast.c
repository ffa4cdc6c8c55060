/* lang/ast.c - the syntax tree's arena and node constructors.
 *
 * One LangArena per compilation holds every node, string and vector of the
 * AST; it is freed at once (no per-node frees, so error recovery in the
 * parser cannot leak). Nodes carry their nesting depth, computed from their
 * children when built; the parser rejects trees deeper than LANG_MAX_DEPTH so
 * that the recursive passes after it have a bounded stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

typedef struct Chunk Chunk;
struct Chunk {
    Chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct LangArena {
    Chunk *head;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return p;
}

LangArena *lang_arena_new(void)
{
    LangArena *a = xmalloc(sizeof *a);
    a->head = NULL;
    return a;
}

void *lang_alloc(LangArena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = xmalloc(sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *lang_strndup(LangArena *a, const char *s, size_t n)
{
    char *p = lang_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void lang_arena_free(LangArena *a)
{
    if (!a)
        return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static const struct {
    const char *s;
    int prec;
} op_tab[] = {
#define X(id, s, prec) {s, prec},
    LANG_OPS(X)
#undef X
};

const char *lang_op_str(LangOp op) { return op_tab[op].s; }
int lang_op_prec(LangOp op) { return op_tab[op].prec; }

const char *lang_ct_kind_name(LangCtKind k)
{
    switch (k) {
    case LANG_CT_INT: return "int";
    case LANG_CT_BOOL: return "bool";
    case LANG_CT_DTYPE: return "dtype";
    }
    return "?";
}

Ast *lang_ast_new(LangArena *a, AstKind k, LangLoc loc)
{
    Ast *n = lang_alloc(a, sizeof *n);
    n->kind = k;
    n->loc = loc;
    n->depth = 1;
    return n;
}

Ast *lang_ast_binary(LangArena *a, LangLoc loc, LangOp op, Ast *l, Ast *r)
{
    Ast *n = lang_ast_new(a, AST_BINARY, loc);
    n->op = op;
    n->a = l;
    n->b = r;
    lang_ast_fix_depth(n);
    return n;
}

/* Vectors grow by doubling; the old storage stays in the arena. */
static void **grow(LangArena *a, void **v, int n)
{
    if (n == 0)
        return lang_alloc(a, 4 * sizeof(void *));
    if (n < 4 || (n & (n - 1)))
        return v;
    void **w = lang_alloc(a, 2 * (size_t)n * sizeof(void *));
    memcpy(w, v, (size_t)n * sizeof(void *));
    return w;
}

void lang_ast_push(LangArena *a, Ast *n, Ast *arg)
{
    n->args = (Ast **)grow(a, (void **)n->args, n->nargs);
    n->args[n->nargs++] = arg;
    if (arg && arg->depth + 1 > n->depth)
        n->depth = arg->depth + 1;
}

Stmt *lang_stmt_new(LangArena *a, StmtKind k, LangLoc loc)
{
    Stmt *s = lang_alloc(a, sizeof *s);
    s->kind = k;
    s->loc = loc;
    s->depth = 1;
    return s;
}

void lang_stmt_push(LangArena *a, Stmt *block, Stmt *s)
{
    block->stmts = (Stmt **)grow(a, (void **)block->stmts, block->nstmts);
    block->stmts[block->nstmts++] = s;
    if (s && s->depth + 1 > block->depth)
        block->depth = s->depth + 1;
}

void lang_ast_fix_depth(Ast *n)
{
    int d = 0;
    if (n->a && n->a->depth > d)
        d = n->a->depth;
    if (n->b && n->b->depth > d)
        d = n->b->depth;
    for (int i = 0; i < n->nargs; i++)
        if (n->args[i] && n->args[i]->depth > d)
            d = n->args[i]->depth;
    n->depth = d + 1;
}

void lang_stmt_fix_depth(Stmt *s)
{
    int d = 0;
    if (s->body && s->body->depth > d)
        d = s->body->depth;
    if (s->els && s->els->depth > d)
        d = s->els->depth;
    for (int i = 0; i < s->nstmts; i++)
        if (s->stmts[i] && s->stmts[i]->depth > d)
            d = s->stmts[i]->depth;
    s->depth = d + 1;
}

LangLoc lang_ast_start(const Ast *n)
{
    for (int guard = 0; n && guard < 4 * LANG_MAX_DEPTH; guard++) {
        switch (n->kind) {
        case AST_BINARY:
        case AST_ANNOT:
        case AST_INDEX:
        case AST_CALL:
        case AST_MEMBER:
            if (!n->a)
                return n->loc;
            n = n->a;
            continue;
        case AST_SLICE:
            if (!n->a)
                return n->loc;
            n = n->a;
            continue;
        default: return n->loc;
        }
    }
    return n ? n->loc : (LangLoc){.line = 1, .col = 1};
}

/* lang/parse.y - the grammar of the kernel language (bison, pure, reentrant).
 *
 * Input: tokens from lex.l. Output: an AstFile (lang.h) in the arena. Syntax
 * errors become diagnostics; bison's `error` token recovers at the next ';'
 * or '}' of a statement and at the next kernel, so one run reports several
 * errors. Nodes deeper than LANG_MAX_DEPTH are refused here (with an error)
 * so every later pass recurses a bounded number of times.
 *
 * The grammar, in short (lang/README.md has the long form):
 *   file    := kernel*
 *   kernel  := 'kernel' NAME ['<' ctparam,* '>'] '(' param,* ')' attr* block
 *   ctparam := NAME ':' (int|bool|dtype) ['=' literal]
 *   param   := NAME ':' 'global' dtype '[' shape ']' | NAME ':' scalar-dtype
 *   attr    := grid '(' expr,+ ')' | warps '(' expr ')'
 *   stmt    := let NAME = expr; | var NAME = expr; | NAME (=|+=|-=|*=|/=) expr;
 *            | expr; | for NAME in range(...) block | while expr block
 *            | if expr block [else (block | if ...)] | break; | continue; | block
 *   expr    := expr '@' expr (layout annotation, loosest) | C binary operators
 *            | unary - ! ~ | call(args, key=value) | x[start : size, index]
 *            | x.name | [list] | literals | NAME | (expr) */

%define api.pure full
%define api.prefix {lang_yy}
%define api.location.type {LangLoc}
%define parse.error detailed
%locations
%lex-param {void *scanner}
%parse-param {void *scanner} {LangLex *x}

%code requires {
#include "lang/lang.h"

typedef struct {
    LangArena *arena;
    const LangSrc *src;
    LangDiags *diags;
    int line, col, off, nesting;
    bool stop;      /* nesting too deep: the lexer returns end of input */
    int nerrors;
    LangLoc comment_loc;
    AstFile *file;
    AstKernel *cur; /* the kernel being parsed */
} LangLex;
}

%union {
    int64_t ival;
    double fval;
    const char *str;
    Ast *ast;
    Stmt *stmt;
}

%code {
#include <string.h>

int lang_yylex(LANG_YYSTYPE *lval, LangLoc *lloc, void *scanner);

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                          \
    do {                                                                     \
        if (N) {                                                             \
            (Cur) = YYRHSLOC(Rhs, 1);                                        \
            (Cur).end = YYRHSLOC(Rhs, N).end;                                \
        } else {                                                             \
            (Cur) = YYRHSLOC(Rhs, 0);                                        \
            (Cur).off = (Cur).end;                                           \
        }                                                                    \
    } while (0)

static void lang_yyerror(LangLoc *loc, void *scanner, LangLex *x, const char *msg)
{
    (void)scanner;
    x->nerrors++;
    if (!x->stop)
        lang_error(x->diags, x->src, *loc, "%s", msg);
}

static Ast *deep(LangLex *x, Ast *n)
{
    lang_ast_fix_depth(n);
    if (n->depth > LANG_MAX_DEPTH) {
        lang_error(x->diags, x->src, n->loc, "expression nested deeper than %d", LANG_MAX_DEPTH);
        x->nerrors++;
        Ast *z = lang_ast_new(x->arena, AST_INT, n->loc);
        return z;
    }
    return n;
}

static Stmt *sdeep(LangLex *x, Stmt *s)
{
    lang_stmt_fix_depth(s);
    if (s->depth > LANG_MAX_DEPTH) {
        lang_error(x->diags, x->src, s->loc, "statements nested deeper than %d", LANG_MAX_DEPTH);
        x->nerrors++;
        return lang_stmt_new(x->arena, ST_BLOCK, s->loc);
    }
    return s;
}

static Ast *node(LangLex *x, AstKind k, LangLoc loc, Ast *a, Ast *b)
{
    Ast *n = lang_ast_new(x->arena, k, loc);
    n->a = a;
    n->b = b;
    return deep(x, n);
}

static Ast *bin(LangLex *x, LangLoc loc, LangOp op, Ast *a, Ast *b)
{
    Ast *n = node(x, AST_BINARY, loc, a, b);
    n->op = op;
    return n;
}

static Ast *un(LangLex *x, LangLoc loc, LangOp op, Ast *a)
{
    Ast *n = node(x, AST_UNARY, loc, a, NULL);
    n->op = op;
    return n;
}

static Ast *name(LangLex *x, LangLoc loc, const char *s)
{
    Ast *n = lang_ast_new(x->arena, AST_NAME, loc);
    n->str = s;
    return n;
}

static Stmt *assign(LangLex *x, LangLoc loc, const char *nm, LangLoc nloc, LangOp op, Ast *e)
{
    Stmt *s = lang_stmt_new(x->arena, ST_ASSIGN, loc);
    s->name = nm;
    s->name_loc = nloc;
    s->e = (int)op < 0 ? e : bin(x, e->loc, op, name(x, nloc, nm), e);
    return s;
}

static AstKernel *new_kernel(LangLex *x, LangLoc loc, const char *nm)
{
    AstKernel *k = lang_alloc(x->arena, sizeof *k);
    k->name = nm;
    k->loc = loc;
    k->body = lang_stmt_new(x->arena, ST_BLOCK, loc);
    x->cur = k;
    return k;
}

#define GROW(arena, v, n)                                                    \
    do {                                                                     \
        if ((n) == 0 || ((n) >= 4 && !((n) & ((n) - 1)))) {                  \
            size_t cap_ = (n) == 0 ? 4 : 2 * (size_t)(n);                    \
            void *w_ = lang_alloc(arena, cap_ * sizeof *(v));                \
            if (n)                                                           \
                memcpy(w_, v, (size_t)(n) * sizeof *(v));                    \
            (v) = w_;                                                        \
        }                                                                    \
    } while (0)

static void add_ct(LangLex *x, LangLoc loc, const char *nm, const char *kind, LangLoc kloc,
                   Ast *def)
{
    AstKernel *k = x->cur;
    LangCtKind kk;
    if (!strcmp(kind, "int"))
        kk = LANG_CT_INT;
    else if (!strcmp(kind, "bool"))
        kk = LANG_CT_BOOL;
    else if (!strcmp(kind, "dtype"))
        kk = LANG_CT_DTYPE;
    else {
        lang_error(x->diags, x->src, kloc,
                   "unknown compile-time parameter kind '%s' (int, bool or dtype)", kind);
        x->nerrors++;
        return;
    }
    GROW(x->arena, k->ct, k->nct);
    k->ct[k->nct++] = (AstCtParam){.name = nm, .loc = loc, .kind = kk, .def = def};
}

static void add_param(LangLex *x, LangLoc loc, const char *nm, bool global, Ast *type)
{
    AstKernel *k = x->cur;
    GROW(x->arena, k->params, k->nparams);
    k->params[k->nparams++] = (AstParam){.name = nm, .loc = loc, .global = global, .type = type};
}

static void add_attr(LangLex *x, Ast *a)
{
    AstKernel *k = x->cur;
    GROW(x->arena, k->attrs, k->nattrs);
    k->attrs[k->nattrs++] = a;
}

static void add_kernel(LangLex *x, AstKernel *k)
{
    AstFile *f = x->file;
    GROW(x->arena, f->kernels, f->nkernels);
    f->kernels[f->nkernels++] = k;
}
}

%initial-action {
    @$.line = 1;
    @$.col = 1;
    @$.off = 0;
    @$.end = 0;
}

%token KERNEL "kernel" LET "let" VAR "var" FOR "for" IN "in" WHILE "while"
%token IF "if" ELSE "else" BREAK "break" CONTINUE "continue" GLOBAL "global"
%token EQ "==" NE "!=" LE "<=" GE ">=" SHL "<<" SHR ">>" LAND "&&" LOR "||"
%token ADD_ASSIGN "+=" SUB_ASSIGN "-=" MUL_ASSIGN "*=" DIV_ASSIGN "/="
%token <str> IDENT "identifier"
%token <ival> INTLIT "integer" BOOLLIT "true or false"
%token <fval> FLOATLIT "number"
%token <ast> STRLIT "string"

%type <ast> expr postfix primary args arg_list arg idx_list idx ct_default ct_value
%type <ast> param_type kernel_head
%type <stmt> block stmts stmt if_stmt

%left '@'
%left "||"
%left "&&"
%left '|'
%left '^'
%left '&'
%left "==" "!="
%left '<' "<=" '>' ">="
%left "<<" ">>"
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

file
    : %empty
    | file kernel
    | file error
    ;

kernel
    : kernel_head '(' params ')' attrs block
        { x->cur->body = $6; add_kernel(x, x->cur); }
    ;

kernel_head
    : "kernel" IDENT { new_kernel(x, @2, $2); } ct_opt { $$ = NULL; }
    ;

ct_opt
    : %empty
    | '<' ct_params '>'
    ;

ct_params
    : ct_param
    | ct_params ',' ct_param
    ;

ct_param
    : IDENT ':' IDENT ct_default { add_ct(x, @1, $1, $3, @3, $4); }
    ;

ct_default
    : %empty { $$ = NULL; }
    | '=' ct_value { $$ = $2; }
    ;

ct_value
    : INTLIT { $$ = lang_ast_new(x->arena, AST_INT, @1); $$->ival = $1; }
    | '-' INTLIT { $$ = lang_ast_new(x->arena, AST_INT, @1); $$->ival = -$2; }
    | BOOLLIT { $$ = lang_ast_new(x->arena, AST_BOOL, @1); $$->ival = $1; }
    | IDENT { $$ = name(x, @1, $1); }
    ;

params
    : %empty
    | param_list
    | param_list ','
    ;

param_list
    : param
    | param_list ',' param
    ;

param
    : IDENT ':' "global" param_type { add_param(x, @1, $1, true, $4); }
    | IDENT ':' param_type { add_param(x, @1, $1, false, $3); }
    ;

param_type
    : postfix { $$ = $1; }
    ;

attrs
    : %empty
    | attrs IDENT '(' args ')'
        { Ast *c = node(x, AST_CALL, @2, name(x, @2, $2), NULL);
          c->args = $4->args; c->nargs = $4->nargs; add_attr(x, deep(x, c)); }
    ;

block
    : '{' stmts '}' { $$ = $2; $$->loc = @1; }
    | '{' stmts error '}' { $$ = $2; $$->loc = @1; }
    ;

stmts
    : %empty { $$ = lang_stmt_new(x->arena, ST_BLOCK, @$); }
    | stmts stmt { $$ = $1; if ($2) lang_stmt_push(x->arena, $$, $2); }
    ;

stmt
    : "let" IDENT '=' expr ';'
        { $$ = lang_stmt_new(x->arena, ST_LET, @1); $$->name = $2; $$->name_loc = @2; $$->e = $4; }
    | "var" IDENT '=' expr ';'
        { $$ = lang_stmt_new(x->arena, ST_VAR, @1); $$->name = $2; $$->name_loc = @2; $$->e = $4; }
    | IDENT '=' expr ';' { $$ = assign(x, @1, $1, @1, (LangOp)-1, $3); }
    | IDENT "+=" expr ';' { $$ = assign(x, @1, $1, @1, LANG_OP_ADD, $3); }
    | IDENT "-=" expr ';' { $$ = assign(x, @1, $1, @1, LANG_OP_SUB, $3); }
    | IDENT "*=" expr ';' { $$ = assign(x, @1, $1, @1, LANG_OP_MUL, $3); }
    | IDENT "/=" expr ';' { $$ = assign(x, @1, $1, @1, LANG_OP_DIV, $3); }
    | expr ';' { $$ = lang_stmt_new(x->arena, ST_EXPR, @1); $$->e = $1; }
    | "for" IDENT "in" expr block
        { $$ = lang_stmt_new(x->arena, ST_FOR, @1); $$->name = $2; $$->name_loc = @2;
          $$->e = $4; $$->body = $5; $$ = sdeep(x, $$); }
    | "while" expr block
        { $$ = lang_stmt_new(x->arena, ST_WHILE, @1); $$->e = $2; $$->body = $3; $$ = sdeep(x, $$); }
    | if_stmt { $$ = $1; }
    | "break" ';' { $$ = lang_stmt_new(x->arena, ST_BREAK, @1); }
    | "continue" ';' { $$ = lang_stmt_new(x->arena, ST_CONTINUE, @1); }
    | block { $$ = $1; }
    | error ';' { $$ = NULL; }
    ;

if_stmt
    : "if" expr block
        { $$ = lang_stmt_new(x->arena, ST_IF, @1); $$->e = $2; $$->body = $3; $$ = sdeep(x, $$); }
    | "if" expr block "else" block
        { $$ = lang_stmt_new(x->arena, ST_IF, @1); $$->e = $2; $$->body = $3; $$->els = $5;
          $$ = sdeep(x, $$); }
    | "if" expr block "else" if_stmt
        { $$ = lang_stmt_new(x->arena, ST_IF, @1); $$->e = $2; $$->body = $3; $$->els = $5;
          $$ = sdeep(x, $$); }
    ;

expr
    : expr '@' expr { $$ = node(x, AST_ANNOT, @2, $1, $3); }
    | expr "||" expr { $$ = bin(x, @2, LANG_OP_LOR, $1, $3); }
    | expr "&&" expr { $$ = bin(x, @2, LANG_OP_LAND, $1, $3); }
    | expr '|' expr { $$ = bin(x, @2, LANG_OP_OR, $1, $3); }
    | expr '^' expr { $$ = bin(x, @2, LANG_OP_XOR, $1, $3); }
    | expr '&' expr { $$ = bin(x, @2, LANG_OP_AND, $1, $3); }
    | expr "==" expr { $$ = bin(x, @2, LANG_OP_EQ, $1, $3); }
    | expr "!=" expr { $$ = bin(x, @2, LANG_OP_NE, $1, $3); }
    | expr '<' expr { $$ = bin(x, @2, LANG_OP_LT, $1, $3); }
    | expr "<=" expr { $$ = bin(x, @2, LANG_OP_LE, $1, $3); }
    | expr '>' expr { $$ = bin(x, @2, LANG_OP_GT, $1, $3); }
    | expr ">=" expr { $$ = bin(x, @2, LANG_OP_GE, $1, $3); }
    | expr "<<" expr { $$ = bin(x, @2, LANG_OP_SHL, $1, $3); }
    | expr ">>" expr { $$ = bin(x, @2, LANG_OP_SHR, $1, $3); }
    | expr '+' expr { $$ = bin(x, @2, LANG_OP_ADD, $1, $3); }
    | expr '-' expr { $$ = bin(x, @2, LANG_OP_SUB, $1, $3); }
    | expr '*' expr { $$ = bin(x, @2, LANG_OP_MUL, $1, $3); }
    | expr '/' expr { $$ = bin(x, @2, LANG_OP_DIV, $1, $3); }
    | expr '%' expr { $$ = bin(x, @2, LANG_OP_REM, $1, $3); }
    | '-' expr %prec UNARY { $$ = un(x, @1, LANG_OP_NEG, $2); }
    | '!' expr %prec UNARY { $$ = un(x, @1, LANG_OP_NOT, $2); }
    | '~' expr %prec UNARY { $$ = un(x, @1, LANG_OP_BNOT, $2); }
    | postfix { $$ = $1; }
    ;

postfix
    : primary { $$ = $1; }
    | postfix '(' args ')'
        { $$ = node(x, AST_CALL, $1->loc, $1, NULL); $$->args = $3->args; $$->nargs = $3->nargs;
          $$->loc.end = @4.end;
          $$ = deep(x, $$); }
    | postfix '[' idx_list ']'
        { $$ = node(x, AST_INDEX, $1->loc, $1, NULL); $$->args = $3->args; $$->nargs = $3->nargs;
          $$ = deep(x, $$); }
    | postfix '[' ']'
        { $$ = node(x, AST_INDEX, $1->loc, $1, NULL); $$->loc.end = @3.end; }
    | postfix '.' IDENT { $$ = node(x, AST_MEMBER, @3, $1, NULL); $$->str = $3; }
    ;

primary
    : INTLIT { $$ = lang_ast_new(x->arena, AST_INT, @1); $$->ival = $1; }
    | FLOATLIT { $$ = lang_ast_new(x->arena, AST_FLOAT, @1); $$->fval = $1; }
    | BOOLLIT { $$ = lang_ast_new(x->arena, AST_BOOL, @1); $$->ival = $1; }
    | STRLIT { $$ = $1; $$->loc = @1; }
    | IDENT { $$ = name(x, @1, $1); }
    | '(' expr ')' { $$ = $2; }
    | '(' expr ',' args ')'
        { $$ = lang_ast_new(x->arena, AST_LIST, @1); lang_ast_push(x->arena, $$, $2);
          for (int i = 0; i < $4->nargs; i++) lang_ast_push(x->arena, $$, $4->args[i]);
          $$ = deep(x, $$); }
    | '[' args ']' { $$ = $2; $$->kind = AST_LIST; $$->loc = @1; }
    ;

args
    : %empty { $$ = lang_ast_new(x->arena, AST_LIST, @$); }
    | arg_list { $$ = $1; }
    | arg_list ',' { $$ = $1; }
    ;

arg_list
    : arg { $$ = lang_ast_new(x->arena, AST_LIST, @1); lang_ast_push(x->arena, $$, $1); }
    | arg_list ',' arg { $$ = $1; lang_ast_push(x->arena, $$, $3); $$ = deep(x, $$); }
    ;

arg
    : expr { $$ = $1; }
    | IDENT '=' expr { $$ = node(x, AST_KWARG, @1, $3, NULL); $$->str = $1; }
    ;

idx_list
    : idx { $$ = lang_ast_new(x->arena, AST_LIST, @1); lang_ast_push(x->arena, $$, $1); }
    | idx_list ',' idx { $$ = $1; lang_ast_push(x->arena, $$, $3); $$ = deep(x, $$); }
    ;

idx
    : expr { $$ = $1; }
    | expr ':' expr { $$ = node(x, AST_SLICE, @2, $1, $3); }
    | ':' { $$ = lang_ast_new(x->arena, AST_SLICE, @1); }
    ;

%%

typedef void *yyscan_t;
int lang_yylex_init_extra(LangLex *extra, yyscan_t *scanner);
int lang_yylex_destroy(yyscan_t scanner);
struct yy_buffer_state *lang_yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

bool lang_parse(LangArena *a, const LangSrc *src, AstFile **out, LangDiags *d)
{
    LangLex x = {.arena = a, .src = src, .diags = d, .line = 1, .col = 1};
    x.file = lang_alloc(a, sizeof *x.file);
    *out = x.file;
    if (src->len > (size_t)1 << 30) {
        lang_error(d, src, (LangLoc){.line = 1, .col = 1}, "source too large");
        return false;
    }
    int before = d->n;
    bool truncated = d->truncated;
    yyscan_t scanner;
    if (lang_yylex_init_extra(&x, &scanner))
        return false;
    lang_yy_scan_bytes(src->text, (int)src->len, scanner);
    int rc = lang_yyparse(scanner, &x);
    lang_yylex_destroy(scanner);
    return rc == 0 && x.nerrors == 0 && !x.stop && d->n == before && d->truncated == truncated;
}

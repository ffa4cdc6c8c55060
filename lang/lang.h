/* lang/lang.h - the kernel language: source text -> specialized VM IR.
 *
 * Read as the module's table of contents, in pipeline order:
 *
 *   source --lang_parse (lex.l, parse.y, ast.c)--> AST
 *          --lang_spec_bind (spec.c)--> compile-time parameter values
 *          --check (check.c statements, check_expr.c expressions,
 *            check_call.c / check_mem.c / check_layout.c built-in calls;
 *            private header check.h)--> VM IR built through vm_b_*
 *          --vm_verify, vm_infer_layouts, vm_verify--> a concrete Prog
 *
 * lang_compile (check.c) runs these stages in order. Nothing here prints or
 * exits: every user error becomes a LangDiag with a source location, and the
 * caller renders the list (lang_diags_render). The syntax is documented for
 * kernel authors in lang/README.md.
 *
 * Layering: lang/ depends on vm/ and layout/. */
#ifndef LPVM_LANG_H
#define LPVM_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout/layout.h"
#include "vm/vm.h"

/* ---------------------------------------------------------------- diag.c
 * Diagnostics: "file:line:col: error: message", the source line, and a caret
 * under the column. Lines and columns count from 1; columns count bytes. */
typedef struct {
    int line, col;
    int off, end; /* byte span [off, end) in the source */
} LangLoc;

typedef struct {
    const char *file; /* name used in messages */
    const char *text; /* the source text (not NUL-terminated necessarily) */
    size_t len;
} LangSrc;

typedef struct {
    char *file;
    int line, col;
    char *msg;
    char *src_line; /* copy of the source line (NULL when unknown) */
} LangDiag;

enum { LANG_MAX_DIAGS = 50 };

typedef struct {
    LangDiag *v;
    int n, cap;
    bool truncated; /* more than LANG_MAX_DIAGS errors were reported */
} LangDiags;

void lang_diags_init(LangDiags *d);
void lang_diags_free(LangDiags *d);
void lang_error(LangDiags *d, const LangSrc *src, LangLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Every diagnostic, rendered; malloc'd, the caller frees ("" when none). */
char *lang_diags_render(const LangDiags *d);

/* ---------------------------------------------------------------- ast.c
 * The syntax tree. Every node lives in one LangArena per compilation, freed
 * at once; nodes record their nesting depth so that deeply nested input is
 * rejected with an error instead of exhausting the stack of a later pass. */
typedef struct LangArena LangArena;
LangArena *lang_arena_new(void);
void *lang_alloc(LangArena *a, size_t n); /* zeroed */
char *lang_strndup(LangArena *a, const char *s, size_t n);
void lang_arena_free(LangArena *a);

enum { LANG_MAX_DEPTH = 200 };

typedef enum {
    AST_INT,    /* ival */
    AST_FLOAT,  /* fval */
    AST_BOOL,   /* ival 0/1 */
    AST_STR,    /* str, len (escapes resolved) */
    AST_NAME,   /* str */
    AST_UNARY,  /* op a */
    AST_BINARY, /* a op b */
    AST_CALL,   /* a(args): a is a NAME or a MEMBER */
    AST_INDEX,  /* a[args]: args are expressions or SLICEs */
    AST_MEMBER, /* a.str */
    AST_LIST,   /* [args] */
    AST_ANNOT,  /* a @ b: value a with layout b */
    AST_SLICE,  /* a : b (start : size); both NULL for a bare ':' */
    AST_KWARG,  /* str = a, in a call's arguments */
} AstKind;

/* Operators (op of UNARY / BINARY). */
#define LANG_OPS(X)                                                          \
    X(ADD, "+", 10) X(SUB, "-", 10) X(MUL, "*", 11) X(DIV, "/", 11)          \
    X(REM, "%", 11) X(SHL, "<<", 9) X(SHR, ">>", 9) X(LT, "<", 8)            \
    X(LE, "<=", 8) X(GT, ">", 8) X(GE, ">=", 8) X(EQ, "==", 7)               \
    X(NE, "!=", 7) X(AND, "&", 6) X(XOR, "^", 5) X(OR, "|", 4)               \
    X(LAND, "&&", 3) X(LOR, "||", 2) X(NEG, "-", 12) X(NOT, "!", 12)         \
    X(BNOT, "~", 12)
typedef enum {
#define X(id, s, prec) LANG_OP_##id,
    LANG_OPS(X)
#undef X
    LANG_NOPS
} LangOp;
const char *lang_op_str(LangOp op);
int lang_op_prec(LangOp op); /* binding power, higher binds tighter */

typedef struct Ast Ast;
struct Ast {
    AstKind kind;
    LangLoc loc;
    int depth;
    LangOp op;
    int64_t ival;
    double fval;
    const char *str;
    size_t len;
    Ast *a, *b;
    Ast **args;
    int nargs;
};

typedef enum {
    ST_LET,      /* let name = e */
    ST_VAR,      /* var name = e */
    ST_ASSIGN,   /* name = e */
    ST_EXPR,     /* e */
    ST_FOR,      /* for name in e (a range(...) call) body */
    ST_WHILE,    /* while e body */
    ST_IF,       /* if e body else els (els: NULL, a BLOCK or an IF) */
    ST_BREAK,
    ST_CONTINUE,
    ST_BLOCK,    /* { stmts } */
} StmtKind;

typedef struct Stmt Stmt;
struct Stmt {
    StmtKind kind;
    LangLoc loc;
    int depth;
    const char *name;
    LangLoc name_loc;
    Ast *e;
    Stmt *body, *els;
    Stmt **stmts; /* BLOCK */
    int nstmts;
};

typedef enum { LANG_CT_INT, LANG_CT_BOOL, LANG_CT_DTYPE } LangCtKind;
const char *lang_ct_kind_name(LangCtKind k);

typedef struct {
    const char *name;
    LangLoc loc;
    LangCtKind kind;
    Ast *def; /* default (a literal, a negated literal or a name), or NULL */
} AstCtParam;

typedef struct {
    const char *name;
    LangLoc loc;
    bool global; /* name: global dtype[shape] */
    Ast *type;   /* a NAME (scalar dtype) or an INDEX (dtype[shape]) */
} AstParam;

typedef struct {
    const char *name;
    LangLoc loc;
    AstCtParam *ct;
    int nct;
    AstParam *params;
    int nparams;
    Ast **attrs; /* grid(...), warps(...): CALL nodes */
    int nattrs;
    Stmt *body;
} AstKernel;

typedef struct {
    AstKernel **kernels;
    int nkernels;
} AstFile;

Ast *lang_ast_new(LangArena *a, AstKind k, LangLoc loc);
Ast *lang_ast_binary(LangArena *a, LangLoc loc, LangOp op, Ast *l, Ast *r);
void lang_ast_push(LangArena *a, Ast *n, Ast *arg); /* appends to args */
Stmt *lang_stmt_new(LangArena *a, StmtKind k, LangLoc loc);
void lang_stmt_push(LangArena *a, Stmt *block, Stmt *s);
/* Depth of a node from its children (after they are set). */
void lang_ast_fix_depth(Ast *n);
void lang_stmt_fix_depth(Stmt *s);
/* Where an expression starts in the text (its leftmost token). */
LangLoc lang_ast_start(const Ast *n);

/* ---------------------------------------------------------------- parse.y
 * Parse a whole file. On syntax errors the diagnostics are appended (several
 * per file where bison's recovery allows) and false is returned; *out is
 * still set to what was recovered. */
bool lang_parse(LangArena *a, const LangSrc *src, AstFile **out, LangDiags *d);

/* ---------------------------------------------------------------- spec.c
 * Specialization strings (VM.md 1): "name=value,name=value"; values are
 * integers, true/false or dtype names. */
typedef struct {
    LangCtKind kind;
    int64_t i; /* INT; BOOL as 0/1 */
    Dtype dt;  /* DTYPE */
} LangVal;

enum { LANG_MAX_SPEC = 32 };
typedef struct {
    int n;
    struct {
        char name[64];
        LangVal v;
        int col; /* column of the pair in the spec string */
    } kv[LANG_MAX_SPEC];
} LangSpec;

/* Syntax only: pairs and values. Errors are reported against the spec text
 * as a source named "<spec>". */
bool lang_spec_parse(const char *spec, LangSpec *out, LangDiags *d);
/* Bind to a kernel: every key known, no duplicates, kinds match, missing keys
 * filled from defaults (else an error). vals gets k->nct entries, in the
 * kernel's parameter order. */
bool lang_spec_bind(const AstKernel *k, const LangSrc *src, const char *spec, LangVal *vals,
                    LangDiags *d);
/* Canonical form: sorted by name, defaults filled ("bm=16,wt=u3");
 * malloc'd, NULL on error (with diagnostics). */
char *lang_spec_canonical(const AstKernel *k, const LangSrc *src, const char *spec,
                          LangDiags *d);
/* Print one value ("16", "true", "u3") into buf. */
int lang_val_print(LangVal v, char *buf, size_t n);

/* The "// spec:" lines of a file. A line "// spec: a=1,b=u3" applies to every
 * kernel of the file; "// spec: name: a=1" to kernel `name` only. */
typedef struct {
    char *kernel; /* NULL: every kernel */
    char *spec;
    int line;
} LangSpecLine;
/* Returns the number of lines; *out is malloc'd (free with lang_spec_lines_free). */
int lang_file_specs(const char *src, size_t len, LangSpecLine **out);
void lang_spec_lines_free(LangSpecLine *v, int n);

/* ---------------------------------------------------------------- check.c
 * The pipeline: parse, pick the kernel (NULL: the file's only kernel, or its
 * first), bind the specialization, check and build VM IR into the arena, then
 * vm_verify and vm_infer_layouts. */
typedef enum {
    LANG_OK = 0,
    LANG_ERR_SYNTAX,  /* the file does not parse */
    LANG_ERR_KERNEL,  /* no such kernel */
    LANG_ERR_SPEC,    /* bad specialization */
    LANG_ERR_CHECK,   /* type, shape or name errors */
    LANG_ERR_VERIFY,  /* the IR verifier or layout inference refused it */
} LangStatus;
const char *lang_status_str(LangStatus s);

/* Compile kernel `kernel` of a file for specialization `spec` into a new
 * Prog in arena `va`. On success *out holds one kernel whose layouts are all
 * known; else *out is NULL and the diagnostics say why. */
LangStatus lang_compile(VmArena *va, const char *src, size_t len, const char *filename,
                        const char *kernel, const char *spec, Prog **out, LangDiags *d);

/* The canonical specialization of kernel `kernel` of a file (the cache key
 * part): *out malloc'd on LANG_OK. */
LangStatus lang_canonical_spec(const char *src, size_t len, const char *filename,
                               const char *kernel, const char *spec, char **out, LangDiags *d);

/* Names of the kernels of a file, malloc'd array of malloc'd strings. */
LangStatus lang_list_kernels(const char *src, size_t len, const char *filename, char ***names,
                             int *n, LangDiags *d);
void lang_free_names(char **names, int n);

#endif

/* lang/check.h - private to the checker (check.c statements and kernels,
 * check_expr.c expressions and built-in calls).
 *
 * The checker walks the AST of one kernel once per specialization. Every
 * expression evaluates to a Val: a compile-time constant (int, bool, float
 * literal, dtype, type, layout, ...) or something in the IR (a scalar Expr, a
 * tensor Value, a Tile). Constants fold as they are met, so `bm / 16` is 4
 * and `if` on a constant checks only the branch it takes. IR is emitted
 * through the vm_b_* builder as the walk goes. */
#ifndef LPVM_LANG_CHECK_H
#define LPVM_LANG_CHECK_H

#include "lang/lang.h"

typedef enum {
    V_ERR,     /* an error was reported; propagates silently */
    V_VOID,    /* an instruction without result */
    V_INT,     /* compile-time integer (literal: converts implicitly) */
    V_BOOL,    /* compile-time bool */
    V_FLOAT,   /* float literal */
    V_STR,     /* string literal (printf) */
    V_DTYPE,   /* dt */
    V_TYPE,    /* dt[shape]: dims constant (shape) or runtime (eshape) */
    V_LAYOUT,  /* register layout */
    V_SLAYOUT, /* shared layout, or a constructor waiting for shape and dtype */
    V_MMA,     /* mma_m16n8k16(...): .a .b .c */
    V_NS,      /* bid, gdim */
    V_SCALAR,  /* runtime scalar Expr (i32, i64, f32, bool) */
    V_TENSOR,  /* Value: register, shared or global */
    V_TILE,    /* a window of a tensor, for memory instructions */
    V_TOPK,    /* topk result: .values .indices */
} VKind;

typedef enum { SL_LITERAL, SL_ROW, SL_COL, SL_PADDED, SL_SWIZZLED } SlKind;

typedef struct {
    VKind k;
    int64_t i;      /* INT, BOOL; NS: 0 bid, 1 gdim; SLAYOUT: padding */
    double f;       /* FLOAT */
    Dtype dt;       /* DTYPE, TYPE */
    const char *str; /* STR */
    size_t len;
    int rank;       /* TYPE */
    int32_t *shape; /* TYPE: constant dims (-1: runtime, see eshape) */
    Expr **eshape;  /* TYPE: runtime dims (NULL entries for constants) */
    Layout *lay;    /* LAYOUT */
    SharedLayout *sl; /* SLAYOUT (SL_LITERAL) */
    SlKind slk;
    LayMma *mma;    /* MMA */
    Expr *e;        /* SCALAR */
    Value *v, *v2;  /* TENSOR; TOPK */
    Tile *tile;     /* TILE */
} Val;

typedef struct {
    const char *name;
    Val val;
    Var *var; /* `var`: assignable */
    LangLoc loc;
    int scope;
    int prev; /* the symbol this one shadows (index), or -1 */
} Sym;

/* name -> index of its innermost symbol (-1: none); open addressing */
typedef struct {
    const char *name;
    int sym;
} SymSlot;

typedef struct {
    LangArena *la;
    VmArena *va;
    const LangSrc *src;
    LangDiags *d;
    const AstKernel *ak;
    const LangVal *ct;
    Prog *prog;
    Kernel *k;
    const char *vfile;
    Sym *syms;
    int nsyms, capsyms, scope;
    SymSlot *tab; /* power-of-two size ntab, at most half full */
    int ntab, ntabused;
    int loops;
    int body_scope; /* the scope of the kernel body's top level */
    int nthreads;
    int errors_at_start;
    bool truncated_at_start;
    const char *let_name; /* the name a `let` is binding, for load_scalar */
    const Layout *pending; /* an annotation on a view call, passed down */
    Value **freed;        /* shared tensors released by shared_free */
    int nfreed, capfreed;
} Chk;

/* check.c */
Val lang_chk_err(Chk *c, LangLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
Sym *lang_chk_lookup(Chk *c, const char *name);
void lang_chk_bind(Chk *c, const char *name, LangLoc loc, Val v, Var *var);
void lang_chk_loc(Chk *c, LangLoc loc);
bool lang_chk_failed(const Chk *c);

/* check_expr.c */
Val lang_chk_expr(Chk *c, const Ast *e);
/* Conversions; each reports its own error and returns NULL / false. */
Expr *lang_chk_scalar(Chk *c, Val v, Dtype hint, LangLoc loc);
bool lang_chk_const_int(Chk *c, Val v, LangLoc loc, const char *what, int64_t *out);
Value *lang_chk_tensor(Chk *c, Val v, Dtype hint, LangLoc loc);
const char *lang_chk_kind_name(const Val *v);
bool lang_chk_tile(Chk *c, const Ast *e, Value *base, Tile *t);
Val lang_chk_tensor_binary(Chk *c, LangLoc loc, Op op, Val a, Val b);
bool lang_chk_is_scalar_dtype(Dtype dt);

/* check_call.c: arguments of a call, split into positional and keyword */
typedef struct {
    const Ast *call;
    const char *name;
    const Ast **pos;
    int npos;
    const Ast **kw;
    int nkw;
} Args;

Val lang_chk_mk(VKind k);
Val lang_chk_vtensor(Value *x);
Val lang_chk_vscalar(Expr *e);
Val lang_chk_vlayout(Chk *c, Layout L);
const Ast *lang_chk_kwarg(const Args *a, const char *name);
/* arity and allowed keyword names ("mask,other"); reports, returns false */
bool lang_chk_arity(Chk *c, const Args *a, int min, int max, const char *kws);
bool lang_chk_pos_int(Chk *c, const Args *a, int i, const char *what, int64_t lo, int64_t hi,
                 int64_t *out);
bool lang_chk_ast_int(Chk *c, const Ast *e, const char *what, int64_t lo, int64_t hi, int64_t *out);
int lang_chk_int_list(Chk *c, const Ast *e, const char *what, int max, int64_t lo, int32_t *out);
Value *lang_chk_reg_arg(Chk *c, const Args *a, int i, Dtype hint);
bool lang_chk_dtype_arg(Chk *c, const Ast *e, Dtype *dt);
bool lang_chk_type_arg(Chk *c, const Ast *e, Val *t, bool runtime_ok);

/* The built-in calls, one checker each (check_call.c, check_mem.c,
 * check_layout.c): lang_chk_f_<name>. */
#define LANG_BUILTINS(X)                                                          \
    X(local) X(spatial) X(column_local) X(column_spatial) X(replicate)       \
    X(layout) X(shared) X(padded) X(mma_tile) X(mma_m16n8k16) X(mma_m16n8k32) \
    X(cdiv) X(min) X(max) X(select) X(bits) X(signed) X(cast)                \
    X(load_global) X(store_global) X(gather) X(load_scalar) X(load_shared)   \
    X(store_shared) X(copy_async) X(shared_alloc) X(shared_free)             \
    X(global_view) X(workspace) X(commit) X(wait) X(sync) X(exit)            \
    X(view) X(fma) X(where) X(dot) X(reduce_sum) X(reduce_max) X(reduce_min) \
    X(argmax) X(topk) X(cumsum) X(broadcast) X(reshape) X(permute)           \
    X(transpose) X(slice) X(concat) X(atomic_add) X(lock) X(release)         \
    X(zeros) X(full) X(arange) X(rand) X(printf) X(print) X(assume)
#define X(n) Val lang_chk_f_##n(Chk *c, Args *a);
LANG_BUILTINS(X)
#undef X

Val lang_chk_call(Chk *c, const Ast *e);
Val lang_chk_named(Chk *c, const Ast *e, const char *name); /* a name no scope binds */
Val lang_chk_annotate(Chk *c, const Ast *e);                /* e @ layout */
void lang_chk_type_str(const Val *v, char *buf, size_t n);

#endif

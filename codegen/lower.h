/* codegen/lower.h - private to codegen/lower*.c: the lowering context and
 * the helpers the lowering files share (the module's public entry points are
 * in codegen/codegen.h). Like layout/work.h, not a module header.
 *
 * Register tensors: a VM register Value becomes a CgTensor, one TIR register
 * per local element (element type from cg_elem_type). Coordinates of local
 * element l in thread t are base_d(t) + cst[l][d] (lay_symbolic_apply: the
 * thread terms of a dim do not depend on l). */
#ifndef LPVM_CODEGEN_LOWER_H
#define LPVM_CODEGEN_LOWER_H

#include "codegen/codegen.h"

typedef struct {
    int n;  /* local elements; 0: not lowered */
    int *r; /* n registers */
} CgTensor;

/* Per-thread coordinates of a register layout's elements. */
typedef struct {
    int rank, n;
    int base[VM_MAX_DIMS]; /* s32 register (or -1: 0) per dim */
    int32_t *cst;          /* n * rank constants */
} CgCoords;

typedef struct {
    VmArena *a;
    Kernel *k;
    TirKernel *t;
    VmDiags *d;
    CgOptions opt;
    TirBlock *cur;
    int line;
    int tid;      /* u32 tid.x */
    int nthreads;
    CgTensor *vals;   /* by Value id */
    int *svar;        /* scalar Var id -> register */
    int *gbase;       /* GLOBAL Value id -> u64 base register, -1 */
    int *param_reg;   /* Param index -> register */
    VmSharedPlan plan;
    int64_t scratch;  /* bytes of scratch needed above plan.size */
    bool failed;
} CgLower;

/* lower.c: emission helpers */
TirOp *cg_emit(CgLower *L, TirOpcode op, TirType type);
int cg_reg(CgLower *L, TirType t, const char *name);
TirArg cg_R(int reg);
TirArg cg_I(int64_t v);
int cg_op(CgLower *L, TirOpcode op, TirType t, int na, const TirArg *a);
int cg_op1(CgLower *L, TirOpcode op, TirType t, TirArg a);
int cg_op2(CgLower *L, TirOpcode op, TirType t, TirArg a, TirArg b);
int cg_op3(CgLower *L, TirOpcode op, TirType t, TirArg a, TirArg b, TirArg c);
void cg_mov(CgLower *L, int dst, TirArg src);
int cg_setp(CgLower *L, TirCmp c, TirType t, TirArg a, TirArg b);
int cg_selp(CgLower *L, TirType t, TirArg a, TirArg b, int pred);
int cg_cvt(CgLower *L, TirType to, TirType from, TirRnd rnd, bool sat, TirArg a);
int cg_bitcast(CgLower *L, TirType to, TirType from, TirArg a);
int cg_pand(CgLower *L, int p, int q); /* p && q; -1 counts as true */
TirOp *cg_if(CgLower *L, int pred, bool neg); /* opens; cg_end closes */
void cg_enter(CgLower *L, TirBlock *b, TirBlock **saved);
bool cg_fail(CgLower *L, const Inst *i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cg_bar(CgLower *L);

TirType cg_elem_type(Dtype dt);
int cg_expr(CgLower *L, const Expr *e);              /* typed cg_elem_type(e->dtype) */
int cg_expr_s32(CgLower *L, const Expr *e);          /* integer expr as s32 */
CgTensor cg_new_tensor(CgLower *L, int n, Dtype dt, const char *name);
CgTensor *cg_val(CgLower *L, const Value *v);        /* lowered tensor or NULL */
void cg_coords(CgLower *L, Layout lay, CgCoords *c);
int cg_coord(CgLower *L, const CgCoords *c, int l, int d); /* s32 register */
int cg_replica_pred(CgLower *L, Layout lay);         /* pred or -1 (no replicas) */
/* x's elements in the layout `lay` of a result of shape (rank, shape) that x
 * broadcasts to: registers, through registers where each result element's
 * source is held by the same thread at a constant local index, else through
 * shared memory. NULL after a failure. */
int *cg_operand(CgLower *L, const Inst *i, const Value *x, Layout lay, int rank,
                const int32_t *shape);
/* Moves a tensor given as (src regs in layout from, of shape sshape) into
 * layout `to` of shape tshape through shared scratch, where element index
 * of the target maps to the source index sum_d (c_d * smul[d]) + soff
 * (row-major linear in the source image). */
int *cg_through_shared(CgLower *L, Dtype dt, const int *src, Layout from, int srank,
                       const int32_t *sshape, Layout to, const int64_t *smul, int64_t soff);
/* x's elements in layout `to`, where target index r takes x's row-major
 * element soff + sum_d r_d * smul[d] (broadcast, reshape, permute, slice). */
int *cg_remap(CgLower *L, const Inst *i, const Value *x, Layout to, const int64_t *smul,
              int64_t soff);
/* The same for registers src of dtype dt in layout `from`, shape (srank, sshape). */
int *cg_remap_regs(CgLower *L, const int *src, Dtype dt, Layout from, int srank,
                   const int32_t *sshape, Layout to, const int64_t *smul, int64_t soff);
/* Scratch images: element with coordinates c of a tensor in layout from
 * (to) is at slot off + sum_d c_d * mul[d], from byte base. The store is
 * done by the lowest replica; barriers are the caller's. */
void cg_scratch_store(CgLower *L, Dtype dt, const int *src, Layout from, const int64_t *mul,
                      int64_t off, int64_t base);
int *cg_scratch_load(CgLower *L, Dtype dt, Layout to, const int64_t *mul, int64_t off,
                     int64_t base);
/* the same with off_reg (s32 register, -1: none) slots added at run time */
int *cg_scratch_load_at(CgLower *L, Dtype dt, Layout to, const int64_t *mul, int64_t off,
                        int off_reg, int64_t base);
int64_t cg_scratch(CgLower *L, int64_t bytes);       /* offset of the scratch area */
int cg_slot_bytes(Dtype dt);                          /* bytes per element in scratch */
void cg_st_slot(CgLower *L, Dtype dt, TirArg addr, int64_t off, int reg, int guard);
int cg_ld_slot(CgLower *L, Dtype dt, TirArg addr, int64_t off);
bool cg_block(CgLower *L, const Block *b);

/* lower_mem.c */
bool cg_lower_mem(CgLower *L, const Inst *i);
int cg_global_base(CgLower *L, const Value *g);
/* A tile of a global tensor: per base dim the start, size and stride (s32
 * registers) and the tile result dim (-1: dropped). */
typedef struct {
    const Value *g;
    const Tile *tile;
    int rank;
    int start[VM_MAX_DIMS]; /* -1: 0 */
    int size[VM_MAX_DIMS];
    int stride[VM_MAX_DIMS];
    int tmap[VM_MAX_DIMS];
} CgGTile;
bool cg_gtile_init(CgLower *L, const Inst *i, const Tile *t, CgGTile *G);
/* global coordinates (s32) of element l of a tile distributed by c */
void cg_gtile_coords(CgLower *L, const CgGTile *G, const CgCoords *c, int l, int *gc);
/* byte address (u64), bit shift (u32 or -1) and in-bounds pred of gc */
void cg_gtile_addr(CgLower *L, const CgGTile *G, const int *gc, int *addr, int *sh, int *inb);

/* lower_arith.c */
bool cg_lower_arith(CgLower *L, const Inst *i);
int cg_binop(CgLower *L, const Inst *i, Op op, Dtype dt, int a, int b);
int cg_unop(CgLower *L, const Inst *i, Op op, Dtype dt, int a);
int cg_to_code(CgLower *L, Dtype dt, int reg);   /* u32 (u64 for 64-bit dtypes) */
int cg_from_code(CgLower *L, Dtype dt, int code);

/* lower_conv.c */
int cg_cast(CgLower *L, Dtype to, Dtype from, int reg);
int cg_float_to_f32(CgLower *L, Dtype from, int reg); /* exact widening */
/* cast(view(words, int of <= 8 bits), f16/bf16/f32) a word at a time;
 * false: not this pattern (nothing emitted) */
bool cg_cast_packed(CgLower *L, const Inst *i);
/* {lo, hi} (registers of type et) = the halves of pair (type pt) */
void cg_split_pair(CgLower *L, TirType et, TirType pt, int pair, int *lo, int *hi);
/* lop3.b32 of register a and immediates b, c with LUT lut */
int cg_lop3(CgLower *L, int a, uint32_t b, uint32_t c, int lut);

/* lower_conv_fields.c: n codes of eb bits (1..7 but 4; eb n a multiple of
 * 32), code j at bits [j eb, +eb) of the words w[] (u32 registers), signed
 * or not, -> registers out[] of to (f16, bf16 or f32), exact */
void cg_fields_convert(CgLower *L, Dtype to, bool sgn, int eb, const int *w, int n, int *out);

/* lower_reduce.c */
bool cg_lower_reduce(CgLower *L, const Inst *i);

/* lower_vec.c: known power-of-two divisibility (log2, CG_DIV_ANY for 0)
 * from constants, assume facts, loop steps and CgOptions.div16, and the
 * vector width of a run of a global tile's elements. */
enum { CG_DIV_ANY = 30 };
int cg_div_log2(CgLower *L, const Expr *e);
int cg_base_align_log2(CgLower *L, const Value *g); /* of the base address */
/* Elements l.. of tile G (distributed by lay) that one access may cover:
 * contiguous in memory, aligned, bounds check uniform, mask regs (may be
 * NULL) equal; a power of two with v * bytes <= max_bytes; 1 when nothing
 * is known. Sub-byte dtypes: whole bytes from a byte boundary, *align (may
 * be NULL) the log2 alignment of the first byte's address. */
int cg_gvec(CgLower *L, const CgGTile *G, Layout lay, int l, const int *mask, int max_bytes,
            int *align);

/* lower_mma.c: tensor cores and ldmatrix when the layouts divide by the
 * atoms; false (nothing emitted) when they do not and the plain lowering
 * runs. true with L->failed set after a failure once decided. */
bool cg_dot_mma(CgLower *L, const Inst *i);
bool cg_load_shared_ldmatrix(CgLower *L, const Inst *i);

/* lower_misc.c */
bool cg_lower_misc(CgLower *L, const Inst *i);

#endif

/* tests/test_interp.h - helpers shared by the interpreter tests
 * (test_interp*.c): a kernel under construction, tensor parameters of
 * constant shape, whole-tensor loads and stores, launching with the output
 * collected, a fixed-seed generator and an independent bit-stream reader
 * for checking packed memory. */
#ifndef LPVM_TEST_INTERP_H
#define LPVM_TEST_INTERP_H

#include <criterion/criterion.h>
#include <string.h>

#include "vm/vm.h"

typedef struct {
    VmArena *a;
    Prog *p;
    Kernel *k;
    VmDiags d;
    VmText out;
    uint64_t max_steps;
} T;

static inline T setup(int warps)
{
    T t;
    memset(&t, 0, sizeof t);
    t.a = vm_arena_new();
    t.p = vm_prog_new(t.a);
    t.k = vm_kernel_new(t.p, "k", (VmLoc){"test.lpk", 1, 1});
    vm_set_warps(t.k, warps);
    vm_diags_init(&t.d, t.a);
    return t;
}

static inline void done(T *t)
{
    vm_text_free(&t->out);
    vm_arena_free(t->a);
}

static inline void at(T *t, int line)
{
    vm_set_loc(t->k, (VmLoc){"test.lpk", line, 5});
}

static inline const char *msgs(T *t)
{
    static char buf[4096];
    buf[0] = 0;
    for (int i = 0; i < t->d.n; i++) {
        char line[600];
        vm_diag_format(&t->d.v[i], line, sizeof line);
        strncat(buf, line, sizeof buf - strlen(buf) - 2);
        strcat(buf, "\n");
    }
    return buf;
}

static inline Layout P(const char *s)
{
    Layout L;
    int pos;
    char err[128];
    cr_assert_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_OK, "%s: %s", s, err);
    return L;
}

/* a global tensor parameter of constant shape */
static inline Value *gten(T *t, const char *name, Dtype dt, int rank, const int32_t *shape)
{
    Expr *e[VM_MAX_DIMS];
    for (int d = 0; d < rank; d++)
        e[d] = vm_e_i32(t->k, shape[d]);
    return vm_param_tensor(t->k, name, dt, rank, e)->value;
}

static inline Value *gvec(T *t, const char *name, Dtype dt, int n)
{
    return gten(t, name, dt, 1, (int32_t[]){n});
}

/* the tile g[0 : n0, 0 : n1, ...] of a constant-shape parameter */
static inline Tile whole(Value *g)
{
    Tile tl = vm_tile(g);
    for (int d = 0; d < g->rank; d++) {
        int64_t n = 0;
        cr_assert(vm_e_const_int(g->gshape[d], &n));
        vm_tile_range(&tl, d, NULL, (int32_t)n);
    }
    return tl;
}

static inline Value *load(T *t, Value *g)
{
    return vm_b_load_global(t->k, whole(g), NULL, NULL);
}

static inline void store(T *t, Value *g, Value *v)
{
    vm_b_store_global(t->k, whole(g), v, NULL);
}

static inline VmArg arg(void *data, Dtype dt, int rank, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= shape[d];
    return vm_arg_tensor(data, vm_packed_bytes(dt, (size_t)n), rank, shape);
}

static inline VmArg avec(void *data, Dtype dt, int64_t n)
{
    return arg(data, dt, 1, &n);
}

static inline bool launch(T *t, const VmArg *args, int n)
{
    VmInterpOptions o = {.text = &t->out, .max_steps = t->max_steps};
    return vm_interp_launch(t->k, args, n, &o, &t->d);
}

static inline void launch_ok(T *t, const VmArg *args, int n)
{
    cr_assert(launch(t, args, n), "launch failed: %s", msgs(t));
    cr_assert_eq(t->d.n, 0);
}

/* launch must fault with a message containing want, at line */
static inline void launch_fault(T *t, const VmArg *args, int n, const char *want, int line)
{
    cr_assert_not(launch(t, args, n), "launch succeeded, expected \"%s\"", want);
    cr_assert_eq(t->d.n, 1, "%s", msgs(t));
    cr_assert(strstr(t->d.v[0].msg, want), "fault \"%s\", expected \"%s\"", t->d.v[0].msg, want);
    if (line)
        cr_assert_eq(t->d.v[0].loc.line, line, "fault at line %d, expected %d: %s",
                     t->d.v[0].loc.line, line, t->d.v[0].msg);
}

static inline uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static inline float rndf(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd(s) & 0xFFFFFF) / 16777216.0f;
}

/* bit by bit, independent of vm_bits_get */
static inline uint64_t getbits(const uint8_t *p, int64_t bit, int w)
{
    uint64_t v = 0;
    for (int j = 0; j < w; j++)
        v |= (uint64_t)((p[(bit + j) / 8] >> ((bit + j) % 8)) & 1) << j;
    return v;
}

static inline void setbits(uint8_t *p, int64_t bit, int w, uint64_t v)
{
    for (int j = 0; j < w; j++) {
        int64_t b = bit + j;
        p[b / 8] = (uint8_t)((p[b / 8] & ~(1 << (b % 8))) | (((v >> j) & 1) << (b % 8)));
    }
}

static inline uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif

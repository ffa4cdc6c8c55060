/* tests/test_vec.c - vectorized global accesses (CODEGEN.md 1) and the
 * runtime's divisibility specialization (VM.md 1): the widths the lowering
 * picks for each divisibility class, and that each class's code computes
 * what the interpreter computes (CPU TIR evaluator, which faults on
 * misaligned accesses as the hardware does). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "runtime/runtime.h"
#include "tests/tir_eval.h"

static char *read_file(const char *name)
{
    const char *root = getenv("LPVM_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    cr_assert(s && fread(s, 1, (size_t)len, f) == (size_t)len);
    s[len] = 0;
    fclose(f);
    return s;
}

static Kernel *compile(VmArena *a, const char *src, const char *kernel, const char *spec)
{
    LangDiags d;
    lang_diags_init(&d);
    Prog *p = NULL;
    LangStatus st = lang_compile(a, src, strlen(src), "test.lpk", kernel, spec, &p, &d);
    char *msg = st == LANG_OK ? NULL : lang_diags_render(&d);
    cr_assert_eq(st, LANG_OK, "%s", msg ? msg : "");
    lang_diags_free(&d);
    return p->kernels[0];
}

static TirKernel *lower(VmArena *a, Kernel *k, uint64_t div16)
{
    VmDiags d;
    vm_diags_init(&d, a);
    CgOptions opt = {.sm = 90, .div16 = div16};
    TirKernel *t = NULL;
    cr_assert_eq(cg_lower(k, &opt, a, &t, &d), CG_OK);
    char err[256];
    cr_assert(tir_verify(t, err, sizeof err), "%s", err);
    return t;
}

static uint64_t bit_of(const Kernel *k, const char *name)
{
    for (int j = 0; j < k->nparams; j++)
        if (!strcmp(k->params[j]->name, name))
            return 1ull << j;
    cr_assert_fail("no param %s", name);
    return 0;
}

/* LD (ST) ops of a space of each width: n[width], recursively. */
static void space_widths(const TirBlock *b, TirOpcode op, TirSpace sp, int *n)
{
    for (const TirOp *o = b->first; o; o = o->next) {
        if (o->op == op && o->space == sp && o->width <= 16)
            n[o->width]++;
        space_widths(&o->body, op, sp, n);
        space_widths(&o->orelse, op, sp, n);
    }
}

static void widths(const TirBlock *b, TirOpcode op, int *n)
{
    space_widths(b, op, TIR_SPACE_GLOBAL, n);
}

/* Runs k with div16 of the arguments' own class on the TIR evaluator and on
 * the interpreter; the tensors' bytes must be equal afterwards. */
static void run_both(VmArena *a, Kernel *k, VmArg *targs, VmArg *iargs, int nargs, uint64_t *cls)
{
    VmDiags d;
    vm_diags_init(&d, a);
    int64_t vals[16], grid[3];
    cr_assert(vm_launch_bind(k, iargs, nargs, vals, grid, &d));
    for (int j = 0, arg = 0; j < k->nparams; j++) {
        if (k->params[j]->kind == VM_P_TENSOR)
            targs[arg].i = (int64_t)(uintptr_t)targs[arg].data;
        arg += !k->params[j]->implicit;
    }
    *cls = rt_gpu_div16(k, targs, vals);
    TirKernel *t = lower(a, k, *cls);
    uint64_t pv[16];
    TeBuf tb[16];
    int nb = 0;
    for (int j = 0, arg = 0; j < k->nparams; j++) {
        const Param *p = k->params[j];
        if (p->kind == VM_P_TENSOR) {
            pv[j] = (uint64_t)targs[arg].i;
            tb[nb++] = (TeBuf){targs[arg].data, targs[arg].nbytes};
        } else {
            pv[j] = (uint64_t)vals[j];
        }
        arg += !p->implicit;
    }
    int g[3] = {(int)grid[0], (int)grid[1], (int)grid[2]};
    TeVm ev;
    bool ok = te_run(&ev, t, pv, tb, nb, g);
    cr_assert(ok, "TIR evaluation: %s", ev.msg);
    te_free(&ev);
    VmInterpOptions io = {0};
    VmText text = {0};
    io.text = &text;
    cr_assert(vm_interp_launch(k, iargs, nargs, &io, &d));
    vm_text_free(&text);
    for (int j = 0; j < nargs; j++)
        if (iargs[j].data)
            cr_assert(!memcmp(targs[j].data, iargs[j].data, iargs[j].nbytes),
                      "argument %d differs", j);
}

static uint8_t *rand_bytes(size_t n, uint64_t seed)
{
    uint8_t *p = aligned_alloc(16, (n + 15) & ~(size_t)15);
    for (size_t j = 0; j < n; j++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[j] = (uint8_t)(seed >> 56);
    }
    return p;
}

Test(vec, vadd_widths_follow_divisibility)
{
    VmArena *a = vm_arena_new();
    char *src = read_file("samples/kernels/vadd.lpk");
    Kernel *k = compile(a, src, "vadd", "block=1024");
    uint64_t ptrs = bit_of(k, "x") | bit_of(k, "y") | bit_of(k, "z"), n = bit_of(k, "n");
    int all[17] = {0}, no_n[17] = {0}, none[17] = {0}, st_all[17] = {0}, st_no_n[17] = {0};
    TirKernel *t = lower(a, k, ptrs | n);
    widths(&t->body, TIR_OP_LD, all);
    widths(&t->body, TIR_OP_ST, st_all);
    t = lower(a, k, ptrs);
    widths(&t->body, TIR_OP_LD, no_n);
    widths(&t->body, TIR_OP_ST, st_no_n);
    widths(&lower(a, k, n)->body, TIR_OP_LD, none);
    /* 1024 f32 over 128 threads: 8 contiguous per thread = two v4 loads
     * per operand when n % 16 == 0 and the pointers are 16-byte aligned */
    cr_assert_eq(all[16], 4);
    cr_assert_eq(all[4], 0);
    cr_assert_eq(st_all[16], 2);
    cr_assert_eq(no_n[16], 0);
    cr_assert_eq(no_n[4], 16);
    cr_assert_eq(st_no_n[4], 8);
    cr_assert_eq(none[16] + none[8], 0, "unaligned pointers: no vector loads");
    free(src);
    vm_arena_free(a);
}

Test(vec, vadd_both_classes_match_interpreter)
{
    VmArena *a = vm_arena_new();
    char *src = read_file("samples/kernels/vadd.lpk");
    const char *specs[2] = {"block=1024", "dt=f16,block=256"};
    for (int s = 0; s < 2; s++) {
        Kernel *k = compile(a, src, "vadd", specs[s]);
        int eb = s ? 2 : 4;
        int64_t ns[3] = {4096, 1000, 4104};
        uint64_t seen[3];
        for (int c = 0; c < 3; c++) {
            int64_t n = ns[c];
            size_t bytes = (size_t)n * (size_t)eb;
            uint8_t *x = rand_bytes(bytes, 1 + (uint64_t)c), *y = rand_bytes(bytes, 7);
            if (s) /* finite f16 codes only: clear the top exponent bit */
                for (size_t j = 1; j < bytes; j += 2)
                    x[j] &= 0xBF, y[j] &= 0xBF;
            uint8_t *z1 = calloc(bytes, 1), *z2 = calloc(bytes, 1);
            VmArg targs[3] = {vm_arg_tensor(x, bytes, 1, &n), vm_arg_tensor(y, bytes, 1, &n),
                              vm_arg_tensor(z1, bytes, 1, &n)};
            VmArg iargs[3] = {vm_arg_tensor(x, bytes, 1, &n), vm_arg_tensor(y, bytes, 1, &n),
                              vm_arg_tensor(z2, bytes, 1, &n)};
            run_both(a, k, targs, iargs, 3, &seen[c]);
            cr_assert(!memcmp(z1, z2, bytes), "spec %s n=%lld", specs[s], (long long)n);
            free(x);
            free(y);
            free(z1);
            free(z2);
        }
        uint64_t nb = bit_of(k, "n");
        cr_assert(seen[0] & nb);
        cr_assert(!(seen[1] & nb));
        cr_assert(!(seen[2] & nb), "4104 is not a multiple of 16");
    }
    free(src);
    vm_arena_free(a);
}

/* Each lane owns 16 contiguous bytes of a u8 row: one 16-byte load (four
 * words), stores in 8 bytes. */
static const char *bytes_src =
    "kernel cp8(x: global u8[n, k], y: global u8[n, k]) grid(cdiv(n, 4)) warps(4)\n"
    "{\n"
    "    assume(k % 512 == 0);\n"
    "    let r0 = bid.x * 4;\n"
    "    for k0 in range(0, k, 512) {\n"
    "        let b = load_global(x[r0 : 4, k0 : 512]) @ spatial(4, 32) * local(1, 16);\n"
    "        store_global(y[r0 : 4, k0 : 512], b + b);\n"
    "    }\n"
    "}\n";

Test(vec, u8_rows_load_16_bytes)
{
    VmArena *a = vm_arena_new();
    Kernel *k = compile(a, bytes_src, "cp8", "");
    uint64_t ptrs = bit_of(k, "x") | bit_of(k, "y");
    int ld[17] = {0}, st[17] = {0}, ld0[17] = {0};
    TirKernel *t = lower(a, k, ptrs);
    widths(&t->body, TIR_OP_LD, ld);
    widths(&t->body, TIR_OP_ST, st);
    widths(&lower(a, k, 0)->body, TIR_OP_LD, ld0);
    cr_assert_eq(ld[16], 1);
    cr_assert_eq(ld[1], 0);
    cr_assert_eq(st[8], 2);
    cr_assert_eq(ld0[1], 16, "unaligned base: per byte");
    int64_t sh[2] = {6, 1024};
    size_t bytes = 6 * 1024;
    uint8_t *x = rand_bytes(bytes, 3), *y1 = calloc(bytes, 1), *y2 = calloc(bytes, 1);
    VmArg targs[2] = {vm_arg_tensor(x, bytes, 2, sh), vm_arg_tensor(y1, bytes, 2, sh)};
    VmArg iargs[2] = {vm_arg_tensor(x, bytes, 2, sh), vm_arg_tensor(y2, bytes, 2, sh)};
    uint64_t cls;
    run_both(a, k, targs, iargs, 2, &cls);
    cr_assert_eq(cls & ptrs, ptrs);
    cr_assert(!memcmp(y1, y2, bytes));
    free(x);
    free(y1);
    free(y2);
    vm_arena_free(a);
}

Test(vec, gemv_u4_weight_loads_are_16_bytes)
{
    VmArena *a = vm_arena_new();
    char *src = read_file("samples/kernels/gemv_u3.lpk");
    Kernel *k = compile(a, src, "gemv", "wt=u4,group=64");
    uint64_t all = (1ull << k->nparams) - 1;
    TirKernel *t = lower(a, k, all);
    int ld[17] = {0};
    widths(&t->body, TIR_OP_LD, ld);
    /* each lane's codes of a row are 16 contiguous bytes of w (four-word
     * loads), x too; no byte loads left */
    cr_assert_geq(ld[16], 2);
    cr_assert_eq(ld[1], 0, "no byte loads of w left");
    free(src);
    vm_arena_free(a);
}

Test(vec, divisibility_class_is_in_the_cache_key)
{
    VmArena *a = vm_arena_new();
    char *src = read_file("samples/kernels/vadd.lpk");
    Kernel *k = compile(a, src, "vadd", "block=1024");
    char *k0 = rt_gpu_cache_key(k, "sm_90", false, 0, 0);
    char *k1 = rt_gpu_cache_key(k, "sm_90", false, 0, 0xF);
    char *k1b = rt_gpu_cache_key(k, "sm_90", false, 0, 0xF);
    cr_assert(k0 && k1 && k1b);
    cr_assert_str_neq(k0, k1);
    cr_assert_str_eq(k1, k1b);
    cr_assert(strstr(k1, "div16=f"));
    free(k0);
    free(k1);
    free(k1b);
    free(src);
    vm_arena_free(a);
}

/* copy_async through a swizzled tile, two groups in flight: wait(1) retires
 * the older one only. */
static const char *async_src =
    "kernel cpa(x: global f16[m, k], y: global f16[m, k]) grid(cdiv(m, 32)) warps(4)\n"
    "{\n"
    "    let s = shared_alloc(f16[2, 32, 64], swizzled_row_major);\n"
    "    let r0 = bid.x * 32;\n"
    "    copy_async(s[0, 0 : 32, 0 : 64], x[r0 : 32, 0 : 64]);\n"
    "    commit();\n"
    "    for k0 in range(0, k, 64) {\n"
    "        let st = (k0 / 64) % 2;\n"
    "        copy_async(s[1 - st, 0 : 32, 0 : 64], x[r0 : 32, k0 + 64 : 64]);\n"
    "        commit();\n"
    "        wait(1);\n"
    "        sync();\n"
    "        let t = load_shared(s[st, 0 : 32, 0 : 64]);\n"
    "        store_global(y[r0 : 32, k0 : 64], t);\n"
    "        sync();\n"
    "    }\n"
    "    wait(0);\n"
    "    shared_free(s);\n"
    "}\n";

Test(vec, copy_async_is_cp_async_and_matches_interpreter)
{
    VmArena *a = vm_arena_new();
    Kernel *k = compile(a, async_src, "cpa", "");
    uint64_t all = bit_of(k, "x") | bit_of(k, "y") | bit_of(k, "k");
    TirKernel *t = lower(a, k, all);
    cr_assert_gt(tir_count(t, TIR_OP_CP_ASYNC), 0);
    cr_assert_eq(tir_count(t, TIR_OP_CP_COMMIT), 2);
    cr_assert_eq(tir_count(t, TIR_OP_CP_WAIT), 2);
    cr_assert_eq(tir_count(lower(a, k, 0), TIR_OP_CP_ASYNC), 0, "unaligned: plain copies");
    /* the swizzle (16-byte chunks) keeps 8 f16 contiguous: 16-byte ld.shared */
    int sld[17] = {0};
    space_widths(&t->body, TIR_OP_LD, TIR_SPACE_SHARED, sld);
    cr_assert_gt(sld[16], 0);
    cr_assert_eq(sld[2], 0);
    char *text = tir_print_alloc(t);
    cr_assert(strstr(text, "cp.async.cg.w16 ["), "%s", text);
    TirKernel *back = NULL;
    char err[256];
    cr_assert(tir_parse(a, text, &back, err, sizeof err), "%s", err);
    char *again = tir_print_alloc(back);
    cr_assert_str_eq(text, again);
    free(text);
    free(again);
    int64_t shapes[3][2] = {{40, 128}, {64, 120}, {33, 192}};
    for (int c = 0; c < 3; c++) {
        size_t bytes = (size_t)(shapes[c][0] * shapes[c][1]) * 2;
        uint8_t *x = rand_bytes(bytes, 11 + (uint64_t)c), *y1 = calloc(bytes, 1),
                *y2 = calloc(bytes, 1);
        const int64_t *sh = shapes[c];
        VmArg targs[2] = {vm_arg_tensor(x, bytes, 2, sh), vm_arg_tensor(y1, bytes, 2, sh)};
        VmArg iargs[2] = {vm_arg_tensor(x, bytes, 2, sh), vm_arg_tensor(y2, bytes, 2, sh)};
        uint64_t cls;
        run_both(a, k, targs, iargs, 2, &cls);
        cr_assert_eq(!!(cls & bit_of(k, "k")), shapes[c][1] % 16 == 0);
        cr_assert(!memcmp(y1, y2, bytes), "shape %lld x %lld", (long long)shapes[c][0],
                  (long long)shapes[c][1]);
        free(x);
        free(y1);
        free(y2);
    }
    vm_arena_free(a);
}

/* Sub-byte codes: a lane's 16 consecutive codes of a row are whole bytes
 * (2 for u1, 8 for u4, 6 for u3 and i3 at a 2-byte-aligned offset, 12 for
 * u6 at a 4-byte-aligned one), loaded in aligned pieces and split. */
static const char *sub_src =
    "kernel sub<wt: dtype>(x: global wt[n, k], y: global i32[n, k]) grid(cdiv(n, 4)) warps(4)\n"
    "{\n"
    "    assume(k % 512 == 0);\n"
    "    let r0 = bid.x * 4;\n"
    "    for k0 in range(0, k, 512) {\n"
    "        let q = load_global(x[r0 : 4, k0 : 512]) @ spatial(4, 32) * local(1, 16);\n"
    "        store_global(y[r0 : 4, k0 : 512], cast(q, i32));\n"
    "    }\n"
    "}\n";

Test(vec, subbyte_runs_load_whole_bytes)
{
    struct {
        const char *spec;
        int width, count;
    } cases[] = {{"wt=u1", 2, 1}, {"wt=u4", 8, 1}, {"wt=u3", 2, 3}, {"wt=i3", 2, 3},
                 {"wt=u6", 4, 3}};
    for (int c = 0; c < 5; c++) {
        VmArena *a = vm_arena_new();
        Kernel *k = compile(a, sub_src, "sub", cases[c].spec);
        uint64_t ptrs = bit_of(k, "x") | bit_of(k, "y");
        int ld[17] = {0};
        widths(&lower(a, k, ptrs)->body, TIR_OP_LD, ld);
        cr_assert_eq(ld[cases[c].width], cases[c].count, "%s: %d loads of %d bytes", cases[c].spec,
                     ld[cases[c].width], cases[c].width);
        for (int w = 1; w <= 16; w++)
            cr_assert(w == cases[c].width || !ld[w], "%s: %d-byte loads", cases[c].spec, w);
        int64_t sh[2] = {6, 1024};
        Dtype dt = VM_DT_INVALID;
        for (int j = 0; j < k->nparams; j++)
            if (!strcmp(k->params[j]->name, "x"))
                dt = k->params[j]->dtype;
        size_t xb = vm_packed_bytes(dt, 6 * 1024), yb = 6 * 1024 * 4;
        uint8_t *x = rand_bytes(xb, 5 + (uint64_t)c), *y1 = calloc(yb, 1), *y2 = calloc(yb, 1);
        VmArg targs[2] = {vm_arg_tensor(x, xb, 2, sh), vm_arg_tensor(y1, yb, 2, sh)};
        VmArg iargs[2] = {vm_arg_tensor(x, xb, 2, sh), vm_arg_tensor(y2, yb, 2, sh)};
        uint64_t cls;
        run_both(a, k, targs, iargs, 2, &cls);
        cr_assert_eq(cls & ptrs, ptrs);
        cr_assert(!memcmp(y1, y2, yb), "%s", cases[c].spec);
        free(x);
        free(y1);
        free(y2);
        vm_arena_free(a);
    }
}

/* tests/test_layout_print.c - the textual form of register layouts: printing
 * of each primitive, products and raw literals; parsing (spaces, parentheses,
 * literals); parse errors with their columns; the picture; and a fixed-seed
 * fuzz of the parser (never crashes, errors carry a column inside the input,
 * whatever parses prints and parses back equal). */
#include "layout/layout.h"

#include <criterion/criterion.h>
#include <string.h>

#define DIMS(...) (int[]){__VA_ARGS__}, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int))

static Layout mk(LayStatus (*f)(Layout *, int, const int *), const int *d, int r)
{
    Layout L;
    cr_assert_eq(f(&L, r, d), LAY_OK);
    return L;
}
#define LOC(...) mk(lay_local, DIMS(__VA_ARGS__))
#define SPA(...) mk(lay_spatial, DIMS(__VA_ARGS__))
#define CLOC(...) mk(lay_column_local, DIMS(__VA_ARGS__))
#define CSPA(...) mk(lay_column_spatial, DIMS(__VA_ARGS__))

static Layout rep(int r)
{
    Layout L;
    cr_assert_eq(lay_replicate(&L, r), LAY_OK);
    return L;
}

static Layout mul(Layout a, Layout b)
{
    Layout L;
    cr_assert_eq(lay_product(&L, a, b), LAY_OK);
    return L;
}

static Layout mma_c(void)
{
    return mul(mul(LOC(2, 1), SPA(8, 4)), LOC(1, 2));
}

static void expect_print(Layout L, const char *want)
{
    char buf[512];
    int n = lay_print(L, buf, sizeof buf);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(n, (int)strlen(want));
    Layout P;
    int pos;
    char err[128];
    cr_expect_eq(lay_parse(buf, &P, &pos, err, sizeof err), LAY_OK, "%s: %s", buf, err);
    cr_expect(lay_eq(P, L), "round trip of %s", buf);
}

static Layout parse_ok(const char *s)
{
    Layout L;
    int pos = -1;
    char err[128];
    LayStatus st = lay_parse(s, &L, &pos, err, sizeof err);
    cr_assert_eq(st, LAY_OK, "'%s': column %d: %s", s, pos, err);
    cr_expect_eq(pos, 0);
    cr_expect_str_eq(err, "");
    return L;
}

static void expect_error(const char *s, int col, const char *msg)
{
    Layout L = {0};
    Layout before = L;
    int pos = -1;
    char err[128];
    cr_expect_eq(lay_parse(s, &L, &pos, err, sizeof err), LAY_ERR_PARSE, "'%s' parsed", s);
    if (col > 0)
        cr_expect_eq(pos, col, "'%s': column %d, expected %d (%s)", s, pos, col, err);
    cr_expect(strstr(err, msg) != NULL, "'%s': message '%s' lacks '%s'", s, err, msg);
    cr_expect(memcmp(&L, &before, sizeof L) == 0, "output untouched on error");
}

Test(layout_print, primitives)
{
    expect_print(LOC(2, 3), "local(2,3)");
    expect_print(SPA(4), "spatial(4)");
    expect_print(CLOC(2, 3), "column_local(2,3)");
    expect_print(CSPA(4, 8), "column_spatial(4,8)");
    expect_print(rep(4), "replicate(4)");
    expect_print(LOC(5, 1, 3), "local(5,1,3)");
    expect_print(LOC(1, 1), "local(1,1)");
    expect_print(rep(1), "replicate(1)");
    expect_print(CLOC(2, 1), "local(2,1)");
    expect_print(CSPA(1, 1, 7), "spatial(1,1,7)");
}

Test(layout_print, products)
{
    expect_print(mma_c(), "local(2,1) * spatial(8,4) * local(1,2)");
    expect_print(mul(LOC(2, 1), LOC(1, 2)), "local(2,2)");
    expect_print(mul(SPA(4, 1), rep(8)), "spatial(4,1) * replicate(8)");
    expect_print(mul(rep(2), SPA(4)), "replicate(2) * spatial(4)");
    expect_print(mul(LOC(2, 3), SPA(4, 4)), "local(2,3) * spatial(4,4)");
    expect_print(mul(mul(SPA(2), LOC(3)), SPA(2)), "spatial(2) * local(3) * spatial(2)");
    expect_print(mul(mul(LOC(1, 2), CSPA(4, 8)), LOC(2, 1)),
                 "local(1,2) * column_spatial(4,8) * local(2,1)");
    expect_print(mul(LOC(3), SPA(5)), "local(3) * spatial(5)");
    /* replication commutes with local factors; it prints innermost */
    expect_print(mul(mul(SPA(2), rep(3)), LOC(2)), "spatial(2) * local(2) * replicate(3)");
    expect_print(mul(SPA(1), rep(8)), "local(1) * replicate(8)");
    expect_print(mul(LOC(1, 1), mul(rep(2), rep(3))), "local(1,1) * replicate(6)");
    /* dims of a rank-3 primitive group keep their order */
    expect_print(mul(SPA(2, 1, 1), SPA(1, 1, 3)), "spatial(2,1,3)");
    expect_print(mul(SPA(1, 1, 3), SPA(2, 1, 1)), "column_spatial(2,1,3)");
}

Test(layout_print, raw_literal)
{
    Layout F;
    cr_assert_eq(lay_flatten(&F, CSPA(2, 3)), LAY_OK);
    expect_print(F, "layout(shape=[6], modes=[[2,3]], spatial=[1,0], local=[])");
    Layout R;
    cr_assert_eq(lay_flatten(&R, CLOC(2, 3)), LAY_OK);
    expect_print(R, "layout(shape=[6], modes=[[2,3]], spatial=[], local=[1,0])");
    cr_expect_eq(lay_reshape(&R, mul(LOC(2), SPA(3)), 2, (int[]){3, 2}), LAY_ERR_DIVIDE);
    /* a replicated raw layout */
    Layout G;
    cr_assert_eq(lay_literal(&G, 1, (int[]){6}, 2, (int[]){2, 3}, (int[]){0, 0}, 3,
                             (int[]){1, -2, 0}, 0, NULL),
                 LAY_OK);
    expect_print(G, "layout(shape=[6], modes=[[2,3]], spatial=[1,r2,0], local=[])");
    Layout H;
    cr_assert_eq(lay_literal(&H, 2, (int[]){4, 1}, 2, (int[]){2, 2}, (int[]){0, 0}, 1,
                             (int[]){1}, 1, (int[]){0}),
                 LAY_OK);
    expect_print(H, "local(2,1) * spatial(2,1)");
}

Test(layout_print, snprintf_convention)
{
    char small[8];
    int n = lay_print(mma_c(), small, sizeof small);
    cr_expect_eq(n, (int)strlen("local(2,1) * spatial(8,4) * local(1,2)"));
    cr_expect_str_eq(small, "local(2");
    cr_expect_eq(lay_print(mma_c(), NULL, 0), n);
    Layout junk;
    memset(&junk, 0x7f, sizeof junk);
    char buf[64];
    lay_print(junk, buf, sizeof buf);
    cr_expect_str_eq(buf, "<invalid layout>");
}

Test(layout_print, parse_forms)
{
    Layout C = mma_c();
    cr_expect(lay_eq(parse_ok("  local( 2 , 1 )*spatial(8,4)\t*local(1,2) \n"), C));
    cr_expect(lay_eq(parse_ok("local(2,1) * (spatial(8,4) * local(1,2))"), C));
    cr_expect(lay_eq(parse_ok("(local(2,1) * spatial(8,4)) * local(1,2)"), C));
    cr_expect(lay_eq(parse_ok("((local(4)))"), LOC(4)));
    cr_expect(lay_eq(parse_ok("layout(shape=[16,8], modes=[[2,8],[4,2]], spatial=[1,2], "
                              "local=[0,3])"),
                     C));
    cr_expect(lay_eq(parse_ok("layout( shape = [ 8 ] , modes = [ [ 2 , 1 , 4 ] ] , spatial = "
                              "[ ] , local = [ 0 , 1 , 2 ] )"),
                     LOC(8)));
    cr_expect(lay_eq(parse_ok("layout(shape=[4], modes=[[4]], spatial=[0,r2], local=[])"),
                     mul(SPA(4), rep(2))));
    cr_expect(lay_eq(parse_ok("layout(shape=[], modes=[], spatial=[r3], local=[])"), rep(3)));
    cr_expect(lay_eq(parse_ok("layout(shape=[1,2], modes=[[],[2]], spatial=[], local=[0]) * "
                              "spatial(4,1)"),
                     mul(LOC(1, 2), SPA(4, 1))));
    Layout z = parse_ok("local()");
    cr_expect_eq(z.rank, 0);
    cr_expect(lay_eq(z, rep(1)));
    cr_expect(lay_eq(parse_ok("replicate(2)*replicate(3)"), rep(6)));
    cr_expect(lay_eq(parse_ok("column_local(2,3)"), CLOC(2, 3)));
    cr_expect(lay_eq(parse_ok("column_spatial(2,3)"), CSPA(2, 3)));
    cr_expect_eq(lay_parse("local(4)", NULL, NULL, NULL, 0), LAY_OK, "all outputs optional");
}

Test(layout_print, parse_errors)
{
    expect_error("", 1, "expected a layout at end of input");
    expect_error("   ", 4, "expected a layout");
    expect_error("local(2,1", 10, "expected ')' at end of input");
    expect_error("local(2,1) *", 13, "expected a layout at end of input");
    expect_error("lokal(2)", 1, "unknown layout 'lokal'");
    expect_error("local(0)", 7, "at least 1");
    expect_error("local(2) spatial(4)", 10, "unexpected 's'");
    expect_error("local(99999999999)", 7, "number too large");
    expect_error("replicate(2,3)", 1, "replicate takes one size");
    expect_error("replicate()", 1, "replicate takes one size");
    expect_error("local(1,1,1,1,1,1,1,1,1)", 23, "too many dims");
    expect_error("local(1048576) * local(1048576)", 16, "product does not fit");
    expect_error("local(2,x)", 9, "expected a number");
    expect_error("local 2", 7, "expected '('");
    expect_error("local(2))", 9, "unexpected ')'");
    expect_error("* local(2)", 1, "expected a layout, found '*'");
    expect_error("(local(2)", 10, "expected ')'");
    expect_error("layout(shape=[4], modes=[[2]], spatial=[0], local=[])", 1, "layout literal");
    expect_error("layout(shape=[4], modes=[[4]], spatial=[0], local=[0])", 1, "layout literal");
    expect_error("layout(shape=[4], modes=[[4]], spatial=[5], local=[])", 1,
                 "spatial names a mode");
    expect_error("layout(shape=[4], modes=[[4]], spatial=[], local=[1])", 1,
                 "local names a mode");
    expect_error("layout(shape=[4], mode=[[4]], spatial=[0], local=[])", 19, "expected 'modes='");
    expect_error("layout(shape=[4,4], modes=[[4]], spatial=[0], local=[])", 0,
                 "one mode list per dim");
    expect_error("layout(shape=[4], modes=[[4],[1]], spatial=[0], local=[])", 30,
                 "more mode lists than dims");
    expect_error("layout(shape=[4], modes=[[4]], spatial=[r0], local=[])", 42, "at least 1");
    expect_error("layout(shape=[0], modes=[[]], spatial=[], local=[])", 15, "at least 1");
    expect_error("layout(local=[])", 8, "expected 'shape='");
    expect_error("layoutx(2)", 1, "unknown layout");
    expect_error("local(2) * * local(2)", 12, "expected a layout");
    expect_error("local(2) @ local(2)", 10, "unexpected '@'");
}

Test(layout_print, parse_limits)
{
    char deep[400];
    int k = 0;
    for (int i = 0; i < 100; i++)
        deep[k++] = '(';
    memcpy(deep + k, "local(2)", 8);
    k += 8;
    for (int i = 0; i < 100; i++)
        deep[k++] = ')';
    deep[k] = '\0';
    expect_error(deep, 0, "too deeply nested");
    char ok[200];
    k = 0;
    for (int i = 0; i < 30; i++)
        ok[k++] = '(';
    memcpy(ok + k, "local(2)", 8);
    k += 8;
    for (int i = 0; i < 30; i++)
        ok[k++] = ')';
    ok[k] = '\0';
    cr_expect(lay_eq(parse_ok(ok), LOC(2)));
    char err[4];
    int pos;
    cr_expect_eq(lay_parse("lokal(2)", NULL, &pos, err, sizeof err), LAY_ERR_PARSE);
    cr_expect_str_eq(err, "unk");
    char longname[300];
    memset(longname, 'a', 290);
    strcpy(longname + 290, "(2)");
    expect_error(longname, 1, "unknown layout");
}

Test(layout_print, picture)
{
    char buf[1024];
    Layout L = mul(LOC(1, 2), SPA(2, 2));
    int n = lay_picture(L, buf, sizeof buf);
    /* (r, c): thread r*2 + c%2, local c/2 */
    const char *want = "local(1,2) * spatial(2,2)  shape=[2,4] T=4 n=2\n"
                       "     0   1   2   3\n"
                       "0: 0:0 1:0 0:1 1:1\n"
                       "1: 2:0 3:0 2:1 3:1\n";
    cr_expect_str_eq(buf, want);
    cr_expect_eq(n, (int)strlen(want));
    lay_picture(mul(SPA(2), rep(2)), buf, sizeof buf);
    cr_expect_str_eq(buf, "spatial(2) * replicate(2)  shape=[2] T=4 n=1\n"
                          "       0     1\n"
                          "0: 0:0*2 2:0*2\n");
    lay_picture(LOC(2, 1, 2), buf, sizeof buf);
    cr_expect_str_eq(buf, "local(2,1,2)  shape=[2,1,2] T=1 n=4\n"
                          "       0   1\n"
                          "0,0: 0:0 0:1\n"
                          "1,0: 0:2 0:3\n");
    n = lay_picture(mma_c(), NULL, 0);
    cr_expect_gt(n, 16 * 8 * 5);
    lay_picture(LOC(1000, 1000), buf, sizeof buf);
    cr_expect(strstr(buf, "too many to draw") != NULL, "%s", buf);
}

/* ---- fuzz: random token soup and mutations of valid texts */

static uint64_t fz;

static uint32_t frnd(uint32_t n)
{
    fz = fz * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(fz >> 33) % n;
}

static void check_any(const char *s)
{
    Layout L, P;
    int pos = -1;
    char err[128];
    LayStatus st = lay_parse(s, &L, &pos, err, sizeof err);
    if (st != LAY_OK) {
        cr_expect_eq(st, LAY_ERR_PARSE);
        cr_expect(pos >= 1 && pos <= (int)strlen(s) + 1, "'%s': column %d", s, pos);
        cr_expect(err[0] != '\0', "'%s': empty message", s);
        return;
    }
    char buf[2048];
    lay_print(L, buf, sizeof buf);
    cr_expect_eq(lay_parse(buf, &P, &pos, err, sizeof err), LAY_OK, "'%s' -> '%s'", s, buf);
    cr_expect(lay_eq(P, L), "'%s' -> '%s'", s, buf);
}

Test(layout_print, fuzz_tokens)
{
    static const char *tok[] = {"local", "spatial", "column_local", "column_spatial",
                                "replicate", "layout", "shape", "modes", "(", ")", "[", "]",
                                ",", "=", "*", " ", "r", "0", "1", "2", "3", "4", "8", "12",
                                "1073741824", "x", "\t", "-", "("};
    fz = 11;
    for (int i = 0; i < 3000; i++) {
        char s[256] = "";
        int k = 1 + (int)frnd(20);
        for (int j = 0; j < k; j++)
            strcat(s, tok[frnd(sizeof tok / sizeof tok[0])]);
        check_any(s);
    }
}

Test(layout_print, fuzz_mutations)
{
    static const char *seed[] = {
        "local(2,1) * spatial(8,4) * local(1,2)",
        "layout(shape=[16,8], modes=[[2,8],[4,2]], spatial=[1,2], local=[0,3])",
        "spatial(4,1) * replicate(8)",
        "column_spatial(4,8) * (local(2,2) * column_local(3,1))",
        "layout(shape=[6], modes=[[2,3]], spatial=[1,r2,0], local=[])",
    };
    static const char alphabet[] = "()[],=*r0123456789 lsac_x\xff-";
    fz = 12;
    int parsed = 0;
    for (int i = 0; i < 4000; i++) {
        char s[256];
        strcpy(s, seed[frnd(5)]);
        int edits = 1 + (int)frnd(3);
        for (int e = 0; e < edits; e++) {
            int len = (int)strlen(s), at = (int)frnd((uint32_t)len + 1);
            switch (frnd(3)) {
            case 0:
                if (len > 0 && at < len)
                    memmove(s + at, s + at + 1, (size_t)(len - at));
                break;
            case 1:
                if (len < 250) {
                    memmove(s + at + 1, s + at, (size_t)(len - at + 1));
                    s[at] = alphabet[frnd(sizeof alphabet - 1)];
                }
                break;
            default:
                if (at < len)
                    s[at] = alphabet[frnd(sizeof alphabet - 1)];
                break;
            }
        }
        Layout L;
        parsed += lay_parse(s, &L, NULL, NULL, 0) == LAY_OK;
        check_any(s);
    }
    cr_expect_gt(parsed, 100, "some mutants still parse");
}

/*
 * test_parser.c - the parser: precedence and associativity (source -> fully
 * parenthesised tree), declarations, spans, error recovery and the nesting
 * limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ast.h"

typedef struct parsed {
    arena a;
    diag_list d;
    token_list t;
    ast_program prog;
} parsed;

static void parse_n(parsed *x, const char *src, size_t len) {
    arena_init(&x->a);
    diag_init(&x->d, &x->a, "t.sky", src, len);
    assert_true(lex_source(&x->a, &x->d, src, len, &x->t));
    assert_true(parse_program(&x->a, &x->d, src, &x->t, &x->prog));
}

static void parse(parsed *x, const char *src) {
    parse_n(x, src, strlen(src));
}

static void done(parsed *x) {
    arena_free(&x->a);
}

/* Parses `out EXPR` and returns the printed tree (static buffer). */
static const char *print_out(const char *expr) {
    static char buf[512];
    char src[256];
    snprintf(src, sizeof src, "out %s", expr);
    parsed x;
    parse(&x, src);
    if (x.d.errors) fail_msg("`%s`: unexpected error: %s", expr, x.d.items[0].message);
    assert_int_equal(x.prog.count, 1);
    ast_print(x.prog.decls[0].body, buf, sizeof buf);
    done(&x);
    return buf;
}

static void test_precedence_table(void **state) {
    (void)state;
    static const struct {
        const char *src, *tree;
    } cases[] = {
        {"1 + 2 * 3", "(1 + (2 * 3))"},
        {"1 * 2 + 3", "((1 * 2) + 3)"},
        {"a - b - c", "((a - b) - c)"},
        {"a / b / c", "((a / b) / c)"},
        {"a % b * c", "((a % b) * c)"},
        {"-x^2", "(-(x ^ 2))"},
        {"2^-1", "(2 ^ (-1))"},
        {"2^3^2", "(2 ^ (3 ^ 2))"},
        {"-2^-x^2", "(-(2 ^ (-(x ^ 2))))"},
        {"a^b * c", "((a ^ b) * c)"},
        {"- - x", "(-(-x))"},
        {"!a && b", "((!a) && b)"},
        {"a || b && c", "(a || (b && c))"},
        {"a && b || c", "((a && b) || c)"},
        {"a < b && c >= d", "((a < b) && (c >= d))"},
        {"a + 1 < b * 2", "((a + 1) < (b * 2))"},
        {"a == b", "(a == b)"},
        {"a != b + 1", "(a != (b + 1))"},
        {"a ? b : c", "(a ? b : c)"},
        {"a ? b : c ? d : e", "(a ? b : (c ? d : e))"},
        {"a ? b ? c : d : e", "(a ? (b ? c : d) : e)"},
        {"a || b ? c + 1 : d", "((a || b) ? (c + 1) : d)"},
        {"(1 + 2) * 3", "((1 + 2) * 3)"},
        {"p.xy", "(p.xy)"},
        {"p.xy.x", "((p.xy).x)"},
        {"-p.x", "(-(p.x))"},
        {"p.x^2", "((p.x) ^ 2)"},
        {"c.bgr * 2", "((c.bgr) * 2)"},
        {"sin(x)", "sin(x)"},
        {"f()", "f()"},
        {"mix(a, b + 1, t * 2)", "mix(a, (b + 1), (t * 2))"},
        {"hsv(theta / tau, 1, 1).r", "(hsv((theta / tau), 1, 1).r)"},
        {"min(a, b)", "min(a, b)"},
        {"min(k in 0..4, k)", "min(k in 0..4, k)"},
        {"sum(k in 0..4, sin(r * k))", "sum(k in 0..4, sin((r * k)))"},
        {"product(i in -2..3, i + 1)", "product(i in -2..3, (i + 1))"},
        {"max(j in 1..3, j) + 1", "(max(j in 1..3, j) + 1)"},
        {"1.5e1 + .5", "(15 + 0.5)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = print_out(cases[i].src);
        if (strcmp(got, cases[i].tree) != 0)
            fail_msg("`%s` parsed as %s, expected %s", cases[i].src, got, cases[i].tree);
    }
}

static void test_declarations(void **state) {
    (void)state;
    parsed x;
    parse(&x, "param speed = 1.0 in 0..4\n"
              "param off = 0 in -1..1;\n"
              "let ring = fract(t * speed / 3);\n"
              "fn glow(d, w) = clamp(w / max(d, 1e-4), 0, 1)\n"
              "fn zero() = 0\n"
              "out hsv(theta / tau, 1, glow(r - ring, 0.03))");
    assert_int_equal(x.d.errors, 0);
    assert_int_equal(x.prog.count, 6);
    const ast_decl *d = x.prog.decls;
    assert_int_equal(d[0].kind, DECL_PARAM);
    assert_string_equal(d[0].name, "speed");
    assert_true(d[0].has_range && d[0].lo == 0 && d[0].hi == 4);
    assert_true(d[1].has_range && d[1].lo == -1 && d[1].hi == 1);
    assert_int_equal(d[2].kind, DECL_LET);
    assert_string_equal(d[2].name, "ring");
    assert_int_equal(d[3].kind, DECL_FN);
    assert_int_equal(d[3].nparams, 2);
    assert_string_equal(d[3].params[0], "d");
    assert_string_equal(d[3].params[1], "w");
    assert_int_equal(d[4].nparams, 0);
    assert_true(d[4].params_ok);
    assert_int_equal(d[5].kind, DECL_OUT);
    assert_null(d[5].name);
    /* Spans: the name, and the declaration from its keyword to its end (with the `;`). */
    assert_int_equal(d[0].name_start, 6);
    assert_int_equal(d[0].name_end, 11);
    assert_int_equal(d[1].start, 26);
    assert_int_equal(d[1].end, 26 + strlen("param off = 0 in -1..1;"));
    done(&x);
}

static void test_expression_spans(void **state) {
    (void)state;
    parsed x;
    const char *src = "out (a + b) * sin(c)";
    parse(&x, src);
    const ast_expr *e = x.prog.decls[0].body;
    assert_int_equal(e->start, 4);
    assert_int_equal(e->end, strlen(src));
    assert_int_equal(e->op_start, 12); /* `*` */
    assert_int_equal(e->a->start, 4);  /* the parentheses belong to the operand */
    assert_int_equal(e->a->end, 11);
    assert_int_equal(e->b->op_start, 14); /* the name of the call */
    assert_int_equal(e->b->op_end, 17);
    done(&x);
}

static void expect_error(const char *src, const char *code, const char *message) {
    parsed x;
    parse(&x, src);
    if (x.d.errors == 0) fail_msg("`%s`: no error", src);
    assert_string_equal(x.d.items[0].code, code);
    if (message) assert_string_equal(x.d.items[0].message, message);
    done(&x);
}

static void test_syntax_errors(void **state) {
    (void)state;
    expect_error("out a < b < c", E_CHAINED_COMPARE, "comparison operators cannot be chained");
    expect_error("out a == b != c", E_CHAINED_COMPARE, NULL);
    expect_error("out 1 +", E_SYNTAX, "expected an expression, found end of file");
    expect_error("out (1", E_SYNTAX, "expected `)`, found end of file");
    expect_error("out sin(1 2)", E_SYNTAX,
                 "expected `,` or `)` in the arguments of `sin`, found number `2`");
    expect_error("let = 1 out 1", E_SYNTAX, "expected a name after `let`, found `=`");
    expect_error("let in = 1 out 1", E_SYNTAX, "expected a name after `let`, found keyword `in`");
    expect_error("let a 1 out a", E_SYNTAX, "expected `=` after `let a`, found number `1`");
    expect_error("x = 1", E_SYNTAX,
                 "expected a declaration (`param`, `let`, `fn` or `out`), found `x`");
    expect_error("out p.xw", E_BAD_SWIZZLE, "invalid swizzle `.xw`: `w` is not a component");
    expect_error("out p.xg", E_BAD_SWIZZLE, "swizzle `.xg` mixes `xyz` and `rgb` letters");
    expect_error("out p.xyzx", E_BAD_SWIZZLE, "swizzle `.xyzx` has 4 components");
    expect_error("out a ? b", E_SYNTAX,
                 "expected `:` of the conditional `cond ? a : b`, found end of file");
    expect_error("out sum(k in 0..n, k)", E_SYNTAX,
                 "expected a number for the upper bound of the range, found `n`");
    expect_error("out prod(k in 0..4, k)", E_SYNTAX, "`prod` is not a reduction");
    expect_error("param a = 1 in 0 1 out a", E_SYNTAX, NULL);
    expect_error("fn f(a b) = a out 1", E_SYNTAX,
                 "expected `,` or `)` in the parameter list, found `b`");
    expect_error("out 1 2", E_SYNTAX,
                 "expected an operator or the end of the declaration, found number `2`");
}

static void test_recovery_reports_each_declaration_once(void **state) {
    (void)state;
    parsed x;
    parse(&x, "let a = (1 + \n"
              "let b = 2 * * 3\n"
              "let c = 3\n"
              "fn f(x = x\n"
              "out a + b + c + ) + (");
    /* One error per broken declaration, none for `let c`, no cascades. */
    assert_int_equal(x.d.errors, 4);
    assert_int_equal(x.prog.count, 5);
    /* Broken declarations keep their names but lose their bodies. */
    assert_string_equal(x.prog.decls[0].name, "a");
    assert_null(x.prog.decls[0].body);
    assert_non_null(x.prog.decls[2].body);
    assert_false(x.prog.decls[3].params_ok);
    done(&x);
}

static void test_lexer_errors_do_not_cascade(void **state) {
    (void)state;
    parsed x;
    parse(&x, "let a = 1 @ 2\nout a");
    assert_int_equal(x.d.errors, 1);
    assert_string_equal(x.d.items[0].code, E_BAD_CHAR);
    done(&x);
}

static char *repeat(const char *head, char c, size_t n, const char *tail) {
    size_t h = strlen(head), t = strlen(tail);
    char *s = malloc(h + n + t + 1);
    assert_non_null(s);
    memcpy(s, head, h);
    memset(s + h, c, n);
    memcpy(s + h + n, tail, t + 1);
    return s;
}

/* 256 levels of parentheses parse; 257 give one nesting error. */
static void test_nesting_limit(void **state) {
    (void)state;
    for (int extra = 0; extra < 2; extra++) {
        size_t n = SKY_MAX_NESTING + (size_t)extra;
        char *src = repeat("out ", '(', n, "1");
        char *full = malloc(strlen(src) + n + 1);
        assert_non_null(full);
        strcpy(full, src);
        memset(full + strlen(src), ')', n);
        full[strlen(src) + n] = '\0';
        parsed x;
        parse(&x, full);
        if (extra == 0) {
            assert_int_equal(x.d.errors, 0);
        } else {
            assert_int_equal(x.d.errors, 1);
            assert_string_equal(x.d.items[0].code, E_LIMIT_NESTING);
        }
        done(&x);
        free(src);
        free(full);
    }
}

/* Operator chains, unary operators and powers count towards the limit as well. */
static void test_nesting_limit_other_forms(void **state) {
    (void)state;
    const char *forms[] = {"-", "!", "1+", "2^", "a?b:"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t unit = strlen(forms[i]);
        size_t n = 300;
        char *src = malloc(4 + unit * n + 2);
        assert_non_null(src);
        strcpy(src, "out ");
        for (size_t k = 0; k < n; k++) memcpy(src + 4 + unit * k, forms[i], unit);
        strcpy(src + 4 + unit * n, "1");
        parsed x;
        parse(&x, src);
        assert_int_equal(x.d.errors, 1);
        assert_string_equal(x.d.items[0].code, E_LIMIT_NESTING);
        done(&x);
        free(src);
    }
    /* A long flat sum within the limit is fine. */
    char *sum = malloc(4 + 2 * 200 + 2);
    assert_non_null(sum);
    strcpy(sum, "out ");
    for (int k = 0; k < 200; k++) memcpy(sum + 4 + 2 * k, "1+", 2);
    strcpy(sum + 4 + 400, "1");
    parsed x;
    parse(&x, sum);
    assert_int_equal(x.d.errors, 0);
    done(&x);
    free(sum);
}

/* A megabyte of `(` gives one clean error, not a stack overflow. */
static void test_megabyte_of_parens(void **state) {
    (void)state;
    size_t n = SKY_MAX_SOURCE_BYTES;
    char *src = repeat("out ", '(', n - 4, "");
    parsed x;
    parse_n(&x, src, n);
    assert_int_equal(x.d.errors, 1);
    assert_string_equal(x.d.items[0].code, E_LIMIT_NESTING);
    done(&x);
    free(src);
}

static void test_print_buffer_bounds(void **state) {
    (void)state;
    parsed x;
    parse(&x, "out sin(x) + cos(y)");
    char small[8];
    size_t need = ast_print(x.prog.decls[0].body, small, sizeof small);
    assert_int_equal(need, strlen("(sin(x) + cos(y))"));
    assert_int_equal(strlen(small), sizeof small - 1);
    done(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_table),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_expression_spans),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_recovery_reports_each_declaration_once),
        cmocka_unit_test(test_lexer_errors_do_not_cascade),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_nesting_limit_other_forms),
        cmocka_unit_test(test_megabyte_of_parens),
        cmocka_unit_test(test_print_buffer_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

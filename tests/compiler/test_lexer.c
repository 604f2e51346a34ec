/*
 * test_lexer.c - the lexer: token kinds, byte spans, numbers (including
 * `0..1`), comments, and bad input (invalid UTF-8, NUL, stray characters)
 * reported with its position instead of crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "lex.h"

typedef struct lexed {
    arena a;
    diag_list d;
    token_list t;
} lexed;

static void lex_n(lexed *x, const char *src, size_t len) {
    arena_init(&x->a);
    diag_init(&x->d, &x->a, "t.sky", src, len);
    assert_true(lex_source(&x->a, &x->d, src, len, &x->t));
    assert_true(x->t.count >= 1);
    assert_int_equal(x->t.toks[x->t.count - 1].kind, TOK_EOF);
}

static void lex(lexed *x, const char *src) {
    lex_n(x, src, strlen(src));
}

static void done(lexed *x) {
    arena_free(&x->a);
}

/* Asserts the kinds of all tokens before EOF. */
static void expect_kinds(const lexed *x, const tok_kind *kinds, size_t n) {
    assert_int_equal(x->t.count, n + 1);
    for (size_t i = 0; i < n; i++) {
        if (x->t.toks[i].kind != kinds[i])
            fail_msg("token %zu: kind %u, expected %u", i, x->t.toks[i].kind, kinds[i]);
    }
}

static void expect_span(const lexed *x, size_t i, uint32_t start, uint32_t end) {
    assert_int_equal(x->t.toks[i].start, start);
    assert_int_equal(x->t.toks[i].end, end);
}

static void test_keywords_and_names(void **state) {
    (void)state;
    lexed x;
    lex(&x, "param let fn out in paramx _a1 Let outer");
    const tok_kind k[] = {TOK_PARAM, TOK_LET,   TOK_FN,    TOK_OUT,  TOK_IN,
                          TOK_IDENT, TOK_IDENT, TOK_IDENT, TOK_IDENT};
    expect_kinds(&x, k, 9);
    expect_span(&x, 5, 20, 26); /* paramx */
    expect_span(&x, 6, 27, 30); /* _a1 */
    assert_int_equal(x.d.errors, 0);
    done(&x);
}

static void test_operators(void **state) {
    (void)state;
    lexed x;
    lex(&x, "( ) , ; . .. = ? : || && < <= > >= == != + - * / % ^ !");
    const tok_kind k[] = {TOK_LPAREN, TOK_RPAREN,   TOK_COMMA, TOK_SEMI,    TOK_DOT,    TOK_DOTDOT,
                          TOK_ASSIGN, TOK_QUESTION, TOK_COLON, TOK_OROR,    TOK_ANDAND, TOK_LT,
                          TOK_LE,     TOK_GT,       TOK_GE,    TOK_EQ,      TOK_NE,     TOK_PLUS,
                          TOK_MINUS,  TOK_STAR,     TOK_SLASH, TOK_PERCENT, TOK_CARET,  TOK_BANG};
    expect_kinds(&x, k, sizeof k / sizeof k[0]);
    expect_span(&x, 5, 10, 12); /* .. */
    assert_int_equal(x.d.errors, 0);
    done(&x);
}

static void test_operators_without_spaces(void **state) {
    (void)state;
    lexed x;
    lex(&x, "a<=-b!=!c");
    const tok_kind k[] = {TOK_IDENT, TOK_LE, TOK_MINUS, TOK_IDENT, TOK_NE, TOK_BANG, TOK_IDENT};
    expect_kinds(&x, k, 7);
    done(&x);
}

static void test_numbers(void **state) {
    (void)state;
    lexed x;
    lex(&x, "12 1.5 .5 3. 1e-3 2.5E+2 0.000001 7e2");
    const double v[] = {12, 1.5, 0.5, 3, 1e-3, 250, 1e-6, 700};
    assert_int_equal(x.t.count, 9);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(x.t.toks[i].kind, TOK_NUMBER);
        assert_true(x.t.toks[i].num == v[i]);
    }
    expect_span(&x, 3, 10, 12); /* "3." */
    expect_span(&x, 5, 18, 24); /* "2.5E+2" */
    assert_int_equal(x.d.errors, 0);
    done(&x);
}

static void test_ranges_are_not_numbers(void **state) {
    (void)state;
    lexed x;
    lex(&x, "0..1");
    const tok_kind k[] = {TOK_NUMBER, TOK_DOTDOT, TOK_NUMBER};
    expect_kinds(&x, k, 3);
    expect_span(&x, 0, 0, 1);
    expect_span(&x, 1, 1, 3);
    expect_span(&x, 2, 3, 4);
    assert_true(x.t.toks[0].num == 0 && x.t.toks[2].num == 1);
    done(&x);

    lex(&x, "0.5..2.5");
    expect_kinds(&x, k, 3);
    assert_true(x.t.toks[0].num == 0.5 && x.t.toks[2].num == 2.5);
    done(&x);

    lex(&x, "3...5"); /* `3`, `..`, `.5` */
    expect_kinds(&x, k, 3);
    assert_true(x.t.toks[2].num == 0.5);
    done(&x);
}

static void test_swizzle_is_not_a_number(void **state) {
    (void)state;
    lexed x;
    lex(&x, "p.xy c.bgr");
    const tok_kind k[] = {TOK_IDENT, TOK_DOT, TOK_IDENT, TOK_IDENT, TOK_DOT, TOK_IDENT};
    expect_kinds(&x, k, 6);
    done(&x);
}

static void test_comments(void **state) {
    (void)state;
    lexed x;
    lex(&x, "# a comment with ünïcødé θ\nx // another ( comment\ny # end");
    const tok_kind k[] = {TOK_IDENT, TOK_IDENT};
    expect_kinds(&x, k, 2);
    expect_span(&x, 0, 32, 33);
    assert_int_equal(x.d.errors, 0);
    /* EOF sits right after the last token, not after the trailing comment. */
    assert_int_equal(x.t.toks[2].start, x.t.toks[1].end);
    done(&x);
}

static void test_division_is_not_a_comment(void **state) {
    (void)state;
    lexed x;
    lex(&x, "a / b // c");
    const tok_kind k[] = {TOK_IDENT, TOK_SLASH, TOK_IDENT};
    expect_kinds(&x, k, 3);
    done(&x);
}

static void test_empty_and_blank(void **state) {
    (void)state;
    lexed x;
    lex(&x, "");
    assert_int_equal(x.t.count, 1);
    assert_int_equal(x.t.toks[0].start, 0);
    done(&x);
    lex(&x, " \t\r\n\f\v # only a comment\n");
    assert_int_equal(x.t.count, 1);
    assert_int_equal(x.d.errors, 0);
    done(&x);
}

static void test_byte_order_mark_is_skipped(void **state) {
    (void)state;
    lexed x;
    lex(&x, "\xEF\xBB\xBFout 1");
    const tok_kind k[] = {TOK_OUT, TOK_NUMBER};
    expect_kinds(&x, k, 2);
    expect_span(&x, 0, 3, 6);
    assert_int_equal(x.d.errors, 0);
    done(&x);
}

static void expect_one_error(const lexed *x, const char *code, uint32_t start, uint32_t end) {
    assert_int_equal(x->d.errors, 1);
    assert_string_equal(x->d.items[0].code, code);
    assert_int_equal(x->d.items[0].start, start);
    assert_int_equal(x->d.items[0].end, end);
}

static void test_invalid_utf8(void **state) {
    (void)state;
    lexed x;
    lex(&x, "out 1 \xff\xfe + 2");
    expect_one_error(&x, E_INVALID_UTF8, 6, 8);
    assert_non_null(strstr(x.d.items[0].message, "0xff"));
    done(&x);

    /* Overlong encodings, surrogates and truncated sequences are invalid too. */
    const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xF5\x80\x80\x80", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lex(&x, bad[i]);
        assert_int_equal(x.d.errors, 1);
        assert_string_equal(x.d.items[0].code, E_INVALID_UTF8);
        assert_int_equal(x.d.items[0].start, 0);
        done(&x);
    }

    /* Inside a comment as well. */
    lex(&x, "out 1 # caf\xe9\n");
    expect_one_error(&x, E_INVALID_UTF8, 11, 12);
    assert_int_equal(x.t.count, 3);
    done(&x);
}

static void test_nul_bytes(void **state) {
    (void)state;
    lexed x;
    lex_n(&x, "out\0\0\0 1", 8);
    expect_one_error(&x, E_NUL_BYTE, 3, 6);
    const tok_kind k[] = {TOK_OUT, TOK_NUMBER};
    expect_kinds(&x, k, 2);
    done(&x);
    lex_n(&x, "# \0\n", 4);
    expect_one_error(&x, E_NUL_BYTE, 2, 3);
    done(&x);
}

static void test_stray_characters(void **state) {
    (void)state;
    lexed x;
    lex(&x, "a @ b");
    expect_one_error(&x, E_BAD_CHAR, 2, 3);
    const tok_kind k[] = {TOK_IDENT, TOK_ERROR, TOK_IDENT};
    expect_kinds(&x, k, 3);
    done(&x);

    lex(&x, "a & b");
    expect_one_error(&x, E_BAD_CHAR, 2, 3);
    assert_string_equal(x.d.items[0].help, "use `&&` for logical and");
    done(&x);

    lex(&x, "2 * \xCF\x80"); /* pi */
    expect_one_error(&x, E_BAD_CHAR, 4, 6);
    assert_string_equal(x.d.items[0].message, "unexpected character `\xCF\x80`");
    assert_string_equal(x.d.items[0].help, "write `pi`");
    done(&x);

    lex(&x, "a \x01");
    expect_one_error(&x, E_BAD_CHAR, 2, 3);
    assert_string_equal(x.d.items[0].message, "unexpected control character U+0001");
    done(&x);
}

static void test_malformed_numbers(void **state) {
    (void)state;
    lexed x;
    lex(&x, "1e+ 2");
    expect_one_error(&x, E_BAD_NUMBER, 0, 3);
    assert_int_equal(x.t.toks[0].kind, TOK_ERROR);
    assert_int_equal(x.t.toks[1].kind, TOK_NUMBER);
    done(&x);

    lex(&x, "1e999");
    expect_one_error(&x, E_BAD_NUMBER, 0, 5);
    assert_string_equal(x.d.items[0].message, "number `1e999` is too large");
    done(&x);

    lex(&x, "1e-999"); /* underflows to zero: fine */
    assert_int_equal(x.d.errors, 0);
    assert_true(x.t.toks[0].num == 0);
    done(&x);
}

static void test_error_limit_stops_the_lexer(void **state) {
    (void)state;
    /* Every other byte is a stray character: the lexer stops at SKY_MAX_ERRORS. */
    char src[400];
    for (size_t i = 0; i < sizeof src; i += 2) src[i] = '@', src[i + 1] = ' ';
    lexed x;
    lex_n(&x, src, sizeof src);
    assert_int_equal(x.d.errors, SKY_MAX_ERRORS);
    assert_true(x.d.stopped);
    assert_true(x.t.count < 60);
    done(&x);
}

static void test_token_spelling(void **state) {
    (void)state;
    assert_string_equal(lex_token_spelling(TOK_LET), "let");
    assert_string_equal(lex_token_spelling(TOK_ANDAND), "&&");
    assert_string_equal(lex_token_spelling(TOK_BANG), "!");
    assert_null(lex_token_spelling(TOK_IDENT));
    assert_true(lex_is_decl_keyword(TOK_OUT));
    assert_false(lex_is_decl_keyword(TOK_IN));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_and_names),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_operators_without_spaces),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_ranges_are_not_numbers),
        cmocka_unit_test(test_swizzle_is_not_a_number),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_division_is_not_a_comment),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_byte_order_mark_is_skipped),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_stray_characters),
        cmocka_unit_test(test_malformed_numbers),
        cmocka_unit_test(test_error_limit_stops_the_lexer),
        cmocka_unit_test(test_token_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lex.c - source bytes -> tokens with byte spans.
 *
 * A hand-written scanner over the whole buffer. Every byte is accounted for:
 * white space, comments (`#` or `//` to the end of the line), numbers,
 * identifiers and keywords, operators, or an error. The source must be UTF-8;
 * a leading byte order mark is skipped, invalid sequences and NUL bytes are
 * errors even inside comments. Runs of bad bytes give one error each, so a
 * binary file produces a few clear errors rather than thousands.
 *
 * Numbers follow the spec exactly: `12 1.5 .5 3. 1e-3 2.5E+2`, and a `.`
 * directly followed by another `.` is never part of a number, so `0..1` is
 * `0`, `..`, `1`. Values are converted with strtod_l in the "C" locale, so a
 * host program's setlocale() cannot change what `1.5` means.
 */
#include "lex.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    arena *a;
    diag_list *d;
    const unsigned char *src;
    size_t len;
    size_t pos;
    token *toks;
    uint32_t count, cap;
    locale_t c_locale;
    bool nomem;
} lexer;

/* ORDER TOK */
static const char *const spellings[TOK__COUNT] = {
    [TOK_PARAM] = "param", [TOK_LET] = "let",    [TOK_FN] = "fn",    [TOK_OUT] = "out",
    [TOK_INPUT] = "input", [TOK_IN] = "in",      [TOK_LPAREN] = "(", [TOK_RPAREN] = ")",
    [TOK_COMMA] = ",",     [TOK_SEMI] = ";",     [TOK_DOT] = ".",    [TOK_DOTDOT] = "..",
    [TOK_ASSIGN] = "=",    [TOK_QUESTION] = "?", [TOK_COLON] = ":",  [TOK_OROR] = "||",
    [TOK_ANDAND] = "&&",   [TOK_LT] = "<",       [TOK_LE] = "<=",    [TOK_GT] = ">",
    [TOK_GE] = ">=",       [TOK_EQ] = "==",      [TOK_NE] = "!=",    [TOK_PLUS] = "+",
    [TOK_MINUS] = "-",     [TOK_STAR] = "*",     [TOK_SLASH] = "/",  [TOK_PERCENT] = "%",
    [TOK_CARET] = "^",     [TOK_BANG] = "!",
};

const char *lex_token_spelling(tok_kind kind) {
    return kind < TOK__COUNT ? spellings[kind] : NULL;
}

bool lex_is_decl_keyword(tok_kind kind) {
    return kind == TOK_PARAM || kind == TOK_LET || kind == TOK_FN || kind == TOK_OUT ||
           kind == TOK_INPUT;
}

static void emit(lexer *lx, tok_kind kind, size_t start, size_t end, double num) {
    if (lx->count == lx->cap) {
        uint32_t cap = lx->cap * 2;
        token *grown = arena_realloc(lx->a, lx->toks, lx->cap * sizeof *lx->toks,
                                     (size_t)cap * sizeof *lx->toks);
        if (!grown) {
            lx->nomem = true;
            return;
        }
        lx->toks = grown;
        lx->cap = cap;
    }
    lx->toks[lx->count++] = (token){kind, (uint32_t)start, (uint32_t)end, num};
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}
static bool is_ident_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(int c) {
    return is_ident_start(c) || is_digit(c);
}

static int peek(const lexer *lx, size_t ahead) {
    return lx->pos + ahead < lx->len ? lx->src[lx->pos + ahead] : -1;
}

/* ------------------------------------------------------------ bad bytes */

/* The run of bytes from `start` that fail UTF-8 decoding. */
static size_t invalid_run_end(const lexer *lx, size_t start) {
    size_t p = start;
    uint32_t cp;
    while (p < lx->len && lx->src[p] != 0 && diag_utf8_decode(lx->src + p, lx->len - p, &cp) == 0)
        p++;
    return p;
}

/* Reports bytes at pos that are not UTF-8 text (invalid, NUL); returns false if there are none. */
static bool skip_bad_bytes(lexer *lx) {
    size_t start = lx->pos;
    uint32_t cp;
    if (lx->src[start] == 0) {
        size_t p = start;
        while (p < lx->len && lx->src[p] == 0) p++;
        diag_error(lx->d, E_NUL_BYTE, (uint32_t)start, (uint32_t)p,
                   "the file may be binary, or saved as UTF-16; save it as UTF-8 text",
                   "NUL byte in the source");
        lx->pos = p;
        return true;
    }
    if (lx->src[start] < 0x80 || diag_utf8_decode(lx->src + start, lx->len - start, &cp) > 0)
        return false;
    size_t p = invalid_run_end(lx, start);
    diag_error(lx->d, E_INVALID_UTF8, (uint32_t)start, (uint32_t)p, "save the file as UTF-8",
               "invalid UTF-8: byte 0x%02x does not start a valid character", lx->src[start]);
    lx->pos = p;
    return true;
}

/* Helps for characters people type from maths or other languages. */
static const char *bad_char_help(uint32_t cp) {
    switch (cp) {
    case '&':
        return "use `&&` for logical and";
    case '|':
        return "use `||` for logical or";
    case '{':
    case '}':
    case '[':
    case ']':
        return "group expressions with `(` and `)`";
    case '"':
    case '\'':
        return "the language has no strings";
    case 0x03C0:
        return "write `pi`";
    case 0x03C4:
        return "write `tau`";
    case 0x03B8:
        return "write `theta`";
    case 0x00B2:
        return "write `^2`";
    case 0x00B3:
        return "write `^3`";
    case 0x00D7:
    case 0x22C5:
    case 0x00B7:
        return "write `*`";
    case 0x00F7:
        return "write `/`";
    case 0x2212:
        return "write `-`";
    case 0x2264:
        return "write `<=`";
    case 0x2265:
        return "write `>=`";
    case 0x2260:
        return "write `!=`";
    default:
        return NULL;
    }
}

static void bad_character(lexer *lx) {
    size_t start = lx->pos;
    uint32_t cp;
    int k = diag_utf8_decode(lx->src + start, lx->len - start, &cp);
    lx->pos += (size_t)k;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
        diag_error(lx->d, E_BAD_CHAR, (uint32_t)start, (uint32_t)lx->pos, NULL,
                   "unexpected control character U+%04X", (unsigned)cp);
    } else if (cp == '`') {
        diag_error(lx->d, E_BAD_CHAR, (uint32_t)start, (uint32_t)lx->pos, NULL,
                   "unexpected backtick");
    } else {
        diag_error(lx->d, E_BAD_CHAR, (uint32_t)start, (uint32_t)lx->pos, bad_char_help(cp),
                   "unexpected character `%.*s`", k, (const char *)lx->src + start);
    }
    emit(lx, TOK_ERROR, start, lx->pos, 0);
}

/* ---------------------------------------------------------------- tokens */

/* Comments run to the end of the line; their bytes must still be UTF-8 text. */
static void skip_comment(lexer *lx) {
    while (lx->pos < lx->len && lx->src[lx->pos] != '\n') {
        if (skip_bad_bytes(lx)) continue;
        uint32_t cp;
        lx->pos += (size_t)diag_utf8_decode(lx->src + lx->pos, lx->len - lx->pos, &cp);
    }
}

static void skip_digits(lexer *lx) {
    while (lx->pos < lx->len && is_digit(lx->src[lx->pos])) lx->pos++;
}

/* number = digits [ "." digits? ] | "." digits, then an optional exponent. */
static void lex_number(lexer *lx) {
    size_t start = lx->pos;
    skip_digits(lx);
    if (peek(lx, 0) == '.' && peek(lx, 1) != '.') {
        lx->pos++;
        skip_digits(lx);
    }
    if (peek(lx, 0) == 'e' || peek(lx, 0) == 'E') {
        size_t exp = lx->pos + 1;
        if (exp < lx->len && (lx->src[exp] == '+' || lx->src[exp] == '-')) exp++;
        if (exp >= lx->len || !is_digit(lx->src[exp])) {
            while (lx->pos < lx->len && lx->pos < exp) lx->pos++;
            diag_error(lx->d, E_BAD_NUMBER, (uint32_t)start, (uint32_t)lx->pos,
                       "write the exponent's digits, as in `1e-3`",
                       "malformed number `%.*s`: the exponent has no digits",
                       (int)(lx->pos - start), (const char *)lx->src + start);
            emit(lx, TOK_ERROR, start, lx->pos, 0);
            return;
        }
        lx->pos = exp;
        skip_digits(lx);
    }
    char small[64], *text = small;
    size_t n = lx->pos - start;
    if (n >= sizeof small && !(text = arena_alloc(lx->a, n + 1))) {
        lx->nomem = true;
        return;
    }
    memcpy(text, lx->src + start, n);
    text[n] = '\0';
    double v = strtod_l(text, NULL, lx->c_locale);
    if (isinf(v)) {
        diag_error(lx->d, E_BAD_NUMBER, (uint32_t)start, (uint32_t)lx->pos, NULL,
                   "number `%s` is too large",
                   diag_snippet(lx->d, (uint32_t)start, (uint32_t)lx->pos, 40));
        emit(lx, TOK_ERROR, start, lx->pos, 0);
        return;
    }
    emit(lx, TOK_NUMBER, start, lx->pos, v);
}

static tok_kind keyword_kind(const unsigned char *s, size_t n) {
    static const tok_kind keywords[] = {TOK_PARAM, TOK_LET, TOK_FN, TOK_OUT, TOK_INPUT, TOK_IN};
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        const char *k = spellings[keywords[i]];
        if (strlen(k) == n && memcmp(k, s, n) == 0) return keywords[i];
    }
    return TOK_IDENT;
}

static void lex_word(lexer *lx) {
    size_t start = lx->pos;
    while (lx->pos < lx->len && is_ident_char(lx->src[lx->pos])) lx->pos++;
    emit(lx, keyword_kind(lx->src + start, lx->pos - start), start, lx->pos, 0);
}

/* Operators and punctuation; returns TOK_EOF when the byte starts none. */
static tok_kind operator_kind(const lexer *lx, size_t *width) {
    int c = peek(lx, 0), next = peek(lx, 1);
    *width = 2;
    if (c == '.' && next == '.') return TOK_DOTDOT;
    if (c == '|' && next == '|') return TOK_OROR;
    if (c == '&' && next == '&') return TOK_ANDAND;
    if (c == '<' && next == '=') return TOK_LE;
    if (c == '>' && next == '=') return TOK_GE;
    if (c == '=' && next == '=') return TOK_EQ;
    if (c == '!' && next == '=') return TOK_NE;
    *width = 1;
    switch (c) {
    case '(':
        return TOK_LPAREN;
    case ')':
        return TOK_RPAREN;
    case ',':
        return TOK_COMMA;
    case ';':
        return TOK_SEMI;
    case '.':
        return TOK_DOT;
    case '=':
        return TOK_ASSIGN;
    case '?':
        return TOK_QUESTION;
    case ':':
        return TOK_COLON;
    case '<':
        return TOK_LT;
    case '>':
        return TOK_GT;
    case '+':
        return TOK_PLUS;
    case '-':
        return TOK_MINUS;
    case '*':
        return TOK_STAR;
    case '/':
        return TOK_SLASH;
    case '%':
        return TOK_PERCENT;
    case '^':
        return TOK_CARET;
    case '!':
        return TOK_BANG;
    default:
        return TOK_EOF;
    }
}

/*
 * A string: "..." on one line, no escapes (an input's file name, which a
 * pattern writes once). The token's span includes the quotes.
 */
static void lex_string(lexer *lx) {
    size_t start = lx->pos++;
    while (lx->pos < lx->len && lx->src[lx->pos] != '"' && lx->src[lx->pos] != '\n') lx->pos++;
    if (lx->pos >= lx->len || lx->src[lx->pos] != '"') {
        diag_error(lx->d, E_BAD_STRING, (uint32_t)start, (uint32_t)lx->pos,
                   "close the string with `\"` on the same line", "unterminated string");
        emit(lx, TOK_ERROR, start, lx->pos, 0);
        return;
    }
    lx->pos++;
    emit(lx, TOK_STRING, start, lx->pos, 0);
}

static void lex_one(lexer *lx) {
    int c = lx->src[lx->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        lx->pos++;
    } else if (c == '#' || (c == '/' && peek(lx, 1) == '/')) {
        skip_comment(lx);
    } else if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1)))) {
        lex_number(lx);
    } else if (is_ident_start(c)) {
        lex_word(lx);
    } else if (c == '"') {
        lex_string(lx);
    } else if (!skip_bad_bytes(lx)) {
        size_t width;
        tok_kind kind = operator_kind(lx, &width);
        if (kind == TOK_EOF) {
            bad_character(lx);
        } else {
            emit(lx, kind, lx->pos, lx->pos + width, 0);
            lx->pos += width;
        }
    }
}

bool lex_source(arena *a, diag_list *d, const char *src, size_t len, token_list *out) {
    lexer lx = {.a = a, .d = d, .src = (const unsigned char *)src, .len = len};
    out->toks = NULL;
    out->count = 0;
    lx.cap = (uint32_t)(len / 4 < 64 ? 64 : len / 4);
    lx.toks = arena_alloc(a, lx.cap * sizeof *lx.toks);
    lx.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!lx.toks || !lx.c_locale) {
        if (lx.c_locale) freelocale(lx.c_locale);
        return false;
    }
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) lx.pos = 3; /* byte order mark */
    while (lx.pos < len && !lx.nomem && !diag_stopped(d)) lex_one(&lx);
    freelocale(lx.c_locale);
    /* EOF sits right after the last token, so "expected `)`" points at the end of the code. */
    uint32_t eof_at = lx.count ? lx.toks[lx.count - 1].end : 0;
    emit(&lx, TOK_EOF, eof_at, eof_at, 0);
    if (lx.nomem) return false;
    out->toks = lx.toks;
    out->count = lx.count;
    return true;
}

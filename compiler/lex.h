/*
 * lex.h - source bytes -> tokens with byte spans.
 *
 * The whole source is tokenized up front into an array in the arena (the
 * parser needs up to three tokens of lookahead for `sum(k in ...)`). Bad
 * bytes (invalid UTF-8, NUL, characters that are not part of the language)
 * are reported here and become TOK_ERROR tokens, so the parser can recover
 * without reporting them a second time.
 */
#ifndef SKY_LEX_H
#define SKY_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

/* ORDER TOK: lex_token_spelling() in lex.c follows this order. */
typedef enum tok_kind {
    TOK_EOF,
    TOK_ERROR, /* bad input, already reported by the lexer */
    TOK_NUMBER,
    TOK_IDENT,
    TOK_STRING, /* "text": no escapes, one line (an input's file name) */
    /* keywords */
    TOK_PARAM,
    TOK_LET,
    TOK_FN,
    TOK_OUT,
    TOK_INPUT,
    TOK_IN,
    /* punctuation and operators */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_SEMI,
    TOK_DOT,
    TOK_DOTDOT,
    TOK_ASSIGN,
    TOK_QUESTION,
    TOK_COLON,
    TOK_OROR,
    TOK_ANDAND,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_EQ,
    TOK_NE,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_PERCENT,
    TOK_CARET,
    TOK_BANG,
    TOK__COUNT
} tok_kind;

typedef struct token {
    uint32_t kind;       /* tok_kind */
    uint32_t start, end; /* byte span [start, end) */
    double num;          /* the value of a TOK_NUMBER */
} token;

typedef struct token_list {
    token *toks; /* ends with one TOK_EOF, whose span is empty, just after the last token */
    uint32_t count;
} token_list;

/*
 * Tokenizes src[0 .. len). Errors go to `d`. Returns false only when out of
 * memory; stops early (with a final TOK_EOF) once `d` is stopped.
 */
bool lex_source(arena *a, diag_list *d, const char *src, size_t len, token_list *out);

/* The fixed text of a keyword or operator ("let", "&&"), NULL for numbers, names, EOF, errors. */
const char *lex_token_spelling(tok_kind kind);
/* True for the keywords that start a declaration: param let fn out input. */
bool lex_is_decl_keyword(tok_kind kind);

#endif

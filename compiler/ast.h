/*
 * ast.h - the syntax tree of a .sky file, and the parser's entry point.
 *
 * One fat node type for expressions (as in chibicc): few kinds, few fields,
 * everything in the compile arena. Every node keeps its byte span for
 * diagnostics; a parenthesised expression's span includes its parentheses.
 * The checker fills in the resolution fields (sym, slot) in place.
 *
 * A declaration whose expression failed to parse keeps its name with
 * body == NULL ("poisoned"): the checker defines the name with an error type,
 * so a syntax error does not cascade into "unknown name" errors later on.
 */
#ifndef SKY_AST_H
#define SKY_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "lex.h"

typedef enum ast_kind {
    AST_ERROR,   /* a construct already reported as wrong (e.g. a bad swizzle) */
    AST_NUMBER,  /* num */
    AST_NAME,    /* name */
    AST_UNARY,   /* op a */
    AST_BINARY,  /* a op b */
    AST_TERNARY, /* a ? b : c */
    AST_CALL,    /* name(args) */
    AST_REDUCE,  /* name(var in lo..hi, a), name one of sum product min max */
    AST_SWIZZLE, /* a.swizzle */
} ast_kind;

typedef enum ast_reduce_op { REDUCE_SUM, REDUCE_PRODUCT, REDUCE_MIN, REDUCE_MAX } ast_reduce_op;

typedef struct ast_expr ast_expr;
struct ast_expr {
    uint8_t kind;        /* ast_kind */
    uint8_t op;          /* tok_kind of a unary or binary operator; ast_reduce_op */
    uint8_t swizzle_len; /* 1..3 */
    uint8_t swizzle[3];  /* component indices 0..2 */
    uint32_t start, end; /* span of the whole expression */
    uint32_t op_start;   /* span of the operator token (or of the name of a call) */
    uint32_t op_end;
    double num;
    const char *name; /* AST_NAME, AST_CALL, AST_REDUCE (the reduction's name) */
    ast_expr *a, *b, *c;
    ast_expr **args; /* AST_CALL */
    uint32_t nargs;
    /* AST_REDUCE */
    const char *var;
    uint32_t var_start, var_end;
    double lo, hi;
    uint32_t lo_start, lo_end, hi_start, hi_end;
    /* filled by the checker's name resolution */
    void *sym;    /* the top-level or built-in symbol a name or call refers to */
    int32_t slot; /* a local (fn parameter, reduction variable): its slot; -1 otherwise */
    bool bad;     /* resolution failed and was reported: lowering yields an error value */
};

typedef enum ast_decl_kind { DECL_PARAM, DECL_LET, DECL_FN, DECL_OUT, DECL_INPUT } ast_decl_kind;

typedef struct ast_decl {
    ast_decl_kind kind;
    uint32_t start, end; /* from the keyword to the end of the declaration */
    uint32_t kw_end;     /* end of the keyword */
    const char *name;    /* NULL for `out` */
    uint32_t name_start, name_end;
    ast_expr *body; /* NULL when it failed to parse */
    /* fn */
    const char **params;
    uint32_t *param_starts, *param_ends;
    uint32_t nparams;
    bool params_ok; /* the parameter list parsed */
    /* param: `in lo..hi` */
    bool has_range;
    double lo, hi;
    uint32_t range_start, range_end;
    /* param: a trailing `color` (a vec3 shown as a colour picker) */
    bool is_color;
    uint32_t color_start, color_end;
    /* input: `input name = source("path")` (compiler/pictures.c); NULL source when it failed */
    const char *source, *path; /* the source's name ("image") and the path, without quotes */
    uint32_t source_start, source_end, path_start, path_end;
} ast_decl;

typedef struct ast_program {
    ast_decl *decls;
    uint32_t count;
} ast_program;

/*
 * Parses the tokens of a whole file. Syntax errors go to `d`; the parser
 * recovers at the next declaration keyword. Returns false only when out of
 * memory; *out is then empty.
 */
bool parse_program(arena *a, diag_list *d, const char *src, const token_list *tokens,
                   ast_program *out);

/*
 * Writes `e` fully parenthesised ("(-(x ^ 2))") into buf, for tests and
 * debugging. Returns the length it needed (as snprintf does); 0, with buf
 * empty, when memory runs out.
 */
size_t ast_print(const ast_expr *e, char *buf, size_t size);

#endif

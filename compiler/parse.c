/*
 * parse.c - tokens -> syntax tree, with error recovery.
 *
 * Recursive descent, one function per grammar rule of the spec, each with
 * its rule above it. Precedence, loosest first:
 *
 *   ?:  (right)   ||   &&   < <= > >= == != (non-associative)   + -   * / %
 *   unary - !     ^ (right; its right operand is a unary, so -x^2 is -(x^2)
 *                  and 2^-1 is 2^(-1))     postfix .swizzle     primary
 *
 * Errors: the first syntax error in a declaration is reported and the parser
 * enters panic mode (later errors in the same declaration are not reported);
 * it then skips to the next declaration keyword (param let fn out) and goes
 * on, so one run reports one error per broken declaration and no cascades.
 * A token the lexer already reported (TOK_ERROR) puts the parser in panic
 * mode silently. Some mistakes are reported without panic because the shape
 * of the code is still clear: chained comparisons and bad swizzles become
 * AST_ERROR nodes and parsing continues.
 *
 * Nesting: every level of parentheses, every unary operator and `^`, every
 * conditional branch, call argument and reduction body, and every operator of
 * a left-associative chain counts one level, so the depth of the tree (and of every recursive walk
 * over it in the checker) is bounded by SKY_MAX_NESTING. A file of a million `(` gives one error,
 * not a stack overflow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "text.h"

typedef struct parser {
    arena *a;
    diag_list *d;
    const char *src;
    const token *toks;
    uint32_t ntoks;
    uint32_t pos;
    int depth;
    bool failed; /* panic mode: the current declaration already has an error */
    bool nomem;
} parser;

/* --------------------------------------------------------------- helpers */

static const token *cur(const parser *p) {
    return &p->toks[p->pos];
}

static const token *ahead(const parser *p, uint32_t k) {
    uint32_t i = p->pos + k;
    return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

static bool at(const parser *p, tok_kind kind) {
    return cur(p)->kind == kind;
}

static const token *advance(parser *p) {
    const token *t = cur(p);
    if (t->kind != TOK_EOF) p->pos++;
    return t;
}

static uint32_t prev_end(const parser *p) {
    return p->pos > 0 ? p->toks[p->pos - 1].end : 0;
}

/* How a token is named in a message: "`foo`", "number `1.5`", "keyword `let`", "end of file". */
static const char *describe(parser *p, const token *t) {
    switch (t->kind) {
    case TOK_EOF:
        return "end of file";
    case TOK_ERROR:
        return "invalid input";
    case TOK_NUMBER:
        return diag_fmt(p->d, "number `%s`", diag_snippet(p->d, t->start, t->end, 24));
    case TOK_IDENT:
        return diag_fmt(p->d, "`%s`", diag_snippet(p->d, t->start, t->end, 40));
    case TOK_STRING:
        return diag_fmt(p->d, "string `%s`", diag_snippet(p->d, t->start, t->end, 40));
    case TOK_PARAM:
    case TOK_LET:
    case TOK_FN:
    case TOK_OUT:
    case TOK_INPUT:
    case TOK_IN:
        return diag_fmt(p->d, "keyword `%s`", lex_token_spelling(t->kind));
    default:
        return diag_fmt(p->d, "`%s`", lex_token_spelling(t->kind));
    }
}

/* Reports a syntax error at token t (unless in panic mode or t was a lexer error); returns NULL. */
static void *fail_at(parser *p, const token *t, const char *code, const char *help, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
static void *fail_at(parser *p, const token *t, const char *code, const char *help, const char *fmt,
                     ...) {
    if (!p->failed && t->kind != TOK_ERROR) {
        va_list ap;
        va_start(ap, fmt);
        diag_verror(p->d, code, t->start, t->end, help, fmt, ap);
        va_end(ap);
    }
    p->failed = true;
    return NULL;
}

/* "expected X, found Y" at the current token. */
static void *expected(parser *p, const char *what, const char *help) {
    return fail_at(p, cur(p), E_SYNTAX, help, "expected %s, found %s", what, describe(p, cur(p)));
}

static bool expect(parser *p, tok_kind kind, const char *what) {
    if (at(p, kind)) {
        advance(p);
        return true;
    }
    if (!what) what = diag_fmt(p->d, "`%s`", lex_token_spelling(kind));
    expected(p, what, NULL);
    return false;
}

static char *copy_text(parser *p, uint32_t start, uint32_t end) {
    char *s = arena_strndup(p->a, p->src + start, end - start);
    if (!s) p->nomem = true;
    return s;
}

static ast_expr *new_expr(parser *p, ast_kind kind, uint32_t start, uint32_t end) {
    ast_expr *e = arena_alloc(p->a, sizeof *e);
    if (!e) {
        p->nomem = true;
        p->failed = true;
        return NULL;
    }
    e->kind = (uint8_t)kind;
    e->start = start;
    e->end = end;
    e->slot = -1;
    return e;
}

static ast_expr *new_binary(parser *p, const token *op, ast_expr *l, ast_expr *r) {
    ast_expr *e = new_expr(p, AST_BINARY, l->start, r->end);
    if (e) {
        e->op = (uint8_t)op->kind;
        e->op_start = op->start;
        e->op_end = op->end;
        e->a = l;
        e->b = r;
    }
    return e;
}

/* One more level of nesting, opened by token t; false (and an error) past SKY_MAX_NESTING. */
static bool enter_at(parser *p, const token *t) {
    if (++p->depth <= SKY_MAX_NESTING) return true;
    if (!p->failed)
        diag_error(p->d, E_LIMIT_NESTING, t->start, t->end,
                   "split the expression into smaller `let` declarations",
                   "expression is nested too deeply: more than %d levels of parentheses, "
                   "operators and calls",
                   SKY_MAX_NESTING);
    p->failed = true;
    return false;
}

/* A level opened by the current token (an operator about to be consumed). */
static bool enter(parser *p) {
    return enter_at(p, cur(p));
}

static void leave(parser *p, int levels) {
    p->depth -= levels;
}

static ast_expr *parse_expr(parser *p);
static ast_expr *parse_unary(parser *p);

/* ----------------------------------------------------------- expressions */

typedef ast_expr *(*parse_fn)(parser *p);

/* A left-associative chain: operand { op operand }; each operator nests one level. */
static ast_expr *parse_chain(parser *p, parse_fn operand, const tok_kind *ops, size_t nops) {
    ast_expr *left = operand(p);
    int levels = 0;
    while (left) {
        const token *op = cur(p);
        size_t i = 0;
        while (i < nops && op->kind != ops[i]) i++;
        if (i == nops) break;
        levels++;
        if (!enter(p)) {
            left = NULL;
            break;
        }
        advance(p);
        ast_expr *right = operand(p);
        left = right ? new_binary(p, op, left, right) : NULL;
    }
    leave(p, levels);
    return left;
}

/* primary = NUMBER | IDENT | call | reduce | "(" expr ")" ; (the rest below) */
static ast_expr *parse_primary(parser *p);

/* postfix = primary { "." SWIZZLE } ; */
static ast_expr *make_swizzle(parser *p, ast_expr *base, const token *letters);

static ast_expr *parse_postfix(parser *p) {
    ast_expr *e = parse_primary(p);
    int levels = 0;
    while (e && at(p, TOK_DOT)) {
        levels++;
        if (!enter(p)) {
            e = NULL;
            break;
        }
        advance(p);
        if (!at(p, TOK_IDENT)) {
            e = expected(p, "swizzle letters after `.` (such as `.xy` or `.rgb`)", NULL);
            break;
        }
        e = make_swizzle(p, e, advance(p));
    }
    leave(p, levels);
    return e;
}

static int swizzle_index(char c, int *set) {
    const char *xyz = "xyz", *rgb = "rgb";
    const char *hit = strchr(xyz, c);
    if (hit && c) {
        *set = 1;
        return (int)(hit - xyz);
    }
    hit = strchr(rgb, c);
    if (hit && c) {
        *set = 2;
        return (int)(hit - rgb);
    }
    return -1;
}

/* Checks the letters; a bad swizzle is reported and becomes AST_ERROR without panic. */
static ast_expr *make_swizzle(parser *p, ast_expr *base, const token *letters) {
    uint32_t n = letters->end - letters->start;
    const char *s = p->src + letters->start;
    ast_expr *e = new_expr(p, AST_SWIZZLE, base->start, letters->end);
    if (!e) return NULL;
    e->a = base;
    e->op_start = letters->start;
    e->op_end = letters->end;
    e->name = copy_text(p, letters->start, letters->end);
    const char *shown = diag_snippet(p->d, letters->start, letters->end, 20);
    int first_set = 0;
    for (uint32_t i = 0; i < n; i++) {
        int set = 0, k = swizzle_index(s[i], &set);
        if (k < 0) {
            diag_error(p->d, E_BAD_SWIZZLE, letters->start, letters->end,
                       "components are `x`, `y`, `z` or `r`, `g`, `b`",
                       "invalid swizzle `.%s`: `%c` is not a component", shown, s[i]);
            e->kind = AST_ERROR;
            return e;
        }
        if (first_set && set != first_set) {
            diag_error(p->d, E_BAD_SWIZZLE, letters->start, letters->end,
                       "use letters from one set: `xyz` or `rgb`",
                       "swizzle `.%s` mixes `xyz` and `rgb` letters", shown);
            e->kind = AST_ERROR;
            return e;
        }
        first_set = set;
        if (i < 3) e->swizzle[i] = (uint8_t)k;
    }
    if (n > 3) {
        diag_error(p->d, E_BAD_SWIZZLE, letters->start, letters->end,
                   "vectors have at most 3 components", "swizzle `.%s` has %u components", shown,
                   n);
        e->kind = AST_ERROR;
        return e;
    }
    e->swizzle_len = (uint8_t)n;
    return e;
}

/* power = postfix [ "^" unary ] ; */
static ast_expr *parse_power(parser *p) {
    ast_expr *base = parse_postfix(p);
    if (!base || !at(p, TOK_CARET)) return base;
    ast_expr *e = NULL;
    if (enter(p)) {
        const token *op = advance(p);
        ast_expr *exponent = parse_unary(p);
        e = exponent ? new_binary(p, op, base, exponent) : NULL;
    }
    leave(p, 1);
    return e;
}

/* unary = ( "-" | "!" ) unary | power ; */
static ast_expr *parse_unary(parser *p) {
    if (!at(p, TOK_MINUS) && !at(p, TOK_BANG)) return parse_power(p);
    ast_expr *e = NULL;
    if (enter(p)) {
        const token *op = advance(p);
        ast_expr *operand = parse_unary(p);
        e = operand ? new_expr(p, AST_UNARY, op->start, operand->end) : NULL;
        if (e) {
            e->op = (uint8_t)op->kind;
            e->op_start = op->start;
            e->op_end = op->end;
            e->a = operand;
        }
    }
    leave(p, 1);
    return e;
}

/* mul = unary { ( "*" | "/" | "%" ) unary } ; */
static ast_expr *parse_mul(parser *p) {
    static const tok_kind ops[] = {TOK_STAR, TOK_SLASH, TOK_PERCENT};
    return parse_chain(p, parse_unary, ops, 3);
}

/* add = mul { ( "+" | "-" ) mul } ; */
static ast_expr *parse_add(parser *p) {
    static const tok_kind ops[] = {TOK_PLUS, TOK_MINUS};
    return parse_chain(p, parse_mul, ops, 2);
}

static bool is_comparison(tok_kind k) {
    return k == TOK_LT || k == TOK_LE || k == TOK_GT || k == TOK_GE || k == TOK_EQ || k == TOK_NE;
}

/* "write `a < b && b < c`" when the operands are short enough to quote. */
static const char *chain_help(parser *p, const ast_expr *first, const token *op2,
                              const ast_expr *third) {
    const ast_expr *mid = first->b;
    if (third->end - first->start > 60 ||
        memchr(p->src + first->start, '\n', third->end - first->start))
        return "comparisons do not chain; combine two comparisons with `&&`";
    return diag_fmt(p->d, "write `%s && %s %s %s`",
                    diag_snippet(p->d, first->start, first->end, 60),
                    diag_snippet(p->d, mid->start, mid->end, 60), lex_token_spelling(op2->kind),
                    diag_snippet(p->d, third->start, third->end, 60));
}

/* cmp = add [ ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) add ] ;  (non-associative) */
static ast_expr *parse_cmp(parser *p) {
    ast_expr *left = parse_add(p);
    if (!left || !is_comparison(cur(p)->kind)) return left;
    const token *op = advance(p);
    ast_expr *right = parse_add(p);
    ast_expr *e = right ? new_binary(p, op, left, right) : NULL;
    if (!e || !is_comparison(cur(p)->kind)) return e;
    /* a < b < c: the shape is clear, so report it and keep parsing without panic. */
    const token *op2 = advance(p);
    ast_expr *third = parse_add(p);
    if (!third) return NULL;
    diag_error(p->d, E_CHAINED_COMPARE, e->start, third->end, chain_help(p, e, op2, third),
               "comparison operators cannot be chained");
    while (is_comparison(cur(p)->kind) && third) {
        advance(p);
        third = parse_add(p);
    }
    if (!third) return NULL;
    ast_expr *bad = new_expr(p, AST_ERROR, e->start, third->end);
    return bad;
}

/* and = cmp { "&&" cmp } ; */
static ast_expr *parse_and(parser *p) {
    static const tok_kind ops[] = {TOK_ANDAND};
    return parse_chain(p, parse_cmp, ops, 1);
}

/* or = and { "||" and } ; */
static ast_expr *parse_or(parser *p) {
    static const tok_kind ops[] = {TOK_OROR};
    return parse_chain(p, parse_and, ops, 1);
}

/* expr = or [ "?" expr ":" expr ] ;  (right-associative) */
static ast_expr *parse_expr(parser *p) {
    /* The level was opened by the token before: `(`, `,`, `?`, `:` or the declaration's `=`. */
    if (!enter_at(p, p->pos > 0 ? &p->toks[p->pos - 1] : cur(p))) {
        leave(p, 1);
        return NULL;
    }
    ast_expr *e = parse_or(p);
    if (e && at(p, TOK_QUESTION)) {
        const token *q = advance(p);
        ast_expr *then = parse_expr(p);
        ast_expr *otherwise = NULL;
        if (then && !at(p, TOK_COLON)) {
            expected(p, "`:` of the conditional `cond ? a : b`", NULL);
            then = NULL;
        } else if (then) {
            advance(p);
            otherwise = parse_expr(p);
        }
        ast_expr *cond = e;
        e = otherwise ? new_expr(p, AST_TERNARY, cond->start, otherwise->end) : NULL;
        if (e) {
            e->op_start = q->start;
            e->op_end = q->end;
            e->a = cond;
            e->b = then;
            e->c = otherwise;
        }
    }
    leave(p, 1);
    return e;
}

/* Reports a missing `)`, pointing back at the `(` it would close when that helps. */
static void *unclosed(parser *p, const token *open, const char *what) {
    const token *t = cur(p);
    bool runaway = t->kind == TOK_EOF || lex_is_decl_keyword(t->kind);
    bool reported = !p->failed && t->kind != TOK_ERROR;
    expected(p, what, NULL);
    if (reported && runaway) diag_note(p->d, open->start, open->end, "to match this `(`");
    return NULL;
}

/* A bound of a reduction or a param range: NUMBER, or "-" NUMBER (written `-1..1`). */
static bool parse_bound(parser *p, const char *what, double *value, uint32_t *start,
                        uint32_t *end) {
    const token *first = cur(p);
    bool negative = at(p, TOK_MINUS);
    if (negative) advance(p);
    if (!at(p, TOK_NUMBER)) {
        fail_at(p, cur(p), E_SYNTAX, "bounds are written as numbers, as in `0..4`",
                "expected a number for the %s, found %s", what, describe(p, cur(p)));
        return false;
    }
    const token *num = advance(p);
    *value = negative ? -num->num : num->num;
    *start = first->start;
    *end = num->end;
    return true;
}

static const char *const reduce_names[] = {"sum", "product", "min", "max"};

/* reduce = ( "sum" | "product" | "min" | "max" ) "(" IDENT "in" NUMBER ".." NUMBER "," expr ")" ;
 */
static ast_expr *parse_reduce(parser *p) {
    const token *name = advance(p);
    const char *text = copy_text(p, name->start, name->end);
    if (!text) return NULL;
    int op = 0;
    while (op < 4 && strcmp(text, reduce_names[op]) != 0) op++;
    if (op == 4) {
        diag_suggest s;
        diag_suggest_init(&s, text, strlen(text));
        for (int i = 0; i < 4; i++) diag_suggest_consider(&s, reduce_names[i]);
        const char *help = diag_suggest_help(p->d, &s);
        return fail_at(p, name, E_SYNTAX,
                       help ? help : "the reductions are `sum`, `product`, `min` and `max`",
                       "`%s` is not a reduction", diag_snippet(p->d, name->start, name->end, 40));
    }
    const token *open = advance(p);
    const token *var = advance(p);
    advance(p); /* `in`, checked by the caller's lookahead */
    ast_expr *e = new_expr(p, AST_REDUCE, name->start, name->end);
    if (!e) return NULL;
    e->op = (uint8_t)op;
    e->name = reduce_names[op];
    e->op_start = name->start;
    e->op_end = name->end;
    e->var = copy_text(p, var->start, var->end);
    e->var_start = var->start;
    e->var_end = var->end;
    if (!parse_bound(p, "lower bound of the range", &e->lo, &e->lo_start, &e->lo_end)) return NULL;
    if (!expect(p, TOK_DOTDOT, "`..` between the bounds of the range")) return NULL;
    if (!parse_bound(p, "upper bound of the range", &e->hi, &e->hi_start, &e->hi_end)) return NULL;
    if (!expect(p, TOK_COMMA, "`,` after the range")) return NULL;
    e->a = parse_expr(p);
    if (!e->a) return NULL;
    if (!at(p, TOK_RPAREN))
        return unclosed(p, open, diag_fmt(p->d, "`)` to close `%s(`", reduce_names[op]));
    e->end = advance(p)->end;
    return e;
}

/* call = IDENT "(" [ expr { "," expr } ] ")" ; */
/* The arguments of a call whose name (`name`, spanning start..end) is parsed; at `(`. */
static ast_expr *parse_call_args(parser *p, char *name, uint32_t start, uint32_t end) {
    const token *open = advance(p);
    ast_expr *e = new_expr(p, AST_CALL, start, end);
    if (!e) return NULL;
    e->name = name;
    e->op_start = start;
    e->op_end = end;
    uint32_t cap = 0;
    while (!at(p, TOK_RPAREN)) {
        ast_expr *arg = parse_expr(p);
        if (!arg) return NULL;
        if (e->nargs == cap) {
            uint32_t grown_cap = cap ? cap * 2 : 4;
            ast_expr **grown =
                arena_realloc(p->a, e->args, cap * sizeof *e->args, grown_cap * sizeof *e->args);
            if (!grown) {
                p->nomem = p->failed = true;
                return NULL;
            }
            e->args = grown;
            cap = grown_cap;
        }
        e->args[e->nargs++] = arg;
        if (at(p, TOK_COMMA)) {
            advance(p);
            continue;
        }
        if (!at(p, TOK_RPAREN)) {
            const char *what =
                diag_fmt(p->d, "`,` or `)` in the arguments of `%s`", e->name ? e->name : "");
            return unclosed(p, open, what);
        }
    }
    e->end = advance(p)->end;
    return e;
}

static ast_expr *parse_call(parser *p) {
    const token *name = advance(p);
    return parse_call_args(p, copy_text(p, name->start, name->end), name->start, name->end);
}

/*
 * namespaced = "audio" "." IDENT [ "(" args ")" ] ; one name "audio.IDENT"
 * (a value or a function) for the checker, which knows the members. `audio`
 * followed by `.` is always this, never a swizzle.
 */
static ast_expr *parse_namespaced(parser *p) {
    const token *space = advance(p);
    advance(p); /* . */
    const token *member = advance(p);
    size_t len = (size_t)(space->end - space->start) + 1 + (member->end - member->start);
    char *name = arena_alloc(p->a, len + 1);
    if (!name) {
        p->nomem = p->failed = true;
        return NULL;
    }
    snprintf(name, len + 1, "%.*s.%.*s", (int)(space->end - space->start), p->src + space->start,
             (int)(member->end - member->start), p->src + member->start);
    if (at(p, TOK_LPAREN)) return parse_call_args(p, name, space->start, member->end);
    ast_expr *e = new_expr(p, AST_NAME, space->start, member->end);
    if (e) {
        e->name = name;
        e->op_start = member->start; /* errors about the member point at it */
        e->op_end = member->end;
    }
    return e;
}

/* What an expression cannot start with, and what to write instead. */
static const char *expression_help(const token *t) {
    switch (t->kind) {
    case TOK_ASSIGN:
        return "use `==` to compare";
    case TOK_PLUS:
        return "there is no unary `+`; write the number alone";
    case TOK_IN:
        return "`in` is a keyword; it appears only in ranges such as `0..4`";
    default:
        return NULL;
    }
}

static ast_expr *parse_primary(parser *p) {
    const token *t = cur(p);
    if (t->kind == TOK_NUMBER) {
        advance(p);
        ast_expr *e = new_expr(p, AST_NUMBER, t->start, t->end);
        if (e) e->num = t->num;
        return e;
    }
    if (t->kind == TOK_IDENT) {
        if (ahead(p, 1)->kind == TOK_DOT && ahead(p, 2)->kind == TOK_IDENT &&
            t->end - t->start == 5 && memcmp(p->src + t->start, "audio", 5) == 0)
            return parse_namespaced(p);
        if (ahead(p, 1)->kind == TOK_LPAREN) {
            if (ahead(p, 2)->kind == TOK_IDENT && ahead(p, 3)->kind == TOK_IN)
                return parse_reduce(p);
            return parse_call(p);
        }
        advance(p);
        ast_expr *e = new_expr(p, AST_NAME, t->start, t->end);
        if (e) {
            e->name = copy_text(p, t->start, t->end);
            e->op_start = t->start;
            e->op_end = t->end;
        }
        return e;
    }
    if (t->kind == TOK_LPAREN) {
        advance(p);
        ast_expr *e = parse_expr(p);
        if (!e) return NULL;
        if (!at(p, TOK_RPAREN)) return unclosed(p, t, "`)`");
        /* The span covers the parentheses, so quoting it for a fix keeps them. */
        e->start = t->start;
        e->end = advance(p)->end;
        return e;
    }
    return expected(p, "an expression", expression_help(t));
}

/* ---------------------------------------------------------- declarations */

/* A declaration's name: IDENT. */
static bool parse_decl_name(parser *p, ast_decl *decl, const char *keyword) {
    const token *t = cur(p);
    if (t->kind != TOK_IDENT) {
        const char *help = NULL;
        if (t->kind >= TOK_PARAM && t->kind <= TOK_IN)
            help = diag_fmt(p->d, "`%s` is a keyword and cannot be a name",
                            lex_token_spelling(t->kind));
        fail_at(p, t, E_SYNTAX, help, "expected a name after `%s`, found %s", keyword,
                describe(p, t));
        return false;
    }
    advance(p);
    decl->name = copy_text(p, t->start, t->end);
    decl->name_start = t->start;
    decl->name_end = t->end;
    return decl->name != NULL;
}

static bool expect_assign(parser *p, const ast_decl *decl, const char *keyword) {
    if (at(p, TOK_ASSIGN)) {
        advance(p);
        return true;
    }
    const char *what = diag_fmt(p->d, "`=` after `%s %s`", keyword,
                                diag_snippet(p->d, decl->name_start, decl->name_end, 40));
    expected(p, what, NULL);
    return false;
}

/*
 * A trailing `color` after a param's value: a contextual word, not a keyword,
 * so `color` stays usable as a name everywhere else.
 */
static void parse_param_color(parser *p, ast_decl *decl) {
    const token *t = cur(p);
    if (t->kind != TOK_IDENT || t->end - t->start != 5 || memcmp(p->src + t->start, "color", 5) != 0)
        return;
    advance(p);
    decl->is_color = true;
    decl->color_start = t->start;
    decl->color_end = t->end;
}

/* "param" IDENT "=" expr [ "in" NUMBER ".." NUMBER ] [ "color" ] */
static void parse_param_decl(parser *p, ast_decl *decl) {
    if (!parse_decl_name(p, decl, "param") || !expect_assign(p, decl, "param")) return;
    decl->body = parse_expr(p);
    if (!decl->body) return;
    if (at(p, TOK_IN)) {
        advance(p);
        uint32_t unused;
        bool ok =
            parse_bound(p, "lower bound of the range", &decl->lo, &decl->range_start, &unused) &&
            expect(p, TOK_DOTDOT, "`..` between the bounds of the range") &&
            parse_bound(p, "upper bound of the range", &decl->hi, &unused, &decl->range_end);
        if (!ok) {
            decl->body = NULL;
            return;
        }
        decl->has_range = true;
    }
    parse_param_color(p, decl);
}

/* "fn" IDENT "(" [ IDENT { "," IDENT } ] ")" "=" expr */
static bool parse_fn_params(parser *p, ast_decl *decl) {
    if (!expect(p, TOK_LPAREN, "`(` and the parameter list after the function's name"))
        return false;
    uint32_t cap = 0;
    while (!at(p, TOK_RPAREN)) {
        if (!at(p, TOK_IDENT)) {
            expected(p, "a parameter name", NULL);
            return false;
        }
        const token *t = advance(p);
        if (decl->nparams == cap) {
            uint32_t n = cap ? cap * 2 : 4;
            decl->params = arena_realloc(p->a, decl->params, cap * sizeof *decl->params,
                                         n * sizeof *decl->params);
            decl->param_starts = arena_realloc(p->a, decl->param_starts, cap * sizeof(uint32_t),
                                               n * sizeof(uint32_t));
            decl->param_ends =
                arena_realloc(p->a, decl->param_ends, cap * sizeof(uint32_t), n * sizeof(uint32_t));
            if (!decl->params || !decl->param_starts || !decl->param_ends) {
                p->nomem = p->failed = true;
                return false;
            }
            cap = n;
        }
        decl->params[decl->nparams] = copy_text(p, t->start, t->end);
        decl->param_starts[decl->nparams] = t->start;
        decl->param_ends[decl->nparams] = t->end;
        decl->nparams++;
        if (at(p, TOK_COMMA)) {
            advance(p);
        } else if (!at(p, TOK_RPAREN)) {
            expected(p, "`,` or `)` in the parameter list", NULL);
            return false;
        }
    }
    advance(p);
    decl->params_ok = true;
    return true;
}

static void parse_fn_decl(parser *p, ast_decl *decl) {
    if (!parse_decl_name(p, decl, "fn") || !parse_fn_params(p, decl)) return;
    if (!expect_assign(p, decl, "fn")) return;
    decl->body = parse_expr(p);
}

/* "input" IDENT "=" IDENT "(" STRING ")": the source's name is checked by the checker. */
static void parse_input_decl(parser *p, ast_decl *decl) {
    if (!parse_decl_name(p, decl, "input") || !expect_assign(p, decl, "input")) return;
    const char *usage = "an input is declared as `input pic = image(\"logo.png\")`, "
                        "`video(\"show.mp4\")` or `camera(\"/dev/video0\")`";
    const token *src = cur(p);
    if (src->kind != TOK_IDENT) {
        fail_at(p, src, E_SYNTAX, usage, "expected `image`, `video` or `camera`, found %s",
                describe(p, src));
        return;
    }
    advance(p);
    if (!expect(p, TOK_LPAREN, "`(` and a file name in quotes")) return;
    const token *path = cur(p);
    if (path->kind != TOK_STRING) {
        fail_at(p, path, E_SYNTAX, usage, "expected a file name in quotes, found %s",
                describe(p, path));
        return;
    }
    advance(p);
    if (!expect(p, TOK_RPAREN, "`)` after the file name")) return;
    decl->source = copy_text(p, src->start, src->end);
    decl->path = copy_text(p, path->start + 1, path->end - 1);
    decl->source_start = src->start;
    decl->source_end = src->end;
    decl->path_start = path->start;
    decl->path_end = path->end;
    if (!decl->source || !decl->path) p->nomem = p->failed = true;
}

/* Keywords people bring from other languages. */
static const char *declaration_help(parser *p, const token *t) {
    if (t->kind != TOK_IDENT) return NULL;
    const char *word = diag_snippet(p->d, t->start, t->end, 40);
    static const char *const lets[] = {"const", "var", "val", "set", "float", "vec3"};
    static const char *const fns[] = {"def", "func", "function", "fun"};
    for (size_t i = 0; i < sizeof lets / sizeof lets[0]; i++)
        if (strcmp(word, lets[i]) == 0) return "values are declared with `let name = ...`";
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(word, fns[i]) == 0) return "functions are declared with `fn name(a, b) = ...`";
    if (strcmp(word, "return") == 0) return "the colour is given with `out expr`";
    diag_suggest s;
    diag_suggest_init(&s, word, strlen(word));
    static const tok_kind kws[] = {TOK_PARAM, TOK_LET, TOK_FN, TOK_OUT};
    for (size_t i = 0; i < 4; i++) diag_suggest_consider(&s, lex_token_spelling(kws[i]));
    const char *help = diag_suggest_help(p->d, &s);
    if (help) return help;
    if (t->kind != TOK_EOF && (t + 1)->kind == TOK_ASSIGN)
        return diag_fmt(p->d, "to define `%s`, write `let %s = ...`", word, word);
    return NULL;
}

/* True when token t is the first on its line: it probably starts a new declaration. */
static bool starts_line(const parser *p, const token *t) {
    uint32_t i = t->start;
    while (i > 0 && (p->src[i - 1] == ' ' || p->src[i - 1] == '\t')) i--;
    return i == 0 || p->src[i - 1] == '\n' || p->src[i - 1] == '\r';
}

static void bad_declaration(parser *p, const token *t) {
    fail_at(p, t, E_SYNTAX, declaration_help(p, t),
            "expected a declaration (`param`, `let`, `fn` or `out`), found %s", describe(p, t));
}

/*
 * Something follows a complete expression. When a line starts with a name
 * (`foo = 1`, or `parm c = 1` read as part of the expression above), the
 * line was meant as a declaration: say so there.
 */
static void junk_after(parser *p) {
    const token *t = cur(p), *before = &p->toks[p->pos - 1];
    if (t->kind == TOK_IDENT && starts_line(p, t)) {
        bad_declaration(p, t);
        return;
    }
    if (before->kind == TOK_IDENT && starts_line(p, before) && declaration_help(p, before)) {
        bad_declaration(p, before);
        return;
    }
    const char *help = t->kind == TOK_ASSIGN ? "use `==` to compare" : NULL;
    fail_at(p, t, E_SYNTAX, help, "expected an operator or the end of the declaration, found %s",
            describe(p, t));
}

static void skip_to_declaration(parser *p) {
    while (!at(p, TOK_EOF) && !lex_is_decl_keyword(cur(p)->kind)) advance(p);
}

/* decl = param | let | fn | out, each with an optional ";". */
static bool parse_decl(parser *p, ast_decl *decl) {
    const token *kw = advance(p);
    memset(decl, 0, sizeof *decl);
    decl->start = kw->start;
    decl->kw_end = kw->end;
    switch (kw->kind) {
    case TOK_PARAM:
        decl->kind = DECL_PARAM;
        parse_param_decl(p, decl);
        break;
    case TOK_LET:
        decl->kind = DECL_LET;
        if (parse_decl_name(p, decl, "let") && expect_assign(p, decl, "let"))
            decl->body = parse_expr(p);
        break;
    case TOK_FN:
        decl->kind = DECL_FN;
        parse_fn_decl(p, decl);
        break;
    case TOK_INPUT:
        decl->kind = DECL_INPUT;
        parse_input_decl(p, decl);
        break;
    default:
        decl->kind = DECL_OUT;
        decl->body = parse_expr(p);
        break;
    }
    if (!p->failed && at(p, TOK_SEMI)) advance(p);
    decl->end = prev_end(p);
    if (!p->failed && !at(p, TOK_EOF) && !lex_is_decl_keyword(cur(p)->kind)) junk_after(p);
    /* A broken declaration keeps its name (so later uses do not cascade) but no body. */
    if (p->failed) decl->body = NULL;
    return decl->kind == DECL_OUT || decl->name != NULL;
}

static bool push_decl(parser *p, ast_program *prog, uint32_t *cap, ast_decl **slot) {
    if (prog->count == *cap) {
        uint32_t n = *cap ? *cap * 2 : 16;
        ast_decl *grown =
            arena_realloc(p->a, prog->decls, *cap * sizeof *prog->decls, n * sizeof *prog->decls);
        if (!grown) return false;
        prog->decls = grown;
        *cap = n;
    }
    *slot = &prog->decls[prog->count];
    return true;
}

bool parse_program(arena *a, diag_list *d, const char *src, const token_list *tokens,
                   ast_program *out) {
    parser p = {.a = a, .d = d, .src = src, .toks = tokens->toks, .ntoks = tokens->count};
    out->decls = NULL;
    out->count = 0;
    uint32_t cap = 0;
    while (!at(&p, TOK_EOF) && !p.nomem && !diag_stopped(d)) {
        p.failed = false;
        p.depth = -1; /* a declaration's expression itself is level 0 */
        if (!lex_is_decl_keyword(cur(&p)->kind)) {
            bad_declaration(&p, cur(&p));
            advance(&p);
            skip_to_declaration(&p);
            continue;
        }
        ast_decl *slot;
        if (!push_decl(&p, out, &cap, &slot)) {
            p.nomem = true;
            break;
        }
        if (parse_decl(&p, slot)) out->count++;
        if (p.failed) skip_to_declaration(&p);
    }
    if (p.nomem || d->nomem) {
        out->decls = NULL;
        out->count = 0;
        return false;
    }
    return true;
}

/* ------------------------------------------------------------- printing */

static void print_expr(text_buf *w, const ast_expr *e) {
    switch ((ast_kind)e->kind) {
    case AST_ERROR:
        text_printf(w, "<error>");
        break;
    case AST_NUMBER:
        text_printf(w, "%g", e->num);
        break;
    case AST_NAME:
        text_printf(w, "%s", e->name);
        break;
    case AST_UNARY:
        text_printf(w, "(%s", lex_token_spelling(e->op));
        print_expr(w, e->a);
        text_printf(w, ")");
        break;
    case AST_BINARY:
        text_printf(w, "(");
        print_expr(w, e->a);
        text_printf(w, " %s ", lex_token_spelling(e->op));
        print_expr(w, e->b);
        text_printf(w, ")");
        break;
    case AST_TERNARY:
        text_printf(w, "(");
        print_expr(w, e->a);
        text_printf(w, " ? ");
        print_expr(w, e->b);
        text_printf(w, " : ");
        print_expr(w, e->c);
        text_printf(w, ")");
        break;
    case AST_CALL:
        text_printf(w, "%s(", e->name);
        for (uint32_t i = 0; i < e->nargs; i++) {
            if (i) text_printf(w, ", ");
            print_expr(w, e->args[i]);
        }
        text_printf(w, ")");
        break;
    case AST_REDUCE:
        text_printf(w, "%s(%s in %g..%g, ", e->name, e->var, e->lo, e->hi);
        print_expr(w, e->a);
        text_printf(w, ")");
        break;
    case AST_SWIZZLE:
        text_printf(w, "(");
        print_expr(w, e->a);
        text_printf(w, ".%s)", e->name);
        break;
    }
}

size_t ast_print(const ast_expr *e, char *buf, size_t size) {
    text_buf w = {0};
    if (e)
        print_expr(&w, e);
    else
        text_puts(&w, "<null>");
    size_t len = 0;
    char *s = text_take(&w, &len);
    if (size) {
        size_t n = s ? (len < size ? len : size - 1) : 0;
        if (n) memcpy(buf, s, n);
        buf[n] = '\0';
    }
    bool ok = s != NULL;
    free(s);
    return ok ? len : 0;
}

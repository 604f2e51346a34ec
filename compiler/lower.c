/*
 * lower.c - type-checks expressions and lowers them into graph nodes.
 *
 * A value is a type and one to three node ids: a vector is its scalar
 * components, and a float broadcasts by reuse. A name bound by resolve.c
 * reads its local slot in the active frame or its symbol; operators check
 * their operand types (with help built from the code as written) and map
 * per component; reductions are unrolled with the variable a constant per
 * iteration; calls go to inline.c or builtins.c. An error yields CK_ERR,
 * which every consumer passes on silently, so one mistake gives one message.
 *
 * Two bounds keep adversarial input from crashing or hanging the compiler,
 * beside the graph's node limit (types.c): the depth of lowering, summed
 * over inlined calls, and the total work.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

/* Lowering recursion, summed over inlined calls (each level costs a few C frames). */
#define CHECK_MAX_DEPTH (SKY_MAX_NESTING * 4)
/* Lowering steps (expression visits and inlined locals): far above any real pattern. */
#define CHECK_MAX_STEPS (1u << 22)

/* -------------------------------------------------------------- slots */

/* Reserves n local slots (holding CK_ERR) on the stack; *base is the first. */
bool ck_push_slots(ck_checker *ck, uint32_t n, size_t *base) {
    *base = ck->stack_len;
    if (ck->stack_len + n > ck->stack_cap) {
        size_t cap = ck->stack_cap ? ck->stack_cap : 256;
        while (cap < ck->stack_len + n) cap *= 2;
        ck_value *grown = realloc(ck->stack, cap * sizeof *grown);
        if (!grown) {
            ck_fail_nomem(ck);
            return false;
        }
        ck->stack = grown;
        ck->stack_cap = cap;
    }
    for (uint32_t i = 0; i < n; i++) ck->stack[ck->stack_len + i] = CK_ERR;
    ck->stack_len += n;
    ck->steps += n;
    return true;
}

/* ------------------------------------------------------------ expressions */

static ck_value lower_name(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    if (e->bad) return CK_ERR;
    if (e->slot >= 0) return ck->stack[f->base + (size_t)e->slot];
    const ck_sym *s = e->sym;
    switch (s->kind) {
    case CK_SYM_INPUT:
        if (s->op == CK_INPUT_POS) {
            static const sky_op axes[3] = {OP_X, OP_Y, OP_Z};
            ck_value v = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
            for (int c = 0; c < 3; c++)
                v.n[c] = ck_mk(ck, axes[c], GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, 0);
            return ck_done(ck, v);
        }
        return ck_scalar(ck, CK_TY_FLOAT, ck_mk(ck, s->op, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, s->imm));
    case CK_SYM_CONST:
        return ck_scalar(ck, CK_TY_FLOAT, ck_const(ck, s->constant));
    case CK_SYM_PREV: {
        ck_value v = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
        for (int c = 0; c < 3; c++)
            v.n[c] = ck_mk(ck, OP_PREV, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, c);
        return ck_done(ck, v);
    }
    case CK_SYM_PARAM:
    case CK_SYM_LET:
        return s->val;
    default:
        return CK_ERR;
    }
}

static ck_value lower_unary(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    ck_value a = ck_lower(ck, f, e->a);
    if (a.type == CK_TY_ERROR) return CK_ERR;
    if (e->op == TOK_MINUS)
        return ck_need_number(ck, f, e->a, a, NULL) ? ck_map1(ck, OP_NEG, a) : CK_ERR;
    if (a.type != CK_TY_BOOL) {
        ck_error(ck, f, E_NUMBER_AS_BOOL, e->a->start, e->a->end, "compare it, as in `!(x > 0)`",
                 "`!` takes a `bool`, found `%s`", ck_type_name(a.type));
        return CK_ERR;
    }
    return ck_map1(ck, OP_NOT, a);
}

static sky_op arith_op(int tok) {
    switch (tok) {
    case TOK_PLUS:
        return OP_ADD;
    case TOK_MINUS:
        return OP_SUB;
    case TOK_STAR:
        return OP_MUL;
    case TOK_SLASH:
        return OP_DIV;
    case TOK_PERCENT:
        return OP_MOD;
    case TOK_CARET:
        return OP_POW;
    case TOK_LT:
        return OP_LT;
    case TOK_LE:
        return OP_LE;
    case TOK_GT:
        return OP_GT;
    case TOK_GE:
        return OP_GE;
    case TOK_EQ:
        return OP_EQ;
    case TOK_NE:
        return OP_NE;
    case TOK_ANDAND:
        return OP_AND;
    default:
        return OP_OR;
    }
}

static const char *quote(ck_checker *ck, const ast_expr *e) {
    return diag_snippet(ck->d, e->start, e->end, 40);
}

static bool single_line_short(const ck_checker *ck, const ast_expr *e) {
    return e->end - e->start <= 60 && !memchr(ck->d->src + e->start, '\n', e->end - e->start);
}

/*
 * The fix for `(r > 0.5) * 2`, as the spec words it: "write `step(0.5, r) * 2`
 * or `r > 0.5 ? 2 : 0`", built from the code as written.
 */
static const char *bool_arith_help(ck_checker *ck, const ast_expr *e, bool bool_left) {
    const ast_expr *b = bool_left ? e->a : e->b, *other = bool_left ? e->b : e->a;
    bool ordered = b->kind == AST_BINARY &&
                   (b->op == TOK_LT || b->op == TOK_LE || b->op == TOK_GT || b->op == TOK_GE);
    if (!ordered || !single_line_short(ck, e)) return CHECK_BOOL_HELP;
    const char *lhs = quote(ck, b->a), *rhs = quote(ck, b->b), *o = quote(ck, other);
    bool greater = b->op == TOK_GT || b->op == TOK_GE;
    const char *step = diag_fmt(ck->d, "step(%s, %s)", greater ? rhs : lhs, greater ? lhs : rhs);
    const char *op = lex_token_spelling(e->op);
    const char *with_step = bool_left ? diag_fmt(ck->d, "%s %s %s", step, op, o)
                                      : diag_fmt(ck->d, "%s %s %s", o, op, step);
    if (e->op != TOK_STAR) return diag_fmt(ck->d, "write `%s`", with_step);
    return diag_fmt(ck->d, "write `%s` or `%s %s %s ? %s : 0`", with_step, lhs,
                    lex_token_spelling(b->op), rhs, o);
}

static ck_value lower_arith(ck_checker *ck, const ck_frame *f, const ast_expr *e, ck_value l,
                            ck_value r) {
    if (l.type == CK_TY_BOOL || r.type == CK_TY_BOOL) {
        const ast_expr *where = l.type == CK_TY_BOOL ? e->a : e->b;
        ck_need_number(ck, f, where, l.type == CK_TY_BOOL ? l : r,
                       bool_arith_help(ck, e, l.type == CK_TY_BOOL));
        return CK_ERR;
    }
    ck_value v[2] = {l, r};
    int w = ck_common_width(ck, f, e, v, 2, E_VECTOR_SIZES, "for `%s`", lex_token_spelling(e->op));
    return w ? ck_map2(ck, arith_op(e->op), l, r, w) : CK_ERR;
}

static ck_value lower_compare(ck_checker *ck, const ck_frame *f, const ast_expr *e, ck_value l,
                              ck_value r) {
    const ck_value *v[2] = {&l, &r};
    const ast_expr *side[2] = {e->a, e->b};
    for (int i = 0; i < 2; i++) {
        if (v[i]->type == CK_TY_BOOL) {
            ck_error(ck, f, E_BOOL_AS_NUMBER, side[i]->start, side[i]->end,
                     "comparisons take numbers; combine `bool`s with `&&` and `||`",
                     "a `bool` cannot be compared with `%s`", lex_token_spelling(e->op));
            return CK_ERR;
        }
        if (v[i]->type != CK_TY_FLOAT) {
            ck_error(ck, f, E_ARGUMENT_TYPE, side[i]->start, side[i]->end,
                     "compare one component, as in `p.x < 0.5`, or the length, `length(p)`",
                     "comparisons take `float` operands, found `%s`", ck_type_name(v[i]->type));
            return CK_ERR;
        }
    }
    return ck_scalar(ck, CK_TY_BOOL, ck_mk2(ck, arith_op(e->op), l.n[0], r.n[0]));
}

static ck_value lower_logic(ck_checker *ck, const ck_frame *f, const ast_expr *e, ck_value l,
                            ck_value r) {
    const ck_value *v[2] = {&l, &r};
    const ast_expr *side[2] = {e->a, e->b};
    for (int i = 0; i < 2; i++) {
        if (v[i]->type != CK_TY_BOOL) {
            ck_error(ck, f, E_NUMBER_AS_BOOL, side[i]->start, side[i]->end,
                     "compare it, as in `x > 0`", "`%s` takes `bool` operands, found `%s`",
                     lex_token_spelling(e->op), ck_type_name(v[i]->type));
            return CK_ERR;
        }
    }
    return ck_scalar(ck, CK_TY_BOOL, ck_mk2(ck, arith_op(e->op), l.n[0], r.n[0]));
}

static ck_value lower_binary(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    ck_value l = ck_lower(ck, f, e->a);
    ck_value r = ck_lower(ck, f, e->b);
    if (l.type == CK_TY_ERROR || r.type == CK_TY_ERROR) return CK_ERR;
    switch (e->op) {
    case TOK_LT:
    case TOK_LE:
    case TOK_GT:
    case TOK_GE:
    case TOK_EQ:
    case TOK_NE:
        return lower_compare(ck, f, e, l, r);
    case TOK_ANDAND:
    case TOK_OROR:
        return lower_logic(ck, f, e, l, r);
    default:
        return lower_arith(ck, f, e, l, r);
    }
}

static ck_value lower_ternary(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    ck_value c = ck_lower(ck, f, e->a);
    ck_value a = ck_lower(ck, f, e->b);
    ck_value b = ck_lower(ck, f, e->c);
    if (c.type == CK_TY_ERROR || a.type == CK_TY_ERROR || b.type == CK_TY_ERROR) return CK_ERR;
    if (c.type != CK_TY_BOOL) {
        ck_error(ck, f, E_NUMBER_AS_BOOL, e->a->start, e->a->end,
                 "compare it, as in `x > 0 ? a : b`",
                 "the condition of `?:` must be a `bool`, found `%s`", ck_type_name(c.type));
        return CK_ERR;
    }
    if ((a.type == CK_TY_BOOL) != (b.type == CK_TY_BOOL)) {
        ck_error(ck, f, E_BRANCH_TYPES, e->b->start, e->c->end, CHECK_BOOL_HELP,
                 "the branches of `?:` have different types: `%s` and `%s`", ck_type_name(a.type),
                 ck_type_name(b.type));
        return CK_ERR;
    }
    ck_value v[2] = {a, b};
    int w = ck_common_width(ck, f, e, v, 2, E_BRANCH_TYPES, "in the branches of `?:`%s", "");
    if (!w) return CK_ERR;
    ck_value args[3] = {c, a, b};
    return ck_map_op(ck, OP_SELECT, w, args, 3, a.type == CK_TY_BOOL ? CK_TY_BOOL : ck_vec_type(w));
}

static ck_value lower_swizzle(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    ck_value v = ck_lower(ck, f, e->a);
    if (v.type == CK_TY_ERROR) return CK_ERR;
    if (v.type == CK_TY_FLOAT || v.type == CK_TY_BOOL) {
        ck_error(ck, f, E_SWIZZLE_TYPE, e->op_start, e->op_end,
                 "swizzles pick components of a `vec2` or a `vec3`", "cannot swizzle a `%s`",
                 ck_type_name(v.type));
        return CK_ERR;
    }
    ck_value out = {ck_vec_type(e->swizzle_len), {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < e->swizzle_len; i++) {
        if (e->swizzle[i] >= ck_width(v.type)) {
            ck_error(ck, f, E_SWIZZLE_TYPE, e->op_start, e->op_end, NULL,
                     "`%s` has no component `%c`", ck_type_name(v.type), e->name[i]);
            return CK_ERR;
        }
        out.n[i] = v.n[e->swizzle[i]];
    }
    return out;
}

/* ------------------------------------------------------------ reductions */

static bool check_bounds(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    const double bound[2] = {e->lo, e->hi};
    const uint32_t starts[2] = {e->lo_start, e->hi_start}, ends[2] = {e->lo_end, e->hi_end};
    for (int i = 0; i < 2; i++) {
        if (floor(bound[i]) != bound[i]) {
            ck_error(ck, f, E_REDUCE_BOUNDS, starts[i], ends[i],
                     "the range is of integers: `a..b` runs a, a + 1, ..., b - 1",
                     "reduction bounds must be integers, found `%s`",
                     diag_snippet(ck->d, starts[i], ends[i], 24));
            return false;
        }
    }
    if (e->hi <= e->lo) {
        const char *range = diag_snippet(ck->d, e->lo_start, e->hi_end, 40);
        ck_error(ck, f, E_REDUCE_BOUNDS, e->lo_start, e->hi_end,
                 "the range `a..b` runs from a up to b - 1, so b must be larger than a",
                 "the range `%s` of `%s` is empty", range, e->name);
        return false;
    }
    if (e->hi - e->lo > SKY_MAX_REDUCE_ITERS) {
        const char *range = diag_snippet(ck->d, e->lo_start, e->hi_end, 40);
        ck_error(ck, f, E_LIMIT_ITERATIONS, e->lo_start, e->hi_end,
                 "reductions are unrolled at compile time",
                 "`%s` over `%s` runs %.0f iterations; the limit is %d", e->name, range,
                 e->hi - e->lo, SKY_MAX_REDUCE_ITERS);
        return false;
    }
    return true;
}

static ck_value lower_reduce(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    if (!check_bounds(ck, f, e)) return CK_ERR;
    static const sky_op ops[] = {OP_ADD, OP_MUL, OP_MIN, OP_MAX};
    ck_value acc = CK_ERR;
    int n = (int)(e->hi - e->lo);
    for (int i = 0; i < n; i++) {
        node_id k = ck_const(ck, e->lo + i);
        ck->stack[f->base + (size_t)e->slot] = ck_scalar(ck, CK_TY_FLOAT, k);
        ck_value v = ck_lower(ck, f, e->a);
        if (v.type == CK_TY_ERROR) return CK_ERR;
        if (i == 0) {
            if (!ck_need_number(ck, f, e->a, v, NULL)) return CK_ERR;
            acc = v;
        } else {
            acc = ck_map2(ck, ops[e->op], acc, v, ck_width(v.type));
        }
    }
    return ck_done(ck, acc);
}

/* ------------------------------------------------------------------ calls */

static ck_value lower_call(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    ck_value small[8], *args = small;
    if (e->nargs > 8 && !(args = arena_alloc(ck->a, e->nargs * sizeof *args))) {
        ck_fail_nomem(ck);
        return CK_ERR;
    }
    bool ok = true;
    for (uint32_t i = 0; i < e->nargs; i++) {
        args[i] = ck_lower(ck, f, e->args[i]);
        if (args[i].type == CK_TY_ERROR) ok = false;
    }
    if (!ok || e->bad || !e->sym || ck->fatal) return CK_ERR;
    const ck_sym *s = e->sym;
    switch (s->kind) {
    case CK_SYM_FN:
        return ck_inline_call(ck, f, e, s, args);
    case CK_SYM_BUILTIN:
        return ck_builtin_call(ck, f, e, s->fn, args);
    case CK_SYM_PREV:
        return ck_prev_at_call(ck, f, e, args);
    case CK_SYM_PICTURE:
        return ck_picture_call(ck, f, e, s, args);
    default:
        return CK_ERR;
    }
}

static ck_value lower_node(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    switch ((ast_kind)e->kind) {
    case AST_NUMBER:
        return ck_scalar(ck, CK_TY_FLOAT, ck_const(ck, e->num));
    case AST_NAME:
        return lower_name(ck, f, e);
    case AST_UNARY:
        return lower_unary(ck, f, e);
    case AST_BINARY:
        return lower_binary(ck, f, e);
    case AST_TERNARY:
        return lower_ternary(ck, f, e);
    case AST_CALL:
        return lower_call(ck, f, e);
    case AST_REDUCE:
        return lower_reduce(ck, f, e);
    case AST_SWIZZLE:
        return lower_swizzle(ck, f, e);
    case AST_ERROR:
        return CK_ERR;
    }
    return CK_ERR;
}

/* The value of e in frame f, under the bounds on nesting and work; CK_ERR after an error. */
ck_value ck_lower(ck_checker *ck, const ck_frame *f, const ast_expr *e) {
    if (ck->fatal || !e) return CK_ERR;
    if (++ck->steps > CHECK_MAX_STEPS) {
        char *message = diag_fmt(ck->d,
                                 "pattern too large: inlining and unrolling take more than %u "
                                 "steps",
                                 CHECK_MAX_STEPS);
        if (message)
            ck_fail_limit(ck, E_LIMIT_WORK,
                          "nested reductions multiply: the inner body is built once for every "
                          "combination of the variables",
                          message);
        ck->fatal = true;
        return CK_ERR;
    }
    if (ck->depth >= CHECK_MAX_DEPTH) {
        char *message = diag_fmt(ck->d,
                                 "expression nests too deeply after inlining function calls: "
                                 "more than %d levels",
                                 CHECK_MAX_DEPTH);
        if (message)
            ck_fail_limit(ck, E_LIMIT_NESTING,
                          "functions are inlined where they are called; give intermediate values "
                          "names with `let`",
                          message);
        ck->fatal = true;
        return CK_ERR;
    }
    ck->depth++;
    ck_value v = lower_node(ck, f, e);
    ck->depth--;
    return ck_done(ck, v);
}

/* Lowers a top-level body in a fresh frame of `slots` local slots. */
ck_value ck_lower_top(ck_checker *ck, ast_expr *body, uint32_t slots) {
    ck_frame top = {0, NULL};
    if (!ck_push_slots(ck, slots, &top.base)) return CK_ERR;
    ck->depth = 0;
    ck_value v = ck_lower(ck, &top, body);
    ck->stack_len = top.base;
    return v;
}

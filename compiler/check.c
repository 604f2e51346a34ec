/*
 * check.c - names, types, fn inlining and reduction unrolling -> scalar graph.
 *
 * Declarations are processed in source order, each in two steps:
 *
 *  1. resolve: every name in the body is bound, in place in the syntax tree,
 *     to a local slot (fn parameter, reduction variable) or to a symbol
 *     (input, constant, built-in, or an earlier param/let/fn). Unknown names,
 *     names used before their declaration and recursion are reported here,
 *     once per declaration, even for functions that are never called.
 *  2. lower: the body is type-checked and turned into graph nodes. Values are
 *     a type and one to three node ids (a vector is its scalar components; a
 *     float broadcasts by reuse). A call to a `fn` inlines its body with the
 *     argument values in its slots, so functions are generic; calls with the
 *     same arguments are memoized (the language is pure and nodes are
 *     hash-consed, so this is exact and keeps f(f(f(...))) chains linear).
 *     Reductions are unrolled with the variable as a constant per iteration.
 *
 * Errors produce a value of type TY_ERROR, which every consumer passes on
 * silently, so one mistake gives one message. Three guards keep adversarial
 * input from crashing or hanging the compiler: the graph's node limit
 * (SKY_MAX_NODES), a bound on the recursion depth of lowering summed over
 * inlined calls, and a bound on the total lowering work.
 *
 * Built-in functions are expanded in builtins.c; check_int.h holds what the
 * two files share.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_int.h"
#include "eval.h"

/* Lowering recursion, summed over inlined calls (each level costs a few C frames). */
#define CHECK_MAX_DEPTH (SKY_MAX_NESTING * 4)
/* Lowering steps (expression visits and inlined locals): far above any real pattern. */
#define CHECK_MAX_STEPS (1u << 22)

typedef struct input_name {
    const char *name;
    uint16_t op;
} input_name;

static const input_name inputs[] = {
    {"x", OP_X},         {"y", OP_Y},     {"r", OP_R},         {"theta", OP_THETA},
    {"strip", OP_STRIP}, {"led", OP_LED}, {"leds", OP_LEDS},   {"index", OP_INDEX},
    {"t", OP_T},         {"dt", OP_DT},   {"frame", OP_FRAME}, {"strips", OP_STRIPS},
    {"count", OP_COUNT},
};

static const struct {
    const char *name;
    double value;
} constants[] = {{"pi", PI_D}, {"tau", 2 * PI_D}, {"e", E_D}};

/* ----------------------------------------------------------- name maps */

static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void *map_get(const name_map *m, const char *key) {
    if (!m || !m->cap) return NULL;
    for (uint32_t i = hash_name(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0) return m->vals[i];
    return NULL;
}

static bool map_put(arena *a, name_map *m, const char *key, void *val) {
    if ((m->count + 1) * 2 > m->cap) {
        name_map grown = {NULL, NULL, m->cap ? m->cap * 2 : 64, 0};
        grown.keys = arena_alloc(a, grown.cap * sizeof *grown.keys);
        grown.vals = arena_alloc(a, grown.cap * sizeof *grown.vals);
        if (!grown.keys || !grown.vals) return false;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_put(a, &grown, m->keys[i], m->vals[i]);
        *m = grown;
    }
    uint32_t i = hash_name(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->count++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

/* ------------------------------------------------- errors and graph nodes */

static value lower(checker *ck, const frame *f, const ast_expr *e);

/* Reports an error; inside an inlined function, a note points at the call. */
bool ck_error(checker *ck, const frame *f, const char *code, uint32_t start, uint32_t end,
              const char *help, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool kept = diag_verror(ck->d, code, start, end, help, fmt, ap);
    va_end(ap);
    if (kept && f && f->call)
        diag_note(ck->d, f->call->start, f->call->end, "in this call of `%s`", f->call->name);
    return kept;
}

static const char *quote(checker *ck, const ast_expr *e) {
    return diag_snippet(ck->d, e->start, e->end, 40);
}

/* The head of the declaration being lowered (`let name`, `out`), for limit errors. */
static void decl_head(const checker *ck, uint32_t *start, uint32_t *end) {
    const ast_decl *d = ck->cur_decl;
    *start = d->start;
    *end = d->name ? d->name_end : d->kw_end;
}

static void fail_nomem(checker *ck) {
    ck->nomem = ck->fatal = true;
}

static void fail_limit(checker *ck, const char *code, const char *help, const char *message) {
    uint32_t start, end;
    decl_head(ck, &start, &end);
    diag_error(ck->d, code, start, end, help, "%s", message);
    ck->fatal = true;
}

/* A graph node; GRAPH_NONE (and the checker stops) at the node limit or without memory. */
node_id ck_mk(checker *ck, sky_op op, node_id a, node_id b, node_id c, double imm) {
    if (ck->fatal) return GRAPH_NONE;
    int arity = sky_op_table[op].arity;
    if ((arity > 0 && a == GRAPH_NONE) || (arity > 1 && b == GRAPH_NONE) ||
        (arity > 2 && c == GRAPH_NONE))
        return GRAPH_NONE;
    node_id id = graph_add(ck->g, op, a, b, c, imm);
    if (id != GRAPH_NONE) return id;
    if (!graph_full(ck->g)) {
        fail_nomem(ck);
        return GRAPH_NONE;
    }
    char *message = diag_fmt(ck->d,
                             "pattern too large: more than %u graph nodes after inlining "
                             "and unrolling",
                             (unsigned)SKY_MAX_NODES);
    if (message)
        fail_limit(ck, E_LIMIT_NODES,
                   "the limit was reached while building this declaration; use fewer "
                   "reduction iterations or simpler functions",
                   message);
    ck->fatal = true;
    return GRAPH_NONE;
}

/* Applies op per component over w components (operands broadcast). */
value ck_map_op(checker *ck, sky_op op, int w, const value *args, int nargs, uint8_t type) {
    value out = {type, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < w; i++) {
        node_id n[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
        for (int k = 0; k < nargs; k++) n[k] = comp(args[k], i);
        out.n[i] = ck_mk(ck, op, n[0], n[1], n[2], 0);
    }
    return done(ck, out);
}

/* ------------------------------------------------------- type checks */

/* True for a number (float or vector); a bool is reported at `where`. */
bool ck_need_number(checker *ck, const frame *f, const ast_expr *where, value v, const char *help) {
    if (v.type != TY_BOOL) return true;
    ck_error(ck, f, E_BOOL_AS_NUMBER, where->start, where->end, help ? help : CHECK_BOOL_HELP,
             "a `bool` cannot be used as a number");
    return false;
}

/* True for a float (one number); reports bools and vectors. */
bool ck_need_float(checker *ck, const frame *f, const ast_expr *where, value v, const char *what) {
    if (!ck_need_number(ck, f, where, v, NULL)) return false;
    if (v.type == TY_FLOAT) return true;
    ck_error(ck, f, E_ARGUMENT_TYPE, where->start, where->end,
             "pick one component with a swizzle such as `.x`", "%s must be a `float`, found `%s`",
             what, type_name(v.type));
    return false;
}

/*
 * The common width of numbers combined component-wise, or 0 after reporting a
 * mismatch "mismatched vector sizes <what_fmt with what_arg>".
 */
int ck_common_width(checker *ck, const frame *f, const ast_expr *where, const value *v, int n,
                    const char *code, const char *what_fmt, const char *what_arg) {
    int w = 1;
    uint8_t first = TY_FLOAT;
    for (int i = 0; i < n; i++) {
        int wi = width(v[i].type);
        if (wi == 1) continue;
        if (w != 1 && wi != w) {
            const char *what = diag_fmt(ck->d, what_fmt, what_arg);
            ck_error(ck, f, code, where->start, where->end,
                     "use a swizzle such as `.xy`, or `vec3(v, 0)`, to make the sizes match",
                     "mismatched vector sizes %s: `%s` and `%s`", what ? what : "",
                     type_name(first), type_name(v[i].type));
            return 0;
        }
        w = wi;
        first = v[i].type;
    }
    return w;
}

/* Finds an input that makes `n` at least `rate`, and names it ("`x`", "the param `speed`"). */
const char *ck_dependency_name(checker *ck, node_id n, uint8_t rate) {
    for (;;) {
        const graph_node *node = graph_get(ck->g, n);
        if (!node) return "an input";
        int arity = sky_op_table[node->op].arity;
        if (node->op == OP_PREV_AT) return "`prev(s, l)`";
        if (node->op == OP_PARAM) {
            for (uint32_t i = 0; i < ck->param_count; i++) {
                const sky_param_info *p = &ck->params[i];
                if (node->imm >= p->slot && node->imm < p->slot + (uint32_t)p->type)
                    return diag_fmt(ck->d, "the param `%s`", p->name);
            }
        }
        if (arity == 0) return diag_fmt(ck->d, "`%s`", sky_op_table[node->op].name);
        node_id next = GRAPH_NONE;
        for (int k = 0; k < arity && next == GRAPH_NONE; k++)
            if (graph_get(ck->g, node->arg[k])->rate >= rate) next = node->arg[k];
        if (next == GRAPH_NONE) return "an input";
        n = next;
    }
}

/* The highest rate among v's components. */
uint8_t ck_value_rate(const checker *ck, value v, node_id *which) {
    uint8_t rate = RATE_CONST;
    for (int i = 0; i < width(v.type); i++) {
        const graph_node *node = graph_get(ck->g, v.n[i]);
        if (node && node->rate >= rate) {
            rate = node->rate;
            *which = v.n[i];
        }
    }
    return rate;
}

/* ---------------------------------------------------------- resolution */

static bool is_declared(const sym *s) {
    return s->decl != NULL;
}

static int32_t lookup_local(const checker *ck, const char *name) {
    for (uint32_t i = ck->nlocals; i-- > 0;)
        if (strcmp(ck->locals[i].name, name) == 0) return ck->locals[i].slot;
    void *slot = map_get(ck->fn_params, name);
    return slot ? (int32_t)((uintptr_t)slot - 1) : -1;
}

/* A declared symbol used before its declaration was processed: self-reference or forward use. */
static bool check_defined(checker *ck, const sym *s, const ast_expr *use) {
    if (!is_declared(s) || s->defined) return true;
    const ast_decl *d = s->decl;
    if (d == ck->cur_decl && ck->self_reported == d) return false; /* once per declaration */
    if (d == ck->cur_decl) ck->self_reported = d;
    if (d == ck->cur_decl && d->kind == DECL_FN) {
        diag_error(ck->d, E_RECURSION, use->op_start, use->op_end,
                   "functions are inlined where they are called, so they cannot call themselves",
                   "function `%s` calls itself: recursion is not supported", s->name);
    } else if (d == ck->cur_decl) {
        diag_error(ck->d, E_USED_BEFORE_DEF, use->op_start, use->op_end, NULL,
                   "`%s` is used in its own definition", s->name);
    } else if (diag_error(ck->d, E_USED_BEFORE_DEF, use->op_start, use->op_end,
                          diag_fmt(ck->d, "declare `%s` before it is used", s->name),
                          "`%s` is used before its declaration", s->name)) {
        diag_note(ck->d, d->name_start, d->name_end, "`%s` is declared here", s->name);
    }
    return false;
}

/* Help for names people bring from other languages. */
static const char *known_mistake(const char *name, bool call) {
    static const struct {
        const char *name;
        bool call;
        const char *help;
    } table[] = {
        {"true", false, "there are no boolean literals; write a comparison such as `x > 0`"},
        {"false", false, "there are no boolean literals; write a comparison such as `x > 0`"},
        {"iTime", false, "`t` is the time in seconds"},
        {"seconds", false, "`t` is the time in seconds"},
        {"radius", false, "`r` is the distance from the centre"},
        {"angle", false, "`theta` is the angle around the centre, in [0, tau)"},
        {"lerp", true, "use `mix(a, b, t)`"},
        {"saturate", true, "use `clamp(x, 0, 1)`"},
        {"fmod", true, "use `mod(x, y)` (floored)"},
        {"atan2", true, "use `atan(y, x)`"},
        {"rand", true, "use `hash(...)`: a repeatable pseudo-random value in [0, 1)"},
        {"random", true, "use `hash(...)`: a repeatable pseudo-random value in [0, 1)"},
        {"float", true, "all numbers are floats; `floor(x)` drops the fraction"},
        {"int", true, "all numbers are floats; `floor(x)` drops the fraction"},
        {"vec4", true, "colours are `vec3`: use `rgb(r, g, b)`"},
        {"frac", true, "use `fract(x)`"},
        {"sqr", true, "write `x * x` or `x^2`"},
        {"hsl", true, "use `hsv(h, s, v)`"},
        {"perlin", true, "use `noise(p)`"},
        {"simplex", true, "use `noise(p)`"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].call == call && strcmp(table[i].name, name) == 0) return table[i].help;
    return NULL;
}

/* A candidate for "did you mean": exact up to case wins outright. */
static void consider(diag_suggest *s, const char **exact_case, const char *candidate) {
    if (!*exact_case && strcasecmp(candidate, s->name) == 0 && strcmp(candidate, s->name) != 0)
        *exact_case = candidate;
    diag_suggest_consider(s, candidate);
}

/* "did you mean" over what is in scope here: locals, earlier declarations, built-ins. */
static const char *suggest_name(checker *ck, const char *name, bool call) {
    const char *special = known_mistake(name, call);
    if (special) return special;
    diag_suggest s;
    const char *exact_case = NULL;
    diag_suggest_init(&s, name, strlen(name));
    if (!call) {
        for (uint32_t i = ck->nlocals; i-- > 0;) consider(&s, &exact_case, ck->locals[i].name);
        if (ck->cur_decl->kind == DECL_FN)
            for (uint32_t i = 0; i < ck->cur_decl->nparams; i++)
                consider(&s, &exact_case, ck->cur_decl->params[i]);
    }
    for (const ast_decl *d = ck->prog->decls; d < ck->cur_decl; d++) {
        const sym *decl_sym = d->name ? map_get(&ck->globals, d->name) : NULL;
        if (decl_sym && decl_sym->decl == d && decl_sym->defined &&
            (decl_sym->kind == SYM_FN) == call)
            consider(&s, &exact_case, d->name);
    }
    if (call) {
        for (size_t i = 0; i < check_builtin_count; i++)
            consider(&s, &exact_case, check_builtins[i].name);
        consider(&s, &exact_case, "prev");
    } else {
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
            consider(&s, &exact_case, inputs[i].name);
        for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
            consider(&s, &exact_case, constants[i].name);
        consider(&s, &exact_case, "prev");
    }
    if (exact_case) return diag_fmt(ck->d, "did you mean `%s`?", exact_case);
    return diag_suggest_help(ck->d, &s);
}

static const char *reduction_help(const char *name) {
    return strcmp(name, "product") == 0 ? "a reduction is written `product(k in 1..5, expr)`"
                                        : "a reduction is written `sum(k in 0..4, expr)`";
}

/* A function name used as a value. */
static void not_a_value(checker *ck, const sym *s, const ast_expr *e) {
    const char *help;
    if (s->kind == SYM_FN)
        help = diag_fmt(ck->d, "call it with %u argument%s", s->decl->nparams,
                        s->decl->nparams == 1 ? "" : "s");
    else if (strcmp(s->name, "time") == 0)
        help = "`time(period)` is the phase of a cycle; the seconds are `t`";
    else
        help = diag_fmt(ck->d, "call it: `%s`", s->fn->usage);
    diag_error(ck->d, E_NOT_CALLABLE, e->start, e->end, help, "`%s` is a function, not a value",
               s->name);
}

static void resolve_name(checker *ck, ast_expr *e) {
    e->slot = lookup_local(ck, e->name);
    if (e->slot >= 0) return;
    sym *s = map_get(&ck->globals, e->name);
    if (!s) {
        diag_error(ck->d, E_UNKNOWN_NAME, e->start, e->end, suggest_name(ck, e->name, false),
                   "unknown name `%s`", diag_snippet(ck->d, e->start, e->end, 40));
        e->bad = true;
        return;
    }
    if (!check_defined(ck, s, e)) {
        e->bad = true;
        return;
    }
    s->used = true;
    if (s->kind == SYM_BUILTIN || s->kind == SYM_FN) {
        not_a_value(ck, s, e);
        e->bad = true;
    } else if (s->kind == SYM_REDUCTION) {
        diag_error(ck->d, E_NOT_CALLABLE, e->start, e->end, reduction_help(s->name),
                   "`%s` is a reduction, not a value", s->name);
        e->bad = true;
    } else {
        e->sym = s;
    }
}

static void resolve_callee(checker *ck, ast_expr *e) {
    if (lookup_local(ck, e->name) >= 0) {
        diag_error(ck->d, E_NOT_CALLABLE, e->op_start, e->op_end, NULL,
                   "`%s` is a local value here, not a function", e->name);
        e->bad = true;
        return;
    }
    sym *s = map_get(&ck->globals, e->name);
    if (!s) {
        diag_error(ck->d, E_UNKNOWN_FUNCTION, e->op_start, e->op_end,
                   suggest_name(ck, e->name, true), "unknown function `%s`",
                   diag_snippet(ck->d, e->op_start, e->op_end, 40));
        e->bad = true;
        return;
    }
    if (!check_defined(ck, s, e)) {
        e->bad = true;
        return;
    }
    s->used = true;
    switch (s->kind) {
    case SYM_BUILTIN:
    case SYM_FN:
    case SYM_PREV:
    case SYM_POISON:
        e->sym = s;
        return;
    case SYM_REDUCTION:
        diag_error(ck->d, E_UNKNOWN_FUNCTION, e->op_start, e->op_end, reduction_help(s->name),
                   "`%s` is a reduction, not a function", s->name);
        break;
    default:
        diag_error(ck->d, E_NOT_CALLABLE, e->op_start, e->op_end, NULL, "`%s` is not a function",
                   s->name);
        break;
    }
    e->bad = true;
}

static void resolve(checker *ck, ast_expr *e);

static void resolve_reduce(checker *ck, ast_expr *e) {
    if (ck->nlocals == ck->locals_cap) {
        uint32_t cap = ck->locals_cap ? ck->locals_cap * 2 : 16;
        local *grown =
            arena_realloc(ck->a, ck->locals, ck->locals_cap * sizeof *grown, cap * sizeof *grown);
        if (!grown) {
            fail_nomem(ck);
            return;
        }
        ck->locals = grown;
        ck->locals_cap = cap;
    }
    e->slot = (int32_t)ck->next_slot++;
    if (ck->next_slot > ck->max_slots) ck->max_slots = ck->next_slot;
    ck->locals[ck->nlocals++] = (local){e->var, e->slot};
    resolve(ck, e->a);
    ck->nlocals--;
    ck->next_slot--;
}

static void resolve(checker *ck, ast_expr *e) {
    if (!e || ck->fatal) return;
    switch ((ast_kind)e->kind) {
    case AST_NAME:
        resolve_name(ck, e);
        break;
    case AST_CALL:
        for (uint32_t i = 0; i < e->nargs; i++) resolve(ck, e->args[i]);
        resolve_callee(ck, e);
        break;
    case AST_REDUCE:
        resolve_reduce(ck, e);
        break;
    case AST_UNARY:
    case AST_SWIZZLE:
        resolve(ck, e->a);
        break;
    case AST_BINARY:
        resolve(ck, e->a);
        resolve(ck, e->b);
        break;
    case AST_TERNARY:
        resolve(ck, e->a);
        resolve(ck, e->b);
        resolve(ck, e->c);
        break;
    case AST_ERROR:
    case AST_NUMBER:
        break;
    }
}

/* Resolves a top-level body (no parameters); returns the local slots it needs. */
static uint32_t resolve_body(checker *ck, ast_expr *body, const name_map *params,
                             uint32_t nparams) {
    ck->fn_params = params;
    ck->nlocals = 0;
    ck->next_slot = ck->max_slots = nparams;
    resolve(ck, body);
    ck->fn_params = NULL;
    return ck->max_slots;
}

/* -------------------------------------------------------------- lowering */

static bool push_slots(checker *ck, uint32_t n, size_t *base) {
    *base = ck->stack_len;
    if (ck->stack_len + n > ck->stack_cap) {
        size_t cap = ck->stack_cap ? ck->stack_cap : 256;
        while (cap < ck->stack_len + n) cap *= 2;
        value *grown = realloc(ck->stack, cap * sizeof *grown);
        if (!grown) {
            fail_nomem(ck);
            return false;
        }
        ck->stack = grown;
        ck->stack_cap = cap;
    }
    for (uint32_t i = 0; i < n; i++) ck->stack[ck->stack_len + i] = ERR;
    ck->stack_len += n;
    ck->steps += n;
    return true;
}

static value lower_name(checker *ck, const frame *f, const ast_expr *e) {
    if (e->bad) return ERR;
    if (e->slot >= 0) return ck->stack[f->base + (size_t)e->slot];
    const sym *s = e->sym;
    switch (s->kind) {
    case SYM_INPUT:
        return scalar(ck, TY_FLOAT, ck_mk(ck, s->op, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, 0));
    case SYM_CONST:
        return scalar(ck, TY_FLOAT, cst(ck, s->constant));
    case SYM_PREV: {
        value v = {TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
        for (int c = 0; c < 3; c++)
            v.n[c] = ck_mk(ck, OP_PREV, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, c);
        return done(ck, v);
    }
    case SYM_PARAM:
    case SYM_LET:
        return s->val;
    default:
        return ERR;
    }
}

static value lower_unary(checker *ck, const frame *f, const ast_expr *e) {
    value a = lower(ck, f, e->a);
    if (a.type == TY_ERROR) return ERR;
    if (e->op == TOK_MINUS) return ck_need_number(ck, f, e->a, a, NULL) ? map1(ck, OP_NEG, a) : ERR;
    if (a.type != TY_BOOL) {
        ck_error(ck, f, E_NUMBER_AS_BOOL, e->a->start, e->a->end, "compare it, as in `!(x > 0)`",
                 "`!` takes a `bool`, found `%s`", type_name(a.type));
        return ERR;
    }
    return map1(ck, OP_NOT, a);
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

static bool single_line_short(const checker *ck, const ast_expr *e) {
    return e->end - e->start <= 60 && !memchr(ck->d->src + e->start, '\n', e->end - e->start);
}

/*
 * The fix for `(r > 0.5) * 2`, as the spec words it: "write `step(0.5, r) * 2`
 * or `r > 0.5 ? 2 : 0`", built from the code as written.
 */
static const char *bool_arith_help(checker *ck, const ast_expr *e, bool bool_left) {
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

static value lower_arith(checker *ck, const frame *f, const ast_expr *e, value l, value r) {
    if (l.type == TY_BOOL || r.type == TY_BOOL) {
        const ast_expr *where = l.type == TY_BOOL ? e->a : e->b;
        ck_need_number(ck, f, where, l.type == TY_BOOL ? l : r,
                       bool_arith_help(ck, e, l.type == TY_BOOL));
        return ERR;
    }
    value v[2] = {l, r};
    int w = ck_common_width(ck, f, e, v, 2, E_VECTOR_SIZES, "for `%s`", lex_token_spelling(e->op));
    return w ? map2(ck, arith_op(e->op), l, r, w) : ERR;
}

static value lower_compare(checker *ck, const frame *f, const ast_expr *e, value l, value r) {
    const value *v[2] = {&l, &r};
    const ast_expr *side[2] = {e->a, e->b};
    for (int i = 0; i < 2; i++) {
        if (v[i]->type == TY_BOOL) {
            ck_error(ck, f, E_BOOL_AS_NUMBER, side[i]->start, side[i]->end,
                     "comparisons take numbers; combine `bool`s with `&&` and `||`",
                     "a `bool` cannot be compared with `%s`", lex_token_spelling(e->op));
            return ERR;
        }
        if (v[i]->type != TY_FLOAT) {
            ck_error(ck, f, E_ARGUMENT_TYPE, side[i]->start, side[i]->end,
                     "compare one component, as in `p.x < 0.5`, or the length, `length(p)`",
                     "comparisons take `float` operands, found `%s`", type_name(v[i]->type));
            return ERR;
        }
    }
    return scalar(ck, TY_BOOL, mk2(ck, arith_op(e->op), l.n[0], r.n[0]));
}

static value lower_logic(checker *ck, const frame *f, const ast_expr *e, value l, value r) {
    const value *v[2] = {&l, &r};
    const ast_expr *side[2] = {e->a, e->b};
    for (int i = 0; i < 2; i++) {
        if (v[i]->type != TY_BOOL) {
            ck_error(ck, f, E_NUMBER_AS_BOOL, side[i]->start, side[i]->end,
                     "compare it, as in `x > 0`", "`%s` takes `bool` operands, found `%s`",
                     lex_token_spelling(e->op), type_name(v[i]->type));
            return ERR;
        }
    }
    return scalar(ck, TY_BOOL, mk2(ck, arith_op(e->op), l.n[0], r.n[0]));
}

static value lower_binary(checker *ck, const frame *f, const ast_expr *e) {
    value l = lower(ck, f, e->a);
    value r = lower(ck, f, e->b);
    if (l.type == TY_ERROR || r.type == TY_ERROR) return ERR;
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

static value lower_ternary(checker *ck, const frame *f, const ast_expr *e) {
    value c = lower(ck, f, e->a);
    value a = lower(ck, f, e->b);
    value b = lower(ck, f, e->c);
    if (c.type == TY_ERROR || a.type == TY_ERROR || b.type == TY_ERROR) return ERR;
    if (c.type != TY_BOOL) {
        ck_error(ck, f, E_NUMBER_AS_BOOL, e->a->start, e->a->end,
                 "compare it, as in `x > 0 ? a : b`",
                 "the condition of `?:` must be a `bool`, found `%s`", type_name(c.type));
        return ERR;
    }
    if ((a.type == TY_BOOL) != (b.type == TY_BOOL)) {
        ck_error(ck, f, E_BRANCH_TYPES, e->b->start, e->c->end, CHECK_BOOL_HELP,
                 "the branches of `?:` have different types: `%s` and `%s`", type_name(a.type),
                 type_name(b.type));
        return ERR;
    }
    value v[2] = {a, b};
    int w = ck_common_width(ck, f, e, v, 2, E_BRANCH_TYPES, "in the branches of `?:`%s", "");
    if (!w) return ERR;
    value args[3] = {c, a, b};
    return ck_map_op(ck, OP_SELECT, w, args, 3, a.type == TY_BOOL ? TY_BOOL : vec_type(w));
}

static value lower_swizzle(checker *ck, const frame *f, const ast_expr *e) {
    value v = lower(ck, f, e->a);
    if (v.type == TY_ERROR) return ERR;
    if (v.type == TY_FLOAT || v.type == TY_BOOL) {
        ck_error(ck, f, E_SWIZZLE_TYPE, e->op_start, e->op_end,
                 "swizzles pick components of a `vec2` or a `vec3`", "cannot swizzle a `%s`",
                 type_name(v.type));
        return ERR;
    }
    value out = {vec_type(e->swizzle_len), {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < e->swizzle_len; i++) {
        if (e->swizzle[i] >= width(v.type)) {
            ck_error(ck, f, E_SWIZZLE_TYPE, e->op_start, e->op_end, NULL,
                     "`%s` has no component `%c`", type_name(v.type), e->name[i]);
            return ERR;
        }
        out.n[i] = v.n[e->swizzle[i]];
    }
    return out;
}

/* ------------------------------------------------------------ reductions */

static bool check_bounds(checker *ck, const frame *f, const ast_expr *e) {
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

static value lower_reduce(checker *ck, const frame *f, const ast_expr *e) {
    if (!check_bounds(ck, f, e)) return ERR;
    static const sky_op ops[] = {OP_ADD, OP_MUL, OP_MIN, OP_MAX};
    value acc = ERR;
    int n = (int)(e->hi - e->lo);
    for (int i = 0; i < n; i++) {
        node_id k = cst(ck, e->lo + i);
        ck->stack[f->base + (size_t)e->slot] = scalar(ck, TY_FLOAT, k);
        value v = lower(ck, f, e->a);
        if (v.type == TY_ERROR) return ERR;
        if (i == 0) {
            if (!ck_need_number(ck, f, e->a, v, NULL)) return ERR;
            acc = v;
        } else {
            acc = map2(ck, ops[e->op], acc, v, width(v.type));
        }
    }
    return done(ck, acc);
}

/* ------------------------------------------------------------------ calls */

/* Inlines a user function: its parameters' slots hold the argument values. */
static value user_call(checker *ck, const frame *f, const ast_expr *e, const sym *s,
                       const value *args) {
    const ast_decl *d = s->decl;
    if (e->nargs != d->nparams) {
        if (ck_error(ck, f, E_ARITY, e->start, e->end, NULL, "`%s` takes %u %s, but %u %s given",
                     s->name, d->nparams, arguments_word(d->nparams), e->nargs, was_were(e->nargs)))
            diag_note(ck->d, d->name_start, d->name_end, "`%s` is defined here", s->name);
        return ERR;
    }
    /* Memo key: the function, then each argument's type and nodes (kept only when stored). */
    uint32_t len = 1 + 4 * e->nargs;
    if (len > ck->key_cap) {
        uint32_t *grown = realloc(ck->key_buf, len * 2 * sizeof *grown);
        if (!grown) {
            fail_nomem(ck);
            return ERR;
        }
        ck->key_buf = grown;
        ck->key_cap = len * 2;
    }
    uint32_t *key = ck->key_buf;
    key[0] = s->id;
    for (uint32_t i = 0; i < e->nargs; i++) {
        key[1 + 4 * i] = args[i].type;
        for (int c = 0; c < 3; c++) key[2 + 4 * i + c] = args[i].n[c];
    }
    uint32_t hash = 2166136261u;
    for (uint32_t i = 0; i < len; i++) hash = (hash ^ key[i]) * 16777619u;
    for (memo_entry *m = ck->memo[hash & (ck->memo_cap - 1)]; m; m = m->next)
        if (m->hash == hash && m->len == len && memcmp(m->key, key, len * sizeof *key) == 0)
            return m->result;

    frame inner = {0, e};
    if (!push_slots(ck, s->frame_size, &inner.base)) return ERR;
    for (uint32_t i = 0; i < e->nargs; i++) ck->stack[inner.base + i] = args[i];
    value result = lower(ck, &inner, d->body);
    ck->stack_len = inner.base;
    if (ck->fatal) return ERR;

    /* The inlined body may have reused the scratch key: rebuild it for the stored copy. */
    memo_entry *m = arena_alloc(ck->a, sizeof *m);
    uint32_t *stored = arena_alloc(ck->a, len * sizeof *stored);
    if (!m || !stored) {
        fail_nomem(ck);
        return ERR;
    }
    stored[0] = s->id;
    for (uint32_t i = 0; i < e->nargs; i++) {
        stored[1 + 4 * i] = args[i].type;
        for (int c = 0; c < 3; c++) stored[2 + 4 * i + c] = args[i].n[c];
    }
    *m = (memo_entry){ck->memo[hash & (ck->memo_cap - 1)], hash, len, stored, result};
    ck->memo[hash & (ck->memo_cap - 1)] = m;
    if (++ck->memo_count > ck->memo_cap) {
        uint32_t cap = ck->memo_cap * 2;
        memo_entry **table = arena_alloc(ck->a, cap * sizeof *table);
        if (!table) {
            fail_nomem(ck);
            return ERR;
        }
        for (uint32_t i = 0; i < ck->memo_cap; i++) {
            for (memo_entry *next, *it = ck->memo[i]; it; it = next) {
                next = it->next;
                it->next = table[it->hash & (cap - 1)];
                table[it->hash & (cap - 1)] = it;
            }
        }
        ck->memo = table;
        ck->memo_cap = cap;
    }
    return result;
}

static value lower_call(checker *ck, const frame *f, const ast_expr *e) {
    value small[8], *args = small;
    if (e->nargs > 8 && !(args = arena_alloc(ck->a, e->nargs * sizeof *args))) {
        fail_nomem(ck);
        return ERR;
    }
    bool ok = true;
    for (uint32_t i = 0; i < e->nargs; i++) {
        args[i] = lower(ck, f, e->args[i]);
        if (args[i].type == TY_ERROR) ok = false;
    }
    if (!ok || e->bad || !e->sym || ck->fatal) return ERR;
    const sym *s = e->sym;
    switch (s->kind) {
    case SYM_FN:
        return user_call(ck, f, e, s, args);
    case SYM_BUILTIN:
        return ck_builtin_call(ck, f, e, s->fn, args);
    case SYM_PREV:
        return ck_prev_at_call(ck, f, e, args);
    default:
        return ERR;
    }
}

static value lower_node(checker *ck, const frame *f, const ast_expr *e) {
    switch ((ast_kind)e->kind) {
    case AST_NUMBER:
        return scalar(ck, TY_FLOAT, cst(ck, e->num));
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
        return ERR;
    }
    return ERR;
}

static value lower(checker *ck, const frame *f, const ast_expr *e) {
    if (ck->fatal || !e) return ERR;
    if (++ck->steps > CHECK_MAX_STEPS) {
        char *message = diag_fmt(ck->d,
                                 "pattern too large: inlining and unrolling take more than %u "
                                 "steps",
                                 CHECK_MAX_STEPS);
        if (message)
            fail_limit(ck, E_LIMIT_WORK,
                       "nested reductions multiply: the inner body is built once for every "
                       "combination of the variables",
                       message);
        ck->fatal = true;
        return ERR;
    }
    if (ck->depth >= CHECK_MAX_DEPTH) {
        char *message = diag_fmt(ck->d,
                                 "expression nests too deeply after inlining function calls: "
                                 "more than %d levels",
                                 CHECK_MAX_DEPTH);
        if (message)
            fail_limit(ck, E_LIMIT_NESTING,
                       "functions are inlined where they are called; give intermediate values "
                       "names with `let`",
                       message);
        ck->fatal = true;
        return ERR;
    }
    ck->depth++;
    value v = lower_node(ck, f, e);
    ck->depth--;
    return done(ck, v);
}

/* --------------------------------------------------------- declarations */

/* Lowers a top-level body in a fresh frame. */
static value lower_top(checker *ck, ast_expr *body, uint32_t slots) {
    frame top = {0, NULL};
    if (!push_slots(ck, slots, &top.base)) return ERR;
    ck->depth = 0;
    value v = lower(ck, &top, body);
    ck->stack_len = top.base;
    return v;
}

static const char *builtin_kind_name(const sym *s) {
    switch (s->kind) {
    case SYM_INPUT:
        return "input";
    case SYM_CONST:
        return "constant";
    case SYM_REDUCTION:
        return "reduction";
    case SYM_PREV:
        return "input and function";
    default:
        return "function";
    }
}

/* Binds the declaration's name; reports reuse of a built-in or an earlier name. */
static void define(checker *ck, const ast_decl *d, sym_kind kind, value val) {
    sym *s = map_get(&ck->globals, d->name);
    if (s && !is_declared(s)) {
        diag_error(ck->d, E_BUILTIN_REUSED, d->name_start, d->name_end, "choose another name",
                   "`%s` is a built-in %s and cannot be redefined", d->name, builtin_kind_name(s));
        /* Later uses of the name refer to this broken declaration, silently. */
        sym *poison = arena_alloc(ck->a, sizeof *poison);
        if (!poison || !map_put(ck->a, &ck->globals, d->name, poison)) {
            fail_nomem(ck);
            return;
        }
        *poison = (sym){.name = d->name, .kind = SYM_POISON, .defined = true, .decl = d};
        return;
    }
    if (!s) return; /* every declared name was entered by collect_names */
    if (s->decl != d) {
        if (diag_error(ck->d, E_REDEFINED, d->name_start, d->name_end,
                       "each name is declared once; choose another name",
                       "`%s` is already declared", d->name))
            diag_note(ck->d, s->decl->name_start, s->decl->name_end, "`%s` was first declared here",
                      d->name);
        /* Later uses may mean either declaration: they stay quiet from here on. */
        s->kind = SYM_POISON;
        s->val = ERR;
        return;
    }
    s->kind = val.type == TY_ERROR && kind != SYM_FN ? SYM_POISON : kind;
    s->val = val;
    s->defined = true;
}

static void check_let(checker *ck, const ast_decl *d) {
    value v = ERR;
    if (d->body) {
        uint32_t slots = resolve_body(ck, d->body, NULL, 0);
        v = lower_top(ck, d->body, slots);
    }
    define(ck, d, SYM_LET, v);
}

static void check_fn(checker *ck, const ast_decl *d) {
    sym *s = map_get(&ck->globals, d->name);
    if (!d->params_ok || !d->body) {
        define(ck, d, SYM_POISON, ERR);
        return;
    }
    name_map params = {0};
    bool ok = true;
    for (uint32_t i = 0; i < d->nparams; i++) {
        void *earlier = map_get(&params, d->params[i]);
        if (earlier) {
            uint32_t first = (uint32_t)((uintptr_t)earlier - 1);
            if (diag_error(ck->d, E_REDEFINED, d->param_starts[i], d->param_ends[i], NULL,
                           "parameter `%s` is declared twice", d->params[i]))
                diag_note(ck->d, d->param_starts[first], d->param_ends[first],
                          "the first `%s` is here", d->params[i]);
            ok = false;
        } else if (!map_put(ck->a, &params, d->params[i], (void *)(uintptr_t)(i + 1))) {
            fail_nomem(ck);
            return;
        }
    }
    uint32_t slots = resolve_body(ck, d->body, &params, d->nparams);
    if (!ok) {
        define(ck, d, SYM_POISON, ERR);
        return;
    }
    if (s && s->decl == d) {
        s->id = ck->fn_count++;
        s->frame_size = slots;
    }
    define(ck, d, SYM_FN, ERR); /* a function has no value of its own */
}

/* The value of a param must be known at compile time: it is the default. */
static bool param_default(checker *ck, const ast_decl *d, value v, double out[3]) {
    node_id which = v.n[0];
    if (v.type == TY_BOOL) {
        diag_error(ck->d, E_ARGUMENT_TYPE, d->body->start, d->body->end, CHECK_BOOL_HELP,
                   "param `%s` must be a number or a vector, found `bool`", d->name);
        return false;
    }
    if (ck_value_rate(ck, v, &which) != RATE_CONST) {
        diag_error(ck->d, E_PARAM_NOT_CONST, d->body->start, d->body->end,
                   "a param is a setting the runtime changes; use `let` for values computed "
                   "from inputs",
                   "the value of param `%s` must be a constant expression, but it depends on %s",
                   d->name, ck_dependency_name(ck, which, RATE_FRAME));
        return false;
    }
    for (int i = 0; i < width(v.type); i++) {
        if (!eval_graph_const(ck->g, v.n[i], &out[i]) || !isfinite(out[i])) {
            diag_error(ck->d, E_PARAM_NOT_CONST, d->body->start, d->body->end, NULL,
                       "the value of param `%s` is not a finite number", d->name);
            return false;
        }
    }
    for (int i = width(v.type); i < 3; i++) out[i] = out[0];
    return true;
}

static bool param_range(checker *ck, const ast_decl *d, value v, double value0) {
    if (!d->has_range) return true;
    const char *range = diag_snippet(ck->d, d->range_start, d->range_end, 40);
    if (v.type != TY_FLOAT) {
        diag_error(ck->d, E_PARAM_RANGE, d->range_start, d->range_end, NULL,
                   "`in` ranges are for `float` params only; `%s` is a `%s`", d->name,
                   type_name(v.type));
        return false;
    }
    if (d->lo > d->hi) {
        diag_error(ck->d, E_PARAM_RANGE, d->range_start, d->range_end,
                   "write the lower bound first", "the range `%s` is empty", range);
        return false;
    }
    if (value0 < d->lo || value0 > d->hi) {
        diag_error(ck->d, E_PARAM_RANGE, d->body->start, d->body->end, NULL,
                   "the value `%g` of param `%s` is outside its range `%s`", value0, d->name,
                   range);
        return false;
    }
    return true;
}

static void check_param(checker *ck, const ast_decl *d) {
    if (ck->param_count == SKY_MAX_PARAMS) {
        diag_error(ck->d, E_LIMIT_PARAMS, d->name_start, d->name_end,
                   "use `let` for values that need not change while the pattern runs",
                   "too many params: the limit is %d", SKY_MAX_PARAMS);
        define(ck, d, SYM_POISON, ERR);
        return;
    }
    value v = ERR;
    if (d->body) v = lower_top(ck, d->body, resolve_body(ck, d->body, NULL, 0));
    double defaults[3];
    if (v.type == TY_ERROR || !param_default(ck, d, v, defaults) ||
        !param_range(ck, d, v, defaults[0])) {
        define(ck, d, SYM_POISON, ERR);
        return;
    }
    sky_param_info *p = &ck->params[ck->param_count];
    p->name = d->name;
    p->type = (sky_type)v.type;
    p->slot = ck->param_slots;
    memcpy(p->value, defaults, sizeof defaults);
    p->has_range = d->has_range;
    p->min = d->lo;
    p->max = d->hi;
    value node = {v.type, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < width(v.type); i++)
        node.n[i] = ck_mk(ck, OP_PARAM, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, p->slot + (uint32_t)i);
    ck->param_count++;
    ck->param_slots += (uint32_t)width(v.type);
    define(ck, d, SYM_PARAM, done(ck, node));
}

static void check_out(checker *ck, const ast_decl *d) {
    if (ck->first_out) {
        if (diag_error(ck->d, E_SECOND_OUT, d->start, d->kw_end, "a pattern has exactly one `out`",
                       "second `out` declaration"))
            diag_note(ck->d, ck->first_out->start, ck->first_out->kw_end,
                      "the first `out` is here");
        if (d->body) lower_top(ck, d->body, resolve_body(ck, d->body, NULL, 0));
        return;
    }
    ck->first_out = d;
    if (!d->body) return;
    value v = lower_top(ck, d->body, resolve_body(ck, d->body, NULL, 0));
    if (v.type == TY_BOOL || v.type == TY_VEC2) {
        diag_error(ck->d, E_OUT_TYPE, d->body->start, d->body->end,
                   v.type == TY_BOOL ? "write `cond ? 1 : 0` for white where the condition holds"
                                     : "add a blue component, as in `vec3(p, 0)`",
                   "`out` takes a `float` (grey) or a `vec3` (colour), found `%s`",
                   type_name(v.type));
        return;
    }
    ck->out = v;
}

/* ---------------------------------------------------------------- setup */

static bool add_builtin_sym(checker *ck, sym proto) {
    sym *s = arena_alloc(ck->a, sizeof *s);
    if (!s) return false;
    *s = proto;
    s->defined = true;
    return map_put(ck->a, &ck->globals, s->name, s);
}

static bool add_builtins(checker *ck) {
    bool ok = true;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        ok &= add_builtin_sym(ck,
                              (sym){.name = inputs[i].name, .kind = SYM_INPUT, .op = inputs[i].op});
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        ok &= add_builtin_sym(
            ck,
            (sym){.name = constants[i].name, .kind = SYM_CONST, .constant = constants[i].value});
    for (size_t i = 0; i < check_builtin_count; i++)
        ok &= add_builtin_sym(
            ck,
            (sym){.name = check_builtins[i].name, .kind = SYM_BUILTIN, .fn = &check_builtins[i]});
    ok &= add_builtin_sym(ck, (sym){.name = "prev", .kind = SYM_PREV});
    ok &= add_builtin_sym(ck, (sym){.name = "sum", .kind = SYM_REDUCTION});
    ok &= add_builtin_sym(ck, (sym){.name = "product", .kind = SYM_REDUCTION});
    return ok;
}

/* Enters every declared name (first declaration wins), so forward uses can be named. */
static bool collect_names(checker *ck) {
    for (uint32_t i = 0; i < ck->prog->count; i++) {
        const ast_decl *d = &ck->prog->decls[i];
        if (!d->name || map_get(&ck->globals, d->name)) continue;
        sym *s = arena_alloc(ck->a, sizeof *s);
        if (!s) return false;
        *s = (sym){.name = d->name, .kind = SYM_POISON, .decl = d, .val = ERR};
        if (!map_put(ck->a, &ck->globals, d->name, s)) return false;
    }
    return true;
}

static bool setup(checker *ck) {
    ck->g = graph_create(ck->a, SKY_MAX_NODES);
    ck->params = arena_alloc(ck->a, SKY_MAX_PARAMS * sizeof *ck->params);
    ck->memo_cap = 64;
    ck->memo = arena_alloc(ck->a, ck->memo_cap * sizeof *ck->memo);
    return ck->g && ck->params && ck->memo && add_builtins(ck) && collect_names(ck);
}

static void check_decls(checker *ck) {
    for (uint32_t i = 0; i < ck->prog->count && !ck->fatal && !diag_stopped(ck->d); i++) {
        const ast_decl *d = &ck->prog->decls[i];
        ck->cur_decl = d;
        switch (d->kind) {
        case DECL_PARAM:
            check_param(ck, d);
            break;
        case DECL_LET:
            check_let(ck, d);
            break;
        case DECL_FN:
            check_fn(ck, d);
            break;
        case DECL_OUT:
            check_out(ck, d);
            break;
        }
    }
}

/* Warnings shown for unused declarations; the rest are counted in one more. */
#define CHECK_MAX_UNUSED_WARNINGS 10

static const char *decl_kind_word(ast_decl_kind kind) {
    return kind == DECL_PARAM ? "param" : kind == DECL_LET ? "let" : "fn";
}

/*
 * A param, let or fn that no body names is most often a typo or a leftover
 * (the pattern shows something else than its author thinks), so it is a
 * warning. Names starting with `_` are unused on purpose. Shown only for a
 * pattern without errors, where it cannot be a follow-on of one.
 */
static void warn_unused(checker *ck) {
    uint32_t shown = 0, more = 0;
    for (uint32_t i = 0; i < ck->prog->count; i++) {
        const ast_decl *d = &ck->prog->decls[i];
        if (d->kind == DECL_OUT || !d->name || d->name[0] == '_') continue;
        const sym *s = map_get(&ck->globals, d->name);
        if (!s || s->decl != d || s->used) continue;
        if (shown++ < CHECK_MAX_UNUSED_WARNINGS)
            diag_warning(ck->d, W_UNUSED, d->name_start, d->name_end,
                         "use it, remove it, or start its name with `_` to keep it unused",
                         "%s `%s` is never used", decl_kind_word(d->kind), d->name);
        else
            more++;
    }
    if (more)
        diag_warning(ck->d, W_UNUSED, DIAG_NO_POS, DIAG_NO_POS, NULL,
                     "%u more declarations are never used", (unsigned)more);
}

sky_status check_program(arena *a, diag_list *d, const ast_program *prog, graph_result *out) {
    memset(out, 0, sizeof *out);
    checker ck = {.a = a, .d = d, .prog = prog, .out = ERR};
    if (!setup(&ck)) {
        free(ck.stack);
        return SKY_ERR_NOMEM;
    }
    check_decls(&ck);
    free(ck.stack);
    free(ck.key_buf);
    if (ck.nomem || d->nomem) return SKY_ERR_NOMEM;
    /* Without an `out` and with other errors, the others come first: no cascade. */
    if (!ck.first_out && !ck.fatal && !diag_stopped(d) && d->errors == 0) {
        uint32_t at = prog->count ? prog->decls[prog->count - 1].end : 0;
        diag_error(d, E_MISSING_OUT, at, at,
                   "every pattern has exactly one `out`, such as `out hsv(theta / tau, 1, 1)`",
                   "missing `out` declaration: the pattern does not say what to show");
    }
    if (d->errors == 0 && !d->stopped && ck.out.type == TY_ERROR)
        diag_error(d, E_INTERNAL, DIAG_NO_POS, DIAG_NO_POS, NULL,
                   "internal compiler error: `out` has no value but no error was reported");
    if (d->errors > 0 || d->stopped || ck.out.type == TY_ERROR) return SKY_ERR_COMPILE;
    warn_unused(&ck);
    if (d->nomem) return SKY_ERR_NOMEM;
    out->g = ck.g;
    out->out_is_grey = ck.out.type == TY_FLOAT;
    for (int c = 0; c < 3; c++) out->out[c] = comp(ck.out, c);
    out->params = ck.params;
    out->param_count = ck.param_count;
    out->param_slots = ck.param_slots;
    return SKY_OK;
}

/*
 * check.c - names, types, fn inlining and reduction unrolling -> scalar graph.
 *
 * Declarations are processed in source order, each in two steps: resolve
 * (resolve.c) binds every name of its body, then lower (lower.c) type-checks
 * the body and turns it into graph nodes. This file then binds the
 * declaration's name to what it defines: a param (its default must be a
 * constant, within its range), a let (its value), a fn (its body, inlined at
 * each call by inline.c) or the one `out`. A name declared twice, or reusing
 * a built-in, is reported here and poisoned, so that later uses stay quiet.
 * check_int.h maps the checker's other files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "eval.h"

/* --------------------------------------------------------- declarations */

static const char *builtin_kind_name(const ck_sym *s) {
    switch (s->kind) {
    case CK_SYM_INPUT:
        return "input";
    case CK_SYM_CONST:
        return "constant";
    case CK_SYM_REDUCTION:
        return "reduction";
    case CK_SYM_PREV:
        return "input and function";
    default:
        return "function";
    }
}

/* Binds the declaration's name; reports reuse of a built-in or an earlier name. */
static void define(ck_checker *ck, const ast_decl *d, ck_sym_kind kind, ck_value val) {
    ck_sym *s = ck_map_get(&ck->globals, d->name);
    if (s && !ck_is_declared(s)) {
        diag_error(ck->d, E_BUILTIN_REUSED, d->name_start, d->name_end, "choose another name",
                   "`%s` is a built-in %s and cannot be redefined", d->name, builtin_kind_name(s));
        /* Later uses of the name refer to this broken declaration, silently. */
        ck_sym *poison = arena_alloc(ck->a, sizeof *poison);
        if (!poison || !ck_map_put(ck->a, &ck->globals, d->name, poison)) {
            ck_fail_nomem(ck);
            return;
        }
        *poison = (ck_sym){.name = d->name, .kind = CK_SYM_POISON, .defined = true, .decl = d};
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
        s->kind = CK_SYM_POISON;
        s->val = CK_ERR;
        return;
    }
    s->kind = val.type == CK_TY_ERROR && kind != CK_SYM_FN && kind != CK_SYM_PICTURE ? CK_SYM_POISON
                                                                                     : kind;
    s->val = val;
    s->defined = true;
}

void ck_define(ck_checker *ck, const ast_decl *d, ck_sym_kind kind, ck_value val) {
    define(ck, d, kind, val);
}

static void check_let(ck_checker *ck, const ast_decl *d) {
    ck_value v = CK_ERR;
    if (d->body) {
        uint32_t slots = ck_resolve_body(ck, d->body, NULL, 0);
        v = ck_lower_top(ck, d->body, slots);
    }
    define(ck, d, CK_SYM_LET, v);
}

static void check_fn(ck_checker *ck, const ast_decl *d) {
    ck_sym *s = ck_map_get(&ck->globals, d->name);
    if (!d->params_ok || !d->body) {
        define(ck, d, CK_SYM_POISON, CK_ERR);
        return;
    }
    ck_name_map params = {0};
    bool ok = true;
    for (uint32_t i = 0; i < d->nparams; i++) {
        void *earlier = ck_map_get(&params, d->params[i]);
        if (earlier) {
            uint32_t first = (uint32_t)((uintptr_t)earlier - 1);
            if (diag_error(ck->d, E_REDEFINED, d->param_starts[i], d->param_ends[i], NULL,
                           "parameter `%s` is declared twice", d->params[i]))
                diag_note(ck->d, d->param_starts[first], d->param_ends[first],
                          "the first `%s` is here", d->params[i]);
            ok = false;
        } else if (!ck_map_put(ck->a, &params, d->params[i], (void *)(uintptr_t)(i + 1))) {
            ck_fail_nomem(ck);
            return;
        }
    }
    uint32_t slots = ck_resolve_body(ck, d->body, &params, d->nparams);
    if (!ok) {
        define(ck, d, CK_SYM_POISON, CK_ERR);
        return;
    }
    if (s && s->decl == d) {
        s->id = ck->fn_count++;
        s->frame_size = slots;
    }
    define(ck, d, CK_SYM_FN, CK_ERR); /* a function has no value of its own */
}

/* The value of a param must be known at compile time: it is the default. */
static bool param_default(ck_checker *ck, const ast_decl *d, ck_value v, double out[3]) {
    node_id which = v.n[0];
    if (v.type == CK_TY_BOOL) {
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
    for (int i = 0; i < ck_width(v.type); i++) {
        if (!eval_graph_const(ck->g, v.n[i], &out[i]) || !isfinite(out[i])) {
            diag_error(ck->d, E_PARAM_NOT_CONST, d->body->start, d->body->end, NULL,
                       "the value of param `%s` is not a finite number", d->name);
            return false;
        }
    }
    for (int i = ck_width(v.type); i < 3; i++) out[i] = out[0];
    return true;
}

static bool param_range(ck_checker *ck, const ast_decl *d, ck_value v, double value0) {
    if (!d->has_range) return true;
    const char *range = diag_snippet(ck->d, d->range_start, d->range_end, 40);
    if (v.type != CK_TY_FLOAT) {
        diag_error(ck->d, E_PARAM_RANGE, d->range_start, d->range_end, NULL,
                   "`in` ranges are for `float` params only; `%s` is a `%s`", d->name,
                   ck_type_name(v.type));
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

static bool param_color(ck_checker *ck, const ast_decl *d, ck_value v) {
    if (!d->is_color || v.type == CK_TY_VEC3) return true;
    diag_error(ck->d, E_PARAM_COLOR, d->color_start, d->color_end,
               "`color` marks a `vec3` param (an rgb colour, e.g. `param tint = rgb(1, 0.5, 0) "
               "color`) for the studio's colour picker; remove it here",
               "`color` is for `vec3` params only; `%s` is a `%s`", d->name, ck_type_name(v.type));
    return false;
}

static void check_param(ck_checker *ck, const ast_decl *d) {
    if (ck->param_count == SKY_MAX_PARAMS) {
        diag_error(ck->d, E_LIMIT_PARAMS, d->name_start, d->name_end,
                   "use `let` for values that need not change while the pattern runs",
                   "too many params: the limit is %d", SKY_MAX_PARAMS);
        define(ck, d, CK_SYM_POISON, CK_ERR);
        return;
    }
    ck_value v = CK_ERR;
    if (d->body) v = ck_lower_top(ck, d->body, ck_resolve_body(ck, d->body, NULL, 0));
    double defaults[3];
    if (v.type == CK_TY_ERROR || !param_default(ck, d, v, defaults) ||
        !param_range(ck, d, v, defaults[0]) || !param_color(ck, d, v)) {
        define(ck, d, CK_SYM_POISON, CK_ERR);
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
    p->color = d->is_color;
    ck_value node = {v.type, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < ck_width(v.type); i++)
        node.n[i] = ck_mk(ck, OP_PARAM, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, p->slot + (uint32_t)i);
    ck->param_count++;
    ck->param_slots += (uint32_t)ck_width(v.type);
    define(ck, d, CK_SYM_PARAM, ck_done(ck, node));
}

static void check_out(ck_checker *ck, const ast_decl *d) {
    if (ck->first_out) {
        if (diag_error(ck->d, E_SECOND_OUT, d->start, d->kw_end, "a pattern has exactly one `out`",
                       "second `out` declaration"))
            diag_note(ck->d, ck->first_out->start, ck->first_out->kw_end,
                      "the first `out` is here");
        if (d->body) ck_lower_top(ck, d->body, ck_resolve_body(ck, d->body, NULL, 0));
        return;
    }
    ck->first_out = d;
    if (!d->body) return;
    ck_value v = ck_lower_top(ck, d->body, ck_resolve_body(ck, d->body, NULL, 0));
    if (v.type == CK_TY_BOOL || v.type == CK_TY_VEC2) {
        diag_error(ck->d, E_OUT_TYPE, d->body->start, d->body->end,
                   v.type == CK_TY_BOOL ? "write `cond ? 1 : 0` for white where the condition holds"
                                        : "add a blue component, as in `vec3(p, 0)`",
                   "`out` takes a `float` (grey) or a `vec3` (colour), found `%s`",
                   ck_type_name(v.type));
        return;
    }
    ck->out = v;
}

/* ---------------------------------------------------------------- setup */

static bool setup(ck_checker *ck) {
    ck->g = graph_create(ck->a, SKY_MAX_NODES);
    ck->params = arena_alloc(ck->a, SKY_MAX_PARAMS * sizeof *ck->params);
    ck->memo_cap = 64;
    ck->memo = arena_alloc(ck->a, ck->memo_cap * sizeof *ck->memo);
    return ck->g && ck->params && ck->memo && ck_add_builtins(ck) && ck_collect_names(ck);
}

static void check_decls(ck_checker *ck) {
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
        case DECL_INPUT:
            ck_check_input(ck, d);
            break;
        }
    }
}

sky_status check_program(arena *a, diag_list *d, const ast_program *prog, graph_result *out) {
    memset(out, 0, sizeof *out);
    ck_checker ck = {.a = a, .d = d, .prog = prog, .out = CK_ERR};
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
    if (d->errors == 0 && !d->stopped && ck.out.type == CK_TY_ERROR)
        diag_error(d, E_INTERNAL, DIAG_NO_POS, DIAG_NO_POS, NULL,
                   "internal compiler error: `out` has no value but no error was reported");
    if (d->errors > 0 || d->stopped || ck.out.type == CK_TY_ERROR) return SKY_ERR_COMPILE;
    ck_warn_unused(&ck);
    if (d->nomem) return SKY_ERR_NOMEM;
    out->g = ck.g;
    out->out_is_grey = ck.out.type == CK_TY_FLOAT;
    for (int c = 0; c < 3; c++) out->out[c] = ck_comp(ck.out, c);
    out->params = ck.params;
    out->param_count = ck.param_count;
    out->param_slots = ck.param_slots;
    out->pictures = ck.pictures;
    out->picture_count = ck.picture_count;
    return SKY_OK;
}

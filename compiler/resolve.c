/*
 * resolve.c - binds every name of a declaration's body, before it is lowered.
 *
 * Each name is bound in place in the syntax tree (ast_expr.slot, .sym) to a
 * local slot (fn parameter, reduction variable; the innermost wins) or to a
 * symbol of names.c (input, constant, built-in, or an earlier param, let or
 * fn): each declaration sees only what comes before it. Unknown names,
 * names used before their declaration and recursion are reported here, once
 * per declaration, even in functions that are never called; a name that
 * failed is marked `bad`, and lowering turns it into CK_ERR silently.
 */
#include <string.h>

#include "audio_leaf.h"
#include "check_int.h"

/* The slot of a local (reduction variable, fn parameter), or -1. */
static int32_t lookup_local(const ck_checker *ck, const char *name) {
    for (uint32_t i = ck->nlocals; i-- > 0;)
        if (strcmp(ck->locals[i].name, name) == 0) return ck->locals[i].slot;
    void *slot = ck_map_get(ck->fn_params, name);
    return slot ? (int32_t)((uintptr_t)slot - 1) : -1;
}

/* A declared symbol used before its declaration was processed: self-reference or forward use. */
static bool check_defined(ck_checker *ck, const ck_sym *s, const ast_expr *use) {
    if (!ck_is_declared(s) || s->defined) return true;
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

static const char *reduction_help(const char *name) {
    return strcmp(name, "product") == 0 ? "a reduction is written `product(k in 1..5, expr)`"
                                        : "a reduction is written `sum(k in 0..4, expr)`";
}

/* A function name used as a value. */
static void not_a_value(ck_checker *ck, const ck_sym *s, const ast_expr *e) {
    const char *help;
    if (s->kind == CK_SYM_FN)
        help = diag_fmt(ck->d, "call it with %u argument%s", s->decl->nparams,
                        s->decl->nparams == 1 ? "" : "s");
    else if (strcmp(s->name, "time") == 0)
        help = "`time(period)` is the phase of a cycle; the seconds are `t`";
    else
        help = diag_fmt(ck->d, "call it: `%s`", s->fn->usage);
    diag_error(ck->d, E_NOT_CALLABLE, e->start, e->end, help, "`%s` is a function, not a value",
               s->name);
}

static void resolve_name(ck_checker *ck, ast_expr *e) {
    e->slot = lookup_local(ck, e->name);
    if (e->slot >= 0) return;
    ck_sym *s = ck_map_get(&ck->globals, e->name);
    if (!s && strncmp(e->name, "audio.", 6) == 0) {
        diag_error(ck->d, E_UNKNOWN_NAME, e->op_start, e->op_end, AUDIO_MEMBERS_HELP,
                   "`audio` has no member `%s`", e->name + 6);
        e->bad = true;
        return;
    }
    if (!s) {
        diag_error(ck->d, E_UNKNOWN_NAME, e->start, e->end, ck_suggest_name(ck, e->name, false),
                   "unknown name `%s`", diag_snippet(ck->d, e->start, e->end, 40));
        e->bad = true;
        return;
    }
    if (!check_defined(ck, s, e)) {
        e->bad = true;
        return;
    }
    s->used = true;
    if (s->kind == CK_SYM_BUILTIN || s->kind == CK_SYM_FN) {
        not_a_value(ck, s, e);
        e->bad = true;
    } else if (s->kind == CK_SYM_PICTURE) {
        diag_error(ck->d, E_NOT_CALLABLE, e->start, e->end,
                   diag_fmt(ck->d, "sample it at a point: `%s(u, v)`, u and v in 0..1", s->name),
                   "`%s` is a picture input, not a value", s->name);
        e->bad = true;
    } else if (s->kind == CK_SYM_REDUCTION) {
        diag_error(ck->d, E_NOT_CALLABLE, e->start, e->end, reduction_help(s->name),
                   "`%s` is a reduction, not a value", s->name);
        e->bad = true;
    } else {
        e->sym = s;
    }
}

static void resolve_callee(ck_checker *ck, ast_expr *e) {
    if (lookup_local(ck, e->name) >= 0) {
        diag_error(ck->d, E_NOT_CALLABLE, e->op_start, e->op_end, NULL,
                   "`%s` is a local value here, not a function", e->name);
        e->bad = true;
        return;
    }
    ck_sym *s = ck_map_get(&ck->globals, e->name);
    if (!s && strncmp(e->name, "audio.", 6) == 0) {
        diag_error(ck->d, E_UNKNOWN_FUNCTION, e->op_start, e->op_end, AUDIO_MEMBERS_HELP,
                   "`audio` has no function `%s`", e->name + 6);
        e->bad = true;
        return;
    }
    if (!s) {
        diag_error(ck->d, E_UNKNOWN_FUNCTION, e->op_start, e->op_end,
                   ck_suggest_name(ck, e->name, true), "unknown function `%s`",
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
    case CK_SYM_BUILTIN:
    case CK_SYM_FN:
    case CK_SYM_PREV:
    case CK_SYM_PICTURE:
    case CK_SYM_POISON:
        e->sym = s;
        return;
    case CK_SYM_REDUCTION:
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

static void resolve(ck_checker *ck, ast_expr *e);

static void resolve_reduce(ck_checker *ck, ast_expr *e) {
    if (ck->nlocals == ck->locals_cap) {
        uint32_t cap = ck->locals_cap ? ck->locals_cap * 2 : 16;
        ck_local *grown =
            arena_realloc(ck->a, ck->locals, ck->locals_cap * sizeof *grown, cap * sizeof *grown);
        if (!grown) {
            ck_fail_nomem(ck);
            return;
        }
        ck->locals = grown;
        ck->locals_cap = cap;
    }
    e->slot = (int32_t)ck->next_slot++;
    if (ck->next_slot > ck->max_slots) ck->max_slots = ck->next_slot;
    ck->locals[ck->nlocals++] = (ck_local){e->var, e->slot};
    resolve(ck, e->a);
    ck->nlocals--;
    ck->next_slot--;
}

static void resolve(ck_checker *ck, ast_expr *e) {
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

/* Resolves a top-level body (fn parameters in the first slots); returns the slots it needs. */
uint32_t ck_resolve_body(ck_checker *ck, ast_expr *body, const ck_name_map *params,
                         uint32_t nparams) {
    ck->fn_params = params;
    ck->nlocals = 0;
    ck->next_slot = ck->max_slots = nparams;
    resolve(ck, body);
    ck->fn_params = NULL;
    return ck->max_slots;
}

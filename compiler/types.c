/*
 * types.c - what every part of lowering shares: errors, graph nodes, type checks.
 *
 * An error inside an inlined function gets a note at the call, since the
 * same body may be fine for other argument types. Nodes are made only
 * through ck_mk, which stops the checker (and says where) when the graph
 * reaches SKY_MAX_NODES or memory runs out, so adversarial input cannot
 * grow the compiler without bound. The type checks report a wrong operand
 * once, with help, and leave the caller to return CK_ERR.
 */
#include <stdarg.h>

#include "check_int.h"

/* ------------------------------------------------- errors and graph nodes */

/* Reports an error; inside an inlined function, a note points at the call. */
bool ck_error(ck_checker *ck, const ck_frame *f, const char *code, uint32_t start, uint32_t end,
              const char *help, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool kept = diag_verror(ck->d, code, start, end, help, fmt, ap);
    va_end(ap);
    if (kept && f && f->call)
        diag_note(ck->d, f->call->start, f->call->end, "in this call of `%s`", f->call->name);
    return kept;
}

/* The head of the declaration being lowered (`let name`, `out`), for limit errors. */
static void decl_head(const ck_checker *ck, uint32_t *start, uint32_t *end) {
    const ast_decl *d = ck->cur_decl;
    *start = d->start;
    *end = d->name ? d->name_end : d->kw_end;
}

/* Memory ran out: the checker stops. */
void ck_fail_nomem(ck_checker *ck) {
    ck->nomem = ck->fatal = true;
}

/* A limit was hit: reported at the head of the declaration being lowered; the checker stops. */
void ck_fail_limit(ck_checker *ck, const char *code, const char *help, const char *message) {
    uint32_t start, end;
    decl_head(ck, &start, &end);
    diag_error(ck->d, code, start, end, help, "%s", message);
    ck->fatal = true;
}

/* A graph node; GRAPH_NONE (and the checker stops) at the node limit or without memory. */
node_id ck_mk(ck_checker *ck, sky_op op, node_id a, node_id b, node_id c, double imm) {
    if (ck->fatal) return GRAPH_NONE;
    int arity = sky_op_table[op].arity;
    if ((arity > 0 && a == GRAPH_NONE) || (arity > 1 && b == GRAPH_NONE) ||
        (arity > 2 && c == GRAPH_NONE))
        return GRAPH_NONE;
    node_id id = graph_add(ck->g, op, a, b, c, imm);
    if (id != GRAPH_NONE) return id;
    if (!graph_full(ck->g)) {
        ck_fail_nomem(ck);
        return GRAPH_NONE;
    }
    char *message = diag_fmt(ck->d,
                             "pattern too large: more than %u graph nodes after inlining "
                             "and unrolling",
                             (unsigned)SKY_MAX_NODES);
    if (message)
        ck_fail_limit(ck, E_LIMIT_NODES,
                      "the limit was reached while building this declaration; use fewer "
                      "reduction iterations or simpler functions",
                      message);
    ck->fatal = true;
    return GRAPH_NONE;
}

/* Applies op per component over w components (operands broadcast). */
ck_value ck_map_op(ck_checker *ck, sky_op op, int w, const ck_value *args, int nargs,
                   uint8_t type) {
    ck_value out = {type, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < w; i++) {
        node_id n[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
        for (int k = 0; k < nargs; k++) n[k] = ck_comp(args[k], i);
        out.n[i] = ck_mk(ck, op, n[0], n[1], n[2], 0);
    }
    return ck_done(ck, out);
}

/* ------------------------------------------------------- type checks */

/* True for a number (float or vector); a bool is reported at `where`. */
bool ck_need_number(ck_checker *ck, const ck_frame *f, const ast_expr *where, ck_value v,
                    const char *help) {
    if (v.type != CK_TY_BOOL) return true;
    ck_error(ck, f, E_BOOL_AS_NUMBER, where->start, where->end, help ? help : CHECK_BOOL_HELP,
             "a `bool` cannot be used as a number");
    return false;
}

/* True for a float (one number); reports bools and vectors. */
bool ck_need_float(ck_checker *ck, const ck_frame *f, const ast_expr *where, ck_value v,
                   const char *what) {
    if (!ck_need_number(ck, f, where, v, NULL)) return false;
    if (v.type == CK_TY_FLOAT) return true;
    ck_error(ck, f, E_ARGUMENT_TYPE, where->start, where->end,
             "pick one component with a swizzle such as `.x`", "%s must be a `float`, found `%s`",
             what, ck_type_name(v.type));
    return false;
}

/*
 * The common width of numbers combined component-wise, or 0 after reporting a
 * mismatch "mismatched vector sizes <what_fmt with what_arg>".
 */
int ck_common_width(ck_checker *ck, const ck_frame *f, const ast_expr *where, const ck_value *v,
                    int n, const char *code, const char *what_fmt, const char *what_arg) {
    int w = 1;
    uint8_t first = CK_TY_FLOAT;
    for (int i = 0; i < n; i++) {
        int wi = ck_width(v[i].type);
        if (wi == 1) continue;
        if (w != 1 && wi != w) {
            const char *what = diag_fmt(ck->d, what_fmt, what_arg);
            ck_error(ck, f, code, where->start, where->end,
                     "use a swizzle such as `.xy`, or `vec3(v, 0)`, to make the sizes match",
                     "mismatched vector sizes %s: `%s` and `%s`", what ? what : "",
                     ck_type_name(first), ck_type_name(v[i].type));
            return 0;
        }
        w = wi;
        first = v[i].type;
    }
    return w;
}

/* Finds an input that makes `n` at least `rate`, and names it ("`x`", "the param `speed`"). */
const char *ck_dependency_name(ck_checker *ck, node_id n, uint8_t rate) {
    for (;;) {
        const graph_node *node = graph_get(ck->g, n);
        if (!node) return "an input";
        int arity = sky_op_table[node->op].arity;
        if (node->op == OP_PREV_AT) return "`prev(s, l)`";
        if (node->op == OP_PIC) return "a picture input";
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
uint8_t ck_value_rate(const ck_checker *ck, ck_value v, node_id *which) {
    uint8_t rate = RATE_CONST;
    for (int i = 0; i < ck_width(v.type); i++) {
        const graph_node *node = graph_get(ck->g, v.n[i]);
        if (node && node->rate >= rate) {
            rate = node->rate;
            *which = v.n[i];
        }
    }
    return rate;
}

/*
 * opt.c - the optimizer: exact simplification passes run to a fixpoint, then
 * flattening (backend_build).
 *
 * As in Taichi's full_simplify, the passes run in a loop until none changes
 * anything, and (with verify_graph or in debug builds) the verifier checks
 * the graph after every pass. Each pass rebuilds the graph into a fresh one
 * through graph_add, so hash-consing merges whatever a rewrite made equal
 * (Theano runs its merge pass after every phase for the same reason):
 *
 *   fold      every constant node is computed, in double, by the evaluator's
 *             own kernels (kernel_apply_d), as Aesara's constant_folding calls
 *             the op's runtime code. Unfolded, that node would run in the
 *             frame section, in double, with the same kernel, and reach the
 *             LED section rounded to float once: folding cannot change a bit.
 *   simplify  algebraic identities that are exact in IEEE arithmetic for
 *             every input, NaN, infinities and signed zeros included (LuaJIT
 *             FOLD, Lua's -0/NaN caution). x + 0 -> x is not among them
 *             (-0 + 0 is +0), nor 0 * x -> 0 (inf, NaN), nor pow(x, 1) -> x
 *             (pow(-0, 1) is +0 by the pow definition).
 *   dce       keeps only the nodes the outputs need.
 *
 * One more rule keeps -O0 and -O1 bit-identical: a rewrite may replace a
 * node only by a node of the same rate. A per-LED node is computed in float;
 * replacing, say, select(true, t, x) by t would turn its readers into
 * per-frame nodes computed in double, which round differently. With equal
 * rates every node is computed in the same precision at both levels.
 *
 * At opt_level 0 nothing is rewritten: the graph goes to flattening as the
 * checker built it (hash-consing and rate hoisting still apply).
 */
#include <math.h>
#include <string.h>

#include "eval.h"
#include "graph.h"
#include "opt.h"
#include "program.h"

/* A safety net: the passes shrink the graph, so they settle in a few rounds. */
#define OPT_MAX_ROUNDS 32

typedef struct opt_ctx {
    const graph *src;
    graph *dst;
    node_id *map; /* src node -> dst node */
    uint32_t changes;
} opt_ctx;

/* A pass's rewrite of one node, given its operands already in dst; GRAPH_NONE for none. */
typedef node_id (*opt_rule)(opt_ctx *c, const graph_node *n, const node_id arg[3]);

typedef struct opt_pass {
    const char *name;
    opt_rule rule;
    bool reachable_only;
} opt_pass;

/* ------------------------------------------------------------- helpers */

static const graph_node *dst_node(const opt_ctx *c, node_id id) {
    return graph_get(c->dst, id);
}

/* Node id is the constant whose bits are those of v (so -0.0 is not 0.0). */
static bool is_const_bits(const opt_ctx *c, node_id id, double v) {
    const graph_node *n = dst_node(c, id);
    return n->op == OP_CONST && memcmp(&n->imm, &v, sizeof v) == 0;
}

static bool is_op(const opt_ctx *c, node_id id, sky_op op) {
    return dst_node(c, id)->op == op;
}

static node_id add1(opt_ctx *c, sky_op op, node_id a) {
    return graph_add(c->dst, op, a, GRAPH_NONE, GRAPH_NONE, 0);
}

static node_id add2(opt_ctx *c, sky_op op, node_id a, node_id b) {
    return graph_add(c->dst, op, a, b, GRAPH_NONE, 0);
}

/* The rate the node would have with these operands in dst. */
static uint8_t rate_of(const opt_ctx *c, const graph_node *n, const node_id arg[3]) {
    uint8_t rate = RATE_CONST;
    for (int k = 0; k < sky_op_table[n->op].arity; k++)
        if (dst_node(c, arg[k])->rate > rate) rate = dst_node(c, arg[k])->rate;
    return rate;
}

/* ---------------------------------------------------------------- fold */

static node_id rule_fold(opt_ctx *c, const graph_node *n, const node_id arg[3]) {
    int arity = sky_op_table[n->op].arity;
    if (n->rate != RATE_CONST || arity == 0) return GRAPH_NONE;
    /* Every operand of a constant node is constant, and already folded to a leaf. */
    double v[3] = {0, 0, 0};
    for (int k = 0; k < arity; k++) {
        const graph_node *a = dst_node(c, arg[k]);
        if (a->op != OP_CONST) return GRAPH_NONE;
        v[k] = a->imm;
    }
    return graph_const(c->dst, kernel_apply_d((sky_op)n->op, v[0], v[1], v[2]));
}

/* ------------------------------------------------------------ simplify */

/* x * 1, 1 * x, x / 1, x - 0, x + (-0), (-0) + x: exact for every x. */
static node_id simplify_arith(opt_ctx *c, sky_op op, const node_id a[3]) {
    switch (op) {
    case OP_MUL:
        if (is_const_bits(c, a[1], 1.0)) return a[0];
        if (is_const_bits(c, a[0], 1.0)) return a[1];
        return GRAPH_NONE;
    case OP_DIV:
        return is_const_bits(c, a[1], 1.0) ? a[0] : GRAPH_NONE;
    case OP_SUB:
        return is_const_bits(c, a[1], 0.0) ? a[0] : GRAPH_NONE;
    case OP_ADD:
        if (is_const_bits(c, a[1], -0.0)) return a[0];
        if (is_const_bits(c, a[0], -0.0)) return a[1];
        return GRAPH_NONE;
    case OP_NEG: /* -(-x) flips the sign bit twice */
        return is_op(c, a[0], OP_NEG) ? dst_node(c, a[0])->arg[0] : GRAPH_NONE;
    case OP_ABS:
        if (is_op(c, a[0], OP_ABS)) return a[0];
        if (is_op(c, a[0], OP_NEG)) return add1(c, OP_ABS, dst_node(c, a[0])->arg[0]);
        return GRAPH_NONE;
    case OP_FLOOR:
    case OP_CEIL:
    case OP_TRUNC: {
        /* Already integral (or inf/NaN): floor, ceil and trunc return it unchanged, -0 too. */
        sky_op inner = (sky_op)dst_node(c, a[0])->op;
        bool integral =
            inner == OP_FLOOR || inner == OP_CEIL || inner == OP_TRUNC || inner == OP_ROUND;
        return integral ? a[0] : GRAPH_NONE;
    }
    default:
        return GRAPH_NONE;
    }
}

/* Logic on bools, which hold exactly 0 or 1. */
static node_id simplify_logic(opt_ctx *c, sky_op op, const node_id a[3]) {
    const graph *g = c->dst;
    switch (op) {
    case OP_NOT: { /* not(not(b)) = (b != 0), which is b for a bool */
        if (!is_op(c, a[0], OP_NOT)) return GRAPH_NONE;
        node_id b = dst_node(c, a[0])->arg[0];
        return graph_is_bool(g, b) ? b : GRAPH_NONE;
    }
    case OP_AND: /* and(b, b) = and(b, 1) = b for a bool */
        if (a[0] == a[1] && graph_is_bool(g, a[0])) return a[0];
        if (is_const_bits(c, a[1], 1.0) && graph_is_bool(g, a[0])) return a[0];
        if (is_const_bits(c, a[0], 1.0) && graph_is_bool(g, a[1])) return a[1];
        return GRAPH_NONE;
    case OP_OR: /* or(b, b) = or(b, 0) = b for a bool */
        if (a[0] == a[1] && graph_is_bool(g, a[0])) return a[0];
        if (is_const_bits(c, a[1], 0.0) && graph_is_bool(g, a[0])) return a[0];
        if (is_const_bits(c, a[0], 0.0) && graph_is_bool(g, a[1])) return a[1];
        return GRAPH_NONE;
    default:
        return GRAPH_NONE;
    }
}

static node_id simplify_select(opt_ctx *c, const node_id a[3]) {
    const graph_node *cond = dst_node(c, a[0]);
    if (cond->op == OP_CONST) {
        /* The test is c != 0 in double and, per LED, in float: only fold when both agree. */
        bool d = cond->imm != 0, f = (float)cond->imm != 0;
        if (d == f) return d ? a[1] : a[2];
    }
    if (a[1] == a[2]) return a[1];
    /* select(not c, x, y) = (c == 0 ? x : y) = select(c, y, x), for every c, NaN included */
    if (cond->op == OP_NOT) return graph_add(c->dst, OP_SELECT, cond->arg[0], a[2], a[1], 0);
    /* select(b, 1, 0) = b for a bool */
    if (is_const_bits(c, a[1], 1.0) && is_const_bits(c, a[2], 0.0) && graph_is_bool(c->dst, a[0]))
        return a[0];
    return GRAPH_NONE;
}

/* min/max/clamp as kernels.h defines them (b < a ? b : a and so on). */
static node_id simplify_minmax(opt_ctx *c, sky_op op, const node_id a[3]) {
    switch (op) {
    case OP_MIN:
    case OP_MAX:
        return a[0] == a[1] ? a[0] : GRAPH_NONE; /* x < x is false: gives x */
    case OP_CLAMP:
        /* clamp(x, lo, x) = x: max(x, lo) is x or lo; min of that and x is x either way */
        if (a[2] == a[0]) return a[0];
        /* clamp(x, x, hi) = min(max(x, x), hi) = min(x, hi) */
        if (a[1] == a[0]) return add2(c, OP_MIN, a[0], a[2]);
        return GRAPH_NONE;
    default:
        return GRAPH_NONE;
    }
}

static node_id rule_simplify(opt_ctx *c, const graph_node *n, const node_id arg[3]) {
    sky_op op = (sky_op)n->op;
    if (sky_op_table[op].arity == 0) return GRAPH_NONE;
    node_id r = simplify_arith(c, op, arg);
    if (r == GRAPH_NONE) r = simplify_logic(c, op, arg);
    if (r == GRAPH_NONE && op == OP_SELECT) r = simplify_select(c, arg);
    if (r == GRAPH_NONE) r = simplify_minmax(c, op, arg);
    if (r == GRAPH_NONE) return GRAPH_NONE;
    /* Same rate only (see the file comment); a node created for nothing is left to dce. */
    const graph_node *rn = dst_node(c, r);
    if (!rn || rn->rate != rate_of(c, n, arg)) return GRAPH_NONE;
    return r;
}

/* ----------------------------------------------------------- the passes */

/* Marks the nodes the roots need: readers have larger ids, so one downward sweep does. */
static void mark_reachable(const graph *g, const node_id out[3], uint8_t *keep) {
    for (int c = 0; c < 3; c++) keep[out[c]] = 1;
    for (node_id id = graph_count(g); id-- > 0;) {
        if (!keep[id]) continue;
        const graph_node *n = graph_get(g, id);
        for (int k = 0; k < sky_op_table[n->op].arity; k++) keep[n->arg[k]] = 1;
    }
}

/*
 * Rebuilds cur->g into a fresh graph, applying the pass's rule to every node
 * (or copying it), and maps the roots. *changes counts rewrites and, for a
 * pass that drops unreachable nodes, the nodes dropped.
 */
static sky_status pass_run(arena *a, const opt_pass *pass, graph_result *cur, uint32_t *changes) {
    uint32_t n = graph_count(cur->g);
    opt_ctx c = {.src = cur->g};
    c.dst = graph_create(a, n * 2 + 16);
    c.map = arena_alloc(a, (size_t)n * sizeof *c.map + 1);
    uint8_t *keep = arena_alloc(a, (size_t)n + 1);
    if (!c.dst || !c.map || !keep) return SKY_ERR_NOMEM;
    if (pass->reachable_only)
        mark_reachable(cur->g, cur->out, keep);
    else
        memset(keep, 1, n);

    uint32_t kept = 0;
    for (node_id id = 0; id < n; id++) {
        c.map[id] = GRAPH_NONE;
        if (!keep[id]) continue;
        kept++;
        const graph_node *node = graph_get(cur->g, id);
        node_id arg[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
        for (int k = 0; k < sky_op_table[node->op].arity; k++) arg[k] = c.map[node->arg[k]];
        node_id r = pass->rule ? pass->rule(&c, node, arg) : GRAPH_NONE;
        if (r != GRAPH_NONE)
            c.changes++;
        else
            r = graph_add(c.dst, (sky_op)node->op, arg[0], arg[1], arg[2], node->imm);
        if (r == GRAPH_NONE) return graph_full(c.dst) ? SKY_ERR_INTERNAL : SKY_ERR_NOMEM;
        c.map[id] = r;
    }
    for (int k = 0; k < 3; k++) cur->out[k] = c.map[cur->out[k]];
    cur->g = c.dst;
    *changes = c.changes + (n - kept);
    return SKY_OK;
}

static bool verify_wanted(const sky_compile_options *options) {
#ifdef SKY_GRAPH_VERIFY
    (void)options;
    return true;
#else
    return options && options->verify_graph;
#endif
}

static sky_status verify(const graph_result *r, bool wanted) {
    if (!wanted) return SKY_OK;
    const char *why = NULL;
    return graph_verify(r->g, &why) ? SKY_OK : SKY_ERR_INTERNAL;
}

static const opt_pass opt_passes[] = {
    {"fold", rule_fold, false},
    {"simplify", rule_simplify, false},
    {"dce", NULL, true},
};

/* The passes, round after round, until a round changes nothing. */
static sky_status opt_fixpoint(arena *a, graph_result *cur, bool check) {
    for (int round = 0; round < OPT_MAX_ROUNDS; round++) {
        uint32_t total = 0;
        for (size_t k = 0; k < sizeof opt_passes / sizeof opt_passes[0]; k++) {
            uint32_t changes = 0;
            sky_status st = pass_run(a, &opt_passes[k], cur, &changes);
            if (st == SKY_OK) st = verify(cur, check);
            if (st != SKY_OK) return st;
            total += changes;
        }
        if (total == 0) break;
    }
    return SKY_OK;
}

sky_status backend_build(arena *a, const graph_result *in, const sky_compile_options *options,
                         sky_program **program) {
    if (!a || !in || !in->g || !program) return SKY_ERR_INVALID_ARG;
    *program = NULL;
    for (int k = 0; k < 3; k++)
        if (in->out[k] >= graph_count(in->g)) return SKY_ERR_INTERNAL;
    bool check = verify_wanted(options);
    graph_result cur = *in;
    sky_status st = verify(&cur, check);
    if (st != SKY_OK) return st;
    int level = options ? options->opt_level : 1;
    if (level >= 1) {
        st = opt_fixpoint(a, &cur, check);
        if (st != SKY_OK) return st;
    }
    return program_flatten(&cur, program);
}

/*
 * shrink.c - minimises a failing generated program, keeping the failure.
 *
 * Greedy reduction on the typed tree (in the spirit of delta debugging and
 * C-Reduce's passes), each candidate re-printed and handed to the caller's
 * predicate, which re-runs the failing check:
 *
 *  1. drop a declaration nothing refers to any more;
 *  2. replace a node by one of its own operands of the same type (hoisting a
 *     subexpression up, which removes everything around it);
 *  3. replace a node by a small leaf of its type: `0.5`, `vec2(0.5, 0.5)`,
 *     `vec3(0.5)`, `0 < 1`, or in a generic fn body one of its T parameters;
 *  4. shrink a reduction to one iteration.
 *
 * Every edit keeps the program well typed (same-type replacements only, and a
 * reduction's body is never hoisted out of it while it uses the reduction's
 * variable), so a candidate fails for the same reason or passes, never for a
 * type error of the shrinker's making. Nodes are edited in place (ids stay
 * valid); orphaned nodes are simply never printed. Passes repeat until no
 * edit is kept or the try budget is spent.
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

typedef struct shrinker {
    gen_shrink_pred pred;
    void *context;
    int max_tries;
    int *tries;
    gen_program *best;
} shrinker;

/* Tries a candidate; on success it becomes the best program (and true). */
static bool attempt(shrinker *s, gen_program *cand) {
    if (!cand) return false;
    /* an edit that changes nothing in the text (a leaf replaced by itself) is no progress */
    if (*s->tries >= s->max_tries || !gen_program_print(cand) ||
        (cand->source_len == s->best->source_len &&
         memcmp(cand->source, s->best->source, cand->source_len) == 0)) {
        gen_program_free(cand);
        return false;
    }
    (*s->tries)++;
    if (!s->pred(cand, s->context)) {
        gen_program_free(cand);
        return false;
    }
    gen_program_free(s->best);
    s->best = cand;
    return true;
}

/* -------------------------------------------------------------- liveness */

/* Marks the nodes reachable from the declarations' bodies. */
static void mark(const gen_program *p, int32_t id, uint8_t *live) {
    if (live[id]) return;
    live[id] = 1;
    const gen_node *n = &p->nodes[id];
    for (int i = 0; i < n->nargs; i++) mark(p, n->a[i], live);
}

/* Live nodes, outermost first (breadth-first from the declarations, last first). */
static int32_t *live_nodes(const gen_program *p, uint32_t *count) {
    int32_t *order = malloc((p->node_count ? p->node_count : 1) * sizeof *order);
    uint8_t *seen = calloc(p->node_count ? p->node_count : 1, 1);
    if (!order || !seen) {
        free(order);
        free(seen);
        return NULL;
    }
    uint32_t n = 0;
    for (uint32_t d = p->decl_count; d-- > 0;) {
        int32_t root = p->decls[d].body;
        if (!seen[root]) {
            seen[root] = 1;
            order[n++] = root;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const gen_node *node = &p->nodes[order[i]];
        for (int k = 0; k < node->nargs; k++)
            if (!seen[node->a[k]]) {
                seen[node->a[k]] = 1;
                order[n++] = node->a[k];
            }
    }
    free(seen);
    *count = n;
    return order;
}

static bool refers_to_decl(const gen_program *p, uint32_t decl) {
    uint8_t *live = calloc(p->node_count ? p->node_count : 1, 1);
    if (!live) return true;
    for (uint32_t d = 0; d < p->decl_count; d++)
        if (d != decl) mark(p, p->decls[d].body, live);
    bool used = false;
    for (uint32_t i = 0; i < p->node_count && !used; i++) {
        const gen_node *n = &p->nodes[i];
        used = live[i] && (n->kind == GN_PARAM || n->kind == GN_LET || n->kind == GN_CALL) &&
               n->ref == (int32_t)decl;
    }
    free(live);
    return used;
}

static bool uses_rvar(const gen_program *p, int32_t id, int32_t reduce) {
    const gen_node *n = &p->nodes[id];
    if (n->kind == GN_RVAR && n->ref == reduce) return true;
    for (int i = 0; i < n->nargs; i++)
        if (uses_rvar(p, n->a[i], reduce)) return true;
    return false;
}

/* ----------------------------------------------------------------- edits */

static gen_program *remove_decl(const gen_program *p, uint32_t decl) {
    gen_program *c = gen_program_clone(p);
    if (!c) return NULL;
    memmove(&c->decls[decl], &c->decls[decl + 1], (c->decl_count - decl - 1) * sizeof *c->decls);
    c->decl_count--;
    for (uint32_t i = 0; i < c->node_count; i++) {
        gen_node *n = &c->nodes[i];
        if ((n->kind == GN_PARAM || n->kind == GN_LET || n->kind == GN_CALL) &&
            n->ref > (int32_t)decl)
            n->ref--;
    }
    return c;
}

/* Which declaration's body holds node `id` (for the T parameters of a generic fn). */
static int32_t owner_of(const gen_program *p, int32_t id) {
    uint8_t *live = calloc(p->node_count ? p->node_count : 1, 1);
    if (!live) return -1;
    int32_t owner = -1;
    for (uint32_t d = 0; d < p->decl_count && owner < 0; d++) {
        memset(live, 0, p->node_count);
        mark(p, p->decls[d].body, live);
        if (live[id]) owner = (int32_t)d;
    }
    free(live);
    return owner;
}

/* A leaf the shrinker itself makes (0.5, vec3(0), 0 < 1...): replacing it is no progress. */
static bool is_small_leaf(const gen_program *p, const gen_node *n) {
    if (n->kind == GN_NUM) return true;
    if (n->kind != GN_BUILTIN && !(n->kind == GN_BIN && n->op >= GB_LT && n->op <= GB_NE))
        return false;
    if (n->kind == GN_BUILTIN && n->op != GF_VEC2 && n->op != GF_VEC3_SPLAT) return false;
    for (int i = 0; i < n->nargs; i++)
        if (p->nodes[n->a[i]].kind != GN_NUM) return false;
    return true;
}

/* Overwrites node id of a clone with a leaf of its type; NULL when there is none to try. */
static gen_program *leaf_for(const gen_program *p, int32_t id, int variant) {
    const gen_node *n = &p->nodes[id];
    bool is_leaf = n->kind == GN_INPUT || n->kind == GN_RVAR || n->kind == GN_PARAM ||
                   n->kind == GN_LET || n->kind == GN_PREV;
    if (is_small_leaf(p, n) || n->kind == GN_ARG || (is_leaf && variant > 0)) return NULL;
    gen_program *c = gen_program_clone(p);
    if (!c) return NULL;
    gen_node leaf;
    int32_t half = -1;
    switch (n->type) {
    case GT_FLOAT:
        half = gen_node_num(c, variant ? 0.0 : 0.5);
        if (half < 0) break;
        leaf = c->nodes[half];
        break;
    case GT_VEC2: {
        int32_t h = gen_node_num(c, 0.5);
        int32_t args[2] = {h, h};
        half = gen_node_call(c, GF_VEC2, GT_VEC2, 2, args);
        if (half >= 0) leaf = c->nodes[half];
        break;
    }
    case GT_VEC3: {
        int32_t h = gen_node_num(c, variant ? 0.0 : 0.5);
        half = gen_node_call(c, GF_VEC3_SPLAT, GT_VEC3, 1, &h);
        if (half >= 0) leaf = c->nodes[half];
        break;
    }
    case GT_BOOL:
        half = gen_node_bin(c, variant ? GB_GT : GB_LT, gen_node_num(c, 0), gen_node_num(c, 1),
                            GT_BOOL);
        if (half >= 0) leaf = c->nodes[half];
        break;
    case GT_T: { /* a T parameter of the enclosing fn */
        int32_t owner = owner_of(p, id);
        if (owner < 0 || p->decls[owner].kind != GD_FN) break;
        const gen_decl *d = &p->decls[owner];
        int found = -1, seen = 0;
        for (int i = 0; i < d->nargs; i++)
            if (d->arg_types[i] == GT_T && seen++ == variant) found = i;
        if (found < 0) break;
        leaf = (gen_node){.kind = GN_ARG, .type = GT_T, .ref = found};
        half = 0;
        break;
    }
    default:
        break;
    }
    if (half < 0) {
        gen_program_free(c);
        return NULL;
    }
    c->nodes[id] = leaf;
    return c;
}

/* Replaces node id by its k-th operand when that has the same type; NULL otherwise. */
static gen_program *hoist(const gen_program *p, int32_t id, int k) {
    const gen_node *n = &p->nodes[id];
    if (k >= n->nargs) return NULL;
    const gen_node *child = &p->nodes[n->a[k]];
    if (child->type != n->type) return NULL;
    if (n->kind == GN_REDUCE && uses_rvar(p, n->a[k], id)) return NULL;
    /* A reduction variable's node must stay its reduction: do not move a reduction. */
    if (child->kind == GN_REDUCE) return NULL;
    gen_program *c = gen_program_clone(p);
    if (!c) return NULL;
    c->nodes[id] = c->nodes[n->a[k]];
    return c;
}

static gen_program *one_iteration(const gen_program *p, int32_t id) {
    const gen_node *n = &p->nodes[id];
    if (n->kind != GN_REDUCE || n->hi - n->lo <= 1) return NULL;
    gen_program *c = gen_program_clone(p);
    if (c) c->nodes[id].hi = c->nodes[id].lo + 1;
    return c;
}

/* ----------------------------------------------------------------- passes */

static bool pass_decls(shrinker *s) {
    bool progress = false;
    for (uint32_t d = s->best->decl_count; d-- > 0;) {
        if (*s->tries >= s->max_tries) break;
        if (s->best->decls[d].kind == GD_OUT || refers_to_decl(s->best, d)) continue;
        progress |= attempt(s, remove_decl(s->best, d));
    }
    return progress;
}

static bool pass_nodes(shrinker *s) {
    bool progress = false;
    uint32_t count = 0;
    int32_t *order = live_nodes(s->best, &count);
    if (!order) return false;
    for (uint32_t i = 0; i < count && *s->tries < s->max_tries; i++) {
        int32_t id = order[i];
        bool done = false;
        for (int k = 0; k < GEN_MAX_ARGS && !done; k++) done = attempt(s, hoist(s->best, id, k));
        for (int v = 0; v < 2 && !done; v++) done = attempt(s, leaf_for(s->best, id, v));
        if (!done) done = attempt(s, one_iteration(s->best, id));
        if (done) {
            progress = true;
            free(order);
            order = live_nodes(s->best, &count);
            if (!order) return true;
            i = (uint32_t)-1; /* the tree changed: start over from the outside */
        }
    }
    free(order);
    return progress;
}

gen_program *gen_shrink(const gen_program *program, gen_shrink_pred pred, void *context,
                        int max_tries, int *tries) {
    int local = 0;
    shrinker s = {pred, context, max_tries, tries ? tries : &local, gen_program_clone(program)};
    *s.tries = 0;
    if (!s.best) return NULL;
    bool progress = true;
    while (progress && *s.tries < max_tries) {
        progress = pass_decls(&s);
        progress |= pass_nodes(&s);
    }
    return s.best;
}

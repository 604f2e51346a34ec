/*
 * graph.c - the hash-consed scalar DAG and its verifier.
 *
 * Nodes live in one growing array; a node's operands always have smaller
 * ids, so the array is a topological order and every pass can walk it front
 * to back. graph_add looks a node up in an open-addressing hash table
 * (linear probing, power-of-two size, at most half full) before creating it,
 * so equal subexpressions are one node (CSE for free, as in Theano's merge
 * or LuaJIT's CSE). The key is (op, operands, bits of imm): 0.0 and -0.0, and
 * NaNs with different payloads, are different constants, because folding
 * them together would change what a program computes.
 *
 * A node's rate is fixed at creation: leaves take theirs from ops.def, other
 * nodes the highest rate of their operands. prev_at is the exception: it
 * reads the previous frame, which only the per-LED section can see, so it is
 * always per-LED whatever its operands.
 */
#include "audio_leaf.h"
#include "graph.h"
#include "sky/picture.h"

#include <string.h>

#define GRAPH_FIRST_CAP   256u
#define GRAPH_FIRST_TABLE 512u

struct graph {
    arena *a;
    graph_node *nodes;
    uint8_t *is_bool; /* per node: graph_is_bool, decided at creation */
    uint32_t count;
    uint32_t cap;
    uint32_t max_nodes;
    uint32_t *table; /* node ids, GRAPH_NONE for an empty slot */
    uint32_t table_size;
    bool full;
};

graph *graph_create(arena *a, uint32_t max_nodes) {
    graph *g = arena_alloc(a, sizeof *g);
    if (!g) return NULL;
    g->a = a;
    g->max_nodes = max_nodes;
    g->cap = GRAPH_FIRST_CAP;
    g->nodes = arena_alloc(a, g->cap * sizeof *g->nodes);
    g->is_bool = arena_alloc(a, g->cap);
    g->table_size = GRAPH_FIRST_TABLE;
    g->table = arena_alloc(a, g->table_size * sizeof *g->table);
    if (!g->nodes || !g->is_bool || !g->table) return NULL;
    memset(g->table, 0xff, g->table_size * sizeof *g->table);
    return g;
}

bool graph_full(const graph *g) {
    return g->full;
}

uint32_t graph_count(const graph *g) {
    return g->count;
}

const graph_node *graph_get(const graph *g, node_id id) {
    return id < g->count ? &g->nodes[id] : NULL;
}

/* Ops whose imm means something; every other op is keyed with imm 0. */
static bool op_uses_imm(sky_op op) {
    return op == OP_CONST || op == OP_PARAM || op == OP_PREV || op == OP_PREV_AT ||
           op == OP_UNIFORM || op == OP_AUDIO || op == OP_PIC;
}

static uint64_t imm_bits(double imm) {
    uint64_t u;
    memcpy(&u, &imm, sizeof u);
    return u;
}

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint32_t node_hash(const graph_node *n) {
    uint64_t h = mix64(n->op + 0x9e3779b97f4a7c15ull);
    for (int k = 0; k < 3; k++) h = mix64(h ^ (n->arg[k] + ((uint64_t)k << 32)));
    h = mix64(h ^ imm_bits(n->imm));
    return (uint32_t)h;
}

static bool node_equal(const graph_node *x, const graph_node *y) {
    return x->op == y->op && x->arg[0] == y->arg[0] && x->arg[1] == y->arg[1] &&
           x->arg[2] == y->arg[2] && imm_bits(x->imm) == imm_bits(y->imm);
}

/* The table slot holding a node equal to `key`, or the empty slot where it belongs. */
static uint32_t table_find(const graph *g, const graph_node *key) {
    uint32_t mask = g->table_size - 1;
    uint32_t i = node_hash(key) & mask;
    while (g->table[i] != GRAPH_NONE && !node_equal(&g->nodes[g->table[i]], key))
        i = (i + 1) & mask;
    return i;
}

static bool table_grow(graph *g) {
    uint32_t size = g->table_size * 2;
    uint32_t *table = arena_alloc(g->a, (size_t)size * sizeof *table);
    if (!table) return false;
    memset(table, 0xff, (size_t)size * sizeof *table);
    g->table = table;
    g->table_size = size;
    for (uint32_t id = 0; id < g->count; id++) g->table[table_find(g, &g->nodes[id])] = id;
    return true;
}

static bool nodes_grow(graph *g) {
    uint32_t cap = g->cap * 2;
    graph_node *nodes =
        arena_realloc(g->a, g->nodes, (size_t)g->cap * sizeof *nodes, (size_t)cap * sizeof *nodes);
    if (!nodes) return false;
    g->nodes = nodes;
    uint8_t *is_bool = arena_realloc(g->a, g->is_bool, g->cap, cap);
    if (!is_bool) return false;
    g->is_bool = is_bool;
    g->cap = cap;
    return true;
}

/* Whether node n (with existing operands) always holds 0 or 1: see graph_is_bool. */
static bool node_is_bool(const graph *g, const graph_node *n) {
    if (n->op >= OP__COUNT) return false;
    if (sky_op_table[n->op].result == RESULT_BOOL) return true;
    if (n->op == OP_CONST) return imm_bits(n->imm) == imm_bits(0.0) || n->imm == 1.0;
    if (n->op == OP_SELECT) return g->is_bool[n->arg[1]] && g->is_bool[n->arg[2]];
    return false;
}

/* The rate a node with these operands has: see the file comment. */
static uint8_t node_rate(const graph *g, sky_op op, const node_id arg[3]) {
    const sky_op_info *info = &sky_op_table[op];
    if (info->leaf_rate >= 0) return (uint8_t)info->leaf_rate;
    if (op == OP_PREV_AT || op == OP_PIC) return RATE_LED;
    uint8_t rate = RATE_CONST;
    for (int k = 0; k < info->arity; k++)
        if (g->nodes[arg[k]].rate > rate) rate = g->nodes[arg[k]].rate;
    return rate;
}

node_id graph_add(graph *g, sky_op op, node_id a, node_id b, node_id c, double imm) {
    if ((unsigned)op >= OP__COUNT) return GRAPH_NONE;
    graph_node key = {.op = (uint16_t)op, .arg = {a, b, c}, .imm = op_uses_imm(op) ? imm : 0.0};
    int arity = sky_op_table[op].arity;
    for (int k = 0; k < 3; k++) {
        bool used = k < arity;
        if (used ? key.arg[k] >= g->count : key.arg[k] != GRAPH_NONE) return GRAPH_NONE;
    }
    uint32_t slot = table_find(g, &key);
    if (g->table[slot] != GRAPH_NONE) return g->table[slot];

    if (g->count >= g->max_nodes) {
        g->full = true;
        return GRAPH_NONE;
    }
    if (g->count == g->cap && !nodes_grow(g)) return GRAPH_NONE;
    key.rate = node_rate(g, op, key.arg);
    node_id id = g->count++;
    g->nodes[id] = key;
    g->is_bool[id] = node_is_bool(g, &key);
    g->table[slot] = id;
    if ((uint64_t)g->count * 2 > g->table_size && !table_grow(g)) {
        /* The node exists but cannot be found again: undo it. */
        g->count--;
        g->table[slot] = GRAPH_NONE;
        return GRAPH_NONE;
    }
    return id;
}

node_id graph_const(graph *g, double value) {
    return graph_add(g, OP_CONST, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, value);
}

bool graph_is_bool(const graph *g, node_id id) {
    return id < g->count && g->is_bool[id];
}

/* Operand k of op must be a bool: the logic ops' operands and select's condition. */
static bool expects_bool(sky_op op, int k) {
    switch (op) {
    case OP_NOT:
    case OP_AND:
    case OP_OR:
        return true;
    case OP_SELECT:
        return k == 0;
    default:
        return false;
    }
}

static bool is_small_int(double v, double limit) {
    return v >= 0 && v < limit && v == (double)(uint32_t)v;
}

/* The imm of node n is meaningful for its op. */
static bool imm_valid(const graph_node *n) {
    switch (n->op) {
    case OP_CONST:
        return true;
    case OP_PARAM:
        return is_small_int(n->imm, SKY_MAX_PARAMS * 3);
    case OP_PREV:
    case OP_PREV_AT:
        return is_small_int(n->imm, 3);
    case OP_AUDIO:
        return is_small_int(n->imm, AUDIO_LEAF_COUNT);
    case OP_PIC:
        return is_small_int(n->imm, SKY_MAX_PICTURES * 3);
    default:
        return imm_bits(n->imm) == imm_bits(0.0);
    }
}

static bool verify_fail(const char **why, const char *message) {
    if (why) *why = message;
    return false;
}

/* The invariants of one node, given that every earlier node holds them. */
static bool verify_node(const graph *g, node_id id, const char **why) {
    const graph_node *n = &g->nodes[id];
    if (n->op >= OP__COUNT) return verify_fail(why, "unknown op");
    if (n->op == OP_UNIFORM) return verify_fail(why, "uniform leaf in a graph");
    const sky_op_info *info = &sky_op_table[n->op];
    for (int k = 0; k < 3; k++) {
        if (k >= info->arity) {
            if (n->arg[k] != GRAPH_NONE) return verify_fail(why, "operand past the op's arity");
            continue;
        }
        if (n->arg[k] >= id) return verify_fail(why, "operand not earlier than its node");
        if (expects_bool(n->op, k) && !node_is_bool(g, &g->nodes[n->arg[k]]))
            return verify_fail(why, "number where the op expects a bool");
    }
    if (!imm_valid(n)) return verify_fail(why, "immediate out of range for the op");
    if (n->rate != node_rate(g, n->op, n->arg)) return verify_fail(why, "wrong rate");
    uint32_t slot = table_find(g, n);
    if (g->table[slot] != id)
        return verify_fail(why, "node not found by its key (hash-consing broken)");
    return true;
}

bool graph_verify(const graph *g, const char **why) {
    if (!g) return verify_fail(why, "no graph");
    if (g->count > g->max_nodes) return verify_fail(why, "more nodes than the limit");
    for (node_id id = 0; id < g->count; id++)
        if (!verify_node(g, id, why)) return false;
    if (why) *why = NULL;
    return true;
}

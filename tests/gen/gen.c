/*
 * gen.c - the typed random .sky program generator.
 *
 * A program is generated top-down from a typed grammar: gen_expr(type, depth)
 * picks, with weights, one production whose result has the requested type
 * (float, vec2, vec3, bool, or T, the type variable of a generic fn body) and
 * generates its operands with their own types, until the depth budget or the
 * node budget runs out and leaves are chosen. Names are scoped as the spec
 * scopes them: fn parameters and reduction variables may reuse any name (an
 * input such as `x`, a built-in function's name, an earlier declaration), and
 * then shadow it, so the generator never refers to a shadowed name. Per-frame
 * only positions (the period of `time`, param values, fbm's octave count) get
 * expressions of the right rate. Numbers come in every spelling the spec
 * allows (`12 1.5 .5 3. 1e-3 2.5E+2`); their value is what strtod reads.
 *
 * Taming: hash arguments are mostly inputs, leaves or floor(...), values that
 * float and double compute alike, because a hash of a value that differs in
 * its last bit is a different random number; and the arguments of sqrt, log,
 * asin, exp, pow, division... are mostly kept inside the domain where the
 * result is finite (see tame()). run.c skips LEDs whose colour depends on
 * such things, and skipping must stay the exception.
 *
 * print.c turns the tree into source text.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ------------------------------------------------------------------- PRNG */

uint64_t gen_rng_next(gen_rng *rng) {
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double gen_rng_unit(gen_rng *rng) {
    return (double)(gen_rng_next(rng) >> 11) * 0x1p-53;
}

uint32_t gen_rng_below(gen_rng *rng, uint32_t n) {
    return (uint32_t)((gen_rng_next(rng) >> 32) * n >> 32);
}

bool gen_rng_chance(gen_rng *rng, double p) {
    return gen_rng_unit(rng) < p;
}

uint64_t gen_seed_for(uint64_t seed, uint64_t index) {
    gen_rng r = {seed ^ (index * 0xd1b54a32d192ed03ull)};
    gen_rng_next(&r);
    return gen_rng_next(&r);
}

/* ----------------------------------------------------------------- tables */

const gen_builtin_info gen_builtins[GF__COUNT] = {
    [GF_SIN] = {"sin", "sin", 1},
    [GF_COS] = {"cos", "cos", 1},
    [GF_TAN] = {"tan", "tan", 1},
    [GF_ASIN] = {"asin", "asin", 1},
    [GF_ACOS] = {"acos", "acos", 1},
    [GF_ATAN] = {"atan", "atan(x)", 1},
    [GF_SINH] = {"sinh", "sinh", 1},
    [GF_COSH] = {"cosh", "cosh", 1},
    [GF_TANH] = {"tanh", "tanh", 1},
    [GF_EXP] = {"exp", "exp", 1},
    [GF_EXP2] = {"exp2", "exp2", 1},
    [GF_LOG] = {"log", "log", 1},
    [GF_LOG2] = {"log2", "log2", 1},
    [GF_SQRT] = {"sqrt", "sqrt", 1},
    [GF_INVERSESQRT] = {"inversesqrt", "inversesqrt", 1},
    [GF_ABS] = {"abs", "abs", 1},
    [GF_SIGN] = {"sign", "sign", 1},
    [GF_FLOOR] = {"floor", "floor", 1},
    [GF_CEIL] = {"ceil", "ceil", 1},
    [GF_ROUND] = {"round", "round", 1},
    [GF_TRUNC] = {"trunc", "trunc", 1},
    [GF_FRACT] = {"fract", "fract", 1},
    [GF_RADIANS] = {"radians", "radians", 1},
    [GF_DEGREES] = {"degrees", "degrees", 1},
    [GF_ATAN2] = {"atan", "atan(y, x)", 2},
    [GF_POW] = {"pow", "pow", 2},
    [GF_MOD] = {"mod", "mod", 2},
    [GF_MIN] = {"min", "min", 2},
    [GF_MAX] = {"max", "max", 2},
    [GF_STEP] = {"step", "step", 2},
    [GF_DISTANCE] = {"distance", "distance", 2},
    [GF_DOT] = {"dot", "dot", 2},
    [GF_CROSS] = {"cross", "cross", 2},
    [GF_CLAMP] = {"clamp", "clamp", 3},
    [GF_MIX] = {"mix", "mix", 3},
    [GF_SMOOTHSTEP] = {"smoothstep", "smoothstep", 3},
    [GF_LENGTH] = {"length", "length", 1},
    [GF_NORMALIZE] = {"normalize", "normalize", 1},
    [GF_VEC2] = {"vec2", "vec2(a, b)", 2},
    [GF_VEC3] = {"vec3", "vec3(a, b, c)", 3},
    [GF_VEC3_SPLAT] = {"vec3", "vec3(a)", 1},
    [GF_RGB] = {"rgb", "rgb", 3},
    [GF_HSV] = {"hsv", "hsv", 3},
    [GF_PALETTE] = {"palette", "palette", 5},
    [GF_WAVE] = {"wave", "wave", 1},
    [GF_TRIANGLE] = {"triangle", "triangle", 1},
    [GF_SQUARE] = {"square", "square", 2},
    [GF_SAW] = {"saw", "saw", 1},
    [GF_TIME] = {"time", "time", 1},
    [GF_HASH1] = {"hash", "hash(a)", 1},
    [GF_HASH2] = {"hash", "hash(a, b)", 2},
    [GF_HASH3] = {"hash", "hash(a, b, c)", 3},
    [GF_HASHV] = {"hash", "hash(p)", 1},
    [GF_NOISE] = {"noise", "noise", 1},
    [GF_FBM] = {"fbm", "fbm", 2},
    [GF_PREV_AT] = {"prev", "prev(s, l)", 2},
};

const char *const gen_input_names[GI__COUNT] = {
    "x", "y",  "r",     "theta",  "strip", "led", "leds", "index",
    "t", "dt", "frame", "strips", "count", "pi",  "tau",  "e",
};

const char *const gen_binop_names[GB__COUNT] = {
    "+", "-", "*", "/", "%", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||",
};

const char *const gen_reduce_names[GR__COUNT] = {"sum", "product", "min", "max"};

/* The one-argument component-wise built-ins. */
static const gen_builtin map1_builtins[] = {
    GF_SIN,  GF_COS,   GF_TAN,  GF_ASIN,  GF_ACOS,  GF_ATAN,  GF_SINH,        GF_COSH,
    GF_TANH, GF_EXP,   GF_EXP2, GF_LOG,   GF_LOG2,  GF_SQRT,  GF_INVERSESQRT, GF_ABS,
    GF_SIGN, GF_FLOOR, GF_CEIL, GF_ROUND, GF_TRUNC, GF_FRACT, GF_RADIANS,     GF_DEGREES,
};
#define MAP1_COUNT (sizeof map1_builtins / sizeof map1_builtins[0])

/* Names a fn parameter or a reduction variable may take: plain, or shadowing something. */
static const char *const local_names[] = {
    "a", "b", "c", "d", "k", "i", "j", "u", "v", "w", "q", "n", "s", "amp", "p",
};
static const char *const shadow_names[] = {
    "x", "y", "r", "t", "theta", "led", "index", "count", "sin", "mix", "hash", "noise", "e",
};

/* ---------------------------------------------------------- tree building */

gen_program *gen_program_new(uint64_t seed) {
    gen_program *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->seed = seed;
    return p;
}

void gen_program_free(gen_program *p) {
    if (!p) return;
    free(p->nodes);
    free(p->decls);
    free(p->source);
    free(p);
}

gen_program *gen_program_clone(const gen_program *p) {
    gen_program *c = gen_program_new(p->seed);
    if (!c) return NULL;
    c->nodes = malloc((p->node_count ? p->node_count : 1) * sizeof *c->nodes);
    c->decls = malloc((p->decl_count ? p->decl_count : 1) * sizeof *c->decls);
    if (!c->nodes || !c->decls) {
        gen_program_free(c);
        return NULL;
    }
    memcpy(c->nodes, p->nodes, p->node_count * sizeof *c->nodes);
    memcpy(c->decls, p->decls, p->decl_count * sizeof *c->decls);
    c->node_count = c->node_cap = p->node_count;
    c->decl_count = c->decl_cap = p->decl_count;
    if (p->source && !gen_program_print(c)) {
        gen_program_free(c);
        return NULL;
    }
    return c;
}

int32_t gen_node_add(gen_program *p, const gen_node *node) {
    if (p->nomem) return -1;
    if (p->node_count == p->node_cap) {
        uint32_t cap = p->node_cap ? p->node_cap * 2 : 256;
        gen_node *grown = realloc(p->nodes, cap * sizeof *grown);
        if (!grown) {
            p->nomem = true;
            return -1;
        }
        p->nodes = grown;
        p->node_cap = cap;
    }
    p->nodes[p->node_count] = *node;
    return (int32_t)p->node_count++;
}

/* A literal spelled `text`; its value is what strtod reads, as the lexer does. */
static int32_t node_literal(gen_program *p, const char *text) {
    gen_node n = {.kind = GN_NUM, .type = GT_FLOAT};
    snprintf(n.text, sizeof n.text, "%s", text);
    n.num = strtod(n.text, NULL);
    return gen_node_add(p, &n);
}

int32_t gen_node_num(gen_program *p, double value) {
    char text[GEN_TEXT_LEN];
    snprintf(text, sizeof text, "%.9g", value);
    if (!strpbrk(text, ".eEn")) strcat(text, ".0");
    return node_literal(p, text);
}

int32_t gen_node_input(gen_program *p, gen_input input) {
    gen_node n = {.kind = GN_INPUT, .type = GT_FLOAT, .op = (uint8_t)input};
    return gen_node_add(p, &n);
}

int32_t gen_node_bin(gen_program *p, gen_binop op, int32_t a, int32_t b, gen_type type) {
    if (a < 0 || b < 0) return -1;
    gen_node n = {.kind = GN_BIN, .type = (uint8_t)type, .op = (uint8_t)op, .nargs = 2};
    n.a[0] = a;
    n.a[1] = b;
    return gen_node_add(p, &n);
}

static int32_t node_unary(gen_program *p, gen_kind kind, int32_t a, gen_type type) {
    if (a < 0) return -1;
    gen_node n = {.kind = (uint8_t)kind, .type = (uint8_t)type, .nargs = 1};
    n.a[0] = a;
    return gen_node_add(p, &n);
}

int32_t gen_node_call(gen_program *p, gen_builtin f, gen_type type, int nargs,
                      const int32_t *args) {
    gen_node n = {
        .kind = GN_BUILTIN, .type = (uint8_t)type, .op = (uint8_t)f, .nargs = (uint8_t)nargs};
    for (int i = 0; i < nargs; i++) {
        if (args[i] < 0) return -1;
        n.a[i] = args[i];
    }
    return gen_node_add(p, &n);
}

gen_decl *gen_decl_add(gen_program *p, gen_decl_kind kind, const char *name, int32_t body,
                       gen_type type) {
    if (p->nomem || body < 0) return NULL;
    if (p->decl_count == p->decl_cap) {
        uint32_t cap = p->decl_cap ? p->decl_cap * 2 : 16;
        gen_decl *grown = realloc(p->decls, cap * sizeof *grown);
        if (!grown) {
            p->nomem = true;
            return NULL;
        }
        p->decls = grown;
        p->decl_cap = cap;
    }
    gen_decl *d = &p->decls[p->decl_count++];
    memset(d, 0, sizeof *d);
    d->kind = (uint8_t)kind;
    d->type = (uint8_t)type;
    d->body = body;
    snprintf(d->name, sizeof d->name, "%s", name ? name : "");
    return d;
}

const gen_decl *gen_program_out(const gen_program *p) {
    for (uint32_t i = 0; i < p->decl_count; i++)
        if (p->decls[i].kind == GD_OUT) return &p->decls[i];
    return NULL;
}

/* ------------------------------------------------------------- generation */

typedef struct gen_local {
    char name[GEN_NAME_LEN];
    bool is_arg;  /* fn argument, else reduction variable */
    int32_t ref;  /* argument index, or the reduction's node */
    uint8_t type; /* GT_FLOAT or GT_T */
} gen_local;

typedef struct gen_ctx {
    gen_program *p;
    gen_rng *rng;
    const gen_options *o;
    gen_local locals[16];
    int nlocals;
    int reduce_nest, reduce_iters; /* nesting and product of the iteration counts */
    bool in_fn;
} gen_ctx;

static int32_t gen_expr(gen_ctx *c, gen_type type, int depth);

static bool is_shadowed(const gen_ctx *c, const char *name) {
    for (int i = 0; i < c->nlocals; i++)
        if (strcmp(c->locals[i].name, name) == 0) return true;
    return false;
}

/* A local is visible unless a later (inner) local has the same name. */
static bool local_visible(const gen_ctx *c, int i) {
    for (int j = i + 1; j < c->nlocals; j++)
        if (strcmp(c->locals[j].name, c->locals[i].name) == 0) return false;
    return true;
}

static bool builtin_callable(const gen_ctx *c, gen_builtin f) {
    return !is_shadowed(c, gen_builtins[f].name);
}

static bool budget_left(const gen_ctx *c) {
    return (int)c->p->node_count < c->o->max_nodes;
}

/* A number in one of the spellings the spec allows. */
static int32_t gen_number(gen_ctx *c) {
    static const char *const nice[] = {"0",   "0.5", "1",  "2",    "3",    "0.25", "0.1",
                                       "1.5", "4",   "5",  "0.75", "10",   "0.3",  "6",
                                       "0.2", ".5",  "3.", "8",    "0.05", "1e-3", "2.5E+2",
                                       "1E1", ".25", "7.", "12",   "0.01", "2e-1", "1.25"};
    char text[GEN_TEXT_LEN];
    uint32_t pick = gen_rng_below(c->rng, 10);
    if (pick < 6) {
        snprintf(text, sizeof text, "%s", nice[gen_rng_below(c->rng, sizeof nice / sizeof *nice)]);
    } else if (pick < 9) {
        unsigned v = 1 + gen_rng_below(c->rng, 999); /* v / 100 with its own spelling */
        if (v % 100 == 0)
            snprintf(text, sizeof text, gen_rng_chance(c->rng, 0.5) ? "%u" : "%u.", v / 100);
        else if (v < 100)
            snprintf(text, sizeof text, gen_rng_chance(c->rng, 0.3) ? ".%02u" : "0.%02u", v);
        else
            snprintf(text, sizeof text, "%u.%02u", v / 100, v % 100);
    } else {
        static const char *const mant[] = {"1", "2.5", "5", "7.5", "1.25", "3"};
        int ex = (int)gen_rng_below(c->rng, 5) - 3; /* -3 .. 1 */
        const char *m = mant[gen_rng_below(c->rng, 6)];
        if (ex >= 0)
            snprintf(text, sizeof text, "%s%s%d", m, gen_rng_chance(c->rng, 0.5) ? "E+" : "e", ex);
        else
            snprintf(text, sizeof text, "%s%s%d", m, gen_rng_chance(c->rng, 0.5) ? "e" : "E", ex);
    }
    return node_literal(c->p, text);
}

static gen_input pick_input(gen_ctx *c) {
    static const uint8_t weights[GI__COUNT] = {
        [GI_X] = 10,    [GI_Y] = 10,  [GI_R] = 10,    [GI_THETA] = 8,
        [GI_STRIP] = 3, [GI_LED] = 3, [GI_LEDS] = 2,  [GI_INDEX] = 3,
        [GI_T] = 9,     [GI_DT] = 2,  [GI_FRAME] = 2, [GI_STRIPS] = 1,
        [GI_COUNT] = 1, [GI_PI] = 2,  [GI_TAU] = 2,   [GI_E] = 1,
    };
    unsigned total = 0;
    for (int i = 0; i < GI__COUNT; i++)
        if (!is_shadowed(c, gen_input_names[i])) total += weights[i];
    if (total == 0) return GI__COUNT;
    unsigned k = gen_rng_below(c->rng, total);
    for (int i = 0; i < GI__COUNT; i++) {
        if (is_shadowed(c, gen_input_names[i])) continue;
        if (k < weights[i]) return (gen_input)i;
        k -= weights[i];
    }
    return GI__COUNT;
}

/* A visible top-level declaration of `kind` with value type `type`, or -1. */
static int32_t pick_decl(gen_ctx *c, gen_decl_kind kind, gen_type type) {
    int32_t found[64];
    int n = 0;
    for (uint32_t i = 0; i < c->p->decl_count && n < 64; i++) {
        const gen_decl *d = &c->p->decls[i];
        if (d->kind == kind && d->type == type && !is_shadowed(c, d->name)) found[n++] = (int32_t)i;
    }
    return n ? found[gen_rng_below(c->rng, (uint32_t)n)] : -1;
}

static int32_t pick_local(gen_ctx *c, gen_type type) {
    int found[16], n = 0;
    for (int i = 0; i < c->nlocals; i++)
        if (c->locals[i].type == type && local_visible(c, i)) found[n++] = i;
    if (!n) return -1;
    const gen_local *l = &c->locals[found[gen_rng_below(c->rng, (uint32_t)n)]];
    gen_node node = {.kind = l->is_arg ? GN_ARG : GN_RVAR, .type = (uint8_t)type, .ref = l->ref};
    return gen_node_add(c->p, &node);
}

static int32_t ref_node(gen_ctx *c, gen_kind kind, int32_t decl, gen_type type) {
    gen_node n = {.kind = (uint8_t)kind, .type = (uint8_t)type, .ref = decl};
    return gen_node_add(c->p, &n);
}

static int32_t swizzle(gen_ctx *c, int32_t base, int from, int to) {
    if (base < 0) return -1;
    gen_node n = {.kind = GN_SWIZZLE, .type = (uint8_t)(to == 1 ? GT_FLOAT : to), .nargs = 1};
    n.a[0] = base;
    const char *set = gen_rng_chance(c->rng, 0.5) ? "xyz" : "rgb";
    for (int i = 0; i < to; i++) n.text[i] = set[gen_rng_below(c->rng, (uint32_t)from)];
    n.text[to] = 0;
    return gen_node_add(c->p, &n);
}

static int32_t gen_leaf(gen_ctx *c, gen_type type);

static int32_t leaf_float(gen_ctx *c) {
    for (int tries = 0; tries < 8; tries++) {
        uint32_t k = gen_rng_below(c->rng, 20);
        int32_t n = -1;
        if (k < 5)
            n = gen_number(c);
        else if (k < 11) {
            gen_input in = pick_input(c);
            if (in != GI__COUNT) n = gen_node_input(c->p, in);
        } else if (k < 13) {
            int32_t d = pick_decl(c, GD_PARAM, GT_FLOAT);
            if (d >= 0) n = ref_node(c, GN_PARAM, d, GT_FLOAT);
        } else if (k < 15) {
            int32_t d = pick_decl(c, GD_LET, GT_FLOAT);
            if (d >= 0) n = ref_node(c, GN_LET, d, GT_FLOAT);
        } else if (k < 19) {
            n = pick_local(c, GT_FLOAT);
        } else {
            gen_type v = gen_rng_chance(c->rng, 0.5) ? GT_VEC3 : GT_VEC2;
            n = swizzle(c, gen_leaf(c, v), v == GT_VEC3 ? 3 : 2, 1);
        }
        if (n >= 0 || c->p->nomem) return n;
    }
    return gen_number(c);
}

static int32_t leaf_vector(gen_ctx *c, gen_type type) {
    int w = type == GT_VEC2 ? 2 : 3;
    for (int tries = 0; tries < 8; tries++) {
        uint32_t k = gen_rng_below(c->rng, 10);
        int32_t n = -1;
        if (k < 2) {
            int32_t d = pick_decl(c, GD_PARAM, type);
            if (d >= 0) n = ref_node(c, GN_PARAM, d, type);
        } else if (k < 4) {
            int32_t d = pick_decl(c, GD_LET, type);
            if (d >= 0) n = ref_node(c, GN_LET, d, type);
        } else if (k < 6 && w == 3 && c->o->allow_prev && !is_shadowed(c, "prev")) {
            gen_node node = {.kind = GN_PREV, .type = GT_VEC3};
            n = gen_node_add(c->p, &node);
        } else if (k < 7 && w == 2) {
            n = swizzle(c, gen_leaf(c, GT_VEC3), 3, 2);
        } else if (w == 2 && builtin_callable(c, GF_VEC2)) {
            int32_t args[2] = {leaf_float(c), leaf_float(c)};
            n = gen_node_call(c->p, GF_VEC2, GT_VEC2, 2, args);
        } else if (w == 3 && k < 8 && builtin_callable(c, GF_VEC3)) {
            int32_t arg = leaf_float(c);
            n = gen_node_call(c->p, GF_VEC3_SPLAT, GT_VEC3, 1, &arg);
        } else if (w == 3) {
            gen_builtin f = gen_rng_chance(c->rng, 0.5) ? GF_RGB : GF_VEC3;
            if (builtin_callable(c, f)) {
                int32_t args[3] = {leaf_float(c), leaf_float(c), leaf_float(c)};
                n = gen_node_call(c->p, f, GT_VEC3, 3, args);
            }
        }
        if (n >= 0 || c->p->nomem) return n;
    }
    int32_t args[3] = {gen_number(c), gen_number(c), gen_number(c)};
    /* vec2 and vec3 may be shadowed, but rgb and vec3 not both... fall back on a param-free form */
    return gen_node_call(c->p, w == 2 ? GF_VEC2 : GF_RGB, type, w, args);
}

static int32_t leaf_bool(gen_ctx *c) {
    if (gen_rng_chance(c->rng, 0.25)) {
        int32_t d = pick_decl(c, GD_LET, GT_BOOL);
        if (d >= 0) return ref_node(c, GN_LET, d, GT_BOOL);
    }
    gen_binop op = (gen_binop)(GB_LT + gen_rng_below(c->rng, 6));
    return gen_node_bin(c->p, op, leaf_float(c), leaf_float(c), GT_BOOL);
}

static int32_t gen_leaf(gen_ctx *c, gen_type type) {
    switch (type) {
    case GT_FLOAT:
        return leaf_float(c);
    case GT_VEC2:
    case GT_VEC3:
        return leaf_vector(c, type);
    case GT_BOOL:
        return leaf_bool(c);
    case GT_T: {
        int32_t n = pick_local(c, GT_T);
        return n >= 0 ? n : gen_number(c);
    }
    default:
        return -1;
    }
}

/* The type of an argument that may broadcast: the type itself, or a float. */
static gen_type maybe_float(gen_ctx *c, gen_type type, double p_float) {
    return type != GT_FLOAT && gen_rng_chance(c->rng, p_float) ? GT_FLOAT : type;
}

/*
 * Domain taming: most of the time, an argument that would leave the domain
 * where a function is finite is kept inside it by construction (sqrt of
 * abs(a) + 0.05, asin of clamp(a, -1, 1), exp of clamp(a, -6, 6)...), so that
 * infinities and NaN, which run.c does not compare with the device, stay the
 * exception; the rest of the time the raw argument goes in.
 */
typedef enum tame_kind { TAME_NONE, TAME_POSITIVE, TAME_UNIT, TAME_SMALL, TAME_ANGLE } tame_kind;

static tame_kind tame_builtin_arg(gen_builtin f, int arg) {
    switch (f) {
    case GF_SQRT:
    case GF_INVERSESQRT:
    case GF_LOG:
    case GF_LOG2:
        return TAME_POSITIVE;
    case GF_ASIN:
    case GF_ACOS:
        return TAME_UNIT;
    case GF_EXP:
    case GF_EXP2:
    case GF_SINH:
    case GF_COSH:
        return TAME_SMALL;
    case GF_TAN:
        return TAME_ANGLE;
    case GF_POW:
        return arg == 0 ? TAME_POSITIVE : TAME_SMALL;
    case GF_MOD:
        return arg == 1 ? TAME_POSITIVE : TAME_NONE;
    default:
        return TAME_NONE;
    }
}

static tame_kind tame_binop_arg(gen_binop op, int arg) {
    if ((op == GB_DIV || op == GB_MOD) && arg == 1) return TAME_POSITIVE;
    if (op == GB_POW) return arg == 0 ? TAME_POSITIVE : TAME_SMALL;
    return TAME_NONE;
}

static int32_t clamp_to(gen_ctx *c, int32_t e, gen_type type, const char *lo, const char *hi) {
    int32_t args[3] = {e, node_unary(c->p, GN_NEG, node_literal(c->p, lo), GT_FLOAT),
                       node_literal(c->p, hi)};
    return gen_node_call(c->p, GF_CLAMP, type, 3, args);
}

static int32_t tame(gen_ctx *c, int32_t e, gen_type type, tame_kind k) {
    if (k == TAME_NONE || e < 0 || !gen_rng_chance(c->rng, 0.85)) return e;
    if (k == TAME_POSITIVE) {
        if (!builtin_callable(c, GF_ABS)) return e;
        int32_t a = gen_node_call(c->p, GF_ABS, type, 1, &e);
        return gen_node_bin(c->p, GB_ADD, a, node_literal(c->p, "0.05"), type);
    }
    if (!builtin_callable(c, GF_CLAMP)) return e;
    if (k == TAME_UNIT) return clamp_to(c, e, type, "1", "1");
    if (k == TAME_SMALL) return clamp_to(c, e, type, "6", "6");
    return clamp_to(c, e, type, "1.4", "1.4");
}

static int32_t call_builtin(gen_ctx *c, gen_builtin f, gen_type type, int depth,
                            const gen_type *arg_types) {
    int32_t args[GEN_MAX_ARGS];
    int n = gen_builtins[f].nargs;
    for (int i = 0; i < n; i++)
        args[i] =
            tame(c, gen_expr(c, arg_types[i], depth - 1), arg_types[i], tame_builtin_arg(f, i));
    return gen_node_call(c->p, f, type, n, args);
}

/* A component-wise built-in with result `type` (float, vec2, vec3 or T). */
static int32_t gen_map(gen_ctx *c, gen_type type, int depth) {
    uint32_t k = gen_rng_below(c->rng, 10);
    gen_builtin f;
    gen_type at[3] = {type, type, type};
    if (k < 6) {
        f = map1_builtins[gen_rng_below(c->rng, MAP1_COUNT)];
    } else if (k < 8) {
        static const gen_builtin two[] = {GF_ATAN2, GF_POW, GF_MOD, GF_MIN, GF_MAX, GF_STEP};
        f = two[gen_rng_below(c->rng, 6)];
        /* one operand may be a float that broadcasts (for step, the edge) */
        at[f == GF_STEP ? 0 : 1] = maybe_float(c, type, 0.4);
    } else {
        static const gen_builtin three[] = {GF_CLAMP, GF_MIX, GF_SMOOTHSTEP};
        f = three[gen_rng_below(c->rng, 3)];
        /* clamp(x, lo, hi), mix(a, b, t): lo, hi, b, t may broadcast; smoothstep's edges */
        at[1] = maybe_float(c, type, 0.6);
        at[2] = maybe_float(c, type, 0.6);
        if (f == GF_SMOOTHSTEP) {
            at[0] = at[1];
            at[2] = type;
        }
    }
    if (!builtin_callable(c, f)) return gen_leaf(c, type);
    return call_builtin(c, f, type, depth, at);
}

/* Component-wise arithmetic; a float operand broadcasts. */
static int32_t gen_arith(gen_ctx *c, gen_type type, int depth) {
    static const gen_binop ops[] = {GB_ADD, GB_ADD, GB_ADD, GB_SUB, GB_SUB, GB_MUL, GB_MUL,
                                    GB_MUL, GB_MUL, GB_DIV, GB_DIV, GB_MOD, GB_POW};
    gen_binop op = ops[gen_rng_below(c->rng, sizeof ops / sizeof ops[0])];
    gen_type ta = type, tb = type;
    if (type != GT_FLOAT && gen_rng_chance(c->rng, 0.4)) {
        if (gen_rng_chance(c->rng, 0.5))
            ta = GT_FLOAT;
        else
            tb = GT_FLOAT;
    }
    int32_t a = tame(c, gen_expr(c, ta, depth - 1), ta, tame_binop_arg(op, 0));
    int32_t b = tame(c, gen_expr(c, tb, depth - 1), tb, tame_binop_arg(op, 1));
    return gen_node_bin(c->p, op, a, b, type);
}

static int32_t gen_cond(gen_ctx *c, gen_type type, int depth) {
    gen_node n = {.kind = GN_COND, .type = (uint8_t)type, .nargs = 3};
    n.a[0] = gen_expr(c, GT_BOOL, depth - 1);
    /* one branch may be a float that broadcasts (never for bool: both bool) */
    gen_type t1 = type == GT_BOOL ? type : maybe_float(c, type, 0.2);
    gen_type t2 = type == GT_BOOL || t1 == GT_FLOAT ? type : maybe_float(c, type, 0.2);
    n.a[1] = gen_expr(c, t1, depth - 1);
    n.a[2] = gen_expr(c, t2, depth - 1);
    if (n.a[0] < 0 || n.a[1] < 0 || n.a[2] < 0) return -1;
    return gen_node_add(c->p, &n);
}

static const char *pick_local_name(gen_ctx *c) {
    if (gen_rng_chance(c->rng, 0.2))
        return shadow_names[gen_rng_below(c->rng, sizeof shadow_names / sizeof *shadow_names)];
    if (gen_rng_chance(c->rng, 0.05) && c->p->decl_count > 0) /* an earlier declaration's name */
        return c->p->decls[gen_rng_below(c->rng, c->p->decl_count)].name;
    return local_names[gen_rng_below(c->rng, sizeof local_names / sizeof *local_names)];
}

static int32_t gen_reduction(gen_ctx *c, gen_type type, int depth) {
    gen_reduce kind = (gen_reduce)gen_rng_below(c->rng, GR__COUNT);
    if (is_shadowed(c, gen_reduce_names[kind])) return gen_leaf(c, type);
    int count = kind == GR_PRODUCT
                    ? 1 + (int)gen_rng_below(c->rng, 4)
                    : 1 + (int)gen_rng_below(c->rng, gen_rng_chance(c->rng, 0.2) ? 24 : 8);
    if (c->reduce_iters * count > 96) count = 96 / c->reduce_iters;
    if (count < 1) count = 1;
    int lo = gen_rng_chance(c->rng, 0.7) ? 0 : (int)gen_rng_below(c->rng, 4) - 2;
    gen_node n = {.kind = GN_REDUCE, .type = (uint8_t)type, .op = (uint8_t)kind, .nargs = 1};
    n.lo = lo;
    n.hi = lo + count;
    snprintf(n.text, sizeof n.text, "%s", pick_local_name(c));
    int32_t id = gen_node_add(c->p, &n);
    if (id < 0 || c->nlocals == 16) return id < 0 ? -1 : gen_leaf(c, type);
    gen_local *l = &c->locals[c->nlocals++];
    snprintf(l->name, sizeof l->name, "%.15s", n.text);
    l->is_arg = false;
    l->ref = id;
    l->type = GT_FLOAT;
    c->reduce_nest++;
    c->reduce_iters *= count;
    int32_t body = gen_expr(c, type, depth - 1);
    c->reduce_iters /= count;
    c->reduce_nest--;
    c->nlocals--;
    if (body < 0) return -1;
    c->p->nodes[id].a[0] = body;
    return id;
}

/* A call of an earlier fn whose result has `type` (a generic fn instantiated at `type`). */
static int32_t gen_fn_call(gen_ctx *c, gen_type type, int depth) {
    int32_t found[32];
    int n = 0;
    for (uint32_t i = 0; i < c->p->decl_count && n < 32; i++) {
        const gen_decl *d = &c->p->decls[i];
        if (d->kind != GD_FN || is_shadowed(c, d->name)) continue;
        bool generic_ok = d->type == GT_T && type != GT_BOOL;
        if (d->type == type || generic_ok) found[n++] = (int32_t)i;
    }
    if (!n) return -1;
    int32_t fi = found[gen_rng_below(c->rng, (uint32_t)n)];
    gen_decl d = c->p->decls[fi]; /* copy: generating arguments may grow the array */
    gen_node node = {.kind = GN_CALL, .type = (uint8_t)type, .ref = fi, .nargs = d.nargs};
    for (int i = 0; i < d.nargs; i++) {
        gen_type at = d.arg_types[i] == GT_T ? type : GT_FLOAT;
        node.a[i] = gen_expr(c, at, depth - 1);
        if (node.a[i] < 0) return -1;
    }
    return gen_node_add(c->p, &node);
}

/* Per-frame only: the period of `time` (positive, from constants, params and frame inputs). */
static int32_t gen_period(gen_ctx *c) {
    int32_t base = gen_number(c);
    if (base >= 0 && c->p->nodes[base].num < 0.05) base = node_literal(c->p, "0.5");
    if (gen_rng_chance(c->rng, 0.5)) return base;
    int32_t d = pick_decl(c, GD_PARAM, GT_FLOAT);
    if (d >= 0 && gen_rng_chance(c->rng, 0.6)) {
        int32_t pr = ref_node(c, GN_PARAM, d, GT_FLOAT);
        int32_t absd = gen_node_call(c->p, GF_ABS, GT_FLOAT, 1, &pr);
        return builtin_callable(c, GF_ABS) ? gen_node_bin(c->p, GB_ADD, absd, base, GT_FLOAT)
                                           : base;
    }
    if (!is_shadowed(c, "frame")) {
        int32_t fr = gen_node_bin(c->p, GB_MUL, gen_node_input(c->p, GI_FRAME),
                                  node_literal(c->p, "0.01"), GT_FLOAT);
        return gen_node_bin(c->p, GB_ADD, base, fr, GT_FLOAT);
    }
    return base;
}

/* Hash arguments: mostly values that float and double compute alike (see the file comment). */
static int32_t gen_hash_arg(gen_ctx *c, gen_type type, int depth) {
    if (type == GT_FLOAT && gen_rng_chance(c->rng, 0.6)) {
        uint32_t k = gen_rng_below(c->rng, 3);
        if (k == 0) return gen_leaf(c, GT_FLOAT);
        if (k == 1 && builtin_callable(c, GF_FLOOR)) {
            int32_t a = gen_expr(c, GT_FLOAT, depth - 1);
            return gen_node_call(c->p, GF_FLOOR, GT_FLOAT, 1, &a);
        }
        gen_input in = pick_input(c);
        if (in != GI__COUNT) return gen_node_input(c->p, in);
    }
    return gen_expr(c, type, depth - 1);
}

static int32_t gen_helper_float(gen_ctx *c, int depth) {
    uint32_t k = gen_rng_below(c->rng, 16);
    gen_builtin f;
    int32_t args[3];
    if (k < 5) {
        static const gen_builtin shapes[] = {GF_WAVE, GF_TRIANGLE, GF_SAW, GF_SQUARE};
        f = shapes[gen_rng_below(c->rng, 4)];
        gen_type at[2] = {GT_FLOAT, GT_FLOAT};
        return builtin_callable(c, f) ? call_builtin(c, f, GT_FLOAT, depth, at) : -1;
    }
    if (k < 7) {
        if (!builtin_callable(c, GF_TIME)) return -1;
        args[0] = gen_period(c);
        return gen_node_call(c->p, GF_TIME, GT_FLOAT, 1, args);
    }
    if (k < 11) {
        static const gen_builtin hashes[] = {GF_HASH1, GF_HASH2, GF_HASH3, GF_HASHV};
        f = hashes[gen_rng_below(c->rng, 4)];
        if (!builtin_callable(c, f)) return -1;
        if (f == GF_HASHV) {
            args[0] = gen_hash_arg(c, gen_rng_chance(c->rng, 0.5) ? GT_VEC2 : GT_VEC3, depth);
            return gen_node_call(c->p, f, GT_FLOAT, 1, args);
        }
        for (int i = 0; i < gen_builtins[f].nargs; i++) args[i] = gen_hash_arg(c, GT_FLOAT, depth);
        return gen_node_call(c->p, f, GT_FLOAT, gen_builtins[f].nargs, args);
    }
    if (k < 14) {
        if (!builtin_callable(c, GF_NOISE)) return -1;
        args[0] = gen_expr(c, gen_rng_chance(c->rng, 0.6) ? GT_VEC2 : GT_VEC3, depth - 1);
        return gen_node_call(c->p, GF_NOISE, GT_FLOAT, 1, args);
    }
    if (!builtin_callable(c, GF_FBM)) return -1;
    args[0] = gen_expr(c, gen_rng_chance(c->rng, 0.75) ? GT_VEC2 : GT_VEC3, depth - 1);
    char octaves[4];
    /* up to 8 octaves, mostly few: each is a noise, and noise is the costliest helper */
    snprintf(octaves, sizeof octaves, "%u",
             gen_rng_chance(c->rng, 0.1) ? 4 + gen_rng_below(c->rng, 5)
                                         : 1 + gen_rng_below(c->rng, 3));
    args[1] = node_literal(c->p, octaves);
    return gen_node_call(c->p, GF_FBM, GT_FLOAT, 2, args);
}

/* length, distance, dot of vectors: vector -> float. */
static int32_t gen_vec_to_float(gen_ctx *c, int depth) {
    static const gen_builtin fs[] = {GF_LENGTH, GF_DISTANCE, GF_DOT};
    gen_builtin f = fs[gen_rng_below(c->rng, 3)];
    if (!builtin_callable(c, f)) return -1;
    gen_type v = gen_rng_chance(c->rng, 0.5) ? GT_VEC2 : GT_VEC3;
    gen_type at[2] = {v, v};
    return call_builtin(c, f, GT_FLOAT, depth, at);
}

static int32_t gen_float(gen_ctx *c, int depth) {
    uint32_t k = gen_rng_below(c->rng, 100);
    if (k < 34) return gen_arith(c, GT_FLOAT, depth);
    if (k < 36) return node_unary(c->p, GN_NEG, gen_expr(c, GT_FLOAT, depth - 1), GT_FLOAT);
    if (k < 56) return gen_map(c, GT_FLOAT, depth);
    if (k < 60) return gen_vec_to_float(c, depth);
    if (k < 65) {
        gen_type v = gen_rng_chance(c->rng, 0.6) ? GT_VEC3 : GT_VEC2;
        return swizzle(c, gen_expr(c, v, depth - 1), v == GT_VEC3 ? 3 : 2, 1);
    }
    if (k < 71) return gen_cond(c, GT_FLOAT, depth);
    if (k < 83) return gen_helper_float(c, depth);
    if (k < 88 && c->reduce_nest < 2) return gen_reduction(c, GT_FLOAT, depth);
    if (k < 96) return gen_fn_call(c, GT_FLOAT, depth);
    return gen_leaf(c, GT_FLOAT);
}

/* prev(s, l): mostly a neighbour (strip + k, led - k), sometimes anything (wrapping, outside). */
static int32_t gen_prev_at(gen_ctx *c, int depth) {
    int32_t args[2];
    if (gen_rng_chance(c->rng, 0.7) && !is_shadowed(c, "strip") && !is_shadowed(c, "led")) {
        args[0] = gen_node_bin(c->p, gen_rng_chance(c->rng, 0.5) ? GB_ADD : GB_SUB,
                               gen_node_input(c->p, GI_STRIP), gen_leaf(c, GT_FLOAT), GT_FLOAT);
        args[1] = gen_node_bin(c->p, gen_rng_chance(c->rng, 0.5) ? GB_ADD : GB_SUB,
                               gen_node_input(c->p, GI_LED), gen_leaf(c, GT_FLOAT), GT_FLOAT);
    } else {
        args[0] = gen_expr(c, GT_FLOAT, depth - 1);
        args[1] = gen_expr(c, GT_FLOAT, depth - 1);
    }
    return gen_node_call(c->p, GF_PREV_AT, GT_VEC3, 2, args);
}

static int32_t gen_vector(gen_ctx *c, gen_type type, int depth) {
    int w = type == GT_VEC2 ? 2 : 3;
    uint32_t k = gen_rng_below(c->rng, 100);
    if (k < 14) {
        gen_builtin f = w == 2 ? GF_VEC2 : (gen_rng_chance(c->rng, 0.5) ? GF_VEC3 : GF_RGB);
        gen_type at[3] = {GT_FLOAT, GT_FLOAT, GT_FLOAT};
        return builtin_callable(c, f) ? call_builtin(c, f, type, depth, at) : -1;
    }
    if (k < 17 && w == 3) {
        gen_type at[1] = {GT_FLOAT};
        return builtin_callable(c, GF_VEC3_SPLAT) ? call_builtin(c, GF_VEC3_SPLAT, type, depth, at)
                                                  : -1;
    }
    if (k < 24) {
        gen_type from = gen_rng_chance(c->rng, 0.6) ? GT_VEC3 : GT_VEC2;
        return swizzle(c, gen_expr(c, from, depth - 1), from == GT_VEC3 ? 3 : 2, w);
    }
    if (k < 52) return gen_arith(c, type, depth);
    if (k < 54) return node_unary(c->p, GN_NEG, gen_expr(c, type, depth - 1), type);
    if (k < 66) return gen_map(c, type, depth);
    if (k < 68) {
        gen_type at[1] = {type};
        return builtin_callable(c, GF_NORMALIZE) ? call_builtin(c, GF_NORMALIZE, type, depth, at)
                                                 : -1;
    }
    if (k < 74) return gen_cond(c, type, depth);
    if (k < 77 && c->reduce_nest < 2) return gen_reduction(c, type, depth);
    if (k < 85) return gen_fn_call(c, type, depth);
    if (w == 3) {
        gen_type fl[3] = {GT_FLOAT, GT_FLOAT, GT_FLOAT}; /* hsv */
        if (k < 91 && builtin_callable(c, GF_HSV)) return call_builtin(c, GF_HSV, type, depth, fl);
        if (k < 94 && builtin_callable(c, GF_PALETTE)) {
            gen_type at[5] = {GT_FLOAT, GT_VEC3, GT_VEC3, GT_VEC3, GT_VEC3};
            return call_builtin(c, GF_PALETTE, type, depth - 1, at);
        }
        if (k < 96 && builtin_callable(c, GF_CROSS)) {
            gen_type at[2] = {GT_VEC3, GT_VEC3};
            return call_builtin(c, GF_CROSS, type, depth, at);
        }
        if (k < 99 && c->o->allow_prev && builtin_callable(c, GF_PREV_AT))
            return gen_prev_at(c, depth);
    }
    return gen_leaf(c, type);
}

static int32_t gen_bool(gen_ctx *c, int depth) {
    uint32_t k = gen_rng_below(c->rng, 100);
    if (k < 55) {
        gen_binop op = (gen_binop)(GB_LT + gen_rng_below(c->rng, 6));
        return gen_node_bin(c->p, op, gen_expr(c, GT_FLOAT, depth - 1),
                            gen_expr(c, GT_FLOAT, depth - 1), GT_BOOL);
    }
    if (k < 70)
        return gen_node_bin(c->p, GB_AND, gen_expr(c, GT_BOOL, depth - 1),
                            gen_expr(c, GT_BOOL, depth - 1), GT_BOOL);
    if (k < 85)
        return gen_node_bin(c->p, GB_OR, gen_expr(c, GT_BOOL, depth - 1),
                            gen_expr(c, GT_BOOL, depth - 1), GT_BOOL);
    if (k < 93) return node_unary(c->p, GN_NOT, gen_expr(c, GT_BOOL, depth - 1), GT_BOOL);
    if (k < 97) return gen_fn_call(c, GT_BOOL, depth);
    return gen_cond(c, GT_BOOL, depth);
}

/* The body of a generic fn: T values, with floats broadcasting. */
static int32_t gen_generic(gen_ctx *c, int depth) {
    uint32_t k = gen_rng_below(c->rng, 100);
    if (k < 45) return gen_arith(c, GT_T, depth);
    if (k < 50) return node_unary(c->p, GN_NEG, gen_expr(c, GT_T, depth - 1), GT_T);
    if (k < 80) return gen_map(c, GT_T, depth);
    if (k < 88) return gen_cond(c, GT_T, depth);
    if (k < 93 && c->reduce_nest < 2) return gen_reduction(c, GT_T, depth);
    if (k < 98) return gen_fn_call(c, GT_T, depth);
    return gen_leaf(c, GT_T);
}

static int32_t gen_expr(gen_ctx *c, gen_type type, int depth) {
    if (c->p->nomem) return -1;
    /* Leaves get likelier as the budget runs out; a T leaf must exist in a generic body. */
    double leaf_p = depth <= 0 ? 1.0 : 0.12 + 0.5 / (depth + 1);
    if (!budget_left(c) || gen_rng_chance(c->rng, leaf_p)) return gen_leaf(c, type);
    int32_t n = -1;
    switch (type) {
    case GT_FLOAT:
        n = gen_float(c, depth);
        break;
    case GT_VEC2:
    case GT_VEC3:
        n = gen_vector(c, type, depth);
        break;
    case GT_BOOL:
        n = gen_bool(c, depth);
        break;
    case GT_T:
        n = gen_generic(c, depth);
        break;
    default:
        return -1;
    }
    if (n < 0 && !c->p->nomem) n = gen_leaf(c, type);
    if (n >= 0 && gen_rng_chance(c->rng, 0.04)) c->p->nodes[n].paren++;
    return n;
}

/* ----------------------------------------------------------- declarations */

static bool name_taken(const gen_program *p, const char *name) {
    for (uint32_t i = 0; i < p->decl_count; i++)
        if (strcmp(p->decls[i].name, name) == 0) return true;
    return false;
}

static void fresh_name(const gen_program *p, const char *prefix, char *out) {
    for (unsigned i = 0;; i++) {
        snprintf(out, GEN_NAME_LEN, "%s%u", prefix, i);
        if (!name_taken(p, out)) return;
    }
}

/* A spelled bound or default: integers and two-decimal numbers, maybe negative. */
static void spell(double v, char *out) {
    snprintf(out, GEN_TEXT_LEN, "%g", v);
}

static bool gen_param(gen_ctx *c) {
    char name[GEN_NAME_LEN];
    fresh_name(c->p, gen_rng_chance(c->rng, 0.5) ? "p" : "speed", name);
    uint32_t k = gen_rng_below(c->rng, 20);
    if (k < 13) { /* ranged float */
        static const double ranges[][2] = {{0, 1},       {0, 4}, {-1, 1}, {1, 12},
                                           {0.001, 0.2}, {0, 2}, {-2, 2}, {0.5, 3}};
        const double *rg = ranges[gen_rng_below(c->rng, 8)];
        double v = rg[0] + (rg[1] - rg[0]) * (double)gen_rng_below(c->rng, 101) / 100.0;
        char text[GEN_TEXT_LEN];
        spell(v, text);
        int32_t body = v < 0 ? node_unary(c->p, GN_NEG, node_literal(c->p, text + 1), GT_FLOAT)
                             : node_literal(c->p, text);
        gen_decl *d = gen_decl_add(c->p, GD_PARAM, name, body, GT_FLOAT);
        if (!d) return false;
        d->has_range = true;
        d->lo = rg[0];
        d->hi = rg[1];
        spell(rg[0], d->lo_text);
        spell(rg[1], d->hi_text);
        return true;
    }
    int32_t body;
    gen_type type = GT_FLOAT;
    if (k < 15) {
        body = gen_rng_chance(c->rng, 0.3)
                   ? gen_node_input(c->p, (gen_input)(GI_PI + gen_rng_below(c->rng, 3)))
                   : gen_number(c);
        if (gen_rng_chance(c->rng, 0.3)) body = node_unary(c->p, GN_NEG, body, GT_FLOAT);
    } else if (k < 18) {
        type = GT_VEC3;
        gen_builtin f = gen_rng_chance(c->rng, 0.5) ? GF_RGB : GF_VEC3;
        int32_t args[3] = {gen_number(c), gen_number(c), gen_number(c)};
        body = gen_node_call(c->p, f, type, 3, args);
    } else {
        type = GT_VEC2;
        int32_t args[2] = {gen_number(c), gen_number(c)};
        body = gen_node_call(c->p, GF_VEC2, type, 2, args);
    }
    return gen_decl_add(c->p, GD_PARAM, name, body, type) != NULL;
}

static bool gen_let(gen_ctx *c) {
    static const gen_type types[] = {GT_FLOAT, GT_FLOAT, GT_FLOAT, GT_FLOAT, GT_VEC3,
                                     GT_VEC3,  GT_VEC2,  GT_BOOL,  GT_BOOL};
    gen_type type = types[gen_rng_below(c->rng, sizeof types / sizeof types[0])];
    int32_t body = gen_expr(c, type, 2 + (int)gen_rng_below(c->rng, 3));
    char name[GEN_NAME_LEN];
    fresh_name(c->p, gen_rng_chance(c->rng, 0.5) ? "v" : "wave_", name);
    return gen_decl_add(c->p, GD_LET, name, body, type) != NULL;
}

static bool gen_fn(gen_ctx *c) {
    gen_decl d = {.kind = GD_FN};
    d.nargs = (uint8_t)(1 + gen_rng_below(c->rng, 3));
    bool generic = gen_rng_chance(c->rng, 0.6);
    c->nlocals = 0;
    for (int i = 0; i < d.nargs; i++) {
        const char *nm;
        bool dup;
        do { /* distinct within the fn */
            nm = pick_local_name(c);
            dup = false;
            for (int j = 0; j < i; j++) dup |= strcmp(d.arg_names[j], nm) == 0;
        } while (dup);
        snprintf(d.arg_names[i], GEN_NAME_LEN, "%s", nm);
        d.arg_types[i] = generic && (i == 0 || gen_rng_chance(c->rng, 0.5)) ? GT_T : GT_FLOAT;
        gen_local *l = &c->locals[c->nlocals++];
        snprintf(l->name, sizeof l->name, "%s", nm);
        l->is_arg = true;
        l->ref = i;
        l->type = d.arg_types[i];
    }
    if (generic)
        d.type = GT_T;
    else {
        static const gen_type results[] = {GT_FLOAT, GT_FLOAT, GT_FLOAT, GT_VEC3, GT_VEC2, GT_BOOL};
        d.type = results[gen_rng_below(c->rng, 6)];
    }
    c->in_fn = true;
    int32_t body = gen_expr(c, (gen_type)d.type, 2 + (int)gen_rng_below(c->rng, 3));
    c->in_fn = false;
    c->nlocals = 0;
    char name[GEN_NAME_LEN];
    fresh_name(c->p, gen_rng_chance(c->rng, 0.5) ? "f" : "glow", name);
    gen_decl *out = gen_decl_add(c->p, GD_FN, name, body, (gen_type)d.type);
    if (!out) return false;
    out->nargs = d.nargs;
    memcpy(out->arg_types, d.arg_types, sizeof d.arg_types);
    memcpy(out->arg_names, d.arg_names, sizeof d.arg_names);
    return true;
}

/*
 * Sizes: a fifth of the programs are small (depth 2), most are medium (depth 4
 * to 6, up to 400 nodes: real patterns are 50 to 300), one in eight is large
 * (depth 8 to 12, up to 1,000 nodes). Large ones cost most of the run's time
 * in shaderc and the driver's compiler.
 */
void gen_options_for_seed(uint64_t seed, gen_options *o) {
    gen_rng rng = {seed ^ 0x5bd1e995u};
    memset(o, 0, sizeof *o);
    uint32_t size = gen_rng_below(&rng, 40);
    bool large = size >= 35;
    o->depth =
        size < 8 ? 2 : (large ? 8 + (int)gen_rng_below(&rng, 5) : 4 + (int)gen_rng_below(&rng, 3));
    o->max_params = (int)gen_rng_below(&rng, 5);
    o->max_lets = (int)gen_rng_below(&rng, 6);
    o->max_fns = (int)gen_rng_below(&rng, 4);
    o->max_nodes = large ? 1000 : 400;
    o->allow_prev = gen_rng_chance(&rng, 0.35);
}

gen_program *gen_program_generate(uint64_t seed, const gen_options *o) {
    gen_program *p = gen_program_new(seed);
    if (!p) return NULL;
    gen_rng rng = {seed};
    gen_ctx c = {.p = p, .rng = &rng, .o = o, .reduce_iters = 1};
    int params = o->max_params ? (int)gen_rng_below(&rng, (uint32_t)o->max_params + 1) : 0;
    int lets = o->max_lets ? (int)gen_rng_below(&rng, (uint32_t)o->max_lets + 1) : 0;
    int fns = o->max_fns ? (int)gen_rng_below(&rng, (uint32_t)o->max_fns + 1) : 0;
    bool ok = true;
    /* Params first mostly; lets and fns interleaved. */
    while (ok && (params || lets || fns)) {
        uint32_t k = gen_rng_below(&rng, (uint32_t)(params * 3 + lets + fns));
        if (k < (uint32_t)params * 3) {
            ok = gen_param(&c);
            params--;
        } else if (k < (uint32_t)(params * 3 + lets)) {
            ok = gen_let(&c);
            lets--;
        } else {
            ok = gen_fn(&c);
            fns--;
        }
    }
    gen_type out = gen_rng_chance(&rng, 0.6) ? GT_VEC3 : GT_FLOAT;
    int32_t body = ok ? gen_expr(&c, out, o->depth) : -1;
    gen_decl *d = gen_decl_add(p, GD_OUT, "", body, out);
    if (!d || p->nomem) {
        gen_program_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < p->decl_count; i++) {
        gen_decl *di = &p->decls[i];
        di->style =
            (uint8_t)((gen_rng_chance(&rng, 0.3) ? 1 : 0) | (gen_rng_chance(&rng, 0.15) ? 2 : 0) |
                      (gen_rng_chance(&rng, 0.1) ? 4 : 0));
    }
    if (!gen_program_print(p)) {
        gen_program_free(p);
        return NULL;
    }
    return p;
}

/* ------------------------------------------------- differential verdicts */

bool gen_unexplained_fails(uint64_t unexplained, uint64_t channels) {
    (void)channels; /* any share: a wrong lowering can show on a single LED (a branch, a clamp) */
    return unexplained > 0;
}

bool gen_skip_shares_ok(uint64_t programs, uint64_t all_skipped_programs, uint64_t channels,
                        uint64_t skipped_channels, char *message, size_t message_len) {
    if (programs < GEN_CAP_MIN_PROGRAMS || channels == 0) return true;
    double skipped = (double)skipped_channels / (double)channels;
    double all = (double)all_skipped_programs / (double)programs;
    if (skipped > GEN_CAP_SKIPPED_CHANNELS) {
        snprintf(message, message_len,
                 "%.2f%% of channels (%" PRIu64 " of %" PRIu64 ") were skipped as not tame, over "
                 "the cap of %.0f%%: the device comparison is thinning out",
                 100 * skipped, skipped_channels, channels, 100 * GEN_CAP_SKIPPED_CHANNELS);
        return false;
    }
    if (all > GEN_CAP_ALL_SKIPPED_PROGRAMS) {
        snprintf(message, message_len,
                 "%.2f%% of programs (%" PRIu64 " of %" PRIu64 ") had every channel skipped as "
                 "not tame, over the cap of %.0f%%: they were never compared with the device",
                 100 * all, all_skipped_programs, programs, 100 * GEN_CAP_ALL_SKIPPED_PROGRAMS);
        return false;
    }
    return true;
}

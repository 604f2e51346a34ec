/*
 * limits.c - programs at the spec's limits, and one step past them.
 *
 * The spec's limits (source 1 MiB, nesting depth 256, 65,536 graph nodes
 * after inlining and unrolling, 256 iterations per reduction, 64 params) must
 * each be a clear error, never a crash or a hang, and a program just inside
 * them must compile and run like any other. For every limit this file builds
 * a program exactly at it (expected to compile; the small ones also go
 * through the whole differential check in run.c) and one just past it
 * (expected to fail with exactly that limit's diagnostic code, and nothing
 * else).
 *
 * Nesting is built for every construct the parser counts as a level
 * (parentheses, calls, unary operators, `^`, conditional branches, operator
 * chains, swizzles, reduction bodies) and as random mixes of them wrapped
 * around a generated program, in an `out` and in a `let`; the printer's depth
 * count (print.c) checks that each is exactly 256 or 257 levels as the parser
 * counts them. The graph-node limit has no closed form outside the compiler
 * (hash-consing, folding), so the largest program that compiles is found by
 * bisection over a family whose size grows by one reduction iteration per
 * step, and one step more must give the node-limit error.
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define LIMIT_NEST  SKY_MAX_NESTING
#define LIMIT_ITERS SKY_MAX_REDUCE_ITERS

typedef struct case_list {
    gen_limit_case *items;
    size_t count, cap;
    bool nomem;
} case_list;

static void add_case(case_list *l, gen_program *p, const char *name, const char *expected,
                     gen_limit_run run) {
    if (!p || l->nomem || !gen_program_print(p)) {
        gen_program_free(p);
        l->nomem = true;
        return;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        gen_limit_case *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            gen_program_free(p);
            l->nomem = true;
            return;
        }
        l->items = grown;
        l->cap = cap;
    }
    gen_limit_case *c = &l->items[l->count++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->program = p;
    c->expected = expected;
    c->run = run;
    c->nesting = -1;
}

/* A nesting case: the printer must count exactly `nesting` levels in it. */
static void add_nesting_case(case_list *l, gen_program *p, const char *name, const char *expected,
                             gen_limit_run run, int nesting) {
    size_t before = l->count;
    add_case(l, p, name, expected, run);
    if (l->count > before) l->items[before].nesting = nesting;
}

static int32_t input(gen_program *p, gen_input in) {
    return gen_node_input(p, in);
}

static int32_t call1(gen_program *p, gen_builtin f, int32_t a, gen_type type) {
    return gen_node_call(p, f, type, 1, &a);
}

static int32_t reduce(gen_program *p, gen_reduce kind, const char *var, int lo, int hi,
                      gen_type type) {
    gen_node n = {.kind = GN_REDUCE, .type = (uint8_t)type, .op = (uint8_t)kind, .nargs = 1};
    n.lo = lo;
    n.hi = hi;
    snprintf(n.text, sizeof n.text, "%s", var);
    return gen_node_add(p, &n);
}

static int32_t rvar(gen_program *p, int32_t reduction) {
    gen_node n = {.kind = GN_RVAR, .type = GT_FLOAT, .ref = reduction};
    return gen_node_add(p, &n);
}

static bool set_body(gen_program *p, int32_t reduction, int32_t body) {
    if (reduction < 0 || body < 0) return false;
    p->nodes[reduction].a[0] = body;
    return true;
}

/* ---------------------------------------------------------------- nesting */

typedef enum nest_kind {
    NEST_PARENS,
    NEST_CALLS,
    NEST_UNARY,
    NEST_POW,
    NEST_COND,
    NEST_CHAIN,
    NEST_SWIZZLE,
    NEST_REDUCE,
    NEST__COUNT
} nest_kind;

static const char *const nest_names[NEST__COUNT] = {
    "parentheses", "calls",     "unary minus", "^ chain",
    "?: chain",    "+ - chain", "swizzles",    "reduction bodies",
};

/* An `out` expression nested exactly `levels` deep with one construct. */
static gen_program *nest_program(nest_kind kind, int levels) {
    gen_program *p = gen_program_new(kind);
    if (!p) return NULL;
    int32_t e = -1;
    gen_type type = GT_FLOAT;
    switch (kind) {
    case NEST_PARENS:
        e = input(p, GI_X);
        if (e >= 0) p->nodes[e].paren = (uint16_t)levels;
        break;
    case NEST_CALLS:
        e = input(p, GI_R);
        for (int i = 0; i < levels; i++) e = call1(p, i % 2 ? GF_SIN : GF_FRACT, e, GT_FLOAT);
        break;
    case NEST_UNARY:
        e = input(p, GI_X);
        for (int i = 0; i < levels && e >= 0; i++) {
            gen_node n = {.kind = GN_NEG, .type = GT_FLOAT, .nargs = 1};
            n.a[0] = e;
            e = gen_node_add(p, &n);
        }
        break;
    case NEST_POW: /* r^1^1^...^1: the exponents nest to the right */
        e = gen_node_num(p, 1);
        for (int i = 1; i < levels; i++)
            e = gen_node_bin(p, GB_POW, gen_node_num(p, 1), e, GT_FLOAT);
        e = gen_node_bin(p, GB_POW, input(p, GI_R), e, GT_FLOAT);
        break;
    case NEST_COND: /* r < 1/256 ? ... : r < 2/256 ? ... : ... */
        e = gen_node_num(p, 1);
        for (int i = levels; i > 0 && e >= 0; i--) {
            gen_node n = {.kind = GN_COND, .type = GT_FLOAT, .nargs = 3};
            n.a[0] = gen_node_bin(p, GB_LT, input(p, GI_R), gen_node_num(p, (double)i / levels),
                                  GT_BOOL);
            n.a[1] = gen_node_num(p, (double)i / levels);
            n.a[2] = e;
            e = n.a[0] < 0 || n.a[1] < 0 ? -1 : gen_node_add(p, &n);
        }
        break;
    case NEST_CHAIN: /* x + y - y + y - y ...: one left-associative chain */
        e = input(p, GI_X);
        for (int i = 0; i < levels; i++)
            e = gen_node_bin(p, i % 2 ? GB_SUB : GB_ADD, e, input(p, GI_Y), GT_FLOAT);
        break;
    case NEST_SWIZZLE: { /* v.zxy.zxy... on a vec3 let */
        int32_t args[3] = {input(p, GI_X), input(p, GI_Y), input(p, GI_R)};
        if (!gen_decl_add(p, GD_LET, "v", gen_node_call(p, GF_VEC3, GT_VEC3, 3, args), GT_VEC3))
            break;
        gen_node n = {.kind = GN_LET, .type = GT_VEC3, .ref = 0};
        e = gen_node_add(p, &n);
        for (int i = 0; i < levels && e >= 0; i++) {
            gen_node s = {.kind = GN_SWIZZLE, .type = GT_VEC3, .nargs = 1};
            s.a[0] = e;
            snprintf(s.text, sizeof s.text, "%s", i % 2 ? "brg" : "zxy");
            e = gen_node_add(p, &s);
        }
        type = GT_VEC3;
        break;
    }
    case NEST_REDUCE: { /* sum(k in 0..1, product(k in 0..1, ... x)): the body a leaf */
        int32_t outer = -1, inner = -1;
        for (int i = 0; i < levels; i++) {
            int32_t red = reduce(p, (gen_reduce)(i % GR__COUNT), "k", 0, 1, GT_FLOAT);
            if (red < 0) break;
            if (inner >= 0)
                set_body(p, inner, red);
            else
                outer = red;
            inner = red;
        }
        if (inner >= 0 && set_body(p, inner, input(p, GI_X))) e = outer;
        break;
    }
    default:
        break;
    }
    if (!gen_decl_add(p, GD_OUT, "", e, type)) {
        gen_program_free(p);
        return NULL;
    }
    return p;
}

/* Wraps node `e` (of type `type`) in one nesting construct chosen by `k`. */
static int32_t wrap(gen_program *p, int32_t e, gen_type type, uint32_t k) {
    switch (k) {
    case 0:
        return call1(p, GF_SIN, e, type);
    case 1:
        return call1(p, GF_FRACT, e, type);
    case 2:
        p->nodes[e].paren++;
        return e;
    case 3: { /* r < 0.5 ? e : 0.5 */
        gen_node n = {.kind = GN_COND, .type = (uint8_t)type, .nargs = 3};
        n.a[0] = gen_node_bin(p, GB_LT, input(p, GI_R), gen_node_num(p, 0.5), GT_BOOL);
        n.a[1] = e;
        n.a[2] = gen_node_num(p, 0.5);
        return n.a[0] < 0 || n.a[2] < 0 ? -1 : gen_node_add(p, &n);
    }
    case 4: {
        int32_t red = reduce(p, GR_MAX, "j", 0, 1, type);
        return set_body(p, red, e) ? red : -1;
    }
    case 5: { /* mix(e, 0.5, 0.25) */
        int32_t args[3] = {e, gen_node_num(p, 0.5), gen_node_num(p, 0.25)};
        return gen_node_call(p, GF_MIX, type, 3, args);
    }
    default: { /* -e */
        gen_node n = {.kind = GN_NEG, .type = (uint8_t)type, .nargs = 1};
        n.a[0] = e;
        return gen_node_add(p, &n);
    }
    }
}

/*
 * A generated program whose `out` (or a let the out reads) is wrapped in random
 * constructs until it is nested exactly `levels` deep.
 */
static gen_program *mixed_program(uint64_t seed, int levels, bool in_let) {
    gen_options o;
    gen_options_for_seed(seed, &o);
    o.depth = 5;
    gen_program *p = gen_program_generate(seed, &o);
    if (!p) return NULL;
    gen_rng rng = {seed ^ 0xabcdefu};
    gen_decl *out = &p->decls[p->decl_count - 1];
    gen_type type = (gen_type)out->type;
    if (in_let) { /* move the out expression into a let; out reads it */
        int32_t body = out->body;
        out->kind = GD_LET;
        snprintf(out->name, sizeof out->name, "deep");
        gen_node n = {.kind = GN_LET, .type = (uint8_t)type, .ref = (int32_t)p->decl_count - 1};
        int32_t ref = gen_node_add(p, &n);
        if (!gen_decl_add(p, GD_OUT, "", ref, type)) goto fail;
        (void)body;
    }
    uint32_t target = in_let ? p->decl_count - 2 : p->decl_count - 1;
    for (int guard = 0; guard < 4 * levels; guard++) {
        if (!gen_program_print(p)) goto fail;
        if (p->depth >= levels) break;
        gen_program *saved = gen_program_clone(p);
        if (!saved) goto fail;
        int32_t e = wrap(p, p->decls[target].body, type, gen_rng_below(&rng, 7));
        if (e < 0) {
            gen_program_free(saved);
            goto fail;
        }
        p->decls[target].body = e;
        if (!gen_program_print(p)) {
            gen_program_free(saved);
            goto fail;
        }
        if (p->depth > levels) { /* a wrapper that adds two levels overshot: add one */
            gen_program_free(p);
            p = saved;
            e = wrap(p, p->decls[target].body, type, 0);
            if (e < 0) goto fail;
            p->decls[target].body = e;
        } else {
            gen_program_free(saved);
        }
    }
    return p;
fail:
    gen_program_free(p);
    return NULL;
}

/* ------------------------------------------------------------ other limits */

static gen_program *reduce_program(gen_reduce kind, int lo, int hi) {
    gen_program *p = gen_program_new((uint64_t)hi);
    if (!p) return NULL;
    int32_t red = reduce(p, kind, "k", lo, hi, GT_FLOAT);
    int32_t k = rvar(p, red);
    int32_t body;
    if (kind == GR_PRODUCT) /* 1 + cos(k r) / 1000: the product stays near 1 */
        body = gen_node_bin(
            p, GB_ADD, gen_node_num(p, 1),
            gen_node_bin(
                p, GB_DIV,
                call1(p, GF_COS, gen_node_bin(p, GB_MUL, k, input(p, GI_R), GT_FLOAT), GT_FLOAT),
                gen_node_num(p, 1000), GT_FLOAT),
            GT_FLOAT);
    else
        body = call1(p, GF_SIN,
                     gen_node_bin(p, GB_ADD, gen_node_bin(p, GB_MUL, input(p, GI_X), k, GT_FLOAT),
                                  input(p, GI_T), GT_FLOAT),
                     GT_FLOAT);
    int32_t e = red;
    if (!set_body(p, red, body)) e = -1;
    if (kind == GR_SUM) e = gen_node_bin(p, GB_DIV, e, gen_node_num(p, hi - lo), GT_FLOAT);
    if (kind == GR_PRODUCT) e = call1(p, GF_FRACT, e, GT_FLOAT);
    if (!gen_decl_add(p, GD_OUT, "", e, GT_FLOAT)) {
        gen_program_free(p);
        return NULL;
    }
    return p;
}

/* `count` params (every 8th a vec3), each used once in a sum. */
static gen_program *params_program(int count) {
    gen_program *p = gen_program_new((uint64_t)count);
    if (!p) return NULL;
    int32_t sum = -1;
    for (int i = 0; i < count; i++) {
        char name[GEN_NAME_LEN];
        snprintf(name, sizeof name, "p%d", i);
        gen_decl *d;
        int32_t use;
        if (i % 8 == 7) {
            int32_t args[3] = {gen_node_num(p, 0.1), gen_node_num(p, 0.2), gen_node_num(p, 0.3)};
            d = gen_decl_add(p, GD_PARAM, name, gen_node_call(p, GF_RGB, GT_VEC3, 3, args),
                             GT_VEC3);
            gen_node ref = {.kind = GN_PARAM, .type = GT_VEC3, .ref = (int32_t)p->decl_count - 1};
            gen_node sw = {.kind = GN_SWIZZLE, .type = GT_FLOAT, .nargs = 1};
            sw.a[0] = gen_node_add(p, &ref);
            snprintf(sw.text, sizeof sw.text, "g");
            use = sw.a[0] < 0 ? -1 : gen_node_add(p, &sw);
        } else {
            d = gen_decl_add(p, GD_PARAM, name, gen_node_num(p, (double)(i % 10) / 10), GT_FLOAT);
            if (d) {
                d->has_range = true;
                d->lo = 0;
                d->hi = 1;
                snprintf(d->lo_text, sizeof d->lo_text, "0");
                snprintf(d->hi_text, sizeof d->hi_text, "1");
            }
            gen_node ref = {.kind = GN_PARAM, .type = GT_FLOAT, .ref = (int32_t)p->decl_count - 1};
            use = gen_node_add(p, &ref);
        }
        if (!d) break;
        /* (p0 + p1 + ...) as a balanced tree, so the sum stays far from the nesting limit */
        sum = sum < 0 ? use : gen_node_bin(p, GB_ADD, use, sum, GT_FLOAT);
        if (i % 16 == 15) p->nodes[sum].paren++;
    }
    int32_t e =
        call1(p, GF_FRACT,
              gen_node_bin(p, GB_ADD, gen_node_bin(p, GB_MUL, sum, gen_node_num(p, 0.01), GT_FLOAT),
                           input(p, GI_X), GT_FLOAT),
              GT_FLOAT);
    if (!gen_decl_add(p, GD_OUT, "", e, GT_FLOAT)) {
        gen_program_free(p);
        return NULL;
    }
    return p;
}

/*
 * `iterations` reduction iterations in all, 256 per let:
 *   let s0 = sum(k in 0..256, hash(x, y, k + 0.5)) ... out fract(s0 + s1 + ...)
 * Each iteration adds the same few graph nodes (a constant, a hash, an add).
 */
static gen_program *nodes_program(int iterations) {
    gen_program *p = gen_program_new((uint64_t)iterations);
    if (!p) return NULL;
    int32_t total = -1;
    for (int done = 0, i = 0; done < iterations; i++) {
        int n = iterations - done < LIMIT_ITERS ? iterations - done : LIMIT_ITERS;
        int32_t red = reduce(p, GR_SUM, "k", 0, n, GT_FLOAT);
        int32_t args[3] = {
            input(p, GI_X), input(p, GI_Y),
            gen_node_bin(p, GB_ADD, rvar(p, red), gen_node_num(p, (double)done + 0.5), GT_FLOAT)};
        if (!set_body(p, red, gen_node_call(p, GF_HASH3, GT_FLOAT, 3, args))) break;
        char name[GEN_NAME_LEN];
        snprintf(name, sizeof name, "s%d", i);
        if (!gen_decl_add(p, GD_LET, name, red, GT_FLOAT)) break;
        gen_node ref = {.kind = GN_LET, .type = GT_FLOAT, .ref = (int32_t)p->decl_count - 1};
        int32_t use = gen_node_add(p, &ref);
        total = total < 0 ? use : gen_node_bin(p, GB_ADD, use, total, GT_FLOAT);
        done += n;
    }
    if (!gen_decl_add(p, GD_OUT, "", call1(p, GF_FRACT, total, GT_FLOAT), GT_FLOAT)) {
        gen_program_free(p);
        return NULL;
    }
    return p;
}

/* True when the program compiles; *code receives the first error's code otherwise. */
static bool compiles(gen_program *p, char *code, size_t code_len) {
    if (!gen_program_print(p)) return false;
    sky_program *prog = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile("limit.sky", p->source, p->source_len, NULL, &prog, &diags);
    const sky_diag *first = diags ? sky_diagnostics_get(diags, 0) : NULL;
    snprintf(code, code_len, "%s", first && first->code ? first->code : "");
    sky_program_free(prog);
    sky_diagnostics_free(diags);
    return st == SKY_OK;
}

/*
 * The largest iteration count of nodes_program that compiles: bisection
 * between one that compiles and one that fails with the node limit. -1 when a
 * failure is not the node-limit error (the caller's case then shows it).
 */
static int largest_that_compiles(void) {
    int lo = 1, hi = SKY_MAX_NODES; /* one node per iteration at least: hi cannot compile */
    char code[16];
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        gen_program *p = nodes_program(mid);
        if (!p) return -1;
        bool ok = compiles(p, code, sizeof code);
        gen_program_free(p);
        if (ok)
            lo = mid;
        else if (strcmp(code, "E0503") == 0)
            hi = mid;
        else
            return -1;
    }
    return lo;
}

bool gen_limit_cases(uint64_t seed, gen_limit_case **cases, size_t *count) {
    case_list l = {0};
    char name[80];
    for (int k = 0; k < NEST__COUNT; k++) {
        snprintf(name, sizeof name, "nesting %d: %s", LIMIT_NEST, nest_names[k]);
        add_nesting_case(&l, nest_program((nest_kind)k, LIMIT_NEST), name, NULL, GEN_LIMIT_RUN_ALL,
                         LIMIT_NEST);
        snprintf(name, sizeof name, "nesting %d: %s", LIMIT_NEST + 1, nest_names[k]);
        add_nesting_case(&l, nest_program((nest_kind)k, LIMIT_NEST + 1), name, "E0502",
                         GEN_LIMIT_RUN_NONE, LIMIT_NEST + 1);
    }
    for (int i = 0; i < 4; i++) {
        bool in_let = i % 2 == 1;
        uint64_t s = gen_seed_for(seed, 1000 + (uint64_t)i);
        snprintf(name, sizeof name, "nesting %d: random mix in %s (%d)", LIMIT_NEST,
                 in_let ? "a let" : "out", i);
        add_nesting_case(&l, mixed_program(s, LIMIT_NEST, in_let), name, NULL, GEN_LIMIT_RUN_ALL,
                         LIMIT_NEST);
        snprintf(name, sizeof name, "nesting %d: random mix in %s (%d)", LIMIT_NEST + 1,
                 in_let ? "a let" : "out", i);
        add_nesting_case(&l, mixed_program(s, LIMIT_NEST + 1, in_let), name, "E0502",
                         GEN_LIMIT_RUN_NONE, LIMIT_NEST + 1);
    }
    add_case(&l, reduce_program(GR_SUM, 0, LIMIT_ITERS), "sum of 256 iterations", NULL,
             GEN_LIMIT_RUN_ALL);
    add_case(&l, reduce_program(GR_PRODUCT, -128, 128), "product of 256 iterations (-128..128)",
             NULL, GEN_LIMIT_RUN_ALL);
    add_case(&l, reduce_program(GR_MIN, 0, LIMIT_ITERS), "min of 256 iterations", NULL,
             GEN_LIMIT_RUN_ALL);
    add_case(&l, reduce_program(GR_SUM, 0, LIMIT_ITERS + 1), "sum of 257 iterations", "E0504",
             GEN_LIMIT_RUN_NONE);
    add_case(&l, reduce_program(GR_MAX, -128, 129), "max of 257 iterations (-128..129)", "E0504",
             GEN_LIMIT_RUN_NONE);
    add_case(&l, params_program(SKY_MAX_PARAMS), "64 params", NULL, GEN_LIMIT_RUN_ALL);
    add_case(&l, params_program(SKY_MAX_PARAMS + 1), "65 params", "E0505", GEN_LIMIT_RUN_NONE);
    int most = largest_that_compiles();
    if (most > 0) {
        snprintf(name, sizeof name, "graph nodes: %d reduction iterations (the most that compile)",
                 most);
        add_case(&l, nodes_program(most), name, NULL, GEN_LIMIT_RUN_SPIRV);
        snprintf(name, sizeof name, "graph nodes: %d reduction iterations (one more)", most + 1);
        add_case(&l, nodes_program(most + 1), name, "E0503", GEN_LIMIT_RUN_NONE);
        snprintf(name, sizeof name, "graph nodes: %d reduction iterations (a 64th, on the device)",
                 most / 64);
        add_case(&l, nodes_program(most / 64), name, NULL, GEN_LIMIT_RUN_ALL);
    } else { /* the bisection met another error: this case fails and prints it */
        add_case(&l, nodes_program(SKY_MAX_NODES), "graph nodes: bisection failed", "E0503",
                 GEN_LIMIT_RUN_NONE);
    }
    gen_program *src = nodes_program(8);
    if (src) src->pad_to = SKY_MAX_SOURCE_BYTES;
    add_case(&l, src, "source of exactly 1 MiB", NULL, GEN_LIMIT_RUN_CPU);
    src = nodes_program(8);
    if (src) src->pad_to = SKY_MAX_SOURCE_BYTES + 1;
    add_case(&l, src, "source of 1 MiB + 1 byte", "E0501", GEN_LIMIT_RUN_NONE);
    if (l.nomem) {
        gen_limit_cases_free(l.items, l.count);
        return false;
    }
    *cases = l.items;
    *count = l.count;
    return true;
}

void gen_limit_cases_free(gen_limit_case *cases, size_t count) {
    for (size_t i = 0; i < count; i++) gen_program_free(cases[i].program);
    free(cases);
}

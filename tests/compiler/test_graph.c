/*
 * test_graph.c - the compile arena and the hash-consed graph: sharing,
 * constants keyed by their bits, rates, the node limit, the verifier on good
 * and deliberately corrupted graphs, and eval_graph_const.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backend_util.h"
#include "eval.h"

/* ----------------------------------------------------------------- arena */

static void test_arena_alloc(void **state) {
    (void)state;
    arena a;
    arena_init(&a);
    for (int i = 1; i < 2000; i++) {
        unsigned char *p = arena_alloc(&a, (size_t)i * 7);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (int k = 0; k < i * 7; k++) assert_int_equal(p[k], 0);
        memset(p, 0xab, (size_t)i * 7);
    }
    void *big = arena_alloc(&a, 5u << 20); /* larger than any block */
    assert_non_null(big);
    assert_true(a.total >= (5u << 20));
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    arena_free(&a);
    assert_null(a.head);
    arena_free(&a); /* twice is fine */
}

/* Regression: growth used to put every new block behind a nearly full head,
 * so mixed sizes reserved a fresh block per allocation (395 MB for one pattern). */
static void test_arena_mixed_sizes_stay_compact(void **state) {
    (void)state;
    arena a;
    arena_init(&a);
    for (int i = 0; i < 20000; i++)
        assert_non_null(arena_alloc(&a, (size_t)(i % 7 == 0 ? 3000 : 40)));
    assert_true(arena_footprint(&a) <= 2 * a.total + (1u << 20));
    arena_free(&a);
}

static void test_arena_realloc(void **state) {
    (void)state;
    arena a;
    arena_init(&a);
    int *v = arena_alloc(&a, 4 * sizeof *v);
    for (int i = 0; i < 4; i++) v[i] = i;
    int *w = arena_realloc(&a, v, 4 * sizeof *v, 1000 * sizeof *v);
    assert_ptr_equal(v, w); /* the last allocation grows in place */
    for (int i = 0; i < 4; i++) assert_int_equal(w[i], i);
    for (int i = 4; i < 1000; i++) assert_int_equal(w[i], 0);
    (void)arena_alloc(&a, 16);
    int *x = arena_realloc(&a, w, 1000 * sizeof *w, 100000 * sizeof *w);
    assert_ptr_not_equal(x, w); /* no longer last: copied */
    for (int i = 0; i < 4; i++) assert_int_equal(x[i], i);
    for (int i = 4; i < 100000; i++) assert_int_equal(x[i], 0);
    arena_free(&a);
}

static void test_arena_strings(void **state) {
    (void)state;
    arena a;
    arena_init(&a);
    assert_string_equal(arena_strndup(&a, "theta and more", 5), "theta");
    assert_string_equal(arena_printf(&a, "%s:%d:%d", "a.sky", 3, 14), "a.sky:3:14");
    arena_free(&a);
}

/* ---------------------------------------------------------------- graph */

static void test_hash_consing(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0), y = tb_leaf(&t, OP_Y, 0);
    node_id s1 = tb_2(&t, OP_ADD, x, y);
    node_id s2 = tb_2(&t, OP_ADD, x, y);
    assert_int_equal(s1, s2);
    assert_int_not_equal(tb_2(&t, OP_ADD, y, x),
                         s1); /* no reordering: construction never simplifies */
    assert_int_equal(tb_leaf(&t, OP_X, 0), x);
    assert_int_equal(tb_c(&t, 1.5), tb_c(&t, 1.5));
    /* an imm on an op that has none is ignored, so it cannot split a node */
    assert_int_equal(graph_add(t.g, OP_ADD, x, y, GRAPH_NONE, 7.0), s1);
    assert_int_not_equal(tb_leaf(&t, OP_PREV, 0), tb_leaf(&t, OP_PREV, 1));
    uint32_t before = graph_count(t.g);
    for (int i = 0; i < 10; i++) (void)tb_2(&t, OP_MUL, s1, tb_c(&t, 2));
    assert_int_equal(graph_count(t.g), before + 2);
    tb_free(&t);
}

static void test_constants_by_bits(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id pz = tb_c(&t, 0.0), nz = tb_c(&t, -0.0);
    assert_int_not_equal(pz, nz);
    assert_true(signbit(graph_get(t.g, nz)->imm));
    assert_false(signbit(graph_get(t.g, pz)->imm));
    uint64_t b1 = 0x7ff8000000000001ull, b2 = 0x7ff8000000000002ull;
    double n1, n2;
    memcpy(&n1, &b1, sizeof n1);
    memcpy(&n2, &b2, sizeof n2);
    assert_int_not_equal(tb_c(&t, n1), tb_c(&t, n2));
    assert_int_equal(tb_c(&t, n1), tb_c(&t, n1)); /* a NaN equals itself as a key */
    tb_free(&t);
}

static void test_rates(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id k = tb_c(&t, 2), tt = tb_leaf(&t, OP_T, 0), x = tb_leaf(&t, OP_X, 0);
    node_id p = tb_param(&t, "speed", 1, true, 0, 4);
    assert_int_equal(graph_get(t.g, tb_2(&t, OP_ADD, k, k))->rate, RATE_CONST);
    assert_int_equal(graph_get(t.g, tb_2(&t, OP_MUL, tt, k))->rate, RATE_FRAME);
    assert_int_equal(graph_get(t.g, tb_2(&t, OP_MUL, p, k))->rate, RATE_FRAME);
    assert_int_equal(graph_get(t.g, tb_1(&t, OP_SIN, x))->rate, RATE_LED);
    assert_int_equal(graph_get(t.g, tb_3(&t, OP_CLAMP, k, tt, x))->rate, RATE_LED);
    /* prev(s, l) reads the previous frame: per LED whatever its operands */
    node_id pa = graph_add(t.g, OP_PREV_AT, k, k, GRAPH_NONE, 1);
    assert_int_equal(graph_get(t.g, pa)->rate, RATE_LED);
    assert_int_equal(graph_get(t.g, tb_leaf(&t, OP_STRIPS, 0))->rate, RATE_FRAME);
    tb_free(&t);
}

static void test_bad_operands(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0);
    assert_int_equal(tb_2(&t, OP_ADD, x, 99), GRAPH_NONE);               /* no such node */
    assert_int_equal(tb_1(&t, OP_ADD, x), GRAPH_NONE);                   /* missing operand */
    assert_int_equal(tb_2(&t, OP_SIN, x, x), GRAPH_NONE);                /* operand past arity */
    assert_int_equal(graph_add(t.g, OP__COUNT, x, x, x, 0), GRAPH_NONE); /* no such op */
    assert_false(graph_full(t.g));
    assert_null(graph_get(t.g, 12345));
    tb_free(&t);
}

static void test_node_limit(void **state) {
    (void)state;
    arena a;
    arena_init(&a);
    graph *g = graph_create(&a, SKY_MAX_NODES);
    assert_non_null(g);
    node_id last = GRAPH_NONE;
    for (uint32_t i = 0; i < SKY_MAX_NODES; i++) {
        last = graph_const(g, (double)i);
        assert_int_equal(last, i);
    }
    assert_false(graph_full(g));
    assert_int_equal(graph_const(g, -1.0), GRAPH_NONE);
    assert_true(graph_full(g));
    assert_int_equal(graph_count(g), SKY_MAX_NODES);
    /* nodes that exist are still found when the graph is full */
    assert_int_equal(graph_const(g, 1234.0), 1234);
    assert_true(graph_get(g, last)->imm == SKY_MAX_NODES - 1);
    assert_true(graph_verify(g, NULL));
    arena_free(&a);
}

/* A small graph with every kind of node, for the verifier tests. */
typedef struct sample {
    tb t;
    node_id x, t_, cmp, not_, sel, sum, prev;
} sample;

static void sample_build(sample *s) {
    tb_init(&s->t);
    tb *t = &s->t;
    s->x = tb_leaf(t, OP_X, 0);
    s->t_ = tb_leaf(t, OP_T, 0);
    s->cmp = tb_2(t, OP_LT, s->x, s->t_);
    s->not_ = tb_1(t, OP_NOT, s->cmp);
    s->sum = tb_2(t, OP_ADD, s->x, tb_c(t, 1));
    s->sel = tb_3(t, OP_SELECT, s->not_, s->sum, s->x);
    s->prev = tb_leaf(t, OP_PREV, 2);
}

static graph_node *mutable_node(const graph *g, node_id id) {
    return (graph_node *)graph_get(g, id); /* deliberately corrupting the graph */
}

static void expect_rejected(sample *s, const char *fragment) {
    const char *why = NULL;
    assert_false(graph_verify(s->t.g, &why));
    assert_non_null(why);
    if (!strstr(why, fragment)) fail_msg("verifier said \"%s\", expected \"%s\"", why, fragment);
    tb_free(&s->t);
}

static void test_verify_good(void **state) {
    (void)state;
    sample s;
    sample_build(&s);
    const char *why = "unset";
    assert_true(graph_verify(s.t.g, &why));
    assert_null(why);
    tb_free(&s.t);
}

static void test_verify_catches_corruption(void **state) {
    (void)state;
    sample s;

    sample_build(&s);
    mutable_node(s.t.g, s.cmp)->arg[1] = s.sel; /* an operand after its node */
    expect_rejected(&s, "earlier");

    sample_build(&s);
    mutable_node(s.t.g, s.sum)->rate = RATE_FRAME; /* x + 1 is per LED */
    expect_rejected(&s, "rate");

    sample_build(&s);
    mutable_node(s.t.g, s.not_)->arg[0] = s.x; /* not of a number */
    expect_rejected(&s, "bool");

    sample_build(&s);
    mutable_node(s.t.g, s.sel)->arg[0] = s.sum; /* select on a number */
    expect_rejected(&s, "bool");

    sample_build(&s);
    mutable_node(s.t.g, s.sum)->arg[2] = s.x; /* an operand past the arity */
    expect_rejected(&s, "arity");

    sample_build(&s);
    mutable_node(s.t.g, s.prev)->imm = 3; /* channel out of range */
    expect_rejected(&s, "immediate");

    sample_build(&s);
    mutable_node(s.t.g, s.prev)->op = OP_UNIFORM; /* uniforms belong to programs */
    expect_rejected(&s, "uniform");

    sample_build(&s);
    mutable_node(s.t.g, s.sum)->op = OP__COUNT + 3;
    expect_rejected(&s, "unknown op");

    sample_build(&s);
    mutable_node(s.t.g, s.sum)->op = OP_SUB; /* no longer found under its key */
    expect_rejected(&s, "hash-consing");
}

static void test_is_bool(void **state) {
    (void)state;
    sample s;
    sample_build(&s);
    tb *t = &s.t;
    assert_true(graph_is_bool(t->g, s.cmp));
    assert_true(graph_is_bool(t->g, s.not_));
    assert_false(graph_is_bool(t->g, s.sum));
    assert_false(graph_is_bool(t->g, s.sel)); /* a select of numbers */
    assert_true(graph_is_bool(t->g, tb_c(t, 1)));
    assert_true(graph_is_bool(t->g, tb_c(t, 0)));
    assert_false(graph_is_bool(t->g, tb_c(t, -0.0)));
    assert_false(graph_is_bool(t->g, tb_c(t, 0.5)));
    assert_true(graph_is_bool(t->g, tb_3(t, OP_SELECT, s.cmp, s.not_, tb_c(t, 0))));
    assert_false(graph_is_bool(t->g, GRAPH_NONE));
    tb_free(&s.t);
}

static void test_eval_const(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id five = tb_2(&t, OP_ADD, tb_c(&t, 2), tb_c(&t, 3));
    node_id twenty = tb_2(&t, OP_MUL, five, tb_c(&t, 4));
    node_id m = tb_2(&t, OP_MOD, tb_c(&t, -7), tb_c(&t, 3));
    double v = 0;
    assert_true(eval_graph_const(t.g, twenty, &v));
    assert_true(v == 20);
    assert_true(eval_graph_const(t.g, m, &v));
    assert_true(v == 2);
    assert_true(eval_graph_const(t.g, tb_c(&t, -0.0), &v));
    assert_true(v == 0 && signbit(v));
    /* double precision: 0.1 * 3 is not 0.3 in double, but is in float */
    assert_true(eval_graph_const(t.g, tb_2(&t, OP_MUL, tb_c(&t, 0.1), tb_c(&t, 3)), &v));
    assert_true(v == 0.1 * 3);
    node_id tt = tb_2(&t, OP_MUL, tb_leaf(&t, OP_T, 0), tb_c(&t, 2));
    assert_false(eval_graph_const(t.g, tt, &v));
    assert_false(eval_graph_const(t.g, 999999, &v));
    tb_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc),
        cmocka_unit_test(test_arena_realloc),
        cmocka_unit_test(test_arena_mixed_sizes_stay_compact),
        cmocka_unit_test(test_arena_strings),
        cmocka_unit_test(test_hash_consing),
        cmocka_unit_test(test_constants_by_bits),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_bad_operands),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_verify_good),
        cmocka_unit_test(test_verify_catches_corruption),
        cmocka_unit_test(test_is_bool),
        cmocka_unit_test(test_eval_const),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * check_int.h - what check.c and builtins.c share: values, symbols, the
 * checker's state and the helpers that build graph nodes and report errors.
 *
 * Internal to the checker (the rest of the compiler includes check.h).
 * check.c resolves names, checks types and lowers expressions and
 * declarations; builtins.c expands the built-in functions. Both lower into
 * the graph only through ck_mk, which stops the checker at the node limit.
 */
#ifndef SKY_CHECK_INT_H
#define SKY_CHECK_INT_H

#include <stdint.h>

#include "check.h"

#define PI_D 3.14159265358979323846
#define E_D  2.71828182845904523536

#define CHECK_BOOL_HELP "write `cond ? 1 : 0` to turn a `bool` into a number"

/* ---------------------------------------------------------------- values */

typedef enum ty { TY_ERROR, TY_FLOAT, TY_VEC2, TY_VEC3, TY_BOOL } ty;

typedef struct value {
    uint8_t type; /* ty */
    node_id n[3];
} value;

static const value ERR = {TY_ERROR, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};

static inline int width(uint8_t t) {
    return t == TY_VEC2 ? 2 : t == TY_VEC3 ? 3 : t == TY_ERROR ? 0 : 1;
}

static inline uint8_t vec_type(int w) {
    return w == 1 ? TY_FLOAT : w == 2 ? TY_VEC2 : TY_VEC3;
}

static inline const char *type_name(uint8_t t) {
    static const char *const names[] = {"error", "float", "vec2", "vec3", "bool"};
    return names[t];
}

/* Component i of v, a float broadcasting to every component. */
static inline node_id comp(value v, int i) {
    return width(v.type) == 1 ? v.n[0] : v.n[i];
}

/* ------------------------------------------------------------- built-ins */

typedef enum builtin_kind {
    B_MAP1,
    B_MAP2,
    B_MAP3,
    B_ATAN,
    B_LENGTH,
    B_NORMALIZE,
    B_DISTANCE,
    B_DOT,
    B_CROSS,
    B_VEC2,
    B_VEC3,
    B_HSV,
    B_PALETTE,
    B_WAVE,
    B_TRIANGLE,
    B_SQUARE,
    B_SAW,
    B_TIME,
    B_DECAY,
    B_HASH,
    B_NOISE,
    B_FBM,
} builtin_kind;

typedef struct builtin {
    const char *name;
    uint8_t kind; /* builtin_kind */
    uint8_t min_args, max_args;
    uint16_t op; /* B_MAP*: the op applied per component */
    const char *usage;
} builtin;

extern const builtin check_builtins[];
extern const size_t check_builtin_count;

/* ------------------------------------------------------------- symbols */

typedef enum sym_kind {
    SYM_INPUT,
    SYM_CONST,
    SYM_PREV,
    SYM_BUILTIN,
    SYM_REDUCTION, /* built in */
    SYM_PARAM,
    SYM_LET,
    SYM_FN,
    SYM_POISON, /* declared */
} sym_kind;

typedef struct sym {
    const char *name;
    sym_kind kind;
    bool defined;         /* declared symbols: their declaration has been processed */
    bool used;            /* declared symbols: some body names it (for W_UNUSED) */
    uint16_t op;          /* SYM_INPUT */
    double constant;      /* SYM_CONST */
    const builtin *fn;    /* SYM_BUILTIN */
    const ast_decl *decl; /* declared symbols: the first declaration of the name */
    value val;            /* SYM_PARAM, SYM_LET */
    uint32_t id;          /* SYM_FN: identifies it in memo keys */
    uint32_t frame_size;  /* SYM_FN: local slots its body needs */
} sym;

/* A string -> pointer map (open addressing, power-of-two size, at most half full). */
typedef struct name_map {
    const char **keys;
    void **vals;
    uint32_t cap, count;
} name_map;

/* ------------------------------------------------------- memo of fn calls */

typedef struct memo_entry {
    struct memo_entry *next;
    uint32_t hash, len;
    uint32_t *key;
    value result;
} memo_entry;

/* ------------------------------------------------------------- checker */

typedef struct local {
    const char *name;
    int32_t slot;
} local;

typedef struct checker {
    arena *a;
    diag_list *d;
    graph *g;
    const ast_program *prog;
    name_map globals;
    const ast_decl *cur_decl;
    const ast_decl *self_reported; /* the declaration whose self-reference was reported */
    /* resolution */
    local *locals; /* reduction variables in scope, innermost last */
    uint32_t nlocals, locals_cap;
    const name_map *fn_params; /* parameters of the fn being resolved */
    uint32_t next_slot, max_slots;
    /* lowering */
    value *stack; /* local slots of the active frames (malloc'd) */
    size_t stack_len, stack_cap;
    uint32_t depth;
    uint64_t steps;
    memo_entry **memo;
    uint32_t memo_cap, memo_count;
    uint32_t *key_buf; /* scratch for memo keys (malloc'd) */
    uint32_t key_cap;
    uint32_t fn_count;
    /* results */
    sky_param_info *params;
    uint32_t param_count, param_slots;
    const ast_decl *first_out;
    value out;
    bool fatal; /* a limit was hit or memory ran out: stop lowering */
    bool nomem;
} checker;

/* The active inlined call: its slots start at `base` in the checker's stack. */
typedef struct frame {
    size_t base;
    const ast_expr *call; /* the call being inlined, NULL at the top level */
} frame;

/* ------------------------------------------------- shared by check.c, builtins.c */

/* Reports an error; inside an inlined function, a note points at the call. */
bool ck_error(checker *ck, const frame *f, const char *code, uint32_t start, uint32_t end,
              const char *help, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* A graph node; GRAPH_NONE (and the checker stops) at the node limit or without memory. */
node_id ck_mk(checker *ck, sky_op op, node_id a, node_id b, node_id c, double imm);
/* Applies op per component over w components (operands broadcast). */
value ck_map_op(checker *ck, sky_op op, int w, const value *args, int nargs, uint8_t type);
/* True for a number (float or vector); a bool is reported at `where`. */
bool ck_need_number(checker *ck, const frame *f, const ast_expr *where, value v, const char *help);
/* True for a float (one number); reports bools and vectors. */
bool ck_need_float(checker *ck, const frame *f, const ast_expr *where, value v, const char *what);
/*
 * The common width of numbers combined component-wise, or 0 after reporting a
 * mismatch "mismatched vector sizes <what_fmt with what_arg>".
 */
int ck_common_width(checker *ck, const frame *f, const ast_expr *where, const value *v, int n,
                    const char *code, const char *what_fmt, const char *what_arg);
/* Finds an input that makes `n` at least `rate`, and names it ("`x`", "the param `speed`"). */
const char *ck_dependency_name(checker *ck, node_id n, uint8_t rate);
/* The highest rate among v's components; *which gets the component that has it. */
uint8_t ck_value_rate(const checker *ck, value v, node_id *which);

/* builtins.c: a call of built-in b with lowered arguments; prev(s, l). */
value ck_builtin_call(checker *ck, const frame *f, const ast_expr *e, const builtin *b,
                      value *args);
value ck_prev_at_call(checker *ck, const frame *f, const ast_expr *e, const value *args);

static inline node_id mk1(checker *ck, sky_op op, node_id a) {
    return ck_mk(ck, op, a, GRAPH_NONE, GRAPH_NONE, 0);
}
static inline node_id mk2(checker *ck, sky_op op, node_id a, node_id b) {
    return ck_mk(ck, op, a, b, GRAPH_NONE, 0);
}
static inline node_id mk3(checker *ck, sky_op op, node_id a, node_id b, node_id c) {
    return ck_mk(ck, op, a, b, c, 0);
}
static inline node_id cst(checker *ck, double v) {
    return ck_mk(ck, OP_CONST, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, v);
}

static inline value scalar(checker *ck, uint8_t type, node_id n) {
    if (ck->fatal || n == GRAPH_NONE) return ERR;
    value v = {type, {n, GRAPH_NONE, GRAPH_NONE}};
    return v;
}

static inline value done(const checker *ck, value v) {
    return ck->fatal ? ERR : v;
}

static inline value map1(checker *ck, sky_op op, value a) {
    return ck_map_op(ck, op, width(a.type), &a, 1, a.type);
}

static inline value map2(checker *ck, sky_op op, value a, value b, int w) {
    value args[2] = {a, b};
    return ck_map_op(ck, op, w, args, 2, vec_type(w));
}

static inline value splat(value v, int w) {
    value out = {vec_type(w), {v.n[0], v.n[0], v.n[0]}};
    return out;
}

/* ------------------------------------------------------------------ calls */

static inline const char *arguments_word(uint32_t n) {
    return n == 1 ? "argument" : "arguments";
}

static inline const char *was_were(uint32_t n) {
    return n == 1 ? "was" : "were";
}

#endif

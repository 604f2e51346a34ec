/*
 * check_int.h - what the checker's files share: values, symbols, the
 * checker's state and the functions each file offers the others.
 *
 * Internal to the checker (the rest of the compiler includes check.h); every
 * name here starts with ck_ (CK_ for constants), so that none reads as a
 * word of the language or of the runtime ("value", "frame"). The files, in
 * the order a declaration goes through them:
 *
 *   check.c     the declarations in source order, check_program
 *   names.c     the table of names: built-in and declared symbols, did-you-mean
 *   resolve.c   binds each name of a body to a local slot or a symbol
 *   lower.c     type-checks expressions and lowers them into graph nodes
 *   inline.c    a call of a `fn`: its body inlined, memoised per argument values
 *   builtins.c  the built-in functions, expanded into graph nodes
 *   types.c     what lowering shares: errors, graph nodes under the limits, type checks
 *   warn.c      warnings, for a program without errors
 *
 * All of them lower into the graph only through ck_mk, which stops the
 * checker at the node limit.
 */
#ifndef SKY_CHECK_INT_H
#define SKY_CHECK_INT_H

#include <stdint.h>

#include "check.h"

#define CK_PI 3.14159265358979323846
#define CK_E  2.71828182845904523536

#define CHECK_BOOL_HELP "write `cond ? 1 : 0` to turn a `bool` into a number"

/* ---------------------------------------------------------------- values */

typedef enum ck_type { CK_TY_ERROR, CK_TY_FLOAT, CK_TY_VEC2, CK_TY_VEC3, CK_TY_BOOL } ck_type;

/* A lowered expression: a type and one node per component (a vector is its scalars). */
typedef struct ck_value {
    uint8_t type; /* ck_type */
    node_id n[3];
} ck_value;

/* The value of an expression already reported as wrong; every consumer passes it on silently. */
static const ck_value CK_ERR = {CK_TY_ERROR, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};

static inline int ck_width(uint8_t t) {
    return t == CK_TY_VEC2 ? 2 : t == CK_TY_VEC3 ? 3 : t == CK_TY_ERROR ? 0 : 1;
}

static inline uint8_t ck_vec_type(int w) {
    return w == 1 ? CK_TY_FLOAT : w == 2 ? CK_TY_VEC2 : CK_TY_VEC3;
}

static inline const char *ck_type_name(uint8_t t) {
    static const char *const names[] = {"error", "float", "vec2", "vec3", "bool"};
    return names[t];
}

/* Component i of v, a float broadcasting to every component. */
static inline node_id ck_comp(ck_value v, int i) {
    return ck_width(v.type) == 1 ? v.n[0] : v.n[i];
}

/* ------------------------------------------------------------- built-ins */

typedef struct ck_builtin {
    const char *name;
    uint8_t kind; /* how builtins.c expands it */
    uint8_t min_args, max_args;
    uint16_t op; /* applied per component, for the built-ins that map an ops.def row */
    const char *usage;
} ck_builtin;

extern const ck_builtin ck_builtins[];
extern const size_t ck_builtin_count;

/* ------------------------------------------------------------- symbols */

typedef enum ck_sym_kind {
    CK_SYM_INPUT,
    CK_SYM_CONST,
    CK_SYM_PREV,
    CK_SYM_BUILTIN,
    CK_SYM_REDUCTION, /* built in */
    CK_SYM_PARAM,
    CK_SYM_LET,
    CK_SYM_FN,
    CK_SYM_PICTURE, /* `input pic = image(...)`: called as pic(u, v); id is its index */
    CK_SYM_POISON,  /* declared */
} ck_sym_kind;

/* The input `pos`, vec3(x, y, z): not one ops.def leaf but three. */
#define CK_INPUT_POS 0xffffu

typedef struct ck_sym {
    const char *name;
    ck_sym_kind kind;
    bool defined;         /* declared symbols: their declaration has been processed */
    bool used;            /* declared symbols: some body names it (for W_UNUSED) */
    uint16_t op;          /* CK_SYM_INPUT: an ops.def leaf, or CK_INPUT_POS */
    double imm;           /* CK_SYM_INPUT: its leaf's imm (which audio value) */
    double constant;      /* CK_SYM_CONST */
    const ck_builtin *fn; /* CK_SYM_BUILTIN */
    const ast_decl *decl; /* declared symbols: the first declaration of the name */
    ck_value val;         /* CK_SYM_PARAM, CK_SYM_LET */
    uint32_t id;          /* CK_SYM_FN: identifies it in memo keys */
    uint32_t frame_size;  /* CK_SYM_FN: local slots its body needs */
} ck_sym;

static inline bool ck_is_declared(const ck_sym *s) {
    return s->decl != NULL;
}

/* A string -> pointer map (open addressing, power-of-two size, at most half full). */
typedef struct ck_name_map {
    const char **keys;
    void **vals;
    uint32_t cap, count;
} ck_name_map;

/* ------------------------------------------------------------- checker */

typedef struct ck_local {
    const char *name;
    int32_t slot;
} ck_local;

typedef struct ck_memo_entry ck_memo_entry; /* inline.c */

typedef struct ck_checker {
    arena *a;
    diag_list *d;
    graph *g;
    const ast_program *prog;
    ck_name_map globals;
    const ast_decl *cur_decl;
    const ast_decl *self_reported; /* the declaration whose self-reference was reported */
    /* resolution */
    ck_local *locals; /* reduction variables in scope, innermost last */
    uint32_t nlocals, locals_cap;
    const ck_name_map *fn_params; /* parameters of the fn being resolved */
    uint32_t next_slot, max_slots;
    /* lowering */
    ck_value *stack; /* local slots of the active frames (malloc'd) */
    size_t stack_len, stack_cap;
    uint32_t depth;
    uint64_t steps;
    ck_memo_entry **memo;
    uint32_t memo_cap, memo_count;
    uint32_t *key_buf; /* scratch for memo keys (malloc'd) */
    uint32_t key_cap;
    uint32_t fn_count;
    /* results */
    sky_param_info *params;
    uint32_t param_count, param_slots;
    const ast_decl *first_out;
    ck_value out;
    sky_picture_info *pictures; /* SKY_MAX_PICTURES of them (pictures.c) */
    uint32_t picture_count;
    bool fatal; /* a limit was hit or memory ran out: stop lowering */
    bool nomem;
} ck_checker;

/* The active inlined call: its slots start at `base` in the checker's stack. */
typedef struct ck_frame {
    size_t base;
    const ast_expr *call; /* the call being inlined, NULL at the top level */
} ck_frame;

/* ----------------------------------------------------------------- names.c */

void *ck_map_get(const ck_name_map *m, const char *key);
/* False when memory ran out. */
bool ck_map_put(arena *a, ck_name_map *m, const char *key, void *val);
/* Enters the inputs, constants, built-in functions and reductions; false without memory. */
bool ck_add_builtins(ck_checker *ck);
/* Enters every declared name (first declaration wins), so forward uses can be named. */
bool ck_collect_names(ck_checker *ck);
/* Help for an unknown name or function: a known mistake or "did you mean" (NULL: none). */
const char *ck_suggest_name(ck_checker *ck, const char *name, bool call);

/* --------------------------------------------------------------- resolve.c */

/*
 * Binds every name in a top-level body, whose fn parameters (NULL: none)
 * take the first slots; returns the local slots the body needs.
 */
uint32_t ck_resolve_body(ck_checker *ck, ast_expr *body, const ck_name_map *params,
                         uint32_t nparams);

/* ----------------------------------------------------------------- lower.c */

/* The value of e, in the frame f; CK_ERR after an error. */
ck_value ck_lower(ck_checker *ck, const ck_frame *f, const ast_expr *e);
/* Lowers a top-level body in a fresh frame of `slots` local slots. */
ck_value ck_lower_top(ck_checker *ck, ast_expr *body, uint32_t slots);
/* Reserves n local slots (holding CK_ERR) on the stack; *base is the first. */
bool ck_push_slots(ck_checker *ck, uint32_t n, size_t *base);

/* ---------------------------------------------------------------- inline.c */

/* A call of the user function s: its body inlined with the argument values in its slots. */
ck_value ck_inline_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_sym *s,
                        const ck_value *args);

/* -------------------------------------------------------------- builtins.c */

/* A call of built-in b with lowered arguments; prev(s, l). */
ck_value ck_builtin_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_builtin *b,
                         ck_value *args);
ck_value ck_prev_at_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                         const ck_value *args);

/* ------------------------------------------------------------------ check.c */

/* Binds a declaration's name (reporting reuse); a CK_ERR value poisons it unless a fn. */
void ck_define(ck_checker *ck, const ast_decl *d, ck_sym_kind kind, ck_value val);

/* --------------------------------------------------------------- pictures.c */

/* `input name = image|video|camera("path")`: records the picture, binds the name. */
void ck_check_input(ck_checker *ck, const ast_decl *d);
/* pic(u, v): three pic nodes, one per channel. */
ck_value ck_picture_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_sym *s,
                         const ck_value *args);

/* ----------------------------------------------------------------- types.c */

/* Reports an error; inside an inlined function, a note points at the call. */
bool ck_error(ck_checker *ck, const ck_frame *f, const char *code, uint32_t start, uint32_t end,
              const char *help, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Memory ran out: the checker stops. */
void ck_fail_nomem(ck_checker *ck);
/* A limit was hit: reported at the head of the declaration being lowered; the checker stops. */
void ck_fail_limit(ck_checker *ck, const char *code, const char *help, const char *message);
/* A graph node; GRAPH_NONE (and the checker stops) at the node limit or without memory. */
node_id ck_mk(ck_checker *ck, sky_op op, node_id a, node_id b, node_id c, double imm);
/* Applies op per component over w components (operands broadcast). */
ck_value ck_map_op(ck_checker *ck, sky_op op, int w, const ck_value *args, int nargs, uint8_t type);
/* True for a number (float or vector); a bool is reported at `where`. */
bool ck_need_number(ck_checker *ck, const ck_frame *f, const ast_expr *where, ck_value v,
                    const char *help);
/* True for a float (one number); reports bools and vectors. */
bool ck_need_float(ck_checker *ck, const ck_frame *f, const ast_expr *where, ck_value v,
                   const char *what);
/*
 * The common width of numbers combined component-wise, or 0 after reporting a
 * mismatch "mismatched vector sizes <what_fmt with what_arg>".
 */
int ck_common_width(ck_checker *ck, const ck_frame *f, const ast_expr *where, const ck_value *v,
                    int n, const char *code, const char *what_fmt, const char *what_arg);
/* Finds an input that makes `n` at least `rate`, and names it ("`x`", "the param `speed`"). */
const char *ck_dependency_name(ck_checker *ck, node_id n, uint8_t rate);
/* The highest rate among v's components; *which gets the component that has it. */
uint8_t ck_value_rate(const ck_checker *ck, ck_value v, node_id *which);

/* ------------------------------------------------------------------ warn.c */

/* Warns of params, lets and fns that no body names. */
void ck_warn_unused(ck_checker *ck);

/* ------------------------------------------------- node and value helpers */

static inline node_id ck_mk1(ck_checker *ck, sky_op op, node_id a) {
    return ck_mk(ck, op, a, GRAPH_NONE, GRAPH_NONE, 0);
}
static inline node_id ck_mk2(ck_checker *ck, sky_op op, node_id a, node_id b) {
    return ck_mk(ck, op, a, b, GRAPH_NONE, 0);
}
static inline node_id ck_mk3(ck_checker *ck, sky_op op, node_id a, node_id b, node_id c) {
    return ck_mk(ck, op, a, b, c, 0);
}
static inline node_id ck_const(ck_checker *ck, double v) {
    return ck_mk(ck, OP_CONST, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, v);
}

static inline ck_value ck_scalar(ck_checker *ck, uint8_t type, node_id n) {
    if (ck->fatal || n == GRAPH_NONE) return CK_ERR;
    ck_value v = {type, {n, GRAPH_NONE, GRAPH_NONE}};
    return v;
}

static inline ck_value ck_done(const ck_checker *ck, ck_value v) {
    return ck->fatal ? CK_ERR : v;
}

static inline ck_value ck_map1(ck_checker *ck, sky_op op, ck_value a) {
    return ck_map_op(ck, op, ck_width(a.type), &a, 1, a.type);
}

static inline ck_value ck_map2(ck_checker *ck, sky_op op, ck_value a, ck_value b, int w) {
    ck_value args[2] = {a, b};
    return ck_map_op(ck, op, w, args, 2, ck_vec_type(w));
}

static inline ck_value ck_splat(ck_value v, int w) {
    ck_value out = {ck_vec_type(w), {v.n[0], v.n[0], v.n[0]}};
    return out;
}

/* ------------------------------------------------------------------ words */

static inline const char *ck_arguments_word(uint32_t n) {
    return n == 1 ? "argument" : "arguments";
}

static inline const char *ck_was_were(uint32_t n) {
    return n == 1 ? "was" : "were";
}

#endif

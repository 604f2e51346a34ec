/*
 * names.c - the checker's table of names, and "did you mean".
 *
 * One map from a name to its symbol holds the built-in names (inputs such as
 * `x` and `t`, the constants, the built-in functions, `prev`, the reductions)
 * and every declared name, entered before any body is resolved so that a use
 * before the declaration can be named as such rather than as unknown. An
 * unknown name gets help: a known mistake from another language (`lerp`,
 * `iTime`), a name differing only in case, or the nearest name in scope.
 */
#include <string.h>
#include <strings.h>

#include "audio_leaf.h"
#include "check_int.h"

/* The inputs of the language and the ops that read them (docs/language.md). */
typedef struct input_name {
    const char *name;
    uint16_t op;
} input_name;

static const input_name inputs[] = {
    {"x", OP_X},         {"y", OP_Y},     {"r", OP_R},         {"theta", OP_THETA},
    {"strip", OP_STRIP}, {"led", OP_LED}, {"leds", OP_LEDS},   {"index", OP_INDEX},
    {"t", OP_T},         {"dt", OP_DT},   {"frame", OP_FRAME}, {"strips", OP_STRIPS},
    {"count", OP_COUNT}, {"z", OP_Z},     {"pos", CK_INPUT_POS},
};

static const struct {
    const char *name;
    double value;
} constants[] = {{"pi", CK_PI}, {"tau", 2 * CK_PI}, {"e", CK_E}};

/* ----------------------------------------------------------- name maps */

static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void *ck_map_get(const ck_name_map *m, const char *key) {
    if (!m || !m->cap) return NULL;
    for (uint32_t i = hash_name(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0) return m->vals[i];
    return NULL;
}

bool ck_map_put(arena *a, ck_name_map *m, const char *key, void *val) {
    if ((m->count + 1) * 2 > m->cap) {
        ck_name_map grown = {NULL, NULL, m->cap ? m->cap * 2 : 64, 0};
        grown.keys = arena_alloc(a, grown.cap * sizeof *grown.keys);
        grown.vals = arena_alloc(a, grown.cap * sizeof *grown.vals);
        if (!grown.keys || !grown.vals) return false;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i]) ck_map_put(a, &grown, m->keys[i], m->vals[i]);
        *m = grown;
    }
    uint32_t i = hash_name(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->count++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

/* ------------------------------------------------------- did you mean */

/* Help for names people bring from other languages. */
static const char *known_mistake(const char *name, bool call) {
    static const struct {
        const char *name;
        bool call;
        const char *help;
    } table[] = {
        {"true", false, "there are no boolean literals; write a comparison such as `x > 0`"},
        {"false", false, "there are no boolean literals; write a comparison such as `x > 0`"},
        {"iTime", false, "`t` is the time in seconds"},
        {"audio", false, "`audio` is not a value: " AUDIO_MEMBERS_HELP},
        {"audio", true, "`audio` is not a function: " AUDIO_MEMBERS_HELP},
        {"seconds", false, "`t` is the time in seconds"},
        {"radius", false, "`r` is the distance from the centre"},
        {"angle", false, "`theta` is the angle around the centre, in [0, tau)"},
        {"lerp", true, "use `mix(a, b, t)`"},
        {"saturate", true, "use `clamp(x, 0, 1)`"},
        {"fmod", true, "use `mod(x, y)` (floored)"},
        {"atan2", true, "use `atan(y, x)`"},
        {"rand", true, "use `hash(...)`: a repeatable pseudo-random value in [0, 1)"},
        {"random", true, "use `hash(...)`: a repeatable pseudo-random value in [0, 1)"},
        {"float", true, "all numbers are floats; `floor(x)` drops the fraction"},
        {"int", true, "all numbers are floats; `floor(x)` drops the fraction"},
        {"vec4", true, "colours are `vec3`: use `rgb(r, g, b)`"},
        {"frac", true, "use `fract(x)`"},
        {"sqr", true, "write `x * x` or `x^2`"},
        {"hsl", true, "use `hsv(h, s, v)`"},
        {"perlin", true, "use `noise(p)`"},
        {"simplex", true, "use `noise(p)`"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].call == call && strcmp(table[i].name, name) == 0) return table[i].help;
    return NULL;
}

/* A candidate for "did you mean": exact up to case wins outright. */
static void consider(diag_suggest *s, const char **exact_case, const char *candidate) {
    if (!*exact_case && strcasecmp(candidate, s->name) == 0 && strcmp(candidate, s->name) != 0)
        *exact_case = candidate;
    diag_suggest_consider(s, candidate);
}

/* "did you mean" over what is in scope here: locals, earlier declarations, built-ins. */
const char *ck_suggest_name(ck_checker *ck, const char *name, bool call) {
    if (strncmp(name, "audio.", 6) == 0) return AUDIO_MEMBERS_HELP;
    const char *special = known_mistake(name, call);
    if (special) return special;
    diag_suggest s;
    const char *exact_case = NULL;
    diag_suggest_init(&s, name, strlen(name));
    if (!call) {
        for (uint32_t i = ck->nlocals; i-- > 0;) consider(&s, &exact_case, ck->locals[i].name);
        if (ck->cur_decl->kind == DECL_FN)
            for (uint32_t i = 0; i < ck->cur_decl->nparams; i++)
                consider(&s, &exact_case, ck->cur_decl->params[i]);
    }
    for (const ast_decl *d = ck->prog->decls; d < ck->cur_decl; d++) {
        const ck_sym *decl_sym = d->name ? ck_map_get(&ck->globals, d->name) : NULL;
        if (decl_sym && decl_sym->decl == d && decl_sym->defined &&
            (decl_sym->kind == CK_SYM_FN || decl_sym->kind == CK_SYM_PICTURE) == call)
            consider(&s, &exact_case, d->name);
    }
    if (call) {
        for (size_t i = 0; i < ck_builtin_count; i++)
            consider(&s, &exact_case, ck_builtins[i].name);
        consider(&s, &exact_case, "prev");
    } else {
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
            consider(&s, &exact_case, inputs[i].name);
        for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
            consider(&s, &exact_case, constants[i].name);
        consider(&s, &exact_case, "prev");
    }
    if (exact_case) return diag_fmt(ck->d, "did you mean `%s`?", exact_case);
    return diag_suggest_help(ck->d, &s);
}

/* ------------------------------------------------------------ symbols */

static bool add_builtin_sym(ck_checker *ck, ck_sym proto) {
    ck_sym *s = arena_alloc(ck->a, sizeof *s);
    if (!s) return false;
    *s = proto;
    s->defined = true;
    return ck_map_put(ck->a, &ck->globals, s->name, s);
}

/* The names every pattern starts with; entered before the declared ones. */
bool ck_add_builtins(ck_checker *ck) {
    bool ok = true;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        ok &= add_builtin_sym(
            ck, (ck_sym){.name = inputs[i].name, .kind = CK_SYM_INPUT, .op = inputs[i].op});
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        ok &= add_builtin_sym(ck, (ck_sym){.name = constants[i].name,
                                           .kind = CK_SYM_CONST,
                                           .constant = constants[i].value});
    for (size_t i = 0; i < ck_builtin_count; i++)
        ok &= add_builtin_sym(
            ck,
            (ck_sym){.name = ck_builtins[i].name, .kind = CK_SYM_BUILTIN, .fn = &ck_builtins[i]});
    static const char *const audio_names[] = AUDIO_LEAF_NAMES;
    static const char *const audio_inputs[] = {"audio.level", "audio.bass", "audio.mid",
                                               "audio.treble", "audio.beat", "audio.phase",
                                               "audio.bpm"};
    _Static_assert(sizeof audio_names == sizeof audio_inputs, "one audio input per leaf name");
    for (size_t i = 0; i < sizeof audio_inputs / sizeof audio_inputs[0]; i++)
        ok &= add_builtin_sym(ck, (ck_sym){.name = audio_inputs[i],
                                           .kind = CK_SYM_INPUT,
                                           .op = OP_AUDIO,
                                           .imm = (double)i});
    ok &= add_builtin_sym(ck, (ck_sym){.name = "prev", .kind = CK_SYM_PREV});
    ok &= add_builtin_sym(ck, (ck_sym){.name = "sum", .kind = CK_SYM_REDUCTION});
    ok &= add_builtin_sym(ck, (ck_sym){.name = "product", .kind = CK_SYM_REDUCTION});
    return ok;
}

/* The 3-D inputs came after patterns that use `z` and `pos` as their own names
 * (`let z = ...`): a declaration of either hides the input instead of being an
 * error, so those patterns keep compiling and meaning what they meant. */
static bool ck_input_shadowable(const ck_sym *s) {
    return s->kind == CK_SYM_INPUT && !ck_is_declared(s) &&
           (s->op == OP_Z || s->op == CK_INPUT_POS);
}

/* The first declaration of a name wins; a later one is reported by check.c. */
bool ck_collect_names(ck_checker *ck) {
    for (uint32_t i = 0; i < ck->prog->count; i++) {
        const ast_decl *d = &ck->prog->decls[i];
        const ck_sym *old = d->name ? ck_map_get(&ck->globals, d->name) : NULL;
        if (!d->name || (old && !ck_input_shadowable(old))) continue;
        ck_sym *s = arena_alloc(ck->a, sizeof *s);
        if (!s) return false;
        *s = (ck_sym){.name = d->name, .kind = CK_SYM_POISON, .decl = d, .val = CK_ERR};
        if (!ck_map_put(ck->a, &ck->globals, d->name, s)) return false;
    }
    return true;
}

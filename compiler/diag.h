/*
 * diag.h - diagnostics collected during one compilation.
 *
 * Every phase reports problems here as structured records (severity, stable
 * code, byte span, message, help) kept in the compile's arena. Nothing is
 * printed while compiling: line and column are computed only when the list is
 * copied out into the public sky_diagnostics (sky/sky.h), which keeps the few
 * source lines it needs so that it can be rendered after the source is gone.
 *
 * Cascades are suppressed in two places: the parser stops reporting inside a
 * declaration after its first syntax error (panic mode), and this list drops a
 * second error with the same code at the same position (a generic function
 * inlined at several calls reports its error once). After SKY_MAX_ERRORS
 * errors the list is "stopped": later errors are dropped and the phases give
 * up early; the copy gets a final note saying so.
 */
#ifndef SKY_DIAG_H
#define SKY_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "sky/sky.h"

/*
 * Stable error codes. Never renumber: tools and tests key on them.
 * E01xx lexical, E02xx syntax, E03xx names, E04xx types, E05xx limits,
 * E09xx internal.
 */
#define E_INVALID_UTF8     "E0101"
#define E_NUL_BYTE         "E0102"
#define E_BAD_CHAR         "E0103"
#define E_BAD_NUMBER       "E0104"
#define E_BAD_STRING       "E0105"
#define E_SYNTAX           "E0201"
#define E_CHAINED_COMPARE  "E0202"
#define E_BAD_SWIZZLE      "E0203"
#define E_MISSING_OUT      "E0205"
#define E_SECOND_OUT       "E0206"
#define E_UNKNOWN_NAME     "E0301"
#define E_UNKNOWN_FUNCTION "E0302"
#define E_REDEFINED        "E0303"
#define E_BUILTIN_REUSED   "E0304"
#define E_RECURSION        "E0305"
#define E_USED_BEFORE_DEF  "E0306"
#define E_NOT_CALLABLE     "E0307"
#define E_VECTOR_SIZES     "E0401"
#define E_BOOL_AS_NUMBER   "E0402"
#define E_NUMBER_AS_BOOL   "E0403"
#define E_ARITY            "E0404"
#define E_ARGUMENT_TYPE    "E0405"
#define E_SWIZZLE_TYPE     "E0406"
#define E_BRANCH_TYPES     "E0407"
#define E_OUT_TYPE         "E0408"
#define E_TIME_PER_LED     "E0409"
#define E_FBM_OCTAVES      "E0410"
#define E_PARAM_NOT_CONST  "E0411"
#define E_PARAM_RANGE      "E0412"
#define E_REDUCE_BOUNDS    "E0413"
#define E_PARAM_COLOR      "E0414"
#define E_INPUT_KIND       "E0415"
#define E_LIMIT_SOURCE     "E0501"
#define E_LIMIT_NESTING    "E0502"
#define E_LIMIT_NODES      "E0503"
#define E_LIMIT_ITERATIONS "E0504"
#define E_LIMIT_PARAMS     "E0505"
#define E_LIMIT_WORK       "E0506"
#define E_INTERNAL         "E0901"
/* Warnings: the pattern compiles, but probably not as meant. */
#define W_UNUSED "W0301"
#define W_COSTLY "W0501"

/* No position: the diagnostic is about the whole file (rendered without a source line). */
#define DIAG_NO_POS UINT32_MAX

typedef struct diag_entry {
    sky_severity severity;
    const char *code;    /* NULL for notes */
    uint32_t start, end; /* byte span [start, end), or DIAG_NO_POS */
    const char *message;
    const char *help; /* NULL or a suggestion */
    uint32_t group;   /* index of the error a note belongs to (itself for errors) */
} diag_entry;

typedef struct diag_list {
    arena *a;
    const char *filename;
    const char *src;
    size_t len;
    diag_entry *items;
    uint32_t count, cap;
    uint32_t errors;
    bool last_kept; /* the last error was recorded, so notes may attach to it */
    bool stopped;   /* SKY_MAX_ERRORS reached: later errors are dropped */
    bool nomem;     /* an allocation failed: the compile fails with SKY_ERR_NOMEM */
} diag_list;

void diag_init(diag_list *d, arena *a, const char *filename, const char *src, size_t len);

/*
 * Records an error. `help` (may be NULL) must live in the arena or be static.
 * Returns false when the error was dropped: a duplicate (same code and start),
 * past the error limit, or out of memory.
 */
bool diag_error(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
bool diag_verror(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                 const char *fmt, va_list ap);
/* A note attached to the last error, when that error was recorded. */
/* A warning: reported like an error, but the compilation still succeeds. */
void diag_warning(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void diag_note(diag_list *d, uint32_t start, uint32_t end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True once the error limit is reached or memory ran out: phases stop early. */
bool diag_stopped(const diag_list *d);

/* printf into the arena for help texts; records out-of-memory and returns NULL then. */
char *diag_fmt(diag_list *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The source text of [start, end) for quoting in a message: at most `max`
 * code points (longer text ends with "..."), newlines and control characters
 * replaced by spaces. In the arena; "" when out of memory.
 */
const char *diag_snippet(diag_list *d, uint32_t start, uint32_t end, uint32_t max);

/* ----------------------------------------------------------- did you mean */

/* Picks the closest candidate name by edit distance (Damerau, restricted). */
typedef struct diag_suggest {
    const char *name;
    size_t len;
    unsigned limit; /* largest distance worth suggesting for a name this long */
    const char *best;
    unsigned best_dist;
} diag_suggest;

void diag_suggest_init(diag_suggest *s, const char *name, size_t len);
void diag_suggest_consider(diag_suggest *s, const char *candidate);
/* "did you mean `theta`?" in the arena, or NULL when nothing is close. */
const char *diag_suggest_help(diag_list *d, const diag_suggest *s);
/* Optimal string alignment distance, capped: returns a value > cap as soon as it exceeds cap. */
unsigned diag_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned cap);

/* ------------------------------------------------------------------ UTF-8 */

/* Length (1-4) of the valid UTF-8 sequence at s[0 .. n), storing its code point; 0 if invalid. */
int diag_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* 1-based line and column (in code points, an invalid byte counting as one) of a byte offset. */
void diag_line_col(const char *src, size_t len, uint32_t offset, uint32_t *line, uint32_t *col);

/* ------------------------------------------------------------- copying out */

/* One diagnostic as the public API shows it, with what rendering needs. */
typedef struct diag_shown {
    sky_diag pub;      /* first member: sky_diagnostics_get returns &items[i].pub */
    char *text;        /* the source line (or a window of it), printable; NULL without a position */
    uint32_t caret_at; /* display column (0-based) of the first caret in text */
    uint32_t caret_len;
    bool attached; /* a note that belongs to the diagnostic before it */
} diag_shown;

struct sky_diagnostics {
    diag_shown *items;
    size_t count;
    size_t errors;
};

/*
 * Copies the list into a malloc'd sky_diagnostics in source order (notes stay
 * after their error), adding a final note when errors were dropped at the
 * limit. end_line/end_col give the position of `end`.
 */
sky_status diag_export(const diag_list *d, sky_diagnostics **out);
/* A lone error with no source (used when even the arena cannot be set up). */
sky_diagnostics *diag_export_plain(const char *filename, const char *code, const char *message);
void diag_export_free(sky_diagnostics *diagnostics);
sky_status diag_render(const sky_diagnostics *diagnostics, bool color, char **text);

#endif

/*
 * sky/sky.h - the .sky pattern compiler and its CPU reference evaluator.
 *
 * A .sky file (see docs/language.md) is compiled into an immutable
 * sky_program: a flat, index-based program in two sections, the per-frame
 * section (evaluated once per frame on the host, in double precision) and the
 * per-LED section (evaluated for every LED, on the GPU through the emitted
 * GLSL/SPIR-V, or on the CPU by sky_program_eval_leds).
 *
 * Thread safety: there is no global state. A sky_program is immutable once
 * compiled, so any number of threads may evaluate or emit from one program at
 * the same time. sky_compile may run concurrently in several threads (each
 * call uses its own arena). A sky_diagnostics object belongs to one thread at a
 * time. Every function returns a status; none exits, asserts on input, or
 * longjmps across the API. Freeing NULL is a no-op.
 *
 * Lifetimes, across the installed libraries (the libsky package; pkg-config
 * names in brackets):
 *   libsky [sky, sky-shared]     this header, sky/abi.h
 *   libskyframe [sky-frame]      sky/frame.h, sky/layout.h (no Vulkan)
 *   libskyrt [sky-runtime]       sky/runtime.h (on libsky.so and libskyframe)
 * - Every object is created by a sky_<object>_create (or sky_compile) and
 *   owned by the caller until its sky_<object>_free; every string or array
 *   a function hands out for keeps (GLSL, SPIR-V, IR text, rendered
 *   diagnostics) is the caller's, freed with sky_free.
 * - A pointer a getter returns into an object (sky_diagnostics_get's
 *   entries, sky_program_param's, sky_frame_*_info, the reader's strips and
 *   positions, sky_runtime_frame_bytes) is valid until that object is freed
 *   (or, where its comment says so, changed); copy what must live longer.
 * - Borrowed, not copied: a sky_runtime keeps the sky_layout and the
 *   sky_frame_writer of its options, and the sky_program of
 *   sky_runtime_set_program; each must outlive its use (runtime.h says
 *   until when). Free the runtime before the writer and the layout.
 * - sky_frame_writer_begin's slot pointer is valid until the matching
 *   sky_frame_writer_publish; a reader's copy (sky_frame_reader_read) is the
 *   caller's buffer.
 */
#ifndef SKY_SKY_H
#define SKY_SKY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/export.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SKY_VERSION_MAJOR  0
#define SKY_VERSION_MINOR  1
#define SKY_VERSION_PATCH  0
#define SKY_VERSION_STRING "0.1.0"
/* major * 10000 + minor * 100 + patch: 0.1.0 is 100. */
#define SKY_VERSION_NUMBER (SKY_VERSION_MAJOR * 10000 + SKY_VERSION_MINOR * 100 + SKY_VERSION_PATCH)

/*
 * The version of the libsky that runs ("0.1.0") and its SKY_VERSION_NUMBER;
 * with libsky.so it may differ from the SKY_VERSION_* a program compiled with.
 */
SKY_API const char *sky_version(void);
SKY_API int sky_version_number(void);

/* Limits from the language spec; each one exceeded is a clear error. */
#define SKY_MAX_SOURCE_BYTES (1u << 20)
#define SKY_MAX_NESTING      256
#define SKY_MAX_NODES        65536
#define SKY_MAX_REDUCE_ITERS 256
#define SKY_MAX_PARAMS       64
#define SKY_MAX_ERRORS       20 /* errors reported per compile before giving up */

typedef struct sky_program sky_program;
typedef struct sky_diagnostics sky_diagnostics;
/* The GPU's side of a program, defined in sky/abi.h: the per-LED inputs as
 * the shader reads them, and how a shader is emitted. */
typedef struct sky_led_input sky_led_input;
typedef struct sky_emit_options sky_emit_options;

/* ---------------------------------------------------------------- compile */

typedef struct sky_compile_options {
    int opt_level;     /* 0: no simplification (CSE and rate hoisting still run); 1: default */
    bool verify_graph; /* run the graph verifier after every pass (on in debug builds) */
} sky_compile_options;

/* Fills *options with the defaults (opt_level 1). */
SKY_API void sky_compile_options_init(sky_compile_options *options);

/*
 * Compiles `len` bytes of `source`. `filename` is used in diagnostics only.
 * On success returns SKY_OK and stores the program in *program. On errors in
 * the source returns SKY_ERR_COMPILE and *program is NULL. Diagnostics (errors
 * and warnings) are stored in *diagnostics when it is not NULL, whatever the
 * status; free them with sky_diagnostics_free. `options` may be NULL.
 */
SKY_API sky_status sky_compile(const char *filename, const char *source, size_t len,
                               const sky_compile_options *options, sky_program **program,
                               sky_diagnostics **diagnostics);

SKY_API void sky_program_free(sky_program *program);

/* ------------------------------------------------------------ diagnostics */

typedef enum sky_severity {
    SKY_SEVERITY_ERROR,
    SKY_SEVERITY_WARNING,
    SKY_SEVERITY_NOTE
} sky_severity;

typedef struct sky_diag {
    sky_severity severity;
    const char *code;     /* stable identifier, e.g. "E0101" */
    const char *filename; /* as given to sky_compile */
    uint32_t start, end;  /* byte span [start, end) in the source */
    uint32_t line, col;   /* 1-based; col counts UTF-8 code points */
    uint32_t end_line, end_col;
    const char *message; /* lower-case, no trailing period, code in `backticks` */
    const char *help;    /* NULL or a suggestion ("did you mean `theta`?") */
} sky_diag;

SKY_API size_t sky_diagnostics_count(const sky_diagnostics *diagnostics);
SKY_API size_t sky_diagnostics_error_count(const sky_diagnostics *diagnostics);
/* The i-th diagnostic, in source order; NULL when i is out of range. */
SKY_API const sky_diag *sky_diagnostics_get(const sky_diagnostics *diagnostics, size_t i);
/*
 * Renders every diagnostic as clang/Rust-style text:
 *   file:line:col: error[E0101]: message
 *      |
 *   12 |   let d = abs(rr - ring)
 *      |               ^^
 *      = help: did you mean `r`?
 * With `color`, ANSI colours are used. Stores a NUL-terminated string, to be
 * freed with sky_free, in *text.
 */
SKY_API sky_status sky_diagnostics_render(const sky_diagnostics *diagnostics, bool color,
                                          char **text);
SKY_API void sky_diagnostics_free(sky_diagnostics *diagnostics);

/* Frees memory returned by this library (rendered text, GLSL, SPIR-V, IR). */
SKY_API void sky_free(void *memory);

/* ---------------------------------------------------------- introspection */

typedef enum sky_type {
    SKY_TYPE_FLOAT = 1,
    SKY_TYPE_VEC2 = 2,
    SKY_TYPE_VEC3 = 3,
    SKY_TYPE_BOOL = 4
} sky_type;

typedef struct sky_param_info {
    const char *name;
    sky_type type;   /* float, vec2 or vec3: that many scalar slots */
    uint32_t slot;   /* first index of this param in the params array */
    double value[3]; /* default value, per component */
    bool has_range;  /* `in a..b` was given (float params only) */
    double min, max; /* the range; values set at run time are clamped to it */
    bool color;      /* a vec3 declared `color` (`param tint = rgb(1, 0.5, 0) color`) */
} sky_param_info;

/* Inputs a program reads, as a bit set, for tools and the runtime. */
enum {
    SKY_INPUT_X = 1u << 0,
    SKY_INPUT_Y = 1u << 1,
    SKY_INPUT_R = 1u << 2,
    SKY_INPUT_THETA = 1u << 3,
    SKY_INPUT_STRIP = 1u << 4,
    SKY_INPUT_LED = 1u << 5,
    SKY_INPUT_LEDS = 1u << 6,
    SKY_INPUT_INDEX = 1u << 7,
    SKY_INPUT_PREV = 1u << 8,
    SKY_INPUT_PREV_AT = 1u << 9,
    SKY_INPUT_T = 1u << 10,
    SKY_INPUT_DT = 1u << 11,
    SKY_INPUT_FRAME = 1u << 12,
    SKY_INPUT_STRIPS = 1u << 13,
    SKY_INPUT_COUNT = 1u << 14,
    SKY_INPUT_AUDIO = 1u << 15, /* any `audio.*` */
    SKY_INPUT_Z = 1u << 16,
};

SKY_API size_t sky_program_param_count(const sky_program *program);
SKY_API const sky_param_info *sky_program_param(const sky_program *program, size_t i);
/* Index of the param called `name`, or -1. */
SKY_API long sky_program_param_find(const sky_program *program, const char *name);
/* Scalar slots in the params array (sum of the params' component counts). */
SKY_API size_t sky_program_param_slots(const sky_program *program);
/* Writes the default of every slot into params[0 .. param_slots). */
SKY_API void sky_program_param_defaults(const sky_program *program, double *params);
SKY_API uint32_t sky_program_inputs(const sky_program *program);
/* True when the program reads `prev` or `prev(s, l)`: the runtime keeps the previous frame. */
SKY_API bool sky_program_uses_prev(const sky_program *program);
/* Instruction counts of the two sections, for tools and benchmarks. */
SKY_API size_t sky_program_frame_size(const sky_program *program);
SKY_API size_t sky_program_led_size(const sky_program *program);
/*
 * The optimized program's estimated work per LED per frame, in scalar
 * operations: each per-LED instruction weighted by what its GLSL costs
 * (noise3 400, noise2 160, hash 10-30, sin/exp/pow 10, +-* 1). The examples
 * cost 3 to about 1,500 (docs/run-and-preview.md). Shader compile time and
 * memory grow with it too, since the compiler unrolls everything.
 */
SKY_API uint64_t sky_program_led_cost(const sky_program *program);
/*
 * sky_compile warns (W0501) above this cost. The examples cost 59 (droplet) to
 * 2,036 (clouds, the costliest), measured with sky_program_led_cost; 3x the
 * costliest is far beyond what a pattern usually needs, and already slow to
 * build: fbm(p, 8) twice (6,458) took 13 s in shaderc and 517 MB on an
 * x86-64 core. The runtime refuses to build a pipeline above
 * SKY_LED_COST_MAX, twice that (docs/run-and-preview.md, "Budget").
 */
#define SKY_LED_COST_WARN 6000u
#define SKY_LED_COST_MAX  12000u

/* ----------------------------------------------------------------- emit */

/*
 * The compute shader for the program, per docs/shader-abi.md. `options`
 * (sky/abi.h) may be NULL: the defaults, a shader for any Vulkan 1.1 device.
 * Free *glsl with sky_free.
 */
SKY_API sky_status sky_program_emit_glsl(const sky_program *program,
                                         const sky_emit_options *options, char **glsl, size_t *len);
/*
 * SPIR-V for a Vulkan 1.1 device, through shaderc; `options` as for
 * sky_program_emit_glsl. A shaderc failure on the generated GLSL is an
 * internal compiler error: SKY_ERR_INTERNAL, and when `error` is not NULL it
 * receives a message that includes the GLSL (free with sky_free). Free
 * *words with sky_free.
 */
SKY_API sky_status sky_program_emit_spirv(const sky_program *program,
                                          const sky_emit_options *options, uint32_t **words,
                                          size_t *word_count, char **error);
/* The optimized graph as text, one instruction per line with its rate. Free with sky_free. */
SKY_API sky_status sky_program_emit_ir(const sky_program *program, char **text);

/* ------------------------------------------------------------- evaluate */

/* Where the LEDs are: what the runtime's layouts produce. */
typedef struct sky_layout_view {
    uint32_t led_count;
    uint32_t strip_count;
    const uint32_t *strip_sizes; /* strip_count entries; they sum to led_count */
    const float *xy;             /* led_count (x, y) pairs, in [-1, 1], strip after strip */
    const float *z;              /* led_count z values in [-1, 1], or NULL: all 0 (flat) */
} sky_layout_view;

/*
 * What a pattern reads as `audio.*` (docs/language.md), as libskyaudio's
 * analysis writes it each frame (sky/audio.h, docs/audio.md).
 */
#define SKY_AUDIO_BANDS 16
typedef struct sky_audio_values {
    float level, bass, mid, treble; /* 0..1 after the automatic gain */
    float beat;                     /* 1 at a beat, decaying to 0 */
    float phase;                    /* 0..1 through the beat, 0 without a tempo */
    float bpm;                      /* beats per minute, 0 without a tempo */
    float band[SKY_AUDIO_BANDS];    /* 0..1, log-spaced, low to high */
} sky_audio_values;

typedef struct sky_frame_inputs {
    double t;             /* seconds since the pattern started */
    double dt;            /* seconds since the previous frame, 0 at the first */
    uint64_t frame;       /* frame number, from 0 */
    const double *params; /* sky_program_param_slots values, or NULL for the defaults */
    /* The audio values, or NULL: every `audio.*` reads 0. Last, so that
     * initialisers written before it existed (positional or designated)
     * leave it NULL. */
    const sky_audio_values *audio;
    /* The picture block (sky/picture.h), or NULL: every picture reads black. After
     * `audio` for the same reason. */
    const uint32_t *pictures;
} sky_frame_inputs;

/*
 * Evaluates one frame on the CPU: the per-frame section in double precision,
 * then the per-LED section for every LED in float precision (in sky/abi.h,
 * the two halves are sky_program_eval_frame and sky_program_eval_leds).
 * `inputs` comes from sky_led_inputs_build (sky/abi.h) for the same layout.
 * `prev` is the previous frame's full-precision colour (led_count * 3 floats)
 * or NULL for black. Writes the final colour, each channel made final as the
 * spec says (NaN -> 0, clamp to [0, 1]), into rgb (led_count * 3 floats, may be
 * NULL), and bytes floor(c * 255 + 0.5) into bytes (led_count * 3, may be NULL).
 * Params are clamped to their range.
 */
SKY_API sky_status sky_program_eval(const sky_program *program, const sky_layout_view *layout,
                                    const sky_led_input *inputs, const sky_frame_inputs *frame,
                                    const float *prev, float *rgb, uint8_t *bytes);

#ifdef __cplusplus
}
#endif

#endif

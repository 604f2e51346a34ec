/*
 * sky/abi.h - the GPU's side of a compiled program, for the runtime: the
 * per-LED inputs exactly as the shader reads them, how a shader is emitted
 * (sky_emit_options), and the two halves of an evaluated frame, the per-frame
 * section whose hoisted values the runtime uploads as the shader's uniforms
 * and the per-LED section that the shader runs. docs/shader-abi.md is the
 * shader's side of this contract.
 *
 * An embedder compiling and evaluating on the CPU needs only sky/sky.h and
 * sky_led_inputs_build from here; the rest changes with the shader ABI.
 */
#ifndef SKY_ABI_H
#define SKY_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/export.h"
#include "sky/sky.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ LED inputs */

/*
 * The per-LED inputs as the GPU reads them (binding 1 of the shader ABI):
 * x, y, r = sqrt(x^2 + y^2) and theta = atan2(y, x) wrapped into [0, tau),
 * the last two computed in double precision and rounded once (in the x, y
 * plane also on a 3-D layout), then z (0 on a flat layout). The CPU
 * evaluator uses exactly these values too, so both backends see the same inputs.
 */
struct sky_led_input {
    float x, y, r, theta;
    uint32_t strip, led, leds, strip_first; /* strip_first: index of the strip's first LED */
    float z;
    float reserved[3];                      /* zeros: keeps the std430 stride at 48 bytes */
};

/* Fills inputs[0 .. led_count). Fails on an inconsistent view (sizes not summing). */
SKY_API sky_status sky_led_inputs_build(const sky_layout_view *layout, sky_led_input *inputs);

/* ------------------------------------------------------------------ emit */

/*
 * How sky_program_emit_glsl and sky_program_emit_spirv (sky/sky.h) emit a
 * shader; sky_emit_options_init gives the portable default, as does NULL.
 */
struct sky_emit_options {
    /*
     * Read the LED positions (x, y, r, theta) through the optional binding 6,
     * a uniform texel buffer (docs/shader-abi.md), instead of the storage
     * buffer of binding 1: much faster on llvmpipe (lavapipe). Only for a
     * device and layout that can bind it (sky_runtime_led_texels); off by
     * default, so plain emission suits every Vulkan 1.1 device. With it, a
     * program's pictures are read through binding 9 too (R32_UINT texels of
     * binding 8's buffer), which the runtime provides with binding 6.
     */
    bool led_texels;
};

SKY_API void sky_emit_options_init(sky_emit_options *options);

/*
 * A SPIR-V compiler held across emits. sky_program_emit_spirv starts shaderc
 * for each call, and glslang then builds its built-in tables every time
 * (plasma.sky: 170-210 ms per emit, 25 ms of it the compilation, on an x86-64
 * core); a caller that emits again and again (a live show reloading on every
 * save) keeps one of these. Create and free it on any thread; emits through
 * one compiler must not run at the same time (use one per thread).
 * sky_spirv_compiler_create returns SKY_ERR_NOMEM when shaderc cannot start.
 */
typedef struct sky_spirv_compiler sky_spirv_compiler;
SKY_API sky_status sky_spirv_compiler_create(sky_spirv_compiler **compiler);
SKY_API void sky_spirv_compiler_free(sky_spirv_compiler *compiler);
/* sky_program_emit_spirv through `compiler` (NULL: a compiler for this call only). */
SKY_API sky_status sky_spirv_compiler_emit(sky_spirv_compiler *compiler, const sky_program *program,
                                           const sky_emit_options *options, uint32_t **words,
                                           size_t *word_count, char **error);

/* ------------------------------------------------------------- uniforms */

/* Number of hoisted per-frame values the per-LED section reads (the shader's sky_u[]). */
SKY_API size_t sky_program_uniform_count(const sky_program *program);

/*
 * Runs the per-frame section in double precision and writes the hoisted
 * values, rounded to float, into uniforms[0 .. sky_program_uniform_count).
 * This is what the runtime uploads each frame. Params are clamped to their range.
 * `audio.*` reads frame->audio (zeros when NULL): audio reaches the shader
 * only through these values, so the shader ABI has no audio binding.
 */
SKY_API sky_status sky_program_eval_frame(const sky_program *program, const sky_layout_view *layout,
                                          const sky_frame_inputs *frame, float *uniforms);

/*
 * Runs the per-LED section for every LED on the CPU, in float precision.
 * `prev` is the previous frame's full-precision colour (led_count * 3 floats)
 * or NULL for black. Writes the final colour, each channel made final as the
 * spec says (NaN -> 0, clamp to [0, 1]), into rgb (led_count * 3 floats, may be
 * NULL), and bytes floor(c * 255 + 0.5) into bytes (led_count * 3, may be NULL).
 * `inputs` comes from sky_led_inputs_build for the same layout.
 */
SKY_API sky_status sky_program_eval_leds(const sky_program *program, const sky_layout_view *layout,
                                         const sky_led_input *inputs, const float *uniforms,
                                         const float *prev, float *rgb, uint8_t *bytes);

/* ------------------------------------------------------ the CPU backend */

/*
 * The per-LED inputs as the CPU kernel reads them: structure of arrays, one
 * float column of led_count values per field, in this order (columns[k] is
 * field k). Each row is an (OP_ name in compiler/ops.def, field of
 * sky_led_input): the emitter and sky_cpu_columns_build expand this list,
 * so an input added to both places needs one row here and nothing else.
 */
#define SKY_CPU_INPUTS(ROW) \
    ROW(X, x)               \
    ROW(Y, y)               \
    ROW(R, r)               \
    ROW(THETA, theta)       \
    ROW(STRIP, strip)       \
    ROW(LED, led)           \
    ROW(LEDS, leds)         \
    ROW(Z, z) /* last: kernels built before it keep their column numbers */

typedef enum sky_cpu_input {
#define SKY_CPU_INPUT_ENUM(op, field) SKY_CPU_INPUT_##op,
    SKY_CPU_INPUTS(SKY_CPU_INPUT_ENUM)
#undef SKY_CPU_INPUT_ENUM
    SKY_CPU_INPUT_COUNT
} sky_cpu_input;

/* Fills columns[k * led_count + i] with field k of inputs[i], as a float. */
SKY_API void sky_cpu_columns_build(const sky_led_input *inputs, size_t led_count, float *columns);

/*
 * What one call of an emitted kernel reads and writes. The emitted unit
 * carries the same struct (compiler/emit_c.c) and exports its size and
 * SKY_CPU_ABI_VERSION, which a loader checks before calling it.
 */
#define SKY_CPU_ABI_VERSION 2u
typedef struct sky_cpu_args {
    const float *const *columns; /* SKY_CPU_INPUT_COUNT columns of led_count floats */
    const float *uniforms;       /* sky_program_eval_frame's values */
    const float *prev;           /* 3 floats per LED, zeros before the first frame; unused
                                    without prev */
    float *cur;                  /* written (3 per LED, final) when the program uses prev */
    uint8_t *bytes;              /* 3 per LED: floor(c * 255 + 0.5) of the final colour */
    const uint32_t *strip_first; /* per strip (at least one entry): its first LED */
    const uint32_t *strip_size;  /* per strip (at least one entry): its LED count */
    uint32_t strip_count;
    uint32_t led_count;
    const uint32_t *pictures; /* the picture block (sky/picture.h), with an entry for every
                                 picture the program samples */
} sky_cpu_args;

/* An emitted kernel: LEDs begin .. end - 1 of the frame `args` describes. */
typedef void sky_cpu_kernel_fn(const sky_cpu_args *args, uint32_t begin, uint32_t end);

/*
 * The per-LED section as one C11 translation unit (docs/cpu-backend.md)
 * defining `sky_kernel` (a sky_cpu_kernel_fn) and the exported constants
 * `sky_kernel_abi` and `sky_kernel_args_size`. Its loop over the LEDs has no
 * branches, so `cc -O3 -fopenmp-simd` vectorises it. Free *text with sky_free.
 * SKY_ERR_INTERNAL for a malformed program.
 */
SKY_API sky_status sky_program_emit_c(const sky_program *program, char **text, size_t *len);

#ifdef __cplusplus
}
#endif

#endif

/*
 * sky/runtime.h - libskyrt, the Vulkan runtime: runs a compiled .sky program
 * every frame and publishes the pixels into the shared frame file.
 *
 * Per frame the host evaluates the program's per-frame section
 * (sky_program_eval_frame) into a small buffer, the device runs the per-LED
 * compute shader (docs/shader-abi.md) over every LED of the layout, and the
 * bytes land in the frame file's slot: written by the shader straight into the
 * slot when the device can import host memory (VK_EXT_external_memory_host:
 * zero copies), else copied once from a host-visible buffer. The previous
 * frame is kept on the device at full precision for programs that read `prev`.
 *
 * Without a frame writer the runtime renders into host memory (previews,
 * benchmarks, tests) and sky_runtime_frame_bytes returns the pixels.
 *
 * Typical use:
 *   sky_runtime_options o; sky_runtime_options_init(&o);
 *   o.layout = layout; o.writer = writer;            // writer may be NULL
 *   sky_runtime_create(&o, &rt, err, sizeof err);
 *   sky_runtime_set_program(rt, program, err, sizeof err);
 *   for (;;) sky_runtime_render(rt, t, dt, params, err, sizeof err);
 *   sky_runtime_free(rt);
 *
 * Thread safety: a sky_runtime belongs to one thread at a time, except that
 * sky_runtime_pipeline_build may run on another; distinct runtimes are
 * independent. The one piece of global state is volk's table of
 * loader entry points (instance-level functions, loaded once per process,
 * under a lock); device functions live in a per-runtime table.
 * Every function returns a status and writes a message naming the problem
 * into the caller's buffer (`error`, at most `error_len` bytes, may be NULL).
 * Waits on the device time out (default 2 s) with SKY_ERR_DEVICE_LOST rather
 * than hang; the first frame of a new program may take longer by up to 0.2 ms
 * per word of its SPIR-V, since some drivers (lavapipe) compile the shader at
 * its first dispatch. After SKY_ERR_DEVICE_LOST every call fails the same way: free the
 * runtime and create a new one.
 *
 * Lifetimes: the runtime borrows its options' layout and writer and the
 * program of sky_runtime_set_program (each field's comment says until when);
 * free it first. Installed as libskyrt.a (pkg-config sky-runtime, which
 * links libsky.so and libskyframe.a); the Vulkan loader is opened at run time.
 */
#ifndef SKY_RUNTIME_H
#define SKY_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/abi.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/sky.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable that picks the device when the option is unset. */
#define SKY_DEVICE_ENV "SKY_DEVICE"
/*
 * Set to anything but "" or "0": every runtime (and device listing) runs under
 * the Khronos validation layer with synchronization validation, as with
 * sky_runtime_options.validate (`sky run --validate`).
 */
#define SKY_VALIDATE_ENV "SKY_VULKAN_VALIDATE"
/* For tests only: masks what the devices report down to a device profile (rpi4,
 * orin, minimal, few-buffers, unusable; runtime/vk_profile.c), to exercise the fallbacks. */
#define SKY_DEVICE_PROFILE_ENV "SKY_DEVICE_PROFILE"
/* The message (prefix) for a machine without any usable Vulkan device. */
#define SKY_NO_DEVICE_MESSAGE \
    "no Vulkan device found: install mesa-vulkan-drivers for the CPU device (lavapipe)"

/* ----------------------------------------------------------------- devices */

typedef enum sky_device_type {
    SKY_DEVICE_OTHER = 0,
    SKY_DEVICE_DISCRETE,
    SKY_DEVICE_INTEGRATED,
    SKY_DEVICE_VIRTUAL,
    SKY_DEVICE_CPU,
} sky_device_type;

/* "discrete", "integrated", "virtual", "cpu" or "other". Never NULL. */
const char *sky_device_type_str(sky_device_type type);

typedef struct sky_vk_device_info {
    uint32_t index; /* position in Vulkan's enumeration: what `--device N` takes */
    char name[256];
    sky_device_type type;
    uint32_t api_version;          /* VK_MAKE_API_VERSION encoding */
    uint32_t driver_version;       /* vendor-specific encoding */
    bool has_compute;              /* has a compute queue: usable by the runtime */
    bool has_external_memory_host; /* can import host memory: zero-copy publishing */
    uint64_t min_import_alignment; /* minImportedHostPointerAlignment, 0 without the extension */
    uint32_t max_workgroup_size;   /* min(maxComputeWorkGroupSize[0], ...Invocations) */
    bool chosen;                   /* the device the runtime would pick for the selector given */
} sky_vk_device_info;

/*
 * Lists every Vulkan physical device. `selector` is what --device takes (an
 * index or a case-insensitive name substring; NULL: $SKY_DEVICE, else the
 * best by type, discrete > integrated > virtual > CPU, that has a compute
 * queue) and only decides which entry has `chosen` set; a selector matching
 * nothing leaves every `chosen` false, still returns SKY_OK and writes why into
 * `error` (which is otherwise left empty). Without a
 * Vulkan loader or with no device returns SKY_ERR_NO_DEVICE with
 * SKY_NO_DEVICE_MESSAGE (and the detail) in `error`. Free *devices with
 * sky_free (sky/sky.h), as everything else the libraries allocate.
 */
sky_status sky_vk_list_devices(const char *selector, sky_vk_device_info **devices, size_t *count,
                               char *error, size_t error_len);

/* ----------------------------------------------------------------- runtime */

typedef struct sky_runtime sky_runtime;

/* How the pixels reach their destination; reported by sky_runtime_output_path. */
typedef enum sky_output_path {
    SKY_OUTPUT_HOST = 0,  /* no frame writer: rendered into runtime-owned host memory */
    SKY_OUTPUT_ZERO_COPY, /* the shader writes into the frame file's slots (imported memory) */
    SKY_OUTPUT_COPY,      /* the shader writes a host-visible buffer, copied into the slot */
} sky_output_path;

/* "host", "zero-copy" or "copy". Never NULL. */
const char *sky_output_path_str(sky_output_path path);

typedef struct sky_runtime_options {
    /* Device selector: "N" (index, as `sky devices` lists), a name substring, or
     * "cpu" for the CPU backend (SKY_CPU_DEVICE: compiled C on worker threads,
     * no Vulkan). NULL or "": $SKY_DEVICE when set, else the best device. */
    const char *device;
    /* The LEDs. Required; must outlive the runtime. */
    const sky_layout *layout;
    /* Publish every frame here (its led_count must match the layout's), or
     * NULL to render into host memory. Must outlive the runtime; the runtime
     * is then its only user (it calls begin/publish). */
    sky_frame_writer *writer;
    /* Frames submitted to the device before the oldest is waited for: 1 or 2
     * (0: 2). sky_runtime_render always completes its frame; this only matters
     * with sky_runtime_submit. With zero-copy publishing the frame writer has
     * one frame open at a time, so one frame is on the device at a time (the
     * next frame's per-frame evaluation still overlaps it). */
    uint32_t frames_in_flight;
    /* Work-group size (specialization constant 0); 0: 64. Clamped to the device limit. */
    uint32_t local_size;
    /* Never import the frame file's memory, even where the device can: forces
     * SKY_OUTPUT_COPY (for tests and for measuring the difference). */
    bool force_copy;
    /* Longest wait for the device before reporting SKY_ERR_DEVICE_LOST; 0: 2000 ms. Counted
     * while this process runs: a stall of the whole process or host does not count. */
    uint32_t wait_timeout_ms;
    /* The CPU backend's threads (device "cpu"), the caller's included; 0: one per core. */
    uint32_t cpu_threads;
    /* Run under the Khronos validation layer (VK_LAYER_KHRONOS_validation, Debian's
     * vulkan-validationlayers) with synchronization validation: every warning and error
     * it reports is printed on stderr and counted (sky_runtime_validation_messages).
     * Slow; for a device that misbehaves. Also on when $SKY_VULKAN_VALIDATE is set.
     * Without the layer installed, create fails with SKY_ERR_VULKAN saying so. */
    bool validate;
    /* Words of picture block (sky/picture.h) the runtime can hold for patterns with picture
     * inputs (sky_runtime_set_pictures); 0: none (pictures sample black). The Vulkan runtime
     * makes four buffers of this size at create: one per frame parity for each of the two
     * patterns of a crossfade (sky_runtime_set_incoming_pictures). */
    size_t picture_words;
} sky_runtime_options;

/* Fills *options with the defaults (everything 0/NULL). */
void sky_runtime_options_init(sky_runtime_options *options);

/*
 * Picks the device, creates the Vulkan objects, uploads the LED inputs and the
 * strip table, clears `prev` to 0 and, with a frame writer, maps its slots for
 * the device. No program is set yet: sky_runtime_render fails until
 * sky_runtime_set_program succeeds. SKY_ERR_NO_DEVICE (message starting with
 * SKY_NO_DEVICE_MESSAGE, or naming the selector that matched nothing, or what
 * the device lacks and the first device that has it), SKY_ERR_LIMIT when the
 * layout has more LEDs than the device's maxStorageBufferRange holds (the
 * message gives the most it can run), SKY_ERR_INVALID_ARG, SKY_ERR_VULKAN or
 * SKY_ERR_NOMEM otherwise. Every choice it makes (zero-copy or copy, texel
 * positions, the work-group size) follows what the device reports.
 */
sky_status sky_runtime_create(const sky_runtime_options *options, sky_runtime **runtime,
                              char *error, size_t error_len);

/* Waits (with the timeout) for frames in flight, publishes them, frees everything. NULL is a no-op.
 */
void sky_runtime_free(sky_runtime *runtime);

/*
 * Makes `program` the one rendered from the next submitted frame on. The new
 * pipeline is built first (SPIR-V from sky_program_emit_spirv); only when that
 * succeeded is it swapped in, so a failure leaves the old program running and
 * no frame is dropped either way. Frames already in flight finish with the old
 * program. The program must stay alive until it is replaced and the frames
 * using it are complete (the next sky_runtime_render or sky_runtime_finish
 * after the replacement), or until sky_runtime_free.
 * The frame counter the program sees (`frame`) restarts at 0. `prev` is kept
 * across a swap when both programs use it (a continuous picture) and cleared
 * to 0 when the new program uses it and the old one did not.
 * A program whose sky_program_led_cost exceeds SKY_LED_COST_MAX is refused
 * with SKY_ERR_LIMIT before anything is built (the budget of a build).
 */
sky_status sky_runtime_set_program(sky_runtime *runtime, const sky_program *program, char *error,
                                   size_t error_len);

/*
 * sky_runtime_set_program with the program's SPIR-V already emitted by
 * sky_program_emit_spirv (which is thread-safe), e.g. on a background thread:
 * the swap then costs only the pipeline build, not the GLSL compilation.
 * `words` need only stay valid during the call. Same rules otherwise.
 */
sky_status sky_runtime_set_program_spirv(sky_runtime *runtime, const sky_program *program,
                                         const uint32_t *words, size_t word_count, char *error,
                                         size_t error_len);

/*
 * sky_runtime_set_program_spirv in two halves, so that the slow half runs off
 * the render thread. sky_runtime_pipeline_build creates the pipeline and its
 * command buffers (vkCreateComputePipelines: 45-55 ms for clouds.sky on
 * lavapipe), then dispatches it once (one work group: its first LEDs) into
 * scratch buffers with the show's buffer sizes and bindings (its per-frame
 * values at t = 0 with default params; nothing the show reads or publishes
 * changes) and waits for that, within the runtime's wait timeout plus the
 * first-frame compile allowance: drivers that compile a shader at its first
 * dispatch (lavapipe: ~50 ms for plasma.sky on the 103,680-LED disc without
 * Mesa's shader cache) do it there, not at the show's first frame after the
 * swap. A pattern whose warm-up does not finish in time is refused with
 * SKY_ERR_LIMIT, as is one whose per-frame evaluation fails. It does not
 * measure a whole frame: how fast the pattern runs is the caller's to check
 * (`sky run` runs a trial frame in its build process). It may be called on another thread while the runtime's
 * own thread renders (builds from several threads run their warm-ups one at a
 * time): it reads only what is fixed at create, builds objects of its own (a
 * command pool per pipeline) and submits under the runtime's queue lock. The
 * device still runs the warm-up between the show's frames: on a device with
 * one queue (lavapipe) the show's frames submitted meanwhile wait for it (and
 * their wait limit grows by the warm-up's, so a long compile does not end the
 * show).
 * sky_runtime_set_pipeline then swaps it in on the runtime's thread at once,
 * with set_program's rules, and takes the pipeline whatever it returns. A
 * pipeline never set is freed with sky_runtime_pipeline_free (before the
 * runtime). `program` must live as long as for set_program; the cost budget
 * applies.
 */
typedef struct sky_runtime_pipeline sky_runtime_pipeline;
sky_status sky_runtime_pipeline_build(sky_runtime *runtime, const sky_program *program,
                                      const uint32_t *words, size_t word_count,
                                      sky_runtime_pipeline **pipeline, char *error,
                                      size_t error_len);
sky_status sky_runtime_set_pipeline(sky_runtime *runtime, sky_runtime_pipeline *pipeline,
                                    char *error, size_t error_len);
void sky_runtime_pipeline_free(sky_runtime *runtime, sky_runtime_pipeline *pipeline);

/* ------------------------------------------------------------ show controls */

/*
 * The master dimmer: every byte published from the next submitted frame on is
 * the final colour times `level` (clamped to [0, 1]; 1 after create), applied
 * on the device after the final channel rule (docs/shader-abi.md): the byte
 * b becomes floor(b * level + 0.5), within 1 of the colour times level. What a
 * pattern reads as `prev` stays its own undimmed colour, so dimming never
 * changes how a pattern evolves. 0 is a blackout; 1 costs nothing (below 1 a
 * post pass over the output runs on the device). A NaN level is
 * SKY_ERR_INVALID_ARG and changes nothing.
 */
sky_status sky_runtime_set_brightness(sky_runtime *runtime, double level, char *error,
                                      size_t error_len);

/*
 * Freeze: publishes the newest completed frame again as a new frame (the frame
 * counter advances, so readers see a live writer and the driver's heartbeat
 * check is satisfied) without running any pattern; `prev` and the pattern's
 * own frame counter do not move. With the brightness changed since, the held
 * picture is dimmed accordingly (the undimmed picture is kept, so holding at
 * 0.2 and then at 1 shows it at full brightness again). Runs on the host, no
 * dispatch (about one copy of the frame); completes frames still in flight
 * first. sky_runtime_frame_bytes then returns the held bytes;
 * sky_runtime_get_stats counts rendered frames only. Fails before the first
 * frame (SKY_ERR_INVALID_ARG). To end a freeze, render again.
 */
sky_status sky_runtime_render_hold(sky_runtime *runtime, char *error, size_t error_len);

/*
 * A crossfade frame. Renders the current program (at t, dt, params) and
 * `incoming`, a pipeline from sky_runtime_pipeline_build (at its own t_in,
 * dt_in, params_in), both on the device in the same frame, and publishes
 * mix(current, incoming, amount) per channel, blended on the device
 * (amount clamped to [0, 1]: 0 shows the current pattern, 1 the incoming;
 * the blend is of the bytes, within 1/255 of the blend of the colours), then
 * dimmed by the brightness. Each pattern keeps its own `prev` (its own
 * undimmed, unblended colours) and its own frame counter: the incoming one
 * starts at frame 0 reading black as `prev` at its first mix frame. One
 * incoming pattern at a time: mixing a pipeline other than the one mixed
 * last starts that one afresh (frame 0, black) and the earlier one's state is
 * lost. Plain frames (sky_runtime_render) and holds between mix frames are
 * allowed and do not disturb the incoming pattern's state. The runtime does
 * not take `incoming`: end the fade with sky_runtime_set_pipeline(incoming),
 * which then keeps the `prev` and frame counter it had in the mix (when it
 * was the pipeline mixed last) and the pictures set for it with
 * sky_runtime_set_incoming_pictures, or abort it with sky_runtime_pipeline_free
 * (after this call returns, no frame in flight uses it) and go on rendering
 * the current program. Completes the frame (and any still in flight) like
 * sky_runtime_render. SKY_ERR_INVALID_ARG for a NULL `incoming`, one built
 * for another runtime, a NaN amount, or no current program.
 */
sky_status sky_runtime_render_mix(sky_runtime *runtime, double t, double dt, const double *params,
                                  sky_runtime_pipeline *incoming, double t_in, double dt_in,
                                  const double *params_in, double amount, char *error,
                                  size_t error_len);

/*
 * Starts the current program over: the next frame is its frame 0 and reads
 * black as `prev` (as after set_program of a new program). Frames already in
 * flight are not affected. For restarting a pattern and for tests.
 */
sky_status sky_runtime_restart(sky_runtime *runtime, char *error, size_t error_len);

/*
 * The `audio.*` values of the frames rendered from now on (sky/audio.h makes
 * them): copied, so `values` need not outlive the call. NULL, and the state
 * of a new runtime, reads every `audio.*` as 0. They reach the shader as
 * hoisted per-frame values (docs/shader-abi.md), through both backends.
 */
void sky_runtime_set_audio(sky_runtime *runtime, const sky_audio_values *values);

/*
 * Renders one frame at time `t` (seconds since the pattern started), `dt`
 * seconds after the previous one, with `params` (sky_program_param_slots
 * values, clamped to their ranges; NULL: the defaults), and waits until it is
 * complete: published into the frame writer, or ready in host memory.
 * Equivalent to sky_runtime_submit then sky_runtime_finish.
 */
sky_status sky_runtime_render(sky_runtime *runtime, double t, double dt, const double *params,
                              char *error, size_t error_len);

/*
 * Starts one frame without waiting for it. When frames_in_flight frames are
 * already in flight, the oldest is first waited for and completed (published),
 * so a loop of submits keeps the device busy with at most that many frames.
 */
sky_status sky_runtime_submit(sky_runtime *runtime, double t, double dt, const double *params,
                              char *error, size_t error_len);

/* Waits for every frame in flight and completes them in order. */
sky_status sky_runtime_finish(sky_runtime *runtime, char *error, size_t error_len);

/*
 * The pictures that the current pattern samples in frames from the next
 * submitted one on: a picture block (sky/picture.h, e.g. from
 * sky_pictures_update), borrowed until the next call, the end of a crossfade
 * (below) or sky_runtime_free, or NULL (every picture black). The Vulkan
 * runtime copies it into the device buffer of each frame parity once per call
 * (so once per new video frame, never per LED or per frame otherwise); the CPU
 * backend reads it in place. Only the current pattern reads it: in a crossfade
 * (sky_runtime_render_mix) the incoming pattern samples its own pictures,
 * sky_runtime_set_incoming_pictures. Switching programs (set_program,
 * set_pipeline other than ending a crossfade) keeps the block; set the new
 * pattern's. SKY_ERR_LIMIT when the block is larger than
 * sky_runtime_options.picture_words, SKY_ERR_INVALID_ARG for a block that is
 * not one.
 */
sky_status sky_runtime_set_pictures(sky_runtime *runtime, const uint32_t *block, char *error,
                                    size_t error_len);

/*
 * The pictures that the incoming pattern of a crossfade (sky_runtime_render_mix)
 * samples from the next mix frame on, as sky_runtime_set_pictures is for the
 * current one (same checks, errors and copies; NULL, the state of a new
 * runtime: every picture black). Set them before a fade's first mix frame:
 * a new incoming pipeline does not reset them. Ending the fade with
 * sky_runtime_set_pipeline(incoming) on the pipeline mixed last makes this
 * block the current pattern's pictures, without a new copy (the Vulkan
 * runtime's buffers go with the pattern, as its `prev` does): the caller then
 * keeps it updated with sky_runtime_set_pictures, and the outgoing pattern's
 * block is let go (it may be freed once that call returns), leaving the
 * incoming pictures NULL. Borrowed until the next call, that end of the fade
 * or sky_runtime_free: a caller that aborts a fade sets NULL (or the next
 * fade's block) before freeing it.
 */
sky_status sky_runtime_set_incoming_pictures(sky_runtime *runtime, const uint32_t *block,
                                             char *error, size_t error_len);

/*
 * The bytes (led_count * 3, RGB, LED after LED) of the newest completed frame,
 * or NULL before the first and while frames are in flight (after
 * sky_runtime_submit, until sky_runtime_finish). In the zero-copy and copy
 * paths this points into the frame file's slot. Valid until the next submit or
 * render.
 */
const uint8_t *sky_runtime_frame_bytes(const sky_runtime *runtime, size_t *len);

/*
 * The full-precision colours (led_count * 3 floats, in [0, 1]) of the newest
 * completed frame: what the next frame reads as `prev`. NULL when the program
 * does not use prev (the shader then does not write them), before the first
 * frame, while frames are in flight, or when the device keeps them in memory
 * the host cannot map.
 * Valid until the next submit or render.
 */
const float *sky_runtime_frame_floats(const sky_runtime *runtime, size_t *count);

/* Frames completed since create (the frame file's newest frame number, when publishing). */
uint64_t sky_runtime_frame_count(const sky_runtime *runtime);

typedef struct sky_runtime_stage {
    uint64_t last_ns;  /* the newest frame's time in this stage */
    uint64_t total_ns; /* sum over `frames` frames */
    uint64_t max_ns;
} sky_runtime_stage;

typedef struct sky_runtime_stats {
    uint64_t frames;           /* frames completed */
    sky_runtime_stage eval;    /* host: sky_program_eval_frame and the upload of its values */
    sky_runtime_stage submit;  /* host: writer begin (zero-copy) and vkQueueSubmit */
    sky_runtime_stage wait;    /* host blocked waiting for the device */
    sky_runtime_stage publish; /* host: copy into the slot (copy path) and the seqlock publish */
    sky_runtime_stage latency; /* from the start of submit to the end of publish, per frame */
    sky_output_path path;
} sky_runtime_stats;

void sky_runtime_get_stats(const sky_runtime *runtime, sky_runtime_stats *stats);
/* Zeroes the counters (e.g. after a warm-up). */
void sky_runtime_reset_stats(sky_runtime *runtime);

sky_output_path sky_runtime_output_path(const sky_runtime *runtime);
/* Why that path: e.g. why zero-copy was not possible ("the device lacks ..."). Never NULL. */
const char *sky_runtime_output_reason(const sky_runtime *runtime);
const char *sky_runtime_device_name(const sky_runtime *runtime);
sky_device_type sky_runtime_device_type(const sky_runtime *runtime);
/* True when this runtime binds the optional binding 6 (LED positions as texels). */
bool sky_runtime_led_texels(const sky_runtime *runtime);
/*
 * The emit options for shaders this runtime will run: the fastest variant its
 * device and layout can bind. Use them with sky_program_emit_spirv when
 * compiling for sky_runtime_set_program_spirv (set_program does it itself).
 */
void sky_runtime_emit_options(const sky_runtime *runtime, sky_emit_options *options);
/* The work-group size in use, after clamping to the device. */
uint32_t sky_runtime_local_size(const sky_runtime *runtime);
/* Whether the runtime runs under the validation layer (the option or $SKY_VULKAN_VALIDATE). */
bool sky_runtime_validating(const sky_runtime *runtime);
/* Validation warnings and errors the layer reported for this runtime so far (0 without it). */
uint64_t sky_runtime_validation_messages(const sky_runtime *runtime);
/* The same over every runtime and device listing of this process so far. */
uint64_t sky_vk_validation_messages(void);

/* ------------------------------------------------------- the CPU backend */

/*
 * The device selector ("--device cpu") of the CPU backend (docs/cpu-backend.md):
 * the program's per-LED section as vectorised C (sky_program_emit_c),
 * compiled by the system's C compiler, run by a pool of threads.
 */
#define SKY_CPU_DEVICE "cpu"

/*
 * The default rule of `sky run`, `sky preview` and `sky bench` when neither
 * --device nor $SKY_DEVICE names a device: a Vulkan device that is not a CPU
 * (discrete, integrated, virtual) when there is one (NULL: the runtime's own
 * choice); otherwise the CPU backend when a C compiler is installed, since it
 * runs the same patterns several times faster than lavapipe
 * (docs/performance.md); otherwise NULL (lavapipe, or no device at all).
 * With $SKY_VULKAN_VALIDATE or $SKY_DEVICE_PROFILE set, NULL: both are about Vulkan.
 * Lists the Vulkan devices and runs `cc --version`: a few milliseconds.
 * sky_runtime_create's own default, without a selector, stays Vulkan's.
 */
const char *sky_runtime_default_device(void);

/*
 * A compiled kernel. sky_cpu_kernel_build emits the C, compiles it with `cc`
 * ($SKY_CC to name another) into $XDG_CACHE_HOME/skyscreen (else
 * ~/.cache/skyscreen) unless an object for the same text, flags and compiler
 * is there already (*cached true, may be NULL), and loads it. No C compiler:
 * SKY_ERR_NO_DEVICE, saying so. Thread-safe. sky_cpu_kernel_run runs LEDs
 * begin .. end - 1; a kernel may run on many threads at once.
 */
typedef struct sky_cpu_kernel sky_cpu_kernel;
/* True when the C compiler (`cc`, or $SKY_CC) runs; sky_cpu_compiler names it. */
bool sky_cpu_compiler_available(void);
const char *sky_cpu_compiler(void);
/* The flags every kernel is compiled with, space-separated (docs/cpu-backend.md). */
const char *sky_cpu_compiler_flags(void);
sky_status sky_cpu_kernel_build(const sky_program *program, sky_cpu_kernel **kernel, bool *cached,
                                char *error, size_t error_len);
void sky_cpu_kernel_run(const sky_cpu_kernel *kernel, const sky_cpu_args *args, uint32_t begin,
                        uint32_t end);
void sky_cpu_kernel_free(sky_cpu_kernel *kernel);

/*
 * Worker threads that split each frame's LEDs between them: `threads` in all,
 * the caller's included (0: one per online core, sky_cpu_threads_default).
 * sky_cpu_pool_run returns when every LED of `args` is written. One run at a
 * time per pool.
 */
typedef struct sky_cpu_pool sky_cpu_pool;
uint32_t sky_cpu_threads_default(void);
sky_status sky_cpu_pool_create(uint32_t threads, sky_cpu_pool **pool, char *error,
                               size_t error_len);
uint32_t sky_cpu_pool_threads(const sky_cpu_pool *pool);
void sky_cpu_pool_run(sky_cpu_pool *pool, const sky_cpu_kernel *kernel, const sky_cpu_args *args);
void sky_cpu_pool_free(sky_cpu_pool *pool);

#ifdef __cplusplus
}
#endif

#endif

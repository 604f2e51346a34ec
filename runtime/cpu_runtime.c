/*
 * cpu_runtime.c - the sky_runtime API on the CPU backend: per frame the host
 * evaluates the per-frame section (sky_program_eval_frame, exactly what a GPU
 * gets), then the worker pool runs the compiled kernel over every LED,
 * writing the bytes straight into the frame file's slot (zero copy) and the
 * full-precision colours into this pattern's `prev` pair.
 *
 * The show controls follow the Vulkan runtime's rules (sky/runtime.h): below
 * full brightness or in a crossfade each pattern writes a byte layer of its
 * own and the post formula of docs/shader-abi.md blends and dims them; the
 * incoming pattern of a crossfade has its own prev pair and frame counter; a
 * hold republishes the newest undimmed picture. Kernels are built off the
 * render thread (cpurt_pipeline_build: cc or the cache) and swapped at a
 * frame boundary, so a reload never stalls a frame.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cpu_runtime.h"
#include "vk_internal.h"

enum { CPURT_CURRENT = 0, CPURT_INCOMING = 1 };

struct cpurt_pipeline {
    const sky_program *program;
    bool uses_prev; /* read at build: the old program may be gone by the time it is replaced */
    sky_cpu_kernel *kernel;
    uint64_t id;    /* from 1, unique in its runtime: what mix_owner names */
    uint64_t frame; /* its frame counter */
};

struct cpurt {
    sky_audio_values audio; /* cpurt_set_audio; read when has_audio */
    bool has_audio;
    const sky_layout *layout;
    sky_layout_view view;
    sky_frame_writer *writer;
    size_t channels; /* led_count * 3 */
    sky_cpu_pool *pool;
    float *columns;
    const float *column_ptrs[SKY_CPU_INPUT_COUNT];
    uint32_t *strip_first, *strip_size;

    cpurt_pipeline *current;
    float *prev[2][2]; /* [pair][side]: a frame reads side 1 - w and writes side w */
    uint32_t prev_w[2];
    uint32_t cur_pair;  /* the current pattern's pair; the incoming one has the other */
    uint64_t mix_owner; /* the pipeline whose state the other pair holds */
    uint64_t pipeline_ids;
    float *uniforms;
    /* [pair]: the picture block its pattern reads in place (sky_runtime_set_pictures for the
     * current pattern, sky_runtime_set_incoming_pictures for the incoming one), or NULL */
    const uint32_t *pictures[2];

    uint8_t *host;     /* no writer: the output */
    uint8_t *layer[2]; /* [role]: undimmed bytes for the post formula */
    uint8_t *held;     /* the newest undimmed picture, for holds */
    bool held_valid, has_picture;
    float brightness;

    const uint8_t *last_bytes;
    const float *last_floats;
    uint64_t completed;
    sky_runtime_stats stats;
    char name[96];
};

static void cpurt_error(char *error, size_t error_len, const char *fmt, const char *arg) {
    if (error && error_len) snprintf(error, error_len, fmt, arg);
}

static uint64_t cpurt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpurt_stage(sky_runtime_stage *s, uint64_t ns) {
    s->last_ns = ns;
    s->total_ns += ns;
    if (ns > s->max_ns) s->max_ns = ns;
}

bool cpurt_selected(const char *device) {
    const char *d = device && *device ? device : getenv(SKY_DEVICE_ENV);
    return d && strcasecmp(d, SKY_CPU_DEVICE) == 0;
}

const char *sky_runtime_default_device(void) {
    /* Validation ($SKY_VULKAN_VALIDATE) and device profiles ($SKY_DEVICE_PROFILE) are
     * about a Vulkan device: with either set, the rule keeps to Vulkan. */
    const char *profile = getenv(SKY_DEVICE_PROFILE_ENV);
    if (vkrt_validation_wanted(false) || (profile && profile[0])) return NULL;
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    bool gpu = false;
    if (sky_vk_list_devices(NULL, &devices, &count, NULL, 0) == SKY_OK)
        for (size_t i = 0; i < count; i++)
            gpu |= devices[i].has_compute && devices[i].type != SKY_DEVICE_CPU;
    sky_free(devices);
    return !gpu && sky_cpu_compiler_available() ? SKY_CPU_DEVICE : NULL;
}

/* ------------------------------------------------------------- create */

static sky_status cpurt_alloc(cpurt *c) {
    uint32_t n = c->view.led_count, s = c->view.strip_count;
    sky_led_input *inputs = calloc(n, sizeof *inputs);
    c->columns = calloc((size_t)n * SKY_CPU_INPUT_COUNT, sizeof *c->columns);
    c->strip_first = calloc((size_t)s + 1, sizeof *c->strip_first);
    c->strip_size = calloc((size_t)s + 1, sizeof *c->strip_size);
    c->uniforms = calloc(SKY_MAX_NODES, sizeof *c->uniforms);
    bool ok = inputs && c->columns && c->strip_first && c->strip_size && c->uniforms;
    for (int p = 0; p < 2 && ok; p++)
        for (int w = 0; w < 2 && ok; w++) ok = (c->prev[p][w] = calloc(c->channels, sizeof(float)));
    for (int r = 0; r < 2 && ok; r++) ok = (c->layer[r] = malloc(c->channels));
    ok = ok && (c->held = malloc(c->channels));
    ok = ok && (c->writer || (c->host = calloc(c->channels, 1)));
    sky_status st = ok ? sky_led_inputs_build(&c->view, inputs) : SKY_ERR_NOMEM;
    if (st == SKY_OK) {
        sky_cpu_columns_build(inputs, n, c->columns);
        for (int k = 0; k < SKY_CPU_INPUT_COUNT; k++)
            c->column_ptrs[k] = c->columns + (size_t)k * n;
        for (uint32_t i = 0, at = 0; i < s; i++) {
            c->strip_first[i] = at;
            c->strip_size[i] = c->view.strip_sizes[i];
            at += c->strip_size[i];
        }
    }
    free(inputs);
    return st;
}

sky_status cpurt_create(const sky_runtime_options *o, cpurt **out, char *error, size_t error_len) {
    cpurt *c = calloc(1, sizeof *c);
    if (!c) return SKY_ERR_NOMEM;
    c->layout = o->layout;
    c->view = (sky_layout_view){o->layout->led_count, o->layout->strip_count,
                                o->layout->strip_sizes, o->layout->xy, o->layout->z};
    c->writer = o->writer;
    c->channels = (size_t)c->view.led_count * 3;
    c->brightness = 1.0f;
    sky_status st = cpurt_alloc(c);
    if (st != SKY_OK)
        cpurt_error(error, error_len, "CPU backend: %s for the LED inputs",
                    st == SKY_ERR_NOMEM ? "out of memory" : "an inconsistent layout");
    if (st == SKY_OK) st = sky_cpu_pool_create(o->cpu_threads, &c->pool, error, error_len);
    if (st != SKY_OK) {
        cpurt_free(c);
        return st;
    }
    snprintf(c->name, sizeof c->name, "CPU backend (%u threads)", sky_cpu_pool_threads(c->pool));
    c->stats.path = cpurt_output_path(c);
    *out = c;
    return SKY_OK;
}

void cpurt_free(cpurt *c) {
    if (!c) return;
    sky_cpu_pool_free(c->pool);
    cpurt_pipeline_free(c->current);
    for (int p = 0; p < 2; p++)
        for (int w = 0; w < 2; w++) free(c->prev[p][w]);
    for (int r = 0; r < 2; r++) free(c->layer[r]);
    free(c->held);
    free(c->host);
    free(c->columns);
    free(c->strip_first);
    free(c->strip_size);
    free(c->uniforms);
    free(c);
}

/* ------------------------------------------------------------ programs */

sky_status cpurt_pipeline_build(cpurt *c, const sky_program *program, cpurt_pipeline **out,
                                char *error, size_t error_len) {
    cpurt_pipeline *p = calloc(1, sizeof *p);
    if (!p) return SKY_ERR_NOMEM;
    sky_status st = sky_cpu_kernel_build(program, &p->kernel, NULL, error, error_len);
    if (st != SKY_OK) {
        free(p);
        return st;
    }
    p->program = program;
    p->uses_prev = sky_program_uses_prev(program);
    p->id = __atomic_add_fetch(&c->pipeline_ids, 1, __ATOMIC_RELAXED);
    *out = p;
    return SKY_OK;
}

void cpurt_pipeline_free(cpurt_pipeline *p) {
    if (!p) return;
    sky_cpu_kernel_free(p->kernel);
    free(p);
}

static void cpurt_clear_pair(cpurt *c, uint32_t pair) {
    memset(c->prev[pair][0], 0, c->channels * sizeof(float));
    memset(c->prev[pair][1], 0, c->channels * sizeof(float));
}

sky_status cpurt_set_pipeline(cpurt *c, cpurt_pipeline *p, char *error, size_t error_len) {
    (void)error;
    (void)error_len;
    if (p->id == c->mix_owner && c->current) {
        /* the end of a crossfade: the incoming pattern keeps its prev, frame counter and
         * pictures; the outgoing one's block, about to be freed by the caller, is let go */
        c->cur_pair ^= 1u;
        c->pictures[1u - c->cur_pair] = NULL;
    } else {
        bool keep = c->current && c->current->uses_prev && p->uses_prev;
        if (!keep) cpurt_clear_pair(c, c->cur_pair);
        p->frame = 0;
    }
    c->mix_owner = 0;
    cpurt_pipeline_free(c->current);
    c->current = p;
    return SKY_OK;
}

sky_status cpurt_restart(cpurt *c, char *error, size_t error_len) {
    (void)error;
    (void)error_len;
    if (c->current) c->current->frame = 0;
    cpurt_clear_pair(c, c->cur_pair);
    return SKY_OK;
}

void cpurt_set_audio(cpurt *c, const sky_audio_values *values) {
    c->has_audio = values != NULL;
    if (values) c->audio = *values;
}

/* ------------------------------------------------------------ pictures */

/* Every picture absent: what a kernel reads without a block that covers its pictures. */
static const uint32_t
    cpurt_no_pictures[SKY_PICTURE_HEADER_WORDS + SKY_MAX_PICTURES * SKY_PICTURE_ENTRY_WORDS] = {
        SKY_MAX_PICTURES, SKY_PICTURE_HEADER_WORDS + SKY_MAX_PICTURES *SKY_PICTURE_ENTRY_WORDS,
        SKY_PICTURE_MAGIC};

sky_status cpurt_set_pictures(cpurt *c, bool incoming, const uint32_t *block, char *error,
                              size_t error_len) {
    (void)error;
    (void)error_len;
    c->pictures[incoming ? 1u - c->cur_pair : c->cur_pair] = block;
    return SKY_OK;
}

/* The block the kernel of `program` reads: entries for all its pictures (sky_cpu.h relies on it).
 */
static const uint32_t *cpurt_pictures_for(const cpurt *c, uint32_t pair,
                                          const sky_program *program) {
    const uint32_t *block = c->pictures[pair];
    if (block && block[0] >= sky_program_picture_count(program)) return block;
    return cpurt_no_pictures;
}

/* -------------------------------------------------------------- frames */

/* One pattern's frame into `dst` (led_count * 3 bytes), with its pair's prev. */
static sky_status cpurt_run(cpurt *c, cpurt_pipeline *p, uint32_t pair, double t, double dt,
                            const double *params, uint8_t *dst, char *error, size_t error_len) {
    uint64_t t0 = cpurt_now_ns();
    sky_frame_inputs in = {.t = t,
                           .dt = dt,
                           .frame = p->frame,
                           .params = params,
                           .audio = c->has_audio ? &c->audio : NULL};
    sky_status st = sky_program_eval_frame(p->program, &c->view, &in, c->uniforms);
    if (st != SKY_OK) {
        cpurt_error(error, error_len, "evaluating the per-frame values failed (%s)",
                    sky_status_str(st));
        return st;
    }
    uint64_t t1 = cpurt_now_ns();
    uint32_t w = c->prev_w[pair];
    sky_cpu_args args = {.columns = c->column_ptrs,
                         .uniforms = c->uniforms,
                         .prev = c->prev[pair][1 - w],
                         .cur = c->prev[pair][w],
                         .bytes = dst,
                         .strip_first = c->strip_first,
                         .strip_size = c->strip_size,
                         .strip_count = c->view.strip_count,
                         .led_count = c->view.led_count,
                         .pictures = cpurt_pictures_for(c, pair, p->program)};
    sky_cpu_pool_run(c->pool, p->kernel, &args);
    cpurt_stage(&c->stats.eval, t1 - t0);
    cpurt_stage(&c->stats.wait, cpurt_now_ns() - t1);
    if (p->uses_prev) {
        if (pair == c->cur_pair) c->last_floats = c->prev[pair][w];
        c->prev_w[pair] = 1 - w;
    } else if (pair == c->cur_pair) {
        c->last_floats = NULL;
    }
    p->frame++;
    return SKY_OK;
}

static uint8_t *cpurt_begin(cpurt *c) {
    return c->writer ? sky_frame_writer_begin(c->writer, NULL) : c->host;
}

static void cpurt_complete(cpurt *c, uint8_t *dst, uint64_t start_ns) {
    uint64_t t0 = cpurt_now_ns();
    if (c->writer) sky_frame_writer_publish(c->writer);
    uint64_t t1 = cpurt_now_ns();
    c->last_bytes = dst;
    c->completed++;
    c->stats.frames++;
    cpurt_stage(&c->stats.publish, t1 - t0);
    cpurt_stage(&c->stats.latency, t1 - start_ns);
}

/* The post formula of docs/shader-abi.md: min(floor((a (1 - m) + b m) level + 0.5), 255). */
static void cpurt_post(const cpurt *c, const uint8_t *a, const uint8_t *b, float amount,
                       float level, uint8_t *dst) {
    for (size_t i = 0; i < c->channels; i++) {
        float v = b ? (float)a[i] * (1.0f - amount) + (float)b[i] * amount : (float)a[i];
        float f = floorf(v * level + 0.5f);
        dst[i] = (uint8_t)(f > 255.0f ? 255.0f : f);
    }
}

sky_status cpurt_render(cpurt *c, double t, double dt, const double *params, char *error,
                        size_t error_len) {
    if (!c->current) {
        cpurt_error(error, error_len, "%s", "no program set (sky_runtime_set_program)");
        return SKY_ERR_INVALID_ARG;
    }
    uint64_t start = cpurt_now_ns();
    uint8_t *dst = cpurt_begin(c);
    if (!dst) {
        cpurt_error(error, error_len, "%s", "the frame writer gave no slot");
        return SKY_ERR_IO;
    }
    bool dim = c->brightness < 1.0f;
    uint8_t *target = dim ? c->layer[CPURT_CURRENT] : dst;
    sky_status st = cpurt_run(c, c->current, c->cur_pair, t, dt, params, target, error, error_len);
    if (st != SKY_OK) {
        if (c->writer) sky_frame_writer_publish(c->writer); /* every begin gets its publish */
        return st;
    }
    if (dim) {
        memcpy(c->held, target, c->channels);
        cpurt_post(c, target, NULL, 0.0f, c->brightness, dst);
    }
    c->held_valid = dim;
    c->has_picture = true;
    cpurt_complete(c, dst, start);
    return SKY_OK;
}

sky_status cpurt_render_mix(cpurt *c, double t, double dt, const double *params,
                            cpurt_pipeline *incoming, double t_in, double dt_in,
                            const double *params_in, double amount, char *error, size_t error_len) {
    if (!c->current) {
        cpurt_error(error, error_len, "%s", "no program set (sky_runtime_set_program)");
        return SKY_ERR_INVALID_ARG;
    }
    uint32_t in_pair = 1u - c->cur_pair;
    if (c->mix_owner != incoming->id) {
        /* a new incoming pattern starts afresh: frame 0, black prev */
        cpurt_clear_pair(c, in_pair);
        incoming->frame = 0;
        c->mix_owner = incoming->id;
    }
    float m = (float)(amount < 0 ? 0 : (amount > 1 ? 1 : amount));
    uint64_t start = cpurt_now_ns();
    uint8_t *dst = cpurt_begin(c);
    if (!dst) {
        cpurt_error(error, error_len, "%s", "the frame writer gave no slot");
        return SKY_ERR_IO;
    }
    sky_status st = cpurt_run(c, c->current, c->cur_pair, t, dt, params, c->layer[CPURT_CURRENT],
                              error, error_len);
    if (st == SKY_OK)
        st = cpurt_run(c, incoming, in_pair, t_in, dt_in, params_in, c->layer[CPURT_INCOMING],
                       error, error_len);
    if (st != SKY_OK) {
        if (c->writer) sky_frame_writer_publish(c->writer);
        return st;
    }
    cpurt_post(c, c->layer[CPURT_CURRENT], c->layer[CPURT_INCOMING], m, c->brightness, dst);
    /* the undimmed blend is what a hold shows */
    cpurt_post(c, c->layer[CPURT_CURRENT], c->layer[CPURT_INCOMING], m, 1.0f, c->held);
    c->held_valid = true;
    c->has_picture = true;
    cpurt_complete(c, dst, start);
    return SKY_OK;
}

sky_status cpurt_render_hold(cpurt *c, char *error, size_t error_len) {
    if (!c->has_picture) {
        cpurt_error(error, error_len, "%s", "nothing to hold: no frame was rendered yet");
        return SKY_ERR_INVALID_ARG;
    }
    if (!c->held_valid) {
        memcpy(c->held, c->last_bytes, c->channels);
        c->held_valid = true;
    }
    uint8_t *dst = cpurt_begin(c);
    if (!dst) {
        cpurt_error(error, error_len, "%s", "the frame writer gave no slot");
        return SKY_ERR_IO;
    }
    cpurt_post(c, c->held, NULL, 0.0f, c->brightness, dst);
    uint64_t t0 = cpurt_now_ns();
    if (c->writer) sky_frame_writer_publish(c->writer);
    c->last_bytes = dst;
    c->completed++;
    cpurt_stage(&c->stats.publish, cpurt_now_ns() - t0);
    return SKY_OK;
}

sky_status cpurt_set_brightness(cpurt *c, double level, char *error, size_t error_len) {
    if (isnan(level)) {
        cpurt_error(error, error_len, "%s", "brightness is NaN");
        return SKY_ERR_INVALID_ARG;
    }
    c->brightness = (float)(level < 0 ? 0 : (level > 1 ? 1 : level));
    return SKY_OK;
}

/* ------------------------------------------------------------ queries */

const uint8_t *cpurt_frame_bytes(const cpurt *c, size_t *len) {
    if (len) *len = c->last_bytes ? c->channels : 0;
    return c->last_bytes;
}

const float *cpurt_frame_floats(const cpurt *c, size_t *count) {
    if (count) *count = c->last_floats ? c->channels : 0;
    return c->last_floats;
}

uint64_t cpurt_frame_count(const cpurt *c) {
    return c->completed;
}

void cpurt_get_stats(const cpurt *c, sky_runtime_stats *stats) {
    *stats = c->stats;
}

void cpurt_reset_stats(cpurt *c) {
    sky_output_path path = c->stats.path;
    memset(&c->stats, 0, sizeof c->stats);
    c->stats.path = path;
}

sky_output_path cpurt_output_path(const cpurt *c) {
    return c->writer ? SKY_OUTPUT_ZERO_COPY : SKY_OUTPUT_HOST;
}

const char *cpurt_output_reason(const cpurt *c) {
    return c->writer ? "the CPU kernel writes the frame file's slot directly"
                     : "no frame writer: rendering into host memory";
}

const char *cpurt_device_name(const cpurt *c) {
    return c->name;
}

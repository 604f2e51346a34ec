/*
 * vk_runtime.c - the public sky_runtime_* API: the frame loop of libskyrt.
 *
 * A frame is: evaluate the program's per-frame section on the host into this
 * frame's binding-0 buffer, submit the pre-recorded command buffer chosen by
 * (frame parity, output slot), and later wait on its fence and publish.
 * Nothing is recorded or allocated per frame, and the device is never waited
 * on with vkQueueWaitIdle/vkDeviceWaitIdle: each frame has its own fence and
 * every wait has a timeout, so a hung device becomes SKY_ERR_DEVICE_LOST.
 *
 * Frame n (counted from 0 since create) uses parity p = n % 2: binding-0
 * buffer p, prev buffer 1-p as `prev` and prev buffer p as `cur` (ping-pong),
 * and, without zero-copy, output buffer p. With zero-copy, the output binding
 * is the frame file's slot for the writer's frame number, so there is one
 * descriptor set per (parity, slot). At most two frames are in flight, so
 * parity-indexed resources are never reused while the device still reads them.
 *
 * Publishing follows the frame file's seqlock: with zero-copy the slot is
 * marked "being written" (sky_frame_writer_begin) before the dispatch that
 * writes it is submitted, and published once its fence signalled; the writer
 * has one frame open at a time, so with zero-copy a new frame is submitted
 * only after the previous one was published (its per-frame evaluation still
 * overlaps the device's work). With the copy path, begin, one memcpy and
 * publish all happen after the fence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "vk_internal.h"

#define RT_DEFAULT_TIMEOUT_MS 2000u
/*
 * Some drivers compile a pipeline's shader at its first dispatch, lavapipe
 * among them: then the first frame of a new shader also waits for LLVM, 20 to
 * 30 us per SPIR-V word on an x86-64 core (8 to 12 s for 400,000 words). So
 * that frame may take this much longer per word (about 7x that), while a hung
 * first frame of a small shader is still reported quickly.
 */
#define RT_COMPILE_US_PER_WORD 200u
/*
 * The timeout counts only time this process was running: the wait goes in
 * slices, and a slice that came back much later than asked (the whole
 * process or host stalled: memory pressure without swap, SIGSTOP, a
 * debugger) counts as its asked length. On lavapipe the device is this
 * process's own threads, so such a stall is no device hang. A hung device
 * still times out after the same running time.
 */
#define RT_WAIT_SLICE_NS 100000000ull
#define RT_WAIT_LATE_NS  50000000ull
/* Uniform capacity of the binding-0 buffers: a program cannot hoist more values than nodes. */
#define RT_MAX_UNIFORMS SKY_MAX_NODES
#define RT_INFO_BYTES   16u /* uvec4 sky_info before sky_u[] */

typedef struct rt_flight {
    uint64_t n;        /* frame sequence number since create */
    uint32_t extra_ms; /* the first frame of a new shader: time allowed for compiling it */
    uint8_t *slot;     /* zero-copy: the slot begun for this frame */
    bool uses_prev;    /* the program that rendered it writes the full-precision colours */
    uint64_t start_ns; /* when submit started (latency) */
} rt_flight;

struct sky_runtime {
    vkrt_device dev;
    vkrt_shared shared;
    const sky_layout *layout;
    sky_layout_view view;
    sky_frame_writer *writer;
    uint32_t frames_in_flight;
    uint32_t timeout_ms;

    sky_output_path path;
    char path_reason[256];
    uint8_t *slots_base; /* writer's slot region (zero-copy and copy) */
    uint64_t slot_stride;
    uint32_t slot_count;
    size_t frame_bytes; /* led_count * 3 */

    vkrt_buffer leds, strips;
    VkBufferView led_texels; /* binding 6: RGBA32F view of `leds`, or VK_NULL_HANDLE */
    vkrt_buffer prev[2];
    vkrt_buffer block[2]; /* binding 0: sky_info and sky_u[] per parity */
    vkrt_buffer out[2];   /* host and copy paths */
    vkrt_buffer slots;    /* zero-copy: the imported slot region */
    VkFence fences[2];
    VkCommandBuffer clear;
    bool clear_pending;

    vkrt_kernel *kernel; /* the current program's pipeline, NULL before set_program */
    vkrt_eval_fn eval;
    void *eval_context;
    vkrt_kernel *retired; /* replaced kernels whose frames may still be in flight */
    uint64_t program_frame;

    uint64_t next_n;     /* sequence number of the next submitted frame */
    rt_flight flight[2]; /* ring of frames in flight, oldest at flight_head */
    uint32_t flight_head, flight_count;

    const uint8_t *last_bytes;
    const float *last_floats;
    uint64_t completed;

    bool lost; /* the device was lost or hung: every call fails */
    sky_status lost_status;
    char lost_message[256];

    sky_runtime_stats stats;
};

const char *sky_output_path_str(sky_output_path path) {
    switch (path) {
    case SKY_OUTPUT_HOST:
        return "host";
    case SKY_OUTPUT_ZERO_COPY:
        return "zero-copy";
    case SKY_OUTPUT_COPY:
        return "copy";
    }
    return "unknown";
}

void sky_runtime_options_init(sky_runtime_options *options) {
    memset(options, 0, sizeof *options);
}

/* ------------------------------------------------------------------ errors */

static sky_status rt_fail_lost(sky_runtime *rt, sky_status status, const char *message, char *error,
                               size_t error_len) {
    rt->lost = true;
    rt->lost_status = status == SKY_OK ? SKY_ERR_DEVICE_LOST : status;
    snprintf(rt->lost_message, sizeof rt->lost_message, "%s", message);
    frame_error(error, error_len, "%s", message);
    return rt->lost_status;
}

static sky_status rt_check_usable(const sky_runtime *rt, char *error, size_t error_len) {
    if (!rt) {
        frame_error(error, error_len, "the runtime is NULL");
        return SKY_ERR_INVALID_ARG;
    }
    if (rt->lost) {
        frame_error(error, error_len, "the runtime is unusable after an earlier error (%s)",
                    rt->lost_message);
        return rt->lost_status;
    }
    return SKY_OK;
}

/* ------------------------------------------------------------------ create */

static sky_status rt_check_options(const sky_runtime_options *o, char *error, size_t error_len) {
    if (!o || !o->layout) {
        frame_error(error, error_len,
                    "sky_runtime_create: options and options->layout are required");
        return SKY_ERR_INVALID_ARG;
    }
    const sky_layout *l = o->layout;
    if (l->led_count == 0 || l->strip_count == 0 || !l->strip_sizes || !l->xy) {
        frame_error(error, error_len, "sky_runtime_create: the layout has no LEDs");
        return SKY_ERR_INVALID_ARG;
    }
    if (o->frames_in_flight > 2) {
        frame_error(error, error_len, "frames in flight must be 1 or 2, not %u",
                    o->frames_in_flight);
        return SKY_ERR_INVALID_ARG;
    }
    if (o->writer) {
        const sky_frame_info *info = sky_frame_writer_info(o->writer);
        if (!info || info->led_count != l->led_count || info->channels != 3) {
            frame_error(error, error_len,
                        "the frame file holds %u LEDs of %u channels but the layout has %u LEDs "
                        "of 3",
                        info ? info->led_count : 0, info ? info->channels : 0, l->led_count);
            return SKY_ERR_INVALID_ARG;
        }
    }
    return SKY_OK;
}

/* Every buffer range must fit the device's maxStorageBufferRange. */
static sky_status rt_check_range(const sky_runtime *rt, uint64_t bytes, const char *what,
                                 char *error, size_t error_len) {
    uint64_t max = rt->dev.props.limits.maxStorageBufferRange;
    if (bytes <= max) return SKY_OK;
    frame_error(error, error_len,
                "the %s buffer for %u LEDs needs %llu bytes, more than the device's storage "
                "buffer limit of %llu",
                what, rt->view.led_count, (unsigned long long)bytes, (unsigned long long)max);
    return SKY_ERR_LIMIT;
}

static uint64_t rt_out_bytes(const sky_runtime *rt) {
    return ((uint64_t)rt->view.led_count + 3) / 4 * 12;
}

/* The LED inputs and the strip table, uploaded once. */
static sky_status rt_upload_leds(sky_runtime *rt, char *error, size_t error_len) {
    uint32_t leds = rt->view.led_count, strips = rt->view.strip_count;
    sky_led_input *inputs = malloc((size_t)leds * sizeof *inputs);
    uint32_t *table = malloc((size_t)strips * 2 * sizeof *table);
    sky_status status = SKY_OK;
    if (!inputs || !table) {
        frame_error(error, error_len, "out of memory for the inputs of %u LEDs", leds);
        status = SKY_ERR_NOMEM;
    }
    if (status == SKY_OK) {
        status = sky_led_inputs_build(&rt->view, inputs);
        if (status != SKY_OK)
            frame_error(error, error_len, "the layout is inconsistent (%s)",
                        sky_status_str(status));
    }
    if (status == SKY_OK) {
        uint32_t first = 0;
        for (uint32_t s = 0; s < strips; s++) {
            table[2 * s] = first;
            table[2 * s + 1] = rt->view.strip_sizes[s];
            first += rt->view.strip_sizes[s];
        }
        status =
            vkrt_buffer_upload(&rt->dev, rt->shared.commands, &rt->leds, inputs,
                               (size_t)leds * sizeof *inputs, rt->timeout_ms, error, error_len);
    }
    if (status == SKY_OK)
        status = vkrt_buffer_upload(&rt->dev, rt->shared.commands, &rt->strips, table,
                                    (size_t)strips * 2 * sizeof *table, rt->timeout_ms, error,
                                    error_len);
    free(inputs);
    free(table);
    return status;
}

static sky_status rt_create_buffers(sky_runtime *rt, char *error, size_t error_len) {
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint64_t leds = rt->view.led_count;
    uint64_t block_bytes = RT_INFO_BYTES + 4u * RT_MAX_UNIFORMS;
    sky_status status = SKY_OK;
    const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    const VkBufferUsageFlags texels = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    const VkBufferUsageFlags frame_uniforms = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT; /* binding 7 */
    struct {
        vkrt_buffer *buf;
        uint64_t bytes;
        VkMemoryPropertyFlags required, preferred;
        VkBufferUsageFlags usage;
        const char *what;
    } plan[] = {
        {&rt->leds, leds * sizeof(sky_led_input), 0, local, texels, "LED inputs"},
        {&rt->strips, (uint64_t)rt->view.strip_count * 8, 0, local, 0, "strip table"},
        /* Host-visible where the device has such local memory, so tests can read prev. */
        {&rt->prev[0], leds * 12, 0, local | host, 0, "prev"},
        {&rt->prev[1], leds * 12, 0, local | host, 0, "prev"},
        {&rt->block[0], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        {&rt->block[1], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        {&rt->out[0], rt_out_bytes(rt), host, cached, 0, "output"},
        {&rt->out[1], rt_out_bytes(rt), host, cached, 0, "output"},
    };
    size_t count = sizeof plan / sizeof plan[0];
    if (rt->path == SKY_OUTPUT_ZERO_COPY) count -= 2; /* the shader writes the slots */
    for (size_t i = 0; i < count && status == SKY_OK; i++) {
        status = rt_check_range(rt, plan[i].bytes, plan[i].what, error, error_len);
        if (status == SKY_OK)
            status =
                vkrt_buffer_create(&rt->dev, plan[i].bytes, plan[i].required, plan[i].preferred,
                                   plan[i].usage, plan[i].what, plan[i].buf, error, error_len);
    }
    return status;
}

/*
 * Chooses the output path. Zero-copy needs the extension, the slot region
 * aligned as the device asks, and slot offsets usable as descriptor offsets;
 * anything else falls back to one copy per frame, and the reason is kept.
 */
static void rt_choose_path(sky_runtime *rt, bool force_copy) {
    if (!rt->writer) {
        rt->path = SKY_OUTPUT_HOST;
        snprintf(rt->path_reason, sizeof rt->path_reason, "no frame file: rendering into memory");
        return;
    }
    size_t bytes = 0;
    rt->slots_base = sky_frame_writer_slots(rt->writer, &bytes, &rt->slot_stride, &rt->slot_count);
    rt->path = SKY_OUTPUT_COPY;
    if (force_copy) {
        snprintf(rt->path_reason, sizeof rt->path_reason, "zero-copy turned off by the caller");
        return;
    }
    if (!rt->dev.has_host_import) {
        snprintf(rt->path_reason, sizeof rt->path_reason,
                 "the device lacks VK_EXT_external_memory_host");
        return;
    }
    if (rt->slot_stride % rt->dev.props.limits.minStorageBufferOffsetAlignment != 0) {
        snprintf(rt->path_reason, sizeof rt->path_reason,
                 "the slot stride %llu is not a multiple of the device's storage buffer offset "
                 "alignment",
                 (unsigned long long)rt->slot_stride);
        return;
    }
    char why[200];
    if (vkrt_buffer_import(&rt->dev, rt->slots_base, bytes, &rt->slots, why, sizeof why) !=
        SKY_OK) {
        snprintf(rt->path_reason, sizeof rt->path_reason, "%s", why);
        return;
    }
    rt->path = SKY_OUTPUT_ZERO_COPY;
    snprintf(rt->path_reason, sizeof rt->path_reason,
             "the shader writes into the frame file (VK_EXT_external_memory_host)");
}

/*
 * The optional binding 6: an RGBA32F texel view of the LED inputs (two texels
 * per LED). NULL when created, else why the device cannot (the layout then
 * leaves binding 6 out and shaders that read it are refused).
 */
static const char *rt_create_texel_view(sky_runtime *rt, char *why, size_t why_len) {
    VkFormatProperties props;
    vkGetPhysicalDeviceFormatProperties(rt->dev.physical, VK_FORMAT_R32G32B32A32_SFLOAT, &props);
    if (!(props.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT)) {
        snprintf(why, why_len, "no RGBA32F uniform texel buffers");
        return why;
    }
    uint64_t texels = 2 * (uint64_t)rt->view.led_count;
    if (texels > rt->dev.props.limits.maxTexelBufferElements) {
        snprintf(why, why_len, "%llu texels exceed maxTexelBufferElements %u",
                 (unsigned long long)texels, rt->dev.props.limits.maxTexelBufferElements);
        return why;
    }
    VkBufferViewCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = rt->leds.buffer,
        .format = VK_FORMAT_R32G32B32A32_SFLOAT,
        .offset = 0,
        .range = texels * 16,
    };
    VkResult r = rt->dev.vk.vkCreateBufferView(rt->dev.device, &info, NULL, &rt->led_texels);
    if (r != VK_SUCCESS) {
        rt->led_texels = VK_NULL_HANDLE;
        snprintf(why, why_len, "vkCreateBufferView failed: %s", vkrt_result_str(r));
        return why;
    }
    return NULL;
}

/* Binding 7's range: the per-frame block, as much of it as a uniform buffer may span. */
static VkDeviceSize rt_frame_uniform_range(const sky_runtime *rt) {
    VkDeviceSize bytes = RT_INFO_BYTES + 4u * RT_MAX_UNIFORMS;
    VkDeviceSize max = rt->dev.props.limits.maxUniformBufferRange;
    return bytes < max ? bytes : max;
}

static void rt_write_sets(sky_runtime *rt) {
    for (uint32_t set = 0; set < rt->shared.set_count; set++) {
        uint32_t p = set % 2;
        vkrt_set_buffers b = {
            .buffer = {rt->block[p].buffer, rt->leds.buffer, rt->strips.buffer,
                       rt->prev[1 - p].buffer, rt->prev[p].buffer, rt->out[p].buffer},
            .range = {VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE,
                      VK_WHOLE_SIZE},
            .led_texels = rt->led_texels,
            .frame_uniform_range = rt_frame_uniform_range(rt),
        };
        if (rt->path == SKY_OUTPUT_ZERO_COPY) {
            b.buffer[VKRT_BIND_OUT] = rt->slots.buffer;
            b.offset[VKRT_BIND_OUT] = (uint64_t)(set / 2) * rt->slot_stride;
            b.range[VKRT_BIND_OUT] = rt_out_bytes(rt);
        }
        vkrt_shared_write_set(&rt->dev, &rt->shared, set, &b);
    }
}

static sky_status rt_create_sync(sky_runtime *rt, char *error, size_t error_len) {
    for (int i = 0; i < 2; i++) {
        VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        VkResult r = rt->dev.vk.vkCreateFence(rt->dev.device, &info, NULL, &rt->fences[i]);
        if (r != VK_SUCCESS) return vkrt_check(r, "vkCreateFence", error, error_len);
    }
    rt->clear_pending = true; /* prev starts at 0 */
    return vkrt_record_clear(&rt->dev, &rt->shared, rt->prev, 2, &rt->clear, error, error_len);
}

sky_status sky_runtime_create(const sky_runtime_options *options, sky_runtime **runtime,
                              char *error, size_t error_len) {
    if (!runtime) {
        frame_error(error, error_len, "sky_runtime_create: runtime is NULL");
        return SKY_ERR_INVALID_ARG;
    }
    *runtime = NULL;
    sky_status status = rt_check_options(options, error, error_len);
    if (status != SKY_OK) return status;
    sky_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        frame_error(error, error_len, "out of memory for the runtime");
        return SKY_ERR_NOMEM;
    }
    rt->layout = options->layout;
    rt->view = (sky_layout_view){options->layout->led_count, options->layout->strip_count,
                                 options->layout->strip_sizes, options->layout->xy};
    rt->writer = options->writer;
    rt->frames_in_flight = options->frames_in_flight ? options->frames_in_flight : 2;
    rt->timeout_ms = options->wait_timeout_ms ? options->wait_timeout_ms : RT_DEFAULT_TIMEOUT_MS;
    rt->frame_bytes = (size_t)rt->view.led_count * 3;

    status = vkrt_device_open(options->device, &rt->dev, error, error_len);
    if (status != SKY_OK) {
        free(rt);
        return status;
    }
    rt_choose_path(rt, options->force_copy);
    uint32_t sets = rt->path == SKY_OUTPUT_ZERO_COPY ? 2 * rt->slot_count : 2;
    status = rt_create_buffers(rt, error, error_len);
    char texel_why[160];
    const char *no_texels =
        status == SKY_OK ? rt_create_texel_view(rt, texel_why, sizeof texel_why) : NULL;
    if (status == SKY_OK)
        status = vkrt_shared_create(&rt->dev, sets, rt->view.led_count, options->local_size,
                                    no_texels, &rt->shared, error, error_len);
    if (status == SKY_OK) status = rt_upload_leds(rt, error, error_len);
    if (status == SKY_OK) status = rt_create_sync(rt, error, error_len);
    if (status != SKY_OK) {
        /* Nothing was submitted for a frame, so freeing cannot wait on anything. */
        rt->lost = status == SKY_ERR_DEVICE_LOST;
        sky_runtime_free(rt);
        return status;
    }
    rt_write_sets(rt);
    rt->stats.path = rt->path;
    *runtime = rt;
    return SKY_OK;
}

/* ---------------------------------------------------------------- programs */

static bool rt_kernel_idle(const sky_runtime *rt, const vkrt_kernel *kernel) {
    if (kernel->last_submit == 0 || rt->flight_count == 0) return true;
    /* Frames complete in order: the kernel is idle when its newest frame is older than the
     * oldest frame still in flight. */
    return kernel->last_submit - 1 < rt->flight[rt->flight_head].n;
}

static void rt_free_idle_retired(sky_runtime *rt) {
    vkrt_kernel **link = &rt->retired;
    while (*link) {
        vkrt_kernel *k = *link;
        if (rt_kernel_idle(rt, k)) {
            *link = k->next_retired;
            vkrt_kernel_destroy(&rt->dev, &rt->shared, k);
        } else {
            link = &k->next_retired;
        }
    }
}

/* A kernel built, not yet in use: what sky_runtime_pipeline_build hands out. */
struct sky_runtime_pipeline {
    vkrt_kernel *kernel;
    vkrt_eval_fn eval;
    void *context;
};

/*
 * Builds a kernel from `source`. Reads only what is fixed at create (device,
 * layouts, descriptor sets) and creates objects of its own, so it may run on
 * another thread while the render thread renders.
 */
static sky_status rt_build_kernel(sky_runtime *rt, const vkrt_kernel_source *source,
                                  vkrt_kernel **out, char *error, size_t error_len) {
    *out = NULL;
    if (!source || !source->eval) {
        frame_error(error, error_len, "set_kernel: no per-frame evaluator");
        return SKY_ERR_INVALID_ARG;
    }
    if (source->uniform_count > RT_MAX_UNIFORMS) {
        frame_error(error, error_len, "the pattern has %zu per-frame values, more than %u",
                    source->uniform_count, (unsigned)RT_MAX_UNIFORMS);
        return SKY_ERR_LIMIT;
    }
    vkrt_kernel *kernel;
    sky_status status = vkrt_kernel_create(&rt->dev, &rt->shared, source->spirv, source->word_count,
                                           &kernel, error, error_len);
    if (status != SKY_OK) return status;
    kernel->uses_prev = source->uses_prev;
    kernel->uniform_count = source->uniform_count;
    uint64_t compile_ms = (uint64_t)source->word_count * RT_COMPILE_US_PER_WORD / 1000u;
    kernel->compile_ms = compile_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)compile_ms;
    *out = kernel;
    return SKY_OK;
}

/* Makes a built kernel the current one (the render thread; takes the kernel). */
static void rt_install_kernel(sky_runtime *rt, vkrt_kernel *kernel, vkrt_eval_fn eval,
                              void *context) {
    vkrt_kernel *old = rt->kernel;
    if (kernel->uses_prev && !(old && old->uses_prev)) rt->clear_pending = true;
    if (old) {
        old->next_retired = rt->retired;
        rt->retired = old;
    }
    rt->kernel = kernel;
    rt->eval = eval;
    rt->eval_context = context;
    rt->program_frame = 0;
    rt_free_idle_retired(rt);
}

sky_status vkrt_runtime_set_kernel(sky_runtime *rt, const vkrt_kernel_source *source, char *error,
                                   size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    vkrt_kernel *kernel;
    status = rt_build_kernel(rt, source, &kernel, error, error_len);
    if (status != SKY_OK) return status;
    rt_install_kernel(rt, kernel, source->eval, source->context);
    return SKY_OK;
}

/*
 * The budget of a pipeline build: above SKY_LED_COST_MAX no build is attempted.
 * The time and memory of the compilers (shaderc, then the driver's) grow with
 * the cost: 6,458 took 13 s and 517 MB in shaderc alone on an x86-64 core.
 */
static sky_status rt_check_cost(const sky_program *program, char *error, size_t error_len) {
    uint64_t cost = sky_program_led_cost(program);
    if (cost <= SKY_LED_COST_MAX) return SKY_OK;
    frame_error(error, error_len,
                "the pattern costs about %llu operations per LED, over the budget of %u for "
                "building a pipeline; lower fbm octaves and reduction bounds",
                (unsigned long long)cost, SKY_LED_COST_MAX);
    return SKY_ERR_LIMIT;
}

static sky_status rt_eval_program(void *context, const sky_layout_view *layout,
                                  const sky_frame_inputs *frame, float *uniforms) {
    return sky_program_eval_frame((const sky_program *)context, layout, frame, uniforms);
}

sky_status sky_runtime_set_program(sky_runtime *rt, const sky_program *program, char *error,
                                   size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (!program) {
        frame_error(error, error_len, "sky_runtime_set_program: program is NULL");
        return SKY_ERR_INVALID_ARG;
    }
    if ((status = rt_check_cost(program, error, error_len)) != SKY_OK) return status;
    uint32_t *words = NULL;
    size_t word_count = 0;
    char *emit_error = NULL;
    sky_emit_options emit;
    sky_runtime_emit_options(rt, &emit);
    status = sky_program_emit_spirv(program, &emit, &words, &word_count, &emit_error);
    if (status != SKY_OK) {
        frame_error(error, error_len, "generating the shader failed (%s)%s%s",
                    sky_status_str(status), emit_error ? ": " : "", emit_error ? emit_error : "");
        sky_free(emit_error);
        sky_free(words);
        return status;
    }
    sky_free(emit_error);
    status = sky_runtime_set_program_spirv(rt, program, words, word_count, error, error_len);
    sky_free(words);
    return status;
}

sky_status sky_runtime_set_program_spirv(sky_runtime *rt, const sky_program *program,
                                         const uint32_t *words, size_t word_count, char *error,
                                         size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (!program || !words || word_count == 0) {
        frame_error(error, error_len, "sky_runtime_set_program_spirv: %s is NULL or empty",
                    !program ? "program" : "the SPIR-V");
        return SKY_ERR_INVALID_ARG;
    }
    if ((status = rt_check_cost(program, error, error_len)) != SKY_OK) return status;
    vkrt_kernel_source source = {
        .spirv = words,
        .word_count = word_count,
        .uniform_count = sky_program_uniform_count(program),
        .uses_prev = sky_program_uses_prev(program),
        .eval = rt_eval_program,
        .context = (void *)program,
    };
    return vkrt_runtime_set_kernel(rt, &source, error, error_len);
}

sky_status sky_runtime_pipeline_build(sky_runtime *rt, const sky_program *program,
                                      const uint32_t *words, size_t word_count,
                                      sky_runtime_pipeline **pipeline, char *error,
                                      size_t error_len) {
    if (!pipeline || !rt || !program || !words || word_count == 0) {
        frame_error(error, error_len, "sky_runtime_pipeline_build: an argument is NULL or empty");
        return SKY_ERR_INVALID_ARG;
    }
    *pipeline = NULL;
    sky_status status = rt_check_cost(program, error, error_len);
    if (status != SKY_OK) return status;
    sky_runtime_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        frame_error(error, error_len, "out of memory for a pipeline");
        return SKY_ERR_NOMEM;
    }
    vkrt_kernel_source source = {
        .spirv = words,
        .word_count = word_count,
        .uniform_count = sky_program_uniform_count(program),
        .uses_prev = sky_program_uses_prev(program),
        .eval = rt_eval_program,
        .context = (void *)program,
    };
    status = rt_build_kernel(rt, &source, &p->kernel, error, error_len);
    if (status != SKY_OK) {
        free(p);
        return status;
    }
    p->eval = source.eval;
    p->context = source.context;
    *pipeline = p;
    return SKY_OK;
}

sky_status sky_runtime_set_pipeline(sky_runtime *rt, sky_runtime_pipeline *pipeline, char *error,
                                    size_t error_len) {
    if (!pipeline) {
        frame_error(error, error_len, "sky_runtime_set_pipeline: pipeline is NULL");
        return SKY_ERR_INVALID_ARG;
    }
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) {
        sky_runtime_pipeline_free(rt, pipeline);
        return status;
    }
    rt_install_kernel(rt, pipeline->kernel, pipeline->eval, pipeline->context);
    free(pipeline);
    return SKY_OK;
}

void sky_runtime_pipeline_free(sky_runtime *rt, sky_runtime_pipeline *pipeline) {
    if (!pipeline) return;
    if (rt) vkrt_kernel_destroy(&rt->dev, &rt->shared, pipeline->kernel);
    free(pipeline);
}

sky_status sky_runtime_restart(sky_runtime *rt, char *error, size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    rt->program_frame = 0;
    /* Queue order puts the clear after the frames in flight and before the next one. */
    rt->clear_pending = true;
    return SKY_OK;
}

/* ------------------------------------------------------------------ frames */

static void rt_stage_add(sky_runtime_stage *stage, uint64_t ns) {
    stage->last_ns = ns;
    stage->total_ns += ns;
    if (ns > stage->max_ns) stage->max_ns = ns;
}

/* vkWaitForFences for up to timeout_ns of this process's running time (see RT_WAIT_SLICE_NS). */
static VkResult rt_wait_fence(sky_runtime *rt, VkFence fence, uint64_t timeout_ns) {
    uint64_t counted = 0;
    for (;;) {
        uint64_t slice =
            timeout_ns - counted < RT_WAIT_SLICE_NS ? timeout_ns - counted : RT_WAIT_SLICE_NS;
        uint64_t a = vkrt_now_ns();
        VkResult r = rt->dev.vk.vkWaitForFences(rt->dev.device, 1, &fence, VK_TRUE, slice);
        uint64_t took = vkrt_now_ns() - a;
        if (r != VK_TIMEOUT) return r;
        counted += took > slice + RT_WAIT_LATE_NS ? slice : took;
        if (counted >= timeout_ns) return VK_TIMEOUT;
    }
}

/* Waits for the oldest frame in flight and makes its pixels visible / published. */
static sky_status rt_complete_oldest(sky_runtime *rt, char *error, size_t error_len) {
    rt_flight *f = &rt->flight[rt->flight_head];
    uint32_t p = (uint32_t)(f->n % 2);
    uint64_t t0 = vkrt_now_ns();
    uint64_t timeout_ms = (uint64_t)rt->timeout_ms + f->extra_ms;
    VkResult r = rt_wait_fence(rt, rt->fences[p], timeout_ms * 1000000u);
    uint64_t t1 = vkrt_now_ns();
    if (r != VK_SUCCESS) {
        char msg[256];
        if (r == VK_TIMEOUT)
            snprintf(msg, sizeof msg,
                     "the device did not finish frame %llu within %llu ms: it is hung or far too "
                     "slow for this layout",
                     (unsigned long long)f->n, (unsigned long long)timeout_ms);
        sky_status lost = SKY_ERR_DEVICE_LOST;
        if (r != VK_TIMEOUT)
            lost = vkrt_check(r, "waiting for a frame (vkWaitForFences)", msg, sizeof msg);
        return rt_fail_lost(rt, lost, msg, error, error_len);
    }
    char msg[256];
    sky_status s = SKY_OK;
    if (f->uses_prev) s = vkrt_buffer_invalidate(&rt->dev, &rt->prev[p], msg, sizeof msg);
    if (s == SKY_OK && rt->path != SKY_OUTPUT_ZERO_COPY)
        s = vkrt_buffer_invalidate(&rt->dev, &rt->out[p], msg, sizeof msg);
    if (s != SKY_OK) return rt_fail_lost(rt, s, msg, error, error_len);
    switch (rt->path) {
    case SKY_OUTPUT_HOST:
        rt->last_bytes = rt->out[p].map;
        break;
    case SKY_OUTPUT_COPY: {
        uint64_t frame_no;
        uint8_t *slot = sky_frame_writer_begin(rt->writer, &frame_no);
        if (!slot)
            return rt_fail_lost(rt, SKY_ERR_INTERNAL, "the frame writer returned no slot", error,
                                error_len);
        memcpy(slot, rt->out[p].map, rt->frame_bytes);
        sky_frame_writer_publish(rt->writer);
        rt->last_bytes = slot;
        break;
    }
    case SKY_OUTPUT_ZERO_COPY:
        sky_frame_writer_publish(rt->writer);
        rt->last_bytes = f->slot;
        break;
    }
    uint64_t t2 = vkrt_now_ns();
    rt->last_floats = f->uses_prev ? rt->prev[p].map : NULL;
    rt_stage_add(&rt->stats.wait, t1 - t0);
    rt_stage_add(&rt->stats.publish, t2 - t1);
    rt_stage_add(&rt->stats.latency, t2 - f->start_ns);
    rt->stats.frames++;
    rt->completed++;
    rt->flight_head = (rt->flight_head + 1) % 2;
    rt->flight_count--;
    rt_free_idle_retired(rt);
    return SKY_OK;
}

/* Writes sky_info and the program's per-frame values into this parity's binding-0 buffer. */
static sky_status rt_eval_frame(sky_runtime *rt, uint32_t p, double t, double dt,
                                const double *params, char *error, size_t error_len) {
    uint32_t *info = rt->block[p].map;
    info[0] = rt->view.led_count;
    info[1] = rt->view.strip_count;
    info[2] = 0;
    info[3] = 0;
    sky_frame_inputs frame = {.t = t, .dt = dt, .frame = rt->program_frame, .params = params};
    float *uniforms = (float *)((uint8_t *)rt->block[p].map + RT_INFO_BYTES);
    sky_status status = rt->eval(rt->eval_context, &rt->view, &frame, uniforms);
    if (status != SKY_OK) {
        frame_error(error, error_len, "evaluating the pattern's per-frame values failed (%s)",
                    sky_status_str(status));
        return status;
    }
    return vkrt_buffer_flush(&rt->dev, &rt->block[p], error, error_len);
}

static sky_status rt_queue_submit(sky_runtime *rt, uint32_t set, uint32_t p, char *error,
                                  size_t error_len) {
    VkCommandBuffer cmds[2];
    uint32_t count = 0;
    if (rt->clear_pending && rt->kernel->uses_prev) cmds[count++] = rt->clear;
    cmds[count++] = rt->kernel->commands[set];
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = count,
        .pCommandBuffers = cmds,
    };
    VkResult r = rt->dev.vk.vkResetFences(rt->dev.device, 1, &rt->fences[p]);
    if (r == VK_SUCCESS) r = rt->dev.vk.vkQueueSubmit(rt->dev.queue, 1, &submit, rt->fences[p]);
    if (r != VK_SUCCESS) {
        char msg[256];
        sky_status status = vkrt_check(r, "submitting a frame (vkQueueSubmit)", msg, sizeof msg);
        return rt_fail_lost(rt, status, msg, error, error_len);
    }
    if (count == 2) rt->clear_pending = false;
    return SKY_OK;
}

sky_status sky_runtime_submit(sky_runtime *rt, double t, double dt, const double *params,
                              char *error, size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (!rt->kernel) {
        frame_error(error, error_len, "no pattern set: call sky_runtime_set_program first");
        return SKY_ERR_INVALID_ARG;
    }
    while (rt->flight_count >= rt->frames_in_flight)
        if ((status = rt_complete_oldest(rt, error, error_len)) != SKY_OK) return status;
    uint64_t n = rt->next_n;
    uint32_t p = (uint32_t)(n % 2);
    uint64_t t0 = vkrt_now_ns();
    /* Parity p's buffers were last used by frame n - 2, complete by now. */
    status = rt_eval_frame(rt, p, t, dt, params, error, error_len);
    if (status != SKY_OK) return status;
    uint64_t t1 = vkrt_now_ns();
    uint32_t set = p;
    uint8_t *slot = NULL;
    if (rt->path == SKY_OUTPUT_ZERO_COPY) {
        /* The writer has one frame open at a time: publish the previous one first. */
        while (rt->flight_count > 0)
            if ((status = rt_complete_oldest(rt, error, error_len)) != SKY_OK) return status;
        t1 = vkrt_now_ns();
        uint64_t frame_no;
        slot = sky_frame_writer_begin(rt->writer, &frame_no);
        uint64_t k = slot ? (uint64_t)(slot - rt->slots_base) / rt->slot_stride : UINT64_MAX;
        if (k >= rt->slot_count)
            return rt_fail_lost(rt, SKY_ERR_INTERNAL,
                                "the frame writer's slot lies outside its slot region", error,
                                error_len);
        set = p + 2 * (uint32_t)k;
    }
    status = rt_queue_submit(rt, set, p, error, error_len);
    if (status != SKY_OK) return status;
    uint64_t t2 = vkrt_now_ns();
    uint32_t tail = (rt->flight_head + rt->flight_count) % 2;
    rt->flight[tail] = (rt_flight){.n = n,
                                   .extra_ms = rt->kernel->last_submit ? 0 : rt->kernel->compile_ms,
                                   .slot = slot,
                                   .uses_prev = rt->kernel->uses_prev,
                                   .start_ns = t0};
    rt->flight_count++;
    rt->kernel->last_submit = n + 1;
    rt->next_n++;
    rt->program_frame++;
    rt_stage_add(&rt->stats.eval, t1 - t0);
    rt_stage_add(&rt->stats.submit, t2 - t1);
    return SKY_OK;
}

sky_status sky_runtime_finish(sky_runtime *rt, char *error, size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    while (status == SKY_OK && rt->flight_count > 0)
        status = rt_complete_oldest(rt, error, error_len);
    return status;
}

sky_status sky_runtime_render(sky_runtime *rt, double t, double dt, const double *params,
                              char *error, size_t error_len) {
    sky_status status = sky_runtime_submit(rt, t, dt, params, error, error_len);
    if (status == SKY_OK) status = sky_runtime_finish(rt, error, error_len);
    return status;
}

/* ------------------------------------------------------------------- free */

/*
 * After an error, frames may still be in flight. Their fences get one more
 * timeout; a device still busy after that (hung, or a driver thread still
 * running the shader) would block or fault in vkDestroy*, so then the Vulkan
 * objects are abandoned (leaked) and only host memory is freed.
 */
static bool rt_device_idle(sky_runtime *rt) {
    if (!rt->dev.device || rt->flight_count == 0) return true;
    for (uint32_t i = 0; i < rt->flight_count; i++) {
        uint32_t p = (uint32_t)(rt->flight[(rt->flight_head + i) % 2].n % 2);
        VkResult r = rt->dev.vk.vkWaitForFences(rt->dev.device, 1, &rt->fences[p], VK_TRUE,
                                                (uint64_t)rt->timeout_ms * 1000000u);
        /* A lost device signals nothing but may be destroyed (the spec allows it). */
        if (r == VK_TIMEOUT) return false;
    }
    return true;
}

static void rt_free_host_only(sky_runtime *rt) {
    vkrt_kernel *kernels[2] = {rt->kernel, rt->retired};
    for (int i = 0; i < 2; i++)
        for (vkrt_kernel *k = kernels[i]; k;) {
            vkrt_kernel *next = k->next_retired;
            free(k->commands);
            free(k);
            k = i == 1 ? next : NULL;
        }
    free(rt->shared.sets);
    free(rt);
}

void sky_runtime_free(sky_runtime *rt) {
    if (!rt) return;
    if (!rt->lost) sky_runtime_finish(rt, NULL, 0);
    if (rt->lost && !rt_device_idle(rt)) {
        rt_free_host_only(rt);
        return;
    }
    vkrt_device *dev = &rt->dev;
    if (dev->device) {
        vkrt_kernel_destroy(dev, &rt->shared, rt->kernel);
        while (rt->retired) {
            vkrt_kernel *next = rt->retired->next_retired;
            vkrt_kernel_destroy(dev, &rt->shared, rt->retired);
            rt->retired = next;
        }
        if (rt->clear)
            dev->vk.vkFreeCommandBuffers(dev->device, rt->shared.commands, 1, &rt->clear);
        for (int i = 0; i < 2; i++) {
            if (rt->fences[i]) dev->vk.vkDestroyFence(dev->device, rt->fences[i], NULL);
            vkrt_buffer_destroy(dev, &rt->prev[i]);
            vkrt_buffer_destroy(dev, &rt->block[i]);
            vkrt_buffer_destroy(dev, &rt->out[i]);
        }
        if (rt->led_texels) dev->vk.vkDestroyBufferView(dev->device, rt->led_texels, NULL);
        vkrt_buffer_destroy(dev, &rt->leds);
        vkrt_buffer_destroy(dev, &rt->strips);
        vkrt_buffer_destroy(dev, &rt->slots);
        vkrt_shared_destroy(dev, &rt->shared);
    }
    vkrt_device_close(dev);
    free(rt);
}

/* -------------------------------------------------------------- accessors */

/* While frames are in flight the newest completed frame's buffers may be rewritten by the
 * device (parity buffers are reused every other frame), so nothing is handed out then. */
const uint8_t *sky_runtime_frame_bytes(const sky_runtime *rt, size_t *len) {
    const uint8_t *bytes = rt && rt->flight_count == 0 ? rt->last_bytes : NULL;
    if (len) *len = bytes ? rt->frame_bytes : 0;
    return bytes;
}

const float *sky_runtime_frame_floats(const sky_runtime *rt, size_t *count) {
    const float *floats = rt && rt->flight_count == 0 ? rt->last_floats : NULL;
    if (count) *count = floats ? (size_t)rt->view.led_count * 3 : 0;
    return floats;
}

uint64_t sky_runtime_frame_count(const sky_runtime *rt) {
    return rt ? rt->completed : 0;
}

void sky_runtime_get_stats(const sky_runtime *rt, sky_runtime_stats *stats) {
    if (!stats) return;
    if (!rt) {
        memset(stats, 0, sizeof *stats);
        return;
    }
    *stats = rt->stats;
}

void sky_runtime_reset_stats(sky_runtime *rt) {
    if (!rt) return;
    memset(&rt->stats, 0, sizeof rt->stats);
    rt->stats.path = rt->path;
}

sky_output_path sky_runtime_output_path(const sky_runtime *rt) {
    return rt ? rt->path : SKY_OUTPUT_HOST;
}

const char *sky_runtime_output_reason(const sky_runtime *rt) {
    return rt ? rt->path_reason : "";
}

const char *sky_runtime_device_name(const sky_runtime *rt) {
    return rt ? rt->dev.props.deviceName : "";
}

sky_device_type sky_runtime_device_type(const sky_runtime *rt) {
    return rt ? rt->dev.type : SKY_DEVICE_OTHER;
}

bool sky_runtime_led_texels(const sky_runtime *rt) {
    return rt && rt->shared.has_texels;
}

void sky_runtime_emit_options(const sky_runtime *rt, sky_emit_options *options) {
    sky_emit_options_init(options);
    if (options) options->led_texels = sky_runtime_led_texels(rt);
}

uint32_t sky_runtime_local_size(const sky_runtime *rt) {
    return rt ? rt->shared.local_size : 0;
}

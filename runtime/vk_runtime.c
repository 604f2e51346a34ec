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
 * buffer p and, without zero-copy, output buffer p. With zero-copy, the output
 * binding is the frame file's slot for the writer's frame number. At most two
 * frames are in flight, so parity-indexed resources are never reused while the
 * device still reads them. `prev` lives in one of two pairs of buffers: the
 * current pattern's, and the incoming one's during a crossfade
 * (sky_runtime_render_mix). Each pair ping-pongs on its own (prev_w: the
 * buffer its next frame writes), so frames that do not render a pattern
 * (holds, plain frames between two mix frames) do not upset it. So there is
 * one descriptor set per (pair, ping-pong side, parity, slot) for a pattern
 * writing the output ("direct" sets), one per (role, pair, side, parity) for a
 * pattern writing a layer for the post pass (vk_post.c: brightness below 1 and
 * crossfades), and one for the warm-up dispatch of a new pipeline. The picture
 * block (binding 8) has a buffer per (pair, parity) too: each pattern of a
 * crossfade reads its own pictures (sky_runtime_set_pictures for the current,
 * sky_runtime_set_incoming_pictures for the incoming one), and at the end of
 * the fade they stay with the pattern, as its prev does, with no new copy.
 *
 * Publishing follows the frame file's seqlock: with zero-copy the slot is
 * marked "being written" (sky_frame_writer_begin) before the dispatch that
 * writes it is submitted, and published once its fence signalled; the writer
 * has one frame open at a time, so with zero-copy a new frame is submitted
 * only after the previous one was published (its per-frame evaluation still
 * overlaps the device's work). With the copy path, begin, one memcpy and
 * publish all happen after the fence.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "cpu_runtime.h"
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

/* Roles of a pattern in a frame: the current one, the incoming one of a crossfade. */
enum { RT_CURRENT = 0, RT_INCOMING = 1 };

typedef struct rt_flight {
    uint64_t n;        /* frame sequence number since create */
    uint32_t extra_ms; /* the first frame of a new shader: time allowed for compiling it */
    uint8_t *slot;     /* zero-copy: the slot begun for this frame */
    bool uses_prev;    /* the program that rendered it writes the full-precision colours */
    uint32_t pair, w;  /* ... into prev[pair][w] */
    bool post, mix;    /* went through the post pass; blended two patterns */
    float amount;      /* the crossfade's amount */
    uint64_t start_ns; /* when submit started (latency) */
} rt_flight;

struct sky_runtime {
    sky_audio_values audio; /* sky_runtime_set_audio; read when has_audio */
    bool has_audio;
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

    uint32_t slot_sets; /* output slots a set may bind: slot_count with zero-copy, else 1 */

    vkrt_buffer leds, strips;
    VkBufferView led_texels; /* binding 6: RGBA32F view of `leds`, or VK_NULL_HANDLE */
    VkBufferView picture_texels[2][2]; /* binding 9: R32_UINT views of `pictures`, with binding 6 */
    vkrt_buffer prev[2][2];  /* [pair][side]: a frame reads side 1-w and writes side w */
    uint32_t prev_w[2];      /* per pair: the side its next frame writes */
    uint32_t cur_pair;       /* the current pattern's pair; the incoming one has the other */
    vkrt_buffer block[2][2]; /* binding 0: sky_info and sky_u[], [role][parity] */
    vkrt_buffer out[2];      /* host and copy paths */
    vkrt_buffer slots;       /* zero-copy: the imported slot region */
    vkrt_buffer layer[2];    /* [role]: undimmed bytes for the post pass */
    vkrt_buffer post_params[2];
    vkrt_post post;
    /* Binding 8, [pair][parity]: the picture block (sky/picture.h) of the pattern in that pair,
     * so the two patterns of a crossfade each sample their own pictures. They follow the pair
     * like prev does: at the end of a fade the incoming pattern's become the current ones. */
    vkrt_buffer pictures[2][2];
    size_t picture_words;             /* what each holds */
    const uint32_t *picture_block[2]; /* [pair]: the caller's block, NULL: none */
    uint64_t picture_gen[2];          /* [pair]: the block's generation */
    uint64_t picture_copied[2][2];    /* [pair][parity]: the generation each buffer holds */
    VkFence fences[2];
    VkCommandBuffer clear[2]; /* per pair: zeroes both sides */
    bool clear_pending[2];

    /* Show controls. */
    float brightness;
    uint64_t mix_owner; /* the pipeline whose prev and frame counter the other pair holds */
    bool has_picture;   /* a frame was rendered: what a hold shows */
    bool held_valid;    /* `held` has the newest rendered frame, undimmed */
    const uint8_t *pic_a, *pic_b; /* ... else it is computed from these */
    float pic_amount;
    uint8_t *held;     /* frame_bytes, on demand */
    uint8_t *hold_out; /* host path: where held frames are published */

    /* Warm-up of new pipelines (sky_runtime_pipeline_build, any thread), under warm_lock. */
    pthread_mutex_t warm_lock;
    bool warm_lock_ready;
    vkrt_buffer warm_prev[2], warm_block, warm_out;
    VkFence warm_fence;
    VkCommandBuffer warm_clear; /* zeroes warm_prev, before the first warm-up */
    bool warm_cleared;
    vkrt_kernel *warm_stuck; /* a warm-up that timed out: still on the device */
    uint64_t pipeline_ids;
    /* While a warm-up is on the queue: the longest it may hold up the show's frames
     * queued behind it (its wait limit), added to their own (render thread reads it). */
    _Atomic uint32_t warm_extra_ms;

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

    cpurt *cpu; /* the CPU backend (device "cpu"): every call goes there, nothing above is used */
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

/*
 * The largest layout the device can run: the biggest per-LED buffer, the LED
 * inputs (48 bytes an LED), must fit maxStorageBufferRange (Raspberry Pi 4:
 * 2^27 bytes, 2,796,202 LEDs). Checked before anything is allocated.
 */
static sky_status rt_check_fits(const sky_runtime *rt, char *error, size_t error_len) {
    uint64_t range = rt->dev.props.limits.maxStorageBufferRange;
    uint64_t max_leds = range / sizeof(sky_led_input);
    if (rt->view.led_count <= max_leds) return SKY_OK;
    frame_error(error, error_len,
                "the layout has %u LEDs, more than %s can run: at most %llu (its "
                "maxStorageBufferRange of %llu bytes must hold the LED inputs, %zu bytes an LED)",
                rt->view.led_count, rt->dev.props.deviceName, (unsigned long long)max_leds,
                (unsigned long long)range, sizeof(sky_led_input));
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
    bool zero_copy = rt->path == SKY_OUTPUT_ZERO_COPY; /* the shader writes the slots */
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
        {&rt->prev[0][0], leds * 12, 0, local | host, 0, "prev"},
        {&rt->prev[0][1], leds * 12, 0, local | host, 0, "prev"},
        {&rt->prev[1][0], leds * 12, 0, local | host, 0, "prev"},
        {&rt->prev[1][1], leds * 12, 0, local | host, 0, "prev"},
        {&rt->block[0][0], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        {&rt->block[0][1], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        {&rt->block[1][0], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        {&rt->block[1][1], block_bytes, host, local | coherent, frame_uniforms, "per-frame values"},
        /* Read by the host only to hold a crossfaded or dimmed frame. */
        {&rt->layer[0], rt_out_bytes(rt), host, local | cached, 0, "layer"},
        {&rt->layer[1], rt_out_bytes(rt), host, local | cached, 0, "layer"},
        {&rt->post_params[0], sizeof(vkrt_post_params), host, coherent, 0, "post parameters"},
        {&rt->post_params[1], sizeof(vkrt_post_params), host, coherent, 0, "post parameters"},
        /* Written once per new picture, read by every LED: device-local where host-visible. */
        {&rt->pictures[0][0], 4u * rt->picture_words, host, local | coherent, texels, "pictures"},
        {&rt->pictures[0][1], 4u * rt->picture_words, host, local | coherent, texels, "pictures"},
        {&rt->pictures[1][0], 4u * rt->picture_words, host, local | coherent, texels, "pictures"},
        {&rt->pictures[1][1], 4u * rt->picture_words, host, local | coherent, texels, "pictures"},
        /* The warm-up's scratch: the same sizes as the show's buffers. */
        {&rt->warm_prev[0], leds * 12, 0, local, 0, "warm-up prev"},
        {&rt->warm_prev[1], leds * 12, 0, local, 0, "warm-up prev"},
        {&rt->warm_block, block_bytes, host, local | coherent, frame_uniforms, "warm-up values"},
        {&rt->warm_out, rt_out_bytes(rt), 0, local, 0, "warm-up output"},
        {&rt->out[0], zero_copy ? 0 : rt_out_bytes(rt), host, cached, 0, "output"},
        {&rt->out[1], zero_copy ? 0 : rt_out_bytes(rt), host, cached, 0, "output"},
    };
    size_t count = sizeof plan / sizeof plan[0];
    for (size_t i = 0; i < count && status == SKY_OK; i++) {
        if (plan[i].bytes == 0) continue;
        status = rt_check_range(rt, plan[i].bytes, plan[i].what, error, error_len);
        if (status == SKY_OK)
            status =
                vkrt_buffer_create(&rt->dev, plan[i].bytes, plan[i].required, plan[i].preferred,
                                   plan[i].usage, plan[i].what, plan[i].buf, error, error_len);
    }
    /* No block yet: a count of 0, so every picture samples black. */
    for (int i = 0; i < 4 && status == SKY_OK; i++) {
        vkrt_buffer *buf = &rt->pictures[i / 2][i % 2];
        memset(buf->map, 0, rt->picture_words * 4u);
        status = vkrt_buffer_flush(&rt->dev, buf, error, error_len);
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
 * The optional binding 6: an RGBA32F texel view of the LED inputs (three
 * texels per LED, as sky_led_input is 48 bytes). NULL when created, else why the device cannot (the layout then
 * leaves binding 6 out and shaders that read it are refused).
 */
static const char *rt_create_texel_view(sky_runtime *rt, char *why, size_t why_len) {
    if (!vkrt_device_texel_format(&rt->dev)) {
        snprintf(why, why_len, "no RGBA32F uniform texel buffers");
        return why;
    }
    uint64_t texels = (sizeof(sky_led_input) / 16) * (uint64_t)rt->view.led_count;
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
    /* Binding 9 comes with binding 6: one option (sky_emit_options.led_texels) for both.
     * R32_UINT uniform texel buffers are required of every Vulkan device. */
    if (rt->picture_words > rt->dev.props.limits.maxTexelBufferElements) {
        snprintf(why, why_len, "a picture block of %zu words exceeds maxTexelBufferElements %u",
                 rt->picture_words, rt->dev.props.limits.maxTexelBufferElements);
        return why;
    }
    for (int i = 0; i < 4; i++) {
        VkBufferView *view = &rt->picture_texels[i / 2][i % 2];
        VkBufferViewCreateInfo pic = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
            .buffer = rt->pictures[i / 2][i % 2].buffer,
            .format = VK_FORMAT_R32_UINT,
            .offset = 0,
            .range = 4u * rt->picture_words,
        };
        r = rt->dev.vk.vkCreateBufferView(rt->dev.device, &pic, NULL, view);
        if (r != VK_SUCCESS) {
            *view = VK_NULL_HANDLE;
            snprintf(why, why_len, "vkCreateBufferView (pictures) failed: %s", vkrt_result_str(r));
            return why;
        }
    }
    return NULL;
}

/* Binding 7's range: the per-frame block, as much of it as a uniform buffer may span. */
static VkDeviceSize rt_frame_uniform_range(const sky_runtime *rt) {
    VkDeviceSize bytes = RT_INFO_BYTES + 4u * RT_MAX_UNIFORMS;
    VkDeviceSize max = rt->dev.props.limits.maxUniformBufferRange;
    return bytes < max ? bytes : max;
}

/* Descriptor set indices (see the top of this file). */
static uint32_t rt_direct_set(const sky_runtime *rt, uint32_t pair, uint32_t w, uint32_t p,
                              uint32_t slot) {
    return ((pair * 2 + w) * 2 + p) * rt->slot_sets + slot;
}

static uint32_t rt_layer_set(const sky_runtime *rt, uint32_t role, uint32_t pair, uint32_t w,
                             uint32_t p) {
    return 8 * rt->slot_sets + ((role * 2 + pair) * 2 + w) * 2 + p;
}

static uint32_t rt_warm_set(const sky_runtime *rt) {
    return 8 * rt->slot_sets + 16;
}

static uint32_t rt_set_count(const sky_runtime *rt) {
    return rt_warm_set(rt) + 1;
}

/* The output binding for parity p and slot k: the slot (zero-copy) or output buffer p. */
static VkDescriptorBufferInfo rt_out_binding(const sky_runtime *rt, uint32_t p, uint32_t k) {
    if (rt->path == SKY_OUTPUT_ZERO_COPY)
        return (VkDescriptorBufferInfo){rt->slots.buffer, (uint64_t)k * rt->slot_stride,
                                        rt_out_bytes(rt)};
    return (VkDescriptorBufferInfo){rt->out[p].buffer, 0, VK_WHOLE_SIZE};
}

/* Set `set`: binding 8 (and 9) are pair q's picture buffer of parity p. */
static void rt_write_set(sky_runtime *rt, uint32_t set, const vkrt_buffer *block,
                         const vkrt_buffer *prev, const vkrt_buffer *cur,
                         VkDescriptorBufferInfo out, uint32_t q, uint32_t p) {
    vkrt_set_buffers b = {
        .buffer = {block->buffer, rt->leds.buffer, rt->strips.buffer, prev->buffer, cur->buffer,
                   out.buffer},
        .offset = {0, 0, 0, 0, 0, out.offset},
        .range = {VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE, VK_WHOLE_SIZE,
                  out.range},
        .led_texels = rt->led_texels,
        .frame_uniform_range = rt_frame_uniform_range(rt),
        .pictures = rt->pictures[q][p].buffer,
        .picture_texels = rt->picture_texels[q][p],
    };
    vkrt_shared_write_set(&rt->dev, &rt->shared, set, &b);
}

static void rt_write_sets(sky_runtime *rt) {
    for (uint32_t q = 0; q < 2; q++)
        for (uint32_t w = 0; w < 2; w++)
            for (uint32_t p = 0; p < 2; p++) {
                for (uint32_t k = 0; k < rt->slot_sets; k++)
                    rt_write_set(rt, rt_direct_set(rt, q, w, p, k), &rt->block[RT_CURRENT][p],
                                 &rt->prev[q][1 - w], &rt->prev[q][w], rt_out_binding(rt, p, k), q,
                                 p);
                for (uint32_t role = 0; role < 2; role++)
                    rt_write_set(rt, rt_layer_set(rt, role, q, w, p), &rt->block[role][p],
                                 &rt->prev[q][1 - w], &rt->prev[q][w],
                                 (VkDescriptorBufferInfo){rt->layer[role].buffer, 0, VK_WHOLE_SIZE},
                                 q, p);
            }
    rt_write_set(rt, rt_warm_set(rt), &rt->warm_block, &rt->warm_prev[0], &rt->warm_prev[1],
                 (VkDescriptorBufferInfo){rt->warm_out.buffer, 0, VK_WHOLE_SIZE}, 0, 0);
    for (uint32_t p = 0; p < 2; p++)
        for (uint32_t k = 0; k < rt->slot_sets; k++) {
            VkDescriptorBufferInfo b[4] = {
                {rt->post_params[p].buffer, 0, VK_WHOLE_SIZE},
                {rt->layer[RT_CURRENT].buffer, 0, VK_WHOLE_SIZE},
                {rt->layer[RT_INCOMING].buffer, 0, VK_WHOLE_SIZE},
                rt_out_binding(rt, p, k),
            };
            vkrt_post_write_set(&rt->dev, &rt->post, p * rt->slot_sets + k, b);
        }
}

static sky_status rt_create_sync(sky_runtime *rt, char *error, size_t error_len) {
    VkFence *fences[3] = {&rt->fences[0], &rt->fences[1], &rt->warm_fence};
    memset(rt->warm_block.map, 0, rt->warm_block.size);
    for (int i = 0; i < 3; i++) {
        VkFenceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        VkResult r = rt->dev.vk.vkCreateFence(rt->dev.device, &info, NULL, fences[i]);
        if (r != VK_SUCCESS) return vkrt_check(r, "vkCreateFence", error, error_len);
    }
    if (pthread_mutex_init(&rt->warm_lock, NULL) != 0) {
        frame_error(error, error_len, "cannot create the warm-up lock");
        return SKY_ERR_INTERNAL;
    }
    rt->warm_lock_ready = true;
    sky_status status = SKY_OK;
    for (int q = 0; q < 2 && status == SKY_OK; q++) {
        rt->clear_pending[q] = true; /* prev starts at 0 */
        status = vkrt_record_clear(&rt->dev, &rt->shared, rt->prev[q], 2, &rt->clear[q], error,
                                   error_len);
    }
    /* The warm-up reads its prev: zeroes rather than uninitialized memory. */
    if (status == SKY_OK)
        status = vkrt_record_clear(&rt->dev, &rt->shared, rt->warm_prev, 2, &rt->warm_clear, error,
                                   error_len);
    return status;
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
    if (cpurt_selected(options->device)) {
        status = cpurt_create(options, &rt->cpu, error, error_len);
        if (status != SKY_OK) {
            free(rt);
            return status;
        }
        *runtime = rt;
        return SKY_OK;
    }
    rt->layout = options->layout;
    rt->view = (sky_layout_view){options->layout->led_count, options->layout->strip_count,
                                 options->layout->strip_sizes, options->layout->xy,
                                 options->layout->z};
    rt->writer = options->writer;
    rt->frames_in_flight = options->frames_in_flight ? options->frames_in_flight : 2;
    rt->timeout_ms = options->wait_timeout_ms ? options->wait_timeout_ms : RT_DEFAULT_TIMEOUT_MS;
    rt->frame_bytes = (size_t)rt->view.led_count * 3;
    /* At least the header and every entry: shaders read an entry before checking the count. */
    const size_t entries = SKY_PICTURE_HEADER_WORDS + SKY_MAX_PICTURES * SKY_PICTURE_ENTRY_WORDS;
    rt->picture_words = options->picture_words > entries ? options->picture_words : entries;

    status = vkrt_device_open(options->device, options->validate, &rt->dev, error, error_len);
    if (status == SKY_OK) status = rt_check_fits(rt, error, error_len);
    if (status != SKY_OK) {
        vkrt_device_close(&rt->dev);
        free(rt);
        return status;
    }
    rt->brightness = 1.0f;
    rt_choose_path(rt, options->force_copy);
    rt->slot_sets = rt->path == SKY_OUTPUT_ZERO_COPY ? rt->slot_count : 1;
    status = rt_create_buffers(rt, error, error_len);
    char texel_why[160];
    const char *no_texels =
        status == SKY_OK ? rt_create_texel_view(rt, texel_why, sizeof texel_why) : NULL;
    if (status == SKY_OK)
        status = vkrt_shared_create(&rt->dev, rt_set_count(rt), rt->view.led_count,
                                    options->local_size, no_texels, &rt->shared, error, error_len);
    rt->shared.warm_set = rt_warm_set(rt);
    if (status == SKY_OK)
        status = vkrt_post_create(&rt->dev, 2 * rt->slot_sets, &rt->post, error, error_len);
    if (status == SKY_OK) status = rt_upload_leds(rt, error, error_len);
    if (status == SKY_OK) status = rt_create_sync(rt, error, error_len);
    if (status == SKY_OK) {
        rt_write_sets(rt);
        status = vkrt_post_record(&rt->dev, rt->shared.commands, &rt->post,
                                  (uint32_t)(rt_out_bytes(rt) / 4), error, error_len);
    }
    if (status != SKY_OK) {
        /* Nothing was submitted for a frame, so freeing cannot wait on anything. */
        rt->lost = status == SKY_ERR_DEVICE_LOST;
        sky_runtime_free(rt);
        return status;
    }
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
    sky_runtime *owner;
    uint64_t id;    /* unique in its runtime, from 1: what mix_owner names */
    uint64_t frame; /* its frame counter as the incoming pattern of a crossfade */
    vkrt_kernel *kernel;
    vkrt_eval_fn eval;
    void *context;
    cpurt_pipeline *cpu; /* the CPU backend's, instead of kernel */
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
    if (kernel->uses_prev && !(old && old->uses_prev)) rt->clear_pending[rt->cur_pair] = true;
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

/* A program's kernel: its SPIR-V, and its per-frame section evaluated on the CPU. */
static vkrt_kernel_source rt_program_source(const sky_program *program, const uint32_t *words,
                                            size_t word_count) {
    return (vkrt_kernel_source){
        .spirv = words,
        .word_count = word_count,
        .uniform_count = sky_program_uniform_count(program),
        .uses_prev = sky_program_uses_prev(program),
        .eval = rt_eval_program,
        .context = (void *)program,
    };
}

/* The CPU backend's pipeline: its compiled kernel (cc, or the cache). */
static sky_status rt_cpu_pipeline_build(sky_runtime *rt, const sky_program *program,
                                        sky_runtime_pipeline **pipeline, char *error,
                                        size_t error_len) {
    sky_runtime_pipeline *p = calloc(1, sizeof *p);
    if (!p) return SKY_ERR_NOMEM;
    sky_status status = cpurt_pipeline_build(rt->cpu, program, &p->cpu, error, error_len);
    if (status != SKY_OK) {
        free(p);
        return status;
    }
    p->owner = rt;
    p->id = __atomic_add_fetch(&rt->pipeline_ids, 1, __ATOMIC_RELAXED);
    *pipeline = p;
    return SKY_OK;
}

static sky_status rt_cpu_set_program(sky_runtime *rt, const sky_program *program, char *error,
                                     size_t error_len) {
    sky_runtime_pipeline *p = NULL;
    sky_status status = rt_cpu_pipeline_build(rt, program, &p, error, error_len);
    return status == SKY_OK ? sky_runtime_set_pipeline(rt, p, error, error_len) : status;
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
    if (rt->cpu) return rt_cpu_set_program(rt, program, error, error_len);
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
    if (rt->cpu && program) return sky_runtime_set_program(rt, program, error, error_len);
    if (!program || !words || word_count == 0) {
        frame_error(error, error_len, "sky_runtime_set_program_spirv: %s is NULL or empty",
                    !program ? "program" : "the SPIR-V");
        return SKY_ERR_INVALID_ARG;
    }
    if ((status = rt_check_cost(program, error, error_len)) != SKY_OK) return status;
    vkrt_kernel_source source = rt_program_source(program, words, word_count);
    return vkrt_runtime_set_kernel(rt, &source, error, error_len);
}

static VkResult rt_wait_fence(const sky_runtime *rt, VkFence fence, uint64_t timeout_ns);

/*
 * Waits for a warm-up that timed out earlier (warm_lock held): its kernel is
 * freed once the device is done with it. Fails while it still runs, since its
 * scratch buffers are still in use.
 */
static sky_status rt_warm_unstick(sky_runtime *rt, char *error, size_t error_len) {
    if (!rt->warm_stuck) return SKY_OK;
    uint64_t timeout_ms = (uint64_t)rt->timeout_ms + rt->warm_stuck->compile_ms;
    if (rt_wait_fence(rt, rt->warm_fence, timeout_ms * 1000000u) == VK_TIMEOUT) {
        frame_error(error, error_len,
                    "an earlier pattern's first frame is still running on the device; try again "
                    "later");
        return SKY_ERR_LIMIT;
    }
    vkrt_kernel_destroy(&rt->dev, &rt->shared, rt->warm_stuck);
    rt->warm_stuck = NULL;
    atomic_store(&rt->warm_extra_ms, 0);
    return SKY_OK;
}

/*
 * The warm-up: one dispatch of the new kernel, with the show's specialization
 * and descriptor shapes (the same sizes, the same texel view: llvmpipe keys
 * its compiled variants on such state) but scratch buffers, so that drivers
 * that compile at the first dispatch (lavapipe: ~50 ms for plasma.sky) do it
 * here rather than at the show's first frame after the swap. One work group
 * (the first LEDs) is enough for that, and holds up the show's frames queued
 * behind it no longer than the compile. Its per-frame values are the
 * program's at t = 0 with default params. Waits with the runtime's timeout
 * plus the compile allowance; a kernel that does not finish in time is
 * refused and kept until the device is done with it (*stuck).
 */
static sky_status rt_warm_kernel(sky_runtime *rt, sky_runtime_pipeline *p,
                                 const vkrt_kernel_source *source, bool *stuck, char *error,
                                 size_t error_len) {
    pthread_mutex_lock(&rt->warm_lock);
    p->id = ++rt->pipeline_ids;
    sky_status status = rt_warm_unstick(rt, error, error_len);
    uint32_t *info = rt->warm_block.map;
    info[0] = rt->view.led_count;
    info[1] = rt->view.strip_count;
    info[2] = 0;
    info[3] = 0;
    sky_frame_inputs frame = {.t = 0, .dt = 0, .frame = 0, .params = NULL};
    float *uniforms = (float *)((uint8_t *)rt->warm_block.map + RT_INFO_BYTES);
    if (status == SKY_OK) {
        status = source->eval(source->context, &rt->view, &frame, uniforms);
        if (status != SKY_OK)
            frame_error(error, error_len, "evaluating the pattern's per-frame values failed (%s)",
                        sky_status_str(status));
    }
    if (status == SKY_OK) status = vkrt_buffer_flush(&rt->dev, &rt->warm_block, error, error_len);
    VkCommandBuffer cmds[2];
    uint32_t count = 0;
    if (!rt->warm_cleared) cmds[count++] = rt->warm_clear;
    cmds[count++] = p->kernel->commands[rt_warm_set(rt)];
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = count,
        .pCommandBuffers = cmds,
    };
    VkResult r = VK_SUCCESS;
    uint64_t timeout_ms = (uint64_t)rt->timeout_ms + p->kernel->compile_ms;
    if (status == SKY_OK) {
        /* Set before the submit: a show frame queued after it reads it after its own submit. */
        atomic_store(&rt->warm_extra_ms,
                     timeout_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)timeout_ms);
        r = rt->dev.vk.vkResetFences(rt->dev.device, 1, &rt->warm_fence);
        if (r == VK_SUCCESS) r = vkrt_queue_submit(&rt->dev, &submit, rt->warm_fence);
        if (r == VK_SUCCESS) {
            rt->warm_cleared = true;
            r = rt_wait_fence(rt, rt->warm_fence, timeout_ms * 1000000u);
            p->kernel->warmed = r == VK_SUCCESS;
            if (r == VK_SUCCESS) atomic_store(&rt->warm_extra_ms, 0);
            if (r == VK_TIMEOUT) {
                rt->warm_stuck = p->kernel;
                *stuck = true;
                frame_error(error, error_len,
                            "the pattern's first frame did not finish within %llu ms: too slow "
                            "for this device and layout",
                            (unsigned long long)timeout_ms);
                status = SKY_ERR_LIMIT;
            }
        }
        if (r != VK_SUCCESS && r != VK_TIMEOUT) {
            atomic_store(&rt->warm_extra_ms, 0);
            status = vkrt_check(r, "warming up the pipeline", error, error_len);
        }
    }
    pthread_mutex_unlock(&rt->warm_lock);
    return status;
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
    if (rt->cpu) return rt_cpu_pipeline_build(rt, program, pipeline, error, error_len);
    sky_runtime_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        frame_error(error, error_len, "out of memory for a pipeline");
        return SKY_ERR_NOMEM;
    }
    vkrt_kernel_source source = rt_program_source(program, words, word_count);
    status = rt_build_kernel(rt, &source, &p->kernel, error, error_len);
    bool stuck = false;
    if (status == SKY_OK) status = rt_warm_kernel(rt, p, &source, &stuck, error, error_len);
    if (status != SKY_OK) {
        if (!stuck) vkrt_kernel_destroy(&rt->dev, &rt->shared, p->kernel);
        free(p);
        return status;
    }
    p->owner = rt;
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
    if (pipeline->owner != rt) {
        frame_error(error, error_len,
                    "sky_runtime_set_pipeline: the pipeline was built for another runtime");
        sky_runtime_pipeline_free(pipeline->owner, pipeline);
        return SKY_ERR_INVALID_ARG;
    }
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) {
        sky_runtime_pipeline_free(rt, pipeline);
        return status;
    }
    if (rt->cpu) {
        status = cpurt_set_pipeline(rt->cpu, pipeline->cpu, error, error_len);
        free(pipeline);
        return status;
    }
    bool from_mix = rt->mix_owner != 0 && pipeline->id == rt->mix_owner;
    if (from_mix) {
        /* The end of a crossfade: it keeps its prev (the other pair) and its frame counter. */
        rt->cur_pair = 1 - rt->cur_pair;
        rt->mix_owner = 0;
        vkrt_kernel *old = rt->kernel;
        rt->kernel = NULL; /* so that install keeps the pair as it is */
        if (old) {
            old->next_retired = rt->retired;
            rt->retired = old;
        }
    }
    rt_install_kernel(rt, pipeline->kernel, pipeline->eval, pipeline->context);
    if (from_mix) {
        rt->clear_pending[rt->cur_pair] = false;
        rt->program_frame = pipeline->frame;
        /* The incoming pictures (its pair's, already in both parities' buffers) are now the
         * current ones; the outgoing pattern's block, which its caller is about to free, is
         * let go. */
        uint32_t out = 1 - rt->cur_pair;
        rt->picture_block[out] = NULL;
        rt->picture_gen[out]++;
    }
    free(pipeline);
    return SKY_OK;
}

bool vkrt_pipeline_warmed(const sky_runtime_pipeline *pipeline) {
    return pipeline && (pipeline->cpu || pipeline->kernel->warmed);
}

void sky_runtime_pipeline_free(sky_runtime *rt, sky_runtime_pipeline *pipeline) {
    if (!pipeline) return;
    cpurt_pipeline_free(pipeline->cpu);
    if (rt && !pipeline->cpu) vkrt_kernel_destroy(&rt->dev, &rt->shared, pipeline->kernel);
    free(pipeline);
}

void sky_runtime_set_audio(sky_runtime *rt, const sky_audio_values *values) {
    if (!rt) return;
    rt->has_audio = values != NULL;
    if (values) rt->audio = *values;
    if (rt->cpu) cpurt_set_audio(rt->cpu, values);
}

sky_status sky_runtime_restart(sky_runtime *rt, char *error, size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (rt->cpu) return cpurt_restart(rt->cpu, error, error_len);
    rt->program_frame = 0;
    /* Queue order puts the clear after the frames in flight and before the next one. */
    rt->clear_pending[rt->cur_pair] = true;
    return SKY_OK;
}

/* ------------------------------------------------------------------ frames */

static void rt_stage_add(sky_runtime_stage *stage, uint64_t ns) {
    stage->last_ns = ns;
    stage->total_ns += ns;
    if (ns > stage->max_ns) stage->max_ns = ns;
}

/* vkWaitForFences for up to timeout_ns of this process's running time (see RT_WAIT_SLICE_NS). */
static VkResult rt_wait_fence(const sky_runtime *rt, VkFence fence, uint64_t timeout_ns) {
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
    const vkrt_buffer *floats = &rt->prev[f->pair][f->w];
    if (f->uses_prev) s = vkrt_buffer_invalidate(&rt->dev, floats, msg, sizeof msg);
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
    rt->last_floats = f->uses_prev ? floats->map : NULL;
    /* What a hold shows: this frame undimmed, from the layers when it went through the post pass.
     */
    rt->has_picture = true;
    rt->held_valid = false;
    rt->pic_a = f->post ? rt->layer[RT_CURRENT].map : rt->last_bytes;
    rt->pic_b = f->mix ? rt->layer[RT_INCOMING].map : NULL;
    rt->pic_amount = f->amount;
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

/* One pattern of a frame: the current one, or the incoming one of a crossfade. */
typedef struct rt_job {
    vkrt_kernel *kernel;
    vkrt_eval_fn eval;
    void *context;
    uint64_t frame; /* the pattern's own frame counter */
    double t, dt;
    const double *params;
} rt_job;

/*
 * Pair q's picture block into its buffer of parity p, when it changed since
 * that buffer was last written: the frame that last read this buffer (parity
 * p, whichever role pair q had then) is complete by now, as for binding 0.
 */
static sky_status rt_copy_pictures(sky_runtime *rt, uint32_t q, uint32_t p, char *error,
                                   size_t error_len) {
    if (rt->picture_copied[q][p] == rt->picture_gen[q]) return SKY_OK;
    vkrt_buffer *buf = &rt->pictures[q][p];
    if (rt->picture_block[q])
        memcpy(buf->map, rt->picture_block[q], (size_t)rt->picture_block[q][1] * 4u);
    else
        memset(buf->map, 0, SKY_PICTURE_HEADER_WORDS * 4u);
    rt->picture_copied[q][p] = rt->picture_gen[q];
    return vkrt_buffer_flush(&rt->dev, buf, error, error_len);
}

/* sky_runtime_set_pictures (incoming false) and sky_runtime_set_incoming_pictures. */
static sky_status rt_set_pictures(sky_runtime *rt, bool incoming, const uint32_t *block,
                                  char *error, size_t error_len) {
    const char *fn = incoming ? "sky_runtime_set_incoming_pictures" : "sky_runtime_set_pictures";
    if (!rt) {
        frame_error(error, error_len, "%s: runtime is NULL", fn);
        return SKY_ERR_INVALID_ARG;
    }
    if (block && (block[2] != SKY_PICTURE_MAGIC || block[1] < SKY_PICTURE_HEADER_WORDS ||
                  block[0] > SKY_MAX_PICTURES ||
                  block[1] < SKY_PICTURE_HEADER_WORDS + block[0] * SKY_PICTURE_ENTRY_WORDS)) {
        frame_error(error, error_len, "%s: not a picture block", fn);
        return SKY_ERR_INVALID_ARG;
    }
    if (rt->cpu) return cpurt_set_pictures(rt->cpu, incoming, block, error, error_len);
    if (block && block[1] > rt->picture_words) {
        frame_error(error, error_len,
                    "%s: the pictures need %.1f MiB, more than the %.1f MiB this runtime was "
                    "created for (sky_runtime_options.picture_words)",
                    fn, block[1] * 4.0 / 1048576.0, rt->picture_words * 4.0 / 1048576.0);
        return SKY_ERR_LIMIT;
    }
    uint32_t q = incoming ? 1 - rt->cur_pair : rt->cur_pair;
    rt->picture_block[q] = block;
    rt->picture_gen[q]++;
    return SKY_OK;
}

sky_status sky_runtime_set_pictures(sky_runtime *rt, const uint32_t *block, char *error,
                                    size_t error_len) {
    return rt_set_pictures(rt, false, block, error, error_len);
}

sky_status sky_runtime_set_incoming_pictures(sky_runtime *rt, const uint32_t *block, char *error,
                                             size_t error_len) {
    return rt_set_pictures(rt, true, block, error, error_len);
}

/* Writes sky_info and the job's per-frame values into binding-0 buffer [role][p], and the
 * pictures of the job's pair into its picture buffer of parity p. */
static sky_status rt_eval_frame(sky_runtime *rt, uint32_t role, uint32_t p, const rt_job *job,
                                char *error, size_t error_len) {
    vkrt_buffer *block = &rt->block[role][p];
    uint32_t *info = block->map;
    info[0] = rt->view.led_count;
    info[1] = rt->view.strip_count;
    info[2] = 0;
    info[3] = 0;
    sky_frame_inputs frame = {.t = job->t,
                              .dt = job->dt,
                              .frame = job->frame,
                              .params = job->params,
                              .audio = rt->has_audio ? &rt->audio : NULL};
    float *uniforms = (float *)((uint8_t *)block->map + RT_INFO_BYTES);
    sky_status status = job->eval(job->context, &rt->view, &frame, uniforms);
    if (status != SKY_OK) {
        frame_error(error, error_len, "evaluating the %spattern's per-frame values failed (%s)",
                    role == RT_INCOMING ? "incoming " : "", sky_status_str(status));
        return status;
    }
    status = rt_copy_pictures(rt, role == RT_CURRENT ? rt->cur_pair : 1 - rt->cur_pair, p, error,
                              error_len);
    if (status != SKY_OK) return status;
    return vkrt_buffer_flush(&rt->dev, block, error, error_len);
}

/* The time allowed for a kernel's first frame, on top of the timeout. */
static uint32_t rt_first_frame_ms(const vkrt_kernel *kernel) {
    return kernel && kernel->last_submit == 0 ? kernel->compile_ms : 0;
}

/*
 * Submits frame n with the current pattern and, for a crossfade, `in` (else
 * NULL): each pattern's clear of its prev when pending, its dispatch (into the
 * output, or into its layer when the post pass follows), then the post pass.
 */
static sky_status rt_queue_submit(sky_runtime *rt, const rt_job *in, bool post, uint32_t p,
                                  uint32_t slot, char *error, size_t error_len) {
    VkCommandBuffer cmds[5];
    uint32_t count = 0;
    uint32_t q = rt->cur_pair, qi = 1 - q;
    bool clear_cur = rt->clear_pending[q] && rt->kernel->uses_prev;
    bool clear_in = in && rt->clear_pending[qi] && in->kernel->uses_prev;
    if (clear_cur) cmds[count++] = rt->clear[q];
    cmds[count++] = rt->kernel->commands[post ? rt_layer_set(rt, RT_CURRENT, q, rt->prev_w[q], p)
                                              : rt_direct_set(rt, q, rt->prev_w[q], p, slot)];
    if (in) {
        if (clear_in) cmds[count++] = rt->clear[qi];
        cmds[count++] = in->kernel->commands[rt_layer_set(rt, RT_INCOMING, qi, rt->prev_w[qi], p)];
    }
    if (post) cmds[count++] = rt->post.commands[p * rt->slot_sets + slot];
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = count,
        .pCommandBuffers = cmds,
    };
    VkResult r = rt->dev.vk.vkResetFences(rt->dev.device, 1, &rt->fences[p]);
    if (r == VK_SUCCESS) r = vkrt_queue_submit(&rt->dev, &submit, rt->fences[p]);
    if (r != VK_SUCCESS) {
        char msg[256];
        sky_status status = vkrt_check(r, "submitting a frame (vkQueueSubmit)", msg, sizeof msg);
        return rt_fail_lost(rt, status, msg, error, error_len);
    }
    if (clear_cur) rt->clear_pending[q] = false;
    if (clear_in) rt->clear_pending[qi] = false;
    return SKY_OK;
}

/*
 * Starts frame n: the current pattern (the job `cur`), and for a crossfade the
 * incoming one blended at `amount`. The post pass runs when there is an
 * incoming pattern or the brightness is below 1.
 */
static sky_status rt_submit(sky_runtime *rt, const rt_job *cur, const rt_job *in, float amount,
                            char *error, size_t error_len) {
    sky_status status;
    while (rt->flight_count >= rt->frames_in_flight)
        if ((status = rt_complete_oldest(rt, error, error_len)) != SKY_OK) return status;
    uint64_t n = rt->next_n;
    uint32_t p = (uint32_t)(n % 2);
    float level = rt->brightness;
    bool post = in || level < 1.0f;
    uint64_t t0 = vkrt_now_ns();
    /* Parity p's buffers were last used by frame n - 2, complete by now. */
    status = rt_eval_frame(rt, RT_CURRENT, p, cur, error, error_len);
    if (status == SKY_OK && in) status = rt_eval_frame(rt, RT_INCOMING, p, in, error, error_len);
    if (status != SKY_OK) return status;
    if (post) {
        vkrt_post_params *params = rt->post_params[p].map;
        *params =
            (vkrt_post_params){(uint32_t)(rt_out_bytes(rt) / 4), in ? amount : 0.0f, level, 0};
        status = vkrt_buffer_flush(&rt->dev, &rt->post_params[p], error, error_len);
        if (status != SKY_OK) return status;
    }
    uint64_t t1 = vkrt_now_ns();
    uint32_t slot_set = 0;
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
        slot_set = (uint32_t)k;
    }
    status = rt_queue_submit(rt, in, post, p, slot_set, error, error_len);
    if (status != SKY_OK) return status;
    uint64_t t2 = vkrt_now_ns();
    uint32_t tail = (rt->flight_head + rt->flight_count) % 2;
    uint32_t extra = rt_first_frame_ms(rt->kernel);
    if (in && rt_first_frame_ms(in->kernel) > extra) extra = rt_first_frame_ms(in->kernel);
    /* A warm-up queued before this frame delays it by up to its own limit (a device with
     * one queue runs them in order): read after the submit, see rt_warm_kernel. */
    uint32_t warm = atomic_load(&rt->warm_extra_ms);
    if (warm > extra) extra = warm;
    uint32_t q = rt->cur_pair;
    rt->flight[tail] = (rt_flight){.n = n,
                                   .extra_ms = extra,
                                   .slot = slot,
                                   .uses_prev = rt->kernel->uses_prev,
                                   .pair = q,
                                   .w = rt->prev_w[q],
                                   .post = post,
                                   .mix = in != NULL,
                                   .amount = in ? amount : 0.0f,
                                   .start_ns = t0};
    rt->flight_count++;
    rt->kernel->last_submit = n + 1;
    rt->prev_w[q] ^= 1u;
    if (in) {
        in->kernel->last_submit = n + 1;
        rt->prev_w[1 - q] ^= 1u;
    }
    rt->next_n++;
    rt_stage_add(&rt->stats.eval, t1 - t0);
    rt_stage_add(&rt->stats.submit, t2 - t1);
    return SKY_OK;
}

static sky_status rt_check_rendering(sky_runtime *rt, char *error, size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (!rt->kernel && !rt->cpu) {
        frame_error(error, error_len, "no pattern set: call sky_runtime_set_program first");
        return SKY_ERR_INVALID_ARG;
    }
    return SKY_OK;
}

static rt_job rt_current_job(const sky_runtime *rt, double t, double dt, const double *params) {
    return (rt_job){rt->kernel, rt->eval, rt->eval_context, rt->program_frame, t, dt, params};
}

sky_status sky_runtime_submit(sky_runtime *rt, double t, double dt, const double *params,
                              char *error, size_t error_len) {
    /* the CPU backend completes each frame in the call: nothing is ever in flight */
    if (rt && rt->cpu) return cpurt_render(rt->cpu, t, dt, params, error, error_len);
    sky_status status = rt_check_rendering(rt, error, error_len);
    if (status != SKY_OK) return status;
    rt_job cur = rt_current_job(rt, t, dt, params);
    status = rt_submit(rt, &cur, NULL, 0.0f, error, error_len);
    if (status == SKY_OK) rt->program_frame++;
    return status;
}

sky_status sky_runtime_finish(sky_runtime *rt, char *error, size_t error_len) {
    if (rt && rt->cpu) return SKY_OK;
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

/* ----------------------------------------------------------- show controls */

sky_status sky_runtime_set_brightness(sky_runtime *rt, double level, char *error,
                                      size_t error_len) {
    sky_status status = rt_check_usable(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (level != level) {
        frame_error(error, error_len, "sky_runtime_set_brightness: the level is NaN");
        return SKY_ERR_INVALID_ARG;
    }
    if (rt->cpu) return cpurt_set_brightness(rt->cpu, level, error, error_len);
    rt->brightness = level <= 0 ? 0.0f : level >= 1 ? 1.0f : (float)level;
    return SKY_OK;
}

sky_status sky_runtime_render_mix(sky_runtime *rt, double t, double dt, const double *params,
                                  sky_runtime_pipeline *incoming, double t_in, double dt_in,
                                  const double *params_in, double amount, char *error,
                                  size_t error_len) {
    sky_status status = rt_check_rendering(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (!incoming || incoming->owner != rt || amount != amount) {
        frame_error(error, error_len, "sky_runtime_render_mix: %s",
                    !incoming               ? "incoming is NULL"
                    : incoming->owner != rt ? "incoming was built for another runtime"
                                            : "amount is NaN");
        return SKY_ERR_INVALID_ARG;
    }
    if (rt->cpu)
        return cpurt_render_mix(rt->cpu, t, dt, params, incoming->cpu, t_in, dt_in, params_in,
                                amount, error, error_len);
    float a = amount <= 0 ? 0.0f : amount >= 1 ? 1.0f : (float)amount;
    if (incoming->id != rt->mix_owner) {
        /* A new incoming pattern: frame 0, reading black as prev, in the other pair. */
        rt->mix_owner = incoming->id;
        incoming->frame = 0;
        rt->clear_pending[1 - rt->cur_pair] = true;
    }
    rt_job cur = rt_current_job(rt, t, dt, params);
    rt_job in = {incoming->kernel, incoming->eval, incoming->context, incoming->frame, t_in, dt_in,
                 params_in};
    status = rt_submit(rt, &cur, &in, a, error, error_len);
    if (status != SKY_OK) return status;
    rt->program_frame++;
    incoming->frame++;
    return sky_runtime_finish(rt, error, error_len);
}

/* The newest rendered frame, undimmed, into `held` (once per rendered frame). */
static sky_status rt_capture_held(sky_runtime *rt, char *error, size_t error_len) {
    if (rt->held_valid) return SKY_OK;
    if (!rt->held && !(rt->held = malloc(rt->frame_bytes))) {
        frame_error(error, error_len, "out of memory for the held frame");
        return SKY_ERR_NOMEM;
    }
    sky_status status = SKY_OK;
    if (rt->pic_a == rt->layer[RT_CURRENT].map)
        status = vkrt_buffer_invalidate(&rt->dev, &rt->layer[RT_CURRENT], error, error_len);
    if (status == SKY_OK && rt->pic_b)
        status = vkrt_buffer_invalidate(&rt->dev, &rt->layer[RT_INCOMING], error, error_len);
    if (status != SKY_OK) return status;
    vkrt_post_blend(rt->pic_a, rt->pic_b, rt->pic_amount, 1.0f, rt->held, rt->frame_bytes);
    rt->held_valid = true;
    return SKY_OK;
}

sky_status sky_runtime_render_hold(sky_runtime *rt, char *error, size_t error_len) {
    sky_status status = sky_runtime_finish(rt, error, error_len);
    if (status != SKY_OK) return status;
    if (rt->cpu) return cpurt_render_hold(rt->cpu, error, error_len);
    if (!rt->has_picture) {
        frame_error(error, error_len, "sky_runtime_render_hold: no frame has been rendered yet");
        return SKY_ERR_INVALID_ARG;
    }
    if ((status = rt_capture_held(rt, error, error_len)) != SKY_OK) return status;
    uint8_t *out;
    if (rt->path == SKY_OUTPUT_HOST) {
        if (!rt->hold_out && !(rt->hold_out = malloc(rt->frame_bytes))) {
            frame_error(error, error_len, "out of memory for the held frame");
            return SKY_ERR_NOMEM;
        }
        out = rt->hold_out;
    } else {
        uint64_t frame_no;
        out = sky_frame_writer_begin(rt->writer, &frame_no);
        if (!out)
            return rt_fail_lost(rt, SKY_ERR_INTERNAL, "the frame writer returned no slot", error,
                                error_len);
    }
    vkrt_post_blend(rt->held, NULL, 0.0f, rt->brightness, out, rt->frame_bytes);
    if (rt->writer) sky_frame_writer_publish(rt->writer);
    rt->last_bytes = out;
    rt->completed++;
    return SKY_OK;
}

/* ------------------------------------------------------------------- free */

/*
 * After an error, frames may still be in flight. Their fences get one more
 * timeout; a device still busy after that (hung, or a driver thread still
 * running the shader) would block or fault in vkDestroy*, so then the Vulkan
 * objects are abandoned (leaked) and only host memory is freed.
 */
static bool rt_device_idle(sky_runtime *rt) {
    if (!rt->dev.device) return true;
    /* A warm-up that timed out (its pipeline is still on the device). */
    if (rt->warm_stuck && rt_wait_fence(rt, rt->warm_fence,
                                        ((uint64_t)rt->timeout_ms + rt->warm_stuck->compile_ms) *
                                            1000000u) == VK_TIMEOUT)
        return false;
    for (uint32_t i = 0; i < rt->flight_count; i++) {
        uint32_t p = (uint32_t)(rt->flight[(rt->flight_head + i) % 2].n % 2);
        VkResult r = rt->dev.vk.vkWaitForFences(rt->dev.device, 1, &rt->fences[p], VK_TRUE,
                                                (uint64_t)rt->timeout_ms * 1000000u);
        /* A lost device signals nothing but may be destroyed (the spec allows it). */
        if (r == VK_TIMEOUT) return false;
    }
    return true;
}

static void rt_free_host_memory(sky_runtime *rt) {
    if (rt->warm_lock_ready) pthread_mutex_destroy(&rt->warm_lock);
    free(rt->held);
    free(rt->hold_out);
    free(rt);
}

static void rt_free_host_only(sky_runtime *rt) {
    vkrt_kernel *kernels[3] = {rt->kernel, rt->warm_stuck, rt->retired};
    for (int i = 0; i < 3; i++)
        for (vkrt_kernel *k = kernels[i]; k;) {
            vkrt_kernel *next = k->next_retired;
            free(k->commands);
            free(k);
            k = i == 2 ? next : NULL;
        }
    free(rt->shared.sets);
    free(rt->post.sets);
    free(rt->post.commands);
    rt_free_host_memory(rt);
}

void sky_runtime_free(sky_runtime *rt) {
    if (!rt) return;
    if (rt->cpu) {
        cpurt_free(rt->cpu);
        free(rt);
        return;
    }
    if (!rt->lost) sky_runtime_finish(rt, NULL, 0);
    if ((rt->lost || rt->warm_stuck) && !rt_device_idle(rt)) {
        rt_free_host_only(rt);
        return;
    }
    vkrt_device *dev = &rt->dev;
    if (dev->device) {
        vkrt_kernel_destroy(dev, &rt->shared, rt->kernel);
        vkrt_kernel_destroy(dev, &rt->shared, rt->warm_stuck);
        while (rt->retired) {
            vkrt_kernel *next = rt->retired->next_retired;
            vkrt_kernel_destroy(dev, &rt->shared, rt->retired);
            rt->retired = next;
        }
        VkCommandBuffer clears[3] = {rt->clear[0], rt->clear[1], rt->warm_clear};
        for (int i = 0; i < 3; i++)
            if (clears[i])
                dev->vk.vkFreeCommandBuffers(dev->device, rt->shared.commands, 1, &clears[i]);
        vkrt_post_destroy(dev, rt->shared.commands, &rt->post);
        if (rt->warm_fence) dev->vk.vkDestroyFence(dev->device, rt->warm_fence, NULL);
        for (int i = 0; i < 2; i++) {
            if (rt->fences[i]) dev->vk.vkDestroyFence(dev->device, rt->fences[i], NULL);
            for (int j = 0; j < 2; j++) {
                vkrt_buffer_destroy(dev, &rt->prev[i][j]);
                vkrt_buffer_destroy(dev, &rt->block[i][j]);
            }
            vkrt_buffer_destroy(dev, &rt->out[i]);
            vkrt_buffer_destroy(dev, &rt->layer[i]);
            vkrt_buffer_destroy(dev, &rt->post_params[i]);
            for (int j = 0; j < 2; j++) vkrt_buffer_destroy(dev, &rt->pictures[i][j]);
            vkrt_buffer_destroy(dev, &rt->warm_prev[i]);
        }
        vkrt_buffer_destroy(dev, &rt->warm_block);
        vkrt_buffer_destroy(dev, &rt->warm_out);
        if (rt->led_texels) dev->vk.vkDestroyBufferView(dev->device, rt->led_texels, NULL);
        for (int i = 0; i < 4; i++)
            if (rt->picture_texels[i / 2][i % 2])
                dev->vk.vkDestroyBufferView(dev->device, rt->picture_texels[i / 2][i % 2], NULL);
        vkrt_buffer_destroy(dev, &rt->leds);
        vkrt_buffer_destroy(dev, &rt->strips);
        vkrt_buffer_destroy(dev, &rt->slots);
        vkrt_shared_destroy(dev, &rt->shared);
    }
    vkrt_device_close(dev);
    rt_free_host_memory(rt);
}

/* -------------------------------------------------------------- accessors */

/* While frames are in flight the newest completed frame's buffers may be rewritten by the
 * device (parity buffers are reused every other frame), so nothing is handed out then. */
const uint8_t *sky_runtime_frame_bytes(const sky_runtime *rt, size_t *len) {
    if (rt && rt->cpu) return cpurt_frame_bytes(rt->cpu, len);
    const uint8_t *bytes = rt && rt->flight_count == 0 ? rt->last_bytes : NULL;
    if (len) *len = bytes ? rt->frame_bytes : 0;
    return bytes;
}

const float *sky_runtime_frame_floats(const sky_runtime *rt, size_t *count) {
    if (rt && rt->cpu) return cpurt_frame_floats(rt->cpu, count);
    const float *floats = rt && rt->flight_count == 0 ? rt->last_floats : NULL;
    if (count) *count = floats ? (size_t)rt->view.led_count * 3 : 0;
    return floats;
}

uint64_t sky_runtime_frame_count(const sky_runtime *rt) {
    if (rt && rt->cpu) return cpurt_frame_count(rt->cpu);
    return rt ? rt->completed : 0;
}

void sky_runtime_get_stats(const sky_runtime *rt, sky_runtime_stats *stats) {
    if (!stats) return;
    if (!rt) {
        memset(stats, 0, sizeof *stats);
        return;
    }
    if (rt->cpu) {
        cpurt_get_stats(rt->cpu, stats);
        return;
    }
    *stats = rt->stats;
}

void sky_runtime_reset_stats(sky_runtime *rt) {
    if (!rt) return;
    if (rt->cpu) {
        cpurt_reset_stats(rt->cpu);
        return;
    }
    memset(&rt->stats, 0, sizeof rt->stats);
    rt->stats.path = rt->path;
}

sky_output_path sky_runtime_output_path(const sky_runtime *rt) {
    if (rt && rt->cpu) return cpurt_output_path(rt->cpu);
    return rt ? rt->path : SKY_OUTPUT_HOST;
}

const char *sky_runtime_output_reason(const sky_runtime *rt) {
    if (rt && rt->cpu) return cpurt_output_reason(rt->cpu);
    return rt ? rt->path_reason : "";
}

const char *sky_runtime_device_name(const sky_runtime *rt) {
    if (rt && rt->cpu) return cpurt_device_name(rt->cpu);
    return rt ? rt->dev.props.deviceName : "";
}

sky_device_type sky_runtime_device_type(const sky_runtime *rt) {
    if (rt && rt->cpu) return SKY_DEVICE_CPU;
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

bool sky_runtime_validating(const sky_runtime *rt) {
    return rt && rt->dev.validating;
}

uint64_t sky_runtime_validation_messages(const sky_runtime *rt) {
    return rt ? atomic_load(&rt->dev.validation_messages) : 0;
}

/* ----------------------------------------------------------- test hooks */

/* Records (never submits) a misuse into a command buffer of its own, then frees it. */
sky_status vkrt_debug_misuse(sky_runtime *rt, int kind, char *error, size_t error_len) {
    vkrt_device *dev = &rt->dev;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = rt->shared.commands,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkCommandBuffer cmd;
    VkResult r = dev->vk.vkAllocateCommandBuffers(dev->device, &alloc, &cmd);
    if (r != VK_SUCCESS) return vkrt_check(r, "vkAllocateCommandBuffers", error, error_len);
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    r = dev->vk.vkBeginCommandBuffer(cmd, &begin);
    if (r == VK_SUCCESS && kind == 0) {
        /* VUID-vkCmdPipelineBarrier-srcAccessMask-02815: the host stage writes, not compute. */
        VkMemoryBarrier barrier = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_HOST_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT,
        };
        dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0,
                                     NULL, 0, NULL);
    } else if (r == VK_SUCCESS) {
        /* SYNC-HAZARD-WRITE-AFTER-WRITE: the second fill is not ordered after the first. */
        dev->vk.vkCmdFillBuffer(cmd, rt->warm_out.buffer, 0, VK_WHOLE_SIZE, 1);
        dev->vk.vkCmdFillBuffer(cmd, rt->warm_out.buffer, 0, VK_WHOLE_SIZE, 2);
    }
    if (r == VK_SUCCESS) r = dev->vk.vkEndCommandBuffer(cmd);
    dev->vk.vkFreeCommandBuffers(dev->device, rt->shared.commands, 1, &cmd);
    return vkrt_check(r, "recording the misuse", error, error_len);
}

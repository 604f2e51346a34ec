/*
 * vk_internal.h - shared between the files of libskyrt (the Vulkan runtime).
 *
 * The runtime is split by concern:
 *   vk_device.c    loader, instance, device enumeration and choice, logical device,
 *                  the validation layer's messenger
 *   vk_profile.c   test-only device profiles ($SKY_DEVICE_PROFILE): lavapipe masked down
 *                  to another device's published limits and extensions
 *   vk_memory.c    buffers: memory type choice, mapping, host-pointer import, upload
 *   vk_pipeline.c  the shared descriptor/pipeline layouts and one pipeline plus its
 *                  pre-recorded command buffers per program ("kernel")
 *   vk_post.c      the post pass: brightness and crossfades on the device
 *   vk_runtime.c   the public sky_runtime_* API: frames in flight, publishing, stats,
 *                  the show controls and the warm-up of new pipelines
 * Internal names carry the vkrt_ prefix. Device-level functions are called through
 * the per-device volk table `dev->vk`, never through volk's globals.
 */
#ifndef SKY_VK_INTERNAL_H
#define SKY_VK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <volk.h>

#include "sky/picture.h"
#include "sky/runtime.h"

/* The name of a VkResult ("VK_ERROR_DEVICE_LOST"). Never NULL. */
const char *vkrt_result_str(VkResult result);

/*
 * Turns a failed VkResult from the call named `what` into a status and a
 * message: device lost -> SKY_ERR_DEVICE_LOST, out of memory -> SKY_ERR_NOMEM,
 * anything else -> SKY_ERR_VULKAN. Returns SKY_OK for VK_SUCCESS.
 */
sky_status vkrt_check(VkResult result, const char *what, char *error, size_t error_len);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vkrt_now_ns(void);

/* ----------------------------------------------------------- vk_profile.c */

/*
 * What a profile lets through of what the device reports: extensions and
 * features it lacks are hidden, limits are lowered to min(reported, profile)
 * (alignments raised to the max), so a profile never promises more than the
 * real device gives. `unusable` reports Vulkan 1.0 and no compute queue.
 */
typedef struct vkrt_profile {
    const char *name;
    const char *device; /* the device it describes */
    bool unusable;
    bool host_import;    /* may keep VK_EXT_external_memory_host */
    bool texel_buffers;  /* may keep RGBA32F uniform texel buffers */
    uint32_t api_version;
    uint32_t max_invocations, max_size_x, max_count_x;
    uint32_t max_storage_range, max_uniform_range, max_texel_elements;
    uint32_t min_storage_alignment;
    uint32_t max_storage_buffers; /* per shader stage; 0: as reported */
} vkrt_profile;

/* $SKY_DEVICE_PROFILE's profile in *profile (NULL when unset or empty); an unknown name
 * is SKY_ERR_INVALID_ARG with a message listing the known ones. */
sky_status vkrt_profile_from_env(const vkrt_profile **profile, char *error, size_t error_len);
void vkrt_profile_mask_info(const vkrt_profile *profile, sky_vk_device_info *info);
void vkrt_profile_mask_limits(const vkrt_profile *profile, VkPhysicalDeviceLimits *limits);

/* ------------------------------------------------------------ vk_device.c */

typedef struct vkrt_device {
    VkInstance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    struct VolkDeviceTable vk;
    VkQueue queue; /* submit only through vkrt_queue_submit (it holds queue_lock) */
    pthread_mutex_t queue_lock;
    bool queue_lock_ready;
    uint32_t queue_family;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memory;
    bool has_host_import;          /* VK_EXT_external_memory_host enabled */
    uint64_t min_import_alignment; /* minImportedHostPointerAlignment */
    sky_device_type type;
    const vkrt_profile *profile; /* $SKY_DEVICE_PROFILE (tests), or NULL: props are masked */
    /* The Khronos validation layer (--validate, $SKY_VULKAN_VALIDATE): its messages
     * (warnings and errors) are printed and counted here. */
    bool validating;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    _Atomic uint64_t validation_messages;
} vkrt_device;

/* True when `validate` or $SKY_VULKAN_VALIDATE (set, not "0") asks for the layer. */
bool vkrt_validation_wanted(bool validate);

/*
 * Loads the Vulkan loader, creates a Vulkan 1.1 instance (no surface), picks the
 * device for `selector` (see sky_vk_list_devices) and creates a logical device
 * with one compute queue. On failure everything created is destroyed.
 */
sky_status vkrt_device_open(const char *selector, bool validate, vkrt_device *dev, char *error,
                            size_t error_len);
void vkrt_device_close(vkrt_device *dev);

/* Whether the device can bind RGBA32F uniform texel buffers (after the profile). */
bool vkrt_device_texel_format(const vkrt_device *dev);

/*
 * The index into `infos` of the device for `selector` (as sky_vk_list_devices),
 * or -1 with a message naming what the device lacks and the first device that
 * has it.
 */
long vkrt_device_choose(const sky_vk_device_info *infos, uint32_t count, const char *selector,
                        char *error, size_t error_len);

/* For tests: records a deliberate misuse on the device, which the validation layer must
 * report: 0, a barrier whose access mask its stage cannot perform (core validation);
 * 1, two fills of one buffer without a barrier between (synchronization validation). */
sky_status vkrt_debug_misuse(sky_runtime *runtime, int kind, char *error, size_t error_len);

/* vkQueueSubmit of one batch under the device's queue lock (any thread). */
VkResult vkrt_queue_submit(vkrt_device *dev, const VkSubmitInfo *submit, VkFence fence);

/* ------------------------------------------------------------ vk_memory.c */

typedef struct vkrt_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *map;     /* host address when host-visible (mapped, or the imported pointer) */
    bool coherent; /* no flush/invalidate needed */
    bool imported; /* memory is host memory imported with VK_EXT_external_memory_host */
} vkrt_buffer;

/*
 * Creates a storage buffer of `size` bytes (also a transfer source and
 * destination) in a memory type that has every `required` flag, preferring
 * one that also has every `preferred` flag. Host-visible memory is mapped for
 * the buffer's life. `what` names the buffer in messages.
 */
sky_status vkrt_buffer_create(vkrt_device *dev, VkDeviceSize size, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred, VkBufferUsageFlags extra_usage,
                              const char *what, vkrt_buffer *buf, char *error, size_t error_len);

/*
 * Wraps `bytes` of host memory at `host` (aligned as the device requires) in a
 * storage buffer through VK_EXT_external_memory_host. Fails with a message
 * saying why (alignment, no coherent memory type, the driver refused) so the
 * caller can fall back to copying.
 */
sky_status vkrt_buffer_import(vkrt_device *dev, void *host, VkDeviceSize bytes, vkrt_buffer *buf,
                              char *error, size_t error_len);

/* Fills a device buffer with `bytes` bytes of `data`, through a staging buffer when
 * it is not host-visible (only at create time: this waits for the device). */
sky_status vkrt_buffer_upload(vkrt_device *dev, VkCommandPool pool, vkrt_buffer *buf,
                              const void *data, size_t bytes, uint32_t timeout_ms, char *error,
                              size_t error_len);

/* Makes device writes visible to the host / host writes visible to the device,
 * for memory that is not coherent. */
sky_status vkrt_buffer_invalidate(vkrt_device *dev, const vkrt_buffer *buf, char *error,
                                  size_t error_len);
sky_status vkrt_buffer_flush(vkrt_device *dev, const vkrt_buffer *buf, char *error,
                             size_t error_len);

/* Destroys the buffer and frees (or releases the import of) its memory. Safe on a zeroed buffer. */
void vkrt_buffer_destroy(vkrt_device *dev, vkrt_buffer *buf);

/* ---------------------------------------------------------- vk_pipeline.c */

/* The six storage-buffer bindings of docs/shader-abi.md. */
enum {
    VKRT_BIND_FRAME = 0,
    VKRT_BIND_LEDS = 1,
    VKRT_BIND_STRIPS = 2,
    VKRT_BIND_PREV = 3,
    VKRT_BIND_CUR = 4,
    VKRT_BIND_OUT = 5,
    VKRT_BINDINGS = 6,
    /* Optional (docs/shader-abi.md): binding 1's buffer again, as a uniform texel buffer of
     * RGBA32F texels (texel 2i = pos of LED i), which llvmpipe reads with vector gathers
     * instead of one guarded scalar load per lane. */
    VKRT_BIND_LED_TEXELS = 6,
    /* Binding 0's buffer again, as a uniform buffer (std140 vec4s, the same bytes), from
     * which shaders with up to 4092 per-frame values read them: llvmpipe turns a
     * uniform-buffer load into one scalar load rather than a per-lane loop. */
    VKRT_BIND_FRAME_UNIFORMS = 7,
    /* The picture block (sky/picture.h), a storage buffer per frame parity. */
    VKRT_BIND_PICTURES = 8,
    /* Binding 8's buffer again as R32_UINT texels, with binding 6 (the same option). */
    VKRT_BIND_PICTURE_TEXELS = 9
};

/* One descriptor of `type` at `binding`, read by the compute stage: every binding the
 * pattern and post pipelines declare. */
static inline VkDescriptorSetLayoutBinding vkrt_compute_binding(uint32_t binding,
                                                                VkDescriptorType type) {
    return (VkDescriptorSetLayoutBinding){
        .binding = binding,
        .descriptorType = type,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
}

/* One buffer range per binding for one descriptor set. */
typedef struct vkrt_set_buffers {
    VkBuffer buffer[VKRT_BINDINGS];
    VkDeviceSize offset[VKRT_BINDINGS];
    VkDeviceSize range[VKRT_BINDINGS];
    VkBufferView led_texels;          /* binding 6, when vkrt_shared.has_texels */
    VkDeviceSize frame_uniform_range; /* binding 7: binding 0's buffer, at most this many bytes */
    VkBuffer pictures;                /* binding 8, whole */
    VkBufferView picture_texels;      /* binding 9, when vkrt_shared.has_texels */
} vkrt_set_buffers;

/* What the runtime shares between programs: layouts, the sets, the command pool. */
typedef struct vkrt_shared {
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipeline_layout;
    VkDescriptorPool pool;
    VkDescriptorSet *sets;
    uint32_t set_count;
    VkCommandPool commands;
    uint32_t local_size;
    uint32_t groups;        /* work groups dispatched per frame */
    uint32_t warm_set;      /* the set whose command dispatches one work group (the warm-up) */
    bool has_texels;        /* binding 6 is in the layout */
    char texel_reason[160]; /* why not, for shaders that read binding 6 */
} vkrt_shared;

/* Creates the layouts, `set_count` descriptor sets (written later with
 * vkrt_shared_write_set) and a command pool; computes the dispatch size.
 * `texel_reason` NULL: binding 6 is in the layout; else it is left out and
 * shaders that read it are refused with this reason. */
sky_status vkrt_shared_create(vkrt_device *dev, uint32_t set_count, uint32_t led_count,
                              uint32_t local_size, const char *texel_reason, vkrt_shared *shared,
                              char *error, size_t error_len);
void vkrt_shared_write_set(vkrt_device *dev, vkrt_shared *shared, uint32_t set,
                           const vkrt_set_buffers *buffers);
void vkrt_shared_destroy(vkrt_device *dev, vkrt_shared *shared);

/* A compiled program on the device: its pipeline and one command buffer per set. */
typedef struct vkrt_kernel {
    VkShaderModule module;
    VkPipeline pipeline;
    VkCommandPool pool;        /* its own: built on any thread (vk_pipeline.c) */
    VkCommandBuffer *commands; /* shared->set_count, command i dispatches with set i */
    uint32_t command_count;
    bool uses_prev;
    size_t uniform_count;
    uint64_t last_submit; /* sequence number of the newest frame submitted with it, +1 (0: none) */
    uint32_t compile_ms;  /* extra wait allowed for its first frame (compiled at first dispatch) */
    bool warmed;          /* dispatched once into scratch by sky_runtime_pipeline_build */
    struct vkrt_kernel *next_retired;
} vkrt_kernel;

/*
 * Builds the pipeline from SPIR-V (specialization constant 0 = the local size)
 * and records its command buffers: a barrier after the previous frame's writes,
 * the dispatch, and a barrier making the writes visible to the host.
 */
sky_status vkrt_kernel_create(vkrt_device *dev, vkrt_shared *shared, const uint32_t *spirv,
                              size_t word_count, vkrt_kernel **kernel, char *error,
                              size_t error_len);
void vkrt_kernel_destroy(vkrt_device *dev, vkrt_shared *shared, vkrt_kernel *kernel);

/* Records a command buffer that zeroes `count` buffers (and orders that before later frames). */
sky_status vkrt_record_clear(vkrt_device *dev, vkrt_shared *shared, const vkrt_buffer *buffers,
                             uint32_t count, VkCommandBuffer *command, char *error,
                             size_t error_len);

/* The barriers every pre-recorded frame command buffer opens and closes with:
 * earlier frames' (and clears') writes before this one's reads and writes; this
 * one's writes visible to the host. */
void vkrt_barrier_in(vkrt_device *dev, VkCommandBuffer cmd);
void vkrt_barrier_out(vkrt_device *dev, VkCommandBuffer cmd);

/* -------------------------------------------------------------- vk_post.c */

/* binding 0 of the post pass (sky_post.comp), written per frame parity */
typedef struct vkrt_post_params {
    uint32_t words;
    float amount;
    float level;
    uint32_t unused;
} vkrt_post_params;

typedef struct vkrt_post {
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipeline_layout;
    VkDescriptorPool pool;
    VkShaderModule module;
    VkPipeline pipeline;
    VkDescriptorSet *sets;
    VkCommandBuffer *commands; /* set_count of them: command i dispatches with set i */
    uint32_t set_count;
} vkrt_post;

/* The post pass's layouts, `set_count` sets and its pipeline (SPIR-V built in). */
sky_status vkrt_post_create(vkrt_device *dev, uint32_t set_count, vkrt_post *post, char *error,
                            size_t error_len);
/* Set `set`: binding 0 the parameters, 1 and 2 the layers, 3 the output. */
void vkrt_post_write_set(vkrt_device *dev, vkrt_post *post, uint32_t set,
                         const VkDescriptorBufferInfo buffers[4]);
/* Records one command buffer per set (after the sets are written), from `pool`. */
sky_status vkrt_post_record(vkrt_device *dev, VkCommandPool pool, vkrt_post *post, uint32_t words,
                            char *error, size_t error_len);
void vkrt_post_destroy(vkrt_device *dev, VkCommandPool pool, vkrt_post *post);
/* The post pass's formula on the host: out = floor((a(1-amount) + b amount) level + 0.5);
 * b may be NULL (amount then ignored). */
void vkrt_post_blend(const uint8_t *a, const uint8_t *b, float amount, float level, uint8_t *out,
                     size_t bytes);

/* ----------------------------------------------------------- vk_runtime.c */

/*
 * The per-frame half of a program, for the runtime: the public API passes a
 * sky_program; tests may pass a hand-written shader with their own evaluator.
 */
typedef sky_status (*vkrt_eval_fn)(void *context, const sky_layout_view *layout,
                                   const sky_frame_inputs *frame, float *uniforms);

typedef struct vkrt_kernel_source {
    const uint32_t *spirv;
    size_t word_count;
    size_t uniform_count;
    bool uses_prev;
    vkrt_eval_fn eval;
    void *context;
} vkrt_kernel_source;

/* For tests: true when the pipeline was dispatched once (warmed up) by its build. */
bool vkrt_pipeline_warmed(const sky_runtime_pipeline *pipeline);

/* sky_runtime_set_program without a sky_program: what it does after emitting SPIR-V. */
sky_status vkrt_runtime_set_kernel(sky_runtime *runtime, const vkrt_kernel_source *source,
                                   char *error, size_t error_len);

#endif

/*
 * vk_profile.c - test-only device profiles: what the device reports, masked
 * down to another device's published limits and extensions.
 *
 * Every choice the runtime makes about a device (zero-copy or copy, texel or
 * storage positions, the work-group size, the largest layout) depends only on
 * what the device reports. $SKY_DEVICE_PROFILE masks those reports, so the
 * paths a Raspberry Pi 4 or a Jetson takes run on lavapipe here, in the GPU
 * suites (tests/runtime/CMakeLists.txt runs the device agreement tests under
 * each profile). It only ever hides or lowers: a limit becomes
 * min(reported, profile), an alignment max(reported, profile), so the masked
 * device is still one the real driver can serve. For tests and for measuring
 * fallbacks; not a way to make a device faster or more capable.
 */
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "vk_internal.h"

/*
 * The least a Vulkan 1.1 device may report (the specification's "Required
 * Limits" table: 128 invocations and 128 wide, 65535 groups, storage range
 * 2^27, uniform range 16384, 65536 texels, storage offset alignment up to
 * 256). Written once: the `minimal`, `few-buffers` and `unusable` rows below
 * all mask down to it and must not drift apart.
 */
#define VK_1_1_MINIMUM_LIMITS                                                               \
    .max_invocations = 128, .max_size_x = 128, .max_count_x = 65535,                        \
    .max_storage_range = 1u << 27, .max_uniform_range = 16384, .max_texel_elements = 65536, \
    .min_storage_alignment = 256

static const vkrt_profile profile_table[] = {
    /*
     * Raspberry Pi 4: Mesa's v3dv (V3D 4.2), as v3dv_GetPhysicalDeviceProperties
     * sets them in Mesa 22.x (src/broadcom/vulkan/v3dv_device.c: compute limits
     * 256 invocations, 256 x 256 x 256, 65535 groups; storage and uniform range
     * V3D_MAX_BUFFER_RANGE = 1 << 27 in src/broadcom/common/v3d_limits.h;
     * maxTexelBufferElements 1 << 28; minStorageBufferOffsetAlignment 32).
     * v3dv implements no VK_EXT_external_memory_host (absent from its extension
     * table), so it publishes by copy. One queue family (graphics + compute +
     * transfer). Vulkan 1.1 (1.2 in later Mesa): the lower of the two.
     */
    {.name = "rpi4",
     .device = "Raspberry Pi 4 (Mesa v3dv, V3D 4.2)",
     .host_import = false,
     .texel_buffers = true,
     .api_version = VK_API_VERSION_1_1,
     .max_invocations = 256,
     .max_size_x = 256,
     .max_count_x = 65535,
     .max_storage_range = 1u << 27,
     .max_uniform_range = 1u << 27,
     .max_texel_elements = 1u << 28,
     .min_storage_alignment = 32},
    /*
     * Jetson Orin: NVIDIA's L4T driver (Ampere, Vulkan 1.3), with the limits
     * NVIDIA's driver reports for Ampere in public vulkaninfo output (e.g. the
     * vulkaninfo in bottlerocket-os/bottlerocket-kernel-kit pull request 138:
     * maxComputeWorkGroupInvocations 1024, maxComputeWorkGroupSize 1024,
     * minStorageBufferOffsetAlignment 0x10; maxStorageBufferRange 0xffffffff,
     * maxUniformBufferRange 0x10000, maxTexelBufferElements 0x8000000 as in
     * KhronosGroup/Vulkan-Tools pull request 106). NVIDIA's Linux driver has
     * VK_EXT_external_memory_host (minImportedHostPointerAlignment 4096); that
     * L4T keeps it on Orin is not confirmed from here, nor are these figures:
     * scripts/hardware-check.sh prints what the real device reports and the
     * path it takes.
     */
    {.name = "orin",
     .device = "NVIDIA Jetson Orin (L4T, Ampere)",
     .host_import = true,
     .texel_buffers = true,
     .api_version = VK_API_VERSION_1_3,
     .max_invocations = 1024,
     .max_size_x = 1024,
     .max_count_x = 2147483647u,
     .max_storage_range = 0xffffffffu,
     .max_uniform_range = 65536,
     .max_texel_elements = 134217728u,
     .min_storage_alignment = 16},
    /*
     * The least a Vulkan 1.1 device may report (VK_1_1_MINIMUM_LIMITS), no host
     * import, and beyond the specification no RGBA32F uniform texel buffers,
     * so the storage-buffer positions are what runs. Storage
     * buffers per stage are kept as reported: the minimum, 4, is below the 6
     * the shader ABI binds (the `few-buffers` profile shows that refusal).
     */
    {.name = "minimal",
     .device = "the Vulkan 1.1 minimum limits, without texel buffers",
     .host_import = false,
     .texel_buffers = false,
     .api_version = VK_API_VERSION_1_1,
     VK_1_1_MINIMUM_LIMITS},
    /* The minimum above with 4 storage buffers per stage: refused, it names the limit. */
    {.name = "few-buffers",
     .device = "a Vulkan 1.1 device binding 4 storage buffers per shader stage",
     .api_version = VK_API_VERSION_1_1,
     VK_1_1_MINIMUM_LIMITS,
     .max_storage_buffers = 4},
    /* Nothing usable: Vulkan 1.0 and no compute queue (bad input for the device choice). */
    {.name = "unusable",
     .device = "a Vulkan 1.0 device without a compute queue",
     .unusable = true,
     .api_version = VK_API_VERSION_1_0,
     VK_1_1_MINIMUM_LIMITS},
};

#define PROFILE_COUNT (sizeof profile_table / sizeof profile_table[0])

sky_status vkrt_profile_from_env(const vkrt_profile **profile, char *error, size_t error_len) {
    *profile = NULL;
    const char *name = getenv(SKY_DEVICE_PROFILE_ENV);
    if (!name || !name[0]) return SKY_OK;
    for (size_t i = 0; i < PROFILE_COUNT; i++)
        if (strcmp(name, profile_table[i].name) == 0) {
            *profile = &profile_table[i];
            return SKY_OK;
        }
    frame_error(error, error_len,
                "$" SKY_DEVICE_PROFILE_ENV " is `%s`, which is no device profile: rpi4, orin, "
                "minimal, few-buffers or unusable (for tests only)",
                name);
    return SKY_ERR_INVALID_ARG;
}

static uint32_t profile_min(uint32_t reported, uint32_t cap) {
    return reported < cap ? reported : cap;
}

void vkrt_profile_mask_info(const vkrt_profile *profile, sky_vk_device_info *info) {
    if (!profile) return;
    if (profile->unusable) info->has_compute = false;
    if (info->api_version > profile->api_version) info->api_version = profile->api_version;
    if (!profile->host_import) {
        info->has_external_memory_host = false;
        info->min_import_alignment = 0;
    }
    info->max_workgroup_size = profile_min(
        info->max_workgroup_size, profile_min(profile->max_invocations, profile->max_size_x));
}

void vkrt_profile_mask_limits(const vkrt_profile *profile, VkPhysicalDeviceLimits *limits) {
    if (!profile) return;
    limits->maxComputeWorkGroupInvocations =
        profile_min(limits->maxComputeWorkGroupInvocations, profile->max_invocations);
    limits->maxComputeWorkGroupSize[0] =
        profile_min(limits->maxComputeWorkGroupSize[0], profile->max_size_x);
    limits->maxComputeWorkGroupCount[0] =
        profile_min(limits->maxComputeWorkGroupCount[0], profile->max_count_x);
    limits->maxStorageBufferRange =
        profile_min(limits->maxStorageBufferRange, profile->max_storage_range);
    limits->maxUniformBufferRange =
        profile_min(limits->maxUniformBufferRange, profile->max_uniform_range);
    limits->maxTexelBufferElements =
        profile_min(limits->maxTexelBufferElements, profile->max_texel_elements);
    if (limits->minStorageBufferOffsetAlignment < profile->min_storage_alignment)
        limits->minStorageBufferOffsetAlignment = profile->min_storage_alignment;
    if (profile->max_storage_buffers)
        limits->maxPerStageDescriptorStorageBuffers =
            profile_min(limits->maxPerStageDescriptorStorageBuffers, profile->max_storage_buffers);
}

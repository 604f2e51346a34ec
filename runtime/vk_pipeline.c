/*
 * vk_pipeline.c - descriptor sets, pipelines and pre-recorded command buffers.
 *
 * Every program's shader declares the same six storage buffers
 * (docs/shader-abi.md), so one descriptor set layout and one pipeline layout
 * serve all programs, and the descriptor sets (one per combination of
 * per-frame buffer, prev parity and output slot) are written once at create.
 * A program ("kernel") adds a pipeline and one command buffer per descriptor
 * set, recorded once: all per-frame data lives in buffers, so a frame is just
 * a vkQueueSubmit of the right command buffer. Swapping programs builds a new
 * kernel while the old one may still have frames in flight. Each kernel has
 * its own command pool, so a kernel can be built on another thread while the
 * render thread frees retired kernels (a pool is externally synchronized);
 * everything else a build reads (layouts, descriptor sets) is fixed at create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "vk_internal.h"

sky_status vkrt_shared_create(vkrt_device *dev, uint32_t set_count, uint32_t led_count,
                              uint32_t local_size, const char *texel_reason, vkrt_shared *shared,
                              char *error, size_t error_len) {
    memset(shared, 0, sizeof *shared);
    shared->has_texels = texel_reason == NULL;
    if (texel_reason)
        snprintf(shared->texel_reason, sizeof shared->texel_reason, "%s", texel_reason);
    uint32_t max = dev->props.limits.maxComputeWorkGroupSize[0];
    if (dev->props.limits.maxComputeWorkGroupInvocations < max)
        max = dev->props.limits.maxComputeWorkGroupInvocations;
    shared->local_size = local_size == 0 ? 64 : local_size;
    if (shared->local_size > max) shared->local_size = max;
    uint64_t invocations = ((uint64_t)led_count + 3) / 4;
    uint64_t groups = (invocations + shared->local_size - 1) / shared->local_size;
    if (groups == 0) groups = 1;
    if (groups > dev->props.limits.maxComputeWorkGroupCount[0]) {
        frame_error(error, error_len,
                    "%u LEDs need %llu work groups of %u, more than the device's limit %u",
                    led_count, (unsigned long long)groups, shared->local_size,
                    dev->props.limits.maxComputeWorkGroupCount[0]);
        return SKY_ERR_LIMIT;
    }
    shared->groups = (uint32_t)groups;

    /* Bindings 0-5 (storage), 7 (binding 0 as a uniform buffer), then 6 when available. */
    VkDescriptorSetLayoutBinding bindings[VKRT_BINDINGS + 4];
    uint32_t binding_count = 0;
    for (uint32_t i = 0; i < VKRT_BINDINGS; i++)
        bindings[binding_count++] = vkrt_compute_binding(i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
    bindings[binding_count++] =
        vkrt_compute_binding(VKRT_BIND_FRAME_UNIFORMS, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER);
    bindings[binding_count++] =
        vkrt_compute_binding(VKRT_BIND_PICTURES, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
    if (shared->has_texels) {
        bindings[binding_count++] =
            vkrt_compute_binding(VKRT_BIND_LED_TEXELS, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER);
        bindings[binding_count++] =
            vkrt_compute_binding(VKRT_BIND_PICTURE_TEXELS, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER);
    }
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = binding_count,
        .pBindings = bindings,
    };
    VkResult r =
        dev->vk.vkCreateDescriptorSetLayout(dev->device, &set_info, NULL, &shared->set_layout);
    const char *what = "vkCreateDescriptorSetLayout";
    if (r == VK_SUCCESS) {
        VkPipelineLayoutCreateInfo layout_info = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1,
            .pSetLayouts = &shared->set_layout,
        };
        what = "vkCreatePipelineLayout";
        r = dev->vk.vkCreatePipelineLayout(dev->device, &layout_info, NULL,
                                           &shared->pipeline_layout);
    }
    if (r == VK_SUCCESS) {
        VkDescriptorPoolSize sizes[3] = {
            {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
             .descriptorCount = (VKRT_BINDINGS + 1) * set_count},
            {.type = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, .descriptorCount = set_count},
            {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .descriptorCount = 2 * set_count},
        };
        VkDescriptorPoolCreateInfo pool_info = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
            .maxSets = set_count,
            .poolSizeCount = shared->has_texels ? 3 : 2,
            .pPoolSizes = sizes,
        };
        what = "vkCreateDescriptorPool";
        r = dev->vk.vkCreateDescriptorPool(dev->device, &pool_info, NULL, &shared->pool);
    }
    if (r == VK_SUCCESS) {
        shared->sets = calloc(set_count, sizeof *shared->sets);
        VkDescriptorSetLayout *layouts = calloc(set_count, sizeof *layouts);
        if (!shared->sets || !layouts) {
            free(layouts);
            vkrt_shared_destroy(dev, shared);
            frame_error(error, error_len, "out of memory for %u descriptor sets", set_count);
            return SKY_ERR_NOMEM;
        }
        for (uint32_t i = 0; i < set_count; i++) layouts[i] = shared->set_layout;
        VkDescriptorSetAllocateInfo alloc = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = shared->pool,
            .descriptorSetCount = set_count,
            .pSetLayouts = layouts,
        };
        what = "vkAllocateDescriptorSets";
        r = dev->vk.vkAllocateDescriptorSets(dev->device, &alloc, shared->sets);
        free(layouts);
        if (r == VK_SUCCESS) shared->set_count = set_count;
    }
    if (r == VK_SUCCESS) {
        VkCommandPoolCreateInfo pool_info = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
            .queueFamilyIndex = dev->queue_family,
        };
        what = "vkCreateCommandPool";
        r = dev->vk.vkCreateCommandPool(dev->device, &pool_info, NULL, &shared->commands);
    }
    if (r != VK_SUCCESS) {
        sky_status status = vkrt_check(r, what, error, error_len);
        vkrt_shared_destroy(dev, shared);
        return status;
    }
    return SKY_OK;
}

void vkrt_shared_write_set(vkrt_device *dev, vkrt_shared *shared, uint32_t set,
                           const vkrt_set_buffers *buffers) {
    VkDescriptorBufferInfo info[VKRT_BINDINGS + 2];
    VkWriteDescriptorSet writes[VKRT_BINDINGS + 4];
    for (uint32_t i = 0; i < VKRT_BINDINGS; i++) {
        info[i] = (VkDescriptorBufferInfo){
            .buffer = buffers->buffer[i],
            .offset = buffers->offset[i],
            .range = buffers->range[i],
        };
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = shared->sets[set],
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &info[i],
        };
    }
    uint32_t count = VKRT_BINDINGS;
    info[VKRT_BINDINGS] = (VkDescriptorBufferInfo){
        .buffer = buffers->buffer[VKRT_BIND_FRAME],
        .offset = buffers->offset[VKRT_BIND_FRAME],
        .range = buffers->frame_uniform_range,
    };
    writes[count++] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = shared->sets[set],
        .dstBinding = VKRT_BIND_FRAME_UNIFORMS,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
        .pBufferInfo = &info[VKRT_BINDINGS],
    };
    info[VKRT_BINDINGS + 1] = (VkDescriptorBufferInfo){buffers->pictures, 0, VK_WHOLE_SIZE};
    writes[count++] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = shared->sets[set],
        .dstBinding = VKRT_BIND_PICTURES,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &info[VKRT_BINDINGS + 1],
    };
    if (shared->has_texels)
        writes[count++] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = shared->sets[set],
            .dstBinding = VKRT_BIND_LED_TEXELS,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
            .pTexelBufferView = &buffers->led_texels,
        };
    if (shared->has_texels)
        writes[count++] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = shared->sets[set],
            .dstBinding = VKRT_BIND_PICTURE_TEXELS,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
            .pTexelBufferView = &buffers->picture_texels,
        };
    dev->vk.vkUpdateDescriptorSets(dev->device, count, writes, 0, NULL);
}

void vkrt_shared_destroy(vkrt_device *dev, vkrt_shared *shared) {
    if (shared->commands) dev->vk.vkDestroyCommandPool(dev->device, shared->commands, NULL);
    /* Destroying the pool frees its sets. */
    if (shared->pool) dev->vk.vkDestroyDescriptorPool(dev->device, shared->pool, NULL);
    free(shared->sets);
    if (shared->pipeline_layout)
        dev->vk.vkDestroyPipelineLayout(dev->device, shared->pipeline_layout, NULL);
    if (shared->set_layout)
        dev->vk.vkDestroyDescriptorSetLayout(dev->device, shared->set_layout, NULL);
    memset(shared, 0, sizeof *shared);
}

/* ------------------------------------------------------------------ kernels */

static VkResult pipe_build(vkrt_device *dev, vkrt_shared *shared, const uint32_t *spirv,
                           size_t word_count, vkrt_kernel *kernel, const char **what) {
    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = word_count * sizeof(uint32_t),
        .pCode = spirv,
    };
    *what = "vkCreateShaderModule";
    VkResult r = dev->vk.vkCreateShaderModule(dev->device, &module_info, NULL, &kernel->module);
    if (r != VK_SUCCESS) return r;
    VkSpecializationMapEntry entry = {.constantID = 0, .offset = 0, .size = sizeof(uint32_t)};
    VkSpecializationInfo spec = {
        .mapEntryCount = 1,
        .pMapEntries = &entry,
        .dataSize = sizeof(uint32_t),
        .pData = &shared->local_size,
    };
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = kernel->module,
                .pName = "main",
                .pSpecializationInfo = &spec,
            },
        .layout = shared->pipeline_layout,
    };
    *what = "vkCreateComputePipelines";
    return dev->vk.vkCreateComputePipelines(dev->device, VK_NULL_HANDLE, 1, &info, NULL,
                                            &kernel->pipeline);
}

/* The earlier frame's (or clear's) writes happen before this frame reads or writes. */
void vkrt_barrier_in(vkrt_device *dev, VkCommandBuffer cmd) {
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    };
    dev->vk.vkCmdPipelineBarrier(
        cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, NULL, 0, NULL);
}

/* The shader's writes (pixels, full-precision colours) become visible to the host. */
void vkrt_barrier_out(vkrt_device *dev, VkCommandBuffer cmd) {
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    dev->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, NULL, 0, NULL);
}

static VkResult pipe_record(vkrt_device *dev, vkrt_shared *shared, vkrt_kernel *kernel,
                            const char **what) {
    VkCommandPoolCreateInfo pool_info = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = dev->queue_family,
    };
    *what = "vkCreateCommandPool";
    VkResult r = dev->vk.vkCreateCommandPool(dev->device, &pool_info, NULL, &kernel->pool);
    if (r != VK_SUCCESS) return r;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = kernel->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = shared->set_count,
    };
    *what = "vkAllocateCommandBuffers";
    r = dev->vk.vkAllocateCommandBuffers(dev->device, &alloc, kernel->commands);
    if (r != VK_SUCCESS) return r;
    kernel->command_count = shared->set_count;
    for (uint32_t i = 0; i < shared->set_count && r == VK_SUCCESS; i++) {
        VkCommandBuffer cmd = kernel->commands[i];
        VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        *what = "vkBeginCommandBuffer";
        r = dev->vk.vkBeginCommandBuffer(cmd, &begin);
        if (r != VK_SUCCESS) break;
        vkrt_barrier_in(dev, cmd);
        dev->vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, kernel->pipeline);
        dev->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                        shared->pipeline_layout, 0, 1, &shared->sets[i], 0, NULL);
        /* The warm-up only needs the driver to compile: one group, not a frame's worth. */
        dev->vk.vkCmdDispatch(cmd, i == shared->warm_set ? 1 : shared->groups, 1, 1);
        vkrt_barrier_out(dev, cmd);
        *what = "vkEndCommandBuffer";
        r = dev->vk.vkEndCommandBuffer(cmd);
    }
    return r;
}

/* True when the module decorates something with `Binding b` (OpDecorate, decoration 33). */
static bool pipe_spirv_uses_binding(const uint32_t *spirv, size_t word_count, uint32_t b) {
    for (size_t at = 5; at < word_count;) {
        uint32_t len = spirv[at] >> 16, opcode = spirv[at] & 0xffffu;
        if (len == 0 || at + len > word_count) return false; /* malformed: the driver decides */
        if (opcode == 71 /* OpDecorate */ && len >= 4 && spirv[at + 2] == 33 /* Binding */ &&
            spirv[at + 3] == b)
            return true;
        at += len;
    }
    return false;
}

sky_status vkrt_kernel_create(vkrt_device *dev, vkrt_shared *shared, const uint32_t *spirv,
                              size_t word_count, vkrt_kernel **out, char *error, size_t error_len) {
    *out = NULL;
    if (!spirv || word_count < 5 || spirv[0] != 0x07230203u) {
        frame_error(error, error_len, "the shader is not SPIR-V (%zu words, bad magic number)",
                    word_count);
        return SKY_ERR_INVALID_ARG;
    }
    if (!shared->has_texels &&
        (pipe_spirv_uses_binding(spirv, word_count, VKRT_BIND_LED_TEXELS) ||
         pipe_spirv_uses_binding(spirv, word_count, VKRT_BIND_PICTURE_TEXELS))) {
        frame_error(error, error_len,
                    "the shader reads the LED inputs or pictures as texels (binding 6, 9), which "
                    "this device cannot provide for this layout: %s",
                    shared->texel_reason);
        return SKY_ERR_LIMIT;
    }
    vkrt_kernel *kernel = calloc(1, sizeof *kernel);
    VkCommandBuffer *commands = calloc(shared->set_count, sizeof *commands);
    if (!kernel || !commands) {
        free(kernel);
        free(commands);
        frame_error(error, error_len, "out of memory for a pipeline");
        return SKY_ERR_NOMEM;
    }
    kernel->commands = commands;
    const char *what = "";
    VkResult r = pipe_build(dev, shared, spirv, word_count, kernel, &what);
    if (r == VK_SUCCESS) r = pipe_record(dev, shared, kernel, &what);
    if (r != VK_SUCCESS) {
        char msg[128];
        snprintf(msg, sizeof msg, "building the pattern's pipeline (%s)", what);
        sky_status status = vkrt_check(r, msg, error, error_len);
        vkrt_kernel_destroy(dev, shared, kernel);
        return status;
    }
    *out = kernel;
    return SKY_OK;
}

void vkrt_kernel_destroy(vkrt_device *dev, vkrt_shared *shared, vkrt_kernel *kernel) {
    (void)shared;
    if (!kernel) return;
    /* Destroying the pool frees its command buffers. */
    if (kernel->pool) dev->vk.vkDestroyCommandPool(dev->device, kernel->pool, NULL);
    if (kernel->pipeline) dev->vk.vkDestroyPipeline(dev->device, kernel->pipeline, NULL);
    if (kernel->module) dev->vk.vkDestroyShaderModule(dev->device, kernel->module, NULL);
    free(kernel->commands);
    free(kernel);
}

sky_status vkrt_record_clear(vkrt_device *dev, vkrt_shared *shared, const vkrt_buffer *buffers,
                             uint32_t count, VkCommandBuffer *command, char *error,
                             size_t error_len) {
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = shared->commands,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkResult r = dev->vk.vkAllocateCommandBuffers(dev->device, &alloc, command);
    if (r != VK_SUCCESS) {
        *command = VK_NULL_HANDLE;
        return vkrt_check(r, "vkAllocateCommandBuffers (clear)", error, error_len);
    }
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    r = dev->vk.vkBeginCommandBuffer(*command, &begin);
    if (r == VK_SUCCESS) {
        /* Earlier frames' reads and writes of these buffers finish before the fill. */
        VkMemoryBarrier before = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
            .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        };
        dev->vk.vkCmdPipelineBarrier(*command, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                     VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0,
                                     NULL);
        for (uint32_t i = 0; i < count; i++)
            dev->vk.vkCmdFillBuffer(*command, buffers[i].buffer, 0, VK_WHOLE_SIZE, 0);
        r = dev->vk.vkEndCommandBuffer(*command);
    }
    if (r != VK_SUCCESS) {
        dev->vk.vkFreeCommandBuffers(dev->device, shared->commands, 1, command);
        *command = VK_NULL_HANDLE;
        return vkrt_check(r, "recording the clear of prev", error, error_len);
    }
    return SKY_OK;
}

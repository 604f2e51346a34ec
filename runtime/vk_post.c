/*
 * vk_post.c - the post pass: the master dimmer and the crossfade on the device.
 *
 * A pattern shader writes its bytes straight into the output when the frame
 * needs nothing else (brightness 1, no crossfade): then no pass is added. When
 * the brightness is below 1 or two patterns are mixed, each pattern writes its
 * undimmed bytes into a layer buffer instead, and this pass (sky_post.comp)
 * blends the two layers and dims them into the output: one read of each layer
 * and one write per 4 bytes, so the pattern shaders and their ABI stay as they
 * are (docs/shader-abi.md). Its descriptor sets (one per frame parity and
 * output slot) and command buffers are made once at create, like the
 * patterns'. vkrt_post_blend computes the same formula on the host, for held
 * frames (sky_runtime_render_hold), which run no shader at all.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "vk_internal.h"

#include "sky_post_spv.h" /* glslangValidator's output: needs stdint.h first */

#define POST_LOCAL_SIZE 64u /* sky_post.comp's local_size_x */
#define POST_BINDINGS   4u

static VkResult post_layouts(vkrt_device *dev, uint32_t set_count, vkrt_post *post,
                             const char **what) {
    VkDescriptorSetLayoutBinding bindings[POST_BINDINGS];
    for (uint32_t i = 0; i < POST_BINDINGS; i++)
        bindings[i] = vkrt_compute_binding(i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = POST_BINDINGS,
        .pBindings = bindings,
    };
    *what = "vkCreateDescriptorSetLayout (post)";
    VkResult r =
        dev->vk.vkCreateDescriptorSetLayout(dev->device, &set_info, NULL, &post->set_layout);
    if (r != VK_SUCCESS) return r;
    VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &post->set_layout,
    };
    *what = "vkCreatePipelineLayout (post)";
    r = dev->vk.vkCreatePipelineLayout(dev->device, &layout_info, NULL, &post->pipeline_layout);
    if (r != VK_SUCCESS) return r;
    VkDescriptorPoolSize size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                 .descriptorCount = POST_BINDINGS * set_count};
    VkDescriptorPoolCreateInfo pool_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = set_count,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    *what = "vkCreateDescriptorPool (post)";
    r = dev->vk.vkCreateDescriptorPool(dev->device, &pool_info, NULL, &post->pool);
    if (r != VK_SUCCESS) return r;
    VkDescriptorSetLayout *layouts = calloc(set_count, sizeof *layouts);
    if (!layouts) return VK_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < set_count; i++) layouts[i] = post->set_layout;
    VkDescriptorSetAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = post->pool,
        .descriptorSetCount = set_count,
        .pSetLayouts = layouts,
    };
    *what = "vkAllocateDescriptorSets (post)";
    r = dev->vk.vkAllocateDescriptorSets(dev->device, &alloc, post->sets);
    free(layouts);
    return r;
}

static VkResult post_pipeline(vkrt_device *dev, vkrt_post *post, const char **what) {
    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = sizeof sky_post_spv,
        .pCode = sky_post_spv,
    };
    *what = "vkCreateShaderModule (post)";
    VkResult r = dev->vk.vkCreateShaderModule(dev->device, &module_info, NULL, &post->module);
    if (r != VK_SUCCESS) return r;
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = post->module,
                .pName = "main",
            },
        .layout = post->pipeline_layout,
    };
    *what = "vkCreateComputePipelines (post)";
    return dev->vk.vkCreateComputePipelines(dev->device, VK_NULL_HANDLE, 1, &info, NULL,
                                            &post->pipeline);
}

sky_status vkrt_post_create(vkrt_device *dev, uint32_t set_count, vkrt_post *post, char *error,
                            size_t error_len) {
    memset(post, 0, sizeof *post);
    post->sets = calloc(set_count, sizeof *post->sets);
    post->commands = calloc(set_count, sizeof *post->commands);
    if (!post->sets || !post->commands) {
        vkrt_post_destroy(dev, VK_NULL_HANDLE, post);
        frame_error(error, error_len, "out of memory for %u post-pass sets", set_count);
        return SKY_ERR_NOMEM;
    }
    const char *what = "";
    VkResult r = post_layouts(dev, set_count, post, &what);
    if (r == VK_SUCCESS) r = post_pipeline(dev, post, &what);
    if (r != VK_SUCCESS) {
        sky_status status = vkrt_check(r, what, error, error_len);
        vkrt_post_destroy(dev, VK_NULL_HANDLE, post);
        return status;
    }
    post->set_count = set_count;
    return SKY_OK;
}

void vkrt_post_write_set(vkrt_device *dev, vkrt_post *post, uint32_t set,
                         const VkDescriptorBufferInfo buffers[4]) {
    VkWriteDescriptorSet writes[POST_BINDINGS];
    for (uint32_t i = 0; i < POST_BINDINGS; i++)
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = post->sets[set],
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &buffers[i],
        };
    dev->vk.vkUpdateDescriptorSets(dev->device, POST_BINDINGS, writes, 0, NULL);
}

sky_status vkrt_post_record(vkrt_device *dev, VkCommandPool pool, vkrt_post *post, uint32_t words,
                            char *error, size_t error_len) {
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = post->set_count,
    };
    VkResult r = dev->vk.vkAllocateCommandBuffers(dev->device, &alloc, post->commands);
    if (r != VK_SUCCESS) {
        memset(post->commands, 0, post->set_count * sizeof *post->commands);
        return vkrt_check(r, "vkAllocateCommandBuffers (post)", error, error_len);
    }
    uint32_t groups = (words + POST_LOCAL_SIZE - 1) / POST_LOCAL_SIZE;
    for (uint32_t i = 0; i < post->set_count && r == VK_SUCCESS; i++) {
        VkCommandBuffer cmd = post->commands[i];
        VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        r = dev->vk.vkBeginCommandBuffer(cmd, &begin);
        if (r != VK_SUCCESS) break;
        vkrt_barrier_in(dev, cmd); /* after the pattern shaders that wrote the layers */
        dev->vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, post->pipeline);
        dev->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, post->pipeline_layout,
                                        0, 1, &post->sets[i], 0, NULL);
        dev->vk.vkCmdDispatch(cmd, groups == 0 ? 1 : groups, 1, 1);
        vkrt_barrier_out(dev, cmd);
        r = dev->vk.vkEndCommandBuffer(cmd);
    }
    return vkrt_check(r, "recording the post pass", error, error_len);
}

void vkrt_post_destroy(vkrt_device *dev, VkCommandPool pool, vkrt_post *post) {
    if (pool && post->commands && post->commands[0])
        dev->vk.vkFreeCommandBuffers(dev->device, pool, post->set_count, post->commands);
    free(post->commands);
    free(post->sets);
    if (post->pipeline) dev->vk.vkDestroyPipeline(dev->device, post->pipeline, NULL);
    if (post->module) dev->vk.vkDestroyShaderModule(dev->device, post->module, NULL);
    /* Destroying the pool frees its sets. */
    if (post->pool) dev->vk.vkDestroyDescriptorPool(dev->device, post->pool, NULL);
    if (post->pipeline_layout)
        dev->vk.vkDestroyPipelineLayout(dev->device, post->pipeline_layout, NULL);
    if (post->set_layout) dev->vk.vkDestroyDescriptorSetLayout(dev->device, post->set_layout, NULL);
    memset(post, 0, sizeof *post);
}

void vkrt_post_blend(const uint8_t *a, const uint8_t *b, float amount, float level, uint8_t *out,
                     size_t bytes) {
    if ((!b || amount <= 0.0f) && level >= 1.0f) { /* the formula is then the identity */
        memcpy(out, a, bytes);
        return;
    }
    for (size_t i = 0; i < bytes; i++) {
        float m = (float)a[i];
        if (b && amount > 0.0f) {
            float keep = m * (1.0f - amount);
            float take = (float)b[i] * amount;
            m = keep + take;
        }
        float v = floorf(m * level + 0.5f);
        out[i] = v >= 255.0f ? 255 : (uint8_t)v;
    }
}

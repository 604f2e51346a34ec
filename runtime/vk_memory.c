/*
 * vk_memory.c - device buffers for the runtime: memory type choice, mapping,
 * importing the frame file's pages, and one-time uploads.
 *
 * The runtime allocates a handful of buffers once (LED inputs, strip table,
 * two prev buffers, a per-frame block per frame in flight, output buffers),
 * so each buffer gets its own allocation; no sub-allocator is needed.
 * Importing host memory (VK_EXT_external_memory_host) is what makes
 * publishing zero-copy: the shader's output binding is the frame file's slot.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frame_error.h"
#include "vk_internal.h"

/* A memory type in `bits` with every `want` flag, or UINT32_MAX. */
static uint32_t mem_find_type(const vkrt_device *dev, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < dev->memory.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (dev->memory.memoryTypes[i].propertyFlags & want) == want)
            return i;
    return UINT32_MAX;
}

static sky_status mem_create_buffer(vkrt_device *dev, VkDeviceSize size, const void *next,
                                    VkBufferUsageFlags extra_usage, VkBuffer *buffer,
                                    const char *what, char *error, size_t error_len) {
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .pNext = next,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT | extra_usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = dev->vk.vkCreateBuffer(dev->device, &info, NULL, buffer);
    if (r == VK_SUCCESS) return SKY_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "vkCreateBuffer (%s, %llu bytes)", what, (unsigned long long)size);
    return vkrt_check(r, msg, error, error_len);
}

sky_status vkrt_buffer_create(vkrt_device *dev, VkDeviceSize size, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred, VkBufferUsageFlags extra_usage,
                              const char *what, vkrt_buffer *buf, char *error, size_t error_len) {
    memset(buf, 0, sizeof *buf);
    if (size == 0) size = 16; /* bindings must have a buffer even when empty */
    sky_status status =
        mem_create_buffer(dev, size, NULL, extra_usage, &buf->buffer, what, error, error_len);
    if (status != SKY_OK) return status;
    buf->size = size;
    VkMemoryRequirements req;
    dev->vk.vkGetBufferMemoryRequirements(dev->device, buf->buffer, &req);
    uint32_t type = mem_find_type(dev, req.memoryTypeBits, required | preferred);
    if (type == UINT32_MAX) type = mem_find_type(dev, req.memoryTypeBits, required);
    if (type == UINT32_MAX) {
        frame_error(error, error_len, "no Vulkan memory type for the %s buffer has flags 0x%x",
                    what, (unsigned)required);
        vkrt_buffer_destroy(dev, buf);
        return SKY_ERR_VULKAN;
    }
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    char msg[160];
    snprintf(msg, sizeof msg, "vkAllocateMemory (%s, %llu bytes)", what,
             (unsigned long long)req.size);
    VkResult r = dev->vk.vkAllocateMemory(dev->device, &alloc, NULL, &buf->memory);
    if (r == VK_SUCCESS) r = dev->vk.vkBindBufferMemory(dev->device, buf->buffer, buf->memory, 0);
    VkMemoryPropertyFlags flags = dev->memory.memoryTypes[type].propertyFlags;
    if (r == VK_SUCCESS && (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        snprintf(msg, sizeof msg, "vkMapMemory (%s)", what);
        r = dev->vk.vkMapMemory(dev->device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->map);
    }
    if (r != VK_SUCCESS) {
        status = vkrt_check(r, msg, error, error_len);
        vkrt_buffer_destroy(dev, buf);
        return status;
    }
    buf->coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    return SKY_OK;
}

sky_status vkrt_buffer_import(vkrt_device *dev, void *host, VkDeviceSize bytes, vkrt_buffer *buf,
                              char *error, size_t error_len) {
    memset(buf, 0, sizeof *buf);
    if (!dev->has_host_import) {
        frame_error(error, error_len, "the device lacks VK_EXT_external_memory_host");
        return SKY_ERR_VULKAN;
    }
    uint64_t align = dev->min_import_alignment;
    if ((uintptr_t)host % align != 0 || bytes % align != 0) {
        frame_error(error, error_len,
                    "the frame file's slots (%llu bytes) are not aligned to the device's "
                    "minImportedHostPointerAlignment %llu",
                    (unsigned long long)bytes, (unsigned long long)align);
        return SKY_ERR_VULKAN;
    }
    VkMemoryHostPointerPropertiesEXT pointer = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT,
    };
    VkResult r = dev->vk.vkGetMemoryHostPointerPropertiesEXT(
        dev->device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, host, &pointer);
    if (r != VK_SUCCESS)
        return vkrt_check(r, "vkGetMemoryHostPointerPropertiesEXT", error, error_len);
    VkExternalMemoryBufferCreateInfo external = {
        .sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
        .handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
    };
    sky_status status = mem_create_buffer(dev, bytes, &external, 0, &buf->buffer, "imported slots",
                                          error, error_len);
    if (status != SKY_OK) return status;
    buf->size = bytes;
    VkMemoryRequirements req;
    dev->vk.vkGetBufferMemoryRequirements(dev->device, buf->buffer, &req);
    /* Coherent only: an imported pointer is never vkMapMemory'd, so it cannot be invalidated. */
    uint32_t type =
        mem_find_type(dev, req.memoryTypeBits & pointer.memoryTypeBits,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (type == UINT32_MAX || req.size > bytes) {
        frame_error(error, error_len, "the device cannot import the frame file's slots: %s",
                    type == UINT32_MAX ? "no host-coherent memory type accepts the pointer"
                                       : "the buffer needs more memory than the slots span");
        vkrt_buffer_destroy(dev, buf);
        return SKY_ERR_VULKAN;
    }
    VkImportMemoryHostPointerInfoEXT import = {
        .sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
        .handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
        .pHostPointer = host,
    };
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .pNext = &import,
        .allocationSize = bytes,
        .memoryTypeIndex = type,
    };
    r = dev->vk.vkAllocateMemory(dev->device, &alloc, NULL, &buf->memory);
    if (r == VK_SUCCESS) r = dev->vk.vkBindBufferMemory(dev->device, buf->buffer, buf->memory, 0);
    if (r != VK_SUCCESS) {
        status =
            vkrt_check(r, "importing the frame file's slots (vkAllocateMemory)", error, error_len);
        vkrt_buffer_destroy(dev, buf);
        return status;
    }
    buf->map = host;
    buf->coherent = true;
    buf->imported = true;
    return SKY_OK;
}

static sky_status mem_range(vkrt_device *dev, const vkrt_buffer *buf, bool flush, char *error,
                            size_t error_len) {
    if (buf->coherent || !buf->map) return SKY_OK;
    VkMappedMemoryRange range = {
        .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
        .memory = buf->memory,
        .offset = 0,
        .size = VK_WHOLE_SIZE,
    };
    VkResult r = flush ? dev->vk.vkFlushMappedMemoryRanges(dev->device, 1, &range)
                       : dev->vk.vkInvalidateMappedMemoryRanges(dev->device, 1, &range);
    return vkrt_check(r, flush ? "vkFlushMappedMemoryRanges" : "vkInvalidateMappedMemoryRanges",
                      error, error_len);
}

sky_status vkrt_buffer_invalidate(vkrt_device *dev, const vkrt_buffer *buf, char *error,
                                  size_t error_len) {
    return mem_range(dev, buf, false, error, error_len);
}

sky_status vkrt_buffer_flush(vkrt_device *dev, const vkrt_buffer *buf, char *error,
                             size_t error_len) {
    return mem_range(dev, buf, true, error, error_len);
}

/* Copies through a host-visible staging buffer with a one-time command buffer. */
static sky_status mem_upload_staged(vkrt_device *dev, VkCommandPool pool, vkrt_buffer *buf,
                                    const void *data, size_t bytes, uint32_t timeout_ms,
                                    char *error, size_t error_len) {
    vkrt_buffer staging;
    sky_status status = vkrt_buffer_create(dev, bytes, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, 0, 0,
                                           "staging", &staging, error, error_len);
    if (status != SKY_OK) return status;
    memcpy(staging.map, data, bytes);
    status = vkrt_buffer_flush(dev, &staging, error, error_len);
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkResult r = VK_SUCCESS;
    if (status == SKY_OK) {
        VkCommandBufferAllocateInfo alloc = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        r = dev->vk.vkAllocateCommandBuffers(dev->device, &alloc, &cmd);
        VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        if (r == VK_SUCCESS) r = dev->vk.vkCreateFence(dev->device, &fence_info, NULL, &fence);
        VkCommandBufferBeginInfo begin = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        };
        if (r == VK_SUCCESS) r = dev->vk.vkBeginCommandBuffer(cmd, &begin);
        if (r == VK_SUCCESS) {
            VkBufferCopy region = {.size = bytes};
            dev->vk.vkCmdCopyBuffer(cmd, staging.buffer, buf->buffer, 1, &region);
            r = dev->vk.vkEndCommandBuffer(cmd);
        }
        VkSubmitInfo submit = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1,
            .pCommandBuffers = &cmd,
        };
        if (r == VK_SUCCESS) r = vkrt_queue_submit(dev, &submit, fence);
        if (r == VK_SUCCESS)
            r = dev->vk.vkWaitForFences(dev->device, 1, &fence, VK_TRUE,
                                        (uint64_t)timeout_ms * 1000000u);
        if (r == VK_TIMEOUT) {
            frame_error(error, error_len, "uploading to the device did not finish within %u ms",
                        timeout_ms);
            status = SKY_ERR_DEVICE_LOST;
        } else {
            status = vkrt_check(r, "uploading LED data to the device", error, error_len);
        }
    }
    /* After a timeout the copy may still run: leak the staging objects rather than free them
     * under the device (the runtime is unusable then anyway). */
    if (status == SKY_ERR_DEVICE_LOST) return status;
    if (fence) dev->vk.vkDestroyFence(dev->device, fence, NULL);
    if (cmd) dev->vk.vkFreeCommandBuffers(dev->device, pool, 1, &cmd);
    vkrt_buffer_destroy(dev, &staging);
    return status;
}

sky_status vkrt_buffer_upload(vkrt_device *dev, VkCommandPool pool, vkrt_buffer *buf,
                              const void *data, size_t bytes, uint32_t timeout_ms, char *error,
                              size_t error_len) {
    if (bytes == 0) return SKY_OK;
    if (bytes > buf->size) {
        frame_error(error, error_len, "internal: upload of %zu bytes into a %llu-byte buffer",
                    bytes, (unsigned long long)buf->size);
        return SKY_ERR_INTERNAL;
    }
    if (buf->map) {
        memcpy(buf->map, data, bytes);
        return vkrt_buffer_flush(dev, buf, error, error_len);
    }
    return mem_upload_staged(dev, pool, buf, data, bytes, timeout_ms, error, error_len);
}

void vkrt_buffer_destroy(vkrt_device *dev, vkrt_buffer *buf) {
    if (buf->buffer) dev->vk.vkDestroyBuffer(dev->device, buf->buffer, NULL);
    if (buf->map && !buf->imported) dev->vk.vkUnmapMemory(dev->device, buf->memory);
    if (buf->memory) dev->vk.vkFreeMemory(dev->device, buf->memory, NULL);
    memset(buf, 0, sizeof *buf);
}

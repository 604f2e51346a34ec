/*
 * vk_device.c - the Vulkan loader, the instance, and the choice of a device.
 *
 * The loader is opened at run time through volk (no link-time libvulkan), so a
 * machine without Vulkan gets a clear message instead of a failure to start.
 * Devices are ranked discrete > integrated > virtual > CPU (lavapipe); the
 * --device option or $SKY_DEVICE picks one by index or by name substring.
 * A usable device needs Vulkan 1.1 (the shaders are SPIR-V 1.3) and a queue
 * with compute. VK_EXT_external_memory_host is enabled where present: it lets
 * the shader write straight into the frame file (zero-copy publishing).
 *
 * The only global state of libskyrt lives here: volk's loader entry points,
 * loaded once per process under a mutex (and, in sanitizer builds only, an
 * instance that keeps the driver loaded: see dev_pin_driver).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame_error.h"
#include "vk_internal.h"

/* ------------------------------------------------------------- utilities */

uint64_t vkrt_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *vkrt_result_str(VkResult result) {
    switch (result) {
#define VKRT_CASE(r) \
    case r:          \
        return #r;
        VKRT_CASE(VK_SUCCESS)
        VKRT_CASE(VK_NOT_READY)
        VKRT_CASE(VK_TIMEOUT)
        VKRT_CASE(VK_INCOMPLETE)
        VKRT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        VKRT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        VKRT_CASE(VK_ERROR_INITIALIZATION_FAILED)
        VKRT_CASE(VK_ERROR_DEVICE_LOST)
        VKRT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        VKRT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        VKRT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        VKRT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        VKRT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        VKRT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        VKRT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        VKRT_CASE(VK_ERROR_FRAGMENTED_POOL)
        VKRT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        VKRT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        VKRT_CASE(VK_ERROR_INVALID_SHADER_NV)
        VKRT_CASE(VK_ERROR_UNKNOWN)
#undef VKRT_CASE
    default:
        return "VK_ERROR (unknown code)";
    }
}

sky_status vkrt_check(VkResult result, const char *what, char *error, size_t error_len) {
    if (result == VK_SUCCESS) return SKY_OK;
    sky_status status = SKY_ERR_VULKAN;
    const char *hint = "";
    if (result == VK_ERROR_DEVICE_LOST) {
        status = SKY_ERR_DEVICE_LOST;
        hint = ": the device was lost; the runtime must be recreated";
    } else if (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY) {
        status = SKY_ERR_NOMEM;
        hint = result == VK_ERROR_OUT_OF_DEVICE_MEMORY ? ": out of device memory"
                                                       : ": out of host memory";
    }
    frame_error(error, error_len, "%s failed: %s (%d)%s", what, vkrt_result_str(result),
                (int)result, hint);
    return status;
}

const char *sky_device_type_str(sky_device_type type) {
    switch (type) {
    case SKY_DEVICE_DISCRETE:
        return "discrete";
    case SKY_DEVICE_INTEGRATED:
        return "integrated";
    case SKY_DEVICE_VIRTUAL:
        return "virtual";
    case SKY_DEVICE_CPU:
        return "cpu";
    case SKY_DEVICE_OTHER:
        break;
    }
    return "other";
}

static sky_device_type dev_type_from_vk(VkPhysicalDeviceType type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return SKY_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return SKY_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return SKY_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return SKY_DEVICE_CPU;
    default:
        return SKY_DEVICE_OTHER;
    }
}

/* Higher is better: the automatic choice takes the best usable device. */
static int dev_type_rank(sky_device_type type) {
    switch (type) {
    case SKY_DEVICE_DISCRETE:
        return 4;
    case SKY_DEVICE_INTEGRATED:
        return 3;
    case SKY_DEVICE_VIRTUAL:
        return 2;
    case SKY_DEVICE_CPU:
        return 1;
    case SKY_DEVICE_OTHER:
        break;
    }
    return 0;
}

/* ---------------------------------------------------------------- loader */

static pthread_mutex_t dev_loader_lock = PTHREAD_MUTEX_INITIALIZER;
static bool dev_loader_ready;    /* volkInitialize succeeded */
static bool dev_instance_loaded; /* instance-level entry points loaded */

static sky_status dev_loader_init(char *error, size_t error_len) {
    pthread_mutex_lock(&dev_loader_lock);
    if (!dev_loader_ready && volkInitialize() == VK_SUCCESS) dev_loader_ready = true;
    bool ready = dev_loader_ready;
    pthread_mutex_unlock(&dev_loader_lock);
    if (ready) return SKY_OK;
    frame_error(error, error_len, "%s (the Vulkan loader libvulkan.so.1 could not be loaded)",
                SKY_NO_DEVICE_MESSAGE);
    return SKY_ERR_NO_DEVICE;
}

/*
 * Instance-level functions obtained from any instance are the loader's
 * trampolines, valid for every instance, so they are loaded once.
 */
static void dev_loader_load_instance(VkInstance instance) {
    pthread_mutex_lock(&dev_loader_lock);
    if (!dev_instance_loaded) {
        volkLoadInstanceOnly(instance);
        dev_instance_loaded = true;
    }
    pthread_mutex_unlock(&dev_loader_lock);
}

#ifdef SKY_SANITIZE
/*
 * Sanitizer builds only: one instance that lives until the process exits, so
 * the loader never unloads the driver. When it does (at the last
 * vkDestroyInstance), memory the driver's globals still point to (lavapipe's
 * and LLVM's caches) is reported by LeakSanitizer as leaked from an unknown
 * module, which no suppression can name. With the driver kept loaded its
 * globals are scanned and only real leaks are reported.
 */
static VkInstance dev_pinned_instance;

static void dev_pin_driver(const VkInstanceCreateInfo *info) {
    pthread_mutex_lock(&dev_loader_lock);
    if (!dev_pinned_instance && vkCreateInstance(info, NULL, &dev_pinned_instance) != VK_SUCCESS)
        dev_pinned_instance = VK_NULL_HANDLE;
    pthread_mutex_unlock(&dev_loader_lock);
}
#endif

static sky_status dev_instance_create(VkInstance *instance, char *error, size_t error_len) {
    sky_status status = dev_loader_init(error, error_len);
    if (status != SKY_OK) return status;
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "skyscreen",
        .applicationVersion =
            VK_MAKE_API_VERSION(0, SKY_VERSION_MAJOR, SKY_VERSION_MINOR, SKY_VERSION_PATCH),
        .pEngineName = "libskyrt",
        .engineVersion =
            VK_MAKE_API_VERSION(0, SKY_VERSION_MAJOR, SKY_VERSION_MINOR, SKY_VERSION_PATCH),
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    VkResult r = vkCreateInstance(&info, NULL, instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
        frame_error(error, error_len, "%s (vkCreateInstance: %s: no Vulkan driver is installed)",
                    SKY_NO_DEVICE_MESSAGE, vkrt_result_str(r));
        return SKY_ERR_NO_DEVICE;
    }
    if (r != VK_SUCCESS) return vkrt_check(r, "vkCreateInstance", error, error_len);
    dev_loader_load_instance(*instance);
#ifdef SKY_SANITIZE
    dev_pin_driver(&info);
#endif
    return SKY_OK;
}

/* ------------------------------------------------------------ enumeration */

static sky_status dev_enumerate(VkInstance instance, VkPhysicalDevice **list, uint32_t *count,
                                char *error, size_t error_len) {
    *list = NULL;
    *count = 0;
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(instance, &n, NULL);
    if (r != VK_SUCCESS) return vkrt_check(r, "vkEnumeratePhysicalDevices", error, error_len);
    if (n == 0) {
        frame_error(error, error_len, "%s (the Vulkan loader reports no physical device)",
                    SKY_NO_DEVICE_MESSAGE);
        return SKY_ERR_NO_DEVICE;
    }
    VkPhysicalDevice *devices = calloc(n, sizeof *devices);
    if (!devices) {
        frame_error(error, error_len, "out of memory listing %u Vulkan devices", n);
        return SKY_ERR_NOMEM;
    }
    r = vkEnumeratePhysicalDevices(instance, &n, devices);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(devices);
        return vkrt_check(r, "vkEnumeratePhysicalDevices", error, error_len);
    }
    *list = devices;
    *count = n;
    return SKY_OK;
}

/* The first queue family with compute, or UINT32_MAX. */
static uint32_t dev_compute_family(VkPhysicalDevice physical) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, NULL);
    VkQueueFamilyProperties families[64];
    if (n > 64) n = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, families);
    /* Prefer a compute family without graphics (an async compute queue), else any. */
    uint32_t any = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0)
            continue;
        if (!(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return i;
        if (any == UINT32_MAX) any = i;
    }
    return any;
}

static bool dev_has_extension(VkPhysicalDevice physical, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(physical, NULL, &n, NULL) != VK_SUCCESS) return false;
    VkExtensionProperties *ext = calloc(n ? n : 1, sizeof *ext);
    if (!ext) return false;
    bool found = false;
    if (vkEnumerateDeviceExtensionProperties(physical, NULL, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

static void dev_describe(VkPhysicalDevice physical, uint32_t index, sky_vk_device_info *info) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(physical, &props);
    memset(info, 0, sizeof *info);
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    info->type = dev_type_from_vk(props.deviceType);
    info->api_version = props.apiVersion;
    info->driver_version = props.driverVersion;
    info->has_compute = dev_compute_family(physical) != UINT32_MAX;
    info->max_workgroup_size = props.limits.maxComputeWorkGroupSize[0];
    if (props.limits.maxComputeWorkGroupInvocations < info->max_workgroup_size)
        info->max_workgroup_size = props.limits.maxComputeWorkGroupInvocations;
    info->has_external_memory_host =
        dev_has_extension(physical, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
    if (info->has_external_memory_host && vkGetPhysicalDeviceProperties2) {
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT host = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT,
        };
        VkPhysicalDeviceProperties2 props2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
            .pNext = &host,
        };
        vkGetPhysicalDeviceProperties2(physical, &props2);
        info->min_import_alignment = host.minImportedHostPointerAlignment;
    }
}

static bool dev_usable(const sky_vk_device_info *info) {
    return info->has_compute && info->api_version >= VK_API_VERSION_1_1;
}

static bool dev_name_matches(const char *name, const char *needle) {
    size_t n = strlen(needle);
    for (const char *p = name; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return false;
}

/* The effective selector: the option, else $SKY_DEVICE, else NULL (automatic). */
static const char *dev_selector(const char *selector) {
    if (selector && selector[0]) return selector;
    const char *env = getenv(SKY_DEVICE_ENV);
    return env && env[0] ? env : NULL;
}

/*
 * Index into `infos` of the device to use, or -1 with a message. An all-digit
 * selector is an index; anything else a case-insensitive name substring (the
 * best-ranked usable match wins).
 */
static long dev_choose(const sky_vk_device_info *infos, uint32_t count, const char *selector,
                       char *error, size_t error_len) {
    const char *sel = dev_selector(selector);
    const char *origin = selector && selector[0] ? "--device" : "$" SKY_DEVICE_ENV;
    if (sel) {
        char *end = NULL;
        unsigned long index = strtoul(sel, &end, 10);
        if (end != sel && *end == '\0' && isdigit((unsigned char)sel[0])) {
            if (index >= count) {
                frame_error(error, error_len,
                            "no Vulkan device has index %lu (%s %s): there are %u; `sky devices` "
                            "lists them",
                            index, origin, sel, count);
                return -1;
            }
            if (!dev_usable(&infos[index])) {
                frame_error(error, error_len,
                            "Vulkan device %lu (%s) cannot run skyscreen: it needs Vulkan 1.1 and "
                            "a compute queue",
                            index, infos[index].name);
                return -1;
            }
            return (long)index;
        }
    }
    long best = -1;
    for (uint32_t i = 0; i < count; i++) {
        if (!dev_usable(&infos[i])) continue;
        if (sel && !dev_name_matches(infos[i].name, sel)) continue;
        if (best < 0 || dev_type_rank(infos[i].type) > dev_type_rank(infos[best].type))
            best = (long)i;
    }
    if (best < 0 && sel)
        frame_error(error, error_len,
                    "no usable Vulkan device matches `%s` (%s); `sky devices` lists them", sel,
                    origin);
    else if (best < 0)
        frame_error(error, error_len, "%s (no device has Vulkan 1.1 and a compute queue)",
                    SKY_NO_DEVICE_MESSAGE);
    return best;
}

static sky_status dev_list(VkInstance instance, const char *selector, sky_vk_device_info **out,
                           VkPhysicalDevice **physicals, uint32_t *count, long *chosen, char *error,
                           size_t error_len) {
    VkPhysicalDevice *list;
    sky_status status = dev_enumerate(instance, &list, count, error, error_len);
    if (status != SKY_OK) return status;
    sky_vk_device_info *infos = calloc(*count, sizeof *infos);
    if (!infos) {
        free(list);
        frame_error(error, error_len, "out of memory describing Vulkan devices");
        return SKY_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < *count; i++) dev_describe(list[i], i, &infos[i]);
    *chosen = dev_choose(infos, *count, selector, error, error_len);
    if (*chosen >= 0) infos[*chosen].chosen = true;
    *out = infos;
    if (physicals)
        *physicals = list;
    else
        free(list);
    return SKY_OK;
}

sky_status sky_vk_list_devices(const char *selector, sky_vk_device_info **devices, size_t *count,
                               char *error, size_t error_len) {
    if (!devices || !count) {
        frame_error(error, error_len, "sky_vk_list_devices: NULL output argument");
        return SKY_ERR_INVALID_ARG;
    }
    *devices = NULL;
    *count = 0;
    VkInstance instance;
    sky_status status = dev_instance_create(&instance, error, error_len);
    if (status != SKY_OK) return status;
    uint32_t n = 0;
    long chosen = -1;
    if (error && error_len) error[0] = '\0';
    /* With SKY_OK and nothing chosen, `error` says why the selector matched nothing.
     * *devices is dev_list's calloc'd array: the caller frees it with sky_free. */
    status = dev_list(instance, selector, devices, NULL, &n, &chosen, error, error_len);
    *count = n;
    vkDestroyInstance(instance, NULL);
    return status;
}

/* --------------------------------------------------------- logical device */

static sky_status dev_create_logical(vkrt_device *dev, const sky_vk_device_info *info, char *error,
                                     size_t error_len) {
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = dev->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    const char *extensions[2];
    uint32_t extension_count = 0;
    /* Import also needs VK_KHR_external_memory, core since 1.1. */
    dev->has_host_import = info->has_external_memory_host && info->min_import_alignment > 0;
    if (dev->has_host_import)
        extensions[extension_count++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
    VkDeviceCreateInfo create = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult r = vkCreateDevice(dev->physical, &create, NULL, &dev->device);
    if (r != VK_SUCCESS) {
        sky_status status = vkrt_check(r, "vkCreateDevice", error, error_len);
        dev->device = VK_NULL_HANDLE;
        return status;
    }
    volkLoadDeviceTable(&dev->vk, dev->device);
    dev->vk.vkGetDeviceQueue(dev->device, dev->queue_family, 0, &dev->queue);
    return SKY_OK;
}

sky_status vkrt_device_open(const char *selector, vkrt_device *dev, char *error, size_t error_len) {
    memset(dev, 0, sizeof *dev);
    if (pthread_mutex_init(&dev->queue_lock, NULL) != 0) {
        frame_error(error, error_len, "cannot create the queue lock");
        return SKY_ERR_INTERNAL;
    }
    dev->queue_lock_ready = true;
    sky_status status = dev_instance_create(&dev->instance, error, error_len);
    if (status != SKY_OK) return status;
    sky_vk_device_info *infos = NULL;
    VkPhysicalDevice *physicals = NULL;
    uint32_t count = 0;
    long chosen = -1;
    status =
        dev_list(dev->instance, selector, &infos, &physicals, &count, &chosen, error, error_len);
    if (status == SKY_OK && chosen < 0) status = SKY_ERR_NO_DEVICE;
    if (status == SKY_OK) {
        dev->physical = physicals[chosen];
        dev->queue_family = dev_compute_family(dev->physical);
        dev->min_import_alignment = infos[chosen].min_import_alignment;
        dev->type = infos[chosen].type;
        vkGetPhysicalDeviceProperties(dev->physical, &dev->props);
        vkGetPhysicalDeviceMemoryProperties(dev->physical, &dev->memory);
        status = dev_create_logical(dev, &infos[chosen], error, error_len);
    }
    free(infos);
    free(physicals);
    if (status != SKY_OK) vkrt_device_close(dev);
    return status;
}

void vkrt_device_close(vkrt_device *dev) {
    if (dev->device) dev->vk.vkDestroyDevice(dev->device, NULL);
    if (dev->instance) vkDestroyInstance(dev->instance, NULL);
    if (dev->queue_lock_ready) pthread_mutex_destroy(&dev->queue_lock);
    memset(dev, 0, sizeof *dev);
}

/* Vulkan requires external synchronization of a VkQueue: the render thread and
 * pipeline builds (their warm-up dispatch) submit from different threads. */
VkResult vkrt_queue_submit(vkrt_device *dev, const VkSubmitInfo *submit, VkFence fence) {
    pthread_mutex_lock(&dev->queue_lock);
    VkResult r = dev->vk.vkQueueSubmit(dev->queue, 1, submit, fence);
    pthread_mutex_unlock(&dev->queue_lock);
    return r;
}

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
 * With validation asked for (--validate, $SKY_VULKAN_VALIDATE) the instance
 * enables the Khronos validation layer with synchronization validation and a
 * VK_EXT_debug_utils messenger that prints and counts every warning and error.
 * $SKY_DEVICE_PROFILE (tests) masks what devices report (vk_profile.c) before
 * anything is chosen from it.
 *
 * The only global state of libskyrt lives here: volk's loader entry points,
 * loaded once per process under a mutex, the process's count of validation
 * messages (and, in sanitizer builds only, an instance that keeps the driver
 * loaded and the validation layer kept loaded: see dev_pin_driver).
 */
#include <ctype.h>
#ifdef SKY_SANITIZE
#include <dlfcn.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
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
 * globals are scanned and only real leaks are reported. No layer, no messenger.
 */
static VkInstance dev_pinned_instance;

static void dev_pin_driver(const VkInstanceCreateInfo *info) {
    VkInstanceCreateInfo plain = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = info->pApplicationInfo,
    };
    pthread_mutex_lock(&dev_loader_lock);
    if (!dev_pinned_instance && vkCreateInstance(&plain, NULL, &dev_pinned_instance) != VK_SUCCESS)
        dev_pinned_instance = VK_NULL_HANDLE;
    pthread_mutex_unlock(&dev_loader_lock);
}

/* The same for the validation layer, which the loader unloads with its last instance:
 * kept loaded (RTLD_NODELETE on the copy the loader opened), its allocations are
 * attributed to it and tests/lsan-vulkan.supp can name it. */
static void dev_pin_layer(void) {
    void *layer =
        dlopen("libVkLayer_khronos_validation.so", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (layer) dlclose(layer); /* drops this reference only: NODELETE keeps the library */
}
#endif

/* ------------------------------------------------------------- validation */

#define DEV_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static _Atomic uint64_t dev_validation_total; /* every message of this process */

uint64_t sky_vk_validation_messages(void) {
    return atomic_load(&dev_validation_total);
}

bool vkrt_validation_wanted(bool validate) {
    const char *env = getenv(SKY_VALIDATE_ENV);
    return validate || (env && env[0] && strcmp(env, "0") != 0);
}

/* Called by the layer, on any thread: prints and counts warnings and errors. */
static VKAPI_ATTR VkBool32 VKAPI_CALL dev_on_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    const VkDebugUtilsMessageSeverityFlagsEXT counted =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    if (!(severity & counted)) return VK_FALSE;
    /* General messages come from the loader (a missing driver file, as the no-driver tests
     * arrange on purpose): shown, but only the layer's findings about API use count. */
    bool api_use = (types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                             VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT)) != 0;
    if (api_use) {
        atomic_fetch_add(&dev_validation_total, 1);
        if (user) atomic_fetch_add(&((vkrt_device *)user)->validation_messages, 1);
    }
    fprintf(stderr, "sky: Vulkan %s %s: %s\n", api_use ? "validation" : "loader",
            severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE; /* the call goes on to the driver, as without the layer */
}

static VkDebugUtilsMessengerCreateInfoEXT dev_messenger_info(vkrt_device *owner) {
    return (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = dev_on_message,
        .pUserData = owner,
    };
}

static bool dev_layer_extension(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(DEV_VALIDATION_LAYER, &n, NULL) != VK_SUCCESS)
        return false;
    VkExtensionProperties *ext = calloc(n ? n : 1, sizeof *ext);
    bool found = false;
    if (ext && vkEnumerateInstanceExtensionProperties(DEV_VALIDATION_LAYER, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

/* The layer and the two extensions validation needs, or a message saying which is missing. */
static sky_status dev_validation_check(char *error, size_t error_len) {
    uint32_t n = 0;
    VkLayerProperties *layers = NULL;
    bool found = false;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) == VK_SUCCESS &&
        (layers = calloc(n ? n : 1, sizeof *layers)) &&
        vkEnumerateInstanceLayerProperties(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(layers[i].layerName, DEV_VALIDATION_LAYER) == 0;
    free(layers);
    const char *missing = !found ? DEV_VALIDATION_LAYER
                          : !dev_layer_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)
                              ? VK_EXT_DEBUG_UTILS_EXTENSION_NAME
                          : !dev_layer_extension(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)
                              ? VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME
                              : NULL;
    if (!missing) return SKY_OK;
    frame_error(error, error_len,
                "validation was asked for (--validate or $" SKY_VALIDATE_ENV
                ") but the Vulkan loader has no %s: install the Khronos validation layer "
                "(Debian: vulkan-validationlayers)",
                missing);
    return SKY_ERR_VULKAN;
}

/* After vkCreateInstance: the messenger for the instance's life (the one chained into
 * the create info only covers vkCreateInstance and vkDestroyInstance). */
static sky_status dev_messenger_create(vkrt_device *dev, char *error, size_t error_len) {
    PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
        vkGetInstanceProcAddr(dev->instance, "vkCreateDebugUtilsMessengerEXT");
    dev->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
        dev->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (!create || !dev->destroy_messenger) {
        frame_error(error, error_len, "the validation layer does not provide VK_EXT_debug_utils");
        return SKY_ERR_VULKAN;
    }
    VkDebugUtilsMessengerCreateInfoEXT info = dev_messenger_info(dev);
    return vkrt_check(create(dev->instance, &info, NULL, &dev->messenger),
                      "vkCreateDebugUtilsMessengerEXT", error, error_len);
}

/*
 * The instance, with the validation layer when `validate` (`owner` then counts
 * its messages, or only the process does when it is NULL).
 */
static sky_status dev_instance_create(VkInstance *instance, bool validate, vkrt_device *owner,
                                      char *error, size_t error_len) {
    sky_status status = dev_loader_init(error, error_len);
    if (status != SKY_OK) return status;
    if (validate && (status = dev_validation_check(error, error_len)) != SKY_OK) return status;
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
    const char *layers[] = {DEV_VALIDATION_LAYER};
    const char *extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
                                VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    VkDebugUtilsMessengerCreateInfoEXT messenger = dev_messenger_info(owner);
    VkValidationFeatureEnableEXT enables[] = {
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = &messenger,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = enables,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validate ? &features : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = validate ? 1 : 0,
        .ppEnabledLayerNames = validate ? layers : NULL,
        .enabledExtensionCount = validate ? 2 : 0,
        .ppEnabledExtensionNames = validate ? extensions : NULL,
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
    if (validate) dev_pin_layer();
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

static void dev_describe(VkPhysicalDevice physical, uint32_t index, const vkrt_profile *profile,
                         sky_vk_device_info *info) {
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
    vkrt_profile_mask_info(profile, info);
}

/* What the device lacks of what the runtime needs, or NULL when it has everything. */
static const char *dev_missing(const sky_vk_device_info *info) {
    if (info->api_version < VK_API_VERSION_1_1) return "Vulkan 1.1 (its shaders are SPIR-V 1.3)";
    if (!info->has_compute) return "a queue with compute";
    return NULL;
}

static bool dev_usable(const sky_vk_device_info *info) {
    return dev_missing(info) == NULL;
}

/* ", device N (NAME) has it" for the first usable device, or "; no device has it". */
static void dev_who_has_it(const sky_vk_device_info *infos, uint32_t count, char *out,
                           size_t out_len) {
    for (uint32_t i = 0; i < count; i++)
        if (dev_usable(&infos[i])) {
            snprintf(out, out_len, "; device %u (%s) has it: --device %u", infos[i].index,
                     infos[i].name, infos[i].index);
            return;
        }
    snprintf(out, out_len, "; no Vulkan device here has it");
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
long vkrt_device_choose(const sky_vk_device_info *infos, uint32_t count, const char *selector,
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
                char who[320];
                dev_who_has_it(infos, count, who, sizeof who);
                frame_error(error, error_len,
                            "Vulkan device %lu (%s) cannot run skyscreen: it lacks %s%s", index,
                            infos[index].name, dev_missing(&infos[index]), who);
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
    if (best >= 0) return best;
    char who[320];
    dev_who_has_it(infos, count, who, sizeof who);
    const sky_vk_device_info *named = NULL; /* the first device the selector names */
    for (uint32_t i = 0; i < count && !named; i++)
        if (!sel || dev_name_matches(infos[i].name, sel)) named = &infos[i];
    if (named && sel)
        frame_error(error, error_len,
                    "no usable Vulkan device matches `%s` (%s): device %u (%s) lacks %s%s", sel,
                    origin, named->index, named->name, dev_missing(named), who);
    else if (sel)
        frame_error(error, error_len,
                    "no usable Vulkan device matches `%s` (%s); `sky devices` lists them", sel,
                    origin);
    else if (named)
        frame_error(error, error_len,
                    "%s (no device can run skyscreen: device %u (%s) lacks %s, and so does every "
                    "other)",
                    SKY_NO_DEVICE_MESSAGE, named->index, named->name, dev_missing(named));
    else
        frame_error(error, error_len, "%s (the Vulkan loader reports no physical device)",
                    SKY_NO_DEVICE_MESSAGE);
    return -1;
}

static sky_status dev_list(VkInstance instance, const char *selector, const vkrt_profile *profile,
                           sky_vk_device_info **out, VkPhysicalDevice **physicals, uint32_t *count,
                           long *chosen, char *error, size_t error_len) {
    VkPhysicalDevice *list;
    sky_status status = dev_enumerate(instance, &list, count, error, error_len);
    if (status != SKY_OK) return status;
    sky_vk_device_info *infos = calloc(*count, sizeof *infos);
    if (!infos) {
        free(list);
        frame_error(error, error_len, "out of memory describing Vulkan devices");
        return SKY_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < *count; i++) dev_describe(list[i], i, profile, &infos[i]);
    *chosen = vkrt_device_choose(infos, *count, selector, error, error_len);
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
    const vkrt_profile *profile;
    sky_status status = vkrt_profile_from_env(&profile, error, error_len);
    if (status != SKY_OK) return status;
    VkInstance instance;
    status = dev_instance_create(&instance, vkrt_validation_wanted(false), NULL, error, error_len);
    if (status != SKY_OK) return status;
    uint32_t n = 0;
    long chosen = -1;
    if (error && error_len) error[0] = '\0';
    /* With SKY_OK and nothing chosen, `error` says why the selector matched nothing.
     * *devices is dev_list's calloc'd array: the caller frees it with sky_free. */
    status = dev_list(instance, selector, profile, devices, NULL, &n, &chosen, error, error_len);
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

/*
 * Limits the shaders need beyond Vulkan 1.1 and a compute queue: the pattern
 * shaders bind 6 storage buffers (docs/shader-abi.md), more than the 4 per
 * stage the specification guarantees. Creating their layout on a device with
 * fewer is invalid use; refused here by name instead.
 */
static sky_status dev_check_limits(const vkrt_device *dev, char *error, size_t error_len) {
    uint32_t buffers = dev->props.limits.maxPerStageDescriptorStorageBuffers;
    if (buffers >= VKRT_BINDINGS) return SKY_OK;
    frame_error(error, error_len,
                "Vulkan device %s cannot run skyscreen: it lacks %u storage buffers per shader "
                "stage (maxPerStageDescriptorStorageBuffers is %u)",
                dev->props.deviceName, (unsigned)VKRT_BINDINGS, buffers);
    return SKY_ERR_NO_DEVICE;
}

sky_status vkrt_device_open(const char *selector, bool validate, vkrt_device *dev, char *error,
                            size_t error_len) {
    memset(dev, 0, sizeof *dev);
    if (pthread_mutex_init(&dev->queue_lock, NULL) != 0) {
        frame_error(error, error_len, "cannot create the queue lock");
        return SKY_ERR_INTERNAL;
    }
    dev->queue_lock_ready = true;
    dev->validating = vkrt_validation_wanted(validate);
    sky_status status = vkrt_profile_from_env(&dev->profile, error, error_len);
    if (status == SKY_OK)
        status = dev_instance_create(&dev->instance, dev->validating, dev, error, error_len);
    if (status == SKY_OK && dev->validating) status = dev_messenger_create(dev, error, error_len);
    if (status != SKY_OK) {
        vkrt_device_close(dev);
        return status;
    }
    sky_vk_device_info *infos = NULL;
    VkPhysicalDevice *physicals = NULL;
    uint32_t count = 0;
    long chosen = -1;
    status = dev_list(dev->instance, selector, dev->profile, &infos, &physicals, &count, &chosen,
                      error, error_len);
    if (status == SKY_OK && chosen < 0) status = SKY_ERR_NO_DEVICE;
    if (status == SKY_OK) {
        dev->physical = physicals[chosen];
        dev->queue_family = dev_compute_family(dev->physical);
        dev->min_import_alignment = infos[chosen].min_import_alignment;
        dev->type = infos[chosen].type;
        vkGetPhysicalDeviceProperties(dev->physical, &dev->props);
        vkrt_profile_mask_limits(dev->profile, &dev->props.limits);
        vkGetPhysicalDeviceMemoryProperties(dev->physical, &dev->memory);
        status = dev_check_limits(dev, error, error_len);
    }
    if (status == SKY_OK) status = dev_create_logical(dev, &infos[chosen], error, error_len);
    free(infos);
    free(physicals);
    if (status != SKY_OK) vkrt_device_close(dev);
    return status;
}

void vkrt_device_close(vkrt_device *dev) {
    if (dev->device) dev->vk.vkDestroyDevice(dev->device, NULL);
    if (dev->messenger) dev->destroy_messenger(dev->instance, dev->messenger, NULL);
    if (dev->instance) vkDestroyInstance(dev->instance, NULL);
    if (dev->queue_lock_ready) pthread_mutex_destroy(&dev->queue_lock);
    memset(dev, 0, sizeof *dev);
}

bool vkrt_device_texel_format(const vkrt_device *dev) {
    if (dev->profile && !dev->profile->texel_buffers) return false;
    VkFormatProperties props;
    vkGetPhysicalDeviceFormatProperties(dev->physical, VK_FORMAT_R32G32B32A32_SFLOAT, &props);
    return (props.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) != 0;
}

/* Vulkan requires external synchronization of a VkQueue: the render thread and
 * pipeline builds (their warm-up dispatch) submit from different threads. */
VkResult vkrt_queue_submit(vkrt_device *dev, const VkSubmitInfo *submit, VkFence fence) {
    pthread_mutex_lock(&dev->queue_lock);
    VkResult r = dev->vk.vkQueueSubmit(dev->queue, 1, submit, fence);
    pthread_mutex_unlock(&dev->queue_lock);
    return r;
}

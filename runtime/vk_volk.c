/*
 * vk_volk.c - compiles volk (Debian's libvulkan-volk-dev ships it header-only)
 * once into libskyrt: the Vulkan loader is opened with dlopen at run time, so
 * `sky` starts and reports a clear error on machines without Vulkan.
 */
#define VOLK_IMPLEMENTATION
#include "vk_internal.h"

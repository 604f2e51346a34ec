/*
 * vk_validation_check.h - the end of every GPU suite: with the validation layer
 * on ($SKY_VULKAN_VALIDATE, as ctest runs them), any message it reported fails
 * the suite, so a new misuse of the API cannot slip in (test_vk_validation.c
 * shows the layer really reports what it sees).
 */
#ifndef SKY_VK_VALIDATION_CHECK_H
#define SKY_VK_VALIDATION_CHECK_H

#include <stdio.h>

#include "sky/runtime.h"

/* 0 when the layer reported nothing in this process, else 1 after saying so. */
static inline int vk_validation_check(const char *suite) {
    uint64_t messages = sky_vk_validation_messages();
    if (messages == 0) return 0;
    fprintf(stderr, "%s: the Vulkan validation layer reported %llu message(s), printed above\n",
            suite, (unsigned long long)messages);
    return 1;
}

#endif

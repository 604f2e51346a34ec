/*
 * cmd_devices.c - `sky devices`: the Vulkan devices the runtime can use.
 *
 * One line per physical device: its index (what --device N takes), name,
 * type, Vulkan version, whether it can import host memory (zero-copy
 * publishing into the frame file) and which one `sky run` would choose for
 * the given --device / $SKY_DEVICE. Then the CPU backend (`--device cpu`:
 * the pattern compiled to C and run on every core), when a C compiler runs.
 * Without a selector the star follows `sky run`'s default rule
 * (sky_runtime_default_device). Exit code 2 when there is no device at all.
 * Also the --validate switch that `sky run`, `sky preview` and `sky bench`
 * share (cli_validation_enable, cli_validation_summary).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "sky/runtime.h"

#define DEVICES_CMD "sky devices"

bool cli_validation_enable(const char *cmd) {
    /* The environment reaches the runtime of this process and of its build children. */
    if (setenv(SKY_VALIDATE_ENV, "1", 1) == 0) return true;
    fprintf(stderr, "%s: --validate: cannot set $%s\n", cmd, SKY_VALIDATE_ENV);
    return false;
}

bool cli_validation_summary(const char *cmd) {
    const char *env = getenv(SKY_VALIDATE_ENV);
    if (!env || !env[0] || strcmp(env, "0") == 0) return false;
    uint64_t messages = sky_vk_validation_messages();
    fprintf(stderr, "%s: the Vulkan validation layer reported %llu message%s%s\n", cmd,
            (unsigned long long)messages, messages == 1 ? "" : "s",
            messages ? " (above)" : "");
    return messages > 0;
}

static void devices_usage(FILE *out) {
    fprintf(
        out,
        "usage: sky devices [--device N|NAME]\n\n"
        "Lists the Vulkan devices and the CPU backend; `*` marks the one `sky run` would use.\n"
        "  --device N|NAME|cpu  show which device this selector picks (default: $" SKY_DEVICE_ENV
        ", else a GPU: discrete > integrated > virtual; without one the CPU backend when a C "
        "compiler is installed, else lavapipe)\n");
}

static void devices_print(const sky_vk_device_info *d) {
    char version[32];
    /* VK_MAKE_API_VERSION's encoding: variant:3 major:7 minor:10 patch:12 */
    snprintf(version, sizeof version, "%u.%u.%u", (d->api_version >> 22) & 0x7fu,
             (d->api_version >> 12) & 0x3ffu, d->api_version & 0xfffu);
    printf("%c %-5u %-40s %-10s %-8s %-9s %s\n", d->chosen ? '*' : ' ', d->index, d->name,
           sky_device_type_str(d->type), version, d->has_compute ? "yes" : "no",
           d->has_external_memory_host ? "zero-copy" : "copy");
}

static const struct option devices_long_options[] = {
    {"device", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

int cmd_devices(int argc, char **argv) {
    const char *selector = NULL;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(DEVICES_CMD, argc, argv, "h", devices_long_options)) != -1) {
        if (opt == 'h') {
            devices_usage(stdout);
            return 0;
        }
        if (opt != 'd') {
            devices_usage(stderr);
            return 2;
        }
        selector = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument `%s`\n", DEVICES_CMD, argv[optind]);
        devices_usage(stderr);
        return 2;
    }
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    char error[512] = "";
    const char *effective = selector && selector[0] ? selector : getenv(SKY_DEVICE_ENV);
    bool cpu_ok = sky_cpu_compiler_available();
    bool cpu_chosen = effective && effective[0] ? strcasecmp(effective, SKY_CPU_DEVICE) == 0
                                                : sky_runtime_default_device() != NULL;
    sky_status status = sky_vk_list_devices(selector, &devices, &count, error, sizeof error);
    if (status != SKY_OK && !cpu_ok) {
        fprintf(stderr, "sky devices: %s\n", error);
        return 2;
    }
    printf("  %-5s %-40s %-10s %-8s %-9s %s\n", "index", "name", "type", "vulkan", "compute",
           "publish");
    bool any_chosen = false;
    for (size_t i = 0; i < count; i++) {
        devices[i].chosen &= !cpu_chosen;
        devices_print(&devices[i]);
        any_chosen |= devices[i].chosen;
    }
    char cpu_name[64];
    snprintf(cpu_name, sizeof cpu_name, "CPU backend (%u threads, %s)", sky_cpu_threads_default(),
             sky_cpu_compiler());
    if (cpu_ok)
        printf("%c %-5s %-40s %-10s %-8s %-9s %s\n", cpu_chosen ? '*' : ' ', SKY_CPU_DEVICE,
               cpu_name, "cpu", "-", "yes", "zero-copy");
    else
        printf("  %-5s %-40s (no C compiler: install gcc, or name one in $SKY_CC)\n",
               SKY_CPU_DEVICE, "CPU backend");
    any_chosen |= cpu_chosen && cpu_ok;
    if (cpu_chosen && !cpu_ok) snprintf(error, sizeof error, "the CPU backend needs a C compiler");
    const char *profile = getenv(SKY_DEVICE_PROFILE_ENV);
    if (profile && profile[0])
        printf("(as masked by $" SKY_DEVICE_PROFILE_ENV "=%s, for tests: docs/hardware.md)\n",
               profile);
    if (!any_chosen) {
        fprintf(stderr, "sky devices: %s\n", error[0] ? error : "no usable device");
        sky_free(devices);
        return 2;
    }
    if (effective && effective[0])
        printf("\n* chosen for `%s`%s\n", effective,
               selector && selector[0] ? "" : " ($" SKY_DEVICE_ENV ")");
    else
        printf("\n* chosen automatically (override with --device N|NAME or $" SKY_DEVICE_ENV ")\n");
    sky_free(devices);
    return 0;
}

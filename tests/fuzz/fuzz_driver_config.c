/*
 * fuzz_driver_config.c - libFuzzer target: sky-driver's configuration
 * (driver/config.c on top of libinih, and driver/url.c for output URLs).
 *
 * Input, as text (cut at the first NUL, as a C string would be):
 *   - normally an INI file, handed to config_load_string as if read from
 *     "fuzz.ini", then config_finish;
 *   - when it starts with "--out ", one output URL per line after that,
 *     each handed to config_add_url as the command line would.
 * Checked beyond "no crash, no leak": a rejected input has a message, and a
 * message about the file names the file ("fuzz.ini:LINE: ..."); an accepted
 * config has only outputs with a parsed URL, a name, and values in range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                       \
    do {                                                     \
        fprintf(stderr, "fuzz_driver_config: " __VA_ARGS__); \
        fputc('\n', stderr);                                 \
        abort();                                             \
    } while (0)

static void fuzz_check_config(const drv_config *config) {
    for (size_t i = 0; i < config->output_count; i++) {
        const out_config *oc = &config->outputs[i];
        if (!oc->name[0] || !oc->has_url || !oc->url.scheme || !oc->url.text)
            FUZZ_FAIL("output %zu (`%s`) accepted without a name or a parsed url", i, oc->name);
        if (!(oc->brightness >= 0 && oc->brightness <= 1) || !(oc->gamma > 0 && oc->gamma <= 10))
            FUZZ_FAIL("output %s accepted brightness %g, gamma %g", oc->name, oc->brightness,
                      oc->gamma);
        if (oc->strips.set && oc->strips.first > oc->strips.last)
            FUZZ_FAIL("output %s accepted strips %u-%u", oc->name, oc->strips.first,
                      oc->strips.last);
        if (oc->leds.set && oc->leds.first > oc->leds.last)
            FUZZ_FAIL("output %s accepted leds %u-%u", oc->name, oc->leds.first, oc->leds.last);
    }
    if (!(config->stale_s >= 0.01) || !(config->poll_ms >= 0.1) || !(config->rate >= 0))
        FUZZ_FAIL("accepted stale %g, poll_ms %g, rate %g", config->stale_s, config->poll_ms,
                  config->rate);
}

/* "--out URL\nURL\n...": each line an output from the command line. */
static int fuzz_urls(drv_config *config, char *lines, char *err, size_t err_len) {
    for (char *save = NULL, *url = strtok_r(lines, "\n", &save); url;
         url = strtok_r(NULL, "\n", &save)) {
        if (config_add_url(config, url, err, err_len) != 0) {
            if (strncmp(err, "--out", 5) != 0 && strcmp(err, "out of memory") != 0)
                FUZZ_FAIL("--out error does not name --out: \"%s\"", err);
            return -1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    drv_config config;
    config_init(&config);
    char err[1024] = "";
    int rc;
    if (strncmp(text, "--out ", 6) == 0) {
        rc = fuzz_urls(&config, text + 6, err, sizeof err);
    } else {
        rc = config_load_string(&config, "fuzz.ini", text, err, sizeof err);
        if (rc != 0 && strncmp(err, "fuzz.ini", 8) != 0)
            FUZZ_FAIL("config error does not name the file: \"%s\"", err);
    }
    if (rc == 0) {
        fuzz_check_config(&config);
        rc = config_finish(&config, err, sizeof err);
    }
    if (rc != 0 && !err[0]) FUZZ_FAIL("rejected without a message");
    config_free(&config);
    free(text);
    return 0;
}

/*
 * fuzz_layout_import.c - libFuzzer target: the layout importers
 * (frame/layout_import.c) and our own map format over arbitrary bytes.
 *
 * The first byte picks the format (pixelblaze:, wled:, xlights:, csv:, map:),
 * the rest is the file, written to one temporary file per process since the
 * importers read a path. Checked beyond "no crash": a refusal has a message
 * naming the file; an accepted layout has strip sizes that add up to its
 * LED count, at most SKY_LAYOUT_MAX_LEDS, and every coordinate finite and
 * in [-1, 1].
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sky/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                       \
    do {                                                     \
        fprintf(stderr, "fuzz_layout_import: " __VA_ARGS__); \
        fputc('\n', stderr);                                 \
        abort();                                             \
    } while (0)

static char fuzz_path[64];

static void fuzz_cleanup(void) {
    if (fuzz_path[0]) unlink(fuzz_path);
}

/* The temporary file, created on the first input and removed at exit. */
static const char *fuzz_file(void) {
    if (!fuzz_path[0]) {
        snprintf(fuzz_path, sizeof fuzz_path, "/tmp/sky-fuzz-layout-XXXXXX");
        int fd = mkstemp(fuzz_path);
        if (fd < 0) FUZZ_FAIL("cannot create %s", fuzz_path);
        close(fd);
        atexit(fuzz_cleanup);
    }
    return fuzz_path;
}

static void fuzz_check_layout(const sky_layout *l) {
    uint64_t sum = 0;
    for (uint32_t s = 0; s < l->strip_count; s++) {
        if (l->strip_sizes[s] == 0) FUZZ_FAIL("accepted an empty strip %u", s);
        sum += l->strip_sizes[s];
    }
    if (sum != l->led_count || l->led_count == 0 || l->led_count > SKY_LAYOUT_MAX_LEDS)
        FUZZ_FAIL("accepted %u LEDs in strips summing to %llu", l->led_count,
                  (unsigned long long)sum);
    for (uint32_t i = 0; i < l->led_count; i++) {
        float v[3] = {l->xy[2 * i], l->xy[2 * i + 1], l->z[i]};
        for (int a = 0; a < 3; a++)
            if (!isfinite(v[a]) || fabsf(v[a]) > 1.0f)
                FUZZ_FAIL("LED %u coordinate %d is %g", i, a, (double)v[a]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const formats[] = {"pixelblaze", "wled", "xlights", "csv", "map"};
    if (size == 0) return 0;
    const char *path = fuzz_file();
    FILE *f = fopen(path, "wb");
    if (!f) FUZZ_FAIL("cannot write %s", path);
    if (fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        FUZZ_FAIL("cannot write %s", path);
    char spec[128], error[512] = "";
    snprintf(spec, sizeof spec, "%s:%s", formats[data[0] % 5], path);
    sky_layout *l = NULL;
    sky_status st = sky_layout_create(spec, &l, error, sizeof error);
    if (st != SKY_OK) {
        if (!strstr(error, path))
            FUZZ_FAIL("%s refused without naming the file: `%s`", spec, error);
        if (l) FUZZ_FAIL("a layout with an error");
        return 0;
    }
    fuzz_check_layout(l);
    sky_layout_free(l);
    return 0;
}

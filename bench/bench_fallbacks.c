/*
 * bench_fallbacks.c - what each device fallback costs, in one run on this
 * machine's device, as ratios to the path the device would choose itself.
 *
 * The runtime picks zero-copy publishing or a copy, texel or storage-buffer
 * LED positions, and a work-group size, from what the device reports
 * (docs/hardware.md). A Raspberry Pi 4 publishes by copy; the Vulkan minimum
 * has no texel positions; work groups may be capped at 128 or 256. Here each
 * choice is forced one at a time, plus the rpi4 and minimal device profiles
 * ($SKY_DEVICE_PROFILE) as a whole, all rendering into real frame files on
 * the same layout at once. The configurations take turns, a block of frames
 * each, so that load from elsewhere on the machine falls on all of them; the
 * figure is the median time of one complete, published frame.
 *
 * usage: bench_fallbacks [--frames N] [--layout SPEC] [FILE.sky...]
 *   (default 120 frames per configuration, disc:360x288, plasma and clouds)
 * Prints a Markdown table for docs/hardware.md. Nothing here is asserted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "sky/sky.h"

#define FB_BLOCK 10 /* frames a configuration renders before the next one's turn */

typedef struct fb_config {
    const char *name;
    const char *profile; /* $SKY_DEVICE_PROFILE while creating it, or NULL */
    bool force_copy;
    int texels; /* 1: texel positions, 0: storage buffer, -1: what the runtime picks */
    uint32_t local_size;
    sky_runtime *rt;
    sky_frame_writer *writer;
    char path[256];
    double *ms;
    size_t count;
} fb_config;

static double fb_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void fb_die(const char *what, const char *detail) {
    fprintf(stderr, "bench_fallbacks: %s: %s\n", what, detail);
    exit(2);
}

static sky_program *fb_compile(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fb_die(path, strerror(errno));
    static char src[SKY_MAX_SOURCE_BYTES];
    size_t len = fread(src, 1, sizeof src, f);
    fclose(f);
    sky_program *program = NULL;
    if (sky_compile(path, src, len, NULL, &program, NULL) != SKY_OK)
        fb_die(path, "does not compile (run `sky check` on it)");
    return program;
}

static void fb_open(fb_config *c, const sky_layout *layout, const sky_program *program,
                    size_t frames) {
    snprintf(c->path, sizeof c->path, "%s/sky-bench-fallbacks-%ld-%p",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid(), (void *)c);
    sky_frame_writer_options wo = {
        .path = c->path,
        .led_count = layout->led_count,
        .strip_count = layout->strip_count,
        .strip_sizes = layout->strip_sizes,
        .positions = layout->xy,
        .layout = layout->name,
    };
    char err[1024];
    if (sky_frame_writer_create(&wo, &c->writer, err, sizeof err) != SKY_OK)
        fb_die("frame writer", err);
    if (c->profile) setenv(SKY_DEVICE_PROFILE_ENV, c->profile, 1);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.writer = c->writer;
    o.force_copy = c->force_copy;
    o.local_size = c->local_size;
    o.frames_in_flight = 1; /* one complete frame at a time: its whole cost is timed */
    sky_status st = sky_runtime_create(&o, &c->rt, err, sizeof err);
    unsetenv(SKY_DEVICE_PROFILE_ENV);
    if (st != SKY_OK) fb_die(c->name, err);
    sky_emit_options emit;
    sky_runtime_emit_options(c->rt, &emit);
    if (c->texels >= 0) emit.led_texels = c->texels;
    uint32_t *words = NULL;
    size_t word_count = 0;
    char *emit_error = NULL;
    if (sky_program_emit_spirv(program, &emit, &words, &word_count, &emit_error) != SKY_OK)
        fb_die("SPIR-V", emit_error ? emit_error : "?");
    if (sky_runtime_set_program_spirv(c->rt, program, words, word_count, err, sizeof err) != SKY_OK)
        fb_die(c->name, err);
    sky_free(words);
    sky_free(emit_error);
    c->texels = sky_runtime_led_texels(c->rt) && emit.led_texels;
    c->ms = calloc(frames, sizeof *c->ms);
    if (!c->ms) fb_die("memory", "out of memory");
    c->count = 0;
    for (int f = 0; f < 3; f++) /* the first frames compile the shader */
        if (sky_runtime_render(c->rt, f / 60.0, 1 / 60.0, NULL, err, sizeof err) != SKY_OK)
            fb_die(c->name, err);
}

static void fb_close(fb_config *c) {
    sky_runtime_free(c->rt);
    sky_frame_writer_free(c->writer);
    unlink(c->path);
    free(c->ms);
    c->rt = NULL;
}

static int fb_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double fb_median(fb_config *c) {
    qsort(c->ms, c->count, sizeof *c->ms, fb_cmp);
    return c->count ? c->ms[c->count / 2] : 0;
}

static void fb_pattern(const char *path, const sky_layout *layout, size_t frames) {
    sky_program *program = fb_compile(path);
    fb_config configs[] = {
        {.name = "device's choice", .texels = -1},
        {.name = "copy instead of zero-copy", .force_copy = true, .texels = -1},
        {.name = "storage positions instead of texels", .texels = 0},
        {.name = "work group 256 instead of 64", .texels = -1, .local_size = 256},
        {.name = "work group 128", .texels = -1, .local_size = 128},
        {.name = "profile rpi4 (copy, texels, 256)",
         .profile = "rpi4",
         .texels = -1,
         .local_size = 256},
        {.name = "profile minimal (copy, storage, 128)",
         .profile = "minimal",
         .texels = -1,
         .local_size = 256},
    };
    size_t n = sizeof configs / sizeof configs[0];
    for (size_t i = 0; i < n; i++) fb_open(&configs[i], layout, program, frames);
    char err[1024];
    for (size_t done = 0; done < frames; done += FB_BLOCK)
        for (size_t i = 0; i < n; i++)
            for (size_t k = done; k < done + FB_BLOCK && k < frames; k++) {
                double t0 = fb_now_ms();
                if (sky_runtime_render(configs[i].rt, (k + 3) / 60.0, 1 / 60.0, NULL, err,
                                       sizeof err) != SKY_OK)
                    fb_die(configs[i].name, err);
                configs[i].ms[configs[i].count++] = fb_now_ms() - t0;
            }
    const char *base = strrchr(path, '/');
    printf("\n| %s on %s (%u LEDs), %zu frames each | path | positions | work group | median "
           "ms/frame | ratio |\n|---|---|---|---:|---:|---:|\n",
           base ? base + 1 : path, layout->name, layout->led_count, frames);
    double reference = fb_median(&configs[0]);
    for (size_t i = 0; i < n; i++) {
        double ms = fb_median(&configs[i]);
        printf("| %s | %s | %s | %u | %.2f | %.2f |\n", configs[i].name,
               sky_output_path_str(sky_runtime_output_path(configs[i].rt)),
               configs[i].texels ? "texel" : "storage", sky_runtime_local_size(configs[i].rt), ms,
               reference > 0 ? ms / reference : 0);
        fb_close(&configs[i]);
    }
    sky_program_free(program);
}

int main(int argc, char **argv) {
    size_t frames = 120;
    const char *spec = "disc:360x288";
    const char *files[16];
    size_t file_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            frames = strtoul(argv[++i], NULL, 10);
            if (frames == 0) fb_die("--frames", "must be at least 1");
        } else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc) {
            spec = argv[++i];
        } else if (file_count < 16 && argv[i][0] != '-') {
            files[file_count++] = argv[i];
        } else {
            fprintf(stderr, "usage: bench_fallbacks [--frames N] [--layout SPEC] [FILE.sky...]\n");
            return 2;
        }
    }
    if (file_count == 0) {
        files[file_count++] = SKY_SOURCE_DIR "/examples/plasma.sky";
        files[file_count++] = SKY_SOURCE_DIR "/examples/clouds.sky";
    }
    unsetenv(SKY_DEVICE_PROFILE_ENV);
    sky_layout *layout = NULL;
    char err[512];
    if (sky_layout_create(spec, &layout, err, sizeof err) != SKY_OK) fb_die(spec, err);
    for (size_t i = 0; i < file_count; i++) fb_pattern(files[i], layout, frames);
    sky_layout_free(layout);
    return 0;
}

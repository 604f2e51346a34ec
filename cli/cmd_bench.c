/*
 * cmd_bench.c - `sky bench FILE`: how fast a pattern renders, on the Vulkan
 * device and on the CPU reference evaluator, side by side in one run.
 *
 * The device runs as `sky run` does (pre-recorded command buffers, two frames
 * in flight, rendering into host memory: no frame file, so readers cannot
 * disturb the numbers); the CPU evaluator runs the same program for the same
 * frames on one thread, feeding itself its own prev. Both see the same t, dt
 * and the pattern's default parameters. The report gives frames/s, Mpx/s,
 * the per-stage times of the runtime and the device/CPU ratio. Nothing is
 * published, so this never disturbs a running `sky run`. Then every backend
 * there is, each Vulkan device and the CPU backend (`--device cpu`), renders
 * the same frames the same way, one after the other, and a table compares
 * them (skipped with --no-compare).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "show.h"
#include "sky/runtime.h"

#define BENCH_CMD            "sky bench"
#define BENCH_DEFAULT_FRAMES 100
#define BENCH_WARMUP_FRAMES  5
#define BENCH_FPS            60.0 /* the t step between frames: what `sky run` would use */

typedef struct bench_options {
    const char *path;
    const char *layout_spec;
    const char *device;
    uint64_t frames;
    bool skip_cpu;
    bool skip_compare;
} bench_options;

typedef struct bench_result {
    double seconds; /* wall time for `frames` frames */
    uint64_t frames;
    double frame_eval_ms; /* per frame: per-frame section */
    double led_eval_ms;   /* per frame: CPU per-LED section */
    sky_runtime_stats stats;
    double setup_ms; /* runtime create + pipeline build */
} bench_result;

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_usage(FILE *out) {
    fprintf(
        out,
        "usage: sky bench FILE [--layout L] [--frames N] [--device D] [--no-cpu] [--no-compare]\n"
        "                 [--validate]\n\n"
        "Renders FILE on the Vulkan device and on the CPU evaluator and compares them.\n"
        "  --layout L   LED layout (default %s)\n"
        "  --frames N   frames to time on each side (default %d, after %d warm-up frames)\n"
        "  --device D   Vulkan device index or name substring, or `cpu` for the CPU backend\n"
        "               (default: $%s, else a GPU when there is one, else the CPU backend)\n"
        "  --no-cpu     time the device only\n"
        "  --no-compare skip the table of every backend (each Vulkan device and cpu)\n"
        "  --validate   run under the Vulkan validation layer (slow: not for timing); exit\n"
        "               status 2 when it reports anything\n",
        SKY_LAYOUT_DEFAULT, BENCH_DEFAULT_FRAMES, BENCH_WARMUP_FRAMES, SKY_DEVICE_ENV);
}

enum {
    BENCH_OPT_LAYOUT = 256,
    BENCH_OPT_DEVICE,
    BENCH_OPT_FRAMES,
    BENCH_OPT_NO_CPU,
    BENCH_OPT_NO_COMPARE,
    BENCH_OPT_VALIDATE
};

static const struct option bench_long_options[] = {
    {"layout", required_argument, NULL, BENCH_OPT_LAYOUT},
    {"device", required_argument, NULL, BENCH_OPT_DEVICE},
    {"frames", required_argument, NULL, BENCH_OPT_FRAMES},
    {"no-cpu", no_argument, NULL, BENCH_OPT_NO_CPU},
    {"no-compare", no_argument, NULL, BENCH_OPT_NO_COMPARE},
    {"validate", no_argument, NULL, BENCH_OPT_VALIDATE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* 0: parsed, 1: --help shown, 2: usage error (printed). */
static int bench_parse(int argc, char **argv, bench_options *o) {
    memset(o, 0, sizeof *o);
    o->layout_spec = SKY_LAYOUT_DEFAULT;
    o->frames = BENCH_DEFAULT_FRAMES;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(BENCH_CMD, argc, argv, "h", bench_long_options)) != -1) {
        switch (opt) {
        case 'h':
            bench_usage(stdout);
            return 1;
        case BENCH_OPT_NO_CPU:
            o->skip_cpu = true;
            break;
        case BENCH_OPT_NO_COMPARE:
            o->skip_compare = true;
            break;
        case BENCH_OPT_VALIDATE:
            if (!cli_validation_enable(BENCH_CMD)) return 2;
            break;
        case BENCH_OPT_LAYOUT:
            o->layout_spec = optarg;
            break;
        case BENCH_OPT_DEVICE:
            o->device = optarg;
            break;
        case BENCH_OPT_FRAMES:
            if (!live_parse_u64(BENCH_CMD, "--frames", optarg, 1, 1000000, &o->frames)) return 2;
            break;
        default:
            bench_usage(stderr);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->path) {
            fprintf(stderr, "%s: one FILE only (got `%s` and `%s`)\n", BENCH_CMD, o->path, argv[i]);
            return 2;
        }
        o->path = argv[i];
    }
    if (!o->path) {
        fprintf(stderr, "%s: missing FILE\n", BENCH_CMD);
        bench_usage(stderr);
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------------ device */

static int bench_device(const bench_options *o, const char *selector, const sky_layout *layout,
                        const sky_program *program, const double *params, bench_result *res,
                        char *device_name, size_t name_len, sky_device_type *type) {
    char error[1024] = "";
    double t0 = bench_now();
    sky_runtime_options ro;
    sky_runtime_options_init(&ro);
    ro.layout = layout;
    ro.device = selector;
    sky_runtime *rt = NULL;
    sky_status status = sky_runtime_create(&ro, &rt, error, sizeof error);
    if (status == SKY_OK) status = sky_runtime_set_program(rt, program, error, sizeof error);
    if (status != SKY_OK) {
        fprintf(stderr, "%s: %s\n", BENCH_CMD, error);
        sky_runtime_free(rt);
        return 2;
    }
    res->setup_ms = (bench_now() - t0) * 1e3;
    snprintf(device_name, name_len, "%s", sky_runtime_device_name(rt));
    *type = sky_runtime_device_type(rt);
    const double dt = 1.0 / BENCH_FPS;
    uint64_t f = 0;
    for (; f < BENCH_WARMUP_FRAMES && status == SKY_OK; f++)
        status = sky_runtime_render(rt, (double)f * dt, f ? dt : 0, params, error, sizeof error);
    sky_runtime_reset_stats(rt);
    double start = bench_now();
    for (uint64_t k = 0; k < o->frames && status == SKY_OK; k++, f++)
        status = sky_runtime_submit(rt, (double)f * dt, dt, params, error, sizeof error);
    if (status == SKY_OK) status = sky_runtime_finish(rt, error, sizeof error);
    res->seconds = bench_now() - start;
    res->frames = o->frames;
    sky_runtime_get_stats(rt, &res->stats);
    sky_runtime_free(rt);
    if (status != SKY_OK) {
        fprintf(stderr, "%s: rendering on the device failed: %s\n", BENCH_CMD, error);
        return 2;
    }
    return 0;
}

/* --------------------------------------------------------------------- CPU */

static int bench_cpu(const bench_options *o, const sky_layout *layout, const sky_program *program,
                     const double *params, bench_result *res) {
    sky_layout_view view = live_layout_view(layout);
    size_t leds = layout->led_count;
    size_t uniform_count = sky_program_uniform_count(program);
    sky_led_input *inputs = malloc(leds * sizeof *inputs);
    float *uniforms = malloc((uniform_count ? uniform_count : 1) * sizeof *uniforms);
    float *rgb[2] = {calloc(leds * 3, sizeof(float)), calloc(leds * 3, sizeof(float))};
    uint8_t *bytes = malloc(leds * 3);
    int code = 0;
    if (!inputs || !uniforms || !rgb[0] || !rgb[1] || !bytes) {
        fprintf(stderr, "%s: out of memory for the CPU evaluator (%zu LEDs)\n", BENCH_CMD, leds);
        code = 2;
    } else if (sky_led_inputs_build(&view, inputs) != SKY_OK) {
        fprintf(stderr, "%s: the layout is inconsistent\n", BENCH_CMD);
        code = 2;
    }
    bool uses_prev = sky_program_uses_prev(program);
    const double dt = 1.0 / BENCH_FPS;
    double frame_s = 0, led_s = 0, start = bench_now();
    for (uint64_t f = 0; f < BENCH_WARMUP_FRAMES + o->frames && code == 0; f++) {
        if (f == BENCH_WARMUP_FRAMES) frame_s = led_s = 0, start = bench_now();
        sky_frame_inputs in = {.t = (double)f * dt, .dt = f ? dt : 0, .frame = f, .params = params};
        float *cur = rgb[f % 2];
        const float *prev = uses_prev ? rgb[(f + 1) % 2] : NULL;
        double a = bench_now();
        sky_status st = sky_program_eval_frame(program, &view, &in, uniforms);
        double b = bench_now();
        if (st == SKY_OK)
            st = sky_program_eval_leds(program, &view, inputs, uniforms, prev, cur, bytes);
        double c = bench_now();
        frame_s += b - a;
        led_s += c - b;
        if (st != SKY_OK) {
            fprintf(stderr, "%s: the CPU evaluator failed: %s\n", BENCH_CMD, sky_status_str(st));
            code = 2;
        }
    }
    res->seconds = bench_now() - start;
    res->frames = o->frames;
    res->frame_eval_ms = frame_s * 1e3 / (double)o->frames;
    res->led_eval_ms = led_s * 1e3 / (double)o->frames;
    free(inputs);
    free(uniforms);
    free(rgb[0]);
    free(rgb[1]);
    free(bytes);
    return code;
}

/* ------------------------------------------------------------------ report */

static double bench_stage_ms(const sky_runtime_stage *stage, uint64_t frames) {
    return frames ? (double)stage->total_ns * 1e-6 / (double)frames : 0;
}

static void bench_row(const char *name, double device, double cpu, bool has_cpu, const char *fmt) {
    printf("  %-28s", name);
    if (device >= 0) {
        printf(fmt, device);
    } else {
        printf("%14s", "-");
    }
    if (has_cpu) {
        if (cpu >= 0)
            printf(fmt, cpu);
        else
            printf("%14s", "-");
    }
    printf("\n");
}

static void bench_report(const bench_options *o, const sky_layout *layout, const char *device_name,
                         sky_device_type type, const bench_result *dev, const bench_result *cpu) {
    bool has_cpu = !o->skip_cpu;
    double leds = layout->led_count;
    double dev_fps = (double)dev->frames / dev->seconds;
    double cpu_fps = has_cpu ? (double)cpu->frames / cpu->seconds : 0;
    uint64_t n = dev->stats.frames;
    printf("%s: %s, layout %s (%u LEDs in %u strips), %llu frames\n", BENCH_CMD, o->path,
           layout->name, layout->led_count, layout->strip_count, (unsigned long long)o->frames);
    printf("device: %s (%s); pipeline ready in %.1f ms\n\n", device_name, sky_device_type_str(type),
           dev->setup_ms);
    printf("  %-28s%14s", "", "device");
    if (has_cpu) printf("%14s", "cpu evaluator");
    printf("\n");
    bench_row("frames/s", dev_fps, cpu_fps, has_cpu, "%14.1f");
    bench_row("Mpx/s", dev_fps * leds * 1e-6, cpu_fps * leds * 1e-6, has_cpu, "%14.2f");
    bench_row("ms per frame (throughput)", 1e3 / dev_fps, has_cpu ? 1e3 / cpu_fps : -1, has_cpu,
              "%14.3f");
    bench_row("  per-frame section (host)", bench_stage_ms(&dev->stats.eval, n),
              has_cpu ? cpu->frame_eval_ms : -1, has_cpu, "%14.3f");
    bench_row("  per-LED section", -1, has_cpu ? cpu->led_eval_ms : -1, has_cpu, "%14.3f");
    bench_row("  submit", bench_stage_ms(&dev->stats.submit, n), -1, has_cpu, "%14.3f");
    bench_row("  wait for the device", bench_stage_ms(&dev->stats.wait, n), -1, has_cpu, "%14.3f");
    bench_row("  publish", bench_stage_ms(&dev->stats.publish, n), -1, has_cpu, "%14.3f");
    bench_row("latency submit->done (mean)", bench_stage_ms(&dev->stats.latency, n), -1, has_cpu,
              "%14.3f");
    bench_row("latency submit->done (max)", (double)dev->stats.latency.max_ns * 1e-6, -1, has_cpu,
              "%14.3f");
    if (has_cpu)
        printf("\ndevice / cpu evaluator: %.2fx (frames/s)\n", cpu_fps > 0 ? dev_fps / cpu_fps : 0);
    printf("(two frames in flight; the device's per-LED work is inside \"wait\"; "
           "the CPU evaluator runs on one thread)\n");
}

/* One row of the comparison: `selector` run as the main device was. */
static void bench_compare_one(const bench_options *o, const char *selector,
                              const sky_layout *layout, const sky_program *program,
                              const double *params, double *best_fps) {
    bench_result res;
    memset(&res, 0, sizeof res);
    char name[256] = "";
    sky_device_type type = SKY_DEVICE_OTHER;
    if (bench_device(o, selector, layout, program, params, &res, name, sizeof name, &type) != 0) {
        printf("  %-8s %-40s (failed, above)\n", selector, "");
        return;
    }
    double fps = (double)res.frames / res.seconds;
    printf("  %-8s %-40s %-10s %12.1f %12.3f %12.1f\n", selector, name, sky_device_type_str(type),
           fps, 1e3 / fps, res.setup_ms);
    if (fps > *best_fps) *best_fps = fps;
}

/* Every backend there is, one after the other on the same frames: each Vulkan device, then cpu. */
static void bench_compare(const bench_options *o, const sky_layout *layout,
                          const sky_program *program, const double *params) {
    printf("\nevery backend, %llu frames each:\n  %-8s %-40s %-10s %12s %12s %12s\n",
           (unsigned long long)o->frames, "device", "name", "type", "frames/s", "ms/frame",
           "setup ms");
    double best = 0;
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    if (sky_vk_list_devices(NULL, &devices, &count, NULL, 0) == SKY_OK) {
        for (size_t i = 0; i < count; i++) {
            if (!devices[i].has_compute) continue;
            char selector[16];
            snprintf(selector, sizeof selector, "%u", devices[i].index);
            bench_compare_one(o, selector, layout, program, params, &best);
        }
    }
    sky_free(devices);
    if (sky_cpu_compiler_available())
        bench_compare_one(o, SKY_CPU_DEVICE, layout, program, params, &best);
    else
        printf("  %-8s (no C compiler: `%s` does not run)\n", SKY_CPU_DEVICE, sky_cpu_compiler());
}

int cmd_bench(int argc, char **argv) {
    bench_options o;
    int code = bench_parse(argc, argv, &o);
    if (code != 0) return code == 1 ? 0 : code;
    sky_program *program = NULL;
    code = live_compile_file(BENCH_CMD, o.path, &program);
    if (code != 0) return code;
    if (!o.device && !(getenv(SKY_DEVICE_ENV) && *getenv(SKY_DEVICE_ENV)))
        o.device = sky_runtime_default_device(); /* as `sky run` picks */
    sky_layout *layout = NULL;
    if (!live_layout_create(BENCH_CMD, o.layout_spec, &layout)) {
        sky_program_free(program);
        return 2;
    }
    size_t slots = sky_program_param_slots(program);
    double *params = malloc((slots ? slots : 1) * sizeof *params);
    bench_result dev, cpu;
    memset(&dev, 0, sizeof dev);
    memset(&cpu, 0, sizeof cpu);
    char device_name[256] = "";
    sky_device_type type = SKY_DEVICE_OTHER;
    if (!params) {
        fprintf(stderr, "%s: out of memory\n", BENCH_CMD);
        code = 2;
    } else {
        sky_program_param_defaults(program, params);
        code = bench_device(&o, o.device, layout, program, params, &dev, device_name,
                            sizeof device_name, &type);
    }
    if (code == 0 && !o.skip_cpu) code = bench_cpu(&o, layout, program, params, &cpu);
    if (code == 0) bench_report(&o, layout, device_name, type, &dev, &cpu);
    if (code == 0 && !o.skip_compare) bench_compare(&o, layout, program, params);
    free(params);
    sky_layout_free(layout);
    sky_program_free(program);
    if (cli_validation_summary(BENCH_CMD) && code == 0) code = 2;
    return code;
}

/*
 * bench_runtime.c - the Vulkan runtime (libskyrt) against the alternatives,
 * in one run, on this machine's device (lavapipe without a GPU).
 *
 *   1. throughput of examples/plasma.sky on the Skyscreen (disc:360x288) and
 *      on a million LEDs (disc:1000x1000): the runtime vs a hand-written C
 *      loop of the same formula (one thread, this file's -O2) vs the same
 *      pattern in numpy writing into a numpy.memmap (bench/plasma_numpy.py,
 *      run as a subprocess on the same LED positions), as ratios; plus the
 *      two shader variants the compiler emits (LED positions from storage
 *      binding 1, or through texel binding 6), each checked against the CPU;
 *   2. publishing cost into a real frame file: zero-copy vs one copy;
 *   3. `sky run`-style pacing at 60 fps: latency from each frame's deadline to
 *      the frame being published, and the process's CPU use (/proc/self/stat,
 *      so lavapipe's worker threads count);
 *   4. the show controls' cost per frame, as ratios to a plain frame in the
 *      same run: a dimmed frame (post pass), a crossfade frame (two patterns
 *      and the post pass) and a held frame (no dispatch);
 *   5. the CPU backend (`--device cpu`, all cores) against the vectorised
 *      hand-written loop (bench/plasma_simd.c, one thread: the CPU reference),
 *      the scalar -O2 loop and lavapipe, on both layouts; and its
 *      compile-and-load time for every example, with an empty cache and then
 *      cached (a fresh $XDG_CACHE_HOME, removed afterwards).
 *
 * usage: bench_runtime [--scale S]   (S multiplies every frame count; default 1)
 * Prints Markdown tables for docs/performance.md. Nothing here is asserted.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky/abi.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "sky/sky.h"

#define PLASMA_PATH SKY_SOURCE_DIR "/examples/plasma.sky"
#define NUMPY_PATH  SKY_SOURCE_DIR "/bench/plasma_numpy.py"

static double bench_scale = 1.0;
static size_t variant_mismatches; /* channels where a shader variant differs from the CPU */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int frames_scaled(int frames) {
    int n = (int)(frames * bench_scale + 0.5);
    return n < 1 ? 1 : n;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_runtime: %s: %s\n", what, detail);
    exit(2);
}

/* --------------------------------------------------------------- inputs */

static sky_program *load_plasma(void) {
    FILE *f = fopen(PLASMA_PATH, "rb");
    if (!f) die(PLASMA_PATH, strerror(errno));
    static char src[1 << 16];
    size_t len = fread(src, 1, sizeof src, f);
    fclose(f);
    sky_program *program = NULL;
    if (sky_compile(PLASMA_PATH, src, len, NULL, &program, NULL) != SKY_OK)
        die(PLASMA_PATH, "does not compile (run `sky check` on it)");
    return program;
}

static sky_layout *load_layout(const char *spec) {
    sky_layout *layout = NULL;
    char err[512];
    if (sky_layout_create(spec, &layout, err, sizeof err) != SKY_OK) die(spec, err);
    return layout;
}

static sky_led_input *build_inputs(const sky_layout *layout) {
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = malloc((size_t)layout->led_count * sizeof *inputs);
    if (!inputs || sky_led_inputs_build(&view, inputs) != SKY_OK) die("inputs", "failed");
    return inputs;
}

/* ---------------------------------------------------------------- device */

typedef struct device_result {
    double ms_per_frame;
    double setup_ms;
    char name[256];
} device_result;

static const char *runtime_device; /* NULL: the Vulkan default; "cpu" in section 5 */

static sky_runtime *make_runtime(const sky_layout *layout, sky_frame_writer *writer,
                                 bool force_copy, const sky_program *program) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = runtime_device;
    o.layout = layout;
    o.writer = writer;
    o.force_copy = force_copy;
    sky_runtime *rt = NULL;
    char err[1024];
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) die("runtime", err);
    if (sky_runtime_set_program(rt, program, err, sizeof err) != SKY_OK) die("set_program", err);
    return rt;
}

/* Throughput: two frames in flight, host memory, as `sky bench` measures. */
static device_result bench_device(const sky_layout *layout, const sky_program *program,
                                  int frames) {
    device_result res;
    double t0 = now_s();
    sky_runtime *rt = make_runtime(layout, NULL, false, program);
    res.setup_ms = (now_s() - t0) * 1e3;
    snprintf(res.name, sizeof res.name, "%s", sky_runtime_device_name(rt));
    char err[1024];
    for (int f = 0; f < 3; f++)
        if (sky_runtime_render(rt, f / 60.0, 1 / 60.0, NULL, err, sizeof err)) die("render", err);
    double start = now_s();
    for (int f = 0; f < frames; f++)
        if (sky_runtime_submit(rt, (f + 3) / 60.0, 1 / 60.0, NULL, err, sizeof err))
            die("submit", err);
    if (sky_runtime_finish(rt, err, sizeof err)) die("finish", err);
    res.ms_per_frame = (now_s() - start) * 1e3 / frames;
    sky_runtime_free(rt);
    return res;
}

/* ------------------------------------------------------ shader variants */

/*
 * The two shaders the compiler can emit for one program (sky_emit_options):
 * the portable one, which reads the LED positions from storage buffer
 * binding 1, and the one that reads them through the optional texel binding 6
 * (what sky_runtime_set_program picks on a device that can bind it, such as
 * lavapipe). Both read the per-frame values through binding 7.
 */
static uint32_t *variant_spirv(const sky_program *program, bool texels, size_t *word_count) {
    sky_emit_options emit;
    sky_emit_options_init(&emit);
    emit.led_texels = texels;
    uint32_t *words = NULL;
    char *error = NULL;
    if (sky_program_emit_spirv(program, &emit, &words, word_count, &error) != SKY_OK)
        die("emit", error ? error : "failed");
    sky_free(error);
    return words;
}

/* Throughput of one variant, and whether it matches the CPU evaluator. */
static double bench_variant(const sky_layout *layout, const sky_program *program,
                            const uint32_t *words, size_t word_count, int frames) {
    sky_runtime *rt = make_runtime(layout, NULL, false, program);
    char err[1024];
    if (sky_runtime_set_program_spirv(rt, program, words, word_count, err, sizeof err) != SKY_OK)
        die("variant", err);
    for (int f = 0; f < 3; f++)
        if (sky_runtime_render(rt, f / 60.0, 1 / 60.0, NULL, err, sizeof err)) die("render", err);
    double start = now_s();
    for (int f = 0; f < frames; f++)
        if (sky_runtime_submit(rt, (f + 3) / 60.0, 1 / 60.0, NULL, err, sizeof err))
            die("submit", err);
    if (sky_runtime_finish(rt, err, sizeof err)) die("finish", err);
    double ms = (now_s() - start) * 1e3 / frames;
    /* The same bytes as the CPU evaluator, so the comparison is fair. */
    if (sky_runtime_restart(rt, err, sizeof err) != SKY_OK) die("restart", err);
    if (sky_runtime_render(rt, 1.25, 1 / 60.0, NULL, err, sizeof err)) die("render", err);
    size_t channels = (size_t)layout->led_count * 3;
    uint8_t *cpu = malloc(channels);
    sky_led_input *inputs = build_inputs(layout);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_frame_inputs in = {.t = 1.25, .dt = 1 / 60.0, .frame = 0};
    if (!cpu || sky_program_eval(program, &view, inputs, &in, NULL, NULL, cpu) != SKY_OK)
        die("variant", "CPU evaluation failed");
    const uint8_t *gpu = sky_runtime_frame_bytes(rt, NULL);
    for (size_t i = 0; i < channels; i++) variant_mismatches += abs(gpu[i] - cpu[i]) > 2;
    free(cpu);
    free(inputs);
    sky_runtime_free(rt);
    return ms;
}

/* ---------------------------------------------------------------- C loop */

static float clamp01(float v) {
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* examples/plasma.sky by hand: speed 1, scale 4, hsv with saturation 1. */
static void plasma_c(const sky_led_input *in, uint32_t n, float t, uint8_t *out) {
    const float speed = 1.0f, scale = 4.0f, pi = 3.14159265f;
    const float tt = t * speed;
    const float offsets[3] = {1.0f, 2.0f / 3.0f, 1.0f / 3.0f};
    for (uint32_t i = 0; i < n; i++) {
        float x = in[i].x, y = in[i].y, r = in[i].r;
        float v = sinf(x * scale + tt) + sinf(y * scale - tt * 1.3f) +
                  sinf((x + y) * scale * 0.7f + tt * 0.7f) + sinf(r * scale * 2.0f - tt * 2.0f);
        float h = v / 8.0f + tt * 0.05f;
        float value = clamp01(0.6f + 0.4f * sinf(v * pi));
        for (int c = 0; c < 3; c++) {
            float q = h + offsets[c];
            q -= floorf(q);
            float channel = clamp01(fabsf(q * 6.0f - 3.0f) - 1.0f) * value;
            out[3 * i + c] = (uint8_t)floorf(clamp01(channel) * 255.0f + 0.5f);
        }
    }
}

static double bench_c_loop(const sky_layout *layout, const sky_led_input *inputs, int frames) {
    uint8_t *out = malloc((size_t)layout->led_count * 3);
    if (!out) die("C loop", "out of memory");
    plasma_c(inputs, layout->led_count, 0.0f, out); /* warm the caches */
    double start = now_s();
    for (int f = 0; f < frames; f++) plasma_c(inputs, layout->led_count, (float)(f + 1) / 60, out);
    double ms = (now_s() - start) * 1e3 / frames;
    free(out);
    return ms;
}

/* ------------------------------------------------------ vectorised loop */

void plasma_simd(const float *x, const float *y, const float *r, uint32_t n, float t, uint8_t *out);

static double bench_simd_loop(const sky_layout *layout, const sky_led_input *inputs, int frames) {
    size_t n = layout->led_count;
    float *columns = malloc(n * SKY_CPU_INPUT_COUNT * sizeof *columns);
    uint8_t *out = malloc(n * 3);
    if (!columns || !out) die("SIMD loop", "out of memory");
    sky_cpu_columns_build(inputs, n, columns);
    const float *x = columns + n * SKY_CPU_INPUT_X, *y = columns + n * SKY_CPU_INPUT_Y,
                *r = columns + n * SKY_CPU_INPUT_R;
    plasma_simd(x, y, r, (uint32_t)n, 0.0f, out);
    double start = now_s();
    for (int f = 0; f < frames; f++) plasma_simd(x, y, r, (uint32_t)n, (float)(f + 1) / 60, out);
    double ms = (now_s() - start) * 1e3 / frames;
    free(columns);
    free(out);
    return ms;
}

/* ----------------------------------------------------------- CPU backend */

static int cmp_double(const void *a, const void *b);

/* ms per frame of `frames` renders on a runtime that already has the program (no frames in flight
 * after). */
static double time_runtime(sky_runtime *rt, int frames, int *t_index) {
    char err[1024];
    double start = now_s();
    for (int f = 0; f < frames; f++, (*t_index)++)
        if (sky_runtime_submit(rt, *t_index / 60.0, 1 / 60.0, NULL, err, sizeof err))
            die("submit", err);
    if (sky_runtime_finish(rt, err, sizeof err)) die("finish", err);
    return (now_s() - start) * 1e3 / frames;
}

/*
 * Section 5: the backend vs the hand loops and lavapipe. The machine is
 * shared, so the contenders take turns: BENCH_ROUNDS rounds, each timing the
 * backend, the SIMD loop and lavapipe back to back; the median round of each.
 */
#define BENCH_ROUNDS 15
static void bench_cpu_backend(sky_program *program) {
    const struct {
        const char *spec;
        int frames;
    } sizes[] = {{"disc:360x288", 200}, {"disc:1000x1000", 20}};
    printf("\n## CPU backend\n\n`build/bench/bench_runtime`, section 5 (examples/plasma.sky; "
           "the backend on %u threads; median of %d interleaved rounds)\n\n"
           "| layout | LEDs | CPU backend ms | frames/s | SIMD loop, 1 thread, ms | scalar -O2 "
           "loop ms | lavapipe ms | backend / SIMD loop | backend / lavapipe |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
           sky_cpu_threads_default(), BENCH_ROUNDS);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        sky_layout *layout = load_layout(sizes[i].spec);
        sky_led_input *inputs = build_inputs(layout);
        int frames = frames_scaled(sizes[i].frames);
        runtime_device = SKY_CPU_DEVICE;
        sky_runtime *cpu_rt = make_runtime(layout, NULL, false, program);
        runtime_device = NULL;
        sky_runtime *vk_rt = make_runtime(layout, NULL, false, program);
        int t_cpu = 0, t_vk = 0;
        time_runtime(cpu_rt, 3, &t_cpu); /* warm-up: caches, the driver's first compile */
        time_runtime(vk_rt, 3, &t_vk);
        double cpu[BENCH_ROUNDS], simd[BENCH_ROUNDS], vk[BENCH_ROUNDS];
        for (int r = 0; r < BENCH_ROUNDS; r++) {
            cpu[r] = time_runtime(cpu_rt, frames, &t_cpu);
            simd[r] = bench_simd_loop(layout, inputs, frames);
            vk[r] = time_runtime(vk_rt, frames_scaled((sizes[i].frames + 1) / 2), &t_vk);
        }
        double scalar = bench_c_loop(layout, inputs, frames_scaled(sizes[i].frames / 10 + 1));
        qsort(cpu, BENCH_ROUNDS, sizeof *cpu, cmp_double);
        qsort(simd, BENCH_ROUNDS, sizeof *simd, cmp_double);
        qsort(vk, BENCH_ROUNDS, sizeof *vk, cmp_double);
        double c = cpu[BENCH_ROUNDS / 2], s = simd[BENCH_ROUNDS / 2], v = vk[BENCH_ROUNDS / 2];
        printf("| %s | %u | %.3f | %.0f | %.3f | %.2f | %.3f | %.2fx | %.2fx |\n", sizes[i].spec,
               layout->led_count, c, 1e3 / c, s, scalar, v, s / c, v / c);
        fflush(stdout);
        sky_runtime_free(cpu_rt);
        sky_runtime_free(vk_rt);
        free(inputs);
        sky_layout_free(layout);
    }
}

/* Compile-and-load of every example: an empty cache (cc runs), then cached (dlopen only). */
static void bench_cpu_compile(void) {
    char cache[] = "/tmp/sky-bench-cache-XXXXXX";
    if (!mkdtemp(cache)) die("cache", strerror(errno));
    const char *old = getenv("XDG_CACHE_HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_CACHE_HOME", cache, 1);
    printf("\n| example | live LED instructions | first build ms (cc) | cached ms |\n"
           "|---|---:|---:|---:|\n");
    static const char *const examples[] = {"aurora",  "clouds",       "droplet", "embers",
                                           "fire",    "kaleidoscope", "plasma",  "radar",
                                           "ripples", "spiral",       "stars"};
    for (size_t i = 0; i < sizeof examples / sizeof *examples; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s.sky", SKY_SOURCE_DIR, examples[i]);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        static char src[1 << 16];
        size_t len = fread(src, 1, sizeof src, f);
        fclose(f);
        sky_program *program = NULL;
        if (sky_compile(path, src, len, NULL, &program, NULL) != SKY_OK) die(path, "compile");
        char *text = NULL;
        size_t text_len = 0, lines = 0;
        if (sky_program_emit_c(program, &text, &text_len) == SKY_OK)
            for (const char *s = strstr(text, "#pragma omp simd"); s && *s; s++)
                lines += strncmp(s, "\n        const float v", 22) == 0;
        sky_free(text);
        double ms[2];
        for (int pass = 0; pass < 2; pass++) {
            sky_cpu_kernel *kernel = NULL;
            char err[1024];
            double t0 = now_s();
            if (sky_cpu_kernel_build(program, &kernel, NULL, err, sizeof err) != SKY_OK)
                die("kernel", err);
            ms[pass] = (now_s() - t0) * 1e3;
            sky_cpu_kernel_free(kernel);
        }
        printf("| %s | %zu | %.0f | %.2f |\n", examples[i], lines, ms[0], ms[1]);
        fflush(stdout);
        sky_program_free(program);
    }
    if (saved) {
        setenv("XDG_CACHE_HOME", saved, 1);
        free(saved);
    } else {
        unsetenv("XDG_CACHE_HOME");
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0) fprintf(stderr, "bench_runtime: could not remove %s\n", cache);
}

/* ----------------------------------------------------------------- numpy */

/* Runs bench/plasma_numpy.py on the same positions; <0 when python3/numpy is missing. */
static double bench_numpy(const sky_layout *layout, int frames) {
    char positions[] = "/tmp/sky-bench-xy-XXXXXX";
    char output[] = "/tmp/sky-bench-out-XXXXXX";
    int fd = mkstemp(positions);
    int fd2 = mkstemp(output);
    if (fd < 0 || fd2 < 0) die("numpy", "cannot create temporary files");
    close(fd2);
    size_t bytes = (size_t)layout->led_count * 2 * sizeof(float);
    if (write(fd, layout->xy, bytes) != (ssize_t)bytes) die("numpy", "cannot write positions");
    close(fd);
    /* Debian's python3-numpy belongs to the system interpreter, which a pyenv or venv python3
     * earlier in PATH may not see. */
    const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' '%s' %d", python, NUMPY_PATH, positions, output,
             frames);
    FILE *p = popen(cmd, "r");
    double ms = -1;
    if (p) {
        char line[256];
        while (fgets(line, sizeof line, p))
            if (sscanf(line, "ms_per_frame %lf", &ms) == 1) break;
        if (pclose(p) != 0) ms = -1;
    }
    unlink(positions);
    unlink(output);
    return ms;
}

/* ---------------------------------------------------------- publishing */

typedef struct publish_result {
    double frame_ms;   /* mean latency: submit start to published */
    double publish_ms; /* mean publish stage */
    double wait_ms;
    sky_output_path path;
    char reason[256];
} publish_result;

static sky_frame_writer *make_writer(const sky_layout *layout, char *path, size_t path_len) {
    snprintf(path, path_len, "%s/sky-bench-frame-%ld",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    sky_frame_writer_options o = {
        .path = path,
        .led_count = layout->led_count,
        .strip_count = layout->strip_count,
        .strip_sizes = layout->strip_sizes,
        .positions = layout->xy,
        .layout = layout->name,
        .fps_nominal = 60,
    };
    sky_frame_writer *writer = NULL;
    char err[512];
    if (sky_frame_writer_create(&o, &writer, err, sizeof err) != SKY_OK) die("frame file", err);
    return writer;
}

static publish_result bench_publish(const sky_layout *layout, const sky_program *program,
                                    bool force_copy, int frames) {
    char path[256];
    sky_frame_writer *writer = make_writer(layout, path, sizeof path);
    sky_runtime *rt = make_runtime(layout, writer, force_copy, program);
    char err[1024];
    for (int f = 0; f < 3; f++)
        if (sky_runtime_render(rt, f / 60.0, 1 / 60.0, NULL, err, sizeof err)) die("render", err);
    sky_runtime_reset_stats(rt);
    for (int f = 0; f < frames; f++)
        if (sky_runtime_render(rt, (f + 3) / 60.0, 1 / 60.0, NULL, err, sizeof err))
            die("render", err);
    sky_runtime_stats s;
    sky_runtime_get_stats(rt, &s);
    publish_result res = {
        .frame_ms = (double)s.latency.total_ns * 1e-6 / (double)s.frames,
        .publish_ms = (double)s.publish.total_ns * 1e-6 / (double)s.frames,
        .wait_ms = (double)s.wait.total_ns * 1e-6 / (double)s.frames,
        .path = s.path,
    };
    snprintf(res.reason, sizeof res.reason, "%s", sky_runtime_output_reason(rt));
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    unlink(path);
    return res;
}

/* ------------------------------------------------------------ pacing */

/* utime + stime of this process (all threads), in seconds. */
static double process_cpu_s(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return 0;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces) start after the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct pacing_result {
    double p50_ms, p99_ms, max_ms, mean_ms;
    double cpu_percent; /* of one core */
    int missed;         /* frames published after the next deadline */
} pacing_result;

/* Renders at 60 fps against absolute deadlines, as `sky run` does, into a frame file. */
static pacing_result bench_pacing(const sky_layout *layout, const sky_program *program,
                                  int frames) {
    char path[256];
    sky_frame_writer *writer = make_writer(layout, path, sizeof path);
    sky_runtime *rt = make_runtime(layout, writer, false, program);
    double *lat = malloc((size_t)frames * sizeof *lat);
    if (!lat) die("pacing", "out of memory");
    char err[1024];
    const double period = 1.0 / 60.0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double cpu0 = process_cpu_s(), wall0 = now_s();
    pacing_result res = {0};
    for (int f = 0; f < frames; f++) {
        next.tv_nsec += (long)(period * 1e9);
        while (next.tv_nsec >= 1000000000L) next.tv_nsec -= 1000000000L, next.tv_sec++;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
        double deadline = (double)next.tv_sec + (double)next.tv_nsec * 1e-9;
        if (sky_runtime_render(rt, f * period, period, NULL, err, sizeof err)) die("render", err);
        lat[f] = (now_s() - deadline) * 1e3;
        res.missed += lat[f] > period * 1e3;
    }
    double cpu = process_cpu_s() - cpu0, wall = now_s() - wall0;
    double sum = 0;
    for (int f = 0; f < frames; f++) sum += lat[f];
    qsort(lat, (size_t)frames, sizeof *lat, cmp_double);
    res.mean_ms = sum / frames;
    res.p50_ms = lat[frames / 2];
    res.p99_ms = lat[(int)(frames * 0.99)];
    res.max_ms = lat[frames - 1];
    res.cpu_percent = cpu / wall * 100.0;
    free(lat);
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    unlink(path);
    return res;
}

/* ------------------------------------------------------------ show controls */

typedef enum show_mode { SHOW_PLAIN, SHOW_DIMMED, SHOW_MIX, SHOW_HOLD, SHOW_MODES } show_mode;

static const char *const show_mode_names[SHOW_MODES] = {
    "plain frame", "dimmed frame (brightness 0.5)", "crossfade frame (plasma into plasma, 0.5)",
    "held frame"};

/*
 * The median time of one completed, published frame of each kind, zero-copy
 * into a frame file (the show's path), the kinds interleaved in rounds so that
 * load on the machine hits them alike.
 */
static void bench_show(const sky_layout *layout, const sky_program *program, int frames,
                       double median_ms[SHOW_MODES]) {
    char path[256];
    sky_frame_writer *writer = make_writer(layout, path, sizeof path);
    sky_runtime *rt = make_runtime(layout, writer, false, program);
    char err[1024];
    sky_runtime_pipeline *incoming = NULL;
    size_t words_count = 0;
    sky_emit_options emit;
    sky_runtime_emit_options(rt, &emit);
    uint32_t *words = variant_spirv(program, emit.led_texels, &words_count);
    if (sky_runtime_pipeline_build(rt, program, words, words_count, &incoming, err, sizeof err))
        die("pipeline_build", err);
    sky_free(words);
    const int rounds = 10, per_round = (frames + rounds - 1) / rounds;
    double *times[SHOW_MODES];
    for (int m = 0; m < SHOW_MODES; m++)
        if (!(times[m] = malloc(sizeof(double) * (size_t)(rounds * per_round))))
            die("show", "out of memory");
    double t = 0;
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < SHOW_MODES; m++) {
            if (sky_runtime_set_brightness(rt, m == SHOW_DIMMED ? 0.5 : 1.0, err, sizeof err))
                die("brightness", err);
            for (int f = -2; f < per_round; f++) { /* two frames to settle after a switch */
                double start = now_s();
                sky_status st;
                t += 1 / 60.0;
                if (m == SHOW_MIX)
                    st = sky_runtime_render_mix(rt, t, 1 / 60.0, NULL, incoming, t, 1 / 60.0, NULL,
                                                0.5, err, sizeof err);
                else if (m == SHOW_HOLD)
                    st = sky_runtime_render_hold(rt, err, sizeof err);
                else
                    st = sky_runtime_render(rt, t, 1 / 60.0, NULL, err, sizeof err);
                if (st != SKY_OK) die(show_mode_names[m], err);
                if (f >= 0) times[m][r * per_round + f] = (now_s() - start) * 1e3;
            }
        }
    for (int m = 0; m < SHOW_MODES; m++) {
        qsort(times[m], (size_t)(rounds * per_round), sizeof(double), cmp_double);
        median_ms[m] = times[m][rounds * per_round / 2];
        free(times[m]);
    }
    sky_runtime_pipeline_free(rt, incoming);
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    unlink(path);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv) {
    bool cpu_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            bench_scale = atof(argv[++i]);
            if (!(bench_scale > 0)) die("--scale", "must be a positive number");
        } else if (strcmp(argv[i], "--cpu-backend") == 0) {
            cpu_only = true;
        } else {
            fprintf(stderr, "usage: bench_runtime [--scale S] [--cpu-backend]\n");
            return 2;
        }
    }
    sky_program *program = load_plasma();
    if (cpu_only) { /* section 5 alone */
        bench_cpu_backend(program);
        bench_cpu_compile();
        sky_program_free(program);
        return 0;
    }
    const struct {
        const char *spec;
        int device_frames, c_frames, numpy_frames;
    } sizes[] = {
        {"disc:360x288", 200, 40, 20},
        {"disc:1000x1000", 30, 5, 4},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("## Runtime\n\n`build/bench/bench_runtime` (examples/plasma.sky; %ld CPUs online)\n\n",
           cpus);
    size_t portable_words = 0, texel_words = 0;
    uint32_t *portable = variant_spirv(program, false, &portable_words);
    uint32_t *texels = variant_spirv(program, true, &texel_words);
    double variant_ms[2][2];
    printf("| layout | LEDs | device ms/frame | device frames/s | Mpx/s | C loop ms | numpy ms "
           "| device / C | device / numpy |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    char device[256] = "";
    double setup_ms = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        sky_layout *layout = load_layout(sizes[i].spec);
        sky_led_input *inputs = build_inputs(layout);
        device_result d = bench_device(layout, program, frames_scaled(sizes[i].device_frames));
        double c = bench_c_loop(layout, inputs, frames_scaled(sizes[i].c_frames));
        double np = bench_numpy(layout, frames_scaled(sizes[i].numpy_frames));
        variant_ms[i][0] = bench_variant(layout, program, portable, portable_words,
                                         frames_scaled(sizes[i].device_frames)) /
                           c;
        variant_ms[i][1] = bench_variant(layout, program, texels, texel_words,
                                         frames_scaled(sizes[i].device_frames)) /
                           c;
        snprintf(device, sizeof device, "%s", d.name);
        if (i == 0) setup_ms = d.setup_ms;
        char np_text[32] = "n/a", np_ratio[32] = "n/a";
        if (np > 0) {
            snprintf(np_text, sizeof np_text, "%.2f", np);
            snprintf(np_ratio, sizeof np_ratio, "%.2fx", np / d.ms_per_frame);
        }
        printf("| %s | %u | %.2f | %.1f | %.1f | %.2f | %s | %.2fx | %s |\n", sizes[i].spec,
               layout->led_count, d.ms_per_frame, 1e3 / d.ms_per_frame,
               layout->led_count / d.ms_per_frame * 1e-3, c, np_text, c / d.ms_per_frame, np_ratio);
        fflush(stdout);
        free(inputs);
        sky_layout_free(layout);
    }
    printf("\nDevice: %s; runtime create + pipeline build for plasma: %.0f ms.\n", device,
           setup_ms);
    printf("\nThe two shader variants (sky_emit_options), as the speed-up over the C loop:\n\n"
           "| layout | portable (positions from binding 1) | texel positions (binding 6; what "
           "the runtime picks here) |\n|---|---:|---:|\n");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        printf("| %s | %.2fx | %.2fx |\n", sizes[i].spec, 1.0 / variant_ms[i][0],
               1.0 / variant_ms[i][1]);
    printf("\nVariants vs the CPU evaluator: %zu channels differ by more than 2/255.\n",
           variant_mismatches);

    sky_layout *disc = load_layout("disc:360x288");
    publish_result zc = bench_publish(disc, program, false, frames_scaled(120));
    publish_result cp = bench_publish(disc, program, true, frames_scaled(120));
    printf("\n| publish path (disc:360x288, into /dev/shm) | frame ms (submit..published) "
           "| publish ms | publish %% of frame |\n|---|---:|---:|---:|\n");
    const publish_result *paths[] = {&zc, &cp};
    for (int i = 0; i < 2; i++)
        printf("| %s | %.3f | %.4f | %.2f%% |\n", sky_output_path_str(paths[i]->path),
               paths[i]->frame_ms, paths[i]->publish_ms,
               paths[i]->publish_ms / paths[i]->frame_ms * 100.0);
    printf("\nzero-copy: %s\n", zc.reason);

    int paced = frames_scaled(300);
    pacing_result p = bench_pacing(disc, program, paced);
    printf("\n| paced at 60 fps (disc:360x288, zero-copy, %d frames) | value |\n|---|---:|\n",
           paced);
    printf("| deadline -> published, median | %.2f ms |\n", p.p50_ms);
    printf("| deadline -> published, mean | %.2f ms |\n", p.mean_ms);
    printf("| deadline -> published, p99 | %.2f ms |\n", p.p99_ms);
    printf("| deadline -> published, max | %.2f ms |\n", p.max_ms);
    printf("| frames published after the next deadline | %d |\n", p.missed);
    printf("| process CPU (all threads), %% of one core | %.1f%% |\n", p.cpu_percent);

    double show_ms[SHOW_MODES];
    int show_frames = frames_scaled(200);
    bench_show(disc, program, show_frames, show_ms);
    printf("\n| show controls (disc:360x288, zero-copy, %d frames each, interleaved) | median ms "
           "| vs a plain frame |\n|---|---:|---:|\n",
           show_frames);
    for (int m = 0; m < SHOW_MODES; m++)
        printf("| %s | %.3f | %.2fx |\n", show_mode_names[m], show_ms[m],
               show_ms[m] / show_ms[SHOW_PLAIN]);
    sky_layout_free(disc);
    bench_cpu_backend(program);
    bench_cpu_compile();
    sky_free(portable);
    sky_free(texels);
    sky_program_free(program);
    return 0;
}

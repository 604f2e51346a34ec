/*
 * run.c - gen_run: differential testing of the .sky compiler with generated
 * programs (tests/gen/run is the wrapper that builds it and runs it).
 *
 *   tests/gen/run [--count N] [--seed S] [--first I] [--only I] [--print]
 *                 [--verbose] [--no-device] [--no-limits] [--limits-only]
 *                 [--shrink-tries N] [--max-failures N] [--require-coverage]
 *                 [--file F.sky [--first LAYOUT]]
 *
 * Program i of a run is generated from gen_seed_for(S, i) alone, so
 * `--seed S --only i` reproduces it anywhere. For every program:
 *
 *  1. it must compile at -O0 and at -O1 (a generated program is valid by
 *     construction: a compile error is a generator or a compiler bug), with
 *     one param per param declaration and the defaults the source gives;
 *  2. the CPU evaluator must give BIT-IDENTICAL colours (memcmp of the float
 *     rgb) at -O0 and -O1, over a schedule of frames with changing t, dt,
 *     frame and params (including values outside their range, which must be
 *     clamped alike), each level feeding its own output back as `prev`;
 *  3. shaderc must accept the GLSL (a rejection is a compiler bug:
 *     SKY_ERR_INTERNAL): -O1's for every program, -O0's for every 4th;
 *  4. on the device (lavapipe in CI), through one long-lived sky_runtime per
 *     layout that swaps programs with sky_runtime_set_program_spirv, every
 *     tame channel of every LED of every frame must agree with the CPU
 *     evaluator within 2/255; the CPU is fed the device's own previous frame
 *     (sky_runtime_frame_floats) as `prev`, so each frame is compared from
 *     the same input;
 *  5. the CPU evaluator must agree with the reference interpreter (ref.c, an
 *     independent double-precision evaluation of the generator's tree) on the
 *     channels where rounding cannot explain a difference (see below).
 *
 * The tameness rule (also in docs/reliability.md). The reference evaluates
 * every LED RUN_MEMBERS times: exactly in double; in float emulation (each
 * per-LED result rounded to float32, as the CPU evaluator's float section
 * does); and RUN_PERTURBED times in float emulation with every per-LED
 * division, sqrt and transcendental function off by an amount within a GPU's
 * error bound (ref.c's err_bound table: the Vulkan precision rules and
 * lavapipe measurements; trigonometric arguments too): all at the upper
 * bound, all at the lower bound, at random corners of the error box and at
 * random points inside it (run_draw). A channel (one colour
 * component of one LED in one frame) is TAME when
 *   (a) the float-emulated and every perturbed result lie within 0.5/255 of
 *       the exact one (the colour does not jump under rounding), and
 *   (b) the CPU evaluator's result lies within 0.5/255 of the exact one, and
 *   (c) no per-LED value on the way was infinite or NaN (Vulkan lets drivers
 *       assume there are none, and they fold x * 0 and 1 / sign(x) on that
 *       assumption), subnormal as a float (GPUs may flush those to zero), a
 *       hash of an inexact value (a GPU's last bit picks another random
 *       number), a sin/cos/tan of an argument beyond 16384 (GPUs reduce
 *       those with too little precision), a noise at an inexact point
 *       beyond 2^20 (a last bit moves it across lattice cells), or the
 *       fraction (fract, mod, hsv's hue, saw...) of an inexact value beyond
 *       2^20 (a last bit there is 1/8 or more): effectively random values.
 * Only tame channels are compared with the device; the others are counted,
 * by reason, and reported: the spec's 2/255 promise cannot mean a value that
 * a 1-ulp change turns into another. Where (a) and (c) hold but the CPU is
 * more than 2/255 from the float emulation, rounding cannot explain it: an
 * UNEXPLAINED channel, and a single one fails the program
 * (gen_unexplained_fails). The shares of channels skipped as not tame and of
 * programs with every channel skipped are capped over the run
 * (gen_skip_shares_ok, with the measured shares in gen.h): over a cap, the
 * run fails.
 *
 * A failure prints the program, minimises it with gen_shrink (keeping the same
 * kind of failure) and prints the minimised program, its failure and the
 * command that reproduces it. After the random programs come the
 * near-the-limit cases of limits.c. The exit status is 0 when everything
 * passed (and, with --require-coverage, every built-in, operator, input and
 * feature was generated), 1 otherwise; without a Vulkan device it is 1 (use
 * --no-device for the CPU checks alone).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shaderc/shaderc.h>

#include "irregular_map.h"
#include "gen.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "sky/sky.h"

#if defined(SKY_SANITIZE)
#include <sanitizer/common_interface_defs.h>
#endif

#define RUN_TOLERANCE      2           /* bytes per channel, device against CPU */
#define RUN_TAME           (0.5 / 255) /* float vs double, perturbed vs exact */
#define RUN_UNEXPLAINED    (2.0 / 255) /* CPU vs reference where rounding cannot explain it */
#define RUN_DELTA          1.0         /* perturbations at the full error bounds of ref.c */
#define RUN_PERTURBED      6           /* perturbed reference evaluations per LED */
#define RUN_MEMBERS        (2 + RUN_PERTURBED) /* exact, float emulation, perturbed ones */
#define RUN_FRAMES         4
#define RUN_PREV_FRAMES    6 /* programs that read prev get two more consecutive frames */
#define RUN_MAX_FRAMES     6
#define RUN_LAYOUTS        3
#define RUN_O0_SPIRV_EVERY 4     /* also the -O0 shader for every 4th program */
#define RUN_WAIT_MS        20000 /* longest wait for a frame: CI machines are shared */

static const double run_times[RUN_MAX_FRAMES] = {
    0.0, 0.37, 2.5, 61.3, 61.3 + 1 / 60.0, 61.3 + 2 / 60.0};
static const double run_dts[RUN_MAX_FRAMES] = {0.0, 1 / 60.0, 0.05, 1 / 60.0, 1 / 60.0, 1 / 60.0};

/* The current program's source, for the crash handler (the one global, set per program). */
static const char *volatile run_crash_source;
static char run_crash_label[128];

/* ------------------------------------------------------------------ types */

typedef struct run_options {
    uint64_t seed, first, count;
    bool no_device, no_limits, limits_only, print, require_coverage;
    int verbose;      /* 1: progress and skips; 2: also every shrink candidate */
    const char *file; /* --file: check this .sky file instead of generated programs */
    int shrink_tries, max_failures;
} run_options;

typedef struct run_layout {
    const char *spec;
    sky_layout *layout;
    sky_layout_view view;
    sky_led_input *inputs;
    sky_runtime *rt;
} run_layout;

typedef enum fail_kind {
    FK_NONE,
    FK_GENERATE,
    FK_COMPILE,
    FK_PARAMS,
    FK_OPT,
    FK_SPIRV,
    FK_RUNTIME,
    FK_DEVICE,
    FK_REFERENCE,
    FK_LIMIT,
} fail_kind;

static const char *const fail_names[] = {
    "none",   "generator", "compile",       "params",           "-O0 vs -O1",
    "SPIR-V", "runtime",   "device vs CPU", "CPU vs reference", "limit",
};

typedef struct failure {
    fail_kind kind;
    char code[16]; /* first diagnostic code of a compile failure */
    char message[4096];
} failure;

/* What checking one program saw. */
typedef struct check_stats {
    uint64_t frames, channels, compared, differ, unexplained;
    uint64_t skip_double, skip_rounding, skip_perturbed, skip_subnormal, skip_hash, skip_nonfinite;
    int max_diff;
    char first_skip[200]; /* the first skipped channel, for --verbose */
} check_stats;

typedef struct run_totals {
    uint64_t programs, failures, spirv, frames_cpu, frames_device;
    uint64_t programs_skipping, programs_all_skipped;
    check_stats s;
    double t_gen, t_compile, t_cpu, t_spirv, t_device, t_ref;
    double slowest_frame, slowest_spirv; /* seconds */
} run_totals;

typedef struct runner {
    run_options o;
    run_layout layouts[RUN_LAYOUTS];
    size_t layout_count;
    char map_path[256];
    shaderc_compiler_t shaderc; /* held so glslang's tables stay built between programs */
    size_t max_leds;
    float *chain[2][2]; /* CPU colours per optimization level, ping-pong for prev */
    float *cpu_rgb, *dev_prev[2];
    uint8_t *cpu_bytes, *dev_bytes;
    double *ref_rgb; /* RUN_MEMBERS x leds x 3 */
    unsigned *ref_flags;
    run_totals tot;
    gen_coverage cov;
} runner;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail_set(failure *f, fail_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_set(failure *f, fail_kind kind, const char *fmt, ...) {
    f->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ crash report */

static void run_write(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void run_report_crash(void) {
    const char *src = run_crash_source;
    if (!src) return;
    run_write("\ngen_run: crashed while checking ");
    run_write(run_crash_label);
    run_write("; the program:\n");
    run_write(src);
    run_write("\n");
}

static void run_on_signal(int sig) {
    run_report_crash();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_install_crash_report(void) {
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = run_on_signal;
        sigaction(sigs[i], &sa, NULL);
    }
#if defined(SKY_SANITIZE)
    __sanitizer_set_death_callback(run_report_crash);
#endif
}

/* ----------------------------------------------------------------- setup */

/*
 * A runtime for one layout. Generated programs can be large, and lavapipe
 * compiles a shader at its first dispatch, so the first frame after a swap
 * may take seconds: the wait limit is raised well above the 2 s default.
 */
static bool runtime_create(run_layout *l, char *err, size_t err_len) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = l->layout;
    o.wait_timeout_ms = RUN_WAIT_MS;
    return sky_runtime_create(&o, &l->rt, err, err_len) == SKY_OK;
}

static bool setup(runner *R) {
    static char map_spec[300];
    if (!test_irregular_map_write(R->map_path, sizeof R->map_path, "gen-map", 7, 9)) {
        fprintf(stderr, "gen_run: cannot write a map layout in /tmp: %s\n", strerror(errno));
        return false;
    }
    snprintf(map_spec, sizeof map_spec, "map:%s", R->map_path);
    /* A disc (radial strips), a grid with a LED at exactly (0, 0), an irregular map. */
    const char *specs[RUN_LAYOUTS] = {"disc:12x10", "grid:9x7", map_spec};
    for (size_t i = 0; i < RUN_LAYOUTS; i++) {
        run_layout *l = &R->layouts[i];
        char err[512] = "";
        l->spec = i == 2 ? "map (3 strips of 7, 16, 25 LEDs)" : specs[i];
        if (sky_layout_create(specs[i], &l->layout, err, sizeof err) != SKY_OK) {
            fprintf(stderr, "gen_run: layout %s: %s\n", specs[i], err);
            return false;
        }
        R->layout_count++;
        l->view = (sky_layout_view){l->layout->led_count, l->layout->strip_count,
                                    l->layout->strip_sizes, l->layout->xy, l->layout->z};
        l->inputs = calloc(l->layout->led_count, sizeof *l->inputs);
        if (!l->inputs || sky_led_inputs_build(&l->view, l->inputs) != SKY_OK) return false;
        if (l->layout->led_count > R->max_leds) R->max_leds = l->layout->led_count;
        if (R->o.no_device) continue;
        if (!runtime_create(l, err, sizeof err)) {
            fprintf(stderr,
                    "gen_run: no Vulkan runtime (the device checks need one; --no-device runs "
                    "the CPU checks alone): %s\n",
                    err);
            return false;
        }
    }
    size_t ch = R->max_leds * 3;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) R->chain[a][b] = calloc(ch, sizeof(float));
    R->cpu_rgb = calloc(ch, sizeof(float));
    R->dev_prev[0] = calloc(ch, sizeof(float));
    R->dev_prev[1] = calloc(ch, sizeof(float));
    R->cpu_bytes = calloc(ch, 1);
    R->dev_bytes = calloc(ch, 1);
    R->ref_rgb = calloc(ch * RUN_MEMBERS, sizeof(double));
    R->ref_flags = calloc(R->max_leds * RUN_MEMBERS, sizeof(unsigned));
    R->shaderc = shaderc_compiler_initialize();
    if (!R->chain[0][0] || !R->chain[0][1] || !R->chain[1][0] || !R->chain[1][1] || !R->cpu_rgb ||
        !R->dev_prev[0] || !R->dev_prev[1] || !R->cpu_bytes || !R->dev_bytes || !R->ref_rgb ||
        !R->ref_flags) {
        fprintf(stderr, "gen_run: out of memory\n");
        return false;
    }
    return true;
}

static void teardown(runner *R) {
    for (size_t i = 0; i < R->layout_count; i++) {
        sky_runtime_free(R->layouts[i].rt);
        free(R->layouts[i].inputs);
        sky_layout_free(R->layouts[i].layout);
    }
    if (R->map_path[0]) unlink(R->map_path);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) free(R->chain[a][b]);
    free(R->cpu_rgb);
    free(R->dev_prev[0]);
    free(R->dev_prev[1]);
    free(R->cpu_bytes);
    free(R->dev_bytes);
    free(R->ref_rgb);
    free(R->ref_flags);
    if (R->shaderc) shaderc_compiler_release(R->shaderc);
}

/* ---------------------------------------------------------------- params */

/*
 * The params of every frame: per declaration, the value handed to the
 * compiled program (raw, maybe outside its range) and the value the
 * reference uses (clamped to the range, as the spec says values set at run
 * time are).
 */
typedef struct param_plan {
    ref_value *raw[RUN_MAX_FRAMES];
    ref_value *clamped[RUN_MAX_FRAMES];
} param_plan;

static void plan_free(param_plan *pl) {
    for (int f = 0; f < RUN_MAX_FRAMES; f++) {
        free(pl->raw[f]);
        free(pl->clamped[f]);
    }
}

static bool plan_make(const gen_program *gp, param_plan *pl) {
    memset(pl, 0, sizeof *pl);
    size_t n = gp->decl_count ? gp->decl_count : 1;
    for (int f = 0; f < RUN_MAX_FRAMES; f++) {
        pl->raw[f] = calloc(n, sizeof(ref_value));
        pl->clamped[f] = calloc(n, sizeof(ref_value));
        if (!pl->raw[f] || !pl->clamped[f]) return false;
    }
    ref_param_defaults(gp, pl->raw[0]);
    gen_rng rng = {gp->seed ^ 0x7061726173ull};
    for (int f = 1; f < RUN_MAX_FRAMES; f++) {
        memcpy(pl->raw[f], pl->raw[0], n * sizeof(ref_value));
        for (uint32_t i = 0; i < gp->decl_count; i++) {
            const gen_decl *d = &gp->decls[i];
            if (d->kind != GD_PARAM) continue;
            ref_value *v = &pl->raw[f][i];
            if (f >= RUN_FRAMES) { /* consecutive frames keep the last values */
                *v = pl->raw[RUN_FRAMES - 1][i];
                continue;
            }
            for (int c = 0; c < v->width; c++) {
                double u = gen_rng_unit(&rng);
                if (d->has_range && f == 2) /* outside the range: must be clamped */
                    v->v[c] = u < 0.5 ? d->lo - (d->hi - d->lo) * 0.5 : d->hi + 0.25;
                else if (d->has_range)
                    v->v[c] = d->lo + (d->hi - d->lo) * u;
                else
                    v->v[c] = v->v[c] * (0.5 + u) + (gen_rng_unit(&rng) - 0.5);
            }
        }
    }
    for (int f = 0; f < RUN_MAX_FRAMES; f++) {
        memcpy(pl->clamped[f], pl->raw[f], n * sizeof(ref_value));
        for (uint32_t i = 0; i < gp->decl_count; i++) {
            const gen_decl *d = &gp->decls[i];
            ref_value *v = &pl->clamped[f][i];
            if (d->kind == GD_PARAM && d->has_range)
                v->v[0] = v->v[0] < d->lo ? d->lo : (v->v[0] > d->hi ? d->hi : v->v[0]);
        }
    }
    return true;
}

/* The compiled program's slots for frame f; false (and a failure) when a param is missing. */
static bool plan_slots(const gen_program *gp, const sky_program *prog, const param_plan *pl, int f,
                       double *slots, failure *fail) {
    sky_program_param_defaults(prog, slots);
    for (uint32_t i = 0; i < gp->decl_count; i++) {
        const gen_decl *d = &gp->decls[i];
        if (d->kind != GD_PARAM) continue;
        long k = sky_program_param_find(prog, d->name);
        if (k < 0) {
            fail_set(fail, FK_PARAMS, "param `%s` is missing from the compiled program", d->name);
            return false;
        }
        const sky_param_info *info = sky_program_param(prog, (size_t)k);
        for (int c = 0; c < pl->raw[f][i].width; c++) slots[info->slot + c] = pl->raw[f][i].v[c];
    }
    return true;
}

/* One param per declaration, with the type, range and default the source gives. */
static bool check_params(const gen_program *gp, const sky_program *prog, const param_plan *pl,
                         failure *fail) {
    size_t declared = 0;
    for (uint32_t i = 0; i < gp->decl_count; i++) {
        const gen_decl *d = &gp->decls[i];
        if (d->kind != GD_PARAM) continue;
        declared++;
        long k = sky_program_param_find(prog, d->name);
        if (k < 0) {
            fail_set(fail, FK_PARAMS, "param `%s` is missing from the compiled program", d->name);
            return false;
        }
        const sky_param_info *info = sky_program_param(prog, (size_t)k);
        const ref_value *v = &pl->raw[0][i];
        if ((int)info->type != v->width || info->has_range != d->has_range ||
            (d->has_range && (info->min != d->lo || info->max != d->hi))) {
            fail_set(fail, FK_PARAMS,
                     "param `%s`: type %d range %d [%g, %g], expected %d %d [%g, %g]", d->name,
                     (int)info->type, info->has_range, info->min, info->max, v->width, d->has_range,
                     d->lo, d->hi);
            return false;
        }
        for (int c = 0; c < v->width; c++)
            if (info->value[c] != v->v[c]) {
                fail_set(fail, FK_PARAMS, "param `%s` component %d: default %.17g, expected %.17g",
                         d->name, c, info->value[c], v->v[c]);
                return false;
            }
    }
    if (sky_program_param_count(prog) != declared) {
        fail_set(fail, FK_PARAMS, "%zu params compiled, %zu declared",
                 sky_program_param_count(prog), declared);
        return false;
    }
    return true;
}

/* --------------------------------------------------------------- checking */

static bool compile_level(const gen_program *gp, int level, sky_program **out, failure *fail) {
    sky_compile_options co;
    sky_compile_options_init(&co);
    co.opt_level = level;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile("gen.sky", gp->source, gp->source_len, &co, out, &diags);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(diags, false, &text);
        const sky_diag *first = diags ? sky_diagnostics_get(diags, 0) : NULL;
        fail_set(fail, FK_COMPILE, "-O%d: %s\n%s", level, sky_status_str(st), text ? text : "");
        snprintf(fail->code, sizeof fail->code, "%s", first && first->code ? first->code : "");
        sky_free(text);
    }
    sky_diagnostics_free(diags);
    return st == SKY_OK;
}

static bool emit_spirv(runner *R, const sky_program *prog, int level, uint32_t **words,
                       size_t *count, failure *fail) {
    char *error = NULL;
    double t0 = now();
    sky_status st = sky_program_emit_spirv(prog, NULL, words, count, &error);
    double took = now() - t0;
    R->tot.t_spirv += took;
    if (took > R->tot.slowest_spirv) R->tot.slowest_spirv = took;
    R->tot.spirv++;
    if (st != SKY_OK)
        fail_set(fail, FK_SPIRV, "-O%d: %s: %s", level, sky_status_str(st), error ? error : "");
    sky_free(error);
    return st == SKY_OK;
}

/* Step 2: -O0 and -O1 on the CPU, bit-identical frame after frame. */
static bool check_levels(runner *R, const gen_program *gp, sky_program *const prog[2],
                         const run_layout *l, const param_plan *pl, int frames, failure *fail) {
    size_t ch = (size_t)l->layout->led_count * 3;
    double t0 = now();
    bool ok = true;
    for (int f = 0; f < frames && ok; f++) {
        for (int lv = 0; lv < 2 && ok; lv++) {
            double slots[3 * SKY_MAX_PARAMS + 3];
            if (!plan_slots(gp, prog[lv], pl, f, slots, fail)) return false;
            sky_frame_inputs in = {
                .t = run_times[f], .dt = run_dts[f], .frame = (uint64_t)f, .params = slots};
            const float *prev =
                f > 0 && sky_program_uses_prev(prog[lv]) ? R->chain[lv][(f + 1) % 2] : NULL;
            sky_status st = sky_program_eval(prog[lv], &l->view, l->inputs, &in, prev,
                                             R->chain[lv][f % 2], NULL);
            if (st != SKY_OK) {
                fail_set(fail, FK_OPT, "-O%d: CPU evaluation failed: %s", lv, sky_status_str(st));
                ok = false;
            }
        }
        if (!ok) break;
        const float *a = R->chain[0][f % 2], *b = R->chain[1][f % 2];
        if (memcmp(a, b, ch * sizeof(float)) != 0) {
            size_t i = 0;
            while (i < ch && memcmp(&a[i], &b[i], sizeof(float)) == 0) i++;
            fail_set(fail, FK_OPT,
                     "layout %s, frame %d (t = %g): LED %zu channel %zu: -O0 gives %.9g (%a), -O1 "
                     "gives %.9g (%a)",
                     l->spec, f, run_times[f], i / 3, i % 3, a[i], a[i], b[i], b[i]);
            ok = false;
        }
        R->tot.frames_cpu++;
    }
    R->tot.t_cpu += now() - t0;
    return ok;
}

/*
 * How perturbed member k (2 ..) draws its errors: every operation at its upper
 * bound, every one at its lower bound (together they catch a colour that moves
 * with the errors' common direction, which random draws can all miss), then
 * random corners of the error box and random points inside it.
 */
static ref_draw run_draw(int k) {
    static const ref_draw draws[] = {REF_DRAW_UP, REF_DRAW_DOWN, REF_DRAW_SIGNS, REF_DRAW_SIGNS};
    int j = k - 2;
    return j >= 0 && j < (int)(sizeof draws / sizeof *draws) ? draws[j] : REF_DRAW_UNIFORM;
}

/*
 * The reference colours of every LED: member 0 exact (double), member 1 float
 * emulation, then float emulation with perturbed arithmetic.
 */
static void reference_frame(runner *R, ref_eval *ev, const gen_program *gp, const run_layout *l,
                            const param_plan *pl, int f, const float *prev) {
    uint32_t n = l->layout->led_count;
    ref_frame rf = {.t = run_times[f],
                    .dt = run_dts[f],
                    .frame = f,
                    .params = pl->clamped[f],
                    .prev = prev,
                    .leds = l->inputs,
                    .led_count = n,
                    .strip_count = l->layout->strip_count,
                    .strip_sizes = l->layout->strip_sizes};
    double t0 = now();
    for (int k = 0; k < RUN_MEMBERS; k++) {
        ref_mode mode = {.float_led = k > 0,
                         .delta = k > 1 ? RUN_DELTA : 0,
                         .draw = run_draw(k),
                         .seed = gen_seed_for(gp->seed, (uint64_t)(f * 16 + k))};
        for (uint32_t i = 0; i < n; i++)
            ref_eval_led(ev, &rf, i, &mode, &R->ref_rgb[((size_t)k * n + i) * 3],
                         &R->ref_flags[(size_t)k * n + i]);
    }
    R->tot.t_ref += now() - t0;
}

/* Classifies and compares one frame's channels; false (and a failure) on a disagreement. */
static bool compare_frame(runner *R, const run_layout *l, int f, bool device, check_stats *st,
                          failure *fail) {
    uint32_t n = l->layout->led_count;
    uint64_t unexplained = 0;
    char first[512] = "";
    for (uint32_t i = 0; i < n; i++) {
        unsigned flags = 0;
        for (int k = 0; k < RUN_MEMBERS; k++) flags |= R->ref_flags[(size_t)k * n + i];
        for (int c = 0; c < 3; c++) {
            size_t at = (size_t)i * 3 + (size_t)c;
            double r0 = R->ref_rgb[at], cpu = R->cpu_rgb[at];
            double rf = R->ref_rgb[((size_t)n + i) * 3 + (size_t)c];
            double perturbed = 0;
            for (int k = 2; k < RUN_MEMBERS; k++)
                perturbed =
                    fmax(perturbed, fabs(R->ref_rgb[((size_t)k * n + i) * 3 + (size_t)c] - r0));
            st->channels++;
            const char *why = NULL;
            if (flags & (REF_HASH_ROUNDING | REF_CHAOTIC)) {
                why = flags & REF_HASH_ROUNDING
                          ? "hash of an inexact value"
                          : "sin/cos/tan, noise or fraction of a huge inexact value";
                st->skip_hash++;
            } else if (flags & REF_NONFINITE) {
                why = "infinity or NaN on the way";
                st->skip_nonfinite++;
            } else if (flags) {
                why = "subnormal";
                st->skip_subnormal++;
            } else if (fabs(rf - r0) > RUN_TAME) {
                why = "float emulation vs double";
                st->skip_rounding++;
            } else if (perturbed > RUN_TAME) {
                why = "perturbed";
                st->skip_perturbed++;
            } else if (fabs(cpu - r0) > RUN_TAME) {
                why = "CPU vs double";
                st->skip_double++;
            }
            if (why && !st->first_skip[0])
                snprintf(st->first_skip, sizeof st->first_skip,
                         "%s: frame %d LED %u channel %d: CPU %.9g, double %.9g, float %.9g, "
                         "perturbed %.3g",
                         why, f, i, c, cpu, r0, rf, perturbed);
            /* stable under every rounding model, yet the CPU is elsewhere */
            bool stable = !flags && fabs(rf - r0) <= RUN_TAME && perturbed <= RUN_TAME;
            if (stable && fabs(cpu - rf) > RUN_UNEXPLAINED && unexplained++ == 0)
                snprintf(first, sizeof first,
                         "LED %u (strip %u, led %u) channel %d: CPU %.9g, reference %.9g (float "
                         "emulation %.9g)",
                         i, l->inputs[i].strip, l->inputs[i].led, c, cpu, r0, rf);
            if (why || !device) continue;
            st->compared++;
            int d = abs((int)R->dev_bytes[at] - (int)R->cpu_bytes[at]);
            st->differ += d != 0;
            if (d > st->max_diff) st->max_diff = d;
            if (d > RUN_TOLERANCE) {
                fail_set(fail, FK_DEVICE,
                         "layout %s, frame %d (t = %g): LED %u (strip %u, led %u, x %.6g, y %.6g) "
                         "channel %d: device %u, CPU %u (CPU float %.9g, reference %.9g, float "
                         "emulation %.9g, perturbed spread %.3g): a tame channel differs by %d/255",
                         l->spec, f, run_times[f], i, l->inputs[i].strip, l->inputs[i].led,
                         l->inputs[i].x, l->inputs[i].y, c, R->dev_bytes[at], R->cpu_bytes[at], cpu,
                         r0, rf, perturbed, d);
                return false;
            }
        }
    }
    st->unexplained += unexplained;
    if (gen_unexplained_fails(unexplained, (uint64_t)n * 3)) {
        fail_set(fail, FK_REFERENCE,
                 "layout %s, frame %d (t = %g): on %" PRIu64 " of %u channels the CPU evaluator "
                 "and the reference interpreter disagree by more than 2/255 where rounding cannot "
                 "explain it; first: %s",
                 l->spec, f, run_times[f], unexplained, n * 3, first);
        return false;
    }
    return true;
}

/* Steps 4 and 5: the device and the reference against the CPU, frame after frame. */
static bool check_device(runner *R, const gen_program *gp, const sky_program *prog,
                         const uint32_t *words, size_t word_count, const run_layout *l,
                         const param_plan *pl, int frames, check_stats *st, failure *fail) {
    char err[1024] = "";
    bool device = l->rt != NULL;
    double t0 = now();
    if (device &&
        (sky_runtime_set_program_spirv(l->rt, prog, words, word_count, err, sizeof err) != SKY_OK ||
         sky_runtime_restart(l->rt, err, sizeof err) != SKY_OK)) {
        fail_set(fail, FK_RUNTIME, "layout %s: set_program: %s", l->spec, err);
        return false;
    }
    R->tot.t_device += now() - t0;
    ref_eval *ev = ref_eval_create(gp);
    if (!ev) {
        fail_set(fail, FK_RUNTIME, "out of memory");
        return false;
    }
    size_t ch = (size_t)l->layout->led_count * 3;
    bool uses_prev = sky_program_uses_prev(prog), ok = true;
    for (int f = 0; f < frames && ok; f++) {
        double slots[3 * SKY_MAX_PARAMS + 3];
        if (!plan_slots(gp, prog, pl, f, slots, fail)) {
            ok = false;
            break;
        }
        /* prev of this frame: the device's previous output (the CPU's own chain without one) */
        const float *prev = NULL;
        if (f > 0 && uses_prev) prev = device ? R->dev_prev[(f + 1) % 2] : R->chain[1][(f + 1) % 2];
        if (device) {
            t0 = now();
            if (sky_runtime_render(l->rt, run_times[f], run_dts[f], slots, err, sizeof err) !=
                SKY_OK) {
                fail_set(fail, FK_RUNTIME, "layout %s, frame %d: render: %s", l->spec, f, err);
                ok = false;
                break;
            }
            size_t len = 0, fl = 0;
            const uint8_t *bytes = sky_runtime_frame_bytes(l->rt, &len);
            const float *floats = uses_prev ? sky_runtime_frame_floats(l->rt, &fl) : NULL;
            if (!bytes || len < ch || (uses_prev && (!floats || fl < ch))) {
                fail_set(fail, FK_RUNTIME, "layout %s, frame %d: no %s read back", l->spec, f,
                         !bytes || len < ch ? "bytes" : "floats (prev)");
                ok = false;
                break;
            }
            double took = now() - t0;
            if (took > R->tot.slowest_frame) R->tot.slowest_frame = took;
            memcpy(R->dev_bytes, bytes, ch);
            if (uses_prev) memcpy(R->dev_prev[f % 2], floats, ch * sizeof(float));
            R->tot.t_device += now() - t0;
            R->tot.frames_device++;
        }
        t0 = now();
        sky_frame_inputs in = {
            .t = run_times[f], .dt = run_dts[f], .frame = (uint64_t)f, .params = slots};
        sky_status s =
            sky_program_eval(prog, &l->view, l->inputs, &in, prev, R->cpu_rgb, R->cpu_bytes);
        R->tot.t_cpu += now() - t0;
        if (s != SKY_OK) {
            fail_set(fail, FK_OPT, "CPU evaluation failed: %s", sky_status_str(s));
            ok = false;
            break;
        }
        if (gp->opaque) { /* no tree: every channel counts as tame */
            for (size_t c = 0; c < ch; c++) R->ref_rgb[c] = R->cpu_rgb[c];
            memset(R->ref_flags, 0, l->layout->led_count * sizeof *R->ref_flags);
            for (int k = 1; k < RUN_MEMBERS; k++)
                memcpy(&R->ref_rgb[(size_t)k * ch], R->ref_rgb, ch * sizeof *R->ref_rgb);
        } else {
            reference_frame(R, ev, gp, l, pl, f, prev);
        }
        ok = compare_frame(R, l, f, device, st, fail);
        st->frames++;
    }
    ref_eval_free(ev);
    return ok;
}

/* Every check on one program; true when it passed. */
static bool check_program(runner *R, const gen_program *gp, size_t layout_index,
                          gen_limit_run level, check_stats *st, failure *fail) {
    memset(fail, 0, sizeof *fail);
    memset(st, 0, sizeof *st);
    run_crash_source = gp->source;
    const run_layout *l = &R->layouts[layout_index % R->layout_count];
    sky_program *prog[2] = {NULL, NULL};
    uint32_t *words[2] = {NULL, NULL};
    size_t word_count[2] = {0, 0};
    param_plan pl;
    bool ok = plan_make(gp, &pl);
    if (!ok) fail_set(fail, FK_GENERATE, "out of memory");
    double t0 = now();
    for (int lv = 0; lv < 2 && ok; lv++) ok = compile_level(gp, lv, &prog[lv], fail);
    R->tot.t_compile += now() - t0;
    for (int lv = 0; lv < 2 && ok && !gp->opaque; lv++) ok = check_params(gp, prog[lv], &pl, fail);
    int frames = ok && (sky_program_uses_prev(prog[0]) || sky_program_uses_prev(prog[1]))
                     ? RUN_PREV_FRAMES
                     : RUN_FRAMES;
    if (ok && level >= GEN_LIMIT_RUN_CPU) ok = check_levels(R, gp, prog, l, &pl, frames, fail);
    /* -O1 runs on the device; the -O0 shader only has to be accepted, checked for every
     * RUN_O0_SPIRV_EVERY-th program (shaderc is the costliest step of the run) */
    if (level >= GEN_LIMIT_RUN_SPIRV)
        for (int lv = 1; lv >= 0 && ok; lv--)
            if (lv == 1 || level < GEN_LIMIT_RUN_ALL || layout_index % RUN_O0_SPIRV_EVERY == 0)
                ok = emit_spirv(R, prog[lv], lv, &words[lv], &word_count[lv], fail);
    if (level >= GEN_LIMIT_RUN_ALL) {
        if (ok)
            ok = check_device(R, gp, prog[1], words[1], word_count[1], l, &pl, frames, st, fail);
    }
    if (fail->kind == FK_RUNTIME && l->rt) { /* a runtime that failed is unusable: replace it */
        run_layout *lw = &R->layouts[layout_index % R->layout_count];
        char err[512] = "";
        sky_runtime_free(lw->rt);
        lw->rt = NULL;
        if (!runtime_create(lw, err, sizeof err))
            fprintf(stderr, "gen_run: layout %s: cannot recreate the runtime: %s\n", lw->spec, err);
    }
    for (int lv = 0; lv < 2; lv++) {
        sky_free(words[lv]);
        sky_program_free(prog[lv]);
    }
    plan_free(&pl);
    run_crash_source = NULL;
    return ok;
}

/* --------------------------------------------------------------- failures */

typedef struct shrink_ctx {
    runner *R;
    size_t layout_index;
    gen_limit_run level;
    const failure *original;
    failure last;
} shrink_ctx;

static bool still_fails(const gen_program *cand, void *context) {
    shrink_ctx *sc = context;
    check_stats st;
    failure f;
    bool passed = check_program(sc->R, cand, sc->layout_index, sc->level, &st, &f);
    if (sc->R->o.verbose > 1)
        fprintf(stderr, "shrink candidate (%zu bytes): %s %.200s\n", cand->source_len,
                passed ? "passes" : fail_names[f.kind], passed ? "" : f.message);
    if (passed) return false;
    if (f.kind != sc->original->kind) return false;
    if (f.kind == FK_COMPILE && strcmp(f.code, sc->original->code) != 0) return false;
    sc->last = f;
    return true;
}

static void print_program(const char *title, const gen_program *gp) {
    fprintf(stderr, "--- %s (%zu bytes):\n%s", title, gp->source_len,
            gp->source_len > 20000 ? "(too long to print)\n" : gp->source);
}

static void report_failure(runner *R, const gen_program *gp, const char *what, size_t layout_index,
                           gen_limit_run level, const failure *fail, const char *reproduce) {
    R->tot.failures++;
    fprintf(stderr, "\nFAIL [%s] %s: %s\n", fail_names[fail->kind], what, fail->message);
    print_program("program", gp);
    if (R->o.shrink_tries > 0 && gp->source_len < 200000) {
        shrink_ctx sc = {R, layout_index, level, fail, *fail};
        int tries = 0;
        gen_program *small = gen_shrink(gp, still_fails, &sc, R->o.shrink_tries, &tries);
        if (small) {
            char title[96];
            snprintf(title, sizeof title, "minimised after %d tries, still failing", tries);
            print_program(title, small);
            fprintf(stderr, "--- its failure: [%s] %s\n", fail_names[sc.last.kind],
                    sc.last.message);
            gen_program_free(small);
        }
    }
    fprintf(stderr, "--- reproduce: %s\n", reproduce);
}

static uint64_t skipped_of(const check_stats *st) {
    return st->skip_double + st->skip_rounding + st->skip_perturbed + st->skip_subnormal +
           st->skip_hash + st->skip_nonfinite;
}

/* A random program's stats count toward the capped shares; a limit case's channels only. */
static void add_stats(runner *R, const check_stats *st, bool random_program) {
    check_stats *t = &R->tot.s;
    t->frames += st->frames;
    t->channels += st->channels;
    t->compared += st->compared;
    t->differ += st->differ;
    t->unexplained += st->unexplained;
    t->skip_double += st->skip_double;
    t->skip_rounding += st->skip_rounding;
    t->skip_perturbed += st->skip_perturbed;
    t->skip_subnormal += st->skip_subnormal;
    t->skip_hash += st->skip_hash;
    t->skip_nonfinite += st->skip_nonfinite;
    if (st->max_diff > t->max_diff) t->max_diff = st->max_diff;
    if (!random_program) return;
    uint64_t skipped = skipped_of(st);
    R->tot.programs_skipping += skipped > 0;
    R->tot.programs_all_skipped += st->channels > 0 && skipped == st->channels;
}

/* ------------------------------------------------------------------ runs */

static void run_random(runner *R) {
    uint64_t last = R->o.first + R->o.count;
    for (uint64_t i = R->o.first; i < last; i++) {
        if (R->o.max_failures > 0 && R->tot.failures >= (uint64_t)R->o.max_failures) {
            fprintf(stderr, "gen_run: stopping after %d failures\n", R->o.max_failures);
            break;
        }
        uint64_t seed = gen_seed_for(R->o.seed, i);
        gen_options o;
        gen_options_for_seed(seed, &o);
        double t0 = now();
        gen_program *gp = gen_program_generate(seed, &o);
        R->tot.t_gen += now() - t0;
        char what[128], reproduce[128];
        snprintf(what, sizeof what,
                 "program %" PRIu64 " of seed %" PRIu64 " (program seed %016" PRIx64 ")", i,
                 R->o.seed, seed);
        snprintf(reproduce, sizeof reproduce, "tests/gen/run --seed %" PRIu64 " --only %" PRIu64,
                 R->o.seed, i);
        snprintf(run_crash_label, sizeof run_crash_label, "%s", what);
        if (!gp) {
            fprintf(stderr, "gen_run: out of memory generating %s\n", what);
            R->tot.failures++;
            continue;
        }
        gen_coverage_add(&R->cov, gp);
        R->tot.programs++;
        if (R->o.print) fprintf(stderr, "=== %s\n%s", what, gp->source);
        check_stats st;
        failure fail;
        double started = now();
        bool passed = check_program(R, gp, (size_t)i, GEN_LIMIT_RUN_ALL, &st, &fail);
        if (R->o.verbose && now() - started > 1.0)
            fprintf(stderr, "program %" PRIu64 ": %.1f s (%u nodes, %zu bytes)\n", i,
                    now() - started, gp->node_count, gp->source_len);
        if (passed) {
            add_stats(R, &st, true);
            if (R->o.verbose && st.first_skip[0])
                fprintf(stderr,
                        "program %" PRIu64 ": %" PRIu64 " of %" PRIu64
                        " channels skipped; first %s\n",
                        i, skipped_of(&st), st.channels, st.first_skip);
        } else
            report_failure(R, gp, what, (size_t)i, GEN_LIMIT_RUN_ALL, &fail, reproduce);
        if (R->o.verbose && i % 100 == 99)
            fprintf(stderr, "gen_run: %" PRIu64 " programs, %" PRIu64 " failures\n",
                    i + 1 - R->o.first, R->tot.failures);
        gen_program_free(gp);
    }
}

/* --file: the checks that need no tree (no reference: every channel is compared). */
static void run_file(runner *R) {
    FILE *f = fopen(R->o.file, "rb");
    gen_program *gp = gen_program_new(0);
    char *src = malloc(SKY_MAX_SOURCE_BYTES + 2);
    size_t len = f && src ? fread(src, 1, SKY_MAX_SOURCE_BYTES + 1, f) : 0;
    if (!f || !gp || !src || ferror(f)) {
        fprintf(stderr, "gen_run: %s: cannot read: %s\n", R->o.file, strerror(errno));
        R->tot.failures++;
    } else {
        src[len] = 0;
        gp->source = src;
        gp->source_len = len;
        gp->opaque = true;
        src = NULL;
        R->tot.programs++;
        check_stats st;
        failure fail;
        if (check_program(R, gp, R->o.first, GEN_LIMIT_RUN_ALL, &st, &fail))
            add_stats(R, &st, true);
        else {
            R->tot.failures++;
            fprintf(stderr, "\nFAIL [%s] %s: %s\n", fail_names[fail.kind], R->o.file, fail.message);
        }
    }
    if (f) fclose(f);
    free(src);
    gen_program_free(gp);
}

/* Whether a compile that should fail did so with exactly the expected code. */
static bool expect_error(const gen_limit_case *c, failure *fail) {
    sky_program *prog = NULL;
    sky_diagnostics *diags = NULL;
    const gen_program *gp = c->program;
    sky_status st = sky_compile("limit.sky", gp->source, gp->source_len, NULL, &prog, &diags);
    bool ok = st == SKY_ERR_COMPILE && sky_diagnostics_error_count(diags) > 0;
    char *text = NULL;
    sky_diagnostics_render(diags, false, &text);
    for (size_t i = 0; ok && i < sky_diagnostics_count(diags); i++) {
        const sky_diag *d = sky_diagnostics_get(diags, i);
        if (d->severity == SKY_SEVERITY_ERROR &&
            (!d->code || strcmp(d->code, c->expected) != 0 || !d->message[0] ||
             (d->line == 0 && strcmp(c->expected, "E0501") != 0))) /* source size: the file */
            ok = false;
    }
    if (!ok)
        fail_set(fail, FK_LIMIT, "expected only error %s with a location, got %s:\n%s", c->expected,
                 sky_status_str(st), text ? text : "(no diagnostics)");
    else /* kept for --verbose */
        snprintf(fail->message, sizeof fail->message, "%s", text ? text : "");
    sky_free(text);
    sky_diagnostics_free(diags);
    sky_program_free(prog);
    return ok;
}

static void run_limits(runner *R) {
    gen_limit_case *cases = NULL;
    size_t count = 0;
    double t0 = now();
    if (!gen_limit_cases(R->o.seed, &cases, &count)) {
        fprintf(stderr, "gen_run: out of memory building the limit cases\n");
        R->tot.failures++;
        return;
    }
    size_t passed = 0;
    for (size_t i = 0; i < count; i++) {
        gen_limit_case *c = &cases[i];
        snprintf(run_crash_label, sizeof run_crash_label, "limit case `%s`", c->name);
        run_crash_source = c->program->source;
        failure fail;
        memset(&fail, 0, sizeof fail);
        check_stats st;
        bool ok;
        double started = now();
        if (c->nesting >= 0 && c->program->depth != c->nesting) {
            ok = false;
            fail_set(&fail, FK_GENERATE, "built to nest %d levels, printed with %d", c->nesting,
                     c->program->depth);
        } else if (c->expected) {
            ok = expect_error(c, &fail);
        } else {
            ok = check_program(R, c->program, i, c->run, &st, &fail);
            if (ok) add_stats(R, &st, false);
        }
        if (ok) {
            passed++;
            if (R->o.verbose) {
                fprintf(stderr,
                        "limit ok: %s (%zu bytes, nesting %d, %.1f s, %" PRIu64 " frames)\n",
                        c->name, c->program->source_len, c->program->depth, now() - started,
                        c->expected ? 0 : st.frames);
                if (c->expected) {
                    const char *nl = strchr(fail.message, '\n');
                    fprintf(stderr, "  %.*s\n", nl ? (int)(nl - fail.message) : 200, fail.message);
                }
            }
        } else {
            char what[160];
            snprintf(what, sizeof what, "limit case `%s` (nesting %d as printed)", c->name,
                     c->program->depth);
            if (fail.kind == FK_NONE) fail.kind = FK_LIMIT;
            report_failure(R, c->program, what, i, c->expected ? GEN_LIMIT_RUN_NONE : c->run, &fail,
                           "tests/gen/run --limits-only --verbose");
        }
        run_crash_source = NULL;
    }
    fprintf(stderr, "limits: %zu of %zu cases passed (%.1f s)\n", passed, count, now() - t0);
    gen_limit_cases_free(cases, count);
}

static double pct(uint64_t a, uint64_t b) {
    return b ? 100.0 * (double)a / (double)b : 0;
}

static void summary(const runner *R, double elapsed) {
    const run_totals *t = &R->tot;
    const check_stats *s = &t->s;
    uint64_t skipped = skipped_of(s);
    fprintf(stderr,
            "gen_run: seed %" PRIu64 ", programs %" PRIu64 "..%" PRIu64 ": %" PRIu64
            " programs checked, %" PRIu64 " failures\n",
            R->o.seed, R->o.first, R->o.first + R->o.count, t->programs, t->failures);
    fprintf(stderr,
            "  CPU -O0 = -O1 on %" PRIu64 " frames; %" PRIu64 " shaders through shaderc; %" PRIu64
            " device frames on %zu layouts\n",
            t->frames_cpu, t->spirv, t->frames_device, R->layout_count);
    fprintf(stderr,
            "  channels: %" PRIu64 "; compared with the device %" PRIu64 " (%" PRIu64
            " differ by 1/255 or more, largest %d/255)\n",
            s->channels, s->compared, s->differ, s->max_diff);
    fprintf(stderr,
            "  skipped as not tame: %" PRIu64 " (%.2f%%): %" PRIu64
            " hash of an inexact value or sin/cos/noise/fraction of a huge one, %" PRIu64
            " infinity or NaN on the way, %" PRIu64 " float emulation vs double, %" PRIu64
            " perturbed arithmetic, %" PRIu64 " CPU vs double, %" PRIu64 " subnormal\n",
            skipped, pct(skipped, s->channels), s->skip_hash, s->skip_nonfinite, s->skip_rounding,
            s->skip_perturbed, s->skip_double, s->skip_subnormal);
    fprintf(stderr,
            "  programs with skipped channels: %" PRIu64 " (%.1f%%), with every channel skipped: "
            "%" PRIu64 " (%.1f%%)\n",
            t->programs_skipping, pct(t->programs_skipping, t->programs), t->programs_all_skipped,
            pct(t->programs_all_skipped, t->programs));
    fprintf(stderr,
            "  channels where CPU and reference disagree beyond rounding, in passing programs: "
            "%" PRIu64 " (any one fails its program)\n",
            s->unexplained);
    fprintf(stderr,
            "  time %.1f s: generate %.1f, compile %.1f, CPU %.1f, SPIR-V %.1f, device %.1f, "
            "reference %.1f; slowest shaderc call %.2f s, slowest device frame %.2f s\n",
            elapsed, t->t_gen, t->t_compile, t->t_cpu, t->t_spirv, t->t_device, t->t_ref,
            t->slowest_spirv, t->slowest_frame);
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: gen_run [--count N] [--seed S] [--first I | --only I] [--print] [--verbose]\n"
            "               [--no-device] [--no-limits | --limits-only] [--shrink-tries N]\n"
            "               [--max-failures N] [--require-coverage] [--file F.sky [--first L]]\n"
            "Generates N random .sky programs from seed S and checks each: compiles at -O0 and\n"
            "-O1, CPU -O0 = -O1 bit for bit, GLSL accepted by shaderc, device = CPU within\n"
            "2/255 on tame channels, CPU = double-precision reference; then the limit cases.\n");
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || !end || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, run_options *o) {
    *o = (run_options){.seed = 1, .count = 200, .shrink_tries = 300, .max_failures = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v = 0;
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--count") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->count = v;
        } else if (strcmp(a, "--seed") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->seed = v;
        } else if (strcmp(a, "--first") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->first = v;
        } else if (strcmp(a, "--only") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->first = v;
            o->count = 1;
            o->no_limits = true;
        } else if (strcmp(a, "--shrink-tries") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->shrink_tries = v > 100000 ? 100000 : (int)v;
        } else if (strcmp(a, "--max-failures") == 0 && has_value && parse_u64(argv[++i], &v)) {
            o->max_failures = v > 100000 ? 100000 : (int)v;
        } else if (strcmp(a, "--file") == 0 && has_value) {
            o->file = argv[++i];
            o->no_limits = true;
        } else if (strcmp(a, "--print") == 0) {
            o->print = true;
        } else if (strcmp(a, "--verbose") == 0) {
            o->verbose++;
        } else if (strcmp(a, "--no-device") == 0) {
            o->no_device = true;
        } else if (strcmp(a, "--no-limits") == 0) {
            o->no_limits = true;
        } else if (strcmp(a, "--limits-only") == 0) {
            o->limits_only = true;
        } else if (strcmp(a, "--require-coverage") == 0) {
            o->require_coverage = true;
        } else {
            fprintf(stderr, "gen_run: bad argument `%s`%s\n", a,
                    has_value || a[0] != '-' ? "" : " (missing its value?)");
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

int main(int argc, char **argv) {
    static runner R; /* large; zero-initialised */
    int parsed = parse_args(argc, argv, &R.o);
    if (parsed >= 0) return parsed;
    setvbuf(stderr, NULL, _IOLBF, 0);
    run_install_crash_report();
    double t0 = now();
    if (!setup(&R)) {
        teardown(&R);
        return 1;
    }
    fprintf(stderr, "gen_run: seed %" PRIu64 ", %" PRIu64 " programs from %" PRIu64 "%s%s\n",
            R.o.seed, R.o.limits_only ? 0 : R.o.count, R.o.first,
            R.o.no_device ? ", no device" : "", R.o.no_limits ? ", no limit cases" : "");
    if (R.o.file)
        run_file(&R);
    else if (!R.o.limits_only)
        run_random(&R);
    if (!R.o.no_limits) run_limits(&R);
    summary(&R, now() - t0);
    size_t missing = R.o.limits_only ? 0 : gen_coverage_report(&R.cov, stderr, R.o.verbose);
    int status = R.tot.failures ? 1 : 0;
    char cap_message[512];
    if (!gen_skip_shares_ok(R.tot.programs, R.tot.programs_all_skipped, R.tot.s.channels,
                            skipped_of(&R.tot.s), cap_message, sizeof cap_message)) {
        fprintf(stderr, "gen_run: FAIL: %s\n", cap_message);
        status = 1;
    }
    if (R.o.require_coverage && missing) {
        fprintf(stderr, "gen_run: %zu built-ins, operators, inputs or features never generated\n",
                missing);
        status = 1;
    }
    teardown(&R);
    return status;
}

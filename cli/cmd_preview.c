/*
 * cmd_preview.c - `sky preview FILE`: see a pattern without LEDs.
 *
 *   -o OUT.png   one moment (--time T, default 1.0 s: many patterns are
 *                still black or uniform at t = 0)
 *   -o OUT.gif   an animation of --duration seconds: frames computed at
 *                t = k / fps, every n-th written (see "GIF rate" below)
 *   -o OUT.mp4   a video of --duration seconds, every frame at --fps
 *   -o OUT.webm  (H.264 in MP4, VP9 in WebM, through libavcodec:
 *                preview_video.c); far smaller than a GIF
 *   --term       live in a truecolor terminal, until --duration or Ctrl-C
 *
 * Frames are rendered through the same Vulkan runtime as `sky run`, with no
 * frame writer (the runtime renders into host memory), or with --cpu by the
 * compiler's reference evaluator. Each frame's LED colours are drawn as soft
 * dots (preview_image.c).
 *
 * Patterns whose colours depend on history -- those that read `prev`, or
 * `frame` (which counts frames rendered, so it only has a meaning at a given
 * frame rate) -- are rendered frame by frame from t = 0 at --fps up to the
 * requested moment, exactly as `sky run` at that frame rate would have shown
 * them, so that trails and frame-counted effects look right. Other patterns
 * are rendered at the requested time directly. --fps defaults to `sky run`'s
 * 60: a `prev * 0.9` trail computed at 25 fps would fade 2.4 times slower
 * than the show.
 *
 * GIF rate: a GIF's frame delay is whole centiseconds and viewers slow
 * delays under 2 cs, so a 60 fps GIF cannot play as such. Every frame is
 * computed at --fps, and every n-th one is written, n the smallest that
 * brings the GIF to at most 50 fps (60 -> every 2nd, 30 fps).
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "preview_video.h"
#include "frame_source.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/runtime.h"

#define PREVIEW_CMD          "sky preview"
#define PREVIEW_PNG_MAX_AUTO 1024u /* automatic sizes stay below these */
#define PREVIEW_GIF_MAX_AUTO 512u
#define PREVIEW_MAX_FRAMES   100000u
#define PREVIEW_MAX_GIF_MEM  ((size_t)1 << 30) /* LED colours kept for the GIF's two passes */
#define PREVIEW_SHOW_FPS     60.0              /* `sky run`'s default rate */
#define PREVIEW_GIF_MAX_FPS  50.0              /* 2 cs delays: viewers slow anything shorter */

typedef enum preview_kind { PREVIEW_PNG, PREVIEW_GIF, PREVIEW_VIDEO, PREVIEW_TERM } preview_kind;

typedef struct preview_options {
    live_common common;
    const char *file, *out;
    preview_kind kind;
    double time, duration, fps;
    bool duration_set;
    uint64_t size; /* 0: automatic */
    bool cpu;
    preview_view view; /* --view: a camera for 3-D layouts */
} preview_options;

static void preview_usage(FILE *out) {
    fprintf(out,
            "usage: sky preview FILE -o OUT.png|OUT.gif|OUT.mp4|OUT.webm [options]\n"
            "       sky preview FILE --term [options]\n"
            "Renders FILE to a picture of the LEDs (soft dots on a dark background).\n\n"
            "  -o, --output OUT  a PNG of one moment, or an animated GIF when OUT ends in .gif,\n"
            "                    or a video (H.264 / VP9) when it ends in .mp4 or .webm\n"
            "  --term            show it live in a truecolor terminal (until Ctrl-C)\n"
            "  --time T          the moment for a PNG, in seconds (default 1.0)\n"
            "  --duration S      GIF or video length (default 3) or --term run time (default:\n"
            "                    forever); a video has every frame at --fps\n"
            "  --fps N           the show's frame rate (default 60, as `sky run`): frames are\n"
            "                    computed at t = k / N, so prev, dt and frame behave as in the\n"
            "                    show; patterns that use prev or frame run from t = 0;\n"
            "                    --rate N is the same\n"
            "  --size PX         the image's longer side (default: from the LED spacing)\n"
            "  --view AZ,EL      see a 3-D layout from a camera AZ degrees around the vertical\n"
            "                    z axis (0: from the front, -y) and EL degrees up (90: from\n"
            "                    above, the default picture); near dots are bigger\n"
            "  --cpu             render with the CPU reference evaluator instead of Vulkan\n"
            "  --layout SPEC     LED layout (default %s)\n"
            "  --set NAME=VALUE  set a param (repeatable; vectors as a,b,c)\n"
            "  --audio FILE      what audio.* hears: a WAV/FLAC file; frame k analyses it up to\n"
            "                    t = k / fps, so the preview is the same every time\n"
            "  --device N|NAME   Vulkan device by index or name, or `cpu` for the CPU backend\n"
            "                    (see `sky devices`)\n\n"
            "  --validate        run under the Vulkan validation layer (slow); exit status 2\n"
            "                    when it reports anything\n\n"
            "A GIF keeps every n-th computed frame, n the smallest that makes it at most\n"
            "50 fps (60 fps: every 2nd, a 30 fps GIF), because GIF delays are whole\n"
            "centiseconds and viewers slow frames under 2 cs; delays are rounded so the\n"
            "total length is exact.\n",
            SKY_LAYOUT_DEFAULT);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

enum {
    PREVIEW_OPT_TIME = LIVE_OPT_NEXT,
    PREVIEW_OPT_DURATION,
    PREVIEW_OPT_FPS,
    PREVIEW_OPT_SIZE,
    PREVIEW_OPT_TERM,
    PREVIEW_OPT_CPU,
    PREVIEW_OPT_VALIDATE,
    PREVIEW_OPT_VIEW
};

static const struct option preview_long_options[] = {
    LIVE_COMMON_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    {"time", required_argument, NULL, PREVIEW_OPT_TIME},
    {"duration", required_argument, NULL, PREVIEW_OPT_DURATION},
    {"fps", required_argument, NULL, PREVIEW_OPT_FPS},
    {"rate", required_argument, NULL, PREVIEW_OPT_FPS}, /* sky-driver's name for the same */
    {"size", required_argument, NULL, PREVIEW_OPT_SIZE},
    {"term", no_argument, NULL, PREVIEW_OPT_TERM},
    {"view", required_argument, NULL, PREVIEW_OPT_VIEW},
    {"cpu", no_argument, NULL, PREVIEW_OPT_CPU},
    {"validate", no_argument, NULL, PREVIEW_OPT_VALIDATE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* One option's value into o: false after printing why it is wrong. */
static bool preview_take_option(preview_options *o, int opt, bool *term) {
    int got = live_common_option(&o->common, opt, optarg);
    if (got != 0) return got > 0;
    switch (opt) {
    case 'o':
        o->out = optarg;
        return true;
    case PREVIEW_OPT_TIME:
        return live_parse_double(PREVIEW_CMD, "--time", optarg, 0, 1e6, &o->time);
    case PREVIEW_OPT_DURATION:
        o->duration_set = true;
        return live_parse_double(PREVIEW_CMD, "--duration", optarg, 0, 1e6, &o->duration);
    case PREVIEW_OPT_FPS:
        return live_parse_double(PREVIEW_CMD, "--fps", optarg, 0.1, 1000, &o->fps);
    case PREVIEW_OPT_SIZE:
        return live_parse_u64(PREVIEW_CMD, "--size", optarg, 8, 16384, &o->size);
    case PREVIEW_OPT_TERM:
        *term = true;
        return true;
    case PREVIEW_OPT_CPU:
        o->cpu = true;
        return true;
    case PREVIEW_OPT_VALIDATE:
        return cli_validation_enable(PREVIEW_CMD);
    case PREVIEW_OPT_VIEW:
        return preview_view_parse(PREVIEW_CMD, optarg, &o->view);
    default:
        return false; /* cli_getopt printed the error */
    }
}

static int preview_parse(preview_options *o, int argc, char **argv) {
    live_common_init(&o->common, PREVIEW_CMD);
    o->time = 1.0;
    o->duration = 3.0;
    o->fps = PREVIEW_SHOW_FPS;
    bool term = false;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(PREVIEW_CMD, argc, argv, "ho:", preview_long_options)) != -1) {
        if (opt == 'h') {
            preview_usage(stdout);
            return 0;
        }
        if (!preview_take_option(o, opt, &term)) return 2;
    }
    for (int i = optind; i < argc; i++) {
        if (o->file) {
            fprintf(stderr, "%s: one pattern file at a time (got `%s` and `%s`)\n", PREVIEW_CMD,
                    o->file, argv[i]);
            return 2;
        }
        o->file = argv[i];
    }
    if (!o->file) {
        fprintf(stderr, "%s: which pattern? (usage: sky preview FILE -o OUT.png|OUT.gif)\n",
                PREVIEW_CMD);
        return 2;
    }
    if (term == (o->out != NULL)) {
        fprintf(stderr, "%s: give either -o OUT.png|OUT.gif|OUT.mp4|OUT.webm or --term\n",
                PREVIEW_CMD);
        return 2;
    }
    o->kind = term                         ? PREVIEW_TERM
              : ends_with(o->out, ".gif")  ? PREVIEW_GIF
              : preview_video_path(o->out) ? PREVIEW_VIDEO
                                           : PREVIEW_PNG;
    if (o->kind == PREVIEW_PNG && !ends_with(o->out, ".png")) {
        fprintf(stderr, "%s: %s: the output must end in .png, .gif, .mp4 or .webm\n", PREVIEW_CMD,
                o->out);
        return 2;
    }
    return -1;
}

/* ---------------------------------------------------------------- rendering */

/* True when a moment cannot be rendered alone: the colours depend on earlier frames. */
static bool needs_history(const sky_program *program) {
    return sky_program_uses_prev(program) || (sky_program_inputs(program) & SKY_INPUT_FRAME);
}

/* --------------------------------------------------------------- the outputs */

static int preview_png(const preview_options *o, const sky_layout *layout, frame_source *r) {
    const uint8_t *bytes = NULL;
    if (needs_history(r->program)) {
        /* Frames k = 0 .. K-1 at k / fps, then the moment itself (frame K). */
        uint64_t frames = (uint64_t)floor(o->time * o->fps + 1e-9);
        if (frames > PREVIEW_MAX_FRAMES) {
            fprintf(stderr, "%s: --time %g at %g fps needs %llu frames from t = 0 (at most %u)\n",
                    PREVIEW_CMD, o->time, o->fps, (unsigned long long)frames, PREVIEW_MAX_FRAMES);
            return 2;
        }
        double last = 0;
        for (uint64_t k = 0; k < frames; k++) {
            double t = (double)k / o->fps;
            if (!(bytes = frame_source_next(r, t, k ? t - last : 0))) return 2;
            last = t;
        }
        if (!(bytes = frame_source_next(r, o->time, frames ? o->time - last : 0))) return 2;
    } else if (!(bytes = frame_source_next(r, o->time, o->time > 0 ? 1.0 / o->fps : 0))) {
        return 2;
    }
    preview_geometry *g = NULL;
    preview_canvas *canvas = NULL;
    uint8_t *image = NULL;
    int code = 2;
    if (!preview_geometry_for(PREVIEW_CMD, layout, &o->view, (uint32_t)o->size,
                              PREVIEW_PNG_MAX_AUTO, 0, 0, &g) ||
        !preview_canvas_create(PREVIEW_CMD, g, &canvas))
        goto done;
    if (!(image = malloc((size_t)g->width * g->height * 3))) {
        fprintf(stderr, "%s: out of memory for a %ux%u image\n", PREVIEW_CMD, g->width, g->height);
        goto done;
    }
    preview_canvas_draw(canvas, bytes, image);
    if (!preview_png_write(PREVIEW_CMD, o->out, g->width, g->height, image)) goto done;
    fprintf(stderr, "%s: wrote %s (%ux%u, t = %g s)\n", PREVIEW_CMD, o->out, g->width, g->height,
            o->time);
    code = 0;
done:
    free(image);
    preview_canvas_free(canvas);
    preview_geometry_free(g);
    return code;
}

/* Keep every n-th computed frame: the smallest n that brings the GIF to at most 50 fps. */
static uint64_t gif_frame_step(double fps) {
    double n = ceil(fps / PREVIEW_GIF_MAX_FPS - 1e-9);
    return n < 1 ? 1 : (uint64_t)n;
}

static int preview_gif_run(const preview_options *o, const sky_layout *layout, frame_source *r) {
    double want = o->duration * o->fps;
    uint64_t computed = want < 1 ? 1 : (uint64_t)llround(want);
    uint64_t step = gif_frame_step(o->fps);
    uint64_t frames = (computed + step - 1) / step; /* computed frames 0, step, 2 step, ... */
    double gif_fps = o->fps / (double)step;
    size_t frame_bytes = (size_t)layout->led_count * 3;
    if (computed > PREVIEW_MAX_FRAMES || frames > PREVIEW_MAX_GIF_MEM / frame_bytes) {
        fprintf(stderr, "%s: %g s at %g fps is %llu frames; too many for a GIF of %u LEDs\n",
                PREVIEW_CMD, o->duration, o->fps, (unsigned long long)computed, layout->led_count);
        return 2;
    }
    uint8_t *leds = malloc((size_t)frames * frame_bytes);
    preview_geometry *g = NULL;
    preview_canvas *canvas = NULL;
    preview_gif *gif = NULL;
    uint8_t *image = NULL;
    int code = 2;
    if (!leds) {
        fprintf(stderr, "%s: out of memory for %llu frames\n", PREVIEW_CMD,
                (unsigned long long)frames);
        goto done;
    }
    /* Every frame from t = 0, consecutively at the show's rate, so that prev and frame are right.
     */
    for (uint64_t k = 0; k < computed; k++) {
        const uint8_t *bytes = NULL;
        if (!(bytes = frame_source_next(r, (double)k / o->fps, k ? 1.0 / o->fps : 0))) goto done;
        if (k % step == 0) memcpy(leds + (k / step) * frame_bytes, bytes, frame_bytes);
    }
    if (!preview_geometry_for(PREVIEW_CMD, layout, &o->view, (uint32_t)o->size,
                              PREVIEW_GIF_MAX_AUTO, 0, 0, &g) ||
        !preview_canvas_create(PREVIEW_CMD, g, &canvas) ||
        !preview_gif_create(PREVIEW_CMD, g->width, g->height, (uint32_t)frames, &gif))
        goto done;
    if (!(image = malloc((size_t)g->width * g->height * 3))) {
        fprintf(stderr, "%s: out of memory for a %ux%u image\n", PREVIEW_CMD, g->width, g->height);
        goto done;
    }
    /* Pass 1 picks one palette for the whole animation; pass 2 encodes. */
    for (uint64_t k = 0; k < frames; k++) {
        preview_canvas_draw(canvas, leds + k * frame_bytes, image);
        preview_gif_sample(gif, image);
    }
    if (!preview_gif_open(gif, o->out, gif_fps)) goto done;
    for (uint64_t k = 0; k < frames; k++) {
        preview_canvas_draw(canvas, leds + k * frame_bytes, image);
        if (!preview_gif_add(gif, image)) goto done;
    }
    if (!preview_gif_close(gif)) goto done;
    fprintf(stderr, "%s: wrote %s (%ux%u, %llu frames at %g fps, computed at %g fps)\n",
            PREVIEW_CMD, o->out, g->width, g->height, (unsigned long long)frames, gif_fps, o->fps);
    code = 0;
done:
    free(leds);
    free(image);
    preview_gif_free(gif);
    preview_canvas_free(canvas);
    preview_geometry_free(g);
    return code;
}

/* Every frame from t = 0 at --fps, drawn and encoded as it comes: nothing is kept. */
static int preview_video_run(const preview_options *o, const sky_layout *layout, frame_source *r) {
    double want = o->duration * o->fps;
    uint64_t frames = want < 1 ? 1 : (uint64_t)llround(want);
    if (frames > PREVIEW_MAX_FRAMES) {
        fprintf(stderr, "%s: %g s at %g fps is %llu frames (at most %u)\n", PREVIEW_CMD,
                o->duration, o->fps, (unsigned long long)frames, PREVIEW_MAX_FRAMES);
        return 2;
    }
    preview_geometry *g = NULL;
    preview_canvas *canvas = NULL;
    preview_video *video = NULL;
    uint8_t *image = NULL;
    int code = 2;
    if (!preview_geometry_for(PREVIEW_CMD, layout, &o->view, (uint32_t)o->size,
                              PREVIEW_GIF_MAX_AUTO, 0, 0, &g) ||
        !preview_canvas_create(PREVIEW_CMD, g, &canvas))
        goto done;
    if (!(image = malloc((size_t)g->width * g->height * 3))) {
        fprintf(stderr, "%s: out of memory for a %ux%u image\n", PREVIEW_CMD, g->width, g->height);
        goto done;
    }
    if (!preview_video_open(PREVIEW_CMD, o->out, g->width, g->height, o->fps, &video)) goto done;
    for (uint64_t k = 0; k < frames; k++) {
        const uint8_t *bytes = NULL;
        if (live_signals_stopped() ||
            !(bytes = frame_source_next(r, (double)k / o->fps, k ? 1.0 / o->fps : 0)))
            goto done;
        preview_canvas_draw(canvas, bytes, image);
        if (!preview_video_add(video, image)) goto done;
    }
    if (!preview_video_close(video)) goto done;
    fprintf(stderr, "%s: wrote %s (%ux%u, %llu frames at %g fps)\n", PREVIEW_CMD, o->out,
            (g->width + 1) & ~1u, (g->height + 1) & ~1u, (unsigned long long)frames, o->fps);
    code = 0;
done:
    preview_video_free(video);
    free(image);
    preview_canvas_free(canvas);
    preview_geometry_free(g);
    return code;
}

static int preview_term(const preview_options *o, const sky_layout *layout, frame_source *r) {
    uint32_t cols, rows;
    preview_term_size(&cols, &rows);
    preview_geometry *g = NULL;
    preview_canvas *canvas = NULL;
    uint8_t *image = NULL;
    int code = 2;
    if (!preview_geometry_for(PREVIEW_CMD, layout, &o->view, 0, 0, cols, rows * 2, &g) ||
        !preview_canvas_create(PREVIEW_CMD, g, &canvas))
        goto done;
    if (!(image = malloc((size_t)g->width * g->height * 3))) {
        fprintf(stderr, "%s: out of memory\n", PREVIEW_CMD);
        goto done;
    }
    /* Frames on absolute deadlines, t = k / fps, as `sky run` paces them. */
    double period_ns = 1e9 / o->fps;
    uint64_t start = sky_frame_now_ns();
    code = 0;
    for (uint64_t k = 0; !live_signals_stopped(); k++) {
        double t = (double)k / o->fps;
        if (o->duration_set && t >= o->duration) break;
        const uint8_t *bytes = NULL;
        if (!(bytes = frame_source_next(r, t, k ? 1.0 / o->fps : 0))) {
            code = 2;
            break;
        }
        preview_canvas_draw(canvas, bytes, image);
        if (!preview_term_draw(PREVIEW_CMD, stdout, g->width, g->height, image, k == 0)) {
            code = 2;
            break;
        }
        live_signals_sleep_until(start + (uint64_t)llround((double)(k + 1) * period_ns));
    }
    preview_term_finish(stdout, g->height);
done:
    free(image);
    preview_canvas_free(canvas);
    preview_geometry_free(g);
    return code;
}

/* --------------------------------------------------------------- the command */

int cmd_preview(int argc, char **argv) {
    preview_options o;
    memset(&o, 0, sizeof o);
    int code = preview_parse(&o, argc, argv);
    if (code >= 0) {
        live_common_free(&o.common);
        return code;
    }
    /* --term stops at SIGINT/SIGTERM and exits 0; an image left unwritten exits 128 + signal. */
    if (!live_signals_start(PREVIEW_CMD, o.kind == PREVIEW_TERM)) {
        live_common_free(&o.common);
        return 2;
    }
    frame_pattern p;
    code = frame_pattern_open(&p, PREVIEW_CMD, &o.common, o.cpu, o.file);
    if (code == 0) {
        switch (o.kind) {
        case PREVIEW_PNG:
            code = preview_png(&o, p.layout, &p.source);
            break;
        case PREVIEW_GIF:
            code = preview_gif_run(&o, p.layout, &p.source);
            break;
        case PREVIEW_VIDEO:
            code = preview_video_run(&o, p.layout, &p.source);
            break;
        case PREVIEW_TERM:
            code = preview_term(&o, p.layout, &p.source);
            break;
        }
    }
    frame_pattern_close(&p);
    live_common_free(&o.common);
    if (o.kind != PREVIEW_TERM && live_signals_stopped()) code = 128 + live_signals_stopped();
    live_signals_finish();
    if (cli_validation_summary(PREVIEW_CMD) && code == 0) code = 2;
    return code;
}

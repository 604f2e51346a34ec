/*
 * show.h - what the commands that render a show (`sky run`, `sky preview`) share.
 *
 * Both commands compile a pattern, build a layout, apply --set values and
 * render frames through the Vulkan runtime (or, for `preview --cpu`, the CPU
 * reference evaluator). The pieces they share live here, one file per concern:
 *   options.c        option parsing, numbers, --set and parameters, compiling,
 *                    the layout and the frame file (`sky play` uses these too)
 *   watch.c          the --watch file watcher (inotify, background thread)
 *   preview_image.c  LED colours -> soft-dot images, PNG, GIF, terminal drawing
 * Functions that fail print a message prefixed with the command's name to
 * stderr and return false (or a status), so callers only map to exit codes.
 */
#ifndef SKY_CLI_SHOW_H
#define SKY_CLI_SHOW_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sky/layout.h"
#include "sky/pictures.h"
#include "sky/runtime.h"
#include "sky/sky.h"

/* ------------------------------------------------------------ options.c */

/* Options common to run and preview. */
typedef struct live_common {
    const char *cmd;         /* "sky run" or "sky preview", for messages */
    const char *layout_spec; /* --layout, default SKY_LAYOUT_DEFAULT */
    const char *device;      /* --device N|NAME, NULL for the runtime's default */
    const char **sets;       /* --set NAME=VALUE strings, in order */
    const char *audio_spec;  /* --audio default|DEVICE|FILE, NULL for none (live_audio.h) */
    size_t set_count;
    size_t set_cap;
} live_common;

void live_common_init(live_common *common, const char *cmd);
void live_common_free(live_common *common);

/*
 * The options of live_common, for a command's getopt_long table (values from
 * LIVE_OPT_LAYOUT on; a command numbers its own long-only options from
 * LIVE_OPT_NEXT).
 */
enum { LIVE_OPT_LAYOUT = 256, LIVE_OPT_DEVICE, LIVE_OPT_SET, LIVE_OPT_AUDIO, LIVE_OPT_NEXT };
#define LIVE_COMMON_OPTIONS                                     \
    {"layout", required_argument, NULL, LIVE_OPT_LAYOUT},       \
        {"device", required_argument, NULL, LIVE_OPT_DEVICE},   \
        {"audio", required_argument, NULL, LIVE_OPT_AUDIO}, {   \
        "set", required_argument, NULL, LIVE_OPT_SET            \
    }
/* Takes an option that cli_getopt returned: 1 one of LIVE_COMMON_OPTIONS, 0 not ours, -1 error. */
int live_common_option(live_common *common, int opt, const char *value);

/* Strict number parsing: the whole string, finite, within [min, max]; messages name `what`. */
bool live_parse_double(const char *cmd, const char *what, const char *text, double min, double max,
                       double *out);
bool live_parse_u64(const char *cmd, const char *what, const char *text, uint64_t min, uint64_t max,
                    uint64_t *out);

/*
 * Reads and compiles `path`. Diagnostics (warnings included) are rendered to
 * stderr, coloured when cli_use_color(). Returns 0 with *program set, 1 when
 * the source has errors, 2 when the file cannot be read or the compiler failed.
 */
int live_compile_file(const char *cmd, const char *path, sky_program **program);
/* The same for a source already in memory (the watcher's reloads). */
int live_compile_source(const char *cmd, const char *path, const char *source, size_t len,
                        sky_program **program);
/*
 * What the two print after sky_compile (also live_compile_json): the diagnostics, then, when
 * `status` is not SKY_OK, why there is no program. Returns 0 (SKY_OK), 1 (SKY_ERR_COMPILE:
 * the source has errors) or 2 (the compiler failed).
 */
int live_compile_report(const char *cmd, sky_status status, const sky_diagnostics *diagnostics);

/*
 * Writes the program's defaults into params (sky_program_param_slots values)
 * and applies each NAME=VALUE of `sets`: vector params take a,b[,c]; float
 * params with a range are clamped to it, with a note. An unknown name is an
 * error with a did-you-mean hint when `strict`, a note otherwise (a reloaded
 * pattern may have dropped a param). Returns false after printing an error.
 */
bool live_params_apply(const char *cmd, const sky_program *program, const char *const *sets,
                       size_t set_count, bool strict, double *params);

/*
 * The doc comment of each of the program's params in its source: the `#`
 * comment that ends the param's line, else the comment lines right above the
 * declaration (joined with spaces) unless they start at the file's first
 * line (the file's header comment); "" when there is none. Returns
 * sky_program_param_count strings (free with live_param_docs_free), or NULL
 * when out of memory.
 */
char **live_param_docs(const sky_program *program, const char *source, size_t len);
void live_param_docs_free(char **docs, size_t count);
/* JSON numbers as people write them: 15 significant digits (0.03, not 0.029999999999999999). */
void live_json_number_format(void);

/* The closest of `names` to `word` by edit distance, or NULL when none is close. */
const char *live_did_you_mean(const char *word, const char *const *names, size_t count);

/* Builds the layout, printing the layout module's message on failure. */
bool live_layout_create(const char *cmd, const char *spec, sky_layout **layout);
/* A view of a layout for the compiler's evaluator. */
sky_layout_view live_layout_view(const sky_layout *layout);
/*
 * Creates the frame file at `path` (NULL: the default) for `layout`: its LEDs, strips,
 * positions and name, `fps` as the nominal rate (0: unpaced) and `slots` (0: the
 * default). `sky run` and `sky play` both publish through it. False after printing.
 */
bool live_frame_writer_create(const char *cmd, const sky_layout *layout, const char *path,
                              double fps, uint64_t slots, sky_frame_writer **writer);

/* pictures_cli.c: a pattern's picture inputs, relative to the .sky file `path`; a pattern
 * without pictures gets NULL. False (the error in `message`, and printed with `cmd`) when
 * one cannot be opened. */
bool live_pictures_open(const char *cmd, const char *path, const sky_program *program,
                        const sky_layout *layout, sky_pictures **pictures, char *message,
                        size_t message_len);
/* Words of picture block a runtime for this layout needs (sky_runtime_options.picture_words). */
size_t live_pictures_capacity(const sky_program *program, const sky_layout *layout);

/* ------------------------------------------------------------- watch.c */

typedef struct live_watch live_watch;

/*
 * Called on the watcher's thread with the file's new contents (only when they
 * changed). The callback owns nothing: `source` is valid during the call.
 * `cancel_fd` becomes readable when live_watch_stop is called: a callback
 * that waits for long must poll it too.
 */
typedef void (*live_watch_fn)(void *context, const char *source, size_t len, int cancel_fd);

/*
 * Starts watching `path` (its directory, through inotify, so that editors that
 * replace the file by rename are seen) on a background thread. `initial` is
 * the contents already compiled, so that touching the file without changing
 * it does not reload. Without `follow_changes` the file is read only when
 * live_watch_reload_now asks. Returns false after printing an error.
 */
bool live_watch_start(const char *cmd, const char *path, const char *initial, size_t initial_len,
                      bool follow_changes, live_watch_fn on_change, void *context,
                      live_watch **watch);
/* Makes the watcher read the file and call back even if it did not change (SIGHUP). */
void live_watch_reload_now(live_watch *watch);
/* Stops the thread and frees everything. NULL is a no-op. */
void live_watch_stop(live_watch *watch);

/* ------------------------------------------------------------- build.c */

typedef enum live_build_result {
    LIVE_BUILD_OK = 0,
    LIVE_BUILD_FAILED,    /* the message is printed */
    LIVE_BUILD_TIMEOUT,   /* over the time budget: the child was killed (printed) */
    LIVE_BUILD_CANCELLED, /* a cancel descriptor became readable: the child was killed */
} live_build_result;

/*
 * The shader builder of one show: builds shaders for one device, emit variant
 * and LED count, in a child process that it starts at once (so that the child
 * warms up while the show starts) and keeps between builds (so that a reload
 * does not pay for starting shaderc and the device again); a child that
 * failed a build, or was killed, is replaced by a fresh one. Thread-safe:
 * builds asked for from several threads (the watcher, the control API) run
 * one at a time. live_builder_create returns false after printing when the
 * child cannot be started; it sets SIGPIPE to be ignored (a child that died
 * makes writes to it fail instead).
 */
typedef struct live_builder live_builder;
bool live_builder_create(const char *cmd, const char *device, const sky_emit_options *emit,
                         uint32_t led_count, live_builder **builder);
void live_builder_free(live_builder *builder);

/*
 * Builds `source` (which compiles without errors) in the builder's child
 * process under the time and memory budget: SPIR-V for the builder's emit
 * options, the pipeline, and two frames on the builder's device (for its LED
 * count): the first so that the driver has compiled it, the second held
 * against the frame budget. On LIVE_BUILD_OK *words (free with free) holds
 * the SPIR-V, and a line with what each step took is printed. Otherwise
 * `message` says why (it is also printed). Returns early, killing the child,
 * when one of `cancel_fds` (at most 4) becomes readable.
 */
live_build_result live_build(live_builder *builder, const char *source, size_t len,
                             const int *cancel_fds, size_t cancel_count, uint32_t **words,
                             size_t *word_count, char *message, size_t message_len);
/* The budget: seconds and MiB of address space ($SKY_BUILD_TIME_BUDGET, $SKY_BUILD_MEMORY_BUDGET).
 */
void live_build_budget(unsigned *seconds, unsigned *mebibytes);
/* `sky run --build-child DEVICE TEXELS MIB LEDS`: the child's side, serving builds over its stdin
 * and stdout until its stdin ends (build.c has the protocol). */
int live_build_child_main(const char *cmd, int argc, char **argv);

/* ------------------------------------------------------------- show.c */

/*
 * The live show of `sky run` (control.h declares its live_show_* controls).
 * The render loop calls live_show_render once per frame; every change made
 * from another thread (a save, SIGHUP, the control API, the playlist) is
 * taken there, at a frame boundary.
 */
typedef struct live_show_config {
    const char *cmd;
    sky_runtime *runtime;    /* the caller's; outlives the show */
    live_builder *builder;   /* the caller's; outlives the show */
    const char *const *sets; /* --set NAME=VALUE, applied to every pattern loaded */
    size_t set_count;
    const char *const *playlist; /* the pattern files, at least one; the first runs first */
    size_t playlist_count;
    double fps_target;
    double each_s;      /* seconds per playlist entry; 0: the playlist does not advance */
    double crossfade_s; /* seconds of cross-fade between patterns; 0: a cut */
    double brightness;  /* initial master dimmer, in [0, 1] */
    bool file_watched;  /* a watcher follows the file (--watch or --control): it loads saves */
    const sky_layout *layout; /* the LEDs, for patterns' picture inputs (NULL: no pictures) */
    size_t picture_words;     /* what the runtime was created to hold (picture_words) */
} live_show_config;

typedef struct live_show live_show;

/*
 * live_compile_source that also returns the diagnostics as the control API
 * shows them: a JSON array of {"severity", "code", "message", "line",
 * "column", "help"} (free with json_object_put; NULL when out of memory),
 * and the number of errors in *error_count when it is not NULL.
 */
int live_compile_json(const char *cmd, const char *path, const char *source, size_t len,
                      sky_program **program, json_object **diagnostics, size_t *error_count);

bool live_show_create(const live_show_config *config, live_show **show);
/* The picture inputs' counters of the running pattern, plus the incoming one's during a fade;
 * false when neither has pictures. Render thread only. */
bool live_show_picture_stats(live_show *show, sky_pictures_stats *stats);
/* Stops the playlist and any load in flight (live_show_stop), then frees. NULL is a no-op. */
void live_show_free(live_show *show);

/*
 * Starts the show with `program` (taken; NULL when the source did not
 * compile), its `params` and its compile's `diagnostics` (both taken; the
 * diagnostics go into the state): builds its shader in the child under
 * the budget and sets it on the runtime. When it cannot be shown and
 * `black_on_failure`, the show starts black (and 0 is returned); otherwise
 * returns the exit code (1 pattern errors, 2 other failures), 0 on success.
 */
int live_show_first(live_show *show, const char *path, const char *source, size_t len,
                    sky_program *program, double *params, json_object *diagnostics,
                    bool black_on_failure);

/*
 * A save of `path` (or SIGHUP), on the watcher's thread: compiles, builds and
 * posts the new pattern, without waiting for the switch. Failures are printed
 * and keep the running pattern; `cancel_fd` readable abandons the build.
 */
void live_show_on_save(live_show *show, const char *path, const char *source, size_t len,
                       int cancel_fd);

/*
 * One frame, on the render thread: takes what changed since the last frame
 * (a new pattern, param values, brightness, blackout, freeze), renders at t
 * (seconds since the show started; a switch does not restart it) and
 * completes the frame. Prints a line when a new pattern was switched in.
 */
sky_status live_show_render(live_show *show, double t, double dt, char *error, size_t error_len);
/*
 * The audio values of the frame about to render (NULL: no source), for the
 * state's "audio" (the runtime gets them from sky_runtime_set_audio).
 */
void live_show_set_audio(live_show *show, const sky_audio_values *values);
/*
 * After each frame: the frame file's frame number, for the state and the
 * measured fps, and the render loop's late and dropped counts so far.
 */
void live_show_frame_done(live_show *show, uint64_t frame, uint64_t now_ns, uint64_t late,
                          uint64_t dropped);
/*
 * With several entries, starts the playlist thread: it moves on every `each`
 * seconds (when set) and reloads the current entry on live_show_reload_entry.
 * Returns false after printing.
 */
bool live_show_start_playlist(live_show *show);
/* Asks the playlist thread to reload the current entry from its file (SIGHUP; no waiting). */
void live_show_reload_entry(live_show *show);
/* The show is ending: loads in flight are cancelled and waiters get LIVE_STOPPING. */
void live_show_stop(live_show *show);

/* ----------------------------------------------------------- signals.c */

typedef void (*live_reload_fn)(void *context);

/*
 * Blocks SIGINT, SIGTERM and SIGHUP and starts the thread that takes them.
 * Call before any other thread is created (threads inherit the mask). A stop
 * signal sets the flag (live_signals_stopped), wakes live_signals_sleep_until
 * and makes live_signals_fd readable; if live_signals_finish is not called
 * within 0.5 s the process is ended with _exit (status 0 when
 * `stop_is_success`, else 128 + the signal), since a main thread inside
 * shaderc or the driver cannot be interrupted. Returns false after printing.
 */
bool live_signals_start(const char *cmd, bool stop_is_success);
/* What SIGHUP does (called on the signal thread: post work, do not do it). NULL: ignore it. */
void live_signals_on_hup(live_reload_fn fn, void *context);
/* 0, or the stop signal received. */
int live_signals_stopped(void);
/* An eventfd that becomes readable when a stop signal came (for poll). */
int live_signals_fd(void);
/* Sleeps until deadline_ns on CLOCK_MONOTONIC; false at once when a stop signal came. */
bool live_signals_sleep_until(uint64_t deadline_ns);
/* The main thread is done cleaning up: no forced exit. */
void live_signals_finish(void);
/* "SIGINT", "SIGTERM" or "SIGHUP". */
const char *live_signals_name(int signo);

/* ----------------------------------------------------- preview_image.c */

/* Where each LED lands in an image and how its dot is drawn. */
typedef struct preview_geometry {
    uint32_t width, height; /* image size in pixels */
    float sigma;            /* gaussian dot radius (standard deviation) in pixels */
    int radius;             /* the dot is drawn out to this many pixels from its centre */
    uint32_t led_count;
    uint32_t *centre_x, *centre_y; /* each LED's centre pixel */
    float
        *pos; /* each LED's (x, y) in image coordinates (pixel (i, j) spans [i, i+1) x [j, j+1)) */
    float *dot_scale; /* per LED, its dot's size relative to sigma (--view); NULL: all 1 */
} preview_geometry;

#define PREVIEW_BACKGROUND_R 10
#define PREVIEW_BACKGROUND_G 10
#define PREVIEW_BACKGROUND_B 14

/*
 * Places `led_count` LEDs at `xy` into an image whose longer side is `size`
 * pixels, keeping the aspect ratio; with `size` 0 the size is chosen from the
 * layout's LED spacing, at most `max_size`. With box_w and box_h non-zero the
 * image is fitted into that box instead (the terminal). Returns false after
 * printing an error (out of memory).
 */
bool preview_geometry_create(const char *cmd, const float *xy, uint32_t led_count, uint32_t size,
                             uint32_t max_size, uint32_t box_w, uint32_t box_h,
                             preview_geometry **geometry);
void preview_geometry_free(preview_geometry *geometry);

/* --view AZIMUTH,ELEVATION (preview_view.c): a camera for 3-D layouts. */
typedef struct preview_view {
    bool set;
    double azimuth, elevation; /* degrees */
} preview_view;
/* Parses "AZ,EL"; false after printing why it is wrong. */
bool preview_view_parse(const char *cmd, const char *text, preview_view *view);
/* preview_geometry_create over the layout's x, y, or, with a view, over the
 * layout seen from that camera, with dots sized by distance. */
bool preview_geometry_for(const char *cmd, const sky_layout *layout, const preview_view *view,
                          uint32_t size, uint32_t max_size, uint32_t box_w, uint32_t box_h,
                          preview_geometry **geometry);

/* Draws LED colours (led_count * 3 bytes) as soft dots into rgb (width * height * 3 bytes). */
typedef struct preview_canvas preview_canvas;
bool preview_canvas_create(const char *cmd, const preview_geometry *geometry,
                           preview_canvas **canvas);
void preview_canvas_free(preview_canvas *canvas);
void preview_canvas_draw(preview_canvas *canvas, const uint8_t *led_rgb, uint8_t *rgb);

bool preview_png_write(const char *cmd, const char *path, uint32_t width, uint32_t height,
                       const uint8_t *rgb);

/*
 * An animated GIF with one global palette. Frames are given twice: first
 * every frame to preview_gif_sample (which builds the palette by median cut
 * over pixels of all of them), then every frame again to preview_gif_add.
 */
typedef struct preview_gif preview_gif;
bool preview_gif_create(const char *cmd, uint32_t width, uint32_t height, uint32_t frame_count,
                        preview_gif **gif);
bool preview_gif_sample(preview_gif *gif, const uint8_t *rgb);
/* Opens `path` and writes the header; call after every frame was sampled. */
bool preview_gif_open(preview_gif *gif, const char *path, double fps);
bool preview_gif_add(preview_gif *gif, const uint8_t *rgb);
/* Writes the trailer and closes the file. */
bool preview_gif_close(preview_gif *gif);
void preview_gif_free(preview_gif *gif);

/* Terminal cells: `cols` x `rows` character cells of two pixels each, from the terminal size. */
void preview_term_size(uint32_t *cols, uint32_t *rows);
/* Draws rgb (width x height, height even) with half blocks, in place after the first frame. */
bool preview_term_draw(const char *cmd, FILE *out, uint32_t width, uint32_t height,
                       const uint8_t *rgb, bool first);
/* Shows the cursor again and moves below the picture. */
void preview_term_finish(FILE *out, uint32_t height);

#endif

/*
 * control.h - the live show's control surface, and the servers that expose it.
 *
 * `sky run` keeps its show in a live_show (show.c): the running pattern, the
 * values of its params, the playlist, the crossfade, brightness, blackout and
 * freeze. The render loop owns the device; everything else asks the show
 * through the live_show_* calls below, from any thread: the watcher (a save),
 * the signal thread (SIGHUP), and the control servers
 *   control_http.c  HTTP + JSON and two WebSockets, through civetweb
 *   control_osc.c   OSC over UDP, through liblo
 * Every live_show_* call is thread-safe and holds the show's lock only for a
 * copy, so no client, however slow or hostile, can stall a frame. A call
 * that changes something takes effect at the next frame boundary.
 *
 * Messages are written into the caller's buffer; JSON crosses as json-c
 * objects (the caller of a function returning one frees it with
 * json_object_put).
 */
#ifndef SKY_CLI_CONTROL_H
#define SKY_CLI_CONTROL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct live_show live_show;

typedef enum live_status {
    LIVE_OK = 0,
    LIVE_UNKNOWN,   /* no such param or playlist entry (HTTP 404) */
    LIVE_BAD_VALUE, /* a value of the wrong shape or not finite (HTTP 400) */
    LIVE_ERRORS,    /* the pattern has errors: see the diagnostics (HTTP 422) */
    LIVE_FAILED,    /* it compiled but could not be built or run: the message says why (422) */
    LIVE_STOPPING,  /* the show is ending (HTTP 503) */
    LIVE_CONFLICT,  /* the show cannot do it as it is: no file to save to (HTTP 409) */
} live_status;

/*
 * The whole state as a JSON object:
 *   {"pattern": name, "path": the show's file (null: standard input),
 *    "params": [{"name", "type" ("float"|"vec2"|"vec3"),
 *    "value" (number or array), "default", "min", "max" (null when unbounded),
 *    "doc", "color" (a vec3 declared `color`)}...], "fps": measured, "fps_target",
 *    "frame": frame file number, "late": frames that missed their deadline,
 *   "playlist": {"entries": [paths], "index", "each": s, "crossfade": s},
 *   "brightness", "blackout", "freeze", "fading": bool,
 *   "audio": the last frame's audio.* values {"level", "bass", "mid", "treble",
 *   "beat", "phase", "bpm", "bands": [16]}, null without --audio,
 *   "diagnostics": the last compile's, as live_show_load returns them}
 * NULL only when out of memory.
 */
json_object *live_show_state(live_show *show);

/*
 * Sets a param of the running pattern from the next frame on, without a
 * recompile. `values` holds 1 (float), 2 or 3 (vectors) finite numbers;
 * floats are clamped to the param's range. On LIVE_OK *applied (a JSON number
 * or array) is the value now in effect. A reload keeps values set this way
 * for params that still exist.
 */
live_status live_show_set_param(live_show *show, const char *name, const double *values,
                                size_t count, json_object **applied, char *message,
                                size_t message_len);

/*
 * Compiles `source` (len bytes; NULL: read `path`), builds it off the render
 * thread under the build budget and switches to it (cross-fading when a
 * crossfade is set); blocks until the switch happened or failed. `path` names
 * the pattern in messages and in the state; with a source, `name` (when not
 * NULL) does instead, else "<api>". *diagnostics is always set: a JSON array
 * of {"severity", "code", "message", "line", "column", "help"}. On failure
 * the show keeps the old pattern.
 */
live_status live_show_load(live_show *show, const char *path, const char *name,
                           const char *source, size_t len, json_object **diagnostics,
                           char *message, size_t message_len);

/*
 * The running pattern's text: {"pattern": name, "path": the show's file (the
 * current playlist entry's; null for standard input), "source": text, "file":
 * the file's text now (null without one or when unreadable),
 * "file_diagnostics": the diagnostics of compiling "file" (null with it)}.
 * NULL only when out of memory.
 */
json_object *live_show_source(live_show *show);

/*
 * Writes `source` to the show's file (the current playlist entry's)
 * atomically: a temporary file in the same directory, renamed over it. The
 * file then loads as a save does (through the watcher when it follows the
 * file, else at once): a text with errors is saved all the same and the
 * running pattern stays. On LIVE_OK *result is {"path", "bytes"}.
 * LIVE_UNKNOWN when the show has no file (standard input); LIVE_FAILED when
 * the write failed (the message says why; the file is as it was).
 */
live_status live_show_save(live_show *show, const char *source, size_t len, json_object **result,
                           char *message, size_t message_len);

/* Show-level controls; each takes effect at the next frame. Returns the value in effect. */
double live_show_set_brightness(live_show *show, double level); /* clamped to [0, 1] */
void live_show_set_blackout(live_show *show, bool on);
void live_show_set_freeze(live_show *show, bool on);
/* The next or previous playlist entry (wrapping; LIVE_UNKNOWN without a playlist), or entry `index`. */
live_status live_show_next(live_show *show, char *message, size_t message_len);
live_status live_show_previous(live_show *show, char *message, size_t message_len);
live_status live_show_select(live_show *show, size_t index, char *message, size_t message_len);

/* Seconds of cross-fade at every later switch, clamped to [0, 60]; 0 cuts. Returns it. */
double live_show_set_crossfade(live_show *show, double seconds);

/* What the studio shows beside the preview (the stats event). */
typedef struct live_show_stats {
    double fps;       /* measured over about a second */
    uint64_t frame;   /* the frame file's newest */
    uint64_t late;    /* frames finished after the next frame's deadline, since the start */
    uint64_t dropped; /* deadlines skipped because a frame ran past them, since the start */
} live_show_stats;
void live_show_get_stats(live_show *show, live_show_stats *stats);

/*
 * Change events: `fn` is called with a JSON text (an object with "event":
 * "params" | "pattern" | "diagnostics" | "brightness" | "playlist" | ... and
 * the new values) on the thread that made the change, and must not block
 * (queue it). Returns an id for live_show_unlisten, or -1 when full.
 */
typedef void (*live_show_listener)(void *context, const char *event_json, size_t len);
int live_show_listen(live_show *show, live_show_listener fn, void *context);
void live_show_unlisten(live_show *show, int id);

/* ------------------------------------------------------------- servers */

typedef struct control_options {
    const char *listen;     /* --control HOST:PORT (port 0: any); NULL: no HTTP server */
    const char *token;      /* --control-token: required (Bearer) on every request when set */
    const char *osc_port;   /* --osc PORT; NULL: no OSC server */
    const char *frame_path; /* the frame file, for the frames WebSocket and /api/layout */
    const char *examples;   /* --examples DIR: the *.sky files /api/examples lists; NULL: none */
} control_options;

typedef struct control_server control_server;

/*
 * Starts the servers the options ask for. A non-loopback HTTP address is
 * refused without a token. Prints the address it listens on ("sky run:
 * control API on http://127.0.0.1:PORT", the port resolved when 0 was asked)
 * so that scripts and tests can find it. Returns false after printing why.
 */
bool control_server_start(const char *cmd, const control_options *options, live_show *show,
                          control_server **server);
/* Closes every connection and stops the threads. NULL is a no-op. */
void control_server_stop(control_server *server);

#endif

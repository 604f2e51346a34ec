/*
 * show.c - the live show of `sky run`: the pattern on the LEDs, its params,
 * the playlist, brightness, blackout and freeze, changed from any thread and
 * taken by the render loop at a frame boundary.
 *
 * Every way to a new pattern goes through one path (show_prepare): a save
 * seen by the watcher, SIGHUP, live_show_load (the control API) and the
 * playlist. It compiles (diagnostics printed and kept as JSON for the state),
 * refuses a pattern whose per-LED cost is over SKY_LED_COST_MAX, has the
 * shader built and run once in the child process under the build budget
 * (build.c), builds the pipeline (sky_runtime_pipeline_build, thread-safe
 * against rendering) and posts the result in a one-item mailbox. The render
 * loop takes it in live_show_render between two frames and switches with
 * sky_runtime_set_pipeline, which costs only bookkeeping, so a pattern that
 * fails in any way leaves the running one on the LEDs and no frame is missed.
 * `t` is the show's clock: a switch does not restart it (the runtime restarts
 * the pattern's `frame`; `prev` carries over when both patterns use it).
 *
 * Param values live here, as the values of the running pattern's slots.
 * live_show_set_param writes them (clamped to the range) and the render loop
 * copies them at the next frame: no recompile. A value the user set, by --set
 * or through the API, is kept across reloads for a param that still exists
 * with the same name and type; other params start at their defaults.
 *
 * Locking: `lock` guards everything the other threads see, and is held only
 * to copy (a frame takes it twice, for microseconds), never across a build,
 * a render or a listener. Listeners have a lock of their own, so that
 * live_show_unlisten returning means the listener is not called any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/runtime.h"

#define SHOW_MAX_LISTENERS 32
#define SHOW_MAX_OVERRIDES 256           /* values set by the API, remembered across patterns */
#define SHOW_FPS_WINDOW_NS 1000000000ull /* the measured fps is over about a second */
#define SHOW_NAME_MAX      128           /* param names are identifiers; longer is no param */
/* The pattern shown while the file has errors at start-up with --watch. */
#define SHOW_BLACK_SOURCE "out rgb(0, 0, 0)\n"
#define SHOW_BLACK_NAME   "<black>"
#define SHOW_API_NAME     "<api>"
#define SHOW_CROSSFADE_MAX 60.0 /* seconds; the API's limit (the command line takes up to 3600) */

/* A param as the state describes it: a copy, so that the state never reads a program. */
typedef struct show_param {
    char *name;
    sky_type type;
    uint32_t slot;
    size_t components;
    double def[3];
    bool has_range;
    double min, max;
    bool color; /* a vec3 declared `color` */
    char *doc;
} show_param;

typedef struct show_meta {
    char *name; /* the pattern's path, its display name, "<api>" or "<black>" */
    show_param *params;
    size_t count, slots;
    char *source; /* its text (the studio's editor shows it); "" for <black> */
    size_t source_len;
} show_meta;

/* A value the user set: applied to every later pattern with a param of that name and type. */
typedef struct show_override {
    char name[SHOW_NAME_MAX];
    sky_type type;
    double values[3];
} show_override;

/* A pattern built and ready to switch to. */
typedef struct show_pattern {
    sky_program *program;
    sky_runtime_pipeline *pipeline;
    double *params; /* defaults and --set values, sky_program_param_slots of them */
    show_meta meta;
    long entry; /* the playlist entry it is, or -1 */
    uint64_t seq;
    sky_pictures *pictures; /* its picture inputs, NULL without */
} show_pattern;

typedef struct show_listener {
    live_show_listener fn;
    void *context;
} show_listener;

struct live_show {
    live_show_config config;
    char *name_first; /* the first pattern's path, for messages */
    int stop_fd;      /* eventfd, written by live_show_stop: cancels builds in flight */

    pthread_mutex_t lock;
    pthread_cond_t changed; /* a switch happened or failed; the playlist changed; stopping */
    /* ---- under lock */
    bool has_audio; /* live_show_set_audio */
    sky_audio_values audio;
    bool stopping;
    show_pattern pending; /* program NULL: nothing waiting */
    uint64_t next_seq, done_seq;
    live_status done_status;
    char done_message[1400]; /* holds a runtime error (1024) with words around it */
    show_meta meta;          /* the running pattern's */
    double *values;          /* its slot values as set */
    uint64_t values_gen;
    show_override overrides[SHOW_MAX_OVERRIDES];
    size_t override_count;
    double brightness;
    bool blackout, freeze;
    uint64_t frame; /* the frame file's newest frame */
    double fps;     /* measured */
    uint64_t fps_since_ns, fps_since_frame;
    json_object *diagnostics; /* the last compile's */
    size_t entry;             /* the playlist entry on the LEDs */
    uint64_t entry_shown_ns;  /* when it came on */
    bool reload_requested;    /* SIGHUP with a playlist: the playlist thread reloads */
    bool fading;              /* a cross-fade is on */
    double crossfade_s;       /* the cross-fade of later switches (live_show_set_crossfade) */
    uint64_t late, dropped;   /* the render loop's counters (live_show_frame_done) */

    /* ---- the render thread's own */
    sky_program *program; /* running */
    sky_program *retired; /* replaced; freed once a frame with the new one completed */
    sky_pictures *pictures; /* the running pattern's picture inputs, NULL without */
    double *params;       /* the running program's slot values, as rendered */
    uint64_t values_seen;
    show_pattern incoming; /* the pattern fading in (program NULL: no fade), its pictures */
    bool incoming_mixed;   /* a mix frame with it was rendered: the runtime hands its pictures
                              over at the end of the fade (sky_runtime_set_incoming_pictures) */
    double fade_start_t;
    double fade_s;             /* the fade's length, as crossfade_s was when it began */
    show_meta outgoing_meta;   /* the description and values of the pattern fading out, */
    double *outgoing_values;   /* in case the runtime refuses the incoming one at the end */
    double applied_brightness; /* the runtime's dimmer as last set (blackout: 0) */
    bool rendered;             /* a frame exists to hold */

    pthread_t playlist_thread;
    bool playlist_started;

    pthread_mutex_t listen_lock;
    show_listener listeners[SHOW_MAX_LISTENERS];
};

/* ------------------------------------------------------------------- helpers */

static void show_message(char *message, size_t message_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void show_message(char *message, size_t message_len, const char *fmt, ...) {
    if (!message || message_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, message_len, fmt, ap);
    va_end(ap);
}

static size_t show_components(sky_type type) {
    return type == SKY_TYPE_VEC3 ? 3 : type == SKY_TYPE_VEC2 ? 2 : 1;
}

static const char *show_type_name(sky_type type) {
    return type == SKY_TYPE_VEC3 ? "vec3" : type == SKY_TYPE_VEC2 ? "vec2" : "float";
}

/* A number, or an array for vectors. */
static json_object *show_json_value(const double *values, size_t components) {
    if (components == 1) return json_object_new_double(values[0]);
    json_object *array = json_object_new_array();
    for (size_t k = 0; array && k < components; k++)
        json_object_array_add(array, json_object_new_double(values[k]));
    return array;
}

static void show_meta_free(show_meta *meta) {
    for (size_t i = 0; i < meta->count; i++) {
        free(meta->params[i].name);
        free(meta->params[i].doc);
    }
    free(meta->params);
    free(meta->name);
    free(meta->source);
    memset(meta, 0, sizeof *meta);
}

/* Describes `program`'s params; docs from its source (NULL: none). False when out of memory. */
static bool show_meta_build(show_meta *meta, const char *name, const sky_program *program,
                            const char *source, size_t len) {
    memset(meta, 0, sizeof *meta);
    size_t count = sky_program_param_count(program);
    char **docs = source ? live_param_docs(program, source, len) : NULL;
    meta->name = strdup(name);
    meta->params = calloc(count ? count : 1, sizeof *meta->params);
    meta->slots = sky_program_param_slots(program);
    meta->source = malloc(source ? len + 1 : 1);
    if (meta->source) {
        if (source) memcpy(meta->source, source, len);
        meta->source[source ? len : 0] = '\0';
        meta->source_len = source ? len : 0;
    }
    bool ok = meta->name && meta->params && meta->source && (!source || docs);
    for (size_t i = 0; ok && i < count; i++) {
        const sky_param_info *info = sky_program_param(program, i);
        show_param *p = &meta->params[i];
        meta->count = i + 1;
        p->name = strdup(info->name);
        p->doc = strdup(docs ? docs[i] : "");
        p->type = info->type;
        p->slot = info->slot;
        p->components = show_components(info->type);
        memcpy(p->def, info->value, sizeof p->def);
        p->has_range = info->has_range;
        p->min = info->min;
        p->max = info->max;
        p->color = info->color;
        ok = p->name && p->doc;
    }
    live_param_docs_free(docs, count);
    if (!ok) show_meta_free(meta);
    return ok;
}

static const show_param *show_meta_find(const show_meta *meta, const char *name) {
    for (size_t i = 0; i < meta->count; i++)
        if (strcmp(meta->params[i].name, name) == 0) return &meta->params[i];
    return NULL;
}

static double show_clamp(const show_param *p, double v) {
    if (!p->has_range) return v;
    return v < p->min ? p->min : v > p->max ? p->max : v;
}

static void show_pattern_free(live_show *show, show_pattern *pattern) {
    sky_runtime_pipeline_free(show->config.runtime, pattern->pipeline); /* before its program */
    sky_pictures_free(pattern->pictures);
    sky_program_free(pattern->program);
    free(pattern->params);
    show_meta_free(&pattern->meta);
    memset(pattern, 0, sizeof *pattern);
    pattern->entry = -1;
}

/* ----------------------------------------------------------------- listeners */

int live_show_listen(live_show *show, live_show_listener fn, void *context) {
    int id = -1;
    pthread_mutex_lock(&show->listen_lock);
    for (int i = 0; i < SHOW_MAX_LISTENERS && id < 0; i++)
        if (!show->listeners[i].fn) {
            show->listeners[i] = (show_listener){fn, context};
            id = i;
        }
    pthread_mutex_unlock(&show->listen_lock);
    return id;
}

void live_show_unlisten(live_show *show, int id) {
    if (id < 0 || id >= SHOW_MAX_LISTENERS) return;
    pthread_mutex_lock(&show->listen_lock);
    show->listeners[id] = (show_listener){NULL, NULL};
    pthread_mutex_unlock(&show->listen_lock);
}

/* Sends `event` (taken) to every listener, on this thread. */
static void show_emit(live_show *show, json_object *event) {
    if (!event) return;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    pthread_mutex_lock(&show->listen_lock);
    for (int i = 0; text && i < SHOW_MAX_LISTENERS; i++)
        if (show->listeners[i].fn) show->listeners[i].fn(show->listeners[i].context, text, len);
    pthread_mutex_unlock(&show->listen_lock);
    json_object_put(event);
}

static json_object *show_event(const char *kind) {
    json_object *event = json_object_new_object();
    if (event) json_object_object_add(event, "event", json_object_new_string(kind));
    return event;
}

/* -------------------------------------------------------------------- state */

static json_object *show_params_json(const show_meta *meta, const double *values) {
    json_object *array = json_object_new_array();
    for (size_t i = 0; array && i < meta->count; i++) {
        const show_param *p = &meta->params[i];
        json_object *o = json_object_new_object();
        if (!o) break;
        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "type", json_object_new_string(show_type_name(p->type)));
        json_object_object_add(o, "value",
                               show_json_value(values ? values + p->slot : p->def, p->components));
        json_object_object_add(o, "default", show_json_value(p->def, p->components));
        json_object_object_add(o, "min", p->has_range ? json_object_new_double(p->min) : NULL);
        json_object_object_add(o, "max", p->has_range ? json_object_new_double(p->max) : NULL);
        json_object_object_add(o, "doc", json_object_new_string(p->doc));
        json_object_object_add(o, "color", json_object_new_boolean(p->color));
        json_object_array_add(array, o);
    }
    return array;
}

static json_object *show_playlist_json(const live_show *show) {
    json_object *o = json_object_new_object();
    json_object *entries = json_object_new_array();
    if (!o || !entries) {
        json_object_put(o);
        json_object_put(entries);
        return NULL;
    }
    for (size_t i = 0; i < show->config.playlist_count; i++)
        json_object_array_add(entries, json_object_new_string(show->config.playlist[i]));
    json_object_object_add(o, "entries", entries);
    json_object_object_add(o, "index", json_object_new_int64((int64_t)show->entry));
    json_object_object_add(o, "each", json_object_new_double(show->config.each_s));
    json_object_object_add(o, "crossfade", json_object_new_double(show->crossfade_s));
    return o;
}

/* The show's file: the current playlist entry's; NULL for standard input. Under lock. */
static const char *show_file(const live_show *show) {
    const char *path = show->config.playlist[show->entry];
    return strcmp(path, "-") == 0 ? NULL : path;
}

static json_object *show_json_path(const live_show *show) {
    const char *path = show_file(show);
    return path ? json_object_new_string(path) : NULL;
}

void live_show_set_audio(live_show *show, const sky_audio_values *values) {
    pthread_mutex_lock(&show->lock);
    show->has_audio = values != NULL;
    if (values) show->audio = *values;
    pthread_mutex_unlock(&show->lock);
}

/* The state's "audio": null without a source. Under lock. */
static json_object *show_audio_json(const live_show *show) {
    if (!show->has_audio) return NULL;
    const sky_audio_values *v = &show->audio;
    json_object *o = json_object_new_object(), *bands = json_object_new_array();
    if (!o || !bands) {
        json_object_put(o);
        json_object_put(bands);
        return NULL;
    }
    const struct {
        const char *name;
        float value;
    } fields[] = {{"level", v->level}, {"bass", v->bass},   {"mid", v->mid}, {"treble", v->treble},
                  {"beat", v->beat},   {"phase", v->phase}, {"bpm", v->bpm}};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        json_object_object_add(o, fields[i].name, json_object_new_double(fields[i].value));
    for (int k = 0; k < SKY_AUDIO_BANDS; k++)
        json_object_array_add(bands, json_object_new_double(v->band[k]));
    json_object_object_add(o, "bands", bands);
    return o;
}

json_object *live_show_state(live_show *show) {
    json_object *state = json_object_new_object();
    if (!state) return NULL;
    pthread_mutex_lock(&show->lock);
    json_object_object_add(state, "pattern",
                           json_object_new_string(show->meta.name ? show->meta.name : ""));
    json_object_object_add(state, "path", show_json_path(show));
    json_object_object_add(state, "late", json_object_new_int64((int64_t)show->late));
    json_object_object_add(state, "params", show_params_json(&show->meta, show->values));
    json_object_object_add(state, "fps", json_object_new_double(show->fps));
    json_object_object_add(state, "fps_target", json_object_new_double(show->config.fps_target));
    json_object_object_add(state, "frame", json_object_new_int64((int64_t)show->frame));
    json_object_object_add(state, "playlist", show_playlist_json(show));
    json_object_object_add(state, "brightness", json_object_new_double(show->brightness));
    json_object_object_add(state, "blackout", json_object_new_boolean(show->blackout));
    json_object_object_add(state, "freeze", json_object_new_boolean(show->freeze));
    json_object_object_add(state, "fading", json_object_new_boolean(show->fading));
    json_object_object_add(state, "audio", show_audio_json(show));
    json_object *diagnostics = NULL;
    if (show->diagnostics) json_object_deep_copy(show->diagnostics, &diagnostics, NULL);
    json_object_object_add(state, "diagnostics",
                           diagnostics ? diagnostics : json_object_new_array());
    pthread_mutex_unlock(&show->lock);
    return state;
}

/* ------------------------------------------------------------------- params */

/* Applies the user's values that fit (same name and type) to a pattern's values. Under lock. */
static void show_apply_overrides(const live_show *show, const show_meta *meta, double *values) {
    for (size_t i = 0; i < show->override_count; i++) {
        const show_override *o = &show->overrides[i];
        const show_param *p = show_meta_find(meta, o->name);
        if (!p || p->type != o->type) continue;
        for (size_t k = 0; k < p->components; k++)
            values[p->slot + k] = show_clamp(p, o->values[k]);
    }
}

/* Remembers a value the user set (under lock); the oldest goes when full. */
static void show_remember(live_show *show, const show_param *p, const double *values) {
    size_t i = 0;
    while (i < show->override_count && strcmp(show->overrides[i].name, p->name) != 0) i++;
    if (i == show->override_count) {
        if (show->override_count == SHOW_MAX_OVERRIDES) {
            memmove(show->overrides, show->overrides + 1,
                    (SHOW_MAX_OVERRIDES - 1) * sizeof *show->overrides);
            i = SHOW_MAX_OVERRIDES - 1;
        } else {
            show->override_count++;
        }
    }
    show_override *o = &show->overrides[i];
    snprintf(o->name, sizeof o->name, "%s", p->name);
    o->type = p->type;
    memcpy(o->values, values, p->components * sizeof *values);
}

live_status live_show_set_param(live_show *show, const char *name, const double *values,
                                size_t count, json_object **applied, char *message,
                                size_t message_len) {
    if (applied) *applied = NULL;
    if (count < 1 || count > 3) {
        show_message(message, message_len, "a param takes 1 to 3 numbers, not %zu", count);
        return LIVE_BAD_VALUE;
    }
    for (size_t k = 0; k < count; k++)
        if (!isfinite(values[k])) {
            show_message(message, message_len, "`%s`: value %zu is not a finite number", name,
                         k + 1);
            return LIVE_BAD_VALUE;
        }
    pthread_mutex_lock(&show->lock);
    const show_param *p = show_meta_find(&show->meta, name);
    if (!p) {
        const char *names[SKY_MAX_PARAMS];
        size_t n = 0;
        for (size_t i = 0; i < show->meta.count && n < SKY_MAX_PARAMS; i++)
            names[n++] = show->meta.params[i].name;
        const char *hint = live_did_you_mean(name, names, n);
        show_message(message, message_len, "the pattern has no param called `%s`%s%s%s", name,
                     hint ? "; did you mean `" : "", hint ? hint : "", hint ? "`?" : "");
        pthread_mutex_unlock(&show->lock);
        return LIVE_UNKNOWN;
    }
    if (count != p->components) {
        show_message(message, message_len, "`%s` is a %s param: give %zu number%s, not %zu", name,
                     show_type_name(p->type), p->components, p->components == 1 ? "" : "s", count);
        pthread_mutex_unlock(&show->lock);
        return LIVE_BAD_VALUE;
    }
    double now[3];
    for (size_t k = 0; k < count; k++) now[k] = show_clamp(p, values[k]);
    memcpy(show->values + p->slot, now, count * sizeof *now);
    show->values_gen++;
    show_remember(show, p, now);
    pthread_mutex_unlock(&show->lock);

    if (applied) *applied = show_json_value(now, count);
    json_object *event = show_event("params");
    if (event) {
        json_object_object_add(event, "name", json_object_new_string(name));
        json_object_object_add(event, "value", show_json_value(now, count));
    }
    show_emit(show, event);
    return LIVE_OK;
}

/* ---------------------------------------------------------- show controls */

double live_show_set_brightness(live_show *show, double level) {
    if (!isfinite(level)) level = 1;
    level = level < 0 ? 0 : level > 1 ? 1 : level;
    pthread_mutex_lock(&show->lock);
    show->brightness = level;
    pthread_mutex_unlock(&show->lock);
    json_object *event = show_event("brightness");
    if (event) json_object_object_add(event, "brightness", json_object_new_double(level));
    show_emit(show, event);
    return level;
}

static void show_set_flag(live_show *show, bool *flag, const char *kind, bool on) {
    pthread_mutex_lock(&show->lock);
    *flag = on;
    pthread_mutex_unlock(&show->lock);
    json_object *event = show_event(kind);
    if (event) json_object_object_add(event, kind, json_object_new_boolean(on));
    show_emit(show, event);
}

void live_show_set_blackout(live_show *show, bool on) {
    show_set_flag(show, &show->blackout, "blackout", on);
}

void live_show_set_freeze(live_show *show, bool on) {
    show_set_flag(show, &show->freeze, "freeze", on);
}

/* -------------------------------------------------------------- diagnostics */

static const char *show_severity(sky_severity severity) {
    return severity == SKY_SEVERITY_ERROR     ? "error"
           : severity == SKY_SEVERITY_WARNING ? "warning"
                                              : "note";
}

static json_object *show_diagnostics_json(const sky_diagnostics *diagnostics) {
    json_object *array = json_object_new_array();
    size_t count = diagnostics ? sky_diagnostics_count(diagnostics) : 0;
    for (size_t i = 0; array && i < count; i++) {
        const sky_diag *d = sky_diagnostics_get(diagnostics, i);
        json_object *o = json_object_new_object();
        if (!o) break;
        json_object_object_add(o, "severity", json_object_new_string(show_severity(d->severity)));
        json_object_object_add(o, "code", json_object_new_string(d->code ? d->code : ""));
        json_object_object_add(o, "message", json_object_new_string(d->message ? d->message : ""));
        json_object_object_add(o, "line", json_object_new_int64(d->line));
        json_object_object_add(o, "column", json_object_new_int64(d->col));
        json_object_object_add(o, "help", d->help ? json_object_new_string(d->help) : NULL);
        json_object_array_add(array, o);
    }
    return array;
}

/*
 * Keeps a copy of the last compile's diagnostics for the state and tells the
 * listeners, with the text compiled: an editor marks them only on that text
 * (another studio's compile or a save may come between its own).
 */
static void show_keep_diagnostics(live_show *show, const char *name, const char *source, size_t len,
                                  json_object *diagnostics) {
    json_object *kept = NULL, *sent = NULL;
    if (diagnostics) {
        json_object_deep_copy(diagnostics, &kept, NULL);
        json_object_deep_copy(diagnostics, &sent, NULL);
    }
    pthread_mutex_lock(&show->lock);
    json_object *old = show->diagnostics;
    show->diagnostics = kept;
    pthread_mutex_unlock(&show->lock);
    json_object_put(old);
    json_object *event = show_event("diagnostics");
    if (event) {
        json_object_object_add(event, "pattern", json_object_new_string(name));
        json_object_object_add(event, "source", json_object_new_string_len(source, (int)len));
        json_object_object_add(event, "diagnostics", sent ? sent : json_object_new_array());
    } else {
        json_object_put(sent);
    }
    show_emit(show, event);
}

int live_compile_json(const char *cmd, const char *path, const char *source, size_t len,
                      sky_program **program, json_object **diagnostics, size_t *error_count) {
    sky_diagnostics *diags = NULL;
    *program = NULL;
    sky_status st = sky_compile(path, source, len, NULL, program, &diags);
    int code = live_compile_report(cmd, st, diags);
    *diagnostics = show_diagnostics_json(diags);
    if (error_count) *error_count = diags ? sky_diagnostics_error_count(diags) : 0;
    sky_diagnostics_free(diags);
    if (code != 0) {
        sky_program_free(*program);
        *program = NULL;
    }
    return code;
}

/* -------------------------------------------------------------- loading */

/*
 * Builds the shader of a compiled program in the child process, after
 * checking its cost. Returns the SPIR-V or NULL (printed and in `message`,
 * unless *cancelled: a stop or a newer save ended the build).
 */
static uint32_t *show_build_shader(live_show *show, const char *name, const sky_program *program,
                                   const char *source, size_t len, int cancel_fd,
                                   size_t *word_count, bool *cancelled, char *message,
                                   size_t message_len) {
    const char *cmd = show->config.cmd;
    *cancelled = false;
    uint64_t cost = sky_program_led_cost(program);
    if (cost > SKY_LED_COST_MAX) {
        show_message(message, message_len,
                     "%s costs about %llu operations per LED, over the budget of %u for "
                     "building a pipeline: lower fbm octaves and reduction bounds",
                     name, (unsigned long long)cost, SKY_LED_COST_MAX);
        fprintf(stderr, "%s: %s\n", cmd, message);
        return NULL;
    }
    unsigned seconds, mib;
    live_build_budget(&seconds, &mib);
    fprintf(stderr, "%s: building the shader of %s (cost %llu; budget %u s, %u MiB)\n", cmd, name,
            (unsigned long long)cost, seconds, mib);
    int cancel[3] = {live_signals_fd(), show->stop_fd, cancel_fd};
    uint32_t *words = NULL;
    live_build_result got =
        live_build(show->config.builder, source, len, cancel, cancel_fd >= 0 ? 3 : 2, &words,
                   word_count, message, message_len);
    *cancelled = got == LIVE_BUILD_CANCELLED;
    if (*cancelled) show_message(message, message_len, "the build was cancelled");
    return got == LIVE_BUILD_OK ? words : NULL;
}

/*
 * Base values for a new pattern: its defaults and the --set values that fit.
 * A --set value that does not fit (the param became a vector, or the value
 * never was valid: a show that started black never checked it) is left out
 * with a note, so that it cannot keep every later pattern off the LEDs.
 * NULL when out of memory (printed, and in message).
 */
static double *show_params_for(live_show *show, const sky_program *program, char *message,
                               size_t message_len) {
    const char *cmd = show->config.cmd;
    size_t slots = sky_program_param_slots(program);
    double *params = calloc(slots ? slots : 1, sizeof *params);
    double *scratch = calloc(slots ? slots : 1, sizeof *scratch);
    if (!params || !scratch) {
        show_message(message, message_len, "out of memory");
        fprintf(stderr, "%s: out of memory\n", cmd);
        free(params);
        free(scratch);
        return NULL;
    }
    sky_program_param_defaults(program, params);
    for (size_t i = 0; i < show->config.set_count; i++) {
        const char *set = show->config.sets[i];
        if (!live_params_apply(cmd, program, &set, 1, false, scratch)) {
            fprintf(stderr, "%s: note: --set %s does not fit this pattern; left out\n", cmd, set);
            continue;
        }
        const char *eq = strchr(set, '=');
        char name[SHOW_NAME_MAX];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - set) : 0, set);
        long index = sky_program_param_find(program, name);
        if (index < 0) continue; /* noted by live_params_apply */
        const sky_param_info *info = sky_program_param(program, (size_t)index);
        for (size_t k = 0; k < show_components(info->type); k++)
            params[info->slot + k] = scratch[info->slot + k];
    }
    free(scratch);
    return params;
}

/*
 * A pattern's picture inputs, opened when it loads so that a missing file
 * keeps the running pattern; refused when the runtime cannot hold them.
 */
static bool show_open_pictures(live_show *show, const char *name, const sky_program *program,
                               sky_pictures **pictures, char *message, size_t message_len) {
    if (!live_pictures_open(show->config.cmd, name, program, show->config.layout, pictures, message,
                            message_len))
        return false;
    size_t words = sky_pictures_max_words(*pictures);
    if (*pictures && words > show->config.picture_words) {
        show_message(message, message_len,
                     "its pictures need %.1f MiB, more than the %.1f MiB the show holds (sized "
                     "for the first pattern's pictures, or two); restart the show with it",
                     words * 4.0 / 1048576.0, show->config.picture_words * 4.0 / 1048576.0);
        fprintf(stderr, "%s: %s\n", show->config.cmd, message);
        sky_pictures_free(*pictures);
        *pictures = NULL;
        return false;
    }
    return true;
}

/*
 * The shared path to a new pattern: compile, cost, build in the child,
 * pipeline. On LIVE_OK *out is ready to post. *diagnostics (when not NULL)
 * gets the compile's diagnostics. Failures print and keep the running pattern.
 */
static live_status show_prepare(live_show *show, const char *name, const char *source, size_t len,
                                int cancel_fd, json_object **diagnostics, char *message,
                                size_t message_len, show_pattern *out) {
    const char *cmd = show->config.cmd;
    memset(out, 0, sizeof *out);
    out->entry = -1;
    pthread_mutex_lock(&show->lock);
    bool stopping = show->stopping;
    pthread_mutex_unlock(&show->lock);
    if (stopping) {
        show_message(message, message_len, "the show is ending");
        if (diagnostics) *diagnostics = json_object_new_array();
        return LIVE_STOPPING;
    }
    sky_program *program = NULL;
    json_object *json = NULL;
    size_t errors = 0;
    int compiled = live_compile_json(cmd, name, source, len, &program, &json, &errors);
    show_keep_diagnostics(show, name, source, len, json);
    if (diagnostics)
        *diagnostics = json ? json : json_object_new_array();
    else
        json_object_put(json);

    live_status status = LIVE_OK;
    bool cancelled = false;
    if (compiled == 1) {
        show_message(message, message_len, "%zu error%s; the pattern was not compiled", errors,
                     errors == 1 ? "" : "s");
        status = LIVE_ERRORS;
    } else if (compiled != 0) {
        show_message(message, message_len, "the compiler failed");
        status = LIVE_FAILED;
    } else if (!(out->params = show_params_for(show, program, message, message_len)) ||
               !show_meta_build(&out->meta, name, program, source, len)) {
        if (out->params) show_message(message, message_len, "out of memory");
        status = LIVE_FAILED;
    } else if (!show_open_pictures(show, name, program, &out->pictures, message, message_len)) {
        status = LIVE_FAILED;
    } else {
        out->program = program;
        program = NULL;
        size_t word_count = 0;
        uint32_t *words = show_build_shader(show, name, out->program, source, len, cancel_fd,
                                            &word_count, &cancelled, message, message_len);
        char error[1024] = "";
        bool built = words != NULL;
        sky_status st = SKY_ERR_COMPILE;
        if (built)
            st = sky_runtime_pipeline_build(show->config.runtime, out->program, words, word_count,
                                            &out->pipeline, error, sizeof error);
        free(words);
        if (built && st != SKY_OK) {
            show_message(message, message_len, "building the pipeline failed: %s",
                         error[0] ? error : sky_status_str(st));
            fprintf(stderr, "%s: %s\n", cmd, message);
        }
        if (st != SKY_OK) status = cancelled ? LIVE_STOPPING : LIVE_FAILED;
    }
    sky_program_free(program);
    if (status != LIVE_OK) {
        if (!cancelled) fprintf(stderr, "%s: keeping the running pattern\n", cmd);
        show_pattern_free(show, out);
    }
    return status;
}

/* Puts a prepared pattern (taken) in the mailbox; a newer one replaces one not yet taken. */
static uint64_t show_post(live_show *show, show_pattern *pattern) {
    show_pattern replaced;
    pthread_mutex_lock(&show->lock);
    replaced = show->pending;
    pattern->seq = ++show->next_seq;
    show->pending = *pattern;
    uint64_t seq = pattern->seq;
    pthread_mutex_unlock(&show->lock);
    memset(pattern, 0, sizeof *pattern);
    show_pattern_free(show, &replaced); /* outside the lock: freeing a pipeline waits */
    return seq;
}

/* Waits until the render loop switched to post `seq` (or failed to, or the show ends). */
static live_status show_wait(live_show *show, uint64_t seq, char *message, size_t message_len) {
    pthread_mutex_lock(&show->lock);
    while (show->done_seq < seq && !show->stopping) pthread_cond_wait(&show->changed, &show->lock);
    live_status status;
    if (show->done_seq < seq) {
        show_message(message, message_len, "the show is ending");
        status = LIVE_STOPPING;
    } else if (show->done_seq > seq) {
        show_message(message, message_len, "a newer pattern replaced it before it was shown");
        status = LIVE_FAILED;
    } else {
        show_message(message, message_len, "%s", show->done_message);
        status = show->done_status;
    }
    pthread_mutex_unlock(&show->lock);
    return status;
}

/* Tells the listeners (the studio's editor) that `path` now holds `source`. */
static void show_source_event(live_show *show, const char *path, const char *source, size_t len) {
    json_object *event = show_event("source");
    if (event) {
        json_object_object_add(event, "pattern", json_object_new_string(path));
        json_object_object_add(event, "path", json_object_new_string(path));
        json_object_object_add(event, "source", json_object_new_string_len(source, (int)len));
    }
    show_emit(show, event);
}

void live_show_on_save(live_show *show, const char *path, const char *source, size_t len,
                       int cancel_fd) {
    fprintf(stderr, "%s: %s changed; compiling\n", show->config.cmd, path);
    show_source_event(show, path, source, len);
    show_pattern pattern;
    char message[512];
    if (show_prepare(show, path, source, len, cancel_fd, NULL, message, sizeof message, &pattern) ==
        LIVE_OK)
        show_post(show, &pattern);
}

/* Loads `source` as playlist entry `entry` (-1: none) and waits for the switch. */
static live_status show_load_wait(live_show *show, const char *name, const char *source, size_t len,
                                  long entry, json_object **diagnostics, char *message,
                                  size_t message_len) {
    show_pattern pattern;
    live_status status =
        show_prepare(show, name, source, len, -1, diagnostics, message, message_len, &pattern);
    if (status != LIVE_OK) return status;
    pattern.entry = entry;
    return show_wait(show, show_post(show, &pattern), message, message_len);
}

live_status live_show_load(live_show *show, const char *path, const char *name,
                           const char *source, size_t len, json_object **diagnostics,
                           char *message, size_t message_len) {
    *diagnostics = NULL;
    char *read = NULL;
    if (!source) {
        char error[512];
        if (!path || !(read = cli_read_file(path, &len, error, sizeof error))) {
            show_message(message, message_len, "%s", path ? error : "no path and no source");
            *diagnostics = json_object_new_array();
            return LIVE_FAILED;
        }
        source = read;
    }
    if (read || !name) name = path ? path : SHOW_API_NAME;
    fprintf(stderr, "%s: loading %s (control API)\n", show->config.cmd, name);
    live_status status =
        show_load_wait(show, name, source, len, -1, diagnostics, message, message_len);
    free(read);
    return status;
}

/* ------------------------------------------------------------ the render side */

/*
 * Installs a switched-in pattern's description and values (with the user's).
 * The previous ones are handed back through old_meta and old_values when
 * they are not NULL (a fade may have to go back to them), else freed.
 */
static void show_install(live_show *show, show_pattern *pattern, double *values,
                         show_meta *old_meta, double **old_values) {
    pthread_mutex_lock(&show->lock);
    memcpy(values, pattern->params, pattern->meta.slots * sizeof *values);
    show_apply_overrides(show, &pattern->meta, values);
    if (old_meta)
        *old_meta = show->meta;
    else
        show_meta_free(&show->meta);
    if (old_values)
        *old_values = show->values;
    else
        free(show->values);
    show->meta = pattern->meta;
    memset(&pattern->meta, 0, sizeof pattern->meta);
    show->values = values;
    show->values_gen++;
    show->values_seen = show->values_gen;
    memcpy(pattern->params, values, show->meta.slots * sizeof *values);
    if (pattern->entry >= 0) {
        show->entry = (size_t)pattern->entry;
        show->entry_shown_ns = sky_frame_now_ns();
    }
    if (pattern->seq) {
        show->done_seq = pattern->seq;
        show->done_status = LIVE_OK;
        snprintf(show->done_message, sizeof show->done_message, "switched to %s", show->meta.name);
    }
    pthread_cond_broadcast(&show->changed);
    pthread_mutex_unlock(&show->lock);
}

static void show_fail_switch(live_show *show, uint64_t seq, const char *why) {
    pthread_mutex_lock(&show->lock);
    show->done_seq = seq;
    show->done_status = LIVE_FAILED;
    snprintf(show->done_message, sizeof show->done_message, "%s", why);
    pthread_cond_broadcast(&show->changed);
    pthread_mutex_unlock(&show->lock);
}

/* Tells the listeners about the pattern now on the LEDs (and the playlist, when it moved). */
static void show_pattern_event(live_show *show, bool playlist_moved) {
    if (playlist_moved) {
        json_object *moved = show_event("playlist");
        if (moved) {
            pthread_mutex_lock(&show->lock);
            json_object_object_add(moved, "index", json_object_new_int64((int64_t)show->entry));
            json_object_object_add(moved, "pattern", json_object_new_string(show->meta.name));
            pthread_mutex_unlock(&show->lock);
        }
        show_emit(show, moved);
    }
    json_object *event = show_event("pattern");
    if (event) {
        pthread_mutex_lock(&show->lock);
        json_object_object_add(event, "pattern", json_object_new_string(show->meta.name));
        json_object_object_add(event, "params", show_params_json(&show->meta, show->values));
        json_object_object_add(event, "index", json_object_new_int64((int64_t)show->entry));
        json_object_object_add(event, "fading", json_object_new_boolean(show->fading));
        pthread_mutex_unlock(&show->lock);
    }
    show_emit(show, event);
}

/* Makes the pipeline in `pattern` (taken on success) the running one on the runtime. */
static bool show_set_running(live_show *show, show_pattern *pattern, double *swap_ms) {
    char error[1024] = "";
    uint64_t t0 = sky_frame_now_ns();
    sky_status st =
        sky_runtime_set_pipeline(show->config.runtime, pattern->pipeline, error, sizeof error);
    *swap_ms = (double)(sky_frame_now_ns() - t0) / 1e6;
    pattern->pipeline = NULL; /* the runtime took it, whatever it returned */
    if (st != SKY_OK) {
        char why[1200];
        snprintf(why, sizeof why, "cannot switch to the new pattern: %s",
                 error[0] ? error : sky_status_str(st));
        fprintf(stderr, "%s: %s; keeping the running one\n", show->config.cmd, why);
        show_fail_switch(show, pattern->seq, why);
        return false;
    }
    return true;
}

/*
 * The program, values and pictures of a pattern the runtime now runs become
 * the render side's. `handed_over`: the runtime already samples the
 * pattern's pictures as the current ones (the end of a fade that rendered a
 * mix frame: sky_runtime_set_pipeline moved them over, no copy) and let go of
 * the old block. Else the runtime gets the new block (valid from open: images
 * are in it; a video's or camera's first frame follows with an update) before
 * the old one is freed.
 */
static void show_take_running(live_show *show, show_pattern *pattern, bool handed_over) {
    if (!handed_over)
        sky_runtime_set_pictures(show->config.runtime,
                                 pattern->pictures ? sky_pictures_block(pattern->pictures) : NULL,
                                 NULL, 0); /* cannot fail: show_open_pictures checked the size */
    sky_pictures_free(show->pictures);
    show->pictures = pattern->pictures;
    pattern->pictures = NULL;
    sky_program_free(show->retired); /* (only set if two switches came without a frame between) */
    show->retired = show->program;
    show->program = pattern->program;
    free(show->params);
    show->params = pattern->params;
    pattern->program = NULL;
    pattern->params = NULL;
}

/* A cut to a posted pattern (taken) at this frame boundary. True when it switched. */
static bool show_cut(live_show *show, show_pattern *pattern, double *swap_ms) {
    double *values = malloc((pattern->meta.slots ? pattern->meta.slots : 1) * sizeof *values);
    if (!values) {
        show_fail_switch(show, pattern->seq, "out of memory");
        show_pattern_free(show, pattern);
        return false;
    }
    if (!show_set_running(show, pattern, swap_ms)) {
        free(values);
        show_pattern_free(show, pattern);
        return false;
    }
    bool moved = pattern->entry >= 0;
    show_install(show, pattern, values, NULL, NULL);
    show_take_running(show, pattern, false);
    show_pattern_free(show, pattern);
    show_pattern_event(show, moved);
    return true;
}

/*
 * Ends the fade: the incoming pattern becomes the running one, and its
 * pictures, open and updated since the fade began, the running pictures (no
 * reopening); the outgoing pattern's are closed. If the runtime refuses it,
 * or `abort_why` is not NULL, the outgoing pattern stays, with its
 * description, values and pictures, and the incoming one is closed.
 */
static void show_fade_end(live_show *show, const char *abort_why) {
    sky_runtime *rt = show->config.runtime;
    double swap_ms = 0;
    bool ok = false;
    if (abort_why) {
        /* show->meta is the incoming pattern's during a fade (show_fade_start) */
        fprintf(stderr, "%s: the cross-fade to %s stops: %s; keeping %s\n", show->config.cmd,
                show->meta.name, abort_why, show->outgoing_meta.name);
    } else {
        ok = show_set_running(show, &show->incoming, &swap_ms);
    }
    if (ok) show_take_running(show, &show->incoming, show->incoming_mixed);
    /* The runtime lets go of the incoming block before it is freed (after a hand-over it
     * holds none: this clears the other pair, which is the outgoing pattern's). */
    sky_runtime_set_incoming_pictures(rt, NULL, NULL, 0);
    show->incoming_mixed = false;
    pthread_mutex_lock(&show->lock);
    if (!ok) {
        show_meta_free(&show->meta);
        free(show->values);
        show->meta = show->outgoing_meta;
        show->values = show->outgoing_values;
        show->values_gen++;
        show->values_seen = show->values_gen;
        memset(&show->outgoing_meta, 0, sizeof show->outgoing_meta);
        show->outgoing_values = NULL;
    }
    show->fading = false;
    pthread_mutex_unlock(&show->lock);
    if (ok) fprintf(stderr, "%s: cross-fade to %s done\n", show->config.cmd, show->meta.name);
    show_pattern_free(show, &show->incoming); /* what the runtime did not take */
    show_meta_free(&show->outgoing_meta);
    free(show->outgoing_values);
    show->outgoing_values = NULL;
    show_pattern_event(show, false);
}

/* Starts fading from the running pattern to a posted one (taken) at time t. */
static void show_fade_start(live_show *show, show_pattern *pattern, double t, double fade_s) {
    double *values = malloc((pattern->meta.slots ? pattern->meta.slots : 1) * sizeof *values);
    if (!values) {
        show_fail_switch(show, pattern->seq, "out of memory");
        show_pattern_free(show, pattern);
        return;
    }
    bool moved = pattern->entry >= 0;
    show_install(show, pattern, values, &show->outgoing_meta, &show->outgoing_values);
    show->incoming = *pattern;
    memset(pattern, 0, sizeof *pattern);
    /* Its pictures reach the runtime at the first mix frame (their first update reports
     * them new); until then the incoming pattern samples none, never a stale block. */
    sky_runtime_set_incoming_pictures(show->config.runtime, NULL, NULL, 0);
    show->incoming_mixed = false;
    show->fade_start_t = t;
    show->fade_s = fade_s;
    pthread_mutex_lock(&show->lock);
    show->fading = true;
    pthread_mutex_unlock(&show->lock);
    fprintf(stderr, "%s: reloaded %s: cross-fading over %g s\n", show->config.cmd, show->meta.name,
            show->fade_s);
    show_pattern_event(show, moved);
}

/* Brightness, blackout and freeze as set; applies the dimmer when it changed. */
static bool show_controls(live_show *show, char *error, size_t error_len, sky_status *st) {
    pthread_mutex_lock(&show->lock);
    double level = show->blackout ? 0 : show->brightness;
    bool freeze = show->freeze;
    pthread_mutex_unlock(&show->lock);
    *st = SKY_OK;
    if (level != show->applied_brightness) {
        *st = sky_runtime_set_brightness(show->config.runtime, level, error, error_len);
        if (*st == SKY_OK) show->applied_brightness = level;
    }
    return freeze;
}

sky_status live_show_render(live_show *show, double t, double dt, char *error, size_t error_len) {
    show_pattern pattern;
    pthread_mutex_lock(&show->lock);
    pattern = show->pending;
    memset(&show->pending, 0, sizeof show->pending);
    show->pending.entry = -1;
    double crossfade_s = show->crossfade_s;
    pthread_mutex_unlock(&show->lock);

    double swap_ms = 0;
    bool switched = false;
    /* A change during a fade ends the fade first (the incoming pattern takes over at
     * once, with its pictures), then cuts or fades from there: one fade at a time. */
    if (pattern.program && show->incoming.program) show_fade_end(show, NULL);
    if (pattern.program && crossfade_s > 0)
        show_fade_start(show, &pattern, t, crossfade_s);
    else if (pattern.program)
        switched = show_cut(show, &pattern, &swap_ms);
    if (show->incoming.program &&
        (t - show->fade_start_t) / show->fade_s >= 1) /* the fade is over */
        show_fade_end(show, NULL);

    bool fading = show->incoming.program != NULL;
    double *target = fading ? show->incoming.params : show->params;
    pthread_mutex_lock(&show->lock);
    if (show->values_seen != show->values_gen) {
        memcpy(target, show->values, show->meta.slots * sizeof *target);
        show->values_seen = show->values_gen;
    }
    pthread_mutex_unlock(&show->lock);

    sky_status st;
    bool freeze = show_controls(show, error, error_len, &st);
    if (st != SKY_OK) return st;
    sky_runtime *rt = show->config.runtime;
    /* A new video or camera frame: the runtime uploads it once (not per LED, not per frame).
     * During a cross-fade each pattern samples its own pictures, both kept up to date. */
    if (show->pictures && sky_pictures_update(show->pictures, t)) {
        st = sky_runtime_set_pictures(rt, sky_pictures_block(show->pictures), error, error_len);
        if (st != SKY_OK) return st;
    }
    if (fading && show->incoming.pictures && sky_pictures_update(show->incoming.pictures, t)) {
        char why[1024] = "";
        st = sky_runtime_set_incoming_pictures(rt, sky_pictures_block(show->incoming.pictures), why,
                                               sizeof why);
        if (st != SKY_OK) { /* not expected (show_open_pictures checked the size): the old
                               pattern goes on rather than the show stopping */
            show_fade_end(show, why);
            fading = false;
        }
    }
    uint64_t render_start = sky_frame_now_ns();
    if (freeze && show->rendered) {
        st = sky_runtime_render_hold(rt, error, error_len);
    } else if (fading) {
        st = sky_runtime_render_mix(
            rt, t, dt, show->params, show->incoming.pipeline, t, dt, show->incoming.params,
            (t - show->fade_start_t) / show->fade_s, error, error_len);
        show->incoming_mixed = show->incoming_mixed || st == SKY_OK;
    } else {
        st = sky_runtime_render(rt, t, dt, show->params, error, error_len);
    }
    if (st != SKY_OK) return st;
    show->rendered = true;
    if (switched) /* the render thread's whole cost of a switch: swap + first frame */
        fprintf(stderr, "%s: reloaded %s (pipeline swap %.1f ms, first frame %.1f ms)\n",
                show->config.cmd, show->meta.name, swap_ms,
                (double)(sky_frame_now_ns() - render_start) / 1e6);
    sky_program_free(show->retired); /* its frames are complete now */
    show->retired = NULL;
    return SKY_OK;
}

void live_show_frame_done(live_show *show, uint64_t frame, uint64_t now_ns, uint64_t late,
                          uint64_t dropped) {
    pthread_mutex_lock(&show->lock);
    show->frame = frame;
    show->late = late;
    show->dropped = dropped;
    if (show->fps_since_ns == 0) {
        show->fps_since_ns = now_ns;
        show->fps_since_frame = frame;
    } else if (now_ns - show->fps_since_ns >= SHOW_FPS_WINDOW_NS) {
        show->fps =
            (double)(frame - show->fps_since_frame) / ((double)(now_ns - show->fps_since_ns) / 1e9);
        show->fps_since_ns = now_ns;
        show->fps_since_frame = frame;
    }
    pthread_mutex_unlock(&show->lock);
}

/* During a fade both patterns' pictures decode, so both count (the render thread's own). */
bool live_show_picture_stats(live_show *show, sky_pictures_stats *stats) {
    if (!show->pictures && !show->incoming.pictures) return false;
    sky_pictures_get_stats(show->pictures, stats);
    if (!show->incoming.pictures) return true;
    sky_pictures_stats in;
    sky_pictures_get_stats(show->incoming.pictures, &in);
    stats->video_decoded += in.video_decoded;
    stats->video_dropped += in.video_dropped;
    stats->video_shown += in.video_shown;
    stats->camera_frames += in.camera_frames;
    stats->camera_lost += in.camera_lost;
    stats->camera_damaged += in.camera_damaged;
    stats->updates += in.updates;
    stats->decode_ns += in.decode_ns;
    stats->convert_ns += in.convert_ns;
    stats->mip_ns += in.mip_ns;
    stats->copy_ns += in.copy_ns;
    return true;
}

void live_show_get_stats(live_show *show, live_show_stats *stats) {
    pthread_mutex_lock(&show->lock);
    *stats = (live_show_stats){show->fps, show->frame, show->late, show->dropped};
    pthread_mutex_unlock(&show->lock);
}

/* ------------------------------------------------------------ the first pattern */

/* Sets `program` (taken) with `params` (taken) as the running pattern, directly on the runtime. */
static bool show_set_first(live_show *show, const char *name, const char *source, size_t len,
                           sky_program *program, double *params, const uint32_t *words,
                           size_t word_count) {
    char error[1024] = "";
    show_pattern pattern = {.program = program, .params = params, .entry = 0};
    double *values = malloc((sky_program_param_slots(program) + 1) * sizeof *values);
    sky_status st = SKY_ERR_NOMEM;
    if (values && show_meta_build(&pattern.meta, name, program, source, len))
        st = words ? sky_runtime_set_program_spirv(show->config.runtime, program, words, word_count,
                                                   error, sizeof error)
                   : sky_runtime_set_program(show->config.runtime, program, error, sizeof error);
    if (st == SKY_OK &&
        !show_open_pictures(show, name, program, &pattern.pictures, error, sizeof error)) {
        free(values);
        show_pattern_free(show, &pattern);
        return false; /* printed */
    }
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", show->config.cmd, error[0] ? error : sky_status_str(st));
        free(values);
        show_pattern_free(show, &pattern);
        return false;
    }
    show_install(show, &pattern, values, NULL, NULL);
    show->program = program;
    show->params = params;
    show->pictures = pattern.pictures;
    show_meta_free(&pattern.meta);
    return true;
}

int live_show_first(live_show *show, const char *path, const char *source, size_t len,
                    sky_program *program, double *params, json_object *diagnostics,
                    bool black_on_failure) {
    const char *cmd = show->config.cmd;
    pthread_mutex_lock(&show->lock);
    show->diagnostics = diagnostics;
    pthread_mutex_unlock(&show->lock);
    if (!program) {
        free(params);
        if (!black_on_failure) return 1;
    } else {
        size_t word_count = 0;
        bool cancelled = false; /* only a stop cancels this build: checked below */
        char message[512] = "";
        uint32_t *words = show_build_shader(show, path, program, source, len, -1, &word_count,
                                            &cancelled, message, sizeof message);
        bool ok = false;
        if (words) /* takes program and params, whatever happens */
            ok = show_set_first(show, path, source, len, program, params, words, word_count);
        else {
            sky_program_free(program);
            free(params);
        }
        free(words);
        if (ok || live_signals_stopped()) return 0;
        if (!black_on_failure) return 2;
    }
    /* Black until a good save: a boot with a broken file must not end in a restart loop. */
    if (show->config.playlist_count > 1)
        fprintf(stderr, "%s: showing black until the playlist moves on from %s\n", cmd, path);
    else
        fprintf(stderr, "%s: showing black until %s compiles; watching it\n", cmd, path);
    sky_program *black = NULL;
    char message[256];
    if (live_compile_source(cmd, SHOW_BLACK_NAME, SHOW_BLACK_SOURCE, strlen(SHOW_BLACK_SOURCE),
                            &black) != 0)
        return 2;
    double *none = show_params_for(show, black, message, sizeof message);
    if (!none) {
        sky_program_free(black);
        return 2;
    }
    return show_set_first(show, SHOW_BLACK_NAME, NULL, 0, black, none, NULL, 0) ? 0 : 2;
}

/* ---------------------------------------------------------------- playlist */

/* Loads playlist entry `index` from its file and waits for the switch. */
static live_status show_load_entry(live_show *show, size_t index, char *message,
                                   size_t message_len) {
    const char *path = show->config.playlist[index];
    char error[512];
    size_t len = 0;
    char *source = cli_read_file(path, &len, error, sizeof error);
    if (!source) {
        show_message(message, message_len, "%s", error);
        fprintf(stderr, "%s: %s\n", show->config.cmd, error);
        return LIVE_FAILED;
    }
    fprintf(stderr, "%s: playlist: %s (entry %zu of %zu)\n", show->config.cmd, path, index + 1,
            show->config.playlist_count);
    json_object *diagnostics = NULL;
    live_status status =
        show_load_wait(show, path, source, len, (long)index, &diagnostics, message, message_len);
    json_object_put(diagnostics);
    free(source);
    return status;
}

/*
 * Moves to the first entry after `from` (before it when `backwards`) that can
 * be shown, wrapping, skipping those that fail.
 */
static live_status show_advance(live_show *show, size_t from, bool backwards, char *message,
                                size_t message_len) {
    size_t n = show->config.playlist_count;
    live_status status = LIVE_FAILED;
    for (size_t step = 1; step <= n && status != LIVE_OK && status != LIVE_STOPPING; step++) {
        size_t index = backwards ? (from + n - step % n) % n : (from + step) % n;
        status = show_load_entry(show, index, message, message_len);
        if (status != LIVE_OK && status != LIVE_STOPPING)
            fprintf(stderr, "%s: playlist: skipping %s\n", show->config.cmd,
                    show->config.playlist[index]);
    }
    return status;
}

static live_status show_step(live_show *show, bool backwards, char *message, size_t message_len) {
    if (show->config.playlist_count < 2) {
        show_message(message, message_len, "there is no playlist (sky run A.sky B.sky ...)");
        return LIVE_UNKNOWN;
    }
    pthread_mutex_lock(&show->lock);
    size_t from = show->entry;
    pthread_mutex_unlock(&show->lock);
    return show_advance(show, from, backwards, message, message_len);
}

live_status live_show_next(live_show *show, char *message, size_t message_len) {
    return show_step(show, false, message, message_len);
}

live_status live_show_previous(live_show *show, char *message, size_t message_len) {
    return show_step(show, true, message, message_len);
}

live_status live_show_select(live_show *show, size_t index, char *message, size_t message_len) {
    if (index >= show->config.playlist_count) {
        show_message(message, message_len, "no playlist entry %zu (the playlist has %zu)", index,
                     show->config.playlist_count);
        return LIVE_UNKNOWN;
    }
    return show_load_entry(show, index, message, message_len);
}

/*
 * The playlist thread: after `each` seconds of an entry on the LEDs, the next
 * one; and the current entry again when SIGHUP asked (live_show_reload_entry).
 */
static void *show_playlist_main(void *context) {
    live_show *show = context;
    uint64_t each_ns = (uint64_t)llround(show->config.each_s * 1e9);
    pthread_mutex_lock(&show->lock);
    while (!show->stopping) {
        uint64_t due = show->entry_shown_ns + each_ns;
        bool reload = show->reload_requested;
        if (!reload && (each_ns == 0 || sky_frame_now_ns() < due)) {
            struct timespec until = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
            if (each_ns == 0)
                pthread_cond_wait(&show->changed, &show->lock);
            else
                pthread_cond_timedwait(&show->changed, &show->lock, &until);
            continue; /* woken: a switch, a select, a reload or the end; look again */
        }
        show->reload_requested = false;
        size_t from = show->entry;
        pthread_mutex_unlock(&show->lock);
        char message[512];
        live_status status = reload ? show_load_entry(show, from, message, sizeof message)
                                    : show_advance(show, from, false, message, sizeof message);
        pthread_mutex_lock(&show->lock);
        if (status != LIVE_OK && !reload) /* none could be shown: try again after `each` */
            show->entry_shown_ns = sky_frame_now_ns();
    }
    pthread_mutex_unlock(&show->lock);
    return NULL;
}

void live_show_reload_entry(live_show *show) {
    pthread_mutex_lock(&show->lock);
    show->reload_requested = true;
    pthread_cond_broadcast(&show->changed);
    pthread_mutex_unlock(&show->lock);
}

bool live_show_start_playlist(live_show *show) {
    if (show->config.playlist_count < 2) return true;
    pthread_mutex_lock(&show->lock);
    show->entry_shown_ns = sky_frame_now_ns();
    pthread_mutex_unlock(&show->lock);
    int err = pthread_create(&show->playlist_thread, NULL, show_playlist_main, show);
    if (err != 0) {
        fprintf(stderr, "%s: cannot start the playlist thread: %s\n", show->config.cmd,
                strerror(err));
        return false;
    }
    show->playlist_started = true;
    return true;
}

/* ------------------------------------------------------ the studio's calls */

double live_show_set_crossfade(live_show *show, double seconds) {
    if (!isfinite(seconds) || seconds < 0) seconds = 0;
    if (seconds > SHOW_CROSSFADE_MAX) seconds = SHOW_CROSSFADE_MAX;
    pthread_mutex_lock(&show->lock);
    show->crossfade_s = seconds;
    pthread_mutex_unlock(&show->lock);
    json_object *event = show_event("crossfade");
    if (event) json_object_object_add(event, "crossfade", json_object_new_double(seconds));
    show_emit(show, event);
    return seconds;
}

/*
 * The running pattern's text, and the show's file as it is on disk: after a
 * save with errors the two differ (the show keeps the pattern that compiled),
 * and an editor opened then must show the file, not the running text. The
 * file's own diagnostics come along (a compile only, printed nowhere), so the
 * editor marks its errors without sending it to be run: while the show is
 * still loading a new file, running it again would load it twice.
 */
json_object *live_show_source(live_show *show) {
    json_object *out = json_object_new_object();
    if (!out) return NULL;
    pthread_mutex_lock(&show->lock);
    json_object_object_add(out, "pattern",
                           json_object_new_string(show->meta.name ? show->meta.name : ""));
    json_object_object_add(out, "path", show_json_path(show));
    json_object_object_add(out, "source",
                           json_object_new_string_len(show->meta.source ? show->meta.source : "",
                                                      (int)show->meta.source_len));
    char *path = show_file(show) ? strdup(show_file(show)) : NULL;
    pthread_mutex_unlock(&show->lock);
    /* Read outside the lock: the render thread must never wait on the disk. */
    char error[256];
    size_t len = 0;
    char *file = path ? cli_read_file(path, &len, error, sizeof error) : NULL;
    json_object_object_add(out, "file", file ? json_object_new_string_len(file, (int)len) : NULL);
    json_object *file_diagnostics = NULL;
    if (file) {
        sky_program *program = NULL;
        sky_diagnostics *diags = NULL;
        sky_compile(path, file, len, NULL, &program, &diags);
        file_diagnostics = show_diagnostics_json(diags);
        sky_program_free(program);
        sky_diagnostics_free(diags);
    }
    json_object_object_add(out, "file_diagnostics", file_diagnostics);
    free(file);
    free(path);
    return out;
}

/*
 * Writes `len` bytes to `path` atomically: a temporary file beside it (so
 * that the rename stays on one file system) with the old file's mode,
 * flushed, then renamed over it. A reader sees the old text or the new,
 * never a part. False with a message; the temporary file is removed.
 */
static bool show_write_atomic(const char *path, const char *data, size_t len, char *message,
                              size_t message_len) {
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) : 1;
    if (snprintf(tmp, sizeof tmp, "%.*s/.sky-save-XXXXXX", dir_len, slash ? path : ".") >=
        (int)sizeof tmp) {
        show_message(message, message_len, "%s: the path is too long", path);
        return false;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        show_message(message, message_len, "cannot write beside %s: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
    const char *failed = fchmod(fd, mode) != 0 ? "fchmod" : NULL;
    for (size_t done = 0; !failed && done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) failed = "write";
        else done += (size_t)n;
    }
    if (!failed && fsync(fd) != 0) failed = "fsync";
    if (close(fd) != 0 && !failed) failed = "close";
    if (!failed && rename(tmp, path) != 0) failed = "rename";
    if (failed) {
        show_message(message, message_len, "cannot save %s: %s: %s", path, failed, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

live_status live_show_save(live_show *show, const char *source, size_t len, json_object **result,
                           char *message, size_t message_len) {
    *result = NULL;
    pthread_mutex_lock(&show->lock);
    const char *file = show_file(show);
    size_t entry = show->entry;
    pthread_mutex_unlock(&show->lock);
    if (!file) {
        show_message(message, message_len,
                     "the show has no file to save to (its pattern came from standard input)");
        return LIVE_CONFLICT;
    }
    /* A link is followed: its target is the file the user edits (and the link stays a link). */
    char target[PATH_MAX];
    bool linked = realpath(file, target) && strcmp(target, file) != 0;
    if (!linked) snprintf(target, sizeof target, "%s", file);
    if (!show_write_atomic(target, source, len, message, message_len)) return LIVE_FAILED;
    fprintf(stderr, "%s: saved %s (%zu bytes, control API)\n", show->config.cmd, file, len);
    *result = json_object_new_object();
    if (*result) {
        json_object_object_add(*result, "path", json_object_new_string(file));
        json_object_object_add(*result, "bytes", json_object_new_int64((int64_t)len));
    }
    /* The watcher sees the rename in the file's directory; a link's target lives elsewhere. */
    if (show->config.file_watched && !linked) return LIVE_OK;
    show_source_event(show, file, source, len);
    json_object *diagnostics = NULL;
    char why[512];
    show_load_wait(show, file, source, len, (long)entry, &diagnostics, why, sizeof why);
    json_object_put(diagnostics);
    return LIVE_OK;
}

/* ------------------------------------------------------------ create and free */

bool live_show_create(const live_show_config *config, live_show **out) {
    *out = NULL;
    live_show *show = calloc(1, sizeof *show);
    if (!show) {
        fprintf(stderr, "%s: out of memory\n", config->cmd);
        return false;
    }
    show->config = *config;
    show->pending.entry = -1;
    show->incoming.entry = -1;
    show->applied_brightness = 1; /* the runtime's after create */
    live_json_number_format();
    show->brightness = config->brightness;
    show->crossfade_s = config->crossfade_s;
    show->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (show->stop_fd < 0) {
        fprintf(stderr, "%s: eventfd: %s\n", config->cmd, strerror(errno));
        free(show);
        return false;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the playlist's timed waits */
    pthread_cond_init(&show->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&show->lock, NULL);
    pthread_mutex_init(&show->listen_lock, NULL);
    *out = show;
    return true;
}

void live_show_stop(live_show *show) {
    if (!show) return;
    pthread_mutex_lock(&show->lock);
    bool first = !show->stopping;
    show->stopping = true;
    pthread_cond_broadcast(&show->changed);
    pthread_mutex_unlock(&show->lock);
    if (first) {
        uint64_t one = 1;
        if (write(show->stop_fd, &one, sizeof one) != sizeof one)
            fprintf(stderr, "%s: cannot cancel the builds in flight: %s\n", show->config.cmd,
                    strerror(errno));
    }
}

void live_show_free(live_show *show) {
    if (!show) return;
    live_show_stop(show);
    if (show->playlist_started) pthread_join(show->playlist_thread, NULL);
    show_pattern_free(show, &show->pending);
    show_pattern_free(show, &show->incoming);
    show_meta_free(&show->outgoing_meta);
    free(show->outgoing_values);
    show_meta_free(&show->meta);
    json_object_put(show->diagnostics);
    sky_program_free(show->retired);
    sky_program_free(show->program);
    sky_pictures_free(show->pictures);
    free(show->params);
    free(show->values);
    close(show->stop_fd);
    pthread_cond_destroy(&show->changed);
    pthread_mutex_destroy(&show->lock);
    pthread_mutex_destroy(&show->listen_lock);
    free(show);
}

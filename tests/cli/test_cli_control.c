/*
 * test_cli_control.c - the control API of `sky run` through the real binary
 * (label "gpu"): `sky run --control 127.0.0.1:0 --osc 0` as a child process,
 * its ports read from what it prints, requests from plain-socket clients
 * (control_client.c), and every frame read from the frame file and compared
 * with the CPU evaluator (within 2/255, the language's promise).
 *
 *   params    GET /api/state's shape; PUT /api/params/level over HTTP and
 *             /sky/param/level over OSC: every frame begun after the change
 *             has the new value, and /api/events reports it; clamping;
 *             unknown name 404, bad values 400, all as JSON errors
 *   pattern   POST /api/pattern with errors: 422 with diagnostics (code,
 *             message, line, column) and the show goes on with the old
 *             pattern; one over the cost budget: 422, the same; a good one:
 *             200 and the new pattern on the LEDs
 *   studio    /api/state's path and colours, /api/source GET and PUT (the file,
 *             the source event, the LEDs), an external edit, a save with
 *             errors, /api/layout against the layout module, the stats event
 *   options   (no device) bad --control, --control-token and --osc values
 *             are refused before the frame file is created
 *   abuse     malformed JSON, a huge body, 200 idle connections, a client
 *             that leaves mid-request: frames keep coming, the server still
 *             answers; SIGTERM with WebSocket clients open exits 0 and ends
 *             their connections
 *
 * Which frame a change reaches: after a reply, F is the newest frame
 * published; frame F + 1 may have been rendering during the request, so
 * frames from F + 2 on began after it and must show the change.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <lo/lo.h>

#include "cli_harness.h"
#include "control_client.h"
#include "sky/abi.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/sky.h"

#define LAYOUT   "grid:8x4"
#define SAFETY_S 120.0 /* a generous bound on anything a loaded machine does */

/* Red is the param; the same on every LED. */
#define LEVEL_PATTERN "param level = 0.2 in 0..1\nout rgb(level, 0.5, x * 0.5 + 0.5)\n"
#define OTHER_PATTERN "out rgb(0, y * 0.5 + 0.5, 0.25)\n"
#define BROKEN_PATTERN "param level = 0.2 in 0..1\nout rgb(level, oops, 0)\n"
/* Legal, over the runtime's per-LED cost budget (as test_cli_show's playlist uses). */
#define HEAVY_PATTERN "out rgb(sum(i in 0..8, fbm(vec3(x + i, y, t), 8)) / 10, 0, 0)\n"

typedef struct show {
    cli_show run;
    char dir[256];
    uint16_t http, osc;
} show;

/* Starts `sky run PATTERN --control 127.0.0.1:0 --osc 0` at 10 fps; waits for its ports and file. */
static void show_start(show *s, const char *source) {
    memset(s, 0, sizeof *s);
    cli_tmpdir(s->dir, sizeof s->dir);
    char pattern[512], frame_path[512];
    cli_path(pattern, sizeof pattern, s->dir, "live.sky");
    cli_path(frame_path, sizeof frame_path, s->dir, "frame");
    cli_write_file(pattern, source);
    const char *argv[] = {"run",     pattern,     "--frame", frame_path, "--fps", "10",
                          "--layout", LAYOUT,     "--control", "127.0.0.1:0", "--osc", "0",
                          NULL};
    cli_spawn(&s->run.proc, s->dir, argv);
    s->http = control_wait_port(&s->run.proc, "control API on http://127.0.0.1:");
    s->osc = control_wait_port(&s->run.proc, "OSC on udp://127.0.0.1:");
    cli_show_open_frames(&s->run, frame_path);
}

static void show_stop(show *s) {
    cli_show_stop(&s->run);
    cli_tmpdir_remove(s->dir);
}

/* The newest frame published now (F in the header comment). */
static uint64_t newest_frame(show *s) {
    uint64_t frame = 0;
    char error[512] = "";
    if (sky_frame_reader_read(s->run.reader, s->run.pixels, s->run.len, &frame, error,
                              sizeof error) == SKY_OK)
        s->run.last_frame = frame;
    return s->run.last_frame;
}

/* `source` on LAYOUT as the CPU evaluates it at t = 0 with `level` (NULL: defaults). */
static uint8_t *cpu_frame(const char *source, const double *level) {
    sky_program *program = cli_compile(source);
    sky_layout *layout = NULL;
    char error[512];
    assert_int_equal(sky_layout_create(LAYOUT, &layout, error, sizeof error), SKY_OK);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = malloc(layout->led_count * sizeof *inputs);
    uint8_t *bytes = malloc((size_t)layout->led_count * 3);
    assert_non_null(inputs);
    assert_non_null(bytes);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    double params[4] = {0};
    if (level) {
        assert_int_equal(sky_program_param_slots(program), 1);
        params[0] = *level;
    }
    sky_frame_inputs fi = {0, 0, 0, level ? params : NULL};
    assert_int_equal(sky_program_eval(program, &view, inputs, &fi, NULL, NULL, bytes), SKY_OK);
    free(inputs);
    sky_layout_free(layout);
    sky_program_free(program);
    return bytes;
}

static bool bytes_close(const uint8_t *a, const uint8_t *b, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (abs((int)a[i] - (int)b[i]) > 2) return false;
    return true;
}

/* Every frame from `from` on, up to `count` of them, is `want`. */
static void expect_frames(show *s, uint64_t from, const uint8_t *want, int count,
                          const char *what) {
    int seen = 0;
    while (seen < count) {
        cli_show_next_frame(&s->run, what);
        if (s->run.last_frame < from) continue;
        if (!bytes_close(s->run.pixels, want, s->run.len))
            fail_msg("%s: frame %llu is %d,%d,%d, expected %d,%d,%d", what,
                     (unsigned long long)s->run.last_frame, s->run.pixels[0], s->run.pixels[1],
                     s->run.pixels[2], want[0], want[1], want[2]);
        seen++;
    }
}

/* Waits (on frames) until one is `want`: for OSC, which has no reply. Returns its number. */
static uint64_t wait_frame(show *s, const uint8_t *want, const char *what) {
    double end = cli_now() + SAFETY_S;
    for (;;) {
        cli_show_next_frame(&s->run, what);
        if (bytes_close(s->run.pixels, want, s->run.len)) return s->run.last_frame;
        if (cli_now() > end) fail_msg("%s: the frames never changed", what);
    }
}

static json_object *request_json(show *s, const char *method, const char *path,
                                 const char *body, int status) {
    control_reply r = control_client_request(s->http, NULL, method, path, body);
    if (r.status != status)
        fail_msg("%s %s %s: %d %s, expected %d", method, path, body ? body : "", r.status,
                 r.body, status);
    json_object *obj = json_tokener_parse(r.body);
    if (!obj) fail_msg("%s %s: reply is not JSON: %s", method, path, r.body);
    control_reply_free(&r);
    return obj;
}

static json_object *field(json_object *obj, const char *key) {
    json_object *value = NULL;
    if (!json_object_object_get_ex(obj, key, &value)) fail_msg("no \"%s\" in the reply", key);
    return value;
}

/* The next event of kind `want` (NULL: any but stats, which come once a second). */
static json_object *ws_event(int fd, const char *want) {
    for (;;) {
        int opcode = 0;
        uint8_t *payload = NULL;
        size_t len = 0;
        if (!control_ws_read(fd, &opcode, &payload, &len, SAFETY_S))
            fail_msg("no WebSocket message");
        assert_int_equal(opcode, 1);
        json_object *obj = json_tokener_parse((const char *)payload);
        if (!obj) fail_msg("not JSON: %s", payload);
        free(payload);
        json_object *kind = NULL;
        const char *name =
            json_object_object_get_ex(obj, "event", &kind) ? json_object_get_string(kind) : "";
        if (want ? strcmp(name, want) == 0 : strcmp(name, "stats") != 0) return obj;
        json_object_put(obj);
    }
}

static json_object *ws_json(int fd) { return ws_event(fd, NULL); }

static void osc_send_level(show *s, float level) {
    lo_message msg = lo_message_new();
    lo_message_add_float(msg, level);
    size_t size = 0;
    void *data = lo_message_serialise(msg, "/sky/param/level", NULL, &size);
    lo_message_free(msg);
    control_osc_send(s->osc, data, size);
    free(data);
}

/* ------------------------------------------------------------------ tests */

static void test_control_params(void **state) {
    (void)state;
    show s;
    show_start(&s, LEVEL_PATTERN);
    uint8_t *start = cpu_frame(LEVEL_PATTERN, NULL);
    expect_frames(&s, 0, start, 2, "at start");

    json_object *st = request_json(&s, "GET", "/api/state", NULL, 200);
    assert_non_null(strstr(json_object_get_string(field(st, "pattern")), "live.sky"));
    json_object *params = field(st, "params");
    assert_int_equal(json_object_array_length(params), 1);
    json_object *level = json_object_array_get_idx(params, 0);
    assert_string_equal(json_object_get_string(field(level, "name")), "level");
    assert_string_equal(json_object_get_string(field(level, "type")), "float");
    assert_true(json_object_get_double(field(level, "value")) == 0.2);
    assert_true(json_object_get_double(field(level, "min")) == 0.0);
    assert_true(json_object_get_double(field(level, "max")) == 1.0);
    assert_true(json_object_get_int64(field(st, "frame")) >= 1);
    assert_true(json_object_get_double(field(st, "brightness")) == 1.0);
    assert_true(json_object_is_type(field(st, "diagnostics"), json_type_array));
    assert_true(json_object_is_type(field(st, "playlist"), json_type_object));
    (void)field(st, "fps"), (void)field(st, "blackout"), (void)field(st, "freeze");
    json_object_put(st);

    /* HTTP: every frame begun after the reply has the new value, and the events say so. */
    int events = control_ws_open(s.http, "/api/events", NULL);
    assert_true(events >= 0);
    json_object *event = ws_json(events);
    assert_string_equal(json_object_get_string(field(event, "event")), "state");
    json_object_put(event);
    json_object *r = request_json(&s, "PUT", "/api/params/level", "0.8", 200);
    assert_true(json_object_get_double(field(r, "value")) == 0.8);
    json_object_put(r);
    event = ws_json(events);
    assert_string_equal(json_object_get_string(field(event, "event")), "params");
    assert_string_equal(json_object_get_string(field(event, "name")), "level");
    assert_true(json_object_get_double(field(event, "value")) == 0.8);
    json_object_put(event);
    control_ws_close(events);
    uint64_t f = newest_frame(&s);
    double v = 0.8;
    uint8_t *high = cpu_frame(LEVEL_PATTERN, &v);
    expect_frames(&s, f + 2, high, 3, "after PUT level 0.8");

    /* Clamped to the range, and the reply says so. */
    r = request_json(&s, "PUT", "/api/params/level", "5", 200);
    assert_true(json_object_get_double(field(r, "value")) == 1.0);
    json_object_put(r);
    f = newest_frame(&s);
    v = 1.0;
    uint8_t *full = cpu_frame(LEVEL_PATTERN, &v);
    expect_frames(&s, f + 2, full, 2, "after PUT level 5 (clamped)");

    /* OSC: no reply, so wait for the change, then it stays. */
    osc_send_level(&s, 0.25f);
    v = 0.25;
    uint8_t *quarter = cpu_frame(LEVEL_PATTERN, &v);
    f = wait_frame(&s, quarter, "after /sky/param/level 0.25");
    expect_frames(&s, f + 1, quarter, 2, "after /sky/param/level 0.25");

    /* Errors, as JSON, and the show does not change. */
    r = request_json(&s, "PUT", "/api/params/nope", "1", 404);
    assert_non_null(strstr(json_object_get_string(field(r, "error")), "nope"));
    json_object_put(r);
    r = request_json(&s, "PUT", "/api/params/level", "\"high\"", 400);
    assert_non_null(strstr(json_object_get_string(field(r, "error")), "must be a number"));
    json_object_put(r);
    r = request_json(&s, "PUT", "/api/params/level", "[0.1, 0.2]", 400);
    json_object_put(r);
    r = request_json(&s, "PUT", "/api/params/level", "{", 400);
    assert_non_null(strstr(json_object_get_string(field(r, "error")), "malformed JSON"));
    json_object_put(r);
    f = newest_frame(&s);
    expect_frames(&s, f + 1, quarter, 2, "after the refused requests");

    free(start), free(high), free(full), free(quarter);
    show_stop(&s);
}

static void check_diagnostic(json_object *reply) {
    json_object *diagnostics = field(reply, "diagnostics");
    assert_true(json_object_array_length(diagnostics) >= 1);
    json_object *d = json_object_array_get_idx(diagnostics, 0);
    assert_string_equal(json_object_get_string(field(d, "severity")), "error");
    assert_true(json_object_get_string(field(d, "code"))[0] == 'E');
    assert_non_null(strstr(json_object_get_string(field(d, "message")), "oops"));
    assert_int_equal(json_object_get_int(field(d, "line")), 2);
    assert_int_equal(json_object_get_int(field(d, "column")), 16);
}

static void test_control_pattern(void **state) {
    (void)state;
    show s;
    show_start(&s, LEVEL_PATTERN);
    uint8_t *old = cpu_frame(LEVEL_PATTERN, NULL);
    expect_frames(&s, 0, old, 2, "at start");

    json_object *body = json_object_new_object();
    json_object_object_add(body, "source", json_object_new_string(BROKEN_PATTERN));
    json_object *r = request_json(&s, "POST", "/api/pattern", json_object_to_json_string(body), 422);
    json_object_put(body);
    check_diagnostic(r);
    json_object_put(r);
    /* The show goes on with the old pattern, and the state keeps the diagnostics. */
    uint64_t f = newest_frame(&s);
    expect_frames(&s, f + 1, old, 3, "after the broken pattern");
    json_object *st = request_json(&s, "GET", "/api/state", NULL, 200);
    assert_non_null(strstr(json_object_get_string(field(st, "pattern")), "live.sky"));
    json_object_put(st);

    body = json_object_new_object();
    json_object_object_add(body, "source", json_object_new_string(HEAVY_PATTERN));
    r = request_json(&s, "POST", "/api/pattern", json_object_to_json_string(body), 422);
    json_object_put(body);
    assert_non_null(strstr(json_object_get_string(field(r, "error")), "budget"));
    json_object_put(r);
    f = newest_frame(&s);
    expect_frames(&s, f + 1, old, 3, "after the heavy pattern");

    /* A good one switches; it answers once it is on the LEDs. */
    body = json_object_new_object();
    json_object_object_add(body, "source", json_object_new_string(OTHER_PATTERN));
    r = request_json(&s, "POST", "/api/pattern", json_object_to_json_string(body), 200);
    json_object_put(body);
    assert_int_equal(json_object_array_length(field(r, "diagnostics")), 0);
    json_object_put(r);
    f = newest_frame(&s);
    uint8_t *other = cpu_frame(OTHER_PATTERN, NULL);
    expect_frames(&s, f + 2, other, 3, "after the good pattern");

    free(old), free(other);
    show_stop(&s);
}

static void test_control_abuse(void **state) {
    (void)state;
    show s;
    show_start(&s, LEVEL_PATTERN);
    uint8_t *want = cpu_frame(LEVEL_PATTERN, NULL);
    expect_frames(&s, 0, want, 1, "at start");

    json_object *r = request_json(&s, "PUT", "/api/params/level", "[1, 2", 400);
    json_object_put(r);
    static const char huge[] = "POST /api/pattern HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 3000000000\r\n\r\n{\"source\": \"";
    control_reply reply = control_client_raw(s.http, huge, sizeof huge - 1);
    assert_int_equal(reply.status, 413);
    control_reply_free(&reply);

    enum { IDLE = 200 };
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++) idle[i] = control_client_connect(s.http);
    int cut = control_client_connect(s.http);
    static const char partial[] = "PUT /api/params/level HTTP/1.1\r\nContent-Length: 50\r\n\r\n0.";
    assert_true(send(cut, partial, sizeof partial - 1, MSG_NOSIGNAL) > 0);
    close(cut);
    /* The show renders on while they hang: ten more frames, all as before. */
    uint64_t f = newest_frame(&s);
    expect_frames(&s, f + 1, want, 10, "with 200 idle connections");
    /* And the server answers (once its workers time the idle ones out). */
    json_object *st = request_json(&s, "GET", "/api/state", NULL, 200);
    json_object_put(st);
    for (int i = 0; i < IDLE; i++) close(idle[i]);
    r = request_json(&s, "PUT", "/api/params/level", "0.2", 200);
    json_object_put(r);

    /* SIGTERM with WebSocket clients open: exit 0 (show_stop checks), and they see the end. */
    int events = control_ws_open(s.http, "/api/events", NULL);
    int frames = control_ws_open(s.http, "/api/frames?fps=30", NULL);
    assert_true(events >= 0 && frames >= 0);
    int opcode = 0;
    uint8_t *payload = NULL;
    size_t len = 0;
    assert_true(control_ws_read(frames, &opcode, &payload, &len, SAFETY_S));
    assert_int_equal(opcode, 2);
    assert_int_equal(len, 16 + s.run.len);
    free(payload);
    free(want);
    show_stop(&s);
    for (int fd = events, round = 0; round < 2; fd = frames, round++) {
        while (control_ws_read(fd, &opcode, &payload, &len, SAFETY_S)) free(payload);
        close(fd);
    }
}

/* Each bad option: exit 2 with a message naming it, and no frame file. */
/* The next `source` event whose text is `text` (earlier ones, of earlier saves, are skipped). */
static void wait_source_event(int events, const char *text, const char *path) {
    for (;;) {
        json_object *e = ws_event(events, "source");
        bool match = strcmp(json_object_get_string(field(e, "source")), text) == 0;
        if (match) assert_string_equal(json_object_get_string(field(e, "path")), path);
        json_object_put(e);
        if (match) return;
    }
}

/*
 * The studio's routes on the real show: the layout as the frame file has it,
 * the source and its file, a save from the API (atomic, then on the LEDs), an
 * external edit (a source event, then on the LEDs), a colour param in the
 * state, the stats event.
 */
static void test_control_studio(void **state) {
    (void)state;
    show s;
    show_start(&s, LEVEL_PATTERN);
    char pattern[512];
    cli_path(pattern, sizeof pattern, s.dir, "live.sky");

    json_object *st = request_json(&s, "GET", "/api/state", NULL, 200);
    assert_string_equal(json_object_get_string(field(st, "path")), pattern);
    assert_true(json_object_is_type(field(st, "late"), json_type_int));
    json_object *level = json_object_array_get_idx(field(st, "params"), 0);
    assert_false(json_object_get_boolean(field(level, "color")));
    json_object_put(st);
    json_object *src = request_json(&s, "GET", "/api/source", NULL, 200);
    assert_string_equal(json_object_get_string(field(src, "source")), LEVEL_PATTERN);
    assert_string_equal(json_object_get_string(field(src, "path")), pattern);
    assert_string_equal(json_object_get_string(field(src, "file")), LEVEL_PATTERN);
    assert_int_equal(json_object_array_length(field(src, "file_diagnostics")), 0);
    json_object_put(src);

    /* The layout: LAYOUT's LEDs where the layout module puts them. */
    sky_layout *layout = NULL;
    char error[512];
    assert_int_equal(sky_layout_create(LAYOUT, &layout, error, sizeof error), SKY_OK);
    json_object *l = request_json(&s, "GET", "/api/layout", NULL, 200);
    assert_string_equal(json_object_get_string(field(l, "layout")), LAYOUT);
    assert_int_equal(json_object_get_int(field(l, "leds")), layout->led_count);
    json_object *positions = field(l, "positions");
    assert_int_equal(json_object_array_length(positions), 2 * (size_t)layout->led_count);
    for (size_t i = 0; i < 2 * (size_t)layout->led_count; i++)
        assert_true(fabs(json_object_get_double(json_object_array_get_idx(positions, i)) -
                         layout->xy[i]) < 1e-4);
    json_object *strips = field(l, "strips");
    assert_int_equal(json_object_array_length(strips), layout->strip_count);
    assert_true(json_object_get_double(field(l, "spacing")) > 0);
    json_object_put(l);
    sky_layout_free(layout);

    /* A save from the studio: the file holds the text, the editor hears of it, the LEDs show it. */
    int events = control_ws_open(s.http, "/api/events", NULL);
    assert_true(events >= 0);
    json_object_put(ws_event(events, "state"));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "source", json_object_new_string(OTHER_PATTERN));
    json_object *saved = request_json(&s, "PUT", "/api/source", json_object_to_json_string(body),
                                      200);
    json_object_put(body);
    assert_string_equal(json_object_get_string(field(saved, "path")), pattern);
    assert_int_equal(json_object_get_int(field(saved, "bytes")), (int)strlen(OTHER_PATTERN));
    json_object_put(saved);
    char *on_disk = cli_slurp(pattern);
    assert_string_equal(on_disk, OTHER_PATTERN);
    free(on_disk);
    wait_source_event(events, OTHER_PATTERN, pattern);
    uint8_t *other = cpu_frame(OTHER_PATTERN, NULL);
    wait_frame(&s, other, "after PUT /api/source");
    free(other);

    /* An edit from another editor: a source event, then the pattern, whose colour param says so. */
    static const char color_pattern[] = "param tint = rgb(1, 0.5, 0) color\nout tint\n";
    cli_replace_file(pattern, color_pattern);
    wait_source_event(events, color_pattern, pattern);
    for (;;) {
        json_object *e = ws_event(events, "pattern");
        json_object *params = field(e, "params");
        bool done = json_object_array_length(params) == 1;
        if (done) {
            json_object *tint = json_object_array_get_idx(params, 0);
            assert_string_equal(json_object_get_string(field(tint, "name")), "tint");
            assert_true(json_object_get_boolean(field(tint, "color")));
        }
        json_object_put(e);
        if (done) break;
    }
    uint8_t *tint = cpu_frame(color_pattern, NULL);
    wait_frame(&s, tint, "after the external edit");
    free(tint);

    /* A save with errors is saved all the same, and the show keeps its pattern. */
    body = json_object_new_object();
    json_object_object_add(body, "source", json_object_new_string(BROKEN_PATTERN));
    json_object_put(request_json(&s, "PUT", "/api/source", json_object_to_json_string(body), 200));
    json_object_put(body);
    on_disk = cli_slurp(pattern);
    assert_string_equal(on_disk, BROKEN_PATTERN);
    free(on_disk);
    wait_source_event(events, BROKEN_PATTERN, pattern);
    for (;;) { /* the failed compile's diagnostics, with its text, then the frames are still the tint */
        json_object *e = ws_event(events, "diagnostics");
        bool errors = json_object_array_length(field(e, "diagnostics")) > 0;
        if (errors) assert_string_equal(json_object_get_string(field(e, "source")), BROKEN_PATTERN);
        json_object_put(e);
        if (errors) break;
    }
    tint = cpu_frame(color_pattern, NULL);
    expect_frames(&s, newest_frame(&s) + 1, tint, 2, "after a save with errors");
    free(tint);
    /* The editor opened now gets the file, not the running text, and the file's errors. */
    src = request_json(&s, "GET", "/api/source", NULL, 200);
    assert_string_equal(json_object_get_string(field(src, "source")), color_pattern);
    assert_string_equal(json_object_get_string(field(src, "file")), BROKEN_PATTERN);
    json_object *file_diags = field(src, "file_diagnostics");
    assert_true(json_object_array_length(file_diags) > 0);
    assert_string_equal(json_object_get_string(field(json_object_array_get_idx(file_diags, 0),
                                                     "severity")),
                        "error");
    json_object_put(src);

    /* The stats event, once a second, with the frames clients open. */
    int viewer = control_ws_open(s.http, "/api/frames?fps=5", NULL);
    assert_true(viewer >= 0);
    for (;;) {
        json_object *e = ws_event(events, "stats");
        bool seen = json_object_get_int(field(e, "viewers")) == 1;
        assert_true(json_object_get_int64(field(e, "frame")) > 0);
        (void)field(e, "late"), (void)field(e, "dropped"), (void)field(e, "fps");
        json_object_put(e);
        if (seen) break;
    }
    control_ws_close(viewer);
    json_object_put(request_json(&s, "POST", "/api/previous", NULL, 404));
    json_object *fade = request_json(&s, "PUT", "/api/crossfade", "120", 200);
    assert_true(json_object_get_double(field(fade, "crossfade")) == 60);
    json_object_put(fade);
    control_ws_close(events);
    show_stop(&s);
}

static void test_options_control(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, LEVEL_PATTERN);
    static const struct {
        const char *option, *value, *option2, *value2, *needle;
    } cases[] = {
        {"--control", "0.0.0.0:0", NULL, NULL, "--control-token"},
        {"--control", "127.0.0.1:70000", NULL, NULL, "bad port \"70000\""},
        {"--control", "127.0.0.1:", NULL, NULL, "bad port"},
        {"--control-token", "abc", NULL, NULL, "--control-token needs --control"},
        {"--control", "127.0.0.1:0", "--control-token", "two words", "printable ASCII"},
        {"--control", "127.0.0.1:0", "--control-token", "", "--control-token is empty"},
        {"--osc", "x", NULL, NULL, "bad port \"x\""},
        {"--osc", "0.0.0.0:0", NULL, NULL, "OSC carries no token"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = {"run",          pattern,         "--frame",       frame_path,
                              cases[i].option, cases[i].value, cases[i].option2, cases[i].value2,
                              NULL};
        char *err = NULL;
        int code = cli_run(dir, args, SAFETY_S, &err);
        if (code != 2 || !strstr(err, cases[i].needle))
            fail_msg("%s %s: exit %d, expected 2 with \"%s\":\n%s", cases[i].option,
                     cases[i].value, code, cases[i].needle, err);
        free(err);
        assert_int_equal(access(frame_path, F_OK), -1);
    }
    cli_tmpdir_remove(dir);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* test_control_* (gpu) or test_options_* */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_options_control, cli_kill_children),
        cmocka_unit_test_teardown(test_control_params, cli_kill_children),
        cmocka_unit_test_teardown(test_control_pattern, cli_kill_children),
        cmocka_unit_test_teardown(test_control_abuse, cli_kill_children),
        cmocka_unit_test_teardown(test_control_studio, cli_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

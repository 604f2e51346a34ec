/*
 * test_control_server.c - the control API's servers (cli/control_http.c,
 * cli/control_osc.c) over real sockets, against a fake show defined here:
 * the live_show_* calls of cli/control.h answer from a small table and record
 * what they were asked, so that the servers' own behaviour (routes, status
 * codes, the token, limits, WebSockets, OSC) is tested without a device.
 * The real show is tested through the `sky` binary (test_cli_control.c).
 *
 *   http      every route over the wire: status codes and JSON bodies
 *   token     a non-loopback bind needs a token; 401 without it, 200 with it
 *   abuse     200 idle connections, a client that leaves mid-request, a
 *             huge declared body, garbage: the server still answers and the
 *             show was asked nothing it should not have been
 *   events    /api/events: the state first, then each change; a client that
 *             never reads is dropped with 1008 while the show's calls
 *             return at once
 *   frames    /api/frames: binary messages with the frame file's frames, at
 *             most the rate the client asked for
 *   osc       /sky/... datagrams reach the show; bad ones are ignored
 *   static    the studio's embedded files without the token, ETag/304, HEAD;
 *             hostile paths (.., %2e, //, NUL) reach nothing
 *   spacing   the layout's nearest-neighbour median equals the all-pairs one
 *   studio    /api/layout from a frame file, /api/examples from a directory,
 *             /api/source GET/PUT (409 without a file), previous, crossfade,
 *             a display name, ?token= on WebSockets, the stats event
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "control_client.h"
#include "control_parse.h"
#include "control_studio.h"
#include "sky/frame.h"

/* ------------------------------------------------------------- fake show */

struct live_show {
    pthread_mutex_t lock;
    double speed, brightness;
    bool blackout, freeze;
    size_t index;
    atomic_int param_calls, load_calls, brightness_calls;
    double crossfade;
    char loaded_name[256];
    char saved[64]; /* the text of the last PUT /api/source */
    size_t saved_len;
    bool no_file; /* PUT /api/source answers 409 */
    live_show_stats stats;
    live_show_listener listener;
    void *listener_context;
};

static live_show fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .speed = 1, .brightness = 1};

static void fake_reset(void) {
    pthread_mutex_lock(&fake.lock);
    fake.speed = 1, fake.brightness = 1, fake.blackout = false, fake.freeze = false;
    fake.index = 0;
    fake.crossfade = 0;
    fake.loaded_name[0] = fake.saved[0] = '\0';
    fake.saved_len = 0;
    fake.no_file = false;
    fake.stats = (live_show_stats){0};
    pthread_mutex_unlock(&fake.lock);
    atomic_store(&fake.param_calls, 0);
    atomic_store(&fake.load_calls, 0);
    atomic_store(&fake.brightness_calls, 0);
}

static void fake_emit(const char *json) {
    pthread_mutex_lock(&fake.lock);
    live_show_listener fn = fake.listener;
    void *context = fake.listener_context;
    pthread_mutex_unlock(&fake.lock);
    if (fn) fn(context, json, strlen(json));
}

json_object *live_show_state(live_show *show) {
    json_object *state = json_object_new_object();
    pthread_mutex_lock(&show->lock);
    json_object_object_add(state, "pattern", json_object_new_string("fake.sky"));
    json_object *params = json_object_new_array(), *speed = json_object_new_object();
    json_object_object_add(speed, "name", json_object_new_string("speed"));
    json_object_object_add(speed, "value", json_object_new_double(show->speed));
    json_object_array_add(params, speed);
    json_object_object_add(state, "params", params);
    json_object *playlist = json_object_new_object();
    json_object_object_add(playlist, "index", json_object_new_int((int)show->index));
    json_object_object_add(state, "playlist", playlist);
    json_object_object_add(state, "brightness", json_object_new_double(show->brightness));
    pthread_mutex_unlock(&show->lock);
    return state;
}

live_status live_show_set_param(live_show *show, const char *name, const double *values,
                                size_t count, json_object **applied, char *message,
                                size_t message_len) {
    atomic_fetch_add(&show->param_calls, 1);
    if (strcmp(name, "speed") != 0) {
        snprintf(message, message_len, "no param named \"%s\"", name);
        return LIVE_UNKNOWN;
    }
    if (count != 1) {
        snprintf(message, message_len, "speed is a float, not %zu numbers", count);
        return LIVE_BAD_VALUE;
    }
    double v = values[0] < 0 ? 0 : values[0] > 10 ? 10 : values[0];
    pthread_mutex_lock(&show->lock);
    show->speed = v;
    pthread_mutex_unlock(&show->lock);
    *applied = json_object_new_double(v);
    return LIVE_OK;
}

live_status live_show_load(live_show *show, const char *path, const char *name,
                           const char *source, size_t len, json_object **diagnostics,
                           char *message, size_t message_len) {
    (void)path, (void)len;
    pthread_mutex_lock(&show->lock);
    snprintf(show->loaded_name, sizeof show->loaded_name, "%s", name ? name : "");
    pthread_mutex_unlock(&show->lock);
    atomic_fetch_add(&show->load_calls, 1);
    *diagnostics = json_object_new_array();
    if (source && strstr(source, "oops")) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "severity", json_object_new_string("error"));
        json_object_object_add(d, "code", json_object_new_string("E0001"));
        json_object_object_add(d, "message", json_object_new_string("unknown name `oops`"));
        json_object_object_add(d, "line", json_object_new_int(1));
        json_object_object_add(d, "column", json_object_new_int(1));
        json_object_array_add(*diagnostics, d);
        snprintf(message, message_len, "the pattern has errors");
        return LIVE_ERRORS;
    }
    return LIVE_OK;
}

double live_show_set_brightness(live_show *show, double level) {
    atomic_fetch_add(&show->brightness_calls, 1);
    double v = level < 0 ? 0 : level > 1 ? 1 : level;
    pthread_mutex_lock(&show->lock);
    show->brightness = v;
    pthread_mutex_unlock(&show->lock);
    char event[128];
    snprintf(event, sizeof event, "{\"event\":\"brightness\",\"brightness\":%g}", v);
    fake_emit(event);
    return v;
}

void live_show_set_blackout(live_show *show, bool on) { show->blackout = on; }
void live_show_set_freeze(live_show *show, bool on) { show->freeze = on; }

live_status live_show_next(live_show *show, char *message, size_t message_len) {
    (void)show;
    snprintf(message, message_len, "no playlist: give several patterns to sky run");
    return LIVE_UNKNOWN;
}

live_status live_show_select(live_show *show, size_t index, char *message, size_t message_len) {
    if (index > 2) {
        snprintf(message, message_len, "no playlist entry %zu (3 entries)", index);
        return LIVE_UNKNOWN;
    }
    pthread_mutex_lock(&show->lock);
    show->index = index;
    pthread_mutex_unlock(&show->lock);
    return LIVE_OK;
}

live_status live_show_previous(live_show *show, char *message, size_t message_len) {
    pthread_mutex_lock(&show->lock);
    show->index = (show->index + 2) % 3; /* three entries, wrapping backwards */
    pthread_mutex_unlock(&show->lock);
    (void)message, (void)message_len;
    return LIVE_OK;
}

double live_show_set_crossfade(live_show *show, double seconds) {
    double v = seconds < 0 ? 0 : seconds > 60 ? 60 : seconds;
    pthread_mutex_lock(&show->lock);
    show->crossfade = v;
    pthread_mutex_unlock(&show->lock);
    return v;
}

void live_show_get_stats(live_show *show, live_show_stats *stats) {
    pthread_mutex_lock(&show->lock);
    *stats = show->stats;
    pthread_mutex_unlock(&show->lock);
}

json_object *live_show_source(live_show *show) {
    (void)show;
    json_object *out = json_object_new_object();
    json_object_object_add(out, "pattern", json_object_new_string("fake.sky"));
    json_object_object_add(out, "path", json_object_new_string("/shows/fake.sky"));
    json_object_object_add(out, "source", json_object_new_string("out rgb(1, 0, 0)\n"));
    return out;
}

live_status live_show_save(live_show *show, const char *source, size_t len, json_object **result,
                           char *message, size_t message_len) {
    pthread_mutex_lock(&show->lock);
    bool no_file = show->no_file;
    if (!no_file) {
        show->saved_len = len < sizeof show->saved ? len : sizeof show->saved - 1;
        memcpy(show->saved, source, show->saved_len);
        show->saved[show->saved_len] = '\0';
    }
    pthread_mutex_unlock(&show->lock);
    if (no_file) {
        snprintf(message, message_len, "the show has no file to save to");
        return LIVE_CONFLICT;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "path", json_object_new_string("/shows/fake.sky"));
    json_object_object_add(*result, "bytes", json_object_new_int64((int64_t)len));
    return LIVE_OK;
}

int live_show_listen(live_show *show, live_show_listener fn, void *context) {
    pthread_mutex_lock(&show->lock);
    int id = show->listener ? -1 : 1;
    if (id > 0) show->listener = fn, show->listener_context = context;
    pthread_mutex_unlock(&show->lock);
    return id;
}

void live_show_unlisten(live_show *show, int id) {
    assert_int_equal(id, 1);
    pthread_mutex_lock(&show->lock);
    show->listener = NULL;
    pthread_mutex_unlock(&show->lock);
}

/* ------------------------------------------------------------------ setup */

typedef struct started {
    control_server *server;
    uint16_t http_port, osc_port;
    char printed[4096];
} started;

/* Starts the servers with stderr captured, to read the ports they print. */
static bool start(const control_options *options, started *out) {
    memset(out, 0, sizeof *out);
    fake_reset();
    char path[] = "/tmp/sky-control-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    bool ok = control_server_start("test", options, &fake, &out->server);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, out->printed, sizeof out->printed - 1, 0);
    out->printed[n > 0 ? n : 0] = '\0';
    close(fd);
    fprintf(stderr, "%s", out->printed);
    out->http_port = control_find_port(out->printed, "control API on http://");
    out->osc_port = control_find_port(out->printed, "OSC on udp://");
    return ok;
}

static json_object *reply_json(const control_reply *reply) {
    json_object *obj = json_tokener_parse(reply->body);
    if (!obj) fail_msg("reply is not JSON: %s", reply->body);
    return obj;
}

static const char *json_field_string(json_object *obj, const char *key) {
    json_object *field = NULL;
    if (!json_object_object_get_ex(obj, key, &field)) fail_msg("no \"%s\"", key);
    return json_object_get_string(field);
}

static void expect_status(uint16_t port, const char *token, const char *method, const char *path,
                          const char *body, int status, const char *needle) {
    control_reply r = control_client_request(port, token, method, path, body);
    if (r.status != status || (needle && !strstr(r.body, needle)))
        fail_msg("%s %s: %d %s, expected %d with %s", method, path, r.status, r.body, status,
                 needle ? needle : "-");
    if (status != 200) {
        json_object *obj = reply_json(&r); /* every error is JSON with "error" */
        assert_non_null(json_field_string(obj, "error"));
        json_object_put(obj);
    }
    control_reply_free(&r);
}

/* ------------------------------------------------------------------ tests */

static void test_http(void **state) {
    (void)state;
    control_options options = {.listen = "127.0.0.1:0"};
    started s;
    assert_true(start(&options, &s));
    assert_true(s.http_port != 0);
    uint16_t port = s.http_port;

    control_reply r = control_client_request(port, NULL, "GET", "/api/state", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Content-Type: application/json"));
    json_object *obj = reply_json(&r);
    assert_string_equal(json_field_string(obj, "pattern"), "fake.sky");
    json_object_put(obj);
    control_reply_free(&r);

    expect_status(port, NULL, "PUT", "/api/params/speed", "20", 200, "\"value\":10");
    assert_true(fake.speed == 10);
    expect_status(port, NULL, "PUT", "/api/params/nope", "1", 404, "no param named");
    expect_status(port, NULL, "PUT", "/api/params/speed", "[1,2]", 400, "not 2 numbers");
    expect_status(port, NULL, "PUT", "/api/params/speed", "{bad", 400, "malformed JSON at byte 1");
    expect_status(port, NULL, "PUT", "/api/params/speed", "", 400, "empty body");
    expect_status(port, NULL, "PUT", "/api/brightness", "0.5", 200, "\"brightness\":0.5");
    expect_status(port, NULL, "PUT", "/api/blackout", "true", 200, "\"blackout\":true");
    assert_true(fake.blackout);
    expect_status(port, NULL, "PUT", "/api/freeze", "true", 200, "\"freeze\":true");
    expect_status(port, NULL, "POST", "/api/next", NULL, 404, "no playlist");
    expect_status(port, NULL, "POST", "/api/playlist/2", NULL, 200, "\"index\":2");
    expect_status(port, NULL, "POST", "/api/playlist/7", NULL, 404, "no playlist entry 7");
    expect_status(port, NULL, "POST", "/api/pattern", "{\"source\": \"oops\"}", 422, "E0001");
    expect_status(port, NULL, "POST", "/api/pattern", "{\"source\": \"rgb(1,0,0)\"}", 200,
                  "\"diagnostics\":[]");
    expect_status(port, NULL, "GET", "/api/nothing", NULL, 404, "no route /api/nothing");
    expect_status(port, NULL, "GET", "/api/events", NULL, 426, "WebSocket");
    r = control_client_request(port, NULL, "DELETE", "/api/state", NULL);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: GET"));
    control_reply_free(&r);
    control_server_stop(s.server);
}

static void test_token(void **state) {
    (void)state;
    control_options open_options = {.listen = "0.0.0.0:0"};
    started s;
    assert_false(start(&open_options, &s));
    assert_non_null(strstr(s.printed, "--control-token"));
    control_options bad_token = {.listen = "127.0.0.1:0", .token = "has space"};
    assert_false(start(&bad_token, &s));
    assert_non_null(strstr(s.printed, "printable ASCII"));

    control_options options = {.listen = "0.0.0.0:0", .token = "s3cret-token"};
    assert_true(start(&options, &s));
    uint16_t port = s.http_port;
    control_reply r = control_client_request(port, NULL, "GET", "/api/state", NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
    control_reply_free(&r);
    expect_status(port, "s3cret-tokeN", "PUT", "/api/params/speed", "2", 401, "token");
    assert_int_equal(atomic_load(&fake.param_calls), 0);
    expect_status(port, "s3cret-token", "GET", "/api/state", NULL, 200, "fake.sky");
    assert_int_equal(control_ws_open(port, "/api/events", NULL), -1);
    int ws = control_ws_open(port, "/api/events", "s3cret-token");
    assert_true(ws >= 0);
    control_ws_close(ws);
    control_server_stop(s.server);
}

/* The server answers a request while `connections` idle sockets are open. */
static void test_abuse(void **state) {
    (void)state;
    control_options options = {.listen = "127.0.0.1:0"};
    started s;
    assert_true(start(&options, &s));
    uint16_t port = s.http_port;
    enum { IDLE = 200 };
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++) idle[i] = control_client_connect(port);

    /* A request while they hang: answered once workers time the idle ones out. */
    expect_status(port, NULL, "GET", "/api/state", NULL, 200, "fake.sky");

    /* A body far over the limit is refused from its Content-Length, before it is sent. */
    static const char huge[] = "POST /api/pattern HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 1000000000\r\n\r\n{\"source\": \"";
    control_reply r = control_client_raw(port, huge, sizeof huge - 1);
    assert_int_equal(r.status, 413);
    control_reply_free(&r);
    /* A client that leaves mid-body, and one that sends garbage. */
    int fd = control_client_connect(port);
    static const char partial[] = "PUT /api/params/speed HTTP/1.1\r\nContent-Length: 100\r\n\r\n12";
    assert_true(send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL) > 0);
    close(fd);
    r = control_client_raw(port, "\x01\x02garbage\r\n\r\n", 13);
    assert_true(r.status == 400 || r.status == 0);
    control_reply_free(&r);
    for (int i = 0; i < IDLE; i++) close(idle[i]);

    expect_status(port, NULL, "PUT", "/api/params/speed", "3", 200, "\"value\":3");
    /* Only the good request reached the show: the cut-off one never did. */
    assert_int_equal(atomic_load(&fake.param_calls), 1);
    assert_int_equal(atomic_load(&fake.load_calls), 0);
    control_server_stop(s.server);
}

/* The next event of kind `want` (NULL: any but stats, which come once a second). */
static json_object *ws_read_event(int fd, const char *want) {
    for (;;) {
        int opcode = 0;
        uint8_t *payload = NULL;
        size_t len = 0;
        if (!control_ws_read(fd, &opcode, &payload, &len, CONTROL_CLIENT_TIMEOUT_S))
            fail_msg("no WebSocket message");
        assert_int_equal(opcode, 1);
        json_object *obj = json_tokener_parse((char *)payload);
        if (!obj) fail_msg("event is not JSON: %s", payload);
        free(payload);
        json_object *kind = NULL;
        const char *name = json_object_object_get_ex(obj, "event", &kind)
                               ? json_object_get_string(kind) : "";
        if (want ? strcmp(name, want) == 0 : strcmp(name, "stats") != 0) return obj;
        json_object_put(obj);
    }
}

static json_object *ws_read_json(int fd) { return ws_read_event(fd, NULL); }

static void test_events(void **state) {
    (void)state;
    control_options options = {.listen = "127.0.0.1:0"};
    started s;
    assert_true(start(&options, &s));
    uint16_t port = s.http_port;
    int ws = control_ws_open(port, "/api/events", NULL);
    assert_true(ws >= 0);
    json_object *first = ws_read_json(ws);
    assert_string_equal(json_field_string(first, "event"), "state");
    json_object_put(first);
    expect_status(port, NULL, "PUT", "/api/brightness", "0.25", 200, NULL);
    json_object *event = ws_read_json(ws);
    assert_string_equal(json_field_string(event, "event"), "brightness");
    json_object_put(event);

    /* A client that never reads: events keep coming (each call returns: the
     * listener never blocks), its queue fills, and it is closed with 1008. */
    int slow = control_ws_open(port, "/api/events", NULL);
    assert_true(slow >= 0);
    char big[2048];
    memset(big, 'x', sizeof big);
    memcpy(big, "{\"event\":\"params\",\"pad\":\"", 25);
    memcpy(big + sizeof big - 3, "\"}", 3);
    for (int i = 0; i < 4000; i++) fake_emit(big);
    /* Read the slow client's backlog: it ends with the close frame (code 1008). */
    bool closed = false;
    for (int i = 0; i < 5000 && !closed; i++) {
        int opcode = 0;
        uint8_t *payload = NULL;
        size_t len = 0;
        if (!control_ws_read(slow, &opcode, &payload, &len, CONTROL_CLIENT_TIMEOUT_S)) break;
        if (opcode == 8) {
            assert_true(len >= 2);
            assert_int_equal((payload[0] << 8) | payload[1], 1008);
            closed = true;
        }
        free(payload);
    }
    assert_true(closed);
    close(slow);
    /* The server still answers (the first client, which did not read either, was dropped too). */
    expect_status(port, NULL, "GET", "/api/state", NULL, 200, NULL);
    control_ws_close(ws);
    control_server_stop(s.server);
}

static double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when a message (or its start) is waiting on fd. */
static bool ws_pending(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* How many of this process's threads run at nice `nice` (/proc/self/task/TID/stat, field 19). */
static int threads_at_nice(int nice) {
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[300], text[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue; /* the thread ended meanwhile */
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        const char *at = strrchr(text, ')'); /* the name may hold spaces */
        if (!at) continue;
        at++;
        for (int field = 3; field < 19 && at; field++) at = strchr(at + 1, ' ');
        if (at && atoi(at + 1) == nice) count++;
    }
    closedir(d);
    return count;
}

static void test_frames(void **state) {
    (void)state;
    char dir[] = "/tmp/sky-control-frames-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/frames", dir);
    enum { LEDS = 7 };
    sky_frame_writer_options wo = {.path = path, .led_count = LEDS};
    sky_frame_writer *writer = NULL;
    assert_int_equal(sky_frame_writer_create(&wo, &writer, NULL, 0), SKY_OK);

    control_options options = {.listen = "127.0.0.1:0", .frame_path = path};
    started s;
    assert_true(start(&options, &s));
    assert_int_equal(control_ws_open(s.http_port, "/api/frames?fps=0", NULL), -1);
    int ws = control_ws_open(s.http_port, "/api/frames?fps=60", NULL);
    assert_true(ws >= 0);
    /* Publish frames whose bytes encode their number until the client has seen three. */
    int seen = 0;
    uint64_t last = 0;
    while (seen < 3) {
        uint64_t frame = 0;
        uint8_t *slot = sky_frame_writer_begin(writer, &frame);
        for (int i = 0; i < LEDS * 3; i++) slot[i] = (uint8_t)(frame * 3 + (uint64_t)i);
        assert_int_equal(sky_frame_writer_publish(writer), SKY_OK);
        int opcode = 0;
        uint8_t *payload = NULL;
        size_t len = 0;
        assert_true(control_ws_read(ws, &opcode, &payload, &len, CONTROL_CLIENT_TIMEOUT_S));
        assert_int_equal(opcode, 2);
        assert_int_equal(len, 16 + LEDS * 3);
        uint64_t number = 0;
        for (int i = 7; i >= 0; i--) number = (number << 8) | payload[i];
        assert_true(number > last && number <= frame);
        assert_int_equal(payload[8] | payload[9] << 8, LEDS);
        assert_int_equal(payload[12], 3);
        for (int i = 0; i < LEDS * 3; i++)
            assert_int_equal(payload[16 + i], (uint8_t)(number * 3 + (uint64_t)i));
        last = number;
        seen++;
        free(payload);
    }
    /* Its sender runs below the show's threads (10 above the process's nice), where lavapipe
     * renders on the CPU. (A test run at nice 10 or more cannot tell: 19 is the floor.) */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    assert_int_equal(errno, 0);
    if (base + 10 <= 19) assert_int_equal(threads_at_nice(base + 10), 1);
    control_ws_close(ws);

    /* The rate a client asks for bounds what it gets, however fast frames come: over any
     * span, at most fps a second (+ 2: the first is sent at once, and one for rounding). */
    double start_s = cli_now_s();
    ws = control_ws_open(s.http_port, "/api/frames?fps=2", NULL);
    assert_true(ws >= 0);
    int received = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t frame = 0;
        uint8_t *slot = sky_frame_writer_begin(writer, &frame);
        memset(slot, (int)(frame & 0xff), LEDS * 3);
        assert_int_equal(sky_frame_writer_publish(writer), SKY_OK);
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
        int opcode = 0;
        uint8_t *payload = NULL;
        size_t len = 0;
        while (ws_pending(ws)) {
            assert_true(control_ws_read(ws, &opcode, &payload, &len, CONTROL_CLIENT_TIMEOUT_S));
            assert_int_equal(opcode, 2);
            received++;
            free(payload);
        }
    }
    double span_s = cli_now_s() - start_s;
    if (received > span_s * 2 + 2)
        fail_msg("fps=2: %d frames in %.2f s", received, span_s);
    assert_true(received >= 1);
    control_ws_close(ws);
    control_server_stop(s.server);
    sky_frame_writer_free(writer);
    unlink(path);
    rmdir(dir);
}

static void wait_for(atomic_int *counter, int value) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (atomic_load(counter) >= value) return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > (time_t)CONTROL_CLIENT_TIMEOUT_S)
            fail_msg("the show was not called in time");
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* ------------------------------------------------------------ the studio */

static void write_text(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A raw GET with one extra header line (If-None-Match) or none. */
static control_reply raw_get(uint16_t port, const char *method, const char *path,
                             const char *header) {
    char request[1024];
    int n = snprintf(request, sizeof request, "%s %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n", method,
                     path, header ? header : "", header ? "\r\n" : "");
    return control_client_raw(port, request, (size_t)n);
}

static const char *header_value(const char *headers, const char *name, char *out, size_t cap) {
    const char *at = strstr(headers, name);
    if (!at) return NULL;
    at += strlen(name);
    size_t n = strcspn(at, "\r\n");
    snprintf(out, cap, "%.*s", (int)n, at);
    return out;
}

/*
 * The static files: served from the embedded table without the token (the API
 * still needs it), with type, ETag and 304; no request path reaches anything
 * else, however it is spelled.
 */
static void test_static(void **state) {
    (void)state;
    control_options options = {.listen = "127.0.0.1:0", .token = "tok"};
    started s;
    assert_true(start(&options, &s));
    uint16_t port = s.http_port;
    const control_static_file *index = control_static_find("/");
    control_reply r = control_client_request(port, NULL, "GET", "/", NULL);
    if (!index) { /* built with SKY_STUDIO=OFF: the page says so */
        assert_int_equal(r.status, 404);
        assert_non_null(strstr(r.body, "without the studio"));
        control_reply_free(&r);
        control_server_stop(s.server);
        return;
    }
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, index->size);
    assert_memory_equal(r.body, index->data, index->size);
    char value[256];
    assert_non_null(header_value(r.headers, "Content-Type: ", value, sizeof value));
    assert_string_equal(value, index->type);
    assert_non_null(header_value(r.headers, "ETag: ", value, sizeof value));
    assert_string_equal(value, index->etag);
    assert_non_null(strstr(r.headers, "Cache-Control: no-cache"));
    control_reply_free(&r);
    /* Every embedded file by its name, byte for byte. */
    for (size_t i = 0; i < control_static_file_count; i++) {
        const control_static_file *f = &control_static_files[i];
        char path[300];
        snprintf(path, sizeof path, "/%s", f->name);
        r = control_client_request(port, NULL, "GET", path, NULL);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, f->size);
        assert_memory_equal(r.body, f->data, f->size);
        control_reply_free(&r);
    }
    char if_none[300];
    snprintf(if_none, sizeof if_none, "If-None-Match: %s", index->etag);
    r = raw_get(port, "GET", "/index.html", if_none);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    control_reply_free(&r);
    r = raw_get(port, "HEAD", "/", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    control_reply_free(&r);
    /* Hostile paths reach nothing but the table's files (civetweb decodes %00 to the end of
     * the path, so "/index.html%00.js" is index.html), never a file of the machine. */
    static const char *const hostile[] = {
        "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd",
        "/studio.js/../../etc/passwd", "/index.html%00.js", "/./index.htm", "/INDEX.HTML",
        "/index.html/", "/.git/config", "/%2fetc%2fpasswd", "/api/../../etc/passwd",
        "/..%2f..%2fetc%2fpasswd", "/\\..\\..\\etc\\passwd"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        r = raw_get(port, "GET", hostile[i], NULL);
        bool embedded = false;
        for (size_t k = 0; r.status == 200 && k < control_static_file_count; k++)
            embedded = embedded || (r.body_len == control_static_files[k].size &&
                                    memcmp(r.body, control_static_files[k].data, r.body_len) == 0);
        bool refused = r.status == 404 || r.status == 400 || r.status == 401;
        if (!(refused || embedded) || strstr(r.body, "root:"))
            fail_msg("GET %s: %d %s", hostile[i], r.status, r.body);
        control_reply_free(&r);
    }
    expect_status(port, NULL, "POST", "/", "{}", 405, "GET");
    /* The API still takes the token. */
    expect_status(port, NULL, "GET", "/api/state", NULL, 401, "token");
    expect_status(port, "tok", "GET", "/api/state", NULL, 200, "fake.sky");
    control_server_stop(s.server);
}

/* The median nearest-neighbour distance by comparing every pair: what the grid must match. */
static double spacing_brute(const float *xy, size_t n) {
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        d[i] = INFINITY;
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            double dx = xy[2 * i] - xy[2 * j], dy = xy[2 * i + 1] - xy[2 * j + 1];
            d[i] = fmin(d[i], sqrt(dx * dx + dy * dy));
        }
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small here */
        for (size_t j = i; j > 0 && d[j - 1] > d[j]; j--) {
            double t = d[j];
            d[j] = d[j - 1], d[j - 1] = t;
        }
    double m = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
    free(d);
    return m;
}

/* The grid search finds the same spacing as every pair does: random, disc-like, a line, ties. */
static void test_layout_spacing(void **state) {
    (void)state;
    enum { N = 1500 };
    float *xy = malloc(2 * N * sizeof *xy);
    assert_non_null(xy);
    unsigned seed = 12345;
    for (size_t i = 0; i < 2 * N; i++) {
        seed = seed * 1103515245u + 12345u;
        xy[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    assert_true(fabs(control_layout_spacing(xy, N) - spacing_brute(xy, N)) < 1e-12);
    /* A disc: 30 vanes of 50 LEDs from the centre, dense in the middle. */
    for (size_t v = 0; v < 30; v++)
        for (size_t k = 0; k < 50; k++) {
            double a = 2 * M_PI * (double)v / 30, r = (double)k / 49;
            xy[2 * (v * 50 + k)] = (float)(r * cos(a));
            xy[2 * (v * 50 + k) + 1] = (float)(r * sin(a));
        }
    assert_true(fabs(control_layout_spacing(xy, N) - spacing_brute(xy, N)) < 1e-12);
    for (size_t i = 0; i < N; i++) xy[2 * i] = (float)i / N, xy[2 * i + 1] = 0.25f; /* a strip */
    assert_true(fabs(control_layout_spacing(xy, N) - spacing_brute(xy, N)) < 1e-12);
    for (size_t i = 0; i < 2 * N; i++) xy[i] = 0.5f; /* all in one place */
    assert_true(control_layout_spacing(xy, N) == 0);
    assert_true(control_layout_spacing(xy, 1) == 0);
    free(xy);
}

/* A 3-D frame file: dims 3 and x, y, z triples; bounds of the x, y projection. */
static void layout_3d(const char *dir) {
    char path[300], message[256] = "";
    snprintf(path, sizeof path, "%s/frames3d", dir);
    static const float xy[] = {0, 0, 1, 0.5f}, z[] = {-1, 0.25f};
    sky_frame_writer_options wo = {
        .path = path, .led_count = 2, .positions = xy, .positions_z = z, .layout = "map:3d"};
    sky_frame_writer *writer = NULL;
    assert_int_equal(sky_frame_writer_create(&wo, &writer, NULL, 0), SKY_OK);
    char *text = control_layout_json(path, message, sizeof message);
    if (!text) fail_msg("%s", message);
    json_object *layout = json_tokener_parse(text), *v = NULL;
    free(text);
    assert_non_null(layout);
    assert_true(json_object_object_get_ex(layout, "dims", &v) && json_object_get_int(v) == 3);
    assert_true(json_object_object_get_ex(layout, "positions", &v));
    static const float want[] = {0, 0, -1, 1, 0.5f, 0.25f};
    assert_int_equal(json_object_array_length(v), 6);
    for (size_t i = 0; i < 6; i++)
        assert_true(json_object_get_double(json_object_array_get_idx(v, i)) == want[i]);
    assert_true(json_object_object_get_ex(layout, "bounds", &v));
    assert_true(json_object_get_double(json_object_array_get_idx(v, 3)) == 0.5);
    json_object_put(layout);
    sky_frame_writer_free(writer);
    unlink(path);
}

/* The studio's API routes against the fake show, the layout of a frame file, the gallery. */
static void test_studio_api(void **state) {
    (void)state;
    char dir[] = "/tmp/sky-control-studio-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char frame_path[300], examples[300];
    snprintf(frame_path, sizeof frame_path, "%s/frames", dir);
    snprintf(examples, sizeof examples, "%s/examples", dir);
    assert_int_equal(mkdir(examples, 0700), 0);
    write_text(examples, "b.sky", "out rgb(0, 0, 1)\n");
    write_text(examples, "a.sky", "out rgb(1, \"0\", 0)\n");
    write_text(examples, ".hidden.sky", "out rgb(1, 1, 1)\n");
    write_text(examples, "notes.txt", "not a pattern\n");
    char sub[400];
    snprintf(sub, sizeof sub, "%s/dir.sky", examples);
    assert_int_equal(mkdir(sub, 0700), 0);
    char *big = malloc(CONTROL_EXAMPLE_MAX + 2);
    assert_non_null(big);
    memset(big, '#', CONTROL_EXAMPLE_MAX + 1);
    big[CONTROL_EXAMPLE_MAX + 1] = '\0';
    write_text(examples, "big.sky", big);
    free(big);

    control_options options = {.listen = "127.0.0.1:0", .token = "t%k", .frame_path = frame_path,
                               .examples = examples};
    started s;
    assert_true(start(&options, &s));
    uint16_t port = s.http_port;
    const char *tok = "t%k";
    /* No frame file yet: 503 with Retry-After, and the layout is computed once it exists. */
    expect_status(port, tok, "GET", "/api/layout", NULL, 503, "frame file is not ready");
    static const float positions[] = {0, 0, 0.5f, 0, 0, 0.5f, 1, 1};
    static const uint32_t strips[] = {2, 2};
    sky_frame_writer_options wo = {.path = frame_path, .led_count = 4, .strip_count = 2,
                                   .strip_sizes = strips, .positions = positions,
                                   .layout = "map:test \"quoted\""};
    sky_frame_writer *writer = NULL;
    assert_int_equal(sky_frame_writer_create(&wo, &writer, NULL, 0), SKY_OK);
    control_reply r = control_client_request(port, tok, "GET", "/api/layout", NULL);
    assert_int_equal(r.status, 200);
    json_object *layout = reply_json(&r);
    control_reply_free(&r);
    assert_string_equal(json_field_string(layout, "layout"), "map:test \"quoted\"");
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(layout, "leds", &v) && json_object_get_int(v) == 4);
    assert_true(json_object_object_get_ex(layout, "dims", &v) && json_object_get_int(v) == 2);
    /* Nearest neighbours 0.5, 0.5, 0.5 and 1.118: the median is 0.5. */
    assert_true(json_object_object_get_ex(layout, "spacing", &v) &&
                json_object_get_double(v) == 0.5);
    assert_true(json_object_object_get_ex(layout, "strips", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_int_equal(json_object_get_int(json_object_array_get_idx(v, 1)), 2);
    assert_true(json_object_object_get_ex(layout, "bounds", &v));
    assert_true(json_object_get_double(json_object_array_get_idx(v, 3)) == 1);
    assert_true(json_object_object_get_ex(layout, "positions", &v));
    assert_int_equal(json_object_array_length(v), 8);
    for (size_t i = 0; i < 8; i++)
        assert_true(json_object_get_double(json_object_array_get_idx(v, i)) == positions[i]);
    json_object_put(layout);
    layout_3d(dir);

    /* The gallery: regular *.sky files of at most CONTROL_EXAMPLE_MAX bytes, by name. */
    r = control_client_request(port, tok, "GET", "/api/examples", NULL);
    assert_int_equal(r.status, 200);
    json_object *list = reply_json(&r);
    control_reply_free(&r);
    assert_int_equal(json_object_array_length(list), 2);
    json_object *first = json_object_array_get_idx(list, 0);
    assert_string_equal(json_field_string(first, "name"), "a.sky");
    assert_string_equal(json_field_string(first, "source"), "out rgb(1, \"0\", 0)\n");
    assert_string_equal(json_field_string(json_object_array_get_idx(list, 1), "name"), "b.sky");
    json_object_put(list);

    expect_status(port, tok, "GET", "/api/source", NULL, 200, "\"path\":\"/shows/fake.sky\"");
    expect_status(port, tok, "PUT", "/api/source", "{\"source\": \"out rgb(0, 1, 0)\\n\"}", 200,
                  "\"bytes\":17");
    assert_string_equal(fake.saved, "out rgb(0, 1, 0)\n");
    fake.no_file = true;
    expect_status(port, tok, "PUT", "/api/source", "{\"source\": \"x\"}", 409, "no file");
    expect_status(port, tok, "PUT", "/api/source", "{\"path\": \"/etc/passwd\"}", 400,
                  "unknown key");
    expect_status(port, tok, "POST", "/api/previous", NULL, 200, "\"index\":2");
    expect_status(port, tok, "PUT", "/api/crossfade", "99", 200, "\"crossfade\":60");
    expect_status(port, tok, "POST", "/api/pattern",
                  "{\"source\": \"out rgb(1, 0, 0)\", \"name\": \"plasma.sky\"}", 200,
                  "\"pattern\":\"plasma.sky\"");
    assert_string_equal(fake.loaded_name, "plasma.sky");

    /* WebSockets take the token in the query (percent-encoded), or refuse. */
    assert_int_equal(control_ws_open(port, "/api/events?token=t%25x", NULL), -1);
    assert_int_equal(control_ws_open(port, "/api/events", NULL), -1);
    int events = control_ws_open(port, "/api/events?token=t%25k", NULL);
    assert_true(events >= 0);
    json_object *e = ws_read_event(events, "state");
    json_object_put(e);
    /* The stats event: the show's counters and the frames clients open. */
    pthread_mutex_lock(&fake.lock);
    fake.stats = (live_show_stats){.fps = 59.5, .frame = 1234, .late = 7, .dropped = 2};
    pthread_mutex_unlock(&fake.lock);
    int viewer = control_ws_open(port, "/api/frames?fps=5&token=t%25k", NULL);
    assert_true(viewer >= 0);
    for (;;) {
        e = ws_read_event(events, "stats");
        json_object *late = NULL, *viewers = NULL, *frame = NULL, *dropped = NULL;
        assert_true(json_object_object_get_ex(e, "late", &late) &&
                    json_object_object_get_ex(e, "viewers", &viewers) &&
                    json_object_object_get_ex(e, "frame", &frame) &&
                    json_object_object_get_ex(e, "dropped", &dropped));
        bool now = json_object_get_int(viewers) == 1 && json_object_get_int(late) == 7;
        if (now) {
            assert_int_equal(json_object_get_int(frame), 1234);
            assert_int_equal(json_object_get_int(dropped), 2);
        }
        json_object_put(e);
        if (now) break;
    }
    control_ws_close(viewer);
    control_ws_close(events);
    control_server_stop(s.server);
    sky_frame_writer_free(writer);
    unlink(frame_path);
    static const char *const names[] = {"a.sky", "b.sky", ".hidden.sky", "notes.txt", "big.sky"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", examples, names[i]);
        unlink(path);
    }
    rmdir(sub);
    rmdir(examples);
    rmdir(dir);
}

static void test_osc(void **state) {
    (void)state;
    control_options options = {.osc_port = "0"};
    started s;
    assert_true(start(&options, &s));
    assert_true(s.osc_port != 0);
    size_t size = 0;
    lo_message msg = lo_message_new();
    lo_message_add_string(msg, "fast");
    void *bad = lo_message_serialise(msg, "/sky/param/speed", NULL, &size);
    lo_message_free(msg);
    control_osc_send(s.osc_port, bad, size);
    free(bad);
    control_osc_send(s.osc_port, "junk", 4);
    msg = lo_message_new();
    lo_message_add_float(msg, 4.5f);
    void *good = lo_message_serialise(msg, "/sky/param/speed", NULL, &size);
    lo_message_free(msg);
    control_osc_send(s.osc_port, good, size);
    free(good);
    wait_for(&fake.param_calls, 1);
    assert_true(fake.speed == 4.5);
    msg = lo_message_new();
    lo_message_add_float(msg, 2.0f);
    void *bright = lo_message_serialise(msg, "/sky/brightness", NULL, &size);
    lo_message_free(msg);
    control_osc_send(s.osc_port, bright, size);
    free(bright);
    wait_for(&fake.brightness_calls, 1);
    assert_true(fake.brightness == 1.0);
    /* The string-typed message was refused before reaching the show. */
    assert_int_equal(atomic_load(&fake.param_calls), 1);
    control_server_stop(s.server);

    control_options open_osc = {.osc_port = "0.0.0.0:0"};
    assert_false(start(&open_osc, &s));
    assert_non_null(strstr(s.printed, "OSC carries no token"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http),   cmocka_unit_test(test_token), cmocka_unit_test(test_abuse),
        cmocka_unit_test(test_events), cmocka_unit_test(test_frames), cmocka_unit_test(test_osc),
        cmocka_unit_test(test_static), cmocka_unit_test(test_layout_spacing),
        cmocka_unit_test(test_studio_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_control_parse.c - the control API's request parsing (cli/control_parse.c),
 * with no show and no socket: every route and its errors, JSON edge cases,
 * OSC datagrams built with liblo, the token comparison and addresses.
 *
 *   routes     each route parses to its command; unknown paths 404, wrong
 *              methods 405 naming the allowed one, WebSocket paths 426
 *   params     a number, 2 or 3 numbers; wrong shapes, non-finite and
 *              malformed JSON are 400 with a message naming the problem
 *   pattern    {"path"} or {"source"}, not both, not neither, no other keys
 *   limits     a body over CONTROL_BODY_MAX is 413; deep nesting is 400
 *   ws query   ?fps= and a percent-encoded ?token= on the WebSockets, nothing else
 *   studio     /api/layout, /api/source (GET, PUT), /api/previous, /api/crossfade,
 *              /api/examples; a pattern's display name
 *   osc        datagrams as oscsend would send them, and broken ones
 *   token      Bearer comparison; addresses and loopback
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "control_parse.h"

typedef struct parsed {
    int status;
    control_command command;
    const char *allow;
    char message[512];
} parsed;

static parsed parse(const char *method, const char *uri, const char *body) {
    parsed p;
    memset(&p, 0, sizeof p);
    p.status = control_http_parse(method, uri, body, body ? strlen(body) : 0, &p.command, &p.allow,
                                  p.message, sizeof p.message);
    return p;
}

static void expect_error(const char *method, const char *uri, const char *body, int status,
                         const char *needle) {
    parsed p = parse(method, uri, body);
    if (p.status != status || !strstr(p.message, needle))
        fail_msg("%s %s %s: status %d \"%s\", expected %d with \"%s\"", method, uri,
                 body ? body : "(none)", p.status, p.message, status, needle);
    control_command_clear(&p.command);
}

static void test_routes(void **state) {
    (void)state;
    parsed p = parse("GET", "/api/state", NULL);
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_STATE);
    p = parse("POST", "/api/next", NULL);
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_NEXT);
    p = parse("POST", "/api/playlist/12", "");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_SELECT);
    assert_int_equal(p.command.index, 12);
    p = parse("PUT", "/api/brightness", " 0.25\n");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_BRIGHTNESS);
    assert_true(p.command.values[0] == 0.25);
    p = parse("PUT", "/api/blackout", "true");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_BLACKOUT);
    assert_true(p.command.on);
    p = parse("PUT", "/api/freeze", "false");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_FREEZE);
    assert_false(p.command.on);

    expect_error("GET", "/api/nothing", NULL, 404, "no route /api/nothing");
    expect_error("GET", "/", NULL, 404, "no route /");
    expect_error("GET", "/api/params/", NULL, 404, "no route");
    expect_error("GET", "/api/params/speed", NULL, 405, "takes PUT, not GET");
    p = parse("DELETE", "/api/state", NULL);
    assert_int_equal(p.status, 405);
    assert_string_equal(p.allow, "GET");
    expect_error("GET", "/api/events", NULL, 426, "WebSocket");
    expect_error("GET", "/api/frames", NULL, 426, "WebSocket");
    expect_error("POST", "/api/playlist/x1", NULL, 400, "playlist index");
    expect_error("POST", "/api/playlist/-1", NULL, 400, "playlist index");
    expect_error("POST", "/api/playlist/99999999999999999999999", NULL, 400, "playlist index");
}

static void test_params(void **state) {
    (void)state;
    parsed p = parse("PUT", "/api/params/speed", "2.5");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_PARAM);
    assert_string_equal(p.command.name, "speed");
    assert_int_equal(p.command.count, 1);
    assert_true(p.command.values[0] == 2.5);
    p = parse("PUT", "/api/params/speed", "-3");
    assert_int_equal(p.status, 0);
    assert_true(p.command.values[0] == -3);
    p = parse("PUT", "/api/params/centre", "[0.5, -1e-3]");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.count, 2);
    assert_true(p.command.values[1] == -1e-3);
    p = parse("PUT", "/api/params/tint", "[1,0,0.5]");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.count, 3);
    assert_true(p.command.values[2] == 0.5);

    expect_error("PUT", "/api/params/speed", "", 400, "empty body");
    expect_error("PUT", "/api/params/speed", "\"fast\"", 400, "must be a number, not a string");
    expect_error("PUT", "/api/params/speed", "null", 400, "not null");
    expect_error("PUT", "/api/params/speed", "true", 400, "not a boolean");
    expect_error("PUT", "/api/params/speed", "{\"value\": 1}", 400, "not an object");
    expect_error("PUT", "/api/params/speed", "[1]", 400, "2 or 3 numbers, not 1");
    expect_error("PUT", "/api/params/speed", "[1,2,3,4]", 400, "2 or 3 numbers, not 4");
    expect_error("PUT", "/api/params/speed", "[1,\"a\"]", 400, "element 1 must be a number");
    expect_error("PUT", "/api/params/speed", "1e999", 400, "finite");
    expect_error("PUT", "/api/params/speed", "NaN", 400, "finite");
    expect_error("PUT", "/api/params/speed", "-Infinity", 400, "finite");
    expect_error("PUT", "/api/params/speed", "1 2", 400, "at byte 2");
    expect_error("PUT", "/api/params/speed", "[1, 2", 400, "at byte 5: unexpected end of data");
    expect_error("PUT", "/api/params/speed", "{\"a\":", 400, "malformed JSON");
    expect_error("PUT", "/api/params/speed", "01", 400, "malformed JSON");
    expect_error("PUT", "/api/params/speed", "'1'", 400, "malformed JSON at byte 0");
    expect_error("PUT", "/api/params/speed", "1 // comment", 400, "malformed JSON");
    /* A NUL inside the body ends nothing early: the bytes after it are an error too. */
    {
        static const char body[] = "1\0 2";
        parsed q;
        memset(&q, 0, sizeof q);
        q.status = control_http_parse("PUT", "/api/params/speed", body, sizeof body - 1,
                                      &q.command, &q.allow, q.message, sizeof q.message);
        assert_int_equal(q.status, 400);
    }
    char name[CONTROL_NAME_MAX + 20];
    memset(name, 'a', sizeof name);
    memcpy(name, "/api/params/", 12);
    name[sizeof name - 1] = '\0';
    expect_error("PUT", name, "1", 404, "no param named");
}

static void test_pattern(void **state) {
    (void)state;
    parsed p = parse("POST", "/api/pattern", "{\"path\": \"examples/plasma.sky\"}");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_PATTERN);
    assert_string_equal(p.command.path, "examples/plasma.sky");
    assert_null(p.command.source);
    control_command_clear(&p.command);
    p = parse("POST", "/api/pattern", "{\"source\": \"rgb(1, 0, 0)\\n\"}");
    assert_int_equal(p.status, 0);
    assert_null(p.command.path);
    assert_string_equal(p.command.source, "rgb(1, 0, 0)\n");
    assert_int_equal(p.command.source_len, 13);
    control_command_clear(&p.command);

    expect_error("POST", "/api/pattern", "{}", 400, "missing \"path\" or \"source\"");
    expect_error("POST", "/api/pattern", "{\"path\": \"a\", \"source\": \"b\"}", 400, "not both");
    expect_error("POST", "/api/pattern", "{\"file\": \"a\"}", 400, "unknown key \"file\"");
    expect_error("POST", "/api/pattern", "{\"path\": 3}", 400, "\"path\" must be a string");
    expect_error("POST", "/api/pattern", "{\"path\": \"\"}", 400, "\"path\" is empty");
    expect_error("POST", "/api/pattern", "{\"path\": \"a\\u0000b\"}", 400, "NUL");
    expect_error("POST", "/api/pattern", "[\"a\"]", 400, "expected an object");
    expect_error("POST", "/api/pattern", "{\"path\": \"a\"", 400, "malformed JSON");
    expect_error("GET", "/api/pattern", NULL, 405, "takes POST");
}

static void test_limits(void **state) {
    (void)state;
    size_t len = CONTROL_BODY_MAX + 1;
    char *body = malloc(len + 1);
    assert_non_null(body);
    memset(body, ' ', len);
    body[len] = '\0';
    expect_error("POST", "/api/pattern", body, 413, "over the");
    free(body);
    expect_error("PUT", "/api/params/speed", "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", 400,
                 "malformed JSON");
}

/* A WebSocket's query: fps (frames only) and a percent-encoded token, in any order, once each. */
static void test_ws_query(void **state) {
    (void)state;
    unsigned fps = 0;
    char message[256], token[CONTROL_TOKEN_MAX + 1];
    const char *frames = "/api/frames", *events = "/api/events";
#define QUERY(uri, q) control_ws_query(uri, q, &fps, token, sizeof token, message, sizeof message)
    assert_true(QUERY(frames, NULL));
    assert_int_equal(fps, CONTROL_FRAMES_FPS_DEFAULT);
    assert_string_equal(token, "");
    assert_true(QUERY(frames, "fps=30"));
    assert_int_equal(fps, 30);
    assert_false(QUERY(frames, "fps=0"));
    assert_non_null(strstr(message, "fps must be 1 to 60"));
    assert_false(QUERY(frames, "fps=61"));
    assert_false(QUERY(frames, "fps=9999"));
    assert_false(QUERY(frames, "fps=3x"));
    assert_false(QUERY(frames, "fps="));
    assert_false(QUERY(frames, "rate=3"));
    assert_non_null(strstr(message, "unknown or repeated query"));
    assert_true(QUERY(frames, "token=s%3Dcr%2Bt&fps=60"));
    assert_int_equal(fps, 60);
    assert_string_equal(token, "s=cr+t");
    assert_true(QUERY(events, "token=abc"));
    assert_string_equal(token, "abc");
    /* fps is the frames socket's only; each key once; malformed escapes and NULs refused. */
    assert_false(QUERY(events, "fps=30"));
    assert_false(QUERY(frames, "fps=30&fps=20"));
    assert_false(QUERY(events, "token=a&token=b"));
    assert_false(QUERY(events, "token=%4"));
    assert_false(QUERY(events, "token=%zz"));
    assert_false(QUERY(events, "token=a%00b"));
    assert_non_null(strstr(message, "malformed or too long token"));
    assert_false(QUERY(events, "token"));
    assert_false(QUERY(events, "&"));
    char *long_query = malloc(CONTROL_TOKEN_MAX + 16);
    assert_non_null(long_query);
    memcpy(long_query, "token=", 6);
    memset(long_query + 6, 'a', CONTROL_TOKEN_MAX + 1);
    long_query[6 + CONTROL_TOKEN_MAX + 1] = '\0';
    assert_false(QUERY(events, long_query));
    long_query[6 + CONTROL_TOKEN_MAX] = '\0';
    assert_true(QUERY(events, long_query));
    free(long_query);
#undef QUERY
    assert_true(control_token_equal("abc", "abc"));
    assert_false(control_token_equal("abd", "abc"));
    assert_false(control_token_equal("ab", "abc"));
    assert_false(control_token_equal("", ""));
}

/* The studio's routes: layout, source (GET and PUT), previous, crossfade, examples, a name. */
static void test_studio_routes(void **state) {
    (void)state;
    static const struct {
        const char *method, *uri;
        control_verb verb;
    } plain[] = {{"GET", "/api/layout", CONTROL_LAYOUT},
                 {"GET", "/api/source", CONTROL_SOURCE},
                 {"POST", "/api/previous", CONTROL_PREVIOUS},
                 {"GET", "/api/examples", CONTROL_EXAMPLES}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        parsed p = parse(plain[i].method, plain[i].uri, NULL);
        assert_int_equal(p.status, 0);
        assert_int_equal(p.command.verb, plain[i].verb);
    }
    /* /api/source takes GET and PUT: the Allow header names both. */
    parsed p = parse("POST", "/api/source", "{}");
    assert_int_equal(p.status, 405);
    assert_string_equal(p.allow, "GET, PUT");
    p = parse("PUT", "/api/source", "{\"source\": \"out rgb(1, 0, 0)\\n\"}");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_SAVE);
    assert_int_equal(p.command.source_len, 17);
    assert_string_equal(p.command.source, "out rgb(1, 0, 0)\n");
    control_command_clear(&p.command);
    expect_error("PUT", "/api/source", "{}", 400, "missing \"source\"");
    expect_error("PUT", "/api/source", "{\"source\": 3}", 400, "must be a string");
    expect_error("PUT", "/api/source", "{\"source\": \"x\", \"path\": \"/etc/passwd\"}", 400,
                 "unknown key \"path\"");
    expect_error("PUT", "/api/source", "\"out rgb(1, 0, 0)\"", 400, "expected an object");
    expect_error("GET", "/api/layout/x", NULL, 404, "no route");
    /* Crossfade: a finite number (the show clamps it). */
    p = parse("PUT", "/api/crossfade", "2.5");
    assert_int_equal(p.status, 0);
    assert_int_equal(p.command.verb, CONTROL_CROSSFADE);
    assert_true(p.command.values[0] == 2.5);
    expect_error("PUT", "/api/crossfade", "\"2\"", 400, "must be a number");
    expect_error("PUT", "/api/crossfade", "1e999", 400, "finite");
    /* A display name goes with a source only, printable, not too long. */
    p = parse("POST", "/api/pattern", "{\"source\": \"out rgb(1, 0, 0)\", \"name\": \"plasma.sky\"}");
    assert_int_equal(p.status, 0);
    assert_string_equal(p.command.display, "plasma.sky");
    control_command_clear(&p.command);
    expect_error("POST", "/api/pattern", "{\"path\": \"a.sky\", \"name\": \"b.sky\"}", 400,
                 "\"name\" goes with \"source\"");
    expect_error("POST", "/api/pattern", "{\"source\": \"x\", \"name\": \"a\\nb\"}", 400,
                 "control character");
    expect_error("POST", "/api/pattern", "{\"source\": \"x\", \"name\": \"\"}", 400, "is empty");
    char body[1200];
    snprintf(body, sizeof body, "{\"source\": \"x\", \"name\": \"%01025d\"}", 0);
    expect_error("POST", "/api/pattern", body, 400, "too long");
    /* Paths outside /api are the static files', never a route. */
    assert_true(control_is_api_path("/api"));
    assert_true(control_is_api_path("/api/state"));
    assert_false(control_is_api_path("/apix"));
    assert_false(control_is_api_path("/"));
    assert_false(control_is_api_path("/studio.js"));
}

/* An OSC datagram as liblo serialises it (what oscsend sends). */
static void *osc_datagram(const char *path, const char *types, size_t *size, ...) {
    lo_message msg = lo_message_new();
    va_list ap;
    va_start(ap, size);
    for (const char *t = types; *t; t++) {
        switch (*t) {
        case 'f': lo_message_add_float(msg, (float)va_arg(ap, double)); break;
        case 'd': lo_message_add_double(msg, va_arg(ap, double)); break;
        case 'i': lo_message_add_int32(msg, va_arg(ap, int)); break;
        case 's': lo_message_add_string(msg, va_arg(ap, const char *)); break;
        case 'T': lo_message_add_true(msg); break;
        case 'F': lo_message_add_false(msg); break;
        default: fail_msg("type %c", *t);
        }
    }
    va_end(ap);
    void *data = lo_message_serialise(msg, path, NULL, size);
    lo_message_free(msg);
    assert_non_null(data);
    return data;
}

static bool osc_parse(void *data, size_t size, control_command *command, char *message,
                      size_t message_len) {
    bool ok = control_osc_parse_datagram(data, size, command, message, message_len);
    free(data);
    return ok;
}

static void test_osc(void **state) {
    (void)state;
    control_command c;
    char message[512];
    size_t size = 0;
    void *d = osc_datagram("/sky/param/speed", "f", &size, 1.5);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_PARAM);
    assert_string_equal(c.name, "speed");
    assert_int_equal(c.count, 1);
    assert_true(c.values[0] == 1.5);
    d = osc_datagram("/sky/param/tint", "fid", &size, 0.25, 1, 0.5);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.count, 3);
    assert_true(c.values[1] == 1.0 && c.values[2] == 0.5);
    d = osc_datagram("/sky/brightness", "f", &size, 0.5);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_BRIGHTNESS);
    d = osc_datagram("/sky/blackout", "T", &size);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_BLACKOUT);
    assert_true(c.on);
    d = osc_datagram("/sky/freeze", "i", &size, 0);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_FREEZE);
    assert_false(c.on);
    d = osc_datagram("/sky/next", "", &size);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_NEXT);
    d = osc_datagram("/sky/select", "i", &size, 2);
    assert_true(osc_parse(d, size, &c, message, sizeof message));
    assert_int_equal(c.verb, CONTROL_SELECT);
    assert_int_equal(c.index, 2);

    d = osc_datagram("/sky/param/speed", "s", &size, "fast");
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    assert_non_null(strstr(message, "argument 1 must be a finite number"));
    d = osc_datagram("/sky/param/speed", "ffff", &size, 1.0, 2.0, 3.0, 4.0);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    assert_non_null(strstr(message, "1 to 3 numbers, not 4"));
    d = osc_datagram("/sky/param/speed", "", &size);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    d = osc_datagram("/sky/param/", "f", &size, 1.0);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    assert_non_null(strstr(message, "not a param name"));
    d = osc_datagram("/sky/brightness", "f", &size, (double)NAN);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    d = osc_datagram("/sky/blackout", "s", &size, "on");
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    assert_non_null(strstr(message, "T, F or a number"));
    d = osc_datagram("/sky/next", "i", &size, 1);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    d = osc_datagram("/sky/select", "f", &size, 1.5);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    d = osc_datagram("/other", "f", &size, 1.0);
    assert_false(osc_parse(d, size, &c, message, sizeof message));
    assert_non_null(strstr(message, "unknown OSC address /other"));

    static const char bundle[16] = "#bundle";
    assert_false(control_osc_parse_datagram(bundle, sizeof bundle, &c, message, sizeof message));
    assert_non_null(strstr(message, "bundles"));
    static const char junk[] = "/sky/next\0\0\0,f\0\0\1";
    assert_false(control_osc_parse_datagram(junk, sizeof junk - 1, &c, message, sizeof message));
    assert_non_null(strstr(message, "malformed OSC message"));
    assert_false(control_osc_parse_datagram("", 0, &c, message, sizeof message));
}

static void test_token_and_addresses(void **state) {
    (void)state;
    assert_true(control_token_matches("Bearer s3cret", "s3cret"));
    assert_false(control_token_matches("Bearer s3cre", "s3cret"));
    assert_false(control_token_matches("Bearer s3cret ", "s3cret"));
    assert_false(control_token_matches("bearer s3cret", "s3cret"));
    assert_false(control_token_matches("Bearer S3cret", "s3cret"));
    assert_false(control_token_matches(NULL, "s3cret"));
    assert_false(control_token_matches("", "s3cret"));

    uint32_t ip = 0;
    uint16_t port = 1;
    assert_true(control_parse_address("t", "--control", "127.0.0.1:0", "127.0.0.1", &ip, &port));
    assert_int_equal(port, 0);
    assert_true(control_is_loopback(ip));
    assert_true(control_parse_address("t", "--osc", "9000", "127.0.0.1", &ip, &port));
    assert_int_equal(port, 9000);
    assert_true(control_is_loopback(ip));
    assert_true(control_parse_address("t", "--control", "0.0.0.0:80", "127.0.0.1", &ip, &port));
    assert_false(control_is_loopback(ip));
    assert_true(control_parse_address("t", "--control", "localhost:80", "127.0.0.1", &ip, &port));
    assert_true(control_is_loopback(ip));
    assert_false(control_parse_address("t", "--control", "127.0.0.1:65536", "h", &ip, &port));
    assert_false(control_parse_address("t", "--control", "127.0.0.1:", "h", &ip, &port));
    assert_false(control_parse_address("t", "--control", "127.0.0.1:-1", "h", &ip, &port));
    assert_false(control_parse_address("t", "--control", ":80", "h", &ip, &port));
}

static void test_status_and_errors(void **state) {
    (void)state;
    assert_int_equal(control_status_http(LIVE_OK), 200);
    assert_int_equal(control_status_http(LIVE_UNKNOWN), 404);
    assert_int_equal(control_status_http(LIVE_BAD_VALUE), 400);
    assert_int_equal(control_status_http(LIVE_ERRORS), 422);
    assert_int_equal(control_status_http(LIVE_FAILED), 422);
    assert_int_equal(control_status_http(LIVE_STOPPING), 503);
    char *text = control_error_json(404, "no param named \"x\"");
    assert_non_null(text);
    json_object *obj = json_tokener_parse(text);
    assert_non_null(obj);
    json_object *field = NULL;
    assert_true(json_object_object_get_ex(obj, "error", &field));
    assert_string_equal(json_object_get_string(field), "no param named \"x\"");
    assert_true(json_object_object_get_ex(obj, "status", &field));
    assert_int_equal(json_object_get_int(field), 404);
    json_object_put(obj);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_ws_query),
        cmocka_unit_test(test_studio_routes),
        cmocka_unit_test(test_osc),
        cmocka_unit_test(test_token_and_addresses),
        cmocka_unit_test(test_status_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

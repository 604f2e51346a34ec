/*
 * control_parse.c - HTTP requests and OSC messages of the control API as
 * typed commands (control_parse.h). Pure: no socket, no show, no global
 * state, so that fuzzing and unit tests reach every branch.
 *
 * JSON goes through json-c in strict mode (no NaN, Infinity, comments or
 * single quotes: what a browser's JSON.stringify writes) with a depth limit,
 * and the whole body must be one value (trailing bytes other than
 * whitespace are an error naming their offset). Numbers must be finite:
 * 1e999 parses to infinity and is refused like a string would be.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_parse.h"

static int parse_fail(int status, char *message, size_t message_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int parse_fail(int status, char *message, size_t message_len, const char *fmt, ...) {
    if (message && message_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, message_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

void control_command_clear(control_command *command) {
    free(command->path);
    free(command->source);
    free(command->display);
    memset(command, 0, sizeof *command);
}

/* ----------------------------------------------------------------- routes */

#define ROUTE_PARAMS "/api/params/"
#define ROUTE_PLAYLIST "/api/playlist/"

typedef struct route {
    const char *path; /* exact, or a prefix when it ends in '/' */
    const char *method;
    control_verb verb;
} route;

static const route ROUTES[] = {
    {"/api/state", "GET", CONTROL_STATE},
    {ROUTE_PARAMS, "PUT", CONTROL_PARAM},
    {"/api/pattern", "POST", CONTROL_PATTERN},
    {"/api/brightness", "PUT", CONTROL_BRIGHTNESS},
    {"/api/blackout", "PUT", CONTROL_BLACKOUT},
    {"/api/freeze", "PUT", CONTROL_FREEZE},
    {"/api/next", "POST", CONTROL_NEXT},
    {ROUTE_PLAYLIST, "POST", CONTROL_SELECT},
    {"/api/layout", "GET", CONTROL_LAYOUT},
    {"/api/source", "GET", CONTROL_SOURCE},
    {"/api/source", "PUT", CONTROL_SAVE},
    {"/api/previous", "POST", CONTROL_PREVIOUS},
    {"/api/crossfade", "PUT", CONTROL_CROSSFADE},
    {"/api/examples", "GET", CONTROL_EXAMPLES},
};

static bool route_matches(const route *r, const char *uri) {
    size_t n = strlen(r->path);
    if (r->path[n - 1] == '/') return strncmp(uri, r->path, n) == 0 && uri[n] != '\0';
    return strcmp(uri, r->path) == 0;
}

static bool is_websocket_route(const char *uri) {
    return strcmp(uri, "/api/events") == 0 || strcmp(uri, "/api/frames") == 0;
}

/* The route for `uri` and `method`; else the first for `uri` (a 405), else NULL. */
static const route *route_find(const char *uri, const char *method) {
    const route *found = NULL;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!route_matches(&ROUTES[i], uri)) continue;
        if (strcmp(ROUTES[i].method, method) == 0) return &ROUTES[i];
        if (!found) found = &ROUTES[i];
    }
    return found;
}

/* The methods a path takes, for the Allow header ("GET, PUT"). */
static const char *route_allow(const char *uri) {
    bool get = false, put = false, post = false;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!route_matches(&ROUTES[i], uri)) continue;
        get = get || strcmp(ROUTES[i].method, "GET") == 0;
        put = put || strcmp(ROUTES[i].method, "PUT") == 0;
        post = post || strcmp(ROUTES[i].method, "POST") == 0;
    }
    return get && put ? "GET, PUT" : get ? "GET" : put ? "PUT" : post ? "POST" : "GET";
}

bool control_is_api_path(const char *uri) {
    return uri && strncmp(uri, "/api", 4) == 0 && (uri[4] == '\0' || uri[4] == '/');
}

int control_http_route(const char *method, const char *uri, const char **allow, char *message,
                       size_t message_len) {
    if (allow) *allow = NULL;
    if (!method || !uri) return parse_fail(400, message, message_len, "no method or path");
    if (is_websocket_route(uri))
        return parse_fail(426, message, message_len,
                          "%s is a WebSocket: connect with an Upgrade: websocket request", uri);
    const route *r = route_find(uri, method);
    if (!r) return parse_fail(404, message, message_len, "no route %s", uri);
    if (strcmp(method, r->method) != 0) {
        if (allow) *allow = route_allow(uri);
        return parse_fail(405, message, message_len, "%s takes %s, not %s", uri, route_allow(uri),
                          method);
    }
    return 0;
}

/* ------------------------------------------------------------------- JSON */

static bool body_is_blank(const char *body, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)body[i])) return false;
    return true;
}

/* The whole body as one JSON value: 0 with *value (NULL for JSON null), or 400. */
static int json_parse_body(const char *uri, const char *body, size_t len, json_object **value,
                           char *message, size_t message_len) {
    *value = NULL;
    if (len > CONTROL_BODY_MAX)
        return parse_fail(413, message, message_len, "%s: body of %zu bytes is over the %u limit",
                          uri, len, CONTROL_BODY_MAX);
    if (body_is_blank(body, len))
        return parse_fail(400, message, message_len, "%s: empty body, expected JSON", uri);
    /* json-c cannot tell "1" from the start of "12" until a terminator: parse a copy with one. */
    char *text = malloc(len + 1);
    json_tokener *tok = json_tokener_new_ex(CONTROL_JSON_DEPTH);
    if (!text || !tok) {
        free(text);
        if (tok) json_tokener_free(tok);
        return parse_fail(500, message, message_len, "out of memory");
    }
    memcpy(text, body, len);
    text[len] = '\0';
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len + 1);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t offset = json_tokener_get_parse_end(tok);
    if (offset > len) offset = len;
    json_tokener_free(tok);
    free(text);
    if (err == json_tokener_continue)
        return parse_fail(400, message, message_len, "%s: malformed JSON: ends early at byte %zu",
                          uri, len);
    if (err != json_tokener_success)
        return parse_fail(400, message, message_len, "%s: malformed JSON at byte %zu: %s", uri,
                          offset, json_tokener_error_desc(err));
    if (!body_is_blank(body + offset, len - offset)) {
        json_object_put(obj);
        return parse_fail(400, message, message_len,
                          "%s: malformed JSON: unexpected bytes after the value at byte %zu", uri,
                          offset);
    }
    *value = obj;
    return 0;
}

static const char *json_kind(const json_object *value) {
    switch (json_object_get_type(value)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double:
    case json_type_int: return "a number";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "a value";
}

static bool json_is_number(const json_object *value) {
    return json_object_is_type(value, json_type_double) || json_object_is_type(value, json_type_int);
}

/* A finite number: 0 with *out, or 400 naming `what`. */
static int json_number(const char *uri, const char *what, json_object *value, double *out,
                       char *message, size_t message_len) {
    if (!value || !json_is_number(value))
        return parse_fail(400, message, message_len, "%s: %s must be a number, not %s", uri, what,
                          value ? json_kind(value) : "null");
    double v = json_object_get_double(value);
    if (!isfinite(v))
        return parse_fail(400, message, message_len, "%s: %s must be finite", uri, what);
    *out = v;
    return 0;
}

static int parse_param(const char *uri, json_object *value, control_command *command,
                       char *message, size_t message_len) {
    const char *name = uri + strlen(ROUTE_PARAMS);
    size_t n = strlen(name);
    if (n > CONTROL_NAME_MAX)
        return parse_fail(404, message, message_len, "no param named %.32s... (%zu bytes long)",
                          name, n);
    memcpy(command->name, name, n + 1);
    if (value && json_object_is_type(value, json_type_array)) {
        size_t count = json_object_array_length(value);
        if (count < 2 || count > 3)
            return parse_fail(400, message, message_len,
                              "%s: a vector value has 2 or 3 numbers, not %zu", uri, count);
        for (size_t i = 0; i < count; i++) {
            char what[32];
            snprintf(what, sizeof what, "element %zu", i);
            int status = json_number(uri, what, json_object_array_get_idx(value, i),
                                     &command->values[i], message, message_len);
            if (status) return status;
        }
        command->count = count;
        return 0;
    }
    command->count = 1;
    return json_number(uri, "the value", value, &command->values[0], message, message_len);
}

/* A JSON string field without NUL bytes (a path) or with them allowed (a source). */
static int copy_string(const char *uri, const char *key, json_object *value, bool allow_nul,
                       char **out, size_t *out_len, char *message, size_t message_len) {
    if (!json_object_is_type(value, json_type_string))
        return parse_fail(400, message, message_len, "%s: \"%s\" must be a string, not %s", uri,
                          key, json_kind(value));
    size_t len = (size_t)json_object_get_string_len(value);
    const char *text = json_object_get_string(value);
    if (!allow_nul && memchr(text, '\0', len))
        return parse_fail(400, message, message_len, "%s: \"%s\" contains a NUL character", uri,
                          key);
    if (!allow_nul && len == 0)
        return parse_fail(400, message, message_len, "%s: \"%s\" is empty", uri, key);
    char *copy = malloc(len + 1);
    if (!copy) return parse_fail(500, message, message_len, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = copy;
    if (out_len) *out_len = len;
    return 0;
}

/* A display name: 1 to CONTROL_DISPLAY_NAME_MAX bytes, no control characters. */
static int parse_display_name(const char *uri, json_object *field, char **out, char *message,
                              size_t message_len) {
    size_t len = 0;
    int status = copy_string(uri, "name", field, false, out, &len, message, message_len);
    if (status) return status;
    const char *why = len > CONTROL_DISPLAY_NAME_MAX ? "is too long" : NULL;
    for (size_t i = 0; !why && i < len; i++)
        if ((unsigned char)(*out)[i] < ' ' || (*out)[i] == 0x7f) why = "holds a control character";
    if (!why) return 0;
    free(*out);
    *out = NULL;
    return parse_fail(400, message, message_len, "%s: \"name\" %s (at most %d bytes, printable)",
                      uri, why, CONTROL_DISPLAY_NAME_MAX);
}

/* PUT /api/source: {"source": TEXT}. */
static int parse_save(const char *uri, json_object *value, control_command *command,
                      char *message, size_t message_len) {
    if (!value || !json_object_is_type(value, json_type_object))
        return parse_fail(400, message, message_len, "%s: expected an object {\"source\": ...}, not %s",
                          uri, value ? json_kind(value) : "null");
    json_object_object_foreach(value, key, field) {
        if (strcmp(key, "source") != 0)
            return parse_fail(400, message, message_len,
                              "%s: unknown key \"%.64s\" (expected \"source\")", uri, key);
        int status = copy_string(uri, key, field, true, &command->source, &command->source_len,
                                 message, message_len);
        if (status) return status;
    }
    if (!command->source)
        return parse_fail(400, message, message_len, "%s: missing \"source\"", uri);
    return 0;
}

static int parse_pattern(const char *uri, json_object *value, control_command *command,
                         char *message, size_t message_len) {
    if (!value || !json_object_is_type(value, json_type_object))
        return parse_fail(400, message, message_len,
                          "%s: expected an object {\"path\": ...} or {\"source\": ...}, not %s",
                          uri, value ? json_kind(value) : "null");
    json_object_object_foreach(value, key, field) {
        int status = 0;
        if (strcmp(key, "path") == 0)
            status = copy_string(uri, key, field, false, &command->path, NULL, message,
                                 message_len);
        else if (strcmp(key, "source") == 0)
            status = copy_string(uri, key, field, true, &command->source, &command->source_len,
                                 message, message_len);
        else if (strcmp(key, "name") == 0)
            status = parse_display_name(uri, field, &command->display, message, message_len);
        else
            status = parse_fail(400, message, message_len,
                                "%s: unknown key \"%.64s\" (expected \"path\", \"source\" or "
                                "\"name\")",
                                uri, key);
        if (status) return status;
    }
    if (command->display && !command->source)
        return parse_fail(400, message, message_len,
                          "%s: \"name\" goes with \"source\" (a file's name is its path)", uri);
    if (command->path && command->source)
        return parse_fail(400, message, message_len,
                          "%s: give \"path\" or \"source\", not both", uri);
    if (!command->path && !command->source)
        return parse_fail(400, message, message_len, "%s: missing \"path\" or \"source\"", uri);
    return 0;
}

static int parse_switch(const char *uri, json_object *value, bool *on, char *message,
                        size_t message_len) {
    if (!value || !json_object_is_type(value, json_type_boolean))
        return parse_fail(400, message, message_len, "%s: expected true or false, not %s", uri,
                          value ? json_kind(value) : "null");
    *on = json_object_get_boolean(value);
    return 0;
}

/* A decimal index with no sign, no leading '+', no spaces, that fits size_t. */
static int parse_index(const char *uri, size_t *index, char *message, size_t message_len) {
    const char *text = uri + strlen(ROUTE_PLAYLIST);
    size_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || c - text >= 19)
            return parse_fail(400, message, message_len,
                              "%s: the playlist index must be a number from 0, not \"%.32s\"",
                              uri, text);
        v = v * 10 + (size_t)(*c - '0');
    }
    *index = v;
    return 0;
}

static bool verb_takes_body(control_verb verb) {
    switch (verb) {
    case CONTROL_PARAM:
    case CONTROL_PATTERN:
    case CONTROL_BRIGHTNESS:
    case CONTROL_BLACKOUT:
    case CONTROL_FREEZE:
    case CONTROL_SAVE:
    case CONTROL_CROSSFADE: return true;
    default: return false;
    }
}

int control_http_parse(const char *method, const char *uri, const char *body, size_t len,
                       control_command *command, const char **allow, char *message,
                       size_t message_len) {
    memset(command, 0, sizeof *command);
    int status = control_http_route(method, uri, allow, message, message_len);
    if (status) return status;
    const route *r = route_find(uri, method);
    command->verb = r->verb;
    if (!verb_takes_body(r->verb)) {
        if (r->verb == CONTROL_SELECT) return parse_index(uri, &command->index, message, message_len);
        return 0; /* a body there is ignored, as HTTP allows */
    }
    json_object *value = NULL;
    status = json_parse_body(uri, body ? body : "", body ? len : 0, &value, message, message_len);
    if (status) return status;
    switch (r->verb) {
    case CONTROL_PARAM: status = parse_param(uri, value, command, message, message_len); break;
    case CONTROL_PATTERN: status = parse_pattern(uri, value, command, message, message_len); break;
    case CONTROL_BRIGHTNESS:
        command->count = 1;
        status = json_number(uri, "the brightness", value, &command->values[0], message,
                             message_len);
        break;
    case CONTROL_BLACKOUT:
    case CONTROL_FREEZE: status = parse_switch(uri, value, &command->on, message, message_len); break;
    case CONTROL_SAVE: status = parse_save(uri, value, command, message, message_len); break;
    case CONTROL_CROSSFADE:
        command->count = 1;
        status = json_number(uri, "the cross-fade time (seconds)", value, &command->values[0],
                             message, message_len);
        break;
    default: break;
    }
    json_object_put(value);
    if (status) control_command_clear(command), command->verb = r->verb;
    return status;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes `len` bytes into out (cap bytes with the NUL): false when malformed or long. */
static bool url_decode(const char *text, size_t len, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_digit(text[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || n + 1 >= cap) return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static bool parse_fps(const char *text, size_t len, unsigned *fps) {
    unsigned v = 0;
    if (len == 0 || len > 3) return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    if (v < 1 || v > CONTROL_FRAMES_FPS_MAX) return false;
    *fps = v;
    return true;
}

bool control_ws_query(const char *uri, const char *query, unsigned *fps, char *token,
                      size_t token_cap, char *message, size_t message_len) {
    bool frames = uri && strcmp(uri, "/api/frames") == 0;
    bool have_fps = false, have_token = false;
    *fps = CONTROL_FRAMES_FPS_DEFAULT;
    if (token && token_cap) token[0] = '\0';
    if (!uri) uri = "?";
    for (const char *item = query; item && *item;) {
        const char *amp = strchr(item, '&');
        size_t len = amp ? (size_t)(amp - item) : strlen(item);
        const char *eq = memchr(item, '=', len);
        size_t key_len = eq ? (size_t)(eq - item) : len;
        const char *value = eq ? eq + 1 : item + len;
        size_t value_len = (size_t)(item + len - value);
        if (frames && key_len == 3 && memcmp(item, "fps", 3) == 0 && eq && !have_fps) {
            have_fps = true;
            if (!parse_fps(value, value_len, fps)) {
                parse_fail(400, message, message_len, "%s: fps must be 1 to %d, not \"%.*s\"",
                           uri, CONTROL_FRAMES_FPS_MAX, (int)(value_len > 16 ? 16 : value_len),
                           value);
                return false;
            }
        } else if (key_len == 5 && memcmp(item, "token", 5) == 0 && eq && !have_token) {
            have_token = true;
            if (!token || !url_decode(value, value_len, token, token_cap)) {
                parse_fail(400, message, message_len,
                           "%s: malformed or too long token= (at most %zu bytes, percent-encoded)",
                           uri, token_cap ? token_cap - 1 : 0);
                return false;
            }
        } else {
            parse_fail(400, message, message_len, "%s: unknown or repeated query \"%.*s\" (use %s)",
                       uri, (int)(len > 64 ? 64 : len), item,
                       frames ? "?fps=N&token=T" : "?token=T");
            return false;
        }
        item = amp ? amp + 1 : item + len;
    }
    return true;
}

/* -------------------------------------------------------------------- OSC */

#define OSC_PARAM "/sky/param/"

/* liblo's arguments sit at 4-byte offsets in the message, and lo_arg (a union
 * holding doubles) wants 8: read them with memcpy, never through the union. */
static bool osc_number(lo_type type, const lo_arg *arg, double *out) {
    float f;
    double d;
    int32_t i;
    int64_t h;
    switch (type) {
    case LO_FLOAT: memcpy(&f, (const void *)arg, sizeof f), *out = f; break;
    case LO_DOUBLE: memcpy(&d, (const void *)arg, sizeof d), *out = d; break;
    case LO_INT32: memcpy(&i, (const void *)arg, sizeof i), *out = i; break;
    case LO_INT64: memcpy(&h, (const void *)arg, sizeof h), *out = (double)h; break;
    default: return false;
    }
    return isfinite(*out);
}

static bool osc_fail(char *message, size_t message_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool osc_fail(char *message, size_t message_len, const char *fmt, ...) {
    if (message && message_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, message_len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* `argc` numbers, min_count to max_count of them, into command->values. */
static bool osc_numbers(const char *path, const char *types, lo_arg **argv, int argc,
                        int min_count, int max_count, control_command *command, char *message,
                        size_t message_len) {
    if (argc < min_count || argc > max_count) {
        if (min_count == max_count)
            return osc_fail(message, message_len, "%.64s takes %d number%s, not %d (types \"%.16s\")",
                            path, min_count, min_count == 1 ? "" : "s", argc, types);
        return osc_fail(message, message_len, "%.64s takes %d to %d numbers, not %d (types \"%.16s\")",
                        path, min_count, max_count, argc, types);
    }
    for (int i = 0; i < argc; i++)
        if (!osc_number((lo_type)types[i], argv[i], &command->values[i]))
            return osc_fail(message, message_len,
                            "%.64s: argument %d must be a finite number (f, d, i or h), not '%c'",
                            path, i + 1, types[i]);
    command->count = (size_t)argc;
    return true;
}

static bool osc_switch(const char *path, const char *types, lo_arg **argv, int argc, bool *on,
                       char *message, size_t message_len) {
    double v = 0;
    if (argc == 1 && types[0] == LO_TRUE) *on = true;
    else if (argc == 1 && types[0] == LO_FALSE) *on = false;
    else if (argc == 1 && osc_number((lo_type)types[0], argv[0], &v)) *on = v != 0;
    else
        return osc_fail(message, message_len,
                        "%.64s takes one argument: T, F or a number (0 off), not types \"%.16s\"",
                        path, types);
    return true;
}

bool control_osc_parse(const char *path, const char *types, lo_arg **argv, int argc,
                       control_command *command, char *message, size_t message_len) {
    memset(command, 0, sizeof *command);
    if (!path) return osc_fail(message, message_len, "OSC message without an address");
    if (!types) types = "";
    if (argc < 0 || strlen(types) != (size_t)argc)
        return osc_fail(message, message_len, "%.64s: %d arguments for type tags \"%.16s\"", path,
                        argc, types);
    if (strncmp(path, OSC_PARAM, strlen(OSC_PARAM)) == 0) {
        const char *name = path + strlen(OSC_PARAM);
        size_t n = strlen(name);
        if (n == 0 || n > CONTROL_NAME_MAX || strchr(name, '/'))
            return osc_fail(message, message_len, "%.64s: not a param name", path);
        command->verb = CONTROL_PARAM;
        memcpy(command->name, name, n + 1);
        return osc_numbers(path, types, argv, argc, 1, 3, command, message, message_len);
    }
    if (strcmp(path, "/sky/brightness") == 0) {
        command->verb = CONTROL_BRIGHTNESS;
        return osc_numbers(path, types, argv, argc, 1, 1, command, message, message_len);
    }
    if (strcmp(path, "/sky/blackout") == 0 || strcmp(path, "/sky/freeze") == 0) {
        command->verb = path[5] == 'b' ? CONTROL_BLACKOUT : CONTROL_FREEZE;
        return osc_switch(path, types, argv, argc, &command->on, message, message_len);
    }
    if (strcmp(path, "/sky/next") == 0) {
        command->verb = CONTROL_NEXT;
        if (argc != 0)
            return osc_fail(message, message_len, "/sky/next takes no argument, not types \"%.16s\"",
                            types);
        return true;
    }
    if (strcmp(path, "/sky/previous") == 0) {
        command->verb = CONTROL_PREVIOUS;
        if (argc != 0)
            return osc_fail(message, message_len,
                            "/sky/previous takes no argument, not types \"%.16s\"", types);
        return true;
    }
    if (strcmp(path, "/sky/crossfade") == 0) {
        command->verb = CONTROL_CROSSFADE;
        return osc_numbers(path, types, argv, argc, 1, 1, command, message, message_len);
    }
    if (strcmp(path, "/sky/select") == 0) {
        double v = -1;
        command->verb = CONTROL_SELECT;
        if (argc != 1 || !osc_number((lo_type)types[0], argv[0], &v) || v < 0 ||
            v != floor(v) || v > 1e9)
            return osc_fail(message, message_len,
                            "/sky/select takes one playlist index (a whole number from 0)");
        command->index = (size_t)v;
        return true;
    }
    return osc_fail(message, message_len, "unknown OSC address %.64s", path);
}

bool control_osc_parse_datagram(const void *data, size_t size, control_command *command,
                                char *message, size_t message_len) {
    memset(command, 0, sizeof *command);
    if (size >= 8 && memcmp(data, "#bundle", 8) == 0)
        return osc_fail(message, message_len, "OSC bundles are not supported: send messages");
    /* liblo reads its input in place but takes it as non-const: give it a copy. */
    void *copy = malloc(size ? size : 1);
    if (!copy) return osc_fail(message, message_len, "out of memory");
    memcpy(copy, data, size);
    int result = 0;
    lo_message msg = lo_message_deserialise(copy, size, &result);
    if (!msg) {
        free(copy);
        return osc_fail(message, message_len, "malformed OSC message (%zu bytes, liblo error %d)",
                        size, result);
    }
    /* lo_message_deserialise checked the address string; lo_get_path copies nothing. */
    const char *path = copy;
    bool ok = control_osc_parse(path, lo_message_get_types(msg), lo_message_get_argv(msg),
                                lo_message_get_argc(msg), command, message, message_len);
    lo_message_free(msg);
    free(copy);
    return ok;
}

/* ------------------------------------------------------------ HTTP extras */

int control_status_http(live_status status) {
    switch (status) {
    case LIVE_OK: return 200;
    case LIVE_UNKNOWN: return 404;
    case LIVE_BAD_VALUE: return 400;
    case LIVE_ERRORS:
    case LIVE_FAILED: return 422;
    case LIVE_STOPPING: return 503;
    case LIVE_CONFLICT: return 409;
    }
    return 500;
}

char *control_error_json(int status, const char *message) {
    json_object *obj = json_object_new_object();
    if (!obj) return NULL;
    json_object_object_add(obj, "error", json_object_new_string(message ? message : ""));
    json_object_object_add(obj, "status", json_object_new_int(status));
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text ? strdup(text) : NULL;
    json_object_put(obj);
    return copy;
}

bool control_token_matches(const char *header, const char *token) {
    static const char prefix[] = "Bearer ";
    if (!header || !token) return false;
    size_t header_len = strlen(header), token_len = strlen(token);
    if (header_len != strlen(prefix) + token_len) return false;
    /* Every byte is compared whatever differs first: the time depends on the length only. */
    unsigned char diff = 0;
    for (size_t i = 0; i < header_len; i++) {
        unsigned char want = (unsigned char)(i < strlen(prefix) ? prefix[i]
                                                                : token[i - strlen(prefix)]);
        diff |= (unsigned char)header[i] ^ want;
    }
    return diff == 0;
}

bool control_token_equal(const char *given, const char *token) {
    if (!given || !token || !*given) return false;
    size_t len = strlen(token);
    if (strlen(given) != len) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++) diff |= (unsigned char)given[i] ^ (unsigned char)token[i];
    return diff == 0;
}

/* --------------------------------------------------------------- addresses */

static bool token_valid(const char *cmd, const char *token) {
    if (!*token) {
        fprintf(stderr, "%s: --control-token is empty\n", cmd);
        return false;
    }
    for (const char *c = token; *c; c++) {
        if (*c <= ' ' || *c > '~') {
            fprintf(stderr,
                    "%s: --control-token may hold printable ASCII only (no spaces): it travels "
                    "in an HTTP header\n",
                    cmd);
            return false;
        }
    }
    return true;
}

bool control_options_valid(const char *cmd, const control_options *options) {
    uint32_t ip = 0;
    uint16_t port = 0;
    if (options->token && !token_valid(cmd, options->token)) return false;
    if (options->listen) {
        if (!control_parse_address(cmd, "--control", options->listen, "127.0.0.1", &ip, &port))
            return false;
        if (!control_is_loopback(ip) && !options->token) {
            fprintf(stderr, "%s: --control %s: %s\n", cmd, options->listen,
                    CONTROL_OPEN_NEEDS_TOKEN);
            return false;
        }
    }
    if (options->osc_port) {
        if (!control_parse_address(cmd, "--osc", options->osc_port, "127.0.0.1", &ip, &port))
            return false;
        if (!control_is_loopback(ip) && !options->token) {
            fprintf(stderr, "%s: --osc %s: %s\n", cmd, options->osc_port, CONTROL_OSC_OPEN);
            return false;
        }
    }
    return true;
}

bool control_is_loopback(uint32_t ip) { return (ntohl(ip) >> 24) == 127; }

bool control_parse_address(const char *cmd, const char *what, const char *spec,
                           const char *default_host, uint32_t *ip, uint16_t *port) {
    char host[256];
    const char *port_text = spec;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof host) {
            fprintf(stderr, "%s: %s: bad address \"%s\" (expected HOST:PORT or PORT)\n", cmd,
                    what, spec);
            return false;
        }
        memcpy(host, spec, n);
        host[n] = '\0';
        port_text = colon + 1;
    } else {
        snprintf(host, sizeof host, "%s", default_host);
    }
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(port_text, &end, 10);
    if (!*port_text || *end || errno || p > 65535 || port_text[0] == '-' || port_text[0] == '+') {
        fprintf(stderr, "%s: %s: bad port \"%s\" in \"%s\" (0 to 65535; 0 picks a free one)\n",
                cmd, what, port_text, spec);
        return false;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &found);
    if (rc != 0 || !found) {
        fprintf(stderr, "%s: %s: cannot resolve \"%s\" to an IPv4 address: %s\n", cmd, what, host,
                gai_strerror(rc));
        return false;
    }
    *ip = ((struct sockaddr_in *)found->ai_addr)->sin_addr.s_addr;
    freeaddrinfo(found);
    *port = (uint16_t)p;
    return true;
}

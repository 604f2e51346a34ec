/*
 * fuzz_control_http.c - libFuzzer target: the control API's HTTP request
 * parsing (control_http_route + control_http_parse, cli/control_parse.c) and
 * the WebSockets' query strings (?fps=, ?token=).
 *
 * Input: "METHOD PATH[?QUERY]\n" then the body, as civetweb hands them to the
 * handler (it has parsed the request line and headers; the body is the
 * client's bytes, up to the 1 MiB limit). An input without a newline is all
 * request line, with no body.
 *
 * Checked beyond "no crash": the status is one the API documents (0, 400,
 * 404, 405, 413, 426) with a message when not 0, 405 names the allowed
 * method, the route check before the body agrees with the full parse, an
 * accepted command is well formed (param: 1 to 3 finite numbers and a name;
 * pattern: exactly one of path or source), and the error body is valid JSON.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                      \
    do {                                                    \
        fprintf(stderr, "fuzz_control_http: " __VA_ARGS__); \
        fputc('\n', stderr);                                \
        abort();                                            \
    } while (0)

static void check_command(const control_command *c) {
    switch (c->verb) {
    case CONTROL_PARAM:
        if (c->count < 1 || c->count > 3 || !c->name[0]) FUZZ_FAIL("param with %zu values", c->count);
        for (size_t i = 0; i < c->count; i++)
            if (!isfinite(c->values[i])) FUZZ_FAIL("param value %zu not finite", i);
        break;
    case CONTROL_PATTERN:
        if (!c->path == !c->source) FUZZ_FAIL("pattern with both or neither of path and source");
        if (c->path && (!c->path[0] || strlen(c->path) == 0)) FUZZ_FAIL("empty path");
        if (c->display && (!c->source || !c->display[0] ||
                           strlen(c->display) > CONTROL_DISPLAY_NAME_MAX))
            FUZZ_FAIL("display name without a source, empty or too long");
        break;
    case CONTROL_BRIGHTNESS:
    case CONTROL_CROSSFADE:
        if (!isfinite(c->values[0])) FUZZ_FAIL("brightness or crossfade not finite");
        break;
    case CONTROL_SAVE:
        if (!c->source) FUZZ_FAIL("save without a source");
        break;
    default: break;
    }
}

static void check_error_json(int status, const char *message) {
    char *text = control_error_json(status, message);
    if (!text) return; /* out of memory */
    json_object *obj = json_tokener_parse(text);
    if (!obj) FUZZ_FAIL("error body is not JSON: %s", text);
    json_object_put(obj);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *newline = memchr(data, '\n', size);
    size_t line_len = newline ? (size_t)(newline - data) : size;
    char *line = malloc(line_len + 1);
    if (!line) return 0;
    memcpy(line, data, line_len);
    line[line_len] = '\0';
    /* civetweb hands over NUL-terminated strings: a NUL ends the line there. */
    char *space = strchr(line, ' ');
    const char *method = line, *uri = space ? space + 1 : "";
    if (space) *space = '\0';
    char *query = strchr(uri, '?');
    if (query) *query++ = '\0';
    const char *body = newline ? (const char *)newline + 1 : NULL;
    size_t body_len = newline ? size - line_len - 1 : 0;

    char message[512] = "";
    const char *allow = NULL;
    int routed = control_http_route(method, uri, &allow, message, sizeof message);
    control_command command;
    const char *allow2 = NULL;
    char message2[512] = "";
    int status = control_http_parse(method, uri, body, body_len, &command, &allow2, message2,
                                    sizeof message2);
    if (status != 0 && status != 400 && status != 404 && status != 405 && status != 413 &&
        status != 426)
        FUZZ_FAIL("status %d", status);
    if (status && !message2[0]) FUZZ_FAIL("status %d without a message", status);
    if (routed && routed != status) FUZZ_FAIL("route says %d, parse says %d", routed, status);
    if (status == 405 && (!allow2 || !allow2[0])) FUZZ_FAIL("405 without Allow");
    if (status == 0) check_command(&command);
    if (status) check_error_json(status, message2);
    control_command_clear(&command);

    unsigned fps = 0;
    char token[CONTROL_TOKEN_MAX + 1];
    if (control_ws_query(uri, query, &fps, token, sizeof token, message, sizeof message)) {
        if (fps < 1 || fps > CONTROL_FRAMES_FPS_MAX) FUZZ_FAIL("fps %u accepted", fps);
        if (strlen(token) > CONTROL_TOKEN_MAX) FUZZ_FAIL("token of %zu bytes", strlen(token));
    } else if (!message[0]) {
        FUZZ_FAIL("query refused without a message");
    }
    free(line);
    return 0;
}

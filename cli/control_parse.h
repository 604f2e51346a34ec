/*
 * control_parse.h - the control API's requests as typed commands, with no
 * server and no show: control_http.c and control_osc.c parse what arrives
 * here, then run the command against the show (control_execute). Keeping the
 * parsing pure lets the fuzz targets (tests/fuzz/fuzz_control_http.c,
 * fuzz_control_osc.c) and the unit tests (tests/cli/test_control_parse.c)
 * drive every byte a client can send without a device.
 *
 * Errors carry the HTTP status a client gets (400, 404, 405, 413, 426) and a
 * message naming the problem and where it is (the route, the JSON byte
 * offset, the OSC argument).
 */
#ifndef SKY_CLI_CONTROL_PARSE_H
#define SKY_CLI_CONTROL_PARSE_H

#include <json-c/json.h>
#include <lo/lo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"

/* A body over this is refused with 413 before it is read: a pattern's source
 * is a few KiB (the largest example is under 4 KiB), so 1 MiB is generous. */
#define CONTROL_BODY_MAX (1u << 20)
/* Longest param name accepted (the language's identifiers are far shorter in practice). */
#define CONTROL_NAME_MAX 128
/* JSON nesting deeper than this is malformed for every route (the deepest valid body is 2). */
#define CONTROL_JSON_DEPTH 8
/* A pattern's display name (POST /api/pattern "name"): a name or a path, never opened. */
#define CONTROL_DISPLAY_NAME_MAX 1024
/* Cross-fade seconds the API sets: larger values are clamped to this. */
#define CONTROL_CROSSFADE_MAX 60.0
/* The token in a WebSocket's ?token=, decoded (--control-token is printable ASCII). */
#define CONTROL_TOKEN_MAX 256
/* Frames WebSocket: ?fps=N, 1 to this; 10 when not given. */
#define CONTROL_FRAMES_FPS_MAX 60
#define CONTROL_FRAMES_FPS_DEFAULT 10

typedef enum control_verb {
    CONTROL_STATE,      /* GET  /api/state */
    CONTROL_PARAM,      /* PUT  /api/params/NAME, /sky/param/NAME */
    CONTROL_PATTERN,    /* POST /api/pattern */
    CONTROL_BRIGHTNESS, /* PUT  /api/brightness, /sky/brightness */
    CONTROL_BLACKOUT,   /* PUT  /api/blackout, /sky/blackout */
    CONTROL_FREEZE,     /* PUT  /api/freeze, /sky/freeze */
    CONTROL_NEXT,       /* POST /api/next, /sky/next */
    CONTROL_SELECT,     /* POST /api/playlist/INDEX, /sky/select */
    CONTROL_LAYOUT,     /* GET  /api/layout (answered by the server: the frame file's layout) */
    CONTROL_SOURCE,     /* GET  /api/source */
    CONTROL_SAVE,       /* PUT  /api/source */
    CONTROL_PREVIOUS,   /* POST /api/previous, /sky/previous */
    CONTROL_CROSSFADE,  /* PUT  /api/crossfade, /sky/crossfade */
    CONTROL_EXAMPLES,   /* GET  /api/examples (answered by the server: the examples directory) */
} control_verb;

typedef struct control_command {
    control_verb verb;
    char name[CONTROL_NAME_MAX + 1]; /* CONTROL_PARAM */
    double values[3];                /* CONTROL_PARAM (count of them), CONTROL_BRIGHTNESS and
                                        CONTROL_CROSSFADE ([0]) */
    size_t count;
    bool on;      /* CONTROL_BLACKOUT, CONTROL_FREEZE */
    size_t index; /* CONTROL_SELECT */
    char *path;   /* CONTROL_PATTERN: malloc'd, or NULL */
    char *source; /* CONTROL_PATTERN, CONTROL_SAVE: malloc'd (source_len bytes, NUL after), or NULL */
    size_t source_len;
    char *display; /* CONTROL_PATTERN with a source: the display name (malloc'd), or NULL */
} control_command;

/* Frees what a parse allocated (path, source, display); the command can be parsed into again. */
void control_command_clear(control_command *command);

/*
 * Where a request goes, before its body is read: 0 when `method` `uri`
 * names a route, else the HTTP status (404 no such route, 405 a route that
 * takes other methods: *allow lists them, 426 a WebSocket route asked
 * without the upgrade) with a message. Paths outside /api are the studio's
 * static files (control_is_api_path false): the server looks them up in
 * its embedded table, never here.
 */
bool control_is_api_path(const char *uri);
int control_http_route(const char *method, const char *uri, const char **allow, char *message,
                       size_t message_len);

/*
 * Parses a whole request: 0 with *command set, or the HTTP status (as
 * control_http_route, and 400 for a body that is not what the route takes:
 * malformed JSON with its byte offset, a value of the wrong type, a number
 * that is not finite; 413 for a body over CONTROL_BODY_MAX) with a message.
 * `body` need not be NUL-terminated; the command owns copies.
 */
int control_http_parse(const char *method, const char *uri, const char *body, size_t len,
                       control_command *command, const char **allow, char *message,
                       size_t message_len);

/*
 * A WebSocket's query string: "fps=N" (/api/frames only; NULL or absent: the
 * default) and "token=T" (percent-encoded; browsers cannot set the
 * Authorization header on a WebSocket), in any order, each at most once.
 * *token gets the decoded token, "" when none was given. False with a
 * message for anything else.
 */
bool control_ws_query(const char *uri, const char *query, unsigned *fps, char *token,
                      size_t token_cap, char *message, size_t message_len);

/*
 * An OSC message (path, type tags, arguments as liblo gives them): true with
 * *command set, false with a message naming the address and the argument.
 * Numbers may be sent as f, d, i or h; switches as T, F or a number.
 */
bool control_osc_parse(const char *path, const char *types, lo_arg **argv, int argc,
                       control_command *command, char *message, size_t message_len);
/* A datagram as received (liblo deserialises it); false with a message for malformed bytes. */
bool control_osc_parse_datagram(const void *data, size_t size, control_command *command,
                                char *message, size_t message_len);

/* The HTTP status of a live_status (control.h): 200, 404, 400, 422, 503. */
int control_status_http(live_status status);

/* {"error": message, "status": status} as JSON text (malloc'd; NULL when out of memory). */
char *control_error_json(int status, const char *message);

/*
 * Runs a command against the show: the HTTP status and the response body
 * (*response, malloc'd JSON text; NULL only when out of memory). The OSC
 * server ignores the body and prints failures.
 */
int control_execute(live_show *show, const control_command *command, char **response);

/* Constant-time comparison of a request's Authorization header with "Bearer TOKEN". */
bool control_token_matches(const char *header, const char *token);
/* Constant-time comparison of a token sent in a WebSocket's ?token= with the server's ("" never matches). */
bool control_token_equal(const char *given, const char *token);

/* ------------------------------------------------------- control_osc.c */

typedef struct control_osc control_osc;
/* Binds UDP `spec` (PORT or HOST:PORT; loopback unless a HOST is named) and starts its thread. */
bool control_osc_start(const char *cmd, const char *spec, bool have_token, live_show *show,
                       control_osc **osc);
void control_osc_stop(control_osc *osc);

#define CONTROL_OPEN_NEEDS_TOKEN                                                              \
    "other machines could reach it: give --control-token TOKEN too (clients then send "      \
    "Authorization: Bearer TOKEN), or listen on 127.0.0.1"
#define CONTROL_OSC_OPEN                                                                      \
    "other machines could send to it, and OSC carries no token: give --control-token TOKEN " \
    "to confirm, or listen on 127.0.0.1"
/*
 * Checks the options before anything starts (so that `sky run` refuses a bad
 * --control before it replaces the frame file): addresses, the token's
 * characters, and a token for any address off loopback. False after printing.
 */
bool control_options_valid(const char *cmd, const control_options *options);

/* Splits HOST:PORT (or PORT alone: default_host) and resolves it to an IPv4 address. */
bool control_parse_address(const char *cmd, const char *what, const char *spec,
                           const char *default_host, uint32_t *ip, uint16_t *port);
/* True for 127.0.0.0/8 (ip in network order). */
bool control_is_loopback(uint32_t ip);

#endif

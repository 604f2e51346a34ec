/*
 * control_http.c - the control API's HTTP server (civetweb): JSON routes,
 * the /api/events and /api/frames WebSockets, the bearer token, and
 * control_server_start/stop, which also start the OSC server (control_osc.c).
 *
 * Nothing a client does can stall a frame: requests run on civetweb's worker
 * threads and reach the show only through the live_show_* calls (control.h),
 * which hold the show's lock for a copy. The server's own limits:
 *   - CONTROL_HTTP_THREADS workers, each request read and written under a
 *     CONTROL_HTTP_TIMEOUT_MS socket timeout, no keep-alive: a slow or idle
 *     client holds one worker for at most that long per read or write; more
 *     connections wait in the listen queue (listen_backlog 256).
 *   - bodies over CONTROL_BODY_MAX are refused (413) before they are read.
 *   - each WebSocket client has a sender thread of its own; events reach it
 *     through a queue of CONTROL_EVENT_QUEUE messages. A client that lets its
 *     queue fill is sent a close (1008) and gets nothing more: the show's
 *     listener callback only copies into queues and never waits on a socket.
 *   - a frames client's sender runs at nice CONTROL_FRAMES_NICE: where the
 *     device is the CPU (lavapipe), viewers take what the show leaves.
 *   - at most CONTROL_EVENT_CLIENTS and CONTROL_FRAME_CLIENTS WebSockets of
 *     each kind, so that they never take every worker (a WebSocket keeps its
 *     worker thread while it is open).
 */
#include <arpa/inet.h>
#include <civetweb.h>
#include <errno.h>
#include <netinet/in.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "control_parse.h"
#include "control_studio.h"
#include "sky/frame.h"

#define CONTROL_HTTP_THREADS 64
#define CONTROL_HTTP_TIMEOUT_MS 5000
/* Idle WebSockets are pinged this often; civetweb drops one whose pings go unanswered. */
#define CONTROL_WS_PING_MS 10000
#define CONTROL_EVENT_CLIENTS 16
#define CONTROL_FRAME_CLIENTS 8
#define CONTROL_EVENT_QUEUE 256
/* The frames WebSocket's message header: frame u64, LED count u32, channels u32 (little-endian). */
#define CONTROL_FRAME_HEADER 16
/* The frames senders' nice value, above the process's own (the show's threads keep that). */
#define CONTROL_FRAMES_NICE 10
/* The stats event goes to /api/events clients this often. */
#define CONTROL_STATS_PERIOD_NS 1000000000ull
/* WebSocket close codes (RFC 6455 7.4.1). */
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_INTERNAL 1011

typedef enum ws_kind { WS_EVENTS, WS_FRAMES } ws_kind;

typedef struct ws_client {
    struct control_server *server;
    ws_kind kind;
    struct mg_connection *conn; /* valid from ready until close */
    int fd;                     /* its socket (ws_socket_find), -1 when not found */
    struct sockaddr_in peer;
    pthread_t sender;
    bool sender_started;
    unsigned fps;
    /* events: a ring of malloc'd JSON texts, guarded by server->lock */
    char *queue[CONTROL_EVENT_QUEUE];
    size_t queue_len[CONTROL_EVENT_QUEUE];
    size_t head, count;
    bool closing;  /* the connection is closing: the sender stops */
    bool too_slow; /* the queue overflowed: the sender closes with 1008 */
    pthread_cond_t wake;
} ws_client;

struct control_server {
    const char *cmd;
    live_show *show;
    struct mg_context *ctx;
    char *token;
    char *frame_path;
    control_osc *osc;
    int listener;
    bool library; /* mg_init_library was called */
    struct sockaddr_in bound; /* where the server listens, for stop_wake */
    pthread_mutex_t lock; /* guards clients and their queues */
    ws_client *clients[CONTROL_EVENT_CLIENTS + CONTROL_FRAME_CLIENTS];
    atomic_bool stopping;
    char *examples;            /* --examples DIR, or NULL */
    pthread_mutex_t layout_lock; /* one request computes the layout; the others wait for it */
    char *layout;              /* GET /api/layout's answer, once computed (the layout never changes) */
    pthread_t stats_thread;    /* the stats event, once a second */
    bool stats_started;
    pthread_cond_t stats_wake; /* signalled (under lock) when the server stops */
};

/* --------------------------------------------------------------- responses */

static const char *status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 304: return "Not Modified";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* Writes one whole response (the connection closes after it: no keep-alive). */
static int respond(struct mg_connection *conn, int status, const char *extra_headers,
                   const char *body) {
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
    if (!body) status = 500, body = oom;
    size_t len = strlen(body);
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
              status, status_text(status), len + 1, extra_headers ? extra_headers : "");
    mg_write(conn, body, len);
    mg_write(conn, "\n", 1);
    return status;
}

static int respond_error(struct mg_connection *conn, int status, const char *extra_headers,
                         const char *message) {
    char *body = control_error_json(status, message);
    int rc = respond(conn, status, extra_headers, body);
    free(body);
    return rc;
}

/* ---------------------------------------------------------------- commands */

static json_object *json_message_error(int status, const char *message) {
    json_object *obj = json_object_new_object();
    if (!obj) return NULL;
    json_object_object_add(obj, "error", json_object_new_string(message));
    json_object_object_add(obj, "status", json_object_new_int(status));
    return obj;
}

static json_object *execute_param(live_show *show, const control_command *c, int *status) {
    char message[512] = "";
    json_object *applied = NULL;
    live_status s = live_show_set_param(show, c->name, c->values, c->count, &applied, message,
                                        sizeof message);
    *status = control_status_http(s);
    json_object *out = s == LIVE_OK ? json_object_new_object() : json_message_error(*status, message);
    if (!out) return json_object_put(applied), NULL;
    json_object_object_add(out, "param", json_object_new_string(c->name));
    if (s == LIVE_OK) json_object_object_add(out, "value", applied);
    else json_object_put(applied);
    return out;
}

static json_object *execute_pattern(live_show *show, const control_command *c, int *status) {
    char message[1024] = "";
    json_object *diagnostics = NULL;
    live_status s = live_show_load(show, c->path, c->display, c->source, c->source_len, &diagnostics,
                                   message, sizeof message);
    *status = control_status_http(s);
    json_object *out = s == LIVE_OK ? json_object_new_object() : json_message_error(*status, message);
    if (!out) return json_object_put(diagnostics), NULL;
    const char *name = c->path ? c->path : c->display ? c->display : "<api>";
    json_object_object_add(out, "pattern", json_object_new_string(name));
    json_object_object_add(out, "diagnostics", diagnostics ? diagnostics : json_object_new_array());
    return out;
}

/* POST /api/next and /api/playlist/N answer with the playlist as it is now. */
static json_object *execute_playlist(live_show *show, const control_command *c, int *status) {
    char message[512] = "";
    live_status s = c->verb == CONTROL_NEXT       ? live_show_next(show, message, sizeof message)
                    : c->verb == CONTROL_PREVIOUS ? live_show_previous(show, message, sizeof message)
                                                  : live_show_select(show, c->index, message,
                                                                     sizeof message);
    *status = control_status_http(s);
    if (s != LIVE_OK) return json_message_error(*status, message);
    json_object *state = live_show_state(show);
    if (!state) return NULL;
    json_object *out = json_object_new_object(), *playlist = NULL;
    if (out && json_object_object_get_ex(state, "playlist", &playlist))
        json_object_object_add(out, "playlist", json_object_get(playlist));
    json_object_put(state);
    return out;
}

/* PUT /api/source: the file is saved even when it has errors (the show keeps its pattern). */
static json_object *execute_save(live_show *show, const control_command *c, int *status) {
    char message[1024] = "";
    json_object *result = NULL;
    live_status s = live_show_save(show, c->source, c->source_len, &result, message, sizeof message);
    *status = control_status_http(s);
    if (s != LIVE_OK) return json_message_error(*status, message);
    return result;
}

static json_object *json_single(const char *key, json_object *value) {
    json_object *out = json_object_new_object();
    if (out) json_object_object_add(out, key, value);
    else json_object_put(value);
    return out;
}

int control_execute(live_show *show, const control_command *c, char **response) {
    int status = 200;
    json_object *out = NULL;
    switch (c->verb) {
    case CONTROL_STATE: out = live_show_state(show); break;
    case CONTROL_PARAM: out = execute_param(show, c, &status); break;
    case CONTROL_PATTERN: out = execute_pattern(show, c, &status); break;
    case CONTROL_BRIGHTNESS:
        out = json_single("brightness",
                          json_object_new_double(live_show_set_brightness(show, c->values[0])));
        break;
    case CONTROL_BLACKOUT:
        live_show_set_blackout(show, c->on);
        out = json_single("blackout", json_object_new_boolean(c->on));
        break;
    case CONTROL_FREEZE:
        live_show_set_freeze(show, c->on);
        out = json_single("freeze", json_object_new_boolean(c->on));
        break;
    case CONTROL_NEXT:
    case CONTROL_PREVIOUS:
    case CONTROL_SELECT: out = execute_playlist(show, c, &status); break;
    case CONTROL_CROSSFADE:
        out = json_single("crossfade",
                          json_object_new_double(live_show_set_crossfade(show, c->values[0])));
        break;
    case CONTROL_SOURCE: out = live_show_source(show); break;
    case CONTROL_SAVE: out = execute_save(show, c, &status); break;
    case CONTROL_LAYOUT:
    case CONTROL_EXAMPLES: /* the server's (control_http.c answers them before this) */
        *response = control_error_json(500, "not a show command");
        return 500;
    }
    *response = NULL;
    if (out) {
        const char *text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *response = text ? strdup(text) : NULL;
        json_object_put(out);
    }
    return *response ? status : 500;
}

/* ------------------------------------------------------------------- HTTP */

/* Reads the body into a malloc'd buffer: 0, or the HTTP status to answer (413, 400, 408). */
static int read_body(struct mg_connection *conn, const struct mg_request_info *info, char **body,
                     size_t *len, char *message, size_t message_len) {
    *body = NULL;
    *len = 0;
    long long declared = info->content_length;
    if (declared > (long long)CONTROL_BODY_MAX) {
        snprintf(message, message_len, "%s: body of %lld bytes is over the %u limit",
                 info->local_uri, declared, CONTROL_BODY_MAX);
        return 413;
    }
    /* Unknown length (chunked): read up to one byte past the limit to see it is over. */
    size_t want = declared >= 0 ? (size_t)declared : (size_t)CONTROL_BODY_MAX + 1;
    char *buf = malloc(want + 1);
    if (!buf) return snprintf(message, message_len, "out of memory"), 500;
    size_t got = 0;
    int n = 1;
    while (got < want && (n = mg_read(conn, buf + got, want - got)) > 0) got += (size_t)n;
    /* A client gone mid-body (n < 0, or short of its Content-Length): nothing of it is used. */
    if (n < 0 || (declared >= 0 && got < want)) {
        free(buf);
        snprintf(message, message_len, "%s: body ended after %zu of %lld bytes", info->local_uri,
                 got, declared);
        return 400;
    }
    if (got > CONTROL_BODY_MAX) {
        free(buf);
        snprintf(message, message_len, "%s: body is over the %u byte limit", info->local_uri,
                 CONTROL_BODY_MAX);
        return 413;
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    return 0;
}

static bool request_authorized(const control_server *server, struct mg_connection *conn) {
    return !server->token ||
           control_token_matches(mg_get_header(conn, "Authorization"), server->token);
}

/*
 * The studio's files: served without the token (they hold no secret; the
 * page reads the token from its URL fragment), from the embedded table only.
 */
static int respond_static(struct mg_connection *conn, const struct mg_request_info *info) {
    bool head = strcmp(info->request_method, "HEAD") == 0;
    if (!head && strcmp(info->request_method, "GET") != 0)
        return respond_error(conn, 405, "Allow: GET, HEAD\r\n", "the studio's files take GET");
    const control_static_file *file = control_static_find(info->local_uri);
    if (!file) {
        char message[320];
        snprintf(message, sizeof message, "%s: %.200s",
                 control_static_file_count ? "no such file"
                                           : "this sky was built without the studio (SKY_STUDIO=OFF)",
                 info->local_uri);
        return respond_error(conn, 404, NULL, message);
    }
    const char *match = mg_get_header(conn, "If-None-Match");
    int status = match && strcmp(match, file->etag) == 0 ? 304 : 200;
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nETag: %s\r\n"
              "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
              "Connection: close\r\n\r\n",
              status, status_text(status), file->type, status == 200 ? file->size : 0,
              file->etag);
    if (status == 200 && !head) mg_write(conn, file->data, file->size);
    return status;
}

/* GET /api/layout: computed from the frame file at the first request, then kept. */
static int respond_layout(control_server *server, struct mg_connection *conn) {
    char message[640] = "";
    pthread_mutex_lock(&server->layout_lock);
    if (!server->layout) server->layout = control_layout_json(server->frame_path, message,
                                                              sizeof message);
    int status = server->layout ? respond(conn, 200, NULL, server->layout)
                                : respond_error(conn, 503, "Retry-After: 1\r\n", message);
    pthread_mutex_unlock(&server->layout_lock);
    return status;
}

static int respond_examples(control_server *server, struct mg_connection *conn) {
    char *json = control_examples_json(server->examples);
    int status = respond(conn, 200, NULL, json);
    free(json);
    return status;
}

static int handle_request(struct mg_connection *conn, void *data) {
    control_server *server = data;
    const struct mg_request_info *info = mg_get_request_info(conn);
    char message[1024] = "";
    if (atomic_load(&server->stopping)) return respond_error(conn, 503, NULL, "the show is ending");
    if (!control_is_api_path(info->local_uri)) return respond_static(conn, info);
    if (!request_authorized(server, conn))
        return respond_error(conn, 401, "WWW-Authenticate: Bearer\r\n",
                             "missing or wrong token: send Authorization: Bearer TOKEN");
    if (atomic_load(&server->stopping)) return respond_error(conn, 503, NULL, "the show is ending");
    const char *allow = NULL;
    char allow_header[64] = "";
    int status = control_http_route(info->request_method, info->local_uri, &allow, message,
                                    sizeof message);
    if (allow) snprintf(allow_header, sizeof allow_header, "Allow: %s\r\n", allow);
    if (status) return respond_error(conn, status, allow_header, message);
    char *body = NULL;
    size_t len = 0;
    status = read_body(conn, info, &body, &len, message, sizeof message);
    if (status) return respond_error(conn, status, NULL, message);
    control_command command;
    status = control_http_parse(info->request_method, info->local_uri, body, len, &command, &allow,
                                message, sizeof message);
    free(body);
    if (status) return respond_error(conn, status, allow_header, message);
    if (command.verb == CONTROL_LAYOUT || command.verb == CONTROL_EXAMPLES) {
        control_verb verb = command.verb;
        control_command_clear(&command);
        return verb == CONTROL_LAYOUT ? respond_layout(server, conn) : respond_examples(server, conn);
    }
    char *response = NULL;
    status = control_execute(server->show, &command, &response);
    control_command_clear(&command);
    respond(conn, status, NULL, response);
    free(response);
    return status;
}

/* -------------------------------------------------------------- WebSockets */

static void client_free(ws_client *client) {
    for (size_t i = 0; i < client->count; i++)
        free(client->queue[(client->head + i) % CONTROL_EVENT_QUEUE]);
    pthread_cond_destroy(&client->wake);
    free(client);
}

static void ws_close(struct mg_connection *conn, unsigned code, const char *reason) {
    unsigned char payload[128];
    size_t n = strlen(reason);
    if (n > sizeof payload - 2) n = sizeof payload - 2;
    payload[0] = (unsigned char)(code >> 8);
    payload[1] = (unsigned char)code;
    memcpy(payload + 2, reason, n);
    mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, (const char *)payload, n + 2);
}

/*
 * civetweb 1.15 has no call that ends a WebSocket from the server's side: its
 * worker waits in poll() for the client, seeing the stop flag once a second,
 * and a close frame only asks the client to close. So each WebSocket's socket
 * is found by its addresses (/proc/self/fd, at ready, on the worker that owns
 * it) and shut down to end it: on a slow client, and when the server stops
 * (`sky run` has 0.5 s after a signal). Only shutdown, never close: the
 * descriptor stays civetweb's until ws_closed, which unregisters the client
 * under the lock that every shutdown takes.
 */
static bool same_endpoint(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_family == AF_INET && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

static int ws_socket_find(const struct sockaddr_in *peer, uint16_t local_port) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    for (struct dirent *e; found < 0 && (e = readdir(dir));) {
        char *end = NULL;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || fd < 0 || fd == dirfd(dir)) continue;
        struct sockaddr_in remote, local;
        socklen_t rlen = sizeof remote, llen = sizeof local;
        if (getpeername((int)fd, (struct sockaddr *)&remote, &rlen) == 0 && rlen == sizeof remote &&
            same_endpoint(&remote, peer) &&
            getsockname((int)fd, (struct sockaddr *)&local, &llen) == 0 &&
            local.sin_port == htons(local_port))
            found = (int)fd;
    }
    closedir(dir);
    return found;
}

/* Ends a client's connection (server->lock held): civetweb's worker sees the end at once. */
static void ws_shutdown(ws_client *client, int how) {
    if (client->fd >= 0) shutdown(client->fd, how);
}

/* Queues one event for every events client (the show's listener: never blocks on a socket). */
static void on_show_event(void *context, const char *event_json, size_t len) {
    control_server *server = context;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < sizeof server->clients / sizeof server->clients[0]; i++) {
        ws_client *c = server->clients[i];
        if (!c || c->kind != WS_EVENTS || c->closing || c->too_slow) continue;
        char *copy = malloc(len + 1);
        if (!copy || c->count == CONTROL_EVENT_QUEUE) {
            free(copy);
            c->too_slow = true;
        } else {
            memcpy(copy, event_json, len);
            copy[len] = '\0';
            size_t slot = (c->head + c->count) % CONTROL_EVENT_QUEUE;
            c->queue[slot] = copy;
            c->queue_len[slot] = len;
            c->count++;
        }
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&server->lock);
}

static bool send_text(ws_client *client, const char *text, size_t len) {
    return mg_websocket_write(client->conn, MG_WEBSOCKET_OPCODE_TEXT, text, len) > 0;
}

/* An events client: the whole state first, then each event as it comes. */
static void *events_sender(void *arg) {
    ws_client *client = arg;
    control_server *server = client->server;
    json_object *state = live_show_state(server->show);
    json_object *first = json_object_new_object();
    bool ok = false;
    if (state && first) {
        json_object_object_add(first, "event", json_object_new_string("state"));
        json_object_object_add(first, "state", json_object_get(state));
        const char *text = json_object_to_json_string_ext(first, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ok = text && send_text(client, text, strlen(text));
    }
    json_object_put(state);
    json_object_put(first);
    pthread_mutex_lock(&server->lock);
    while (ok && !client->closing && !client->too_slow) {
        if (client->count == 0) {
            pthread_cond_wait(&client->wake, &server->lock);
            continue;
        }
        char *text = client->queue[client->head];
        size_t len = client->queue_len[client->head];
        client->head = (client->head + 1) % CONTROL_EVENT_QUEUE;
        client->count--;
        pthread_mutex_unlock(&server->lock);
        ok = send_text(client, text, len);
        free(text);
        pthread_mutex_lock(&server->lock);
    }
    bool too_slow = client->too_slow && !client->closing;
    pthread_mutex_unlock(&server->lock);
    if (too_slow) {
        ws_close(client->conn, WS_CLOSE_POLICY, "too slow: event queue full");
        pthread_mutex_lock(&server->lock);
        if (!client->closing) ws_shutdown(client, SHUT_RDWR); /* after the close frame: queued */
        pthread_mutex_unlock(&server->lock);
    }
    return NULL;
}

/* Sleeps until `deadline` (CLOCK_MONOTONIC ns) unless the client closes: false when it did. */
static bool client_wait_until(ws_client *client, uint64_t deadline) {
    control_server *server = client->server;
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                          .tv_nsec = (long)(deadline % 1000000000u)};
    pthread_mutex_lock(&server->lock);
    while (!client->closing && sky_frame_now_ns() < deadline)
        pthread_cond_timedwait(&client->wake, &server->lock, &ts);
    bool open = !client->closing;
    pthread_mutex_unlock(&server->lock);
    return open;
}

/* A frames client: the newest frame, `fps` times a second, when there is a new one. */
static void *frames_sender(void *arg) {
    ws_client *client = arg;
    control_server *server = client->server;
    /* Below the render loop's threads (lavapipe renders on the CPU): a viewer waits, not a frame.
     * Lowering a thread's own priority needs no privilege; if it fails, it runs as before. */
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int own = getpriority(PRIO_PROCESS, tid);
    if (errno == 0)
        (void)setpriority(PRIO_PROCESS, tid,
                          own + CONTROL_FRAMES_NICE > 19 ? 19 : own + CONTROL_FRAMES_NICE);
    uint64_t period = 1000000000u / client->fps, next = sky_frame_now_ns();
    sky_frame_reader *reader = NULL;
    uint8_t *message = NULL;
    size_t message_cap = 0;
    char error[512];
    bool ok = true;
    while (ok && client_wait_until(client, next)) {
        next += period;
        uint64_t now = sky_frame_now_ns();
        if (next < now) next = now + period; /* a slow send: rejoin the grid, do not burst */
        if (!reader && sky_frame_reader_open(server->frame_path, &reader, error, sizeof error) != SKY_OK)
            continue; /* not created yet, or being replaced: try at the next tick */
        uint32_t leds = sky_frame_reader_info(reader)->led_count;
        size_t need = CONTROL_FRAME_HEADER + (size_t)leds * 3;
        if (need > message_cap) {
            uint8_t *grown = realloc(message, need);
            if (!grown) break;
            message = grown, message_cap = need;
        }
        uint64_t frame = 0;
        sky_status st = sky_frame_reader_read(reader, message + CONTROL_FRAME_HEADER,
                                              (size_t)leds * 3, &frame, error, sizeof error);
        if (st == SKY_ERR_AGAIN) continue;
        if (st != SKY_OK || sky_frame_reader_replaced(reader)) {
            sky_frame_reader_free(reader); /* reopen at the next tick */
            reader = NULL;
            if (st != SKY_OK) continue;
        }
        for (int i = 0; i < 8; i++) message[i] = (uint8_t)(frame >> (8 * i));
        for (int i = 0; i < 4; i++) message[8 + i] = (uint8_t)(leds >> (8 * i));
        for (int i = 0; i < 4; i++) message[12 + i] = (uint8_t)(3u >> (8 * i));
        ok = mg_websocket_write(client->conn, MG_WEBSOCKET_OPCODE_BINARY, (const char *)message,
                                need) > 0;
    }
    sky_frame_reader_free(reader);
    free(message);
    return NULL;
}

static ws_kind ws_kind_of(const struct mg_connection *conn) {
    return strcmp(mg_get_request_info(conn)->local_uri, "/api/frames") == 0 ? WS_FRAMES
                                                                            : WS_EVENTS;
}

/* Accepts a WebSocket: 0 to go on, 1 to refuse (civetweb closes the connection). */
static int ws_connect(const struct mg_connection *conn, void *data) {
    control_server *server = data;
    const struct mg_request_info *info = mg_get_request_info(conn);
    if (atomic_load(&server->stopping)) return 1;
    /* Browsers cannot set headers on a WebSocket: the token may come as ?token= instead. */
    char message[256], token[CONTROL_TOKEN_MAX + 1];
    unsigned fps = 0;
    if (!control_ws_query(info->local_uri, info->query_string, &fps, token, sizeof token, message,
                          sizeof message))
        return 1;
    if (server->token &&
        !control_token_matches(mg_get_header(conn, "Authorization"), server->token) &&
        !control_token_equal(token, server->token))
        return 1;
    ws_client *client = calloc(1, sizeof *client);
    if (!client) return 1;
    client->fps = fps;
    client->server = server;
    client->fd = -1;
    client->kind = ws_kind_of(conn);
    client->peer.sin_family = AF_INET;
    client->peer.sin_port = htons((uint16_t)info->remote_port);
    inet_pton(AF_INET, info->remote_addr, &client->peer.sin_addr);
    /* Monotonic, as the frames sender's deadlines are (sky_frame_now_ns). */
    pthread_condattr_t attr;
    bool cond_ok = pthread_condattr_init(&attr) == 0;
    cond_ok = cond_ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&client->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!cond_ok) return free(client), 1;
    size_t limit = client->kind == WS_EVENTS ? CONTROL_EVENT_CLIENTS : CONTROL_FRAME_CLIENTS;
    size_t same = 0, slot = SIZE_MAX;
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < sizeof server->clients / sizeof server->clients[0]; i++) {
        if (!server->clients[i]) {
            if (slot == SIZE_MAX) slot = i;
        } else if (server->clients[i]->kind == client->kind) {
            same++;
        }
    }
    bool accepted = same < limit && slot != SIZE_MAX;
    if (accepted) server->clients[slot] = client;
    pthread_mutex_unlock(&server->lock);
    if (!accepted) return client_free(client), 1;
    mg_set_user_connection_data(conn, client);
    return 0;
}

static void ws_ready(struct mg_connection *conn, void *data) {
    (void)data;
    ws_client *client = mg_get_user_connection_data(conn);
    if (!client) return;
    client->conn = conn;
    int fd = ws_socket_find(&client->peer, ntohs(client->server->bound.sin_port));
    pthread_mutex_lock(&client->server->lock);
    client->fd = fd;
    pthread_mutex_unlock(&client->server->lock);
    void *(*sender)(void *) = client->kind == WS_EVENTS ? events_sender : frames_sender;
    client->sender_started = pthread_create(&client->sender, NULL, sender, client) == 0;
    if (!client->sender_started) ws_close(conn, WS_CLOSE_INTERNAL, "out of threads");
}

/* Clients send nothing the API reads; a close ends the connection (returning 0). */
static int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata) {
    (void)conn, (void)data, (void)len, (void)cbdata;
    return (bits & 0xf) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

static void ws_closed(const struct mg_connection *conn, void *data) {
    control_server *server = data;
    ws_client *client = mg_get_user_connection_data(conn);
    if (!client) return;
    pthread_mutex_lock(&server->lock);
    client->closing = true;
    pthread_cond_signal(&client->wake);
    for (size_t i = 0; i < sizeof server->clients / sizeof server->clients[0]; i++)
        if (server->clients[i] == client) server->clients[i] = NULL;
    pthread_mutex_unlock(&server->lock);
    /* The sender may be inside a write on this connection: it must end before civetweb frees it. */
    if (client->sender_started) pthread_join(client->sender, NULL);
    mg_set_user_connection_data(conn, NULL);
    client_free(client);
}

/* ------------------------------------------------------------------- stats */

/* Open /api/frames clients. Under server->lock. */
static size_t frame_viewers(const control_server *server) {
    size_t n = 0;
    for (size_t i = 0; i < sizeof server->clients / sizeof server->clients[0]; i++)
        n += server->clients[i] && server->clients[i]->kind == WS_FRAMES && !server->clients[i]->closing;
    return n;
}

/* Once a second, the stats event to every /api/events client (queued as show events are). */
static void *stats_main(void *arg) {
    control_server *server = arg;
    uint64_t next = sky_frame_now_ns() + CONTROL_STATS_PERIOD_NS;
    pthread_mutex_lock(&server->lock);
    while (!atomic_load(&server->stopping)) {
        struct timespec until = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
        if (sky_frame_now_ns() < next) {
            pthread_cond_timedwait(&server->stats_wake, &server->lock, &until);
            continue;
        }
        next += CONTROL_STATS_PERIOD_NS;
        if (next < sky_frame_now_ns()) next = sky_frame_now_ns() + CONTROL_STATS_PERIOD_NS;
        size_t viewers = frame_viewers(server);
        pthread_mutex_unlock(&server->lock);
        live_show_stats stats;
        live_show_get_stats(server->show, &stats);
        char text[256];
        int n = snprintf(text, sizeof text,
                         "{\"event\":\"stats\",\"fps\":%.3f,\"frame\":%llu,\"late\":%llu,"
                         "\"dropped\":%llu,\"viewers\":%zu}",
                         stats.fps, (unsigned long long)stats.frame,
                         (unsigned long long)stats.late, (unsigned long long)stats.dropped, viewers);
        on_show_event(server, text, (size_t)n);
        pthread_mutex_lock(&server->lock);
    }
    pthread_mutex_unlock(&server->lock);
    return NULL;
}

static bool stats_start(const char *cmd, control_server *server) {
    pthread_condattr_t attr;
    bool ok = pthread_condattr_init(&attr) == 0;
    ok = ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&server->stats_wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (ok) server->stats_started = pthread_create(&server->stats_thread, NULL, stats_main, server) == 0;
    if (!server->stats_started) {
        if (ok) pthread_cond_destroy(&server->stats_wake);
        fprintf(stderr, "%s: --control: cannot start the stats thread\n", cmd);
    }
    return server->stats_started;
}

static void stats_stop(control_server *server) {
    if (!server->stats_started) return;
    pthread_mutex_lock(&server->lock);
    pthread_cond_signal(&server->stats_wake);
    pthread_mutex_unlock(&server->lock);
    pthread_join(server->stats_thread, NULL);
    pthread_cond_destroy(&server->stats_wake);
    server->stats_started = false;
}

/* ------------------------------------------------------------------ server */

/* civetweb's own log lines (a client's bad request line, a timeout) are the client's business. */
static int quiet_log(const struct mg_connection *conn, const char *message) {
    (void)conn, (void)message;
    return 1;
}

static bool http_start(const char *cmd, control_server *server, const char *spec) {
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!control_parse_address(cmd, "--control", spec, "127.0.0.1", &ip, &port)) return false;
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ip, host, sizeof host);
    if (!control_is_loopback(ip) && !server->token) {
        fprintf(stderr, "%s: --control %s: %s\n", cmd, spec, CONTROL_OPEN_NEEDS_TOKEN);
        return false;
    }
    char ports[64], threads[16], timeout[16], ping[16], backlog[16];
    snprintf(ports, sizeof ports, "%s:%u", host, port);
    snprintf(threads, sizeof threads, "%d", CONTROL_HTTP_THREADS);
    snprintf(timeout, sizeof timeout, "%d", CONTROL_HTTP_TIMEOUT_MS);
    snprintf(ping, sizeof ping, "%d", CONTROL_WS_PING_MS);
    snprintf(backlog, sizeof backlog, "%d", 256);
    const char *options[] = {"listening_ports", ports, "num_threads", threads,
                             "request_timeout_ms", timeout, "websocket_timeout_ms", ping,
                             "enable_websocket_ping_pong", "yes", "enable_keep_alive", "no",
                             "listen_backlog", backlog, "enable_directory_listing", "no",
                             NULL};
    struct mg_callbacks callbacks = {.log_message = quiet_log};
    char error_text[256] = "";
    unsigned error_code = 0;
    struct mg_init_data init = {.callbacks = &callbacks, .user_data = server,
                                .configuration_options = options};
    struct mg_error_data error = {.code = &error_code, .text = error_text,
                                  .text_buffer_size = sizeof error_text};
    server->ctx = mg_start2(&init, &error);
    if (!server->ctx) {
        fprintf(stderr, "%s: --control %s: cannot listen: %s\n", cmd, spec,
                error_text[0] ? error_text : "civetweb failed to start");
        return false;
    }
    mg_set_request_handler(server->ctx, "/", handle_request, server);
    mg_set_websocket_handler(server->ctx, "/api/events", ws_connect, ws_ready, ws_data, ws_closed,
                             server);
    mg_set_websocket_handler(server->ctx, "/api/frames", ws_connect, ws_ready, ws_data, ws_closed,
                             server);
    struct mg_server_port bound[1];
    if (mg_get_server_ports(server->ctx, 1, bound) < 1) {
        fprintf(stderr, "%s: --control %s: civetweb reports no listening port\n", cmd, spec);
        return false;
    }
    server->bound.sin_family = AF_INET;
    server->bound.sin_port = htons((uint16_t)bound[0].port);
    server->bound.sin_addr.s_addr = control_is_loopback(ip) ? ip : htonl(INADDR_LOOPBACK);
    fprintf(stderr, "%s: control API on http://%s:%d\n", cmd, host, bound[0].port);
    fflush(stderr);
    return true;
}

/*
 * mg_stop flags the server to stop and joins civetweb's listening thread,
 * which sees the flag only when its poll() returns: up to a second later
 * when nothing connects (1.0 s measured with civetweb 1.15), and `sky run`
 * must stop within 0.5 s of a signal. So while mg_stop runs on a thread of
 * its own, the caller connects to the listening socket every 10 ms to wake
 * that poll. A connection that lands before the flag is answered 503.
 */
typedef struct stop_job {
    struct mg_context *ctx;
    atomic_bool done;
} stop_job;

static void *stop_thread(void *arg) {
    stop_job *job = arg;
    mg_stop(job->ctx);
    atomic_store(&job->done, true);
    return NULL;
}

static void stop_wake(const struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    (void)connect(fd, (const struct sockaddr *)addr, sizeof *addr);
    close(fd);
}

static void http_stop(control_server *server) {
    stop_job job = {.ctx = server->ctx};
    pthread_t thread;
    if (pthread_create(&thread, NULL, stop_thread, &job) != 0) {
        mg_stop(server->ctx);
        return;
    }
    while (!atomic_load(&job.done)) {
        if (server->bound.sin_port) stop_wake(&server->bound);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    pthread_join(thread, NULL);
}

bool control_server_start(const char *cmd, const control_options *options, live_show *show,
                          control_server **out) {
    *out = NULL;
    if (!options->listen && !options->osc_port) return true;
    control_server *server = calloc(1, sizeof *server);
    if (!server || pthread_mutex_init(&server->lock, NULL) != 0) {
        free(server);
        fprintf(stderr, "%s: out of memory\n", cmd);
        return false;
    }
    if (pthread_mutex_init(&server->layout_lock, NULL) != 0) {
        pthread_mutex_destroy(&server->lock);
        free(server);
        fprintf(stderr, "%s: out of memory\n", cmd);
        return false;
    }
    server->cmd = cmd;
    server->show = show;
    server->listener = -1;
    if (!control_options_valid(cmd, options)) goto fail;
    server->token = options->token ? strdup(options->token) : NULL;
    server->frame_path = options->frame_path ? strdup(options->frame_path) : NULL;
    server->examples = options->examples ? strdup(options->examples) : NULL;
    if ((options->token && !server->token) || (options->frame_path && !server->frame_path) ||
        (options->examples && !server->examples)) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        goto fail;
    }
    if (options->listen) {
        mg_init_library(MG_FEATURES_WEBSOCKET);
        server->library = true;
        if (!mg_check_feature(MG_FEATURES_WEBSOCKET)) {
            fprintf(stderr, "%s: this civetweb has no WebSocket support\n", cmd);
            goto fail;
        }
        server->listener = live_show_listen(show, on_show_event, server);
        if (server->listener < 0) {
            fprintf(stderr, "%s: --control: the show takes no more listeners\n", cmd);
            goto fail;
        }
        if (!http_start(cmd, server, options->listen)) goto fail;
        if (!stats_start(cmd, server)) goto fail;
    }
    if (options->osc_port &&
        !control_osc_start(cmd, options->osc_port, server->token != NULL, show, &server->osc))
        goto fail;
    *out = server;
    return true;
fail:
    control_server_stop(server);
    return false;
}

void control_server_stop(control_server *server) {
    if (!server) return;
    atomic_store(&server->stopping, true);
    stats_stop(server);
    control_osc_stop(server->osc);
    if (server->listener >= 0) live_show_unlisten(server->show, server->listener);
    if (server->ctx) {
        /* Tell the WebSocket clients why, then mg_stop closes every connection (ws_closed
         * joins each sender) and joins civetweb's threads. */
        pthread_mutex_lock(&server->lock);
        for (size_t i = 0; i < sizeof server->clients / sizeof server->clients[0]; i++) {
            ws_client *c = server->clients[i];
            if (c) c->closing = true, pthread_cond_signal(&c->wake), ws_shutdown(c, SHUT_RDWR);
        }
        pthread_mutex_unlock(&server->lock);
        http_stop(server);
    }
    if (server->library) mg_exit_library();
    pthread_mutex_destroy(&server->lock);
    pthread_mutex_destroy(&server->layout_lock);
    free(server->token);
    free(server->frame_path);
    free(server->examples);
    free(server->layout);
    free(server);
}

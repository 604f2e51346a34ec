/*
 * control_client.c - the plain-socket HTTP, WebSocket and OSC client of the
 * control API's tests (see control_client.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control_client.h"

static double client_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int control_client_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        fail_msg("connect to 127.0.0.1:%u: %s", port, strerror(errno));
    return fd;
}

static void send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; /* the server may close early (413): its reply is still read */
        p += n;
        len -= (size_t)n;
    }
}

/* Waits for fd to be readable: false when the deadline passed. */
static bool wait_readable(int fd, double deadline) {
    for (;;) {
        double left = deadline - client_now();
        if (left <= 0) return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

control_reply control_client_raw(uint16_t port, const char *request, size_t len) {
    control_reply reply = {0};
    int fd = control_client_connect(port);
    send_all(fd, request, len);
    size_t cap = 4096, got = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    double deadline = client_now() + CONTROL_CLIENT_TIMEOUT_S;
    for (;;) {
        if (!wait_readable(fd, deadline)) fail_msg("no reply from 127.0.0.1:%u in time", port);
        if (got + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 ", 9) == 0 && end) {
        reply.status = atoi(buf + 9);
        reply.headers = strndup(buf, (size_t)(end - buf) + 2);
        reply.body = strdup(end + 4);
        reply.body_len = got - (size_t)(end + 4 - buf);
    } else {
        reply.headers = strdup("");
        reply.body = strdup(buf);
        reply.body_len = got;
    }
    free(buf);
    return reply;
}

control_reply control_client_request(uint16_t port, const char *token, const char *method,
                                     const char *path, const char *body) {
    char head[1024], auth[512] = "";
    if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    size_t body_len = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Length: %zu\r\n"
                     "Content-Type: application/json\r\n\r\n",
                     method, path, port, auth, body_len);
    char *request = malloc((size_t)n + body_len + 1);
    assert_non_null(request);
    memcpy(request, head, (size_t)n);
    if (body_len) memcpy(request + n, body, body_len);
    control_reply reply = control_client_raw(port, request, (size_t)n + body_len);
    free(request);
    return reply;
}

void control_reply_free(control_reply *reply) {
    free(reply->headers);
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

int control_ws_open(uint16_t port, const char *path, const char *token) {
    int fd = control_client_connect(port);
    char request[1024], auth[512] = "";
    if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, port, auth);
    send_all(fd, request, (size_t)n);
    /* Read the handshake byte by byte so that no frame after it is consumed. */
    char head[2048];
    size_t got = 0;
    double deadline = client_now() + CONTROL_CLIENT_TIMEOUT_S;
    while (got + 1 < sizeof head) {
        if (!wait_readable(fd, deadline)) fail_msg("no WebSocket handshake reply for %s", path);
        ssize_t r = recv(fd, head + got, 1, 0);
        if (r <= 0) break;
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[got] = '\0';
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool read_exact(int fd, void *dst, size_t len, double deadline) {
    uint8_t *p = dst;
    while (len) {
        if (!wait_readable(fd, deadline)) return false;
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool control_ws_read(int fd, int *opcode, uint8_t **payload, size_t *len, double timeout_s) {
    double deadline = client_now() + timeout_s;
    uint8_t head[2];
    if (!read_exact(fd, head, 2, deadline)) return false;
    *opcode = head[0] & 0x0f;
    uint64_t n = head[1] & 0x7f;
    if (n == 126) {
        uint8_t ext[2];
        if (!read_exact(fd, ext, 2, deadline)) return false;
        n = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (n == 127) {
        uint8_t ext[8];
        if (!read_exact(fd, ext, 8, deadline)) return false;
        n = 0;
        for (int i = 0; i < 8; i++) n = (n << 8) | ext[i];
    }
    if (head[1] & 0x80) fail_msg("a server frame must not be masked");
    if (n > (64u << 20)) fail_msg("WebSocket message of %llu bytes", (unsigned long long)n);
    *payload = malloc((size_t)n + 1);
    assert_non_null(*payload);
    if (!read_exact(fd, *payload, (size_t)n, deadline)) {
        free(*payload);
        *payload = NULL;
        return false;
    }
    (*payload)[n] = '\0';
    *len = (size_t)n;
    return true;
}

void control_ws_close(int fd) {
    static const uint8_t close_frame[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
    send_all(fd, close_frame, sizeof close_frame);
    close(fd);
}

void control_osc_send(uint16_t port, const void *data, size_t len) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_msg("socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(fd, data, len, 0, (struct sockaddr *)&addr, sizeof addr) != (ssize_t)len)
        fail_msg("sendto 127.0.0.1:%u: %s", port, strerror(errno));
    close(fd);
}

uint16_t control_find_port(const char *text, const char *marker) {
    const char *at = text ? strstr(text, marker) : NULL;
    if (!at) return 0;
    const char *end = strchr(at, '\n');
    const char *colon = NULL;
    for (const char *c = at; *c && c != end; c++)
        if (*c == ':') colon = c;
    return colon ? (uint16_t)atoi(colon + 1) : 0;
}

uint16_t control_wait_port(cli_proc *proc, const char *marker) {
    double end = cli_now() + CONTROL_CLIENT_TIMEOUT_S;
    for (;;) {
        char *err = cli_slurp(proc->err_path);
        uint16_t port = control_find_port(err, marker);
        free(err);
        if (port) return port;
        if (!cli_alive(proc))
            fail_msg("sky exited with %d before printing \"%s\":\n%s", cli_exit_code(proc), marker,
                     cli_slurp(proc->err_path));
        if (cli_now() > end)
            fail_msg("no \"%s\" from sky in %g s", marker, CONTROL_CLIENT_TIMEOUT_S);
        cli_sleep_ms(10);
    }
}

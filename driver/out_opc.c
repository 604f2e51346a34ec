/*
 * out_opc.c - Open Pixel Control output: opc://HOST[:7890][/CHANNEL].
 *
 * One "set 8-bit pixel colours" message per frame (channel, command 0,
 * big-endian length, R G B...) over a non-blocking TCP connection with
 * TCP_NODELAY. The stream must never lose sync (naive servers mis-parse a
 * message that arrives in pieces), so a message the socket only partly took
 * is finished before any newer frame is started; frames that arrive
 * meanwhile are skipped. A peer that is down is retried with exponential
 * back-off (0.1 s doubling to `retry_max`); one that stops reading for
 * `timeout` seconds is disconnected and retried. The back-off starts over,
 * and a recovery is logged, only once a connection has lasted OPC_STABLE_NS:
 * a peer that accepts and closes at once is retried ever more slowly, with
 * one log line, not 8 connections and 17 lines a second. Nothing here waits.
 * Layout: docs/protocols.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "output.h"

#define OPC_PORT      7890
#define OPC_HEADER    4
#define OPC_MAX_DATA  65535
#define OPC_RETRY_MIN 100000000ull  /* 0.1 s */
#define OPC_STABLE_NS 1000000000ull /* 1 s: a connection that lasts this long is a working one */

typedef enum opc_state { OPC_IDLE, OPC_CONNECTING, OPC_CONNECTED } opc_state;

typedef struct opc_out {
    net_addr dest;
    char dest_text[80];
    uint8_t channel;
    uint64_t retry_max_ns, timeout_ns;
    int fd;
    opc_state state;
    uint64_t next_attempt_ns, retry_ns;
    uint64_t connections;
    uint64_t connected_ns; /* when the current connection was made */
    bool stable;           /* it has lasted OPC_STABLE_NS */
    uint8_t *msg;          /* header + data */
    size_t msg_len;
    size_t sent;          /* bytes of msg already written; < msg_len while a message is in flight */
    uint64_t progress_ns; /* last time the socket took bytes */
} opc_out;

static int opc_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    opc_out *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    c->fd = -1;
    o->impl = c;
    long channel = 0;
    double retry_max = 5, timeout = 5;
    if (url_get_double(url, "retry_max", 0.1, 3600, &retry_max, err, err_len) ||
        url_get_double(url, "timeout", 0.1, 3600, &timeout, err, err_len))
        return -1;
    const char *path = url->path;
    if (*path == '/') path++;
    if (*path && (!url_parse_long(path, &channel) || channel < 0 || channel > 255)) {
        snprintf(err, err_len, "`%s`: the path is the OPC channel, 0..255 (0 = all), got `%s`",
                 url->text, path);
        return -1;
    }
    c->channel = (uint8_t)channel;
    c->retry_max_ns = (uint64_t)(retry_max * 1e9);
    c->timeout_ns = (uint64_t)(timeout * 1e9);
    c->retry_ns = OPC_RETRY_MIN;
    if (net_resolve(url->host, url->port > 0 ? url->port : OPC_PORT, &c->dest, err, err_len))
        return -1;
    net_addr_str(&c->dest, c->dest_text, sizeof c->dest_text);
    return 0;
}

static int opc_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    opc_out *c = o->impl;
    if ((uint64_t)leds * 3 > OPC_MAX_DATA) {
        snprintf(err, err_len,
                 "%u LEDs do not fit one OPC message (at most 21845 LEDs); split them over "
                 "several outputs (one per channel) with strips= or leds=",
                 leds);
        return -1;
    }
    uint8_t *msg = realloc(c->msg, OPC_HEADER + (size_t)leds * 3);
    if (!msg) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    c->msg = msg;
    c->msg_len = OPC_HEADER + (size_t)leds * 3;
    c->sent = c->msg_len; /* nothing in flight */
    return 0;
}

static void opc_disconnect(output *o, const char *why, int err) {
    opc_out *c = o->impl;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = OPC_IDLE;
    c->sent = c->msg_len;
    c->next_attempt_ns = drv_now_ns() + c->retry_ns;
    c->retry_ns = c->retry_ns * 2 > c->retry_max_ns ? c->retry_max_ns : c->retry_ns * 2;
    if (err)
        output_error(o, "%s %s: %s (retrying)", why, c->dest_text, strerror(err));
    else
        output_error(o, "%s %s (retrying)", why, c->dest_text);
}

static void opc_connected(output *o) {
    opc_out *c = o->impl;
    c->state = OPC_CONNECTED;
    c->connected_ns = drv_now_ns();
    c->stable = false;
    if (c->connections++ > 0)
        atomic_fetch_add_explicit(&o->stats.reconnects, 1, memory_order_relaxed);
    /* After errors the recovery waits for opc_check_stable: the connection may die at once. */
    if (!o->in_error) drv_log("output %s: connected to %s", o->label, c->dest_text);
}

/* The peer closed or reset the connection (err 0: closed). One that did so
 * before the connection was stable gets one message whatever the way (FIN,
 * RST, EPIPE vary from try to try), so repeats stay out of the log. */
static void opc_peer_closed(output *o, int err) {
    opc_out *c = o->impl;
    if (!c->stable)
        opc_disconnect(o, "connection dropped right after it opened by", 0);
    else if (err)
        opc_disconnect(o, "connection to", err);
    else
        opc_disconnect(o, "connection closed by", 0);
}

/* A connection that has lasted OPC_STABLE_NS ends the back-off and the error. */
static void opc_check_stable(output *o) {
    opc_out *c = o->impl;
    if (c->stable || drv_now_ns() - c->connected_ns < OPC_STABLE_NS) return;
    c->stable = true;
    c->retry_ns = OPC_RETRY_MIN;
    char what[128];
    snprintf(what, sizeof what, "connected to %s", c->dest_text);
    output_recovered(o, what);
}

/* Moves the connection along without waiting; true when it is usable now. */
static bool opc_connection_ready(output *o) {
    opc_out *c = o->impl;
    if (c->state == OPC_IDLE) {
        if (drv_now_ns() < c->next_attempt_ns) return false;
        c->fd = socket(c->dest.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            opc_disconnect(o, "socket for", errno);
            return false;
        }
        int one = 1;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&c->dest.sa, c->dest.len) == 0) {
            opc_connected(o);
            return true;
        }
        if (errno != EINPROGRESS) {
            opc_disconnect(o, "cannot connect to", errno);
            return false;
        }
        c->state = OPC_CONNECTING;
        c->progress_ns = drv_now_ns();
    }
    if (c->state == OPC_CONNECTING) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        if (poll(&p, 1, 0) <= 0) {
            if (drv_now_ns() - c->progress_ns > c->timeout_ns)
                opc_disconnect(o, "timed out connecting to", 0);
            return false;
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
        if (soerr != 0) {
            opc_disconnect(o, "cannot connect to", soerr);
            return false;
        }
        opc_connected(o);
    }
    /* An OPC server sends nothing; a readable socket with no data means it closed. */
    uint8_t junk[256];
    ssize_t n = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
    if (n == 0) {
        opc_peer_closed(o, 0);
        return false;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        opc_peer_closed(o, errno);
        return false;
    }
    opc_check_stable(o);
    return true;
}

/* Writes as much of the message in flight as the socket takes. */
static void opc_flush(output *o) {
    opc_out *c = o->impl;
    while (c->sent < c->msg_len) {
        ssize_t n =
            send(c->fd, c->msg + c->sent, c->msg_len - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (size_t)n;
            c->progress_ns = drv_now_ns();
            atomic_fetch_add_explicit(&o->stats.bytes, (uint64_t)n, memory_order_relaxed);
            if (c->sent == c->msg_len)
                atomic_fetch_add_explicit(&o->stats.packets, 1, memory_order_relaxed);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (drv_now_ns() - c->progress_ns > c->timeout_ns)
                opc_disconnect(o, "peer stopped reading; dropping", 0);
            return;
        }
        opc_peer_closed(o, n < 0 ? errno : EIO);
        return;
    }
}

static void opc_send(output *o, const uint8_t *wire, uint32_t leds) {
    opc_out *c = o->impl;
    if (!opc_connection_ready(o)) return;
    if (c->sent < c->msg_len) {
        opc_flush(o); /* finish the previous message first: the stream must stay in sync */
        atomic_fetch_add_explicit(&o->stats.skipped, 1, memory_order_relaxed);
        return;
    }
    size_t data = (size_t)leds * 3;
    c->msg[0] = c->channel;
    c->msg[1] = 0x00; /* set 8-bit pixel colours */
    c->msg[2] = (uint8_t)(data >> 8);
    c->msg[3] = (uint8_t)data;
    memcpy(c->msg + OPC_HEADER, wire, data);
    c->sent = 0;
    c->progress_ns = drv_now_ns();
    opc_flush(o);
}

static void opc_goodbye(output *o, const uint8_t *wire, uint32_t leds) {
    /* Give the black frame a moment to leave before the connection closes. */
    opc_out *c = o->impl;
    (void)wire;
    (void)leds;
    for (int i = 0; i < 50 && c->fd >= 0 && c->state == OPC_CONNECTED && c->sent < c->msg_len;
         i++) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        (void)poll(&p, 1, 10);
        opc_flush(o);
    }
}

static void opc_close(output *o) {
    opc_out *c = o->impl;
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->msg);
    free(c);
    o->impl = NULL;
}

static void opc_destination(const output *o, net_addr *addr, int *socktype) {
    const opc_out *c = o->impl;
    *addr = c->dest;
    *socktype = SOCK_STREAM;
}

const output_ops out_opc_ops = {
    .scheme = "opc",
    .open = opc_open,
    .prepare = opc_prepare,
    .send = opc_send,
    .goodbye = opc_goodbye,
    .destination = opc_destination,
    .close = opc_close,
};

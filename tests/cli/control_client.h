/*
 * control_client.h - a small HTTP/1.1, WebSocket and OSC client on plain
 * sockets for the control API's tests (no curl): one request per
 * connection, as the server does no keep-alive. Every wait has a generous
 * deadline and fails the test (cmocka) when it passes.
 */
#ifndef SKY_TESTS_CONTROL_CLIENT_H
#define SKY_TESTS_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_harness.h"

/* Seconds any single network wait may take before the test fails (a safety net). */
#define CONTROL_CLIENT_TIMEOUT_S 120.0

/* A TCP connection to 127.0.0.1:port (the test fails when it cannot connect). */
int control_client_connect(uint16_t port);

typedef struct control_reply {
    int status;           /* HTTP status, 0 when the server closed without a reply */
    char *headers;        /* the status line and headers (malloc'd) */
    char *body;           /* malloc'd, NUL-terminated */
    size_t body_len;
} control_reply;

/* Sends raw bytes on a new connection and reads the whole reply (until the server closes). */
control_reply control_client_raw(uint16_t port, const char *request, size_t len);
/* One request: `token` NULL sends no Authorization; `body` NULL sends none. */
control_reply control_client_request(uint16_t port, const char *token, const char *method,
                                     const char *path, const char *body);
void control_reply_free(control_reply *reply);

/* Opens a WebSocket (fails the test unless the server answers 101); -1 when refused. */
int control_ws_open(uint16_t port, const char *path, const char *token);
/* Reads one message: its opcode (1 text, 2 binary, 8 close) and payload (malloc'd, NUL after). */
bool control_ws_read(int fd, int *opcode, uint8_t **payload, size_t *len, double timeout_s);
/* Sends a masked close frame (as a client must) and closes the socket. */
void control_ws_close(int fd);

/* Sends one UDP datagram to 127.0.0.1:port. */
void control_osc_send(uint16_t port, const void *data, size_t len);

/* The port in a line "PREFIX...:PORT" of `text`, after the first `marker`; 0 when absent. */
uint16_t control_find_port(const char *text, const char *marker);
/* Waits until the process's stderr has a line with `marker` and returns its port (as
 * control_find_port); the test fails when the process exits first, or after
 * CONTROL_CLIENT_TIMEOUT_S as a safety net. */
uint16_t control_wait_port(cli_proc *proc, const char *marker);

#endif

/*
 * testutil.h - helpers for the driver tests: loopback receivers, a frame
 * writer process, running sky-driver as a child, outputs built from a URL.
 * Every socket here binds 127.0.0.1 only.
 */
#ifndef DRV_TESTUTIL_H
#define DRV_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "output.h"

/* A UDP socket bound to 127.0.0.1 on an ephemeral port (returned). */
int tu_udp_listen(uint16_t *port);
/* One datagram, or -1 after timeout_ms. */
ssize_t tu_udp_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms);
/* Drops everything queued on fd. */
void tu_udp_drain(int fd);
/* A TCP listener on 127.0.0.1:*port (0 = ephemeral, set on return), SO_REUSEADDR. */
int tu_tcp_listen(uint16_t *port);
/* accept() with a timeout; -1 when nothing came. */
int tu_tcp_accept(int listener, int timeout_ms);

/* Deterministic pseudo-random bytes. */
void tu_fill_random(uint8_t *buf, size_t len, uint32_t seed);

/* An output from a URL (output keys allowed in the query), configured for one strip of
 * `leds` LEDs and started. Fails the test on error. */
output *tu_output(const char *url, uint32_t leds);
/* Runs stage one and hands one frame to the output at full scale. */
void tu_output_send(output *o, const uint8_t *frame);

/* Waits (up to TU_PATIENCE_MS) until the output's thread has sent `frames` frames in all. */
void tu_wait_sent(output *o, uint64_t frames);
/* The frame pattern of tu_spawn_writer: LED i of frame n = (200, (3i + n) & 255, tag);
 * with animate false, (200, 100, tag) whatever n. */
void tu_writer_pattern(uint8_t *rgb, uint32_t leds, uint64_t n, uint8_t tag, bool animate);
/* A child process that creates the frame file at `path` (strips x per_strip LEDs)
 * and publishes tu_writer_pattern frames at fps until killed. */
pid_t tu_spawn_writer(const char *path, uint32_t strips, uint32_t per_strip, uint32_t fps,
                      uint8_t tag, bool animate);
/* Starts the sky-driver binary with argv (argv[0] ignored), stderr and stdout into log_path. */
pid_t tu_spawn_driver(const char *const *argv, const char *log_path);
/* Waits up to timeout_ms for the child; returns its wait status or -1. */
int tu_wait(pid_t pid, int timeout_ms);
/* Kills (SIGKILL) and reaps a child if it is still there. */
void tu_reap(pid_t pid);
/* Kills and reaps every child tu_spawn_* started that is still there (test teardown:
 * a failed test must not leave writers or drivers running). */
void tu_reap_all(void);
/* A malloc'd copy of a whole file ("" when missing). */
char *tu_read_text(const char *path);
/* Waits up to timeout_ms until the file contains `needle`. */
bool tu_wait_for_text(const char *path, const char *needle, int timeout_ms);
/* A fresh directory under /tmp; the path is written to dir (>= 64 bytes). */
void tu_temp_dir(char *dir);
void tu_remove_dir(const char *dir);
uint64_t tu_now_ms(void);
void tu_sleep_ms(int ms);

/* Waits are safety nets, not expected durations: a test may be slow on a loaded
 * machine (or under valgrind), never wrong. A wait for a child gives up only when
 * the child exited or made no progress (neither its CPU time nor its log grew)
 * for TU_PATIENCE_MS, and a wait with nothing to watch gives up after it. */
#define TU_PATIENCE_MS 120000
typedef struct tu_progress {
    pid_t pid;
    const char *log; /* may be NULL */
    unsigned long long cpu_ticks;
    size_t log_bytes;
    uint64_t changed_ms; /* when the CPU time or the log last grew */
} tu_progress;
void tu_progress_start(tu_progress *p, pid_t pid, const char *log_path);
/* True while the child runs and progresses; false with the reason in `why`. The child is
 * not reaped: tu_wait still gets its status. */
bool tu_progress_check(tu_progress *p, char *why, size_t why_len);

#endif

/*
 * service/notify.h - systemd's readiness and watchdog protocol (sd_notify)
 * for `sky run` and `sky-driver` as services (examples/systemd).
 *
 * One call from each main loop, service_alive(), once per iteration: the
 * first sends READY=1, later ones WATCHDOG=1 at most every quarter of the
 * unit's WatchdogSec=, so that a loop that stops (a hung GPU wait, a
 * deadlock) gets the service killed and restarted. Without NOTIFY_SOCKET
 * (not started by systemd, or Type=simple) nothing is sent and the call
 * costs one branch. Not thread-safe: one loop thread calls it.
 */
#ifndef SKY_SERVICE_NOTIFY_H
#define SKY_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* READY=1 the first time, then WATCHDOG=1 when due; now from CLOCK_MONOTONIC. */
void service_alive(void);

/* The same with the time given (the tests step it); true when a message was sent. */
bool service_alive_at(uint64_t now_ns);

/* Forgets what was sent and reads NOTIFY_SOCKET and WATCHDOG_USEC again (tests). */
void service_notify_reset(void);

#endif

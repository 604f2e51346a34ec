/*
 * service/notify.c - READY=1 and WATCHDOG=1 through libsystemd's sd_notify.
 *
 * The environment is read once, at the first call: NOTIFY_SOCKET says
 * whether systemd listens, sd_watchdog_enabled() whether it expects pings
 * (WATCHDOG_USEC, and WATCHDOG_PID naming this process) and how often. A
 * ping every quarter of the period leaves three missed ones' slack before
 * systemd acts, so a busy machine (a slow frame, a stats print) never trips
 * it while a loop that stopped does within one period.
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

typedef struct service_state {
    bool looked;       /* the environment has been read */
    bool listening;    /* NOTIFY_SOCKET is set */
    bool ready_sent;
    uint64_t every_ns; /* 0: no watchdog */
    uint64_t next_ns;  /* the next ping is due then */
} service_state;

static service_state service;

void service_notify_reset(void) {
    service = (service_state){0};
}

static void service_look(void) {
    service.looked = true;
    const char *socket_path = getenv("NOTIFY_SOCKET");
    service.listening = socket_path && socket_path[0];
    uint64_t usec = 0;
    if (service.listening && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        service.every_ns = usec * 1000u / 4u;
}

static bool service_send(const char *message) {
    int r = sd_notify(0, message);
    if (r < 0) {
        /* Once: a systemd that went away must not flood the journal at 60 lines a second. */
        static bool reported;
        if (!reported) fprintf(stderr, "sd_notify(%s) failed: error %d\n", message, -r);
        reported = true;
        return false;
    }
    return r > 0;
}

bool service_alive_at(uint64_t now_ns) {
    if (!service.looked) service_look();
    if (!service.listening) return false;
    if (!service.ready_sent) {
        service.ready_sent = true;
        service.next_ns = now_ns + service.every_ns;
        return service_send("READY=1");
    }
    if (service.every_ns == 0 || now_ns < service.next_ns) return false;
    service.next_ns = now_ns + service.every_ns;
    return service_send("WATCHDOG=1");
}

void service_alive(void) {
    if (service.looked && !service.listening) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    (void)service_alive_at((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

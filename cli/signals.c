/*
 * signals.c - SIGINT, SIGTERM and SIGHUP for `sky run` and `sky preview`, on
 * a thread of their own.
 *
 * The signals are blocked in every thread (live_signals_start runs before any
 * other thread exists, and threads inherit the mask, the driver's included)
 * and taken by one thread in sigwait, so no handler ever runs inside shaderc
 * or the Vulkan driver. A stop signal sets the flag, wakes
 * live_signals_sleep_until and makes live_signals_fd readable (for poll), so
 * a main thread that is waiting anywhere of ours notices at once. A main
 * thread stuck inside a compiler or the driver cannot notice: if it has not
 * called live_signals_finish within LIVE_STOP_GRACE_MS, this thread prints
 * the stop and ends the process with _exit (status 0 when a stop is the
 * command's normal end, as for `sky run`, else 128 + the signal). That is safe for the frame file:
 * published frames stay published, a slot being written keeps its odd
 * sequence number (readers skip it), and the writer's flock goes with the
 * process, so readers see the writer as gone. SIGHUP calls the reload
 * callback (`sky run` reloads its pattern, as sky-driver reloads its config).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

/* 1 s is the promise (docs/run-and-preview.md); the rest is for the exit itself. */
#define LIVE_STOP_GRACE_MS 500

static struct {
    const char *cmd;
    bool stop_is_success; /* the forced exit's status: 0, else 128 + the signal */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC: stop, finish */
    int stop_signal;     /* 0, or the signal that asked to stop */
    bool finished;       /* the main thread is done: no forced exit */
    int stop_fd;         /* eventfd, readable once a stop signal came */
    live_reload_fn on_hup;
    void *hup_context;
    sigset_t set;
} live_sig = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_fd = -1};

static const char *live_signal_name(int signo) {
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "SIGHUP";
}

static uint64_t live_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec live_timespec(uint64_t ns) {
    return (struct timespec){(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
}

/* After a stop signal: give the main thread the grace period, then end the process. */
static void live_sig_force_exit_later(int signo) {
    struct timespec until = live_timespec(live_now_ns() + LIVE_STOP_GRACE_MS * 1000000ull);
    pthread_mutex_lock(&live_sig.lock);
    while (!live_sig.finished)
        if (pthread_cond_timedwait(&live_sig.wake, &live_sig.lock, &until) == ETIMEDOUT) break;
    bool finished = live_sig.finished;
    pthread_mutex_unlock(&live_sig.lock);
    if (finished) return;
    /* The main thread is inside a compiler or the driver (or a loop that does not poll). */
    fprintf(stderr,
            "%s: stopped by %s (the main thread did not stop within %d ms: busy in the "
            "shader compiler or the driver; leaving without waiting for it)\n",
            live_sig.cmd, live_signal_name(signo), LIVE_STOP_GRACE_MS);
    fflush(stdout);
    _exit(live_sig.stop_is_success ? 0 : 128 + signo);
}

static void *live_sig_thread(void *arg) {
    (void)arg;
    for (;;) {
        int signo = 0;
        if (sigwait(&live_sig.set, &signo) != 0) continue;
        if (signo == SIGHUP) {
            pthread_mutex_lock(&live_sig.lock);
            live_reload_fn fn = live_sig.on_hup;
            void *context = live_sig.hup_context;
            pthread_mutex_unlock(&live_sig.lock);
            if (fn)
                fn(context);
            else
                fprintf(stderr, "%s: SIGHUP ignored (nothing to reload)\n", live_sig.cmd);
            continue;
        }
        pthread_mutex_lock(&live_sig.lock);
        bool first = live_sig.stop_signal == 0;
        if (first) live_sig.stop_signal = signo;
        pthread_cond_broadcast(&live_sig.wake);
        pthread_mutex_unlock(&live_sig.lock);
        uint64_t one = 1;
        if (write(live_sig.stop_fd, &one, sizeof one) < 0) {
            /* Only EAGAIN (counter full) is possible, and then it is readable already. */
        }
        if (first) live_sig_force_exit_later(signo);
    }
    return NULL;
}

bool live_signals_start(const char *cmd, bool stop_is_success) {
    live_sig.cmd = cmd;
    live_sig.stop_is_success = stop_is_success;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&live_sig.wake, &attr) != 0) {
        fprintf(stderr, "%s: cannot set up signal handling\n", cmd);
        return false;
    }
    pthread_condattr_destroy(&attr);
    live_sig.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (live_sig.stop_fd < 0) {
        fprintf(stderr, "%s: cannot set up signal handling: eventfd: %s\n", cmd, strerror(errno));
        return false;
    }
    sigemptyset(&live_sig.set);
    sigaddset(&live_sig.set, SIGINT);
    sigaddset(&live_sig.set, SIGTERM);
    sigaddset(&live_sig.set, SIGHUP);
    int err = pthread_sigmask(SIG_BLOCK, &live_sig.set, NULL);
    pthread_t thread;
    if (err == 0) err = pthread_create(&thread, NULL, live_sig_thread, NULL);
    if (err == 0) err = pthread_detach(thread);
    if (err != 0) {
        fprintf(stderr, "%s: cannot set up signal handling: %s\n", cmd, strerror(err));
        return false;
    }
    return true;
}

void live_signals_on_hup(live_reload_fn fn, void *context) {
    pthread_mutex_lock(&live_sig.lock);
    live_sig.on_hup = fn;
    live_sig.hup_context = context;
    pthread_mutex_unlock(&live_sig.lock);
}

int live_signals_stopped(void) {
    pthread_mutex_lock(&live_sig.lock);
    int signo = live_sig.stop_signal;
    pthread_mutex_unlock(&live_sig.lock);
    return signo;
}

int live_signals_fd(void) {
    return live_sig.stop_fd;
}

bool live_signals_sleep_until(uint64_t deadline_ns) {
    struct timespec until = live_timespec(deadline_ns);
    pthread_mutex_lock(&live_sig.lock);
    while (!live_sig.stop_signal)
        if (pthread_cond_timedwait(&live_sig.wake, &live_sig.lock, &until) == ETIMEDOUT) break;
    bool go_on = !live_sig.stop_signal;
    pthread_mutex_unlock(&live_sig.lock);
    return go_on;
}

void live_signals_finish(void) {
    pthread_mutex_lock(&live_sig.lock);
    live_sig.finished = true;
    live_sig.on_hup = NULL;
    pthread_cond_broadcast(&live_sig.wake);
    pthread_mutex_unlock(&live_sig.lock);
}

const char *live_signals_name(int signo) {
    return live_signal_name(signo);
}

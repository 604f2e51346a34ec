/*
 * watch.c - `sky run --watch`: notices when the pattern file changes and hands
 * its new contents to a callback, on a background thread.
 *
 * The watch is on the file's directory, not the file: editors save by writing
 * a temporary file and renaming it over the original (vim, VS Code, most
 * atomic-save tools), which replaces the inode a per-file watch would follow.
 * Events for the file's name (written and closed, moved in, created, modified)
 * start a short quiet period: the file is read only once no further event
 * for that name arrived for WATCH_QUIET_MS, so that a save in several writes
 * is read once, whole. Events for other files of the directory are drained
 * and ignored: a log written every few ms beside the pattern must not keep
 * the quiet period from ever ending. Contents equal to the last ones seen (a
 * `touch`, a save without changes) are ignored, except after
 * live_watch_reload_now (SIGHUP), which reloads whatever the file holds. The
 * thread waits in poll() on the inotify descriptor and two eventfds, one that
 * live_watch_stop signals and one for live_watch_reload_now, so neither ever
 * waits for a timeout.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "show.h"

#define WATCH_QUIET_MS 60
#define WATCH_MASK     (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY)

struct live_watch {
    const char *cmd;
    char *path; /* the file, as given */
    char *dir;  /* its directory */
    char *base; /* its name in the directory */
    int inotify_fd;
    int stop_fd;   /* eventfd: written once by live_watch_stop */
    int reload_fd; /* eventfd: written by live_watch_reload_now */
    char *last;    /* the contents last handed on (or compiled at start) */
    bool follow;   /* following the file's changes, not only reload requests */
    size_t last_len;
    live_watch_fn on_change;
    void *context;
    pthread_t thread;
    bool thread_started;
};

/* Splits path into directory and name ("." for a bare name). */
static bool watch_split(live_watch *w, const char *path) {
    const char *slash = strrchr(path, '/');
    w->path = strdup(path);
    if (!slash) {
        w->dir = strdup(".");
        w->base = strdup(path);
    } else {
        size_t dir_len = slash == path ? 1 : (size_t)(slash - path);
        w->dir = strndup(path, dir_len);
        w->base = strdup(slash + 1);
    }
    return w->path && w->dir && w->base;
}

/*
 * Reads every pending inotify event. Returns 1 when one concerned our file,
 * 0 when none did, -1 when the directory went away (nothing more will come).
 */
static int watch_drain(live_watch *w) {
    /* Aligned as inotify requires; room for many events with maximal names. */
    char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    int relevant = 0;
    for (;;) {
        ssize_t n = read(w->inotify_fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return relevant;
            fprintf(stderr, "%s: --watch: reading inotify events: %s\n", w->cmd, strerror(errno));
            return -1;
        }
        if (n == 0) return relevant;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                fprintf(stderr, "%s: --watch: the directory %s went away; no longer watching\n",
                        w->cmd, w->dir);
                return -1;
            }
            if (ev->len > 0 && strcmp(ev->name, w->base) == 0) relevant = 1;
            p += sizeof *ev + ev->len;
        }
    }
}

/*
 * Waits up to timeout_ms (-1: forever) for an event or the stop signal: 1 event, 0 timeout, -1
 * stop, 2 reload asked (live_watch_reload_now; the request is consumed).
 */
static int watch_wait(live_watch *w, int timeout_ms) {
    struct pollfd fds[3] = {
        {w->inotify_fd, POLLIN, 0}, {w->stop_fd, POLLIN, 0}, {w->reload_fd, POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 3, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "%s: --watch: poll: %s\n", w->cmd, strerror(errno));
            return -1;
        }
        if (fds[1].revents) return -1;
        if (fds[2].revents) {
            uint64_t count;
            if (read(w->reload_fd, &count, sizeof count) < 0) {
                /* EAGAIN: another reader took it; nothing else can fail on an eventfd */
            }
            return 2;
        }
        return n > 0 ? 1 : 0;
    }
}

static int64_t watch_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the file and, when its contents changed (or `force`), calls the callback. */
static void watch_reload(live_watch *w, bool force) {
    char error[512];
    size_t len = 0;
    char *source = cli_read_file(w->path, &len, error, sizeof error);
    if (!source) {
        /* Between an editor's unlink and rename the file may briefly be missing. */
        if (access(w->path, F_OK) == 0) fprintf(stderr, "%s: --watch: %s\n", w->cmd, error);
        return;
    }
    if (!force && w->last && len == w->last_len && memcmp(source, w->last, len) == 0) {
        free(source);
        return;
    }
    w->on_change(w->context, source, len, w->stop_fd);
    free(w->last);
    w->last = source;
    w->last_len = len;
}

/*
 * Quiet period: drains events until none for our file came for WATCH_QUIET_MS.
 * Returns 1 to read the file, 2 when a reload was asked meanwhile, -1 to stop.
 */
static int watch_quiet(live_watch *w) {
    int64_t quiet_from = watch_now_ms();
    for (;;) {
        int64_t left = quiet_from + WATCH_QUIET_MS - watch_now_ms();
        if (left <= 0) return 1;
        int got = watch_wait(w, (int)left);
        if (got < 0 || got == 2) return got;
        if (got == 0) continue; /* the loop re-checks the time */
        int relevant = watch_drain(w);
        if (relevant < 0) return -1;
        if (relevant) quiet_from = watch_now_ms();
    }
}

static void *watch_thread(void *arg) {
    live_watch *w = arg;
    /* A save between reading the file at start and adding the watch (the first build
     * takes seconds) raised no event: compare once, now that events are caught. */
    if (w->follow) watch_reload(w, false);
    for (;;) {
        int got = watch_wait(w, -1);
        if (got < 0) break;
        if (got == 2) {
            watch_reload(w, true);
            continue;
        }
        int relevant = watch_drain(w);
        if (relevant < 0) break;
        if (!relevant) continue;
        int quiet = watch_quiet(w);
        if (quiet < 0) break;
        watch_reload(w, quiet == 2);
    }
    return NULL;
}

static void watch_free(live_watch *w) {
    if (w->inotify_fd >= 0) close(w->inotify_fd);
    if (w->stop_fd >= 0) close(w->stop_fd);
    if (w->reload_fd >= 0) close(w->reload_fd);
    free(w->path);
    free(w->dir);
    free(w->base);
    free(w->last);
    free(w);
}

bool live_watch_start(const char *cmd, const char *path, const char *initial, size_t initial_len,
                      bool follow_changes, live_watch_fn on_change, void *context,
                      live_watch **watch) {
    *watch = NULL;
    live_watch *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return false;
    }
    w->cmd = cmd;
    w->inotify_fd = w->stop_fd = w->reload_fd = -1;
    w->on_change = on_change;
    w->context = context;
    w->follow = follow_changes;
    if (!watch_split(w, path) || !(w->last = malloc(initial_len + 1))) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        watch_free(w);
        return false;
    }
    memcpy(w->last, initial, initial_len);
    w->last[initial_len] = '\0';
    w->last_len = initial_len;
    w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->reload_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->inotify_fd < 0 || w->stop_fd < 0 || w->reload_fd < 0) {
        fprintf(stderr, "%s: --watch: %s: %s\n", cmd, w->inotify_fd < 0 ? "inotify" : "eventfd",
                strerror(errno));
        watch_free(w);
        return false;
    }
    /* Without it the inotify descriptor stays silent: only reload requests come. */
    if (follow_changes && inotify_add_watch(w->inotify_fd, w->dir, WATCH_MASK) < 0) {
        fprintf(stderr, "%s: --watch: cannot watch the directory %s: %s\n", cmd, w->dir,
                strerror(errno));
        watch_free(w);
        return false;
    }
    int err = pthread_create(&w->thread, NULL, watch_thread, w);
    if (err != 0) {
        fprintf(stderr, "%s: --watch: cannot start the watcher thread: %s\n", cmd, strerror(err));
        watch_free(w);
        return false;
    }
    w->thread_started = true;
    *watch = w;
    return true;
}

void live_watch_reload_now(live_watch *watch) {
    if (!watch) return;
    uint64_t one = 1;
    if (write(watch->reload_fd, &one, sizeof one) < 0) {
        /* EAGAIN only: a reload is already pending */
    }
}

void live_watch_stop(live_watch *watch) {
    if (!watch) return;
    if (watch->thread_started) {
        uint64_t one = 1;
        ssize_t n;
        do n = write(watch->stop_fd, &one, sizeof one);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof one) {
            /* The thread cannot be told to stop: leave it (and its memory) be. */
            fprintf(stderr, "%s: --watch: cannot signal the watcher thread: %s\n", watch->cmd,
                    strerror(errno));
            return;
        }
        pthread_join(watch->thread, NULL);
    }
    watch_free(watch);
}

/*
 * watch.c - `sky run --watch`: notices when the pattern file changes and hands
 * its new contents to a callback, on a background thread.
 *
 * The watch is on the file's directory, not the file: editors save by writing
 * a temporary file and renaming it over the original (vim, VS Code, most
 * atomic-save tools), which replaces the inode a per-file watch would follow.
 * A save is complete when the file's name is closed after writing
 * (IN_CLOSE_WRITE: an editor writing in place) or renamed into the directory
 * (IN_MOVED_TO: an atomic save), and the file is read at once then, with no
 * quiet period: every millisecond here is a millisecond of the save -> new
 * pattern time (a 60 ms quiet period was a third of it). Creating, opening or
 * writing the file raises nothing until it is closed, so a file is never read
 * half written by a well-behaved writer. A burst is coalesced: every event
 * queued by the time the file is read (and all that came during the reload's
 * build) is drained first, and the file is read once, with its latest
 * contents. Events for other files of the directory are drained and ignored.
 * Contents equal to the last ones seen (a `touch`, a save without changes)
 * are ignored, except after live_watch_reload_now (SIGHUP), which reloads
 * whatever the file holds. The thread waits in poll() on the inotify
 * descriptor and two eventfds, one that live_watch_stop signals and one for
 * live_watch_reload_now, so it never waits for a timeout.
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
#include <unistd.h>

#include "cli.h"
#include "show.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO)

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

/* Waits for an event or a request: 1 event, -1 stop, 2 reload asked (the request is consumed). */
static int watch_wait(live_watch *w) {
    struct pollfd fds[3] = {
        {w->inotify_fd, POLLIN, 0}, {w->stop_fd, POLLIN, 0}, {w->reload_fd, POLLIN, 0}};
    for (;;) {
        int n = poll(fds, 3, -1);
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
        return 1;
    }
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

static void *watch_thread(void *arg) {
    live_watch *w = arg;
    /* A save between reading the file at start and adding the watch (the first build
     * takes seconds) raised no event: compare once, now that events are caught. */
    if (w->follow) watch_reload(w, false);
    for (;;) {
        int got = watch_wait(w);
        if (got < 0) break;
        if (got == 2) {
            watch_reload(w, true);
            continue;
        }
        int relevant = watch_drain(w);
        if (relevant < 0) break;
        if (relevant) watch_reload(w, false);
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

/*
 * soak_proc.c - child processes, /proc sampling and the `sky run` stats
 * reader of the soak (see soak_proc.h).
 *
 * The table of children is this file's one global: soak_kill_all runs from
 * atexit and after a stop signal, where no context pointer can be passed.
 */
#include "soak_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SOAK_MAX_CHILDREN 64

static soak_child *soak_children[SOAK_MAX_CHILDREN]; /* every child started, for soak_kill_all */

uint64_t soak_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void soak_sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void soak_register(soak_child *c) {
    for (size_t i = 0; i < SOAK_MAX_CHILDREN; i++) {
        if (soak_children[i] == c) return;
        if (!soak_children[i]) {
            soak_children[i] = c;
            return;
        }
    }
}

int soak_spawn(soak_child *c, const char *name, char *const argv[], int out_fd, int err_fd,
               char *err, size_t err_len) {
    pid_t parent = getpid();
    memset(c, 0, sizeof *c);
    c->name = name;
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_len, "%s: fork: %s", name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127); /* the harness died before the prctl */
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        dprintf(2, "soak: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no window where a kill of the group misses it */
    c->pid = pid;
    c->started_ns = soak_now_ns();
    soak_register(c);
    return 0;
}

void soak_signal(const soak_child *c, int sig) {
    if (c->pid > 0 && !c->reaped) kill(-c->pid, sig);
}

bool soak_exited(soak_child *c) {
    if (c->pid <= 0 || c->reaped) return true;
    int status = 0;
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == c->pid) {
        c->status = status;
        c->reaped = true;
        kill(-c->pid, SIGKILL); /* anything it left in its group */
        return true;
    }
    return false;
}

bool soak_reap(soak_child *c, int timeout_ms) {
    uint64_t end = soak_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        if (soak_exited(c)) return true;
        if (soak_now_ns() >= end) return false;
        soak_sleep_ns(5000000);
    }
}

void soak_kill_all(void) {
    for (size_t i = 0; i < SOAK_MAX_CHILDREN; i++) {
        soak_child *c = soak_children[i];
        if (!c || c->pid <= 0 || c->reaped) continue;
        kill(-c->pid, SIGKILL);
        int status = 0;
        if (waitpid(c->pid, &status, 0) == c->pid) {
            c->status = status;
            c->reaped = true;
        }
    }
}

void soak_describe_status(int status, char *buf, size_t len) {
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "wait status 0x%x", (unsigned)status);
}

/* ------------------------------------------------------------ /proc */

static long soak_status_field(const char *text, const char *key) {
    const char *p = strstr(text, key);
    if (!p) return -1;
    p += strlen(key);
    while (*p == ' ' || *p == '\t') p++;
    char *end = NULL;
    long v = strtol(p, &end, 10);
    return end == p ? -1 : v;
}

bool soak_usage_read(pid_t pid, soak_usage *u) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return false;
    text[n] = '\0';
    u->rss_kb = soak_status_field(text, "\nVmRSS:");
    u->threads = (int)soak_status_field(text, "\nThreads:");
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return false;
    int fds = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') fds++;
    closedir(d);
    u->fds = fds - 1; /* opendir's own descriptor is not the process's */
    return u->rss_kb >= 0 && u->threads > 0;
}

/* ------------------------------------------------------------ stats lines */

/* "sky run:   60.0 fps | ... | late 0 dropped 0 | frame 239" */
static bool soak_parse_stats(const char *line, soak_stat_line *out) {
    if (strncmp(line, "sky run:", 8) != 0) return false;
    const char *late = strstr(line, "| late ");
    if (!late) return false;
    unsigned long long l = 0, d = 0, f = 0;
    if (sscanf(line + 8, "%lf fps", &out->fps) != 1) return false;
    if (sscanf(late, "| late %llu dropped %llu | frame %llu", &l, &d, &f) != 3) return false;
    out->late = l;
    out->dropped = d;
    out->frame = f;
    return true;
}

static void soak_reader_line(soak_reader *r, const char *line) {
    if (r->log) fprintf(r->log, "%s\n", line);
    soak_stat_line s;
    memset(&s, 0, sizeof s);
    if (!soak_parse_stats(line, &s)) return;
    s.t_ns = soak_now_ns();
    s.instance = r->instance;
    soak_lines *k = r->sink;
    pthread_mutex_lock(&k->lock);
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        soak_stat_line *grown = realloc(k->lines, cap * sizeof *grown);
        if (!grown) {
            k->lost = true;
            pthread_mutex_unlock(&k->lock);
            return;
        }
        k->lines = grown;
        k->cap = cap;
    }
    k->lines[k->count++] = s;
    pthread_mutex_unlock(&k->lock);
}

static void *soak_reader_thread(void *arg) {
    soak_reader *r = arg;
    char buf[4096];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(r->fd, buf + used, sizeof buf - 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
        buf[used] = '\0';
        char *start = buf, *nl;
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            soak_reader_line(r, start);
            start = nl + 1;
        }
        used -= (size_t)(start - buf);
        memmove(buf, start, used);
        if (used == sizeof buf - 1) { /* a line longer than the buffer: take it as is */
            buf[used] = '\0';
            soak_reader_line(r, buf);
            used = 0;
        }
    }
    if (used) {
        buf[used] = '\0';
        soak_reader_line(r, buf);
    }
    if (r->log) fflush(r->log);
    return NULL;
}

int soak_reader_start(soak_reader *r, int fd, unsigned instance, FILE *log, soak_lines *sink,
                      char *err, size_t err_len) {
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->instance = instance;
    r->log = log;
    r->sink = sink;
    int rc = pthread_create(&r->thread, NULL, soak_reader_thread, r);
    if (rc != 0) {
        snprintf(err, err_len, "cannot start the stats reader: %s", strerror(rc));
        return -1;
    }
    r->started = true;
    return 0;
}

void soak_reader_join(soak_reader *r) {
    if (r->started) pthread_join(r->thread, NULL);
    r->started = false;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

/*
 * soak_proc.h - the soak's child processes: start, signal, reap, sample.
 *
 * Every child runs in its own process group (so a kill reaches anything it
 * starts) and has PR_SET_PDEATHSIG = SIGKILL (so it dies with the harness
 * even when the harness is SIGKILLed, e.g. by a ctest timeout). The harness
 * keeps every child it started in a table and kills what is left on every
 * exit path. `sky run`'s standard output comes through a pipe that a thread
 * reads line by line, copying it to a log and parsing its --stats lines.
 */
#ifndef SOAK_PROC_H
#define SOAK_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

uint64_t soak_now_ns(void);
void soak_sleep_ns(uint64_t ns);

typedef struct soak_child {
    const char *name;
    pid_t pid; /* 0: not running */
    uint64_t started_ns;
    int status; /* wait status once reaped */
    bool reaped;
} soak_child;

/*
 * Starts argv[0] (a path) with stdin from /dev/null, stdout to out_fd and
 * stderr to err_fd (both closed in the parent by the caller). Registers the
 * child for soak_kill_all. -1 with a message on failure.
 */
int soak_spawn(soak_child *c, const char *name, char *const argv[], int out_fd, int err_fd,
               char *err, size_t err_len);
/* Sends sig to the child's process group. */
void soak_signal(const soak_child *c, int sig);
/* Waits up to timeout_ms for the child to exit; true when it did (status kept). */
bool soak_reap(soak_child *c, int timeout_ms);
/* True when the child has exited (reaps it without waiting). */
bool soak_exited(soak_child *c);
/* SIGKILLs and reaps every registered child still running. Async-signal-safe enough
 * for an atexit handler; idempotent. */
void soak_kill_all(void);
/* "exit 0", "killed by SIGKILL", ... */
void soak_describe_status(int status, char *buf, size_t len);

/* One look at /proc/PID: resident memory, open descriptors, threads. */
typedef struct soak_usage {
    long rss_kb;
    int fds, threads;
} soak_usage;
bool soak_usage_read(pid_t pid, soak_usage *u);

/* ------------------------------------------------ sky run --stats lines */

typedef struct soak_stat_line {
    uint64_t t_ns; /* arrival */
    unsigned instance;
    double fps;
    uint64_t late, dropped, frame; /* frame: the runtime's frame count, since the start */
} soak_stat_line;

typedef struct soak_lines {
    pthread_mutex_t lock;
    soak_stat_line *lines;
    size_t count, cap;
    bool lost; /* out of memory */
} soak_lines;

/* A thread reading one instance's stdout until EOF. */
typedef struct soak_reader {
    pthread_t thread;
    bool started;
    int fd;
    unsigned instance;
    FILE *log;
    soak_lines *sink;
} soak_reader;

int soak_reader_start(soak_reader *r, int fd, unsigned instance, FILE *log, soak_lines *sink,
                      char *err, size_t err_len);
/* Joins the thread (the child's stdout must have closed: it exited) and closes fd. */
void soak_reader_join(soak_reader *r);

#endif

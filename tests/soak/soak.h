/*
 * soak.h - the state of one soak run, shared by the driver of the run
 * (soak.c: options, processes, the fault schedule) and its judge
 * (soak_report.c: windows, checks, the summary).
 */
#ifndef SOAK_H
#define SOAK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "soak_check.h"
#include "soak_proc.h"
#include "soak_recv.h"

#define SOAK_MAX_INSTANCES 64
#define SOAK_RECEIVERS     2
#define SOAK_RX_SACN       0
#define SOAK_RX_DDP        1

typedef struct soak_options {
    double duration_s;
    double reload_every_s;     /* pattern saves (rename over the watched file) */
    int bad_every;             /* every Nth save has a compile error (0: never) */
    double kill_every_s;       /* SIGKILL sky run, then start it again */
    double rx_restart_every_s; /* close and rebind a receiver, alternating */
    double hup_every_s;        /* SIGHUP sky-driver (config reload) */
    double sample_every_s;     /* RSS, fds, threads */
    double warmup_s;           /* after a process starts, before flatness counts */
    double hold_s, fade_s;     /* the driver's */
    double fps;
    uint32_t strips, per_strip; /* disc:STRIPSxPER */
    const char *sky_bin, *driver_bin, *dir;
    double rss_bound_driver_mb, rss_bound_run_mb;
    bool rss_unchecked;   /* under ASan: its quarantine makes RSS grow by design */
    double pacing_budget; /* share of intervals within 1.5 periods, of deadlines met */
    bool pacing_strict;   /* a pacing miss is a violation (else reported only) */
    uint64_t seed;        /* of the jitter of the SIGHUP times (printed; --seed repeats a run) */
    bool keep;
} soak_options;

typedef enum soak_event_kind {
    SOAK_EV_SAVE,       /* arg: pattern */
    SOAK_EV_SAVE_BAD,   /* a save with a compile error */
    SOAK_EV_KILL,       /* arg: instance killed */
    SOAK_EV_SPAWN,      /* arg: instance started */
    SOAK_EV_RX_RESTART, /* arg: receiver */
    SOAK_EV_HUP,
    SOAK_EV_STOP,
    SOAK_EV_EXIT,  /* arg: instance that exited on its own (the harness restarts it) */
    SOAK_EV_STALL, /* the harness's own loop ran late: t = the tick before, arg = ms late */
} soak_event_kind;

typedef struct soak_event {
    soak_event_kind kind;
    uint64_t t_ns;
    int arg;
} soak_event;

typedef struct soak_sample {
    uint64_t t_ns;
    int who; /* 0: sky-driver, else the sky run instance number (1, 2, ...) */
    soak_usage u;
} soak_sample;

typedef struct soak_run {
    soak_options o;
    soak_model model;
    char layout[64];
    char work[200], shm[256];
    char frame_path[300], pattern_path[300], ini_path[300], driver_log[300];
    soak_rx rx[SOAK_RECEIVERS];
    soak_child driver;
    soak_child writers[SOAK_MAX_INSTANCES + 1]; /* by instance number, from 1 */
    soak_reader readers[SOAK_MAX_INSTANCES + 1];
    FILE *run_out[SOAK_MAX_INSTANCES + 1];
    unsigned instances;
    soak_lines lines;
    soak_event *events;
    size_t event_count, event_cap;
    soak_sample *samples;
    size_t sample_count, sample_cap;
    uint64_t t0, t_end;
    bool interrupted;
    unsigned violations;
} soak_run;

/* Reports a failed check (printed at once, counted). */
void soak_violation(soak_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Seconds since the start of the run. */
double soak_secs(const soak_run *r, uint64_t t_ns);

/* Judges the finished run and prints the summary to `out`. */
void soak_report(soak_run *r, FILE *out);

#endif

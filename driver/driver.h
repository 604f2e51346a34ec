/*
 * driver.h - the frame loop: reads the frame file, decides what to show
 * (live, held, fading, black), runs stage one of every output's colour
 * pipeline, shares the power budget, and hands frames to the outputs'
 * threads. Also stats, config reload and the shutdown goodbye.
 *
 * main.c owns the process (arguments, signals); tests drive a driver in
 * process through the same calls.
 */
#ifndef DRV_DRIVER_H
#define DRV_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "output.h"
#include "reader.h"

typedef struct driver_output_snapshot {
    uint64_t frames, packets, errors, latency_sum_ns, latency_count;
    uint64_t latency_max_run_ns; /* the largest latency of the run so far */
    uint64_t since_ns;           /* when the output was created by a reload (0: at start) */
} driver_output_snapshot;

typedef struct driver {
    drv_config config;
    output_env env;
    output **outputs;
    bool *active; /* configured and running for the current layout */
    driver_output_snapshot *last;
    size_t output_count;
    frame_source source;

    uint64_t applied_generation;
    double applied_rate;
    double rate; /* Hz the driver sends at now */

    /* send scheduling */
    double tokens;
    uint64_t tokens_ns, last_send_ns;
    bool pending_new;
    uint64_t pending_publish_ns;

    /* power */
    bool limiting;
    uint64_t limit_log_ns;
    double last_factor_min;

    /* stats */
    uint64_t frames_out, frames_skipped, limited_frames;
    uint64_t started_ns, next_stats_ns, last_stats_ns, last_frames_out;
} driver;

/* Takes ownership of *config (cleared) and opens every enabled output. */
int driver_create(driver *d, drv_config *config, char *err, size_t err_len);
void driver_free(driver *d);

/* One pass of the loop at time now; returns when to call again (ns). */
uint64_t driver_step(driver *d, uint64_t now);

/* Swaps in a new configuration (SIGHUP). On failure the old one keeps running. */
int driver_reload(driver *d, drv_config *config, char *err, size_t err_len);

/* Black frame, protocol goodbyes, threads stopped. */
void driver_shutdown(driver *d);

/* The stats lines (periodic and on SIGUSR1): rates and latency over the last period. */
void driver_print_stats(driver *d, uint64_t now);
/* The last stats lines (at exit): "stats (whole run, S s): ...", rates over the whole run. */
void driver_print_final_stats(driver *d, uint64_t now);

/* --check (check.c): opens, sizes and tries every enabled output without sending, against the
 * frame file when there is one; logs every problem. Returns how many there were. */
int driver_check(const drv_config *config);

/* Flags main.c's signal handlers set; polled by driver_run. */
typedef struct driver_signals {
    volatile sig_atomic_t *quit, *reload, *report;
} driver_signals;

typedef int (*driver_reload_fn)(void *user, drv_config *config, char *err, size_t err_len);

/* Runs until *quit; reload_fn builds the new config on SIGHUP. Returns 0. */
int driver_run(driver *d, const driver_signals *signals, driver_reload_fn reload_fn, void *user);

#endif

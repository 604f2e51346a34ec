/*
 * cli_harness.h - running the `sky` binary from tests: spawn it with its
 * output captured in files, wait with a timeout, read what it printed, and
 * scratch directories for pattern files, frame files and images.
 *
 * The binary's path comes from the SKY_CLI environment variable, which
 * tests/cli/CMakeLists.txt sets to $<TARGET_FILE:sky-cli>.
 */
#ifndef SKY_TESTS_CLI_HARNESS_H
#define SKY_TESTS_CLI_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sky/frame.h"
#include "sky/sky.h"

typedef struct cli_proc {
    pid_t pid;
    char out_path[512], err_path[512]; /* captured stdout and stderr */
    int status;                        /* from waitpid, once exited */
    bool exited;
} cli_proc;

/* The sky binary (SKY_CLI); fails the test when unset. */
const char *cli_binary(void);

/* A fresh scratch directory (removed with its files by cli_tmpdir_remove). */
void cli_tmpdir(char *dir, size_t len);
void cli_tmpdir_remove(const char *dir);
/* dir/name into out. */
void cli_path(char *out, size_t len, const char *dir, const char *name);
/* Writes text to path in place. */
void cli_write_file(const char *path, const char *text);
/* Writes text to a temporary file beside path and renames it over path, as editors save. */
void cli_replace_file(const char *path, const char *text);
/* The whole file as a NUL-terminated malloc'd string ("" when missing). */
char *cli_slurp(const char *path);

/* Starts `sky args...` (args NULL-terminated) with stdout/stderr in files under dir. */
void cli_spawn(cli_proc *proc, const char *dir, const char *const *args);
/* Waits up to timeout_s for the process; false on timeout (then it is killed). */
bool cli_wait(cli_proc *proc, double timeout_s);
/* True while the process has not exited (reaps it when it has). */
bool cli_alive(cli_proc *proc);
/* A cmocka teardown: kills and reaps every child a (failed) test left running. */
int cli_kill_children(void **state);
/* Exit code, or 128 + signal number when killed by a signal. */
int cli_exit_code(const cli_proc *proc);

/* Runs `sky args...` to completion (timeout_s) and returns its exit code; captures stderr. */
int cli_run(const char *dir, const char *const *args, double timeout_s, char **err_text);

/* Sleeps for ms milliseconds. */
void cli_sleep_ms(unsigned ms);
/* Seconds on CLOCK_MONOTONIC. */
double cli_now(void);

/* Compiles a pattern in-process (the test fails on errors). */
sky_program *cli_compile(const char *source);

/* A running `sky run` (spawned with cli_spawn) read through its frame file: the suites that
 * watch a live show frame by frame. Waits have CLI_SHOW_SAFETY_S as a safety net only. */
#define CLI_SHOW_SAFETY_S 120.0

typedef struct cli_show {
    cli_proc proc;
    sky_frame_reader *reader;
    uint8_t *pixels; /* the newest frame read: len bytes, 3 per LED */
    size_t len;
    uint64_t last_frame;
} cli_show;

/* Waits until the show's frame file at frame_path opens, then sizes pixels (the test fails
 * when sky exits first). */
void cli_show_open_frames(cli_show *show, const char *frame_path);
/* Waits for the next new frame into pixels (frame numbers only go up); `what` names the
 * step in a failure. */
void cli_show_next_frame(cli_show *show, const char *what);
/* SIGTERM, then requires exit 0 (stderr in the failure); frees the reader and pixels. */
void cli_show_stop(cli_show *show);

#endif

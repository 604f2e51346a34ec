/*
 * cli_harness.c - spawning the `sky` binary for the CLI tests (see
 * cli_harness.h). Processes are started with posix_spawn, their stdout and
 * stderr go to files in the test's scratch directory so that a test can read
 * what they printed at any time, and every wait has a timeout, after which
 * the process is killed, so a hung command fails its test instead of hanging
 * ctest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"

extern char **environ;

/* Children started and not yet reaped, so a failed test can kill what it left running. */
#define CLI_MAX_CHILDREN 64
static pid_t cli_children[CLI_MAX_CHILDREN];

static void cli_child_add(pid_t pid) {
    for (int i = 0; i < CLI_MAX_CHILDREN; i++)
        if (cli_children[i] == 0) {
            cli_children[i] = pid;
            return;
        }
}

static void cli_child_reaped(pid_t pid) {
    for (int i = 0; i < CLI_MAX_CHILDREN; i++)
        if (cli_children[i] == pid) cli_children[i] = 0;
}

int cli_kill_children(void **state) {
    (void)state;
    for (int i = 0; i < CLI_MAX_CHILDREN; i++) {
        if (cli_children[i] == 0) continue;
        kill(cli_children[i], SIGKILL);
        waitpid(cli_children[i], NULL, 0);
        cli_children[i] = 0;
    }
    return 0;
}

const char *cli_binary(void) {
    const char *path = getenv("SKY_CLI");
    if (!path || !path[0]) fail_msg("SKY_CLI is not set: run this test through ctest");
    return path;
}

void cli_tmpdir(char *dir, size_t len) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/sky-cli-test-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(dir)) fail_msg("mkdtemp %s: %s", dir, strerror(errno));
}

void cli_tmpdir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void cli_path(char *out, size_t len, const char *dir, const char *name) {
    int n = snprintf(out, len, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < len);
}

void cli_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void cli_replace_file(const char *path, const char *text) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp~", path);
    cli_write_file(tmp, text);
    if (rename(tmp, path) != 0) fail_msg("rename %s: %s", tmp, strerror(errno));
}

char *cli_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        for (;;) {
            if (len + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 8192;
                char *bigger = realloc(buf, cap);
                assert_non_null(bigger);
                buf = bigger;
            }
            size_t got = fread(buf + len, 1, cap - len - 1, f);
            len += got;
            if (got == 0) break;
        }
        fclose(f);
    }
    if (!buf) buf = malloc(1);
    assert_non_null(buf);
    buf[len] = '\0';
    return buf;
}

void cli_spawn(cli_proc *proc, const char *dir, const char *const *args) {
    static unsigned serial;
    memset(proc, 0, sizeof *proc);
    serial++;
    snprintf(proc->out_path, sizeof proc->out_path, "%s/stdout-%u.txt", dir, serial);
    snprintf(proc->err_path, sizeof proc->err_path, "%s/stderr-%u.txt", dir, serial);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = cli_binary();
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < 63);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t actions;
    assert_int_equal(posix_spawn_file_actions_init(&actions), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, proc->out_path,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600),
                     0);
    assert_int_equal(posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, proc->err_path,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600),
                     0);
    int err = posix_spawn(&proc->pid, argv[0], &actions, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) fail_msg("cannot start %s: %s", argv[0], strerror(err));
    cli_child_add(proc->pid);
}

bool cli_alive(cli_proc *proc) {
    if (proc->exited) return false;
    pid_t got = waitpid(proc->pid, &proc->status, WNOHANG);
    if (got == proc->pid) {
        proc->exited = true;
        cli_child_reaped(proc->pid);
        return false;
    }
    return true;
}

bool cli_wait(cli_proc *proc, double timeout_s) {
    double end = cli_now() + timeout_s;
    while (cli_alive(proc)) {
        if (cli_now() > end) {
            kill(proc->pid, SIGKILL);
            waitpid(proc->pid, &proc->status, 0);
            proc->exited = true;
            cli_child_reaped(proc->pid);
            return false;
        }
        cli_sleep_ms(5);
    }
    return true;
}

int cli_exit_code(const cli_proc *proc) {
    if (WIFEXITED(proc->status)) return WEXITSTATUS(proc->status);
    if (WIFSIGNALED(proc->status)) return 128 + WTERMSIG(proc->status);
    return -1;
}

int cli_run(const char *dir, const char *const *args, double timeout_s, char **err_text) {
    cli_proc proc;
    cli_spawn(&proc, dir, args);
    bool finished = cli_wait(&proc, timeout_s);
    char *err = cli_slurp(proc.err_path);
    if (!finished)
        fail_msg("`sky %s ...` did not finish in %g s; stderr:\n%s", args[0], timeout_s, err);
    unlink(proc.out_path);
    unlink(proc.err_path);
    if (err_text)
        *err_text = err;
    else
        free(err);
    return cli_exit_code(&proc);
}

void cli_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sky_program *cli_compile(const char *source) {
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    sky_status st = sky_compile("test.sky", source, strlen(source), NULL, &program, &diagnostics);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(diagnostics, false, &text);
        fail_msg("test pattern does not compile: %s\n%s", sky_status_str(st), text ? text : "");
    }
    sky_diagnostics_free(diagnostics);
    return program;
}

/* ------------------------------------------------------------ a live show */

void cli_show_open_frames(cli_show *show, const char *frame_path) {
    double end = cli_now() + CLI_SHOW_SAFETY_S;
    char error[512] = "";
    while (sky_frame_reader_open(frame_path, &show->reader, error, sizeof error) != SKY_OK) {
        if (!cli_alive(&show->proc))
            fail_msg("sky run exited with %d before creating the frame file:\n%s",
                     cli_exit_code(&show->proc), cli_slurp(show->proc.err_path));
        if (cli_now() > end) fail_msg("no frame file after %g s: %s", CLI_SHOW_SAFETY_S, error);
        cli_sleep_ms(10);
    }
    show->len = (size_t)sky_frame_reader_info(show->reader)->led_count * 3;
    show->pixels = malloc(show->len);
    assert_non_null(show->pixels);
}

void cli_show_next_frame(cli_show *show, const char *what) {
    double end = cli_now() + CLI_SHOW_SAFETY_S;
    for (;;) {
        uint64_t frame = 0;
        char error[512] = "";
        sky_status st = sky_frame_reader_read(show->reader, show->pixels, show->len, &frame, error,
                                              sizeof error);
        if (st == SKY_OK) {
            assert_true(frame > show->last_frame);
            show->last_frame = frame;
            return;
        }
        if (st != SKY_ERR_AGAIN) fail_msg("%s: reading the frame file: %s", what, error);
        if (!cli_alive(&show->proc))
            fail_msg("%s: sky run exited with %d:\n%s", what, cli_exit_code(&show->proc),
                     cli_slurp(show->proc.err_path));
        if (cli_now() > end) fail_msg("%s: no new frame within %g s", what, CLI_SHOW_SAFETY_S);
        cli_sleep_ms(1);
    }
}

void cli_show_stop(cli_show *show) {
    assert_int_equal(kill(show->proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&show->proc, CLI_SHOW_SAFETY_S));
    if (cli_exit_code(&show->proc) != 0)
        fail_msg("sky run exited with %d after SIGTERM:\n%s", cli_exit_code(&show->proc),
                 cli_slurp(show->proc.err_path));
    sky_frame_reader_free(show->reader);
    free(show->pixels);
}

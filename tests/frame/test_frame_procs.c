/*
 * test_frame_procs.c - liveness and restarts with the writer in another
 * process: a SIGKILLed writer is DEAD (its flock is released by the kernel),
 * a stopped writer is STALE (lock held, heartbeat ageing) and ALIVE again
 * once continued, an idle writer that stops beating is STALE, and a writer
 * restarted after a crash (new file renamed over the path) is noticed by
 * readers, which re-attach and read the new writer's frames. One writer per
 * path: of many processes creating a writer on one path at once exactly one
 * wins and the others name its pid; a writer whose file is removed or
 * replaced under it notices and says so. A heartbeat in the future that
 * stops advancing is stale. A restart without room for the new file beside
 * the old one says so, with sizes (in a 1 MiB tmpfs of a private mount
 * namespace; skipped where namespaces are not allowed).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "frame_test_util.h"

#define LEDS   500
#define SECOND 1000000000ull

typedef struct fixture {
    char dir[256];
    char path[300];
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    ft_tempdir(fx->dir, sizeof fx->dir);
    snprintf(fx->path, sizeof fx->path, "%s/frames", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    ft_rmtree(fx->dir);
    free(fx);
    return 0;
}

/*
 * Forks a writer that creates the file, publishes one frame, reports its
 * status on a pipe, then publishes a frame every millisecond until killed.
 */
static pid_t spawn_writer(const char *path) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        sky_frame_writer *w;
        char ok = ft_writer(path, LEDS, 2, 4, &w) == SKY_OK ? 'y' : 'n';
        if (ok == 'y') ft_publish(w);
        if (write(fds[1], &ok, 1) != 1 || ok != 'y') _exit(1);
        close(fds[1]);
        for (;;) {
            ft_publish(w);
            ft_sleep_ms(1);
        }
    }
    close(fds[1]);
    char ok = 0;
    ssize_t n;
    do n = read(fds[0], &ok, 1);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    assert_int_equal(n, 1);
    assert_int_equal(ok, 'y');
    return pid;
}

static void kill_and_reap(pid_t pid) {
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

static sky_frame_reader *open_reader(const char *path) {
    sky_frame_reader *r = NULL;
    char err[512];
    sky_status st = sky_frame_reader_open(path, &r, err, sizeof err);
    if (st != SKY_OK) fail_msg("open %s: %s", path, err);
    return r;
}

/* Reads until a frame newer than `after` arrives (at most ~5 s). */
static uint64_t read_new_frame(sky_frame_reader *r, uint64_t after) {
    uint8_t dst[LEDS * 3];
    char err[512];
    for (int i = 0; i < 5000; i++) {
        uint64_t f = 0;
        sky_status st = sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err);
        if (st == SKY_OK && f > after) {
            assert_int_equal(ft_check(dst, sizeof dst, f), -1);
            return f;
        }
        if (st != SKY_OK && st != SKY_ERR_AGAIN) fail_msg("read: %s", err);
        ft_sleep_ms(1);
    }
    fail_msg("no new frame after %llu", (unsigned long long)after);
    return 0;
}

static void test_sigkill_is_dead(void **state) {
    fixture *fx = *state;
    pid_t pid = spawn_writer(fx->path);
    sky_frame_reader *r = open_reader(fx->path);
    assert_int_equal(sky_frame_reader_info(r)->writer_pid, (uint64_t)pid);
    read_new_frame(r, 0);
    assert_int_equal(sky_frame_reader_writer_state(r, 5 * SECOND), SKY_WRITER_ALIVE);
    kill_and_reap(pid);
    /* the kernel released the flock with the process: dead at once, with a
     * heartbeat that is still fresh */
    assert_int_equal(sky_frame_reader_writer_state(r, 5 * SECOND), SKY_WRITER_DEAD);
    /* the last complete frame is still readable (drivers hold it, then fade) */
    assert_false(sky_frame_reader_replaced(r));
    sky_frame_reader_free(r);
    sky_frame_reader *again = open_reader(fx->path);
    uint8_t dst[LEDS * 3];
    uint64_t f;
    char err[512];
    assert_int_equal(sky_frame_reader_read(again, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(ft_check(dst, sizeof dst, f), -1);
    assert_int_equal(sky_frame_reader_writer_state(again, 5 * SECOND), SKY_WRITER_DEAD);
    sky_frame_reader_free(again);
}

static void test_stopped_writer_is_stale(void **state) {
    fixture *fx = *state;
    pid_t pid = spawn_writer(fx->path);
    sky_frame_reader *r = open_reader(fx->path);
    uint64_t f = read_new_frame(r, 0);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
    assert_true(WIFSTOPPED(status));
    ft_sleep_ms(300);
    assert_int_equal(sky_frame_reader_writer_state(r, 100000000ull), SKY_WRITER_STALE);
    /* a generous timeout still calls it alive: the lock is held */
    assert_int_equal(sky_frame_reader_writer_state(r, 60 * SECOND), SKY_WRITER_ALIVE);
    assert_int_equal(kill(pid, SIGCONT), 0);
    f = read_new_frame(r, f); /* it publishes again ... */
    sky_writer_state state_now = SKY_WRITER_STALE;
    /* A fresh heartbeat, seen within 100 ms of its beat: on a loaded machine that may
     * take many tries (the writer or this reader starved); a minute is the safety net. */
    for (int i = 0; i < 6000 && state_now != SKY_WRITER_ALIVE; i++) {
        state_now = sky_frame_reader_writer_state(r, 100000000ull);
        if (state_now != SKY_WRITER_ALIVE) ft_sleep_ms(10);
    }
    assert_int_equal(state_now, SKY_WRITER_ALIVE); /* ... and is alive again */
    kill_and_reap(pid);
    assert_int_equal(sky_frame_reader_writer_state(r, 100000000ull), SKY_WRITER_DEAD);
    sky_frame_reader_free(r);
}

static void test_idle_writer_heartbeat(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, LEDS, 1, 0, &w), SKY_OK);
    sky_frame_reader *r = open_reader(fx->path);
    /* created: the heartbeat is set even before the first frame */
    assert_int_equal(sky_frame_reader_writer_state(r, 5 * SECOND), SKY_WRITER_ALIVE);
    ft_sleep_ms(150);
    assert_int_equal(sky_frame_reader_writer_state(r, 50000000ull), SKY_WRITER_STALE);
    sky_frame_writer_heartbeat(w);
    assert_int_equal(sky_frame_reader_writer_state(r, 50000000ull), SKY_WRITER_ALIVE);
    sky_frame_writer_free(w);
    assert_int_equal(sky_frame_reader_writer_state(r, 50000000ull), SKY_WRITER_DEAD);
    sky_frame_reader_free(r);
}

static void test_restart_after_crash(void **state) {
    fixture *fx = *state;
    pid_t first = spawn_writer(fx->path);
    sky_frame_reader *r = open_reader(fx->path);
    uint64_t f = read_new_frame(r, 0);
    f = read_new_frame(r, f);
    assert_true(f >= 2);
    kill_and_reap(first);
    assert_int_equal(sky_frame_reader_writer_state(r, 5 * SECOND), SKY_WRITER_DEAD);

    pid_t second = spawn_writer(fx->path);
    /* what a driver does: dead or replaced -> reopen when the path changed */
    assert_true(sky_frame_reader_replaced(r));
    sky_frame_reader_free(r);
    r = open_reader(fx->path);
    assert_int_equal(sky_frame_reader_info(r)->writer_pid, (uint64_t)second);
    assert_int_equal(sky_frame_reader_writer_state(r, 5 * SECOND), SKY_WRITER_ALIVE);
    uint64_t g = read_new_frame(r, 0); /* frame numbers restart with the new writer */
    assert_true(g >= 1);
    read_new_frame(r, g);
    assert_false(sky_frame_reader_replaced(r));
    kill_and_reap(second);
    sky_frame_reader_free(r);
}

/* ---------------------------------------------------- one writer per path */

#define RACERS     12
#define ROUNDS     12
#define RACER_LEDS 50000 /* 2.8 MB to reserve: a build long enough for the racers to overlap */

typedef struct racer {
    pid_t pid;
    int report; /* read end: 'y' or 'n' + the error message */
    char msg[600];
} racer;

/*
 * A child that waits for the parent to close go[1], tries to create a writer
 * on `path`, reports on a pipe, then (if it won) holds the file until the
 * parent closes hold[1].
 */
static void racer_start(racer *r, const char *path, const int go[2], const int hold[2]) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        close(fds[0]);
        close(go[1]); /* so that the parent's close is an EOF here */
        close(hold[1]);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR) continue; /* EOF: everybody go */
        sky_frame_writer_options o = {.path = path, .led_count = RACER_LEDS};
        sky_frame_writer *w = NULL;
        char msg[600] = "y";
        if (sky_frame_writer_create(&o, &w, msg + 1, sizeof msg - 1) != SKY_OK) msg[0] = 'n';
        if (write(fds[1], msg, strlen(msg)) < 0) _exit(1);
        close(fds[1]);
        while (read(hold[0], &c, 1) < 0 && errno == EINTR) continue;
        sky_frame_writer_free(w);
        _exit(0);
    }
    close(fds[1]);
    r->report = fds[0];
}

static void racer_report(racer *r) {
    size_t got = 0;
    ssize_t n;
    while ((n = read(r->report, r->msg + got, sizeof r->msg - 1 - got)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        assert_true(n > 0);
        got += (size_t)n;
    }
    r->msg[got] = '\0';
    close(r->report);
    assert_true(got >= 1);
}

/* RACERS processes create a writer on one path at the same moment, ROUNDS
 * times, on an absent path and on a dead writer's file: each time exactly
 * one wins and every other one is told the winner's pid. */
static void test_concurrent_writers_one_wins(void **state) {
    fixture *fx = *state;
    for (int round = 0; round < ROUNDS; round++) {
        char path[400];
        snprintf(path, sizeof path, "%s/race-%d", fx->dir, round);
        if (round % 2) { /* a file left by a writer that has exited */
            sky_frame_writer *dead;
            assert_int_equal(ft_writer(path, LEDS, 1, 0, &dead), SKY_OK);
            sky_frame_writer_free(dead);
        }
        int go[2], hold[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(hold), 0);
        racer racers[RACERS];
        for (int i = 0; i < RACERS; i++) racer_start(&racers[i], path, go, hold);
        close(go[0]);
        close(go[1]); /* start */
        close(hold[0]);
        int winners = 0;
        pid_t winner = 0;
        for (int i = 0; i < RACERS; i++) {
            racer_report(&racers[i]);
            if (racers[i].msg[0] == 'y') {
                winners++;
                winner = racers[i].pid;
            }
        }
        if (winners != 1) fail_msg("round %d: %d writers own %s at once", round, winners, path);
        char needle[64];
        snprintf(needle, sizeof needle, "(pid %d)", (int)winner);
        for (int i = 0; i < RACERS; i++) {
            if (racers[i].msg[0] == 'n' &&
                (!strstr(racers[i].msg, needle) || !strstr(racers[i].msg, "another writer")))
                fail_msg("round %d: the loser's message does not name pid %d: %s", round,
                         (int)winner, racers[i].msg + 1);
        }
        sky_frame_reader *r = open_reader(path);
        assert_int_equal(sky_frame_reader_info(r)->writer_pid, (uint64_t)winner);
        assert_int_equal(sky_frame_reader_writer_state(r, 60 * SECOND), SKY_WRITER_ALIVE);
        sky_frame_reader_free(r);
        close(hold[1]); /* let them all exit */
        for (int i = 0; i < RACERS; i++) {
            int status;
            assert_int_equal(waitpid(racers[i].pid, &status, 0), racers[i].pid);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
}

/* Publishes (and checks) until the writer notices its file is gone; the
 * check costs a stat a second, so this takes about a second. */
static void expect_lost(sky_frame_writer *w, const char *needle) {
    char err[512] = "";
    for (int i = 0; i < 60000; i++) { /* a safety net of minutes, not an expected time */
        sky_status published = sky_frame_writer_publish(w);
        sky_status st = sky_frame_writer_check(w, err, sizeof err);
        if (st != SKY_OK) {
            assert_int_equal(st, SKY_ERR_IO);
            assert_int_equal(published, SKY_ERR_IO);
            if (!strstr(err, needle)) fail_msg("expected \"%s\" in: %s", needle, err);
            assert_int_equal(sky_frame_writer_heartbeat(w), SKY_ERR_IO); /* it stays lost */
            return;
        }
        assert_int_equal(published, SKY_OK);
        sky_frame_writer_begin(w, NULL);
        ft_sleep_ms(2);
    }
    fail_msg("the writer never noticed its file was gone");
}

/* A writer whose file is removed, or replaced by another writer's, says so. */
static void test_writer_notices_unlink(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w, *w2;
    assert_int_equal(ft_writer(fx->path, LEDS, 1, 0, &w), SKY_OK);
    ft_publish(w);
    char err[512] = "";
    assert_int_equal(sky_frame_writer_check(w, err, sizeof err), SKY_OK);
    assert_int_equal(unlink(fx->path), 0);
    sky_frame_writer_begin(w, NULL);
    expect_lost(w, "was removed under this writer");
    sky_frame_writer_free(w);

    /* removed, then a new writer starts on the free path: the old one hears of it */
    assert_int_equal(ft_writer(fx->path, LEDS, 1, 0, &w), SKY_OK);
    assert_int_equal(unlink(fx->path), 0);
    assert_int_equal(ft_writer(fx->path, LEDS, 1, 0, &w2), SKY_OK);
    char needle[64];
    snprintf(needle, sizeof needle, "written by pid %d", (int)getpid());
    sky_frame_writer_begin(w, NULL);
    expect_lost(w, needle);
    /* the new owner is fine */
    assert_int_equal(ft_publish(w2), 1);
    assert_int_equal(sky_frame_writer_check(w2, err, sizeof err), SKY_OK);
    sky_frame_writer_free(w2);
    sky_frame_writer_free(w);
}

/* Sleeps until CLOCK_MONOTONIC has advanced by at least `ns`. */
static void sleep_at_least(uint64_t ns) {
    uint64_t end = sky_frame_now_ns() + ns;
    while (sky_frame_now_ns() < end) ft_sleep_ms(10);
}

/* A heartbeat in the future (a writer in another time namespace) that stops
 * advancing is stale, not "alive" forever; a fresh beat makes it alive. */
static void test_future_heartbeat_goes_stale(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, LEDS, 1, 0, &w), SKY_OK); /* holds the lock, never beats */
    uint8_t future[8];
    uint64_t hour_ahead = sky_frame_now_ns() + 3600 * SECOND;
    for (int i = 0; i < 8; i++) future[i] = (uint8_t)(hour_ahead >> (8 * i));
    int fd = open(fx->path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, future, 8, 136), 8); /* heartbeat_ns */
    close(fd);
    sky_frame_reader *r = open_reader(fx->path);
    const uint64_t timeout = 50000000ull;
    assert_int_equal(sky_frame_reader_writer_state(r, timeout), SKY_WRITER_ALIVE); /* first look */
    sleep_at_least(4 * timeout);
    assert_int_equal(sky_frame_reader_writer_state(r, timeout), SKY_WRITER_STALE);
    sky_frame_writer_heartbeat(w); /* it moves again (back to our clock) */
    assert_int_equal(sky_frame_reader_writer_state(r, timeout), SKY_WRITER_ALIVE);
    sky_frame_writer_free(w);
    assert_int_equal(sky_frame_reader_writer_state(r, timeout), SKY_WRITER_DEAD);
    sky_frame_reader_free(r);
}

/* ------------------------------------------------- room for the restart */

/*
 * In a child: a private 1 MiB tmpfs mounted on `dir` (a mount namespace of
 * its own, through a user namespace when not root), a writer that leaves an
 * 800 kB file there, then a restart that cannot fit the new file beside it.
 * Reports 's' (no namespaces here), 'y' or 'n' and the message on `fd`.
 */
static void restart_without_room_child(const char *dir, int fd) {
    char msg[700] = "s";
    uid_t uid = getuid();
    gid_t gid = getgid();
    int flags = CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0) goto report;
    if (flags & CLONE_NEWUSER) { /* map ourselves, so files we create have an owner */
        char map[64];
        int m = open("/proc/self/setgroups", O_WRONLY);
        if (m >= 0 && (write(m, "deny", 4) < 0 || close(m) != 0)) goto report;
        const char *files[2] = {"/proc/self/uid_map", "/proc/self/gid_map"};
        for (int i = 0; i < 2; i++) {
            snprintf(map, sizeof map, "%u %u 1", (unsigned)(i ? gid : uid),
                     (unsigned)(i ? gid : uid));
            m = open(files[i], O_WRONLY);
            if (m < 0 || write(m, map, strlen(map)) < 0 || close(m) != 0) goto report;
        }
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("skyframe-test", dir, "tmpfs", 0, "size=1m") != 0)
        goto report;
    char path[400];
    snprintf(path, sizeof path, "%s/frames", dir);
    sky_frame_writer_options o = {.path = path, .led_count = 40000};
    sky_frame_writer *w = NULL;
    if (sky_frame_writer_create(&o, &w, msg + 1, sizeof msg - 1) != SKY_OK) {
        msg[0] = 'n'; /* the first writer must fit */
        goto report;
    }
    unsigned long long bytes = (unsigned long long)sky_frame_writer_info(w)->file_bytes;
    sky_frame_writer_free(w);
    w = NULL;
    sky_status st = sky_frame_writer_create(&o, &w, msg + 1, sizeof msg - 1);
    char sizes[128];
    snprintf(sizes, sizeof sizes, "old one (%llu bytes)", bytes);
    char both[128];
    snprintf(both, sizeof both, "room for both (%llu bytes)", 2 * bytes);
    msg[0] = st == SKY_ERR_IO && strstr(msg + 1, "beside") && strstr(msg + 1, sizes) &&
                     strstr(msg + 1, both)
                 ? 'y'
                 : 'n';
    sky_frame_writer_free(w);
report:
    if (write(fd, msg, strlen(msg)) < 0) _exit(1);
    _exit(0);
}

/* A restart that has no room for the new file beside the old one says so,
 * with both sizes. */
static void test_restart_needs_room_for_both(void **state) {
    fixture *fx = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        restart_without_room_child(fx->dir, fds[1]);
    }
    close(fds[1]);
    char msg[700];
    ssize_t n;
    do n = read(fds[0], msg, sizeof msg - 1);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(n >= 1);
    msg[n] = '\0';
    if (msg[0] == 's') skip(); /* no mount namespaces here: nothing to fill */
    if (msg[0] != 'y') fail_msg("restart without room: %s", msg + 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigkill_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_writer_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_writer_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_notices_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_heartbeat_goes_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_needs_room_for_both, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_frame_rw.c - writer and reader in one process: publishing and reading
 * frames, dropped-frame counting, the writer's file handling (mode 0600, no
 * symlinks, one writer per file, rename over the old file), replacement
 * detection, a file truncated under a reader (SIGBUS turned into an error,
 * then recovery), the SIGBUS handler's chaining for faults that are not
 * the reader's, and a FIFO, directory or symbolic link at the path refused
 * at once (never a reader blocked in open()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "frame_test_util.h"

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

static sky_frame_reader *open_reader(const char *path) {
    sky_frame_reader *r = NULL;
    char err[512];
    sky_status st = sky_frame_reader_open(path, &r, err, sizeof err);
    if (st != SKY_OK) fail_msg("open %s: %s", path, err);
    return r;
}

static void test_publish_and_read(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 1000, 4, 4, &w), SKY_OK);
    sky_frame_reader *r = open_reader(fx->path);
    uint8_t dst[3000];
    uint64_t f = 99;
    char err[512];
    /* nothing published yet */
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_ERR_AGAIN);
    for (uint64_t expect = 1; expect <= 10; expect++) {
        assert_int_equal(ft_publish(w), expect);
        assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
        assert_int_equal(f, expect);
        assert_int_equal(ft_check(dst, sizeof dst, f), -1);
        assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err),
                         SKY_ERR_AGAIN);
    }
    assert_int_equal(sky_frame_reader_dropped(r), 0);
    /* skip 5 frames: the reader gets the newest and counts 5 dropped */
    for (int i = 0; i < 6; i++) ft_publish(w);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 16);
    assert_int_equal(ft_check(dst, sizeof dst, 16), -1);
    assert_int_equal(sky_frame_reader_dropped(r), 5);
    assert_int_equal(sky_frame_reader_retries(r), 0);
    /* a frame begun but not published is invisible */
    uint64_t open_frame = 0;
    uint8_t *slot = sky_frame_writer_begin(w, &open_frame);
    assert_int_equal(open_frame, 17);
    memset(slot, 0xee, 3000);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_ERR_AGAIN);
    /* begin twice is the same frame; publish once */
    assert_ptr_equal(sky_frame_writer_begin(w, &open_frame), slot);
    assert_int_equal(open_frame, 17);
    ft_fill(slot, 3000, 17);
    sky_frame_writer_publish(w);
    sky_frame_writer_publish(w); /* a second publish without begin does nothing */
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 17);
    assert_int_equal(ft_check(dst, sizeof dst, 17), -1);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_ERR_AGAIN);
    /* a destination too small is refused */
    assert_int_equal(sky_frame_reader_read(r, dst, 2999, &f, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_ALIVE);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
}

static void test_slots_region(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 5000, 1, 3, &w), SKY_OK);
    size_t bytes = 0;
    uint64_t stride = 0;
    uint32_t count = 0;
    uint8_t *base = sky_frame_writer_slots(w, &bytes, &stride, &count);
    assert_int_equal(((uintptr_t)base) % 4096, 0);
    assert_int_equal(count, 3);
    assert_int_equal(stride, sky_frame_slot_stride(5000));
    assert_int_equal(bytes, 3 * stride);
    /* frame f lives in slot f % 3: the pointer begin returns is inside the region */
    uint64_t f;
    uint8_t *slot = sky_frame_writer_begin(w, &f);
    assert_ptr_equal(slot, base + (f % 3) * stride);
    sky_frame_writer_publish(w);
    sky_frame_writer_free(w);
}

static void test_positions_and_strips(void **state) {
    fixture *fx = *state;
    const uint32_t sizes[] = {2, 0, 3};
    const float xy[] = {-1, 1, 0.5f, 0.25f, 0, 0, 1, -1, 0.125f, -0.75f};
    const float z[] = {1, -1, 0.5f, 0, -0.375f};
    sky_frame_writer_options o = {.path = fx->path,
                                  .led_count = 5,
                                  .strip_count = 3,
                                  .strip_sizes = sizes,
                                  .positions = xy,
                                  .positions_z = z,
                                  .layout = "a-layout-name-longer-than-32-bytes-is-cut"};
    sky_frame_writer *w;
    char err[512];
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_OK);
    sky_frame_reader *r = open_reader(fx->path);
    assert_memory_equal(sky_frame_reader_strips(r), sizes, sizeof sizes);
    assert_memory_equal(sky_frame_reader_positions(r), xy, sizeof xy);
    assert_memory_equal(sky_frame_reader_positions_z(r), z, sizeof z);
    assert_string_equal(sky_frame_reader_info(r)->layout, "a-layout-name-longer-than-32-byt");
    assert_int_equal(sky_frame_reader_info(r)->fps_nominal, 0);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
    /* no strip table and no positions: one strip, every LED at (0, 0) */
    o.strip_count = 0;
    o.strip_sizes = NULL;
    o.positions = NULL;
    o.positions_z = NULL;
    o.layout = NULL;
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_OK);
    r = open_reader(fx->path);
    assert_int_equal(sky_frame_reader_info(r)->strip_count, 1);
    assert_int_equal(sky_frame_reader_strips(r)[0], 5);
    for (int i = 0; i < 10; i++) assert_true(sky_frame_reader_positions(r)[i] == 0.0f);
    for (int i = 0; i < 5; i++) assert_true(sky_frame_reader_positions_z(r)[i] == 0.0f);
    assert_string_equal(sky_frame_reader_info(r)->layout, "");
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
}

/* A version 1 file (x, y per LED, no z) still reads, with z = 0: a driver
 * upgraded before the writer keeps working. Made from a version 2 file by
 * rewriting its version and its positions table the version 1 way. */
static void test_reads_version_1(void **state) {
    fixture *fx = *state;
    const float xy[] = {-1, 1, 0.5f, 0.25f, 0, 0.75f};
    const float z[] = {0.5f, 0.5f, 0.5f};
    sky_frame_writer_options o = {
        .path = fx->path, .led_count = 3, .positions = xy, .positions_z = z};
    sky_frame_writer *w;
    char err[512];
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_OK);
    sky_frame_reader *r = open_reader(fx->path);
    uint64_t positions_offset = sky_frame_reader_info(r)->positions_offset;
    sky_frame_reader_free(r);
    int fd = open(fx->path, O_WRONLY);
    assert_true(fd >= 0);
    const uint32_t v1 = 1;
    assert_int_equal(pwrite(fd, &v1, 4, 8), 4);
    assert_int_equal(pwrite(fd, xy, sizeof xy, (off_t)positions_offset), (ssize_t)sizeof xy);
    close(fd);
    r = open_reader(fx->path);
    assert_int_equal(sky_frame_reader_info(r)->version, 1);
    assert_memory_equal(sky_frame_reader_positions(r), xy, sizeof xy);
    for (int i = 0; i < 3; i++) assert_true(sky_frame_reader_positions_z(r)[i] == 0.0f);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
}

static void test_bad_writer_options(void **state) {
    fixture *fx = *state;
    const uint32_t sizes[] = {2, 2};
    const float bad_xy[] = {0, 0, 0, 0, 1.5f, 0, 0, 0};
    char err[512];
    sky_frame_writer *w = NULL;
    struct {
        sky_frame_writer_options o;
        sky_status status;
        const char *expect;
    } cases[] = {
        {{.path = fx->path, .led_count = 0}, SKY_ERR_INVALID_ARG, "led_count = 0"},
        {{.path = fx->path, .led_count = (1u << 24) + 1}, SKY_ERR_LIMIT, "led_count"},
        {{.path = fx->path, .led_count = 5, .strip_count = 2, .strip_sizes = sizes},
         SKY_ERR_INVALID_ARG,
         "sum to 4"},
        {{.path = fx->path, .led_count = 4, .strip_count = 2},
         SKY_ERR_INVALID_ARG,
         "strip_sizes is NULL"},
        {{.path = fx->path, .led_count = 4, .slot_count = 2}, SKY_ERR_INVALID_ARG, "slot_count"},
        {{.path = fx->path, .led_count = 4, .slot_count = 257}, SKY_ERR_INVALID_ARG, "slot_count"},
        {{.path = fx->path, .led_count = 4, .positions = bad_xy}, SKY_ERR_INVALID_ARG, "LED 2"},
        {{.path = fx->path, .led_count = 4, .positions_z = bad_xy + 1},
         SKY_ERR_INVALID_ARG,
         "LED 3 is at (0, 0, 1.5)"},
        {{.path = "/nonexistent-dir/frames", .led_count = 4}, SKY_ERR_IO, "nonexistent-dir"},
        {{.path = "", .led_count = 4}, SKY_ERR_INVALID_ARG, "path is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        sky_status st = sky_frame_writer_create(&cases[i].o, &w, err, sizeof err);
        if (st != cases[i].status || !strstr(err, cases[i].expect))
            fail_msg("case %zu: status %d, message \"%s\"", i, st, err);
        assert_null(w);
    }
    assert_int_equal(sky_frame_writer_create(NULL, &w, err, sizeof err), SKY_ERR_INVALID_ARG);
    /* nothing was left behind in the directory */
    struct stat st;
    assert_int_equal(stat(fx->path, &st), -1);
}

static void test_mode_and_symlink(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    struct stat st;
    mode_t old = umask(0);
    assert_int_equal(ft_writer(fx->path, 10, 1, 0, &w), SKY_OK);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    sky_frame_writer_free(w);
    sky_frame_writer_options o = {.path = fx->path, .led_count = 10, .mode = 0644};
    char err[512];
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_OK);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    sky_frame_writer_free(w);
    umask(old);

    /* a symbolic link at the path is refused, and its target left alone */
    char target[400], link[400];
    snprintf(target, sizeof target, "%s/target", fx->dir);
    snprintf(link, sizeof link, "%s/link", fx->dir);
    FILE *f = fopen(target, "w");
    fputs("precious", f);
    fclose(f);
    assert_int_equal(symlink(target, link), 0);
    o.path = link;
    w = NULL;
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "symbolic link"));
    assert_null(w);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);
    /* a directory is refused too */
    o.path = fx->dir;
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_one_writer_per_file(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w1, *w2 = NULL;
    assert_int_equal(ft_writer(fx->path, 10, 1, 0, &w1), SKY_OK);
    sky_frame_writer_options o = {.path = fx->path, .led_count = 10};
    char err[512];
    assert_int_equal(sky_frame_writer_create(&o, &w2, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "another writer"));
    assert_null(w2);
    /* a reader probing at the same time does not make the check fail */
    sky_frame_writer_free(w1);
    sky_frame_reader *r = open_reader(fx->path);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_DEAD);
    assert_int_equal(sky_frame_writer_create(&o, &w2, err, sizeof err), SKY_OK);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w2);
}

static void test_replacement(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w1, *w2;
    assert_int_equal(ft_writer(fx->path, 100, 2, 0, &w1), SKY_OK);
    for (int i = 0; i < 7; i++) ft_publish(w1);
    sky_frame_reader *r = open_reader(fx->path);
    uint8_t dst[300];
    uint64_t f;
    char err[512];
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 7);
    assert_false(sky_frame_reader_replaced(r));
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_ALIVE);
    sky_frame_writer_free(w1);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_DEAD);
    assert_false(sky_frame_reader_replaced(r));

    /* the restarted writer renames a new file over the path */
    assert_int_equal(ft_writer(fx->path, 200, 2, 0, &w2), SKY_OK);
    assert_true(sky_frame_reader_replaced(r));
    /* the old mapping stays valid: the last frame is still there, nothing new */
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_ERR_AGAIN);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_DEAD);
    sky_frame_reader_free(r);
    r = open_reader(fx->path);
    assert_false(sky_frame_reader_replaced(r));
    assert_int_equal(sky_frame_reader_info(r)->led_count, 200);
    assert_int_equal(ft_publish(w2), 1);
    uint8_t dst2[600];
    assert_int_equal(sky_frame_reader_read(r, dst2, sizeof dst2, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 1);
    assert_int_equal(ft_check(dst2, sizeof dst2, 1), -1);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_ALIVE);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w2);
    /* no temporary file is left beside the path */
    int entries = 0;
    DIR *d = opendir(fx->dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_truncated_under_reader(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 3000, 3, 4, &w), SKY_OK);
    for (int i = 0; i < 5; i++) ft_publish(w);
    sky_frame_reader *r = open_reader(fx->path);
    uint8_t dst[9000];
    uint64_t f;
    char err[512];
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 5);
    ft_publish(w);
    /* something shrinks the file (not our writer: it never truncates) */
    assert_int_equal(truncate(fx->path, 4096), 0);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err),
                     SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "shrank"));
    /* again: the guard is re-armed for every access */
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err),
                     SKY_ERR_FORMAT);
    /* the header page is still there: liveness works */
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_ALIVE);
    /* shrink to nothing: even the header faults, still no crash */
    assert_int_equal(truncate(fx->path, 0), 0);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err),
                     SKY_ERR_FORMAT);
    assert_int_equal(sky_frame_reader_writer_state(r, 1000000000ull), SKY_WRITER_STALE);
    /* reopening the truncated file is a clean rejection */
    sky_frame_reader *bad = NULL;
    assert_int_equal(sky_frame_reader_open(fx->path, &bad, err, sizeof err), SKY_ERR_FORMAT);
    assert_null(bad);
    /* the writer restarts: a new file renamed over the path; the reader recovers */
    sky_frame_writer_free(w);
    assert_int_equal(ft_writer(fx->path, 3000, 3, 4, &w), SKY_OK);
    assert_true(sky_frame_reader_replaced(r));
    sky_frame_reader_free(r);
    r = open_reader(fx->path);
    for (int i = 0; i < 3; i++) ft_publish(w);
    assert_int_equal(sky_frame_reader_read(r, dst, sizeof dst, &f, err, sizeof err), SKY_OK);
    assert_int_equal(f, 3);
    assert_int_equal(ft_check(dst, sizeof dst, 3), -1);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
}

/* ------------------------------------------------- SIGBUS handler chaining */

static volatile sig_atomic_t chained_signal;
static void chained_handler(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    (void)ctx;
    chained_signal = sig;
}

/* A SIGBUS that is not a fault in a reader's mapping reaches the handler
 * installed before the library's (in a child: the handler is process-wide). */
static void test_sigbus_chains_to_previous_handler(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 10, 1, 0, &w), SKY_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = chained_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, NULL);
        sky_frame_reader *r = NULL;
        if (sky_frame_reader_open(fx->path, &r, NULL, 0) != SKY_OK) _exit(2);
        raise(SIGBUS);
        sky_frame_reader_free(r);
        _exit(chained_signal == SIGBUS ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sky_frame_writer_free(w);
}

static sigjmp_buf jumped_env;
static volatile sig_atomic_t jumped_count;
static void jumping_handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)si;
    (void)ctx;
    jumped_count++;
    siglongjmp(jumped_env, 1);
}

/* The handler before the library's may jump out instead of returning (cmocka's
 * does): the next foreign SIGBUS, after a read, must still reach it rather than
 * take the default action and kill the process. */
static void test_sigbus_chains_after_a_handler_jumped_out(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 10, 1, 0, &w), SKY_OK);
    ft_publish(w);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = jumping_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, NULL);
        sky_frame_reader *r = NULL;
        uint8_t px[30];
        uint64_t frame = 0;
        if (sky_frame_reader_open(fx->path, &r, NULL, 0) != SKY_OK) _exit(2);
        for (int round = 0; round < 2; round++) {
            sky_status st = sky_frame_reader_read(r, px, sizeof px, &frame, NULL, 0);
            if (st != SKY_OK && st != SKY_ERR_AGAIN) _exit(3); /* AGAIN: no newer frame */
            if (sigsetjmp(jumped_env, 1) == 0) raise(SIGBUS);
        }
        sky_frame_reader_free(r);
        _exit(jumped_count == 2 ? 0 : 4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child status 0x%x: expected exit 0 (the second SIGBUS chained too)", status);
    sky_frame_writer_free(w);
}

/* A real fault outside every reader mapping still kills the process (the
 * default action the library chains to): it does not swallow it. */
static void test_foreign_fault_not_swallowed(void **state) {
    fixture *fx = *state;
    sky_frame_writer *w;
    assert_int_equal(ft_writer(fx->path, 10, 1, 0, &w), SKY_OK);
    char other[400];
    snprintf(other, sizeof other, "%s/other", fx->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* not cmocka's (or a sanitizer's) handler */
        sky_frame_reader *r = NULL;
        if (sky_frame_reader_open(fx->path, &r, NULL, 0) != SKY_OK) _exit(2);
        int fd = open(other, O_RDWR | O_CREAT, 0600);
        if (fd < 0 || ftruncate(fd, 8192) != 0) _exit(2);
        volatile uint8_t *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED || ftruncate(fd, 0) != 0) _exit(2);
        uint8_t v = p[4096];   /* SIGBUS, not in a reader's mapping */
        _exit(v == 0 ? 4 : 5); /* reached only if the fault was swallowed */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGBUS)
        fail_msg("child status 0x%x: expected death by SIGBUS", status);
    sky_frame_writer_free(w);
}

/*
 * Opens a reader on `path` in a child process and returns its status, with
 * the message in err. A child, because a reader that blocks in open() (a
 * FIFO) would hang the test: after a generous 60 s the child is killed and
 * the test fails instead.
 */
static sky_status open_in_child(const char *path, char *err, size_t err_len) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char msg[600];
        sky_frame_reader *r = NULL;
        msg[0] = (char)sky_frame_reader_open(path, &r, msg + 1, sizeof msg - 1);
        if (r) msg[1] = '\0';
        ssize_t n = write(fds[1], msg, 1 + strlen(msg + 1));
        _exit(n > 0 ? 0 : 1);
    }
    close(fds[1]);
    struct pollfd p = {fds[0], POLLIN, 0};
    int ready;
    do ready = poll(&p, 1, 60000);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("sky_frame_reader_open(%s) still blocked after 60 s", path);
    }
    char msg[600];
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(n >= 1);
    msg[n] = '\0';
    snprintf(err, err_len, "%s", msg + 1);
    return (sky_status)msg[0];
}

/* A FIFO, a directory or a symbolic link at the path is refused at once, by type. */
static void test_not_regular_files(void **state) {
    fixture *fx = *state;
    char err[600];
    assert_int_equal(mkfifo(fx->path, 0600), 0);
    assert_int_equal(open_in_child(fx->path, err, sizeof err), SKY_ERR_FORMAT);
    if (!strstr(err, "is a FIFO, not a regular file")) fail_msg("FIFO: %s", err);
    /* a writer refuses it too, without blocking */
    sky_frame_writer_options o = {.path = fx->path, .led_count = 10};
    sky_frame_writer *w = NULL;
    assert_int_equal(sky_frame_writer_create(&o, &w, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(unlink(fx->path), 0);

    assert_int_equal(open_in_child(fx->dir, err, sizeof err), SKY_ERR_FORMAT);
    if (!strstr(err, "is a directory")) fail_msg("directory: %s", err);

    /* a link to a valid frame file: a writer never makes one */
    char target[400];
    snprintf(target, sizeof target, "%s/target", fx->dir);
    assert_int_equal(ft_writer(target, 10, 1, 0, &w), SKY_OK);
    assert_int_equal(symlink(target, fx->path), 0);
    assert_int_equal(open_in_child(fx->path, err, sizeof err), SKY_ERR_FORMAT);
    if (!strstr(err, "symbolic link")) fail_msg("symbolic link: %s", err);
    sky_frame_writer_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positions_and_strips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_writer_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode_and_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_writer_per_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replacement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_under_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigbus_chains_to_previous_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigbus_chains_after_a_handler_jumped_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_fault_not_swallowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_regular_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

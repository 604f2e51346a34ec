/*
 * test_frame_stress.c - one writer process publishing flat out, several
 * reader processes checking every byte of every frame they accept against
 * the pattern of its frame number (a torn frame mixes two frames' bytes and
 * fails). Asserts: no torn frame accepted, frame numbers strictly increase,
 * and per reader frames read + dropped == last - first + 1 with the
 * library's dropped count; the writer published at least 100,000 frames.
 *
 * A "naive" reader that copies the newest slot without the sequence
 * re-check runs beside them; the torn frames it accepts are printed (not
 * asserted: they depend on scheduling) to show what the re-check prevents.
 * Timings are never asserted; each run is bounded to about a second.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <cmocka.h>

#include "frame_test_util.h"

#define MAX_READERS 4

typedef struct stress_config {
    uint32_t leds, slots;
    uint64_t min_frames;
    unsigned min_ms;
    int readers;
} stress_config;

typedef struct reader_stats {
    uint64_t read, dropped, first, last, retries, torn, out_of_order;
    int error;
    char message[200];
} reader_stats;

static void write_all(int fd, const void *p, size_t n) {
    if (write(fd, p, n) != (ssize_t)n) _exit(9);
}
static void read_all(int fd, void *p, size_t n) {
    uint8_t *b = p;
    while (n > 0) {
        ssize_t got = read(fd, b, n);
        if (got < 0 && errno == EINTR) continue;
        assert_true(got > 0);
        b += got;
        n -= (size_t)got;
    }
}

/* ------------------------------------------------------------- the writer */

static void writer_main(const char *path, const stress_config *c, int ready_fd, int go_fd) {
    sky_frame_writer *w;
    char ok = ft_writer(path, c->leds, 4, c->slots, &w) == SKY_OK ? 'y' : 'n';
    write_all(ready_fd, &ok, 1);
    if (ok != 'y') _exit(1);
    char go;
    if (read(go_fd, &go, 1) != 1) _exit(1);
    uint64_t start = sky_frame_now_ns(), frames = 0;
    for (;;) {
        frames = ft_publish(w);
        if ((frames & 255) != 0) continue;
        uint64_t ms = (sky_frame_now_ns() - start) / 1000000u;
        if ((frames >= c->min_frames && ms >= c->min_ms) || ms >= 20000) break;
    }
    write_all(ready_fd, &frames, sizeof frames);
    sky_frame_writer_free(w); /* releases the lock: readers see DEAD and stop */
    _exit(0);
}

/* ------------------------------------------------------------ the readers */

static void reader_take(reader_stats *s, const uint8_t *dst, size_t n, uint64_t f) {
    if (ft_check(dst, n, f) >= 0) s->torn++;
    if (s->read > 0 && f <= s->last) s->out_of_order++;
    if (s->read == 0) s->first = f;
    s->last = f;
    s->read++;
}

static void reader_main(const char *path, int ready_fd) {
    reader_stats s;
    memset(&s, 0, sizeof s);
    sky_frame_reader *r;
    if (sky_frame_reader_open(path, &r, s.message, sizeof s.message) != SKY_OK) {
        s.error = 1;
        write_all(ready_fd, &s, sizeof s);
        _exit(1);
    }
    size_t n = (size_t)sky_frame_reader_info(r)->led_count * 3;
    uint8_t *dst = malloc(n);
    write_all(ready_fd, "y", 1);
    for (;;) {
        uint64_t f;
        sky_status st = sky_frame_reader_read(r, dst, n, &f, s.message, sizeof s.message);
        if (st == SKY_OK) {
            reader_take(&s, dst, n, f);
        } else if (st == SKY_ERR_AGAIN) {
            if (sky_frame_reader_writer_state(r, 10000000000ull) == SKY_WRITER_DEAD) {
                /* the writer's last frame was published before it unlocked */
                if (sky_frame_reader_read(r, dst, n, &f, s.message, sizeof s.message) == SKY_OK)
                    reader_take(&s, dst, n, f);
                break;
            }
            sched_yield();
        } else {
            s.error = (int)st;
            break;
        }
    }
    s.dropped = sky_frame_reader_dropped(r);
    s.retries = sky_frame_reader_retries(r);
    write_all(ready_fd, &s, sizeof s);
    free(dst);
    sky_frame_reader_free(r);
    _exit(0);
}

/* No sequence re-check: what a reader that ignores the protocol accepts. */
static void naive_main(const char *path, int ready_fd) {
    reader_stats s;
    memset(&s, 0, sizeof s);
    sky_frame_reader *r;
    if (sky_frame_reader_open(path, &r, NULL, 0) != SKY_OK) _exit(1);
    sky_frame_info info = *sky_frame_reader_info(r);
    int fd = open(path, O_RDONLY);
    uint8_t *map = mmap(NULL, (size_t)info.file_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (fd < 0 || map == MAP_FAILED) _exit(1);
    size_t n = (size_t)info.led_count * 3;
    uint8_t *dst = malloc(n);
    _Atomic uint64_t *newest = (_Atomic uint64_t *)(void *)(map + 128);
    write_all(ready_fd, "y", 1);
    uint64_t last = 0;
    while (sky_frame_reader_writer_state(r, 10000000000ull) != SKY_WRITER_DEAD) {
        uint64_t f = atomic_load_explicit(newest, memory_order_acquire);
        if (f == 0 || f == last) {
            sched_yield();
            continue;
        }
        memcpy(dst, map + info.slots_offset + (f % info.slot_count) * info.slot_stride, n);
        if (ft_check(dst, n, f) >= 0) s.torn++;
        s.read++;
        last = f;
    }
    write_all(ready_fd, &s, sizeof s);
    _exit(0);
}

/* ------------------------------------------------------------------- runs */

static pid_t spawn(void (*body)(const char *, int), const char *path, int *fd) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        body(path, p[1]);
    }
    close(p[1]);
    *fd = p[0];
    char ok = 0;
    read_all(*fd, &ok, 1);
    assert_int_equal(ok, 'y');
    return pid;
}

static void reap(pid_t pid) {
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void run_stress(const stress_config *c) {
    char dir[256], path[300];
    ft_tempdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/frames", dir);

    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        close(ready[0]);
        close(go[1]);
        writer_main(path, c, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char ok = 0;
    read_all(ready[0], &ok, 1);
    assert_int_equal(ok, 'y');

    pid_t pids[MAX_READERS + 1];
    int fds[MAX_READERS + 1];
    for (int i = 0; i < c->readers; i++) pids[i] = spawn(reader_main, path, &fds[i]);
    pids[c->readers] = spawn(naive_main, path, &fds[c->readers]);
    uint64_t t0 = sky_frame_now_ns();
    write_all(go[1], "g", 1);
    uint64_t published = 0;
    read_all(ready[0], &published, sizeof published);
    reap(writer);

    print_message("  %u LEDs, %u slots: writer published %llu frames\n", c->leds, c->slots,
                  (unsigned long long)published);
    for (int i = 0; i <= c->readers; i++) {
        reader_stats s;
        read_all(fds[i], &s, sizeof s);
        reap(pids[i]);
        close(fds[i]);
        if (i == c->readers) {
            print_message("  naive reader (no re-check): %llu frames, %llu torn accepted\n",
                          (unsigned long long)s.read, (unsigned long long)s.torn);
            continue;
        }
        print_message("  reader %d: read %llu, dropped %llu, retried %llu, frames %llu..%llu, "
                      "torn accepted %llu\n",
                      i, (unsigned long long)s.read, (unsigned long long)s.dropped,
                      (unsigned long long)s.retries, (unsigned long long)s.first,
                      (unsigned long long)s.last, (unsigned long long)s.torn);
        if (s.error) fail_msg("reader %d: status %d: %s", i, s.error, s.message);
        assert_int_equal(s.torn, 0);
        assert_int_equal(s.out_of_order, 0);
        assert_true(s.read > 0);
        assert_int_equal(s.read + s.dropped, s.last - s.first + 1);
        assert_int_equal(s.last, published); /* every reader saw the final frame */
    }
    print_message("  (%.2f s)\n", (double)(sky_frame_now_ns() - t0) / 1e9);
    assert_true(published >= c->min_frames);
    close(ready[0]);
    close(go[1]);
    ft_rmtree(dir);
}

/* Small frames in four slots: the writer laps slow readers constantly. */
static void test_stress_small_frames(void **state) {
    (void)state;
    stress_config c = {
        .leds = 1000, .slots = 4, .min_frames = 100000, .min_ms = 1000, .readers = 3};
    run_stress(&c);
}

/* Tiny frames in the minimum three slots: the most laps and retries. */
static void test_stress_tiny_frames_three_slots(void **state) {
    (void)state;
    stress_config c = {.leds = 64, .slots = 3, .min_frames = 100000, .min_ms = 500, .readers = 3};
    run_stress(&c);
}

/* Skyscreen-sized frames (103,680 LEDs, 311 KB): long copies. */
static void test_stress_skyscreen_frames(void **state) {
    (void)state;
    stress_config c = {.leds = 103680, .slots = 3, .min_frames = 1000, .min_ms = 500, .readers = 3};
    run_stress(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_small_frames),
        cmocka_unit_test(test_stress_tiny_frames_three_slots),
        cmocka_unit_test(test_stress_skyscreen_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

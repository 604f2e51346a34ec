/*
 * testutil.c - sockets, processes and files for the driver tests.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "sky/frame.h"

uint64_t tu_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void tu_loopback(struct sockaddr_in *sin, uint16_t port) {
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int tu_udp_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int big = 8 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    struct sockaddr_in sin;
    tu_loopback(&sin, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

ssize_t tu_udp_recv(int fd, uint8_t *buf, size_t cap, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0) return -1;
    return recv(fd, buf, cap, 0);
}

void tu_udp_drain(int fd) {
    uint8_t buf[2048];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
}

int tu_tcp_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in sin;
    tu_loopback(&sin, *port);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        fail_msg("bind 127.0.0.1:%u: %s", *port, strerror(errno));
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

int tu_tcp_accept(int listener, int timeout_ms) {
    struct pollfd p = {.fd = listener, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) return -1;
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

void tu_fill_random(uint8_t *buf, size_t len, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)(x >> 3);
    }
}

output *tu_output(const char *url, uint32_t leds) {
    drv_config cfg;
    char err[1024] = "";
    output *o = NULL;
    config_init(&cfg);
    if (config_add_url(&cfg, url, err, sizeof err) != 0) fail_msg("%s", err);
    output_env env = {cfg.source_name, cfg.cid};
    if (output_create(&cfg.outputs[0], &env, &o, err, sizeof err) != 0) fail_msg("%s", err);
    config_free(&cfg);
    uint32_t strips[1] = {leds};
    if (output_configure(o, 1, strips, leds, 60, err, sizeof err) != 0) fail_msg("%s", err);
    if (output_start(o, err, sizeof err) != 0) fail_msg("%s", err);
    return o;
}

void tu_output_send(output *o, const uint8_t *frame) {
    output_load(o, frame);
    output_submit(o, PIPE_SCALE_ONE, 0);
}

void tu_wait_sent(output *o, uint64_t frames) {
    uint64_t end = tu_now_ms() + TU_PATIENCE_MS;
    while (atomic_load(&o->stats.frames) < frames) {
        if (tu_now_ms() > end)
            fail_msg("the output sent %llu frames, expected %llu",
                     (unsigned long long)atomic_load(&o->stats.frames), (unsigned long long)frames);
        tu_sleep_ms(2);
    }
}

void tu_writer_pattern(uint8_t *rgb, uint32_t leds, uint64_t n, uint8_t tag, bool animate) {
    for (uint32_t i = 0; i < leds; i++) {
        rgb[(size_t)i * 3] = 200;
        rgb[(size_t)i * 3 + 1] = animate ? (uint8_t)((3u * i + n) & 255) : 100;
        rgb[(size_t)i * 3 + 2] = tag;
    }
}

static void tu_writer_child(const char *path, uint32_t strips, uint32_t per_strip, uint32_t fps,
                            uint8_t tag, bool animate) {
    uint32_t leds = strips * per_strip;
    uint32_t *sizes = malloc(strips * sizeof *sizes);
    float *xy = malloc((size_t)leds * 2 * sizeof *xy);
    if (!sizes || !xy) _exit(3);
    for (uint32_t s = 0; s < strips; s++) sizes[s] = per_strip;
    for (uint32_t i = 0; i < leds; i++) {
        xy[2 * i] =
            per_strip > 1 ? -1.0f + 2.0f * (float)(i % per_strip) / (float)(per_strip - 1) : 0;
        xy[2 * i + 1] =
            strips > 1 ? -1.0f + 2.0f * (float)(i / per_strip) / (float)(strips - 1) : 0;
    }
    char layout[33];
    snprintf(layout, sizeof layout, "grid:%ux%u", per_strip, strips);
    sky_frame_writer_options opt = {.path = path,
                                    .led_count = leds,
                                    .strip_count = strips,
                                    .strip_sizes = sizes,
                                    .positions = xy,
                                    .fps_nominal = fps,
                                    .layout = layout};
    sky_frame_writer *w = NULL;
    char err[512];
    if (sky_frame_writer_create(&opt, &w, err, sizeof err) != SKY_OK) {
        fprintf(stderr, "test writer: %s\n", err);
        _exit(4);
    }
    uint64_t period_ns = 1000000000ull / fps;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        uint64_t f = 0;
        uint8_t *slot = sky_frame_writer_begin(w, &f);
        tu_writer_pattern(slot, leds, f, tag, animate);
        sky_frame_writer_publish(w);
        uint64_t ns = (uint64_t)next.tv_nsec + period_ns;
        next.tv_sec += (time_t)(ns / 1000000000ull);
        next.tv_nsec = (long)(ns % 1000000000ull);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
    }
}

static pid_t tu_children[64];
static size_t tu_child_count;

static void tu_track(pid_t pid) {
    if (tu_child_count < sizeof tu_children / sizeof tu_children[0])
        tu_children[tu_child_count++] = pid;
}

void tu_reap_all(void) {
    for (size_t i = 0; i < tu_child_count; i++) tu_reap(tu_children[i]);
    tu_child_count = 0;
}

pid_t tu_spawn_writer(const char *path, uint32_t strips, uint32_t per_strip, uint32_t fps,
                      uint8_t tag, bool animate) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's crash handlers must not run the test harness on in this child
         * (a writer may die of SIGBUS when a test truncates its file). */
        int sigs[] = {SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        /* Nor may it hold the test's sockets open (a closed listener must really close). */
        closefrom(3);
        tu_writer_child(path, strips, per_strip, fps, tag, animate);
        _exit(0);
    }
    tu_track(pid);
    return pid;
}

pid_t tu_spawn_driver(const char *const *argv, const char *log_path) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) _exit(5);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(SKY_DRIVER_BIN, (char *const *)argv);
        _exit(6);
    }
    tu_track(pid);
    return pid;
}

int tu_wait(pid_t pid, int timeout_ms) {
    uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
    int status = 0;
    do {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0) return -1;
        tu_sleep_ms(5);
    } while (tu_now_ms() < end);
    return -1;
}

void tu_reap(pid_t pid) {
    if (pid <= 0) return;
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return; /* reaped now, or already reaped */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

char *tu_read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    if (f) {
        size_t got;
        while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                cap *= 2;
                buf = realloc(buf, cap + 1);
                assert_non_null(buf);
            }
        }
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

bool tu_wait_for_text(const char *path, const char *needle, int timeout_ms) {
    uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
    do {
        char *text = tu_read_text(path);
        bool found = strstr(text, needle) != NULL;
        free(text);
        if (found) return true;
        tu_sleep_ms(20);
    } while (tu_now_ms() < end);
    return false;
}

void tu_temp_dir(char *dir) {
    strcpy(dir, "/tmp/sky-driver-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

void tu_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------------------- progress */

/* utime + stime of the process (all its threads) in clock ticks; false when gone. */
static bool tu_cpu_ticks(pid_t pid, unsigned long long *ticks) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return false;
    *ticks = utime + stime;
    return true;
}

static size_t tu_file_bytes(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

void tu_progress_start(tu_progress *p, pid_t pid, const char *log_path) {
    p->pid = pid;
    p->log = log_path;
    p->cpu_ticks = 0;
    (void)tu_cpu_ticks(pid, &p->cpu_ticks);
    p->log_bytes = tu_file_bytes(log_path);
    p->changed_ms = tu_now_ms();
}

bool tu_progress_check(tu_progress *p, char *why, size_t why_len) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: look, do not reap. */
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0) {
        snprintf(why, why_len, "the process exited (%s %d)",
                 info.si_code == CLD_EXITED ? "status" : "signal", info.si_status);
        return false;
    }
    unsigned long long ticks = p->cpu_ticks;
    size_t bytes = tu_file_bytes(p->log);
    uint64_t now = tu_now_ms();
    if ((tu_cpu_ticks(p->pid, &ticks) && ticks != p->cpu_ticks) || bytes != p->log_bytes) {
        p->cpu_ticks = ticks;
        p->log_bytes = bytes;
        p->changed_ms = now;
        return true;
    }
    if (now - p->changed_ms > TU_PATIENCE_MS) {
        snprintf(why, why_len, "no progress (CPU time, log) for %d s", TU_PATIENCE_MS / 1000);
        return false;
    }
    return true;
}

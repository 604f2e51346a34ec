/*
 * bench_driver.c - sky-driver's CPU and latency on the Skyscreen workload.
 *
 * This process is both ends: it publishes a 360 x 288 = 103,680-LED frame
 * at 60 fps into a frame file (libskyframe's writer), and a receiver thread
 * drains what the driver sends to 127.0.0.1. In between runs the real
 * sky-driver binary as a child, so its CPU time is its own (from
 * /proc/PID/stat, user + system, after a warm-up). Each frame carries its
 * number in its last LED; when the receiver sees the packet holding that
 * LED (the last one of the frame) it subtracts the publish time: frame
 * published -> last packet on the wire (loopback delivery included, a few
 * microseconds). The driver's own view (publish -> last packet sent,
 * from its stats line) is reported beside it.
 *
 *   bench_driver [SECONDS] [PROTOCOLS...]     default: 10 s each of sacn ddp artnet null
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "sky/frame.h"

#define STRIPS      360
#define PER_STRIP   288
#define LEDS        (STRIPS * PER_STRIP)
#define FPS         60
#define WARMUP_S    2
#define MAX_SAMPLES 100000

typedef struct bench_rx {
    int fd;
    const char *protocol;
    _Atomic bool stop, counting;
    _Atomic uint64_t packets, frames;
    uint64_t publish_ns[4096]; /* by frame number % 4096 */
    _Atomic uint64_t published;
    double *latency_ms;
    _Atomic size_t samples;
} bench_rx;

static uint64_t now_ns(void) {
    return sky_frame_now_ns();
}

/* The frame number a packet's last LED carries, or 0 when the packet does not end a frame. */
static uint64_t bench_frame_end(const bench_rx *rx, const uint8_t *p, size_t len) {
    const uint8_t *last = NULL;
    if (strcmp(rx->protocol, "sacn") == 0) {
        /* 103,680 LEDs = 610 universes of 510 slots from universe 1; the last has 360 slots */
        if (len < 126 || ((p[113] << 8) | p[114]) != 610) return 0;
        last = p + len - 3;
    } else if (strcmp(rx->protocol, "artnet") == 0) {
        if (len < 18 || ((p[15] << 8) | p[14]) != 609) return 0; /* 0-based port address */
        last = p + len - 3;
    } else if (strcmp(rx->protocol, "ddp") == 0) {
        if (len < 10 || !(p[0] & 0x01)) return 0; /* PUSH: the frame's last packet */
        last = p + len - 3;
    } else {
        return 0;
    }
    return (uint64_t)last[0] | ((uint64_t)last[1] << 8) | ((uint64_t)last[2] << 16);
}

static void *bench_receiver(void *arg) {
    bench_rx *rx = arg;
    enum { BATCH = 64 };
    static uint8_t bufs[BATCH][1500];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!atomic_load(&rx->stop)) {
        int n = recvmmsg(rx->fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        uint64_t t = now_ns();
        if (!atomic_load(&rx->counting)) continue;
        atomic_fetch_add(&rx->packets, (uint64_t)n);
        for (int i = 0; i < n; i++) {
            uint64_t f = bench_frame_end(rx, bufs[i], msgs[i].msg_len);
            if (!f) continue;
            atomic_fetch_add(&rx->frames, 1);
            uint64_t published = atomic_load(&rx->published);
            if (f > published || published - f >= 4096) continue;
            size_t k = atomic_load(&rx->samples);
            if (k < MAX_SAMPLES) {
                rx->latency_ms[k] = (double)(t - rx->publish_ns[f % 4096]) / 1e6;
                atomic_store(&rx->samples, k + 1);
            }
        }
    }
    return NULL;
}

static int bench_udp_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int big = 32 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    /* recvmmsg's own timeout only counts once a datagram came: use the socket's. */
    struct timeval tv = {0, 100000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

static double proc_cpu_s(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The driver's own "latency avg A ms max B ms" from its last stats line. */
static void driver_latency(const char *log_path, double *avg, double *max) {
    *avg = *max = -1;
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "latency avg ");
        double a = 0, m = 0;
        /* The SIGUSR1 line; the one printed at exit covers only the goodbye frames. */
        if (p && sscanf(p, "latency avg %lf ms max %lf ms", &a, &m) == 2 && m > 0) {
            *avg = a;
            *max = m;
        }
    }
    fclose(f);
}

static int bench_one(const char *protocol, double seconds, const char *frame_path) {
    bench_rx *rx = calloc(1, sizeof *rx);
    if (!rx) return 1;
    rx->protocol = protocol;
    rx->latency_ms = calloc(MAX_SAMPLES, sizeof *rx->latency_ms);
    uint16_t port = 0;
    rx->fd = bench_udp_listen(&port);
    if (rx->fd < 0 || !rx->latency_ms) {
        perror("bench_driver: receiver");
        return 1;
    }
    char url[256];
    if (strcmp(protocol, "sacn") == 0)
        snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=1&gamma=1", port);
    else if (strcmp(protocol, "artnet") == 0)
        snprintf(url, sizeof url, "artnet://127.0.0.1:%u?gamma=1", port);
    else if (strcmp(protocol, "ddp") == 0)
        snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    else
        snprintf(url, sizeof url, "null://?gamma=1");

    /* The writer: a frame file of the Skyscreen's shape. */
    uint32_t *sizes = malloc(STRIPS * sizeof *sizes);
    float *xy = calloc((size_t)LEDS * 2, sizeof *xy);
    if (!sizes || !xy) return 1;
    for (int s = 0; s < STRIPS; s++) sizes[s] = PER_STRIP;
    sky_frame_writer_options opt = {.path = frame_path,
                                    .led_count = LEDS,
                                    .strip_count = STRIPS,
                                    .strip_sizes = sizes,
                                    .positions = xy,
                                    .fps_nominal = FPS,
                                    .layout = "disc:360x288"};
    sky_frame_writer *w = NULL;
    char err[512];
    if (sky_frame_writer_create(&opt, &w, err, sizeof err) != SKY_OK) {
        fprintf(stderr, "bench_driver: %s\n", err);
        return 1;
    }
    char log_path[128];
    snprintf(log_path, sizeof log_path, "%s.%s.log", frame_path, protocol);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(SKY_DRIVER_BIN, "sky-driver", "--frame", frame_path, "--out", url, "--stats", "0",
              (char *)NULL);
        _exit(127);
    }
    pthread_t thread;
    pthread_create(&thread, NULL, bench_receiver, rx);

    uint64_t period = 1000000000ull / FPS, start = now_ns(), next = start;
    uint64_t warm_end = start + (uint64_t)WARMUP_S * 1000000000ull;
    uint64_t end = warm_end + (uint64_t)(seconds * 1e9);
    double cpu0 = 0, cpu1 = 0;
    uint64_t t0 = 0, published_in_window = 0;
    while (next < end) {
        uint64_t f = 0;
        uint8_t *slot = sky_frame_writer_begin(w, &f);
        memset(slot, (int)(f & 0x7f), (size_t)LEDS * 3);
        uint8_t *last = slot + (size_t)(LEDS - 1) * 3;
        last[0] = (uint8_t)f;
        last[1] = (uint8_t)(f >> 8);
        last[2] = (uint8_t)(f >> 16);
        sky_frame_writer_publish(w);
        rx->publish_ns[f % 4096] = now_ns();
        atomic_store(&rx->published, f);
        if (!t0 && now_ns() >= warm_end) {
            t0 = now_ns();
            cpu0 = proc_cpu_s(pid);
            atomic_store(&rx->counting, true);
        }
        if (t0) published_in_window++;
        next += period;
        struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
    }
    uint64_t t1 = now_ns();
    cpu1 = proc_cpu_s(pid);
    atomic_store(&rx->counting, false);
    kill(pid, SIGUSR1);
    usleep(300000);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    atomic_store(&rx->stop, true);
    pthread_join(thread, NULL);

    double wall = (double)(t1 - t0) / 1e9;
    double cpu = cpu1 - cpu0;
    uint64_t frames = atomic_load(&rx->frames), packets = atomic_load(&rx->packets);
    size_t n = atomic_load(&rx->samples);
    qsort(rx->latency_ms, n, sizeof *rx->latency_ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += rx->latency_ms[i];
    double d_avg, d_max;
    driver_latency(log_path, &d_avg, &d_max);
    uint64_t frames_out = strcmp(protocol, "null") == 0 ? published_in_window : frames;
    char rx_lat[96] = "-", drv_lat[64] = "-";
    if (n)
        snprintf(rx_lat, sizeof rx_lat, "%.2f / %.2f / %.2f / %.2f", sum / (double)n,
                 rx->latency_ms[n / 2], rx->latency_ms[(size_t)((double)n * 0.99)],
                 rx->latency_ms[n - 1]);
    if (d_avg >= 0) snprintf(drv_lat, sizeof drv_lat, "%.2f / %.2f", d_avg, d_max);
    printf("| %s | %.1f | %.1f%% | %.3f | %.0f | %s | %s |\n", protocol, (double)frames_out / wall,
           100.0 * cpu / wall, frames_out ? 1000.0 * cpu / (double)frames_out : 0,
           (double)packets / wall, rx_lat, drv_lat);
    fflush(stdout);
    sky_frame_writer_free(w);
    unlink(frame_path);
    unlink(log_path);
    close(rx->fd);
    free(rx->latency_ms);
    free(rx);
    free(sizes);
    free(xy);
    return 0;
}

int main(int argc, char **argv) {
    double seconds = 10;
    int first = 1;
    if (argc > 1 && atof(argv[1]) > 0) {
        seconds = atof(argv[1]);
        first = 2;
    }
    const char *defaults[] = {"sacn", "ddp", "artnet", "null"};
    const char **protocols = first < argc ? (const char **)argv + first : defaults;
    int count = first < argc ? argc - first : 4;
    char frame_path[128];
    snprintf(frame_path, sizeof frame_path, "/dev/shm/sky-bench-driver-%d", (int)getpid());
    printf("sky-driver, %d LEDs (%dx%d) published at %d fps, %.0f s per protocol after %d s "
           "warm-up\n\n",
           LEDS, STRIPS, PER_STRIP, FPS, seconds, WARMUP_S);
    printf("| output | frames/s out | driver CPU (%% of one core) | CPU ms/frame | packets/s | "
           "published -> received ms: avg / p50 / p99 / max | driver: published -> sent ms: "
           "avg / max |\n|---|---:|---:|---:|---:|---|---|\n");
    for (int i = 0; i < count; i++)
        if (bench_one(protocols[i], seconds, frame_path) != 0) return 1;
    return 0;
}

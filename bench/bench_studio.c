/*
 * bench_studio.c - do studio viewers slow the show? Late frames of `sky run`
 * with 0 and then 5 clients on /api/frames at 60 fps, in one run.
 *
 * Runs the real binary: `sky run examples/plasma.sky --fps 60 --layout
 * disc:360x288 --control 127.0.0.1:0` with a scratch frame file, waits for
 * its port and for the show to warm up (the first frames build the driver's
 * caches), then measures two phases of --seconds each (default 20):
 *   0 viewers   nothing connected but this program's state requests
 *   5 viewers   five WebSockets on /api/frames?fps=60, each read on a thread
 *               of its own as fast as frames come (what five browsers do)
 * The late count is the show's own (GET /api/state "late": frames finished
 * after the next frame's deadline, as `--stats` counts them), read at each
 * phase's start and end; the frames rendered come from "frame". Each
 * viewer's frames received and bytes give the rate it was served at.
 *
 * usage: bench_studio [--seconds S] [--viewers N] [--layout SPEC]
 * ($BENCH_STUDIO_SKY: run that sky binary instead of this tree's)
 * Prints a Markdown table for docs/performance.md. Nothing here is asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sky/frame.h"

#define PLASMA_PATH   SKY_SOURCE_DIR "/examples/plasma.sky"
#define MAX_VIEWERS   8 /* the server takes 8 frames clients */
#define WARMUP_FRAMES 120
#define START_WAIT_S  120.0 /* the show must be up within this (lavapipe builds slowly) */

extern char **environ;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_studio: %s: %s\n", what, detail);
    exit(2);
}

static double now_s(void) { return (double)sky_frame_now_ns() / 1e9; }

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int connect_port(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("connect", strerror(errno));
    return fd;
}

static void send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) die("send", strerror(errno));
        data += n, len -= (size_t)n;
    }
}

/* GET path: the reply's body (malloc'd); the server closes after each reply. */
static char *http_get(uint16_t port, const char *path) {
    int fd = connect_port(port);
    char request[256];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    send_all(fd, request, (size_t)n);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (ssize_t got; buf && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0;) {
        len += (size_t)got;
        if (cap - len < 2 && !(buf = realloc(buf, cap *= 2))) die("http", "out of memory");
    }
    close(fd);
    if (!buf) die("http", "out of memory");
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (!body) die(path, "no reply");
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return buf;
}

/* A number field of a flat JSON text ("late":12): enough for the state's top-level fields. */
static double json_number(const char *json, const char *key) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *at = strstr(json, needle);
    if (!at) die(key, "not in the state");
    return strtod(at + strlen(needle), NULL);
}

typedef struct sample {
    double late, frame;
} sample;

static sample state_sample(uint16_t port) {
    char *state = http_get(port, "/api/state");
    sample s = {json_number(state, "late"), json_number(state, "frame")};
    free(state);
    return s;
}

/* ------------------------------------------------------------- viewers */

typedef struct viewer {
    uint16_t port;
    int fd;
    pthread_t thread;
    atomic_bool stop;
    atomic_ullong frames, bytes;
} viewer;

static bool read_exact(int fd, uint8_t *buf, size_t len) {
    while (len) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n <= 0) return false;
        buf += n, len -= (size_t)n;
    }
    return true;
}

/* Opens /api/frames?fps=60 (the handshake's key is fixed: the server checks only its form). */
static int ws_open(uint16_t port) {
    int fd = connect_port(port);
    static const char request[] =
        "GET /api/frames?fps=60 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    send_all(fd, request, sizeof request - 1);
    char reply[1024] = "";
    size_t len = 0;
    while (len < sizeof reply - 1 && !strstr(reply, "\r\n\r\n")) {
        ssize_t n = recv(fd, reply + len, 1, 0); /* byte by byte: frames follow the headers */
        if (n <= 0) die("/api/frames", "the upgrade was refused");
        reply[++len] = '\0';
    }
    if (!strstr(reply, " 101 ")) die("/api/frames", reply);
    return fd;
}

/* Reads messages as fast as they come, counting them, until told to stop. */
static void *viewer_main(void *arg) {
    viewer *v = arg;
    uint8_t *payload = NULL;
    size_t cap = 0;
    while (!atomic_load(&v->stop)) {
        struct pollfd p = {.fd = v->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        uint8_t head[2];
        if (!read_exact(v->fd, head, 2)) break;
        uint64_t len = head[1] & 0x7f;
        uint8_t ext[8];
        if (len == 126) {
            if (!read_exact(v->fd, ext, 2)) break;
            len = (uint64_t)ext[0] << 8 | ext[1];
        } else if (len == 127) {
            if (!read_exact(v->fd, ext, 8)) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | ext[i];
        }
        if (len > cap) {
            uint8_t *grown = realloc(payload, len);
            if (!grown) break;
            payload = grown, cap = len;
        }
        if (!read_exact(v->fd, payload, len)) break;
        if ((head[0] & 0x0f) == 2) {
            atomic_fetch_add(&v->frames, 1);
            atomic_fetch_add(&v->bytes, len);
        } else if ((head[0] & 0x0f) == 8) {
            break;
        }
    }
    free(payload);
    return NULL;
}

/* ------------------------------------------------------------------ main */

static uint16_t find_port(const char *path) {
    FILE *f = fopen(path, "r");
    char line[512];
    uint16_t port = 0;
    while (f && !port && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "control API on http://127.0.0.1:");
        if (at) port = (uint16_t)atoi(at + strlen("control API on http://127.0.0.1:"));
    }
    if (f) fclose(f);
    return port;
}

int main(int argc, char **argv) {
    double seconds = 20;
    int viewers = 5;
    const char *layout = "disc:360x288";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--viewers") == 0 && i + 1 < argc) viewers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc) layout = argv[++i];
        else die(argv[i], "usage: bench_studio [--seconds S] [--viewers N] [--layout SPEC]");
    }
    if (seconds <= 0 || viewers < 1 || viewers > MAX_VIEWERS) die("options", "out of range");
    const char *sky = getenv("BENCH_STUDIO_SKY") ? getenv("BENCH_STUDIO_SKY") : SKY_CLI_BIN;
    char dir[] = "/tmp/bench-studio-XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp", strerror(errno));
    char frame[256], err_path[256];
    snprintf(frame, sizeof frame, "%s/frame", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    char *args[] = {(char *)sky, "run", PLASMA_PATH, "--fps", "60", "--layout", (char *)layout,
                    "--frame", frame, "--control", "127.0.0.1:0", NULL};
    pid_t pid;
    if (posix_spawn(&pid, sky, &actions, NULL, args, environ) != 0) die(sky, strerror(errno));
    posix_spawn_file_actions_destroy(&actions);

    /* Up: its port printed and WARMUP_FRAMES rendered (the first ones fill the driver's caches). */
    uint16_t port = 0;
    double deadline = now_s() + START_WAIT_S;
    while (!port || state_sample(port).frame < WARMUP_FRAMES) {
        if (!port) port = find_port(err_path);
        if (waitpid(pid, NULL, WNOHANG) == pid) die(sky, "exited early: see its stderr above");
        if (now_s() > deadline) die(sky, "not up in time");
        sleep_s(0.1);
    }

    sample a0 = state_sample(port);
    sleep_s(seconds);
    sample a1 = state_sample(port);

    viewer v[MAX_VIEWERS];
    memset(v, 0, sizeof v);
    for (int i = 0; i < viewers; i++) {
        v[i].port = port;
        v[i].fd = ws_open(port);
        if (pthread_create(&v[i].thread, NULL, viewer_main, &v[i]) != 0) die("pthread", "create");
    }
    sleep_s(1); /* every viewer is being served */
    unsigned long long f0[MAX_VIEWERS];
    for (int i = 0; i < viewers; i++) f0[i] = atomic_load(&v[i].frames);
    sample b0 = state_sample(port);
    double t0 = now_s();
    sleep_s(seconds);
    sample b1 = state_sample(port);
    double span = now_s() - t0;
    double served_min = 1e9, served_max = 0, mib = 0;
    for (int i = 0; i < viewers; i++) {
        double fps = (double)(atomic_load(&v[i].frames) - f0[i]) / span;
        served_min = fps < served_min ? fps : served_min;
        served_max = fps > served_max ? fps : served_max;
        mib += (double)atomic_load(&v[i].bytes) / span / (1024 * 1024);
        atomic_store(&v[i].stop, true);
    }
    for (int i = 0; i < viewers; i++) {
        pthread_join(v[i].thread, NULL);
        close(v[i].fd);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(frame);
    unlink(err_path);
    rmdir(dir);

    printf("| %s, plasma.sky, 60 fps, %g s a phase | frames rendered | late frames | frames/s each viewer got |\n",
           layout, seconds);
    printf("|---|---|---|---|\n");
    printf("| 0 viewers | %.0f | %.0f | - |\n", a1.frame - a0.frame, a1.late - a0.late);
    printf("| %d viewers on /api/frames?fps=60 | %.0f | %.0f | %.1f to %.1f (%.1f MiB/s in all) |\n",
           viewers, b1.frame - b0.frame, b1.late - b0.late, served_min, served_max, mib);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/*
 * sky_receive.c - sky-receive: a loopback DDP receiver that checks what
 * sky-driver sends against the frame file the driver reads.
 *
 *   sky-receive --ddp 127.0.0.1:0 --frame /dev/shm/skyscreen --port-file F
 *
 * It binds the address (port 0: the kernel picks a free one, written to
 * --port-file for whoever starts the driver), reassembles DDP frames
 * (ddp_rx.c), reads the frame file through the public reader API at the same
 * time and looks every received frame up among the frames it read
 * (frame_match.c). Once a second it prints frames/s and LEDs received. It
 * stops after --duration seconds of frames, after --frames frames, when the
 * writer it saw alive exits (the driver then holds and fades, which the file
 * no longer shows), or on SIGINT/SIGTERM. Exit status: 0 when frames arrived
 * and none differed from the file, 1 when a frame differed or none arrived,
 * 2 for a usage or system error. The driver must pass colours unchanged
 * (gamma=1, the default brightness 1, no dithering, no power limit).
 * Links libskyframe only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ddp_rx.h"
#include "frame_match.h"
#include "sky/frame.h"

#define RX_MAX_PACKET      65536 /* a UDP datagram is at most 65,507 bytes */
#define RX_RCVBUF          (8 << 20)
#define RX_REOPEN_NS       100000000ull /* 100 ms between tries to open the frame file */
#define RX_LIVENESS_NS     50000000ull  /* 50 ms between looks at the writer's lock */
#define RX_STATS_NS        1000000000ull
#define RX_SHOWN_MISMATCH  5  /* mismatches described in full; the rest are counted */
#define RX_SHOWN_MALFORMED 5

static volatile sig_atomic_t rx_quit;

static void rx_on_signal(int sig) {
    (void)sig;
    rx_quit = 1;
}

typedef struct rx_options {
    const char *ddp, *frame_path, *port_file;
    double duration_s, timeout_s;
    uint64_t frames;
} rx_options;

typedef struct rx_counts {
    uint64_t packets, frames, matched, mismatched, unverifiable, black, incomplete, malformed,
        ignored, unattached;
} rx_counts;

typedef struct receiver {
    rx_options o;
    int fd;
    sky_frame_reader *reader;
    uint64_t next_open_ns, next_liveness_ns;
    bool writer_seen_alive, writer_done;
    char last_open_error[512];
    size_t frame_bytes;
    uint8_t *file_frame; /* the newest frame read from the file */
    uint64_t file_frame_number;
    ddprx_assembler asm_;
    fmatch *history;
    rx_counts n, n_at_last_stats;
    uint64_t start_ns, first_frame_ns, last_stats_ns;
} receiver;

static void rx_usage(FILE *out) {
    fprintf(out,
            "usage: sky-receive --ddp HOST:PORT [options]\n"
            "Receives DDP frames (from sky-driver) and checks each against the frame file.\n"
            "\n"
            "  --ddp HOST:PORT     address to listen on; port 0 lets the system pick a free one\n"
            "  --frame PATH        the frame file the driver reads (default " SKY_FRAME_DEFAULT_PATH
            ")\n"
            "  --port-file PATH    write the port listened on to PATH once listening\n"
            "  --duration S        stop S seconds after the first frame (default: no limit)\n"
            "  --frames N          stop after N frames\n"
            "  --timeout S         fail when no frame arrived within S seconds (default 60)\n"
            "It also stops when the frame file's writer, once seen alive, exits.\n"
            "Exit status: 0 frames arrived and all matched the file; 1 a frame differed or\n"
            "none arrived; 2 usage or system error.\n");
}

static bool rx_parse_double(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e9) return false;
    *out = v;
    return true;
}

static int rx_parse_args(int argc, char **argv, rx_options *o) {
    *o = (rx_options){.frame_path = SKY_FRAME_DEFAULT_PATH, .timeout_s = 60};
    static const struct option longs[] = {
        {"ddp", required_argument, NULL, 'd'},      {"frame", required_argument, NULL, 'f'},
        {"port-file", required_argument, NULL, 'p'}, {"duration", required_argument, NULL, 's'},
        {"frames", required_argument, NULL, 'n'},    {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        double v = 0;
        switch (c) {
        case 'd':
            o->ddp = optarg;
            break;
        case 'f':
            o->frame_path = optarg;
            break;
        case 'p':
            o->port_file = optarg;
            break;
        case 's':
        case 't':
        case 'n':
            if (!rx_parse_double(optarg, &v) || (c == 'n' && v != (double)(uint64_t)v)) {
                fprintf(stderr, "sky-receive: --%s `%s`: expected a number >= 0%s\n",
                        c == 's' ? "duration" : c == 't' ? "timeout" : "frames", optarg,
                        c == 'n' ? " (whole)" : "");
                return 2;
            }
            if (c == 's') o->duration_s = v;
            if (c == 't') o->timeout_s = v;
            if (c == 'n') o->frames = (uint64_t)v;
            break;
        case 'h':
            rx_usage(stdout);
            return 0;
        default:
            rx_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sky-receive: unexpected argument `%s`\n", argv[optind]);
        return 2;
    }
    if (!o->ddp) {
        fprintf(stderr, "sky-receive: --ddp HOST:PORT is required\n");
        rx_usage(stderr);
        return 2;
    }
    return -1;
}

/* Splits HOST:PORT ([V6]:PORT for IPv6) and binds a non-blocking UDP socket there. */
static int rx_listen(receiver *R) {
    char host[256];
    const char *spec = R->o.ddp, *colon = strrchr(spec, ':');
    size_t host_len = colon ? (size_t)(colon - spec) : 0;
    if (!colon || host_len == 0 || host_len >= sizeof host || !colon[1]) {
        fprintf(stderr, "sky-receive: --ddp `%s`: expected HOST:PORT (e.g. 127.0.0.1:4048)\n",
                spec);
        return -1;
    }
    if (spec[0] == '[' && spec[host_len - 1] == ']') {
        spec++;
        host_len -= 2;
    }
    memcpy(host, spec, host_len);
    host[host_len] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "sky-receive: --ddp `%s`: %s\n", R->o.ddp, gai_strerror(rc));
        return -1;
    }
    R->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (R->fd < 0 || bind(R->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "sky-receive: cannot listen on %s: %s\n", R->o.ddp, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    /* A disc frame is 216 packets sent in one burst: room for a few frames if we are late. */
    int size = RX_RCVBUF;
    if (setsockopt(R->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)setsockopt(R->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return 0;
}

static int rx_port(const receiver *R) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(R->fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Written beside PATH and renamed over it, so a reader never sees half a number. */
static int rx_write_port_file(const char *path, int port) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "sky-receive: --port-file `%s`: path too long\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%d\n", port) > 0;
    if (f && fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "sky-receive: --port-file `%s`: %s\n", path, strerror(errno));
        if (f) unlink(tmp);
        return -1;
    }
    return 0;
}

static void rx_detach(receiver *R) {
    sky_frame_reader_free(R->reader);
    R->reader = NULL;
    ddprx_free(&R->asm_);
    free(R->file_frame);
    R->file_frame = NULL;
    R->frame_bytes = 0;
    R->writer_seen_alive = false;
}

/* Tries to open the frame file; 0 attached, 1 not yet, -1 out of memory. */
static int rx_attach(receiver *R, uint64_t now) {
    if (now < R->next_open_ns) return 1;
    R->next_open_ns = now + RX_REOPEN_NS;
    char err[512] = "";
    if (sky_frame_reader_open(R->o.frame_path, &R->reader, err, sizeof err) != SKY_OK) {
        if (strcmp(err, R->last_open_error) != 0) {
            printf("sky-receive: waiting for the frame file: %s\n", err);
            snprintf(R->last_open_error, sizeof R->last_open_error, "%s", err);
        }
        return 1;
    }
    R->last_open_error[0] = 0;
    const sky_frame_info *info = sky_frame_reader_info(R->reader);
    R->frame_bytes = (size_t)info->led_count * 3;
    R->file_frame = malloc(R->frame_bytes);
    if (!R->file_frame || ddprx_init(&R->asm_, R->frame_bytes) != 0) {
        fprintf(stderr, "sky-receive: out of memory for %u LEDs\n", info->led_count);
        return -1;
    }
    fmatch_reset(R->history);
    printf("sky-receive: reading %s: %u LEDs in %u strips, layout %s\n", R->o.frame_path,
           info->led_count, info->strip_count, info->layout);
    return 0;
}

/* Adds every frame the writer published since the last look to the history. */
static void rx_read_file(receiver *R) {
    if (!R->reader) return;
    for (;;) {
        char err[512] = "";
        uint64_t number = 0;
        sky_status st = sky_frame_reader_read(R->reader, R->file_frame, R->frame_bytes, &number,
                                              err, sizeof err);
        if (st == SKY_ERR_AGAIN) return;
        if (st != SKY_OK) {
            printf("sky-receive: the frame file broke, re-attaching: %s\n", err);
            rx_detach(R);
            return;
        }
        R->file_frame_number = number;
        fmatch_add(R->history, number, R->file_frame, R->frame_bytes);
    }
}

/* Follows the writer: a replaced file is re-attached; an exit after being alive ends the run. */
static void rx_check_writer(receiver *R, uint64_t now, bool force) {
    if (!R->reader || (!force && now < R->next_liveness_ns)) return;
    R->next_liveness_ns = now + RX_LIVENESS_NS;
    if (sky_frame_reader_replaced(R->reader)) {
        printf("sky-receive: the frame file was replaced (a new writer): re-attaching\n");
        rx_detach(R);
        R->next_open_ns = 0;
        return;
    }
    sky_writer_state ws = sky_frame_reader_writer_state(R->reader, 10ull * 1000000000ull);
    if (ws != SKY_WRITER_DEAD)
        R->writer_seen_alive = true;
    else if (R->writer_seen_alive && !R->writer_done) {
        R->writer_done = true;
        printf("sky-receive: the writer has exited; stopping (the driver now holds and fades, "
               "which the file does not show)\n");
    }
}

static void rx_describe_mismatch(const receiver *R, const uint8_t *got) {
    uint64_t differ = 0, first = 0;
    for (size_t i = 0; i < R->frame_bytes / 3; i++)
        if (memcmp(got + i * 3, R->file_frame + i * 3, 3) != 0 && differ++ == 0) first = i;
    const uint8_t *g = got + first * 3, *w = R->file_frame + first * 3;
    printf("sky-receive: MISMATCH: received frame %" PRIu64 " equals none of the frame file's "
           "frames %" PRIu64 "..%" PRIu64 "; against the newest, %" PRIu64 " of %zu LEDs differ, "
           "first LED %" PRIu64 ": received (%u, %u, %u), file (%u, %u, %u)\n",
           R->n.frames, R->history->last_matched, R->file_frame_number, differ,
           R->frame_bytes / 3, first, g[0], g[1], g[2], w[0], w[1], w[2]);
}

static void rx_classify(receiver *R, uint64_t now) {
    rx_read_file(R); /* the driver read the frame it sent before sending it: have it too */
    rx_check_writer(R, now, true);
    if (!R->reader || R->writer_done) return;
    R->n.frames++;
    if (R->first_frame_ns == 0) R->first_frame_ns = now;
    switch (fmatch_check(R->history, R->asm_.frame, R->frame_bytes, NULL)) {
    case FMATCH_MATCH:
        R->n.matched++;
        break;
    case FMATCH_MISMATCH:
        if (R->n.mismatched++ < RX_SHOWN_MISMATCH) rx_describe_mismatch(R, R->asm_.frame);
        break;
    case FMATCH_UNVERIFIABLE:
        R->n.unverifiable++;
        break;
    case FMATCH_BLACK:
        R->n.black++;
        break;
    }
}

static void rx_packet(receiver *R, const uint8_t *pkt, size_t len, uint64_t now) {
    R->n.packets++;
    if (!R->reader) {
        R->n.unattached++;
        return;
    }
    char err[256] = "";
    switch (ddprx_feed(&R->asm_, pkt, len, err, sizeof err)) {
    case DDPRX_DATA:
        break;
    case DDPRX_FRAME:
        rx_classify(R, now);
        break;
    case DDPRX_INCOMPLETE:
        R->n.incomplete++;
        break;
    case DDPRX_IGNORED:
        R->n.ignored++;
        break;
    case DDPRX_MALFORMED:
        if (R->n.malformed++ < RX_SHOWN_MALFORMED)
            printf("sky-receive: malformed packet %" PRIu64 " (%zu bytes) rejected: %s\n",
                   R->n.packets, len, err);
        break;
    }
}

static void rx_drain(receiver *R, uint8_t *buf) {
    for (int k = 0; k < 1024 && !R->writer_done; k++) {
        ssize_t got = recv(R->fd, buf, RX_MAX_PACKET, MSG_TRUNC);
        if (got < 0) return; /* EAGAIN: nothing more; other errors are retried by poll */
        size_t len = (size_t)got > RX_MAX_PACKET ? RX_MAX_PACKET : (size_t)got;
        rx_packet(R, buf, len, sky_frame_now_ns());
    }
}

static void rx_stats(receiver *R, uint64_t now, const char *title) {
    double s = (double)(now - R->last_stats_ns) * 1e-9;
    uint64_t frames = R->n.frames - R->n_at_last_stats.frames;
    double leds = (double)frames * (double)(R->frame_bytes / 3);
    printf("sky-receive: %s%.1f frames/s, %.0f LEDs/s (%zu a frame); frames: %" PRIu64
           " received, %" PRIu64 " equal to the file's, %" PRIu64 " differ, %" PRIu64
           " unverifiable, %" PRIu64 " black, %" PRIu64 " incomplete; packets: %" PRIu64
           ", %" PRIu64 " malformed\n",
           title, s > 0 ? (double)frames / s : 0, s > 0 ? leds / s : 0, R->frame_bytes / 3,
           R->n.frames, R->n.matched, R->n.mismatched, R->n.unverifiable, R->n.black,
           R->n.incomplete, R->n.packets, R->n.malformed);
    R->n_at_last_stats = R->n;
    R->last_stats_ns = now;
}

static bool rx_done(const receiver *R, uint64_t now) {
    if (rx_quit || R->writer_done) return true;
    if (R->o.frames && R->n.frames >= R->o.frames) return true;
    if (R->o.duration_s > 0 && R->first_frame_ns &&
        (double)(now - R->first_frame_ns) * 1e-9 >= R->o.duration_s)
        return true;
    return R->o.timeout_s > 0 && R->n.frames == 0 &&
           (double)(now - R->start_ns) * 1e-9 >= R->o.timeout_s;
}

static int rx_verdict(const receiver *R) {
    if (R->n.mismatched) {
        fprintf(stderr,
                "sky-receive: FAIL: %" PRIu64 " of %" PRIu64 " frames differ from every frame "
                "of %s (is the driver changing colours? use gamma=1, brightness 1, no dither, "
                "no power budget)\n",
                R->n.mismatched, R->n.frames, R->o.frame_path);
        return 1;
    }
    if (R->n.matched == 0) {
        fprintf(stderr,
                "sky-receive: FAIL: %s (%" PRIu64 " packets, %" PRIu64 " frames: %" PRIu64
                " unverifiable, %" PRIu64 " black, %" PRIu64 " incomplete)\n",
                R->n.frames ? "no received frame equals a frame of the file"
                            : "no complete frame arrived",
                R->n.packets, R->n.frames, R->n.unverifiable, R->n.black, R->n.incomplete);
        return 1;
    }
    printf("sky-receive: ok: %" PRIu64 " frames equal to the file's, none differ\n", R->n.matched);
    return 0;
}

static int rx_run(receiver *R) {
    static uint8_t buf[RX_MAX_PACKET];
    R->start_ns = R->last_stats_ns = sky_frame_now_ns();
    struct pollfd pfd = {.fd = R->fd, .events = POLLIN};
    for (;;) {
        uint64_t now = sky_frame_now_ns();
        if (!R->reader && rx_attach(R, now) < 0) return 2;
        rx_read_file(R);
        rx_check_writer(R, now, false);
        if (rx_done(R, now)) break;
        if (now - R->last_stats_ns >= RX_STATS_NS) rx_stats(R, now, "");
        /* 5 ms: the frame file is read between packets too, so frames between them are seen */
        if (poll(&pfd, 1, 5) > 0) rx_drain(R, buf);
    }
    rx_stats(R, sky_frame_now_ns(), "final: ");
    return rx_verdict(R);
}

int main(int argc, char **argv) {
    static receiver R;
    static fmatch history;
    int parsed = rx_parse_args(argc, argv, &R.o);
    if (parsed >= 0) return parsed;
    setvbuf(stdout, NULL, _IOLBF, 0);
    R.history = &history;
    R.fd = -1;
    struct sigaction sa = {.sa_handler = rx_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int status = 2;
    if (rx_listen(&R) == 0) {
        int port = rx_port(&R);
        printf("sky-receive: listening for DDP on %s (port %d)\n", R.o.ddp, port);
        if (!R.o.port_file || rx_write_port_file(R.o.port_file, port) == 0) status = rx_run(&R);
    }
    rx_detach(&R);
    if (R.fd >= 0) close(R.fd);
    return status;
}

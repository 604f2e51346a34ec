/*
 * soak_recv.c - the soak's loopback E1.31 and DDP receivers (see soak_recv.h).
 *
 * A receiver is strict: every packet goes through the independent decoders,
 * and every field the driver was told to send (source name, priority, sync
 * address, universe range, slot counts, DDP type and id, offsets within the
 * frame) is checked; anything else is counted as malformed and the first
 * such problem kept for the summary. Frames are recorded with their arrival
 * time and verdict, so the harness can judge pacing and fault windows after
 * the run. A torn frame is reported at once, described part by part, and
 * written to the dump directory.
 */
#include "soak_recv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "decoders.h"

#define RX_SACN_SLOTS     510
#define RX_SACN_PRIORITY  100
#define RX_OPT_TERMINATED 0x40
#define RX_DDP_TYPE_RGB8  0x0b
#define RX_DDP_CHUNK      1440
#define RX_MAX_PACKET     9100
#define RX_MAX_DUMPS      8

static uint64_t rx_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void rx_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Notes a problem (the caller holds the lock); the first one is kept for the summary. */
static void rx_problem(soak_rx *rx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rx_problem(soak_rx *rx, const char *fmt, ...) {
    if (rx->first_problem[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rx->first_problem, sizeof rx->first_problem, fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: receiver %s: %s\n", rx->name, rx->first_problem);
}

/* A UDP socket on 127.0.0.1:port (0: the kernel picks); -1 with errno on failure. */
static int rx_bind(int *port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1, big = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)*port);
    socklen_t len = sizeof sin;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* Forgets the stream, as a receiver that just started. */
static void rx_reset_stream(soak_rx *rx) {
    rx->in_frame = false;
    rx->broken = false;
    rx->got_count = 0;
    if (rx->got) memset(rx->got, 0, rx->universes);
    if (rx->have_seq) memset(rx->have_seq, 0, rx->universes);
    rx->have_last_exact = false;
}

/* ------------------------------------------------------------ frames */

static void rx_dump(soak_rx *rx, const char *why) {
    if (!rx->dump_dir || rx->dumps >= RX_MAX_DUMPS) return;
    char path[512];
    snprintf(path, sizeof path, "%s/torn-%s-%u.rgb", rx->dump_dir, rx->name, rx->dumps++);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    size_t bytes = (size_t)rx->model.led_count * 3;
    bool ok = fwrite(rx->frame, 1, bytes, f) == bytes;
    if (fclose(f) != 0 || !ok)
        fprintf(stderr, "soak: receiver %s: cannot write %s\n", rx->name, path);
    else
        fprintf(stderr, "soak: receiver %s: %s frame written to %s\n", rx->name, why, path);
}

static void rx_record(soak_rx *rx, const soak_verdict *v, uint64_t now) {
    if (rx->rec_count == rx->rec_cap) {
        size_t cap = rx->rec_cap ? rx->rec_cap * 2 : 4096;
        soak_frame_rec *grown = realloc(rx->recs, cap * sizeof *grown);
        if (!grown) {
            rx->recs_lost = true;
            return;
        }
        rx->recs = grown;
        rx->rec_cap = cap;
    }
    soak_frame_rec *r = &rx->recs[rx->rec_count++];
    r->t_ns = now;
    r->value = v->value;
    r->kind = (uint8_t)v->kind;
    r->pattern = v->pattern;
    r->level_q = (uint16_t)(v->level * 10000 + 0.5);
}

/* A frame is complete: classify and record it. */
static void rx_frame_done(soak_rx *rx, uint64_t now, size_t chunk_bytes) {
    soak_verdict v =
        soak_classify(&rx->model, rx->frame, rx->have_last_exact ? &rx->last_exact : NULL);
    char parts[1024] = "";
    if (v.kind == SOAK_TORN)
        soak_describe_torn(&rx->model, rx->frame, chunk_bytes, parts, sizeof parts);
    pthread_mutex_lock(&rx->lock);
    rx->counts.frames++;
    switch (v.kind) {
    case SOAK_EXACT:
        rx->counts.exact++;
        break;
    case SOAK_SCALED:
        rx->counts.scaled++;
        break;
    case SOAK_BLACK:
        rx->counts.black++;
        break;
    case SOAK_TORN:
        rx->counts.torn++;
        rx_problem(rx, "torn frame: %s", parts);
        break;
    }
    rx_record(rx, &v, now);
    pthread_mutex_unlock(&rx->lock);
    if (v.kind == SOAK_TORN) {
        fprintf(stderr, "soak: receiver %s: TORN frame: %s\n", rx->name, parts);
        rx_dump(rx, "torn");
    }
    if (v.kind == SOAK_EXACT) {
        rx->last_exact = v;
        rx->have_last_exact = true;
    }
}

static void rx_incomplete(soak_rx *rx) {
    pthread_mutex_lock(&rx->lock);
    rx->counts.incomplete++;
    pthread_mutex_unlock(&rx->lock);
}

static void rx_malformed(soak_rx *rx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rx_malformed(soak_rx *rx, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&rx->lock);
    rx->counts.malformed++;
    rx_problem(rx, "bad packet: %s", msg);
    pthread_mutex_unlock(&rx->lock);
}

/* ------------------------------------------------------------ E1.31 */

static void rx_sacn_close_frame(soak_rx *rx, uint64_t now) {
    if (!rx->in_frame) return;
    if (rx->got_count == rx->universes && !rx->broken)
        rx_frame_done(rx, now, RX_SACN_SLOTS);
    else
        rx_incomplete(rx);
    rx->in_frame = false;
}

static void rx_sacn_sync(soak_rx *rx, const dec_e131 *d, uint64_t now) {
    pthread_mutex_lock(&rx->lock);
    rx->counts.syncs++;
    pthread_mutex_unlock(&rx->lock);
    if (d->sync_address != rx->sync_universe) {
        rx_malformed(rx, "E1.31 sync packet for universe %u, expected %u", d->sync_address,
                     rx->sync_universe);
        return;
    }
    rx_sacn_close_frame(rx, now);
}

/* The fields every data packet of this source must carry; false (reported) if not. */
static bool rx_sacn_fields_ok(soak_rx *rx, const dec_e131 *d) {
    uint32_t u = (uint32_t)d->universe - rx->universe0;
    if (d->universe < rx->universe0 || u >= rx->universes) {
        rx_malformed(rx, "E1.31 universe %u outside %u-%u", d->universe, rx->universe0,
                     rx->universe0 + rx->universes - 1);
        return false;
    }
    size_t bytes = (size_t)rx->model.led_count * 3, at = (size_t)u * RX_SACN_SLOTS;
    size_t want = bytes - at < RX_SACN_SLOTS ? bytes - at : RX_SACN_SLOTS;
    if (d->start_code != 0 || d->slot_count != want || d->priority != RX_SACN_PRIORITY ||
        d->sync_address != rx->sync_universe || strcmp(d->source_name, rx->source_name) != 0) {
        rx_malformed(rx,
                     "E1.31 universe %u: start code %u, %u slots (want %zu), priority %u, sync "
                     "%u (want %u), source `%s` (want `%s`)",
                     d->universe, d->start_code, d->slot_count, want, d->priority, d->sync_address,
                     rx->sync_universe, d->source_name, rx->source_name);
        return false;
    }
    return true;
}

static void rx_sacn_packet(soak_rx *rx, const uint8_t *pkt, size_t len, uint64_t now) {
    dec_e131 d;
    char err[256];
    if (dec_e131_parse(pkt, len, &d, err, sizeof err) != 0) {
        rx_malformed(rx, "E1.31: %s", err);
        return;
    }
    if (d.is_sync) {
        rx_sacn_sync(rx, &d, now);
        return;
    }
    if (!rx_sacn_fields_ok(rx, &d)) return;
    uint32_t u = (uint32_t)d.universe - rx->universe0;
    if (d.options & RX_OPT_TERMINATED) {
        /* The source is leaving: a receiver forgets it (6.2.6). */
        pthread_mutex_lock(&rx->lock);
        rx->counts.terminated++;
        pthread_mutex_unlock(&rx->lock);
        rx->have_seq[u] = 0;
        rx->in_frame = false;
        return;
    }
    if (rx->have_seq[u]) {
        int diff = (int8_t)(uint8_t)(d.sequence - rx->last_seq[u]);
        if (diff <= 0 && diff > -20) { /* E1.31-2018 6.7.2: out of sequence, discard */
            pthread_mutex_lock(&rx->lock);
            rx->counts.seq_discards++;
            pthread_mutex_unlock(&rx->lock);
            if (rx->in_frame) rx->broken = true;
            return;
        }
    }
    rx->have_seq[u] = 1;
    rx->last_seq[u] = d.sequence;
    if (u == 0) {
        if (rx->in_frame) rx_incomplete(rx); /* its sync never came */
        rx->in_frame = true;
        rx->broken = false;
        rx->frame_seq = d.sequence;
        rx->got_count = 0;
        memset(rx->got, 0, rx->universes);
    } else if (!rx->in_frame) {
        return; /* joined in the middle of a frame (start, restart) */
    }
    if (d.sequence != rx->frame_seq) {
        pthread_mutex_lock(&rx->lock);
        rx->counts.mixed++;
        pthread_mutex_unlock(&rx->lock);
        rx->broken = true;
    }
    memcpy(rx->frame + (size_t)u * RX_SACN_SLOTS, d.slots, d.slot_count);
    if (!rx->got[u]) {
        rx->got[u] = 1;
        rx->got_count++;
    }
    if (rx->sync_universe == 0 && u + 1 == rx->universes) rx_sacn_close_frame(rx, now);
}

/* ------------------------------------------------------------ DDP */

static void rx_ddp_packet(soak_rx *rx, const uint8_t *pkt, size_t len, uint64_t now) {
    dec_ddp d;
    char err[256];
    if (dec_ddp_parse(pkt, len, &d, err, sizeof err) != 0) {
        rx_malformed(rx, "DDP: %s", err);
        return;
    }
    size_t bytes = (size_t)rx->model.led_count * 3;
    if (d.query || d.reply || d.storage || d.data_type != RX_DDP_TYPE_RGB8 || d.id != 1 ||
        d.sequence == 0 || d.offset % 3 != 0 || (size_t)d.offset + d.length > bytes ||
        d.length == 0) {
        rx_malformed(rx,
                     "DDP: flags 0x%02X, type 0x%02X, id %u, sequence %u, offset %u + length %u "
                     "(frame %zu bytes)",
                     d.flags, d.data_type, d.id, d.sequence, d.offset, d.length, bytes);
        return;
    }
    if (d.offset == 0) {
        if (rx->in_frame) rx_incomplete(rx); /* its PUSH never came */
        rx->in_frame = true;
        rx->broken = false;
        rx->next_offset = 0;
    } else if (!rx->in_frame) {
        return; /* joined in the middle of a frame */
    } else {
        uint8_t want = rx->ddp_seq >= 15 ? 1 : (uint8_t)(rx->ddp_seq + 1);
        if (d.sequence != want) {
            pthread_mutex_lock(&rx->lock);
            rx->counts.seq_breaks++;
            pthread_mutex_unlock(&rx->lock);
            rx->broken = true;
        }
    }
    rx->ddp_seq = d.sequence;
    if (d.offset != rx->next_offset) rx->broken = true; /* a packet went missing */
    memcpy(rx->frame + d.offset, d.data, d.length);
    rx->next_offset = d.offset + d.length;
    if (d.push) {
        if (rx->next_offset == bytes && !rx->broken)
            rx_frame_done(rx, now, RX_DDP_CHUNK);
        else
            rx_incomplete(rx);
        rx->in_frame = false;
    }
}

/* ------------------------------------------------------------ the thread */

static void rx_do_restart(soak_rx *rx, int gap_ms) {
    uint64_t closed = rx_now_ns();
    close(rx->fd);
    rx->fd = -1;
    rx_reset_stream(rx);
    for (int slept = 0; slept < gap_ms && !atomic_load(&rx->stop); slept += 10) rx_sleep_ms(10);
    /* The port is ours to take back; retry a while in case the kernel is slow to free it. */
    for (int tries = 0; tries < 100 && rx->fd < 0; tries++) {
        int port = rx->port;
        rx->fd = rx_bind(&port);
        if (rx->fd < 0) rx_sleep_ms(50);
    }
    pthread_mutex_lock(&rx->lock);
    size_t n = rx->counts.restarts;
    if (n < SOAK_RX_MAX_RESTARTS) {
        rx->restart_closed_ns[n] = closed;
        rx->restart_open_ns[n] = rx_now_ns();
    }
    rx->counts.restarts++;
    if (rx->fd < 0) {
        rx->bind_failed = true;
        rx_problem(rx, "cannot bind 127.0.0.1:%d again after a restart: %s", rx->port,
                   strerror(errno));
    }
    pthread_mutex_unlock(&rx->lock);
}

static void *rx_thread(void *arg) {
    soak_rx *rx = arg;
    uint8_t *pkt = malloc(RX_MAX_PACKET);
    if (!pkt) {
        pthread_mutex_lock(&rx->lock);
        rx_problem(rx, "out of memory for the packet buffer");
        pthread_mutex_unlock(&rx->lock);
        return NULL;
    }
    while (!atomic_load(&rx->stop)) {
        int gap = atomic_exchange(&rx->restart_gap_ms, 0);
        if (gap > 0) rx_do_restart(rx, gap);
        if (rx->fd < 0) {
            rx_sleep_ms(50);
            continue;
        }
        struct pollfd p = {.fd = rx->fd, .events = POLLIN};
        int rc = poll(&p, 1, 50);
        if (rc <= 0) continue;
        for (;;) {
            ssize_t n = recv(rx->fd, pkt, RX_MAX_PACKET, MSG_DONTWAIT);
            if (n < 0) break; /* EAGAIN: drained (an ICMP error also lands here) */
            uint64_t now = rx_now_ns();
            pthread_mutex_lock(&rx->lock);
            rx->counts.packets++;
            rx->counts.bytes += (uint64_t)n;
            pthread_mutex_unlock(&rx->lock);
            if (rx->proto == SOAK_SACN)
                rx_sacn_packet(rx, pkt, (size_t)n, now);
            else
                rx_ddp_packet(rx, pkt, (size_t)n, now);
        }
    }
    free(pkt);
    return NULL;
}

int soak_rx_start(soak_rx *rx, char *err, size_t err_len) {
    size_t bytes = (size_t)rx->model.led_count * 3;
    rx->fd = -1;
    rx->universes = (uint32_t)((bytes + RX_SACN_SLOTS - 1) / RX_SACN_SLOTS);
    rx->frame = calloc(bytes, 1);
    rx->got = calloc(rx->universes, 1);
    rx->last_seq = calloc(rx->universes, 1);
    rx->have_seq = calloc(rx->universes, 1);
    if (!rx->frame || !rx->got || !rx->last_seq || !rx->have_seq) {
        snprintf(err, err_len, "receiver %s: out of memory", rx->name);
        return -1;
    }
    if (pthread_mutex_init(&rx->lock, NULL) != 0) {
        snprintf(err, err_len, "receiver %s: cannot create its lock", rx->name);
        return -1;
    }
    rx->port = 0;
    rx->fd = rx_bind(&rx->port);
    if (rx->fd < 0) {
        snprintf(err, err_len, "receiver %s: cannot bind 127.0.0.1: %s", rx->name, strerror(errno));
        return -1;
    }
    atomic_store(&rx->stop, false);
    atomic_store(&rx->restart_gap_ms, 0);
    int rc = pthread_create(&rx->thread, NULL, rx_thread, rx);
    if (rc != 0) {
        snprintf(err, err_len, "receiver %s: cannot start its thread: %s", rx->name, strerror(rc));
        return -1;
    }
    rx->thread_started = true;
    return 0;
}

void soak_rx_restart(soak_rx *rx, int gap_ms) {
    atomic_store(&rx->restart_gap_ms, gap_ms > 0 ? gap_ms : 1);
}

void soak_rx_stop(soak_rx *rx) {
    if (rx->thread_started) {
        atomic_store(&rx->stop, true);
        pthread_join(rx->thread, NULL);
        rx->thread_started = false;
    }
    if (rx->fd >= 0) close(rx->fd);
    rx->fd = -1;
}

void soak_rx_free(soak_rx *rx) {
    soak_rx_stop(rx);
    free(rx->frame);
    free(rx->got);
    free(rx->last_seq);
    free(rx->have_seq);
    free(rx->recs);
    rx->frame = rx->got = rx->last_seq = rx->have_seq = NULL;
    rx->recs = NULL;
}

soak_rx_counts soak_rx_snapshot(soak_rx *rx) {
    pthread_mutex_lock(&rx->lock);
    soak_rx_counts c = rx->counts;
    pthread_mutex_unlock(&rx->lock);
    return c;
}

/*
 * out_ddp.c - DDP output (3waylabs Distributed Display Protocol):
 * ddp://HOST[:4048]?offset=LEDS&chunk=BYTES&id=N&seq=packet|frame&pace=T.
 *
 * A frame goes out as packets of at most `chunk` data bytes (default 1440 =
 * 480 RGB LEDs, one Ethernet frame; a multiple of 3 so no LED is split),
 * each with a 10-byte header: flags (version 1), a 4-bit sequence number
 * (1..15, skipping 0), data type 0x0B (RGB, 8 bits per element), the display
 * id (1), the byte offset into the display buffer and the data length. The
 * last packet of every frame carries PUSH, including when the frame fills
 * its packets exactly (LedFx#833). The sequence advances per packet, or with
 * seq=frame once per frame, for receivers (WLED's "skip out-of-sequence
 * packets") that drop a packet numbered up to 4 behind the last PUSH, which
 * per-packet numbering reaches from a frame's 11th packet on. A broadcast
 * host gets SO_BROADCAST; pace=T spreads a frame over T (net.h). Layout:
 * docs/protocols.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "output.h"

#define DDP_PORT      4048
#define DDP_HEADER    10
#define DDP_VER1      0x40
#define DDP_PUSH      0x01
#define DDP_TYPE_RGB8 0x0b
#define DDP_MAX_CHUNK 8994 /* a 9000-byte jumbo frame, multiple of 3 */

typedef struct ddp_out {
    int fd;
    net_addr dest;
    uint32_t chunk, offset_bytes;
    uint8_t id;
    uint8_t seq;
    bool broadcast;     /* SO_BROADCAST is on */
    bool seq_per_frame; /* seq=frame: one sequence number for all packets of a frame */
    net_pacer pacer;
    uint32_t count;
    uint8_t *packets;
    struct mmsghdr *msgs;
    struct iovec *iov;
} ddp_out;

static int ddp_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    ddp_out *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    d->fd = -1;
    o->impl = d;
    long chunk = 1440, offset = 0, id = 1;
    if (url_get_long(url, "chunk", 3, DDP_MAX_CHUNK, &chunk, err, err_len) ||
        url_get_long(url, "offset", 0, 0x7fffffff / 3, &offset, err, err_len) ||
        url_get_long(url, "id", 1, 255, &id, err, err_len) ||
        net_pacer_from_url(url, &d->pacer, err, err_len))
        return -1;
    const char *seq = url_get(url, "seq");
    if (seq && strcmp(seq, "frame") != 0 && strcmp(seq, "packet") != 0) {
        snprintf(err, err_len, "`%s`: parameter `seq`: `packet` or `frame`, got `%s`", url->text,
                 seq);
        return -1;
    }
    d->seq_per_frame = seq && strcmp(seq, "frame") == 0;
    if (chunk % 3 != 0) {
        snprintf(err, err_len, "`%s`: parameter `chunk`: must be a multiple of 3 (whole LEDs)",
                 url->text);
        return -1;
    }
    if (*url->path && strcmp(url->path, "/") != 0) {
        snprintf(err, err_len, "`%s`: ddp:// takes no path", url->text);
        return -1;
    }
    d->chunk = (uint32_t)chunk;
    d->offset_bytes = (uint32_t)offset * 3;
    d->id = (uint8_t)id;
    if (net_resolve(url->host, url->port > 0 ? url->port : DDP_PORT, &d->dest, err, err_len))
        return -1;
    d->broadcast = net_is_broadcast(&d->dest); /* else every send fails with EACCES */
    net_udp_options opts = {.broadcast = d->broadcast, .loop = true};
    d->fd = net_udp_socket(d->dest.sa.ss_family, d->broadcast ? &opts : NULL, err, err_len);
    return d->fd < 0 ? -1 : 0;
}

static void ddp_free_frame(ddp_out *d) {
    free(d->packets);
    free(d->msgs);
    free(d->iov);
    d->packets = NULL;
    d->msgs = NULL;
    d->iov = NULL;
}

static int ddp_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    ddp_out *d = o->impl;
    uint64_t bytes = (uint64_t)leds * 3;
    if (d->offset_bytes + bytes > 0xffffffffull) {
        snprintf(err, err_len, "offset + %u LEDs does not fit DDP's 32-bit byte offset", leds);
        return -1;
    }
    ddp_free_frame(d);
    d->count = (uint32_t)((bytes + d->chunk - 1) / d->chunk);
    d->packets = calloc(d->count, DDP_HEADER + (size_t)d->chunk);
    d->msgs = calloc(d->count, sizeof *d->msgs);
    d->iov = calloc(d->count, sizeof *d->iov);
    if (!d->packets || !d->msgs || !d->iov) {
        ddp_free_frame(d);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < d->count; i++) {
        uint8_t *p = d->packets + (size_t)i * (DDP_HEADER + d->chunk);
        uint64_t off = (uint64_t)i * d->chunk;
        uint32_t len = bytes - off < d->chunk ? (uint32_t)(bytes - off) : d->chunk;
        uint32_t wire_off = d->offset_bytes + (uint32_t)off;
        p[0] = (uint8_t)(DDP_VER1 | (i + 1 == d->count ? DDP_PUSH : 0));
        p[1] = 0; /* sequence, per send */
        p[2] = DDP_TYPE_RGB8;
        p[3] = d->id;
        p[4] = (uint8_t)(wire_off >> 24);
        p[5] = (uint8_t)(wire_off >> 16);
        p[6] = (uint8_t)(wire_off >> 8);
        p[7] = (uint8_t)wire_off;
        p[8] = (uint8_t)(len >> 8);
        p[9] = (uint8_t)len;
        d->iov[i].iov_base = p;
        d->iov[i].iov_len = DDP_HEADER + len;
        d->msgs[i].msg_hdr.msg_name = &d->dest.sa;
        d->msgs[i].msg_hdr.msg_namelen = d->dest.len;
        d->msgs[i].msg_hdr.msg_iov = &d->iov[i];
        d->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return 0;
}

static void ddp_send(output *o, const uint8_t *wire, uint32_t leds) {
    ddp_out *d = o->impl;
    (void)leds;
    for (uint32_t i = 0; i < d->count; i++) {
        uint8_t *p = d->packets + (size_t)i * (DDP_HEADER + d->chunk);
        memcpy(p + DDP_HEADER, wire + (size_t)i * d->chunk, d->iov[i].iov_len - DDP_HEADER);
        if (i == 0 || !d->seq_per_frame)
            d->seq = d->seq >= 15 ? 1 : (uint8_t)(d->seq + 1); /* 1..15; 0 means "unused" */
        p[1] = d->seq;
    }
    net_batch_result r = net_send_paced(d->fd, d->msgs, d->count, &d->pacer, o->rate);
    output_count_batch(o, &r, d->count);
    if (net_allow_broadcast_after(d->fd, &r, &d->broadcast))
        drv_log("output %s: the destination became a broadcast address; broadcast allowed",
                o->label);
}

static void ddp_close(output *o) {
    ddp_out *d = o->impl;
    if (!d) return;
    if (d->fd >= 0) close(d->fd);
    ddp_free_frame(d);
    free(d);
    o->impl = NULL;
}

static void ddp_destination(const output *o, net_addr *addr, int *socktype) {
    const ddp_out *d = o->impl;
    *addr = d->dest;
    *socktype = SOCK_DGRAM;
}

const output_ops out_ddp_ops = {
    .scheme = "ddp",
    .open = ddp_open,
    .prepare = ddp_prepare,
    .send = ddp_send,
    .goodbye = NULL,
    .destination = ddp_destination,
    .close = ddp_close,
};

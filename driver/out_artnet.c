/*
 * out_artnet.c - Art-Net 4 output: artnet://HOST[:6454]?universe=N.
 *
 * The frame is cut into universes like sACN (510 or 512 slots) and each goes
 * out as an ArtDmx packet to consecutive 15-bit Port-Addresses from
 * `universe` (0-based, as Art-Net numbers them: Net<<8 | SubNet<<4 |
 * Universe). Byte order is mixed on purpose: the OpCode and Port-Address are
 * little-endian, ProtVer and Length big-endian. Length is always even
 * (a short last universe is padded with one zero). Sequence runs 1..255 per
 * universe and wraps to 1 (0 would mean "disabled"). With sync=1 an ArtSync
 * follows each frame, to sync_host (default: the same host) so a receiver can
 * latch all universes at once. A broadcast host or sync_host gets
 * SO_BROADCAST; pace=T spreads a frame over T (net.h). Layout:
 * docs/protocols.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "output.h"

#define ARTNET_PORT             6454
#define ARTNET_HEADER           18
#define ARTNET_MAX              (ARTNET_HEADER + 512)
#define ARTNET_SYNC_SIZE        14
#define ARTNET_MAX_PORT_ADDRESS 32767

static const uint8_t artnet_id[8] = {'A', 'r', 't', '-', 'N', 'e', 't', 0};

typedef struct artnet_out {
    int fd;
    net_addr dest, sync_dest;
    uint32_t start, slots;
    uint8_t physical;
    bool sync;
    bool broadcast; /* SO_BROADCAST is on */
    net_pacer pacer;
    uint32_t universes;
    uint8_t *packets;
    uint8_t *seq;
    struct mmsghdr *msgs;
    struct iovec *iov;
    uint8_t sync_packet[ARTNET_SYNC_SIZE];
} artnet_out;

static int artnet_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    artnet_out *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    a->fd = -1;
    o->impl = a;
    long universe = 0, slots = 510, physical = 0;
    bool sync = false;
    if (url_get_long(url, "universe", 0, ARTNET_MAX_PORT_ADDRESS, &universe, err, err_len) ||
        url_get_long(url, "slots", 510, 512, &slots, err, err_len) ||
        url_get_long(url, "physical", 0, 255, &physical, err, err_len) ||
        url_get_bool(url, "sync", &sync, err, err_len) ||
        net_pacer_from_url(url, &a->pacer, err, err_len))
        return -1;
    if (slots != 510 && slots != 512) {
        snprintf(err, err_len, "`%s`: parameter `slots`: 510 (170 RGB LEDs) or 512, got %ld",
                 url->text, slots);
        return -1;
    }
    if (*url->path && strcmp(url->path, "/") != 0) {
        snprintf(err, err_len, "`%s`: artnet:// takes no path (universe=N selects the universe)",
                 url->text);
        return -1;
    }
    const char *sync_host = url_get(url, "sync_host");
    int port = url->port > 0 ? url->port : ARTNET_PORT;
    if (net_resolve(url->host, port, &a->dest, err, err_len) != 0) return -1;
    if (sync_host && net_resolve(sync_host, port, &a->sync_dest, err, err_len) != 0) return -1;
    if (!sync_host) a->sync_dest = a->dest;
    if (sync_host && a->sync_dest.sa.ss_family != a->dest.sa.ss_family) {
        snprintf(err, err_len, "`%s`: sync_host and host must both be IPv4 or both IPv6",
                 url->text);
        return -1;
    }
    a->start = (uint32_t)universe;
    a->slots = (uint32_t)slots;
    a->physical = (uint8_t)physical;
    a->sync = sync || sync_host;
    /* Legacy nodes take ArtDmx by broadcast and ArtSync is broadcast by convention:
     * without SO_BROADCAST every such packet would fail with EACCES. */
    a->broadcast = net_is_broadcast(&a->dest) || (sync_host && net_is_broadcast(&a->sync_dest));
    net_udp_options opts = {.broadcast = a->broadcast, .loop = true};
    a->fd = net_udp_socket(a->dest.sa.ss_family, &opts, err, err_len);
    return a->fd < 0 ? -1 : 0;
}

static void artnet_free_frame(artnet_out *a) {
    free(a->packets);
    free(a->seq);
    free(a->msgs);
    free(a->iov);
    a->packets = a->seq = NULL;
    a->msgs = NULL;
    a->iov = NULL;
}

static void artnet_set_msg(struct mmsghdr *m, struct iovec *iov, void *buf, size_t len,
                           net_addr *dest) {
    iov->iov_base = buf;
    iov->iov_len = len;
    m->msg_hdr.msg_name = &dest->sa;
    m->msg_hdr.msg_namelen = dest->len;
    m->msg_hdr.msg_iov = iov;
    m->msg_hdr.msg_iovlen = 1;
}

static int artnet_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    artnet_out *a = o->impl;
    uint64_t bytes = (uint64_t)leds * 3;
    uint64_t universes = (bytes + a->slots - 1) / a->slots;
    if (a->start + universes - 1 > ARTNET_MAX_PORT_ADDRESS) {
        snprintf(err, err_len,
                 "%u LEDs need %llu universes from %u, past Art-Net's last Port-Address 32767",
                 leds, (unsigned long long)universes, a->start);
        return -1;
    }
    artnet_free_frame(a);
    a->universes = (uint32_t)universes;
    a->packets = calloc(universes, ARTNET_MAX);
    a->seq = calloc(universes, 1);
    a->msgs = calloc(universes + 1, sizeof *a->msgs);
    a->iov = calloc(universes + 1, sizeof *a->iov);
    if (!a->packets || !a->seq || !a->msgs || !a->iov) {
        artnet_free_frame(a);
        snprintf(err, err_len, "out of memory for %llu universes", (unsigned long long)universes);
        return -1;
    }
    for (uint32_t u = 0; u < a->universes; u++) {
        uint64_t left = bytes - (uint64_t)u * a->slots;
        uint32_t count = left < a->slots ? (uint32_t)left : a->slots;
        uint32_t length = count + (count & 1); /* even, >= 2 */
        uint32_t port_address = a->start + u;
        uint8_t *p = a->packets + (size_t)u * ARTNET_MAX;
        memcpy(p, artnet_id, 8);
        p[8] = 0x00; /* OpDmx 0x5000, little-endian */
        p[9] = 0x50;
        p[10] = 0;  /* ProtVerHi */
        p[11] = 14; /* ProtVerLo */
        p[12] = 0;  /* sequence, per send */
        p[13] = a->physical;
        p[14] = (uint8_t)(port_address & 0xff);        /* SubUni */
        p[15] = (uint8_t)((port_address >> 8) & 0x7f); /* Net */
        p[16] = (uint8_t)(length >> 8);                /* Length, big-endian */
        p[17] = (uint8_t)length;
        artnet_set_msg(&a->msgs[u], &a->iov[u], p, ARTNET_HEADER + length, &a->dest);
        a->seq[u] = 1;
    }
    if (a->sync) {
        uint8_t *p = a->sync_packet;
        memset(p, 0, sizeof a->sync_packet);
        memcpy(p, artnet_id, 8);
        p[8] = 0x00; /* OpSync 0x5200 */
        p[9] = 0x52;
        p[11] = 14;
        artnet_set_msg(&a->msgs[a->universes], &a->iov[a->universes], p, ARTNET_SYNC_SIZE,
                       &a->sync_dest);
    }
    return 0;
}

static void artnet_send(output *o, const uint8_t *wire, uint32_t leds) {
    artnet_out *a = o->impl;
    uint64_t bytes = (uint64_t)leds * 3;
    for (uint32_t u = 0; u < a->universes; u++) {
        uint8_t *p = a->packets + (size_t)u * ARTNET_MAX;
        uint64_t off = (uint64_t)u * a->slots;
        size_t count = bytes - off < a->slots ? (size_t)(bytes - off) : a->slots;
        memcpy(p + ARTNET_HEADER, wire + off, count);
        p[12] = a->seq[u];
        a->seq[u] = a->seq[u] == 255 ? 1 : (uint8_t)(a->seq[u] + 1);
    }
    size_t n = a->universes + (a->sync ? 1 : 0);
    net_batch_result r = net_send_paced(a->fd, a->msgs, n, &a->pacer, o->rate);
    output_count_batch(o, &r, n);
    if (net_allow_broadcast_after(a->fd, &r, &a->broadcast))
        drv_log("output %s: the destination became a broadcast address; broadcast allowed",
                o->label);
}

static void artnet_close(output *o) {
    artnet_out *a = o->impl;
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    artnet_free_frame(a);
    free(a);
    o->impl = NULL;
}

static void artnet_destination(const output *o, net_addr *addr, int *socktype) {
    const artnet_out *a = o->impl;
    *addr = a->dest;
    *socktype = SOCK_DGRAM;
}

const output_ops out_artnet_ops = {
    .scheme = "artnet",
    .open = artnet_open,
    .prepare = artnet_prepare,
    .send = artnet_send,
    .goodbye = NULL,
    .destination = artnet_destination,
    .close = artnet_close,
};

/*
 * out_sacn.c - E1.31 (sACN) output: sacn://HOST[:5568]?universe=N,
 * sacn://239.255.X.Y and sacn://multicast?universe=N.
 *
 * A frame's bytes are cut into universes of `slots` bytes (510 = 170 RGB
 * LEDs, the WLED/xLights convention, or 512 where pixels may span
 * universes). Every universe's packet is pre-built once (root, framing and
 * DMP layers, lengths matching the real slot count); a frame only copies the
 * slots and bumps the universe's own sequence number, then the whole frame
 * leaves in a few sendmmsg calls. Optional universe synchronisation (sync=U)
 * stamps the sync address into each packet and follows the frame with a
 * synchronisation packet. Universe discovery (the list of universes this
 * source sends, every 10 s) is on for multicast and optional for unicast
 * (discovery=1). On shutdown every universe gets three
 * Stream_Terminated packets, so receivers drop the source at once. pace=T
 * spreads a frame's packets over T (net.h): 610 universes leave within 1-3 ms
 * otherwise, more than a receiver's default socket buffer holds (166).
 * Layout: docs/protocols.md (E1.31-2018).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "output.h"

#define SACN_PORT               5568
#define SACN_HEADER             126 /* bytes before slot 1 */
#define SACN_MAX_PACKET         (SACN_HEADER + 512)
#define SACN_SYNC_PACKET        49
#define SACN_MAX_UNIVERSE       63999
#define SACN_OPT_TERMINATED     0x40
#define SACN_DISCOVERY_UNIVERSE 64214
#define SACN_DISCOVERY_NS       (10ull * 1000000000ull)
#define SACN_DISCOVERY_PAGE     512

static const uint8_t sacn_acn_id[12] = {0x41, 0x53, 0x43, 0x2d, 0x45, 0x31,
                                        0x2e, 0x31, 0x37, 0x00, 0x00, 0x00};

typedef struct sacn_out {
    int fd;
    net_addr dest; /* unicast destination (multicast: port only) */
    bool multicast;
    int port;
    uint32_t start; /* first universe */
    uint32_t slots; /* bytes per universe: 510 or 512 */
    uint8_t priority;
    uint16_t sync; /* synchronisation universe, 0 = none */
    uint8_t cid[16];
    char name[64];
    /* sized by prepare */
    uint32_t universes;
    uint8_t *packets; /* universes x SACN_MAX_PACKET */
    uint8_t *seq;     /* per universe */
    uint8_t next_seq; /* the next frame's sequence number (every universe's): kept across
                         prepare and carried over a reload, so the stream never restarts */
    net_addr *dests;  /* per universe (multicast groups) */
    struct mmsghdr *msgs;
    struct iovec *iov;
    uint8_t sync_packet[SACN_SYNC_PACKET];
    uint8_t sync_seq;
    net_addr sync_dest;
    bool discovery;          /* send universe discovery every 10 s */
    net_addr discovery_dest; /* 239.255.250.214, or the unicast host */
    uint64_t next_discovery_ns;
    net_pacer pacer;
} sacn_out;

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t sacn_group(uint32_t universe) {
    return (239u << 24) | (255u << 16) | ((universe >> 8) << 8) | (universe & 0xff);
}

static int sacn_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    sacn_out *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->fd = -1;
    o->impl = s;
    long universe = -1, slots = 510, priority = 100, sync = 0, ttl = 0;
    bool loop = true, discovery = false;
    if (url_get_long(url, "universe", 1, SACN_MAX_UNIVERSE, &universe, err, err_len) ||
        url_get_long(url, "slots", 510, 512, &slots, err, err_len) ||
        url_get_long(url, "priority", 0, 200, &priority, err, err_len) ||
        url_get_long(url, "sync", 0, SACN_MAX_UNIVERSE, &sync, err, err_len) ||
        url_get_long(url, "ttl", 1, 255, &ttl, err, err_len) ||
        url_get_bool(url, "loop", &loop, err, err_len))
        return -1;
    if (net_pacer_from_url(url, &s->pacer, err, err_len)) return -1;
    bool discovery_given = url_has(url, "discovery");
    if (url_get_bool(url, "discovery", &discovery, err, err_len)) return -1;
    if (slots != 510 && slots != 512) {
        snprintf(err, err_len, "`%s`: parameter `slots`: 510 (170 RGB LEDs) or 512, got %ld",
                 url->text, slots);
        return -1;
    }
    if (*url->path && strcmp(url->path, "/") != 0) {
        snprintf(err, err_len, "`%s`: sacn:// takes no path (universe=N selects the universe)",
                 url->text);
        return -1;
    }
    const char *name = url_get(url, "name");
    const char *iface = url_get(url, "iface");
    snprintf(s->name, sizeof s->name, "%s", name ? name : env->source_name);
    if (name && strlen(name) > 63) {
        snprintf(err, err_len, "`%s`: parameter `name`: at most 63 bytes", url->text);
        return -1;
    }
    memcpy(s->cid, env->cid, 16);
    s->port = url->port > 0 ? url->port : SACN_PORT;
    s->slots = (uint32_t)slots;
    s->priority = (uint8_t)priority;
    s->sync = (uint16_t)sync;

    if (strcmp(url->host, "multicast") == 0) {
        s->multicast = true;
    } else {
        if (net_resolve(url->host, s->port, &s->dest, err, err_len) != 0) return -1;
        if (net_is_multicast(&s->dest)) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&s->dest.sa;
            uint32_t ip = s->dest.sa.ss_family == AF_INET ? ntohl(sin->sin_addr.s_addr) : 0;
            if ((ip >> 16) != ((239u << 8) | 255u)) {
                snprintf(err, err_len,
                         "`%s`: E1.31 multicast groups are 239.255.X.Y (universe X*256+Y); "
                         "use sacn://multicast?universe=N",
                         url->text);
                return -1;
            }
            long implied = (long)(ip & 0xffff);
            if (implied < 1 || implied > SACN_MAX_UNIVERSE) {
                snprintf(err, err_len, "`%s`: group %s names universe %ld, outside 1..63999",
                         url->text, url->host, implied);
                return -1;
            }
            if (universe > 0 && universe != implied) {
                snprintf(err, err_len, "`%s`: group %s is universe %ld but universe=%ld", url->text,
                         url->host, implied, universe);
                return -1;
            }
            universe = implied;
            s->multicast = true;
        }
    }
    s->start = universe > 0 ? (uint32_t)universe : 1;
    net_udp_options opts = {.broadcast = false, .ttl = (int)ttl, .loop = loop, .iface = iface};
    int family = s->multicast ? AF_INET : s->dest.sa.ss_family;
    s->fd = net_udp_socket(family, s->multicast ? &opts : NULL, err, err_len);
    if (s->fd < 0) return -1;
    if (!s->multicast && (iface || ttl)) {
        snprintf(err, err_len, "`%s`: iface and ttl apply to multicast only", url->text);
        return -1;
    }
    if (s->sync) {
        if (s->multicast)
            net_addr_ipv4(&s->sync_dest, sacn_group(s->sync), s->port);
        else
            s->sync_dest = s->dest;
    }
    /* Universe discovery: on by default for multicast (where listeners browse), optional
     * for unicast; it goes to the discovery universe's group, or to the unicast host. */
    s->discovery = discovery_given ? discovery : s->multicast;
    if (s->multicast)
        net_addr_ipv4(&s->discovery_dest, sacn_group(SACN_DISCOVERY_UNIVERSE), s->port);
    else
        s->discovery_dest = s->dest;
    return 0;
}

static void sacn_free_frame(sacn_out *s) {
    free(s->packets);
    free(s->seq);
    free(s->dests);
    free(s->msgs);
    free(s->iov);
    s->packets = NULL;
    s->seq = NULL;
    s->dests = NULL;
    s->msgs = NULL;
    s->iov = NULL;
}

/* Writes the constant parts of a data packet carrying `count` slots for `universe`. */
static void sacn_build_header(const sacn_out *s, uint8_t *p, uint32_t universe, uint32_t count) {
    uint32_t total = SACN_HEADER + count;
    memset(p, 0, SACN_HEADER);
    put16(p + 0, 0x0010);
    put16(p + 2, 0x0000);
    memcpy(p + 4, sacn_acn_id, 12);
    put16(p + 16, 0x7000 | (total - 16));
    put32(p + 18, 0x00000004);
    memcpy(p + 22, s->cid, 16);
    put16(p + 38, 0x7000 | (total - 38));
    put32(p + 40, 0x00000002);
    memcpy(p + 44, s->name, strnlen(s->name, 63)); /* NUL-terminated, zero-padded */
    p[108] = s->priority;
    put16(p + 109, s->sync);
    p[111] = 0; /* sequence, per send */
    p[112] = 0; /* options */
    put16(p + 113, universe);
    put16(p + 115, 0x7000 | (total - 115));
    p[117] = 0x02;
    p[118] = 0xa1;
    put16(p + 119, 0x0000);
    put16(p + 121, 0x0001);
    put16(p + 123, count + 1);
    p[125] = 0x00; /* START code */
}

static void sacn_build_sync(sacn_out *s) {
    uint8_t *p = s->sync_packet;
    memset(p, 0, SACN_SYNC_PACKET);
    put16(p + 0, 0x0010);
    memcpy(p + 4, sacn_acn_id, 12);
    put16(p + 16, 0x7000 | (SACN_SYNC_PACKET - 16));
    put32(p + 18, 0x00000008);
    memcpy(p + 22, s->cid, 16);
    put16(p + 38, 0x7000 | (SACN_SYNC_PACKET - 38));
    put32(p + 40, 0x00000001);
    put16(p + 45, s->sync);
}

static int sacn_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    sacn_out *s = o->impl;
    uint64_t bytes = (uint64_t)leds * 3;
    uint64_t universes = (bytes + s->slots - 1) / s->slots;
    if (s->start + universes - 1 > SACN_MAX_UNIVERSE) {
        snprintf(err, err_len,
                 "%u LEDs need %llu universes from %u, past E1.31's last universe 63999", leds,
                 (unsigned long long)universes, s->start);
        return -1;
    }
    sacn_free_frame(s);
    s->universes = (uint32_t)universes;
    s->packets = calloc(universes, SACN_MAX_PACKET);
    s->seq = calloc(universes, 1);
    s->dests = calloc(universes, sizeof *s->dests);
    s->msgs = calloc(universes + 1, sizeof *s->msgs);
    s->iov = calloc(universes + 1, sizeof *s->iov);
    if (!s->packets || !s->seq || !s->dests || !s->msgs || !s->iov) {
        sacn_free_frame(s);
        snprintf(err, err_len, "out of memory for %llu universes", (unsigned long long)universes);
        return -1;
    }
    memset(s->seq, s->next_seq, universes);
    for (uint32_t u = 0; u < s->universes; u++) {
        uint64_t left = bytes - (uint64_t)u * s->slots;
        uint32_t count = left < s->slots ? (uint32_t)left : s->slots;
        uint8_t *p = s->packets + (size_t)u * SACN_MAX_PACKET;
        sacn_build_header(s, p, s->start + u, count);
        if (s->multicast)
            net_addr_ipv4(&s->dests[u], sacn_group(s->start + u), s->port);
        else
            s->dests[u] = s->dest;
        s->iov[u].iov_base = p;
        s->iov[u].iov_len = SACN_HEADER + count;
        s->msgs[u].msg_hdr.msg_name = &s->dests[u].sa;
        s->msgs[u].msg_hdr.msg_namelen = s->dests[u].len;
        s->msgs[u].msg_hdr.msg_iov = &s->iov[u];
        s->msgs[u].msg_hdr.msg_iovlen = 1;
    }
    if (s->sync) {
        sacn_build_sync(s);
        uint32_t u = s->universes;
        s->iov[u].iov_base = s->sync_packet;
        s->iov[u].iov_len = SACN_SYNC_PACKET;
        s->msgs[u].msg_hdr.msg_name = &s->sync_dest.sa;
        s->msgs[u].msg_hdr.msg_namelen = s->sync_dest.len;
        s->msgs[u].msg_hdr.msg_iov = &s->iov[u];
        s->msgs[u].msg_hdr.msg_iovlen = 1;
    }
    return 0;
}

/* Fills every universe from the frame and sends them (plus the sync packet);
 * paced unless it is a goodbye, which must end within output_stop's wait. */
static void sacn_send_frame(output *o, const uint8_t *wire, uint32_t leds, uint8_t options,
                            bool with_sync, bool paced) {
    sacn_out *s = o->impl;
    (void)leds;
    for (uint32_t u = 0; u < s->universes; u++) {
        uint8_t *p = s->packets + (size_t)u * SACN_MAX_PACKET;
        size_t count = s->iov[u].iov_len - SACN_HEADER;
        memcpy(p + SACN_HEADER, wire + (size_t)u * s->slots, count);
        p[111] = s->seq[u]++;
        p[112] = options;
    }
    if (s->universes) s->next_seq = s->seq[0];
    size_t n = s->universes;
    if (with_sync && s->sync) {
        s->sync_packet[44] = s->sync_seq++;
        n++;
    }
    net_batch_result r = paced ? net_send_paced(s->fd, s->msgs, n, &s->pacer, o->rate)
                               : net_send_batch(s->fd, s->msgs, n);
    output_count_batch(o, &r, n);
}

/* E1.31 8: the universes this source sends, sorted, in pages of up to 512. */
static void sacn_send_discovery(output *o) {
    sacn_out *s = o->impl;
    uint8_t p[120 + 2 * SACN_DISCOVERY_PAGE];
    uint32_t pages = (s->universes + SACN_DISCOVERY_PAGE - 1) / SACN_DISCOVERY_PAGE;
    for (uint32_t page = 0; page < pages; page++) {
        uint32_t first = page * SACN_DISCOVERY_PAGE;
        uint32_t n =
            s->universes - first < SACN_DISCOVERY_PAGE ? s->universes - first : SACN_DISCOVERY_PAGE;
        uint32_t total = 120 + 2 * n;
        memset(p, 0, 120);
        put16(p + 0, 0x0010);
        memcpy(p + 4, sacn_acn_id, 12);
        put16(p + 16, 0x7000 | (total - 16));
        put32(p + 18, 0x00000008); /* VECTOR_ROOT_E131_EXTENDED */
        memcpy(p + 22, s->cid, 16);
        put16(p + 38, 0x7000 | (total - 38));
        put32(p + 40, 0x00000002); /* VECTOR_E131_EXTENDED_DISCOVERY */
        memcpy(p + 44, s->name, strnlen(s->name, 63));
        put16(p + 112, 0x7000 | (total - 112));
        put32(p + 114, 0x00000001); /* VECTOR_UNIVERSE_DISCOVERY_UNIVERSE_LIST */
        p[118] = (uint8_t)page;
        p[119] = (uint8_t)(pages - 1);
        for (uint32_t i = 0; i < n; i++) put16(p + 120 + 2 * i, s->start + first + i);
        ssize_t r = sendto(s->fd, p, total, MSG_DONTWAIT | MSG_NOSIGNAL,
                           (struct sockaddr *)&s->discovery_dest.sa, s->discovery_dest.len);
        if (r == (ssize_t)total) {
            atomic_fetch_add_explicit(&o->stats.packets, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&o->stats.bytes, total, memory_order_relaxed);
        } else {
            output_error(o, "universe discovery not sent: %s", r < 0 ? strerror(errno) : "short");
        }
    }
}

static void sacn_send(output *o, const uint8_t *wire, uint32_t leds) {
    sacn_out *s = o->impl;
    sacn_send_frame(o, wire, leds, 0, true, true);
    uint64_t now = drv_now_ns();
    if (s->discovery && now >= s->next_discovery_ns) {
        s->next_discovery_ns = now + SACN_DISCOVERY_NS;
        sacn_send_discovery(o);
    }
}

static void sacn_goodbye(output *o, const uint8_t *wire, uint32_t leds) {
    /* E1.31 6.2.6: three packets with Stream_Terminated, then silence. */
    for (int i = 0; i < 3; i++) sacn_send_frame(o, wire, leds, SACN_OPT_TERMINATED, false, false);
}

/* E1.31 6.7.2: a receiver discards a packet whose sequence number is up to 19
 * behind the last one, so a reloaded output must not start again from 0. */
static void sacn_carry(output *o, const output *from) {
    sacn_out *s = o->impl;
    const sacn_out *f = from->impl;
    if (!s || !f) return;
    s->next_seq = f->next_seq;
    s->sync_seq = f->sync_seq;
    s->pacer = f->pacer; /* same URL, same pace; the measured frame period goes on */
}

static void sacn_close(output *o) {
    sacn_out *s = o->impl;
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    sacn_free_frame(s);
    free(s);
    o->impl = NULL;
}

static void sacn_destination(const output *o, net_addr *addr, int *socktype) {
    const sacn_out *s = o->impl;
    if (s->multicast)
        net_addr_ipv4(addr, sacn_group(s->start), s->port);
    else
        *addr = s->dest;
    *socktype = SOCK_DGRAM;
}

const output_ops out_sacn_ops = {
    .scheme = "sacn",
    .open = sacn_open,
    .prepare = sacn_prepare,
    .send = sacn_send,
    .goodbye = sacn_goodbye,
    .carry = sacn_carry,
    .destination = sacn_destination,
    .close = sacn_close,
};

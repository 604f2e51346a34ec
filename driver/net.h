/*
 * net.h - socket helpers shared by the network outputs: address resolution,
 * non-blocking UDP sockets (unicast, broadcast, multicast) and batched
 * sending with sendmmsg, which is what lets one core push the Skyscreen's
 * 610 sACN universes 60 times a second, and optional pacing, which spreads
 * those packets over part of the frame period for receivers whose socket
 * buffer cannot take a whole frame at once.
 */
#ifndef DRV_NET_H
#define DRV_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "url.h"

typedef struct net_addr {
    struct sockaddr_storage sa;
    socklen_t len;
} net_addr;

/* Resolves host:port (numeric or a name, IPv4 or IPv6) once, at open time. */
int net_resolve(const char *host, int port, net_addr *addr, char *err, size_t err_len);
/* True when a net_resolve of this thread failed on a name that did not resolve since the last
 * call (which clears it): output.c then retries the output instead of failing the config. */
bool net_take_unresolved(void);
/* An IPv4 address from its 4 bytes (multicast groups). */
void net_addr_ipv4(net_addr *addr, uint32_t ip_host_order, int port);
bool net_is_multicast(const net_addr *addr);
/* True when the kernel routes `addr` as a broadcast: 255.255.255.255, or any
 * address a connect() without SO_BROADCAST is refused for (a LAN's x.y.z.255,
 * lo's 127.255.255.255). Decided with the routes of the moment. */
bool net_is_broadcast(const net_addr *addr);
/* Sets SO_BROADCAST on fd; 0, or -1 with a message. */
int net_allow_broadcast(int fd, char *err, size_t err_len);
void net_addr_str(const net_addr *addr, char *out, size_t len);

typedef struct net_udp_options {
    bool broadcast;    /* SO_BROADCAST */
    int ttl;           /* multicast TTL; 0 = system default */
    bool loop;         /* IP_MULTICAST_LOOP (receivers on this host see it) */
    const char *iface; /* multicast interface name, NULL = routing table */
} net_udp_options;

/* A non-blocking, close-on-exec UDP socket for `family` with a large send buffer. */
int net_udp_socket(int family, const net_udp_options *options, char *err, size_t err_len);

/* Results of one batch. */
typedef struct net_batch_result {
    size_t sent;
    size_t dropped; /* not sent: socket buffer full, or an error */
    size_t bytes;
    int first_errno; /* 0, or the first error seen */
} net_batch_result;

/*
 * Sends msgs[0..count) with as few sendmmsg calls as possible. Never blocks:
 * when the socket buffer is full the rest of the batch is dropped (and
 * counted); any other error skips that packet and goes on.
 */
net_batch_result net_send_batch(int fd, struct mmsghdr *msgs, size_t count);

/*
 * Pacing (the `pace` URL parameter of sacn://, artnet://, ddp://): a frame's
 * packets leave in bursts, one every NET_PACE_STEP_NS, spread over `pace`
 * (5ms, 800us) or over a share of the frame period (50%). The period is
 * 1/rate when the output has its own rate, else the shortest of the last
 * NET_PACE_SAMPLES intervals between frames (a stall or a skipped frame only
 * lengthens an interval, so the minimum is the real period). Never more than
 * NET_PACE_MAX_NS.
 */
#define NET_PACE_STEP_NS  250000ull /* 0.25 ms: well above Linux's 50 us timer slack */
#define NET_PACE_SAMPLES  8
#define NET_PACE_MAX_NS   250000000ull /* 0.25 s: a stop waits 2 s for a frame and the goodbye */
#define NET_PACE_MAX_PART 90           /* %: the output must finish before the next frame */

typedef struct net_pacer {
    uint64_t span_ns; /* pace=5ms: a fixed spread; 0 = none */
    unsigned percent; /* pace=50%: that share of the frame period; 0 = none */
    uint64_t last_frame_ns;
    uint64_t intervals[NET_PACE_SAMPLES];
    size_t samples, next;
} net_pacer;

/* Reads the URL's `pace` parameter (absent or 0 = no pacing); -1 with a message. */
int net_pacer_from_url(drv_url *url, net_pacer *pacer, char *err, size_t err_len);
/* The spread for a frame that starts at now_ns (records the interval since the
 * last one); `rate` is the output's own rate, 0 when it follows the driver. */
uint64_t net_pacer_span(net_pacer *pacer, uint64_t now_ns, double rate);
/* net_send_batch in bursts spread over the pacer's span (at once when unpaced).
 * The first burst leaves at once; burst k no earlier than span*k/bursts after it. */
net_batch_result net_send_paced(int fd, struct mmsghdr *msgs, size_t count, net_pacer *pacer,
                                double rate);

/*
 * After a batch: EACCES means a destination became a broadcast route after
 * the socket opened (its interface came up later). Sets SO_BROADCAST once so
 * the next frame goes out; true when it did (*broadcast then becomes true).
 */
bool net_allow_broadcast_after(int fd, const net_batch_result *r, bool *broadcast);

#endif

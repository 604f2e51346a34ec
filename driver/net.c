/*
 * net.c - address resolution, UDP sockets and sendmmsg batching for the
 * network outputs. Nothing here blocks once a socket is open: sockets are
 * non-blocking and a full buffer drops the rest of a frame instead of waiting.
 * The only wait is pacing's, between the bursts of one frame, asked for by
 * the user and bounded by the frame period.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local bool net_unresolved;

bool net_take_unresolved(void) {
    bool was = net_unresolved;
    net_unresolved = false;
    return was;
}

int net_resolve(const char *host, int port, net_addr *addr, char *err, size_t err_len) {
    struct addrinfo hints, *res = NULL;
    char service[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    if (!host || !*host) {
        snprintf(err, err_len, "no host given");
        return -1;
    }
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, err_len, "cannot resolve host `%s`: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        net_unresolved = true;
        return -1;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(&addr->sa, res->ai_addr, res->ai_addrlen);
    addr->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void net_addr_ipv4(net_addr *addr, uint32_t ip_host_order, int port) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr->sa;
    memset(addr, 0, sizeof *addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sin->sin_addr.s_addr = htonl(ip_host_order);
    addr->len = sizeof *sin;
}

bool net_is_multicast(const net_addr *addr) {
    if (addr->sa.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->sa;
        return IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
    }
    if (addr->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->sa;
        return IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
    }
    return false;
}

bool net_is_broadcast(const net_addr *addr) {
    if (addr->sa.ss_family != AF_INET) return false; /* IPv6 has no broadcast */
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->sa;
    if (sin->sin_addr.s_addr == htonl(INADDR_BROADCAST)) return true;
    /* Ask the routing table rather than guess from the netmask: a UDP connect()
     * to a broadcast route without SO_BROADCAST fails with EACCES, as every
     * send to it would. Nothing is sent. */
    int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    bool refused =
        connect(probe, (const struct sockaddr *)&addr->sa, addr->len) != 0 && errno == EACCES;
    close(probe);
    return refused;
}

int net_allow_broadcast(int fd, char *err, size_t err_len) {
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) {
        snprintf(err, err_len, "SO_BROADCAST: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void net_addr_str(const net_addr *addr, char *out, size_t len) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (addr->sa.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        port = ntohs(sin->sin_port);
        snprintf(out, len, "%s:%d", host, port);
    } else if (addr->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        port = ntohs(sin6->sin6_port);
        snprintf(out, len, "[%s]:%d", host, port);
    } else {
        snprintf(out, len, "?");
    }
}

static int net_multicast_options(int fd, int family, const net_udp_options *o, char *err,
                                 size_t err_len) {
    unsigned char loop = o->loop ? 1 : 0;
    int loop6 = o->loop ? 1 : 0;
    if (family == AF_INET) {
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) goto fail;
        if (o->ttl > 0) {
            unsigned char ttl = (unsigned char)o->ttl;
            if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) goto fail;
        }
        if (o->iface) {
            struct ip_mreqn req;
            memset(&req, 0, sizeof req);
            req.imr_ifindex = (int)if_nametoindex(o->iface);
            if (req.imr_ifindex == 0) {
                snprintf(err, err_len, "no network interface `%s`", o->iface);
                return -1;
            }
            if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req) != 0) goto fail;
        }
    } else {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop6, sizeof loop6) != 0) goto fail;
        if (o->ttl > 0 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &o->ttl, sizeof o->ttl) != 0)
            goto fail;
        if (o->iface) {
            unsigned idx = if_nametoindex(o->iface);
            if (idx == 0) {
                snprintf(err, err_len, "no network interface `%s`", o->iface);
                return -1;
            }
            if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0) goto fail;
        }
    }
    return 0;
fail:
    snprintf(err, err_len, "multicast socket options: %s", strerror(errno));
    return -1;
}

int net_udp_socket(int family, const net_udp_options *options, char *err, size_t err_len) {
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    /* Room for a whole Skyscreen frame (610 x 638 bytes) in flight; best effort. */
    int sndbuf = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (options && options->broadcast && net_allow_broadcast(fd, err, err_len) != 0) {
        close(fd);
        return -1;
    }
    if (options && net_multicast_options(fd, family, options, err, err_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

net_batch_result net_send_batch(int fd, struct mmsghdr *msgs, size_t count) {
    net_batch_result r = {0, 0, 0, 0};
    size_t i = 0;
    while (i < count) {
        size_t chunk = count - i > 1024 ? 1024 : count - i; /* UIO_MAXIOV */
        int n = sendmmsg(fd, msgs + i, (unsigned)chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            for (int k = 0; k < n; k++) r.bytes += msgs[i + (size_t)k].msg_len;
            r.sent += (size_t)n;
            i += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        int e = n < 0 ? errno : EIO;
        if (!r.first_errno) r.first_errno = e;
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            r.dropped += count - i; /* full: drop the rest of this frame, never wait */
            break;
        }
        r.dropped++; /* this packet failed (e.g. no route): skip it */
        i++;
    }
    return r;
}

bool net_allow_broadcast_after(int fd, const net_batch_result *r, bool *broadcast) {
    char err[64];
    if (*broadcast || r->first_errno != EACCES || net_allow_broadcast(fd, err, sizeof err) != 0)
        return false;
    *broadcast = true;
    return true;
}

/* ------------------------------------------------------------ pacing */

static uint64_t net_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void net_sleep_until(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                          .tv_nsec = (long)(ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* "5ms", "800us", "0.004s", "50%", "0"; false when it is none of those. */
static bool net_pacer_parse(const char *text, net_pacer *p) {
    static const struct {
        const char *suffix;
        double ns;
    } units[] = {{"ms", 1e6}, {"us", 1e3}, {"s", 1e9}};
    char number[32];
    size_t len = strlen(text);
    double v = 0;
    memset(p, 0, sizeof *p);
    if (strcmp(text, "0") == 0) return true;
    if (len > 1 && len < sizeof number && text[len - 1] == '%') {
        memcpy(number, text, len - 1);
        number[len - 1] = '\0';
        long percent = 0;
        if (!url_parse_long(number, &percent) || percent < 1 || percent > NET_PACE_MAX_PART)
            return false;
        p->percent = (unsigned)percent;
        return true;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t slen = strlen(units[i].suffix);
        if (len <= slen || len - slen >= sizeof number ||
            strcmp(text + len - slen, units[i].suffix) != 0)
            continue;
        memcpy(number, text, len - slen);
        number[len - slen] = '\0';
        if (!url_parse_double(number, &v) || v < 0 || v * units[i].ns > (double)NET_PACE_MAX_NS)
            return false;
        p->span_ns = (uint64_t)(v * units[i].ns);
        return true;
    }
    return false;
}

int net_pacer_from_url(drv_url *url, net_pacer *pacer, char *err, size_t err_len) {
    const char *text = url_get(url, "pace");
    memset(pacer, 0, sizeof *pacer);
    if (!text || net_pacer_parse(text, pacer)) return 0;
    snprintf(err, err_len,
             "`%s`: parameter `pace`: expected a time up to %llu ms (`5ms`, `800us`) or a share "
             "of the frame period, 1..%d%% (`50%%`), got `%s`",
             url->text, NET_PACE_MAX_NS / 1000000ull, NET_PACE_MAX_PART, text);
    return -1;
}

uint64_t net_pacer_span(net_pacer *p, uint64_t now_ns, double rate) {
    if (p->last_frame_ns && now_ns > p->last_frame_ns) {
        p->intervals[p->next] = now_ns - p->last_frame_ns;
        p->next = (p->next + 1) % NET_PACE_SAMPLES;
        if (p->samples < NET_PACE_SAMPLES) p->samples++;
    }
    p->last_frame_ns = now_ns;
    if (p->span_ns || !p->percent) return p->span_ns;
    uint64_t period = 0;
    if (rate > 0) {
        period = (uint64_t)(1e9 / rate);
    } else {
        for (size_t i = 0; i < p->samples; i++)
            if (!period || p->intervals[i] < period) period = p->intervals[i];
    }
    uint64_t span = period / 100 * p->percent; /* no period known yet (first frame): at once */
    return span < NET_PACE_MAX_NS ? span : NET_PACE_MAX_NS;
}

net_batch_result net_send_paced(int fd, struct mmsghdr *msgs, size_t count, net_pacer *pacer,
                                double rate) {
    uint64_t span = net_pacer_span(pacer, net_now_ns(), rate);
    size_t bursts = (size_t)(span / NET_PACE_STEP_NS);
    if (bursts > count) bursts = count;
    if (bursts < 2) return net_send_batch(fd, msgs, count);
    net_batch_result total = {0, 0, 0, 0};
    uint64_t first_out = 0;
    for (size_t b = 0; b < bursts; b++) {
        size_t from = count * b / bursts, to = count * (b + 1) / bursts;
        if (b > 0) net_sleep_until(first_out + span * b / bursts);
        net_batch_result r = net_send_batch(fd, msgs + from, to - from);
        if (b == 0) first_out = net_now_ns();
        total.sent += r.sent;
        total.dropped += r.dropped;
        total.bytes += r.bytes;
        if (!total.first_errno) total.first_errno = r.first_errno;
    }
    return total;
}

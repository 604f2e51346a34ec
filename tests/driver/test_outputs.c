/*
 * test_outputs.c - every network output against a receiver on loopback.
 *
 * Each test builds the output from a URL, hands it frames of known random
 * bytes (gamma=1 makes the pipeline the identity), receives what it sent on
 * 127.0.0.1 and decodes it with the independent decoders in decoders.c,
 * checking every byte: headers, lengths, sequence numbers, the universe or
 * packet split, offsets, the push flag, sync packets and goodbyes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "decoders.h"
#include "net.h"
#include "output.h"
#include "testutil.h"

#define RECV_MS TU_PATIENCE_MS /* a safety net: a packet that is due comes, however slowly */

static uint8_t pkt[70000];

/* Tests this host cannot run (no network namespace, no IPv6) count here and make the suite exit
 * 77, which ctest shows as "Not Run" (SKIP_RETURN_CODE): never as a pass. */
static int outputs_not_run;
#define NOT_RUN(why)                         \
    do {                                     \
        outputs_not_run++;                   \
        print_message("not run: %s\n", why); \
        skip();                              \
    } while (0)

/* The CID and source name a default config gives (what the outputs were opened with). */
static void default_identity(uint8_t cid[16], char name[64]) {
    drv_config cfg;
    config_init(&cfg);
    memcpy(cid, cfg.cid, 16);
    memcpy(name, cfg.source_name, 64);
    config_free(&cfg);
}

static size_t recv_packet(int fd) {
    ssize_t n = tu_udp_recv(fd, pkt, sizeof pkt, RECV_MS);
    if (n <= 0) fail_msg("no packet within %d ms", RECV_MS);
    return (size_t)n;
}

/* ------------------------------------------------------------ sACN */

/* Receives one frame's universes (and a sync packet when sync != 0) and checks them. */
static void sacn_expect_frame(int rx, const uint8_t *frame, size_t bytes, uint16_t start,
                              uint16_t slots, uint8_t options, uint8_t priority, uint16_t sync,
                              const char *name, uint8_t *seq, bool *seq_known, uint8_t *sync_seq,
                              bool *sync_seq_known) {
    uint8_t cid[16];
    char def_name[64];
    default_identity(cid, def_name);
    size_t universes = (bytes + slots - 1) / slots;
    bool seen[64] = {false};
    for (size_t k = 0; k < universes; k++) {
        size_t len = recv_packet(rx);
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("E1.31: %s", err);
        assert_false(d.is_sync);
        assert_true(d.universe >= start && d.universe < start + universes);
        size_t u = d.universe - start;
        assert_false(seen[u]);
        seen[u] = true;
        size_t expect_slots = bytes - u * slots < slots ? bytes - u * slots : slots;
        assert_int_equal(d.slot_count, expect_slots);
        assert_int_equal(len, 126 + expect_slots);
        assert_int_equal(d.start_code, 0);
        assert_int_equal(d.priority, priority);
        assert_int_equal(d.options, options);
        assert_int_equal(d.sync_address, sync);
        assert_memory_equal(d.cid, cid, 16);
        assert_string_equal(d.source_name, name ? name : def_name);
        assert_memory_equal(d.slots, frame + u * slots, expect_slots);
        if (seq_known[u]) assert_int_equal(d.sequence, (uint8_t)(seq[u] + 1));
        seq[u] = d.sequence;
        seq_known[u] = true;
    }
    if (sync) {
        size_t len = recv_packet(rx);
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("E1.31 sync: %s", err);
        assert_true(d.is_sync);
        assert_int_equal(d.sync_address, sync);
        assert_memory_equal(d.cid, cid, 16);
        if (*sync_seq_known) assert_int_equal(d.sequence, (uint8_t)(*sync_seq + 1));
        *sync_seq = d.sequence;
        *sync_seq_known = true;
    }
}

static void test_sacn_unicast_and_terminate(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    snprintf(url, sizeof url,
             "sacn://127.0.0.1:%u?universe=7&gamma=1&priority=150&name=Test%%20Source", port);
    enum { LEDS = 600 };
    output *o = tu_output(url, LEDS);
    uint8_t frame[LEDS * 3];
    uint8_t seq[64];
    bool known[64] = {false};
    for (uint32_t k = 0; k < 3; k++) {
        tu_fill_random(frame, sizeof frame, k + 1);
        tu_output_send(o, frame);
        sacn_expect_frame(rx, frame, sizeof frame, 7, 510, 0, 150, 0, "Test Source", seq, known,
                          NULL, NULL);
    }
    /* Goodbye: a black frame, then three Stream_Terminated packets per universe. */
    output_stop(o, true, 2000);
    memset(frame, 0, sizeof frame);
    sacn_expect_frame(rx, frame, sizeof frame, 7, 510, 0, 150, 0, "Test Source", seq, known, NULL,
                      NULL);
    for (int i = 0; i < 3; i++)
        sacn_expect_frame(rx, frame, sizeof frame, 7, 510, 0x40, 150, 0, "Test Source", seq, known,
                          NULL, NULL);
    assert_true(tu_udp_recv(rx, pkt, sizeof pkt, 200) < 0); /* then silence */
    assert_int_equal(atomic_load(&o->stats.packets), (3 + 1 + 3) * 4);
    assert_int_equal(atomic_load(&o->stats.errors), 0);
    output_free(o);
    close(rx);
}

static void test_sacn_512_slots_with_sync(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=63997&slots=512&sync=999&gamma=1",
             port);
    enum { LEDS = 600 }; /* 1800 bytes: 512 + 512 + 512 + 264 */
    /* Four universes from 63997 would pass 63999: the output must refuse that. */
    drv_config cfg;
    char err[512];
    output *bad = NULL;
    config_init(&cfg);
    assert_int_equal(config_add_url(&cfg, url, err, sizeof err), 0);
    output_env env = {cfg.source_name, cfg.cid};
    assert_int_equal(output_create(&cfg.outputs[0], &env, &bad, err, sizeof err), 0);
    uint32_t strip = LEDS;
    assert_int_not_equal(output_configure(bad, 1, &strip, LEDS, 60, err, sizeof err), 0);
    assert_non_null(strstr(err, "63999"));
    output_free(bad);
    config_free(&cfg);

    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=100&slots=512&sync=999&gamma=1", port);
    output *o = tu_output(url, LEDS);
    uint8_t frame[LEDS * 3], seq[64], sync_seq = 0;
    bool known[64] = {false}, sync_known = false;
    for (uint32_t k = 0; k < 3; k++) {
        tu_fill_random(frame, sizeof frame, 100 + k);
        tu_output_send(o, frame);
        sacn_expect_frame(rx, frame, sizeof frame, 100, 512, 0, 100, 999, NULL, seq, known,
                          &sync_seq, &sync_known);
    }
    output_free(o);
    close(rx);
}

static void test_sacn_sequence_wraps(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=1&gamma=1", port);
    output *o = tu_output(url, 4);
    uint8_t frame[12], seq[64];
    bool known[64] = {false};
    for (uint32_t k = 0; k < 300; k++) { /* past 255 -> 0 */
        tu_fill_random(frame, sizeof frame, k);
        tu_output_send(o, frame);
        sacn_expect_frame(rx, frame, sizeof frame, 1, 510, 0, 100, 0, NULL, seq, known, NULL, NULL);
    }
    output_free(o);
    close(rx);
}

static int multicast_child(void) {
    /* A private network namespace: only its own lo exists, so nothing leaves this test. */
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return 77;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return 10;
    ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return 11;
    close(s);
    /* Receiver: port 5568, joined to the groups of universes 513 and 514 on lo. */
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(rx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5568);
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(rx, (struct sockaddr *)&sin, sizeof sin) != 0) return 12;
    for (uint32_t u = 513; u <= 514; u++) {
        struct ip_mreqn req;
        memset(&req, 0, sizeof req);
        req.imr_multiaddr.s_addr = htonl((239u << 24) | (255u << 16) | u);
        req.imr_ifindex = (int)if_nametoindex("lo");
        if (setsockopt(rx, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0) return 13;
    }
    /* 200 LEDs = 600 bytes: universes 513 (510 slots) and 514 (90). sacn://239.255.2.1 names 513.
     */
    output *o = tu_output("sacn://239.255.2.1?iface=lo&gamma=1", 200);
    uint8_t frame[600];
    tu_fill_random(frame, sizeof frame, 42);
    tu_output_send(o, frame);
    int seen = 0;
    for (int k = 0; k < 2; k++) {
        ssize_t n = tu_udp_recv(rx, pkt, sizeof pkt, RECV_MS);
        if (n <= 0) return 14;
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) {
            fprintf(stderr, "multicast: %s\n", err);
            return 15;
        }
        size_t u = d.universe - 513u;
        if (u > 1) return 16;
        size_t count = u == 0 ? 510 : 90;
        if (d.slot_count != count || memcmp(d.slots, frame + u * 510, count) != 0) return 17;
        seen |= 1 << u;
    }
    output_free(o);
    return seen == 3 ? 0 : 18;
}

static void test_sacn_multicast_on_private_loopback(void **state) {
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(multicast_child());
    int status = tu_wait(pid, TU_PATIENCE_MS);
    assert_true(status >= 0 && WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) NOT_RUN("no permission for a network namespace");
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_sacn_universe_discovery(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    /* 88,000 LEDs from universe 100 = 518 universes: discovery needs two pages (512 + 6). */
    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=100&discovery=1&name=Disco", port);
    enum { LEDS = 88000 };
    output *o = tu_output(url, LEDS);
    uint8_t *frame = calloc(LEDS, 3);
    assert_non_null(frame);
    tu_output_send(o, frame);
    int data = 0, pages_seen = 0;
    uint32_t next_universe = 100;
    uint8_t cid[16];
    char name[64];
    default_identity(cid, name);
    while (data < 518 || pages_seen < 2) {
        size_t len = recv_packet(rx);
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("E1.31: %s", err);
        if (!d.is_discovery) {
            assert_false(d.is_sync);
            data++;
            continue;
        }
        assert_int_equal(d.page, pages_seen);
        assert_int_equal(d.last_page, 1);
        assert_int_equal(d.universe_count, pages_seen == 0 ? 512 : 6);
        assert_string_equal(d.source_name, "Disco");
        assert_memory_equal(d.cid, cid, 16);
        for (size_t i = 0; i < d.universe_count; i++) {
            uint16_t u = (uint16_t)((d.universe_list[2 * i] << 8) | d.universe_list[2 * i + 1]);
            assert_int_equal(u, next_universe++);
        }
        pages_seen++;
    }
    assert_int_equal(next_universe, 100 + 518);
    /* Only every 10 s: the next frame brings data packets and no discovery. */
    tu_output_send(o, frame);
    for (int k = 0; k < 518; k++) {
        size_t len = recv_packet(rx);
        dec_e131 d;
        char err[256];
        assert_int_equal(dec_e131_parse(pkt, len, &d, err, sizeof err), 0);
        assert_false(d.is_discovery);
    }
    output_free(o);
    free(frame);
    close(rx);
}

static void test_sacn_bad_urls(void **state) {
    (void)state;
    static const struct {
        const char *url, *needle;
    } cases[] = {
        {"sacn://127.0.0.1?universe=0", "universe"},
        {"sacn://127.0.0.1?universe=64000", "universe"},
        {"sacn://127.0.0.1?slots=511", "slots"},
        {"sacn://127.0.0.1?priority=201", "priority"},
        {"sacn://239.255.0.1?universe=2", "universe 1"},
        {"sacn://239.1.2.3", "239.255"},
        {"sacn://127.0.0.1?bogus=1", "unknown parameter `bogus`"},
        {"sacn://127.0.0.1/3", "no path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        drv_config cfg;
        char err[512] = "";
        output *o = NULL;
        config_init(&cfg);
        assert_int_equal(config_add_url(&cfg, cases[i].url, err, sizeof err), 0);
        output_env env = {cfg.source_name, cfg.cid};
        assert_int_not_equal(output_create(&cfg.outputs[0], &env, &o, err, sizeof err), 0);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s: message `%s` lacks `%s`", cases[i].url, err, cases[i].needle);
        assert_null(o);
        config_free(&cfg);
    }
    /* A host that does not resolve is no config error: the output's thread retries it. */
    drv_config cfg;
    char err[512] = "";
    output *o = NULL;
    config_init(&cfg);
    assert_int_equal(config_add_url(&cfg, "sacn://no-such-host.invalid", err, sizeof err), 0);
    output_env env = {cfg.source_name, cfg.cid};
    assert_int_equal(output_create(&cfg.outputs[0], &env, &o, err, sizeof err), 0);
    assert_false(o->opened);
    assert_non_null(strstr(o->open_error, "cannot resolve host `no-such-host.invalid`"));
    output_free(o);
    config_free(&cfg);
}

/* ------------------------------------------------------------ Art-Net */

static void artnet_expect_frame(int rx, const uint8_t *frame, size_t bytes, uint16_t start,
                                bool sync, uint8_t physical, uint8_t *seq, bool *known) {
    size_t universes = (bytes + 509) / 510;
    for (size_t k = 0; k < universes; k++) {
        size_t len = recv_packet(rx);
        dec_artnet d;
        char err[256];
        if (dec_artnet_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("Art-Net: %s", err);
        assert_int_equal(d.opcode, DEC_ARTNET_OP_DMX);
        assert_true(d.port_address >= start && d.port_address < start + universes);
        size_t u = d.port_address - start;
        size_t count = bytes - u * 510 < 510 ? bytes - u * 510 : 510;
        assert_int_equal(d.length, count + (count & 1));
        assert_memory_equal(d.data, frame + u * 510, count);
        if (count & 1) assert_int_equal(d.data[count], 0); /* the pad byte */
        assert_int_equal(d.physical, physical);
        assert_int_not_equal(d.sequence, 0);
        if (known[u]) assert_int_equal(d.sequence, seq[u] == 255 ? 1 : seq[u] + 1);
        seq[u] = d.sequence;
        known[u] = true;
    }
    if (sync) {
        size_t len = recv_packet(rx);
        dec_artnet d;
        char err[256];
        if (dec_artnet_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("ArtSync: %s", err);
        assert_int_equal(d.opcode, DEC_ARTNET_OP_SYNC);
    }
}

static void test_artnet_split_pad_sync(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    /* 171 LEDs = 513 bytes: 510 + 3 (padded to 4); Port-Address 300 = Net 1, SubUni 44. */
    snprintf(url, sizeof url, "artnet://127.0.0.1:%u?universe=300&sync=1&physical=2&gamma=1", port);
    output *o = tu_output(url, 171);
    uint8_t frame[513], seq[8];
    bool known[8] = {false};
    for (uint32_t k = 0; k < 3; k++) {
        tu_fill_random(frame, sizeof frame, 7 + k);
        tu_output_send(o, frame);
        artnet_expect_frame(rx, frame, sizeof frame, 300, true, 2, seq, known);
    }
    /* The raw bytes the decoder turned into Port-Address 300: SubUni 44 (LE low), Net 1. */
    tu_output_send(o, frame);
    size_t len = recv_packet(rx);
    assert_true(len >= 18);
    assert_int_equal(pkt[8], 0x00);
    assert_int_equal(pkt[9], 0x50);
    assert_int_equal(pkt[14], 44);
    assert_int_equal(pkt[15], 1);
    output_free(o);
    close(rx);
}

static void test_artnet_sequence_wraps_to_one(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "artnet://127.0.0.1:%u?gamma=1", port);
    output *o = tu_output(url, 10);
    uint8_t frame[30], seq[2];
    bool known[2] = {false};
    for (uint32_t k = 0; k < 300; k++) {
        tu_fill_random(frame, sizeof frame, k);
        tu_output_send(o, frame);
        artnet_expect_frame(rx, frame, sizeof frame, 0, false, 0, seq, known);
    }
    output_free(o);
    close(rx);
}

/* ------------------------------------------------------------ DDP */

static void ddp_expect_frame(int rx, const uint8_t *frame, size_t bytes, size_t chunk,
                             uint32_t offset, uint8_t *last_seq) {
    size_t packets = (bytes + chunk - 1) / chunk;
    for (size_t k = 0; k < packets; k++) {
        size_t len = recv_packet(rx);
        dec_ddp d;
        char err[256];
        if (dec_ddp_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("DDP: %s", err);
        size_t off = k * chunk, count = bytes - off < chunk ? bytes - off : chunk;
        assert_int_equal(d.offset, offset + off);
        assert_int_equal(d.length, count);
        assert_memory_equal(d.data, frame + off, count);
        assert_int_equal(d.push, k + 1 == packets); /* PUSH on the last packet only */
        assert_false(d.has_timecode || d.query || d.reply || d.storage);
        assert_int_equal(d.data_type, 0x0B);
        assert_int_equal(d.id, 1);
        assert_true(d.sequence >= 1 && d.sequence <= 15);
        if (*last_seq) assert_int_equal(d.sequence, *last_seq == 15 ? 1 : *last_seq + 1);
        *last_seq = d.sequence;
    }
}

static void test_ddp_packets_offsets_push(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    uint8_t frame[600 * 3], seq = 0;
    /* 600 LEDs: 1440 + 360 bytes; offset=10 LEDs -> byte offsets 30 and 1470. */
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?offset=10&gamma=1", port);
    output *o = tu_output(url, 600);
    for (uint32_t k = 0; k < 10; k++) { /* 20 packets: the 4-bit sequence wraps, skipping 0 */
        tu_fill_random(frame, sizeof frame, 50 + k);
        tu_output_send(o, frame);
        ddp_expect_frame(rx, frame, sizeof frame, 1440, 30, &seq);
    }
    output_free(o);
    /* Exactly one full packet (480 LEDs): it must still carry PUSH. */
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    o = tu_output(url, 480);
    seq = 0;
    tu_fill_random(frame, 1440, 3);
    tu_output_send(o, frame);
    ddp_expect_frame(rx, frame, 1440, 1440, 0, &seq);
    output_free(o);
    /* A custom chunk: 6 packets of 300 bytes. */
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?chunk=300&gamma=1", port);
    o = tu_output(url, 600);
    seq = 0;
    tu_fill_random(frame, sizeof frame, 4);
    tu_output_send(o, frame);
    ddp_expect_frame(rx, frame, sizeof frame, 300, 0, &seq);
    output_free(o);
    close(rx);
}

/* ------------------------------------------------------------ broadcast destinations */

/* A UDP receiver on lo's broadcast address 127.255.255.255 (ephemeral port): the
 * kernel routes that address as a broadcast one, exactly like 255.255.255.255 or
 * a LAN's x.y.z.255, so a sender without SO_BROADCAST gets EACCES. */
static int broadcast_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7fffffffu); /* 127.255.255.255 */
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static void test_artnet_and_ddp_to_a_broadcast_address(void **state) {
    (void)state;
    uint16_t port;
    int rx = broadcast_listen(&port);
    char url[256];
    snprintf(url, sizeof url, "artnet://127.255.255.255:%u?universe=3&gamma=1", port);
    output *o = tu_output(url, 200); /* 600 bytes: two universes */
    uint8_t frame[600], seq[4];
    bool known[4] = {false};
    for (uint32_t k = 0; k < 3; k++) {
        tu_fill_random(frame, sizeof frame, 300 + k);
        tu_output_send(o, frame);
        artnet_expect_frame(rx, frame, sizeof frame, 3, false, 0, seq, known);
    }
    assert_int_equal(atomic_load(&o->stats.errors), 0);
    output_free(o);

    snprintf(url, sizeof url, "ddp://127.255.255.255:%u?gamma=1", port);
    o = tu_output(url, 600);
    uint8_t big[1800], last_seq = 0;
    tu_fill_random(big, sizeof big, 333);
    tu_output_send(o, big);
    ddp_expect_frame(rx, big, sizeof big, 1440, 0, &last_seq);
    assert_int_equal(atomic_load(&o->stats.errors), 0);
    output_free(o);
    close(rx);
}

/* In a private network namespace lo starts down, so when the output opens,
 * 127.255.255.255 is no broadcast address yet (no route at all). Bringing lo up
 * makes it one, as an interface that comes up after the driver started does:
 * the first send is refused (EACCES), and the output must then allow broadcast
 * and get the next frames through. */
static int broadcast_route_child(void) {
    if (unshare(CLONE_NEWNET) != 0) return 77;
    output *o = tu_output("artnet://127.255.255.255:6454?gamma=1", 10);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return 10;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return 11;
    close(s);
    /* The namespace is private: binding every address there reaches nothing outside. */
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(6454);
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(rx, (struct sockaddr *)&sin, sizeof sin) != 0) return 12;
    uint8_t frame[30];
    tu_fill_random(frame, sizeof frame, 5);
    /* Every frame is sent until one arrives; a few are plenty (the first may be refused). */
    for (int k = 0; k < 20; k++) {
        tu_output_send(o, frame);
        tu_wait_sent(o, (uint64_t)k + 1);
        ssize_t n = tu_udp_recv(rx, pkt, sizeof pkt, k < 5 ? 200 : 1000);
        if (n <= 0) continue;
        dec_artnet d;
        char err[256];
        if (dec_artnet_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) return 13;
        if (d.length != 30 || memcmp(d.data, frame, 30) != 0) return 14;
        output_free(o);
        return 0;
    }
    return 15;
}

static void test_broadcast_route_that_appears_after_open(void **state) {
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(broadcast_route_child());
    int status = tu_wait(pid, 60000);
    assert_true(status >= 0 && WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) skip(); /* no permission for a network namespace */
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------ DDP seq=frame */

static void test_ddp_sequence_per_frame(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    /* 600 LEDs in 150-byte packets: 12 per frame, past the 4-bit counter's 11-packet
     * margin in WLED's late-packet check. */
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?seq=frame&chunk=150&gamma=1", port);
    output *o = tu_output(url, 600);
    uint8_t frame[1800], prev = 0;
    for (uint32_t k = 0; k < 20; k++) { /* 20 frames: the sequence wraps 15 -> 1 */
        tu_fill_random(frame, sizeof frame, 700 + k);
        tu_output_send(o, frame);
        uint8_t seq = 0;
        for (size_t i = 0; i < 12; i++) {
            size_t len = recv_packet(rx);
            dec_ddp d;
            char err[256];
            if (dec_ddp_parse(pkt, len, &d, err, sizeof err) != 0) fail_msg("DDP: %s", err);
            assert_int_equal(d.offset, i * 150);
            assert_memory_equal(d.data, frame + i * 150, 150);
            assert_int_equal(d.push, i == 11);
            assert_true(d.sequence >= 1 && d.sequence <= 15);
            if (i == 0) seq = d.sequence;
            assert_int_equal(d.sequence, seq); /* one number for the whole frame */
        }
        if (prev) assert_int_equal(seq, prev == 15 ? 1 : prev + 1); /* +1 per frame */
        prev = seq;
    }
    output_free(o);
    close(rx);
}

static void test_pace_and_seq_bad_values(void **state) {
    (void)state;
    static const struct {
        const char *url, *needle;
    } cases[] = {
        {"ddp://127.0.0.1?seq=packets", "`seq`: `packet` or `frame`"},
        {"ddp://127.0.0.1?pace=5", "parameter `pace`"},
        {"ddp://127.0.0.1?pace=fast", "parameter `pace`"},
        {"sacn://127.0.0.1?pace=95%", "1..90%"},
        {"sacn://127.0.0.1?pace=0%", "parameter `pace`"},
        {"artnet://127.0.0.1?pace=2s", "up to 250 ms"},
        {"artnet://127.0.0.1?pace=251ms", "up to 250 ms"},
        {"artnet://127.0.0.1?pace=-1ms", "parameter `pace`"},
        {"opc://127.0.0.1?pace=5ms", "unknown parameter `pace`"},
        {"sacn://127.0.0.1?seq=frame", "unknown parameter `seq`"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        drv_config cfg;
        char err[512] = "";
        output *o = NULL;
        config_init(&cfg);
        assert_int_equal(config_add_url(&cfg, cases[i].url, err, sizeof err), 0);
        output_env env = {cfg.source_name, cfg.cid};
        assert_int_not_equal(output_create(&cfg.outputs[0], &env, &o, err, sizeof err), 0);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s: message `%s` lacks `%s`", cases[i].url, err, cases[i].needle);
        config_free(&cfg);
    }
}

/* ------------------------------------------------------------ pacing */

/* A receiver whose packets carry the kernel's receive time. On loopback that
 * time is taken as the sender hands the packet over, so a late reader still
 * sees when each packet was sent. The kernel turns time stamping on
 * asynchronously: probe until a packet read 20 ms after it was sent carries
 * its sending time, not the reading time. */
static int stamped_listen(uint16_t *port) {
    int rx = tu_udp_listen(port);
    int on = 1;
    assert_int_equal(setsockopt(rx, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on), 0);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(tx >= 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(*port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0;; i++) {
        if (i == 500) fail_msg("the kernel never time-stamped a packet when it was sent");
        struct timespec before;
        clock_gettime(CLOCK_REALTIME, &before);
        assert_int_equal(sendto(tx, "p", 1, 0, (struct sockaddr *)&to, sizeof to), 1);
        tu_sleep_ms(20);
        char cbuf[256];
        struct iovec iov = {pkt, sizeof pkt};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        if (recvmsg(rx, &mh, MSG_DONTWAIT) != 1) continue;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_type != SO_TIMESTAMPNS) continue;
        struct timespec stamp;
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        double after_before = (double)(stamp.tv_sec - before.tv_sec) +
                              (double)(stamp.tv_nsec - before.tv_nsec) * 1e-9;
        if (after_before < 0.010) break; /* stamped when sent, not 20 ms later when read */
    }
    close(tx);
    return rx;
}

/* One packet into buf; its kernel time (ns) into *stamp_ns. */
static size_t stamped_recv(int rx, uint8_t *buf, size_t cap, int64_t *stamp_ns) {
    struct pollfd p = {.fd = rx, .events = POLLIN};
    if (poll(&p, 1, RECV_MS) <= 0) fail_msg("no packet within %d ms", RECV_MS);
    char cbuf[256];
    struct iovec iov = {buf, cap};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(rx, &mh, 0);
    assert_true(n > 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    assert_non_null(c);
    assert_int_equal(c->cmsg_type, SO_TIMESTAMPNS);
    struct timespec ts;
    memcpy(&ts, CMSG_DATA(c), sizeof ts);
    *stamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return (size_t)n;
}

/* Receives one frame of `packets` packets in order, checking each with `check`
 * (index, packet, length), and returns the kernel time from first to last, ns.
 * The pacer guarantees at least (bursts-1)/bursts of its span between the first
 * burst and the last: load can only lengthen that, never shorten it. */
static int64_t paced_frame_spread(int rx, size_t packets,
                                  void (*check)(size_t i, const uint8_t *p, size_t len,
                                                const uint8_t *frame),
                                  const uint8_t *frame) {
    int64_t first = 0, last = 0;
    for (size_t i = 0; i < packets; i++) {
        int64_t stamp;
        size_t len = stamped_recv(rx, pkt, sizeof pkt, &stamp);
        check(i, pkt, len, frame);
        if (i == 0) first = stamp;
        last = stamp;
    }
    return last - first;
}

static void check_sacn_universe(size_t i, const uint8_t *p, size_t len, const uint8_t *frame) {
    dec_e131 d;
    char err[256];
    if (dec_e131_parse(p, len, &d, err, sizeof err) != 0) fail_msg("E1.31: %s", err);
    assert_int_equal(d.universe, 1 + i); /* in order: one socket, loopback */
    assert_int_equal(d.slot_count, 510);
    assert_memory_equal(d.slots, frame + i * 510, 510);
}

static void check_artnet_universe(size_t i, const uint8_t *p, size_t len, const uint8_t *frame) {
    dec_artnet d;
    char err[256];
    if (dec_artnet_parse(p, len, &d, err, sizeof err) != 0) fail_msg("Art-Net: %s", err);
    assert_int_equal(d.port_address, i);
    assert_int_equal(d.length, 510);
    assert_memory_equal(d.data, frame + i * 510, 510);
}

static void check_ddp_packet(size_t i, const uint8_t *p, size_t len, const uint8_t *frame) {
    dec_ddp d;
    char err[256];
    if (dec_ddp_parse(p, len, &d, err, sizeof err) != 0) fail_msg("DDP: %s", err);
    assert_int_equal(d.offset, i * 150);
    assert_memory_equal(d.data, frame + i * 150, 150);
    assert_int_equal(d.push, i == 11);
}

static void test_pacing_spreads_a_frame(void **state) {
    (void)state;
    uint16_t port;
    int rx = stamped_listen(&port);
    char url[256];
    enum { UNIVERSES = 40, LEDS = UNIVERSES * 170 };
    uint8_t *frame = malloc((size_t)LEDS * 3);
    assert_non_null(frame);
    tu_fill_random(frame, (size_t)LEDS * 3, 811);

    /* sACN, a fixed spread: 40 universes over 20 ms, in 40 bursts. */
    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=1&pace=20ms&gamma=1", port);
    output *o = tu_output(url, LEDS);
    tu_output_send(o, frame);
    int64_t spread = paced_frame_spread(rx, UNIVERSES, check_sacn_universe, frame);
    assert_true(spread >= 10000000); /* >= 19.5 ms by construction; half of it asserted */
    assert_int_equal(atomic_load(&o->stats.errors), 0);
    output_free(o);

    /* Art-Net, a share of the output's own period: rate 25 = 40 ms, 50% = 20 ms, 6 bursts. */
    tu_udp_drain(rx);
    snprintf(url, sizeof url, "artnet://127.0.0.1:%u?rate=25&pace=50%%&gamma=1", port);
    o = tu_output(url, 6 * 170);
    tu_output_send(o, frame);
    spread = paced_frame_spread(rx, 6, check_artnet_universe, frame);
    assert_true(spread >= 10000000); /* >= 16.7 ms by construction */
    output_free(o);

    /* DDP: 12 packets over 10 ms. */
    tu_udp_drain(rx);
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?chunk=150&pace=10ms&gamma=1", port);
    o = tu_output(url, 600);
    tu_output_send(o, frame);
    spread = paced_frame_spread(rx, 12, check_ddp_packet, frame);
    assert_true(spread >= 5000000); /* >= 9.2 ms by construction */
    output_free(o);
    free(frame);
    close(rx);
}

/* pace=N% without an own rate: the period is the shortest recent interval between
 * frames, so a stall or a skipped frame does not stretch the spread. */
static void test_pacing_measures_the_frame_period(void **state) {
    (void)state;
    net_pacer p;
    drv_url url;
    char err[256];
    assert_int_equal(url_parse("ddp://h?pace=50%", &url, err, sizeof err), 0);
    assert_int_equal(net_pacer_from_url(&url, &p, err, sizeof err), 0);
    url_free(&url);
    const uint64_t ms = 1000000;
    assert_int_equal(net_pacer_span(&p, 1000 * ms, 0), 0);        /* no period known yet */
    assert_int_equal(net_pacer_span(&p, 1020 * ms, 0), 10 * ms);  /* 20 ms apart */
    assert_int_equal(net_pacer_span(&p, 1520 * ms, 0), 10 * ms);  /* a 500 ms stall */
    assert_int_equal(net_pacer_span(&p, 1536 * ms, 0), 8 * ms);   /* 16 ms */
    assert_int_equal(net_pacer_span(&p, 1552 * ms, 60), 8333300); /* an own rate wins */
    for (int k = 1; k <= NET_PACE_SAMPLES; k++)                   /* the 16 ms sample ages out */
        (void)net_pacer_span(&p, 1552 * ms + (uint64_t)k * 30 * ms, 0);
    assert_int_equal(net_pacer_span(&p, 1552 * ms + 9 * 30 * ms, 0), 15 * ms);
    assert_int_equal(net_pacer_span(&p, 1900 * ms, 0.1), 250 * ms); /* 50% of 10 s: capped */

    assert_int_equal(url_parse("ddp://h?pace=2.5ms", &url, err, sizeof err), 0);
    assert_int_equal(net_pacer_from_url(&url, &p, err, sizeof err), 0);
    url_free(&url);
    assert_int_equal(net_pacer_span(&p, 5, 0), 2500000);
    assert_int_equal(net_pacer_span(&p, 5 + 100 * ms, 60), 2500000);
}

/* ------------------------------------------------------------ colour order on the wire */

static void test_order_and_brightness_on_the_wire(void **state) {
    (void)state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[256];
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?order=GRB&gamma=1&brightness=0.5", port);
    output *o = tu_output(url, 2);
    uint8_t frame[6] = {10, 20, 30, 255, 0, 101};
    tu_output_send(o, frame);
    size_t len = recv_packet(rx);
    dec_ddp d;
    char err[256];
    assert_int_equal(dec_ddp_parse(pkt, len, &d, err, sizeof err), 0);
    assert_int_equal(d.length, 6);
    /* G,R,B at half: round(0.5 * v) in 8.8, rounded to 8 bits. */
    const uint8_t expect[6] = {10, 5, 15, 0, 128, 51};
    assert_memory_equal(d.data, expect, 6);
    output_free(o);
    close(rx);
}

/* ------------------------------------------------------------ OPC */

/* Reads from `conn` until one whole message is decoded (or the peer closes). */
static bool opc_read_message(int conn, dec_opc_stream *s, dec_opc_msg *msg, int timeout_ms) {
    uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
    while (!dec_opc_next(s, msg)) {
        if (tu_now_ms() > end) return false;
        struct pollfd p = {.fd = conn, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        uint8_t buf[8192];
        ssize_t n = recv(conn, buf, sizeof buf, 0);
        if (n <= 0) return false;
        assert_int_equal(dec_opc_feed(s, buf, (size_t)n), 0);
    }
    return true;
}

/* Keeps sending `frame` until the listener accepts the output's connection. */
static int opc_accept_while_sending(int listener, output *o, const uint8_t *frame) {
    for (int i = 0; i < 500; i++) {
        tu_output_send(o, frame);
        int conn = tu_tcp_accept(listener, 10);
        if (conn >= 0) return conn;
    }
    fail_msg("the OPC output never connected");
    return -1;
}

static void opc_expect(int conn, dec_opc_stream *s, uint8_t channel, const uint8_t *frame,
                       size_t bytes) {
    dec_opc_msg m;
    assert_true(opc_read_message(conn, s, &m, RECV_MS));
    assert_int_equal(m.channel, channel);
    assert_int_equal(m.command, 0);
    assert_int_equal(m.length, bytes);
    assert_memory_equal(m.data, frame, bytes);
    free(m.data);
}

static void test_opc_stream_and_reconnect(void **state) {
    (void)state;
    uint16_t port = 0;
    int listener = tu_tcp_listen(&port);
    char url[256];
    snprintf(url, sizeof url, "opc://127.0.0.1:%u/5?gamma=1&retry_max=0.2", port);
    enum { LEDS = 700 };
    output *o = tu_output(url, LEDS);
    uint8_t frame[LEDS * 3];
    memset(frame, 0, sizeof frame);
    int conn = opc_accept_while_sending(listener, o, frame);
    dec_opc_stream s = {0};
    /* Drain whatever zero frames arrived, then check exact frames one by one. */
    tu_sleep_ms(50);
    dec_opc_msg m;
    while (opc_read_message(conn, &s, &m, 100)) free(m.data);
    for (uint32_t k = 0; k < 5; k++) {
        tu_fill_random(frame, sizeof frame, 900 + k);
        tu_output_send(o, frame);
        opc_expect(conn, &s, 5, frame, sizeof frame);
    }
    /* The receiver goes away... */
    close(conn);
    close(listener);
    dec_opc_free(&s);
    for (int i = 0; i < 30; i++) {
        tu_output_send(o, frame);
        tu_sleep_ms(10);
    }
    assert_true(atomic_load(&o->stats.errors) > 0);
    /* ...and comes back on the same port: the output reconnects by itself. */
    listener = tu_tcp_listen(&port);
    memset(frame, 0, sizeof frame);
    conn = opc_accept_while_sending(listener, o, frame);
    tu_sleep_ms(50);
    while (opc_read_message(conn, &s, &m, 100)) free(m.data);
    tu_fill_random(frame, sizeof frame, 77);
    tu_output_send(o, frame);
    opc_expect(conn, &s, 5, frame, sizeof frame);
    assert_true(atomic_load(&o->stats.reconnects) >= 1);
    output_free(o);
    dec_opc_free(&s);
    close(conn);
    close(listener);
}

static void test_opc_peer_that_never_reads(void **state) {
    (void)state;
    uint16_t port = 0;
    int listener = tu_tcp_listen(&port);
    char url[256];
    snprintf(url, sizeof url, "opc://127.0.0.1:%u?timeout=0.5", port);
    enum { LEDS = 21845 }; /* the largest message: 65535 bytes */
    output *o = tu_output(url, LEDS);
    uint8_t *frame = calloc(LEDS, 3);
    assert_non_null(frame);
    int conn = opc_accept_while_sending(listener, o, frame);
    /* Never read: the socket buffers fill, the output skips frames instead of waiting. */
    for (int i = 0; i < 200; i++) {
        tu_fill_random(frame, (size_t)LEDS * 3, (uint32_t)i);
        tu_output_send(o, frame);
        tu_sleep_ms(5);
    }
    assert_true(atomic_load(&o->stats.skipped) > 0);
    /* After `timeout` without progress it gives up on the peer and reconnects. */
    int again = -1;
    uint64_t end = tu_now_ms() + TU_PATIENCE_MS;
    while (again < 0 && tu_now_ms() < end) {
        tu_output_send(o, frame);
        again = tu_tcp_accept(listener, 10);
    }
    assert_true(again >= 0);
    output_stop(o, true, 2000);
    assert_false(o->stuck); /* the thread never blocked */
    output_free(o);
    free(frame);
    close(again);
    close(conn);
    close(listener);
}

/* Counts the lines of `text` that hold `needle`. */
static int count_lines_with(const char *text, const char *needle) {
    int n = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len) n++;
        line += len + (end ? 1 : 0);
    }
    return n;
}

/* A peer that accepts and closes at once must be retried ever more slowly, and
 * logged once, not once per connection. The gaps between its accepts have a
 * floor the back-off sets: connection k+1 is attempted no sooner than the
 * back-off after connection k was seen closed, which is after the test closed
 * it, which is after it was accepted. So gap k >= 0.1 s * 2^(k-1) whatever the
 * load: a lower bound load can only raise. */
static void test_opc_peer_that_closes_at_once(void **state) {
    (void)state;
    char dir[64], log_path[128], url[256];
    tu_temp_dir(dir);
    snprintf(log_path, sizeof log_path, "%s/stderr.log", dir);
    uint16_t port = 0;
    int listener = tu_tcp_listen(&port);
    snprintf(url, sizeof url, "opc://127.0.0.1:%u/1?retry_max=5", port);
    output *o = tu_output(url, 10);
    uint8_t frame[30] = {0};

    fflush(stderr);
    int saved = dup(2);
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && logfd >= 0);
    dup2(logfd, 2);
    enum { ACCEPTS = 6 };
    uint64_t accepted_ms[ACCEPTS];
    int accepts = 0;
    uint64_t start = tu_now_ms();
    while (accepts < ACCEPTS && tu_now_ms() - start < 120000) { /* a safety net only */
        tu_output_send(o, frame);
        int conn = tu_tcp_accept(listener, 5);
        if (conn < 0) continue;
        accepted_ms[accepts++] = tu_now_ms();
        close(conn); /* accepted and closed at once */
    }
    uint64_t elapsed_ms = tu_now_ms() - start;
    output_stop(o, false, 2000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(logfd);

    assert_int_equal(accepts, ACCEPTS);
    for (int k = 1; k < ACCEPTS; k++) {
        uint64_t floor_ms = (100u << (k - 1)) - 1; /* 100, 200, 400, 800, 1600 less 1 ms of
                                                      tu_now_ms's rounding */
        if (accepted_ms[k] - accepted_ms[k - 1] < floor_ms)
            fail_msg("connection %d came %llu ms after the one before; the back-off allows no "
                     "less than %llu ms",
                     k + 1, (unsigned long long)(accepted_ms[k] - accepted_ms[k - 1]),
                     (unsigned long long)floor_ms);
    }
    char *log = tu_read_text(log_path);
    /* One "connected" (the first connection), and one error line per 10 s at most,
     * however the peer closes (FIN, RST or a broken pipe, which vary from try to try). */
    assert_int_equal(count_lines_with(log, "connected to"), 1);
    int errors = count_lines_with(log, "(retrying)");
    if (errors < 1 || errors > 1 + (int)(elapsed_ms / 10000))
        fail_msg("%d error lines in %llu ms:\n%s", errors, (unsigned long long)elapsed_ms, log);
    free(log);
    output_free(o);
    close(listener);
    tu_remove_dir(dir);
}

static void test_opc_limits(void **state) {
    (void)state;
    drv_config cfg;
    char err[512];
    output *o = NULL;
    config_init(&cfg);
    assert_int_equal(config_add_url(&cfg, "opc://127.0.0.1/256", err, sizeof err), 0);
    assert_int_equal(config_add_url(&cfg, "opc://127.0.0.1:7890/1", err, sizeof err), 0);
    output_env env = {cfg.source_name, cfg.cid};
    assert_int_not_equal(output_create(&cfg.outputs[0], &env, &o, err, sizeof err), 0);
    assert_non_null(strstr(err, "channel"));
    assert_int_equal(output_create(&cfg.outputs[1], &env, &o, err, sizeof err), 0);
    uint32_t strip = 21846;
    assert_int_not_equal(output_configure(o, 1, &strip, strip, 60, err, sizeof err), 0);
    assert_non_null(strstr(err, "21845"));
    output_free(o);
    config_free(&cfg);
}

/* ------------------------------------------------------------ own refresh rate + dithering */

static void test_refresh_rate_dithers_between_frames(void **state) {
    (void)state;
    char dir[64], url[256];
    tu_temp_dir(dir);
    /* gamma 1, brightness 0.5: value 3 -> 1.5 in 8.8; at rate=200 with dithering the output
     * refreshes on its own and alternates 1 and 2, averaging exactly 1.5. */
    snprintf(url, sizeof url, "file://%s/rec.raw?gamma=1&brightness=0.5&rate=200&dither=on", dir);
    output *o = tu_output(url, 4);
    assert_true(o->dither);
    uint8_t frame[12];
    memset(frame, 3, sizeof frame);
    tu_output_send(o, frame); /* one frame only */
    tu_wait_sent(o, 20);      /* ...but many refreshes */
    output_stop(o, false, 2000);
    uint64_t refreshes = atomic_load(&o->stats.frames);
    output_free(o);
    char path[128];
    snprintf(path, sizeof path, "%s/rec.raw", dir);
    char *rec = tu_read_text(path);
    uint64_t total = 0;
    for (uint64_t k = 0; k < refreshes; k++) {
        for (int i = 0; i < 12; i++) {
            uint8_t v = (uint8_t)rec[k * 12 + (uint64_t)i];
            assert_true(v == 1 || v == 2);
            total += v;
        }
        /* every channel of a refresh sees the same residual sequence */
        assert_memory_equal(rec + k * 12, rec + k * 12 + 3, 9);
    }
    /* sigma-delta from a zero residual: after K refreshes the sum is floor(1.5 K) */
    assert_int_equal(total, 12 * ((3 * refreshes) / 2));
    free(rec);
    tu_remove_dir(dir);

    /* dither=auto turns on only when the output's rate is at least twice the driver's. */
    drv_config cfg;
    char err[512];
    output *a = NULL;
    config_init(&cfg);
    assert_int_equal(config_add_url(&cfg, "null://?rate=100", err, sizeof err), 0);
    assert_int_equal(config_add_url(&cfg, "null://?rate=240", err, sizeof err), 0);
    output_env env = {cfg.source_name, cfg.cid};
    uint32_t strip = 10;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(output_create(&cfg.outputs[i], &env, &a, err, sizeof err), 0);
        assert_int_equal(output_configure(a, 1, &strip, 10, 60, err, sizeof err), 0);
        assert_int_equal(a->dither, i == 1);
        output_free(a);
    }
    config_free(&cfg);
}

/* ------------------------------------------------------------ IPv6 */

static void test_ddp_over_ipv6_loopback(void **state) {
    (void)state;
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin6, sizeof sin6) != 0) {
        if (fd >= 0) close(fd);
        NOT_RUN("no IPv6 on this host's loopback");
    }
    socklen_t len = sizeof sin6;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
    char url[128];
    snprintf(url, sizeof url, "ddp://[::1]:%u?gamma=1", ntohs(sin6.sin6_port));
    output *o = tu_output(url, 100);
    uint8_t frame[300], seq = 0;
    tu_fill_random(frame, sizeof frame, 6);
    tu_output_send(o, frame);
    ddp_expect_frame(fd, frame, sizeof frame, 1440, 0, &seq);
    output_free(o);
    close(fd);
}

/* An optional argument runs only the tests matching it (cmocka's filter). */
int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sacn_unicast_and_terminate),
        cmocka_unit_test(test_sacn_512_slots_with_sync),
        cmocka_unit_test(test_sacn_sequence_wraps),
        cmocka_unit_test(test_sacn_multicast_on_private_loopback),
        cmocka_unit_test(test_sacn_universe_discovery),
        cmocka_unit_test(test_sacn_bad_urls),
        cmocka_unit_test(test_artnet_split_pad_sync),
        cmocka_unit_test(test_artnet_sequence_wraps_to_one),
        cmocka_unit_test(test_ddp_packets_offsets_push),
        cmocka_unit_test(test_artnet_and_ddp_to_a_broadcast_address),
        cmocka_unit_test(test_broadcast_route_that_appears_after_open),
        cmocka_unit_test(test_ddp_sequence_per_frame),
        cmocka_unit_test(test_pace_and_seq_bad_values),
        cmocka_unit_test(test_pacing_spreads_a_frame),
        cmocka_unit_test(test_pacing_measures_the_frame_period),
        cmocka_unit_test(test_order_and_brightness_on_the_wire),
        cmocka_unit_test(test_refresh_rate_dithers_between_frames),
        cmocka_unit_test(test_ddp_over_ipv6_loopback),
        cmocka_unit_test(test_opc_stream_and_reconnect),
        cmocka_unit_test(test_opc_peer_that_never_reads),
        cmocka_unit_test(test_opc_peer_that_closes_at_once),
        cmocka_unit_test(test_opc_limits),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed ? failed : outputs_not_run ? 77 : 0;
}

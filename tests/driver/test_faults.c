/*
 * test_faults.c - sky-driver as a process, against the faults it must ride out.
 *
 * A writer child publishes frames (libskyframe's sky_frame_writer) into a
 * file in a temporary directory; the sky-driver binary reads it and sends
 * to receivers inside this test on 127.0.0.1. Then things go wrong: the
 * writer is SIGKILLed (hold, fade, black, resume on a new writer), the file
 * is truncated or replaced by garbage, an OPC receiver goes away and comes
 * back, a UDP destination has nobody listening, a config is malformed; and
 * the signals do what they say (SIGTERM goodbye, SIGHUP reload, SIGUSR1
 * stats). Every wait is for an event (a packet, a log line, an exit) with
 * testutil's TU_PATIENCE_MS as a safety net; no timing is asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "decoders.h"
#include "testutil.h"

#define STRIPS    4
#define PER_STRIP 50
#define LEDS      (STRIPS * PER_STRIP)
#define BYTES     (LEDS * 3)
#define WAIT_MS   TU_PATIENCE_MS

typedef struct fixture {
    char dir[64], frame[128], log[128], ini[128];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    tu_temp_dir(f->dir);
    snprintf(f->frame, sizeof f->frame, "%s/frames", f->dir);
    snprintf(f->log, sizeof f->log, "%s/driver.log", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/driver.ini", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tu_reap_all();
    if (getenv("SKY_TEST_SHOW_LOG")) {
        char *log = tu_read_text(f->log);
        fprintf(stderr, "---- driver log\n%s----\n", log);
        free(log);
    }
    tu_remove_dir(f->dir);
    free(f);
    return 0;
}

/* Receives DDP packets until a PUSH completes a frame of `bytes`; false on timeout. */
static bool ddp_frame(int fd, uint8_t *out, size_t bytes, int timeout_ms) {
    static uint8_t pkt[2048];
    uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
    while (tu_now_ms() < end) {
        ssize_t n = tu_udp_recv(fd, pkt, sizeof pkt, 100);
        if (n <= 0) continue;
        dec_ddp d;
        char err[256];
        if (dec_ddp_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) fail_msg("DDP: %s", err);
        assert_true((size_t)d.offset + d.length <= bytes);
        memcpy(out + d.offset, d.data, d.length);
        if (d.push) return true;
    }
    return false;
}

static bool is_live(const uint8_t *frame, uint8_t tag) {
    for (size_t i = 0; i < LEDS; i++)
        if (frame[3 * i] != 200 || frame[3 * i + 2] != tag) return false;
    return true;
}

static bool is_black(const uint8_t *frame) {
    for (size_t i = 0; i < BYTES; i++)
        if (frame[i]) return false;
    return true;
}

/* Waits for a frame that is live with `tag`. */
static void expect_live(int rx, uint8_t tag, uint8_t *frame) {
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (tu_now_ms() < end) {
        if (ddp_frame(rx, frame, BYTES, 500) && is_live(frame, tag)) return;
    }
    fail_msg("no live frame with tag %u", tag);
}

static pid_t start_driver(fixture *f, const char *const *extra) {
    const char *argv[32] = {"sky-driver", "--frame", f->frame, "--stale", "0.3", "--stats", "0"};
    size_t n = 7;
    for (size_t i = 0; extra && extra[i] && n < 31; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    return tu_spawn_driver(argv, f->log);
}

static void stop_driver(pid_t pid) {
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = tu_wait(pid, WAIT_MS);
    if (status < 0) {
        tu_reap(pid);
        fail_msg("sky-driver did not exit after SIGTERM");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_log_has(fixture *f, const char *needle) {
    if (!tu_wait_for_text(f->log, needle, WAIT_MS)) {
        char *log = tu_read_text(f->log);
        fail_msg("driver log lacks `%s`:\n%s", needle, log);
    }
}

/* ------------------------------------------------------------ writer killed */

static void test_writer_killed_hold_fade_resume(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", url, "--hold", "0.5", "--fade", "0.5", NULL};
    pid_t driver = start_driver(f, extra);
    uint8_t frame[BYTES], held[BYTES];
    expect_live(rx, 10, frame);

    kill(writer, SIGKILL);
    tu_reap(writer);
    /* Hold: the last frame, unchanged, several times; then fade; then black, still sent. */
    tu_udp_drain(rx);
    int held_count = 0, fading = 0, black = 0;
    uint8_t last_r = 200;
    bool have_held = false;
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (black < 20 && tu_now_ms() < end) {
        if (!ddp_frame(rx, frame, BYTES, WAIT_MS)) fail_msg("the driver stopped sending");
        if (is_black(frame)) {
            assert_true(held_count > 0);
            black++;
            continue;
        }
        assert_int_equal(black, 0); /* never back from black without a writer */
        if (is_live(frame, 10)) {
            assert_int_equal(fading, 0);
            if (have_held && memcmp(frame, held, BYTES) == 0) held_count++;
            memcpy(held, frame, BYTES);
            have_held = true;
            continue;
        }
        /* Fading: every channel scaled down by the same level, never brighter than before. */
        fading++;
        uint8_t r = frame[0];
        assert_true(r < 200 && r <= last_r);
        last_r = r;
        for (size_t i = 0; i < LEDS; i++) {
            assert_int_equal(frame[3 * i], r);
            assert_true(frame[3 * i + 1] <= held[3 * i + 1]);
            assert_true(frame[3 * i + 2] <= 10);
        }
    }
    assert_true(held_count >= 3);
    assert_true(fading >= 3);
    assert_int_equal(black, 20);
    assert_log_has(f, "holding the last frame");
    assert_log_has(f, "faded to black");

    /* A new writer (a new file renamed over the path): frames resume at once. */
    writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 99, true);
    expect_live(rx, 99, frame);
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ file truncated / garbage */

static void test_file_truncated_and_garbage(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", url, "--hold", "0.3", "--fade", "0.3", NULL};
    pid_t driver = start_driver(f, extra);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);

    /* Truncate the file under both mappings: the driver's next read faults (SIGBUS),
     * which must become a report and a re-attach. The writer may die of it too. */
    assert_int_equal(truncate(f->frame, 0), 0);
    assert_log_has(f, "frame file unusable, re-attaching");
    assert_log_has(f, "waiting for a valid frame file");
    for (int i = 0; i < 10; i++) assert_true(ddp_frame(rx, frame, BYTES, WAIT_MS)); /* still sending */
    kill(writer, SIGKILL);
    tu_reap(writer);

    /* Garbage renamed over the path: rejected with the field named, never mapped. */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.junk", f->frame);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    uint8_t junk[8192];
    tu_fill_random(junk, sizeof junk, 1);
    memcpy(junk, "SKYFRAME", 8); /* right magic, garbage everywhere else */
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(rename(tmp, f->frame), 0);
    tu_sleep_ms(600);
    assert_int_equal(kill(driver, 0), 0); /* alive */
    assert_true(ddp_frame(rx, frame, BYTES, WAIT_MS));

    writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 77, true);
    expect_live(rx, 77, frame);
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ OPC peer down and back */

static bool opc_message(int conn, dec_opc_stream *s, dec_opc_msg *m, int timeout_ms) {
    uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
    while (!dec_opc_next(s, m)) {
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

static void expect_opc_live(int conn, uint8_t tag) {
    dec_opc_stream s = {0};
    dec_opc_msg m;
    bool ok = false;
    for (int i = 0; i < 100 && !ok; i++) {
        if (!opc_message(conn, &s, &m, WAIT_MS)) break;
        assert_int_equal(m.channel, 3);
        assert_int_equal(m.command, 0);
        assert_int_equal(m.length, 2 * PER_STRIP * 3); /* strips 1-2 */
        ok = true;
        for (size_t i2 = 0; i2 < 2 * PER_STRIP; i2++)
            if (m.data[3 * i2] != 200 || m.data[3 * i2 + 2] != tag) ok = false;
        free(m.data);
    }
    dec_opc_free(&s);
    assert_true(ok);
}

static void test_opc_receiver_stops_and_returns(void **state) {
    fixture *f = *state;
    uint16_t udp_port, tcp_port = 0;
    int rx = tu_udp_listen(&udp_port);
    int listener = tu_tcp_listen(&tcp_port);
    char opc[128], ddp[128];
    snprintf(opc, sizeof opc, "opc://127.0.0.1:%u/3?gamma=1&strips=1-2&retry_max=0.3", tcp_port);
    snprintf(ddp, sizeof ddp, "ddp://127.0.0.1:%u?gamma=1", udp_port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", opc, "--out", ddp, NULL};
    pid_t driver = start_driver(f, extra);
    int conn = tu_tcp_accept(listener, WAIT_MS);
    assert_true(conn >= 0);
    expect_opc_live(conn, 10);

    /* The OPC receiver goes away: the DDP output must not notice. */
    close(conn);
    close(listener);
    uint8_t frame[BYTES];
    tu_udp_drain(rx);
    int frames = 0; /* live frames keep coming (however fast the machine lets them) */
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (frames < 10 && tu_now_ms() < end)
        if (ddp_frame(rx, frame, BYTES, 200) && is_live(frame, 10)) frames++;
    assert_int_equal(frames, 10);
    assert_log_has(f, "(retrying)");

    /* It comes back on the same port: the driver reconnects by itself. */
    listener = tu_tcp_listen(&tcp_port);
    conn = tu_tcp_accept(listener, WAIT_MS);
    assert_true(conn >= 0);
    expect_opc_live(conn, 10);
    kill(driver, SIGUSR1);
    assert_log_has(f, "1 reconnects");
    stop_driver(driver);
    tu_reap(writer);
    close(conn);
    close(listener);
    close(rx);
}

/* ------------------------------------------------------------ nobody listening */

static void test_udp_destination_with_nobody_listening(void **state) {
    fixture *f = *state;
    uint16_t dead_port, port;
    int dead = tu_udp_listen(&dead_port);
    close(dead); /* now nothing listens there: ICMP port unreachable for every packet */
    int rx = tu_udp_listen(&port);
    char sacn[128], artnet[128], ddp[128];
    snprintf(sacn, sizeof sacn, "sacn://127.0.0.1:%u?universe=1", dead_port);
    snprintf(artnet, sizeof artnet, "artnet://127.0.0.1:%u", dead_port);
    snprintf(ddp, sizeof ddp, "ddp://127.0.0.1:%u?gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", sacn, "--out", artnet, "--out", ddp, NULL};
    pid_t driver = start_driver(f, extra);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);
    int frames = 0; /* live frames keep coming (however fast the machine lets them) */
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (frames < 10 && tu_now_ms() < end)
        if (ddp_frame(rx, frame, BYTES, 200) && is_live(frame, 10)) frames++;
    assert_int_equal(frames, 10);
    kill(driver, SIGUSR1);
    assert_log_has(f, "stats: live");
    assert_log_has(f, "output out1 (sacn://");
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ config errors */

static void run_expect_exit2(fixture *f, const char *ini_text, const char *needle) {
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fputs(ini_text, fp);
    fclose(fp);
    const char *argv[] = {"sky-driver", "--config", f->ini, NULL};
    pid_t pid = tu_spawn_driver(argv, f->log);
    int status = tu_wait(pid, WAIT_MS);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    char *log = tu_read_text(f->log);
    char want[512];
    snprintf(want, sizeof want, "%s%s", f->ini, needle);
    if (!strstr(log, want)) fail_msg("log lacks `%s`:\n%s", want, log);
    free(log);
}

static void test_malformed_config(void **state) {
    fixture *f = *state;
    run_expect_exit2(f, "[driver]\nrate = 30\n\n[output a]\ngamma = abc\nurl = ddp://127.0.0.1\n",
                     ":5: key `gamma`: expected a number > 0 and <= 10, got `abc`");
    run_expect_exit2(f, "[output a]\nurl = ddp://127.0.0.1?chunk=100\n",
                     ":2: key `url`: `ddp://127.0.0.1?chunk=100`: parameter `chunk`");
    run_expect_exit2(f, "[output a]\nurl = sacn://127.0.0.1?universes=3\n",
                     ":2: key `url`: `sacn://127.0.0.1?universes=3`: unknown parameter "
                     "`universes`");
    run_expect_exit2(f, "[output a]\nurl = dmx://127.0.0.1\n",
                     ":2: key `url`: `dmx://127.0.0.1`: "
                     "unknown scheme");
    run_expect_exit2(f, "[driver\nrate = 3\n", ":1: syntax error");
    /* A range that does not fit the layout is not fatal: reported, the other output runs. */
    uint16_t port;
    int rx = tu_udp_listen(&port);
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\nstats = 0\n\n[output toobig]\nurl = null://\nstrips = 2-9\n\n"
            "[output ok]\nurl = ddp://127.0.0.1:%u?gamma=1\n",
            f->frame, port);
    fclose(fp);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *argv[] = {"sky-driver", "-c", f->ini, NULL};
    pid_t driver = tu_spawn_driver(argv, f->log);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);
    assert_log_has(f, ":5: output toobig (null://): strips 2-9, but the frame file has 4 strips");
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ signals */

static void test_sigterm_black_and_e131_terminate(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "sacn://127.0.0.1:%u?universe=1&gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, false);
    const char *extra[] = {"--out", url, NULL};
    pid_t driver = start_driver(f, extra);
    static uint8_t pkt[2048];
    /* 600 bytes: universes 1 (510 slots) and 2 (90). Wait for live data. */
    uint64_t end = tu_now_ms() + WAIT_MS;
    bool live = false;
    while (!live && tu_now_ms() < end) {
        ssize_t n = tu_udp_recv(rx, pkt, sizeof pkt, 500);
        dec_e131 d;
        char err[256];
        if (n > 0 && dec_e131_parse(pkt, (size_t)n, &d, err, sizeof err) == 0 && d.universe == 1 &&
            d.slots[0] == 200)
            live = true;
    }
    assert_true(live);
    kill(writer, SIGKILL);
    tu_reap(writer);
    assert_int_equal(kill(driver, SIGTERM), 0);
    /* Drain to the end: the last data frame is black, then 3 terminated packets per universe.
     * The end is the driver's exit (then everything it sent is queued here), not a pause. */
    int terminated[3] = {0, 0, 0};
    bool black_seen[3] = {false, false, false};
    tu_progress progress;
    tu_progress_start(&progress, driver, f->log);
    bool gone = false;
    char why[128];
    for (;;) {
        ssize_t n = tu_udp_recv(rx, pkt, sizeof pkt, gone ? 0 : 100);
        if (n <= 0 && gone) break;
        if (n <= 0) {
            gone = !tu_progress_check(&progress, why, sizeof why);
            continue;
        }
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) fail_msg("E1.31: %s", err);
        assert_true(d.universe == 1 || d.universe == 2);
        assert_int_equal(d.slot_count, d.universe == 1 ? 510 : 90);
        bool zero = true;
        for (size_t i = 0; i < d.slot_count; i++) zero &= d.slots[i] == 0;
        if (d.options & 0x40) {
            assert_true(black_seen[d.universe]); /* black first */
            assert_true(zero);
            terminated[d.universe]++;
        } else {
            assert_int_equal(terminated[d.universe], 0); /* nothing after the goodbye */
            black_seen[d.universe] = zero;
        }
    }
    assert_int_equal(terminated[1], 3);
    assert_int_equal(terminated[2], 3);
    int status = tu_wait(driver, WAIT_MS);
    assert_true(status >= 0 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(rx);
}

static void test_sighup_reload_and_waiting(void **state) {
    fixture *f = *state;
    uint16_t port_a, port_b;
    int rx_a = tu_udp_listen(&port_a), rx_b = tu_udp_listen(&port_b);
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\nstale = 0.3\n\n[output a]\nurl = ddp://127.0.0.1:%u\n"
            "gamma = 1\n",
            f->frame, port_a);
    fclose(fp);
    /* The driver starts first: it waits, saying so, until a writer appears. */
    const char *argv[] = {"sky-driver", "--config", f->ini, "--stats", "0", NULL};
    pid_t driver = tu_spawn_driver(argv, f->log);
    assert_log_has(f, "waiting for a writer");
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    uint8_t frame[BYTES];
    expect_live(rx_a, 10, frame);

    fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp, "[driver]\nframe = %s\n\n[output b]\nurl = ddp://127.0.0.1:%u\ngamma = 1\n",
            f->frame, port_b);
    fclose(fp);
    kill(driver, SIGHUP);
    expect_live(rx_b, 10, frame);
    assert_log_has(f, "configuration reloaded");

    /* A broken config on reload keeps the running one. */
    fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp, "[driver]\nrate = lots\n");
    fclose(fp);
    kill(driver, SIGHUP);
    assert_log_has(f, "reload failed, keeping the running configuration");
    tu_udp_drain(rx_b);
    expect_live(rx_b, 10, frame);
    stop_driver(driver);
    tu_reap(writer);
    close(rx_a);
    close(rx_b);
}

/* ------------------------------------------------------------ outputs that go idle end dark */

/* One DDP packet as a frame (every frame here fits one packet): its length, and whether it is
 * black; false when nothing is queued. */
static bool ddp_packet_frame(int fd, size_t *bytes, bool *black, int timeout_ms) {
    static uint8_t pkt[2048];
    ssize_t n = tu_udp_recv(fd, pkt, sizeof pkt, timeout_ms);
    if (n <= 0) return false;
    dec_ddp d;
    char err[256];
    if (dec_ddp_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) fail_msg("DDP: %s", err);
    assert_true(d.push);
    *bytes = d.offset + d.length;
    *black = true;
    for (size_t i = 0; i < d.length; i++) *black &= d.data[i] == 0;
    return true;
}

static void test_output_that_goes_idle_ends_dark(void **state) {
    fixture *f = *state;
    uint16_t port_gone, port_all;
    int rx_gone = tu_udp_listen(&port_gone), rx_all = tu_udp_listen(&port_all);
    char gone[128], all[128];
    snprintf(gone, sizeof gone, "ddp://127.0.0.1:%u?gamma=1&strips=2-3", port_gone);
    snprintf(all, sizeof all, "ddp://127.0.0.1:%u?gamma=1", port_all);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, false);
    const char *extra[] = {"--out", gone, "--out", all, "--hold", "600", NULL};
    pid_t driver = start_driver(f, extra);
    size_t bytes = 0;
    bool black = true;
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (black && tu_now_ms() < end) (void)ddp_packet_frame(rx_gone, &bytes, &black, 500);
    assert_false(black);
    assert_int_equal(bytes, 2 * PER_STRIP * 3);

    /* The writer restarts with half the strips: out1's strips 2-3 are gone, out2 shrinks. */
    kill(writer, SIGKILL);
    tu_reap(writer);
    writer = tu_spawn_writer(f->frame, 2, PER_STRIP, 60, 11, false);
    assert_log_has(f, "output out1 (ddp://");
    assert_log_has(f, "strips 2-3, but the frame file has 2 strips");
    /* The black frames left before that line was written (loopback UDP is queued at once). */
    bool got = false, last_black = false;
    while (ddp_packet_frame(rx_gone, &bytes, &black, 0)) {
        assert_int_equal(bytes, 2 * PER_STRIP * 3);
        got = true;
        last_black = black;
    }
    assert_true(got);
    assert_true(last_black); /* the idle output's LEDs end dark */
    /* out2: the 200 LEDs it no longer sends to get a black frame before the 100-LED frames. */
    end = tu_now_ms() + WAIT_MS;
    bool black_full = false, small = false;
    while (!small && tu_now_ms() < end) {
        if (!ddp_packet_frame(rx_all, &bytes, &black, 500)) continue;
        if (bytes == BYTES) {
            black_full = black;
        } else {
            assert_int_equal(bytes, BYTES / 2);
            small = true;
        }
    }
    assert_true(small);
    assert_true(black_full);
    stop_driver(driver);
    tu_reap(writer);
    close(rx_gone);
    close(rx_all);
}

static void test_reload_that_shrinks_a_range_blackens_the_rest(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\nstats = 0\n\n[output a]\nurl = ddp://127.0.0.1:%u\n"
            "gamma = 1\n",
            f->frame, port);
    fclose(fp);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, false);
    const char *argv[] = {"sky-driver", "--config", f->ini, NULL};
    pid_t driver = tu_spawn_driver(argv, f->log);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);
    /* The same output (same URL) now covers half the strips. */
    fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\nstats = 0\n\n[output a]\nurl = ddp://127.0.0.1:%u\n"
            "gamma = 1\nstrips = 0-1\n",
            f->frame, port);
    fclose(fp);
    kill(driver, SIGHUP);
    size_t bytes = 0;
    bool black = false, black_full = false, small = false;
    uint64_t end = tu_now_ms() + WAIT_MS;
    while (!small && tu_now_ms() < end) {
        if (!ddp_packet_frame(rx, &bytes, &black, 500)) continue;
        if (bytes == BYTES) {
            black_full = black;
        } else {
            assert_int_equal(bytes, BYTES / 2);
            small = true;
        }
    }
    assert_true(small);
    assert_true(black_full); /* strips 2-3 were sent black before they were left alone */
    assert_log_has(f, "configuration reloaded");
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ a host that does not resolve */

static void test_unresolvable_host_does_not_stop_the_others(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", "ddp://nonexistent.invalid?chunk=480", "--out", url, NULL};
    pid_t driver = start_driver(f, extra);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);
    assert_log_has(f, "output out1 (ddp://nonexistent.invalid?chunk=480): cannot resolve host "
                      "`nonexistent.invalid`");
    /* Its own thread keeps trying, with back-off, while the other output runs. */
    assert_log_has(f, "retrying in 2 s");
    expect_live(rx, 10, frame);
    kill(driver, SIGUSR1);
    assert_log_has(f, "output out1 (ddp://nonexistent.invalid?chunk=480): not resolved yet");
    stop_driver(driver);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ final stats */

static void test_final_stats_cover_the_whole_run(void **state) {
    fixture *f = *state;
    uint16_t port;
    int rx = tu_udp_listen(&port);
    char url[128];
    snprintf(url, sizeof url, "ddp://127.0.0.1:%u?gamma=1", port);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, true);
    const char *extra[] = {"--out", url, NULL};
    pid_t driver = start_driver(f, extra);
    uint8_t frame[BYTES];
    expect_live(rx, 10, frame);
    for (int i = 0; i < 30; i++) assert_true(ddp_frame(rx, frame, BYTES, WAIT_MS));
    /* A periodic stats line starts a new period just before the stop. */
    kill(driver, SIGUSR1);
    assert_log_has(f, "stats: live");
    assert_int_equal(kill(driver, SIGINT), 0);
    int status = tu_wait(driver, WAIT_MS);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *log = tu_read_text(f->log);
    const char *line = strstr(log, "stats (whole run, ");
    if (!line) fail_msg("no whole-run stats line:\n%s", log);
    double seconds = 0, rate = 0;
    unsigned long long in = 0, out = 0;
    if (sscanf(line, "stats (whole run, %lf s): %*[a-z], %llu frames in, %llu out (%lf/s)",
               &seconds, &in, &out, &rate) != 4)
        fail_msg("unexpected stats line: %.200s", line);
    assert_true(out >= 30 && seconds > 0.1);
    /* Printed with one decimal each: the rate is out / seconds within that rounding. */
    assert_true(rate >= out / (seconds + 0.05) - 0.05);
    assert_true(rate <= out / (seconds - 0.05) + 0.05);
    free(log);
    tu_reap(writer);
    close(rx);
}

/* ------------------------------------------------------------ escaped diagnostics */

static void test_config_text_is_escaped_in_messages(void **state) {
    fixture *f = *state;
    run_expect_exit2(f, "[output a]\nurl = ddp://127.0.0.1\n\x1b[2Jgamma = 1\n",
                     ":3: unknown key `\\x1b[2Jgamma` in [output a]");
    char *log = tu_read_text(f->log);
    assert_null(strchr(log, 0x1b));
    free(log);
}

/* ------------------------------------------------------------ command line */

/* Runs sky-driver --frame F --out null:// --check ARGS...; returns its exit status. */
static int run_with_args(fixture *f, const char *const *args) {
    const char *argv[32] = {"sky-driver", "--frame", f->frame, "--out", "null://", "--check"};
    size_t n = 6;
    for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = tu_spawn_driver(argv, f->log);
    int status = tu_wait(pid, WAIT_MS);
    if (status < 0) {
        tu_reap(pid);
        fail_msg("sky-driver --check did not finish");
    }
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void expect_args_fail(fixture *f, const char *const *args, const char *needle) {
    assert_int_equal(run_with_args(f, args), 2);
    char *log = tu_read_text(f->log);
    if (!strstr(log, needle)) fail_msg("log lacks `%s`:\n%s", needle, log);
    free(log);
}

/*
 * --fps is the name `sky run` uses (--rate and -r stay), and --stats takes an
 * optional interval as `sky run --stats [S]` does: `--stats`, `--stats S` and
 * `--stats=S`; a word after it is not its value.
 */
static void test_command_line_options(void **state) {
    fixture *f = *state;
    assert_int_equal(run_with_args(f, (const char *const[]){"--fps", "30", NULL}), 0);
    assert_int_equal(run_with_args(f, (const char *const[]){"--rate=30", NULL}), 0);
    expect_args_fail(f, (const char *const[]){"--fps", "20000", NULL},
                     "--fps: key `rate`: expected a number 0..10000");
    expect_args_fail(f, (const char *const[]){"-r", "x", NULL}, "-r: key `rate`");
    assert_int_equal(run_with_args(f, (const char *const[]){"--stats", NULL}), 0);
    assert_int_equal(run_with_args(f, (const char *const[]){"--stats", "5", NULL}), 0);
    assert_int_equal(run_with_args(f, (const char *const[]){"--stats=0", NULL}), 0);
    assert_int_equal(run_with_args(f, (const char *const[]){"--stats", "--hold", "1", NULL}), 0);
    expect_args_fail(f, (const char *const[]){"--stats", "nan", NULL},
                     "--stats: key `stats`: expected a number >= 0");
    expect_args_fail(f, (const char *const[]){"--stats", "soon", NULL},
                     "unexpected argument `soon`");
    expect_args_fail(f, (const char *const[]){"--bogus", NULL}, "unknown option `--bogus`");
    expect_args_fail(f, (const char *const[]){"--hold", NULL}, "option `--hold` needs a value");
}

/* ------------------------------------------------------------ --check */

/* Runs sky-driver --config f->ini --check; returns its exit status. */
static int run_check(fixture *f) {
    const char *argv[] = {"sky-driver", "--config", f->ini, "--check", NULL};
    pid_t pid = tu_spawn_driver(argv, f->log);
    int status = tu_wait(pid, WAIT_MS);
    if (status < 0) {
        tu_reap(pid);
        fail_msg("sky-driver --check did not finish");
    }
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_check_tries_every_output_against_the_frame_file(void **state) {
    fixture *f = *state;
    uint16_t refused = 0, opc = 0, port;
    close(tu_tcp_listen(&refused)); /* nothing listens there */
    int listener = tu_tcp_listen(&opc);
    int rx = tu_udp_listen(&port);
    /* 4 strips of 6000 LEDs: 24000 LEDs, more than one OPC message holds (21845). */
    pid_t writer = tu_spawn_writer(f->frame, 4, 6000, 30, 10, false);
    assert_true(tu_wait_for_text(f->frame, "SKYFRAME", WAIT_MS));
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\n\n"
            "[output down]\nurl = opc://127.0.0.1:%u\nstrips = 0\n\n"
            "[output west]\nurl = null://\nstrips = 0-400\n\n"
            "[output huge]\nurl = opc://127.0.0.1:%u\n\n"
            "[output nohost]\nurl = ddp://nonexistent.invalid\n\n"
            "[output ok]\nurl = ddp://127.0.0.1:%u\nstrips = 1\n",
            f->frame, refused, opc, port);
    fclose(fp);
    assert_int_equal(run_check(f), 1);
    char *log = tu_read_text(f->log);
    char want[5][200];
    snprintf(want[0], sizeof want[0],
             "output down (opc://127.0.0.1:%u): cannot connect to "
             "127.0.0.1:%u: Connection refused",
             refused, refused);
    snprintf(want[1], sizeof want[1],
             "output west (null://): strips 0-400, but the frame file "
             "has 4 strips (0-3)");
    snprintf(want[2], sizeof want[2], "24000 LEDs do not fit one OPC message");
    snprintf(want[3], sizeof want[3], "cannot resolve host `nonexistent.invalid`");
    snprintf(want[4], sizeof want[4], "check: 4 problems");
    for (int i = 0; i < 5; i++)
        if (!strstr(log, want[i])) fail_msg("--check log lacks `%s`:\n%s", want[i], log);
    free(log);
    assert_int_equal(tu_udp_recv(rx, (uint8_t[16]){0}, 16, 0), -1); /* nothing was sent */

    /* The same outputs, fixed: OK. A recording is not truncated by the check. */
    char rec[160];
    snprintf(rec, sizeof rec, "%s/rec.raw", f->dir);
    fp = fopen(rec, "w");
    assert_non_null(fp);
    fputs("recorded", fp);
    fclose(fp);
    fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[driver]\nframe = %s\n\n[output up]\nurl = opc://127.0.0.1:%u\nstrips = 0\n\n"
            "[output ok]\nurl = ddp://127.0.0.1:%u\nstrips = 1\n\n[output rec]\nurl = file://%s\n",
            f->frame, opc, port, rec);
    fclose(fp);
    assert_int_equal(run_check(f), 0);
    assert_log_has(f, "configuration OK");
    assert_int_equal(tu_udp_recv(rx, (uint8_t[16]){0}, 16, 0), -1);
    char *kept = tu_read_text(rec);
    assert_string_equal(kept, "recorded");
    free(kept);
    tu_reap(writer);
    close(listener);
    close(rx);
}

/* ------------------------------------------------------------ power budgets */

static double estimate_ma(const uint8_t *bytes, size_t leds) {
    double ma = leds * 1.0; /* ma_idle = 1 */
    for (size_t i = 0; i < leds * 3; i++) ma += 20.0 * bytes[i] / 255.0;
    return ma;
}

static void test_power_budgets(void **state) {
    fixture *f = *state;
    uint16_t port_a, port_b;
    int rx_a = tu_udp_listen(&port_a), rx_b = tu_udp_listen(&port_b);
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    /* Static frame (200, 100, 10) on 200 LEDs: 100 LEDs per output draw 100 + 100 x 20 x
     * 310 / 255 = 2531 mA unlimited. Output a may take 1500; both together 2500. */
    fprintf(fp,
            "[driver]\nframe = %s\nbudget_ma = 2500\nstats = 0\n\n"
            "[output a]\nurl = ddp://127.0.0.1:%u\nstrips = 0-1\ngamma = 1\nbudget_ma = 1500\n"
            "ma_per_channel = 20\nma_idle = 1\n\n"
            "[output b]\nurl = ddp://127.0.0.1:%u\nstrips = 2-3\ngamma = 1\n"
            "ma_per_channel = 20,20,20\nma_idle = 1\n",
            f->frame, port_a, port_b);
    fclose(fp);
    pid_t writer = tu_spawn_writer(f->frame, STRIPS, PER_STRIP, 60, 10, false);
    const char *argv[] = {"sky-driver", "-c", f->ini, NULL};
    pid_t driver = tu_spawn_driver(argv, f->log);
    uint8_t a[300], b[300];
    /* Frames are identical while the writer runs, so any frame of a pairs with any of b. */
    for (int k = 0; k < 5; k++) {
        tu_sleep_ms(100);
        tu_udp_drain(rx_a);
        tu_udp_drain(rx_b);
        assert_true(ddp_frame(rx_a, a, sizeof a, WAIT_MS));
        assert_true(ddp_frame(rx_b, b, sizeof b, WAIT_MS));
    }
    double ea = estimate_ma(a, 100), eb = estimate_ma(b, 100);
    assert_true(ea <= 1500.0);
    assert_true(ea + eb <= 2500.0);
    assert_true(ea + eb >= 0.97 * 2500.0); /* scaled to the budget, not below it */
    assert_true(a[0] < b[0]);              /* a carries its own limit on top */
    assert_true(a[0] > 0);
    for (int i = 0; i < 100; i++) { /* one scale per output: every LED alike */
        assert_memory_equal(a + 3 * i, a, 3);
        assert_memory_equal(b + 3 * i, b, 3);
    }
    assert_log_has(f, "power: ");
    kill(driver, SIGUSR1);
    assert_log_has(f, "power-limited");
    stop_driver(driver);
    tu_reap(writer);
    close(rx_a);
    close(rx_b);
}

/* An optional argument runs only the tests matching it (cmocka's filter). */
int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_killed_hold_fade_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_truncated_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opc_receiver_stops_and_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_destination_with_nobody_listening, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_black_and_e131_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reload_and_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_budgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_that_goes_idle_ends_dark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_that_shrinks_a_range_blackens_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_host_does_not_stop_the_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_final_stats_cover_the_whole_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_text_is_escaped_in_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_line_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_tries_every_output_against_the_frame_file, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

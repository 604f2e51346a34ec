/*
 * test_soak_regress.c - bugs the soak found, each reproduced here in seconds.
 *
 * 1. A config reload (SIGHUP) restarted every kept E1.31 output's sequence
 *    numbers at 0. A receiver that follows E1.31-2018 6.7.2 discards a packet
 *    whose sequence number is 0 to 19 behind the last one, so after a reload
 *    that came within the first 20 frames of a 256-frame cycle it dropped the
 *    next frames until the new numbers caught up: up to a third of a second
 *    frozen per reload. The soak's strict receiver counted 1474 discarded
 *    packets over 8 reloads. Here the reloads come a few frames after the
 *    output (re)started, so every one would hit the window.
 *
 * sky-driver runs as a process against a writer child (tests/driver's
 * helpers) and a loopback receiver decoding with the independent decoders.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "decoders.h"
#include "testutil.h"

static size_t count_text(const char *path, const char *needle) {
    char *text = tu_read_text(path);
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    free(text);
    return n;
}

/* The next data packet of universe 1 (sequence number in *seq); fails after 5 s. */
static void next_universe1(int fd, uint8_t *seq) {
    uint8_t pkt[1024];
    uint64_t end = tu_now_ms() + 5000;
    while (tu_now_ms() < end) {
        ssize_t n = tu_udp_recv(fd, pkt, sizeof pkt, 100);
        if (n <= 0) continue;
        dec_e131 d;
        char err[256];
        if (dec_e131_parse(pkt, (size_t)n, &d, err, sizeof err) != 0) fail_msg("E1.31: %s", err);
        if (d.is_sync || d.universe != 1) continue;
        *seq = d.sequence;
        return;
    }
    fail_msg("no E1.31 packet for universe 1 within 5 s");
}

static void test_reload_continues_e131_sequence(void **state) {
    (void)state;
    char dir[64], frame[128], ini[128], log[128];
    tu_temp_dir(dir);
    snprintf(frame, sizeof frame, "%s/frames", dir);
    snprintf(ini, sizeof ini, "%s/driver.ini", dir);
    snprintf(log, sizeof log, "%s/driver.log", dir);
    uint16_t port = 0;
    int fd = tu_udp_listen(&port);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fprintf(f,
            "[driver]\nframe = %s\nstats = 0\n\n[output a]\nurl = sacn://127.0.0.1:%u?universe=1\n",
            frame, port);
    assert_int_equal(fclose(f), 0);
    /* 30 fps: 20 frames are 0.67 s, ample time for each reload to land inside the window. */
    tu_spawn_writer(frame, 2, 100, 30, 1, true);
    const char *argv[] = {"sky-driver", "--config", ini, NULL};
    pid_t driver = tu_spawn_driver(argv, log);

    uint8_t last = 0, seq = 0;
    next_universe1(fd, &last);
    size_t discarded = 0, packets = 0;
    for (int reload = 1; reload <= 3; reload++) {
        for (int k = 0; k < 4; k++) { /* a few frames into the (re)started output */
            next_universe1(fd, &seq);
            int diff = (int8_t)(uint8_t)(seq - last);
            if (diff <= 0 && diff > -20)
                discarded++;
            else
                last = seq;
            packets++;
        }
        kill(driver, SIGHUP);
        uint64_t end = tu_now_ms() + 5000;
        while (count_text(log, "configuration reloaded") < (size_t)reload && tu_now_ms() < end)
            tu_sleep_ms(5);
        assert_int_equal(count_text(log, "configuration reloaded"), reload);
    }
    for (int k = 0; k < 30; k++) {
        next_universe1(fd, &seq);
        int diff = (int8_t)(uint8_t)(seq - last);
        if (diff <= 0 && diff > -20)
            discarded++;
        else
            last = seq;
        packets++;
    }
    if (discarded)
        fail_msg("%zu of %zu packets of universe 1 would be discarded by an E1.31 receiver "
                 "(sequence numbers went back after a reload)",
                 discarded, packets);

    kill(driver, SIGTERM);
    int status = tu_wait(driver, 5000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    tu_reap_all();
    tu_remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_continues_e131_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_core.c - the output core in process: what an output's statistics
 * claim must have happened. A frame that never left (an OPC output with no
 * server to connect to) has no latency; one that left does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

enum { CORE_LEDS = 30, CORE_FRAMES = 20 };

/* Hands `frames` frames stamped with the current time to the output, one at a time. */
static void send_stamped(output *o, int frames) {
    uint8_t frame[CORE_LEDS * 3];
    memset(frame, 120, sizeof frame);
    for (int i = 0; i < frames; i++) {
        uint64_t before = atomic_load(&o->stats.frames);
        output_load(o, frame);
        output_submit(o, PIPE_SCALE_ONE, drv_now_ns());
        tu_wait_sent(o, before + 1);
    }
}

static void test_latency_only_for_frames_that_left(void **state) {
    (void)state;
    uint16_t port = 0;
    int listener = tu_tcp_listen(&port);
    close(listener); /* nothing listens there: every connect is refused */
    char url[128];
    snprintf(url, sizeof url, "opc://127.0.0.1:%u?retry_max=0.1", port);
    output *never = tu_output(url, CORE_LEDS);
    send_stamped(never, CORE_FRAMES);
    assert_int_equal(atomic_load(&never->stats.packets), 0);
    assert_int_equal(atomic_load(&never->stats.latency_count), 0);
    assert_int_equal(atomic_load(&never->stats.latency_max_ns), 0);
    output_free(never);

    output *sent = tu_output("null://", CORE_LEDS);
    send_stamped(sent, CORE_FRAMES);
    assert_int_equal(atomic_load(&sent->stats.latency_count), CORE_FRAMES);
    output_free(sent);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_only_for_frames_that_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

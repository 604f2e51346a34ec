/*
 * frame_testwriter.c - a small writer for tests in other languages (the
 * Python reader test): publishes frames with the pattern of
 * frame_test_util.h, then optionally keeps publishing for a while.
 *
 *   frame_testwriter PATH LEDS STRIPS FRAMES [SECONDS]
 *
 * Publishes FRAMES frames at once, then one frame per millisecond for
 * SECONDS (default 0), then exits (the file stays; its lock is released).
 * Prints "ready" after the first FRAMES frames and "published N" at exit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "frame_test_util.h"

static unsigned long parse(const char *s, const char *what) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        fprintf(stderr, "frame_testwriter: %s \"%s\" is not a number\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: frame_testwriter PATH LEDS STRIPS FRAMES [SECONDS]\n");
        return 2;
    }
    uint32_t leds = (uint32_t)parse(argv[2], "LEDS");
    uint32_t strips = (uint32_t)parse(argv[3], "STRIPS");
    unsigned long frames = parse(argv[4], "FRAMES");
    unsigned long seconds = argc == 6 ? parse(argv[5], "SECONDS") : 0;
    sky_frame_writer *w;
    if (ft_writer(argv[1], leds, strips, 0, &w) != SKY_OK) return 1;
    uint64_t last = 0;
    for (unsigned long i = 0; i < frames; i++) last = ft_publish(w);
    printf("ready\n");
    fflush(stdout);
    uint64_t end = sky_frame_now_ns() + (uint64_t)seconds * 1000000000ull;
    while (sky_frame_now_ns() < end) {
        last = ft_publish(w);
        ft_sleep_ms(1);
    }
    printf("published %llu\n", (unsigned long long)last);
    sky_frame_writer_free(w);
    return 0;
}

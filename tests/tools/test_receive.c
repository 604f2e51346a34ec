/*
 * test_receive.c - sky-receive's network input and its verdicts: DDP packet
 * validation (every malformed header, lengths that disagree, offsets past the
 * frame, 32-bit overflow), frame reassembly (lost, duplicated, reordered and
 * unpushed packets) and the frame history's match / mismatch / unverifiable /
 * black decisions. Random packets run through the assembler last: it must
 * never touch memory outside its buffers (the sanitizer build checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddp_rx.h"
#include "frame_match.h"

#define LEDS  10
#define BYTES (LEDS * 3)

/* A DDP packet as sky-driver builds it: header then `len` bytes of data. */
static size_t make_packet(uint8_t *pkt, uint8_t flags, uint8_t type, uint32_t offset,
                          uint16_t len, const uint8_t *data) {
    pkt[0] = flags;
    pkt[1] = 1;
    pkt[2] = type;
    pkt[3] = 1;
    pkt[4] = (uint8_t)(offset >> 24);
    pkt[5] = (uint8_t)(offset >> 16);
    pkt[6] = (uint8_t)(offset >> 8);
    pkt[7] = (uint8_t)offset;
    pkt[8] = (uint8_t)(len >> 8);
    pkt[9] = (uint8_t)len;
    if (data) memcpy(pkt + DDPRX_HEADER, data, len);
    return DDPRX_HEADER + (size_t)len;
}

static ddprx_result feed(ddprx_assembler *a, uint8_t flags, uint32_t offset, uint16_t len,
                         const uint8_t *data) {
    uint8_t pkt[DDPRX_HEADER + 512];
    char err[256];
    size_t n = make_packet(pkt, flags, DDPRX_TYPE_RGB8, offset, len, data);
    return ddprx_feed(a, pkt, n, err, sizeof err);
}

static void fill(uint8_t *frame, uint8_t seed) {
    for (int i = 0; i < BYTES; i++) frame[i] = (uint8_t)(seed + i * 7);
}

/* ------------------------------------------------------------ parsing */

static void test_parse_rejects_short_packets(void **state) {
    (void)state;
    uint8_t pkt[DDPRX_HEADER] = {DDPRX_VERSION1};
    ddprx_packet p;
    char err[256];
    for (size_t len = 0; len < DDPRX_HEADER; len++) {
        err[0] = 0;
        assert_int_equal(ddprx_parse(pkt, len, &p, err, sizeof err), -1);
        assert_non_null(strstr(err, "shorter than the 10-byte DDP header"));
    }
    assert_int_equal(ddprx_parse(pkt, DDPRX_HEADER, &p, err, sizeof err), 0);
    assert_int_equal(p.length, 0);
}

static void test_parse_rejects_bad_fields(void **state) {
    (void)state;
    uint8_t data[6] = {1, 2, 3, 4, 5, 6}, pkt[64];
    ddprx_packet p;
    char err[256];
    size_t n = make_packet(pkt, 0x80 | DDPRX_FLAG_PUSH, DDPRX_TYPE_RGB8, 0, 6, data); /* v2 */
    assert_int_equal(ddprx_parse(pkt, n, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "protocol version 2"));

    n = make_packet(pkt, DDPRX_VERSION1, DDPRX_TYPE_RGB8, 0, 6, data);
    pkt[1] = 0x21;
    assert_int_equal(ddprx_parse(pkt, n, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "high nibble"));

    n = make_packet(pkt, DDPRX_VERSION1, DDPRX_TYPE_RGB8, 0, 6, data);
    assert_int_equal(ddprx_parse(pkt, n - 1, &p, err, sizeof err), -1); /* says 6, carries 5 */
    assert_non_null(strstr(err, "length field 6, but the packet carries 5"));
    pkt[9] = 4; /* says 4, carries 6 */
    assert_int_equal(ddprx_parse(pkt, n, &p, err, sizeof err), -1);

    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_TIMECODE, DDPRX_TYPE_RGB8, 0, 0, NULL);
    assert_int_equal(ddprx_parse(pkt, n, &p, err, sizeof err), -1); /* no room for a timecode */
    assert_non_null(strstr(err, "timecode"));
    memset(pkt + DDPRX_HEADER, 0, DDPRX_TIMECODE);
    assert_int_equal(ddprx_parse(pkt, n + DDPRX_TIMECODE, &p, err, sizeof err), 0);

    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, DDPRX_TYPE_RGB8, 0x01020304, 6, data);
    assert_int_equal(ddprx_parse(pkt, n, &p, err, sizeof err), 0);
    assert_true(p.push);
    assert_int_equal(p.offset, 0x01020304);
    assert_int_equal(p.length, 6);
    assert_memory_equal(p.data, data, 6);
}

/* ------------------------------------------------------------ reassembly */

static void test_reassembles_a_frame(void **state) {
    (void)state;
    ddprx_assembler a;
    assert_int_equal(ddprx_init(&a, BYTES), 0);
    uint8_t frame[BYTES];
    for (uint8_t round = 0; round < 3; round++) {
        fill(frame, round);
        assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 12, frame), DDPRX_DATA);
        assert_int_equal(feed(&a, DDPRX_VERSION1, 12, 12, frame + 12), DDPRX_DATA);
        assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 24, 6, frame + 24),
                         DDPRX_FRAME);
        assert_memory_equal(a.frame, frame, BYTES);
    }
    /* A frame in one packet; then PUSH alone after a frame that filled its packets. */
    fill(frame, 9);
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 0, BYTES, frame), DDPRX_FRAME);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, BYTES, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, BYTES, 0, NULL), DDPRX_FRAME);
    ddprx_free(&a);
}

static void test_lost_duplicated_and_reordered_packets_are_incomplete(void **state) {
    (void)state;
    ddprx_assembler a;
    assert_int_equal(ddprx_init(&a, BYTES), 0);
    uint8_t frame[BYTES];
    fill(frame, 3);
    /* the middle packet lost */
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 12, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 24, 6, frame + 24),
                     DDPRX_INCOMPLETE);
    /* a packet twice */
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 12, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 12, 12, frame + 12), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 12, 12, frame + 12), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 24, 6, frame + 24),
                     DDPRX_INCOMPLETE);
    /* PUSH before the frame is full */
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 0, 12, frame), DDPRX_INCOMPLETE);
    /* the PUSH packet lost: the next frame starts over at offset 0 and completes */
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 12, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 12, 12, frame + 12), DDPRX_DATA);
    fill(frame, 4);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 24, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 24, 6, frame + 24), DDPRX_FRAME);
    assert_memory_equal(a.frame, frame, BYTES);
    ddprx_free(&a);
}

static void test_out_of_range_offsets_and_other_types_are_rejected(void **state) {
    (void)state;
    ddprx_assembler a;
    assert_int_equal(ddprx_init(&a, BYTES), 0);
    uint8_t frame[BYTES], pkt[DDPRX_HEADER + BYTES];
    char err[256];
    fill(frame, 5);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 0, 12, frame), DDPRX_DATA);
    assert_int_equal(feed(&a, DDPRX_VERSION1, 24, 12, frame), DDPRX_MALFORMED); /* ends at 36 */
    /* the frame in progress is broken by it */
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 12, 18, frame + 12),
                     DDPRX_INCOMPLETE);
    /* offsets whose sum overflows 32 bits */
    size_t n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, DDPRX_TYPE_RGB8, 0xFFFFFFF0u,
                           BYTES, frame);
    assert_int_equal(ddprx_feed(&a, pkt, n, err, sizeof err), DDPRX_MALFORMED);
    assert_non_null(strstr(err, "ends past the frame's 30 bytes"));
    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, DDPRX_TYPE_RGB8, BYTES, 1, frame);
    assert_int_equal(ddprx_feed(&a, pkt, n, err, sizeof err), DDPRX_MALFORMED);
    /* another data type */
    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 0x1B, 0, BYTES, frame);
    assert_int_equal(ddprx_feed(&a, pkt, n, err, sizeof err), DDPRX_MALFORMED);
    assert_non_null(strstr(err, "data type 0x1B"));
    /* queries and replies are not pixel data */
    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_QUERY, DDPRX_TYPE_RGB8, 0, 0, NULL);
    assert_int_equal(ddprx_feed(&a, pkt, n, err, sizeof err), DDPRX_IGNORED);
    n = make_packet(pkt, DDPRX_VERSION1 | DDPRX_FLAG_REPLY, DDPRX_TYPE_RGB8, 0, BYTES, frame);
    assert_int_equal(ddprx_feed(&a, pkt, n, err, sizeof err), DDPRX_IGNORED);
    /* and a good frame still comes through after all of that */
    assert_int_equal(feed(&a, DDPRX_VERSION1 | DDPRX_FLAG_PUSH, 0, BYTES, frame), DDPRX_FRAME);
    assert_memory_equal(a.frame, frame, BYTES);
    ddprx_free(&a);
}

static void test_random_packets_never_escape_the_buffer(void **state) {
    (void)state;
    ddprx_assembler a;
    assert_int_equal(ddprx_init(&a, BYTES), 0);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    uint8_t pkt[64];
    char err[256];
    int seen[DDPRX_MALFORMED + 1] = {0};
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = x % sizeof pkt;
        for (size_t k = 0; k < len; k++) pkt[k] = (uint8_t)(x >> (k % 8 * 8)) ^ (uint8_t)k;
        if (len >= DDPRX_HEADER && (x & 3)) { /* mostly plausible headers, to get past parsing */
            pkt[0] = (uint8_t)(DDPRX_VERSION1 | (pkt[0] & 0x11));
            pkt[1] &= 0x0F;
            pkt[2] = DDPRX_TYPE_RGB8;
            pkt[4] = pkt[5] = pkt[6] = 0;
            pkt[7] %= 40;
            pkt[8] = 0;
            pkt[9] = (uint8_t)(len - DDPRX_HEADER - ((pkt[0] & DDPRX_FLAG_TIMECODE) ? 4 : 0));
        }
        ddprx_result r = ddprx_feed(&a, pkt, len, err, sizeof err);
        assert_true(r >= DDPRX_DATA && r <= DDPRX_MALFORMED);
        seen[r]++;
        assert_true(a.next <= a.frame_bytes);
    }
    /* the packets reached every branch that can take data */
    assert_true(seen[DDPRX_DATA] > 0);
    assert_true(seen[DDPRX_INCOMPLETE] > 0);
    assert_true(seen[DDPRX_MALFORMED] > 0);
    ddprx_free(&a);
}

/* ------------------------------------------------------------ verdicts */

static fmatch history;

static void add_frames(uint64_t from, uint64_t to) {
    uint8_t frame[BYTES];
    for (uint64_t n = from; n <= to; n++) {
        fill(frame, (uint8_t)n);
        fmatch_add(&history, n, frame, BYTES);
    }
}

static fmatch_verdict check_frame(uint8_t seed, uint64_t *number) {
    uint8_t frame[BYTES];
    fill(frame, seed);
    return fmatch_check(&history, frame, BYTES, number);
}

static void test_frames_of_the_file_match(void **state) {
    (void)state;
    fmatch_reset(&history);
    add_frames(1, 5);
    uint64_t number = 0;
    assert_int_equal(check_frame(5, &number), FMATCH_MATCH);
    assert_int_equal(number, 5);
    assert_int_equal(check_frame(2, &number), FMATCH_MATCH); /* an older one still held */
    assert_int_equal(number, 2);
    assert_int_equal(history.last_matched, 5);
}

static void test_a_changed_frame_is_a_mismatch_when_every_frame_since_was_read(void **state) {
    (void)state;
    fmatch_reset(&history);
    add_frames(1, 3);
    assert_int_equal(check_frame(100, NULL), FMATCH_UNVERIFIABLE); /* nothing matched yet */
    assert_int_equal(check_frame(3, NULL), FMATCH_MATCH);
    add_frames(4, 6);
    assert_int_equal(check_frame(100, NULL), FMATCH_MISMATCH);
    /* one changed LED is enough */
    uint8_t frame[BYTES];
    fill(frame, 6);
    frame[BYTES - 1] ^= 1;
    assert_int_equal(fmatch_check(&history, frame, BYTES, NULL), FMATCH_MISMATCH);
}

static void test_a_gap_in_the_history_makes_it_unverifiable(void **state) {
    (void)state;
    fmatch_reset(&history);
    add_frames(1, 3);
    assert_int_equal(check_frame(3, NULL), FMATCH_MATCH);
    add_frames(5, 6); /* frame 4 was never read: the driver may have sent it */
    assert_int_equal(check_frame(100, NULL), FMATCH_UNVERIFIABLE);
    assert_int_equal(check_frame(6, NULL), FMATCH_MATCH); /* past the gap: decisive again */
    assert_int_equal(check_frame(100, NULL), FMATCH_MISMATCH);
}

static void test_black_and_evicted_history(void **state) {
    (void)state;
    fmatch_reset(&history);
    add_frames(1, 3);
    assert_int_equal(check_frame(2, NULL), FMATCH_MATCH);
    uint8_t black[BYTES] = {0};
    assert_int_equal(fmatch_check(&history, black, BYTES, NULL), FMATCH_BLACK);
    fmatch_add(&history, 4, black, BYTES); /* a black frame of the pattern's own matches */
    assert_int_equal(fmatch_check(&history, black, BYTES, NULL), FMATCH_MATCH);
    /* frames 5.. push 1..4 out of the history: the span since the last match is not held */
    fmatch_reset(&history);
    add_frames(1, 3);
    assert_int_equal(check_frame(3, NULL), FMATCH_MATCH);
    add_frames(4, 4 + FMATCH_HISTORY);
    assert_int_equal(history.count, FMATCH_HISTORY);
    uint8_t changed[BYTES];
    fill(changed, 3);
    changed[0] ^= 0x80; /* like no frame added (fill's seeds repeat every 256 frames) */
    assert_int_equal(fmatch_check(&history, changed, BYTES, NULL), FMATCH_UNVERIFIABLE);
    /* numbers not newer than the newest are ignored, not a gap */
    uint64_t newest = history.newest;
    add_frames(2, 2);
    assert_int_equal(history.newest, newest);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects_short_packets),
        cmocka_unit_test(test_parse_rejects_bad_fields),
        cmocka_unit_test(test_reassembles_a_frame),
        cmocka_unit_test(test_lost_duplicated_and_reordered_packets_are_incomplete),
        cmocka_unit_test(test_out_of_range_offsets_and_other_types_are_rejected),
        cmocka_unit_test(test_random_packets_never_escape_the_buffer),
        cmocka_unit_test(test_frames_of_the_file_match),
        cmocka_unit_test(test_a_changed_frame_is_a_mismatch_when_every_frame_since_was_read),
        cmocka_unit_test(test_a_gap_in_the_history_makes_it_unverifiable),
        cmocka_unit_test(test_black_and_evicted_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

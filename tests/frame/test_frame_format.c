/*
 * test_frame_format.c - the frame file's header as written, and the reader's
 * validation of it: every header field corrupted in turn must be rejected
 * with SKY_ERR_FORMAT and a message naming the field, before any pixel
 * memory is mapped; the fields without an invariant (fps_nominal, frame,
 * heartbeat_ns) are accepted whatever their value; a consistent header
 * beyond the writer's limits is rejected before any work is done for it.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "frame_test_util.h"

typedef struct fixture {
    char dir[256];
    char path[300];
    uint8_t *bytes; /* a pristine copy of a valid file */
    size_t len;
    sky_frame_info info;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    ft_tempdir(fx->dir, sizeof fx->dir);
    snprintf(fx->path, sizeof fx->path, "%s/frames", fx->dir);
    sky_frame_writer *w;
    if (ft_writer(fx->path, 1000, 3, 4, &w) != SKY_OK) return -1;
    fx->info = *sky_frame_writer_info(w);
    ft_publish(w);
    ft_publish(w);
    sky_frame_writer_free(w);
    FILE *f = fopen(fx->path, "rb");
    fx->len = (size_t)fx->info.file_bytes;
    fx->bytes = malloc(fx->len);
    if (!f || fread(fx->bytes, 1, fx->len, f) != fx->len) return -1;
    fclose(f);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    ft_rmtree(fx->dir);
    free(fx->bytes);
    free(fx);
    return 0;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes `len` bytes of `bytes` to a new file and opens a reader on it. */
static sky_status open_bytes(fixture *fx, const uint8_t *bytes, size_t len, char *err,
                             size_t err_len, sky_frame_reader **r) {
    char path[400];
    snprintf(path, sizeof path, "%s/variant", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    err[0] = '\0';
    return sky_frame_reader_open(path, r, err, err_len);
}

static void test_slot_stride(void **state) {
    (void)state;
    assert_int_equal(sky_frame_slot_stride(1), 4096);
    assert_int_equal(sky_frame_slot_stride(1364), 4096);     /* 1364 * 3 = 4092 */
    assert_int_equal(sky_frame_slot_stride(1365), 8192);     /* 1368 * 3 = 4104 */
    assert_int_equal(sky_frame_slot_stride(1366), 8192);     /* rounded to groups of 4 */
    assert_int_equal(sky_frame_slot_stride(103680), 311296); /* the Skyscreen: 76 pages */
    assert_int_equal(sky_frame_slot_stride(1u << 24), 50331648);
}

static void test_header_as_written(void **state) {
    fixture *fx = *state;
    const uint8_t *b = fx->bytes;
    assert_memory_equal(b, "SKYFRAME", 8);
    sky_frame_reader *r;
    char err[512];
    assert_int_equal(sky_frame_reader_open(fx->path, &r, err, sizeof err), SKY_OK);
    const sky_frame_info *in = sky_frame_reader_info(r);
    assert_int_equal(in->version, 2);
    assert_int_equal(in->header_bytes, 256);
    assert_int_equal(in->led_count, 1000);
    assert_int_equal(in->strip_count, 3);
    assert_int_equal(in->channels, 3);
    assert_int_equal(in->slot_count, 4);
    assert_int_equal(in->slot_stride, sky_frame_slot_stride(1000));
    assert_int_equal(in->slots_offset % 4096, 0);
    assert_int_equal(in->file_bytes, in->slots_offset + 4 * in->slot_stride);
    assert_int_equal(in->seq_offset % 64, 0);
    assert_true(in->seq_offset >= 256 && in->strips_offset >= 256 && in->positions_offset >= 256);
    assert_int_equal(in->writer_pid, (uint64_t)getpid());
    assert_int_equal(in->fps_nominal, 60);
    assert_int_equal(in->flags, 0);
    assert_string_equal(in->layout, "strip:test");
    /* frame = 2 at offset 128, seq words of frames 1 and 2 even and complete */
    assert_int_equal(b[128], 2);
    assert_int_equal(b[in->seq_offset + 64 * 1], 2);
    assert_int_equal(b[in->seq_offset + 64 * 2], 4);
    const uint32_t *strips = sky_frame_reader_strips(r);
    assert_int_equal(strips[0] + strips[1] + strips[2], 1000);
    assert_int_equal(strips[0], 334);
    assert_true(fabsf(sky_frame_reader_positions(r)[0] + 1.0f) < 1e-6f);
    for (size_t i = 144; i < 256; i++) assert_int_equal(b[i], 0);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, in->file_bytes);
    assert_int_equal(st.st_mode & 0777, 0600);
    sky_frame_reader_free(r);
}

typedef struct corruption {
    const char *what;
    size_t offset; /* byte offset; SIZE_MAX-based markers below name table offsets */
    int bytes;     /* 1, 4 or 8 */
    uint64_t value;
    const char *expect; /* a substring of the message */
} corruption;

enum { AT_STRIPS = 1000000, AT_POSITIONS = 2000000 };

static size_t resolve(const fixture *fx, size_t offset) {
    if (offset >= AT_POSITIONS) return (size_t)fx->info.positions_offset + (offset - AT_POSITIONS);
    if (offset >= AT_STRIPS) return (size_t)fx->info.strips_offset + (offset - AT_STRIPS);
    return offset;
}

static void test_every_field_corrupted(void **state) {
    fixture *fx = *state;
    const sky_frame_info *in = &fx->info;
    const float two = 2.0f, nan = NAN;
    uint32_t two_bits, nan_bits;
    memcpy(&two_bits, &two, 4);
    memcpy(&nan_bits, &nan, 4);
    const corruption cases[] = {
        {"magic", 0, 1, 'X', "magic"},
        {"magic with a control byte", 7, 1, 0x01, "\\x01"},
        {"version", 8, 4, 3, "version"},
        {"version 0", 8, 4, 0, "versions 1 to 2"},
        {"header_bytes", 12, 4, 4096, "header_bytes"},
        {"led_count 0", 16, 4, 0, "led_count"},
        {"led_count beyond the stride", 16, 4, 5000, "led_count"},
        {"led_count one more", 16, 4, 1001, "led_count"},
        {"led_count huge", 16, 4, 0xffffffffu, "led_count"},
        {"strip_count 0", 20, 4, 0, "strip_count"},
        {"strip_count huge", 20, 4, 0xffffffffu, "strip_count"},
        {"strip_count two more", 20, 4, 5, "strips_offset"},
        {"strip_count one more (zero-length strip in the padding)", 20, 4, 4, NULL},
        {"channels", 24, 4, 4, "channels"},
        {"slot_count too small", 28, 4, 2, "slot_count"},
        {"slot_count too large", 28, 4, 257, "slot_count"},
        {"slot_count changed", 28, 4, 5, "slot_count"},
        {"slot_stride 0", 32, 8, 0, "slot_stride"},
        {"slot_stride unaligned", 32, 8, 4097, "slot_stride"},
        {"slot_stride larger", 32, 8, 8192, "slot_stride"},
        {"slot_stride overflowing", 32, 8, 0x4000000000000000ull, "slot_stride"},
        {"slots_offset 0", 40, 8, 0, "slots_offset"},
        {"slots_offset unaligned", 40, 8, 4100, "slots_offset"},
        {"slots_offset huge", 40, 8, 0xfffffffffffff000ull, "slots_offset"},
        {"strips_offset unaligned", 48, 8, in->strips_offset + 1, "strips_offset"},
        {"strips_offset in the header", 48, 8, 128, "strips_offset"},
        {"strips_offset past the slots", 48, 8, in->slots_offset, "strips_offset"},
        {"strips_offset wrapping", 48, 8, 0xfffffffffffffffcull, "strips_offset"},
        {"positions_offset unaligned", 56, 8, in->positions_offset + 2, "positions_offset"},
        {"positions_offset in the header", 56, 8, 0, "positions_offset"},
        {"positions_offset past the slots", 56, 8, in->slots_offset - 8, "positions_offset"},
        {"positions_offset over the seq words", 56, 8, in->seq_offset, "positions_offset"},
        {"seq_offset unaligned", 64, 8, in->seq_offset + 4, "seq_offset"},
        {"seq_offset in the header", 64, 8, 64, "seq_offset"},
        {"seq_offset over the strip table", 64, 8, in->strips_offset, "seq_offset"},
        {"seq_offset past the slots", 64, 8, in->slots_offset - 64, "seq_offset"},
        {"file_bytes larger", 72, 8, in->file_bytes + 4096, "file_bytes"},
        {"file_bytes smaller", 72, 8, in->file_bytes - 4096, "file_bytes"},
        {"writer_pid 0", 80, 8, 0, "writer_pid"},
        {"writer_pid huge", 80, 8, 1ull << 40, "writer_pid"},
        {"flags", 92, 4, 1, "flags"},
        {"layout not NUL-padded", 96 + 20, 1, 'x', "layout"},
        {"reserved byte", 144, 1, 1, "reserved"},
        {"reserved last byte", 255, 1, 0x80, "reserved"},
        {"strip table sum", AT_STRIPS + 4, 4, 7, "strip table"},
        {"strip table overflowing sum", AT_STRIPS, 4, 0xffffffffu, "strip table"},
        {"position out of range", AT_POSITIONS + 8 * 10, 4, two_bits, "positions"},
        {"position NaN", AT_POSITIONS + 8 * 999 + 4, 4, nan_bits, "positions"},
    };
    uint8_t *copy = malloc(fx->len);
    char err[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const corruption *c = &cases[i];
        memcpy(copy, fx->bytes, fx->len);
        put_le(copy + resolve(fx, c->offset), c->value, c->bytes);
        sky_frame_reader *r = NULL;
        sky_status st = open_bytes(fx, copy, fx->len, err, sizeof err, &r);
        if (!c->expect) { /* still a consistent file */
            if (st != SKY_OK) fail_msg("%s: rejected: %s", c->what, err);
            sky_frame_reader_free(r);
            continue;
        }
        if (st != SKY_ERR_FORMAT || !strstr(err, c->expect))
            fail_msg("%s: status %d, message \"%s\" (expected \"%s\")", c->what, st, err,
                     c->expect);
        assert_null(r);
        print_message("  %-36s -> %s\n", c->what,
                      strstr(err, "header") ? strstr(err, "header") : err);
    }
    free(copy);
}

static void test_fields_without_invariant(void **state) {
    fixture *fx = *state;
    const struct {
        size_t offset;
        int bytes;
        uint64_t value;
    } cases[] = {{88, 4, 0xffffffffu}, {88, 4, 0}, {136, 8, 0}, {136, 8, ~0ull}, {128, 8, 0}};
    uint8_t *copy = malloc(fx->len);
    char err[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(copy, fx->bytes, fx->len);
        put_le(copy + cases[i].offset, cases[i].value, cases[i].bytes);
        sky_frame_reader *r = NULL;
        assert_int_equal(open_bytes(fx, copy, fx->len, err, sizeof err, &r), SKY_OK);
        sky_frame_reader_free(r);
    }
    free(copy);
}

static void test_frame_counter_corrupted(void **state) {
    fixture *fx = *state;
    uint8_t *copy = malloc(fx->len);
    memcpy(copy, fx->bytes, fx->len);
    put_le(copy + 128, 6, 8); /* advertises frame 6, whose slot holds frame 2 */
    char err[512];
    sky_frame_reader *r = NULL;
    assert_int_equal(open_bytes(fx, copy, fx->len, err, sizeof err, &r), SKY_OK);
    uint8_t *dst = malloc(3000);
    uint64_t f = 0;
    assert_int_equal(sky_frame_reader_read(r, dst, 3000, &f, err, sizeof err), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "frame 6"));
    free(dst);
    sky_frame_reader_free(r);
    free(copy);
}

static void test_short_files(void **state) {
    fixture *fx = *state;
    char err[512];
    sky_frame_reader *r = NULL;
    assert_int_equal(open_bytes(fx, fx->bytes, 0, err, sizeof err, &r), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "header"));
    assert_int_equal(open_bytes(fx, fx->bytes, 100, err, sizeof err, &r), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "header"));
    assert_int_equal(open_bytes(fx, fx->bytes, 256, err, sizeof err, &r), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "file_bytes"));
    assert_int_equal(open_bytes(fx, fx->bytes, fx->len - 1, err, sizeof err, &r), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "truncated"));
    assert_null(r);
}

static void test_not_a_frame_file(void **state) {
    fixture *fx = *state;
    char err[512], path[400];
    sky_frame_reader *r = NULL;
    snprintf(path, sizeof path, "%s/missing", fx->dir);
    assert_int_equal(sky_frame_reader_open(path, &r, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(sky_frame_reader_open(fx->dir, &r, err, sizeof err), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "not a regular file"));
    uint8_t text[300];
    memset(text, 'a', sizeof text);
    assert_int_equal(open_bytes(fx, text, sizeof text, err, sizeof err, &r), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "magic is \"aaaaaaaa\""));
    assert_null(r);
}

/* --------------------------------------------------------------- limits */

/* A header's geometry: the writer's layout unless stride or slots_offset is set. */
typedef struct geometry {
    uint32_t leds, strips, slots;
    uint64_t stride, slots_offset;
} geometry;

/*
 * Writes a sparse file whose header is consistent for `g` (all LEDs in the
 * first strip, every position (0, 0)) and opens a reader on it: only the
 * format's limits can reject it.
 */
static sky_status open_geometry(fixture *fx, geometry g, char *err, size_t err_len,
                                sky_frame_reader **r) {
    uint64_t seq = 256, strips = seq + 64ull * g.slots;
    uint64_t positions = (strips + 4ull * g.strips + 7) / 8 * 8;
    uint64_t tables_end = positions + 8ull * g.leds;
    uint64_t slots_offset = g.slots_offset ? g.slots_offset : (tables_end + 4095) / 4096 * 4096;
    uint64_t stride = g.stride ? g.stride : sky_frame_slot_stride(g.leds);
    uint64_t file_bytes = slots_offset + g.slots * stride;
    uint8_t hdr[256] = "SKYFRAME";
    put_le(hdr + 8, 1, 4);
    put_le(hdr + 12, 256, 4);
    put_le(hdr + 16, g.leds, 4);
    put_le(hdr + 20, g.strips, 4);
    put_le(hdr + 24, 3, 4);
    put_le(hdr + 28, g.slots, 4);
    put_le(hdr + 32, stride, 8);
    put_le(hdr + 40, slots_offset, 8);
    put_le(hdr + 48, strips, 8);
    put_le(hdr + 56, positions, 8);
    put_le(hdr + 64, seq, 8);
    put_le(hdr + 72, file_bytes, 8);
    put_le(hdr + 80, (uint64_t)getpid(), 8);
    uint8_t first_strip[4];
    put_le(first_strip, g.leds, 4);
    char path[400];
    snprintf(path, sizeof path, "%s/geometry", fx->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)file_bytes), 0); /* sparse: costs no memory */
    assert_int_equal(pwrite(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    assert_int_equal(pwrite(fd, first_strip, 4, (off_t)strips), 4);
    close(fd);
    err[0] = '\0';
    return sky_frame_reader_open(path, r, err, err_len);
}

/* A consistent header beyond the writer's limits is rejected before the
 * reader reads or allocates anything for it. */
static void test_limits(void **state) {
    fixture *fx = *state;
    const struct {
        const char *what;
        geometry g;
        const char *expect; /* NULL: accepted */
    } cases[] = {
        {"the writer's layout", {4, 4, 3, 0, 0}, NULL},
        {"2^24 + 4 LEDs", {(1u << 24) + 4, 1, 3, 0, 0}, "led_count = 16777220, at most 16777216"},
        {"more strips than LEDs", {4, 5, 3, 0, 0}, "strip_count = 5, at most led_count = 4"},
        {"slot_stride beyond the writer's", {4, 1, 3, 8192, 0}, "slot_stride = 8192, at most 4096"},
        {"slots_offset 1 GiB after small tables",
         {4, 1, 3, 0, 1ull << 30},
         "slots_offset = 1073741824, at most 4096"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sky_frame_reader *r = NULL;
        sky_status st = open_geometry(fx, cases[i].g, err, sizeof err, &r);
        if (!cases[i].expect) {
            if (st != SKY_OK) fail_msg("%s: rejected: %s", cases[i].what, err);
            sky_frame_reader_free(r);
            continue;
        }
        if (st != SKY_ERR_FORMAT || !strstr(err, cases[i].expect))
            fail_msg("%s: status %d, message \"%s\" (expected \"%s\")", cases[i].what, st, err,
                     cases[i].expect);
        assert_null(r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_stride),
        cmocka_unit_test_setup_teardown(test_header_as_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_field_corrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_without_invariant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_counter_corrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_frame_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

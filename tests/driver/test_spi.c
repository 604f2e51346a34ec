/*
 * test_spi.c - the SPI encoders against hand-computed byte buffers, and the
 * spidev output path against a plain file (same bytes, written with write()).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "output.h"
#include "spi_encode.h"
#include "testutil.h"

static void test_apa102_frames(void **state) {
    (void)state;
    uint8_t out[64];
    const uint8_t one[3] = {0x11, 0x22, 0x33};
    assert_int_equal(spi_apa102_size(1, false), 12);
    assert_int_equal(spi_apa102_encode(one, 1, 31, false, out), 12);
    const uint8_t expect1[12] = {0, 0, 0, 0, 0xFF, 0x11, 0x22, 0x33, 0, 0, 0, 0};
    assert_memory_equal(out, expect1, 12);
    /* Global brightness 5 -> 0xE5; the colour bytes go out as given (wire order). */
    const uint8_t two[6] = {1, 2, 3, 4, 5, 6};
    memset(out, 0xAA, sizeof out);
    assert_int_equal(spi_apa102_encode(two, 2, 5, false, out), 16);
    const uint8_t expect2[16] = {0, 0, 0, 0, 0xE5, 1, 2, 3, 0xE5, 4, 5, 6, 0, 0, 0, 0};
    assert_memory_equal(out, expect2, 16);
    /* SK9822: an extra all-zero reset frame before the end frame. */
    memset(out, 0xAA, sizeof out);
    assert_int_equal(spi_apa102_encode(two, 2, 31, true, out), 20);
    const uint8_t expect3[20] = {0, 0, 0, 0, 0xFF, 1, 2, 3, 0xFF, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(out, expect3, 20);
    /* End frame: ceil(n / 16) zero bytes, rounded up to 4, at least 4. */
    assert_int_equal(spi_apa102_end_bytes(1), 4);
    assert_int_equal(spi_apa102_end_bytes(64), 4);
    assert_int_equal(spi_apa102_end_bytes(65), 8);
    assert_int_equal(spi_apa102_end_bytes(200), 16);
    assert_int_equal(spi_apa102_end_bytes(288), 20);
    assert_int_equal(spi_apa102_size(288, false), 4 + 288 * 4 + 20);
    assert_int_equal(spi_apa102_size(288, true), 4 + 288 * 4 + 4 + 20);
}

static void test_ws2812_bits(void **state) {
    (void)state;
    uint8_t out[256];
    /* 3 SPI bits per data bit at 2.4 MHz: 0 -> 100, 1 -> 110, MSB first. */
    const uint8_t led[3] = {0x00, 0xFF, 0xA5};
    assert_int_equal(spi_ws2812_reset_bytes(2400000), 90); /* 300 us = 720 bits */
    assert_int_equal(spi_ws2812_reset_bytes(3200000), 120);
    assert_int_equal(spi_ws2812_size(1, 3, 90), 1 + 9 + 90);
    memset(out, 0xAA, sizeof out);
    assert_int_equal(spi_ws2812_encode(led, 1, 3, 90, out), 100);
    const uint8_t expect3[10] = {
        0x00,             /* MOSI low guard */
        0x92, 0x49, 0x24, /* 0x00: 100 100 100 100 100 100 100 100 */
        0xDB, 0x6D, 0xB6, /* 0xFF: 110 x 8 */
        0xD3, 0x49, 0xA6, /* 0xA5 = 10100101: 110 100 110 100 100 110 100 110 */
    };
    assert_memory_equal(out, expect3, 10);
    for (int i = 10; i < 100; i++) assert_int_equal(out[i], 0); /* reset: MOSI low */
    /* 4 SPI bits per data bit: 0 -> 1000, 1 -> 1100. */
    memset(out, 0xAA, sizeof out);
    assert_int_equal(spi_ws2812_encode(led, 1, 4, 120, out), 1 + 12 + 120);
    const uint8_t expect4[13] = {0x00, 0x88, 0x88, 0x88, 0x88, 0xCC, 0xCC,
                                 0xCC, 0xCC, 0xC8, 0xC8, 0x8C, 0x8C};
    assert_memory_equal(out, expect4, 13);
    for (int i = 13; i < 133; i++) assert_int_equal(out[i], 0);
}

/* Builds an SPI output on `path` for `leds` LEDs; returns NULL with err on failure. */
static output *spi_output(const char *url, uint32_t leds, char *err, size_t err_len) {
    drv_config cfg;
    output *o = NULL;
    config_init(&cfg);
    if (config_add_url(&cfg, url, err, err_len) != 0) {
        config_free(&cfg);
        return NULL;
    }
    output_env env = {cfg.source_name, cfg.cid};
    int rc = output_create(&cfg.outputs[0], &env, &o, err, err_len);
    config_free(&cfg);
    if (rc != 0) return NULL;
    uint32_t strip = leds;
    if (output_configure(o, 1, &strip, leds, 60, err, err_len) != 0) {
        output_free(o);
        return NULL;
    }
    return o;
}

static void test_spidev_path_plain_file_ws2812(void **state) {
    (void)state;
    char dir[64], path[128], url[256], err[1024];
    tu_temp_dir(dir);
    snprintf(path, sizeof path, "%s/spidev", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* the output never creates it */
    assert_true(fd >= 0);
    close(fd);
    snprintf(url, sizeof url, "spi://%s?chip=ws2812&gamma=1", path);
    output *o = spi_output(url, 2, err, sizeof err);
    if (!o) fail_msg("%s", err);
    assert_int_equal(output_start(o, err, sizeof err), 0);
    /* Frame R,G,B = (0xFF,0x00,0xA5), (1,2,3); ws2812 wire order defaults to G,R,B. */
    const uint8_t frame[6] = {0xFF, 0x00, 0xA5, 1, 2, 3};
    tu_output_send(o, frame);
    tu_wait_sent(o, 1);
    output_stop(o, false, 2000);
    assert_int_equal(atomic_load(&o->stats.packets), 1);
    output_free(o);
    uint8_t expect[1 + 18 + 90], enc[1 + 18 + 90];
    const uint8_t grb[6] = {0x00, 0xFF, 0xA5, 2, 1, 3};
    memset(expect, 0, sizeof expect);
    /* hand-computed: G=0x00, R=0xFF, B=0xA5 then 0x02, 0x01, 0x03 */
    const uint8_t head[19] = {0x00, 0x92, 0x49, 0x24, 0xDB, 0x6D, 0xB6, 0xD3, 0x49, 0xA6,
                              0x92, 0x49, 0x34, 0x92, 0x49, 0x26, 0x92, 0x49, 0x36};
    memcpy(expect, head, sizeof head);
    assert_int_equal(spi_ws2812_encode(grb, 2, 3, 90, enc), sizeof enc);
    assert_memory_equal(enc, expect, sizeof expect);
    char *got = tu_read_text(path);
    assert_memory_equal(got, expect, sizeof expect);
    free(got);
    tu_remove_dir(dir);
}

static void test_spidev_path_plain_file_apa102_chunks(void **state) {
    (void)state;
    char dir[64], path[128], url[256], err[1024];
    tu_temp_dir(dir);
    snprintf(path, sizeof path, "%s/spidev", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    /* bufsiz=16 stands in for a small spidev.bufsiz: the 4+40+4+4 = 52-byte SK9822
     * frame of 10 LEDs goes out as 16+16+16+4. */
    snprintf(url, sizeof url, "spi://%s?chip=sk9822&global=7&bufsiz=16&gamma=1", path);
    output *o = spi_output(url, 10, err, sizeof err);
    if (!o) fail_msg("%s", err);
    assert_int_equal(output_start(o, err, sizeof err), 0);
    uint8_t frame[30];
    tu_fill_random(frame, sizeof frame, 5);
    tu_output_send(o, frame);
    tu_wait_sent(o, 1);
    output_stop(o, false, 2000);
    assert_int_equal(atomic_load(&o->stats.packets), 4);
    output_free(o);
    uint8_t expect[52];
    memset(expect, 0, sizeof expect);
    for (int i = 0; i < 10; i++) {
        expect[4 + 4 * i] = 0xE7;
        expect[5 + 4 * i] = frame[3 * i + 2]; /* apa102/sk9822 default order B,G,R */
        expect[6 + 4 * i] = frame[3 * i + 1];
        expect[7 + 4 * i] = frame[3 * i];
    }
    char *got = tu_read_text(path);
    assert_memory_equal(got, expect, sizeof expect);
    free(got);
    tu_remove_dir(dir);
}

static void test_spi_errors(void **state) {
    (void)state;
    char dir[64], path[128], url[256], err[1024];
    tu_temp_dir(dir);
    snprintf(path, sizeof path, "%s/spidev", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    static const struct {
        const char *query;
        uint32_t leds;
        const char *needle;
    } cases[] = {
        {"", 10, "chip="},
        {"?chip=lpd8806", 10, "unknown chip"},
        {"?chip=ws2812&speed=8000000", 10, "timing"},
        {"?chip=apa102&global=32", 10, "global"},
        {"?chip=apa102&bits=3", 10, "bits="},
        /* 500 LEDs x 9 + 91 = 4591 bytes > 4096: a WS2812 frame cannot be split */
        {"?chip=ws2812&bufsiz=4096", 500, "spidev.bufsiz"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(url, sizeof url, "spi://%s%s", path, cases[i].query);
        output *o = spi_output(url, cases[i].leds, err, sizeof err);
        assert_null(o);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s: message `%s` lacks `%s`", url, err, cases[i].needle);
    }
    output *o = spi_output("spi:///dev/no-such-spidev9.9?chip=apa102", 10, err, sizeof err);
    assert_null(o);
    assert_non_null(strstr(err, "No such file"));
    assert_true(access("/dev/no-such-spidev9.9", F_OK) != 0); /* never created */
    tu_remove_dir(dir);
}

/* An optional argument runs only the tests matching it (cmocka's filter). */
int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apa102_frames),
        cmocka_unit_test(test_ws2812_bits),
        cmocka_unit_test(test_spidev_path_plain_file_ws2812),
        cmocka_unit_test(test_spidev_path_plain_file_apa102_chunks),
        cmocka_unit_test(test_spi_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_config.c - URLs, the INI config (libinih) and command-line outputs:
 * values land where they should, and every malformed input gets an error
 * naming its line and key. Also parses every shipped example config.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "url.h"

static void test_url_parts(void **state) {
    (void)state;
    drv_url u;
    char err[256];
    assert_int_equal(
        url_parse("OPC://10.0.0.2:7891/3?retry_max=2&name=Main%20Stage&sync", &u, err, sizeof err),
        0);
    assert_string_equal(u.scheme, "opc");
    assert_string_equal(u.host, "10.0.0.2");
    assert_int_equal(u.port, 7891);
    assert_string_equal(u.path, "/3");
    assert_int_equal(u.param_count, 3);
    assert_string_equal(url_get(&u, "name"), "Main Stage");
    assert_string_equal(url_get(&u, "sync"), "");
    assert_string_equal(url_unused(&u), "retry_max");
    double d = 0;
    assert_int_equal(url_get_double(&u, "retry_max", 0, 10, &d, err, sizeof err), 0);
    assert_true(d == 2.0);
    assert_null(url_unused(&u));
    url_free(&u);

    assert_int_equal(url_parse("ddp://[::1]:4049", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 4049);
    url_free(&u);

    assert_int_equal(url_parse("spi:///dev/spidev0.1?chip=apa102", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "");
    assert_string_equal(u.path, "/dev/spidev0.1");
    url_free(&u);
    assert_int_equal(url_parse("file://rec.raw", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "rec.raw");
    url_free(&u);

    static const struct {
        const char *url, *needle;
    } bad[] = {
        {"127.0.0.1", "not a URL"},       {"ddp://host:0", "bad port"},
        {"ddp://host:70000", "bad port"}, {"ddp://host:12ab", "bad port"},
        {"ddp://[::1", "unclosed"},       {"ddp://host?a=1&a=2", "given twice"},
        {"ddp://host?=1", "no name"},     {"ddp://host?x=%zz", "percent"},
        {"dd p://host", "scheme"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_not_equal(url_parse(bad[i].url, &u, err, sizeof err), 0);
        if (!strstr(err, bad[i].needle))
            fail_msg("%s: `%s` lacks `%s`", bad[i].url, err, bad[i].needle);
        url_free(&u);
    }
    long v = 0;
    assert_int_equal(url_parse("sacn://h?universe=12x", &u, err, sizeof err), 0);
    assert_int_not_equal(url_get_long(&u, "universe", 1, 63999, &v, err, sizeof err), 0);
    assert_non_null(strstr(err, "`universe`: expected an integer 1..63999, got `12x`"));
    url_free(&u);
}

static const char *full_config = "; the Skyscreen, two controllers\n"
                                 "[driver]\n"
                                 "frame = /dev/shm/test-frames\n"
                                 "rate = 50\n"
                                 "hold = 3.5\n"
                                 "fade = 0.5\n"
                                 "stale = 0.75\n"
                                 "budget_ma = 120000\n"
                                 "stats = 30\n"
                                 "poll_ms = 2\n"
                                 "name = Skyscreen driver\n"
                                 "cid = 5f3c1a2e-8d4b-4c6f-9a1e-0b2d3c4e5f60\n"
                                 "\n"
                                 "[output west]\n"
                                 "url = sacn://10.0.0.21?universe=1\n"
                                 "strips = 0-179\n"
                                 "order = grb\n"
                                 "brightness = 0.8\n"
                                 "gamma = 2.5\n"
                                 "budget_ma = 60000\n"
                                 "ma_per_channel = 12, 12, 12\n"
                                 "ma_idle = 0.5\n"
                                 "dither = off\n"
                                 "\n"
                                 "[output east]\n"
                                 "url = spi:///dev/spidev0.0?chip=apa102&brightness=0.25\n"
                                 "strips = 180-359\n"
                                 "leds = 10-19\n"
                                 "rate = 400\n"
                                 "dither = on\n"
                                 "ma_per_channel = 20\n"
                                 "enabled = no\n";

static void test_full_config(void **state) {
    (void)state;
    drv_config c;
    char err[512];
    config_init(&c);
    if (config_load_string(&c, "sky.ini", full_config, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(config_finish(&c, err, sizeof err), 0);
    assert_string_equal(c.frame_path, "/dev/shm/test-frames");
    assert_true(c.rate == 50 && c.hold_s == 3.5 && c.fade_s == 0.5 && c.stale_s == 0.75);
    assert_true(c.budget_ma == 120000 && c.stats_s == 30 && c.poll_ms == 2);
    assert_string_equal(c.source_name, "Skyscreen driver");
    const uint8_t cid[16] = {0x5f, 0x3c, 0x1a, 0x2e, 0x8d, 0x4b, 0x4c, 0x6f,
                             0x9a, 0x1e, 0x0b, 0x2d, 0x3c, 0x4e, 0x5f, 0x60};
    assert_memory_equal(c.cid, cid, 16);
    assert_int_equal(c.output_count, 2);
    out_config *w = &c.outputs[0], *e = &c.outputs[1];
    assert_string_equal(w->name, "west");
    assert_string_equal(w->url.scheme, "sacn");
    assert_true(w->strips.set && w->strips.first == 0 && w->strips.last == 179);
    assert_false(w->leds.set);
    assert_string_equal(w->order, "GRB");
    assert_true(w->brightness == 0.8 && w->gamma == 2.5 && w->budget_ma == 60000);
    assert_true(w->ma_per_channel[0] == 12 && w->ma_per_channel[2] == 12 && w->ma_idle == 0.5);
    assert_int_equal(w->dither, CFG_DITHER_OFF);
    assert_true(w->enabled);
    assert_string_equal(w->where, "sky.ini:14");
    assert_string_equal(e->name, "east");
    assert_true(e->brightness == 0.25); /* from the URL */
    assert_true(e->leds.set && e->leds.first == 10 && e->leds.last == 19);
    assert_true(e->rate == 400);
    assert_int_equal(e->dither, CFG_DITHER_ON);
    assert_true(e->ma_per_channel[0] == 20 && e->ma_per_channel[1] == 20);
    assert_false(e->enabled);
    config_free(&c);
}

/* Loads `text` and expects an error containing `needle`. */
static void expect_error(const char *text, const char *needle) {
    drv_config c;
    char err[600] = "";
    config_init(&c);
    int rc = config_load_string(&c, "bad.ini", text, err, sizeof err);
    if (rc == 0) rc = config_finish(&c, err, sizeof err);
    if (rc == 0) fail_msg("no error for:\n%s", text);
    if (!strstr(err, needle)) fail_msg("error `%s` lacks `%s`", err, needle);
    config_free(&c);
}

static void test_config_errors(void **state) {
    (void)state;
    expect_error("[driver]\nrate = 30\n[output a]\nurl = ddp://h\ngamma = abc\n",
                 "bad.ini:5: key `gamma`: expected a number > 0 and <= 10, got `abc`");
    expect_error("[driver]\nrate = fast\n", "bad.ini:2: key `rate`: expected a number 0..10000");
    expect_error("[driver]\nhold = -1\n", "bad.ini:2: key `hold`");
    expect_error("[driver]\nspeed = 3\n", "bad.ini:2: unknown key `speed` in [driver]");
    expect_error("[driver]\nrate = 30\nrate = 40\n", "bad.ini:3: key `rate` given twice");
    expect_error("[drivers]\nrate = 30\n", "bad.ini:2: unknown section [drivers]");
    expect_error("rate = 30\n", "bad.ini:1: key `rate` is outside any section");
    expect_error("[driver]\nrate 30\n", "bad.ini:2: syntax error");
    expect_error("[driver]\n[output a]\nurl = ddp://h\n[output a]\norder = RGB\n",
                 "bad.ini:4: section [output a] given twice");
    expect_error("[output a]\nstrips = 0-10\n", "bad.ini:1: [output a]: missing key `url`");
    expect_error("[output a]\nurl = ddp://h\nstrips = 10-2\n", "bad.ini:3: key `strips`");
    expect_error("[output a]\nurl = ddp://h\nleds = x\n", "bad.ini:3: key `leds`");
    expect_error("[output a]\nurl = ddp://h\norder = RGG\n", "bad.ini:3: key `order`");
    expect_error("[output a]\nurl = ddp://h\nbrightness = 1.5\n", "bad.ini:3: key `brightness`");
    expect_error("[output a]\nurl = ddp://h\nma_per_channel = 1,2\n",
                 "bad.ini:3: key `ma_per_channel`");
    expect_error("[output a]\nurl = ddp://h\ndither = sometimes\n", "bad.ini:3: key `dither`");
    expect_error("[output a]\nurl = ddp://h\nenabled = maybe\n", "bad.ini:3: key `enabled`");
    expect_error("[output a]\nurl = ddp://h\nbogus = 1\n",
                 "bad.ini:3: unknown key `bogus` in [output a]");
    expect_error("[output a]\nurl = ddp://h?gamma=2\ngamma = 2.2\n",
                 "bad.ini:2: key `url`: `ddp://h?gamma=2`: key `gamma` given twice");
    expect_error("[output a]\nurl = ddp://h?gamma=0\n", "bad.ini:2: key `url`");
    expect_error("[output a]\nurl = not-a-url\n", "bad.ini:2: key `url`: `not-a-url` is not a URL");
    expect_error("[output a b]\nurl = ddp://h\n", "bad.ini:2: section [output a b]");
    expect_error("[driver]\ncid = 1234\n", "bad.ini:2: key `cid`");
    expect_error("[driver]\nname = "
                 "0123456789012345678901234567890123456789012345678901234567890123456789\n",
                 "bad.ini:2: key `name`: at most 63 bytes");
    expect_error("[driver]\nrate = 30\n", "no outputs");
    /* Lines longer than inih's compiled-in 200 bytes are fine up to 4 KiB. */
    char long_ok[1200];
    snprintf(long_ok, sizeof long_ok, "[output rec]\nurl = file:///tmp/%0*d.raw\n", 1000, 5);
    drv_config c;
    char err[600];
    config_init(&c);
    if (config_load_string(&c, "long.ini", long_ok, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(strlen(c.outputs[0].url.path), 5 + 1000 + 4);
    config_free(&c);
    /* A line longer than the parser's buffer is an error, not two lines. */
    char longline[6000];
    snprintf(longline, sizeof longline, "[driver]\nname = %0*d\n", 5000, 7);
    expect_error(longline, "bad.ini:2: line longer than");
}

static void test_command_line_outputs(void **state) {
    (void)state;
    drv_config c;
    char err[512];
    config_init(&c);
    assert_int_equal(config_add_url(&c, "ddp://127.0.0.1", err, sizeof err), 0);
    assert_int_equal(
        config_add_url(&c, "opc://127.0.0.1/2?strips=3-4&order=BGR&budget_ma=500", err, sizeof err),
        0);
    assert_int_equal(config_set_driver_key(&c, "rate", "25", err, sizeof err), 0);
    assert_int_equal(config_finish(&c, err, sizeof err), 0);
    assert_string_equal(c.frame_path, "/dev/shm/skyscreen");
    assert_int_equal(c.output_count, 2);
    assert_string_equal(c.outputs[0].name, "out1");
    assert_string_equal(c.outputs[1].name, "out2");
    assert_true(c.outputs[1].strips.first == 3 && c.outputs[1].strips.last == 4);
    assert_string_equal(c.outputs[1].order, "BGR");
    assert_true(c.outputs[1].budget_ma == 500);
    assert_true(c.rate == 25);
    assert_int_not_equal(config_add_url(&c, "ddp://h?gamma=-1", err, sizeof err), 0);
    assert_non_null(strstr(err, "--out: `ddp://h?gamma=-1`: key `gamma`"));
    config_free(&c);
}

static void test_example_configs_parse(void **state) {
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/examples/driver", SKY_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0) continue;
        char path[1024], err[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        drv_config c;
        config_init(&c);
        if (config_load_file(&c, path, err, sizeof err) != 0 ||
            config_finish(&c, err, sizeof err) != 0)
            fail_msg("%s", err);
        config_free(&c);
        count++;
    }
    closedir(d);
    assert_true(count >= 3);
}

/* An optional argument runs only the tests matching it (cmocka's filter). */
static void test_line_endings(void **state) {
    (void)state;
    /* CR only (classic Mac), CRLF, and a mix: diagnostics name the right line. */
    expect_error("[driver]\rrate = 30\r\r[output a]\rurl = ddp://h\rgamma = abc\r",
                 "bad.ini:6: key `gamma`: expected a number > 0");
    expect_error("[driver]\r\nrate = 30\r\nbogus = 1\r\n", "bad.ini:3: unknown key `bogus`");
    expect_error("[driver]\r\nrate = 30\rname = x\nbogus = 1\n", "bad.ini:4: unknown key `bogus`");
    drv_config c;
    char err[600];
    config_init(&c);
    if (config_load_string(&c, "cr.ini",
                           "[driver]\rrate = 30\r[output a]\rurl = ddp://h\rgamma = 1.5", err,
                           sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(c.rate == 30);
    assert_int_equal(c.output_count, 1);
    assert_true(c.outputs[0].gamma == 1.5);
    config_free(&c);
}

/* config_load_file in a child (a config that blocks must fail this test, not hang it);
 * the child exits 0 when loading failed with `needle` in the message. */
static void expect_file_refused(const char *path, const char *needle) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(120); /* a safety net: the load must return at once */
        drv_config c;
        char err[600] = "";
        config_init(&c);
        int rc = config_load_file(&c, path, err, sizeof err);
        config_free(&c);
        if (rc == 0) _exit(1);
        if (!strstr(err, needle)) {
            fprintf(stderr, "error `%s` lacks `%s`\n", err, needle);
            _exit(2);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) fail_msg("config_load_file(%s) blocked or crashed", path);
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_config_must_be_a_regular_file(void **state) {
    (void)state;
    char dir[] = "/tmp/sky-driver-config-XXXXXX", fifo[128];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/driver.ini", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* No writer ever opens the FIFO: a blocking open would wait forever. */
    expect_file_refused(fifo, "driver.ini: not a regular file (a FIFO)");
    expect_file_refused(dir, "not a regular file (a directory)");
    expect_file_refused("/dev/null", "not a regular file (a character device)");
    unlink(fifo);
    rmdir(dir);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parts),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_command_line_outputs),
        cmocka_unit_test(test_example_configs_parse),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_config_must_be_a_regular_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

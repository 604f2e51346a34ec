/*
 * check.c - `sky-driver --check`: everything that can be known before the
 * show, reported problem by problem (not only the first).
 *
 * Each enabled output is opened (its URL's parameters, host names, SPI
 * devices), sized against the frame file when there is one (its range, and
 * the protocol's limits: an OPC message, spidev.bufsiz), and tried without
 * sending anything: OPC gets a TCP connect that is closed at once; the UDP
 * protocols a socket connected to the destination (the kernel's routing
 * answer, no packet); SPI the device open that open() already did.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "net.h"

/* How long a TCP connect may take before it counts as failed; a LAN answers in milliseconds. */
#define CHECK_CONNECT_MS 3000

typedef struct check_state {
    size_t problems;
    bool have_layout;
    sky_frame_info info;
    uint32_t *strips;
} check_state;

static void check_problem(check_state *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void check_problem(check_state *c, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    drv_log("check: %s", msg);
    c->problems++;
}

/* The frame file's layout, when there is a valid one; its absence is not a problem. */
static void check_frame_file(check_state *c, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        drv_log("check: no frame file at %s yet: output ranges are checked when a writer starts",
                path);
        return;
    }
    sky_frame_reader *reader = NULL;
    char err[512];
    if (sky_frame_reader_open(path, &reader, err, sizeof err) != SKY_OK) {
        check_problem(c, "frame file: %s", err);
        return;
    }
    c->info = *sky_frame_reader_info(reader);
    c->strips = malloc((c->info.strip_count ? c->info.strip_count : 1) * sizeof *c->strips);
    if (!c->strips) {
        check_problem(c, "out of memory");
    } else {
        memcpy(c->strips, sky_frame_reader_strips(reader), c->info.strip_count * sizeof *c->strips);
        c->have_layout = true;
        drv_log("check: frame file %s: %u LEDs in %u strips, layout %s", path, c->info.led_count,
                c->info.strip_count, c->info.layout[0] ? c->info.layout : "(none)");
    }
    sky_frame_reader_free(reader);
}

/* Waits for a non-blocking connect; 0 or an errno. */
static int check_wait_connect(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int rc;
    do rc = poll(&p, 1, CHECK_CONNECT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) return ETIMEDOUT;
    if (rc < 0) return errno;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) return errno;
    return soerr;
}

/* Connects a socket of `type` to addr and closes it; 0 or an errno. */
static int check_connect(const net_addr *addr, int type) {
    int fd = socket(addr->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    int rc = 0;
    if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) != 0)
        rc = errno == EINPROGRESS ? check_wait_connect(fd) : errno;
    close(fd);
    return rc;
}

/* Tries where a network output sends, without sending: a TCP connect (and close) or a
 * connected UDP socket, which fails for an unreachable or refused route. */
static void check_reach(check_state *c, const output *o) {
    if (!o->ops->destination) return;
    net_addr addr;
    int type;
    char where[80];
    o->ops->destination(o, &addr, &type);
    net_addr_str(&addr, where, sizeof where);
    int rc = check_connect(&addr, type);
    if (rc != 0)
        check_problem(c, "output %s: cannot %s %s: %s", o->label,
                      type == SOCK_STREAM ? "connect to" : "reach", where, strerror(rc));
    else
        drv_log("check: output %s: %s %s", o->label,
                type == SOCK_STREAM ? "connected to" : "route to", where);
}

static void check_output(check_state *c, const out_config *given, const output_env *env) {
    /* A recording is opened for appending, so that checking never truncates it. */
    static char append_key[] = "append", append_value[] = "1";
    out_config copy = *given;
    const out_config *oc = &copy;
    if (strcmp(copy.url.scheme, "file") == 0) {
        size_t k = 0;
        while (k < copy.url.param_count && strcmp(copy.url.params[k].key, "append") != 0) k++;
        if (k < copy.url.param_count)
            copy.url.params[k].value = append_value; /* the copy's: the config keeps its own */
        else if (k < URL_MAX_PARAMS)
            copy.url.params[copy.url.param_count++] = (url_param){append_key, append_value, false};
    }
    output *o = NULL;
    char err[1024];
    if (output_create(oc, env, &o, err, sizeof err) != 0) {
        check_problem(c, "%s", err);
        return;
    }
    if (!o->opened) check_problem(c, "output %s: %s", o->label, o->open_error);
    if (c->have_layout) {
        if (output_configure(o, c->info.strip_count, c->strips, c->info.led_count, 60, err,
                             sizeof err) != 0)
            check_problem(c, "%s", err);
        else
            drv_log("check: output %s: %u LEDs from LED %u", o->label, o->led_count, o->first_led);
    }
    if (o->opened) check_reach(c, o);
    output_free(o);
}

int driver_check(const drv_config *config) {
    check_state c = {0};
    output_env env = {config->source_name, config->cid};
    check_frame_file(&c, config->frame_path);
    size_t outputs = 0;
    for (size_t i = 0; i < config->output_count; i++) {
        if (!config->outputs[i].enabled) continue;
        check_output(&c, &config->outputs[i], &env);
        outputs++;
    }
    free(c.strips);
    if (c.problems) {
        drv_log("check: %zu problem%s", c.problems, c.problems == 1 ? "" : "s");
        return (int)c.problems;
    }
    char path[1024];
    drv_escape(config->frame_path, path, sizeof path);
    printf("sky-driver: configuration OK: frame file %s%s, %zu outputs\n", path,
           c.have_layout ? "" : " (not there yet)", outputs);
    return 0;
}

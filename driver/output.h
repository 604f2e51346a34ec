/*
 * output.h - one LED output: a protocol behind a vtable, fed by its own thread.
 *
 * The frame loop never talks to a socket or a device. For each frame it runs
 * stage one of the colour pipeline into the output's back buffer
 * (output_load), decides the power-limit scale, and hands the buffer over
 * (output_submit): a swap under a mutex, never a wait. The output's thread
 * takes the newest buffer, quantizes or dithers it, and calls the protocol's
 * send(). A peer that is down or slow therefore only ever delays its own
 * thread, and a frame that arrives before the previous one went out replaces
 * it (counted as skipped).
 *
 * Protocols implement output_ops (out_opc.c, out_sacn.c, out_artnet.c,
 * out_ddp.c, out_spi.c, out_file.c). send() must not block on the network:
 * sockets are non-blocking and failures are counted, logged once per change,
 * and retried on the next frame.
 *
 * An output whose host name does not resolve when it is created is not an
 * error for the others: its open() is retried in its own thread with
 * back-off (1 s doubling to 30 s), and frames are skipped until it opens.
 * Whenever an output stops showing frames (its range is gone, a reload drops
 * it, the driver exits) it is sent a black frame first, so no strip keeps its
 * last colours.
 */
#ifndef DRV_OUTPUT_H
#define DRV_OUTPUT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net.h"
#include "pipeline.h"
#include "url.h"

typedef struct output output;

/* What every output may need from the [driver] section. */
typedef struct output_env {
    const char *source_name; /* E1.31 source name */
    const uint8_t *cid;      /* 16-byte E1.31 CID */
} output_env;

typedef struct output_ops {
    const char *scheme;
    /* Parses the URL's own parameters (url_get marks them used), opens sockets or
     * devices, sets o->impl and may set o->default_order. */
    int (*open)(output *o, drv_url *url, const output_env *env, char *err, size_t err_len);
    /* Sizes the output for `leds` LEDs (buffers, universes, limits). Called
     * before the thread starts, and again when the layout changes. */
    int (*prepare)(output *o, uint32_t leds, char *err, size_t err_len);
    /* Sends one frame of `leds` LEDs, 3 bytes each, already in wire order. */
    void (*send)(output *o, const uint8_t *wire, uint32_t leds);
    /* After the final (black) frame: protocol goodbyes (E1.31 stream terminated). May be NULL. */
    void (*goodbye)(output *o, const uint8_t *wire, uint32_t leds);
    /* A config reload kept this output's URL: `from` is the old output (thread
     * stopped), `o` its replacement, not yet prepared. Continues the stream state
     * receivers track (E1.31 sequence numbers). May be NULL. */
    void (*carry)(output *o, const output *from);
    /* Where a network output sends its first universe or message, and over which
     * socket type, for `--check` to try without sending. NULL for SPI and files. */
    void (*destination)(const output *o, net_addr *addr, int *socktype);
    void (*close)(output *o);
} output_ops;

typedef struct output_stats {
    _Atomic uint64_t frames;  /* frames handed to send() */
    _Atomic uint64_t skipped; /* frames replaced before the thread could send them */
    _Atomic uint64_t packets; /* packets / messages / transfers that left */
    _Atomic uint64_t bytes;
    _Atomic uint64_t errors;     /* failed sends, dropped packets, refused connections */
    _Atomic uint64_t reconnects; /* connections (re)established after the first */
    _Atomic uint64_t limited;    /* frames scaled down by a power budget */
    _Atomic uint64_t latency_sum_ns, latency_count, latency_max_ns; /* publish -> last byte out */
} output_stats;

struct output {
    const output_ops *ops;
    void *impl;
    char name[CFG_NAME_MAX];
    char label[CFG_NAME_MAX + 160]; /* "front (sacn://10.0.0.2?universe=1)" for messages */
    char where[CFG_NAME_MAX + 300];
    const char *default_order;

    /* configuration */
    cfg_range strips, leds;
    char order[4];
    double gamma, brightness, budget_ma, rate;
    cfg_dither dither_mode;
    pipe_power_model power;

    /* open() done; false while a host name that did not resolve is retried (output_thread) */
    _Atomic bool opened;
    char *open_url;                 /* the URL text, re-parsed for each retry */
    bool open_used[URL_MAX_PARAMS]; /* its output keys (gamma=1, ...), already consumed */
    char open_error[400];           /* why the last open failed, "" once opened */
    char env_name[64];              /* output_env's strings, owned (open runs later) */
    uint8_t env_cid[16];
    output_env env;

    /* resolved against the frame layout by output_configure() */
    uint32_t first_led, led_count;
    uint16_t lut[256];
    uint8_t perm[3];
    bool dither;
    double idle_ma, dynamic_ma; /* of the last output_load(), before the level */
    uint64_t sums[3];
    bool configured;

    /* mailbox: back (frame loop) -> pending -> front (output thread) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool sync_ready;
    uint16_t *back, *pending, *front;
    uint32_t pending_scale;
    uint64_t pending_stamp_ns; /* publish time of the frame, 0 for a repeat */
    bool fresh, quit, final;
    bool final_goodbye; /* the final black frame is followed by the protocol goodbye */
    bool thread_running;
    bool stuck; /* its thread never stopped: the output is leaked, never freed */
    pthread_t thread;
    uint8_t *wire;     /* the thread's quantized frame */
    uint8_t *residual; /* dithering state */

    /* error reporting (output thread) */
    char last_error[256];
    uint64_t last_error_log_ns;
    bool in_error;

    output_stats stats;
};

/* Finds the protocol for the URL's scheme and opens it. */
int output_create(const out_config *config, const output_env *env, output **out, char *err,
                  size_t err_len);
void output_free(output *o);

/* The output's first LED and LED count in a frame layout; -1 with the reason when its range
 * does not fit. Changes nothing. */
int output_range(const output *o, uint32_t strip_count, const uint32_t *strip_sizes,
                 uint32_t led_count, uint32_t *first, uint32_t *count, char *err, size_t err_len);

/*
 * Resolves the strip/LED range against a frame layout (strip_count strips of
 * strip_sizes[] LEDs), builds the LUT and calls the protocol's prepare()
 * (for an output not opened yet, its thread does once it opens).
 * `driver_rate` decides dither=auto. The thread must be stopped.
 */
int output_configure(output *o, uint32_t strip_count, const uint32_t *strip_sizes,
                     uint32_t led_count, double driver_rate, char *err, size_t err_len);

int output_start(output *o, char *err, size_t err_len);
/* Stops the thread; with goodbye, first sends a black frame and the protocol goodbye.
 * Waits at most timeout_ms for a send stuck in a device. */
void output_stop(output *o, bool goodbye, int timeout_ms);
/* Stops the thread after a black frame, without the goodbye (the output goes on, with another
 * range). */
void output_stop_black(output *o, int timeout_ms);

/* Stage one for this output's LEDs of `frame_rgb` into the back buffer; sets dynamic_ma. */
void output_load(output *o, const uint8_t *frame_rgb);
/* Hands the back buffer to the thread, scaled by scale_q16 (fade x power). */
void output_submit(output *o, uint32_t scale_q16, uint64_t stamp_ns);

/* For protocols: counts an error and logs it when it differs from the last one
 * (or every 10 s while it persists). */
void output_error(output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For protocols: logs the recovery after errors. */
void output_recovered(output *o, const char *what);

struct net_batch_result;
/* For datagram protocols: counts a batch of `count` packets that
 * net_send_batch sent (packets, bytes, one error per packet not sent) and
 * reports a short batch as an error, a whole one as a recovery. */
void output_count_batch(output *o, const struct net_batch_result *r, size_t count);

/* The protocol table. */
extern const output_ops out_opc_ops, out_sacn_ops, out_artnet_ops, out_ddp_ops, out_spi_ops,
    out_file_ops, out_null_ops;

/* Logging for the whole driver: "sky-driver: " + message + newline on stderr, with control
 * characters escaped (config text and URLs are echoed in messages; an ESC must not reach the
 * terminal). */
void drv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies `in` to `out` with bytes below 0x20, 0x7f, UTF-8-encoded C1 controls and bytes that are
 * not UTF-8 written as \xNN. */
void drv_escape(const char *in, char *out, size_t out_len);
/* CLOCK_MONOTONIC in ns. */
uint64_t drv_now_ns(void);

#endif

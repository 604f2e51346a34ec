/*
 * output.c - the part every output shares: creation from a URL, resolving its
 * LED range against the frame layout, the mailbox between the frame loop and
 * the output's thread, the thread itself (refresh rate, dithering, final
 * black frame and goodbye, retrying an open whose host name did not resolve)
 * and rate-limited error reporting.
 */
#include "output.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"

/* Retrying an output whose host did not resolve: 1 s, doubling to 30 s (a Pi whose network
 * comes up 20 s after boot resolves on the 5th try, and a name that stays bad costs a log line
 * every 30 s at most). */
#define OUTPUT_OPEN_RETRY_MIN_NS 1000000000ull
#define OUTPUT_OPEN_RETRY_MAX_NS 30000000000ull

/* ------------------------------------------------------------ logging */

uint64_t drv_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0. */
static size_t drv_utf8_len(const unsigned char *p) {
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] > 0xf4) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

void drv_escape(const char *in, char *out, size_t out_len) {
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0;
    if (!out_len) return;
    while (*p && n + 1 < out_len) {
        size_t seq = *p >= 0x80 ? drv_utf8_len(p) : 1;
        bool c1 = seq == 2 && p[0] == 0xc2 && p[1] < 0xa0; /* U+0080..U+009F */
        if (seq == 0 || c1 || *p < 0x20 || *p == 0x7f) {
            if (n + 5 > out_len) break;
            n += (size_t)snprintf(out + n, out_len - n, "\\x%02x", *p);
            p++;
            continue;
        }
        if (n + seq + 1 > out_len) break;
        memcpy(out + n, p, seq);
        n += seq;
        p += seq;
    }
    out[n] = '\0';
}

void drv_log(const char *fmt, ...) {
    char line[1024], safe[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    drv_escape(line, safe, sizeof safe);
    /* One fprintf per line so lines from output threads do not interleave. */
    fprintf(stderr, "sky-driver: %s\n", safe);
}

void output_error(output *o, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    atomic_fetch_add_explicit(&o->stats.errors, 1, memory_order_relaxed);
    uint64_t now = drv_now_ns();
    if (strcmp(msg, o->last_error) != 0 || now - o->last_error_log_ns > 10000000000ull) {
        drv_log("output %s: %s", o->label, msg);
        snprintf(o->last_error, sizeof o->last_error, "%s", msg);
        o->last_error_log_ns = now;
    }
    o->in_error = true;
}

void output_recovered(output *o, const char *what) {
    if (!o->in_error) return;
    drv_log("output %s: %s", o->label, what);
    o->in_error = false;
    o->last_error[0] = '\0';
}

void output_count_batch(output *o, const net_batch_result *r, size_t count) {
    atomic_fetch_add_explicit(&o->stats.packets, r->sent, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->stats.bytes, r->bytes, memory_order_relaxed);
    if (r->dropped) {
        output_error(o, "%zu of %zu packets not sent: %s", r->dropped, count,
                     strerror(r->first_errno ? r->first_errno : EIO));
        /* output_error counted one */
        atomic_fetch_add_explicit(&o->stats.errors, r->dropped - 1, memory_order_relaxed);
    } else {
        output_recovered(o, "sending again");
    }
}

/* ------------------------------------------------------------ create */

static const output_ops *const output_table[] = {&out_opc_ops, &out_sacn_ops, &out_artnet_ops,
                                                 &out_ddp_ops, &out_spi_ops,  &out_file_ops,
                                                 &out_null_ops};

int output_create(const out_config *config, const output_env *env, output **out, char *err,
                  size_t err_len) {
    *out = NULL;
    const output_ops *ops = NULL;
    for (size_t i = 0; i < sizeof output_table / sizeof output_table[0]; i++)
        if (strcmp(output_table[i]->scheme, config->url.scheme) == 0) ops = output_table[i];
    if (!ops) {
        snprintf(err, err_len,
                 "%s: `%s`: unknown scheme `%s://` (known: opc, sacn, artnet, ddp, spi, file, "
                 "null)",
                 config->url_where, config->url.text, config->url.scheme);
        return -1;
    }
    output *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    o->ops = ops;
    snprintf(o->name, sizeof o->name, "%s", config->name);
    snprintf(o->label, sizeof o->label, "%s (%.150s)", config->name, config->url.text);
    snprintf(o->where, sizeof o->where, "%s", config->where);
    o->strips = config->strips;
    o->leds = config->leds;
    memcpy(o->order, config->order, sizeof o->order);
    o->gamma = config->gamma;
    o->brightness = config->brightness;
    o->budget_ma = config->budget_ma;
    o->rate = config->rate;
    o->dither_mode = config->dither;
    memcpy(o->power.ma_channel, config->ma_per_channel, sizeof o->power.ma_channel);
    o->power.ma_idle = config->ma_idle;
    o->default_order = "RGB";
    snprintf(o->env_name, sizeof o->env_name, "%s", env->source_name);
    memcpy(o->env_cid, env->cid, sizeof o->env_cid);
    o->env.source_name = o->env_name;
    o->env.cid = o->env_cid;

    drv_url url = config->url; /* the protocol marks its parameters used in this copy */
    char sub[400];
    (void)net_take_unresolved();
    if (ops->open(o, &url, &o->env, sub, sizeof sub) != 0) {
        bool unresolved = net_take_unresolved();
        ops->close(o); /* frees whatever open() got to */
        if (!unresolved) {
            snprintf(err, err_len, "%s: %s", config->url_where, sub);
            free(o);
            return -1;
        }
        /* A name that does not resolve (yet): the output's thread retries it. */
        o->open_url = strdup(config->url.text);
        if (!o->open_url) {
            snprintf(err, err_len, "out of memory");
            free(o);
            return -1;
        }
        for (size_t i = 0; i < config->url.param_count; i++)
            o->open_used[i] = config->url.params[i].used;
        snprintf(o->open_error, sizeof o->open_error, "%s", sub);
    } else {
        const char *unused = url_unused(&url);
        if (unused) {
            snprintf(err, err_len, "%s: `%s`: unknown parameter `%s` for %s://", config->url_where,
                     url.text, unused, url.scheme);
            ops->close(o);
            free(o);
            return -1;
        }
        o->opened = true;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&o->lock, NULL);
    if (rc == 0 && pthread_cond_init(&o->cond, &attr) != 0) {
        pthread_mutex_destroy(&o->lock);
        rc = -1;
    }
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, err_len, "output %s: cannot create its lock", config->name);
        ops->close(o);
        free(o->open_url);
        free(o);
        return -1;
    }
    o->sync_ready = true;
    *out = o;
    return 0;
}

static void output_free_buffers(output *o) {
    free(o->back);
    free(o->pending);
    free(o->front);
    free(o->wire);
    free(o->residual);
    o->back = o->pending = o->front = NULL;
    o->wire = o->residual = NULL;
}

void output_free(output *o) {
    if (!o) return;
    if (o->thread_running) output_stop(o, false, 1000);
    if (o->stuck) return; /* its thread may still touch it */
    o->ops->close(o);
    output_free_buffers(o);
    free(o->open_url);
    if (o->sync_ready) {
        pthread_mutex_destroy(&o->lock);
        pthread_cond_destroy(&o->cond);
    }
    free(o);
}

/* ------------------------------------------------------------ configure */

int output_range(const output *o, uint32_t strip_count, const uint32_t *strip_sizes,
                 uint32_t led_count, uint32_t *first_led, uint32_t *count_leds, char *err,
                 size_t err_len) {
    uint64_t first = 0, count = led_count;
    if (o->strips.set) {
        if (o->strips.last >= strip_count) {
            snprintf(err, err_len, "strips %u-%u, but the frame file has %u strips (0-%u)",
                     o->strips.first, o->strips.last, strip_count, strip_count - 1);
            return -1;
        }
        first = 0;
        for (uint32_t s = 0; s < o->strips.first; s++) first += strip_sizes[s];
        count = 0;
        for (uint32_t s = o->strips.first; s <= o->strips.last; s++) count += strip_sizes[s];
    }
    if (o->leds.set) {
        if (o->leds.last >= count) {
            snprintf(err, err_len, "leds %u-%u, but %s has %llu LEDs (0-%llu)", o->leds.first,
                     o->leds.last, o->strips.set ? "the strip range" : "the frame",
                     (unsigned long long)count, (unsigned long long)(count ? count - 1 : 0));
            return -1;
        }
        first += o->leds.first;
        count = (uint64_t)o->leds.last - o->leds.first + 1;
    }
    if (count == 0 || first + count > led_count) {
        snprintf(err, err_len, "the range selects no LEDs");
        return -1;
    }
    *first_led = (uint32_t)first;
    *count_leds = (uint32_t)count;
    return 0;
}

int output_configure(output *o, uint32_t strip_count, const uint32_t *strip_sizes,
                     uint32_t led_count, double driver_rate, char *err, size_t err_len) {
    char sub[400];
    o->configured = false;
    if (output_range(o, strip_count, strip_sizes, led_count, &o->first_led, &o->led_count, sub,
                     sizeof sub) != 0 ||
        (o->opened && o->ops->prepare(o, o->led_count, sub, sizeof sub) != 0)) {
        snprintf(err, err_len, "%s: output %s: %s", o->where, o->label, sub);
        return -1;
    }
    output_free_buffers(o);
    size_t values = (size_t)o->led_count * 3;
    o->back = calloc(values, sizeof *o->back);
    o->pending = calloc(values, sizeof *o->pending);
    o->front = calloc(values, sizeof *o->front);
    o->wire = calloc(values, 1);
    o->residual = calloc(values, 1);
    if (!o->back || !o->pending || !o->front || !o->wire || !o->residual) {
        output_free_buffers(o);
        snprintf(err, err_len, "output %s: out of memory for %u LEDs", o->label, o->led_count);
        return -1;
    }
    pipe_build_lut(o->lut, o->gamma, o->brightness);
    pipe_order_perm(o->order[0] ? o->order : o->default_order, o->perm);
    o->idle_ma = o->power.ma_idle * o->led_count;
    o->dither = o->dither_mode == CFG_DITHER_ON ||
                (o->dither_mode == CFG_DITHER_AUTO && o->rate > 0 && o->rate >= 2 * driver_rate);
    o->fresh = o->quit = o->final = false;
    o->configured = true;
    return 0;
}

/* ------------------------------------------------------------ frame loop side */

void output_load(output *o, const uint8_t *frame_rgb) {
    memset(o->sums, 0, sizeof o->sums);
    pipe_apply_lut(frame_rgb + (size_t)o->first_led * 3, o->led_count, o->lut, o->perm, o->back,
                   o->sums);
    o->dynamic_ma = pipe_power_dynamic(&o->power, o->sums);
}

void output_submit(output *o, uint32_t scale_q16, uint64_t stamp_ns) {
    pthread_mutex_lock(&o->lock);
    uint16_t *t = o->pending;
    o->pending = o->back;
    o->back = t;
    if (o->fresh) atomic_fetch_add_explicit(&o->stats.skipped, 1, memory_order_relaxed);
    o->pending_scale = scale_q16;
    o->pending_stamp_ns = stamp_ns;
    o->fresh = true;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

/* ------------------------------------------------------------ the output's thread */

static void output_note_latency(output *o, uint64_t stamp_ns) {
    uint64_t now = drv_now_ns();
    if (!stamp_ns || now < stamp_ns) return;
    uint64_t lat = now - stamp_ns;
    atomic_fetch_add_explicit(&o->stats.latency_sum_ns, lat, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->stats.latency_count, 1, memory_order_relaxed);
    uint64_t max = atomic_load_explicit(&o->stats.latency_max_ns, memory_order_relaxed);
    while (lat > max && !atomic_compare_exchange_weak(&o->stats.latency_max_ns, &max, lat)) {
    }
}

static void output_send_front(output *o, uint32_t scale, uint64_t stamp_ns) {
    size_t values = (size_t)o->led_count * 3;
    if (o->dither)
        pipe_dither(o->front, values, scale, o->residual, o->wire);
    else
        pipe_quantize(o->front, values, scale, o->wire);
    uint64_t packets = atomic_load_explicit(&o->stats.packets, memory_order_relaxed);
    o->ops->send(o, o->wire, o->led_count);
    atomic_fetch_add_explicit(&o->stats.frames, 1, memory_order_relaxed);
    /* Only a frame that left has a latency (an OPC output that is not connected sends nothing). */
    if (atomic_load_explicit(&o->stats.packets, memory_order_relaxed) != packets)
        output_note_latency(o, stamp_ns);
}

static void output_deadline(struct timespec *ts, uint64_t ns) {
    ts->tv_sec = (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

/* One try at the deferred open: 0 opened and prepared, 1 the host still does not resolve,
 * -1 any other failure (it will not get better by retrying). Runs without the lock. */
static int output_try_open(output *o, char *err, size_t err_len) {
    drv_url url;
    char sub[400];
    if (url_parse(o->open_url, &url, sub, sizeof sub) != 0) {
        snprintf(err, err_len, "%s", sub);
        return -1;
    }
    for (size_t i = 0; i < url.param_count && i < URL_MAX_PARAMS; i++)
        url.params[i].used = o->open_used[i];
    (void)net_take_unresolved();
    int rc = 0;
    if (o->ops->open(o, &url, &o->env, sub, sizeof sub) != 0) {
        rc = net_take_unresolved() ? 1 : -1;
        snprintf(err, err_len, "%s", sub);
        o->ops->close(o);
    } else if (url_unused(&url)) {
        snprintf(err, err_len, "`%s`: unknown parameter `%s` for %s://", url.text, url_unused(&url),
                 url.scheme);
        o->ops->close(o);
        rc = -1;
    } else if (o->ops->prepare(o, o->led_count, sub, sizeof sub) != 0) {
        snprintf(err, err_len, "%s", sub);
        o->opened = true; /* prepared again by the next output_configure */
        rc = -1;
    } else {
        o->opened = true;
    }
    url_free(&url);
    return rc;
}

/* Opens a deferred output, retrying with back-off; called and returns with the lock held.
 * False when the output must stop (quit, final, or an error retrying cannot fix). */
static bool output_thread_open(output *o) {
    uint64_t delay = OUTPUT_OPEN_RETRY_MIN_NS;
    while (!o->opened) {
        if (o->quit || o->final) return false;
        char err[600];
        pthread_mutex_unlock(&o->lock);
        int rc = output_try_open(o, err, sizeof err);
        pthread_mutex_lock(&o->lock);
        if (rc == 0) break;
        if (rc < 0) {
            drv_log("output %s: %s; this output stays idle until the layout or the config changes",
                    o->label, err);
            while (!o->quit && !o->final) pthread_cond_wait(&o->cond, &o->lock);
            return false;
        }
        output_error(o, "%s; retrying in %.0f s (the other outputs carry on)", err, delay / 1e9);
        struct timespec ts;
        output_deadline(&ts, drv_now_ns() + delay);
        int wait = 0;
        while (!o->quit && !o->final && wait != ETIMEDOUT)
            wait = pthread_cond_timedwait(&o->cond, &o->lock, &ts);
        delay = delay * 2 > OUTPUT_OPEN_RETRY_MAX_NS ? OUTPUT_OPEN_RETRY_MAX_NS : delay * 2;
    }
    o->open_error[0] = '\0';
    o->in_error = false;
    o->last_error[0] = '\0';
    drv_log("output %s: host resolved; sending", o->label);
    return true;
}

static void *output_thread(void *arg) {
    output *o = arg;
    uint64_t period = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
    uint64_t next_due = 0;
    uint32_t scale = 0;
    bool have = false;
    pthread_mutex_lock(&o->lock);
    if (!o->opened && !output_thread_open(o)) {
        pthread_mutex_unlock(&o->lock); /* nothing was ever sent: nothing to blacken */
        return NULL;
    }
    for (;;) {
        bool is_new = false, final = false;
        uint64_t stamp = 0;
        if (o->fresh) {
            uint16_t *t = o->front;
            o->front = o->pending;
            o->pending = t;
            scale = o->pending_scale;
            stamp = o->pending_stamp_ns;
            o->fresh = false;
            final = o->final;
            have = is_new = true;
        }
        if (final) {
            pthread_mutex_unlock(&o->lock);
            output_send_front(o, 0, 0); /* black */
            if (o->final_goodbye && o->ops->goodbye) o->ops->goodbye(o, o->wire, o->led_count);
            return NULL;
        }
        if (o->quit) break;
        uint64_t now = drv_now_ns();
        bool due = period == 0 ? is_new : have && now >= next_due;
        if (due) {
            pthread_mutex_unlock(&o->lock);
            output_send_front(o, scale, stamp);
            if (period) {
                next_due += period;
                if (next_due + period < now) next_due = now + period; /* fell behind: no burst */
            }
            pthread_mutex_lock(&o->lock);
            continue;
        }
        if (is_new && period) {
            /* A new frame before the next refresh: it waits for its slot (newest wins). */
            if (next_due == 0) next_due = now;
            continue;
        }
        if (period && have) {
            struct timespec ts;
            output_deadline(&ts, next_due);
            int rc = 0;
            while (!o->fresh && !o->quit && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&o->cond, &o->lock, &ts);
        } else {
            while (!o->fresh && !o->quit) pthread_cond_wait(&o->cond, &o->lock);
        }
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

int output_start(output *o, char *err, size_t err_len) {
    if (!o->configured) {
        snprintf(err, err_len, "output %s: not configured", o->label);
        return -1;
    }
    /* Signals belong to the frame loop: the thread blocks them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    o->quit = o->final = o->fresh = false;
    int rc = pthread_create(&o->thread, NULL, output_thread, o);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, err_len, "output %s: cannot start its thread: %s", o->label, strerror(rc));
        return -1;
    }
    o->thread_running = true;
    return 0;
}

typedef enum output_stop_mode {
    OUTPUT_STOP_QUIT,
    OUTPUT_STOP_BLACK,
    OUTPUT_STOP_GOODBYE
} output_stop_mode;

static void output_stop_as(output *o, output_stop_mode mode, int timeout_ms) {
    if (!o->thread_running) return;
    pthread_mutex_lock(&o->lock);
    if (mode != OUTPUT_STOP_QUIT) {
        memset(o->pending, 0, (size_t)o->led_count * 3 * sizeof *o->pending);
        o->pending_scale = 0;
        o->pending_stamp_ns = 0;
        o->fresh = true;
        o->final = true;
        o->final_goodbye = mode == OUTPUT_STOP_GOODBYE;
    } else {
        o->quit = true;
    }
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)timeout_ms * 1000000ull;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    if (pthread_timedjoin_np(o->thread, NULL, &ts) != 0) {
        /* A send stuck in a device: leave the thread, it holds only this output. */
        drv_log("output %s: did not stop within %d ms; leaving it", o->label, timeout_ms);
        pthread_detach(o->thread);
        o->stuck = true;
        o->configured = false;
    }
    o->thread_running = false;
}

void output_stop(output *o, bool goodbye, int timeout_ms) {
    output_stop_as(o, goodbye ? OUTPUT_STOP_GOODBYE : OUTPUT_STOP_QUIT, timeout_ms);
}

void output_stop_black(output *o, int timeout_ms) {
    output_stop_as(o, OUTPUT_STOP_BLACK, timeout_ms);
}

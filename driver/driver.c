/*
 * driver.c - the frame loop of sky-driver.
 *
 * Every poll (1 ms by default) it asks the frame source for news. A new
 * frame is sent as soon as a send token is available (tokens accrue at the
 * driver's rate, so a faster writer is sampled down to the rate, newest
 * wins, and a writer at the same rate is forwarded with no added delay).
 * When nothing new arrives the last frame is re-sent every period (1.5
 * periods while the writer is live and merely slower), at the hold/fade
 * level, so receivers that time out (E1.31 after 2.5 s, WLED) keep showing
 * what the driver chose. Outputs whose range does not fit the layout are
 * reported and left idle, after a black frame over the LEDs they had; the
 * rest carry on.
 */
#include "driver.h"
#include "notify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRV_DEFAULT_RATE 60.0
#define DRV_TOKEN_CAP    1.5

static void driver_free_outputs(output **outputs, size_t count) {
    for (size_t i = 0; i < count; i++) output_free(outputs[i]);
    free(outputs);
}

/* Opens every enabled output of `config`; all or nothing. */
static int driver_open_outputs(const drv_config *config, const output_env *env, output ***out,
                               size_t *count, char *err, size_t err_len) {
    output **list = calloc(config->output_count ? config->output_count : 1, sizeof *list);
    size_t n = 0;
    if (!list) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < config->output_count; i++) {
        if (!config->outputs[i].enabled) continue;
        if (output_create(&config->outputs[i], env, &list[n], err, err_len) != 0) {
            driver_free_outputs(list, n);
            return -1;
        }
        if (!list[n]->opened)
            drv_log("output %s: %s; retrying in its own thread, the other outputs carry on",
                    list[n]->label, list[n]->open_error);
        n++;
    }
    *out = list;
    *count = n;
    return 0;
}

static int driver_alloc_tables(driver *d, char *err, size_t err_len) {
    free(d->active);
    free(d->last);
    d->active = calloc(d->output_count ? d->output_count : 1, sizeof *d->active);
    d->last = calloc(d->output_count ? d->output_count : 1, sizeof *d->last);
    if (!d->active || !d->last) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

int driver_create(driver *d, drv_config *config, char *err, size_t err_len) {
    memset(d, 0, sizeof *d);
    d->config = *config;
    memset(config, 0, sizeof *config);
    d->env.source_name = d->config.source_name;
    d->env.cid = d->config.cid;
    if (driver_open_outputs(&d->config, &d->env, &d->outputs, &d->output_count, err, err_len) !=
            0 ||
        driver_alloc_tables(d, err, err_len) != 0) {
        config_free(&d->config);
        free(d->active);
        free(d->last);
        memset(d, 0, sizeof *d);
        return -1;
    }
    source_init(&d->source, d->config.frame_path, d->config.hold_s, d->config.fade_s,
                d->config.stale_s);
    if (!d->source.path) {
        snprintf(err, err_len, "out of memory");
        driver_free(d);
        return -1;
    }
    d->started_ns = drv_now_ns();
    d->last_stats_ns = d->started_ns;
    d->next_stats_ns =
        d->config.stats_s > 0 ? d->started_ns + (uint64_t)(d->config.stats_s * 1e9) : UINT64_MAX;
    d->last_factor_min = 1;
    return 0;
}

static void driver_stop_outputs(driver *d, bool goodbye) {
    for (size_t i = 0; i < d->output_count; i++) {
        output_stop(d->outputs[i], goodbye && d->active[i], 2000);
        d->active[i] = false;
    }
}

void driver_free(driver *d) {
    driver_stop_outputs(d, false);
    driver_free_outputs(d->outputs, d->output_count);
    free(d->active);
    free(d->last);
    source_free(&d->source);
    config_free(&d->config);
    memset(d, 0, sizeof *d);
}

static double driver_rate_for(const driver *d) {
    if (d->config.rate > 0) return d->config.rate;
    if (d->source.fps_nominal > 0) return d->source.fps_nominal;
    return DRV_DEFAULT_RATE;
}

/*
 * Stops a running output before it is configured for another layout or config: with a black
 * frame and the goodbye when it has no range there (it goes idle), a black frame alone when its
 * range moves or shrinks (LEDs it no longer sends to would keep their colours), quietly when
 * its range stays (no flicker).
 */
static void driver_stop_for(output *o, bool fits, uint32_t first, uint32_t count) {
    if (!fits)
        output_stop(o, true, 2000);
    else if (first != o->first_led || count != o->led_count)
        output_stop_black(o, 2000);
    else
        output_stop(o, false, 2000);
}

/* (Re)configures every output for the current layout and starts its thread. */
static void driver_apply_layout(driver *d) {
    const frame_source *s = &d->source;
    for (size_t i = 0; i < d->output_count; i++) {
        uint32_t first = 0, count = 0;
        bool fits = output_range(d->outputs[i], s->strip_count, s->strips, s->led_count, &first,
                                 &count, NULL, 0) == 0;
        if (d->active[i]) driver_stop_for(d->outputs[i], fits, first, count);
        d->active[i] = false;
    }
    d->rate = driver_rate_for(d);
    d->applied_generation = d->source.layout_generation;
    d->applied_rate = d->rate;
    size_t running = 0;
    for (size_t i = 0; i < d->output_count; i++) {
        output *o = d->outputs[i];
        char err[600];
        if (o->stuck) continue;
        if (output_configure(o, d->source.strip_count, d->source.strips, d->source.led_count,
                             d->rate, err, sizeof err) != 0) {
            drv_log("%s; this output stays idle until the layout or the config changes", err);
            continue;
        }
        drv_log("output %s: %u LEDs from LED %u, order %s, gamma %.2f, brightness %.2f%s%s",
                o->label, o->led_count, o->first_led, o->order[0] ? o->order : o->default_order,
                o->gamma, o->brightness, o->dither ? ", dithered" : "",
                o->rate > 0 ? ", own rate" : "");
        if (output_start(o, err, sizeof err) != 0) {
            drv_log("%s; this output stays idle until the layout or the config changes", err);
            continue;
        }
        d->active[i] = true;
        running++;
    }
    drv_log("sending at %.1f fps to %zu of %zu outputs", d->rate, running, d->output_count);
    d->tokens = 1;
    d->tokens_ns = drv_now_ns();
}

static void driver_note_limit(driver *d, uint64_t now, double factor_min, const char *who,
                              double estimate_ma, double budget_ma) {
    bool limited = factor_min < 1;
    if (limited) d->limited_frames++;
    if (limited && (!d->limiting || now - d->limit_log_ns > 10000000000ull)) {
        drv_log("power: %s estimated %.0f mA over its %.0f mA budget: scaling to %.0f%%", who,
                estimate_ma, budget_ma, factor_min * 100);
        d->limit_log_ns = now;
    } else if (!limited && d->limiting) {
        drv_log("power: back within budget");
    }
    d->limiting = limited;
}

/* Stage one for every output, the power budget, then hand-over. */
static void driver_send(driver *d, double level, uint64_t publish_ns, uint64_t now) {
    double factor[d->output_count ? d->output_count : 1];
    double idle_sum = 0, dyn_sum = 0, factor_min = 1, est_over = 0, budget_over = 0;
    const char *who = NULL;
    char who_buf[CFG_NAME_MAX + 16];
    for (size_t i = 0; i < d->output_count; i++) {
        output *o = d->outputs[i];
        factor[i] = 1;
        if (!d->active[i]) continue;
        output_load(o, d->source.frame);
        double dyn = o->dynamic_ma * level;
        factor[i] = pipe_power_factor(o->idle_ma, dyn, o->budget_ma);
        if (factor[i] < factor_min) {
            factor_min = factor[i];
            snprintf(who_buf, sizeof who_buf, "output %s", o->name);
            who = who_buf;
            est_over = o->idle_ma + dyn;
            budget_over = o->budget_ma;
        }
        idle_sum += o->idle_ma;
        dyn_sum += factor[i] * dyn;
    }
    if (d->config.budget_ma > 0) {
        double g = pipe_power_factor(idle_sum, dyn_sum, d->config.budget_ma);
        if (g < 1) {
            for (size_t i = 0; i < d->output_count; i++) factor[i] *= g;
            if (g <= factor_min) {
                who = "all outputs";
                est_over = idle_sum + dyn_sum;
                budget_over = d->config.budget_ma;
            }
            factor_min = fmin(factor_min, g);
        }
    }
    for (size_t i = 0; i < d->output_count; i++) {
        if (!d->active[i]) continue;
        if (factor[i] < 1)
            atomic_fetch_add_explicit(&d->outputs[i]->stats.limited, 1, memory_order_relaxed);
        output_submit(d->outputs[i], pipe_scale_q16(level * factor[i]), publish_ns);
    }
    driver_note_limit(d, now, factor_min, who ? who : "", est_over, budget_over);
    d->last_factor_min = factor_min;
    d->frames_out++;
    d->last_send_ns = now;
}

uint64_t driver_step(driver *d, uint64_t now) {
    src_frame sf;
    source_poll(&d->source, now, &sf);
    uint64_t poll_ns = (uint64_t)(d->config.poll_ms * 1e6);
    if (!d->source.have_layout) return now + poll_ns;
    if (d->applied_generation != d->source.layout_generation ||
        d->applied_rate != driver_rate_for(d))
        driver_apply_layout(d);

    double period_ns = 1e9 / d->rate;
    d->tokens += (double)(now - d->tokens_ns) / period_ns;
    if (d->tokens > DRV_TOKEN_CAP) d->tokens = DRV_TOKEN_CAP;
    d->tokens_ns = now;

    if (sf.new_frame) {
        if (d->pending_new) d->frames_skipped++; /* read but superseded before it could go */
        d->pending_new = true;
        d->pending_publish_ns = sf.publish_ns;
    }
    uint64_t keepalive = (uint64_t)(period_ns * (sf.phase == SRC_LIVE ? 1.5 : 1.0));
    if (d->pending_new && d->tokens >= 1) {
        d->tokens -= 1;
        d->pending_new = false;
        driver_send(d, sf.level, d->pending_publish_ns, now);
    } else if (!d->pending_new && now - d->last_send_ns >= keepalive) {
        d->tokens = d->tokens >= 1 ? d->tokens - 1 : 0;
        driver_send(d, sf.level, 0, now);
    }
    if (now >= d->next_stats_ns) {
        driver_print_stats(d, now);
        d->next_stats_ns = now + (uint64_t)(d->config.stats_s * 1e9);
    }
    uint64_t next = now + poll_ns;
    if (d->pending_new) {
        uint64_t when = now + (uint64_t)((1 - d->tokens) * period_ns);
        if (when < next) next = when;
    }
    return next;
}

static double per_s(uint64_t count, uint64_t ns) {
    return ns ? (double)count * 1e9 / (double)ns : 0;
}

/* The stats lines: rates and latency over the last period, or over the whole run (the final
 * line: the last period may be a fraction of a second). */
static void driver_stats(driver *d, uint64_t now, bool whole_run) {
    uint64_t span = now - (whole_run ? d->started_ns : d->last_stats_ns);
    uint64_t frames_before = whole_run ? 0 : d->last_frames_out;
    const frame_source *s = &d->source;
    char scope[64] = "";
    if (whole_run) snprintf(scope, sizeof scope, " (whole run, %.1f s)", span / 1e9);
    drv_log("stats%s: %s, %llu frames in, %llu out (%.1f/s), %llu dropped (%llu by the writer's "
            "pace, %llu superseded), %llu power-limited, %llu re-attaches",
            scope, source_phase_name(s->phase), (unsigned long long)s->frames_in,
            (unsigned long long)d->frames_out, per_s(d->frames_out - frames_before, span),
            (unsigned long long)(source_dropped(s) + d->frames_skipped),
            (unsigned long long)source_dropped(s), (unsigned long long)d->frames_skipped,
            (unsigned long long)d->limited_frames,
            (unsigned long long)(s->attaches ? s->attaches - 1 : 0));
    for (size_t i = 0; i < d->output_count; i++) {
        output *o = d->outputs[i];
        output_stats *st = &o->stats;
        driver_output_snapshot *was = &d->last[i];
        driver_output_snapshot now_s = {.frames = atomic_load(&st->frames),
                                        .packets = atomic_load(&st->packets),
                                        .errors = atomic_load(&st->errors),
                                        .latency_sum_ns = atomic_load(&st->latency_sum_ns),
                                        .latency_count = atomic_load(&st->latency_count),
                                        .latency_max_run_ns = was->latency_max_run_ns,
                                        .since_ns = was->since_ns};
        driver_output_snapshot zero = {0};
        const driver_output_snapshot *base = whole_run ? &zero : was;
        /* An output a reload created has counted since then, not since the start. */
        uint64_t out_span = whole_run && was->since_ns ? now - was->since_ns : span;
        uint64_t period_max = atomic_exchange(&st->latency_max_ns, 0);
        if (period_max > now_s.latency_max_run_ns) now_s.latency_max_run_ns = period_max;
        uint64_t lat_n = now_s.latency_count - base->latency_count;
        double lat_avg =
            lat_n ? (double)(now_s.latency_sum_ns - base->latency_sum_ns) / lat_n / 1e6 : 0;
        double lat_max = (double)(whole_run ? now_s.latency_max_run_ns : period_max) / 1e6;
        char latency[64] = "latency -";
        if (lat_n)
            snprintf(latency, sizeof latency, "latency avg %.2f ms max %.2f ms", lat_avg, lat_max);
        const char *state = d->active[i] ? "running" : "idle";
        if (d->active[i] && !o->opened) state = "not resolved yet";
        drv_log("  output %s: %s, %llu frames, %llu packets (%.0f/s), %llu errors, %llu "
                "reconnects, %llu skipped, %llu power-limited, %s",
                o->label, state, (unsigned long long)now_s.frames,
                (unsigned long long)now_s.packets, per_s(now_s.packets - base->packets, out_span),
                (unsigned long long)now_s.errors, (unsigned long long)atomic_load(&st->reconnects),
                (unsigned long long)atomic_load(&st->skipped),
                (unsigned long long)atomic_load(&st->limited), latency);
        *was = now_s;
    }
    d->last_stats_ns = now;
    d->last_frames_out = d->frames_out;
}

void driver_print_stats(driver *d, uint64_t now) {
    driver_stats(d, now, false);
}

void driver_print_final_stats(driver *d, uint64_t now) {
    driver_stats(d, now, true);
}

/* The new output with this URL (so no goodbye is due, and its stream continues), or NULL.
 * driver_open_outputs opened the enabled outputs in config order. */
static output *driver_output_for_url(const drv_config *config, output **outputs, size_t count,
                                     const char *url) {
    size_t n = 0;
    for (size_t i = 0; i < config->output_count && n < count; i++) {
        if (!config->outputs[i].enabled) continue;
        if (strcmp(config->outputs[i].url.text, url) == 0) return outputs[n];
        n++;
    }
    return NULL;
}

int driver_reload(driver *d, drv_config *config, char *err, size_t err_len) {
    output **outputs = NULL;
    size_t count = 0;
    output_env env = {config->source_name, config->cid};
    if (driver_open_outputs(config, &env, &outputs, &count, err, err_len) != 0) return -1;
    bool *active = calloc(count ? count : 1, sizeof *active);
    driver_output_snapshot *last = calloc(count ? count : 1, sizeof *last);
    char *path = strdup(config->frame_path);
    if (!active || !last || !path) {
        free(active);
        free(last);
        free(path);
        driver_free_outputs(outputs, count);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < d->output_count; i++) {
        output *old = d->outputs[i], *next = NULL;
        for (size_t k = 0; k < d->config.output_count; k++)
            if (strcmp(d->config.outputs[k].name, old->name) == 0)
                next = driver_output_for_url(config, outputs, count, d->config.outputs[k].url.text);
        if (d->active[i]) {
            uint32_t first = 0, leds = 0;
            const frame_source *s = &d->source;
            bool fits = next && output_range(next, s->strip_count, s->strips, s->led_count, &first,
                                             &leds, NULL, 0) == 0;
            if (!next)
                output_stop(old, true, 2000); /* dropped: black and goodbye */
            else
                driver_stop_for(old, fits, first, leds);
        }
        d->active[i] = false;
        /* A kept output goes on with the same stream: receivers that check E1.31
         * sequence numbers would drop the frames of one that started over. */
        if (next && next->ops == old->ops && next->ops->carry && !old->stuck && old->opened &&
            next->opened)
            next->ops->carry(next, old);
    }
    driver_free_outputs(d->outputs, d->output_count);
    free(d->active);
    free(d->last);
    bool new_path = strcmp(path, d->source.path) != 0;
    config_free(&d->config);
    d->config = *config;
    memset(config, 0, sizeof *config);
    d->env.source_name = d->config.source_name;
    d->env.cid = d->config.cid;
    d->outputs = outputs;
    d->output_count = count;
    d->active = active;
    d->last = last;
    uint64_t reloaded_ns = drv_now_ns();
    for (size_t i = 0; i < count; i++) last[i].since_ns = reloaded_ns;
    d->source.hold_ns = (uint64_t)(d->config.hold_s * 1e9);
    d->source.fade_ns = (uint64_t)(d->config.fade_s * 1e9);
    d->source.stale_ns = (uint64_t)(d->config.stale_s * 1e9);
    if (new_path) source_set_path(&d->source, path);
    free(path);
    d->next_stats_ns =
        d->config.stats_s > 0 ? drv_now_ns() + (uint64_t)(d->config.stats_s * 1e9) : UINT64_MAX;
    if (d->source.have_layout) driver_apply_layout(d);
    drv_log("configuration reloaded: %zu outputs", count);
    return 0;
}

void driver_shutdown(driver *d) {
    driver_stop_outputs(d, true);
}

static void driver_sleep_until(uint64_t when_ns) {
    struct timespec ts = {(time_t)(when_ns / 1000000000ull), (long)(when_ns % 1000000000ull)};
    /* EINTR (a signal) simply ends the sleep early: the loop looks at the flags. */
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

int driver_run(driver *d, const driver_signals *signals, driver_reload_fn reload_fn, void *user) {
    while (!*signals->quit) {
        service_alive(); /* systemd's READY=1, then its watchdog (service/notify.h) */
        uint64_t now = drv_now_ns();
        if (*signals->reload) {
            *signals->reload = 0;
            drv_config next;
            char err[1024];
            if (reload_fn(user, &next, err, sizeof err) != 0 ||
                driver_reload(d, &next, err, sizeof err) != 0) {
                drv_log("reload failed, keeping the running configuration: %s", err);
            }
            config_free(&next);
        }
        if (*signals->report) {
            *signals->report = 0;
            driver_print_stats(d, now);
        }
        driver_sleep_until(driver_step(d, now));
    }
    drv_log("stopping: black frame and goodbyes");
    driver_shutdown(d);
    return 0;
}

/*
 * soak_report.c - judges a finished soak and prints its summary.
 *
 * Fault windows. Each fault opens a window in which pacing does not count:
 * a writer kill from the SIGKILL until the receiver saw the new writer's
 * first frame (plus 1 s to settle); a receiver restart from the close until
 * 1 s after the bind; a driver SIGHUP for 1 s; the start until the first
 * frame plus 1 s; everything after the stop; and a stall of the whole host
 * (the harness's own 20 ms loop a second or more late: memory pressure or
 * CPU starvation on a shared machine) until hold + fade + 1 s after it, as
 * the driver may have seen the writer go stale and faded meanwhile. Such a
 * window excuses only that the driver held or faded; a torn frame, a fade of
 * something but the held frame, or a rising fade are violations in any window. Pattern saves (hot
 * reloads) open no window: they are normal operation and must keep the pace.
 *
 * Checks (each failure is a violation):
 * - no torn frame, no malformed packet, no packet discarded by E1.31's
 *   sequence rule, every frame reassembled whole on loopback (none
 *   incomplete outside restarts);
 * - frames while a writer is live are exact; between a kill and the new
 *   writer's first frame every frame is the held frame, a fade of it (one
 *   level for the whole frame, never rising) or black; faded or black frames
 *   anywhere else are violations; the receivers see the new writer within
 *   30 s of its start, and frames again within 5 s of their own restart;
 * - frame values never go backwards within a pattern except when a new writer
 *   started;
 * - sky run applied every save that landed while it was watching (and kept
 *   its pattern for every save with an error); sky-driver reloaded on every
 *   SIGHUP; at the stop, sky-driver sent a black frame and E1.31
 *   Stream_Terminated for every universe, and both exited 0;
 * - flatness: after the warm-up (and outside writer faults and SIGHUPs for
 *   the driver), descriptors and threads stay identical and resident memory
 *   grows less than the bound (its least-squares trend over the span);
 * - pacing (a violation only with --strict-pacing): the share of intervals
 *   between frames at each receiver within 1.5 frame periods, and the share of
 *   the writer's deadlines that got a frame (from its --stats lines), are at
 *   least the budget.
 */
#include "soak.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define NS_PER_S        1000000000ull
#define SETTLE_NS       NS_PER_S
#define RESUME_LIMIT_NS (30 * NS_PER_S)
#define RX_BACK_NS      (5 * NS_PER_S)
#define FADE_TOL_Q      100 /* 0.01 in level_q units */

typedef struct window {
    uint64_t from, to;
} window;

typedef struct windows {
    window *w;
    size_t n, cap;
} windows;

static void win_add(windows *ws, uint64_t from, uint64_t to) {
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 64;
        window *grown = realloc(ws->w, cap * sizeof *grown);
        if (!grown) return; /* fewer windows: stricter, never looser than asked */
        ws->w = grown;
        ws->cap = cap;
    }
    ws->w[ws->n++] = (window){from, to};
}

static bool win_in(const windows *ws, uint64_t t) {
    for (size_t i = 0; i < ws->n; i++)
        if (t >= ws->w[i].from && t <= ws->w[i].to) return true;
    return false;
}

static bool win_overlaps(const windows *ws, uint64_t a, uint64_t b) {
    for (size_t i = 0; i < ws->n; i++)
        if (a <= ws->w[i].to && b >= ws->w[i].from) return true;
    return false;
}

static uint64_t event_time(const soak_run *r, soak_event_kind kind, size_t nth) {
    size_t seen = 0;
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == kind && seen++ == nth) return r->events[i].t_ns;
    return 0;
}

static size_t event_count(const soak_run *r, soak_event_kind kind) {
    size_t n = 0;
    for (size_t i = 0; i < r->event_count; i++) n += r->events[i].kind == kind;
    return n;
}

/* The time of instance n's spawn and of its kill (UINT64_MAX when never killed). */
static uint64_t spawn_time(const soak_run *r, unsigned n) {
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_SPAWN && r->events[i].arg == (int)n)
            return r->events[i].t_ns;
    return 0;
}

#define EXIT_LEAD_NS (3 * NS_PER_S) /* an exit on its own: the 2 s device timeout + 1 s stale */

/* When instance n ended: our SIGKILL, or its own exit (UINT64_MAX: it ran to the stop). */
static uint64_t kill_time(const soak_run *r, unsigned n) {
    for (size_t i = 0; i < r->event_count; i++)
        if ((r->events[i].kind == SOAK_EV_KILL || r->events[i].kind == SOAK_EV_EXIT) &&
            r->events[i].arg == (int)n)
            return r->events[i].t_ns;
    return UINT64_MAX;
}

/*
 * When a stall of the whole host (the harness's own loop a second or more
 * late) stops mattering: the driver may have seen the writer's heartbeat go
 * stale meanwhile, and then holds and fades for up to hold + fade seconds.
 */
static uint64_t stall_end(const soak_run *r, const soak_event *e) {
    return e->t_ns + (uint64_t)e->arg * 1000000ull + (uint64_t)((r->o.hold_s + r->o.fade_s) * 1e9) +
           NS_PER_S;
}

static bool exited_alone(const soak_run *r, unsigned n) {
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_EXIT && r->events[i].arg == (int)n) return true;
    return false;
}

/* Where the fault of instance n's end starts: a writer that exited on its own stopped
 * publishing (and the driver began to hold) up to EXIT_LEAD_NS before the exit was seen. */
static uint64_t fault_start(const soak_run *r, unsigned n) {
    uint64_t k = kill_time(r, n);
    return k != UINT64_MAX && exited_alone(r, n) && k > EXIT_LEAD_NS ? k - EXIT_LEAD_NS : k;
}

/* The arrival of instance n's first --stats line (0: none). */
static uint64_t first_stats(soak_run *r, unsigned n) {
    uint64_t t = 0;
    pthread_mutex_lock(&r->lines.lock);
    for (size_t i = 0; i < r->lines.count && !t; i++)
        if (r->lines.lines[i].instance == n) t = r->lines.lines[i].t_ns;
    pthread_mutex_unlock(&r->lines.lock);
    return t;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ receivers */

typedef struct rx_judgement {
    uint64_t steady_intervals, within, reload_intervals, reload_within;
    uint64_t p50_us, p99_us, max_us;
    double rate;
    uint64_t pattern_changes, skipped_values, regressions, unexpected_fade;
    uint64_t held, faded, black_in_faults, goodbye_black, start_black;
    double resume_s_max;
} rx_judgement;

/* Per kill: the receiver's resume time (first frame of the new writer). */
static uint64_t rx_resume(const soak_rx *rx, uint64_t kill_t, uint64_t spawn_t, uint64_t limit,
                          soak_verdict *held) {
    held->kind = SOAK_TORN;
    for (size_t i = 0; i < rx->rec_count && rx->recs[i].t_ns < kill_t; i++) {
        if (rx->recs[i].kind == SOAK_EXACT) {
            held->kind = SOAK_EXACT;
            held->pattern = rx->recs[i].pattern;
            held->value = rx->recs[i].value;
        }
    }
    for (size_t i = 0; i < rx->rec_count; i++) {
        const soak_frame_rec *f = &rx->recs[i];
        if (f->t_ns <= spawn_t || f->kind != SOAK_EXACT) continue;
        if (f->t_ns > limit) break;
        if (held->kind != SOAK_EXACT || f->pattern != held->pattern || f->value != held->value)
            return f->t_ns;
    }
    return 0;
}

/* Builds the receiver's windows: start, writer faults, its restarts, SIGHUPs, the stop. */
static void rx_windows(soak_run *r, soak_rx *rx, windows *all, windows *faults) {
    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    if (!stop) stop = UINT64_MAX;
    uint64_t first = 0;
    for (size_t i = 0; i < rx->rec_count && !first; i++)
        if (rx->recs[i].kind == SOAK_EXACT) first = rx->recs[i].t_ns;
    win_add(all, 0, first ? first + SETTLE_NS : UINT64_MAX);
    win_add(faults, 0, first ? first : UINT64_MAX);
    win_add(all, stop, UINT64_MAX);
    win_add(faults, stop, UINT64_MAX);
    for (unsigned n = 1; n <= r->instances; n++) {
        uint64_t k = kill_time(r, n);
        if (k == UINT64_MAX) continue;
        uint64_t spawn = n < r->instances ? spawn_time(r, n + 1) : stop;
        uint64_t next_kill = n + 1 <= r->instances ? kill_time(r, n + 1) : UINT64_MAX;
        uint64_t limit = spawn + RESUME_LIMIT_NS < next_kill ? spawn + RESUME_LIMIT_NS : next_kill;
        if (limit > stop) limit = stop;
        soak_verdict held;
        k = fault_start(r, n);
        uint64_t back = rx_resume(rx, k, spawn, limit, &held);
        if (!back && spawn < stop) {
            soak_violation(r, "receiver %s: no frame from sky run #%u within %.0f s of its start",
                           rx->name, n + 1, (double)(limit - spawn) / 1e9);
            back = limit;
        }
        if (!back) back = stop;
        win_add(all, k, back + SETTLE_NS);
        win_add(faults, k, back);
    }
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_HUP)
            win_add(all, r->events[i].t_ns, r->events[i].t_ns + SETTLE_NS);
    for (size_t i = 0; i < r->event_count; i++) { /* the host stalled everything */
        if (r->events[i].kind != SOAK_EV_STALL) continue;
        uint64_t from = r->events[i].t_ns, to = stall_end(r, &r->events[i]);
        win_add(all, from, to + SETTLE_NS);
        win_add(faults, from, to);
    }
    size_t restarts =
        rx->counts.restarts < SOAK_RX_MAX_RESTARTS ? rx->counts.restarts : SOAK_RX_MAX_RESTARTS;
    for (size_t i = 0; i < restarts; i++)
        win_add(all, rx->restart_closed_ns[i], rx->restart_open_ns[i] + SETTLE_NS);
    /* A restart requested but not yet carried out when the records end. */
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_RX_RESTART && &r->rx[r->events[i].arg] == rx)
            win_add(all, r->events[i].t_ns, r->events[i].t_ns + 3 * NS_PER_S);
}

/* Frames inside writer-fault windows: held, faded (of the held frame, falling), black. */
/* True when the receiver was restarted between a and b (it may have missed what came). */
static bool rx_restarted_between(const soak_rx *rx, uint64_t a, uint64_t b) {
    size_t n =
        rx->counts.restarts < SOAK_RX_MAX_RESTARTS ? rx->counts.restarts : SOAK_RX_MAX_RESTARTS;
    for (size_t i = 0; i < n; i++)
        if (rx->restart_open_ns[i] >= a && rx->restart_closed_ns[i] <= b) return true;
    return false;
}

static void rx_check_faults(soak_run *r, soak_rx *rx, const windows *faults, rx_judgement *j) {
    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    soak_verdict last_exact = {SOAK_TORN, 0, 0, 0};
    uint64_t last_exact_t = 0;
    bool in_fault = false;
    uint16_t last_level = 10000;
    for (size_t i = 0; i < rx->rec_count; i++) {
        const soak_frame_rec *f = &rx->recs[i];
        bool fault = win_in(faults, f->t_ns);
        if (fault && !in_fault) last_level = 10000;
        in_fault = fault;
        if (f->kind == SOAK_EXACT) {
            if (fault && last_exact.kind == SOAK_EXACT && f->pattern == last_exact.pattern &&
                f->value == last_exact.value)
                j->held++;
            last_exact = (soak_verdict){SOAK_EXACT, f->pattern, f->value, 1};
            last_exact_t = f->t_ns;
            continue;
        }
        if (f->kind == SOAK_TORN) continue; /* counted by the receiver */
        if (stop && f->t_ns >= stop) {
            j->goodbye_black += f->kind == SOAK_BLACK;
            continue;
        }
        if (last_exact.kind != SOAK_EXACT) { /* the writer's file exists, no frame in it yet */
            j->start_black += f->kind == SOAK_BLACK;
            continue;
        }
        if (!fault) {
            j->unexpected_fade++;
            continue;
        }
        if (f->kind == SOAK_BLACK) {
            j->black_in_faults++;
            last_level = 0;
            continue;
        }
        j->faded++;
        if (rx_restarted_between(rx, last_exact_t, f->t_ns)) {
            /* The receiver was away when the writer died: it never saw the held
             * frame whole. The first fade it sees names it; the rest must agree. */
            last_exact = (soak_verdict){SOAK_EXACT, f->pattern, f->value, 1};
            last_exact_t = f->t_ns;
        }
        if (last_exact.kind != SOAK_EXACT || f->pattern != last_exact.pattern ||
            f->value != last_exact.value)
            soak_violation(r,
                           "receiver %s at %.2f s: a faded frame of pattern %u frame %u, not of "
                           "the held frame",
                           rx->name, soak_secs(r, f->t_ns), f->pattern, f->value);
        if (f->level_q > last_level + FADE_TOL_Q)
            soak_violation(r, "receiver %s at %.2f s: the fade went up from %.3f to %.3f", rx->name,
                           soak_secs(r, f->t_ns), last_level / 1e4, f->level_q / 1e4);
        last_level = f->level_q;
    }
    if (j->unexpected_fade)
        soak_violation(r, "receiver %s: %llu faded or black frames while a writer was live",
                       rx->name, (unsigned long long)j->unexpected_fade);
}

/* Frame values: pattern changes, skipped values, and going backwards without a new writer. */
/* True between a writer's end and the next one's first stats line (held frames of the old). */
static bool in_writer_change(soak_run *r, uint64_t t) {
    for (unsigned n = 1; n < r->instances; n++) {
        uint64_t end = kill_time(r, n), back = first_stats(r, n + 1);
        if (end != UINT64_MAX && t >= fault_start(r, n) &&
            t <= (back ? back : spawn_time(r, n + 1) + RESUME_LIMIT_NS))
            return true;
    }
    return false;
}

static void rx_check_values(soak_run *r, soak_rx *rx, const windows *all, rx_judgement *j) {
    const soak_frame_rec *prev = NULL;
    uint64_t prev_first = 0; /* when prev's value first arrived (it may be held a while) */
    for (size_t i = 0; i < rx->rec_count; i++) {
        const soak_frame_rec *f = &rx->recs[i];
        if (f->kind != SOAK_EXACT) continue;
        bool same = prev && f->pattern == prev->pattern && f->value == prev->value;
        if (prev && f->pattern != prev->pattern) j->pattern_changes++;
        if (prev && f->pattern == prev->pattern && f->value < prev->value &&
            !(prev->value > 60000 && f->value < 5536)) {
            /* A frame first seen during a writer fault may be the old writer's held frame
             * (a receiver that was down at the kill sees it only then). */
            bool new_writer = in_writer_change(r, prev_first);
            for (size_t e = 0; e < r->event_count; e++)
                new_writer =
                    new_writer || (r->events[e].kind == SOAK_EV_SPAWN &&
                                   r->events[e].t_ns > prev_first && r->events[e].t_ns < f->t_ns);
            if (!new_writer) {
                j->regressions++;
                if (j->regressions <= 3)
                    soak_violation(r,
                                   "receiver %s at %.2f s: pattern %u went back from frame %u "
                                   "to %u with no new writer",
                                   rx->name, soak_secs(r, f->t_ns), f->pattern, prev->value,
                                   f->value);
            }
        }
        if (prev && f->pattern == prev->pattern && f->value > prev->value + 1 &&
            !win_in(all, f->t_ns) && !win_in(all, prev->t_ns))
            j->skipped_values += f->value - prev->value - 1;
        if (!same) prev_first = f->t_ns;
        prev = f;
    }
}

static bool in_reload(const soak_run *r, uint64_t t) {
    for (size_t i = 0; i < r->event_count; i++) {
        const soak_event *e = &r->events[i];
        if ((e->kind == SOAK_EV_SAVE || e->kind == SOAK_EV_SAVE_BAD) && t >= e->t_ns &&
            t <= e->t_ns + SETTLE_NS)
            return true;
    }
    return false;
}

static void rx_pacing(soak_run *r, soak_rx *rx, const windows *all, rx_judgement *j) {
    uint64_t budget_ns = (uint64_t)(1.5e9 / r->o.fps);
    uint64_t *iv = malloc((rx->rec_count ? rx->rec_count : 1) * sizeof *iv);
    size_t n = 0;
    uint64_t total = 0;
    for (size_t i = 1; i < rx->rec_count; i++) {
        uint64_t a = rx->recs[i - 1].t_ns, b = rx->recs[i].t_ns;
        if (win_overlaps(all, a, b)) continue;
        uint64_t d = b - a;
        bool ok = d <= budget_ns;
        if (in_reload(r, b)) {
            j->reload_intervals++;
            j->reload_within += ok;
        }
        j->steady_intervals++;
        j->within += ok;
        total += d;
        if (iv) iv[n++] = d;
    }
    if (iv && n) {
        qsort(iv, n, sizeof *iv, cmp_u64);
        j->p50_us = iv[n / 2] / 1000;
        j->p99_us = iv[(size_t)((double)(n - 1) * 0.99)] / 1000;
        j->max_us = iv[n - 1] / 1000;
        j->rate = total ? (double)n * 1e9 / (double)total : 0;
    }
    free(iv);
}

static void rx_check_restarts(soak_run *r, soak_rx *rx) {
    size_t restarts =
        rx->counts.restarts < SOAK_RX_MAX_RESTARTS ? rx->counts.restarts : SOAK_RX_MAX_RESTARTS;
    for (size_t k = 0; k < restarts; k++) {
        uint64_t open = rx->restart_open_ns[k];
        bool back = false;
        for (size_t i = 0; i < rx->rec_count && !back; i++)
            back = rx->recs[i].t_ns > open && rx->recs[i].t_ns <= open + RX_BACK_NS;
        uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
        if (!back && (!stop || open + RX_BACK_NS < stop))
            soak_violation(r, "receiver %s: no frame within 5 s of its restart at %.1f s", rx->name,
                           soak_secs(r, open));
    }
}

static void rx_judge(soak_run *r, soak_rx *rx, rx_judgement *j) {
    memset(j, 0, sizeof *j);
    windows all = {0}, faults = {0};
    rx_windows(r, rx, &all, &faults);
    rx_check_faults(r, rx, &faults, j);
    rx_check_values(r, rx, &all, j);
    rx_pacing(r, rx, &all, j);
    rx_check_restarts(r, rx);
    const soak_rx_counts *c = &rx->counts;
    if (c->torn)
        soak_violation(r, "receiver %s: %llu torn frames (first: %s)", rx->name,
                       (unsigned long long)c->torn, rx->first_problem);
    if (c->malformed)
        soak_violation(r, "receiver %s: %llu malformed packets (first: %s)", rx->name,
                       (unsigned long long)c->malformed, rx->first_problem);
    if (c->seq_discards)
        soak_violation(r, "receiver %s: %llu packets discarded by the E1.31 sequence rule",
                       rx->name, (unsigned long long)c->seq_discards);
    /* Incomplete frames are expected only where a restart cut one (2 per restart). */
    if (c->incomplete > 2 * c->restarts + 2)
        soak_violation(r,
                       "receiver %s: %llu incomplete frames (mixed %llu, DDP sequence "
                       "breaks %llu) with %llu restarts",
                       rx->name, (unsigned long long)c->incomplete, (unsigned long long)c->mixed,
                       (unsigned long long)c->seq_breaks, (unsigned long long)c->restarts);
    if (rx->recs_lost) soak_violation(r, "receiver %s: out of memory for frame records", rx->name);
    if (rx->bind_failed) soak_violation(r, "receiver %s: %s", rx->name, rx->first_problem);
    if (c->exact == 0) soak_violation(r, "receiver %s: no exact frame at all", rx->name);
    if (j->steady_intervals &&
        (double)j->within < r->o.pacing_budget * (double)j->steady_intervals) {
        if (r->o.pacing_strict)
            soak_violation(r,
                           "receiver %s: pacing: %.1f%% of intervals within 1.5 periods, "
                           "budget %.0f%%",
                           rx->name, 100.0 * (double)j->within / (double)j->steady_intervals,
                           100 * r->o.pacing_budget);
        else
            fprintf(stderr, "soak: note: receiver %s pacing below budget (not enforced)\n",
                    rx->name);
    }
    /* The goodbye: a black frame after the stop, E1.31 Stream_Terminated on every universe. */
    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    if (stop && r->driver.reaped && WIFEXITED(r->driver.status) && !j->goodbye_black)
        soak_violation(r, "receiver %s: no black frame after sky-driver's SIGTERM", rx->name);
    if (rx->proto == SOAK_SACN && stop && c->terminated < rx->universes)
        soak_violation(r,
                       "receiver %s: %llu Stream_Terminated packets at the stop, expected at "
                       "least one per universe (%u)",
                       rx->name, (unsigned long long)c->terminated, rx->universes);
    free(all.w);
    free(faults.w);
}

/* ------------------------------------------------------------ writer */

typedef struct writer_judgement {
    uint64_t rendered, dropped, late, lines;
} writer_judgement;

static void writer_pacing(soak_run *r, writer_judgement *j) {
    memset(j, 0, sizeof *j);
    windows faults = {0};
    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    win_add(&faults, stop ? stop : UINT64_MAX, UINT64_MAX);
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_STALL)
            win_add(&faults, r->events[i].t_ns, stall_end(r, &r->events[i]));
    pthread_mutex_lock(&r->lines.lock);
    for (size_t i = 1; i < r->lines.count; i++) {
        const soak_stat_line *a = &r->lines.lines[i - 1], *b = &r->lines.lines[i];
        if (a->instance != b->instance || b->frame < a->frame) continue; /* first of an instance */
        if (win_overlaps(&faults, a->t_ns, b->t_ns)) continue;
        j->rendered += b->frame - a->frame;
        j->dropped += b->dropped;
        j->late += b->late;
        j->lines++;
    }
    bool lost = r->lines.lost;
    pthread_mutex_unlock(&r->lines.lock);
    if (lost) soak_violation(r, "out of memory for sky run's stats lines");
    uint64_t deadlines = j->rendered + j->dropped;
    if (deadlines && (double)j->rendered < r->o.pacing_budget * (double)deadlines) {
        if (r->o.pacing_strict)
            soak_violation(r, "sky run pacing: %.1f%% of deadlines got a frame, budget %.0f%%",
                           100.0 * (double)j->rendered / (double)deadlines,
                           100 * r->o.pacing_budget);
        else
            fprintf(stderr, "soak: note: sky run pacing below budget (not enforced)\n");
    }
    free(faults.w);
}

/* ------------------------------------------------------------ logs */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 > cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) break;
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

static size_t count_text(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

typedef struct reload_judgement {
    size_t applied, kept, certain_good, maybe_good, certain_bad, maybe_bad;
} reload_judgement;

/* Within a host stall (or 3 s around it): sky run's watcher may see two saves as one. */
static bool near_stall(const soak_run *r, uint64_t t) {
    for (size_t i = 0; i < r->event_count; i++) {
        const soak_event *e = &r->events[i];
        uint64_t end = e->t_ns + (uint64_t)e->arg * 1000000ull;
        if (e->kind == SOAK_EV_STALL && t + 3 * NS_PER_S >= e->t_ns && t <= end + 3 * NS_PER_S)
            return true;
    }
    return false;
}

/* Saves sky run must have applied: after its first stats line, 3 s or more before its end
 * (a compile on a loaded machine can take a second); those nearer its end may or may not be. */
static void writer_reloads(soak_run *r, reload_judgement *j) {
    memset(j, 0, sizeof *j);
    for (unsigned n = 1; n <= r->instances; n++) {
        char path[300];
        snprintf(path, sizeof path, "%s/run-%u.log", r->work, n);
        char *log = read_text(path);
        j->applied += count_text(log, ": reloaded ");
        j->kept += count_text(log, "keeping the running pattern");
        free(log);
        uint64_t from = first_stats(r, n), spawn = spawn_time(r, n), to = fault_start(r, n);
        uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
        if (to == UINT64_MAX) to = stop ? stop : UINT64_MAX;
        if (!from) from = to;
        for (size_t i = 0; i < r->event_count; i++) {
            const soak_event *e = &r->events[i];
            if (e->kind != SOAK_EV_SAVE && e->kind != SOAK_EV_SAVE_BAD) continue;
            if (e->t_ns <= spawn || e->t_ns >= to) continue;
            bool certain = e->t_ns > from && e->t_ns + 3 * NS_PER_S < to && !near_stall(r, e->t_ns);
            if (e->kind == SOAK_EV_SAVE)
                *(certain ? &j->certain_good : &j->maybe_good) += 1;
            else
                *(certain ? &j->certain_bad : &j->maybe_bad) += 1;
        }
    }
    if (j->applied < j->certain_good || j->applied > j->certain_good + j->maybe_good)
        soak_violation(r, "sky run applied %zu reloads, expected %zu (+%zu at the edges)",
                       j->applied, j->certain_good, j->maybe_good);
    if (j->kept < j->certain_bad || j->kept > j->certain_bad + j->maybe_bad)
        soak_violation(r,
                       "sky run kept its pattern %zu times, expected %zu (+%zu) saves with errors",
                       j->kept, j->certain_bad, j->maybe_bad);
}

/*
 * Frames sky-driver sent to one output: its stats lines count from the
 * output's creation, and a config reload creates the outputs anew, so the
 * harness asks for stats (SIGUSR1) just before each SIGHUP and adds up the
 * last count before every "configuration reloaded" and the final one. The
 * few frames between that stats line and the reload are not in the sum.
 */
static uint64_t driver_frames(const char *log, const char *output) {
    char key[64];
    snprintf(key, sizeof key, "  output %s (", output);
    uint64_t total = 0, last = 0;
    for (const char *line = log; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = strstr(line, key);
        if (p && p < line + len) {
            const char *c = strstr(p, "): "); /* then the state, then ", N frames" */
            const char *comma = c ? strchr(c + 3, ',') : NULL;
            unsigned long long f = 0;
            if (comma && comma < line + len && sscanf(comma + 1, " %llu frames", &f) == 1) last = f;
        } else if (strstr(line, "configuration reloaded") &&
                   strstr(line, "configuration reloaded") < line + len) {
            total += last;
            last = 0;
        }
        line = end ? end + 1 : NULL;
    }
    return total + last;
}

/* ------------------------------------------------------------ flatness */

typedef struct flat {
    size_t samples;
    long rss_first, rss_last, rss_min, rss_max; /* kB */
    double trend_kb;                            /* least-squares growth over the span */
    double span_s;
    int fds_min, fds_max, thr_min, thr_max;
    int fds_floor_early, fds_floor_late; /* the fewest descriptors in each half of the samples */
} flat;

static bool driver_steady(soak_run *r, uint64_t t) {
    if (t < r->t0 + (uint64_t)(r->o.warmup_s * 1e9)) return false;
    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    if (stop && t >= stop) return false;
    for (size_t i = 0; i < r->event_count; i++) {
        const soak_event *e = &r->events[i];
        if (e->kind == SOAK_EV_HUP && t + NS_PER_S / 10 >= e->t_ns && t <= e->t_ns + 2 * NS_PER_S)
            return false;
        if (e->kind == SOAK_EV_STALL && t + NS_PER_S / 10 >= e->t_ns && t <= stall_end(r, e))
            return false;
        if (e->kind == SOAK_EV_KILL || e->kind == SOAK_EV_EXIT) {
            uint64_t back = first_stats(r, (unsigned)e->arg + 1);
            uint64_t from = fault_start(r, (unsigned)e->arg);
            if (t + NS_PER_S / 10 >= from && (!back || t <= back + 2 * NS_PER_S)) return false;
        }
    }
    return true;
}

/*
 * The steady samples of one process. Resident memory is judged by its trend,
 * the least-squares line through every sample times the span, not by the
 * first and last samples: sky run's RSS steps between two levels 3.5 MB
 * apart (a buffer taken for each compile and given back), and a fitted line
 * over hundreds of samples is not fooled by where the steps fall.
 */
static bool flat_takes(soak_run *r, int who, const soak_sample *s, uint64_t from,
                       uint64_t until) {
    if (s->who != who || s->t_ns < from || s->t_ns >= until) return false;
    return who != 0 || driver_steady(r, s->t_ns);
}

/*
 * Descriptors are judged by their floor: sky run holds one more while a save's
 * shader is built in its child process (the pipe), so the count moves with the
 * saves; a leak raises the floor, the fewest held when no build ran.
 */
static void flat_fd_floors(soak_run *r, int who, uint64_t from, uint64_t until, flat *f) {
    size_t k = 0;
    for (size_t i = 0; i < r->sample_count; i++) {
        const soak_sample *s = &r->samples[i];
        if (!flat_takes(r, who, s, from, until)) continue;
        int *floor = k++ < f->samples / 2 ? &f->fds_floor_early : &f->fds_floor_late;
        if (*floor < 0 || s->u.fds < *floor) *floor = s->u.fds;
    }
}

static flat flat_of(soak_run *r, int who) {
    flat f;
    memset(&f, 0, sizeof f);
    f.fds_floor_early = f.fds_floor_late = -1;
    uint64_t from = who == 0 ? r->t0 : spawn_time(r, (unsigned)who);
    from += (uint64_t)(r->o.warmup_s * 1e9);
    /* A writer that exited on its own was already going down (threads ending) before. */
    uint64_t until = who != 0 ? fault_start(r, (unsigned)who) : UINT64_MAX;
    uint64_t t_first = 0, t_last = 0;
    double st = 0, sr = 0, stt = 0, str = 0;
    for (size_t i = 0; i < r->sample_count; i++) {
        const soak_sample *s = &r->samples[i];
        if (!flat_takes(r, who, s, from, until)) continue;
        if (f.samples == 0) {
            t_first = s->t_ns;
            f.rss_first = f.rss_min = f.rss_max = s->u.rss_kb;
            f.fds_min = f.fds_max = s->u.fds;
            f.thr_min = f.thr_max = s->u.threads;
        }
        f.samples++;
        t_last = s->t_ns;
        f.rss_last = s->u.rss_kb;
        double t = (double)(s->t_ns - t_first) / 1e9, v = (double)s->u.rss_kb;
        st += t;
        sr += v;
        stt += t * t;
        str += t * v;
        if (s->u.rss_kb < f.rss_min) f.rss_min = s->u.rss_kb;
        if (s->u.rss_kb > f.rss_max) f.rss_max = s->u.rss_kb;
        if (s->u.fds < f.fds_min) f.fds_min = s->u.fds;
        if (s->u.fds > f.fds_max) f.fds_max = s->u.fds;
        if (s->u.threads < f.thr_min) f.thr_min = s->u.threads;
        if (s->u.threads > f.thr_max) f.thr_max = s->u.threads;
    }
    double n = (double)f.samples, den = n * stt - st * st;
    f.span_s = (double)(t_last - t_first) / 1e9;
    if (f.samples >= 2 && den > 0) f.trend_kb = (n * str - st * sr) / den * f.span_s;
    flat_fd_floors(r, who, from, until, &f);
    return f;
}

/* Fewer steady samples than this judge nothing (a trend through 5 points of a
 * 3.5 MB step is noise): such a process is reported, and a soak in which the
 * driver or every sky run is too short to judge fails (flatness_judged). */
#define FLAT_MIN_SAMPLES 6

/* False when the process had too few samples to be judged. */
static bool flat_check(soak_run *r, const char *name, const flat *f, double bound_mb) {
    if (f->samples < FLAT_MIN_SAMPLES) return false;
    if (f->fds_floor_late > f->fds_floor_early)
        soak_violation(r, "%s: open descriptors grew: at least %d in the first half, %d in the "
                          "second",
                       name, f->fds_floor_early, f->fds_floor_late);
    if (f->thr_min != f->thr_max)
        soak_violation(r, "%s: threads changed between %d and %d", name, f->thr_min, f->thr_max);
    double growth_mb = f->trend_kb / 1024.0;
    if (growth_mb > bound_mb && !r->o.rss_unchecked)
        soak_violation(r,
                       "%s: resident memory grew %.1f MB over %.0f s (trend; %ld -> %ld kB), "
                       "bound %.1f MB",
                       name, growth_mb, f->span_s, f->rss_first, f->rss_last, bound_mb);
    return true;
}

static void flat_print(FILE *out, const char *name, const flat *f) {
    if (f->samples == 0) {
        fprintf(out, "    %-14s no samples after the warm-up\n", name);
        return;
    }
    fprintf(out,
            "    %-14s %3zu samples over %.0f s: RSS %.1f -> %.1f MB (%.1f..%.1f), trend %+.2f MB; "
            "fds %d..%d, threads %d..%d%s\n",
            name, f->samples, f->span_s, f->rss_first / 1024.0, f->rss_last / 1024.0,
            f->rss_min / 1024.0, f->rss_max / 1024.0, f->trend_kb / 1024.0, f->fds_min, f->fds_max,
            f->thr_min, f->thr_max, f->samples < FLAT_MIN_SAMPLES ? " (too few to judge)" : "");
}

/* Every sample and event, for a closer look: samples.csv and events.csv in the work directory. */
static void write_samples(soak_run *r) {
    char path[300];
    snprintf(path, sizeof path, "%s/samples.csv", r->work);
    FILE *f = fopen(path, "we");
    if (!f) return;
    fprintf(f, "seconds,process,rss_kb,fds,threads\n");
    for (size_t i = 0; i < r->sample_count; i++) {
        const soak_sample *s = &r->samples[i];
        char who[32] = "sky-driver";
        if (s->who) snprintf(who, sizeof who, "sky-run-%d", s->who);
        fprintf(f, "%.3f,%s,%ld,%d,%d\n", soak_secs(r, s->t_ns), who, s->u.rss_kb, s->u.fds,
                s->u.threads);
    }
    if (fclose(f) != 0) fprintf(stderr, "soak: cannot write %s\n", path);
    static const char *const kinds[] = {"save",       "save-with-error", "kill", "spawn",
                                        "rx-restart", "sighup",          "stop", "exit",
                                        "host-stall"};
    snprintf(path, sizeof path, "%s/events.csv", r->work);
    f = fopen(path, "we");
    if (!f) return;
    fprintf(f, "seconds,event,arg\n");
    for (size_t i = 0; i < r->event_count; i++)
        fprintf(f, "%.3f,%s,%d\n", soak_secs(r, r->events[i].t_ns), kinds[r->events[i].kind],
                r->events[i].arg);
    if (fclose(f) != 0) fprintf(stderr, "soak: cannot write %s\n", path);
}

/* ------------------------------------------------------------ the summary */

static void print_rx(FILE *out, soak_run *r, soak_rx *rx, const rx_judgement *j, uint64_t sent) {
    const soak_rx_counts *c = &rx->counts;
    fprintf(out,
            "  receiver %-4s   127.0.0.1:%d: %llu packets, %llu frames whole (%llu exact, "
            "%llu faded, %llu black), torn %llu, incomplete %llu, malformed %llu, "
            "E1.31 sequence discards %llu, restarts %llu; driver sent about %llu frames\n",
            rx->name, rx->port, (unsigned long long)c->packets, (unsigned long long)c->frames,
            (unsigned long long)c->exact, (unsigned long long)c->scaled,
            (unsigned long long)c->black, (unsigned long long)c->torn,
            (unsigned long long)c->incomplete, (unsigned long long)c->malformed,
            (unsigned long long)c->seq_discards, (unsigned long long)c->restarts,
            (unsigned long long)sent);
    fprintf(out,
            "                   pattern changes %llu, values skipped %llu, backwards %llu; in "
            "writer faults: %llu held, %llu faded, %llu black; black before the first "
            "frame %llu, at the stop %llu\n",
            (unsigned long long)j->pattern_changes, (unsigned long long)j->skipped_values,
            (unsigned long long)j->regressions, (unsigned long long)j->held,
            (unsigned long long)j->faded, (unsigned long long)j->black_in_faults,
            (unsigned long long)j->start_black, (unsigned long long)j->goodbye_black);
    if (rx->proto == SOAK_SACN)
        fprintf(out, "                   sync packets %llu, Stream_Terminated %llu\n",
                (unsigned long long)c->syncs, (unsigned long long)c->terminated);
    double budget_ms = 1500.0 / r->o.fps;
    fprintf(out,
            "                   pacing: %.2f%% of %llu intervals within %.1f ms (budget %.0f%%); "
            "p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.2f frames/s; right after saves %.2f%% of "
            "%llu\n",
            j->steady_intervals ? 100.0 * (double)j->within / (double)j->steady_intervals : 0.0,
            (unsigned long long)j->steady_intervals, budget_ms, 100 * r->o.pacing_budget,
            j->p50_us / 1000.0, j->p99_us / 1000.0, j->max_us / 1000.0, j->rate,
            j->reload_intervals ? 100.0 * (double)j->reload_within / (double)j->reload_intervals
                                : 0.0,
            (unsigned long long)j->reload_intervals);
}

static void print_faults(FILE *out, soak_run *r) {
    for (unsigned n = 1; n <= r->instances; n++) {
        uint64_t k = kill_time(r, n);
        if (k == UINT64_MAX) continue;
        uint64_t spawn = spawn_time(r, n + 1), back = first_stats(r, n + 1);
        const char *what = exited_alone(r, n) ? "exit on its own" : "kill";
        fprintf(out, "  writer %s: #%u at %.1f s, sky run #%u started %.1f s later", what, n,
                soak_secs(r, k), n + 1, spawn ? (double)(spawn - k) / 1e9 : -1.0);
        if (back)
            fprintf(out, ", rendering (first stats line) %.1f s after the %s",
                    (double)(back - k) / 1e9, what);
        fprintf(out, "\n");
    }
}

void soak_report(soak_run *r, FILE *out) {
    rx_judgement j[SOAK_RECEIVERS];
    for (int i = 0; i < SOAK_RECEIVERS; i++) rx_judge(r, &r->rx[i], &j[i]);
    writer_judgement wj;
    writer_pacing(r, &wj);
    reload_judgement rj;
    writer_reloads(r, &rj);

    char *dlog = read_text(r->driver_log);
    size_t hups = event_count(r, SOAK_EV_HUP);
    size_t reloaded = count_text(dlog, "configuration reloaded");
    size_t reload_failed = count_text(dlog, "reload failed");
    if (reloaded != hups || reload_failed)
        soak_violation(r, "sky-driver reloaded its config %zu times (%zu failed) for %zu SIGHUPs",
                       reloaded, reload_failed, hups);
    uint64_t sent[SOAK_RECEIVERS] = {driver_frames(dlog, "sacn"), driver_frames(dlog, "ddp")};

    write_samples(r);
    flat fd = flat_of(r, 0);
    if (!flat_check(r, "sky-driver", &fd, r->o.rss_bound_driver_mb))
        soak_violation(r, "flatness: sky-driver had %zu steady samples, %d are needed to judge it "
                          "(a longer --duration, or fewer faults)",
                       fd.samples, FLAT_MIN_SAMPLES);
    flat fw[SOAK_MAX_INSTANCES + 1];
    unsigned writers_judged = 0;
    for (unsigned n = 1; n <= r->instances; n++) {
        char name[32];
        snprintf(name, sizeof name, "sky run #%u", n);
        fw[n] = flat_of(r, (int)n);
        writers_judged += flat_check(r, name, &fw[n], r->o.rss_bound_run_mb);
    }
    if (r->instances > 0 && writers_judged == 0)
        soak_violation(r, "flatness: no sky run instance had the %d steady samples needed to "
                          "judge it (a longer --duration, or a longer --kill-every)",
                       FLAT_MIN_SAMPLES);

    uint64_t stop = event_time(r, SOAK_EV_STOP, 0);
    fprintf(out, "soak summary\n");
    fprintf(out,
            "  duration         %.1f s (planned %.0f s), %s (%u LEDs) at %g fps, %s, seed %llu\n",
            soak_secs(r, stop), r->o.duration_s, r->layout, r->model.led_count, r->o.fps,
            r->interrupted ? "INTERRUPTED" : "ran to the end", (unsigned long long)r->o.seed);
    fprintf(out,
            "  faults           %zu pattern saves (%zu with errors), %zu writer kills, %zu "
            "receiver restarts, %zu driver SIGHUPs\n",
            event_count(r, SOAK_EV_SAVE) + event_count(r, SOAK_EV_SAVE_BAD) - 1,
            event_count(r, SOAK_EV_SAVE_BAD), event_count(r, SOAK_EV_KILL),
            event_count(r, SOAK_EV_RX_RESTART), hups);
    uint64_t stall_max = 0;
    for (size_t i = 0; i < r->event_count; i++)
        if (r->events[i].kind == SOAK_EV_STALL && (uint64_t)r->events[i].arg > stall_max)
            stall_max = (uint64_t)r->events[i].arg;
    fprintf(out,
            "  host             %zu stalls (the harness's 20 ms loop a second or more late), "
            "longest %.1f s; %zu writer exits on their own\n",
            event_count(r, SOAK_EV_STALL), stall_max / 1e3, event_count(r, SOAK_EV_EXIT));
    fprintf(out,
            "  sky run          %u instances; reloads applied %zu (expected %zu, +%zu at the "
            "edges), kept the pattern on %zu saves with errors\n",
            r->instances, rj.applied, rj.certain_good, rj.maybe_good, rj.kept);
    fprintf(out, "  sky-driver       config reloads %zu of %zu\n", reloaded, hups);
    print_faults(out, r);
    for (int i = 0; i < SOAK_RECEIVERS; i++) print_rx(out, r, &r->rx[i], &j[i], sent[i]);
    uint64_t deadlines = wj.rendered + wj.dropped;
    fprintf(out,
            "  writer pacing    %.2f%% of %llu deadlines got a frame (budget %.0f%%), %llu late, "
            "%llu dropped, over %llu stats lines\n",
            deadlines ? 100.0 * (double)wj.rendered / (double)deadlines : 0.0,
            (unsigned long long)deadlines, 100 * r->o.pacing_budget, (unsigned long long)wj.late,
            (unsigned long long)wj.dropped, (unsigned long long)wj.lines);
    if (r->o.rss_unchecked)
        fprintf(out, "  flatness (after %.0f s warm-up; RSS reported, not checked)\n",
                r->o.warmup_s);
    else
        fprintf(
            out,
            "  flatness (after %.0f s warm-up; bounds: RSS +%.1f MB driver, +%.1f MB sky run)\n",
            r->o.warmup_s, r->o.rss_bound_driver_mb, r->o.rss_bound_run_mb);
    flat_print(out, "sky-driver", &fd);
    for (unsigned n = 1; n <= r->instances; n++) {
        char name[32];
        snprintf(name, sizeof name, "sky run #%u", n);
        flat_print(out, name, &fw[n]);
    }
    fprintf(out, "  verdict          %s (%u violations)\n", r->violations ? "FAIL" : "PASS",
            r->violations);
    fflush(out);
    free(dlog);
}

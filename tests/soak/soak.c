/*
 * soak.c - a soak of the whole pipeline: `sky run --watch` renders into a
 * frame file, `sky-driver` streams it to a loopback E1.31 receiver and a
 * loopback DDP receiver inside this process, and for a configurable time
 * things happen to them: the pattern file is saved every few seconds
 * (rename-save, alternating self-verifying patterns, now and then one with a
 * compile error), the writer is SIGKILLed and started again, a receiver
 * closes its socket and binds again, the driver reloads its config (SIGHUP).
 * A writer that exits on its own is started again (as systemd would); the
 * harness also notes when the whole host stalls (its own loop runs late).
 *
 * Meanwhile every frame the receivers reassemble is checked for tearing
 * (soak_check.c), the processes' resident memory, descriptors and threads are
 * sampled from /proc, and frame times are kept for pacing. soak_report.c
 * judges the run; the exit status is 0 only when every check held.
 *
 *   sky-soak --duration 75            (the CI run)
 *   sky-soak --minutes 30 --strict-pacing
 *
 * The harness's children run in their own process groups with a parent-death
 * signal, and are killed on every exit path (also from atexit), so a soak
 * never leaves processes behind. The stop flag set by SIGINT/SIGTERM is this
 * file's one global, as a signal handler needs.
 */
#include "soak.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SOAK_SKY_BIN
#define SOAK_SKY_BIN "sky"
#endif
#ifndef SOAK_DRIVER_BIN
#define SOAK_DRIVER_BIN "sky-driver"
#endif

#define SOAK_TICK_NS     20000000ull
#define SOAK_SYNC_UNIV   4000
#define SOAK_SOURCE_NAME "sky-soak"
#define SOAK_RX_GAP_MS   1000

static volatile sig_atomic_t soak_stop_signal;

static void soak_on_signal(int sig) {
    soak_stop_signal = sig;
}

void soak_violation(soak_run *r, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: VIOLATION: %s\n", msg);
    r->violations++;
}

double soak_secs(const soak_run *r, uint64_t t_ns) {
    return t_ns >= r->t0 ? (double)(t_ns - r->t0) / 1e9 : -(double)(r->t0 - t_ns) / 1e9;
}

/* ------------------------------------------------------------ options */

static void soak_print_usage(FILE *out) {
    fprintf(out,
            "usage: sky-soak [options]\n"
            "Runs sky run + sky-driver to loopback E1.31 and DDP receivers, with hot reloads,\n"
            "a writer SIGKILL and restart, receiver restarts and driver reloads; checks for\n"
            "torn frames, flat RSS/fds/threads and frame pacing. Exit 0 when all checks hold.\n\n"
            "  --duration S          length of the soak (default 75)\n"
            "  --minutes M           the same in minutes\n"
            "  --reload-every S      save the pattern file every S seconds (default 3)\n"
            "  --bad-every N         every Nth save has a compile error (default 5, 0 = never)\n"
            "  --kill-every S        SIGKILL and restart sky run every S s (default duration/3)\n"
            "  --rx-restart-every S  restart a receiver every S s (default: as --kill-every)\n"
            "  --hup-every S         SIGHUP sky-driver every S s on average, each interval\n"
            "                        drawn from 0.5..1.5 S (default 20, 0 = never)\n"
            "  --seed N              seed of those intervals (default: from the clock)\n"
            "  --sample-every S      sample RSS, fds and threads every S s (default 2)\n"
            "  --warmup S            seconds after a start before flatness counts (default\n"
            "                        duration/10, 10..30)\n"
            "  --layout disc:SxL     the frame (default disc:36x100, 3600 LEDs)\n"
            "  --fps N               sky run's rate (default 60)\n"
            "  --rss-driver MB       allowed RSS growth of sky-driver (default 1)\n"
            "  --rss-run MB          allowed RSS growth of one sky run (default 8)\n"
            "  --no-rss-check        report RSS only (sanitizer builds: ASan's quarantine grows)\n"
            "  --pacing-budget P     share within budget (default 0.95)\n"
            "  --strict-pacing       a pacing miss fails the soak (default: reported only)\n"
            "  --sky PATH            the sky binary (default %s)\n"
            "  --driver PATH         the sky-driver binary (default %s)\n"
            "  --dir DIR             work directory for logs (default: a new one under /tmp)\n"
            "  --keep                keep the work directory (it is kept after a failure)\n",
            SOAK_SKY_BIN, SOAK_DRIVER_BIN);
}

static bool soak_number(const char *opt, const char *text, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "soak: %s: expected a number in %g..%g, got `%s`\n", opt, lo, hi, text);
        return false;
    }
    *out = v;
    return true;
}

static bool soak_layout(soak_options *o, const char *text) {
    unsigned s = 0, l = 0;
    char tail;
    if (sscanf(text, "disc:%ux%u%c", &s, &l, &tail) != 2 || s < 1 || l < 1 || s * l > 200000) {
        fprintf(stderr,
                "soak: --layout: expected disc:STRIPSxLEDS (at most 200000 LEDs), got `%s`\n",
                text);
        return false;
    }
    o->strips = s;
    o->per_strip = l;
    return true;
}

/* Returns -1 to go on, else the exit status. */
static int soak_parse(soak_options *o, int argc, char **argv) {
    enum {
        O_DUR = 256,
        O_MIN,
        O_RELOAD,
        O_BAD,
        O_KILL,
        O_RX,
        O_HUP,
        O_SAMPLE,
        O_WARM,
        O_LAYOUT,
        O_FPS,
        O_RSSD,
        O_RSSR,
        O_BUDGET,
        O_STRICT,
        O_SKY,
        O_DRIVER,
        O_DIR,
        O_KEEP,
        O_HELP,
        O_SEED,
        O_NORSS
    };
    static const struct option opts[] = {{"duration", 1, 0, O_DUR},
                                         {"minutes", 1, 0, O_MIN},
                                         {"reload-every", 1, 0, O_RELOAD},
                                         {"bad-every", 1, 0, O_BAD},
                                         {"kill-every", 1, 0, O_KILL},
                                         {"rx-restart-every", 1, 0, O_RX},
                                         {"hup-every", 1, 0, O_HUP},
                                         {"sample-every", 1, 0, O_SAMPLE},
                                         {"warmup", 1, 0, O_WARM},
                                         {"layout", 1, 0, O_LAYOUT},
                                         {"fps", 1, 0, O_FPS},
                                         {"rss-driver", 1, 0, O_RSSD},
                                         {"rss-run", 1, 0, O_RSSR},
                                         {"pacing-budget", 1, 0, O_BUDGET},
                                         {"strict-pacing", 0, 0, O_STRICT},
                                         {"sky", 1, 0, O_SKY},
                                         {"driver", 1, 0, O_DRIVER},
                                         {"dir", 1, 0, O_DIR},
                                         {"keep", 0, 0, O_KEEP},
                                         {"seed", 1, 0, O_SEED},
                                         {"no-rss-check", 0, 0, O_NORSS},
                                         {"help", 0, 0, O_HELP},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->duration_s = 75;
    o->reload_every_s = 3;
    o->bad_every = 5;
    o->kill_every_s = -1;
    o->rx_restart_every_s = -1;
    o->hup_every_s = 20;
    o->sample_every_s = 2;
    o->warmup_s = -1;
    o->hold_s = 1;
    o->fade_s = 1;
    o->fps = 60;
    o->strips = 36;
    o->per_strip = 100;
    o->sky_bin = SOAK_SKY_BIN;
    o->driver_bin = SOAK_DRIVER_BIN;
    o->rss_bound_driver_mb = 1;
    o->rss_bound_run_mb = 8;
    o->pacing_budget = 0.95;
    int c;
    double v = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case O_DUR:
            ok = soak_number("--duration", optarg, 10, 7 * 86400, &o->duration_s);
            break;
        case O_MIN:
            ok = soak_number("--minutes", optarg, 0.2, 7 * 1440, &v);
            o->duration_s = v * 60;
            break;
        case O_RELOAD:
            ok = soak_number("--reload-every", optarg, 0.5, 3600, &o->reload_every_s);
            break;
        case O_BAD:
            ok = soak_number("--bad-every", optarg, 0, 1000, &v);
            o->bad_every = (int)v;
            break;
        case O_KILL:
            ok = soak_number("--kill-every", optarg, 0, 86400, &o->kill_every_s);
            break;
        case O_RX:
            ok = soak_number("--rx-restart-every", optarg, 0, 86400, &o->rx_restart_every_s);
            break;
        case O_HUP:
            ok = soak_number("--hup-every", optarg, 0, 86400, &o->hup_every_s);
            break;
        case O_SAMPLE:
            ok = soak_number("--sample-every", optarg, 0.1, 600, &o->sample_every_s);
            break;
        case O_WARM:
            ok = soak_number("--warmup", optarg, 0, 3600, &o->warmup_s);
            break;
        case O_LAYOUT:
            ok = soak_layout(o, optarg);
            break;
        case O_FPS:
            ok = soak_number("--fps", optarg, 1, 1000, &o->fps);
            break;
        case O_RSSD:
            ok = soak_number("--rss-driver", optarg, 0, 10000, &o->rss_bound_driver_mb);
            break;
        case O_RSSR:
            ok = soak_number("--rss-run", optarg, 0, 10000, &o->rss_bound_run_mb);
            break;
        case O_BUDGET:
            ok = soak_number("--pacing-budget", optarg, 0, 1, &o->pacing_budget);
            break;
        case O_STRICT:
            o->pacing_strict = true;
            break;
        case O_SKY:
            o->sky_bin = optarg;
            break;
        case O_DRIVER:
            o->driver_bin = optarg;
            break;
        case O_DIR:
            o->dir = optarg;
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case O_NORSS:
            o->rss_unchecked = true;
            break;
        case O_SEED:
            ok = soak_number("--seed", optarg, 1, 4294967295.0, &v);
            o->seed = (uint64_t)v;
            break;
        case O_HELP:
        case 'h':
            soak_print_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "soak: unknown option or missing value: `%s` (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (!ok) return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "soak: unexpected argument `%s`\n", argv[optind]);
        return 2;
    }
    if (o->seed == 0) o->seed = (soak_now_ns() ^ (uint64_t)getpid()) % 4294967295u + 1;
    if (o->kill_every_s < 0) o->kill_every_s = o->duration_s / 3 < 20 ? 20 : o->duration_s / 3;
    if (o->rx_restart_every_s < 0) o->rx_restart_every_s = o->kill_every_s;
    if (o->warmup_s < 0) {
        o->warmup_s = o->duration_s / 10;
        o->warmup_s = o->warmup_s < 10 ? 10 : o->warmup_s > 30 ? 30 : o->warmup_s;
    }
    return -1;
}

/* ------------------------------------------------------------ files */

static bool soak_write_file(const char *path, const char *text) {
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        fprintf(stderr, "soak: cannot write %s: %s\n", tmp, strerror(errno));
        return false;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) { /* the save an editor makes: a rename over the file */
        fprintf(stderr, "soak: cannot save %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

static void soak_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static bool soak_event_add(soak_run *r, soak_event_kind kind, int arg) {
    if (r->event_count == r->event_cap) {
        size_t cap = r->event_cap ? r->event_cap * 2 : 256;
        soak_event *grown = realloc(r->events, cap * sizeof *grown);
        if (!grown) {
            soak_violation(r, "out of memory for the event log");
            return false;
        }
        r->events = grown;
        r->event_cap = cap;
    }
    r->events[r->event_count++] = (soak_event){kind, soak_now_ns(), arg};
    return true;
}

static bool soak_write_ini(soak_run *r) {
    char text[2048];
    snprintf(text, sizeof text,
             "; written by the soak harness (tests/soak): an identity colour pipeline, so\n"
             "; the receivers can check every LED against the pattern\n"
             "[driver]\n"
             "frame = %s\n"
             "hold = %g\n"
             "fade = %g\n"
             "stats = 10\n"
             "name = " SOAK_SOURCE_NAME "\n"
             "\n"
             "[output sacn]\n"
             "url = sacn://127.0.0.1:%d?universe=1&sync=%d\n"
             "gamma = 1\nbrightness = 1\ndither = off\norder = RGB\n"
             "\n"
             "[output ddp]\n"
             "url = ddp://127.0.0.1:%d\n"
             "gamma = 1\nbrightness = 1\ndither = off\norder = RGB\n",
             r->frame_path, r->o.hold_s, r->o.fade_s, r->rx[SOAK_RX_SACN].port, SOAK_SYNC_UNIV,
             r->rx[SOAK_RX_DDP].port);
    return soak_write_file(r->ini_path, text);
}

static bool soak_setup_dirs(soak_run *r) {
    if (r->o.dir) {
        if (mkdir(r->o.dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "soak: cannot create %s: %s\n", r->o.dir, strerror(errno));
            return false;
        }
        snprintf(r->work, sizeof r->work, "%s", r->o.dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(r->work, sizeof r->work, "%s/sky-soak-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(r->work)) {
            fprintf(stderr, "soak: cannot create a directory %s: %s\n", r->work, strerror(errno));
            return false;
        }
    }
    /* The frame file goes to /dev/shm as in production, in a directory of its own
     * (the writer builds each new file beside it), removed at the end. */
    snprintf(r->shm, sizeof r->shm, "/dev/shm/sky-soak-XXXXXX");
    if (!mkdtemp(r->shm)) snprintf(r->shm, sizeof r->shm, "%s/shm", r->work);
    if (mkdir(r->shm, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "soak: cannot create %s: %s\n", r->shm, strerror(errno));
        return false;
    }
    snprintf(r->frame_path, sizeof r->frame_path, "%s/frames", r->shm);
    snprintf(r->pattern_path, sizeof r->pattern_path, "%s/pattern.sky", r->work);
    snprintf(r->ini_path, sizeof r->ini_path, "%s/driver.ini", r->work);
    snprintf(r->driver_log, sizeof r->driver_log, "%s/driver.log", r->work);
    return true;
}

/* ------------------------------------------------------------ processes */

static bool soak_start_driver(soak_run *r) {
    int log = open(r->driver_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) {
        fprintf(stderr, "soak: cannot create %s: %s\n", r->driver_log, strerror(errno));
        return false;
    }
    char *argv[] = {(char *)r->o.driver_bin, "--config", r->ini_path, NULL};
    char err[512];
    int rc = soak_spawn(&r->driver, "sky-driver", argv, log, log, err, sizeof err);
    close(log);
    if (rc != 0) fprintf(stderr, "soak: %s\n", err);
    return rc == 0;
}

static bool soak_start_writer(soak_run *r) {
    if (r->instances >= SOAK_MAX_INSTANCES) {
        soak_violation(r, "more than %d sky run instances", SOAK_MAX_INSTANCES);
        return false;
    }
    unsigned n = r->instances + 1;
    char path[300], fps[32], err[512];
    snprintf(path, sizeof path, "%s/run-%u.log", r->work, n);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    snprintf(path, sizeof path, "%s/run-%u.out", r->work, n);
    r->run_out[n] = fopen(path, "we");
    int p[2];
    if (log < 0 || !r->run_out[n] || pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "soak: cannot set up sky run #%u's output: %s\n", n, strerror(errno));
        if (log >= 0) close(log);
        return false;
    }
    snprintf(fps, sizeof fps, "%g", r->o.fps);
    char *argv[] = {(char *)r->o.sky_bin,
                    "run",
                    r->pattern_path,
                    "--watch",
                    "--stats",
                    "--frame",
                    r->frame_path,
                    "--fps",
                    fps,
                    "--layout",
                    r->layout,
                    NULL};
    int rc = soak_spawn(&r->writers[n], "sky run", argv, p[1], log, err, sizeof err);
    close(p[1]);
    close(log);
    if (rc != 0) {
        close(p[0]);
        fprintf(stderr, "soak: %s\n", err);
        return false;
    }
    r->instances = n;
    if (soak_reader_start(&r->readers[n], p[0], n, r->run_out[n], &r->lines, err, sizeof err) !=
        0) {
        close(p[0]);
        fprintf(stderr, "soak: %s\n", err);
        return false;
    }
    return soak_event_add(r, SOAK_EV_SPAWN, (int)n);
}

static void soak_take_sample(soak_run *r, int who, pid_t pid) {
    soak_usage u;
    if (pid <= 0 || !soak_usage_read(pid, &u)) return;
    if (r->sample_count == r->sample_cap) {
        size_t cap = r->sample_cap ? r->sample_cap * 2 : 1024;
        soak_sample *grown = realloc(r->samples, cap * sizeof *grown);
        if (!grown) return;
        r->samples = grown;
        r->sample_cap = cap;
    }
    r->samples[r->sample_count++] = (soak_sample){soak_now_ns(), who, u};
}

/* ------------------------------------------------------------ the schedule */

typedef struct soak_clock {
    uint64_t next_save, next_kill, next_rx, next_hup, next_sample, next_progress, spawn_at;
    uint64_t hup_at; /* SIGHUP due (stats were asked for just before) */
    unsigned saves, good, kills, rx_restarts;
    bool file_broken; /* the pattern file holds the save with an error */
    uint64_t rng;     /* xorshift64 state */
} soak_clock;

/* Uniform in [0, 1). Reload times are jittered so that a SIGHUP lands anywhere in the
 * driver's output cycles (E1.31's 256 sequence numbers), not always at the same phase. */
static double soak_random(soak_clock *k) {
    k->rng ^= k->rng << 13;
    k->rng ^= k->rng >> 7;
    k->rng ^= k->rng << 17;
    return (double)(k->rng >> 11) / 9007199254740992.0;
}

static uint64_t soak_ns(double s) {
    return (uint64_t)(s * 1e9);
}

/* The next time of a periodic event: one period on, never a burst of events to catch up
 * after the harness itself was stalled (two saves 20 ms apart are one reload). */
static uint64_t soak_next(uint64_t at, uint64_t period, uint64_t now) {
    return at + period > now ? at + period : now + period;
}

static void soak_save(soak_run *r, soak_clock *k) {
    k->saves++;
    if (r->o.bad_every > 0 && k->saves % (unsigned)r->o.bad_every == 0) {
        if (soak_write_file(r->pattern_path, soak_broken_source())) {
            soak_event_add(r, SOAK_EV_SAVE_BAD, 0);
            k->file_broken = true;
        }
        return;
    }
    int p = (int)(++k->good % SOAK_PATTERNS);
    if (soak_write_file(r->pattern_path, soak_pattern_source(p))) {
        soak_event_add(r, SOAK_EV_SAVE, p);
        k->file_broken = false;
    }
}

static void soak_progress(soak_run *r, uint64_t now) {
    soak_rx_counts s = soak_rx_snapshot(&r->rx[SOAK_RX_SACN]);
    soak_rx_counts d = soak_rx_snapshot(&r->rx[SOAK_RX_DDP]);
    soak_usage ud = {0, 0, 0}, ur = {0, 0, 0};
    (void)soak_usage_read(r->driver.pid, &ud);
    soak_child *w = &r->writers[r->instances];
    if (w->pid > 0 && !w->reaped) (void)soak_usage_read(w->pid, &ur);
    fprintf(stderr,
            "soak: %6.0f/%.0f s: sacn %llu frames (%llu torn), ddp %llu frames (%llu torn); "
            "sky-driver %ld kB %d fds; sky run #%u %ld kB %d fds\n",
            soak_secs(r, now), r->o.duration_s, (unsigned long long)s.frames,
            (unsigned long long)s.torn, (unsigned long long)d.frames, (unsigned long long)d.torn,
            ud.rss_kb, ud.fds, r->instances, ur.rss_kb, ur.fds);
}

/*
 * The last "rendering failed" line of instance n's log (empty if none): why it
 * exited, for the summary and for judging the exit.
 */
static void soak_exit_reason(const soak_run *r, unsigned n, char *buf, size_t len) {
    char path[300], line[512];
    snprintf(path, sizeof path, "%s/run-%u.log", r->work, n);
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "rendering failed: ");
        if (!p) continue;
        snprintf(buf, len, "%s", p);
        buf[strcspn(buf, "\n")] = '\0';
    }
    fclose(f);
}

/*
 * Checks both processes are still there. The driver must never exit: false (a
 * violation). A writer that exits on its own is started again a second later,
 * as systemd's Restart=always does in production (examples/systemd), so the
 * soak goes on; the exit is a violation whatever its reason: the runtime
 * counts only time its process ran against the device timeout, so not even
 * a stall of the whole host excuses "did not finish frame".
 */
static bool soak_alive(soak_run *r, soak_clock *k, uint64_t now) {
    char how[128];
    if (soak_exited(&r->driver)) {
        soak_describe_status(r->driver.status, how, sizeof how);
        soak_violation(r, "sky-driver exited on its own (%s); see %s", how, r->driver_log);
        return false;
    }
    soak_child *w = &r->writers[r->instances];
    if (k->spawn_at != 0 || !soak_exited(w)) return true;
    char reason[400];
    soak_describe_status(w->status, how, sizeof how);
    soak_exit_reason(r, r->instances, reason, sizeof reason);
    soak_event_add(r, SOAK_EV_EXIT, (int)r->instances);
    soak_violation(r, "sky run #%u exited on its own (%s%s%s); see %s/run-%u.log", r->instances,
                   how, reason[0] ? ": " : "", reason, r->work, r->instances);
    k->spawn_at = now + soak_ns(1);
    return true;
}

static void soak_loop(soak_run *r) {
    const soak_options *o = &r->o;
    soak_clock k;
    memset(&k, 0, sizeof k);
    k.rng = o->seed * 0x9E3779B97F4A7C15ull | 1;
    uint64_t t0 = r->t0;
    k.next_save = t0 + soak_ns(5);
    k.next_kill = o->kill_every_s > 0 ? t0 + soak_ns(o->kill_every_s) : UINT64_MAX;
    k.next_rx = o->rx_restart_every_s > 0 ? t0 + soak_ns(o->rx_restart_every_s / 2) : UINT64_MAX;
    k.next_hup = o->hup_every_s > 0 ? t0 + soak_ns(o->hup_every_s / 2 + 1) : UINT64_MAX;
    k.next_sample = t0 + soak_ns(1);
    k.next_progress = t0 + soak_ns(30);
    uint64_t last_tick = soak_now_ns();
    for (uint64_t now = soak_now_ns(); now < r->t_end && !soak_stop_signal; now = soak_now_ns()) {
        /* A 20 ms tick that came a second late: the host stalled us too. The event
         * is dated at its start. */
        if (now - last_tick > soak_ns(1) &&
            soak_event_add(r, SOAK_EV_STALL, (int)((now - last_tick) / 1000000)))
            r->events[r->event_count - 1].t_ns = last_tick;
        last_tick = now;
        if (!soak_alive(r, &k, now)) return;
        if (now >= k.next_save) {
            soak_save(r, &k);
            k.next_save = soak_next(k.next_save, soak_ns(o->reload_every_s), now);
        }
        if (now >= k.next_kill) {
            k.next_kill = soak_next(k.next_kill, soak_ns(o->kill_every_s), now);
            if (k.spawn_at == 0 && now + soak_ns(15) < r->t_end) {
                soak_child *w = &r->writers[r->instances];
                soak_signal(w, SIGKILL);
                if (!soak_reap(w, 5000)) soak_violation(r, "sky run did not die of SIGKILL");
                soak_event_add(r, SOAK_EV_KILL, (int)r->instances);
                /* Alternate: back at once (the driver holds) or after the fade (black). */
                double delay = k.kills++ % 2 == 0 ? 0.3 : o->hold_s + o->fade_s + 0.5;
                k.spawn_at = now + soak_ns(delay);
            }
        }
        if (k.spawn_at && now >= k.spawn_at) {
            soak_reader_join(&r->readers[r->instances]); /* its stdout closed when it died */
            k.spawn_at = 0;
            /* A writer cannot start on a file with errors: save a good one first. */
            if (k.file_broken) {
                k.saves++;
                int p = (int)(++k.good % SOAK_PATTERNS);
                if (soak_write_file(r->pattern_path, soak_pattern_source(p))) {
                    soak_event_add(r, SOAK_EV_SAVE, p);
                    k.file_broken = false;
                }
            }
            if (!soak_start_writer(r)) return;
        }
        if (now >= k.next_rx) {
            k.next_rx = soak_next(k.next_rx, soak_ns(o->rx_restart_every_s), now);
            if (now + soak_ns(5) < r->t_end) {
                int which = (int)(k.rx_restarts++ % SOAK_RECEIVERS);
                soak_rx_restart(&r->rx[which], SOAK_RX_GAP_MS);
                soak_event_add(r, SOAK_EV_RX_RESTART, which);
            }
        }
        if (now >= k.next_hup) {
            k.next_hup =
                soak_next(k.next_hup, soak_ns(o->hup_every_s * (0.5 + soak_random(&k))), now);
            if (now + soak_ns(3) < r->t_end) {
                kill(r->driver.pid, SIGUSR1); /* its counts before the reload starts them anew */
                k.hup_at = now + soak_ns(0.15);
            }
        }
        if (k.hup_at && now >= k.hup_at) {
            k.hup_at = 0;
            kill(r->driver.pid, SIGHUP);
            soak_event_add(r, SOAK_EV_HUP, 0);
        }
        if (now >= k.next_sample) {
            k.next_sample = soak_next(k.next_sample, soak_ns(o->sample_every_s), now);
            soak_take_sample(r, 0, r->driver.pid);
            soak_child *w = &r->writers[r->instances];
            if (k.spawn_at == 0 && !w->reaped) soak_take_sample(r, (int)r->instances, w->pid);
        }
        if (now >= k.next_progress) {
            k.next_progress = soak_next(k.next_progress, soak_ns(30), now);
            soak_progress(r, now);
        }
        soak_sleep_ns(SOAK_TICK_NS);
    }
}

/* SIGTERM the driver (goodbye), then the writer; both must exit 0. */
static void soak_stop(soak_run *r) {
    soak_event_add(r, SOAK_EV_STOP, 0);
    char how[128];
    soak_child *procs[2] = {&r->driver, &r->writers[r->instances]};
    for (int i = 0; i < 2; i++) {
        soak_child *c = procs[i];
        if (c->pid <= 0 || c->reaped) continue;
        kill(c->pid, SIGTERM);
        if (!soak_reap(c, 10000)) {
            soak_violation(r, "%s did not exit within 10 s of SIGTERM", c->name);
            soak_signal(c, SIGKILL);
            soak_reap(c, 5000);
        } else if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0) {
            soak_describe_status(c->status, how, sizeof how);
            soak_violation(r, "%s ended with %s after SIGTERM (expected exit 0)", c->name, how);
        }
        if (i == 0) soak_sleep_ns(soak_ns(0.3)); /* the receivers take in the goodbye */
    }
    for (unsigned n = 1; n <= r->instances; n++) soak_reader_join(&r->readers[n]);
    for (int i = 0; i < SOAK_RECEIVERS; i++) soak_rx_stop(&r->rx[i]);
}

/* ------------------------------------------------------------ main */

static bool soak_start(soak_run *r) {
    const char *names[SOAK_RECEIVERS] = {"sacn", "ddp"};
    for (int i = 0; i < SOAK_RECEIVERS; i++) {
        soak_rx *rx = &r->rx[i];
        rx->proto = i == SOAK_RX_SACN ? SOAK_SACN : SOAK_DDP;
        rx->name = names[i];
        rx->model = r->model;
        rx->universe0 = 1;
        rx->sync_universe = SOAK_SYNC_UNIV;
        rx->source_name = SOAK_SOURCE_NAME;
        rx->dump_dir = r->work;
        char err[512];
        if (soak_rx_start(rx, err, sizeof err) != 0) {
            fprintf(stderr, "soak: %s\n", err);
            return false;
        }
    }
    if (!soak_write_ini(r) || !soak_write_file(r->pattern_path, soak_pattern_source(0)))
        return false;
    r->t0 = soak_now_ns();
    r->t_end = r->t0 + soak_ns(r->o.duration_s);
    if (!soak_start_driver(r)) return false;
    soak_event_add(r, SOAK_EV_SAVE, 0);
    return soak_start_writer(r);
}

static void soak_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = soak_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv) {
    static soak_run run; /* large (tables of children); static storage, not the stack */
    soak_run *r = &run;
    int code = soak_parse(&r->o, argc, argv);
    if (code >= 0) return code;
    r->model = (soak_model){r->o.strips, r->o.per_strip, r->o.strips * r->o.per_strip};
    snprintf(r->layout, sizeof r->layout, "disc:%ux%u", r->o.strips, r->o.per_strip);
    for (int i = 0; i < SOAK_RECEIVERS; i++) r->rx[i].fd = -1;
    pthread_mutex_init(&r->lines.lock, NULL);
    soak_install_signals();
    atexit(soak_kill_all);
    if (!soak_setup_dirs(r)) return 2;
    fprintf(stderr,
            "soak: %.0f s, %s at %g fps; saves every %g s, writer kill every %g s, receiver "
            "restart every %g s, driver SIGHUP every %g s (seed %llu); logs in %s\n",
            r->o.duration_s, r->layout, r->o.fps, r->o.reload_every_s, r->o.kill_every_s,
            r->o.rx_restart_every_s, r->o.hup_every_s, (unsigned long long)r->o.seed, r->work);
    bool started = soak_start(r);
    if (started) soak_loop(r);
    r->interrupted = soak_stop_signal != 0;
    if (r->interrupted) soak_violation(r, "interrupted by signal %d", (int)soak_stop_signal);
    soak_stop(r);
    soak_kill_all();
    if (started)
        soak_report(r, stdout);
    else
        soak_violation(r, "the soak could not start (see above)");
    for (unsigned n = 1; n <= r->instances; n++)
        if (r->run_out[n]) fclose(r->run_out[n]);
    soak_remove_dir(r->shm);
    if (r->violations == 0 && !r->o.keep && !r->o.dir)
        soak_remove_dir(r->work);
    else
        fprintf(stderr, "soak: logs kept in %s\n", r->work);
    for (int i = 0; i < SOAK_RECEIVERS; i++) soak_rx_free(&r->rx[i]);
    free(r->events);
    free(r->samples);
    free(r->lines.lines);
    return r->violations ? 1 : 0;
}

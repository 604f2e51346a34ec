/*
 * main.c - sky-driver: frames from the shared frame file to LED hardware.
 *
 *   sky-driver --out ddp://127.0.0.1
 *   sky-driver --config /etc/skyscreen/driver.ini
 *
 * This file owns the process: arguments, the config file, and signals
 * (SIGTERM/SIGINT: black frame and goodbyes, then exit; SIGHUP: reload the
 * config; SIGUSR1: print stats). The signal flags are the documented
 * globals of this program; handlers only set them.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "driver.h"

#ifndef SKY_VERSION
#define SKY_VERSION "0.1.0"
#endif

static volatile sig_atomic_t main_quit, main_reload, main_report;

static void main_on_signal(int sig) {
    if (sig == SIGHUP)
        main_reload = 1;
    else if (sig == SIGUSR1)
        main_report = 1;
    else
        main_quit = 1;
}

static void main_usage(FILE *out) {
    fprintf(out,
            "usage: sky-driver [options]\n"
            "Streams the frames `sky run` publishes to LED hardware and lighting controllers.\n"
            "\n"
            "  -o, --out URL        an output (repeatable):\n"
            "                         opc://HOST[:7890][/CHANNEL]\n"
            "                         sacn://HOST[:5568]?universe=N   sacn://multicast?universe=N\n"
            "                         artnet://HOST[:6454]?universe=N\n"
            "                         ddp://HOST[:4048]\n"
            "                         spi:///dev/spidev0.0?chip=apa102|sk9822|ws2812|sk6812\n"
            "                         file://PATH   null://\n"
            "                       output keys go in the query too: ?order=GRB&brightness=0.5\n"
            "  -c, --config FILE    an INI file with [driver] and [output NAME] sections\n"
            "  -f, --frame PATH     the frame file (default /dev/shm/skyscreen)\n"
            "  -r, --fps HZ         frames per second to send (default: the writer's fps);\n"
            "                       --rate HZ is the same\n"
            "      --hold S         hold the last frame when the writer stops (default 2)\n"
            "      --fade S         then fade to black over S seconds (default 1)\n"
            "      --stale S        heartbeat age that counts as a stale writer (default 1)\n"
            "      --budget-ma MA   total current budget over all outputs (default none)\n"
            "      --stats [S]      seconds between stats lines, 0 = off (default 10)\n"
            "      --name NAME      E1.31 source name\n"
            "      --check          open, size and try every output without sending; report\n"
            "                       every problem, exit 1 if any\n"
            "  -h, --help           this help;  --version  the version\n"
            "\n"
            "Signals: SIGTERM/SIGINT black + goodbye, SIGHUP reload the config, SIGUSR1 stats.\n"
            "Every URL and key: docs/driver.md.\n");
}

typedef struct main_args {
    int argc;
    char **argv;
    bool check;
} main_args;

static const struct option main_options[] = {
    {"out", required_argument, NULL, 'o'},
    {"config", required_argument, NULL, 'c'},
    {"frame", required_argument, NULL, 'f'},
    {"fps", required_argument, NULL, 'r'},
    {"rate", required_argument, NULL, 'r'},
    {"hold", required_argument, NULL, 1},
    {"fade", required_argument, NULL, 2},
    {"stale", required_argument, NULL, 3},
    {"budget-ma", required_argument, NULL, 4},
    {"stats", optional_argument, NULL, 5},
    {"name", required_argument, NULL, 6},
    {"check", no_argument, NULL, 7},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* `--stats` alone: config_init's interval (seconds), as `sky run --stats` has its own default. */
#define MAIN_STATS_DEFAULT "10"

/*
 * The value of `--stats`: after '=', else the next argument when it is a
 * number (`--stats 5`), else the default. Both passes call it: a number left
 * behind would be moved after the options by getopt's permutation in pass 1.
 */
static const char *main_stats_value(int argc, char **argv) {
    if (optarg) return optarg;
    if (optind < argc && argv[optind][0] != '-' && argv[optind][0] != '\0') {
        char *end = NULL;
        (void)strtod(argv[optind], &end);
        if (*end == '\0') return argv[optind++];
    }
    return MAIN_STATS_DEFAULT;
}

/* Builds the whole configuration from the arguments (and the file they name). */
static int main_build_config(void *user, drv_config *config, char *err, size_t err_len) {
    main_args *a = user;
    static const char *const driver_key[] = {
        [1] = "hold", [2] = "fade", [3] = "stale", [4] = "budget_ma", [5] = "stats", [6] = "name"};
    config_init(config);
    /* Pass 1: the config file, so that command-line values override it. */
    optind = 0; /* 0, not 1: glibc then re-initialises fully (this runs again on SIGHUP) */
    opterr = 0;
    int c;
    while ((c = getopt_long(a->argc, a->argv, ":o:c:f:r:hV", main_options, NULL)) != -1) {
        if (c == 5) (void)main_stats_value(a->argc, a->argv); /* its number is not a stray */
        if (c == 'c' && config_load_file(config, optarg, err, err_len) != 0) return -1;
    }
    optind = 0;
    while ((c = getopt_long(a->argc, a->argv, ":o:c:f:r:hV", main_options, NULL)) != -1) {
        char sub[600];
        int rc = 0;
        const char *value = c == 5 ? main_stats_value(a->argc, a->argv) : optarg;
        switch (c) {
        case 'o':
            rc = config_add_url(config, value, err, err_len);
            break;
        case 'c':
            break;
        case 'f':
            rc = config_set_driver_key(config, "frame", value, sub, sizeof sub);
            break;
        case 'r':
            rc = config_set_driver_key(config, "rate", value, sub, sizeof sub);
            break;
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 6:
            rc = config_set_driver_key(config, driver_key[c], value, sub, sizeof sub);
            break;
        case 7:
            a->check = true;
            break;
        case ':':
            snprintf(err, err_len, "option `%s` needs a value", a->argv[optind - 1]);
            return -1;
        default:
            snprintf(err, err_len, "unknown option `%s` (see --help)", a->argv[optind - 1]);
            return -1;
        }
        if (rc != 0) {
            if (c != 'o') {
                const char *opt = a->argv[optind - 1];
                if (value == opt) opt = a->argv[optind - 2]; /* the value was the next argument */
                snprintf(err, err_len, "%s: %s", opt, sub);
            }
            return -1;
        }
    }
    if (optind < a->argc) {
        snprintf(err, err_len, "unexpected argument `%s` (outputs go after --out)",
                 a->argv[optind]);
        return -1;
    }
    return config_finish(config, err, err_len);
}

static int main_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = main_on_signal; /* no SA_RESTART: sleeps end early and the loop looks */
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            main_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("sky-driver %s\n", SKY_VERSION);
            return 0;
        }
    }
    main_args args = {argc, argv, false};
    drv_config config;
    char err[1024];
    if (main_build_config(&args, &config, err, sizeof err) != 0) {
        drv_log("%s", err);
        config_free(&config);
        return 2;
    }
    if (main_install_signals() != 0) {
        perror("sky-driver: sigaction");
        config_free(&config);
        return 2;
    }
    if (args.check) { /* every problem reported; exit 1 when there is any */
        int problems = driver_check(&config);
        config_free(&config);
        return problems ? 1 : 0;
    }
    driver d;
    if (driver_create(&d, &config, err, sizeof err) != 0) {
        drv_log("%s", err);
        return 2;
    }
    drv_log("reading %s; %zu outputs; stop with SIGTERM or Ctrl-C", d.config.frame_path,
            d.output_count);
    driver_signals signals = {&main_quit, &main_reload, &main_report};
    driver_run(&d, &signals, main_build_config, &args);
    driver_print_final_stats(&d, drv_now_ns());
    driver_free(&d);
    return 0;
}

/*
 * sky.c - the `sky` command: dispatch to subcommands, --help, --version.
 *
 * Each subcommand lives in its own cmd_<name>.c; this file only routes and
 * holds the small helpers they share (reading a file, colour detection).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sky/sky.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"check", cmd_check, "check .sky files and print diagnostics"},
    {"compile", cmd_compile, "compile a .sky file to GLSL, SPIR-V or the optimized graph"},
    {"run", cmd_run, "render a pattern live into the shared frame file"},
    {"record", cmd_record, "record every frame of the frame file into an FSEQ file"},
    {"play", cmd_play, "play an FSEQ recording into the frame file at its own rate"},
    {"render", cmd_render, "render a pattern offline into an FSEQ recording"},
    {"params", cmd_params, "list a pattern's params: type, default, range, doc"},
    {"preview", cmd_preview, "render a pattern to a PNG, a GIF, a video or the terminal"},
    {"bench", cmd_bench, "measure frames/s on the device and on the CPU evaluator"},
    {"devices", cmd_devices, "list Vulkan devices"},
    {"layout", cmd_layout, "import another tool's LED map, or describe a layout"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: sky <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `sky <command> --help` for a command's options.\n"
                 "  --help      show this help\n  --version   show the version\n");
}

/* The long options that `prefix` (without its "--") names: exactly, else every one it begins. */
static size_t getopt_matches(const struct option *longs, const char *prefix,
                             const struct option **match) {
    size_t count = 0, len = strlen(prefix);
    *match = NULL;
    for (const struct option *o = longs; o->name; o++) {
        if (strcmp(o->name, prefix) == 0) {
            *match = o;
            return 1;
        }
        if (strncmp(o->name, prefix, len) == 0 && count++ == 0) *match = o;
    }
    return count;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shorts,
               const struct option *longs) {
    char spec[64];
    snprintf(spec, sizeof spec, ":%s", shorts); /* ':' makes a missing value ':' not '?' */
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longs, NULL);
    if (c != '?' && c != ':') return c;
    /* A long option's error leaves optind past it; a short one may sit inside a cluster. */
    const char *arg = argv[optind - 1];
    char name[128];
    if (strncmp(arg, "--", 2) == 0)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(name, sizeof name, "-%c", optopt);
    const struct option *match = NULL;
    size_t matches = name[1] == '-' ? getopt_matches(longs, name + 2, &match) : 0;
    if (c == ':') {
        fprintf(stderr, "%s: option `%s` needs a value\n", cmd, name);
    } else if (optopt != 0 && matches == 1 && match->val == optopt && strchr(arg, '=')) {
        fprintf(stderr, "%s: option `--%s` takes no value (got `%s`)\n", cmd, match->name, arg);
    } else if (optopt != 0) {
        fprintf(stderr, "%s: unknown option `-%c` (see `%s --help`)\n", cmd, optopt, cmd);
    } else if (matches > 1) {
        fprintf(stderr, "%s: option `%s` is ambiguous (see `%s --help`)\n", cmd, name, cmd);
    } else {
        fprintf(stderr, "%s: unknown option `%s` (see `%s --help`)\n", cmd, name, cmd);
    }
    return '?';
}

const char *cli_optional_number(int argc, char **argv) {
    if (optarg) return optarg;
    if (optind >= argc) return NULL;
    const char *next = argv[optind];
    char *end = NULL;
    if (next[0] == '-' || next[0] == '\0') return NULL; /* an option, or `-` (stdin) */
    (void)strtod(next, &end);
    if (*end != '\0') return NULL;
    optind++;
    return next;
}

char *cli_read_file(const char *path, size_t *len, char *error, size_t error_len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(error, error_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    int read_errno = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            read_errno = ferror(f) ? errno : 0;
            break;
        }
        if (n == cap) {
            /* Files past the language's limit are read whole so the compiler can report them. */
            char *bigger = cap > ((size_t)1 << 30) ? NULL : realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    if (f != stdin) fclose(f);
    if (!buf || failed) {
        snprintf(error, error_len, "%s: %s", path,
                 !buf ? "file too large" : read_errno ? strerror(read_errno) : "read error");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

bool cli_use_color(void) {
    const char *no_color = getenv("NO_COLOR");
    return isatty(STDERR_FILENO) && !(no_color && no_color[0]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sky %s\n", sky_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sky: unknown command `%s`\n\n", argv[1]);
    usage(stderr);
    return 2;
}

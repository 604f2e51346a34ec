/*
 * cmd_check.c - `sky check FILE...`: compile each file and print its diagnostics.
 *
 * Diagnostics go to stderr (coloured on a terminal unless NO_COLOR is set or
 * --no-color is given), one "FILE: ok" line per clean file to stdout. The
 * whole pipeline runs, back end included, so a file that checks also
 * compiles. Exit status: 0 all files are clean, 1 some file has errors,
 * 2 a file could not be read or the compiler failed (out of memory, internal).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sky/sky.h"

#define CHECK_CMD "sky check"

static void check_usage(FILE *out) {
    fprintf(out, "usage: sky check [options] FILE...\n\n"
                 "Compiles each .sky file (`-` reads stdin) and prints its errors with the\n"
                 "offending line, and its warnings; prints `FILE: ok` for each file without\n"
                 "errors (with the number of warnings, if any).\n\n"
                 "options:\n"
                 "  --color       colour the diagnostics even when stderr is not a terminal\n"
                 "  --no-color    never colour the diagnostics\n"
                 "  -O0           check without the optimizer's simplifications\n"
                 "  -h, --help    show this help\n\n"
                 "exit status: 0 no errors, 1 some file has errors, 2 a file could not be read\n");
}

/* Prints the diagnostics of one compile; returns false if they could not be rendered. */
static bool print_diagnostics(const sky_diagnostics *diagnostics, bool color) {
    if (sky_diagnostics_count(diagnostics) == 0) return true;
    char *text = NULL;
    if (sky_diagnostics_render(diagnostics, color, &text) != SKY_OK || !text) return false;
    fputs(text, stderr);
    sky_free(text);
    return true;
}

/* Checks one file and returns its exit status (0, 1 or 2). */
static int check_file(const char *path, const sky_compile_options *options, bool color) {
    char error[512];
    size_t len = 0;
    char *source = cli_read_file(path, &len, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: %s\n", CHECK_CMD, error);
        return 2;
    }
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    sky_status status = sky_compile(name, source, len, options, &program, &diagnostics);
    free(source);
    sky_program_free(program);
    if (!print_diagnostics(diagnostics, color))
        fprintf(stderr, "%s: %s: could not render the diagnostics\n", CHECK_CMD, name);
    size_t errors = sky_diagnostics_error_count(diagnostics), warnings = 0;
    for (size_t i = 0; i < sky_diagnostics_count(diagnostics); i++)
        warnings += sky_diagnostics_get(diagnostics, i)->severity == SKY_SEVERITY_WARNING;
    sky_diagnostics_free(diagnostics);
    if (status == SKY_OK) {
        if (warnings)
            printf("%s: ok, %zu warning%s\n", name, warnings, warnings == 1 ? "" : "s");
        else
            printf("%s: ok\n", name);
        return 0;
    }
    if (status == SKY_ERR_COMPILE) {
        fprintf(stderr, "%s: %zu error%s\n", name, errors, errors == 1 ? "" : "s");
        return 1;
    }
    fprintf(stderr, "%s: %s: the compiler failed: %s\n", CHECK_CMD, name, sky_status_str(status));
    return 2;
}

enum { CHECK_OPT_COLOR = 256, CHECK_OPT_NO_COLOR };

static const struct option check_long_options[] = {
    {"color", no_argument, NULL, CHECK_OPT_COLOR},
    {"no-color", no_argument, NULL, CHECK_OPT_NO_COLOR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

int cmd_check(int argc, char **argv) {
    sky_compile_options options;
    sky_compile_options_init(&options);
    bool color = cli_use_color();
    optind = 0;
    int opt;
    while ((opt = cli_getopt(CHECK_CMD, argc, argv, "hO:", check_long_options)) != -1) {
        switch (opt) {
        case 'h':
            check_usage(stdout);
            return 0;
        case CHECK_OPT_COLOR:
        case CHECK_OPT_NO_COLOR:
            color = opt == CHECK_OPT_COLOR;
            break;
        case 'O':
            if (strcmp(optarg, "0") == 0 || strcmp(optarg, "1") == 0) {
                options.opt_level = optarg[0] - '0';
                break;
            }
            fprintf(stderr, "%s: unknown option `-O%s` (-O0 or -O1)\n\n", CHECK_CMD, optarg);
            check_usage(stderr);
            return 2;
        default:
            fputc('\n', stderr);
            check_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: no input files\n\n", CHECK_CMD);
        check_usage(stderr);
        return 2;
    }
    int worst = 0;
    for (int i = optind; i < argc; i++) {
        int code = check_file(argv[i], &options, color);
        if (code > worst) worst = code;
    }
    fflush(stdout);
    return worst;
}

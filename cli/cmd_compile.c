/*
 * cmd_compile.c - `sky compile FILE [--emit spirv|glsl|c|ir] [-o OUT] [-O0]`.
 *
 * Compiles one .sky file and writes one artefact: SPIR-V (the default,
 * written next to the input as NAME.spv), the GLSL compute shader, or the
 * optimized graph as text (both to stdout by default). `-o -` writes to
 * stdout. A file is written through a temporary name and renamed, so a
 * failed run never leaves half an output behind.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sky/abi.h"
#include "sky/sky.h"

#define COMPILE_CMD "sky compile"

typedef enum emit_kind { EMIT_SPIRV, EMIT_GLSL, EMIT_IR, EMIT_C } emit_kind;

typedef struct compile_args {
    const char *input;
    const char *output; /* NULL: the default for the kind */
    emit_kind emit;
    sky_compile_options options;
    bool color;
} compile_args;

static void compile_usage(FILE *out) {
    fprintf(out, "usage: sky compile FILE [--emit spirv|glsl|c|ir] [-o OUT] [-O0]\n\n"
                 "Compiles a .sky file (`-` reads stdin).\n\n"
                 "options:\n"
                 "  --emit spirv  SPIR-V for a Vulkan 1.1 device (default); written to FILE\n"
                 "                with its extension replaced by .spv unless -o is given\n"
                 "  --emit glsl   the GLSL compute shader (docs/shader-abi.md), to stdout\n"
                 "  --emit c      the CPU backend's C kernel (docs/cpu-backend.md), to stdout\n"
                 "  --emit ir     the optimized graph, one instruction per line with its rate,\n"
                 "                to stdout\n"
                 "  -o OUT        write to OUT (`-` for stdout)\n"
                 "  -O0           no simplification (CSE and rate hoisting still run)\n"
                 "  --verify      run the graph verifier after every optimizer pass\n"
                 "  --color, --no-color\n"
                 "                colour the diagnostics or not (default: when stderr is a "
                 "terminal)\n"
                 "  -h, --help    show this help\n\n"
                 "exit status: 0 success, 1 the pattern has errors, 2 usage or system error\n");
}

static bool parse_emit(const char *text, emit_kind *kind) {
    if (strcmp(text, "spirv") == 0)
        *kind = EMIT_SPIRV;
    else if (strcmp(text, "glsl") == 0)
        *kind = EMIT_GLSL;
    else if (strcmp(text, "ir") == 0)
        *kind = EMIT_IR;
    else if (strcmp(text, "c") == 0)
        *kind = EMIT_C;
    else
        return false;
    return true;
}

enum { COMPILE_OPT_EMIT = 256, COMPILE_OPT_VERIFY, COMPILE_OPT_COLOR, COMPILE_OPT_NO_COLOR };

static const struct option compile_long_options[] = {
    {"emit", required_argument, NULL, COMPILE_OPT_EMIT},
    {"verify", no_argument, NULL, COMPILE_OPT_VERIFY},
    {"color", no_argument, NULL, COMPILE_OPT_COLOR},
    {"no-color", no_argument, NULL, COMPILE_OPT_NO_COLOR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* One option into args: -1 taken, else the exit status (the message printed). */
static int compile_take_option(compile_args *args, int opt) {
    switch (opt) {
    case 'h':
        compile_usage(stdout);
        return 0;
    case 'o':
        args->output = optarg;
        return -1;
    case COMPILE_OPT_EMIT:
        if (parse_emit(optarg, &args->emit)) return -1;
        fprintf(stderr, "%s: unknown --emit kind `%s` (spirv, glsl, c or ir)\n", COMPILE_CMD,
                optarg);
        return 2;
    case 'O':
        if (strcmp(optarg, "0") == 0 || strcmp(optarg, "1") == 0) {
            args->options.opt_level = optarg[0] - '0';
            return -1;
        }
        fprintf(stderr, "%s: unknown option `-O%s` (-O0 or -O1)\n\n", COMPILE_CMD, optarg);
        compile_usage(stderr);
        return 2;
    case COMPILE_OPT_VERIFY:
        args->options.verify_graph = true;
        return -1;
    case COMPILE_OPT_COLOR:
    case COMPILE_OPT_NO_COLOR:
        args->color = opt == COMPILE_OPT_COLOR;
        return -1;
    default: /* cli_getopt printed the error */
        fputc('\n', stderr);
        compile_usage(stderr);
        return 2;
    }
}

/* Returns -1 when the arguments are fine, else the exit status to return. */
static int parse_args(int argc, char **argv, compile_args *args) {
    memset(args, 0, sizeof *args);
    sky_compile_options_init(&args->options);
    args->color = cli_use_color();
    optind = 0;
    int opt;
    while ((opt = cli_getopt(COMPILE_CMD, argc, argv, "ho:O:", compile_long_options)) != -1) {
        int code = compile_take_option(args, opt);
        if (code >= 0) return code;
    }
    for (int i = optind; i < argc; i++) {
        if (args->input) {
            fprintf(stderr, "%s: one input file at a time (got `%s` and `%s`)\n", COMPILE_CMD,
                    args->input, argv[i]);
            return 2;
        }
        args->input = argv[i];
    }
    if (!args->input) {
        fprintf(stderr, "%s: no input file\n\n", COMPILE_CMD);
        compile_usage(stderr);
        return 2;
    }
    return -1;
}

/* NAME.sky -> NAME.spv (NAME.spv appended when there is no .sky extension). */
static char *default_spirv_path(const char *input) {
    size_t n = strlen(input);
    if (n > 4 && strcmp(input + n - 4, ".sky") == 0) n -= 4;
    char *path = malloc(n + 5);
    if (!path) return NULL;
    memcpy(path, input, n);
    memcpy(path + n, ".spv", 5);
    return path;
}

/* Writes data to path (or stdout for "-") through a temporary file and a rename. */
static int write_output(const char *path, const void *data, size_t len) {
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "%s: writing to stdout: %s\n", COMPILE_CMD, strerror(errno));
            return 2;
        }
        return 0;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) {
        fprintf(stderr, "%s: out of memory\n", COMPILE_CMD);
        return 2;
    }
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    int saved = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        fprintf(stderr, "%s: writing %s: %s\n", COMPILE_CMD, path, strerror(saved));
        remove(tmp);
    }
    free(tmp);
    return ok ? 0 : 2;
}

static int emit_failed(const char *what, sky_status status, char *error) {
    fprintf(stderr, "%s: emitting %s failed: %s\n", COMPILE_CMD, what, sky_status_str(status));
    if (error) fprintf(stderr, "%s\n", error);
    sky_free(error);
    return 2;
}

static int emit_spirv(const sky_program *program, const compile_args *args) {
    char *path = NULL;
    const char *out = args->output;
    if (!out) {
        if (strcmp(args->input, "-") == 0) {
            out = "-";
        } else if (!(path = default_spirv_path(args->input))) {
            fprintf(stderr, "%s: out of memory\n", COMPILE_CMD);
            return 2;
        } else {
            out = path;
        }
    }
    if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "%s: refusing to write binary SPIR-V to a terminal; use -o FILE\n",
                COMPILE_CMD);
        free(path);
        return 2;
    }
    uint32_t *words = NULL;
    size_t count = 0;
    char *error = NULL;
    sky_status status = sky_program_emit_spirv(program, NULL, &words, &count, &error);
    int code = status == SKY_OK ? write_output(out, words, count * sizeof *words)
                                : emit_failed("SPIR-V", status, error);
    if (status == SKY_OK) sky_free(error);
    sky_free(words);
    free(path);
    return code;
}

static int emit_text(const sky_program *program, const compile_args *args) {
    char *text = NULL;
    size_t len = 0;
    sky_status status;
    if (args->emit == EMIT_GLSL) {
        status = sky_program_emit_glsl(program, NULL, &text, &len);
    } else if (args->emit == EMIT_C) {
        status = sky_program_emit_c(program, &text, &len);
    } else {
        status = sky_program_emit_ir(program, &text);
        len = text ? strlen(text) : 0;
    }
    if (status != SKY_OK) {
        sky_free(text);
        return emit_failed(args->emit == EMIT_GLSL ? "GLSL" : (args->emit == EMIT_C ? "C" : "IR"),
                           status, NULL);
    }
    int code = write_output(args->output ? args->output : "-", text, len);
    sky_free(text);
    return code;
}

int cmd_compile(int argc, char **argv) {
    compile_args args;
    int code = parse_args(argc, argv, &args);
    if (code >= 0) return code;

    char error[512];
    size_t len = 0;
    char *source = cli_read_file(args.input, &len, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: %s\n", COMPILE_CMD, error);
        return 2;
    }
    const char *name = strcmp(args.input, "-") == 0 ? "<stdin>" : args.input;
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    sky_status status = sky_compile(name, source, len, &args.options, &program, &diagnostics);
    free(source);
    if (sky_diagnostics_count(diagnostics) > 0) {
        char *text = NULL;
        if (sky_diagnostics_render(diagnostics, args.color, &text) == SKY_OK && text)
            fputs(text, stderr);
        else
            fprintf(stderr, "%s: could not render the diagnostics\n", COMPILE_CMD);
        sky_free(text);
    }
    size_t errors = sky_diagnostics_error_count(diagnostics);
    sky_diagnostics_free(diagnostics);
    if (status != SKY_OK) {
        if (status == SKY_ERR_COMPILE) {
            fprintf(stderr, "%s: %zu error%s; nothing was written\n", name, errors,
                    errors == 1 ? "" : "s");
            return 1;
        }
        fprintf(stderr, "%s: the compiler failed: %s\n", COMPILE_CMD, sky_status_str(status));
        return 2;
    }
    code = args.emit == EMIT_SPIRV ? emit_spirv(program, &args) : emit_text(program, &args);
    sky_program_free(program);
    return code;
}

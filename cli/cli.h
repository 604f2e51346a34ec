/*
 * cli.h - the `sky` command's subcommands.
 *
 * Each subcommand is one file (cmd_<name>.c) with one entry point that takes
 * its arguments as main does (argv[0] is the subcommand's name) and returns
 * the process exit code: 0 success, 1 the input had errors (diagnostics
 * printed), 2 usage or system error.
 */
#ifndef SKY_CLI_H
#define SKY_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct option;

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_params(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_play(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_layout(int argc, char **argv);

/*
 * getopt_long over a subcommand's arguments, with the CLI's messages: options
 * may come before or after file names, `--opt VALUE` and `--opt=VALUE` are the
 * same, `--` ends the options and `-` is a file name (stdin). `shorts` is
 * getopt's short-option string without the leading ':'. Returns the option's
 * value, -1 after the last option (file names start at optind), or '?' after
 * printing `cmd: unknown option ...`, `... needs a value` or `... takes no
 * value`. Set optind = 0 before the first call so parsing starts afresh.
 */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shorts,
               const struct option *longs);
/*
 * The value of an option declared optional_argument: the text after '=', else
 * the next argument when it is a number (so `--stats 5` and `--stats=5` are
 * the same, and `--stats FILE` leaves FILE alone), else NULL.
 */
const char *cli_optional_number(int argc, char **argv);

/* Reads a whole file (or stdin for "-") into a malloc'd NUL-terminated buffer. */
char *cli_read_file(const char *path, size_t *len, char *error, size_t error_len);
/* True when diagnostics should be coloured: stderr is a tty and NO_COLOR is unset. */
bool cli_use_color(void);

/* --validate (cmd_devices.c): sets $SKY_VULKAN_VALIDATE, so that every runtime of the
 * command and of its build processes runs under the validation layer. False after
 * printing why it could not. */
bool cli_validation_enable(const char *cmd);
/* With validation on: prints how many messages the layer reported in this process (0 too)
 * and returns true when there were any. Silent and false with it off. */
bool cli_validation_summary(const char *cmd);

#endif

/*
 * cli.h - the `sky` command's subcommands.
 *
 * Each subcommand is one file (cmd_<name>.c) with one entry point that takes
 * the arguments after the subcommand name and returns the process exit code:
 * 0 success, 1 the input had errors (diagnostics printed), 2 usage or system error.
 */
#ifndef SKY_CLI_H
#define SKY_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cmd_check(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_devices(int argc, char **argv);

/* Reads a whole file (or stdin for "-") into a malloc'd NUL-terminated buffer. */
char *cli_read_file(const char *path, size_t *len, char *error, size_t error_len);
/* True when diagnostics should be coloured: stderr is a tty and NO_COLOR is unset. */
bool cli_use_color(void);

#endif

/* cmd_run.c: `sky run`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky run: not built yet\n");
    return 2;
}

/* cmd_compile.c: `sky compile`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_compile(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky compile: not built yet\n");
    return 2;
}

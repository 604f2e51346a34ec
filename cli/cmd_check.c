/* cmd_check.c: `sky check`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_check(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky check: not built yet\n");
    return 2;
}

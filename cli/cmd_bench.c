/* cmd_bench.c: `sky bench`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky bench: not built yet\n");
    return 2;
}

/* cmd_preview.c: `sky preview`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_preview(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky preview: not built yet\n");
    return 2;
}

/* cmd_devices.c: `sky devices`, being written. */
#include <stdio.h>

#include "cli.h"

int cmd_devices(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sky devices: not built yet\n");
    return 2;
}

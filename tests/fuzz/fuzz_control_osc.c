/*
 * fuzz_control_osc.c - libFuzzer target: an OSC datagram as the control API's
 * UDP server receives it (control_osc_parse_datagram, cli/control_parse.c:
 * liblo's lo_message_deserialise, then the /sky/... addresses).
 *
 * Input: the datagram's bytes. Checked beyond "no crash": a refused datagram
 * has a message, and an accepted one is a well-formed command (param: a
 * name and 1 to 3 finite numbers; brightness and crossfade one finite number;
 * only the verbs OSC has: a new address must be added here too).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                     \
    do {                                                   \
        fprintf(stderr, "fuzz_control_osc: " __VA_ARGS__); \
        fputc('\n', stderr);                               \
        abort();                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    control_command command;
    char message[512] = "";
    if (!control_osc_parse_datagram(data, size, &command, message, sizeof message)) {
        if (!message[0]) FUZZ_FAIL("refused without a message");
        return 0;
    }
    switch (command.verb) {
    case CONTROL_PARAM:
        if (!command.name[0] || command.count < 1 || command.count > 3)
            FUZZ_FAIL("param \"%s\" with %zu values", command.name, command.count);
        for (size_t i = 0; i < command.count; i++)
            if (!isfinite(command.values[i])) FUZZ_FAIL("param value %zu not finite", i);
        break;
    case CONTROL_BRIGHTNESS:
    case CONTROL_CROSSFADE: /* the show clamps the time; the parser gives one finite number */
        if (command.count != 1 || !isfinite(command.values[0]))
            FUZZ_FAIL("verb %d: %zu values", (int)command.verb, command.count);
        break;
    case CONTROL_BLACKOUT:
    case CONTROL_FREEZE:
    case CONTROL_NEXT:
    case CONTROL_PREVIOUS:
    case CONTROL_SELECT: break;
    default: FUZZ_FAIL("verb %d from OSC", (int)command.verb);
    }
    control_command_clear(&command);
    return 0;
}

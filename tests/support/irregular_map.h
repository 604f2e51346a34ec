/*
 * irregular_map.h - a map: layout file for tests that want an installation
 * that is neither a disc nor a grid: three strips of different lengths (a
 * helix, an arc, a line), in 3-D, off-centre and scaled, so the layout code
 * has to normalise them and patterns see z (used by the device agreement
 * test, the CPU backend test and tests/gen).
 */
#ifndef SKY_TESTS_IRREGULAR_MAP_H
#define SKY_TESTS_IRREGULAR_MAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the map as JSON to a new file /tmp/sky-TAG-PID-XXXXXX, its path into
 * path (path_len bytes). Strip s has first_leds + s * step_leds LEDs. False,
 * with errno set, when the file cannot be created or written; the caller
 * removes the file.
 */
bool test_irregular_map_write(char *path, size_t path_len, const char *tag, int first_leds,
                              int step_leds);

#endif

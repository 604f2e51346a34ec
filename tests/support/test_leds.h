/*
 * test_leds.h - a layout and its LED inputs, as the suites that evaluate
 * patterns by hand need them (sky_program_eval takes the view and the
 * inputs): made from a layout spec in one call, freed in one.
 */
#ifndef SKY_TESTS_TEST_LEDS_H
#define SKY_TESTS_TEST_LEDS_H

#include <stddef.h>

#include "sky/abi.h"
#include "sky/layout.h"
#include "sky/sky.h"

typedef struct test_leds {
    sky_layout *layout;
    sky_layout_view view;  /* of layout */
    sky_led_input *inputs; /* view.led_count, from sky_led_inputs_build */
} test_leds;

/* The layout `spec` (as --layout takes it) and its inputs: its status, and the message in
 * error. On failure nothing is left to free. */
sky_status test_leds_create(const char *spec, test_leds *leds, char *error, size_t error_len);
void test_leds_free(test_leds *leds);

#endif

/*
 * test_leds.c - a layout and its LED inputs for tests (test_leds.h).
 */
#include "test_leds.h"

#include <stdio.h>
#include <stdlib.h>

sky_status test_leds_create(const char *spec, test_leds *leds, char *error, size_t error_len) {
    *leds = (test_leds){0};
    sky_status st = sky_layout_create(spec, &leds->layout, error, error_len);
    if (st != SKY_OK) return st;
    const sky_layout *l = leds->layout;
    leds->view = (sky_layout_view){l->led_count, l->strip_count, l->strip_sizes, l->xy, l->z};
    leds->inputs = calloc(l->led_count, sizeof *leds->inputs);
    st = leds->inputs ? sky_led_inputs_build(&leds->view, leds->inputs) : SKY_ERR_NOMEM;
    if (st != SKY_OK) {
        snprintf(error, error_len, "cannot build the LED inputs of %s", spec);
        test_leds_free(leds);
    }
    return st;
}

void test_leds_free(test_leds *leds) {
    free(leds->inputs);
    sky_layout_free(leds->layout);
    *leds = (test_leds){0};
}

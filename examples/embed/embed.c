/*
 * embed.c - embedding the Skyscreen compiler in your own program.
 *
 * Compiles a pattern given on the command line (or a built-in one), prints
 * its diagnostics or its params, evaluates one frame on the CPU for a ring of
 * 12 LEDs, and emits SPIR-V. Built against the *installed* library, with
 * either CMake (find_package(Sky)) or pkg-config (see Makefile).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sky/abi.h>
#include <sky/sky.h>

static const char *default_pattern = "param hue = 0.3 in 0..1\n"
                                     "out hsv(hue + theta / tau, 1, 1)\n";

int main(int argc, char **argv) {
    const char *src = argc > 1 ? argv[1] : default_pattern;
    sky_program *prog = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile("embed.sky", src, strlen(src), NULL, &prog, &diags);
    if (st != SKY_OK) {
        char *text = NULL;
        if (sky_diagnostics_render(diags, false, &text) == SKY_OK) fputs(text, stderr);
        sky_free(text);
        sky_diagnostics_free(diags);
        fprintf(stderr, "embed: %s\n", sky_status_str(st));
        return 1;
    }
    sky_diagnostics_free(diags);

    for (size_t i = 0; i < sky_program_param_count(prog); i++) {
        const sky_param_info *p = sky_program_param(prog, i);
        printf("param %s = %g\n", p->name, p->value[0]);
    }

    /* A ring of 12 LEDs on one strip. */
    enum { N = 12 };
    float xy[2 * N];
    for (int i = 0; i < N; i++) {
        xy[2 * i] = (float)cos(2 * M_PI * i / N);
        xy[2 * i + 1] = (float)sin(2 * M_PI * i / N);
    }
    uint32_t sizes[1] = {N};
    sky_layout_view layout = {.led_count = N, .strip_count = 1, .strip_sizes = sizes, .xy = xy};
    sky_led_input inputs[N];
    uint8_t bytes[3 * N];
    sky_frame_inputs frame = {.t = 0.5, .dt = 1.0 / 60, .frame = 30, .params = NULL};
    if (sky_led_inputs_build(&layout, inputs) != SKY_OK ||
        sky_program_eval(prog, &layout, inputs, &frame, NULL, NULL, bytes) != SKY_OK) {
        fprintf(stderr, "embed: evaluation failed\n");
        sky_program_free(prog);
        return 1;
    }
    for (int i = 0; i < N; i++)
        printf("led %2d: %3u %3u %3u\n", i, bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2]);

    uint32_t *words = NULL;
    size_t count = 0;
    char *error = NULL;
    st = sky_program_emit_spirv(prog, NULL, &words, &count, &error);
    if (st != SKY_OK) {
        fprintf(stderr, "embed: %s\n", error ? error : sky_status_str(st));
        sky_free(error);
        sky_program_free(prog);
        return 1;
    }
    printf("spirv: %zu words, magic 0x%08x\n", count, words[0]);
    sky_free(words);
    sky_program_free(prog);
    return 0;
}

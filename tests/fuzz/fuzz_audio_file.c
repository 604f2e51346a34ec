/*
 * fuzz_audio_file.c - libFuzzer target: libskyaudio's file source (WAV,
 * FLAC, Ogg, AIFF... through libsndfile) over arbitrary bytes, as a file
 * handed to `--audio` by anyone would be.
 *
 * Writes the input to a file of this process, opens it with
 * sky_audio_open_file and analyses its first 0.2 s of stream time (looped,
 * so a tiny file is read again and again), in two steps and once backwards
 * (the rewind path). Checked beyond "no crash": a refusal is SKY_ERR_FORMAT
 * or SKY_ERR_IO with a message naming the file; every value of an accepted
 * file is finite and in its documented range.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sky/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                    \
    do {                                                  \
        fprintf(stderr, "fuzz_audio_file: " __VA_ARGS__); \
        fputc('\n', stderr);                              \
        abort();                                          \
    } while (0)

static char fuzz_path[64];

static void fuzz_remove(void) {
    unlink(fuzz_path);
}

static void fuzz_write(const uint8_t *data, size_t size) {
    if (!fuzz_path[0]) {
        snprintf(fuzz_path, sizeof fuzz_path, "/tmp/sky-fuzz-audio-%ld.bin", (long)getpid());
        atexit(fuzz_remove);
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        FUZZ_FAIL("cannot write %s", fuzz_path);
}

static void fuzz_check(const sky_audio_values *v) {
    float unit[] = {v->level, v->bass, v->mid, v->treble, v->beat};
    for (size_t i = 0; i < sizeof unit / sizeof *unit; i++)
        if (!(unit[i] >= 0 && unit[i] <= 1)) FUZZ_FAIL("value %zu is %g", i, unit[i]);
    for (int k = 0; k < SKY_AUDIO_BANDS; k++)
        if (!(v->band[k] >= 0 && v->band[k] <= 1)) FUZZ_FAIL("band %d is %g", k, v->band[k]);
    if (!(v->phase >= 0 && v->phase < 1)) FUZZ_FAIL("phase %g", v->phase);
    if (!(v->bpm >= 0 && isfinite(v->bpm))) FUZZ_FAIL("bpm %g", v->bpm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(data, size);
    sky_audio *a = NULL;
    char error[512] = "";
    sky_status st = sky_audio_open_file(fuzz_path, NULL, &a, error, sizeof error);
    if (st != SKY_OK) {
        if ((st != SKY_ERR_FORMAT && st != SKY_ERR_IO) || !strstr(error, fuzz_path))
            FUZZ_FAIL("refused with status %d, `%s`", st, error);
        return 0;
    }
    const double times[] = {0.05, 0.2, 0.1};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        sky_audio_values v;
        error[0] = '\0';
        st = sky_audio_update(a, times[i], &v, error, sizeof error);
        if (st != SKY_OK) {
            if (st != SKY_ERR_IO || !strstr(error, fuzz_path))
                FUZZ_FAIL("update: status %d, `%s`", st, error);
            break;
        }
        fuzz_check(&v);
    }
    sky_audio_free(a);
    return 0;
}

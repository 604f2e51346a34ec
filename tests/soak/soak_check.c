/*
 * soak_check.c - the soak's self-verifying patterns and the torn-frame check
 * (see soak_check.h for the model).
 *
 * Every pattern gives red = frame mod 256, green = floor(frame / 256) mod 256
 * and a blue ramp (base[LED] + k * frame) mod 256 whose base and step differ
 * per pattern, so the LEDs of one frame disagree with those of any other
 * frame or pattern (the ramp also moves with the frame: a universe put in the
 * wrong place is caught too). All values are integers below 2^24, exact in
 * the shader's float32, and byte = floor(c * 255 + 0.5) of k / 255 is k.
 */
#include "soak_check.h"

#include <stdio.h>
#include <string.h>

static const char *const soak_sources[SOAK_PATTERNS] = {
    "# soak pattern 0 (tests/soak): red/green = frame, blue = a ramp along the frame\n"
    "let lo = mod(frame, 256)\n"
    "let hi = mod(floor(frame / 256), 256)\n"
    "out rgb(lo / 255, hi / 255, mod(index + frame, 256) / 255)\n",

    "# soak pattern 1 (tests/soak): a steeper ramp, its step a param\n"
    "param slope = 2 in 0..8\n"
    "fn byte(v) = mod(v, 256) / 255\n"
    "out rgb(byte(frame), byte(floor(frame / 256)), byte(3 * index + slope * frame + 85))\n",

    "# soak pattern 2 (tests/soak): the ramp follows strips and LEDs\n"
    "let lo = mod(frame, 256)\n"
    "let hi = mod(floor(frame / 256), 256)\n"
    "let blue = mod(7 * strip + led + 5 * frame, 256)\n"
    "out vec3(lo, hi, blue) / 255\n",
};

const char *soak_pattern_source(int p) {
    return p >= 0 && p < SOAK_PATTERNS ? soak_sources[p] : NULL;
}

const char *soak_broken_source(void) {
    return "# soak: a save with an error; sky run must keep the running pattern\n"
           "out rgb(frame / 255, 0, blu)\n";
}

/* Pattern p's blue ramp: (base + step * f) mod 256. */
static uint32_t soak_blue_base(const soak_model *m, int p, uint32_t index) {
    switch (p) {
    case 0:
        return index;
    case 1:
        return 3 * index + 85;
    default:
        return 7 * (index / m->per_strip) + index % m->per_strip;
    }
}

static uint32_t soak_blue_step(int p) {
    static const uint32_t step[SOAK_PATTERNS] = {1, 2, 5};
    return step[p];
}

uint8_t soak_expected(const soak_model *m, int p, uint32_t f, uint32_t index, int c) {
    if (c == 0) return (uint8_t)(f & 255);
    if (c == 1) return (uint8_t)((f >> 8) & 255);
    return (uint8_t)((soak_blue_base(m, p, index) + soak_blue_step(p) * f) & 255);
}

static bool soak_is_black(const uint8_t *rgb, size_t bytes) {
    for (size_t i = 0; i < bytes; i++)
        if (rgb[i]) return false;
    return true;
}

/* LEDs [first, first + count) equal pattern p at value f exactly. */
static bool soak_exact(const soak_model *m, const uint8_t *rgb, uint32_t first, uint32_t count,
                       int p, uint32_t f) {
    uint8_t r = (uint8_t)(f & 255), g = (uint8_t)((f >> 8) & 255);
    uint32_t step = soak_blue_step(p);
    for (uint32_t i = first; i < first + count; i++) {
        const uint8_t *px = rgb + (size_t)i * 3;
        if (px[0] != r || px[1] != g ||
            px[2] != (uint8_t)((soak_blue_base(m, p, i) + step * f) & 255))
            return false;
    }
    return true;
}

/*
 * One level L in [0, 1] with out = floor(c * L) for every channel: L lies in
 * [o / c, (o + 1) / c) for each (expected c > 0, seen o), and o = 0 where c = 0.
 * The interval is kept as exact fractions [ln/ld, un/ud).
 */
typedef struct soak_interval {
    uint64_t ln, ld, un, ud;
} soak_interval;

static bool soak_narrow(soak_interval *iv, uint32_t c, uint32_t o) {
    if (c == 0) return o == 0;
    if (o > c) return false;
    if ((uint64_t)o * iv->ld > iv->ln * c) {
        iv->ln = o;
        iv->ld = c;
    }
    if ((uint64_t)(o + 1) * iv->ud < iv->un * c) {
        iv->un = o + 1;
        iv->ud = c;
    }
    return iv->ln * iv->ud < iv->un * iv->ld;
}

static bool soak_scaled(const soak_model *m, const uint8_t *rgb, int p, uint32_t f, double *level) {
    soak_interval iv = {0, 1, 2, 1};
    uint32_t r = f & 255, g = (f >> 8) & 255, step = soak_blue_step(p);
    for (uint32_t i = 0; i < m->led_count; i++) {
        const uint8_t *px = rgb + (size_t)i * 3;
        uint32_t b = (soak_blue_base(m, p, i) + step * f) & 255;
        if (!soak_narrow(&iv, r, px[0]) || !soak_narrow(&iv, g, px[1]) ||
            !soak_narrow(&iv, b, px[2]))
            return false;
    }
    if (iv.ln > iv.ld) return false; /* would need L > 1 */
    *level = (double)iv.ln / (double)iv.ld;
    return true;
}

soak_verdict soak_classify(const soak_model *m, const uint8_t *rgb, const soak_verdict *hint) {
    soak_verdict v = {SOAK_TORN, 0, 0, 0};
    if (soak_is_black(rgb, (size_t)m->led_count * 3)) {
        v.kind = SOAK_BLACK;
        return v;
    }
    uint32_t f = rgb[0] | ((uint32_t)rgb[1] << 8);
    for (int p = 0; p < SOAK_PATTERNS; p++) {
        if (soak_exact(m, rgb, 0, m->led_count, p, f)) {
            v.kind = SOAK_EXACT;
            v.pattern = (uint8_t)p;
            v.value = f;
            v.level = 1;
            return v;
        }
    }
    /* Not exact: a fade of some frame, most likely the one last seen whole. */
    double level = 0;
    if (hint && hint->pattern < SOAK_PATTERNS &&
        soak_scaled(m, rgb, hint->pattern, hint->value, &level)) {
        v.kind = SOAK_SCALED;
        v.pattern = hint->pattern;
        v.value = hint->value;
        v.level = level;
        return v;
    }
    for (int p = 0; p < SOAK_PATTERNS; p++) {
        for (uint32_t c = 0; c < 65536; c++) {
            if (soak_scaled(m, rgb, p, c, &level)) {
                v.kind = SOAK_SCALED;
                v.pattern = (uint8_t)p;
                v.value = c;
                v.level = level;
                return v;
            }
        }
    }
    return v;
}

/* What chunk [first, first + count) LEDs is: "pattern P frame F", "black" or "?". */
static void soak_chunk_name(const soak_model *m, const uint8_t *rgb, uint32_t first, uint32_t count,
                            char *buf, size_t len) {
    if (soak_is_black(rgb + (size_t)first * 3, (size_t)count * 3)) {
        snprintf(buf, len, "black");
        return;
    }
    const uint8_t *px = rgb + (size_t)first * 3;
    uint32_t f = px[0] | ((uint32_t)px[1] << 8);
    for (int p = 0; p < SOAK_PATTERNS; p++) {
        if (soak_exact(m, rgb, first, count, p, f)) {
            snprintf(buf, len, "pattern %d frame %u", p, f);
            return;
        }
    }
    snprintf(buf, len, "no exact frame (first LED %u,%u,%u)", px[0], px[1], px[2]);
}

void soak_describe_torn(const soak_model *m, const uint8_t *rgb, size_t chunk_bytes, char *buf,
                        size_t len) {
    uint32_t per = (uint32_t)(chunk_bytes / 3);
    if (per == 0) per = 1;
    size_t used = 0;
    char run[96] = "", name[96];
    uint32_t run_first = 0;
    buf[0] = '\0';
    for (uint32_t first = 0;; first += per) {
        bool end = first >= m->led_count;
        if (!end) {
            uint32_t count = m->led_count - first < per ? m->led_count - first : per;
            soak_chunk_name(m, rgb, first, count, name, sizeof name);
        }
        if (end || (first > 0 && strcmp(name, run) != 0)) {
            uint32_t last = (end ? m->led_count : first) - 1;
            int n = snprintf(buf + used, len - used, "%sLEDs %u-%u: %s", used ? "; " : "",
                             run_first, last, run);
            if (n < 0 || (size_t)n >= len - used) return;
            used += (size_t)n;
            run_first = first;
        }
        if (end) break;
        if (first == 0 || strcmp(name, run) != 0) snprintf(run, sizeof run, "%s", name);
    }
}

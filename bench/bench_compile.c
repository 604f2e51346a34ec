/*
 * bench_compile.c - compile time per stage for every example.
 *
 * For each .sky file in examples/: the front and middle of the compiler (lex, parse,
 * check, optimize, flatten: sky_compile), GLSL emission, and GLSL -> SPIR-V
 * through shaderc, each the median of several runs, in milliseconds. Also
 * -O0 vs -O1 program sizes, which show what the optimizer removes.
 *
 *   bench_compile [RUNS]        (default 15 runs per stage)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sky/abi.h"
#include "sky/sky.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            *len = fread(buf, 1, (size_t)n, f);
            buf[*len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

typedef struct stage_times {
    double compile, glsl, spirv;
    size_t frame_o0, led_o0, frame_o1, led_o1, uniforms, spirv_words;
} stage_times;

static sky_program *compile_at(const char *name, const char *src, size_t len, int level) {
    sky_compile_options opt;
    sky_compile_options_init(&opt);
    opt.opt_level = level;
    sky_program *p = NULL;
    if (sky_compile(name, src, len, &opt, &p, NULL) != SKY_OK) return NULL;
    return p;
}

static int measure(const char *name, const char *src, size_t len, int runs, stage_times *out) {
    double *c = calloc((size_t)runs, sizeof *c), *g = calloc((size_t)runs, sizeof *g),
           *s = calloc((size_t)runs, sizeof *s);
    int ok = c && g && s;
    for (int i = 0; ok && i < runs; i++) {
        double t0 = now_ms();
        sky_program *p = compile_at(name, src, len, 1);
        double t1 = now_ms();
        char *glsl = NULL;
        size_t glsl_len = 0;
        uint32_t *words = NULL;
        size_t nwords = 0;
        ok = p && sky_program_emit_glsl(p, NULL, &glsl, &glsl_len) == SKY_OK;
        double t2 = now_ms();
        ok = ok && sky_program_emit_spirv(p, NULL, &words, &nwords, NULL) == SKY_OK;
        double t3 = now_ms();
        c[i] = t1 - t0, g[i] = t2 - t1, s[i] = t3 - t2;
        if (ok && i == 0) {
            out->frame_o1 = sky_program_frame_size(p);
            out->led_o1 = sky_program_led_size(p);
            out->uniforms = sky_program_uniform_count(p);
            out->spirv_words = nwords;
        }
        sky_free(glsl);
        sky_free(words);
        sky_program_free(p);
    }
    sky_program *p0 = ok ? compile_at(name, src, len, 0) : NULL;
    if (p0) {
        out->frame_o0 = sky_program_frame_size(p0);
        out->led_o0 = sky_program_led_size(p0);
    }
    ok = ok && p0;
    sky_program_free(p0);
    if (ok)
        out->compile = median(c, runs), out->glsl = median(g, runs), out->spirv = median(s, runs);
    free(c), free(g), free(s);
    return ok ? 0 : -1;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_sky(const struct dirent *d) {
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".sky") == 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 15;
    if (runs < 1) runs = 1;
    const char *dir = SKY_SOURCE_DIR "/examples";
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_sky, by_name);
    if (n <= 0) {
        fprintf(stderr, "bench_compile: no examples in %s\n", dir);
        return 1;
    }
    printf("| example | compile ms (parse..flatten) | GLSL ms | SPIR-V ms | frame insns -O0/-O1 | "
           "LED insns -O0/-O1 | uniforms | SPIR-V words "
           "|\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    int failed = 0;
    double sum_c = 0, sum_g = 0, sum_s = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        size_t len = 0;
        char *src = read_all(path, &len);
        stage_times st = {0};
        if (!src || measure(names[i]->d_name, src, len, runs, &st) != 0) {
            fprintf(stderr, "bench_compile: %s failed to compile\n", path);
            failed = 1;
        } else {
            printf("| %s | %.3f | %.3f | %.2f | %zu / %zu | %zu / %zu | %zu | %zu |\n",
                   names[i]->d_name, st.compile, st.glsl, st.spirv, st.frame_o0, st.frame_o1,
                   st.led_o0, st.led_o1, st.uniforms, st.spirv_words);
            sum_c += st.compile, sum_g += st.glsl, sum_s += st.spirv;
        }
        free(src);
        free(names[i]);
    }
    free(names);
    printf("| **total** | %.3f | %.3f | %.2f | | | | |\n", sum_c, sum_g, sum_s);
    return failed;
}

/*
 * replay_main.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * The normal (gcc) builds link every tests/fuzz/fuzz_*.c target with this
 * main instead of libFuzzer's, and ctest runs it over the target's seed
 * corpus and its regressions folder (crash inputs found by fuzzing). So the
 * plain and the ASan+UBSan passes both replay every input ever found to
 * crash: a fixed bug that comes back fails `make test` even without clang.
 *
 * Usage: fuzz_X_replay PATH... [--optional PATH...]   (each PATH a file, or
 * a folder read one level deep, files sorted by name). An empty or missing
 * PATH is an error -- a replay that runs nothing must not pass -- except
 * after --optional (the regressions folder: git keeps no empty folder, and
 * a target that never crashed has none). A crash is the target's own (the
 * sanitizers abort); this main names the input before running it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into a malloc'd buffer of exactly its size (so that
 * ASan catches a target reading one byte past the input). */
static int replay_read(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    /* Exact-size copy: the target sees [data, data + size) and nothing more. */
    *data = malloc(len ? len : 1);
    if (!*data) {
        free(buf);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return -1;
    }
    memcpy(*data, buf, len);
    free(buf);
    *size = len;
    return 0;
}

static int replay_file(const char *path) {
    uint8_t *data;
    size_t size;
    if (replay_read(path, &data, &size) != 0) return -1;
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int replay_name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of `dir` in name order; returns how many ran, or -1. */
static long replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    long result = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ".", "..", and hidden files (.gitkeep) */
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                result = -1;
                break;
            }
            names = grown;
        }
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        names[count] = malloc(n);
        if (!names[count]) {
            result = -1;
            break;
        }
        snprintf(names[count], n, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    if (result == 0 && count > 0) qsort(names, count, sizeof *names, replay_name_cmp);
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (result >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0)
                result = -1;
            else
                result++;
        }
        free(names[i]);
    }
    free(names);
    if (result < 0) fprintf(stderr, "replay: %s: out of memory or unreadable file\n", dir);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    long total = 0;
    int optional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--optional") == 0) {
            optional = 1;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (optional && errno == ENOENT) continue;
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        long n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0) return 1;
        if (n == 0 && !optional) {
            fprintf(stderr, "replay: %s: no inputs (an empty corpus tests nothing)\n", argv[i]);
            return 1;
        }
        total += n;
    }
    fprintf(stderr, "replay: %ld inputs, no crash\n", total);
    return 0;
}

/*
 * bench_record.c - recordings: what `sky record` costs, how well FSEQ
 * compresses the examples, and `sky render` against `sky run --fps 0`.
 *
 * Drives the real binaries in a scratch directory (nothing is asserted):
 *   1. `sky run examples/plasma.sky` on LAYOUT (default disc:360x288, the
 *      103,680-LED Skyscreen) at 60 fps with 32 slots, and `sky record` of
 *      FRAMES frames (default 600) at zstd levels 1 and 3: the recorder's CPU
 *      time (user + system, from wait4) per frame, its wall time, the file's
 *      size and the frames it lost.
 *   2. every examples/NAME.sky rendered by `sky render` (FRAMES frames at 60
 *      fps, zstd 3) and by `sky run --fps 0 --frames FRAMES` into a frame
 *      file: frames/s of each (render: its own summary line; run: its --stats
 *      line over the whole loop, shader build excluded), and the recording's
 *      size against the raw frames (compression ratio).
 *
 * usage: bench_record [--frames N] [--layout SPEC]
 * Prints Markdown tables for docs/performance.md, "Recording".
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char dir[64];
static unsigned frames = 600;
static const char *layout = "disc:360x288";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts `sky args...` with stderr into dir/name.err; stdout into dir/name.out. */
static pid_t spawn_sky(const char *name, const char *const *args) {
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/%s.out", dir, name);
    snprintf(err, sizeof err, "%s/%s.err", dir, name);
    const char *argv[32] = {SKY_CLI_BIN};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    if (posix_spawn(&pid, SKY_CLI_BIN, &fa, NULL, (char *const *)argv, environ) != 0) {
        perror("bench_record: posix_spawn");
        exit(2);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static char *slurp(const char *name, const char *ext) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* A number after `key` in text, or -1. */
static double after(const char *text, const char *key) {
    const char *at = strstr(text, key);
    return at ? strtod(at + strlen(key), NULL) : -1;
}

static void bench_recorder(void) {
    char pattern[256], frame[256];
    snprintf(pattern, sizeof pattern, "%s/examples/plasma.sky", SKY_SOURCE_DIR);
    snprintf(frame, sizeof frame, "%s/show.frame", dir);
    const char *run_args[] = {"run",     pattern, "--layout", layout, "--fps", "60",
                              "--slots", "32",    "--frame",  frame,  NULL};
    pid_t run = spawn_sky("run", run_args);
    char count[32];
    snprintf(count, sizeof count, "%u", frames);
    printf("| zstd level | CPU ms/frame (user+sys) | wall s | MB | lost "
           "|\n|---:|---:|---:|---:|---:|\n");
    for (int level = 1; level <= 3; level += 2) {
        char out[256], lv[8], name[16];
        snprintf(out, sizeof out, "%s/rec%d.fseq", dir, level);
        snprintf(lv, sizeof lv, "%d", level);
        snprintf(name, sizeof name, "rec%d", level);
        const char *args[] = {"record",   "-o",  out,       "--frame", frame,
                              "--frames", count, "--level", lv,        NULL};
        double t0 = now_s();
        pid_t rec = spawn_sky(name, args);
        int status = 0;
        struct rusage ru;
        wait4(rec, &status, 0, &ru);
        double wall = now_s() - t0;
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        char *err = slurp(name, "err");
        printf("| %d | %.3f | %.1f | %.2f | %.0f |\n", level, cpu * 1e3 / frames, wall,
               (double)file_size(out) / 1e6, after(err, "; lost "));
        free(err);
    }
    kill(run, SIGTERM);
    waitpid(run, NULL, 0);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void bench_examples(void) {
    char examples[256];
    snprintf(examples, sizeof examples, "%s/examples", SKY_SOURCE_DIR);
    DIR *d = opendir(examples);
    if (!d) return;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sky") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_names);
    char count[32];
    snprintf(count, sizeof count, "%u", frames);
    printf("\n| pattern | render frames/s | run --fps 0 frames/s | FSEQ MB | raw MB | ratio |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        char pattern[512], out[256], frame[256];
        snprintf(pattern, sizeof pattern, "%s/%s", examples, names[i]);
        snprintf(out, sizeof out, "%s/render.fseq", dir);
        snprintf(frame, sizeof frame, "%s/fast.frame", dir);
        const char *render_args[] = {"render", pattern, "--layout", layout, "--frames", count,
                                     "--fps",  "60",    "-o",       out,    NULL};
        int status = 0;
        waitpid(spawn_sky("render", render_args), &status, 0);
        char *err = slurp("render", "err");
        double render_fps = after(err, " s: "); /* "... in 1.23 s: 456.7 frames/s" */
        free(err);
        const char *run_args[] = {"run", pattern,   "--layout", layout,    "--fps", "0", "--frames",
                                  count, "--stats", "100000",   "--frame", frame,   NULL};
        waitpid(spawn_sky("fast", run_args), &status, 0);
        char *out_text = slurp("fast", "out");
        double run_fps = after(out_text, "sky run: ");
        free(out_text);
        long long size = file_size(out);
        printf("| %s | %.0f | %.0f | %.2f | ", names[i], render_fps, run_fps, (double)size / 1e6);
        fflush(stdout);
        /* Raw: frames x LEDs x 3, the LED count from the frame file the run left. */
        FILE *f = fopen(frame, "rb");
        unsigned char hdr[32] = {0};
        if (f) {
            if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr) memset(hdr, 0, sizeof hdr);
            fclose(f);
        }
        double leds = (double)(hdr[16] | hdr[17] << 8 | hdr[18] << 16 | (unsigned)hdr[19] << 24);
        double raw_mb = (double)frames * leds * 3 / 1e6;
        printf("%.1f | %.1fx |\n", raw_mb, size > 0 ? raw_mb * 1e6 / (double)size : 0.0);
        free(names[i]);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--frames") == 0)
            frames = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--layout") == 0)
            layout = argv[i + 1];
    }
    strcpy(dir, "/tmp/bench-record-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("bench_record: mkdtemp");
        return 2;
    }
    printf("bench_record: %u frames on %s\n\n", frames, layout);
    bench_recorder();
    bench_examples();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

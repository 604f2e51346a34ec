/*
 * build.c - building a pattern's shader in a child process, under a time and
 * a memory budget.
 *
 * Building a shader is the one step of `sky run` whose cost the pattern
 * decides: shaderc took 13 s and 517 MB for a pattern costing 6,458, and
 * lavapipe compiles the shader with LLVM at its first dispatch (1.2 s for
 * fbm(p, 8) alone). Neither can be interrupted or bounded from inside the
 * process. So the parent re-executes this binary (`sky run --build-child`),
 * which compiles the source, emits the SPIR-V, builds the pipeline and
 * renders two frames on a strip of the show's LED count (the first is the
 * driver's compilation, the second must take under 1 s) under
 * setrlimit(RLIMIT_AS), and writes the SPIR-V to its stdout. The parent waits
 * in poll() with a deadline and a cancel descriptor, and kills the child when
 * the deadline passes or the cancel descriptor becomes readable (a stop
 * signal, the watcher stopping). The child's frame also fills the driver's
 * shader cache where it has one (Mesa's, in ~/.cache/mesa_shader_cache), so
 * the parent's own first dispatch of the same shader does not compile again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "show.h"
#include "sky/runtime.h"

extern char **environ;

/* AddressSanitizer reserves terabytes of address space for its shadow memory: no RLIMIT_AS. */
#if defined(__SANITIZE_ADDRESS__)
#define BUILD_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILD_UNDER_ASAN 1
#endif
#endif
#ifndef BUILD_UNDER_ASAN
#define BUILD_UNDER_ASAN 0
#endif

/*
 * Budgets, measured on a busy 2-core x86-64 machine with lavapipe: a pattern
 * of cost 11,698, just under the runtime's SKY_LED_COST_MAX, built in 37.5 s
 * with a peak of 1.34 GB resident under this address-space limit; plasma.sky
 * needs more than 256 MiB of address space (lavapipe maps thread stacks and
 * LLVM's pools before compiling anything). The time budget leaves room for a
 * Raspberry Pi 4, about 3x slower; it is there to stop a build that never
 * ends, not to judge normal ones.
 */
#define BUILD_TIME_BUDGET_S     180u
#define BUILD_MEMORY_BUDGET_MIB 2048u
/*
 * A pattern whose frame takes longer than this on the show's LED count is
 * refused as too slow to run: the runtime reports a device that has not
 * finished a frame within 2 s as hung, which would end the show.
 */
#define BUILD_MAX_FRAME_MS 1000u
#define BUILD_FRAME_ENV    "SKY_BUILD_FRAME_BUDGET"
/* The child's nice value over the parent's: the show renders first. */
#define BUILD_NICE       10
#define BUILD_TIME_ENV   "SKY_BUILD_TIME_BUDGET"
#define BUILD_MEMORY_ENV "SKY_BUILD_MEMORY_BUDGET"

static unsigned build_env_budget(const char *name, unsigned fallback) {
    const char *text = getenv(name);
    if (!text || !text[0]) return fallback;
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    if (*end != '\0' || value == 0 || value > 1000000) return fallback;
    return (unsigned)value;
}

void live_build_budget(unsigned *seconds, unsigned *mebibytes) {
    *seconds = build_env_budget(BUILD_TIME_ENV, BUILD_TIME_BUDGET_S);
    *mebibytes = build_env_budget(BUILD_MEMORY_ENV, BUILD_MEMORY_BUDGET_MIB);
}

static uint64_t build_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------ the child */

static int build_child_fail(const char *cmd, const char *what, const char *detail) {
    fprintf(stderr, "%s: %s%s%s\n", cmd, what, detail && detail[0] ? ": " : "",
            detail ? detail : "");
    return 2;
}

/*
 * Renders two frames of `program` with `words` on a strip of the show's LED
 * count: the first makes the driver compile the shader (the same variant as
 * the show's: llvmpipe keys it on, among others, whether the LED texel buffer's
 * size is a power of two), the second is timed against BUILD_MAX_FRAME_MS.
 */
static int build_child_dispatch(const char *cmd, const char *device, uint32_t leds,
                                const sky_program *program, const uint32_t *words,
                                size_t word_count) {
    sky_layout *layout = NULL;
    char error[1024] = "", spec[32];
    snprintf(spec, sizeof spec, "strip:%u", leds);
    if (sky_layout_create(spec, &layout, error, sizeof error) != SKY_OK)
        return build_child_fail(cmd, "layout", error);
    sky_runtime_options ro;
    sky_runtime_options_init(&ro);
    ro.device = device && device[0] ? device : NULL;
    ro.layout = layout;
    ro.wait_timeout_ms = UINT32_MAX; /* the parent's deadline bounds the child */
    sky_runtime *rt = NULL;
    sky_status st = sky_runtime_create(&ro, &rt, error, sizeof error);
    if (st == SKY_OK)
        st = sky_runtime_set_program_spirv(rt, program, words, word_count, error, sizeof error);
    if (st == SKY_OK) st = sky_runtime_render(rt, 0, 0, NULL, error, sizeof error);
    uint64_t start = build_now_ms();
    if (st == SKY_OK) st = sky_runtime_render(rt, 0.02, 0.02, NULL, error, sizeof error);
    uint64_t frame_ms = build_now_ms() - start;
    sky_runtime_free(rt);
    sky_layout_free(layout);
    if (st != SKY_OK) return build_child_fail(cmd, "building the pipeline failed", error);
    unsigned limit_ms = build_env_budget(BUILD_FRAME_ENV, BUILD_MAX_FRAME_MS);
    if (frame_ms > limit_ms) {
        fprintf(stderr,
                "%s: the pattern is too slow to run: a frame of %u LEDs took %llu ms on this "
                "device, over the limit of %u ms (%s): lower fbm octaves and reduction "
                "bounds\n",
                cmd, leds, (unsigned long long)frame_ms, limit_ms, BUILD_FRAME_ENV);
        return 2;
    }
    return 0;
}

static bool build_write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

int live_build_child_main(const char *cmd, int argc, char **argv) {
    if (argc != 4) return build_child_fail(cmd, "--build-child DEVICE TEXELS MIB LEDS", NULL);
    const char *device = argv[0];
    sky_emit_options emit;
    sky_emit_options_init(&emit);
    emit.led_texels = strcmp(argv[1], "1") == 0;
    /* Background work: the show's render thread comes first on a CPU device (lavapipe's
     * threads, created later, inherit this). A failure only costs that preference. */
    errno = 0;
    if (nice(BUILD_NICE) == -1 && errno != 0) {
        /* not allowed to lower the priority further: build at the same one */
    }
    unsigned long mib = strtoul(argv[2], NULL, 10);
    unsigned long leds = strtoul(argv[3], NULL, 10);
    if (leds == 0 || leds > UINT32_MAX) return build_child_fail(cmd, "bad LED count", argv[3]);
    struct rlimit limit = {(rlim_t)mib << 20, (rlim_t)mib << 20};
    if (mib == 0 || (!BUILD_UNDER_ASAN && setrlimit(RLIMIT_AS, &limit) != 0))
        return build_child_fail(cmd, "cannot set the memory budget", strerror(errno));
    char error[512];
    size_t len = 0;
    char *source = cli_read_file("-", &len, error, sizeof error);
    if (!source) return build_child_fail(cmd, "reading the pattern", error);
    sky_program *program = NULL;
    sky_status st = sky_compile("pattern", source, len, NULL, &program, NULL);
    free(source);
    if (st != SKY_OK) return build_child_fail(cmd, "compiling", sky_status_str(st));
    uint32_t *words = NULL;
    size_t word_count = 0;
    char *emit_error = NULL;
    int code = 0;
    st = sky_program_emit_spirv(program, &emit, &words, &word_count, &emit_error);
    if (st != SKY_OK)
        code = build_child_fail(cmd, "generating the shader failed",
                                emit_error ? emit_error : sky_status_str(st));
    if (code == 0)
        code = build_child_dispatch(cmd, device, (uint32_t)leds, program, words, word_count);
    if (code == 0 && !build_write_all(STDOUT_FILENO, words, word_count * sizeof *words))
        code = build_child_fail(cmd, "writing the shader to the parent", strerror(errno));
    sky_free(emit_error);
    sky_free(words);
    sky_program_free(program);
    return code;
}

/* ----------------------------------------------------------- the parent */

typedef struct build_io {
    char *data;
    size_t len, cap;
} build_io;

static bool build_io_append(build_io *io, const char *bytes, size_t n) {
    if (io->len + n > io->cap) {
        size_t cap = io->cap ? io->cap * 2 : 65536;
        while (cap < io->len + n) cap *= 2;
        char *bigger = realloc(io->data, cap);
        if (!bigger) return false;
        io->data = bigger;
        io->cap = cap;
    }
    memcpy(io->data + io->len, bytes, n);
    io->len += n;
    return true;
}

static pid_t build_spawn(const char *cmd, const char *device, bool texels, unsigned mib,
                         uint32_t leds, int in_fd, int out_fd) {
    char texels_arg[2] = {texels ? '1' : '0', '\0'}, mib_arg[16], leds_arg[16];
    snprintf(mib_arg, sizeof mib_arg, "%u", mib);
    snprintf(leds_arg, sizeof leds_arg, "%u", leds);
    char *argv[] = {"sky",      "run",   "--build-child", (char *)(device ? device : ""),
                    texels_arg, mib_arg, leds_arg,        NULL};
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return -1;
    posix_spawn_file_actions_adddup2(&actions, in_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    /* The child takes the default signal dispositions and an empty mask (ours blocks them). */
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int err = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        fprintf(stderr, "%s: cannot start the shader build: %s\n", cmd, strerror(err));
        return -1;
    }
    return pid;
}

/* Feeds the source and collects the SPIR-V until EOF, the deadline or a cancel. */
static live_build_result build_talk(int *in_fd, int out_fd, const char *source, size_t len,
                                    const int *cancel_fds, size_t cancel_count,
                                    uint64_t deadline_ms, build_io *out) {
    size_t sent = 0;
    bool reading = true;
    while (reading) {
        struct pollfd fds[2 + 4];
        size_t n = 0;
        fds[n++] = (struct pollfd){out_fd, POLLIN, 0};
        fds[n++] = (struct pollfd){*in_fd, POLLOUT, 0}; /* -1 once closed: poll skips it */
        for (size_t i = 0; i < cancel_count && i < 4; i++)
            fds[n++] = (struct pollfd){cancel_fds[i], POLLIN, 0};
        uint64_t now = build_now_ms();
        if (now >= deadline_ms) return LIVE_BUILD_TIMEOUT;
        int got = poll(fds, (nfds_t)n, (int)(deadline_ms - now));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return LIVE_BUILD_FAILED;
        for (size_t i = 2; i < n; i++)
            if (fds[i].revents) return LIVE_BUILD_CANCELLED;
        if (fds[1].revents & (POLLOUT | POLLERR)) {
            ssize_t w = write(*in_fd, source + sent, len - sent);
            if (w < 0 && errno != EINTR && errno != EAGAIN) sent = len; /* child gone: read why */
            if (w > 0) sent += (size_t)w;
            if (sent == len) {
                close(*in_fd);
                *in_fd = -1;
            }
        }
        if (fds[0].revents) {
            char buf[65536];
            ssize_t r = read(out_fd, buf, sizeof buf);
            if (r < 0 && errno != EINTR && errno != EAGAIN) return LIVE_BUILD_FAILED;
            if (r == 0) reading = false;
            if (r > 0 && !build_io_append(out, buf, (size_t)r)) return LIVE_BUILD_FAILED;
        }
    }
    return LIVE_BUILD_OK;
}

/* True when one of the cancel descriptors is readable now. */
static bool build_cancelled(const int *cancel_fds, size_t cancel_count) {
    struct pollfd fds[4];
    size_t n = 0;
    for (size_t i = 0; i < cancel_count && i < 4; i++)
        fds[n++] = (struct pollfd){cancel_fds[i], POLLIN, 0};
    return n > 0 && poll(fds, (nfds_t)n, 0) > 0;
}

struct live_builder {
    pthread_mutex_t lock; /* one build at a time */
    const char *cmd;
    char *device; /* NULL: the runtime's default */
    sky_emit_options emit;
    uint32_t led_count;
};

bool live_builder_create(const char *cmd, const char *device, const sky_emit_options *emit,
                         uint32_t led_count, live_builder **builder) {
    live_builder *b = calloc(1, sizeof *b);
    if (!b || (device && !(b->device = strdup(device)))) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        free(b);
        return false;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->cmd = cmd;
    b->emit = *emit;
    b->led_count = led_count;
    *builder = b;
    return true;
}

void live_builder_free(live_builder *builder) {
    if (!builder) return;
    pthread_mutex_destroy(&builder->lock);
    free(builder->device);
    free(builder);
}

static live_build_result build_once(const char *cmd, const char *source, size_t len,
                                    const char *device, const sky_emit_options *emit,
                                    uint32_t led_count, const int *cancel_fds,
                                    size_t cancel_count, uint32_t **words, size_t *word_count) {
    *words = NULL;
    *word_count = 0;
    unsigned seconds, mib;
    live_build_budget(&seconds, &mib);
    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: cannot start the shader build: pipe: %s\n", cmd, strerror(errno));
        return LIVE_BUILD_FAILED;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: cannot start the shader build: pipe: %s\n", cmd, strerror(errno));
        close(in_pipe[0]);
        close(in_pipe[1]);
        return LIVE_BUILD_FAILED;
    }
    pid_t pid =
        build_spawn(cmd, device, emit && emit->led_texels, mib, led_count, in_pipe[0], out_pipe[1]);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (pid < 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        return LIVE_BUILD_FAILED;
    }
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    build_io out = {0};
    uint64_t start = build_now_ms();
    int in_fd = in_pipe[1];
    if (len == 0) { /* nothing to send: the child reads EOF at once */
        close(in_fd);
        in_fd = -1;
    }
    live_build_result result = build_talk(&in_fd, out_pipe[0], source, len, cancel_fds,
                                          cancel_count, start + seconds * 1000ull, &out);
    if (in_fd >= 0) close(in_fd);
    if (result != LIVE_BUILD_OK) kill(pid, SIGKILL);
    close(out_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    double took = (double)(build_now_ms() - start) / 1000.0;
    /* A stop signal sent to the whole group (Ctrl-C, systemd) ends the child too: no failure. */
    if (result != LIVE_BUILD_OK || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        if (build_cancelled(cancel_fds, cancel_count)) result = LIVE_BUILD_CANCELLED;
    /* The parent only ever sends SIGKILL; an over-budget build ends with SIGSEGV or SIGABRT. */
    if (result == LIVE_BUILD_OK && WIFSIGNALED(status) &&
        (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGHUP)) {
        fprintf(stderr, "%s: the shader build was stopped by %s\n", cmd,
                live_signals_name(WTERMSIG(status)));
        result = LIVE_BUILD_CANCELLED;
    }
    if (result == LIVE_BUILD_TIMEOUT) {
        fprintf(stderr,
                "%s: building the shader took longer than its budget of %u s (%s); abandoned: "
                "lower fbm octaves and reduction bounds\n",
                cmd, seconds, BUILD_TIME_ENV);
    } else if (result == LIVE_BUILD_OK && WIFSIGNALED(status)) {
        fprintf(stderr,
                "%s: building the shader failed after %.1f s: the build was ended by signal %d, "
                "most likely over its memory budget of %u MiB (%s): lower fbm octaves and "
                "reduction bounds\n",
                cmd, took, WTERMSIG(status), mib, BUILD_MEMORY_ENV);
        result = LIVE_BUILD_FAILED;
    } else if (result == LIVE_BUILD_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        /* The child printed why (an allocation failing under the budget shows there too). */
        fprintf(stderr, "%s: building the shader failed after %.1f s\n", cmd, took);
        result = LIVE_BUILD_FAILED;
    } else if (result == LIVE_BUILD_OK && (out.len % 4 != 0 || out.len < 20)) {
        fprintf(stderr, "%s: the shader build returned %zu bytes, not SPIR-V\n", cmd, out.len);
        result = LIVE_BUILD_FAILED;
    } else if (result == LIVE_BUILD_FAILED) {
        fprintf(stderr, "%s: talking to the shader build failed: %s\n", cmd, strerror(errno));
    }
    if (result != LIVE_BUILD_OK) {
        free(out.data);
        return result;
    }
    *words = (uint32_t *)out.data; /* realloc'd memory: aligned for uint32_t */
    *word_count = out.len / 4;
    return LIVE_BUILD_OK;
}

static const char *build_result_message(live_build_result result) {
    switch (result) {
    case LIVE_BUILD_OK: return "";
    case LIVE_BUILD_TIMEOUT: return "building the shader took longer than its time budget";
    case LIVE_BUILD_CANCELLED: return "the shader build was cancelled";
    default: return "building the shader failed (see the log)";
    }
}

live_build_result live_build(live_builder *builder, const char *source, size_t len,
                             const int *cancel_fds, size_t cancel_count, uint32_t **words,
                             size_t *word_count, char *message, size_t message_len) {
    pthread_mutex_lock(&builder->lock);
    live_build_result result =
        build_once(builder->cmd, source, len, builder->device, &builder->emit, builder->led_count,
                   cancel_fds, cancel_count, words, word_count);
    pthread_mutex_unlock(&builder->lock);
    if (message && message_len) snprintf(message, message_len, "%s", build_result_message(result));
    return result;
}

/*
 * build.c - building a pattern's shader in a child process, under a time and
 * a memory budget.
 *
 * Building a shader is the one step of `sky run` whose cost the pattern
 * decides: shaderc took 13 s and 517 MB for a pattern costing 6,458, and
 * lavapipe compiles the shader with LLVM at its first dispatch (1.2 s for
 * fbm(p, 8) alone). Neither can be interrupted or bounded from inside the
 * process. So each live_builder keeps a child process, this binary
 * re-executed (`sky run --build-child`) under setrlimit(RLIMIT_AS), that
 * serves builds over its pipes: for each source it compiles, emits the SPIR-V,
 * and renders two frames on a strip of the show's LED count (the first is the
 * driver's compilation, the second must take under 1 s), then answers with
 * the SPIR-V and what each step took. The parent waits in poll() with a
 * deadline and cancel descriptors, and kills the child when the deadline
 * passes or a cancel descriptor becomes readable (a stop signal, the watcher
 * stopping). The child's frame also fills the driver's shader cache where it
 * has one (Mesa's, in ~/.cache/mesa_shader_cache), so the parent's own first
 * dispatch of the same shader does not compile again.
 *
 * The child lives across builds because starting one is most of a small
 * build's time. Measured for plasma.sky on a 2-core x86-64 machine with
 * lavapipe (bench/bench_reload.c, docs/performance.md "Reload"): a fresh child
 * per build spent ~100 ms creating shaderc (glslang's built-in tables) and
 * the Vulkan device before any work of the pattern's own; a child that keeps
 * its sky_spirv_compiler and its runtime emits plasma's SPIR-V in ~35 ms. A
 * child started ahead warms both up (a tiny pattern built once) before the
 * first request. A child that fails a build in any way (errors, over a
 * budget, killed) exits or is killed, and a fresh one is started at once, so
 * no state of a failed build (an allocation that failed under the memory
 * limit half way through shaderc) is ever reused. A child also retires after
 * BUILD_CHILD_MAX_BUILDS builds, so that what the driver keeps per shader
 * cannot add up to its memory budget over a long show.
 *
 * Every build keeps both frames, cheap patterns included: for plasma.sky on
 * 103,680 LEDs the driver's compilation takes 52-72 ms and fills the cache
 * the parent's pipeline then reads (compiling in the parent at the same time
 * would only compile twice on the same cores), and the timed frame 1-2 ms, so
 * skipping it below some sky_program_led_cost would save nothing measurable.
 * A child that had served builds and ends without answering is retried once
 * on a fresh child (see build_once).
 *
 * The protocol (host byte order; both ends are this binary): the parent
 * sends a build_request header and the source; the child answers a
 * build_reply header and word_count SPIR-V words, or prints why on its
 * stderr (the parent's) and exits 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
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
#include "sky/abi.h"
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

static uint64_t build_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t build_now_ms(void) {
    return build_now_us() / 1000u;
}

/* ------------------------------------------------------------ the protocol */

#define BUILD_MAGIC 0x444c4253u /* "SBLD" */
/* A pattern source (the parent read it from a file) and a shader are far below these. */
#define BUILD_MAX_SOURCE (16u << 20)
#define BUILD_MAX_WORDS  (16u << 20)
/* Builds one child serves before the parent retires it (see the top). */
#define BUILD_CHILD_MAX_BUILDS 64u

typedef struct build_request {
    uint32_t magic, source_len;
} build_request;

typedef struct build_reply {
    uint32_t magic, word_count;
    uint32_t spirv_us;  /* compiling the source and emitting the SPIR-V */
    uint32_t driver_us; /* the pipeline and the first frame: the driver's compilation */
    uint32_t frame_us;  /* the second frame, held against the frame budget */
} build_reply;

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

/* Reads exactly len bytes: 1 done, 0 end of file before the first byte, -1 error or short. */
static int build_read_all(int fd, void *data, size_t len) {
    char *p = data;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return got == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

/* ------------------------------------------------------------ the child */

static int build_child_fail(const char *cmd, const char *what, const char *detail) {
    fprintf(stderr, "%s: %s%s%s\n", cmd, what, detail && detail[0] ? ": " : "",
            detail ? detail : "");
    return 2;
}

/* What a child keeps between builds. */
typedef struct build_child {
    const char *cmd;
    uint32_t leds;
    sky_emit_options emit;
    sky_spirv_compiler *compiler;
    sky_layout *layout;
    sky_runtime *rt;
    sky_program *program; /* the runtime's current program: it must outlive its use */
} build_child;

/* A strip of the show's LED count on the show's device, so the driver compiles the same variant
 * as the show's (llvmpipe keys it on, among others, whether the LED texel buffer's size is a
 * power of two). */
static int build_child_setup(build_child *c, const char *device) {
    if (sky_spirv_compiler_create(&c->compiler) != SKY_OK)
        return build_child_fail(c->cmd, "cannot start the SPIR-V compiler", "out of memory");
    char error[1024] = "", spec[32];
    snprintf(spec, sizeof spec, "strip:%u", c->leds);
    if (sky_layout_create(spec, &c->layout, error, sizeof error) != SKY_OK)
        return build_child_fail(c->cmd, "layout", error);
    sky_runtime_options ro;
    sky_runtime_options_init(&ro);
    ro.device = device && device[0] ? device : NULL;
    ro.layout = c->layout;
    ro.wait_timeout_ms = UINT32_MAX; /* the parent's deadline bounds the child */
    if (sky_runtime_create(&ro, &c->rt, error, sizeof error) != SKY_OK)
        return build_child_fail(c->cmd, "building the pipeline failed", error);
    return 0;
}

static void build_child_free(build_child *c) {
    sky_runtime_free(c->rt);
    sky_program_free(c->program);
    sky_layout_free(c->layout);
    sky_spirv_compiler_free(c->compiler);
}

/*
 * Builds one source: compiles it, emits the SPIR-V, and renders two frames
 * on the child's runtime: the first makes the driver compile the shader, the
 * second is timed against BUILD_MAX_FRAME_MS. Returns 0 with *words set (free
 * with sky_free), or 2 after printing why.
 */
static int build_child_build(build_child *c, const char *source, size_t len, build_reply *reply,
                             uint32_t **words) {
    uint64_t start = build_now_us();
    sky_program *program = NULL;
    sky_status st = sky_compile("pattern", source, len, NULL, &program, NULL);
    if (st != SKY_OK) return build_child_fail(c->cmd, "compiling", sky_status_str(st));
    size_t word_count = 0;
    char *emit_error = NULL;
    st = sky_spirv_compiler_emit(c->compiler, program, &c->emit, words, &word_count, &emit_error);
    if (st != SKY_OK) {
        build_child_fail(c->cmd, "generating the shader failed",
                         emit_error ? emit_error : sky_status_str(st));
        sky_free(emit_error);
        sky_program_free(program);
        return 2;
    }
    uint64_t emitted = build_now_us();
    char error[1024] = "";
    st = sky_runtime_set_program_spirv(c->rt, program, *words, word_count, error, sizeof error);
    if (st == SKY_OK) { /* the runtime uses it now: the previous one can go */
        sky_program_free(c->program);
        c->program = program;
    } else {
        sky_program_free(program);
    }
    if (st == SKY_OK) st = sky_runtime_render(c->rt, 0, 0, NULL, error, sizeof error);
    uint64_t compiled = build_now_us();
    if (st == SKY_OK) st = sky_runtime_render(c->rt, 0.02, 0.02, NULL, error, sizeof error);
    uint64_t frame_us = build_now_us() - compiled;
    if (st != SKY_OK) return build_child_fail(c->cmd, "building the pipeline failed", error);
    unsigned limit_ms = build_env_budget(BUILD_FRAME_ENV, BUILD_MAX_FRAME_MS);
    if (frame_us > limit_ms * 1000ull) {
        fprintf(stderr,
                "%s: the pattern is too slow to run: a frame of %u LEDs took %llu ms on this "
                "device, over the limit of %u ms (%s): lower fbm octaves and reduction "
                "bounds\n",
                c->cmd, c->leds, (unsigned long long)(frame_us / 1000u), limit_ms, BUILD_FRAME_ENV);
        return 2;
    }
    *reply = (build_reply){BUILD_MAGIC, (uint32_t)word_count, (uint32_t)(emitted - start),
                           (uint32_t)(compiled - emitted), (uint32_t)frame_us};
    return 0;
}

/* Serves one request from stdin: 0 served, 1 end of input, 2 failed (printed). */
static int build_child_serve(build_child *c) {
    build_request request;
    int got = build_read_all(STDIN_FILENO, &request, sizeof request);
    if (got == 0) return 1;
    if (got < 0 || request.magic != BUILD_MAGIC || request.source_len > BUILD_MAX_SOURCE)
        return build_child_fail(c->cmd, "a bad request from the parent", NULL);
    char *source = malloc(request.source_len + 1u);
    if (!source) return build_child_fail(c->cmd, "reading the pattern", "out of memory");
    if (build_read_all(STDIN_FILENO, source, request.source_len) != 1) {
        free(source);
        return build_child_fail(c->cmd, "reading the pattern", "the parent's pipe ended");
    }
    build_reply reply;
    uint32_t *words = NULL;
    int code = build_child_build(c, source, request.source_len, &reply, &words);
    free(source);
    if (code == 0 && (!build_write_all(STDOUT_FILENO, &reply, sizeof reply) ||
                      !build_write_all(STDOUT_FILENO, words, reply.word_count * 4ull)))
        code = build_child_fail(c->cmd, "writing the shader to the parent", strerror(errno));
    sky_free(words);
    return code;
}

/* The first build of a process starts glslang and LLVM: pay it before the first request. */
#define BUILD_WARM_SOURCE "out rgb(x, y, t)\n"

int live_build_child_main(const char *cmd, int argc, char **argv) {
    if (argc != 4) return build_child_fail(cmd, "--build-child DEVICE TEXELS MIB LEDS", NULL);
    build_child c = {.cmd = cmd};
    sky_emit_options_init(&c.emit);
    c.emit.led_texels = strcmp(argv[1], "1") == 0;
    /* Background work: the show's render thread comes first on a CPU device (lavapipe's
     * threads, created later, inherit this). A failure only costs that preference. */
    errno = 0;
    if (nice(BUILD_NICE) == -1 && errno != 0) {
        /* not allowed to lower the priority further: build at the same one */
    }
    /* SIGHUP reloads the show: one sent to the whole group must not end its builder. */
    signal(SIGHUP, SIG_IGN);
    unsigned long mib = strtoul(argv[2], NULL, 10);
    unsigned long leds = strtoul(argv[3], NULL, 10);
    if (leds == 0 || leds > UINT32_MAX) return build_child_fail(cmd, "bad LED count", argv[3]);
    c.leds = (uint32_t)leds;
    struct rlimit limit = {(rlim_t)mib << 20, (rlim_t)mib << 20};
    if (mib == 0 || (!BUILD_UNDER_ASAN && setrlimit(RLIMIT_AS, &limit) != 0))
        return build_child_fail(cmd, "cannot set the memory budget", strerror(errno));
    int code = build_child_setup(&c, argv[0]);
    build_reply reply;
    uint32_t *words = NULL;
    if (code == 0)
        code = build_child_build(&c, BUILD_WARM_SOURCE, strlen(BUILD_WARM_SOURCE), &reply, &words);
    sky_free(words);
    while (code == 0) {
        code = build_child_serve(&c);
        if (code == 1) code = -1;
    }
    build_child_free(&c);
    return code < 0 ? 0 : code;
}

/* ----------------------------------------------------------- the parent */

struct live_builder {
    pthread_mutex_t lock; /* one build at a time; guards the child too */
    const char *cmd;
    char *device; /* NULL: the runtime's default */
    sky_emit_options emit;
    uint32_t led_count;
    pid_t child;              /* -1: none running */
    int to_child, from_child; /* its stdin and stdout */
    unsigned builds;          /* served by this child */
};

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

/* Starts the builder's child; it warms up while the parent does other work. */
static bool build_child_start(live_builder *b) {
    unsigned seconds, mib;
    live_build_budget(&seconds, &mib);
    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: cannot start the shader build: pipe: %s\n", b->cmd, strerror(errno));
        return false;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: cannot start the shader build: pipe: %s\n", b->cmd, strerror(errno));
        close(in_pipe[0]);
        close(in_pipe[1]);
        return false;
    }
    pid_t pid = build_spawn(b->cmd, b->device, b->emit.led_texels, mib, b->led_count, in_pipe[0],
                            out_pipe[1]);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (pid < 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        return false;
    }
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    b->child = pid;
    b->to_child = in_pipe[1];
    b->from_child = out_pipe[0];
    b->builds = 0;
    return true;
}

/* Ends the child (SIGKILL when `kill_it`, else it exits at the end of its input) and reaps it. */
static int build_child_end(live_builder *b, bool kill_it) {
    int status = 0;
    if (b->child < 0) return 0;
    close(b->to_child);
    close(b->from_child);
    if (kill_it) kill(b->child, SIGKILL);
    while (waitpid(b->child, &status, 0) < 0 && errno == EINTR) {
    }
    b->child = -1;
    b->to_child = b->from_child = -1;
    return status;
}

/* True when the child is still there (one that ended while idle is reaped). */
static bool build_child_alive(live_builder *b) {
    if (b->child < 0) return false;
    int status;
    if (waitpid(b->child, &status, WNOHANG) != b->child) return true;
    b->child = -1; /* reaped: close without waiting again */
    close(b->to_child);
    close(b->from_child);
    b->to_child = b->from_child = -1;
    return false;
}

/* The reply is whole once its header and the words it announces have come. */
static bool build_reply_whole(const build_io *in) {
    if (in->len < sizeof(build_reply)) return false;
    build_reply reply;
    memcpy(&reply, in->data, sizeof reply);
    return reply.magic != BUILD_MAGIC || reply.word_count > BUILD_MAX_WORDS ||
           in->len >= sizeof reply + reply.word_count * 4ull;
}

/*
 * Sends the request and collects the reply until it is whole, the child's
 * output ends (*ended), the deadline or a cancel.
 */
static live_build_result build_talk(live_builder *b, const build_io *request, const int *cancel_fds,
                                    size_t cancel_count, uint64_t deadline_ms, build_io *in,
                                    bool *ended) {
    size_t sent = 0;
    *ended = false;
    while (!build_reply_whole(in)) {
        struct pollfd fds[2 + 4];
        size_t n = 0;
        fds[n++] = (struct pollfd){b->from_child, POLLIN, 0};
        fds[n++] = (struct pollfd){sent < request->len ? b->to_child : -1, POLLOUT, 0};
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
            ssize_t w = write(b->to_child, request->data + sent, request->len - sent);
            if (w < 0 && errno != EINTR && errno != EAGAIN) sent = request->len; /* read why */
            if (w > 0) sent += (size_t)w;
        }
        if (fds[0].revents) {
            char buf[65536];
            ssize_t r = read(b->from_child, buf, sizeof buf);
            if (r < 0 && errno != EINTR && errno != EAGAIN) return LIVE_BUILD_FAILED;
            if (r == 0) {
                *ended = true;
                return LIVE_BUILD_FAILED;
            }
            if (r > 0 && !build_io_append(in, buf, (size_t)r)) return LIVE_BUILD_FAILED;
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

bool live_builder_create(const char *cmd, const char *device, const sky_emit_options *emit,
                         uint32_t led_count, live_builder **builder) {
    live_builder *b = calloc(1, sizeof *b);
    if (!b || (device && !(b->device = strdup(device)))) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        free(b);
        return false;
    }
    /* A child that died makes write() fail with EPIPE instead of ending this process. */
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&b->lock, NULL);
    b->cmd = cmd;
    b->emit = *emit;
    b->led_count = led_count;
    b->child = -1;
    b->to_child = b->from_child = -1;
    if (!build_child_start(b)) {
        live_builder_free(b);
        return false;
    }
    *builder = b;
    return true;
}

void live_builder_free(live_builder *builder) {
    if (!builder) return;
    build_child_end(builder, true);
    pthread_mutex_destroy(&builder->lock);
    free(builder->device);
    free(builder);
}

/* Says why the child ended without answering; returns the build's result. */
static live_build_result build_child_ended(live_builder *b, int status, double took, unsigned mib) {
    /* A stop signal sent to the whole group (Ctrl-C, systemd) ends the child too: no failure. */
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT)) {
        fprintf(stderr, "%s: the shader build was stopped by %s\n", b->cmd,
                live_signals_name(WTERMSIG(status)));
        return LIVE_BUILD_CANCELLED;
    }
    if (WIFSIGNALED(status)) /* the parent's SIGKILL is not this path: over the budget */
        fprintf(stderr,
                "%s: building the shader failed after %.1f s: the build was ended by signal %d, "
                "most likely over its memory budget of %u MiB (%s): lower fbm octaves and "
                "reduction bounds\n",
                b->cmd, took, WTERMSIG(status), mib, BUILD_MEMORY_ENV);
    else /* the child printed why (an allocation failing under the budget shows there too) */
        fprintf(stderr, "%s: building the shader failed after %.1f s\n", b->cmd, took);
    return LIVE_BUILD_FAILED;
}

/* Takes the SPIR-V out of a whole reply; false after printing when it is not SPIR-V. */
static bool build_take_words(live_builder *b, build_io *in, uint32_t **words, size_t *word_count) {
    build_reply reply;
    memcpy(&reply, in->data, sizeof reply);
    if (reply.magic != BUILD_MAGIC || reply.word_count < 5 || reply.word_count > BUILD_MAX_WORDS) {
        fprintf(stderr, "%s: the shader build answered something that is not SPIR-V\n", b->cmd);
        return false;
    }
    uint32_t *copy = malloc(reply.word_count * 4ull);
    if (!copy) {
        fprintf(stderr, "%s: out of memory\n", b->cmd);
        return false;
    }
    memcpy(copy, in->data + sizeof reply, reply.word_count * 4ull);
    *words = copy;
    *word_count = reply.word_count;
    fprintf(stderr,
            "%s: shader built: SPIR-V %.0f ms, the driver's compilation %.0f ms, a frame %.1f "
            "ms\n",
            b->cmd, reply.spirv_us / 1e3, reply.driver_us / 1e3, reply.frame_us / 1e3);
    return true;
}

/*
 * One build. A child that had served builds and ends without answering may
 * have died while it waited (the OOM killer, a stray kill: the death is not
 * seen before the request is sent), so `may_retry` builds once more on a
 * fresh child before calling the build failed; a pattern that kills its
 * child (over the memory budget) then fails on the fresh one too.
 */
static live_build_result build_once(live_builder *b, const char *source, size_t len,
                                    const int *cancel_fds, size_t cancel_count, uint32_t **words,
                                    size_t *word_count, bool may_retry) {
    *words = NULL;
    *word_count = 0;
    unsigned seconds, mib;
    live_build_budget(&seconds, &mib);
    if (len > BUILD_MAX_SOURCE) {
        fprintf(stderr, "%s: the pattern is %zu bytes, over the %u the shader build takes\n",
                b->cmd, len, BUILD_MAX_SOURCE);
        return LIVE_BUILD_FAILED;
    }
    if (!build_child_alive(b) && !build_child_start(b)) return LIVE_BUILD_FAILED;
    bool served_before = b->builds > 0;
    build_io request = {0}, in = {0};
    build_request header = {BUILD_MAGIC, (uint32_t)len};
    if (!build_io_append(&request, (const char *)&header, sizeof header) ||
        !build_io_append(&request, source, len)) {
        free(request.data);
        fprintf(stderr, "%s: out of memory\n", b->cmd);
        return LIVE_BUILD_FAILED;
    }
    uint64_t start = build_now_ms();
    bool ended = false;
    live_build_result result =
        build_talk(b, &request, cancel_fds, cancel_count, start + seconds * 1000ull, &in, &ended);
    int io_errno = errno;
    free(request.data);
    if (result == LIVE_BUILD_OK && !build_take_words(b, &in, words, word_count)) {
        result = LIVE_BUILD_FAILED;
        ended = false;
        io_errno = 0;
    }
    free(in.data);
    if (result == LIVE_BUILD_OK) {
        if (++b->builds >= BUILD_CHILD_MAX_BUILDS) {
            build_child_end(b, true); /* retired, idle: nothing of it is lost */
            build_child_start(b);     /* a failure here shows again at the next build */
        }
        return LIVE_BUILD_OK;
    }
    double took = (double)(build_now_ms() - start) / 1000.0;
    int status = build_child_end(b, !ended);
    if (ended && may_retry && served_before && !build_cancelled(cancel_fds, cancel_count))
        return build_once(b, source, len, cancel_fds, cancel_count, words, word_count, false);
    if (result != LIVE_BUILD_CANCELLED && build_cancelled(cancel_fds, cancel_count))
        result = LIVE_BUILD_CANCELLED;
    else if (ended)
        result = build_child_ended(b, status, took, mib);
    else if (result == LIVE_BUILD_TIMEOUT)
        fprintf(stderr,
                "%s: building the shader took longer than its budget of %u s (%s); abandoned: "
                "lower fbm octaves and reduction bounds\n",
                b->cmd, seconds, BUILD_TIME_ENV);
    else if (result == LIVE_BUILD_FAILED && io_errno)
        fprintf(stderr, "%s: talking to the shader build failed: %s\n", b->cmd, strerror(io_errno));
    /* A fresh child for the next build, warming up meanwhile; not when the show is stopping. */
    if (result != LIVE_BUILD_CANCELLED) build_child_start(b);
    return result;
}

static const char *build_result_message(live_build_result result) {
    switch (result) {
    case LIVE_BUILD_OK:
        return "";
    case LIVE_BUILD_TIMEOUT:
        return "building the shader took longer than its time budget";
    case LIVE_BUILD_CANCELLED:
        return "the shader build was cancelled";
    default:
        return "building the shader failed (see the log)";
    }
}

live_build_result live_build(live_builder *builder, const char *source, size_t len,
                             const int *cancel_fds, size_t cancel_count, uint32_t **words,
                             size_t *word_count, char *message, size_t message_len) {
    pthread_mutex_lock(&builder->lock);
    live_build_result result =
        build_once(builder, source, len, cancel_fds, cancel_count, words, word_count, true);
    pthread_mutex_unlock(&builder->lock);
    if (message && message_len) snprintf(message, message_len, "%s", build_result_message(result));
    return result;
}

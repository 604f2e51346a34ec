/*
 * cpu_kernel.c - the CPU backend's kernels: sky_program_emit_c's unit,
 * compiled by the system's C compiler into a shared object and loaded with
 * dlopen (docs/cpu-backend.md).
 *
 * Compiled objects are cached under $XDG_CACHE_HOME/skyscreen (else
 * ~/.cache/skyscreen), named by a 64-bit FNV-1a hash of the unit's text, the
 * compiler command and flags, the compiler's own `--version` line and the
 * kernel ABI version, so a restart, or a reload of a pattern seen before,
 * costs one dlopen. Objects are written under a temporary name and renamed
 * into place, so a crash or a concurrent build never leaves a torn file
 * behind; one that still fails to load is rebuilt once.
 *
 * Why cc and not libgccjit: the kernel is one C function, which cc compiles
 * as it is (with -march=native and -fopenmp-simd, both of which libgccjit
 * takes only as driver options), it is what every Debian box with gcc has,
 * and with the cache a program is compiled once per machine.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sky/runtime.h"

extern char **environ;

/*
 * The flags: -O3 and the machine's vector unit. Not -ffast-math: its
 * -ffinite-math-only lets the compiler drop NaN and infinity tests, its
 * reassociation and reciprocal division change results away from the CPU
 * evaluator, and contraction into fused multiply-adds moves fract() of a
 * value that should be a whole number off by one (docs/shader-abi.md). The
 * kernel keeps IEEE semantics; -fno-math-errno and -fno-trapping-math are all
 * that vectorising its selects and square roots needs.
 */
#define CPU_FLAGS                                                                \
    "-std=c11", "-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", \
        "-ffp-contract=off", "-fopenmp-simd", "-fno-semantic-interposition", "-shared", "-fPIC"
#define CPU_FLAGS_TEXT                                                                 \
    "-std=c11 -O3 -march=native -fno-math-errno -fno-trapping-math -ffp-contract=off " \
    "-fopenmp-simd -fno-semantic-interposition -shared -fPIC"
#define CPU_CC_ENV     "SKY_CC"
#define CPU_DEFAULT_CC "cc"

struct sky_cpu_kernel {
    void *handle;
    sky_cpu_kernel_fn *fn;
};

static void cpu_error(char *error, size_t error_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cpu_error(char *error, size_t error_len, const char *fmt, ...) {
    if (!error || !error_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

static uint64_t cpu_fnv(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static const char *cpu_cc(void) {
    const char *cc = getenv(CPU_CC_ENV);
    return cc && *cc ? cc : CPU_DEFAULT_CC;
}

/*
 * Runs argv with stdout and stderr into `log` (a file path); *status gets the
 * exit status. ENOENT when the program is not on PATH.
 */
static int cpu_spawn(char *const argv[], const char *log, int *status) {
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return ENOMEM;
    int rc = posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    if (rc == 0) rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return rc;
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) return errno;
    return 0;
}

/* The first `max` bytes of a file, NUL-terminated, or "" when unreadable. */
static void cpu_read_head(const char *path, char *out, size_t max) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(out, 1, max - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* The cache folder, created (0700) if missing. */
static sky_status cpu_cache_dir(char *dir, size_t size, char *error, size_t error_len) {
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(dir, size, "%s/skyscreen", xdg);
    else if (home && *home)
        n = snprintf(dir, size, "%s/.cache/skyscreen", home);
    else {
        cpu_error(error, error_len,
                  "CPU backend: no cache folder: neither XDG_CACHE_HOME nor HOME is set");
        return SKY_ERR_INVALID_ARG;
    }
    if (n < 0 || (size_t)n >= size) {
        cpu_error(error, error_len, "CPU backend: cache folder path too long");
        return SKY_ERR_INVALID_ARG;
    }
    /* mkdir -p, one component at a time */
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cpu_error(error, error_len, "CPU backend: cannot create the cache folder %s: %s", dir,
                  strerror(errno));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

/* `cc --version`'s first line: part of the cache key, and the check that a compiler exists. */
static sky_status cpu_cc_version(const char *dir, char *version, size_t size, char *error,
                                 size_t error_len) {
    char log[4200];
    /* unique per call: two threads of one process may build at once */
    snprintf(log, sizeof log, "%s/cc-version.%ld.%lx.log", dir, (long)getpid(),
             (unsigned long)(uintptr_t)&log);
    char *argv[] = {(char *)cpu_cc(), "--version", NULL};
    int status = 0;
    int rc = cpu_spawn(argv, log, &status);
    if (rc != 0) {
        unlink(log);
        cpu_error(error, error_len,
                  "CPU backend: cannot run the C compiler `%s`: %s (install gcc: apt install gcc, "
                  "or name one in $%s)",
                  cpu_cc(), strerror(rc), CPU_CC_ENV);
        return SKY_ERR_NO_DEVICE;
    }
    cpu_read_head(log, version, size);
    unlink(log);
    version[strcspn(version, "\n")] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !version[0]) {
        cpu_error(error, error_len, "CPU backend: `%s --version` failed: is it a C compiler?",
                  cpu_cc());
        return SKY_ERR_NO_DEVICE;
    }
    return SKY_OK;
}

/* Writes `len` bytes to a new file; false with errno on failure. */
static bool cpu_write_file(const char *path, const char *text, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return false;
        }
        done += (size_t)w;
    }
    return close(fd) == 0;
}

/* Compiles `text` into `object` (written under a temporary name, then renamed). */
static sky_status cpu_compile(const char *dir, const char *text, size_t len, const char *object,
                              char *error, size_t error_len) {
    char src[4200], tmp[4200], log[4200];
    unsigned long tag = (unsigned long)getpid() ^ ((unsigned long)time(NULL) << 20) ^
                        (unsigned long)(uintptr_t)&src;
    snprintf(src, sizeof src, "%s/build-%lx.c", dir, tag);
    snprintf(tmp, sizeof tmp, "%s/build-%lx.so", dir, tag);
    snprintf(log, sizeof log, "%s/build-%lx.log", dir, tag);
    if (!cpu_write_file(src, text, len)) {
        cpu_error(error, error_len, "CPU backend: cannot write %s: %s", src, strerror(errno));
        return SKY_ERR_IO;
    }
    char *argv[] = {(char *)cpu_cc(), CPU_FLAGS, "-o", tmp, src, NULL};
    int status = 0;
    int rc = cpu_spawn(argv, log, &status);
    sky_status st = SKY_OK;
    if (rc != 0) {
        cpu_error(error, error_len, "CPU backend: cannot run the C compiler `%s`: %s", cpu_cc(),
                  strerror(rc));
        st = SKY_ERR_NO_DEVICE;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char head[1024];
        cpu_read_head(log, head, sizeof head);
        /* the unit comes from the emitter: a compile error is a bug in Skyscreen */
        cpu_error(error, error_len, "internal compiler error: `%s` rejected the CPU kernel: %s",
                  cpu_cc(), head);
        st = SKY_ERR_INTERNAL;
    } else if (rename(tmp, object) != 0) {
        cpu_error(error, error_len, "CPU backend: cannot rename %s to %s: %s", tmp, object,
                  strerror(errno));
        st = SKY_ERR_IO;
    }
    unlink(src);
    unlink(log);
    if (st != SKY_OK) unlink(tmp);
    return st;
}

static sky_status cpu_open(const char *object, sky_cpu_kernel *k, char *error, size_t error_len) {
    k->handle = dlopen(object, RTLD_NOW | RTLD_LOCAL);
    if (!k->handle) {
        const char *why = dlerror();
        cpu_error(error, error_len, "CPU backend: cannot load %s: %s", object, why ? why : "?");
        return SKY_ERR_IO;
    }
    const uint32_t *abi = dlsym(k->handle, "sky_kernel_abi");
    const uint32_t *size = dlsym(k->handle, "sky_kernel_args_size");
    void *fn = dlsym(k->handle, "sky_kernel");
    if (!abi || !size || !fn || *abi != SKY_CPU_ABI_VERSION || *size != sizeof(sky_cpu_args)) {
        cpu_error(error, error_len, "CPU backend: %s is not a kernel of this version", object);
        dlclose(k->handle);
        k->handle = NULL;
        return SKY_ERR_IO;
    }
    memcpy(&k->fn, &fn, sizeof fn); /* object to function pointer, as POSIX allows */
    return SKY_OK;
}

bool sky_cpu_compiler_available(void) {
    char *argv[] = {(char *)cpu_cc(), "--version", NULL};
    int status = 0;
    return cpu_spawn(argv, "/dev/null", &status) == 0 && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

const char *sky_cpu_compiler(void) {
    return cpu_cc();
}

const char *sky_cpu_compiler_flags(void) {
    return CPU_FLAGS_TEXT;
}

sky_status sky_cpu_kernel_build(const sky_program *program, sky_cpu_kernel **kernel, bool *cached,
                                char *error, size_t error_len) {
    if (!program || !kernel) return SKY_ERR_INVALID_ARG;
    *kernel = NULL;
    if (cached) *cached = false;
    char dir[4096], version[512], object[4200];
    sky_status st = cpu_cache_dir(dir, sizeof dir, error, error_len);
    if (st == SKY_OK) st = cpu_cc_version(dir, version, sizeof version, error, error_len);
    if (st != SKY_OK) return st;

    char *text = NULL;
    size_t len = 0;
    st = sky_program_emit_c(program, &text, &len);
    if (st != SKY_OK) {
        cpu_error(error, error_len, "internal compiler error: emitting the CPU kernel failed (%s)",
                  sky_status_str(st));
        return st;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    uint32_t abi = SKY_CPU_ABI_VERSION;
    h = cpu_fnv(h, text, len);
    h = cpu_fnv(h, cpu_cc(), strlen(cpu_cc()) + 1);
    h = cpu_fnv(h, CPU_FLAGS_TEXT, sizeof CPU_FLAGS_TEXT);
    h = cpu_fnv(h, version, strlen(version) + 1);
    h = cpu_fnv(h, &abi, sizeof abi);
    snprintf(object, sizeof object, "%s/kernel-%016" PRIx64 ".so", dir, h);

    sky_cpu_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        sky_free(text);
        return SKY_ERR_NOMEM;
    }
    bool hit = access(object, R_OK) == 0;
    st = hit ? cpu_open(object, k, error, error_len) : SKY_ERR_IO;
    if (st != SKY_OK) {
        if (hit) unlink(object); /* unloadable: build it again */
        hit = false;
        st = cpu_compile(dir, text, len, object, error, error_len);
        if (st == SKY_OK) st = cpu_open(object, k, error, error_len);
    }
    sky_free(text);
    if (st != SKY_OK) {
        free(k);
        return st;
    }
    if (cached) *cached = hit;
    *kernel = k;
    return SKY_OK;
}

void sky_cpu_kernel_run(const sky_cpu_kernel *kernel, const sky_cpu_args *args, uint32_t begin,
                        uint32_t end) {
    if (kernel && args && begin < end) kernel->fn(args, begin, end);
}

void sky_cpu_kernel_free(sky_cpu_kernel *kernel) {
    if (!kernel) return;
    if (kernel->handle) dlclose(kernel->handle);
    free(kernel);
}

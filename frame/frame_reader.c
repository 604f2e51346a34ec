/*
 * frame_reader.c - a reader of the frame file (docs/frame-format.md).
 *
 * Opening reads the header, strip table and positions with pread() (a read
 * never faults), validates all of it against the file's size, and only then
 * maps the file read-only. Reading copies the newest frame with the seqlock
 * protocol: load-acquire the frame number, load-acquire the slot's sequence
 * word, copy, acquire fence, re-load the sequence word; a changed word means
 * the writer lapped the copy, so it is discarded and the newest frame is
 * tried again. A reader never writes to the file and never blocks the writer.
 *
 * A file that shrinks under a mapping turns the next access into SIGBUS.
 * Every access to the mapping runs inside a guard: a process-wide SIGBUS
 * handler (the one documented global of this library: installed on first
 * use, re-installed if something replaced it, chained to the handler it
 * found) siglongjmps out of faults that hit the guarded mapping of the
 * faulting thread, and the read reports SKY_ERR_FORMAT; faults anywhere else
 * go to the previous handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame_internal.h"

/* Attempts per read before giving up with SKY_ERR_AGAIN: only a writer that
 * laps the reader this many times in a row (a tiny ring published flat out
 * while the reader is starved) gets there. */
#define READER_MAX_ATTEMPTS 10000

struct sky_frame_reader {
    int fd;
    uint8_t *map;
    size_t map_len;
    sky_frame_info info;
    uint32_t *strips;
    float *positions;   /* (x, y) pairs */
    float *positions_z; /* z values */
    char *path;
    dev_t dev;
    ino_t ino;
    uint64_t last;         /* the last frame read, 0 before the first */
    uint64_t beat_seen;    /* the heartbeat last seen by writer_state ... */
    uint64_t beat_seen_ns; /* ... and when (our clock) it was first seen with that value */
    uint64_t dropped;
    uint64_t retries;
};

/* ------------------------------------------------------------ SIGBUS guard */

typedef struct reader_guard {
    sigjmp_buf env;
    const uint8_t *base;
    size_t len;
} reader_guard;

/* The signal handler's state: documented process-wide globals. */
static _Thread_local reader_guard *volatile reader_active_guard;
static _Thread_local volatile sig_atomic_t reader_chaining;
static struct sigaction reader_prev_sigbus;
static pthread_mutex_t reader_sigbus_lock = PTHREAD_MUTEX_INITIALIZER;

static void reader_sigbus_handler(int sig, siginfo_t *si, void *context) {
    reader_guard *g = reader_active_guard;
    if (g && si && (uintptr_t)si->si_addr - (uintptr_t)g->base < g->len) {
        reader_active_guard = NULL;
        siglongjmp(g->env, 1);
    }
    /* Not ours: hand it to the previous handler, unless that handler chained
     * back to us (two libraries re-installing over each other). */
    const struct sigaction *prev = &reader_prev_sigbus;
    if (!reader_chaining && (prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction &&
        prev->sa_sigaction != reader_sigbus_handler) {
        reader_chaining = 1;
        prev->sa_sigaction(sig, si, context);
        reader_chaining = 0;
    } else if (!reader_chaining && !(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
               prev->sa_handler != SIG_IGN) {
        reader_chaining = 1;
        prev->sa_handler(sig);
        reader_chaining = 0;
    } else {
        /* Default action: restore it; a real fault re-faults on return and
         * kills the process as it would have; a sent signal is re-raised. */
        signal(sig, SIG_DFL);
        if (!si || si->si_code <= 0) raise(sig);
    }
}

/*
 * Makes sure our handler is the installed one. Checked before every guarded
 * access, not once: a program (or a test framework) may install its own
 * SIGBUS handler after ours, and the guard must still work. The handler
 * found in place becomes the one we chain to.
 */
static int reader_ensure_sigbus(void) {
    struct sigaction cur;
    if (sigaction(SIGBUS, NULL, &cur) != 0) return errno;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == reader_sigbus_handler) return 0;
    int rc = 0;
    pthread_mutex_lock(&reader_sigbus_lock);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = reader_sigbus_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    struct sigaction prev;
    if (sigaction(SIGBUS, &sa, &prev) != 0) {
        rc = errno;
    } else if (!((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == reader_sigbus_handler)) {
        reader_prev_sigbus = prev;
    }
    pthread_mutex_unlock(&reader_sigbus_lock);
    return rc;
}

typedef sky_status (*reader_guarded_fn)(sky_frame_reader *r, void *arg, char *error,
                                        size_t error_len);

/* Runs fn with SIGBUS on the reader's mapping turned into SKY_ERR_FORMAT. */
static sky_status reader_guarded(sky_frame_reader *r, reader_guarded_fn fn, void *arg, char *error,
                                 size_t error_len) {
    int rc = reader_ensure_sigbus();
    if (rc != 0) {
        frame_error(error, error_len, "%s: cannot install the SIGBUS handler: %s", r->path,
                    strerror(rc));
        return SKY_ERR_IO;
    }
    /* Normal code, not a handler: a chained handler that jumped out of ours (a test
     * framework's longjmp) must not leave chaining switched off for good. */
    reader_chaining = 0;
    reader_guard guard;
    guard.base = r->map;
    guard.len = r->map_len;
    if (sigsetjmp(guard.env, 1) != 0) {
        frame_error(error, error_len,
                    "%s: the file shrank under the reader (SIGBUS); reopen it to recover", r->path);
        return SKY_ERR_FORMAT;
    }
    reader_active_guard = &guard;
    sky_status st = fn(r, arg, error, error_len);
    reader_active_guard = NULL;
    return st;
}

/* ------------------------------------------------------------------- open */

static sky_status reader_pread_all(int fd, void *buf, size_t len, uint64_t offset, const char *path,
                                   const char *what, char *error, size_t error_len) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            frame_error(error, error_len, "%s: reading the %s: %s", path, what, strerror(errno));
            return SKY_ERR_IO;
        }
        if (n == 0) {
            frame_error(error, error_len, "%s: the file ended while reading the %s (truncated?)",
                        path, what);
            return SKY_ERR_FORMAT;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return SKY_OK;
}

/* What a non-regular file is, for the message. */
static const char *reader_file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

/*
 * Opens without blocking and without following a symbolic link: anyone can
 * create a FIFO in /dev/shm, and open() of a FIFO blocks until a writer
 * comes; a link may point at a device whose open has effects. A writer only
 * ever makes regular files, so anything else is refused by type.
 */
static sky_status reader_open_file(sky_frame_reader *r, struct stat *st, char *error,
                                   size_t error_len) {
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
    if (r->fd < 0 && errno == ELOOP) {
        frame_error(error, error_len,
                    "%s is a symbolic link: a frame writer never makes one, so it is not "
                    "followed",
                    r->path);
        return SKY_ERR_FORMAT;
    }
    if (r->fd < 0) {
        frame_error(error, error_len, "%s: %s%s", r->path, strerror(errno),
                    errno == ENOENT ? " (no writer has created it yet?)" : "");
        return SKY_ERR_IO;
    }
    if (fstat(r->fd, st) != 0) {
        frame_error(error, error_len, "%s: fstat: %s", r->path, strerror(errno));
        return SKY_ERR_IO;
    }
    if (!S_ISREG(st->st_mode)) {
        frame_error(error, error_len,
                    "%s is %s, not a regular file: a frame file is always a regular file", r->path,
                    reader_file_kind(st->st_mode));
        return SKY_ERR_FORMAT;
    }
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    return SKY_OK;
}

/* The positions table into the (x, y) pairs and the z values, in chunks of
 * 4096 LEDs (48 KiB on the stack) so that a 3-D table costs no second copy. */
static sky_status reader_load_positions(sky_frame_reader *r, char *error, size_t error_len) {
    enum { CHUNK = 4096 };
    float buf[CHUNK * 3];
    uint32_t per_led = frame_position_bytes(r->info.version) / 4u; /* 2 or 3 floats */
    for (uint32_t first = 0; first < r->info.led_count; first += CHUNK) {
        uint32_t n = r->info.led_count - first < CHUNK ? r->info.led_count - first : CHUNK;
        sky_status st = reader_pread_all(r->fd, buf, (size_t)n * per_led * 4u,
                                         r->info.positions_offset + (uint64_t)first * per_led * 4u,
                                         r->path, "positions", error, error_len);
        if (st != SKY_OK) return st;
        float *xy = r->positions + 2 * (size_t)first, *z = r->positions_z + first;
        for (uint32_t k = 0; k < n; k++) {
            xy[2 * k] = buf[per_led * k];
            xy[2 * k + 1] = buf[per_led * k + 1];
            if (per_led == 3) z[k] = buf[3 * k + 2];
        }
        st = frame_positions_validate(xy, z, first, n, r->path, error, error_len);
        if (st != SKY_OK) return st;
    }
    return SKY_OK;
}

/* Header, strip table and positions: pread and validated, nothing mapped. */
static sky_status reader_load_tables(sky_frame_reader *r, uint64_t file_size, char *error,
                                     size_t error_len) {
    uint8_t hdr[SKY_FRAME_HEADER_BYTES];
    memset(hdr, 0, sizeof hdr);
    if (file_size >= SKY_FRAME_HEADER_BYTES) {
        sky_status st =
            reader_pread_all(r->fd, hdr, sizeof hdr, 0, r->path, "header", error, error_len);
        if (st != SKY_OK) return st;
    }
    sky_status st = frame_header_validate(hdr, file_size, r->path, &r->info, error, error_len);
    if (st != SKY_OK) return st;

    r->strips = malloc((size_t)r->info.strip_count * sizeof *r->strips);
    r->positions = malloc((size_t)r->info.led_count * 2u * sizeof *r->positions);
    r->positions_z = calloc(r->info.led_count, sizeof *r->positions_z);
    if (!r->strips || !r->positions || !r->positions_z) {
        frame_error(error, error_len, "%s: out of memory for %u LEDs", r->path, r->info.led_count);
        return SKY_ERR_NOMEM;
    }
    st = reader_pread_all(r->fd, r->strips, (size_t)r->info.strip_count * 4u, r->info.strips_offset,
                          r->path, "strip table", error, error_len);
    if (st != SKY_OK) return st;
    /* Stored little-endian, which this (little-endian) host reads directly. */
    st = frame_strips_validate(r->strips, &r->info, r->path, error, error_len);
    if (st == SKY_OK) st = reader_load_positions(r, error, error_len);
    return st;
}

static sky_status reader_map(sky_frame_reader *r, char *error, size_t error_len) {
    int rc = reader_ensure_sigbus();
    if (rc != 0) {
        frame_error(error, error_len, "%s: cannot install the SIGBUS handler: %s", r->path,
                    strerror(rc));
        return SKY_ERR_IO;
    }
    void *map = mmap(NULL, (size_t)r->info.file_bytes, PROT_READ, MAP_SHARED, r->fd, 0);
    if (map == MAP_FAILED) {
        frame_error(error, error_len, "%s: mmap of %llu bytes failed: %s", r->path,
                    (unsigned long long)r->info.file_bytes, strerror(errno));
        return SKY_ERR_IO;
    }
    r->map = map;
    r->map_len = (size_t)r->info.file_bytes;
    return SKY_OK;
}

sky_status sky_frame_reader_open(const char *path, sky_frame_reader **reader, char *error,
                                 size_t error_len) {
    if (!reader) return SKY_ERR_INVALID_ARG;
    *reader = NULL;
    if (!path || !*path) path = SKY_FRAME_DEFAULT_PATH;
    sky_frame_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        frame_error(error, error_len, "%s: out of memory", path);
        return SKY_ERR_NOMEM;
    }
    r->fd = -1;
    struct stat st;
    sky_status status = reader_open_file(r, &st, error, error_len);
    if (status == SKY_OK) status = reader_load_tables(r, (uint64_t)st.st_size, error, error_len);
    if (status == SKY_OK) status = reader_map(r, error, error_len);
    if (status != SKY_OK) {
        sky_frame_reader_free(r);
        return status;
    }
    *reader = r;
    return SKY_OK;
}

void sky_frame_reader_free(sky_frame_reader *reader) {
    if (!reader) return;
    if (reader->map) munmap(reader->map, reader->map_len);
    if (reader->fd >= 0) close(reader->fd);
    free(reader->strips);
    free(reader->positions);
    free(reader->positions_z);
    free(reader->path);
    free(reader);
}

const sky_frame_info *sky_frame_reader_info(const sky_frame_reader *reader) {
    return reader ? &reader->info : NULL;
}
const uint32_t *sky_frame_reader_strips(const sky_frame_reader *reader) {
    return reader ? reader->strips : NULL;
}
const float *sky_frame_reader_positions(const sky_frame_reader *reader) {
    return reader ? reader->positions : NULL;
}

const float *sky_frame_reader_positions_z(const sky_frame_reader *reader) {
    return reader ? reader->positions_z : NULL;
}
uint64_t sky_frame_reader_dropped(const sky_frame_reader *reader) {
    return reader ? reader->dropped : 0;
}
uint64_t sky_frame_reader_retries(const sky_frame_reader *reader) {
    return reader ? reader->retries : 0;
}

/* ------------------------------------------------------------------- read */

typedef struct reader_read_args {
    uint8_t *dst;
    uint64_t frame;
} reader_read_args;

/*
 * The racy copy of a slot the writer may be rewriting: formally a data race
 * (WG21 P1478), validated by the sequence re-check after it. Kept out of line
 * so the compiler cannot move reads of dst across the check.
 */
__attribute__((noinline)) static void reader_copy_slot(uint8_t *dst, const uint8_t *src,
                                                       size_t len) {
    memcpy(dst, src, len);
}

static sky_status reader_copy_newest(sky_frame_reader *r, void *arg, char *error,
                                     size_t error_len) {
    reader_read_args *a = arg;
    const sky_frame_info *info = &r->info;
    _Atomic uint64_t *newest = frame_atomic_at(r->map, FRAME_OFF_FRAME);
    size_t frame_bytes = (size_t)info->led_count * FRAME_CHANNELS;
    for (int attempt = 0; attempt < READER_MAX_ATTEMPTS; attempt++) {
        uint64_t f = atomic_load_explicit(newest, memory_order_acquire);
        if (f == 0 || f == r->last) return SKY_ERR_AGAIN;
        if (f < r->last) {
            frame_error(error, error_len,
                        "%s: the newest frame went back from %llu to %llu (file rewritten in "
                        "place?); reopen it",
                        r->path, (unsigned long long)r->last, (unsigned long long)f);
            return SKY_ERR_FORMAT;
        }
        uint64_t k = f % info->slot_count;
        _Atomic uint64_t *seq = frame_seq_word(r->map, info, k);
        uint64_t s1 = atomic_load_explicit(seq, memory_order_acquire);
        if (s1 != 2 * f) {
            if (s1 < 2 * f) { /* the writer stores seq before frame: impossible unless corrupt */
                frame_error(error, error_len,
                            "%s: frame %llu is advertised but its slot %llu has sequence %llu "
                            "(expected %llu): corrupt file",
                            r->path, (unsigned long long)f, (unsigned long long)k,
                            (unsigned long long)s1, (unsigned long long)(2 * f));
                return SKY_ERR_FORMAT;
            }
            r->retries++; /* already overwritten by a newer frame: take the newest */
            continue;
        }
        reader_copy_slot(a->dst, r->map + info->slots_offset + k * info->slot_stride, frame_bytes);
        atomic_thread_fence(memory_order_acquire); /* the copy's loads before the re-check */
        uint64_t s2 = atomic_load_explicit(seq, memory_order_relaxed);
        if (s2 != s1) {
            r->retries++; /* torn: the writer lapped the copy */
            continue;
        }
        if (r->last != 0) r->dropped += f - r->last - 1;
        r->last = f;
        a->frame = f;
        return SKY_OK;
    }
    frame_error(error, error_len, "%s: the writer overtook the reader %d times in a row", r->path,
                READER_MAX_ATTEMPTS);
    return SKY_ERR_AGAIN;
}

sky_status sky_frame_reader_read(sky_frame_reader *reader, uint8_t *dst, size_t dst_len,
                                 uint64_t *frame, char *error, size_t error_len) {
    if (!reader || !dst) {
        frame_error(error, error_len, "frame reader: NULL reader or destination");
        return SKY_ERR_INVALID_ARG;
    }
    if (dst_len < (size_t)reader->info.led_count * FRAME_CHANNELS) {
        frame_error(error, error_len, "%s: destination has %zu bytes, a frame needs %llu",
                    reader->path, dst_len,
                    (unsigned long long)reader->info.led_count * FRAME_CHANNELS);
        return SKY_ERR_INVALID_ARG;
    }
    reader_read_args args = {dst, 0};
    sky_status st = reader_guarded(reader, reader_copy_newest, &args, error, error_len);
    if (st == SKY_OK && frame) *frame = args.frame;
    return st;
}

/* ------------------------------------------------------- read a given frame */

typedef struct reader_fetch_args {
    uint8_t *dst;
    uint64_t frame;
    sky_frame_fetch fetch;
} reader_fetch_args;

static sky_status reader_load_newest(sky_frame_reader *r, void *arg, char *error,
                                     size_t error_len) {
    (void)error;
    (void)error_len;
    *(uint64_t *)arg =
        atomic_load_explicit(frame_atomic_at(r->map, FRAME_OFF_FRAME), memory_order_acquire);
    return SKY_OK;
}

sky_status sky_frame_reader_newest(sky_frame_reader *reader, uint64_t *newest, char *error,
                                   size_t error_len) {
    if (!reader || !newest) return SKY_ERR_INVALID_ARG;
    return reader_guarded(reader, reader_load_newest, newest, error, error_len);
}

static sky_status reader_copy_frame(sky_frame_reader *r, void *arg, char *error, size_t error_len) {
    (void)error;
    (void)error_len;
    reader_fetch_args *a = arg;
    const sky_frame_info *info = &r->info;
    uint64_t k = a->frame % info->slot_count;
    _Atomic uint64_t *seq = frame_seq_word(r->map, info, k);
    uint64_t s1 = atomic_load_explicit(seq, memory_order_acquire);
    if (s1 != 2 * a->frame) { /* odd 2f - 1: being written; below: older; above: lapped */
        a->fetch = s1 < 2 * a->frame ? SKY_FRAME_NOT_YET : SKY_FRAME_GONE;
        return SKY_OK;
    }
    reader_copy_slot(a->dst, r->map + info->slots_offset + k * info->slot_stride,
                     (size_t)info->led_count * FRAME_CHANNELS);
    atomic_thread_fence(memory_order_acquire); /* the copy's loads before the re-check */
    uint64_t s2 = atomic_load_explicit(seq, memory_order_relaxed);
    a->fetch = s2 == s1 ? SKY_FRAME_FETCHED : SKY_FRAME_GONE;
    return SKY_OK;
}

sky_status sky_frame_reader_read_frame(sky_frame_reader *reader, uint64_t f, uint8_t *dst,
                                       size_t dst_len, sky_frame_fetch *fetch, char *error,
                                       size_t error_len) {
    if (!reader || !dst || !fetch || f == 0) {
        frame_error(error, error_len, "frame reader: NULL argument or frame 0");
        return SKY_ERR_INVALID_ARG;
    }
    if (dst_len < (size_t)reader->info.led_count * FRAME_CHANNELS) {
        frame_error(error, error_len, "%s: destination has %zu bytes, a frame needs %llu",
                    reader->path, dst_len,
                    (unsigned long long)reader->info.led_count * FRAME_CHANNELS);
        return SKY_ERR_INVALID_ARG;
    }
    reader_fetch_args args = {dst, f, SKY_FRAME_NOT_YET};
    sky_status st = reader_guarded(reader, reader_copy_frame, &args, error, error_len);
    *fetch = args.fetch;
    return st;
}

/* --------------------------------------------------------------- liveness */

static sky_status reader_load_heartbeat(sky_frame_reader *r, void *arg, char *error,
                                        size_t error_len) {
    (void)error;
    (void)error_len;
    *(uint64_t *)arg =
        atomic_load_explicit(frame_atomic_at(r->map, FRAME_OFF_HEARTBEAT), memory_order_acquire);
    return SKY_OK;
}

sky_writer_state sky_frame_reader_writer_state(sky_frame_reader *reader, uint64_t timeout_ns) {
    if (!reader) return SKY_WRITER_DEAD;
    int rc;
    do rc = flock(reader->fd, LOCK_SH | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc == 0) { /* nobody holds LOCK_EX: the writer is gone */
        flock(reader->fd, LOCK_UN);
        return SKY_WRITER_DEAD;
    }
    uint64_t beat = 0;
    if (reader_guarded(reader, reader_load_heartbeat, &beat, NULL, 0) != SKY_OK)
        return SKY_WRITER_STALE; /* the file shrank: whatever holds it is not publishing here */
    uint64_t now = sky_frame_now_ns();
    if (reader->beat_seen_ns == 0 || beat != reader->beat_seen) {
        reader->beat_seen = beat;
        reader->beat_seen_ns = now;
    }
    /* Its age by the writer's clock, and how long it has not moved by ours: a
     * heartbeat in the future (a writer in another time namespace, or a
     * corrupt one) has no age, but one that does not advance is stale all
     * the same, so a dead writer never stays "alive" forever. */
    uint64_t age = now > beat ? now - beat : 0;
    uint64_t still = now - reader->beat_seen_ns;
    return age > timeout_ns || still > timeout_ns ? SKY_WRITER_STALE : SKY_WRITER_ALIVE;
}

bool sky_frame_reader_replaced(const sky_frame_reader *reader) {
    if (!reader) return false;
    struct stat st;
    if (stat(reader->path, &st) != 0) return false; /* gone, not replaced (yet) */
    return st.st_dev != reader->dev || st.st_ino != reader->ino;
}

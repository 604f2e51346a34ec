/*
 * frame_writer.c - the one writer of a frame file (docs/frame-format.md).
 *
 * A writer never touches a file that readers may have mapped: it builds a
 * complete new file beside the path (mkostemp in the same directory), takes
 * an exclusive flock on it before anyone can see it, fills the header, strip
 * table and positions, and only then puts it at the path. Readers that still
 * map the old file keep a valid mapping and notice the new inode. The flock
 * is held until sky_frame_writer_free (or the process dies), which is how
 * readers tell a dead writer from a live one whatever its pid now names, and
 * how writers keep to one per path: the new file appears at an absent path
 * only through RENAME_NOREPLACE, and replaces a dead writer's file only while
 * holding that file's flock, so of any number of writers started at once
 * exactly one wins and the others name its pid (writer_probe tells a live
 * owner from a takeover in progress). A writer whose file is then
 * removed or replaced notices within a second (one stat a second) and says so.
 *
 * Publishing is Boehm's fence form of the seqlock, per slot: a relaxed odd
 * store and a release fence before the pixels, a release even store after,
 * then a release store of the frame number and the heartbeat.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frame_internal.h"
#include "sky/layout.h"

_Static_assert(SKY_FRAME_MAX_LEDS == SKY_LAYOUT_MAX_LEDS, "a writer writes every layout");

struct sky_frame_writer {
    int fd;
    uint8_t *map;
    size_t map_len;
    sky_frame_info info;
    uint64_t frame;   /* the last frame begun */
    bool in_progress; /* begun, not yet published */
    char *path;
    dev_t dev; /* the file this writer owns, to notice the path no longer naming it */
    ino_t ino;
    uint64_t checked_ns; /* CLOCK_MONOTONIC of the last such check */
    bool lost;           /* the path no longer names this writer's file */
    char lost_why[384];
};

/* How often publish and heartbeat check (one stat) that the path still names
 * the writer's file: a removed file is noticed within a second, for one
 * syscall a second whatever the frame rate. */
#define WRITER_CHECK_NS 1000000000ull
/* How long the path may stay busy (another writer taking over a dead file,
 * readers probing) before a new writer gives up: a takeover is one rename,
 * so 10 s is room for a very busy machine, not an expected wait. */
#define WRITER_BUSY_NS (10ull * 1000000000ull)

/* ------------------------------------------------------ option checking */

static sky_status writer_check_counts(const sky_frame_writer_options *o, const char *path,
                                      uint32_t *strip_count, uint32_t *slot_count, char *error,
                                      size_t error_len) {
    if (o->led_count == 0 || o->led_count > SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "%s: led_count = %u, must be in 1..%u", path, o->led_count,
                    SKY_LAYOUT_MAX_LEDS);
        return o->led_count == 0 ? SKY_ERR_INVALID_ARG : SKY_ERR_LIMIT;
    }
    *strip_count = o->strip_count;
    if (!o->strip_sizes) {
        if (o->strip_count > 1) {
            frame_error(error, error_len, "%s: strip_count = %u but strip_sizes is NULL", path,
                        o->strip_count);
            return SKY_ERR_INVALID_ARG;
        }
        *strip_count = 1; /* one strip of every LED */
    } else {
        if (o->strip_count == 0 || o->strip_count > o->led_count) {
            frame_error(error, error_len, "%s: strip_count = %u, must be in 1..led_count (%u)",
                        path, o->strip_count, o->led_count);
            return SKY_ERR_INVALID_ARG;
        }
        uint64_t sum = 0;
        for (uint32_t i = 0; i < o->strip_count; i++) sum += o->strip_sizes[i];
        if (sum != o->led_count) {
            frame_error(error, error_len, "%s: strip_sizes sum to %llu LEDs, led_count is %u", path,
                        (unsigned long long)sum, o->led_count);
            return SKY_ERR_INVALID_ARG;
        }
    }
    *slot_count = o->slot_count ? o->slot_count : SKY_FRAME_DEFAULT_SLOTS;
    if (*slot_count < SKY_FRAME_MIN_SLOTS || *slot_count > SKY_FRAME_MAX_SLOTS) {
        frame_error(error, error_len, "%s: slot_count = %u, must be in %u..%u", path, *slot_count,
                    SKY_FRAME_MIN_SLOTS, SKY_FRAME_MAX_SLOTS);
        return SKY_ERR_INVALID_ARG;
    }
    if (o->positions || o->positions_z) {
        static const float origin[2] = {0.0f, 0.0f};
        for (uint32_t i = 0; i < o->led_count; i++) {
            const float *xy = o->positions ? o->positions + 2 * (size_t)i : origin;
            const float *z = o->positions_z ? o->positions_z + i : NULL;
            if (frame_positions_validate(xy, z, i, 1, path, error, error_len) != SKY_OK)
                return SKY_ERR_INVALID_ARG;
        }
    }
    return SKY_OK;
}

/*
 * Who holds the file open on `fd` (the file at the path)? Two locks tell:
 * a writer holds, for its whole life, an exclusive flock on its file (which
 * readers probe for liveness) and an OFD write lock on its first byte (its
 * owner mark). A writer replacing a dead file takes only the flock of that
 * file, for the moment of the rename. So: flock free -> free (and now ours);
 * the owner mark held -> a live writer, whose pid its header names (written
 * before the file was visible); flock held without the mark -> a reader's
 * probe or another writer's takeover, gone in a moment: try again.
 */
typedef enum writer_probe_result {
    WRITER_PROBE_FREE,  /* no writer: we now hold LOCK_EX on fd */
    WRITER_PROBE_OWNED, /* a live writer (*pid) holds it */
    WRITER_PROBE_BUSY,  /* a reader's probe or another writer's takeover: try again */
} writer_probe_result;

static int writer_flock(int fd, int op) {
    int rc;
    do rc = flock(fd, op | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* The owner mark: an OFD lock, so that it belongs to this open file (not to
 * the process, as a POSIX lock would: two writers in one process stay
 * apart, and closing some other descriptor of the file does not drop it). */
static struct flock writer_owner_mark(short type) {
    struct flock mark;
    memset(&mark, 0, sizeof mark);
    mark.l_type = type;
    mark.l_whence = SEEK_SET;
    mark.l_start = 0;
    mark.l_len = 1;
    return mark;
}

static bool writer_has_owner(int fd) {
    struct flock mark = writer_owner_mark(F_WRLCK);
    return fcntl(fd, F_OFD_GETLK, &mark) == 0 && mark.l_type != F_UNLCK;
}

static writer_probe_result writer_probe(int fd, uint64_t *pid) {
    *pid = 0;
    if (writer_flock(fd, LOCK_EX) == 0) return WRITER_PROBE_FREE;
    if (!writer_has_owner(fd)) return WRITER_PROBE_BUSY;
    uint8_t pid_bytes[8];
    if (pread(fd, pid_bytes, 8, FRAME_OFF_WRITER_PID) == 8) *pid = frame_get_u64(pid_bytes);
    return WRITER_PROBE_OWNED;
}

static void writer_owned_error(const char *path, uint64_t pid, char *error, size_t error_len) {
    frame_error(error, error_len,
                "%s: another writer (pid %llu) owns this file; stop it first (one writer per "
                "file)",
                path, (unsigned long long)pid);
}

/*
 * Opens what is at the path without blocking (a FIFO would block open())
 * and without following a symbolic link (a user who put one there meant
 * something else). Returns an fd on a regular file, -1 with *absent set when
 * there is nothing at the path, or -1 with an error.
 */
static int writer_open_existing(const char *path, bool *absent, char *error, size_t error_len) {
    *absent = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) {
            *absent = true;
        } else if (errno == ELOOP) {
            frame_error(error, error_len, "%s is a symbolic link: refusing to follow it", path);
        } else {
            frame_error(error, error_len, "%s: %s", path, strerror(errno));
        }
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        frame_error(error, error_len, "%s exists and is not a regular file", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* An early look before building anything: refuse a path a live writer owns,
 * a symbolic link or a non-regular file. The decision that counts is taken
 * again, race-free, when the new file is installed (writer_install). */
static sky_status writer_check_path(const char *path, char *error, size_t error_len) {
    bool absent;
    int fd = writer_open_existing(path, &absent, error, error_len);
    if (fd < 0) return absent ? SKY_OK : SKY_ERR_IO;
    uint64_t pid;
    writer_probe_result probe = writer_probe(fd, &pid);
    close(fd); /* drops the LOCK_EX a FREE probe took */
    if (probe == WRITER_PROBE_OWNED) {
        writer_owned_error(path, pid, error, error_len);
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

/* ------------------------------------------------------ building the file */

static sky_status writer_make_temp(const char *path, char **tmp_path, int *fd, char *error,
                                   size_t error_len) {
    size_t n = strlen(path);
    char *tmpl = malloc(n + 8);
    if (!tmpl) {
        frame_error(error, error_len, "out of memory");
        return SKY_ERR_NOMEM;
    }
    memcpy(tmpl, path, n);
    memcpy(tmpl + n, ".XXXXXX", 8);
    *fd = mkostemp(tmpl, O_CLOEXEC); /* mode 0600, O_EXCL: never an existing file */
    if (*fd < 0) {
        frame_error(error, error_len, "%s: cannot create a file beside it: %s", path,
                    strerror(errno));
        free(tmpl);
        return SKY_ERR_IO;
    }
    *tmp_path = tmpl;
    return SKY_OK;
}

/* Size of the file now at the path (the previous writer's), 0 if none. */
static uint64_t writer_old_size(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* Reserves the file's pages (so that a full /dev/shm is an error now, not a
 * SIGBUS in the middle of a frame), locks it and maps it. */
static sky_status writer_size_and_map(sky_frame_writer *w, const char *path, char *error,
                                      size_t error_len) {
    struct flock mark = writer_owner_mark(F_WRLCK);
    if (flock(w->fd, LOCK_EX | LOCK_NB) != 0 || fcntl(w->fd, F_OFD_SETLK, &mark) != 0) {
        frame_error(error, error_len, "%s: cannot lock the new file: %s", path, strerror(errno));
        return SKY_ERR_IO;
    }
    unsigned long long bytes = (unsigned long long)w->info.file_bytes;
    int rc = posix_fallocate(w->fd, 0, (off_t)w->info.file_bytes);
    uint64_t old = rc == ENOSPC || rc == EDQUOT ? writer_old_size(path) : 0;
    if (rc != 0 && old > 0) {
        frame_error(error, error_len,
                    "%s: cannot reserve %llu bytes for the new frame file: %s; the new file is "
                    "built beside the old one (%llu bytes) and replaces it only when complete, "
                    "so the file system needs room for both (%llu bytes) while a writer restarts",
                    path, bytes, strerror(rc), (unsigned long long)old,
                    bytes + (unsigned long long)old);
        return SKY_ERR_IO;
    }
    if (rc != 0) {
        frame_error(error, error_len, "%s: cannot reserve %llu bytes for the frame file: %s", path,
                    bytes, strerror(rc));
        return SKY_ERR_IO;
    }
    void *map =
        mmap(NULL, (size_t)w->info.file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (map == MAP_FAILED) {
        frame_error(error, error_len, "%s: mmap of %llu bytes failed: %s", path, bytes,
                    strerror(errno));
        return SKY_ERR_IO;
    }
    w->map = map;
    w->map_len = (size_t)w->info.file_bytes;
    return SKY_OK;
}

static void writer_fill(sky_frame_writer *w, const sky_frame_writer_options *o) {
    const sky_frame_info *info = &w->info;
    frame_header_encode(w->map, info);
    uint8_t *strips = w->map + info->strips_offset;
    if (o->strip_sizes) {
        for (uint32_t i = 0; i < info->strip_count; i++)
            frame_put_u32(strips + 4 * (size_t)i, o->strip_sizes[i]);
    } else {
        frame_put_u32(strips, info->led_count);
    }
    if (o->positions || o->positions_z) { /* f32 little-endian: the host's own floats */
        float *xyz = (float *)(void *)(w->map + info->positions_offset); /* 8-aligned */
        for (size_t i = 0; i < info->led_count; i++) {
            xyz[3 * i] = o->positions ? o->positions[2 * i] : 0.0f;
            xyz[3 * i + 1] = o->positions ? o->positions[2 * i + 1] : 0.0f;
            xyz[3 * i + 2] = o->positions_z ? o->positions_z[i] : 0.0f;
        }
    }
    atomic_store_explicit(frame_atomic_at(w->map, FRAME_OFF_FRAME), 0, memory_order_relaxed);
    atomic_store_explicit(frame_atomic_at(w->map, FRAME_OFF_HEARTBEAT), sky_frame_now_ns(),
                          memory_order_release);
}

/* Creates `path` from `tmp` only if nothing is there: 0 or an errno (EEXIST
 * when another writer got there first). link() where the file system lacks
 * RENAME_NOREPLACE. */
static int writer_rename_noreplace(const char *tmp, const char *path) {
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
    if (link(tmp, path) != 0) return errno;
    unlink(tmp);
    return 0;
}

/* With LOCK_EX held on the dead writer's file `fd`: if the path still names
 * it, rename the new file over it. SKY_ERR_AGAIN when the path changed. */
static sky_status writer_replace_locked(int fd, const char *tmp, const char *path, char *error,
                                        size_t error_len) {
    struct stat held, now;
    if (fstat(fd, &held) != 0 || lstat(path, &now) != 0 || held.st_dev != now.st_dev ||
        held.st_ino != now.st_ino)
        return SKY_ERR_AGAIN;
    if (rename(tmp, path) != 0) {
        frame_error(error, error_len, "%s: cannot rename the new file over it: %s", path,
                    strerror(errno));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

/*
 * Puts the complete, locked new file `tmp` at `path` so that exactly one of
 * any number of concurrent writers wins, and the others name its pid:
 *  - nothing at the path: create the name only if it is still absent
 *    (RENAME_NOREPLACE); a writer that got there first makes it fail with
 *    EEXIST, and the next look finds that writer's file, already locked
 *    and naming its pid;
 *  - a dead writer's file: take its LOCK_EX first, so every other writer
 *    sees it held and backs off, check the path still names it, rename.
 */
static sky_status writer_install(const char *tmp, const char *path, char *error, size_t error_len) {
    uint64_t deadline = sky_frame_now_ns() + WRITER_BUSY_NS;
    for (;;) {
        bool absent;
        uint64_t pid = 0;
        int fd = writer_open_existing(path, &absent, error, error_len);
        if (fd < 0 && !absent) return SKY_ERR_IO;
        if (absent) {
            int rc = writer_rename_noreplace(tmp, path);
            if (rc == 0) return SKY_OK;
            if (rc != EEXIST) {
                frame_error(error, error_len, "%s: cannot move the new file there: %s", path,
                            strerror(rc));
                return SKY_ERR_IO;
            }
        } else {
            writer_probe_result probe = writer_probe(fd, &pid);
            sky_status st = SKY_ERR_AGAIN;
            if (probe == WRITER_PROBE_OWNED) {
                writer_owned_error(path, pid, error, error_len);
                st = SKY_ERR_IO;
            } else if (probe == WRITER_PROBE_FREE) {
                st = writer_replace_locked(fd, tmp, path, error, error_len);
            }
            close(fd); /* after the rename: releases the old file's LOCK_EX */
            if (st != SKY_ERR_AGAIN) return st;
        }
        if (sky_frame_now_ns() > deadline) {
            frame_error(error, error_len,
                        "%s: still locked after %llu s by a process that is not a writer of "
                        "this version (another writer replacing it, or an older one?)",
                        path, WRITER_BUSY_NS / 1000000000ull);
            return SKY_ERR_IO;
        }
        struct timespec pause = {0, 1000000}; /* 1 ms: let the other writer finish */
        nanosleep(&pause, NULL);
    }
}

static sky_status writer_build(sky_frame_writer *w, const sky_frame_writer_options *o,
                               const char *path, char *error, size_t error_len) {
    char *tmp = NULL;
    sky_status st = writer_make_temp(path, &tmp, &w->fd, error, error_len);
    if (st != SKY_OK) return st;
    st = writer_size_and_map(w, path, error, error_len);
    if (st == SKY_OK) {
        writer_fill(w, o);
        mode_t mode = o->mode ? o->mode : 0600;
        if (fchmod(w->fd, mode) != 0) {
            frame_error(error, error_len, "%s: cannot set mode %o: %s", path, (unsigned)mode,
                        strerror(errno));
            st = SKY_ERR_IO;
        }
    }
    struct stat own;
    if (st == SKY_OK && fstat(w->fd, &own) != 0) {
        frame_error(error, error_len, "%s: fstat of the new file: %s", path, strerror(errno));
        st = SKY_ERR_IO;
    }
    if (st == SKY_OK) st = writer_install(tmp, path, error, error_len);
    if (st != SKY_OK) unlink(tmp);
    free(tmp);
    if (st == SKY_OK) {
        w->dev = own.st_dev;
        w->ino = own.st_ino;
        w->checked_ns = sky_frame_now_ns();
    }
    return st;
}

sky_status sky_frame_writer_create(const sky_frame_writer_options *options,
                                   sky_frame_writer **writer, char *error, size_t error_len) {
    if (!writer) return SKY_ERR_INVALID_ARG;
    *writer = NULL;
    if (!options) {
        frame_error(error, error_len, "frame writer: options is NULL");
        return SKY_ERR_INVALID_ARG;
    }
    if (options->path && !*options->path) {
        frame_error(error, error_len,
                    "frame writer: the frame file path is empty (NULL means the default, %s)",
                    SKY_FRAME_DEFAULT_PATH);
        return SKY_ERR_INVALID_ARG;
    }
    const char *path = options->path ? options->path : SKY_FRAME_DEFAULT_PATH;
    uint32_t strip_count, slot_count;
    sky_status st = writer_check_counts(options, path, &strip_count, &slot_count, error, error_len);
    if (st != SKY_OK) return st;
    st = writer_check_path(path, error, error_len);
    if (st != SKY_OK) return st;

    sky_frame_writer *w = calloc(1, sizeof *w);
    if (!w) {
        frame_error(error, error_len, "out of memory");
        return SKY_ERR_NOMEM;
    }
    w->fd = -1;
    w->path = strdup(path);
    if (!w->path) {
        free(w);
        frame_error(error, error_len, "out of memory");
        return SKY_ERR_NOMEM;
    }
    st = frame_plan(options->led_count, strip_count, slot_count, &w->info, error, error_len);
    if (st == SKY_OK) {
        w->info.writer_pid = (uint64_t)getpid();
        w->info.fps_nominal = options->fps_nominal;
        if (options->layout) /* at most 32 bytes: longer strings are truncated */
            memcpy(w->info.layout, options->layout, strnlen(options->layout, FRAME_LAYOUT_BYTES));
        st = writer_build(w, options, path, error, error_len);
    }
    if (st != SKY_OK) {
        sky_frame_writer_free(w);
        return st;
    }
    *writer = w;
    return SKY_OK;
}

void sky_frame_writer_free(sky_frame_writer *writer) {
    if (!writer) return;
    if (writer->map) munmap(writer->map, writer->map_len);
    if (writer->fd >= 0) close(writer->fd); /* releases the flock: readers see DEAD */
    free(writer->path);
    free(writer);
}

/* ---------------------------------------------------------------- frames */

uint8_t *sky_frame_writer_begin(sky_frame_writer *writer, uint64_t *frame) {
    if (!writer) return NULL;
    if (!writer->in_progress) {
        uint64_t f = ++writer->frame;
        _Atomic uint64_t *seq =
            frame_seq_word(writer->map, &writer->info, f % writer->info.slot_count);
        atomic_store_explicit(seq, 2 * f - 1, memory_order_relaxed); /* odd: being written */
        atomic_thread_fence(memory_order_release); /* odd store before any pixel store */
        writer->in_progress = true;
    }
    if (frame) *frame = writer->frame;
    uint64_t k = writer->frame % writer->info.slot_count;
    return writer->map + writer->info.slots_offset + k * writer->info.slot_stride;
}

/*
 * Once a second at most: does the path still name this writer's file? If it
 * was removed or another file was put there, no reader will ever see these
 * frames again; the writer says so from then on (publish, heartbeat, check)
 * instead of rendering into a file nobody can open.
 */
static void writer_check_owned(sky_frame_writer *w, uint64_t now) {
    if (w->lost || now - w->checked_ns < WRITER_CHECK_NS) return;
    w->checked_ns = now;
    struct stat st;
    if (lstat(w->path, &st) != 0) {
        if (errno != ENOENT) return; /* cannot tell (EACCES, EINTR...): look again later */
        snprintf(w->lost_why, sizeof w->lost_why,
                 "%s was removed under this writer (pid %llu): readers can no longer see its "
                 "frames; start the writer again",
                 w->path, (unsigned long long)w->info.writer_pid);
    } else if (st.st_dev == w->dev && st.st_ino == w->ino) {
        return;
    } else {
        unsigned long long other = 0;
        uint8_t pid_bytes[8];
        int fd = open(w->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd >= 0 && pread(fd, pid_bytes, 8, FRAME_OFF_WRITER_PID) == 8)
            other = frame_get_u64(pid_bytes);
        if (fd >= 0) close(fd);
        snprintf(w->lost_why, sizeof w->lost_why,
                 "%s was replaced under this writer (pid %llu) by another file (%s %llu): "
                 "readers can no longer see this writer's frames",
                 w->path, (unsigned long long)w->info.writer_pid,
                 other ? "written by pid" : "not a frame file, size",
                 other ? other : (unsigned long long)st.st_size);
    }
    w->lost = true;
}

sky_status sky_frame_writer_publish(sky_frame_writer *writer) {
    if (!writer) return SKY_ERR_INVALID_ARG;
    if (!writer->in_progress) return writer->lost ? SKY_ERR_IO : SKY_OK;
    uint64_t f = writer->frame;
    _Atomic uint64_t *seq = frame_seq_word(writer->map, &writer->info, f % writer->info.slot_count);
    atomic_store_explicit(seq, 2 * f, memory_order_release); /* pixels before "complete" */
    atomic_store_explicit(frame_atomic_at(writer->map, FRAME_OFF_FRAME), f, memory_order_release);
    writer->in_progress = false;
    return sky_frame_writer_heartbeat(writer);
}

sky_status sky_frame_writer_heartbeat(sky_frame_writer *writer) {
    if (!writer) return SKY_ERR_INVALID_ARG;
    uint64_t now = sky_frame_now_ns();
    atomic_store_explicit(frame_atomic_at(writer->map, FRAME_OFF_HEARTBEAT), now,
                          memory_order_release);
    writer_check_owned(writer, now);
    return writer->lost ? SKY_ERR_IO : SKY_OK;
}

sky_status sky_frame_writer_check(sky_frame_writer *writer, char *error, size_t error_len) {
    if (!writer) return SKY_ERR_INVALID_ARG;
    writer_check_owned(writer, sky_frame_now_ns());
    if (!writer->lost) return SKY_OK;
    frame_error(error, error_len, "%s", writer->lost_why);
    return SKY_ERR_IO;
}

uint8_t *sky_frame_writer_slots(sky_frame_writer *writer, size_t *bytes, uint64_t *slot_stride,
                                uint32_t *slot_count) {
    if (!writer) return NULL;
    if (bytes) *bytes = (size_t)(writer->info.file_bytes - writer->info.slots_offset);
    if (slot_stride) *slot_stride = writer->info.slot_stride;
    if (slot_count) *slot_count = writer->info.slot_count;
    return writer->map + writer->info.slots_offset;
}

const sky_frame_info *sky_frame_writer_info(const sky_frame_writer *writer) {
    return writer ? &writer->info : NULL;
}

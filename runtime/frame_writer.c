/*
 * frame_writer.c - the one writer of a frame file (docs/frame-format.md).
 *
 * A writer never touches a file that readers may have mapped: it builds a
 * complete new file beside the path (mkostemp in the same directory), takes
 * an exclusive flock on it before anyone can see it, fills the header, strip
 * table and positions, and rename()s it over the path. Readers that still map
 * the old file keep a valid mapping and notice the new inode. The flock is
 * held until sky_frame_writer_free (or the process dies), which is how
 * readers tell a dead writer from a live one whatever its pid now names.
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
#include <unistd.h>

#include "frame_internal.h"
#include "sky/layout.h"

struct sky_frame_writer {
    int fd;
    uint8_t *map;
    size_t map_len;
    sky_frame_info info;
    uint64_t frame;   /* the last frame begun */
    bool in_progress; /* begun, not yet published */
};

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
    if (o->positions) {
        sky_status st =
            frame_positions_validate(o->positions, o->led_count, path, error, error_len);
        if (st != SKY_OK) return SKY_ERR_INVALID_ARG;
    }
    return SKY_OK;
}

/*
 * The path must be absent or a regular file that no live writer holds. A
 * symbolic link is refused (rename would replace the link, but a user who
 * put one there meant something else). The probe takes a *shared* lock so
 * that it never fails because a reader is probing at the same moment.
 */
static sky_status writer_check_path(const char *path, char *error, size_t error_len) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return SKY_OK;
        frame_error(error, error_len, "%s: %s", path, strerror(errno));
        return SKY_ERR_IO;
    }
    if (S_ISLNK(st.st_mode)) {
        frame_error(error, error_len, "%s is a symbolic link: refusing to follow it", path);
        return SKY_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        frame_error(error, error_len, "%s exists and is not a regular file", path);
        return SKY_ERR_IO;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return SKY_OK; /* removed meanwhile */
        frame_error(error, error_len, "%s: %s", path, strerror(errno));
        return SKY_ERR_IO;
    }
    int rc;
    do rc = flock(fd, LOCK_SH | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno == EWOULDBLOCK) {
        uint8_t pid_bytes[8] = {0};
        unsigned long long pid = 0;
        if (pread(fd, pid_bytes, 8, FRAME_OFF_WRITER_PID) == 8) pid = frame_get_u64(pid_bytes);
        close(fd);
        frame_error(error, error_len,
                    "%s: another writer (pid %llu) is running on this file; stop it first", path,
                    pid);
        return SKY_ERR_IO;
    }
    if (rc == 0) flock(fd, LOCK_UN);
    close(fd);
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

/* Reserves the file's pages (so that a full /dev/shm is an error now, not a
 * SIGBUS in the middle of a frame), locks it and maps it. */
static sky_status writer_size_and_map(sky_frame_writer *w, const char *path, char *error,
                                      size_t error_len) {
    if (flock(w->fd, LOCK_EX | LOCK_NB) != 0) {
        frame_error(error, error_len, "%s: cannot lock the new file: %s", path, strerror(errno));
        return SKY_ERR_IO;
    }
    int rc = posix_fallocate(w->fd, 0, (off_t)w->info.file_bytes);
    if (rc != 0) {
        frame_error(error, error_len, "%s: cannot reserve %llu bytes for the frame file: %s", path,
                    (unsigned long long)w->info.file_bytes, strerror(rc));
        return SKY_ERR_IO;
    }
    void *map =
        mmap(NULL, (size_t)w->info.file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (map == MAP_FAILED) {
        frame_error(error, error_len, "%s: mmap of %llu bytes failed: %s", path,
                    (unsigned long long)w->info.file_bytes, strerror(errno));
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
    if (o->positions) { /* f32 little-endian: the host's own floats */
        memcpy(w->map + info->positions_offset, o->positions, (size_t)info->led_count * 8u);
    }
    atomic_store_explicit(frame_atomic_at(w->map, FRAME_OFF_FRAME), 0, memory_order_relaxed);
    atomic_store_explicit(frame_atomic_at(w->map, FRAME_OFF_HEARTBEAT), sky_frame_now_ns(),
                          memory_order_release);
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
    if (st == SKY_OK && rename(tmp, path) != 0) {
        frame_error(error, error_len, "%s: cannot rename the new file over it: %s", path,
                    strerror(errno));
        st = SKY_ERR_IO;
    }
    if (st != SKY_OK) unlink(tmp);
    free(tmp);
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
    const char *path = options->path && *options->path ? options->path : SKY_FRAME_DEFAULT_PATH;
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

void sky_frame_writer_publish(sky_frame_writer *writer) {
    if (!writer || !writer->in_progress) return;
    uint64_t f = writer->frame;
    _Atomic uint64_t *seq = frame_seq_word(writer->map, &writer->info, f % writer->info.slot_count);
    atomic_store_explicit(seq, 2 * f, memory_order_release); /* pixels before "complete" */
    atomic_store_explicit(frame_atomic_at(writer->map, FRAME_OFF_FRAME), f, memory_order_release);
    atomic_store_explicit(frame_atomic_at(writer->map, FRAME_OFF_HEARTBEAT), sky_frame_now_ns(),
                          memory_order_release);
    writer->in_progress = false;
}

void sky_frame_writer_heartbeat(sky_frame_writer *writer) {
    if (!writer) return;
    atomic_store_explicit(frame_atomic_at(writer->map, FRAME_OFF_HEARTBEAT), sky_frame_now_ns(),
                          memory_order_release);
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

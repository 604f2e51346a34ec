/*
 * sky/frame.h - the shared frame file (docs/frame-format.md), writer and reader.
 *
 * One writer (the runtime) publishes frames into a memory-mapped file through
 * a ring of seqlocked slots; any number of readers (the LED driver, previews,
 * Python) attach by path and read the newest frame without ever blocking the
 * writer or seeing a torn frame. This library links no Vulkan.
 *
 * Thread safety: a writer or a reader handle belongs to one thread at a time;
 * distinct handles are independent. Readers install a process-wide SIGBUS
 * handler (chained to any previous one) the first time they attach, and
 * re-install it before each access if the program replaced it meanwhile, so
 * that a file shrinking under a reader is reported as SKY_ERR_FORMAT, never a
 * crash. Faults outside the readers' mappings go to the previous handler.
 *
 * Lifetimes: a writer or reader is the caller's from create/open to free;
 * the pointers their getters return (info, strips, positions, slots) stay
 * valid until that free, the slot of sky_frame_writer_begin until the next
 * publish. Installed as libskyframe.a (pkg-config sky-frame).
 */
#ifndef SKY_FRAME_H
#define SKY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SKY_FRAME_MAGIC         "SKYFRAME"
#define SKY_FRAME_VERSION       2u /* what writers write */
#define SKY_FRAME_VERSION_OLDEST 1u /* the oldest that readers read (docs/frame-format.md) */
#define SKY_FRAME_HEADER_BYTES  256u
#define SKY_FRAME_DEFAULT_PATH  "/dev/shm/skyscreen"
#define SKY_FRAME_MIN_SLOTS     3u
#define SKY_FRAME_MAX_SLOTS     256u
#define SKY_FRAME_DEFAULT_SLOTS 4u
/* The most LEDs in a frame file (docs/frame-format.md, "Limits", has them
 * all): a writer never writes more, and readers reject more before doing
 * any work for it. */
#define SKY_FRAME_MAX_LEDS (1u << 24)

/* The header fields a reader has validated, in host order. */
typedef struct sky_frame_info {
    uint32_t version, header_bytes, led_count, strip_count, channels, slot_count;
    uint64_t slot_stride, slots_offset, strips_offset, positions_offset, seq_offset, file_bytes;
    uint64_t writer_pid;
    uint32_t fps_nominal, flags;
    char layout[33]; /* NUL-terminated copy of the header's layout string */
} sky_frame_info;

/* Bytes one slot needs for `led_count` LEDs: room for the shader's 4-LED groups, page-rounded. */
uint64_t sky_frame_slot_stride(uint32_t led_count);

/* ------------------------------------------------------------------ writer */

typedef struct sky_frame_writer sky_frame_writer;

typedef struct sky_frame_writer_options {
    const char *path;   /* NULL: SKY_FRAME_DEFAULT_PATH; "" is an error */
    uint32_t led_count; /* 1..SKY_FRAME_MAX_LEDS */
    uint32_t strip_count;
    const uint32_t *strip_sizes; /* strip_count entries summing to led_count; NULL (with
                                    strip_count 0 or 1): one strip of every LED */
    const float *positions;      /* led_count (x, y) pairs, each in [-1, 1]; NULL: all (0, 0) */
    const float *positions_z;    /* led_count z values in [-1, 1]; NULL: all 0 (flat) */
    uint32_t slot_count;         /* 0: SKY_FRAME_DEFAULT_SLOTS, else 3..256 */
    uint32_t fps_nominal;        /* 0: unpaced */
    const char *layout;          /* layout string for the header; longer than 32 bytes is
                                    truncated; NULL: empty */
    mode_t mode;                 /* 0: 0600 */
} sky_frame_writer_options;

/*
 * Builds a new file beside `path` and puts it at `path` (never following a
 * symbolic link there), then holds an exclusive flock on it for the writer's
 * life. One writer per path: refuses (SKY_ERR_IO, naming its pid) a path
 * another live writer owns, also when both start at once on an absent path
 * (exactly one wins); refuses a symbolic link, a non-regular file and an
 * empty path (SKY_ERR_INVALID_ARG). The file's pages are reserved up front
 * (posix_fallocate), so a full /dev/shm is an error here, not a SIGBUS
 * later; as the old file stays until the new one is complete, a restart
 * needs room for both (the message says so, with sizes). On failure returns
 * a status and, when `error` is not NULL, a message naming the path and the
 * problem (at most `error_len` bytes); nothing is left behind.
 */
sky_status sky_frame_writer_create(const sky_frame_writer_options *options,
                                   sky_frame_writer **writer, char *error, size_t error_len);
/* Unmaps, unlocks and closes; the file stays for readers to see the writer is gone. */
void sky_frame_writer_free(sky_frame_writer *writer);

/*
 * Begins the next frame f (numbered from 1): marks its slot odd and returns a
 * pointer to the slot's led_count * 3 bytes (slot_stride bytes are writable).
 * Every begin is followed by exactly one publish; a second begin before the
 * publish returns the same frame and slot.
 */
uint8_t *sky_frame_writer_begin(sky_frame_writer *writer, uint64_t *frame);
/*
 * Marks the slot complete, advertises it as the newest frame and beats the
 * heartbeat. Returns SKY_OK, or SKY_ERR_IO once the writer noticed that its
 * path was removed or now names another file (checked with one stat() at
 * most once a second): its frames reach no reader any more; see
 * sky_frame_writer_check for the message. Publishing still works (into the
 * orphaned file). A publish without a begin does nothing but return that.
 */
sky_status sky_frame_writer_publish(sky_frame_writer *writer);
/* Writes the heartbeat without publishing (an idle writer that is alive);
 * returns as publish does. */
sky_status sky_frame_writer_heartbeat(sky_frame_writer *writer);
/* SKY_OK while the path still names this writer's file, else SKY_ERR_IO
 * and a message (path removed, or replaced by another writer's file, naming
 * its pid). Costs a stat() at most once a second: call it every frame. */
sky_status sky_frame_writer_check(sky_frame_writer *writer, char *error, size_t error_len);

/*
 * The page-aligned region holding every slot: [slots_offset, file_bytes) of
 * the mapping, for a GPU to import (VK_EXT_external_memory_host). Slot k
 * starts at base + k * slot_stride.
 */
uint8_t *sky_frame_writer_slots(sky_frame_writer *writer, size_t *bytes, uint64_t *slot_stride,
                                uint32_t *slot_count);
const sky_frame_info *sky_frame_writer_info(const sky_frame_writer *writer);

/* ------------------------------------------------------------------ reader */

typedef struct sky_frame_reader sky_frame_reader;

/*
 * Opens and validates the file at `path` (every header field against the
 * file's size and the format's limits, with overflow-free arithmetic) and
 * maps it read-only. Never blocks: the path is opened O_NONBLOCK and
 * O_NOFOLLOW, and a FIFO, directory, device or symbolic link is refused
 * (SKY_ERR_FORMAT, naming its type). SKY_ERR_IO when the file does not exist
 * (yet), SKY_ERR_FORMAT with a message naming the bad field otherwise.
 */
sky_status sky_frame_reader_open(const char *path, sky_frame_reader **reader, char *error,
                                 size_t error_len);
void sky_frame_reader_free(sky_frame_reader *reader);

const sky_frame_info *sky_frame_reader_info(const sky_frame_reader *reader);
/* The strip table and LED positions, copied out at open time: positions as
 * led_count (x, y) pairs, positions_z as led_count z values (all 0 in a
 * version 1 file, which has no z). */
const uint32_t *sky_frame_reader_strips(const sky_frame_reader *reader);
const float *sky_frame_reader_positions(const sky_frame_reader *reader);
const float *sky_frame_reader_positions_z(const sky_frame_reader *reader);

/*
 * Copies the newest complete frame into dst (led_count * 3 bytes) with the
 * seqlock protocol, retrying on a torn copy. Returns SKY_OK with *frame set
 * when a frame newer than the last one read was copied; SKY_ERR_AGAIN when
 * nothing new was published (or, rarely, when the writer overtook the copy
 * 10,000 times in a row: try again later); SKY_ERR_INVALID_ARG when dst_len
 * is too small; SKY_ERR_FORMAT when the file shrank or became invalid under
 * the reader (the message says why; reopen to recover).
 */
sky_status sky_frame_reader_read(sky_frame_reader *reader, uint8_t *dst, size_t dst_len,
                                 uint64_t *frame, char *error, size_t error_len);

/* What sky_frame_reader_read_frame found in frame f's slot. */
typedef enum sky_frame_fetch {
    SKY_FRAME_FETCHED, /* frame f was copied whole */
    SKY_FRAME_NOT_YET, /* f is not complete yet (the newest is older, or its slot is being written)
                        */
    SKY_FRAME_GONE,    /* the writer lapped it: the slot holds a newer frame (or did mid-copy) */
} sky_frame_fetch;

/* The number of the newest complete frame (0 before the first); *newest is set on SKY_OK. */
sky_status sky_frame_reader_newest(sky_frame_reader *reader, uint64_t *newest, char *error,
                                   size_t error_len);
/*
 * For a reader that wants every frame (a recorder): copies frame f (not the
 * newest) into dst with the seqlock protocol, once, without retrying: *fetch
 * says whether it was copied, is not written yet, or was overwritten by the
 * writer (f + k * slot_count) before or during the copy, which is a lost
 * frame for the caller to count. Does not touch the counters of
 * sky_frame_reader_read. Errors as sky_frame_reader_read.
 */
sky_status sky_frame_reader_read_frame(sky_frame_reader *reader, uint64_t f, uint8_t *dst,
                                       size_t dst_len, sky_frame_fetch *fetch, char *error,
                                       size_t error_len);

/* Frames skipped between consecutive reads (a gap in frame numbers), since open. */
uint64_t sky_frame_reader_dropped(const sky_frame_reader *reader);
/* Copies discarded and retried since open: torn (the sequence word changed
 * during the copy) or overtaken (the slot already held a newer frame). */
uint64_t sky_frame_reader_retries(const sky_frame_reader *reader);

typedef enum sky_writer_state {
    SKY_WRITER_ALIVE, /* holds its lock and beat within the timeout */
    SKY_WRITER_STALE, /* holds its lock but its heartbeat is older than the timeout */
    SKY_WRITER_DEAD,  /* its lock is free (crashed, killed or exited) */
} sky_writer_state;

/* Liveness by flock probe and heartbeat age (CLOCK_MONOTONIC). DEAD when the
 * writer's lock is free (so also for a writer that exited cleanly); STALE
 * when it is held but the heartbeat is older than timeout_ns, or has not
 * changed for timeout_ns since this reader first saw that value (a heartbeat
 * in the future: another time namespace), or the header can no longer be
 * read (the file shrank). Call it regularly: the second rule needs two looks. */
sky_writer_state sky_frame_reader_writer_state(sky_frame_reader *reader, uint64_t timeout_ns);
/* True when the path now names another file (the writer restarted): reopen.
 * False while the path names the same file or no file at all. */
bool sky_frame_reader_replaced(const sky_frame_reader *reader);

/* CLOCK_MONOTONIC in nanoseconds, the clock of heartbeat_ns. */
uint64_t sky_frame_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif

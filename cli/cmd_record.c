/*
 * cmd_record.c - `sky record -o show.fseq`: every frame published into the
 * frame file, in order, into an FSEQ v2 recording (docs/record.md).
 *
 * The main thread only copies: it follows the frame file's sequence numbers
 * one by one (sky_frame_reader_read_frame), copying each frame into the next
 * buffer of an in-memory ring (sky_fseq_pipeline); worker threads compress
 * blocks of frames and append them in order. So the copy, the only part that
 * races the writer, costs a memcpy per frame whatever the compression does.
 *
 * A frame is lost when the writer laps it in the frame file's slot ring
 * before it is copied (the recorder was not scheduled for slot_count - 1
 * frame periods: `sky run --slots N` gives more), or when the ring is full
 * and it gets lapped while waiting (the disk or compression cannot keep up).
 * Every loss is counted and reported at once and at the end, and the exit
 * status is 1. A lost frame keeps its place in the recording (the previous
 * frame, held), so the rest keeps its timing: FSEQ has a fixed step, one
 * recorded frame per published frame.
 *
 * The step is the writer's fps_nominal (or --fps): a frame the show
 * published late is still the next frame of the recording, played at its
 * place on the grid, so a recording replays the show's frames at the show's
 * nominal rate, not its jitter.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/fseq.h"

#define RECORD_CMD           "sky record"
#define RECORD_POLL_NS       1000000ull /* 1 ms between looks at the frame file */
#define RECORD_WRITER_GONE_S 2.0        /* heartbeat age that ends the recording */
#define RECORD_RING_SECONDS  2.0        /* the ring holds at least this much of the show */

typedef struct record_options {
    const char *out, *frame_path;
    double duration; /* < 0: none */
    uint64_t frames; /* 0: none */
    double fps;      /* 0: the writer's fps_nominal */
    uint64_t level, threads, ring;
} record_options;

static volatile sig_atomic_t record_stop;

static void record_on_signal(int sig) {
    record_stop = sig;
}

static void record_usage(FILE *out) {
    fprintf(
        out,
        "usage: sky record -o OUT.fseq [options]\n"
        "Records every frame published into the frame file, in order, into an FSEQ v2\n"
        "file (xLights / Falcon Player), until --duration, --frames or Ctrl-C.\n\n"
        "  -o, --output OUT  the recording (.fseq), created or replaced\n"
        "  --frame PATH      frame file to read (default %s);\n"
        "                    --frame-file PATH is the same\n"
        "  --duration S      stop after S seconds of frames (at the recording's rate)\n"
        "  --frames N        stop after N frames\n"
        "  --fps N           the recording's rate (default: the writer's, from the frame file)\n"
        "  --level N         zstd level 1..19 (default 1)\n"
        "  --threads N       compression threads (default 2)\n"
        "  --buffer N        frames the in-memory ring holds at least (default: 2 s)\n\n"
        "Lost frames (lapped in the frame file: give `sky run --slots 32`; or the ring was\n"
        "full) are reported at once and at the end; each keeps its place as a copy of the\n"
        "frame before. Exit status: 0 every frame recorded, 1 frames were lost,\n"
        "2 usage or system error.\n",
        SKY_FRAME_DEFAULT_PATH);
}

enum {
    RECORD_OPT_FRAME = 256,
    RECORD_OPT_DURATION,
    RECORD_OPT_FRAMES,
    RECORD_OPT_FPS,
    RECORD_OPT_LEVEL,
    RECORD_OPT_THREADS,
    RECORD_OPT_BUFFER,
};

static const struct option record_long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"frame", required_argument, NULL, RECORD_OPT_FRAME},
    {"frame-file", required_argument, NULL, RECORD_OPT_FRAME},
    {"duration", required_argument, NULL, RECORD_OPT_DURATION},
    {"frames", required_argument, NULL, RECORD_OPT_FRAMES},
    {"fps", required_argument, NULL, RECORD_OPT_FPS},
    {"level", required_argument, NULL, RECORD_OPT_LEVEL},
    {"threads", required_argument, NULL, RECORD_OPT_THREADS},
    {"buffer", required_argument, NULL, RECORD_OPT_BUFFER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static bool record_take_option(record_options *o, int opt) {
    switch (opt) {
    case 'o':
        o->out = optarg;
        return true;
    case RECORD_OPT_FRAME:
        if (!*optarg) {
            fprintf(stderr, "%s: --frame needs a path, not an empty string\n", RECORD_CMD);
            return false;
        }
        o->frame_path = optarg;
        return true;
    case RECORD_OPT_DURATION:
        return live_parse_double(RECORD_CMD, "--duration", optarg, 0.001, 1e7, &o->duration);
    case RECORD_OPT_FRAMES:
        return live_parse_u64(RECORD_CMD, "--frames", optarg, 1, UINT32_MAX, &o->frames);
    case RECORD_OPT_FPS:
        return live_parse_double(RECORD_CMD, "--fps", optarg, 4, 1000, &o->fps);
    case RECORD_OPT_LEVEL:
        return live_parse_u64(RECORD_CMD, "--level", optarg, 1, 19, &o->level);
    case RECORD_OPT_THREADS:
        return live_parse_u64(RECORD_CMD, "--threads", optarg, 1, 64, &o->threads);
    case RECORD_OPT_BUFFER:
        return live_parse_u64(RECORD_CMD, "--buffer", optarg, 2, 1u << 24, &o->ring);
    default:
        return false;
    }
}

static int record_parse(record_options *o, int argc, char **argv) {
    o->frame_path = SKY_FRAME_DEFAULT_PATH;
    o->duration = -1;
    o->level = 1;
    o->threads = 2;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(RECORD_CMD, argc, argv, "ho:", record_long_options)) != -1) {
        if (opt == 'h') {
            record_usage(stdout);
            return 0;
        }
        if (!record_take_option(o, opt)) return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument `%s` (the output goes after -o)\n", RECORD_CMD,
                argv[optind]);
        return 2;
    }
    if (!o->out) {
        fprintf(stderr, "%s: where to? (usage: sky record -o OUT.fseq)\n", RECORD_CMD);
        return 2;
    }
    return -1;
}

/* ------------------------------------------------------------- the recorder */

typedef struct recorder {
    const record_options *o;
    sky_frame_reader *reader;
    sky_fseq_writer *writer;
    sky_fseq_pipeline *pipeline;
    uint32_t frame_bytes;
    double fps;
    uint64_t limit;    /* frames to record; 0: until stopped */
    uint64_t next;     /* the frame file's number of the next frame to record */
    uint64_t recorded; /* frames in the recording, held ones included */
    uint64_t lost_lapped, lost_ring;
    uint64_t run_first, run_count; /* the loss being reported */
    bool run_ring;
    bool waiting_for_room; /* the ring was full while the frame was still there */
} recorder;

static void record_sleep(void) {
    struct timespec ts = {0, (long)RECORD_POLL_NS};
    nanosleep(&ts, NULL); /* a signal ends it early: the loop looks at record_stop */
}

/* Opens the frame file, waiting for a writer to create it. */
static sky_status record_open_file(recorder *r) {
    bool said = false;
    for (;;) {
        char error[1024] = "";
        sky_status st = sky_frame_reader_open(r->o->frame_path, &r->reader, error, sizeof error);
        if (st != SKY_ERR_IO) {
            if (st != SKY_OK) fprintf(stderr, "%s: %s\n", RECORD_CMD, error);
            return st;
        }
        if (!said) fprintf(stderr, "%s: waiting for %s: %s\n", RECORD_CMD, r->o->frame_path, error);
        said = true;
        for (int i = 0; i < 100 && !record_stop; i++) record_sleep();
        if (record_stop) return SKY_ERR_AGAIN;
    }
}

/* The frame file of a live writer: one left by a writer that exited is not
 * recorded (its last frame is old); the recorder waits for the next writer,
 * which replaces the file. */
static sky_status record_open_reader(recorder *r) {
    for (;;) {
        sky_status st = record_open_file(r);
        if (st != SKY_OK) return st;
        if (sky_frame_reader_writer_state(r->reader, (uint64_t)(RECORD_WRITER_GONE_S * 1e9)) !=
            SKY_WRITER_DEAD)
            return SKY_OK;
        fprintf(stderr, "%s: %s: its writer is gone; waiting for a new one\n", RECORD_CMD,
                r->o->frame_path);
        while (!record_stop && !sky_frame_reader_replaced(r->reader))
            for (int i = 0; i < 100 && !record_stop; i++) record_sleep();
        sky_frame_reader_free(r->reader);
        r->reader = NULL;
        if (record_stop) return SKY_ERR_AGAIN;
    }
}

static void record_report_run(recorder *r) {
    if (r->run_count == 0) return;
    fprintf(stderr, "%s: LOST %llu frame%s (%llu..%llu): %s; each held the frame before\n",
            RECORD_CMD, (unsigned long long)r->run_count, r->run_count == 1 ? "" : "s",
            (unsigned long long)r->run_first, (unsigned long long)(r->run_first + r->run_count - 1),
            r->run_ring ? "the recorder's ring was full (compression or the disk is too slow)"
                        : "the writer lapped them in the frame file's slots (the recorder was "
                          "not scheduled in time; `sky run --slots N` gives more)");
    r->run_count = 0;
}

/* Frame `next` is gone: count it, hold the previous frame in its place. */
static void record_lose(recorder *r, uint8_t *slot) {
    bool ring = r->waiting_for_room;
    if (ring)
        r->lost_ring++;
    else
        r->lost_lapped++;
    if (r->run_count && (r->run_first + r->run_count != r->next || r->run_ring != ring))
        record_report_run(r);
    if (r->run_count == 0) {
        r->run_first = r->next;
        r->run_ring = ring;
    }
    r->run_count++;
    const uint8_t *last = sky_fseq_pipeline_last(r->pipeline);
    if (last)
        memcpy(slot, last, r->frame_bytes);
    else
        memset(slot, 0, r->frame_bytes);
}

/* 1: recorded (or lost and held) one frame; 0: nothing to do yet; -1: error. */
static int record_step(recorder *r) {
    char error[1024] = "";
    uint8_t *slot = sky_fseq_pipeline_slot(r->pipeline);
    if (!slot) {
        if (sky_fseq_pipeline_status(r->pipeline, error, sizeof error) != SKY_OK) {
            fprintf(stderr, "%s: writing the recording failed: %s\n", RECORD_CMD, error);
            return -1;
        }
        r->waiting_for_room = true; /* wait for room; the frame file keeps the frame a while */
    }
    sky_frame_fetch fetch = SKY_FRAME_NOT_YET;
    sky_status st;
    if (slot) {
        st = sky_frame_reader_read_frame(r->reader, r->next, slot, r->frame_bytes, &fetch, error,
                                         sizeof error);
    } else { /* no room: only find out whether the frame is already gone */
        uint64_t newest = 0;
        st = sky_frame_reader_newest(r->reader, &newest, error, sizeof error);
        const sky_frame_info *info = sky_frame_reader_info(r->reader);
        fetch = newest >= r->next + info->slot_count ? SKY_FRAME_GONE : SKY_FRAME_NOT_YET;
    }
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RECORD_CMD, error);
        return -1;
    }
    if (fetch == SKY_FRAME_NOT_YET) return 0;
    if (fetch == SKY_FRAME_GONE) {
        if (!slot) return 0; /* counted once room comes: it keeps its place */
        record_lose(r, slot);
    } else {
        if (r->run_count) record_report_run(r);
        r->waiting_for_room = false;
    }
    sky_fseq_pipeline_commit(r->pipeline);
    r->next++;
    r->recorded++;
    return 1;
}

/* True while the writer that owns the file is alive and the path still names it. */
static bool record_writer_alive(recorder *r) {
    sky_writer_state ws =
        sky_frame_reader_writer_state(r->reader, (uint64_t)(RECORD_WRITER_GONE_S * 1e9));
    if (ws == SKY_WRITER_DEAD || sky_frame_reader_replaced(r->reader)) {
        fprintf(stderr, "%s: the frame file's writer %s; the recording ends\n", RECORD_CMD,
                ws == SKY_WRITER_DEAD ? "exited" : "was replaced by another");
        return false;
    }
    return true;
}

static int record_loop(recorder *r) {
    uint64_t newest = 0;
    char error[1024] = "";
    /* Start at the newest frame (or the first one to come). */
    while (!record_stop && newest == 0) {
        if (sky_frame_reader_newest(r->reader, &newest, error, sizeof error) != SKY_OK) {
            fprintf(stderr, "%s: %s\n", RECORD_CMD, error);
            return 2;
        }
        if (newest == 0) record_sleep();
    }
    r->next = newest;
    if (newest)
        fprintf(stderr, "%s: recording from frame %llu\n", RECORD_CMD, (unsigned long long)newest);
    uint64_t idle_since = sky_frame_now_ns();
    while (!record_stop && (r->limit == 0 || r->recorded < r->limit)) {
        int got = record_step(r);
        if (got < 0) return 2;
        if (got > 0) {
            idle_since = 0;
            continue;
        }
        uint64_t now = sky_frame_now_ns();
        if (idle_since == 0) idle_since = now;
        if (now - idle_since > 1000000000ull) { /* a second without frames: is anyone there? */
            if (!record_writer_alive(r)) break;
            idle_since = now;
        }
        record_sleep();
    }
    return 0;
}

static int record_finish(recorder *r, int code) {
    record_report_run(r);
    char error[1024] = "";
    if (r->pipeline && sky_fseq_pipeline_finish(r->pipeline, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "%s: writing the recording failed: %s\n", RECORD_CMD, error);
        code = 2;
    }
    if (r->writer && sky_fseq_writer_finish(r->writer, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RECORD_CMD, error);
        code = 2;
    }
    uint64_t lost = r->lost_lapped + r->lost_ring;
    if (r->writer)
        fprintf(stderr,
                "%s: %llu frames (%llu..%llu of the frame file) into %s, %.1f MB at %g fps; "
                "lost %llu (%llu lapped in the frame file, %llu with the ring full)\n",
                RECORD_CMD, (unsigned long long)r->recorded,
                (unsigned long long)(r->next - r->recorded),
                (unsigned long long)(r->next ? r->next - 1 : 0), r->o->out,
                (double)sky_fseq_writer_bytes(r->writer) / 1e6, r->fps, (unsigned long long)lost,
                (unsigned long long)r->lost_lapped, (unsigned long long)r->lost_ring);
    if (code == 0 && lost > 0) {
        fprintf(stderr, "%s: the recording is incomplete: %llu frames were lost\n", RECORD_CMD,
                (unsigned long long)lost);
        code = 1;
    }
    return code;
}

static bool record_open_output(recorder *r) {
    const record_options *o = r->o;
    const sky_frame_info *info = sky_frame_reader_info(r->reader);
    r->frame_bytes = info->led_count * 3u;
    r->fps = o->fps > 0 ? o->fps : info->fps_nominal;
    if (r->fps <= 0) {
        fprintf(stderr, "%s: the writer is unpaced (fps 0): give the recording's rate with --fps\n",
                RECORD_CMD);
        return false;
    }
    r->limit = o->frames;
    if (o->duration > 0) {
        uint64_t by_time = (uint64_t)llround(o->duration * r->fps);
        if (by_time < 1) by_time = 1;
        if (r->limit == 0 || by_time < r->limit) r->limit = by_time;
    }
    sky_fseq_writer_options wo = {.path = o->out,
                                  .channel_count = r->frame_bytes,
                                  .fps = r->fps,
                                  .frames_expected = r->limit,
                                  .zstd_level = (int)o->level,
                                  .layout = info->layout,
                                  .producer = "Skyscreen sky record"};
    char error[1024] = "";
    sky_status st = sky_fseq_writer_create(&wo, &r->writer, error, sizeof error);
    uint64_t ring = o->ring ? o->ring : (uint64_t)ceil(RECORD_RING_SECONDS * r->fps);
    if (st == SKY_OK)
        st = sky_fseq_pipeline_create(r->writer, (uint32_t)ring, (unsigned)o->threads, &r->pipeline,
                                      error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RECORD_CMD, error);
        return false;
    }
    uint32_t capacity = 0;
    sky_fseq_pipeline_queued(r->pipeline, &capacity);
    fprintf(stderr,
            "%s: %s (%u LEDs, %s, %u slots) into %s at %g fps, zstd %llu, ring of %u frames\n",
            RECORD_CMD, o->frame_path, info->led_count, info->layout[0] ? info->layout : "?",
            info->slot_count, o->out, r->fps, (unsigned long long)o->level, capacity);
    return true;
}

int cmd_record(int argc, char **argv) {
    record_options o;
    memset(&o, 0, sizeof o);
    int code = record_parse(&o, argc, argv);
    if (code >= 0) return code;
    /* A stop ends the recording cleanly: the last block is written, however long that takes. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = record_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    recorder r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    code = 2;
    sky_status st = record_open_reader(&r);
    if (st == SKY_ERR_AGAIN) code = 0; /* stopped while waiting: nothing recorded */
    if (st == SKY_OK && record_open_output(&r)) code = record_finish(&r, record_loop(&r));
    if (record_stop) fprintf(stderr, "%s: stopped by signal %d\n", RECORD_CMD, (int)record_stop);
    sky_fseq_pipeline_free(r.pipeline);
    sky_fseq_writer_free(r.writer);
    sky_frame_reader_free(r.reader);
    return code;
}

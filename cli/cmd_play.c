/*
 * cmd_play.c - `sky play show.fseq`: publish a recording into the frame
 * file at the recording's own rate, once or looped (docs/record.md).
 *
 * A writer like `sky run`: the same frame file (flock, heartbeat, layout,
 * one writer per path), so sky-driver plays a recording and previews show
 * it. FSEQ has no geometry: the layout comes from --layout, else from the
 * recording's `sk` variable (sky record and sky render store it), else
 * `sky run`'s default; the recording's channel count must be its LEDs × 3.
 *
 * Frame k is published at start + k × period on CLOCK_MONOTONIC (absolute
 * deadlines: no drift), period from the `sk` variable's exact rate or the
 * header's step time. Every frame is published, in order, byte for byte: a
 * frame read late is published at once and counted, and the following ones
 * catch up with the grid, so a recording replays exactly what was recorded
 * and keeps its timing after a hiccup. The next frame is decompressed before
 * its deadline, so the publish itself is a copy.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/fseq.h"

#define PLAY_CMD "sky play"

typedef struct play_options {
    const char *file, *layout_spec, *frame_path;
    bool loop;
    uint64_t slots;
} play_options;

static void play_usage(FILE *out) {
    fprintf(
        out,
        "usage: sky play FILE.fseq [options]\n"
        "Publishes an FSEQ v2 recording (sky record, sky render, xLights, Falcon Player)\n"
        "into the shared frame file at its own rate, as `sky run` publishes a pattern.\n\n"
        "  --layout SPEC     the LEDs the channels are for (default: the layout stored in\n"
        "                    the recording by sky record/render, else %s); the file's\n"
        "                    channel count must be the layout's LEDs x 3\n"
        "  --frame PATH      frame file to publish into (default %s)\n"
        "  --loop            start again after the last frame, until stopped\n"
        "  --slots N         frame slots in the frame file, 3..256 (default 4)\n\n"
        "Every frame is published, in order; frames that come late are counted.\n"
        "Exit status: 0 played (or stopped by SIGINT/SIGTERM), 2 usage, file or system error.\n",
        SKY_LAYOUT_DEFAULT, SKY_FRAME_DEFAULT_PATH);
}

enum { PLAY_OPT_LAYOUT = 256, PLAY_OPT_FRAME, PLAY_OPT_LOOP, PLAY_OPT_SLOTS };

static const struct option play_long_options[] = {
    {"layout", required_argument, NULL, PLAY_OPT_LAYOUT},
    {"frame", required_argument, NULL, PLAY_OPT_FRAME},
    {"loop", no_argument, NULL, PLAY_OPT_LOOP},
    {"slots", required_argument, NULL, PLAY_OPT_SLOTS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int play_parse(play_options *o, int argc, char **argv) {
    o->frame_path = SKY_FRAME_DEFAULT_PATH;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(PLAY_CMD, argc, argv, "h", play_long_options)) != -1) {
        switch (opt) {
        case 'h':
            play_usage(stdout);
            return 0;
        case PLAY_OPT_LAYOUT:
            o->layout_spec = optarg;
            break;
        case PLAY_OPT_FRAME:
            if (!*optarg) {
                fprintf(stderr, "%s: --frame needs a path, not an empty string\n", PLAY_CMD);
                return 2;
            }
            o->frame_path = optarg;
            break;
        case PLAY_OPT_LOOP:
            o->loop = true;
            break;
        case PLAY_OPT_SLOTS:
            if (!live_parse_u64(PLAY_CMD, "--slots", optarg, SKY_FRAME_MIN_SLOTS,
                                SKY_FRAME_MAX_SLOTS, &o->slots))
                return 2;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s: %s (usage: sky play FILE.fseq [options])\n", PLAY_CMD,
                optind >= argc ? "which recording?" : "one recording at a time");
        return 2;
    }
    o->file = argv[optind];
    return -1;
}

/* The layout, and the check that the recording's frames are its LEDs × 3. */
static bool play_layout(const play_options *o, const sky_fseq_info *info, sky_layout **layout) {
    const char *spec = o->layout_spec    ? o->layout_spec
                       : info->layout[0] ? info->layout
                                         : SKY_LAYOUT_DEFAULT;
    if (!live_layout_create(PLAY_CMD, spec, layout)) return false;
    uint64_t want = (uint64_t)(*layout)->led_count * 3u;
    if (info->channel_count != want) {
        fprintf(stderr,
                "%s: %s has %u channels per frame%s, but the layout %s has %u LEDs (%llu "
                "channels)%s\n",
                PLAY_CMD, o->file, info->channel_count,
                info->channel_count % 3 ? " (not a multiple of 3: not RGB LEDs)" : "", spec,
                (*layout)->led_count, (unsigned long long)want,
                o->layout_spec ? "" : "; give the installation's layout with --layout");
        return false;
    }
    return true;
}

/* Publishes every frame on the grid of deadlines; 0 at the end or on a stop, 2 on errors. */
static int play_loop(const play_options *o, sky_fseq_reader *reader, sky_frame_writer *writer,
                     uint64_t *published, uint64_t *late) {
    const sky_fseq_info *info = sky_fseq_reader_info(reader);
    size_t bytes = info->channel_count;
    uint8_t *next = malloc(bytes);
    if (!next) {
        fprintf(stderr, "%s: out of memory\n", PLAY_CMD);
        return 2;
    }
    double period_ns = 1e9 / info->fps;
    uint64_t start = sky_frame_now_ns();
    int code = 0;
    for (uint64_t k = 0; !live_signals_stopped(); k++) {
        uint32_t index = (uint32_t)(k % info->frame_count);
        if (!o->loop && k >= info->frame_count) break;
        char error[1024] = "";
        if (sky_fseq_reader_read(reader, index, next, bytes, error, sizeof error) != SKY_OK) {
            fprintf(stderr, "%s: %s\n", PLAY_CMD, error);
            code = 2;
            break;
        }
        uint64_t deadline = start + (uint64_t)llround((double)k * period_ns);
        if (sky_frame_now_ns() > deadline + (uint64_t)period_ns)
            (*late)++;
        else if (!live_signals_sleep_until(deadline))
            break;
        uint64_t frame = 0;
        memcpy(sky_frame_writer_begin(writer, &frame), next, bytes);
        if (sky_frame_writer_publish(writer) != SKY_OK) {
            sky_frame_writer_check(writer, error, sizeof error);
            fprintf(stderr, "%s: %s; stopping\n", PLAY_CMD, error);
            code = 2;
            break;
        }
        (*published)++;
    }
    free(next);
    return code;
}

int cmd_play(int argc, char **argv) {
    play_options o;
    memset(&o, 0, sizeof o);
    int code = play_parse(&o, argc, argv);
    if (code >= 0) return code;
    if (!live_signals_start(PLAY_CMD, true)) return 2;
    sky_fseq_reader *reader = NULL;
    sky_layout *layout = NULL;
    sky_frame_writer *writer = NULL;
    char error[1024] = "";
    code = 2;
    if (sky_fseq_reader_open(o.file, &reader, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "%s: %s\n", PLAY_CMD, error);
        goto done;
    }
    const sky_fseq_info *info = sky_fseq_reader_info(reader);
    if (info->frame_count == 0) {
        fprintf(stderr, "%s: %s holds no frames\n", PLAY_CMD, o.file);
        goto done;
    }
    if (!play_layout(&o, info, &layout)) goto done;
    if (!live_frame_writer_create(PLAY_CMD, layout, o.frame_path, info->fps, o.slots, &writer))
        goto done;
    fprintf(stderr, "%s: %s (%u frames at %g fps%s%s) on %s (%u LEDs) into %s%s\n", PLAY_CMD,
            o.file, info->frame_count, info->fps, info->producer[0] ? ", from " : "",
            info->producer, layout->name, layout->led_count, o.frame_path,
            o.loop ? ", looped" : "");
    uint64_t published = 0, late = 0;
    code = play_loop(&o, reader, writer, &published, &late);
    fprintf(stderr, "%s: published %llu frames, %llu late%s\n", PLAY_CMD,
            (unsigned long long)published, (unsigned long long)late,
            live_signals_stopped() ? " (stopped)" : "");
done:
    sky_frame_writer_free(writer);
    sky_layout_free(layout);
    sky_fseq_reader_free(reader);
    live_signals_finish();
    return code;
}

/*
 * video.c - video("show.mp4"): any file libavformat opens, decoded by
 * libavcodec on a thread of its own, converted to RGB8 by libswscale and
 * mip-mapped there too (into a one-picture block), then handed to the show
 * through a two-block mailbox.
 *
 * Timing: frame k is due at the show's t = (the loops before) + (its
 * presentation time - the first frame's). The thread decodes one frame
 * ahead and waits, holding it, until the show's t reaches it; a frame whose
 * successor is already due is dropped before conversion (counted), and a
 * frame the show never took because a newer one came is counted dropped
 * too. But a late frame is shown all the same when none was for
 * VIDEO_MAX_GAP_S of video time: a decoder slower than the video's frame
 * rate (a 1080p file on a busy Raspberry Pi) then shows what it can, at
 * least every VIDEO_MAX_GAP_S, instead of dropping every frame for ever.
 * At the end of the file it seeks back to the start: the video loops,
 * each loop as long as its last frame's time plus one frame. The show's
 * thread never waits on decoding: it only copies the newest finished levels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "pictures_int.h"

#define VIDEO_MAX_GAP_S 0.1 /* a late frame is still shown after this long without one */

struct pics_video {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    struct SwsContext *sws;
    AVFrame *frame;
    AVPacket *pkt;
    int stream;
    double time_base;
    uint32_t width, height;
    uint8_t *rgb;     /* the thread's RGB8 frame */
    uint32_t *one[2]; /* one-picture blocks: front (the show's) and back (the thread's) */
    size_t one_words;
    int front; /* index into one[], -1 before the first frame */

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t held; /* signalled when the thread holds a frame not yet due, or ends */
    bool stop;
    bool holding; /* the thread waits with a frame due at hold_due */
    double hold_due;
    bool ended;  /* the thread stopped (nothing more decodes) */
    double want; /* the show's newest t */
    bool want_set;
    bool restart; /* the show's t went back: start over from the top */
    uint64_t seq, seq_taken;

    /* the thread's own */
    double offset;    /* show time at which the current loop started */
    double first_pts; /* presentation time of the file's first frame, seconds */
    bool have_first;
    double last_rel;   /* time of the newest frame in this loop, relative to the loop */
    double last_shown; /* show time of the newest frame converted for showing */
    double frame_dur;
    uint32_t loop_frames;

    /* under lock */
    uint64_t decoded, dropped, decode_ns, convert_ns, mip_ns;
};

static void video_av_error(char *error, size_t error_len, const char *what, int code) {
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(code, msg, sizeof msg);
    pics_error(error, error_len, "%s: %s", what, msg);
}

/* The next decoded frame into v->frame: 1, 0 at the end of the file, negative on errors. */
static int video_decode_next(pics_video *v) {
    for (;;) {
        int r = avcodec_receive_frame(v->dec, v->frame);
        if (r == 0) return 1;
        if (r == AVERROR_EOF) return 0;
        if (r != AVERROR(EAGAIN)) return r;
        r = av_read_frame(v->fmt, v->pkt);
        if (r < 0) {
            avcodec_send_packet(v->dec, NULL); /* drain what the decoder holds */
            continue;
        }
        if (v->pkt->stream_index == v->stream) {
            r = avcodec_send_packet(v->dec, v->pkt);
            /* A damaged packet: skip it, as players do; the next key frame recovers. */
            (void)r;
        }
        av_packet_unref(v->pkt);
    }
}

static int video_rewind(pics_video *v) {
    int r = av_seek_frame(v->fmt, v->stream,
                          v->fmt->streams[v->stream]->start_time == AV_NOPTS_VALUE
                              ? 0
                              : v->fmt->streams[v->stream]->start_time,
                          AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(v->dec);
    return r;
}

/* The frame's presentation time relative to the file's first frame. */
static double video_frame_time(pics_video *v) {
    int64_t ts = v->frame->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) return v->last_rel + v->frame_dur;
    double pts = (double)ts * v->time_base;
    if (!v->have_first) {
        v->first_pts = pts;
        v->have_first = true;
    }
    return pts - v->first_pts;
}

/* v->frame into the back block, mip levels and all. */
static bool video_convert(pics_video *v, uint32_t *block) {
    uint64_t t0 = pics_now_ns();
    if ((uint32_t)v->frame->width != v->width || (uint32_t)v->frame->height != v->height)
        return false; /* a size change mid-file: the frame is skipped (counted dropped) */
    v->sws = sws_getCachedContext(v->sws, v->frame->width, v->frame->height,
                                  (enum AVPixelFormat)v->frame->format, (int)v->width,
                                  (int)v->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!v->sws) return false;
    uint8_t *dst[4] = {v->rgb};
    int stride[4] = {(int)v->width * 3};
    sws_scale(v->sws, (const uint8_t *const *)v->frame->data, v->frame->linesize, 0,
              v->frame->height, dst, stride);
    uint64_t t1 = pics_now_ns();
    sky_status st =
        sky_picture_block_put(block, 0, v->rgb, (size_t)v->width * 3, v->width, v->height);
    uint64_t t2 = pics_now_ns();
    pthread_mutex_lock(&v->lock);
    v->convert_ns += t1 - t0;
    v->mip_ns += t2 - t1;
    pthread_mutex_unlock(&v->lock);
    return st == SKY_OK;
}

/* Waits until the show's t reaches `due` (or went back, or stop); false on stop. */
static bool video_wait_due(pics_video *v, double due, bool *restarted) {
    pthread_mutex_lock(&v->lock);
    v->holding = true;
    v->hold_due = due;
    pthread_cond_broadcast(&v->held);
    while (!v->stop && !v->restart && (!v->want_set || v->want < due))
        pthread_cond_wait(&v->cond, &v->lock);
    v->holding = false;
    *restarted = v->restart;
    v->restart = false;
    bool go = !v->stop;
    pthread_mutex_unlock(&v->lock);
    return go;
}

static void *video_thread(void *arg) {
    pics_video *v = arg;
    for (;;) {
        pthread_mutex_lock(&v->lock);
        bool stop = v->stop;
        double want = v->want;
        bool want_set = v->want_set;
        pthread_mutex_unlock(&v->lock);
        if (stop) break;
        uint64_t t0 = pics_now_ns();
        int r = video_decode_next(v);
        uint64_t decode = pics_now_ns() - t0;
        if (r <= 0) {
            /* The end (or a read error): loop, unless this pass gave nothing at all. */
            if (v->loop_frames == 0) break; /* nothing decodes any more: keep the last frame */
            v->offset += v->last_rel + v->frame_dur;
            v->loop_frames = 0;
            v->last_rel = 0;
            if (video_rewind(v) < 0) break;
            continue;
        }
        double rel = video_frame_time(v);
        if (v->loop_frames > 0 && rel > v->last_rel && rel - v->last_rel < 10.0)
            v->frame_dur = rel - v->last_rel;
        v->last_rel = rel;
        v->loop_frames++;
        pthread_mutex_lock(&v->lock);
        v->decoded++;
        v->decode_ns += decode;
        pthread_mutex_unlock(&v->lock);
        double due = v->offset + rel;
        bool stale = due - v->last_shown >= VIDEO_MAX_GAP_S || due < v->last_shown;
        if (want_set && due + v->frame_dur <= want && !stale) {
            pthread_mutex_lock(&v->lock);
            v->dropped++; /* its successor is due already: never converted */
            pthread_mutex_unlock(&v->lock);
            continue;
        }
        int back = v->front == 0 ? 1 : 0;
        v->last_shown = due;
        if (!video_convert(v, v->one[back])) {
            pthread_mutex_lock(&v->lock);
            v->dropped++;
            pthread_mutex_unlock(&v->lock);
            continue;
        }
        bool restarted = false;
        if (!video_wait_due(v, due, &restarted)) break;
        pthread_mutex_lock(&v->lock);
        if (restarted) {
            v->dropped++; /* held for a time that is no longer coming */
        } else {
            if (v->front >= 0 && v->seq != v->seq_taken) v->dropped++; /* replaced, never shown */
            v->front = back;
            v->seq++;
        }
        pthread_mutex_unlock(&v->lock);
        if (restarted) {
            /* The show's t went back (a restart): from the top, the first pass at t = 0. */
            v->offset = 0;
            v->loop_frames = 0;
            v->last_rel = 0;
            if (video_rewind(v) < 0) break;
        }
    }
    pthread_mutex_lock(&v->lock);
    v->ended = true;
    pthread_cond_broadcast(&v->held);
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

void pics_video_free(pics_video *v) {
    if (!v) return;
    if (v->started) {
        pthread_mutex_lock(&v->lock);
        v->stop = true;
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->thread, NULL);
    }
    pthread_mutex_destroy(&v->lock);
    pthread_cond_destroy(&v->cond);
    pthread_cond_destroy(&v->held);
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    free(v->rgb);
    free(v->one[0]);
    free(v->one[1]);
    free(v);
}

/* The decoder for the best video stream of an opened format context. */
static sky_status video_open_decoder(pics_video *v, char *error, size_t error_len) {
    int r = avformat_find_stream_info(v->fmt, NULL);
    if (r < 0) {
        video_av_error(error, error_len, "not a readable video", r);
        return SKY_ERR_FORMAT;
    }
    const AVCodec *codec = NULL;
    r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r < 0 || !codec) {
        pics_error(error, error_len, "no video stream that this system's libavcodec decodes");
        return SKY_ERR_FORMAT;
    }
    v->stream = r;
    AVStream *s = v->fmt->streams[r];
    v->time_base = av_q2d(s->time_base);
    v->frame_dur = s->avg_frame_rate.num > 0 ? 1.0 / av_q2d(s->avg_frame_rate) : 1.0 / 30.0;
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec) return SKY_ERR_NOMEM;
    r = avcodec_parameters_to_context(v->dec, s->codecpar);
    if (r >= 0) r = avcodec_open2(v->dec, codec, NULL);
    if (r < 0) {
        video_av_error(error, error_len, "cannot start its decoder", r);
        return SKY_ERR_FORMAT;
    }
    v->frame = av_frame_alloc();
    v->pkt = av_packet_alloc();
    return v->frame && v->pkt ? SKY_OK : SKY_ERR_NOMEM;
}

/* Decodes the first frame: the file plays, and its size is known, before the show starts. */
static sky_status video_first_frame(pics_video *v, char *error, size_t error_len) {
    int r = video_decode_next(v);
    if (r <= 0) {
        if (r < 0)
            video_av_error(error, error_len, "no frame could be decoded", r);
        else
            pics_error(error, error_len, "no frame could be decoded (empty or damaged video)");
        return SKY_ERR_FORMAT;
    }
    if (v->frame->width <= 0 || v->frame->height <= 0 ||
        v->frame->width > (int)SKY_PICTURE_MAX_SIDE ||
        v->frame->height > (int)SKY_PICTURE_MAX_SIDE) {
        pics_error(error, error_len, "frames of %d x %d pixels: the limit is %u on each side",
                   v->frame->width, v->frame->height, SKY_PICTURE_MAX_SIDE);
        return SKY_ERR_LIMIT;
    }
    v->width = (uint32_t)v->frame->width;
    v->height = (uint32_t)v->frame->height;
    return SKY_OK;
}

static sky_status video_blocks(pics_video *v, double footprint) {
    v->one_words = sky_picture_block_words(1, &v->width, &v->height, footprint);
    v->rgb = malloc((size_t)v->width * v->height * 3);
    for (int k = 0; k < 2; k++) {
        v->one[k] = v->one_words ? malloc(v->one_words * sizeof *v->one[k]) : NULL;
        if (!v->one[k] || sky_picture_block_init(v->one[k], v->one_words, 1, &v->width, &v->height,
                                                 footprint) != SKY_OK)
            return SKY_ERR_NOMEM;
    }
    return v->rgb ? SKY_OK : SKY_ERR_NOMEM;
}

sky_status pics_video_open(const char *path, pics_video **out, uint32_t *width, uint32_t *height,
                           double footprint, char *error, size_t error_len) {
    *out = NULL;
    pics_video *v = calloc(1, sizeof *v);
    if (!v) return SKY_ERR_NOMEM;
    v->front = -1;
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    pthread_cond_init(&v->held, NULL);
    int r = avformat_open_input(&v->fmt, path, NULL, NULL);
    sky_status st = SKY_OK;
    if (r < 0) {
        video_av_error(error, error_len, "cannot open", r);
        st = r == AVERROR(ENOENT) || r == AVERROR(EACCES) ? SKY_ERR_IO : SKY_ERR_FORMAT;
    }
    if (st == SKY_OK) st = video_open_decoder(v, error, error_len);
    if (st == SKY_OK) st = video_first_frame(v, error, error_len);
    if (st == SKY_OK) st = video_blocks(v, footprint);
    if (st == SKY_OK && video_rewind(v) < 0) {
        pics_error(error, error_len, "cannot seek back to its start (needed to loop)");
        st = SKY_ERR_FORMAT;
    }
    v->have_first = false;
    if (st == SKY_OK) {
        if (pthread_create(&v->thread, NULL, video_thread, v) != 0) {
            pics_error(error, error_len, "cannot start the decoding thread");
            st = SKY_ERR_NOMEM;
        } else {
            v->started = true;
        }
    }
    if (st != SKY_OK) {
        if (st == SKY_ERR_NOMEM && error && !error[0])
            pics_error(error, error_len, "out of memory");
        pics_video_free(v);
        return st;
    }
    *width = v->width;
    *height = v->height;
    *out = v;
    return SKY_OK;
}

bool pics_video_frame(pics_video *v, double t, bool sync, uint32_t *block, uint32_t index) {
    bool changed = false;
    pthread_mutex_lock(&v->lock);
    if (v->want_set && t < v->want) {
        v->restart = true;
        v->holding = false; /* what it holds belongs to the old timeline */
    }
    v->want = t;
    v->want_set = true;
    pthread_cond_signal(&v->cond);
    /* In step: the thread holds the frame after the one due at t (it waits), or has ended. */
    while (sync && !v->ended && !(v->holding && v->hold_due > t))
        pthread_cond_wait(&v->held, &v->lock);
    if (v->front >= 0 && v->seq != v->seq_taken) {
        pics_copy_entry(block, index, v->one[v->front]);
        v->seq_taken = v->seq;
        changed = true;
    }
    pthread_mutex_unlock(&v->lock);
    return changed;
}

void pics_video_stats(const pics_video *v, sky_pictures_stats *stats) {
    pthread_mutex_lock((pthread_mutex_t *)&v->lock);
    stats->video_decoded += v->decoded;
    stats->video_dropped += v->dropped;
    stats->decode_ns += v->decode_ns;
    stats->convert_ns += v->convert_ns;
    stats->mip_ns += v->mip_ns;
    pthread_mutex_unlock((pthread_mutex_t *)&v->lock);
}

/* ------------------------------------------------------ from memory (fuzzing) */

typedef struct video_memory {
    const uint8_t *data;
    size_t len, pos;
} video_memory;

static int video_memory_read(void *opaque, uint8_t *buf, int size) {
    video_memory *m = opaque;
    size_t left = m->len - m->pos;
    if (left == 0) return AVERROR_EOF;
    size_t n = (size_t)size < left ? (size_t)size : left;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t video_memory_seek(void *opaque, int64_t offset, int whence) {
    video_memory *m = opaque;
    if (whence == AVSEEK_SIZE) return (int64_t)m->len;
    int64_t base = (whence & 3) == SEEK_CUR   ? (int64_t)m->pos
                   : (whence & 3) == SEEK_END ? (int64_t)m->len
                                              : 0;
    int64_t to = base + offset;
    if (to < 0 || to > (int64_t)m->len) return -1;
    m->pos = (size_t)to;
    return to;
}

sky_status pics_video_probe_memory(const uint8_t *data, size_t len, char *error, size_t error_len) {
    video_memory m = {data, len, 0};
    pics_video *v = calloc(1, sizeof *v);
    if (!v) return SKY_ERR_NOMEM;
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    pthread_cond_init(&v->held, NULL);
    sky_status st = SKY_ERR_NOMEM;
    const size_t io_size = 4096;
    uint8_t *io_buf = av_malloc(io_size);
    AVIOContext *io = io_buf ? avio_alloc_context(io_buf, (int)io_size, 0, &m, video_memory_read,
                                                  NULL, video_memory_seek)
                             : NULL;
    v->fmt = io ? avformat_alloc_context() : NULL;
    if (v->fmt) {
        v->fmt->pb = io;
        v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
        int r = avformat_open_input(&v->fmt, NULL, NULL, NULL);
        if (r < 0) {
            video_av_error(error, error_len, "cannot open", r);
            st = SKY_ERR_FORMAT;
        } else {
            st = video_open_decoder(v, error, error_len);
            if (st == SKY_OK) st = video_first_frame(v, error, error_len);
        }
    } else if (!io) {
        av_free(io_buf);
    }
    pics_video_free(v); /* closes fmt; the custom AVIO is ours to free */
    if (io) {
        av_freep(&io->buffer);
        avio_context_free(&io);
    }
    return st;
}

/*
 * preview_video.c - RGB images to MP4 (H.264, libx264) or WebM (VP9,
 * libvpx) through libavformat/libavcodec (preview_video.h).
 *
 * Each image is converted to YUV 4:2:0 by libswscale and sent to the
 * encoder with pts = its index in a 1/fps time base (fps as a rational), so
 * the file plays at the preview's rate. Soft dots on black compress well:
 * a constant-quality setting (CRF 23 for H.264, 32 for VP9) keeps a few
 * seconds of a 512-pixel preview well under a megabyte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "preview_video.h"

struct preview_video {
    const char *cmd;
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *stream;
    struct SwsContext *sws;
    AVFrame *frame;
    AVPacket *packet;
    uint8_t *padded; /* the image on an even-sized canvas */
    uint32_t width, height, even_w, even_h;
    int64_t pts;
    bool header_written;
};

static bool video_ends_with(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

bool preview_video_path(const char *path) {
    return video_ends_with(path, ".mp4") || video_ends_with(path, ".webm");
}

static bool video_fail(preview_video *v, const char *what, int err) {
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    if (err < 0) av_strerror(err, text, sizeof text);
    fprintf(stderr, "%s: %s: %s%s%s\n", v->cmd, v->path, what, err < 0 ? ": " : "", text);
    return false;
}

/* The encoder for the container: H.264 in MP4, VP9 in WebM (libx264, libvpx-vp9 in Debian). */
static const AVCodec *video_encoder(const char *path) {
    if (video_ends_with(path, ".webm")) return avcodec_find_encoder(AV_CODEC_ID_VP9);
    return avcodec_find_encoder(AV_CODEC_ID_H264);
}

static bool video_open_encoder(preview_video *v, double fps) {
    const AVCodec *codec = video_encoder(v->path);
    if (!codec) return video_fail(v, "no encoder for this container in libavcodec", 0);
    if (!(v->stream = avformat_new_stream(v->fmt, NULL)) ||
        !(v->enc = avcodec_alloc_context3(codec)))
        return video_fail(v, "out of memory", 0);
    AVRational rate = av_d2q(fps, 100000);
    v->enc->width = (int)v->even_w;
    v->enc->height = (int)v->even_h;
    v->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    v->enc->time_base = av_inv_q(rate);
    v->enc->framerate = rate;
    v->enc->gop_size = 60;
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER) v->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (codec->id == AV_CODEC_ID_H264) {
        av_opt_set(v->enc->priv_data, "crf", "23", 0);
        av_opt_set(v->enc->priv_data, "preset", "medium", 0);
    } else {
        av_opt_set(v->enc->priv_data, "crf", "32", 0);
        v->enc->bit_rate = 0; /* constant quality */
    }
    int err = avcodec_open2(v->enc, codec, NULL);
    if (err < 0) return video_fail(v, "opening the encoder", err);
    err = avcodec_parameters_from_context(v->stream->codecpar, v->enc);
    if (err < 0) return video_fail(v, "the stream's parameters", err);
    v->stream->time_base = v->enc->time_base;
    return true;
}

static bool video_open_output(preview_video *v) {
    if (!(v->fmt->oformat->flags & AVFMT_NOFILE)) {
        int err = avio_open(&v->fmt->pb, v->path, AVIO_FLAG_WRITE);
        if (err < 0) return video_fail(v, "cannot create the file", err);
    }
    int err = avformat_write_header(v->fmt, NULL);
    if (err < 0) return video_fail(v, "writing the header", err);
    v->header_written = true;
    return true;
}

bool preview_video_open(const char *cmd, const char *path, uint32_t width, uint32_t height,
                        double fps, preview_video **video) {
    *video = NULL;
    preview_video *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path))) {
        free(v);
        fprintf(stderr, "%s: out of memory\n", cmd);
        return false;
    }
    v->cmd = cmd;
    av_log_set_level(AV_LOG_ERROR); /* the encoders' statistics are not ours to print */
    v->width = width;
    v->height = height;
    v->even_w = (width + 1) & ~1u;
    v->even_h = (height + 1) & ~1u;
    bool ok = false;
    int err = avformat_alloc_output_context2(&v->fmt, NULL, NULL, path);
    if (err < 0 || !v->fmt) {
        video_fail(v, "no container for this file name", err);
    } else if (video_open_encoder(v, fps)) {
        v->sws = sws_getContext((int)v->even_w, (int)v->even_h, AV_PIX_FMT_RGB24, (int)v->even_w,
                                (int)v->even_h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
        v->frame = av_frame_alloc();
        v->packet = av_packet_alloc();
        v->padded = calloc((size_t)v->even_w * v->even_h, 3);
        if (!v->sws || !v->frame || !v->packet || !v->padded) {
            video_fail(v, "out of memory", 0);
        } else {
            v->frame->format = AV_PIX_FMT_YUV420P;
            v->frame->width = (int)v->even_w;
            v->frame->height = (int)v->even_h;
            err = av_frame_get_buffer(v->frame, 0);
            ok = err >= 0 ? video_open_output(v) : video_fail(v, "a frame buffer", err);
        }
    }
    if (!ok) {
        preview_video_free(v);
        return false;
    }
    *video = v;
    return true;
}

/* Moves every packet the encoder has ready into the file. */
static bool video_drain(preview_video *v) {
    for (;;) {
        int err = avcodec_receive_packet(v->enc, v->packet);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return true;
        if (err < 0) return video_fail(v, "encoding", err);
        av_packet_rescale_ts(v->packet, v->enc->time_base, v->stream->time_base);
        v->packet->stream_index = v->stream->index;
        err = av_interleaved_write_frame(v->fmt, v->packet);
        if (err < 0) return video_fail(v, "writing a frame", err);
    }
}

bool preview_video_add(preview_video *v, const uint8_t *rgb) {
    int err = av_frame_make_writable(v->frame);
    if (err < 0) return video_fail(v, "a frame buffer", err);
    for (uint32_t y = 0; y < v->height; y++)
        memcpy(v->padded + (size_t)y * v->even_w * 3, rgb + (size_t)y * v->width * 3,
               (size_t)v->width * 3);
    const uint8_t *src[1] = {v->padded};
    int stride[1] = {(int)v->even_w * 3};
    sws_scale(v->sws, src, stride, 0, (int)v->even_h, v->frame->data, v->frame->linesize);
    v->frame->pts = v->pts++;
    err = avcodec_send_frame(v->enc, v->frame);
    if (err < 0) return video_fail(v, "encoding", err);
    return video_drain(v);
}

bool preview_video_close(preview_video *v) {
    int err = avcodec_send_frame(v->enc, NULL); /* flush */
    if (err < 0) return video_fail(v, "flushing the encoder", err);
    if (!video_drain(v)) return false;
    err = av_write_trailer(v->fmt);
    v->header_written = false;
    if (err < 0) return video_fail(v, "writing the trailer", err);
    if (!(v->fmt->oformat->flags & AVFMT_NOFILE)) {
        err = avio_closep(&v->fmt->pb);
        if (err < 0) return video_fail(v, "closing the file", err);
    }
    return true;
}

void preview_video_free(preview_video *v) {
    if (!v) return;
    if (v->fmt && v->fmt->pb && !(v->fmt->oformat->flags & AVFMT_NOFILE)) avio_closep(&v->fmt->pb);
    avformat_free_context(v->fmt);
    avcodec_free_context(&v->enc);
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->packet);
    free(v->padded);
    free(v->path);
    free(v);
}

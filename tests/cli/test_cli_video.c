/*
 * test_cli_video.c - `sky preview -o clip.mp4|clip.webm` (--cpu: no device):
 * the file is opened by libavformat and every frame decoded by libavcodec,
 * which must find the codec the container promises (H.264 in MP4, VP9 in
 * WebM), the preview's size rounded up to even numbers, and exactly
 * duration x fps frames; the first decoded picture is not all black (the
 * soft dots are there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "cli_harness.h"

typedef struct decoded {
    enum AVCodecID codec;
    int width, height;
    int frames;
    int max_luma; /* the brightest Y sample of the first frame */
} decoded;

static decoded decode_all(const char *path) {
    decoded d = {0};
    AVFormatContext *fmt = NULL;
    assert_int_equal(avformat_open_input(&fmt, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fmt, NULL) >= 0);
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    assert_true(si >= 0);
    AVCodecParameters *par = fmt->streams[si]->codecpar;
    d.codec = par->codec_id;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    assert_non_null(codec);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    assert_int_equal(avcodec_parameters_to_context(dec, par), 0);
    assert_int_equal(avcodec_open2(dec, codec, NULL), 0);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    bool flushing = false;
    for (;;) {
        if (!flushing) {
            int err = av_read_frame(fmt, pkt);
            if (err < 0) {
                flushing = true;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == si) assert_int_equal(avcodec_send_packet(dec, pkt), 0);
                av_packet_unref(pkt);
            }
        }
        int err;
        while ((err = avcodec_receive_frame(dec, frame)) == 0) {
            if (d.frames == 0) {
                d.width = frame->width;
                d.height = frame->height;
                for (int y = 0; y < frame->height; y++)
                    for (int x = 0; x < frame->width; x++) {
                        int v = frame->data[0][y * frame->linesize[0] + x];
                        if (v > d.max_luma) d.max_luma = v;
                    }
            }
            d.frames++;
        }
        if (err == AVERROR_EOF) break;
        assert_int_equal(err, AVERROR(EAGAIN));
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return d;
}

static void check_video(const char *ext, enum AVCodecID codec) {
    char dir[256], pattern[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "dots.sky");
    cli_path(out, sizeof out, dir, ext);
    cli_write_file(pattern, "out hsv(theta / tau + t * 0.3, 1, 1)\n");
    /* 1.5 s at 30 fps: 45 frames; --size 101 makes an odd size, padded to 102. */
    const char *args[] = {"preview",    pattern, "--cpu", "--layout", "disc:12x8", "-o",  out,
                          "--duration", "1.5",   "--fps", "30",       "--size",    "101", NULL};
    char *err = NULL;
    int code = cli_run(dir, args, 600, &err);
    if (code != 0) fail_msg("sky preview exited %d:\n%s", code, err);
    assert_non_null(strstr(err, "45 frames at 30 fps"));
    decoded d = decode_all(out);
    assert_int_equal(d.codec, codec);
    assert_int_equal(d.frames, 45);
    assert_int_equal(d.width, 102);
    assert_int_equal(d.height, 102);
    assert_true(d.max_luma > 100);
    free(err);
    cli_tmpdir_remove(dir);
}

static void test_mp4(void **state) {
    (void)state;
    check_video("clip.mp4", AV_CODEC_ID_H264);
}

static void test_webm(void **state) {
    (void)state;
    check_video("clip.webm", AV_CODEC_ID_VP9);
}

static void test_bad_extension(void **state) {
    (void)state;
    char dir[256], pattern[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "dots.sky");
    cli_path(out, sizeof out, dir, "clip.avi");
    cli_write_file(pattern, "out 1\n");
    const char *args[] = {"preview", pattern, "--cpu", "-o", out, NULL};
    char *err = NULL;
    assert_int_equal(cli_run(dir, args, 120, &err), 2);
    assert_non_null(strstr(err, "must end in .png, .gif, .mp4 or .webm"));
    free(err);
    cli_tmpdir_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp4),
        cmocka_unit_test(test_webm),
        cmocka_unit_test(test_bad_extension),
    };
    return cmocka_run_group_tests(tests, NULL, cli_kill_children);
}

/*
 * camera.c - camera("/dev/video0"): V4L2 capture with mmap'ed buffers on a
 * thread of its own. The format asked for is YUYV at the camera's current
 * size, else MJPEG; each frame is converted to RGB8 (convert.c) and
 * mip-mapped into a one-picture block on this thread, and the show copies
 * the newest one. When the device goes away (unplugged: ENODEV, or any
 * error while streaming) the picture turns black and the thread tries to
 * reopen it once a second, asking for the same size; the show goes on
 * either way. One copy per frame: the driver's buffer into RGB8 (MJPEG:
 * libjpeg's output, which the mip levels read). The driver's answers are not
 * trusted: every buffer it grants is used (up to VIDEO_MAX_FRAME), bytesused
 * is clamped to the buffer, start failures name their step. Tested against an
 * emulated device: tests/pictures/test_camera_stream.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pictures_int.h"

/* Buffers asked of VIDIOC_REQBUFS: one being converted, one being filled, two queued
 * for a late thread. A driver may grant more or fewer (its minimum, its memory): all
 * it grants are used, up to VIDEO_MAX_FRAME (32, the V4L2 limit). */
#define CAMERA_BUFFERS  4
#define CAMERA_POLL_MS  200  /* how often the thread checks for stop while no frame comes */
#define CAMERA_RETRY_MS 1000 /* between attempts to reopen a camera that went away */

typedef struct camera_buffer {
    void *map;
    size_t len;
} camera_buffer;

struct pics_camera {
    char *path;
    int fd;
    uint32_t width, height, stride, pixfmt;
    camera_buffer buf[VIDEO_MAX_FRAME];
    uint32_t nbuf;
    uint8_t *rgb;
    uint32_t *one[2];
    size_t one_words;
    int front;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    bool stop;
    uint64_t seq, seq_taken;
    bool gone; /* the front is black: the device went away */
    uint64_t frames, lost, damaged, decode_ns, convert_ns, mip_ns;
};

static int camera_ioctl(int fd, unsigned long req, void *arg) {
    int r;
    do r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

static void camera_close_device(pics_camera *c) {
    if (c->fd < 0) return;
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    camera_ioctl(c->fd, VIDIOC_STREAMOFF, &type);
    for (uint32_t i = 0; i < c->nbuf; i++)
        if (c->buf[i].map) munmap(c->buf[i].map, c->buf[i].len);
    memset(c->buf, 0, sizeof c->buf);
    c->nbuf = 0;
    close(c->fd);
    c->fd = -1;
}

/* Sets YUYV (else MJPEG) at `want_w` x `want_h` (0: the current size). */
static sky_status camera_format(pics_camera *c, uint32_t want_w, uint32_t want_h, char *error,
                                size_t error_len) {
    struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (camera_ioctl(c->fd, VIDIOC_G_FMT, &fmt) < 0) {
        pics_error(error, error_len, "cannot read its format (%s)", strerror(errno));
        return SKY_ERR_IO;
    }
    static const uint32_t formats[] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG};
    for (size_t k = 0; k < 2; k++) {
        struct v4l2_format f = fmt;
        if (want_w) {
            f.fmt.pix.width = want_w;
            f.fmt.pix.height = want_h;
        }
        f.fmt.pix.pixelformat = formats[k];
        f.fmt.pix.field = V4L2_FIELD_NONE;
        if (camera_ioctl(c->fd, VIDIOC_S_FMT, &f) < 0 || f.fmt.pix.pixelformat != formats[k])
            continue;
        if (f.fmt.pix.width == 0 || f.fmt.pix.height == 0 || f.fmt.pix.width % 2 ||
            f.fmt.pix.width > SKY_PICTURE_MAX_SIDE || f.fmt.pix.height > SKY_PICTURE_MAX_SIDE ||
            (want_w && (f.fmt.pix.width != want_w || f.fmt.pix.height != want_h)))
            continue;
        c->width = f.fmt.pix.width;
        c->height = f.fmt.pix.height;
        c->pixfmt = formats[k];
        c->stride = f.fmt.pix.bytesperline ? f.fmt.pix.bytesperline : c->width * 2;
        return SKY_OK;
    }
    pics_error(error, error_len, "it offers neither YUYV nor MJPEG%s",
               want_w ? " at the size it had" : "");
    return SKY_ERR_FORMAT;
}

/* The bytes a YUYV frame needs in its buffer: every row but the last at the stride. */
static size_t camera_yuyv_bytes(const pics_camera *c) {
    return (size_t)c->stride * (c->height - 1) + (size_t)c->width * 2;
}

/* Asks for buffers, maps and queues every one granted, starts streaming; each failure
 * names its step (the caller closes the device, unmapping what was mapped). */
static sky_status camera_start(pics_camera *c, char *error, size_t error_len) {
    struct v4l2_requestbuffers req = {
        .count = CAMERA_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (camera_ioctl(c->fd, VIDIOC_REQBUFS, &req) < 0) {
        pics_error(error, error_len, "VIDIOC_REQBUFS for %u mmap capture buffers failed (%s)",
                   CAMERA_BUFFERS, strerror(errno));
        return SKY_ERR_IO;
    }
    if (req.count == 0) {
        pics_error(error, error_len,
                   "VIDIOC_REQBUFS granted no mmap capture buffers (%u asked for)", CAMERA_BUFFERS);
        return SKY_ERR_IO;
    }
    c->nbuf = req.count < VIDEO_MAX_FRAME ? req.count : VIDEO_MAX_FRAME;
    for (uint32_t i = 0; i < c->nbuf; i++) {
        struct v4l2_buffer b = {
            .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i};
        if (camera_ioctl(c->fd, VIDIOC_QUERYBUF, &b) < 0) {
            pics_error(error, error_len, "VIDIOC_QUERYBUF of buffer %u of %u failed (%s)", i,
                       c->nbuf, strerror(errno));
            return SKY_ERR_IO;
        }
        /* A buffer too small for a whole frame would have every frame dropped: say so now. */
        if (b.length == 0) {
            pics_error(error, error_len, "VIDIOC_QUERYBUF gave buffer %u a length of 0", i);
            return SKY_ERR_FORMAT;
        }
        if (c->pixfmt == V4L2_PIX_FMT_YUYV && b.length < camera_yuyv_bytes(c)) {
            pics_error(error, error_len,
                       "buffer %u is %u bytes, too small for a %u x %u YUYV frame (%zu bytes)", i,
                       b.length, c->width, c->height, camera_yuyv_bytes(c));
            return SKY_ERR_FORMAT;
        }
        void *m = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
        if (m == MAP_FAILED) {
            pics_error(error, error_len, "mmap of buffer %u (%u bytes) failed (%s)", i, b.length,
                       strerror(errno));
            return SKY_ERR_IO;
        }
        c->buf[i] = (camera_buffer){m, b.length};
        if (camera_ioctl(c->fd, VIDIOC_QBUF, &b) < 0) {
            pics_error(error, error_len, "VIDIOC_QBUF of buffer %u failed (%s)", i,
                       strerror(errno));
            return SKY_ERR_IO;
        }
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (camera_ioctl(c->fd, VIDIOC_STREAMON, &type) < 0) {
        pics_error(error, error_len, "VIDIOC_STREAMON failed (%s)", strerror(errno));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

/* Opens the device and starts streaming at want_w x want_h (0: its current size). */
static sky_status camera_open_device(pics_camera *c, uint32_t want_w, uint32_t want_h, char *error,
                                     size_t error_len) {
    c->fd = open(c->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (c->fd < 0) {
        pics_error(error, error_len, "%s", strerror(errno));
        return SKY_ERR_IO;
    }
    struct v4l2_capability cap;
    sky_status st = SKY_OK;
    if (camera_ioctl(c->fd, VIDIOC_QUERYCAP, &cap) < 0) {
        pics_error(error, error_len, "not a V4L2 device (%s)", strerror(errno));
        st = SKY_ERR_FORMAT;
    } else {
        uint32_t caps =
            cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
        if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
            pics_error(error, error_len, "not a V4L2 capture device with streaming");
            st = SKY_ERR_FORMAT;
        }
    }
    if (st == SKY_OK) st = camera_format(c, want_w, want_h, error, error_len);
    if (st == SKY_OK) st = camera_start(c, error, error_len);
    if (st != SKY_OK) camera_close_device(c);
    return st;
}

/*
 * One captured buffer (`used` bytes of it, already clamped to the buffer) into the back
 * block; false when it could not be used (a short YUYV frame, a damaged or resized JPEG).
 * YUYV time counts as conversion, MJPEG as decoding (libjpeg converts while it decodes).
 */
static bool camera_convert(pics_camera *c, const uint8_t *data, size_t used, uint32_t *back) {
    uint64_t t0 = pics_now_ns();
    bool ok = false;
    uint8_t *jpeg_rgb = NULL;
    const uint8_t *rgb = c->rgb;
    if (c->pixfmt == V4L2_PIX_FMT_YUYV) {
        if (used >= camera_yuyv_bytes(c)) {
            pics_yuyv_to_rgb(data, c->stride, c->width, c->height, c->rgb);
            ok = true;
        }
    } else {
        uint32_t w, h;
        ok = sky_image_decode(data, used, &jpeg_rgb, &w, &h, NULL, 0) == SKY_OK && w == c->width &&
             h == c->height;
        rgb = jpeg_rgb; /* the mip levels read libjpeg's pixels: no copy */
    }
    uint64_t t1 = pics_now_ns();
    ok = ok &&
         sky_picture_block_put(back, 0, rgb, (size_t)c->width * 3, c->width, c->height) == SKY_OK;
    free(jpeg_rgb);
    pthread_mutex_lock(&c->lock);
    if (c->pixfmt == V4L2_PIX_FMT_YUYV)
        c->convert_ns += t1 - t0;
    else
        c->decode_ns += t1 - t0;
    c->mip_ns += pics_now_ns() - t1;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* Waits for and takes one frame: 1 done, 0 nothing yet, -1 the device failed. */
static int camera_capture(pics_camera *c) {
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pfd, 1, CAMERA_POLL_MS);
    if (r == 0 || (r < 0 && errno == EINTR)) return 0;
    if (r < 0 || (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) return -1;
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (camera_ioctl(c->fd, VIDIOC_DQBUF, &b) < 0) return errno == EAGAIN ? 0 : -1;
    if (b.index >= c->nbuf) return -1; /* not a buffer of ours: nothing to requeue */
    int back = c->front == 0 ? 1 : 0;
    /* bytesused comes from the driver: never read past the mapping (a larger value made
     * libjpeg read beyond it). */
    size_t used = b.bytesused < c->buf[b.index].len ? b.bytesused : c->buf[b.index].len;
    bool ok = !(b.flags & V4L2_BUF_FLAG_ERROR) &&
              camera_convert(c, c->buf[b.index].map, used, c->one[back]);
    /* Counted before the buffer goes back, so a frame the driver has again is in the
     * counts (the emulated device of test_camera_stream relies on it). */
    pthread_mutex_lock(&c->lock);
    if (ok) {
        c->front = back;
        c->gone = false;
        c->seq++;
        c->frames++;
    } else {
        c->damaged++;
    }
    pthread_mutex_unlock(&c->lock);
    return camera_ioctl(c->fd, VIDIOC_QBUF, &b) < 0 ? -1 : 1;
}

static bool camera_stopping(pics_camera *c) {
    pthread_mutex_lock(&c->lock);
    bool stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static void camera_sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* CAMERA_RETRY_MS, in steps of CAMERA_POLL_MS so that a stop is seen. */
static void camera_wait_retry(pics_camera *c) {
    for (unsigned waited = 0; waited < CAMERA_RETRY_MS && !camera_stopping(c);
         waited += CAMERA_POLL_MS)
        camera_sleep_ms(CAMERA_POLL_MS);
}

static void *camera_thread(void *arg) {
    pics_camera *c = arg;
    while (!camera_stopping(c)) {
        if (c->fd < 0) {
            if (camera_open_device(c, c->width, c->height, NULL, 0) != SKY_OK) camera_wait_retry(c);
            continue;
        }
        if (camera_capture(c) < 0) {
            camera_close_device(c);
            pthread_mutex_lock(&c->lock);
            c->lost++;
            if (!c->gone) { /* black once, not once per failed attempt */
                c->gone = true;
                c->seq++;
            }
            pthread_mutex_unlock(&c->lock);
            /* Also after a device that opened and failed at once (a broken one, still
             * plugged in): without this wait it was reopened in a tight loop. */
            camera_wait_retry(c);
        }
    }
    return NULL;
}

void pics_camera_free(pics_camera *c) {
    if (!c) return;
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL); /* within CAMERA_POLL_MS */
    }
    camera_close_device(c);
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c->rgb);
    free(c->one[0]);
    free(c->one[1]);
    free(c);
}

sky_status pics_camera_open(const char *path, pics_camera **out, uint32_t *width, uint32_t *height,
                            double footprint, char *error, size_t error_len) {
    *out = NULL;
    pics_camera *c = calloc(1, sizeof *c);
    if (!c) return SKY_ERR_NOMEM;
    c->fd = -1;
    c->front = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->path = strdup(path);
    sky_status st = c->path ? camera_open_device(c, 0, 0, error, error_len) : SKY_ERR_NOMEM;
    if (st == SKY_OK) {
        c->one_words = sky_picture_block_words(1, &c->width, &c->height, footprint);
        c->rgb = malloc((size_t)c->width * c->height * 3);
        for (int k = 0; k < 2 && st == SKY_OK; k++) {
            c->one[k] = c->one_words ? malloc(c->one_words * sizeof *c->one[k]) : NULL;
            if (!c->one[k] || !c->rgb ||
                sky_picture_block_init(c->one[k], c->one_words, 1, &c->width, &c->height,
                                       footprint) != SKY_OK)
                st = SKY_ERR_NOMEM;
        }
    }
    if (st == SKY_OK) {
        if (pthread_create(&c->thread, NULL, camera_thread, c) != 0)
            st = SKY_ERR_NOMEM;
        else
            c->started = true;
    }
    if (st != SKY_OK) {
        if (st == SKY_ERR_NOMEM) pics_error(error, error_len, "out of memory");
        pics_camera_free(c);
        return st;
    }
    *width = c->width;
    *height = c->height;
    *out = c;
    return SKY_OK;
}

int pics_camera_frame(pics_camera *c, uint32_t *block, uint32_t index) {
    int result = 0;
    pthread_mutex_lock(&c->lock);
    if (c->seq != c->seq_taken) {
        c->seq_taken = c->seq;
        if (c->gone) {
            sky_picture_block_clear(block, index);
            result = -1;
        } else if (c->front >= 0) {
            pics_copy_entry(block, index, c->one[c->front]);
            result = 1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return result;
}

void pics_camera_stats(const pics_camera *c, sky_pictures_stats *stats) {
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    stats->camera_frames += c->frames;
    stats->camera_lost += c->lost;
    stats->camera_damaged += c->damaged;
    stats->decode_ns += c->decode_ns;
    stats->convert_ns += c->convert_ns;
    stats->mip_ns += c->mip_ns;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}

/*
 * test_camera_stream.c - camera("/dev/...") end to end (pictures/camera.c) against a
 * V4L2 capture device emulated in this file: no camera, /dev/video*, v4l2loopback or
 * vivid exists on the test machines. The test is linked with
 * -Wl,--wrap=open,open64,ioctl,mmap,mmap64,munmap,poll,close (tests/pictures/CMakeLists.txt;
 * camera.c.o references open, ioctl, mmap, munmap, poll and close; built with
 * _FILE_OFFSET_BITS=64 and _FORTIFY_SOURCE=3, open64 and mmap64; the fortified __open_2,
 * __open64_2 and __poll_chk are wrapped too should a compiler choose them), so the calls
 * libskypictures makes on the path VDEV_PATH reach the emulation below (QUERYCAP, G_FMT, S_FMT,
 * REQBUFS, QUERYBUF, mmap, QBUF, DQBUF, STREAMON/OFF, poll), and every other call goes to the C
 * library (__real_open, ...). The emulated buffers are followed by a PROT_NONE page: a read past a
 * buffer faults, as it would past a real driver's mapping.
 *
 * Checked: YUYV and MJPEG frames reach the picture and sample (CPU evaluator) within
 * 2/255 of a reference conversion written here (float BT.601; libjpeg for MJPEG); the
 * time statistics; buffers as granted (1, 2, 8, 40 > VIDEO_MAX_FRAME); unplug (DQBUF
 * ENODEV, poll POLLERR) -> black, reopened when it comes back (at the same size only);
 * a device broken while plugged in (DQBUF EIO) -> black once, retried once a second;
 * a device's wrong answers at start (no buffers, QUERYBUF, mmap, QBUF, STREAMON
 * failing, buffers too small) -> an error naming the step; wrong frames mid-stream
 * (bytesused beyond the buffer, truncated, junk or resized MJPEG, short YUYV, the error
 * flag) -> dropped, the show goes on. `test_camera_stream gpu` (ctest
 * test_camera_stream_gpu, label "gpu") samples a camera frame on the Vulkan runtime
 * (lavapipe) and the CPU backend against the evaluator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#include "sky/layout.h"
#include "sky/picture.h"
#include "sky/pictures.h"
#include "sky/runtime.h"
#include "sky/sky.h"
#include "test_leds.h"

#define VDEV_PATH     "/dev/sky-test-video"
#define VDEV_FRAME_NS 20000000ull /* the emulated camera runs at 50 fps */
#define VDEV_OFFSET   0x1000000u  /* QUERYBUF's m.offset of buffer i: i times this */
#define CAM_TOLERANCE 2           /* bytes per channel against the reference: 2/255 */
#define CAM_WAIT_S    300.0       /* safety net for the camera thread, never an expected duration */
#define CAM_YUYV_PAD  32          /* bytes of padding at the end of each emulated YUYV row */

/* ------------------------------------------------- the emulated device */

int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __real_close(int fd);
int __real___open_2(const char *path, int flags);
int __real___open64_2(const char *path, int flags);
int __real___poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);

typedef struct vdev_buffer {
    uint8_t *mem;  /* length bytes, then a PROT_NONE guard page */
    size_t length; /* what QUERYBUF reports (a multiple of the page size) */
    size_t alloc;  /* length + the guard page */
    int mapped;
    bool queued, filled, bad, orphan;
} vdev_buffer;

/* What a test sets (under `lock`); the device reads it at each call. */
typedef struct vdev_config {
    bool present;        /* plugged in: open finds it */
    bool unplug_pollerr; /* unplugged: poll says POLLERR (else POLLIN, and DQBUF says ENODEV) */
    bool no_streaming;   /* QUERYCAP without V4L2_CAP_STREAMING */
    uint32_t formats;    /* 1: YUYV, 2: MJPEG, 4: RGB24 */
    uint32_t width, height;
    int grant;            /* buffers REQBUFS grants; -1: as many as asked */
    int reqbufs_errno;    /* REQBUFS fails with this */
    int querybuf_fail;    /* QUERYBUF of this index fails (-1: none) */
    int mmap_fail;        /* mmap of this index fails */
    int qbuf_fail;        /* QBUF of this index fails */
    int streamon_errno;   /* STREAMON fails with this */
    int dqbuf_errno;      /* DQBUF fails with this (a device broken while plugged in) */
    size_t length;        /* QUERYBUF's length (0: sizeimage rounded up to pages) */
    uint8_t scene[3][3];  /* YUYV frames: top quarter, left, right, as Y, U, V */
    const uint8_t *mjpeg; /* MJPEG frames: these bytes (the rest of the buffer zeros) */
    size_t mjpeg_len;
    long long bytesused; /* reported instead of the frame's size (-1: the size) */
    bool flag_error;     /* frames carry V4L2_BUF_FLAG_ERROR */
    bool bad;            /* frames are ones the camera must drop (counted apart) */
} vdev_config;

typedef struct vdev_state {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* config changed: poll looks again */
    vdev_config cfg;
    int fd; /* the open handle (a real fd of /dev/null, so the number is unique), or -1 */
    uint32_t pixfmt;
    bool streaming;
    vdev_buffer buf[64];
    uint32_t nbuf;
    uint32_t queue[64], qhead, qlen; /* queued buffer indices, in QBUF order */
    uint64_t next_frame_ns;
    uint32_t sequence;
    /* counts */
    uint64_t opens, failed_opens, closes, good_requeued, bad_requeued, unknown_ioctls;
    unsigned long last_unknown;
    uint32_t queued_at_streamon, mapped_at_streamon;
    int maps_live;
} vdev_state;

static vdev_state vdev = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static uint64_t vdev_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t vdev_page(void) {
    return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t vdev_bytesperline(uint32_t fmt, uint32_t width) {
    return fmt == V4L2_PIX_FMT_YUYV    ? (size_t)width * 2 + CAM_YUYV_PAD
           : fmt == V4L2_PIX_FMT_RGB24 ? (size_t)width * 3
                                       : 0;
}

static size_t vdev_sizeimage(uint32_t fmt, uint32_t width, uint32_t height) {
    /* MJPEG: the worst case a UVC camera announces, 2 bytes a pixel */
    return fmt == V4L2_PIX_FMT_MJPEG ? (size_t)width * height * 2
                                     : vdev_bytesperline(fmt, width) * height;
}

/* The format S_FMT settles on: the one asked for when offered, else the first offered. */
static uint32_t vdev_pick_format(uint32_t want) {
    static const uint32_t all[] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_RGB24};
    for (int k = 0; k < 3; k++)
        if ((vdev.cfg.formats & (1u << k)) && all[k] == want) return want;
    for (int k = 0; k < 3; k++)
        if (vdev.cfg.formats & (1u << k)) return all[k];
    return V4L2_PIX_FMT_YUYV;
}

static void vdev_fill_pix(struct v4l2_pix_format *pix) {
    memset(pix, 0, sizeof *pix);
    pix->width = vdev.cfg.width;
    pix->height = vdev.cfg.height;
    pix->pixelformat = vdev.pixfmt;
    pix->field = V4L2_FIELD_NONE;
    pix->bytesperline = (uint32_t)vdev_bytesperline(vdev.pixfmt, vdev.cfg.width);
    pix->sizeimage = (uint32_t)vdev_sizeimage(vdev.pixfmt, vdev.cfg.width, vdev.cfg.height);
    pix->colorspace = V4L2_COLORSPACE_SRGB;
}

static void vdev_free_buffer(vdev_buffer *b) {
    if (b->mem) __real_munmap(b->mem, b->alloc);
    memset(b, 0, sizeof *b);
}

/* Drops the buffer set; buffers still mapped live on (orphans) until their munmap. */
static void vdev_release_buffers(void) {
    for (uint32_t i = 0; i < vdev.nbuf; i++) {
        if (vdev.buf[i].mapped)
            vdev.buf[i].orphan = true;
        else
            vdev_free_buffer(&vdev.buf[i]);
    }
    vdev.nbuf = 0;
    vdev.qlen = 0;
}

static int vdev_reqbufs(struct v4l2_requestbuffers *r) {
    if (r->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || r->memory != V4L2_MEMORY_MMAP) return EINVAL;
    if (vdev.streaming) return EBUSY;
    if (vdev.cfg.reqbufs_errno) return vdev.cfg.reqbufs_errno;
    for (uint32_t i = 0; i < vdev.nbuf; i++)
        if (vdev.buf[i].mapped) return EBUSY; /* as videobuf2 */
    vdev_release_buffers();
    for (uint32_t i = 0; i < 64; i++)
        if (vdev.buf[i].orphan) return EBUSY;
    uint32_t n = vdev.cfg.grant >= 0 ? (uint32_t)vdev.cfg.grant : r->count;
    if (r->count == 0) n = 0;
    if (n > 64) n = 64;
    size_t page = vdev_page();
    size_t len = vdev.cfg.length
                     ? vdev.cfg.length
                     : (vdev_sizeimage(vdev.pixfmt, vdev.cfg.width, vdev.cfg.height) + page - 1) /
                           page * page;
    for (uint32_t i = 0; i < n; i++) {
        vdev_buffer *b = &vdev.buf[i];
        b->length = len;
        b->alloc = len + page;
        b->mem =
            __real_mmap(NULL, b->alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b->mem == MAP_FAILED) {
            b->mem = NULL;
            vdev.nbuf = i + 1;
            vdev_release_buffers();
            return ENOMEM;
        }
        if (mprotect(b->mem + len, page, PROT_NONE) != 0) {
            vdev.nbuf = i + 1;
            vdev_release_buffers();
            return ENOMEM;
        }
    }
    vdev.nbuf = n;
    r->count = n;
    r->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
    return 0;
}

static void vdev_describe(uint32_t i, struct v4l2_buffer *b) {
    b->index = i;
    b->length = (uint32_t)vdev.buf[i].length;
    b->m.offset = i * VDEV_OFFSET;
    b->flags = vdev.buf[i].queued ? V4L2_BUF_FLAG_QUEUED : 0;
}

static int vdev_qbuf(struct v4l2_buffer *b) {
    if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP ||
        b->index >= vdev.nbuf || vdev.buf[b->index].queued)
        return EINVAL;
    if ((int)b->index == vdev.cfg.qbuf_fail) return EIO;
    vdev_buffer *vb = &vdev.buf[b->index];
    /* The camera is done with a frame when it queues the buffer again: counted good or bad. */
    if (vb->filled) {
        if (vb->bad)
            vdev.bad_requeued++;
        else
            vdev.good_requeued++;
        vb->filled = false;
    }
    vb->queued = true;
    vdev.queue[(vdev.qhead + vdev.qlen++) % 64] = b->index;
    vdev_describe(b->index, b);
    return 0;
}

/* Fills buffer i with the frame the config describes; returns its bytesused. */
static size_t vdev_fill(vdev_buffer *vb) {
    size_t used;
    if (vdev.pixfmt == V4L2_PIX_FMT_YUYV) {
        uint32_t w = vdev.cfg.width, h = vdev.cfg.height;
        size_t bpl = vdev_bytesperline(V4L2_PIX_FMT_YUYV, w);
        used = bpl * h;
        for (uint32_t y = 0; y < h && (size_t)(y + 1) * bpl <= vb->length; y++) {
            uint8_t *row = vb->mem + (size_t)y * bpl;
            for (uint32_t x = 0; x < w; x += 2) {
                const uint8_t *c = vdev.cfg.scene[y < h / 4 ? 0 : x < w / 2 ? 1 : 2];
                uint8_t *p = row + 2 * (size_t)x;
                p[0] = c[0];
                p[1] = c[1];
                p[2] = c[0];
                p[3] = c[2];
            }
            memset(row + 2 * (size_t)w, 0xEE, CAM_YUYV_PAD); /* not pixels */
        }
    } else {
        used = vdev.cfg.mjpeg_len < vb->length ? vdev.cfg.mjpeg_len : vb->length;
        if (vdev.cfg.mjpeg) memcpy(vb->mem, vdev.cfg.mjpeg, used);
        memset(vb->mem + used, 0, vb->length - used);
    }
    if (used > vb->length) used = vb->length;
    return vdev.cfg.bytesused >= 0 ? (size_t)vdev.cfg.bytesused : used;
}

static bool vdev_frame_ready(void) {
    return vdev.streaming && vdev.qlen > 0 && vdev_now_ns() >= vdev.next_frame_ns;
}

static int vdev_dqbuf(struct v4l2_buffer *b) {
    if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return EINVAL;
    if (!vdev.streaming) return EINVAL;
    if (!vdev_frame_ready()) return EAGAIN;
    if (vdev.cfg.dqbuf_errno) return vdev.cfg.dqbuf_errno;
    uint32_t i = vdev.queue[vdev.qhead];
    vdev.qhead = (vdev.qhead + 1) % 64;
    vdev.qlen--;
    vdev_buffer *vb = &vdev.buf[i];
    vb->queued = false;
    vb->filled = true;
    vb->bad = vdev.cfg.bad;
    memset(b, 0, sizeof *b);
    b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b->memory = V4L2_MEMORY_MMAP;
    vdev_describe(i, b);
    size_t used = vdev_fill(vb);
    b->bytesused = (uint32_t)used;
    b->flags |= V4L2_BUF_FLAG_DONE | (vdev.cfg.flag_error ? V4L2_BUF_FLAG_ERROR : 0);
    b->field = V4L2_FIELD_NONE;
    b->sequence = vdev.sequence++;
    uint64_t now = vdev_now_ns();
    vdev.next_frame_ns = now + VDEV_FRAME_NS;
    return 0;
}

static int vdev_ioctl_locked(unsigned long req, void *arg) {
    if (!vdev.cfg.present) return ENODEV; /* as the V4L2 core after a disconnect */
    switch (req) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *cap = arg;
        memset(cap, 0, sizeof *cap);
        snprintf((char *)cap->driver, sizeof cap->driver, "sky-test");
        snprintf((char *)cap->card, sizeof cap->card, "emulated camera");
        cap->device_caps =
            V4L2_CAP_VIDEO_CAPTURE | (vdev.cfg.no_streaming ? 0 : V4L2_CAP_STREAMING);
        cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT: {
        struct v4l2_format *f = arg;
        if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
        if (req == VIDIOC_S_FMT) {
            if (vdev.nbuf) return EBUSY;
            vdev.pixfmt = vdev_pick_format(f->fmt.pix.pixelformat);
        }
        vdev_fill_pix(&f->fmt.pix); /* one size per device: any other asked for is adjusted */
        return 0;
    }
    case VIDIOC_REQBUFS:
        return vdev_reqbufs(arg);
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= vdev.nbuf) return EINVAL;
        if ((int)b->index == vdev.cfg.querybuf_fail) return EIO;
        vdev_describe(b->index, b);
        return 0;
    }
    case VIDIOC_QBUF:
        return vdev_qbuf(arg);
    case VIDIOC_DQBUF:
        return vdev_dqbuf(arg);
    case VIDIOC_STREAMON:
    case VIDIOC_STREAMOFF: {
        if (*(const int *)arg != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
        if (req == VIDIOC_STREAMOFF) {
            vdev.streaming = false;
            for (uint32_t i = 0; i < vdev.nbuf; i++) vdev.buf[i].queued = false;
            vdev.qlen = 0;
            return 0;
        }
        if (vdev.nbuf == 0) return EINVAL;
        if (vdev.cfg.streamon_errno) return vdev.cfg.streamon_errno;
        vdev.streaming = true;
        vdev.queued_at_streamon = vdev.qlen;
        vdev.mapped_at_streamon = 0;
        for (uint32_t i = 0; i < vdev.nbuf; i++) vdev.mapped_at_streamon += vdev.buf[i].mapped > 0;
        vdev.next_frame_ns = vdev_now_ns();
        return 0;
    }
    default:
        vdev.unknown_ioctls++;
        vdev.last_unknown = req;
        return ENOTTY;
    }
}

static bool vdev_is(int fd) {
    pthread_mutex_lock(&vdev.lock);
    bool is = fd >= 0 && fd == vdev.fd;
    pthread_mutex_unlock(&vdev.lock);
    return is;
}

static int vdev_open(const char *path) {
    if (strcmp(path, VDEV_PATH) != 0) return -2;
    pthread_mutex_lock(&vdev.lock);
    int r = -1, err = 0;
    if (!vdev.cfg.present) {
        err = ENOENT; /* the node goes with the device */
        vdev.failed_opens++;
    } else if (vdev.fd >= 0) {
        err = EBUSY;
    } else {
        r = __real_open("/dev/null", O_RDWR | O_CLOEXEC);
        if (r < 0) {
            err = errno;
        } else {
            vdev.fd = r;
            vdev.opens++;
            vdev.streaming = false;
            vdev.pixfmt = vdev_pick_format(V4L2_PIX_FMT_YUYV);
        }
    }
    pthread_mutex_unlock(&vdev.lock);
    errno = err;
    return r;
}

int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    int r = vdev_open(path);
    return r != -2 ? r : __real_open(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    int r = vdev_open(path);
    return r != -2 ? r : __real_open64(path, flags, mode);
}

/* The names _FORTIFY_SOURCE may give open and poll (none in today's builds: nm). */
int __wrap___open_2(const char *path, int flags);
int __wrap___open_2(const char *path, int flags) {
    int r = vdev_open(path);
    return r != -2 ? r : __real___open_2(path, flags);
}

int __wrap___open64_2(const char *path, int flags);
int __wrap___open64_2(const char *path, int flags) {
    int r = vdev_open(path);
    return r != -2 ? r : __real___open64_2(path, flags);
}

int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...) {
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (!vdev_is(fd)) return __real_ioctl(fd, req, arg);
    pthread_mutex_lock(&vdev.lock);
    int err = fd == vdev.fd ? vdev_ioctl_locked(req, arg) : EBADF;
    pthread_mutex_unlock(&vdev.lock);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

static void *vdev_mmap(size_t len, int fd, off_t off, bool *handled) {
    *handled = vdev_is(fd);
    if (!*handled) return NULL;
    pthread_mutex_lock(&vdev.lock);
    void *r = MAP_FAILED;
    int err = EINVAL;
    uint32_t i = (uint32_t)(off / VDEV_OFFSET);
    if (!vdev.cfg.present) {
        err = ENODEV;
    } else if (off % VDEV_OFFSET == 0 && i < vdev.nbuf && len > 0 && len <= vdev.buf[i].length) {
        if ((int)i == vdev.cfg.mmap_fail) {
            err = ENOMEM;
        } else {
            vdev.buf[i].mapped++;
            vdev.maps_live++;
            r = vdev.buf[i].mem;
        }
    }
    pthread_mutex_unlock(&vdev.lock);
    if (r == MAP_FAILED) errno = err;
    return r;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    bool handled;
    void *r = vdev_mmap(len, fd, off, &handled);
    return handled ? r : __real_mmap(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    bool handled;
    void *r = vdev_mmap(len, fd, off, &handled);
    return handled ? r : __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len) {
    pthread_mutex_lock(&vdev.lock);
    for (uint32_t i = 0; i < 64; i++) {
        vdev_buffer *b = &vdev.buf[i];
        if (b->mem && (void *)b->mem == addr && b->mapped > 0) {
            b->mapped--;
            vdev.maps_live--;
            if (b->orphan && b->mapped == 0) vdev_free_buffer(b);
            pthread_mutex_unlock(&vdev.lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&vdev.lock);
    return __real_munmap(addr, len);
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout) {
    if (n != 1 || !vdev_is(fds[0].fd)) return __real_poll(fds, n, timeout);
    uint64_t deadline = timeout < 0 ? UINT64_MAX : vdev_now_ns() + (uint64_t)timeout * 1000000u;
    pthread_mutex_lock(&vdev.lock);
    short rev = 0;
    for (;;) {
        if (!vdev.cfg.present) {
            rev = vdev.cfg.unplug_pollerr ? POLLERR : POLLIN | POLLRDNORM;
            break;
        }
        if (!vdev.streaming) { /* videobuf2: nothing can come */
            rev = POLLERR;
            break;
        }
        if (vdev_frame_ready()) {
            rev = POLLIN | POLLRDNORM;
            break;
        }
        uint64_t now = vdev_now_ns();
        if (now >= deadline) break;
        uint64_t until = vdev.qlen && vdev.next_frame_ns < deadline ? vdev.next_frame_ns : deadline;
        if (until == UINT64_MAX) until = now + 1000000000ull;
        struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
        pthread_cond_timedwait(&vdev.cond, &vdev.lock, &ts);
    }
    pthread_mutex_unlock(&vdev.lock);
    fds[0].revents = rev & (short)(fds[0].events | POLLERR | POLLHUP | POLLNVAL);
    return fds[0].revents ? 1 : 0;
}

int __wrap___poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __wrap___poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
    if (n != 1 || !vdev_is(fds[0].fd)) return __real___poll_chk(fds, n, timeout, fdslen);
    return __wrap_poll(fds, n, timeout);
}

int __wrap_close(int fd);
int __wrap_close(int fd) {
    pthread_mutex_lock(&vdev.lock);
    if (fd >= 0 && fd == vdev.fd) {
        vdev.streaming = false;
        vdev_release_buffers();
        vdev.fd = -1;
        vdev.closes++;
    }
    pthread_mutex_unlock(&vdev.lock);
    return __real_close(fd);
}

/* The default device: plugged in, YUYV and MJPEG, 160 x 120, buffers as asked. */
static void vdev_reset(void) {
    pthread_mutex_lock(&vdev.lock);
    vdev.cfg = (vdev_config){.present = true,
                             .formats = 3,
                             .width = 160,
                             .height = 120,
                             .grant = -1,
                             .querybuf_fail = -1,
                             .mmap_fail = -1,
                             .qbuf_fail = -1,
                             .bytesused = -1};
    vdev.opens = vdev.failed_opens = vdev.closes = 0;
    vdev.good_requeued = vdev.bad_requeued = vdev.unknown_ioctls = 0;
    vdev.queued_at_streamon = vdev.mapped_at_streamon = 0;
    pthread_mutex_unlock(&vdev.lock);
}

/* Runs `stmt` (a config change) under the lock and wakes poll. */
#define VDEV_SET(stmt)                      \
    do {                                    \
        pthread_mutex_lock(&vdev.lock);     \
        stmt;                               \
        pthread_cond_broadcast(&vdev.cond); \
        pthread_mutex_unlock(&vdev.lock);   \
    } while (0)

/* A counter of the device, read under its lock (a failed assertion longjmps: never
 * assert while holding it). */
#define VDEV_GET(field)                         \
    __extension__({                             \
        pthread_mutex_lock(&vdev.lock);         \
        __typeof__(vdev.field) v_ = vdev.field; \
        pthread_mutex_unlock(&vdev.lock);       \
        v_;                                     \
    })

/* After a test: nothing of the device is left open or mapped, every ioctl was known. */
static void vdev_check_released(void) {
    pthread_mutex_lock(&vdev.lock);
    int fd = vdev.fd, maps = vdev.maps_live;
    uint64_t unknown = vdev.unknown_ioctls;
    unsigned long last = vdev.last_unknown;
    pthread_mutex_unlock(&vdev.lock);
    if (fd >= 0) fail_msg("the device is still open (fd %d)", fd);
    if (maps) fail_msg("%d buffer mappings left", maps);
    if (unknown)
        fail_msg("%llu ioctls the emulation does not know (last 0x%lx)",
                 (unsigned long long)unknown, last);
}

/* ------------------------------------------------------ frames and references */

/* BT.601 limited-range colours as Y, U, V, and what they are in RGB. */
static const uint8_t YUV_RED[3] = {81, 90, 240}, YUV_GREEN[3] = {145, 54, 34},
                     YUV_BLUE[3] = {41, 240, 110}, YUV_WHITE[3] = {235, 128, 128},
                     YUV_YELLOW[3] = {210, 16, 146}, YUV_CYAN[3] = {170, 166, 16},
                     YUV_MAGENTA[3] = {106, 202, 222}, YUV_GREY[3] = {126, 128, 128};

/* The reference conversion, in floating point (the camera's is in integers). */
static void ref_yuv_to_rgb(const uint8_t yuv[3], uint8_t rgb[3]) {
    double c = 1.164383 * (yuv[0] - 16), d = yuv[1] - 128.0, e = yuv[2] - 128.0;
    double v[3] = {c + 1.596027 * e, c - 0.391762 * d - 0.812968 * e, c + 2.017232 * d};
    for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)(v[k] < 0 ? 0 : v[k] > 255 ? 255 : v[k] + 0.5);
}

/* Top quarter, left half, right half: the layout of every emulated frame. */
static uint8_t *ref_scene_rgb(const uint8_t rgb3[3][3], uint32_t w, uint32_t h) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    assert_non_null(rgb);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memcpy(rgb + ((size_t)y * w + x) * 3, rgb3[y < h / 4 ? 0 : x < w / 2 ? 1 : 2], 3);
    return rgb;
}

static uint8_t *ref_yuyv_scene(const uint8_t *top, const uint8_t *left, const uint8_t *right,
                               uint32_t w, uint32_t h) {
    uint8_t rgb3[3][3];
    ref_yuv_to_rgb(top, rgb3[0]);
    ref_yuv_to_rgb(left, rgb3[1]);
    ref_yuv_to_rgb(right, rgb3[2]);
    return ref_scene_rgb(rgb3, w, h);
}

static void vdev_set_scene(const uint8_t *top, const uint8_t *left, const uint8_t *right) {
    VDEV_SET({
        memcpy(vdev.cfg.scene[0], top, 3);
        memcpy(vdev.cfg.scene[1], left, 3);
        memcpy(vdev.cfg.scene[2], right, 3);
    });
}

/* An RGB8 picture as a JPEG in memory (libjpeg, quality 92, 4:2:0). */
static void jpeg_encode(const uint8_t *rgb, uint32_t w, uint32_t h, uint8_t **out, size_t *len) {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &mem, &size);
    cinfo.image_width = w;
    cinfo.image_height = h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 92, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * w * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    assert_non_null(mem);
    *out = mem;
    *len = size;
}

/* The reference decoding of a JPEG made here: libjpeg straight, RGB8. */
static uint8_t *jpeg_decode(const uint8_t *data, size_t len, uint32_t w, uint32_t h) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    assert_int_equal(jpeg_read_header(&cinfo, TRUE), JPEG_HEADER_OK);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    assert_int_equal(cinfo.output_width, w);
    assert_int_equal(cinfo.output_height, h);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    assert_non_null(rgb);
    while (cinfo.output_scanline < h) {
        JSAMPROW row = rgb + (size_t)cinfo.output_scanline * w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return rgb;
}

/* ------------------------------------------------------------- the show */

typedef struct cam_show {
    sky_program *program;
    test_leds leds;
    sky_pictures *pics;
    double t;
} cam_show;

static void cam_layout(cam_show *s, const char *spec) {
    char err[256] = "";
    if (test_leds_create(spec, &s->leds, err, sizeof err) != SKY_OK) fail_msg("%s", err);
}

static void cam_compile(cam_show *s) {
    static const char src[] = "input cam = camera(\"" VDEV_PATH "\")\n"
                              "out cam((x + 1) / 2, (1 - y) / 2)\n";
    sky_diagnostics *d = NULL;
    if (sky_compile("cam.sky", src, strlen(src), NULL, &s->program, &d) != SKY_OK)
        fail_msg("the camera pattern does not compile");
    sky_diagnostics_free(d);
    assert_int_equal(sky_program_picture(s->program, 0)->kind, SKY_PICTURE_CAMERA);
}

/* A copy of the show a test opened (the pointers it owns): closed by the teardown when a
 * failed assertion (a longjmp) left it open, so the camera thread stops there. */
static cam_show cam_current;

/* Opens the show; SKY_OK or the error (in err) sky_pictures_open gave. */
static sky_status cam_try_open(cam_show *s, char *err, size_t err_len) {
    memset(s, 0, sizeof *s);
    cam_compile(s);
    cam_layout(s, "grid:24x18");
    sky_status st =
        sky_pictures_open(s->program, NULL, "cam.sky", &s->leds.view, &s->pics, err, err_len);
    cam_current = *s;
    return st;
}

static void cam_open(cam_show *s) {
    char err[512] = "";
    if (cam_try_open(s, err, sizeof err) != SKY_OK) fail_msg("%s", err);
}

static void cam_close(cam_show *s) {
    sky_pictures_free(s->pics);
    test_leds_free(&s->leds);
    sky_program_free(s->program);
    memset(s, 0, sizeof *s);
    memset(&cam_current, 0, sizeof cam_current);
}

static uint8_t *cam_eval(const cam_show *s, const uint32_t *block) {
    uint8_t *bytes = malloc((size_t)s->leds.view.led_count * 3);
    assert_non_null(bytes);
    sky_frame_inputs in = {.t = s->t, .pictures = block};
    assert_int_equal(
        sky_program_eval(s->program, &s->leds.view, s->leds.inputs, &in, NULL, NULL, bytes),
        SKY_OK);
    return bytes;
}

/* What the evaluator shows for a reference RGB8 picture in place of the camera's. */
static uint8_t *cam_eval_reference(const cam_show *s, const uint8_t *rgb, uint32_t w, uint32_t h) {
    double footprint = sky_picture_footprint(&s->leds.view);
    size_t words = sky_picture_block_words(1, &w, &h, footprint);
    uint32_t *block = calloc(words, sizeof *block);
    assert_non_null(block);
    assert_int_equal(sky_picture_block_init(block, words, 1, &w, &h, footprint), SKY_OK);
    assert_int_equal(sky_picture_block_put(block, 0, rgb, (size_t)w * 3, w, h), SKY_OK);
    uint8_t *bytes = cam_eval(s, block);
    free(block);
    return bytes;
}

static double cam_seconds(void) {
    return (double)vdev_now_ns() * 1e-9;
}

/* The first LED and channel further than CAM_TOLERANCE from `want`, or -1. */
static long cam_mismatch(const cam_show *s, const uint8_t *got, const uint8_t *want) {
    for (size_t i = 0; i < (size_t)s->leds.view.led_count * 3; i++)
        if (abs((int)got[i] - (int)want[i]) > CAM_TOLERANCE) return (long)i;
    return -1;
}

/*
 * Updates the show until the evaluator's LEDs match `want` (NULL: black), the camera
 * thread delivering when it gets to it; the safety net is never an expected duration.
 * Returns the LEDs.
 */
static uint8_t *cam_wait_for(cam_show *s, const uint8_t *want, const char *what) {
    uint8_t *black = NULL;
    if (!want) {
        black = calloc((size_t)s->leds.view.led_count * 3, 1);
        assert_non_null(black);
        want = black;
    }
    double start = cam_seconds();
    for (;;) {
        s->t += 0.02;
        sky_pictures_update(s->pics, s->t);
        uint8_t *bytes = cam_eval(s, sky_pictures_block(s->pics));
        long bad = cam_mismatch(s, bytes, want);
        if (bad < 0) {
            free(black);
            return bytes;
        }
        if (cam_seconds() - start > CAM_WAIT_S)
            fail_msg("%s: no such picture in %.0f s (LED %ld channel %ld: %u, want %u)", what,
                     CAM_WAIT_S, bad / 3, bad % 3, bytes[bad], want[bad]);
        free(bytes);
        usleep(2000);
    }
}

/* Waits until the camera has handed back `n` more frames of the kind counted by `field`. */
static void vdev_wait_requeued(const uint64_t *field, uint64_t n, const char *what) {
    pthread_mutex_lock(&vdev.lock);
    uint64_t target = *field + n;
    pthread_mutex_unlock(&vdev.lock);
    double start = cam_seconds();
    for (;;) {
        pthread_mutex_lock(&vdev.lock);
        uint64_t now = *field;
        pthread_mutex_unlock(&vdev.lock);
        if (now >= target) return;
        if (cam_seconds() - start > CAM_WAIT_S)
            fail_msg("%s: the camera stopped taking frames", what);
        usleep(2000);
    }
}

static void cam_stats(const cam_show *s, sky_pictures_stats *st) {
    sky_pictures_get_stats(s->pics, st);
}

/* Waits for the scene (YUYV) now set in the device, checked against the reference. */
static void cam_wait_yuyv_scene(cam_show *s, const uint8_t *top, const uint8_t *left,
                                const uint8_t *right, const char *what) {
    uint8_t *rgb = ref_yuyv_scene(top, left, right, vdev.cfg.width, vdev.cfg.height);
    uint8_t *want = cam_eval_reference(s, rgb, vdev.cfg.width, vdev.cfg.height);
    free(cam_wait_for(s, want, what));
    free(want);
    free(rgb);
}

/* ------------------------------------------------------------- the tests */

static int cam_setup(void **state) {
    (void)state;
    vdev_reset();
    return 0;
}

static int cam_teardown(void **state) {
    (void)state;
    if (cam_current.program) cam_close(&cam_current); /* a test that failed half-way */
    VDEV_SET(vdev.cfg.mjpeg = NULL);                  /* may point into a finished test's memory */
    vdev_check_released();
    return 0;
}

/* The reference conversion itself lands on the BT.601 anchors (it is what the LEDs are
 * compared with, so it must be right on its own). */
static void test_reference_anchors(void **state) {
    (void)state;
    static const struct {
        const uint8_t *yuv;
        uint8_t rgb[3];
    } anchors[] = {{YUV_RED, {255, 0, 0}},       {YUV_GREEN, {0, 255, 0}},
                   {YUV_BLUE, {0, 0, 255}},      {YUV_WHITE, {255, 255, 255}},
                   {YUV_YELLOW, {255, 255, 0}},  {YUV_CYAN, {0, 255, 255}},
                   {YUV_MAGENTA, {255, 0, 255}}, {YUV_GREY, {128, 128, 128}}};
    for (size_t k = 0; k < sizeof anchors / sizeof anchors[0]; k++) {
        uint8_t rgb[3];
        ref_yuv_to_rgb(anchors[k].yuv, rgb);
        for (int c = 0; c < 3; c++)
            if (abs(rgb[c] - anchors[k].rgb[c]) > 2)
                fail_msg("anchor %zu channel %d: %u, want %u", k, c, rgb[c], anchors[k].rgb[c]);
    }
}

/* YUYV frames (rows padded beyond the pixels) reach the picture; a new scene replaces the
 * old; the conversion time is counted as conversion, none as decoding. */
static void test_yuyv_frames(void **state) {
    (void)state;
    vdev_set_scene(YUV_WHITE, YUV_RED, YUV_BLUE);
    cam_show s;
    cam_open(&s);
    sky_pictures_stats at_open;
    cam_stats(&s, &at_open);
    cam_wait_yuyv_scene(&s, YUV_WHITE, YUV_RED, YUV_BLUE, "white, red, blue");
    vdev_set_scene(YUV_YELLOW, YUV_CYAN, YUV_MAGENTA);
    cam_wait_yuyv_scene(&s, YUV_YELLOW, YUV_CYAN, YUV_MAGENTA, "yellow, cyan, magenta");
    sky_pictures_stats st;
    cam_stats(&s, &st);
    assert_true(st.camera_frames >= 2);
    assert_int_equal(st.camera_lost, 0);
    assert_int_equal(st.camera_damaged, 0);
    assert_true(st.convert_ns > 0);
    assert_true(st.mip_ns > 0);
    assert_int_equal(st.decode_ns, at_open.decode_ns); /* YUYV: nothing decoded */
    /* The 4 buffers asked for, each mapped and queued before streaming started. */
    assert_int_equal(VDEV_GET(mapped_at_streamon), 4);
    assert_int_equal(VDEV_GET(queued_at_streamon), 4);
    cam_close(&s);
    assert_int_equal(VDEV_GET(opens), 1);
    assert_int_equal(VDEV_GET(closes), 1);
}

/* An MJPEG-only camera: frames decoded by libjpeg; the time is decoding time. */
static void test_mjpeg_frames(void **state) {
    (void)state;
    static const uint8_t rgb_a[3][3] = {{0, 255, 0}, {255, 0, 0}, {0, 0, 255}};
    static const uint8_t rgb_b[3][3] = {{255, 255, 255}, {40, 80, 160}, {250, 200, 10}};
    const uint32_t w = 320, h = 240;
    uint8_t *jpeg[2];
    size_t len[2];
    uint8_t *want[2];
    cam_show s;
    memset(&s, 0, sizeof s);
    cam_compile(&s);
    cam_layout(&s, "grid:24x18");
    for (int k = 0; k < 2; k++) {
        uint8_t *rgb = ref_scene_rgb(k ? rgb_b : rgb_a, w, h);
        jpeg_encode(rgb, w, h, &jpeg[k], &len[k]);
        free(rgb);
        uint8_t *decoded = jpeg_decode(jpeg[k], len[k], w, h);
        /* The JPEG itself keeps flat regions' colours (lossy, so within 8). */
        const uint8_t *mid = decoded + ((size_t)(h / 2) * w + w / 4) * 3;
        for (int c = 0; c < 3; c++) assert_true(abs(mid[c] - (k ? rgb_b : rgb_a)[1][c]) <= 8);
        want[k] = cam_eval_reference(&s, decoded, w, h);
        free(decoded);
    }
    cam_close(&s);
    VDEV_SET({
        vdev.cfg.formats = 2;
        vdev.cfg.width = w;
        vdev.cfg.height = h;
        vdev.cfg.mjpeg = jpeg[0];
        vdev.cfg.mjpeg_len = len[0];
    });
    cam_open(&s);
    sky_pictures_stats at_open;
    cam_stats(&s, &at_open);
    free(cam_wait_for(&s, want[0], "MJPEG green, red, blue"));
    VDEV_SET({
        vdev.cfg.mjpeg = jpeg[1];
        vdev.cfg.mjpeg_len = len[1];
    });
    free(cam_wait_for(&s, want[1], "MJPEG white, blue-grey, yellow"));
    sky_pictures_stats st;
    cam_stats(&s, &st);
    assert_true(st.camera_frames >= 2);
    assert_true(st.decode_ns > at_open.decode_ns); /* the decoding, counted */
    assert_int_equal(st.convert_ns, 0);
    cam_close(&s);
    VDEV_SET(vdev.cfg.mjpeg = NULL);
    for (int k = 0; k < 2; k++) {
        free(jpeg[k]);
        free(want[k]);
    }
}

/* Every buffer the driver grants is used, fewer or more than asked, up to VIDEO_MAX_FRAME. */
static void test_buffers_as_granted(void **state) {
    (void)state;
    static const int grants[] = {1, 2, 8, 40};
    for (size_t k = 0; k < sizeof grants / sizeof grants[0]; k++) {
        vdev_reset();
        VDEV_SET(vdev.cfg.grant = grants[k]);
        vdev_set_scene(YUV_GREY, YUV_GREEN, YUV_MAGENTA);
        cam_show s;
        cam_open(&s);
        cam_wait_yuyv_scene(&s, YUV_GREY, YUV_GREEN, YUV_MAGENTA, "grey, green, magenta");
        uint32_t used = grants[k] < VIDEO_MAX_FRAME ? (uint32_t)grants[k] : VIDEO_MAX_FRAME;
        assert_int_equal(VDEV_GET(mapped_at_streamon), used);
        assert_int_equal(VDEV_GET(queued_at_streamon), used);
        cam_close(&s);
        vdev_check_released();
    }
}

static void vdev_wait_opens(uint64_t n, const char *what) {
    pthread_mutex_lock(&vdev.lock);
    uint64_t target = vdev.opens + vdev.failed_opens + n;
    pthread_mutex_unlock(&vdev.lock);
    double start = cam_seconds();
    for (;;) {
        pthread_mutex_lock(&vdev.lock);
        uint64_t now = vdev.opens + vdev.failed_opens;
        pthread_mutex_unlock(&vdev.lock);
        if (now >= target) return;
        if (cam_seconds() - start > CAM_WAIT_S) fail_msg("%s: the camera stopped trying", what);
        usleep(2000);
    }
}

/* Unplugged mid-show (DQBUF says ENODEV; later poll says POLLERR): black, the device
 * closed and unmapped; reopened when it comes back, at the size it had and no other. */
static void test_unplug_and_back(void **state) {
    (void)state;
    vdev_set_scene(YUV_WHITE, YUV_RED, YUV_BLUE);
    cam_show s;
    cam_open(&s);
    cam_wait_yuyv_scene(&s, YUV_WHITE, YUV_RED, YUV_BLUE, "before unplugging");

    VDEV_SET({
        vdev.cfg.present = false;
        vdev.cfg.unplug_pollerr = false;
    });
    free(cam_wait_for(&s, NULL, "black after DQBUF ENODEV"));
    sky_pictures_stats st;
    cam_stats(&s, &st);
    assert_int_equal(st.camera_lost, 1);
    assert_int_equal(VDEV_GET(fd), -1); /* closed before the picture went black */
    assert_int_equal(VDEV_GET(maps_live), 0);
    uint64_t frames = st.camera_frames;

    vdev_set_scene(YUV_YELLOW, YUV_CYAN, YUV_MAGENTA);
    VDEV_SET(vdev.cfg.present = true);
    cam_wait_yuyv_scene(&s, YUV_YELLOW, YUV_CYAN, YUV_MAGENTA, "plugged in again");
    cam_stats(&s, &st);
    assert_true(st.camera_frames > frames);
    assert_int_equal(st.camera_lost, 1);
    assert_int_equal(VDEV_GET(opens), 2);

    VDEV_SET({
        vdev.cfg.present = false;
        vdev.cfg.unplug_pollerr = true;
    });
    free(cam_wait_for(&s, NULL, "black after POLLERR"));
    cam_stats(&s, &st);
    assert_int_equal(st.camera_lost, 2);

    /* Back at another size: refused (the picture block has the old one), still black. */
    VDEV_SET({
        vdev.cfg.width = 320;
        vdev.cfg.height = 240;
        vdev.cfg.present = true;
    });
    vdev_wait_opens(2, "back at 320 x 240");
    assert_false(sky_pictures_update(s.pics, s.t));
    free(cam_wait_for(&s, NULL, "still black at another size"));

    vdev_set_scene(YUV_GREY, YUV_GREEN, YUV_BLUE);
    VDEV_SET({
        vdev.cfg.width = 160;
        vdev.cfg.height = 120;
    });
    cam_wait_yuyv_scene(&s, YUV_GREY, YUV_GREEN, YUV_BLUE, "back at 160 x 120");
    cam_stats(&s, &st);
    assert_int_equal(st.camera_lost, 2);
    /* The show ends while the camera is away (the thread waiting to retry): it stops,
     * and the teardown finds nothing open or mapped. */
    VDEV_SET(vdev.cfg.present = false);
    free(cam_wait_for(&s, NULL, "black before the end"));
    cam_close(&s);
}

/* A device that opens and starts but fails at once (DQBUF says EIO, plugged in): reopened
 * once a second, not in a loop; the picture goes black once. */
static void test_broken_device_retried_each_second(void **state) {
    (void)state;
    vdev_set_scene(YUV_WHITE, YUV_RED, YUV_BLUE);
    cam_show s;
    cam_open(&s);
    cam_wait_yuyv_scene(&s, YUV_WHITE, YUV_RED, YUV_BLUE, "before breaking");
    VDEV_SET(vdev.cfg.dqbuf_errno = EIO);
    free(cam_wait_for(&s, NULL, "black after DQBUF EIO"));
    /* 3 more opens take at least 2 retry periods (1 s each): a lower bound, which a busy
     * machine only makes longer. */
    double start = cam_seconds();
    vdev_wait_opens(3, "a broken device");
    double took = cam_seconds() - start;
    if (took < 1.9) fail_msg("3 reopens in %.3f s: the thread retries without waiting", took);
    /* Black once: no new block per failed attempt. */
    assert_false(sky_pictures_update(s.pics, s.t));
    sky_pictures_stats st;
    cam_stats(&s, &st);
    assert_true(st.camera_lost >= 3);
    VDEV_SET(vdev.cfg.dqbuf_errno = 0);
    vdev_set_scene(YUV_GREY, YUV_CYAN, YUV_YELLOW);
    cam_wait_yuyv_scene(&s, YUV_GREY, YUV_CYAN, YUV_YELLOW, "repaired");
    cam_close(&s);
}

/* A device's wrong answers while the show starts: an error naming the step, nothing left
 * open or mapped. */
static void test_start_errors(void **state) {
    (void)state;
    static const struct {
        int what;
        const char *want;
    } cases[] = {
        {0, "No such file or directory"},
        {1, "not a V4L2 capture device with streaming"},
        {2, "it offers neither YUYV nor MJPEG"},
        {3, "VIDIOC_REQBUFS for 4 mmap capture buffers failed (Cannot allocate memory)"},
        {4, "VIDIOC_REQBUFS granted no mmap capture buffers"},
        {5, "VIDIOC_QUERYBUF of buffer 2 of 4 failed (Input/output error)"},
        {6, "mmap of buffer 1 ("},
        {7, "VIDIOC_QBUF of buffer 3 failed (Input/output error)"},
        {8, "VIDIOC_STREAMON failed (No space left on device)"},
        {9, "buffer 0 is 4096 bytes, too small for a 160 x 120 YUYV frame (42208 bytes)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        vdev_reset();
        VDEV_SET({
            switch (cases[k].what) {
            case 0:
                vdev.cfg.present = false;
                break;
            case 1:
                vdev.cfg.no_streaming = true;
                break;
            case 2:
                vdev.cfg.formats = 4;
                break;
            case 3:
                vdev.cfg.reqbufs_errno = ENOMEM;
                break;
            case 4:
                vdev.cfg.grant = 0;
                break;
            case 5:
                vdev.cfg.querybuf_fail = 2;
                break;
            case 6:
                vdev.cfg.mmap_fail = 1;
                break;
            case 7:
                vdev.cfg.qbuf_fail = 3;
                break;
            case 8:
                vdev.cfg.streamon_errno = ENOSPC;
                break;
            case 9:
                vdev.cfg.length = 4096;
                break;
            }
        });
        cam_show s;
        char err[512] = "";
        assert_int_not_equal(cam_try_open(&s, err, sizeof err), SKY_OK);
        assert_null(s.pics);
        if (!strstr(err, "cam.sky:1:20: cannot open camera `" VDEV_PATH "`") ||
            !strstr(err, cases[k].want))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", k, err, cases[k].want);
        cam_close(&s);
        vdev_check_released();
    }
}

/* Frames the camera must drop: the picture keeps the last good one, every good frame
 * (and no bad one) is counted, and good frames after them show again. */
static void cam_expect_dropped(cam_show *s, const uint8_t *want, const char *what) {
    vdev_wait_requeued(&vdev.bad_requeued, 3, what);
    s->t += 0.02;
    sky_pictures_update(s->pics, s->t);
    uint8_t *bytes = cam_eval(s, sky_pictures_block(s->pics));
    long bad = cam_mismatch(s, bytes, want);
    if (bad >= 0)
        fail_msg("%s: the picture changed (LED %ld channel %ld: %u, was %u)", what, bad / 3,
                 bad % 3, bytes[bad], want[bad]);
    free(bytes);
    /* A bad frame is counted before its buffer goes back, so the damaged count is at least
     * the bad frames requeued before the stats are read (one more may be in hand). */
    pthread_mutex_lock(&vdev.lock);
    uint64_t bad_given = vdev.bad_requeued;
    pthread_mutex_unlock(&vdev.lock);
    sky_pictures_stats st;
    cam_stats(s, &st);
    pthread_mutex_lock(&vdev.lock);
    uint64_t good = vdev.good_requeued;
    pthread_mutex_unlock(&vdev.lock);
    if (st.camera_damaged < bad_given)
        fail_msg("%s: %llu frames counted as damaged, %llu bad ones given", what,
                 (unsigned long long)st.camera_damaged, (unsigned long long)bad_given);
    if (st.camera_frames != good)
        fail_msg("%s: %llu frames counted, %llu good ones given", what,
                 (unsigned long long)st.camera_frames, (unsigned long long)good);
    assert_int_equal(st.camera_lost, 0);
}

static void test_bad_yuyv_frames(void **state) {
    (void)state;
    vdev_set_scene(YUV_WHITE, YUV_RED, YUV_BLUE);
    cam_show s;
    cam_open(&s);
    uint8_t *rgb = ref_yuyv_scene(YUV_WHITE, YUV_RED, YUV_BLUE, 160, 120);
    uint8_t *want = cam_eval_reference(&s, rgb, 160, 120);
    free(rgb);
    free(cam_wait_for(&s, want, "white, red, blue"));
    VDEV_SET({
        vdev.cfg.bytesused = 1000; /* a short frame */
        vdev.cfg.bad = true;
    });
    /* Another scene in the bad frames (only after they are bad): shown, it would be seen. */
    vdev_set_scene(YUV_YELLOW, YUV_CYAN, YUV_MAGENTA);
    cam_expect_dropped(&s, want, "short YUYV frames");
    VDEV_SET({
        vdev.cfg.bytesused = -1;
        vdev.cfg.flag_error = true;
    });
    cam_expect_dropped(&s, want, "frames flagged V4L2_BUF_FLAG_ERROR");
    /* bytesused beyond the buffer: clamped to it, which holds the whole frame: shown. */
    VDEV_SET({
        vdev.cfg.flag_error = false;
        vdev.cfg.bad = false;
        vdev.cfg.bytesused = 1 << 30;
    });
    cam_wait_yuyv_scene(&s, YUV_YELLOW, YUV_CYAN, YUV_MAGENTA, "bytesused beyond the buffer");
    free(want);
    cam_close(&s);
}

/* The offset just past an MJPEG's scan header: the entropy-coded data starts there. */
static size_t jpeg_scan_start(const uint8_t *jpeg, size_t len) {
    for (size_t i = 2; i + 3 < len; i++)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA)
            return i + 2 + ((size_t)jpeg[i + 2] << 8 | jpeg[i + 3]);
    fail_msg("no SOS marker");
    return 0;
}

static void test_bad_mjpeg_frames(void **state) {
    (void)state;
    static const uint8_t rgb_a[3][3] = {{0, 255, 0}, {255, 0, 0}, {0, 0, 255}};
    static const uint8_t rgb_b[3][3] = {{255, 255, 255}, {40, 80, 160}, {250, 200, 10}};
    const uint32_t w = 320, h = 240;
    /* Buffers of 2 pages: the good frames fit (about 2 KB), and libjpeg, fed zeros as
     * entropy-coded data, would need ~29 KB for 320 x 240 (about 97 bytes an MCU). */
    const size_t buffer = 8192;
    cam_show s;
    memset(&s, 0, sizeof s);
    cam_compile(&s);
    cam_layout(&s, "grid:24x18");
    uint8_t *jpeg_a, *jpeg_b, *small;
    size_t len_a, len_b, len_small;
    uint8_t *rgb = ref_scene_rgb(rgb_a, w, h);
    jpeg_encode(rgb, w, h, &jpeg_a, &len_a);
    uint8_t *decoded = jpeg_decode(jpeg_a, len_a, w, h);
    uint8_t *want_a = cam_eval_reference(&s, decoded, w, h);
    free(decoded);
    jpeg_encode(rgb, w / 2, h / 2, &small, &len_small); /* a frame of another size */
    free(rgb);
    rgb = ref_scene_rgb(rgb_b, w, h);
    jpeg_encode(rgb, w, h, &jpeg_b, &len_b);
    free(rgb);
    decoded = jpeg_decode(jpeg_b, len_b, w, h);
    uint8_t *want_b = cam_eval_reference(&s, decoded, w, h);
    free(decoded);
    cam_close(&s);
    assert_true(len_a < buffer && len_b < buffer);
    uint8_t junk[3000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 2654435761u >> 11);

    VDEV_SET({
        vdev.cfg.formats = 2;
        vdev.cfg.width = w;
        vdev.cfg.height = h;
        vdev.cfg.length = buffer;
        vdev.cfg.mjpeg = jpeg_a;
        vdev.cfg.mjpeg_len = len_a;
    });
    cam_open(&s);
    free(cam_wait_for(&s, want_a, "MJPEG green, red, blue"));
    VDEV_SET({
        vdev.cfg.mjpeg = jpeg_b;
        vdev.cfg.mjpeg_len = len_b / 2; /* truncated */
        vdev.cfg.bad = true;
    });
    cam_expect_dropped(&s, want_a, "truncated MJPEG");
    VDEV_SET({
        vdev.cfg.mjpeg = junk;
        vdev.cfg.mjpeg_len = sizeof junk;
    });
    cam_expect_dropped(&s, want_a, "junk MJPEG");
    VDEV_SET({
        vdev.cfg.mjpeg = small;
        vdev.cfg.mjpeg_len = len_small;
    });
    cam_expect_dropped(&s, want_a, "MJPEG of 160 x 120 from a 320 x 240 camera");
    /* A whole scan header, then zeros to the end of the buffer, and a bytesused of 1 MiB:
     * read as far as bytesused says, the decoder runs into the page after the buffer. */
    VDEV_SET({
        vdev.cfg.mjpeg = jpeg_b;
        vdev.cfg.mjpeg_len = jpeg_scan_start(jpeg_b, len_b);
        vdev.cfg.bytesused = 1 << 20;
    });
    cam_expect_dropped(&s, want_a, "MJPEG with bytesused beyond the buffer");
    VDEV_SET({
        vdev.cfg.mjpeg_len = len_b;
        vdev.cfg.bytesused = -1;
        vdev.cfg.bad = false;
    });
    free(cam_wait_for(&s, want_b, "MJPEG after the bad frames"));
    cam_close(&s);
    VDEV_SET(vdev.cfg.mjpeg = NULL);
    free(jpeg_a);
    free(jpeg_b);
    free(small);
    free(want_a);
    free(want_b);
}

/* ------------------------------------------------------------ backends (gpu) */

/* Renders the camera's block with a runtime (NULL device: Vulkan, "cpu": the CPU backend);
 * `portable`: the shader as `sky compile` emits it. Compared with the evaluator's `want`. */
static void cam_backend_agrees(const char *device, bool portable, const cam_show *s,
                               const uint32_t *block, const uint8_t *want) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = device;
    o.layout = s->leds.layout;
    o.picture_words = block[1];
    sky_runtime *rt = NULL;
    char err[512] = "";
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
    if (portable) {
        uint32_t *words = NULL;
        size_t count = 0;
        char *why = NULL;
        if (sky_program_emit_spirv(s->program, NULL, &words, &count, &why) != SKY_OK)
            fail_msg("emit: %s", why ? why : "");
        if (sky_runtime_set_program_spirv(rt, s->program, words, count, err, sizeof err) != SKY_OK)
            fail_msg("program: %s", err);
        sky_free(words);
    } else if (sky_runtime_set_program(rt, s->program, err, sizeof err) != SKY_OK) {
        fail_msg("program: %s", err);
    }
    assert_int_equal(sky_runtime_set_pictures(rt, block, err, sizeof err), SKY_OK);
    if (sky_runtime_render(rt, s->t, 0, NULL, err, sizeof err) != SKY_OK)
        fail_msg("render: %s", err);
    size_t len = 0;
    const uint8_t *got = sky_runtime_frame_bytes(rt, &len);
    assert_int_equal(len, (size_t)s->leds.view.led_count * 3);
    long bad = cam_mismatch(s, got, want);
    if (bad >= 0)
        fail_msg("%s: LED %ld channel %ld: %u, the evaluator %u",
                 device     ? device
                 : portable ? "vulkan, portable shader"
                            : "vulkan",
                 bad / 3, bad % 3, got[bad], want[bad]);
    assert_int_equal(sky_runtime_validation_messages(rt), 0);
    sky_runtime_free(rt);
}

static void test_backends_sample_camera(void **state) {
    (void)state;
    vdev_set_scene(YUV_YELLOW, YUV_RED, YUV_BLUE);
    cam_show s;
    cam_open(&s);
    cam_wait_yuyv_scene(&s, YUV_YELLOW, YUV_RED, YUV_BLUE, "yellow, red, blue");
    /* The block as it is now (the thread may bring a newer one only at the next update). */
    const uint32_t *block = sky_pictures_block(s.pics);
    uint8_t *want = cam_eval(&s, block);
    cam_backend_agrees(NULL, false, &s, block, want);
    cam_backend_agrees(NULL, true, &s, block, want);
    cam_backend_agrees("cpu", false, &s, block, want);
    free(want);
    cam_close(&s);
}

int main(int argc, char **argv) {
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
        pthread_cond_init(&vdev.cond, &attr)) {
        fprintf(stderr, "test_camera_stream: cannot make a monotonic condition variable\n");
        return 1;
    }
    pthread_condattr_destroy(&attr);
    if (argc > 1 && strcmp(argv[1], "gpu") == 0) {
        const struct CMUnitTest gpu[] = {
            cmocka_unit_test_setup_teardown(test_backends_sample_camera, cam_setup, cam_teardown),
        };
        return cmocka_run_group_tests_name("camera on every backend", gpu, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_anchors),
        cmocka_unit_test_setup_teardown(test_yuyv_frames, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_mjpeg_frames, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_buffers_as_granted, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_unplug_and_back, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_broken_device_retried_each_second, cam_setup,
                                        cam_teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_bad_yuyv_frames, cam_setup, cam_teardown),
        cmocka_unit_test_setup_teardown(test_bad_mjpeg_frames, cam_setup, cam_teardown),
    };
    return cmocka_run_group_tests_name("camera stream", tests, NULL, NULL);
}

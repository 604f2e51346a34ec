/*
 * out_spi.c - LEDs on SPI: spi:///dev/spidevB.C?chip=apa102|sk9822|ws2812|sk6812&speed=HZ.
 *
 * The encoders (top of this file) turn a frame into the chip's bit stream;
 * the output writes it to spidev with SPI_IOC_MESSAGE (mode 0, 8 bits,
 * `speed`). spidev refuses messages longer than its `bufsiz` module
 * parameter (4096 by default) with EMSGSIZE, so prepare() checks the frame
 * against it up front: APA102 frames, being clocked, are split into
 * bufsiz-sized transfers; a WS2812 frame cannot be split (a gap latches a
 * partial frame), so it is refused with an error that says how to raise
 * spidev.bufsiz. A path that is not a character device (a plain file, a
 * FIFO) gets the same bytes with write(), which is how the tests and a
 * recording see exactly what the wire would. This thread may block in the
 * transfer; it is the output's own thread, so nothing else waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/spi/spidev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "spi_encode.h"

/* ------------------------------------------------------------ encoders */

size_t spi_apa102_end_bytes(uint32_t leds) {
    size_t half_bits = ((size_t)leds + 15) / 16; /* ceil(n/2) clock edges, in bytes */
    size_t rounded = (half_bits + 3) / 4 * 4;
    return rounded < 4 ? 4 : rounded;
}

size_t spi_apa102_size(uint32_t leds, bool sk9822) {
    return 4 + (size_t)leds * 4 + (sk9822 ? 4 : 0) + spi_apa102_end_bytes(leds);
}

size_t spi_apa102_encode(const uint8_t *wire, uint32_t leds, uint8_t global, bool sk9822,
                         uint8_t *out) {
    size_t n = 0;
    memset(out, 0, 4); /* start frame */
    n += 4;
    uint8_t head = (uint8_t)(0xe0 | (global & 0x1f));
    for (uint32_t i = 0; i < leds; i++) {
        out[n] = head;
        out[n + 1] = wire[(size_t)i * 3];
        out[n + 2] = wire[(size_t)i * 3 + 1];
        out[n + 3] = wire[(size_t)i * 3 + 2];
        n += 4;
    }
    size_t tail = (sk9822 ? 4 : 0) + spi_apa102_end_bytes(leds);
    memset(out + n, 0, tail);
    return n + tail;
}

uint32_t spi_ws2812_reset_bytes(uint32_t speed_hz) {
    uint64_t bits = ((uint64_t)speed_hz * 300 + 999999) / 1000000; /* 300 us of bits */
    return (uint32_t)((bits + 7) / 8);
}

size_t spi_ws2812_size(uint32_t leds, int bits_per_bit, uint32_t reset_bytes) {
    return 1 + (size_t)leds * 3 * (size_t)bits_per_bit + reset_bytes;
}

size_t spi_ws2812_encode(const uint8_t *wire, uint32_t leds, int bits_per_bit, uint32_t reset_bytes,
                         uint8_t *out) {
    size_t n = 0;
    out[n++] = 0x00; /* MOSI low before the first bit */
    size_t values = (size_t)leds * 3;
    if (bits_per_bit == 4) {
        static const uint8_t pair[4] = {0x88, 0x8c, 0xc8, 0xcc}; /* 1000/1100 per bit */
        for (size_t i = 0; i < values; i++) {
            uint8_t v = wire[i];
            out[n++] = pair[(v >> 6) & 3];
            out[n++] = pair[(v >> 4) & 3];
            out[n++] = pair[(v >> 2) & 3];
            out[n++] = pair[v & 3];
        }
    } else {
        for (size_t i = 0; i < values; i++) {
            uint32_t bits = 0; /* 24 SPI bits: 100 for 0, 110 for 1, MSB first */
            for (int b = 7; b >= 0; b--) bits = (bits << 3) | (((wire[i] >> b) & 1) ? 6u : 4u);
            out[n++] = (uint8_t)(bits >> 16);
            out[n++] = (uint8_t)(bits >> 8);
            out[n++] = (uint8_t)bits;
        }
    }
    memset(out + n, 0, reset_bytes);
    return n + reset_bytes;
}

/* ------------------------------------------------------------ the device */

typedef enum spi_chip { CHIP_APA102, CHIP_SK9822, CHIP_WS2812, CHIP_SK6812 } spi_chip;

typedef struct spi_out {
    int fd;
    bool is_spidev;
    char path[256];
    spi_chip chip;
    uint32_t speed;
    uint8_t global;
    int bits_per_bit;
    size_t bufsiz; /* 0 = no limit */
    uint8_t *buf;
    size_t frame_bytes;
    uint64_t reopen_ns; /* device gone (unplugged adapter): when to try opening it again */
} spi_out;

static size_t spi_read_bufsiz(void) {
    FILE *f = fopen("/sys/module/spidev/parameters/bufsiz", "r");
    unsigned long v = 0;
    if (!f) return 4096; /* the kernel default */
    if (fscanf(f, "%lu", &v) != 1 || v == 0) v = 4096;
    fclose(f);
    return v;
}

static int spi_check_ws2812_speed(const char *url, uint32_t speed, int bits, char *err,
                                  size_t err_len) {
    double t = 1e9 / speed; /* ns per SPI bit */
    double t0h = t, t1h = 2 * t, period = bits * t;
    if (t0h < 200 || t0h > 500 || t1h < 550 || t1h > 1000 || period < 1000 || period > 1600) {
        snprintf(err, err_len,
                 "`%s`: at speed=%u with bits=%d a WS2812 bit is T0H %.0f ns, T1H %.0f ns, "
                 "period %.0f ns, outside the chip's timing; use speed=2400000 (bits=3) or "
                 "speed=3200000 with bits=4",
                 url, speed, bits, t0h, t1h, period);
        return -1;
    }
    return 0;
}

static int spi_setup_device(spi_out *s, char *err, size_t err_len) {
    uint8_t mode = SPI_MODE_0, bpw = 8;
    uint32_t hz = s->speed;
    if (ioctl(s->fd, SPI_IOC_WR_MODE, &mode) != 0) {
        snprintf(err, err_len, "%s: %s", s->path,
                 errno == ENOTTY ? "not an SPI device (SPI_IOC_WR_MODE refused)" : strerror(errno));
        return -1;
    }
    if (ioctl(s->fd, SPI_IOC_WR_BITS_PER_WORD, &bpw) != 0 ||
        ioctl(s->fd, SPI_IOC_WR_MAX_SPEED_HZ, &hz) != 0) {
        snprintf(err, err_len, "%s: cannot set 8 bits per word at %u Hz: %s", s->path, hz,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int spi_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    spi_out *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->fd = -1;
    o->impl = s;
    const char *chip = url_get(url, "chip");
    if (!chip) {
        snprintf(err, err_len, "`%s`: give chip=apa102, sk9822, ws2812 or sk6812", url->text);
        return -1;
    }
    if (strcasecmp(chip, "apa102") == 0)
        s->chip = CHIP_APA102;
    else if (strcasecmp(chip, "sk9822") == 0)
        s->chip = CHIP_SK9822;
    else if (strcasecmp(chip, "ws2812") == 0 || strcasecmp(chip, "ws2812b") == 0)
        s->chip = CHIP_WS2812;
    else if (strcasecmp(chip, "sk6812") == 0)
        s->chip = CHIP_SK6812;
    else {
        snprintf(err, err_len, "`%s`: unknown chip `%s` (apa102, sk9822, ws2812, sk6812)",
                 url->text, chip);
        return -1;
    }
    bool clocked = s->chip == CHIP_APA102 || s->chip == CHIP_SK9822;
    long speed = clocked ? 8000000 : 2400000, global = 31, bits = -1, bufsiz = -1;
    if (url_get_long(url, "speed", 1000, 100000000, &speed, err, err_len) ||
        url_get_long(url, "global", 0, 31, &global, err, err_len) ||
        url_get_long(url, "bits", 3, 4, &bits, err, err_len) ||
        url_get_long(url, "bufsiz", 16, 1 << 30, &bufsiz, err, err_len))
        return -1;
    if (clocked && bits > 0) {
        snprintf(err, err_len, "`%s`: bits= applies to ws2812/sk6812 only", url->text);
        return -1;
    }
    s->speed = (uint32_t)speed;
    s->global = (uint8_t)global;
    if (!clocked) {
        s->bits_per_bit = bits > 0 ? (int)bits : (speed > 2900000 ? 4 : 3);
        if (spi_check_ws2812_speed(url->text, s->speed, s->bits_per_bit, err, err_len)) return -1;
    }
    o->default_order = clocked ? "BGR" : "GRB";
    if (!*url->path) {
        snprintf(err, err_len, "`%s`: no device path (spi:///dev/spidev0.0?chip=...)", url->text);
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s", url->path);
    /* Never O_CREAT: a typo must not leave a plain file in /dev. */
    s->fd = open(s->path, O_WRONLY | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, err_len, "%s: %s%s", s->path, strerror(errno),
                 errno == ENOENT ? " (is SPI enabled? dtparam=spi=on in config.txt)" : "");
        return -1;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    s->is_spidev = S_ISCHR(st.st_mode);
    if (s->is_spidev && spi_setup_device(s, err, err_len) != 0) return -1;
    s->bufsiz = bufsiz > 0 ? (size_t)bufsiz : s->is_spidev ? spi_read_bufsiz() : 0;
    return 0;
}

static int spi_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    spi_out *s = o->impl;
    bool clocked = s->chip == CHIP_APA102 || s->chip == CHIP_SK9822;
    size_t bytes = clocked
                       ? spi_apa102_size(leds, s->chip == CHIP_SK9822)
                       : spi_ws2812_size(leds, s->bits_per_bit, spi_ws2812_reset_bytes(s->speed));
    if (!clocked && s->bufsiz && bytes > s->bufsiz) {
        snprintf(err, err_len,
                 "%s: a WS2812 frame of %u LEDs is %zu bytes but spidev.bufsiz is %zu, and a "
                 "WS2812 frame cannot be split; raise it: add spidev.bufsiz=%zu to the kernel "
                 "command line (/boot/firmware/cmdline.txt, one line, space separated) or "
                 "`options spidev bufsiz=%zu` in /etc/modprobe.d/spidev.conf, then reboot",
                 s->path, leds, bytes, s->bufsiz, (bytes + 4095) / 4096 * 4096,
                 (bytes + 4095) / 4096 * 4096);
        return -1;
    }
    uint8_t *buf = realloc(s->buf, bytes);
    if (!buf) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->buf = buf;
    s->frame_bytes = bytes;
    if (clocked && s->bufsiz && bytes > s->bufsiz)
        drv_log("output %s: a frame is %zu bytes, over spidev.bufsiz %zu: sending it in %zu "
                "transfers (fine for APA102; raise spidev.bufsiz for one)",
                o->label, bytes, s->bufsiz, (bytes + s->bufsiz - 1) / s->bufsiz);
    return 0;
}

static int spi_transfer(spi_out *s, const uint8_t *data, size_t len) {
    if (!s->is_spidev) {
        size_t done = 0;
        while (done < len) {
            ssize_t n = write(s->fd, data + done, len - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;
            done += (size_t)n;
        }
        return 0;
    }
    struct spi_ioc_transfer tr;
    memset(&tr, 0, sizeof tr); /* every field, or the kernel may reject it */
    tr.tx_buf = (uintptr_t)data;
    tr.len = (uint32_t)len;
    tr.speed_hz = s->speed;
    tr.bits_per_word = 8;
    int rc;
    do rc = ioctl(s->fd, SPI_IOC_MESSAGE(1), &tr);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : 0;
}

/* A device that went away (a USB SPI adapter unplugged) is reopened, once a second. */
static bool spi_device_ready(output *o) {
    spi_out *s = o->impl;
    if (s->fd >= 0) return true;
    uint64_t now = drv_now_ns();
    if (now < s->reopen_ns) return false;
    s->reopen_ns = now + 1000000000ull;
    char err[300];
    s->fd = open(s->path, O_WRONLY | O_CLOEXEC);
    if (s->fd < 0) {
        output_error(o, "%s: %s (retrying)", s->path, strerror(errno));
        return false;
    }
    if (s->is_spidev && spi_setup_device(s, err, sizeof err) != 0) {
        output_error(o, "%s (retrying)", err);
        close(s->fd);
        s->fd = -1;
        return false;
    }
    atomic_fetch_add_explicit(&o->stats.reconnects, 1, memory_order_relaxed);
    output_recovered(o, "device open again");
    return true;
}

static void spi_send(output *o, const uint8_t *wire, uint32_t leds) {
    spi_out *s = o->impl;
    if (!spi_device_ready(o)) return;
    bool clocked = s->chip == CHIP_APA102 || s->chip == CHIP_SK9822;
    size_t n = clocked ? spi_apa102_encode(wire, leds, s->global, s->chip == CHIP_SK9822, s->buf)
                       : spi_ws2812_encode(wire, leds, s->bits_per_bit,
                                           spi_ws2812_reset_bytes(s->speed), s->buf);
    size_t step = s->bufsiz && clocked ? s->bufsiz : n;
    for (size_t off = 0; off < n; off += step) {
        size_t len = n - off < step ? n - off : step;
        if (spi_transfer(s, s->buf + off, len) != 0) {
            int e = errno;
            if (e == EMSGSIZE)
                output_error(o,
                             "%s: %zu-byte transfer refused (EMSGSIZE): spidev.bufsiz is "
                             "smaller than %zu; set bufsiz= or raise spidev.bufsiz",
                             s->path, len, len);
            else
                output_error(o, "%s: %s", s->path, strerror(e));
            if (e == ENODEV || e == ENXIO || e == EIO || e == EBADF) {
                close(s->fd); /* gone: reopen it later */
                s->fd = -1;
                s->reopen_ns = drv_now_ns() + 1000000000ull;
            }
            return;
        }
        atomic_fetch_add_explicit(&o->stats.packets, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&o->stats.bytes, len, memory_order_relaxed);
    }
    output_recovered(o, "writing again");
}

static void spi_close(output *o) {
    spi_out *s = o->impl;
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    free(s->buf);
    free(s);
    o->impl = NULL;
}

const output_ops out_spi_ops = {
    .scheme = "spi",
    .open = spi_open,
    .prepare = spi_prepare,
    .send = spi_send,
    .goodbye = NULL,
    .close = spi_close,
};

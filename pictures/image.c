/*
 * image.c - PNG and JPEG files into RGB8 (sky_image_decode), for
 * `input pic = image("logo.png")`. The format is told by the file's first
 * bytes, not its name. PNG through libpng's simplified API (alpha is
 * composited over black, 16-bit channels rounded to 8, palettes expanded);
 * JPEG through libjpeg-turbo, whose errors longjmp back here, never exit.
 */
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "pictures_int.h"

static sky_status image_png(const uint8_t *data, size_t len, uint8_t **rgb, uint32_t *w,
                            uint32_t *h, char *error, size_t error_len) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len)) {
        pics_error(error, error_len, "not a readable PNG (%s)", img.message);
        png_image_free(&img);
        return SKY_ERR_FORMAT;
    }
    if (img.width == 0 || img.height == 0 || img.width > SKY_PICTURE_MAX_SIDE ||
        img.height > SKY_PICTURE_MAX_SIDE) {
        pics_error(error, error_len, "a PNG of %u x %u pixels: the limit is %u on each side",
                   (unsigned)img.width, (unsigned)img.height, SKY_PICTURE_MAX_SIDE);
        png_image_free(&img);
        return SKY_ERR_LIMIT;
    }
    img.format = PNG_FORMAT_RGB; /* alpha composited over black (the background colour) */
    uint8_t *out = malloc((size_t)img.width * img.height * 3);
    if (!out) {
        png_image_free(&img);
        pics_error(error, error_len, "out of memory for a %u x %u image", (unsigned)img.width,
                   (unsigned)img.height);
        return SKY_ERR_NOMEM;
    }
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(&img, &black, out, (png_int_32)(img.width * 3), NULL)) {
        pics_error(error, error_len, "damaged PNG (%s)", img.message);
        png_image_free(&img);
        free(out);
        return SKY_ERR_FORMAT;
    }
    *rgb = out;
    *w = img.width;
    *h = img.height;
    return SKY_OK;
}

typedef struct image_jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
    char message[JMSG_LENGTH_MAX];
} image_jpeg_error;

static void image_jpeg_fail(j_common_ptr cinfo) {
    image_jpeg_error *e = (image_jpeg_error *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    longjmp(e->back, 1);
}

/* Warnings (a corrupt byte stream libjpeg can still decode) are errors here: a clear
 * message beats a picture with grey blocks. */
static void image_jpeg_warn(j_common_ptr cinfo, int level) {
    if (level < 0) image_jpeg_fail(cinfo);
}

static sky_status image_jpeg(const uint8_t *data, size_t len, uint8_t **rgb, uint32_t *w,
                             uint32_t *h, char *error, size_t error_len) {
    struct jpeg_decompress_struct cinfo;
    image_jpeg_error jerr;
    /* volatile: changed between setjmp and a longjmp back */
    uint8_t *volatile out = NULL;
    volatile sky_status status = SKY_ERR_FORMAT;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = image_jpeg_fail;
    jerr.mgr.emit_message = image_jpeg_warn;
    jerr.message[0] = '\0';
    if (setjmp(jerr.back)) {
        pics_error(error, error_len, "damaged JPEG (%s)", jerr.message);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width == 0 || cinfo.output_height == 0 ||
        cinfo.output_width > SKY_PICTURE_MAX_SIDE || cinfo.output_height > SKY_PICTURE_MAX_SIDE ||
        cinfo.output_components != 3) {
        pics_error(error, error_len, "a JPEG of %u x %u pixels: the limit is %u on each side",
                   (unsigned)cinfo.output_width, (unsigned)cinfo.output_height,
                   SKY_PICTURE_MAX_SIDE);
        jpeg_destroy_decompress(&cinfo);
        return SKY_ERR_LIMIT;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    out = malloc(stride * cinfo.output_height);
    if (!out) {
        pics_error(error, error_len, "out of memory for a %u x %u image",
                   (unsigned)cinfo.output_width, (unsigned)cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return SKY_ERR_NOMEM;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = cinfo.output_width;
    *h = cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    *rgb = out;
    return SKY_OK;
}

sky_status sky_image_decode(const uint8_t *data, size_t len, uint8_t **rgb, uint32_t *width,
                            uint32_t *height, char *error, size_t error_len) {
    if (!rgb || !width || !height || (!data && len)) {
        pics_error(error, error_len, "sky_image_decode: NULL argument");
        return SKY_ERR_INVALID_ARG;
    }
    *rgb = NULL;
    *width = *height = 0;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 8 && memcmp(data, png_magic, 8) == 0)
        return image_png(data, len, rgb, width, height, error, error_len);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return image_jpeg(data, len, rgb, width, height, error, error_len);
    pics_error(error, error_len, "neither a PNG nor a JPEG file (%s)",
               len == 0 ? "it is empty" : "unknown first bytes");
    return SKY_ERR_FORMAT;
}

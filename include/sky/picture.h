/*
 * sky/picture.h - picture inputs: the images, videos and cameras a pattern
 * declares (`input pic = image("logo.png")`) and samples (`pic(u, v)`).
 *
 * The compiler records each declaration (sky_program_picture); the host opens
 * and decodes the sources (libskypictures, sky/pictures.h, or an embedder's
 * own code) and hands every backend the same "picture block": one array of
 * 32-bit words holding, per picture, the two mip levels that the LEDs'
 * footprint selects (docs/language.md, "Pictures"). The CPU evaluator, the
 * shader (binding 8, docs/shader-abi.md) and the CPU backend all sample that
 * block with one formula, so they agree to rounding.
 *
 * The block, word by word (all little-endian uint32):
 *   [0] picture count n, [1] total words, [2] SKY_PICTURE_MAGIC, [3] 0
 *   then n entries of SKY_PICTURE_ENTRY_WORDS words, entry i at 4 + 8 i:
 *     [0] 1 when the picture is present (0: it samples black)
 *     [1] the weight of the coarser level, a float in [0, 1) as its bits
 *     [2] offset (in words, from the block's start) of the finer level's
 *         texels, [3] its width, [4] its height
 *     [5] offset of the coarser level, [6] width, [7] height
 *   texels: one word per texel, row after row, r | g << 8 | b << 16.
 */
#ifndef SKY_PICTURE_H
#define SKY_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "sky/export.h"
#include "sky/sky.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pictures a program may declare: a shader samples each through its own entry. */
#define SKY_MAX_PICTURES 8
/* The largest width or height accepted (16384: a 16K frame, 1 GiB of texels at most). */
#define SKY_PICTURE_MAX_SIDE     16384u
#define SKY_PICTURE_HEADER_WORDS 4u
#define SKY_PICTURE_ENTRY_WORDS  8u
#define SKY_PICTURE_MAGIC        0x31434950u /* "PIC1" */

typedef enum sky_picture_kind {
    SKY_PICTURE_IMAGE = 1, /* image("file.png" or ".jpg") */
    SKY_PICTURE_VIDEO = 2, /* video("file"): anything libavformat opens, looped */
    SKY_PICTURE_CAMERA = 3 /* camera("/dev/videoN"): V4L2 */
} sky_picture_kind;

typedef struct sky_picture_info {
    const char *name; /* the declared name */
    sky_picture_kind kind;
    const char *path;   /* as written; a relative path is relative to the .sky file */
    uint32_t line, col; /* of the path in the source, for errors at start */
} sky_picture_info;

/* The pictures a program declares, in declaration order (entry i of the block is picture i). */
SKY_API size_t sky_program_picture_count(const sky_program *program);
SKY_API const sky_picture_info *sky_program_picture(const sky_program *program, size_t i);

/*
 * The footprint of one LED in picture coordinates (u, v in 0..1), which
 * picks the mip levels: half the layout's LED spacing, the spacing being
 * sqrt(area / led_count) of the LEDs' bounding box (a layout in [-1, 1]
 * spans the picture once when u = (x + 1) / 2), or for LEDs on one line its
 * length / (led_count - 1). 0 for fewer than two LEDs (level 0 is used).
 */
SKY_API double sky_picture_footprint(const sky_layout_view *layout);

/*
 * Words a block needs for `count` pictures of these sizes (a size 0 x 0: an
 * absent picture, sampled as black) sampled at `footprint`; 0 for a count
 * above SKY_MAX_PICTURES or a side above SKY_PICTURE_MAX_SIDE.
 */
SKY_API size_t sky_picture_block_words(uint32_t count, const uint32_t *widths,
                                       const uint32_t *heights, double footprint);
/*
 * The most words a block of `count` pictures of any size can need at this
 * footprint: the finer level's long side is below 2 / footprint + 1 texels,
 * the coarser one's below 1 / footprint + 1, whatever the picture (a
 * picture's size is not known before it is opened: a runtime's
 * picture_words). For footprint 0, pictures of SKY_PICTURE_MAX_SIDE.
 */
SKY_API size_t sky_picture_block_bound(uint32_t count, double footprint);
/* Lays out a block of `words` words (sky_picture_block_words) with every picture absent. */
SKY_API sky_status sky_picture_block_init(uint32_t *block, size_t words, uint32_t count,
                                          const uint32_t *widths, const uint32_t *heights,
                                          double footprint);
/*
 * Stores picture `index` from RGB8 pixels (height rows of width * 3 bytes,
 * `stride` bytes apart; width and height as given to init) and marks it
 * present: the box-filtered mip chain (each level halves the sides, rounding
 * down, each texel the rounded mean of the 2 x 2 texels above it, the last
 * row or column repeated at odd sides) down to the coarser level sampled.
 * SKY_ERR_INVALID_ARG for a size other than the layout's, SKY_ERR_NOMEM.
 */
SKY_API sky_status sky_picture_block_put(uint32_t *block, uint32_t index, const uint8_t *rgb,
                                         size_t stride, uint32_t width, uint32_t height);
/* Marks picture `index` absent (black), e.g. a camera unplugged. */
SKY_API void sky_picture_block_clear(uint32_t *block, uint32_t index);

/*
 * sky_program_eval_leds (sky/abi.h) with pictures: `pictures` is a block for
 * this program's pictures, or NULL (every picture black).
 */
SKY_API sky_status sky_program_eval_leds_pictures(const sky_program *program,
                                                  const sky_layout_view *layout,
                                                  const sky_led_input *inputs,
                                                  const float *uniforms, const uint32_t *pictures,
                                                  const float *prev, float *rgb, uint8_t *bytes);

#ifdef __cplusplus
}
#endif

#endif

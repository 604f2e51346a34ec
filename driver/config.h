/*
 * config.h - sky-driver's configuration: an INI file (parsed by libinih) and
 * the command line, merged into one drv_config.
 *
 *   [driver]            frame file, rate, hold/fade/stale timing, total budget, stats...
 *   [output NAME]       one per output: url, strips/leds range, colour settings, budget
 *
 * Output keys may also be given as URL query parameters (`--out
 * 'spi:///dev/spidev0.0?chip=apa102&order=BGR&brightness=0.5'`), so the simple
 * case needs no file. Every error names the place: "FILE:LINE: key `k`: ..."
 * for the file, "--out `URL`: ..." for the command line. docs/driver.md lists
 * every key.
 */
#ifndef DRV_CONFIG_H
#define DRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "url.h"

#define CFG_NAME_MAX 64

typedef enum cfg_dither { CFG_DITHER_AUTO = -1, CFG_DITHER_OFF = 0, CFG_DITHER_ON = 1 } cfg_dither;

/* An inclusive index range; `set` false means "all". */
typedef struct cfg_range {
    bool set;
    uint32_t first, last;
} cfg_range;

typedef struct out_config {
    char name[CFG_NAME_MAX];
    char where[CFG_NAME_MAX + 300];     /* "FILE:LINE" of the section, or "--out `URL`" */
    char url_where[CFG_NAME_MAX + 300]; /* "FILE:LINE: key `url`", or "--out" */
    drv_url url;                        /* parsed; the output consumes its own parameters */
    bool has_url;
    bool enabled;
    cfg_range strips;         /* strips of the frame (contiguous LEDs) */
    cfg_range leds;           /* LEDs: within the strips when both are set, else of the frame */
    char order[4];            /* wire order, e.g. "GRB"; "" = the output's default */
    double brightness;        /* 0..1, applied before gamma's output (a linear scale) */
    double gamma;             /* > 0; 1 = linear */
    double budget_ma;         /* 0 = unlimited */
    double ma_per_channel[3]; /* R, G, B current at full value, per LED */
    double ma_idle;           /* current of a dark LED */
    cfg_dither dither;
    double rate;        /* Hz; 0 = send each frame the driver hands over */
    uint32_t keys_seen; /* bit per key, to reject duplicates */
} out_config;

typedef struct drv_config {
    char *source;         /* config file path, or NULL */
    char *frame_path;     /* default SKY_FRAME_DEFAULT_PATH */
    double rate;          /* Hz; 0 = the writer's fps_nominal (60 when it is unpaced) */
    double hold_s;        /* hold the last frame this long once the writer is stale */
    double fade_s;        /* then fade to black over this long */
    double stale_s;       /* heartbeat older than this = stale */
    double budget_ma;     /* total over all outputs; 0 = unlimited */
    double stats_s;       /* seconds between stats lines; 0 = off */
    double poll_ms;       /* how often to look for a new frame */
    char source_name[64]; /* sACN source name / Art-Net short name */
    uint8_t cid[16];      /* sACN CID */
    bool cid_set;
    uint32_t keys_seen;
    out_config *outputs;
    size_t output_count;
} drv_config;

/* Defaults for everything; no outputs. */
void config_init(drv_config *config);
void config_free(drv_config *config);

/*
 * Parses an INI file into config (on top of what is there). Returns 0, or -1
 * with "FILE:LINE: ..." in err. Stops at the first error.
 */
int config_load_file(drv_config *config, const char *path, char *err, size_t err_len);
/* Same, from a string (tests); `name` stands for the file name in messages. */
int config_load_string(drv_config *config, const char *name, const char *text, char *err,
                       size_t err_len);
/* Adds an output from a command-line URL, named outN. */
int config_add_url(drv_config *config, const char *url, char *err, size_t err_len);
/* Sets one [driver] key (command-line overrides go through here too). */
int config_set_driver_key(drv_config *config, const char *key, const char *value, char *err,
                          size_t err_len);

/* Checks cross-key rules once everything is loaded (at least one output, ...). */
int config_finish(drv_config *config, char *err, size_t err_len);

/* "A-B" or "A" (0-based, inclusive) -> range; 0, or -1 when malformed. */
int config_parse_range(const char *text, cfg_range *range);
/* "GRB" (any case, R, G and B once each) -> upper-case order; false when malformed. */
bool config_parse_order(const char *text, char order[4]);
/* Parses a UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
bool config_parse_uuid(const char *text, uint8_t uuid[16]);

#endif

/*
 * url.h - output URLs: scheme://host[:port][/path][?key=value&...].
 *
 * Every output is named by one URL (opc://host:7890/1, sacn://host?universe=1,
 * spi:///dev/spidev0.0?chip=apa102). This module only splits the text; each
 * output checks its own keys, and url_unused() names any key nobody consumed,
 * so a typo is an error rather than a silently ignored option.
 */
#ifndef DRV_URL_H
#define DRV_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_MAX_PARAMS 24

typedef struct url_param {
    char *key;
    char *value; /* "" when the parameter had no '=' */
    bool used;
} url_param;

typedef struct drv_url {
    char *text;   /* the whole URL, as given */
    char *scheme; /* lower case: "opc", "sacn", ... */
    char *host;   /* "" when absent (spi:///dev/..); IPv6 without brackets */
    int port;     /* -1 when absent */
    char *path;   /* everything after the authority, before '?' ("" when absent) */
    url_param params[URL_MAX_PARAMS];
    size_t param_count;
} drv_url;

/*
 * Splits `text`. For the path-only schemes (spi, file) everything between
 * "://" and '?' is the path, so file://rec.raw and file:///tmp/rec.raw both
 * work. Returns 0, or -1 with a message in err.
 */
int url_parse(const char *text, drv_url *url, char *err, size_t err_len);
void url_free(drv_url *url);

/* True when the URL has parameter `key` (without marking it used). */
bool url_has(const drv_url *url, const char *key);
/* The value of `key` (marking it used), or NULL when absent. */
const char *url_get(drv_url *url, const char *key);
/* Typed getters: 0 when absent (value untouched) or valid, -1 with a message naming the key. */
int url_get_long(drv_url *url, const char *key, long min, long max, long *value, char *err,
                 size_t err_len);
int url_get_double(drv_url *url, const char *key, double min, double max, double *value, char *err,
                   size_t err_len);
int url_get_bool(drv_url *url, const char *key, bool *value, char *err, size_t err_len);
/* The first parameter nobody asked for, or NULL. */
const char *url_unused(const drv_url *url);

/* Strict number parsing shared with the config file: the whole string must be the number. */
bool url_parse_long(const char *text, long *value);
bool url_parse_double(const char *text, double *value);
/* "1", "yes", "true", "on" / "0", "no", "false", "off" (case-insensitive). */
bool url_parse_bool(const char *text, bool *value);

#endif

/*
 * config.c - the INI config file (libinih) and command-line outputs.
 *
 * libinih does the INI syntax; this file gives every key its meaning and
 * every error its place. inih's handler does not get line numbers, so the
 * file is fed through config_read_line(), which counts lines, spots section
 * headers (to reject a section given twice) and overlong lines, and lets the
 * handler say "FILE:LINE: key `gamma`: expected a number > 0, got `abc`".
 * A line ends at LF, CRLF or a lone CR (old Mac files), so line numbers stay
 * right whatever the editor wrote. The file must be a regular file: a FIFO
 * would block the reload (SIGHUP) that reads it, a device never ends.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sky/frame.h"

#define CFG_LINE_MAX 4096

/* ------------------------------------------------------------ defaults */

static void config_default_cid(uint8_t cid[16]) {
    /* Stable for the machine's life without writing state: a hash of machine-id. */
    char id[128] = "";
    FILE *f = fopen("/etc/machine-id", "r");
    if (f) {
        if (!fgets(id, sizeof id, f)) id[0] = '\0';
        fclose(f);
    }
    if (!id[0] && gethostname(id, sizeof id - 1) != 0) snprintf(id, sizeof id, "sky-driver");
    uint64_t h1 = 1469598103934665603ull, h2 = 0x9e3779b97f4a7c15ull;
    const char *salt = "sky-driver/e131-cid/";
    for (const char *s = salt; *s; s++) h1 = (h1 ^ (uint8_t)*s) * 1099511628211ull;
    for (const char *s = id; *s && *s != '\n'; s++) {
        h1 = (h1 ^ (uint8_t)*s) * 1099511628211ull;
        h2 = (h2 ^ h1) * 0xff51afd7ed558ccdull;
        h2 ^= h2 >> 33;
    }
    for (int i = 0; i < 8; i++) {
        cid[i] = (uint8_t)(h1 >> (56 - 8 * i));
        cid[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
    }
    cid[6] = (uint8_t)((cid[6] & 0x0f) | 0x50); /* name-based UUID (version 5 style) */
    cid[8] = (uint8_t)((cid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void config_init(drv_config *config) {
    memset(config, 0, sizeof *config);
    config->rate = 0;
    config->hold_s = 2.0;
    config->fade_s = 1.0;
    config->stale_s = 1.0;
    config->stats_s = 10.0;
    config->poll_ms = 1.0;
    char host[48] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) snprintf(host, sizeof host, "pi");
    snprintf(config->source_name, sizeof config->source_name, "sky-driver@%s", host);
    config_default_cid(config->cid);
}

static void out_config_init(out_config *oc) {
    memset(oc, 0, sizeof *oc);
    oc->enabled = true;
    oc->brightness = 1.0;
    oc->gamma = 2.2;
    /* FastLED's measured WS2812B figures at 5 V (src/power_mgt.h). */
    oc->ma_per_channel[0] = 16;
    oc->ma_per_channel[1] = 11;
    oc->ma_per_channel[2] = 15;
    oc->ma_idle = 1;
    oc->dither = CFG_DITHER_AUTO;
    oc->url.port = -1;
}

void config_free(drv_config *config) {
    if (!config) return;
    for (size_t i = 0; i < config->output_count; i++) url_free(&config->outputs[i].url);
    free(config->outputs);
    free(config->frame_path);
    free(config->source);
    memset(config, 0, sizeof *config);
}

/* ------------------------------------------------------------ value parsers */

int config_parse_range(const char *text, cfg_range *range) {
    long a = 0, b = 0;
    char buf[64];
    if (strlen(text) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", text);
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (!url_parse_long(buf, &a)) return -1;
    b = a;
    if (dash && !url_parse_long(dash + 1, &b)) return -1;
    if (a < 0 || b < a || b > (long)UINT32_MAX - 1) return -1;
    range->set = true;
    range->first = (uint32_t)a;
    range->last = (uint32_t)b;
    return 0;
}

bool config_parse_order(const char *text, char order[4]) {
    if (strlen(text) != 3) return false;
    char up[4];
    for (int i = 0; i < 3; i++) up[i] = (char)toupper((unsigned char)text[i]);
    up[3] = '\0';
    if (!strchr(up, 'R') || !strchr(up, 'G') || !strchr(up, 'B')) return false;
    memcpy(order, up, 4);
    return true;
}

bool config_parse_uuid(const char *text, uint8_t uuid[16]) {
    size_t n = 0;
    int hi = -1;
    for (const char *p = text; *p; p++) {
        int c = (unsigned char)*p, v;
        if (c == '-') {
            if (hi >= 0) return false;
            continue;
        }
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            return false;
        if (hi < 0) {
            hi = v;
        } else {
            if (n == 16) return false;
            uuid[n++] = (uint8_t)(hi * 16 + v);
            hi = -1;
        }
    }
    return n == 16 && hi < 0;
}

static int config_parse_currents(const char *text, double out[3]) {
    double v[3];
    char buf[128];
    if (strlen(text) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", text);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok)) tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1])) *--end = '\0';
        if (n == 3 || !url_parse_double(tok, &v[n]) || v[n] < 0) return -1;
        n++;
    }
    if (n == 1)
        v[1] = v[2] = v[0];
    else if (n != 3)
        return -1;
    memcpy(out, v, sizeof v);
    return 0;
}

/* ------------------------------------------------------------ keys */

enum {
    OK_URL,
    OK_STRIPS,
    OK_LEDS,
    OK_ORDER,
    OK_BRIGHTNESS,
    OK_GAMMA,
    OK_BUDGET,
    OK_MA_CHANNEL,
    OK_MA_IDLE,
    OK_DITHER,
    OK_RATE,
    OK_ENABLED,
    OK_COUNT
};
static const char *const out_keys[OK_COUNT] = {
    "url",       "strips",         "leds",    "order",  "brightness", "gamma",
    "budget_ma", "ma_per_channel", "ma_idle", "dither", "rate",       "enabled"};

enum {
    DK_FRAME,
    DK_RATE,
    DK_HOLD,
    DK_FADE,
    DK_STALE,
    DK_BUDGET,
    DK_STATS,
    DK_POLL,
    DK_NAME,
    DK_CID,
    DK_COUNT
};
static const char *const driver_keys[DK_COUNT] = {"frame",     "rate",  "hold",    "fade", "stale",
                                                  "budget_ma", "stats", "poll_ms", "name", "cid"};

static int key_index(const char *const *keys, int count, const char *key) {
    for (int i = 0; i < count; i++)
        if (strcmp(keys[i], key) == 0) return i;
    return -1;
}

static void key_list(const char *const *keys, int count, char *out, size_t len) {
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < count && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "", keys[i]);
}

static int want_number(const char *key, const char *value, double min, double max, bool min_open,
                       double *out, char *err, size_t err_len) {
    double v = 0;
    if (!url_parse_double(value, &v) || v < min || (min_open && v == min) || v > max) {
        if (min_open && max < 1e300)
            snprintf(err, err_len, "key `%s`: expected a number > %g and <= %g, got `%s`", key, min,
                     max, value);
        else if (max >= 1e300)
            snprintf(err, err_len, "key `%s`: expected a number %s %g, got `%s`", key,
                     min_open ? ">" : ">=", min, value);
        else
            snprintf(err, err_len, "key `%s`: expected a number %g..%g, got `%s`", key, min, max,
                     value);
        return -1;
    }
    *out = v;
    return 0;
}

int config_set_driver_key(drv_config *config, const char *key, const char *value, char *err,
                          size_t err_len) {
    int k = key_index(driver_keys, DK_COUNT, key);
    const double inf = 1e308;
    if (k < 0) {
        char list[256];
        key_list(driver_keys, DK_COUNT, list, sizeof list);
        snprintf(err, err_len, "unknown key `%s` in [driver] (known: %s)", key, list);
        return -1;
    }
    switch (k) {
    case DK_FRAME:
        if (!*value) {
            snprintf(err, err_len, "key `frame`: expected a path, got nothing");
            return -1;
        }
        free(config->frame_path);
        config->frame_path = strdup(value);
        if (!config->frame_path) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        return 0;
    case DK_RATE:
        return want_number(key, value, 0, 10000, false, &config->rate, err, err_len);
    case DK_HOLD:
        return want_number(key, value, 0, inf, false, &config->hold_s, err, err_len);
    case DK_FADE:
        return want_number(key, value, 0, inf, false, &config->fade_s, err, err_len);
    case DK_STALE:
        return want_number(key, value, 0.01, 3600, false, &config->stale_s, err, err_len);
    case DK_BUDGET:
        return want_number(key, value, 0, inf, false, &config->budget_ma, err, err_len);
    case DK_STATS:
        return want_number(key, value, 0, inf, false, &config->stats_s, err, err_len);
    case DK_POLL:
        return want_number(key, value, 0.1, 1000, false, &config->poll_ms, err, err_len);
    case DK_NAME:
        if (strlen(value) > 63) {
            snprintf(err, err_len, "key `name`: at most 63 bytes (E1.31 source name), got %zu",
                     strlen(value));
            return -1;
        }
        snprintf(config->source_name, sizeof config->source_name, "%s", value);
        return 0;
    case DK_CID:
        if (!config_parse_uuid(value, config->cid)) {
            snprintf(err, err_len,
                     "key `cid`: expected a UUID like 5f3c1a2e-8d4b-4c6f-9a1e-0b2d3c4e5f60, got "
                     "`%s`",
                     value);
            return -1;
        }
        config->cid_set = true;
        return 0;
    }
    return 0;
}

static int out_config_set(out_config *oc, const char *key, const char *value, char *err,
                          size_t err_len) {
    int k = key_index(out_keys, OK_COUNT, key);
    const double inf = 1e308;
    if (k < 0) {
        char list[256];
        key_list(out_keys, OK_COUNT, list, sizeof list);
        snprintf(err, err_len, "unknown key `%s` in [output %s] (known: %s)", key, oc->name, list);
        return -1;
    }
    if (oc->keys_seen & (1u << k)) {
        snprintf(err, err_len, "key `%s` given twice for output %s", key, oc->name);
        return -1;
    }
    oc->keys_seen |= 1u << k;
    bool b = false;
    switch (k) {
    case OK_URL: {
        char sub[400];
        if (url_parse(value, &oc->url, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "key `url`: %s", sub);
            return -1;
        }
        oc->has_url = true;
        return 0;
    }
    case OK_STRIPS:
    case OK_LEDS:
        if (config_parse_range(value, k == OK_STRIPS ? &oc->strips : &oc->leds) != 0) {
            snprintf(err, err_len,
                     "key `%s`: expected an index or an inclusive range FIRST-LAST (from 0), "
                     "got `%s`",
                     key, value);
            return -1;
        }
        return 0;
    case OK_ORDER:
        if (!config_parse_order(value, oc->order)) {
            snprintf(err, err_len,
                     "key `order`: expected R, G and B once each (RGB, GRB, BGR, ...), got `%s`",
                     value);
            return -1;
        }
        return 0;
    case OK_BRIGHTNESS:
        return want_number(key, value, 0, 1, false, &oc->brightness, err, err_len);
    case OK_GAMMA:
        return want_number(key, value, 0, 10, true, &oc->gamma, err, err_len);
    case OK_BUDGET:
        return want_number(key, value, 0, inf, false, &oc->budget_ma, err, err_len);
    case OK_MA_CHANNEL:
        if (config_parse_currents(value, oc->ma_per_channel) != 0) {
            snprintf(err, err_len,
                     "key `ma_per_channel`: expected one number or three (R,G,B), each >= 0, "
                     "got `%s`",
                     value);
            return -1;
        }
        return 0;
    case OK_MA_IDLE:
        return want_number(key, value, 0, inf, false, &oc->ma_idle, err, err_len);
    case OK_DITHER:
        if (strcasecmp(value, "auto") == 0) {
            oc->dither = CFG_DITHER_AUTO;
            return 0;
        }
        if (!url_parse_bool(value, &b)) {
            snprintf(err, err_len, "key `dither`: expected auto, on or off, got `%s`", value);
            return -1;
        }
        oc->dither = b ? CFG_DITHER_ON : CFG_DITHER_OFF;
        return 0;
    case OK_RATE:
        return want_number(key, value, 0, 10000, false, &oc->rate, err, err_len);
    case OK_ENABLED:
        if (!url_parse_bool(value, &oc->enabled)) {
            snprintf(err, err_len, "key `enabled`: expected yes or no, got `%s`", value);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* Moves output keys given as URL parameters (?order=GRB&brightness=0.5) into the config. */
static int out_config_take_url_keys(out_config *oc, char *err, size_t err_len) {
    for (size_t i = 0; i < oc->url.param_count; i++) {
        url_param *p = &oc->url.params[i];
        int k = key_index(out_keys, OK_COUNT, p->key);
        if (k < 0 || k == OK_URL) continue;
        char sub[400];
        if (out_config_set(oc, p->key, p->value, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "`%s`: %s", oc->url.text, sub);
            return -1;
        }
        p->used = true;
    }
    return 0;
}

static out_config *config_new_output(drv_config *config, const char *name, char *err,
                                     size_t err_len) {
    out_config *grown = realloc(config->outputs, (config->output_count + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    config->outputs = grown;
    out_config *oc = &config->outputs[config->output_count++];
    out_config_init(oc);
    snprintf(oc->name, sizeof oc->name, "%s", name);
    return oc;
}

/* ------------------------------------------------------------ the INI file */

typedef struct cfg_parse {
    drv_config *config;
    const char *name; /* file name for messages */
    const char *text; /* string input, or NULL */
    size_t text_pos;
    FILE *file;
    int line;           /* line number of the text last handed to inih */
    bool at_line_start; /* the previous chunk ended with '\n' */
    char section[256];  /* the section header last seen by the reader */
    int section_line;
    char seen_sections[64][256]; /* to reject a section given twice */
    size_t seen_count;
    char err[600]; /* first error, without the "FILE:LINE: " prefix */
    int err_line;
} cfg_parse;

static void cfg_fail(cfg_parse *p, int line, const char *msg) {
    if (p->err[0]) return;
    snprintf(p->err, sizeof p->err, "%s", msg);
    p->err_line = line;
}

/* Looks at one whole line the way inih will, to track sections. */
static void cfg_note_line(cfg_parse *p, const char *line) {
    while (isspace((unsigned char)*line)) line++;
    if (*line != '[') return;
    const char *close = strchr(line, ']');
    if (!close) return; /* inih reports it */
    size_t len = (size_t)(close - line - 1);
    if (len >= sizeof p->section) len = sizeof p->section - 1;
    memcpy(p->section, line + 1, len);
    p->section[len] = '\0';
    p->section_line = p->line;
    for (size_t i = 0; i < p->seen_count; i++) {
        if (strcmp(p->seen_sections[i], p->section) == 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "section [%s] given twice", p->section);
            cfg_fail(p, p->line, msg);
        }
    }
    if (p->seen_count < 64) {
        snprintf(p->seen_sections[p->seen_count], sizeof p->seen_sections[0], "%s", p->section);
        p->seen_count++;
    }
}

/* The next byte of the input, or EOF. */
static int cfg_getc(cfg_parse *p) {
    if (p->file) return getc(p->file);
    return p->text[p->text_pos] ? (unsigned char)p->text[p->text_pos++] : EOF;
}

/* Puts back the byte cfg_getc returned (one at most). */
static void cfg_ungetc(cfg_parse *p, int c) {
    if (c == EOF) return;
    if (p->file)
        ungetc(c, p->file);
    else
        p->text_pos--;
}

/* inih's fgets-style reader: counts lines, ends them at LF, CRLF or CR (handing inih "\n"),
 * and rejects lines longer than inih's buffer. */
static char *cfg_read_line(char *str, int num, void *stream) {
    cfg_parse *p = stream;
    size_t n = 0;
    int c = EOF;
    while (n + 1 < (size_t)num && (c = cfg_getc(p)) != EOF) {
        if (c == '\r') {
            int next = cfg_getc(p);
            if (next != '\n') cfg_ungetc(p, next);
            c = '\n';
        }
        str[n++] = (char)c;
        if (c == '\n') break;
    }
    str[n] = '\0';
    if (n == 0) return NULL;
    char *got = str;
    if (p->at_line_start) p->line++;
    size_t len = strlen(str);
    bool complete = len > 0 && str[len - 1] == '\n';
    int peek = cfg_getc(p);
    bool at_eof = peek == EOF;
    cfg_ungetc(p, peek);
    if (!complete && !at_eof && len + 1 >= (size_t)num) {
        char msg[128];
        snprintf(msg, sizeof msg, "line longer than %d bytes", num - 3);
        cfg_fail(p, p->line, msg);
    }
    p->at_line_start = complete;
    if (p->at_line_start || at_eof) cfg_note_line(p, str);
    return got;
}

static out_config *config_find_output(drv_config *config, const char *name) {
    for (size_t i = 0; i < config->output_count; i++)
        if (strcmp(config->outputs[i].name, name) == 0) return &config->outputs[i];
    return NULL;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value) {
    cfg_parse *p = user;
    char sub[500], msg[600];
    if (p->err[0]) return 0;
    if (strcmp(section, "driver") == 0) {
        uint32_t bit = 0;
        int k = key_index(driver_keys, DK_COUNT, name);
        if (k >= 0) bit = 1u << k;
        if (bit && (p->config->keys_seen & bit)) {
            snprintf(msg, sizeof msg, "key `%s` given twice in [driver]", name);
            cfg_fail(p, p->line, msg);
            return 0;
        }
        if (config_set_driver_key(p->config, name, value, sub, sizeof sub) != 0) {
            cfg_fail(p, p->line, sub);
            return 0;
        }
        p->config->keys_seen |= bit;
        return 1;
    }
    if (strncmp(section, "output", 6) == 0 && (section[6] == ' ' || section[6] == '\t')) {
        const char *oname = section + 7;
        while (*oname == ' ' || *oname == '\t') oname++;
        if (!*oname || strlen(oname) >= CFG_NAME_MAX) {
            snprintf(msg, sizeof msg, "section [%s]: an output needs a name of 1..%d bytes",
                     section, CFG_NAME_MAX - 1);
            cfg_fail(p, p->line, msg);
            return 0;
        }
        for (const char *c = oname; *c; c++) {
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') {
                snprintf(msg, sizeof msg,
                         "section [%s]: output names use letters, digits, '-', '_' and '.'",
                         section);
                cfg_fail(p, p->line, msg);
                return 0;
            }
        }
        out_config *oc = config_find_output(p->config, oname);
        if (!oc) {
            oc = config_new_output(p->config, oname, sub, sizeof sub);
            if (!oc) {
                cfg_fail(p, p->line, sub);
                return 0;
            }
            snprintf(oc->where, sizeof oc->where, "%s:%d", p->name, p->section_line);
        }
        if (out_config_set(oc, name, value, sub, sizeof sub) != 0) {
            cfg_fail(p, p->line, sub);
            return 0;
        }
        if (strcmp(name, "url") == 0)
            snprintf(oc->url_where, sizeof oc->url_where, "%s:%d: key `url`", p->name, p->line);
        return 1;
    }
    snprintf(msg, sizeof msg, "unknown section [%s]: expected [driver] or [output NAME]", section);
    if (!*section) snprintf(msg, sizeof msg, "key `%s` is outside any section", name);
    cfg_fail(p, p->line, msg);
    return 0;
}

static int config_parse(drv_config *config, cfg_parse *p, char *err, size_t err_len) {
    p->config = config;
    p->at_line_start = true;
    size_t first_new = config->output_count;
    int saved_max = ini_max_line;
    ini_max_line = CFG_LINE_MAX; /* Debian's inih reads its buffer size at run time */
    int rc = ini_parse_stream(cfg_read_line, p, cfg_handler, p);
    ini_max_line = saved_max;
    if (rc == -2) {
        snprintf(err, err_len, "%s: out of memory", p->name);
        return -1;
    }
    if (p->err[0] && !(rc > 0 && rc < p->err_line)) {
        snprintf(err, err_len, "%s:%d: %s", p->name, p->err_line, p->err);
        return -1;
    }
    if (rc > 0) { /* inih's own error came first */
        snprintf(err, err_len,
                 "%s:%d: syntax error: expected `[section]`, `key = value` or a comment", p->name,
                 rc);
        return -1;
    }
    for (size_t i = first_new; i < config->output_count; i++) {
        out_config *oc = &config->outputs[i];
        char sub[500];
        if (!oc->has_url) {
            snprintf(err, err_len, "%s: [output %s]: missing key `url`", oc->where, oc->name);
            return -1;
        }
        if (out_config_take_url_keys(oc, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "%s: %s", oc->url_where, sub);
            return -1;
        }
    }
    return 0;
}

/* Opens the config for reading without blocking on a FIFO; NULL with a message when it is not a
 * regular file. */
static FILE *config_open_regular(const char *path, char *err, size_t err_len) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file (%s); the config must be a file", path,
                 S_ISFIFO(st.st_mode)  ? "a FIFO"
                 : S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISCHR(st.st_mode) ? "a character device"
                                       : "a special file");
        close(fd);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = NULL;
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "r"))) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    return f;
}

int config_load_file(drv_config *config, const char *path, char *err, size_t err_len) {
    cfg_parse p = {0};
    p.name = path;
    p.file = config_open_regular(path, err, err_len);
    if (!p.file) return -1;
    int rc = config_parse(config, &p, err, err_len);
    if (rc == 0 && ferror(p.file)) {
        snprintf(err, err_len, "%s: read error", path);
        rc = -1;
    }
    fclose(p.file);
    if (rc == 0) {
        free(config->source);
        config->source = strdup(path);
        if (!config->source) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    return rc;
}

int config_load_string(drv_config *config, const char *name, const char *text, char *err,
                       size_t err_len) {
    cfg_parse p = {0};
    p.name = name;
    p.text = text;
    return config_parse(config, &p, err, err_len);
}

int config_add_url(drv_config *config, const char *url, char *err, size_t err_len) {
    char name[32], sub[500];
    snprintf(name, sizeof name, "out%zu", config->output_count + 1);
    while (config_find_output(config, name))
        snprintf(name, sizeof name, "out%zu_", config->output_count + 1);
    out_config *oc = config_new_output(config, name, err, err_len);
    if (!oc) return -1;
    snprintf(oc->where, sizeof oc->where, "--out `%.280s`", url);
    snprintf(oc->url_where, sizeof oc->url_where, "--out");
    if (out_config_set(oc, "url", url, sub, sizeof sub) != 0 ||
        out_config_take_url_keys(oc, sub, sizeof sub) != 0) {
        snprintf(err, err_len, "--out: %s", sub);
        return -1;
    }
    return 0;
}

int config_finish(drv_config *config, char *err, size_t err_len) {
    if (!config->frame_path) {
        config->frame_path = strdup(SKY_FRAME_DEFAULT_PATH);
        if (!config->frame_path) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    size_t enabled = 0;
    for (size_t i = 0; i < config->output_count; i++) enabled += config->outputs[i].enabled;
    if (enabled == 0) {
        snprintf(err, err_len,
                 "no outputs: give --out URL (e.g. --out ddp://127.0.0.1) or [output NAME] "
                 "sections in a config file");
        return -1;
    }
    return 0;
}

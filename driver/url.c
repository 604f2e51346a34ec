/*
 * url.c - splitting output URLs and strict parsing of numbers and booleans.
 *
 * The grammar is the small subset outputs need: scheme "://" authority path
 * "?" query. The authority is host[:port] with IPv6 in brackets (a bare
 * IPv6 address is an error that shows the bracketed form); query values are
 * percent-decoded (a source name may hold spaces: name=Main%20Stage), and a
 * '%' that ends a value, which no escape can be, stands for itself (pace=50%).
 * The number parsers are strict (the whole text must be a number, no
 * overflow) and shared with the config file, so "12abc" is always an error.
 */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool url_parse_long(const char *text, long *value) {
    if (!text || !*text || isspace((unsigned char)*text)) return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return false;
    *value = v;
    return true;
}

bool url_parse_double(const char *text, double *value) {
    if (!text || !*text || isspace((unsigned char)*text)) return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v)) return false;
    *value = v;
    return true;
}

bool url_parse_bool(const char *text, bool *value) {
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *value = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *value = false;
            return true;
        }
    }
    return false;
}

static int url_hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into a new string; NULL with a message on a bad escape. */
static char *url_decode(const char *src, size_t len, char *err, size_t err_len) {
    char *out = malloc(len + 1);
    if (!out) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '%' || i + 1 == len) { /* a final '%' is itself: pace=50% */
            out[n++] = src[i];
            continue;
        }
        if (i + 2 >= len || url_hex(src[i + 1]) < 0 || url_hex(src[i + 2]) < 0) {
            snprintf(err, err_len, "bad percent escape in `%.*s`", (int)len, src);
            free(out);
            return NULL;
        }
        int c = url_hex(src[i + 1]) * 16 + url_hex(src[i + 2]);
        if (c == 0) {
            snprintf(err, err_len, "%%00 is not allowed in `%.*s`", (int)len, src);
            free(out);
            return NULL;
        }
        out[n++] = (char)c;
        i += 2;
    }
    out[n] = '\0';
    return out;
}

static char *url_dup(const char *src, size_t len) {
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, src, len);
        out[len] = '\0';
    }
    return out;
}

static bool url_path_only(const char *scheme) {
    return strcmp(scheme, "spi") == 0 || strcmp(scheme, "file") == 0;
}

static int url_parse_authority(drv_url *url, const char *start, const char *end, char *err,
                               size_t err_len) {
    const char *host_end;
    const char *p = start;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) {
            snprintf(err, err_len, "unclosed `[` in the host");
            return -1;
        }
        url->host = url_dup(p + 1, (size_t)(close - p - 1));
        host_end = close + 1;
        if (host_end < end && *host_end != ':') {
            snprintf(err, err_len, "unexpected `%c` after `]`", *host_end);
            return -1;
        }
    } else {
        host_end = p;
        while (host_end < end && *host_end != ':') host_end++;
        /* Two colons cannot be host:port: an IPv6 address needs its brackets. */
        if (host_end < end && memchr(host_end + 1, ':', (size_t)(end - host_end - 1))) {
            int len = (int)(end - p);
            snprintf(err, err_len,
                     "`%.*s` looks like an IPv6 address: put it in brackets, `[%.*s]` "
                     "(with a port: `[ADDRESS]:PORT`)",
                     len, p, len, p);
            return -1;
        }
        url->host = url_dup(p, (size_t)(host_end - p));
    }
    if (!url->host) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (host_end < end) { /* ":port" */
        char port[16];
        size_t len = (size_t)(end - host_end - 1);
        long v = 0;
        if (len == 0 || len >= sizeof port) {
            snprintf(err, err_len, "bad port `%.*s`", (int)len, host_end + 1);
            return -1;
        }
        memcpy(port, host_end + 1, len);
        port[len] = '\0';
        if (!url_parse_long(port, &v) || v < 1 || v > 65535) {
            snprintf(err, err_len, "bad port `%s`: expected 1..65535", port);
            return -1;
        }
        url->port = (int)v;
    }
    return 0;
}

static int url_parse_query(drv_url *url, const char *q, char *err, size_t err_len) {
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 0) {
            if (url->param_count == URL_MAX_PARAMS) {
                snprintf(err, err_len, "more than %d parameters", URL_MAX_PARAMS);
                return -1;
            }
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            if (klen == 0) {
                snprintf(err, err_len, "parameter `%.*s` has no name", (int)len, q);
                return -1;
            }
            url_param *p = &url->params[url->param_count];
            p->key = url_decode(q, klen, err, err_len);
            if (!p->key) return -1;
            p->value = eq ? url_decode(eq + 1, len - klen - 1, err, err_len) : url_dup("", 0);
            url->param_count++;
            if (!p->value) return -1;
            for (size_t i = 0; i + 1 < url->param_count; i++) {
                if (strcmp(url->params[i].key, p->key) == 0) {
                    snprintf(err, err_len, "parameter `%s` given twice", p->key);
                    return -1;
                }
            }
        }
        q += len;
        if (*q == '&') q++;
    }
    return 0;
}

int url_parse(const char *text, drv_url *url, char *err, size_t err_len) {
    memset(url, 0, sizeof *url);
    url->port = -1;
    url->text = strdup(text);
    const char *sep = strstr(text, "://");
    const char *s = text;
    if (!url->text) goto nomem;
    if (!sep || sep == text) {
        snprintf(err, err_len, "`%s` is not a URL: expected scheme://... (e.g. ddp://127.0.0.1)",
                 text);
        return -1;
    }
    for (; s < sep; s++) {
        if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-' && *s != '.') {
            snprintf(err, err_len, "`%s`: bad character `%c` in the scheme", text, *s);
            return -1;
        }
    }
    url->scheme = url_dup(text, (size_t)(sep - text));
    if (!url->scheme) goto nomem;
    for (char *c = url->scheme; *c; c++) *c = (char)tolower((unsigned char)*c);

    const char *body = sep + 3;
    const char *query = strchr(body, '?');
    const char *body_end = query ? query : body + strlen(body);
    if (url_path_only(url->scheme)) {
        url->host = url_dup("", 0);
        url->path = url_dup(body, (size_t)(body_end - body));
        if (!url->host || !url->path) goto nomem;
    } else {
        const char *slash = memchr(body, '/', (size_t)(body_end - body));
        const char *auth_end = slash ? slash : body_end;
        char sub[200];
        if (url_parse_authority(url, body, auth_end, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "`%s`: %s", text, sub);
            return -1;
        }
        url->path = url_dup(auth_end, (size_t)(body_end - auth_end));
        if (!url->path) goto nomem;
    }
    if (query) {
        char sub[200];
        if (url_parse_query(url, query + 1, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "`%s`: %s", text, sub);
            return -1;
        }
    }
    return 0;
nomem:
    snprintf(err, err_len, "out of memory");
    return -1;
}

void url_free(drv_url *url) {
    if (!url) return;
    free(url->text);
    free(url->scheme);
    free(url->host);
    free(url->path);
    for (size_t i = 0; i < url->param_count; i++) {
        free(url->params[i].key);
        free(url->params[i].value);
    }
    memset(url, 0, sizeof *url);
}

bool url_has(const drv_url *url, const char *key) {
    for (size_t i = 0; i < url->param_count; i++)
        if (strcmp(url->params[i].key, key) == 0) return true;
    return false;
}

const char *url_get(drv_url *url, const char *key) {
    for (size_t i = 0; i < url->param_count; i++) {
        if (strcmp(url->params[i].key, key) == 0) {
            url->params[i].used = true;
            return url->params[i].value;
        }
    }
    return NULL;
}

int url_get_long(drv_url *url, const char *key, long min, long max, long *value, char *err,
                 size_t err_len) {
    const char *text = url_get(url, key);
    long v = 0;
    if (!text) return 0;
    if (!url_parse_long(text, &v) || v < min || v > max) {
        snprintf(err, err_len, "`%s`: parameter `%s`: expected an integer %ld..%ld, got `%s`",
                 url->text, key, min, max, text);
        return -1;
    }
    *value = v;
    return 0;
}

int url_get_double(drv_url *url, const char *key, double min, double max, double *value, char *err,
                   size_t err_len) {
    const char *text = url_get(url, key);
    double v = 0;
    if (!text) return 0;
    if (!url_parse_double(text, &v) || v < min || v > max) {
        snprintf(err, err_len, "`%s`: parameter `%s`: expected a number %g..%g, got `%s`",
                 url->text, key, min, max, text);
        return -1;
    }
    *value = v;
    return 0;
}

int url_get_bool(drv_url *url, const char *key, bool *value, char *err, size_t err_len) {
    const char *text = url_get(url, key);
    if (!text) return 0;
    if (*text == '\0') { /* a bare "?sync" means yes */
        *value = true;
        return 0;
    }
    if (!url_parse_bool(text, value)) {
        snprintf(err, err_len, "`%s`: parameter `%s`: expected yes/no (1/0), got `%s`", url->text,
                 key, text);
        return -1;
    }
    return 0;
}

const char *url_unused(const drv_url *url) {
    for (size_t i = 0; i < url->param_count; i++)
        if (!url->params[i].used) return url->params[i].key;
    return NULL;
}

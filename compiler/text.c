/*
 * text.c - the compiler's one string builder (text.h).
 *
 * Capacity doubles from 256 bytes, so appending n bytes in any pieces costs
 * O(n) copying; a size that would overflow size_t fails like malloc does.
 */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_FIRST_CAP 256

bool text_reserve(text_buf *t, size_t extra) {
    if (t->failed) return false;
    if (extra >= SIZE_MAX - t->len) {
        t->failed = true;
        return false;
    }
    if (t->len + extra + 1 <= t->cap) return true;
    size_t cap = t->cap ? t->cap : TEXT_FIRST_CAP;
    while (cap < t->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            t->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *data = realloc(t->data, cap);
    if (!data) {
        t->failed = true;
        return false;
    }
    t->data = data;
    t->cap = cap;
    return true;
}

void text_append(text_buf *t, const char *s, size_t n) {
    if (!text_reserve(t, n)) return;
    if (n) memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void text_puts(text_buf *t, const char *s) {
    text_append(t, s, strlen(s));
}

void text_spaces(text_buf *t, size_t n) {
    if (!text_reserve(t, n)) return;
    memset(t->data + t->len, ' ', n);
    t->len += n;
    t->data[t->len] = '\0';
}

void text_vprintf(text_buf *t, const char *fmt, va_list ap) {
    if (t->failed) return;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if (!text_reserve(t, (size_t)n)) return;
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    t->len += (size_t)n;
}

void text_printf(text_buf *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

char *text_take(text_buf *t, size_t *len) {
    if (!text_reserve(t, 0)) {
        text_free(t);
        return NULL;
    }
    if (t->len == 0) t->data[0] = '\0';
    char *s = t->data;
    if (len) *len = t->len;
    t->data = NULL;
    t->len = t->cap = 0;
    return s;
}

void text_free(text_buf *t) {
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}

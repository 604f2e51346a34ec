/*
 * text.h - the compiler's one string builder: a growable NUL-terminated
 * string in malloc'd memory.
 *
 * Used wherever the compiler writes text whose length it cannot bound in
 * advance: the GLSL shader, shaderc's error report, the IR listing, the
 * rendered diagnostics and the syntax-tree printer. After an allocation
 * failure `failed` is set and every later call is a no-op, so a caller
 * appends freely and checks once, when it takes the string.
 */
#ifndef SKY_TEXT_H
#define SKY_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct text_buf {
    char *data; /* NUL-terminated once anything was appended; NULL before */
    size_t len, cap;
    bool failed;
} text_buf;

/* Room for `extra` more bytes and the NUL; false (and `failed` set) when memory runs out. */
bool text_reserve(text_buf *t, size_t extra);
void text_append(text_buf *t, const char *s, size_t n);
void text_puts(text_buf *t, const char *s);
void text_spaces(text_buf *t, size_t n);
void text_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_vprintf(text_buf *t, const char *fmt, va_list ap);
/* Hands the string (malloc'd, "" when nothing was appended) to the caller and
 * empties `t`; NULL, with `t` freed, after a failure. */
char *text_take(text_buf *t, size_t *len);
void text_free(text_buf *t);

#endif

/*
 * diag.c - diagnostics: collection, "did you mean", copying out, rendering.
 *
 * Phases record errors as byte spans; this file turns them into what people
 * read. Line and column are computed only when copying out (columns count
 * UTF-8 code points, an invalid byte counting as one), and the copy keeps a
 * printable window of each diagnostic's source line so it can be rendered
 * after the source buffer is gone:
 *
 *   file:line:col: error[E0301]: unknown name `rr`
 *      |
 *   12 |   let d = abs(rr - ring)
 *      |               ^^
 *      = help: did you mean `r`?
 *
 * Source lines are shown as they are, except that tabs become spaces (so the
 * carets line up), control characters become their visible Unicode pictures,
 * invalid UTF-8 becomes U+FFFD, and lines longer than 120 code points are
 * cut to a window around the span.
 */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define SHOW_MAX_COLS     120 /* longest source line shown whole */
#define SHOW_LEAD_COLS    40  /* code points shown before the span in a cut line */
#define SUGGEST_MAX_LEN   64  /* names longer than this get no suggestion */
#define MESSAGE_MAX_BYTES 400 /* longer messages and helps are cut, ending in "..." */
#define LIMIT_TEXT_(n)    #n
#define LIMIT_TEXT(n)     LIMIT_TEXT_(n)

/* ------------------------------------------------------------------ UTF-8 */

int diag_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Bytes of the code point (or lone invalid byte) at s[0 .. n): never 0 when n > 0. */
static size_t utf8_step(const unsigned char *s, size_t n) {
    uint32_t cp;
    int k = diag_utf8_decode(s, n, &cp);
    return k > 0 ? (size_t)k : 1;
}

static uint32_t count_code_points(const char *s, size_t n) {
    uint32_t cols = 0;
    for (size_t i = 0; i < n; i += utf8_step((const unsigned char *)s + i, n - i)) cols++;
    return cols;
}

static size_t line_start_of(const char *src, size_t offset) {
    while (offset > 0 && src[offset - 1] != '\n') offset--;
    return offset;
}

void diag_line_col(const char *src, size_t len, uint32_t offset, uint32_t *line, uint32_t *col) {
    size_t off = offset > len ? len : offset;
    uint32_t lines = 1;
    for (const char *p = src, *end = src + off; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        lines++;
    size_t start = line_start_of(src, off);
    *line = lines;
    *col = count_code_points(src + start, off - start) + 1;
}

/* ------------------------------------------------------------- collection */

void diag_init(diag_list *d, arena *a, const char *filename, const char *src, size_t len) {
    memset(d, 0, sizeof *d);
    d->a = a;
    d->filename = filename ? filename : "<input>";
    d->src = src;
    d->len = len;
}

bool diag_stopped(const diag_list *d) {
    return d->stopped || d->nomem;
}

static diag_entry *diag_push(diag_list *d) {
    if (d->count == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 16;
        diag_entry *grown =
            arena_realloc(d->a, d->items, d->cap * sizeof *d->items, cap * sizeof *d->items);
        if (!grown) {
            d->nomem = true;
            return NULL;
        }
        d->items = grown;
        d->cap = cap;
    }
    diag_entry *e = &d->items[d->count];
    memset(e, 0, sizeof *e);
    return e;
}

static bool is_duplicate(const diag_list *d, const char *code, uint32_t start) {
    for (uint32_t i = 0; i < d->count; i++)
        if (d->items[i].severity == SKY_SEVERITY_ERROR && d->items[i].start == start &&
            strcmp(d->items[i].code, code) == 0)
            return true;
    return false;
}

/* Messages quote names; a name of 100 KB must not make a message of 100 KB. */
static char *shorten(char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n <= MESSAGE_MAX_BYTES) return s;
    size_t cut = MESSAGE_MAX_BYTES - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--; /* a whole code point */
    memcpy(s + cut, "...", 4);
    return s;
}

/*
 * Formats the message and appends an entry in its own group (notes move it to
 * their error's); NULL, with nomem set, when memory runs out.
 */
static diag_entry *diag_add(diag_list *d, sky_severity severity, const char *code, uint32_t start,
                            uint32_t end, const char *help, const char *fmt, va_list ap) {
    char *message = shorten(arena_vprintf(d->a, fmt, ap));
    diag_entry *e = message ? diag_push(d) : NULL;
    if (!e) {
        d->nomem = true;
        return NULL;
    }
    e->severity = severity;
    e->code = code;
    e->start = start;
    e->end = end < start && start != DIAG_NO_POS ? start : end;
    e->message = message;
    e->help = help;
    e->group = d->count;
    d->count++;
    return e;
}

bool diag_verror(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                 const char *fmt, va_list ap) {
    d->last_kept = false;
    if (diag_stopped(d)) return false;
    if (is_duplicate(d, code, start)) return false;
    if (d->errors >= SKY_MAX_ERRORS) {
        d->stopped = true;
        return false;
    }
    if (!diag_add(d, SKY_SEVERITY_ERROR, code, start, end, help, fmt, ap)) return false;
    d->errors++;
    d->last_kept = true;
    return true;
}

bool diag_error(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool kept = diag_verror(d, code, start, end, help, fmt, ap);
    va_end(ap);
    return kept;
}

void diag_warning(diag_list *d, const char *code, uint32_t start, uint32_t end, const char *help,
                  const char *fmt, ...) {
    d->last_kept = false; /* notes attach to errors only */
    if (diag_stopped(d)) return;
    va_list ap;
    va_start(ap, fmt);
    diag_add(d, SKY_SEVERITY_WARNING, code, start, end, help, fmt, ap);
    va_end(ap);
}

void diag_note(diag_list *d, uint32_t start, uint32_t end, const char *fmt, ...) {
    if (!d->last_kept || d->nomem) return;
    uint32_t group = d->count - 1;
    while (d->items[group].severity != SKY_SEVERITY_ERROR) group--;
    va_list ap;
    va_start(ap, fmt);
    diag_entry *e = diag_add(d, SKY_SEVERITY_NOTE, NULL, start, end, NULL, fmt, ap);
    va_end(ap);
    if (e) e->group = group;
}

char *diag_fmt(diag_list *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = shorten(arena_vprintf(d->a, fmt, ap));
    va_end(ap);
    if (!s) d->nomem = true;
    return s;
}

const char *diag_snippet(diag_list *d, uint32_t start, uint32_t end, uint32_t max) {
    if (start > d->len) start = (uint32_t)d->len;
    if (end > d->len) end = (uint32_t)d->len;
    if (end < start) end = start;
    size_t n = end - start;
    char *out = arena_alloc(d->a, n * 3 + 4); /* U+FFFD for each invalid byte, "..." */
    if (!out) {
        d->nomem = true;
        return "";
    }
    const unsigned char *s = (const unsigned char *)d->src + start;
    size_t o = 0;
    uint32_t shown = 0;
    for (size_t i = 0; i < n; shown++) {
        if (shown == max) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        uint32_t cp;
        int k = diag_utf8_decode(s + i, n - i, &cp);
        if (k == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else if (cp < 0x20 || cp == 0x7F) {
            out[o++] = ' ';
            i++;
        } else {
            memcpy(out + o, s + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        }
    }
    out[o] = '\0';
    return out;
}

/* ----------------------------------------------------------- did you mean */

unsigned diag_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned cap) {
    if (alen > SUGGEST_MAX_LEN || blen > SUGGEST_MAX_LEN) return cap + 1;
    if ((alen > blen ? alen - blen : blen - alen) > cap) return cap + 1;
    unsigned rows[3][SUGGEST_MAX_LEN + 1];
    unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++) prev[j] = (unsigned)j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = (unsigned)i;
        unsigned row_min = cur[0];
        for (size_t j = 1; j <= blen; j++) {
            unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
            unsigned v = prev[j - 1] + cost;
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < row_min) row_min = v;
        }
        if (row_min > cap) return cap + 1;
        unsigned *t = prev2;
        prev2 = prev, prev = cur, cur = t;
    }
    return prev[blen];
}

void diag_suggest_init(diag_suggest *s, const char *name, size_t len) {
    s->name = name;
    s->len = len;
    s->limit = len < 6 ? 1 : (unsigned)(len / 3 > 3 ? 3 : len / 3);
    s->best = NULL;
    s->best_dist = s->limit + 1;
}

void diag_suggest_consider(diag_suggest *s, const char *candidate) {
    size_t n = strlen(candidate);
    unsigned dist = diag_edit_distance(s->name, s->len, candidate, n, s->limit);
    if (dist == 0 || dist > s->limit) return;
    /* The first candidate wins a tie: callers list the closest scopes first. */
    if (dist < s->best_dist) {
        s->best = candidate;
        s->best_dist = dist;
    }
}

const char *diag_suggest_help(diag_list *d, const diag_suggest *s) {
    return s->best ? diag_fmt(d, "did you mean `%s`?", s->best) : NULL;
}

/* ------------------------------------------------------------- copying out */

/* Appends one code point in its printable form; returns the display columns it took. */
static uint32_t show_code_point(text_buf *b, const unsigned char *s, size_t n, size_t *used,
                                uint32_t column) {
    uint32_t cp;
    int k = diag_utf8_decode(s, n, &cp);
    *used = k > 0 ? (size_t)k : 1;
    if (k == 0 || (cp >= 0x80 && cp < 0xA0)) {
        text_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
    } else if (cp == '\t') {
        uint32_t width = 4 - column % 4;
        text_spaces(b, width);
        return width;
    } else if (cp < 0x20) {
        char pic[3] = {(char)0xE2, (char)0x90, (char)(0x80 + cp)}; /* U+2400 + c */
        text_append(b, pic, 3);
    } else if (cp == 0x7F) {
        text_puts(b, "\xE2\x90\xA1"); /* U+2421 */
    } else {
        text_append(b, (const char *)s, (size_t)k);
    }
    return 1;
}

/* Fills text, caret_at and caret_len of `out` for a span on one line of the source. */
static bool show_line(const diag_list *d, uint32_t start, uint32_t end, diag_shown *out) {
    size_t off = start > d->len ? d->len : start;
    size_t ls = line_start_of(d->src, off);
    const char *nl = memchr(d->src + ls, '\n', d->len - ls);
    size_t le = nl ? (size_t)(nl - d->src) : d->len;
    if (le > ls && d->src[le - 1] == '\r') le--;
    size_t cs = off < le ? off : le;
    size_t ce = end > cs ? (end < le ? end : le) : cs;

    const unsigned char *line = (const unsigned char *)d->src + ls;
    uint32_t total = count_code_points(d->src + ls, le - ls);
    uint32_t cp_s = count_code_points(d->src + ls, cs - ls);
    uint32_t cp_e = count_code_points(d->src + ls, ce - ls);
    uint32_t from = 0, to = total;
    if (total > SHOW_MAX_COLS) {
        from = cp_s > SHOW_LEAD_COLS ? cp_s - SHOW_LEAD_COLS : 0;
        to = from + SHOW_MAX_COLS < total ? from + SHOW_MAX_COLS : total;
        if (to - from < SHOW_MAX_COLS) from = to - SHOW_MAX_COLS;
    }

    text_buf b = {0};
    uint32_t column = 0, caret_end = 0;
    if (from > 0) {
        text_puts(&b, "...");
        column = 3;
    }
    size_t i = 0;
    for (uint32_t cp = 0; cp <= to; cp++) {
        if (cp == cp_s) out->caret_at = column;
        if (cp == (cp_e < to ? cp_e : to)) caret_end = column;
        if (cp == to) break;
        size_t used;
        if (cp < from) {
            i += utf8_step(line + i, le - ls - i);
            continue;
        }
        column += show_code_point(&b, line + i, le - ls - i, &used, column);
        i += used;
    }
    if (to < total) text_puts(&b, "...");
    out->text = text_take(&b, NULL);
    if (!out->text) return false;
    out->caret_len = caret_end > out->caret_at ? caret_end - out->caret_at : 1;
    return true;
}

static char *dup_string(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    if (c) memcpy(c, s, n + 1);
    return c;
}

static bool export_one(const diag_list *d, const diag_entry *e, diag_shown *out) {
    sky_diag *p = &out->pub;
    p->severity = e->severity;
    p->start = e->start;
    p->end = e->end;
    p->code = dup_string(e->code);
    p->filename = dup_string(d->filename);
    p->message = dup_string(e->message);
    p->help = dup_string(e->help);
    out->attached = e->severity == SKY_SEVERITY_NOTE;
    if ((e->code && !p->code) || !p->filename || !p->message || (e->help && !p->help)) return false;
    if (e->start == DIAG_NO_POS) return true;
    diag_line_col(d->src, d->len, e->start, &p->line, &p->col);
    diag_line_col(d->src, d->len, e->end, &p->end_line, &p->end_col);
    return show_line(d, e->start, e->end, out);
}

/* Source order: by the start of each error; notes right after their error. */
static bool entry_before(const diag_list *d, uint32_t a, uint32_t b) {
    const diag_entry *ea = &d->items[a], *eb = &d->items[b];
    uint32_t ga = d->items[ea->group].start, gb = d->items[eb->group].start;
    if (ga != gb) return ga < gb;
    if (ea->group != eb->group) return ea->group < eb->group;
    return a < b;
}

/* Insertion sort: the list holds at most a few dozen entries (SKY_MAX_ERRORS and their notes). */
static void sort_entries(const diag_list *d, uint32_t *order) {
    for (uint32_t i = 0; i < d->count; i++) order[i] = i;
    for (uint32_t i = 1; i < d->count; i++) {
        uint32_t v = order[i], j = i;
        for (; j > 0 && entry_before(d, v, order[j - 1]); j--) order[j] = order[j - 1];
        order[j] = v;
    }
}

void diag_export_free(sky_diagnostics *diagnostics) {
    if (!diagnostics) return;
    for (size_t i = 0; i < diagnostics->count; i++) {
        diag_shown *s = &diagnostics->items[i];
        free((char *)s->pub.code);
        free((char *)s->pub.filename);
        free((char *)s->pub.message);
        free((char *)s->pub.help);
        free(s->text);
    }
    free(diagnostics->items);
    free(diagnostics);
}

sky_status diag_export(const diag_list *d, sky_diagnostics **out) {
    *out = NULL;
    sky_diagnostics *r = calloc(1, sizeof *r);
    size_t total = (size_t)d->count + (d->stopped ? 1 : 0);
    uint32_t *order = malloc((d->count + 1) * sizeof *order);
    if (r && total) r->items = calloc(total, sizeof *r->items);
    if (!r || !order || (total && !r->items)) goto nomem;
    sort_entries(d, order);
    for (uint32_t i = 0; i < d->count; i++) {
        const diag_entry *e = &d->items[order[i]];
        r->count++;
        if (!export_one(d, e, &r->items[i])) goto nomem;
        if (e->severity == SKY_SEVERITY_ERROR) r->errors++;
    }
    if (d->stopped) {
        diag_entry limit = {.severity = SKY_SEVERITY_NOTE,
                            .start = DIAG_NO_POS,
                            .end = DIAG_NO_POS,
                            .message =
                                "too many errors; stopping after " LIMIT_TEXT(SKY_MAX_ERRORS)};
        r->count++;
        if (!export_one(d, &limit, &r->items[total - 1])) goto nomem;
        r->items[total - 1].attached = false;
    }
    free(order);
    *out = r;
    return SKY_OK;
nomem:
    free(order);
    diag_export_free(r);
    return SKY_ERR_NOMEM;
}

sky_diagnostics *diag_export_plain(const char *filename, const char *code, const char *message) {
    sky_diagnostics *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->items = calloc(1, sizeof *r->items);
    if (!r->items) {
        free(r);
        return NULL;
    }
    r->count = 1;
    r->errors = 1;
    sky_diag *p = &r->items[0].pub;
    p->severity = SKY_SEVERITY_ERROR;
    p->start = p->end = DIAG_NO_POS;
    p->code = dup_string(code);
    p->filename = dup_string(filename ? filename : "<input>");
    p->message = dup_string(message);
    if (!p->code || !p->filename || !p->message) {
        diag_export_free(r);
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------------ render */

#define ANSI_RESET "\x1b[0m"
#define ANSI_BOLD  "\x1b[1m"
#define ANSI_RED   "\x1b[1;31m"
#define ANSI_YEL   "\x1b[1;33m"
#define ANSI_GREEN "\x1b[1;32m"
#define ANSI_BLUE  "\x1b[1;34m"
#define ANSI_CYAN  "\x1b[1;36m"

typedef struct palette {
    const char *reset, *bold, *level, *gutter, *help;
} palette;

static unsigned digits(uint32_t n) {
    unsigned k = 1;
    while (n >= 10) n /= 10, k++;
    return k;
}

static void render_one(text_buf *b, const diag_shown *s, bool color) {
    const sky_diag *p = &s->pub;
    const char *level_name = p->severity == SKY_SEVERITY_ERROR     ? "error"
                             : p->severity == SKY_SEVERITY_WARNING ? "warning"
                                                                   : "note";
    const char *level_color = p->severity == SKY_SEVERITY_ERROR     ? ANSI_RED
                              : p->severity == SKY_SEVERITY_WARNING ? ANSI_YEL
                                                                    : ANSI_GREEN;
    palette c = {"", "", "", "", ""};
    if (color) c = (palette){ANSI_RESET, ANSI_BOLD, level_color, ANSI_BLUE, ANSI_CYAN};

    text_printf(b, "%s%s", c.bold, p->filename);
    if (s->text) text_printf(b, ":%u:%u", p->line, p->col);
    text_printf(b, ":%s %s%s", c.reset, c.level, level_name);
    if (p->code) text_printf(b, "[%s]", p->code);
    text_printf(b, "%s%s: %s%s\n", c.reset, c.bold, p->message, c.reset);

    unsigned width = digits(s->text ? p->line : 1);
    if (s->text) {
        text_spaces(b, width + 1);
        text_printf(b, "%s|%s\n", c.gutter, c.reset);
        text_printf(b, "%s%u |%s", c.gutter, p->line, c.reset);
        if (s->text[0]) text_printf(b, " %s", s->text);
        text_puts(b, "\n");
        text_spaces(b, width + 1);
        text_printf(b, "%s|%s ", c.gutter, c.reset);
        text_spaces(b, s->caret_at);
        text_puts(b, c.level);
        for (uint32_t i = 0; i < s->caret_len; i++) text_append(b, "^", 1);
        text_printf(b, "%s\n", c.reset);
    }
    if (p->help) {
        text_spaces(b, width + 1);
        text_printf(b, "%s= help:%s %s\n", c.help, c.reset, p->help);
    }
}

sky_status diag_render(const sky_diagnostics *diagnostics, bool color, char **text) {
    text_buf b = {0};
    for (size_t i = 0; diagnostics && i < diagnostics->count; i++) {
        if (i > 0 && !diagnostics->items[i].attached) text_puts(&b, "\n");
        render_one(&b, &diagnostics->items[i], color);
    }
    *text = text_take(&b, NULL);
    return *text ? SKY_OK : SKY_ERR_NOMEM;
}

/*
 * frame_match.c - history of the frame file's frames and the verdict on a
 * received frame (see frame_match.h).
 */
#include "frame_match.h"

#include <string.h>

uint64_t fmatch_hash(const uint8_t *bytes, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64 bits */
    for (size_t i = 0; i < len; i++) h = (h ^ bytes[i]) * 0x100000001b3ull;
    return h;
}

void fmatch_reset(fmatch *m) {
    m->count = 0;
    m->head = 0;
    m->newest = 0;
    m->first_complete = 0;
    m->last_matched = 0;
}

void fmatch_add(fmatch *m, uint64_t number, const uint8_t *frame, size_t len) {
    if (m->count > 0 && number <= m->newest) return; /* not newer: already held */
    if (m->count == 0 || number != m->newest + 1) m->first_complete = number; /* a gap */
    if (m->count == FMATCH_HISTORY) {
        uint64_t evicted = m->ring[m->head].number;
        if (m->first_complete <= evicted) m->first_complete = evicted + 1;
        m->head = (m->head + 1) % FMATCH_HISTORY;
        m->count--;
    }
    m->ring[(m->head + m->count) % FMATCH_HISTORY] =
        (fmatch_entry){.number = number, .hash = fmatch_hash(frame, len)};
    m->count++;
    m->newest = number;
}

static bool fmatch_all_zero(const uint8_t *bytes, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (bytes[i]) return false;
    return true;
}

fmatch_verdict fmatch_check(fmatch *m, const uint8_t *received, size_t len, uint64_t *number) {
    uint64_t h = fmatch_hash(received, len);
    for (size_t k = m->count; k-- > 0;) { /* newest first */
        const fmatch_entry *e = &m->ring[(m->head + k) % FMATCH_HISTORY];
        if (e->hash != h) continue;
        if (e->number > m->last_matched) m->last_matched = e->number;
        if (number) *number = e->number;
        return FMATCH_MATCH;
    }
    if (fmatch_all_zero(received, len)) return FMATCH_BLACK;
    /* The frame sent lies in [last_matched, newest]: held completely, it would have been found. */
    bool span_held = m->last_matched > 0 && m->count > 0 && m->first_complete <= m->last_matched;
    return span_held ? FMATCH_MISMATCH : FMATCH_UNVERIFIABLE;
}

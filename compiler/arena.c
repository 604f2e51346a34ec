/*
 * arena.c - the compile arena: a chain of blocks, bump-allocated, freed at once.
 *
 * Everything a compilation builds (tokens, syntax tree, names, graphs,
 * diagnostics text) lives here, so no phase frees anything and nothing leaks:
 * arena_free releases the whole chain. Blocks grow geometrically (64 KiB up
 * to 1 MiB), and a request larger than a block gets a block of its own.
 * Memory is handed out zeroed and 16-byte aligned, so any C type fits.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN       16
#define ARENA_FIRST_BLOCK (64u * 1024u)
#define ARENA_MAX_BLOCK   (1024u * 1024u)

struct arena_block {
    arena_block *next;
    size_t cap;  /* usable bytes after the aligned start */
    size_t used; /* bytes handed out from the aligned start */
    unsigned char *start;
    /* the data follows the header, aligned up to ARENA_ALIGN */
};

static size_t align_up(size_t n) {
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

void arena_init(arena *a) {
    a->head = NULL;
    a->total = 0;
}

void arena_free(arena *a) {
    if (!a) return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* A new block with room for at least `need` bytes, pushed at the head. */
static arena_block *arena_grow(arena *a, size_t need) {
    size_t normal = a->head ? a->head->cap * 2 : ARENA_FIRST_BLOCK;
    if (normal > ARENA_MAX_BLOCK) normal = ARENA_MAX_BLOCK;
    size_t cap = need > normal ? need : normal;
    size_t header = sizeof(arena_block) + ARENA_ALIGN;
    if (cap > SIZE_MAX - header) return NULL;
    arena_block *b = calloc(1, header + cap);
    if (!b) return NULL;
    uintptr_t data = (uintptr_t)(b + 1);
    data = (data + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    b->start = (unsigned char *)data;
    b->cap = cap;
    b->used = 0;
    /*
     * A block sized for one oversized request goes behind the head, so the
     * head keeps its free room for the small allocations that follow. An
     * ordinary new block becomes the head (the old head is full enough).
     */
    if (a->head && need > normal && a->head->used < a->head->cap) {
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
    }
    return b;
}

size_t arena_footprint(const arena *a) {
    size_t bytes = 0;
    for (const arena_block *b = a ? a->head : NULL; b; b = b->next) bytes += b->cap;
    return bytes;
}

void *arena_alloc(arena *a, size_t size) {
    if (!a || size > SIZE_MAX / 2) return NULL;
    size_t n = align_up(size ? size : 1);
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        b = arena_grow(a, n);
        if (!b) return NULL;
    }
    void *p = b->start + b->used;
    b->used += n;
    a->total += n;
    return p; /* blocks come from calloc and are never reused: already zero */
}

void *arena_realloc(arena *a, void *old, size_t old_size, size_t new_size) {
    if (!old) return arena_alloc(a, new_size);
    if (new_size <= old_size) return old;
    /* The last allocation of the head block can grow in place. */
    arena_block *b = a->head;
    if (b && (unsigned char *)old + align_up(old_size ? old_size : 1) == b->start + b->used &&
        (unsigned char *)old >= b->start) {
        size_t offset = (size_t)((unsigned char *)old - b->start);
        size_t n = align_up(new_size);
        if (n <= b->cap - offset) {
            size_t grow = n - (b->used - offset);
            b->used += grow;
            a->total += grow;
            return old;
        }
    }
    void *p = arena_alloc(a, new_size);
    if (!p) return NULL;
    memcpy(p, old, old_size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_vprintf(arena *a, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) return NULL;
    char *s = arena_alloc(a, (size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *arena_printf(arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

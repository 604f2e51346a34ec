/*
 * arena.h - one arena per compilation.
 *
 * Tokens, the syntax tree, interned names, the graph and the diagnostics'
 * strings all live in the compile's arena and are freed with one call. Only
 * the final sky_program and sky_diagnostics are copied out with malloc.
 * Allocation failure returns NULL; callers report SKY_ERR_NOMEM.
 */
#ifndef SKY_ARENA_H
#define SKY_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t total; /* bytes handed out, for limits and benchmarks */
} arena;

void arena_init(arena *a);
void arena_free(arena *a);
/* Zeroed, 16-byte aligned memory, or NULL when out of memory. */
void *arena_alloc(arena *a, size_t size);
/* Grows an array allocated in the arena: returns a new copy with room for new_size bytes. */
void *arena_realloc(arena *a, void *old, size_t old_size, size_t new_size);
/* Bytes reserved from the system (blocks), for limits, benchmarks and tests. */
size_t arena_footprint(const arena *a);
char *arena_strndup(arena *a, const char *s, size_t n);
/* printf into the arena; NULL when out of memory. */
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);

#endif

/*
 * sky/export.h - SKY_API, the mark on every function libsky exports.
 *
 * libsky's objects are compiled with hidden visibility (C_VISIBILITY_PRESET
 * hidden), so only the declarations marked SKY_API are visible from the shared
 * library, and the static one localizes every other symbol (cmake/, "merged"):
 * an embedder's own `graph_create` or `arena_alloc` never meets ours.
 */
#ifndef SKY_EXPORT_H
#define SKY_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SKY_API __attribute__((visibility("default")))
#else
#define SKY_API
#endif

#endif

/*
 * warn.c - warnings, for a pattern that checked without errors.
 *
 * Shown only when there is no error, where a warning cannot be a follow-on
 * of one. Today there is one: W_UNUSED, a declaration that no body names.
 */
#include "check_int.h"

/* Warnings shown for unused declarations; the rest are counted in one more. */
#define CHECK_MAX_UNUSED_WARNINGS 10

static const char *decl_kind_word(ast_decl_kind kind) {
    return kind == DECL_PARAM   ? "param"
           : kind == DECL_LET   ? "let"
           : kind == DECL_INPUT ? "input"
                                : "fn";
}

/*
 * A param, let or fn that no body names is most often a typo or a leftover
 * (the pattern shows something else than its author thinks), so it is a
 * warning. Names starting with `_` are unused on purpose. Shown only for a
 * pattern without errors, where it cannot be a follow-on of one.
 */
void ck_warn_unused(ck_checker *ck) {
    uint32_t shown = 0, more = 0;
    for (uint32_t i = 0; i < ck->prog->count; i++) {
        const ast_decl *d = &ck->prog->decls[i];
        if (d->kind == DECL_OUT || !d->name || d->name[0] == '_') continue;
        const ck_sym *s = ck_map_get(&ck->globals, d->name);
        if (!s || s->decl != d || s->used) continue;
        if (shown++ < CHECK_MAX_UNUSED_WARNINGS)
            diag_warning(ck->d, W_UNUSED, d->name_start, d->name_end,
                         "use it, remove it, or start its name with `_` to keep it unused",
                         "%s `%s` is never used", decl_kind_word(d->kind), d->name);
        else
            more++;
    }
    if (more)
        diag_warning(ck->d, W_UNUSED, DIAG_NO_POS, DIAG_NO_POS, NULL,
                     "%u more declarations are never used", (unsigned)more);
}

/*
 * pictures.c - picture inputs in the language: `input pic = image("logo.png")`
 * (also video(...) and camera(...)) declares a picture; `pic(u, v)` samples
 * it, one OP_PIC node per channel (imm = picture * 3 + channel). The program
 * keeps each declaration (kind, path as written, where) for the host that
 * opens the files; sampling itself is picture_sample.h and its twins in
 * shaders/, and the picture block is picture_block.c.
 */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "pictures.h"

/* The source kinds, as spelled in a declaration. */
static const struct {
    const char *name;
    sky_picture_kind kind;
} picture_sources[] = {
    {"image", SKY_PICTURE_IMAGE},
    {"video", SKY_PICTURE_VIDEO},
    {"camera", SKY_PICTURE_CAMERA},
};

static const char *const picture_usage =
    "write `image(\"logo.png\")` (PNG or JPEG), `video(\"show.mp4\")` or "
    "`camera(\"/dev/video0\")`";

static bool picture_kind(const char *name, sky_picture_kind *kind) {
    for (size_t i = 0; i < sizeof picture_sources / sizeof picture_sources[0]; i++)
        if (strcmp(name, picture_sources[i].name) == 0) {
            *kind = picture_sources[i].kind;
            return true;
        }
    return false;
}

/* Reports what is wrong with the declaration; false then. */
static bool picture_decl_valid(ck_checker *ck, const ast_decl *d, sky_picture_kind *kind) {
    if (!d->source) return false; /* a syntax error, already reported */
    if (!picture_kind(d->source, kind)) {
        diag_suggest s;
        diag_suggest_init(&s, d->source, strlen(d->source));
        for (size_t i = 0; i < sizeof picture_sources / sizeof picture_sources[0]; i++)
            diag_suggest_consider(&s, picture_sources[i].name);
        const char *help = diag_suggest_help(ck->d, &s);
        diag_error(ck->d, E_INPUT_KIND, d->source_start, d->source_end, help ? help : picture_usage,
                   "unknown input kind `%s`: an input is an `image`, a `video` or a `camera`",
                   d->source);
        return false;
    }
    if (d->path[0] == '\0') {
        diag_error(ck->d, E_INPUT_KIND, d->path_start, d->path_end, picture_usage,
                   "empty file name for input `%s`", d->name);
        return false;
    }
    if (ck->picture_count == SKY_MAX_PICTURES) {
        diag_error(ck->d, E_LIMIT_PARAMS, d->name_start, d->name_end,
                   "combine pictures into one file, or sample fewer",
                   "too many picture inputs: the limit is %d", SKY_MAX_PICTURES);
        return false;
    }
    return true;
}

void ck_check_input(ck_checker *ck, const ast_decl *d) {
    sky_picture_kind kind;
    if (!ck->pictures) {
        ck->pictures = arena_alloc(ck->a, SKY_MAX_PICTURES * sizeof *ck->pictures);
        if (!ck->pictures) {
            ck_fail_nomem(ck);
            return;
        }
    }
    if (!picture_decl_valid(ck, d, &kind)) {
        ck_define(ck, d, CK_SYM_POISON, CK_ERR);
        return;
    }
    ck_sym *s = ck_map_get(&ck->globals, d->name);
    bool first = s && s->decl == d && !s->defined;
    ck_define(ck, d, CK_SYM_PICTURE, CK_ERR);
    if (!first || s->kind != CK_SYM_PICTURE) return; /* reported by ck_define */
    sky_picture_info *p = &ck->pictures[ck->picture_count];
    p->name = d->name;
    p->kind = kind;
    p->path = d->path;
    diag_line_col(ck->d->src, ck->d->len, d->path_start, &p->line, &p->col);
    s->id = ck->picture_count++;
}

ck_value ck_picture_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_sym *s,
                         const ck_value *args) {
    if (e->nargs != 2) {
        ck_error(ck, f, E_ARITY, e->start, e->end,
                 diag_fmt(ck->d,
                          "sample the picture at a point: `%s(u, v)`, u and v in 0..1, "
                          "(0, 0) its top-left corner",
                          s->name),
                 "picture `%s` takes 2 arguments, but %u %s given", s->name, e->nargs,
                 ck_was_were(e->nargs));
        return CK_ERR;
    }
    if (!ck_need_float(ck, f, e->args[0], args[0], "the u of a picture sample") ||
        !ck_need_float(ck, f, e->args[1], args[1], "the v of a picture sample"))
        return CK_ERR;
    ck_value v = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int c = 0; c < 3; c++)
        v.n[c] = ck_mk(ck, OP_PIC, args[0].n[0], args[1].n[0], GRAPH_NONE, s->id * 3.0 + c);
    return ck_done(ck, v);
}

/* ----------------------------------------------------------- the program */

sky_status pictures_copy(sky_program *p, const graph_result *in) {
    if (in->picture_count == 0) return SKY_OK;
    if (!in->pictures || in->picture_count > SKY_MAX_PICTURES) return SKY_ERR_INTERNAL;
    p->pictures = calloc(in->picture_count, sizeof *p->pictures);
    if (!p->pictures) return SKY_ERR_NOMEM;
    p->picture_count = in->picture_count;
    for (uint32_t i = 0; i < in->picture_count; i++) {
        p->pictures[i] = in->pictures[i];
        p->pictures[i].name = strdup(in->pictures[i].name);
        p->pictures[i].path = strdup(in->pictures[i].path);
        if (!p->pictures[i].name || !p->pictures[i].path) return SKY_ERR_NOMEM;
    }
    return SKY_OK;
}

void pictures_free(sky_program *p) {
    for (uint32_t i = 0; i < p->picture_count; i++) {
        free((char *)p->pictures[i].name);
        free((char *)p->pictures[i].path);
    }
    free(p->pictures);
}

size_t sky_program_picture_count(const sky_program *program) {
    return program ? program->picture_count : 0;
}

const sky_picture_info *sky_program_picture(const sky_program *program, size_t i) {
    return program && i < program->picture_count ? &program->pictures[i] : NULL;
}

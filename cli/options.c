/*
 * options.c - what `sky run` and `sky preview` share before a frame is drawn:
 * option parsing (--layout, --device, --set and strict numbers), compiling a
 * file with rendered diagnostics, applying --set values to a program's
 * parameters (clamping to their range, did-you-mean for unknown names),
 * building the layout and creating the frame file (`sky run` and `sky play`
 * publish into it: one place fills its header from the layout).
 *
 * Every error is printed here, prefixed with the command's name, so that the
 * commands only turn failures into exit codes (1 for pattern errors, 2 for
 * usage and system errors).
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "show.h"

/* ----------------------------------------------------------- option parsing */

void live_common_init(live_common *common, const char *cmd) {
    memset(common, 0, sizeof *common);
    common->cmd = cmd;
    common->layout_spec = SKY_LAYOUT_DEFAULT;
}

void live_common_free(live_common *common) {
    free(common->sets);
    common->sets = NULL;
    common->set_count = common->set_cap = 0;
}

static bool common_push_set(live_common *common, const char *set) {
    if (common->set_count == common->set_cap) {
        size_t cap = common->set_cap ? common->set_cap * 2 : 8;
        const char **bigger = realloc(common->sets, cap * sizeof *bigger);
        if (!bigger) {
            fprintf(stderr, "%s: out of memory\n", common->cmd);
            return false;
        }
        common->sets = bigger;
        common->set_cap = cap;
    }
    common->sets[common->set_count++] = set;
    return true;
}

int live_common_option(live_common *common, int opt, const char *value) {
    switch (opt) {
    case LIVE_OPT_LAYOUT:
        common->layout_spec = value;
        return 1;
    case LIVE_OPT_DEVICE:
        common->device = value;
        return 1;
    case LIVE_OPT_AUDIO:
        common->audio_spec = value;
        return 1;
    case LIVE_OPT_SET: {
        const char *eq = strchr(value, '=');
        if (!eq || eq == value) {
            fprintf(stderr, "%s: --set `%s`: expected NAME=VALUE (e.g. --set speed=2)\n",
                    common->cmd, value);
            return -1;
        }
        return common_push_set(common, value) ? 1 : -1;
    }
    default:
        return 0;
    }
}

bool live_parse_double(const char *cmd, const char *what, const char *text, double min, double max,
                       double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        fprintf(stderr, "%s: %s: `%s` is not a number\n", cmd, what, text);
        return false;
    }
    if (v < min || v > max) {
        fprintf(stderr, "%s: %s: %s is out of range (%g to %g)\n", cmd, what, text, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool live_parse_u64(const char *cmd, const char *what, const char *text, uint64_t min, uint64_t max,
                    uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (text[0] == '-' || text[0] == '+' || text[0] == '\0') {
        fprintf(stderr, "%s: %s: `%s` is not a whole number\n", cmd, what, text);
        return false;
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        fprintf(stderr, "%s: %s: `%s` is not a whole number\n", cmd, what, text);
        return false;
    }
    if (v < min || v > max) {
        fprintf(stderr, "%s: %s: %s is out of range (%llu to %llu)\n", cmd, what, text,
                (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

/* ---------------------------------------------------------------- compiling */

int live_compile_report(const char *cmd, sky_status status, const sky_diagnostics *diagnostics) {
    if (diagnostics && sky_diagnostics_count(diagnostics) > 0) {
        char *text = NULL;
        if (sky_diagnostics_render(diagnostics, cli_use_color(), &text) == SKY_OK && text) {
            fputs(text, stderr);
            size_t n = strlen(text);
            if (n > 0 && text[n - 1] != '\n') fputc('\n', stderr);
        } else {
            fprintf(stderr, "%s: could not render the diagnostics\n", cmd);
        }
        sky_free(text);
    }
    if (status == SKY_OK) return 0;
    if (status == SKY_ERR_COMPILE) {
        size_t errors = diagnostics ? sky_diagnostics_error_count(diagnostics) : 0;
        fprintf(stderr, "%s: %zu error%s; the pattern was not compiled\n", cmd, errors,
                errors == 1 ? "" : "s");
        return 1;
    }
    fprintf(stderr, "%s: the compiler failed: %s\n", cmd, sky_status_str(status));
    return 2;
}

int live_compile_source(const char *cmd, const char *path, const char *source, size_t len,
                        sky_program **program) {
    sky_diagnostics *diagnostics = NULL;
    *program = NULL;
    sky_status status = sky_compile(path, source, len, NULL, program, &diagnostics);
    int code = live_compile_report(cmd, status, diagnostics);
    sky_diagnostics_free(diagnostics);
    if (code != 0 && *program) {
        sky_program_free(*program);
        *program = NULL;
    }
    return code;
}

int live_compile_file(const char *cmd, const char *path, sky_program **program) {
    char error[512];
    size_t len = 0;
    *program = NULL;
    char *source = cli_read_file(path, &len, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: %s\n", cmd, error);
        return 2;
    }
    int code = live_compile_source(cmd, path, source, len, program);
    free(source);
    return code;
}

/* --------------------------------------------------------------- parameters */

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1; /* names this long are never "close" */
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *live_did_you_mean(const char *word, const char *const *names, size_t count) {
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    size_t limit = strlen(word) / 3 + 1;
    for (size_t i = 0; i < count; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d <= limit && d < best_distance) {
            best = names[i];
            best_distance = d;
        }
    }
    return best;
}

static void params_unknown(const char *cmd, const sky_program *program, const char *name,
                           bool strict) {
    size_t count = sky_program_param_count(program);
    const char *names[SKY_MAX_PARAMS];
    size_t n = 0;
    for (size_t i = 0; i < count && n < SKY_MAX_PARAMS; i++)
        names[n++] = sky_program_param(program, i)->name;
    const char *hint = live_did_you_mean(name, names, n);
    fprintf(stderr, "%s: %s: --set `%s`: the pattern has no param called `%s`", cmd,
            strict ? "error" : "note", name, name);
    if (hint) {
        fprintf(stderr, "; did you mean `%s`?\n", hint);
    } else if (n == 0) {
        fprintf(stderr, " (it has no params)\n");
    } else {
        fprintf(stderr, " (its params:");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %s", names[i]);
        fprintf(stderr, ")\n");
    }
}

/* Parses "a,b,c" into exactly `want` finite numbers. */
static bool params_parse_components(const char *cmd, const char *name, const char *text,
                                    size_t want, double *out) {
    const char *p = text;
    for (size_t k = 0; k < want; k++) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(v)) {
            fprintf(stderr, "%s: --set %s=%s: component %zu is not a number\n", cmd, name, text,
                    k + 1);
            return false;
        }
        out[k] = v;
        p = end;
        while (*p == ' ') p++;
        if (k + 1 < want) {
            if (*p != ',') {
                fprintf(stderr, "%s: --set %s=%s: `%s` has %zu components; give %zu as a,b%s\n",
                        cmd, name, text, name, want, want, want == 3 ? ",c" : "");
                return false;
            }
            p++;
        }
    }
    if (*p != '\0') {
        if (want == 1)
            fprintf(stderr, "%s: --set %s=%s: `%s` is a float param; give one number\n", cmd, name,
                    text, name);
        else
            fprintf(stderr, "%s: --set %s=%s: too many components; `%s` has %zu\n", cmd, name, text,
                    name, want);
        return false;
    }
    return true;
}

static bool params_set_one(const char *cmd, const sky_program *program, const char *set,
                           bool strict, double *params) {
    const char *eq = strchr(set, '=');
    size_t name_len = eq ? (size_t)(eq - set) : strlen(set);
    char name[128];
    if (!eq || name_len == 0 || name_len >= sizeof name) {
        fprintf(stderr, "%s: --set `%s`: expected NAME=VALUE\n", cmd, set);
        return false;
    }
    memcpy(name, set, name_len);
    name[name_len] = '\0';
    long index = sky_program_param_find(program, name);
    if (index < 0) {
        params_unknown(cmd, program, name, strict);
        return !strict;
    }
    const sky_param_info *info = sky_program_param(program, (size_t)index);
    size_t want = info->type == SKY_TYPE_VEC3 ? 3 : info->type == SKY_TYPE_VEC2 ? 2 : 1;
    double values[3];
    if (!params_parse_components(cmd, name, eq + 1, want, values)) return false;
    if (info->has_range) {
        for (size_t k = 0; k < want; k++) {
            double clamped = values[k] < info->min ? info->min : values[k];
            if (clamped > info->max) clamped = info->max;
            if (clamped != values[k]) {
                fprintf(stderr,
                        "%s: note: --set %s=%g is outside its range %g..%g; clamped to %g\n", cmd,
                        name, values[k], info->min, info->max, clamped);
                values[k] = clamped;
            }
        }
    }
    for (size_t k = 0; k < want; k++) params[info->slot + k] = values[k];
    return true;
}

bool live_params_apply(const char *cmd, const sky_program *program, const char *const *sets,
                       size_t set_count, bool strict, double *params) {
    sky_program_param_defaults(program, params);
    bool ok = true;
    for (size_t i = 0; i < set_count; i++)
        if (!params_set_one(cmd, program, sets[i], strict, params)) ok = false;
    return ok;
}

/* ------------------------------------------------------------------ layouts */

bool live_layout_create(const char *cmd, const char *spec, sky_layout **layout) {
    char error[512] = "";
    sky_status status = sky_layout_create(spec, layout, error, sizeof error);
    if (status != SKY_OK) {
        fprintf(stderr, "%s: --layout `%s`: %s\n", cmd, spec,
                error[0] ? error : sky_status_str(status));
        fprintf(stderr, "%s: layouts: disc:STRIPSxLEDS[:INNER], grid:WxH, strip:N, map:FILE\n",
                cmd);
        *layout = NULL;
        return false;
    }
    return true;
}

sky_layout_view live_layout_view(const sky_layout *layout) {
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy, layout->z};
    return view;
}

/* ----------------------------------------------------------- the frame file */

bool live_frame_writer_create(const char *cmd, const sky_layout *layout, const char *path,
                              double fps, uint64_t slots, sky_frame_writer **writer) {
    sky_frame_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.path = path;
    wo.led_count = layout->led_count;
    wo.strip_count = layout->strip_count;
    wo.strip_sizes = layout->strip_sizes;
    wo.positions = layout->xy;
    wo.positions_z = layout->z;
    wo.fps_nominal = (uint32_t)lround(fps);
    wo.slot_count = (uint32_t)slots;
    wo.layout = layout->name;
    *writer = NULL;
    char error[1024] = "";
    sky_status st = sky_frame_writer_create(&wo, writer, error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: cannot create the frame file: %s\n", cmd,
                error[0] ? error : sky_status_str(st));
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ param docs */

/* The comment text after `#` on [line, end), trimmed; "" when the line has none. */
static char *docs_comment(const char *line, const char *end, bool whole_line) {
    const char *hash = memchr(line, '#', (size_t)(end - line));
    if (!hash) return strdup("");
    if (whole_line) /* only blanks before it */
        for (const char *p = line; p < hash; p++)
            if (*p != ' ' && *p != '\t') return strdup("");
    const char *a = hash + 1, *b = end;
    while (a < b && (*a == ' ' || *a == '\t')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
    return strndup(a, (size_t)(b - a));
}

/* The param declared at the start of [line, end) ("param NAME"), into name; false when none. */
static bool docs_declared(const char *line, const char *end, char *name, size_t name_len) {
    const char *p = line;
    while (p < end && (*p == ' ' || *p == '\t' || *p == ';')) p++;
    if ((size_t)(end - p) < 6 || memcmp(p, "param", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
        return false;
    p += 5;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    size_t n = 0;
    while (p + n < end && (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
                           (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
        n++;
    if (n == 0 || n >= name_len) return false;
    memcpy(name, p, n);
    name[n] = '\0';
    return true;
}

/* Joins comment-only lines [from, to) of `lines` with spaces (the doc above a declaration). */
static char *docs_join_above(const char *const *starts, const char *const *ends, size_t from,
                             size_t to) {
    size_t total = 1;
    for (size_t i = from; i < to; i++) total += (size_t)(ends[i] - starts[i]) + 1;
    char *out = malloc(total);
    if (!out) return NULL;
    out[0] = '\0';
    for (size_t i = from; i < to; i++) {
        char *part = docs_comment(starts[i], ends[i], true);
        if (!part) {
            free(out);
            return NULL;
        }
        if (out[0] && part[0]) strcat(out, " ");
        strcat(out, part);
        free(part);
    }
    return out;
}

static bool docs_is_comment_line(const char *line, const char *end) {
    while (line < end && (*line == ' ' || *line == '\t')) line++;
    return line < end && *line == '#';
}

char **live_param_docs(const sky_program *program, const char *source, size_t len) {
    size_t count = sky_program_param_count(program);
    char **docs = calloc(count ? count : 1, sizeof *docs);
    size_t line_count = 1;
    for (size_t i = 0; i < len; i++) line_count += source[i] == '\n';
    const char **starts = malloc(line_count * sizeof *starts);
    const char **ends = malloc(line_count * sizeof *ends);
    bool ok = docs && starts && ends;
    for (size_t n = 0, i = 0; ok && n < line_count; n++) {
        starts[n] = source + i;
        while (i < len && source[i] != '\n') i++;
        ends[n] = source + i;
        i++;
    }
    for (size_t n = 0; ok && n < line_count; n++) {
        char name[128];
        if (!docs_declared(starts[n], ends[n], name, sizeof name)) continue;
        long index = sky_program_param_find(program, name);
        if (index < 0 || docs[index]) continue;
        char *doc = docs_comment(starts[n], ends[n], false);
        if (doc && !doc[0]) { /* none on the line: the comment lines right above it */
            size_t from = n;
            while (from > 0 && docs_is_comment_line(starts[from - 1], ends[from - 1])) from--;
            if (from == 0) from = n; /* a block from line 1 is the file's header, not a doc */
            free(doc);
            doc = docs_join_above(starts, ends, from, n);
        }
        docs[index] = doc;
        ok = doc != NULL;
    }
    for (size_t i = 0; ok && i < count; i++)
        if (!docs[i]) ok = (docs[i] = strdup("")) != NULL;
    free(starts);
    free(ends);
    if (!ok) {
        live_param_docs_free(docs, count);
        return NULL;
    }
    return docs;
}

void live_param_docs_free(char **docs, size_t count) {
    if (!docs) return;
    for (size_t i = 0; i < count; i++) free(docs[i]);
    free(docs);
}

void live_json_number_format(void) {
    /* 15 digits read back as the same decimal; the default 17 shows binary noise. */
    json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_GLOBAL);
}

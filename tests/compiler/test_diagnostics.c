/*
 * test_diagnostics.c - what users read when a pattern is wrong.
 *
 * Golden files: every tests/compiler/diag/NAME.sky is compiled and its
 * rendered diagnostics (no colour) must equal NAME.expected byte for byte;
 * it must fail to compile, except warn_*.sky, which compile with warnings.
 * Inputs too big or too binary to commit (a 1 MiB file of `(`, NUL bytes,
 * invalid UTF-8, 65 params, deep inlining...) are generated here and compared
 * with diag/NAME.expected the same way. Run with SKY_UPDATE_GOLDEN=1 to
 * rewrite the expected files after a deliberate change, then review the diff
 * (SKY_UPDATE_GOLDEN=/abs/dir writes them into that directory instead). An
 * update run compares nothing, so it exits 1: it can never count as a pass.
 *
 * The rest checks the public diagnostics API: fields, colour, ordering,
 * the error limit, and that diagnostics outlive the source buffer.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sky/sky.h"

#ifndef SKY_DIAG_DIR
#error "SKY_DIAG_DIR must name tests/compiler/diag"
#endif

/* ------------------------------------------------------------- helpers */

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    assert_false(ferror(f));
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void write_all(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/*
 * Compiles and renders without colour. The program must fail to compile,
 * except a warn_* golden, which must compile with warnings and no error.
 */
static char *render_errors(const char *filename, const char *src, size_t len) {
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    sky_status status = sky_compile(filename, src, len, NULL, &program, &diagnostics);
    if (strncmp(filename, "warn_", 5) == 0) {
        if (status != SKY_OK) fail_msg("%s: expected ok, got %s", filename, sky_status_str(status));
        assert_non_null(program);
        sky_program_free(program);
        assert_int_equal(sky_diagnostics_error_count(diagnostics), 0);
        assert_true(sky_diagnostics_count(diagnostics) >= 1);
        for (size_t i = 0; i < sky_diagnostics_count(diagnostics); i++)
            assert_int_not_equal(sky_diagnostics_get(diagnostics, i)->severity, SKY_SEVERITY_ERROR);
    } else {
        if (status != SKY_ERR_COMPILE)
            fail_msg("%s: expected SKY_ERR_COMPILE, got %s", filename, sky_status_str(status));
        assert_null(program);
        assert_true(sky_diagnostics_error_count(diagnostics) >= 1);
    }
    char *text = NULL;
    assert_int_equal(sky_diagnostics_render(diagnostics, false, &text), SKY_OK);
    sky_diagnostics_free(diagnostics);
    return text;
}

/* Where update mode writes the expected files (NULL: not updating, compare). */
static const char *golden_update_dir(void) {
    const char *v = getenv("SKY_UPDATE_GOLDEN");
    if (!v || !*v) return NULL;
    return v[0] == '/' ? v : SKY_DIAG_DIR;
}

static size_t golden_updated; /* expected files this run rewrote */

static void check_golden(const char *name, const char *src, size_t len) {
    char filename[256], expected_path[1024];
    snprintf(filename, sizeof filename, "%s.sky", name);
    snprintf(expected_path, sizeof expected_path, "%s/%s.expected", SKY_DIAG_DIR, name);
    char *got = render_errors(filename, src, len);
    const char *update_dir = golden_update_dir();
    if (update_dir) {
        snprintf(expected_path, sizeof expected_path, "%s/%s.expected", update_dir, name);
        write_all(expected_path, got, strlen(got));
        printf("updated %s\n", expected_path);
        golden_updated++;
        sky_free(got);
        return;
    }
    size_t expected_len;
    char *expected = read_all(expected_path, &expected_len);
    if (!expected) fail_msg("%s is missing (run with SKY_UPDATE_GOLDEN=1)", expected_path);
    if (strcmp(got, expected) != 0) {
        fprintf(stderr, "---- %s: expected\n%s---- got\n%s----\n", name, expected, got);
        fail_msg("%s: diagnostics differ from %s", name, expected_path);
    }
    free(expected);
    sky_free(got);
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The base names of the files in SKY_DIAG_DIR ending in `suffix`, sorted. */
static size_t list_dir(const char *suffix, char ***names) {
    DIR *dir = opendir(SKY_DIAG_DIR);
    assert_non_null(dir);
    size_t n = 0, cap = 64;
    *names = malloc(cap * sizeof **names);
    assert_non_null(*names);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (!has_suffix(entry->d_name, suffix)) continue;
        if (n == cap) {
            cap *= 2;
            *names = realloc(*names, cap * sizeof **names);
            assert_non_null(*names);
        }
        size_t len = strlen(entry->d_name) - strlen(suffix);
        (*names)[n] = strndup(entry->d_name, len);
        assert_non_null((*names)[n]);
        n++;
    }
    closedir(dir);
    qsort(*names, n, sizeof **names, compare_names);
    return n;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ------------------------------------------------------- generated inputs */

typedef struct gen_buf {
    char *data;
    size_t len, cap;
} gen_buf;

static void gen_put(gen_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void gen_printf(gen_buf *b, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof line);
    gen_put(b, line, (size_t)n);
}

static void gen_source_too_large(gen_buf *b) {
    gen_printf(b, "out hsv(theta / tau, 1, 1)\n");
    while (b->len <= SKY_MAX_SOURCE_BYTES) gen_printf(b, "# padding padding padding\n");
}

static void gen_megabyte_of_parens(gen_buf *b) {
    for (size_t i = 0; i < SKY_MAX_SOURCE_BYTES; i++) gen_put(b, "(", 1);
}

static void gen_out_megabyte_of_parens(gen_buf *b) {
    gen_printf(b, "out ");
    while (b->len < SKY_MAX_SOURCE_BYTES) gen_put(b, "(", 1);
}

static void gen_nul_byte(gen_buf *b) {
    gen_put(b, "let a = 1\0\0\nout a\n", 18);
}

static void gen_invalid_utf8(gen_buf *b) {
    gen_printf(b, "# caf\xe9 au lait\nlet a = r \xff\xfe+ 1\nout a\n");
}

static void gen_too_many_params(gen_buf *b) {
    for (int i = 0; i <= SKY_MAX_PARAMS; i++) gen_printf(b, "param p%d = %d in 0..100\n", i, i);
    gen_printf(b, "out p0 / 100\n");
}

static void gen_deep_inlining(gen_buf *b) {
    gen_printf(b, "fn f0(v) = v + 1\n");
    for (int i = 1; i < 1100; i++) gen_printf(b, "fn f%d(v) = f%d(v)\n", i, i - 1);
    gen_printf(b, "out f1099(r)\n");
}

static void gen_long_line(gen_buf *b) {
    gen_printf(b, "let a = 0");
    for (int i = 0; i < 30; i++) gen_printf(b, " + sin(x * %d)", i);
    gen_printf(b, " + rr");
    for (int i = 0; i < 30; i++) gen_printf(b, " + cos(y * %d)", i);
    gen_printf(b, "\nout a\n");
}

static void gen_too_many_errors(gen_buf *b) {
    for (int i = 0; i < SKY_MAX_ERRORS + 5; i++) gen_printf(b, "let v%d = unknown%d\n", i, i);
    gen_printf(b, "out 1\n");
}

static const struct {
    const char *name;
    void (*make)(gen_buf *b);
} generated[] = {
    {"gen_source_too_large", gen_source_too_large},
    {"gen_megabyte_of_parens", gen_megabyte_of_parens},
    {"gen_out_megabyte_of_parens", gen_out_megabyte_of_parens},
    {"gen_nul_byte", gen_nul_byte},
    {"gen_invalid_utf8", gen_invalid_utf8},
    {"gen_too_many_params", gen_too_many_params},
    {"gen_deep_inlining", gen_deep_inlining},
    {"gen_long_line", gen_long_line},
    {"gen_too_many_errors", gen_too_many_errors},
};

/* ----------------------------------------------------------------- tests */

static void test_golden_files(void **state) {
    (void)state;
    char **names;
    size_t n = list_dir(".sky", &names);
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.sky", SKY_DIAG_DIR, names[i]);
        size_t len;
        char *src = read_all(path, &len);
        assert_non_null(src);
        check_golden(names[i], src, len);
        free(src);
    }
    free_names(names, n);
}

static void test_generated_inputs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof generated / sizeof generated[0]; i++) {
        gen_buf b = {0};
        generated[i].make(&b);
        check_golden(generated[i].name, b.data, b.len);
        free(b.data);
    }
}

/* Every .expected has its input: a .sky file or a generator above. */
static void test_no_orphan_goldens(void **state) {
    (void)state;
    char **expected, **sources;
    size_t ne = list_dir(".expected", &expected), ns = list_dir(".sky", &sources);
    for (size_t i = 0; i < ne; i++) {
        bool found = false;
        for (size_t k = 0; k < ns && !found; k++) found = strcmp(expected[i], sources[k]) == 0;
        for (size_t k = 0; k < sizeof generated / sizeof generated[0] && !found; k++)
            found = strcmp(expected[i], generated[k].name) == 0;
        if (!found) fail_msg("diag/%s.expected has no input", expected[i]);
    }
    free_names(expected, ne);
    free_names(sources, ns);
}

static sky_diagnostics *compile_errors(const char *src) {
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    assert_int_equal(sky_compile("t.sky", src, strlen(src), NULL, &program, &diagnostics),
                     SKY_ERR_COMPILE);
    assert_null(program);
    assert_non_null(diagnostics);
    return diagnostics;
}

static void test_public_fields(void **state) {
    (void)state;
    sky_diagnostics *d = compile_errors("let a = 1\nout a + rr * 2\n");
    assert_int_equal(sky_diagnostics_count(d), 1);
    assert_int_equal(sky_diagnostics_error_count(d), 1);
    const sky_diag *e = sky_diagnostics_get(d, 0);
    assert_non_null(e);
    assert_int_equal(e->severity, SKY_SEVERITY_ERROR);
    assert_string_equal(e->code, "E0301");
    assert_string_equal(e->filename, "t.sky");
    assert_int_equal(e->start, 18);
    assert_int_equal(e->end, 20);
    assert_int_equal(e->line, 2);
    assert_int_equal(e->col, 9);
    assert_int_equal(e->end_line, 2);
    assert_int_equal(e->end_col, 11);
    assert_string_equal(e->message, "unknown name `rr`");
    assert_string_equal(e->help, "did you mean `r`?");
    assert_null(sky_diagnostics_get(d, 1));
    sky_diagnostics_free(d);
}

static void test_columns_count_code_points(void **state) {
    (void)state;
    /* `é` is two bytes but one column; the lexer error and the later one both count so. */
    sky_diagnostics *d = compile_errors("let \xC3\xA9 = 1; let b = rr; out b");
    assert_int_equal(sky_diagnostics_count(d), 2);
    const sky_diag *bad = sky_diagnostics_get(d, 0), *rr = sky_diagnostics_get(d, 1);
    assert_string_equal(bad->code, "E0103");
    assert_int_equal(bad->col, 5);
    assert_int_equal(bad->end_col, 6);
    assert_string_equal(rr->code, "E0301");
    assert_int_equal(rr->start, 20);
    assert_int_equal(rr->col, 20);
    sky_diagnostics_free(d);
}

static void test_color(void **state) {
    (void)state;
    sky_diagnostics *d = compile_errors("out rr");
    char *plain = NULL, *colored = NULL;
    assert_int_equal(sky_diagnostics_render(d, false, &plain), SKY_OK);
    assert_int_equal(sky_diagnostics_render(d, true, &colored), SKY_OK);
    assert_null(strchr(plain, '\x1b'));
    assert_non_null(strstr(colored, "\x1b[1;31merror[E0301]"));
    assert_non_null(strstr(colored, "\x1b[0m"));
    assert_true(strlen(colored) > strlen(plain));
    sky_free(plain);
    sky_free(colored);
    sky_diagnostics_free(d);
}

/* Errors come out in source order, whichever phase found them. */
static void test_source_order(void **state) {
    (void)state;
    sky_diagnostics *d = compile_errors("let a = rr\nlet = 2\nlet c = tt\nout a");
    assert_int_equal(sky_diagnostics_count(d), 3);
    assert_int_equal(sky_diagnostics_get(d, 0)->line, 1);
    assert_string_equal(sky_diagnostics_get(d, 1)->code, "E0201");
    assert_int_equal(sky_diagnostics_get(d, 1)->line, 2);
    assert_int_equal(sky_diagnostics_get(d, 2)->line, 3);
    sky_diagnostics_free(d);
}

static void test_notes_follow_their_error(void **state) {
    (void)state;
    sky_diagnostics *d = compile_errors("out 1\nout 2\n");
    assert_int_equal(sky_diagnostics_count(d), 2);
    assert_int_equal(sky_diagnostics_error_count(d), 1);
    const sky_diag *error = sky_diagnostics_get(d, 0), *note = sky_diagnostics_get(d, 1);
    assert_string_equal(error->code, "E0206");
    assert_int_equal(error->line, 2);
    assert_int_equal(note->severity, SKY_SEVERITY_NOTE);
    assert_null(note->code);
    assert_int_equal(note->line, 1);
    sky_diagnostics_free(d);
}

static void test_error_limit(void **state) {
    (void)state;
    gen_buf b = {0};
    gen_too_many_errors(&b);
    sky_diagnostics *d = compile_errors(b.data);
    assert_int_equal(sky_diagnostics_error_count(d), SKY_MAX_ERRORS);
    const sky_diag *last = sky_diagnostics_get(d, sky_diagnostics_count(d) - 1);
    assert_int_equal(last->severity, SKY_SEVERITY_NOTE);
    assert_string_equal(last->message, "too many errors; stopping after 20");
    sky_diagnostics_free(d);
    free(b.data);
}

/* The diagnostics keep the lines they show: the source may be freed first. */
static void test_diagnostics_outlive_source(void **state) {
    (void)state;
    char *src = strdup("let a = 1\n  out abs(rr - a)\n");
    assert_non_null(src);
    sky_program *program = NULL;
    sky_diagnostics *d = NULL;
    assert_int_equal(sky_compile("t.sky", src, strlen(src), NULL, &program, &d), SKY_ERR_COMPILE);
    memset(src, 'x', strlen(src));
    free(src);
    char *text = NULL;
    assert_int_equal(sky_diagnostics_render(d, false, &text), SKY_OK);
    assert_string_equal(text, "t.sky:2:11: error[E0301]: unknown name `rr`\n"
                              "  |\n"
                              "2 |   out abs(rr - a)\n"
                              "  |           ^^\n"
                              "  = help: did you mean `r`?\n");
    sky_free(text);
    sky_diagnostics_free(d);
}

static void test_success_has_no_errors(void **state) {
    (void)state;
    const char *src = "param speed = 1.0 in 0..4\nparam width = 0.03 in 0.001..0.2\n"
                      "let ring = fract(t * speed / 3)\nlet d = abs(r - ring)\n"
                      "fn glow(d, w) = clamp(w / max(d, 1e-4), 0, 1)\n"
                      "out hsv(theta / tau + t * 0.05, 1, glow(d, width))\n";
    sky_program *program = NULL;
    sky_diagnostics *d = NULL;
    assert_int_equal(sky_compile("droplet.sky", src, strlen(src), NULL, &program, &d), SKY_OK);
    assert_non_null(program);
    assert_int_equal(sky_diagnostics_count(d), 0);
    char *text = NULL;
    assert_int_equal(sky_diagnostics_render(d, true, &text), SKY_OK);
    assert_string_equal(text, "");
    sky_free(text);
    sky_diagnostics_free(d);
    sky_program_free(program);
}

static void test_null_arguments(void **state) {
    (void)state;
    sky_diagnostics *d = NULL;
    assert_int_equal(sky_compile("t.sky", "out 1", 5, NULL, NULL, &d), SKY_ERR_INVALID_ARG);
    assert_null(d);
    sky_program *program = NULL;
    assert_int_equal(sky_compile("t.sky", NULL, 3, NULL, &program, &d), SKY_ERR_INVALID_ARG);
    /* NULL source with length 0 is an empty file; NULL filename is allowed; no diagnostics. */
    assert_int_equal(sky_compile(NULL, NULL, 0, NULL, &program, NULL), SKY_ERR_COMPILE);
    assert_int_equal(sky_compile(NULL, NULL, 0, NULL, &program, &d), SKY_ERR_COMPILE);
    assert_string_equal(sky_diagnostics_get(d, 0)->filename, "<input>");
    sky_diagnostics_free(d);
    assert_int_equal(sky_diagnostics_count(NULL), 0);
    assert_int_equal(sky_diagnostics_error_count(NULL), 0);
    assert_null(sky_diagnostics_get(NULL, 0));
    assert_int_equal(sky_diagnostics_render(NULL, false, NULL), SKY_ERR_INVALID_ARG);
    sky_diagnostics_free(NULL);
    sky_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_files),
        cmocka_unit_test(test_generated_inputs),
        cmocka_unit_test(test_no_orphan_goldens),
        cmocka_unit_test(test_public_fields),
        cmocka_unit_test(test_columns_count_code_points),
        cmocka_unit_test(test_color),
        cmocka_unit_test(test_source_order),
        cmocka_unit_test(test_notes_follow_their_error),
        cmocka_unit_test(test_error_limit),
        cmocka_unit_test(test_diagnostics_outlive_source),
        cmocka_unit_test(test_success_has_no_errors),
        cmocka_unit_test(test_null_arguments),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const char *update_dir = golden_update_dir();
    if (update_dir) {
        fprintf(stderr,
                "test_diagnostics: SKY_UPDATE_GOLDEN is set: rewrote %zu expected files in %s "
                "and compared none, so this run is not a pass; review the diff, then run again "
                "without SKY_UPDATE_GOLDEN\n",
                golden_updated, update_dir);
        return failed ? failed : 1;
    }
    return failed;
}

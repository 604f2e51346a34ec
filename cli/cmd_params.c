/*
 * cmd_params.c - `sky params FILE [--json]`: the params a pattern takes.
 *
 * Lists each param's name, type, default, range and doc comment (the `#`
 * comment ending its line, else the comment lines right above it), as a
 * table by default or as JSON with --json, so that a person sees what
 * `sky run --set` accepts and a tool can build sliders from it. Values are
 * written as --set takes them (vectors as a,b,c). A file with errors prints
 * its diagnostics and exits 1; an unreadable file exits 2.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "show.h"
#include "sky/sky.h"

#define PARAMS_CMD "sky params"

static void params_usage(FILE *out) {
    fprintf(out,
            "usage: sky params FILE [--json]\n\n"
            "Lists the params of a pattern: name, type, default, range and doc comment\n"
            "(the `#` comment on the param's line, or the comment lines above it).\n\n"
            "options:\n"
            "  --json        print a JSON object {\"file\", \"params\": [{\"name\", \"type\",\n"
            "                \"default\", \"min\", \"max\", \"doc\"}]} (min and max null when\n"
            "                the param has no range; vector defaults as arrays)\n"
            "  -h, --help    show this help\n\n"
            "exit status: 0 ok, 1 the pattern has errors, 2 usage or the file could not be "
            "read\n");
}

static size_t params_components(sky_type type) {
    return type == SKY_TYPE_VEC3 ? 3 : type == SKY_TYPE_VEC2 ? 2 : 1;
}

static const char *params_type(sky_type type) {
    return type == SKY_TYPE_VEC3 ? "vec3" : type == SKY_TYPE_VEC2 ? "vec2" : "float";
}

/* The default as --set takes it: "1", or "1,0.5,0". */
static void params_default_text(const sky_param_info *p, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < params_components(p->type) && used < len; k++)
        used += (size_t)snprintf(out + used, len - used, "%s%g", k ? "," : "", p->value[k]);
}

static int params_print_text(const char *path, const sky_program *program, char **docs) {
    size_t count = sky_program_param_count(program);
    if (count == 0) {
        printf("%s has no params\n", path);
        return 0;
    }
    int name_w = 4, default_w = 7, range_w = 5;
    char text[96];
    for (size_t i = 0; i < count; i++) {
        const sky_param_info *p = sky_program_param(program, i);
        int n = (int)strlen(p->name);
        if (n > name_w) name_w = n;
        params_default_text(p, text, sizeof text);
        if ((int)strlen(text) > default_w) default_w = (int)strlen(text);
        n = p->has_range ? snprintf(text, sizeof text, "%g..%g", p->min, p->max) : 1;
        if (n > range_w) range_w = n;
    }
    printf("%-*s  %-5s  %-*s  %-*s  %s\n", name_w, "name", "type", default_w, "default", range_w,
           "range", "doc");
    for (size_t i = 0; i < count; i++) {
        const sky_param_info *p = sky_program_param(program, i);
        char def[96], range[96];
        params_default_text(p, def, sizeof def);
        if (p->has_range)
            snprintf(range, sizeof range, "%g..%g", p->min, p->max);
        else if (p->color) /* vec3 params have no range: the column says how they are set */
            snprintf(range, sizeof range, "color");
        else
            snprintf(range, sizeof range, "-");
        printf("%-*s  %-5s  %-*s  %-*s  %s\n", name_w, p->name, params_type(p->type), default_w,
               def, range_w, range, docs[i]);
    }
    return 0;
}

static int params_print_json(const char *path, const sky_program *program, char **docs) {
    json_object *root = json_object_new_object();
    json_object *list = json_object_new_array();
    if (!root || !list) {
        json_object_put(root);
        json_object_put(list);
        fprintf(stderr, "%s: out of memory\n", PARAMS_CMD);
        return 2;
    }
    json_object_object_add(root, "file", json_object_new_string(path));
    json_object_object_add(root, "params", list);
    for (size_t i = 0; i < sky_program_param_count(program); i++) {
        const sky_param_info *p = sky_program_param(program, i);
        json_object *o = json_object_new_object();
        if (!o) break;
        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "type", json_object_new_string(params_type(p->type)));
        json_object *def;
        if (p->type == SKY_TYPE_FLOAT) {
            def = json_object_new_double(p->value[0]);
        } else {
            def = json_object_new_array();
            for (size_t k = 0; def && k < params_components(p->type); k++)
                json_object_array_add(def, json_object_new_double(p->value[k]));
        }
        json_object_object_add(o, "default", def);
        json_object_object_add(o, "min", p->has_range ? json_object_new_double(p->min) : NULL);
        json_object_object_add(o, "max", p->has_range ? json_object_new_double(p->max) : NULL);
        json_object_object_add(o, "doc", json_object_new_string(docs[i]));
        json_object_object_add(o, "color", json_object_new_boolean(p->color));
        json_object_array_add(list, o);
    }
    live_json_number_format();
    const char *text = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int code = text ? 0 : 2;
    if (text)
        printf("%s\n", text);
    else
        fprintf(stderr, "%s: out of memory\n", PARAMS_CMD);
    json_object_put(root);
    return code;
}

enum { PARAMS_OPT_JSON = 256 };

static const struct option params_long_options[] = {{"json", no_argument, NULL, PARAMS_OPT_JSON},
                                                    {"help", no_argument, NULL, 'h'},
                                                    {NULL, 0, NULL, 0}};

int cmd_params(int argc, char **argv) {
    bool json = false;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(PARAMS_CMD, argc, argv, "h", params_long_options)) != -1) {
        if (opt == 'h') {
            params_usage(stdout);
            return 0;
        }
        if (opt != PARAMS_OPT_JSON) {
            fputc('\n', stderr);
            params_usage(stderr);
            return 2;
        }
        json = true;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "%s: %s (usage: sky params FILE [--json])\n", PARAMS_CMD,
                optind >= argc ? "which pattern?" : "one pattern file at a time");
        return 2;
    }
    const char *path = argv[optind];
    char error[512];
    size_t len = 0;
    char *source = cli_read_file(path, &len, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: %s\n", PARAMS_CMD, error);
        return 2;
    }
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    sky_program *program = NULL;
    int code = live_compile_source(PARAMS_CMD, name, source, len, &program);
    if (code == 0) {
        char **docs = live_param_docs(program, source, len);
        if (!docs) {
            fprintf(stderr, "%s: out of memory\n", PARAMS_CMD);
            code = 2;
        } else {
            code = json ? params_print_json(name, program, docs)
                        : params_print_text(name, program, docs);
        }
        live_param_docs_free(docs, sky_program_param_count(program));
    }
    sky_program_free(program);
    free(source);
    fflush(stdout);
    return code;
}

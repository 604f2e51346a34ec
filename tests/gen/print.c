/*
 * print.c - generated programs as .sky source text, and coverage counts.
 *
 * The printer writes a gen_program's tree with the fewest parentheses the
 * precedence table allows, plus the redundant pairs the generator asked for,
 * and each declaration with its decorations (a comment before it, `;` after
 * it, a line break after `=`). While printing it counts the nesting depth
 * exactly as the parser does (parse.c): every pair of parentheses, unary
 * operator, `^`, conditional branch, call argument and reduction body is one
 * level, and the k-th operator of a left-associative chain (and the k-th
 * swizzle of a chain of swizzles) is k levels, so the limit tests can build
 * programs at exactly 256 levels. A declaration's expression itself is level 0.
 *
 * Coverage: how often each built-in, operator, input, reduction and language
 * feature was generated over a run, so the test can insist that every one of
 * them was exercised.
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* --------------------------------------------------------------- printing */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool nomem;
} sbuf;

static void sb_put(sbuf *b, const char *text, size_t n) {
    if (b->nomem) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->nomem = true;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_str(sbuf *b, const char *text) {
    sb_put(b, text, strlen(text));
}

typedef struct printer {
    const gen_program *p;
    const gen_decl *fn; /* the fn whose body is printed, for argument names */
    sbuf b;
    int max_depth;
} printer;

/* Precedence levels, loosest first, as in parse.c. */
enum { L_COND, L_OR, L_AND, L_CMP, L_ADD, L_MUL, L_UNARY, L_POW, L_POSTFIX, L_PRIMARY };

static int binop_level(int op) {
    switch (op) {
    case GB_OR:
        return L_OR;
    case GB_AND:
        return L_AND;
    case GB_ADD:
    case GB_SUB:
        return L_ADD;
    case GB_MUL:
    case GB_DIV:
    case GB_MOD:
        return L_MUL;
    case GB_POW:
        return L_POW;
    default:
        return L_CMP;
    }
}

static int node_level(const gen_node *n) {
    switch (n->kind) {
    case GN_COND:
        return L_COND;
    case GN_BIN:
        return binop_level(n->op);
    case GN_NEG:
    case GN_NOT:
        return L_UNARY;
    case GN_SWIZZLE:
        return L_POSTFIX;
    default:
        return L_PRIMARY;
    }
}

static bool bare(const gen_node *n, int min_level) {
    return !n->paren && node_level(n) >= min_level;
}

static void event(printer *pr, int depth) {
    if (depth > pr->max_depth) pr->max_depth = depth;
}

/* Operators of a left-associative chain to the left of (and including) node n. */
static int chain_ops(const gen_program *p, const gen_node *n) {
    int level = node_level(n), ops = 1;
    const gen_node *left = &p->nodes[n->a[0]];
    while (left->kind == GN_BIN && bare(left, level) && node_level(left) == level) {
        ops++;
        left = &p->nodes[left->a[0]];
    }
    return ops;
}

static int swizzle_ops(const gen_program *p, const gen_node *n) {
    int ops = 1;
    const gen_node *base = &p->nodes[n->a[0]];
    while (base->kind == GN_SWIZZLE && !base->paren) {
        ops++;
        base = &p->nodes[base->a[0]];
    }
    return ops;
}

static void print_expr(printer *pr, int32_t id, int min_level, int depth);

static void print_args(printer *pr, const gen_node *n, int first, int depth) {
    sb_str(&pr->b, "(");
    for (int i = first; i < n->nargs; i++) {
        if (i > first) sb_str(&pr->b, ", ");
        event(pr, depth + 1);
        print_expr(pr, n->a[i], L_COND, depth + 1);
    }
    sb_str(&pr->b, ")");
}

static void print_inner(printer *pr, const gen_node *n, int depth) {
    const gen_program *p = pr->p;
    char buf[64];
    switch (n->kind) {
    case GN_NUM:
        sb_str(&pr->b, n->text);
        break;
    case GN_INPUT:
        sb_str(&pr->b, gen_input_names[n->op]);
        break;
    case GN_PREV:
        sb_str(&pr->b, "prev");
        break;
    case GN_PARAM:
    case GN_LET:
        sb_str(&pr->b, p->decls[n->ref].name);
        break;
    case GN_ARG:
        sb_str(&pr->b, pr->fn ? pr->fn->arg_names[n->ref] : "?");
        break;
    case GN_RVAR:
        sb_str(&pr->b, p->nodes[n->ref].text);
        break;
    case GN_NEG:
    case GN_NOT: {
        sb_str(&pr->b, n->kind == GN_NEG ? "-" : "!");
        const gen_node *a = &p->nodes[n->a[0]];
        if (a->kind == n->kind && !a->paren) sb_str(&pr->b, " ");
        event(pr, depth + 1);
        print_expr(pr, n->a[0], L_UNARY, depth + 1);
        break;
    }
    case GN_BIN: {
        int level = node_level(n);
        if (level == L_POW) {
            print_expr(pr, n->a[0], L_POSTFIX, depth);
            sb_str(&pr->b, "^");
            event(pr, depth + 1);
            print_expr(pr, n->a[1], L_UNARY, depth + 1);
        } else if (level == L_CMP) {
            print_expr(pr, n->a[0], L_ADD, depth);
            snprintf(buf, sizeof buf, " %s ", gen_binop_names[n->op]);
            sb_str(&pr->b, buf);
            print_expr(pr, n->a[1], L_ADD, depth);
        } else {
            int ops = chain_ops(p, n);
            print_expr(pr, n->a[0], level, depth);
            snprintf(buf, sizeof buf, " %s ", gen_binop_names[n->op]);
            sb_str(&pr->b, buf);
            event(pr, depth + ops);
            print_expr(pr, n->a[1], level + 1, depth + ops);
        }
        break;
    }
    case GN_COND:
        print_expr(pr, n->a[0], L_OR, depth);
        sb_str(&pr->b, " ? ");
        event(pr, depth + 1);
        print_expr(pr, n->a[1], L_COND, depth + 1);
        sb_str(&pr->b, " : ");
        event(pr, depth + 1);
        print_expr(pr, n->a[2], L_COND, depth + 1);
        break;
    case GN_SWIZZLE:
        print_expr(pr, n->a[0], L_POSTFIX, depth);
        event(pr, depth + swizzle_ops(p, n));
        sb_str(&pr->b, ".");
        sb_str(&pr->b, n->text);
        break;
    case GN_BUILTIN:
        sb_str(&pr->b, gen_builtins[n->op].name);
        print_args(pr, n, 0, depth);
        break;
    case GN_CALL:
        sb_str(&pr->b, p->decls[n->ref].name);
        print_args(pr, n, 0, depth);
        break;
    case GN_REDUCE:
        snprintf(buf, sizeof buf, "%s(%s in %.0f..%.0f, ", gen_reduce_names[n->op], n->text, n->lo,
                 n->hi);
        sb_str(&pr->b, buf);
        event(pr, depth + 1);
        print_expr(pr, n->a[0], L_COND, depth + 1);
        sb_str(&pr->b, ")");
        break;
    }
}

static void print_expr(printer *pr, int32_t id, int min_level, int depth) {
    const gen_node *n = &pr->p->nodes[id];
    int pairs = n->paren + (node_level(n) < min_level ? 1 : 0);
    for (int i = 0; i < pairs; i++) sb_str(&pr->b, "(");
    if (pairs) event(pr, depth + pairs);
    print_inner(pr, n, depth + pairs);
    for (int i = 0; i < pairs; i++) sb_str(&pr->b, ")");
}

static void print_decl(printer *pr, const gen_decl *d, unsigned index) {
    char buf[128];
    if (d->style & 2)
        sb_str(&pr->b, index % 2 ? "# generated declaration\n" : "// generated: a comment\n");
    pr->fn = NULL;
    switch (d->kind) {
    case GD_PARAM:
        snprintf(buf, sizeof buf, "param %s = ", d->name);
        break;
    case GD_LET:
        snprintf(buf, sizeof buf, "let %s = ", d->name);
        break;
    case GD_FN: {
        snprintf(buf, sizeof buf, "fn %s(", d->name);
        for (int i = 0; i < d->nargs; i++) {
            if (i) strcat(buf, ", ");
            strcat(buf, d->arg_names[i]);
        }
        strcat(buf, ") = ");
        pr->fn = d;
        break;
    }
    default:
        snprintf(buf, sizeof buf, "out ");
    }
    sb_str(&pr->b, buf);
    if (d->style & 4) sb_str(&pr->b, "\n    ");
    event(pr, 0);
    print_expr(pr, d->body, L_COND, 0);
    if (d->kind == GD_PARAM && d->has_range) {
        snprintf(buf, sizeof buf, " in %s..%s", d->lo_text, d->hi_text);
        sb_str(&pr->b, buf);
    }
    sb_str(&pr->b, d->style & 1 ? ";\n" : "\n");
}

bool gen_program_print(gen_program *p) {
    printer pr = {.p = p};
    char head[96];
    snprintf(head, sizeof head, "# generated by tests/gen (seed %016llx)\n",
             (unsigned long long)p->seed);
    sb_str(&pr.b, head);
    for (uint32_t i = 0; i < p->decl_count; i++) print_decl(&pr, &p->decls[i], i);
    /* Padding: comment lines of up to 80 bytes, the last one cut to fit exactly. */
    while (p->pad_to && pr.b.len < p->pad_to && !pr.b.nomem) {
        size_t left = p->pad_to - pr.b.len;
        char line[81];
        size_t n = left > 80 ? 80 : left;
        memset(line, '#', n);
        line[n - 1] = '\n';
        sb_put(&pr.b, line, n);
    }
    if (pr.b.nomem) {
        free(pr.b.s);
        return false;
    }
    free(p->source);
    p->source = pr.b.s;
    p->source_len = pr.b.len;
    p->depth = pr.max_depth;
    return true;
}

/* --------------------------------------------------------------- coverage */

static bool is_shadow_name(const char *name, bool builtins) {
    if (!builtins) {
        for (int i = 0; i < GI__COUNT; i++)
            if (strcmp(name, gen_input_names[i]) == 0) return true;
        return false;
    }
    for (int i = 0; i < GF__COUNT; i++)
        if (strcmp(name, gen_builtins[i].name) == 0) return true;
    return false;
}

static bool subtree_has(const gen_program *p, int32_t id, gen_kind kind) {
    const gen_node *n = &p->nodes[id];
    if (n->kind == kind) return true;
    for (int i = 0; i < n->nargs; i++)
        if (subtree_has(p, n->a[i], kind)) return true;
    return false;
}

void gen_coverage_add(gen_coverage *cov, const gen_program *p) {
    cov->programs++;
    cov->nodes += p->node_count;
    if (p->depth > cov->max_depth) cov->max_depth = p->depth;
    /* Types each generic fn was called at (bit per type). */
    unsigned *called = calloc(p->decl_count ? p->decl_count : 1, sizeof *called);
    bool generic_2 = false;
    for (uint32_t i = 0; i < p->node_count; i++) {
        const gen_node *n = &p->nodes[i];
        switch (n->kind) {
        case GN_NUM:
            if (strpbrk(n->text, "eE")) cov->features[GX_NUM_EXP]++;
            if (n->text[0] == '.' || n->text[strlen(n->text) - 1] == '.')
                cov->features[GX_NUM_DOT]++;
            break;
        case GN_INPUT:
            cov->inputs[n->op]++;
            break;
        case GN_PREV:
            cov->prev++;
            break;
        case GN_NEG:
            cov->features[GX_NEG]++;
            break;
        case GN_NOT:
            cov->features[GX_NOT]++;
            break;
        case GN_BIN:
            cov->binops[n->op]++;
            break;
        case GN_COND:
            cov->features[GX_COND]++;
            if (n->type == GT_VEC2 || n->type == GT_VEC3 || n->type == GT_T)
                cov->features[GX_COND_VEC]++;
            break;
        case GN_SWIZZLE:
            cov->features[strchr("xyz", n->text[0]) ? GX_SWIZZLE_XYZ : GX_SWIZZLE_RGB]++;
            if (p->nodes[n->a[0]].kind == GN_SWIZZLE) cov->features[GX_SWIZZLE_CHAIN]++;
            break;
        case GN_BUILTIN:
            cov->builtins[n->op]++;
            break;
        case GN_CALL:
            if (called && p->decls[n->ref].type == GT_T) called[n->ref] |= 1u << n->type;
            if (p->decls[n->ref].type == GT_BOOL) cov->features[GX_FN_BOOL]++;
            break;
        case GN_REDUCE:
            cov->reduces[n->op]++;
            if (n->lo < 0) cov->features[GX_NEG_BOUND]++;
            if (p->nodes[n->a[0]].kind == GN_REDUCE) cov->features[GX_NESTED_REDUCE]++;
            if (is_shadow_name(n->text, false)) cov->features[GX_SHADOW_INPUT]++;
            if (is_shadow_name(n->text, true)) cov->features[GX_SHADOW_BUILTIN]++;
            break;
        default:
            break;
        }
    }
    for (uint32_t i = 0; i < p->decl_count; i++) {
        const gen_decl *d = &p->decls[i];
        if (d->kind == GD_PARAM) {
            if (d->has_range) cov->features[GX_PARAM_RANGED]++;
            if (d->has_range && d->lo < 0) cov->features[GX_NEG_BOUND]++;
            if (d->type == GT_VEC3) cov->features[GX_PARAM_VEC3]++;
            if (d->type == GT_VEC2) cov->features[GX_PARAM_VEC2]++;
        } else if (d->kind == GD_LET) {
            cov->features[d->type == GT_BOOL ? GX_LET_BOOL : GX_LET]++;
        } else if (d->kind == GD_FN) {
            cov->features[d->type == GT_T ? GX_FN_GENERIC : GX_FN]++;
            for (int a = 0; a < d->nargs; a++) {
                if (is_shadow_name(d->arg_names[a], false)) cov->features[GX_SHADOW_INPUT]++;
                if (is_shadow_name(d->arg_names[a], true)) cov->features[GX_SHADOW_BUILTIN]++;
            }
            if (called && called[i] && (called[i] & (called[i] - 1))) generic_2 = true;
        } else if (d->kind == GD_OUT) {
            cov->features[d->type == GT_VEC3 ? GX_OUT_VEC3 : GX_OUT_FLOAT]++;
        }
    }
    for (uint32_t i = 0; i < p->decl_count; i++)
        if (p->decls[i].kind == GD_FN && subtree_has(p, p->decls[i].body, GN_CALL))
            cov->features[GX_FN_NESTED_CALL]++;
    if (generic_2) cov->features[GX_FN_GENERIC_2TYPES]++;
    free(called);
}

static const char *const feature_names[GX__COUNT] = {
    [GX_PARAM_RANGED] = "ranged float param",
    [GX_PARAM_VEC3] = "vec3 param",
    [GX_PARAM_VEC2] = "vec2 param",
    [GX_LET] = "let",
    [GX_LET_BOOL] = "bool let",
    [GX_FN] = "fn",
    [GX_FN_GENERIC] = "generic fn",
    [GX_FN_GENERIC_2TYPES] = "generic fn called at two types",
    [GX_FN_BOOL] = "bool fn called",
    [GX_FN_NESTED_CALL] = "fn calling a fn",
    [GX_COND] = "?:",
    [GX_COND_VEC] = "?: of vectors",
    [GX_SWIZZLE_XYZ] = "xyz swizzle",
    [GX_SWIZZLE_RGB] = "rgb swizzle",
    [GX_SWIZZLE_CHAIN] = "swizzle of a swizzle",
    [GX_NESTED_REDUCE] = "reduction in a reduction",
    [GX_SHADOW_INPUT] = "local shadowing an input",
    [GX_SHADOW_BUILTIN] = "local shadowing a built-in",
    [GX_OUT_FLOAT] = "float out",
    [GX_OUT_VEC3] = "vec3 out",
    [GX_NEG] = "unary -",
    [GX_NOT] = "!",
    [GX_NUM_EXP] = "number with exponent",
    [GX_NUM_DOT] = "number .5 or 3.",
    [GX_NEG_BOUND] = "negative range bound",
};

static size_t report_row(FILE *out, const char *what, const char *name, uint64_t count,
                         bool verbose) {
    if (verbose || count == 0)
        fprintf(out, "  %-10s %-32s %llu%s\n", what, name, (unsigned long long)count,
                count ? "" : "   <-- never generated");
    return count == 0;
}

size_t gen_coverage_report(const gen_coverage *cov, FILE *out, bool verbose) {
    size_t missing = 0;
    fprintf(out, "coverage over %llu programs (%llu nodes, deepest nesting %d):\n",
            (unsigned long long)cov->programs, (unsigned long long)cov->nodes, cov->max_depth);
    for (int i = 0; i < GF__COUNT; i++)
        missing += report_row(out, "built-in", gen_builtins[i].label, cov->builtins[i], verbose);
    for (int i = 0; i < GB__COUNT; i++)
        missing += report_row(out, "operator", gen_binop_names[i], cov->binops[i], verbose);
    for (int i = 0; i < GI__COUNT; i++)
        missing += report_row(out, "input", gen_input_names[i], cov->inputs[i], verbose);
    missing += report_row(out, "input", "prev", cov->prev, verbose);
    for (int i = 0; i < GR__COUNT; i++)
        missing += report_row(out, "reduction", gen_reduce_names[i], cov->reduces[i], verbose);
    for (int i = 0; i < GX__COUNT; i++)
        missing += report_row(out, "feature", feature_names[i], cov->features[i], verbose);
    if (!missing) fprintf(out, "  every built-in, operator, input, reduction and feature seen\n");
    return missing;
}

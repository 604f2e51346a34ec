/*
 * inline.c - a call of a `fn`: its body inlined, memoised per argument values.
 *
 * Functions are generic: each call lowers the body again, with the argument
 * values (of whatever types) in the parameters' slots. Calls with the same
 * function and the same argument types and nodes return the stored result:
 * the language is pure and nodes are hash-consed, so this is exact, and it
 * keeps chains such as f(f(f(...))) linear instead of exponential. The memo
 * is a chained hash table in the arena, doubled when it holds more entries
 * than buckets.
 */
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

/* A stored call: the key (function id, then each argument's type and 3 nodes) and its value. */
struct ck_memo_entry {
    struct ck_memo_entry *next;
    uint32_t hash, len;
    uint32_t *key;
    ck_value result;
};

/* Fills key[0 .. 1 + 4 nargs): the function, then each argument's type and nodes. */
static void memo_key(uint32_t *key, const ck_sym *s, const ck_value *args, uint32_t nargs) {
    key[0] = s->id;
    for (uint32_t i = 0; i < nargs; i++) {
        key[1 + 4 * i] = args[i].type;
        for (int c = 0; c < 3; c++) key[2 + 4 * i + c] = args[i].n[c];
    }
}

static uint32_t memo_hash(const uint32_t *key, uint32_t len) {
    uint32_t hash = 2166136261u;
    for (uint32_t i = 0; i < len; i++) hash = (hash ^ key[i]) * 16777619u;
    return hash;
}

/* The checker's scratch key, grown to hold len words; NULL without memory. */
static uint32_t *scratch_key(ck_checker *ck, uint32_t len) {
    if (len > ck->key_cap) {
        uint32_t *grown = realloc(ck->key_buf, len * 2 * sizeof *grown);
        if (!grown) {
            ck_fail_nomem(ck);
            return NULL;
        }
        ck->key_buf = grown;
        ck->key_cap = len * 2;
    }
    return ck->key_buf;
}

static const ck_memo_entry *memo_find(const ck_checker *ck, uint32_t hash, const uint32_t *key,
                                      uint32_t len) {
    for (const ck_memo_entry *m = ck->memo[hash & (ck->memo_cap - 1)]; m; m = m->next)
        if (m->hash == hash && m->len == len && memcmp(m->key, key, len * sizeof *key) == 0)
            return m;
    return NULL;
}

/* Doubles the bucket array; false (and the checker stops) without memory. */
static bool memo_grow(ck_checker *ck) {
    uint32_t cap = ck->memo_cap * 2;
    ck_memo_entry **table = arena_alloc(ck->a, cap * sizeof *table);
    if (!table) {
        ck_fail_nomem(ck);
        return false;
    }
    for (uint32_t i = 0; i < ck->memo_cap; i++) {
        for (ck_memo_entry *next, *it = ck->memo[i]; it; it = next) {
            next = it->next;
            it->next = table[it->hash & (cap - 1)];
            table[it->hash & (cap - 1)] = it;
        }
    }
    ck->memo = table;
    ck->memo_cap = cap;
    return true;
}

/*
 * Stores the result of the call of s with args. The inlined body may have
 * reused the scratch key, so the stored copy is built afresh.
 */
static bool memo_store(ck_checker *ck, uint32_t hash, const ck_sym *s, const ck_value *args,
                       uint32_t nargs, ck_value result) {
    uint32_t len = 1 + 4 * nargs;
    ck_memo_entry *m = arena_alloc(ck->a, sizeof *m);
    uint32_t *stored = arena_alloc(ck->a, len * sizeof *stored);
    if (!m || !stored) {
        ck_fail_nomem(ck);
        return false;
    }
    memo_key(stored, s, args, nargs);
    *m = (ck_memo_entry){ck->memo[hash & (ck->memo_cap - 1)], hash, len, stored, result};
    ck->memo[hash & (ck->memo_cap - 1)] = m;
    return ++ck->memo_count <= ck->memo_cap || memo_grow(ck);
}

/* Inlines a user function: its parameters' slots hold the argument values. */
ck_value ck_inline_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_sym *s,
                        const ck_value *args) {
    const ast_decl *d = s->decl;
    if (e->nargs != d->nparams) {
        if (ck_error(ck, f, E_ARITY, e->start, e->end, NULL, "`%s` takes %u %s, but %u %s given",
                     s->name, d->nparams, ck_arguments_word(d->nparams), e->nargs,
                     ck_was_were(e->nargs)))
            diag_note(ck->d, d->name_start, d->name_end, "`%s` is defined here", s->name);
        return CK_ERR;
    }
    uint32_t len = 1 + 4 * e->nargs;
    uint32_t *key = scratch_key(ck, len);
    if (!key) return CK_ERR;
    memo_key(key, s, args, e->nargs);
    uint32_t hash = memo_hash(key, len);
    const ck_memo_entry *known = memo_find(ck, hash, key, len);
    if (known) return known->result;

    ck_frame inner = {0, e};
    if (!ck_push_slots(ck, s->frame_size, &inner.base)) return CK_ERR;
    for (uint32_t i = 0; i < e->nargs; i++) ck->stack[inner.base + i] = args[i];
    ck_value result = ck_lower(ck, &inner, d->body);
    ck->stack_len = inner.base;
    if (ck->fatal) return CK_ERR;
    return memo_store(ck, hash, s, args, e->nargs, result) ? result : CK_ERR;
}

/*
 * hkset.c: linear-probing hash table of 64-bit fingerprints (see hkset.h for why
 * fingerprints are enough). Grows at 70% load.
 */
#include "jobs/hkset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void hkset_init(HkSet *s, size_t expected)
{
    size_t cap = 1024;
    while (cap < expected + expected / 2 + 16)
        cap <<= 1;
    s->cap = cap;
    s->n = 0;
    s->keys = dip_calloc(cap, sizeof(uint64_t));
    s->vals = dip_malloc(cap * sizeof(uint64_t));
}

void hkset_free(HkSet *s)
{
    free(s->keys);
    free(s->vals);
    memset(s, 0, sizeof *s);
}

bool hkset_get(const HkSet *s, uint64_t key, uint64_t *val)
{
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (s->keys[i] == key) {
            *val = s->vals[i];
            return true;
        }
        if (s->keys[i] == 0) return false;
    }
}

static void put_nogrow(HkSet *s, uint64_t key, uint64_t val)
{
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (s->keys[i] == key) {
            s->vals[i] = val;
            return;
        }
        if (s->keys[i] == 0) {
            s->keys[i] = key;
            s->vals[i] = val;
            s->n++;
            return;
        }
    }
}

void hkset_put(HkSet *s, uint64_t key, uint64_t val)
{
    assert(key != 0); /* 0 marks an empty slot: keys come from hkset_key, never 0 */
    if ((s->n + 1) * 10 > s->cap * 7) {
        HkSet g;
        g.cap = s->cap * 2;
        g.n = 0;
        g.keys = dip_calloc(g.cap, sizeof(uint64_t));
        g.vals = dip_malloc(g.cap * sizeof(uint64_t));
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[i]) put_nogrow(&g, s->keys[i], s->vals[i]);
        hkset_free(s);
        *s = g;
    }
    put_nogrow(s, key, val);
}

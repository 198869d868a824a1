/*
 * keyset.c: the set of index+_id keys held by actions in flight, so that the bulk scheduler
 * never sends a second action on a document while an earlier one is unanswered (the engines
 * apply a bulk's items in order per shard, but two requests in flight race each other).
 *
 * Keys are 64-bit hashes; a collision makes an unrelated action wait for a batch, which is
 * harmless, while never letting two actions on one document overlap. Open addressing with
 * linear probing and backward-shift deletion (Knuth 6.4, Algorithm R), so no tombstones pile
 * up over a long stream.
 */
#include "es/es_internal.h"

#include <stdlib.h>
#include <string.h>

void es_keyset_init(EsKeySet *s)
{
    memset(s, 0, sizeof *s);
}

void es_keyset_free(EsKeySet *s)
{
    free(s->keys);
    free(s->counts);
    memset(s, 0, sizeof *s);
}

static size_t slot_of(const EsKeySet *s, uint64_t key)
{
    /* the key is already a hash: mix once more so low bits are well spread */
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (s->cap - 1);
}

static void keyset_grow(EsKeySet *s)
{
    size_t old_cap = s->cap;
    uint64_t *old_keys = s->keys;
    uint32_t *old_counts = s->counts;
    s->cap = old_cap ? old_cap * 2 : 1024;
    s->keys = dip_calloc(s->cap, sizeof *s->keys);
    s->counts = dip_calloc(s->cap, sizeof *s->counts);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old_keys[i]) continue;
        size_t j = slot_of(s, old_keys[i]);
        while (s->keys[j])
            j = (j + 1) & (s->cap - 1);
        s->keys[j] = old_keys[i];
        s->counts[j] = old_counts[i];
    }
    free(old_keys);
    free(old_counts);
}

void es_keyset_add(EsKeySet *s, uint64_t key)
{
    if ((s->used + 1) * 2 > s->cap) keyset_grow(s);
    size_t j = slot_of(s, key);
    while (s->keys[j] && s->keys[j] != key)
        j = (j + 1) & (s->cap - 1);
    if (!s->keys[j]) {
        s->keys[j] = key;
        s->counts[j] = 0;
        s->used++;
    }
    s->counts[j]++;
}

bool es_keyset_contains(const EsKeySet *s, uint64_t key)
{
    if (!s->cap) return false;
    size_t j = slot_of(s, key);
    while (s->keys[j]) {
        if (s->keys[j] == key) return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

void es_keyset_remove(EsKeySet *s, uint64_t key)
{
    if (!s->cap) return;
    size_t mask = s->cap - 1;
    size_t j = slot_of(s, key);
    while (s->keys[j] && s->keys[j] != key)
        j = (j + 1) & mask;
    if (!s->keys[j]) return;
    if (--s->counts[j] > 0) return;
    s->keys[j] = 0;
    s->used--;
    /* backward shift: move later members of the probe run into the hole when their home
     * slot does not lie cyclically between the hole and their position */
    size_t hole = j;
    size_t k = (j + 1) & mask;
    while (s->keys[k]) {
        size_t home = slot_of(s, s->keys[k]);
        bool between = hole <= k ? (hole < home && home <= k) : (hole < home || home <= k);
        if (!between) {
            s->keys[hole] = s->keys[k];
            s->counts[hole] = s->counts[k];
            s->keys[k] = 0;
            hole = k;
        }
        k = (k + 1) & mask;
    }
}

uint64_t es_action_key(const char *index, const char *id)
{
    size_t ni = strlen(index), nd = strlen(id);
    uint64_t h = dip_xxh64(index, ni, 0x5eed);
    h = dip_xxh64(id, nd, h);
    return h ? h : 1;
}

/*
 * hkset.h: an open-addressing hash table of (hk, hdiff) fingerprints, the pre-filter of
 * sync-pg (DESIGN.md, measured facts: filtering identical (hk, hdiff) pairs before the merge
 * writes nothing, where ON CONFLICT .. WHERE hdiff IS DISTINCT FROM still locks and logs
 * every row).
 *
 * Keys are xxh64(hk) and values xxh64(hdiff): 16 bytes per row, so 5M gold rows fit in
 * ~128 MiB. A false "present" (two hks with one fingerprint, ~n^2/2^65) only sends a new row
 * through the merge, which is always correct; skipping a changed row would need both
 * fingerprints to collide (~2^-64 more), the documented residual risk.
 */
#ifndef DIP_JOBS_HKSET_H
#define DIP_JOBS_HKSET_H

#include "core/core.h"

typedef struct HkSet {
    uint64_t *keys; /* 0 = empty slot */
    uint64_t *vals;
    size_t cap; /* power of two */
    size_t n;
} HkSet;

void hkset_init(HkSet *s, size_t expected);
void hkset_free(HkSet *s);
static inline uint64_t hkset_key(const void *hk, size_t n)
{
    uint64_t k = dip_xxh64(hk, n, 0x6b68ULL);
    return k ? k : 1;
}
/* Returns true and the value when present. */
bool hkset_get(const HkSet *s, uint64_t key, uint64_t *val);
/* Inserts or overwrites. */
void hkset_put(HkSet *s, uint64_t key, uint64_t val);

#endif

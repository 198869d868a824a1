/*
 * pgrepl_read.h: bounds-checked big-endian reading of replication protocol bytes (private to
 * src/pg). Every read checks the bytes left first and records a DIP_ERR_DATA error naming the
 * message and the byte offset. (wt-core is adding a BeReader to core; once it is on main these
 * helpers should become thin wrappers over it.)
 */
#ifndef DIP_PGREPL_READ_H
#define DIP_PGREPL_READ_H

#include "core/core.h"

#include <string.h>

typedef struct PgrReader {
    const uint8_t *p;
    size_t n;
    size_t off;
    const char *proto; /* protocol for errors: "pgoutput", "replication" */
    const char *what;  /* message name for errors: "Insert" (static strings: no formatting per
                          message on the hot path) */
    DipError *err;
} PgrReader;

/* Records the error; the callers return false themselves so the compiler sees that no output
 * is used after a failed read. */
static inline void pgr_short(PgrReader *r, size_t need, const char *field)
{
    (void)dip_error_set(r->err, DIP_ERR_DATA,
                        "%s %s message (%zu bytes): offset %zu: truncated %s (need %zu bytes, "
                        "%zu left)",
                        r->proto, r->what, r->n, r->off, field, need, r->n - r->off);
}

static inline bool pgr_u8(PgrReader *r, uint8_t *v, const char *field)
{
    if (r->n - r->off < 1) {
        pgr_short(r, 1, field);
        return false;
    }
    *v = r->p[r->off++];
    return true;
}

static inline bool pgr_u16(PgrReader *r, uint16_t *v, const char *field)
{
    if (r->n - r->off < 2) {
        pgr_short(r, 2, field);
        return false;
    }
    const uint8_t *q = r->p + r->off;
    *v = (uint16_t)((unsigned)q[0] << 8 | q[1]);
    r->off += 2;
    return true;
}

static inline bool pgr_u32(PgrReader *r, uint32_t *v, const char *field)
{
    if (r->n - r->off < 4) {
        pgr_short(r, 4, field);
        return false;
    }
    const uint8_t *q = r->p + r->off;
    *v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    r->off += 4;
    return true;
}

static inline bool pgr_u64(PgrReader *r, uint64_t *v, const char *field)
{
    if (r->n - r->off < 8) {
        pgr_short(r, 8, field);
        return false;
    }
    const uint8_t *q = r->p + r->off;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | q[i];
    *v = x;
    r->off += 8;
    return true;
}

/* A NUL-terminated string in place: *s points into the buffer. */
static inline bool pgr_str(PgrReader *r, const char **s, const char *field)
{
    const uint8_t *start = r->p + r->off;
    const uint8_t *nul = memchr(start, 0, r->n - r->off);
    if (nul == NULL) {
        (void)dip_error_set(
            r->err, DIP_ERR_DATA,
            "%s %s message (%zu bytes): offset %zu: %s is not NUL-terminated within "
            "the message",
            r->proto, r->what, r->n, r->off, field);
        return false;
    }
    *s = (const char *)start;
    r->off += (size_t)(nul - start) + 1;
    return true;
}

static inline bool pgr_bytes(PgrReader *r, size_t len, const uint8_t **s, const char *field)
{
    if (r->n - r->off < len) {
        pgr_short(r, len, field);
        return false;
    }
    *s = r->p + r->off;
    r->off += len;
    return true;
}

/* PostgreSQL-epoch microseconds to Unix-epoch microseconds; out-of-range is a data error. */
static inline bool pgr_timestamp(PgrReader *r, int64_t *unix_us, const char *field)
{
    size_t at = r->off;
    uint64_t raw;
    if (!pgr_u64(r, &raw, field)) return false;
    if (__builtin_add_overflow((int64_t)raw, INT64_C(946684800000000), unix_us)) {
        (void)dip_error_set(r->err, DIP_ERR_DATA,
                            "%s %s message (%zu bytes): offset %zu: %s out of range", r->proto,
                            r->what, r->n, at, field);
        return false;
    }
    return true;
}

#endif /* DIP_PGREPL_READ_H */

/*
 * bytes.c: the out-of-line part of the bounds-checked byte reader (core.h ByteReader); the
 * fixed-width reads are inline in core.h because decoders call them per field.
 */
#include "core/core.h"

#include <string.h>

bool br_read_cstring(ByteReader *r, const char **out, size_t *len)
{
    const uint8_t *start = r->p + r->pos;
    const uint8_t *nul = r->n > r->pos ? memchr(start, '\0', r->n - r->pos) : NULL;
    if (!nul) {
        r->failed = true;
        *out = NULL;
        *len = 0;
        return false;
    }
    *out = (const char *)start;
    *len = (size_t)(nul - start);
    r->pos += *len + 1;
    return true;
}

/*
 * names.c: the one rule dip applies to the names of PostgreSQL objects it creates or looks
 * up (PostgreSQL docs, "Identifiers and Key Words"): a name is taken literally, case kept,
 * and always written as a quoted identifier, in statements and in catalog lookups alike
 * (to_regclass() folds an unquoted name to lower case, so a lookup of the raw text would
 * miss a table created quoted). A table name is `table` or `schema.table`, split at its one
 * dot. PostgreSQL keeps only NAMEDATALEN-1 = 63 bytes of an identifier and silently cuts
 * the rest, which turns two long names into one: a part over 63 bytes is refused, and names
 * dip derives (an index named after its table) get a short hash suffix instead of a cut.
 */
#include "pg/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), 0 when invalid (overlongs, surrogates
 * and code points over U+10FFFF included: the server refuses them in UTF8 databases). */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || n > left) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
    if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && p[1] >= 0x90) return 0; /* over U+10FFFF */
    return n;
}

static bool name_part_check(const char *part, size_t n, const char *full, const char *what,
                            const char *role, DipError *err)
{
    if (n == 0)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s '%s': the %s name is empty", what, full,
                             role);
    if (n > PG_NAME_MAX_BYTES)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s '%s': the %s name is %zu bytes; PostgreSQL keeps only %d bytes "
                             "of a name and would silently cut it",
                             what, full, role, n, PG_NAME_MAX_BYTES);
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)part + i;
        size_t k = utf8_seq_len(p, n - i);
        if (k == 0)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "%s '%s': byte %zu of the %s name is not valid UTF-8", what, full,
                                 i, role);
        if (k == 1 && (p[0] < 0x20 || p[0] == 0x7F))
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "%s '%s': the %s name holds control character 0x%02x", what, full,
                                 role, p[0]);
        i += k;
    }
    return true;
}

bool pg_table_name_check(const char *name, const char *what, DipError *err)
{
    if (name == NULL || name[0] == '\0')
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s: the gold table name is empty (expected TABLE or SCHEMA.TABLE)",
                             what);
    const char *dot = strchr(name, '.');
    if (dot && strchr(dot + 1, '.'))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s '%s': more than one '.' (expected TABLE or SCHEMA.TABLE)", what,
                             name);
    if (!dot) return name_part_check(name, strlen(name), name, what, "table", err);
    return name_part_check(name, (size_t)(dot - name), name, what, "schema", err) &&
           name_part_check(dot + 1, strlen(dot + 1), name, what, "table", err);
}

const char *pg_table_name_base(const char *name)
{
    const char *dot = strchr(name, '.');
    return dot && !strchr(dot + 1, '.') ? dot + 1 : name;
}

/* s between two q, each q inside doubled: the one escape both identifiers and literals
 * (standard_conforming_strings on) need. */
static void quote_with(char q, const char *s, Buf *out)
{
    buf_append_byte(out, (uint8_t)q);
    for (const char *p = s; *p; p++) {
        if (*p == q) buf_append_byte(out, (uint8_t)q);
        buf_append_byte(out, (uint8_t)*p);
    }
    buf_append_byte(out, (uint8_t)q);
}

void pg_quote_name(const char *name, Buf *out)
{
    quote_with('"', name, out);
}

void pg_quote_ident(const char *name, Buf *out)
{
    const char *dot = strchr(name, '.');
    if (dot && !strchr(dot + 1, '.')) {
        char *schema = dip_strndup(name, (size_t)(dot - name));
        pg_quote_name(schema, out);
        free(schema);
        buf_append_byte(out, '.');
        pg_quote_name(dot + 1, out);
        return;
    }
    pg_quote_name(name, out);
}

void pg_derived_name(const char *base, const char *suffix, Buf *out)
{
    size_t bl = strlen(base), sl = strlen(suffix);
    if (bl + sl <= PG_NAME_MAX_BYTES) {
        buf_append(out, base, bl);
        buf_append(out, suffix, sl);
        return;
    }
    /* "_" + 16 hex digits of the whole base name keep two long bases that share a prefix
     * apart; the prefix is cut on a UTF-8 character boundary so the name stays valid. */
    char tag[18];
    dip_snprintf(tag, sizeof tag, "_%016llx", (unsigned long long)dip_xxh64(base, bl, 0));
    size_t room = PG_NAME_MAX_BYTES - sl - (sizeof tag - 1);
    size_t keep = bl < room ? bl : room;
    while (keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
        keep--;
    buf_append(out, base, keep);
    buf_append_str(out, tag);
    buf_append(out, suffix, sl);
}

void pg_quote_literal(const char *s, Buf *out)
{
    quote_with('\'', s, out);
}

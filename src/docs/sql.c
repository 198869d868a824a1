/*
 * sql.c: the SQL side of document building: catalog lookups of result column types and
 * the set-based statements of a document tree (one per node and batch of roots).
 */
#include "docs/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool docs_types_lookup(PgConn *c, const uint32_t *oids, int n, DocsValType *out, bool *server_json,
                       DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/docs_types.sql", &sql, err)) return false;
    Buf arr;
    buf_init(&arr);
    buf_append_byte(&arr, '{');
    for (int i = 0; i < n; i++)
        buf_printf(&arr, "%s%u", i ? "," : "", oids[i]);
    buf_append_byte(&arr, '}');
    const char *params[1] = {buf_cstr(&arr)};
    PGresult *r;
    bool ok = pg_query(c, sql, 1, params, &r, err);
    buf_free(&arr);
    if (!ok) return false;
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int row = 0; row < PQntuples(r) && !found; row++) {
            if ((uint32_t)strtoul(PQgetvalue(r, row, 0), NULL, 10) != oids[i]) continue;
            found = true;
            uint32_t base = (uint32_t)strtoul(PQgetvalue(r, row, 1), NULL, 10);
            char base_typtype = PQgetvalue(r, row, 2)[0];
            uint32_t elem = (uint32_t)strtoul(PQgetvalue(r, row, 3), NULL, 10);
            char elem_typtype = PQgetvalue(r, row, 4)[0];
            char delim = PQgetvalue(r, row, 5)[0];
            bool composite = base_typtype == 'c' || base_typtype == 'p' ||
                             (elem != 0 && (elem_typtype == 'c' || elem_typtype == 'p'));
            server_json[i] = composite || !docs_valtype_for_oid(base, elem, delim, &out[i]);
            if (server_json[i]) {
                memset(&out[i], 0, sizeof out[i]);
                out[i].kind = DOCS_VAL_JSON;
            }
        }
        if (!found) {
            PQclear(r);
            return dip_error_set(err, DIP_ERR_INTERNAL, "type %u: not in pg_type", oids[i]);
        }
    }
    PQclear(r);
    return true;
}

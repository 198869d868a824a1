/*
 * sqlfile.c: SQL that dip runs comes from files (STYLE.md): embedded sql/ files templates with
 * {{placeholders}} for identifiers dip decides at run time (always quoted by the caller), and
 * the SchemaManager of the seed, which runs schemas/ files files only for objects that do not
 * exist yet, each file in one transaction, so running it twice (or from two dips at once,
 * serialised by an advisory lock) is harmless.
 */
#include "pg/pg.h"

#include "core/embedded.h"

#include <errno.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key for schema changes: "dipschem" as bytes */
#define DIP_SCHEMA_LOCK_KEY "7234298944479290733"

bool pg_sql_get(const char *name, const char **text, DipError *err)
{
    *text = dip_embedded_get(name, NULL);
    if (*text == NULL)
        return dip_error_set(err, DIP_ERR_INTERNAL, "%s: not embedded in this build", name);
    return true;
}

bool pg_sql_render(const char *tmpl, const char *const *kv, Buf *out, DipError *err)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            buf_append_str(out, p);
            break;
        }
        buf_append(out, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (close == NULL)
            return dip_error_set(err, DIP_ERR_INTERNAL, "SQL template: unterminated {{");
        size_t klen = (size_t)(close - open - 2);
        bool found = false;
        for (int i = 0; kv && kv[i]; i += 2) {
            if (strlen(kv[i]) == klen && memcmp(kv[i], open + 2, klen) == 0) {
                buf_append_str(out, kv[i + 1]);
                found = true;
                break;
            }
        }
        if (!found)
            return dip_error_set(err, DIP_ERR_INTERNAL, "SQL template: no value for {{%.*s}}",
                                 (int)klen, open + 2);
        p = close + 2;
    }
    return true;
}

/* ------------------------------------------------------------ object discovery */

/* Skips whitespace and comments (-- and block). */
static const char *skip_ws(const char *p)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

static bool word_is(const char **pp, const char *w)
{
    const char *p = skip_ws(*pp);
    size_t n = strlen(w);
    if (strncasecmp(p, w, n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_') {
        *pp = p + n;
        return true;
    }
    return false;
}

/* Reads an identifier (possibly schema-qualified, possibly quoted) as written. */
static bool read_name(const char **pp, Buf *out)
{
    const char *p = skip_ws(*pp);
    const char *start = p;
    for (;;) {
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"'))
                p += *p == '"' ? 2 : 1;
            if (*p != '"') return false;
            p++;
        } else {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
                p++;
        }
        if (*p == '.') {
            p++;
            continue;
        }
        break;
    }
    if (p == start) return false;
    buf_append(out, start, (size_t)(p - start));
    *pp = p;
    return true;
}

/* Splits sql into the objects its CREATE statements make, one "kind<TAB>name" line each.
 * Only the statement heads are looked at; bodies are skipped to the next ';' outside
 * quotes and dollar quotes. */
void pg_schema_objects(const char *sql, Buf *out)
{
    const char *p = sql;
    while (*(p = skip_ws(p))) {
        const char *stmt = p;
        if (word_is(&p, "CREATE")) {
            (void)(word_is(&p, "OR") && word_is(&p, "REPLACE"));
            (void)(word_is(&p, "UNLOGGED") || word_is(&p, "TEMP") || word_is(&p, "TEMPORARY"));
            (void)word_is(&p, "UNIQUE");
            const char *kind = NULL;
            if (word_is(&p, "TABLE"))
                kind = "table";
            else if (word_is(&p, "INDEX"))
                kind = "index";
            else if (word_is(&p, "VIEW"))
                kind = "view";
            else if (word_is(&p, "SEQUENCE"))
                kind = "sequence";
            else if (word_is(&p, "SCHEMA"))
                kind = "schema";
            if (kind) {
                (void)(word_is(&p, "CONCURRENTLY"));
                (void)(word_is(&p, "IF") && word_is(&p, "NOT") && word_is(&p, "EXISTS"));
                Buf name;
                buf_init(&name);
                if (read_name(&p, &name) && strcasecmp(buf_cstr(&name), "ON") != 0)
                    buf_printf(out, "%s\t%s\n", kind, buf_cstr(&name));
                buf_free(&name);
            }
        }
        /* to the end of the statement */
        p = stmt;
        while (*p && *p != ';') {
            if (*p == '\'') {
                p++;
                while (*p && !(*p == '\'' && p[1] != '\''))
                    p += *p == '\'' ? 2 : 1;
                if (*p) p++;
            } else if (*p == '$') {
                const char *q = p + 1;
                while (isalnum((unsigned char)*q) || *q == '_')
                    q++;
                if (*q == '$') {
                    size_t tl = (size_t)(q - p + 1);
                    char tag[64];
                    dip_snprintf(tag, sizeof tag, "%.*s", (int)tl, p);
                    const char *e = strstr(q + 1, tag);
                    p = e ? e + tl : p + strlen(p);
                } else {
                    p++;
                }
            } else if (p[0] == '-' && p[1] == '-') {
                while (*p && *p != '\n')
                    p++;
            } else {
                p++;
            }
        }
        if (*p == ';') p++;
    }
}

static bool object_exists(PgConn *c, const char *kind, const char *name, bool *exists,
                          DipError *err)
{
    PGresult *r;
    const char *params[1] = {name};
    const char *sql = strcmp(kind, "schema") == 0 ? "SELECT 1 FROM pg_namespace WHERE nspname = $1"
                                                  : "SELECT to_regclass($1) IS NOT NULL";
    if (strcmp(kind, "schema") == 0 && name[0] == '"') {
        /* unquote for the catalog lookup */
        static _Thread_local char plain[256];
        size_t j = 0;
        for (size_t i = 1; name[i] && j + 1 < sizeof plain; i++) {
            if (name[i] == '"' && name[i + 1] == '"')
                plain[j++] = name[i++];
            else if (name[i] != '"')
                plain[j++] = name[i];
        }
        plain[j] = '\0';
        params[0] = plain;
    }
    if (!pg_query(c, sql, 1, params, &r, err)) return false;
    *exists =
        strcmp(kind, "schema") == 0 ? pg_nrows(r) > 0 : pg_nrows(r) == 1 && pg_value_bool(r, 0, 0);
    pg_result_free(r);
    return true;
}

typedef struct SchemaApply {
    const char *name; /* for messages */
    const char *sql;
    const char *objects; /* "kind\tname" lines */
    bool ran;
} SchemaApply;

/* Inside the transaction: under the schema lock, runs the file unless every object it
 * creates exists already (a file that creates nothing dip can see always runs). */
static bool schema_apply_tx(PgConn *c, void *ctx, DipError *err)
{
    SchemaApply *a = ctx;
    a->ran = false;
    if (!pg_exec(c, "SELECT pg_advisory_xact_lock(" DIP_SCHEMA_LOCK_KEY ")", err)) return false;
    int missing = 0, total = 0;
    char *save = NULL;
    char *list = dip_strdup(a->objects);
    bool ok = true;
    for (char *line = strtok_r(list, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = '\0';
        bool exists = false;
        ok = object_exists(c, line, tab + 1, &exists, err);
        total++;
        missing += !exists;
    }
    free(list);
    if (!ok || (total > 0 && missing == 0)) return ok;
    if (!pg_exec(c, a->sql, err)) {
        dip_error_prefix(err, "schema file %s", a->name);
        return false;
    }
    a->ran = true;
    return true;
}

bool pg_schema_apply_text(PgConn *c, const char *name, const char *sql, bool *ran, DipError *err)
{
    Buf objs;
    buf_init(&objs);
    pg_schema_objects(sql, &objs);
    SchemaApply a = {name, sql, buf_cstr(&objs), false};
    bool ok = pg_tx_run(c, NULL, schema_apply_tx, &a, name, err);
    *ran = ok && a.ran;
    buf_free(&objs);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool pg_schema_apply(PgConn *c, const char *dir, int *ran, DipError *err)
{
    *ran = 0;
    if (dir == NULL) {
        for (size_t k = 0;; k++) {
            const char *n = dip_embedded_name(k);
            if (n == NULL) break;
            if (strncmp(n, "schemas/", 8) != 0) continue;
            bool did;
            if (!pg_schema_apply_text(c, n, dip_embedded_get(n, NULL), &did, err)) return false;
            *ran += did;
        }
        return true;
    }
    DIR *d = opendir(dir);
    if (d == NULL)
        return dip_error_set(err, DIP_ERR_NOT_FOUND, "--schemas %s: cannot open directory", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0) {
            names = dip_realloc(names, (n + 1) * sizeof *names);
            names[n++] = dip_strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char path[4096];
        dip_snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            ok = dip_error_set(err, dip_errno_kind(errno), "%s: cannot open: %s", path,
                               strerror(errno));
            break;
        }
        Buf text;
        buf_init(&text);
        char chunk[65536];
        size_t k;
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_append(&text, chunk, k);
        fclose(f);
        bool did;
        ok = pg_schema_apply_text(c, path, buf_cstr(&text), &did, err);
        *ran += did;
        buf_free(&text);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ok;
}

/*
 * model.c: the declarative gold model file (docs/sync-pg.md, "Model files") and its binding
 * to a silver schema.
 *
 * One directive per line, '#' starts a comment, words separated by spaces (commas allowed
 * between names):
 *   table NAME                     gold table (schema.table allowed)
 *   hk column SILVER               hk is that silver column's value
 *   hk keys SILVER [SILVER ...]    hk = Data Vault 2.0 hash of the business keys
 *   column GOLD [= SILVER]         one gold column (SILVER defaults to GOLD)
 *   columns *                      every silver column not mapped otherwise, same name
 *   exclude SILVER [...]           left out of "columns *"
 *   hdiff exclude GOLD [...]       left out of the hdiff payload
 */
#include "gold/gold.h"

#include "core/embedded.h"

#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256

static int split_words(char *line, char **words)
{
    int n = 0;
    char *p = line;
    while (*p && n < MAX_WORDS) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p) break;
        words[n++] = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

static bool valid_name(const char *s)
{
    if (!*s) return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"') return false;
    return true;
}

static char **push_name(char **arr, int *n, const char *s)
{
    arr = dip_realloc(arr, (size_t)(*n + 1) * sizeof *arr);
    arr[(*n)++] = dip_strdup(s);
    return arr;
}

bool gold_model_parse(GoldModel *m, const char *source, const char *text, DipError *err)
{
    memset(m, 0, sizeof *m);
    m->source = dip_strdup(source);
    m->all_columns_pos = -1;
    uint8_t h[32];
    dip_sha256(text, strlen(text), h);
    dip_hex(h, 32, m->sha256);
    char *copy = dip_strdup(text);
    char *p = copy;
    int lineno = 0;
    bool ok = true;
    while (p && *p && ok) {
        lineno++;
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        char *hash = strchr(p, '#');
        if (hash) *hash = '\0';
        char *words[MAX_WORDS];
        int nw = split_words(p, words);
        p = nl ? nl + 1 : NULL;
        if (nw == 0) continue;
        for (int i = 1; i < nw; i++)
            if (!valid_name(words[i])) {
                ok = dip_error_set(err, DIP_ERR_CONFIG, "%s:%d: bad name '%s'", source, lineno,
                                   words[i]);
                break;
            }
        if (!ok) break;
        const char *d = words[0];
        if (strcmp(d, "table") == 0) {
            if (nw != 2 || m->table)
                ok = dip_error_set(err, DIP_ERR_CONFIG, "%s:%d: expected one 'table NAME' line",
                                   source, lineno);
            else
                m->table = dip_strdup(words[1]);
        } else if (strcmp(d, "hk") == 0) {
            if (m->hk_kind)
                ok = dip_error_set(err, DIP_ERR_CONFIG, "%s:%d: hk defined twice", source, lineno);
            else if (nw == 3 && strcmp(words[1], "column") == 0) {
                m->hk_kind = GOLD_HK_COLUMN;
                m->hk_columns = push_name(m->hk_columns, &m->n_hk, words[2]);
            } else if (nw >= 3 && strcmp(words[1], "keys") == 0) {
                m->hk_kind = GOLD_HK_KEYS;
                for (int i = 2; i < nw; i++)
                    m->hk_columns = push_name(m->hk_columns, &m->n_hk, words[i]);
            } else {
                ok = dip_error_set(err, DIP_ERR_CONFIG,
                                   "%s:%d: expected 'hk column SILVER' or 'hk keys SILVER...'",
                                   source, lineno);
            }
        } else if (strcmp(d, "column") == 0) {
            const char *gold = nw >= 2 ? words[1] : NULL;
            const char *silver = gold;
            if (nw == 4 && strcmp(words[2], "=") == 0)
                silver = words[3];
            else if (nw != 2)
                gold = NULL;
            if (gold == NULL) {
                ok = dip_error_set(err, DIP_ERR_CONFIG,
                                   "%s:%d: expected 'column GOLD' or 'column GOLD = SILVER'",
                                   source, lineno);
            } else {
                m->cols = dip_realloc(m->cols, (size_t)(m->ncols + 1) * sizeof *m->cols);
                m->cols[m->ncols].gold = dip_strdup(gold);
                m->cols[m->ncols].silver = dip_strdup(silver);
                m->cols[m->ncols].line = lineno;
                m->ncols++;
            }
        } else if (strcmp(d, "columns") == 0) {
            if (nw != 2 || strcmp(words[1], "*") != 0 || m->all_columns)
                ok = dip_error_set(err, DIP_ERR_CONFIG, "%s:%d: expected one 'columns *' line",
                                   source, lineno);
            m->all_columns = true;
            m->all_columns_pos = m->ncols;
        } else if (strcmp(d, "exclude") == 0) {
            for (int i = 1; i < nw; i++)
                m->exclude = push_name(m->exclude, &m->n_exclude, words[i]);
        } else if (strcmp(d, "hdiff") == 0 && nw >= 3 && strcmp(words[1], "exclude") == 0) {
            for (int i = 2; i < nw; i++)
                m->hdiff_exclude = push_name(m->hdiff_exclude, &m->n_hdiff_exclude, words[i]);
        } else {
            ok = dip_error_set(err, DIP_ERR_CONFIG, "%s:%d: unknown directive '%s'", source, lineno,
                               d);
        }
    }
    free(copy);
    if (ok && m->table == NULL)
        ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: no 'table NAME' line", source);
    if (ok && m->hk_kind == 0)
        ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: no 'hk ...' line", source);
    if (ok && m->ncols == 0 && !m->all_columns)
        ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: no 'column' lines and no 'columns *'", source);
    if (!ok) gold_model_free(m);
    return ok;
}

bool gold_model_load(GoldModel *m, const char *path, DipError *err)
{
    if (path == NULL) {
        const char *name = "models/integrated_records.model";
        const char *text = dip_embedded_get(name, NULL);
        if (text == NULL)
            return dip_error_set(err, DIP_ERR_INTERNAL, "%s: not embedded in this build", name);
        return gold_model_parse(m, "embedded:models/integrated_records.model", text, err);
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return dip_error_set(err, DIP_ERR_CONFIG, "--model %s: cannot open: %s", path,
                             strerror(errno));
    Buf b;
    buf_init(&b);
    char chunk[8192];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        buf_append(&b, chunk, k);
    fclose(f);
    bool ok = gold_model_parse(m, path, buf_cstr(&b), err);
    buf_free(&b);
    return ok;
}

static void free_names(char **a, int n)
{
    for (int i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void gold_model_free(GoldModel *m)
{
    free(m->source);
    free(m->table);
    free_names(m->hk_columns, m->n_hk);
    for (int i = 0; i < m->ncols; i++) {
        free(m->cols[i].gold);
        free(m->cols[i].silver);
    }
    free(m->cols);
    free_names(m->exclude, m->n_exclude);
    free_names(m->hdiff_exclude, m->n_hdiff_exclude);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ binding */

static bool in_list(char **a, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(a[i], s) == 0) return true;
    return false;
}

static bool reserved(const char *g)
{
    return strcmp(g, "hk") == 0 || strcmp(g, "hdiff") == 0 || strcmp(g, "sync_ldts") == 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* A model column the table does not have: names the table's columns, and points a user of
 * the built-in model (made for one silver layout) to --model for any other table. */
static bool missing_column(const GoldModel *m, const DipSchema *silver, int line, const char *what,
                           const char *name, DipError *err)
{
    Buf cols;
    buf_init(&cols);
    dip_schema_names(silver, &cols);
    bool builtin = strncmp(m->source, "embedded:", 9) == 0;
    char where[512];
    if (line > 0)
        dip_snprintf(where, sizeof where, "%s:%d", m->source, line);
    else
        dip_snprintf(where, sizeof where, "%s", m->source);
    dip_error_set(err, DIP_ERR_DATA,
                  "%s: %s '%s' is not in the table's schema; the table has: %s. %s", where, what,
                  name, buf_cstr(&cols),
                  builtin ? "The built-in model fits one silver layout (integrated_records): "
                            "to sync another table, write a model for it and pass --model FILE "
                            "(docs/sync-pg.md, \"Model files\")"
                          : "Fix the model file, or check --source");
    buf_free(&cols);
    return false;
}

bool gold_plan_bind(GoldPlan *p, const GoldModel *m, const DipSchema *silver, DipError *err)
{
    memset(p, 0, sizeof *p);
    p->model = m;
    /* the column list: explicit columns with "columns *" expanded at its position */
    int cap = m->ncols + silver->nfields;
    GoldColumn *cols = dip_calloc((size_t)(cap > 0 ? cap : 1), sizeof *cols);
    int n = 0;
    for (int i = 0; i <= m->ncols; i++) {
        if (m->all_columns && i == m->all_columns_pos) {
            for (int f = 0; f < silver->nfields; f++) {
                const char *name = silver->fields[f].name;
                bool mapped = false;
                for (int j = 0; j < m->ncols && !mapped; j++)
                    mapped =
                        strcmp(m->cols[j].silver, name) == 0 || strcmp(m->cols[j].gold, name) == 0;
                if (mapped || in_list(m->exclude, m->n_exclude, name)) continue;
                if (reserved(name)) continue; /* a silver hk/hdiff/sync_ldts is not payload */
                cols[n].gold = name;
                cols[n].src = f;
                n++;
            }
        }
        if (i == m->ncols) break;
        int f = dip_schema_find(silver, m->cols[i].silver);
        if (f < 0) {
            free(cols);
            return missing_column(m, silver, m->cols[i].line, "silver column", m->cols[i].silver,
                                  err);
        }
        if (reserved(m->cols[i].gold)) {
            free(cols);
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "%s:%d: gold column name '%s' is reserved (hk, hdiff, sync_ldts)",
                                 m->source, m->cols[i].line, m->cols[i].gold);
        }
        cols[n].gold = m->cols[i].gold;
        cols[n].src = f;
        n++;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(cols[i].gold, cols[j].gold) == 0) {
                dip_error_set(err, DIP_ERR_CONFIG, "%s: gold column '%s' mapped twice", m->source,
                              cols[i].gold);
                free(cols);
                return false;
            }
    for (int i = 0; i < m->n_hdiff_exclude; i++) {
        bool found = false;
        for (int j = 0; j < n && !found; j++)
            found = strcmp(cols[j].gold, m->hdiff_exclude[i]) == 0;
        if (!found) {
            free(cols);
            return dip_error_set(err, DIP_ERR_CONFIG, "%s: 'hdiff exclude %s': no such gold column",
                                 m->source, m->hdiff_exclude[i]);
        }
    }
    for (int i = 0; i < n; i++) {
        cols[i].type = &silver->fields[cols[i].src].type;
        cols[i].in_hdiff = !in_list(m->hdiff_exclude, m->n_hdiff_exclude, cols[i].gold);
    }
    /* hk sources */
    int *hk_src = dip_calloc((size_t)m->n_hk, sizeof(int));
    for (int i = 0; i < m->n_hk; i++) {
        hk_src[i] = dip_schema_find(silver, m->hk_columns[i]);
        if (hk_src[i] < 0) {
            free(cols);
            free(hk_src);
            return missing_column(m, silver, 0, "hk column", m->hk_columns[i], err);
        }
        DipTypeId id = silver->fields[hk_src[i]].type.id;
        if (id == DT_STRUCT || id == DT_LIST || id == DT_MAP || id == DT_NULL) {
            free(cols);
            free(hk_src);
            return dip_error_set(err, DIP_ERR_DATA, "%s: hk column '%s' must be a scalar, not %s",
                                 m->source, m->hk_columns[i], dip_type_name(id));
        }
    }
    /* projection: the union of sources, ascending */
    int *proj = dip_calloc((size_t)(n + m->n_hk + 1), sizeof(int));
    int np = 0;
    for (int i = 0; i < n; i++)
        proj[np++] = cols[i].src;
    for (int i = 0; i < m->n_hk; i++)
        proj[np++] = hk_src[i];
    qsort(proj, (size_t)np, sizeof(int), cmp_int);
    int u = 0;
    for (int i = 0; i < np; i++)
        if (u == 0 || proj[u - 1] != proj[i]) proj[u++] = proj[i];
    np = u;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < np; k++)
            if (proj[k] == cols[i].src) cols[i].bi = k;
    p->hk_bi = dip_calloc((size_t)m->n_hk, sizeof(int));
    for (int i = 0; i < m->n_hk; i++)
        for (int k = 0; k < np; k++)
            if (proj[k] == hk_src[i]) p->hk_bi[i] = k;
    free(hk_src);
    p->cols = cols;
    p->ncols = n;
    p->n_hk = m->n_hk;
    p->proj = proj;
    p->nproj = np;
    return true;
}

void gold_plan_free(GoldPlan *p)
{
    free(p->cols);
    free(p->hk_bi);
    free(p->proj);
    memset(p, 0, sizeof *p);
}

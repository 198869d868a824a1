/*
 * cmd_es.c: `dip es ...`, what an operator reaches for on the search side: ping, indices,
 * count, dump, load, dead letters and index management. Argument parsing and output only;
 * the work is in src/es/. Configuration comes from PGSync's environment names
 * (docs/es.md); the flags below win over them.
 */
#include "cli/cli.h"
#include "es/es.h"
#include "jobs/es_dead_letters.h"
#include "pg/pg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct EsArgs {
    const char *sub;
    const char *pos[2]; /* positional arguments after the subcommand */
    int n_pos;
    const char *url;
    int64_t limit;        /* dump: -1 all */
    const char *id_field; /* load */
    const char *op;       /* load: index | create */
    const char *body;     /* index-create / mapping-put: file, "-" stdin */
    const char *refresh;  /* load: refresh= on each bulk */
    bool retry;           /* dead-letters */
    bool dead_letters;    /* load: park refused documents in PostgreSQL */
    int64_t chunk_size, max_chunk_bytes, concurrency, max_retries;
    double timeout_s;
    int compress; /* -1 env, 0 off, 1 on */
} EsArgs;

/* The command's help: `dip es --help`, `dip help es` and the man page (main.c). */
const char cli_help_es[] =
    "usage: dip es [OPTIONS] COMMAND ...\n"
    "\n"
    "  ping                         engine, version, cluster health, auth in use\n"
    "  indices                      indices and aliases with document counts and sizes\n"
    "  count INDEX                  number of documents\n"
    "  dump INDEX [--limit N]       NDJSON, one {\"_id\":...,\"_source\":...} a line\n"
    "  load INDEX [--id-field F] [--op index|create] [--refresh true|wait_for]\n"
    "       [--dead-letters]        bulk-load NDJSON from stdin: dump lines, or raw\n"
    "                               documents (_id from field F, or engine-chosen)\n"
    "  dead-letters [--retry]       list refused documents (PostgreSQL), or re-send them\n"
    "  index-create INDEX [--body FILE|-]   create with settings / mappings / aliases\n"
    "  index-delete INDEX | refresh INDEX | exists INDEX\n"
    "  mapping-put INDEX --body FILE|-      add fields to a mapping\n"
    "  alias-swap ALIAS INDEX       point ALIAS at INDEX atomically (POST /_aliases)\n"
    "\n"
    "options (win over the environment, see docs/es.md):\n"
    "  --url URL  --timeout S  --chunk-size N  --max-chunk-bytes N  --concurrency N\n"
    "  --max-retries N  --compress | --no-compress\n"
    "\n"
    "PostgreSQL for dead letters: libpq's PG* variables. A document the engine refused\n"
    "exits 3.\n";

static void usage(FILE *f)
{
    cli_help_print(f, "es");
}

/* Where option o's value goes: a string (*str), an integer (*num), or the timeout (both NULL);
 * false when o takes no value or is unknown. */
static bool valued_option(EsArgs *a, const char *o, const char ***str, int64_t **num)
{
    *str = !strcmp(o, "--url")        ? &a->url
           : !strcmp(o, "--id-field") ? &a->id_field
           : !strcmp(o, "--op")       ? &a->op
           : !strcmp(o, "--body")     ? &a->body
           : !strcmp(o, "--refresh")  ? &a->refresh
                                      : NULL;
    *num = !strcmp(o, "--limit")             ? &a->limit
           : !strcmp(o, "--chunk-size")      ? &a->chunk_size
           : !strcmp(o, "--max-chunk-bytes") ? &a->max_chunk_bytes
           : !strcmp(o, "--concurrency")     ? &a->concurrency
           : !strcmp(o, "--max-retries")     ? &a->max_retries
                                             : NULL;
    return *str || *num || !strcmp(o, "--timeout");
}

static int parse_args(int argc, char **argv, EsArgs *a)
{
    memset(a, 0, sizeof *a);
    a->limit = -1;
    a->chunk_size = a->max_chunk_bytes = a->concurrency = a->max_retries = -1;
    a->timeout_s = -1;
    a->compress = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char **str = NULL;
        int64_t *num = NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h") || !strcmp(o, "help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(o, "--retry")) {
            a->retry = true;
        } else if (!strcmp(o, "--dead-letters")) {
            a->dead_letters = true;
        } else if (!strcmp(o, "--compress")) {
            a->compress = 1;
        } else if (!strcmp(o, "--no-compress")) {
            a->compress = 0;
        } else if (o[0] == '-' && o[1] == '-') {
            if (!valued_option(a, o, &str, &num))
                return cli_usage_error("es", "unknown option %s", o);
            if (!val) return cli_usage_error("es", "%s needs a value", o);
            i++;
            if (str)
                *str = val;
            else if (!num && (!dip_parse_double(val, &a->timeout_s) || !(a->timeout_s > 0)))
                return cli_usage_error("es", "--timeout %s: expected seconds > 0", val);
            if (num && (!dip_parse_i64(val, num) || *num < (num == &a->max_retries ? 0 : 1)))
                return cli_usage_error("es", "%s %s: expected a positive integer", o, val);
        } else if (!a->sub) {
            a->sub = o;
        } else if (a->n_pos < 2) {
            a->pos[a->n_pos++] = o;
        } else {
            return cli_usage_error("es", "unexpected argument %s", o);
        }
    }
    if (!a->sub) return cli_usage_error("es", "missing command (ping, indices, count, dump, ...)");
    return -1;
}

static bool apply_flags(const EsArgs *a, EsConfig *cfg, DipError *err)
{
    if (a->url && !es_config_set_url(cfg, a->url, err)) {
        dip_error_prefix(err, "--url");
        return false;
    }
    if (a->chunk_size > 0) cfg->chunk_size = (int)a->chunk_size;
    if (a->max_chunk_bytes > 0) cfg->max_chunk_bytes = (size_t)a->max_chunk_bytes;
    if (a->concurrency > 0) cfg->max_in_flight = (int)(a->concurrency > 64 ? 64 : a->concurrency);
    if (a->max_retries >= 0) cfg->retry.max_retries = (int)a->max_retries;
    if (a->timeout_s > 0) {
        cfg->timeout_s = a->timeout_s;
        cfg->connect_timeout_s = a->timeout_s < 10 ? a->timeout_s : 10;
    }
    if (a->compress >= 0) cfg->compress = a->compress == 1;
    if (a->refresh) cfg->refresh = dip_strdup(a->refresh);
    return true;
}

/* The subcommands and the operands each needs: checked before anything connects, so that a
 * typo is a usage error at once, not a wait on an unreachable engine. */
static const struct {
    const char *name;
    int npos;
    const char *operands;
} es_subs[] = {
    {"ping", 0, ""},
    {"indices", 0, ""},
    {"count", 1, "INDEX"},
    {"dump", 1, "INDEX"},
    {"load", 1, "INDEX"},
    {"index-create", 1, "INDEX"},
    {"mapping-put", 1, "INDEX"},
    {"index-delete", 1, "INDEX"},
    {"refresh", 1, "INDEX"},
    {"exists", 1, "INDEX"},
    {"alias-swap", 2, "ALIAS INDEX"},
    {"dead-letters", 0, ""},
};

/* 0 when a names a known subcommand with its operands, else the usage error's exit code. */
static int check_sub(const EsArgs *a)
{
    for (size_t i = 0; i < sizeof es_subs / sizeof es_subs[0]; i++) {
        if (strcmp(a->sub, es_subs[i].name)) continue;
        if (a->n_pos < es_subs[i].npos)
            return cli_usage_error("es", "%s needs %s", a->sub, es_subs[i].operands);
        if (a->n_pos > es_subs[i].npos)
            return cli_usage_error("es", "unexpected argument %s (%s takes %s)",
                                   a->pos[es_subs[i].npos], a->sub,
                                   es_subs[i].npos ? es_subs[i].operands : "none");
        if (!strcmp(a->sub, "mapping-put") && !a->body)
            return cli_usage_error("es", "mapping-put needs --body FILE|-");
        return 0;
    }
    return cli_usage_error("es", "unknown command '%s'", a->sub);
}

static bool read_body(const char *path, Buf *out, DipError *err)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return dip_error_set(err, dip_errno_kind(errno), "%s: cannot open: %m", path);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(out, tmp, n);
    bool bad = ferror(f);
    if (f != stdin) fclose(f);
    if (bad) return dip_error_set(err, DIP_ERR_IO, "%s: read error", path);
    return true;
}

/* ---------------------------------------------------------------- ping / indices */

static bool get_json(EsClient *c, const char *path, json_t **root, DipError *err)
{
    EsResponse r;
    es_response_init(&r);
    bool ok =
        es_request(c, "GET", path, NULL, 0, &r, err) && es_response_expect(c, "GET", path, &r, err);
    *root = NULL;
    if (ok) {
        *root = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
        if (!*root)
            ok = dip_error_set(err, DIP_ERR_DATA, "%s: GET %s: expected JSON",
                               es_client_config(c)->host, path);
    }
    es_response_free(&r);
    return ok;
}

static int cmd_ping(EsClient *c)
{
    const EsEngine *e = es_engine(c);
    const EsConfig *cfg = es_client_config(c);
    Buf auth;
    buf_init(&auth);
    es_config_auth_describe(cfg, &auth);
    printf("url: %s\n", cfg->url);
    printf("engine: %s %s\n", e->kind == ES_ENGINE_OPENSEARCH ? "OpenSearch" : "Elasticsearch",
           e->version);
    json_t *h = NULL;
    DipError err = {0};
    if (get_json(c, "/_cluster/health", &h, &err)) {
        json_t *st = json_object_get(h, "status"), *nn = json_object_get(h, "number_of_nodes");
        json_t *cn = json_object_get(h, "cluster_name");
        printf("cluster: %s\nhealth: %s\nnodes: %lld\n",
               json_is_string(cn) ? json_string_value(cn) : e->cluster_name,
               json_is_string(st) ? json_string_value(st) : "unknown",
               json_is_integer(nn) ? (long long)json_integer_value(nn) : 0LL);
        json_decref(h);
    } else {
        /* Serverless and restricted users have no cluster health: say so, not fail */
        printf("cluster: %s\nhealth: unavailable (%s)\n", e->cluster_name, err.msg);
    }
    printf("auth: %s\n", buf_cstr(&auth));
    printf("tls: %s\n", strncmp(cfg->url, "https:", 6) ? "off"
                        : cfg->verify_certs            ? "verified"
                                                       : "NOT verified");
    buf_free(&auth);
    return 0;
}

static int cmp_index_name(const void *x, const void *y)
{
    const char *a = json_string_value(json_object_get(*(json_t *const *)x, "index"));
    const char *b = json_string_value(json_object_get(*(json_t *const *)y, "index"));
    return strcmp(a ? a : "", b ? b : "");
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int cmd_indices(EsClient *c)
{
    DipError err = {0};
    json_t *idx = NULL, *al = NULL;
    if (!get_json(c, "/_cat/indices?format=json&bytes=b", &idx, &err) ||
        !get_json(c, "/_alias", &al, &err)) {
        if (idx) json_decref(idx);
        return cli_fail(&err);
    }
    if (!json_is_array(idx) || !json_is_object(al)) {
        json_decref(idx);
        json_decref(al);
        dip_error_set(&err, DIP_ERR_DATA, "%s: _cat answers: expected JSON arrays",
                      es_client_config(c)->host);
        return cli_fail(&err);
    }
    size_t n = json_array_size(idx);
    json_t **rows = dip_calloc(n + 1, sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = json_array_get(idx, i);
    qsort(rows, n, sizeof *rows, cmp_index_name);
    printf("%-40s %-7s %12s %14s  %s\n", "index", "health", "docs", "bytes", "aliases");
    for (size_t i = 0; i < n; i++) {
        const char *name = jstr(rows[i], "index");
        Buf aliases;
        buf_init(&aliases);
        /* GET /_alias: {INDEX: {"aliases": {ALIAS: {...}}}} */
        const char *alias;
        json_t *def;
        json_object_foreach(json_object_get(json_object_get(al, name), "aliases"), alias, def)
        {
            if (aliases.len) buf_append_byte(&aliases, ',');
            buf_append_str(&aliases, alias);
        }
        printf("%-40s %-7s %12s %14s  %s\n", name, jstr(rows[i], "health"),
               jstr(rows[i], "docs.count"), jstr(rows[i], "store.size"),
               aliases.len ? buf_cstr(&aliases) : "-");
        buf_free(&aliases);
    }
    free(rows);
    json_decref(idx);
    json_decref(al);
    return 0;
}

/* ---------------------------------------------------------------- dump / load */

static bool dump_line(void *ctx, const char *id, size_t id_len, const char *source,
                      size_t source_len, DipError *err)
{
    Buf *line = ctx;
    buf_clear(line);
    buf_append_str(line, "{\"_id\":\"");
    jw_escape_into(line, id, id_len);
    buf_append_str(line, "\",\"_source\":");
    buf_append(line, source, source_len);
    buf_append_str(line, "}\n");
    if (fwrite(line->data, 1, line->len, stdout) != line->len)
        return dip_error_set(err, DIP_ERR_IO, "stdout: write failed");
    return true;
}

static int cmd_dump(EsClient *c, const EsArgs *a)
{
    Buf line;
    buf_init(&line);
    DipError err = {0};
    bool ok = es_dump(c, a->pos[0], a->limit, dump_line, &line, &err);
    buf_free(&line);
    if (fflush(stdout) != 0 && ok) ok = dip_error_set(&err, DIP_ERR_IO, "stdout: write failed");
    return ok ? 0 : cli_fail(&err);
}

static bool pg_open(PgConn *pg, DipError *err)
{
    PgSettings s;
    if (!pg_settings_from_env(&s, err) || !pg_connect_retry(pg, &s, err)) return false;
    if (!es_dead_letters_init(pg, err)) {
        pg_close(pg);
        return false;
    }
    return true;
}

static int cmd_load(EsClient *c, const EsArgs *a)
{
    DipError err = {0};
    EsOp op = ES_OP_INDEX;
    if (a->op && !strcmp(a->op, "create"))
        op = ES_OP_CREATE;
    else if (a->op && strcmp(a->op, "index") != 0)
        return cli_usage_error("es", "--op %s: expected index or create", a->op);
    PgConn pg = {0};
    bool have_pg = false;
    if (a->dead_letters) {
        if (!pg_open(&pg, &err)) return cli_fail(&err);
        have_pg = true;
    }
    EsBulkOptions opt = {0};
    if (have_pg) {
        opt.dead_letter = es_dead_letters_store;
        opt.dead_letter_ctx = &pg;
    }
    EsBulk *b = NULL;
    if (!es_bulk_open(c, &opt, &b, &err)) {
        if (have_pg) pg_close(&pg);
        return cli_fail(&err);
    }
    double t0 = dip_now_s();
    Arena scratch;
    arena_init(&scratch, 4096);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0;
    bool ok = true;
    while (ok && (n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0) continue;
        arena_reset(&scratch);
        EsLoadDoc d;
        if (!es_load_line_parse(line, len, a->id_field, &scratch, &d, &err)) {
            dip_error_prefix(&err, "stdin line %lld", (long long)lineno);
            ok = false;
            break;
        }
        EsAction act = {.op = op,
                        .index = a->pos[0],
                        .id = d.id,
                        .routing = d.routing,
                        .source = d.source,
                        .source_len = d.source_len};
        if (op == ES_OP_CREATE && !d.id) {
            ok = dip_error_set(&err, DIP_ERR_DATA, "stdin line %lld: --op create needs an _id",
                               (long long)lineno);
            break;
        }
        ok = es_bulk_add(b, &act, (uint64_t)lineno, NULL, &err);
    }
    free(line);
    arena_free(&scratch);
    if (ok && ferror(stdin)) ok = dip_error_set(&err, DIP_ERR_IO, "stdin: read error");
    if (ok) ok = es_bulk_flush(b, &err);
    const EsBulkStats *st = es_bulk_stats(b);
    bool any_accepted = st->done > 0;
    double dt = dip_now_s() - t0;
    char line_buf[512];
    dip_snprintf(line_buf, sizeof line_buf,
                 "%s: %llu actions acknowledged of %llu (done %llu, stale %llu, absent %llu, dead "
                 "letters %llu) in %.2f s, %.0f docs/s, %.1f MB/s; %llu requests, %llu item "
                 "retries, %llu request retries, %llu splits; peak RSS %.1f MiB",
                 a->pos[0], (unsigned long long)es_bulk_acked_through(b),
                 (unsigned long long)st->added, (unsigned long long)st->done,
                 (unsigned long long)st->stale, (unsigned long long)st->absent,
                 (unsigned long long)st->dead_letters, dt, dt > 0 ? (double)st->added / dt : 0.0,
                 dt > 0 ? (double)st->bytes_raw / dt / 1e6 : 0.0, (unsigned long long)st->requests,
                 (unsigned long long)st->item_retries, (unsigned long long)st->request_retries,
                 (unsigned long long)st->splits, (double)dip_peak_rss_bytes() / 1048576.0);
    dip_info("%s", line_buf);
    es_bulk_close(b);
    if (have_pg) pg_close(&pg);
    if (ok && a->refresh == NULL && any_accepted) {
        /* the documents are searchable when load returns, so count/dump right after see
         * them (when nothing was accepted the index may not even exist) */
        ok = es_index_refresh(c, a->pos[0], &err);
    }
    return ok ? 0 : cli_fail(&err);
}

/* ---------------------------------------------------------------- dead letters */

static bool print_letter(void *ctx, const EsDeadLetterRow *r, DipError *err)
{
    int *count = ctx;
    if (*count == 0) printf("id\tcreated_at\tindex\t_id\top\tstatus\tattempts\treason\n");
    (*count)++;
    printf("%lld\t%s\t%s\t%s\t%s\t%d\t%d\t%s%s%s\n", (long long)r->id, r->created_at, r->index,
           r->doc_id ? r->doc_id : "", r->op, r->status, r->attempts,
           r->error_type ? r->error_type : "", r->error_type ? ": " : "", r->reason);
    return true;
}

static int cmd_dead_letters(const EsConfig *cfg, const EsArgs *a)
{
    DipError err = {0};
    PgConn pg = {0};
    if (!pg_open(&pg, &err)) return cli_fail(&err);
    int rc = 0;
    if (a->retry) {
        EsClient *c = NULL;
        EsRetryResult res;
        if (!es_open(cfg, &c, &err) || !es_dead_letters_retry(&pg, c, &res, &err)) {
            rc = cli_fail(&err);
        } else {
            printf("resent %lld, refused again %lld\n", (long long)res.resent,
                   (long long)res.refused);
            if (res.refused) rc = 3;
        }
        es_close(c);
    } else {
        int count = 0;
        if (!es_dead_letters_list(&pg, print_letter, &count, &err))
            rc = cli_fail(&err);
        else if (count == 0)
            printf("no dead letters\n");
    }
    pg_close(&pg);
    return rc;
}

/* ---------------------------------------------------------------- main */

static int run(EsClient *c, const EsArgs *a)
{
    DipError err = {0};
    const char *s = a->sub;
    if (!strcmp(s, "ping")) return cmd_ping(c);
    if (!strcmp(s, "indices")) return cmd_indices(c);
    if (!strcmp(s, "count")) {
        int64_t n = 0;
        if (!es_count(c, a->pos[0], &n, &err)) return cli_fail(&err);
        printf("%lld\n", (long long)n);
        return 0;
    }
    if (!strcmp(s, "dump")) return cmd_dump(c, a);
    if (!strcmp(s, "load")) return cmd_load(c, a);
    if (!strcmp(s, "index-create") || !strcmp(s, "mapping-put")) {
        bool create = !strcmp(s, "index-create");
        Buf body;
        buf_init(&body);
        bool ok = !a->body || read_body(a->body, &body, &err);
        if (ok)
            ok = create ? es_index_create(c, a->pos[0], a->body ? buf_cstr(&body) : NULL, &err)
                        : es_mapping_put(c, a->pos[0], buf_cstr(&body), &err);
        buf_free(&body);
        return ok ? 0 : cli_fail(&err);
    }
    if (!strcmp(s, "index-delete") || !strcmp(s, "refresh")) {
        bool ok = !strcmp(s, "refresh") ? es_index_refresh(c, a->pos[0], &err)
                                        : es_index_delete(c, a->pos[0], &err);
        return ok ? 0 : cli_fail(&err);
    }
    if (!strcmp(s, "exists")) {
        bool ex = false;
        if (!es_index_exists(c, a->pos[0], &ex, &err)) return cli_fail(&err);
        printf("%s\n", ex ? "true" : "false");
        return ex ? 0 : 5;
    }
    /* check_sub admitted only the names above */
    return es_alias_swap(c, a->pos[0], a->pos[1], &err) ? 0 : cli_fail(&err);
}

int cmd_es_main(int argc, char **argv)
{
    EsArgs a;
    int prc = parse_args(argc, argv, &a);
    if (prc >= 0) return prc;
    int src = check_sub(&a);
    if (src) return src;
    EsConfig cfg;
    DipError err = {0};
    int rc;
    if (!es_config_from_env(&cfg, &err) || !apply_flags(&a, &cfg, &err)) {
        rc = cli_fail(&err);
    } else if (!strcmp(a.sub, "dead-letters")) {
        rc = cmd_dead_letters(&cfg, &a);
    } else {
        EsClient *c = NULL;
        if (!es_open(&cfg, &c, &err)) {
            rc = cli_fail(&err);
        } else {
            rc = run(c, &a);
            es_close(c);
        }
    }
    es_config_free(&cfg);
    return rc;
}

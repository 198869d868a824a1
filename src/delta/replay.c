/*
 * replay.c: action reconciliation (PROTOCOL.md "Action Reconciliation", "Add File and
 * Remove File", "Protocol Evolution", "Change Metadata", "Commit Provenance Information").
 *
 * Replay runs forward: checkpoint actions first, then each commit in version order. The
 * latest protocol and metaData seen win. Logical files are keyed by (path, DV unique id)
 * in an open-addressing hash table, so a 100,000-file checkpoint plus 10,000 commits costs
 * one hash probe per file action, never a scan: an add inserts or replaces the entry, a
 * remove marks it dead (the slot stays, so a later re-add of the same key revives it).
 * add.path is URI-decoded exactly once, here, and file: URIs are canonicalised to plain
 * absolute paths so an add of "/a/b" and a remove of "file:///a/b" name the same file.
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

void delta_replay_init(DeltaReplay *r)
{
    memset(r, 0, sizeof *r);
    arena_init(&r->arena, 1 << 20);
}

void delta_replay_free(DeltaReplay *r)
{
    free(r->files);
    free(r->slots);
    arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *delta_path_decode(Arena *a, const char *path)
{
    size_t n = strlen(path);
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '%' && i + 2 < n) {
            int h = hexval((unsigned char)path[i + 1]);
            int l = hexval((unsigned char)path[i + 2]);
            if (h >= 0 && l >= 0) {
                out[o++] = (char)(h * 16 + l);
                i += 2;
                continue;
            }
        }
        out[o++] = path[i];
    }
    out[o] = '\0';
    /* file:///x and file:/x are the absolute path /x (canonicalised-paths tables) */
    if (strncmp(out, "file:///", 8) == 0)
        memmove(out, out + 7, strlen(out + 7) + 1);
    else if (strncmp(out, "file:/", 6) == 0 && out[6] != '/')
        memmove(out, out + 5, strlen(out + 5) + 1);
    return out;
}

void delta_dv_unique_id(const DeltaDeletionVector *dv, Buf *out)
{
    buf_append_byte(out, (uint8_t)dv->storage_type);
    buf_append_str(out, dv->path_or_inline ? dv->path_or_inline : "");
    if (dv->offset >= 0 && dv->storage_type != 'i') buf_printf(out, "@%d", (int)dv->offset);
}

static void table_grow(DeltaReplay *r)
{
    size_t nslots = r->nslots ? r->nslots * 2 : 1024;
    uint32_t *slots = dip_calloc(nslots, sizeof *slots);
    for (size_t i = 0; i < r->nfiles; i++) {
        size_t s = r->files[i].hash & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(r->slots);
    r->slots = slots;
    r->nslots = nslots;
}

/* The file's metadata from an add (or, in a range replay, from a remove: size -1 and no
 * partition values when the remove does not carry them). */
static void set_file(DeltaReplay *r, DeltaReplayFile *rf, const DeltaFileAction *a, char *decoded)
{
    DeltaAddFile *f = &rf->f;
    f->path = decoded;
    f->size = a->size;
    f->modification_time = a->modification_time;
    f->num_records = -1;
    f->stats_json = a->stats ? arena_strdup(&r->arena, a->stats) : NULL;
    f->has_dv = a->has_dv;
    if (a->has_dv) {
        f->dv = a->dv;
        f->dv.path_or_inline = arena_strdup(&r->arena, a->dv.path_or_inline);
    } else {
        memset(&f->dv, 0, sizeof f->dv);
        f->dv.offset = -1;
    }
    rf->has_pv = a->is_add || a->has_pv;
    rf->npv = a->npv;
    rf->pv_keys = arena_calloc(&r->arena, (size_t)a->npv + 1, sizeof(char *));
    rf->pv_vals = arena_calloc(&r->arena, (size_t)a->npv + 1, sizeof(char *));
    for (int i = 0; i < a->npv; i++) {
        rf->pv_keys[i] = arena_strdup(&r->arena, a->pv_keys[i]);
        rf->pv_vals[i] = a->pv_vals[i] ? arena_strdup(&r->arena, a->pv_vals[i]) : NULL;
    }
}

bool delta_replay_file_action(DeltaReplay *r, const DeltaFileAction *a, DipError *err)
{
    if (!a->path || !a->path[0])
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s action without a path", r->source,
                             a->is_add ? "add" : "remove");
    if (a->has_dv) {
        char st = a->dv.storage_type;
        if ((st != 'u' && st != 'i' && st != 'p') || !a->dv.path_or_inline)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: %s %s: deletionVector has storageType '%c' (expected "
                                 "u, i or p) or no pathOrInlineDv",
                                 r->source, a->is_add ? "add" : "remove", a->path, st ? st : '?');
    }
    char *decoded = delta_path_decode(&r->arena, a->path);
    Buf key;
    buf_init(&key);
    buf_append_str(&key, decoded);
    buf_append_byte(&key, '\n');
    if (a->has_dv) delta_dv_unique_id(&a->dv, &key);
    uint64_t h = dip_xxh64(key.data, key.len, 0);

    if (r->nfiles + 1 > r->nslots / 2) table_grow(r);
    size_t s = h & (r->nslots - 1);
    DeltaReplayFile *rf = NULL;
    while (r->slots[s]) {
        DeltaReplayFile *c = &r->files[r->slots[s] - 1];
        if (c->hash == h && strcmp(c->key, (const char *)key.data) == 0) {
            rf = c;
            break;
        }
        s = (s + 1) & (r->nslots - 1);
    }
    bool created = false;
    if (!rf) {
        /* a tombstone of a file never seen live: nothing to do, except in a range replay,
         * where the file may have been live at the version the range starts from */
        if (!a->is_add && !r->range) {
            buf_free(&key);
            return true;
        }
        if (r->nfiles >= UINT32_MAX - 1) {
            buf_free(&key);
            return dip_error_set(err, DIP_ERR_DATA, "%s: more than 2^32 files", r->source);
        }
        if (r->nfiles == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 1024;
            r->files = dip_realloc(r->files, r->cap * sizeof *r->files);
        }
        rf = &r->files[r->nfiles];
        memset(rf, 0, sizeof *rf);
        rf->key = arena_strndup(&r->arena, (const char *)key.data, key.len);
        rf->hash = h;
        rf->first = a->is_add ? 'a' : 'r';
        rf->first_dc_false = a->is_add && a->data_change == 0;
        rf->first_seq = r->seq;
        r->slots[s] = (uint32_t)(++r->nfiles);
        created = true;
    }
    buf_free(&key);
    if (!a->is_add) {
        r->seq_has_remove = true;
        rf->live = false;
        /* range replay: what the remove tells about a file first met here */
        if (created) set_file(r, rf, a, decoded);
        return true;
    }
    /* an add of a known key replaces stats and metadata (PROTOCOL.md: latest wins) */
    rf->live = true;
    set_file(r, rf, a, decoded);
    return true;
}

/* ---------------------------------------------------------------- JSON actions */

static bool json_get_i64(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static const char *json_get_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool string_array(Arena *a, json_t *arr, char ***out, int *n, const char *what,
                         const char *src, DipError *err)
{
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr)) return true;
    if (!json_is_array(arr))
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s is not an array", src, what);
    size_t cnt = json_array_size(arr);
    if (cnt > 100000)
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s has %zu entries", src, what, cnt);
    *out = arena_calloc(a, cnt + 1, sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e))
            return dip_error_set(err, DIP_ERR_DATA, "%s: %s[%zu] is not a string", src, what, i);
        (*out)[i] = arena_strdup(a, json_string_value(e));
    }
    *n = (int)cnt;
    return true;
}

static bool parse_protocol(DeltaReplay *r, json_t *p, DipError *err)
{
    DeltaProtocolRaw pr = {0};
    int64_t v;
    if (!json_get_i64(p, "minReaderVersion", &v) || v < 0 || v > 1000000)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: protocol action without an integer minReaderVersion", r->source);
    pr.min_reader = (int)v;
    if (json_get_i64(p, "minWriterVersion", &v) && v >= 0 && v <= 1000000) pr.min_writer = (int)v;
    if (!string_array(&r->arena, json_object_get(p, "readerFeatures"), &pr.reader_features,
                      &pr.n_reader_features, "protocol.readerFeatures", r->source, err) ||
        !string_array(&r->arena, json_object_get(p, "writerFeatures"), &pr.writer_features,
                      &pr.n_writer_features, "protocol.writerFeatures", r->source, err))
        return false;
    r->protocol = pr;
    r->has_protocol = true;
    return true;
}

static bool parse_metadata(DeltaReplay *r, json_t *m, DipError *err)
{
    DeltaMetadataRaw md = {0};
    const char *id = json_get_str(m, "id");
    md.id = id ? arena_strdup(&r->arena, id) : NULL;
    const char *ss = json_get_str(m, "schemaString");
    md.schema_string = ss ? arena_strdup(&r->arena, ss) : NULL;
    if (!string_array(&r->arena, json_object_get(m, "partitionColumns"), &md.partition_columns,
                      &md.n_partition_columns, "metaData.partitionColumns", r->source, err))
        return false;
    json_t *conf = json_object_get(m, "configuration");
    if (json_is_object(conf)) {
        size_t cnt = json_object_size(conf);
        md.config_keys = arena_calloc(&r->arena, cnt + 1, sizeof(char *));
        md.config_vals = arena_calloc(&r->arena, cnt + 1, sizeof(char *));
        const char *k;
        json_t *v;
        json_object_foreach(conf, k, v)
        {
            if (!json_is_string(v)) continue;
            md.config_keys[md.nconfig] = arena_strdup(&r->arena, k);
            md.config_vals[md.nconfig] = arena_strdup(&r->arena, json_string_value(v));
            md.nconfig++;
        }
    }
    r->metadata = md;
    r->has_metadata = true;
    return true;
}

static bool parse_dv(json_t *d, DeltaDeletionVector *dv, const char *src, const char *path,
                     DipError *err)
{
    memset(dv, 0, sizeof *dv);
    const char *st = json_get_str(d, "storageType");
    const char *p = json_get_str(d, "pathOrInlineDv");
    int64_t size = 0, card = 0, off = -1;
    if (!st || strlen(st) != 1 || !p || !json_get_i64(d, "sizeInBytes", &size) || size < 0 ||
        size > INT32_MAX)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: %s: deletionVector lacks storageType, pathOrInlineDv or "
                             "sizeInBytes",
                             src, path);
    if (json_object_get(d, "offset") && !json_is_null(json_object_get(d, "offset")) &&
        (!json_get_i64(d, "offset", &off) || off < 0 || off > INT32_MAX))
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: %s: deletionVector.offset is not a "
                             "non-negative int",
                             src, path);
    if (!json_get_i64(d, "cardinality", &card) || card < 0)
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s: deletionVector.cardinality missing", src,
                             path);
    dv->storage_type = st[0];
    dv->path_or_inline = (char *)p;
    dv->offset = (int32_t)off;
    dv->size_in_bytes = (int32_t)size;
    dv->cardinality = card;
    return true;
}

static bool parse_partition_values(DeltaReplay *r, json_t *o, DeltaFileAction *a, DipError *err)
{
    json_t *pv = json_object_get(o, "partitionValues");
    if (!pv || json_is_null(pv)) return true;
    if (!json_is_object(pv))
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s %s: partitionValues is not an object",
                             r->source, a->is_add ? "add" : "remove", a->path);
    size_t cnt = json_object_size(pv);
    a->pv_keys = arena_calloc(&r->arena, cnt + 1, sizeof(char *));
    a->pv_vals = arena_calloc(&r->arena, cnt + 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(pv, k, v)
    {
        if (!json_is_string(v) && !json_is_null(v))
            return dip_error_set(err, DIP_ERR_DATA, "%s: %s %s: partition value %s is not a string",
                                 r->source, a->is_add ? "add" : "remove", a->path, k);
        a->pv_keys[a->npv] = k;
        a->pv_vals[a->npv] = json_is_string(v) ? json_string_value(v) : NULL;
        a->npv++;
    }
    a->has_pv = true;
    return true;
}

static bool parse_file_action(DeltaReplay *r, json_t *o, bool is_add, DipError *err)
{
    DeltaFileAction a = {0};
    a.is_add = is_add;
    a.path = json_get_str(o, "path");
    if (!a.path)
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s action without a string path", r->source,
                             is_add ? "add" : "remove");
    json_t *dc = json_object_get(o, "dataChange");
    a.data_change = json_is_boolean(dc) ? json_is_true(dc) : -1;
    if (is_add) {
        if (!json_get_i64(o, "size", &a.size))
            return dip_error_set(err, DIP_ERR_DATA, "%s: add %s: no integer size", r->source,
                                 a.path);
        if (!json_get_i64(o, "modificationTime", &a.modification_time)) a.modification_time = 0;
        a.stats = json_get_str(o, "stats");
        if (!parse_partition_values(r, o, &a, err)) return false;
    } else if (r->range) {
        /* extendedFileMetadata: a remove may carry size, stats and partitionValues */
        if (!json_get_i64(o, "size", &a.size) || a.size < 0) a.size = -1;
        a.stats = json_get_str(o, "stats");
        if (!parse_partition_values(r, o, &a, err)) return false;
    }
    json_t *dv = json_object_get(o, "deletionVector");
    if (dv && !json_is_null(dv)) {
        if (!json_is_object(dv) || !parse_dv(dv, &a.dv, r->source, a.path, err))
            return err->kind
                       ? false
                       : dip_error_set(err, DIP_ERR_DATA, "%s: %s: deletionVector is not an object",
                                       r->source, a.path);
        a.has_dv = true;
    }
    return delta_replay_file_action(r, &a, err);
}

static void parse_commit_info(json_t *c, DeltaCommitInfo *ci, Arena *a)
{
    memset(ci, 0, sizeof *ci);
    ci->present = true;
    ci->has_ict = json_get_i64(c, "inCommitTimestamp", &ci->ict_ms);
    ci->has_timestamp = json_get_i64(c, "timestamp", &ci->timestamp_ms);
    const char *op = json_get_str(c, "operation");
    ci->operation = op ? arena_strdup(a, op) : NULL;
}

bool delta_replay_json_action(DeltaReplay *r, json_t *obj, DeltaCommitInfo *ci, char ***sidecars,
                              size_t *nsidecars, DipError *err)
{
    if (!json_is_object(obj))
        return dip_error_set(err, DIP_ERR_DATA, "%s: action is not a JSON object", r->source);
    json_t *v;
    if ((v = json_object_get(obj, "add")) != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return dip_error_set(err, DIP_ERR_DATA, "%s: add is not an object", r->source);
        return parse_file_action(r, v, true, err);
    }
    if ((v = json_object_get(obj, "remove")) != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return dip_error_set(err, DIP_ERR_DATA, "%s: remove is not an object", r->source);
        return parse_file_action(r, v, false, err);
    }
    if ((v = json_object_get(obj, "metaData")) != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return dip_error_set(err, DIP_ERR_DATA, "%s: metaData is not an object", r->source);
        return parse_metadata(r, v, err);
    }
    if ((v = json_object_get(obj, "protocol")) != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return dip_error_set(err, DIP_ERR_DATA, "%s: protocol is not an object", r->source);
        return parse_protocol(r, v, err);
    }
    if ((v = json_object_get(obj, "commitInfo")) != NULL && json_is_object(v)) {
        if (ci) parse_commit_info(v, ci, &r->arena);
        return true;
    }
    if ((v = json_object_get(obj, "sidecar")) != NULL && json_is_object(v)) {
        if (!sidecars)
            return dip_error_set(err, DIP_ERR_DATA, "%s: sidecar action outside a V2 checkpoint",
                                 r->source);
        const char *p = json_get_str(v, "path");
        if (!p)
            return dip_error_set(err, DIP_ERR_DATA, "%s: sidecar action without a path", r->source);
        *sidecars = dip_realloc(*sidecars, (*nsidecars + 1) * sizeof(char *));
        (*sidecars)[(*nsidecars)++] = delta_path_decode(&r->arena, p);
        return true;
    }
    /* txn, cdc, domainMetadata, checkpointMetadata and unknown actions do not change the
     * set of files or the schema; PROTOCOL.md "Protocol Evolution": ignore unknown ones. */
    return true;
}

bool delta_replay_commit_json(DeltaReplay *r, const char *name, const uint8_t *data, size_t len,
                              DeltaCommitInfo *ci, DipError *err)
{
    const char *prev = r->source;
    r->source = name;
    size_t pos = 0;
    int64_t line = 0, actions = 0;
    bool ok = true;
    if (ci) memset(ci, 0, sizeof *ci);
    while (pos < len && ok) {
        const uint8_t *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        line++;
        size_t s = pos, e = end;
        while (s < e && (data[s] == ' ' || data[s] == '\t' || data[s] == '\r'))
            s++;
        while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\r'))
            e--;
        if (e > s) {
            json_error_t jerr;
            json_t *obj = json_loadb((const char *)data + s, e - s,
                                     JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
            if (!obj) {
                ok = dip_error_set(err, DIP_ERR_DATA,
                                   "%s: line %lld: malformed JSON action: %s (column %d)", name,
                                   (long long)line, jerr.text, jerr.column);
            } else {
                ok = delta_replay_json_action(r, obj, ci, NULL, NULL, err);
                if (!ok) dip_error_prefix(err, "line %lld", (long long)line);
                json_decref(obj);
                actions++;
            }
        }
        pos = nl ? end + 1 : len;
    }
    /* PROTOCOL.md "Delta Log Entries": a commit is a set of actions. A file without one is
     * a commit not written yet (a writer that creates the file before filling it), never
     * an empty commit: replaying it would call the version synced with nothing in it. */
    if (ok && actions == 0)
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "%s: %s commit file holds no action (%zu bytes): not a valid commit "
                           "(written partly or not yet)",
                           name, len == 0 ? "empty" : "blank", len);
    r->source = prev;
    return ok;
}

bool delta_parse_commit_info_line(const uint8_t *data, size_t len, DeltaCommitInfo *ci, Arena *a)
{
    memset(ci, 0, sizeof *ci);
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        /* commitInfo is usually the first line; only parse lines that mention it */
        if (end > pos && memmem(data + pos, end - pos, "\"commitInfo\"", 12)) {
            json_t *obj = json_loadb((const char *)data + pos, end - pos, 0, NULL);
            json_t *c = obj ? json_object_get(obj, "commitInfo") : NULL;
            if (json_is_object(c)) {
                parse_commit_info(c, ci, a);
                json_decref(obj);
                return true;
            }
            json_decref(obj);
        }
        pos = nl ? end + 1 : len;
    }
    return false;
}

int64_t delta_stats_num_records(const char *stats)
{
    if (!stats) return -1;
    /* A full JSON parse of every stats string costs more than the rest of replay on big
     * tables; numRecords is a top-level integer, so find the key and read the digits. */
    const char *p = strstr(stats, "\"numRecords\"");
    if (!p) return -1;
    p += 12;
    while (*p == ' ' || *p == ':')
        p++;
    int64_t v = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 18) {
        v = v * 10 + (*p - '0');
        p++;
        nd++;
    }
    return nd ? v : -1;
}

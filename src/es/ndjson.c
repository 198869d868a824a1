/*
 * ndjson.c: the bulk request body, one action at a time (Elasticsearch "Bulk API", request
 * body): an action-and-metadata line, then for index, create and update a source line, each
 * terminated by '\n', the last one too. Metadata keys are the ones every supported engine
 * accepts since 7.0: _index, _id, routing (not the removed _routing), pipeline, version and
 * version_type, if_seq_no and if_primary_term.
 *
 * The body is newline-delimited, so a source must be one line. Valid JSON cannot hold a raw
 * newline inside a string, so every newline of a pretty-printed document is whitespace and
 * becomes a space.
 */
#include "es/es_internal.h"

#include <string.h>

static const char *const OP_NAMES[] = {"index", "create", "update", "delete"};

const char *es_op_name(EsOp op)
{
    return (unsigned)op < DIP_ARRAY_LEN(OP_NAMES) ? OP_NAMES[op] : "?";
}

const char *es_outcome_name(EsOutcome o)
{
    switch (o) {
    case ES_OUTCOME_DONE:
        return "done";
    case ES_OUTCOME_STALE:
        return "stale";
    case ES_OUTCOME_ABSENT:
        return "absent";
    case ES_OUTCOME_DEAD_LETTER:
        return "dead_letter";
    }
    return "?";
}

bool es_action_check(const EsAction *a, DipError *err)
{
    if ((unsigned)a->op > ES_OP_DELETE)
        return dip_error_set(err, DIP_ERR_INTERNAL, "bulk action: unknown op %d", (int)a->op);
    const char *op = es_op_name(a->op);
    if (!a->index || !*a->index) return dip_error_set(err, DIP_ERR_DATA, "bulk %s: no index", op);
    if (a->op != ES_OP_INDEX && (!a->id || !*a->id))
        return dip_error_set(err, DIP_ERR_DATA, "bulk %s on %s: no _id", op, a->index);
    if (a->id && strlen(a->id) > 512)
        return dip_error_set(err, DIP_ERR_DATA,
                             "bulk %s on %s: _id of %zu bytes, the engines allow 512", op, a->index,
                             strlen(a->id));
    if (a->op == ES_OP_DELETE) {
        if (a->source && a->source_len)
            return dip_error_set(err, DIP_ERR_DATA, "bulk delete %s/%s: a delete has no source",
                                 a->index, a->id);
    } else {
        size_t i = 0;
        while (a->source && i < a->source_len &&
               (a->source[i] == ' ' || a->source[i] == '\t' || a->source[i] == '\n' ||
                a->source[i] == '\r'))
            i++;
        if (!a->source || i == a->source_len || a->source[i] != '{')
            return dip_error_set(err, DIP_ERR_DATA,
                                 "bulk %s %s/%s: the source must be a JSON object", op, a->index,
                                 a->id ? a->id : "(auto id)");
    }
    if (a->version_type != ES_VERSION_NONE) {
        if (a->op == ES_OP_UPDATE)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "bulk update %s/%s: the engines refuse external versions on "
                                 "update",
                                 a->index, a->id);
        if (a->version < 0)
            return dip_error_set(err, DIP_ERR_DATA, "bulk %s %s/%s: negative external version", op,
                                 a->index, a->id ? a->id : "");
        if (a->if_primary_term > 0)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "bulk %s %s/%s: external versions and if_seq_no exclude "
                                 "each other",
                                 op, a->index, a->id ? a->id : "");
    }
    if (a->pipeline && a->op != ES_OP_INDEX && a->op != ES_OP_CREATE)
        return dip_error_set(err, DIP_ERR_DATA,
                             "bulk %s %s/%s: pipeline applies to index and create only", op,
                             a->index, a->id);
    return true;
}

static void append_key_str(Buf *out, const char *key, const char *v)
{
    buf_append_str(out, ",\"");
    buf_append_str(out, key);
    buf_append_str(out, "\":\"");
    jw_escape_into(out, v, strlen(v));
    buf_append_byte(out, '"');
}

static void append_key_int(Buf *out, const char *key, int64_t v)
{
    buf_printf(out, ",\"%s\":%lld", key, (long long)v);
}

void es_ndjson_append(Buf *out, const EsAction *a)
{
    buf_append_str(out, "{\"");
    buf_append_str(out, es_op_name(a->op));
    buf_append_str(out, "\":{\"_index\":\"");
    jw_escape_into(out, a->index, strlen(a->index));
    buf_append_byte(out, '"');
    if (a->id) append_key_str(out, "_id", a->id);
    if (a->routing) append_key_str(out, "routing", a->routing);
    if (a->pipeline) append_key_str(out, "pipeline", a->pipeline);
    if (a->version_type != ES_VERSION_NONE) {
        append_key_int(out, "version", a->version);
        append_key_str(out, "version_type",
                       a->version_type == ES_VERSION_EXTERNAL ? "external" : "external_gte");
    }
    if (a->if_primary_term > 0) {
        append_key_int(out, "if_seq_no", a->if_seq_no);
        append_key_int(out, "if_primary_term", a->if_primary_term);
    }
    buf_append_str(out, "}}\n");
    if (a->op == ES_OP_DELETE) return;
    size_t start = out->len;
    buf_append(out, a->source, a->source_len);
    if (memchr(a->source, '\n', a->source_len)) {
        for (size_t i = start; i < out->len; i++)
            if (out->data[i] == '\n' || out->data[i] == '\r') out->data[i] = ' ';
    }
    buf_append_byte(out, '\n');
}

/*
 * bulk.c: the bulk writer. One thread, one libcurl multi handle, up to max_in_flight bulk
 * requests at once on kept-alive connections.
 *
 * Life of an action: es_bulk_add() encodes it once into its NDJSON lines (an EsItem) and
 * queues it. A free request slot takes items from the queue into a batch, cut at
 * chunk_size actions or the byte limit, skipping every item whose index+_id is held by an
 * action already in flight or waiting for a retry (so two actions on one document never
 * overlap and their order holds). The batch is gzipped and sent. Its answer is read item by
 * item (response.c): done, stale (409 external), absent (404 delete) and dead-lettered items
 * are acknowledged and release their key; 429/5xx items wait for a backoff and are sent
 * again, still holding their key. A whole request that fails with 429/503/timeout/reset is
 * sent again as it was; a 413 (or a 400 about the body as a whole) splits it in two and
 * lowers the byte limit for later batches; a single action too large for the server is a
 * dead letter.
 *
 * Backoff delays come from core's retry_delay_s (full jitter) under the configured
 * RetryPolicy: the same policy retry_run applies to blocking calls, run here per item and
 * per request because many are waiting at once. When an item or a request has used all its
 * retries the writer fails for good with a DIP_ERR_TRANSIENT error (exit 4); what was
 * acknowledged before stays acknowledged and nothing after is.
 */
#include "es/es_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NONE_OFF UINT32_MAX
/* staging kept between batches up to this size (a 5,000-document batch of 1 KB documents) */
#define STAGE_KEEP_BYTES ((size_t)16 << 20)

typedef struct EsItem {
    struct EsItem *next; /* queue or retry list */
    uint64_t seq, tag;
    uint64_t key;      /* 0: no _id, never blocks */
    double not_before; /* retry list: monotonic time of the next attempt */
    EsOp op;
    EsVersionType vt;
    int64_t version;
    int attempts; /* item-level retries used */
    uint32_t len; /* NDJSON bytes at data[0..len) */
    uint32_t src_off, index_off, id_off, routing_off, pipeline_off; /* into data */
    char data[]; /* NDJSON lines, then NUL-terminated index, id, routing, pipeline */
} EsItem;

typedef enum { SLOT_FREE = 0, SLOT_RUNNING, SLOT_WAITING } SlotState;

typedef struct EsSlot {
    SlotState state;
    CURL *curl;
    HttpExchange ex;
    Buf resp;
    Buf raw;                /* NDJSON body: only SigV4 without gzip needs it whole */
    size_t rd_item, rd_off; /* slot_read's position in the items */
    Buf wire;               /* gzip of the items' NDJSON when compressing */
    size_t raw_len;         /* NDJSON bytes of the batch */
    EsItem **items;
    size_t n, cap;
    int attempts; /* whole-request retries used */
    double not_before;
} EsSlot;

struct EsBulk {
    EsClient *c;
    EsBulkOptions opt;
    CURLM *multi;
    EsSlot *slots;
    int n_slots;
    Buf url;   /* .../_bulk[?refresh=...] */
    Buf stage; /* a batch's NDJSON, whole, while it is compressed */
    EsGzip gz;
    /* queue (FIFO) of items never sent */
    EsItem *q_head, *q_tail;
    size_t q_n, q_bytes;
    size_t q_max_n, q_max_bytes;
    /* items waiting for an item-level retry (hold their keys) */
    EsItem *retry_head;
    size_t retry_n;
    EsKeySet held;
    size_t batch_bytes; /* cut a batch at this many NDJSON bytes (lowered by 413) */
    /* acknowledgement window: done flags for seq ack_base+1 .. */
    uint64_t next_seq;
    uint64_t ack_through;
    uint8_t *done;
    size_t done_head, done_len, done_cap;
    bool failed;
    DipError fail_err;
    EsBulkStats stats;
    uint64_t rng;
};

/* ---------------------------------------------------------------- items */

static uint32_t put_str(EsItem *it, size_t *pos, const char *s)
{
    if (!s) return NONE_OFF;
    size_t n = strlen(s);
    memcpy(it->data + *pos, s, n + 1);
    uint32_t off = (uint32_t)*pos;
    *pos += n + 1;
    return off;
}

static const char *item_str(const EsItem *it, uint32_t off)
{
    return off == NONE_OFF ? NULL : it->data + off;
}

static EsItem *item_new(const EsAction *a, Buf *scratch)
{
    buf_clear(scratch);
    es_ndjson_append(scratch, a);
    size_t extra = strlen(a->index) + 1 + (a->id ? strlen(a->id) + 1 : 0) +
                   (a->routing ? strlen(a->routing) + 1 : 0) +
                   (a->pipeline ? strlen(a->pipeline) + 1 : 0);
    EsItem *it = dip_malloc(sizeof *it + scratch->len + extra);
    memset(it, 0, sizeof *it);
    memcpy(it->data, scratch->data, scratch->len);
    it->len = (uint32_t)scratch->len;
    const char *nl = memchr(it->data, '\n', it->len);
    it->src_off = (uint32_t)(nl - it->data) + 1;
    size_t pos = it->len;
    it->index_off = put_str(it, &pos, a->index);
    it->id_off = put_str(it, &pos, a->id);
    it->routing_off = put_str(it, &pos, a->routing);
    it->pipeline_off = put_str(it, &pos, a->pipeline);
    it->op = a->op;
    it->vt = a->version_type;
    it->version = a->version;
    it->key = a->id ? es_action_key(a->index, a->id) : 0;
    return it;
}

/* ---------------------------------------------------------------- failure and acks */

static bool bulk_fail(EsBulk *b, const DipError *err)
{
    if (!b->failed) {
        b->failed = true;
        b->fail_err = *err;
    }
    return false;
}

static bool bulk_failed(const EsBulk *b, DipError *err)
{
    if (err != &b->fail_err) *err = b->fail_err;
    return false;
}

static void ack_mark(EsBulk *b, uint64_t seq)
{
    size_t idx = b->done_head + (size_t)(seq - b->ack_through - 1);
    if (idx >= b->done_cap) {
        /* compact the window, then grow if it is still short */
        if (b->done_head) {
            memmove(b->done, b->done + b->done_head, b->done_len);
            memset(b->done + b->done_len, 0, b->done_cap - b->done_len);
            idx -= b->done_head;
            b->done_head = 0;
        }
        if (idx >= b->done_cap) {
            size_t ncap = b->done_cap ? b->done_cap : 4096;
            while (ncap <= idx)
                ncap *= 2;
            b->done = dip_realloc(b->done, ncap);
            memset(b->done + b->done_cap, 0, ncap - b->done_cap);
            b->done_cap = ncap;
        }
    }
    b->done[idx] = 1;
    if (idx - b->done_head + 1 > b->done_len) b->done_len = idx - b->done_head + 1;
    while (b->done_len && b->done[b->done_head]) {
        b->done[b->done_head] = 0;
        b->done_head++;
        b->done_len--;
        b->ack_through++;
    }
    if (!b->done_len) b->done_head = 0;
}

static void item_complete(EsBulk *b, EsItem *it, EsOutcome o)
{
    if (it->key) es_keyset_remove(&b->held, it->key);
    uint64_t *count[] = {&b->stats.done, &b->stats.stale, &b->stats.absent,
                         &b->stats.dead_letters}; /* indexed by EsOutcome */
    (*count[o])++;
    ack_mark(b, it->seq);
    if (b->opt.on_ack) b->opt.on_ack(b->opt.ack_ctx, it->seq, it->tag, o);
    free(it);
}

static void item_describe(const EsItem *it, Buf *out)
{
    buf_printf(out, "%s %s/%s", es_op_name(it->op), item_str(it, it->index_off),
               it->id_off == NONE_OFF ? "(auto id)" : item_str(it, it->id_off));
}

/* An item the writer gives up on because it failed: kept on the retry list, where
 * es_bulk_close() frees it; it is never acknowledged. */
static void item_park(EsBulk *b, EsItem *it)
{
    it->next = b->retry_head;
    b->retry_head = it;
    b->retry_n++;
}

static bool item_dead_letter(EsBulk *b, EsItem *it, int status, const char *type,
                             const char *reason, DipError *err)
{
    if (!b->opt.dead_letter) {
        item_park(b, it);
        Buf d;
        buf_init(&d);
        item_describe(it, &d);
        dip_error_set(err, DIP_ERR_DATA,
                      "%s: bulk %s refused with %d %s: %s (no dead-letter "
                      "table configured)",
                      b->c->cfg->host, buf_cstr(&d), status, type ? type : "error",
                      reason ? reason : "(no reason)");
        buf_free(&d);
        return bulk_fail(b, err);
    }
    EsDeadLetter dl = {
        .seq = it->seq,
        .tag = it->tag,
        .op = it->op,
        .index = item_str(it, it->index_off),
        .id = item_str(it, it->id_off),
        .routing = item_str(it, it->routing_off),
        .pipeline = item_str(it, it->pipeline_off),
        .version_type = it->vt,
        .version = it->version,
        .document = it->op == ES_OP_DELETE ? NULL : it->data + it->src_off,
        .document_len = it->op == ES_OP_DELETE ? 0 : it->len - it->src_off - 1,
        .status = status,
        .error_type = type,
        .reason = reason,
    };
    if (!b->opt.dead_letter(b->opt.dead_letter_ctx, &dl, err)) {
        item_park(b, it);
        return bulk_fail(b, err);
    }
    dip_warn("%s: bulk %s %s/%s refused with %d %s: dead letter written", b->c->cfg->host,
             es_op_name(it->op), dl.index, dl.id ? dl.id : "(auto id)", status, type ? type : "");
    item_complete(b, it, ES_OUTCOME_DEAD_LETTER);
    return true;
}

/* ---------------------------------------------------------------- batches */

static double now_s(void)
{
    return dip_now_s();
}

static void slot_push(EsSlot *s, EsItem *it)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->items = dip_realloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n++] = it;
}

/* Fills slot s from due retries, then the queue. Returns the NDJSON bytes taken. */
static size_t batch_fill(EsBulk *b, EsSlot *s, double now)
{
    size_t bytes = 0;
    size_t max_n = (size_t)b->c->cfg->chunk_size;
    /* retries first: they are the oldest work and already hold their keys */
    EsItem **pp = &b->retry_head;
    while (*pp && s->n < max_n) {
        EsItem *it = *pp;
        if (it->not_before <= now && (s->n == 0 || bytes + it->len <= b->batch_bytes)) {
            *pp = it->next;
            b->retry_n--;
            it->next = NULL;
            slot_push(s, it);
            bytes += it->len;
        } else {
            pp = &it->next;
        }
    }
    /* then the queue, in order, skipping items whose document is busy; a skipped key stays
     * held so every later action on it is skipped too and order holds */
    EsItem *prev = NULL, *it = b->q_head;
    size_t skipped = 0;
    while (it && s->n < max_n && skipped < max_n * 4) {
        EsItem *next = it->next;
        if (s->n > 0 && bytes + it->len > b->batch_bytes) break;
        if (it->key && es_keyset_contains(&b->held, it->key)) {
            skipped++;
            prev = it;
            it = next;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            b->q_head = next;
        if (b->q_tail == it) b->q_tail = prev;
        b->q_n--;
        b->q_bytes -= it->len;
        it->next = NULL;
        if (it->key) es_keyset_add(&b->held, it->key);
        slot_push(s, it);
        bytes += it->len;
        it = next;
    }
    return bytes;
}

/* libcurl's read callback for an uncompressed body: the items' NDJSON in order, without a
 * concatenated copy. */
static size_t slot_read(char *out, size_t size, size_t nitems, void *ud)
{
    EsSlot *s = ud;
    size_t cap = size * nitems, n = 0;
    while (n < cap && s->rd_item < s->n) {
        const EsItem *it = s->items[s->rd_item];
        size_t take = it->len - s->rd_off;
        if (take > cap - n) take = cap - n;
        memcpy(out + n, it->data + s->rd_off, take);
        n += take;
        s->rd_off += take;
        if (s->rd_off == it->len) {
            s->rd_item++;
            s->rd_off = 0;
        }
    }
    return n;
}

static bool slot_start(EsBulk *b, EsSlot *s, DipError *err)
{
    /* The body is built from the items, which are the NDJSON: gzipped from one staging copy
     * shared by the slots (the compressor takes its input whole; the copy lives only while
     * it runs), or streamed from them by slot_read: a copy per request would double the
     * memory in flight. Only SigV4 without gzip needs the body whole, to hash it before
     * sending. */
    bool gzip = b->c->cfg->compress;
    bool whole = !gzip && b->c->cfg->auth == ES_AUTH_SIGV4;
    s->raw_len = 0;
    Buf *gather = gzip ? &b->stage : &s->raw;
    buf_clear(gather);
    for (size_t i = 0; i < s->n; i++) {
        if (gzip || whole) buf_append(gather, s->items[i]->data, s->items[i]->len);
        s->raw_len += s->items[i]->len;
    }
    if (gzip) {
        es_gzip(&b->gz, b->stage.data, b->stage.len, &s->wire);
        /* a batch of large documents can be up to ELASTICSEARCH_MAX_CHUNK_BYTES: do not
         * keep that much staging for the rest of the run */
        if (b->stage.cap > STAGE_KEEP_BYTES) buf_free(&b->stage);
    }
    const void *body = gzip ? s->wire.data : whole ? s->raw.data : NULL;
    size_t body_len = gzip ? s->wire.len : s->raw_len;
    b->stats.bytes_raw += s->raw_len;
    b->stats.bytes_sent += body_len;
    http_exchange_reset(&s->ex);
    s->ex.body = &s->resp;
    CURL *h = s->curl;
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&b->url));
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else {
        s->rd_item = 0;
        s->rd_off = 0;
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, slot_read);
        curl_easy_setopt(h, CURLOPT_READDATA, s);
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    struct curl_slist *hl = NULL;
    if (!es_request_headers(b->c, "POST", buf_cstr(&b->url), true, gzip, body, body_len, &hl, err))
        return bulk_fail(b, err);
    http_exchange_set_headers(&s->ex, hl);
    CURLMcode mc = curl_multi_add_handle(b->multi, h);
    if (mc != CURLM_OK) {
        dip_error_set(err, DIP_ERR_INTERNAL, "libcurl multi: %s", curl_multi_strerror(mc));
        return bulk_fail(b, err);
    }
    s->state = SLOT_RUNNING;
    int running = 0;
    for (int i = 0; i < b->n_slots; i++)
        running += b->slots[i].state == SLOT_RUNNING;
    if (running > b->stats.max_in_flight_seen) b->stats.max_in_flight_seen = running;
    return true;
}

/* Gives a slot's items back: the first half stays in the slot, the second goes to the
 * front of the retry list (due now), keys still held. */
static void slot_split(EsBulk *b, EsSlot *s)
{
    size_t half = s->n / 2;
    for (size_t i = s->n; i > half; i--) {
        s->items[i - 1]->not_before = 0;
        item_park(b, s->items[i - 1]);
    }
    s->n = half;
    b->stats.splits++;
}

/* ---------------------------------------------------------------- answers */

static bool slot_retry_request(EsBulk *b, EsSlot *s, const DipError *why, DipError *err)
{
    const RetryPolicy *p = &b->c->cfg->retry;
    s->attempts++;
    if (s->attempts > p->max_retries) {
        *err = *why;
        dip_error_prefix(err, "POST /_bulk of %zu actions: gave up after %d attempts", s->n,
                         s->attempts);
        err->kind = DIP_ERR_TRANSIENT;
        return bulk_fail(b, err);
    }
    double d = retry_delay_s(p, s->attempts, &b->rng);
    dip_warn("POST /_bulk of %zu actions: %s; retry %d of %d in %.1f s", s->n, why->msg,
             s->attempts, p->max_retries, d);
    s->not_before = now_s() + d;
    s->state = SLOT_WAITING;
    b->stats.request_retries++;
    return true;
}

static bool slot_items(EsBulk *b, EsSlot *s, DipError *err)
{
    EsBulkResponse r;
    const char *host = b->c->cfg->host;
    if (!es_bulk_response_parse((const char *)s->resp.data, s->resp.len, s->n, &r, err)) {
        dip_error_prefix(err, "%s: POST /_bulk", host);
        return bulk_fail(b, err);
    }
    const RetryPolicy *p = &b->c->cfg->retry;
    double now = now_s();
    bool ok = true;
    /* first check the answer matches what was sent, so no item is judged on another's
     * answer */
    for (size_t i = 0; i < s->n && ok; i++) {
        EsItem *it = s->items[i];
        const EsItemResult *ir = &r.items[i];
        const char *id = item_str(it, it->id_off);
        if (ir->op != it->op || (id && ir->id && strcmp(id, ir->id) != 0)) {
            dip_error_set(err, DIP_ERR_DATA,
                          "%s: POST /_bulk: item %zu answers %s %s, expected %s %s (the "
                          "response does not match the request)",
                          host, i, es_op_name(ir->op), ir->id ? ir->id : "", es_op_name(it->op),
                          id ? id : "");
            ok = bulk_fail(b, err);
        }
    }
    for (size_t i = 0; i < s->n && ok; i++) {
        EsItem *it = s->items[i];
        const EsItemResult *ir = &r.items[i];
        switch (es_item_classify(it->op, it->vt, ir->status)) {
        case ES_ITEM_DONE:
            item_complete(b, it, ES_OUTCOME_DONE);
            break;
        case ES_ITEM_STALE:
            item_complete(b, it, ES_OUTCOME_STALE);
            break;
        case ES_ITEM_ABSENT:
            item_complete(b, it, ES_OUTCOME_ABSENT);
            break;
        case ES_ITEM_DEAD:
            ok = item_dead_letter(b, it, ir->status, ir->error_type, ir->reason, err);
            break;
        case ES_ITEM_RETRY: {
            it->attempts++;
            if (it->attempts > p->max_retries) {
                Buf d;
                buf_init(&d);
                item_describe(it, &d);
                dip_error_set(err, DIP_ERR_TRANSIENT,
                              "%s: bulk %s: gave up after %d attempts: status %d %s: %s", host,
                              buf_cstr(&d), it->attempts, ir->status,
                              ir->error_type ? ir->error_type : "",
                              ir->reason ? ir->reason : "(no reason)");
                buf_free(&d);
                ok = bulk_fail(b, err);
                /* the item goes back to the retry list so close() frees it */
            }
            it->not_before = now + retry_delay_s(p, it->attempts, &b->rng);
            item_park(b, it);
            b->stats.item_retries += ok;
            break;
        }
        case ES_ITEM_FATAL: {
            Buf d;
            buf_init(&d);
            item_describe(it, &d);
            dip_error_set(err,
                          ir->status == 401 || ir->status == 403 ? DIP_ERR_CONFIG : DIP_ERR_DATA,
                          "%s: bulk %s: status %d %s: %s", host, buf_cstr(&d), ir->status,
                          ir->error_type ? ir->error_type : "", ir->reason ? ir->reason : "");
            buf_free(&d);
            ok = bulk_fail(b, err);
            item_park(b, it);
            break;
        }
        }
        s->items[i] = NULL;
    }
    /* after a failure, the items not yet judged go back to the retry list to be freed */
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i]) item_park(b, s->items[i]);
    s->n = 0;
    s->state = SLOT_FREE;
    es_bulk_response_free(&r);
    return ok;
}

static bool slot_finished(EsBulk *b, EsSlot *s, CURLcode rc, DipError *err)
{
    http_exchange_done(&s->ex, rc);
    b->stats.requests++;
    const char *host = b->c->cfg->host;
    long st = s->ex.status;
    if (rc == CURLE_OK && (st == 413 || (st == 400 && s->n > 1))) {
        /* the server refused the body as a whole: halve it */
        if (s->n == 1) {
            EsItem *it = s->items[0];
            s->n = 0;
            s->state = SLOT_FREE;
            char why[96];
            dip_snprintf(why, sizeof why,
                         "the action alone (%u bytes) is larger than the "
                         "server accepts in a request",
                         it->len);
            return item_dead_letter(b, it, 413, "request_entity_too_large", why, err);
        }
        if (st == 413) {
            size_t lim = s->raw_len / 2;
            if (lim < b->batch_bytes) b->batch_bytes = lim > 1024 ? lim : 1024;
            dip_warn("%s: POST /_bulk: 413 for %zu bytes: splitting the batch, batches now at "
                     "most %zu bytes",
                     host, s->raw_len, b->batch_bytes);
        }
        slot_split(b, s);
        return slot_start(b, s, err);
    }
    if (rc == CURLE_OK && st == 400 && s->n == 1) {
        EsItem *it = s->items[0];
        s->n = 0;
        s->state = SLOT_FREE;
        Buf why;
        buf_init(&why);
        const Buf *eb = http_exchange_body(&s->ex);
        es_error_body_summary((const char *)eb->data, eb->len, &why);
        bool ok = item_dead_letter(b, it, 400, "bulk_request_refused", buf_cstr(&why), err);
        buf_free(&why);
        return ok;
    }
    DipError why = {0};
    if (!http_exchange_check(&s->ex, host, "a 2xx bulk response", &why)) {
        why.msg[sizeof why.msg - 1] = '\0';
        if (why.kind == DIP_ERR_TRANSIENT) return slot_retry_request(b, s, &why, err);
        *err = why;
        if (st == 401 || st == 403) {
            Buf d;
            buf_init(&d);
            es_config_auth_describe(b->c->cfg, &d);
            dip_error_prefix(err, "POST /_bulk (auth in use: %s)", buf_cstr(&d));
            buf_free(&d);
        } else {
            dip_error_prefix(err, "POST /_bulk");
        }
        return bulk_fail(b, err);
    }
    return slot_items(b, s, err);
}

/* ---------------------------------------------------------------- the loop */

static bool queue_full(const EsBulk *b)
{
    return b->q_n >= b->q_max_n || b->q_bytes >= b->q_max_bytes;
}

/* One round: start what can start, run transfers, read answers. force: cut partial batches
 * (flush, or a full queue). wait: block up to a short while for progress. */
static bool bulk_pump(EsBulk *b, bool force, bool wait, DipError *err)
{
    if (b->failed) return bulk_failed(b, err);
    if (dip_stop_requested()) {
        dip_error_set(err, DIP_ERR_INTERRUPTED, "%s: bulk writer: stop requested", b->c->cfg->host);
        return bulk_fail(b, err);
    }
    double now = now_s();
    double next_due = now + 0.2;
    bool retry_due = false;
    for (EsItem *it = b->retry_head; it; it = it->next) {
        if (it->not_before <= now)
            retry_due = true;
        else if (it->not_before < next_due)
            next_due = it->not_before;
    }
    for (int i = 0; i < b->n_slots; i++) {
        EsSlot *s = &b->slots[i];
        if (s->state == SLOT_WAITING) {
            if (s->not_before <= now) {
                if (!slot_start(b, s, err)) return false;
            } else if (s->not_before < next_due) {
                next_due = s->not_before;
            }
        }
    }
    for (int i = 0; i < b->n_slots; i++) {
        EsSlot *s = &b->slots[i];
        if (s->state != SLOT_FREE) continue;
        bool full_batch = b->q_n >= (size_t)b->c->cfg->chunk_size || b->q_bytes >= b->batch_bytes;
        if (!(force || full_batch || retry_due)) break;
        if (!b->q_n && !retry_due) break;
        batch_fill(b, s, now);
        if (s->n == 0) break; /* everything queued is busy: wait for answers */
        if (!slot_start(b, s, err)) return false;
        retry_due = false;
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(b->multi, &running);
    if (mc != CURLM_OK) {
        dip_error_set(err, DIP_ERR_INTERNAL, "libcurl multi: %s", curl_multi_strerror(mc));
        return bulk_fail(b, err);
    }
    CURLMsg *msg;
    int left;
    bool progressed = false;
    while ((msg = curl_multi_info_read(b->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *h = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(b->multi, h);
        for (int i = 0; i < b->n_slots; i++) {
            EsSlot *s = &b->slots[i];
            if (s->curl == h && s->state == SLOT_RUNNING) {
                s->state = SLOT_FREE;
                if (!slot_finished(b, s, rc, err)) return false;
                progressed = true;
                break;
            }
        }
    }
    if (wait && !progressed) {
        double wait_s = next_due - now_s();
        int ms = wait_s <= 0 ? 0 : (int)(wait_s * 1000) + 1;
        if (ms > 200) ms = 200;
        mc = curl_multi_poll(b->multi, NULL, 0, ms, NULL);
        if (mc != CURLM_OK) {
            dip_error_set(err, DIP_ERR_INTERNAL, "libcurl multi: %s", curl_multi_strerror(mc));
            return bulk_fail(b, err);
        }
    }
    return true;
}

static bool bulk_idle(const EsBulk *b)
{
    if (b->q_n || b->retry_head) return false;
    for (int i = 0; i < b->n_slots; i++)
        if (b->slots[i].state != SLOT_FREE) return false;
    return true;
}

/* ---------------------------------------------------------------- public */

bool es_bulk_open(EsClient *c, const EsBulkOptions *opt, EsBulk **out, DipError *err)
{
    EsBulk *b = dip_calloc(1, sizeof *b);
    b->c = c;
    if (opt) b->opt = *opt;
    b->rng = dip_rng_seed();
    es_keyset_init(&b->held);
    const EsConfig *cfg = c->cfg;
    b->batch_bytes = cfg->max_chunk_bytes;
    /* one batch ready behind the ones in flight keeps every connection busy; more would
     * only cost memory */
    b->q_max_n = (size_t)cfg->chunk_size;
    b->q_max_bytes = cfg->max_chunk_bytes < (32u << 20) ? cfg->max_chunk_bytes : (32u << 20);
    buf_init(&b->url);
    buf_init(&b->stage);
    buf_printf(&b->url, "%s/_bulk", cfg->url);
    if (cfg->refresh) buf_printf(&b->url, "?refresh=%s", cfg->refresh);
    b->multi = curl_multi_init();
    if (!b->multi) {
        free(b);
        return dip_error_set(err, DIP_ERR_INTERNAL, "libcurl: cannot create a multi handle");
    }
    curl_multi_setopt(b->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->max_in_flight);
    b->n_slots = cfg->max_in_flight;
    b->slots = dip_calloc((size_t)b->n_slots, sizeof *b->slots);
    for (int i = 0; i < b->n_slots; i++) {
        EsSlot *s = &b->slots[i];
        buf_init(&s->resp);
        buf_init(&s->raw);
        buf_init(&s->wire);
        if (!es_handle_new(c, &s->curl, err)) {
            es_bulk_close(b);
            return false;
        }
        http_exchange_init(&s->ex, s->curl);
        s->ex.body = &s->resp;
        s->ex.max_body = 256u << 20;
    }
    *out = b;
    return true;
}

bool es_bulk_add(EsBulk *b, const EsAction *a, uint64_t tag, uint64_t *seq, DipError *err)
{
    if (b->failed) return bulk_failed(b, err);
    if (!es_action_check(a, err)) return false;
    Buf scratch;
    buf_init(&scratch);
    EsItem *it = item_new(a, &scratch);
    buf_free(&scratch);
    it->seq = ++b->next_seq;
    it->tag = tag;
    if (b->q_tail)
        b->q_tail->next = it;
    else
        b->q_head = it;
    b->q_tail = it;
    b->q_n++;
    b->q_bytes += it->len;
    b->stats.added++;
    if (seq) *seq = it->seq;
    /* a pump costs a curl_multi_perform (system calls): once per batch worth, or every 256
     * actions so answers are read while a slow producer trickles */
    bool batch_ready = b->q_n >= (size_t)b->c->cfg->chunk_size || b->q_bytes >= b->batch_bytes;
    if ((batch_ready || (b->stats.added & 255) == 0) && !bulk_pump(b, false, false, err))
        return false;
    while (queue_full(b)) {
        if (!bulk_pump(b, true, true, err)) return false;
    }
    return true;
}

bool es_bulk_poll(EsBulk *b, DipError *err)
{
    return bulk_pump(b, false, false, err);
}

bool es_bulk_send(EsBulk *b, DipError *err)
{
    return bulk_pump(b, true, false, err);
}

bool es_bulk_flush(EsBulk *b, DipError *err)
{
    while (!bulk_idle(b)) {
        if (!bulk_pump(b, true, true, err)) return false;
    }
    return b->failed ? bulk_failed(b, err) : true;
}

uint64_t es_bulk_acked_through(const EsBulk *b)
{
    return b->ack_through;
}

const EsBulkStats *es_bulk_stats(const EsBulk *b)
{
    return &b->stats;
}

void es_bulk_close(EsBulk *b)
{
    if (!b) return;
    for (int i = 0; i < b->n_slots; i++) {
        EsSlot *s = &b->slots[i];
        if (s->state == SLOT_RUNNING) curl_multi_remove_handle(b->multi, s->curl);
        for (size_t j = 0; j < s->n; j++)
            free(s->items[j]);
        free(s->items);
        if (s->curl) {
            http_exchange_free(&s->ex);
            curl_easy_cleanup(s->curl);
        }
        buf_free(&s->resp);
        buf_free(&s->raw);
        buf_free(&s->wire);
    }
    free(b->slots);
    buf_free(&b->stage);
    es_gzip_free(&b->gz);
    for (EsItem *it = b->q_head, *n; it; it = n) {
        n = it->next;
        free(it);
    }
    for (EsItem *it = b->retry_head, *n; it; it = n) {
        n = it->next;
        free(it);
    }
    if (b->multi) curl_multi_cleanup(b->multi);
    es_keyset_free(&b->held);
    free(b->done);
    buf_free(&b->url);
    free(b);
}

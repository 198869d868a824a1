/*
 * store.c: the Store front: picks the backend from the URI scheme and offers the helpers
 * every backend shares (whole-object reads, list bookkeeping).
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

bool store_open(Store **out, const char *uri, DipError *err)
{
    /* the seed's Delta client settings name the retry policy of every remote read */
    int64_t retries;
    double delay;
    if (!config_env_int("DELTA_CLIENT_WRITE_RETRIES", 5, &retries, err) ||
        !config_env_double("DELTA_CLIENT_WRITE_RETRY_DELAY", 10.0, &delay, err))
        return false;
    if (retries < 0 || retries > 100)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DELTA_CLIENT_WRITE_RETRIES=%lld: expected 0..100",
                             (long long)retries);
    if (!(delay >= 0.0 && delay <= 3600.0))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DELTA_CLIENT_WRITE_RETRY_DELAY=%g: expected 0..3600 seconds", delay);
    Store *st = dip_calloc(1, sizeof *st);
    st->uri = dip_strdup(uri);
    st->retry.max_retries = (int)retries;
    st->retry.base_delay_s = delay;
    st->retry.max_delay_s = delay * 12.0 > 120.0 ? delay * 12.0 : 120.0;
    bool ok;
    if (strncmp(uri, "s3://", 5) == 0 || strncmp(uri, "s3a://", 6) == 0) {
        st->remote = true;
        ok = store_s3_open(st, uri, err);
    } else {
        const char *root = uri;
        if (strncmp(uri, "file://", 7) == 0) root = uri + 7;
        ok = store_file_open(st, root, err);
    }
    if (!ok) {
        free(st->uri);
        free(st);
        return false;
    }
    *out = st;
    return true;
}

bool store_clone(const Store *st, Store **out, DipError *err)
{
    Store *copy;
    if (!store_open(&copy, st->uri, err)) return false;
    copy->retry = st->retry; /* keep a policy set with store_set_retry */
    *out = copy;
    return true;
}

void store_close(Store *st)
{
    if (!st) return;
    if (st->ops && st->ops->close) st->ops->close(st);
    free(st->uri);
    free(st);
}

const char *store_uri(const Store *st)
{
    return st->uri;
}

bool store_is_remote(const Store *st)
{
    return st->remote;
}

void store_set_retry(Store *st, const RetryPolicy *p)
{
    st->retry = *p;
}

bool store_list(Store *st, const char *prefix, StoreList *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    return st->ops->list(st, prefix, out, err);
}

void store_list_push(StoreList *l, const char *name, uint64_t size, int64_t mtime_ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->entries = dip_realloc(l->entries, l->cap * sizeof(StoreEntry));
    }
    l->entries[l->n].name = dip_strdup(name);
    l->entries[l->n].size = size;
    l->entries[l->n].mtime_ms = mtime_ms;
    l->n++;
}

void store_list_free(StoreList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->entries[i].name);
    free(l->entries);
    memset(l, 0, sizeof *l);
}

bool store_stat(Store *st, const char *name, StoreEntry *out, bool *exists, DipError *err)
{
    memset(out, 0, sizeof *out);
    return st->ops->stat(st, name, out, exists, err);
}

void store_entry_free(StoreEntry *e)
{
    free(e->name);
    e->name = NULL;
}

bool store_read_range(Store *st, const char *name, uint64_t offset, uint64_t len, void *dst,
                      DipError *err)
{
    if (len == 0) return true;
    return st->ops->read_range(st, name, offset, len, dst, err);
}

bool store_read_all(Store *st, const char *name, Buf *out, DipError *err)
{
    if (st->ops->read_all) {
        buf_clear(out);
        return st->ops->read_all(st, name, out, err);
    }
    StoreEntry e;
    bool exists = false;
    if (!store_stat(st, name, &e, &exists, err)) return false;
    store_entry_free(&e);
    if (!exists)
        return dip_error_set(err, DIP_ERR_NOT_FOUND, "%s/%s: no such object", st->uri, name);
    buf_clear(out);
    buf_reserve(out, e.size);
    if (!store_read_range(st, name, 0, e.size, out->data, err)) return false;
    out->len = e.size;
    out->data[out->len] = '\0';
    return true;
}

bool store_is_absolute_uri(const char *path)
{
    return strstr(path, "://") != NULL || path[0] == '/';
}

/*
 * perform.c: a blocking HTTP exchange retried on transient failures (http.h
 * http_perform_retry), the one such loop in dip: core's retry_run does the counting, the
 * jittered waits and the warnings; this file runs one attempt of an HttpCall.
 */
#include "http/http.h"

#include <string.h>

static bool http_attempt(void *ctx, int attempt, DipError *err)
{
    const HttpCall *call = ctx;
    HttpExchange *ex = call->ex;
    if (dip_stop_requested())
        return dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted before attempt %d", attempt);
    http_exchange_reset(ex);
    if (call->prepare && !call->prepare(call->ctx, ex, attempt, err)) return false;
    CURLcode rc = curl_easy_perform(ex->curl);
    http_exchange_done(ex, rc);
    if (call->finish) return call->finish(call->ctx, ex, err);
    return http_exchange_check(ex, call->host, call->expected, err);
}

bool http_perform_retry(const HttpCall *call, const RetryPolicy *p, DipError *err)
{
    if (retry_run(p, http_attempt, (void *)call, call->what, err)) return true;
    /* retry_run names the call on transient errors; final ones say only what happened */
    size_t wl = strlen(call->what);
    if (strncmp(err->msg, call->what, wl) != 0) dip_error_prefix(err, "%s", call->what);
    return false;
}

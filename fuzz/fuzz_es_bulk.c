/*
 * fuzz_es_bulk.c: libFuzzer target for what the es module reads from the network and from
 * load input: the bulk response parser (src/es/response.c) with an expected item count taken
 * from the first input byte, the engine detector over a `GET /` body, the error-body summary,
 * and the `dip es load` line reader (src/es/load.c). Checks: no crash, no leak, a parsed
 * response holds exactly the expected items each with a status in 100..599, and a parsed load
 * line's source lies inside the line.
 */
#include "es/es_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t expected = data[0] % 8;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    EsBulkResponse r;
    DipError err;
    dip_error_clear(&err);
    if (es_bulk_response_parse(body, n, expected, &r, &err)) {
        if (r.n_items != expected) abort();
        for (size_t i = 0; i < r.n_items; i++) {
            if (r.items[i].status < 100 || r.items[i].status > 599) abort();
            (void)es_item_classify(r.items[i].op, ES_VERSION_EXTERNAL, r.items[i].status);
        }
        es_bulk_response_free(&r);
    } else if (err.msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    EsEngine e;
    dip_error_clear(&err);
    (void)es_engine_parse("fuzz", body, n, (data[0] & 1) ? "Elasticsearch" : NULL, &e, &err);
    Buf sum;
    buf_init(&sum);
    es_error_body_summary(body, n, &sum);
    buf_free(&sum);
    Arena a;
    arena_init(&a, 1024);
    EsLoadDoc d;
    dip_error_clear(&err);
    if (es_load_line_parse(body, n, (data[0] & 2) ? "id" : NULL, &a, &d, &err)) {
        if (d.source < body || d.source + d.source_len > body + n) abort();
    }
    arena_free(&a);
    return 0;
}

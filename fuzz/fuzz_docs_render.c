/*
 * fuzz_docs_render.c: libFuzzer target for the value renderer (src/docs/render.c), which
 * reads PostgreSQL's text output of every type, arrays included. The first input byte picks
 * the render kind, array or not, and the delimiter; the rest is the value text. Checks: no
 * crash, no leak; a refusal says why and leaves the output as it was; whatever is rendered
 * from a non-JSON kind is one valid JSON value (jansson reads it back; PostgreSQL text has no
 * NUL, the fuzzer's may, escaped as \u0000).
 */
#include "docs/build.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    DocsValType t = {.kind = (DocsValKind)(data[0] % 7),
                     .array = (data[0] & 0x10) != 0,
                     .delim = (data[0] & 0x20) ? ';' : ','};
    Buf out;
    buf_init(&out);
    buf_append_str(&out, "[");
    DipError err;
    dip_error_clear(&err);
    bool ok = docs_render_value(&out, &t, (const char *)data + 1, size - 1, &err);
    if (!ok) {
        if (err.msg[0] == '\0' || out.len != 1) abort();
    } else if (!t.array && t.kind == DOCS_VAL_NUMBER &&
               docs_is_json_number((const char *)data + 1, size - 1)) {
        /* a number is copied as it is (jansson would refuse one beyond a double's range) */
        if (out.len != size || memcmp(out.data + 1, data + 1, size - 1) != 0) abort();
    } else if (t.kind != DOCS_VAL_JSON && t.kind != DOCS_VAL_NUMBER) {
        buf_append_str(&out, "]");
        json_error_t je;
        json_t *v = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, &je);
        if (!v) abort();
        json_decref(v);
    }
    (void)docs_is_json_number((const char *)data + 1, size - 1);
    buf_free(&out);
    return 0;
}

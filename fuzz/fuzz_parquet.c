/*
 * fuzz_parquet.c: libFuzzer target over the whole Parquet read path: footer (Thrift compact
 * protocol), schema tree, page headers, codecs, encodings and level assembly. Each input is
 * opened as a memory image; every row group is decoded into a batch and its rows rendered
 * as canonical JSON (which walks every offset and validity bit the assembler produced), once
 * whole and once through a row-group cursor in windows of 3 rows, then pq_check runs over the same
 * file, and the schema/meta descriptions are written. Run: make fuzz-parquet FUZZ_SECONDS=600 (seed
 * corpus: fuzz/corpus/parquet/).
 */
#include "parquet/parquet.h"

#include <stdint.h>
#include <stdlib.h>

extern size_t pq_limit_chunk_bytes;
extern size_t pq_limit_page_bytes;
extern size_t pq_limit_chunk_values;
extern size_t pq_stream_min_page_bytes;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* keep hostile inputs inside the fuzzer's memory limit */
    pq_limit_chunk_bytes = 64u << 20;
    pq_limit_page_bytes = 16u << 20;
    pq_limit_chunk_values = 4u << 20;
    DipError err = {0};
    PqFile *f;
    if (!pq_file_open_mem(&f, data, size, "fuzz.parquet", &err)) return 0;
    Buf out;
    buf_init(&out);
    pq_write_schema_text(f, &out);
    pq_write_meta_json(f, &out);
    for (int g = 0; g < pq_file_num_row_groups(f) && g < 16; g++) {
        ColumnBatch b;
        dip_error_clear(&err);
        if (!pq_read_row_group(f, g, NULL, 0, &b, &err)) continue;
        JsonWriter w;
        for (int64_t r = 0; r < b.num_rows && r < 2000; r++) {
            buf_clear(&out);
            jw_init(&w, &out);
            column_batch_write_row_json(&w, &b, r);
        }
        column_batch_free(&b);
    }
    /* the same row groups in windows of 3 rows (boundaries inside pages and lists), every
     * eligible page decoded piece by piece as large pages are */
    size_t saved_min = pq_stream_min_page_bytes;
    pq_stream_min_page_bytes = 0;
    for (int g = 0; g < pq_file_num_row_groups(f) && g < 16; g++) {
        PqRowGroupCursor *c;
        dip_error_clear(&err);
        if (!pq_rg_cursor_open(&c, f, g, NULL, 0, 3, &err)) continue;
        for (int k = 0; k < 1000; k++) {
            ColumnBatch b;
            bool done;
            if (!pq_rg_cursor_next(c, &b, &done, &err)) {
                if (err.msg[0] == '\0') abort();
                break;
            }
            if (done) break;
            JsonWriter w;
            for (int64_t r = 0; r < b.num_rows; r++) {
                buf_clear(&out);
                jw_init(&w, &out);
                column_batch_write_row_json(&w, &b, r);
            }
            column_batch_free(&b);
        }
        pq_rg_cursor_close(c);
    }
    pq_stream_min_page_bytes = saved_min;
    PqCheckStats st;
    dip_error_clear(&err);
    if (!pq_check(f, -1, &st, &err)) {
        /* errors are expected; they must carry a message */
        if (err.msg[0] == '\0') abort();
    }
    buf_free(&out);
    pq_file_close(f);
    return 0;
}

-- es_dead_letters_insert.sql: one refused action ($1 index, $2 _id, $3 op, $4 routing,
-- $5 pipeline, $6 version, $7 version_type, $8 document, $9 status, $10 error type,
-- $11 reason).
INSERT INTO dip_es_dead_letters (index_name, doc_id, op, routing, pipeline, version,
                                 version_type, document, status, error_type, reason)
VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8, $9::integer, $10, $11);

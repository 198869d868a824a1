-- pgrepl_heartbeat.sql: a non-transactional logical decoding message ({{prefix}} is a quoted
-- literal) carrying the sender's clock: it is decoded and sent at once, outside any
-- transaction, so a consumer of an idle database receives a position to confirm.
SELECT pg_logical_emit_message(false, {{prefix}}, clock_timestamp()::text)::text

-- gold_state.sql: staleness input (MAX(sync_ldts) as microseconds since the epoch) and
-- whether the gold table holds any row (an empty table takes the COPY fast path).
SELECT (extract(epoch FROM (SELECT max(sync_ldts) FROM {{table}})) * 1000000)::bigint,
       EXISTS (SELECT 1 FROM {{table}});

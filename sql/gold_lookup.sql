-- gold_lookup.sql: (hk, hdiff) of the given keys ($1 is a text[]); the primary key index
-- serves it at POSTGRES_CLIENT_BATCH_SIZE keys.
SELECT hk, hdiff FROM {{table}} WHERE hk = ANY($1::text[]);

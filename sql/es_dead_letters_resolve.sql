-- es_dead_letters_resolve.sql: a letter the engine accepted on a retry ($1 id) is gone.
DELETE FROM dip_es_dead_letters WHERE id = $1::bigint;

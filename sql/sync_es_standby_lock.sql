-- sync_es_standby_lock.sql: the per-index session lock every dip sync-es run takes (the
-- same key as sync_es.c's), tried again by a standby daemon while the active one holds it.
SELECT pg_try_advisory_lock(hashtext('dip sync-es'), hashtext($1))

-- sync_es_slot_get.sql: a replication slot by name ($1): plugin, database, kind, whether a
-- process holds it.
SELECT coalesce(plugin, ''), coalesce(database, ''), slot_type, temporary::text, active::text
FROM pg_replication_slots WHERE slot_name = $1

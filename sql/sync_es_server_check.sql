-- sync_es_server_check.sql: what sync-es needs of the server and the role: wal_level
-- logical, and the REPLICATION attribute (or superuser) to create a logical slot.
SELECT current_setting('wal_level'),
       (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user),
       current_user, current_database()

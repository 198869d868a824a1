-- gold_export_hk.sql: every hk of gold, for --propagate-deletes on a full sync.
COPY (SELECT hk FROM {{table}}) TO STDOUT (FORMAT binary);

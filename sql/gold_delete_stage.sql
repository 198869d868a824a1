-- gold_delete_stage.sql: keys to delete, staged per transaction.
CREATE TEMP TABLE IF NOT EXISTS dip_delete (hk text) ON COMMIT DELETE ROWS;

-- gold_stage_create.sql: the session's staging table, emptied by every commit.
CREATE TEMP TABLE IF NOT EXISTS dip_stage ON COMMIT DELETE ROWS AS
    SELECT {{columns}} FROM {{table}} WITH NO DATA;

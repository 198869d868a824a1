-- gold_create_table.sql: a gold table made from a model when no schema file created it.
-- hk COLLATE "C": byte comparison in the primary key index (DESIGN.md: ~19% faster COPY).
CREATE TABLE IF NOT EXISTS {{table}} (
    hk        text COLLATE "C" NOT NULL PRIMARY KEY,
    hdiff     text NOT NULL,
    sync_ldts timestamptz NOT NULL{{column_defs}}
);
CREATE INDEX IF NOT EXISTS {{ldts_index}} ON {{table}} (sync_ldts);

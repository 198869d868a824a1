-- sync_es_state.sql: dip sync-es's state, in schema {{schema}} (DIP_STATE_SCHEMA, default
-- "dip") of the source database. Created by --bootstrap; IF NOT EXISTS throughout: running
-- it again changes nothing.
CREATE SCHEMA IF NOT EXISTS {{schema}};
-- One row per index alias dip maintains: which slot, publication and concrete index serve
-- it, the LSN of the slot's consistent point (every change after it is in the slot) and
-- whether the initial load is complete. next_* describe a --reindex in progress. A bootstrap
-- writes the row first (ready false) and sets ready once slot, publication and index exist,
-- so objects of a bootstrap killed half way are known to be dip's and are made again.
CREATE TABLE IF NOT EXISTS {{schema}}.sync_es_state (
    alias          text PRIMARY KEY,
    database       text NOT NULL,
    publication    text NOT NULL,
    slot           text NOT NULL,
    index_name     text NOT NULL,
    index_version  integer NOT NULL,
    consistent_lsn pg_lsn,
    ready          boolean NOT NULL DEFAULT false,
    load_done      boolean NOT NULL DEFAULT false,
    next_index     text,
    next_version   integer,
    next_slot      text,
    next_lsn       pg_lsn,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The root key ranges of an index's initial load, cut once inside the load's snapshot:
-- (lower, upper] in primary-key order, NULL = open. A range is marked done only after the
-- search engine acknowledged every document of it.
CREATE TABLE IF NOT EXISTS {{schema}}.sync_es_ranges (
    index_name  text NOT NULL,
    range_no    integer NOT NULL,
    lower_key   text[],
    upper_key   text[],
    done        boolean NOT NULL DEFAULT false,
    documents   bigint NOT NULL DEFAULT 0,
    read_lsn    pg_lsn,
    done_at     timestamptz,
    PRIMARY KEY (index_name, range_no)
);
-- Every run of dip sync-es: what it did, how much, how long, how it ended.
CREATE TABLE IF NOT EXISTS {{schema}}.sync_es_runs (
    run_id       bigserial PRIMARY KEY,
    alias        text NOT NULL,
    index_name   text,
    action       text NOT NULL,
    state        text NOT NULL DEFAULT 'running',
    documents    bigint NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0,
    errors       bigint NOT NULL DEFAULT 0,
    ranges_done  integer NOT NULL DEFAULT 0,
    workers      integer,
    sql_s        double precision,
    render_s     double precision,
    error        text,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz
);

-- es_dead_letters_create.sql: actions Elasticsearch/OpenSearch refused as bad data (a 400
-- mapper_parsing_exception, a 409 on a create, ...), kept whole so `dip es dead-letters
-- --retry` can send them again once the mapping or the document is fixed. Never holds a
-- credential: only the action, the document and the engine's answer.
CREATE TABLE IF NOT EXISTS dip_es_dead_letters (
    id              bigserial PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    index_name      text NOT NULL,
    doc_id          text,
    op              text NOT NULL CHECK (op IN ('index', 'create', 'update', 'delete')),
    routing         text,
    pipeline        text,
    version         bigint,
    version_type    text,
    document        text,
    status          integer NOT NULL,
    error_type      text,
    reason          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 1,
    last_attempt_at timestamptz NOT NULL DEFAULT now()
);

-- es_dead_letters_refused.sql: a letter refused again on a retry ($1 id, $2 status,
-- $3 error type, $4 reason) keeps its place with the engine's newest answer.
UPDATE dip_es_dead_letters
SET status = $2::integer, error_type = $3, reason = $4, attempts = attempts + 1,
    last_attempt_at = now()
WHERE id = $1::bigint;

-- gold_merge.sql: the staged batch merged into gold. Rows whose hdiff did not change are
-- left alone (no new tuple version); xmax = 0 on a returned row means it was inserted.
WITH merged AS (
    INSERT INTO {{table}} AS t ({{columns}})
    SELECT {{columns}} FROM dip_stage
    ON CONFLICT (hk) DO UPDATE SET {{update_set}}
    WHERE t.hdiff IS DISTINCT FROM EXCLUDED.hdiff
    RETURNING (t.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged;

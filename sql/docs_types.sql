-- docs_types.sql: how to render each result column type as to_json does (src/docs/render.c).
-- $1: oid[] of result columns. Domains are looked through (json_categorize_type calls
-- getBaseType), for the column type and for an array's element type. An array is a "true"
-- array type (typsubscript = array_subscript_handler), as get_element_type() decides.
WITH RECURSIVE base(oid, cur, depth) AS (
    SELECT o, o, 0 FROM unnest($1::oid[]) AS o
  UNION ALL
    SELECT base.oid, t.typbasetype, base.depth + 1
    FROM base JOIN pg_type t ON t.oid = base.cur
    WHERE t.typtype = 'd' AND base.depth < 32
), resolved AS (
    SELECT DISTINCT ON (oid) oid, cur FROM base ORDER BY oid, depth DESC
), elem AS (
    SELECT r.oid, r.cur AS base_oid, t.typtype AS base_typtype,
           CASE WHEN t.typsubscript = 'array_subscript_handler'::regproc THEN t.typelem
                ELSE 0::oid END AS elem_oid
    FROM resolved r JOIN pg_type t ON t.oid = r.cur
), elem_base(oid, cur, depth) AS (
    SELECT oid, elem_oid, 0 FROM elem WHERE elem_oid <> 0
  UNION ALL
    SELECT eb.oid, t.typbasetype, eb.depth + 1
    FROM elem_base eb JOIN pg_type t ON t.oid = eb.cur
    WHERE t.typtype = 'd' AND eb.depth < 32
), elem_resolved AS (
    SELECT DISTINCT ON (oid) oid, cur FROM elem_base ORDER BY oid, depth DESC
)
SELECT e.oid, e.base_oid, e.base_typtype,
       coalesce(er.cur, 0::oid) AS elem_base_oid,
       coalesce(et.typtype, ' ') AS elem_typtype,
       coalesce(ed.typdelim, ',') AS elem_delim
FROM elem e
LEFT JOIN elem_resolved er ON er.oid = e.oid
LEFT JOIN pg_type et ON et.oid = er.cur
LEFT JOIN pg_type ed ON ed.oid = e.elem_oid

-- gold_export.sql: every (hk, hdiff) pair of gold, for dip's pre-filter (~2 s for 5M rows).
COPY (SELECT hk, hdiff FROM {{table}}) TO STDOUT (FORMAT binary);

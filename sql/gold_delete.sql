-- gold_delete.sql: --propagate-deletes: gold rows whose hk left the Delta table.
DELETE FROM {{table}} t USING dip_delete d WHERE t.hk = d.hk;

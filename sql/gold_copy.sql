-- gold_copy.sql: binary COPY into the gold table (rows known to be new) or the staging table.
COPY {{target}} ({{columns}}) FROM STDIN (FORMAT binary);

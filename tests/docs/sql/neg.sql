-- Tables for the resolve error cases of test_docs_resolve.c.
CREATE TABLE a (id integer PRIMARY KEY, name text, doc jsonb, txt text);
CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a (id),
                a2_id integer REFERENCES a (id));
CREATE TABLE c (id integer PRIMARY KEY, a_id integer REFERENCES a (id), label text);
CREATE TABLE nopk (x integer, a_id integer REFERENCES a (id));
CREATE TABLE t_nokeys (id integer PRIMARY KEY, x integer);
CREATE TABLE link (a_id integer REFERENCES a (id), c_id integer REFERENCES c (id),
                   PRIMARY KEY (a_id, c_id));
CREATE TABLE self (id integer PRIMARY KEY, parent_id integer REFERENCES self (id), name text);
CREATE TABLE friend (user_id integer REFERENCES self (id), friend_id integer REFERENCES self (id),
                     PRIMARY KEY (user_id, friend_id));
CREATE VIEW v AS SELECT * FROM a;
CREATE MATERIALIZED VIEW mv AS SELECT id, name FROM a;
CREATE SEQUENCE s;
CREATE SCHEMA other;
CREATE TABLE other.d (id integer PRIMARY KEY, a_id integer REFERENCES public.a (id));
ALTER TABLE c REPLICA IDENTITY FULL;

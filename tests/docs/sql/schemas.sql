-- PGSync's "schemas" example: parent and child in two schemas.
CREATE SCHEMA parent;
CREATE SCHEMA child;
CREATE TABLE parent.parent (id serial PRIMARY KEY, name varchar);
CREATE TABLE child.child (id serial PRIMARY KEY, name varchar,
                          parent_id integer REFERENCES parent.parent (id));

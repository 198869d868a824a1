-- PGSync's "through_schemas" example: the through table in a third schema.
CREATE SCHEMA parent;
CREATE SCHEMA child;
CREATE SCHEMA child_to_parent;
CREATE TABLE parent.parent (id serial PRIMARY KEY, name varchar);
CREATE TABLE child.child (id serial PRIMARY KEY, name varchar);
CREATE TABLE child_to_parent.child_to_parent (
    id serial PRIMARY KEY,
    parent_id integer REFERENCES parent.parent (id),
    child_id integer REFERENCES child.child (id));

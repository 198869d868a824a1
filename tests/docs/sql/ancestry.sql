-- PGSync's "ancestry" example: a through table whose key the child references.
CREATE TABLE parent (id serial PRIMARY KEY, name varchar);
CREATE TABLE surrogate (id serial PRIMARY KEY, name varchar, parent_id integer REFERENCES parent (id));
CREATE TABLE child (id serial PRIMARY KEY, name varchar, parent_id integer REFERENCES surrogate (id));
CREATE TABLE grand_child (id serial PRIMARY KEY, name varchar,
                          parent_id integer REFERENCES child (id));
CREATE TABLE great_grand_child (id serial PRIMARY KEY, name varchar,
                                parent_id integer REFERENCES grand_child (id));

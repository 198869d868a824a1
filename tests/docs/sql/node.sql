-- PGSync's "node" example: an adjacency list (a self-referencing table).
CREATE TABLE node (id serial PRIMARY KEY, name varchar, node_id integer REFERENCES node (id));

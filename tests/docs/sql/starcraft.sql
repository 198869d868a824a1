-- PGSync's "starcraft" example (examples/starcraft/schema.py): no foreign keys at all, the
-- joins are relationship.foreign_key only.
CREATE TABLE specie (id integer PRIMARY KEY, name varchar NOT NULL);
CREATE TABLE unit (id integer PRIMARY KEY, name varchar NOT NULL, details varchar,
                   specie_id integer NOT NULL);
CREATE TABLE structure (id integer PRIMARY KEY, name varchar NOT NULL, details varchar,
                        specie_id integer NOT NULL);

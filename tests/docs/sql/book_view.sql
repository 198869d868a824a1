-- PGSync's "book_view" example: views over tables, joined by relationship.foreign_key.
CREATE TABLE publisher (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE,
                        is_active boolean DEFAULT false);
CREATE TABLE book (id serial PRIMARY KEY, isbn varchar NOT NULL UNIQUE, title varchar NOT NULL,
                   description varchar, copyright varchar,
                   publisher_id integer REFERENCES publisher (id) ON DELETE CASCADE);
CREATE VIEW book_view AS SELECT * FROM book;
CREATE VIEW publisher_view AS SELECT * FROM publisher;

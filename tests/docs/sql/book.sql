-- Tables of PGSync's "book" example (examples/book/schema.py), written from its models, for
-- examples book.json, book_plain.json and geo.json (all in database "book").
CREATE TABLE continent (id serial PRIMARY KEY, name varchar(256) NOT NULL UNIQUE);
CREATE TABLE country (id serial PRIMARY KEY, name varchar(256) NOT NULL,
                      continent_id integer REFERENCES continent (id) ON DELETE CASCADE,
                      UNIQUE (name, continent_id));
CREATE TABLE city (id serial PRIMARY KEY, name varchar(256) NOT NULL,
                   country_id integer REFERENCES country (id) ON DELETE CASCADE,
                   UNIQUE (name, country_id));
CREATE TABLE publisher (id serial PRIMARY KEY, name varchar(256) NOT NULL UNIQUE,
                        is_active boolean DEFAULT false);
CREATE TABLE author (id serial PRIMARY KEY, name varchar(256) NOT NULL UNIQUE,
                     date_of_birth timestamp, city_id integer REFERENCES city (id) ON DELETE CASCADE);
CREATE TABLE shelf (id serial PRIMARY KEY, shelf varchar(256) NOT NULL UNIQUE);
CREATE TABLE subject (id serial PRIMARY KEY, name varchar(256) NOT NULL UNIQUE);
CREATE TABLE language (id serial PRIMARY KEY, code varchar(256) NOT NULL UNIQUE);
CREATE TABLE book (id serial PRIMARY KEY, isbn varchar(256) NOT NULL UNIQUE,
                   title varchar(256) NOT NULL, description varchar(256), copyright varchar(256),
                   tags json, doc json,
                   publisher_id integer REFERENCES publisher (id) ON DELETE CASCADE,
                   publish_date timestamp, point point, polygon polygon);
CREATE TABLE rating (id serial PRIMARY KEY,
                     book_isbn varchar(256) UNIQUE REFERENCES book (isbn) ON DELETE CASCADE,
                     value double precision);
CREATE TABLE book_author (id serial PRIMARY KEY,
                          book_isbn varchar(256) REFERENCES book (isbn) ON DELETE CASCADE,
                          author_id integer REFERENCES author (id) ON DELETE CASCADE,
                          UNIQUE (book_isbn, author_id));
CREATE TABLE book_subject (id serial PRIMARY KEY,
                           book_isbn varchar(256) REFERENCES book (isbn) ON DELETE CASCADE,
                           subject_id integer REFERENCES subject (id) ON DELETE CASCADE,
                           UNIQUE (book_isbn, subject_id));
CREATE TABLE book_language (id serial PRIMARY KEY,
                            book_isbn varchar(256) REFERENCES book (isbn) ON DELETE CASCADE,
                            language_id integer REFERENCES language (id) ON DELETE CASCADE,
                            UNIQUE (book_isbn, language_id));
CREATE TABLE bookshelf (id serial PRIMARY KEY,
                        book_isbn varchar(256) REFERENCES book (isbn) ON DELETE CASCADE,
                        shelf_id integer REFERENCES shelf (id) ON DELETE CASCADE,
                        UNIQUE (book_isbn, shelf_id));

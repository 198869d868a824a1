-- PGSync's "airbnb" example (examples/airbnb/schema.py).
CREATE TABLE "user" (id integer PRIMARY KEY, email varchar(255) UNIQUE);
CREATE TABLE host (id integer PRIMARY KEY, email varchar(255) UNIQUE);
CREATE TABLE country (id integer PRIMARY KEY, name varchar(256) NOT NULL,
                      country_code varchar(256) NOT NULL, UNIQUE (name, country_code));
CREATE TABLE city (id integer PRIMARY KEY, name varchar(256) NOT NULL,
                   country_id integer REFERENCES country (id), UNIQUE (name, country_id));
CREATE TABLE place (id integer PRIMARY KEY, host_id integer REFERENCES host (id),
                    address varchar(256) NOT NULL, city_id integer REFERENCES city (id),
                    UNIQUE (host_id, address, city_id));
CREATE TABLE booking (id integer PRIMARY KEY, user_id integer REFERENCES "user" (id),
                      place_id integer REFERENCES place (id), start_date timestamp,
                      end_date timestamp, price_per_night double precision DEFAULT 0,
                      num_nights integer, UNIQUE (user_id, place_id, start_date));
CREATE TABLE review (id integer PRIMARY KEY, booking_id integer REFERENCES booking (id) UNIQUE,
                     rating smallint, review_body text);

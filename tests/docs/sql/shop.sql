-- PGSync's "shop" example (examples/shop/schema.py): joins named by relationship.foreign_key.
CREATE TABLE shop (id serial PRIMARY KEY, name varchar NOT NULL, city varchar);
CREATE TABLE department (id serial PRIMARY KEY, shop_id integer REFERENCES shop (id),
                         name varchar NOT NULL, floor integer);
CREATE TABLE product (id serial PRIMARY KEY, department_id integer REFERENCES department (id),
                      name varchar NOT NULL, price numeric);

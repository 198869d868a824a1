-- PGSync's "social" example (examples/social/schema.py): three through tables.
CREATE TABLE "user" (id integer PRIMARY KEY, name varchar NOT NULL, age integer, gender varchar);
CREATE TABLE post (id integer PRIMARY KEY, title varchar NOT NULL, slug varchar);
CREATE TABLE comment (id integer PRIMARY KEY, title varchar, content varchar);
CREATE TABLE tag (id integer PRIMARY KEY, name varchar NOT NULL);
CREATE TABLE user_post (id integer PRIMARY KEY, user_id integer REFERENCES "user" (id),
                        post_id integer REFERENCES post (id));
CREATE TABLE post_comment (id integer PRIMARY KEY, post_id integer REFERENCES post (id),
                           comment_id integer REFERENCES comment (id));
CREATE TABLE user_tag (id integer PRIMARY KEY, user_id integer REFERENCES "user" (id),
                       tag_id integer REFERENCES tag (id));

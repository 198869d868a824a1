-- PGSync's "quiz" example: composite keys, one table under two labels.
CREATE TABLE category (id integer, uid varchar, text varchar NOT NULL UNIQUE, PRIMARY KEY (id, uid));
CREATE TABLE question (id integer, uid varchar, category_id integer, category_uid varchar,
                       text varchar NOT NULL UNIQUE, PRIMARY KEY (id, uid),
                       FOREIGN KEY (category_id, category_uid) REFERENCES category (id, uid));
CREATE TABLE answer (id integer, uid varchar, text varchar NOT NULL UNIQUE, PRIMARY KEY (id, uid));
CREATE TABLE possible_answer (
    question_id integer, question_uid varchar, answer_id integer, answer_uid varchar,
    PRIMARY KEY (question_id, question_uid, answer_id, answer_uid),
    FOREIGN KEY (answer_id, answer_uid) REFERENCES answer (id, uid),
    FOREIGN KEY (question_id, question_uid) REFERENCES question (id, uid));
CREATE TABLE real_answer (
    question_id integer, question_uid varchar, answer_id integer, answer_uid varchar,
    PRIMARY KEY (question_id, question_uid, answer_id, answer_uid),
    FOREIGN KEY (answer_id, answer_uid) REFERENCES answer (id, uid),
    FOREIGN KEY (question_id, question_uid) REFERENCES question (id, uid));

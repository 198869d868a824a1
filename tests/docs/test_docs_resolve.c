/* Integration test of docs_schema_resolve() and the --validate plan against a private
 * PostgreSQL 15 (run by resolve.sh, which creates the databases): PGSync's example schemas
 * resolve against tables made from its example models, with the joins, keys, publication
 * tables and REPLICA IDENTITY decisions worked out by hand from those models; every error
 * case gives its exact message with the JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/build.h"
#include "docs/docs.h"
#include "docs_test.h"

static bool db_connect(const char *db, PgConn *c)
{
    PgSettings s;
    DipError err = {0};
    assert_true(pg_settings_from_env(&s, &err));
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "dbname=%s", db);
    s.conninfo = conninfo;
    s.max_retries = 2;
    memset(c, 0, sizeof *c);
    bool ok = pg_connect(c, &s, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    return ok;
}

/* Loads and resolves an example file; fails the test with the message on error. */
static void resolve_file(const char *file, DocsSchema *s, PgConn *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DOCS_EXAMPLES_DIR, file);
    DipError err = {0};
    if (!docs_schema_load(path, s, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
    assert_true(db_connect(s->docs[0].database, c));
    if (!docs_schema_resolve(&s->docs[0], c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
}

static void expect_cols(char *const *cols, size_t n, const char *want)
{
    Buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? "," : "", cols[i]);
    if (strcmp(buf_cstr(&b), want) != 0) {
        fprintf(stderr, "expected columns %s, got %s\n", want, buf_cstr(&b));
        fail();
    }
    buf_free(&b);
}

static void expect_join(const DocsJoin *j, const char *left, const char *right)
{
    expect_cols(j->left_cols, j->ncols, left);
    expect_cols(j->right_cols, j->ncols, right);
}

static void expect_plan_line(const DocsDocument *d, const char *line)
{
    Buf plan;
    buf_init(&plan);
    docs_schema_plan_text(d, &plan);
    if (!strstr(buf_cstr(&plan), line)) {
        fprintf(stderr, "plan lacks the line:\n%s\nplan:\n%s", line, buf_cstr(&plan));
        fail();
    }
    buf_free(&plan);
}

static const DocsNode *by_label(const DocsDocument *d, const char *label)
{
    for (size_t i = 0; i < d->nnodes; i++)
        if (strcmp(d->nodes[i]->label, label) == 0) return d->nodes[i];
    fail_msg("no node labelled %s", label);
    return NULL;
}

static const DocsNode *by_table(const DocsDocument *d, const char *table)
{
    const DocsNode *n = docs_node_find(d, NULL, table, NULL);
    if (!n) fail_msg("no node of table %s", table);
    return n;
}

static void test_book(void **state)
{
    (void)state;
    const char *files[] = {"book.json", "book_plain.json", "geo.json"};
    for (size_t f = 0; f < 3; f++) {
        DocsSchema s;
        PgConn c;
        resolve_file(files[f], &s, &c);
        DocsDocument *d = &s.docs[0];
        assert_true(d->resolved);
        const DocsNode *root = d->root;
        expect_cols(root->rel.key, root->rel.nkey, "id");
        expect_cols(root->id_key, root->nid_key, "id");
        assert_int_equal(root->rel.relkind, 'r');
        assert_string_equal(root->columns[5].output, "doc_firstname");
        assert_string_equal(root->columns[5].type_name, "json");
        assert_string_equal(root->columns[0].type_name, "integer");
        /* publisher: relationship.foreign_key (book.publisher_id = publisher.id) */
        const DocsNode *pub = root->children[0];
        expect_join(&pub->parent_join, "publisher_id", "id");
        assert_null(pub->parent_join.constraint);
        /* book_language as an object child: its FK to book.isbn */
        const DocsNode *bl = by_table(d, "book_language");
        expect_join(&bl->parent_join, "isbn", "book_isbn");
        assert_string_equal(bl->parent_join.constraint, "book_language_book_isbn_fkey");
        assert_false(bl->fk_on_parent);
        /* authors through book_author */
        const DocsNode *au = by_table(d, "author");
        assert_string_equal(au->through.name, "book_author");
        expect_join(&au->parent_join, "isbn", "book_isbn");
        expect_join(&au->child_join, "author_id", "id");
        /* city: the foreign key is on the parent (author.city_id) */
        const DocsNode *city = by_table(d, "city");
        expect_join(&city->parent_join, "city_id", "id");
        assert_true(city->fk_on_parent);
        const DocsNode *lang = by_table(d, "language");
        assert_int_equal(lang->variant, DOCS_VARIANT_SCALAR);
        expect_join(&lang->child_join, "language_id", "id");
        expect_plan_line(d, "publication tables (12): public.book, public.publisher, "
                            "public.book_language, public.author, public.book_author, "
                            "public.city, public.country, public.continent, public.language, "
                            "public.subject, public.book_subject, public.rating\n");
        expect_plan_line(d, "  public.book_language: ALTER TABLE ... REPLICA IDENTITY FULL (now "
                            "DEFAULT): its columns (book_isbn) toward parent book are not all in "
                            "its primary key\n");
        expect_plan_line(d, "  public.book_author: ALTER TABLE ... REPLICA IDENTITY FULL (now "
                            "DEFAULT): its columns (book_isbn) toward book are not all in its "
                            "primary key\n");
        expect_plan_line(d, "  public.rating: ALTER TABLE ... REPLICA IDENTITY FULL (now "
                            "DEFAULT): its columns (book_isbn) toward parent book are not all in "
                            "its primary key\n");
        expect_plan_line(d,
                         "join: book.publisher_id = publisher_label.id (relationship.foreign_key)");
        if (f == 0) {
            expect_plan_line(d, "\n    transform: replace rename mapping\n");
            expect_plan_line(d, "\n        transform: rename concat move mapping\n");
        }
        expect_plan_line(d, "join: book.isbn = book_author.book_isbn (constraint "
                            "book_author_book_isbn_fkey)");
        const DocsTable **t = NULL;
        size_t nt = docs_schema_publication_tables(d, &t);
        size_t nfull = 0;
        for (size_t i = 0; i < nt; i++)
            nfull += t[i]->needs_full;
        free(t);
        assert_int_equal(nfull, 4); /* book_language, book_author, book_subject, rating */
        assert_false(au->rel.needs_full || city->rel.needs_full || root->rel.needs_full);
        if (d->warnings) fprintf(stderr, "%s", d->warnings);
        assert_null(d->warnings); /* every name in the example's transforms is a field */
        pg_close(&c);
        docs_schema_free(&s);
    }
}

static void test_small_examples(void **state)
{
    (void)state;
    DocsSchema s;
    PgConn c;
    /* node: a self-referencing table, the child row references the parent row */
    resolve_file("node.json", &s, &c);
    const DocsDocument *d = &s.docs[0];
    expect_join(&d->nodes[1]->parent_join, "id", "node_id");
    expect_join(&d->nodes[2]->parent_join, "id", "node_id");
    assert_true(d->root->columns_all);
    assert_int_equal(d->root->ncolumns, 3); /* id, name, node_id (no ctid, xmin ...) */
    assert_string_equal(d->root->columns[2].output, "node_id");
    /* resolving again gives the same tree (and frees what the first resolve filled) */
    DipError err = {0};
    assert_true(docs_schema_resolve(&s.docs[0], &c, &err));
    assert_int_equal(d->root->ncolumns, 3);
    expect_join(&d->nodes[2]->parent_join, "id", "node_id");
    expect_plan_line(d, "  public.node: ALTER TABLE ... REPLICA IDENTITY FULL (now DEFAULT): "
                        "its columns (node_id) toward parent node are not all in its primary "
                        "key\n");
    pg_close(&c);
    docs_schema_free(&s);
    /* schemas: parent and child in two schemas */
    resolve_file("schemas.json", &s, &c);
    d = &s.docs[0];
    expect_join(&d->nodes[1]->parent_join, "id", "parent_id");
    expect_plan_line(d, "publication tables (2): parent.parent, child.child\n");
    pg_close(&c);
    docs_schema_free(&s);
    /* through_schemas: the through table in a third schema */
    resolve_file("through_schemas.json", &s, &c);
    d = &s.docs[0];
    assert_string_equal(d->nodes[1]->through.schema, "child_to_parent");
    expect_join(&d->nodes[1]->parent_join, "id", "parent_id");
    expect_join(&d->nodes[1]->child_join, "child_id", "id");
    expect_plan_line(d, "publication tables (3): parent.parent, child.child, "
                        "child_to_parent.child_to_parent\n");
    pg_close(&c);
    docs_schema_free(&s);
    /* ancestry: the child references the through table's key */
    resolve_file("ancestry.json", &s, &c);
    d = &s.docs[0];
    expect_join(&d->nodes[1]->parent_join, "id", "parent_id");
    expect_join(&d->nodes[1]->child_join, "id", "parent_id");
    assert_true(d->nodes[1]->through.needs_full);
    assert_true(d->nodes[1]->rel.needs_full);
    pg_close(&c);
    docs_schema_free(&s);
    /* quiz: composite keys, one table under two labels, keys within the through tables */
    resolve_file("quiz.json", &s, &c);
    d = &s.docs[0];
    expect_cols(d->root->id_key, d->root->nid_key, "id,uid");
    const DocsNode *pa = by_label(d, "possible_answers"), *ra = by_label(d, "real_answers");
    assert_string_equal(pa->table, "answer");
    assert_string_equal(ra->table, "answer");
    expect_join(&pa->parent_join, "id,uid", "question_id,question_uid");
    expect_join(&pa->child_join, "answer_id,answer_uid", "id,uid");
    assert_string_equal(ra->through.name, "real_answer");
    expect_plan_line(d, "  no change needed: join columns are within primary keys or already "
                        "FULL\n");
    pg_close(&c);
    docs_schema_free(&s);
    /* book_view: views with primary_key and base_tables */
    resolve_file("book_view.json", &s, &c);
    d = &s.docs[0];
    assert_int_equal(d->root->rel.relkind, 'v');
    expect_cols(d->root->rel.key, d->root->rel.nkey, "id");
    assert_string_equal(d->root->bases[0].name, "book");
    expect_join(&d->nodes[1]->parent_join, "publisher_id", "id");
    expect_plan_line(d, "publication tables (2): public.book, public.publisher\n");
    expect_plan_line(d, "\n    stream: a view is not published; its base tables are: book\n");
    expect_plan_line(d, "  public.book: ALTER TABLE ... REPLICA IDENTITY FULL (now DEFAULT): "
                        "base table of view public.book_view: its changes are mapped to the "
                        "view's rows by old values of any column\n");
    pg_close(&c);
    docs_schema_free(&s);
}

static size_t count_full(const DocsDocument *d)
{
    const DocsTable **t = NULL;
    size_t nt = docs_schema_publication_tables(d, &t), nfull = 0;
    for (size_t i = 0; i < nt; i++)
        nfull += t[i]->needs_full;
    free(t);
    return nfull;
}

/* airbnb, shop, social, starcraft (rental and airline need PostgreSQL's sample databases
 * dvdrental and demo, which are not here: they are parsed only). */
static void test_more_examples(void **state)
{
    (void)state;
    DocsSchema s;
    PgConn c;
    resolve_file("airbnb.json", &s, &c);
    const DocsDocument *d = &s.docs[0];
    assert_true(d->root->columns_all);
    expect_cols(d->root->id_key, d->root->nid_key, "id");
    expect_join(&by_table(d, "booking")->parent_join, "id", "user_id");
    expect_join(&by_table(d, "place")->parent_join, "place_id", "id");
    assert_true(by_table(d, "place")->fk_on_parent);
    expect_join(&by_table(d, "host")->parent_join, "host_id", "id");
    expect_join(&by_table(d, "review")->parent_join, "id", "booking_id");
    expect_plan_line(d, "publication tables (7): public.user, public.booking, public.place, "
                        "public.city, public.country, public.host, public.review\n");
    assert_int_equal(count_full(d), 2); /* booking (user_id), review (booking_id) */
    pg_close(&c);
    docs_schema_free(&s);
    resolve_file("shop.json", &s, &c);
    d = &s.docs[0];
    expect_join(&by_label(d, "departments")->parent_join, "id", "shop_id");
    expect_join(&by_label(d, "products")->parent_join, "id", "department_id");
    assert_int_equal(count_full(d), 2);
    pg_close(&c);
    docs_schema_free(&s);
    resolve_file("social.json", &s, &c);
    d = &s.docs[0];
    expect_join(&by_label(d, "tags")->child_join, "tag_id", "id");
    expect_join(&by_label(d, "comments")->parent_join, "id", "post_id");
    expect_join(&by_label(d, "comments")->child_join, "comment_id", "id");
    assert_int_equal(count_full(d), 3); /* the three through tables */
    pg_close(&c);
    docs_schema_free(&s);
    resolve_file("starcraft.json", &s, &c);
    d = &s.docs[0];
    expect_join(&by_label(d, "units")->parent_join, "id", "specie_id");
    expect_join(&by_label(d, "structure")->parent_join, "id", "specie_id");
    expect_plan_line(d, "join: specie.id = units.specie_id (relationship.foreign_key)");
    pg_close(&c);
    docs_schema_free(&s);
}

/* Opens a builder of d (by keys, or by ranges) on a new connection to d's database and
 * expects the session's random_page_cost to be want. */
static void expect_random_page_cost(const DocsDocument *d, bool by_keys, const char *want)
{
    PgConn c;
    DipError err = {0};
    assert_true(db_connect(d->database, &c));
    DocsBuilder *b = NULL;
    bool ok = by_keys ? docs_builder_open_keys(d, &c, "UTC", NULL, &b, &err)
                      : docs_builder_open(d, &c, "UTC", NULL, &b, &err);
    if (!ok) fail_msg("%s", err.msg);
    PGresult *r = NULL;
    assert_true(pg_query(&c, "SHOW random_page_cost", 0, NULL, &r, &err));
    if (strcmp(pg_value(r, 0, 0), want) != 0)
        fail_msg("random_page_cost of a %s builder: %s, expected %s", by_keys ? "key" : "range",
                 pg_value(r, 0, 0), want);
    pg_result_free(r);
    docs_builder_close(b);
    pg_close(&c);
}

/* The benchmark's books schema (../shared), when present. */
static void test_bench_books(void **state)
{
    (void)state;
    const char *path = getenv("DOCS_BOOKS_SCHEMA");
    if (!path) skip();
    DocsSchema s;
    DipError err = {0};
    assert_true(docs_schema_load(path, &s, &err));
    PgConn c;
    assert_true(db_connect("books", &c));
    if (!docs_schema_resolve(&s.docs[0], &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
    expect_cols(s.docs[0].root->id_key, s.docs[0].root->nid_key, "isbn");
    pg_close(&c);
    /* the change stream's builder plans for cached key lookups unless someone chose a
     * random_page_cost (sql/docs_keys_planner.sql); the initial load's keeps the server's */
    expect_random_page_cost(&s.docs[0], true, "1.1");
    expect_random_page_cost(&s.docs[0], false, "4");
    assert_true(db_connect("books", &c));
    assert_true(pg_exec(&c, "ALTER DATABASE books SET random_page_cost = 3", &err));
    expect_random_page_cost(&s.docs[0], true, "3");
    assert_true(pg_exec(&c, "ALTER DATABASE books RESET random_page_cost", &err));
    pg_close(&c);
    docs_schema_free(&s);
}

/* Resolves `nodes` (with extra top-level keys `top`) in database neg; expects msg exactly
 * (msg NULL: success, the document is returned in *out for more checks). */
static void neg_case(const char *top, const char *nodes, const char *msg, DocsSchema *out)
{
    Buf b;
    buf_init(&b);
    buf_printf(&b, "[{'database': 'neg', %s'nodes': %s}]", top, nodes);
    char *t = jq(buf_cstr(&b));
    buf_free(&b);
    DocsSchema s;
    DipError err = {0};
    bool ok = docs_schema_parse(t, strlen(t), "t.json", &s, &err);
    if (!ok) fprintf(stderr, "parse: %s\n", err.msg);
    assert_true(ok);
    PgConn c;
    assert_true(db_connect("neg", &c));
    ok = docs_schema_resolve(&s.docs[0], &c, &err);
    pg_close(&c);
    bool bad = msg ? ok || strcmp(err.msg, msg) != 0 : !ok;
    if (bad)
        fprintf(stderr, "input:    %s\nexpected: %s\ngot:      %s\n", t, msg ? msg : "(success)",
                ok ? "(success)" : err.msg);
    free(t);
    if (bad) fail();
    if (msg) assert_int_equal(err.kind, DIP_ERR_CONFIG);
    if (out)
        *out = s;
    else
        docs_schema_free(&s);
}

#define REL(type) "'relationship': {'variant': 'object', 'type': '" type "'"
#define A_WITH(child) "{'table': 'a', 'children': [" child "]}"

static void test_resolve_errors(void **state)
{
    (void)state;
    neg_case("", "{'table': 'zz'}",
             "t.json: [0].nodes.table: relation public.zz does not exist in database \"neg\"",
             NULL);
    neg_case("", "{'table': 'a', 'schema': 'nos'}",
             "t.json: [0].nodes.table: schema \"nos\" does not exist in database \"neg\"", NULL);
    neg_case("", "{'table': 's'}",
             "t.json: [0].nodes.table: public.s is a sequence: expected a table, a view or a "
             "materialized view",
             NULL);
    neg_case("", "{'table': 'a', 'columns': ['id', 'nam']}",
             "t.json: [0].nodes.columns[1]: column \"nam\" does not exist in public.a (it has: "
             "id, name, doc, txt)",
             NULL);
    neg_case("", "{'table': 'a', 'columns': ['txt->x']}",
             "t.json: [0].nodes.columns[0]: \"txt->x\" applies JSON operators to column \"txt\" "
             "of type text: expected json or jsonb",
             NULL);
    neg_case("", "{'table': 'nopk'}",
             "t.json: [0].nodes.table: table public.nopk has no primary key: add one, or name "
             "its key columns with \"primary_key\"",
             NULL);
    neg_case("", "{'table': 'v'}",
             "t.json: [0].nodes.table: view public.v has no primary key: add one, or name its "
             "key columns with \"primary_key\"",
             NULL);
    neg_case("", "{'table': 'mv'}",
             "t.json: [0].nodes.table: materialized view public.mv has no primary key: add one, "
             "or name its key columns with \"primary_key\"",
             NULL);
    neg_case("", "{'table': 'v', 'primary_key': ['idd']}",
             "t.json: [0].nodes.primary_key[0]: column \"idd\" does not exist in public.v (it "
             "has: id, name, doc, txt)",
             NULL);
    neg_case("", "{'table': 'v', 'primary_key': ['id'], 'base_tables': ['nopk']}",
             "t.json: [0].nodes.base_tables[0]: no primary key for base table public.nopk", NULL);
    neg_case("", "{'table': 'v', 'primary_key': ['id'], 'base_tables': ['zz']}",
             "t.json: [0].nodes.base_tables[0]: relation public.zz does not exist in database "
             "\"neg\"",
             NULL);
    neg_case("", A_WITH("{'table': 'b', " REL("one_to_many") "}}"),
             "t.json: [0].nodes.children[0].relationship: 2 foreign keys between public.a and "
             "public.b (b_a2_id_fkey, b_a_id_fkey): choose one with relationship.foreign_key",
             NULL);
    neg_case("", A_WITH("{'table': 't_nokeys', " REL("one_to_many") "}}"),
             "t.json: [0].nodes.children[0].relationship: no foreign key between public.a and "
             "public.t_nokeys (either direction): add one, or name the join with "
             "relationship.foreign_key",
             NULL);
    neg_case("", A_WITH("{'table': 'c', " REL("one_to_many") ", 'through_tables': ['t_nokeys']}}"),
             "t.json: [0].nodes.children[0].relationship.through_tables[0]: no foreign key "
             "between public.a and public.t_nokeys (either direction): add one, or name the join "
             "with relationship.foreign_key",
             NULL);
    neg_case("", A_WITH("{'table': 'c', " REL("one_to_many") ", 'through_tables': ['nothere']}}"),
             "t.json: [0].nodes.children[0].relationship.through_tables[0]: relation "
             "public.nothere does not exist in database \"neg\"",
             NULL);
    neg_case("",
             A_WITH("{'table': 'b', " REL("one_to_many") ", 'foreign_key': {'parent': ['idx'], "
                                                         "'child': ['a2_id']}}}"),
             "t.json: [0].nodes.children[0].relationship.foreign_key.parent[0]: column \"idx\" "
             "does not exist in public.a (it has: id, name, doc, txt)",
             NULL);
    neg_case("",
             A_WITH("{'table': 'b', " REL("one_to_many") ", 'foreign_key': {'parent': ['id'], "
                                                         "'child': ['zz']}}}"),
             "t.json: [0].nodes.children[0].relationship.foreign_key.child[0]: column \"zz\" "
             "does not exist in public.b (it has: id, a_id, a2_id)",
             NULL);
    neg_case("", A_WITH("{'table': 'v', 'primary_key': ['id'], " REL("one_to_one") "}}"),
             "t.json: [0].nodes.children[0].relationship: public.v is a view and has no foreign "
             "keys: name the join with relationship.foreign_key {\"parent\": [...], \"child\": "
             "[...]}",
             NULL);
    neg_case("", A_WITH("{'table': 'c', 'label': 'name', " REL("one_to_many") "}}"),
             "t.json: [0].nodes.children[0].label: \"name\" is also a column of public.a: the "
             "child object and the column would share one field (choose another label)",
             NULL);
    neg_case("'routing': 'zzz', ", "{'table': 'a', 'transform': {'rename': {'name': 'n'}}}",
             "t.json: [0].routing: \"zzz\" is not a field of the root document (its columns "
             "after rename and concat)",
             NULL);
    neg_case("'routing': 'name', ", "{'table': 'a', 'transform': {'rename': {'name': 'n'}}}",
             "t.json: [0].routing: \"name\" is not a field of the root document (its columns "
             "after rename and concat)",
             NULL);
    neg_case("",
             A_WITH("{'table': 'c', 'relationship': {'variant': 'scalar', 'type': "
                    "'one_to_many'}}"),
             "t.json: [0].nodes.children[0].columns: a scalar node's value is one column: name "
             "it in \"columns\" (public.c has 3)",
             NULL);
    /* self reference through a table with two keys to it: ambiguous without foreign_key */
    neg_case("",
             "{'table': 'self', 'children': [{'table': 'self', 'label': 'friends', " REL(
                 "one_to_many") ", 'through_tables': ['friend']}}]}",
             "t.json: [0].nodes.children[0].relationship.through_tables[0]: 2 foreign keys "
             "between public.self and public.friend (friend_friend_id_fkey, "
             "friend_user_id_fkey): choose one with relationship.foreign_key",
             NULL);
}

static void test_resolve_successes(void **state)
{
    (void)state;
    DocsSchema s;
    /* foreign_key chooses one of two candidate keys */
    neg_case("",
             A_WITH("{'table': 'b', " REL("one_to_many") ", 'foreign_key': {'parent': ['id'], "
                                                         "'child': ['a2_id']}}}"),
             NULL, &s);
    expect_join(&s.docs[0].nodes[1]->parent_join, "id", "a2_id");
    docs_schema_free(&s);
    /* the same through table joins a self-referencing table once foreign_key names sides */
    neg_case("",
             "{'table': 'self', 'children': [{'table': 'self', 'label': 'friends', " REL(
                 "one_to_many") ", 'through_tables': ['friend'], 'foreign_key': {'parent': "
                                "['user_id'], 'child': ['friend_id']}}}]}",
             NULL, &s);
    const DocsNode *fr = s.docs[0].nodes[1];
    expect_join(&fr->parent_join, "id", "user_id");
    expect_join(&fr->child_join, "friend_id", "id");
    assert_false(fr->through.needs_full); /* both columns are in friend's key */
    docs_schema_free(&s);
    /* a table without a primary key, keyed by primary_key: FULL, as nothing identifies its
     * old rows otherwise; c is already FULL; a table in another schema */
    neg_case(
        "",
        A_WITH("{'table': 'nopk', 'primary_key': ['x'], " REL(
            "one_to_many") "}}, {'table': "
                           "'c', " REL("one_to_many") "}}, {'table': 'd', 'schema': 'other', " REL(
                               "one_to_one") "}}"),
        NULL, &s);
    const DocsDocument *d = &s.docs[0];
    assert_true(d->nodes[1]->rel.needs_full);
    expect_plan_line(d, "  public.nopk: ALTER TABLE ... REPLICA IDENTITY FULL (now DEFAULT): no "
                        "primary key in the catalog: old rows carry no key otherwise\n");
    expect_plan_line(d, "  public.c: FULL needed, already FULL (its columns (a_id) toward "
                        "parent a are not all in its primary key)\n");
    expect_join(&d->nodes[3]->parent_join, "id", "a_id");
    expect_plan_line(d, "publication tables (4): public.a, public.nopk, public.c, other.d\n");
    docs_schema_free(&s);
    /* JSON path columns on jsonb, link through with keys in its primary key */
    neg_case("", A_WITH("{'table': 'c', " REL("one_to_many") ", 'through_tables': ['link']}}"),
             NULL, &s);
    expect_join(&s.docs[0].nodes[1]->parent_join, "id", "a_id");
    expect_join(&s.docs[0].nodes[1]->child_join, "c_id", "id");
    assert_false(s.docs[0].nodes[1]->through.needs_full);
    docs_schema_free(&s);
    /* names in transforms that match no field: warnings, in the plan too */
    neg_case("",
             "{'table': 'a', 'columns': ['id', 'name'], 'transform': {'rename': {'idd': 'x', "
             "'name': 'n', 'kids': {'a': 'b'}}, 'replace': {'nam': {'a': 'b'}, 'kids': {'a': "
             "{'b': 'c'}}}, 'move': {'column': 'nope', 'destination': 'y'}, 'mapping': {'n': "
             "{'type': 'text'}, 'zzz': {'type': 'long'}}}, 'children': [{'table': 'c', 'label': "
             "'kids', 'columns': ['label'], " REL("one_to_many") "}}]}",
             NULL, &s);
    assert_string_equal(s.docs[0].warnings,
                        "t.json: [0].nodes.transform.rename.idd: \"idd\" is no field of a: "
                        "ignored\n"
                        "t.json: [0].nodes.transform.replace.nam: \"nam\" is no field of a: "
                        "ignored\n"
                        "t.json: [0].nodes.transform.move.column: \"nope\" is no field of a: "
                        "nothing moves\n"
                        "t.json: [0].nodes.transform.mapping.zzz: \"zzz\" is no field of a and "
                        "no plugin could add it: mapped, never filled\n");
    expect_plan_line(&s.docs[0], "warnings:\nt.json: [0].nodes.transform.rename.idd: ");
    docs_schema_free(&s);
    neg_case("", "{'table': 'mv', 'primary_key': ['id']}", NULL, &s);
    expect_plan_line(&s.docs[0], "\n    stream: a materialized view is not published; without "
                                 "base_tables its changes are not streamed\n");
    docs_schema_free(&s);
    neg_case("", "{'table': 'a', 'columns': ['id', 'doc->x', 'doc#>>{a,0}']}", NULL, &s);
    assert_string_equal(s.docs[0].root->columns[2].output, "doc_a,0");
    assert_string_equal(s.docs[0].root->columns[2].type_name, "jsonb");
    docs_schema_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_book),           cmocka_unit_test(test_small_examples),
        cmocka_unit_test(test_more_examples),  cmocka_unit_test(test_bench_books),
        cmocka_unit_test(test_resolve_errors), cmocka_unit_test(test_resolve_successes),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("%d passed, %d failed\n", (int)(sizeof tests / sizeof tests[0]) - failed, failed);
    return failed ? 1 : 0;
}

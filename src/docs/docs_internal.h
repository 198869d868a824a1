/*
 * docs_internal.h: helpers shared by the docs module's files (not part of its public face).
 */
#ifndef DIP_DOCS_INTERNAL_H
#define DIP_DOCS_INTERNAL_H

#include "docs/docs.h"

/* JSON paths in messages ("[0].nodes.children[2].relationship.type"): push returns a mark
 * that pop restores. */
size_t docs_path_push_key(Buf *path, const char *key);
size_t docs_path_push_index(Buf *path, size_t i);
void docs_path_pop(Buf *path, size_t mark);
/* "an object", "a string", ... for messages. */
const char *docs_json_type_name(const json_t *v);
/* PGSync's $VAR substitution of a top-level string (malloc'ed result). */
char *docs_env_substitute(const char *s);
void docs_table_free(DocsTable *t);
void docs_column_free(DocsColumn *c);
/* Python's str() of a float, as PGSync's concat prints numbers ("2.5", "1e+16", "3.0"). */
void docs_py_float_str(double v, Buf *out);
void docs_node_clear_resolved(DocsNode *n);

#endif /* DIP_DOCS_INTERNAL_H */

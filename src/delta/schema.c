/*
 * schema.c: the table schema from metaData.schemaString (PROTOCOL.md "Schema Serialization
 * Format", "Column Mapping", "Timestamp without timezone").
 *
 * The logical schema (DipSchema, display names) drives output; a parallel DeltaFieldMap tree
 * keeps each field's physical name and column-mapping id so the scan can find the column in
 * a data file by physical name (name mode) or Parquet field_id (id mode).
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

bool delta_type_parse_primitive(const char *name, DipType *t)
{
    memset(t, 0, sizeof *t);
    static const struct {
        const char *name;
        DipTypeId id;
    } prims[] = {
        {"string", DT_STRING}, {"long", DT_INT64},  {"integer", DT_INT32}, {"short", DT_INT16},
        {"byte", DT_INT8},     {"float", DT_FLOAT}, {"double", DT_DOUBLE}, {"boolean", DT_BOOL},
        {"binary", DT_BINARY}, {"date", DT_DATE},   {"void", DT_NULL},
    };
    for (size_t i = 0; i < DIP_ARRAY_LEN(prims); i++) {
        if (strcmp(name, prims[i].name) == 0) {
            t->id = prims[i].id;
            return true;
        }
    }
    if (strcmp(name, "timestamp") == 0 || strcmp(name, "timestamp_ntz") == 0) {
        t->id = DT_TIMESTAMP;
        t->unit = TU_MICROS;
        t->utc = strcmp(name, "timestamp") == 0;
        return true;
    }
    if (strcmp(name, "decimal") == 0) { /* Spark's default */
        t->id = DT_DECIMAL;
        t->precision = 10;
        t->scale = 0;
        return true;
    }
    int p = -1, s = -1;
    char tail = 0;
    if (strncmp(name, "decimal(", 8) == 0) {
        const char *q = name + 8;
        char *e;
        long lp = strtol(q, &e, 10);
        if (e == q || *e != ',') return false;
        q = e + 1;
        while (*q == ' ')
            q++;
        long ls = strtol(q, &e, 10);
        if (e == q || *e != ')' || e[1] != '\0') return false;
        p = (int)lp;
        s = (int)ls;
        (void)tail;
        if (p < 1 || p > 38 || s < 0 || s > p) return false;
        t->id = DT_DECIMAL;
        t->precision = p;
        t->scale = s;
        return true;
    }
    return false;
}

static bool parse_type(Arena *a, json_t *jt, DipType *t, DeltaFieldMap *fm, int depth,
                       const char *where, DipError *err);

static bool parse_field(Arena *a, json_t *jf, DipField *f, DeltaFieldMap *fm, int depth,
                        DipError *err)
{
    const char *name = json_string_value(json_object_get(jf, "name"));
    if (!json_is_object(jf) || !name)
        return dip_error_set(err, DIP_ERR_DATA, "schemaString: a field without a name");
    f->name = arena_strdup(a, name);
    json_t *nl = json_object_get(jf, "nullable");
    f->nullable = nl ? json_is_true(nl) : true;
    f->field_id = -1;
    fm->physical = f->name;
    fm->id = -1;
    json_t *md = json_object_get(jf, "metadata");
    if (json_is_object(md)) {
        const char *pn = json_string_value(json_object_get(md, "delta.columnMapping.physicalName"));
        if (pn) fm->physical = arena_strdup(a, pn);
        json_t *id = json_object_get(md, "delta.columnMapping.id");
        if (json_is_integer(id) && json_integer_value(id) >= 0 &&
            json_integer_value(id) <= INT32_MAX) {
            fm->id = (int32_t)json_integer_value(id);
            f->field_id = fm->id;
        }
    }
    return parse_type(a, json_object_get(jf, "type"), &f->type, fm, depth + 1, f->name, err);
}

static bool parse_type(Arena *a, json_t *jt, DipType *t, DeltaFieldMap *fm, int depth,
                       const char *where, DipError *err)
{
    memset(t, 0, sizeof *t);
    if (depth > 64)
        return dip_error_set(err, DIP_ERR_DATA, "schemaString: nesting deeper than 64 at %s",
                             where);
    if (json_is_string(jt)) {
        const char *n = json_string_value(jt);
        if (!delta_type_parse_primitive(n, t))
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "schemaString: column %s has type \"%s\", which dip does "
                                 "not support",
                                 where, n);
        return true;
    }
    if (!json_is_object(jt))
        return dip_error_set(err, DIP_ERR_DATA, "schemaString: column %s has no type", where);
    const char *kind = json_string_value(json_object_get(jt, "type"));
    if (!kind)
        return dip_error_set(err, DIP_ERR_DATA,
                             "schemaString: column %s: type without "
                             "\"type\"",
                             where);
    if (strcmp(kind, "struct") == 0) {
        json_t *fields = json_object_get(jt, "fields");
        if (!json_is_array(fields))
            return dip_error_set(err, DIP_ERR_DATA, "schemaString: struct %s without fields",
                                 where);
        size_t n = json_array_size(fields);
        if (n > 100000)
            return dip_error_set(err, DIP_ERR_DATA, "schemaString: struct %s has %zu fields", where,
                                 n);
        t->id = DT_STRUCT;
        t->nchildren = (int)n;
        t->children = arena_calloc(a, n ? n : 1, sizeof(DipField));
        fm->nchildren = (int)n;
        fm->children = arena_calloc(a, n ? n : 1, sizeof(DeltaFieldMap));
        for (size_t i = 0; i < n; i++)
            if (!parse_field(a, json_array_get(fields, i), &t->children[i], &fm->children[i], depth,
                             err))
                return false;
        return true;
    }
    if (strcmp(kind, "array") == 0) {
        t->id = DT_LIST;
        t->nchildren = 1;
        t->children = arena_calloc(a, 1, sizeof(DipField));
        fm->nchildren = 1;
        fm->children = arena_calloc(a, 1, sizeof(DeltaFieldMap));
        DipField *e = &t->children[0];
        e->name = arena_strdup(a, "element");
        e->field_id = -1;
        json_t *cn = json_object_get(jt, "containsNull");
        e->nullable = cn ? json_is_true(cn) : true;
        fm->children[0].physical = e->name;
        fm->children[0].id = -1;
        return parse_type(a, json_object_get(jt, "elementType"), &e->type, &fm->children[0],
                          depth + 1, where, err);
    }
    if (strcmp(kind, "map") == 0) {
        t->id = DT_MAP;
        t->nchildren = 2;
        t->children = arena_calloc(a, 2, sizeof(DipField));
        fm->nchildren = 2;
        fm->children = arena_calloc(a, 2, sizeof(DeltaFieldMap));
        static const char *names[2] = {"key", "value"};
        static const char *keys[2] = {"keyType", "valueType"};
        for (int i = 0; i < 2; i++) {
            DipField *c = &t->children[i];
            c->name = arena_strdup(a, names[i]);
            c->field_id = -1;
            c->nullable = i == 0 ? false : !json_is_false(json_object_get(jt, "valueContainsNull"));
            fm->children[i].physical = c->name;
            fm->children[i].id = -1;
            if (!parse_type(a, json_object_get(jt, keys[i]), &c->type, &fm->children[i], depth + 1,
                            where, err))
                return false;
        }
        return true;
    }
    return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                         "schemaString: column %s has type \"%s\", which dip does not support",
                         where, kind);
}

bool delta_schema_parse(Arena *a, const char *schema_string, DipSchema **schema,
                        DeltaFieldMap **fmap, DipError *err)
{
    json_error_t jerr;
    json_t *root = json_loads(schema_string, 0, &jerr);
    if (!root)
        return dip_error_set(err, DIP_ERR_DATA, "schemaString: malformed JSON: %s (column %d)",
                             jerr.text, jerr.column);
    bool ok = true;
    const char *kind = json_string_value(json_object_get(root, "type"));
    json_t *fields = json_object_get(root, "fields");
    if (!kind || strcmp(kind, "struct") != 0 || !json_is_array(fields)) {
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "schemaString: top level is not a struct with "
                           "fields");
    } else {
        DipType top;
        DeltaFieldMap topm = {0};
        ok = parse_type(a, root, &top, &topm, 0, "<table>", err);
        if (ok) {
            DipSchema *s = arena_calloc(a, 1, sizeof *s);
            s->nfields = top.nchildren;
            s->fields = top.children;
            *schema = s;
            *fmap = topm.children;
            /* names must be unique regardless of case (PROTOCOL.md); duplicates would make
             * output keys ambiguous */
            for (int i = 0; i < s->nfields && ok; i++)
                for (int j = i + 1; j < s->nfields && ok; j++)
                    if (strcasecmp(s->fields[i].name, s->fields[j].name) == 0)
                        ok = dip_error_set(err, DIP_ERR_DATA,
                                           "schemaString: column name %s appears twice",
                                           s->fields[i].name);
        }
    }
    json_decref(root);
    return ok;
}

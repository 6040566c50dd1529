/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp_rows.c -- records as typed rows.
 *
 * The schema is sampled from records: one column per top-level field, in
 * the order fields first appear.  A field's type is the one its values
 * share: boolean, integer (int64), number (double; integers too), string
 * (text), object or array (json, the value as JSON text); values of
 * different kinds make a json column ("mixed"); a field seen only as null
 * is text.  Every column is nullable: a record may omit a field.
 *
 * A record is flattened by that schema: a value goes in its own cell type
 * when the host's rule (dsrc_cell_fits) lets it stand in its column, a
 * json column's value is its JSON text.  A record with a field the sample
 * did not show, or a value that does not fit (a string where the sample
 * had integers), fails the fetch naming the field, the record's number and
 * both types: nothing is dropped or coerced silently.
 */
#include "hp.h"

/* The cell type of a JSON value (DSRC_T_NULL for null). */
static dsrc_type hp_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return DSRC_T_BOOL;
    case JSON_INTEGER:
        return DSRC_T_INT64;
    case JSON_REAL:
        return DSRC_T_DOUBLE;
    case JSON_STRING:
        return DSRC_T_TEXT;
    case JSON_OBJECT:
    case JSON_ARRAY:
        return DSRC_T_JSON;
    default:
        return DSRC_T_NULL;
    }
}

/* The JSON kind of a value, as native types and messages name it. */
static const char *hp_kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    default:
        return "null";
    }
}

long hp_schema_find(const hp_schema *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Merge a value into column `col` (type DSRC_T_NULL: none seen yet). */
static void hp_merge(dsrc_column *col, const json_t *v)
{
    dsrc_type t = hp_type_of(v);
    const char *kind = hp_kind_of(v);

    if (t == DSRC_T_NULL)
        return;
    if (col->type == DSRC_T_NULL) {
        col->type = t;
        col->native_type = kind;
    } else if (col->type == t) {
        if (strcmp(col->native_type, kind) != 0)
            col->native_type = "json"; /* objects and arrays */
    } else if ((col->type == DSRC_T_DOUBLE && t == DSRC_T_INT64) ||
               (col->type == DSRC_T_INT64 && t == DSRC_T_DOUBLE)) {
        col->type = DSRC_T_DOUBLE;
        col->native_type = "number";
    } else {
        col->type = DSRC_T_JSON;
        col->native_type = "mixed";
    }
}

void hp_schema_sample(hp_schema *s, json_t *records)
{
    size_t i;
    json_t *rec;

    json_array_foreach(records, i, rec) {
        const char *key;
        json_t *v;

        if (!json_is_object(rec))
            continue;
        json_object_foreach(rec, key, v) {
            long k = hp_schema_find(s, key);
            if (k < 0) {
                if (s->n == s->cap) {
                    size_t cap = s->cap ? s->cap * 2 : 16;
                    dsrc_column *nc = realloc(s->cols, cap * sizeof *nc);
                    if (!nc) {
                        s->failed = 1;
                        return;
                    }
                    s->cols = nc;
                    s->cap = cap;
                }
                memset(&s->cols[s->n], 0, sizeof s->cols[s->n]);
                s->cols[s->n].name = dsrc_strdup(key);
                s->cols[s->n].native_type = "null";
                s->cols[s->n].nullable = 1;
                if (!s->cols[s->n].name) {
                    s->failed = 1;
                    return;
                }
                k = (long)s->n++;
            }
            hp_merge(&s->cols[k], v);
        }
    }
}

void hp_schema_done(hp_schema *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (s->cols[i].type == DSRC_T_NULL)
            s->cols[i].type = DSRC_T_TEXT;
}

void hp_schema_free(hp_schema *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free((void *)s->cols[i].name);
    free(s->cols);
    free(s->offs);
    memset(s, 0, sizeof *s);
}

static int hp_dump_cb(const char *buf, size_t size, void *data)
{
    dsrc_buf_addn(data, buf, size);
    return ((dsrc_buf *)data)->failed ? -1 : 0;
}

dsrc_status hp_row(hp_schema *s, const size_t *idx, size_t n, json_t *rec, uint64_t recno,
                   dsrc_cell *cells, dsrc_buf *scratch, const char *item, dsrc_error *err)
{
    const char *key;
    json_t *v;
    size_t k;

    if (!s->offs && !(s->offs = calloc(n ? n : 1, sizeof *s->offs)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (!json_is_object(rec))
        return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                              "item '%s': record %llu is a JSON %s, not an object", item,
                              (unsigned long long)recno, hp_kind_of(rec));
    json_object_foreach(rec, key, v) {
        if (hp_schema_find(s, key) < 0)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                                  "item '%s': record %llu has the field '%s' (%s) that the "
                                  "schema sampled from the first pages does not have "
                                  "(raise sample_pages, or fetch it raw)",
                                  item, (unsigned long long)recno, key, hp_kind_of(v));
    }
    for (k = 0; k < n; k++) {
        const dsrc_column *col = &s->cols[idx[k]];
        dsrc_type t;

        v = json_object_get(rec, col->name);
        t = v ? hp_type_of(v) : DSRC_T_NULL;
        memset(&cells[k], 0, sizeof cells[k]);
        cells[k].type = t;
        if (t == DSRC_T_NULL)
            continue;
        if (col->type == DSRC_T_JSON || t == DSRC_T_JSON) {
            if (!dsrc_cell_fits(col->type, DSRC_T_JSON))
                goto misfit;
            cells[k].type = DSRC_T_JSON;
            s->offs[k] = scratch->len;
            json_dump_callback(v, hp_dump_cb, scratch, JSON_COMPACT | JSON_ENCODE_ANY);
            cells[k].v.s.len = scratch->len - s->offs[k];
            continue;
        }
        if (!dsrc_cell_fits(col->type, t))
            goto misfit;
        switch (t) {
        case DSRC_T_BOOL:
            cells[k].v.b = json_is_true(v);
            break;
        case DSRC_T_INT64:
            cells[k].v.i = (int64_t)json_integer_value(v);
            break;
        case DSRC_T_DOUBLE:
            cells[k].v.d = json_real_value(v);
            break;
        default:
            cells[k].v.s.ptr = json_string_value(v);
            cells[k].v.s.len = json_string_length(v);
            break;
        }
        continue;
misfit:
        return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                              "item '%s': field '%s' of record %llu is a %s, which does not "
                              "fit its column's type %s (%s) sampled from the first pages",
                              item, col->name, (unsigned long long)recno, hp_kind_of(v),
                              dsrc_type_name(col->type), col->native_type);
    }
    if (scratch->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    for (k = 0; k < n; k++)
        if (cells[k].type == DSRC_T_JSON)
            cells[k].v.s.ptr = scratch->s + s->offs[k];
    return DSRC_OK;
}

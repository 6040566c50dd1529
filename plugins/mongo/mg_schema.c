/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_schema.c -- a collection's schema inferred from a sample of its
 * documents: every field path (nested ones too), the BSON types seen with
 * their counts, and how many sampled documents hold the field.
 */
#include "mg.h"

#define MG_MAX_DEPTH 32

/* Slot of a BSON type in mg_field.types. */
static int type_slot(bson_type_t t)
{
    if (t >= BSON_TYPE_DOUBLE && t <= BSON_TYPE_DECIMAL128)
        return (int)t;
    if (t == BSON_TYPE_MAXKEY)
        return 20;
    if (t == BSON_TYPE_MINKEY)
        return 21;
    return 0;
}

static bson_type_t slot_type(int i)
{
    if (i == 20)
        return BSON_TYPE_MAXKEY;
    if (i == 21)
        return BSON_TYPE_MINKEY;
    return (bson_type_t)i;
}

ssize_t mg_schema_find(const mg_schema *s, const char *path)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->f[i].path, path) == 0)
            return (ssize_t)i;
    return -1;
}

static mg_field *field_get(mg_schema *s, const char *path, int depth)
{
    ssize_t k = mg_schema_find(s, path);
    mg_field *f;
    if (k >= 0)
        return &s->f[k];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        mg_field *v = bson_realloc(s->f, cap * sizeof *v);
        s->f = v;
        s->cap = cap;
    }
    f = &s->f[s->n];
    memset(f, 0, sizeof *f);
    f->path = bson_strdup(path);
    f->depth = depth;
    /* "_id" leads, whatever the documents' field order. */
    if (strcmp(path, "_id") == 0 && s->n > 0) {
        mg_field tmp = *f;
        memmove(&s->f[1], &s->f[0], s->n * sizeof *f);
        s->f[0] = tmp;
        f = &s->f[0];
    }
    s->n++;
    return f;
}

static void walk(mg_schema *s, bson_iter_t *it, const char *prefix, int depth, int in_array)
{
    while (bson_iter_next(it)) {
        char *path;
        mg_field *f;
        bson_type_t t = bson_iter_type(it);
        bson_iter_t child;

        /* Array elements are counted under the array's own path. */
        path = in_array ? bson_strdup(prefix)
                        : prefix ? bson_strdup_printf("%s.%s", prefix, bson_iter_key(it))
                                 : bson_strdup(bson_iter_key(it));
        if (!in_array) {
            f = field_get(s, path, depth);
            f->types[type_slot(t)]++;
            if (f->last_doc != s->docs) {
                f->last_doc = s->docs;
                f->present++;
            }
        }
        if (depth < MG_MAX_DEPTH && (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) &&
            bson_iter_recurse(it, &child)) {
            if (t == BSON_TYPE_DOCUMENT)
                walk(s, &child, path, depth + 1, 0);
            else
                /* Documents inside an array: their fields extend the
                 * array's path, as dot notation reaches them. */
                walk(s, &child, path, depth, 1);
        }
        bson_free(path);
    }
}

void mg_schema_add(mg_schema *s, const bson_t *doc)
{
    bson_iter_t it;
    s->docs++;
    if (bson_iter_init(&it, doc))
        walk(s, &it, NULL, 0, 0);
}

void mg_schema_free(mg_schema *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        bson_free(s->f[i].path);
    bson_free(s->f);
    memset(s, 0, sizeof *s);
}

dsrc_type mg_field_cell_type(const mg_field *f)
{
    dsrc_type t = DSRC_T_NULL, u;
    int i;
    for (i = 1; i < MG_NTYPES; i++) {
        if (!f->types[i])
            continue;
        u = mg_sdk_type(slot_type(i));
        if (u == DSRC_T_NULL || u == t)
            continue;
        if (t == DSRC_T_NULL)
            t = u;
        else if ((t == DSRC_T_INT64 && u == DSRC_T_DOUBLE) ||
                 (t == DSRC_T_DOUBLE && u == DSRC_T_INT64))
            t = DSRC_T_DOUBLE;
        else
            return DSRC_T_JSON;
    }
    return t == DSRC_T_NULL ? DSRC_T_TEXT : t;
}

char *mg_field_types_text(const mg_field *f)
{
    uint64_t done[MG_NTYPES] = {0};
    char *s = bson_strdup(""), *t;
    int k;
    for (k = 0; k < MG_NTYPES; k++) {
        int i, best = -1;
        for (i = 1; i < MG_NTYPES; i++)
            if (f->types[i] && !done[i] && (best < 0 || f->types[i] > f->types[best]))
                best = i;
        if (best < 0)
            break;
        done[best] = 1;
        t = bson_strdup_printf("%s%s%s:%" PRIu64, s, *s ? "," : "",
                               mg_type_name(slot_type(best)), f->types[best]);
        bson_free(s);
        s = t;
    }
    return s;
}

char *mg_schema_json(const mg_schema *s)
{
    bson_t root = BSON_INITIALIZER, arr;
    bson_iter_t it;
    size_t i;
    char *out = NULL;

    bson_append_array_begin(&root, "v", 1, &arr);
    for (i = 0; i < s->n; i++) {
        const mg_field *f = &s->f[i];
        bson_t doc, types;
        char key[24];
        const char *kp;
        int k;
        bson_uint32_to_string((uint32_t)i, &kp, key, sizeof key);
        bson_append_document_begin(&arr, kp, -1, &doc);
        bson_append_utf8(&doc, "path", 4, f->path, -1);
        bson_append_document_begin(&doc, "types", 5, &types);
        for (k = 1; k < MG_NTYPES; k++)
            if (f->types[k])
                bson_append_int64(&types, mg_type_name(slot_type(k)), -1,
                                  (int64_t)f->types[k]);
        bson_append_document_end(&doc, &types);
        bson_append_int64(&doc, "present", 7, (int64_t)f->present);
        bson_append_document_end(&arr, &doc);
    }
    bson_append_array_end(&root, &arr);
    if (bson_iter_init_find(&it, &root, "v"))
        out = mg_value_json(&it, 0);
    bson_destroy(&root);
    return out;
}

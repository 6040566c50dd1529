/* SPDX-License-Identifier: Apache-2.0 */
/* catalog.c -- items in normal form, schema hashes, typed diffs; see
 * catalog.h */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "base/redact.h"
#include "catalog/catalog.h"
#include "output/manifest.h"

static const char *const catalog_change_names[CATALOG_N_CHANGE_KINDS] = {
    "item_added", "item_removed", "item_kind_changed", "column_added", "column_removed",
    "column_type_changed", "column_nullability_changed", "column_default_changed",
    "primary_key_changed", "foreign_key_added", "foreign_key_removed",
};

/* Fixed for ever: journalctl MESSAGE_ID=... finds every event of a kind. */
static const char *const catalog_message_ids[CATALOG_N_CHANGE_KINDS] = {
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c61", "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c62",
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c63", "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c64",
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c65", "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c66",
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c67", "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c68",
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c69", "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c6a",
    "5b0e4a8c1f2d4e6a9c3b7d1e0f2a4c6b",
};

const char *catalog_change_name(catalog_change_kind k)
{
    return (unsigned)k < CATALOG_N_CHANGE_KINDS ? catalog_change_names[k] : "?";
}

int catalog_change_parse(const char *name)
{
    int i;

    for (i = 0; name && i < CATALOG_N_CHANGE_KINDS; i++)
        if (strcmp(name, catalog_change_names[i]) == 0)
            return i;
    return -1;
}

const char *catalog_change_message_id(catalog_change_kind k)
{
    return (unsigned)k < CATALOG_N_CHANGE_KINDS ? catalog_message_ids[k] : NULL;
}

const char *catalog_kind_name(dsrc_item_kind k)
{
    switch (k) {
    case DSRC_ITEM_DATABASE: return "database";
    case DSRC_ITEM_SCHEMA: return "schema";
    case DSRC_ITEM_TABLE: return "table";
    case DSRC_ITEM_VIEW: return "view";
    case DSRC_ITEM_MATERIALIZED_VIEW: return "materialized-view";
    case DSRC_ITEM_FOREIGN_TABLE: return "foreign-table";
    case DSRC_ITEM_PARTITIONED_TABLE: return "partitioned-table";
    case DSRC_ITEM_COLLECTION: return "collection";
    case DSRC_ITEM_CONTAINER: return "container";
    case DSRC_ITEM_DIRECTORY: return "directory";
    case DSRC_ITEM_BLOB: return "blob";
    case DSRC_ITEM_FILE: return "file";
    case DSRC_ITEM_OTHER: break;
    }
    return "other";
}

dsrc_item_kind catalog_kind_parse(const char *name)
{
    int k;

    for (k = DSRC_ITEM_DATABASE; name && k <= DSRC_ITEM_FILE; k++)
        if (strcmp(name, catalog_kind_name((dsrc_item_kind)k)) == 0)
            return (dsrc_item_kind)k;
    return DSRC_ITEM_OTHER;
}

/* ------------------------------------------------------------------------ */
/* Normal form                                                               */

/* Every string from a plugin goes through redaction before it is kept. */
static json_t *catalog_str(const char *s)
{
    char *r;
    json_t *j;

    if (!s)
        return json_null();
    r = redact_dup(s);
    j = r ? json_string(r) : NULL;
    free(r);
    return j ? j : json_string("");
}

/* A redacted key for an object member (NULL when out of memory). */
static void catalog_set(json_t *o, const char *key, json_t *v)
{
    char *r = redact_dup(key);

    if (r)
        json_object_set_new(o, r, v);
    else
        json_decref(v);
    free(r);
}

static char *catalog_dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

static int catalog_text_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* md's foreign keys as a JSON array sorted by each key's compact text. */
static json_t *catalog_fks_json(const dsrc_metadata *md)
{
    size_t i, j, n = md->n_foreign_keys;
    char **texts = calloc(n ? n : 1, sizeof *texts);
    json_t *arr = json_array();

    for (i = 0; texts && arr && i < n; i++) {
        const dsrc_foreign_key *fk = &md->foreign_keys[i];
        json_t *k = json_object(), *cols = json_array(), *refs = json_array();
        for (j = 0; j < fk->n_columns; j++) {
            json_array_append_new(cols, catalog_str(fk->columns && fk->columns[j]
                                                        ? fk->columns[j] : ""));
            json_array_append_new(refs, catalog_str(fk->ref_columns && fk->ref_columns[j]
                                                        ? fk->ref_columns[j] : ""));
        }
        json_object_set_new(k, "name", catalog_str(fk->name));
        json_object_set_new(k, "columns", cols);
        json_object_set_new(k, "ref_item", catalog_str(fk->ref_item));
        json_object_set_new(k, "ref_columns", refs);
        json_object_set_new(k, "on_update", catalog_str(fk->on_update));
        json_object_set_new(k, "on_delete", catalog_str(fk->on_delete));
        texts[i] = catalog_dump(k);
        json_decref(k);
    }
    if (texts && arr) {
        qsort(texts, n, sizeof *texts, catalog_text_cmp);
        for (i = 0; i < n; i++)
            if (texts[i])
                json_array_append_new(arr, json_loads(texts[i], 0, NULL));
    }
    for (i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    return arr ? arr : json_array();
}

/* The schema of md as a JSON object (see catalog.h). */
static json_t *catalog_schema_json(const dsrc_metadata *md)
{
    json_t *o = json_object(), *cols = json_array(), *pk = json_array();
    size_t i;
    int pos, more = 1;

    json_object_set_new(o, "path", catalog_str(md->item->path));
    json_object_set_new(o, "kind", json_string(catalog_kind_name(md->item->kind)));
    for (i = 0; i < md->n_columns; i++) {
        const dsrc_column *c = &md->columns[i];
        json_t *col = json_object();
        json_object_set_new(col, "ordinal", json_integer((json_int_t)i + 1));
        json_object_set_new(col, "name", catalog_str(c->name ? c->name : ""));
        json_object_set_new(col, "type", catalog_str(c->native_type && *c->native_type
                                                         ? c->native_type
                                                         : manifest_type_name(c->type)));
        json_object_set_new(col, "nullable", c->nullable < 0 ? json_null()
                                                             : json_boolean(c->nullable));
        json_object_set_new(col, "default", catalog_str(c->default_value));
        json_object_set_new(col, "key", json_integer(c->primary_key > 0 ? c->primary_key : 0));
        json_array_append_new(cols, col);
    }
    /* the primary key in key order, whatever the column order */
    for (pos = 1; more; pos++) {
        more = 0;
        for (i = 0; i < md->n_columns; i++) {
            if (md->columns[i].primary_key > pos)
                more = 1;
            if (md->columns[i].primary_key == pos)
                json_array_append_new(pk, catalog_str(md->columns[i].name ? md->columns[i].name
                                                                          : ""));
        }
    }
    json_object_set_new(o, "columns", cols);
    json_object_set_new(o, "primary_key", pk);
    /* foreign keys (the host's metadata is full-size: a 1.0 plugin's has
     * none), each as a canonical object, the list sorted by its text and
     * set only when not empty, so an item without keys hashes as before */
    if (md->n_foreign_keys && md->foreign_keys)
        json_object_set_new(o, "foreign_keys", catalog_fks_json(md));
    return o;
}

/* What is kept apart from the hash. */
static json_t *catalog_volatile_json(const dsrc_metadata *md)
{
    const dsrc_item *it = md->item;
    json_t *o = json_object(), *props = NULL, *cc = NULL;
    size_t i;

    if (it->rows >= 0) {
        json_object_set_new(o, "rows", json_integer(it->rows));
        json_object_set_new(o, "rows_estimated", json_boolean(it->rows_estimated));
    }
    if (it->size_bytes >= 0)
        json_object_set_new(o, "size_bytes", json_integer(it->size_bytes));
    if (it->mtime >= 0)
        json_object_set_new(o, "mtime", json_integer(it->mtime));
    if (it->comment)
        json_object_set_new(o, "comment", catalog_str(it->comment));
    for (i = 0; i < md->n_columns; i++)
        if (md->columns[i].comment && md->columns[i].name) {
            if (!cc)
                cc = json_object();
            catalog_set(cc, md->columns[i].name, catalog_str(md->columns[i].comment));
        }
    if (cc)
        json_object_set_new(o, "column_comments", cc);
    for (i = 0; i < md->n_properties; i++)
        if (md->properties[i].key) {
            if (!props)
                props = json_object();
            catalog_set(props, md->properties[i].key, catalog_str(md->properties[i].value));
        }
    if (props)
        json_object_set_new(o, "properties", props);
    return o;
}

static void catalog_sha256_hex(const char *s, char out[CATALOG_HASH_LEN + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    int i;

    SHA256((const unsigned char *)s, strlen(s), d);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static catalog_entry *catalog_grow(catalog_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        catalog_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    return &l->v[l->n];
}

int catalog_list_add(catalog_list *l, const dsrc_metadata *md)
{
    json_t *schema, *vol;
    catalog_entry *e;
    char *vs = NULL;

    if (!md || !md->item || !md->item->path || !(e = catalog_grow(l)))
        return -1;
    schema = catalog_schema_json(md);
    vol = catalog_volatile_json(md);
    e->schema = schema ? catalog_dump(schema) : NULL;
    if (vol && json_object_size(vol))
        vs = catalog_dump(vol);
    json_decref(schema);
    json_decref(vol);
    e->vol = vs;
    e->path = redact_dup(md->item->path);
    if (!e->schema || !e->path) {
        free(e->schema);
        free(e->vol);
        free(e->path);
        return -1;
    }
    catalog_sha256_hex(e->schema, e->hash);
    l->n++;
    return 0;
}

int catalog_list_push(catalog_list *l, const char *path, const char *hash, const char *schema,
                      const char *vol)
{
    catalog_entry *e;

    if (!path || !hash || !schema || strlen(hash) != CATALOG_HASH_LEN || !(e = catalog_grow(l)))
        return -1;
    e->path = strdup(path);
    e->schema = strdup(schema);
    e->vol = vol ? strdup(vol) : NULL;
    memcpy(e->hash, hash, CATALOG_HASH_LEN + 1);
    if (!e->path || !e->schema || (vol && !e->vol)) {
        free(e->path);
        free(e->schema);
        free(e->vol);
        return -1;
    }
    l->n++;
    return 0;
}

static void catalog_entry_free(catalog_entry *e)
{
    free(e->path);
    free(e->schema);
    free(e->vol);
}

static int catalog_cmp(const void *a, const void *b)
{
    return strcmp(((const catalog_entry *)a)->path, ((const catalog_entry *)b)->path);
}

void catalog_list_sort(catalog_list *l)
{
    size_t i, o = 0;

    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof *l->v, catalog_cmp);
    /* a plugin that reports a path twice: one entry is kept */
    for (i = 0; i < l->n; i++) {
        if (o && strcmp(l->v[o - 1].path, l->v[i].path) == 0) {
            catalog_entry_free(&l->v[o - 1]);
            l->v[o - 1] = l->v[i];
            continue;
        }
        l->v[o++] = l->v[i];
    }
    l->n = o;
}

void catalog_list_free(catalog_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        catalog_entry_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int catalog_list_same(const catalog_list *a, const catalog_list *b)
{
    size_t i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->v[i].hash, b->v[i].hash) != 0 || strcmp(a->v[i].path, b->v[i].path) != 0)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Type widening                                                             */

/* A native type name, lowercased, split into its base name (spaces
 * collapsed, "unsigned" noted apart) and up to two numeric parameters. */
typedef struct catalog_type {
    char base[64];
    int unsig;
    int n_params;
    long p[2];
} catalog_type;

static void catalog_type_parse(const char *s, catalog_type *t)
{
    size_t o = 0;
    const char *q;

    memset(t, 0, sizeof *t);
    for (; *s && *s != '('; s++) {
        char ch = (char)tolower((unsigned char)*s);
        if (isspace((unsigned char)ch)) {
            if (o && t->base[o - 1] != ' ' && o + 1 < sizeof t->base)
                t->base[o++] = ' ';
            continue;
        }
        if (o + 1 < sizeof t->base)
            t->base[o++] = ch;
    }
    while (o && t->base[o - 1] == ' ')
        o--;
    t->base[o] = '\0';
    if (*s == '(') {
        char *end;
        q = s + 1;
        while (t->n_params < 2) {
            long v = strtol(q, &end, 10);
            if (end == q)
                break;
            t->p[t->n_params++] = v;
            q = end;
            while (*q == ' ')
                q++;
            if (*q != ',')
                break;
            q++;
        }
        s = strchr(s, ')') ? strchr(s, ')') + 1 : s + strlen(s);
    }
    if (strstr(s, "unsigned") || strstr(t->base, " unsigned")) {
        char *u = strstr(t->base, " unsigned");
        t->unsig = 1;
        if (u)
            *u = '\0';
    }
}

static int catalog_in(const char *name, const char *const *names)
{
    int i;

    for (i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return i + 1;
    return 0;
}

/* The rank of an integer type (wider is higher), 0 when not one. */
static int catalog_int_rank(const char *b)
{
    static const char *const r1[] = {"tinyint", "int1", NULL};
    static const char *const r2[] = {"smallint", "int2", "smallserial", NULL};
    static const char *const r3[] = {"mediumint", "int3", NULL};
    static const char *const r4[] = {"int", "integer", "int4", "serial", NULL};
    static const char *const r5[] = {"bigint", "int8", "bigserial", NULL};

    return catalog_in(b, r1) ? 1 : catalog_in(b, r2) ? 2 : catalog_in(b, r3) ? 3
         : catalog_in(b, r4) ? 4 : catalog_in(b, r5) ? 5 : 0;
}

int catalog_type_widens(const char *from, const char *to)
{
    static const char *const chars[] = {"char", "character", "varchar", "character varying",
                                        "nchar", "nvarchar", "bpchar", NULL};
    static const char *const texts[] = {"tinytext", "text", "mediumtext", "longtext", NULL};
    static const char *const reals[] = {"real", "float4", "float", NULL};
    static const char *const doubles[] = {"double", "double precision", "float8", NULL};
    static const char *const nums[] = {"numeric", "decimal", NULL};
    catalog_type a, b;
    int ra, rb;

    if (!from || !to)
        return 0;
    catalog_type_parse(from, &a);
    catalog_type_parse(to, &b);
    if ((ra = catalog_int_rank(a.base)) && (rb = catalog_int_rank(b.base)))
        return a.unsig == b.unsig ? rb > ra || (rb == ra && strcmp(a.base, b.base) != 0)
                                  : a.unsig && rb > ra;
    if (catalog_in(a.base, chars)) {
        if (catalog_in(b.base, texts))
            return 1;
        if (catalog_in(b.base, chars))
            return b.n_params == 0 || (a.n_params == 1 && b.p[0] >= a.p[0]);
        return 0;
    }
    if ((ra = catalog_in(a.base, texts)) && (rb = catalog_in(b.base, texts)))
        return rb > ra;
    if (catalog_in(a.base, reals) && catalog_in(b.base, doubles))
        return 1;
    if (catalog_in(a.base, nums) && catalog_in(b.base, nums)) {
        long as = a.n_params > 1 ? a.p[1] : 0, bs = b.n_params > 1 ? b.p[1] : 0;
        if (b.n_params == 0)
            return 1;
        if (a.n_params == 0)
            return 0;
        return bs >= as && b.p[0] - bs >= a.p[0] - as;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Diff                                                                      */

static int catalog_change_add(catalog_diff *d, catalog_change_kind k, int breaking,
                              const char *item, const char *column, const json_t *before,
                              const json_t *after)
{
    catalog_change *c;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        catalog_change *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    c = &d->v[d->n];
    memset(c, 0, sizeof *c);
    c->kind = k;
    c->breaking = breaking;
    c->item = strdup(item);
    c->column = column ? strdup(column) : NULL;
    c->before = before ? catalog_dump(before) : NULL;
    c->after = after ? catalog_dump(after) : NULL;
    d->n++;
    if (!c->item || (column && !c->column) || (before && !c->before) || (after && !c->after))
        return -1;
    return 0;
}

static json_t *catalog_find_column(json_t *cols, const char *name)
{
    size_t i;
    json_t *c;

    json_array_foreach(cols, i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0)
            return c;
    }
    return NULL;
}

/* A change of kind k for each member of `arr` that is not in `other`. */
static int catalog_fk_diff(catalog_diff *d, catalog_change_kind k, const char *item,
                           json_t *arr, json_t *other)
{
    size_t i, j;
    json_t *x, *y;

    json_array_foreach(arr, i, x) {
        int found = 0;
        json_array_foreach(other, j, y)
            if (json_equal(x, y))
                found = 1;
        if (!found && catalog_change_add(d, k, 0, item, NULL, k == CATALOG_FOREIGN_KEY_REMOVED
                                                                  ? x : NULL,
                                         k == CATALOG_FOREIGN_KEY_ADDED ? x : NULL) < 0)
            return -1;
    }
    return 0;
}

/* The changes inside one item whose hash changed. */
static int catalog_diff_item(catalog_diff *d, const char *item, json_t *a, json_t *b)
{
    json_t *ca = json_object_get(a, "columns"), *cb = json_object_get(b, "columns");
    json_t *x, *y;
    size_t i;
    int rc = 0;

    if (!json_equal(json_object_get(a, "kind"), json_object_get(b, "kind")))
        rc |= catalog_change_add(d, CATALOG_ITEM_KIND_CHANGED, 0, item, NULL,
                                 json_object_get(a, "kind"), json_object_get(b, "kind"));
    json_array_foreach(ca, i, x) {
        const char *name = json_string_value(json_object_get(x, "name"));
        json_t *ta, *tb, *na, *nb;
        if (!name)
            continue;
        if (!(y = catalog_find_column(cb, name))) {
            rc |= catalog_change_add(d, CATALOG_COLUMN_REMOVED, 1, item, name, x, NULL);
            continue;
        }
        ta = json_object_get(x, "type");
        tb = json_object_get(y, "type");
        if (!json_equal(ta, tb))
            rc |= catalog_change_add(d, CATALOG_COLUMN_TYPE_CHANGED,
                                     !catalog_type_widens(json_string_value(ta),
                                                          json_string_value(tb)),
                                     item, name, ta, tb);
        na = json_object_get(x, "nullable");
        nb = json_object_get(y, "nullable");
        if (!json_equal(na, nb))
            rc |= catalog_change_add(d, CATALOG_COLUMN_NULLABILITY_CHANGED,
                                     json_is_true(na) && json_is_false(nb), item, name, na, nb);
        if (!json_equal(json_object_get(x, "default"), json_object_get(y, "default")))
            rc |= catalog_change_add(d, CATALOG_COLUMN_DEFAULT_CHANGED, 0, item, name,
                                     json_object_get(x, "default"),
                                     json_object_get(y, "default"));
    }
    json_array_foreach(cb, i, y) {
        const char *name = json_string_value(json_object_get(y, "name"));
        if (name && !catalog_find_column(ca, name))
            rc |= catalog_change_add(d, CATALOG_COLUMN_ADDED, 0, item, name, NULL, y);
    }
    if (!json_equal(json_object_get(a, "primary_key"), json_object_get(b, "primary_key")))
        rc |= catalog_change_add(d, CATALOG_PRIMARY_KEY_CHANGED, 1, item, NULL,
                                 json_object_get(a, "primary_key"),
                                 json_object_get(b, "primary_key"));
    rc |= catalog_fk_diff(d, CATALOG_FOREIGN_KEY_REMOVED, item, json_object_get(a, "foreign_keys"),
                          json_object_get(b, "foreign_keys"));
    rc |= catalog_fk_diff(d, CATALOG_FOREIGN_KEY_ADDED, item, json_object_get(b, "foreign_keys"),
                          json_object_get(a, "foreign_keys"));
    return rc ? -1 : 0;
}

/* The item of an addition or removal: its schema as JSON. */
static int catalog_diff_whole(catalog_diff *d, catalog_change_kind k, const catalog_entry *e)
{
    json_t *j = json_loads(e->schema, 0, NULL);
    int rc;

    if (!j)
        return -1;
    rc = catalog_change_add(d, k, k == CATALOG_ITEM_REMOVED, e->path, NULL,
                            k == CATALOG_ITEM_REMOVED ? j : NULL,
                            k == CATALOG_ITEM_ADDED ? j : NULL);
    json_decref(j);
    return rc;
}

int catalog_diff_lists(const catalog_list *a, const catalog_list *b, catalog_diff *d)
{
    size_t i = 0, k = 0;

    while (i < a->n || k < b->n) {
        int c = i >= a->n ? 1 : k >= b->n ? -1 : strcmp(a->v[i].path, b->v[k].path);
        if (c < 0) {
            if (catalog_diff_whole(d, CATALOG_ITEM_REMOVED, &a->v[i++]) < 0)
                return -1;
        } else if (c > 0) {
            if (catalog_diff_whole(d, CATALOG_ITEM_ADDED, &b->v[k++]) < 0)
                return -1;
        } else {
            if (strcmp(a->v[i].hash, b->v[k].hash) != 0) {
                json_t *x = json_loads(a->v[i].schema, 0, NULL);
                json_t *y = json_loads(b->v[k].schema, 0, NULL);
                int rc = x && y ? catalog_diff_item(d, a->v[i].path, x, y) : -1;
                json_decref(x);
                json_decref(y);
                if (rc < 0)
                    return -1;
            }
            i++;
            k++;
        }
    }
    return 0;
}

void catalog_diff_free(catalog_diff *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        free(d->v[i].item);
        free(d->v[i].column);
        free(d->v[i].before);
        free(d->v[i].after);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_catalog.c -- item paths, list, describe and discover: databases
 * (listDatabases, or only the `database` option's), their collections and
 * views (listCollections), estimated counts and sizes ($collStats), the
 * schema inferred from a $sample, and the indexes.
 *
 * Items: "" lists the databases (or only the `database` option's), "shop"
 * its collections and views, "shop/orders" is a collection (the part
 * before the first '/' is the database: database names cannot hold '/').
 * A collection name's '/' and '%' are printed escaped (%2F, %25;
 * <dsrc/plugin_util.h>); an unescaped '/' after the database still belongs
 * to the collection name.
 */
#include "mg.h"

#include <inttypes.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

void mg_path_free(mg_path *p)
{
    bson_free(p->db);
    bson_free(p->coll);
    p->db = p->coll = NULL;
}

static dsrc_status mg_path_parse(dsrc_conn *c, const char *path, mg_path *out, dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "empty item path");
    st = dsrc_path_split(path, 2, &sp, err);
    if (st != DSRC_OK)
        return st;
    out->db = bson_strdup(sp.part[0]);
    out->coll = sp.n == 2 && sp.part[1][0] ? bson_strdup(sp.part[1]) : NULL;
    if (!*out->db || (sp.n == 2 && !out->coll)) {
        dsrc_path_free(&sp);
        mg_path_free(out);
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "'%s' is not \"database\" or \"database/collection\"", path);
    }
    dsrc_path_free(&sp);
    if (c->set.database && strcmp(out->db, c->set.database) != 0) {
        mg_path_free(out);
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                              "'%s': this source exposes only database '%s'", path,
                              c->set.database);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Catalog helpers                                                           */

void mg_colls_free(mg_colls *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        bson_free(l->v[i].name);
        bson_free(l->v[i].type);
        bson_free(l->v[i].options);
    }
    bson_free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int mg_is_system_coll(const char *name)
{
    return strncmp(name, "system.", 7) == 0;
}

static int mg_is_system_db(const char *name)
{
    return strcmp(name, "admin") == 0 || strcmp(name, "config") == 0 ||
           strcmp(name, "local") == 0;
}

/* listCollections on `db`, optionally only `only` (by name).  Sorted by
 * name for a stable order. */
static int mg_coll_cmp(const void *a, const void *b)
{
    return strcmp(((const mg_coll *)a)->name, ((const mg_coll *)b)->name);
}

static dsrc_status mg_list_colls(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                                 const char *only, int include_system, mg_colls *out,
                                 dsrc_error *err)
{
    mongoc_database_t *d = mongoc_client_get_database(c->client, db);
    bson_t opts = BSON_INITIALIZER, filter;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t be;
    dsrc_status st = DSRC_OK;
    size_t cap = 0;

    memset(out, 0, sizeof *out);
    mongoc_database_set_read_prefs(d, c->set.discovery_prefs);
    if (only) {
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "filter", &filter);
        BSON_APPEND_UTF8(&filter, "name", only);
        bson_append_document_end(&opts, &filter);
    }
    cur = mongoc_database_find_collections_with_opts(d, &opts);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const char *name = NULL, *type = "collection";
        if (mg_cancelled(ctx, c)) {
            st = mg_cancel_err(err, "listing collections");
            break;
        }
        if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it))
            name = bson_iter_utf8(&it, NULL);
        if (!name || (!include_system && mg_is_system_coll(name)))
            continue;
        if (bson_iter_init_find(&it, doc, "type") && BSON_ITER_HOLDS_UTF8(&it))
            type = bson_iter_utf8(&it, NULL);
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->v = bson_realloc(out->v, cap * sizeof *out->v);
        }
        out->v[out->n].name = bson_strdup(name);
        out->v[out->n].type = bson_strdup(type);
        out->v[out->n].options =
            bson_iter_init_find(&it, doc, "options") ? mg_value_json(&it, 0) : NULL;
        out->n++;
    }
    if (st == DSRC_OK && mongoc_cursor_error(cur, &be))
        st = mg_fail(err, &be, "listing the collections of '%s'", db);
    mongoc_cursor_destroy(cur);
    mongoc_database_destroy(d);
    bson_destroy(&opts);
    if (st != DSRC_OK)
        mg_colls_free(out);
    else if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, mg_coll_cmp);
    return st;
}

static dsrc_item_kind mg_kind(const char *type)
{
    return strcmp(type, "view") == 0 ? DSRC_ITEM_VIEW : DSRC_ITEM_COLLECTION;
}

/* Estimated document count and storage size: $collStats, else the
 * collStats command; -1 when neither answers (a view, no privilege). */
static void mg_stats(dsrc_conn *c, const char *db, const char *coll, int64_t *rows,
                     int64_t *size)
{
    mongoc_collection_t *col = mongoc_client_get_collection(c->client, db, coll);
    bson_t *pipeline;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_iter_t it;
    int found = 0;

    *rows = *size = -1;
    pipeline = BCON_NEW("pipeline", "[", "{", "$collStats", "{", "storageStats", "{", "}", "}",
                        "}", "]");
    cur = mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, pipeline, NULL,
                                      c->set.discovery_prefs);
    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t d;
        if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, "storageStats.count", &d) &&
            BSON_ITER_HOLDS_NUMBER(&d)) {
            *rows = bson_iter_as_int64(&d);
            found = 1;
        }
        if (bson_iter_init(&it, doc) &&
            bson_iter_find_descendant(&it, "storageStats.storageSize", &d) &&
            BSON_ITER_HOLDS_NUMBER(&d))
            *size = bson_iter_as_int64(&d);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    if (!found) {
        bson_t cmd = BSON_INITIALIZER, reply;
        bson_error_t be;
        BSON_APPEND_UTF8(&cmd, "collStats", coll);
        if (mg_command(c, db, &cmd, &reply, &be) == DSRC_OK) {
            if (bson_iter_init_find(&it, &reply, "count") && BSON_ITER_HOLDS_NUMBER(&it))
                *rows = bson_iter_as_int64(&it);
            if (bson_iter_init_find(&it, &reply, "storageSize") && BSON_ITER_HOLDS_NUMBER(&it))
                *size = bson_iter_as_int64(&it);
        }
        bson_destroy(&reply);
        bson_destroy(&cmd);
    }
    mongoc_collection_destroy(col);
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

typedef struct mg_names {
    char **v;
    int64_t *size;
    size_t n;
} mg_names;

static void mg_names_free(mg_names *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        bson_free(l->v[i]);
    bson_free(l->v);
    bson_free(l->size);
    memset(l, 0, sizeof *l);
}

/* The databases: the `database` option's only, else listDatabases. */
static dsrc_status mg_list_dbs(dsrc_conn *c, mg_names *out, dsrc_error *err)
{
    bson_t cmd = BSON_INITIALIZER, reply, dbs;
    bson_error_t be;
    bson_iter_t it, arr;
    dsrc_status st = DSRC_OK;
    size_t cap = 0;

    memset(out, 0, sizeof *out);
    if (c->set.database) {
        out->v = bson_malloc(sizeof *out->v);
        out->size = bson_malloc(sizeof *out->size);
        out->v[0] = bson_strdup(c->set.database);
        out->size[0] = -1;
        out->n = 1;
        bson_destroy(&cmd);
        return DSRC_OK;
    }
    BSON_APPEND_INT32(&cmd, "listDatabases", 1);
    BSON_APPEND_BOOL(&cmd, "nameOnly", false);
    BSON_APPEND_BOOL(&cmd, "authorizedDatabases", true);
    if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
        st = mg_fail(err, &be, "listing databases");
        goto out;
    }
    if (!bson_iter_init_find(&it, &reply, "databases") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr)) {
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "listing databases: the reply holds no database list");
        goto out;
    }
    while (bson_iter_next(&arr)) {
        const uint8_t *data;
        uint32_t len;
        bson_iter_t f;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            continue;
        bson_iter_document(&arr, &len, &data);
        if (!bson_init_static(&dbs, data, len) || !bson_iter_init_find(&f, &dbs, "name") ||
            !BSON_ITER_HOLDS_UTF8(&f))
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->v = bson_realloc(out->v, cap * sizeof *out->v);
            out->size = bson_realloc(out->size, cap * sizeof *out->size);
        }
        out->v[out->n] = bson_strdup(bson_iter_utf8(&f, NULL));
        out->size[out->n] = bson_iter_init_find(&f, &dbs, "sizeOnDisk") &&
                                    BSON_ITER_HOLDS_NUMBER(&f)
                                ? bson_iter_as_int64(&f)
                                : -1;
        out->n++;
    }
out:
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return st;
}

/* Send one listed item, `it` filled but for its path, made here from `db`
 * and `coll` (NULL for a database), unless the call was cancelled.
 * Returns DSRC_OK, or the error (cancelled, stopped, out of memory). */
static dsrc_status mg_list_send(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_item_sink *sink,
                                const char *db, const char *coll, dsrc_item *it,
                                dsrc_error *err)
{
    dsrc_status st = DSRC_OK;
    char *ipath = dsrc_path_join2(db, coll);

    if (!ipath)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    it->struct_size = sizeof *it;
    it->path = ipath;
    if (mg_cancelled(ctx, c))
        st = mg_cancel_err(err, "list");
    else if (sink->item(sink->user, it) != 0)
        st = mg_stopped(err);
    free(ipath);
    return st;
}

dsrc_status mg_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    dsrc_status st = DSRC_OK;
    size_t i;

    atomic_store(&c->cancel, 0);
    if (!sink || !sink->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item receiver");
    if (!path || !*path) {
        mg_names dbs;
        st = mg_list_dbs(c, &dbs, err);
        for (i = 0; st == DSRC_OK && i < dbs.n; i++) {
            dsrc_item it;
            memset(&it, 0, sizeof it);
            it.name = dbs.v[i];
            it.kind = DSRC_ITEM_DATABASE;
            it.container = 1;
            it.rows = -1;
            it.size_bytes = dbs.size[i];
            it.mtime = -1;
            st = mg_list_send(ctx, c, sink, dbs.v[i], NULL, &it, err);
        }
        mg_names_free(&dbs);
        return st;
    } else {
        mg_path p;
        mg_colls l;
        st = mg_path_parse(c, path, &p, err);
        if (st != DSRC_OK)
            return st;
        if (p.coll) {
            st = mg_list_colls(ctx, c, p.db, p.coll, 1, &l, err);
            if (st == DSRC_OK)
                st = l.n ? dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                          "'%s' is a %s: it holds no items", path, l.v[0].type)
                         : dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                                          "no collection '%s'", path);
            mg_colls_free(&l);
            mg_path_free(&p);
            return st;
        }
        st = mg_list_colls(ctx, c, p.db, NULL, 0, &l, err);
        if (st == DSRC_OK && l.n == 0)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                                "no database '%s' (or it holds no collection)", path);
        for (i = 0; st == DSRC_OK && i < l.n; i++) {
            dsrc_item it;
            memset(&it, 0, sizeof it);
            it.name = l.v[i].name;
            it.kind = mg_kind(l.v[i].type);
            it.rows = it.size_bytes = -1;
            it.mtime = -1;
            if (it.kind != DSRC_ITEM_VIEW) {
                mg_stats(c, p.db, l.v[i].name, &it.rows, &it.size_bytes);
                it.rows_estimated = it.rows >= 0;
            }
            if (strcmp(l.v[i].type, "collection") != 0)
                it.comment = l.v[i].type;
            st = mg_list_send(ctx, c, sink, p.db, l.v[i].name, &it, err);
        }
        mg_colls_free(&l);
        mg_path_free(&p);
        return st;
    }
}

/* ------------------------------------------------------------------------ */
/* Sampling and describe                                                     */

/* Infer the schema of db.coll from a $sample of at most sample_size. */
dsrc_status mg_sample(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                      const char *coll, mg_schema *out, dsrc_error *err)
{
    mongoc_collection_t *col = mongoc_client_get_collection(c->client, db, coll);
    bson_t *pipeline;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t be;
    dsrc_status st = DSRC_OK;

    memset(out, 0, sizeof *out);
    pipeline = BCON_NEW("pipeline", "[", "{", "$sample", "{", "size",
                        BCON_INT64(c->set.sample_size), "}", "}", "]");
    cur = mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, pipeline, NULL,
                                      c->set.discovery_prefs);
    while (mongoc_cursor_next(cur, &doc)) {
        if (mg_cancelled(ctx, c)) {
            st = mg_cancel_err(err, "sampling");
            break;
        }
        mg_schema_add(out, doc);
    }
    if (st == DSRC_OK && mongoc_cursor_error(cur, &be))
        st = mg_fail(err, &be, "sampling '%s/%s'", db, coll);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    mongoc_collection_destroy(col);
    if (st != DSRC_OK)
        mg_schema_free(out);
    return st;
}

/* The indexes of db.coll as a JSON array; NULL when they cannot be read. */
static char *mg_indexes(dsrc_conn *c, const char *db, const char *coll)
{
    mongoc_collection_t *col = mongoc_client_get_collection(c->client, db, coll);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
    const bson_t *doc;
    bson_t root = BSON_INITIALIZER, arr;
    bson_iter_t it;
    uint32_t i = 0;
    char *out = NULL;

    bson_append_array_begin(&root, "v", 1, &arr);
    while (mongoc_cursor_next(cur, &doc)) {
        char key[16];
        const char *kp;
        bson_uint32_to_string(i++, &kp, key, sizeof key);
        bson_append_document(&arr, kp, -1, doc);
    }
    bson_append_array_end(&root, &arr);
    if (!mongoc_cursor_error(cur, NULL) && bson_iter_init_find(&it, &root, "v"))
        out = mg_value_json(&it, 0);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(&root);
    return out;
}

/* Describe one collection of a listing to `sink`.  Returns DSRC_OK, the
 * error, or DSRC_E_CANCELLED when the sink stops. */
static dsrc_status mg_describe_coll(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                                    const mg_coll *coll, const dsrc_meta_sink *sink,
                                    dsrc_error *err)
{
    mg_schema sch;
    dsrc_status st;
    dsrc_item item;
    dsrc_metadata md;
    dsrc_column *cols = NULL;
    char **natives = NULL, **comments = NULL;
    dsrc_kv props[8];
    size_t n_props = 0, n_cols = 0, i;
    char *path = dsrc_path_join2(db, coll->name);
    char *schema_json = NULL, *indexes = NULL, rows_s[32], size_s[32], sample_s[32];

    if (!path)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    st = mg_sample(ctx, c, db, coll->name, &sch, err);
    if (st != DSRC_OK) {
        free(path);
        return st;
    }
    memset(&item, 0, sizeof item);
    item.struct_size = sizeof item;
    item.path = path;
    item.name = coll->name;
    item.kind = mg_kind(coll->type);
    item.rows = item.size_bytes = item.mtime = -1;
    if (item.kind != DSRC_ITEM_VIEW) {
        mg_stats(c, db, coll->name, &item.rows, &item.size_bytes);
        item.rows_estimated = item.rows >= 0;
        indexes = mg_indexes(c, db, coll->name);
    }
    if (strcmp(coll->type, "collection") != 0)
        item.comment = coll->type;

    cols = bson_malloc0((sch.n + 1) * sizeof *cols);
    natives = bson_malloc0((sch.n + 1) * sizeof *natives);
    comments = bson_malloc0((sch.n + 1) * sizeof *comments);
    for (i = 0; i < sch.n; i++) {
        const mg_field *f = &sch.f[i];
        if (f->depth != 0)
            continue;
        natives[n_cols] = mg_field_types_text(f);
        comments[n_cols] = bson_strdup_printf("present in %" PRIu64 " of %" PRIu64
                                              " sampled documents", f->present, sch.docs);
        cols[n_cols].name = f->path;
        cols[n_cols].type = mg_field_cell_type(f);
        cols[n_cols].native_type = natives[n_cols];
        cols[n_cols].nullable =
            (f->present < sch.docs || f->types[BSON_TYPE_NULL] || f->types[BSON_TYPE_UNDEFINED])
                ? 1 : 0;
        cols[n_cols].primary_key = strcmp(f->path, "_id") == 0 ? 1 : 0;
        cols[n_cols].comment = comments[n_cols];
        n_cols++;
    }
    schema_json = mg_schema_json(&sch);
    props[n_props].key = "type";
    props[n_props++].value = coll->type;
    snprintf(sample_s, sizeof sample_s, "%" PRIu64, sch.docs);
    props[n_props].key = "sample_size";
    props[n_props++].value = sample_s;
    if (schema_json) {
        props[n_props].key = "schema";
        props[n_props++].value = schema_json;
    }
    if (indexes) {
        props[n_props].key = "indexes";
        props[n_props++].value = indexes;
    }
    if (item.rows >= 0) {
        snprintf(rows_s, sizeof rows_s, "%" PRId64, item.rows);
        props[n_props].key = "estimated_count";
        props[n_props++].value = rows_s;
    }
    if (item.size_bytes >= 0) {
        snprintf(size_s, sizeof size_s, "%" PRId64, item.size_bytes);
        props[n_props].key = "storage_size";
        props[n_props++].value = size_s;
    }
    if (coll->options && strcmp(coll->options, "{ }") != 0) {
        props[n_props].key = "options";
        props[n_props++].value = coll->options;
    }
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &item;
    md.columns = cols;
    md.n_columns = n_cols;
    md.properties = props;
    md.n_properties = n_props;
    st = sink->metadata(sink->user, &md) != 0 ? mg_stopped(err) : DSRC_OK;

    for (i = 0; i < n_cols; i++) {
        bson_free(natives[i]);
        bson_free(comments[i]);
    }
    bson_free(natives);
    bson_free(comments);
    bson_free(cols);
    bson_free(schema_json);
    bson_free(indexes);
    free(path);
    mg_schema_free(&sch);
    return st;
}

/* Find the collection of `path`; NOT_FOUND when it does not exist. */
dsrc_status mg_find_coll(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                         mg_path *p, mg_colls *l, dsrc_error *err)
{
    dsrc_status st = mg_path_parse(c, item, p, err);
    if (st != DSRC_OK)
        return st;
    if (!p->coll) {
        mg_path_free(p);
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "'%s' is a database: name a collection as \"%s/collection\"",
                              item, item);
    }
    st = mg_list_colls(ctx, c, p->db, p->coll, 1, l, err);
    if (st == DSRC_OK && l->n == 0) {
        mg_colls_free(l);
        st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL, "no collection '%s'", item);
    }
    if (st != DSRC_OK)
        mg_path_free(p);
    return st;
}

dsrc_status mg_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    mg_path p;
    mg_colls l;
    dsrc_status st;

    atomic_store(&c->cancel, 0);
    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "describe: no metadata receiver");
    st = mg_find_coll(ctx, c, item, &p, &l, err);
    if (st != DSRC_OK)
        return st;
    st = mg_describe_coll(ctx, c, p.db, &l.v[0], sink, err);
    mg_colls_free(&l);
    mg_path_free(&p);
    return st;
}

dsrc_status mg_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    mg_names dbs;
    dsrc_status st;
    int sys = req && req->include_system;
    size_t i, k;

    atomic_store(&c->cancel, 0);
    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    memset(&dbs, 0, sizeof dbs);
    if (req && req->path && *req->path) {
        mg_path p;
        st = mg_path_parse(c, req->path, &p, err);
        if (st != DSRC_OK)
            return st;
        if (p.coll) {
            mg_path_free(&p);
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "discover takes a database, not '%s'", req->path);
        }
        dbs.v = bson_malloc(sizeof *dbs.v);
        dbs.size = bson_malloc(sizeof *dbs.size);
        dbs.v[0] = p.db;
        dbs.size[0] = -1;
        dbs.n = 1;
        p.db = NULL;
        mg_path_free(&p);
    } else {
        st = mg_list_dbs(c, &dbs, err);
        if (st != DSRC_OK)
            return st;
    }
    st = DSRC_OK;
    for (i = 0; st == DSRC_OK && i < dbs.n; i++) {
        mg_colls l;
        if (!sys && !(req && req->path) && !c->set.database && mg_is_system_db(dbs.v[i]))
            continue;
        st = mg_list_colls(ctx, c, dbs.v[i], NULL, sys, &l, err);
        if (st == DSRC_E_PERMISSION && !(req && req->path && *req->path)) {
            /* listDatabases may name databases this user cannot read:
             * the rest of the catalog is still worth having. */
            if (mg_host && mg_host->log)
                mg_host->log(ctx, DSRC_LOG_WARNING, "discover: skipping database '%s': %s",
                             dbs.v[i], err && err->message ? err->message : "not authorised");
            if (err && err->release)
                err->release(err);
            if (err) {
                err->status = DSRC_OK;
                err->backend_code[0] = '\0';
                err->retryable = err->connection_broken = 0;
            }
            st = DSRC_OK;
            continue;
        }
        if (st == DSRC_OK && l.n == 0 && req && req->path && *req->path)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                                "no database '%s' (or it holds no collection)", dbs.v[i]);
        for (k = 0; st == DSRC_OK && k < l.n; k++) {
            if (mg_cancelled(ctx, c))
                st = mg_cancel_err(err, "discover");
            else
                st = mg_describe_coll(ctx, c, dbs.v[i], &l.v[k], sink, err);
        }
        mg_colls_free(&l);
    }
    mg_names_free(&dbs);
    return st;
}

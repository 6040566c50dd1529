/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mongo.c -- the MongoDB connector: open, ping, list, describe, discover,
 * fetch and cancel on mongo-c-driver.
 *
 * Items: "" lists the databases (or only the `database` option's), "shop"
 * its collections and views, "shop/orders" is a collection (the part
 * before the first '/' is the database: database names cannot hold '/').
 * A collection name's '/' and '%' are printed escaped (%2F, %25;
 * <dsrc/plugin_util.h>); an unescaped '/' after the database still belongs
 * to the collection name.
 *
 * One mongoc_client_t per dsrc_conn (clients are not thread-safe, and the
 * host never shares a conn between threads).  mongoc_init() runs once in
 * dsrc_plugin_init(), mongoc_cleanup() in unload().
 *
 * Reads: list, describe, discover and ping read primaryPreferred; fetch
 * reads with the source's read_policy (see mg_uri.c).
 *
 * Cancellation: fetch and the catalog calls poll the host's flag and the
 * connection's own (set by cancel()) between documents, so a cursor stops
 * before its next getMore.  A request already on the wire is bounded by
 * socket_timeout.
 */
#include "mg.h"

#include <inttypes.h>
#include <stdatomic.h>

DSRC_PLUGIN_ABI();

#define MG_VERSION "1.0.0"

static const dsrc_host *mg_host;

struct dsrc_conn {
    mongoc_client_t *client;
    mg_settings set;
    char *hosts;                 /* "host:port,...", for messages          */
    atomic_int cancel;
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* Map a driver error to a status.  Server errors keep the server's code in
 * backend_code (18 authentication failed, 13 unauthorized, 26 namespace
 * not found, ...); the driver's own errors keep "domain.code". */
static dsrc_status mg_fail(dsrc_error *err, const bson_error_t *be, const char *fmt, ...)
    DSRC_PRINTF(3, 4);

static dsrc_status mg_fail(dsrc_error *err, const bson_error_t *be, const char *fmt, ...)
{
    char what[512], code[DSRC_BACKEND_CODE_MAX];
    dsrc_status st = DSRC_E_BACKEND;
    int retry = 0, broken = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(code, sizeof code, "%u", be->code);
    switch (be->domain) {
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_WRITE_CONCERN:
        switch (be->code) {
        case 18: st = DSRC_E_AUTH; break;                   /* AuthenticationFailed */
        case 13: st = DSRC_E_PERMISSION; break;             /* Unauthorized */
        case 26: st = DSRC_E_NOT_FOUND; break;              /* NamespaceNotFound */
        case 50: st = DSRC_E_TIMEOUT; retry = 1; break;     /* MaxTimeMSExpired */
        case 6: case 7: case 89: case 9001:                 /* network */
        case 91: case 189: case 11600: case 11602:          /* shutting down */
        case 10107: case 13435: case 13436:                 /* not primary */
            st = DSRC_E_UNREACHABLE;
            retry = 1;
            break;
        default: break;
        }
        break;
    case MONGOC_ERROR_CLIENT:
        if (be->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) {
            st = DSRC_E_AUTH;
            /* The driver folds the server's AuthenticationFailed into its
             * own code; the server's code is what an operator looks up. */
            snprintf(code, sizeof code, "18");
        } else {
            snprintf(code, sizeof code, "client.%u", be->code);
        }
        break;
    case MONGOC_ERROR_SERVER_SELECTION:
        st = DSRC_E_UNREACHABLE;
        retry = 1;
        snprintf(code, sizeof code, "select.%u", be->code);
        break;
    case MONGOC_ERROR_STREAM:
        retry = 1;
        broken = 1;
        st = be->code == MONGOC_ERROR_STREAM_SOCKET ? DSRC_E_TIMEOUT : DSRC_E_UNREACHABLE;
        if (strstr(be->message, "timeout") == NULL && be->code == MONGOC_ERROR_STREAM_SOCKET)
            st = DSRC_E_UNREACHABLE;
        snprintf(code, sizeof code, "stream.%u", be->code);
        break;
    case MONGOC_ERROR_CURSOR:
        snprintf(code, sizeof code, "cursor.%u", be->code);
        break;
    default:
        snprintf(code, sizeof code, "%u.%u", be->domain, be->code);
        break;
    }
    st = dsrc_error_set(err, st, retry, code, "%s: %s", what, be->message);
    if (err)
        err->connection_broken = broken;
    return st;
}

static dsrc_status mg_oom(dsrc_error *err)
{
    return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
}

static int mg_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(mg_host, ctx);
}

static dsrc_status mg_cancel_err(dsrc_error *err, const char *what)
{
    return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s cancelled", what);
}

static dsrc_status mg_stopped(dsrc_error *err)
{
    return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

/* Split "db/coll" and decode both (coll may hold '/'); "db" gives coll
 * NULL. */
typedef struct mg_path {
    char *db;
    char *coll;
} mg_path;

static void mg_path_free(mg_path *p)
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
/* open / close / ping / cancel                                              */

static dsrc_status mg_command(dsrc_conn *c, const char *db, const bson_t *cmd, bson_t *reply,
                              bson_error_t *be)
{
    if (mongoc_client_read_command_with_opts(c->client, db, cmd, c->set.discovery_prefs, NULL,
                                             reply, be))
        return DSRC_OK;
    return DSRC_E_BACKEND;
}

static void mg_close(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->client)
        mongoc_client_destroy(c->client);
    mg_settings_free(&c->set);
    bson_free(c->hosts);
    bson_free(c);
}

static dsrc_status mg_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                           dsrc_error *err)
{
    dsrc_conn *c;
    bson_error_t be;
    bson_t cmd = BSON_INITIALIZER, reply;
    dsrc_status st;

    (void)ctx;
    *out = NULL;
    c = bson_malloc0(sizeof *c);
    atomic_init(&c->cancel, 0);
    st = mg_settings_build(p, &c->set, err);
    if (st != DSRC_OK) {
        bson_free(c);
        return st;
    }
    c->hosts = mg_uri_hosts(c->set.uri);
    c->client = mongoc_client_new_from_uri_with_error(c->set.uri, &be);
    if (!c->client) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "the driver refused the connection settings: %s", be.message);
        mg_close(c);
        return st;
    }
    mongoc_client_set_error_api(c->client, MONGOC_ERROR_API_VERSION_2);
    /* A real round-trip: server selection, handshake and authentication. */
    BSON_APPEND_INT32(&cmd, "ping", 1);
    if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
        st = mg_fail(err, &be, "connecting to %s", c->hosts && *c->hosts ? c->hosts : "MongoDB");
        bson_destroy(&reply);
        bson_destroy(&cmd);
        mg_close(c);
        return st;
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    *out = c;
    return DSRC_OK;
}

static dsrc_status mg_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

static int mg_bool(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

static dsrc_status mg_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t be;
    bson_iter_t it;
    dsrc_status st = DSRC_OK;

    (void)ctx;
    atomic_store(&c->cancel, 0);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
        /* Servers before 4.4.2 (wire 9) know only isMaster. */
        bson_destroy(&reply);
        bson_reinit(&cmd);
        BSON_APPEND_INT32(&cmd, "isMaster", 1);
        if (mg_command(c, "admin", &cmd, &reply, &be) != DSRC_OK) {
            st = mg_fail(err, &be, "ping");
            goto out;
        }
    }
    if (info) {
        if (bson_iter_init_find(&it, &reply, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), "isdbgrid") == 0)
            info->role = DSRC_ROLE_STANDALONE; /* a mongos routes for the whole cluster */
        else if (mg_bool(&reply, "secondary"))
            info->role = DSRC_ROLE_REPLICA;
        else if (bson_iter_init_find(&it, &reply, "setName") &&
                 (mg_bool(&reply, "isWritablePrimary") || mg_bool(&reply, "ismaster")))
            info->role = DSRC_ROLE_PRIMARY;
        else if (mg_bool(&reply, "isWritablePrimary") || mg_bool(&reply, "ismaster"))
            info->role = DSRC_ROLE_STANDALONE;
        else
            info->role = DSRC_ROLE_UNKNOWN;
        if (bson_iter_init_find(&it, &reply, "me") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", bson_iter_utf8(&it, NULL));
        else
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->hosts ? c->hosts : "");
        bson_destroy(&reply);
        bson_reinit(&cmd);
        BSON_APPEND_INT32(&cmd, "buildInfo", 1);
        if (mg_command(c, "admin", &cmd, &reply, &be) == DSRC_OK &&
            bson_iter_init_find(&it, &reply, "version") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(info->server_version, sizeof info->server_version, "MongoDB %s",
                     bson_iter_utf8(&it, NULL));
        else
            snprintf(info->server_version, sizeof info->server_version, "MongoDB");
    }
out:
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Catalog helpers                                                           */

typedef struct mg_coll {
    char *name;
    char *type;                  /* "collection", "view", "timeseries"     */
    char *options;               /* JSON of the collection's options       */
} mg_coll;

typedef struct mg_colls {
    mg_coll *v;
    size_t n;
} mg_colls;

static void mg_colls_free(mg_colls *l)
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

static dsrc_status mg_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
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
            char *ipath = dsrc_path_join2(dbs.v[i], NULL);
            if (!ipath) {
                st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                break;
            }
            memset(&it, 0, sizeof it);
            it.struct_size = sizeof it;
            it.path = ipath;
            it.name = dbs.v[i];
            it.kind = DSRC_ITEM_DATABASE;
            it.container = 1;
            it.rows = -1;
            it.size_bytes = dbs.size[i];
            it.mtime = -1;
            if (mg_cancelled(ctx, c))
                st = mg_cancel_err(err, "list");
            else if (sink->item(sink->user, &it) != 0)
                st = mg_stopped(err);
            free(ipath);
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
            char *ipath = dsrc_path_join2(p.db, l.v[i].name);
            if (!ipath) {
                st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                break;
            }
            memset(&it, 0, sizeof it);
            it.struct_size = sizeof it;
            it.path = ipath;
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
            if (mg_cancelled(ctx, c))
                st = mg_cancel_err(err, "list");
            else if (sink->item(sink->user, &it) != 0)
                st = mg_stopped(err);
            free(ipath);
        }
        mg_colls_free(&l);
        mg_path_free(&p);
        return st;
    }
}

/* ------------------------------------------------------------------------ */
/* Sampling and describe                                                     */

/* Infer the schema of db.coll from a $sample of at most sample_size. */
static dsrc_status mg_sample(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
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
        bson_type_t t;
        if (f->depth != 0)
            continue;
        t = mg_field_type(f);
        natives[n_cols] = mg_field_types_text(f);
        comments[n_cols] = bson_strdup_printf("present in %" PRIu64 " of %" PRIu64
                                              " sampled documents", f->present, sch.docs);
        cols[n_cols].name = f->path;
        cols[n_cols].type = t == BSON_TYPE_NULL ? DSRC_T_TEXT : mg_sdk_type(t);
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
static dsrc_status mg_find_coll(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
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

static dsrc_status mg_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
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

static dsrc_status mg_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
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

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

/* 1 when some document of `col` holds `field`, 0 when none, -1 on error. */
static int mg_field_exists(dsrc_conn *c, mongoc_collection_t *col, const char *field,
                           bson_type_t *type_of_max, bson_error_t *be)
{
    bson_t *filter = BCON_NEW(field, "{", "$exists", BCON_BOOL(true), "}");
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1), "sort", "{", field, BCON_INT32(-1), "}",
                            "projection", "{", field, BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, opts,
                                                            c->set.discovery_prefs);
    const bson_t *doc;
    int found = 0;

    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        found = 1;
        if (type_of_max) {
            *type_of_max = BSON_TYPE_NULL;
            bson_iter_t d;
            if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &d))
                *type_of_max = bson_iter_type(&d);
        }
    } else if (mongoc_cursor_error(cur, be)) {
        found = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return found;
}

typedef struct mg_out {
    dsrc_column *cols;
    size_t n;
    char **natives;
} mg_out;

static void mg_out_free(mg_out *o)
{
    size_t i;
    for (i = 0; i < o->n; i++) {
        bson_free((char *)o->cols[i].name);
        bson_free(o->natives[i]);
    }
    bson_free(o->cols);
    bson_free(o->natives);
    memset(o, 0, sizeof *o);
}

static void mg_out_add(mg_out *o, const char *name, dsrc_type t, char *native, int pk)
{
    o->cols = bson_realloc(o->cols, (o->n + 1) * sizeof *o->cols);
    o->natives = bson_realloc(o->natives, (o->n + 1) * sizeof *o->natives);
    memset(&o->cols[o->n], 0, sizeof o->cols[o->n]);
    o->cols[o->n].name = bson_strdup(name);
    o->cols[o->n].type = t;
    o->cols[o->n].native_type = native;
    o->cols[o->n].nullable = 1;
    o->cols[o->n].primary_key = pk;
    o->natives[o->n] = native;
    o->n++;
}

static dsrc_status mg_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                            const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                            dsrc_fetch_result *result, dsrc_error *err)
{
    mg_path p = {0};
    mg_colls l = {0};
    mg_schema sch = {0};
    mg_out out = {0};
    mongoc_collection_t *col = NULL;
    mongoc_cursor_t *cur = NULL;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, child;
    bson_error_t be;
    dsrc_status st;
    dsrc_cell *cells = NULL;
    char **scratch = NULL;
    const bson_t *doc;
    uint64_t nrows = 0, nvals = 0;
    int last_kind = 0, ties;
    dsrc_cursor_max *cm = NULL;
    char *cval = NULL;
    bson_type_t ctype = BSON_TYPE_NULL;
    size_t i;

    (void)bytes;
    atomic_store(&c->cancel, 0);
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = 0;
        result->has_cursor = 0;
    }
    if (!req || !rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: no request or no row receiver");
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "collections have no raw form: fetch rows or CSV");
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    if (mg_cancelled(ctx, c))
        return mg_cancel_err(err, "fetch");
    st = mg_find_coll(ctx, c, req->item, &p, &l, err);
    if (st != DSRC_OK)
        return st;
    col = mongoc_client_get_collection(c->client, p.db, p.coll);
    cm = bson_malloc0(sizeof *cm);
    dsrc_cursor_max_init(cm, req->cursor_field, "field", NULL);
    cval = bson_malloc0(DSRC_CURSOR_MAX);

    /* The output columns. */
    if (!c->set.output_document) {
        st = mg_sample(ctx, c, p.db, p.coll, &sch, err);
        if (st != DSRC_OK)
            goto out;
    }
    for (i = 0; i < req->n_columns; i++) {
        const char *name = req->columns[i];
        ssize_t k;
        if (!name || !*name || strchr(name, '$') || name[0] == '.') {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' is not a field name", name ? name : "(null)");
            goto out;
        }
        k = c->set.output_document ? -1 : mg_schema_find(&sch, name);
        if (k < 0) {
            int e = mg_field_exists(c, col, name, NULL, &be);
            if (e < 0) {
                st = mg_fail(err, &be, "fetch");
                goto out;
            }
            if (e == 0) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "no document of '%s' has a field '%s'", req->item, name);
                goto out;
            }
        }
        if (!c->set.output_document) {
            if (k >= 0) {
                bson_type_t t = mg_field_type(&sch.f[k]);
                mg_out_add(&out, name, t == BSON_TYPE_NULL ? DSRC_T_TEXT : mg_sdk_type(t),
                           mg_field_types_text(&sch.f[k]), strcmp(name, "_id") == 0);
            } else {
                mg_out_add(&out, name, DSRC_T_JSON, bson_strdup("unsampled"), 0);
            }
        }
    }
    if (c->set.output_document) {
        mg_out_add(&out, "document", DSRC_T_JSON,
                   bson_strdup(c->set.canonical ? "canonical extended json"
                                                : "relaxed extended json"), 0);
    } else if (!req->n_columns) {
        for (i = 0; i < sch.n; i++) {
            bson_type_t t;
            if (sch.f[i].depth)
                continue;
            t = mg_field_type(&sch.f[i]);
            mg_out_add(&out, sch.f[i].path, t == BSON_TYPE_NULL ? DSRC_T_TEXT : mg_sdk_type(t),
                       mg_field_types_text(&sch.f[i]), strcmp(sch.f[i].path, "_id") == 0);
        }
    }

    /* The cursor field, and its type from the highest value stored. */
    if (req->cursor_field) {
        int e;
        if (!*req->cursor_field || strchr(req->cursor_field, '$')) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' is not a field name", req->cursor_field);
            goto out;
        }
        e = mg_field_exists(c, col, req->cursor_field, &ctype, &be);
        if (e < 0) {
            st = mg_fail(err, &be, "fetch");
            goto out;
        }
        if (e == 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "no document of '%s' has the cursor field '%s'", req->item,
                                req->cursor_field);
            goto out;
        }
        if (req->cursor_value) {
            BSON_APPEND_DOCUMENT_BEGIN(&filter, req->cursor_field, &child);
            st = mg_cursor_append(&child, "$gt", req->cursor_field, req->cursor_value, ctype,
                                  err);
            bson_append_document_end(&filter, &child);
            if (st != DSRC_OK)
                goto out;
        }
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &child);
        BSON_APPEND_INT32(&child, req->cursor_field, 1);
        bson_append_document_end(&opts, &child);
    }
    if (req->n_columns) {
        int has_id = 0, has_cursor = 0;
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &child);
        for (i = 0; i < req->n_columns; i++) {
            has_id |= strcmp(req->columns[i], "_id") == 0;
            has_cursor |= req->cursor_field && strcmp(req->columns[i], req->cursor_field) == 0;
            BSON_APPEND_INT32(&child, req->columns[i], 1);
        }
        if (req->cursor_field && !has_cursor)
            BSON_APPEND_INT32(&child, req->cursor_field, 1);
        if (!has_id && !(req->cursor_field && strcmp(req->cursor_field, "_id") == 0))
            BSON_APPEND_INT32(&child, "_id", 0);
        bson_append_document_end(&opts, &child);
    }
    /* With a cursor, a limit ends at the whole group of the last
     * document's cursor value (see the loop): the server gets no limit,
     * only batches no larger than it. */
    ties = req->cursor_field && req->limit > 0;
    if (req->limit > 0 && !ties)
        BSON_APPEND_INT64(&opts, "limit", req->limit);
    BSON_APPEND_INT32(&opts, "batchSize",
                      ties && req->limit < (int64_t)c->set.batch_size
                          ? (int32_t)req->limit + 1
                          : (int32_t)c->set.batch_size);

    cells = bson_malloc0((out.n + 1) * sizeof *cells);
    scratch = bson_malloc0((out.n + 1) * sizeof *scratch);
    if (rows->schema(rows->user, out.cols, out.n) != 0) {
        st = mg_stopped(err);
        goto out;
    }
    if (req->limit == 0) /* find's limit 0 means "no limit" */
        goto done;
    cur = mongoc_collection_find_with_opts(col, &filter, &opts, c->set.fetch_prefs);
    for (;;) {
        bson_iter_t it, d;
        int ok = 0, kind;
        if (mg_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch cancelled after %" PRIu64 " documents", nrows);
            goto out;
        }
        if (!mongoc_cursor_next(cur, &doc))
            break;
        /* The document's cursor: kind 0 none (missing or null: these sort
         * first), 1 its text in cval, -1 a value that has no text. */
        kind = 0;
        if (req->cursor_field && bson_iter_init(&it, doc) &&
            bson_iter_find_descendant(&it, req->cursor_field, &d) &&
            bson_iter_type(&d) != BSON_TYPE_NULL)
            kind = mg_cursor_text(&d, cval, DSRC_CURSOR_MAX) == 0 ? 1 : -1;
        /* Past the limit, only the rest of the group of documents whose
         * cursor equals the last one sent: the next fetch, after the
         * highest value sent, must not skip any of them.  Documents
         * without a cursor come first (from the start only) and do not
         * count. */
        if (ties && nvals >= (uint64_t)req->limit &&
            (kind != last_kind || kind < 0 || (kind == 1 && strcmp(cval, cm->value) != 0)))
            break;
        if (c->set.output_document) {
            size_t len = 0;
            scratch[0] = c->set.canonical ? bson_as_canonical_extended_json(doc, &len)
                                          : bson_as_relaxed_extended_json(doc, &len);
            ok = scratch[0] != NULL;
            memset(&cells[0], 0, sizeof cells[0]);
            cells[0].type = DSRC_T_JSON;
            cells[0].v.s.ptr = scratch[0];
            cells[0].v.s.len = len;
        } else {
            ok = 1;
            for (i = 0; i < out.n; i++) {
                int has = bson_iter_init(&it, doc) && bson_iter_find(&it, out.cols[i].name);
                if (mg_value_cell(has ? &it : NULL, c->set.canonical, &cells[i], &scratch[i]) != 0)
                    ok = 0;
            }
        }
        if (ok && rows->row(rows->user, cells, out.n) != 0)
            st = mg_stopped(err);
        for (i = 0; i < out.n; i++) {
            bson_free(scratch[i]);
            scratch[i] = NULL;
        }
        if (!ok)
            st = mg_oom(err);
        if (st != DSRC_OK)
            goto out;
        nrows++;
        /* Sorted by the cursor: the last value sent is the highest. */
        last_kind = kind;
        nvals += kind != 0;
        if (kind == 1)
            dsrc_cursor_max_offer(cm, cval, strlen(cval));
        else if (kind < 0)
            dsrc_cursor_max_note(cm, 0);
        if (result)
            result->rows = nrows;
    }
    if (mongoc_cursor_error(cur, &be)) {
        st = mg_fail(err, &be, "fetching '%s'", req->item);
        goto out;
    }
done:
    if (result) {
        result->rows = nrows;
        dsrc_cursor_max_report(cm, mg_host, ctx, result);
    }
out:
    if (result)
        result->rows = nrows;
    if (cur)
        mongoc_cursor_destroy(cur);
    if (col)
        mongoc_collection_destroy(col);
    bson_destroy(&filter);
    bson_destroy(&opts);
    bson_free(cells);
    bson_free(scratch);
    bson_free(cm);
    bson_free(cval);
    mg_out_free(&out);
    mg_schema_free(&sch);
    mg_colls_free(&l);
    mg_path_free(&p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

/* The driver's own log lines go to the host's log (which redacts known
 * secrets); its debug and trace chatter is dropped. */
static void mg_driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                          void *user)
{
    dsrc_log_level l;
    (void)user;
    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL: l = DSRC_LOG_ERROR; break;
    case MONGOC_LOG_LEVEL_WARNING: l = DSRC_LOG_WARNING; break;
    case MONGOC_LOG_LEVEL_MESSAGE: l = DSRC_LOG_NOTICE; break;
    case MONGOC_LOG_LEVEL_INFO: l = DSRC_LOG_INFO; break;
    default: return;
    }
    if (mg_host && mg_host->log)
        mg_host->log(NULL, l, "mongo-c-driver %s: %s", domain, message);
}

static void mg_unload(void)
{
    mongoc_log_set_handler(NULL, NULL);
    mongoc_cleanup();
}

static const dsrc_driver mg_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "mongo",
    .version = MG_VERSION,
    .description = "MongoDB databases and collections (mongo-c-driver)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_REPLICAS,
    .options = mg_options,
    .open = mg_open,
    .close = mg_close,
    .ping = mg_ping,
    .list = mg_list,
    .describe = mg_describe,
    .discover = mg_discover,
    .fetch = mg_fetch,
    .cancel = mg_cancel,
    .unload = mg_unload,
};

DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version, const dsrc_host *host,
                                         dsrc_driver *drv, dsrc_error *err)
{
    dsrc_status s = dsrc_plugin_check("mongo", host_abi_version, drv, err);

    if (s != DSRC_OK)
        return s;
    mg_host = host;
    mongoc_init();
    mongoc_log_set_handler(mg_driver_log, NULL);
    dsrc_driver_fill(drv, &mg_driver);
    return DSRC_OK;
}

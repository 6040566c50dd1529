/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg.h -- internal interfaces of the mongo connector (mongo.so).
 *
 * Not part of the SDK: shared only by the files of plugins/mongo and by
 * the connector's own tests, which compile mg_uri.c directly to check the
 * URI it builds through the driver's parser.  Includes only the SDK header,
 * the driver's headers and <stdatomic.h>.
 *
 * Files:
 *   mongo.c       entry point, open / close / ping / cancel
 *   mg_uri.c      option table; options -> mongoc_uri_t, TLS, read prefs
 *   mg_error.c    driver errors -> dsrc_error; cancelled / stopped
 *   mg_catalog.c  item paths, list, describe, discover, sampling
 *   mg_schema.c   a schema inferred from sampled documents
 *   mg_value.c    BSON types -> SDK types, cells, Extended JSON, cursors
 *   mg_fetch.c    fetch (rows or documents, projection, limit, cursor)
 *   mg_qparse.c   a query's request: JSON, placeholders, no writing stage
 *   mg_query.c    query: a find or an aggregate, its documents as rows
 */
#ifndef DSRC_PLUGIN_MG_H
#define DSRC_PLUGIN_MG_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <mongoc/mongoc.h>

#include <stdatomic.h>

/* The option table of mongo.so (terminated by DSRC_OPTION_END). */
extern const dsrc_option mg_options[];

/* How a connection reads: discovery (list, describe, discover, ping) always
 * reads primaryPreferred; fetch follows the source's read_policy. */
typedef struct mg_settings {
    mongoc_uri_t *uri;           /* owned; what the client connects with   */
    mongoc_read_prefs_t *discovery_prefs; /* owned                         */
    mongoc_read_prefs_t *fetch_prefs;     /* owned                         */
    char *database;              /* the `database` option, or the URI's;
                                    NULL: every database is listed         */
    int output_document;         /* output = "document"                     */
    int canonical;               /* json = "canonical"                      */
    int64_t sample_size;         /* documents sampled per collection       */
    int64_t batch_size;          /* find batch size                         */
} mg_settings;

/* Build the settings of one connection from validated open params: the URI
 * through the driver's URI API (credentials and options by setters, never
 * pasted into a string), TLS from the tls group, replica set and read
 * preferences.  Without `seeds` the source's replicas.hosts (when the
 * host hands them over) join host:port in the seed list, so every
 * endpoint of a source yields the same replica set connection.  On success fills `out` (free it with mg_settings_free());
 * on failure fills `err` (DSRC_E_INVALID_CONFIG) with a message that names
 * the source and holds no secret, and leaves nothing to free. */
dsrc_status mg_settings_build(const dsrc_open_params *params, mg_settings *out,
                              dsrc_error *err);

/* Free what mg_settings_build() allocated (the password inside the URI is
 * dropped with it).  Safe on a zeroed struct. */
void mg_settings_free(mg_settings *s);

/* The hosts of `uri` as "host:port,host:port", for messages and ping
 * info: never credentials or options.  Returns a bson_malloc'd string
 * (bson_free it); "" for a mongodb+srv URI not yet resolved; NULL only
 * when `uri` is NULL. */
char *mg_uri_hosts(const mongoc_uri_t *uri);


/* ------------------------------------------------------------------------ */
/* Values (mg_value.c)                                                       */

/* The SDK type a BSON type is delivered as: int32/int64 INT64, double
 * DOUBLE, string/objectId/decimal128/symbol TEXT, bool BOOL, date
 * TIMESTAMP, binary BYTES, null/undefined NULL, anything else JSON. */
dsrc_type mg_sdk_type(bson_type_t t);

/* The BSON type's name as the server's $type spells it ("int", "long",
 * "string", "objectId", ...). */
const char *mg_type_name(bson_type_t t);

/* A value rendered as Extended JSON (relaxed or canonical).  Returns a
 * bson_malloc'd string, or NULL when out of memory. */
char *mg_value_json(const bson_iter_t *it, int canonical);

/* Fill `cell` from the value at `it` (NULL: the field is absent).  Text
 * that has to be made (dates, objectIds, decimals, JSON) goes to *scratch,
 * a bson_malloc'd string the caller frees once the cell has been handed
 * over (it is set to NULL when nothing was made).  Returns 0, -1 when out
 * of memory. */
int mg_value_cell(const bson_iter_t *it, int canonical, dsrc_cell *cell, char **scratch);

/* The value at `it` as cursor text into out[outsz]: integers in decimal,
 * doubles in their shortest exact form, strings as is, dates in ISO 8601
 * UTC with milliseconds, objectIds in hex, decimals as text.  Returns 0,
 * or -1 when the value cannot serve as a cursor. */
int mg_cursor_text(const bson_iter_t *it, char *out, size_t outsz);

/* Append `key`: the cursor value `text` converted to the BSON type `t`
 * the field holds (numbers, strings, dates, objectIds, decimals).  Returns
 * DSRC_OK or DSRC_E_INVALID_ARGUMENT in `err` naming the field. */
dsrc_status mg_cursor_append(bson_t *dst, const char *key, const char *field,
                             const char *text, bson_type_t t, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* Schema inference (mg_schema.c)                                            */

#define MG_NTYPES 22

/* One field path seen in a sample: "a", "a.b"; inside arrays the elements'
 * fields extend the array's path ("tags.name"). */
typedef struct mg_field {
    char *path;
    int depth;                    /* 0: a top-level field                   */
    uint64_t present;             /* sampled documents that hold it         */
    uint64_t types[MG_NTYPES];    /* occurrences per BSON type              */
    uint64_t last_doc;            /* internal: the document last counted    */
} mg_field;

/* What a sample showed: fields in first-seen order, "_id" first. */
typedef struct mg_schema {
    mg_field *f;
    size_t n, cap;
    uint64_t docs;                /* documents sampled                      */
    int failed;                   /* out of memory at some point            */
} mg_schema;

/* Count one sampled document into `s`. */
void mg_schema_add(mg_schema *s, const bson_t *doc);

/* Free a schema's contents (the struct itself is the caller's). */
void mg_schema_free(mg_schema *s);

/* "int:3,string:1": the types seen with their counts, most frequent first.
 * bson_malloc'd. */
char *mg_field_types_text(const mg_field *f);
/* The cell type a column of the field is declared with: the one SDK type
 * every non-null sampled value has (int and double together: double);
 * json when the sample saw values of different types (every cell type
 * fits a json column); text when it saw only nulls. */
dsrc_type mg_field_cell_type(const mg_field *f);

/* The field list as a JSON array of {"path", "types": {name: count},
 * "present": documents holding it} (the ratio's denominator is s->docs),
 * bson_malloc'd; NULL when out of memory. */
char *mg_schema_json(const mg_schema *s);

/* Index of `path` in `s`, or -1. */
ssize_t mg_schema_find(const mg_schema *s, const char *path);


/* ------------------------------------------------------------------------ */
/* Connections (mongo.c)                                                     */

/* The host's services, set by dsrc_plugin_init(). */
extern const dsrc_host *mg_host;

/* A connection: one client, its settings. */
struct dsrc_conn {
    mongoc_client_t *client;
    mg_settings set;
    char *hosts;                 /* "host:port,...", for messages          */
    atomic_int cancel;
};

/* Run `cmd` on database `db`, read with the discovery preference.  The
 * driver initialises `reply` in any case (bson_destroy it).  Returns
 * DSRC_OK, or DSRC_E_BACKEND with the driver's error in *be (map it with
 * mg_fail()). */
dsrc_status mg_command(dsrc_conn *c, const char *db, const bson_t *cmd, bson_t *reply,
                       bson_error_t *be);

/* ------------------------------------------------------------------------ */
/* Errors (mg_error.c)                                                       */

/* Map a driver error to a status in `err`, the message "<fmt>: <driver's
 * message>".  Server errors keep the server's code in backend_code (18
 * authentication failed, 13 unauthorized, 26 namespace not found, ...);
 * the driver's own errors keep "domain.code".  Stream errors mark the
 * connection broken.  Returns the status. */
dsrc_status mg_fail(dsrc_error *err, const bson_error_t *be, const char *fmt, ...)
    DSRC_PRINTF(3, 4);

/* 1 when the host cancelled the call or cancel() was called on `c`. */
int mg_cancelled(const dsrc_ctx *ctx, dsrc_conn *c);

/* DSRC_E_CANCELLED, "<what> cancelled". */
dsrc_status mg_cancel_err(dsrc_error *err, const char *what);

/* DSRC_E_CANCELLED, "stopped by the receiver" (a sink returned non-zero). */
dsrc_status mg_stopped(dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* Catalog (mg_catalog.c)                                                    */

/* Split "db/coll" and decode both (coll may hold '/'); "db" gives coll
 * NULL. */
typedef struct mg_path {
    char *db;
    char *coll;
} mg_path;

/* Free a path's strings; safe on a zeroed or freed one. */
void mg_path_free(mg_path *p);

/* One collection or view, as listCollections describes it. */
typedef struct mg_coll {
    char *name;
    char *type;                  /* "collection", "view", "timeseries"     */
    char *options;               /* JSON of the collection's options       */
} mg_coll;

typedef struct mg_colls {
    mg_coll *v;
    size_t n;
} mg_colls;

/* Free a listing's contents; safe on a zeroed one. */
void mg_colls_free(mg_colls *l);

/* Find the collection of the item path `item`: fills *p (free with
 * mg_path_free()) and *l with its one entry (free with mg_colls_free()).
 * Returns DSRC_OK, or an error in `err` (INVALID_ARGUMENT for a database
 * or a bad path, NOT_FOUND when it does not exist) leaving nothing to
 * free. */
dsrc_status mg_find_coll(const dsrc_ctx *ctx, dsrc_conn *c, const char *item, mg_path *p,
                         mg_colls *l, dsrc_error *err);

/* Infer the schema of db.coll from a $sample of at most the source's
 * sample_size documents into *out (free with mg_schema_free()).  Returns
 * DSRC_OK, or an error in `err` leaving nothing to free. */
dsrc_status mg_sample(const dsrc_ctx *ctx, dsrc_conn *c, const char *db, const char *coll,
                      mg_schema *out, dsrc_error *err);

/* The driver calls list, describe and discover (<dsrc/plugin.h>). */
dsrc_status mg_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status mg_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);
dsrc_status mg_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* Fetch (mg_fetch.c)                                                        */

/* The driver call fetch (<dsrc/plugin.h>): rows only (RAW is
 * unsupported). */
dsrc_status mg_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* Queries (mg_qparse.c, mg_query.c)                                         */

/* A parsed query request. */
typedef struct mg_query {
    int aggregate;               /* 1: aggregate, 0: find                   */
    char *db, *coll;             /* bson_malloc'd                           */
    bson_t filter;               /* find: the filter                        */
    bson_t pipeline;             /* aggregate: the stages                   */
    bson_t opts;                 /* find: projection, sort, skip, hint...   */
    int64_t limit;               /* find: 0 none                            */
    int has_filter, has_pipeline;
} mg_query;

/* Parse `text`, a JSON document {"find": "coll", "filter": {...},
 * "projection", "sort", "limit", "skip", "hint", "collation"} or
 * {"aggregate": "coll", "pipeline": [...]} (both may name a "database";
 * else `default_db`), every {"$param": N} in it replaced by params[N-1] as
 * a string (NULL: null).  Refused with DSRC_E_PERMISSION: a $out or $merge
 * key at any depth (stages, $facet, $lookup, $unionWith).  Errors
 * DSRC_E_INVALID_ARGUMENT: not JSON, an unknown key, a placeholder without
 * a parameter or a parameter without a placeholder.  On success free `out`
 * with mg_query_free(); on failure there is nothing to free. */
dsrc_status mg_query_parse(const char *text, const char *const *params, size_t n_params,
                           const char *default_db, mg_query *out, dsrc_error *err);
void mg_query_free(mg_query *q);

/* query(): run a parsed request, documents as rows. */
dsrc_status mg_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *result,
                         dsrc_error *err);

#endif

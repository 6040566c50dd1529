/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq.h -- internals shared by the files of the sqlite connector.
 *
 * Not an interface: only the plugin's own files include it.  Everything
 * here has the `sq_` prefix and is hidden from the host by the module's
 * export list (only dsrc_plugin_abi and dsrc_plugin_init are visible).
 *
 * Files:
 *   sqlite.c      entry point, option table, open / close / ping, storage
 *   sq_error.c    SQLite result codes -> dsrc_error; preparing statements
 *   sq_types.c    declared types -> SDK types; values -> cells
 *   sq_catalog.c  quoting, columns, item paths, list, describe, discover
 *   sq_fetch.c    fetch (columns, cursor, limit); cancellation
 *   sq_query.c    query: one read-only statement with bound parameters
 */
#ifndef DSRC_PLUGIN_SQ_H
#define DSRC_PLUGIN_SQ_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <sqlite3.h>

#include <stdint.h>
#include <sys/types.h>

/* How many rows a loop reads between two looks at the host's
 * cancellation flag. */
#define SQ_CANCEL_EVERY 1000

/* The host's services, set by dsrc_plugin_init(). */
extern const dsrc_host *sq_host;

/* One database file, opened read-only. */
struct dsrc_conn {
    sqlite3 *db;
    char *path;
    int busy_ms;     /* busy_timeout: how long sq_busy() waits for a lock */
};

/* ------------------------------------------------------------------------ */
/* sq_error.c                                                                */

/* The primary result code's name without "SQLITE_" (fits backend_code). */
const char *sq_code_name(int rc);

/* Map an SQLite result code to a dsrc status and retryable flag. */
dsrc_status sq_status(int rc, int *retryable);

/* Fill err from the connection's last SQLite error (`db` may be NULL:
 * then from `rc`); `what` says what was being done.  Returns the status. */
dsrc_status sq_fail(dsrc_error *err, sqlite3 *db, int rc, const char *what);

/* Prepare `sql`; on failure fill err (*st = NULL). */
dsrc_status sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *what,
                       dsrc_error *err);

/* Prepare the text built in `q` like sq_prepare(), then free it and empty
 * `q`; a `q` that ran out of memory is an error (*st = NULL). */
dsrc_status sq_prepare_buf(sqlite3 *db, dsrc_buf *q, sqlite3_stmt **st, const char *what,
                           dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* sq_types.c                                                                */

typedef enum sq_affinity {
    SQ_AFF_INTEGER,
    SQ_AFF_TEXT,
    SQ_AFF_BLOB,
    SQ_AFF_REAL,
    SQ_AFF_NUMERIC
} sq_affinity;

/* SQLite's column affinity rules for a declared type (may be NULL). */
sq_affinity sq_affinity_of(const char *decl);

/* True when a declared type is BOOLEAN / BOOL, DATE / DATETIME /
 * TIMESTAMP / TIMESTAMPTZ, JSON / JSONB (its first word, any case). */
int sq_decl_is_bool(const char *decl);
int sq_decl_is_time(const char *decl);
int sq_decl_is_json(const char *decl);

/* The SDK type a column's values are reported as (TEXT for a column
 * without a declared type). */
dsrc_type sq_type_of(const char *decl);

/* Fill a cell from result column `i` of `st`; `cls` is the column's
 * declared type class: 'b' boolean, 't' date/time, 'j' JSON, 0 other.
 * Text and blobs point into `st` (valid until its next step). */
void sq_cell(sqlite3_stmt *st, int i, char cls, dsrc_cell *cell);
/* 1 when `cell` may be sent in a column of SDK type `declared` (the
 * host's rule: the same type, NULL, an integer for a double; anything in
 * TEXT and JSON), else 0. */
int sq_cell_fits(dsrc_type declared, const dsrc_cell *cell);

/* ------------------------------------------------------------------------ */
/* sq_catalog.c                                                              */

/* Append an identifier in double quotes, embedded quotes doubled. */
void sq_buf_ident(dsrc_buf *b, const char *id);

/* The columns of a table. */
typedef struct sq_cols {
    dsrc_column *v;
    char **decl;     /* declared type per column (owned; also native_type) */
    size_t n, cap;
    int failed;
} sq_cols;

/* Free what `c` holds and empty it. */
void sq_cols_free(sq_cols *c);

/* Read the columns of schema.table into `cols` (hidden columns of virtual
 * tables left out; an INTEGER PRIMARY KEY is not nullable). */
dsrc_status sq_read_columns(sqlite3 *db, const char *schema, const char *table,
                            sq_cols *cols, dsrc_error *err);

/* The index of the column `name` (exact match first, then any case), or -1. */
ssize_t sq_cols_find(const sq_cols *c, const char *name);

/* A table or view found in a schema. */
typedef struct sq_obj {
    char *schema;
    char *name;
    char *sql;       /* the CREATE statement; may be NULL */
    int is_view;
    int is_virtual;
} sq_obj;

/* Free what `o` holds and empty it. */
void sq_obj_free(sq_obj *o);

/* Find the table or view addressed by `path` ("schema/name" or "name",
 * escaped as <dsrc/plugin_util.h> says) and fill `o` (the caller frees it
 * with sq_obj_free()).  DSRC_E_NOT_FOUND names it. */
dsrc_status sq_resolve(sqlite3 *db, const char *path, sq_obj *o, dsrc_error *err);

/* The driver's list, describe and discover calls. */
dsrc_status sq_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status sq_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);
dsrc_status sq_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* sq_fetch.c                                                                */

/* Install a progress handler on `db` that polls the host's cancellation
 * flag for `ctx` while a statement runs; sq_unwatch() removes it, frees
 * the connection's page cache (a pooled connection waits idle between
 * calls: it should hold no memory) and returns `s`, the status of the
 * call that ran while watched. */
void sq_watch(sqlite3 *db, const dsrc_ctx *ctx);
dsrc_status sq_unwatch(sqlite3 *db, dsrc_status s);

/* SQLite's busy handler (arg: an int, the limit in milliseconds): waits
 * for a lock held by another process in short slices, on the host's
 * cancel descriptor when there is one, and gives up when the call being
 * watched (sq_watch()) is cancelled or the limit is reached. */
int sq_busy(void *arg, int n);

/* The driver's cancel call (sqlite3_interrupt()) and fetch call. */
dsrc_status sq_cancel(dsrc_conn *c);
dsrc_status sq_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* sq_query.c                                                                */

/* The driver's query call (ABI 1.4). */
dsrc_status sq_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                     const dsrc_row_sink *rows, dsrc_fetch_result *result, dsrc_error *err);

#endif /* DSRC_PLUGIN_SQ_H */

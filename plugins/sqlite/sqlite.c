/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite.c -- the sqlite connector: one SQLite database file as a source.
 * Entry point, options, open, close, ping, storage.
 *
 * Built only against <dsrc/plugin.h> and libsqlite3.  The database is
 * always opened read-only through a "file:" URI (mode=ro, optionally
 * immutable=1) with PRAGMA query_only; a missing file is never created.
 *
 * The other files: see sq.h.
 */
#include "sq.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

DSRC_PLUGIN_ABI();

#define SQ_VERSION "1.0.0"

const dsrc_host *sq_host;

/* ------------------------------------------------------------------------ */
/* Options and open                                                          */

static const dsrc_option sq_options[] = {
    {"path", DSRC_OPT_PATH, DSRC_OPT_REQUIRED, NULL, NULL,
     "the SQLite database file (opened read-only, never created)", {NULL, NULL}},
    {"busy_timeout", DSRC_OPT_DURATION, 0, "5s", NULL,
     "how long to wait for a lock held by a writer", {NULL, NULL}},
    {"immutable", DSRC_OPT_BOOL, 0, "false", NULL,
     "treat the file as unchangeable (no locking; only for read-only media)", {NULL, NULL}},
    DSRC_OPTION_END
};

/* A "file:" URI for `path` with mode=ro (and immutable=1). */
static char *sq_uri(const char *path, int immutable)
{
    static const char hex[] = "0123456789ABCDEF";
    dsrc_buf b = {0};
    const unsigned char *p;

    dsrc_buf_add(&b, "file:");
    for (p = (const unsigned char *)path; *p; p++) {
        if (isalnum(*p) || strchr("/-._~", *p)) {
            dsrc_buf_addn(&b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            dsrc_buf_addn(&b, e, 3);
        }
    }
    dsrc_buf_add(&b, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static dsrc_status sq_open(const dsrc_ctx *ctx, const dsrc_open_params *params,
                           dsrc_conn **out, dsrc_error *err)
{
    const char *path, *v;
    long long busy_ms = 5000;
    int immutable = 0, rc;
    struct stat sb;
    char *uri, *end;
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    dsrc_conn *c;

    *out = NULL;
    path = dsrc_kv_get(params->options, params->n_options, "path");
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'path' is required: the SQLite database file");
    v = dsrc_kv_get(params->options, params->n_options, "busy_timeout");
    if (v) {
        errno = 0;
        busy_ms = strtoll(v, &end, 10);
        if (errno || end == v || *end || busy_ms < 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'busy_timeout': '%s' is not a duration in milliseconds",
                                  v);
        if (busy_ms > INT_MAX)
            busy_ms = INT_MAX;
    }
    v = dsrc_kv_get(params->options, params->n_options, "immutable");
    if (v) {
        if (strcmp(v, "true") == 0)
            immutable = 1;
        else if (strcmp(v, "false") != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'immutable': '%s' is not true or false", v);
    }

    /* Never let SQLite create a file: check it is there first. */
    if (stat(path, &sb) != 0) {
        int e = errno;
        char code[16];
        snprintf(code, sizeof code, "%d", e);
        if (e == ENOENT || e == ENOTDIR)
            return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, code,
                                  "database file '%s' does not exist", path);
        if (e == EACCES)
            return dsrc_error_set(err, DSRC_E_PERMISSION, 0, code,
                                  "database file '%s': %s", path, strerror(e));
        return dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, code,
                              "database file '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "'%s' is a directory, not an SQLite database file", path);

    uri = sq_uri(path, immutable);
    c = calloc(1, sizeof *c);
    if (!uri || !c || !(c->path = dsrc_strdup(path))) {
        free(uri);
        free(c);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    c->busy_ms = (int)busy_ms;
    rc = sqlite3_open_v2(uri, &db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        free(c->path);
        free(c);
        dsrc_status s;
        int retryable;
        s = sq_status(rc, &retryable);
        if ((rc & 0xff) == SQLITE_CANTOPEN)
            s = access(path, R_OK) != 0 ? DSRC_E_PERMISSION : DSRC_E_UNREACHABLE;
        s = dsrc_error_set(err, s, retryable, sq_code_name(rc),
                           "cannot open database '%s': %s", path,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return s;
    }
    sqlite3_extended_result_codes(db, 0);
    /* mode=ro leaves the temp schema writable: query_only closes it too,
     * so that a query (sq_query.c) can change nothing at all */
    (void)sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    /* busy_timeout, cancellable (sqlite3_busy_timeout() is not) */
    sqlite3_busy_handler(db, sq_busy, &c->busy_ms);

    /* Opening is lazy: read the schema now so a file that is not a
     * database is refused here, not on first use. */
    sq_watch(db, ctx);
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc = SQLITE_OK;
        sqlite3_finalize(st);
    }
    sq_unwatch(db, DSRC_OK);
    if (rc != SQLITE_OK) {
        dsrc_status s;
        free(c->path);
        free(c);
        if (dsrc_cancelled(sq_host, ctx))
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, sq_code_name(rc),
                               "opening '%s' cancelled", path);
        else if ((rc & 0xff) == SQLITE_NOTADB)
            s = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, sq_code_name(rc),
                               "'%s' is not an SQLite database (%s)", path,
                               sqlite3_errmsg(db));
        else
            s = sq_fail(err, db, rc, "reading the database schema");
        sqlite3_close(db);
        return s;
    }

    c->db = db;
    if (sq_host && sq_host->log)
        sq_host->log(ctx, DSRC_LOG_DEBUG, "opened '%s' read-only%s", path,
                     immutable ? " (immutable)" : "");
    *out = c;
    return DSRC_OK;
}

static void sq_close(dsrc_conn *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* ping                                                                      */

static dsrc_status sq_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;

    s = sq_prepare(c->db, "SELECT 1", &st, "ping", err);
    if (s != DSRC_OK)
        return s;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 1) {
        s = sq_fail(err, c->db, rc == SQLITE_ROW ? SQLITE_ERROR : rc, "ping");
        sqlite3_finalize(st);
        return s;
    }
    sqlite3_finalize(st);
    if (info) {
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, role))
            info->role = DSRC_ROLE_STANDALONE;
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_version))
            snprintf(info->server_version, sizeof info->server_version, "SQLite %s",
                     sqlite3_libversion());
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, endpoint))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->path);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* storage                                                                   */

/* One integer from a single-row query; -1 when it fails. */
static int64_t sq_int_query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The main database: page_count * page_size used, freelist_count *
 * page_size free, and the number of user tables. */
static dsrc_status sq_storage(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_storage_info *info,
                              dsrc_error *err)
{
    int64_t pages, page_size, free_pages, tables;

    (void)ctx;
    page_size = sq_int_query(c->db, "PRAGMA main.page_size");
    pages = sq_int_query(c->db, "PRAGMA main.page_count");
    if (page_size <= 0 || pages < 0)
        return sq_fail(err, c->db, sqlite3_errcode(c->db) == SQLITE_OK
                                       ? SQLITE_ERROR : sqlite3_errcode(c->db),
                       "reading the database size");
    free_pages = sq_int_query(c->db, "PRAGMA main.freelist_count");
    tables = sq_int_query(c->db, "SELECT count(*) FROM main.sqlite_master WHERE type = "
                                 "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    sqlite3_db_release_memory(c->db); /* see sq_unwatch() */
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, used_bytes))
        info->used_bytes = pages * page_size;
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, free_bytes))
        info->free_bytes = free_pages >= 0 ? free_pages * page_size : -1;
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, items))
        info->items = tables;
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

/* Limits on single values (ABI 1.1), checked by the host with file:line. */
static const dsrc_option_limit sq_limits[] = {
    {"busy_timeout", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 2147483647, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

static const dsrc_driver sq_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "sqlite",
    .option_limits = sq_limits,
    .version = SQ_VERSION,
    .description = "SQLite database files, opened read-only",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_STORAGE |
                    DSRC_CAP_QUERY,
    .options = sq_options,
    DSRC_DRIVER_CALLS(sq),
    .describe = sq_describe,
    .discover = sq_discover,
    .cancel = sq_cancel,
    .storage = sq_storage,
    .query = sq_query,
};

DSRC_PLUGIN_INIT(sq_driver, &sq_host, NULL)

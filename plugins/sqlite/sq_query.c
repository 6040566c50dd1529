/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq_query.c -- query (ABI 1.4): one read-only statement with bound
 * parameters.
 *
 * Read-only is SQLite's to enforce: the connection is opened with
 * mode=ro and PRAGMA query_only (sqlite.c), so a statement that writes,
 * even to the temp schema, fails with SQLite's own "attempt to write a
 * readonly database".  While a query runs an authorizer refuses what would
 * change the connection itself and outlive the call (ATTACH, DETACH, a
 * PRAGMA that sets a value).  Parameters are bound with sqlite3_bind_*,
 * as text (SQLite applies the compared column's affinity); a text holding
 * a second statement is refused.  The time limit and cancellation are a
 * progress handler and sqlite3_interrupt().
 */
#include "sq.h"

#include <inttypes.h>
#include <time.h>

typedef struct sq_qwatch {
    const dsrc_ctx *ctx;
    int64_t deadline_ms;  /* CLOCK_MONOTONIC milliseconds; 0: none */
    int timed_out;
} sq_qwatch;

static int64_t sq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Progress handler: the host's cancellation, then the time limit. */
static int sq_qprogress(void *arg)
{
    sq_qwatch *w = arg;

    if (dsrc_cancelled(sq_host, w->ctx))
        return 1;
    if (w->deadline_ms && sq_now_ms() >= w->deadline_ms) {
        w->timed_out = 1;
        return 1;
    }
    return 0;
}

/* Pragmas that only read, allowed with an argument. */
static const char *const sq_read_pragmas[] = {
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "table_list", "function_list", "collation_list",
    "module_list", "pragma_list", "database_list", NULL,
};

/* The authorizer of a query: nothing that changes the connection. */
static int sq_qauth(void *arg, int action, const char *a1, const char *a2, const char *db,
                    const char *trigger)
{
    size_t i;

    (void)arg;
    (void)db;
    (void)trigger;
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return SQLITE_DENY;
    case SQLITE_PRAGMA:
        if (!a2)
            return SQLITE_OK;
        for (i = 0; sq_read_pragmas[i]; i++)
            if (a1 && sqlite3_stricmp(a1, sq_read_pragmas[i]) == 0)
                return SQLITE_OK;
        return SQLITE_DENY;
    default:
        return SQLITE_OK;
    }
}

static dsrc_status sq_query_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                                const dsrc_row_sink *rows, dsrc_fetch_result *result,
                                sq_qwatch *w, dsrc_error *err)
{
    sqlite3_stmt *st = NULL, *next = NULL;
    const char *tail = NULL;
    dsrc_column *cols = NULL;
    dsrc_cell *cells = NULL;
    char *cls = NULL;
    dsrc_status s = DSRC_OK;
    uint64_t nrows = 0;
    int rc, n, i;
    size_t k;

    if (!req || !req->text)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: no statement");
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: no row sink");
    rc = sqlite3_prepare_v2(c->db, req->text, -1, &st, &tail);
    if (rc != SQLITE_OK) {
        s = sq_fail(err, c->db, rc, "query");
        if (w->timed_out)
            s = dsrc_error_set(err, DSRC_E_TIMEOUT, 0, "INTERRUPT",
                               "query: stopped by its time limit (%" PRId64 " ms)",
                               req->timeout_ms);
        goto out;
    }
    if (!st) {
        s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: the text holds no "
                           "statement");
        goto out;
    }
    /* One statement only: what follows may be blanks and comments. */
    if (tail && *tail) {
        rc = sqlite3_prepare_v2(c->db, tail, -1, &next, NULL);
        if (rc != SQLITE_OK || next) {
            s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                               "query: the text holds more than one statement; a query is "
                               "one statement");
            goto out;
        }
    }
    n = sqlite3_bind_parameter_count(st);
    if ((size_t)n != req->n_params) {
        s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                           "query: the statement has %d parameter%s, %zu given", n,
                           n == 1 ? "" : "s", req->n_params);
        goto out;
    }
    for (k = 0; k < req->n_params; k++) {
        rc = req->params[k] ? sqlite3_bind_text(st, (int)k + 1, req->params[k], -1,
                                                SQLITE_TRANSIENT)
                            : sqlite3_bind_null(st, (int)k + 1);
        if (rc != SQLITE_OK) {
            s = sq_fail(err, c->db, rc, "query: binding a parameter");
            goto out;
        }
    }

    n = sqlite3_column_count(st);
    cols = calloc((size_t)n + 1, sizeof *cols);
    cells = calloc((size_t)n + 1, sizeof *cells);
    cls = calloc((size_t)n + 1, 1);
    if (!cols || !cells || !cls) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *decl = sqlite3_column_decltype(st, i);
        const char *name = sqlite3_column_name(st, i);
        cols[i].name = name ? name : "";
        cols[i].type = sq_type_of(decl);
        cols[i].native_type = decl;
        cols[i].nullable = -1;
        cls[i] = sq_decl_is_bool(decl)   ? 'b'
                 : sq_decl_is_time(decl) ? 't'
                 : sq_decl_is_json(decl) ? 'j'
                                         : 0;
    }
    if (rows->schema(rows->user, cols, (size_t)n) != 0) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
        goto out;
    }
    while (req->limit < 0 || nrows < (uint64_t)req->limit) {
        if ((nrows % SQ_CANCEL_EVERY) == 0 && dsrc_cancelled(sq_host, ctx)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                               "query cancelled after %" PRIu64 " rows", nrows);
            break;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            if ((rc & 0xff) == SQLITE_INTERRUPT && w->timed_out)
                s = dsrc_error_set(err, DSRC_E_TIMEOUT, 0, "INTERRUPT",
                                   "query: stopped by its time limit (%" PRId64 " ms) after %"
                                   PRIu64 " rows", req->timeout_ms, nrows);
            else
                s = sq_fail(err, c->db, rc, "query");
            break;
        }
        for (i = 0; i < n; i++) {
            sq_cell(st, i, cls[i], &cells[i]);
            if (!sq_cell_fits(cols[i].type, &cells[i]))
                break;
        }
        if (i < n) {
            s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                               "query row %" PRIu64 ": column '%s' is declared %s but holds "
                               "a value of another type (SQLite does not enforce declared "
                               "types; select CAST(%s AS TEXT) to read it as text)",
                               nrows + 1, cols[i].name,
                               cols[i].native_type ? cols[i].native_type : "?", cols[i].name);
            break;
        }
        if (rows->row(rows->user, cells, (size_t)n) != 0) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
            break;
        }
        nrows++;
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
    }
out:
    sqlite3_finalize(next);
    sqlite3_finalize(st);
    free(cols);
    free(cells);
    free(cls);
    return s;
}

dsrc_status sq_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                     const dsrc_row_sink *rows, dsrc_fetch_result *result, dsrc_error *err)
{
    sq_qwatch w = {ctx, 0, 0};
    dsrc_status s;

    if (req && req->timeout_ms > 0)
        w.deadline_ms = sq_now_ms() + req->timeout_ms;
    sq_watch(c->db, ctx); /* the busy handler's context */
    sqlite3_progress_handler(c->db, 1000, sq_qprogress, &w);
    sqlite3_set_authorizer(c->db, sq_qauth, NULL);
    s = sq_query_run(ctx, c, req, rows, result, &w, err);
    sqlite3_set_authorizer(c->db, NULL, NULL);
    return sq_unwatch(c->db, s);
}

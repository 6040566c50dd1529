/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq_fetch.c -- fetch (columns, incremental cursor, limit) and
 * cancellation.
 *
 * A fetch is one SELECT of the chosen columns: WHERE "f" > ?1 ORDER BY "f"
 * with a cursor, and with a limit n the rest of the n-th row's group of
 * equal cursor values (sq_add_tie_bound); the cursor value is bound with
 * the cursor column's affinity.
 *
 * Cancellation: fetch polls host->is_cancelled() every 1000 rows, and a
 * progress handler polls it while a statement runs; cancel() calls
 * sqlite3_interrupt().  Either way the call returns DSRC_E_CANCELLED.
 */
#include "sq.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>

/* ------------------------------------------------------------------------ */
/* Cancellation                                                              */

/* SQLite's progress handler: polls the host's cancellation flag while a
 * statement runs, so even a query that produces no row for a long time
 * (a big sort, a count over a huge table) stops when asked. */
static int sq_progress(void *arg)
{
    return dsrc_cancelled(sq_host, (const dsrc_ctx *)arg);
}

/* The call running on this thread, for sq_busy(): the busy handler's
 * argument is set once per connection. */
static _Thread_local const dsrc_ctx *sq_ctx;

#define SQ_BUSY_SLICE_MS 10

int sq_busy(void *arg, int n)
{
    const dsrc_ctx *ctx = sq_ctx;
    struct pollfd pfd = {.fd = dsrc_cancel_fd(sq_host, ctx), .events = POLLIN};

    if (dsrc_cancelled(sq_host, ctx) || (long long)n * SQ_BUSY_SLICE_MS >= *(const int *)arg)
        return 0;
    (void)poll(&pfd, pfd.fd >= 0 ? 1 : 0, SQ_BUSY_SLICE_MS);
    return !dsrc_cancelled(sq_host, ctx);
}

void sq_watch(sqlite3 *db, const dsrc_ctx *ctx)
{
    sq_ctx = ctx;
    sqlite3_progress_handler(db, 4096, sq_progress, (void *)ctx);
}

/* Stop what sq_watch() started and free the page cache; returns `s`, the
 * status of the call that ran while watched. */
dsrc_status sq_unwatch(sqlite3 *db, dsrc_status s)
{
    sqlite3_progress_handler(db, 0, NULL, NULL);
    sqlite3_db_release_memory(db);
    sq_ctx = NULL;
    return s;
}

dsrc_status sq_cancel(dsrc_conn *c)
{
    if (c && c->db)
        sqlite3_interrupt(c->db);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

/* Append the condition that ends an incremental fetch with a limit at a
 * whole group of equal cursor values: the rows up to the highest of the
 * first `limit` (parameter `lim`) cursor values after the cursor value
 * (parameter ?1) when `after`, all of them even when that value is shared,
 * so that the next fetch skips nothing; and, in a fetch from the start,
 * every row whose cursor is NULL, beyond the limit (never afterwards). */
static void sq_add_tie_bound(dsrc_buf *q, const sq_obj *o, const char *cur, int after,
                             const char *lim)
{
    dsrc_buf_add(q, after ? " AND (" : " WHERE (");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " IS NULL OR ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " <= (SELECT max(");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, ") FROM (SELECT ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " FROM ");
    sq_buf_ident(q, o->schema);
    dsrc_buf_add(q, ".");
    sq_buf_ident(q, o->name);
    dsrc_buf_add(q, " WHERE ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, after ? " > ?1" : " IS NOT NULL");
    dsrc_buf_add(q, " ORDER BY ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " LIMIT ");
    dsrc_buf_add(q, lim);
    dsrc_buf_add(q, ")))");
}

/* Bind the cursor value following the cursor column's affinity. */
static void sq_bind_cursor(sqlite3_stmt *st, int idx, const char *value, sq_affinity aff)
{
    char *end;
    if ((aff == SQ_AFF_INTEGER || aff == SQ_AFF_NUMERIC) && *value) {
        long long v;
        errno = 0;
        v = strtoll(value, &end, 10);
        if (!errno && *end == '\0' && !isspace((unsigned char)*value)) {
            sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
            return;
        }
    }
    if ((aff == SQ_AFF_REAL || aff == SQ_AFF_NUMERIC || aff == SQ_AFF_INTEGER) && *value) {
        double d;
        errno = 0;
        d = strtod(value, &end);
        if (!errno && *end == '\0' && !isspace((unsigned char)*value)) {
            sqlite3_bind_double(st, idx, d);
            return;
        }
    }
    sqlite3_bind_text(st, idx, value, -1, SQLITE_TRANSIENT);
}

/* Record the cursor column's value of the current row as text.  Returns 0,
 * or -1 when the value cannot serve as a cursor (blob, too long). */
static int sq_cursor_text(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        snprintf(out, outsz, "%lld", (long long)sqlite3_column_int64(st, i));
        return 0;
    case SQLITE_FLOAT: {
        /* The shortest form that reads back as the same double. */
        double d = sqlite3_column_double(st, i);
        snprintf(out, outsz, "%.15g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, outsz, "%.17g", d);
        return 0;
    }
    case SQLITE_TEXT: {
        const unsigned char *p = sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (!p || (size_t)n >= outsz || memchr(p, '\0', (size_t)n))
            return -1;
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
        return 0;
    }
    default:
        return -1;
    }
}

static dsrc_status sq_fetch_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                                const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                                dsrc_fetch_result *result, dsrc_error *err)
{
    sq_obj o;
    sq_cols cols = {0};
    dsrc_buf q = {0};
    sqlite3_stmt *st = NULL;
    dsrc_status s;
    size_t n_out, i, *map = NULL;
    dsrc_column *out_cols = NULL;
    dsrc_cell *cells = NULL;
    char *cls = NULL;
    ssize_t cursor_col = -1;
    int cursor_sel = -1, rc, nparam = 0;
    uint64_t nrows = 0;
    dsrc_cursor_max *cm = NULL;

    (void)bytes;
    if ((s = dsrc_fetch_check_rows(req, rows, "sqlite tables", err)) != DSRC_OK)
        return s;
    s = sq_resolve(c->db, req->item, &o, err);
    if (s != DSRC_OK)
        return s;
    s = sq_read_columns(c->db, o.schema, o.name, &cols, err);
    if (s != DSRC_OK)
        goto out;
    if (cols.n == 0) {
        s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "'%s' has no columns", req->item);
        goto out;
    }

    /* Which columns, in which order. */
    n_out = req->n_columns ? req->n_columns : cols.n;
    map = calloc(n_out, sizeof *map);
    out_cols = calloc(n_out, sizeof *out_cols);
    cells = calloc(n_out, sizeof *cells);
    cls = calloc(n_out + 1, 1);
    cm = malloc(sizeof *cm);
    if (!map || !out_cols || !cells || !cls || !cm) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    dsrc_cursor_max_init(cm, req->cursor_field, "column", "binary or");
    for (i = 0; i < n_out; i++) {
        ssize_t k;
        if (req->n_columns) {
            if (!req->columns[i]) {
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "fetch: column %zu of the list is NULL", i + 1);
                goto out;
            }
            k = sq_cols_find(&cols, req->columns[i]);
            if (k < 0) {
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "no column '%s' in '%s'", req->columns[i], req->item);
                goto out;
            }
        } else {
            k = (ssize_t)i;
        }
        map[i] = (size_t)k;
        out_cols[i] = cols.v[k];
        cls[i] = sq_decl_is_bool(cols.decl[k])   ? 'b'
                 : sq_decl_is_time(cols.decl[k]) ? 't'
                 : sq_decl_is_json(cols.decl[k]) ? 'j'
                                                 : 0;
    }
    if (req->cursor_field) {
        cursor_col = sq_cols_find(&cols, req->cursor_field);
        if (cursor_col < 0) {
            s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                               "no cursor column '%s' in '%s'", req->cursor_field, req->item);
            goto out;
        }
    }

    /* The query: every identifier quoted, every value bound. */
    dsrc_buf_add(&q, "SELECT ");
    for (i = 0; i < n_out; i++) {
        if (i)
            dsrc_buf_add(&q, ", ");
        sq_buf_ident(&q, cols.v[map[i]].name);
    }
    if (cursor_col >= 0) {
        dsrc_buf_add(&q, ", ");
        sq_buf_ident(&q, cols.v[cursor_col].name);
        cursor_sel = (int)n_out;
    }
    dsrc_buf_add(&q, " FROM ");
    sq_buf_ident(&q, o.schema);
    dsrc_buf_add(&q, ".");
    sq_buf_ident(&q, o.name);
    if (cursor_col >= 0) {
        if (req->cursor_value) {
            dsrc_buf_add(&q, " WHERE ");
            sq_buf_ident(&q, cols.v[cursor_col].name);
            dsrc_buf_add(&q, " > ?1");
            nparam = 1;
        }
        if (req->limit > 0)
            sq_add_tie_bound(&q, &o, cols.v[cursor_col].name, nparam, nparam ? "?2" : "?1");
        dsrc_buf_add(&q, " ORDER BY ");
        sq_buf_ident(&q, cols.v[cursor_col].name);
    }
    if (req->limit >= 0 && !(cursor_col >= 0 && req->limit > 0))
        dsrc_buf_add(&q, nparam ? " LIMIT ?2" : " LIMIT ?1");
    s = sq_prepare_buf(c->db, &q, &st, "preparing the fetch", err);
    if (s != DSRC_OK)
        goto out;
    if (nparam)
        sq_bind_cursor(st, 1, req->cursor_value, sq_affinity_of(cols.decl[cursor_col]));
    if (req->limit >= 0)
        sqlite3_bind_int64(st, nparam + 1, (sqlite3_int64)req->limit);

    if (rows->schema(rows->user, out_cols, n_out) != 0) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        goto out;
    }
    for (;;) {
        if ((nrows % SQ_CANCEL_EVERY) == 0 && dsrc_cancelled(sq_host, ctx)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled after %" PRIu64
                               " rows", nrows);
            break;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            s = sq_fail(err, c->db, rc, "fetch");
            break;
        }
        for (i = 0; i < n_out; i++) {
            sq_cell(st, (int)i, cls[i], &cells[i]);
            if (!sq_cell_fits(out_cols[i].type, &cells[i]))
                break;
        }
        if (i < n_out) {
            static const char *const stored[] = {"NULL", "an integer", "a real", "text",
                                                 "a blob"};
            int t = sqlite3_column_type(st, (int)i);
            s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                               "'%s' row %" PRIu64 ": column '%s' is declared %s but holds %s"
                               " (SQLite does not enforce declared types; fetch a view that"
                               " selects CAST(%s AS TEXT) to read it as text)",
                               req->item, nrows + 1, out_cols[i].name,
                               out_cols[i].native_type ? out_cols[i].native_type : "?",
                               t >= 1 && t <= 5 ? stored[t % 5] : "a value", out_cols[i].name);
            break;
        }
        if (rows->row(rows->user, cells, n_out) != 0) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
            break;
        }
        nrows++;
        if (cursor_sel >= 0 && sqlite3_column_type(st, cursor_sel) != SQLITE_NULL) {
            /* Rows arrive in cursor order: the last non-NULL value sent is
             * the highest. */
            dsrc_cursor_max_note(cm, sq_cursor_text(st, cursor_sel, cm->value,
                                                    DSRC_CURSOR_MAX) == 0);
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
        if (cursor_col >= 0)
            dsrc_cursor_max_report(cm, sq_host, ctx, result);
    }
out:
    if (st)
        sqlite3_finalize(st);
    free(q.s);
    free(map);
    free(out_cols);
    free(cells);
    free(cls);
    free(cm);
    sq_cols_free(&cols);
    sq_obj_free(&o);
    return s;
}

dsrc_status sq_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_fetch_run(ctx, c, req, rows, bytes, result, err));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_statement.c -- query (ABI 1.4): one read-only statement with bound
 * parameters, its rows streamed as typed cells.
 *
 * Read-only is the server's to enforce: the statement runs in a
 * transaction started READ ONLY, so that INSERT, UPDATE, DDL, SELECT ...
 * FOR UPDATE, nextval() or a function that writes fail with the server's
 * own error (SQLSTATE 25006), and the transaction cannot be made
 * read-write from inside (25001).  The transaction is always rolled back,
 * never committed, and the session-level things a read-only statement can
 * still leave behind (advisory locks, and on a connection of our own,
 * prepared statements) are released after it, so that nothing outlives
 * the call.
 *
 * One round trip sets up: BEGIN TRANSACTION READ ONLY, the session
 * settings the cells rely on when a transaction pooler keeps no session
 * (SET LOCAL, pgc_tx_settings()), SET LOCAL statement_timeout for the
 * request's time limit (the source's statement_timeout stays the upper
 * bound), and a SELECT that takes the transaction's first snapshot.  The statement then goes through the extended
 * protocol (Parse, Bind, Execute of the unnamed statement), which binds
 * the parameters as values, never as text of the statement, and refuses
 * several statements in one text.  Every message is inside the
 * transaction, so this works through PgBouncer in transaction mode.
 *
 * Rows come in single-row mode: one result per row, freed before the
 * next, so memory stays flat whatever the size of the result.  When the
 * limit is reached and the server still sends rows, the statement is
 * cancelled on the server (PQcancel) and what it sent already is drained.
 */
#include "pgc.h"

#include <inttypes.h>

#define PGC_Q_CHECK_EVERY 1024

typedef struct pgc_qrun {
    const dsrc_row_sink *sink;
    int n;                 /* columns                                      */
    pgc_class *cls;
    dsrc_column *cols;
    char (*native)[64];
    char **names;          /* copies: the columns outlive their result     */
    dsrc_cell *cells;
    pgc_scratch scratch;
    int schema_sent;
    PGconn *pg;            /* the server the classes are chosen for        */
} pgc_qrun;

static void pgc_qrun_free(pgc_qrun *q)
{
    int i;

    for (i = 0; q->names && i < q->n; i++)
        free(q->names[i]);
    free(q->names);
    free(q->cls);
    free(q->cols);
    free(q->native);
    free(q->cells);
    pgc_scratch_free(&q->scratch);
}

/* The columns of the statement's result (names, types from PQftype and
 * PQfmod) to the sink.  0, 1 when the receiver stopped, -1 out of
 * memory. */
static int pgc_q_schema(pgc_qrun *q, const PGresult *r)
{
    int i, n = PQnfields(r);
    size_t k = n > 0 ? (size_t)n : 1;

    q->schema_sent = 1;
    q->n = n;
    q->cls = calloc(k, sizeof *q->cls);
    q->cols = calloc(k, sizeof *q->cols);
    q->native = calloc(k, sizeof *q->native);
    q->cells = calloc(k, sizeof *q->cells);
    q->names = calloc(k, sizeof *q->names);
    if (!q->cls || !q->cols || !q->native || !q->cells || !q->names)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned oid = (unsigned)PQftype(r, i);
        q->names[i] = strdup(PQfname(r, i));
        if (!q->names[i])
            return -1;
        q->cls[i] = pgc_rows_class(q->pg, oid, pgc_host ? pgc_host->abi_version : 0);
        q->cols[i].name = q->names[i];
        q->cols[i].type = pgc_type_of(q->cls[i]);
        if (pgc_type_name(oid, PQfmod(r, i), q->native[i], sizeof q->native[i]) == 0)
            q->cols[i].native_type = q->native[i];
        q->cols[i].nullable = -1;
    }
    return q->sink->schema(q->sink->user, q->cols, (size_t)n) != 0 ? 1 : 0;
}

/* One row to the sink: 0, 1 when the receiver stopped, -1 out of memory. */
static int pgc_q_row(pgc_qrun *q, const PGresult *r)
{
    size_t need = 0;
    int i;

    for (i = 0; i < q->n; i++)
        if (!PQgetisnull(r, 0, i))
            need += pgc_scratch_need(q->cls[i], (size_t)PQgetlength(r, 0, i));
    if (pgc_scratch_reserve(&q->scratch, need) != 0)
        return -1;
    for (i = 0; i < q->n; i++)
        pgc_cell(q->cls[i], PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i),
                 (size_t)PQgetlength(r, 0, i), &q->scratch, &q->cells[i]);
    return q->sink->row(q->sink->user, q->cells, (size_t)q->n) != 0 ? 1 : 0;
}

/* The error of a failed statement, classified for a query: a write the
 * READ ONLY transaction refused is a permission error, a statement the
 * server cannot run as written (syntax, unknown table or column, wrong
 * parameters) an invalid argument, the time limit a timeout. */
static dsrc_status pgc_q_fail(dsrc_conn *c, const dsrc_ctx *ctx, const PGresult *r,
                              int64_t timeout_ms, dsrc_error *err)
{
    const char *st = pgc_sqlstate(r);
    dsrc_status s = pgc_fail_result(c, ctx, r, "query", err);
    dsrc_status to = s;

    if (PQstatus(c->pg) != CONNECTION_OK || s == DSRC_E_CANCELLED)
        return s;
    if (strcmp(st, "25006") == 0 || strcmp(st, "25001") == 0)
        to = DSRC_E_PERMISSION;
    else if ((strncmp(st, "42", 2) == 0 && strcmp(st, "42501") != 0) ||
             strcmp(st, "08P01") == 0 || strncmp(st, "22", 2) == 0)
        to = DSRC_E_INVALID_ARGUMENT; /* 08P01: the bind's parameter count */
    if (strcmp(st, "57014") == 0 && timeout_ms > 0) {
        const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        return dsrc_error_set(err, DSRC_E_TIMEOUT, 0, st,
                              "query: %s; the statement ran longer than its time limit "
                              "(%" PRId64 " ms)",
                              primary ? primary : "canceled", timeout_ms);
    }
    if (err && to != s) {
        err->status = to;
        err->retryable = 0;
        err->connection_broken = 0;
    }
    return to;
}

/* End the transaction and release what a read-only statement may have
 * taken for the session.  Through a transaction pooler the server
 * connection's prepared statements are the pooler's, left alone. */
static void pgc_q_end(dsrc_conn *c)
{
    pgc_quiet(c, c->tx_pooled ? "ROLLBACK; SELECT pg_catalog.pg_advisory_unlock_all()"
                              : "ROLLBACK; SELECT pg_catalog.pg_advisory_unlock_all();"
                                " DEALLOCATE ALL");
}

/* The statement's results: schema, rows up to the limit.  *n gets the
 * rows sent. */
static dsrc_status pgc_q_read(dsrc_conn *c, const dsrc_ctx *ctx, const dsrc_query_req *req,
                              int64_t timeout_ms, pgc_qrun *q, uint64_t *n, dsrc_error *err)
{
    dsrc_status s = DSRC_OK;
    int failed = 0;
    PGresult *r;

    for (;;) {
        dsrc_status w = pgc_wait(c, ctx, "query", err);
        int rc = 0;

        if (w != DSRC_OK)
            return w;
        r = PQgetResult(c->pg);
        if (!r)
            break;
        switch (PQresultStatus(r)) {
        case PGRES_SINGLE_TUPLE:
            if (failed)
                break;
            if (!q->schema_sent)
                rc = pgc_q_schema(q, r);
            if (rc == 0 && req->limit >= 0 && *n >= (uint64_t)req->limit) {
                /* More rows than asked for: the server stops here. */
                PQclear(r);
                pgc_abandon(c);
                return DSRC_OK;
            }
            if (rc == 0)
                rc = pgc_q_row(q, r);
            if (rc != 0) {
                PQclear(r);
                pgc_abandon(c);
                if (rc < 0)
                    return pgc_oom(err);
                return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                      "query: stopped by the receiver");
            }
            ++*n;
            if ((*n % PGC_Q_CHECK_EVERY) == 0 &&
                (atomic_load(&c->cancel_requested) || dsrc_cancelled(pgc_host, ctx)))
                pgc_interrupt(c);
            break;
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            /* The end of the rows (their columns, when there were none),
             * or a statement without rows: no columns. */
            if (!failed && !q->schema_sent) {
                rc = pgc_q_schema(q, r);
                if (rc != 0) {
                    PQclear(r);
                    pgc_abandon(c);
                    return rc < 0 ? pgc_oom(err)
                                  : dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                                   "query: stopped by the receiver");
                }
            }
            break;
        case PGRES_EMPTY_QUERY:
            if (!failed)
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "query: the statement is empty");
            failed = 1;
            break;
        case PGRES_COPY_OUT:
        case PGRES_COPY_IN:
        case PGRES_COPY_BOTH:
            PQclear(r);
            pgc_abandon(c);
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "query: COPY is not a query; write the SELECT it copies");
        default:
            if (!failed)
                s = pgc_q_fail(c, ctx, r, timeout_ms, err);
            failed = 1;
            break;
        }
        PQclear(r);
    }
    if (failed)
        return s;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return pgc_fail_conn(c, "query", err);
    return DSRC_OK;
}

dsrc_status pgc_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                      const dsrc_row_sink *rows, dsrc_fetch_result *result, dsrc_error *err)
{
    dsrc_buf b = {0};
    pgc_qrun q;
    uint64_t n = 0;
    int64_t timeout_ms;
    dsrc_status s;

    if (!req || !req->text)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: no statement");
    if (req->n_params && !req->params)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: %zu parameters announced but none given", req->n_params);
    if (req->n_params > 65535)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: %zu parameters; PostgreSQL binds at most 65535",
                              req->n_params);
    if (req->timeout_ms < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: a negative time limit");
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: no row receiver");
    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;

    /* The source's own statement_timeout stays the upper bound. */
    timeout_ms = req->timeout_ms;
    if (timeout_ms > 0 && c->stmt_ms > 0 && timeout_ms > c->stmt_ms)
        timeout_ms = c->stmt_ms;
    dsrc_buf_add(&b, "BEGIN TRANSACTION READ ONLY");
    pgc_tx_settings(c, &b);
    if (timeout_ms > 0)
        dsrc_buf_printf(&b, "; SET LOCAL statement_timeout = %" PRId64, timeout_ms);
    /* A query takes the transaction's first snapshot: from then on the
     * server refuses to make it read-write (SET TRANSACTION READ WRITE
     * would otherwise be the statement that does it). */
    dsrc_buf_add(&b, "; SELECT 1");
    if (b.failed) {
        dsrc_buf_free(&b);
        return pgc_oom(err);
    }
    s = pgc_exec(c, ctx, b.s, -1, NULL, NULL, "starting the query's transaction", err);
    dsrc_buf_free(&b);
    if (s != DSRC_OK) {
        pgc_q_end(c);
        return s;
    }

    memset(&q, 0, sizeof q);
    q.sink = rows;
    q.pg = c->pg;
    s = pgc_send(c, req->text, (int)req->n_params, req->params, "query", err);
    if (s == DSRC_OK && !PQsetSingleRowMode(c->pg)) {
        pgc_abandon(c);
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "query: cannot use single-row mode");
    }
    if (s == DSRC_OK)
        s = pgc_q_read(c, ctx, req, timeout_ms, &q, &n, err);
    pgc_q_end(c);
    if (s == DSRC_OK && PQstatus(c->pg) != CONNECTION_OK)
        s = pgc_fail_conn(c, "query", err);
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = n;
    }
    pgc_qrun_free(&q);
    return s;
}

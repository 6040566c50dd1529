/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_query.c -- running queries on a libpq connection while watching for
 * cancellation, and the string buffer the query builders use.
 *
 * Every wait is a poll() on the connection's socket with a short timeout,
 * so a call notices the host's cancellation flag within POLL_MS even while
 * the server works on a query that sends nothing.  A noticed cancellation
 * sends PQcancel() once and keeps reading: the server answers with SQLSTATE
 * 57014 and the connection stays usable.
 */
#include "pgc.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <time.h>

#define POLL_MS 100

const dsrc_host *pgc_host;

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */

void pgc_buf_ident(dsrc_buf *b, PGconn *pg, const char *id)
{
    char *q;
    if (b->failed)
        return;
    q = PQescapeIdentifier(pg, id, strlen(id));
    if (!q) {
        b->failed = 1;
        return;
    }
    dsrc_buf_add(b, q);
    PQfreemem(q);
}

/* ------------------------------------------------------------------------ */
/* Cancellation                                                              */

int pgc_poll(int sock, short events, int cancel_fd, int ms, short *revents)
{
    struct pollfd pfd[2] = {{.fd = sock, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
    int rc = poll(pfd, cancel_fd >= 0 ? 2 : 1, ms);

    *revents = rc > 0 ? pfd[0].revents : 0;
    return rc;
}

void pgc_interrupt(dsrc_conn *c)
{
    char errbuf[256];
    if (c->interrupted || !c->cancel)
        return;
    c->interrupted = 1;
    /* A failure only means the server will not stop early; the wait goes
     * on and the query ends on its own. */
    (void)PQcancel(c->cancel, errbuf, (int)sizeof errbuf);
}

void pgc_quiet(dsrc_conn *c, const char *sql)
{
    PGresult *r;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return;
    if (!PQsendQuery(c->pg, sql))
        return;
    while ((r = PQgetResult(c->pg)) != NULL)
        PQclear(r);
}

dsrc_status pgc_op_begin(dsrc_conn *c, const dsrc_ctx *ctx, dsrc_error *err)
{
    c->ctx = ctx;
    atomic_store(&c->cancel_requested, 0);
    c->interrupted = 0;
    if (PQstatus(c->pg) != CONNECTION_OK) {
        dsrc_status s = dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, "08006",
                                       "the connection to %s was lost; reconnect", c->endpoint);
        if (err)
            err->connection_broken = 1;
        return s;
    }
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        pgc_quiet(c, "ROLLBACK");
    if (dsrc_cancelled(pgc_host, ctx))
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "cancelled before it started");
    return DSRC_OK;
}

static int pgc_should_stop(dsrc_conn *c, const dsrc_ctx *ctx)
{
    return atomic_load(&c->cancel_requested) || dsrc_cancelled(pgc_host, ctx);
}

int pgc_pause(dsrc_conn *c, const dsrc_ctx *ctx, long ms)
{
    while (ms > 0 && !pgc_should_stop(c, ctx)) {
        long slice = ms > 10 ? 10 : ms;
        struct timespec ts = {0, slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return pgc_should_stop(c, ctx);
}

/* One wait of pgc_wait() and pgc_wait_input(): a cancelled call gets its
 * cancel request sent, then waits for the server's answer only; until
 * then the host's cancel descriptor wakes it.  poll()'s result, with the
 * socket readable when > 0 (errno EBADF when there is no socket). */
static int pgc_wait_tick(dsrc_conn *c, const dsrc_ctx *ctx)
{
    int stop = pgc_should_stop(c, ctx), sock = PQsocket(c->pg), rc;
    short rev = 0;

    if (stop)
        pgc_interrupt(c);
    if (sock < 0) {
        errno = EBADF;
        return -1;
    }
    rc = pgc_poll(sock, POLLIN, stop ? -1 : dsrc_cancel_fd(pgc_host, ctx), POLL_MS, &rev);
    return rc > 0 && !rev ? 0 : rc; /* woken by the descriptor: nothing to read */
}

dsrc_status pgc_wait(dsrc_conn *c, const dsrc_ctx *ctx, const char *what, dsrc_error *err)
{
    for (;;) {
        int rc;

        if (!PQisBusy(c->pg))
            return DSRC_OK;
        rc = pgc_wait_tick(c, ctx);
        if (rc < 0 && errno != EINTR)
            return pgc_fail_conn(c, what, err);
        if (rc > 0 && !PQconsumeInput(c->pg))
            return pgc_fail_conn(c, what, err);
    }
}

dsrc_status pgc_wait_input(dsrc_conn *c, const dsrc_ctx *ctx, const char *what,
                           dsrc_error *err)
{
    int rc = pgc_wait_tick(c, ctx);

    if (rc < 0 && errno != EINTR)
        return pgc_fail_conn(c, what, err);
    if (rc > 0 && !PQconsumeInput(c->pg))
        return pgc_fail_conn(c, what, err);
    return DSRC_OK;
}

dsrc_status pgc_send(dsrc_conn *c, const char *sql, int n_params, const char *const *params,
                     const char *what, dsrc_error *err)
{
    int ok;
    if (n_params < 0)
        ok = PQsendQuery(c->pg, sql);
    else
        ok = PQsendQueryParams(c->pg, sql, n_params, NULL, params, NULL, NULL, 0);
    if (!ok)
        return pgc_fail_conn(c, what, err);
    return DSRC_OK;
}

void pgc_tx_settings(const dsrc_conn *c, dsrc_buf *b)
{
    if (!c->tx_pooled)
        return;
    dsrc_buf_add(b, "; SET LOCAL DateStyle = ISO; SET LOCAL bytea_output = hex;"
                    " SET LOCAL extra_float_digits = 3");
    if (c->stmt_ms >= 0)
        dsrc_buf_printf(b, "; SET LOCAL statement_timeout = %lld", c->stmt_ms);
}

dsrc_status pgc_tx_begin(dsrc_conn *c, const dsrc_ctx *ctx, const char *begin,
                         dsrc_error *err)
{
    dsrc_buf q = {0};
    dsrc_status s;

    if (!c->tx_pooled)
        return pgc_exec(c, ctx, begin, 0, NULL, NULL, "starting the transaction", err);
    dsrc_buf_add(&q, begin);
    pgc_tx_settings(c, &q);
    if (q.failed) {
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }
    s = pgc_exec(c, ctx, q.s, -1, NULL, NULL, "starting the transaction", err);
    dsrc_buf_free(&q);
    return s;
}

/* Through a transaction pooler, outside a transaction: a statement of
 * its own would run with the server connection's settings, whatever they
 * are; it runs in a transaction that sets them. */
static int pgc_wrap(const dsrc_conn *c, int n_params)
{
    return c->tx_pooled && n_params >= 0 && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

static dsrc_status pgc_exec1(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                             const char *const *params, PGresult **out, const char *what,
                             dsrc_error *err);

dsrc_status pgc_exec(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                     const char *const *params, PGresult **out, const char *what,
                     dsrc_error *err)
{
    dsrc_status s;

    if (!pgc_wrap(c, n_params))
        return pgc_exec1(c, ctx, sql, n_params, params, out, what, err);
    if (out)
        *out = NULL;
    s = pgc_tx_begin(c, ctx, "BEGIN READ ONLY", err);
    if (s != DSRC_OK)
        return s;
    s = pgc_exec1(c, ctx, sql, n_params, params, out, what, err);
    if (s == DSRC_OK)
        s = pgc_exec1(c, ctx, "COMMIT", 0, NULL, NULL, "ending the transaction", err);
    else
        pgc_quiet(c, "ROLLBACK");
    if (s != DSRC_OK && out && *out) {
        PQclear(*out);
        *out = NULL;
    }
    return s;
}

static dsrc_status pgc_exec1(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                             const char *const *params, PGresult **out, const char *what,
                             dsrc_error *err)
{
    PGresult *last = NULL, *r;
    dsrc_status s;
    int failed = 0;

    if (out)
        *out = NULL;
    s = pgc_send(c, sql, n_params, params, what, err);
    if (s != DSRC_OK)
        return s;
    for (;;) {
        dsrc_status w = pgc_wait(c, ctx, what, err);
        if (w != DSRC_OK) {
            PQclear(last);
            return w;
        }
        r = PQgetResult(c->pg);
        if (!r)
            break;
        switch (PQresultStatus(r)) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
            PQclear(last);
            last = r;
            break;
        case PGRES_COPY_OUT:
        case PGRES_COPY_IN:
        case PGRES_COPY_BOTH:
            /* Not expected from these queries: leave the copy state. */
            PQclear(r);
            PQclear(last);
            pgc_abandon(c);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                                  "%s: the server started an unexpected COPY", what);
        default:
            if (!failed)
                s = pgc_fail_result(c, ctx, r, what, err);
            failed = 1;
            PQclear(r);
            break;
        }
    }
    if (failed) {
        PQclear(last);
        return s;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        PQclear(last);
        return pgc_fail_conn(c, what, err);
    }
    if (out)
        *out = last;
    else
        PQclear(last);
    return DSRC_OK;
}

void pgc_abandon(dsrc_conn *c)
{
    PGresult *r;

    pgc_interrupt(c);
    while ((r = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_COPY_OUT) {
            char *buf;
            int n;
            while ((n = PQgetCopyData(c->pg, &buf, 0)) > 0)
                PQfreemem(buf);
        } else if (st == PGRES_COPY_IN) {
            PQputCopyEnd(c->pg, "abandoned");
        }
        if (PQstatus(c->pg) != CONNECTION_OK)
            break;
    }
}

#define CHECK_EVERY 1024

static dsrc_status pgc_stream1(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql,
                               int n_params, const char *const *params, pgc_row_fn fn,
                               void *user, uint64_t *n_rows, const char *what,
                               dsrc_error *err);

dsrc_status pgc_stream(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                       const char *const *params, pgc_row_fn fn, void *user,
                       uint64_t *n_rows, const char *what, dsrc_error *err)
{
    dsrc_status s;

    if (!pgc_wrap(c, n_params))
        return pgc_stream1(c, ctx, sql, n_params, params, fn, user, n_rows, what, err);
    s = pgc_tx_begin(c, ctx, "BEGIN READ ONLY", err);
    if (s != DSRC_OK)
        return s;
    s = pgc_stream1(c, ctx, sql, n_params, params, fn, user, n_rows, what, err);
    if (s == DSRC_OK)
        s = pgc_exec1(c, ctx, "COMMIT", 0, NULL, NULL, "ending the transaction", err);
    else
        pgc_quiet(c, "ROLLBACK");
    return s;
}

static dsrc_status pgc_stream1(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql,
                               int n_params, const char *const *params, pgc_row_fn fn,
                               void *user, uint64_t *n_rows, const char *what,
                               dsrc_error *err)
{
    dsrc_status s;
    PGresult *r;
    uint64_t n = 0;
    int failed = 0;

    if (n_rows)
        *n_rows = 0;
    s = pgc_send(c, sql, n_params, params, what, err);
    if (s != DSRC_OK)
        return s;
    if (!PQsetSingleRowMode(c->pg)) {
        pgc_abandon(c);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot use single-row mode",
                              what);
    }
    for (;;) {
        dsrc_status w = pgc_wait(c, ctx, what, err);
        if (w != DSRC_OK)
            return w;
        r = PQgetResult(c->pg);
        if (!r)
            break;
        switch (PQresultStatus(r)) {
        case PGRES_SINGLE_TUPLE: {
            int rc = failed ? 0 : fn(user, r);
            PQclear(r);
            if (failed)
                break;
            if (rc != 0) {
                pgc_abandon(c);
                if (rc < 0)
                    return pgc_oom(err);
                return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                      "%s: stopped by the receiver", what);
            }
            n++;
            if (n_rows)
                *n_rows = n;
            if ((n % CHECK_EVERY) == 0 && pgc_should_stop(c, ctx))
                pgc_interrupt(c);
            break;
        }
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            PQclear(r);
            break;
        default:
            if (!failed)
                s = pgc_fail_result(c, ctx, r, what, err);
            failed = 1;
            PQclear(r);
            break;
        }
    }
    if (failed)
        return s;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return pgc_fail_conn(c, what, err);
    return DSRC_OK;
}

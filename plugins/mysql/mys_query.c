/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_query.c -- query for the mysql plugin: one read-only statement of
 * the caller's, its parameters bound by a prepared statement.
 *
 * The server keeps it read-only, not the plugin:
 *   SET SESSION transaction_read_only = 1 [, max_statement_time = s
 *       (MariaDB) | max_execution_time = ms (MySQL)]
 *   START TRANSACTION READ ONLY
 *   the statement, prepared (COM_STMT_PREPARE), its parameters sent as
 *   text values (COM_STMT_EXECUTE), its rows read one at a time
 *   (mysql_stmt_fetch without mysql_stmt_store_result: memory stays flat)
 *   COM_RESET_CONNECTION, then the session's own settings again
 * A write inside the READ ONLY transaction fails with the server's error
 * 1792; the session's read-only setting also covers a stored procedure
 * that commits.  The reset ends the transaction and takes away whatever
 * the statement left in the session (temporary tables, user variables,
 * session settings, GET_LOCK locks, the time limit), so the next call on
 * the pooled connection finds it as it was opened.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's error, the status a query gives it: the statement's own
 * mistakes are the caller's (INVALID_ARGUMENT), a write refused by the
 * read-only transaction is PERMISSION. */
static dsrc_status mys_query_status(unsigned code, dsrc_status st)
{
    switch (code) {
    case 1792: /* ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION */
    case 1290: /* ER_OPTION_PREVENTS_STATEMENT (read_only, ...) */
        return DSRC_E_PERMISSION;
    case 1064: /* ER_PARSE_ERROR */
    case 1054: /* ER_BAD_FIELD_ERROR */
    case 1146: /* ER_NO_SUCH_TABLE */
    case 1109: /* ER_UNKNOWN_TABLE */
    case 1051: /* ER_BAD_TABLE_ERROR */
    case 1049: /* ER_BAD_DB_ERROR */
    case 1305: /* ER_SP_DOES_NOT_EXIST */
    case 1295: /* ER_UNSUPPORTED_PS: not a statement that can be prepared */
    case 1210: /* ER_WRONG_ARGUMENTS */
    case 1582: /* ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT */
    case 1584: /* ER_WRONG_PARAMETERS_TO_STORED_FCT */
        return DSRC_E_INVALID_ARGUMENT;
    default:
        return st;
    }
}

/* The statement's failure into err with the query's status. */
static dsrc_status mys_query_fail(dsrc_conn *c, mys_bin *bn, const char *what, dsrc_error *err)
{
    unsigned code = mys_bin_errno(c, bn);
    dsrc_status st = mys_bin_fail(c, bn, what, err);
    dsrc_status qs = mys_query_status(code, st);

    if (qs != st && err) {
        err->status = qs;
        err->retryable = 0;
    }
    return qs;
}

/* The session back as it was opened: COM_RESET_CONNECTION (the open
 * transaction rolled back, temporary tables, user variables, locks and
 * session variables gone), then the session's settings again.  A server
 * without the command gets a ROLLBACK and the two settings back to their
 * defaults.  A connection that fails here is reported broken in err (the
 * query's own error, when there is one, stays). */
static dsrc_status mys_query_reset(dsrc_conn *c, const char *ro_var, dsrc_status st,
                                   dsrc_error *err)
{
    char sql[256];
    dsrc_error tmp;
    dsrc_status rst;

    if (err && err->connection_broken)
        return st;
    errno = 0;
    if (mysql_reset_connection(c->my) == 0) {
        mys_session_sql(&c->p, sql, sizeof sql);
    } else if (mysql_errno(c->my) >= 2000) {
        c->last_errno = errno;
        goto broken;
    } else {
        if (mysql_real_query(c->my, "ROLLBACK", 8) != 0)
            goto broken;
        snprintf(sql, sizeof sql, "SET SESSION %s = DEFAULT, SESSION %s = DEFAULT", ro_var,
                 c->is_mariadb ? "max_statement_time" : "max_execution_time");
    }
    memset(&tmp, 0, sizeof tmp);
    tmp.struct_size = sizeof tmp;
    rst = mys_query(c, sql, strlen(sql), "restoring the session after a query", &tmp);
    if (rst == DSRC_OK)
        return st;
    if (st == DSRC_OK) {
        if (err)
            *err = tmp;
        else if (tmp.release)
            tmp.release(&tmp);
        if (err)
            err->connection_broken = 1;
        return rst;
    }
    if (tmp.release)
        tmp.release(&tmp);
broken:
    if (st == DSRC_OK)
        st = mys_fail(err, c, "restoring the session after a query");
    if (err)
        err->connection_broken = 1;
    return st;
}

dsrc_status mys_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                          const dsrc_row_sink *rows, dsrc_fetch_result *result,
                          dsrc_error *err)
{
    /* MariaDB before 11.1 calls it tx_read_only; MySQL 8 and MariaDB 11.1
     * on transaction_read_only. */
    const char *ro_var =
        c->is_mariadb && c->server_num < 110100 ? "tx_read_only" : "transaction_read_only";
    static const char begin[] = "START TRANSACTION READ ONLY";
    char set[256];
    mys_bin bin;
    MYSQL_BIND *pb = NULL;
    unsigned long *plen = NULL;
    MYSQL_FIELD *fields = NULL;
    dsrc_column *cols = NULL;
    dsrc_cell *cells = NULL;
    mys_outcol *oc = NULL;
    dsrc_status st = DSRC_OK;
    int prepared = 0, dirty = 0, stopped = 0;
    uint64_t nrows = 0;
    size_t i, n_out = 0;

    memset(&bin, 0, sizeof bin);
    if (!req || !req->text || !*req->text)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: the statement is empty");
    if (req->n_params && !req->params)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: %zu parameters without values", req->n_params);
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: the rows have no receiver");
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "query");

    /* Read-only for the session (a procedure that commits stays in it)
     * and the time limit, both gone at the reset. */
    if (req->timeout_ms > 0 && c->is_mariadb)
        snprintf(set, sizeof set, "SET SESSION %s = 1, SESSION max_statement_time = %" PRId64
                 ".%03" PRId64, ro_var, req->timeout_ms / 1000, req->timeout_ms % 1000);
    else if (req->timeout_ms > 0)
        snprintf(set, sizeof set, "SET SESSION %s = 1, SESSION max_execution_time = %" PRId64,
                 ro_var, req->timeout_ms);
    else
        snprintf(set, sizeof set, "SET SESSION %s = 1", ro_var);
    dirty = 1;
    st = mys_query(c, set, strlen(set), "query: making the session read-only", err);
    if (st == DSRC_OK)
        st = mys_query(c, begin, sizeof begin - 1, "query: starting a read-only transaction",
                       err);
    if (st != DSRC_OK)
        goto out;

    /* The statement, its parameters bound. */
    if (mys_bin_prepare(c, req->text, strlen(req->text), &bin, 1, "query", &st, err) < 0) {
        if (err) {
            /* the statement is gone: its error number is in the code */
            dsrc_status qs =
                mys_query_status((unsigned)strtoul(err->backend_code, NULL, 10), st);
            if (qs != st) {
                err->status = st = qs;
                err->retryable = 0;
            }
        }
        goto out;
    }
    prepared = 1;
    if (mysql_stmt_param_count(bin.st) != req->n_params) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: the statement has %lu placeholders (?), %zu parameters"
                            " given", mysql_stmt_param_count(bin.st), req->n_params);
        goto out;
    }
    if (req->n_params) {
        pb = calloc(req->n_params, sizeof *pb);
        plen = calloc(req->n_params, sizeof *plen);
        if (!pb || !plen) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        for (i = 0; i < req->n_params; i++) {
            if (!req->params[i]) {
                pb[i].buffer_type = MYSQL_TYPE_NULL;
                continue;
            }
            plen[i] = (unsigned long)strlen(req->params[i]);
            pb[i].buffer_type = MYSQL_TYPE_STRING;
            pb[i].buffer = (void *)req->params[i];
            pb[i].buffer_length = plen[i];
            pb[i].length = &plen[i];
        }
        if (mysql_stmt_bind_param(bin.st, pb) != 0) {
            st = mys_query_fail(c, &bin, "query: binding the parameters", err);
            goto out;
        }
    }
    if (dsrc_cancelled(mys_host, ctx)) {
        st = mys_cancelled_error(err, "query");
        goto out;
    }
    errno = 0;
    if (mysql_stmt_execute(bin.st) != 0) {
        st = mys_query_fail(c, &bin, "query", err);
        goto out;
    }

    /* The schema from the result's fields. */
    n_out = bin.n;
    fields = bin.meta ? mysql_fetch_fields(bin.meta) : NULL;
    cols = calloc(n_out + 1, sizeof *cols);
    cells = calloc(n_out + 1, sizeof *cells);
    oc = calloc(n_out + 1, sizeof *oc);
    if (!cols || !cells || !oc) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n_out; i++) {
        oc[i].cls = mys_class_of(&fields[i], 0);
        cols[i].name = fields[i].name;
        cols[i].type = mys_class_type(oc[i].cls);
        if (oc[i].cls == MYS_MC_BIT && fields[i].length >= 64)
            cols[i].type = DSRC_T_TEXT; /* above INT64_MAX: text */
        cols[i].native_type = oc[i].cls == MYS_MC_JSON ? "json" : NULL;
        cols[i].nullable = !(fields[i].flags & NOT_NULL_FLAG);
        cols[i].primary_key = (fields[i].flags & PRI_KEY_FLAG) ? 1 : 0;
    }
    if (rows->schema(rows->user, cols, n_out) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
        stopped = 1;
        goto out;
    }

    /* The rows, one at a time as they arrive; no more than the limit. */
    while (n_out > 0) {
        int r;
        if (req->limit >= 0 && nrows >= (uint64_t)req->limit) {
            stopped = 1;
            break;
        }
        r = mys_bin_row(c, &bin, oc, cells, n_out, nrows, "query", &st, err);
        /* A KILL QUERY does not always end a prepared statement with an
         * error (a SLEEP() it interrupts returns a value): the flag is
         * also checked before the first row and at the end. */
        if (r >= 0 && (r == 0 || (nrows % MYS_POLL_EVERY) == 0) &&
            dsrc_cancelled(mys_host, ctx)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "query cancelled after %" PRIu64 " rows", nrows);
            stopped = r > 0;
            break;
        }
        if (r < 0) {
            if (err)
                st = err->status = mys_query_status(mys_bin_errno(c, &bin), st);
            break;
        }
        if (r == 0)
            break;
        if (rows->row(rows->user, cells, n_out) != 0) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
            stopped = 1;
            break;
        }
        nrows++;
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
        result->has_cursor = 0;
    }
out:
    if (prepared && stopped)
        mys_bin_abandon(c, &bin);
    else
        mys_bin_close(&bin);
    if (dirty)
        st = mys_query_reset(c, ro_var, st, err);
    free(pb);
    free(plen);
    free(cols);
    free(cells);
    free(oc);
    return st;
}

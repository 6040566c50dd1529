/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_fetch.c -- fetch for the mysql plugin.
 *
 * One fetch is one read-only transaction with a consistent snapshot:
 *   START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY
 *   the table's columns from information_schema (names, types, keys)
 *   SELECT `col`, ... FROM `db`.`table` [WHERE `cursor` > value
 *     ORDER BY `cursor`] [LIMIT n]          -- streamed: mysql_use_result
 *   (with a cursor and a limit n, no LIMIT but the rest of the n-th row's
 *   group of equal cursor values: see mys_tie_bound)
 *   COMMIT
 * Rows are read one at a time as the server sends them, so memory stays
 * flat whatever the table's size (values become cells in mys_types.c).
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* Append the condition that ends an incremental fetch with a limit at a
 * whole group of equal cursor values: the rows up to the highest of the
 * first req->limit values of cursor column `cur` (information_schema type
 * `dt`) after req->cursor_value when there is one, all of them even when
 * that value is shared, so that the next fetch skips nothing; and, in a
 * fetch from the start, every row whose cursor is NULL, beyond the limit
 * (never afterwards). */
static dsrc_status mys_tie_bound(dsrc_conn *c, dsrc_buf *q, const mys_path *p, const char *cur,
                                 const char *dt, const dsrc_fetch_req *req, dsrc_error *err)
{
    dsrc_status st = DSRC_OK;

    dsrc_buf_add(q, req->cursor_value ? " AND (" : " WHERE (");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " IS NULL OR ");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " <= (SELECT MAX(dsrc_first.c) FROM (SELECT ");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " AS c FROM ");
    mys_buf_ident(q, p->db);
    dsrc_buf_add(q, ".");
    mys_buf_ident(q, p->name);
    dsrc_buf_add(q, " WHERE ");
    mys_buf_ident(q, cur);
    if (req->cursor_value) {
        dsrc_buf_add(q, " > ");
        st = mys_cursor_literal(c, q, dt, req->cursor_field, req->cursor_value, err);
    } else {
        dsrc_buf_add(q, " IS NOT NULL");
    }
    dsrc_buf_add(q, " ORDER BY ");
    mys_buf_ident(q, cur);
    dsrc_buf_printf(q, " LIMIT %" PRId64 ") AS dsrc_first))", req->limit);
    return st;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

static const char mys_q_begin[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
static const char mys_q_commit[] = "COMMIT";
static const char mys_q_rollback[] = "ROLLBACK";

/* End the snapshot transaction; failures are ignored (the error that
 * matters is the fetch's own) unless the fetch itself went fine. */
static dsrc_status mys_end_tx(dsrc_conn *c, dsrc_status st, dsrc_error *err)
{
    if (err && err->connection_broken)
        return st;
    if (st == DSRC_OK)
        return mys_query(c, mys_q_commit, sizeof mys_q_commit - 1, "ending the snapshot", err);
    if (mysql_real_query(c->my, mys_q_rollback, sizeof mys_q_rollback - 1) != 0 && err &&
        mysql_errno(c->my) >= 2000)
        err->connection_broken = 1;
    return st;
}

dsrc_status mys_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *result, dsrc_error *err)
{
    mys_path p = {NULL, NULL};
    mys_cols cols = {0};
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_FIELD *fields;
    MYSQL_ROW row = NULL;
    unsigned long *lens;
    dsrc_status st = DSRC_OK;
    size_t n_out = 0, i;
    long *map = NULL, cursor_col = -1;
    dsrc_column *out_cols = NULL;
    dsrc_cell *cells = NULL;
    mys_outcol *oc = NULL, cursor_oc;
    dsrc_cursor_max *cm = NULL;
    int cursor_sel = -1, in_tx = 0, stopped = 0;
    unsigned nf;
    uint64_t nrows = 0;
    char what[64];

    (void)bytes;
    if ((st = dsrc_fetch_check_rows(req, rows, "MySQL tables", err)) != DSRC_OK)
        return st;
    if (req->cursor_field && !*req->cursor_field)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: the cursor field is empty");
    for (i = 0; i < req->n_columns; i++)
        if (!req->columns[i] || !*req->columns[i])
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "fetch: column %zu of the list is empty", i + 1);
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "fetch");
    st = mys_path_object(c, req->item, &p, err);
    if (st != DSRC_OK)
        return st;

    st = mys_query(c, mys_q_begin, sizeof mys_q_begin - 1, "starting a consistent snapshot",
                   err);
    if (st != DSRC_OK)
        goto out;
    in_tx = 1;
    st = mys_read_columns(c, p.db, p.name, &cols, err);
    if (st == DSRC_OK && c->is_mariadb && c->server_num < 100500)
        st = mys_mark_json(c, p.db, p.name, &cols, err); /* no extended metadata */
    if (st != DSRC_OK)
        goto out;

    /* The output columns, checked against the catalog when it shows the
     * table (else the server's own errors say what is wrong). */
    n_out = req->n_columns ? req->n_columns : cols.n;
    map = calloc(n_out + 1, sizeof *map);
    cm = malloc(sizeof *cm);
    if (!map || !cm) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    dsrc_cursor_max_init(cm, req->cursor_field, "column", "binary or");
    for (i = 0; i < n_out; i++) {
        map[i] = req->n_columns ? (cols.n ? mys_cols_find(&cols, req->columns[i]) : -1)
                                : (long)i;
        if (req->n_columns && cols.n && map[i] < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "1054/42S22",
                                "no column '%s' in '%s'", req->columns[i], req->item);
            goto out;
        }
    }
    if (req->cursor_field && cols.n) {
        cursor_col = mys_cols_find(&cols, req->cursor_field);
        if (cursor_col < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "1054/42S22",
                                "no cursor column '%s' in '%s'", req->cursor_field, req->item);
            goto out;
        }
    }

    /* The statement: identifiers quoted, the cursor value a checked
     * literal. */
    dsrc_buf_add(&q, "SELECT ");
    if (n_out == 0) {
        dsrc_buf_add(&q, "*");
    } else {
        for (i = 0; i < n_out; i++) {
            if (i)
                dsrc_buf_add(&q, ", ");
            mys_buf_ident(&q, map[i] >= 0 ? cols.v[map[i]].name : req->columns[i]);
        }
    }
    if (req->cursor_field) {
        dsrc_buf_add(&q, ", ");
        mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
    }
    dsrc_buf_add(&q, " FROM ");
    mys_buf_ident(&q, p.db);
    dsrc_buf_add(&q, ".");
    mys_buf_ident(&q, p.name);
    if (req->cursor_field) {
        if (req->cursor_value) {
            dsrc_buf_add(&q, " WHERE ");
            mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
            dsrc_buf_add(&q, " > ");
            st = mys_cursor_literal(c, &q, cursor_col >= 0 ? cols.v[cursor_col].data_type : NULL,
                                    req->cursor_field, req->cursor_value, err);
            if (st != DSRC_OK)
                goto out;
        }
        if (req->limit > 0) {
            st = mys_tie_bound(c, &q, &p,
                               cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field,
                               cursor_col >= 0 ? cols.v[cursor_col].data_type : NULL, req, err);
            if (st != DSRC_OK)
                goto out;
        }
        dsrc_buf_add(&q, " ORDER BY ");
        mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
    }
    if (req->limit >= 0 && !(req->cursor_field && req->limit > 0))
        dsrc_buf_printf(&q, " LIMIT %" PRId64, req->limit);
    if (q.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (dsrc_cancelled(mys_host, ctx)) {
        st = mys_cancelled_error(err, "fetch");
        goto out;
    }
    st = mys_query(c, q.s, q.len, "fetch", err);
    if (st == DSRC_OK) {
        errno = 0;
        res = mysql_use_result(c->my);
        if (!res) {
            c->last_errno = errno;
            st = mys_fail(err, c, "fetch");
        }
    }
    if (st != DSRC_OK) {
        unsigned code = mysql_errno(c->my);
        if (code == 1146 || code == 1049) {
            /* Name the item as the request did. */
            char bc[DSRC_BACKEND_CODE_MAX];
            snprintf(bc, sizeof bc, "%s", err ? err->backend_code : "");
            dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, bc, "no table or view '%s': %s (MySQL"
                           " error %u)", req->item, mysql_error(c->my), code);
        }
        goto out;
    }

    /* The schema, from the result's fields and the catalog. */
    nf = mysql_num_fields(res);
    fields = mysql_fetch_fields(res);
    if (n_out == 0) {
        n_out = nf - (req->cursor_field ? 1u : 0u);
        free(map);
        map = calloc(n_out + 1, sizeof *map);
        if (!map) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        for (i = 0; i < n_out; i++)
            map[i] = -1;
    }
    if (nf != n_out + (req->cursor_field ? 1u : 0u)) {
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "fetch: the server sent %u columns, %zu expected", nf,
                            n_out + (req->cursor_field ? 1u : 0u));
        goto out;
    }
    out_cols = calloc(n_out + 1, sizeof *out_cols);
    cells = calloc(n_out + 1, sizeof *cells);
    oc = calloc(n_out + 1, sizeof *oc);
    if (!out_cols || !cells || !oc) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n_out; i++) {
        const mys_colinfo *ci = map[i] >= 0 ? &cols.v[map[i]] : NULL;
        oc[i].cls = mys_class_of(&fields[i], ci && ci->is_json);
        out_cols[i].name = ci ? ci->name : fields[i].name;
        out_cols[i].type = mys_class_type(oc[i].cls);
        if (oc[i].cls == MYS_MC_BIT && fields[i].length >= 64)
            out_cols[i].type = DSRC_T_TEXT; /* above INT64_MAX: text */
        out_cols[i].native_type =
            ci ? ((ci->is_json || oc[i].cls == MYS_MC_JSON) ? "json" : ci->column_type) : NULL;
        out_cols[i].nullable = ci ? ci->nullable : !(fields[i].flags & NOT_NULL_FLAG);
        out_cols[i].primary_key = ci ? ci->pk : 0;
        out_cols[i].default_value = ci ? ci->default_value : NULL;
        out_cols[i].comment = ci && ci->comment && *ci->comment ? ci->comment : NULL;
    }
    if (req->cursor_field) {
        cursor_sel = (int)n_out;
        memset(&cursor_oc, 0, sizeof cursor_oc);
        cursor_oc.cls = mys_class_of(&fields[cursor_sel], 0);
    }
    if (rows->schema(rows->user, out_cols, n_out) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        stopped = 1;
        goto out;
    }

    /* The rows, one at a time as they arrive. */
    for (;;) {
        row = mys_next_row(c, res);
        if (!row) {
            if (mysql_errno(c->my)) {
                snprintf(what, sizeof what, "fetch (after %" PRIu64 " rows)", nrows);
                st = mys_fail(err, c, what);
            }
            break;
        }
        lens = mysql_fetch_lengths(res);
        for (i = 0; i < n_out; i++)
            mys_cell(&oc[i], row[i], lens[i], &cells[i]);
        if (rows->row(rows->user, cells, n_out) != 0) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
            stopped = 1;
            break;
        }
        nrows++;
        if (cursor_sel >= 0 && row[cursor_sel]) {
            /* Rows arrive in cursor order: the last value sent is the
             * highest. */
            dsrc_cursor_max_note(cm, mys_cursor_text(&cursor_oc, row[cursor_sel],
                                                     lens[cursor_sel], cm->value,
                                                     DSRC_CURSOR_MAX) == 0);
        }
        if ((nrows % MYS_POLL_EVERY) == 0 && dsrc_cancelled(mys_host, ctx)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch cancelled after %" PRIu64 " rows", nrows);
            stopped = 1;
            break;
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
        if (st == DSRC_OK && cursor_sel >= 0)
            dsrc_cursor_max_report(cm, mys_host, ctx, result);
    }
out:
    if (res) {
        if (stopped)
            mys_abandon_result(c, res);
        else
            mysql_free_result(res);
    }
    if (in_tx)
        st = mys_end_tx(c, st, err);
    if (result && st != DSRC_OK)
        result->has_cursor = 0;
    free(map);
    free(out_cols);
    free(cells);
    free(oc);
    free(cm);
    dsrc_buf_free(&q);
    mys_cols_free(&cols);
    mys_path_free(&p);
    return st;
}

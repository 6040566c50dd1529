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
/* The binary protocol                                                       */

/* The decimals a server gives a FLOAT or DOUBLE column declared without
 * them (MariaDB's NOT_FIXED_DEC, MySQL's DECIMAL_NOT_SPECIFIED). */
#define MYS_NOT_FIXED_DEC 31
/* The first size of a string column's buffer (it grows to the longest
 * value met). */
#define MYS_BIN_FIRST_CAP 4096

/* The binding of a result field, or -1 when only the text protocol gives
 * its exact text (TIME, FLOAT, BIT, a DOUBLE with declared decimals...). */
static int mys_bin_kind(const MYSQL_FIELD *f, mys_bkind *k)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        *k = MYS_B_INT;
        return 0;
    case MYSQL_TYPE_DOUBLE:
        *k = MYS_B_DOUBLE;
        return f->decimals >= MYS_NOT_FIXED_DEC ? 0 : -1;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        *k = MYS_B_TIME;
        return f->decimals <= 6 || f->type == MYSQL_TYPE_DATE ? 0 : -1;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_GEOMETRY:
        *k = MYS_B_STR;
        return 0;
    default:
        return -1;
    }
}

void mys_bin_close(mys_bin *bn)
{
    unsigned i;

    if (bn->meta)
        mysql_free_result(bn->meta);
    if (bn->st)
        mysql_stmt_close(bn->st);
    for (i = 0; bn->buf && i < bn->n; i++)
        free(bn->buf[i]);
    free(bn->b);
    free(bn->kind);
    free(bn->len);
    free(bn->isnull);
    free(bn->trunc);
    free(bn->i64);
    free(bn->dbl);
    free(bn->tm);
    free(bn->frac);
    free(bn->buf);
    free(bn->text);
    memset(bn, 0, sizeof *bn);
}

unsigned mys_bin_errno(dsrc_conn *c, mys_bin *bn)
{
    unsigned code = bn->st ? mysql_stmt_errno(bn->st) : 0;
    return code ? code : mysql_errno(c->my);
}

dsrc_status mys_bin_fail(dsrc_conn *c, mys_bin *bn, const char *what, dsrc_error *err)
{
    c->last_errno = errno;
    /* An error packet that ends rows read one at a time is the
     * connection's, not the statement's. */
    if (!mysql_stmt_errno(bn->st) && mysql_errno(c->my))
        return mys_fail_raw(err, mysql_errno(c->my), mysql_sqlstate(c->my), mysql_error(c->my),
                            c->last_errno, what);
    return mys_fail_raw(err, mysql_stmt_errno(bn->st), mysql_stmt_sqlstate(bn->st),
                        mysql_stmt_error(bn->st), c->last_errno, what);
}

int mys_bin_prepare(dsrc_conn *c, const char *sql, size_t sql_len, mys_bin *bn,
                    int every_type, const char *what, dsrc_status *stp, dsrc_error *err)
{
    MYSQL_FIELD *f;
    unsigned i;

    memset(bn, 0, sizeof *bn);
    if (!(bn->st = mysql_stmt_init(c->my)))
        goto oom;
    errno = 0;
    if (mysql_stmt_prepare(bn->st, sql, (unsigned long)sql_len) != 0) {
        unsigned code = mysql_stmt_errno(bn->st);
        if (every_type || (code >= 2000 && code < 3000)) {
            /* a query's own error, or the connection's */
            *stp = mys_bin_fail(c, bn, what, err);
            mys_bin_close(bn);
            return -1;
        }
        mys_bin_close(bn);
        return 0;
    }
    if (!(bn->meta = mysql_stmt_result_metadata(bn->st))) {
        if (every_type && mysql_stmt_errno(bn->st) == 0)
            return 1; /* a statement without a result */
        mys_bin_close(bn);
        return 0;
    }
    bn->n = mysql_num_fields(bn->meta);
    f = mysql_fetch_fields(bn->meta);
    if (!(bn->kind = calloc(bn->n + 1, sizeof *bn->kind)))
        goto oom;
    for (i = 0; i < bn->n; i++)
        if (mys_bin_kind(&f[i], &bn->kind[i]) != 0) {
            if (every_type) {
                /* the client library writes the value as text */
                bn->kind[i] = MYS_B_STR;
                continue;
            }
            mys_bin_close(bn);
            return 0;
        }
    bn->b = calloc(bn->n + 1, sizeof *bn->b);
    bn->len = calloc(bn->n + 1, sizeof *bn->len);
    bn->isnull = calloc(bn->n + 1, sizeof *bn->isnull);
    bn->trunc = calloc(bn->n + 1, sizeof *bn->trunc);
    bn->i64 = calloc(bn->n + 1, sizeof *bn->i64);
    bn->dbl = calloc(bn->n + 1, sizeof *bn->dbl);
    bn->tm = calloc(bn->n + 1, sizeof *bn->tm);
    bn->frac = calloc(bn->n + 1, sizeof *bn->frac);
    bn->buf = calloc(bn->n + 1, sizeof *bn->buf);
    bn->text = calloc(bn->n + 1, sizeof *bn->text);
    if (!bn->b || !bn->len || !bn->isnull || !bn->trunc || !bn->i64 || !bn->dbl || !bn->tm ||
        !bn->frac || !bn->buf || !bn->text)
        goto oom;
    for (i = 0; i < bn->n; i++) {
        MYSQL_BIND *b = &bn->b[i];
        b->length = &bn->len[i];
        b->is_null = &bn->isnull[i];
        b->error = &bn->trunc[i];
        switch (bn->kind[i]) {
        case MYS_B_INT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &bn->i64[i];
            b->is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
            break;
        case MYS_B_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &bn->dbl[i];
            break;
        case MYS_B_TIME:
            b->buffer_type = f[i].type;
            b->buffer = &bn->tm[i];
            bn->frac[i] = f[i].type == MYSQL_TYPE_DATE ? 0 : f[i].decimals;
            break;
        case MYS_B_STR: {
            size_t cap = f[i].length < MYS_BIN_FIRST_CAP ? f[i].length + 1 : MYS_BIN_FIRST_CAP;
            if (cap < 64)
                cap = 64; /* room for a number written as text */
            if (!(bn->buf[i] = malloc(cap)))
                goto oom;
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = bn->buf[i];
            b->buffer_length = cap;
            break;
        }
        }
    }
    errno = 0;
    if (mysql_stmt_bind_result(bn->st, bn->b) != 0) {
        if (every_type) {
            *stp = mys_bin_fail(c, bn, what, err);
            mys_bin_close(bn);
            return -1;
        }
        mys_bin_close(bn);
        return 0;
    }
    return 1;
oom:
    mys_bin_close(bn);
    *stp = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    return -1;
}

/* Prepare and run `sql` as a statement of the binary protocol, its rows
 * bound.  1 when it runs; 0 when the text protocol is to read it instead
 * (a column the binary protocol would give other text, or a statement the
 * server would not prepare: the text protocol then reports its error);
 * -1 when out of memory, when the connection failed or when the prepared
 * statement failed to run (err filled). */
static int mys_bin_open(dsrc_conn *c, const char *sql, size_t sql_len, mys_bin *bn,
                        dsrc_status *stp, dsrc_error *err)
{
    int rc = mys_bin_prepare(c, sql, sql_len, bn, 0, "fetch", stp, err);

    if (rc <= 0)
        return rc;
    /* The statement was prepared: a failure to run it (a KILL QUERY, a
     * lock wait...) is the fetch's, never a reason to run it again. */
    errno = 0;
    if (mysql_stmt_execute(bn->st) != 0) {
        *stp = mys_bin_fail(c, bn, "fetch", err);
        mys_bin_close(bn);
        return -1;
    }
    return 1;
}

/* Two decimal digits of v (0..99) at p. */
static char *mys_d2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* A date as the text protocol writes it: "YYYY-MM-DD[ HH:MM:SS[.f]]" with
 * the column's fraction digits.  Returns its length. */
static size_t mys_bin_date(const MYSQL_TIME *t, int date_only, unsigned frac, char *out)
{
    char *p = out;
    unsigned long us = t->second_part;
    unsigned k;

    p = mys_d2(p, t->year / 100 % 100);
    p = mys_d2(p, t->year % 100);
    *p++ = '-';
    p = mys_d2(p, t->month);
    *p++ = '-';
    p = mys_d2(p, t->day);
    if (date_only)
        return (size_t)(p - out);
    *p++ = ' ';
    p = mys_d2(p, t->hour);
    *p++ = ':';
    p = mys_d2(p, t->minute);
    *p++ = ':';
    p = mys_d2(p, t->second);
    if (frac > 0) {
        char d[6];
        *p++ = '.';
        for (k = 6; k-- > 0; us /= 10)
            d[k] = (char)('0' + us % 10);
        memcpy(p, d, frac);
        p += frac;
    }
    return (size_t)(p - out);
}

/* The next row into cells (one per output column, `oc` their classes):
 * 1 a row, 0 the end, -1 a failure (err filled). */
int mys_bin_row(dsrc_conn *c, mys_bin *bn, mys_outcol *oc, dsrc_cell *cells, size_t n_out,
                uint64_t nrows, const char *what_base, dsrc_status *stp, dsrc_error *err)
{
    int rc;
    size_t i;

    errno = 0;
    rc = mysql_stmt_fetch(bn->st);
    if (rc == MYSQL_NO_DATA)
        return 0;
    if (rc == MYSQL_DATA_TRUNCATED) {
        /* A string longer than its buffer: a larger one, and the value
         * read again into it. */
        for (i = 0; i < bn->n; i++) {
            MYSQL_BIND *b = &bn->b[i];
            char *nb;
            if (!bn->trunc[i] || bn->kind[i] != MYS_B_STR || bn->isnull[i])
                continue;
            if (!(nb = realloc(bn->buf[i], bn->len[i] + 1))) {
                *stp = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                return -1;
            }
            bn->buf[i] = nb;
            b->buffer = nb;
            b->buffer_length = bn->len[i] + 1;
            if (mysql_stmt_fetch_column(bn->st, b, (unsigned)i, 0) != 0)
                goto failed;
        }
        if (mysql_stmt_bind_result(bn->st, bn->b) != 0)
            goto failed;
    } else if (rc != 0) {
        goto failed;
    }
    for (i = 0; i < n_out; i++) {
        dsrc_cell *cell = &cells[i];
        if (bn->isnull[i]) {
            cell->type = DSRC_T_NULL;
            continue;
        }
        switch (bn->kind[i]) {
        case MYS_B_INT:
            if (bn->b[i].is_unsigned && bn->i64[i] < 0) {
                /* BIGINT UNSIGNED above INT64_MAX: exact text */
                int n = snprintf(oc[i].scratch, sizeof oc[i].scratch, "%" PRIu64,
                                 (uint64_t)bn->i64[i]);
                cell->type = DSRC_T_TEXT;
                cell->v.s.ptr = oc[i].scratch;
                cell->v.s.len = (size_t)n;
            } else {
                cell->type = DSRC_T_INT64;
                cell->v.i = bn->i64[i];
            }
            break;
        case MYS_B_DOUBLE:
            cell->type = DSRC_T_DOUBLE;
            cell->v.d = bn->dbl[i];
            break;
        case MYS_B_TIME:
            mys_cell(&oc[i], bn->text[i],
                     mys_bin_date(&bn->tm[i], bn->b[i].buffer_type == MYSQL_TYPE_DATE,
                                  bn->frac[i], bn->text[i]),
                     cell);
            break;
        case MYS_B_STR:
            mys_cell(&oc[i], bn->buf[i], bn->len[i], cell);
            break;
        }
    }
    return 1;
failed: {
        char what[64];
        snprintf(what, sizeof what, "%s (after %" PRIu64 " rows)", what_base, nrows);
        *stp = mys_bin_fail(c, bn, what, err);
        return -1;
    }
}

/* Give up a statement before its end: read what is already on its way, and
 * when much remains, stop it on the server first. */
void mys_bin_abandon(dsrc_conn *c, mys_bin *bn)
{
    int i, rc;

    for (i = 0; i < 4096; i++) {
        rc = mysql_stmt_fetch(bn->st);
        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
            mys_bin_close(bn);
            return;
        }
    }
    mys_kill_query(c);
    mys_bin_close(bn);
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
    int cursor_sel = -1, in_tx = 0, stopped = 0, use_bin = 0;
    mys_bin bin = {0};
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
    /* The binary protocol, where it gives the same cells: the server then
     * sends numbers and dates without writing them as text. */
    if (c->p.fetch_binary && !req->cursor_field) {
        int b = mys_bin_open(c, q.s, q.len, &bin, &st, err);
        if (b < 0)
            goto out;
        use_bin = b;
        if (!use_bin && dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "fetch");
            goto out;
        }
    }
    if (use_bin)
        st = DSRC_OK;
    else
        st = mys_query(c, q.s, q.len, "fetch", err);
    if (st == DSRC_OK && !use_bin) {
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
    nf = mysql_num_fields(use_bin ? bin.meta : res);
    fields = mysql_fetch_fields(use_bin ? bin.meta : res);
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
    while (use_bin) {
        int r = mys_bin_row(c, &bin, oc, cells, n_out, nrows, "fetch", &st, err);
        /* A KILL QUERY (cancel()) does not always end a prepared
         * statement with an error: a SLEEP() it interrupts returns a
         * value.  So the flag is also checked before the first row and at
         * the end. */
        if (r >= 0 && (r == 0 || (nrows % MYS_POLL_EVERY) == 0) &&
            dsrc_cancelled(mys_host, ctx)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch cancelled after %" PRIu64 " rows", nrows);
            stopped = r > 0;
            break;
        }
        if (r <= 0)
            break;
        if (rows->row(rows->user, cells, n_out) != 0) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
            stopped = 1;
            break;
        }
        nrows++;
    }
    while (!use_bin) {
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
    if (use_bin) {
        if (stopped)
            mys_bin_abandon(c, &bin);
        else
            mys_bin_close(&bin);
    }
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_fetch.c -- fetch for the clickhouse plugin.
 *
 * The table's columns come from system.columns; then one statement:
 *   SELECT cols FROM `db`.`t` [WHERE `cur` > value [AND ...tie bound]]
 *     [ORDER BY `cur`] [LIMIT n] FORMAT ...
 * streamed as the server sends it:
 *   - CSV wanted and no cursor: FORMAT CSVWithNames, straight to the byte
 *     sink (the server's own CSV, as the postgres plugin uses COPY);
 *   - else FORMAT TabSeparatedWithNamesAndTypes, each line parsed into
 *     typed cells (ch_types.c); DateTime columns are selected in UTC so
 *     that they become ISO 8601 timestamps with 'Z'.  With a cursor its
 *     column is selected once more, as the server writes it, for
 *     cursor_max (a value the next fetch's `>` reads back as it was).
 * Only the unfinished last line is held: memory stays flat.
 */
#include "ch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CH_POLL_EVERY 1024

typedef struct ch_fst {
    const dsrc_ctx *ctx;
    const dsrc_fetch_req *req;
    const dsrc_row_sink *rows;
    const dsrc_byte_sink *bytes;
    dsrc_error *err;
    dsrc_status st;          /* an error found in the answer                */
    size_t n_out;            /* the columns sent                           */
    int cursor;              /* the cursor is field n_out                  */
    dsrc_column *cols;       /* the schema sent                            */
    ch_type *types;          /* each field's type (n_out + cursor)         */
    char **f;
    size_t *fl;
    dsrc_cell *cells;
    char (*tmp)[32];
    uint64_t line, nrows, nbytes;
    int begun;
    dsrc_cursor_max cm;
} ch_fst;

/* A line that is the server's exception, appended to a body already under
 * way: the query failed half way. */
static int ch_fetch_exception(ch_fst *s, const char *line, size_t len)
{
    char msg[512];
    int code, retryable;

    if ((code = ch_parse_exception(line, len, msg, sizeof msg)) < 0)
        return 0;
    s->st = dsrc_error_set(s->err, ch_status_of(code, &retryable), 0, NULL,
                           "fetch: the server failed after %" PRIu64 " rows: %s (ClickHouse "
                           "error %d)", s->nrows, msg, code);
    return 1;
}

static int ch_fetch_line(void *user, char *line, size_t len)
{
    ch_fst *s = user;
    size_t nf = s->n_out + (size_t)s->cursor, k, i;

    if (s->line++ < 2)
        return 0; /* the names and the types: checked as the answer starts */
    k = ch_tsv_split(line, len, s->f, s->fl, nf + 1);
    if (k != nf) {
        if (!ch_fetch_exception(s, line, len))
            s->st = dsrc_error_set(s->err, DSRC_E_BACKEND, 0, NULL,
                                   "fetch: row %" PRIu64 " has %zu fields, %zu expected",
                                   s->nrows + 1, k, nf);
        return 1;
    }
    for (i = 0; i < s->n_out; i++) {
        int null = s->fl[i] == 2 && s->f[i][0] == '\\' && s->f[i][1] == 'N';
        size_t n = null ? 0 : ch_tsv_value(&s->types[i], s->f[i], s->fl[i]);
        if (ch_cell(&s->types[i], s->f[i], n, null, s->tmp[i], &s->cells[i]) != 0) {
            s->st = dsrc_error_set(s->err, DSRC_E_BACKEND, 0, NULL,
                                   "fetch: row %" PRIu64 ", column '%s': '%.*s' is not a "
                                   "value of type %s", s->nrows + 1, s->cols[i].name,
                                   (int)(n < 64 ? n : 64), s->f[i],
                                   s->cols[i].native_type);
            return 1;
        }
    }
    if (s->rows->row(s->rows->user, s->cells, s->n_out) != 0) {
        s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL,
                               "fetch stopped by the receiver");
        return 1;
    }
    s->nrows++;
    if (s->cursor) {
        char *v = s->f[s->n_out];
        if (!(s->fl[s->n_out] == 2 && v[0] == '\\' && v[1] == 'N'))
            dsrc_cursor_max_offer(&s->cm, v, ch_tsv_unescape(v, s->fl[s->n_out]));
    }
    if (s->nrows % CH_POLL_EVERY == 0 && dsrc_cancelled(ch_host, s->ctx)) {
        s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL,
                               "fetch cancelled after %" PRIu64 " rows", s->nrows);
        return 1;
    }
    return 0;
}

/* The server's CSV, as it comes, to the byte sink. */
static int ch_fetch_csv(void *user, const char *data, size_t len)
{
    ch_fst *s = user;
    size_t i;

    if (!s->begun) {
        if (ch_fetch_exception(s, data, len))
            return 1;
        s->begun = 1;
        if (s->bytes->begin(s->bytes->user, "text/csv", -1) != 0)
            goto stop;
    }
    if (s->bytes->write(s->bytes->user, data, len) != 0)
        goto stop;
    for (i = 0; i < len; i++)
        s->line += data[i] == '\n';
    s->nbytes += len;
    return 0;
stop:
    s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
    return 1;
}

/* The cursor value as a literal of the column's type: a number as it is
 * (checked), anything else a quoted string the server converts. */
static dsrc_status ch_cursor_literal(dsrc_buf *q, const ch_type *t, const char *field,
                                     const char *v, dsrc_error *err)
{
    if (t->numeric) {
        char *end;
        errno = 0;
        (void)strtod(v, &end);
        if (!*v || *end || errno == ERANGE || strpbrk(v, "xXpP") || strstr(v, "inf") ||
            strstr(v, "nan"))
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "fetch: cursor value '%.64s' for column '%s' is not a "
                                  "number", v, field);
        dsrc_buf_add(q, v);
    } else {
        ch_buf_literal(q, v);
    }
    return DSRC_OK;
}

/* One selected column: DateTime in UTC for typed rows. */
static void ch_select_col(dsrc_buf *q, const ch_colinfo *ci, int rows)
{
    if (rows && ch_type_of(ci->type).cls == CH_C_DATETIME) {
        dsrc_buf_add(q, "toTimeZone(");
        ch_buf_ident(q, ci->name);
        dsrc_buf_add(q, ", 'UTC')");
    } else {
        ch_buf_ident(q, ci->name);
    }
}

dsrc_status ch_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    ch_path p = {NULL, NULL};
    ch_cols cols = {0};
    ch_fst s;
    ch_lines l = {{0}, ch_fetch_line, &s, 0};
    dsrc_buf q = {0}, from = {0};
    dsrc_status st;
    long *map = NULL, cur = -1;
    ch_type cur_t = {CH_C_TEXT, DSRC_T_TEXT, 0, 0, 0};
    size_t i, n_out;
    int csv;

    memset(&s, 0, sizeof s);
    if ((st = dsrc_fetch_check_rows(req, rows, "ClickHouse tables", err)) != DSRC_OK)
        return st;
    if (req->cursor_field && !*req->cursor_field)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: the cursor field is empty");
    if ((st = ch_path_parse(c, req->item, 1, &p, err)) != DSRC_OK)
        return st;
    st = ch_read_columns(ctx, c, p.db, p.table, &cols, err);
    if (st != DSRC_OK)
        goto out;
    if (cols.n == 0) {
        st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "60", "fetch: no table or view '%s'",
                            req->item);
        goto out;
    }
    /* The columns sent: the list asked for, else those of SELECT *. */
    map = calloc(cols.n + req->n_columns + 1, sizeof *map);
    if (!map) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    n_out = 0;
    if (req->n_columns) {
        for (i = 0; i < req->n_columns; i++) {
            long k = req->columns[i] ? ch_cols_find(&cols, req->columns[i]) : -1;
            if (k < 0) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "16",
                                    "fetch: no column '%s' in '%s'",
                                    req->columns[i] ? req->columns[i] : "", req->item);
                goto out;
            }
            map[n_out++] = k;
        }
    } else {
        for (i = 0; i < cols.n; i++)
            if (!cols.v[i].hidden)
                map[n_out++] = (long)i;
    }
    if (req->cursor_field) {
        cur = ch_cols_find(&cols, req->cursor_field);
        if (cur < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "16",
                                "fetch: no cursor column '%s' in '%s'", req->cursor_field,
                                req->item);
            goto out;
        }
        cur_t = ch_type_of(cols.v[cur].type);
    }
    csv = req->mode == DSRC_FETCH_CSV && !req->cursor_field && bytes && bytes->begin &&
          bytes->write;

    /* The schema. */
    s.ctx = ctx;
    s.req = req;
    s.rows = rows;
    s.bytes = bytes;
    s.err = err;
    s.n_out = n_out;
    s.cursor = cur >= 0;
    s.cols = calloc(n_out + 1, sizeof *s.cols);
    s.types = calloc(n_out + 2, sizeof *s.types);
    s.f = calloc(n_out + 3, sizeof *s.f);
    s.fl = calloc(n_out + 3, sizeof *s.fl);
    s.cells = calloc(n_out + 1, sizeof *s.cells);
    s.tmp = calloc(n_out + 1, sizeof *s.tmp);
    if (!s.cols || !s.types || !s.f || !s.fl || !s.cells || !s.tmp) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    dsrc_cursor_max_init(&s.cm, req->cursor_field, "column", NULL);
    for (i = 0; i < n_out; i++) {
        const ch_colinfo *ci = &cols.v[map[i]];
        s.types[i] = ch_type_of(ci->type);
        s.cols[i].name = ci->name;
        s.cols[i].type = s.types[i].type;
        s.cols[i].native_type = ci->type;
        s.cols[i].nullable = s.types[i].nullable;
    }

    /* The statement. */
    ch_buf_ident(&from, p.db);
    dsrc_buf_add(&from, ".");
    ch_buf_ident(&from, p.table);
    dsrc_buf_add(&q, "SELECT ");
    if (csv && !req->n_columns) {
        dsrc_buf_add(&q, "*");
    } else {
        for (i = 0; i < n_out; i++) {
            if (i)
                dsrc_buf_add(&q, ", ");
            ch_select_col(&q, &cols.v[map[i]], !csv);
        }
    }
    if (cur >= 0) {
        dsrc_buf_add(&q, ", ");
        ch_buf_ident(&q, cols.v[cur].name);
    }
    dsrc_buf_add(&q, " FROM ");
    dsrc_buf_add(&q, from.s ? from.s : "");
    if (cur >= 0) {
        const char *name = cols.v[cur].name;
        if (req->cursor_value) {
            dsrc_buf_add(&q, " WHERE ");
            ch_buf_ident(&q, name);
            dsrc_buf_add(&q, " > ");
            if ((st = ch_cursor_literal(&q, &cur_t, name, req->cursor_value, err)) != DSRC_OK)
                goto out;
        }
        if (req->limit > 0) {
            /* Up to the n-th cursor value, all rows that share it (and,
             * from the start, the rows without a cursor). */
            dsrc_buf_add(&q, req->cursor_value ? " AND (" : " WHERE (");
            ch_buf_ident(&q, name);
            dsrc_buf_add(&q, " IS NULL OR ");
            ch_buf_ident(&q, name);
            dsrc_buf_add(&q, " <= (SELECT max(dsrc_c) FROM (SELECT ");
            ch_buf_ident(&q, name);
            dsrc_buf_add(&q, " AS dsrc_c FROM ");
            dsrc_buf_add(&q, from.s ? from.s : "");
            dsrc_buf_add(&q, " WHERE ");
            ch_buf_ident(&q, name);
            if (req->cursor_value) {
                dsrc_buf_add(&q, " > ");
                ch_cursor_literal(&q, &cur_t, name, req->cursor_value, err);
            } else {
                dsrc_buf_add(&q, " IS NOT NULL");
            }
            dsrc_buf_add(&q, " ORDER BY dsrc_c");
            dsrc_buf_printf(&q, " LIMIT %" PRId64 ")))", req->limit);
        }
        dsrc_buf_add(&q, " ORDER BY ");
        ch_buf_ident(&q, name);
        dsrc_buf_add(&q, " ASC NULLS LAST");
    }
    if (req->limit >= 0 && !(cur >= 0 && req->limit > 0))
        dsrc_buf_printf(&q, " LIMIT %" PRId64, req->limit);
    dsrc_buf_add(&q, csv ? " FORMAT CSVWithNames" : " FORMAT TabSeparatedWithNamesAndTypes");
    if (q.failed || from.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (rows->schema(rows->user, s.cols, n_out) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        goto out;
    }
    if (csv)
        st = ch_query(ctx, c, q.s, ch_fetch_csv, &s, "fetch", err);
    else
        st = ch_query(ctx, c, q.s, ch_lines_feed, &l, "fetch", err);
    if (s.st != DSRC_OK) {
        st = s.st; /* the answer's own error, already in err */
    } else if (st == DSRC_OK) {
        if (!csv && ch_lines_end(&l))
            st = s.st;
        else if (csv && !s.begun && bytes->begin(bytes->user, "text/csv", -1) != 0)
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch stopped by the receiver");
    }
    if (result) {
        result->mode = csv ? DSRC_FETCH_CSV : DSRC_FETCH_ROWS;
        result->rows = csv ? (s.line ? s.line - 1 : 0) : s.nrows;
        result->bytes = s.nbytes;
        if (st == DSRC_OK)
            dsrc_cursor_max_report(&s.cm, ch_host, ctx, result);
        else
            result->has_cursor = 0;
    }
out:
    dsrc_buf_free(&l.pending);
    dsrc_buf_free(&q);
    dsrc_buf_free(&from);
    free(s.cols);
    free(s.types);
    free(s.f);
    free(s.fl);
    free(s.cells);
    free(s.tmp);
    free(map);
    ch_cols_free(&cols);
    ch_path_free(&p);
    return st;
}

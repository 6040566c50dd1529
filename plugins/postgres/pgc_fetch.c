/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_fetch.c -- fetching a relation.
 *
 * Everything runs in one transaction, BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, so every statement of a fetch sees the same snapshot.
 *
 *   CSV   (mode DSRC_FETCH_CSV and a byte sink): the server's own CSV,
 *         COPY (SELECT ...) TO STDOUT (FORMAT csv, HEADER), streamed to
 *         the byte sink as it arrives (media type "text/csv").  COPY takes
 *         no parameters, so a cursor value is handed over with
 *         set_config('dsrc.cursor_value', $1, true) and read back in the
 *         query as CAST(current_setting('dsrc.cursor_value') AS <type>):
 *         it is never pasted into SQL text.
 *   rows  (anything else): COPY (SELECT ...) TO STDOUT in text form, each
 *         line split into the values the server's output functions wrote
 *         (what a SELECT returns as text), each turned into a typed cell
 *         (see pgc_types.c); a cursor value goes as in CSV mode.
 *   a large table (CSV or rows): the same COPY over several connections
 *         in the same snapshot, one range of blocks each in turn, written
 *         in block order (see "A large table over several connections"
 *         below).
 *
 * Cursor: WHERE "f" > $1 ORDER BY "f", and with a limit n the rest of the
 * n-th row's group of equal values (see pgc_select_sql); cursor_max is the
 * value of the last row sent whose cursor is not NULL (rows arrive in
 * cursor order, NULLs last), as the server writes it, so that it reads
 * back as the same value.
 * In CSV mode it is read from the CSV line when the cursor column is among
 * the columns sent, else asked for in the same snapshot:
 * SELECT v::text FROM (the same SELECT) ORDER BY v DESC LIMIT 1.
 *
 * Identifiers are quoted with PQescapeIdentifier(); the limit is a number
 * this file prints.
 */
#include "pgc.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <strings.h>

#define PGC_CSV_CHUNK (256 * 1024)
#define PGC_CHECK_EVERY 1024

/* The query of one fetch. */
typedef struct pgc_plan {
    pgc_rel rel;
    size_t n_out;
    size_t *map;          /* output column -> rel.cols index               */
    ssize_t cursor;       /* rel.cols index of the cursor column, or -1    */
    ssize_t cursor_out;   /* its position among the output columns, or -1  */
    char *path;           /* "schema"."name", quoted                       */
} pgc_plan;

static void pgc_plan_free(pgc_plan *p)
{
    free(p->map);
    free(p->path);
    pgc_rel_free(&p->rel);
    memset(p, 0, sizeof *p);
}

/* The column `name`: exact match first, else a unique match ignoring
 * case.  -1 when none. */
static ssize_t pgc_find_col(const pgc_rel *r, const char *name)
{
    size_t i;
    ssize_t found = -1;
    for (i = 0; i < r->n_cols; i++)
        if (strcmp(r->cols[i].name, name) == 0)
            return (ssize_t)i;
    for (i = 0; i < r->n_cols; i++) {
        if (strcasecmp(r->cols[i].name, name) == 0) {
            if (found >= 0)
                return -1;
            found = (ssize_t)i;
        }
    }
    return found;
}

static dsrc_status pgc_plan_make(dsrc_conn *c, const dsrc_ctx *ctx, const dsrc_fetch_req *req,
                                 pgc_plan *p, dsrc_error *err)
{
    dsrc_status s;
    size_t i;
    dsrc_buf b = {0};

    memset(p, 0, sizeof *p);
    p->cursor = p->cursor_out = -1;
    s = pgc_resolve(c, ctx, req->item, &p->rel, err);
    if (s != DSRC_OK)
        return s;
    for (i = 0; i < p->rel.n_cols; i++)
        p->rel.cols[i].cls = pgc_rows_class(c->pg, p->rel.cols[i].base_oid,
                                            pgc_host ? pgc_host->abi_version : 0);
    /* A relation without columns still has rows: they go as empty rows,
     * as psql's \copy writes them. */
    p->n_out = req->n_columns ? req->n_columns : p->rel.n_cols;
    p->map = calloc(p->n_out ? p->n_out : 1, sizeof *p->map);
    if (!p->map)
        return pgc_oom(err);
    for (i = 0; i < p->n_out; i++) {
        ssize_t k = (ssize_t)i;
        if (req->n_columns) {
            if (!req->columns[i])
                return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                      "column %zu of the list is NULL", i + 1);
            k = pgc_find_col(&p->rel, req->columns[i]);
            if (k < 0)
                return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "42703",
                                      "no column '%s' in '%s'", req->columns[i], req->item);
        }
        p->map[i] = (size_t)k;
    }
    if (req->cursor_field) {
        p->cursor = pgc_find_col(&p->rel, req->cursor_field);
        if (p->cursor < 0)
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "42703",
                                  "no cursor column '%s' in '%s'", req->cursor_field,
                                  req->item);
        for (i = 0; i < p->n_out; i++)
            if (p->map[i] == (size_t)p->cursor) {
                p->cursor_out = (ssize_t)i;
                break;
            }
    }
    pgc_buf_ident(&b, c->pg, p->rel.schema);
    dsrc_buf_add(&b, ".");
    pgc_buf_ident(&b, c->pg, p->rel.name);
    if (b.failed) {
        dsrc_buf_free(&b);
        return pgc_oom(err);
    }
    p->path = b.s;
    return DSRC_OK;
}

/* Append " WHERE"/" AND (f IS NULL OR f <= (SELECT f FROM (SELECT f FROM
 * <rel> WHERE f IS NOT NULL [AND f > <value>] ORDER BY f LIMIT n) AS
 * dsrc_first(f) ORDER BY f DESC LIMIT 1))": the rows up to the highest of
 * the first n cursor values, all of them even when the n-th value is
 * shared, and (in a fetch from the start) every row whose cursor is NULL,
 * beyond the limit.  Only the ordering the fetch needs anyway is used (no
 * max(): uuid has none). */
static void pgc_tie_bound_sql(dsrc_buf *q, dsrc_conn *c, const pgc_plan *p,
                              const dsrc_fetch_req *req, const char *value)
{
    const char *cur = p->rel.cols[p->cursor].name;

    dsrc_buf_add(q, req->cursor_value ? " AND (" : " WHERE (");
    pgc_buf_ident(q, c->pg, cur);
    dsrc_buf_add(q, " IS NULL OR ");
    pgc_buf_ident(q, c->pg, cur);
    dsrc_buf_add(q, " <= (SELECT dsrc_first.f FROM (SELECT ");
    pgc_buf_ident(q, c->pg, cur);
    dsrc_buf_add(q, " FROM ");
    dsrc_buf_add(q, p->path);
    dsrc_buf_add(q, " WHERE ");
    pgc_buf_ident(q, c->pg, cur);
    dsrc_buf_add(q, " IS NOT NULL");
    if (req->cursor_value) {
        dsrc_buf_add(q, " AND ");
        pgc_buf_ident(q, c->pg, cur);
        dsrc_buf_add(q, " > ");
        dsrc_buf_add(q, value);
    }
    dsrc_buf_add(q, " ORDER BY ");
    pgc_buf_ident(q, c->pg, cur);
    dsrc_buf_printf(q, " LIMIT %" PRId64 ") AS dsrc_first(f) ORDER BY dsrc_first.f DESC LIMIT 1))",
                    req->limit);
}

/* Append "SELECT <cols> FROM <rel> [WHERE f > <value>] [ORDER BY f]
 * [LIMIT n]".  `extra_cursor`: also select the cursor column when it is
 * not among the output columns.  `value`: the SQL for the cursor value.
 * With a cursor and a limit n > 0 there is no LIMIT but the bound of
 * pgc_tie_bound_sql(): the rows end with the whole group of the n-th
 * value, so that the next fetch, after the highest value sent, skips
 * nothing. */
static void pgc_select_sql(dsrc_buf *q, dsrc_conn *c, const pgc_plan *p,
                           const dsrc_fetch_req *req, int extra_cursor, const char *value)
{
    size_t i;
    const char *cur = p->cursor >= 0 ? p->rel.cols[p->cursor].name : NULL;

    dsrc_buf_add(q, "SELECT ");
    for (i = 0; i < p->n_out; i++) {
        if (i)
            dsrc_buf_add(q, ", ");
        pgc_buf_ident(q, c->pg, p->rel.cols[p->map[i]].name);
    }
    if (extra_cursor && cur && p->cursor_out < 0) {
        dsrc_buf_add(q, ", ");
        pgc_buf_ident(q, c->pg, cur);
    }
    dsrc_buf_add(q, " FROM ");
    dsrc_buf_add(q, p->path);
    if (cur) {
        if (req->cursor_value) {
            dsrc_buf_add(q, " WHERE ");
            pgc_buf_ident(q, c->pg, cur);
            dsrc_buf_add(q, " > ");
            dsrc_buf_add(q, value);
        }
        if (req->limit > 0)
            pgc_tie_bound_sql(q, c, p, req, value);
        dsrc_buf_add(q, " ORDER BY ");
        pgc_buf_ident(q, c->pg, cur);
    }
    if (req->limit >= 0 && !(cur && req->limit > 0))
        dsrc_buf_printf(q, " LIMIT %" PRId64, req->limit);
}

/* Record a cursor value (as text).  Values arrive in cursor order, so the
 * last one counts: *too_long says whether it did not fit. */
static void pgc_note_cursor(char *cmax, int *have, int *too_long, const char *v, size_t len)
{
    if (len >= DSRC_CURSOR_MAX || memchr(v, '\0', len)) {
        *too_long = 1;
        return;
    }
    memcpy(cmax, v, len);
    cmax[len] = '\0';
    *have = 1;
    *too_long = 0;
}

/* ------------------------------------------------------------------------ */
/* Typed rows                                                                */

/* The columns a fetch of plan p sends (strings borrowed from the plan);
 * NULL when out of memory.  Free with free(). */
static dsrc_column *pgc_out_columns(const pgc_plan *p)
{
    dsrc_column *cols = calloc(p->n_out ? p->n_out : 1, sizeof *cols);
    size_t i;

    if (!cols)
        return NULL;
    for (i = 0; i < p->n_out; i++) {
        const pgc_col *col = &p->rel.cols[p->map[i]];
        cols[i].name = col->name;
        cols[i].type = pgc_type_of(col->cls);
        cols[i].native_type = col->native;
        cols[i].nullable = col->notnull ? 0 : 1;
        cols[i].primary_key = col->pk;
        cols[i].default_value = col->dflt;
        cols[i].comment = col->comment;
    }
    return cols;
}

typedef struct pgc_rowrun {
    const pgc_plan *p;
    const dsrc_row_sink *sink;
    dsrc_column *cols;
    dsrc_cell *cells;
    char **vals;          /* the values of the row being read              */
    size_t *lens;
    pgc_scratch scratch;
    int schema_sent;
    int cursor_col;       /* result column of the cursor, or -1            */
    char *cmax;
    int have_max, too_long;
} pgc_rowrun;

static int pgc_send_schema(pgc_rowrun *r)
{
    r->schema_sent = 1;
    return r->sink->schema(r->sink->user, r->cols, r->p->n_out) != 0;
}

/* One field of a COPY text line, in place: the bytes from `p` up to the
 * next tab or the end of the line `end` are unescaped (the escapes COPY TO
 * writes: \b \f \n \r \t \v, \\, and octal and hex as COPY FROM reads
 * them) and NUL-terminated over the delimiter.  *v gets the value, NULL for
 * \N, *len its length.  Returns the start of the next field, or NULL when
 * this was the line's last field. */
static char *pgc_copy_field(char *p, char *end, char **v, size_t *len)
{
    char *t = memchr(p, '\t', (size_t)(end - p));
    char *fe = t ? t : end, *bs = memchr(p, '\\', (size_t)(fe - p)), *o;

    if (!bs) {
        *fe = '\0';
        *v = p;
        *len = (size_t)(fe - p);
        return t ? t + 1 : NULL;
    }
    if (fe - p == 2 && p[1] == 'N') {
        *v = NULL;
        *len = 0;
        return t ? t + 1 : NULL;
    }
    o = bs;
    while (bs < fe) {
        char ch = *bs++;
        if (ch != '\\' || bs == fe) {
            *o++ = ch;
            continue;
        }
        ch = *bs++;
        switch (ch) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'v': *o++ = '\v'; break;
        case 'x': {
            int x = 0, k = 0, h;
            while (k < 2 && bs < fe && (h = dsrc_hexval(*bs)) >= 0) {
                x = x * 16 + h;
                bs++;
                k++;
            }
            *o++ = k ? (char)x : 'x';
            break;
        }
        default:
            if (ch >= '0' && ch <= '7') {
                int x = ch - '0', k = 1;
                while (k < 3 && bs < fe && *bs >= '0' && *bs <= '7') {
                    x = x * 8 + (*bs++ - '0');
                    k++;
                }
                *o++ = (char)x;
            } else {
                *o++ = ch;
            }
            break;
        }
    }
    *o = '\0';
    *v = p;
    *len = (size_t)(o - p);
    return t ? t + 1 : NULL;
}

/* One line of the COPY: its fields into cells, handed to the sink.  0, 1
 * when the receiver stopped, -1 when out of memory, -2 when the line does
 * not have the fields expected. */
static int pgc_copy_row(pgc_rowrun *r, char *line, size_t n)
{
    const pgc_plan *p = r->p;
    size_t i, need = 0, n_fields = p->n_out + (r->cursor_col == (int)p->n_out ? 1 : 0);
    char *end = line + n, *next = line, *cv = NULL;
    size_t cvlen = 0;

    if (n && end[-1] == '\n')
        end--;
    for (i = 0; i < n_fields; i++) {
        char *v;
        size_t len;
        if (!next)
            return -2;
        next = pgc_copy_field(next, end, &v, &len);
        if ((int)i == r->cursor_col) {
            cv = v;
            cvlen = len;
        }
        if (i >= p->n_out)
            break;
        r->vals[i] = v;
        r->lens[i] = len;
        if (v)
            need += pgc_scratch_need(p->rel.cols[p->map[i]].cls, len);
    }
    /* A relation without columns: COPY writes an empty line. */
    if (next && n_fields > 0)
        return -2;
    if (pgc_scratch_reserve(&r->scratch, need) != 0)
        return -1;
    for (i = 0; i < p->n_out; i++)
        pgc_cell(p->rel.cols[p->map[i]].cls, r->vals[i], r->lens[i], &r->scratch, &r->cells[i]);
    if (r->sink->row(r->sink->user, r->cells, p->n_out) != 0)
        return 1;
    if (cv)
        pgc_note_cursor(r->cmax, &r->have_max, &r->too_long, cv, cvlen);
    return 0;
}

/* Hand a cursor value to a COPY, which takes no parameters: checked and
 * stored with set_config('dsrc.cursor_value', $1, true) in the fetch's
 * transaction, `val` gets the SQL that reads it back as the cursor
 * column's type. */
static dsrc_status pgc_cursor_setting(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                      const dsrc_fetch_req *req, dsrc_buf *val,
                                      dsrc_error *err)
{
    const char *params[1] = {req->cursor_value};
    dsrc_buf chk = {0};
    dsrc_status s;

    dsrc_buf_add(&chk, "SELECT pg_catalog.set_config('dsrc.cursor_value', $1::text, true),"
                       " CAST($1::text AS ");
    dsrc_buf_add(&chk, p->rel.cols[p->cursor].cast);
    dsrc_buf_add(&chk, ")");
    s = chk.failed ? pgc_oom(err)
                   : pgc_exec(c, ctx, chk.s, 1, params, NULL, "the cursor value", err);
    dsrc_buf_free(&chk);
    if (s != DSRC_OK)
        return s;
    dsrc_buf_add(val, "CAST(pg_catalog.current_setting('dsrc.cursor_value') AS ");
    dsrc_buf_add(val, p->rel.cols[p->cursor].cast);
    dsrc_buf_add(val, ")");
    if (val->failed) {
        dsrc_buf_free(val);
        return pgc_oom(err);
    }
    return DSRC_OK;
}

static dsrc_status pgc_copy_start(dsrc_conn *c, const dsrc_ctx *ctx, dsrc_error *err);
static dsrc_status pgc_fetch_par(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                 const dsrc_fetch_req *req, const dsrc_row_sink *rows,
                                 const dsrc_byte_sink *sink, pgc_rowrun *typed,
                                 dsrc_fetch_result *result, int *done, dsrc_error *err);

/* Typed rows: COPY (SELECT ...) TO STDOUT in text form, each line split
 * into the values the server's output functions wrote (the same text a
 * SELECT returns), turned into cells.  One buffer per row from libpq
 * instead of a result per row as single-row mode would make. */
static dsrc_status pgc_fetch_rows(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                  const dsrc_fetch_req *req, const dsrc_row_sink *sink,
                                  dsrc_fetch_result *result, char *cmax, int *have_max,
                                  int *too_long, dsrc_error *err)
{
    pgc_rowrun r;
    dsrc_buf q = {0}, val = {0};
    uint64_t n = 0;
    dsrc_status s = DSRC_OK;
    int stopped = 0;
    size_t k = p->n_out ? p->n_out : 1;

    memset(&r, 0, sizeof r);
    r.p = p;
    r.sink = sink;
    r.cmax = cmax;
    r.cursor_col = p->cursor < 0 ? -1 : p->cursor_out >= 0 ? (int)p->cursor_out : (int)p->n_out;
    r.cols = pgc_out_columns(p);
    r.cells = calloc(k, sizeof *r.cells);
    r.vals = calloc(k, sizeof *r.vals);
    r.lens = calloc(k, sizeof *r.lens);
    if (!r.cols || !r.cells || !r.vals || !r.lens) {
        s = pgc_oom(err);
        goto out;
    }
    {
        /* A large table over several connections, as for CSV. */
        int done = 0;
        s = pgc_fetch_par(ctx, c, p, req, NULL, NULL, &r, result, &done, err);
        if (done || s != DSRC_OK) {
            n = result->rows;
            goto out;
        }
    }
    if (p->cursor >= 0 && req->cursor_value) {
        s = pgc_cursor_setting(ctx, c, p, req, &val, err);
        if (s != DSRC_OK)
            goto out;
    }
    dsrc_buf_add(&q, "COPY (");
    pgc_select_sql(&q, c, p, req, 1, val.s ? val.s : "NULL");
    dsrc_buf_add(&q, ") TO STDOUT");
    if (q.failed) {
        s = pgc_oom(err);
        goto out;
    }
    s = pgc_send(c, q.s, -1, NULL, "reading the rows", err);
    if (s == DSRC_OK)
        s = pgc_copy_start(c, ctx, err);
    if (s != DSRC_OK)
        goto out;
    for (;;) {
        char *data;
        int got = PQgetCopyData(c->pg, &data, 1);
        if (got > 0) {
            int rc = r.schema_sent ? 0 : pgc_send_schema(&r);
            if (rc == 0)
                rc = pgc_copy_row(&r, data, (size_t)got);
            PQfreemem(data);
            if (rc != 0) {
                if (rc == -1)
                    s = pgc_oom(err);
                else if (rc == -2)
                    s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                                       "reading the rows: row %" PRIu64
                                       " does not have the %zu values asked for",
                                       n + 1, p->n_out);
                stopped = 1;
                break;
            }
            n++;
            if ((n % PGC_CHECK_EVERY) == 0 &&
                (atomic_load(&c->cancel_requested) || dsrc_cancelled(pgc_host, ctx)))
                pgc_interrupt(c);
            continue;
        }
        if (got == 0) {
            s = pgc_wait_input(c, ctx, "reading the rows", err);
            if (s != DSRC_OK)
                goto out;
            continue;
        }
        break; /* -1: done; -2: error, reported by the result below */
    }
    if (stopped) {
        pgc_abandon(c);
        if (s == DSRC_OK)
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        goto out;
    }
    {
        PGresult *res;
        int failed = 0;
        while ((res = PQgetResult(c->pg)) != NULL) {
            if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed) {
                s = pgc_fail_result(c, ctx, res, "reading the rows", err);
                failed = 1;
            }
            PQclear(res);
        }
        if (!failed && PQstatus(c->pg) != CONNECTION_OK)
            s = pgc_fail_conn(c, "reading the rows", err);
    }
    if (s == DSRC_OK && !r.schema_sent && pgc_send_schema(&r))
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
out:
    result->mode = DSRC_FETCH_ROWS;
    result->rows = n;
    *have_max = r.have_max;
    *too_long = r.too_long;
    dsrc_buf_free(&q);
    dsrc_buf_free(&val);
    pgc_scratch_free(&r.scratch);
    free(r.cols);
    free(r.cells);
    free(r.vals);
    free(r.lens);
    return s;
}

/* ------------------------------------------------------------------------ */
/* CSV through COPY                                                          */

/* Field `k` of one CSV line as COPY writes it: 0 and *v, *len set (*v NULL
 * for a NULL, i.e. an unquoted empty field); -1 when the line has fewer
 * fields.  Quoted fields are unquoted into `tmp` (at least `n` bytes). */
static int pgc_csv_field(const char *line, size_t n, size_t k, char *tmp, const char **v,
                         size_t *len)
{
    size_t i = 0, field = 0;

    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    for (;;) {
        size_t start = i, out = 0;
        int quoted = i < n && line[i] == '"';
        if (quoted) {
            i++;
            for (;;) {
                if (i >= n)
                    break;
                if (line[i] == '"') {
                    if (i + 1 < n && line[i + 1] == '"') {
                        tmp[out++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                tmp[out++] = line[i++];
            }
            while (i < n && line[i] != ',')
                i++;
        } else {
            while (i < n && line[i] != ',')
                i++;
        }
        if (field == k) {
            if (quoted) {
                *v = tmp;
                *len = out;
            } else if (i == start) {
                *v = NULL;
                *len = 0;
            } else {
                *v = line + start;
                *len = i - start;
            }
            return 0;
        }
        if (i >= n)
            return -1;
        i++; /* the comma */
        field++;
    }
}

typedef struct pgc_csvrun {
    const dsrc_byte_sink *sink;
    char *buf;
    size_t len;
    uint64_t bytes;
} pgc_csvrun;

static int pgc_csv_flush(pgc_csvrun *w)
{
    if (!w->len)
        return 0;
    if (w->sink->write(w->sink->user, w->buf, w->len) != 0)
        return 1;
    w->bytes += w->len;
    w->len = 0;
    return 0;
}

static int pgc_csv_put(pgc_csvrun *w, const char *data, size_t n)
{
    if (w->len + n > PGC_CSV_CHUNK && pgc_csv_flush(w))
        return 1;
    if (n > PGC_CSV_CHUNK) {
        if (w->sink->write(w->sink->user, data, n) != 0)
            return 1;
        w->bytes += n;
        return 0;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    return 0;
}

/* Describe the CSV's columns to the host before it begins, as the SDK
 * allows in CSV mode (the manifest records them).  0, or nonzero when the
 * receiver refused. */
static int pgc_csv_schema(const pgc_plan *p, const dsrc_row_sink *rows)
{
    dsrc_column *cols;
    int rc;

    if (!rows || !rows->schema)
        return 0;
    if (!(cols = pgc_out_columns(p)))
        return 0; /* the schema is a courtesy: the CSV still goes */
    rc = rows->schema(rows->user, cols, p->n_out);
    free(cols);
    return rc;
}

/* Wait for the COPY to start: DSRC_OK when the server is sending data. */
static dsrc_status pgc_copy_start(dsrc_conn *c, const dsrc_ctx *ctx, dsrc_error *err)
{
    PGresult *r;
    dsrc_status s = pgc_wait(c, ctx, "reading the rows", err);
    if (s != DSRC_OK)
        return s;
    r = PQgetResult(c->pg);
    if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
        PQclear(r);
        return DSRC_OK;
    }
    if (!r)
        return pgc_fail_conn(c, "reading the rows", err);
    s = pgc_fail_result(c, ctx, r, "reading the rows", err);
    PQclear(r);
    while ((r = PQgetResult(c->pg)) != NULL)
        PQclear(r);
    return s;
}

static dsrc_status pgc_fetch_csv(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                 const dsrc_fetch_req *req, const dsrc_row_sink *rows,
                                 const dsrc_byte_sink *sink,
                                 dsrc_fetch_result *result, char *cmax, int *have_max,
                                 int *too_long, dsrc_error *err)
{
    dsrc_buf q = {0}, val = {0};
    pgc_csvrun w;
    char *tmp = NULL;
    size_t tmp_cap = 0;
    uint64_t lines = 0;
    dsrc_status s = DSRC_OK;
    int stopped = 0;

    memset(&w, 0, sizeof w);
    w.sink = sink;
    if (p->cursor >= 0 && req->cursor_value) {
        /* Hand the value over and check that it converts, before the COPY
         * starts sending. */
        s = pgc_cursor_setting(ctx, c, p, req, &val, err);
        if (s != DSRC_OK)
            return s;
    }
    dsrc_buf_add(&q, "COPY (");
    pgc_select_sql(&q, c, p, req, 0, val.s ? val.s : "NULL");
    dsrc_buf_add(&q, ") TO STDOUT (FORMAT csv, HEADER)");
    w.buf = malloc(PGC_CSV_CHUNK);
    if (q.failed || val.failed || !w.buf) {
        s = pgc_oom(err);
        goto out;
    }
    s = pgc_send(c, q.s, -1, NULL, "reading the rows", err);
    if (s == DSRC_OK)
        s = pgc_copy_start(c, ctx, err);
    if (s != DSRC_OK)
        goto out;
    for (;;) {
        char *data;
        int n = PQgetCopyData(c->pg, &data, 1);
        if (n > 0) {
            int rc;
            /* The receiver starts with the first line (the header), so an
             * error before any data opens no output. */
            if (lines == 0 && (pgc_csv_schema(p, rows) != 0 ||
                               sink->begin(sink->user, "text/csv", -1) != 0)) {
                PQfreemem(data);
                stopped = 1;
                goto stop;
            }
            rc = pgc_csv_put(&w, data, (size_t)n);
            if (!rc && lines > 0 && p->cursor_out >= 0) {
                const char *v;
                size_t len;
                if (tmp_cap < (size_t)n) {
                    char *t = realloc(tmp, (size_t)n);
                    if (!t) {
                        PQfreemem(data);
                        s = pgc_oom(err);
                        stopped = 1;
                        goto stop;
                    }
                    tmp = t;
                    tmp_cap = (size_t)n;
                }
                if (pgc_csv_field(data, (size_t)n, (size_t)p->cursor_out, tmp, &v, &len) == 0 &&
                    v)
                    pgc_note_cursor(cmax, have_max, too_long, v, len);
            }
            PQfreemem(data);
            if (rc) {
                stopped = 1;
                goto stop;
            }
            lines++;
            if ((lines % PGC_CHECK_EVERY) == 0 &&
                (atomic_load(&c->cancel_requested) || dsrc_cancelled(pgc_host, ctx)))
                pgc_interrupt(c);
            continue;
        }
        if (n == 0) {
            s = pgc_wait_input(c, ctx, "reading the rows", err);
            if (s != DSRC_OK)
                goto out;
            continue;
        }
        break; /* -1: done; -2: error, reported by the result below */
    }
    {
        PGresult *r;
        int failed = 0;
        while ((r = PQgetResult(c->pg)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) {
                s = pgc_fail_result(c, ctx, r, "reading the rows", err);
                failed = 1;
            }
            PQclear(r);
        }
        if (!failed && PQstatus(c->pg) != CONNECTION_OK)
            s = pgc_fail_conn(c, "reading the rows", err);
    }
    if (s == DSRC_OK && pgc_csv_flush(&w))
        stopped = 1;
stop:
    if (stopped) {
        pgc_abandon(c);
        if (s == DSRC_OK)
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
    }
out:
    result->mode = DSRC_FETCH_CSV;
    result->rows = lines > 0 ? lines - 1 : 0;
    result->bytes = w.bytes;
    free(tmp);
    free(w.buf);
    dsrc_buf_free(&q);
    dsrc_buf_free(&val);
    return s;
}

/* ------------------------------------------------------------------------ */
/* A large table over several connections                                  */

/* A whole-table fetch (CSV, or typed rows from COPY's text form, whose
 * lines are split at their newlines: COPY escapes those in values) of a
 * large table (no cursor, no limit, a table or materialized view of at
 * least parallel_min bytes, PostgreSQL 14 or later for TID range scans)
 * is split into ranges of PGC_PAR_BLOCKS blocks by
 * ctid, read by fetch_parallel connections in turn: range k by connection
 * k % n.  Every connection reads in the snapshot of the fetch's own
 * transaction (pg_export_snapshot() there, SET TRANSACTION SNAPSHOT on the
 * others, as pg_dump -j does), so the rows are those one COPY would send.
 * Ranges are written in block order, which is the order of a sequential
 * scan: the output is byte for byte that of one COPY.  The connection
 * whose range is next streams to the sink; each other one reads its range
 * ahead into a buffer of at most PGC_PAR_AHEAD bytes, then leaves the rest
 * in the server's socket until its turn: memory stays bounded whatever the
 * table's size.  Anything that keeps the other connections from being had
 * falls back to one COPY, said at debug level. */

#define PGC_PAR_BLOCKS_BYTES (4 * 1024 * 1024)
#define PGC_PAR_AHEAD (16 * 1024 * 1024)
#define PGC_PAR_MAXCONN 8

enum { PGC_PAR_IDLE, PGC_PAR_START, PGC_PAR_COPY, PGC_PAR_DONE };

typedef struct pgc_parconn {
    dsrc_conn *c;
    int state;
    uint64_t chunk;       /* the range it reads                            */
    char *buf;            /* read ahead, not yet written                   */
    size_t len, cap;
    uint64_t lines;       /* lines in buf                                  */
} pgc_parconn;

static void pgc_par_debug(const dsrc_ctx *ctx, const char *fmt, const char *why)
{
    if (pgc_host && pgc_host->log)
        pgc_host->log(ctx, DSRC_LOG_DEBUG, fmt, why);
}

/* The COPY of range k of n (`blocks` blocks each): CSV, or for typed rows
 * COPY's text form. */
static int pgc_par_sql(dsrc_buf *q, dsrc_conn *c, const pgc_plan *p, const dsrc_fetch_req *req,
                       uint64_t k, uint64_t n, uint64_t blocks, int typed)
{
    dsrc_buf_add(q, "COPY (");
    pgc_select_sql(q, c, p, req, 0, "NULL");
    dsrc_buf_printf(q, " WHERE ctid >= '(%" PRIu64 ",0)'::pg_catalog.tid", k * blocks);
    if (k + 1 < n)
        dsrc_buf_printf(q, " AND ctid < '(%" PRIu64 ",0)'::pg_catalog.tid", (k + 1) * blocks);
    dsrc_buf_add(q, typed    ? ") TO STDOUT"
                    : k == 0 ? ") TO STDOUT (FORMAT csv, HEADER)"
                             : ") TO STDOUT (FORMAT csv)");
    return q->failed ? -1 : 0;
}

static dsrc_status pgc_par_start(pgc_parconn *pc, dsrc_conn *c0, const pgc_plan *p,
                                 const dsrc_fetch_req *req, uint64_t k, uint64_t n,
                                 uint64_t blocks, int typed, dsrc_error *err)
{
    dsrc_buf q = {0};
    dsrc_status s;

    if (pgc_par_sql(&q, c0, p, req, k, n, blocks, typed) != 0) {
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }
    s = pgc_send(pc->c, q.s, -1, NULL, "reading the rows", err);
    dsrc_buf_free(&q);
    if (s == DSRC_OK) {
        pc->state = PGC_PAR_START;
        pc->chunk = k;
        pc->len = 0;
        pc->lines = 0;
    }
    return s;
}

/* The end of a connection's COPY: DSRC_OK when it succeeded. */
static dsrc_status pgc_par_end(const dsrc_ctx *ctx, pgc_parconn *pc, dsrc_error *err)
{
    PGresult *r;
    dsrc_status s = DSRC_OK;
    int failed = 0;

    while ((r = PQgetResult(pc->c->pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) {
            s = pgc_fail_result(pc->c, ctx, r, "reading the rows", err);
            failed = 1;
        }
        PQclear(r);
    }
    if (!failed && PQstatus(pc->c->pg) != CONNECTION_OK)
        s = pgc_fail_conn(pc->c, "reading the rows", err);
    pc->state = PGC_PAR_DONE;
    return s;
}

/* Read what a connection has (without waiting): PQconsumeInput, then the
 * start of its COPY.  DSRC_OK, or its error. */
static dsrc_status pgc_par_input(const dsrc_ctx *ctx, pgc_parconn *pc, dsrc_error *err)
{
    PGresult *r;
    dsrc_status s;

    if (pc->state != PGC_PAR_START && pc->state != PGC_PAR_COPY)
        return DSRC_OK;
    if (!PQconsumeInput(pc->c->pg))
        return pgc_fail_conn(pc->c, "reading the rows", err);
    if (pc->state != PGC_PAR_START || PQisBusy(pc->c->pg))
        return DSRC_OK;
    r = PQgetResult(pc->c->pg);
    if (r && PQresultStatus(r) == PGRES_COPY_OUT) {
        PQclear(r);
        pc->state = PGC_PAR_COPY;
        return DSRC_OK;
    }
    if (!r)
        return pgc_fail_conn(pc->c, "reading the rows", err);
    s = pgc_fail_result(pc->c, ctx, r, "reading the rows", err);
    PQclear(r);
    while ((r = PQgetResult(pc->c->pg)) != NULL)
        PQclear(r);
    pc->state = PGC_PAR_DONE;
    return s;
}

/* Move the lines a connection has read ahead into its buffer, while it
 * has room.  *moved counts them.  DSRC_OK, or an error. */
static dsrc_status pgc_par_ahead(const dsrc_ctx *ctx, pgc_parconn *pc, int *moved,
                                 dsrc_error *err)
{
    while (pc->state == PGC_PAR_COPY && pc->len < PGC_PAR_AHEAD) {
        char *data;
        int n = PQgetCopyData(pc->c->pg, &data, 1);
        if (n > 0) {
            if (pc->len + (size_t)n > pc->cap) {
                size_t cap = pc->cap ? pc->cap : 256 * 1024;
                char *b;
                while (cap < pc->len + (size_t)n)
                    cap *= 2;
                if (!(b = realloc(pc->buf, cap))) {
                    PQfreemem(data);
                    return pgc_oom(err);
                }
                pc->buf = b;
                pc->cap = cap;
            }
            memcpy(pc->buf + pc->len, data, (size_t)n);
            pc->len += (size_t)n;
            pc->lines++;
            PQfreemem(data);
            (*moved)++;
            continue;
        }
        if (n == 0)
            break;
        return pgc_par_end(ctx, pc, err);
    }
    return DSRC_OK;
}

typedef struct pgc_parrun {
    const pgc_plan *p;
    const dsrc_row_sink *rows;
    const dsrc_byte_sink *sink;
    pgc_csvrun w;
    pgc_rowrun *typed;    /* typed rows: the lines become rows; else CSV   */
    int row_rc;           /* pgc_copy_row()'s failure (-1, -2), or 0       */
    uint64_t lines;
    int begun;
} pgc_parrun;

/* Hand data (whole lines) to the sink, opening it first: CSV as it is,
 * or for typed rows each line as a row.  0, or 1 when the receiver
 * stopped or a line failed (then run->row_rc says why). */
static int pgc_par_write(pgc_parrun *run, char *data, size_t n)
{
    if (run->typed) {
        char *end = data + n;
        if (!run->begun) {
            run->begun = 1;
            if (pgc_send_schema(run->typed))
                return 1;
        }
        while (data < end) {
            char *nl = memchr(data, '\n', (size_t)(end - data));
            int rc;
            if (!nl) {
                run->row_rc = -2; /* COPY ends every line with one */
                return 1;
            }
            rc = pgc_copy_row(run->typed, data, (size_t)(nl + 1 - data));
            if (rc != 0) {
                run->row_rc = rc < 0 ? rc : 0;
                return 1;
            }
            data = nl + 1;
        }
        return 0;
    }
    if (!run->begun) {
        run->begun = 1;
        if (pgc_csv_schema(run->p, run->rows) != 0 ||
            run->sink->begin(run->sink->user, "text/csv", -1) != 0)
            return 1;
    }
    return pgc_csv_put(&run->w, data, n);
}

/* The loop: ranges [0, n) over conns[0..m).  DSRC_OK, an error, or
 * *stopped set when the receiver asked to stop. */
static dsrc_status pgc_par_loop(const dsrc_ctx *ctx, pgc_parconn *pcs, int m, const pgc_plan *p,
                                const dsrc_fetch_req *req, uint64_t n, uint64_t blocks,
                                pgc_parrun *run, int *stopped, dsrc_error *err)
{
    uint64_t cur = 0, since_check = 0;
    dsrc_status s;
    int i;

    for (i = 0; i < m && (uint64_t)i < n; i++) {
        s = pgc_par_start(&pcs[i], pcs[0].c, p, req, (uint64_t)i, n, blocks, run->typed != NULL,
                          err);
        if (s != DSRC_OK)
            return s;
    }
    while (cur < n) {
        pgc_parconn *S = &pcs[cur % (uint64_t)m];
        int moved = 0;

        if (atomic_load(&pcs[0].c->cancel_requested) || dsrc_cancelled(pgc_host, ctx)) {
            for (i = 0; i < m; i++)
                pgc_interrupt(pcs[i].c);
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled");
        }
        /* A connection whose read-ahead is full is left alone: its rows
         * wait in the server's socket, not in libpq's buffer, which would
         * grow. */
        for (i = 0; i < m; i++) {
            if (&pcs[i] != S && pcs[i].len >= PGC_PAR_AHEAD)
                continue;
            s = pgc_par_input(ctx, &pcs[i], err);
            if (s != DSRC_OK)
                return s;
        }
        for (i = 0; i < m; i++) {
            if (&pcs[i] == S)
                continue;
            s = pgc_par_ahead(ctx, &pcs[i], &moved, err);
            if (s != DSRC_OK)
                return s;
        }
        /* The current range: what was read ahead first, then the rest as
         * it arrives. */
        if (S->len) {
            if (pgc_par_write(run, S->buf, S->len)) {
                *stopped = 1;
                return DSRC_OK;
            }
            run->lines += S->lines;
            S->len = 0;
            S->lines = 0;
            moved++;
        }
        while (S->state == PGC_PAR_COPY) {
            char *data;
            int k = PQgetCopyData(S->c->pg, &data, 1);
            if (k > 0) {
                int rc = pgc_par_write(run, data, (size_t)k);
                PQfreemem(data);
                if (rc) {
                    *stopped = 1;
                    return DSRC_OK;
                }
                run->lines++;
                moved++;
                if (++since_check % PGC_CHECK_EVERY == 0)
                    break; /* look at the others and the cancellation */
                continue;
            }
            if (k == 0)
                break;
            s = pgc_par_end(ctx, S, err);
            if (s != DSRC_OK)
                return s;
        }
        if (S->state == PGC_PAR_DONE) {
            S->state = PGC_PAR_IDLE;
            cur++;
            if (cur + (uint64_t)m - 1 < n) {
                s = pgc_par_start(S, pcs[0].c, p, req, cur + (uint64_t)m - 1, n, blocks,
                                  run->typed != NULL, err);
                if (s != DSRC_OK)
                    return s;
            }
            continue;
        }
        if (!moved) {
            struct pollfd pfd[PGC_PAR_MAXCONN + 1];
            int nf = 0, cfd = dsrc_cancel_fd(pgc_host, ctx);
            for (i = 0; i < m; i++) {
                pgc_parconn *pc = &pcs[i];
                if ((pc->state == PGC_PAR_START || pc->state == PGC_PAR_COPY) &&
                    (pc == S || pc->len < PGC_PAR_AHEAD)) {
                    pfd[nf].fd = PQsocket(pc->c->pg);
                    pfd[nf].events = POLLIN;
                    pfd[nf].revents = 0;
                    nf++;
                }
            }
            if (cfd >= 0) {
                pfd[nf].fd = cfd;
                pfd[nf].events = POLLIN;
                pfd[nf].revents = 0;
                nf++;
            }
            if (poll(pfd, (nfds_t)nf, 100) < 0 && errno != EINTR)
                return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "reading the rows: %s",
                                      strerror(errno));
        }
    }
    return DSRC_OK;
}

/* Try the parallel fetch.  *done 0: it does not apply (nothing sent, the
 * transaction as it was); else it ran and its status is returned. */
static dsrc_status pgc_fetch_par(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                 const dsrc_fetch_req *req, const dsrc_row_sink *rows,
                                 const dsrc_byte_sink *sink, pgc_rowrun *typed,
                                 dsrc_fetch_result *result, int *done, dsrc_error *err)
{
    pgc_parconn pcs[PGC_PAR_MAXCONN];
    pgc_parrun run;
    PGresult *res = NULL;
    char oid[16], *lit = NULL;
    const char *params[1] = {oid};
    int64_t size, bsize;
    uint64_t nblocks, blocks, n;
    int m = c->fetch_parallel, i, opened = 1, stopped = 0;
    dsrc_buf q = {0};
    dsrc_status s;
    char none[1] = "";

    *done = 0;
    if (m < 2 || p->cursor >= 0 || req->limit >= 0 ||
        (p->rel.kind != 'r' && p->rel.kind != 'm'))
        return DSRC_OK;
    if (m > PGC_PAR_MAXCONN)
        m = PGC_PAR_MAXCONN;
    if (c->tx_pooled) {
        /* Each connection of a transaction pooler may wait for a server
         * connection the others hold: one COPY. */
        pgc_par_debug(ctx, "one COPY: %s", "through a transaction pooler (pgbouncer)");
        return DSRC_OK;
    }
    if (PQserverVersion(c->pg) < 140000) {
        pgc_par_debug(ctx, "one COPY: %s", "the server has no TID range scans (before 14)");
        return DSRC_OK;
    }
    snprintf(oid, sizeof oid, "%u", p->rel.oid);
    s = pgc_exec(c, ctx,
                 "SELECT pg_catalog.pg_relation_size($1::pg_catalog.oid),"
                 " pg_catalog.current_setting('block_size')::int",
                 1, params, &res, "measuring the table", err);
    if (s != DSRC_OK) {
        *done = 1;
        return s;
    }
    size = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    bsize = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
    PQclear(res);
    res = NULL;
    if (bsize <= 0 || size < c->parallel_min || size < 2 * PGC_PAR_BLOCKS_BYTES)
        return DSRC_OK;
    nblocks = (uint64_t)(size / bsize);
    blocks = (uint64_t)(PGC_PAR_BLOCKS_BYTES / bsize);
    if (blocks == 0)
        blocks = 1;
    n = (nblocks + blocks - 1) / blocks;
    if (n < 2)
        return DSRC_OK;
    if ((uint64_t)m > n)
        m = (int)n;

    /* The snapshot to share. */
    {
        dsrc_error e1;
        memset(&e1, 0, sizeof e1);
        e1.struct_size = sizeof e1;
        s = pgc_exec(c, ctx, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, &res,
                     "exporting the snapshot", &e1);
        if (s != DSRC_OK)
            pgc_par_debug(ctx, "one COPY: the snapshot cannot be shared (%s)",
                          e1.message ? e1.message : "");
        if (e1.release)
            e1.release(&e1);
    }
    if (s != DSRC_OK) {
        /* A server that exports no snapshot: start the transaction over
         * (nothing was sent yet) and read with one COPY. */
        pgc_quiet(c, "ROLLBACK");
        s = pgc_tx_begin(c, ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
        if (s != DSRC_OK)
            *done = 1;
        return s;
    }
    lit = PQescapeLiteral(c->pg, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
    PQclear(res);
    if (!lit) {
        *done = 1;
        return pgc_oom(err);
    }
    dsrc_buf_add(&q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ");
    dsrc_buf_add(&q, lit);
    PQfreemem(lit);
    if (q.failed) {
        *done = 1;
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }

    memset(pcs, 0, sizeof pcs);
    pcs[0].c = c;
    for (i = 1; i < m; i++) {
        dsrc_error e2;
        memset(&e2, 0, sizeof e2);
        e2.struct_size = sizeof e2;
        if (pgc_clone(ctx, c, &pcs[i].c, &e2) != DSRC_OK ||
            pgc_exec(pcs[i].c, ctx, q.s, -1, NULL, NULL, "importing the snapshot", &e2) !=
                DSRC_OK) {
            pgc_par_debug(ctx, "one COPY: no other connection (%s)",
                          e2.message ? e2.message : "");
            if (e2.release)
                e2.release(&e2);
            if (pcs[i].c)
                pgc_drop(pcs[i].c);
            pcs[i].c = NULL;
            break;
        }
        opened++;
    }
    dsrc_buf_free(&q);
    if (dsrc_cancelled(pgc_host, ctx)) {
        for (i = 1; i < opened; i++)
            pgc_drop(pcs[i].c);
        *done = 1;
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled");
    }
    if (opened < 2)
        return DSRC_OK;
    m = opened;
    *done = 1;
    if (pgc_host && pgc_host->log)
        pgc_host->log(ctx, DSRC_LOG_DEBUG,
                      "reading %" PRId64 " bytes in %" PRIu64 " ranges over %d connections",
                      size, n, m);

    memset(&run, 0, sizeof run);
    run.p = p;
    run.rows = rows;
    run.sink = sink;
    run.typed = typed;
    run.w.sink = sink;
    if (!typed && !(run.w.buf = malloc(PGC_CSV_CHUNK)))
        s = pgc_oom(err);
    else
        s = pgc_par_loop(ctx, pcs, m, p, req, n, blocks, &run, &stopped, err);
    if (s == DSRC_OK && !stopped) {
        if (!run.begun && pgc_par_write(&run, none, 0))
            stopped = 1;
        else if (pgc_csv_flush(&run.w))
            stopped = 1;
    }
    if (s != DSRC_OK || stopped) {
        /* The first connection stays the pool's: leave it usable. */
        pgc_abandon(c);
        if (s == DSRC_OK && run.row_rc == -1)
            s = pgc_oom(err);
        else if (s == DSRC_OK && run.row_rc == -2)
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL,
                               "reading the rows: a row does not have the %zu values asked for",
                               p->n_out);
        else if (s == DSRC_OK)
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
    }
    for (i = 1; i < m; i++) {
        if (s == DSRC_OK)
            pgc_quiet(pcs[i].c, "COMMIT");
        pgc_drop(pcs[i].c);
    }
    for (i = 0; i < m; i++)
        free(pcs[i].buf);
    result->mode = typed ? DSRC_FETCH_ROWS : DSRC_FETCH_CSV;
    result->rows = typed ? run.lines : run.lines > 0 ? run.lines - 1 : 0;
    result->bytes = run.w.bytes;
    free(run.w.buf);
    return s;
}

/* cursor_max for a CSV fetch whose cursor column was not sent: the highest
 * value the same query returns, in the same snapshot. */
static dsrc_status pgc_csv_cursor_max(const dsrc_ctx *ctx, dsrc_conn *c, const pgc_plan *p,
                                      const dsrc_fetch_req *req, char *cmax, int *have_max,
                                      int *too_long, dsrc_error *err)
{
    dsrc_buf q = {0};
    pgc_plan only;
    size_t idx = (size_t)p->cursor;
    PGresult *res = NULL;
    const char *params[1] = {req->cursor_value};
    dsrc_status s;

    /* The same SELECT with the cursor column alone. */
    only = *p;
    only.n_out = 1;
    only.map = &idx;
    only.cursor_out = 0;
    dsrc_buf_add(&q, "SELECT q.v::text FROM (");
    pgc_select_sql(&q, c, &only, req, 0, "$1");
    dsrc_buf_add(&q, ") AS q(v) WHERE q.v IS NOT NULL ORDER BY q.v DESC LIMIT 1");
    if (q.failed) {
        dsrc_buf_free(&q);
        return pgc_oom(err);
    }
    s = pgc_exec(c, ctx, q.s, req->cursor_value ? 1 : 0, params, &res, "reading the cursor",
                 err);
    dsrc_buf_free(&q);
    if (s != DSRC_OK)
        return s;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        pgc_note_cursor(cmax, have_max, too_long, PQgetvalue(res, 0, 0),
                        (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* The operation                                                             */

dsrc_status pgc_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *result, dsrc_error *err)
{
    pgc_plan p;
    dsrc_fetch_result local;
    dsrc_status s;
    char *cmax = NULL;
    int have_max = 0, too_long = 0, csv;

    if (!result) {
        memset(&local, 0, sizeof local);
        local.struct_size = sizeof local;
        result = &local;
    }
    if (!req)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "fetch: no request");
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "PostgreSQL relations have no raw form: fetch rows or CSV");
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    if (req->cursor_value && !req->cursor_field)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: a cursor value needs a cursor field");
    csv = req->mode == DSRC_FETCH_CSV && bytes && bytes->begin && bytes->write;
    if (!csv && (!rows || !rows->schema || !rows->row))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: no row receiver");
    s = pgc_op_begin(c, ctx, err);
    if (s != DSRC_OK)
        return s;
    cmax = calloc(1, DSRC_CURSOR_MAX);
    if (!cmax)
        return pgc_oom(err);

    s = pgc_tx_begin(c, ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (s != DSRC_OK) {
        free(cmax);
        return s;
    }
    s = pgc_plan_make(c, ctx, req, &p, err);
    if (s == DSRC_OK) {
        int done = 0;
        if (csv)
            s = pgc_fetch_par(ctx, c, &p, req, rows, bytes, NULL, result, &done, err);
        if (csv && !done && s == DSRC_OK)
            s = pgc_fetch_csv(ctx, c, &p, req, rows, bytes, result, cmax, &have_max, &too_long,
                              err);
        else if (!csv)
            s = pgc_fetch_rows(ctx, c, &p, req, rows, result, cmax, &have_max, &too_long, err);
    }
    if (s == DSRC_OK && csv && p.cursor >= 0 && p.cursor_out < 0 && result->rows > 0)
        s = pgc_csv_cursor_max(ctx, c, &p, req, cmax, &have_max, &too_long, err);
    if (s == DSRC_OK)
        s = pgc_exec(c, ctx, "COMMIT", 0, NULL, NULL, "ending the transaction", err);
    else
        pgc_quiet(c, "ROLLBACK");

    if (s == DSRC_OK && p.cursor >= 0) {
        if (have_max && !too_long) {
            result->has_cursor = 1;
            snprintf(result->cursor_max, sizeof result->cursor_max, "%s", cmax);
        } else if (too_long && pgc_host && pgc_host->log) {
            pgc_host->log(ctx, DSRC_LOG_WARNING,
                          "cursor column '%s' holds a value longer than %d bytes; no cursor "
                          "reported", req->cursor_field, DSRC_CURSOR_MAX - 1);
        }
    }
    pgc_plan_free(&p);
    free(cmax);
    return s;
}

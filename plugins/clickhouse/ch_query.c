/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_query.c -- query for the clickhouse plugin: one statement of the
 * caller's, read-only by the server's own rule.
 *
 * The statement is sent as is with, in the URL, max_execution_time (the
 * time limit, whole seconds), default_format=TabSeparatedWithNamesAndTypes
 * and, last, readonly=1: the server then refuses any write, DDL or setting
 * change itself (error 164).  A user whose profile is read-only already
 * (readonly 1 or 2) may not set readonly: the server says so once, and
 * the connection's queries go without it, read-only by the profile.  The answer's first two lines name and type
 * the columns (the schema); each further line is a row, parsed as fetch
 * parses it (ch_types.c).  Only the unfinished last line is held.
 *
 * Parameters are bound by the server (placeholders {name:Type}, values as
 * param_name URL arguments), which ClickHouse 19.11 and later do; with an
 * older server a query with parameters is refused (unsupported), never
 * spliced into the text.
 */
#define _GNU_SOURCE
#include "ch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ch_qst {
    const dsrc_ctx *ctx;
    const dsrc_query_req *req;
    const dsrc_row_sink *rows;
    dsrc_error *err;
    dsrc_status st;          /* an error found in the answer                */
    size_t n;                /* columns                                     */
    char **names;            /* owned, from the first line                  */
    dsrc_column *cols;
    ch_type *types;
    char **f;
    size_t *fl;
    dsrc_cell *cells;
    char (*tmp)[32];
    uint64_t line, nrows;
    int schema_sent;
    int limit_hit;           /* stopped at the limit: not an error          */
} ch_qst;

static void ch_qst_free(ch_qst *s)
{
    size_t i;

    for (i = 0; s->names && i < s->n; i++) {
        free(s->names[i]);
        free((char *)s->cols[i].native_type);
    }
    free(s->names);
    free(s->cols);
    free(s->types);
    free(s->f);
    free(s->fl);
    free(s->cells);
    free(s->tmp);
}

/* A line that is the server's exception (the query failed under way). */
static int ch_q_exception(ch_qst *s, const char *line, size_t len)
{
    char msg[512];
    int code, retryable;

    if ((code = ch_parse_exception(line, len, msg, sizeof msg)) < 0)
        return 0;
    s->st = dsrc_error_set(s->err, ch_status_of(code, &retryable), retryable, NULL,
                           "query: %s (ClickHouse error %d)", msg, code);
    return 1;
}

static dsrc_status ch_q_oom(ch_qst *s)
{
    return s->st = dsrc_error_set(s->err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
}

/* The first line: the names; the second: the types, then the schema. */
static int ch_q_head(ch_qst *s, char *line, size_t len)
{
    size_t i, k;

    if (s->line == 0) {
        /* the number of fields is that of the tabs plus one */
        for (s->n = 1, i = 0; i < len; i++)
            s->n += line[i] == '\t';
        s->names = calloc(s->n + 1, sizeof *s->names);
        s->cols = calloc(s->n + 1, sizeof *s->cols);
        s->types = calloc(s->n + 1, sizeof *s->types);
        s->f = calloc(s->n + 2, sizeof *s->f);
        s->fl = calloc(s->n + 2, sizeof *s->fl);
        s->cells = calloc(s->n + 1, sizeof *s->cells);
        s->tmp = calloc(s->n + 1, sizeof *s->tmp);
        if (!s->names || !s->cols || !s->types || !s->f || !s->fl || !s->cells || !s->tmp) {
            ch_q_oom(s);
            return 1;
        }
    }
    k = ch_tsv_split(line, len, s->f, s->fl, s->n + 1);
    if (k != s->n) {
        if (!ch_q_exception(s, line, len))
            s->st = dsrc_error_set(s->err, DSRC_E_BACKEND, 0, NULL,
                                   "query: the answer's head has %zu fields, %zu expected", k,
                                   s->n);
        return 1;
    }
    for (i = 0; i < s->n; i++) {
        size_t n = ch_tsv_unescape(s->f[i], s->fl[i]);
        char *v = strndup(s->f[i], n);
        if (!v) {
            ch_q_oom(s);
            return 1;
        }
        if (s->line == 0) {
            s->names[i] = v;
            s->cols[i].name = v;
        } else {
            s->types[i] = ch_type_of(v);
            s->cols[i].type = s->types[i].type;
            s->cols[i].nullable = s->types[i].nullable;
            s->cols[i].native_type = v;
        }
    }
    if (s->line == 1) {
        s->schema_sent = 1;
        if (s->rows->schema(s->rows->user, s->cols, s->n) != 0) {
            s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL,
                                   "query stopped by the receiver");
            return 1;
        }
        if (s->req->limit == 0) {
            s->limit_hit = 1;
            return 1;
        }
    }
    return 0;
}

static int ch_q_line(void *user, char *line, size_t len)
{
    ch_qst *s = user;
    size_t k, i;

    if (s->line < 2) {
        int rc = ch_q_head(s, line, len);
        s->line++;
        return rc;
    }
    s->line++;
    k = ch_tsv_split(line, len, s->f, s->fl, s->n + 1);
    if (k != s->n) {
        if (!ch_q_exception(s, line, len))
            s->st = dsrc_error_set(s->err, DSRC_E_BACKEND, 0, NULL,
                                   "query: row %" PRIu64 " has %zu fields, %zu expected",
                                   s->nrows + 1, k, s->n);
        return 1;
    }
    for (i = 0; i < s->n; i++) {
        int null = s->fl[i] == 2 && s->f[i][0] == '\\' && s->f[i][1] == 'N';
        size_t n = null ? 0 : ch_tsv_value(&s->types[i], s->f[i], s->fl[i]);
        if (ch_cell(&s->types[i], s->f[i], n, null, s->tmp[i], &s->cells[i]) != 0) {
            s->st = dsrc_error_set(s->err, DSRC_E_BACKEND, 0, NULL,
                                   "query: row %" PRIu64 ", column '%s': '%.*s' is not a "
                                   "value of type %s", s->nrows + 1, s->cols[i].name,
                                   (int)(n < 64 ? n : 64), s->f[i], s->cols[i].native_type);
            return 1;
        }
    }
    if (s->rows->row(s->rows->user, s->cells, s->n) != 0) {
        s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
        return 1;
    }
    s->nrows++;
    if (s->req->limit >= 0 && s->nrows >= (uint64_t)s->req->limit) {
        s->limit_hit = 1; /* the transfer stops; the server's query is killed */
        return 1;
    }
    if (s->nrows % 1024 == 0 && dsrc_cancelled(ch_host, s->ctx)) {
        s->st = dsrc_error_set(s->err, DSRC_E_CANCELLED, 0, NULL,
                               "query cancelled after %" PRIu64 " rows", s->nrows);
        return 1;
    }
    return 0;
}

/* major * 1000 + minor of the server (19.11 -> 19011); -1 unknown. */
static long ch_server_version(const dsrc_ctx *ctx, dsrc_conn *c, char *text, size_t cap,
                              dsrc_error *err, dsrc_status *st)
{
    dsrc_buf out = {0};
    long major, minor;
    char *end;

    *st = ch_query_text(ctx, c, "SELECT version() FORMAT TabSeparated", &out, "query", err);
    if (*st != DSRC_OK) {
        dsrc_buf_free(&out);
        return -1;
    }
    snprintf(text, cap, "%.*s", (int)strcspn(out.s, "\r\n"), out.s);
    major = strtol(out.s, &end, 10);
    minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
    dsrc_buf_free(&out);
    return major * 1000 + minor;
}

/* A parameter's value as the server reads it (TabSeparated escaping; NULL
 * is \N), URL-encoded, appended to `u` as &param_pN=... */
static void ch_q_param(dsrc_buf *u, CURL *h, size_t i, const char *v)
{
    dsrc_buf t = {0};
    char *e;

    if (!v) {
        dsrc_buf_add(&t, "\\N");
    } else {
        for (; *v; v++) {
            switch (*v) {
            case '\\': dsrc_buf_add(&t, "\\\\"); break;
            case '\t': dsrc_buf_add(&t, "\\t"); break;
            case '\n': dsrc_buf_add(&t, "\\n"); break;
            case '\r': dsrc_buf_add(&t, "\\r"); break;
            default: dsrc_buf_addn(&t, v, 1); break;
            }
        }
    }
    dsrc_buf_addn(&t, "", 0);
    e = t.failed ? NULL : curl_easy_escape(h, t.s ? t.s : "", (int)t.len);
    if (!e)
        u->failed = 1;
    else
        dsrc_buf_printf(u, "&param_p%zu=%s", i + 1, e);
    curl_free(e);
    dsrc_buf_free(&t);
}

dsrc_status ch_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *result,
                         dsrc_error *err)
{
    ch_qst s;
    ch_lines l = {{0}, ch_q_line, NULL, 0};
    dsrc_buf args = {0};
    dsrc_status st = DSRC_OK;
    size_t i, base_len;

    if (!req || !req->text || !*req->text)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: the statement is empty");
    if (req->n_params && !req->params)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: %zu parameters without values", req->n_params);
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: the rows have no receiver");
    if (req->n_params) {
        char ver[64] = "";
        long v = ch_server_version(ctx, c, ver, sizeof ver, err, &st);
        if (st != DSRC_OK)
            return st;
        if (v < 19011)
            return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                                  "query: ClickHouse %s does not bind query parameters (19.11"
                                  " and later do): run the query without --param", ver);
        for (i = 0; i < req->n_params; i++)
            ch_q_param(&args, c->curl, i, req->params[i]);
    }
    if (req->timeout_ms > 0)
        dsrc_buf_printf(&args, "&max_execution_time=%" PRId64, (req->timeout_ms + 999) / 1000);
    dsrc_buf_add(&args, "&default_format=TabSeparatedWithNamesAndTypes");
    base_len = args.len;
    /* readonly last: after it the server takes no setting change */
    dsrc_buf_add(&args, "&readonly=1");
    if (args.failed) {
        dsrc_buf_free(&args);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.req = req;
    s.rows = rows;
    s.err = err;
    l.user = &s;
    if (c->profile_readonly)
        args.s[base_len] = '\0';
    st = ch_query_args(ctx, c, req->text, args.s, ch_lines_feed, &l, "query", err);
    if (st == DSRC_E_PERMISSION && !c->profile_readonly && !s.line && err && err->message &&
        strstr(err->message, "'readonly'")) {
        /* The user's profile is in read-only mode already (readonly 1 or
         * 2), where the server refuses to change `readonly` itself: the
         * server keeps the statement read-only without it. */
        c->profile_readonly = 1;
        args.s[base_len] = '\0';
        st = ch_query_args(ctx, c, req->text, args.s, ch_lines_feed, &l, "query", err);
    }
    if (s.limit_hit && s.st == DSRC_OK) {
        /* stopped at the limit on purpose */
        if (err && err->release)
            err->release(err);
        if (err)
            err->status = DSRC_OK;
        st = DSRC_OK;
    } else if (s.st != DSRC_OK) {
        st = s.st;
    } else if (st == DSRC_OK) {
        if (ch_lines_end(&l))
            st = s.st;
    }
    if (st == DSRC_OK && !s.schema_sent) {
        /* an answer without its head: a statement without a result */
        if (rows->schema(rows->user, NULL, 0) != 0)
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "query stopped by the receiver");
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = s.nrows;
        result->has_cursor = 0;
    }
    dsrc_buf_free(&l.pending);
    dsrc_buf_free(&args);
    ch_qst_free(&s);
    return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* query.c -- the history of read-only queries in the state store; see
 * query.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/redact.h"
#include "output/manifest.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/query.h"

#define QUERY_DEFAULT_LIMIT 100
#define QUERY_AUDIT_TEXT 200 /* bytes of the text in the audit's detail */

static void query_bind_text(sdb_stmt *st, int i, const char *v)
{
    if (v)
        sdb_bind_text(st, i, v);
    else
        sdb_bind_null(st, i);
}

static void query_bind_count(sdb_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sdb_bind_int64(st, i, v);
    else
        sdb_bind_null(st, i);
}

dsrc_status store_query_add(store *s, const store_query_rec *r, int64_t *id, derr *e)
{
    sdb *db;
    sdb_stmt *st = NULL;
    char *text = NULL, *error = NULL;
    int64_t new_id = 0;
    dsrc_status rs = DSRC_OK;

    if (!r || !r->source || !*r->source || !r->caller || !*r->caller || !r->text ||
        !r->result || !*r->result)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "query record: source, caller, text and result are required");
    if (!(text = redact_dup(r->text)) || (r->error && !(error = redact_dup(r->error)))) {
        free(text);
        return derr_set(e, DSRC_E_INTERNAL, "query record: out of memory");
    }
    db = store_lock(s);
    if (sdb_prepare(db, "INSERT INTO queries (started_at, source, endpoint, node, caller, "
                        "text, params_sha256, n_params, rows, bytes, duration_ms, result, "
                        "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    &st) != 0) {
        rs = store_error(s, e, "cannot prepare the query record");
        goto out;
    }
    sdb_bind_int64(st, 1, r->started_at > 0 ? r->started_at : store_now());
    sdb_bind_text(st, 2, r->source);
    query_bind_text(st, 3, r->endpoint);
    query_bind_text(st, 4, r->node ? r->node : store_node(s));
    sdb_bind_text(st, 5, r->caller);
    sdb_bind_text(st, 6, text);
    query_bind_text(st, 7, r->params_sha256);
    sdb_bind_int64(st, 8, r->n_params > 0 ? r->n_params : 0);
    query_bind_count(st, 9, r->rows);
    query_bind_count(st, 10, r->bytes);
    query_bind_count(st, 11, r->duration_ms);
    sdb_bind_text(st, 12, r->result);
    query_bind_text(st, 13, error);
    if (sdb_step_id(st, &new_id) != SDB_DONE)
        rs = store_error(s, e, "cannot write the query record");
out:
    sdb_finalize(st);
    store_unlock(s);
    free(text);
    free(error);
    if (rs == DSRC_OK && id)
        *id = new_id;
    return rs;
}

dsrc_status store_query_record(store *s, const store_query_rec *r, const char *origin,
                               int64_t *id, derr *e)
{
    store_audit_rec a = {0};
    char result[64], detail[1024];
    int64_t qid = 0;
    dsrc_status rs, ra;
    derr ae = {0};
    size_t n;

    rs = store_query_add(s, r, &qid, e);
    if (!r || !r->text || !r->caller || !r->result)
        return rs;
    a.who = r->caller;
    a.origin = origin && *origin ? origin : "cli";
    a.action = "query";
    a.source = r->source;
    a.rows = r->rows;
    a.bytes = r->bytes;
    if (strcmp(r->result, "ok") == 0)
        a.result = "ok";
    else {
        snprintf(result, sizeof result, "error: %s", r->result);
        a.result = result;
    }
    /* the caller's detail, or the text cut to fit, never inside a UTF-8
       sequence */
    if (r->detail) {
        if (qid > 0)
            snprintf(detail, sizeof detail, "query %lld: %s", (long long)qid, r->detail);
        else
            snprintf(detail, sizeof detail, "%s", r->detail);
        goto append;
    }
    n = strlen(r->text);
    if (n > QUERY_AUDIT_TEXT) {
        n = QUERY_AUDIT_TEXT;
        while (n > 0 && ((unsigned char)r->text[n] & 0xC0) == 0x80)
            n--;
    }
    if (qid > 0)
        snprintf(detail, sizeof detail, "query %lld: %.*s%s", (long long)qid, (int)n, r->text,
                 n < strlen(r->text) ? "..." : "");
    else
        snprintf(detail, sizeof detail, "%.*s%s", (int)n, r->text,
                 n < strlen(r->text) ? "..." : "");
append:
    a.detail = detail;
    ra = store_audit_append(s, &a, NULL, rs == DSRC_OK ? e : &ae);
    derr_clear(&ae);
    if (rs == DSRC_OK && id)
        *id = qid;
    return rs != DSRC_OK ? rs : ra;
}

static json_t *query_time_json(int64_t ms)
{
    struct timespec ts;
    char buf[32];

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    manifest_time(&ts, buf);
    return json_string(buf);
}

static json_t *query_text_json(sdb_stmt *st, int i)
{
    const char *v = sdb_column_type(st, i) == SDB_NULL ? NULL : sdb_column_text(st, i);

    return v ? json_string(v) : json_null();
}

static json_t *query_count_json(sdb_stmt *st, int i)
{
    return sdb_column_type(st, i) == SDB_NULL ? json_null()
                                              : json_integer(sdb_column_int64(st, i));
}

/* One row of the SELECT below as an object. */
static json_t *query_row_json(sdb_stmt *st)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o}",
                     "id", (json_int_t)sdb_column_int64(st, 0),
                     "started_at", query_time_json(sdb_column_int64(st, 1)),
                     "source", query_text_json(st, 2),
                     "endpoint", query_text_json(st, 3),
                     "node", query_text_json(st, 4),
                     "caller", query_text_json(st, 5),
                     "text", query_text_json(st, 6),
                     "params_sha256", query_text_json(st, 7),
                     "n_params", (json_int_t)sdb_column_int64(st, 8),
                     "rows", query_count_json(st, 9),
                     "bytes", query_count_json(st, 10),
                     "duration_ms", query_count_json(st, 11),
                     "result", query_text_json(st, 12),
                     "error", query_text_json(st, 13));
}

json_t *store_queries_json(store *s, const char *source, int64_t limit, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    if (!arr) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    if (sdb_prepare(db, "SELECT id, started_at, source, endpoint, node, caller, text, "
                        "params_sha256, n_params, rows, bytes, duration_ms, result, error "
                        "FROM queries WHERE (CAST(?1 AS TEXT) IS NULL OR source = ?1) "
                        "ORDER BY id DESC LIMIT ?2", &st) < 0) {
        store_error(s, e, "cannot read the query history");
        json_decref(arr);
        arr = NULL;
        goto out;
    }
    query_bind_text(st, 1, source);
    sdb_bind_int64(st, 2, limit > 0 ? limit : QUERY_DEFAULT_LIMIT);
    while ((rc = sdb_step(st)) == SDB_ROW) {
        json_t *o = query_row_json(st);
        if (!o || json_array_append_new(arr, o) != 0) {
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            json_decref(arr);
            arr = NULL;
            goto out;
        }
    }
    if (rc != SDB_DONE) {
        store_error(s, e, "cannot read the query history");
        json_decref(arr);
        arr = NULL;
    }
out:
    sdb_finalize(st);
    store_unlock(s);
    return arr;
}

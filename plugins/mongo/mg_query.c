/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_query.c -- query for the mongo connector: a find or an aggregate the
 * caller gives as JSON (mg_qparse.c checks it and binds its parameters),
 * its documents as rows the way fetch writes them.
 *
 * The columns are the top-level fields of the first documents of the
 * result (at most sample_size of them, held while the schema is made;
 * then the rest stream one at a time), typed as fetch types a sample; with
 * output = "document" each document is one JSON cell.  A value whose type
 * does not fit its column fails the query, as it fails a fetch.
 */
#include "mg.h"

#include <inttypes.h>
#include <string.h>

/* One row from `doc` through `rows`: DSRC_OK, or the error in err. */
static dsrc_status mg_q_row(dsrc_conn *c, const bson_t *doc, const dsrc_column *cols, size_t n,
                            dsrc_cell *cells, char **scratch, uint64_t nrows,
                            const dsrc_row_sink *rows, dsrc_error *err)
{
    dsrc_status st = DSRC_OK;
    bson_iter_t it;
    size_t i;
    int ok = 1;

    if (c->set.output_document) {
        size_t len = 0;
        scratch[0] = c->set.canonical ? bson_as_canonical_extended_json(doc, &len)
                                      : bson_as_relaxed_extended_json(doc, &len);
        ok = scratch[0] != NULL;
        memset(&cells[0], 0, sizeof cells[0]);
        cells[0].type = DSRC_T_JSON;
        cells[0].v.s.ptr = scratch[0];
        cells[0].v.s.len = len;
    } else {
        for (i = 0; i < n; i++) {
            int has = bson_iter_init(&it, doc) && bson_iter_find(&it, cols[i].name);
            if (mg_value_cell(has ? &it : NULL, c->set.canonical, &cells[i], &scratch[i]) != 0)
                ok = 0;
            else if (cells[i].type != DSRC_T_NULL && !dsrc_cell_fits(cols[i].type, cells[i].type) &&
                     st == DSRC_OK)
                st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                                    "query: field '%s' of document %" PRIu64 " holds %s, but the "
                                    "first documents typed it %s: query with output = \"document\"",
                                    cols[i].name, nrows + 1, dsrc_type_name(cells[i].type),
                                    dsrc_type_name(cols[i].type));
        }
    }
    if (!ok && st == DSRC_OK)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (st == DSRC_OK && rows->row(rows->user, cells, n) != 0)
        st = mg_stopped(err);
    for (i = 0; i < n; i++) {
        bson_free(scratch[i]);
        scratch[i] = NULL;
    }
    return st;
}

dsrc_status mg_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *result,
                         dsrc_error *err)
{
    mg_query q;
    mongoc_collection_t *col = NULL;
    mongoc_cursor_t *cur = NULL;
    bson_t opts = BSON_INITIALIZER;
    bson_error_t be;
    const bson_t *doc;
    bson_t **held = NULL;
    size_t n_held = 0, cap = 0, i, n = 0;
    mg_schema sch = {0};
    dsrc_column *cols = NULL;
    dsrc_cell *cells = NULL;
    char **scratch = NULL;
    dsrc_status st;
    uint64_t nrows = 0;
    int64_t limit;
    int ended = 0;

    atomic_store(&c->cancel, 0);
    if (!req || !rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: no request or no receiver for the rows");
    /* Checked, parameters bound and writing stages refused before
     * anything is sent. */
    st = mg_query_parse(req->text, req->params, req->n_params, c->set.database, &q, err);
    if (st != DSRC_OK)
        return st;
    if (mg_cancelled(ctx, c)) {
        mg_query_free(&q);
        return mg_cancel_err(err, "query");
    }
    limit = req->limit;
    if (!q.aggregate && q.limit > 0 && (limit < 0 || q.limit < limit))
        limit = q.limit;
    bson_concat(&opts, &q.opts);
    if (req->timeout_ms > 0)
        BSON_APPEND_INT64(&opts, "maxTimeMS", req->timeout_ms);
    if (!q.aggregate && limit > 0)
        BSON_APPEND_INT64(&opts, "limit", limit);
    BSON_APPEND_INT32(&opts, "batchSize", (int32_t)c->set.batch_size);
    col = mongoc_client_get_collection(c->client, q.db, q.coll);
    if (limit != 0)
        cur = q.aggregate ? mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, &q.pipeline,
                                                        &opts, c->set.fetch_prefs)
                          : mongoc_collection_find_with_opts(col, &q.filter, &opts,
                                                             c->set.fetch_prefs);

    /* The first documents, for the columns. */
    while (cur && !c->set.output_document && n_held < (size_t)c->set.sample_size &&
           (limit < 0 || n_held < (size_t)limit)) {
        if (mg_cancelled(ctx, c)) {
            st = mg_cancel_err(err, "query");
            goto out;
        }
        if (!mongoc_cursor_next(cur, &doc)) {
            ended = 1;
            break;
        }
        if (n_held == cap) {
            cap = cap ? cap * 2 : 64;
            held = bson_realloc(held, cap * sizeof *held);
        }
        held[n_held++] = bson_copy(doc);
        mg_schema_add(&sch, doc);
    }
    if (cur && mongoc_cursor_error(cur, &be)) {
        st = mg_fail(err, &be, "query on '%s.%s'", q.db, q.coll);
        goto out;
    }
    if (c->set.output_document) {
        n = 1;
        cols = bson_malloc0(sizeof *cols);
        cols[0].name = "document";
        cols[0].type = DSRC_T_JSON;
        cols[0].nullable = 0;
    } else {
        cols = bson_malloc0((sch.n + 1) * sizeof *cols);
        for (i = 0; i < sch.n; i++) {
            if (sch.f[i].depth)
                continue;
            cols[n].name = sch.f[i].path;
            cols[n].type = mg_field_cell_type(&sch.f[i]);
            cols[n].nullable = 1;
            cols[n].primary_key = strcmp(sch.f[i].path, "_id") == 0;
            n++;
        }
    }
    cells = bson_malloc0((n + 1) * sizeof *cells);
    scratch = bson_malloc0((n + 1) * sizeof *scratch);
    if (rows->schema(rows->user, cols, n) != 0) {
        st = mg_stopped(err);
        goto out;
    }
    for (i = 0; i < n_held; i++) {
        st = mg_q_row(c, held[i], cols, n, cells, scratch, nrows, rows, err);
        if (st != DSRC_OK)
            goto out;
        nrows++;
    }
    while (cur && !ended && (limit < 0 || nrows < (uint64_t)limit)) {
        if (mg_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "query cancelled after %" PRIu64 " documents", nrows);
            goto out;
        }
        if (!mongoc_cursor_next(cur, &doc))
            break;
        st = mg_q_row(c, doc, cols, n, cells, scratch, nrows, rows, err);
        if (st != DSRC_OK)
            goto out;
        nrows++;
    }
    if (cur && mongoc_cursor_error(cur, &be)) {
        st = mg_fail(err, &be, "query on '%s.%s'", q.db, q.coll);
        goto out;
    }
out:
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->has_cursor = 0;
    }
    /* Destroying the cursor kills it on the server (killCursors). */
    if (cur)
        mongoc_cursor_destroy(cur);
    if (col)
        mongoc_collection_destroy(col);
    for (i = 0; i < n_held; i++)
        bson_destroy(held[i]);
    bson_free(held);
    bson_free(cols);
    bson_free(cells);
    bson_free(scratch);
    mg_schema_free(&sch);
    bson_destroy(&opts);
    mg_query_free(&q);
    return st;
}

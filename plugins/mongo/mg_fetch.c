/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_fetch.c -- fetch: a collection's documents as typed rows (the
 * sampled or requested fields) or one Extended JSON document per row,
 * with projection, limit and an incremental cursor, read with the
 * source's read_policy.
 */
#include "mg.h"

#include <inttypes.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

static dsrc_status mg_oom(dsrc_error *err)
{
    return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
}

/* 1 when some document of `col` holds `field`, 0 when none, -1 on error. */
static int mg_field_exists(dsrc_conn *c, mongoc_collection_t *col, const char *field,
                           bson_type_t *type_of_max, bson_error_t *be)
{
    bson_t *filter = BCON_NEW(field, "{", "$exists", BCON_BOOL(true), "}");
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1), "sort", "{", field, BCON_INT32(-1), "}",
                            "projection", "{", field, BCON_INT32(1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, opts,
                                                            c->set.discovery_prefs);
    const bson_t *doc;
    int found = 0;

    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        found = 1;
        if (type_of_max) {
            *type_of_max = BSON_TYPE_NULL;
            bson_iter_t d;
            if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &d))
                *type_of_max = bson_iter_type(&d);
        }
    } else if (mongoc_cursor_error(cur, be)) {
        found = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return found;
}

typedef struct mg_out {
    dsrc_column *cols;
    size_t n;
    char **natives;
} mg_out;

static void mg_out_free(mg_out *o)
{
    size_t i;
    for (i = 0; i < o->n; i++) {
        bson_free((char *)o->cols[i].name);
        bson_free(o->natives[i]);
    }
    bson_free(o->cols);
    bson_free(o->natives);
    memset(o, 0, sizeof *o);
}

static void mg_out_add(mg_out *o, const char *name, dsrc_type t, char *native, int pk)
{
    o->cols = bson_realloc(o->cols, (o->n + 1) * sizeof *o->cols);
    o->natives = bson_realloc(o->natives, (o->n + 1) * sizeof *o->natives);
    memset(&o->cols[o->n], 0, sizeof o->cols[o->n]);
    o->cols[o->n].name = bson_strdup(name);
    o->cols[o->n].type = t;
    o->cols[o->n].native_type = native;
    o->cols[o->n].nullable = 1;
    o->cols[o->n].primary_key = pk;
    o->natives[o->n] = native;
    o->n++;
}

dsrc_status mg_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    mg_path p = {0};
    mg_colls l = {0};
    mg_schema sch = {0};
    mg_out out = {0};
    mongoc_collection_t *col = NULL;
    mongoc_cursor_t *cur = NULL;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, child;
    bson_error_t be;
    dsrc_status st;
    dsrc_cell *cells = NULL;
    char **scratch = NULL;
    const bson_t *doc;
    uint64_t nrows = 0, nvals = 0;
    int last_kind = 0, ties;
    dsrc_cursor_max *cm = NULL;
    char *cval = NULL;
    bson_type_t ctype = BSON_TYPE_NULL;
    size_t i;

    (void)bytes;
    atomic_store(&c->cancel, 0);
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = 0;
        result->has_cursor = 0;
    }
    if ((st = dsrc_fetch_check_rows(req, rows, "collections", err)) != DSRC_OK)
        return st;
    if (mg_cancelled(ctx, c))
        return mg_cancel_err(err, "fetch");
    st = mg_find_coll(ctx, c, req->item, &p, &l, err);
    if (st != DSRC_OK)
        return st;
    col = mongoc_client_get_collection(c->client, p.db, p.coll);
    cm = bson_malloc0(sizeof *cm);
    dsrc_cursor_max_init(cm, req->cursor_field, "field", NULL);
    cval = bson_malloc0(DSRC_CURSOR_MAX);

    /* The output columns. */
    if (!c->set.output_document) {
        st = mg_sample(ctx, c, p.db, p.coll, &sch, err);
        if (st != DSRC_OK)
            goto out;
    }
    for (i = 0; i < req->n_columns; i++) {
        const char *name = req->columns[i];
        ssize_t k;
        if (!name || !*name || strchr(name, '$') || name[0] == '.') {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' is not a field name", name ? name : "(null)");
            goto out;
        }
        k = c->set.output_document ? -1 : mg_schema_find(&sch, name);
        if (k < 0) {
            int e = mg_field_exists(c, col, name, NULL, &be);
            if (e < 0) {
                st = mg_fail(err, &be, "fetch");
                goto out;
            }
            if (e == 0) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "no document of '%s' has a field '%s'", req->item, name);
                goto out;
            }
        }
        if (!c->set.output_document) {
            if (k >= 0) {
                mg_out_add(&out, name, mg_field_cell_type(&sch.f[k]),
                           mg_field_types_text(&sch.f[k]), strcmp(name, "_id") == 0);
            } else {
                mg_out_add(&out, name, DSRC_T_JSON, bson_strdup("unsampled"), 0);
            }
        }
    }
    if (c->set.output_document) {
        mg_out_add(&out, "document", DSRC_T_JSON,
                   bson_strdup(c->set.canonical ? "canonical extended json"
                                                : "relaxed extended json"), 0);
    } else if (!req->n_columns) {
        for (i = 0; i < sch.n; i++) {
            if (sch.f[i].depth)
                continue;
            mg_out_add(&out, sch.f[i].path, mg_field_cell_type(&sch.f[i]),
                       mg_field_types_text(&sch.f[i]), strcmp(sch.f[i].path, "_id") == 0);
        }
    }

    /* The cursor field, and its type from the highest value stored. */
    if (req->cursor_field) {
        int e;
        if (!*req->cursor_field || strchr(req->cursor_field, '$')) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "'%s' is not a field name", req->cursor_field);
            goto out;
        }
        e = mg_field_exists(c, col, req->cursor_field, &ctype, &be);
        if (e < 0) {
            st = mg_fail(err, &be, "fetch");
            goto out;
        }
        if (e == 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "no document of '%s' has the cursor field '%s'", req->item,
                                req->cursor_field);
            goto out;
        }
        if (req->cursor_value) {
            BSON_APPEND_DOCUMENT_BEGIN(&filter, req->cursor_field, &child);
            st = mg_cursor_append(&child, "$gt", req->cursor_field, req->cursor_value, ctype,
                                  err);
            bson_append_document_end(&filter, &child);
            if (st != DSRC_OK)
                goto out;
        }
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &child);
        BSON_APPEND_INT32(&child, req->cursor_field, 1);
        bson_append_document_end(&opts, &child);
    }
    if (req->n_columns) {
        int has_id = 0, has_cursor = 0;
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &child);
        for (i = 0; i < req->n_columns; i++) {
            has_id |= strcmp(req->columns[i], "_id") == 0;
            has_cursor |= req->cursor_field && strcmp(req->columns[i], req->cursor_field) == 0;
            BSON_APPEND_INT32(&child, req->columns[i], 1);
        }
        if (req->cursor_field && !has_cursor)
            BSON_APPEND_INT32(&child, req->cursor_field, 1);
        if (!has_id && !(req->cursor_field && strcmp(req->cursor_field, "_id") == 0))
            BSON_APPEND_INT32(&child, "_id", 0);
        bson_append_document_end(&opts, &child);
    }
    /* With a cursor, a limit ends at the whole group of the last
     * document's cursor value (see the loop): the server gets no limit,
     * only batches no larger than it. */
    ties = req->cursor_field && req->limit > 0;
    if (req->limit > 0 && !ties)
        BSON_APPEND_INT64(&opts, "limit", req->limit);
    BSON_APPEND_INT32(&opts, "batchSize",
                      ties && req->limit < (int64_t)c->set.batch_size
                          ? (int32_t)req->limit + 1
                          : (int32_t)c->set.batch_size);

    cells = bson_malloc0((out.n + 1) * sizeof *cells);
    scratch = bson_malloc0((out.n + 1) * sizeof *scratch);
    if (rows->schema(rows->user, out.cols, out.n) != 0) {
        st = mg_stopped(err);
        goto out;
    }
    if (req->limit == 0) /* find's limit 0 means "no limit" */
        goto done;
    cur = mongoc_collection_find_with_opts(col, &filter, &opts, c->set.fetch_prefs);
    for (;;) {
        bson_iter_t it, d;
        int ok = 0, kind;
        if (mg_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch cancelled after %" PRIu64 " documents", nrows);
            goto out;
        }
        if (!mongoc_cursor_next(cur, &doc))
            break;
        /* The document's cursor: kind 0 none (missing or null: these sort
         * first), 1 its text in cval, -1 a value that has no text. */
        kind = 0;
        if (req->cursor_field && bson_iter_init(&it, doc) &&
            bson_iter_find_descendant(&it, req->cursor_field, &d) &&
            bson_iter_type(&d) != BSON_TYPE_NULL)
            kind = mg_cursor_text(&d, cval, DSRC_CURSOR_MAX) == 0 ? 1 : -1;
        /* Past the limit, only the rest of the group of documents whose
         * cursor equals the last one sent: the next fetch, after the
         * highest value sent, must not skip any of them.  Documents
         * without a cursor come first (from the start only) and do not
         * count. */
        if (ties && nvals >= (uint64_t)req->limit &&
            (kind != last_kind || kind < 0 || (kind == 1 && strcmp(cval, cm->value) != 0)))
            break;
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
            ok = 1;
            for (i = 0; i < out.n; i++) {
                int has = bson_iter_init(&it, doc) && bson_iter_find(&it, out.cols[i].name);
                if (mg_value_cell(has ? &it : NULL, c->set.canonical, &cells[i], &scratch[i]) != 0)
                    ok = 0;
                else if (cells[i].type != DSRC_T_NULL &&
                         !dsrc_cell_fits(out.cols[i].type, cells[i].type) && st == DSRC_OK)
                    st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                                        "field '%s' of document %" PRIu64 " of '%s' holds %s, "
                                        "but the %" PRId64 " documents sampled typed it %s: raise "
                                        "sample_size, or fetch with output = \"document\"",
                                        out.cols[i].name, nrows + 1, req->item,
                                        dsrc_type_name(cells[i].type), c->set.sample_size,
                                        dsrc_type_name(out.cols[i].type));
            }
        }
        if (st != DSRC_OK) {
            for (i = 0; i < out.n; i++) {
                bson_free(scratch[i]);
                scratch[i] = NULL;
            }
            goto out;
        }
        if (ok && rows->row(rows->user, cells, out.n) != 0)
            st = mg_stopped(err);
        for (i = 0; i < out.n; i++) {
            bson_free(scratch[i]);
            scratch[i] = NULL;
        }
        if (!ok)
            st = mg_oom(err);
        if (st != DSRC_OK)
            goto out;
        nrows++;
        /* Sorted by the cursor: the last value sent is the highest. */
        last_kind = kind;
        nvals += kind != 0;
        if (kind == 1)
            dsrc_cursor_max_offer(cm, cval, strlen(cval));
        else if (kind < 0)
            dsrc_cursor_max_note(cm, 0);
        if (result)
            result->rows = nrows;
    }
    if (mongoc_cursor_error(cur, &be)) {
        st = mg_fail(err, &be, "fetching '%s'", req->item);
        goto out;
    }
done:
    if (result) {
        result->rows = nrows;
        dsrc_cursor_max_report(cm, mg_host, ctx, result);
    }
out:
    if (result)
        result->rows = nrows;
    if (cur)
        mongoc_cursor_destroy(cur);
    if (col)
        mongoc_collection_destroy(col);
    bson_destroy(&filter);
    bson_destroy(&opts);
    bson_free(cells);
    bson_free(scratch);
    bson_free(cm);
    bson_free(cval);
    mg_out_free(&out);
    mg_schema_free(&sch);
    mg_colls_free(&l);
    mg_path_free(&p);
    return st;
}

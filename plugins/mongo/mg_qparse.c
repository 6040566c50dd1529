/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_qparse.c -- the request of a mongo query: a JSON find or aggregate,
 * its {"$param": N} placeholders replaced by the bound values, and any
 * writing stage ($out, $merge) refused before anything reaches the server.
 * Only libbson: the connector's tests compile this file on its own.
 */
#include "mg.h"

#include <stdlib.h>
#include <string.h>

void mg_query_free(mg_query *q)
{
    bson_free(q->db);
    bson_free(q->coll);
    bson_destroy(&q->filter);
    bson_destroy(&q->pipeline);
    bson_destroy(&q->opts);
    memset(q, 0, sizeof *q);
}

/* The placeholder number of a document {"$param": N} (N an integer
 * from 1), 0 when the document is something else, -1 when it is a
 * malformed placeholder. */
static int64_t mg_param_index(const bson_t *doc)
{
    bson_iter_t it;
    int64_t k;

    if (!bson_iter_init(&it, doc) || !bson_iter_next(&it) ||
        strcmp(bson_iter_key(&it), "$param") != 0)
        return 0;
    if (!BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) < 1 ||
        (BSON_ITER_HOLDS_DOUBLE(&it) && bson_iter_double(&it) != (double)bson_iter_as_int64(&it)))
        return -1;
    k = bson_iter_as_int64(&it);
    if (bson_iter_next(&it))
        return -1; /* more than the one key */
    return k;
}

typedef struct mg_qctx {
    const char *const *params;
    size_t n_params;
    unsigned char *used;         /* n_params flags                          */
    const char *bad;             /* what was wrong, for the message         */
    int64_t bad_index;
    int writes;                  /* a $out or $merge key was met            */
    const char *write_key;
} mg_qctx;

/* Copy the elements of `src` into `dst`, placeholders replaced, keys
 * checked.  0, or -1 with q->bad set. */
static int mg_copy(mg_qctx *q, bson_iter_t *src, bson_t *dst, int is_array);

/* Copy one value (the iterator's) under `key`. */
static int mg_copy_value(mg_qctx *q, bson_iter_t *it, const char *key, bson_t *dst)
{
    bson_iter_t child;
    bson_t sub, tmp;
    const uint8_t *data;
    uint32_t len;
    int64_t k;
    int rc;

    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_document(it, &len, &data);
        if (!bson_init_static(&tmp, data, len)) {
            q->bad = "a malformed document";
            return -1;
        }
        k = mg_param_index(&tmp);
        if (k < 0) {
            q->bad = "a placeholder is {\"$param\": N}, N from 1";
            return -1;
        }
        if (k > 0) {
            if ((uint64_t)k > q->n_params) {
                q->bad = "a placeholder has no parameter";
                q->bad_index = k;
                return -1;
            }
            q->used[k - 1] = 1;
            if (q->params[k - 1])
                return bson_append_utf8(dst, key, -1, q->params[k - 1], -1) ? 0 : -1;
            return bson_append_null(dst, key, -1) ? 0 : -1;
        }
        if (!bson_iter_recurse(it, &child))
            return -1;
        bson_append_document_begin(dst, key, -1, &sub);
        rc = mg_copy(q, &child, &sub, 0);
        bson_append_document_end(dst, &sub);
        return rc;
    }
    if (BSON_ITER_HOLDS_ARRAY(it)) {
        if (!bson_iter_recurse(it, &child))
            return -1;
        bson_append_array_begin(dst, key, -1, &sub);
        rc = mg_copy(q, &child, &sub, 1);
        bson_append_array_end(dst, &sub);
        return rc;
    }
    return bson_append_iter(dst, key, -1, it) ? 0 : -1;
}

static int mg_copy(mg_qctx *q, bson_iter_t *src, bson_t *dst, int is_array)
{
    (void)is_array;
    while (bson_iter_next(src)) {
        const char *key = bson_iter_key(src);
        /* A writing stage anywhere: a top-level stage, inside $facet,
         * $lookup or $unionWith pipelines; operators are the only keys
         * that start with '$'. */
        if (strcmp(key, "$out") == 0 || strcmp(key, "$merge") == 0) {
            q->writes = 1;
            q->write_key = strcmp(key, "$out") == 0 ? "$out" : "$merge";
            return -1;
        }
        if (mg_copy_value(q, src, key, dst) != 0)
            return -1;
    }
    return 0;
}

/* Copy the value of `it` (a document or an array as `want_array` says)
 * into `out`, placeholders replaced.  DSRC_OK or the error in err. */
static dsrc_status mg_take(mg_qctx *q, bson_iter_t *it, const char *name, int want_array,
                           bson_t *out, dsrc_error *err)
{
    bson_iter_t child;

    if (want_array ? !BSON_ITER_HOLDS_ARRAY(it) : !BSON_ITER_HOLDS_DOCUMENT(it))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: \"%s\" must be %s", name,
                              want_array ? "an array of stages" : "a document");
    if (!bson_iter_recurse(it, &child))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: \"%s\" is malformed", name);
    if (mg_copy(q, &child, out, want_array) == 0)
        return DSRC_OK;
    if (q->writes)
        return dsrc_error_set(err, DSRC_E_PERMISSION, 0, NULL,
                              "query: a %s stage writes to a collection: queries are"
                              " read-only", q->write_key);
    if (q->bad_index)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "query: placeholder {\"$param\": %lld} has no parameter (%zu"
                              " given)", (long long)q->bad_index, q->n_params);
    return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: in \"%s\": %s", name,
                          q->bad ? q->bad : "out of memory");
}

dsrc_status mg_query_parse(const char *text, const char *const *params, size_t n_params,
                           const char *default_db, mg_query *out, dsrc_error *err)
{
    bson_t doc;
    bson_error_t be;
    bson_iter_t it;
    mg_qctx q;
    dsrc_status st = DSRC_OK;
    int have_op = 0;
    size_t i;

    memset(out, 0, sizeof *out);
    bson_init(&out->filter);
    bson_init(&out->pipeline);
    bson_init(&out->opts);
    memset(&q, 0, sizeof q);
    q.params = params;
    q.n_params = n_params;
    if (!text || !*text) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "query: the request is empty");
        goto fail;
    }
    if (n_params && !params) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: %zu parameters without values", n_params);
        goto fail;
    }
    if (!bson_init_from_json(&doc, text, -1, &be)) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: not a JSON document: %s", be.message);
        goto fail;
    }
    q.used = bson_malloc0(n_params + 1);
    bson_iter_init(&it, &doc);
    while (st == DSRC_OK && bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "find") == 0 || strcmp(key, "aggregate") == 0) {
            if (have_op) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "query: one of \"find\" and \"aggregate\", once");
                break;
            }
            have_op = 1;
            out->aggregate = key[0] == 'a';
            if (!BSON_ITER_HOLDS_UTF8(&it) || !*bson_iter_utf8(&it, NULL)) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "query: \"%s\" names a collection (a string)", key);
                break;
            }
            out->coll = bson_strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(key, "database") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) || !*bson_iter_utf8(&it, NULL)) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "query: \"database\" is a name (a string)");
                break;
            }
            bson_free(out->db);
            out->db = bson_strdup(bson_iter_utf8(&it, NULL));
        } else if (strcmp(key, "filter") == 0) {
            st = mg_take(&q, &it, key, 0, &out->filter, err);
            out->has_filter = 1;
        } else if (strcmp(key, "pipeline") == 0) {
            st = mg_take(&q, &it, key, 1, &out->pipeline, err);
            out->has_pipeline = 1;
        } else if (strcmp(key, "projection") == 0 || strcmp(key, "sort") == 0 ||
                   strcmp(key, "hint") == 0 || strcmp(key, "collation") == 0) {
            bson_t sub;
            bson_append_document_begin(&out->opts, key, -1, &sub);
            st = mg_take(&q, &it, key, 0, &sub, err);
            bson_append_document_end(&out->opts, &sub);
        } else if (strcmp(key, "limit") == 0 || strcmp(key, "skip") == 0) {
            if (!BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) < 0) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "query: \"%s\" is a number from 0", key);
                break;
            }
            if (key[0] == 'l')
                out->limit = bson_iter_as_int64(&it);
            else
                BSON_APPEND_INT64(&out->opts, "skip", bson_iter_as_int64(&it));
        } else {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "query: unknown key \"%s\" (find: filter, projection, sort,"
                                " limit, skip, hint, collation; aggregate: pipeline; both:"
                                " database)", key);
        }
    }
    bson_destroy(&doc);
    if (st != DSRC_OK)
        goto fail;
    if (!have_op) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: the request names its collection with \"find\" or"
                            " \"aggregate\"");
        goto fail;
    }
    if (out->aggregate ? (out->has_filter || out->limit || bson_count_keys(&out->opts))
                       : out->has_pipeline) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            out->aggregate ? "query: an aggregate takes a \"pipeline\" only"
                                           : "query: a find takes no \"pipeline\"");
        goto fail;
    }
    if (out->aggregate && !out->has_pipeline) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: an aggregate needs a \"pipeline\"");
        goto fail;
    }
    for (i = 0; i < n_params; i++)
        if (!q.used[i]) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                "query: parameter %zu has no placeholder {\"$param\": %zu}",
                                i + 1, i + 1);
            goto fail;
        }
    if (!out->db && default_db && *default_db)
        out->db = bson_strdup(default_db);
    if (!out->db) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "query: no \"database\" in the request and none in the source");
        goto fail;
    }
    bson_free(q.used);
    return DSRC_OK;
fail:
    bson_free(q.used);
    mg_query_free(out);
    return st;
}

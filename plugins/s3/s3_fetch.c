/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_fetch.c -- fetch for the s3 connector (see s3.h): an object's bytes in
 * ranged GETs pinned to its ETag (If-Match), resumed after a transient
 * failure, checked against the ETag's MD5 (single-part objects) and a
 * full-object x-amz-checksum-sha256 / -sha1; and the incremental fetch of
 * a bucket or prefix, its new and changed objects as rows in
 * (last_modified, key) order.
 */
#include "s3.h"

#include <openssl/evp.h>

#include <ctype.h>
#include <inttypes.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Verification                                                              */

/* What the bytes are checked against, from the HEAD answer. */
typedef struct s3_want {
    char md5[33];            /* hex MD5 of a single-part ETag, or ""        */
    char sum_name[16];       /* "sha256" / "sha1", or ""                    */
    char sum[96];            /* its base64 value                            */
} s3_want;

static void s3_want_from(s3_want *w, const s3_resp *r)
{
    const char *e = r->etag;
    size_t n;

    memset(w, 0, sizeof w[0]);
    if (*e == '"')
        e++;
    n = strspn(e, "0123456789abcdefABCDEF");
    if (n == 32 && (e[32] == '"' || e[32] == '\0')) /* multipart ETags have "-N" */
        snprintf(w->md5, sizeof w->md5, "%.32s", e);
    if ((strcmp(r->checksum_name, "sha256") == 0 || strcmp(r->checksum_name, "sha1") == 0) &&
        !strchr(r->checksum, '-')) {
        snprintf(w->sum_name, sizeof w->sum_name, "%s", r->checksum_name);
        snprintf(w->sum, sizeof w->sum, "%s", r->checksum);
    }
}

static EVP_MD_CTX *s3_digest_new(const EVP_MD *md)
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    if (x && EVP_DigestInit_ex(x, md, NULL) != 1) {
        EVP_MD_CTX_free(x);
        x = NULL;
    }
    return x;
}

/* The bytes received against what the object says: DSRC_OK or err set. */
static dsrc_status s3_verify(s3_fst *f, const s3_want *w, const char *what, dsrc_error *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0, i;
    char hex[2 * EVP_MAX_MD_SIZE + 1], b64[4 * EVP_MAX_MD_SIZE / 3 + 8];

    if (f->md5) {
        if (EVP_DigestFinal_ex(f->md5, d, &dl) != 1)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot compute MD5", what);
        for (i = 0; i < dl; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        if (strcasecmp(hex, w->md5) != 0)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, "md5",
                                  "%s: ETag mismatch: the object's ETag is the MD5 %s, the "
                                  "bytes received hash to %s", what, w->md5, hex);
    }
    if (f->sum) {
        if (EVP_DigestFinal_ex(f->sum, d, &dl) != 1)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot compute %s", what,
                                  w->sum_name);
        EVP_EncodeBlock((unsigned char *)b64, d, (int)dl);
        if (strcmp(b64, w->sum) != 0)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, "checksum",
                                  "%s: x-amz-checksum-%s mismatch: the object says %s, the "
                                  "bytes received hash to %s", what, w->sum_name, w->sum, b64);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Fetch                                                                     */

/* Sleep `ms` in slices, returning early (nonzero) when cancelled. */
static int s3_wait(const dsrc_ctx *ctx, dsrc_conn *c, long ms)
{
    while (ms > 0) {
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        if (s3_cancelled(ctx, c))
            return 1;
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return s3_cancelled(ctx, c);
}

/* After a failed range: 1 to resume (err cleared, after the backoff), 0 to
 * give up with err as it is. */
static int s3_resume(const dsrc_ctx *ctx, dsrc_conn *c, const s3_resp *r, long *attempt,
                     const char *what, dsrc_error *err)
{
    long wait_ms;

    if (!err || !err->retryable || r->status == 412 || *attempt >= c->max_retries ||
        r->stopped)
        return 0;
    (*attempt)++;
    wait_ms = c->backoff_ms << (*attempt - 1 > 5 ? 5 : *attempt - 1);
    if (wait_ms > 8000)
        wait_ms = 8000;
    s3_log(ctx, DSRC_LOG_NOTICE, "%s%s; resuming", err->message ? err->message : what, "");
    if (s3_wait(ctx, c, wait_ms)) {
        dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
        return 0;
    }
    if (err->release)
        err->release(err);
    err->status = DSRC_OK;
    err->retryable = 0;
    err->backend_code[0] = '\0';
    return 1;
}

static dsrc_status s3_fetch_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                                const dsrc_byte_sink *bytes, dsrc_fetch_result *result,
                                dsrc_error *err)
{
    char *bucket = NULL, *key = NULL, etag[128];
    dsrc_buf what = {0};
    s3_resp r;
    s3_fst f;
    s3_want w;
    dsrc_status st;
    int64_t size;
    long attempt = 0;

    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    if ((st = s3_split(c, req->item, &bucket, &key, err)) != DSRC_OK)
        return st;
    dsrc_buf_printf(&what, "fetch '%s'", req->item);
    if (what.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (!*bucket || !*key || key[strlen(key) - 1] == '/') {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "%s: not an object path (bucket/key)", what.s);
        goto out;
    }
    if ((st = s3_head(ctx, c, bucket, key, &r, what.s, err)) != DSRC_OK)
        goto out;
    size = r.content_length;
    snprintf(etag, sizeof etag, "%s", r.etag);
    s3_want_from(&w, &r);
    if (size < 0) {
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "%s: the service did not report the object's size", what.s);
        goto out;
    }
    if (c->verify && ((w.md5[0] && !(f.md5 = s3_digest_new(EVP_md5()))) ||
                      (w.sum_name[0] &&
                       !(f.sum = s3_digest_new(strcmp(w.sum_name, "sha1") == 0 ? EVP_sha1()
                                                                               : EVP_sha256()))))) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot set up a digest", what.s);
        goto out;
    }
    if (bytes->begin(bytes->user, r.content_type[0] ? r.content_type : "application/octet-stream",
                     size) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                            what.s);
        goto out;
    }
    f.sink = bytes;
    while (f.offset < size) {
        char range[64];
        int64_t end = f.offset + c->range_size, before = f.offset;

        if (end > size)
            end = size;
        snprintf(range, sizeof range, "bytes=%" PRId64 "-%" PRId64, f.offset, end - 1);
        r.body = S3_BODY_SINK;
        r.fetch = &f;
        r.xp = NULL;
        st = s3_request(ctx, c, "GET", bucket, key, NULL, 0, range, etag[0] ? etag : NULL, 0,
                        &r, what.s, err);
        if (st == DSRC_OK && f.offset < end) /* the range ended early, no transport error */
            st = dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, NULL,
                                "%s: the response ended after %" PRId64 " of %" PRId64 " bytes",
                                what.s, f.offset, size);
        if (st == DSRC_OK) {
            attempt = 0;
            continue;
        }
        if (f.offset > before)
            attempt = 0; /* progress was made: the budget starts again */
        if (!s3_resume(ctx, c, &r, &attempt, what.s, err)) {
            st = err ? err->status : st;
            goto out;
        }
    }
    st = s3_verify(&f, &w, what.s, err);
    if (result) {
        result->mode = DSRC_FETCH_RAW;
        result->bytes = (uint64_t)f.offset;
        result->rows = 0;
    }
out:
    EVP_MD_CTX_free(f.md5);
    EVP_MD_CTX_free(f.sum);
    s3_resp_free(&r);
    dsrc_buf_free(&what);
    free(bucket);
    free(key);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Incremental fetch of a bucket or prefix                                   */

static int s3_iobj_cmp(const void *a, const void *b)
{
    const s3_iobj *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* "2024-01-31T12:00:00Z" or "2024-01-31T12:00:00Z key": -1 when neither. */
static int s3_cursor_parse(const char *v, int64_t *mtime, const char **key)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof tm);
    end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || (*end && *end != ' '))
        return -1;
    *mtime = (int64_t)timegm(&tm);
    *key = *end ? end + 1 : "";
    return 0;
}

/* One row of the incremental listing; nonzero when the sink stops. */
static int s3_incr_row(const dsrc_row_sink *rows, const dsrc_conn *c, const char *bucket,
                       const s3_iobj *o, char *iso, size_t cap, int *oom)
{
    dsrc_cell cell[4];
    dsrc_buf path = {0};
    int stop;

    s3_item_path(&path, c, bucket, o->key);
    if (path.failed) {
        *oom = 1;
        return 1;
    }
    s3_iso(o->mtime, iso, cap);
    memset(cell, 0, sizeof cell);
    cell[0].type = DSRC_T_TEXT;
    cell[0].v.s.ptr = path.s;
    cell[0].v.s.len = path.len;
    cell[1].type = o->size >= 0 ? DSRC_T_INT64 : DSRC_T_NULL;
    cell[1].v.i = o->size;
    cell[2].type = DSRC_T_TEXT;
    cell[2].v.s.ptr = o->etag ? o->etag : "";
    cell[2].v.s.len = strlen(cell[2].v.s.ptr);
    cell[3].type = DSRC_T_TIMESTAMP;
    cell[3].v.s.ptr = iso;
    cell[3].v.s.len = strlen(iso);
    stop = rows->row(rows->user, cell, 4);
    dsrc_buf_free(&path);
    return stop;
}

static dsrc_status s3_incr_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                               const dsrc_row_sink *rows, dsrc_fetch_result *result,
                               dsrc_error *err)
{
    static const dsrc_column cols[4] = {
        {"name", DSRC_T_TEXT, "object key", 0, 1, NULL, "item path of the object", {NULL, NULL}},
        {"size", DSRC_T_INT64, "Size", 0, 0, NULL, NULL, {NULL, NULL}},
        {"etag", DSRC_T_TEXT, "ETag", 0, 0, NULL, NULL, {NULL, NULL}},
        {"last_modified", DSRC_T_TIMESTAMP, "LastModified", 0, 0, NULL, NULL, {NULL, NULL}},
    };
    char *bucket = NULL, *prefix = NULL, iso[32];
    s3_incr in;
    dsrc_status st = DSRC_OK;
    size_t i, ready;
    uint64_t sent = 0;
    int oom = 0;

    memset(&in, 0, sizeof in);
    in.after_mtime = -1;
    in.after_key = "";
    in.until = -1;
    if (strcmp(req->cursor_field, "last_modified") != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': a bucket's cursor field is last_modified, not '%s'",
                              req->item, req->cursor_field);
    if (req->cursor_value && *req->cursor_value &&
        s3_cursor_parse(req->cursor_value, &in.after_mtime, &in.after_key) < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': cursor '%s' is not a last_modified cursor "
                              "(YYYY-MM-DDTHH:MM:SSZ, optionally followed by a space and a "
                              "key)", req->item, req->cursor_value);
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "fetch '%s': an incremental listing is delivered as rows",
                              req->item);
    if ((st = s3_split(c, req->item, &bucket, &prefix, err)) != DSRC_OK)
        return st;
    if (!*bucket) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "fetch: an incremental fetch needs a bucket (or bucket/prefix)");
        goto out;
    }
    if ((st = s3_list_run(ctx, c, req->item, NULL, &in, err)) != DSRC_OK)
        goto out;
    if (in.n)
        qsort(in.v, in.n, sizeof *in.v, s3_iobj_cmp);
    /* the listing's own second may still gain objects: they wait */
    for (ready = 0; ready < in.n && in.v[ready].mtime < in.until; ready++)
        ;
    if (rows->schema(rows->user, cols, 4) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch '%s': stopped by the receiver",
                            req->item);
        goto out;
    }
    for (i = 0; i < ready && (req->limit < 0 || (int64_t)sent < req->limit); i++) {
        if (s3_incr_row(rows, c, bucket, &in.v[i], iso, sizeof iso, &oom) != 0) {
            st = oom ? dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory")
                     : dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                      "fetch '%s': stopped by the receiver", req->item);
            goto out;
        }
        sent++;
        if (result) {
            snprintf(result->cursor_max, sizeof result->cursor_max, "%s %s", iso, in.v[i].key);
            result->has_cursor = 1;
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = sent;
    }
out:
    for (i = 0; i < in.n; i++) {
        free(in.v[i].key);
        free(in.v[i].etag);
    }
    free(in.v);
    free(bucket);
    free(prefix);
    return st;
}

dsrc_status s3_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    if (!req || !req->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "fetch: no item");
    if (req->cursor_field)
        return s3_incr_run(ctx, c, req, rows, result, err);
    if (req->mode == DSRC_FETCH_ROWS || !bytes || !bytes->begin || !bytes->write)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "fetch '%s': objects are fetched as raw bytes (use --format raw)",
                              req->item);
    if (req->columns && req->n_columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': an object has no columns", req->item);
    return s3_fetch_run(ctx, c, req, bytes, result, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_fetch.c -- fetch for the azure_blob connector (see az.h): a blob's
 * bytes in ranged Get Blob requests pinned to its ETag, resumed after a
 * transient failure and checked against its Content-MD5 (hashed on a
 * thread of its own); and the incremental fetch of a container, its new
 * and changed blobs as rows in (last_modified, name) order.
 */
#include "az.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#define AZ_RETRY_AFTER_MAX 60

/* ------------------------------------------------------------------------ */
/* Content-MD5                                                               */

/* Content-MD5 of a fetch, computed on a thread of its own so that hashing
 * overlaps with receiving and writing (MD5 runs at about 650 MB/s on one
 * core, slower than a fast link).  The receiver copies bytes into a ring of
 * AZ_MD5_NBUF buffers and hands each full one to the worker, which hashes
 * them in order; the receiver waits only when all are queued, so a worker
 * briefly off the CPU (two cores shared with the writer and a local
 * server) does not stop the transfer.  Bytes stay in order, so a resumed
 * range simply continues the digest. */
#define AZ_MD5_CHUNK (2u << 20)
#define AZ_MD5_NBUF 4
#define AZ_MD5_THREAD_MIN (8 << 20) /* smaller blobs are hashed inline */

typedef struct az_md5 {
    EVP_MD_CTX *md;
    int threaded;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[AZ_MD5_NBUF];
    size_t len[AZ_MD5_NBUF];
    uint64_t queued;         /* buffers handed over (n is buf[n % NBUF])   */
    uint64_t hashed;         /* of which hashed                            */
    int quit;
    int failed;
} az_md5;

static void *az_md5_main(void *arg)
{
    az_md5 *m = arg;

    pthread_mutex_lock(&m->mu);
    for (;;) {
        int j;
        while (m->hashed == m->queued && !m->quit)
            pthread_cond_wait(&m->cv, &m->mu);
        if (m->hashed == m->queued)
            break;
        j = (int)(m->hashed % AZ_MD5_NBUF);
        pthread_mutex_unlock(&m->mu);
        if (EVP_DigestUpdate(m->md, m->buf[j], m->len[j]) != 1)
            m->failed = 1;
        pthread_mutex_lock(&m->mu);
        m->hashed++;
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static void az_md5_bufs_free(az_md5 *m)
{
    int i;

    for (i = 0; i < AZ_MD5_NBUF; i++) {
        free(m->buf[i]);
        m->buf[i] = NULL;
    }
}

/* 0, or -1 when the digest cannot be set up (out of memory) */
static int az_md5_start(az_md5 *m, int64_t size)
{
    int i;

    memset(m, 0, sizeof *m);
    m->md = EVP_MD_CTX_new();
    if (!m->md || EVP_DigestInit_ex(m->md, EVP_md5(), NULL) != 1)
        return -1;
    if (size < AZ_MD5_THREAD_MIN)
        return 0;
    /* aligned on their size so that each may be one huge page (a hint):
     * 512 page faults fewer per buffer */
    for (i = 0; i < AZ_MD5_NBUF; i++) {
        if (!(m->buf[i] = aligned_alloc(AZ_MD5_CHUNK, AZ_MD5_CHUNK)))
            break;
        (void)madvise(m->buf[i], AZ_MD5_CHUNK, MADV_HUGEPAGE);
    }
    if (i == AZ_MD5_NBUF && pthread_mutex_init(&m->mu, NULL) == 0) {
        if (pthread_cond_init(&m->cv, NULL) == 0) {
            if (pthread_create(&m->th, NULL, az_md5_main, m) == 0) {
                m->threaded = 1;
                return 0;
            }
            pthread_cond_destroy(&m->cv);
        }
        pthread_mutex_destroy(&m->mu);
    }
    /* no thread: hash inline, as for a small blob */
    az_md5_bufs_free(m);
    return 0;
}

/* hand the buffer being filled to the worker and wait until the next one
 * is free */
static void az_md5_submit(az_md5 *m)
{
    pthread_mutex_lock(&m->mu);
    m->queued++;
    pthread_cond_broadcast(&m->cv);
    while (m->queued - m->hashed >= AZ_MD5_NBUF)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    m->len[m->queued % AZ_MD5_NBUF] = 0;
}

void az_md5_update(az_md5 *m, const char *data, size_t len)
{
    if (!m->threaded) {
        if (EVP_DigestUpdate(m->md, data, len) != 1)
            m->failed = 1;
        return;
    }
    while (len > 0) {
        int f = (int)(m->queued % AZ_MD5_NBUF);
        size_t room = AZ_MD5_CHUNK - m->len[f];
        size_t n = len < room ? len : room;
        memcpy(m->buf[f] + m->len[f], data, n);
        m->len[f] += n;
        data += n;
        len -= n;
        if (m->len[f] == AZ_MD5_CHUNK)
            az_md5_submit(m);
    }
}

/* stop the worker after it has hashed everything handed to it */
static void az_md5_stop(az_md5 *m)
{
    if (!m->threaded)
        return;
    if (m->len[m->queued % AZ_MD5_NBUF] > 0)
        az_md5_submit(m);
    pthread_mutex_lock(&m->mu);
    m->quit = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->th, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    az_md5_bufs_free(m);
    m->threaded = 0;
}

/* base64 of the digest, or NULL (failed or out of memory) */
static char *az_md5_finish(az_md5 *m)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;

    az_md5_stop(m);
    if (m->failed || EVP_DigestFinal_ex(m->md, d, &dl) != 1)
        return NULL;
    return az_b64(d, dl);
}

static void az_md5_free(az_md5 *m)
{
    az_md5_stop(m);
    EVP_MD_CTX_free(m->md);
    m->md = NULL;
}

/* ------------------------------------------------------------------------ */
/* Fetch                                                                     */

/* Sleep `ms` in slices, returning early (nonzero) when cancelled. */
static int az_wait(const dsrc_ctx *ctx, dsrc_conn *c, long ms)
{
    while (ms > 0) {
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        if (az_cancelled(ctx, c))
            return 1;
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return az_cancelled(ctx, c);
}

static dsrc_status az_fetch_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                                const dsrc_byte_sink *bytes, dsrc_fetch_result *result,
                                dsrc_error *err)
{
    char *container = NULL, *blob = NULL, *what = NULL, *res = NULL;
    char etag[128], md5want[64];
    az_resp r;
    az_fst f;
    az_md5 md5;
    dsrc_status st;
    int64_t size;
    long attempt = 0;

    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    st = az_split(c, req->item, &container, &blob, err);
    if (st != DSRC_OK)
        return st;
    if (asprintf(&what, "fetch '%s'", req->item) < 0)
        what = NULL;
    if (!what) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (!*container || !*blob || blob[strlen(blob) - 1] == '/') {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "%s: not a blob path (container/blob)", what);
        goto out;
    }
    st = az_head(ctx, c, container, blob, &r, what, err);
    if (st != DSRC_OK)
        goto out;
    size = r.content_length;
    snprintf(etag, sizeof etag, "%s", r.etag);
    snprintf(md5want, sizeof md5want, "%s", r.content_md5);
    if (size < 0) {
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "%s: the service did not report the blob's size", what);
        goto out;
    }
    if (md5want[0]) {
        f.md5 = &md5;
        if (az_md5_start(&md5, size) != 0) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot compute MD5", what);
            goto out;
        }
    }
    if (bytes->begin(bytes->user, r.content_type[0] ? r.content_type : "application/octet-stream",
                     size) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver", what);
        goto out;
    }
    az_resp_free(&r);
    res = az_res_path(container, blob);
    if (!res) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    f.sink = bytes;
    while (f.offset < size) {
        char range[64];
        int64_t end = f.offset + c->range_size;
        int64_t before = f.offset;
        long wait_ms;

        if (end > size)
            end = size;
        snprintf(range, sizeof range, "bytes=%" PRId64 "-%" PRId64, f.offset, end - 1);
        r.body = AZ_BODY_SINK;
        r.fetch = &f;
        r.xp = NULL;
        st = az_request(ctx, c, "GET", res, NULL, 0, range, etag[0] ? etag : NULL, &r, what,
                        err);
        if (st == DSRC_OK && f.offset < end) {
            /* the range ended early without a transport error */
            st = dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, NULL,
                                "%s: the response ended after %" PRId64 " of %" PRId64
                                " bytes", what, f.offset, size);
        }
        if (st == DSRC_OK) {
            attempt = 0;
            az_resp_free(&r);
            continue;
        }
        if (f.offset > before)
            attempt = 0; /* progress was made: the budget starts again */
        if (!err || !err->retryable || r.status == 412 || attempt >= c->max_retries ||
            r.stopped) {
            az_resp_free(&r);
            goto out;
        }
        attempt++;
        wait_ms = c->backoff_ms << (attempt - 1 > 5 ? 5 : attempt - 1);
        if (wait_ms > 8000)
            wait_ms = 8000;
        if (r.retry_after >= 0)
            wait_ms = (r.retry_after > AZ_RETRY_AFTER_MAX ? AZ_RETRY_AFTER_MAX : r.retry_after) *
                      1000L;
        if (err->message)
            az_log(ctx, DSRC_LOG_NOTICE, "%s%s; resuming", err->message, "");
        else
            az_log(ctx, DSRC_LOG_NOTICE, "%s: %s; resuming", what, "transient failure");
        az_resp_free(&r);
        if (az_wait(ctx, c, wait_ms)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
            goto out;
        }
        if (err && err->release)
            err->release(err);
        if (err) {
            err->status = DSRC_OK;
            err->retryable = 0;
            err->backend_code[0] = '\0';
        }
    }
    st = DSRC_OK;
    if (f.md5) {
        char *got = az_md5_finish(f.md5);
        if (!got) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot compute MD5", what);
        } else if (strcmp(got, md5want) != 0) {
            st = dsrc_error_set(err, DSRC_E_BACKEND, 0, "md5",
                                "%s: Content-MD5 mismatch: the blob says %s, the bytes "
                                "received hash to %s", what, md5want, got);
        }
        free(got);
    }
    if (result) {
        result->mode = DSRC_FETCH_RAW;
        result->bytes = (uint64_t)f.offset;
        result->rows = 0;
    }
out:
    if (f.md5)
        az_md5_free(f.md5);
    az_resp_free(&r);
    free(res);
    free(what);
    free(container);
    free(blob);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Incremental fetch of a container                                          */

static int az_iblob_cmp(const void *a, const void *b)
{
    const az_iblob *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Parse a cursor "2024-01-31T12:00:00Z" or "2024-01-31T12:00:00Z name":
 * the time and the name after the first space ("" when none).  -1 when it
 * is neither. */
static int az_cursor_parse(const char *v, int64_t *mtime, const char **name)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof tm);
    end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || (*end && *end != ' '))
        return -1;
    *mtime = (int64_t)timegm(&tm);
    *name = *end ? end + 1 : "";
    return 0;
}

/* List the blobs of a container (under a prefix, no delimiter) modified
 * after req->cursor_value and in a second before the listing's (the first
 * page's Date), in (last_modified, name) order, as rows through the row
 * sink; cursor_max is the last row's "time name". */
static dsrc_status az_incr_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                               const dsrc_row_sink *rows, dsrc_fetch_result *result,
                               dsrc_error *err)
{
    static const dsrc_column cols[5] = {
        {"name", DSRC_T_TEXT, "blob name", 0, 1, NULL, "item path of the blob", {NULL, NULL}},
        {"size", DSRC_T_INT64, "Content-Length", 0, 0, NULL, NULL, {NULL, NULL}},
        {"etag", DSRC_T_TEXT, "Etag", 0, 0, NULL, NULL, {NULL, NULL}},
        {"last_modified", DSRC_T_TIMESTAMP, "Last-Modified", 0, 0, NULL, NULL, {NULL, NULL}},
        {"content_md5", DSRC_T_TEXT, "Content-MD5", 1, 0, NULL, "base64", {NULL, NULL}},
    };
    char *container = NULL, *prefix = NULL;
    az_incr in;
    dsrc_status st = DSRC_OK;
    size_t i, ready;
    uint64_t sent = 0;

    memset(&in, 0, sizeof in);
    in.after_mtime = -1;
    in.after_name = "";
    in.until = -1;
    if (strcmp(req->cursor_field, "last_modified") != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': a container's cursor field is last_modified, not "
                              "'%s'", req->item, req->cursor_field);
    if (req->cursor_value && *req->cursor_value &&
        az_cursor_parse(req->cursor_value, &in.after_mtime, &in.after_name) < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': cursor '%s' is not a last_modified cursor "
                              "(YYYY-MM-DDTHH:MM:SSZ, optionally followed by a space and a "
                              "blob name)", req->item, req->cursor_value);
    if (!rows || !rows->schema || !rows->row)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "fetch '%s': an incremental listing is delivered as rows",
                              req->item);
    st = az_split(c, req->item, &container, &prefix, err);
    if (st != DSRC_OK)
        return st;
    if (!*container) {
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "fetch: an incremental fetch needs a container (or "
                            "container/prefix)");
        goto out;
    }
    st = az_list_run(ctx, c, req->item, NULL, &in, err);
    if (st != DSRC_OK)
        goto out;
    if (in.n)
        qsort(in.v, in.n, sizeof *in.v, az_iblob_cmp);
    /* the listing's own second may still gain blobs: they wait */
    for (ready = 0; ready < in.n && in.v[ready].mtime < in.until; ready++)
        ;
    if (rows->schema(rows->user, cols, 5) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch '%s': stopped by the receiver",
                            req->item);
        goto out;
    }
    for (i = 0; i < ready && (req->limit < 0 || (int64_t)sent < req->limit); i++) {
        az_iblob *b = &in.v[i];
        dsrc_cell cell[5];
        char iso[32];
        dsrc_buf path = {0};
        int stop;

        az_item_path(&path, c, container, b->name);
        if (path.failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        az_iso(b->mtime, iso, sizeof iso);
        memset(cell, 0, sizeof cell);
        cell[0].type = DSRC_T_TEXT;
        cell[0].v.s.ptr = path.s;
        cell[0].v.s.len = path.len;
        cell[1].type = b->size >= 0 ? DSRC_T_INT64 : DSRC_T_NULL;
        cell[1].v.i = b->size;
        cell[2].type = DSRC_T_TEXT;
        cell[2].v.s.ptr = b->etag ? b->etag : "";
        cell[2].v.s.len = strlen(cell[2].v.s.ptr);
        cell[3].type = DSRC_T_TIMESTAMP;
        cell[3].v.s.ptr = iso;
        cell[3].v.s.len = strlen(iso);
        cell[4].type = b->md5 ? DSRC_T_TEXT : DSRC_T_NULL;
        cell[4].v.s.ptr = b->md5;
        cell[4].v.s.len = b->md5 ? strlen(b->md5) : 0;
        stop = rows->row(rows->user, cell, 5);
        free(path.s);
        if (stop) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch '%s': stopped by the receiver", req->item);
            goto out;
        }
        sent++;
        if (result) {
            snprintf(result->cursor_max, sizeof result->cursor_max, "%s %s", iso, b->name);
            result->has_cursor = 1;
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = sent;
    }
out:
    for (i = 0; i < in.n; i++) {
        free(in.v[i].name);
        free(in.v[i].etag);
        free(in.v[i].md5);
    }
    free(in.v);
    free(container);
    free(prefix);
    return st;
}

dsrc_status az_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    if (!req || !req->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "fetch: no item");
    if (req->cursor_field)
        return az_incr_run(ctx, c, req, rows, result, err);
    /* A blob's bytes are its own format: they go through the byte sink for
     * RAW and for CSV (the host takes them as they are); typed rows are not
     * something a blob has. */
    if (req->mode == DSRC_FETCH_ROWS || !bytes || !bytes->begin || !bytes->write)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "fetch '%s': blobs are fetched as raw bytes (use --format raw)",
                              req->item);
    if (req->columns && req->n_columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch '%s': a blob has no columns", req->item);
    return az_fetch_run(ctx, c, req, bytes, result, err);
}

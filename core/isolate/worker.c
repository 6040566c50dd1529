/* SPDX-License-Identifier: Apache-2.0 */
/* worker.c -- the plugin worker process (see isolate.h). */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/ctx.h"
#include "base/lazylib.h"
#include "base/log.h"
#include "base/redact.h"
#include "isolate/isolate.h"
#include "isolate/wire.h"

#define WORKER_FD 3
#define WORKER_FLUSH_MS 100 /* a batch waits at most this long to be sent */

typedef struct worker {
    int fd;
    pthread_mutex_t send_mu;  /* frames from several threads (log lines)  */
    /* the request the reader thread hands to the main thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wire_buf req;             /* the pending request's frame; len 0: none */
    int eof;
    /* the running call */
    atomic_int cancel;        /* the flag host->is_cancelled() reads      */
    atomic_int stop;          /* a sink refused: every sink refuses       */
    int refused;              /* the plugin was told so by a sink         */
    int efd;                  /* host->cancel_fd()                         */
    loader_set *set;
    const dsrc_driver *drv;
    dsrc_conn *_Atomic conn;
    atomic_int busy;
    struct dsrc_ctx ctx;
    char *source, *plugin;
    /* the outgoing batch: filled by the plugin's thread, sent when full,
     * at the call's end, or by the flusher once WORKER_FLUSH_MS old (so
     * that a plugin that produces slowly or hangs after a row is not
     * held back: the host sees the progress) */
    pthread_mutex_t out_mu;
    pthread_cond_t out_cv;    /* the batch became non-empty             */
    uint64_t out_gen;         /* batches sent so far                     */
    int was_empty;
    wire_buf out;
    size_t rows_at;           /* the open ROWS frame in `out`, or SIZE_MAX */
    size_t rows_n;
    int broken;               /* a send failed: the host is gone          */
    /* the host's answer to an aws_sign() of the plugin (under mu, cv) */
    wire_buf signed_reply;
    int signed_ready;
} worker;

static worker *worker_self; /* for the log forwarder */

/* Send `b` now, under the send lock. */
static int worker_send(worker *w, wire_buf *b, int batch)
{
    int rc;

    pthread_mutex_lock(&w->send_mu);
    rc = batch ? wire_flush(w->fd, b) : wire_send(w->fd, b);
    pthread_mutex_unlock(&w->send_mu);
    return rc;
}

static void worker_log(dsrc_log_level level, const char *source, const char *plugin,
                       const char *msg)
{
    worker *w = worker_self;
    wire_buf b = {0};

    (void)source;
    (void)plugin;
    if (!w)
        return;
    wire_begin(&b, WIRE_LOG);
    wire_u32(&b, (uint32_t)level);
    wire_str(&b, msg);
    (void)worker_send(w, &b, 0);
    wire_free(&b);
}

/* The open ROWS frame, if any, gets its count and length. */
static void worker_close_rows(worker *w)
{
    size_t at = w->rows_at;

    if (at == SIZE_MAX)
        return;
    w->out.p[at + 5] = (unsigned char)w->rows_n;
    w->out.p[at + 6] = (unsigned char)(w->rows_n >> 8);
    w->out.p[at + 7] = (unsigned char)(w->rows_n >> 16);
    w->out.p[at + 8] = (unsigned char)(w->rows_n >> 24);
    wire_close(&w->out, at);
    w->rows_at = SIZE_MAX;
    w->rows_n = 0;
}

/* Send the batch; under out_mu. */
static void worker_flush(worker *w)
{
    w->out_gen++;
    worker_close_rows(w);
    if (w->out.failed || worker_send(w, &w->out, 1) != 0)
        w->broken = 1;
    w->out.len = 0;
    w->out.failed = 0;
}

/* Before a record is appended: take the batch. */
static void worker_hold(worker *w)
{
    pthread_mutex_lock(&w->out_mu);
    w->was_empty = w->out.len == 0;
}

/* After a record was appended: wake the flusher for a new batch, send the
 * batch when it is big enough, let go of it.  Returns what the sink
 * answers: nonzero to stop. */
static int worker_sent(worker *w)
{
    int broken;

    if (w->was_empty && w->out.len)
        pthread_cond_signal(&w->out_cv);
    if (w->out.len >= WIRE_BATCH)
        worker_flush(w);
    broken = w->broken;
    pthread_mutex_unlock(&w->out_mu);
    if (atomic_load(&w->stop))
        w->refused = 1;
    return broken || w->refused;
}

/* The flusher thread: a batch WORKER_FLUSH_MS old is sent as it is. */
static void *worker_flusher(void *arg)
{
    worker *w = arg;

    pthread_mutex_lock(&w->out_mu);
    for (;;) {
        struct timespec dl;
        uint64_t gen;

        while (!w->out.len)
            pthread_cond_wait(&w->out_cv, &w->out_mu);
        gen = w->out_gen;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += WORKER_FLUSH_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        while (w->out.len && w->out_gen == gen &&
               pthread_cond_timedwait(&w->out_cv, &w->out_mu, &dl) == 0) {
        }
        if (w->out.len && w->out_gen == gen)
            worker_flush(w);
    }
    return NULL;
}

/* A record of `type` (not rows) into the batch: takes the batch and opens
 * the record; worker_record_end() closes it and lets the batch go. */
static size_t worker_record(worker *w, uint8_t type)
{
    worker_hold(w);
    worker_close_rows(w);
    return wire_open(&w->out, type);
}

static int worker_record_end(worker *w, size_t at)
{
    wire_close(&w->out, at);
    return worker_sent(w);
}

static int worker_item(void *user, const dsrc_item *it)
{
    worker *w = user;
    size_t at = worker_record(w, WIRE_ITEM);

    wire_put_item(&w->out, it);
    return worker_record_end(w, at);
}

static int worker_meta(void *user, const dsrc_metadata *md)
{
    worker *w = user;
    size_t at = worker_record(w, WIRE_META);

    wire_put_meta(&w->out, md);
    return worker_record_end(w, at);
}

static int worker_schema(void *user, const dsrc_column *cols, size_t n)
{
    worker *w = user;
    size_t at = worker_record(w, WIRE_SCHEMA);

    wire_put_columns(&w->out, cols, n);
    return worker_record_end(w, at);
}

static int worker_row(void *user, const dsrc_cell *cells, size_t n)
{
    worker *w = user;

    worker_hold(w);
    if (w->rows_at == SIZE_MAX) {
        w->rows_at = wire_open(&w->out, WIRE_ROWS);
        wire_u32(&w->out, 0); /* the count, set by worker_close_rows() */
    }
    wire_put_row(&w->out, cells, n);
    w->rows_n++;
    return worker_sent(w);
}

static int worker_begin(void *user, const char *media_type, int64_t total)
{
    worker *w = user;
    size_t at = worker_record(w, WIRE_BYTES_BEGIN);

    wire_str(&w->out, media_type);
    wire_i64(&w->out, total);
    return worker_record_end(w, at);
}

static int worker_write(void *user, const void *data, size_t len)
{
    worker *w = user;
    const char *p = data;

    do { /* in chunks of at most a batch */
        size_t n = len < WIRE_BATCH ? len : WIRE_BATCH;
        size_t at = worker_record(w, WIRE_BYTES);
        wire_strn(&w->out, p ? p : "", n);
        p += n;
        len -= n;
        if (worker_record_end(w, at))
            return 1;
    } while (len);
    return 0;
}

/* Send the call's result: what the sinks still hold, then RESULT with the
 * status, the error and `extra` (the op's own result), released. */
static void worker_result(worker *w, dsrc_status st, dsrc_error *err, wire_buf *extra)
{
    size_t at;

    pthread_mutex_lock(&w->out_mu);
    worker_close_rows(w);
    at = wire_open(&w->out, WIRE_RESULT);
    wire_put_error(&w->out, st, err);
    wire_u8(&w->out, (uint8_t)w->refused);
    if (extra && extra->len)
        wire_put_raw(&w->out, extra->p, extra->len);
    wire_close(&w->out, at);
    worker_flush(w);
    pthread_mutex_unlock(&w->out_mu);
    if (err->release)
        err->release(err);
}

static void worker_error(dsrc_error *e)
{
    memset(e, 0, sizeof *e);
    e->struct_size = sizeof *e;
}

/* A request of the plugin's to the host (WIRE_SIGN, WIRE_BEARER): send b
 * (freed) and wait for the host's answer, taken over into *reply.  0, or
 * -1 when the host is gone. */
static int worker_ask_host(worker *w, wire_buf *b, wire_buf *reply)
{
    int rc;

    pthread_mutex_lock(&w->mu);
    w->signed_ready = 0;
    pthread_mutex_unlock(&w->mu);
    rc = worker_send(w, b, 0);
    wire_free(b);
    if (rc != 0)
        return -1;
    pthread_mutex_lock(&w->mu);
    while (!w->signed_ready)
        pthread_cond_wait(&w->cv, &w->mu);
    *reply = w->signed_reply; /* taken over */
    memset(&w->signed_reply, 0, sizeof w->signed_reply);
    w->signed_ready = 0;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* host->aws_sign() in a worker: the host, which knows the source and its
 * credentials, signs; the headers come back over the socket. */
static dsrc_status worker_aws_sign(const struct dsrc_ctx *ctx, const dsrc_aws_request *req,
                                   dsrc_error *err)
{
    worker *w = worker_self;
    wire_buf b = {0}, reply = {0};
    wire_rd r;
    dsrc_status st;
    uint32_t n, i;

    (void)ctx;
    if (!w || !req)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "no request to sign");
    wire_begin(&b, WIRE_SIGN);
    wire_put_aws_request(&b, req);
    if (worker_ask_host(w, &b, &reply) != 0)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 1, NULL, "the host is gone");
    memset(&r, 0, sizeof r);
    r.p = reply.p;
    r.len = reply.len;
    st = wire_get_error(&r, err);
    n = wire_get_u32(&r);
    for (i = 0; st == DSRC_OK && !r.bad && i < n; i++) {
        const char *name = wire_get_str(&r, NULL), *value = wire_get_str(&r, NULL);
        if (!r.bad && req->header && req->header(req->user, name ? name : "", value ? value : ""))
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "signing stopped by the plugin");
    }
    if (r.bad && st == DSRC_OK)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "a malformed signature from the host");
    wire_wipe(&reply); /* the session token, if any */
    wire_free(&reply);
    return st;
}

/* host->bearer_token() in a worker: the host, which knows the source and
 * its identity, gets the token; it comes back over the socket and is
 * registered for redaction here too. */
static dsrc_status worker_bearer(const struct dsrc_ctx *ctx, const char *resource, char *buf,
                                 size_t size, int64_t *expires, dsrc_error *err)
{
    worker *w = worker_self;
    wire_buf b = {0}, reply = {0};
    wire_rd r;
    dsrc_status st;
    const char *tok;
    size_t n = 0;
    int64_t exp;

    (void)ctx;
    if (!w || !buf || !size)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "bearer_token: no buffer");
    wire_begin(&b, WIRE_BEARER);
    wire_str(&b, resource);
    wire_i64(&b, (int64_t)size);
    if (worker_ask_host(w, &b, &reply) != 0)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 1, NULL, "the host is gone");
    memset(&r, 0, sizeof r);
    r.p = reply.p;
    r.len = reply.len;
    st = wire_get_error(&r, err);
    tok = wire_get_str(&r, &n);
    exp = wire_get_i64(&r);
    if (r.bad && st == DSRC_OK)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "a malformed token from the host");
    else if (st == DSRC_OK && (!tok || n >= size))
        st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                            "bearer_token: the token needs a buffer of %zu bytes, not %zu",
                            n + 1, size);
    if (st == DSRC_OK) {
        memcpy(buf, tok, n);
        buf[n] = '\0';
        if (expires)
            *expires = exp;
        (void)redact_add(buf);
    }
    wire_wipe(&reply);
    wire_free(&reply);
    return st;
}

/* OPEN: load the plugin, open the connection; the frame is wiped. */
static void worker_open(worker *w, wire_rd *r)
{
    wire_arena a = {0};
    dsrc_open_params p;
    dsrc_error e;
    dsrc_status st;
    const char *path = wire_get_str(r, NULL), *name = wire_get_str(r, NULL);
    loader_plugin *lp = NULL;
    dsrc_conn *conn = NULL;
    derr de = {0};

    worker_error(&e);
    if (wire_get_params(r, &a, &p) != 0 || !path || !name) {
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "malformed open request");
    } else if (w->drv) {
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "open on an open connection");
    } else if (loader_load_file(w->set, path, name, &lp, &de) != DSRC_OK) {
        st = dsrc_error_set(&e, de.status, 0, NULL, "%s", de.msg ? de.msg : "");
        derr_clear(&de);
    } else {
        w->drv = loader_driver(lp);
        w->source = strdup(p.source ? p.source : "");
        w->plugin = strdup(name);
        ctx_init(&w->ctx, w->source, w->plugin, &w->cancel);
        w->ctx.cancel_fd = w->efd;
        w->ctx.aws_sign_fwd = worker_aws_sign;
        w->ctx.bearer_fwd = worker_bearer;
        atomic_store(&w->busy, 1);
        st = w->drv->open(&w->ctx, &p, &conn, &e);
        atomic_store(&w->busy, 0);
        if (st == DSRC_OK)
            atomic_store(&w->conn, conn);
    }
    explicit_bzero((void *)r->p, r->len); /* the secrets */
    wire_arena_free(&a);
    worker_result(w, st, &e, NULL);
}

static void worker_ping(worker *w, wire_buf *x)
{
    dsrc_ping_info info;
    dsrc_error e;
    dsrc_status st;

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    worker_error(&e);
    st = w->drv->ping(&w->ctx, w->conn, &info, &e);
    info.server_version[sizeof info.server_version - 1] = '\0';
    info.endpoint[sizeof info.endpoint - 1] = '\0';
    wire_u32(x, (uint32_t)info.role);
    wire_str(x, info.server_version);
    wire_str(x, info.endpoint);
    wire_u32(x, info.server_cert_not_after);
    worker_result(w, st, &e, x);
}

static void worker_fetch(worker *w, wire_rd *r, wire_buf *x)
{
    wire_arena a = {0};
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    dsrc_row_sink rows = {sizeof rows, w, worker_schema, worker_row};
    dsrc_byte_sink bytes = {sizeof bytes, w, worker_begin, worker_write};
    dsrc_error e;
    dsrc_status st;
    size_t n;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.item = wire_get_str(r, NULL);
    if (wire_get_u8(r)) { /* a column list (else all columns) */
        req.columns = wire_get_strs(r, &a, &n);
        req.n_columns = n;
    } else {
        (void)wire_get_strs(r, &a, &n);
    }
    req.limit = wire_get_i64(r);
    req.cursor_field = wire_get_str(r, NULL);
    req.cursor_value = wire_get_str(r, NULL);
    req.mode = (dsrc_fetch_mode)wire_get_u32(r);
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    worker_error(&e);
    if (r->bad || !req.item)
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "malformed fetch request");
    else
        st = w->drv->fetch(&w->ctx, w->conn, &req, &rows, &bytes, &res, &e);
    res.cursor_max[sizeof res.cursor_max - 1] = '\0';
    wire_u32(x, (uint32_t)res.mode);
    wire_i64(x, (int64_t)res.rows);
    wire_i64(x, (int64_t)res.bytes);
    wire_u8(x, res.has_cursor ? 1 : 0);
    wire_str(x, res.cursor_max);
    wire_arena_free(&a);
    worker_result(w, st, &e, x);
}

static void worker_query(worker *w, wire_rd *r, wire_buf *x)
{
    wire_arena a = {0};
    dsrc_query_req req;
    dsrc_fetch_result res;
    dsrc_row_sink rows = {sizeof rows, w, worker_schema, worker_row};
    dsrc_error e;
    dsrc_status st;
    size_t n;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.text = wire_get_str(r, NULL);
    req.params = wire_get_strs(r, &a, &n);
    req.n_params = n;
    req.limit = wire_get_i64(r);
    req.timeout_ms = wire_get_i64(r);
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    worker_error(&e);
    if (r->bad || !req.text)
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "malformed query request");
    else
        st = w->drv->query(&w->ctx, w->conn, &req, &rows, &res, &e);
    res.cursor_max[sizeof res.cursor_max - 1] = '\0';
    wire_u32(x, (uint32_t)res.mode);
    wire_i64(x, (int64_t)res.rows);
    wire_i64(x, (int64_t)res.bytes);
    wire_u8(x, res.has_cursor ? 1 : 0);
    wire_str(x, res.cursor_max);
    wire_arena_free(&a);
    worker_result(w, st, &e, x);
}

/* One request from the host. */
static int worker_serve(worker *w, wire_rd *r)
{
    dsrc_item_sink items = {sizeof items, w, worker_item};
    dsrc_meta_sink metas = {sizeof metas, w, worker_meta};
    wire_buf x = {0};
    dsrc_error e;
    dsrc_status st;

    w->refused = 0;
    worker_error(&e);
    if (r->type == WIRE_OPEN) {
        worker_open(w, r);
        return 0;
    }
    if (!w->drv || !w->conn) {
        if (r->type == WIRE_CLOSE)
            return 1;
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "no connection is open");
        worker_result(w, st, &e, NULL);
        return 0;
    }
    atomic_store(&w->busy, 1);
    switch (r->type) {
    case WIRE_CLOSE:
        atomic_store(&w->busy, 0);
        w->drv->close(atomic_exchange(&w->conn, NULL));
        worker_result(w, DSRC_OK, &e, NULL);
        return 1;
    case WIRE_PING:
        worker_ping(w, &x);
        break;
    case WIRE_LIST: {
        const char *path = wire_get_str(r, NULL);
        st = w->drv->list(&w->ctx, w->conn, path ? path : "", &items, &e);
        worker_result(w, st, &e, NULL);
        break;
    }
    case WIRE_DESCRIBE: {
        const char *item = wire_get_str(r, NULL);
        st = w->drv->describe(&w->ctx, w->conn, item ? item : "", &metas, &e);
        worker_result(w, st, &e, NULL);
        break;
    }
    case WIRE_DISCOVER: {
        dsrc_discover_req req;
        dsrc_discover_result res;
        memset(&req, 0, sizeof req);
        memset(&res, 0, sizeof res);
        req.struct_size = sizeof req;
        res.struct_size = sizeof res;
        res.queries = -1;
        req.path = wire_get_str(r, NULL);
        req.include_system = wire_get_u8(r);
        req.mode = (dsrc_discover_mode)wire_get_u32(r);
        req.result = &res;
        st = w->drv->discover(&w->ctx, w->conn, &req, &metas, &e);
        wire_i64(&x, res.queries);
        worker_result(w, st, &e, &x);
        break;
    }
    case WIRE_FETCH:
        worker_fetch(w, r, &x);
        break;
    case WIRE_QUERY:
        worker_query(w, r, &x);
        break;
    case WIRE_STORAGE: {
        dsrc_storage_info info = {sizeof info, -1, -1, -1};
        st = w->drv->storage(&w->ctx, w->conn, &info, &e);
        wire_i64(&x, info.used_bytes);
        wire_i64(&x, info.free_bytes);
        wire_i64(&x, info.items);
        worker_result(w, st, &e, &x);
        break;
    }
    default:
        st = dsrc_error_set(&e, DSRC_E_INTERNAL, 0, NULL, "unknown request %u",
                            (unsigned)r->type);
        worker_result(w, st, &e, NULL);
        break;
    }
    atomic_store(&w->busy, 0);
    wire_free(&x);
    return 0;
}

/* The driver's cancel() of the running call, off the reader thread. */
static void *worker_cancel_thread(void *arg)
{
    worker *w = arg;
    dsrc_conn *conn = atomic_load(&w->conn);

    if (conn && atomic_load(&w->busy))
        w->drv->cancel(conn);
    return NULL;
}

/* The reader thread: cancellations and sink refusals take effect at once;
 * requests go to the main thread.  The host gone: the process ends. */
static void *worker_reader(void *arg)
{
    worker *w = arg;
    wire_buf in = {0};
    wire_rd r;
    static const uint64_t one = 1;
    uint64_t drain;
    dsrc_conn *conn;
    int precancel = 0;

    for (;;) {
        if (wire_recv(w->fd, &in, &r) <= 0)
            _exit(0);
        if (r.type == WIRE_CANCEL) {
            atomic_store(&w->cancel, 1);
            if (write(w->efd, &one, sizeof one) < 0) { /* already readable */
            }
            if ((conn = atomic_load(&w->conn)) && atomic_load(&w->busy) && w->drv) {
                /* in a thread of its own: a cancel() that hangs must not
                 * stop this thread from seeing the host go (then the
                 * process ends) */
                pthread_t ct;
                if (pthread_create(&ct, NULL, worker_cancel_thread, w) == 0)
                    pthread_detach(ct);
                else
                    w->drv->cancel(conn);
            }
            continue;
        }
        if (r.type == WIRE_STOP) {
            atomic_store(&w->stop, 1);
            continue;
        }
        if (r.type == WIRE_SIGNED || r.type == WIRE_BEARER_TOKEN) {
            /* the answer to the plugin's aws_sign(), for the main thread */
            pthread_mutex_lock(&w->mu);
            w->signed_reply.len = 0;
            w->signed_reply.failed = 0;
            wire_put_raw(&w->signed_reply, r.p, r.len);
            w->signed_ready = 1;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
            explicit_bzero((void *)r.p, r.len);
            continue;
        }
        if (r.type == WIRE_PRECANCEL) {
            precancel = 1;
            continue;
        }
        pthread_mutex_lock(&w->mu);
        while (w->req.len)
            pthread_cond_wait(&w->cv, &w->mu);
        /* Each call starts uncancelled, its sinks willing: a CANCEL or
         * STOP of the call before came before this request; the host
         * sends CANCEL again after it for a connection still cancelled. */
        atomic_store(&w->stop, 0);
        atomic_store(&w->cancel, precancel);
        while (read(w->efd, &drain, sizeof drain) > 0) {
        }
        /* a call cancelled before it was sent starts cancelled: the flag
         * and the descriptor say so before the plugin is called */
        if (precancel && write(w->efd, &one, sizeof one) < 0) { /* already readable */
        }
        precancel = 0;
        w->req.len = 0;
        w->req.failed = 0;
        wire_u8(&w->req, r.type);
        wire_put_raw(&w->req, r.p, r.len);
        explicit_bzero((void *)r.p, r.len);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WORKER_SANITIZED 1
#else
#define WORKER_SANITIZED 0
#endif

/* isolation_memory_max: the data the worker may map (RLIMIT_DATA counts
 * the heap and private writable mappings, not the libraries' text), so
 * that a plugin allocating without bound fails here, alone. */
static void worker_limit_memory(void)
{
    const char *v = getenv(ISOLATE_ENV_MEMORY);
    long long n = v ? strtoll(v, NULL, 10) : 0;
    struct rlimit rl;

    if (n <= 0 || WORKER_SANITIZED)
        return;
    rl.rlim_cur = rl.rlim_max = (rlim_t)n;
    (void)setrlimit(RLIMIT_DATA, &rl);
}

/* The system calls a plugin has no business making: they act on the
 * system, other processes or the kernel rather than on the plugin's own
 * connections and files.  Each fails with EPERM once the filter is on. */
static const char *const worker_denied[] = {
    /* other processes' memory and tracing */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    /* namespaces, mounts, the root */
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    /* the kernel: modules, BPF, perf, keyrings, kexec, reboot */
    "init_module", "finit_module", "delete_module", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "lookup_dcookie",
    "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "vhangup",
    /* the clock and the host's names */
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "personality", NULL
};

/* isolation_syscall_filter: a seccomp filter that lets everything through
 * but worker_denied (EPERM), clone() with a namespace flag (EPERM) and
 * clone3() (ENOSYS: its flags are in memory a filter cannot read, and the
 * C library falls back on clone()).  Set after no_new_privs, so that the
 * plugin cannot lift it.  Builds with a sanitizer keep ptrace: the leak
 * checker stops the process with it at exit.  0, or -1 when the filter
 * cannot be set (the worker then refuses to serve: a plugin is never run
 * without the filter it was promised). */
static int worker_filter_syscalls(derr *e)
{
    static const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP};
    const char *v = getenv(ISOLATE_ENV_FILTER);
    const lazy_seccomp_api *sc;
    scmp_filter_ctx f;
    size_t i;
    int rc = 0, nr;

    if (v && strcmp(v, "0") == 0)
        return 0;
    if (!(sc = lazy_seccomp(e)))
        return -1;
    if (!(f = sc->init(SCMP_ACT_ALLOW)))
        return -1;
    for (i = 0; worker_denied[i] && rc == 0; i++) {
        if (WORKER_SANITIZED && strcmp(worker_denied[i], "ptrace") == 0)
            continue;
        nr = sc->syscall_resolve_name(worker_denied[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        rc = sc->rule_add(f, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    for (i = 0; i < sizeof ns_flags / sizeof *ns_flags && rc == 0; i++)
        rc = sc->rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
    nr = sc->syscall_resolve_name("clone3");
    if (rc == 0 && nr != __NR_SCMP_ERROR)
        rc = sc->rule_add(f, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (rc == 0)
        rc = sc->load(f);
    sc->release(f);
    return rc == 0 ? 0 : -1;
}

int isolate_worker_main(int argc, char **argv)
{
    static worker w;
    pthread_t t;
    wire_rd r;
    int done = 0;

    if (argc < 2 || strcmp(argv[1], ISOLATE_WORKER_ARG) != 0) {
        isolate_allow_workers();
        return -1;
    }
    /* Hardening: no privileges to gain, no core dump or ptrace by others,
     * nothing open but the host's socket and the standard descriptors. */
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    worker_limit_memory();
    {
        derr fe = {0};
        if (worker_filter_syscalls(&fe) != 0) {
            fprintf(stderr, "dsrc-plugin-worker: cannot set the system call filter%s%s\n",
                    fe.msg ? ": " : "", fe.msg ? fe.msg : "");
            derr_clear(&fe);
            return 70;
        }
    }
    closefrom(WORKER_FD + 1);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    memset(&w, 0, sizeof w);
    w.fd = WORKER_FD;
    w.rows_at = SIZE_MAX;
    w.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w.send_mu, NULL);
    pthread_mutex_init(&w.out_mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w.out_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    atomic_init(&w.cancel, 0);
    atomic_init(&w.stop, 0);
    atomic_init(&w.busy, 0);
    log_init("dsrc-worker", LOG_TARGET_STDERR, DSRC_LOG_DEBUG);
    worker_self = &w;
    log_set_forward(worker_log);
    if (!(w.set = loader_new(NULL, 0)) || pthread_create(&t, NULL, worker_reader, &w) != 0)
        return 70;
    pthread_detach(t);
    if (pthread_create(&t, NULL, worker_flusher, &w) != 0)
        return 70;
    pthread_detach(t);
    while (!done) {
        pthread_mutex_lock(&w.mu);
        while (!w.req.len)
            pthread_cond_wait(&w.cv, &w.mu);
        r.type = w.req.p[0];
        r.p = w.req.p + 1;
        r.len = w.req.len - 1;
        r.off = 0;
        r.bad = 0;
        pthread_mutex_unlock(&w.mu);
        done = worker_serve(&w, &r);
        pthread_mutex_lock(&w.mu);
        explicit_bzero(w.req.p, w.req.len);
        w.req.len = 0;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.mu);
        if (w.broken)
            break;
    }
    /* A clean end: the plugin's unload() runs (it does not when killed). */
    log_set_forward(NULL);
    worker_self = NULL;
    loader_free(w.set);
    return 0;
}

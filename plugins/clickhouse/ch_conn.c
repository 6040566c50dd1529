/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_conn.c -- the connection of the clickhouse plugin: one libcurl easy
 * handle (keep-alive) to the server's HTTP interface, the options and TLS
 * settings it was opened with, and one query: the statement POSTed as the
 * body, the user and password as X-ClickHouse-User / X-ClickHouse-Key
 * headers (never in the URL), the default database and a query id of the
 * plugin's own as URL parameters, the answer streamed to a callback.
 */
#include "ch.h"
#include "../common/dsrc_curl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The longest a KILL QUERY may take: after a failed transfer, and after a
 * cancelled one (whose call must return at once). */
#define CH_KILL_MS 3000L
#define CH_KILL_CANCELLED_MS 500L

static void ch_free_secret(char **p)
{
    if (*p) {
        dsrc_wipe(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void ch_close(dsrc_conn *c)
{
    if (!c)
        return;
    dsrc_curl_free(c->multi, c->curl);
    ch_free_secret(&c->password);
    ch_free_secret(&c->tls_key_pass);
    free(c->source);
    free(c->base);
    free(c->user);
    free(c->database);
    free(c->tls_ca);
    free(c->tls_cert);
    free(c->tls_key);
    free(c);
}

dsrc_status ch_validate(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_error *err)
{
    (void)ctx;
    if ((params->tls_cert && *params->tls_cert) != (params->tls_key && *params->tls_key))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "tls: cert and key go together (a client certificate needs its"
                              " key)");
    return DSRC_OK;
}

/* The TLS mode the connection uses: the host's (NULL from a 1.0 host: its
 * rule by location).  ClickHouse serves https on a port of its own
 * (https_port), so "prefer" cannot fall back on one port: it is plain
 * HTTP on the port given, as "disable".  A cloud or hybrid source never
 * talks plain text: disable and prefer are configuration errors there.
 * NULL with `err` set for a mode not known or not allowed. */
static const char *ch_tls_mode(const dsrc_open_params *p, dsrc_error *err)
{
    static const char *const modes[] = {"disable", "prefer", "require", "verify-ca",
                                        "verify-full"};
    int hosted = p->location == DSRC_LOC_CLOUD || p->location == DSRC_LOC_HYBRID;
    size_t i;

    if (!p->tls_mode)
        return p->tls_ca || hosted ? "verify-full" : "prefer";
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(p->tls_mode, modes[i]) == 0)
            break;
    if (i == sizeof modes / sizeof modes[0]) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                       "tls.mode '%s' is not one of disable, prefer, require, verify-ca, "
                       "verify-full", p->tls_mode);
        return NULL;
    }
    if (hosted && i <= 1) {
        dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                       "tls.mode '%s' is not allowed for a %s source: it would send the "
                       "password and the data in plain text; use require or verify-full",
                       p->tls_mode, p->location == DSRC_LOC_CLOUD ? "cloud" : "hybrid");
        return NULL;
    }
    return modes[i];
}

/* Apply the connection's fixed settings to an easy handle (the query's
 * own or the one KILL QUERY uses). */
static void ch_curl_setup(const dsrc_conn *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->tls ? "https" : "http");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (c->tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, (long)c->verify_peer);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify_host ? 2L : 0L);
        if (c->tls_ca)
            curl_easy_setopt(h, CURLOPT_CAINFO, c->tls_ca);
        if (c->tls_cert)
            curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls_cert);
        if (c->tls_key)
            curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls_key);
        if (c->tls_key_pass)
            curl_easy_setopt(h, CURLOPT_KEYPASSWD, c->tls_key_pass);
    }
}

dsrc_status ch_open(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_conn **out,
                    dsrc_error *err)
{
    dsrc_conn *c;
    const char *host = dsrc_opt(params, "host"), *mode;
    int64_t port, cto, qto;
    dsrc_buf b = {0};
    int v6;

    (void)ctx;
    *out = NULL;
    if (!host)
        host = "localhost";
    if (dsrc_opt_int(params, "port", 8123, 1, 65535, &port) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'port' must be a whole number in 1..65535");
    if (dsrc_opt_int(params, "connect_timeout", 10000, 1, INT32_MAX, &cto) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'connect_timeout' must be a positive duration");
    if (dsrc_opt_int(params, "query_timeout", 0, 0, INT32_MAX, &qto) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'query_timeout' must be a duration");
    if (!(mode = ch_tls_mode(params, err)))
        return err->status;
    if (strpbrk(host, "/?#@ \t\r\n"))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'host' must be a host name or an address, not '%s'",
                              host);
    if (!(c = calloc(1, sizeof *c)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    c->connect_timeout_ms = (long)cto;
    c->query_timeout_ms = (long)qto;
    c->tls = strcmp(mode, "disable") != 0 && strcmp(mode, "prefer") != 0;
    c->verify_peer = strcmp(mode, "verify-ca") == 0 || strcmp(mode, "verify-full") == 0;
    c->verify_host = strcmp(mode, "verify-full") == 0;
    v6 = strchr(host, ':') && host[0] != '[';
    dsrc_buf_printf(&b, "%s://%s%s%s:%" PRId64 "/", c->tls ? "https" : "http", v6 ? "[" : "",
                    host, v6 ? "]" : "", port);
    snprintf(c->hostport, sizeof c->hostport, "%s%s%s:%" PRId64, v6 ? "[" : "", host,
             v6 ? "]" : "", port);
    c->base = b.s;
    c->source = dsrc_strdup(params->source ? params->source : "");
    c->user = dsrc_strdup(dsrc_opt(params, "user") ? dsrc_opt(params, "user") : "default");
    c->database = dsrc_strdup(dsrc_opt(params, "database") ? dsrc_opt(params, "database")
                                                           : "default");
    if (dsrc_opt(params, "password"))
        c->password = dsrc_strdup(dsrc_opt(params, "password"));
    if (c->tls) {
        c->tls_ca = dsrc_strdup(params->tls_ca);
        c->tls_cert = dsrc_strdup(params->tls_cert);
        c->tls_key = dsrc_strdup(params->tls_key);
        c->tls_key_pass = dsrc_strdup(params->tls_key_passphrase);
    }
    c->curl = curl_easy_init();
    if (b.failed || !c->base || !c->source || !c->user || !c->database || !c->curl ||
        (dsrc_opt(params, "password") && !c->password)) {
        ch_close(c);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    ch_curl_setup(c, c->curl);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    if (c->query_timeout_ms)
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->query_timeout_ms);
    *out = c;
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* One exchange                                                              */

static size_t ch_on_body(char *data, size_t size, size_t n, void *user)
{
    ch_resp *r = user;
    size_t len = size * n;

    if (r->status < 200 || r->status >= 300) {
        if (r->errbody.len + len <= CH_ERRBODY_MAX)
            dsrc_buf_addn(&r->errbody, data, len);
        return len;
    }
    if (r->body && len && r->body(r->user, data, len) != 0) {
        r->stopped = 1;
        return 0;
    }
    return len;
}

static size_t ch_on_header(char *data, size_t size, size_t n, void *user)
{
    ch_resp *r = user;
    size_t len = size * n;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    }
    return len;
}

/* A header line "Name: value" appended to `h` (the value may be a secret:
 * the line is wiped before it is freed). */
static struct curl_slist *ch_header(struct curl_slist *h, const char *name, const char *value,
                                    int *failed)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    struct curl_slist *r;

    if (!line) {
        *failed = 1;
        return h;
    }
    snprintf(line, n, "%s: %s", name, value);
    r = curl_slist_append(h, line);
    dsrc_wipe(line, n);
    free(line);
    if (!r) {
        *failed = 1;
        return h;
    }
    return r;
}

static void ch_slist_free_wiped(struct curl_slist *h)
{
    struct curl_slist *p;

    for (p = h; p; p = p->next)
        dsrc_wipe(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* The URL of a query: the base, the database and query id parameters. */
static char *ch_url(CURL *h, const dsrc_conn *c, const char *database, const char *query_id,
                    const char *args)
{
    dsrc_buf u = {0};
    char *db = curl_easy_escape(h, database, 0);

    dsrc_buf_add(&u, c->base);
    if (db) {
        dsrc_buf_add(&u, "?database=");
        dsrc_buf_add(&u, db);
        curl_free(db);
    } else {
        u.failed = 1;
    }
    if (query_id) {
        dsrc_buf_add(&u, "&query_id=");
        dsrc_buf_add(&u, query_id);
    }
    if (c->query_timeout_ms)
        dsrc_buf_printf(&u, "&max_execution_time=%ld", (c->query_timeout_ms + 999) / 1000);
    if (args)
        dsrc_buf_add(&u, args);
    if (u.failed) {
        dsrc_buf_free(&u);
        return NULL;
    }
    return u.s;
}

/* The headers every request carries: the credentials. */
static struct curl_slist *ch_auth_headers(const dsrc_conn *c, int *failed)
{
    struct curl_slist *h = NULL;

    h = ch_header(h, "X-ClickHouse-User", c->user, failed);
    if (c->password)
        h = ch_header(h, "X-ClickHouse-Key", c->password, failed);
    h = ch_header(h, "Content-Type", "text/plain; charset=utf-8", failed);
    h = curl_slist_append(h, "Expect:");
    if (!h)
        *failed = 1;
    return h;
}

static size_t ch_discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* Ask the server to stop the query `query_id` (best effort: a request of
 * at most `timeout_ms` on a handle of its own; its outcome is only
 * logged). */
static void ch_kill_query(const dsrc_ctx *ctx, const dsrc_conn *c, const char *query_id,
                          long timeout_ms)
{
    CURL *h;
    struct curl_slist *hd;
    char *url;
    dsrc_buf q = {0};
    int failed = 0;
    CURLcode cc;

    if (!query_id[0] || !(h = curl_easy_init()))
        return;
    ch_curl_setup(c, h);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    hd = ch_auth_headers(c, &failed);
    url = ch_url(h, c, "system", NULL, NULL);
    dsrc_buf_add(&q, "KILL QUERY WHERE query_id = ");
    ch_buf_literal(&q, query_id);
    dsrc_buf_add(&q, " ASYNC");
    if (!failed && url && !q.failed) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q.s);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)q.len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ch_discard);
        cc = curl_easy_perform(h);
        if (cc != CURLE_OK && ch_host && ch_host->log)
            ch_host->log(ctx, DSRC_LOG_WARNING,
                         "could not ask %s to stop query %s: %s", c->hostport, query_id,
                         curl_easy_strerror(cc));
    }
    free(url);
    dsrc_buf_free(&q);
    ch_slist_free_wiped(hd);
    curl_easy_cleanup(h);
}

typedef struct ch_progress {
    const dsrc_ctx *ctx;
    dsrc_conn *c;
} ch_progress;

/* The call was cancelled: by ch_cancel() or by the host. */
static int ch_stopped(void *user)
{
    ch_progress *p = user;
    return atomic_load(&p->c->cancel_flag) || dsrc_cancelled(ch_host, p->ctx);
}

static int ch_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                          curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return ch_stopped(user);
}

/* One exchange on c->curl: GET `url` (`sql` NULL) or POST `sql` to it,
 * with the headers `hd`; the outcome in `r`.  A transfer that did not end
 * well asks the server to stop the query `query_id` (when not NULL). */
static void ch_exchange(const dsrc_ctx *ctx, dsrc_conn *c, const char *url, const char *sql,
                        struct curl_slist *hd, const char *query_id, ch_resp *r)
{
    ch_progress pg = {ctx, c};

    c->curl_err[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hd);
    if (sql) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, sql);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(sql));
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, ch_on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, ch_on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, ch_on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, &pg);
    /* Through the connection's multi handle: the wait is on the transfer
     * and on the host's cancel descriptor, so a cancel stops it at once
     * even while the server does not answer. */
    r->cc = dsrc_curl_perform(&c->multi, c->curl, dsrc_cancel_fd(ch_host, ctx), ch_stopped, &pg);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, NULL);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    /* The server may still be running the query: ask it to stop.  A
     * cancelled call must return at once, so its KILL is a short one (a
     * server that does not answer must not hold up the cancel). */
    if (r->cc != CURLE_OK && query_id && !(r->cc == CURLE_WRITE_ERROR && !r->stopped))
        ch_kill_query(ctx, c, query_id,
                      r->cc == CURLE_ABORTED_BY_CALLBACK ? CH_KILL_CANCELLED_MS : CH_KILL_MS);
    /* After a broken transfer the connection's state is unknown: a fresh
     * one next time. */
    curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, r->cc != CURLE_OK ? 1L : 0L);
    curl_easy_setopt(c->curl, CURLOPT_FORBID_REUSE, r->cc != CURLE_OK ? 1L : 0L);
}

dsrc_status ch_query(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, ch_body_fn body,
                     void *user, const char *what, dsrc_error *err)
{
    return ch_query_args(ctx, c, sql, NULL, body, user, what, err);
}

dsrc_status ch_query_args(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, const char *args,
                          ch_body_fn body, void *user, const char *what, dsrc_error *err)
{
    static atomic_uint seq;
    ch_resp r;
    struct curl_slist *hd;
    char *url;
    int failed = 0;
    dsrc_status st = DSRC_OK;

    if (atomic_exchange(&c->cancel_flag, 0) || dsrc_cancelled(ch_host, ctx))
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
    memset(&r, 0, sizeof r);
    r.body = body;
    r.user = user;
    snprintf(c->query_id, sizeof c->query_id, "dsrc-%ld-%ld-%u", (long)getpid(),
             (long)time(NULL), atomic_fetch_add(&seq, 1u));
    hd = ch_auth_headers(c, &failed);
    url = ch_url(c->curl, c, c->database, c->query_id, args);
    if (failed || !url)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
    else
        ch_exchange(ctx, c, url, sql, hd, c->query_id, &r);
    if (st == DSRC_OK && (r.cc != CURLE_OK || r.status < 200 || r.status >= 300))
        st = ch_fail(c, &r, what, err);
    ch_slist_free_wiped(hd);
    free(url);
    dsrc_buf_free(&r.errbody);
    c->query_id[0] = '\0';
    atomic_store(&c->cancel_flag, 0);
    return st;
}

static int ch_collect(void *user, const char *data, size_t len)
{
    dsrc_buf *b = user;

    dsrc_buf_addn(b, data, len);
    return b->failed;
}

dsrc_status ch_query_text(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, dsrc_buf *out,
                          const char *what, dsrc_error *err)
{
    dsrc_status st;

    dsrc_buf_reset(out);
    dsrc_buf_addn(out, "", 0);
    st = ch_query(ctx, c, sql, ch_collect, out, what, err);
    if (st == DSRC_OK && out->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
    if (st == DSRC_OK && ch_parse_exception(out->s, out->len, NULL, 0) >= 0) {
        ch_resp r;
        memset(&r, 0, sizeof r);
        r.status = 500;
        r.errbody = *out;
        return ch_fail(c, &r, what, err);
    }
    return st;
}

int ch_lines_feed(void *lines, const char *data, size_t len)
{
    ch_lines *l = lines;
    size_t start = 0, i;

    dsrc_buf_addn(&l->pending, data, len);
    if (l->pending.failed)
        return 1;
    for (i = l->pending.len - len; i < l->pending.len; i++) {
        if (l->pending.s[i] != '\n')
            continue;
        l->pending.s[i] = '\0';
        if (l->fn(l->user, l->pending.s + start, i - start) != 0) {
            l->stopped = 1;
            return 1;
        }
        start = i + 1;
    }
    if (start) {
        memmove(l->pending.s, l->pending.s + start, l->pending.len - start);
        l->pending.len -= start;
        l->pending.s[l->pending.len] = '\0';
    }
    return 0;
}

int ch_lines_end(ch_lines *l)
{
    int rc = 0;

    if (!l->stopped && l->pending.len && l->fn(l->user, l->pending.s, l->pending.len) != 0)
        rc = l->stopped = 1;
    dsrc_buf_free(&l->pending);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* ping, cancel                                                              */

dsrc_status ch_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info, dsrc_error *err)
{
    dsrc_buf out = {0};
    dsrc_status st;
    ch_resp r;
    char *url;

    /* /ping answers "Ok." without credentials: the server is there. */
    memset(&r, 0, sizeof r);
    url = malloc(strlen(c->base) + 5);
    if (!url)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    snprintf(url, strlen(c->base) + 5, "%sping", c->base);
    ch_exchange(ctx, c, url, NULL, NULL, NULL, &r);
    free(url);
    if (r.cc != CURLE_OK || r.status != 200) {
        st = ch_fail(c, &r, "ping", err);
        dsrc_buf_free(&r.errbody);
        return st;
    }
    dsrc_buf_free(&r.errbody);
    /* ...and a query: the credentials work. */
    st = ch_query_text(ctx, c, "SELECT version() FORMAT TabSeparated", &out, "ping", err);
    if (st == DSRC_OK && info) {
        size_t n = out.s ? strcspn(out.s, "\r\n") : 0;
        info->role = DSRC_ROLE_STANDALONE;
        snprintf(info->server_version, sizeof info->server_version, "ClickHouse %.*s",
                 (int)(n < 40 ? n : 40), out.s ? out.s : "");
        snprintf(info->endpoint, sizeof info->endpoint, "%.127s", c->hostport);
    }
    dsrc_buf_free(&out);
    return st;
}

/* From another thread: only the flag.  The call's own wait sees it (after
 * the host's cancel descriptor, at once; else within its poll of at most
 * 1 s) and sends the KILL QUERY itself (ch_exchange()): a server that does
 * not answer can hold up neither this nor the call's return for long. */
dsrc_status ch_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel_flag, 1);
    return DSRC_OK;
}

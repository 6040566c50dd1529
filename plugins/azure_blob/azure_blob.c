/* SPDX-License-Identifier: Apache-2.0 */
/*
 * azure_blob.c -- the Azure Blob Storage connector over the Blob service
 * REST API (libcurl for HTTP, expat for XML, OpenSSL for signing and MD5).
 *
 * Items:
 *   ""                       the account's containers (List Containers)
 *   "container"              a container: its blobs and virtual directories
 *   "container/dir/"         blobs and directories under a prefix ('/' is the
 *                            delimiter; a trailing '/' is optional)
 *   "container/dir/blob"     a blob: describe() reads its properties, fetch()
 *                            streams its bytes
 * A blob name's '/' are its hierarchy and stay as they are in a path; its
 * '%' are written %25 (<dsrc/plugin_util.h>; container names hold neither).
 * With the `container` option set, paths are relative to that container
 * and the root lists its blobs.
 *
 * Auth: Shared Key (account_key, or AccountKey of connection_string) signs
 * every request; else a SAS token is appended to every URL; else, for a
 * source with cloud.provider = "azure", a Microsoft Entra ID bearer token
 * (client credentials or managed identity, cached per connection until 5
 * minutes before expiry); else requests are anonymous (public containers).
 *
 * fetch with a cursor field ("last_modified") on a container or prefix:
 * the blobs modified after the cursor, as rows (name, size, etag,
 * last_modified, content_md5) in (last_modified, name) order; the cursor
 * is "<last_modified> <blob name>".  Last-Modified counts whole seconds, so
 * only the blobs of seconds that ended before the listing began (the first
 * page's Date) are delivered: the cursor never passes a second that may
 * still gain blobs, and those of the current second wait for the next
 * fetch.
 *
 * fetch (raw bytes; for DSRC_FETCH_RAW and DSRC_FETCH_CSV alike): Get Blob
 * Properties, then Get Blob in ranges of range_size bytes pinned to the
 * blob's ETag (If-Match), each written straight to the byte sink, so memory
 * stays flat.  A dropped connection, a timeout, 500, 503 or 429 is retried
 * from the last byte received, at most max_retries times in a row with
 * exponential backoff (Retry-After is honoured, capped).  When the blob has
 * a Content-MD5 the bytes are
 * verified against it; a mismatch is an error.
 *
 * Errors: backend_code is the HTTP status ("403", "404", ...) or, for a
 * transport failure, "curl-N" ("tls" for certificate and handshake
 * failures); the service's x-ms-error-code is in the message.  No key, SAS
 * or signature ever reaches a message: URLs are never printed, and the
 * service's message is cut to its first line and dropped when it contains
 * a credential.
 */
#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <curl/curl.h>
#include <expat.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>

#include "az_sign.h"

DSRC_PLUGIN_ABI();

#define AZ_VERSION "1.0.0"
#define AZ_ERRBODY_MAX 8192
#define AZ_TEXT_MAX 65536
#define AZ_RETRY_AFTER_MAX 60
#define AZ_TOKEN_MARGIN 300      /* refresh a token this long before expiry */
#define AZ_TOKEN_BODY_MAX 65536
#define AZ_STORAGE_SCOPE "https://storage.azure.com/.default"
#define AZ_STORAGE_RESOURCE "https://storage.azure.com/"

static const dsrc_host *az_host;

struct dsrc_conn {
    CURL *curl;
    char *account;
    char *key;               /* base64 account key or NULL (secret)         */
    char *sas;               /* SAS query without '?' or NULL (secret)      */
    char *origin;            /* "https://host[:port]"                        */
    char *base_path;         /* "" or "/devstoreaccount1" (path-style)      */
    char *container;         /* fixed container or NULL                      */
    char *api_version;
    char hostport[128];
    long page_size;
    long range_size;
    long max_retries;
    long backoff_ms;
    /* Microsoft Entra ID (cloud.provider = "azure") */
    int bearer;              /* 1: requests carry Authorization: Bearer      */
    int msi;                 /* 1: managed identity (IMDS), else client
                                credentials                                 */
    char *tenant;
    char *client_id;
    char *client_secret;     /* secret                                       */
    char *token_url;         /* the token endpoint (without query)           */
    char *token;             /* cached access token (secret) or NULL         */
    int64_t token_exp;       /* its expiry, seconds since the epoch          */
    atomic_int cancel;
    const dsrc_ctx *ctx;     /* the call running now                        */
    char curl_err[CURL_ERROR_SIZE];
};

static const dsrc_option az_options[] = {
    {"account", DSRC_OPT_STRING, 0, NULL, NULL,
     "storage account name (or AccountName of connection_string)", {NULL, NULL}},
    {"endpoint", DSRC_OPT_STRING, 0, NULL, NULL,
     "Blob service URL; default https://<account>.blob.core.windows.net "
     "(path-style such as http://127.0.0.1:10000/devstoreaccount1 works)", {NULL, NULL}},
    {"container", DSRC_OPT_STRING, 0, NULL, NULL,
     "restrict the source to this container (paths become relative to it)", {NULL, NULL}},
    {"connection_string", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "storage connection string (AccountName, AccountKey, BlobEndpoint, "
     "SharedAccessSignature, DefaultEndpointsProtocol, EndpointSuffix)", {NULL, NULL}},
    {"account_key", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "account key (base64) for Shared Key authorization", {NULL, NULL}},
    {"sas_token", DSRC_OPT_STRING, DSRC_OPT_SECRET, NULL, NULL,
     "shared access signature query string, appended to every request", {NULL, NULL}},
    {"page_size", DSRC_OPT_INT, 0, "5000", NULL,
     "items per List request (1..5000)", {NULL, NULL}},
    {"range_size", DSRC_OPT_INT, 0, "33554432", NULL,
     "bytes per ranged Get Blob request during fetch (65536..268435456)", {NULL, NULL}},
    {"max_retries", DSRC_OPT_INT, 0, "4", NULL,
     "retries in a row of one fetch range after a transient failure (0..20)", {NULL, NULL}},
    {"retry_backoff", DSRC_OPT_DURATION, 0, "250ms", NULL,
     "first wait before a fetch retry; doubles on each retry (capped at 8s)", {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "time limit for establishing a connection", {NULL, NULL}},
    {"timeout", DSRC_OPT_DURATION, 0, "5m", NULL,
     "time limit for one HTTP request (one list page, one fetch range)", {NULL, NULL}},
    {"api_version", DSRC_OPT_STRING, 0, AZ_API_VERSION, NULL,
     "Blob service version sent as x-ms-version", {NULL, NULL}},
    DSRC_OPTION_END
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static void az_free_secret(char *s)
{
    az_wipe(s);
    free(s);
}

static int az_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (c && atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(az_host, ctx);
}

static void az_log(const dsrc_ctx *ctx, dsrc_log_level lvl, const char *fmt, const char *a,
                   const char *b)
{
    if (az_host && az_host->log)
        az_host->log(ctx, lvl, fmt, a, b);
}



/* "2024-01-31T12:00:00Z" from seconds since the epoch. */
static void az_iso(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || !gmtime_r(&tt, &tm)) {
        snprintf(buf, cap, "%s", "");
        return;
    }
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------------ */
/* One HTTP exchange                                                         */

typedef enum az_body {
    AZ_BODY_NONE = 0, /* HEAD, or a body that is not wanted                  */
    AZ_BODY_XML,      /* a listing, fed to an expat parser                   */
    AZ_BODY_SINK      /* blob bytes, to the fetch state                      */
} az_body;

struct az_fst;

/* What came back from one request. */
typedef struct az_resp {
    long status;
    CURLcode cc;
    char error_code[96];     /* x-ms-error-code (or <Code> of the body)      */
    char message[256];       /* first line of <Message>                      */
    char content_type[256];
    char content_md5[64];
    char etag[128];
    char last_modified[64];
    char creation_time[64];
    char date[64];           /* Date: the service's clock                    */
    char blob_type[32];
    char content_encoding[64];
    char access_tier[32];
    char lease_state[32];
    char server[64];
    int64_t content_length;
    long retry_after;        /* seconds; -1 none                             */
    dsrc_kv *meta;           /* x-ms-meta-*: malloc'd names and values       */
    size_t n_meta;
    int meta_failed;
    /* body handling */
    az_body body;
    XML_Parser xp;
    struct az_fst *fetch;
    dsrc_buf errbody;
    int stopped;             /* a sink asked to stop                         */
    int xml_bad;
} az_resp;

static void az_resp_clear_meta(az_resp *r)
{
    size_t i;
    for (i = 0; i < r->n_meta; i++) {
        free((char *)r->meta[i].key);
        free((char *)r->meta[i].value);
    }
    free(r->meta);
    r->meta = NULL;
    r->n_meta = 0;
}

static void az_resp_free(az_resp *r)
{
    az_resp_clear_meta(r);
    free(r->errbody.s);
    memset(&r->errbody, 0, sizeof r->errbody);
}

static void az_copy_header(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t az_on_header(char *data, size_t size, size_t n, void *user)
{
    az_resp *r = user;
    size_t len = size * n, nlen, vlen;
    const char *colon, *v;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or 100 Continue): start over */
        struct az_fst *f = r->fetch;
        az_body body = r->body;
        XML_Parser xp = r->xp;
        dsrc_buf eb = r->errbody;
        const char *sp = memchr(data, ' ', len);
        az_resp_clear_meta(r);
        memset(r, 0, sizeof *r);
        r->fetch = f;
        r->body = body;
        r->xp = xp;
        r->errbody = eb;
        dsrc_buf_reset(&r->errbody);
        r->content_length = -1;
        r->retry_after = -1;
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    colon = memchr(data, ':', len);
    if (!colon)
        return len;
    nlen = (size_t)(colon - data);
    v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t'))
        v++;
    vlen = (size_t)(data + len - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
#define AZ_IS(name) (nlen == strlen(name) && strncasecmp(data, name, nlen) == 0)
    if (AZ_IS("x-ms-error-code"))
        az_copy_header(r->error_code, sizeof r->error_code, v, vlen);
    else if (AZ_IS("Content-Type"))
        az_copy_header(r->content_type, sizeof r->content_type, v, vlen);
    else if (AZ_IS("Content-MD5"))
        az_copy_header(r->content_md5, sizeof r->content_md5, v, vlen);
    else if (AZ_IS("ETag"))
        az_copy_header(r->etag, sizeof r->etag, v, vlen);
    else if (AZ_IS("Last-Modified"))
        az_copy_header(r->last_modified, sizeof r->last_modified, v, vlen);
    else if (AZ_IS("x-ms-creation-time"))
        az_copy_header(r->creation_time, sizeof r->creation_time, v, vlen);
    else if (AZ_IS("Date"))
        az_copy_header(r->date, sizeof r->date, v, vlen);
    else if (AZ_IS("x-ms-blob-type"))
        az_copy_header(r->blob_type, sizeof r->blob_type, v, vlen);
    else if (AZ_IS("Content-Encoding"))
        az_copy_header(r->content_encoding, sizeof r->content_encoding, v, vlen);
    else if (AZ_IS("x-ms-access-tier"))
        az_copy_header(r->access_tier, sizeof r->access_tier, v, vlen);
    else if (AZ_IS("x-ms-lease-state"))
        az_copy_header(r->lease_state, sizeof r->lease_state, v, vlen);
    else if (AZ_IS("Server"))
        az_copy_header(r->server, sizeof r->server, v, vlen);
    else if (AZ_IS("Content-Length"))
        r->content_length = strtoll(v, NULL, 10);
    else if (AZ_IS("Retry-After"))
        r->retry_after = isdigit((unsigned char)*v) ? strtol(v, NULL, 10) : -1;
    else if (nlen > 10 && strncasecmp(data, "x-ms-meta-", 10) == 0) {
        dsrc_kv *m = realloc(r->meta, (r->n_meta + 1) * sizeof *m);
        char *k = malloc(nlen - 10 + 1), *val = malloc(vlen + 1);
        if (!m || !k || !val) {
            if (m)
                r->meta = m;
            free(k);
            free(val);
            r->meta_failed = 1;
            return len;
        }
        r->meta = m;
        memcpy(k, data + 10, nlen - 10);
        k[nlen - 10] = '\0';
        memcpy(val, v, vlen);
        val[vlen] = '\0';
        m[r->n_meta].key = k;
        m[r->n_meta].value = val;
        r->n_meta++;
    }
#undef AZ_IS
    return len;
}

/* Content-MD5 of a fetch, computed on a thread of its own so that hashing
 * overlaps with receiving and writing (MD5 runs at about 650 MB/s on one
 * core, slower than a fast link).  The receiver copies bytes into one of two
 * buffers; a full buffer is handed to the worker while the other fills.
 * Bytes stay in order, so a resumed range simply continues the digest. */
#define AZ_MD5_CHUNK (1u << 20)
#define AZ_MD5_THREAD_MIN (8 << 20) /* smaller blobs are hashed inline */

typedef struct az_md5 {
    EVP_MD_CTX *md;
    int threaded;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[2];
    size_t len[2];
    int fill;                /* the buffer the receiver fills               */
    int job;                 /* the buffer being hashed, or -1              */
    int quit;
    int failed;
} az_md5;

static void *az_md5_main(void *arg)
{
    az_md5 *m = arg;

    pthread_mutex_lock(&m->mu);
    for (;;) {
        int j;
        while (m->job < 0 && !m->quit)
            pthread_cond_wait(&m->cv, &m->mu);
        if (m->job < 0)
            break;
        j = m->job;
        pthread_mutex_unlock(&m->mu);
        if (EVP_DigestUpdate(m->md, m->buf[j], m->len[j]) != 1)
            m->failed = 1;
        pthread_mutex_lock(&m->mu);
        m->job = -1;
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* 0, or -1 when the digest cannot be set up (out of memory) */
static int az_md5_start(az_md5 *m, int64_t size)
{
    memset(m, 0, sizeof *m);
    m->job = -1;
    m->md = EVP_MD_CTX_new();
    if (!m->md || EVP_DigestInit_ex(m->md, EVP_md5(), NULL) != 1)
        return -1;
    if (size < AZ_MD5_THREAD_MIN)
        return 0;
    m->buf[0] = malloc(AZ_MD5_CHUNK);
    m->buf[1] = malloc(AZ_MD5_CHUNK);
    if (m->buf[0] && m->buf[1] && pthread_mutex_init(&m->mu, NULL) == 0) {
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
    free(m->buf[0]);
    free(m->buf[1]);
    m->buf[0] = m->buf[1] = NULL;
    return 0;
}

/* hand the filled buffer to the worker once it is free */
static void az_md5_submit(az_md5 *m)
{
    pthread_mutex_lock(&m->mu);
    while (m->job >= 0)
        pthread_cond_wait(&m->cv, &m->mu);
    m->job = m->fill;
    m->fill ^= 1;
    m->len[m->fill] = 0;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void az_md5_update(az_md5 *m, const char *data, size_t len)
{
    if (!m->threaded) {
        if (EVP_DigestUpdate(m->md, data, len) != 1)
            m->failed = 1;
        return;
    }
    while (len > 0) {
        size_t room = AZ_MD5_CHUNK - m->len[m->fill];
        size_t n = len < room ? len : room;
        memcpy(m->buf[m->fill] + m->len[m->fill], data, n);
        m->len[m->fill] += n;
        data += n;
        len -= n;
        if (m->len[m->fill] == AZ_MD5_CHUNK)
            az_md5_submit(m);
    }
}

/* stop the worker after it has hashed everything handed to it */
static void az_md5_stop(az_md5 *m)
{
    if (!m->threaded)
        return;
    if (m->len[m->fill] > 0)
        az_md5_submit(m);
    pthread_mutex_lock(&m->mu);
    m->quit = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->th, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m->buf[0]);
    free(m->buf[1]);
    m->buf[0] = m->buf[1] = NULL;
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

/* The fetch in progress: where bytes go and how far they got. */
typedef struct az_fst {
    const dsrc_byte_sink *sink;
    az_md5 *md5;             /* NULL when the blob carries no Content-MD5    */
    int64_t offset;          /* next byte to deliver                         */
} az_fst;

static size_t az_on_body(char *data, size_t size, size_t n, void *user)
{
    az_resp *r = user;
    size_t len = size * n;

    if (r->status < 200 || r->status >= 300) {
        if (r->errbody.len + len <= AZ_ERRBODY_MAX)
            dsrc_buf_addn(&r->errbody, data, len);
        return len;
    }
    if (r->body == AZ_BODY_XML && r->xp) {
        if (XML_Parse(r->xp, data, (int)len, 0) != XML_STATUS_OK) {
            if (XML_GetErrorCode(r->xp) != XML_ERROR_ABORTED)
                r->xml_bad = 1;
            return 0;
        }
        return r->stopped ? 0 : len;
    }
    if (r->body == AZ_BODY_SINK && r->fetch) {
        az_fst *f = r->fetch;
        if (len == 0)
            return 0;
        if (f->sink->write(f->sink->user, data, len) != 0) {
            r->stopped = 1;
            return 0;
        }
        if (f->md5)
            az_md5_update(f->md5, data, len);
        f->offset += (int64_t)len;
        return len;
    }
    return len;
}

static int az_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    dsrc_conn *c = user;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return az_cancelled(c->ctx, c) ? 1 : 0;
}

/* Code and Message of an error body (<Error><Code/><Message/></Error>). */
typedef struct az_errxml {
    dsrc_buf text;
    char *code;
    size_t code_cap;
    char *msg;
    size_t msg_cap;
} az_errxml;

static void XMLCALL az_err_start(void *u, const XML_Char *name, const XML_Char **atts)
{
    az_errxml *e = u;
    (void)name;
    (void)atts;
    dsrc_buf_reset(&e->text);
}

static void XMLCALL az_err_text(void *u, const XML_Char *s, int len)
{
    az_errxml *e = u;
    if (e->text.len + (size_t)len < 4096)
        dsrc_buf_addn(&e->text, s, (size_t)len);
}

static void XMLCALL az_err_end(void *u, const XML_Char *name)
{
    az_errxml *e = u;
    const char *t = e->text.s ? e->text.s : "";
    if (strcmp(name, "Code") == 0 && !e->code[0])
        snprintf(e->code, e->code_cap, "%s", t);
    else if (strcmp(name, "Message") == 0 && !e->msg[0])
        snprintf(e->msg, e->msg_cap, "%.*s", (int)strcspn(t, "\r\n"), t);
    dsrc_buf_reset(&e->text);
}

static void az_parse_error_body(az_resp *r)
{
    az_errxml e;
    XML_Parser p;
    char code[96] = "";

    if (!r->errbody.s || r->errbody.len == 0)
        return;
    memset(&e, 0, sizeof e);
    e.code = code;
    e.code_cap = sizeof code;
    e.msg = r->message;
    e.msg_cap = sizeof r->message;
    p = XML_ParserCreate("UTF-8");
    if (!p)
        return;
    XML_SetUserData(p, &e);
    XML_SetElementHandler(p, az_err_start, az_err_end);
    XML_SetCharacterDataHandler(p, az_err_text);
    XML_Parse(p, r->errbody.s, (int)r->errbody.len, 1);
    XML_ParserFree(p);
    free(e.text.s);
    if (!r->error_code[0] && code[0])
        snprintf(r->error_code, sizeof r->error_code, "%s", code);
}

/* 1 when `msg` contains any credential of the connection. */
static int az_leaks(const dsrc_conn *c, const char *msg)
{
    if (c->key && *c->key && strstr(msg, c->key))
        return 1;
    if (c->sas && *c->sas && strstr(msg, c->sas))
        return 1;
    if (c->client_secret && *c->client_secret && strstr(msg, c->client_secret))
        return 1;
    if (c->token && *c->token && strstr(msg, c->token))
        return 1;
    if (strstr(msg, "sig=") || strstr(msg, "SharedKey "))
        return 1;
    return 0;
}

/* Fill err for a failed exchange.  `what` names the operation and item. */
static dsrc_status az_fail(dsrc_conn *c, const az_resp *r, const char *what, dsrc_error *err)
{
    char code[DSRC_BACKEND_CODE_MAX];
    const char *detail;
    const char *ec = r->error_code;
    dsrc_status st;
    int retryable = 0;
    const char *advice = "";

    if (r->cc != CURLE_OK) {
        const char *cmsg = c->curl_err[0] ? c->curl_err : curl_easy_strerror(r->cc);
        if (az_leaks(c, cmsg))
            cmsg = curl_easy_strerror(r->cc);
        snprintf(code, sizeof code, "curl-%d", (int)r->cc);
        switch (r->cc) {
        case CURLE_ABORTED_BY_CALLBACK:
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
        case CURLE_WRITE_ERROR:
            if (r->stopped)
                return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                      "%s: stopped by the receiver", what);
            if (r->xml_bad)
                return dsrc_error_set(err, DSRC_E_BACKEND, 0, "xml",
                                      "%s: the service sent a listing that is not valid XML",
                                      what);
            st = DSRC_E_INTERNAL;
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            st = DSRC_E_UNREACHABLE;
            retryable = 1;
            advice = "; check connection.endpoint / connection.account and that the "
                     "service accepts connections from here";
            break;
        case CURLE_OPERATION_TIMEDOUT:
            st = DSRC_E_TIMEOUT;
            retryable = 1;
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CRL_BADFILE:
            snprintf(code, sizeof code, "%s", "tls");
            st = DSRC_E_UNREACHABLE;
            retryable = 0;
            advice = "; TLS failed: check tls.mode and tls.ca, and that the endpoint's "
                     "certificate is issued for its host name";
            break;
        case CURLE_OUT_OF_MEMORY:
            st = DSRC_E_INTERNAL;
            break;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
            st = DSRC_E_INVALID_CONFIG;
            advice = "; check connection.endpoint";
            break;
        default:
            /* dropped connections, partial transfers, send/receive errors */
            st = DSRC_E_UNREACHABLE;
            retryable = 1;
            break;
        }
        st = dsrc_error_set(err, st, retryable, code, "%s: %s (%s)%s", what, cmsg,
                            c->hostport, advice);
        if (err)
            err->connection_broken = 0;
        return st;
    }

    snprintf(code, sizeof code, "%ld", r->status);
    detail = r->message[0] && !az_leaks(c, r->message) ? r->message : "";
    switch (r->status) {
    case 401:
        st = DSRC_E_AUTH;
        break;
    case 403:
        if (strcmp(ec, "AuthorizationPermissionMismatch") == 0 ||
            strcmp(ec, "AuthorizationResourceTypeMismatch") == 0 ||
            strcmp(ec, "AuthorizationServiceMismatch") == 0 ||
            (strcmp(ec, "AuthorizationFailure") == 0 &&
             strncmp(r->message, "Server failed to authenticate", 29) != 0) ||
            strcmp(ec, "AuthorizationSourceIPMismatch") == 0 ||
            strcmp(ec, "AuthorizationProtocolMismatch") == 0) {
            st = DSRC_E_PERMISSION;
            advice = c->sas && !c->key
                         ? "; the SAS token does not allow this (permissions, resource "
                           "types, services, IP range or protocol)"
                         : "; the credentials do not allow this";
        } else {
            st = DSRC_E_AUTH;
            if (c->key)
                advice = "; check connection.account and the account key";
            else if (c->sas)
                advice = "; the SAS token was refused: it may be expired, not yet valid, "
                         "or not signed for this account";
            else
                advice = "; no credentials are configured (account_key, sas_token or "
                         "connection_string)";
        }
        break;
    case 404:
        st = DSRC_E_NOT_FOUND;
        break;
    case 408:
        st = DSRC_E_TIMEOUT;
        retryable = 1;
        break;
    case 409:
    case 412:
        st = DSRC_E_BACKEND;
        retryable = r->status == 412;
        if (r->status == 412)
            advice = "; the blob changed while it was being read";
        break;
    case 416:
        st = DSRC_E_INVALID_ARGUMENT;
        break;
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        st = DSRC_E_BACKEND;
        retryable = 1;
        if (r->status == 429 || r->status == 503)
            advice = "; the service is throttling requests";
        break;
    case 400:
        st = (strcmp(ec, "InvalidResourceName") == 0 || strcmp(ec, "InvalidQueryParameterValue") == 0 ||
              strcmp(ec, "OutOfRangeInput") == 0)
                 ? DSRC_E_INVALID_ARGUMENT
                 : DSRC_E_BACKEND;
        break;
    default:
        st = DSRC_E_BACKEND;
        break;
    }
    return dsrc_error_set(err, st, retryable, code, "%s: HTTP %ld%s%s%s%s%s", what, r->status,
                          ec[0] ? " " : "", ec, detail[0] ? ": " : "", detail, advice);
}

/* ------------------------------------------------------------------------ */
/* Microsoft Entra ID tokens                                                 */

static size_t az_on_token_body(char *data, size_t size, size_t n, void *user)
{
    dsrc_buf *b = user;
    size_t len = size * n;
    if (b->len + len > AZ_TOKEN_BODY_MAX)
        return 0;
    dsrc_buf_addn(b, data, len);
    return b->failed ? 0 : len;
}

/* A JSON member that may be a number or a numeric string; -1 when absent. */
static int64_t az_json_int(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_string(v) && isdigit((unsigned char)*json_string_value(v)))
        return (int64_t)strtoll(json_string_value(v), NULL, 10);
    return -1;
}

/* Ask the token endpoint for an access token to the storage service and
 * cache it in c->token until AZ_TOKEN_MARGIN seconds before it expires.
 * Returns DSRC_OK (c->token set) or fills err; the token and the client
 * secret never reach a message. */
static dsrc_status az_token_refresh(const dsrc_ctx *ctx, dsrc_conn *c, const char *what,
                                    dsrc_error *err)
{
    CURL *h;
    dsrc_buf url = {0}, body = {0}, form = {0};
    struct curl_slist *hdrs = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    const char *kind = c->msi ? "managed identity token" : "Entra ID token";
    json_t *doc = NULL;
    json_error_t jerr;
    CURLcode cc;
    long status = 0;
    int64_t now = (int64_t)time(NULL), exp_in, exp_on;
    dsrc_status st = DSRC_OK;

    h = curl_easy_init();
    if (!h)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: cannot create an HTTP handle",
                              what);
    dsrc_buf_add(&url, c->token_url);
    if (c->msi) {
        dsrc_buf_add(&url, "?api-version=2018-02-01&resource=");
        {
            char *e = curl_easy_escape(h, AZ_STORAGE_RESOURCE, 0);
            dsrc_buf_add(&url, e ? e : "");
            curl_free(e);
        }
        if (c->client_id) {
            char *e = curl_easy_escape(h, c->client_id, 0);
            dsrc_buf_add(&url, "&client_id=");
            dsrc_buf_add(&url, e ? e : "");
            curl_free(e);
        }
        hdrs = curl_slist_append(hdrs, "Metadata: true");
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        const char *names[4] = {"grant_type", "client_id", "client_secret", "scope"};
        const char *vals[4] = {"client_credentials", c->client_id, c->client_secret,
                               AZ_STORAGE_SCOPE};
        size_t i;
        for (i = 0; i < 4; i++) {
            char *e = curl_easy_escape(h, vals[i] ? vals[i] : "", 0);
            if (!e) {
                form.failed = 1;
                break;
            }
            dsrc_buf_add(&form, i ? "&" : "");
            dsrc_buf_add(&form, names[i]);
            dsrc_buf_add(&form, "=");
            dsrc_buf_add(&form, e);
            az_wipe(e);
            curl_free(e);
        }
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
        if (!form.failed && form.s) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form.len);
            curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, form.s);
        }
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (url.failed || form.failed || !hdrs) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url.s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "dsrc-azure_blob/" AZ_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, az_on_token_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        int reach = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                    cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_RECV_ERROR ||
                    cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING;
        char code[DSRC_BACKEND_CODE_MAX];
        snprintf(code, sizeof code, "curl-%d", (int)cc);
        st = dsrc_error_set(err, reach ? DSRC_E_UNREACHABLE : DSRC_E_AUTH, reach, code,
                            "%s: cannot get a %s: %s", what, kind, curl_easy_strerror(cc));
        goto out;
    }
    doc = body.s ? json_loadb(body.s, body.len, 0, &jerr) : NULL;
    if (status < 200 || status >= 300) {
        const char *ecode = doc ? json_string_value(json_object_get(doc, "error")) : NULL;
        const char *edesc = doc ? json_string_value(json_object_get(doc, "error_description"))
                                : NULL;
        char code[DSRC_BACKEND_CODE_MAX];
        if (edesc && az_leaks(c, edesc))
            edesc = NULL;
        snprintf(code, sizeof code, "%ld", status);
        st = dsrc_error_set(err,
                            status == 400 || status == 401 || status == 403 ? DSRC_E_AUTH
                                                                            : DSRC_E_BACKEND,
                            status == 429 || status >= 500, code,
                            "%s: the token endpoint refused the %s request: HTTP %ld%s%s%s%.*s%s",
                            what, kind, status, ecode ? " " : "", ecode ? ecode : "",
                            edesc ? ": " : "", edesc ? (int)strcspn(edesc, "\r\n") : 0,
                            edesc ? edesc : "",
                            c->msi ? "; check cloud.use_managed_identity and cloud.client_id"
                                   : "; check cloud.tenant_id, cloud.client_id and "
                                     "cloud.client_secret");
        goto out;
    }
    if (!doc || !json_is_string(json_object_get(doc, "access_token")) ||
        !*json_string_value(json_object_get(doc, "access_token"))) {
        st = dsrc_error_set(err, DSRC_E_AUTH, 0, "token",
                            "%s: the token endpoint's answer has no access_token", what);
        goto out;
    }
    exp_in = az_json_int(doc, "expires_in");
    exp_on = az_json_int(doc, "expires_on");
    if (c->token)
        az_free_secret(c->token);
    c->token = dsrc_strdup(json_string_value(json_object_get(doc, "access_token")));
    if (!c->token) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        goto out;
    }
    c->token_exp = exp_in >= 0 ? now + exp_in : exp_on >= 0 ? exp_on : now;
    az_log(ctx, DSRC_LOG_DEBUG, "got a %s from %s", kind, c->msi ? "IMDS" : "Entra ID");
out:
    if (doc) {
        json_t *tok = json_object_get(doc, "access_token");
        if (json_is_string(tok))
            json_string_set(tok, "");
        json_decref(doc);
    }
    if (body.s) {
        OPENSSL_cleanse(body.s, body.len);
        free(body.s);
    }
    if (form.s) {
        OPENSSL_cleanse(form.s, form.len);
        free(form.s);
    }
    free(url.s);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return st;
}

/* The cached token, fetched again when it is within AZ_TOKEN_MARGIN seconds
 * of expiry.  Returns DSRC_OK or fills err. */
static dsrc_status az_token_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *what,
                                dsrc_error *err)
{
    if (c->token && (int64_t)time(NULL) < c->token_exp - AZ_TOKEN_MARGIN)
        return DSRC_OK;
    return az_token_refresh(ctx, c, what, err);
}

/* Build and send one request.  `path` is the encoded path below the base
 * path ("/", "/container", "/container/blob").  Returns DSRC_OK for a 2xx
 * response; else fills err (through az_fail) and returns its status.  The
 * response is in `r` either way (the caller frees it with az_resp_free). */
static dsrc_status az_request(const dsrc_ctx *ctx, dsrc_conn *c, const char *verb,
                              const char *path, const az_pair *query, size_t nq,
                              const char *range, const char *if_match, az_resp *r,
                              const char *what, dsrc_error *err)
{
    dsrc_buf url = {0}, full = {0};
    struct curl_slist *hdrs = NULL;
    char date[64], hbuf[512];
    char *auth = NULL;
    az_pair xms[3];
    size_t nx = 0, i;
    dsrc_status st = DSRC_OK;

    az_body body = r->body;
    XML_Parser xp = r->xp;
    az_fst *f = r->fetch;
    memset(r, 0, sizeof *r);
    r->body = body;
    r->xp = xp;
    r->fetch = f;
    r->content_length = -1;
    r->retry_after = -1;
    c->ctx = ctx;
    c->curl_err[0] = '\0';

    dsrc_buf_add(&full, c->base_path);
    dsrc_buf_add(&full, path);
    dsrc_buf_add(&url, c->origin);
    dsrc_buf_add(&url, full.s ? full.s : "/");
    for (i = 0; i < nq; i++) {
        char *v = az_url_encode(query[i].value, 0);
        if (!v) {
            url.failed = 1;
            break;
        }
        dsrc_buf_add(&url, i == 0 ? "?" : "&");
        dsrc_buf_add(&url, query[i].name);
        dsrc_buf_add(&url, "=");
        dsrc_buf_add(&url, v);
        free(v);
    }
    if (c->sas && !c->key) {
        dsrc_buf_add(&url, nq ? "&" : "?");
        dsrc_buf_add(&url, c->sas);
    }
    az_http_now(date, sizeof date);
    xms[nx].name = "x-ms-date";
    xms[nx++].value = date;
    xms[nx].name = "x-ms-version";
    xms[nx++].value = c->api_version;
    if (range) {
        xms[nx].name = "x-ms-range";
        xms[nx++].value = range;
    }
    for (i = 0; i < nx; i++) {
        snprintf(hbuf, sizeof hbuf, "%s: %s", xms[i].name, xms[i].value);
        hdrs = curl_slist_append(hdrs, hbuf);
    }
    if (if_match) {
        snprintf(hbuf, sizeof hbuf, "If-Match: %s", if_match);
        hdrs = curl_slist_append(hdrs, hbuf);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (c->key) {
        az_sigreq sr;
        memset(&sr, 0, sizeof sr);
        sr.verb = verb;
        sr.account = c->account;
        sr.path = full.s ? full.s : "/";
        sr.query = query;
        sr.n_query = nq;
        sr.headers = xms;
        sr.n_headers = nx;
        sr.if_match = if_match;
        auth = az_shared_key(&sr, c->key);
        if (!auth) {
            st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                "%s: the account key is not valid base64", what);
            goto out;
        }
        {
            size_t n = strlen("Authorization: ") + strlen(auth) + 1;
            char *h = malloc(n);
            if (h) {
                snprintf(h, n, "Authorization: %s", auth);
                hdrs = curl_slist_append(hdrs, h);
                az_wipe(h);
                free(h);
            }
        }
    } else if (c->bearer && !c->sas) {
        size_t n;
        char *h;
        st = az_token_get(ctx, c, what, err);
        if (st != DSRC_OK)
            goto out;
        n = strlen("Authorization: Bearer ") + strlen(c->token) + 1;
        h = malloc(n);
        if (h) {
            snprintf(h, n, "Authorization: Bearer %s", c->token);
            hdrs = curl_slist_append(hdrs, h);
            az_wipe(h);
            free(h);
        }
    }
    if (url.failed || full.failed || !hdrs) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        goto out;
    }

    curl_easy_setopt(c->curl, CURLOPT_URL, url.s);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(verb, "HEAD") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, az_on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, az_on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    r->cc = curl_easy_perform(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    /* The URL may hold the SAS: do not leave it in the handle. */
    curl_easy_setopt(c->curl, CURLOPT_URL, "");
    if (r->cc == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 200 && r->status < 300) {
            if (r->body == AZ_BODY_XML && r->xp &&
                XML_Parse(r->xp, "", 0, 1) != XML_STATUS_OK) {
                st = dsrc_error_set(err, DSRC_E_BACKEND, 0, "xml",
                                    "%s: the service sent a listing that is not valid XML "
                                    "(%s)", what, XML_ErrorString(XML_GetErrorCode(r->xp)));
                goto out;
            }
            goto out;
        }
        az_parse_error_body(r);
    }
    st = az_fail(c, r, what, err);
out:
    if (auth) {
        az_wipe(auth);
        free(auth);
    }
    if (url.s) {
        az_wipe(url.s);
        free(url.s);
    }
    free(full.s);
    curl_slist_free_all(hdrs);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

/* Append the item path of blob (or directory) `name` of `container` to
 * `b`: "container/name", or "name" with a fixed container (the container
 * alone for an empty name); the name's '%' escaped, its '/' kept. */
static void az_item_path(dsrc_buf *b, const dsrc_conn *c, const char *container,
                         const char *name)
{
    dsrc_buf_add(b, "");
    if (!c->container) {
        dsrc_path_add(b, container);
        if (*name)
            dsrc_buf_add(b, "/");
    }
    dsrc_path_add_tail(b, name);
}

/* Split an item path into container and the rest (both malloc'd, decoded:
 * see dsrc_path_split()).  With a fixed container the whole path is the
 * rest.  Leading '/' are ignored.  DSRC_OK, or INVALID_ARGUMENT for a
 * malformed escape, or INTERNAL. */
static dsrc_status az_split(const dsrc_conn *c, const char *path, char **container, char **rest,
                            dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;
    *container = *rest = NULL;
    if (!path)
        path = "";
    while (*path == '/')
        path++;
    st = dsrc_path_split(path, c->container ? 1 : 2, &sp, err);
    if (st != DSRC_OK)
        return st;
    if (c->container) {
        *container = dsrc_strdup(c->container);
        *rest = dsrc_strdup(sp.n ? sp.part[0] : "");
    } else {
        *container = dsrc_strdup(sp.n ? sp.part[0] : "");
        *rest = dsrc_strdup(sp.n == 2 ? sp.part[1] : "");
    }
    dsrc_path_free(&sp);
    if (!*container || !*rest) {
        free(*container);
        free(*rest);
        *container = *rest = NULL;
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

/* "/container" or "/container/blob", percent-encoded. */
static char *az_res_path(const char *container, const char *blob)
{
    char *ec = az_url_encode(container, 0), *eb = blob ? az_url_encode(blob, 1) : NULL;
    size_t n;
    char *out = NULL;
    if (ec && (!blob || eb)) {
        n = strlen(ec) + (eb ? strlen(eb) : 0) + 3;
        out = malloc(n);
        if (out)
            snprintf(out, n, "/%s%s%s", ec, eb ? "/" : "", eb ? eb : "");
    }
    free(ec);
    free(eb);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */

/* One blob of an incremental listing. */
typedef struct az_iblob {
    int64_t mtime;
    int64_t size;
    char *name;              /* the blob's name in its container            */
    char *etag;
    char *md5;               /* Content-MD5 (base64) or NULL                */
} az_iblob;

/* An incremental listing: the blobs after the cursor (mtime, name). */
typedef struct az_incr {
    int64_t after_mtime;     /* -1: no cursor                               */
    const char *after_name;  /* "" with a bare timestamp                    */
    int64_t until;           /* the first page's Date (-1 before it came):
                                only blobs of earlier seconds are complete */
    az_iblob *v;
    size_t n, cap;
} az_incr;

typedef struct az_lst {
    dsrc_conn *c;
    az_incr *inc;            /* incremental: collect blobs, do not emit     */
    const dsrc_item_sink *sink;
    const char *container;   /* the container listed (NULL: containers)     */
    int depth;
    int in_item;             /* inside <Blob> or <Container>                */
    int in_prefix;           /* inside <BlobPrefix>                         */
    dsrc_buf text;
    int text_over;
    char *name;
    char *content_type;
    char *etag;
    char *content_md5;
    int64_t size;
    int64_t mtime;
    char *next_marker;
    uint64_t count;
    int stop;
    int failed;
    XML_Parser xp;           /* the parser of the page being read           */
} az_lst;

static void az_list_reset_item(az_lst *l)
{
    free(l->name);
    free(l->content_type);
    free(l->etag);
    free(l->content_md5);
    l->name = l->content_type = l->etag = l->content_md5 = NULL;
    l->size = -1;
    l->mtime = -1;
}

static void XMLCALL az_list_start(void *u, const XML_Char *name, const XML_Char **atts)
{
    az_lst *l = u;
    (void)atts;
    l->depth++;
    dsrc_buf_reset(&l->text);
    l->text_over = 0;
    if (l->depth == 3 && (strcmp(name, "Blob") == 0 || strcmp(name, "Container") == 0)) {
        l->in_item = 1;
        az_list_reset_item(l);
    } else if (l->depth == 3 && strcmp(name, "BlobPrefix") == 0) {
        l->in_prefix = 1;
        az_list_reset_item(l);
    }
}

static void XMLCALL az_list_text(void *u, const XML_Char *s, int len)
{
    az_lst *l = u;
    if (l->text.len + (size_t)len > AZ_TEXT_MAX) {
        l->text_over = 1;
        return;
    }
    dsrc_buf_addn(&l->text, s, (size_t)len);
}

static void az_list_emit(az_lst *l, XML_Parser p)
{
    dsrc_item it;
    dsrc_buf path = {0}, comment = {0};
    char *name = l->name, *last;
    size_t n;

    if (!name || !*name)
        return;
    if (l->inc) {
        az_incr *in = l->inc;
        int after;
        if (l->in_prefix)
            return;
        after = in->after_mtime < 0 || l->mtime > in->after_mtime ||
                (l->mtime == in->after_mtime && strcmp(name, in->after_name) > 0);
        if (!after)
            return;
        if (in->n == in->cap) {
            size_t cap = in->cap ? in->cap * 2 : 64;
            az_iblob *v = realloc(in->v, cap * sizeof *v);
            if (!v) {
                l->failed = 1;
                XML_StopParser(p, 0);
                return;
            }
            in->v = v;
            in->cap = cap;
        }
        in->v[in->n].mtime = l->mtime;
        in->v[in->n].size = l->size;
        in->v[in->n].name = l->name;
        in->v[in->n].etag = l->etag;
        in->v[in->n].md5 = l->content_md5 && *l->content_md5 ? l->content_md5 : NULL;
        if (!in->v[in->n].md5)
            free(l->content_md5);
        l->name = l->etag = l->content_md5 = NULL;
        in->n++;
        return;
    }
    n = strlen(name);
    if (l->in_prefix && n > 0 && name[n - 1] == '/')
        name[--n] = '\0';
    last = strrchr(name, '/');
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    if (!l->container) {
        dsrc_path_add(&path, name);
        it.kind = DSRC_ITEM_CONTAINER;
        it.container = 1;
    } else {
        az_item_path(&path, l->c, l->container, name);
        it.kind = l->in_prefix ? DSRC_ITEM_DIRECTORY : DSRC_ITEM_BLOB;
        it.container = l->in_prefix;
    }
    if (l->content_type && *l->content_type)
        dsrc_buf_add(&comment, l->content_type);
    if (l->etag && *l->etag) {
        dsrc_buf_add(&comment, comment.len ? "; etag " : "etag ");
        dsrc_buf_add(&comment, l->etag);
    }
    if (path.failed || comment.failed) {
        l->failed = 1;
        XML_StopParser(p, 0);
    } else {
        it.path = path.s;
        it.name = last ? last + 1 : name;
        it.rows = -1;
        it.size_bytes = l->in_prefix ? -1 : l->size;
        it.mtime = l->mtime;
        it.comment = comment.s;
        if (l->sink->item(l->sink->user, &it) != 0) {
            l->stop = 1;
            XML_StopParser(p, 0);
        }
        l->count++;
    }
    free(path.s);
    free(comment.s);
}

static void XMLCALL az_list_end(void *u, const XML_Char *name)
{
    az_lst *l = u;
    const char *t = l->text.s ? l->text.s : "";

    if (l->in_item || l->in_prefix) {
        if (l->depth == 3) {
            az_list_emit(l, l->xp);
            l->in_item = l->in_prefix = 0;
            az_list_reset_item(l);
        } else if (strcmp(name, "Name") == 0 && l->depth == 4 && !l->text_over) {
            free(l->name);
            l->name = dsrc_strdup(t);
        } else if (strcmp(name, "Last-Modified") == 0) {
            l->mtime = az_http_time(t);
        } else if (strcmp(name, "Etag") == 0) {
            free(l->etag);
            l->etag = dsrc_strdup(t);
        } else if (strcmp(name, "Content-Length") == 0) {
            l->size = *t ? strtoll(t, NULL, 10) : -1;
        } else if (strcmp(name, "Content-MD5") == 0) {
            free(l->content_md5);
            l->content_md5 = dsrc_strdup(t);
        } else if (strcmp(name, "Content-Type") == 0) {
            free(l->content_type);
            l->content_type = dsrc_strdup(t);
        }
    } else if (l->depth == 2 && strcmp(name, "NextMarker") == 0) {
        free(l->next_marker);
        l->next_marker = *t ? dsrc_strdup(t) : NULL;
    }
    dsrc_buf_reset(&l->text);
    l->depth--;
}

static dsrc_status az_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                           const dsrc_item_sink *sink, az_incr *inc, dsrc_error *err)
{
    char *container = NULL, *prefix = NULL, *res = NULL, *marker = NULL, *what = NULL;
    char page[32];
    az_lst l;
    az_resp r;
    dsrc_status st = DSRC_OK;
    XML_Parser xp = NULL;

    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    if (!inc && (!sink || !sink->item))
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item sink");
    st = az_split(c, path, &container, &prefix, err);
    if (st != DSRC_OK)
        return st;
    if (*prefix && prefix[strlen(prefix) - 1] != '/') {
        size_t n = strlen(prefix);
        char *p = realloc(prefix, n + 2);
        if (!p) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        prefix = p;
        prefix[n] = '/';
        prefix[n + 1] = '\0';
    }
    if (*container) {
        res = az_res_path(container, NULL);
        if (asprintf(&what, "list '%s/%s'", container, prefix) < 0)
            what = NULL;
    } else {
        res = dsrc_strdup("/");
        what = dsrc_strdup("list containers");
    }
    if (!res || !what) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    snprintf(page, sizeof page, "%ld", c->page_size);
    l.c = c;
    l.sink = sink;
    l.inc = inc;
    l.container = *container ? container : NULL;
    l.size = l.mtime = -1;
    do {
        az_pair q[6];
        size_t nq = 0;
        if (az_cancelled(ctx, c)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
            break;
        }
        if (*container) {
            q[nq].name = "restype";
            q[nq++].value = "container";
        }
        q[nq].name = "comp";
        q[nq++].value = "list";
        if (*container) {
            if (!inc) {
                q[nq].name = "delimiter";
                q[nq++].value = "/";
            }
            if (*prefix) {
                q[nq].name = "prefix";
                q[nq++].value = prefix;
            }
        }
        q[nq].name = "maxresults";
        q[nq++].value = page;
        if (marker) {
            q[nq].name = "marker";
            q[nq++].value = marker;
        }
        xp = XML_ParserCreate("UTF-8");
        if (!xp) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        l.xp = xp;
        XML_SetUserData(xp, &l);
        XML_SetElementHandler(xp, az_list_start, az_list_end);
        XML_SetCharacterDataHandler(xp, az_list_text);
        l.depth = 0;
        free(l.next_marker);
        l.next_marker = NULL;
        r.body = AZ_BODY_XML;
        r.xp = xp;
        r.fetch = NULL;
        st = az_request(ctx, c, "GET", res, q, nq, NULL, NULL, &r, what, err);
        if (l.stop) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                                what);
        } else if (l.failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        }
        XML_ParserFree(xp);
        xp = NULL;
        if (st == DSRC_OK && inc && inc->until < 0 && (inc->until = az_http_time(r.date)) < 0)
            st = dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                                "%s: the service sent no valid Date header, so the listing's "
                                "time (which bounds an incremental fetch) is unknown", what);
        az_resp_free(&r);
        if (st != DSRC_OK)
            break;
        free(marker);
        marker = l.next_marker;
        l.next_marker = NULL;
    } while (marker);
out:
    az_list_reset_item(&l);
    free(l.next_marker);
    free(l.text.s);
    free(marker);
    free(container);
    free(prefix);
    free(res);
    free(what);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Open, ping, close                                                         */

static long az_opt_long(const dsrc_open_params *p, const char *name, long def)
{
    const char *v = dsrc_opt(p, name);
    return v ? strtol(v, NULL, 10) : def;
}

static void az_conn_free(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->account);
    az_free_secret(c->key);
    az_free_secret(c->sas);
    free(c->origin);
    free(c->base_path);
    free(c->container);
    free(c->api_version);
    free(c->tenant);
    free(c->client_id);
    az_free_secret(c->client_secret);
    free(c->token_url);
    az_free_secret(c->token);
    free(c);
}

/* Set origin, base_path and hostport from an endpoint URL. */
static int az_set_endpoint(dsrc_conn *c, const char *endpoint, char *why, size_t cap)
{
    const char *p = strstr(endpoint, "://"), *host, *slash;
    size_t n;

    if (!p || (strncasecmp(endpoint, "http://", 7) != 0 &&
               strncasecmp(endpoint, "https://", 8) != 0)) {
        snprintf(why, cap, "endpoint must start with http:// or https://");
        return -1;
    }
    host = p + 3;
    if (strchr(endpoint, '?') || strchr(endpoint, '#')) {
        snprintf(why, cap, "endpoint must not contain a query (put a SAS in sas_token)");
        return -1;
    }
    slash = strchr(host, '/');
    n = slash ? (size_t)(slash - endpoint) : strlen(endpoint);
    if (slash == host || n == (size_t)(host - endpoint)) {
        snprintf(why, cap, "endpoint has no host");
        return -1;
    }
    c->origin = malloc(n + 1);
    if (!c->origin)
        return -1;
    memcpy(c->origin, endpoint, n);
    c->origin[n] = '\0';
    snprintf(c->hostport, sizeof c->hostport, "%.*s",
             (int)(slash ? (size_t)(slash - host) : strlen(host)), host);
    c->base_path = dsrc_strdup(slash ? slash : "");
    if (!c->base_path)
        return -1;
    n = strlen(c->base_path);
    while (n > 0 && c->base_path[n - 1] == '/')
        c->base_path[--n] = '\0';
    return 0;
}

static dsrc_status az_ping_run(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                               dsrc_error *err)
{
    az_resp r;
    dsrc_status st;

    memset(&r, 0, sizeof r);
    if (c->container) {
        az_pair q[1] = {{"restype", "container"}};
        char *res = az_res_path(c->container, NULL);
        char what[300];
        if (!res)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        snprintf(what, sizeof what, "container '%s' on %s", c->container, c->hostport);
        st = az_request(ctx, c, "HEAD", res, q, 1, NULL, NULL, &r, what, err);
        free(res);
    } else {
        az_pair q[2] = {{"comp", "list"}, {"maxresults", "1"}};
        char what[300];
        snprintf(what, sizeof what, "account '%s' on %s", c->account, c->hostport);
        r.body = AZ_BODY_NONE;
        st = az_request(ctx, c, "GET", "/", q, 2, NULL, NULL, &r, what, err);
    }
    if (st == DSRC_OK && info) {
        info->role = DSRC_ROLE_STANDALONE;
        snprintf(info->server_version, sizeof info->server_version, "%s",
                 r.server[0] ? r.server : "Azure Blob Storage");
        snprintf(info->endpoint, sizeof info->endpoint, "%s", c->hostport);
    }
    az_resp_free(&r);
    return st;
}

/* The cloud group of a `provider = "azure"` source: Entra ID client
 * credentials (tenant_id, client_id, client_secret) or a managed identity
 * (use_managed_identity, optional client_id).  Sets c->bearer and the
 * token endpoint; returns DSRC_OK or DSRC_E_INVALID_CONFIG. */
static dsrc_status az_open_entra(const dsrc_open_params *p, dsrc_conn *c, dsrc_error *err)
{
    const char *tenant = dsrc_kv_get(p->cloud, p->n_cloud, "tenant_id");
    const char *client = dsrc_kv_get(p->cloud, p->n_cloud, "client_id");
    const char *secret = dsrc_kv_get(p->cloud, p->n_cloud, "client_secret");
    const char *msi = dsrc_kv_get(p->cloud, p->n_cloud, "use_managed_identity");
    const char *authority = dsrc_kv_get(p->cloud, p->n_cloud, "authority_host");
    const char *endpoint = dsrc_kv_get(p->cloud, p->n_cloud, "token_endpoint");
    const char *imds = dsrc_kv_get(p->cloud, p->n_cloud, "imds_endpoint");
    size_t n;

    c->msi = msi && (strcmp(msi, "true") == 0 || strcmp(msi, "1") == 0 ||
                     strcmp(msi, "yes") == 0);
    if (client && *client && !(c->client_id = dsrc_strdup(client)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (c->msi) {
        const char *base = imds && *imds ? imds : "http://169.254.169.254";
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            n--;
        if (asprintf(&c->token_url, "%.*s/metadata/identity/oauth2/token", (int)n, base) < 0)
            c->token_url = NULL;
    } else {
        if (!tenant || !*tenant || !client || !*client || !secret || !*secret)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "cloud.provider \"azure\" needs tenant_id, client_id and "
                                  "client_secret (client credentials) or "
                                  "use_managed_identity = true, or connection.account_key / "
                                  "sas_token");
        if (strspn(tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
            strlen(tenant))
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "cloud.tenant_id '%s' is not a tenant id or domain", tenant);
        c->tenant = dsrc_strdup(tenant);
        c->client_secret = dsrc_strdup(secret);
        if (endpoint && *endpoint) {
            c->token_url = dsrc_strdup(endpoint);
        } else {
            const char *base = authority && *authority ? authority
                                                        : "https://login.microsoftonline.com";
            n = strlen(base);
            while (n > 0 && base[n - 1] == '/')
                n--;
            if (asprintf(&c->token_url, "%.*s/%s/oauth2/v2.0/token", (int)n, base, tenant) < 0)
                c->token_url = NULL;
        }
        if (!c->tenant || !c->client_secret)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    if (!c->token_url)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (strncasecmp(c->token_url, "http://", 7) != 0 &&
        strncasecmp(c->token_url, "https://", 8) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "the token endpoint must start with http:// or https://");
    if (strcmp(c->api_version, "2017-11-09") < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "api_version %s is too old for Entra ID tokens (2017-11-09 "
                              "or later)", c->api_version);
    c->bearer = 1;
    return DSRC_OK;
}

static dsrc_status az_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                           dsrc_error *err)
{
    dsrc_conn *c;
    az_connstr cs;
    char why[256] = "";
    const char *endpoint, *account, *key, *sas, *v;
    char *ep_alloc = NULL;
    long connect_ms, timeout_ms;
    dsrc_status st;

    *out = NULL;
    memset(&cs, 0, sizeof cs);
    c = calloc(1, sizeof *c);
    if (!c)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    atomic_init(&c->cancel, 0);
    if ((v = dsrc_opt(p, "connection_string")) && az_connstr_parse(v, &cs, why, sizeof why) < 0) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "%s", why);
        goto fail;
    }
    account = dsrc_opt(p, "account") ? dsrc_opt(p, "account") : cs.account;
    key = dsrc_opt(p, "account_key") ? dsrc_opt(p, "account_key") : cs.key;
    sas = dsrc_opt(p, "sas_token") ? dsrc_opt(p, "sas_token") : cs.sas;
    endpoint = dsrc_opt(p, "endpoint") ? dsrc_opt(p, "endpoint") : cs.blob_endpoint;
    if (!account || !*account) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "no storage account: set connection.account or AccountName in "
                            "connection.connection_string");
        goto fail;
    }
    if (strspn(account, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(account)) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "account '%s' is not a storage account name (lower-case letters "
                            "and digits)", account);
        goto fail;
    }
    if (!endpoint) {
        const char *proto = cs.protocol ? cs.protocol : "https";
        const char *suffix = cs.suffix ? cs.suffix : "core.windows.net";
        if (asprintf(&ep_alloc, "%s://%s.blob.%s", proto, account, suffix) < 0) {
            ep_alloc = NULL;
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto fail;
        }
        endpoint = ep_alloc;
    }
    if (az_set_endpoint(c, endpoint, why, sizeof why) < 0) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL, "%s",
                            why[0] ? why : "out of memory");
        goto fail;
    }
    c->account = dsrc_strdup(account);
    c->api_version = dsrc_strdup(dsrc_opt(p, "api_version") ? dsrc_opt(p, "api_version")
                                                           : AZ_API_VERSION);
    if (key) {
        unsigned char tmp[512];
        long n = az_unb64(key, tmp, sizeof tmp);
        OPENSSL_cleanse(tmp, sizeof tmp);
        if (n <= 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                "the account key is not valid base64");
            goto fail;
        }
        c->key = dsrc_strdup(key);
    }
    if (sas) {
        while (*sas == '?')
            sas++;
        c->sas = dsrc_strdup(sas);
    }
    if (dsrc_opt(p, "container")) {
        c->container = dsrc_strdup(dsrc_opt(p, "container"));
        while (c->container && strlen(c->container) > 0 &&
               c->container[strlen(c->container) - 1] == '/')
            c->container[strlen(c->container) - 1] = '\0';
    }
    if (!c->account || !c->api_version || (key && !c->key) || (sas && !c->sas) ||
        (dsrc_opt(p, "container") && !c->container)) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto fail;
    }
    if (!c->key && !c->sas && p->cloud &&
        (v = dsrc_kv_get(p->cloud, p->n_cloud, "provider")) && strcmp(v, "azure") == 0) {
        st = az_open_entra(p, c, err);
        if (st != DSRC_OK)
            goto fail;
    }
    c->page_size = az_opt_long(p, "page_size", 5000);
    c->range_size = az_opt_long(p, "range_size", 33554432);
    c->max_retries = az_opt_long(p, "max_retries", 4);
    c->backoff_ms = az_opt_long(p, "retry_backoff", 250);
    connect_ms = az_opt_long(p, "connect_timeout", 10000);
    timeout_ms = az_opt_long(p, "timeout", 300000);
    if (c->page_size < 1 || c->page_size > 5000) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "page_size must be between 1 and 5000");
        goto fail;
    }
    if (c->range_size < 65536 || c->range_size > 268435456) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "range_size must be between 65536 and 268435456");
        goto fail;
    }
    if (c->max_retries < 0 || c->max_retries > 20) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "max_retries must be between 0 and 20");
        goto fail;
    }
    if (c->backoff_ms < 0)
        c->backoff_ms = 0;

    c->curl = curl_easy_init();
    if (!c->curl) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "cannot create an HTTP handle");
        goto fail;
    }
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    /* large receive buffer: fewer recv calls and fewer, larger writes */
    curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 10000L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, az_on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "dsrc-azure_blob/" AZ_VERSION);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (p->tls_ca && *p->tls_ca)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, p->tls_ca);
    if (p->tls_cert && *p->tls_cert)
        curl_easy_setopt(c->curl, CURLOPT_SSLCERT, p->tls_cert);
    if (p->tls_key && *p->tls_key)
        curl_easy_setopt(c->curl, CURLOPT_SSLKEY, p->tls_key);
    if (p->tls_key_passphrase && *p->tls_key_passphrase)
        curl_easy_setopt(c->curl, CURLOPT_KEYPASSWD, p->tls_key_passphrase);
    if (p->tls_mode && (strcmp(p->tls_mode, "require") == 0 ||
                        strcmp(p->tls_mode, "disable") == 0)) {
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
        az_log(ctx, DSRC_LOG_WARNING, "tls.mode '%s%s': the server certificate is not verified",
               p->tls_mode, "");
    } else if (p->tls_mode && strcmp(p->tls_mode, "verify-ca") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!c->key && !c->sas && !c->bearer)
        az_log(ctx, DSRC_LOG_INFO, "no credentials for account '%s'%s: requests are anonymous",
               c->account, "");

    /* A real round-trip, so wrong credentials fail at open. */
    st = az_ping_run(ctx, c, NULL, err);
    if (st != DSRC_OK)
        goto fail;
    az_connstr_free(&cs);
    free(ep_alloc);
    *out = c;
    return DSRC_OK;
fail:
    az_connstr_free(&cs);
    free(ep_alloc);
    az_conn_free(c);
    return st;
}

static void az_close(dsrc_conn *c)
{
    az_conn_free(c);
}

static dsrc_status az_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return az_ping_run(ctx, c, info, err);
}

static dsrc_status az_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Describe                                                                  */

typedef struct az_props {
    dsrc_kv kv[32];
    size_t n;
    char iso_mtime[32], iso_ctime[32], size[32];
} az_props;

static void az_prop(az_props *p, const char *k, const char *v)
{
    if (v && *v && p->n < sizeof p->kv / sizeof p->kv[0]) {
        p->kv[p->n].key = k;
        p->kv[p->n].value = v;
        p->n++;
    }
}

/* HEAD the blob (or the container when blob is ""): fills r. */
static dsrc_status az_head(const dsrc_ctx *ctx, dsrc_conn *c, const char *container,
                           const char *blob, az_resp *r, const char *what, dsrc_error *err)
{
    char *res;
    dsrc_status st;
    az_pair q[1] = {{"restype", "container"}};

    if (!*container)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "%s: give a container or container/blob", what);
    res = az_res_path(container, *blob ? blob : NULL);
    if (!res)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    r->body = AZ_BODY_NONE;
    st = az_request(ctx, c, "HEAD", res, q, *blob ? 0 : 1, NULL, NULL, r, what, err);
    free(res);
    return st;
}

static dsrc_status az_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                               const dsrc_meta_sink *sink, dsrc_error *err)
{
    char *container = NULL, *blob = NULL, *what = NULL, *path = NULL;
    char md5hex[33] = "";
    az_props *pr = NULL;
    dsrc_buf *metakeys = NULL;
    az_resp r;
    dsrc_item it;
    dsrc_metadata md;
    dsrc_status st;
    size_t i;
    int64_t t;

    memset(&r, 0, sizeof r);
    atomic_store(&c->cancel, 0);
    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "describe: no sink");
    st = az_split(c, item, &container, &blob, err);
    if (st != DSRC_OK)
        return st;
    if (asprintf(&what, "describe '%s'", item ? item : "") < 0)
        what = NULL;
    pr = calloc(1, sizeof *pr);
    if (!what || !pr) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    {
        size_t n = strlen(blob);
        while (n > 0 && blob[n - 1] == '/')
            blob[--n] = '\0';
    }
    st = az_head(ctx, c, container, blob, &r, what, err);
    if (st != DSRC_OK)
        goto out;
    {
        dsrc_buf pb = {0};
        az_item_path(&pb, c, container, blob);
        if (pb.failed)
            dsrc_buf_free(&pb);
        path = pb.s;
    }
    if (!path) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.path = path;
    it.name = *blob ? (strrchr(blob, '/') ? strrchr(blob, '/') + 1 : blob) : container;
    it.kind = *blob ? DSRC_ITEM_BLOB : DSRC_ITEM_CONTAINER;
    it.container = !*blob;
    it.rows = -1;
    it.size_bytes = *blob ? r.content_length : -1;
    it.mtime = az_http_time(r.last_modified);
    if (*blob) {
        snprintf(pr->size, sizeof pr->size, "%" PRId64, r.content_length);
        az_prop(pr, "size", pr->size);
        az_prop(pr, "content_type", r.content_type);
        az_prop(pr, "content_md5", r.content_md5);
        if (r.content_md5[0]) {
            unsigned char d[16];
            if (az_unb64(r.content_md5, d, sizeof d) == 16) {
                for (i = 0; i < 16; i++)
                    snprintf(md5hex + 2 * i, 3, "%02x", d[i]);
                az_prop(pr, "md5", md5hex);
            }
        }
        az_prop(pr, "content_encoding", r.content_encoding);
        az_prop(pr, "blob_type", r.blob_type);
        az_prop(pr, "access_tier", r.access_tier);
    }
    az_prop(pr, "etag", r.etag);
    az_iso(it.mtime, pr->iso_mtime, sizeof pr->iso_mtime);
    az_prop(pr, "last_modified", pr->iso_mtime);
    t = az_http_time(r.creation_time);
    az_iso(t, pr->iso_ctime, sizeof pr->iso_ctime);
    az_prop(pr, "creation_time", pr->iso_ctime);
    az_prop(pr, "lease_state", r.lease_state);
    metakeys = calloc(r.n_meta ? r.n_meta : 1, sizeof *metakeys);
    if (!metakeys || r.meta_failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < r.n_meta; i++) {
        dsrc_buf_add(&metakeys[i], "meta.");
        dsrc_buf_add(&metakeys[i], r.meta[i].key);
        if (metakeys[i].failed) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        az_prop(pr, metakeys[i].s, r.meta[i].value);
    }
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.properties = pr->kv;
    md.n_properties = pr->n;
    if (sink->metadata(sink->user, &md) != 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver", what);
out:
    if (metakeys) {
        for (i = 0; i < r.n_meta; i++)
            free(metakeys[i].s);
        free(metakeys);
    }
    az_resp_free(&r);
    free(pr);
    free(path);
    free(what);
    free(container);
    free(blob);
    return st;
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

static dsrc_status az_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
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

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

static dsrc_status az_list_op(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                              const dsrc_item_sink *sink, dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return az_list_run(ctx, c, path, sink, NULL, err);
}

static void az_unload(void)
{
    curl_global_cleanup();
}

static const dsrc_driver az_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "azure_blob",
    .version = AZ_VERSION,
    .description = "Azure Blob Storage containers and blobs (REST API)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_RAW | DSRC_CAP_CURSOR,
    .options = az_options,
    .open = az_open,
    .close = az_close,
    .ping = az_ping,
    .list = az_list_op,
    .describe = az_describe,
    .fetch = az_fetch,
    .cancel = az_cancel,
    .unload = az_unload,
};

DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version, const dsrc_host *host,
                                         dsrc_driver *drv, dsrc_error *err)
{
    dsrc_status s = dsrc_plugin_check("azure_blob", host_abi_version, drv, err);

    if (s != DSRC_OK)
        return s;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "libcurl failed to initialise");
    az_host = host;
    dsrc_driver_fill(drv, &az_driver);
    return DSRC_OK;
}

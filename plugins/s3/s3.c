/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3.c -- the Amazon S3 connector (and S3-compatible stores: MinIO, Ceph
 * RGW, s3rver) over the S3 REST API (libcurl for HTTP, expat for XML,
 * OpenSSL for MD5 and checksums).
 *
 * Items:
 *   ""                  the buckets (ListBuckets)
 *   "bucket"            a bucket: its objects and common prefixes
 *   "bucket/dir/"       objects and prefixes under a prefix ('/' is the
 *                       delimiter; a trailing '/' is optional)
 *   "bucket/dir/obj"    an object: describe() reads its properties (HEAD),
 *                       fetch() streams its bytes
 * A key's '/' are its hierarchy and stay as they are in a path; its '%' are
 * written %25 (<dsrc/plugin_util.h>).  With the `bucket` option set, paths
 * are relative to that bucket and the root lists its objects.
 *
 * Auth: every request is signed with AWS Signature Version 4 by the host
 * (dsrc_host.aws_sign, ABI 1.2) with the AWS credentials it resolves for
 * the source (the cloud group's keys, the environment, the shared
 * credentials file and profile): this plugin never sees a secret key, and
 * refuses a host older than 1.2 (DSRC_PLUGIN_MIN_ABI).  The payload is UNSIGNED-PAYLOAD (only
 * GET and HEAD are sent, without a body).
 *
 * Addressing: path-style (https://host/bucket/key) or virtual-host
 * (https://bucket.host/key); `auto` is virtual-host for AWS's own endpoint
 * and path-style for a custom one (MinIO, Ceph RGW, s3rver).
 *
 * fetch (raw bytes): HEAD, then GET in ranges of range_size bytes pinned to
 * the object's ETag (If-Match), each written straight to the byte sink, so
 * memory stays flat.  A dropped connection, a timeout, 5xx, 429 or
 * SlowDown is resumed from the last byte received, at most max_retries
 * times in a row with exponential backoff.  A single-part object's ETag is
 * the MD5 of its bytes and is verified; a full-object x-amz-checksum-sha256
 * or -sha1 is verified too; a mismatch is an error.
 *
 * fetch with a cursor field ("last_modified") on a bucket or prefix: the
 * objects modified after the cursor, as rows (name, size, etag,
 * last_modified) in (last_modified, key) order; the cursor is
 * "<last_modified> <key>".  Only objects of seconds that ended before the
 * listing began (the first page's Date) are delivered, as azure_blob does.
 *
 * Errors: backend_code is the HTTP status or "curl-N"; S3's Code and
 * Message are in the message.  No credential ever reaches a message.
 *
 * This file: the entry point, the option table, open, ping, close, cancel
 * and the small helpers the other files share.  s3.h lists the others.
 */
#include "s3.h"
#include "../common/dsrc_curl.h"

#include <strings.h>
#include <time.h>

DSRC_PLUGIN_ABI();

static const dsrc_host *s3_host_;

#define S3_ADDRESSING "auto|path|virtual"

static const dsrc_option s3_options[] = {
    {"endpoint", DSRC_OPT_STRING, 0, NULL, NULL,
     "S3 endpoint URL; default https://s3.<region>.amazonaws.com (MinIO, Ceph RGW, "
     "s3rver: e.g. http://127.0.0.1:9000)", {NULL, NULL}},
    {"region", DSRC_OPT_STRING, 0, NULL, NULL,
     "the bucket's region, for signing and the default endpoint; default cloud.region, "
     "else us-east-1", {NULL, NULL}},
    {"addressing", DSRC_OPT_ENUM, 0, "auto", S3_ADDRESSING,
     "path-style (host/bucket/key) or virtual-host (bucket.host/key); auto: virtual for "
     "AWS, path for a custom endpoint", {NULL, NULL}},
    {"bucket", DSRC_OPT_STRING, 0, NULL, NULL,
     "restrict the source to this bucket (paths become relative to it)", {NULL, NULL}},
    {"page_size", DSRC_OPT_INT, 0, "1000", NULL,
     "keys per ListObjectsV2 request (1..1000)", {NULL, NULL}},
    {"range_size", DSRC_OPT_INT, 0, "33554432", NULL,
     "bytes per ranged GET during fetch (65536..268435456)", {NULL, NULL}},
    {"max_retries", DSRC_OPT_INT, 0, "4", NULL,
     "resumptions in a row of one fetch range after a transient failure (0..20)",
     {NULL, NULL}},
    {"retry_backoff", DSRC_OPT_DURATION, 0, "250ms", NULL,
     "first wait before a fetch resumption; doubles each time (capped at 8s)", {NULL, NULL}},
    {"verify", DSRC_OPT_BOOL, 0, "true", NULL,
     "verify a fetched object against its ETag (MD5, single-part) and its checksum",
     {NULL, NULL}},
    {"connect_timeout", DSRC_OPT_DURATION, 0, "10s", NULL,
     "time limit for establishing a connection", {NULL, NULL}},
    {"timeout", DSRC_OPT_DURATION, 0, "5m", NULL,
     "time limit for one HTTP request (one list page, one fetch range)", {NULL, NULL}},
    DSRC_OPTION_END
};

static const dsrc_option_limit s3_limits[] = {
    {"bucket", 0, 0, 0, "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
     "a bucket name (3 to 63 lower-case letters, digits, '.' and '-')", {NULL, NULL}},
    {"region", 0, 0, 0, "[a-z0-9-]+", "a region name such as us-east-1", {NULL, NULL}},
    {"page_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 1000, NULL, NULL, {NULL, NULL}},
    {"range_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 65536, 268435456, NULL, NULL, {NULL, NULL}},
    {"max_retries", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 20, NULL, NULL, {NULL, NULL}},
    {"retry_backoff", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    {"timeout", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

const dsrc_host *s3_host(void)
{
    return s3_host_;
}

int s3_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (c && atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(s3_host_, ctx);
}

void s3_log(const dsrc_ctx *ctx, dsrc_log_level lvl, const char *fmt, const char *a,
            const char *b)
{
    if (s3_host_ && s3_host_->log)
        s3_host_->log(ctx, lvl, fmt, a, b);
}

void s3_iso(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || !gmtime_r(&tt, &tm)) {
        snprintf(buf, cap, "%s", "");
        return;
    }
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t s3_time(const char *s)
{
    struct tm tm;
    const char *end;

    if (!s || !*s)
        return -1;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end)
            return -1;
    }
    return (int64_t)timegm(&tm);
}

char *s3_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(3 * n + 1);

    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Open, ping, close                                                         */

static long s3_opt_long(const dsrc_open_params *p, const char *name, long def)
{
    const char *v = dsrc_opt(p, name);
    return v ? strtol(v, NULL, 10) : def;
}

static void s3_conn_free(dsrc_conn *c)
{
    if (!c)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->scheme);
    free(c->base_path);
    free(c->bucket);
    free(c->region);
    free(c);
}

/* Set scheme, hostport and base_path from an endpoint URL; -1 with `why`. */
static int s3_set_endpoint(dsrc_conn *c, const char *endpoint, char *why, size_t cap)
{
    const char *p = strstr(endpoint, "://"), *host, *slash;
    size_t n;

    if (!p || (strncasecmp(endpoint, "http://", 7) != 0 &&
               strncasecmp(endpoint, "https://", 8) != 0)) {
        snprintf(why, cap, "option 'endpoint': must start with http:// or https://");
        return -1;
    }
    if (strchr(endpoint, '?') || strchr(endpoint, '#') || strchr(endpoint, '@')) {
        snprintf(why, cap, "option 'endpoint': must not contain a query, fragment or user");
        return -1;
    }
    host = p + 3;
    slash = strchr(host, '/');
    n = slash ? (size_t)(slash - host) : strlen(host);
    if (n == 0 || n >= sizeof c->hostport) {
        snprintf(why, cap, "option 'endpoint': no host, or a host that is too long");
        return -1;
    }
    c->scheme = strndup(endpoint, (size_t)(p - endpoint));
    snprintf(c->hostport, sizeof c->hostport, "%.*s", (int)n, host);
    c->base_path = dsrc_strdup(slash ? slash : "");
    if (!c->scheme || !c->base_path)
        return -1;
    for (n = 0; c->scheme[n]; n++)
        c->scheme[n] = (char)(c->scheme[n] | 0x20);
    n = strlen(c->base_path);
    while (n > 0 && c->base_path[n - 1] == '/')
        c->base_path[--n] = '\0';
    return 0;
}

static dsrc_status s3_ping_run(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                               dsrc_error *err)
{
    s3_resp r;
    dsrc_status st;
    char what[400];

    memset(&r, 0, sizeof r);
    if (c->bucket) {
        snprintf(what, sizeof what, "bucket '%s' on %s", c->bucket, c->hostport);
        st = s3_head(ctx, c, c->bucket, "", &r, what, err);
    } else {
        snprintf(what, sizeof what, "list buckets on %s", c->hostport);
        r.body = S3_BODY_NONE;
        st = s3_request(ctx, c, "GET", "", NULL, NULL, 0, NULL, NULL, 0, &r, what, err);
    }
    if (st == DSRC_OK && info) {
        info->role = DSRC_ROLE_STANDALONE;
        snprintf(info->server_version, sizeof info->server_version, "%s",
                 r.server[0] ? r.server : "S3");
        snprintf(info->endpoint, sizeof info->endpoint, "%.*s", (int)sizeof info->endpoint - 1,
                 c->hostport);
    }
    s3_resp_free(&r);
    return st;
}

/* The checks of open() that need neither the network nor a secret. */
static dsrc_status s3_validate(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_error *err)
{
    const char *ep = dsrc_opt(p, "endpoint");
    dsrc_status st = dsrc_curl_tls_rule(p, ep, "endpoint", err);
    (void)ctx;
    if (st != DSRC_OK)
        return st;
    if (ep && strncasecmp(ep, "http://", 7) != 0 && strncasecmp(ep, "https://", 8) != 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'endpoint': must start with http:// or https://");
    return DSRC_OK;
}

static void s3_set_tls(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_open_params *p)
{
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
        if (strcmp(c->scheme, "https") == 0)
            s3_log(ctx, DSRC_LOG_WARNING,
                   "tls.mode '%s%s': the server certificate is not verified", p->tls_mode, "");
    } else if (p->tls_mode && strcmp(p->tls_mode, "verify-ca") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static dsrc_status s3_open(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_conn **out,
                           dsrc_error *err)
{
    const char *region = dsrc_opt(p, "region"), *endpoint = dsrc_opt(p, "endpoint");
    const char *addressing = dsrc_opt(p, "addressing"), *v;
    char why[256] = "", *ep_alloc = NULL;
    long connect_ms, timeout_ms;
    dsrc_conn *c;
    dsrc_status st;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    atomic_init(&c->cancel, 0);
    if (!region || !*region)
        region = p->cloud ? dsrc_kv_get(p->cloud, p->n_cloud, "region") : NULL;
    if (!region || !*region)
        region = "us-east-1";
    if (!endpoint || !*endpoint) {
        if (asprintf(&ep_alloc, "https://s3.%s.amazonaws.com", region) < 0) {
            ep_alloc = NULL;
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto fail;
        }
        if (!addressing || strcmp(addressing, "auto") == 0)
            addressing = "virtual";
    }
    if ((st = dsrc_curl_tls_rule(p, endpoint, "endpoint", err)) != DSRC_OK)
        goto fail;
    if (s3_set_endpoint(c, endpoint && *endpoint ? endpoint : ep_alloc, why, sizeof why) < 0) {
        st = dsrc_error_set(err, why[0] ? DSRC_E_INVALID_CONFIG : DSRC_E_INTERNAL, 0, NULL,
                            "%s", why[0] ? why : "out of memory");
        goto fail;
    }
    c->virtual_host = addressing && strcmp(addressing, "virtual") == 0;
    c->region = dsrc_strdup(region);
    if ((v = dsrc_opt(p, "bucket")) && *v)
        c->bucket = dsrc_strdup(v);
    if (!c->region || (v && *v && !c->bucket)) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto fail;
    }
    c->page_size = s3_opt_long(p, "page_size", 1000);
    c->range_size = s3_opt_long(p, "range_size", 33554432);
    c->max_retries = s3_opt_long(p, "max_retries", 4);
    c->backoff_ms = s3_opt_long(p, "retry_backoff", 250);
    c->verify = !(v = dsrc_opt(p, "verify")) || strcmp(v, "false") != 0;
    connect_ms = s3_opt_long(p, "connect_timeout", 10000);
    timeout_ms = s3_opt_long(p, "timeout", 300000);
    if (c->page_size < 1 || c->page_size > 1000 || c->range_size < 65536 ||
        c->range_size > 268435456 || c->max_retries < 0 || c->max_retries > 20) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "page_size (1..1000), range_size (65536..268435456) or "
                            "max_retries (0..20) out of range");
        goto fail;
    }
    if (c->backoff_ms < 0)
        c->backoff_ms = 0;
    if (!(c->curl = curl_easy_init())) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "cannot create an HTTP handle");
        goto fail;
    }
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 10000L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, s3_on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "dsrc-s3/" S3_VERSION);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    s3_set_tls(ctx, c, p);

    /* A real round-trip, so wrong credentials fail at open. */
    st = s3_ping_run(ctx, c, NULL, err);
    if (st != DSRC_OK)
        goto fail;
    free(ep_alloc);
    *out = c;
    return DSRC_OK;
fail:
    free(ep_alloc);
    s3_conn_free(c);
    return st;
}

static void s3_close(dsrc_conn *c)
{
    s3_conn_free(c);
}

static dsrc_status s3_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    atomic_store(&c->cancel, 0);
    return s3_ping_run(ctx, c, info, err);
}

static dsrc_status s3_cancel(dsrc_conn *c)
{
    if (c)
        atomic_store(&c->cancel, 1);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

static dsrc_status s3_setup(dsrc_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "libcurl failed to initialise");
    return DSRC_OK;
}

static void s3_unload(void)
{
    curl_global_cleanup();
}

static const dsrc_driver s3_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "s3",
    .option_limits = s3_limits,
    .validate = s3_validate,
    .version = S3_VERSION,
    .description = "Amazon S3 and S3-compatible object stores (REST API, SigV4 by the host)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_RAW | DSRC_CAP_CURSOR,
    .options = s3_options,
    DSRC_DRIVER_CALLS(s3),
    .describe = s3_describe,
    .cancel = s3_cancel,
    .unload = s3_unload,
};

DSRC_PLUGIN_INIT(s3_driver, &s3_host_, s3_setup)

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
 * that the host obtains (client credentials or managed identity: the
 * plugin never sees the client secret) and hands over through
 * dsrc_host.bearer_token (ABI 1.3), kept per connection until 5 minutes
 * before expiry; else requests are anonymous (public containers).
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
 *
 * This file: the entry point, the option table, open (with the `cloud`
 * group of an Entra ID source), ping, close and cancel, and the small
 * helpers the other files share.  az.h lists the other files.
 */
#include "az.h"
#include "../common/dsrc_curl.h"

#include <openssl/crypto.h>

#include <strings.h>
#include <time.h>

DSRC_PLUGIN_ABI();

static const dsrc_host *az_host;

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
    {"range_size", DSRC_OPT_INT, 0, "134217728", NULL,
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

void az_free_secret(char *s)
{
    az_wipe(s);
    free(s);
}

int az_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (c && atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(az_host, ctx);
}

int az_cancel_fd(const dsrc_ctx *ctx)
{
    return dsrc_cancel_fd(az_host, ctx);
}

void az_log(const dsrc_ctx *ctx, dsrc_log_level lvl, const char *fmt, const char *a,
            const char *b)
{
    if (az_host && az_host->log)
        az_host->log(ctx, lvl, fmt, a, b);
}



/* "2024-01-31T12:00:00Z" from seconds since the epoch. */
void az_iso(int64_t t, char *buf, size_t cap)
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
    dsrc_curl_free(c->multi, c->curl);
    free(c->account);
    az_free_secret(c->key);
    az_free_secret(c->sas);
    free(c->origin);
    free(c->base_path);
    free(c->container);
    free(c->api_version);
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
    r.cert_of = c->curl;
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
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_cert_not_after))
            info->server_cert_not_after = dsrc_cert_time(r.server_cert_not_after);
    }
    az_resp_free(&r);
    return st;
}

#define AZ_TOKEN_MARGIN 300 /* ask again this long before the token expires */
#define AZ_STORAGE_RESOURCE "https://storage.azure.com"
#define AZ_TOKEN_MAX 16384

/* A `provider = "azure"` source without a key or SAS: its requests carry
 * an Entra ID bearer token that the host obtains for it (the cloud group's
 * client credentials or managed identity, which the host checks and
 * keeps).  Sets c->bearer; DSRC_OK or DSRC_E_INVALID_CONFIG. */
static dsrc_status az_open_entra(dsrc_conn *c, dsrc_error *err)
{
    if (!az_host || !DSRC_HAS_MEMBER(az_host, dsrc_host, bearer_token) ||
        !az_host->bearer_token)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "Entra ID tokens come from the host: this host (plugin ABI "
                              "%u.%u) hands out none (ABI 1.3 or later does); use "
                              "connection.account_key or sas_token",
                              az_host ? (unsigned)(az_host->abi_version / 10000) : 0u,
                              az_host ? (unsigned)(az_host->abi_version % 10000) : 0u);
    if (strcmp(c->api_version, "2017-11-09") < 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "api_version %s is too old for Entra ID tokens (2017-11-09 "
                              "or later)", c->api_version);
    c->bearer = 1;
    return DSRC_OK;
}

dsrc_status az_token_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *what,
                         dsrc_error *err)
{
    char *buf;
    int64_t expires = 0;
    dsrc_status st;

    if (c->token && (int64_t)time(NULL) < c->token_exp - AZ_TOKEN_MARGIN)
        return DSRC_OK;
    if (!(buf = calloc(1, AZ_TOKEN_MAX)))
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
    st = dsrc_bearer_token(az_host, ctx, AZ_STORAGE_RESOURCE, buf, AZ_TOKEN_MAX, &expires, err);
    if (st == DSRC_OK) {
        az_free_secret(c->token);
        if (!(c->token = dsrc_strdup(buf)))
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
        c->token_exp = expires;
        az_log(ctx, DSRC_LOG_DEBUG, "got an Entra ID token from the host for %s%s", what, "");
    }
    OPENSSL_cleanse(buf, AZ_TOKEN_MAX);
    free(buf);
    return st;
}

/* The checks of az_open() that need neither the network nor a secret's
 * value (since ABI 1.1: the host calls this at check-config time, secrets
 * as a placeholder).  The cloud group's Entra ID credentials are the
 * host's to check. */
static dsrc_status az_validate(const dsrc_ctx *ctx, const dsrc_open_params *p, dsrc_error *err)
{
    dsrc_status st = dsrc_curl_tls_rule(p, dsrc_opt(p, "endpoint"), "endpoint", err);

    (void)ctx;
    if (st != DSRC_OK)
        return st;
    if (!dsrc_opt(p, "account") && !dsrc_opt(p, "connection_string"))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "no storage account: set connection.account or AccountName in "
                              "connection.connection_string");
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
    if ((st = dsrc_curl_tls_rule(p, endpoint, "endpoint", err)) != DSRC_OK)
        goto fail;
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
        st = az_open_entra(c, err);
        if (st != DSRC_OK)
            goto fail;
    }
    c->page_size = az_opt_long(p, "page_size", 5000);
    c->range_size = az_opt_long(p, "range_size", 134217728);
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
    /* The service is always TLS: prefer (and verify-full) is verified https. */
    if (p->tls_mode && strcmp(p->tls_mode, "disable") != 0 && strcmp(p->tls_mode, "prefer") != 0 &&
        strcmp(p->tls_mode, "require") != 0 && strcmp(p->tls_mode, "verify-ca") != 0 &&
        strcmp(p->tls_mode, "verify-full") != 0) {
        st = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                            "tls.mode '%s' is not one of disable, prefer, require, verify-ca, "
                            "verify-full", p->tls_mode);
        goto fail;
    }

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
/* Entry point                                                               */

static dsrc_status az_setup(dsrc_error *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "libcurl failed to initialise");
    return DSRC_OK;
}

static void az_unload(void)
{
    curl_global_cleanup();
}

/* Limits on single values (ABI 1.1), checked by the host with file:line;
 * az_open() checks them too. */
static const dsrc_option_limit az_limits[] = {
    {"account", 0, 0, 0, "[a-z0-9]+", "a storage account name (lower-case letters and digits)",
     {NULL, NULL}},
    {"page_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 1, 5000, NULL, NULL, {NULL, NULL}},
    {"range_size", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 65536, 268435456, NULL, NULL, {NULL, NULL}},
    {"max_retries", DSRC_LIMIT_MIN | DSRC_LIMIT_MAX, 0, 20, NULL, NULL, {NULL, NULL}},
    {"retry_backoff", DSRC_LIMIT_MIN, 0, 0, NULL, NULL, {NULL, NULL}},
    {"connect_timeout", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    {"timeout", DSRC_LIMIT_MIN, 1, 0, NULL, NULL, {NULL, NULL}},
    DSRC_OPTION_LIMIT_END,
};

static const dsrc_driver az_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "azure_blob",
    .option_limits = az_limits,
    .validate = az_validate,
    .version = AZ_VERSION,
    .description = "Azure Blob Storage containers and blobs (REST API)",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_RAW | DSRC_CAP_CURSOR,
    .options = az_options,
    DSRC_DRIVER_CALLS(az),
    .describe = az_describe,
    .cancel = az_cancel,
    .unload = az_unload,
};

DSRC_PLUGIN_INIT(az_driver, &az_host, az_setup)

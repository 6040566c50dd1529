/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_azure.c -- the azure provider of identity.h: Microsoft Entra ID
 * access tokens, from client credentials (the tenant's v2.0 token
 * endpoint) or from a managed identity (the Azure Instance Metadata
 * Service), through cloud_http.c.  The token is for a resource: Azure
 * Database for PostgreSQL / MySQL (AZURE_DB_RESOURCE) when a database
 * plugin gets it as its password, or what a plugin asks for through
 * dsrc_host.bearer_token (ABI 1.3; azure_blob.so: Azure Storage).
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/lazylib.h"
#include "base/redact.h"
#include "secret/cloud_http.h"
#include "secret/identity_int.h"
#include "secret/secret.h"

#define AZURE_DB_RESOURCE "https://ossrdbms-aad.database.windows.net"
#define AZURE_AUTHORITY "https://login.microsoftonline.com/"
#define AZURE_IMDS "http://169.254.169.254"
#define AZURE_IMDS_API "2018-02-01"

static int azure_msi(const cfg_source *cs)
{
    return identity_flag(cs, "use_managed_identity");
}

static int azure_wanted(const cfg_source *cs)
{
    const char *id = identity_cloud(cs, "client_id");
    const char *secret = identity_cloud(cs, "client_secret");
    return azure_msi(cs) || (id && *id && secret && *secret);
}

/* A growing string; NULL s after an allocation failure. */
typedef struct azure_str {
    char *s;
    size_t len, cap;
    int failed;
} azure_str;

static void azure_add(azure_str *b, const char *s, size_t n)
{
    char *p;
    size_t cap;

    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = malloc(cap))) {
            b->failed = 1;
            return;
        }
        if (b->s) {
            memcpy(p, b->s, b->len);
            secret_free_buf(b->s, b->cap - 1);
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void azure_adds(azure_str *b, const char *s)
{
    azure_add(b, s, strlen(s));
}

/* s form- or query-encoded (curl_easy_escape: every byte but
 * A-Za-z0-9-._~ as %XX), the encoded copy wiped after. */
static void azure_add_escaped(azure_str *b, const lazy_curl_api *cu, CURL *h,
                              const char *s)
{
    char *x = cu->easy_escape(h, s, 0);
    if (!x) {
        b->failed = 1;
        return;
    }
    azure_adds(b, x);
    explicit_bzero(x, strlen(x));
    cu->free(x);
}

static void azure_str_free(azure_str *b)
{
    if (b->s)
        secret_free_buf(b->s, b->cap - 1);
    memset(b, 0, sizeof *b);
}

/* base without trailing slashes, then "/" and rest. */
static void azure_join(azure_str *b, const char *base, const char *rest)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    azure_add(b, base, n);
    azure_adds(b, "/");
    azure_adds(b, rest);
}

/* A JSON member that is a number or a numeric string; -1 when absent. */
static long long azure_json_int(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    const char *s;
    char *end;
    long long x;

    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    if (!json_is_string(v) || !isdigit((unsigned char)*(s = json_string_value(v))))
        return -1;
    x = strtoll(s, &end, 10);
    return *end ? -1 : x;
}

/* The token of a successful answer into *token, its end of life into
 * *expires. */
static dsrc_status azure_take(const cloud_http_resp *resp, const char *what, time_t now,
                              char **token, time_t *expires, derr *e)
{
    json_t *doc = json_loadb(resp->body, resp->len, 0, NULL), *tok;
    long long in, on;
    dsrc_status st = DSRC_OK;

    tok = doc ? json_object_get(doc, "access_token") : NULL;
    if (!json_is_string(tok) || !*json_string_value(tok)) {
        st = derr_set(e, DSRC_E_BACKEND, "%s: the answer holds no access_token", what);
        goto out;
    }
    in = azure_json_int(doc, "expires_in");
    on = azure_json_int(doc, "expires_on");
    if (in < 0 && on < 0) {
        st = derr_set(e, DSRC_E_BACKEND, "%s: the answer holds neither expires_in nor "
                      "expires_on", what);
        goto out;
    }
    *expires = in >= 0 ? now + (time_t)in : (time_t)on;
    if (!(*token = strdup(json_string_value(tok))))
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
out:
    if (json_is_string(tok)) /* wipe jansson's copy before it is freed */
        explicit_bzero((char *)json_string_value(tok), json_string_length(tok));
    json_decref(doc);
    return st;
}

/* A refused answer: DSRC_E_AUTH for what says the credentials are wrong,
 * DSRC_E_BACKEND (retryable for 429 and 5xx) else. */
static dsrc_status azure_refused(const cloud_http_resp *resp, const char *what, int msi,
                                 derr *e)
{
    char why[320];
    dsrc_status st;
    int auth = resp->status == 400 || resp->status == 401 || resp->status == 403 ||
               resp->status == 404;

    cloud_http_why(resp, why, sizeof why);
    st = derr_set(e, auth ? DSRC_E_AUTH : DSRC_E_BACKEND,
                  "%s: the token endpoint refused the request: %s%s", what, why,
                  !auth ? ""
                  : msi ? "; check cloud.use_managed_identity and cloud.client_id"
                        : "; check cloud.tenant_id, cloud.client_id and cloud.client_secret");
    e->retryable = resp->status == 429 || resp->status >= 500;
    snprintf(e->code, sizeof e->code, "%ld", resp->status);
    return st;
}

/* A tenant id or domain: letters, digits, '.', '-', '_'. */
static int azure_tenant_ok(const char *tenant)
{
    return strspn(tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
           strlen(tenant);
}

dsrc_status identity_azure_check(const cfg_source *cs, derr *e)
{
    const char *tenant = identity_cloud(cs, "tenant_id");
    const char *client = identity_cloud(cs, "client_id");
    const char *secret = identity_cloud(cs, "client_secret");

    if (azure_msi(cs))
        return DSRC_OK;
    if ((tenant || client || secret) && (!tenant || !client || !secret))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "cloud.provider \"azure\" needs tenant_id, client_id and "
                        "client_secret (client credentials) or use_managed_identity = true; "
                        "it has %s%s%s",
                        tenant ? "tenant_id" : "", tenant && (client || secret) ? ", " : "",
                        client && secret ? "client_id, client_secret"
                        : client         ? "client_id"
                        : secret         ? "client_secret"
                                         : "");
    if (tenant && !azure_tenant_ok(tenant))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "cloud.tenant_id '%s' is not a tenant id or domain", tenant);
    return DSRC_OK;
}

static dsrc_status azure_token(const cfg_source *cs, const char *key_file,
                               const identity_target *t, char **token, identity_info *info,
                               derr *e)
{
    const char *resource = t->resource && *t->resource ? t->resource : AZURE_DB_RESOURCE;
    const char *client = identity_cloud(cs, "client_id");
    const char *tenant = identity_cloud(cs, "tenant_id");
    const char *hdrs[4] = {"Accept: application/json", NULL, NULL, NULL};
    const char *what;
    int msi = azure_msi(cs);
    azure_str url = {0}, form = {0};
    cloud_http_req r;
    cloud_http_resp resp;
    char *secret = NULL;
    time_t now = identity_now(), expires = 0;
    const lazy_curl_api *cu;
    dsrc_status st;
    CURL *h;
    size_t n;

    *token = NULL;
    if (client && !*client)
        client = NULL;
    memset(&r, 0, sizeof r);
    if (msi) {
        const char *base = identity_cloud(cs, "imds_endpoint");
        what = "the Azure Instance Metadata Service";
        r.flags = CLOUD_HTTP_METADATA | (base ? CLOUD_HTTP_CONFIGURED : 0);
        azure_join(&url, base && *base ? base : AZURE_IMDS, "metadata/identity/oauth2/token");
    } else {
        const char *ep = identity_cloud(cs, "token_endpoint");
        const char *authority = identity_cloud(cs, "authority_host");
        what = "Microsoft Entra ID";
        if (!tenant || !*tenant || !client || !identity_cloud(cs, "client_secret"))
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "cloud.provider \"azure\" needs tenant_id, client_id and "
                            "client_secret (client credentials) or use_managed_identity = "
                            "true");
        if (!azure_tenant_ok(tenant))
            return derr_set(e, DSRC_E_INVALID_CONFIG,
                            "cloud.tenant_id '%s' is not a tenant id or domain", tenant);
        if (ep && *ep) {
            azure_adds(&url, ep);
        } else {
            azure_join(&url, authority && *authority ? authority : AZURE_AUTHORITY, tenant);
            azure_adds(&url, "/oauth2/v2.0/token");
        }
        r.flags = (ep && *ep) || (authority && *authority) ? CLOUD_HTTP_CONFIGURED : 0;
    }
    if (url.failed || !url.s)
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    if (!cloud_http_url_ok(url.s, r.flags, what, e)) {
        azure_str_free(&url);
        return e->status;
    }
    if (!(cu = lazy_curl(e))) {
        azure_str_free(&url);
        return e->status;
    }
    if (!(h = cu->easy_init())) {
        azure_str_free(&url);
        return derr_set(e, DSRC_E_INTERNAL, "cannot start an HTTP request");
    }
    if (msi) {
        azure_adds(&url, "?api-version=" AZURE_IMDS_API "&resource=");
        azure_add_escaped(&url, cu, h, resource);
        if (client) {
            azure_adds(&url, "&client_id=");
            azure_add_escaped(&url, cu, h, client);
        }
        hdrs[1] = "Metadata: true";
        r.method = "GET";
    } else {
        st = secret_resolve(identity_cloud(cs, "client_secret"), NULL, key_file, &secret, NULL,
                            e);
        if (st != DSRC_OK) {
            derr_prefix(e, "cloud.client_secret");
            cu->easy_cleanup(h);
            azure_str_free(&url);
            return st;
        }
        if (redact_add(secret) < 0)
            form.failed = 1;
        azure_adds(&form, "grant_type=client_credentials&client_id=");
        azure_add_escaped(&form, cu, h, client);
        azure_adds(&form, "&client_secret=");
        azure_add_escaped(&form, cu, h, secret);
        azure_adds(&form, "&scope=");
        n = strlen(resource);
        while (n > 0 && resource[n - 1] == '/')
            n--;
        {
            char scope[1024];
            snprintf(scope, sizeof scope, "%.*s/.default", (int)n, resource);
            azure_add_escaped(&form, cu, h, scope);
        }
        secret_free(secret);
        hdrs[1] = "Content-Type: application/x-www-form-urlencoded";
        r.method = "POST";
        r.body = form.s;
        r.body_len = form.len;
    }
    cu->easy_cleanup(h);
    if (url.failed || form.failed) {
        azure_str_free(&url);
        azure_str_free(&form);
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    r.url = url.s;
    r.headers = hdrs;
    r.what = what;
    st = cloud_http(&r, &resp, e);
    azure_str_free(&url);
    azure_str_free(&form);
    if (st == DSRC_E_UNREACHABLE || st == DSRC_E_TIMEOUT)
        e->retryable = 1;
    if (st != DSRC_OK)
        return st;
    if (resp.status < 200 || resp.status > 299)
        st = azure_refused(&resp, what, msi, e);
    else
        st = azure_take(&resp, what, now, token, &expires, e);
    cloud_http_resp_free(&resp);
    if (st != DSRC_OK)
        return st;
    snprintf(info->provider, sizeof info->provider, "azure");
    snprintf(info->mode, sizeof info->mode, "%s",
             msi ? "managed-identity" : "client-credentials");
    if (msi)
        snprintf(info->principal, sizeof info->principal, "%s%s%s for %s",
                 client ? "managed identity, client " : "system-assigned managed identity",
                 client ? client : "", "", resource);
    else
        snprintf(info->principal, sizeof info->principal, "client %s of tenant %s for %s",
                 client, tenant, resource);
    info->expires = expires;
    return DSRC_OK;
}

const identity_provider identity_azure = {"azure", "Entra ID", azure_wanted, azure_token};

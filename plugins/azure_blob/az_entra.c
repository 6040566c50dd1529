/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_entra.c -- Microsoft Entra ID access tokens for the azure_blob
 * connector (see az.h): client credentials against the tenant's token
 * endpoint or a managed identity through IMDS, the token cached per
 * connection until AZ_TOKEN_MARGIN seconds before it expires.  Neither the
 * token nor the client secret ever reaches a message.
 */
#include "az.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <ctype.h>
#include <time.h>

#define AZ_TOKEN_MARGIN 300      /* refresh a token this long before expiry */
#define AZ_TOKEN_BODY_MAX 65536
#define AZ_STORAGE_SCOPE "https://storage.azure.com/.default"
#define AZ_STORAGE_RESOURCE "https://storage.azure.com/"

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
dsrc_status az_token_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *what,
                         dsrc_error *err)
{
    if (c->token && (int64_t)time(NULL) < c->token_exp - AZ_TOKEN_MARGIN)
        return DSRC_OK;
    return az_token_refresh(ctx, c, what, err);
}

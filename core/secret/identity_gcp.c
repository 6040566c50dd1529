/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_gcp.c -- the gcp provider of identity.h: OAuth 2.0 access tokens
 * for Cloud SQL IAM database authentication, from a service-account key
 * (a JWT signed RS256, exchanged at the token URI) or from the metadata
 * server (use_workload_identity).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "secret/cloud_http.h"
#include "secret/identity_int.h"
#include "secret/secret.h"

#define GCP_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_METADATA "http://metadata.google.internal"
#define GCP_METADATA_PATH "/computeMetadata/v1/instance/service-accounts/default/"
#define GCP_SCOPE "https://www.googleapis.com/auth/sqlservice.login"
#define GCP_JWT_LIFE 3600
#define GCP_KEY_FILE_MAX (64 * 1024)

/* ------------------------------------------------------------------------ */
/* The JWT                                                                   */

/* base64url of data without padding (RFC 7515 section 2); malloc'd. */
static char *gcp_b64url(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n, i;

    if (!out)
        return NULL;
    n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* base64url of the compact JSON of doc (which it releases); malloc'd. */
static char *gcp_b64json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL, *out;

    json_decref(doc);
    if (!text)
        return NULL;
    out = gcp_b64url((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

/* The RS256 signature of msg with the PEM private key pem, base64url, into
 * *sig; DSRC_OK or e filled (naming `file`, never the key). */
static dsrc_status gcp_rs256(const char *pem, const char *msg, const char *file, char **sig,
                             derr *e)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    dsrc_status st = DSRC_OK;

    *sig = NULL;
    if (!bio)
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    /* No passphrase callback: an encrypted key is refused, not prompted. */
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    if (!key || !EVP_PKEY_is_a(key, "RSA")) {
        st = derr_set(e, DSRC_E_INVALID_CONFIG,
                      "service account key file %s: field 'private_key' is not an "
                      "unencrypted PEM RSA private key", file);
        goto out;
    }
    if (!(ctx = EVP_MD_CTX_new()) ||
        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &raw_len, (const unsigned char *)msg, strlen(msg)) != 1 ||
        !(raw = malloc(raw_len)) ||
        EVP_DigestSign(ctx, raw, &raw_len, (const unsigned char *)msg, strlen(msg)) != 1 ||
        !(*sig = gcp_b64url(raw, raw_len)))
        st = derr_set(e, DSRC_E_INTERNAL, "cannot sign the service account JWT (RS256)");
out:
    if (raw)
        OPENSSL_cleanse(raw, raw_len);
    free(raw);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key); /* clears the key's private parts */
    BIO_free(bio);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The service-account key file                                              */

typedef struct gcp_key {
    json_t *doc;
    const char *email, *pem, *kid, *token_uri; /* in doc */
} gcp_key;

/* Wipe the private key's text where the parsed document holds it. */
static void gcp_key_free(gcp_key *k)
{
    json_t *pk = k->doc ? json_object_get(k->doc, "private_key") : NULL;

    if (json_is_string(pk))
        OPENSSL_cleanse((char *)json_string_value(pk), json_string_length(pk));
    json_decref(k->doc);
    memset(k, 0, sizeof *k);
}

/* The text of field `name`, required non-empty (optional: NULL allowed). */
static int gcp_field(gcp_key *k, const char *file, const char *name, int optional,
                     const char **out, derr *e)
{
    json_t *v = json_object_get(k->doc, name);

    *out = NULL;
    if (!v && optional)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "service account key file %s: field '%s' is %s (a string is required)",
                        file, name, v ? "not a non-empty string" : "missing"),
               -1;
    *out = json_string_value(v);
    return 0;
}

static dsrc_status gcp_key_read(const char *file, gcp_key *k, derr *e)
{
    char *buf = NULL;
    size_t len = 0;
    json_error_t je;
    const char *type;
    dsrc_status st;

    memset(k, 0, sizeof *k);
    st = secret_read_private_file(file, "service account key file", GCP_KEY_FILE_MAX, &buf,
                                  &len, e);
    if (st != DSRC_OK)
        return st;
    k->doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    secret_free_buf(buf, len);
    if (!k->doc) {
        /* je.text may quote the file's bytes: only the place is named */
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "service account key file %s is not valid JSON (line %d, column %d)",
                        file, je.line, je.column);
    }
    if (!json_is_object(k->doc)) {
        gcp_key_free(k);
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "service account key file %s is not a JSON object", file);
    }
    if (gcp_field(k, file, "type", 0, &type, e) < 0 ||
        gcp_field(k, file, "client_email", 0, &k->email, e) < 0 ||
        gcp_field(k, file, "private_key", 0, &k->pem, e) < 0 ||
        gcp_field(k, file, "private_key_id", 1, &k->kid, e) < 0 ||
        gcp_field(k, file, "token_uri", 1, &k->token_uri, e) < 0) {
        gcp_key_free(k);
        return e->status;
    }
    if (strcmp(type, "service_account") != 0) {
        gcp_key_free(k);
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "service account key file %s: field 'type' is not \"service_account\"",
                        file);
    }
    /* Not given to redact_add(): it would keep a copy of the key for the
     * life of the process; the key is never put in a message. */
    return DSRC_OK;
}

/* The signed JWT of k for the token endpoint aud at now; malloc'd (wipe). */
static dsrc_status gcp_jwt(const gcp_key *k, const char *file, const char *aud, time_t now,
                           char **jwt, derr *e)
{
    char *head, *claims = NULL, *msg = NULL, *sig = NULL;
    dsrc_status st = DSRC_OK;
    size_t n;

    *jwt = NULL;
    head = gcp_b64json(k->kid ? json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT",
                                          "kid", k->kid)
                              : json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT"));
    claims = gcp_b64json(json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", k->email, "scope",
                                   GCP_SCOPE, "aud", aud, "iat", (json_int_t)now, "exp",
                                   (json_int_t)(now + GCP_JWT_LIFE)));
    if (!head || !claims) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    n = strlen(head) + strlen(claims) + 2;
    if (!(msg = malloc(n))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    snprintf(msg, n, "%s.%s", head, claims);
    if ((st = gcp_rs256(k->pem, msg, file, &sig, e)) != DSRC_OK)
        goto out;
    n += strlen(sig) + 1;
    if (!(*jwt = malloc(n))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    snprintf(*jwt, n, "%s.%s", msg, sig);
out:
    free(head);
    free(claims);
    free(msg);
    secret_free(sig);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Token answers                                                             */

/* A refused answer: 400 / 401 / 403 are the credentials' fault. */
static dsrc_status gcp_refused(const cloud_http_resp *r, const char *what, const char *where,
                               derr *e)
{
    char why[256];

    cloud_http_why(r, why, sizeof why);
    if (r->status == 400 || r->status == 401 || r->status == 403)
        return derr_set(e, DSRC_E_AUTH, "%s at %s refused the credentials: %s", what, where,
                        why);
    derr_set(e, r->status >= 500 ? DSRC_E_UNREACHABLE : DSRC_E_BACKEND,
             "%s at %s failed: %s", what, where, why);
    e->retryable = r->status >= 500 || r->status == 429; /* may pass */
    return e->status;
}

/* {access_token, expires_in, token_type} of a 200 answer. */
static dsrc_status gcp_answer(const cloud_http_resp *r, const char *what, const char *where,
                              time_t now, char **token, time_t *expires, derr *e)
{
    json_t *doc, *at, *ex, *tt;
    dsrc_status st = DSRC_OK;

    if (r->status != 200)
        return gcp_refused(r, what, where, e);
    doc = json_loadb(r->body, r->len, 0, NULL);
    at = json_object_get(doc, "access_token");
    ex = json_object_get(doc, "expires_in");
    tt = json_object_get(doc, "token_type");
    if (!json_is_string(at) || !*json_string_value(at) || !json_is_integer(ex) ||
        json_integer_value(ex) <= 0 || json_integer_value(ex) > 86400 ||
        (tt && (!json_is_string(tt) || strcasecmp(json_string_value(tt), "Bearer") != 0))) {
        st = derr_set(e, DSRC_E_BACKEND,
                      "%s at %s: the answer is not an access token (access_token, "
                      "expires_in, token_type Bearer)", what, where);
    } else if (!(*token = strdup(json_string_value(at)))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    } else {
        *expires = now + (time_t)json_integer_value(ex);
    }
    if (json_is_string(at))
        OPENSSL_cleanse((char *)json_string_value(at), json_string_length(at));
    json_decref(doc);
    return st;
}

/* "scheme://host[:port]/path" of url for messages (no user information,
 * no query). */
static void gcp_where(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://"), *at;
    size_t host;

    if (p) {
        host = strcspn(p + 3, "/?#");
        at = memchr(p + 3, '@', host);
        if (at) {
            snprintf(buf, size, "%.*s%.*s", (int)(p + 3 - url), url,
                     (int)strcspn(at + 1, "?#"), at + 1);
            return;
        }
    }
    snprintf(buf, size, "%.*s", (int)strcspn(url, "?#"), url);
}

/* ------------------------------------------------------------------------ */
/* Service-account key                                                       */

static dsrc_status gcp_from_key(const cfg_source *cs, const char *file, char **token,
                                identity_info *info, derr *e)
{
    static const char form[] = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                               "grant-type%3Ajwt-bearer&assertion=";
    const char *uri = identity_cloud(cs, "token_uri");
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                          "Accept: application/json", NULL};
    unsigned flags = CLOUD_HTTP_CONFIGURED;
    cloud_http_req req;
    cloud_http_resp resp;
    time_t now = identity_now();
    char *jwt = NULL, *body = NULL, where[512];
    size_t n = 0;
    gcp_key k;
    dsrc_status st;

    if ((st = gcp_key_read(file, &k, e)) != DSRC_OK)
        return st;
    if (!uri) {
        /* the key file is not the configuration: https only */
        uri = k.token_uri ? k.token_uri : GCP_TOKEN_URI;
        flags = 0;
    }
    if (!cloud_http_url_ok(uri, flags, "Google token", e)) {
        if (!flags)
            derr_prefix(e, "service account key file %s: field 'token_uri' (set "
                        "cloud.token_uri to use another endpoint)", file);
        gcp_key_free(&k);
        return e->status;
    }
    st = gcp_jwt(&k, file, uri, now, &jwt, e);
    if (st == DSRC_OK)
        n = sizeof form + strlen(jwt);
    if (st == DSRC_OK && !(body = malloc(n)))
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
    if (st != DSRC_OK) {
        secret_free(jwt);
        gcp_key_free(&k);
        return st;
    }
    snprintf(body, n, "%s%s", form, jwt);
    secret_free(jwt);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.url = uri;
    req.headers = hdrs;
    req.body = body;
    req.body_len = strlen(body);
    req.flags = flags;
    req.what = "Google token endpoint";
    gcp_where(uri, where, sizeof where);
    st = cloud_http(&req, &resp, e);
    secret_free(body);
    if (st == DSRC_OK)
        st = gcp_answer(&resp, req.what, where, now, token, &info->expires, e);
    cloud_http_resp_free(&resp);
    if (st == DSRC_OK) {
        snprintf(info->provider, sizeof info->provider, "gcp");
        snprintf(info->mode, sizeof info->mode, "service-account");
        snprintf(info->principal, sizeof info->principal, "%s (key file %s)", k.email, file);
    }
    gcp_key_free(&k);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Workload identity: the metadata server                                    */

/* GET base + GCP_METADATA_PATH + leaf into *resp (200 only). */
static dsrc_status gcp_metadata_get(const char *base, unsigned flags, const char *leaf,
                                    cloud_http_resp *resp, char *where, size_t wsize,
                                    derr *e)
{
    static const char *const hdrs[] = {"Metadata-Flavor: Google", NULL};
    cloud_http_req req;
    char url[1024];
    size_t n = strlen(base);
    dsrc_status st;

    while (n > 0 && base[n - 1] == '/')
        n--;
    snprintf(url, sizeof url, "%.*s%s%s", (int)n, base, GCP_METADATA_PATH, leaf);
    gcp_where(url, where, wsize);
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.url = url;
    req.headers = hdrs;
    req.flags = flags;
    req.what = "GCP metadata server";
    req.timeout_ms = 5000;
    st = cloud_http(&req, resp, e);
    if (st == DSRC_OK && resp->status != 200 && strcmp(leaf, "email") == 0) {
        st = gcp_refused(resp, req.what, where, e);
        cloud_http_resp_free(resp);
    }
    return st;
}

static dsrc_status gcp_from_metadata(const cfg_source *cs, char **token, identity_info *info,
                                     derr *e)
{
    const char *base = identity_cloud(cs, "metadata_endpoint");
    unsigned flags = CLOUD_HTTP_METADATA | (base ? CLOUD_HTTP_CONFIGURED : 0);
    cloud_http_resp resp;
    time_t now = identity_now();
    char where[1024], email[200];
    size_t i;
    dsrc_status st;

    if (!base)
        base = GCP_METADATA;
    st = gcp_metadata_get(base, flags, "email", &resp, where, sizeof where, e);
    if (st != DSRC_OK)
        return st;
    for (i = 0; i < resp.len && i + 1 < sizeof email; i++) {
        unsigned char c = (unsigned char)resp.body[i];
        if (c <= ' ' || c >= 0x7f)
            break;
        email[i] = (char)c;
    }
    email[i] = '\0';
    cloud_http_resp_free(&resp);
    if (!*email || !strchr(email, '@'))
        return derr_set(e, DSRC_E_BACKEND, "GCP metadata server at %s: no service account "
                        "email in the answer", where);
    st = gcp_metadata_get(base, flags, "token", &resp, where, sizeof where, e);
    if (st != DSRC_OK)
        return st;
    st = gcp_answer(&resp, "GCP metadata server", where, now, token, &info->expires, e);
    cloud_http_resp_free(&resp);
    if (st == DSRC_OK) {
        snprintf(info->provider, sizeof info->provider, "gcp");
        snprintf(info->mode, sizeof info->mode, "workload-identity");
        snprintf(info->principal, sizeof info->principal, "%s (metadata server)", email);
    }
    return st;
}

/* ------------------------------------------------------------------------ */

static dsrc_status gcp_token(const cfg_source *cs, const char *key_file,
                             const identity_target *t, char **token, identity_info *info,
                             derr *e)
{
    (void)key_file;
    (void)t;
    *token = NULL;
    if (identity_flag(cs, "use_workload_identity") && identity_cloud(cs, "service_account_file"))
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "set either cloud.service_account_file or cloud.use_workload_identity, "
                        "not both");
    if (identity_flag(cs, "use_workload_identity"))
        return gcp_from_metadata(cs, token, info, e);
    return gcp_from_key(cs, identity_cloud(cs, "service_account_file"), token, info, e);
}

static int gcp_wanted(const cfg_source *cs)
{
    return identity_flag(cs, "use_workload_identity") ||
           identity_cloud(cs, "service_account_file") != NULL;
}

const identity_provider identity_gcp = {"gcp", "service account", gcp_wanted, gcp_token};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_http.c -- one HTTP exchange of the azure_blob connector, over the
 * connection's libcurl handle (see az.h): the request built and
 * authorised (Shared Key, SAS or an Entra ID bearer token), the response
 * headers, the body fed to an expat parser or to the fetch in progress,
 * the service's XML error body, and dsrc_error filled from a failed
 * exchange without any credential in its message.
 */
#include "az.h"
#include "../common/dsrc_curl.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define AZ_ERRBODY_MAX 8192

/* ------------------------------------------------------------------------ */
/* One HTTP exchange                                                         */

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

void az_resp_free(az_resp *r)
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

/* The notAfter of the certificate the server presented on the connection
 * of the transfer in progress on `easy` (libcurl's TLS is OpenSSL's: its
 * SSL object, valid during the transfer); 0 without TLS or when unknown. */
static int64_t az_peer_not_after(CURL *easy)
{
    struct curl_tlssessioninfo *ti = NULL;
    const X509 *x;
    int days = 0, secs = 0;

    if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || !ti ||
        ti->backend != CURLSSLBACKEND_OPENSSL || !ti->internals ||
        !(x = SSL_get0_peer_certificate((SSL *)ti->internals)) ||
        !ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
        return 0;
    return (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
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
        CURL *cert_of = r->cert_of;
        const char *sp = memchr(data, ' ', len);
        az_resp_clear_meta(r);
        memset(r, 0, sizeof *r);
        r->cert_of = cert_of;
        if (cert_of)
            r->server_cert_not_after = az_peer_not_after(cert_of);
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

int az_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    dsrc_conn *c = user;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return az_cancelled(c->ctx, c) ? 1 : 0;
}

static int az_perform_cancelled(void *user)
{
    dsrc_conn *c = user;
    return az_cancelled(c->ctx, c);
}

/* curl_easy_perform() on c->curl through the connection's multi handle:
 * a cancelled call stops at once even while the service does not answer
 * (the progress callback is called only about once a second then); see
 * dsrc_curl_perform(). */
static CURLcode az_perform(dsrc_conn *c)
{
    return dsrc_curl_perform(&c->multi, c->curl, az_cancel_fd(c->ctx), az_perform_cancelled, c);
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
int az_leaks(const dsrc_conn *c, const char *msg)
{
    if (c->key && *c->key && strstr(msg, c->key))
        return 1;
    if (c->sas && *c->sas && strstr(msg, c->sas))
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
        if (r->cc == CURLE_WRITE_ERROR && r->stopped)
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                  "%s: stopped by the receiver", what);
        if (r->cc == CURLE_WRITE_ERROR && r->xml_bad)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, "xml",
                                  "%s: the service sent a listing that is not valid XML",
                                  what);
        return dsrc_curl_fail(err, r->cc, what, cmsg, c->hostport,
                              "; check connection.endpoint / connection.account and that the "
                              "service accepts connections from here",
                              "; TLS failed: check tls.mode and tls.ca, and that the endpoint's "
                              "certificate is issued for its host name",
                              "; check connection.endpoint");
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

/* Build and send one request.  `path` is the encoded path below the base
 * path ("/", "/container", "/container/blob").  Returns DSRC_OK for a 2xx
 * response; else fills err (through az_fail) and returns its status.  The
 * response is in `r` either way (the caller frees it with az_resp_free). */
dsrc_status az_request(const dsrc_ctx *ctx, dsrc_conn *c, const char *verb,
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
    CURL *cert_of = r->cert_of;
    memset(r, 0, sizeof *r);
    r->body = body;
    r->xp = xp;
    r->fetch = f;
    r->cert_of = cert_of;
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
    r->cc = az_perform(c);
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

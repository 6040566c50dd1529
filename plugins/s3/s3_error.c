/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_error.c -- errors of the s3 connector (see s3.h): S3's XML error body
 * (<Error><Code/><Message/></Error>) and the dsrc_error of a failed
 * exchange: 403 SignatureDoesNotMatch / InvalidAccessKeyId and their kin
 * are DSRC_E_AUTH, AccessDenied DSRC_E_PERMISSION, NoSuchBucket / NoSuchKey
 * DSRC_E_NOT_FOUND, 5xx, 429 and SlowDown retryable; S3's Code and the
 * first line of its Message go into the message, which never holds a
 * credential (the plugin has none, and URLs are never printed).
 */
#include "s3.h"
#include "../common/dsrc_curl.h"

/* Code and Message of an error body. */
typedef struct s3_errxml {
    dsrc_buf text;
    s3_resp *r;
} s3_errxml;

static void XMLCALL s3_err_start(void *u, const XML_Char *name, const XML_Char **atts)
{
    s3_errxml *e = u;
    (void)name;
    (void)atts;
    dsrc_buf_reset(&e->text);
}

static void XMLCALL s3_err_text(void *u, const XML_Char *s, int len)
{
    s3_errxml *e = u;
    if (e->text.len + (size_t)len < 4096)
        dsrc_buf_addn(&e->text, s, (size_t)len);
}

static void XMLCALL s3_err_end(void *u, const XML_Char *name)
{
    s3_errxml *e = u;
    const char *t = e->text.s ? e->text.s : "";
    if (strcmp(name, "Code") == 0 && !e->r->code[0])
        snprintf(e->r->code, sizeof e->r->code, "%s", t);
    else if (strcmp(name, "Message") == 0 && !e->r->message[0])
        snprintf(e->r->message, sizeof e->r->message, "%.*s", (int)strcspn(t, "\r\n"), t);
    dsrc_buf_reset(&e->text);
}

void s3_parse_error_body(s3_resp *r)
{
    s3_errxml e;
    XML_Parser p;

    if (!r->errbody.s || r->errbody.len == 0 || !(p = XML_ParserCreate("UTF-8")))
        return;
    memset(&e, 0, sizeof e);
    e.r = r;
    XML_SetUserData(p, &e);
    XML_SetElementHandler(p, s3_err_start, s3_err_end);
    XML_SetCharacterDataHandler(p, s3_err_text);
    XML_Parse(p, r->errbody.s, (int)r->errbody.len, 1);
    XML_ParserFree(p);
    dsrc_buf_free(&e.text);
}

static int s3_code_is(const s3_resp *r, const char *code)
{
    return strcmp(r->code, code) == 0;
}

/* The status of an HTTP error answer, its retryability and advice. */
static dsrc_status s3_http_status(const s3_resp *r, int *retryable, const char **advice)
{
    *retryable = 0;
    *advice = "";
    if (s3_code_is(r, "NoSuchBucket") || s3_code_is(r, "NoSuchKey") || r->status == 404)
        return DSRC_E_NOT_FOUND;
    if (s3_code_is(r, "SlowDown") || r->status == 429 || r->status >= 500) {
        *retryable = 1;
        if (s3_code_is(r, "SlowDown") || r->status == 429 || r->status == 503)
            *advice = "; the service is throttling requests";
        return DSRC_E_BACKEND;
    }
    if (s3_code_is(r, "SignatureDoesNotMatch") || s3_code_is(r, "InvalidAccessKeyId") ||
        s3_code_is(r, "InvalidToken") || s3_code_is(r, "ExpiredToken") ||
        s3_code_is(r, "TokenRefreshRequired") || s3_code_is(r, "RequestTimeTooSkewed") ||
        s3_code_is(r, "AuthorizationHeaderMalformed") || r->status == 401) {
        *advice = s3_code_is(r, "AuthorizationHeaderMalformed")
                      ? "; check connection.region (or cloud.region): it must be the bucket's"
                      : "; check the AWS credentials (cloud.access_key_id / secret_access_key, "
                        "the environment or the shared credentials file's profile)";
        return DSRC_E_AUTH;
    }
    if (r->status == 403) {
        *advice = "; the credentials do not allow this";
        return DSRC_E_PERMISSION;
    }
    if (r->status == 301 || s3_code_is(r, "PermanentRedirect")) {
        *advice = "; the bucket is in another region or needs another endpoint";
        return DSRC_E_INVALID_CONFIG;
    }
    if (r->status == 408) {
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    }
    if (r->status == 412) {
        *retryable = 1;
        *advice = "; the object changed while it was being read";
        return DSRC_E_BACKEND;
    }
    if (r->status == 416 || s3_code_is(r, "InvalidArgument") ||
        s3_code_is(r, "InvalidBucketName"))
        return DSRC_E_INVALID_ARGUMENT;
    return DSRC_E_BACKEND;
}

dsrc_status s3_fail(dsrc_conn *c, const s3_resp *r, const char *what, dsrc_error *err)
{
    char code[DSRC_BACKEND_CODE_MAX];
    const char *advice;
    dsrc_status st;
    int retryable;

    if (r->cc != CURLE_OK) {
        const char *cmsg = c->curl_err[0] ? c->curl_err : curl_easy_strerror(r->cc);
        if (r->cc == CURLE_ABORTED_BY_CALLBACK)
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
        if (r->cc == CURLE_WRITE_ERROR && r->stopped)
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                                  what);
        if (r->cc == CURLE_WRITE_ERROR && r->xml_bad)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, "xml",
                                  "%s: the service sent a listing that is not valid XML", what);
        return dsrc_curl_fail(err, r->cc, what, cmsg, c->hostport,
                              "; check connection.endpoint and that the service accepts "
                              "connections from here",
                              "; TLS failed: check tls.mode and tls.ca, and that the endpoint's "
                              "certificate is issued for its host name",
                              "; check connection.endpoint");
    }
    snprintf(code, sizeof code, "%ld", r->status);
    st = s3_http_status(r, &retryable, &advice);
    return dsrc_error_set(err, st, retryable, code, "%s: HTTP %ld%s%s%s%s%s", what, r->status,
                          r->code[0] ? " " : "", r->code, r->message[0] ? ": " : "",
                          r->message, advice);
}

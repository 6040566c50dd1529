/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp_error.c -- dsrc_error of the http connector: a failed exchange
 * (transport failure or HTTP status) and a body that is not JSON.
 *
 * Mapping: 401 auth, 403 permission, 404 not found, 408 and 504 timeout,
 * 429 and 503 (once their retries ran out) and 5xx retryable backend
 * errors, other 4xx backend errors.  The API's own message is never
 * quoted (it may echo a credential); the status and the item are.
 */
#include "hp.h"

static dsrc_status hp_fail_curl(dsrc_conn *c, const hp_resp *r, const char *what,
                                dsrc_error *err)
{
    char code[DSRC_BACKEND_CODE_MAX];
    const char *cmsg = curl_easy_strerror(r->cc), *advice = "";
    dsrc_status st = DSRC_E_UNREACHABLE;
    int retryable = 1;

    snprintf(code, sizeof code, "curl-%d", (int)r->cc);
    switch (r->cc) {
    case CURLE_ABORTED_BY_CALLBACK:
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
    case CURLE_WRITE_ERROR:
        if (r->too_big)
            return dsrc_error_set(err, DSRC_E_BACKEND, 0, "size",
                                  "%s: the response is larger than max_page_size (%lld "
                                  "bytes); lower the item's page_size or raise max_page_size",
                                  what, (long long)r->max);
        st = DSRC_E_INTERNAL;
        retryable = 0;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        advice = "; check connection.base_url and that the API accepts connections from here";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        st = DSRC_E_TIMEOUT;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        snprintf(code, sizeof code, "%s", "tls");
        retryable = 0;
        advice = "; TLS failed: check tls.mode and tls.ca";
        break;
    case CURLE_OUT_OF_MEMORY:
        st = DSRC_E_INTERNAL;
        retryable = 0;
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        st = DSRC_E_INVALID_CONFIG;
        retryable = 0;
        advice = "; check connection.base_url and the item's path";
        break;
    default:
        break;
    }
    return dsrc_error_set(err, st, retryable, code, "%s: %s (%s)%s", what, cmsg, c->origin,
                          advice);
}

dsrc_status hp_fail(dsrc_conn *c, const hp_resp *r, const char *what, dsrc_error *err)
{
    char code[DSRC_BACKEND_CODE_MAX];
    dsrc_status st = DSRC_E_BACKEND;
    int retryable = 0;
    const char *advice = "";

    if (r->cc != CURLE_OK)
        return hp_fail_curl(c, r, what, err);
    snprintf(code, sizeof code, "%ld", r->status);
    switch (r->status) {
    case 401:
        st = DSRC_E_AUTH;
        advice = ": the API refused the credentials (check connection.auth and its secret)";
        break;
    case 403:
        st = DSRC_E_PERMISSION;
        advice = ": the credentials are not allowed to read it";
        break;
    case 404:
    case 410:
        st = DSRC_E_NOT_FOUND;
        advice = ": no such resource (check the item's path)";
        break;
    case 408:
    case 504:
        st = DSRC_E_TIMEOUT;
        retryable = 1;
        break;
    case 429:
        retryable = 1;
        advice = ": rate limited, and Retry-After ran past max_retries / max_retry_wait";
        break;
    default:
        retryable = r->status >= 500;
        if (retryable)
            advice = ": the API failed (retryable)";
        break;
    }
    return dsrc_error_set(err, st, retryable, code, "%s: HTTP %ld%s", what, r->status, advice);
}

dsrc_status hp_parse(const hp_resp *r, json_t **doc, const char *what, dsrc_error *err)
{
    json_error_t je;

    *doc = json_loadb(r->body.s ? r->body.s : "", r->body.len, JSON_ALLOW_NUL, &je);
    if (*doc)
        return DSRC_OK;
    return dsrc_error_set(err, DSRC_E_BACKEND, 0, "json",
                          "%s: the response is not valid JSON at byte %d (line %d, column %d):"
                          " %s",
                          what, je.position, je.line, je.column, je.text);
}

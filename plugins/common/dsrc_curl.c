/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsrc_curl.c -- one libcurl transfer that a cancel stops at once, and
 * what a failed one means, shared by the libcurl plugins (see dsrc_curl.h).
 */
#include "dsrc_curl.h"

#include <dsrc/plugin_util.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

CURLcode dsrc_curl_perform(CURLM **multi, CURL *easy, int cancel_fd,
                           dsrc_curl_cancelled_fn cancelled, void *user)
{
    int running = 1, done = 0;
    CURLcode cc = CURLE_OK;

    if (cancel_fd < 0 || (!*multi && !(*multi = curl_multi_init())) ||
        curl_multi_add_handle(*multi, easy) != CURLM_OK)
        return curl_easy_perform(easy);
    while (!done) {
        struct curl_waitfd wfd = {.fd = cancel_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(*multi, &running) != CURLM_OK) {
            cc = CURLE_OUT_OF_MEMORY;
            break;
        }
        while ((msg = curl_multi_info_read(*multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                cc = msg->data.result;
                done = 1;
            }
        if (done)
            break;
        if (curl_multi_poll(*multi, &wfd, 1, 1000, NULL) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (wfd.revents || cancelled(user)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    curl_multi_remove_handle(*multi, easy);
    return cc;
}

void dsrc_curl_free(CURLM *multi, CURL *easy)
{
    if (multi)
        curl_multi_cleanup(multi);
    if (easy)
        curl_easy_cleanup(easy);
}

dsrc_status dsrc_curl_fail(dsrc_error *err, CURLcode cc, const char *what, const char *msg,
                           const char *where, const char *connect_advice,
                           const char *tls_advice, const char *config_advice)
{
    char code[DSRC_BACKEND_CODE_MAX];
    const char *advice = "";
    dsrc_status st = DSRC_E_UNREACHABLE; /* dropped connections, send/receive errors */
    int retryable = 1;

    snprintf(code, sizeof code, "curl-%d", (int)cc);
    switch (cc) {
    case CURLE_ABORTED_BY_CALLBACK:
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        advice = connect_advice;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        st = DSRC_E_TIMEOUT;
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
        retryable = 0;
        advice = tls_advice;
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_OUT_OF_MEMORY:
        st = DSRC_E_INTERNAL;
        retryable = 0;
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        st = DSRC_E_INVALID_CONFIG;
        retryable = 0;
        advice = config_advice;
        break;
    default:
        break;
    }
    st = dsrc_error_set(err, st, retryable, code, "%s: %s (%s)%s", what, msg, where,
                        advice ? advice : "");
    if (err)
        err->connection_broken = 0;
    return st;
}

dsrc_status dsrc_curl_tls_rule(const dsrc_open_params *p, const char *url, const char *option,
                               dsrc_error *err)
{
    const char *where;

    if (p->location != DSRC_LOC_CLOUD && p->location != DSRC_LOC_HYBRID)
        return DSRC_OK;
    where = p->location == DSRC_LOC_CLOUD ? "cloud" : "hybrid";
    if (p->tls_mode && (strcmp(p->tls_mode, "disable") == 0 ||
                        strcmp(p->tls_mode, "prefer") == 0))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "tls.mode '%s' is not allowed for a %s source: it could send "
                              "the credentials and the data in plain text; use require or "
                              "verify-full", p->tls_mode, where);
    if (url && strncasecmp(url, "http://", 7) == 0)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option '%s' is a plain http:// URL, not allowed for a %s "
                              "source: it would send the credentials and the data in plain "
                              "text; use https://", option, where);
    return DSRC_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsrc_curl.h -- what the libcurl plugins (azure_blob, clickhouse, http, s3)
 * share: one transfer that a cancel stops at once, and what a failed
 * transfer means.  The source is compiled into each of those plugins
 * (their _SOURCES name it); it uses only <dsrc/plugin.h>,
 * <dsrc/plugin_util.h> and libcurl, never a header of the host.
 *
 * Prefix: dsrc_curl_.
 */
#ifndef DSRC_PLUGINS_COMMON_DSRC_CURL_H
#define DSRC_PLUGINS_COMMON_DSRC_CURL_H

#include <dsrc/plugin.h>

#include <curl/curl.h>

/* Whether the call was cancelled (the plugin's flag, the host's
 * dsrc_cancelled()); nonzero stops the transfer. */
typedef int (*dsrc_curl_cancelled_fn)(void *user);

/* curl_easy_perform() of `easy`, run through the multi handle `*multi`
 * (made on first use and kept there for the next transfer: the caller
 * frees it with curl_multi_cleanup(); `easy` is removed from it before the
 * return), so that the wait is
 * on the transfer's sockets and on the host's cancel descriptor
 * `cancel_fd` too: a cancelled call stops at once even while the server
 * does not answer.  After each wait (at most 1 s) `cancelled(user)` is
 * asked.  Returns the transfer's CURLcode; CURLE_ABORTED_BY_CALLBACK when
 * the descriptor became readable or `cancelled` said so; CURLE_OUT_OF_MEMORY
 * or CURLE_RECV_ERROR when the multi interface failed.  Without a
 * descriptor (cancel_fd < 0, a 1.0 host), or when the multi handle cannot
 * be had, plain curl_easy_perform(): the caller's progress callback is
 * then what notices a cancel. */
CURLcode dsrc_curl_perform(CURLM **multi, CURL *easy, int cancel_fd,
                           dsrc_curl_cancelled_fn cancelled, void *user);

/* curl_multi_cleanup(multi) and curl_easy_cleanup(easy), each when not
 * NULL: a connection's handles, at its close. */
void dsrc_curl_free(CURLM *multi, CURL *easy);

/* Fill `err` for a transfer that failed with `cc` (its own receiver's
 * refusals, CURLE_WRITE_ERROR with a reason of the plugin's, are the
 * caller's to report first): cancelled for CURLE_ABORTED_BY_CALLBACK;
 * unreachable and retryable for name resolution, connection and transport
 * failures (`connect_advice` appended for the first two); timeout,
 * retryable; unreachable with the backend code "tls", not retryable, for
 * TLS and certificate failures (`tls_advice` appended); invalid-config for
 * a URL or protocol curl refuses (`config_advice`); internal for out of
 * memory and a write error.  The message is "WHAT: MSG (WHERE)ADVICE",
 * `msg` curl's text (the caller makes sure it holds no secret), the
 * backend code "curl-N" unless said otherwise; connection_broken is left
 * 0.  Returns the status stored. */
dsrc_status dsrc_curl_fail(dsrc_error *err, CURLcode cc, const char *what, const char *msg,
                           const char *where, const char *connect_advice,
                           const char *tls_advice, const char *config_advice);

/* The rule every plugin keeps: a cloud or hybrid source is never sent in
 * plain text.  For such a source (p->location), `url` (the value of
 * option `option`, may be NULL: nothing to check) must be https:// and the
 * TLS mode (p->tls_mode, NULL: the plugin's default) may not be disable or
 * prefer.  Returns DSRC_OK, or DSRC_E_INVALID_CONFIG in `err` saying what
 * to change. */
dsrc_status dsrc_curl_tls_rule(const dsrc_open_params *p, const char *url, const char *option,
                               dsrc_error *err);

#endif /* DSRC_PLUGINS_COMMON_DSRC_CURL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsrc_curl.c -- one libcurl transfer that a cancel stops at once, shared
 * by the libcurl plugins (see dsrc_curl.h).
 */
#include "dsrc_curl.h"

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

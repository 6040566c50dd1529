/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp_conn.c -- one HTTP GET of the http connector over libcurl.
 *
 * The request carries the source's auth: basic (user and password through
 * libcurl), a bearer token, an API key header, or an OAuth2 access token
 * got with the client credentials grant from token_url and kept until 30 s
 * before it expires (fetched again once when the API answers 401).  Its
 * start is paced to the item's rate limit.  A 429 or 503 answer is the
 * service's own pacing: its Retry-After (seconds; 1 s doubling when absent
 * or a date) is waited, cancellably, at most max_retries times in a row and
 * never longer than max_retry_wait; past that the call fails, retryable.
 * The body is kept in memory up to max_page_size bytes (one page at a time:
 * the caller frees it before the next).  The wait for the network is a
 * curl_multi_poll() on the transfer and on the host's cancel descriptor.
 */
#include "hp.h"

#include <ctype.h>
#include <poll.h>
#include <strings.h>
#include <time.h>

void hp_resp_free(hp_resp *r)
{
    dsrc_buf_free(&r->body);
    r->next[0] = '\0';
}

void hp_add_escaped(dsrc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        if (isalnum(ch) || strchr("-._~", ch))
            dsrc_buf_addn(b, s, 1);
        else
            dsrc_buf_addn(b, e, 3);
    }
}

static double hp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait `ms` milliseconds unless the call is cancelled first; 0, or -1
 * when cancelled. */
static int hp_wait(dsrc_conn *c, long ms)
{
    int fd = hp_cancel_fd(c->ctx);
    double end = hp_now() + (double)ms / 1000.0;

    for (;;) {
        double left = end - hp_now();
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        int slice;

        if (hp_cancelled(c->ctx, c))
            return -1;
        if (left <= 0)
            return 0;
        slice = left > 0.1 ? 100 : (int)(left * 1000) + 1;
        if (fd >= 0)
            poll(&p, 1, slice);
        else
            poll(NULL, 0, slice);
    }
}

/* Link: <url>; rel="next" (one of several comma-separated links). */
static void hp_link_next(hp_resp *r, const char *v, size_t n)
{
    const char *end = v + n, *p = v;

    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *stop;
        if (!lt || !(gt = memchr(lt, '>', (size_t)(end - lt))))
            return;
        stop = memchr(gt, ',', (size_t)(end - gt));
        if (!stop)
            stop = end;
        {
            size_t pn = (size_t)(stop - gt);
            char params[256];
            snprintf(params, sizeof params, "%.*s", (int)(pn < 255 ? pn : 255), gt);
            for (char *q = params; *q; q++)
                *q = (char)tolower((unsigned char)*q);
            if ((strstr(params, "rel=\"next\"") || strstr(params, "rel=next")) &&
                (size_t)(gt - lt - 1) < sizeof r->next) {
                snprintf(r->next, sizeof r->next, "%.*s", (int)(gt - lt - 1), lt + 1);
                return;
            }
        }
        p = stop + 1;
    }
}

static size_t hp_on_header(char *data, size_t size, size_t n, void *user)
{
    hp_resp *r = user;
    size_t len = size * n, k;
    const char *colon = memchr(data, ':', len), *v;
    size_t vn;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue or a redirect) */
        r->next[0] = '\0';
        r->retry_after = -1;
        return len;
    }
    if (!colon)
        return len;
    k = (size_t)(colon - data);
    v = colon + 1;
    vn = len - k - 1;
    while (vn && isspace((unsigned char)*v))
        v++, vn--;
    while (vn && isspace((unsigned char)v[vn - 1]))
        vn--;
    if (k == 4 && strncasecmp(data, "link", 4) == 0)
        hp_link_next(r, v, vn);
    else if (k == 11 && strncasecmp(data, "retry-after", 11) == 0)
        r->retry_after = vn && isdigit((unsigned char)*v) ? strtol(v, NULL, 10) : -1;
    return len;
}

static size_t hp_on_body(char *data, size_t size, size_t n, void *user)
{
    hp_resp *r = user;
    size_t len = size * n;

    if ((int64_t)(r->body.len + len) > r->max) {
        r->too_big = 1;
        return 0;
    }
    dsrc_buf_addn(&r->body, data, len);
    return r->body.failed ? 0 : len;
}

static int hp_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                          curl_off_t un)
{
    dsrc_conn *c = user;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return hp_cancelled(c->ctx, c) ? 1 : 0;
}

/* curl_easy_perform() of c->curl through the multi handle, so that the
 * wait is on the transfer's sockets and the host's cancel descriptor;
 * without a descriptor, curl_easy_perform(). */
static CURLcode hp_perform(dsrc_conn *c)
{
    int fd = hp_cancel_fd(c->ctx), running = 1, done = 0;
    CURLcode cc = CURLE_OK;

    if (fd < 0 || (!c->multi && !(c->multi = curl_multi_init())) ||
        curl_multi_add_handle(c->multi, c->curl) != CURLM_OK)
        return curl_easy_perform(c->curl);
    while (!done) {
        struct curl_waitfd wfd = {.fd = fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            cc = CURLE_OUT_OF_MEMORY;
            break;
        }
        while ((msg = curl_multi_info_read(c->multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                cc = msg->data.result;
                done = 1;
            }
        if (done)
            break;
        if (curl_multi_poll(c->multi, &wfd, 1, 1000, NULL) != CURLM_OK) {
            cc = CURLE_RECV_ERROR;
            break;
        }
        if (wfd.revents || hp_cancelled(c->ctx, c)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
    }
    curl_multi_remove_handle(c->multi, c->curl);
    return cc;
}

/* One exchange: `url`, the headers `hdr`, a POST body `post` (NULL: GET),
 * the answer in r. */
static void hp_exchange(dsrc_conn *c, const char *url, struct curl_slist *hdr, const char *post,
                        hp_resp *r)
{
    CURL *h = c->curl;

    dsrc_buf_reset(&r->body);
    r->body.failed = 0;
    r->next[0] = '\0';
    r->retry_after = -1;
    r->too_big = 0;
    r->status = 0;
    c->curl_err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hp_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hp_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, hp_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    r->cc = hp_perform(c);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->cc == CURLE_OK && !r->body.s)
        dsrc_buf_add(&r->body, "");
}

/* The OAuth2 access token in c->token (client credentials grant). */
static dsrc_status hp_token(dsrc_conn *c, const char *what, dsrc_error *err)
{
    dsrc_buf form = {0};
    hp_resp r;
    json_t *doc = NULL, *tok, *exp;
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    dsrc_status st = DSRC_OK;
    char w[400];

    if (c->token && (c->token_exp == 0 || (int64_t)time(NULL) + 30 < c->token_exp))
        return DSRC_OK;
    memset(&r, 0, sizeof r);
    r.max = 1 << 20;
    dsrc_buf_add(&form, "grant_type=client_credentials&client_id=");
    hp_add_escaped(&form, c->client_id ? c->client_id : "");
    dsrc_buf_add(&form, "&client_secret=");
    hp_add_escaped(&form, c->client_secret ? c->client_secret : "");
    if (c->scope) {
        dsrc_buf_add(&form, "&scope=");
        hp_add_escaped(&form, c->scope);
    }
    snprintf(w, sizeof w, "%s: OAuth2 token from %s", what, c->token_url);
    if (form.failed || !hdr) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    hp_exchange(c, c->token_url, hdr, form.s, &r);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    if (r.cc != CURLE_OK || r.status < 200 || r.status > 299) {
        st = hp_fail(c, &r, w, err);
        if (st == DSRC_E_BACKEND && (r.status == 400 || r.status == 401))
            st = dsrc_error_set(err, DSRC_E_AUTH, 0, err ? err->backend_code : NULL,
                                "%s: the client credentials were refused (HTTP %ld)", w,
                                r.status);
        goto out;
    }
    if ((st = hp_parse(&r, &doc, w, err)) != DSRC_OK)
        goto out;
    tok = json_object_get(doc, "access_token");
    exp = json_object_get(doc, "expires_in");
    if (!json_is_string(tok) || !json_string_length(tok)) {
        st = dsrc_error_set(err, DSRC_E_AUTH, 0, NULL, "%s: the answer holds no access_token",
                            w);
        goto out;
    }
    if (c->token)
        dsrc_wipe(c->token, strlen(c->token));
    free(c->token);
    c->token = dsrc_strdup(json_string_value(tok));
    c->token_exp = json_is_integer(exp) ? (int64_t)time(NULL) + json_integer_value(exp) : 0;
    if (!c->token)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
out:
    if (doc) {
        /* the token is a secret: wipe jansson's copy too */
        tok = json_object_get(doc, "access_token");
        if (json_is_string(tok))
            dsrc_wipe((char *)json_string_value(tok), json_string_length(tok));
        json_decref(doc);
    }
    if (form.s)
        dsrc_wipe(form.s, form.len);
    if (r.body.s)
        dsrc_wipe(r.body.s, r.body.len);
    hp_resp_free(&r);
    dsrc_buf_free(&form);
    curl_slist_free_all(hdr);
    return st;
}

/* The request headers: Accept and the auth header (NULL when out of
 * memory). */
static struct curl_slist *hp_headers(dsrc_conn *c)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json"), *n;
    dsrc_buf line = {0};

    if (!h)
        return NULL;
    if (c->auth == HP_AUTH_BEARER || c->auth == HP_AUTH_OAUTH2)
        dsrc_buf_printf(&line, "Authorization: Bearer %s",
                        c->auth == HP_AUTH_BEARER ? c->secret : c->token);
    else if (c->auth == HP_AUTH_API_KEY)
        dsrc_buf_printf(&line, "%s: %s", c->key_header, c->secret);
    if (line.s) {
        n = line.failed ? NULL : curl_slist_append(h, line.s);
        dsrc_wipe(line.s, line.len);
        dsrc_buf_free(&line);
        if (!n) {
            curl_slist_free_all(h);
            return NULL;
        }
    }
    return h;
}

dsrc_status hp_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *url, double rate,
                   hp_resp *r, const char *what, dsrc_error *err)
{
    long tries = 0, backoff = 1000;
    int reauth = c->auth == HP_AUTH_OAUTH2;
    dsrc_status st;

    c->ctx = ctx;
    if (!r->max)
        r->max = c->max_page;
    if (c->auth == HP_AUTH_BASIC) {
        curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->user ? c->user : "");
        curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->secret ? c->secret : "");
    }
    for (;;) {
        struct curl_slist *hdr;
        long wait;

        if (c->auth == HP_AUTH_OAUTH2 && (st = hp_token(c, what, err)) != DSRC_OK)
            return st;
        if (rate > 0 && c->last_req > 0) {
            double due = c->last_req + 1.0 / rate - hp_now();
            if (due > 0 && hp_wait(c, (long)(due * 1000) + 1) < 0)
                return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
        }
        if (!(hdr = hp_headers(c)))
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        c->last_req = hp_now();
        hp_exchange(c, url, hdr, NULL, r);
        curl_slist_free_all(hdr);
        if (r->cc == CURLE_OK && r->status >= 200 && r->status <= 299)
            return DSRC_OK;
        if (r->cc == CURLE_OK && r->status == 401 && reauth && c->token) {
            /* an expired OAuth2 token: fetch a new one, once */
            reauth = 0;
            dsrc_wipe(c->token, strlen(c->token));
            free(c->token);
            c->token = NULL;
            continue;
        }
        if (r->cc != CURLE_OK || (r->status != 429 && r->status != 503))
            return hp_fail(c, r, what, err);
        wait = r->retry_after >= 0 ? r->retry_after * 1000 : backoff;
        backoff = backoff < 16000 ? backoff * 2 : backoff;
        if (tries++ >= c->max_retries || wait > c->max_wait_ms)
            return hp_fail(c, r, what, err);
        if (hp_wait(c, wait) < 0)
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: cancelled", what);
    }
}

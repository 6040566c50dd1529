/* SPDX-License-Identifier: Apache-2.0 */
/* cloud_http.c -- see cloud_http.h */
#include <config.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/lazylib.h"
#include "secret/cloud_http.h"
#include "secret/secret.h"

/* The endpoint's scheme://host[:port]/path for messages: no query, no
 * user information. */
static void cloud_http_where(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://"), *at, *q;
    size_t n;

    if (!p) {
        snprintf(buf, size, "(a malformed URL)");
        return;
    }
    at = strchr(p + 3, '@');
    q = strpbrk(p + 3, "?#");
    if (at && (!q || at < q) && at < p + 3 + strcspn(p + 3, "/")) {
        snprintf(buf, size, "%.*s%s", (int)(p + 3 - url), url, at + 1);
    } else {
        snprintf(buf, size, "%s", url);
    }
    n = strcspn(buf, "?#");
    buf[n] = '\0';
}

/* The host of url (without brackets) into buf; 0, or -1 when malformed. */
static int cloud_http_host(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://"), *end;
    size_t n;

    if (!p)
        return -1;
    p += 3;
    n = strcspn(p, "/?#");
    end = memchr(p, '@', n);
    if (end) {
        n -= (size_t)(end + 1 - p);
        p = end + 1;
    }
    if (*p == '[') {
        end = memchr(p, ']', n);
        if (!end)
            return -1;
        n = (size_t)(end - p - 1);
        p++;
    } else {
        end = memchr(p, ':', n);
        if (end)
            n = (size_t)(end - p);
    }
    if (n == 0 || n >= size)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

static int cloud_http_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static int cloud_http_metadata_host(const char *host)
{
    return strcmp(host, "169.254.169.254") == 0 || strcasecmp(host, "fd00:ec2::254") == 0 ||
           strcasecmp(host, "metadata.google.internal") == 0 ||
           strcmp(host, "169.254.170.2") == 0;
}

int cloud_http_url_ok(const char *url, unsigned flags, const char *what, derr *e)
{
    char host[256], where[512];

    cloud_http_where(url ? url : "", where, sizeof where);
    if (!url || cloud_http_host(url, host, sizeof host) < 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG, "%s endpoint %s is not a URL", what, where),
               0;
    if (strncasecmp(url, "https://", 8) == 0)
        return 1;
    if (strncasecmp(url, "http://", 7) != 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "%s endpoint %s: only https:// is allowed", what, where), 0;
    if ((flags & CLOUD_HTTP_METADATA) && cloud_http_metadata_host(host))
        return 1;
    if ((flags & CLOUD_HTTP_CONFIGURED) && cloud_http_loopback(host))
        return 1;
    return derr_set(e, DSRC_E_INVALID_CONFIG,
                    "%s endpoint %s: plain http:// is allowed only for a loopback test "
                    "endpoint named in the configuration or a metadata service; use https://",
                    what, where), 0;
}

typedef struct cloud_http_sink {
    char *buf;
    size_t len, cap;
    int too_big;
} cloud_http_sink;

/* Grow b to hold `more` bytes more, wiping what the old buffer held. */
static int cloud_http_grow(cloud_http_sink *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 4096;
    char *n;

    while (cap < b->len + more + 1)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    if (!(n = malloc(cap)))
        return -1;
    if (b->buf) {
        memcpy(n, b->buf, b->len);
        secret_free_buf(b->buf, b->cap - 1);
    }
    b->buf = n;
    b->cap = cap;
    return 0;
}

static size_t cloud_http_on_body(char *data, size_t size, size_t n, void *user)
{
    cloud_http_sink *b = user;
    size_t len = size * n;

    if (b->len + len > CLOUD_HTTP_BODY_MAX) {
        b->too_big = 1;
        return 0;
    }
    if (cloud_http_grow(b, len) < 0)
        return 0;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

dsrc_status cloud_http(const cloud_http_req *r, cloud_http_resp *resp, derr *e)
{
    char where[512], cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL, *t;
    cloud_http_sink b = {0};
    const char *what = r->what ? r->what : "cloud identity";
    dsrc_status st = DSRC_OK;
    const lazy_curl_api *cu;
    CURLcode rc;
    CURL *h;
    size_t i;

    memset(resp, 0, sizeof *resp);
    if (!cloud_http_url_ok(r->url, r->flags, what, e))
        return e->status;
    if (!(cu = lazy_curl(e)))
        return e->status;
    cloud_http_where(r->url, where, sizeof where);
    if (!(h = cu->easy_init()))
        return derr_set(e, DSRC_E_INTERNAL, "%s: cannot start an HTTP request", what);
    /* "Expect:" keeps curl from waiting for a 100-continue on a POST. */
    if (!(t = cu->slist_append(hdrs, "Expect:"))) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    hdrs = t;
    for (i = 0; r->headers && r->headers[i]; i++) {
        if (!(t = cu->slist_append(hdrs, r->headers[i]))) {
            st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto out;
        }
        hdrs = t;
    }
    cu->easy_setopt(h, CURLOPT_URL, r->url);
    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    cu->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    cu->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms
                                                              : (long)CLOUD_HTTP_TIMEOUT_MS);
    cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    cu->easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, cloud_http_on_body);
    cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
    cu->easy_setopt(h, CURLOPT_USERAGENT, "dsrc/" PACKAGE_VERSION);
    if (r->flags & CLOUD_HTTP_METADATA)
        cu->easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (r->body) {
        cu->easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
    }
    if (r->method && strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
        cu->easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    else if (r->method && strcmp(r->method, "POST") == 0 && !r->body)
        cu->easy_setopt(h, CURLOPT_POSTFIELDS, "");
    rc = cu->easy_perform(h);
    if (rc != CURLE_OK) {
        if (b.too_big)
            st = derr_set(e, DSRC_E_BACKEND, "%s at %s: the answer is larger than %d bytes",
                          what, where, CLOUD_HTTP_BODY_MAX);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            st = derr_set(e, DSRC_E_TIMEOUT, "%s at %s did not answer in time", what, where);
        else
            st = derr_set(e, DSRC_E_UNREACHABLE, "%s at %s: %s", what, where,
                          *cerr ? cerr : cu->easy_strerror(rc));
        /* as the header says: an endpoint down or slow may answer later */
        e->retryable = st == DSRC_E_TIMEOUT || st == DSRC_E_UNREACHABLE;
        goto out;
    }
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!b.buf && cloud_http_grow(&b, 0) < 0) {
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    resp->body = b.buf;
    resp->len = b.len;
    resp->cap = b.cap;
    b.buf = NULL;
out:
    if (b.buf)
        secret_free_buf(b.buf, b.cap - 1);
    cu->slist_free_all(hdrs);
    cu->easy_cleanup(h);
    return st;
}

void cloud_http_resp_free(cloud_http_resp *resp)
{
    if (!resp)
        return;
    if (resp->body)
        secret_free_buf(resp->body, resp->cap - 1);
    memset(resp, 0, sizeof *resp);
}

/* Append the printable part of s (at most max bytes) to buf. */
static void cloud_http_add(char *buf, size_t size, const char *s, size_t max)
{
    size_t n = strlen(buf);

    for (; *s && max > 0 && n + 1 < size; s++, max--)
        buf[n++] = isprint((unsigned char)*s) ? *s : ' ';
    buf[n] = '\0';
}

/* The text of XML element <name> in body into out (size bytes); 1 found. */
static int cloud_http_xml(const char *body, const char *name, char *out, size_t size)
{
    char open[64], close[64];
    const char *a, *b;
    size_t n;

    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    if (!(a = strstr(body, open)) || !(b = strstr(a, close)))
        return 0;
    a += strlen(open);
    n = (size_t)(b - a) < size - 1 ? (size_t)(b - a) : size - 1;
    memcpy(out, a, n);
    out[n] = '\0';
    return 1;
}

const char *cloud_http_why(const cloud_http_resp *resp, char *buf, size_t size)
{
    static const char *const names[] = {"error", "error_description", "Code", "Message",
                                        "code", "message", NULL};
    json_t *doc = NULL;
    char part[256];
    size_t i, room = 200;

    snprintf(buf, size, "HTTP %ld", resp->status);
    if (!resp->body || !resp->len)
        return buf;
    if ((doc = json_loadb(resp->body, resp->len, 0, NULL)) && json_is_object(doc)) {
        json_t *err = json_object_get(doc, "error");
        if (json_is_object(err)) /* Google and Azure IMDS nest it */
            doc = (json_incref(err), json_decref(doc), err);
        for (i = 0; names[i]; i++) {
            json_t *v = json_object_get(doc, names[i]);
            if (!json_is_string(v))
                continue;
            cloud_http_add(buf, size, ": ", 2);
            cloud_http_add(buf, size, json_string_value(v), room);
            room = room > strlen(json_string_value(v)) ? room - strlen(json_string_value(v)) : 0;
        }
    } else {
        for (i = 0; i < 2; i++)
            if (cloud_http_xml(resp->body, i ? "Message" : "Code", part, sizeof part)) {
                cloud_http_add(buf, size, ": ", 2);
                cloud_http_add(buf, size, part, room);
            }
    }
    json_decref(doc);
    return buf;
}

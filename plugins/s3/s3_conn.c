/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_conn.c -- one HTTP exchange of the s3 connector (see s3.h): the URL
 * (path-style or virtual-host), the request signed by the host
 * (dsrc_host.aws_sign), the response headers, the body fed to an expat
 * parser or to the fetch in progress, run through a curl multi handle that
 * also waits on the host's cancel descriptor.
 */
#include "s3.h"
#include "../common/dsrc_curl.h"

#include <openssl/evp.h>

#include <strings.h>

#define S3_ERRBODY_MAX 8192

void s3_resp_free(s3_resp *r)
{
    size_t i;
    for (i = 0; i < r->n_meta; i++) {
        free((char *)r->meta[i].key);
        free((char *)r->meta[i].value);
    }
    free(r->meta);
    r->meta = NULL;
    r->n_meta = 0;
    dsrc_buf_free(&r->errbody);
}

/* Empty r for a new response, keeping where its body goes. */
static void s3_resp_reset(s3_resp *r)
{
    s3_body body = r->body;
    XML_Parser xp = r->xp;
    s3_fst *f = r->fetch;

    s3_resp_free(r);
    memset(r, 0, sizeof *r);
    r->body = body;
    r->xp = xp;
    r->fetch = f;
    r->content_length = -1;
}

static void s3_copy(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void s3_add_meta(s3_resp *r, const char *name, size_t nlen, const char *v, size_t vlen)
{
    dsrc_kv *m = realloc(r->meta, (r->n_meta + 1) * sizeof *m);
    char *k = strndup(name, nlen), *val = strndup(v, vlen);

    if (m)
        r->meta = m;
    if (!m || !k || !val) {
        free(k);
        free(val);
        r->meta_failed = 1;
        return;
    }
    m[r->n_meta].key = k;
    m[r->n_meta].value = val;
    r->n_meta++;
}

static size_t s3_on_header(char *data, size_t size, size_t n, void *user)
{
    s3_resp *r = user;
    size_t len = size * n, nlen, vlen;
    const char *colon, *v;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue): start over */
        const char *sp = memchr(data, ' ', len);
        s3_resp_reset(r);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    if (!(colon = memchr(data, ':', len)))
        return len;
    nlen = (size_t)(colon - data);
    v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t'))
        v++;
    vlen = (size_t)(data + len - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
#define S3_IS(name) (nlen == strlen(name) && strncasecmp(data, name, nlen) == 0)
#define S3_KEEP(name, field)                                                      \
    else if (S3_IS(name)) s3_copy(r->field, sizeof r->field, v, vlen)
    if (S3_IS("Content-Length"))
        r->content_length = strtoll(v, NULL, 10);
    S3_KEEP("Content-Type", content_type);
    S3_KEEP("ETag", etag);
    S3_KEEP("Last-Modified", last_modified);
    S3_KEEP("Date", date);
    S3_KEEP("x-amz-storage-class", storage_class);
    S3_KEEP("Content-Encoding", content_encoding);
    S3_KEEP("Server", server);
    S3_KEEP("x-amz-bucket-region", region);
    else if (nlen > 15 && strncasecmp(data, "x-amz-checksum-", 15) == 0 &&
             !S3_IS("x-amz-checksum-type") && !S3_IS("x-amz-checksum-mode")) {
        s3_copy(r->checksum_name, sizeof r->checksum_name, data + 15, nlen - 15);
        s3_copy(r->checksum, sizeof r->checksum, v, vlen);
    } else if (nlen > 11 && strncasecmp(data, "x-amz-meta-", 11) == 0)
        s3_add_meta(r, data + 11, nlen - 11, v, vlen);
#undef S3_KEEP
#undef S3_IS
    return len;
}

static size_t s3_on_body(char *data, size_t size, size_t n, void *user)
{
    s3_resp *r = user;
    size_t len = size * n;

    if (r->status < 200 || r->status >= 300) {
        if (r->errbody.len + len <= S3_ERRBODY_MAX)
            dsrc_buf_addn(&r->errbody, data, len);
        return len;
    }
    if (r->body == S3_BODY_XML && r->xp) {
        if (XML_Parse(r->xp, data, (int)len, 0) != XML_STATUS_OK) {
            if (XML_GetErrorCode(r->xp) != XML_ERROR_ABORTED)
                r->xml_bad = 1;
            return 0;
        }
        return r->stopped ? 0 : len;
    }
    if (r->body == S3_BODY_SINK && r->fetch) {
        s3_fst *f = r->fetch;
        if (len == 0)
            return 0;
        if (f->sink->write(f->sink->user, data, len) != 0) {
            r->stopped = 1;
            return 0;
        }
        if (f->md5)
            EVP_DigestUpdate(f->md5, data, len);
        if (f->sum)
            EVP_DigestUpdate(f->sum, data, len);
        f->offset += (int64_t)len;
    }
    return len;
}

int s3_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    dsrc_conn *c = user;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return s3_cancelled(c->ctx, c) ? 1 : 0;
}

/* Whether the call on c was cancelled (dsrc_curl_perform()'s question). */
static int s3_perform_cancelled(void *user)
{
    dsrc_conn *c = user;
    return s3_cancelled(c->ctx, c);
}

/* curl_easy_perform() through the connection's multi handle, waiting on
 * the host's cancel descriptor too (plugins/common/dsrc_curl.c). */
static CURLcode s3_perform(dsrc_conn *c)
{
    return dsrc_curl_perform(&c->multi, c->curl, dsrc_cancel_fd(s3_host(), c->ctx),
                             s3_perform_cancelled, c);
}

/* The headers the host's signature adds, appended to a curl list. */
typedef struct s3_signed {
    struct curl_slist *hdrs;
    int failed;
} s3_signed;

static int s3_on_signed(void *user, const char *name, const char *value)
{
    s3_signed *s = user;
    dsrc_buf h = {0};
    struct curl_slist *l;

    dsrc_buf_printf(&h, "%s: %s", name, value);
    l = h.failed ? NULL : curl_slist_append(s->hdrs, h.s);
    if (h.s)
        dsrc_wipe(h.s, h.len);
    dsrc_buf_free(&h);
    if (!l) {
        s->failed = 1;
        return 1;
    }
    s->hdrs = l;
    return 0;
}

/* The encoded path ("/bucket/key" path-style, "/key" virtual-host) and the
 * Host value into *path and host; -1 when out of memory. */
static int s3_target(const dsrc_conn *c, const char *bucket, const char *key, dsrc_buf *path,
                     char *host, size_t cap)
{
    char *ek = key ? s3_encode(key, 1) : NULL, *eb = s3_encode(bucket, 0);

    if (!eb || (key && !ek)) {
        free(ek);
        free(eb);
        return -1;
    }
    dsrc_buf_add(path, c->base_path);
    if (*bucket && c->virtual_host)
        snprintf(host, cap, "%s.%s", bucket, c->hostport);
    else
        snprintf(host, cap, "%s", c->hostport);
    if (*bucket && !c->virtual_host) {
        dsrc_buf_add(path, "/");
        dsrc_buf_add(path, eb);
    }
    if (key) {
        dsrc_buf_add(path, "/");
        dsrc_buf_add(path, ek);
    } else if (!*bucket || c->virtual_host) {
        dsrc_buf_add(path, "/");
    }
    free(ek);
    free(eb);
    return path->failed ? -1 : 0;
}

dsrc_status s3_request(const dsrc_ctx *ctx, dsrc_conn *c, const char *method,
                       const char *bucket, const char *key, const s3_pair *query, size_t nq,
                       const char *range, const char *if_match, int checksum, s3_resp *r,
                       const char *what, dsrc_error *err)
{
    dsrc_buf path = {0}, qs = {0}, url = {0}, h = {0};
    char host[512];
    dsrc_kv sign_h[3];
    size_t ns = 0, i;
    s3_signed sg = {NULL, 0};
    dsrc_aws_request ar;
    dsrc_status st = DSRC_OK;

    s3_resp_reset(r);
    c->ctx = ctx;
    c->curl_err[0] = '\0';
    if (s3_target(c, bucket, key, &path, host, sizeof host) < 0)
        goto oom;
    for (i = 0; i < nq; i++) {
        char *v = s3_encode(query[i].value, 0);
        if (!v)
            goto oom;
        dsrc_buf_printf(&qs, "%s%s=%s", i ? "&" : "", query[i].name, v);
        free(v);
    }
    dsrc_buf_printf(&url, "%s://%s%s%s%s", c->scheme, host, path.s, qs.len ? "?" : "",
                    qs.s ? qs.s : "");
    if (range) {
        sign_h[ns].key = "range";
        sign_h[ns++].value = range;
    }
    if (if_match) {
        sign_h[ns].key = "if-match";
        sign_h[ns++].value = if_match;
    }
    if (checksum) {
        sign_h[ns].key = "x-amz-checksum-mode";
        sign_h[ns++].value = "ENABLED";
    }
    for (i = 0; i <= ns; i++) {
        struct curl_slist *l;
        dsrc_buf_reset(&h);
        if (i < ns)
            dsrc_buf_printf(&h, "%s: %s", sign_h[i].key, sign_h[i].value);
        else
            dsrc_buf_add(&h, "Expect:");
        if (h.failed || !(l = curl_slist_append(sg.hdrs, h.s)))
            goto oom;
        sg.hdrs = l;
    }
    if (url.failed || qs.failed)
        goto oom;
    memset(&ar, 0, sizeof ar);
    ar.struct_size = sizeof ar;
    ar.service = "s3";
    ar.region = c->region;
    ar.method = method;
    ar.host = host;
    ar.path = path.s;
    ar.query = qs.s;
    ar.headers = sign_h;
    ar.n_headers = ns;
    ar.payload_hash = S3_UNSIGNED;
    ar.header = s3_on_signed;
    ar.user = &sg;
    st = dsrc_aws_sign(s3_host(), ctx, &ar, err);
    if (sg.failed)
        goto oom;
    if (st != DSRC_OK) {
        if (err && err->message) {
            char *m = err->message;
            err->message = NULL;
            st = dsrc_error_set(err, st, err->retryable, NULL, "%s: %s", what, m);
            free(m);
        }
        goto out;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url.s);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, sg.hdrs);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, s3_on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, s3_on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    r->cc = s3_perform(c);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    if (r->cc == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 200 && r->status < 300) {
            if (r->body == S3_BODY_XML && r->xp && XML_Parse(r->xp, "", 0, 1) != XML_STATUS_OK)
                st = dsrc_error_set(err, DSRC_E_BACKEND, 0, "xml",
                                    "%s: the service sent a listing that is not valid XML "
                                    "(%s)", what, XML_ErrorString(XML_GetErrorCode(r->xp)));
            goto out;
        }
        s3_parse_error_body(r);
    }
    st = s3_fail(c, r, what, err);
    goto out;
oom:
    st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "%s: out of memory", what);
out:
    if (sg.hdrs)
        for (struct curl_slist *l = sg.hdrs; l; l = l->next)
            dsrc_wipe(l->data, strlen(l->data));
    curl_slist_free_all(sg.hdrs);
    dsrc_buf_free(&path);
    dsrc_buf_free(&qs);
    dsrc_buf_free(&url);
    dsrc_buf_free(&h);
    return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* sigv4.c -- see sigv4.h */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <dsrc/plugin.h>

#include "secret/sigv4.h"

static const char sigv4_hex[] = "0123456789abcdef";

static void sigv4_to_hex(const unsigned char *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = sigv4_hex[b[i] >> 4];
        out[2 * i + 1] = sigv4_hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != sizeof md)
        return -1;
    sigv4_to_hex(md, sizeof md, out);
    return 0;
}

void sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int sigv4_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static void sigv4_encode_to(dsrc_buf *b, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sigv4_unreserved(c))
            dsrc_buf_addn(b, (const char *)&c, 1);
        else
            dsrc_buf_printf(b, "%%%02X", c);
    }
}

char *sigv4_uri_encode(const char *s)
{
    dsrc_buf b = {0};

    dsrc_buf_add(&b, "");
    sigv4_encode_to(&b, s, strlen(s));
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s;
}

/* n bytes of s percent-decoded then re-encoded. */
static char *sigv4_reencode(const char *s, size_t n)
{
    char *dec = malloc(n + 1);
    size_t i, m = 0;
    dsrc_buf b = {0};

    if (!dec)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            dec[m++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            dec[m++] = s[i];
        }
    }
    dsrc_buf_add(&b, "");
    sigv4_encode_to(&b, dec, m);
    free(dec);
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s;
}

typedef struct sigv4_pair {
    char *key, *value;
} sigv4_pair;

static int sigv4_pair_cmp(const void *a, const void *b)
{
    const sigv4_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static void sigv4_pairs_free(sigv4_pair *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(p[i].key);
        sigv4_free_secret(p[i].value); /* may be a session token */
    }
    free(p);
}

/* The canonical query string of a raw one. */
static int sigv4_canonical_query(dsrc_buf *b, const char *query)
{
    sigv4_pair *p;
    size_t n = 1, k = 0, i;
    const char *s;

    if (!query || !*query)
        return 0;
    for (s = query; *s; s++)
        n += *s == '&';
    if (!(p = calloc(n, sizeof *p)))
        return -1;
    for (s = query; *s;) {
        size_t len = strcspn(s, "&"), klen = strcspn(s, "=&");
        if (len > 0) {
            p[k].key = sigv4_reencode(s, klen);
            p[k].value = klen < len ? sigv4_reencode(s + klen + 1, len - klen - 1)
                                    : sigv4_reencode("", 0);
            if (!p[k].key || !p[k].value) {
                sigv4_pairs_free(p, k + 1);
                return -1;
            }
            k++;
        }
        s += len;
        if (*s == '&')
            s++;
    }
    qsort(p, k, sizeof *p, sigv4_pair_cmp);
    for (i = 0; i < k; i++)
        dsrc_buf_printf(b, "%s%s=%s", i ? "&" : "", p[i].key, p[i].value);
    sigv4_pairs_free(p, k);
    return 0;
}

typedef struct sigv4_hdr {
    char *name;       /* lower case */
    const char *value;
    size_t order;
} sigv4_hdr;

static int sigv4_hdr_cmp(const void *a, const void *b)
{
    const sigv4_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* value trimmed, inner runs of spaces made one. */
static void sigv4_add_trimmed(dsrc_buf *b, const char *v)
{
    int space = 0;

    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            dsrc_buf_add(b, " ");
        space = 0;
        dsrc_buf_addn(b, v, 1);
    }
}

char *sigv4_canonical_request(const sigv4_request *r, char **signed_headers)
{
    dsrc_buf b = {0}, sh = {0};
    sigv4_hdr *h = calloc(r->n_headers + 1, sizeof *h);
    size_t i, j;

    if (signed_headers)
        *signed_headers = NULL;
    if (!h)
        return NULL;
    for (i = 0; i < r->n_headers; i++) {
        if (!(h[i].name = strdup(r->headers[i].name)))
            goto fail;
        for (j = 0; h[i].name[j]; j++)
            h[i].name[j] = (char)tolower((unsigned char)h[i].name[j]);
        h[i].value = r->headers[i].value;
        h[i].order = i;
    }
    qsort(h, r->n_headers, sizeof *h, sigv4_hdr_cmp);

    dsrc_buf_printf(&b, "%s\n%s\n", r->method, r->path && *r->path ? r->path : "/");
    if (sigv4_canonical_query(&b, r->query) < 0)
        goto fail;
    dsrc_buf_add(&b, "\n");
    dsrc_buf_add(&sh, "");
    for (i = 0; i < r->n_headers; i++) {
        /* a repeated header is one line, its values joined by ',' */
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
            dsrc_buf_add(&b, ",");
        } else {
            if (i > 0)
                dsrc_buf_add(&b, "\n");
            dsrc_buf_printf(&b, "%s:", h[i].name);
            dsrc_buf_printf(&sh, "%s%s", sh.len ? ";" : "", h[i].name);
        }
        sigv4_add_trimmed(&b, h[i].value);
    }
    dsrc_buf_printf(&b, "\n\n%s\n%s", sh.s, r->payload_hash);
    if (b.failed || sh.failed)
        goto fail;
    for (i = 0; i < r->n_headers; i++)
        free(h[i].name);
    free(h);
    if (signed_headers)
        *signed_headers = sh.s;
    else
        dsrc_buf_free(&sh);
    return b.s;
fail:
    for (i = 0; i < r->n_headers; i++)
        free(h[i].name);
    free(h);
    sigv4_free_secret(b.s);
    dsrc_buf_free(&sh);
    return NULL;
}

char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq)
{
    char hash[65];
    dsrc_buf b = {0};

    if (sigv4_sha256_hex(creq, strlen(creq), hash) < 0)
        return NULL;
    dsrc_buf_printf(&b, SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hash);
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s;
}

static int sigv4_hmac(const unsigned char *key, size_t klen, const char *msg,
                      unsigned char out[32])
{
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n))
        return -1;
    return n == 32 ? 0 : -1;
}

int sigv4_signature(const char *secret, const char *amz_date, const char *region,
                    const char *service, const char *sts, char out[65])
{
    size_t klen = strlen(secret) + 4;
    unsigned char *k0 = malloc(klen + 1), k[32], sig[32];
    char date[9];
    int rc = -1;

    if (!k0)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, klen - 4 + 1);
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    if (sigv4_hmac(k0, klen, date, k) == 0 && sigv4_hmac(k, 32, region, k) == 0 &&
        sigv4_hmac(k, 32, service, k) == 0 && sigv4_hmac(k, 32, "aws4_request", k) == 0 &&
        sigv4_hmac(k, 32, sts, sig) == 0) {
        sigv4_to_hex(sig, sizeof sig, out);
        rc = 0;
    }
    OPENSSL_cleanse(k0, klen);
    OPENSSL_cleanse(k, sizeof k);
    free(k0);
    return rc;
}

/* "20150830/REGION/SERVICE/aws4_request" into out. */
static void sigv4_scope(const char *amz_date, const char *region, const char *service,
                        char *out, size_t size)
{
    snprintf(out, size, "%.8s/%s/%s/aws4_request", amz_date, region, service);
}

/* Sign a canonical request: the hex signature into sig. */
static int sigv4_sign_creq(const char *creq, const sigv4_creds *c, const char *region,
                           const char *service, const char *amz_date, char sig[65])
{
    char scope[256], *sts;
    int rc;

    sigv4_scope(amz_date, region, service, scope, sizeof scope);
    if (!(sts = sigv4_string_to_sign(amz_date, scope, creq)))
        return -1;
    rc = sigv4_signature(c->secret_access_key, amz_date, region, service, sts, sig);
    free(sts);
    return rc;
}

char *sigv4_authorization(const sigv4_request *r, const sigv4_creds *c, const char *region,
                          const char *service, const char *amz_date)
{
    char *sh = NULL, *creq = sigv4_canonical_request(r, &sh), sig[65], scope[256];
    dsrc_buf b = {0};

    if (!creq || sigv4_sign_creq(creq, c, region, service, amz_date, sig) < 0) {
        free(creq);
        free(sh);
        return NULL;
    }
    sigv4_scope(amz_date, region, service, scope, sizeof scope);
    dsrc_buf_printf(&b, SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                    c->access_key_id, scope, sh, sig);
    free(creq);
    free(sh);
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s;
}

/* "KEY=ENCODED" appended to b, '&' first unless b is empty. */
static void sigv4_param(dsrc_buf *b, const char *key, const char *value)
{
    dsrc_buf_printf(b, "%s%s=", b->len ? "&" : "", key);
    sigv4_encode_to(b, value, strlen(value));
}

char *sigv4_rds_token(const char *host, int port, const char *user, const char *region,
                      const sigv4_creds *c, time_t now, int expires)
{
    char amz_date[17], scope[256], cred[512], exp[16], hostport[300], empty[65], sig[65];
    char *creq = NULL;
    dsrc_buf q = {0}, out = {0};
    sigv4_header hh;
    sigv4_request r;

    sigv4_amz_date(now, amz_date);
    sigv4_scope(amz_date, region, "rds-db", scope, sizeof scope);
    snprintf(cred, sizeof cred, "%s/%s", c->access_key_id, scope);
    snprintf(exp, sizeof exp, "%d", expires);
    /* the Host header as an HTTPS client sends it: no default port */
    if (port == 443)
        snprintf(hostport, sizeof hostport, "%s", host);
    else
        snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    if (sigv4_sha256_hex("", 0, empty) < 0)
        return NULL;

    /* botocore's order: the operation's parameters, then the signature's */
    sigv4_param(&q, "Action", "connect");
    sigv4_param(&q, "DBUser", user);
    sigv4_param(&q, "X-Amz-Algorithm", SIGV4_ALGORITHM);
    sigv4_param(&q, "X-Amz-Credential", cred);
    sigv4_param(&q, "X-Amz-Date", amz_date);
    sigv4_param(&q, "X-Amz-Expires", exp);
    sigv4_param(&q, "X-Amz-SignedHeaders", "host");
    if (c->session_token)
        sigv4_param(&q, "X-Amz-Security-Token", c->session_token);
    if (q.failed)
        goto fail;

    hh.name = "host";
    hh.value = hostport;
    r.method = "GET";
    r.path = "/";
    r.query = q.s;
    r.headers = &hh;
    r.n_headers = 1;
    r.payload_hash = empty;
    if (!(creq = sigv4_canonical_request(&r, NULL)) ||
        sigv4_sign_creq(creq, c, region, "rds-db", amz_date, sig) < 0)
        goto fail;
    dsrc_buf_printf(&out, "%s:%d/?%s&X-Amz-Signature=%s", host, port, q.s, sig);
    if (out.failed)
        goto fail;
    sigv4_free_secret(creq);
    sigv4_free_secret(q.s);
    return out.s;
fail:
    sigv4_free_secret(creq);
    sigv4_free_secret(q.s);
    sigv4_free_secret(out.s);
    return NULL;
}

void sigv4_free_secret(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

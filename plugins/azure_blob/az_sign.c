/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_sign.c -- Shared Key signing, URL encoding, connection strings and
 * HTTP dates for the Azure Blob connector (see az_sign.h).
 *
 * The string-to-sign follows "Authorize with Shared Key" of the Blob
 * service for versions 2015-02-21 and later.  HMAC-SHA256 and base64 come
 * from OpenSSL.
 */
#include "az_sign.h"

#include <dsrc/plugin.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Append s (NULL: nothing). */
static void az_sb_add(dsrc_buf *b, const char *s)
{
    dsrc_buf_add(b, s ? s : "");
}

/* The built string, owned by the caller ("" when empty); NULL after an
 * allocation failure. */
static char *az_sb_take(dsrc_buf *b)
{
    if (b->failed || !b->s) {
        int failed = b->failed;
        dsrc_buf_free(b);
        return failed ? NULL : calloc(1, 1);
    }
    return b->s;
}

/* A lower-cased copy. */
static char *az_lower(const char *s)
{
    size_t i, n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (i = 0; i <= n; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    return d;
}

typedef struct az_kv {
    char *name;              /* lower-cased                                  */
    const char *value;
} az_kv;

static int az_kv_cmp(const void *a, const void *b)
{
    const az_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return strcmp(x->value, y->value);
}

/* Lower-cased, sorted copies of `p` (names only are copied). */
static az_kv *az_sorted(const az_pair *p, size_t n)
{
    az_kv *kv = calloc(n ? n : 1, sizeof *kv);
    size_t i;
    if (!kv)
        return NULL;
    for (i = 0; i < n; i++) {
        kv[i].name = az_lower(p[i].name ? p[i].name : "");
        kv[i].value = p[i].value ? p[i].value : "";
        if (!kv[i].name) {
            while (i--)
                free(kv[i].name);
            free(kv);
            return NULL;
        }
    }
    qsort(kv, n, sizeof *kv, az_kv_cmp);
    return kv;
}

static void az_kv_free(az_kv *kv, size_t n)
{
    size_t i;
    if (!kv)
        return;
    for (i = 0; i < n; i++)
        free(kv[i].name);
    free(kv);
}

/* Append a header value with leading/trailing white space removed and
 * inner runs of white space folded to one space (outside quotes). */
static void az_sb_trimmed(dsrc_buf *b, const char *v)
{
    const char *end;
    int space = 0, quoted = 0;
    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    for (; v < end; v++) {
        if (*v == '"')
            quoted = !quoted;
        if (!quoted && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
            space = 1;
            continue;
        }
        if (space)
            dsrc_buf_addn(b, " ", 1);
        space = 0;
        dsrc_buf_addn(b, v, 1);
    }
}

char *az_string_to_sign(const az_sigreq *r)
{
    dsrc_buf b = {0};
    az_kv *h = NULL, *q = NULL;
    size_t i;

    if (!r || !r->verb || !r->account || !r->path)
        return NULL;
    h = az_sorted(r->headers, r->n_headers);
    q = az_sorted(r->query, r->n_query);
    if (!h || !q) {
        az_kv_free(h, r->n_headers);
        az_kv_free(q, r->n_query);
        return NULL;
    }
    az_sb_add(&b, r->verb);
    az_sb_add(&b, "\n");
    /* Content-Encoding, Content-Language, Content-Length, Content-MD5,
     * Content-Type, Date, If-Modified-Since: never sent */
    az_sb_add(&b, "\n\n\n\n\n\n\n");
    az_sb_add(&b, r->if_match);
    az_sb_add(&b, "\n");
    /* If-None-Match, If-Unmodified-Since */
    az_sb_add(&b, "\n\n");
    az_sb_add(&b, r->range);
    az_sb_add(&b, "\n");
    for (i = 0; i < r->n_headers; i++) {
        if (strncmp(h[i].name, "x-ms-", 5) != 0)
            continue;
        az_sb_add(&b, h[i].name);
        az_sb_add(&b, ":");
        az_sb_trimmed(&b, h[i].value);
        az_sb_add(&b, "\n");
    }
    az_sb_add(&b, "/");
    az_sb_add(&b, r->account);
    az_sb_add(&b, r->path);
    for (i = 0; i < r->n_query; i++) {
        if (i > 0 && strcmp(q[i].name, q[i - 1].name) == 0) {
            az_sb_add(&b, ",");
        } else {
            az_sb_add(&b, "\n");
            az_sb_add(&b, q[i].name);
            az_sb_add(&b, ":");
        }
        az_sb_add(&b, q[i].value);
    }
    az_kv_free(h, r->n_headers);
    az_kv_free(q, r->n_query);
    return az_sb_take(&b);
}

char *az_b64(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

long az_unb64(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s), i, pad = 0;
    unsigned char *tmp;
    int got;

    if (n == 0)
        return 0;
    if (n % 4 != 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '+' || c == '/' || (c == '=' && i >= n - 2)))
            return -1;
        if (c == '=' && i + 1 < n && s[i + 1] != '=')
            return -1;
    }
    if (s[n - 1] == '=')
        pad++;
    if (s[n - 2] == '=')
        pad++;
    tmp = malloc(n / 4 * 3 + 1);
    if (!tmp)
        return -1;
    got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got < pad || (size_t)got - pad > cap) {
        OPENSSL_cleanse(tmp, n / 4 * 3 + 1);
        free(tmp);
        return -1;
    }
    got -= (int)pad;
    memcpy(out, tmp, (size_t)got);
    OPENSSL_cleanse(tmp, n / 4 * 3 + 1);
    free(tmp);
    return got;
}

char *az_hmac_b64(const char *key_b64, const char *sts)
{
    unsigned char key[512], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    long keylen;

    if (!key_b64 || !sts)
        return NULL;
    keylen = az_unb64(key_b64, key, sizeof key);
    if (keylen <= 0)
        return NULL;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)sts, strlen(sts), mac,
              &maclen)) {
        OPENSSL_cleanse(key, sizeof key);
        return NULL;
    }
    OPENSSL_cleanse(key, sizeof key);
    return az_b64(mac, maclen);
}

char *az_shared_key(const az_sigreq *r, const char *key_b64)
{
    char *sts = az_string_to_sign(r), *sig, *out = NULL;
    size_t n;

    if (!sts)
        return NULL;
    sig = az_hmac_b64(key_b64, sts);
    free(sts);
    if (!sig)
        return NULL;
    n = strlen("SharedKey ") + strlen(r->account) + 1 + strlen(sig) + 1;
    out = malloc(n);
    if (out)
        snprintf(out, n, "SharedKey %s:%s", r->account, sig);
    free(sig);
    return out;
}

char *az_url_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, j = 0;
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

int64_t az_http_time(const char *s)
{
    struct tm tm;
    const char *end;

    if (!s || !*s)
        return -1;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end)
        return -1;
    while (*end == ' ')
        end++;
    if (*end && strcmp(end, "GMT") != 0 && strcmp(end, "UTC") != 0)
        return -1;
    return (int64_t)timegm(&tm);
}

void az_http_now(char *buf, size_t cap)
{
    /* strftime's %a/%b follow the locale; HTTP dates need the C names. */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void az_wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
}

static char *az_dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int az_connstr_parse(const char *s, az_connstr *out, char *why, size_t cap)
{
    const char *p = s;

    memset(out, 0, sizeof *out);
    if (!s || !*s) {
        snprintf(why, cap, "connection_string is empty");
        return -1;
    }
    while (*p) {
        const char *semi = strchr(p, ';'), *eq;
        size_t len = semi ? (size_t)(semi - p) : strlen(p), klen;
        char **slot = NULL;

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        if (len == 0) {
            p += semi ? 1 : 0;
            if (!semi)
                break;
            continue;
        }
        eq = memchr(p, '=', len);
        if (!eq || eq == p) {
            snprintf(why, cap, "connection_string: a part is not Key=Value");
            az_connstr_free(out);
            return -1;
        }
        klen = (size_t)(eq - p);
        if (klen == 24 && strncasecmp(p, "DefaultEndpointsProtocol", klen) == 0)
            slot = &out->protocol;
        else if (klen == 11 && strncasecmp(p, "AccountName", klen) == 0)
            slot = &out->account;
        else if (klen == 10 && strncasecmp(p, "AccountKey", klen) == 0)
            slot = &out->key;
        else if (klen == 12 && strncasecmp(p, "BlobEndpoint", klen) == 0)
            slot = &out->blob_endpoint;
        else if (klen == 14 && strncasecmp(p, "EndpointSuffix", klen) == 0)
            slot = &out->suffix;
        else if (klen == 21 && strncasecmp(p, "SharedAccessSignature", klen) == 0)
            slot = &out->sas;
        if (slot) {
            if (*slot) {
                snprintf(why, cap, "connection_string: '%.*s' given twice", (int)klen, p);
                az_connstr_free(out);
                return -1;
            }
            *slot = az_dupn(eq + 1, len - klen - 1);
            if (!*slot) {
                snprintf(why, cap, "out of memory");
                az_connstr_free(out);
                return -1;
            }
        }
        /* Other keys (QueueEndpoint, TableEndpoint, ...) do not concern
         * blobs and are ignored. */
        if (!semi)
            break;
        p = semi + 1;
    }
    return 0;
}

void az_connstr_free(az_connstr *c)
{
    if (!c)
        return;
    az_wipe(c->key);
    az_wipe(c->sas);
    free(c->protocol);
    free(c->account);
    free(c->key);
    free(c->blob_endpoint);
    free(c->suffix);
    free(c->sas);
    memset(c, 0, sizeof *c);
}

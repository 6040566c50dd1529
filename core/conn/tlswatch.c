/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlswatch.c -- a source's TLS files, watched by content hash (tlswatch.h).
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "conn/tlswatch.h"

/* A PEM file larger than this is not a certificate bundle. */
#define TLSW_FILE_MAX (4L * 1024 * 1024)

static const char *const tlsw_setting[TLSW_N] = {"tls.ca", "tls.cert", "tls.key"};

struct tlswatch {
    char *path[TLSW_N];
    const char *passphrase;
    int have[TLSW_N];                 /* hash[i] holds an accepted hash      */
    unsigned char hash[TLSW_N][32];
    double days[2];                   /* TLSW_CA, TLSW_CERT                  */
    char changed[1024];
    char *error;
};

/* The content of `path`, NUL-terminated, in *out (*n bytes).  0, or -1
 * with `e` set. */
static int read_all(const char *path, unsigned char **out, size_t *n, derr *e)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, r;

    *out = NULL;
    *n = 0;
    if (!f) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "'%s': %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (cap - len < 4096) {
            unsigned char *nb;
            if (cap >= (size_t)TLSW_FILE_MAX) {
                derr_set(e, DSRC_E_INVALID_CONFIG, "'%s': larger than %ld bytes", path,
                         TLSW_FILE_MAX);
                goto fail;
            }
            cap = cap ? cap * 2 : 8192;
            if (!(nb = realloc(buf, cap + 1))) {
                derr_set(e, DSRC_E_INTERNAL, "out of memory");
                goto fail;
            }
            buf = nb;
        }
        r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) {
                derr_set(e, DSRC_E_INVALID_CONFIG, "'%s': %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    if (!buf && !(buf = malloc(1))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *n = len;
    return 0;
fail:
    fclose(f);
    free(buf);
    return -1;
}

int tlsw_sha256_file(const char *path, unsigned char out[32], derr *e)
{
    unsigned char *buf;
    size_t n;

    if (read_all(path, &buf, &n, e) != 0)
        return -1;
    SHA256(buf, n, out);
    OPENSSL_cleanse(buf, n);
    free(buf);
    return 0;
}

static X509 *parse_cert(const void *pem, size_t n)
{
    BIO *b;
    X509 *x;

    if (n > (size_t)TLSW_FILE_MAX || !(b = BIO_new_mem_buf(pem, (int)n)))
        return NULL;
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    return x;
}

static int x509_days(const X509 *x, time_t now, double *days)
{
    const ASN1_TIME *na = X509_get0_notAfter(x);
    struct tm tm;
    time_t t;

    memset(&tm, 0, sizeof tm);
    if (!na || ASN1_TIME_to_tm(na, &tm) != 1)
        return -1;
    t = timegm(&tm);
    *days = difftime(t, now) / 86400.0;
    return 0;
}

int tlsw_cert_days(const void *pem, size_t n, time_t now, double *days, derr *e)
{
    X509 *x = parse_cert(pem, n);
    int r;

    if (!x) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "not a PEM certificate OpenSSL can read");
        return -1;
    }
    r = x509_days(x, now, days);
    X509_free(x);
    if (r != 0)
        derr_set(e, DSRC_E_INVALID_CONFIG, "the certificate's expiry date cannot be read");
    return r;
}

/* The latest expiry among the PEM certificates of a CA file (a bundle of
 * many, such as the system's, is valid while any of them is).  0, or -1
 * when none parses. */
static int ca_days(const void *pem, size_t n, time_t now, double *days)
{
    BIO *b;
    X509 *x;
    int found = 0;
    double d;

    if (n > (size_t)TLSW_FILE_MAX || !(b = BIO_new_mem_buf(pem, (int)n)))
        return -1;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (x509_days(x, now, &d) == 0 && (!found || d > *days)) {
            *days = d;
            found = 1;
        }
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error();
    return found ? 0 : -1;
}

tlswatch *tlswatch_new(const char *ca, const char *cert, const char *key,
                       const char *passphrase)
{
    tlswatch *w = calloc(1, sizeof *w);
    const char *p[TLSW_N] = {ca, cert, key};
    int i;

    if (!w)
        return NULL;
    for (i = 0; i < TLSW_N; i++)
        if (p[i] && *p[i] && !(w->path[i] = strdup(p[i]))) {
            tlswatch_free(w);
            return NULL;
        }
    w->passphrase = passphrase;
    w->days[0] = w->days[1] = NAN;
    return w;
}

void tlswatch_free(tlswatch *w)
{
    int i;

    if (!w)
        return;
    for (i = 0; i < TLSW_N; i++)
        free(w->path[i]);
    free(w->error);
    free(w);
}

int tlswatch_active(const tlswatch *w)
{
    return w && (w->path[0] || w->path[1] || w->path[2]);
}

static void set_error(tlswatch *w, const char *fmt, const char *a, const char *b,
                      const char *c)
{
    char *s = NULL;

    free(w->error);
    w->error = asprintf(&s, fmt, a, b, c) < 0 ? NULL : s;
}

/* Check the set read into buf[] (NULL: no such file).  0, or -1 with the
 * reason in w->error. */
static int check_set(tlswatch *w, unsigned char *const buf[TLSW_N], const size_t n[TLSW_N],
                     X509 **cert_out, double days[2], time_t now)
{
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *key = NULL;
    BIO *b;
    int ok = -1;

    days[0] = days[1] = NAN;
    *cert_out = NULL;
    if (buf[TLSW_CA]) {
        if (!(ca = parse_cert(buf[TLSW_CA], n[TLSW_CA]))) {
            set_error(w, "%s '%s': %s", tlsw_setting[TLSW_CA], w->path[TLSW_CA],
                      "not a PEM certificate OpenSSL can read");
            goto out;
        }
        if (ca_days(buf[TLSW_CA], n[TLSW_CA], now, &days[0]) != 0)
            days[0] = NAN;
    }
    if (buf[TLSW_CERT]) {
        if (!(cert = parse_cert(buf[TLSW_CERT], n[TLSW_CERT]))) {
            set_error(w, "%s '%s': %s", tlsw_setting[TLSW_CERT], w->path[TLSW_CERT],
                      "not a PEM certificate OpenSSL can read");
            goto out;
        }
        if (x509_days(cert, now, &days[1]) != 0)
            days[1] = NAN;
    }
    if (buf[TLSW_KEY]) {
        if (n[TLSW_KEY] > (size_t)TLSW_FILE_MAX ||
            !(b = BIO_new_mem_buf(buf[TLSW_KEY], (int)n[TLSW_KEY]))) {
            set_error(w, "%s '%s': %s", tlsw_setting[TLSW_KEY], w->path[TLSW_KEY],
                      "cannot be read");
            goto out;
        }
        key = PEM_read_bio_PrivateKey(b, NULL, NULL,
                                      (void *)(w->passphrase ? w->passphrase : ""));
        BIO_free(b);
        ERR_clear_error();
        if (!key) {
            set_error(w, "%s '%s': %s", tlsw_setting[TLSW_KEY], w->path[TLSW_KEY],
                      "not a PEM private key OpenSSL can read (or a wrong "
                      "tls.key_passphrase)");
            goto out;
        }
        if (cert && X509_check_private_key(cert, key) != 1) {
            ERR_clear_error();
            set_error(w, "%s '%s' does not match %s", tlsw_setting[TLSW_KEY],
                      w->path[TLSW_KEY], tlsw_setting[TLSW_CERT]);
            goto out;
        }
    }
    ok = 0;
out:
    EVP_PKEY_free(key);
    X509_free(ca);
    if (ok == 0)
        *cert_out = cert;
    else
        X509_free(cert);
    return ok;
}

tlsw_result tlswatch_check(tlswatch *w, time_t now)
{
    unsigned char *buf[TLSW_N] = {NULL, NULL, NULL};
    unsigned char hash[TLSW_N][32];
    size_t n[TLSW_N] = {0, 0, 0};
    int i, differ = 0;
    tlsw_result r = TLSW_SAME;
    double days[2];
    X509 *cert = NULL;

    w->changed[0] = '\0';
    for (i = 0; i < TLSW_N; i++) {
        derr e = {0};

        if (!w->path[i])
            continue;
        if (read_all(w->path[i], &buf[i], &n[i], &e) != 0) {
            set_error(w, "%s %s%s", tlsw_setting[i], e.msg ? e.msg : "cannot be read", "");
            derr_clear(&e);
            r = TLSW_BROKEN;
            goto out;
        }
        SHA256(buf[i], n[i], hash[i]);
        if (!w->have[i] || memcmp(hash[i], w->hash[i], 32) != 0)
            differ |= 1 << i;
    }
    if (!differ && !w->error)
        goto out;
    if (check_set(w, buf, n, &cert, days, now) != 0) {
        r = TLSW_BROKEN;
        goto out;
    }
    X509_free(cert);
    free(w->error);
    w->error = NULL;
    w->days[0] = days[0];
    w->days[1] = days[1];
    for (i = 0; i < TLSW_N; i++) {
        int first = !w->have[i];
        size_t len;

        if (!w->path[i] || !(differ & (1 << i)))
            continue;
        memcpy(w->hash[i], hash[i], 32);
        w->have[i] = 1;
        if (first)
            continue;
        len = strlen(w->changed);
        snprintf(w->changed + len, sizeof w->changed - len, "%s%s (%s)", len ? ", " : "",
                 tlsw_setting[i], w->path[i]);
        r = TLSW_CHANGED;
    }
out:
    /* Expiry follows the clock even when nothing changed. */
    if (r == TLSW_SAME && (buf[TLSW_CA] || buf[TLSW_CERT])) {
        derr e = {0};
        double d;
        if (buf[TLSW_CA] && ca_days(buf[TLSW_CA], n[TLSW_CA], now, &d) == 0)
            w->days[TLSW_CA] = d;
        if (buf[TLSW_CERT] && tlsw_cert_days(buf[TLSW_CERT], n[TLSW_CERT], now, &d, &e) == 0)
            w->days[TLSW_CERT] = d;
        derr_clear(&e);
    }
    for (i = 0; i < TLSW_N; i++)
        if (buf[i]) {
            OPENSSL_cleanse(buf[i], n[i]);
            free(buf[i]);
        }
    return r;
}

const char *tlswatch_changed(const tlswatch *w)
{
    return w->changed;
}

const char *tlswatch_error(const tlswatch *w)
{
    return w->error;
}

double tlswatch_days(const tlswatch *w, int which)
{
    if (!w || which < 0 || which > 1)
        return NAN;
    return w->days[which];
}

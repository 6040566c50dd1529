/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlswatch.h -- the TLS files of a source (tls.ca, tls.cert, tls.key),
 * watched for changes and for certificates close to their expiry.
 *
 * tlswatch_check() reads each file (following symlinks: a link swapped to
 * a new target counts as a change) and compares the SHA-256 of its content
 * with the one last accepted.  When one changed, the new set is checked
 * before it is accepted: every certificate file must hold a PEM
 * certificate OpenSSL reads, the key a PEM private key (decrypted with
 * tls.key_passphrase when set) that matches the certificate.  A set that
 * passes is accepted (TLSW_CHANGED: the caller recycles the source's
 * pools); one that does not is refused (TLSW_BROKEN, with the reason): the
 * last accepted hashes stay, so the files are checked again at every call
 * and accepted once fixed.
 *
 * Expiry: the days from `now` to the notAfter of the client certificate and
 * to the latest notAfter among the CA file's certificates (a bundle stays
 * usable while one of them is valid), as last read.  A certificate
 * expiring within TLSW_RECOMMEND_DAYS (30) earns a recommendation, within
 * TLSW_DEGRADED_DAYS (7) it makes the source degraded.
 *
 * Contents are never logged nor kept: only their hashes.  Not thread-safe:
 * one caller per watch.
 */
#ifndef DSRC_CORE_TLSWATCH_H
#define DSRC_CORE_TLSWATCH_H

#include <time.h>

#include "base/error.h"

#define TLSW_RECOMMEND_DAYS 30.0
#define TLSW_DEGRADED_DAYS 7.0

enum { TLSW_CA = 0, TLSW_CERT = 1, TLSW_KEY = 2, TLSW_N = 3 };

typedef enum tlsw_result {
    TLSW_SAME = 0,     /* nothing changed since the last accepted set      */
    TLSW_CHANGED = 1,  /* a file changed and the new set is accepted       */
    TLSW_BROKEN = 2    /* a file changed (or cannot be read) and is refused */
} tlsw_result;

typedef struct tlswatch tlswatch;

/* A watch of the files (each may be NULL; copied).  `passphrase` (may be
 * NULL) is borrowed and must outlive the watch.  The first
 * tlswatch_check() accepts what it finds when it is valid.  NULL when out
 * of memory. */
tlswatch *tlswatch_new(const char *ca, const char *cert, const char *key,
                       const char *passphrase);
void tlswatch_free(tlswatch *w);

/* 1 when the watch has at least one file. */
int tlswatch_active(const tlswatch *w);

/* Read and check the files now (see above). */
tlsw_result tlswatch_check(tlswatch *w, time_t now);

/* The files the last TLSW_CHANGED accepted anew ("tls.cert (/path)",
 * comma-separated); the reason of the last TLSW_BROKEN, or NULL once the
 * files are valid again.  Valid until the next check. */
const char *tlswatch_changed(const tlswatch *w);
const char *tlswatch_error(const tlswatch *w);

/* Days until the expiry of the certificate of file `which` (TLSW_CA or
 * TLSW_CERT) as of the last check; NAN when there is none. */
double tlswatch_days(const tlswatch *w, int which);

/* The SHA-256 of the content of the file at `path` (symlinks followed).
 * 0, or -1 with `e` set. */
int tlsw_sha256_file(const char *path, unsigned char out[32], derr *e);

/* Days from `now` to the notAfter of the first PEM certificate of `pem`
 * (`n` bytes).  0, or -1 with `e` set (not a PEM certificate). */
int tlsw_cert_days(const void *pem, size_t n, time_t now, double *days, derr *e);

#endif

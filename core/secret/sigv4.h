/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sigv4.h -- AWS Signature Version 4 (HMAC-SHA256, OpenSSL 3).
 *
 * The signing process as AWS documents it and as its published test suite
 * checks it (tests/fixtures/sigv4): a canonical request (method, URI path,
 * sorted and re-encoded query, lower-cased sorted headers with trimmed
 * values, the signed header list, the payload's SHA-256), a string to sign
 * ("AWS4-HMAC-SHA256", the date, the scope date/region/service/aws4_request,
 * the canonical request's SHA-256), a key derived from the secret key by
 * HMAC over date, region, service and "aws4_request", and the hex HMAC of
 * the string to sign with it.  Two uses: an Authorization header (STS), and
 * a presigned URL (the RDS IAM database token, which is one).
 *
 * Only host code uses it (secret/identity.c).  Nothing here logs; the
 * secret key never leaves the HMAC calls.  Strings returned are malloc'd
 * and belong to the caller (free(); a token with sigv4_free_secret()).
 * Every function returns NULL / -1 only when memory or OpenSSL fails.
 */
#ifndef DSRC_CORE_SIGV4_H
#define DSRC_CORE_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_RDS_TOKEN_EXPIRES 900 /* seconds, what RDS accepts at most */

typedef struct sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL unless temporary credentials */
} sigv4_creds;

typedef struct sigv4_header {
    const char *name, *value;
} sigv4_header;

/* A request to sign.  path is already URI-encoded ("/" when empty); query
 * is the raw query string without '?' (NULL or "" for none), its pairs are
 * decoded and re-encoded as SigV4 wants; the headers are every header to
 * sign (Host and X-Amz-Date included); payload_hash is the hex SHA-256 of
 * the body. */
typedef struct sigv4_request {
    const char *method, *path, *query;
    const sigv4_header *headers;
    size_t n_headers;
    const char *payload_hash;
} sigv4_request;

/* The hex SHA-256 of len bytes; 0, or -1 when OpenSSL fails. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* "YYYYMMDDTHHMMSSZ" for t, in UTC. */
void sigv4_amz_date(time_t t, char out[17]);

/* s percent-encoded as SigV4 wants: every byte but A-Z a-z 0-9 - _ . ~ is
 * %XX (upper-case hex). */
char *sigv4_uri_encode(const char *s);

/* The canonical request; *signed_headers (may be NULL) gets the signed
 * header list ("host;x-amz-date"). */
char *sigv4_canonical_request(const sigv4_request *r, char **signed_headers);

/* The string to sign for a canonical request at amz_date
 * ("20150830T123600Z") in scope "20150830/REGION/SERVICE/aws4_request". */
char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq);

/* The hex signature of sts by secret for the date (first 8 characters of
 * amz_date), region and service; 0 or -1. */
int sigv4_signature(const char *secret, const char *amz_date, const char *region,
                    const char *service, const char *sts, char out[65]);

/* The Authorization header's value for r signed at amz_date. */
char *sigv4_authorization(const sigv4_request *r, const sigv4_creds *c, const char *region,
                          const char *service, const char *amz_date);

/* An RDS / Aurora IAM database authentication token: the presigned URL
 * GET https://HOST:PORT/?Action=connect&DBUser=USER for service rds-db in
 * region, made at now and valid for expires seconds, without "https://",
 * its query in botocore's order (generate_db_auth_token's output, byte for
 * byte).  Release with sigv4_free_secret(). */
char *sigv4_rds_token(const char *host, int port, const char *user, const char *region,
                      const sigv4_creds *c, time_t now, int expires);

/* Wipe and free a string that may hold a credential; NULL is ignored. */
void sigv4_free_secret(char *s);

#endif

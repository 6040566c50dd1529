/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az_sign.h -- the pure parts of the Azure Blob connector: Shared Key
 * signing, URL encoding, connection strings and HTTP dates.
 *
 * Internal to azure_blob.so (and its unit test); nothing here talks to the
 * network.  Every function that returns a string returns a malloc'd one the
 * caller frees, or NULL when out of memory or when the input is invalid.
 */
#ifndef DSRC_AZ_SIGN_H
#define DSRC_AZ_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* The Blob service version the connector speaks (x-ms-version). */
#define AZ_API_VERSION "2021-08-06"

/* A name/value pair (a query parameter or an x-ms-* header). */
typedef struct az_pair {
    const char *name;
    const char *value;
} az_pair;

/* What the Shared Key signature covers of one request.  The connector only
 * sends GET and HEAD requests without a body, so of the standard headers
 * only If-Match and Range can be set. */
typedef struct az_sigreq {
    const char *verb;        /* "GET", "HEAD"                                */
    const char *account;     /* account name                                 */
    const char *path;        /* the URI path exactly as sent (percent-encoded),
                                starting with '/'; for a path-style endpoint
                                it includes the account segment             */
    const az_pair *query;    /* query parameters, values not encoded         */
    size_t n_query;
    const az_pair *headers;  /* x-ms-* headers (any case)                    */
    size_t n_headers;
    const char *if_match;    /* If-Match header or NULL                      */
    const char *range;       /* Range header or NULL                         */
} az_sigreq;

/* The Shared Key string-to-sign of `r` for service versions 2015-02-21 and
 * later: verb, the eleven standard header lines, canonicalized x-ms-*
 * headers (lower-cased, sorted, values trimmed) and canonicalized resource
 * ("/account" + path + "\nname:value" per query parameter, names lower-cased
 * and sorted, repeated names joined with ','). */
char *az_string_to_sign(const az_sigreq *r);

/* HMAC-SHA256 of `sts` with the base64-decoded `key_b64`, base64-encoded.
 * NULL when the key is not valid base64 (or out of memory). */
char *az_hmac_b64(const char *key_b64, const char *sts);

/* The value of the Authorization header for `r`:
 * "SharedKey account:signature".  NULL when the key is invalid. */
char *az_shared_key(const az_sigreq *r, const char *key_b64);

/* Percent-encode `s` for a URL; unreserved characters (RFC 3986) are kept,
 * and '/' too when keep_slash is nonzero. */
char *az_url_encode(const char *s, int keep_slash);

/* Base64 of `len` bytes (no line breaks). */
char *az_b64(const unsigned char *data, size_t len);

/* Decode base64 `s` into `out` (at most `cap` bytes); returns the decoded
 * length or -1 when `s` is not valid base64 or does not fit. */
long az_unb64(const char *s, unsigned char *out, size_t cap);

/* Seconds since the epoch of an HTTP date ("Mon, 01 Jan 2024 10:00:00
 * GMT"); -1 when it does not parse. */
int64_t az_http_time(const char *s);

/* The current time as an HTTP date (for x-ms-date), into `buf`. */
void az_http_now(char *buf, size_t cap);

/* The parts of a storage connection string.  Every member is malloc'd or
 * NULL; free them with az_connstr_free(). */
typedef struct az_connstr {
    char *protocol;          /* DefaultEndpointsProtocol                    */
    char *account;           /* AccountName                                 */
    char *key;               /* AccountKey (a secret)                       */
    char *blob_endpoint;     /* BlobEndpoint                                */
    char *suffix;            /* EndpointSuffix                              */
    char *sas;               /* SharedAccessSignature (a secret)            */
} az_connstr;

/* Parse "Key=Value;Key=Value..." (keys case-insensitive, values may hold
 * '=').  Returns 0, or -1 with a message that names the offending key but
 * never a value in `why` (cap bytes). */
int az_connstr_parse(const char *s, az_connstr *out, char *why, size_t cap);

/* Free what az_connstr_parse() filled (wiping the secrets first). */
void az_connstr_free(az_connstr *c);

/* Overwrite a secret string with zeros (NULL is fine). */
void az_wipe(char *s);

#endif

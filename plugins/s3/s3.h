/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3.h -- internals shared by the files of the s3 connector.
 *
 * Not an interface: only the plugin's own files include it.  Everything
 * here has the `s3_` prefix and is hidden from the host by the module's
 * export list (only dsrc_plugin_abi and dsrc_plugin_init are visible).
 *
 * The plugin never holds an AWS secret: every request is signed by the
 * host (dsrc_host.aws_sign, ABI 1.2) with the credentials it resolves for
 * the source.
 *
 * Files:
 *   s3.c           entry point, option table and limits, open / ping /
 *                  close / cancel, small helpers
 *   s3_conn.c      one HTTP exchange over libcurl: the URL (path-style or
 *                  virtual-host), the request signed by the host, the
 *                  response headers, the body to an expat parser or to the
 *                  fetch in progress
 *   s3_error.c     S3's XML error body and dsrc_error from a failed exchange
 *   s3_catalog.c   item paths, ListBuckets / ListObjectsV2 (paged), list,
 *                  describe (HEAD)
 *   s3_fetch.c     ranged object fetch with resumption, ETag (MD5) and
 *                  x-amz-checksum-* verification; the incremental fetch of a
 *                  bucket or prefix
 */
#ifndef DSRC_PLUGIN_S3_H
#define DSRC_PLUGIN_S3_H

#include <dsrc/plugin.h>
/* AWS signing is the host's (dsrc_host.aws_sign): an older host is refused
 * at load, naming both versions. */
#define DSRC_PLUGIN_MIN_ABI DSRC_ABI_VERSION_1_2
#include <dsrc/plugin_util.h>

#include <curl/curl.h>
#include <expat.h>

#include <stdatomic.h>
#include <stdint.h>

#define S3_VERSION "1.0.0"
#define S3_UNSIGNED "UNSIGNED-PAYLOAD"

/* A connection to one S3 endpoint (or one bucket of it). */
struct dsrc_conn {
    CURL *curl;
    CURLM *multi;            /* runs curl's transfers (s3_conn.c), or NULL  */
    char *scheme;            /* "https" or "http"                           */
    char hostport[256];      /* the endpoint's host[:port]                   */
    char *base_path;         /* "" or the endpoint URL's path, no final '/' */
    int virtual_host;        /* 1: bucket.host/key; 0: host/bucket/key       */
    char *bucket;            /* fixed bucket or NULL                         */
    char *region;            /* the signing region (option or cloud.region) */
    long page_size;
    long range_size;
    long max_retries;
    long backoff_ms;
    int verify;              /* 1: verify ETag MD5 and checksums             */
    atomic_int cancel;
    const dsrc_ctx *ctx;     /* the call running now                        */
    char curl_err[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------------------ */
/* s3.c                                                                      */

/* The host's services (set at init). */
const dsrc_host *s3_host(void);

/* Nonzero when the call was cancelled: by the driver's cancel() on `c`
 * (NULL: not checked) or by the host. */
int s3_cancelled(const dsrc_ctx *ctx, dsrc_conn *c);

/* Log through the host (`fmt` takes the two strings a and b). */
void s3_log(const dsrc_ctx *ctx, dsrc_log_level lvl, const char *fmt, const char *a,
            const char *b);

/* "2024-01-31T12:00:00Z" from seconds since the epoch ("" when negative). */
void s3_iso(int64_t t, char *buf, size_t cap);

/* Seconds since the epoch of an ISO 8601 time ("2024-01-31T12:00:00.000Z")
 * or an HTTP date ("Wed, 31 Jan 2024 12:00:00 GMT"); -1 when neither. */
int64_t s3_time(const char *s);

/* s percent-encoded as S3 and SigV4 want (A-Z a-z 0-9 - _ . ~ kept, and '/'
 * too when keep_slash); malloc'd, NULL when out of memory. */
char *s3_encode(const char *s, int keep_slash);

/* ------------------------------------------------------------------------ */
/* s3_conn.c                                                                 */

typedef enum s3_body {
    S3_BODY_NONE = 0, /* HEAD, or a body that is not wanted                  */
    S3_BODY_XML,      /* a listing, fed to an expat parser                   */
    S3_BODY_SINK      /* object bytes, to the fetch state                    */
} s3_body;

/* The fetch in progress: where bytes go, how far they got, the digests. */
typedef struct s3_fst {
    const dsrc_byte_sink *sink;
    void *md5;               /* EVP_MD_CTX of the ETag's MD5, or NULL        */
    void *sum;               /* EVP_MD_CTX of x-amz-checksum-*, or NULL      */
    int64_t offset;          /* next byte to deliver                         */
} s3_fst;

/* A query parameter (name and value, not encoded). */
typedef struct s3_pair {
    const char *name, *value;
} s3_pair;

/* What came back from one request. */
typedef struct s3_resp {
    long status;
    CURLcode cc;
    char code[96];           /* <Code> of the error body                     */
    char message[256];       /* first line of <Message>                      */
    char content_type[256];
    char etag[128];
    char last_modified[64];
    char date[64];
    char storage_class[32];
    char content_encoding[64];
    char server[64];
    char checksum_name[16];  /* "sha256", "sha1", "crc32"... ("" none)      */
    char checksum[96];       /* its base64 value                             */
    char region[64];         /* x-amz-bucket-region                          */
    int64_t content_length;
    dsrc_kv *meta;           /* x-amz-meta-*: malloc'd names and values      */
    size_t n_meta;
    int meta_failed;
    s3_body body;
    XML_Parser xp;
    s3_fst *fetch;
    dsrc_buf errbody;
    int stopped;             /* a sink asked to stop                         */
    int xml_bad;
} s3_resp;

/* Free what a response holds (not `r` itself); `r` may be reused. */
void s3_resp_free(s3_resp *r);

/* libcurl's progress callback (user data: the connection): aborts the
 * transfer when the call is cancelled. */
int s3_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

/* Build, have the host sign, and send one request on `bucket` ("": the
 * service) and `key` (NULL: the bucket itself), with query parameters
 * (sorted by name, not encoded) and optional Range / If-Match values;
 * `checksum` asks for x-amz-checksum-mode: ENABLED.  The body goes where
 * r->body says.  DSRC_OK for a 2xx response; else err is filled (`what`
 * names the operation and item).  Free `r` with s3_resp_free() either way. */
dsrc_status s3_request(const dsrc_ctx *ctx, dsrc_conn *c, const char *method,
                       const char *bucket, const char *key, const s3_pair *query, size_t nq,
                       const char *range, const char *if_match, int checksum, s3_resp *r,
                       const char *what, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* s3_error.c                                                                */

/* Code and Message of r's error body into r->code and r->message. */
void s3_parse_error_body(s3_resp *r);

/* Fill err for a failed exchange (`what` names the operation and item). */
dsrc_status s3_fail(dsrc_conn *c, const s3_resp *r, const char *what, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* s3_catalog.c                                                              */

/* One object of an incremental listing. */
typedef struct s3_iobj {
    int64_t mtime;
    int64_t size;
    char *key;
    char *etag;
} s3_iobj;

/* An incremental listing: the objects after the cursor (mtime, key). */
typedef struct s3_incr {
    int64_t after_mtime;     /* -1: no cursor                               */
    const char *after_key;   /* "" with a bare timestamp                    */
    int64_t until;           /* the first page's Date (-1 before it came)   */
    s3_iobj *v;
    size_t n, cap;
} s3_incr;

/* Append the item path of `key` in `bucket` to b ("bucket/key", or "key"
 * with a fixed bucket); '%' escaped, '/' kept. */
void s3_item_path(dsrc_buf *b, const dsrc_conn *c, const char *bucket, const char *key);

/* Split an item path into bucket and key (both malloc'd, decoded).  With a
 * fixed bucket the whole path is the key. */
dsrc_status s3_split(const dsrc_conn *c, const char *path, char **bucket, char **key,
                     dsrc_error *err);

/* List `path` page by page: each entry to `sink`, or, with `inc` set, the
 * objects after inc's cursor (all levels) collected in `inc`. */
dsrc_status s3_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                        const dsrc_item_sink *sink, s3_incr *inc, dsrc_error *err);

dsrc_status s3_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);

/* HEAD an object, or the bucket when `key` is "": the properties in r. */
dsrc_status s3_head(const dsrc_ctx *ctx, dsrc_conn *c, const char *bucket, const char *key,
                    s3_resp *r, const char *what, dsrc_error *err);

dsrc_status s3_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* s3_fetch.c                                                                */

dsrc_status s3_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

#endif

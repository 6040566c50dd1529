/* SPDX-License-Identifier: Apache-2.0 */
/*
 * az.h -- internals shared by the files of the azure_blob connector.
 *
 * Not an interface: only the plugin's own files include it.  Everything
 * here has the `az_` prefix and is hidden from the host by the module's
 * export list (only dsrc_plugin_abi and dsrc_plugin_init are visible).
 * It includes az_sign.h, the pure part (signing, encoding, connection
 * strings, HTTP dates) that the unit test links on its own, without
 * libcurl or expat.
 *
 * Files:
 *   azure_blob.c   entry point, option table, open / ping / close / cancel
 *                  (with the `cloud` group read at open), small helpers
 *   az_http.c      one HTTP exchange over libcurl: building, authorising
 *                  and sending a request, its response headers and body,
 *                  error bodies, dsrc_error from a failed exchange
 *   az_sign.c      Shared Key signing, encoding, connection strings
 *   az_list.c      item paths, List Containers / List Blobs (XML), list
 *   az_catalog.c   describe (Get Blob / Container Properties)
 *   az_fetch.c     ranged blob fetch with retries and MD5; the incremental
 *                  fetch of a container
 */
#ifndef DSRC_PLUGIN_AZ_H
#define DSRC_PLUGIN_AZ_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <curl/curl.h>
#include <expat.h>

#include <stdatomic.h>
#include <stdint.h>

#include "az_sign.h"

#define AZ_VERSION "1.0.0"

/* A connection to one storage account (or one container of it). */
struct dsrc_conn {
    CURL *curl;
    CURLM *multi;            /* runs curl's transfers (az_http.c), or NULL */
    char *account;
    char *key;               /* base64 account key or NULL (secret)         */
    char *sas;               /* SAS query without '?' or NULL (secret)      */
    char *origin;            /* "https://host[:port]"                        */
    char *base_path;         /* "" or "/devstoreaccount1" (path-style)      */
    char *container;         /* fixed container or NULL                      */
    char *api_version;
    char hostport[128];
    long page_size;
    long range_size;
    long max_retries;
    long backoff_ms;
    /* Microsoft Entra ID (cloud.provider = "azure"): tokens from the host */
    int bearer;              /* 1: requests carry Authorization: Bearer      */
    char *token;             /* cached access token (secret) or NULL         */
    int64_t token_exp;       /* its expiry, seconds since the epoch          */
    atomic_int cancel;
    const dsrc_ctx *ctx;     /* the call running now                        */
    char curl_err[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------------------ */
/* azure_blob.c                                                              */

/* Free a secret string after overwriting it (NULL is fine). */
void az_free_secret(char *s);

/* Nonzero when the call was cancelled: by the driver's cancel() on `c`
 * (NULL: not checked) or by the host. */
int az_cancelled(const dsrc_ctx *ctx, dsrc_conn *c);
/* The host's cancel descriptor for the call `ctx` (dsrc_cancel_fd()), -1
 * when none. */
int az_cancel_fd(const dsrc_ctx *ctx);

/* Log through the host (`fmt` takes the two strings a and b). */
void az_log(const dsrc_ctx *ctx, dsrc_log_level lvl, const char *fmt, const char *a,
            const char *b);

/* "2024-01-31T12:00:00Z" from seconds since the epoch ("" when negative). */
void az_iso(int64_t t, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* az_http.c                                                                 */

/* Where the body of a response goes. */
typedef enum az_body {
    AZ_BODY_NONE = 0, /* HEAD, or a body that is not wanted                  */
    AZ_BODY_XML,      /* a listing, fed to an expat parser                   */
    AZ_BODY_SINK      /* blob bytes, to the fetch state                      */
} az_body;

/* The Content-MD5 digest of a fetch (az_fetch.c). */
typedef struct az_md5 az_md5;

/* The fetch in progress: where bytes go and how far they got. */
typedef struct az_fst {
    const dsrc_byte_sink *sink;
    az_md5 *md5;             /* NULL when the blob carries no Content-MD5    */
    int64_t offset;          /* next byte to deliver                         */
} az_fst;

/* What came back from one request. */
typedef struct az_resp {
    long status;
    CURLcode cc;
    char error_code[96];     /* x-ms-error-code (or <Code> of the body)      */
    char message[256];       /* first line of <Message>                      */
    char content_type[256];
    char content_md5[64];
    char etag[128];
    char last_modified[64];
    char creation_time[64];
    char date[64];           /* Date: the service's clock                    */
    char blob_type[32];
    char content_encoding[64];
    char access_tier[32];
    char lease_state[32];
    char server[64];
    /* With cert_of set (ping): the notAfter (epoch seconds) of the
     * certificate the server presented on the TLS connection that
     * answered, read while the answer comes in; 0 when not known. */
    CURL *cert_of;
    int64_t server_cert_not_after;
    int64_t content_length;
    long retry_after;        /* seconds; -1 none                             */
    dsrc_kv *meta;           /* x-ms-meta-*: malloc'd names and values       */
    size_t n_meta;
    int meta_failed;
    /* body handling */
    az_body body;
    XML_Parser xp;
    struct az_fst *fetch;
    dsrc_buf errbody;
    int stopped;             /* a sink asked to stop                         */
    int xml_bad;
} az_resp;

/* Free what a response holds (not `r` itself); `r` may be reused. */
void az_resp_free(az_resp *r);

/* libcurl's progress callback for c->curl (user data: the connection):
 * aborts the transfer when the call is cancelled. */
int az_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

/* 1 when `msg` contains any credential of the connection. */
int az_leaks(const dsrc_conn *c, const char *msg);

/* Build and send one request: `path` is the encoded path below the base
 * path, `query` its parameters (not encoded), `range` an x-ms-range and
 * `if_match` an If-Match value (both optional).  The body goes where
 * r->body says.  DSRC_OK for a 2xx response; else err is filled (`what`
 * names the operation and item).  The caller frees `r` with
 * az_resp_free() either way. */
dsrc_status az_request(const dsrc_ctx *ctx, dsrc_conn *c, const char *verb, const char *path,
                       const az_pair *query, size_t nq, const char *range,
                       const char *if_match, az_resp *r, const char *what, dsrc_error *err);

/* The connection's Entra ID access token in c->token, from the host
 * (dsrc_host.bearer_token, ABI 1.3), asked again when it is within 5
 * minutes of expiry.  DSRC_OK or err filled (never with the token). */
dsrc_status az_token_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *what,
                         dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* az_list.c                                                                 */

/* One blob of an incremental listing. */
typedef struct az_iblob {
    int64_t mtime;
    int64_t size;
    char *name;              /* the blob's name in its container            */
    char *etag;
    char *md5;               /* Content-MD5 (base64) or NULL                */
} az_iblob;

/* An incremental listing: the blobs after the cursor (mtime, name). */
typedef struct az_incr {
    int64_t after_mtime;     /* -1: no cursor                               */
    const char *after_name;  /* "" with a bare timestamp                    */
    int64_t until;           /* the first page's Date (-1 before it came):
                                only blobs of earlier seconds are complete */
    az_iblob *v;
    size_t n, cap;
} az_incr;

/* Append the item path of `name` in `container` to `b` ("container/name",
 * or "name" with a fixed container); '%' escaped, '/' kept. */
void az_item_path(dsrc_buf *b, const dsrc_conn *c, const char *container, const char *name);

/* Split an item path into its container and the rest (both malloc'd and
 * decoded; with a fixed container the whole path is the rest).  DSRC_OK,
 * INVALID_ARGUMENT for a malformed escape, or INTERNAL. */
dsrc_status az_split(const dsrc_conn *c, const char *path, char **container, char **rest,
                     dsrc_error *err);

/* "/container" or "/container/blob" (blob may be NULL), percent-encoded and
 * malloc'd; NULL when out of memory. */
char *az_res_path(const char *container, const char *blob);

/* List `path` (containers, or a container's blobs and directories under a
 * prefix) page by page: each entry to `sink`, or, with `inc` set, the
 * blobs after inc's cursor (all levels, no delimiter) collected in `inc`
 * and inc->until set from the first page's Date. */
dsrc_status az_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                        const dsrc_item_sink *sink, az_incr *inc, dsrc_error *err);

/* The driver's list (see dsrc_driver). */
dsrc_status az_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* az_catalog.c                                                              */

/* HEAD a blob, or a container when `blob` is "": the properties in `r`. */
dsrc_status az_head(const dsrc_ctx *ctx, dsrc_conn *c, const char *container,
                    const char *blob, az_resp *r, const char *what, dsrc_error *err);

/* The driver's describe (see dsrc_driver). */
dsrc_status az_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* az_fetch.c                                                                */

/* Add `len` received bytes to the digest (in the order received). */
void az_md5_update(az_md5 *m, const char *data, size_t len);

/* The driver's fetch (see dsrc_driver): a blob's bytes, or with a cursor
 * field a container's new and changed blobs as rows. */
dsrc_status az_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

#endif

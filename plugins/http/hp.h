/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hp.h -- internals shared by the files of the http connector.
 *
 * Not an interface: only the plugin's own files include it.  Everything
 * here has the `hp_` prefix and is hidden from the host by the module's
 * export list (only dsrc_plugin_abi and dsrc_plugin_init are visible).
 *
 * Files:
 *   http.c      entry point, option table and limits, validate, the items
 *               option (parsed into hp_item), open / ping / close / cancel
 *   hp_conn.c   one HTTP GET over libcurl: URL, auth headers (OAuth2 token
 *               included), TLS, rate limit, 429 / Retry-After, the body
 *               buffered up to max_page_size, cancel through cancel_fd
 *   hp_error.c  dsrc_error from a failed exchange or a body that is not JSON
 *   hp_page.c   pagination: the pages of one item, each page's records
 *   hp_rows.c   the schema sampled from records, records flattened to cells
 *   hp_fetch.c  list, describe and fetch (rows or raw JSON Lines)
 */
#ifndef DSRC_PLUGIN_HP_H
#define DSRC_PLUGIN_HP_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <curl/curl.h>
#include <jansson.h>

#include <stdatomic.h>
#include <stdint.h>

#define HP_VERSION "1.0.0"

/* How an item's pages follow one another. */
typedef enum hp_paging {
    HP_PAGE_NONE = 0,  /* one request                                      */
    HP_PAGE_NUMBER,    /* page_param=1,2,... and limit_param=page_size      */
    HP_PAGE_OFFSET,    /* offset_param=0,n,2n,... and limit_param=page_size */
    HP_PAGE_CURSOR,    /* the token at the `next` pointer of the body, sent
                          back as cursor_param                             */
    HP_PAGE_LINK       /* the Link header's rel="next" URL                 */
} hp_paging;

/* One item of the `items` option (all strings malloc'd). */
typedef struct hp_item {
    char *name;
    char *path;          /* below base_url, starts with '/'                */
    char *query;         /* fixed query parameters ("a=1&b=2") or NULL     */
    char *records;       /* JSON pointer to the records array ("": body)   */
    hp_paging paging;
    long page_size;
    char *page_param;
    char *limit_param;
    char *offset_param;
    char *cursor_param;  /* paging = cursor: the token's query parameter   */
    char *next;          /* paging = cursor: JSON pointer to the token     */
    double rate_limit;   /* requests per second; 0: none                   */
    char *cursor_field;  /* incremental: the record field, or NULL         */
    char *since_param;   /* incremental: the query parameter of its value  */
} hp_item;

/* A connection: the source's settings and one curl handle. */
struct dsrc_conn {
    CURL *curl;
    CURLM *multi;
    char *base;              /* base_url without a trailing '/'            */
    char origin[256];        /* "scheme://host[:port]" of base             */
    int auth;                /* HP_AUTH_*                                  */
    char *user;              /* basic                                       */
    char *secret;            /* password, token or API key (secret)        */
    char *key_header;        /* api_key: the header's name                 */
    char *token_url;         /* oauth2                                      */
    char *client_id;
    char *client_secret;     /* secret                                      */
    char *scope;
    char *ping_path;         /* below base, starts with '/'                */
    char *token;             /* oauth2 access token (secret) or NULL       */
    int64_t token_exp;       /* its expiry (seconds since the epoch)       */
    hp_item *items;
    size_t n_items;
    long max_retries;        /* 429 / 503 answers honoured in a row         */
    long max_wait_ms;        /* longest Retry-After honoured                */
    long sample_pages;
    int64_t max_page;        /* bytes of one response at most              */
    double last_req;         /* monotonic seconds of the last request      */
    atomic_int cancel;
    const dsrc_ctx *ctx;     /* the call running now                       */
    char curl_err[CURL_ERROR_SIZE];
};

enum { HP_AUTH_NONE = 0, HP_AUTH_BASIC, HP_AUTH_BEARER, HP_AUTH_API_KEY, HP_AUTH_OAUTH2 };

/* ------------------------------------------------------------------------ */
/* http.c                                                                    */

/* Nonzero when the call was cancelled (by cancel() on `c` or the host). */
int hp_cancelled(const dsrc_ctx *ctx, dsrc_conn *c);
/* The host's cancel descriptor for `ctx`, -1 when none. */
int hp_cancel_fd(const dsrc_ctx *ctx);
/* The item named `name` of the connection, or NULL. */
const hp_item *hp_item_find(const dsrc_conn *c, const char *name);

/* ------------------------------------------------------------------------ */
/* hp_conn.c                                                                 */

/* What came back from one GET. */
typedef struct hp_resp {
    long status;
    CURLcode cc;
    dsrc_buf body;           /* the body, NUL-terminated                   */
    char next[2048];         /* Link: rel="next" URL, "" when none         */
    long retry_after;        /* seconds; -1 none                           */
    int too_big;             /* the body passed max_page_size              */
    int64_t max;             /* the cap while receiving                    */
} hp_resp;

/* Free what a response holds (r may be reused after). */
void hp_resp_free(hp_resp *r);

/* GET `url` (absolute, already encoded) with the source's auth, paced by
 * `rate` requests per second (0: none) and honouring 429 / 503 with
 * Retry-After at most max_retries times in a row.  DSRC_OK for a 2xx
 * answer with its body in r; else err is filled (`what` names the item
 * and page, never the URL's query).  Free r with hp_resp_free() either
 * way. */
dsrc_status hp_get(const dsrc_ctx *ctx, dsrc_conn *c, const char *url, double rate,
                   hp_resp *r, const char *what, dsrc_error *err);

/* Append `s` percent-encoded as a query value to `b`. */
void hp_add_escaped(dsrc_buf *b, const char *s);

/* ------------------------------------------------------------------------ */
/* hp_error.c                                                                */

/* The error of a failed exchange (transport or HTTP status) in err. */
dsrc_status hp_fail(dsrc_conn *c, const hp_resp *r, const char *what, dsrc_error *err);

/* The body of r parsed as JSON in *doc; a body that is not JSON is
 * DSRC_E_BACKEND naming the byte offset, line and column. */
dsrc_status hp_parse(const hp_resp *r, json_t **doc, const char *what, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* hp_page.c                                                                 */

/* The value at the JSON pointer `ptr` (RFC 6901; "" is doc), or NULL. */
json_t *hp_pointer(json_t *doc, const char *ptr);

/* Receives each page's records array; returns DSRC_OK to go on, HP_STOP to
 * end the walk with DSRC_OK, or an error status stored in err. */
#define HP_STOP (-1)
typedef int (*hp_page_fn)(void *user, json_t *records, dsrc_error *err);

/* Walk the pages of `it` (at most max_pages; 0: all), with `since`, when
 * not NULL, sent as the item's since_param. */
dsrc_status hp_pages(const dsrc_ctx *ctx, dsrc_conn *c, const hp_item *it, const char *since,
                     long max_pages, hp_page_fn fn, void *user, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* hp_rows.c                                                                 */

/* A schema sampled from records: one column per top-level field. */
typedef struct hp_schema {
    dsrc_column *cols;       /* names malloc'd                              */
    size_t n, cap;
    size_t *offs;            /* hp_row()'s scratch offsets, one per cell of
                                a row (the first call's n: keep it)         */
    int failed;
} hp_schema;

/* Add the fields of every record of `records` (an array) to `s`. */
void hp_schema_sample(hp_schema *s, json_t *records);
/* After sampling: a column seen only as null becomes text. */
void hp_schema_done(hp_schema *s);
/* Index of column `name`, or -1. */
long hp_schema_find(const hp_schema *s, const char *name);
void hp_schema_free(hp_schema *s);

/* Fill cells[k] with the value of `rec`'s field of column idx[k] for k in
 * [0, n); text of numbers, objects and arrays goes to `scratch` (reset by
 * the caller per record).  A field of `rec` the schema does not have, a
 * value whose type does not fit its column, or a record that is not an
 * object is DSRC_E_BACKEND naming the field, the record number `recno`
 * and both types. */
dsrc_status hp_row(hp_schema *s, const size_t *idx, size_t n, json_t *rec,
                   uint64_t recno, dsrc_cell *cells, dsrc_buf *scratch, const char *item,
                   dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* hp_fetch.c                                                                */

dsrc_status hp_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status hp_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);
dsrc_status hp_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

#endif

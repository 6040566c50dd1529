/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h -- dsrcd's control API: HTTP/1.1 with JSON bodies, served with GNU
 * libmicrohttpd on the control socket and, optionally, on TCP with TLS.
 *
 * Every route is one row of a table (api_routes()): a method, a path
 * pattern ("/v1/sources/{name}"), the lowest role allowed and a one-line
 * summary.  A request is matched by api_route_match(): an unknown path is
 * 404, a known path with another method 405 with Allow.  The daemon gives
 * one handler per route (api_config.handlers, indexed by api_route_id); a
 * route without a handler answers 501.  docs/openapi.json describes every
 * route of the table (dsrcd serves it at GET /openapi.json); a route added
 * here needs its operation there (tests/integration/openapi.sh compares
 * them and checks the answers against the document's schemas).
 *
 * Who calls: on the control socket, the peer's uid and groups (SO_PEERCRED)
 * give the role (api_role_for_peer(), from the `api` group of dsrcd.conf);
 * on TCP, an "Authorization: Bearer TOKEN" header checked by the
 * token_check hook (no hook: every TCP request is 401).  A caller without
 * the route's role gets 403 (or 401 without credentials).
 *
 * Errors are application/problem+json (RFC 9457): {"type", "title",
 * "status", "detail", "dsrc_status" (error_status_name()), "retryable"},
 * the HTTP status from api_http_status(); details are redacted.
 *
 * Threads: one per connection (libmicrohttpd's thread-per-connection
 * mode), so a slow or silent client never delays another.  Handlers run on
 * those threads, concurrently: they take what they need under their own
 * lock and never hold it while the answer is sent.  Limits (api group):
 * connections at once (beyond: 503, then closed at once), idle time
 * (closed; so is a connection whose request line and headers are not whole
 * within it, a watchdog thread sees to that), header size (431), body size
 * (413).
 */
#ifndef DSRC_CORE_API_H
#define DSRC_CORE_API_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/error.h"
#include "config/config.h"

/* Roles, each including the ones below it. */
typedef enum api_role {
    API_ROLE_NONE = 0,      /* nothing (denied)                              */
    API_ROLE_VIEWER = 1,    /* reads everything but data; secrets redacted   */
    API_ROLE_OPERATOR = 2,  /* + test, run, cancel, read data                */
    API_ROLE_ADMIN = 3      /* + reload, tokens, source changes              */
} api_role;

/* "none", "viewer", "operator", "admin". */
const char *api_role_name(api_role r);

/* Who calls.  `who`: "uid 1000 (alice)" on the socket, "token NAME" on TCP;
 * `from`: "socket" or "ADDR:PORT". */
typedef struct api_caller {
    api_role role;
    char who[128];
    char from[80];
} api_caller;

/* ------------------------------------------------------------------------ */
/* Routes                                                                    */

typedef enum api_route_id {
    API_R_STATUS = 0,   /* GET /v1/status             version, pid, config  */
    API_R_HEALTH,       /* GET /v1/health[?source=]                         */
    API_R_POOLS,        /* GET /v1/pools[?source=]                          */
    API_R_SOURCES,      /* GET /v1/sources                                  */
    API_R_SOURCE,       /* GET /v1/sources/{name}     config, secrets ***   */
    API_R_SOURCE_DRIFT, /* GET /v1/sources/{name}/drift[?since=MS]          */
    API_R_JOBS,         /* GET /v1/jobs[?source=]                           */
    API_R_RUNS,         /* GET /v1/runs[?source=&state=&limit=]             */
    API_R_RUN_CREATE,   /* POST /v1/runs {source, kind, item} -> 202        */
    API_R_RUN,          /* GET /v1/runs/{id}                                */
    API_R_RUN_CANCEL,   /* DELETE /v1/runs/{id}                             */
    API_R_RELOAD,       /* POST /v1/reload                                  */
    API_R_METRICS,      /* GET /metrics               Prometheus text format  */
    API_R_OPENAPI,      /* GET /openapi.json          the OpenAPI document     */
    API_R_ITEMS,        /* GET /v1/sources/{name}/items[?path=]   list()    */
    API_R_ITEM,         /* GET /v1/sources/{name}/items/{item}    describe()*/
    API_R_ITEM_DATA,    /* GET /v1/sources/{name}/items/{item}/data  fetch  */
    API_R_SOURCE_TEST,  /* POST /v1/sources/{name}/test    a ping            */
    API_R_SOURCE_CATALOG, /* GET /v1/sources/{name}/catalog[?item=&snapshot=&at=] */
    API_R_SOURCE_STATS, /* GET /v1/sources/{name}/stats                     */
    API_R_SOURCE_CREATE,  /* POST /v1/sources            a new source       */
    API_R_SOURCE_REPLACE, /* PUT /v1/sources/{name}      replace it         */
    API_R_SOURCE_PATCH,   /* PATCH /v1/sources/{name}    merge patch        */
    API_R_SOURCE_DELETE,  /* DELETE /v1/sources/{name}   remove it          */
    API_R_NODES,        /* GET /v1/nodes              the cluster's nodes     */
    API_R_QUERIES,      /* GET /v1/queries[?source=&limit=]  query history  */
    API_R_SOURCE_QUERY, /* POST /v1/sources/{name}/query  a read-only query,
                           streamed                                         */
    API_R_COUNT
} api_route_id;

typedef struct api_route {
    api_route_id id;
    const char *method;     /* "GET", "POST", "PUT", "PATCH", "DELETE"      */
    const char *pattern;    /* "/v1/runs/{id}": {x} matches one segment     */
    api_role role;          /* the lowest role allowed                      */
    const char *summary;    /* one line                                     */
} api_route;

/* The table of every route the server serves; *n its length. */
const api_route *api_routes(size_t *n);

#define API_MAX_PARAMS 4
#define API_MAX_SEGMENT 256

/* A matched request's path parameters ({name} -> value). */
typedef struct api_params {
    size_t n;
    const char *name[API_MAX_PARAMS];     /* points into the pattern, not
                                             NUL-terminated at '}'        */
    size_t name_len[API_MAX_PARAMS];
    char value[API_MAX_PARAMS][API_MAX_SEGMENT];
} api_params;

/* The server decodes every %XX of a URL but %2F and %25 (so that an
 * encoded '/' stays inside its path segment); this decodes those two, from
 * the `len` bytes at `in` into `out` (which may be `in`), NUL-terminated.
 * api_route_match() does it for each parameter, the server for each query
 * argument before the handler runs. */
void api_decode_kept(char *out, const char *in, size_t len);

/* Match `method` and `path` (no query string).  Returns the route with *p
 * filled, or NULL with *http set to 404 (no pattern matches the path) or
 * 405 (patterns match, other methods: `allow` gets them, ", "-separated). */
const api_route *api_route_match(const char *method, const char *path, api_params *p,
                                 int *http, char *allow, size_t allow_len);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* The HTTP status for a host status (400, 401, 403, 404, 409, 500, 501,
 * 503) and whether a client may retry it. */
int api_http_status(dsrc_status st);
int api_status_retryable(dsrc_status st);

/* A problem+json document (a new reference) for an HTTP status, the host's
 * status and a detail (redacted here). */
json_t *api_problem(int http, dsrc_status st, const char *detail);

/* ------------------------------------------------------------------------ */
/* Server                                                                    */

/* One request, as a handler sees it. */
typedef struct api_request {
    const api_route *route;
    const api_params *params;
    const api_caller *caller;
    const char *path;
    json_t *body;            /* the JSON body, or NULL (none)                */
    void *conn_;             /* the connection (api_query reads it)          */
    const atomic_int *stopping; /* becomes 1 when the server stops: a
                                   handler or stream that waits for
                                   something gives up then              */
    /* set by the handler when they apply */
    int http;                /* the success status: 200 unless set          */
    char location[256];      /* a Location header, or ""                     */
    char source[128];        /* for the audit trail: the source concerned   */
    char item[256];          /*                      and the item           */
    char detail[512];        /*                      and what changed       */
    char etag[80];           /* an ETag header, or ""                        */
    /* a body that is not JSON: the handler sets text (malloc'd; the server
       frees it) and text_type (a static Content-Type), and returns any
       JSON value (discarded) */
    char *text;
    size_t text_len;
    const char *text_type;
    /* a streamed body (chunked, of unknown length): the handler sets
       stream_read and stream_free (with stream_user and a static
       stream_type) and returns any JSON value (discarded).  stream_read
       fills `buf` with at most `max` bytes and returns how many (> 0), 0 at
       the end of the data, or -1 on a failure: the connection is then cut
       before the final chunk, so the client sees an incomplete body, never
       a short complete one.  It may block.  stream_free is called once,
       always (after the end, a failure or the client going away:
       `completed` is 1 only when the whole body was sent), on the
       connection's thread; the request is audited then with the bytes
       sent (status 200 when complete, else 499: the client went away, or
       500: stream_read failed). */
    long (*stream_read)(void *user, char *buf, size_t max);
    void (*stream_free)(void *user, int completed);
    void *stream_user;
    const char *stream_type;
} api_request;

/* The value of a path parameter ("name", "id") or NULL.  A path segment
 * may hold '/' percent-encoded ("%2F": /v1/sources/pg/items/public%2Ft);
 * the value has it decoded ("public/t"), as every other escape. */
const char *api_param(const api_request *r, const char *name);

/* The value of a request header (case-insensitive name), or NULL. */
const char *api_header(const api_request *r, const char *name);

/* The value of a query argument, or NULL. */
const char *api_query(const api_request *r, const char *key);

/* 1 when the client has closed its connection (a handler that waits long
 * before answering may give up). */
int api_client_gone(const api_request *r);

/* Serve one request: the result (a new reference, sent as JSON with
 * r->http) or NULL with `e` set (sent as problem+json). */
typedef json_t *(*api_handler)(void *user, api_request *r, derr *e);

/* Check a bearer token: 0 with out->role and out->who set, or -1 with
 * `e` set (DSRC_E_AUTH for an unknown, expired or revoked token: 401,
 * message saying which) and, for an expired or revoked token, out->who
 * set (the audit trail names it). */
typedef int (*api_token_check)(void *user, const char *token, api_caller *out, derr *e);

/* One audited request: every request that changes something (any method
 * but GET), reads data, or is denied (401, 403). */
typedef struct api_audit_event {
    const char *who;         /* api_caller.who ("-" when unknown)           */
    const char *from;        /* "socket" or "ADDR:PORT"                     */
    const char *method;
    const char *route;       /* the pattern, or NULL when none matched      */
    const char *path;
    const char *source;      /* NULL when none                              */
    const char *item;        /* NULL when none                              */
    const char *detail;      /* what the handler said changed, or NULL      */
    int status;              /* the HTTP status sent                        */
    uint64_t bytes;          /* the body bytes sent                         */
} api_audit_event;

typedef void (*api_audit_fn)(void *user, const api_audit_event *ev);

typedef struct api_config {
    const char *socket_path;     /* the control socket, or NULL: none       */
    const cfg_api *api;          /* listen, TLS, limits, roles (copied)     */
    api_handler handlers[API_R_COUNT];
    void *user;                  /* for the handlers                         */
    api_token_check token_check; /* NULL: TCP requests are all 401          */
    void *token_user;
    api_audit_fn audit;          /* NULL: nothing audited                   */
    void *audit_user;
} api_config;

typedef struct api_server api_server;

/* Start serving.  The socket: a stale socket at the path is removed, one a
 * process listens on is refused; the parent directory is made (0755) when
 * missing; the socket gets mode 0660.  The TCP listener (api->listen), with
 * TLS when api->tls_cert is set (the files are read now).  NULL with `e`
 * set when a listener cannot be made. */
api_server *api_server_start(const api_config *cfg, derr *e);

/* Stop serving (NULL is fine): closes every connection, waits for the
 * connection threads, removes the socket. */
void api_server_stop(api_server *s);

/* The role of a peer on the control socket: uid 0 and the daemon's own
 * uid are admin; then the highest role whose *_users names the uid's user
 * or whose *_groups names one of its groups; else none. */
api_role api_role_for_peer(const cfg_api *api, uid_t uid, gid_t gid);

/* ------------------------------------------------------------------------ */
/* Client                                                                    */

/* Call the API on the control socket `sock`: `method` on `path` (with its
 * query string), with `body` (may be NULL) as JSON.  DSRC_OK with *result
 * (a new reference; JSON null for an empty answer), or the failure in `e`:
 * DSRC_E_UNREACHABLE "dsrcd is not running (no answer on SOCK)",
 * DSRC_E_PERMISSION when the socket may not be opened, DSRC_E_TIMEOUT after
 * timeout_ms, else the status and detail of the problem answered. */
dsrc_status api_client_call(const char *sock, const char *method, const char *path,
                            const json_t *body, int timeout_ms, json_t **result, derr *e);

/* api_client_call(), and when dsrcd answered a problem, *problem (may be
 * NULL) is its whole document (a new reference; NULL otherwise): its
 * members beside the detail (e.g. a refused reload's or source's "errors"). */
dsrc_status api_client_call_problem(const char *sock, const char *method, const char *path,
                                    const json_t *body, int timeout_ms, json_t **result,
                                    json_t **problem, derr *e);

#endif

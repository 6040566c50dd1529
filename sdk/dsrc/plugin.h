/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <dsrc/plugin.h> -- the dsrc plugin ABI, version 1.3.
 *
 * This is the only header a dsrc connector plugin includes.  A plugin is a
 * shared object named <name>.so that exports exactly two symbols:
 *
 *   dsrc_plugin_abi()   the "magic block": returns the ABI version and the
 *                       struct sizes the plugin was compiled with.  The host
 *                       calls it before anything else and refuses the plugin
 *                       on a major mismatch.  Define it with DSRC_PLUGIN_ABI().
 *   dsrc_plugin_init()  the entry point: receives the host's ABI version and
 *                       services and fills a dsrc_driver.
 *
 * Compatibility promise (the whole 1.x series): ABI 1.0 and ABI 1.1 are
 * frozen, installed as <dsrc/abi/v1_0.h> and <dsrc/abi/v1_1.h>, and never
 * change again; a later minor only appends (members at the end of
 * self-sized structs, enumeration values, constants, new structs) and is
 * frozen in its own header when released.  Every host of major 1 loads a
 * plugin of any 1.x minor; each side reads a member the other side fills
 * only when that side's struct size holds it.  A plugin that cannot work
 * without a later member defines DSRC_PLUGIN_MIN_ABI (<dsrc/plugin_util.h>)
 * and refuses an older host by name and version; `dsrc abi-check
 * --target 1.0 PLUGIN.so` checks a plugin meant for older hosts too.
 *
 * Compatibility rules (ABI major 1):
 *   - A struct that begins with `uint32_t struct_size` is self-sized: it only
 *     ever grows by appending members at its end.  A reader checks
 *     DSRC_HAS_MEMBER() before touching a member added after 1.0.
 *   - Structs used as array elements (dsrc_kv, dsrc_option, dsrc_column,
 *     dsrc_cell) are frozen for the whole of major 1; their reserved members
 *     must be zero.
 *   - Enumerations only gain values; an unknown value must be treated as the
 *     most generic one (e.g. DSRC_ITEM_OTHER, DSRC_E_INTERNAL).
 *   - What a minor version added is marked `since 1.N`.  A plugin built for
 *     1.0 keeps working with a 1.1 host: it never sets the 1.1 members, and
 *     the host reads a member of a struct the plugin fills (dsrc_metadata)
 *     only when that struct's struct_size holds it.  A 1.1 plugin run by a
 *     1.0 host checks DSRC_HAS_MEMBER() before reading a 1.1 member of a
 *     struct the host fills (dsrc_discover_req).
 *
 * Ownership (collectd's rule): whoever allocates frees.  Everything the host
 * passes to a plugin function (strings, arrays, sinks, the context) is valid
 * only for the duration of that call.  Everything a plugin passes to a sink
 * callback is valid only during that callback; the host copies what it keeps.
 * An error carries its own release function (see dsrc_error).
 *
 * Threads: the host may call the functions of one driver from several threads
 * at once, but never uses one dsrc_conn from two threads at the same time
 * unless the driver declares DSRC_CAP_CONN_THREADSAFE.  cancel() is the one
 * exception: it may be called from another thread while an operation on the
 * same connection is running.  Each host service says from which threads
 * it may be called (dsrc_host).
 *
 * Errors and retries: the host retries, never the plugin.  A plugin does
 * not sleep and call its backend again for a failed request: it reports
 * what happened (status, message, retryable, backend code) and the host
 * decides whether and when to try again.  The only repetition a plugin may
 * do on its own is transport-level resumption inside one call (going on
 * with a transfer that broke half way, such as the next byte range of a
 * blob), bounded by its own options; when that runs out, the call fails
 * with a retryable error.  Messages must never contain a secret: no
 * password, key, token or full connection string.
 *
 * See dsrc-plugin(3) for the full reference.
 */
#ifndef DSRC_PLUGIN_H
#define DSRC_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions and symbols                                                      */

#define DSRC_ABI_MAJOR 1
#define DSRC_ABI_MINOR 5
/** Single-number version, ADBC style: MAJOR * 10000 + MINOR. */
#define DSRC_ABI_VERSION (DSRC_ABI_MAJOR * 10000 + DSRC_ABI_MINOR)
#define DSRC_ABI_VERSION_1_0 10000
#define DSRC_ABI_VERSION_1_1 10001 /* since 1.1 */
#define DSRC_ABI_VERSION_1_2 10002 /* since 1.2 */
#define DSRC_ABI_VERSION_1_3 10003 /* since 1.3 */
#define DSRC_ABI_VERSION_1_4 10004 /* since 1.4 */
#define DSRC_ABI_VERSION_1_5 10005 /* since 1.5 */

/** Names of the two exported symbols. */
#define DSRC_ABI_SYMBOL "dsrc_plugin_abi"
#define DSRC_INIT_SYMBOL "dsrc_plugin_init"

#if defined(__GNUC__) || defined(__clang__)
#define DSRC_EXPORT __attribute__((visibility("default")))
#define DSRC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DSRC_EXPORT
#define DSRC_PRINTF(f, a)
#endif

/** True when a self-sized struct `s` (pointer) is large enough to hold `member`. */
#define DSRC_HAS_MEMBER(s, type, member)                                      \
    ((s)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */

typedef enum dsrc_status {
    DSRC_OK = 0,
    DSRC_E_INVALID_CONFIG = 1, /* options are wrong or inconsistent         */
    DSRC_E_AUTH = 2,           /* the backend refused the credentials       */
    DSRC_E_PERMISSION = 3,     /* authenticated, but not allowed            */
    DSRC_E_UNREACHABLE = 4,    /* cannot connect, or the connection dropped */
    DSRC_E_TIMEOUT = 5,        /* a time limit expired                      */
    DSRC_E_NOT_FOUND = 6,      /* the item does not exist                   */
    DSRC_E_UNSUPPORTED = 7,    /* this plugin or backend cannot do that     */
    DSRC_E_CANCELLED = 8,      /* cancelled, or a sink asked to stop        */
    DSRC_E_INVALID_ARGUMENT = 9, /* a request argument is wrong (bad column,
                                    bad path, bad cursor value)            */
    DSRC_E_BACKEND = 10,       /* the backend failed the request            */
    DSRC_E_INTERNAL = 11       /* a bug or resource failure in the plugin   */
} dsrc_status;

#define DSRC_BACKEND_CODE_MAX 16

/**
 * An error reported by a plugin.  The host zeroes it and sets struct_size
 * before each call.  On failure the plugin fills it, usually through
 * dsrc_error_set().  The host calls release(err) when done with it, if
 * release is not NULL; release frees message and private_data the way the
 * plugin allocated them.
 */
typedef struct dsrc_error {
    uint32_t struct_size;
    dsrc_status status;
    int retryable;          /* 1: the same call may succeed later          */
    int connection_broken;  /* 1: the connection is unusable; host closes it */
    char backend_code[DSRC_BACKEND_CODE_MAX]; /* SQLSTATE, errno, HTTP code */
    char *message;          /* one line, no secrets; may be NULL           */
    void (*release)(struct dsrc_error *err);
    void *private_data;
} dsrc_error;

static inline void dsrc_error_release_default_(dsrc_error *err)
{
    free(err->message);
    err->message = NULL;
    err->release = NULL;
}

/**
 * Fill `err` (may be NULL) with a status, retryable flag, backend code (may
 * be NULL) and a printf-style message.  Frees any message set before.
 * Returns `status` so a plugin can write `return dsrc_error_set(...)`.
 */
static inline DSRC_PRINTF(5, 6) dsrc_status
dsrc_error_set(dsrc_error *err, dsrc_status status, int retryable,
               const char *backend_code, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (!err)
        return status;
    if (err->release)
        err->release(err);
    err->status = status;
    err->retryable = retryable;
    err->backend_code[0] = '\0';
    if (backend_code) {
        strncpy(err->backend_code, backend_code, DSRC_BACKEND_CODE_MAX - 1);
        err->backend_code[DSRC_BACKEND_CODE_MAX - 1] = '\0';
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    err->message = n >= 0 ? (char *)malloc((size_t)n + 1) : NULL;
    if (err->message) {
        va_start(ap, fmt);
        vsnprintf(err->message, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    err->release = dsrc_error_release_default_;
    return status;
}

/* ------------------------------------------------------------------------ */
/* A string builder for plugins (header-only; never crosses the ABI)        */

/**
 * A growing NUL-terminated string, for building queries, URLs and paths.
 * Zero-initialise it (`dsrc_buf b = {0};`).  After an allocation failure
 * `failed` is set and further appends do nothing: check it once at the
 * end.  Free with dsrc_buf_free().  It is a convenience for plugin code,
 * not part of the ABI: nothing the host passes or receives uses it.
 */
typedef struct dsrc_buf {
    char *s;       /* NULL until something was appended */
    size_t len, cap;
    int failed;
} dsrc_buf;

static inline void dsrc_buf_addn(dsrc_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = (char *)realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void dsrc_buf_add(dsrc_buf *b, const char *s)
{
    dsrc_buf_addn(b, s, strlen(s));
}

static inline DSRC_PRINTF(2, 3) void dsrc_buf_printf(dsrc_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256], *big;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        dsrc_buf_addn(b, small, (size_t)n);
        return;
    }
    if (!(big = (char *)malloc((size_t)n + 1))) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dsrc_buf_addn(b, big, (size_t)n);
    free(big);
}

/** Empty it, keeping the memory. */
static inline void dsrc_buf_reset(dsrc_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

static inline void dsrc_buf_free(dsrc_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

/* ------------------------------------------------------------------------ */
/* Simple value types                                                        */

/** A key/value pair.  Frozen (array element). */
typedef struct dsrc_kv {
    const char *key;
    const char *value;
} dsrc_kv;

/** Look up `key` in a kv array; NULL when absent. */
static inline const char *dsrc_kv_get(const dsrc_kv *kv, size_t n, const char *key)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (kv[i].key && strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Option table (the plugin's config_map)                                    */

typedef enum dsrc_option_type {
    DSRC_OPT_STRING = 0,
    DSRC_OPT_INT = 1,      /* value handed over as a decimal integer        */
    DSRC_OPT_BOOL = 2,     /* value handed over as "true" or "false"         */
    DSRC_OPT_DURATION = 3, /* "30s", "5m", "1h", "250ms" in the config;
                              handed over as milliseconds, decimal          */
    DSRC_OPT_PATH = 4,     /* a file system path                             */
    DSRC_OPT_ENUM = 5,     /* one of `choices`                               */
    DSRC_OPT_DOUBLE = 6    /* a decimal number                               */
} dsrc_option_type;

#define DSRC_OPT_REQUIRED 0x1u /* must be present (no default)               */
#define DSRC_OPT_SECRET 0x2u   /* a credential: resolved by the host, redacted
                                  everywhere, wiped after the call          */

/** One option a plugin accepts in a source's `connection` group.  Frozen. */
typedef struct dsrc_option {
    const char *name;          /* lower_snake_case                           */
    dsrc_option_type type;
    unsigned flags;            /* DSRC_OPT_REQUIRED | DSRC_OPT_SECRET        */
    const char *default_value; /* as it would be written in the config; NULL */
    const char *choices;       /* DSRC_OPT_ENUM: "a|b|c"; else NULL          */
    const char *doc;           /* one line                                   */
    const void *reserved[2];   /* zero                                       */
} dsrc_option;

/** Terminates an option table. */
#define DSRC_OPTION_END {NULL, DSRC_OPT_STRING, 0, NULL, NULL, NULL, {NULL, NULL}}

#define DSRC_LIMIT_MIN 0x1u /* dsrc_option_limit.min applies (since 1.1)     */
#define DSRC_LIMIT_MAX 0x2u /* dsrc_option_limit.max applies (since 1.1)     */

/**
 * Limits on the value of one option (since 1.1), checked by the host with
 * the file and line when it reads the configuration (`dsrcd --check-config`
 * included), before any call.  Frozen (array element) from 1.1 on.
 *   DSRC_OPT_INT:      min <= value <= max (the flags say which applies).
 *   DSRC_OPT_DURATION: the same, in milliseconds.
 *   DSRC_OPT_DOUBLE:   the same, compared as doubles.
 *   DSRC_OPT_STRING, DSRC_OPT_PATH: `pattern`, a POSIX extended regular
 *                      expression the whole value must match (anchors are
 *                      implied); `pattern_doc` says in words what it
 *                      allows, for the error message ("a DNS name").
 * A limit naming an option the table does not have refuses the plugin at
 * load time, as does a pattern that does not compile.
 */
typedef struct dsrc_option_limit {
    const char *name;          /* an option of the driver's table            */
    unsigned flags;            /* DSRC_LIMIT_MIN | DSRC_LIMIT_MAX            */
    int64_t min;
    int64_t max;
    const char *pattern;       /* NULL: none                                 */
    const char *pattern_doc;   /* NULL: the message quotes the pattern       */
    const void *reserved[2];   /* zero                                       */
} dsrc_option_limit;

/** Terminates an option limit table (since 1.1). */
#define DSRC_OPTION_LIMIT_END {NULL, 0, 0, 0, NULL, NULL, {NULL, NULL}}

/* ------------------------------------------------------------------------ */
/* Host services                                                             */

typedef enum dsrc_log_level {
    DSRC_LOG_ERROR = 3,
    DSRC_LOG_WARNING = 4,
    DSRC_LOG_NOTICE = 5,
    DSRC_LOG_INFO = 6,
    DSRC_LOG_DEBUG = 7
} dsrc_log_level;

/**
 * A call context: opaque, owned by the host, valid only during the call it
 * is passed to.  It identifies the source and plugin for log lines and
 * carries the call's cancellation state.
 */
typedef struct dsrc_ctx dsrc_ctx;

/**
 * A request for the host to sign with AWS Signature Version 4 (since 1.2,
 * dsrc_host.aws_sign).  Self-sized: the plugin sets struct_size.  Every
 * string is valid during the call only.
 */
typedef struct dsrc_aws_request {
    uint32_t struct_size;
    const char *service;       /* "s3"                                       */
    const char *region;        /* NULL: the source's cloud.region            */
    const char *method;        /* "GET", "HEAD"                              */
    const char *host;          /* the Host header's value ("host[:port]")    */
    const char *path;          /* URI-encoded path ("/" when empty)          */
    const char *query;         /* raw query without '?'; NULL: none          */
    const dsrc_kv *headers;    /* the other headers the request will send
                                  and that are to be signed (Range,
                                  If-Match...); not Host, not x-amz-date    */
    size_t n_headers;
    const char *payload_hash;  /* hex SHA-256 of the body, or
                                  "UNSIGNED-PAYLOAD"                         */
    /** Called once per header to add to the request (Authorization,
     *  x-amz-date, x-amz-content-sha256 and, for temporary credentials,
     *  x-amz-security-token); name and value valid during the call only.
     *  Return 0 to go on, nonzero to stop (aws_sign then fails with
     *  DSRC_E_CANCELLED). */
    int (*header)(void *user, const char *name, const char *value);
    void *user;
} dsrc_aws_request;

/** Services the host offers to plugins.  Valid until the plugin is unloaded. */
typedef struct dsrc_host {
    uint32_t struct_size;
    uint32_t abi_version; /* the host's DSRC_ABI_VERSION                       */
    /** Log a line tagged with the context's source and plugin.  `ctx` may be
     *  NULL (plugin-wide messages).  The host redacts known secrets.
     *  Threads: any, at any time until unload (cancel()'s thread and the
     *  plugin's own threads included); with a ctx only during its call. */
    void (*log)(const dsrc_ctx *ctx, dsrc_log_level level, const char *fmt, ...)
        DSRC_PRINTF(3, 4);
    /** Nonzero when the call running under `ctx` should stop as soon as
     *  possible (returning DSRC_E_CANCELLED).  Cheap: poll it between rows
     *  or batches.  Threads: any, during the call. */
    int (*is_cancelled)(const dsrc_ctx *ctx);
    /** Name of the source this call works for (never NULL).  Threads: the
     *  call's own, during the call. */
    const char *(*source_name)(const dsrc_ctx *ctx);
    /** since 1.1 (check DSRC_HAS_MEMBER(host, dsrc_host, cancel_fd), or use
     *  dsrc_cancel_fd() of <dsrc/plugin_util.h>): a descriptor that becomes
     *  readable (POLLIN) once the call running under `ctx` is cancelled, so
     *  that a plugin blocked in poll() on its own sockets wakes at once.
     *  -1 when the host has none for this call.  Owned by the host: never
     *  read, write or close it; the same descriptor for the whole call,
     *  valid only during it.  After it became readable, is_cancelled() is
     *  nonzero.  Threads: any, during the call. */
    int (*cancel_fd)(const dsrc_ctx *ctx);
    /** since 1.2 (check DSRC_HAS_MEMBER(host, dsrc_host, aws_sign)): sign
     *  `req` with AWS Signature Version 4 using the AWS credentials the
     *  host resolves for the call's source (the `cloud` group's
     *  access_key_id / secret_access_key / session_token, else the
     *  environment, else the shared credentials file and its profile: see
     *  dsrc.conf(5)) and its region, at the current time; the headers to
     *  add are handed to req->header.  The plugin never sees the secret
     *  key.  DSRC_OK, or `err` filled (DSRC_E_INVALID_CONFIG: no region or
     *  no credentials; DSRC_E_INVALID_ARGUMENT: a malformed request) with a
     *  message that names no credential; release it with err->release.
     *  Threads: the call's own, during the call. */
    dsrc_status (*aws_sign)(const dsrc_ctx *ctx, const dsrc_aws_request *req,
                            dsrc_error *err);
    /** since 1.3 (check DSRC_HAS_MEMBER(host, dsrc_host, bearer_token)): an
     *  OAuth 2.0 access token to `resource` (an https:// URI, e.g.
     *  "https://storage.azure.com") that the host obtains for the call's
     *  source from the identity its `cloud` group names (provider "azure":
     *  Microsoft Entra ID, client credentials or managed identity; see
     *  dsrc.conf(5)), copied NUL-terminated into buf (size bytes), its end
     *  of life (seconds since the epoch) into *expires when not NULL.  The
     *  host caches tokens and hands out a fresh one once less than five
     *  minutes are left, so a plugin may ask before every request or keep
     *  the token until shortly before *expires.  The plugin never sees the
     *  client secret; it wipes buf when done and never logs its content
     *  (the host redacts it from messages).  DSRC_OK, or `err` filled
     *  (DSRC_E_UNSUPPORTED: the source's cloud group gives no such token;
     *  DSRC_E_INVALID_CONFIG: incomplete credentials; DSRC_E_AUTH: refused
     *  by the identity provider; DSRC_E_UNREACHABLE, retryable;
     *  DSRC_E_INVALID_ARGUMENT: a malformed resource or a buf too small, the
     *  message giving the size needed) naming no credential; release it
     *  with err->release.  Threads: the call's own, during the call. */
    dsrc_status (*bearer_token)(const dsrc_ctx *ctx, const char *resource, char *buf,
                                size_t size, int64_t *expires, dsrc_error *err);
} dsrc_host;

/* ------------------------------------------------------------------------ */
/* Opening a connection                                                      */

typedef enum dsrc_location {
    DSRC_LOC_ON_PREM = 0,
    DSRC_LOC_CLOUD = 1,
    DSRC_LOC_HYBRID = 2
} dsrc_location;

/**
 * Everything a plugin needs to open one connection to one endpoint.  The
 * host has validated `options` against the plugin's option table, applied
 * defaults, normalised values (see dsrc_option_type) and resolved secrets.
 * For a replica endpoint the host replaces the "host" and "port" options by
 * the replica's.
 */
typedef struct dsrc_open_params {
    uint32_t struct_size;
    const char *source;        /* source name                                */
    const dsrc_kv *options;    /* connection options, one per key            */
    size_t n_options;
    dsrc_location location;
    int endpoint;              /* 0 = primary, 1.. = replicas.hosts[i-1]     */
    /* The source's TLS settings; paths NULL when not set.  tls_mode is
       never NULL: the host resolves it (the tls group's mode, else
       "verify-full" with a tls group, else by location: "verify-full" for
       cloud and hybrid, "prefer" on premises).  One of "disable",
       "prefer" (since 1.1: TLS when the server offers it), "require",
       "verify-ca", "verify-full"; a mode the plugin cannot honour fails
       open() with DSRC_E_INVALID_CONFIG naming it.  A 1.0 plugin gets NULL
       for "prefer"; a 1.0 host may send NULL: apply the rule above. */
    const char *tls_mode;
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    /* The source's `cloud` group as key/values ("provider", "region", ...),
       secrets resolved; since 1.2 without the AWS credentials
       (secret_access_key, session_token), which only the host uses
       (aws_sign); since 1.3 without Azure's client_secret, which only the
       host uses (bearer_token). */
    const dsrc_kv *cloud;
    size_t n_cloud;
    /* The source's `replicas` group */
    const char *replica_set;
    const char *read_policy;
    /* Passphrase of tls_key (resolved secret); NULL when none. */
    const char *tls_key_passphrase;
    /* The source's `replicas.hosts` entries as written, "host[:port]"
       (also "[v6addr]:port"); NULL and 0 when there are none.  The host
       still opens each entry as an endpoint of its own (see `endpoint`)
       for plugins that route per endpoint; a plugin whose driver selects
       servers itself can hand the whole list to it.  Check with
       DSRC_HAS_MEMBER(params, dsrc_open_params, n_replica_hosts). */
    const char *const *replica_hosts;
    size_t n_replica_hosts;
} dsrc_open_params;

/** A plugin's connection: opaque to the host. */
typedef struct dsrc_conn dsrc_conn;

typedef enum dsrc_role {
    DSRC_ROLE_UNKNOWN = 0,
    DSRC_ROLE_PRIMARY = 1,
    DSRC_ROLE_REPLICA = 2,
    DSRC_ROLE_STANDALONE = 3
} dsrc_role;

/** What a ping learned.  Zeroed and sized by the host. */
typedef struct dsrc_ping_info {
    uint32_t struct_size;
    dsrc_role role;
    char server_version[64]; /* e.g. "PostgreSQL 15.4"; may stay empty      */
    char endpoint[128];      /* e.g. "127.0.0.1:5432" or a file path         */
    /* since 1.4: when the connection is TLS, the end of validity (notAfter)
     * of the certificate the server presented, in seconds since the epoch
     * (UTC; unsigned 32 bits, which keeps the struct's 1.0 alignment and
     * reaches 2106); 0: no TLS, or not known.  The host reports the days
     * left (health, metrics) and warns ahead of the expiry. */
    uint32_t server_cert_not_after;
} dsrc_ping_info;

/* ------------------------------------------------------------------------ */
/* Items and metadata                                                        */

typedef enum dsrc_item_kind {
    DSRC_ITEM_OTHER = 0,
    DSRC_ITEM_DATABASE = 1,
    DSRC_ITEM_SCHEMA = 2,
    DSRC_ITEM_TABLE = 3,
    DSRC_ITEM_VIEW = 4,
    DSRC_ITEM_MATERIALIZED_VIEW = 5,
    DSRC_ITEM_FOREIGN_TABLE = 6,
    DSRC_ITEM_PARTITIONED_TABLE = 7,
    DSRC_ITEM_COLLECTION = 8,
    DSRC_ITEM_CONTAINER = 9,
    DSRC_ITEM_DIRECTORY = 10,
    DSRC_ITEM_BLOB = 11,
    DSRC_ITEM_FILE = 12
} dsrc_item_kind;

/**
 * An item: something that can be listed, described and (for leaves)
 * fetched.  `path` is '/'-separated and is what describe() and fetch()
 * accept, e.g. "public/orders", "shop/customers", "container/dir/blob.csv".
 */
typedef struct dsrc_item {
    uint32_t struct_size;
    const char *path;
    const char *name;        /* last path component                          */
    dsrc_item_kind kind;
    int container;           /* 1: can be listed further                     */
    int64_t rows;            /* -1 unknown                                   */
    int rows_estimated;      /* 1: rows is an estimate                       */
    int64_t size_bytes;      /* -1 unknown                                   */
    int64_t mtime;           /* seconds since the epoch; -1 unknown          */
    const char *comment;     /* may be NULL                                  */
} dsrc_item;

/** Receives items from list().  Return 0 to continue, nonzero to stop (the
 *  plugin then returns DSRC_E_CANCELLED). */
typedef struct dsrc_item_sink {
    uint32_t struct_size;
    void *user;
    int (*item)(void *user, const dsrc_item *item);
} dsrc_item_sink;

/** The type of a value in a row, and of a column. */
typedef enum dsrc_type {
    DSRC_T_NULL = 0,      /* only for cells: the value is NULL              */
    DSRC_T_BOOL = 1,
    DSRC_T_INT64 = 2,
    DSRC_T_DOUBLE = 3,
    DSRC_T_TEXT = 4,      /* UTF-8 text (also exact decimals)               */
    DSRC_T_BYTES = 5,     /* binary                                         */
    DSRC_T_TIMESTAMP = 6, /* text in ISO 8601, e.g. 2024-01-31T12:00:00Z    */
    DSRC_T_JSON = 7,      /* a JSON document as text                        */
    /* since 1.5, only for cells, and only to a host of ABI 1.5 or later
       (host->abi_version >= DSRC_ABI_VERSION_1_5): a double given as the
       text the host writes for it, which the backend already sent.  That
       is the shortest decimal that reads back as the double, in fixed
       notation when its decimal exponent is in [-4, 15), else as
       "1.2345e+20" ("1e-05", "-0", never a decimal exactly halfway to a
       neighbouring double), or NaN, Infinity, -Infinity: PostgreSQL 12's
       and later float8 output.  The host writes it as it is, where it
       would write the double (no parse, no formatting), and refuses a cell
       whose text is not a number in that syntax
       (dsrc_double_text_valid()).  It stands where a DSRC_T_DOUBLE does. */
    DSRC_T_DOUBLE_TEXT = 8
} dsrc_type;

/** A column's description.  Frozen (array element). */
typedef struct dsrc_column {
    const char *name;
    dsrc_type type;           /* the cell type values arrive as             */
    const char *native_type;  /* the backend's own type, e.g. "numeric(10,2)" */
    int nullable;             /* 1 yes, 0 no, -1 unknown                    */
    int primary_key;          /* position in the primary key (1-based); 0   */
    const char *default_value;/* NULL when none                             */
    const char *comment;      /* NULL when none                             */
    const void *reserved[2];  /* zero                                       */
} dsrc_column;

/* The referential actions of a foreign key, as upper-case SQL words
 * (since 1.1).  dsrc_foreign_key's on_update and on_delete hold one of
 * these, or NULL when the backend does not say. */
#define DSRC_FK_NO_ACTION "NO ACTION"
#define DSRC_FK_RESTRICT "RESTRICT"
#define DSRC_FK_CASCADE "CASCADE"
#define DSRC_FK_SET_NULL "SET NULL"
#define DSRC_FK_SET_DEFAULT "SET DEFAULT"

/**
 * A foreign key of an item (since 1.1).  Frozen (array element) from 1.1
 * on.  columns[i] of this item references ref_columns[i] of ref_item, for
 * i in [0, n_columns), in the key's own order (not the table's).
 */
typedef struct dsrc_foreign_key {
    const char *name;                /* the constraint's name; NULL: none    */
    const char *const *columns;      /* the referencing columns, n_columns  */
    const char *ref_item;            /* the referenced item's path, as
                                        describe() takes it                  */
    const char *const *ref_columns;  /* the referenced columns, n_columns   */
    size_t n_columns;
    const char *on_update;           /* a DSRC_FK_* word; NULL: unknown      */
    const char *on_delete;           /* a DSRC_FK_* word; NULL: unknown      */
    const void *reserved[2];         /* zero                                 */
} dsrc_foreign_key;

/** Metadata of one item.  Sized by the plugin that fills it. */
typedef struct dsrc_metadata {
    uint32_t struct_size;
    const dsrc_item *item;
    const dsrc_column *columns;   /* NULL when not tabular                   */
    size_t n_columns;
    const dsrc_kv *properties;    /* backend properties: etag, md5, engine,
                                     indexes, ...                            */
    size_t n_properties;
    /* since 1.1: the item's foreign keys (NULL and 0: none known).  The
       host reads them only when struct_size holds n_foreign_keys: a 1.0
       plugin's items have none. */
    const dsrc_foreign_key *foreign_keys;
    size_t n_foreign_keys;
} dsrc_metadata;

/** Receives metadata from describe() (once) and discover() (per item).
 *  Return 0 to continue, nonzero to stop. */
typedef struct dsrc_meta_sink {
    uint32_t struct_size;
    void *user;
    int (*metadata)(void *user, const dsrc_metadata *md);
} dsrc_meta_sink;

/** How hard discover() may press the backend (since 1.1): a hint the host
 *  chooses from the source's health.  A plugin may ignore it; an unknown
 *  value is DSRC_DISCOVER_BALANCED. */
typedef enum dsrc_discover_mode {
    DSRC_DISCOVER_BALANCED = 0,     /* the plugin's usual way                */
    DSRC_DISCOVER_CONSERVATIVE = 1, /* one connection, small batches, pauses
                                       between batches where it has them     */
    DSRC_DISCOVER_AGGRESSIVE = 2    /* extra connections allowed             */
} dsrc_discover_mode;

/** What a discover() did (since 1.1).  Zeroed and sized by the host, which
 *  sets queries to -1 before the call. */
typedef struct dsrc_discover_result {
    uint32_t struct_size;
    int64_t queries;         /* queries (round-trips) the discover ran;
                                -1: not reported                            */
} dsrc_discover_result;

/** What discover() should cover. */
typedef struct dsrc_discover_req {
    uint32_t struct_size;
    const char *path;        /* NULL: everything; else a database/schema    */
    int include_system;      /* 1: include system schemas/databases         */
    /* since 1.1 (check DSRC_HAS_MEMBER(req, dsrc_discover_req, mode)):
       where to report what the discover did (NULL: nowhere), and the mode
       hint.  mode comes last: placed after include_system it would sit in
       what a 1.0 struct_size covers as padding.  See
       dsrc_discover_mode_of() and dsrc_discover_count() in
       <dsrc/plugin_util.h>. */
    dsrc_discover_result *result;
    dsrc_discover_mode mode;
} dsrc_discover_req;

/* ------------------------------------------------------------------------ */
/* Fetching                                                                  */

/** One value in a row.  Frozen (array element). */
typedef struct dsrc_cell {
    dsrc_type type;           /* DSRC_T_NULL for NULL                        */
    union {
        int b;                /* DSRC_T_BOOL                                 */
        int64_t i;            /* DSRC_T_INT64                                */
        double d;             /* DSRC_T_DOUBLE                               */
        struct {
            const char *ptr;  /* TEXT, BYTES, TIMESTAMP, JSON, DOUBLE_TEXT: */
            size_t len;       /* not NUL-terminated necessarily; len bytes  */
        } s;
    } v;
} dsrc_cell;

/**
 * Receives typed rows.  schema() is called once before the first row (also
 * when there are no rows); row() once per row with exactly n_columns cells.
 * Return 0 to continue, nonzero to stop (the plugin then returns
 * DSRC_E_CANCELLED).
 *
 * In DSRC_FETCH_CSV mode a plugin that answers with its own CSV through the
 * byte sink may first call schema() once to describe that CSV's columns
 * (the host records them, e.g. in the manifest, and writes no header of its
 * own); it then sends no rows.  Rows after begin(), bytes without begin(),
 * or begin() after rows are refused.
 */
typedef struct dsrc_row_sink {
    uint32_t struct_size;
    void *user;
    int (*schema)(void *user, const dsrc_column *columns, size_t n_columns);
    int (*row)(void *user, const dsrc_cell *cells, size_t n_cells);
} dsrc_row_sink;

/**
 * Receives raw bytes: a blob's content, or a backend's own CSV.  begin() is
 * called once before the first write with a media type ("text/csv" for CSV
 * with a header line, else the blob's content type or
 * "application/octet-stream") and the total size if known (-1 otherwise).
 * Return 0 to continue, nonzero to stop.
 */
typedef struct dsrc_byte_sink {
    uint32_t struct_size;
    void *user;
    int (*begin)(void *user, const char *media_type, int64_t total_size);
    int (*write)(void *user, const void *data, size_t len);
} dsrc_byte_sink;

typedef enum dsrc_fetch_mode {
    DSRC_FETCH_ROWS = 0,  /* typed rows through the row sink               */
    DSRC_FETCH_CSV = 1,   /* the backend's own CSV through the byte sink if
                             it has one, else rows                         */
    DSRC_FETCH_RAW = 2    /* raw bytes (blobs, files)                       */
} dsrc_fetch_mode;

/** A fetch request.  All strings are valid during the call only. */
typedef struct dsrc_fetch_req {
    uint32_t struct_size;
    const char *item;              /* path of the item                        */
    const char *const *columns;    /* NULL: all columns                       */
    size_t n_columns;
    int64_t limit;                 /* -1: no limit.  With a cursor_field and
                                      limit n > 0: the first n rows with a
                                      cursor value, in cursor order, plus
                                      every further row whose value equals
                                      the n-th's (unless cursor_max tells
                                      such rows apart), so that a fetch
                                      after the cursor_max reported skips
                                      none of them                           */
    const char *cursor_field;      /* NULL: full fetch                        */
    const char *cursor_value;      /* NULL: from the start, including the
                                      rows whose cursor is NULL (beyond the
                                      limit); else fetch rows with
                                      cursor_field > cursor_value, in cursor
                                      order (never a NULL cursor)            */
    dsrc_fetch_mode mode;          /* what the host would like                */
} dsrc_fetch_req;

#define DSRC_CURSOR_MAX 1024

/** What a fetch did.  Zeroed and sized by the host. */
typedef struct dsrc_fetch_result {
    uint32_t struct_size;
    dsrc_fetch_mode mode;          /* the sink actually used: ROWS or a byte mode */
    uint64_t rows;                 /* rows sent (byte modes: data lines if known) */
    uint64_t bytes;                /* bytes sent through the byte sink        */
    int has_cursor;                /* 1: cursor_max is set                    */
    char cursor_max[DSRC_CURSOR_MAX]; /* highest cursor value actually sent, as
                                      text; NUL-terminated                   */
} dsrc_fetch_result;

/* ------------------------------------------------------------------------ */
/* Read-only queries (since 1.4)                                             */

/**
 * One read-only statement with bound parameters (DSRC_CAP_QUERY).  All
 * strings are valid during the call only.
 *
 * Read-only is the backend's to enforce, never the plugin's by parsing the
 * text: the statement runs inside whatever makes the backend itself refuse
 * a write (a READ ONLY transaction, a read-only connection, a find or an
 * aggregate without a writing stage), so that a statement that tries to
 * write fails with the backend's own error (DSRC_E_PERMISSION).  Nothing a
 * query does outlives it: no session setting, no open transaction, no
 * prepared statement is left on the connection.
 *
 * Parameters are bound by the backend's own protocol, never spliced into
 * the text: the placeholders are the backend's ($1 for PostgreSQL, ? for
 * MySQL and SQLite).  A count that does not match the statement's is
 * DSRC_E_INVALID_ARGUMENT.
 */
typedef struct dsrc_query_req {
    uint32_t struct_size;
    const char *text;              /* the statement: SQL, or for a document
                                      store a JSON find or aggregate         */
    const char *const *params;     /* n_params values as text; a NULL entry
                                      is the backend's NULL                  */
    size_t n_params;
    int64_t limit;                 /* -1: every row; else at most `limit`
                                      rows are sent, and the statement is
                                      not read further                       */
    int64_t timeout_ms;            /* > 0: the backend stops the statement
                                      after that long (its own statement
                                      timeout), DSRC_E_TIMEOUT; 0: none      */
} dsrc_query_req;

/* ------------------------------------------------------------------------ */
/* The driver                                                                */

#define DSRC_CAP_CANCEL 0x01u          /* cancel() works from another thread */
#define DSRC_CAP_CONN_THREADSAFE 0x02u /* a conn may be used by several
                                          threads at once                    */
#define DSRC_CAP_DISCOVER 0x04u        /* discover() is batched              */
#define DSRC_CAP_CURSOR 0x08u          /* incremental fetch                  */
#define DSRC_CAP_CSV 0x10u             /* native CSV through the byte sink   */
#define DSRC_CAP_RAW 0x20u             /* raw bytes (blobs, files)           */
#define DSRC_CAP_REPLICAS 0x40u        /* understands replica endpoints      */
#define DSRC_CAP_STORAGE 0x80u         /* storage() reports the size         */
#define DSRC_CAP_QUERY 0x100u          /* query() runs read-only statements
                                          (since 1.4)                        */

/** What storage() reports; -1 in a member means unknown. */
typedef struct dsrc_storage_info {
    uint32_t struct_size;          /* set by the host                         */
    int64_t used_bytes;            /* space the data takes                    */
    int64_t free_bytes;            /* allocated but unused (reusable) space   */
    int64_t items;                 /* tables, collections, blobs...           */
} dsrc_storage_info;

/**
 * The driver: filled by dsrc_plugin_init().  The host zeroes it and sets
 * struct_size to the size it knows; the plugin writes no member past that
 * (use DSRC_DRIVER_SET()).  Required: name, open, close, ping, list,
 * describe, fetch.  Optional (NULL): discover, cancel, unload, storage; the
 * host substitutes a stub that returns DSRC_E_UNSUPPORTED.  Optional since
 * 1.1: option_limits, validate (never called when NULL).  Optional since
 * 1.4: query (with DSRC_CAP_QUERY; the stub otherwise).
 *
 * All operations receive the call context first and an error last.  They
 * return DSRC_OK or the status they stored in `err`.
 */
typedef struct dsrc_driver {
    uint32_t struct_size;
    uint32_t abi_version;          /* the ABI the plugin implements           */
    const char *name;              /* must equal the file name without ".so"  */
    const char *version;           /* the plugin's own version                */
    const char *description;       /* one line                                */
    uint32_t capabilities;         /* DSRC_CAP_*                              */
    const dsrc_option *options;    /* terminated by DSRC_OPTION_END           */

    /** Open a connection.  On success *out is the plugin's handle. */
    dsrc_status (*open)(const dsrc_ctx *ctx, const dsrc_open_params *params,
                        dsrc_conn **out, dsrc_error *err);
    /** Close a connection and free everything it holds.  Never fails. */
    void (*close)(dsrc_conn *conn);
    /** A real round-trip to the backend.  Fills `info` when it can. */
    dsrc_status (*ping)(const dsrc_ctx *ctx, dsrc_conn *conn,
                        dsrc_ping_info *info, dsrc_error *err);
    /** List the direct children of the container `path` ("" or NULL: the
     *  root), each with its full path, streamed to `sink` as they come.
     *  `path` is a path, never a pattern.  No such path: DSRC_E_NOT_FOUND;
     *  a leaf: DSRC_E_INVALID_ARGUMENT; an empty container: DSRC_OK and no
     *  item.  A backend that answers in pages is paged here, inside one
     *  call; the host stops a listing through the sink.  A flat namespace
     *  (blob names with '/') lists the levels its backend has, the rest of
     *  a name kept in its last component.  See dsrc-plugin(3), ITEMS. */
    dsrc_status (*list)(const dsrc_ctx *ctx, dsrc_conn *conn, const char *path,
                        const dsrc_item_sink *sink, dsrc_error *err);
    /** Metadata of one item, delivered once to `sink`. */
    dsrc_status (*describe)(const dsrc_ctx *ctx, dsrc_conn *conn,
                            const char *item, const dsrc_meta_sink *sink,
                            dsrc_error *err);
    /** The whole catalog in a bounded number of round-trips, streamed. */
    dsrc_status (*discover)(const dsrc_ctx *ctx, dsrc_conn *conn,
                            const dsrc_discover_req *req,
                            const dsrc_meta_sink *sink, dsrc_error *err);
    /** Fetch an item through `rows` or `bytes` (both provided by the host). */
    dsrc_status (*fetch)(const dsrc_ctx *ctx, dsrc_conn *conn,
                         const dsrc_fetch_req *req, const dsrc_row_sink *rows,
                         const dsrc_byte_sink *bytes, dsrc_fetch_result *result,
                         dsrc_error *err);
    /** Ask the operation running on `conn` to stop.  Thread-safe. */
    dsrc_status (*cancel)(dsrc_conn *conn);
    /** Called once before the library is closed. */
    void (*unload)(void);
    /** The size of the data behind `conn` (optional; DSRC_CAP_STORAGE).
     *  The host zeroes `info` (all members -1) and sets struct_size; fill
     *  what the backend can tell cheaply. */
    dsrc_status (*storage)(const dsrc_ctx *ctx, dsrc_conn *conn,
                           dsrc_storage_info *info, dsrc_error *err);
    /** since 1.1: limits on single option values (see dsrc_option_limit),
     *  terminated by DSRC_OPTION_LIMIT_END; NULL: none. */
    const dsrc_option_limit *option_limits;
    /** since 1.1, optional: check a source's options as a whole when the
     *  host reads the configuration ("either account_key or sas_token"),
     *  without touching the network.  `params` is what open() would get,
     *  except that the value of a DSRC_OPT_SECRET option is never the
     *  secret: it is present (non-NULL) or absent, nothing more.  Return
     *  DSRC_E_INVALID_CONFIG with a message; a message that starts with
     *  "option 'NAME'" is reported at that option's line. */
    dsrc_status (*validate)(const dsrc_ctx *ctx, const dsrc_open_params *params,
                            dsrc_error *err);
    /** since 1.4, optional (DSRC_CAP_QUERY): run one read-only statement
     *  (see dsrc_query_req) and stream its result through `rows`: schema()
     *  once, also for an empty result, then each row, never more than
     *  req->limit.  `result` is zeroed and sized by the host; the plugin
     *  sets rows (mode DSRC_FETCH_ROWS, no cursor).  Cancellation as for
     *  fetch (cancel(), the context's cancel descriptor).  Memory stays
     *  flat whatever the number of rows. */
    dsrc_status (*query)(const dsrc_ctx *ctx, dsrc_conn *conn, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *result,
                         dsrc_error *err);
} dsrc_driver;

/** Set a driver member only if the host's struct has room for it. */
#define DSRC_DRIVER_SET(drv, member, value)                                   \
    do {                                                                      \
        if (DSRC_HAS_MEMBER(drv, dsrc_driver, member))                        \
            (drv)->member = (value);                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The magic block and the entry point                                       */

/** Returned by dsrc_plugin_abi(): what the plugin was compiled against. */
typedef struct dsrc_abi_info {
    uint32_t struct_size;     /* sizeof(dsrc_abi_info)                       */
    uint32_t magic;           /* DSRC_ABI_MAGIC                              */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t driver_size;     /* sizeof(dsrc_driver)                         */
    uint32_t host_size;       /* sizeof(dsrc_host)                           */
    uint32_t option_size;     /* sizeof(dsrc_option)                         */
    uint32_t column_size;     /* sizeof(dsrc_column)                         */
    uint32_t cell_size;       /* sizeof(dsrc_cell)                           */
    uint32_t error_size;      /* sizeof(dsrc_error)                          */
    uint32_t foreign_key_size; /* sizeof(dsrc_foreign_key) (since 1.1)      */
    uint32_t option_limit_size; /* sizeof(dsrc_option_limit) (since 1.1)    */
} dsrc_abi_info;

#define DSRC_ABI_MAGIC 0x44535243u /* "DSRC" */

typedef const dsrc_abi_info *(*dsrc_plugin_abi_fn)(void);

/**
 * The entry point.  `host_abi_version` is the host's DSRC_ABI_VERSION; a
 * plugin that cannot serve it returns DSRC_E_UNSUPPORTED with a message.
 * `host` stays valid until unload.  Fill `driver` (see dsrc_driver).
 */
typedef dsrc_status (*dsrc_plugin_init_fn)(uint32_t host_abi_version,
                                           const dsrc_host *host,
                                           dsrc_driver *driver,
                                           dsrc_error *err);

/** Define the magic block.  Put `DSRC_PLUGIN_ABI();` in exactly one file. */
#define DSRC_PLUGIN_ABI()                                                     \
    DSRC_EXPORT const dsrc_abi_info *dsrc_plugin_abi(void);                  \
    DSRC_EXPORT const dsrc_abi_info *dsrc_plugin_abi(void)                   \
    {                                                                         \
        static const dsrc_abi_info info = {                                  \
            sizeof(dsrc_abi_info), DSRC_ABI_MAGIC, DSRC_ABI_MAJOR,            \
            DSRC_ABI_MINOR, sizeof(dsrc_driver), sizeof(dsrc_host),           \
            sizeof(dsrc_option), sizeof(dsrc_column), sizeof(dsrc_cell),      \
            sizeof(dsrc_error), sizeof(dsrc_foreign_key),                     \
            sizeof(dsrc_option_limit)};                                       \
        return &info;                                                         \
    }                                                                         \
    typedef int dsrc_plugin_abi_defined_

/** The entry point every plugin defines (see dsrc_plugin_init_fn). */
DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version,
                                         const dsrc_host *host,
                                         dsrc_driver *driver, dsrc_error *err);

#ifdef __cplusplus
}
#endif

#endif /* DSRC_PLUGIN_H */

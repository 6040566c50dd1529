/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch.h -- what the files of the clickhouse plugin share (internal: never
 * installed, never included outside plugins/clickhouse).
 *
 *   clickhouse.c   entry point, option table, limits, libcurl init/unload
 *   ch_conn.c      open, close, ping, cancel; one query over HTTP (POST of
 *                  the statement, the answer streamed to a callback), TLS
 *   ch_error.c     ClickHouse exception codes and curl errors -> dsrc
 *                  statuses, without any credential in a message
 *   ch_types.c     ClickHouse types -> SDK types; TabSeparated values ->
 *                  cells; identifier and literal quoting; item paths
 *   ch_catalog.c   list, describe, discover (system.tables, system.columns,
 *                  system.parts)
 *   ch_fetch.c     fetch: CSVWithNames straight to the byte sink, or
 *                  TabSeparatedWithNamesAndTypes parsed into typed rows
 *   ch_query.c     query: one statement under readonly=1, typed rows
 *   ../common/dsrc_curl.c  the transfer a cancel stops at once, what a
 *                  failed one means (shared with azure_blob and http)
 *
 * Prefix: ch_.
 */
#ifndef DSRC_PLUGIN_CLICKHOUSE_CH_H
#define DSRC_PLUGIN_CLICKHOUSE_CH_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <curl/curl.h>

#include <stdatomic.h>
#include <stdint.h>

#define CH_VERSION "1.0.0"
/* The longest error body kept (the server's message). */
#define CH_ERRBODY_MAX 4096

/* The host's services, set by dsrc_plugin_init(). */
extern const dsrc_host *ch_host;

struct dsrc_conn {
    CURL *curl;
    CURLM *multi;
    char *source;            /* the source's name, for log lines           */
    char *base;              /* "http://host:port/" or "https://..."        */
    char hostport[160];      /* "host:port", for messages                   */
    char *user;              /* never NULL                                  */
    char *password;          /* NULL: none; wiped when freed                */
    char *database;          /* the default database, never NULL           */
    long connect_timeout_ms;
    long query_timeout_ms;   /* 0: none                                     */
    int tls, verify_peer, verify_host;
    char *tls_ca, *tls_cert, *tls_key, *tls_key_pass;
    char query_id[64];       /* the running query's id ("" when none)       */
    atomic_int cancel_flag;  /* set by ch_cancel()                          */
    int profile_readonly;    /* the user's profile is read-only already: a
                                query sends no readonly=1 (which the server
                                then refuses to change)                    */
    char curl_err[CURL_ERROR_SIZE];
};

/* Receives the body of a successful answer, in pieces as they come;
 * returns 0 to go on, nonzero to stop (the query then fails with
 * DSRC_E_CANCELLED, "stopped by the receiver"). */
typedef int (*ch_body_fn)(void *user, const char *data, size_t len);

/* The outcome of one HTTP exchange. */
typedef struct ch_resp {
    CURLcode cc;
    long status;             /* HTTP status; 0 when none arrived            */
    int stopped;             /* the body callback asked to stop             */
    dsrc_buf errbody;        /* a failed answer's body (at most CH_ERRBODY_MAX) */
    ch_body_fn body;
    void *user;
} ch_resp;

/* ch_conn.c ---------------------------------------------------------------*/

dsrc_status ch_open(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_conn **out,
                    dsrc_error *err);
void ch_close(dsrc_conn *c);
dsrc_status ch_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info, dsrc_error *err);
dsrc_status ch_cancel(dsrc_conn *c);
dsrc_status ch_validate(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_error *err);

/* Run `sql` (the statement with its FORMAT clause) with the connection's
 * default database and a fresh query id, streaming the answer's body to
 * `body` (NULL: discarded).  Waits on the transfer and on the host's
 * cancel descriptor: a cancelled call stops at once and the server's query
 * is killed.  Returns DSRC_OK, or the error stored in `err` (`what` names
 * the operation).  A server error that arrives after the first bytes of a
 * body (ClickHouse then appends "Code: N, ..." to the body) is the
 * caller's to notice: see ch_error_in_body(). */
dsrc_status ch_query(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, ch_body_fn body,
                     void *user, const char *what, dsrc_error *err);

/* ch_query() with more URL arguments `args` ("&name=value...", already
 * URL-encoded; NULL: none) after the connection's own: settings of this
 * statement only. */
dsrc_status ch_query_args(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, const char *args,
                          ch_body_fn body, void *user, const char *what, dsrc_error *err);

/* An answer cut into lines as it streams in: give ch_lines_feed and the
 * ch_lines to ch_query(); each complete line (without its '\n', writable,
 * valid during the call) goes to `fn`, which returns 0 to go on.  Only
 * the unfinished last line is kept: memory stays flat.  After the query,
 * ch_lines_end() hands over a last line without '\n' and frees the rest. */
typedef int (*ch_line_fn)(void *user, char *line, size_t len);
typedef struct ch_lines {
    dsrc_buf pending;
    ch_line_fn fn;
    void *user;
    int stopped;             /* fn asked to stop                            */
} ch_lines;
int ch_lines_feed(void *lines, const char *data, size_t len);
int ch_lines_end(ch_lines *l);

/* Run `sql` and keep its whole (small) answer in `out`, NUL-terminated. */
dsrc_status ch_query_text(const dsrc_ctx *ctx, dsrc_conn *c, const char *sql, dsrc_buf *out,
                          const char *what, dsrc_error *err);

/* ch_error.c --------------------------------------------------------------*/

/* Fill `err` from a failed exchange: a curl failure (unreachable,
 * timeout, TLS, cancelled) or the server's exception ("Code: 60, ...":
 * 516/192/193 auth, 60/81 not found, 62 syntax, 47/16 unknown column,
 * 159 timeout, 394 cancelled, ...).  Returns the status stored. */
dsrc_status ch_fail(const dsrc_conn *c, const ch_resp *r, const char *what, dsrc_error *err);

/* The exception code of a text "Code: N, e.displayText() = ..." at `s`
 * (n bytes), and its message in msg[0..cap); -1 when `s` is not one. */
int ch_parse_exception(const char *s, size_t n, char *msg, size_t cap);

/* The status for a ClickHouse exception code. */
dsrc_status ch_status_of(int code, int *retryable);

/* 1 when `msg` contains the connection's password. */
int ch_leaks(const dsrc_conn *c, const char *msg);

/* ch_types.c --------------------------------------------------------------*/

/* How one column's TabSeparated text becomes a cell. */
typedef enum ch_class {
    CH_C_INT,        /* Int8..Int64, UInt8..UInt32                         */
    CH_C_FLOAT,      /* Float32, Float64 (nan, inf, -inf included)         */
    CH_C_TEXT,       /* String, Enum, UUID, Decimal, Date, UInt64, Array... */
    CH_C_BYTES,      /* FixedString(N)                                     */
    CH_C_DATETIME    /* DateTime: "YYYY-MM-DD hh:mm:ss" in UTC -> ISO 8601 */
} ch_class;

typedef struct ch_type {
    ch_class cls;
    dsrc_type type;          /* the column's SDK type                       */
    int nullable;            /* Nullable(...)                               */
    int numeric;             /* a cursor value is written unquoted          */
    int composite;           /* Array, Tuple: TabSeparated writes their own
                                text form as is (elements quoted and escaped
                                inside it), never unescaped                 */
} ch_type;

/* The class of a ClickHouse type name ("Nullable(LowCardinality(String))"). */
ch_type ch_type_of(const char *native);

/* Unescape TabSeparated text s[0..n) in place; returns the new length. */
size_t ch_tsv_unescape(char *s, size_t n);

/* The value of a TabSeparated field s[0..n) of type `t`, in place: the
 * unescaped text, or a composite's text form as it is; returns its length. */
size_t ch_tsv_value(const ch_type *t, char *s, size_t n);

/* The cell for one unescaped value (`is_null`: it was \N).  `tmp` holds at
 * least 32 bytes for a DateTime's ISO text.  Returns 0, or -1 when the
 * text is not a value of its class (a malformed answer). */
int ch_cell(const ch_type *t, char *s, size_t n, int is_null, char *tmp, dsrc_cell *cell);

/* Append `name` as a back-quoted identifier, a quoted string literal. */
void ch_buf_ident(dsrc_buf *b, const char *name);
void ch_buf_literal(dsrc_buf *b, const char *s);

/* An item path split into database and table (table NULL: a database).
 * A bare "t" is a table of the source's database. */
typedef struct ch_path {
    char *db;
    char *table;
} ch_path;
dsrc_status ch_path_parse(const dsrc_conn *c, const char *path, int want_table, ch_path *out,
                          dsrc_error *err);
void ch_path_free(ch_path *p);

/* Split one line of TabSeparated text (no '\n') into at most `max` fields,
 * unescaped in place: start and length of each; returns the number of
 * fields. */
size_t ch_tsv_split(char *line, size_t n, char **f, size_t *len, size_t max);

/* ch_catalog.c ------------------------------------------------------------*/

dsrc_status ch_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status ch_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err);
dsrc_status ch_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err);

/* One column as system.columns describes it. */
typedef struct ch_colinfo {
    char *name, *type;
    int hidden;              /* MATERIALIZED or ALIAS: not in SELECT *      */
} ch_colinfo;

typedef struct ch_cols {
    ch_colinfo *v;
    size_t n, cap;
} ch_cols;

/* The columns of db.table, in order; an unknown table: DSRC_OK, n == 0. */
dsrc_status ch_read_columns(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                            const char *table, ch_cols *out, dsrc_error *err);
long ch_cols_find(const ch_cols *cols, const char *name);
void ch_cols_free(ch_cols *cols);

/* ch_fetch.c --------------------------------------------------------------*/

dsrc_status ch_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                     const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                     dsrc_fetch_result *result, dsrc_error *err);

/* ch_query.c --------------------------------------------------------------*/

/* query(): one statement under readonly=1, parameters bound by the server
 * (19.11 and later), its rows parsed as fetch parses them. */
dsrc_status ch_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *result,
                         dsrc_error *err);

#endif /* DSRC_PLUGIN_CLICKHOUSE_CH_H */

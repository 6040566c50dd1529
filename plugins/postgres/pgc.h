/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc.h -- internals shared by the files of the postgres connector.
 *
 * Not an interface: only the plugin's own files include it.  Everything
 * here has the `pgc_` prefix (libpq exports `pg_` names) and is hidden
 * from the host by the module's export list (only dsrc_plugin_abi and
 * dsrc_plugin_init are visible).
 *
 * Files:
 *   postgres.c     entry point, option table, open / close / ping / cancel
 *   pgc_error.c    libpq errors and SQLSTATEs -> dsrc_error
 *   pgc_query.c    running queries while watching for cancellation; the
 *                  growing string buffer
 *   pgc_types.c    PostgreSQL types -> SDK types and cells
 *   pgc_catalog.c  item paths, list, describe, discover
 *   pgc_fetch.c    fetch (COPY CSV, typed rows from COPY's text form,
 *                  cursor, limit; a large table over several connections)
 *   pgc_statement.c  query: one read-only statement with bound parameters
 */
#ifndef DSRC_PLUGIN_PGC_H
#define DSRC_PLUGIN_PGC_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <libpq-fe.h>

#include <stdatomic.h>
#include <stdint.h>

/* The host's services, set by dsrc_plugin_init(). */
extern const dsrc_host *pgc_host;

/* A connection to one endpoint. */
struct dsrc_conn {
    PGconn *pg;
    PGcancel *cancel;             /* for PQcancel(); freed with the conn   */
    atomic_int cancel_requested;  /* set by the driver's cancel()          */
    int interrupted;              /* this operation sent a cancel request  */
    char endpoint[128];           /* "host:port"                           */
    char user[64];                /* for messages                          */
    dsrc_role role;               /* as seen at open (pg_is_in_recovery)   */
    const dsrc_ctx *ctx;          /* the call running on it (set at open and
                                   * by pgc_op_begin), for server notices,
                                   * which arrive only during calls        */
    long long connect_ms;         /* connect_timeout                       */
    long long stmt_ms;            /* statement_timeout, -1: the server's   */
    int fetch_parallel;           /* connections of a whole-table CSV fetch */
    int64_t parallel_min;         /* bytes a table needs for that          */
    int tx_pooled;                /* through a transaction pooler (option
                                   * pgbouncer = "transaction"): no session
                                   * state, settings sent in each
                                   * transaction with SET LOCAL            */
};

/* ------------------------------------------------------------------------ */
/* postgres.c                                                                */

/* Open another connection to the server `c` is connected to, with the same
 * parameters (libpq's PQconninfo()) and the same session settings.
 * Close it with pgc_drop(). */
dsrc_status pgc_clone(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_conn **out, dsrc_error *err);
void pgc_drop(dsrc_conn *c);

/* ------------------------------------------------------------------------ */
/* pgc_query.c                                                               */

/* Query text is built in a dsrc_buf (<dsrc/plugin.h>). */
/* Append `id` as a quoted identifier (PQescapeIdentifier). */
void pgc_buf_ident(dsrc_buf *b, PGconn *pg, const char *id);


/* Start of an operation: forget earlier cancel requests (the host's own
 * flag, polled through dsrc_cancelled(), covers a request made just
 * before), and roll back a transaction an earlier failure left open.
 * Returns DSRC_OK, or an error when the connection is unusable or the
 * host already cancelled the call. */
dsrc_status pgc_op_begin(dsrc_conn *c, const dsrc_ctx *ctx, dsrc_error *err);

/* poll() for `events` on `sock` and, when `cancel_fd` is not -1 (the
 * host's cancel descriptor: dsrc_cancel_fd()), for its becoming readable,
 * at most `ms` milliseconds: a cancelled call wakes at once.  Returns
 * poll()'s result; *revents gets the socket's events. */
int pgc_poll(int sock, short events, int cancel_fd, int ms, short *revents);

/* Send a cancel request for the running query (once per operation). */
void pgc_interrupt(dsrc_conn *c);

/* Wait until a result can be read without blocking, polling the host's
 * cancellation flag (a cancelled call gets a cancel request sent, and the
 * wait goes on for the server's answer).  Returns DSRC_OK or the error of
 * a connection that broke. */
dsrc_status pgc_wait(dsrc_conn *c, const dsrc_ctx *ctx, const char *what, dsrc_error *err);

/* Wait a moment for input (during a COPY, where PQisBusy() says nothing),
 * polling the host's cancellation flag like pgc_wait(), and read what
 * arrived.  Returns DSRC_OK or the error of a connection that broke. */
dsrc_status pgc_wait_input(dsrc_conn *c, const dsrc_ctx *ctx, const char *what,
                           dsrc_error *err);

/* Send a query with text parameters (n_params may be 0; n_params < 0 sends
 * `sql` as a simple query, which may hold several statements). */
dsrc_status pgc_send(dsrc_conn *c, const char *sql, int n_params, const char *const *params,
                     const char *what, dsrc_error *err);

/* Run a query to its end.  Through a transaction pooler, a query with
 * n_params >= 0 sent outside a transaction runs in its own BEGIN READ ONLY
 * ... COMMIT with pgc_tx_settings().  On success *out (when not NULL) holds the last
 * result (the caller PQclear()s it).  The first failing result becomes the
 * error. */
dsrc_status pgc_exec(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                     const char *const *params, PGresult **out, const char *what,
                     dsrc_error *err);

/* After a receiver asked to stop: cancel the running query and read and
 * drop whatever it still sends, so the connection can be used again. */
void pgc_abandon(dsrc_conn *c);

/* Called by pgc_stream() with a result holding one row.  Returns 0 to go
 * on, a positive value when the receiver asked to stop, a negative one on
 * allocation failure. */
typedef int (*pgc_row_fn)(void *user, const PGresult *row);

/* Run a query in single-row mode, handing each row to `fn` as it arrives.
 * A stop asked by `fn` cancels the query and returns DSRC_E_CANCELLED
 * ("<what>: stopped by the receiver"); the host's cancellation flag is
 * polled between rows.  *n_rows (may be NULL) gets the rows handed over. */
dsrc_status pgc_stream(dsrc_conn *c, const dsrc_ctx *ctx, const char *sql, int n_params,
                       const char *const *params, pgc_row_fn fn, void *user,
                       uint64_t *n_rows, const char *what, dsrc_error *err);

/* Wait `ms` milliseconds, polling the cancellation every 10 ms; nonzero
 * (early) when the call should stop. */
int pgc_pause(dsrc_conn *c, const dsrc_ctx *ctx, long ms);

/* Append to `b` what a transaction on `c` sets for itself: nothing on a
 * connection that keeps its session, else "; SET LOCAL DateStyle = ISO;
 * ..." (the settings pgc_session() makes at connect). */
void pgc_tx_settings(const dsrc_conn *c, dsrc_buf *b);

/* Start a transaction with `begin` ("BEGIN ..."), followed by
 * pgc_tx_settings() on a connection through a transaction pooler. */
dsrc_status pgc_tx_begin(dsrc_conn *c, const dsrc_ctx *ctx, const char *begin,
                         dsrc_error *err);

/* Run a statement whose result does not matter (ROLLBACK). */
void pgc_quiet(dsrc_conn *c, const char *sql);

/* ------------------------------------------------------------------------ */
/* pgc_error.c                                                               */

/* An allocation failure. */
dsrc_status pgc_oom(dsrc_error *err);

/* Fill err from a failed result: status from the SQLSTATE, message from
 * the server's primary message, detail and hint, prefixed with `what`. */
dsrc_status pgc_fail_result(dsrc_conn *c, const dsrc_ctx *ctx, const PGresult *res,
                            const char *what, dsrc_error *err);

/* Fill err from the connection's error message when there is no result
 * (the connection broke, a send failed). */
dsrc_status pgc_fail_conn(dsrc_conn *c, const char *what, dsrc_error *err);

/* Fill err for a connection attempt that failed (PQstatus CONNECTION_BAD
 * after PQconnectPoll): `pg` may be NULL; `endpoint` names the server. */
dsrc_status pgc_fail_connect(PGconn *pg, const char *endpoint, const char *user,
                             const char *database, dsrc_error *err);

/* The same from libpq's message text: `needs_password` as
 * PQconnectionNeedsPassword, `password` (or NULL) scrubbed from the message. */
dsrc_status pgc_fail_connect_text(const char *msg, int needs_password, const char *password,
                                  const char *endpoint, const char *user,
                                  const char *database, dsrc_error *err);

/* The reason in libpq's connection error message `msg`, one line, into
 * out: of several attempts (each address of a name), the first that says
 * more than that nothing answered. */
void pgc_reason(const char *msg, char *out, size_t outsz);

/* libpq's notice receiver for every connection (arg: the dsrc_conn):
 * server notices and warnings (RAISE, deprecations) go to the host's log
 * for the running call, at the server's severity, on one line, with the
 * password scrubbed, instead of raw on stderr. */
void pgc_notice(void *arg, const PGresult *res);

/* The SQLSTATE of a result, or "" */
const char *pgc_sqlstate(const PGresult *res);

/* ------------------------------------------------------------------------ */
/* pgc_types.c                                                               */

/* How the values of a column are turned into cells. */
typedef enum pgc_class {
    PGC_TEXT = 0,
    PGC_INT,
    PGC_FLOAT,
    PGC_BOOL,
    PGC_DATE,
    PGC_TIMESTAMP,
    PGC_TIMESTAMPTZ,
    PGC_JSON,
    PGC_BYTEA,
    PGC_NUMERIC,
    PGC_FLOAT_TEXT /* float8 whose text is the double's shortest: passed on */
} pgc_class;

/* The class of a (base) type OID. */
pgc_class pgc_class_of(unsigned type_oid);

/* The class the values of a column of (base) type `type_oid` are read with
 * on `pg`: pgc_class_of()'s, but PGC_FLOAT_TEXT for float8 where its text
 * is already what the host would write for the double (PostgreSQL 12 and
 * later, with the extra_float_digits of 3 every connection and pooled
 * transaction sets: the shortest that reads back) and the host takes it
 * as it is (`host_abi` 1.5 or later: DSRC_T_DOUBLE_TEXT). */
pgc_class pgc_rows_class(PGconn *pg, unsigned type_oid, uint32_t host_abi);

/* The SDK type a class is reported as. */
dsrc_type pgc_type_of(pgc_class cls);

/* The name format_type(oid, typmod) gives a built-in type (e.g.
 * "numeric(10,2)", "timestamp(3) with time zone") into out: 0, or -1 when
 * the type is not one of the common built-in ones. */
int pgc_type_name(unsigned oid, int typmod, char *out, size_t outsz);

/* Scratch space for the converted values of one row.  pgc_scratch_reserve()
 * makes sure `need` bytes fit without moving (call it before converting
 * any value of the row, with the row's total); pgc_cell() then takes from
 * it.  Returns 0 or -1 (out of memory). */
typedef struct pgc_scratch {
    char *buf;
    size_t used, cap;
} pgc_scratch;

int pgc_scratch_reserve(pgc_scratch *s, size_t need);
void pgc_scratch_free(pgc_scratch *s);

/* Bytes of scratch a value of `len` text bytes may need. */
size_t pgc_scratch_need(pgc_class cls, size_t len);

/* Fill `cell` from a value in PostgreSQL's text form (`v` of `len` bytes,
 * or NULL).  Values a class cannot represent (bytea not in hex form)
 * arrive as text cells. */
void pgc_cell(pgc_class cls, const char *v, size_t len, pgc_scratch *s, dsrc_cell *cell);

/* ------------------------------------------------------------------------ */
/* pgc_catalog.c                                                             */

/* A column as the catalog describes it. */
typedef struct pgc_col {
    char *name;
    char *native;     /* format_type(type, typmod), e.g. "numeric(10,2)" */
    char *cast;       /* format_type(type, NULL): usable in a CAST        */
    char *dflt;       /* default or generation expression; NULL          */
    char *comment;    /* NULL when none                                   */
    unsigned base_oid;/* the type, or a domain's base type                */
    pgc_class cls;
    int notnull;
    int pk;           /* position in the primary key, 0 when not part    */
} pgc_col;

/* A relation: a table, view, materialized view, foreign or partitioned
 * table. */
typedef struct pgc_rel {
    unsigned oid;
    char *schema, *name;
    char kind;        /* relkind: r v m f p                               */
    int64_t rows;     /* estimate; -1 unknown                             */
    int64_t size;     /* bytes; -1 unknown                                */
    char *comment;
    pgc_col *cols;
    size_t n_cols, cap_cols;
    dsrc_fk_list fks; /* its foreign keys                                 */
} pgc_rel;

void pgc_rel_free(pgc_rel *r);

/* Find the relation `path` names ("schema/table", a bare "table" in the
 * current schema, or "schema.table") and read its columns into `rel`,
 * which the caller frees with pgc_rel_free() (on failure it is left
 * empty).  NOT_FOUND names the path. */
dsrc_status pgc_resolve(dsrc_conn *c, const dsrc_ctx *ctx, const char *path, pgc_rel *rel,
                        dsrc_error *err);

/* The driver's list, describe and discover (see dsrc_driver): items are
 * delivered to the sink during the call only; errors as for every
 * operation (status stored in err and returned). */
dsrc_status pgc_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                     const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status pgc_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                         const dsrc_meta_sink *sink, dsrc_error *err);
dsrc_status pgc_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* pgc_fetch.c                                                               */

/* The driver's fetch: COPY CSV to `bytes` when the request asks for CSV
 * and a byte sink is given, else typed rows to `rows`; fills `result`
 * (mode, rows, bytes, cursor_max). */
dsrc_status pgc_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *result, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* pgc_statement.c                                                           */

/* The driver's query (ABI 1.4): one statement in a READ ONLY transaction
 * that is always rolled back, its parameters bound by the extended
 * protocol, its rows streamed in single-row mode. */
dsrc_status pgc_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                      const dsrc_row_sink *rows, dsrc_fetch_result *result, dsrc_error *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys.h -- what the files of the mysql plugin share (internal: never
 * installed, never included outside plugins/mysql).
 *
 *   mysql.c         entry point, option table, library init and unload
 *   mys_conn.c      queries, open, close, ping, cancel, TLS
 *   mys_error.c     MySQL error numbers -> dsrc statuses
 *   mys_buf.c       growing strings and arrays, quoting, item paths
 *   mys_types.c     MySQL types -> SDK types, values -> cells, cursor
 *                   values -> SQL literals
 *   mys_catalog.c   list, describe (information_schema); the columns and
 *                   the metadata record of a table, shared with discover
 *   mys_discover.c  discover: the whole catalog in a fixed number of queries
 *   mys_fetch.c     fetch: streaming rows with mysql_use_result or a
 *                   prepared statement (the binary protocol)
 *   mys_query.c     query: one read-only statement, parameters bound
 *
 * Prefix: mys_ (MariaDB Connector/C owns my_ and mysql_).
 */
#ifndef DSRC_PLUGIN_MYSQL_MYS_H
#define DSRC_PLUGIN_MYSQL_MYS_H

#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <mysql.h>

#include <stdatomic.h>
#include <stdint.h>

#define MYS_VERSION "1.0.0"
/* How often (in rows) long loops poll the host's cancellation flag. */
#define MYS_POLL_EVERY 1024

/* The host's services, set by dsrc_plugin_init(). */
extern const dsrc_host *mys_host;

/* Everything needed to connect to one endpoint again (cancel() opens a
 * second connection with it).  Strings are owned; the password is wiped
 * when freed. */
typedef struct mys_params {
    char *host;          /* NULL with a unix socket                         */
    unsigned port;
    char *unix_socket;   /* NULL: TCP                                       */
    char *user;          /* NULL: the login name                            */
    char *password;      /* NULL: none                                      */
    char *database;      /* NULL: none                                      */
    char *charset;
    unsigned connect_timeout_s;
    unsigned read_timeout_s;   /* 0: none                                   */
    /* TLS: use_tls 0 off, 1 required, 2 when the server offers it (prefer:
       no CA, the certificate unchecked); verify_host as the mode says. */
    int use_tls;
    int verify_host;
    /* The password is a cloud identity's token sent over TLS: the
       mysql_clear_password client plugin (RDS IAM) is allowed; never
       otherwise. */
    int cleartext;
    /* fetch reads rows with the binary protocol (a prepared statement)
       where every column allows it; 0: always the text protocol. */
    int fetch_binary;
    char *tls_ca, *tls_capath, *tls_cert, *tls_key;
} mys_params;

struct dsrc_conn {
    MYSQL *my;
    mys_params p;
    char *source;            /* the source's name, for log lines           */
    unsigned long thread_id; /* the server's id of this connection          */
    char endpoint[128];      /* "host:port" or the socket path              */
    char server_version[64]; /* "MariaDB 10.11.6"                           */
    int is_mariadb;
    unsigned long server_num; /* e.g. 101106                                */
    int last_errno;          /* errno right after the last failed call      */
    unsigned long connect_us; /* how long connecting took (microseconds)    */
    /* The server's id of a second connection working for this one
     * (mys_side_open), 0 when none: cancel() stops its statement too. */
    atomic_ulong side_thread_id;
    /* The notAfter (epoch seconds) of the certificate the server presents,
     * read once per connection by ping: -1 not read yet, 0 no TLS or
     * unknown. */
    int64_t srv_not_after;
};

/* ------------------------------------------------------------------------ */
/* mys_buf.c                                                                 */

/* Query text is built in a dsrc_buf (<dsrc/plugin.h>). */
/* An identifier in backticks, backticks doubled. */
void mys_buf_ident(dsrc_buf *b, const char *id);
/* A string literal in single quotes, escaped for the connection's charset
 * and sql_mode (NO_BACKSLASH_ESCAPES) with mysql_real_escape_string(). */
void mys_buf_literal(dsrc_buf *b, MYSQL *my, const char *s);

/* Room for one more element in `v`, an array of *cap elements of `size`
 * bytes that are all used: `v` realloc'd to twice as many (16 at first)
 * and *cap updated.  NULL when out of memory (`v` is left as it was). */
void *mys_grow(void *v, size_t *cap, size_t size);

/* Overwrite and free a secret. */
void mys_wipe_free(char *s);

/* An item path split into database and object, both decoded (a name's
 * '/' and '%' are written %2F and %25: <dsrc/plugin_util.h>).  "db/table"
 * (an unescaped '/' in the table part belongs to the name); a bare "table"
 * names a table of the connection's database.  Both parts are owned. */
typedef struct mys_path {
    char *db;
    char *name;          /* NULL for a path that names a database only     */
} mys_path;

/* Split `path` for an object (table or view).  Errors: INVALID_ARGUMENT
 * for an empty path or part, a malformed escape, or a bare name without a
 * default database. */
dsrc_status mys_path_object(const dsrc_conn *c, const char *path, mys_path *out,
                            dsrc_error *err);
void mys_path_free(mys_path *p);

/* 1 for MariaDB's and MySQL's own databases. */
int mys_is_system_db(const char *name);

/* ------------------------------------------------------------------------ */
/* mys_error.c                                                               */

/* Fill err from the connection's last error: status from the MySQL error
 * number (auth, permission, not found, unreachable, timeout, cancelled...),
 * backend_code "NUMBER/SQLSTATE", connection_broken for lost connections.
 * `what` starts the message ("reading the catalog", ...).  Returns the
 * status. */
dsrc_status mys_fail(dsrc_error *err, dsrc_conn *c, const char *what);

/* mys_fail() for an error number, SQLSTATE (NULL: HY000), message and
 * errno taken from a handle that is not a dsrc_conn (a connection that
 * failed to open). */
dsrc_status mys_fail_raw(dsrc_error *err, unsigned code, const char *sqlstate,
                         const char *msg, int sys_errno, const char *what);

/* Fill err with CANCELLED ("<what> cancelled"). */
dsrc_status mys_cancelled_error(dsrc_error *err, const char *what);

/* ------------------------------------------------------------------------ */
/* mys_conn.c                                                                */

dsrc_status mys_open(const dsrc_ctx *ctx, const dsrc_open_params *params, dsrc_conn **out,
                     dsrc_error *err);
void mys_close(dsrc_conn *c);

dsrc_status mys_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                     dsrc_error *err);
dsrc_status mys_cancel(dsrc_conn *c);

/* Run a statement; on failure fill err (see mys_fail).  The result, if
 * any, is left for the caller (mysql_store_result / mysql_use_result). */
dsrc_status mys_query(dsrc_conn *c, const char *sql, size_t len, const char *what,
                      dsrc_error *err);

/* Run a statement and store its whole result (small catalog results).
 * *res may be NULL for statements without a result. */
dsrc_status mys_query_store(dsrc_conn *c, const char *sql, size_t len, MYSQL_RES **res,
                            const char *what, dsrc_error *err);

/* The next row of a result read with mysql_use_result(); NULL at its end
 * or on a failure, which mysql_errno(c->my) tells apart (c->last_errno is
 * then set for mys_fail). */
MYSQL_ROW mys_next_row(dsrc_conn *c, MYSQL_RES *res);

/* The statement that sets up a session (time zone, write timeout) into
 * out: run at connect, and again after a query reset the session. */
void mys_session_sql(const mys_params *p, char *out, size_t n);

/* Ask the server to stop the statement running on `c` (KILL QUERY from a
 * second connection).  Returns 0 when the server accepted it. */
int mys_kill_query(const dsrc_conn *c);

/* A second connection to c's endpoint, for statements that run beside
 * c's own (discover reads the tables on it while c reads the columns).
 * `side` shares c's parameters: close it with mys_side_close(), never
 * mys_close().  Same TLS and credentials as c, no session settings.
 * Returns DSRC_OK, or the reason it could not connect in err. */
dsrc_status mys_side_open(dsrc_conn *c, dsrc_conn *side, dsrc_error *err);
void mys_side_close(dsrc_conn *c, dsrc_conn *side);

/* Give up a streaming result before its end: read what is already on its
 * way, and when much remains, stop the statement on the server first.
 * Frees `res`. */
void mys_abandon_result(dsrc_conn *c, MYSQL_RES *res);

/* ------------------------------------------------------------------------ */
/* mys_types.c                                                               */

/* The SDK type of an information_schema data type; `column_type` (e.g.
 * "bigint(20) unsigned") tells BIGINT UNSIGNED and BIT(64), which are text. */
dsrc_type mys_type_of_data_type(const char *data_type, const char *column_type, int is_json);

/* How a result column's text becomes a cell. */
typedef enum mys_class {
    MYS_MC_TEXT,     /* text as is                                          */
    MYS_MC_BYTES,    /* binary as is                                        */
    MYS_MC_INT,      /* signed integer                                      */
    MYS_MC_UINT,     /* BIGINT UNSIGNED: INT64, or exact text above INT64_MAX */
    MYS_MC_BIT,      /* BIT(n): big-endian bytes                            */
    MYS_MC_DOUBLE,
    MYS_MC_DECIMAL,  /* exact text                                          */
    MYS_MC_DATETIME, /* "YYYY-MM-DD HH:MM:SS[.f]" -> "YYYY-MM-DDTHH:MM:SS[.f]" */
    MYS_MC_TIMESTAMP,/* the same with "Z"                                   */
    MYS_MC_DATE,     /* "YYYY-MM-DD"                                        */
    MYS_MC_JSON
} mys_class;

/* Per output column: its class and scratch space for converted text. */
typedef struct mys_outcol {
    mys_class cls;
    char scratch[48];
} mys_outcol;

/* The SDK type of a class's cells. */
dsrc_type mys_class_type(mys_class k);

/* The class of a result field; `json` when information_schema says the
 * column holds JSON. */
mys_class mys_class_of(const MYSQL_FIELD *f, int json);

/* Fill `cell` from a value (NULL: SQL NULL) of `len` bytes.  The cell may
 * point into the value or into oc->scratch: valid until the next call. */
void mys_cell(mys_outcol *oc, const char *v, unsigned long len, dsrc_cell *cell);

/* Append the cursor value `value` of cursor `field` as a literal for a
 * column of information_schema data type `dt` (NULL: unknown): numbers
 * unquoted once checked, anything else as an escaped string.  Errors:
 * INVALID_ARGUMENT for a value the column's type cannot hold. */
dsrc_status mys_cursor_literal(dsrc_conn *c, dsrc_buf *q, const char *dt,
                               const char *field, const char *value, dsrc_error *err);

/* The text that stands for a cursor value in cursor_max (at most outsz - 1
 * bytes in `out`).  Returns 0, or -1 when it cannot serve as a cursor. */
int mys_cursor_text(mys_outcol *oc, const char *v, unsigned long len, char *out,
                    size_t outsz);

/* ------------------------------------------------------------------------ */
/* mys_catalog.c                                                             */

dsrc_status mys_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                     const dsrc_item_sink *sink, dsrc_error *err);
dsrc_status mys_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                         const dsrc_meta_sink *sink, dsrc_error *err);

/* The columns of one table as information_schema describes them.  `name`
 * is one allocation that holds all the strings of the column. */
typedef struct mys_colinfo {
    char *name;
    char *data_type;     /* "int", "varchar", "json", ...                  */
    char *column_type;   /* "int(10) unsigned", "varchar(80)", ...         */
    char *default_value; /* NULL: none                                      */
    char *key;           /* "PRI", "UNI", "MUL" or ""                       */
    char *extra;         /* "auto_increment", ...                          */
    char *comment;
    int nullable;
    int pk;              /* position in the primary key; 0                  */
    int is_json;         /* JSON (MySQL's type or MariaDB's json_valid check) */
} mys_colinfo;

typedef struct mys_cols {
    mys_colinfo *v;
    size_t n, cap;
} mys_cols;

/* Read the columns of db.table (empty when the table is not visible).
 * Returns DSRC_OK or the error stored in err. */
dsrc_status mys_read_columns(dsrc_conn *c, const char *db, const char *table, mys_cols *out,
                             dsrc_error *err);
void mys_cols_free(mys_cols *cols);
/* Set is_json for the columns MariaDB marks as JSON with a json_valid()
 * check (MySQL's JSON type needs no marking).  One query on MariaDB. */
dsrc_status mys_mark_json(dsrc_conn *c, const char *db, const char *table, mys_cols *cols,
                          dsrc_error *err);
/* Set is_json for the column a MariaDB check clause "json_valid(`col`)"
 * names; other clauses change nothing. */
void mys_cols_mark_json(mys_cols *cols, const char *clause);
/* The column named `name`: exact match first, then case-insensitive (as
 * MySQL compares column names); -1 when absent. */
long mys_cols_find(const mys_cols *cols, const char *name);

/* What discover shares with list and describe. */

/* The columns information_schema.COLUMNS gives mys_cols_add(), in its
 * order. */
#define MYS_COL_FIELDS                                                                       \
    "COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_KEY, EXTRA, "   \
    "COLUMN_COMMENT"
/* Append the column of `row` whose MYS_COL_FIELDS start at index `base`
 * (`len`: mysql_fetch_lengths); `mariadb` reads MariaDB's defaults.
 * Returns 0 or -1 when out of memory. */
int mys_cols_add(mys_cols *cols, MYSQL_ROW row, const unsigned long *len, int base,
                 int mariadb);
/* Free the columns' strings, keep the array for the next table. */
void mys_cols_clear(mys_cols *cols);

/* A decimal integer of information_schema, `dflt` when NULL or not one. */
int64_t mys_i64(const char *s, int64_t dflt);

/* What information_schema.TABLES says about one table. */
typedef struct mys_table {
    const char *db, *name, *type, *engine, *comment, *collation, *row_format;
    const char *rows, *data_length, *index_length, *mtime, *auto_increment, *created;
} mys_table;
/* Fill `t` from the first six columns of a row of information_schema.TABLES:
 * TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT and
 * TABLE_COLLATION (all that discover reads); the other members NULL. */
void mys_table_head(mys_table *t, MYSQL_ROW r);

/* Memory one record is built in, kept from one record to the next
 * (discover builds thousands). */
typedef struct mys_scratch {
    void *p;
    size_t cap;
} mys_scratch;
void mys_scratch_free(mys_scratch *s);

/* Deliver the metadata record of table db.name to the sink: `t` may be
 * NULL (a table without a TABLES row), `cols` may be empty, `indexes` (the
 * index names, comma-separated) NULL, `fks` (its foreign keys) NULL and
 * `scratch` NULL (then the memory
 * is freed before returning).  Returns the sink's answer (0 continue), or
 * -1 when out of memory. */
int mys_emit(const dsrc_meta_sink *sink, const char *db, const char *name,
             const mys_table *t, const mys_cols *cols, const char *indexes,
             const dsrc_fk_list *fks, mys_scratch *scratch);

/* The query of the foreign keys of information_schema, into `q`: of table
 * `table` of database `db`, of every table of `db` (table NULL), or of
 * every database (db NULL; the system ones only with include_system).  One
 * row per (key, column): schema, table, key name, referenced schema and
 * table, update and delete rules, column, referenced column; in the order
 * of schema, table, key name and position in the key.  The database (and
 * table) are compared with each view's own lookup columns
 * (KEY_COLUMN_USAGE.TABLE_SCHEMA, REFERENTIAL_CONSTRAINTS.CONSTRAINT_SCHEMA),
 * so that the server opens that database (or table) only, not every one. */
void mys_buf_fk_sql(dsrc_buf *q, MYSQL *my, const char *db, const char *table,
                    int include_system);

/* Add one row of mys_buf_fk_sql() to `l`: a new key when its name differs
 * from the last key's.  0, or -1 when out of memory. */
int mys_fk_row(dsrc_fk_list *l, MYSQL_ROW row);

/* After nothing was found under database db: DSRC_OK when db exists,
 * DSRC_E_NOT_FOUND when it does not (or is hidden from this user), else the
 * failure of the check. */
dsrc_status mys_check_db(dsrc_conn *c, const char *db, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* mys_discover.c                                                            */

dsrc_status mys_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err);

/* ------------------------------------------------------------------------ */
/* mys_fetch.c                                                               */

dsrc_status mys_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *result, dsrc_error *err);

/* The binary protocol (prepared statements), shared by fetch and query. */

/* How a result column of the binary protocol is bound. */
typedef enum mys_bkind {
    MYS_B_INT,    /* integers as 64 bits, signed or not                    */
    MYS_B_DOUBLE, /* DOUBLE as its 8 bytes                                  */
    MYS_B_TIME,   /* DATE, DATETIME, TIMESTAMP as a MYSQL_TIME              */
    MYS_B_STR     /* the bytes the text protocol sends (strings, DECIMAL)   */
} mys_bkind;

/* A statement in the binary protocol and the buffers its rows are
 * read into. */
typedef struct mys_bin {
    MYSQL_STMT *st;
    MYSQL_RES *meta;
    unsigned n;
    MYSQL_BIND *b;
    mys_bkind *kind;
    unsigned long *len;
    my_bool *isnull, *trunc;
    int64_t *i64;
    double *dbl;
    MYSQL_TIME *tm;
    unsigned *frac;      /* fraction digits of a MYS_B_TIME column          */
    char **buf;
    char (*text)[40];    /* a date's text, as the text protocol writes it   */
} mys_bin;

/* Prepare `sql` into bn (statement, result metadata, bound result
 * buffers); not run.  every_type 0 (fetch): returns 0 when the text
 * protocol is to read it instead (a column the binary protocol would give
 * other text, a statement the server would not prepare).  every_type 1
 * (query): every column is read, those the binary protocol does not give
 * exactly as text the client library writes; a statement without a result
 * has bn->n 0; any failure is -1.  -1 also when out of memory or when the
 * connection failed (err filled, `what` starts the message). */
int mys_bin_prepare(dsrc_conn *c, const char *sql, size_t sql_len, mys_bin *bn,
                    int every_type, const char *what, dsrc_status *stp, dsrc_error *err);
/* The statement's last error number, or the connection's when the
 * statement has none (an error that ends rows read one at a time). */
unsigned mys_bin_errno(dsrc_conn *c, mys_bin *bn);
/* mys_fail_raw() from the statement's last error (or the connection's). */
dsrc_status mys_bin_fail(dsrc_conn *c, mys_bin *bn, const char *what, dsrc_error *err);
/* The next row into cells (one per output column, `oc` their classes):
 * 1 a row, 0 the end, -1 a failure (err filled, its message "what_base
 * (after N rows)"). */
int mys_bin_row(dsrc_conn *c, mys_bin *bn, mys_outcol *oc, dsrc_cell *cells, size_t n_out,
                uint64_t nrows, const char *what_base, dsrc_status *stp, dsrc_error *err);
/* Give up a statement before its end: read what is already on its way,
 * and when much remains, stop it on the server first (KILL QUERY).  Closes
 * bn. */
void mys_bin_abandon(dsrc_conn *c, mys_bin *bn);
void mys_bin_close(mys_bin *bn);

/* ------------------------------------------------------------------------ */
/* mys_query.c                                                               */

/* query(): one read-only statement with bound parameters. */
dsrc_status mys_run_query(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_query_req *req,
                          const dsrc_row_sink *rows, dsrc_fetch_result *result,
                          dsrc_error *err);

#endif

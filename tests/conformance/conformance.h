/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conformance.h -- the shared plugin conformance suite.
 *
 * Every plugin runs the same cases (open, ping, list, describe, discover,
 * fetch with columns / limit / cursor, bad options, missing items, unknown
 * columns, a sink that stops, cancellation, the golden table's rendering)
 * through the real host code:
 * the suite writes a dsrcd.conf and sources.d/ into a temporary directory,
 * loads them with cfg_load(), loads the plugin with the loader, builds the
 * registry and calls the source through source.h.
 *
 * A plugin's test program fills one conf_fixture (what the backend holds,
 * where its plugin is, which quirks it declares) and calls conf_main().
 * The fixture describes expectations; it never changes what a case checks
 * except through the declared quirks.
 */
#ifndef DSRC_TESTS_CONFORMANCE_H
#define DSRC_TESTS_CONFORMANCE_H

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <dsrc/plugin.h>

#include "base/error.h"
#include "plugin/conform.h"

/* The quirks a plugin declares (CONF_QUIRK_*) are in plugin/conform.h,
 * shared with `dsrc conformance`. */

/* One value the full fetch must contain: in the row whose first column
 * renders as `key`, column `column` has a cell of `type` rendering as
 * `text` (NULL: the cell is NULL).  Rendering: BOOL "true"/"false", INT64
 * decimal, DOUBLE "%.15g", BYTES lower-case hex, other types as is. */
typedef struct conf_value {
    const char *key;
    const char *column;
    dsrc_type type;
    const char *text;
} conf_value;

#define CONF_TEXT_MAX 4096

/* The dialect in which a fixture creates the golden table (see "The
 * golden table" below). */
typedef enum conf_dialect {
    CONF_GOLDEN_NONE = 0,      /* no golden table: the backend is not SQL */
    CONF_GOLDEN_POSTGRES = 1,
    CONF_GOLDEN_MYSQL = 2,     /* MySQL and MariaDB                       */
    CONF_GOLDEN_SQLITE = 3,
    CONF_GOLDEN_CSV = 4        /* a CSV file holding conf_golden_csv()    */
} conf_dialect;

typedef struct conf_fixture conf_fixture;

struct conf_fixture {
    /* The plugin. */
    const char *plugin;            /* plugin name: <plugin>.so              */
    char plugin_dir[CONF_TEXT_MAX];/* the directory holding <plugin>.so     */

    /* Called once before the cases with a fresh temporary directory (which
     * the suite removes afterwards): create the data, start a server, and
     * fill connection / bad_connection.  Returns 0, 77 to skip the whole
     * run (the backend cannot run here; print why), or -1 to fail it
     * (print why).  May be NULL. */
    int (*setup)(conf_fixture *fx, const char *tmpdir);
    /* Called once after the cases (stop a server).  May be NULL. */
    void (*teardown)(conf_fixture *fx);

    /* The body of the source's `connection = { ... };` group, libconfig
     * syntax, e.g. "path = \"/tmp/x/test.db\";". */
    char connection[CONF_TEXT_MAX];

    /* A connection that passes option validation but must fail to open,
     * with the status open() must return. */
    char bad_connection[CONF_TEXT_MAX];
    dsrc_status bad_status;

    /* A known table-like item. */
    const char *table;             /* its path, as describe/fetch take it   */
    const char *table_name;        /* its name as list() reports it         */
    const char *table_parent;      /* the path to list() to find it ("" = root) */
    dsrc_item_kind table_kind;     /* expected kind                         */
    const char *const *columns;    /* expected column names, in order       */
    const dsrc_type *column_types; /* expected SDK types (NULL: unchecked)  */
    size_t n_columns;
    const char *pk_column;         /* primary key column (NULL: none)       */
    int64_t rows;                  /* rows in the table                     */
    const conf_value *values;      /* values the full fetch must contain    */
    size_t n_values;

    /* Incremental fetch: rows with cursor_field > cursor_value. */
    const char *cursor_field;
    const char *cursor_value;
    int64_t cursor_rows;           /* expected number of rows after it      */
    const char *cursor_max;        /* expected cursor_max                   */

    /* Ties: an item of twelve rows whose column ties_key holds 1..12 and
     * whose cursor column ties_cursor holds 1,1,2,2,3,3,4,4,5,5 for keys
     * 1..10 (key k has (k + 1) / 2) and NULL (or nothing) for keys 11 and
     * 12, for incremental fetches whose limit ends inside a group of equal
     * values.  Required unless CONF_QUIRK_NO_CURSOR. */
    const char *ties_item;
    const char *ties_key;
    const char *ties_cursor;

    const char *missing_item;      /* an item that does not exist           */
    unsigned quirks;               /* CONF_QUIRK_*                          */

    /* Round trip: items whose names hold '/', '%' or quotes, as list() and
     * discover() must print them (escaped the way <dsrc/plugin_util.h>
     * says).  Each must be printed by the walk of list() and by discover()
     * (unless CONF_QUIRK_NO_DISCOVER), described and fetched as printed.
     * NULL-terminated; NULL when the backend can hold no such name. */
    const char *const *odd_items;
    /* Items the walk or discover() print that the round trip does not
     * open: it neither fetches such a leaf (a view that sleeps, a
     * collection that never answers) nor lists such a container (one the
     * plugin cannot list for a reason of its own).  NULL-terminated; may
     * be NULL. */
    const char *const *skip_items;

    /* The golden table: the dialect in which setup created it (with
     * conf_golden_sql() or conf_golden_csv()) and its path, as fetch takes
     * it.  Every SQL plugin has one; CONF_GOLDEN_NONE (0) for a backend
     * that cannot hold it. */
    conf_dialect golden;
    const char *golden_item;

    /* The foreign-key pair conf_golden_sql() creates beside the golden
     * table: the paths of CONF_FK_PARENT and CONF_FK_CHILD as describe
     * takes them (NULL: no such pair; the foreign-key case is not run). */
    const char *fk_parent_item;
    const char *fk_child_item;

    void *user;                    /* for the plugin's hooks                */
};

/* The temporary directory of the running suite (valid inside cases, and in
 * the plugin's own cases added with conf_add_case()). */
const char *conf_tmpdir(void);

/* The fixture of the running suite. */
conf_fixture *conf_current(void);

/* The Check suite with every shared case for `fx`.  The plugin may add its
 * own TCase to the returned suite. */
Suite *conf_suite(conf_fixture *fx);

/* Run the shared suite plus `extra` (may be NULL) for `fx`: calls setup,
 * runs every case, calls teardown, removes the temporary directory (kept
 * when DSRC_KEEP_TMP is set).  The cases of `extra` get the same per-case
 * fixture as the shared ones: conf_conn() is the opened "conf" source.
 * Returns the process exit status (0 all passed, 1 failures, 77 skipped
 * when setup returns 77). */
int conf_main(conf_fixture *fx, TCase *extra);

/* The opened "conf" source of the running case. */
struct source_conn *conf_conn(void);

/* Helpers for a plugin's own cases, using the same configuration as the
 * shared ones.  conf_env_new() loads config, plugins and registry (failing
 * the case on any configuration error); conf_env_open() opens the source
 * `name` ("conf" = the fixture's connection, "conf_bad" = the bad one, or
 * one written with conf_write_source()) and returns its status, with the
 * host's error in `e` (may be NULL; the caller clears it); conf_env_free()
 * frees all of it (close the connections first). */
typedef struct conf_env conf_env;
struct source_conn;
conf_env *conf_env_new(void);
dsrc_status conf_env_open(conf_env *env, const char *name, struct source_conn **out, derr *e);
void conf_env_free(conf_env *env);

/* conf_env_open() for any endpoint of the source: 0 is the primary, i the
 * replica replicas.hosts[i-1]. */
dsrc_status conf_env_open_at(conf_env *env, const char *name, int endpoint,
                             struct source_conn **out, derr *e);

/* Write a source file `name`.conf into the suite's sources.d with the
 * given connection body (for a plugin's own cases; call it in setup). */
int conf_write_source(const char *name, const char *connection);

/* The same with the whole text after the name and type written as the
 * format gives it: the connection group and any other group or setting
 * (location, tls, replicas).  0, or -1 (printed) when it cannot be
 * written. */
int conf_write_source_text(const char *name, const char *fmt, ...) DSRC_PRINTF(2, 3);

/* Rows collected by conf_fetch_all(): cells rendered as text (NULL for
 * NULL) with their types. */
typedef struct conf_rows {
    size_t n_columns;
    char **names;                  /* from schema()                          */
    dsrc_type *col_types;
    size_t n_rows;
    char **text;                   /* n_rows * n_columns                     */
    dsrc_type *types;              /* a double's text (DSRC_T_DOUBLE_TEXT,
                                      checked to be the host's text of its
                                      value) as DSRC_T_DOUBLE               */
    size_t n_double_text;          /* how many cells came as a double's text */
    int schema_calls;
    int bad_row_width;             /* a row arrived with a wrong cell count */
} conf_rows;

/* Fetch through source_fetch() into `out` (free it with conf_rows_free()).
 * Returns the status; the host's error in `e` (may be NULL; the caller
 * clears it).  `res` may be NULL. */
dsrc_status conf_fetch_all(struct source_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                           dsrc_fetch_result *res, derr *e);
void conf_rows_free(conf_rows *r);

/* Render a cell the way conf_value expects (malloc'd; NULL for NULL). */
char *conf_render(const dsrc_cell *cell);

/* The index of column `name` in `r` (-1: there is none).  conf_rows_cell()
 * and conf_rows_type() give the cell of that column in row `row` (its text,
 * NULL for NULL, and its type), failing the case when the column or the
 * row does not exist. */
ssize_t conf_rows_col(const conf_rows *r, const char *name);
const char *conf_rows_cell(const conf_rows *r, size_t row, const char *name);
dsrc_type conf_rows_type(const conf_rows *r, size_t row, const char *name);

/* A request to fetch all of `item` as rows: no columns, no cursor, no
 * limit (-1). */
void conf_req(dsrc_fetch_req *req, const char *item);

/* Fetch all of `item` on `c` and check that it succeeds with `rows` rows
 * (e.g. that a connection still serves after an error). */
void conf_expect_rows(struct source_conn *c, const char *item, size_t rows);

/* ------------------------------------------------------------------------ */
/* The golden table (golden.c)
 *
 * One sample table that every SQL plugin's fixture creates, the same rows
 * and columns in every backend: integer, big integer, exact decimal,
 * double (and NULL), text with a comma, quotes, a line break and non-ASCII
 * (and the empty string), boolean, date, timestamp without a time zone,
 * timestamp with a time zone (where the dialect has one: not SQLite), and
 * binary; three rows, the last all NULL but its id.  The golden answer is
 * in golden.c alone: for every cell the CSV field dsrc writes, and for
 * every column the dsrc_type of its cells.  The shared case fetches the
 * table through the plugin as typed rows and as a CSV fetch, and compares
 * cell by cell.  A difference is fixed in the plugin or declared in the
 * one quirk table in golden.c (plugin, mode, column, the rendering it
 * gives, the reason); a difference not declared fails the case, and so
 * does a declared one that no longer occurs. */

#define CONF_GOLDEN_TABLE "golden"   /* the table's name in every dialect    */
#define CONF_GOLDEN_ROWS 3

/* The foreign-key pair, created after the golden table in every SQL
 * dialect: CONF_FK_CHILD has a single key, fk_child_parent (parent_id) ->
 * CONF_FK_PARENT (id) ON UPDATE CASCADE ON DELETE CASCADE, and a composite
 * one in an order other than the tables', fk_child_pair (pb, pa) ->
 * CONF_FK_PARENT (b, a) ON UPDATE RESTRICT ON DELETE SET NULL.  The case
 * checks that describe and discover report exactly these, and the same. */
#define CONF_FK_PARENT "fk_parent"
#define CONF_FK_CHILD "fk_child"

/* The SQL statements that create and fill the table "golden" (and the
 * foreign-key pair) in `dialect`
 * (CONF_GOLDEN_POSTGRES, _MYSQL or _SQLITE), in schema or database
 * `schema` (a plain identifier; NULL: unqualified), to run in order, one
 * at a time.  A NULL-terminated array of malloc'd strings (free it with
 * conf_golden_free()); NULL for another dialect or when out of memory. */
char **conf_golden_sql(conf_dialect dialect, const char *schema);
void conf_golden_free(char **sql);

/* The golden table as the CSV file dsrc writes of it: a header line, then
 * the rows, lines ending in CRLF.  malloc'd; NULL when out of memory. */
char *conf_golden_csv(void);

/* Add the golden case to `tc` (conf_suite() does). */
void conf_golden_add(TCase *tc);

/* ------------------------------------------------------------------------ */
/* Collectors for a plugin's own cases.  Each keeps up to a fixed number of
 * records in the structure itself (its counts go on past that); the
 * structures are large, so a case may rather declare them static or
 * allocate them than keep them on its stack. */

#define CONF_PATH_MAX 128      /* bytes of a kept path (longer: cut)         */

/* Items from list(). */
#define CONF_ITEMS_MAX 128
typedef struct conf_items {
    size_t calls;                           /* items received              */
    size_t n;                               /* items kept                  */
    char path[CONF_ITEMS_MAX][CONF_PATH_MAX];
    dsrc_item_kind kind[CONF_ITEMS_MAX];
    int container[CONF_ITEMS_MAX];
    int64_t rows[CONF_ITEMS_MAX];
    int estimated[CONF_ITEMS_MAX];          /* rows_estimated              */
    int64_t size[CONF_ITEMS_MAX];           /* size_bytes                  */
    int64_t mtime[CONF_ITEMS_MAX];
    char comment[CONF_ITEMS_MAX][64];       /* "" when there is none       */
} conf_items;

/* An item sink filling `l` (which it does not empty). */
dsrc_item_sink conf_items_sink(conf_items *l);
/* list() of `path` on `c` into `l`, emptied first. */
dsrc_status conf_list(struct source_conn *c, const char *path, conf_items *l, derr *e);
/* The index of the kept item with this path (-1: none). */
ssize_t conf_items_find(const conf_items *l, const char *path);

/* Metadata from describe() / discover(): the path, kind, row count and
 * column count of every record, and the details of the record whose path
 * is `want`. */
#define CONF_MD_MAX 1024
#define CONF_MD_COLS 24
#define CONF_MD_PROPS 64
typedef struct conf_md {
    size_t calls;                           /* records received            */
    size_t stop_after;                      /* > 0: ask to stop at this
                                               many records                */
    size_t n;                               /* records kept                */
    char path[CONF_MD_MAX][CONF_PATH_MAX];
    dsrc_item_kind kind[CONF_MD_MAX];
    int64_t rows[CONF_MD_MAX];
    size_t n_columns[CONF_MD_MAX];

    /* The details of the record whose path is `want` (the last one when
     * it comes more than once); `found` counts how often it came. */
    const char *want;
    int found;
    int64_t want_rows, want_size;
    int want_rows_estimated;
    char want_comment[128];                 /* "(null)" when there is none */
    size_t n_cols;                          /* columns kept                */
    char col[CONF_MD_COLS][4][128];         /* name, native_type ("" when
                                               none), default and comment
                                               ("(null)" when none)        */
    dsrc_type col_type[CONF_MD_COLS];
    int col_null[CONF_MD_COLS];             /* nullable                    */
    int col_pk[CONF_MD_COLS];               /* primary_key                 */
    size_t n_props;                         /* properties kept             */
    char props[CONF_MD_PROPS][2][512];      /* key, value                  */
} conf_md;

/* Empty `m` and ask for the details of `want` (may be NULL). */
void conf_md_init(conf_md *m, const char *want);
/* A metadata sink filling `m` (which it does not empty). */
dsrc_meta_sink conf_md_sink(conf_md *m);
/* describe() of `item` on `c`, adding to `m`. */
dsrc_status conf_describe(struct source_conn *c, const char *item, conf_md *m, derr *e);
/* discover() on `c` of `path` (NULL: everything), with the system
 * schemas / databases when `include_system`, adding to `m`. */
dsrc_status conf_discover(struct source_conn *c, const char *path, int include_system, conf_md *m,
                          derr *e);
/* The same with the mode hint `mode`; *queries (may be NULL) gets the
 * queries the plugin reported (-1: none). */
dsrc_status conf_discover_mode(struct source_conn *c, const char *path, int include_system,
                               dsrc_discover_mode mode, conf_md *m, int64_t *queries, derr *e);
/* The value of the wanted record's property `key` (NULL: none). */
const char *conf_md_prop(const conf_md *m, const char *key);
/* The index of the kept record with this path (-1: none). */
ssize_t conf_md_find(const conf_md *m, const char *path);
/* The index of the wanted record's column `name` (failing the case when it
 * has none). */
size_t conf_md_col(const conf_md *m, const char *name);

/* A row sink that counts what arrives and keeps nothing.  With
 * stop_after > 0 it stops the fetch once that many rows have arrived: its
 * row() returns nonzero, or, with stop_by_flag, it raises the cancel flag
 * of `conn` instead (for every row from then on) and lets the fetch notice.
 * The counters may be read from another thread while the fetch runs. */
typedef struct conf_counter {
    struct source_conn *conn;
    long stop_after;
    int stop_by_flag;
    atomic_int schema_calls;
    atomic_long rows;
} conf_counter;

/* Reset `k` with these settings and return a row sink feeding it. */
dsrc_row_sink conf_counter_sink(conf_counter *k, struct source_conn *conn, long stop_after,
                                int stop_by_flag);

/* ------------------------------------------------------------------------ */
/* Cancellation and time                                                     */

/* Seconds on the monotonic clock. */
double conf_now(void);

/* Interrupt what runs on `c` (from another thread): with `driver` through
 * the plugin's cancel() alone, otherwise by raising the host's cancel flag
 * alone (source_cancel() does both). */
void conf_interrupt(struct source_conn *c, int driver);

/* conf_interrupt() every `every_ms` while a call runs on `c` (12 s at
 * most): an interrupt given before the statement began (a PQcancel(), an
 * sqlite3_interrupt()) cancels nothing, the next one does. */
void conf_interrupt_while_busy(struct source_conn *c, int driver, int every_ms);

/* A thread for conf_fetch_beside() or a query beside it (arg: a
 * conf_canceller): once a call runs on `c` (10 s at most) and `every_ms`
 * more, conf_interrupt_while_busy(). */
typedef struct conf_canceller {
    struct source_conn *c;
    int driver;
    int every_ms;
} conf_canceller;
void *conf_cancel_thread(void *arg);

/* Fetch `req` on `c` while `thread(arg)` runs beside it (started just
 * before, joined before returning): into `sink`, or when it is NULL into
 * `out` as conf_fetch_all() does (`out` may be NULL with a sink).  Returns
 * the status, the host's error in `e` (may be NULL; the caller clears it)
 * and in `*secs` (may be NULL) how long the fetch and the join took. */
dsrc_status conf_fetch_beside(struct source_conn *c, const dsrc_fetch_req *req,
                              const dsrc_row_sink *sink, conf_rows *out,
                              void *(*thread)(void *), void *arg, double *secs, derr *e);

/* ------------------------------------------------------------------------ */
/* Files and sockets (usable in setup, outside the cases)                    */

/* The contents of the file at `path`, malloc'd with a NUL after them, and
 * their length in `*len` (may be NULL); NULL when it cannot be read. */
char *conf_read_file(const char *path, size_t *len);

/* A TCP socket bound to a free port of 127.0.0.1, listening with `backlog`
 * when it is > 0 (the kernel then completes connections that nobody
 * answers).  Returns the descriptor (-1 on error) and the port in `*port`. */
int conf_loopback_socket(int backlog, int *port);

#endif

/*
 * conformance.h -- the shared plugin conformance suite.
 *
 * Every plugin runs the same cases (open, ping, list, describe, discover,
 * fetch with columns / limit / cursor, bad options, missing items, unknown
 * columns, a sink that stops, cancellation) through the real host code:
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
#include <dsrc/plugin.h>

#include "error.h"

/* Quirks a plugin declares instead of skipping tests. */
#define CONF_QUIRK_NO_DISCOVER      0x0001u /* discover() is unsupported     */
#define CONF_QUIRK_NO_CURSOR        0x0002u /* incremental fetch unsupported */
#define CONF_QUIRK_ROWS_ESTIMATED   0x0004u /* row counts are estimates      */
#define CONF_QUIRK_NO_LIST_ROWS     0x0008u /* list() reports no row counts  */
#define CONF_QUIRK_NO_CANCEL        0x0010u /* no cancel() capability        */
#define CONF_QUIRK_CURSOR_UNSORTED  0x0020u /* cursor fetch is not ordered   */
#define CONF_QUIRK_NO_PK            0x0040u /* no primary keys               */
#define CONF_QUIRK_NO_TYPES         0x0080u /* describe() types are not
                                               comparable to column_types   */

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

    const char *missing_item;      /* an item that does not exist           */
    unsigned quirks;               /* CONF_QUIRK_*                          */

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
struct src_conn *conf_conn(void);

/* Helpers for a plugin's own cases, using the same configuration as the
 * shared ones.  conf_env_new() loads config, plugins and registry (failing
 * the case on any configuration error); conf_env_open() opens the source
 * `name` ("conf" = the fixture's connection, "conf_bad" = the bad one, or
 * one written with conf_write_source()) and returns its status, with the
 * host's error in `e` (may be NULL; the caller clears it); conf_env_free()
 * frees all of it (close the connections first). */
typedef struct conf_env conf_env;
struct src_conn;
conf_env *conf_env_new(void);
dsrc_status conf_env_open(conf_env *env, const char *name, struct src_conn **out, derr *e);
void conf_env_free(conf_env *env);

/* Write a source file `name`.conf into the suite's sources.d with the
 * given connection body (for a plugin's own cases; call it in setup). */
int conf_write_source(const char *name, const char *connection);

/* Rows collected by conf_fetch_all(): cells rendered as text (NULL for
 * NULL) with their types. */
typedef struct conf_rows {
    size_t n_columns;
    char **names;                  /* from schema()                          */
    dsrc_type *col_types;
    size_t n_rows;
    char **text;                   /* n_rows * n_columns                     */
    dsrc_type *types;
    int schema_calls;
    int bad_row_width;             /* a row arrived with a wrong cell count */
} conf_rows;

/* Fetch through src_fetch() into `out` (free it with conf_rows_free()).
 * Returns the status; the host's error in `e` (may be NULL; the caller
 * clears it).  `res` may be NULL. */
dsrc_status conf_fetch_all(struct src_conn *c, const dsrc_fetch_req *req, conf_rows *out,
                           dsrc_fetch_result *res, derr *e);
void conf_rows_free(conf_rows *r);

/* Render a cell the way conf_value expects (malloc'd; NULL for NULL). */
char *conf_render(const dsrc_cell *cell);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite.c -- the sqlite connector: one SQLite database file as a source.
 *
 * Built only against <dsrc/plugin.h> and libsqlite3.  The database is
 * always opened read-only through a "file:" URI (mode=ro, optionally
 * immutable=1); a missing file is never created.
 *
 * Items:
 *   ""                  the schemas: "main" and any attached database
 *   "main"              its tables and views with exact row counts for
 *                       tables (internal sqlite_% tables and the shadow
 *                       tables of virtual tables are skipped; discover
 *                       includes them when asked for system items)
 *   "main/orders"       a table or view; a bare "orders" means "main/orders".
 *                       Names holding '/' or '%' are written escaped (%2F,
 *                       %25; <dsrc/plugin_util.h>).  The part before the
 *                       first '/' is taken as a schema only when such a
 *                       schema exists, so an unescaped "main/a/b" or "a/b"
 *                       still reaches the table "a/b".
 *
 * Types: a column's SDK type comes from its declared type (SQLite's
 * affinity rules, plus BOOLEAN, DATE/DATETIME/TIMESTAMP and JSON).  Cells
 * follow each value's dynamic type, except that BOOLEAN columns deliver
 * the integers 0 and 1 as booleans (any other value as stored),
 * DATE/DATETIME/TIMESTAMP columns deliver dates stored as text as
 * timestamps, and JSON columns deliver text as JSON (embedded in JSON
 * Lines when valid).
 *
 * Cancellation: fetch polls host->is_cancelled() every 1000 rows, and a
 * progress handler polls it while a statement runs; cancel() calls
 * sqlite3_interrupt().  Either way the call returns DSRC_E_CANCELLED.
 *
 * Errors carry SQLite's primary result code name without its "SQLITE_"
 * prefix in backend_code ("BUSY", "NOTADB", "INTERRUPT", ...): the full
 * names do not all fit in DSRC_BACKEND_CODE_MAX.
 */
#include <dsrc/plugin.h>
#include <dsrc/plugin_util.h>

#include <sqlite3.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

DSRC_PLUGIN_ABI();

#define SQ_VERSION "1.0.0"
#define SQ_CANCEL_EVERY 1000

static const dsrc_host *sq_host;

struct dsrc_conn {
    sqlite3 *db;
    char *path;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

/* The primary result code's name without "SQLITE_" (fits backend_code). */
static const char *sq_code_name(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return "OK";
    case SQLITE_ERROR: return "ERROR";
    case SQLITE_INTERNAL: return "INTERNAL";
    case SQLITE_PERM: return "PERM";
    case SQLITE_ABORT: return "ABORT";
    case SQLITE_BUSY: return "BUSY";
    case SQLITE_LOCKED: return "LOCKED";
    case SQLITE_NOMEM: return "NOMEM";
    case SQLITE_READONLY: return "READONLY";
    case SQLITE_INTERRUPT: return "INTERRUPT";
    case SQLITE_IOERR: return "IOERR";
    case SQLITE_CORRUPT: return "CORRUPT";
    case SQLITE_NOTFOUND: return "NOTFOUND";
    case SQLITE_FULL: return "FULL";
    case SQLITE_CANTOPEN: return "CANTOPEN";
    case SQLITE_PROTOCOL: return "PROTOCOL";
    case SQLITE_EMPTY: return "EMPTY";
    case SQLITE_SCHEMA: return "SCHEMA";
    case SQLITE_TOOBIG: return "TOOBIG";
    case SQLITE_CONSTRAINT: return "CONSTRAINT";
    case SQLITE_MISMATCH: return "MISMATCH";
    case SQLITE_MISUSE: return "MISUSE";
    case SQLITE_NOLFS: return "NOLFS";
    case SQLITE_AUTH: return "AUTH";
    case SQLITE_FORMAT: return "FORMAT";
    case SQLITE_RANGE: return "RANGE";
    case SQLITE_NOTADB: return "NOTADB";
    case SQLITE_NOTICE: return "NOTICE";
    case SQLITE_WARNING: return "WARNING";
    default: return "UNKNOWN";
    }
}

/* Map an SQLite result code to a dsrc status and retryable flag. */
static dsrc_status sq_status(int rc, int *retryable)
{
    *retryable = 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    case SQLITE_INTERRUPT:
        return DSRC_E_CANCELLED;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
        return DSRC_E_PERMISSION;
    case SQLITE_NOTADB:
        return DSRC_E_INVALID_CONFIG;
    case SQLITE_NOMEM:
        return DSRC_E_INTERNAL;
    default:
        return DSRC_E_BACKEND;
    }
}

/* Fill err from the connection's last SQLite error; `what` says what was
 * being done.  Returns the status. */
static dsrc_status sq_fail(dsrc_error *err, sqlite3 *db, int rc, const char *what)
{
    int retryable;
    dsrc_status st = sq_status(rc, &retryable);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_INTERRUPT)
        return dsrc_error_set(err, st, 0, sq_code_name(rc), "%s: interrupted", what);
    return dsrc_error_set(err, st, retryable, sq_code_name(rc), "%s: %s", what,
                          msg ? msg : sqlite3_errstr(rc));
}

/* SQLite's progress handler: polls the host's cancellation flag while a
 * statement runs, so even a query that produces no row for a long time
 * (a big sort, a count over a huge table) stops when asked. */
static int sq_progress(void *arg)
{
    return dsrc_cancelled(sq_host, (const dsrc_ctx *)arg);
}

static void sq_watch(sqlite3 *db, const dsrc_ctx *ctx)
{
    sqlite3_progress_handler(db, 4096, sq_progress, (void *)ctx);
}

/* Stop what sq_watch() started; returns `s`, the status of the call that
 * ran while watched. */
static dsrc_status sq_unwatch(sqlite3 *db, dsrc_status s)
{
    sqlite3_progress_handler(db, 0, NULL, NULL);
    return s;
}


/* Append `v` between two quote characters `q`, each `q` in it doubled. */
static void sq_buf_quoted(dsrc_buf *b, const char *v, char q)
{
    const char *p;
    dsrc_buf_addn(b, &q, 1);
    for (p = v; *p; p++) {
        dsrc_buf_addn(b, p, 1);
        if (*p == q)
            dsrc_buf_addn(b, &q, 1);
    }
    dsrc_buf_addn(b, &q, 1);
}

/* Append an identifier in double quotes, embedded quotes doubled. */
static void sq_buf_ident(dsrc_buf *b, const char *id)
{
    sq_buf_quoted(b, id, '"');
}

/* Append a string literal in single quotes, embedded quotes doubled. */
static void sq_buf_literal(dsrc_buf *b, const char *v)
{
    sq_buf_quoted(b, v, '\'');
}

/* Append the condition that leaves out internal tables: SQLite's own
 * sqlite_% tables and, where SQLite can tell (3.37+), the shadow tables
 * that hold a virtual table's data (e.g. an FTS index). */
static void sq_buf_user_tables(dsrc_buf *b, const char *col, const char *schema)
{
    dsrc_buf_add(b, " AND ");
    dsrc_buf_add(b, col);
    dsrc_buf_add(b, " NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    if (sqlite3_libversion_number() >= 3037000) {
        dsrc_buf_add(b, " AND ");
        dsrc_buf_add(b, col);
        dsrc_buf_add(b, " NOT IN (SELECT name FROM pragma_table_list WHERE schema = ");
        sq_buf_literal(b, schema);
        dsrc_buf_add(b, " AND type = 'shadow')");
    }
}

/* Prepare `sql`; on failure fill err. */
static dsrc_status sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                              const char *what, dsrc_error *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sq_fail(err, db, rc, what);
    }
    return DSRC_OK;
}

/* Prepare the text built in `q` like sq_prepare(), then free it and empty
 * `q`; a `q` that ran out of memory is an error (*st = NULL). */
static dsrc_status sq_prepare_buf(sqlite3 *db, dsrc_buf *q, sqlite3_stmt **st,
                                  const char *what, dsrc_error *err)
{
    dsrc_status s;

    if (q->failed) {
        *st = NULL;
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    } else {
        s = sq_prepare(db, q->s, st, what, err);
    }
    free(q->s);
    memset(q, 0, sizeof *q);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Declared types                                                            */

typedef enum sq_affinity {
    SQ_AFF_INTEGER,
    SQ_AFF_TEXT,
    SQ_AFF_BLOB,
    SQ_AFF_REAL,
    SQ_AFF_NUMERIC
} sq_affinity;

static int sq_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* SQLite's column affinity rules (datatype3.html, section 3.1). */
static sq_affinity sq_affinity_of(const char *decl)
{
    if (!decl || !*decl)
        return SQ_AFF_BLOB;
    if (sq_contains_ci(decl, "INT"))
        return SQ_AFF_INTEGER;
    if (sq_contains_ci(decl, "CHAR") || sq_contains_ci(decl, "CLOB") ||
        sq_contains_ci(decl, "TEXT"))
        return SQ_AFF_TEXT;
    if (sq_contains_ci(decl, "BLOB"))
        return SQ_AFF_BLOB;
    if (sq_contains_ci(decl, "REAL") || sq_contains_ci(decl, "FLOA") ||
        sq_contains_ci(decl, "DOUB"))
        return SQ_AFF_REAL;
    return SQ_AFF_NUMERIC;
}

/* True when the first word of `decl` (up to a space or '(') is `word`. */
static int sq_first_word_is(const char *decl, const char *word)
{
    size_t n = 0;
    if (!decl)
        return 0;
    while (decl[n] && decl[n] != ' ' && decl[n] != '(' && decl[n] != '\t')
        n++;
    return n == strlen(word) && strncasecmp(decl, word, n) == 0;
}

static int sq_decl_is_bool(const char *decl)
{
    return sq_first_word_is(decl, "BOOLEAN") || sq_first_word_is(decl, "BOOL");
}

static int sq_decl_is_time(const char *decl)
{
    return sq_first_word_is(decl, "DATE") || sq_first_word_is(decl, "DATETIME") ||
           sq_first_word_is(decl, "TIMESTAMP") || sq_first_word_is(decl, "TIMESTAMPTZ");
}

static int sq_decl_is_json(const char *decl)
{
    return sq_first_word_is(decl, "JSON") || sq_first_word_is(decl, "JSONB");
}

/* The SDK type a column's values are reported as.  A column without a
 * declared type (typical for view expressions) is reported as TEXT: its
 * values carry their own dynamic types. */
static dsrc_type sq_type_of(const char *decl)
{
    if (!decl || !*decl)
        return DSRC_T_TEXT;
    if (sq_decl_is_bool(decl))
        return DSRC_T_BOOL;
    if (sq_decl_is_time(decl))
        return DSRC_T_TIMESTAMP;
    if (sq_decl_is_json(decl))
        return DSRC_T_JSON;
    switch (sq_affinity_of(decl)) {
    case SQ_AFF_INTEGER: return DSRC_T_INT64;
    case SQ_AFF_REAL: return DSRC_T_DOUBLE;
    case SQ_AFF_BLOB: return DSRC_T_BYTES;
    case SQ_AFF_TEXT:
    case SQ_AFF_NUMERIC:
    default: return DSRC_T_TEXT;
    }
}

/* ------------------------------------------------------------------------ */
/* Columns of a table                                                        */

typedef struct sq_cols {
    dsrc_column *v;
    char **decl;     /* declared type per column (owned; also native_type) */
    size_t n, cap;
    int failed;
} sq_cols;

static void sq_cols_free(sq_cols *c)
{
    size_t i;
    for (i = 0; i < c->n; i++) {
        free((char *)c->v[i].name);
        free(c->decl[i]);
        free((char *)c->v[i].default_value);
    }
    free(c->v);
    free(c->decl);
    memset(c, 0, sizeof *c);
}

/* Append one column from a table_xinfo-shaped row: name, type, notnull,
 * dflt_value, pk starting at column `base` of `st`. */
static void sq_cols_add(sq_cols *c, sqlite3_stmt *st, int base)
{
    dsrc_column *col;
    const char *name = (const char *)sqlite3_column_text(st, base);
    const char *decl = (const char *)sqlite3_column_text(st, base + 1);
    const char *dflt = (const char *)sqlite3_column_text(st, base + 3);

    if (c->failed)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        dsrc_column *v = realloc(c->v, cap * sizeof *v);
        char **d;
        if (!v) {
            c->failed = 1;
            return;
        }
        c->v = v;
        d = realloc(c->decl, cap * sizeof *d);
        if (!d) {
            c->failed = 1;
            return;
        }
        c->decl = d;
        c->cap = cap;
    }
    col = &c->v[c->n];
    memset(col, 0, sizeof *col);
    col->name = dsrc_strdup(name ? name : "");
    c->decl[c->n] = dsrc_strdup(decl ? decl : "");
    col->default_value = dflt ? dsrc_strdup(dflt) : NULL;
    if (!col->name || !c->decl[c->n] || (dflt && !col->default_value)) {
        free((char *)col->name);
        free(c->decl[c->n]);
        free((char *)col->default_value);
        c->failed = 1;
        return;
    }
    col->native_type = c->decl[c->n];
    col->type = sq_type_of(c->decl[c->n]);
    col->nullable = sqlite3_column_int(st, base + 2) ? 0 : 1;
    col->primary_key = sqlite3_column_int(st, base + 4);
    c->n++;
}

/* An INTEGER PRIMARY KEY is the rowid: it is never NULL, whatever the
 * catalog's notnull flag says. */
static void sq_cols_fix_rowid(sq_cols *c)
{
    size_t i, n_pk = 0, pk = 0;
    for (i = 0; i < c->n; i++) {
        if (c->v[i].primary_key > 0) {
            n_pk++;
            pk = i;
        }
    }
    if (n_pk == 1 && strcasecmp(c->decl[pk], "INTEGER") == 0)
        c->v[pk].nullable = 0;
}

/* The column query: table_xinfo when available (hidden column 1 = hidden
 * columns of virtual tables, which cannot be selected by name reliably). */
static int sq_have_xinfo(void)
{
    return sqlite3_libversion_number() >= 3026000;
}

/* Read the columns of schema.table into `cols`. */
static dsrc_status sq_read_columns(sqlite3 *db, const char *schema, const char *table,
                                   sq_cols *cols, dsrc_error *err)
{
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;
    const char *sql = sq_have_xinfo()
        ? "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1, ?2)"
          " WHERE hidden <> 1 ORDER BY cid"
        : "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1, ?2)"
          " ORDER BY cid";

    s = sq_prepare(db, sql, &st, "reading columns", err);
    if (s != DSRC_OK)
        return s;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        sq_cols_add(cols, st, 0);
    if (rc != SQLITE_DONE) {
        s = sq_fail(err, db, rc, "reading columns");
        sqlite3_finalize(st);
        return s;
    }
    sqlite3_finalize(st);
    if (cols->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    sq_cols_fix_rowid(cols);
    return DSRC_OK;
}

static ssize_t sq_cols_find(const sq_cols *c, const char *name)
{
    size_t i;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return (ssize_t)i;
    for (i = 0; i < c->n; i++)
        if (strcasecmp(c->v[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Resolving item paths                                                      */

/* 1 when `name` is a schema of the connection, 0 when not, -1 on error. */
static int sq_schema_exists(sqlite3 *db, const char *name, size_t len)
{
    sqlite3_stmt *st;
    int rc, found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_database_list WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        found = 1;
    else if (rc != SQLITE_DONE)
        found = -1;
    sqlite3_finalize(st);
    return found;
}

/* True when `sql`, a CREATE statement from sqlite_master (may be NULL),
 * makes a virtual table. */
static int sq_is_virtual(const char *sql)
{
    return sql && strncasecmp(sql, "CREATE VIRTUAL", 14) == 0;
}

/* Read a row of sqlite_master's type, name and sql, in columns 0 to 2 of
 * `st`: returns the name (NULL in a row without one) and sets *is_view and
 * *sql (NULL when there is none).  The strings live until the next step. */
static const char *sq_master_row(sqlite3_stmt *st, int *is_view, const char **sql)
{
    const char *type = (const char *)sqlite3_column_text(st, 0);

    *is_view = type && strcmp(type, "view") == 0;
    *sql = (const char *)sqlite3_column_text(st, 2);
    return (const char *)sqlite3_column_text(st, 1);
}

/* A table or view found in a schema. */
typedef struct sq_obj {
    char *schema;
    char *name;
    char *sql;       /* the CREATE statement; may be NULL */
    int is_view;
    int is_virtual;
} sq_obj;

static void sq_obj_free(sq_obj *o)
{
    free(o->schema);
    free(o->name);
    free(o->sql);
    memset(o, 0, sizeof *o);
}

/* Split `path` into schema and object name, both decoded: "s/t" when s is a
 * schema, else "main" and the whole path.  Allocates both. */
static dsrc_status sq_split(sqlite3 *db, const char *path, char **schema, char **name,
                            dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status s = dsrc_path_split(path, 2, &sp, err);

    *schema = *name = NULL;
    if (s != DSRC_OK)
        return s;
    if (sp.n == 2 && sp.part[0][0]) {
        int ex = sq_schema_exists(db, sp.part[0], strlen(sp.part[0]));
        if (ex < 0) {
            dsrc_path_free(&sp);
            return sq_fail(err, db, sqlite3_errcode(db), "looking up the schema");
        }
        if (ex) {
            *schema = dsrc_strdup(sp.part[0]);
            *name = dsrc_strdup(sp.part[1]);
        }
    }
    dsrc_path_free(&sp);
    if (!*schema && !*name) {
        s = dsrc_path_split(path, 1, &sp, err);
        if (s != DSRC_OK)
            return s;
        *schema = dsrc_strdup("main");
        *name = dsrc_strdup(sp.part[0]);
        dsrc_path_free(&sp);
    }
    if (!*schema || !*name) {
        free(*schema);
        free(*name);
        *schema = *name = NULL;
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

/* Find the table or view addressed by `path`.  DSRC_E_NOT_FOUND names it. */
static dsrc_status sq_resolve(sqlite3 *db, const char *path, sq_obj *o, dsrc_error *err)
{
    dsrc_buf q = {0};
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;

    memset(o, 0, sizeof *o);
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "no item given: name a table or view, e.g. \"main/orders\"");
    s = sq_split(db, path, &o->schema, &o->name, err);
    if (s != DSRC_OK)
        return s;
    if (!*o->name) {
        s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                           "'%s' is a schema, not a table or view", path);
        sq_obj_free(o);
        return s;
    }
    /* Exact match first, then SQLite's own case-insensitive match. */
    dsrc_buf_add(&q, "SELECT type, name, sql FROM ");
    sq_buf_ident(&q, o->schema);
    dsrc_buf_add(&q, ".sqlite_master WHERE type IN ('table','view') AND name = ?1 COLLATE NOCASE"
                   " ORDER BY name = ?1 DESC LIMIT 1");
    s = sq_prepare_buf(db, &q, &st, "looking up the item", err);
    if (s != DSRC_OK) {
        sq_obj_free(o);
        return s;
    }
    sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *sql, *name = sq_master_row(st, &o->is_view, &sql);
        char *n2 = dsrc_strdup(name ? name : "");
        free(o->name);
        o->name = n2;
        o->sql = dsrc_strdup(sql);
        o->is_virtual = sq_is_virtual(sql);
        sqlite3_finalize(st);
        if (!o->name || (sql && !o->sql)) {
            sq_obj_free(o);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        }
        return DSRC_OK;
    }
    if (rc == SQLITE_DONE)
        s = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                           "no table or view '%s' in schema '%s'", o->name, o->schema);
    else
        s = sq_fail(err, db, rc, "looking up the item");
    sqlite3_finalize(st);
    sq_obj_free(o);
    return s;
}

/* Exact row count of a table; -1 when it cannot be counted (e.g. a virtual
 * table whose module is not available). */
static int64_t sq_count(sqlite3 *db, const char *schema, const char *name)
{
    dsrc_buf q = {0};
    sqlite3_stmt *st;
    int64_t n = -1;

    dsrc_buf_add(&q, "SELECT count(*) FROM ");
    sq_buf_ident(&q, schema);
    dsrc_buf_add(&q, ".");
    sq_buf_ident(&q, name);
    if (q.failed || sqlite3_prepare_v2(db, q.s, -1, &st, NULL) != SQLITE_OK) {
        free(q.s);
        return -1;
    }
    free(q.s);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Options and open                                                          */

static const dsrc_option sq_options[] = {
    {"path", DSRC_OPT_PATH, DSRC_OPT_REQUIRED, NULL, NULL,
     "the SQLite database file (opened read-only, never created)", {NULL, NULL}},
    {"busy_timeout", DSRC_OPT_DURATION, 0, "5s", NULL,
     "how long to wait for a lock held by a writer", {NULL, NULL}},
    {"immutable", DSRC_OPT_BOOL, 0, "false", NULL,
     "treat the file as unchangeable (no locking; only for read-only media)", {NULL, NULL}},
    DSRC_OPTION_END
};

/* A "file:" URI for `path` with mode=ro (and immutable=1). */
static char *sq_uri(const char *path, int immutable)
{
    static const char hex[] = "0123456789ABCDEF";
    dsrc_buf b = {0};
    const unsigned char *p;

    dsrc_buf_add(&b, "file:");
    for (p = (const unsigned char *)path; *p; p++) {
        if (isalnum(*p) || strchr("/-._~", *p)) {
            dsrc_buf_addn(&b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            dsrc_buf_addn(&b, e, 3);
        }
    }
    dsrc_buf_add(&b, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static dsrc_status sq_open(const dsrc_ctx *ctx, const dsrc_open_params *params,
                           dsrc_conn **out, dsrc_error *err)
{
    const char *path, *v;
    long long busy_ms = 5000;
    int immutable = 0, rc;
    struct stat sb;
    char *uri, *end;
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    dsrc_conn *c;

    *out = NULL;
    path = dsrc_kv_get(params->options, params->n_options, "path");
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "option 'path' is required: the SQLite database file");
    v = dsrc_kv_get(params->options, params->n_options, "busy_timeout");
    if (v) {
        errno = 0;
        busy_ms = strtoll(v, &end, 10);
        if (errno || end == v || *end || busy_ms < 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'busy_timeout': '%s' is not a duration in milliseconds",
                                  v);
        if (busy_ms > INT_MAX)
            busy_ms = INT_MAX;
    }
    v = dsrc_kv_get(params->options, params->n_options, "immutable");
    if (v) {
        if (strcmp(v, "true") == 0)
            immutable = 1;
        else if (strcmp(v, "false") != 0)
            return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                                  "option 'immutable': '%s' is not true or false", v);
    }

    /* Never let SQLite create a file: check it is there first. */
    if (stat(path, &sb) != 0) {
        int e = errno;
        char code[16];
        snprintf(code, sizeof code, "%d", e);
        if (e == ENOENT || e == ENOTDIR)
            return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, code,
                                  "database file '%s' does not exist", path);
        if (e == EACCES)
            return dsrc_error_set(err, DSRC_E_PERMISSION, 0, code,
                                  "database file '%s': %s", path, strerror(e));
        return dsrc_error_set(err, DSRC_E_UNREACHABLE, 1, code,
                              "database file '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode))
        return dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, NULL,
                              "'%s' is a directory, not an SQLite database file", path);

    uri = sq_uri(path, immutable);
    if (!uri)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    rc = sqlite3_open_v2(uri, &db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        dsrc_status s;
        int retryable;
        s = sq_status(rc, &retryable);
        if ((rc & 0xff) == SQLITE_CANTOPEN)
            s = access(path, R_OK) != 0 ? DSRC_E_PERMISSION : DSRC_E_UNREACHABLE;
        s = dsrc_error_set(err, s, retryable, sq_code_name(rc),
                           "cannot open database '%s': %s", path,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return s;
    }
    sqlite3_extended_result_codes(db, 0);
    sqlite3_busy_timeout(db, (int)busy_ms);

    /* Opening is lazy: read the schema now so a file that is not a
     * database is refused here, not on first use. */
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            rc = SQLITE_OK;
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_OK) {
        dsrc_status s;
        if ((rc & 0xff) == SQLITE_NOTADB)
            s = dsrc_error_set(err, DSRC_E_INVALID_CONFIG, 0, sq_code_name(rc),
                               "'%s' is not an SQLite database (%s)", path,
                               sqlite3_errmsg(db));
        else
            s = sq_fail(err, db, rc, "reading the database schema");
        sqlite3_close(db);
        return s;
    }

    c = calloc(1, sizeof *c);
    if (!c || !(c->path = dsrc_strdup(path))) {
        free(c);
        sqlite3_close(db);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    c->db = db;
    if (sq_host && sq_host->log)
        sq_host->log(ctx, DSRC_LOG_DEBUG, "opened '%s' read-only%s", path,
                     immutable ? " (immutable)" : "");
    *out = c;
    return DSRC_OK;
}

static void sq_close(dsrc_conn *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

static dsrc_status sq_cancel(dsrc_conn *c)
{
    if (c && c->db)
        sqlite3_interrupt(c->db);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* ping                                                                      */

static dsrc_status sq_ping(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_ping_info *info,
                           dsrc_error *err)
{
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;

    s = sq_prepare(c->db, "SELECT 1", &st, "ping", err);
    if (s != DSRC_OK)
        return s;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 1) {
        s = sq_fail(err, c->db, rc == SQLITE_ROW ? SQLITE_ERROR : rc, "ping");
        sqlite3_finalize(st);
        return s;
    }
    sqlite3_finalize(st);
    if (info) {
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, role))
            info->role = DSRC_ROLE_STANDALONE;
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, server_version))
            snprintf(info->server_version, sizeof info->server_version, "SQLite %s",
                     sqlite3_libversion());
        if (DSRC_HAS_MEMBER(info, dsrc_ping_info, endpoint))
            snprintf(info->endpoint, sizeof info->endpoint, "%s", c->path);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* storage                                                                   */

/* One integer from a single-row query; -1 when it fails. */
static int64_t sq_int_query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The main database: page_count * page_size used, freelist_count *
 * page_size free, and the number of user tables. */
static dsrc_status sq_storage(const dsrc_ctx *ctx, dsrc_conn *c, dsrc_storage_info *info,
                              dsrc_error *err)
{
    int64_t pages, page_size, free_pages, tables;

    (void)ctx;
    page_size = sq_int_query(c->db, "PRAGMA main.page_size");
    pages = sq_int_query(c->db, "PRAGMA main.page_count");
    if (page_size <= 0 || pages < 0)
        return sq_fail(err, c->db, sqlite3_errcode(c->db) == SQLITE_OK
                                       ? SQLITE_ERROR : sqlite3_errcode(c->db),
                       "reading the database size");
    free_pages = sq_int_query(c->db, "PRAGMA main.freelist_count");
    tables = sq_int_query(c->db, "SELECT count(*) FROM main.sqlite_master WHERE type = "
                                 "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, used_bytes))
        info->used_bytes = pages * page_size;
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, free_bytes))
        info->free_bytes = free_pages >= 0 ? free_pages * page_size : -1;
    if (DSRC_HAS_MEMBER(info, dsrc_storage_info, items))
        info->items = tables;
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

static void sq_item_init(dsrc_item *it)
{
    memset(it, 0, sizeof *it);
    it->struct_size = sizeof *it;
    it->rows = -1;
    it->size_bytes = -1;
    it->mtime = -1;
}

static dsrc_status sq_list_schemas(const dsrc_ctx *ctx, dsrc_conn *c,
                                   const dsrc_item_sink *sink, dsrc_error *err)
{
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;

    s = sq_prepare(c->db, "SELECT name, file FROM pragma_database_list WHERE name <> 'temp'"
                          " ORDER BY seq", &st, "listing schemas", err);
    if (s != DSRC_OK)
        return s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *file = (const char *)sqlite3_column_text(st, 1);
        struct stat sb;
        dsrc_item it;
        char *path;
        int stop;

        if (!name)
            continue;
        if (!(path = dsrc_path_join2(name, NULL))) {
            sqlite3_finalize(st);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        }
        sq_item_init(&it);
        it.path = path;
        it.name = name;
        it.kind = DSRC_ITEM_SCHEMA;
        it.container = 1;
        if (file && *file && stat(file, &sb) == 0) {
            it.size_bytes = (int64_t)sb.st_size;
            it.mtime = (int64_t)sb.st_mtime;
        }
        stop = sink->item(sink->user, &it) != 0;
        free(path);
        if (stop) {
            sqlite3_finalize(st);
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                  "listing stopped by the receiver");
        }
        if (dsrc_cancelled(sq_host, ctx)) {
            sqlite3_finalize(st);
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing cancelled");
        }
    }
    if (rc != SQLITE_DONE)
        s = sq_fail(err, c->db, rc, "listing schemas");
    sqlite3_finalize(st);
    return s;
}

/* The names of the tables and views of one schema, in name order. */
typedef struct sq_names {
    char **name;
    char **sql;
    int *is_view;
    size_t n, cap;
} sq_names;

static void sq_names_free(sq_names *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        free(l->name[i]);
        free(l->sql[i]);
    }
    free(l->name);
    free(l->sql);
    free(l->is_view);
    memset(l, 0, sizeof *l);
}

static int sq_names_add(sq_names *l, const char *name, const char *sql, int is_view)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **a = realloc(l->name, cap * sizeof *a);
        char **b;
        int *v;
        if (!a)
            return -1;
        l->name = a;
        b = realloc(l->sql, cap * sizeof *b);
        if (!b)
            return -1;
        l->sql = b;
        v = realloc(l->is_view, cap * sizeof *v);
        if (!v)
            return -1;
        l->is_view = v;
        l->cap = cap;
    }
    l->name[l->n] = dsrc_strdup(name);
    l->sql[l->n] = dsrc_strdup(sql);
    l->is_view[l->n] = is_view;
    if (!l->name[l->n] || (sql && !l->sql[l->n])) {
        free(l->name[l->n]);
        free(l->sql[l->n]);
        return -1;
    }
    l->n++;
    return 0;
}

/* Read the tables and views of `schema` (internal ones only when asked). */
static dsrc_status sq_read_names(sqlite3 *db, const char *schema, int include_system,
                                 sq_names *out, dsrc_error *err)
{
    dsrc_buf q = {0};
    sqlite3_stmt *st;
    dsrc_status s;
    int rc;

    dsrc_buf_add(&q, "SELECT type, name, sql FROM ");
    sq_buf_ident(&q, schema);
    dsrc_buf_add(&q, ".sqlite_master WHERE type IN ('table','view')");
    if (!include_system)
        sq_buf_user_tables(&q, "name", schema);
    dsrc_buf_add(&q, " ORDER BY name");
    s = sq_prepare_buf(db, &q, &st, "listing tables", err);
    if (s != DSRC_OK)
        return s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sql, *name;
        int is_view;
        if (!(name = sq_master_row(st, &is_view, &sql)))
            continue;
        if (sq_names_add(out, name, sql, is_view) != 0) {
            sqlite3_finalize(st);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        }
    }
    if (rc != SQLITE_DONE)
        s = sq_fail(err, db, rc, "listing tables");
    sqlite3_finalize(st);
    return s;
}

static dsrc_status sq_list_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                               const dsrc_item_sink *sink, dsrc_error *err)
{
    sq_names names = {0};
    dsrc_status s;
    size_t i;
    char *schema;
    int ex;

    if (!sink || !sink->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item receiver");
    if (!path || !*path || strcmp(path, "/") == 0)
        return sq_list_schemas(ctx, c, sink, err);

    s = dsrc_path_container(path, &schema, err);
    if (s != DSRC_OK)
        return s;
    ex = schema ? sq_schema_exists(c->db, schema, strlen(schema)) : 0;
    if (ex < 0) {
        free(schema);
        return sq_fail(err, c->db, sqlite3_errcode(c->db), "looking up the schema");
    }
    if (!ex) {
        sq_obj o;
        free(schema);
        s = sq_resolve(c->db, path, &o, err);
        if (s != DSRC_OK)
            return s;
        s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                           "'%s' is a %s: it has nothing to list (describe or fetch it)",
                           path, o.is_view ? "view" : "table");
        sq_obj_free(&o);
        return s;
    }
    s = sq_read_names(c->db, schema, 0, &names, err);
    for (i = 0; s == DSRC_OK && i < names.n; i++) {
        dsrc_item it;
        char *ipath = dsrc_path_join2(schema, names.name[i]);
        if (!ipath) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        if (dsrc_cancelled(sq_host, ctx)) {
            free(ipath);
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing cancelled");
            break;
        }
        sq_item_init(&it);
        it.path = ipath;
        it.name = names.name[i];
        it.kind = names.is_view[i] ? DSRC_ITEM_VIEW : DSRC_ITEM_TABLE;
        it.rows = names.is_view[i] ? -1 : sq_count(c->db, schema, names.name[i]);
        if (sq_is_virtual(names.sql[i]))
            it.comment = "virtual table";
        if (sink->item(sink->user, &it) != 0)
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing stopped by the receiver");
        free(ipath);
    }
    sq_names_free(&names);
    free(schema);
    return s;
}

/* ------------------------------------------------------------------------ */
/* describe and discover                                                     */

/* Comma-separated index names of a table ("" when none); NULL on error.
 * Indexes SQLite creates itself (sqlite_autoindex_*, for UNIQUE and
 * PRIMARY KEY constraints) are included: they are real indexes. */
static char *sq_index_list(sqlite3 *db, const char *schema, const char *table)
{
    dsrc_buf b = {0};
    sqlite3_stmt *st;
    int rc, first = 1;

    dsrc_buf_add(&b, "");
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_index_list(?1, ?2) ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        free(b.s);
        return NULL;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        if (!n)
            continue;
        if (!first)
            dsrc_buf_add(&b, ",");
        dsrc_buf_add(&b, n);
        first = 0;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* Deliver one metadata record. */
static int sq_emit_meta(const dsrc_meta_sink *sink, const char *schema, const char *name,
                        int is_view, int is_virtual, int64_t rows, const char *sql,
                        const char *indexes, sq_cols *cols)
{
    dsrc_item it;
    dsrc_metadata md;
    dsrc_kv props[5];
    char rowbuf[32];
    size_t np = 0;
    int r;
    char *path = dsrc_path_join2(schema, name);

    if (!path)
        return -1;
    sq_cols_fix_rowid(cols);
    sq_item_init(&it);
    it.path = path;
    it.name = name;
    it.kind = is_view ? DSRC_ITEM_VIEW : DSRC_ITEM_TABLE;
    it.rows = rows;
    if (is_virtual)
        it.comment = "virtual table";

    props[np].key = "type";
    props[np++].value = is_view ? "view" : (is_virtual ? "virtual table" : "table");
    if (rows >= 0) {
        snprintf(rowbuf, sizeof rowbuf, "%" PRId64, rows);
        props[np].key = "rows";
        props[np++].value = rowbuf;
    }
    if (sql) {
        props[np].key = "sql";
        props[np++].value = sql;
    }
    if (indexes && *indexes) {
        props[np].key = "indexes";
        props[np++].value = indexes;
    }

    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = cols->n ? cols->v : NULL;
    md.n_columns = cols->n;
    md.properties = props;
    md.n_properties = np;
    r = sink->metadata(sink->user, &md);
    free(path);
    return r;
}

/* The status of sq_emit_meta()'s answer `r` in the call `what`
 * ("describe", "discover"): DSRC_OK for 0, out of memory below 0, stopped
 * by the receiver above 0. */
static dsrc_status sq_meta_status(int r, const char *what, dsrc_error *err)
{
    if (r < 0)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (r > 0)
        return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s stopped by the receiver",
                              what);
    return DSRC_OK;
}

static dsrc_status sq_describe_run(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                                   const dsrc_meta_sink *sink, dsrc_error *err)
{
    sq_obj o;
    sq_cols cols = {0};
    dsrc_status s;
    char *indexes = NULL;
    int64_t rows = -1;
    int r;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "describe: no metadata receiver");
    s = sq_resolve(c->db, item, &o, err);
    if (s != DSRC_OK)
        return s;
    s = sq_read_columns(c->db, o.schema, o.name, &cols, err);
    if (s != DSRC_OK) {
        sq_obj_free(&o);
        sq_cols_free(&cols);
        return s;
    }
    if (!o.is_view) {
        rows = sq_count(c->db, o.schema, o.name);
        indexes = sq_index_list(c->db, o.schema, o.name);
    }
    if (dsrc_cancelled(sq_host, ctx)) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "describe cancelled");
    } else {
        r = sq_emit_meta(sink, o.schema, o.name, o.is_view, o.is_virtual, rows, o.sql,
                         indexes, &cols);
        s = sq_meta_status(r, "describe", err);
    }
    free(indexes);
    sq_cols_free(&cols);
    sq_obj_free(&o);
    return s;
}

/* Discover one schema one table at a time: used only when the batched
 * query fails, which happens when a view's definition is broken (it names
 * a table that no longer exists).  Broken items are reported with no
 * columns and an "error" property. */
static dsrc_status sq_discover_slow(const dsrc_ctx *ctx, dsrc_conn *c, const char *schema,
                                    int include_system, const dsrc_meta_sink *sink,
                                    dsrc_error *err)
{
    sq_names names = {0};
    dsrc_status s;
    size_t i;

    s = sq_read_names(c->db, schema, include_system, &names, err);
    for (i = 0; s == DSRC_OK && i < names.n; i++) {
        sq_cols cols = {0};
        dsrc_error e2;
        int r, virt;

        if (dsrc_cancelled(sq_host, ctx)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover cancelled");
            break;
        }
        memset(&e2, 0, sizeof e2);
        e2.struct_size = sizeof e2;
        virt = sq_is_virtual(names.sql[i]);
        if (sq_read_columns(c->db, schema, names.name[i], &cols, &e2) != DSRC_OK) {
            if (e2.status == DSRC_E_CANCELLED || e2.status == DSRC_E_INTERNAL ||
                e2.status == DSRC_E_TIMEOUT) {
                s = dsrc_error_set(err, e2.status, e2.retryable, e2.backend_code, "%s",
                                   e2.message ? e2.message : "discover failed");
                if (e2.release)
                    e2.release(&e2);
                sq_cols_free(&cols);
                break;
            }
            if (sq_host && sq_host->log)
                sq_host->log(ctx, DSRC_LOG_WARNING, "discover: skipping the columns of %s/%s: %s",
                             schema, names.name[i], e2.message ? e2.message : "failed");
            sq_cols_free(&cols);
        }
        if (e2.release)
            e2.release(&e2);
        r = sq_emit_meta(sink, schema, names.name[i], names.is_view[i], virt, -1,
                         names.sql[i], NULL, &cols);
        sq_cols_free(&cols);
        s = sq_meta_status(r, "discover", err);
    }
    sq_names_free(&names);
    return s;
}

/* One query for the whole schema: sqlite_master joined with the
 * table_xinfo pragma, grouped per table in the output. */
static dsrc_status sq_discover_schema(const dsrc_ctx *ctx, dsrc_conn *c, const char *schema,
                                      int include_system, const dsrc_meta_sink *sink,
                                      dsrc_error *err)
{
    dsrc_buf q = {0};
    sqlite3_stmt *st;
    dsrc_status s = DSRC_OK;
    sq_cols cols = {0};
    char *cur = NULL, *cur_sql = NULL;
    int cur_view = 0, rc, r, emitted = 0;
    unsigned long nrow = 0;

    dsrc_buf_add(&q, "SELECT m.type, m.name, m.sql, p.name, p.type, p.\"notnull\", p.dflt_value,"
                   " p.pk FROM ");
    sq_buf_ident(&q, schema);
    dsrc_buf_add(&q, ".sqlite_master AS m LEFT JOIN ");
    dsrc_buf_add(&q, sq_have_xinfo() ? "pragma_table_xinfo" : "pragma_table_info");
    dsrc_buf_add(&q, "(m.name, ?1) AS p");
    if (sq_have_xinfo())
        dsrc_buf_add(&q, " ON p.hidden <> 1");
    dsrc_buf_add(&q, " WHERE m.type IN ('table','view')");
    if (!include_system)
        sq_buf_user_tables(&q, "m.name", schema);
    dsrc_buf_add(&q, " ORDER BY m.name, p.cid");
    s = sq_prepare_buf(c->db, &q, &st, "discover", err);
    if (s != DSRC_OK)
        return s;
    sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sql, *name;
        int is_view;

        if (!(name = sq_master_row(st, &is_view, &sql)))
            continue;
        if ((++nrow % SQ_CANCEL_EVERY) == 0 && dsrc_cancelled(sq_host, ctx)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover cancelled");
            break;
        }
        if (!cur || strcmp(cur, name) != 0) {
            if (cur) {
                r = sq_emit_meta(sink, schema, cur, cur_view, sq_is_virtual(cur_sql), -1,
                                 cur_sql, NULL, &cols);
                emitted = 1;
                sq_cols_free(&cols);
                free(cur);
                free(cur_sql);
                cur = cur_sql = NULL;
                s = sq_meta_status(r, "discover", err);
                if (s != DSRC_OK)
                    break;
            }
            cur = dsrc_strdup(name);
            cur_sql = dsrc_strdup(sql);
            cur_view = is_view;
            if (!cur || (sql && !cur_sql)) {
                s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
                break;
            }
        }
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            sq_cols_add(&cols, st, 3);
        if (cols.failed) {
            s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
    }
    if (s == DSRC_OK && rc != SQLITE_DONE) {
        int code = rc & 0xff;
        sqlite3_finalize(st);
        sq_cols_free(&cols);
        free(cur);
        free(cur_sql);
        /* A broken view makes the batched query fail as a whole; fall
         * back to one table at a time unless something was already sent. */
        if (code == SQLITE_ERROR && !emitted)
            return sq_discover_slow(ctx, c, schema, include_system, sink, err);
        return sq_fail(err, c->db, rc, "discover");
    }
    if (s == DSRC_OK && cur) {
        r = sq_emit_meta(sink, schema, cur, cur_view, sq_is_virtual(cur_sql), -1, cur_sql,
                         NULL, &cols);
        s = sq_meta_status(r, "discover", err);
    }
    sqlite3_finalize(st);
    sq_cols_free(&cols);
    free(cur);
    free(cur_sql);
    return s;
}

static dsrc_status sq_discover_run(const dsrc_ctx *ctx, dsrc_conn *c,
                                   const dsrc_discover_req *req, const dsrc_meta_sink *sink,
                                   dsrc_error *err)
{
    const char *path = req ? req->path : NULL;
    int include_system = req ? req->include_system : 0;
    sq_names schemas = {0};
    sqlite3_stmt *st;
    dsrc_status s;
    size_t i;
    int rc;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    if (path && *path) {
        char *one;
        int ex;
        s = dsrc_path_container(path, &one, err);
        if (s != DSRC_OK)
            return s;
        ex = one ? sq_schema_exists(c->db, one, strlen(one)) : 0;
        if (ex <= 0) {
            free(one);
            if (ex < 0)
                return sq_fail(err, c->db, sqlite3_errcode(c->db), "looking up the schema");
            return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, NULL,
                                  "no schema '%s' in this database", path);
        }
        {
            int bad = sq_names_add(&schemas, one, NULL, 0) != 0;
            free(one);
            if (bad) {
                sq_names_free(&schemas);
                return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            }
        }
    } else {
        s = sq_prepare(c->db, "SELECT name FROM pragma_database_list ORDER BY seq", &st,
                       "listing schemas", err);
        if (s != DSRC_OK)
            return s;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 0);
            if (!n || (!include_system && strcmp(n, "temp") == 0))
                continue;
            if (sq_names_add(&schemas, n, NULL, 0) != 0) {
                sqlite3_finalize(st);
                sq_names_free(&schemas);
                return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            sq_names_free(&schemas);
            return sq_fail(err, c->db, rc, "listing schemas");
        }
    }
    s = DSRC_OK;
    for (i = 0; s == DSRC_OK && i < schemas.n; i++)
        s = sq_discover_schema(ctx, c, schemas.name[i], include_system, sink, err);
    sq_names_free(&schemas);
    return s;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

/* True when a text value looks like an ISO 8601 date ("YYYY-MM-DD..."). */
static int sq_looks_like_date(const unsigned char *s, int n)
{
    static const char pat[] = "dddd-dd-dd";
    int i;
    if (n < 10)
        return 0;
    for (i = 0; i < 10; i++) {
        if (pat[i] == 'd' ? !isdigit(s[i]) : s[i] != '-')
            return 0;
    }
    return 1;
}

/* Fill a cell from result column `i`; `cls` is the column's declared type
 * class: 'b' boolean, 't' date/time, 'j' JSON, 0 other.  A boolean column
 * turns only the integers 0 and 1 into booleans: any other value (2, -1,
 * 'yes') is sent as stored. */
static void sq_cell(sqlite3_stmt *st, int i, char cls, dsrc_cell *cell)
{
    int t = sqlite3_column_type(st, i);
    memset(cell, 0, sizeof *cell);
    switch (t) {
    case SQLITE_INTEGER:
        cell->type = DSRC_T_INT64;
        cell->v.i = sqlite3_column_int64(st, i);
        if (cls == 'b' && (cell->v.i == 0 || cell->v.i == 1)) {
            cell->type = DSRC_T_BOOL;
            cell->v.b = cell->v.i == 1;
        }
        break;
    case SQLITE_FLOAT:
        cell->type = DSRC_T_DOUBLE;
        cell->v.d = sqlite3_column_double(st, i);
        break;
    case SQLITE_TEXT: {
        const unsigned char *p = sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (!p) {
            cell->type = DSRC_T_NULL;
            break;
        }
        cell->type = (cls == 't' && sq_looks_like_date(p, n)) ? DSRC_T_TIMESTAMP
                     : cls == 'j'                             ? DSRC_T_JSON
                                                              : DSRC_T_TEXT;
        cell->v.s.ptr = (const char *)p;
        cell->v.s.len = (size_t)n;
        break;
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = p ? (const char *)p : "";
        cell->v.s.len = (size_t)n;
        break;
    }
    case SQLITE_NULL:
    default:
        cell->type = DSRC_T_NULL;
        break;
    }
}

/* Append the condition that ends an incremental fetch with a limit at a
 * whole group of equal cursor values: the rows up to the highest of the
 * first `limit` (parameter `lim`) cursor values after the cursor value
 * (parameter ?1) when `after`, all of them even when that value is shared,
 * so that the next fetch skips nothing; and, in a fetch from the start,
 * every row whose cursor is NULL, beyond the limit (never afterwards). */
static void sq_add_tie_bound(dsrc_buf *q, const sq_obj *o, const char *cur, int after,
                             const char *lim)
{
    dsrc_buf_add(q, after ? " AND (" : " WHERE (");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " IS NULL OR ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " <= (SELECT max(");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, ") FROM (SELECT ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " FROM ");
    sq_buf_ident(q, o->schema);
    dsrc_buf_add(q, ".");
    sq_buf_ident(q, o->name);
    dsrc_buf_add(q, " WHERE ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, after ? " > ?1" : " IS NOT NULL");
    dsrc_buf_add(q, " ORDER BY ");
    sq_buf_ident(q, cur);
    dsrc_buf_add(q, " LIMIT ");
    dsrc_buf_add(q, lim);
    dsrc_buf_add(q, ")))");
}

/* Bind the cursor value following the cursor column's affinity. */
static void sq_bind_cursor(sqlite3_stmt *st, int idx, const char *value, sq_affinity aff)
{
    char *end;
    if ((aff == SQ_AFF_INTEGER || aff == SQ_AFF_NUMERIC) && *value) {
        long long v;
        errno = 0;
        v = strtoll(value, &end, 10);
        if (!errno && *end == '\0' && !isspace((unsigned char)*value)) {
            sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
            return;
        }
    }
    if ((aff == SQ_AFF_REAL || aff == SQ_AFF_NUMERIC || aff == SQ_AFF_INTEGER) && *value) {
        double d;
        errno = 0;
        d = strtod(value, &end);
        if (!errno && *end == '\0' && !isspace((unsigned char)*value)) {
            sqlite3_bind_double(st, idx, d);
            return;
        }
    }
    sqlite3_bind_text(st, idx, value, -1, SQLITE_TRANSIENT);
}

/* Record the cursor column's value of the current row as text.  Returns 0,
 * or -1 when the value cannot serve as a cursor (blob, too long). */
static int sq_cursor_text(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        snprintf(out, outsz, "%lld", (long long)sqlite3_column_int64(st, i));
        return 0;
    case SQLITE_FLOAT: {
        /* The shortest form that reads back as the same double. */
        double d = sqlite3_column_double(st, i);
        snprintf(out, outsz, "%.15g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, outsz, "%.17g", d);
        return 0;
    }
    case SQLITE_TEXT: {
        const unsigned char *p = sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (!p || (size_t)n >= outsz || memchr(p, '\0', (size_t)n))
            return -1;
        memcpy(out, p, (size_t)n);
        out[n] = '\0';
        return 0;
    }
    default:
        return -1;
    }
}

static dsrc_status sq_fetch_run(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                                const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                                dsrc_fetch_result *result, dsrc_error *err)
{
    sq_obj o;
    sq_cols cols = {0};
    dsrc_buf q = {0};
    sqlite3_stmt *st = NULL;
    dsrc_status s;
    size_t n_out, i, *map = NULL;
    dsrc_column *out_cols = NULL;
    dsrc_cell *cells = NULL;
    char *cls = NULL;
    ssize_t cursor_col = -1;
    int cursor_sel = -1, rc, nparam = 0;
    uint64_t nrows = 0;
    dsrc_cursor_max *cm = NULL;

    (void)bytes;
    if (!req || !rows || !rows->row || !rows->schema)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: no request or no row receiver");
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "sqlite tables have no raw form: fetch rows or CSV");
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    s = sq_resolve(c->db, req->item, &o, err);
    if (s != DSRC_OK)
        return s;
    s = sq_read_columns(c->db, o.schema, o.name, &cols, err);
    if (s != DSRC_OK)
        goto out;
    if (cols.n == 0) {
        s = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "'%s' has no columns", req->item);
        goto out;
    }

    /* Which columns, in which order. */
    n_out = req->n_columns ? req->n_columns : cols.n;
    map = calloc(n_out, sizeof *map);
    out_cols = calloc(n_out, sizeof *out_cols);
    cells = calloc(n_out, sizeof *cells);
    cls = calloc(n_out + 1, 1);
    cm = malloc(sizeof *cm);
    if (!map || !out_cols || !cells || !cls || !cm) {
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    dsrc_cursor_max_init(cm, req->cursor_field, "column", "binary or");
    for (i = 0; i < n_out; i++) {
        ssize_t k;
        if (req->n_columns) {
            if (!req->columns[i]) {
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "fetch: column %zu of the list is NULL", i + 1);
                goto out;
            }
            k = sq_cols_find(&cols, req->columns[i]);
            if (k < 0) {
                s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                   "no column '%s' in '%s'", req->columns[i], req->item);
                goto out;
            }
        } else {
            k = (ssize_t)i;
        }
        map[i] = (size_t)k;
        out_cols[i] = cols.v[k];
        cls[i] = sq_decl_is_bool(cols.decl[k])   ? 'b'
                 : sq_decl_is_time(cols.decl[k]) ? 't'
                 : sq_decl_is_json(cols.decl[k]) ? 'j'
                                                 : 0;
    }
    if (req->cursor_field) {
        cursor_col = sq_cols_find(&cols, req->cursor_field);
        if (cursor_col < 0) {
            s = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                               "no cursor column '%s' in '%s'", req->cursor_field, req->item);
            goto out;
        }
    }

    /* The query: every identifier quoted, every value bound. */
    dsrc_buf_add(&q, "SELECT ");
    for (i = 0; i < n_out; i++) {
        if (i)
            dsrc_buf_add(&q, ", ");
        sq_buf_ident(&q, cols.v[map[i]].name);
    }
    if (cursor_col >= 0) {
        dsrc_buf_add(&q, ", ");
        sq_buf_ident(&q, cols.v[cursor_col].name);
        cursor_sel = (int)n_out;
    }
    dsrc_buf_add(&q, " FROM ");
    sq_buf_ident(&q, o.schema);
    dsrc_buf_add(&q, ".");
    sq_buf_ident(&q, o.name);
    if (cursor_col >= 0) {
        if (req->cursor_value) {
            dsrc_buf_add(&q, " WHERE ");
            sq_buf_ident(&q, cols.v[cursor_col].name);
            dsrc_buf_add(&q, " > ?1");
            nparam = 1;
        }
        if (req->limit > 0)
            sq_add_tie_bound(&q, &o, cols.v[cursor_col].name, nparam, nparam ? "?2" : "?1");
        dsrc_buf_add(&q, " ORDER BY ");
        sq_buf_ident(&q, cols.v[cursor_col].name);
    }
    if (req->limit >= 0 && !(cursor_col >= 0 && req->limit > 0))
        dsrc_buf_add(&q, nparam ? " LIMIT ?2" : " LIMIT ?1");
    s = sq_prepare_buf(c->db, &q, &st, "preparing the fetch", err);
    if (s != DSRC_OK)
        goto out;
    if (nparam)
        sq_bind_cursor(st, 1, req->cursor_value, sq_affinity_of(cols.decl[cursor_col]));
    if (req->limit >= 0)
        sqlite3_bind_int64(st, nparam + 1, (sqlite3_int64)req->limit);

    if (rows->schema(rows->user, out_cols, n_out) != 0) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        goto out;
    }
    for (;;) {
        if ((nrows % SQ_CANCEL_EVERY) == 0 && dsrc_cancelled(sq_host, ctx)) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch cancelled after %" PRIu64
                               " rows", nrows);
            break;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            s = sq_fail(err, c->db, rc, "fetch");
            break;
        }
        for (i = 0; i < n_out; i++)
            sq_cell(st, (int)i, cls[i], &cells[i]);
        if (rows->row(rows->user, cells, n_out) != 0) {
            s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
            break;
        }
        nrows++;
        if (cursor_sel >= 0 && sqlite3_column_type(st, cursor_sel) != SQLITE_NULL) {
            /* Rows arrive in cursor order: the last non-NULL value sent is
             * the highest. */
            dsrc_cursor_max_note(cm, sq_cursor_text(st, cursor_sel, cm->value,
                                                    DSRC_CURSOR_MAX) == 0);
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
        if (cursor_col >= 0)
            dsrc_cursor_max_report(cm, sq_host, ctx, result);
    }
out:
    if (st)
        sqlite3_finalize(st);
    free(q.s);
    free(map);
    free(out_cols);
    free(cells);
    free(cls);
    free(cm);
    sq_cols_free(&cols);
    sq_obj_free(&o);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Operations, each watching the host's cancellation flag while it runs      */

static dsrc_status sq_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                           const dsrc_item_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_list_run(ctx, c, path, sink, err));
}

static dsrc_status sq_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                               const dsrc_meta_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_describe_run(ctx, c, item, sink, err));
}

static dsrc_status sq_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                               const dsrc_meta_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_discover_run(ctx, c, req, sink, err));
}

static dsrc_status sq_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                            const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                            dsrc_fetch_result *result, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_fetch_run(ctx, c, req, rows, bytes, result, err));
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

static const dsrc_driver sq_driver = {
    .abi_version = DSRC_ABI_VERSION,
    .name = "sqlite",
    .version = SQ_VERSION,
    .description = "SQLite database files, opened read-only",
    .capabilities = DSRC_CAP_CANCEL | DSRC_CAP_DISCOVER | DSRC_CAP_CURSOR | DSRC_CAP_STORAGE,
    .options = sq_options,
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .list = sq_list,
    .describe = sq_describe,
    .discover = sq_discover,
    .fetch = sq_fetch,
    .cancel = sq_cancel,
    .storage = sq_storage,
};

DSRC_EXPORT dsrc_status dsrc_plugin_init(uint32_t host_abi_version, const dsrc_host *host,
                                         dsrc_driver *drv, dsrc_error *err)
{
    dsrc_status s = dsrc_plugin_check("sqlite", host_abi_version, drv, err);

    if (s != DSRC_OK)
        return s;
    sq_host = host;
    dsrc_driver_fill(drv, &sq_driver);
    return DSRC_OK;
}

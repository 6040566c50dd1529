/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq_catalog.c -- quoting, columns, item paths, list, describe and discover.
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
 * Discover reads a whole schema in two queries (sqlite_master joined with
 * the table_xinfo pragma, and with the foreign_key_list pragma); every
 * identifier in a query is quoted, every value bound.
 */
#include "sq.h"

#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* Quoting                                                                   */

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
void sq_buf_ident(dsrc_buf *b, const char *id)
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

/* ------------------------------------------------------------------------ */
/* Columns of a table                                                        */

void sq_cols_free(sq_cols *c)
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
dsrc_status sq_read_columns(sqlite3 *db, const char *schema, const char *table,
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

ssize_t sq_cols_find(const sq_cols *c, const char *name)
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

void sq_obj_free(sq_obj *o)
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
dsrc_status sq_resolve(sqlite3 *db, const char *path, sq_obj *o, dsrc_error *err)
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

/* The foreign keys of the tables of `schema` (only of `table` when it is
 * not NULL) into `fks`, each owned by its table's name, in the order of
 * the foreign_key_list pragma (the key's columns in key order).  A key
 * that names no parent columns references the parent's primary key. */
static dsrc_status sq_read_fks(sqlite3 *db, const char *schema, const char *table,
                               dsrc_fk_list *fks, dsrc_error *err)
{
    dsrc_buf q = {0};
    sqlite3_stmt *st;
    dsrc_status s;
    const char *ref[2];
    int rc, cur_id = -1;
    char *cur = NULL;

    dsrc_buf_add(&q, "SELECT m.name, f.id, f.\"table\", f.\"from\", COALESCE(f.\"to\","
                     " (SELECT p.name FROM pragma_table_info(f.\"table\", ?1) AS p"
                     " WHERE p.pk = f.seq + 1)), f.on_update, f.on_delete FROM ");
    sq_buf_ident(&q, schema);
    dsrc_buf_add(&q, ".sqlite_master AS m JOIN pragma_foreign_key_list(m.name, ?1) AS f"
                     " WHERE m.type = 'table'");
    if (table)
        dsrc_buf_add(&q, " AND m.name = ?2");
    dsrc_buf_add(&q, " ORDER BY m.name, f.id, f.seq");
    s = sq_prepare_buf(db, &q, &st, "reading foreign keys", err);
    if (s != DSRC_OK)
        return s;
    sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);
    if (table)
        sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    ref[0] = schema;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *owner = (const char *)sqlite3_column_text(st, 0);
        int id = sqlite3_column_int(st, 1);
        if (!owner)
            continue;
        if (!cur || id != cur_id || strcmp(cur, owner) != 0) {
            free(cur);
            cur = dsrc_strdup(owner);
            cur_id = id;
            ref[1] = (const char *)sqlite3_column_text(st, 2);
            dsrc_fk_begin(fks, owner, NULL, ref, ref[1] ? 2 : 1,
                          (const char *)sqlite3_column_text(st, 5),
                          (const char *)sqlite3_column_text(st, 6));
        }
        dsrc_fk_column(fks, (const char *)sqlite3_column_text(st, 3),
                       (const char *)sqlite3_column_text(st, 4));
        if (!cur || fks->failed)
            break;
    }
    free(cur);
    sqlite3_finalize(st);
    if (!cur && rc == SQLITE_ROW)
        fks->failed = 1;
    if (fks->failed || dsrc_fk_sort(fks) != 0)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(err, db, rc, "reading foreign keys");
    return DSRC_OK;
}

/* Deliver one metadata record, with the foreign keys `fks` holds for it. */
static int sq_emit_meta(const dsrc_meta_sink *sink, const char *schema, const char *name,
                        int is_view, int is_virtual, int64_t rows, const char *sql,
                        const char *indexes, sq_cols *cols, const dsrc_fk_list *fks)
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
    md.foreign_keys = dsrc_fk_find(fks, name, &md.n_foreign_keys);
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
    dsrc_fk_list fks = {0};
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
        s = sq_read_fks(c->db, o.schema, o.name, &fks, err);
    }
    if (s == DSRC_OK && dsrc_cancelled(sq_host, ctx)) {
        s = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "describe cancelled");
    } else if (s == DSRC_OK) {
        r = sq_emit_meta(sink, o.schema, o.name, o.is_view, o.is_virtual, rows, o.sql,
                         indexes, &cols, &fks);
        s = sq_meta_status(r, "describe", err);
    }
    dsrc_fk_free(&fks);
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
                                    const dsrc_discover_req *req, const dsrc_meta_sink *sink,
                                    const dsrc_fk_list *fks, dsrc_error *err)
{
    sq_names names = {0};
    dsrc_status s;
    size_t i;

    s = sq_read_names(c->db, schema, req ? req->include_system : 0, &names, err);
    dsrc_discover_count(req, 1 + (int64_t)names.n);
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
                         names.sql[i], NULL, &cols, fks);
        sq_cols_free(&cols);
        s = sq_meta_status(r, "discover", err);
    }
    sq_names_free(&names);
    return s;
}

/* Two queries for the whole schema: its foreign keys, then sqlite_master
 * joined with the table_xinfo pragma, grouped per table in the output. */
static dsrc_status sq_discover_schema(const dsrc_ctx *ctx, dsrc_conn *c, const char *schema,
                                      const dsrc_discover_req *req, const dsrc_meta_sink *sink,
                                      const dsrc_fk_list *fks, dsrc_error *err)
{
    int include_system = req ? req->include_system : 0;
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
    dsrc_discover_count(req, 1);
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
                                 cur_sql, NULL, &cols, fks);
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
            return sq_discover_slow(ctx, c, schema, req, sink, fks, err);
        return sq_fail(err, c->db, rc, "discover");
    }
    if (s == DSRC_OK && cur) {
        r = sq_emit_meta(sink, schema, cur, cur_view, sq_is_virtual(cur_sql), -1, cur_sql,
                         NULL, &cols, fks);
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
        dsrc_discover_count(req, 1);
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
    for (i = 0; s == DSRC_OK && i < schemas.n; i++) {
        dsrc_fk_list fks = {0};
        s = sq_read_fks(c->db, schemas.name[i], NULL, &fks, err);
        dsrc_discover_count(req, 1);
        if (s == DSRC_OK)
            s = sq_discover_schema(ctx, c, schemas.name[i], req, sink, &fks, err);
        dsrc_fk_free(&fks);
    }
    sq_names_free(&schemas);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Operations, each watching the host's cancellation flag while it runs      */

dsrc_status sq_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_list_run(ctx, c, path, sink, err));
}

dsrc_status sq_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_describe_run(ctx, c, item, sink, err));
}

dsrc_status sq_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    sq_watch(c->db, ctx);
    return sq_unwatch(c->db, sq_discover_run(ctx, c, req, sink, err));
}

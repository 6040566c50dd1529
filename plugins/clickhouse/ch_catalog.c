/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_catalog.c -- list, describe and discover for the clickhouse plugin.
 *
 * Everything comes from the system tables: system.databases for the root,
 * system.tables (engine, sorting key, primary key, partition key) joined to
 * the active parts of system.parts (rows, bytes on disk: MergeTree tables;
 * other engines have no parts and their counts stay unknown), and
 * system.columns.  describe and discover run the same statement: one query
 * for one table or for the whole server, its rows grouped by table as they
 * stream in (system.columns lists each table's columns together, in order).
 */
#include "ch.h"

#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Columns                                                                   */

void ch_cols_free(ch_cols *cols)
{
    size_t i;

    for (i = 0; i < cols->n; i++) {
        free(cols->v[i].name);
        free(cols->v[i].type);
    }
    free(cols->v);
    memset(cols, 0, sizeof *cols);
}

long ch_cols_find(const ch_cols *cols, const char *name)
{
    size_t i;

    for (i = 0; i < cols->n; i++)
        if (strcmp(cols->v[i].name, name) == 0)
            return (long)i;
    return -1;
}

typedef struct ch_colread {
    ch_cols *cols;
    int failed;
} ch_colread;

static int ch_colread_line(void *user, char *line, size_t len)
{
    ch_colread *r = user;
    char *f[3];
    size_t fl[3], k;
    ch_colinfo *ci;

    k = ch_tsv_split(line, len, f, fl, 3);
    if (k != 3)
        return r->failed = 1;
    if (r->cols->n == r->cols->cap) {
        size_t cap = r->cols->cap ? r->cols->cap * 2 : 16;
        ch_colinfo *v = realloc(r->cols->v, cap * sizeof *v);
        if (!v)
            return r->failed = 1;
        r->cols->v = v;
        r->cols->cap = cap;
    }
    ci = &r->cols->v[r->cols->n];
    f[0][ch_tsv_unescape(f[0], fl[0])] = '\0';
    f[1][ch_tsv_unescape(f[1], fl[1])] = '\0';
    f[2][ch_tsv_unescape(f[2], fl[2])] = '\0';
    ci->name = dsrc_strdup(f[0]);
    ci->type = dsrc_strdup(f[1]);
    ci->hidden = strcmp(f[2], "MATERIALIZED") == 0 || strcmp(f[2], "ALIAS") == 0;
    r->cols->n++;
    if (!ci->name || !ci->type)
        return r->failed = 1;
    return 0;
}

dsrc_status ch_read_columns(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                            const char *table, ch_cols *out, dsrc_error *err)
{
    dsrc_buf q = {0};
    ch_colread r = {out, 0};
    ch_lines l = {{0}, ch_colread_line, &r, 0};
    dsrc_status st;

    dsrc_buf_add(&q, "SELECT name, type, default_kind FROM system.columns WHERE database = ");
    ch_buf_literal(&q, db);
    dsrc_buf_add(&q, " AND table = ");
    ch_buf_literal(&q, table);
    dsrc_buf_add(&q, " FORMAT TabSeparated");
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = ch_query(ctx, c, q.s, ch_lines_feed, &l, "reading the columns", err);
    if (st == DSRC_OK)
        ch_lines_end(&l);
    else
        dsrc_buf_free(&l.pending);
    dsrc_buf_free(&q);
    if (st == DSRC_OK && r.failed)
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "reading the columns of '%s.%s': unexpected answer", db, table);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Item kinds                                                                */

static dsrc_item_kind ch_kind_of(const char *engine)
{
    if (strcmp(engine, "View") == 0)
        return DSRC_ITEM_VIEW;
    if (strcmp(engine, "MaterializedView") == 0)
        return DSRC_ITEM_MATERIALIZED_VIEW;
    return DSRC_ITEM_TABLE;
}

/* The system databases, listed only when asked for. */
static int ch_is_system_db(const char *db)
{
    return strcmp(db, "system") == 0;
}

/* The tables of system.tables with their parts' rows and bytes, as a
 * subquery yielding database, name, engine, sorting_key, primary_key,
 * partition_key, has_parts, rows, bytes; `where` filters system.tables. */
static void ch_buf_tables(dsrc_buf *q, const char *where_db, const char *where_table)
{
    dsrc_buf_add(q, "(SELECT database, name, engine, sorting_key, primary_key, partition_key,"
                    " has_parts, rows, bytes FROM (SELECT database, name, engine, sorting_key,"
                    " primary_key, partition_key FROM system.tables");
    if (where_db) {
        dsrc_buf_add(q, " WHERE database = ");
        ch_buf_literal(q, where_db);
        if (where_table) {
            dsrc_buf_add(q, " AND name = ");
            ch_buf_literal(q, where_table);
        }
    }
    dsrc_buf_add(q, ") ANY LEFT JOIN (SELECT database, table AS name, 1 AS has_parts,"
                    " sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts"
                    " WHERE active");
    if (where_db) {
        dsrc_buf_add(q, " AND database = ");
        ch_buf_literal(q, where_db);
        if (where_table) {
            dsrc_buf_add(q, " AND table = ");
            ch_buf_literal(q, where_table);
        }
    }
    dsrc_buf_add(q, " GROUP BY database, name) USING (database, name))");
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

typedef struct ch_listing {
    const dsrc_item_sink *sink;
    const char *db;          /* NULL: the root                              */
    size_t n;
    int failed, stopped;
} ch_listing;

static int ch_list_line(void *user, char *line, size_t len)
{
    ch_listing *ls = user;
    char *f[5], *path;
    size_t fl[5], k, i;
    dsrc_item it;
    int rc;

    k = ch_tsv_split(line, len, f, fl, 5);
    if (k != (ls->db ? 5u : 1u))
        return ls->failed = 1;
    for (i = 0; i < k; i++)
        f[i][ch_tsv_unescape(f[i], fl[i])] = '\0';
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.rows = it.size_bytes = it.mtime = -1;
    if (!ls->db) {
        path = dsrc_path_join2(f[0], NULL);
        it.kind = DSRC_ITEM_DATABASE;
        it.container = 1;
    } else {
        path = dsrc_path_join2(ls->db, f[0]);
        it.kind = ch_kind_of(f[1]);
        if (strcmp(f[2], "1") == 0) {
            it.rows = strtoll(f[3], NULL, 10);
            it.size_bytes = strtoll(f[4], NULL, 10);
        }
    }
    if (!path)
        return ls->failed = 1;
    it.path = path;
    it.name = f[0];
    rc = ls->sink->item(ls->sink->user, &it);
    free(path);
    ls->n++;
    if (rc)
        ls->stopped = 1;
    return rc;
}

/* 1 when database `db` exists, 0 when not; -1 with err set. */
static int ch_db_exists(const dsrc_ctx *ctx, dsrc_conn *c, const char *db, dsrc_error *err)
{
    dsrc_buf q = {0}, out = {0};
    int r;

    dsrc_buf_add(&q, "SELECT count() FROM system.databases WHERE name = ");
    ch_buf_literal(&q, db);
    dsrc_buf_add(&q, " FORMAT TabSeparated");
    r = ch_query_text(ctx, c, q.s ? q.s : "", &out, "list", err) == DSRC_OK
            ? (out.s && out.s[0] == '1')
            : -1;
    dsrc_buf_free(&q);
    dsrc_buf_free(&out);
    return r;
}

dsrc_status ch_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                    const dsrc_item_sink *sink, dsrc_error *err)
{
    ch_path p = {NULL, NULL};
    ch_listing ls;
    ch_lines l = {{0}, ch_list_line, &ls, 0};
    dsrc_buf q = {0};
    dsrc_status st;

    memset(&ls, 0, sizeof ls);
    ls.sink = sink;
    if (!path || !*path) {
        dsrc_buf_add(&q, "SELECT name FROM system.databases ORDER BY name FORMAT TabSeparated");
    } else {
        if ((st = ch_path_parse(c, path, 0, &p, err)) != DSRC_OK)
            return st;
        if (p.table) {
            dsrc_buf_add(&q, "SELECT count() FROM system.tables WHERE database = ");
            ch_buf_literal(&q, p.db);
            dsrc_buf_add(&q, " AND name = ");
            ch_buf_literal(&q, p.table);
            dsrc_buf_add(&q, " FORMAT TabSeparated");
            st = ch_query_text(ctx, c, q.s ? q.s : "", &q, "list", err);
            if (st == DSRC_OK)
                st = q.s && q.s[0] == '1'
                         ? dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                          "list: '%s' is a table, not a database", path)
                         : dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "60",
                                          "list: no database or table '%s'", path);
            dsrc_buf_free(&q);
            ch_path_free(&p);
            return st;
        }
        ls.db = p.db;
        dsrc_buf_add(&q, "SELECT name, engine, has_parts, rows, bytes FROM ");
        ch_buf_tables(&q, p.db, NULL);
        dsrc_buf_add(&q, " ORDER BY name FORMAT TabSeparated");
    }
    if (q.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    st = ch_query(ctx, c, q.s, ch_lines_feed, &l, "list", err);
    if (st == DSRC_OK)
        ch_lines_end(&l);
    if (ls.stopped)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "list: stopped by the receiver");
    else if (st == DSRC_OK && ls.failed)
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "list: unexpected answer");
    if (st == DSRC_OK && ls.db && ls.n == 0) {
        int e = ch_db_exists(ctx, c, ls.db, err);
        if (e < 0)
            st = err ? err->status : DSRC_E_BACKEND;
        else if (!e)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "81", "list: no database '%s'",
                                ls.db);
    }
out:
    dsrc_buf_free(&l.pending);
    dsrc_buf_free(&q);
    ch_path_free(&p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* describe and discover: one statement                                      */

/* The fields of one line of the catalog statement. */
enum {
    CH_F_DB, CH_F_TABLE, CH_F_NAME, CH_F_TYPE, CH_F_DKIND, CH_F_DEXPR, CH_F_COMMENT,
    CH_F_ENGINE, CH_F_SORT, CH_F_PK, CH_F_PART, CH_F_HAS_PARTS, CH_F_ROWS, CH_F_BYTES,
    CH_F_N
};

/* One table's metadata being gathered. */
typedef struct ch_meta {
    const dsrc_meta_sink *sink;
    const dsrc_discover_req *req;
    char *db, *table, *engine, *sort, *pk, *part;
    int64_t rows, bytes;
    dsrc_column *cols;
    char **strs;             /* each column's owned strings, 4 per column   */
    size_t n, cap;
    size_t tables;
    int failed, stopped;
} ch_meta;

static void ch_meta_clear(ch_meta *m)
{
    size_t i;

    for (i = 0; i < m->n * 4; i++)
        free(m->strs[i]);
    m->n = 0;
    free(m->db);
    free(m->table);
    free(m->engine);
    free(m->sort);
    free(m->pk);
    free(m->part);
    m->db = m->table = m->engine = m->sort = m->pk = m->part = NULL;
}

/* Position of `name` in the primary key expression "a, `b c`, d": 1-based,
 * 0 when it is not a plain column of it. */
static int ch_pk_position(const char *pk, const char *name)
{
    dsrc_buf quoted = {0};
    const char *s = pk;
    int pos = 1, r = 0;
    size_t nl = strlen(name);

    ch_buf_ident(&quoted, name);
    while (s && *s) {
        size_t n = strcspn(s, ",");
        const char *e = s + n;
        while (*s == ' ')
            s++;
        n = (size_t)(e - s);
        while (n && s[n - 1] == ' ')
            n--;
        if ((n == nl && strncmp(s, name, n) == 0) ||
            (quoted.s && n == quoted.len && strncmp(s, quoted.s, n) == 0)) {
            r = pos;
            break;
        }
        pos++;
        s = *e ? e + 1 : NULL;
    }
    dsrc_buf_free(&quoted);
    return r;
}

/* Deliver the table gathered in `m`; returns nonzero to stop. */
static int ch_meta_emit(ch_meta *m)
{
    dsrc_item it;
    dsrc_metadata md;
    dsrc_kv props[5];
    size_t np = 0;
    char bytes[32];
    char *path;
    int rc;

    if (!m->table)
        return 0;
    path = dsrc_path_join2(m->db, m->table);
    if (!path)
        return m->failed = 1;
    memset(&it, 0, sizeof it);
    it.struct_size = sizeof it;
    it.path = path;
    it.name = m->table;
    it.kind = ch_kind_of(m->engine);
    it.rows = m->rows;
    it.size_bytes = m->bytes;
    it.mtime = -1;
    props[np].key = "engine";
    props[np++].value = m->engine;
    if (*m->sort) {
        props[np].key = "sorting_key";
        props[np++].value = m->sort;
    }
    if (*m->pk) {
        props[np].key = "primary_key";
        props[np++].value = m->pk;
    }
    if (*m->part) {
        props[np].key = "partition_key";
        props[np++].value = m->part;
    }
    if (m->bytes >= 0) {
        snprintf(bytes, sizeof bytes, "%" PRId64, m->bytes);
        props[np].key = "bytes_on_disk";
        props[np++].value = bytes;
    }
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = m->cols;
    md.n_columns = m->n;
    md.properties = props;
    md.n_properties = np;
    rc = m->sink->metadata(m->sink->user, &md);
    free(path);
    m->tables++;
    if (rc)
        m->stopped = 1;
    return rc;
}

static int ch_meta_line(void *user, char *line, size_t len)
{
    ch_meta *m = user;
    char *f[CH_F_N];
    size_t fl[CH_F_N], k, i;
    dsrc_column *col;
    ch_type t;

    k = ch_tsv_split(line, len, f, fl, CH_F_N);
    if (k != CH_F_N)
        return m->failed = 1;
    for (i = 0; i < k; i++)
        f[i][ch_tsv_unescape(f[i], fl[i])] = '\0';
    if (!m->table || strcmp(m->db, f[CH_F_DB]) != 0 || strcmp(m->table, f[CH_F_TABLE]) != 0) {
        if (ch_meta_emit(m))
            return 1;
        ch_meta_clear(m);
        m->db = dsrc_strdup(f[CH_F_DB]);
        m->table = dsrc_strdup(f[CH_F_TABLE]);
        m->engine = dsrc_strdup(f[CH_F_ENGINE]);
        m->sort = dsrc_strdup(f[CH_F_SORT]);
        m->pk = dsrc_strdup(f[CH_F_PK]);
        m->part = dsrc_strdup(f[CH_F_PART]);
        if (!m->db || !m->table || !m->engine || !m->sort || !m->pk || !m->part)
            return m->failed = 1;
        m->rows = m->bytes = -1;
        if (strcmp(f[CH_F_HAS_PARTS], "1") == 0) {
            m->rows = strtoll(f[CH_F_ROWS], NULL, 10);
            m->bytes = strtoll(f[CH_F_BYTES], NULL, 10);
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        dsrc_column *v = realloc(m->cols, cap * sizeof *v);
        char **s;
        if (!v)
            return m->failed = 1;
        m->cols = v;
        s = realloc(m->strs, cap * 4 * sizeof *s);
        if (!s)
            return m->failed = 1;
        m->strs = s;
        m->cap = cap;
    }
    col = &m->cols[m->n];
    memset(col, 0, sizeof *col);
    m->strs[m->n * 4] = dsrc_strdup(f[CH_F_NAME]);
    m->strs[m->n * 4 + 1] = dsrc_strdup(f[CH_F_TYPE]);
    m->strs[m->n * 4 + 2] = *f[CH_F_DKIND] ? dsrc_strdup(f[CH_F_DEXPR]) : NULL;
    m->strs[m->n * 4 + 3] = *f[CH_F_COMMENT] ? dsrc_strdup(f[CH_F_COMMENT]) : NULL;
    m->n++;
    if (!m->strs[m->n * 4 - 4] || !m->strs[m->n * 4 - 3])
        return m->failed = 1;
    t = ch_type_of(f[CH_F_TYPE]);
    col->name = m->strs[m->n * 4 - 4];
    col->native_type = m->strs[m->n * 4 - 3];
    col->default_value = m->strs[m->n * 4 - 2];
    col->comment = m->strs[m->n * 4 - 1];
    col->type = t.type;
    col->nullable = t.nullable;
    col->primary_key = ch_pk_position(m->pk, col->name);
    return 0;
}

/* Run the catalog statement for one table (db and table), one database
 * (table NULL) or the server (both NULL), the metadata to `sink`. */
static dsrc_status ch_catalog(const dsrc_ctx *ctx, dsrc_conn *c, const char *db,
                              const char *table, int include_system,
                              const dsrc_meta_sink *sink, size_t *tables, const char *what,
                              dsrc_error *err)
{
    ch_meta m;
    ch_lines l = {{0}, ch_meta_line, &m, 0};
    dsrc_buf q = {0};
    dsrc_status st;

    memset(&m, 0, sizeof m);
    m.sink = sink;
    dsrc_buf_add(&q, "SELECT database, table, c.name, type, default_kind, default_expression,"
                     " comment, engine, sorting_key, primary_key, partition_key, has_parts,"
                     " rows, bytes FROM (SELECT database, table, name, type, default_kind,"
                     " default_expression, comment FROM system.columns");
    if (db) {
        dsrc_buf_add(&q, " WHERE database = ");
        ch_buf_literal(&q, db);
        if (table) {
            dsrc_buf_add(&q, " AND table = ");
            ch_buf_literal(&q, table);
        }
    } else if (!include_system) {
        dsrc_buf_add(&q, " WHERE database != 'system'");
    }
    dsrc_buf_add(&q, ") AS c ANY INNER JOIN (SELECT database, name AS table, engine,"
                     " sorting_key, primary_key, partition_key, has_parts, rows, bytes FROM ");
    ch_buf_tables(&q, db, table);
    dsrc_buf_add(&q, ") USING (database, table) FORMAT TabSeparated");
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = ch_query(ctx, c, q.s, ch_lines_feed, &l, what, err);
    if (st == DSRC_OK && !ch_lines_end(&l) && !m.failed)
        ch_meta_emit(&m);
    if (m.stopped)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s: stopped by the receiver",
                            what);
    else if (st == DSRC_OK && m.failed)
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "%s: unexpected answer", what);
    ch_meta_clear(&m);
    free(m.cols);
    free(m.strs);
    dsrc_buf_free(&l.pending);
    dsrc_buf_free(&q);
    *tables = m.tables;
    return st;
}

dsrc_status ch_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    ch_path p;
    size_t n = 0;
    dsrc_status st;

    if ((st = ch_path_parse(c, item, 1, &p, err)) != DSRC_OK)
        return st;
    st = ch_catalog(ctx, c, p.db, p.table, 1, sink, &n, "describe", err);
    if (st == DSRC_OK && n == 0)
        st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "60", "describe: no table or view '%s'",
                            item);
    ch_path_free(&p);
    return st;
}

dsrc_status ch_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                        const dsrc_meta_sink *sink, dsrc_error *err)
{
    ch_path p = {NULL, NULL};
    size_t n = 0;
    dsrc_status st;
    const char *path = req ? req->path : NULL;
    int sys = req ? req->include_system : 0;

    if (path && *path && (st = ch_path_parse(c, path, 0, &p, err)) != DSRC_OK)
        return st;
    if (p.db && ch_is_system_db(p.db))
        sys = 1;
    st = ch_catalog(ctx, c, p.db, p.table, sys, sink, &n, "discover", err);
    dsrc_discover_count(req, 1);
    ch_path_free(&p);
    return st;
}

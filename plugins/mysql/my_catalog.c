/*
 * my_catalog.c -- list, describe and discover for the mysql plugin, all
 * read from information_schema.
 *
 * discover() reads the whole catalog in a fixed number of queries: the
 * tables, the index columns and (on MariaDB) the json_valid() checks that
 * mark JSON columns are stored, the columns are streamed with
 * mysql_use_result(); all four are ordered by the binary value of schema
 * and table name, so one pass merges them and each table's metadata goes
 * to the sink as soon as its last column has arrived.
 */
#define _GNU_SOURCE
#include "my.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Types and small helpers                                                   */

dsrc_type mys_type_of_data_type(const char *dt, int is_json)
{
    static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "integer",
                                       "bigint", "year", "bit", "bool", "boolean"};
    static const char *const floats[] = {"float", "double", "real", "double precision"};
    static const char *const times[] = {"date", "datetime", "timestamp"};
    static const char *const bins[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob",
                                       "longblob", "geometry", "point", "linestring",
                                       "polygon", "multipoint", "multilinestring",
                                       "multipolygon", "geometrycollection"};
    size_t i;

    if (!dt)
        return DSRC_T_TEXT;
    if (is_json || strcasecmp(dt, "json") == 0)
        return DSRC_T_JSON;
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (strcasecmp(dt, ints[i]) == 0)
            return DSRC_T_INT64;
    for (i = 0; i < sizeof floats / sizeof floats[0]; i++)
        if (strcasecmp(dt, floats[i]) == 0)
            return DSRC_T_DOUBLE;
    for (i = 0; i < sizeof times / sizeof times[0]; i++)
        if (strcasecmp(dt, times[i]) == 0)
            return DSRC_T_TIMESTAMP;
    for (i = 0; i < sizeof bins / sizeof bins[0]; i++)
        if (strcasecmp(dt, bins[i]) == 0)
            return DSRC_T_BYTES;
    /* decimal (exact, as text), char, varchar, text, enum, set, time,
     * uuid, inet6, ... */
    return DSRC_T_TEXT;
}

static int64_t mys_i64(const char *s, int64_t dflt)
{
    char *end;
    long long v;
    if (!s || !*s)
        return dflt;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return dflt;
    return (int64_t)v;
}

static dsrc_item_kind mys_kind_of(const char *table_type)
{
    if (!table_type)
        return DSRC_ITEM_TABLE;
    if (strcmp(table_type, "BASE TABLE") == 0 || strcmp(table_type, "SYSTEM VERSIONED") == 0 ||
        strcmp(table_type, "TEMPORARY") == 0)
        return DSRC_ITEM_TABLE;
    if (strcmp(table_type, "VIEW") == 0 || strcmp(table_type, "SYSTEM VIEW") == 0)
        return DSRC_ITEM_VIEW;
    return DSRC_ITEM_OTHER;
}

/* Engines that keep an exact row count. */
static int mys_exact_count_engine(const char *engine)
{
    return engine && (strcasecmp(engine, "MyISAM") == 0 || strcasecmp(engine, "Aria") == 0 ||
                      strcasecmp(engine, "MEMORY") == 0 || strcasecmp(engine, "MRG_MyISAM") == 0);
}

static int mys_cmp_key(const char *db1, const char *t1, const char *db2, const char *t2)
{
    int r = strcmp(db1 ? db1 : "", db2 ? db2 : "");
    return r ? r : strcmp(t1 ? t1 : "", t2 ? t2 : "");
}

/* The column named by a MariaDB check clause "json_valid(`col`)", malloc'd
 * with doubled backticks undone; NULL when the clause is something else. */
static char *mys_json_check_column(const char *clause)
{
    static const char pre[] = "json_valid(`";
    size_t n, i, j;
    char *out;

    if (!clause || strncasecmp(clause, pre, sizeof pre - 1) != 0)
        return NULL;
    clause += sizeof pre - 1;
    n = strlen(clause);
    if (n < 2 || strcmp(clause + n - 2, "`)") != 0)
        return NULL;
    n -= 2;
    out = malloc(n + 1);
    if (!out)
        return NULL;
    for (i = j = 0; i < n; i++) {
        if (clause[i] == '`') {
            if (i + 1 < n && clause[i + 1] == '`')
                i++;
            else {
                free(out);
                return NULL; /* not a single quoted identifier */
            }
        }
        out[j++] = clause[i];
    }
    out[j] = '\0';
    return out;
}

/* ------------------------------------------------------------------------ */
/* Columns                                                                   */

void mys_cols_free(mys_cols *cols)
{
    size_t i;
    for (i = 0; i < cols->n; i++) {
        mys_colinfo *c = &cols->v[i];
        free(c->name);
        free(c->data_type);
        free(c->column_type);
        free(c->default_value);
        free(c->key);
        free(c->extra);
        free(c->comment);
    }
    free(cols->v);
    memset(cols, 0, sizeof *cols);
}

long mys_cols_find(const mys_cols *cols, const char *name)
{
    size_t i;
    for (i = 0; i < cols->n; i++)
        if (strcmp(cols->v[i].name, name) == 0)
            return (long)i;
    for (i = 0; i < cols->n; i++)
        if (strcasecmp(cols->v[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Append a column from a row holding COLUMN_NAME, DATA_TYPE, COLUMN_TYPE,
 * COLUMN_DEFAULT, IS_NULLABLE, COLUMN_KEY, EXTRA, COLUMN_COMMENT from
 * index `base`.  MariaDB writes a default as an expression (strings
 * quoted) and the implicit default of a nullable column as NULL: that is
 * "no default", as MySQL reports it.  Returns 0 or -1 when out of memory. */
static int mys_cols_add(mys_cols *cols, MYSQL_ROW row, int base, int mariadb)
{
    mys_colinfo *c;
    const char *def = row[base + 3];

    if (mariadb && def && strcmp(def, "NULL") == 0)
        def = NULL;

    if (cols->n == cols->cap) {
        size_t cap = cols->cap ? cols->cap * 2 : 16;
        mys_colinfo *v = realloc(cols->v, cap * sizeof *v);
        if (!v)
            return -1;
        cols->v = v;
        cols->cap = cap;
    }
    c = &cols->v[cols->n];
    memset(c, 0, sizeof *c);
    c->name = strdup(row[base] ? row[base] : "");
    c->data_type = strdup(row[base + 1] ? row[base + 1] : "");
    c->column_type = strdup(row[base + 2] ? row[base + 2] : "");
    c->default_value = def ? strdup(def) : NULL;
    c->nullable = row[base + 4] ? strcmp(row[base + 4], "YES") == 0 : -1;
    c->key = strdup(row[base + 5] ? row[base + 5] : "");
    c->extra = strdup(row[base + 6] ? row[base + 6] : "");
    c->comment = strdup(row[base + 7] ? row[base + 7] : "");
    cols->n++;
    if (!c->name || !c->data_type || !c->column_type || (def && !c->default_value) ||
        !c->key || !c->extra || !c->comment)
        return -1;
    return 0;
}

#define MYS_COL_FIELDS                                                                       \
    "COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_KEY, EXTRA, "   \
    "COLUMN_COMMENT"

/* The WHERE condition for one table of information_schema. */
static void mys_buf_where_table(dsrc_buf *q, MYSQL *my, const char *schema_col, const char *db,
                                const char *table)
{
    dsrc_buf_add(q, " WHERE ");
    dsrc_buf_add(q, schema_col);
    dsrc_buf_add(q, " = ");
    mys_buf_literal(q, my, db);
    dsrc_buf_add(q, " AND TABLE_NAME = ");
    mys_buf_literal(q, my, table);
}

/* Read the columns of db.table with their primary key positions and, when
 * `indexes` is not NULL, the table's index names (comma-separated,
 * malloc'd). */
static dsrc_status mys_read_columns_idx(dsrc_conn *c, const char *db, const char *table,
                                        mys_cols *out, char **indexes, dsrc_error *err)
{
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;
    dsrc_buf idx = {0};
    char last_index[256] = "";

    memset(out, 0, sizeof *out);
    if (indexes)
        *indexes = NULL;
    dsrc_buf_add(&q, "SELECT " MYS_COL_FIELDS " FROM information_schema.COLUMNS");
    mys_buf_where_table(&q, c->my, "TABLE_SCHEMA", db, table);
    dsrc_buf_add(&q, " ORDER BY ORDINAL_POSITION");
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = mys_query_store(c, q.s, q.len, &res, "reading the columns", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        return st;
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        if (mys_cols_add(out, row, 0, c->is_mariadb) != 0) {
            mysql_free_result(res);
            mys_cols_free(out);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        }
    }
    if (res)
        mysql_free_result(res);
    if (out->n == 0)
        return DSRC_OK;

    /* Primary key positions and index names. */
    dsrc_buf_add(&q, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM"
                    " information_schema.STATISTICS");
    mys_buf_where_table(&q, c->my, "TABLE_SCHEMA", db, table);
    dsrc_buf_add(&q, " ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX");
    if (q.failed) {
        dsrc_buf_free(&q);
        mys_cols_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = mys_query_store(c, q.s, q.len, &res, "reading the indexes", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK) {
        mys_cols_free(out);
        return st;
    }
    dsrc_buf_add(&idx, "");
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        if (!row[0])
            continue;
        if (strcmp(row[0], "PRIMARY") == 0 && row[2]) {
            long k = mys_cols_find(out, row[2]);
            if (k >= 0)
                out->v[k].pk = (int)mys_i64(row[1], 0);
        }
        if (strcmp(row[0], last_index) != 0) {
            if (idx.len)
                dsrc_buf_add(&idx, ",");
            dsrc_buf_add(&idx, row[0]);
            snprintf(last_index, sizeof last_index, "%s", row[0]);
        }
    }
    if (res)
        mysql_free_result(res);
    if (idx.failed) {
        dsrc_buf_free(&idx);
        mys_cols_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    if (indexes)
        *indexes = idx.s;
    else
        dsrc_buf_free(&idx);
    return DSRC_OK;
}

dsrc_status mys_read_columns(dsrc_conn *c, const char *db, const char *table, mys_cols *out,
                             dsrc_error *err)
{
    return mys_read_columns_idx(c, db, table, out, NULL, err);
}

dsrc_status mys_mark_json(dsrc_conn *c, const char *db, const char *table,
                                 mys_cols *cols, dsrc_error *err)
{
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;

    if (!c->is_mariadb || c->server_num < 100200 || cols->n == 0)
        return DSRC_OK;
    dsrc_buf_add(&q, "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS");
    mys_buf_where_table(&q, c->my, "CONSTRAINT_SCHEMA", db, table);
    dsrc_buf_add(&q, " AND CHECK_CLAUSE LIKE 'json\\_valid(%'");
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = mys_query_store(c, q.s, q.len, &res, "reading the check constraints", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        return st;
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        char *col = mys_json_check_column(row[0]);
        size_t i;
        if (!col)
            continue;
        for (i = 0; i < cols->n; i++)
            if (strcmp(cols->v[i].name, col) == 0)
                cols->v[i].is_json = 1;
        free(col);
    }
    if (res)
        mysql_free_result(res);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Metadata records                                                          */

/* What information_schema.TABLES says about one table. */
typedef struct mys_table {
    const char *db, *name, *type, *engine, *comment, *collation, *row_format;
    const char *rows, *data_length, *index_length, *mtime, *auto_increment, *created;
} mys_table;

#define MYS_TABLE_FIELDS                                                                     \
    "TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT, TABLE_COLLATION, "          \
    "ROW_FORMAT, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, "                                     \
    "UNIX_TIMESTAMP(COALESCE(UPDATE_TIME, CREATE_TIME)), AUTO_INCREMENT, "                    \
    "DATE_FORMAT(CREATE_TIME, '%Y-%m-%dT%H:%i:%sZ')"

static void mys_table_from_row(mys_table *t, MYSQL_ROW r)
{
    t->db = r[0];
    t->name = r[1];
    t->type = r[2];
    t->engine = r[3];
    t->comment = r[4];
    t->collation = r[5];
    t->row_format = r[6];
    t->rows = r[7];
    t->data_length = r[8];
    t->index_length = r[9];
    t->mtime = r[10];
    t->auto_increment = r[11];
    t->created = r[12];
}

static void mys_item_init(dsrc_item *it)
{
    memset(it, 0, sizeof *it);
    it->struct_size = sizeof *it;
    it->rows = -1;
    it->size_bytes = -1;
    it->mtime = -1;
}

/* Fill an item from a table row; `path` is owned by the caller. */
static void mys_item_of_table(dsrc_item *it, const mys_table *t, const char *path)
{
    dsrc_item_kind kind = mys_kind_of(t->type);
    int64_t data = mys_i64(t->data_length, -1), index = mys_i64(t->index_length, -1);

    mys_item_init(it);
    it->path = path;
    it->name = t->name;
    it->kind = kind;
    it->container = 0;
    if (kind != DSRC_ITEM_VIEW) {
        it->rows = mys_i64(t->rows, -1);
        it->rows_estimated = it->rows >= 0 && !mys_exact_count_engine(t->engine);
        if (data >= 0)
            it->size_bytes = data + (index > 0 ? index : 0);
    }
    it->mtime = mys_i64(t->mtime, -1);
    if (kind != DSRC_ITEM_VIEW && t->comment && *t->comment)
        it->comment = t->comment;
}

/* Properties owned in one place: keys and values that had to be built. */
typedef struct mys_props {
    dsrc_kv *kv;
    char **owned;
    size_t n, cap, n_owned, cap_owned;
    int failed;
} mys_props;

static void mys_props_add(mys_props *p, const char *key, const char *value)
{
    if (p->failed || !value)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        dsrc_kv *kv = realloc(p->kv, cap * sizeof *kv);
        if (!kv) {
            p->failed = 1;
            return;
        }
        p->kv = kv;
        p->cap = cap;
    }
    p->kv[p->n].key = key;
    p->kv[p->n].value = value;
    p->n++;
}

/* Keep `s` (malloc'd) until mys_props_free(); returns it (NULL on failure). */
static char *mys_props_own(mys_props *p, char *s)
{
    if (!s) {
        p->failed = 1;
        return NULL;
    }
    if (p->n_owned == p->cap_owned) {
        size_t cap = p->cap_owned ? p->cap_owned * 2 : 16;
        char **o = realloc(p->owned, cap * sizeof *o);
        if (!o) {
            free(s);
            p->failed = 1;
            return NULL;
        }
        p->owned = o;
        p->cap_owned = cap;
    }
    p->owned[p->n_owned++] = s;
    return s;
}

static void mys_props_free(mys_props *p)
{
    size_t i;
    for (i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->kv);
    memset(p, 0, sizeof *p);
}

/* Deliver one record: `t` may be NULL (a table information_schema lists
 * columns for but no longer shows), `cols` may be empty.  Returns the
 * sink's answer (0 continue), or -1 when out of memory. */
static int mys_emit(const dsrc_meta_sink *sink, const char *db, const char *name,
                    const mys_table *t, const mys_cols *cols, const char *indexes)
{
    dsrc_item it;
    dsrc_metadata md;
    dsrc_column *dc = NULL;
    mys_props props = {0};
    mys_table none;
    char *path = mys_path_join(db, name);
    size_t i;
    int r;

    if (!path)
        return -1;
    if (!t) {
        memset(&none, 0, sizeof none);
        none.db = db;
        none.name = name;
        t = &none;
    }
    mys_item_of_table(&it, t, path);
    if (cols->n) {
        dc = calloc(cols->n, sizeof *dc);
        if (!dc) {
            free(path);
            return -1;
        }
    }
    for (i = 0; i < cols->n; i++) {
        const mys_colinfo *ci = &cols->v[i];
        dc[i].name = ci->name;
        dc[i].type = mys_type_of_data_type(ci->data_type, ci->is_json);
        dc[i].native_type = ci->is_json ? "json" : ci->column_type;
        dc[i].nullable = ci->nullable;
        dc[i].primary_key = ci->pk;
        dc[i].default_value = ci->default_value;
        dc[i].comment = ci->comment && *ci->comment ? ci->comment : NULL;
    }

    mys_props_add(&props, "type", t->type);
    mys_props_add(&props, "engine", t->engine);
    mys_props_add(&props, "collation", t->collation);
    mys_props_add(&props, "row_format", t->row_format);
    if (mys_kind_of(t->type) != DSRC_ITEM_VIEW) {
        mys_props_add(&props, "rows", t->rows);
        mys_props_add(&props, "data_bytes", t->data_length);
        mys_props_add(&props, "index_bytes", t->index_length);
    }
    mys_props_add(&props, "auto_increment", t->auto_increment);
    mys_props_add(&props, "created", t->created);
    if (indexes && *indexes)
        mys_props_add(&props, "indexes", indexes);
    for (i = 0; i < cols->n; i++) {
        const mys_colinfo *ci = &cols->v[i];
        char *k;
        if (ci->key && *ci->key) {
            k = NULL;
            if (asprintf(&k, "column.%s.key", ci->name) < 0)
                k = NULL;
            if (mys_props_own(&props, k))
                mys_props_add(&props, k, ci->key);
        }
        if (ci->extra && *ci->extra) {
            k = NULL;
            if (asprintf(&k, "column.%s.extra", ci->name) < 0)
                k = NULL;
            if (mys_props_own(&props, k))
                mys_props_add(&props, k, ci->extra);
        }
    }
    if (props.failed) {
        mys_props_free(&props);
        free(dc);
        free(path);
        return -1;
    }

    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = dc;
    md.n_columns = cols->n;
    md.properties = props.kv;
    md.n_properties = props.n;
    r = sink->metadata(sink->user, &md);
    mys_props_free(&props);
    free(dc);
    free(path);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Lookups                                                                   */

/* 1 when database `db` exists (and is visible), 0 when not; -1 with err
 * filled on failure. */
static int mys_db_exists(dsrc_conn *c, const char *db, dsrc_error *err)
{
    dsrc_buf q = {0};
    MYSQL_RES *res;
    int found;

    dsrc_buf_add(&q, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ");
    mys_buf_literal(&q, c->my, db);
    if (q.failed) {
        dsrc_buf_free(&q);
        dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        return -1;
    }
    if (mys_query_store(c, q.s, q.len, &res, "looking up the database", err) != DSRC_OK) {
        dsrc_buf_free(&q);
        return -1;
    }
    dsrc_buf_free(&q);
    found = res && mysql_num_rows(res) > 0;
    if (res)
        mysql_free_result(res);
    return found;
}

/* The TABLES row of db.name (stored in *res; free it).  NOT_FOUND names
 * the item. */
static dsrc_status mys_find_table(dsrc_conn *c, const char *db, const char *name,
                                  const char *item, MYSQL_RES **res, MYSQL_ROW *row,
                                  dsrc_error *err)
{
    dsrc_buf q = {0};
    dsrc_status st;

    dsrc_buf_add(&q, "SELECT " MYS_TABLE_FIELDS " FROM information_schema.TABLES");
    mys_buf_where_table(&q, c->my, "TABLE_SCHEMA", db, name);
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = mys_query_store(c, q.s, q.len, res, "looking up the item", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        return st;
    *row = *res ? mysql_fetch_row(*res) : NULL;
    if (!*row) {
        int ex;
        if (*res)
            mysql_free_result(*res);
        *res = NULL;
        ex = mys_db_exists(c, db, err);
        if (ex < 0)
            return err ? err->status : DSRC_E_BACKEND;
        if (!ex)
            return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1049/42000",
                                  "no database '%s' (for '%s'), or no privilege to see it",
                                  db, item);
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1146/42S02",
                              "no table or view '%s' in database '%s' ('%s'), or no"
                              " privilege to see it", name, db, item);
    }
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

static dsrc_status mys_list_databases(const dsrc_ctx *ctx, dsrc_conn *c,
                                      const dsrc_item_sink *sink, dsrc_error *err)
{
    static const char q[] = "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM"
                            " information_schema.SCHEMATA ORDER BY SCHEMA_NAME";
    MYSQL_RES *res;
    MYSQL_ROW row;
    dsrc_status st;

    st = mys_query_store(c, q, sizeof q - 1, &res, "listing databases", err);
    if (st != DSRC_OK)
        return st;
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        dsrc_item it;
        if (!row[0])
            continue;
        mys_item_init(&it);
        it.path = row[0];
        it.name = row[0];
        it.kind = DSRC_ITEM_DATABASE;
        it.container = 1;
        it.comment = mys_is_system_db(row[0]) ? "system database" : NULL;
        if (sink->item(sink->user, &it) != 0) {
            mysql_free_result(res);
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                  "listing stopped by the receiver");
        }
        if (mys_cancelled(ctx)) {
            mysql_free_result(res);
            return mys_cancelled_error(err, "listing");
        }
    }
    if (res)
        mysql_free_result(res);
    return DSRC_OK;
}

dsrc_status mys_list(const dsrc_ctx *ctx, dsrc_conn *c, const char *path,
                     const dsrc_item_sink *sink, dsrc_error *err)
{
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;
    char *db;
    const char *slash;
    size_t plen, n = 0;

    if (!sink || !sink->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item receiver");
    if (mys_cancelled(ctx))
        return mys_cancelled_error(err, "listing");
    if (!path || !*path || strcmp(path, "/") == 0)
        return mys_list_databases(ctx, c, sink, err);

    plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    slash = memchr(path, '/', plen);
    if (slash) {
        /* A table or view: nothing below it. */
        mys_path p;
        MYSQL_ROW trow;
        char *obj = strndup(path, plen);
        if (!obj)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        st = mys_path_object(c, obj, &p, err);
        if (st == DSRC_OK) {
            st = mys_find_table(c, p.db, p.name, obj, &res, &trow, err);
            if (st == DSRC_OK) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "'%s' is a %s: it has nothing to list (describe or"
                                    " fetch it)", obj,
                                    mys_kind_of(trow[2]) == DSRC_ITEM_VIEW ? "view" : "table");
                mysql_free_result(res);
            }
            mys_path_free(&p);
        }
        free(obj);
        return st;
    }

    db = strndup(path, plen);
    if (!db)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    dsrc_buf_add(&q, "SELECT " MYS_TABLE_FIELDS " FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = ");
    mys_buf_literal(&q, c->my, db);
    dsrc_buf_add(&q, " ORDER BY BINARY TABLE_NAME");
    if (q.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    st = mys_query_store(c, q.s, q.len, &res, "listing tables", err);
    if (st != DSRC_OK)
        goto out;
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        mys_table t;
        dsrc_item it;
        char *ipath;

        mys_table_from_row(&t, row);
        if (!t.name)
            continue;
        ipath = mys_path_join(db, t.name);
        if (!ipath) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            break;
        }
        mys_item_of_table(&it, &t, ipath);
        n++;
        if (sink->item(sink->user, &it) != 0) {
            free(ipath);
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "listing stopped by the receiver");
            break;
        }
        free(ipath);
        if ((n % MYS_POLL_EVERY) == 0 && mys_cancelled(ctx)) {
            st = mys_cancelled_error(err, "listing");
            break;
        }
    }
    if (res)
        mysql_free_result(res);
    if (st == DSRC_OK && n == 0) {
        int ex = mys_db_exists(c, db, err);
        if (ex < 0)
            st = err ? err->status : DSRC_E_BACKEND;
        else if (!ex)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1049/42000",
                                "no database '%s', or no privilege to see it", db);
    }
out:
    dsrc_buf_free(&q);
    free(db);
    return st;
}

/* ------------------------------------------------------------------------ */
/* describe                                                                  */

dsrc_status mys_describe(const dsrc_ctx *ctx, dsrc_conn *c, const char *item,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    mys_path p;
    mys_cols cols = {0};
    MYSQL_RES *tres = NULL;
    MYSQL_ROW trow;
    mys_table t;
    char *indexes = NULL;
    dsrc_status st;
    int r;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "describe: no metadata receiver");
    if (mys_cancelled(ctx))
        return mys_cancelled_error(err, "describe");
    st = mys_path_object(c, item, &p, err);
    if (st != DSRC_OK)
        return st;
    st = mys_find_table(c, p.db, p.name, item, &tres, &trow, err);
    if (st != DSRC_OK)
        goto out;
    st = mys_read_columns_idx(c, p.db, p.name, &cols, &indexes, err);
    if (st == DSRC_OK)
        st = mys_mark_json(c, p.db, p.name, &cols, err);
    if (st != DSRC_OK)
        goto out;
    if (mys_cancelled(ctx)) {
        st = mys_cancelled_error(err, "describe");
        goto out;
    }
    mys_table_from_row(&t, trow);
    r = mys_emit(sink, p.db, t.name ? t.name : p.name, &t, &cols, indexes);
    if (r < 0)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else if (r > 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "describe stopped by the receiver");
out:
    if (tres)
        mysql_free_result(tres);
    free(indexes);
    mys_cols_free(&cols);
    mys_path_free(&p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* discover                                                                  */

/* The rows of a stored result, sorted by their first two columns (schema,
 * table) with strcmp() for binary search. */
typedef struct mys_rows {
    MYSQL_RES *res;
    MYSQL_ROW *row;
    size_t n;
    unsigned char *used;  /* per row: delivered already                     */
} mys_rows;

static void mys_rows_free(mys_rows *r)
{
    if (r->res)
        mysql_free_result(r->res);
    free(r->row);
    free(r->used);
    memset(r, 0, sizeof *r);
}

static int mys_row_cmp(const void *a, const void *b)
{
    MYSQL_ROW x = *(MYSQL_ROW const *)a, y = *(MYSQL_ROW const *)b;
    return mys_cmp_key(x[0], x[1], y[0], y[1]);
}

/* Run `sql`, keep all its rows, sorted by (schema, table). */
static dsrc_status mys_rows_load(dsrc_conn *c, const dsrc_buf *sql, mys_rows *out,
                                 const char *what, dsrc_error *err)
{
    dsrc_status st;
    size_t i;

    memset(out, 0, sizeof *out);
    if (sql->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    st = mys_query_store(c, sql->s, sql->len, &out->res, what, err);
    if (st != DSRC_OK || !out->res)
        return st;
    out->n = (size_t)mysql_num_rows(out->res);
    out->row = calloc(out->n + 1, sizeof *out->row);
    out->used = calloc(out->n + 1, 1);
    if (!out->row || !out->used) {
        mys_rows_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    for (i = 0; i < out->n; i++)
        out->row[i] = mysql_fetch_row(out->res);
    qsort(out->row, out->n, sizeof *out->row, mys_row_cmp);
    return DSRC_OK;
}

/* The first row of (db, name); -1 when none. */
static long mys_rows_find(const mys_rows *r, const char *db, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = mys_cmp_key(r->row[mid][0], r->row[mid][1], db, name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->n && mys_cmp_key(r->row[lo][0], r->row[lo][1], db, name) == 0)
        return (long)lo;
    return -1;
}

/* The filter shared by the discover queries. */
static void mys_buf_discover_where(dsrc_buf *q, MYSQL *my, const char *schema_col,
                                   const char *db, const char *table, int include_system)
{
    if (db) {
        dsrc_buf_add(q, " WHERE ");
        dsrc_buf_add(q, schema_col);
        dsrc_buf_add(q, " = ");
        mys_buf_literal(q, my, db);
        if (table) {
            dsrc_buf_add(q, " AND TABLE_NAME = ");
            mys_buf_literal(q, my, table);
        }
    } else if (!include_system) {
        dsrc_buf_add(q, " WHERE ");
        dsrc_buf_add(q, schema_col);
        dsrc_buf_add(q, " NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')");
    } else {
        dsrc_buf_add(q, " WHERE 1");
    }
}

/* A table whose record waits for the primary key positions of a composite
 * key (read with one query after the columns). */
typedef struct mys_pending {
    char *db, *name;
    mys_cols cols;
} mys_pending;

typedef struct mys_disc {
    const dsrc_ctx *ctx;
    dsrc_conn *c;
    const dsrc_meta_sink *sink;
    mys_rows tables, checks;
    mys_pending *pend;
    size_t n_pend, cap_pend;
    const char *db, *table;   /* the request's filter */
    int include_system;
} mys_disc;

#define MYS_DISC_TABLE_FIELDS "TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT, " \
                              "TABLE_COLLATION"

/* A table row of the discover query (no statistics). */
static void mys_disc_table(mys_table *t, MYSQL_ROW r)
{
    memset(t, 0, sizeof *t);
    t->db = r[0];
    t->name = r[1];
    t->type = r[2];
    t->engine = r[3];
    t->comment = r[4];
    t->collation = r[5];
}

/* Deliver (db, name) with its columns; JSON marks from the checks. */
static int mys_disc_deliver(mys_disc *d, const char *db, const char *name, mys_cols *cols)
{
    mys_table t, *tp = NULL;
    long k = mys_rows_find(&d->tables, db, name);

    if (k >= 0) {
        mys_disc_table(&t, d->tables.row[k]);
        tp = &t;
        d->tables.used[k] = 1;
    }
    return mys_emit(d->sink, db, name, tp, cols, NULL);
}

/* One table's columns have all arrived. */
static int mys_disc_group(mys_disc *d, const char *db, const char *name, mys_cols *cols)
{
    size_t i, n_pk = 0, pk = 0;
    long tk = mys_rows_find(&d->tables, db, name), k;
    mys_pending *p;

    if (tk >= 0 && d->tables.used[tk]) {
        /* Seen before: information_schema did not keep a table's columns
         * together.  Never deliver a table twice. */
        if (mys_host && mys_host->log)
            mys_host->log(d->ctx, DSRC_LOG_WARNING, "discover: the columns of %s/%s arrived"
                          " in two parts; the second is ignored", db, name);
        return 0;
    }
    k = mys_rows_find(&d->checks, db, name);
    for (; k >= 0 && (size_t)k < d->checks.n &&
           mys_cmp_key(d->checks.row[k][0], d->checks.row[k][1], db, name) == 0; k++) {
        char *col = mys_json_check_column(d->checks.row[k][2]);
        if (!col)
            continue;
        for (i = 0; i < cols->n; i++)
            if (strcmp(cols->v[i].name, col) == 0)
                cols->v[i].is_json = 1;
        free(col);
    }
    for (i = 0; i < cols->n; i++) {
        if (cols->v[i].key && strcmp(cols->v[i].key, "PRI") == 0) {
            n_pk++;
            pk = i;
        }
    }
    if (n_pk <= 1) {
        if (n_pk == 1)
            cols->v[pk].pk = 1;
        return mys_disc_deliver(d, db, name, cols);
    }
    /* A composite key: its order is in STATISTICS; keep the table. */
    if (d->n_pend == d->cap_pend) {
        size_t cap = d->cap_pend ? d->cap_pend * 2 : 16;
        mys_pending *np = realloc(d->pend, cap * sizeof *np);
        if (!np)
            return -1;
        d->pend = np;
        d->cap_pend = cap;
    }
    p = &d->pend[d->n_pend++];
    p->db = strdup(db);
    p->name = strdup(name);
    p->cols = *cols;
    memset(cols, 0, sizeof *cols);
    if (!p->db || !p->name)
        return -1;
    if (tk >= 0)
        d->tables.used[tk] = 1;
    return 0;
}

/* Read the primary key order of the pending tables (one query) and deliver
 * them. */
static dsrc_status mys_disc_pending(mys_disc *d, dsrc_error *err)
{
    dsrc_buf q = {0};
    mys_rows stats;
    dsrc_status st;
    size_t i;
    int rc;

    dsrc_buf_add(&q, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM"
                    " information_schema.STATISTICS");
    mys_buf_discover_where(&q, d->c->my, "TABLE_SCHEMA", d->db, d->table, d->include_system);
    dsrc_buf_add(&q, " AND INDEX_NAME = 'PRIMARY'");
    st = mys_rows_load(d->c, &q, &stats, "discover: reading the primary keys", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        return st;
    for (i = 0; i < d->n_pend; i++) {
        mys_pending *p = &d->pend[i];
        long k = mys_rows_find(&stats, p->db, p->name);
        mys_table t, *tp = NULL;
        long tk;
        for (; k >= 0 && (size_t)k < stats.n &&
               mys_cmp_key(stats.row[k][0], stats.row[k][1], p->db, p->name) == 0; k++) {
            long c = stats.row[k][2] ? mys_cols_find(&p->cols, stats.row[k][2]) : -1;
            if (c >= 0)
                p->cols.v[c].pk = (int)mys_i64(stats.row[k][3], 0);
        }
        tk = mys_rows_find(&d->tables, p->db, p->name);
        if (tk >= 0) {
            mys_disc_table(&t, d->tables.row[tk]);
            tp = &t;
        }
        rc = mys_emit(d->sink, p->db, p->name, tp, &p->cols, NULL);
        if (rc) {
            mys_rows_free(&stats);
            return rc < 0 ? dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory")
                          : dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                           "discover stopped by the receiver");
        }
    }
    mys_rows_free(&stats);
    return DSRC_OK;
}

static void mys_disc_free(mys_disc *d)
{
    size_t i;
    for (i = 0; i < d->n_pend; i++) {
        free(d->pend[i].db);
        free(d->pend[i].name);
        mys_cols_free(&d->pend[i].cols);
    }
    free(d->pend);
    mys_rows_free(&d->tables);
    mys_rows_free(&d->checks);
}

/* Read the tables (1) and, on MariaDB, the json_valid() checks that mark
 * JSON columns (2) into d, through `conn`. */
static dsrc_status mys_disc_load_small(dsrc_conn *conn, mys_disc *d, dsrc_error *err)
{
    dsrc_buf q = {0};
    dsrc_status st;

    /* Only what the table definitions hold: statistics (rows, sizes,
     * times) would open every table in its engine; list() has them. */
    dsrc_buf_add(&q, "SELECT " MYS_DISC_TABLE_FIELDS " FROM information_schema.TABLES");
    mys_buf_discover_where(&q, conn->my, "TABLE_SCHEMA", d->db, d->table, d->include_system);
    st = mys_rows_load(conn, &q, &d->tables, "discover: reading the tables", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK || !conn->is_mariadb || conn->server_num < 100200)
        return st;
    dsrc_buf_add(&q, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE"
                    " FROM information_schema.CHECK_CONSTRAINTS");
    mys_buf_discover_where(&q, conn->my, "CONSTRAINT_SCHEMA", d->db, d->table,
                           d->include_system);
    dsrc_buf_add(&q, " AND CHECK_CLAUSE LIKE 'json\\_valid(%'");
    st = mys_rows_load(conn, &q, &d->checks, "discover: reading the check constraints", err);
    dsrc_buf_free(&q);
    return st;
}

dsrc_status mys_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    mys_disc d;
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    dsrc_status st = DSRC_OK;
    mys_cols cols = {0};
    char *cur_db = NULL, *cur_name = NULL, *db = NULL, *table = NULL;
    const char *path = req ? req->path : NULL;
    unsigned long n = 0;
    size_t i;
    int rc = 0;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    if (mys_cancelled(ctx))
        return mys_cancelled_error(err, "discover");
    memset(&d, 0, sizeof d);
    d.ctx = ctx;
    d.c = c;
    d.sink = sink;
    d.include_system = req ? req->include_system : 0;

    if (path && *path && strcmp(path, "/") != 0) {
        size_t plen = strlen(path);
        const char *slash;
        if (plen > 1 && path[plen - 1] == '/')
            plen--;
        slash = memchr(path, '/', plen);
        db = strndup(path, slash ? (size_t)(slash - path) : plen);
        if (slash)
            table = strndup(slash + 1, plen - (size_t)(slash - path) - 1);
        if (!db || (slash && !table)) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
    }
    d.db = db;
    d.table = table;
    if (db) {
        int ex = mys_db_exists(c, db, err);
        if (ex < 0) {
            st = err ? err->status : DSRC_E_BACKEND;
            goto out;
        }
        if (!ex) {
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1049/42000",
                                "no database '%s', or no privilege to see it", db);
            goto out;
        }
    }

    /* 1, 2: the tables and the JSON checks.  (Reading them on a second
     * connection while the server fills the columns does not pay: the
     * server serialises the fills.) */
    st = mys_disc_load_small(c, &d, err);
    if (st != DSRC_OK)
        goto out;
    if (mys_cancelled(ctx)) {
        st = mys_cancelled_error(err, "discover");
        goto out;
    }

    /* 3. The columns, streamed; each table's record goes out when its last
     * column has arrived.  MariaDB fills information_schema one table at
     * a time, so a table's columns come together and need no sorting;
     * other servers are asked to sort. */
    dsrc_buf_add(&q, "SELECT TABLE_SCHEMA, TABLE_NAME, " MYS_COL_FIELDS
                    " FROM information_schema.COLUMNS");
    mys_buf_discover_where(&q, c->my, "TABLE_SCHEMA", db, table, d.include_system);
    if (!c->is_mariadb)
        dsrc_buf_add(&q, " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION");
    if (q.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    st = mys_query(c, q.s, q.len, "discover: reading the columns", err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        goto out;
    errno = 0;
    res = mysql_use_result(c->my);
    if (!res) {
        c->last_errno = errno;
        st = mys_fail(err, c, "discover: reading the columns");
        goto out;
    }
    for (;;) {
        errno = 0;
        row = mysql_fetch_row(res);
        if (!row) {
            if (mysql_errno(c->my)) {
                c->last_errno = errno;
                st = mys_fail(err, c, "discover: reading the columns");
            }
            break;
        }
        if (!row[0] || !row[1])
            continue;
        if ((++n % MYS_POLL_EVERY) == 0 && mys_cancelled(ctx)) {
            st = mys_cancelled_error(err, "discover");
            break;
        }
        if (cur_db && mys_cmp_key(cur_db, cur_name, row[0], row[1]) != 0) {
            rc = mys_disc_group(&d, cur_db, cur_name, &cols);
            mys_cols_free(&cols);
            free(cur_db);
            free(cur_name);
            cur_db = cur_name = NULL;
            if (rc)
                break;
        }
        if (!cur_db) {
            cur_db = strdup(row[0]);
            cur_name = strdup(row[1]);
            if (!cur_db || !cur_name) {
                rc = -1;
                break;
            }
        }
        if (mys_cols_add(&cols, row, 2, c->is_mariadb) != 0) {
            rc = -1;
            break;
        }
    }
    if (row)
        mys_abandon_result(c, res); /* stopped before the end */
    else
        mysql_free_result(res);
    res = NULL;
    if (st == DSRC_OK && rc == 0 && cur_db)
        rc = mys_disc_group(&d, cur_db, cur_name, &cols);
    if (st == DSRC_OK && rc < 0)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else if (st == DSRC_OK && rc > 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover stopped by the receiver");

    /* 4. Composite primary keys (one query, only when there are any). */
    if (st == DSRC_OK && d.n_pend)
        st = mys_disc_pending(&d, err);

    if (st == DSRC_OK && table && d.tables.n == 0 && n == 0)
        st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1146/42S02",
                            "no table or view '%s' in database '%s', or no privilege to see"
                            " it", table, db);

    /* 5. Tables and views without visible columns (a view whose
     * definition is broken, for one). */
    for (i = 0; st == DSRC_OK && i < d.tables.n; i++) {
        static const mys_cols none = {0};
        mys_table t;
        if (d.tables.used[i])
            continue;
        mys_disc_table(&t, d.tables.row[i]);
        rc = mys_emit(sink, t.db ? t.db : "", t.name ? t.name : "", &t, &none, NULL);
        if (rc < 0)
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        else if (rc > 0)
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "discover stopped by the receiver");
    }
out:
    mys_cols_free(&cols);
    free(cur_db);
    free(cur_name);
    mys_disc_free(&d);
    dsrc_buf_free(&q);
    free(db);
    free(table);
    return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_catalog.c -- list, describe and discover for the mysql plugin, all
 * read from information_schema.
 *
 * discover() reads the whole catalog in a fixed number of queries: the
 * tables and (on MariaDB) the json_valid() checks that mark JSON columns
 * are stored and indexed by (schema, table), the columns are streamed with
 * mysql_use_result() and each table's metadata goes to the sink as soon as
 * its last column has arrived; only composite primary keys need one more
 * query.  For a database or the whole catalog the tables and checks are
 * read on a second connection while the server fills the columns for the
 * first: the two fills run side by side.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Types and small helpers                                                   */

dsrc_type mys_type_of_data_type(const char *dt, int is_json)
{
    /* Everything else is text: decimal (exact, as text), char, varchar,
     * text, enum, set, time, uuid, inet6, ... */
    static const struct {
        const char *name;
        dsrc_type type;
    } types[] = {
        {"tinyint", DSRC_T_INT64},        {"smallint", DSRC_T_INT64},
        {"mediumint", DSRC_T_INT64},      {"int", DSRC_T_INT64},
        {"integer", DSRC_T_INT64},        {"bigint", DSRC_T_INT64},
        {"year", DSRC_T_INT64},           {"bit", DSRC_T_INT64},
        {"bool", DSRC_T_INT64},           {"boolean", DSRC_T_INT64},
        {"float", DSRC_T_DOUBLE},         {"double", DSRC_T_DOUBLE},
        {"real", DSRC_T_DOUBLE},          {"double precision", DSRC_T_DOUBLE},
        {"date", DSRC_T_TIMESTAMP},       {"datetime", DSRC_T_TIMESTAMP},
        {"timestamp", DSRC_T_TIMESTAMP},  {"json", DSRC_T_JSON},
        {"binary", DSRC_T_BYTES},         {"varbinary", DSRC_T_BYTES},
        {"tinyblob", DSRC_T_BYTES},       {"blob", DSRC_T_BYTES},
        {"mediumblob", DSRC_T_BYTES},     {"longblob", DSRC_T_BYTES},
        {"geometry", DSRC_T_BYTES},       {"point", DSRC_T_BYTES},
        {"linestring", DSRC_T_BYTES},     {"polygon", DSRC_T_BYTES},
        {"multipoint", DSRC_T_BYTES},     {"multilinestring", DSRC_T_BYTES},
        {"multipolygon", DSRC_T_BYTES},   {"geometrycollection", DSRC_T_BYTES},
    };
    size_t i;
    int first;

    if (is_json)
        return DSRC_T_JSON;
    if (!dt || !*dt)
        return DSRC_T_TEXT;
    /* The first letter rules out nearly all names cheaply (discover maps
     * every column of the catalog). */
    first = dt[0] | 0x20;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].name[0] == first && strcasecmp(dt, types[i].name) == 0)
            return types[i].type;
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

/* Free the columns' strings, keep the array for the next table. */
static void mys_cols_clear(mys_cols *cols)
{
    size_t i;
    for (i = 0; i < cols->n; i++)
        free(cols->v[i].name); /* the block that holds all its strings */
    cols->n = 0;
}

void mys_cols_free(mys_cols *cols)
{
    mys_cols_clear(cols);
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
 * index `base`; `len` are the row's lengths (mysql_fetch_lengths).  The
 * strings go into one block (owned through `name`).  MariaDB writes a
 * default as an expression (strings quoted) and the implicit default of a
 * nullable column as NULL: that is "no default", as MySQL reports it.
 * Returns 0 or -1 when out of memory. */
static int mys_cols_add(mys_cols *cols, MYSQL_ROW row, const unsigned long *len, int base,
                        int mariadb)
{
    /* The string fields, in the order of the block. */
    static const int field[] = {0, 1, 2, 3, 5, 6, 7};
    enum { N_FIELDS = sizeof field / sizeof field[0] };
    char *str[N_FIELDS], *block, *p;
    size_t n[N_FIELDS], total = 0;
    mys_colinfo *c;
    const char *def = row[base + 3];
    int i;

    if (mariadb && def && len[base + 3] == 4 && memcmp(def, "NULL", 4) == 0)
        def = NULL;
    if (cols->n == cols->cap) {
        size_t cap = cols->cap ? cols->cap * 2 : 16;
        mys_colinfo *v = realloc(cols->v, cap * sizeof *v);
        if (!v)
            return -1;
        cols->v = v;
        cols->cap = cap;
    }
    for (i = 0; i < N_FIELDS; i++) {
        n[i] = row[base + field[i]] ? (size_t)len[base + field[i]] : 0;
        total += n[i] + 1;
    }
    block = malloc(total);
    if (!block)
        return -1;
    for (i = 0, p = block; i < N_FIELDS; i++) {
        str[i] = p;
        if (n[i])
            memcpy(p, row[base + field[i]], n[i]);
        p[n[i]] = '\0';
        p += n[i] + 1;
    }
    c = &cols->v[cols->n++];
    memset(c, 0, sizeof *c);
    c->name = str[0];
    c->data_type = str[1];
    c->column_type = str[2];
    c->default_value = def ? str[3] : NULL;
    c->nullable = row[base + 4] ? strcmp(row[base + 4], "YES") == 0 : -1;
    c->key = str[4];
    c->extra = str[5];
    c->comment = str[6];
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
        if (mys_cols_add(out, row, mysql_fetch_lengths(res), 0, c->is_mariadb) != 0) {
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

/* Memory one record is built in, kept from one record to the next
 * (discover builds thousands). */
typedef struct mys_scratch {
    void *p;
    size_t cap;
} mys_scratch;

static void *mys_scratch_get(mys_scratch *s, size_t size)
{
    if (size > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        void *np;
        while (cap < size)
            cap *= 2;
        np = realloc(s->p, cap);
        if (!np)
            return NULL;
        s->p = np;
        s->cap = cap;
    }
    return s->p;
}

static void mys_scratch_free(mys_scratch *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* Append property key, value (skipped when value is NULL). */
static void mys_prop(dsrc_kv *kv, size_t *n, const char *key, const char *value)
{
    if (!value)
        return;
    kv[*n].key = key;
    kv[*n].value = value;
    (*n)++;
}

/* "column.NAME.SUFFIX" at *pos, which moves past it. */
static const char *mys_col_key(char **pos, const char *name, size_t name_len,
                               const char *suffix, size_t suffix_len)
{
    char *k = *pos;
    memcpy(k, "column.", 7);
    memcpy(k + 7, name, name_len);
    memcpy(k + 7 + name_len, suffix, suffix_len + 1);
    *pos = k + 7 + name_len + suffix_len + 1;
    return k;
}

/* Deliver one record: `t` may be NULL (a table information_schema lists
 * columns for but no longer shows), `cols` may be empty; `scratch` may be
 * NULL (then the memory is freed before returning).  Returns the sink's
 * answer (0 continue), or -1 when out of memory. */
static int mys_emit(const dsrc_meta_sink *sink, const char *db, const char *name,
                    const mys_table *t, const mys_cols *cols, const char *indexes,
                    mys_scratch *scratch)
{
    enum { N_TABLE_PROPS = 11 };
    dsrc_item it;
    dsrc_metadata md;
    dsrc_column *dc;
    dsrc_kv *kv;
    mys_table none;
    mys_scratch own = {0};
    size_t i, n_kv = 0, path_len, keys = 0, size;
    char *path, *pos, *epath = dsrc_path_join2(db, name);
    int r;

    if (!epath)
        return -1;
    path_len = strlen(epath);
    if (!scratch)
        scratch = &own;
    if (!t) {
        memset(&none, 0, sizeof none);
        none.db = db;
        none.name = name;
        t = &none;
    }
    /* One block: the columns, the properties, their built keys, the path. */
    for (i = 0; i < cols->n; i++) {
        const mys_colinfo *ci = &cols->v[i];
        size_t nl = strlen(ci->name);
        if (ci->key && *ci->key)
            keys += nl + sizeof "column..key";
        if (ci->extra && *ci->extra)
            keys += nl + sizeof "column..extra";
    }
    size = cols->n * sizeof *dc + (N_TABLE_PROPS + 2 * cols->n) * sizeof *kv + keys +
           path_len + 1;
    dc = mys_scratch_get(scratch, size);
    if (!dc) {
        free(epath);
        return -1;
    }
    kv = (dsrc_kv *)(dc + cols->n);
    pos = (char *)(kv + N_TABLE_PROPS + 2 * cols->n);
    path = pos + keys;
    memcpy(path, epath, path_len + 1);
    free(epath);

    mys_item_of_table(&it, t, path);
    for (i = 0; i < cols->n; i++) {
        const mys_colinfo *ci = &cols->v[i];
        memset(&dc[i], 0, sizeof dc[i]);
        dc[i].name = ci->name;
        dc[i].type = mys_type_of_data_type(ci->data_type, ci->is_json);
        dc[i].native_type = ci->is_json ? "json" : ci->column_type;
        dc[i].nullable = ci->nullable;
        dc[i].primary_key = ci->pk;
        dc[i].default_value = ci->default_value;
        dc[i].comment = ci->comment && *ci->comment ? ci->comment : NULL;
    }

    mys_prop(kv, &n_kv, "type", t->type);
    mys_prop(kv, &n_kv, "engine", t->engine);
    mys_prop(kv, &n_kv, "collation", t->collation);
    mys_prop(kv, &n_kv, "row_format", t->row_format);
    if (mys_kind_of(t->type) != DSRC_ITEM_VIEW) {
        mys_prop(kv, &n_kv, "rows", t->rows);
        mys_prop(kv, &n_kv, "data_bytes", t->data_length);
        mys_prop(kv, &n_kv, "index_bytes", t->index_length);
    }
    mys_prop(kv, &n_kv, "auto_increment", t->auto_increment);
    mys_prop(kv, &n_kv, "created", t->created);
    if (indexes && *indexes)
        mys_prop(kv, &n_kv, "indexes", indexes);
    for (i = 0; i < cols->n; i++) {
        const mys_colinfo *ci = &cols->v[i];
        size_t nl = strlen(ci->name);
        if (ci->key && *ci->key)
            mys_prop(kv, &n_kv, mys_col_key(&pos, ci->name, nl, ".key", 4), ci->key);
        if (ci->extra && *ci->extra)
            mys_prop(kv, &n_kv, mys_col_key(&pos, ci->name, nl, ".extra", 6), ci->extra);
    }

    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    md.item = &it;
    md.columns = cols->n ? dc : NULL;
    md.n_columns = cols->n;
    md.properties = n_kv ? kv : NULL;
    md.n_properties = n_kv;
    r = sink->metadata(sink->user, &md);
    mys_scratch_free(&own);
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

/* After nothing was found under database db: DSRC_OK when db exists,
 * DSRC_E_NOT_FOUND when it does not (or is hidden from this user), else the
 * failure of the check. */
static dsrc_status mys_check_db(dsrc_conn *c, const char *db, dsrc_error *err)
{
    int ex = mys_db_exists(c, db, err);

    if (ex < 0)
        return err ? err->status : DSRC_E_BACKEND;
    if (!ex)
        return dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1049/42000",
                              "no database '%s', or no privilege to see it", db);
    return DSRC_OK;
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
        char *path;
        int stop;
        if (!row[0])
            continue;
        if (!(path = dsrc_path_join2(row[0], NULL))) {
            mysql_free_result(res);
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        }
        mys_item_init(&it);
        it.path = path;
        it.name = row[0];
        it.kind = DSRC_ITEM_DATABASE;
        it.container = 1;
        it.comment = mys_is_system_db(row[0]) ? "system database" : NULL;
        stop = sink->item(sink->user, &it) != 0;
        free(path);
        if (stop) {
            mysql_free_result(res);
            return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                  "listing stopped by the receiver");
        }
        if (dsrc_cancelled(mys_host, ctx)) {
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
    size_t n = 0;

    if (!sink || !sink->item)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "list: no item receiver");
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "listing");
    if (!path || !*path || strcmp(path, "/") == 0)
        return mys_list_databases(ctx, c, sink, err);

    st = dsrc_path_container(path, &db, err);
    if (st != DSRC_OK)
        return st;
    if (!db) {
        /* A table or view: nothing below it. */
        mys_path p;
        MYSQL_ROW trow;
        st = mys_path_object(c, path, &p, err);
        if (st == DSRC_OK) {
            st = mys_find_table(c, p.db, p.name, path, &res, &trow, err);
            if (st == DSRC_OK) {
                st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                    "'%s' is a %s: it has nothing to list (describe or"
                                    " fetch it)", path,
                                    mys_kind_of(trow[2]) == DSRC_ITEM_VIEW ? "view" : "table");
                mysql_free_result(res);
            }
            mys_path_free(&p);
        }
        return st;
    }
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
        ipath = dsrc_path_join2(db, t.name);
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
        if ((n % MYS_POLL_EVERY) == 0 && dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "listing");
            break;
        }
    }
    if (res)
        mysql_free_result(res);
    if (st == DSRC_OK && n == 0)
        st = mys_check_db(c, db, err);
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
    if (dsrc_cancelled(mys_host, ctx))
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
    if (dsrc_cancelled(mys_host, ctx)) {
        st = mys_cancelled_error(err, "describe");
        goto out;
    }
    mys_table_from_row(&t, trow);
    r = mys_emit(sink, p.db, t.name ? t.name : p.name, &t, &cols, indexes, NULL);
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

/* The rows of a stored result in the server's order, found by their first
 * two columns (schema, table) through a hash table; the rows of one
 * (schema, table) are chained. */
#define MYS_NONE ((size_t)-1)

typedef struct mys_rows {
    MYSQL_RES *res;
    MYSQL_ROW *row;
    size_t n;
    unsigned char *used;  /* per row: delivered already                     */
    size_t *next;         /* per row: the next row of its (schema, table)   */
    size_t *slot;         /* hash table: row index, MYS_NONE when empty     */
    size_t mask;          /* its size - 1 (a power of two)                  */
} mys_rows;

static void mys_rows_free(mys_rows *r)
{
    if (r->res)
        mysql_free_result(r->res);
    free(r->row);
    free(r->used);
    free(r->next);
    free(r->slot);
    memset(r, 0, sizeof *r);
}

static size_t mys_key_hash(const char *db, const char *name)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    const unsigned char *p;

    for (p = (const unsigned char *)(db ? db : ""); *p; p++)
        h = (h ^ *p) * 1099511628211u;
    h = (h ^ 0xffu) * 1099511628211u; /* never inside UTF-8 */
    for (p = (const unsigned char *)(name ? name : ""); *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

/* The hash slot of (db, name): where it is, or the empty slot it would
 * take. */
static size_t mys_rows_slot(const mys_rows *r, const char *db, const char *name)
{
    size_t h = mys_key_hash(db, name) & r->mask;
    while (r->slot[h] != MYS_NONE &&
           mys_cmp_key(r->row[r->slot[h]][0], r->row[r->slot[h]][1], db, name) != 0)
        h = (h + 1) & r->mask;
    return h;
}

/* The first row of (db, name), MYS_NONE when none; r->next[] has the
 * others. */
static size_t mys_rows_find(const mys_rows *r, const char *db, const char *name)
{
    return r->n ? r->slot[mys_rows_slot(r, db, name)] : MYS_NONE;
}

/* Keep all rows of the result the last statement on `c` produced,
 * indexed by (schema, table). */
static dsrc_status mys_rows_store(dsrc_conn *c, mys_rows *out, const char *what,
                                  dsrc_error *err)
{
    size_t i, size = 16;

    memset(out, 0, sizeof *out);
    errno = 0;
    out->res = mysql_store_result(c->my);
    if (!out->res) {
        if (mysql_field_count(c->my) == 0)
            return DSRC_OK;
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    out->n = (size_t)mysql_num_rows(out->res);
    while (size < 2 * out->n)
        size *= 2;
    out->row = calloc(out->n + 1, sizeof *out->row);
    out->used = calloc(out->n + 1, 1);
    out->next = calloc(out->n + 1, sizeof *out->next);
    out->slot = malloc(size * sizeof *out->slot);
    if (!out->row || !out->used || !out->next || !out->slot) {
        mys_rows_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    out->mask = size - 1;
    for (i = 0; i < size; i++)
        out->slot[i] = MYS_NONE;
    for (i = 0; i < out->n; i++) {
        size_t h;
        out->row[i] = mysql_fetch_row(out->res);
        h = mys_rows_slot(out, out->row[i][0], out->row[i][1]);
        if (out->slot[h] == MYS_NONE) {
            out->slot[h] = i;
            out->next[i] = MYS_NONE;
        } else { /* after the first row of its key */
            out->next[i] = out->next[out->slot[h]];
            out->next[out->slot[h]] = i;
        }
    }
    return DSRC_OK;
}

/* Run `sql`, keep all its rows, indexed by (schema, table). */
static dsrc_status mys_rows_load(dsrc_conn *c, const dsrc_buf *sql, mys_rows *out,
                                 const char *what, dsrc_error *err)
{
    dsrc_status st;

    memset(out, 0, sizeof *out);
    if (sql->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    st = mys_query(c, sql->s, sql->len, what, err);
    return st == DSRC_OK ? mys_rows_store(c, out, what, err) : st;
}

/* Send `sql` without waiting for its result (mys_wait() does). */
static dsrc_status mys_send(dsrc_conn *c, const dsrc_buf *sql, const char *what,
                            dsrc_error *err)
{
    if (sql->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    errno = 0;
    if (mysql_send_query(c->my, sql->s, (unsigned long)sql->len) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
}

/* Wait for the answer to the statement mys_send() sent. */
static dsrc_status mys_wait(dsrc_conn *c, const char *what, dsrc_error *err)
{
    errno = 0;
    if (mysql_read_query_result(c->my) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
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
    mys_scratch scratch;      /* for mys_emit */
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

/* One table's columns have all arrived: mark JSON columns from the checks,
 * primary keys from COLUMN_KEY, and deliver it (or keep it for
 * mys_disc_pending). */
static int mys_disc_group(mys_disc *d, const char *db, const char *name, mys_cols *cols)
{
    size_t i, n_pk = 0, pk = 0, tk = mys_rows_find(&d->tables, db, name), k;
    mys_table t;
    mys_pending *p;

    if (tk != MYS_NONE && d->tables.used[tk]) {
        /* Seen before: information_schema did not keep a table's columns
         * together.  Never deliver a table twice. */
        if (mys_host && mys_host->log)
            mys_host->log(d->ctx, DSRC_LOG_WARNING, "discover: the columns of %s/%s arrived"
                          " in two parts; the second is ignored", db, name);
        return 0;
    }
    for (k = mys_rows_find(&d->checks, db, name); k != MYS_NONE; k = d->checks.next[k]) {
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
        if (tk == MYS_NONE)
            return mys_emit(d->sink, db, name, NULL, cols, NULL, &d->scratch);
        d->tables.used[tk] = 1;
        mys_disc_table(&t, d->tables.row[tk]);
        return mys_emit(d->sink, db, name, &t, cols, NULL, &d->scratch);
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
    if (tk != MYS_NONE)
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
        size_t k, tk;
        mys_table t, *tp = NULL;
        for (k = mys_rows_find(&stats, p->db, p->name); k != MYS_NONE; k = stats.next[k]) {
            long c = stats.row[k][2] ? mys_cols_find(&p->cols, stats.row[k][2]) : -1;
            if (c >= 0)
                p->cols.v[c].pk = (int)mys_i64(stats.row[k][3], 0);
        }
        tk = mys_rows_find(&d->tables, p->db, p->name);
        if (tk != MYS_NONE) {
            mys_disc_table(&t, d->tables.row[tk]);
            tp = &t;
        }
        rc = mys_emit(d->sink, p->db, p->name, tp, &p->cols, NULL, &d->scratch);
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
    mys_scratch_free(&d->scratch);
}

/* The statements of discover (1) and (2). */
static void mys_disc_tables_sql(const mys_disc *d, MYSQL *my, dsrc_buf *q)
{
    /* Only what the table definitions hold: statistics (rows, sizes,
     * times) would open every table in its engine; list() has them. */
    dsrc_buf_add(q, "SELECT " MYS_DISC_TABLE_FIELDS " FROM information_schema.TABLES");
    mys_buf_discover_where(q, my, "TABLE_SCHEMA", d->db, d->table, d->include_system);
}

static void mys_disc_checks_sql(const mys_disc *d, MYSQL *my, dsrc_buf *q)
{
    dsrc_buf_add(q, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE"
                    " FROM information_schema.CHECK_CONSTRAINTS");
    mys_buf_discover_where(q, my, "CONSTRAINT_SCHEMA", d->db, d->table, d->include_system);
    dsrc_buf_add(q, " AND CHECK_CLAUSE LIKE 'json\\_valid(%'");
}

/* Read the tables (1) and, on MariaDB, the json_valid() checks that mark
 * JSON columns (2) into d, through `conn`.  `sent`: statement 1 went out
 * already (mys_send). */
static dsrc_status mys_disc_load_small(dsrc_conn *conn, mys_disc *d, int sent,
                                       dsrc_error *err)
{
    static const char what_t[] = "discover: reading the tables";
    dsrc_buf q = {0};
    dsrc_status st;

    if (sent) {
        st = mys_wait(conn, what_t, err);
        if (st == DSRC_OK)
            st = mys_rows_store(conn, &d->tables, what_t, err);
    } else {
        mys_disc_tables_sql(d, conn->my, &q);
        st = mys_rows_load(conn, &q, &d->tables, what_t, err);
        dsrc_buf_free(&q);
    }
    if (st != DSRC_OK || !conn->is_mariadb || conn->server_num < 100200)
        return st;
    mys_disc_checks_sql(d, conn->my, &q);
    st = mys_rows_load(conn, &q, &d->checks, "discover: reading the check constraints", err);
    dsrc_buf_free(&q);
    return st;
}

/* discover opens its second connection only when this one took no longer
 * than this to open (microseconds).  The second connection is made before
 * the columns are asked for: on a server this near (same host or LAN,
 * plain or TLS) it costs a few milliseconds at most and the side-by-side
 * fills save about 8 us per table; a remote server would make a small
 * catalog wait several round trips more. */
#define MYS_SIDE_MAX_CONNECT_US 5000

/* Open the second connection of discover and send it statement 1.  On
 * any failure `side` stays closed and discover reads everything through
 * `c` (a server that allows one connection per user, say). */
static void mys_disc_side_start(const dsrc_ctx *ctx, dsrc_conn *c, const mys_disc *d,
                                dsrc_conn *side)
{
    dsrc_error serr;
    dsrc_buf q = {0};

    memset(&serr, 0, sizeof serr);
    serr.struct_size = sizeof serr;
    if (mys_side_open(c, side, &serr) == DSRC_OK) {
        mys_disc_tables_sql(d, side->my, &q);
        if (mys_send(side, &q, "discover: reading the tables", &serr) != DSRC_OK)
            mys_side_close(c, side);
        dsrc_buf_free(&q);
    }
    if (side->my && mys_host && mys_host->log)
        mys_host->log(ctx, DSRC_LOG_DEBUG, "discover: second connection in %lu.%03lu ms",
                      side->connect_us / 1000, side->connect_us % 1000);
    if (!side->my && mys_host && mys_host->log)
        mys_host->log(ctx, DSRC_LOG_DEBUG, "discover: no second connection (%s); reading the"
                      " tables before the columns", serr.message ? serr.message : "failed");
    if (serr.release)
        serr.release(&serr);
}

/* Give up the statement sent on `c`: read its answer, drop its rows.
 * Returns 0 when `c` is still usable. */
static int mys_disc_drop_sent(dsrc_conn *c)
{
    MYSQL_RES *res;

    if (mysql_read_query_result(c->my) != 0) {
        unsigned code = mysql_errno(c->my);
        return code >= 2000 && code < 3000 ? -1 : 0; /* client errors: lost */
    }
    res = mysql_use_result(c->my);
    if (res)
        mys_abandon_result(c, res);
    return mysql_errno(c->my) >= 2000 && mysql_errno(c->my) < 3000 ? -1 : 0;
}

dsrc_status mys_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    static const char what_c[] = "discover: reading the columns";
    mys_disc d;
    dsrc_conn side;
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    dsrc_status st = DSRC_OK;
    mys_cols cols = {0};
    dsrc_buf cur = {0};         /* the table whose columns arrive */
    const char *cur_db = NULL, *cur_name = NULL;
    const unsigned long *len;
    char *db = NULL, *table = NULL;
    const char *path = req ? req->path : NULL;
    unsigned long n = 0;
    size_t i;
    int rc = 0;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "discover");
    memset(&d, 0, sizeof d);
    memset(&side, 0, sizeof side);
    d.ctx = ctx;
    d.c = c;
    d.sink = sink;
    d.include_system = req ? req->include_system : 0;

    if (path && *path && strcmp(path, "/") != 0) {
        dsrc_path sp;
        st = dsrc_path_split(path, 2, &sp, err);
        if (st != DSRC_OK)
            goto out;
        db = strdup(sp.part[0]);
        if (sp.n == 2 && sp.part[1][0])
            table = strdup(sp.part[1]);
        if (!db || (sp.n == 2 && sp.part[1][0] && !table))
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        dsrc_path_free(&sp);
        if (st != DSRC_OK)
            goto out;
    }
    d.db = db;
    d.table = table;

    /* 1, 2: the tables and the JSON checks.  MariaDB fills an
     * information_schema table by going through every table definition,
     * one statement on one core: for a database or the whole catalog a
     * second connection reads 1 and 2 while this one has the server fill
     * 3, and the two fills run side by side.  One table needs no second
     * connection, nor does a server that is slow to connect to. */
    if (!table && c->connect_us <= MYS_SIDE_MAX_CONNECT_US)
        mys_disc_side_start(ctx, c, &d, &side);
    if (!side.my) {
        st = mys_disc_load_small(c, &d, 0, err);
        if (st != DSRC_OK)
            goto out;
        if (dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "discover");
            goto out;
        }
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
    if (side.my)
        st = mys_send(c, &q, what_c, err);
    else if (q.failed)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else
        st = mys_query(c, q.s, q.len, what_c, err);
    dsrc_buf_free(&q);
    if (st != DSRC_OK)
        goto out;
    if (side.my) {
        /* 1 and 2 arrive while the server is still filling 3.  (Stored
         * results outlive the connection they came from.) */
        st = mys_disc_load_small(&side, &d, 1, err);
        mys_side_close(c, &side);
        if (st == DSRC_OK && dsrc_cancelled(mys_host, ctx))
            st = mys_cancelled_error(err, "discover");
        if (st == DSRC_OK) {
            st = mys_wait(c, what_c, err);
        } else if (err) {
            /* The failure was the second connection's: this one is fine
             * once the columns are dropped. */
            err->connection_broken = mys_disc_drop_sent(c) != 0;
        } else {
            mys_disc_drop_sent(c);
        }
        if (st != DSRC_OK)
            goto out;
    }
    errno = 0;
    res = mysql_use_result(c->my);
    if (!res) {
        c->last_errno = errno;
        st = mys_fail(err, c, what_c);
        goto out;
    }
    for (;;) {
        errno = 0;
        row = mysql_fetch_row(res);
        if (!row) {
            if (mysql_errno(c->my)) {
                c->last_errno = errno;
                st = mys_fail(err, c, what_c);
            }
            break;
        }
        if (!row[0] || !row[1])
            continue;
        if ((++n % MYS_POLL_EVERY) == 0 && dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "discover");
            break;
        }
        if (cur_db && mys_cmp_key(cur_db, cur_name, row[0], row[1]) != 0) {
            rc = mys_disc_group(&d, cur_db, cur_name, &cols);
            mys_cols_clear(&cols);
            cur_db = cur_name = NULL;
            if (rc)
                break;
        }
        len = mysql_fetch_lengths(res);
        if (!cur_db) {
            /* "schema\0table" */
            dsrc_buf_reset(&cur);
            dsrc_buf_addn(&cur, row[0], (size_t)len[0] + 1);
            dsrc_buf_addn(&cur, row[1], (size_t)len[1]);
            if (cur.failed) {
                rc = -1;
                break;
            }
            cur_db = cur.s;
            cur_name = cur.s + len[0] + 1;
        }
        if (mys_cols_add(&cols, row, len, 2, c->is_mariadb) != 0) {
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

    /* Nothing at all: say why when a database or table was named. */
    if (st == DSRC_OK && db && d.tables.n == 0 && n == 0) {
        st = mys_check_db(c, db, err);
        if (st == DSRC_OK && table)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1146/42S02",
                                "no table or view '%s' in database '%s', or no privilege to"
                                " see it", table, db);
    }

    /* 5. Tables and views without visible columns (a view whose
     * definition is broken, for one). */
    for (i = 0; st == DSRC_OK && i < d.tables.n; i++) {
        static const mys_cols none = {0};
        mys_table t;
        if (d.tables.used[i])
            continue;
        mys_disc_table(&t, d.tables.row[i]);
        rc = mys_emit(sink, t.db ? t.db : "", t.name ? t.name : "", &t, &none, NULL,
                      &d.scratch);
        if (rc < 0)
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        else if (rc > 0)
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "discover stopped by the receiver");
    }
out:
    mys_side_close(c, &side);
    mys_cols_free(&cols);
    dsrc_buf_free(&cur);
    mys_disc_free(&d);
    dsrc_buf_free(&q);
    free(db);
    free(table);
    return st;
}

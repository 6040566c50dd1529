/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_catalog.c -- list and describe for the mysql plugin, all read from
 * information_schema, and what discover (mys_discover.c) shares with them:
 * the columns of a table and the metadata record of a table.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

int64_t mys_i64(const char *s, int64_t dflt)
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
void mys_cols_clear(mys_cols *cols)
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
int mys_cols_add(mys_cols *cols, MYSQL_ROW row, const unsigned long *len, int base,
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
        mys_colinfo *v = mys_grow(cols->v, &cols->cap, sizeof *v);
        if (!v)
            return -1;
        cols->v = v;
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

/* Run `select` on one table of information_schema: "<select> WHERE
 * <schema_col> = db AND TABLE_NAME = table<tail>" (`tail` may be NULL), and
 * store its result in *res (see mys_query_store). */
static dsrc_status mys_query_table(dsrc_conn *c, const char *select, const char *schema_col,
                                   const char *db, const char *table, const char *tail,
                                   MYSQL_RES **res, const char *what, dsrc_error *err)
{
    dsrc_buf q = {0};
    dsrc_status st;

    *res = NULL;
    dsrc_buf_add(&q, select);
    dsrc_buf_add(&q, " WHERE ");
    dsrc_buf_add(&q, schema_col);
    dsrc_buf_add(&q, " = ");
    mys_buf_literal(&q, c->my, db);
    dsrc_buf_add(&q, " AND TABLE_NAME = ");
    mys_buf_literal(&q, c->my, table);
    if (tail)
        dsrc_buf_add(&q, tail);
    if (q.failed) {
        dsrc_buf_free(&q);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    st = mys_query_store(c, q.s, q.len, res, what, err);
    dsrc_buf_free(&q);
    return st;
}

/* Read the columns of db.table with their primary key positions and, when
 * `indexes` is not NULL, the table's index names (comma-separated,
 * malloc'd). */
static dsrc_status mys_read_columns_idx(dsrc_conn *c, const char *db, const char *table,
                                        mys_cols *out, char **indexes, dsrc_error *err)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;
    dsrc_buf idx = {0};
    char last_index[256] = "";

    memset(out, 0, sizeof *out);
    if (indexes)
        *indexes = NULL;
    st = mys_query_table(c, "SELECT " MYS_COL_FIELDS " FROM information_schema.COLUMNS",
                         "TABLE_SCHEMA", db, table, " ORDER BY ORDINAL_POSITION", &res,
                         "reading the columns", err);
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
    st = mys_query_table(c, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM"
                         " information_schema.STATISTICS", "TABLE_SCHEMA", db, table,
                         " ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
                         &res, "reading the indexes", err);
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

/* The foreign keys of db.table into `out` (empty). */
static dsrc_status mys_read_fks(dsrc_conn *c, const char *db, const char *table,
                                dsrc_fk_list *out, dsrc_error *err)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;
    int rc = 0;

    dsrc_buf q = {0};

    mys_buf_fk_sql(&q, c->my, db, table, 0);
    if (q.failed)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else
        st = mys_query_store(c, q.s, q.len, &res, "reading the foreign keys", err);
    dsrc_buf_free(&q);
    while (st == DSRC_OK && rc == 0 && res && (row = mysql_fetch_row(res)) != NULL)
        rc = mys_fk_row(out, row);
    if (res)
        mysql_free_result(res);
    if (rc != 0)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    return st;
}

dsrc_status mys_read_columns(dsrc_conn *c, const char *db, const char *table, mys_cols *out,
                             dsrc_error *err)
{
    return mys_read_columns_idx(c, db, table, out, NULL, err);
}

void mys_cols_mark_json(mys_cols *cols, const char *clause)
{
    char *col = mys_json_check_column(clause);
    size_t i;

    if (!col)
        return;
    for (i = 0; i < cols->n; i++)
        if (strcmp(cols->v[i].name, col) == 0)
            cols->v[i].is_json = 1;
    free(col);
}

dsrc_status mys_mark_json(dsrc_conn *c, const char *db, const char *table,
                                 mys_cols *cols, dsrc_error *err)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    dsrc_status st;

    if (!c->is_mariadb || c->server_num < 100200 || cols->n == 0)
        return DSRC_OK;
    st = mys_query_table(c, "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS",
                         "CONSTRAINT_SCHEMA", db, table,
                         " AND CHECK_CLAUSE LIKE 'json\\_valid(%'", &res,
                         "reading the check constraints", err);
    if (st != DSRC_OK)
        return st;
    while (res && (row = mysql_fetch_row(res)) != NULL)
        mys_cols_mark_json(cols, row[0]);
    if (res)
        mysql_free_result(res);
    return DSRC_OK;
}

/* ------------------------------------------------------------------------ */
/* Metadata records                                                          */

#define MYS_TABLE_FIELDS                                                                     \
    "TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT, TABLE_COLLATION, "          \
    "ROW_FORMAT, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, "                                     \
    "UNIX_TIMESTAMP(COALESCE(UPDATE_TIME, CREATE_TIME)), AUTO_INCREMENT, "                    \
    "DATE_FORMAT(CREATE_TIME, '%Y-%m-%dT%H:%i:%sZ')"

void mys_table_head(mys_table *t, MYSQL_ROW r)
{
    memset(t, 0, sizeof *t);
    t->db = r[0];
    t->name = r[1];
    t->type = r[2];
    t->engine = r[3];
    t->comment = r[4];
    t->collation = r[5];
}

static void mys_table_from_row(mys_table *t, MYSQL_ROW r)
{
    mys_table_head(t, r);
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

void mys_scratch_free(mys_scratch *s)
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

void mys_buf_fk_sql(dsrc_buf *q, MYSQL *my, const char *db, const char *table,
                    int include_system)
{
    dsrc_buf_add(q, "SELECT k.CONSTRAINT_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME,"
                    " k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, rc.UPDATE_RULE,"
                    " rc.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME FROM"
                    " information_schema.KEY_COLUMN_USAGE k JOIN"
                    " information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_NAME ="
                    " k.CONSTRAINT_NAME AND rc.TABLE_NAME = k.TABLE_NAME AND"
                    " rc.CONSTRAINT_SCHEMA = ");
    /* a foreign key lives in its table's database: the constant, not
     * k.CONSTRAINT_SCHEMA, lets the server read that database only */
    if (db)
        mys_buf_literal(q, my, db);
    else
        dsrc_buf_add(q, "k.CONSTRAINT_SCHEMA");
    if (db && table) {
        dsrc_buf_add(q, " AND rc.TABLE_NAME = ");
        mys_buf_literal(q, my, table);
    }
    dsrc_buf_add(q, " WHERE k.REFERENCED_TABLE_NAME IS NOT NULL");
    if (db) {
        dsrc_buf_add(q, " AND k.TABLE_SCHEMA = ");
        mys_buf_literal(q, my, db);
        dsrc_buf_add(q, " AND k.CONSTRAINT_SCHEMA = ");
        mys_buf_literal(q, my, db);
        if (table) {
            dsrc_buf_add(q, " AND k.TABLE_NAME = ");
            mys_buf_literal(q, my, table);
        }
    } else if (!include_system) {
        dsrc_buf_add(q, " AND k.CONSTRAINT_SCHEMA NOT IN ('mysql', 'information_schema',"
                        " 'performance_schema', 'sys')");
    }
    dsrc_buf_add(q, " ORDER BY k.CONSTRAINT_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME,"
                    " k.ORDINAL_POSITION");
}

/* Deliver one record: `t` may be NULL (a table information_schema lists
 * columns for but no longer shows), `cols` may be empty; `scratch` may be
 * NULL (then the memory is freed before returning).  Returns the sink's
 * answer (0 continue), or -1 when out of memory. */
int mys_fk_row(dsrc_fk_list *l, MYSQL_ROW row)
{
    if (!row[2])
        return 0;
    if (!l->n || !l->v[l->n - 1].name || strcmp(l->v[l->n - 1].name, row[2]) != 0)
        dsrc_fk_begin(l, NULL, row[2], (const char *const *)&row[3], 2, row[5], row[6]);
    dsrc_fk_column(l, row[7], row[8]);
    return l->failed ? -1 : 0;
}

int mys_emit(const dsrc_meta_sink *sink, const char *db, const char *name,
             const mys_table *t, const mys_cols *cols, const char *indexes,
             const dsrc_fk_list *fks, mys_scratch *scratch)
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
        dc[i].type = mys_type_of_data_type(ci->data_type, ci->column_type, ci->is_json);
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
    if (fks) {
        md.foreign_keys = fks->v;
        md.n_foreign_keys = fks->n;
    }
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
dsrc_status mys_check_db(dsrc_conn *c, const char *db, dsrc_error *err)
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
    dsrc_status st;

    st = mys_query_table(c, "SELECT " MYS_TABLE_FIELDS " FROM information_schema.TABLES",
                         "TABLE_SCHEMA", db, name, NULL, res, "looking up the item", err);
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
    dsrc_fk_list fks = {0};
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
    if (st == DSRC_OK)
        st = mys_read_fks(c, p.db, p.name, &fks, err);
    if (st != DSRC_OK)
        goto out;
    if (dsrc_cancelled(mys_host, ctx)) {
        st = mys_cancelled_error(err, "describe");
        goto out;
    }
    mys_table_from_row(&t, trow);
    r = mys_emit(sink, p.db, t.name ? t.name : p.name, &t, &cols, indexes, &fks, NULL);
    if (r < 0)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else if (r > 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "describe stopped by the receiver");
out:
    if (tres)
        mysql_free_result(tres);
    dsrc_fk_free(&fks);
    free(indexes);
    mys_cols_free(&cols);
    mys_path_free(&p);
    return st;
}

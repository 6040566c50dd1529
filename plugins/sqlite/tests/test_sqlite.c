/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sqlite.c -- sqlite.so through the shared conformance suite, plus the
 * behaviours only an SQLite file has (read-only, never created, refused
 * when not a database, hostile identifiers, interrupt).
 *
 * The database is created here with libsqlite3 in the suite's temporary
 * directory; the plugin is loaded from $top_builddir/plugins/sqlite/.libs.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "conformance.h"
#include "base/ctx.h"
#include "plugin/source.h"

/* The conformance table: a hostile name, a column with spaces, NULLs,
 * blobs, REAL, text with quotes and line breaks. */
#define HOSTILE "a\"b; drop table x"

static const char *const sq_columns[] = {
    "id", "col with spaces", "amount", "data", "note", "updated_at", "flag"
};
static const dsrc_type sq_types[] = {
    DSRC_T_INT64, DSRC_T_TEXT, DSRC_T_DOUBLE, DSRC_T_BYTES, DSRC_T_TEXT, DSRC_T_TIMESTAMP,
    DSRC_T_BOOL
};
static const conf_value sq_values[] = {
    {"1", "col with spaces", DSRC_T_TEXT, "plain"},
    {"1", "amount", DSRC_T_DOUBLE, "1.5"},
    {"1", "data", DSRC_T_BYTES, "00ff10"},
    {"1", "note", DSRC_T_TEXT, "say \"hi\""},
    {"1", "updated_at", DSRC_T_TIMESTAMP, "2024-01-01 10:00:00"},
    {"1", "flag", DSRC_T_BOOL, "true"},
    {"2", "col with spaces", DSRC_T_NULL, NULL},
    {"2", "note", DSRC_T_TEXT, "line1\nline2"},
    {"2", "data", DSRC_T_NULL, NULL},
    {"2", "flag", DSRC_T_BOOL, "false"},
    {"3", "col with spaces", DSRC_T_TEXT, "it's"},
    {"3", "amount", DSRC_T_NULL, NULL},
    {"3", "data", DSRC_T_BYTES, ""},
    {"3", "note", DSRC_T_TEXT, ""},
    {"3", "updated_at", DSRC_T_NULL, NULL},
    {"4", "amount", DSRC_T_DOUBLE, "-4"},
    {"4", "note", DSRC_T_NULL, NULL},
    {"5", "amount", DSRC_T_DOUBLE, "50000000000"},
    {"5", "note", DSRC_T_TEXT, "a,b;c\r\n\t\\"},
};

static const char sq_schema_sql[] =
    "CREATE TABLE \"a\"\"b; drop table x\" ("
    "  id INTEGER PRIMARY KEY,"
    "  \"col with spaces\" TEXT,"
    "  amount REAL,"
    "  data BLOB,"
    "  note TEXT,"
    "  updated_at TIMESTAMP,"
    "  flag BOOLEAN);"
    "INSERT INTO \"a\"\"b; drop table x\" VALUES"
    "  (1, 'plain', 1.5, x'00ff10', 'say \"hi\"', '2024-01-01 10:00:00', 1),"
    "  (2, NULL, 2.25, NULL, 'line1' || char(10) || 'line2', '2024-01-02 10:00:00', 0),"
    "  (3, 'it''s', NULL, x'', '', NULL, NULL),"
    "  (4, 'four', -4.0, x'41', NULL, '2024-01-04 10:00:00', 1),"
    "  (5, 'five', 5e10, NULL, 'a,b;c' || char(13, 10, 9) || '\\', '2024-01-05 10:00:00', 0);"
    "CREATE TABLE x (id INTEGER);"
    "INSERT INTO x VALUES (1);"
    "CREATE TABLE customers ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name VARCHAR(80) NOT NULL,"
    "  created DATETIME DEFAULT CURRENT_TIMESTAMP,"
    "  score NUMERIC(10,2),"
    "  info JSON,"
    "  active BOOL,"
    "  photo BLOB,"
    "  anything);"
    "CREATE INDEX customers_name ON customers(name);"
    "INSERT INTO customers (name, created, score, info, active, anything) VALUES"
    "  ('Ann', '2023-05-01 08:00:00', 12.5, '{\"tier\":1}', 1, 7),"
    "  ('Bob', '2023-06-01', 3, NULL, 0, 'text'),"
    "  ('Cy', '2023-11-14T22:13:20Z', NULL, '[]', NULL, x'00');"
    "CREATE VIEW big_customers AS SELECT id, name FROM customers WHERE score > 10;"
    "CREATE VIEW forever AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)"
    "  SELECT count(*) AS n FROM c;"
    "CREATE TABLE \"with/slash\" (v TEXT);"
    "INSERT INTO \"with/slash\" VALUES ('s');"
    "CREATE TABLE ties (id INTEGER PRIMARY KEY, ts INTEGER);"
    "INSERT INTO ties VALUES (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (8, 4),"
    "  (9, 5), (10, 5), (11, NULL), (12, NULL);"
    "CREATE TABLE \"we\"\"ird/t%1\" (v TEXT);"
    "INSERT INTO \"we\"\"ird/t%1\" VALUES ('w');";

static const char sq_broken_sql[] =
    "CREATE TABLE good (a INTEGER);"
    "CREATE TABLE gone (b TEXT);"
    "CREATE VIEW bad_view AS SELECT b FROM gone;"
    "DROP TABLE gone;";

/* Values a BOOLEAN or JSON column holds that must come back as stored:
 * only 0 and 1 are booleans; JSON text is JSON. */
static const char sq_values_sql[] =
    "CREATE TABLE v (k INTEGER PRIMARY KEY, b BOOLEAN, j JSON, r REAL);"
    "INSERT INTO v VALUES"
    "  (1, 0, '{\"a\":1}', 9e999),"
    "  (2, 1, '[1,2]', -9e999),"
    "  (3, 2, 'not json', 0.5),"
    "  (4, -1, NULL, NULL),"
    "  (5, 'yes', '\"s\"', NULL),"
    "  (6, 'T', 'null', NULL),"
    "  (7, 'on', '1', NULL),"
    "  (8, 'false', x'7b7d', NULL);";

static char sq_db[PATH_MAX];
static int sq_have_fts;          /* the FTS5 table "docs" could be created */
static char *sq_orig;            /* the database file's bytes after setup */
static size_t sq_orig_len;

/* ------------------------------------------------------------------------ */
/* Setup                                                                     */

static int sq_create(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(path, &db);

    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "test_sqlite: creating %s: %s\n", path,
                msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The conformance suite's golden table, in `path`. */
static int sq_create_golden(const char *path)
{
    char **sql = conf_golden_sql(CONF_GOLDEN_SQLITE, NULL);
    size_t i;
    int rc = sql ? 0 : -1;

    for (i = 0; rc == 0 && sql[i]; i++)
        rc = sq_create(path, sql[i]);
    conf_golden_free(sql);
    return rc;
}

static int sq_write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static int sq_setup(conf_fixture *fx, const char *tmp)
{
    char path[PATH_MAX + 64], conn[PATH_MAX + 128];

    snprintf(sq_db, sizeof sq_db, "%s/test.db", tmp);
    if (sq_create(sq_db, sq_schema_sql) != 0 || sq_create_golden(sq_db) != 0)
        return -1;
    /* A virtual table with shadow tables, where this SQLite has FTS5. */
    sq_have_fts = sqlite3_compileoption_used("ENABLE_FTS5") &&
                  sq_create(sq_db, "CREATE VIRTUAL TABLE docs USING fts5(body);"
                                   "INSERT INTO docs VALUES ('hello world');") == 0;
    sq_orig = conf_read_file(sq_db, &sq_orig_len);
    if (!sq_orig)
        return -1;
    if (snprintf(fx->connection, sizeof fx->connection, "path = \"%s\";", sq_db) >=
            (int)sizeof fx->connection ||
        snprintf(fx->bad_connection, sizeof fx->bad_connection, "path = \"%s/missing.db\";",
                 tmp) >= (int)sizeof fx->bad_connection)
        return -1;
    fx->bad_status = DSRC_E_NOT_FOUND;

    /* Sources for the sqlite-specific cases. */
    snprintf(path, sizeof path, "%s/notdb.txt", tmp);
    if (sq_write_text(path, "hello, this is not a database\n") != 0)
        return -1;
    snprintf(conn, sizeof conn, "path = \"%s\";", path);
    if (conf_write_source("notdb", conn) != 0)
        return -1;

    snprintf(path, sizeof path, "%s/adir", tmp);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(conn, sizeof conn, "path = \"%s\";", path);
    if (conf_write_source("adir", conn) != 0)
        return -1;

    snprintf(path, sizeof path, "%s/broken.db", tmp);
    if (sq_create(path, sq_broken_sql) != 0)
        return -1;
    snprintf(conn, sizeof conn, "path = \"%s\";", path);
    if (conf_write_source("broken", conn) != 0)
        return -1;

    snprintf(path, sizeof path, "%s/values.db", tmp);
    if (sq_create(path, sq_values_sql) != 0)
        return -1;
    snprintf(conn, sizeof conn, "path = \"%s\";", path);
    if (conf_write_source("vals", conn) != 0)
        return -1;

    snprintf(conn, sizeof conn, "path = \"%s\"; immutable = true; busy_timeout = \"250ms\";",
             sq_db);
    if (conf_write_source("imm", conn) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* sqlite-specific cases                                                     */

START_TEST(t_missing_file_not_created)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    derr e = {0};
    char path[PATH_MAX + 32];

    ck_assert_int_eq(conf_env_open(env, "conf_bad", &c, &e), DSRC_E_NOT_FOUND);
    ck_assert_msg(e.msg && strstr(e.msg, "missing.db"), "message: %s", e.msg ? e.msg : "");
    snprintf(path, sizeof path, "%s/missing.db", conf_tmpdir());
    ck_assert_msg(access(path, F_OK) != 0 && errno == ENOENT, "%s was created", path);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_not_a_database)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    derr e = {0};
    char path[PATH_MAX + 32];
    size_t len = 0;
    char *after;

    ck_assert_int_eq(conf_env_open(env, "notdb", &c, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(e.msg && strstr(e.msg, "not an SQLite database"), "message: %s",
                  e.msg ? e.msg : "");
    ck_assert_str_eq(e.code, "NOTADB");
    snprintf(path, sizeof path, "%s/notdb.txt", conf_tmpdir());
    after = conf_read_file(path, &len);
    ck_assert_ptr_nonnull(after);
    ck_assert_uint_eq(len, strlen("hello, this is not a database\n"));
    ck_assert_int_eq(memcmp(after, "hello, this is not a database\n", len), 0);
    free(after);
    derr_clear(&e);

    ck_assert_int_eq(conf_env_open(env, "adir", &c, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(e.msg && strstr(e.msg, "directory"), "message: %s", e.msg ? e.msg : "");
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

START_TEST(t_read_only)
{
    source_conn *c = conf_conn();
    conf_items l;
    conf_md m;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    size_t len = 0;
    char *after;
    char side[PATH_MAX + 32];
    static const char *const suffixes[] = {"-journal", "-wal", "-shm"};
    size_t i;

    ck_assert_int_eq(conf_list(c, "", &l, &e), DSRC_OK);
    ck_assert_int_eq(conf_list(c, "main", &l, &e), DSRC_OK);
    conf_md_init(&m, NULL);
    ck_assert_int_eq(conf_describe(c, "customers", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_discover(c, NULL, 0, &m, &e), DSRC_OK);
    conf_req(&req, HOSTILE);
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    conf_rows_free(&r);
    conf_req(&req, "customers");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3);
    conf_rows_free(&r);

    after = conf_read_file(sq_db, &len);
    ck_assert_ptr_nonnull(after);
    ck_assert_uint_eq(len, sq_orig_len);
    ck_assert_msg(memcmp(after, sq_orig, len) == 0, "the database file changed");
    free(after);
    for (i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", sq_db, suffixes[i]);
        ck_assert_msg(access(side, F_OK) != 0, "%s was created", side);
    }
    derr_clear(&e);
}
END_TEST

START_TEST(t_hostile_names)
{
    source_conn *c = conf_conn();
    conf_md m;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"col with spaces"};
    const char *sql;

    /* The CREATE statement shows the name quoted, and table x survives. */
    conf_md_init(&m, "main/" HOSTILE);
    ck_assert_int_eq(conf_describe(c, "main/" HOSTILE, &m, &e), DSRC_OK);
    sql = conf_md_prop(&m, "sql");
    ck_assert_ptr_nonnull(sql);
    ck_assert_msg(strstr(sql, "\"a\"\"b; drop table x\"") != NULL, "sql: %s", sql);
    ck_assert_str_eq(conf_md_prop(&m, "rows"), "5");

    conf_expect_rows(c, "x", 1);

    /* A column whose name has spaces, alone, with a cursor on it. */
    conf_req(&req, HOSTILE);
    req.columns = cols;
    req.n_columns = 1;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 5);
    ck_assert_str_eq(r.names[0], "col with spaces");
    conf_rows_free(&r);

    /* A hostile cursor value is a value, not SQL. */
    conf_req(&req, HOSTILE);
    req.cursor_field = "note";
    req.cursor_value = "' OR 1=1; --";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3); /* every non-empty note sorts after the quote */
    conf_rows_free(&r);
    req.cursor_value = "z";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 0);
    conf_rows_free(&r);

    /* Identifiers that are not in the table are refused, not spliced. */
    cols[0] = "id\" FROM x; --";
    conf_req(&req, HOSTILE);
    req.columns = cols;
    req.n_columns = 1;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

START_TEST(t_paths)
{
    source_conn *c = conf_conn();
    conf_md m;
    conf_items l;
    derr e = {0};

    conf_md_init(&m, NULL);
    ck_assert_int_eq(conf_describe(c, "x", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_describe(c, "main/x", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_describe(c, "X", &m, &e), DSRC_OK); /* SQLite names ignore case */
    ck_assert_int_eq(conf_describe(c, "with/slash", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_describe(c, "main/with/slash", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_describe(c, "main/with%2fslash", &m, &e), DSRC_OK);
    ck_assert_int_eq(conf_describe(c, "main/we\"ird%2Ft%251", &m, &e), DSRC_OK);
    ck_assert_uint_eq(m.calls, 7);
    ck_assert_str_eq(m.path[0], "main/x");
    ck_assert_str_eq(m.path[1], "main/x");
    ck_assert_str_eq(m.path[2], "main/x");
    ck_assert_str_eq(m.path[3], "main/with%2Fslash"); /* printed escaped */
    ck_assert_str_eq(m.path[4], "main/with%2Fslash");
    ck_assert_str_eq(m.path[5], "main/with%2Fslash");
    ck_assert_str_eq(m.path[6], "main/we\"ird%2Ft%251");
    ck_assert_int_eq(conf_describe(c, "main/t%1", &m, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "'%1' is not an escape") != NULL, "message: %s", e.msg);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(c, "ma%zzin", &l, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);

    ck_assert_int_eq(conf_describe(c, "", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_describe(c, "main/", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_describe(c, "main/nosuch", &m, &e), DSRC_E_NOT_FOUND);
    ck_assert_msg(strstr(e.msg, "nosuch") != NULL, "message: %s", e.msg);
    derr_clear(&e);
    ck_assert_int_eq(conf_describe(c, "sqlite_master", &m, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_uint_eq(m.calls, 7);

    ck_assert_int_eq(conf_list(c, "main/x", &l, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(c, "nosuch", &l, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(c, "main/", &l, &e), DSRC_OK);
    ck_assert_int_ge(l.n, 5);
    derr_clear(&e);
}
END_TEST

START_TEST(t_list)
{
    source_conn *c = conf_conn();
    conf_items l;
    derr e = {0};
    ssize_t i;
    size_t k;

    ck_assert_int_eq(conf_list(c, "", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.path[0], "main");
    ck_assert_int_eq(l.kind[0], DSRC_ITEM_SCHEMA);
    ck_assert_int_eq(l.container[0], 1);

    ck_assert_int_eq(conf_list(c, "main", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 9 + 2 /* the foreign-key pair */ + (size_t)sq_have_fts);
    for (k = 0; k < l.n; k++) {
        ck_assert_msg(strncmp(l.path[k], "main/sqlite_", 12) != 0, "internal table listed: %s",
                      l.path[k]);
        ck_assert_msg(strncmp(l.path[k], "main/docs_", 10) != 0, "shadow table listed: %s",
                      l.path[k]);
    }
    if (sq_have_fts) {
        i = conf_items_find(&l, "main/docs");
        ck_assert_int_ge(i, 0);
        ck_assert_int_eq(l.kind[i], DSRC_ITEM_TABLE);
        ck_assert_int_eq(l.rows[i], 1);
    }
    i = conf_items_find(&l, "main/customers");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_TABLE);
    ck_assert_int_eq(l.rows[i], 3);
    i = conf_items_find(&l, "main/x");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.rows[i], 1);
    i = conf_items_find(&l, "main/big_customers");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_VIEW);
    ck_assert_int_eq(l.rows[i], -1);
    i = conf_items_find(&l, "main/forever");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(l.kind[i], DSRC_ITEM_VIEW);
    ck_assert_int_ge(conf_items_find(&l, "main/with%2Fslash"), 0);
    derr_clear(&e);
}
END_TEST

START_TEST(t_describe_types)
{
    source_conn *c = conf_conn();
    conf_md m;
    derr e = {0};
    static const struct {
        const char *name, *native;
        dsrc_type type;
        int nullable, pk;
        const char *dflt;
    } want[] = {
        {"id", "INTEGER", DSRC_T_INT64, 0, 1, "(null)"}, /* a rowid: never NULL */
        {"name", "VARCHAR(80)", DSRC_T_TEXT, 0, 0, "(null)"},
        {"created", "DATETIME", DSRC_T_TIMESTAMP, 1, 0, "CURRENT_TIMESTAMP"},
        {"score", "NUMERIC(10,2)", DSRC_T_TEXT, 1, 0, "(null)"},
        {"info", "JSON", DSRC_T_JSON, 1, 0, "(null)"},
        {"active", "BOOL", DSRC_T_BOOL, 1, 0, "(null)"},
        {"photo", "BLOB", DSRC_T_BYTES, 1, 0, "(null)"},
        {"anything", "", DSRC_T_TEXT, 1, 0, "(null)"},
    };
    size_t i;
    const char *idx, *sql;

    conf_md_init(&m, "main/customers");
    ck_assert_int_eq(conf_describe(c, "customers", &m, &e), DSRC_OK);
    ck_assert_int_eq(m.kind[0], DSRC_ITEM_TABLE);
    ck_assert_int_eq(m.rows[0], 3);
    ck_assert_uint_eq(m.n_cols, sizeof want / sizeof want[0]);
    for (i = 0; i < m.n_cols; i++) {
        ck_assert_str_eq(m.col[i][0], want[i].name);
        ck_assert_str_eq(m.col[i][1], want[i].native);
        ck_assert_msg(m.col_type[i] == want[i].type, "%s: type %d, expected %d", want[i].name,
                      (int)m.col_type[i], (int)want[i].type);
        ck_assert_int_eq(m.col_null[i], want[i].nullable);
        ck_assert_int_eq(m.col_pk[i], want[i].pk);
        ck_assert_str_eq(m.col[i][2], want[i].dflt);
    }
    idx = conf_md_prop(&m, "indexes");
    ck_assert_ptr_nonnull(idx);
    ck_assert_msg(strstr(idx, "customers_name") != NULL, "indexes: %s", idx);
    sql = conf_md_prop(&m, "sql");
    ck_assert_ptr_nonnull(sql);
    ck_assert_msg(strncmp(sql, "CREATE TABLE customers", 22) == 0, "sql: %s", sql);
    ck_assert_str_eq(conf_md_prop(&m, "rows"), "3");

    /* A view: columns, no row count. */
    conf_md_init(&m, "main/big_customers");
    ck_assert_int_eq(conf_describe(c, "big_customers", &m, &e), DSRC_OK);
    ck_assert_int_eq(m.kind[0], DSRC_ITEM_VIEW);
    ck_assert_int_eq(m.rows[0], -1);
    ck_assert_uint_eq(m.n_cols, 2);
    ck_assert_ptr_null(conf_md_prop(&m, "rows"));
    derr_clear(&e);
}
END_TEST

START_TEST(t_cell_types)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};

    /* Cells follow each value's own type, except BOOL and dates. */
    conf_req(&req, "customers");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3);
    ck_assert_uint_eq(r.n_columns, 8);
    /* Ann */
    ck_assert_int_eq(r.types[0 * 8 + 2], DSRC_T_TIMESTAMP);
    ck_assert_str_eq(r.text[0 * 8 + 2], "2023-05-01 08:00:00");
    ck_assert_int_eq(r.types[0 * 8 + 3], DSRC_T_DOUBLE);
    ck_assert_str_eq(r.text[0 * 8 + 3], "12.5");
    ck_assert_int_eq(r.types[0 * 8 + 4], DSRC_T_JSON);
    ck_assert_str_eq(r.text[0 * 8 + 4], "{\"tier\":1}");
    ck_assert_int_eq(r.types[0 * 8 + 5], DSRC_T_BOOL);
    ck_assert_str_eq(r.text[0 * 8 + 5], "true");
    ck_assert_int_eq(r.types[0 * 8 + 6], DSRC_T_NULL);
    ck_assert_int_eq(r.types[0 * 8 + 7], DSRC_T_INT64);
    /* Bob */
    ck_assert_int_eq(r.types[1 * 8 + 2], DSRC_T_TIMESTAMP);
    ck_assert_int_eq(r.types[1 * 8 + 3], DSRC_T_INT64);
    ck_assert_int_eq(r.types[1 * 8 + 5], DSRC_T_BOOL);
    ck_assert_str_eq(r.text[1 * 8 + 5], "false");
    ck_assert_int_eq(r.types[1 * 8 + 7], DSRC_T_TEXT);
    /* Cy; an untyped column's values keep their own types */
    ck_assert_int_eq(r.types[2 * 8 + 2], DSRC_T_TIMESTAMP);
    ck_assert_int_eq(r.types[2 * 8 + 3], DSRC_T_NULL);
    ck_assert_int_eq(r.types[2 * 8 + 4], DSRC_T_JSON);
    ck_assert_int_eq(r.types[2 * 8 + 5], DSRC_T_NULL);
    ck_assert_int_eq(r.types[2 * 8 + 7], DSRC_T_BYTES);
    ck_assert_str_eq(r.text[2 * 8 + 7], "00");
    conf_rows_free(&r);
    derr_clear(&e);
}
END_TEST

/* A BOOLEAN column turns 0 and 1 into booleans; any other value (2, -1,
 * 'yes') is one its type cannot carry: the fetch fails naming the row and
 * the column, rather than sending a cell the host refuses.  A JSON
 * column's values are JSON, whatever SQLite stored; infinities stay
 * doubles. */
START_TEST(t_values_as_stored)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    const char *bcols[] = {"k", "b"}, *jcols[] = {"k", "j", "r"};
    static const struct {
        dsrc_type jt;
        const char *j;
    } want[] = {
        {DSRC_T_JSON, "{\"a\":1}"}, {DSRC_T_JSON, "[1,2]"}, {DSRC_T_JSON, "not json"},
        {DSRC_T_NULL, NULL},        {DSRC_T_JSON, "\"s\""}, {DSRC_T_JSON, "null"},
        {DSRC_T_INT64, "1"}, /* JSON's affinity is NUMERIC */
        {DSRC_T_BYTES, "7b7d"},
    };
    size_t i;

    ck_assert_int_eq(conf_env_open(env, "vals", &c, &e), DSRC_OK);
    conf_req(&req, "v");
    req.columns = bcols;
    req.n_columns = 2;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_BACKEND);
    ck_assert_msg(strstr(e.msg, "'v' row 3: column 'b' is declared BOOLEAN but holds an integer"),
                  "%s", e.msg);
    conf_rows_free(&r);
    derr_clear(&e);
    req.limit = 2; /* 0 and 1 only */
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_int_eq(r.col_types[1], DSRC_T_BOOL);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "b"), "false");
    ck_assert_str_eq(conf_rows_cell(&r, 1, "b"), "true");
    conf_rows_free(&r);

    conf_req(&req, "v");
    req.columns = jcols;
    req.n_columns = 3;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 8);
    ck_assert_int_eq(r.col_types[1], DSRC_T_JSON);
    for (i = 0; i < r.n_rows; i++) {
        ck_assert_msg(conf_rows_type(&r, i, "j") == want[i].jt, "row %zu: j type %d", i + 1,
                      (int)conf_rows_type(&r, i, "j"));
        if (want[i].j)
            ck_assert_str_eq(conf_rows_cell(&r, i, "j"), want[i].j);
    }
    ck_assert_int_eq(conf_rows_type(&r, 0, "r"), DSRC_T_DOUBLE);
    ck_assert_str_eq(conf_rows_cell(&r, 0, "r"), "inf");
    ck_assert_str_eq(conf_rows_cell(&r, 1, "r"), "-inf");
    conf_rows_free(&r);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_discover_catalog)
{
    source_conn *c = conf_conn();
    conf_md m;
    derr e = {0};
    ssize_t i;
    size_t k;

    conf_md_init(&m, "main/customers");
    ck_assert_int_eq(conf_discover(c, NULL, 0, &m, &e), DSRC_OK);
    ck_assert_uint_eq(m.n, 9 + 2 /* the foreign-key pair */ + (size_t)sq_have_fts);
    for (k = 0; k < m.n; k++) {
        ck_assert_msg(strncmp(m.path[k], "main/sqlite_", 12) != 0, "internal table: %s",
                      m.path[k]);
        ck_assert_msg(strncmp(m.path[k], "main/docs_", 10) != 0, "shadow table: %s", m.path[k]);
    }
    if (sq_have_fts)
        ck_assert_uint_eq(m.n_columns[conf_md_find(&m, "main/docs")], 1);
    i = conf_md_find(&m, "main/customers");
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 8);
    ck_assert_int_eq(m.col_pk[0], 1);
    ck_assert_str_eq(m.col[1][1], "VARCHAR(80)");
    ck_assert_int_eq(m.col_null[1], 0);
    ck_assert_ptr_nonnull(conf_md_prop(&m, "sql"));
    i = conf_md_find(&m, "main/forever");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(m.kind[i], DSRC_ITEM_VIEW);
    ck_assert_uint_eq(m.n_columns[i], 1);
    i = conf_md_find(&m, "main/" HOSTILE);
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 7);

    /* One schema by path; internal tables on request. */
    conf_md_init(&m, NULL);
    ck_assert_int_eq(conf_discover(c, "main", 1, &m, &e), DSRC_OK);
    ck_assert_int_ge(conf_md_find(&m, "main/sqlite_sequence"), 0);
    ck_assert_int_ge(conf_md_find(&m, "main/customers"), 0);

    ck_assert_int_eq(conf_discover(c, "nosuch", 1, &m, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
}
END_TEST

START_TEST(t_broken_view)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    conf_md m;
    conf_items l;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    ssize_t i;

    ck_assert_int_eq(conf_env_open(env, "broken", &c, &e), DSRC_OK);
    conf_md_init(&m, NULL);
    ck_assert_msg(conf_discover(c, NULL, 0, &m, &e) == DSRC_OK, "discover: %s", e.msg);
    ck_assert_uint_eq(m.n, 2);
    i = conf_md_find(&m, "main/good");
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 1);
    i = conf_md_find(&m, "main/bad_view");
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(m.n_columns[i], 0);

    ck_assert_int_eq(conf_list(c, "main", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_int_eq(conf_describe(c, "bad_view", &m, &e), DSRC_E_BACKEND);
    ck_assert_msg(e.msg && strstr(e.msg, "gone"), "message: %s", e.msg ? e.msg : "");
    ck_assert_str_eq(e.code, "ERROR");
    derr_clear(&e);
    conf_req(&req, "bad_view");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_BACKEND);
    conf_rows_free(&r);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_cursor_types)
{
    source_conn *c = conf_conn();
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    derr e = {0};
    static const struct {
        const char *field, *after;
        size_t rows;
        const char *max;
    } cases[] = {
        {"updated_at", "2024-01-02 10:00:00", 2, "2024-01-05 10:00:00"},
        {"amount", "1.5", 2, "50000000000"},
        {"amount", "-10", 4, "50000000000"},
        {"col with spaces", "five", 3, "plain"},
        {"id", "4", 1, "5"},
        {"id", "abc", 0, NULL}, /* text sorts after every integer */
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conf_req(&req, HOSTILE);
        req.cursor_field = cases[i].field;
        req.cursor_value = cases[i].after;
        ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
        ck_assert_msg(r.n_rows == cases[i].rows, "%s > %s: %zu rows, expected %zu",
                      cases[i].field, cases[i].after, r.n_rows, cases[i].rows);
        if (cases[i].max) {
            ck_assert_int_eq(res.has_cursor, 1);
            ck_assert_str_eq(res.cursor_max, cases[i].max);
        } else {
            ck_assert_int_eq(res.has_cursor, 0);
        }
        conf_rows_free(&r);
    }
    derr_clear(&e);
}
END_TEST

typedef struct sq_canceller {
    conf_counter count;      /* schema_calls: the query is about to run   */
    int use_driver;          /* 1: the driver's cancel(); 0: the flag     */
} sq_canceller;

/* Wait until the fetch has sent its schema (its statement then runs
 * without producing a row), give it time to be inside sqlite3_step(),
 * then cancel. */
static void *sq_cancel_thread(void *arg)
{
    sq_canceller *k = arg;
    struct timespec ts = {0, 10 * 1000 * 1000};
    int i;

    for (i = 0; i < 3000 && !atomic_load(&k->count.schema_calls); i++)
        nanosleep(&ts, NULL);
    ts.tv_nsec = 200 * 1000 * 1000;
    nanosleep(&ts, NULL);
    conf_interrupt_while_busy(k->count.conn, k->use_driver, 200);
    return NULL;
}

static void sq_run_cancel(int use_driver)
{
    source_conn *c = conf_conn();
    sq_canceller k;
    dsrc_fetch_req req;
    dsrc_row_sink sink;
    derr e = {0};
    double secs;

    memset(&k, 0, sizeof k);
    sink = conf_counter_sink(&k.count, c, 0, 0);
    k.use_driver = use_driver;

    conf_req(&req, "forever");
    ck_assert_int_eq(conf_fetch_beside(c, &req, &sink, NULL, sq_cancel_thread, &k, &secs, &e),
                     DSRC_E_CANCELLED);
    ck_assert_msg(secs < 20, "cancellation took %.1f s", secs);
    ck_assert_int_eq(atomic_load(&k.count.schema_calls), 1);
    ck_assert_str_eq(e.code, "INTERRUPT");
    ck_assert_int_eq(atomic_load(&k.count.rows), 0);
    derr_clear(&e);

    /* The connection works again once the flag is cleared. */
    atomic_store(&c->cancel, 0);
    conf_expect_rows(c, "x", 1);
}

START_TEST(t_cancel_interrupt)
{
    sq_run_cancel(1);
}
END_TEST

START_TEST(t_cancel_flag_during_query)
{
    sq_run_cancel(0);
}
END_TEST

START_TEST(t_ping_info)
{
    dsrc_ping_info info;
    derr e = {0};

    ck_assert_int_eq(source_ping(conf_conn(), &info, NULL, &e), DSRC_OK);
    ck_assert_int_eq(info.role, DSRC_ROLE_STANDALONE);
    ck_assert_msg(strncmp(info.server_version, "SQLite 3.", 9) == 0, "version: %s",
                  info.server_version);
    ck_assert_str_eq(info.endpoint, sq_db);
}
END_TEST

START_TEST(t_immutable_and_modes)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};

    ck_assert_int_eq(conf_env_open(env, "imm", &c, &e), DSRC_OK);
    conf_req(&req, HOSTILE);
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 5);
    conf_rows_free(&r);

    /* CSV is served as rows; raw bytes are not something a table has. */
    req.mode = DSRC_FETCH_CSV;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 5);
    conf_rows_free(&r);
    req.mode = DSRC_FETCH_RAW;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_UNSUPPORTED);
    conf_rows_free(&r);
    derr_clear(&e);
    source_close(c);
    conf_env_free(env);
}
END_TEST

/* Between calls a connection keeps no page cache: dsrcd keeps a connection
 * per source open between runs, and a thousand sources must fit in a few
 * megabytes.  (SQLite's first read allocates page cache for 20 pages,
 * about 85 KB, which it otherwise keeps until the connection closes.) */
START_TEST(t_idle_connection_memory)
{
    enum { N = 20 };
    conf_env *env = conf_env_new();
    source_conn *c[N];
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};
    struct dsrc_ctx ctx;
    dsrc_error perr;
    dsrc_storage_info info;
    sqlite3_int64 before, per;
    int i;
    const char *cols[] = {"k", "j", "r"};

    before = sqlite3_memory_used();
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(conf_env_open(env, "vals", &c[i], &e), DSRC_OK);
        conf_req(&req, "v");
        req.columns = cols; /* b holds values a BOOLEAN cannot carry */
        req.n_columns = 3;
        ck_assert_int_eq(conf_fetch_all(c[i], &req, &r, NULL, &e), DSRC_OK);
        ck_assert_uint_eq(r.n_rows, 8);
        conf_rows_free(&r);
        /* the health probe's storage call reads pages too */
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        ctx_init(&ctx, "vals", "sqlite", NULL);
        error_init(&perr);
        ck_assert_int_eq(c[i]->drv->storage(&ctx, c[i]->conn, &info, &perr), DSRC_OK);
        ck_assert_int_eq(info.items, 1);
    }
    per = (sqlite3_memory_used() - before) / N;
    ck_assert_msg(per < 40 * 1024, "an idle connection holds %lld bytes of SQLite memory",
                  (long long)per);
    for (i = 0; i < N; i++)
        source_close(c[i]);
    conf_env_free(env);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* query (ABI 1.4)                                                           */

/* What a query sent: schema calls, rows, the first cell of each of the
 * first rows (rendered), the column count. */
typedef struct sq_qrows {
    int schema_calls;
    size_t n_cols, n_rows;
    char *first[8];
} sq_qrows;

static int sq_q_schema(void *user, const dsrc_column *cols, size_t n)
{
    sq_qrows *r = user;

    (void)cols;
    r->schema_calls++;
    r->n_cols = n;
    return 0;
}

static int sq_q_row(void *user, const dsrc_cell *cells, size_t n)
{
    sq_qrows *r = user;

    if (n && r->n_rows < 8)
        r->first[r->n_rows] = conf_render(&cells[0]);
    r->n_rows++;
    return 0;
}

static void sq_qrows_free(sq_qrows *r)
{
    size_t i;

    for (i = 0; i < 8; i++)
        free(r->first[i]);
    memset(r, 0, sizeof *r);
}

/* Run `text` with its n parameters on c, into r (emptied first). */
static dsrc_status sq_q(source_conn *c, const char *text, const char *const *params, size_t n,
                        int64_t limit, int64_t timeout_ms, sq_qrows *r,
                        dsrc_fetch_result *res, derr *e)
{
    dsrc_row_sink sink = {sizeof sink, r, sq_q_schema, sq_q_row};
    dsrc_query_req q;

    sq_qrows_free(r);
    memset(&q, 0, sizeof q);
    q.struct_size = sizeof q;
    q.text = text;
    q.params = params;
    q.n_params = n;
    q.limit = limit;
    q.timeout_ms = timeout_ms;
    return source_query(c, &q, &sink, res, e);
}

/* The number of rows of table x, read through a query. */
static long sq_count_x(source_conn *c)
{
    sq_qrows r = {0};
    derr e = {0};
    long n;

    ck_assert_int_eq(sq_q(c, "SELECT count(*) FROM x", NULL, 0, -1, 0, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    n = strtol(r.first[0], NULL, 10);
    sq_qrows_free(&r);
    return n;
}

START_TEST(t_query_params)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    dsrc_fetch_result res;
    derr e = {0};
    const char *bob[] = {"Bob"}, *inject[] = {"' OR 1=1 --"}, *drop[] = {"x; DROP TABLE x"};
    const char *two[] = {"Ann", "Cy"}, *null1[] = {NULL};

    ck_assert(loader_driver(c->src->plugin)->capabilities & DSRC_CAP_QUERY);
    ck_assert_int_eq(sq_q(c, "SELECT name, score FROM customers WHERE name = ?", bob, 1, -1, 0,
                          &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_uint_eq(res.rows, 1);
    ck_assert_str_eq(r.first[0], "Bob");
    /* a value is a value: never SQL */
    ck_assert_int_eq(sq_q(c, "SELECT name FROM customers WHERE name = ?", inject, 1, -1, 0, &r,
                          NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_int_eq(r.schema_calls, 1);
    ck_assert_int_eq(sq_q(c, "SELECT name FROM customers WHERE name = ?1 OR name = ?1", drop, 1,
                          -1, 0, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_int_eq(sq_count_x(c), 1);
    /* in order; an integer column compares a text parameter as a number */
    ck_assert_int_eq(sq_q(c, "SELECT name FROM customers WHERE name IN (?, ?) ORDER BY name",
                          two, 2, -1, 0, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(r.first[0], "Ann");
    ck_assert_str_eq(r.first[1], "Cy");
    bob[0] = "2";
    ck_assert_int_eq(sq_q(c, "SELECT name FROM customers WHERE id = ?", bob, 1, -1, 0, &r, NULL,
                          &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_str_eq(r.first[0], "Bob");
    /* NULL is SQL's NULL */
    ck_assert_int_eq(sq_q(c, "SELECT ? IS NULL", null1, 1, -1, 0, &r, NULL, &e), DSRC_OK);
    ck_assert_str_eq(r.first[0], "1");
    /* the count must match */
    ck_assert_int_eq(sq_q(c, "SELECT ?, ?", bob, 1, -1, 0, &r, NULL, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "2 parameters, 1 given"), "%s", e.msg);
    derr_clear(&e);
    ck_assert_int_eq(sq_q(c, "SELECT 1", bob, 1, -1, 0, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    ck_assert_int_eq(r.schema_calls, 0);
    derr_clear(&e);
    sq_qrows_free(&r);
}
END_TEST

START_TEST(t_query_writes_refused)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    derr e = {0};
    char attach[PATH_MAX + 64];
    size_t len, i;
    char *now;
    static const char *const writes[] = {
        "INSERT INTO x VALUES (2)",
        "UPDATE x SET id = 5",
        "DELETE FROM x",
        "CREATE TABLE y (a INTEGER)",
        "DROP TABLE x",
        "ALTER TABLE x ADD COLUMN z TEXT",
        "CREATE INDEX xi ON x(id)",
        "CREATE TEMP TABLE t (a)",
        "REPLACE INTO x VALUES (3)",
        "WITH n(v) AS (SELECT 9) INSERT INTO x SELECT v FROM n",
        "VACUUM",
        "PRAGMA query_only = 0",
        "PRAGMA user_version = 7",
        "DETACH main",
    };

    for (i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        ck_assert_msg(sq_q(c, writes[i], NULL, 0, -1, 0, &r, NULL, &e) == DSRC_E_PERMISSION ||
                          (i >= sizeof writes / sizeof writes[0] - 1 &&
                           e.status == DSRC_E_BACKEND),
                      "%s: %s", writes[i], e.msg ? e.msg : "accepted");
        ck_assert_ptr_nonnull(e.msg);
        /* SQLite's own words */
        ck_assert_msg(strstr(e.msg, "attempt to write a readonly database") ||
                          strstr(e.msg, "not authorized") ||
                          strstr(e.msg, "authorization denied") ||
                          strstr(e.msg, "no such database"),
                      "%s: %s", writes[i], e.msg);
        derr_clear(&e);
    }
    /* ATTACH would open (or create) another file */
    snprintf(attach, sizeof attach, "ATTACH '%s.other' AS o", sq_db);
    ck_assert_int_eq(sq_q(c, attach, NULL, 0, -1, 0, &r, NULL, &e), DSRC_E_PERMISSION);
    derr_clear(&e);
    snprintf(attach, sizeof attach, "%s.other", sq_db);
    ck_assert_int_eq(access(attach, F_OK), -1);
    /* nothing changed: the rows, and the file to the byte */
    ck_assert_int_eq(sq_count_x(c), 1);
    now = conf_read_file(sq_db, &len);
    ck_assert_ptr_nonnull(now);
    ck_assert_uint_eq(len, sq_orig_len);
    ck_assert(memcmp(now, sq_orig, len) == 0);
    free(now);
    /* reading pragmas still work, and the connection serves fetches */
    ck_assert_int_eq(sq_q(c, "SELECT name FROM pragma_table_info('x')", NULL, 0, -1, 0, &r, NULL,
                          &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    conf_expect_rows(c, "x", 1);
    sq_qrows_free(&r);
}
END_TEST

START_TEST(t_query_one_statement)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    derr e = {0};

    ck_assert_int_eq(sq_q(c, "SELECT 1; DELETE FROM x", NULL, 0, -1, 0, &r, NULL, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "more than one statement"), "%s", e.msg);
    ck_assert_int_eq(r.schema_calls, 0);
    derr_clear(&e);
    ck_assert_int_eq(sq_q(c, "SELECT 1; SELECT 2", NULL, 0, -1, 0, &r, NULL, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(sq_count_x(c), 1);
    /* blanks and comments after the statement are no statement */
    ck_assert_int_eq(sq_q(c, "SELECT 1;  -- done\n/* end */ ", NULL, 0, -1, 0, &r, NULL, &e),
                     DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 1);
    ck_assert_int_eq(sq_q(c, "  -- nothing", NULL, 0, -1, 0, &r, NULL, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(sq_q(c, "SELEC 1", NULL, 0, -1, 0, &r, NULL, &e), DSRC_E_BACKEND);
    ck_assert_msg(strstr(e.msg, "syntax error"), "%s", e.msg);
    derr_clear(&e);
    sq_qrows_free(&r);
}
END_TEST

START_TEST(t_query_limit_and_schema)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    dsrc_fetch_result res;
    derr e = {0};

    ck_assert_int_eq(sq_q(c, "SELECT * FROM ties ORDER BY id", NULL, 0, 3, 0, &r, &res, &e),
                     DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3);
    ck_assert_uint_eq(res.rows, 3);
    ck_assert_int_eq(res.mode, DSRC_FETCH_ROWS);
    ck_assert_int_eq(res.has_cursor, 0);
    ck_assert_uint_eq(r.n_cols, 2);
    /* limit 0 and an empty result: the schema once, no row */
    ck_assert_int_eq(sq_q(c, "SELECT * FROM ties", NULL, 0, 0, 0, &r, &res, &e), DSRC_OK);
    ck_assert_int_eq(r.schema_calls, 1);
    ck_assert_uint_eq(r.n_rows, 0);
    ck_assert_int_eq(sq_q(c, "SELECT * FROM ties WHERE id < 0", NULL, 0, -1, 0, &r, &res, &e),
                     DSRC_OK);
    ck_assert_int_eq(r.schema_calls, 1);
    ck_assert_uint_eq(r.n_cols, 2);
    ck_assert_uint_eq(r.n_rows, 0);
    /* a limit stops reading: an endless statement ends */
    ck_assert_int_eq(sq_q(c, "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n) "
                             "SELECT v FROM n", NULL, 0, 5, 0, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 5);
    ck_assert_str_eq(r.first[4], "5");
    sq_qrows_free(&r);
}
END_TEST

#define SQ_FOREVER                                                                \
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"

START_TEST(t_query_timeout)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    derr e = {0};
    double t0 = conf_now(), secs;

    ck_assert_int_eq(sq_q(c, SQ_FOREVER, NULL, 0, -1, 200, &r, NULL, &e), DSRC_E_TIMEOUT);
    secs = conf_now() - t0;
    ck_assert_msg(secs >= 0.15 && secs < 30, "the 200 ms limit stopped it after %.2f s", secs);
    ck_assert_msg(strstr(e.msg, "time limit (200 ms)"), "%s", e.msg);
    ck_assert_uint_eq(r.n_rows, 0);
    derr_clear(&e);
    /* the limit was the call's: the next query has none */
    ck_assert_int_eq(sq_q(c, "SELECT count(*) FROM customers", NULL, 0, -1, 0, &r, NULL, &e),
                     DSRC_OK);
    ck_assert_str_eq(r.first[0], "3");
    sq_qrows_free(&r);
}
END_TEST

static void sq_query_cancel(int use_driver)
{
    source_conn *c = conf_conn();
    sq_qrows r = {0};
    conf_canceller k = {c, use_driver, 200}; /* sqlite3_interrupt() or the flag */
    pthread_t th;
    derr e = {0};
    double t0 = conf_now(), secs;

    ck_assert_int_eq(pthread_create(&th, NULL, conf_cancel_thread, &k), 0);
    ck_assert_int_eq(sq_q(c, SQ_FOREVER, NULL, 0, -1, 0, &r, NULL, &e), DSRC_E_CANCELLED);
    secs = conf_now() - t0;
    pthread_join(th, NULL);
    ck_assert_msg(secs < 10, "cancellation took %.1f s", secs);
    ck_assert_uint_eq(r.n_rows, 0);
    derr_clear(&e);
    atomic_store(&c->cancel, 0);
    ck_assert_int_eq(sq_count_x(c), 1);
    sq_qrows_free(&r);
}

START_TEST(t_query_cancel_interrupt)
{
    sq_query_cancel(1);
}
END_TEST

START_TEST(t_query_cancel_flag)
{
    sq_query_cancel(0);
}
END_TEST

/* Names with '/', '%' and quotes, as list and discover print them. */
static const char *const sq_odd_items[] = {"main/with%2Fslash", "main/we\"ird%2Ft%251",
                                           "main/" HOSTILE, NULL};
/* A view that counts forever. */
static const char *const sq_skip_items[] = {"main/forever", NULL};

int main(void)
{
    static conf_fixture fx;
    const char *top = getenv("top_builddir");
    TCase *tc;
    int rc;

    memset(&fx, 0, sizeof fx);
    fx.plugin = "sqlite";
    snprintf(fx.plugin_dir, sizeof fx.plugin_dir, "%s/plugins/sqlite/.libs",
             top && *top ? top : ".");
    fx.setup = sq_setup;
    fx.table = "main/" HOSTILE;
    fx.table_name = HOSTILE;
    fx.table_parent = "main";
    fx.table_kind = DSRC_ITEM_TABLE;
    fx.columns = sq_columns;
    fx.column_types = sq_types;
    fx.n_columns = sizeof sq_columns / sizeof sq_columns[0];
    fx.pk_column = "id";
    fx.rows = 5;
    fx.values = sq_values;
    fx.n_values = sizeof sq_values / sizeof sq_values[0];
    fx.cursor_field = "id";
    fx.cursor_value = "2";
    fx.cursor_rows = 3;
    fx.cursor_max = "5";
    fx.ties_item = "main/ties";
    fx.ties_key = "id";
    fx.ties_cursor = "ts";
    fx.missing_item = "main/no_such_table";
    fx.quirks = CONF_QUIRK_NO_FK_NAMES; /* the foreign_key_list pragma has none */
    fx.odd_items = sq_odd_items;
    fx.skip_items = sq_skip_items;
    fx.golden = CONF_GOLDEN_SQLITE;
    fx.golden_item = "main/" CONF_GOLDEN_TABLE;
    fx.fk_parent_item = "main/" CONF_FK_PARENT;
    fx.fk_child_item = "main/" CONF_FK_CHILD;

    tc = tcase_create("sqlite");
    tcase_add_test(tc, t_missing_file_not_created);
    tcase_add_test(tc, t_not_a_database);
    tcase_add_test(tc, t_read_only);
    tcase_add_test(tc, t_hostile_names);
    tcase_add_test(tc, t_paths);
    tcase_add_test(tc, t_list);
    tcase_add_test(tc, t_describe_types);
    tcase_add_test(tc, t_cell_types);
    tcase_add_test(tc, t_values_as_stored);
    tcase_add_test(tc, t_discover_catalog);
    tcase_add_test(tc, t_broken_view);
    tcase_add_test(tc, t_cursor_types);
    tcase_add_test(tc, t_cancel_interrupt);
    tcase_add_test(tc, t_cancel_flag_during_query);
    tcase_add_test(tc, t_ping_info);
    tcase_add_test(tc, t_immutable_and_modes);
    tcase_add_test(tc, t_idle_connection_memory);
    tcase_add_test(tc, t_query_params);
    tcase_add_test(tc, t_query_writes_refused);
    tcase_add_test(tc, t_query_one_statement);
    tcase_add_test(tc, t_query_limit_and_schema);
    tcase_add_test(tc, t_query_timeout);
    tcase_add_test(tc, t_query_cancel_interrupt);
    tcase_add_test(tc, t_query_cancel_flag);

    rc = conf_main(&fx, tc);
    free(sq_orig);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_example.c -- the SDK example plugin (csvdir, built from
 * sdk/example/csvdir.c as tests/conformance/csvdir.la) through the shared
 * conformance suite, plus its CSV-specific behaviour.
 */
#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conformance.h"
#include "plugin/source.h"

static const char *const ex_columns[] = {"id", "customer", "amount", "paid", "note"};
static const dsrc_type ex_types[] = {
    DSRC_T_INT64, DSRC_T_TEXT, DSRC_T_DOUBLE, DSRC_T_BOOL, DSRC_T_TEXT
};
static const conf_value ex_values[] = {
    {"1", "customer", DSRC_T_TEXT, "Alice"},
    {"1", "amount", DSRC_T_DOUBLE, "10.5"},
    {"1", "paid", DSRC_T_BOOL, "true"},
    {"1", "note", DSRC_T_TEXT, "hello, world"},
    {"2", "amount", DSRC_T_DOUBLE, "20"},
    {"2", "note", DSRC_T_TEXT, "line1\nline2"},
    {"3", "customer", DSRC_T_TEXT, "Carol \"CJ\""},
    {"3", "paid", DSRC_T_BOOL, "true"},
    {"3", "note", DSRC_T_NULL, NULL},
    {"4", "amount", DSRC_T_NULL, NULL},
    {"4", "note", DSRC_T_TEXT, "plain"},
    {"5", "note", DSRC_T_TEXT, ""},
};

static const char ex_orders[] =
    "id,customer,amount,paid,note\n"
    "1,Alice,10.5,true,\"hello, world\"\n"
    "2,Bob,20,false,\"line1\nline2\"\n"
    "3,\"Carol \"\"CJ\"\"\",30.25,TRUE,\n"
    "4,Dave,,false,plain\r\n"
    "\n"
    "5,Eve,50,true,\"\"\n";

static int ex_write(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        return -1;
    }
    fputs(text, fp);
    return fclose(fp);
}

/* Keys 1..10 with cursor values 1,1,2,2,...,5,5, out of cursor order, and
 * 11 and 12 with none. */
static const char ex_ties[] =
    "id,ts\n7,4\n1,1\n10,5\n4,2\n12,\n5,3\n2,1\n9,5\n3,2\n11,\n8,4\n6,3\n";

static int ex_subdir(const char *tmp, const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", tmp, name);
    return mkdir(out, 0700);
}

static int ex_setup(conf_fixture *fx, const char *tmp)
{
    char dir[PATH_MAX], conn[PATH_MAX + 128];
    FILE *fp;
    char path[PATH_MAX + 64], *golden;
    int i, rc;

    if (ex_subdir(tmp, "csv", dir, sizeof dir) != 0 ||
        ex_write(dir, "orders.csv", ex_orders) != 0 ||
        ex_write(dir, "other.csv", "a,b\n") != 0 ||
        ex_write(dir, "ties.csv", ex_ties) != 0 ||
        ex_write(dir, "100% \"sure\".csv", "k,v\n1,x\n") != 0 ||
        ex_write(dir, "readme.txt", "not a table\n") != 0 ||
        ex_write(dir, ".hidden.csv", "x\n1\n") != 0)
        return -1;
    /* The conformance suite's golden table, as dsrc writes it. */
    golden = conf_golden_csv();
    rc = golden ? ex_write(dir, CONF_GOLDEN_TABLE ".csv", golden) : -1;
    free(golden);
    if (rc != 0)
        return -1;
    if (snprintf(fx->connection, sizeof fx->connection, "dir = \"%s\";", dir) >=
            (int)sizeof fx->connection ||
        snprintf(fx->bad_connection, sizeof fx->bad_connection, "dir = \"%s/nope\";", tmp) >=
            (int)sizeof fx->bad_connection)
        return -1;
    fx->bad_status = DSRC_E_NOT_FOUND;

    if (ex_subdir(tmp, "semi", dir, sizeof dir) != 0 ||
        ex_write(dir, "data.csv", "1;x\r\n2;\"y;z\"\r\n") != 0)
        return -1;
    snprintf(conn, sizeof conn, "dir = \"%s\"; delimiter = \";\"; header = false;", dir);
    if (conf_write_source("semi", conn) != 0)
        return -1;

    if (ex_subdir(tmp, "broken", dir, sizeof dir) != 0 ||
        ex_write(dir, "unterminated.csv", "a,b\n1,2\n3,\"open\n4,5\n") != 0 ||
        ex_write(dir, "wide.csv", "a,b\n1,2,3\n") != 0 ||
        ex_write(dir, "empty.csv", "") != 0)
        return -1;
    snprintf(conn, sizeof conn, "dir = \"%s\";", dir);
    if (conf_write_source("broken", conn) != 0)
        return -1;

    /* More rows than type inference scans; a late value that is not an
     * integer. */
    if (ex_subdir(tmp, "many", dir, sizeof dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/many.csv", dir);
    fp = fopen(path, "w");
    if (!fp)
        return -1;
    fprintf(fp, "n,label\n");
    for (i = 1; i <= 2500; i++) {
        if (i == 1500)
            fprintf(fp, "oops,late\n");
        else
            fprintf(fp, "%d,row %d\n", i, i);
    }
    if (fclose(fp) != 0)
        return -1;
    snprintf(conn, sizeof conn, "dir = \"%s\";", dir);
    if (conf_write_source("many", conn) != 0)
        return -1;

    snprintf(conn, sizeof conn, "dir = \"%s/csv\"; delimiter = \";;\";", tmp);
    if (conf_write_source("baddelim", conn) != 0)
        return -1;
    snprintf(conn, sizeof conn, "dir = \"%s/csv/orders.csv\";", tmp);
    if (conf_write_source("notdir", conn) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

typedef struct ex_md {
    int calls;
    char path[64];
    int64_t rows;
    size_t n_columns;
    char names[8][32];
    dsrc_type types[8];
} ex_md;

static int ex_md_cb(void *user, const dsrc_metadata *md)
{
    ex_md *m = user;
    size_t i;
    m->calls++;
    snprintf(m->path, sizeof m->path, "%s", md->item->path);
    m->rows = md->item->rows;
    m->n_columns = md->n_columns;
    for (i = 0; i < md->n_columns && i < 8; i++) {
        snprintf(m->names[i], sizeof m->names[i], "%s", md->columns[i].name);
        m->types[i] = md->columns[i].type;
    }
    return 0;
}

static dsrc_status ex_describe(source_conn *c, const char *item, ex_md *m, derr *e)
{
    dsrc_meta_sink s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.user = m;
    s.metadata = ex_md_cb;
    memset(m, 0, sizeof *m);
    return source_describe(c, item, &s, e);
}

/* ------------------------------------------------------------------------ */
/* csvdir-specific cases                                                     */

START_TEST(t_list_files)
{
    conf_items l;
    derr e = {0};
    struct stat sb;
    char path[PATH_MAX + 64];

    ck_assert_int_eq(conf_list(conf_conn(), "", &l, &e), DSRC_OK);
    ck_assert_uint_eq(l.n, 5); /* not readme.txt, not .hidden.csv */
    ck_assert_str_eq(l.path[0], "100%25 \"sure\".csv"); /* '%' escaped */
    ck_assert_str_eq(l.path[1], CONF_GOLDEN_TABLE ".csv");
    ck_assert_str_eq(l.path[2], "orders.csv");
    ck_assert_str_eq(l.path[3], "other.csv");
    ck_assert_str_eq(l.path[4], "ties.csv");
    ck_assert_int_eq(l.kind[2], DSRC_ITEM_FILE);
    snprintf(path, sizeof path, "%s/csv/orders.csv", conf_tmpdir());
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(l.size[2], (int64_t)sb.st_size);
    ck_assert_int_eq(l.mtime[2], (int64_t)sb.st_mtime);

    /* A file is a leaf. */
    ck_assert_int_eq(conf_list(conf_conn(), "orders.csv", &l, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(conf_list(conf_conn(), "nosuch.csv", &l, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
}
END_TEST

START_TEST(t_item_names)
{
    ex_md m;
    derr e = {0};

    ck_assert_int_eq(ex_describe(conf_conn(), "orders", &m, &e), DSRC_OK);
    ck_assert_str_eq(m.path, "orders.csv");
    ck_assert_int_eq(m.rows, 5);
    ck_assert_int_eq(ex_describe(conf_conn(), "../csv/orders.csv", &m, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(ex_describe(conf_conn(), "/etc/passwd", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(ex_describe(conf_conn(), ".hidden.csv", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(ex_describe(conf_conn(), "readme.txt", &m, &e), DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(ex_describe(conf_conn(), "", &m, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    /* A decoded '/' is no way out either; a bare '%' is no escape. */
    ck_assert_int_eq(ex_describe(conf_conn(), "..%2Fcsv%2Forders.csv", &m, &e),
                     DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    ck_assert_int_eq(ex_describe(conf_conn(), "100% \"sure\".csv", &m, &e),
                     DSRC_E_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "'% \"' is not an escape"), "message: %s", e.msg);
    derr_clear(&e);
    ck_assert_int_eq(m.calls, 0);

    /* The escaped name, as listed, with or without its extension. */
    ck_assert_int_eq(ex_describe(conf_conn(), "100%25 \"sure\"", &m, &e), DSRC_OK);
    ck_assert_str_eq(m.path, "100%25 \"sure\".csv");
    ck_assert_int_eq(m.rows, 1);

    /* A header with no rows: columns, all TEXT, zero rows. */
    ck_assert_int_eq(ex_describe(conf_conn(), "other.csv", &m, &e), DSRC_OK);
    ck_assert_uint_eq(m.n_columns, 2);
    ck_assert_int_eq(m.types[0], DSRC_T_TEXT);
    ck_assert_int_eq(m.rows, 0);
}
END_TEST

START_TEST(t_delimiter_no_header)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    ex_md m;
    dsrc_fetch_req req;
    conf_rows r;
    derr e = {0};

    ck_assert_int_eq(conf_env_open(env, "semi", &c, &e), DSRC_OK);
    ck_assert_int_eq(ex_describe(c, "data.csv", &m, &e), DSRC_OK);
    ck_assert_uint_eq(m.n_columns, 2);
    ck_assert_str_eq(m.names[0], "column1");
    ck_assert_str_eq(m.names[1], "column2");
    ck_assert_int_eq(m.types[0], DSRC_T_INT64);
    ck_assert_int_eq(m.types[1], DSRC_T_TEXT);
    ck_assert_int_eq(m.rows, 2);

    conf_req(&req, "data.csv");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 2);
    ck_assert_str_eq(r.text[0], "1");
    ck_assert_str_eq(r.text[1], "x");
    ck_assert_str_eq(r.text[3], "y;z");
    conf_rows_free(&r);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_malformed)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    ex_md m;
    dsrc_fetch_req req;
    conf_rows r;
    dsrc_meta_sink s;
    derr e = {0};

    ck_assert_int_eq(conf_env_open(env, "broken", &c, &e), DSRC_OK);

    conf_req(&req, "unterminated.csv");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_BACKEND);
    ck_assert_msg(strstr(e.msg, "line 3") && strstr(e.msg, "quoted"), "message: %s", e.msg);
    conf_rows_free(&r);
    derr_clear(&e);

    conf_req(&req, "wide.csv");
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_BACKEND);
    ck_assert_msg(strstr(e.msg, "line 2"), "message: %s", e.msg);
    conf_rows_free(&r);
    derr_clear(&e);

    ck_assert_int_eq(ex_describe(c, "empty.csv", &m, &e), DSRC_E_BACKEND);
    ck_assert_msg(strstr(e.msg, "empty"), "message: %s", e.msg);
    derr_clear(&e);

    /* Discover skips what it cannot read and goes on. */
    memset(&m, 0, sizeof m);
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.user = &m;
    s.metadata = ex_md_cb;
    ck_assert_int_eq(source_discover(c, NULL, &s, &e), DSRC_OK);
    ck_assert_int_eq(m.calls, 0);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_inference_window)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    ex_md m;
    dsrc_fetch_req req;
    dsrc_fetch_result res;
    conf_rows r;
    derr e = {0};
    const char *cols[] = {"n"};

    ck_assert_int_eq(conf_env_open(env, "many", &c, &e), DSRC_OK);
    ck_assert_int_eq(ex_describe(c, "many.csv", &m, &e), DSRC_OK);
    ck_assert_int_eq(m.types[0], DSRC_T_INT64); /* "oops" is past the first 1000 */
    ck_assert_int_eq(m.rows, 2500);

    conf_req(&req, "many.csv");
    req.columns = cols;
    req.n_columns = 1;
    /* "oops" does not fit: the fetch fails, naming the line and column
     * (a text cell in an int64 column would break the host's contract). */
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_BACKEND);
    ck_assert_ptr_nonnull(strstr(e.msg, "many.csv line 1501: column 'n' is an integer"));
    ck_assert_ptr_nonnull(strstr(e.msg, "'oops'"));
    conf_rows_free(&r);
    derr_clear(&e);

    /* Numeric cursor: 2001..2500, not a text comparison ("999" > "2000"). */
    req.cursor_field = "n";
    req.cursor_value = "2000";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 500);
    ck_assert_int_eq(res.has_cursor, 1);
    ck_assert_str_eq(res.cursor_max, "2500");
    conf_rows_free(&r);

    req.cursor_value = "not a number";
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    conf_rows_free(&r);
    derr_clear(&e);

    /* A limit with a cursor: cursor_max is the highest value sent. */
    req.cursor_value = "10";
    req.limit = 3;
    ck_assert_int_eq(conf_fetch_all(c, &req, &r, &res, &e), DSRC_OK);
    ck_assert_uint_eq(r.n_rows, 3);
    ck_assert_str_eq(res.cursor_max, "13");
    conf_rows_free(&r);
    source_close(c);
    conf_env_free(env);
}
END_TEST

START_TEST(t_bad_options_specific)
{
    conf_env *env = conf_env_new();
    source_conn *c;
    derr e = {0};

    ck_assert_int_eq(conf_env_open(env, "baddelim", &c, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(e.msg, "delimiter"), "message: %s", e.msg);
    derr_clear(&e);
    ck_assert_int_eq(conf_env_open(env, "notdir", &c, &e), DSRC_E_INVALID_CONFIG);
    ck_assert_msg(strstr(e.msg, "not a directory"), "message: %s", e.msg);
    derr_clear(&e);
    conf_env_free(env);
}
END_TEST

/* A file named with '%' and quotes, as list and discover print it. */
static const char *const ex_odd_items[] = {"100%25 \"sure\".csv", NULL};

int main(void)
{
    static conf_fixture fx;
    const char *top = getenv("top_builddir");
    TCase *tc;

    memset(&fx, 0, sizeof fx);
    fx.plugin = "csvdir";
    snprintf(fx.plugin_dir, sizeof fx.plugin_dir, "%s/tests/conformance/.libs",
             top && *top ? top : ".");
    fx.setup = ex_setup;
    fx.table = "orders.csv";
    fx.table_name = "orders.csv";
    fx.table_parent = "";
    fx.table_kind = DSRC_ITEM_FILE;
    fx.columns = ex_columns;
    fx.column_types = ex_types;
    fx.n_columns = sizeof ex_columns / sizeof ex_columns[0];
    fx.pk_column = NULL;
    fx.rows = 5;
    fx.values = ex_values;
    fx.n_values = sizeof ex_values / sizeof ex_values[0];
    fx.cursor_field = "id";
    fx.cursor_value = "2";
    fx.cursor_rows = 3;
    fx.cursor_max = "5";
    fx.ties_item = "ties.csv"; /* out of cursor order in the file */
    fx.ties_key = "id";
    fx.ties_cursor = "ts";
    fx.missing_item = "nosuch.csv";
    /* Files have no keys, listing does not read them, and the example
     * filters on the cursor without sorting. */
    fx.quirks = CONF_QUIRK_NO_PK | CONF_QUIRK_NO_LIST_ROWS | CONF_QUIRK_CURSOR_UNSORTED;
    fx.odd_items = ex_odd_items;
    fx.golden = CONF_GOLDEN_CSV;
    fx.golden_item = CONF_GOLDEN_TABLE ".csv";

    tc = tcase_create("csvdir");
    tcase_add_test(tc, t_list_files);
    tcase_add_test(tc, t_item_names);
    tcase_add_test(tc, t_delimiter_no_header);
    tcase_add_test(tc, t_malformed);
    tcase_add_test(tc, t_inference_window);
    tcase_add_test(tc, t_bad_options_specific);
    return conf_main(&fx, tc);
}

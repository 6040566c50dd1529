/* SPDX-License-Identifier: Apache-2.0 */
/* test_manifest.c -- the manifest JSON beside each fetched file. */
#include <config.h>

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "unit_tmp.h"
#include "output/fetch.h"
#include "output/manifest.h"

static manifest sample(dsrc_column cols[2])
{
    static const char *const req[] = {"id", "total"};
    manifest m;

    memset(cols, 0, 2 * sizeof *cols);
    cols[0].name = "id";
    cols[0].type = DSRC_T_INT64;
    cols[0].native_type = "INTEGER";
    cols[0].nullable = 0;
    cols[0].primary_key = 1;
    cols[1].name = "total";
    cols[1].type = DSRC_T_DOUBLE;
    cols[1].native_type = NULL;
    cols[1].nullable = -1;

    memset(&m, 0, sizeof m);
    m.source = "demo";
    m.plugin = "sqlite";
    m.item = "main/orders";
    m.file = "/var/lib/dsrc/workspace/demo/main/orders/20240131T120000.123Z.csv";
    m.format = "csv";
    m.media_type = "text/csv";
    m.rows = 1234;
    m.bytes = 56789;
    m.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    m.started.tv_sec = 1706702400; /* 2024-01-31T12:00:00Z */
    m.started.tv_nsec = 123456789;
    m.finished.tv_sec = 1706702401;
    m.finished.tv_nsec = 5000000;
    m.columns = cols;
    m.n_columns = 2;
    m.cursor_field = "id";
    m.cursor_from = NULL;
    m.cursor_to = "1234";
    m.limit = 5000;
    m.req_columns = req;
    m.n_req_columns = 2;
    return m;
}

START_TEST(round_trip)
{
    dsrc_column cols[2];
    manifest m = sample(cols);
    char *s = manifest_json(&m);
    json_t *j, *schema, *c0, *c1, *cur, *reqc;
    json_error_t err;
    const char *key;
    json_t *val;
    static const char *const order[] = {
        "source", "plugin", "item", "file", "format", "media_type", "rows", "bytes",
        "sha256", "started_at", "finished_at", "schema", "cursor", "limit", "columns",
        "mask", "dsrc_version"};
    size_t k = 0;

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_gt(strlen(s), 2);
    ck_assert_int_eq(s[strlen(s) - 1], '\n');
    ck_assert_ptr_nonnull(strstr(s, "\n  \"source\": \"demo\""));   /* indented */
    j = json_loads(s, 0, &err);
    ck_assert_msg(j != NULL, "%s", err.text);

    /* keys in the documented order */
    json_object_foreach(j, key, val) {
        (void)val;
        ck_assert_uint_lt(k, sizeof order / sizeof order[0]);
        ck_assert_str_eq(key, order[k]);
        k++;
    }
    ck_assert_uint_eq(k, sizeof order / sizeof order[0]);

    ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "demo");
    ck_assert_str_eq(json_string_value(json_object_get(j, "plugin")), "sqlite");
    ck_assert_str_eq(json_string_value(json_object_get(j, "item")), "main/orders");
    ck_assert_str_eq(json_string_value(json_object_get(j, "file")), "20240131T120000.123Z.csv");
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "csv");
    ck_assert_str_eq(json_string_value(json_object_get(j, "media_type")), "text/csv");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows")), 1234);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), 56789);
    ck_assert_str_eq(json_string_value(json_object_get(j, "sha256")), m.sha256);
    ck_assert_str_eq(json_string_value(json_object_get(j, "started_at")),
                     "2024-01-31T12:00:00.123Z");
    ck_assert_str_eq(json_string_value(json_object_get(j, "finished_at")),
                     "2024-01-31T12:00:01.005Z");

    schema = json_object_get(j, "schema");
    ck_assert(json_is_array(schema));
    ck_assert_uint_eq(json_array_size(schema), 2);
    c0 = json_array_get(schema, 0);
    c1 = json_array_get(schema, 1);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "name")), "id");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "type")), "int64");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "native_type")), "INTEGER");
    ck_assert(json_is_false(json_object_get(c0, "nullable")));
    ck_assert_int_eq(json_integer_value(json_object_get(c0, "primary_key")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(c1, "type")), "double");
    ck_assert(json_is_null(json_object_get(c1, "native_type")));
    ck_assert(json_is_null(json_object_get(c1, "nullable")));
    ck_assert_int_eq(json_integer_value(json_object_get(c1, "primary_key")), 0);

    cur = json_object_get(j, "cursor");
    ck_assert_str_eq(json_string_value(json_object_get(cur, "field")), "id");
    ck_assert(json_is_null(json_object_get(cur, "from")));
    ck_assert_str_eq(json_string_value(json_object_get(cur, "to")), "1234");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "limit")), 5000);
    reqc = json_object_get(j, "columns");
    ck_assert_uint_eq(json_array_size(reqc), 2);
    ck_assert_str_eq(json_string_value(json_array_get(reqc, 1)), "total");
    ck_assert_str_eq(json_string_value(json_object_get(j, "dsrc_version")), PACKAGE_VERSION);
    json_decref(j);
    free(s);
}
END_TEST

/* The masked columns, their modes and the key's id; never the key. */
START_TEST(mask_recorded)
{
    dsrc_column cols[2];
    manifest m = sample(cols);
    mask_rule rules[2] = {{"email", MASK_HASH, MASK_UNIT_NONE},
                          {"born", MASK_TRUNCATE, MASK_YEAR}};
    json_t *j, *mk, *mc;
    char *s;

    m.mask = rules;
    m.n_mask = 2;
    m.mask_key_id = "0011223344556677";
    s = manifest_json(&m);
    ck_assert_ptr_nonnull(s);
    j = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(j);
    mk = json_object_get(j, "mask");
    ck_assert(json_is_object(mk));
    mc = json_object_get(mk, "columns");
    ck_assert_uint_eq(json_object_size(mc), 2);
    ck_assert_str_eq(json_string_value(json_object_get(mc, "email")), "hash");
    ck_assert_str_eq(json_string_value(json_object_get(mc, "born")), "truncate:year");
    ck_assert_str_eq(json_string_value(json_object_get(mk, "algorithm")), "hmac-sha256");
    ck_assert_str_eq(json_string_value(json_object_get(mk, "key_id")), "0011223344556677");
    json_decref(j);
    free(s);
}
END_TEST

/* A query's manifest: its text and the parameters' hash, no item. */
START_TEST(query_recorded)
{
    dsrc_column cols[2];
    manifest m = sample(cols);
    json_t *j;
    char *s;

    m.item = NULL;
    m.query = "SELECT * FROM t WHERE a = ?";
    m.params_sha256 = "58344411ce3d4b84717505f0fcace64a6e8d560e8195f3b3c3ad1f880d979c71";
    s = manifest_json(&m);
    ck_assert_ptr_nonnull(s);
    j = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "query")), m.query);
    ck_assert_str_eq(json_string_value(json_object_get(j, "params_sha256")), m.params_sha256);
    ck_assert_ptr_null(json_object_get(j, "item"));
    json_decref(j);
    free(s);
}
END_TEST

/* The parameters' hash: length-prefixed, NULL apart from "", a known
 * value for one parameter, the hash of nothing for none. */
START_TEST(params_hash)
{
    const char *x[] = {"x"}, *null1[] = {NULL}, *empty[] = {""};
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
    char h1[65], h2[65];

    fetch_params_sha256(x, 1, h1);
    ck_assert_str_eq(h1, "58344411ce3d4b84717505f0fcace64a6e8d560e8195f3b3c3ad1f880d979c71");
    fetch_params_sha256(NULL, 0, h1);
    ck_assert_str_eq(h1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fetch_params_sha256(null1, 1, h1);
    ck_assert_str_eq(h1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    fetch_params_sha256(empty, 1, h2);
    ck_assert_str_ne(h1, h2);
    fetch_params_sha256(ab_c, 2, h1);
    fetch_params_sha256(a_bc, 2, h2);
    ck_assert_str_ne(h1, h2);
    ck_assert_uint_eq(strlen(h1), 64);
}
END_TEST

START_TEST(optional_fields_null)
{
    manifest m;
    char *s;
    json_t *j;

    memset(&m, 0, sizeof m);
    m.source = "s";
    m.plugin = "p";
    m.item = "blob.bin";
    m.file = "blob.bin";
    m.format = "raw";
    m.limit = -1;
    s = manifest_json(&m);
    ck_assert_ptr_nonnull(s);
    j = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "file")), "blob.bin");
    ck_assert(json_is_null(json_object_get(j, "media_type")));
    ck_assert(json_is_null(json_object_get(j, "cursor")));
    ck_assert(json_is_null(json_object_get(j, "limit")));
    ck_assert(json_is_null(json_object_get(j, "columns")));
    ck_assert(json_is_null(json_object_get(j, "mask")));
    ck_assert(json_is_null(json_object_get(j, "sha256")));
    ck_assert(json_is_array(json_object_get(j, "schema")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "schema")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "started_at")),
                     "1970-01-01T00:00:00.000Z");
    json_decref(j);
    free(s);
}
END_TEST

START_TEST(strings_escaped)
{
    manifest m;
    char *s;
    json_t *j;

    memset(&m, 0, sizeof m);
    m.source = "we\"ird\\name\n";
    m.plugin = "p";
    m.item = "caf\xc3\xa9/\xff";
    m.file = "x";
    m.format = "csv";
    m.limit = -1;
    s = manifest_json(&m);
    ck_assert_ptr_nonnull(s);
    j = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "we\"ird\\name\n");
    ck_assert(json_is_string(json_object_get(j, "item")));
    json_decref(j);
    free(s);
}
END_TEST

START_TEST(time_format)
{
    char buf[32];
    struct timespec ts = {0, 0};

    manifest_time(&ts, buf);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
    ts.tv_sec = 951782400; /* 2000-02-29 */
    ts.tv_nsec = 999999999;
    manifest_time(&ts, buf);
    ck_assert_str_eq(buf, "2000-02-29T00:00:00.999Z");
    ts.tv_sec = 4102444799; /* 2099-12-31T23:59:59 */
    ts.tv_nsec = 1000000;
    manifest_time(&ts, buf);
    ck_assert_str_eq(buf, "2099-12-31T23:59:59.001Z");
}
END_TEST

START_TEST(write_file)
{
    char dir[] = "/tmp/dsrc-manifest-XXXXXX";
    char *path, *s;
    dsrc_column cols[2];
    manifest m = sample(cols);
    derr e = {0};
    json_t *j;
    json_error_t err;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_ge(asprintf(&path, "%s/sub/x.csv.manifest.json", dir), 0);
    ck_assert_int_eq(manifest_write(&m, path, &e), DSRC_OK);
    j = json_load_file(path, 0, &err);
    ck_assert_msg(j != NULL, "%s", err.text);
    s = manifest_json(&m);
    {
        json_t *again = json_loads(s, 0, NULL);
        ck_assert(json_equal(j, again));
        json_decref(again);
    }
    json_decref(j);
    free(s);
    free(path);

    /* a path that cannot be written is an error naming it */
    ck_assert_int_ge(asprintf(&path, "%s/sub/x.csv.manifest.json/y", dir), 0);
    ck_assert_int_ne(manifest_write(&m, path, &e), DSRC_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    derr_clear(&e);
    free(path);
    unit_tmp_remove(dir);
}
END_TEST

static Suite *manifest_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("manifest");

    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, optional_fields_null);
    tcase_add_test(tc, mask_recorded);
    tcase_add_test(tc, query_recorded);
    tcase_add_test(tc, params_hash);
    tcase_add_test(tc, strings_escaped);
    tcase_add_test(tc, time_format);
    tcase_add_test(tc, write_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(manifest_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* test_queries.c -- the history of read-only queries in the state store:
 * the parameters' hash, records added and listed, never a parameter's
 * value nor a secret, the audit record beside each, pruning with the
 * runs, a removed source's history dropped, a store of schema 5
 * upgraded. */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_tmp.h"
#include "store_env.h"
#include "base/redact.h"
#include "output/fetch.h"
#include "store/audit.h"
#include "store/query.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dsrc-queries-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    unit_tmp_remove(dir);
    redact_clear();
}

static store *open_ok(void)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    return s;
}

static void hash_of(const char *const *p, size_t n, char *hex)
{
    fetch_params_sha256(p, n, hex);
    ck_assert_uint_eq(strlen(hex), 64);
}

/* The hash the history keeps (the manifest's) tells lists apart. */
START_TEST(params_hash_tells_lists_apart)
{
    static const char *const ab[] = {"a", "b"}, *const ab1[] = {"ab"},
                             *const abnull[] = {"ab", NULL}, *const empty[] = {""},
                             *const null1[] = {NULL};
    char h1[65], h2[65], h3[65], h4[65], h5[65], h6[65];

    hash_of(ab, 2, h1);
    ck_assert_str_eq(h1, "a14a77efaa26e678aefddb05d7a130293166ad015dad27bdcde5d972b4f39d88");
    hash_of(abnull, 2, h3);
    ck_assert_str_eq(h3, "6428f8f2c2ef7d92a9beb047617c6c0f81dfa61cf54fef391e56add03a290b13");
    hash_of(ab1, 1, h2);
    hash_of(empty, 1, h4);
    hash_of(null1, 1, h5);
    hash_of(NULL, 0, h6);
    ck_assert_str_ne(h1, h2);
    ck_assert_str_ne(h2, h3);
    ck_assert_str_ne(h4, h5);
    ck_assert_str_ne(h5, h6);
    ck_assert_str_ne(h4, h6);
    hash_of(ab, 2, h2); /* the same list, the same hash */
    ck_assert_str_eq(h1, h2);
}
END_TEST

static int64_t add(store *s, const char *source, const char *text, const char *result,
                   int64_t rows)
{
    store_query_rec r = {.source = source, .endpoint = "primary", .caller = "uid 1000 (alice)",
                         .text = text, .n_params = 0, .rows = rows, .bytes = rows * 10,
                         .duration_ms = 12, .result = result,
                         .error = strcmp(result, "ok") ? "cannot execute INSERT in a "
                                                         "read-only transaction" : NULL};
    derr e = {0};
    int64_t id = 0;

    ck_assert_msg(store_query_add(s, &r, &id, &e) == DSRC_OK, "add: %s", e.msg ? e.msg : "?");
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(records_listed_newest_first)
{
    static const char *const params[] = {"4711", NULL};
    store *s = open_ok();
    store_query_rec r = {.source = "pg", .endpoint = "replica-1", .caller = "token ci",
                         .text = "SELECT * FROM orders WHERE id = $1 AND note IS $2",
                         .n_params = 2, .rows = 1, .bytes = 42, .duration_ms = 7,
                         .result = "ok", .started_at = 1700000000123LL};
    char hex[65], *dump;
    derr e = {0};
    json_t *arr, *o;
    int64_t id1, id2, id3;

    hash_of(params, 2, hex);
    r.params_sha256 = hex;
    ck_assert_int_eq(store_query_add(s, &r, &id1, &e), DSRC_OK);
    id2 = add(s, "my", "SELECT 1", "ok", 1);
    id3 = add(s, "pg", "INSERT INTO t VALUES (1)", "permission", -1);
    ck_assert_int_lt(id1, id2);
    ck_assert_int_lt(id2, id3);

    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_ptr_nonnull(arr);
    ck_assert_uint_eq(json_array_size(arr), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), id3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 2), "id")), id1);
    /* every field of the first one, as given */
    o = json_array_get(arr, 2);
    ck_assert_str_eq(json_string_value(json_object_get(o, "started_at")),
                     "2023-11-14T22:13:20.123Z");
    ck_assert_str_eq(json_string_value(json_object_get(o, "source")), "pg");
    ck_assert_str_eq(json_string_value(json_object_get(o, "endpoint")), "replica-1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "caller")), "token ci");
    ck_assert_str_eq(json_string_value(json_object_get(o, "text")), r.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "params_sha256")), hex);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "n_params")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "rows")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "duration_ms")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(o, "result")), "ok");
    ck_assert(json_is_null(json_object_get(o, "error")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "node")), store_node(s));
    /* the failed one: its status and message, no counts */
    o = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "result")), "permission");
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")),
                     "cannot execute INSERT in a read-only transaction");
    ck_assert(json_is_null(json_object_get(o, "rows")));
    ck_assert(json_is_null(json_object_get(o, "params_sha256")));
    /* the parameters' values are nowhere */
    dump = json_dumps(arr, 0);
    ck_assert_ptr_nonnull(dump);
    ck_assert_ptr_null(strstr(dump, "4711"));
    free(dump);
    json_decref(arr);

    /* of one source; at most `limit` */
    arr = store_queries_json(s, "pg", 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 2);
    json_decref(arr);
    arr = store_queries_json(s, "pg", 1, &e);
    ck_assert_uint_eq(json_array_size(arr), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), id3);
    json_decref(arr);
    arr = store_queries_json(s, "nosuch", 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 0);
    json_decref(arr);
    store_close(s);
}
END_TEST

START_TEST(required_fields_refused)
{
    store *s = open_ok();
    store_query_rec r = {.source = "pg", .caller = "uid 0 (root)", .text = "SELECT 1"};
    derr e = {0};
    json_t *arr;

    ck_assert_int_eq(store_query_add(s, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    r.result = "ok";
    r.caller = "";
    ck_assert_int_eq(store_query_add(s, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    r.caller = "x";
    r.source = NULL;
    ck_assert_int_eq(store_query_add(s, &r, NULL, &e), DSRC_E_INVALID_ARGUMENT);
    derr_clear(&e);
    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 0);
    json_decref(arr);
    store_close(s);
}
END_TEST

START_TEST(secrets_redacted)
{
    store *s = open_ok();
    store_query_rec r = {.source = "pg", .caller = "uid 0 (root)",
                         .text = "SELECT 'hunter2-secret' AS x", .result = "backend",
                         .error = "role refused password hunter2-secret", .rows = -1,
                         .bytes = -1, .duration_ms = -1};
    derr e = {0};
    json_t *arr;
    char *dump;

    ck_assert_int_eq(redact_add("hunter2-secret"), 0);
    ck_assert_int_eq(store_query_record(s, &r, "cli", NULL, &e), DSRC_OK);
    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 1);
    dump = json_dumps(arr, 0);
    ck_assert_ptr_null(strstr(dump, "hunter2"));
    ck_assert_ptr_nonnull(strstr(dump, "SELECT '***' AS x"));
    free(dump);
    json_decref(arr);
    arr = store_audit_json(s, NULL, &e);
    ck_assert_uint_eq(json_array_size(arr), 1);
    dump = json_dumps(arr, 0);
    ck_assert_ptr_null(strstr(dump, "hunter2"));
    free(dump);
    json_decref(arr);
    store_close(s);
}
END_TEST

START_TEST(recorded_in_history_and_audit)
{
    store *s = open_ok();
    char longtext[600];
    store_query_rec ok = {.source = "pg", .endpoint = "primary", .caller = "uid 1000 (alice)",
                          .text = "SELECT id FROM orders", .rows = 3, .bytes = 9,
                          .duration_ms = 5, .result = "ok"};
    store_query_rec bad = {.source = "pg", .endpoint = "primary", .caller = "token ops",
                           .text = longtext, .rows = -1, .bytes = -1, .duration_ms = 2,
                           .result = "timeout", .error = "canceling statement due to "
                                                         "statement timeout"};
    store_audit_check ck;
    derr e = {0};
    json_t *arr, *a;
    int64_t id = 0;
    char want[64];

    memset(longtext, 'x', sizeof longtext - 1);
    memcpy(longtext, "SELECT ", 7);
    longtext[sizeof longtext - 1] = '\0';
    ck_assert_int_eq(store_query_record(s, &ok, "cli", &id, &e), DSRC_OK);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(store_query_record(s, &bad, "192.0.2.7:50412", NULL, &e), DSRC_OK);
    arr = store_audit_json(s, NULL, &e);
    ck_assert_ptr_nonnull(arr);
    ck_assert_uint_eq(json_array_size(arr), 2);
    a = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "action")), "query");
    ck_assert_str_eq(json_string_value(json_object_get(a, "who")), "uid 1000 (alice)");
    ck_assert_str_eq(json_string_value(json_object_get(a, "origin")), "cli");
    ck_assert_str_eq(json_string_value(json_object_get(a, "source")), "pg");
    ck_assert_str_eq(json_string_value(json_object_get(a, "result")), "ok");
    ck_assert_int_eq(json_integer_value(json_object_get(a, "rows")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "bytes")), 9);
    snprintf(want, sizeof want, "query %lld: SELECT id FROM orders", (long long)id);
    ck_assert_str_eq(json_string_value(json_object_get(a, "detail")), want);
    a = json_array_get(arr, 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "who")), "token ops");
    ck_assert_str_eq(json_string_value(json_object_get(a, "origin")), "192.0.2.7:50412");
    ck_assert_str_eq(json_string_value(json_object_get(a, "result")), "error: timeout");
    ck_assert(json_is_null(json_object_get(a, "rows")));
    /* the text is cut in the audit, whole in the history */
    ck_assert_int_lt(strlen(json_string_value(json_object_get(a, "detail"))), 300);
    json_decref(arr);
    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "text")),
                     longtext);
    json_decref(arr);
    /* a detail of the caller's in place of the text */
    ok.detail = "csv -> stdout; 0 params";
    ck_assert_int_eq(store_query_record(s, &ok, "cli", &id, &e), DSRC_OK);
    arr = store_audit_json(s, NULL, &e);
    snprintf(want, sizeof want, "query %lld: csv -> stdout; 0 params", (long long)id);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 2), "detail")), want);
    json_decref(arr);
    /* the chain holds */
    ck_assert_int_eq(store_audit_verify(s, &ck, &e), DSRC_OK);
    ck_assert_int_eq(ck.records, 3);
    ck_assert_int_eq(ck.bad_id, 0);
    store_close(s);
}
END_TEST

START_TEST(pruned_with_runs_and_purged_with_source)
{
    store *s = open_ok();
    store_query_rec old = {.source = "pg", .caller = "c", .text = "SELECT 1", .result = "ok",
                           .started_at = 1000, .rows = 1, .bytes = 2, .duration_ms = 1};
    derr e = {0};
    json_t *arr;
    int64_t keep;

    ck_assert_int_eq(store_query_add(s, &old, NULL, &e), DSRC_OK);
    keep = add(s, "pg", "SELECT 2", "ok", 1);
    add(s, "my", "SELECT 3", "ok", 1);
    /* older than the retention: gone; the newer ones stay */
    ck_assert_int_eq(store_prune(s, store_now() - 60000, &e), 1);
    arr = store_queries_json(s, "pg", 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), keep);
    json_decref(arr);
    /* a removed source's history goes with it, another's stays */
    ck_assert_int_ge(store_purge_source(s, "pg", &e), 1);
    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_uint_eq(json_array_size(arr), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "source")),
                     "my");
    json_decref(arr);
    store_close(s);
}
END_TEST

START_TEST(schema_5_upgraded)
{
    store *s = open_ok();
    derr e = {0};
    json_t *arr;

    store_close(s);
    unit_store_exec(dir, unit_store_is_pg()
                             ? "DROP TABLE queries; UPDATE store_schema SET version = 5"
                             : "DROP TABLE queries; PRAGMA user_version = 5");
    s = open_ok();
    add(s, "pg", "SELECT 1", "ok", 1);
    arr = store_queries_json(s, NULL, 0, &e);
    ck_assert_ptr_nonnull(arr);
    ck_assert_uint_eq(json_array_size(arr), 1);
    json_decref(arr);
    store_close(s);
}
END_TEST

static Suite *queries_suite(void)
{
    Suite *su = suite_create("queries");
    TCase *tc = tcase_create("queries");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, params_hash_tells_lists_apart);
    tcase_add_test(tc, records_listed_newest_first);
    tcase_add_test(tc, required_fields_refused);
    tcase_add_test(tc, secrets_redacted);
    tcase_add_test(tc, recorded_in_history_and_audit);
    tcase_add_test(tc, pruned_with_runs_and_purged_with_source);
    tcase_add_test(tc, schema_5_upgraded);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(queries_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mongo_query.c -- the request of a mongo query, checked without a
 * server: mg_qparse.c compiled on its own.  Parameters replace their
 * {"$param": N} placeholders as strings (never as operators or JSON), and
 * a $out or $merge stage is refused at any depth of a pipeline before
 * anything could be sent.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mg.h"

/* The part `what` (filter, pipeline, opts) of a parsed request as
 * canonical JSON, bson_malloc'd. */
static char *mq_json(const bson_t *b, int array)
{
    return array ? bson_array_as_json(b, NULL) : bson_as_canonical_extended_json(b, NULL);
}

/* Parse `text` with `n` params: must succeed; returns the request. */
static void mq_ok(const char *text, const char *const *params, size_t n, mg_query *q)
{
    dsrc_error err = {0};

    err.struct_size = sizeof err;
    ck_assert_msg(mg_query_parse(text, params, n, "shop", q, &err) == DSRC_OK, "%s: %s", text,
                  err.message ? err.message : "");
}

/* Parse `text`: must fail with `want` and a message holding `part`. */
static void mq_fails(const char *text, const char *const *params, size_t n, const char *db,
                     dsrc_status want, const char *part)
{
    dsrc_error err = {0};
    mg_query q;
    dsrc_status st;

    err.struct_size = sizeof err;
    st = mg_query_parse(text, params, n, db, &q, &err);
    ck_assert_msg(st == want, "%s: status %d, expected %d (%s)", text, (int)st, (int)want,
                  err.message ? err.message : "");
    ck_assert_msg(err.message && strstr(err.message, part), "%s: message '%s', expected '%s'",
                  text, err.message ? err.message : "", part);
    if (err.release)
        err.release(&err);
}

START_TEST(t_find_params_are_strings)
{
    mg_query q;
    char *j;
    const char *p[] = {"x\" || 1 == 1 || \"", NULL, "{\"$gt\": \"\"}"};

    mq_ok("{\"find\": \"orders\", \"filter\": {\"name\": {\"$param\": 1},"
          " \"n\": {\"$gt\": {\"$param\": 2}}, \"tags\": [{\"$param\": 3}]},"
          " \"projection\": {\"_id\": 0}, \"sort\": {\"n\": -1}, \"limit\": 5, \"skip\": 2}",
          p, 3, &q);
    ck_assert_int_eq(q.aggregate, 0);
    ck_assert_str_eq(q.db, "shop");
    ck_assert_str_eq(q.coll, "orders");
    ck_assert_int_eq(q.limit, 5);
    j = mq_json(&q.filter, 0);
    ck_assert_str_eq(j, "{ \"name\" : \"x\\\" || 1 == 1 || \\\"\", \"n\" : { \"$gt\" : null },"
                        " \"tags\" : [ \"{\\\"$gt\\\": \\\"\\\"}\" ] }");
    bson_free(j);
    j = mq_json(&q.opts, 0);
    ck_assert_msg(strstr(j, "\"projection\"") && strstr(j, "\"sort\"") && strstr(j, "\"skip\""),
                  "%s", j);
    bson_free(j);
    mg_query_free(&q);
}
END_TEST

START_TEST(t_aggregate)
{
    mg_query q;
    char *j;
    const char *p[] = {"eu"};

    mq_ok("{\"aggregate\": \"orders\", \"database\": \"other\", \"pipeline\": ["
          "{\"$match\": {\"region\": {\"$param\": 1}}},"
          "{\"$project\": {\"copy\": \"$out\", \"m\": \"$merge\"}},"
          "{\"$group\": {\"_id\": \"$region\", \"n\": {\"$sum\": 1}}}]}",
          p, 1, &q);
    ck_assert_int_eq(q.aggregate, 1);
    ck_assert_str_eq(q.db, "other");
    j = mq_json(&q.pipeline, 1);
    ck_assert_msg(strstr(j, "\"region\" : \"eu\""), "%s", j);
    /* a field path that reads a field named like a stage is no stage */
    ck_assert_msg(strstr(j, "\"copy\" : \"$out\""), "%s", j);
    bson_free(j);
    mg_query_free(&q);
}
END_TEST

START_TEST(t_writing_stages_refused)
{
    static const char *const w[] = {
        "{\"aggregate\": \"o\", \"pipeline\": [{\"$match\": {}}, {\"$out\": \"copy\"}]}",
        "{\"aggregate\": \"o\", \"pipeline\": [{\"$merge\": {\"into\": \"copy\"}}]}",
        "{\"aggregate\": \"o\", \"pipeline\": [{\"$facet\": {\"a\": [{\"$match\": {}}],"
        " \"b\": [{\"$out\": \"copy\"}]}}]}",
        "{\"aggregate\": \"o\", \"pipeline\": [{\"$lookup\": {\"from\": \"p\", \"as\": \"x\","
        " \"pipeline\": [{\"$merge\": \"copy\"}]}}]}",
        "{\"aggregate\": \"o\", \"pipeline\": [{\"$unionWith\": {\"coll\": \"p\","
        " \"pipeline\": [{\"$facet\": {\"deep\": [{\"$out\": {\"db\": \"d\","
        " \"coll\": \"c\"}}]}}]}}]}",
        "{\"find\": \"o\", \"filter\": {\"$out\": 1}}",
    };
    size_t i;

    for (i = 0; i < sizeof w / sizeof w[0]; i++)
        mq_fails(w[i], NULL, 0, "shop", DSRC_E_PERMISSION, "read-only");
}
END_TEST

START_TEST(t_bad_requests)
{
    const char *p[] = {"a", "b"};

    mq_fails("", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT, "empty");
    mq_fails("{\"find\": ", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT, "not a JSON document");
    mq_fails("{\"filter\": {}}", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT, "\"find\" or");
    mq_fails("{\"find\": \"o\", \"update\": {}}", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT,
             "unknown key \"update\"");
    mq_fails("{\"find\": \"o\", \"aggregate\": \"o\", \"pipeline\": []}", NULL, 0, "shop",
             DSRC_E_INVALID_ARGUMENT, "once");
    mq_fails("{\"find\": 3}", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT, "a collection");
    mq_fails("{\"aggregate\": \"o\"}", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT, "pipeline");
    mq_fails("{\"aggregate\": \"o\", \"pipeline\": {}}", NULL, 0, "shop",
             DSRC_E_INVALID_ARGUMENT, "an array");
    mq_fails("{\"aggregate\": \"o\", \"pipeline\": [], \"filter\": {}}", NULL, 0, "shop",
             DSRC_E_INVALID_ARGUMENT, "pipeline\" only");
    mq_fails("{\"find\": \"o\", \"limit\": -1}", NULL, 0, "shop", DSRC_E_INVALID_ARGUMENT,
             "limit");
    mq_fails("{\"find\": \"o\"}", NULL, 0, NULL, DSRC_E_INVALID_ARGUMENT, "no \"database\"");
    /* placeholders and parameters must match one to one */
    mq_fails("{\"find\": \"o\", \"filter\": {\"a\": {\"$param\": 2}}}", p, 1, "shop",
             DSRC_E_INVALID_ARGUMENT, "has no parameter");
    mq_fails("{\"find\": \"o\", \"filter\": {\"a\": {\"$param\": 1}}}", p, 2, "shop",
             DSRC_E_INVALID_ARGUMENT, "parameter 2 has no placeholder");
    mq_fails("{\"find\": \"o\", \"filter\": {\"a\": {\"$param\": 0}}}", p, 1, "shop",
             DSRC_E_INVALID_ARGUMENT, "N from 1");
    mq_fails("{\"find\": \"o\", \"filter\": {\"a\": {\"$param\": 1, \"x\": 2}}}", p, 1, "shop",
             DSRC_E_INVALID_ARGUMENT, "N from 1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mongo-query");
    TCase *tc = tcase_create("query");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, t_find_params_are_strings);
    tcase_add_test(tc, t_aggregate);
    tcase_add_test(tc, t_writing_stages_refused);
    tcase_add_test(tc, t_bad_requests);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

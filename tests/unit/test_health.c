/* SPDX-License-Identifier: Apache-2.0 */
/* test_health.c -- health probes and reports (core/conn/health.c) against the
 * fault-injecting plugin. */
#include <config.h>

#include <math.h>

#include "conn/health.h"
#include "pool_env.h"

static router_source *R;
static health_monitor *H;

static void start(const char *extra, const health_config *hc)
{
    router_opts o;
    derr e = {0};

    env_start(extra);
    memset(&o, 0, sizeof o);
    o.clock = env_clock;
    o.log = env_log;
    R = router_new(env_src, &o, &e);
    ck_assert_msg(R != NULL, "router_new: %s", e.msg ? e.msg : "?");
    H = health_new(R, hc, env_clock, NULL);
    ck_assert_ptr_nonnull(H);
}

static void start_replicas(const health_config *hc)
{
    start("replicas = { hosts = [\"r1:1\", \"r2:1\"]; read_policy = \"primary_preferred\"; };\n"
          "pool = { max_size = 2; min_idle = 0; };",
          hc);
}

static void teardown(void)
{
    if (F)
        F->release();
    health_free(H);
    H = NULL;
    router_free(R);
    R = NULL;
    env_stop();
}

static health_report rep;

static void report(void)
{
    health_report_free(&rep);
    ck_assert_int_eq(health_report_get(H, &rep), 0);
}

static int has_rec(const char *needle)
{
    size_t i;

    for (i = 0; i < rep.n_recommendations; i++)
        if (strstr(rep.recommendations[i], needle))
            return 1;
    return 0;
}

static void dump_recs(void)
{
    size_t i;

    for (i = 0; i < rep.n_recommendations; i++)
        fprintf(stderr, "recommendation: %s\n", rep.recommendations[i]);
}

static void report_teardown(void)
{
    health_report_free(&rep);
    teardown();
}

START_TEST(unknown_before_any_probe)
{
    json_t *j;

    start_replicas(NULL);
    report();
    ck_assert_int_eq(rep.status, HEALTH_UNKNOWN);
    ck_assert_str_eq(rep.source, "s");
    ck_assert_uint_eq(rep.n_endpoints, 3);
    ck_assert_int_eq(rep.endpoints[0].samples, 0);
    ck_assert_int_eq(rep.endpoints[0].last_probe_age_ms, -1);
    ck_assert_int_eq(rep.storage_bytes, -1);
    ck_assert_uint_eq(rep.n_recommendations, 0);
    j = health_report_json(&rep);
    ck_assert(json_is_null(json_object_get(j, "storage_bytes")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "unknown");
    json_decref(j);
}
END_TEST

START_TEST(healthy_after_probes)
{
    int i;

    start_replicas(NULL);
    F->set_delay(FAULT_PING, 2000);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    for (i = 0; i < 3; i++) {
        const health_endpoint_report *er = &rep.endpoints[i];
        ck_assert_int_eq(er->status, HEALTH_HEALTHY);
        ck_assert_int_eq(er->samples, 3);
        ck_assert_int_eq(er->failures, 0);
        ck_assert(er->uptime == 1.0);
        ck_assert(er->error_rate == 0.0);
        ck_assert(er->latency_p50_ms >= 2.0);
        ck_assert(er->latency_p95_ms >= er->latency_p50_ms);
        ck_assert_ptr_null(er->last_error);
        ck_assert_int_eq(er->pool.total, 1);  /* borrowed, not opened anew */
    }
    ck_assert_int_eq(rep.endpoints[0].role, DSRC_ROLE_PRIMARY);
    ck_assert_int_eq(rep.endpoints[1].role, DSRC_ROLE_REPLICA);
    ck_assert_str_eq(rep.endpoints[2].label, "replica 2 (r2:1)");
    if (rep.n_recommendations)
        dump_recs();
    ck_assert_uint_eq(rep.n_recommendations, 0);
    ck_assert_int_eq(env_fstats("r1").opens, 1);
}
END_TEST

START_TEST(failing_replica_degrades_then_down)
{
    start_replicas(NULL);
    ck_assert_int_eq(health_probe(H), 0);
    F->set("r1", FAULT_PING, FAULT_FAIL, DSRC_E_TIMEOUT, -1);
    ck_assert_int_eq(health_probe(H), 1);
    report();
    ck_assert_int_eq(rep.endpoints[1].status, HEALTH_DEGRADED);
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    ck_msg_has(rep.endpoints[1].last_error, "injected ping failure on r1");
    ck_msg_has(rep.endpoints[1].last_error, "source 's'");
    ck_assert_int_eq(rep.endpoints[1].last_error_age_ms, 0);
    ck_assert(rep.endpoints[1].error_rate == 0.5);
    ck_assert(rep.endpoints[1].uptime == 0.5);
    ck_assert(has_rec("error rate 50% on replica 1 (r1:1): check the network path"));
    ck_assert(!has_rec("credentials"));
    ck_assert_int_eq(health_probe(H), 1);
    report();
    ck_assert_int_eq(rep.endpoints[1].status, HEALTH_DOWN);
    ck_assert_int_eq(rep.endpoints[1].consecutive_failures, 2);
    ck_assert_int_eq(rep.endpoints[0].status, HEALTH_HEALTHY);
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    /* everything fails: down */
    F->set(NULL, FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    ck_assert_int_eq(health_probe(H), 3);
    ck_assert_int_eq(health_probe(H), 3);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DOWN);
}
END_TEST

START_TEST(recovery_returns_to_healthy)
{
    health_config hc;
    int i;

    health_config_default(&hc);
    hc.window = 5;
    start(NULL, &hc);
    F->set(NULL, FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, 2);
    health_probe(H);
    health_probe(H);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DOWN);
    health_probe(H);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);  /* errors still in the window */
    ck_assert_int_eq(rep.endpoints[0].consecutive_failures, 0);
    for (i = 0; i < 4; i++)
        health_probe(H);
    report();
    ck_assert_int_eq(rep.endpoints[0].samples, 5);
    ck_assert_int_eq(rep.endpoints[0].failures, 0);
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    /* the last error is still shown, with its age */
    ck_assert_ptr_nonnull(rep.endpoints[0].last_error);
}
END_TEST

START_TEST(open_breaker_means_down_and_recovers_after_cooldown)
{
    int i;

    start(NULL, NULL);
    F->set(NULL, FAULT_OPEN, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(health_probe(H), 1);
    ck_assert_int_eq(env_fstats(NULL).open_failures, 5);
    report();
    ck_assert_int_eq(rep.endpoints[0].breaker.state, BREAKER_OPEN);
    ck_assert_int_eq(rep.status, HEALTH_DOWN);
    ck_assert(has_rec("circuit open, next attempt in 1.0 s"));
    ck_assert(has_rec("injected open failure"));
    /* probes do not hammer an open endpoint */
    ck_assert_int_eq(health_probe(H), 1);
    ck_assert_int_eq(env_fstats(NULL).open_failures, 5);
    /* back, and probed after the cool-down */
    F->set(NULL, FAULT_OPEN, FAULT_OK, DSRC_OK, -1);
    env_advance(1000);
    ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_int_eq(rep.endpoints[0].breaker.state, BREAKER_CLOSED);
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
}
END_TEST

START_TEST(high_latency_rule)
{
    int i;

    start(NULL, NULL);
    for (i = 0; i < 10; i++)
        health_record(H, 0, 1, i < 8 ? 20.0 : 900.0, NULL);
    report();
    ck_assert(rep.endpoints[0].latency_p50_ms == 20.0);
    ck_assert(rep.endpoints[0].latency_p95_ms == 900.0);
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    ck_assert(has_rec("latency p95 900 ms on primary is above 250 ms"));
    ck_assert(has_rec("TLS"));
    health_record(H, 7, 1, 1.0, NULL);  /* ignored */
}
END_TEST

START_TEST(saturated_pool_rule)
{
    health_config hc;
    router_lease l;
    derr e = {0};
    int i;

    health_config_default(&hc);
    hc.probe_timeout_ms = 20;
    start("pool = { max_size = 1; min_idle = 0; };", &hc);
    ck_assert_int_eq(router_acquire(R, ROUTER_READ, "long fetch", &l, &e), DSRC_OK);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(health_probe(H), 0);  /* saturation is not a failure */
    report();
    ck_assert_int_eq(rep.endpoints[0].saturated, 3);
    ck_assert_int_eq(rep.endpoints[0].failures, 0);
    ck_assert_int_eq(rep.endpoints[0].status, HEALTH_DEGRADED);
    ck_assert_int_eq(rep.endpoints[0].breaker.state, BREAKER_CLOSED);
    ck_assert(has_rec("saturated (3 acquire timeout(s)"));
    ck_assert(has_rec("raise pool.max_size or hold connections for less time"));
    ck_assert_int_le(env_fstats(NULL).max_live, 1);
    router_release(R, &l, NULL);
}
END_TEST

START_TEST(server_closed_connections_rule)
{
    start("pool = { max_size = 2; min_idle = 0; validate_after = \"500ms\"; };", NULL);
    ck_assert_int_eq(health_probe(H), 0);
    env_advance(1000);
    /* the idle connection was closed at the server: validation finds it */
    F->set(NULL, FAULT_PING, FAULT_BREAK, DSRC_E_UNREACHABLE, 1);
    ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_uint_eq(rep.endpoints[0].pool.stale, 1);
    ck_assert(has_rec("1 idle connection(s) to primary were found closed by the server"));
    ck_assert(has_rec("lower pool.max_lifetime (now 30m)"));
}
END_TEST

START_TEST(auth_failure_rule)
{
    start(NULL, NULL);
    F->set(NULL, FAULT_OPEN, FAULT_FAIL, DSRC_E_AUTH, -1);
    ck_assert_int_eq(health_probe(H), 1);
    report();
    ck_assert(has_rec("check the credentials (the server refused them)"));
}
END_TEST

/* "Connection refused" is not a matter of credentials. */
START_TEST(unreachable_rule)
{
    start(NULL, NULL);
    F->set(NULL, FAULT_OPEN, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    ck_assert_int_eq(health_probe(H), 1);
    report();
    if (!has_rec("check that the server runs"))
        dump_recs();
    ck_assert(has_rec("check that the server runs"));
    ck_assert(!has_rec("credentials"));
}
END_TEST

START_TEST(report_json)
{
    json_t *j, *e0, *recs;

    start_replicas(NULL);
    F->set("r2", FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    health_probe(H);
    report();
    j = health_report_json(&rep);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "s");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "degraded");
    recs = json_object_get(j, "recommendations");
    ck_assert(json_is_array(recs));
    ck_assert_uint_ge(json_array_size(recs), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "endpoints")), 3);
    e0 = json_array_get(json_object_get(j, "endpoints"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "status")), "healthy");
    ck_assert_str_eq(json_string_value(json_object_get(e0, "role")), "primary");
    ck_assert(json_is_real(json_object_get(json_object_get(e0, "latency_ms"), "p95")));
    ck_assert(json_is_null(json_object_get(e0, "last_error")));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(e0, "pool"), "acquire_wait_ms"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(e0, "breaker"), "state"));
    ck_msg_has(json_string_value(json_object_get(json_array_get(json_object_get(j, "endpoints"), 2),
                                                 "last_error")),
               "injected ping failure on r2");
    json_decref(j);
    ck_assert_str_eq(health_status_name(HEALTH_DOWN), "down");
}
END_TEST

START_TEST(stale_when_the_newest_sample_is_too_old)
{
    health_config hc;
    json_t *j;

    health_config_default(&hc);
    hc.stale_after_ms = 2000;  /* two intervals of 1 s */
    start(NULL, &hc);
    ck_assert_int_eq(health_probe(H), 0);
    env_advance(2000);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert_int_eq(rep.age_ms, 2000);
    /* nobody probed since: the verdict is not current any more */
    env_advance(1);
    report();
    ck_assert_int_eq(rep.status, HEALTH_STALE);
    ck_assert_int_eq(rep.last_status, HEALTH_HEALTHY);
    ck_assert_int_eq(rep.age_ms, 2001);
    j = health_report_json(&rep);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "stale");
    ck_assert_str_eq(json_string_value(json_object_get(j, "last_status")), "healthy");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "age_ms")), 2001);
    json_decref(j);
    /* a fresh sample makes it current again */
    ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert_int_eq(rep.age_ms, 0);
    /* stale_after 0: never stale */
    health_set_stale_after(H, 0);
    env_advance(10000);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
}
END_TEST

static void *probe_thread(void *arg)
{
    (void)arg;
    health_probe(H);
    return NULL;
}

/* The caller's time limit on a probe: health_overrun() records a timeout at
 * once and cancels the ping; the cancelled ping's own outcome is not a
 * second sample. */
START_TEST(overrun_records_a_timeout_and_cancels)
{
    pthread_t th;
    derr why = {0};

    start(NULL, NULL);
    F->set(NULL, FAULT_PING, FAULT_HANG, DSRC_OK, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, probe_thread, NULL), 0);
    ck_assert(F->wait_hung(1, 10000));
    derr_set(&why, DSRC_E_TIMEOUT, "health probe did not return within 2 s");
    health_overrun(H, &why);
    ck_assert_int_eq(pthread_join(th, NULL), 0);  /* the ping saw the cancel */
    report();
    ck_assert_int_eq(rep.endpoints[0].samples, 1);
    ck_assert_int_eq(rep.endpoints[0].failures, 1);
    ck_assert_int_eq(rep.endpoints[0].last_error_status, DSRC_E_TIMEOUT);
    ck_msg_has(rep.endpoints[0].last_error, "did not return within 2 s");
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    /* the next probe counts again */
    ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_int_eq(rep.endpoints[0].samples, 2);
    derr_clear(&why);
}
END_TEST

/* A ping that ignores cancellation: each overrun is one more failed
 * sample (down after two), and its late success is not recorded. */
START_TEST(overrun_of_a_probe_that_ignores_cancel)
{
    pthread_t th;
    derr why = {0};

    start(NULL, NULL);
    F->set(NULL, FAULT_PING, FAULT_HANG_DEAF, DSRC_OK, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, probe_thread, NULL), 0);
    ck_assert(F->wait_hung(1, 10000));
    derr_set(&why, DSRC_E_TIMEOUT, "health probe did not return within 2 s");
    health_overrun(H, &why);
    health_overrun(H, &why);
    ck_assert_int_eq(env_fstats(NULL).hung, 1);  /* cancel changed nothing */
    report();
    ck_assert_int_eq(rep.endpoints[0].failures, 2);
    ck_assert_int_eq(rep.endpoints[0].consecutive_failures, 2);
    ck_assert_int_eq(rep.status, HEALTH_DOWN);
    F->release();
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    report();
    ck_assert_int_eq(rep.endpoints[0].samples, 2);  /* the late success: dropped */
    ck_assert_int_eq(rep.status, HEALTH_DOWN);
    /* the connection asked to cancel is closed, not lent out again */
    ck_assert_int_eq(env_fstats(NULL).live, 0);
    ck_assert_int_eq(env_fstats(NULL).closes, 1);
    derr_clear(&why);
}
END_TEST

/* Counters for the monitor's lifetime, beyond the window: samples by
 * outcome and a histogram of the round trips (seconds). */
START_TEST(lifetime_counters_and_latency_histogram)
{
    health_config hc;
    const prom_hist *lh;
    uint64_t below;
    size_t i;

    health_config_default(&hc);
    hc.window = 3;
    start(NULL, &hc);
    F->set_delay(FAULT_PING, 2000);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(health_probe(H), 0);
    F->set(NULL, FAULT_PING, FAULT_FAIL, DSRC_E_TIMEOUT, 2);
    ck_assert_int_eq(health_probe(H), 1);
    ck_assert_int_eq(health_probe(H), 1);
    health_record(H, 0, 1, 900.0, NULL);
    report();
    ck_assert_int_eq(rep.endpoints[0].samples, 3);  /* the window */
    ck_assert_uint_eq(rep.endpoints[0].probes_ok, 6);
    ck_assert_uint_eq(rep.endpoints[0].probes_failed, 2);
    ck_assert_uint_eq(rep.endpoints[0].probes_saturated, 0);
    lh = &rep.endpoints[0].latency;
    /* every ping that answered, failed ones too */
    ck_assert_uint_eq(lh->count, 8);
    ck_assert(lh->sum >= 0.9 + 5 * 0.002);
    ck_assert_uint_eq(lh->n_bounds, 13);
    ck_assert(lh->bounds[0] == 0.001 && lh->bounds[12] == 10.0);
    for (below = 0, i = 0; i < lh->n_bounds; i++)
        below += lh->buckets[i];
    ck_assert_uint_eq(below, 8);           /* none above 10 s */
    ck_assert_uint_ge(lh->buckets[9], 1);  /* 0.9 s: le 1 */
}
END_TEST

/* Every member of the defaults is set (stale_after_ms was left as the
 * caller's memory held it). */
START_TEST(config_default_sets_every_member)
{
    health_config c;

    memset(&c, 0xff, sizeof c);
    health_config_default(&c);
    ck_assert_int_eq(c.window, 60);
    ck_assert_int_eq(c.probe_timeout_ms, 5000);
    ck_assert_int_eq(c.down_after, 2);
    ck_assert_int_eq(c.stale_after_ms, 0);
}
END_TEST

START_TEST(tls_expiry_recommends_then_degrades)
{
    start(NULL, NULL);
    ck_assert_int_eq(health_probe(H), 0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert_int_eq(rep.tls, 0);
    health_set_tls(H, NULL, 400.0, 20.5);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert(rep.tls);
    ck_assert(has_rec("client certificate (tls.cert) expires in 20 day(s)"));
    ck_assert(!has_rec("tls.ca"));
    health_set_tls(H, NULL, 6.5, 200.0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    ck_assert(has_rec("CA certificate (tls.ca) expires in 6 day(s)"));
    health_set_tls(H, NULL, NAN, -2.0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    ck_assert(has_rec("expired 2 day(s) ago"));
    health_set_tls(H, NULL, 400.0, 300.0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert_uint_eq(rep.n_recommendations, 0);
}
END_TEST

START_TEST(tls_refused_file_degrades_with_reason)
{
    json_t *o, *t;

    start(NULL, NULL);
    ck_assert_int_eq(health_probe(H), 0);
    health_set_tls(H, "tls.cert '/x/c.crt': not a PEM certificate OpenSSL can read", NAN,
                   NAN);
    report();
    ck_assert_int_eq(rep.status, HEALTH_DEGRADED);
    ck_assert_ptr_nonnull(rep.recommendations);
    ck_assert_ptr_nonnull(strstr(rep.recommendations[0], "tls.cert '/x/c.crt'"));
    o = health_report_json(&rep);
    t = json_object_get(o, "tls");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(t, "error")), "tls.cert"));
    ck_assert(json_is_null(json_object_get(t, "cert_expiry_days")));
    json_decref(o);
    health_set_tls(H, NULL, NAN, 100.0);
    report();
    ck_assert_int_eq(rep.status, HEALTH_HEALTHY);
    ck_assert_ptr_null(rep.tls_error);
    o = health_report_json(&rep);
    ck_assert(json_real_value(json_object_get(json_object_get(o, "tls"), "cert_expiry_days")) ==
              100.0);
    json_decref(o);
}
END_TEST

static Suite *health_suite(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("health");

    tcase_add_checked_fixture(tc, NULL, report_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, unknown_before_any_probe);
    tcase_add_test(tc, healthy_after_probes);
    tcase_add_test(tc, failing_replica_degrades_then_down);
    tcase_add_test(tc, recovery_returns_to_healthy);
    tcase_add_test(tc, open_breaker_means_down_and_recovers_after_cooldown);
    tcase_add_test(tc, high_latency_rule);
    tcase_add_test(tc, saturated_pool_rule);
    tcase_add_test(tc, server_closed_connections_rule);
    tcase_add_test(tc, auth_failure_rule);
    tcase_add_test(tc, unreachable_rule);
    tcase_add_test(tc, report_json);
    tcase_add_test(tc, stale_when_the_newest_sample_is_too_old);
    tcase_add_test(tc, overrun_records_a_timeout_and_cancels);
    tcase_add_test(tc, overrun_of_a_probe_that_ignores_cancel);
    tcase_add_test(tc, lifetime_counters_and_latency_histogram);
    tcase_add_test(tc, config_default_sets_every_member);
    tcase_add_test(tc, tls_expiry_recommends_then_degrades);
    tcase_add_test(tc, tls_refused_file_degrades_with_reason);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(health_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

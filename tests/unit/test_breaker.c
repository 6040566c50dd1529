/* SPDX-License-Identifier: Apache-2.0 */
/* test_breaker.c -- the circuit breaker (core/conn/breaker.c) with a hand-moved
 * clock, and endpoint routing and failover (core/conn/router.c) against the
 * fault-injecting plugin. */
#include <config.h>

#include "conn/breaker.h"
#include "conn/router.h"
#include "pool_env.h"

/* ------------------------------------------------------------------------ */
/* Breaker                                                                   */

static breaker *B;

static void brk_setup(void)
{
    atomic_store(&env_now_ms, 5000000);
    B = breaker_new("source 'db' (primary)", NULL, env_clock, NULL);
    ck_assert_ptr_nonnull(B);
}

static void brk_teardown(void)
{
    breaker_free(B);
    B = NULL;
}

static void fail_n(int n)
{
    derr e = {0};
    int i;

    derr_set(&e, DSRC_E_UNREACHABLE, "connection refused by 10.0.0.1:5432");
    for (i = 0; i < n; i++)
        breaker_failure(B, &e);
    derr_clear(&e);
}

static breaker_info info(void)
{
    breaker_info bi;

    breaker_get(B, &bi);
    derr_clear(&bi.last_error);
    return bi;
}

/* Move past the cool-down and check exactly one probe gets through. */
static void to_half_open(int64_t cooldown)
{
    int probe = 0;

    env_advance(cooldown - 1);
    ck_assert_int_eq(breaker_allow(B, &probe, NULL), 0);
    env_advance(1);
    ck_assert_int_eq(breaker_allow(B, &probe, NULL), 1);
    ck_assert_int_eq(probe, 1);
    ck_assert_int_eq(info().state, BREAKER_HALF_OPEN);
}

START_TEST(opens_after_threshold_and_fails_fast)
{
    derr e = {0};
    int probe = 1;

    fail_n(4);
    ck_assert_int_eq(info().state, BREAKER_CLOSED);
    ck_assert_int_eq(info().consecutive_failures, 4);
    ck_assert_int_eq(breaker_allow(B, &probe, &e), 1);
    ck_assert_int_eq(probe, 0);
    fail_n(1);
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    ck_assert_uint_eq(info().opens, 1);
    /* the failures that opened it, as dsrcd logs them ("after 5 failure(s)") */
    ck_assert_int_eq(info().consecutive_failures, 5);
    ck_assert_int_eq(breaker_allow(B, &probe, &e), 0);
    ck_assert_int_eq(e.status, DSRC_E_UNREACHABLE);
    ck_assert_int_eq(e.retryable, 1);
    ck_msg_has(e.msg, "source 'db' (primary)");
    ck_msg_has(e.msg, "circuit open");
    ck_msg_has(e.msg, "next attempt in 1.0 s");
    ck_msg_has(e.msg, "connection refused by 10.0.0.1:5432");
    derr_clear(&e);
    ck_assert_uint_eq(info().rejected, 1);
    ck_assert_int_eq(info().retry_in_ms, 1000);
}
END_TEST

START_TEST(auth_failure_opens_at_once)
{
    derr a = {0}, e = {0};
    int probe;

    /* no auth cool-down set: at once, for the usual cool-down */
    derr_set(&a, DSRC_E_AUTH, "password authentication failed for user \"u\"");
    breaker_failure(B, &a);
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    ck_assert_int_eq(info().cooldown_ms, 1000);
    /* the fail-fast error is the auth failure, and not retryable */
    ck_assert_int_eq(breaker_allow(B, &probe, &e), 0);
    ck_assert_int_eq(e.status, DSRC_E_AUTH);
    ck_assert_int_eq(e.retryable, 0);
    ck_msg_has(e.msg, "password authentication failed");
    derr_clear(&e);
    /* with the health interval set: not before it, then one probe */
    breaker_set_auth_cooldown(B, 30000);
    to_half_open(1000);
    breaker_failure(B, &a);
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    ck_assert_int_eq(info().cooldown_ms, 30000);
    to_half_open(30000);
    breaker_success(B);
    ck_assert_int_eq(info().state, BREAKER_CLOSED);
    /* a closed breaker with the password fixed: other failures count as before */
    fail_n(4);
    ck_assert_int_eq(info().state, BREAKER_CLOSED);
    derr_clear(&a);
}
END_TEST

START_TEST(half_open_lets_one_probe_through)
{
    derr e = {0};
    int probe;

    fail_n(5);
    to_half_open(1000);
    /* everyone else still fails fast while the probe runs */
    ck_assert_int_eq(breaker_allow(B, &probe, &e), 0);
    ck_assert_int_eq(probe, 0);
    ck_msg_has(e.msg, "half-open");
    derr_clear(&e);
    breaker_success(B);
    ck_assert_int_eq(info().state, BREAKER_CLOSED);
    ck_assert_int_eq(info().consecutive_failures, 0);
    ck_assert_int_eq(breaker_allow(B, &probe, NULL), 1);
    ck_assert_int_eq(probe, 0);
}
END_TEST

START_TEST(cooldown_grows_and_is_capped)
{
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    size_t i;

    fail_n(5);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_int_eq(info().cooldown_ms, want[i]);
        to_half_open(want[i]);
        fail_n(1);  /* the probe fails: open again, longer */
        ck_assert_int_eq(info().state, BREAKER_OPEN);
        ck_assert_int_eq(info().consecutive_failures, 6 + (int)i);
    }
    ck_assert_uint_eq(info().opens, 1 + sizeof want / sizeof want[0]);
}
END_TEST

START_TEST(alternating_results_do_not_flap)
{
    int i;

    /* closed: failures never become consecutive */
    for (i = 0; i < 200; i++) {
        fail_n(i % 2 ? 4 : 1);
        breaker_success(B);
    }
    ck_assert_int_eq(info().state, BREAKER_CLOSED);
    ck_assert_uint_eq(info().opens, 0);

    /* an endpoint that recovers and fails again at once is re-opened with
     * ever longer cool-downs, not toggled at the base rate */
    fail_n(5);
    ck_assert_int_eq(info().cooldown_ms, 1000);
    to_half_open(1000);
    breaker_success(B);
    fail_n(5);
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    ck_assert_int_eq(info().cooldown_ms, 2000);
    to_half_open(2000);
    breaker_success(B);
    fail_n(5);
    ck_assert_int_eq(info().cooldown_ms, 4000);

    /* once it stayed closed for the stable period, back to the base */
    to_half_open(4000);
    breaker_success(B);
    env_advance(60000);
    breaker_success(B);
    ck_assert_int_eq(info().level, 0);
    fail_n(5);
    ck_assert_int_eq(info().cooldown_ms, 1000);
}
END_TEST

START_TEST(results_while_open_are_ignored)
{
    fail_n(5);
    breaker_success(B);  /* a call that started before it opened */
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    fail_n(3);
    ck_assert_int_eq(info().state, BREAKER_OPEN);
    ck_assert_uint_eq(info().opens, 1);
    ck_assert_int_eq(info().cooldown_ms, 1000);
}
END_TEST

START_TEST(abandoned_probe_frees_the_slot)
{
    int probe;

    fail_n(5);
    to_half_open(1000);
    breaker_abandon(B, 1);
    ck_assert_int_eq(breaker_allow(B, &probe, NULL), 1);
    ck_assert_int_eq(probe, 1);
    breaker_abandon(B, 0);  /* not the probe: no effect */
    ck_assert_int_eq(breaker_allow(B, &probe, NULL), 0);
}
END_TEST

START_TEST(config_and_reset)
{
    breaker_config c;
    breaker *b;
    int i;

    breaker_config_default(&c);
    ck_assert_int_eq(c.failure_threshold, 5);
    ck_assert_int_eq(c.base_cooldown_ms, 1000);
    ck_assert_int_eq(c.max_cooldown_ms, 60000);
    c.failure_threshold = 2;
    c.base_cooldown_ms = 100;
    c.max_cooldown_ms = 250;
    b = breaker_new("x", &c, env_clock, NULL);
    for (i = 0; i < 2; i++)
        breaker_failure(b, NULL);
    ck_assert_int_eq(breaker_allow(b, NULL, NULL), 0);
    breaker_reset(b);
    ck_assert_int_eq(breaker_allow(b, NULL, NULL), 1);
    breaker_free(b);
}
END_TEST

START_TEST(endpoint_failure_rule)
{
    derr e = {0};

    ck_assert_int_eq(breaker_is_endpoint_failure(NULL), 0);
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 0);
    derr_set(&e, DSRC_E_UNREACHABLE, "x");
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 1);
    derr_set(&e, DSRC_E_TIMEOUT, "x");
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 1);
    derr_set(&e, DSRC_E_AUTH, "x");
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 1);
    derr_set(&e, DSRC_E_NOT_FOUND, "x");
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 0);
    e.connection_broken = 1;
    ck_assert_int_eq(breaker_is_endpoint_failure(&e), 1);
    derr_clear(&e);
}
END_TEST

START_TEST(info_json)
{
    breaker_info bi;
    json_t *j;

    fail_n(5);
    breaker_get(B, &bi);
    j = breaker_info_json(&bi);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "open");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "cooldown_ms")), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "opens")), 1);
    ck_msg_has(json_string_value(json_object_get(j, "last_error")), "connection refused");
    json_decref(j);
    derr_clear(&bi.last_error);
    ck_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Router                                                                    */

static router_source *R;

static void rt_start(const char *policy, const char *pool_group)
{
    char extra[512];
    router_opts o;
    derr e = {0};

    snprintf(extra, sizeof extra,
             "replicas = { hosts = [\"r1:1\", \"r2:1\"]; read_policy = \"%s\"; };\n%s", policy,
             pool_group ? pool_group : "pool = { max_size = 2; min_idle = 0; };");
    env_start(extra);
    memset(&o, 0, sizeof o);
    o.clock = env_clock;
    o.log = env_log;
    o.seed = 7;
    R = router_new(env_src, &o, &e);
    ck_assert_msg(R != NULL, "router_new: %s", e.msg ? e.msg : "?");
}

static void rt_teardown(void)
{
    if (F)
        F->release();
    router_free(R);
    R = NULL;
    env_stop();
}

static int host_item(void *user, const dsrc_item *it)
{
    snprintf(user, 64, "%s", it->path);
    return 0;
}

/* One operation: acquire with `intent`, list (the fault plugin names the
 * host that served), release with the outcome.  Returns the endpoint that
 * served or -1; the host lands in `host` (64 bytes) when given. */
static int op(router_intent intent, char *host, derr *out)
{
    router_lease l;
    derr e = {0};
    char h[64] = "";
    dsrc_item_sink sink = {sizeof sink, h, host_item};
    int ep;

    if (router_acquire(R, intent, "test op", &l, &e) != DSRC_OK) {
        if (out)
            *out = e;
        else
            derr_clear(&e);
        return -1;
    }
    ck_assert_ptr_nonnull(l.conn);
    ck_assert_ptr_nonnull(l.label);
    ep = l.endpoint;
    source_list(l.conn, "", &sink, &e);
    router_release(R, &l, &e);
    ck_assert_ptr_null(l.pc);
    if (host)
        snprintf(host, 64, "%s", h);
    if (out)
        *out = e;
    else
        derr_clear(&e);
    return ep;
}

static const char *ep_host(int ep)
{
    return ep == 0 ? "primary" : ep == 1 ? "r1" : ep == 2 ? "r2" : "?";
}

START_TEST(write_goes_to_primary)
{
    char host[64];
    router_lease l;
    derr e = {0};
    int i;

    rt_start("replica_preferred", NULL);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(op(ROUTER_WRITE, host, NULL), 0);
        ck_assert_str_eq(host, "primary");
    }
    ck_assert_int_eq(router_acquire(R, ROUTER_WRITE, "discover", &l, &e), DSRC_OK);
    ck_assert_str_eq(l.label, "primary");
    router_release(R, &l, NULL);
    ck_assert_uint_eq(router_served(R, 0), 5);
    ck_assert_uint_eq(router_served(R, 1) + router_served(R, 2), 0);
    ck_assert_int_eq(router_intent_for("discover"), ROUTER_WRITE);
    ck_assert_int_eq(router_intent_for("fetch"), ROUTER_READ);
    ck_assert_int_eq(router_intent_for("describe"), ROUTER_READ);
    ck_assert_int_eq(router_intent_for("list"), ROUTER_READ);
    ck_assert_int_eq(router_intent_for("stats"), ROUTER_READ);
    ck_assert_int_eq(router_intent_for("query"), ROUTER_READ);
    ck_assert_int_eq(router_intent_for(NULL), ROUTER_WRITE);
}
END_TEST

START_TEST(policy_primary)
{
    int i;

    rt_start("primary", NULL);
    ck_assert_int_eq(router_get_policy(R), ROUTER_POLICY_PRIMARY);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
}
END_TEST

START_TEST(policy_primary_preferred)
{
    int i;

    rt_start("primary_preferred", NULL);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
}
END_TEST

START_TEST(policy_replica_round_robin)
{
    char host[64];
    int i, seen[3] = {0, 0, 0};

    rt_start("replica", NULL);
    for (i = 0; i < 10; i++) {
        int ep = op(ROUTER_READ, host, NULL);
        ck_assert_int_ge(ep, 1);
        ck_assert_str_eq(host, ep_host(ep));
        seen[ep]++;
    }
    ck_assert_int_eq(seen[1], 5);
    ck_assert_int_eq(seen[2], 5);
}
END_TEST

START_TEST(policy_nearest)
{
    rt_start("nearest", NULL);
    router_note_ping(R, 0, DSRC_ROLE_PRIMARY, 40.0);
    router_note_ping(R, 1, DSRC_ROLE_REPLICA, 25.0);
    router_note_ping(R, 2, DSRC_ROLE_REPLICA, 3.0);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 2);
    router_note_ping(R, 2, DSRC_ROLE_REPLICA, 500.0);
    router_note_ping(R, 2, DSRC_ROLE_REPLICA, 500.0);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 1);
}
END_TEST

START_TEST(replica_policy_without_replicas)
{
    derr e = {0};

    env_start("replicas = { read_policy = \"replica\"; };");
    R = router_new(env_src, NULL, &e);
    ck_assert_ptr_nonnull(R);
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_msg_has(e.msg, "replicas.hosts is empty");
    derr_clear(&e);
    /* writes still work */
    ck_assert_int_eq(op(ROUTER_WRITE, NULL, NULL), 0);
}
END_TEST

static breaker_info ep_brk(int ep)
{
    breaker_info bi;

    breaker_get(router_breaker(R, ep), &bi);
    derr_clear(&bi.last_error);
    return bi;
}

static void primary_down(int down)
{
    fault_mode m = down ? FAULT_FAIL : FAULT_OK;

    F->set("primary", FAULT_OPEN, m, DSRC_E_UNREACHABLE, -1);
    F->set("primary", FAULT_PING, m, DSRC_E_UNREACHABLE, -1);
    F->set("primary", FAULT_CALL, down ? FAULT_BREAK : FAULT_OK, DSRC_E_UNREACHABLE, -1);
}

/* primary_preferred: the primary goes down; reads fall over to a replica,
 * the breaker opens after 5 failures and stops the attempts; writes fail
 * fast; once the primary is back, reads return only after the cool-down. */
START_TEST(failover_and_return_after_cooldown)
{
    derr e = {0};
    int i, ep;

    rt_start("primary_preferred", NULL);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
    primary_down(1);
    /* the read on the pooled primary connection fails (1) */
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), 0);
    ck_assert_int_eq(e.status, DSRC_E_UNREACHABLE);
    derr_clear(&e);
    ck_assert_int_eq(ep_brk(0).consecutive_failures, 1);
    /* reads 2..5 fail over after a failed open each */
    for (i = 0; i < 4; i++) {
        ep = op(ROUTER_READ, NULL, &e);
        ck_assert_msg(ep >= 1, "read %d served by %d: %s", i, ep, e.msg ? e.msg : "");
        ck_assert_int_eq(e.status, DSRC_OK);
    }
    ck_assert_int_eq(env_fstats("primary").open_failures, 4);
    ck_assert_int_eq(ep_brk(0).state, BREAKER_OPEN);
    /* open: no more attempts on the primary */
    for (i = 0; i < 5; i++)
        ck_assert_int_ge(op(ROUTER_READ, NULL, NULL), 1);
    ck_assert_int_eq(env_fstats("primary").open_failures, 4);
    /* writes fail fast with the last error */
    ck_assert_int_eq(op(ROUTER_WRITE, NULL, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_UNREACHABLE);
    ck_msg_has(e.msg, "circuit open");
    ck_msg_has(e.msg, "injected open failure on primary");
    derr_clear(&e);
    ck_assert_int_eq(env_fstats("primary").open_failures, 4);

    /* the primary recovers, but traffic waits for the cool-down */
    primary_down(0);
    env_advance(999);
    ck_assert_int_ge(op(ROUTER_READ, NULL, NULL), 1);
    env_advance(1);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);  /* the probe */
    ck_assert_int_eq(ep_brk(0).state, BREAKER_CLOSED);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);

    /* failing again right away: re-opened with a longer cool-down */
    primary_down(1);
    for (i = 0; i < 5; i++)
        op(ROUTER_READ, NULL, NULL);
    ck_assert_int_eq(ep_brk(0).state, BREAKER_OPEN);
    ck_assert_int_eq(ep_brk(0).cooldown_ms, 2000);
}
END_TEST

START_TEST(failed_probe_reopens)
{
    int i;

    rt_start("primary_preferred", NULL);
    primary_down(1);
    for (i = 0; i < 5; i++)
        ck_assert_int_ge(op(ROUTER_READ, NULL, NULL), 1);
    ck_assert_int_eq(ep_brk(0).state, BREAKER_OPEN);
    env_advance(1000);
    /* the probe fails: served by a replica, breaker open for 2 s */
    ck_assert_int_ge(op(ROUTER_READ, NULL, NULL), 1);
    ck_assert_int_eq(ep_brk(0).state, BREAKER_OPEN);
    ck_assert_int_eq(ep_brk(0).cooldown_ms, 2000);
    ck_assert_int_eq(env_fstats("primary").open_failures, 6);
}
END_TEST

START_TEST(operation_outcomes)
{
    router_lease l;
    derr e = {0};

    rt_start("primary", NULL);
    /* a request error proves the endpoint alive and keeps the connection */
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
    F->set("primary", FAULT_CALL, FAULT_FAIL, DSRC_E_NOT_FOUND, 1);
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), 0);
    ck_assert_int_eq(e.status, DSRC_E_NOT_FOUND);
    derr_clear(&e);
    ck_assert_int_eq(ep_brk(0).consecutive_failures, 0);
    ck_assert_int_eq(env_fstats("primary").closes, 0);
    /* a broken connection counts and is closed */
    F->set("primary", FAULT_CALL, FAULT_BREAK, DSRC_E_UNREACHABLE, 1);
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), 0);
    derr_clear(&e);
    ck_assert_int_eq(ep_brk(0).consecutive_failures, 1);
    ck_assert_int_eq(env_fstats("primary").closes, 1);
    /* and a success resets the count */
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
    ck_assert_int_eq(ep_brk(0).consecutive_failures, 0);
    /* releasing an empty lease is harmless */
    memset(&l, 0, sizeof l);
    router_release(R, &l, NULL);
}
END_TEST

START_TEST(replica_role_verified)
{
    derr e = {0};
    int i;

    rt_start("replica", NULL);
    F->set_role("r1", DSRC_ROLE_PRIMARY);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 2);
    ck_assert(env_log_has("reports role 'primary'"));
    ck_assert(env_log_has("read_policy 'replica' needs a replica"));
    /* each role was checked once, then trusted for role_check_ms */
    ck_assert_int_eq(env_fstats("r1").pings, 1);
    ck_assert_int_eq(env_fstats("r2").pings, 1);
    ck_assert_int_eq(router_role(R, 1), DSRC_ROLE_PRIMARY);
    ck_assert_int_eq(router_role(R, 2), DSRC_ROLE_REPLICA);
    /* both claim to be primaries: no replica to read from */
    F->set_role("r2", DSRC_ROLE_STANDALONE);
    env_advance(30000);
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_INVALID_CONFIG);
    ck_msg_has(e.msg, "needs a replica");
    derr_clear(&e);
    /* a plugin that cannot tell is trusted */
    F->set_role("r1", DSRC_ROLE_UNKNOWN);
    env_advance(30000);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 1);
}
END_TEST

START_TEST(replica_preferred_falls_back_to_primary)
{
    int i;

    rt_start("replica_preferred", NULL);
    F->set_role("r1", DSRC_ROLE_PRIMARY);
    F->set_role("r2", DSRC_ROLE_PRIMARY);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
    /* replicas down: the same */
    F->set_role("r1", DSRC_ROLE_REPLICA);
    F->set_role("r2", DSRC_ROLE_REPLICA);
    env_advance(30000);
    F->set("r1", FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    F->set("r2", FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
}
END_TEST

START_TEST(saturation_is_not_failed_over)
{
    router_lease held;
    derr e = {0};

    rt_start("primary_preferred",
             "pool = { max_size = 1; min_idle = 1; acquire_timeout = \"50ms\"; };");
    /* open up front: the 50 ms timeout is for the saturated pool only */
    ck_assert_int_eq(router_maintain(R), 3);
    ck_assert_int_eq(router_acquire(R, ROUTER_READ, "holder", &held, &e), DSRC_OK);
    ck_assert_int_eq(held.endpoint, 0);
    ck_assert_int_eq(op(ROUTER_READ, NULL, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_TIMEOUT);
    ck_msg_has(e.msg, "no connection available after 50 ms");
    derr_clear(&e);
    ck_assert_int_eq(ep_brk(0).consecutive_failures, 0);
    ck_assert_uint_eq(router_served(R, 1) + router_served(R, 2), 0);
    router_release(R, &held, NULL);
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 0);
}
END_TEST

START_TEST(maintain_skips_open_breakers)
{
    int i;

    rt_start("primary_preferred", "pool = { max_size = 2; min_idle = 1; };");
    for (i = 0; i < 5; i++)
        breaker_failure(router_breaker(R, 0), NULL);
    ck_assert_int_eq(router_maintain(R), 2);
    ck_assert_int_eq(env_fstats("primary").opens, 0);
    ck_assert_int_eq(env_fstats("r1").live, 1);
    ck_assert_int_eq(env_fstats("r2").live, 1);
    breaker_reset(router_breaker(R, 0));
    ck_assert_int_eq(router_maintain(R), 1);
    ck_assert_int_eq(env_fstats("primary").live, 1);
}
END_TEST

START_TEST(reconfigure_and_json)
{
    cfg_pool c;
    pool_stats ps;
    json_t *j, *eps, *e1;
    size_t i;

    rt_start("replica_preferred", NULL);
    ck_assert_uint_eq(router_n_endpoints(R), 3);
    ck_assert_ptr_eq(router_reg_source(R), env_src);
    ck_assert_str_eq(pool_label(router_pool(R, 1)), "replica 1 (r1:1)");
    ck_assert_ptr_null(router_pool(R, 3));
    ck_assert_int_eq(op(ROUTER_READ, NULL, NULL), 1);
    c = env_src->cfg->pool;
    c.max_size = 7;
    router_reconfigure(R, &c);
    for (i = 0; i < 3; i++) {
        pool_stats_get(router_pool(R, (int)i), &ps);
        ck_assert_int_eq(ps.max_size, 7);
    }
    j = router_json(R);
    ck_assert_str_eq(json_string_value(json_object_get(j, "source")), "s");
    ck_assert_str_eq(json_string_value(json_object_get(j, "read_policy")), "replica_preferred");
    eps = json_object_get(j, "endpoints");
    ck_assert_uint_eq(json_array_size(eps), 3);
    e1 = json_array_get(eps, 1);
    ck_assert_str_eq(json_string_value(json_object_get(e1, "label")), "replica 1 (r1:1)");
    ck_assert_str_eq(json_string_value(json_object_get(e1, "role")), "replica");
    ck_assert_int_eq(json_integer_value(json_object_get(e1, "served")), 1);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(e1, "breaker"), "state"));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(e1, "pool"), "max_size")),
                     7);
    json_decref(j);
    ck_assert_int_eq(router_policy_parse("nearest"), ROUTER_POLICY_NEAREST);
    ck_assert_int_eq(router_policy_parse("bogus"), -1);
    ck_assert_int_eq(router_policy_parse(NULL), ROUTER_POLICY_PRIMARY);
}
END_TEST

static Suite *breaker_suite(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tcase_create("breaker");
    TCase *rt = tcase_create("router");

    tcase_add_checked_fixture(tc, brk_setup, brk_teardown);
    tcase_add_test(tc, opens_after_threshold_and_fails_fast);
    tcase_add_test(tc, auth_failure_opens_at_once);
    tcase_add_test(tc, half_open_lets_one_probe_through);
    tcase_add_test(tc, cooldown_grows_and_is_capped);
    tcase_add_test(tc, alternating_results_do_not_flap);
    tcase_add_test(tc, results_while_open_are_ignored);
    tcase_add_test(tc, abandoned_probe_frees_the_slot);
    tcase_add_test(tc, config_and_reset);
    tcase_add_test(tc, endpoint_failure_rule);
    tcase_add_test(tc, info_json);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(rt, NULL, rt_teardown);
    tcase_set_timeout(rt, 30);
    tcase_add_test(rt, write_goes_to_primary);
    tcase_add_test(rt, policy_primary);
    tcase_add_test(rt, policy_primary_preferred);
    tcase_add_test(rt, policy_replica_round_robin);
    tcase_add_test(rt, policy_nearest);
    tcase_add_test(rt, replica_policy_without_replicas);
    tcase_add_test(rt, failover_and_return_after_cooldown);
    tcase_add_test(rt, failed_probe_reopens);
    tcase_add_test(rt, operation_outcomes);
    tcase_add_test(rt, replica_role_verified);
    tcase_add_test(rt, replica_preferred_falls_back_to_primary);
    tcase_add_test(rt, saturation_is_not_failed_over);
    tcase_add_test(rt, maintain_skips_open_breakers);
    tcase_add_test(rt, reconfigure_and_json);
    suite_add_tcase(s, rt);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(breaker_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

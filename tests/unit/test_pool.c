/* SPDX-License-Identifier: Apache-2.0 */
/* test_pool.c -- the connection pool (core/conn/pool.c) against the
 * fault-injecting plugin. */
#include <config.h>

#include "conn/pool.h"
#include "pool_env.h"

static pool *P;

static void setup(void)
{
    env_start(NULL);
    P = NULL;
}

static void teardown(void)
{
    if (F)
        F->release();
    pool_free(P);
    P = NULL;
    env_stop();
}

/* A pool on the primary with the test clock and log sink. */
static pool *mkpool(const cfg_pool *c)
{
    pool_opts o;
    derr e = {0};
    pool *p;

    memset(&o, 0, sizeof o);
    o.clock = env_clock;
    o.log = env_log;
    o.seed = 42;
    p = pool_new(env_src, 0, c, &o, &e);
    ck_assert_msg(p != NULL, "pool_new: %s", e.msg ? e.msg : "?");
    return p;
}

static pool_stats stats(void)
{
    pool_stats st;

    pool_stats_get(P, &st);
    return st;
}

static pool_conn *get(const char *op)
{
    pool_conn *c = NULL;
    derr e = {0};
    dsrc_status st = pool_acquire(P, op, -1, &c, NULL, &e);

    ck_assert_msg(st == DSRC_OK, "acquire: %s", e.msg ? e.msg : "?");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(pool_conn_src(c));
    return c;
}

/* ------------------------------------------------------------------------ */

START_TEST(reuse_and_counters)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a, *b;
    pool_stats st;

    P = mkpool(&c);
    ck_assert_str_eq(pool_label(P), "primary");
    ck_assert_str_eq(pool_source(P), "s");
    a = get("one");
    st = stats();
    ck_assert_int_eq(st.total, 1);
    ck_assert_int_eq(st.active, 1);
    ck_assert_int_eq(st.idle, 0);
    pool_release(P, a, 0);
    st = stats();
    ck_assert_int_eq(st.idle, 1);
    ck_assert_int_eq(st.active, 0);
    /* the same connection comes back, nothing new is opened */
    b = get("two");
    ck_assert_ptr_eq(a, b);
    pool_release(P, b, 0);
    st = stats();
    ck_assert_uint_eq(st.opened, 1);
    ck_assert_uint_eq(st.acquires, 2);
    ck_assert_uint_eq(st.wait_count, 2);
    ck_assert_int_eq(env_fstats(NULL).opens, 1);
    ck_assert_int_eq(env_fstats(NULL).live, 1);
}
END_TEST

START_TEST(bad_endpoint)
{
    cfg_pool c = env_pool_cfg(2, 0);
    derr e = {0};

    ck_assert_ptr_null(pool_new(env_src, 1, &c, NULL, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_ARGUMENT);
    ck_msg_has(e.msg, "no endpoint 1");
    derr_clear(&e);
    ck_assert_ptr_null(pool_new(env_src, -1, &c, NULL, &e));
    derr_clear(&e);
}
END_TEST

/* 32 threads hammer a pool of 4: never more than 4 connections exist (the
 * plugin counts them, and the opens in progress), no connection is ever
 * used by two threads at once, every acquire succeeds. */
#define HAMMER_THREADS 32
#define HAMMER_ROUNDS 150
#define HAMMER_MAX 4

static atomic_int hammer_fail, hammer_over;

static int count_item(void *user, const dsrc_item *it)
{
    (void)it;
    (*(int *)user)++;
    return 0;
}

static void *hammer(void *arg)
{
    int i, id = (int)(intptr_t)arg;

    for (i = 0; i < HAMMER_ROUNDS; i++) {
        pool_conn *c = NULL;
        derr e = {0};
        int n = 0, broken;
        dsrc_item_sink sink = {sizeof sink, &n, count_item};
        pool_stats st;

        if (pool_acquire(P, "hammer", -1, &c, NULL, &e) != DSRC_OK) {
            atomic_fetch_add(&hammer_fail, 1);
            derr_clear(&e);
            continue;
        }
        pool_stats_get(P, &st);
        if (st.total > HAMMER_MAX || st.active > HAMMER_MAX)
            atomic_fetch_add(&hammer_over, 1);
        if (source_list(pool_conn_src(c), "", &sink, &e) != DSRC_OK || n != 1)
            atomic_fetch_add(&hammer_fail, 1);
        /* now and then the operation "breaks" its connection */
        broken = (i + id) % 23 == 0;
        pool_release(P, c, broken);
        derr_clear(&e);
    }
    return NULL;
}

START_TEST(max_size_never_exceeded)
{
    cfg_pool c = env_pool_cfg(HAMMER_MAX, 0);
    pthread_t t[HAMMER_THREADS];
    fault_stats fs;
    pool_stats st;
    int i;

    P = mkpool(&c);
    F->set_delay(FAULT_OPEN, 2000);  /* opens are slow: many overlap */
    F->set_delay(FAULT_CALL, 50);
    atomic_store(&hammer_fail, 0);
    atomic_store(&hammer_over, 0);
    for (i = 0; i < HAMMER_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
    for (i = 0; i < HAMMER_THREADS; i++)
        pthread_join(t[i], NULL);
    /* an open started for a waiter that was then served by a release may
     * still be finishing; its connection goes idle */
    ck_assert(env_wait_for(stats().opening == 0, 5000));
    fs = env_fstats(NULL);
    st = stats();
    i = atomic_load(&hammer_fail);
    ck_assert_int_eq(i, 0);
    i = atomic_load(&hammer_over);
    ck_assert_int_eq(i, 0);
    ck_assert_int_le(fs.max_live, HAMMER_MAX);
    ck_assert_int_le(fs.max_opening, HAMMER_MAX);
    ck_assert_int_eq(fs.overlaps, 0);
    ck_assert_int_eq(fs.calls, HAMMER_THREADS * HAMMER_ROUNDS);
    ck_assert_uint_eq(st.acquires, HAMMER_THREADS * HAMMER_ROUNDS);
    ck_assert_uint_gt(st.broken, 0);
    /* broken ones were closed and replaced */
    ck_assert_int_eq(fs.closes, (long)st.broken);
    ck_assert_uint_eq(st.opened, (uint64_t)fs.opens);
    ck_assert_int_eq(st.total, fs.live);
    ck_assert_int_le(st.total, HAMMER_MAX);
    ck_assert_uint_eq(st.timeouts, 0);
    ck_assert_int_eq(st.active, 0);
    ck_assert_int_eq(st.waiting, 0);
    /* the contended waits show in the histogram */
    ck_assert_uint_ge(st.wait_count, HAMMER_THREADS * HAMMER_ROUNDS);
    ck_assert(st.wait_p50_ms <= st.wait_p95_ms);
    ck_assert(st.wait_p95_ms <= st.wait_p99_ms);
    ck_assert(st.wait_p99_ms <= st.wait_max_ms);
    ck_assert(st.wait_max_ms > 0);
}
END_TEST

START_TEST(acquire_timeout_names_state)
{
    cfg_pool c = env_pool_cfg(1, 0);
    pool_conn *held, *x = NULL;
    pool_why why;
    derr e = {0};
    int64_t t0;
    pool_stats st;

    P = mkpool(&c);
    held = get("holder");
    t0 = env_real_ms();
    ck_assert_int_eq(pool_acquire(P, "late", 60, &x, &why, &e), DSRC_E_TIMEOUT);
    ck_assert_int_ge(env_real_ms() - t0, 60);
    ck_assert_int_lt(env_real_ms() - t0, 10000);
    ck_assert_ptr_null(x);
    ck_assert_int_eq(why, POOL_TIMEOUT);
    ck_assert_int_eq(e.retryable, 1);
    ck_msg_has(e.msg, "source 's'");
    ck_msg_has(e.msg, "primary");
    ck_msg_has(e.msg, "after 60 ms");
    ck_msg_has(e.msg, "total 1/1");
    ck_msg_has(e.msg, "idle 0");
    ck_msg_has(e.msg, "active 1");
    ck_msg_has(e.msg, "waiting 0");
    derr_clear(&e);
    /* timeout 0 fails at once */
    t0 = env_real_ms();
    ck_assert_int_eq(pool_acquire(P, "now", 0, &x, &why, &e), DSRC_E_TIMEOUT);
    ck_assert_int_lt(env_real_ms() - t0, 10000);
    derr_clear(&e);
    st = stats();
    ck_assert_uint_eq(st.timeouts, 2);
    ck_assert(st.wait_max_ms >= 60.0);
    pool_release(P, held, 0);
    x = get("after");
    ck_assert_ptr_eq(x, held);
    pool_release(P, x, 0);
}
END_TEST

/* An open that hangs does not hold the waiter past its timeout; when it
 * finishes, its connection joins the pool. */
START_TEST(timeout_while_open_hangs)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *x = NULL;
    pool_why why;
    derr e = {0};
    int64_t t0;
    pool_stats st;

    P = mkpool(&c);
    F->set(NULL, FAULT_OPEN, FAULT_HANG, DSRC_OK, 1);
    t0 = env_real_ms();
    ck_assert_int_eq(pool_acquire(P, "waits", 50, &x, &why, &e), DSRC_E_TIMEOUT);
    ck_assert_int_lt(env_real_ms() - t0, 10000);
    ck_assert_int_eq(why, POOL_TIMEOUT);
    derr_clear(&e);
    ck_assert(F->wait_hung(1, 10000));
    st = stats();
    ck_assert_int_eq(st.total, 1);   /* counted while being opened */
    ck_assert_int_eq(st.opening, 1);
    F->release();
    ck_assert(env_wait_for(stats().idle == 1, 10000));
    st = stats();
    ck_assert_int_eq(st.total, 1);
    ck_assert_int_eq(st.opening, 0);
    ck_assert_uint_eq(st.opened, 1);
}
END_TEST

/* source_open() in a thread of its own, for the cancellation tests. */
typedef struct open_job {
    source_conn *c;
    dsrc_status st;
} open_job;

static void *open_main(void *arg)
{
    open_job *j = arg;
    derr e = {0};

    j->st = source_open(env_src, 0, &j->c, &e);
    derr_clear(&e);
    return NULL;
}

/* An open that hangs as `mode` says, cancelled by source_cancel_all()
 * (the caller has no source_conn yet): it ends cancelled, with no
 * connection; the fault plugin's counters then. */
static fault_stats cancel_hung_open(fault_mode mode)
{
    open_job j = {0};
    pthread_t t;

    F->reset();
    F->set(NULL, FAULT_OPEN, mode, DSRC_OK, 1);
    ck_assert_int_eq(pthread_create(&t, NULL, open_main, &j), 0);
    ck_assert(F->wait_hung(1, 10000));
    source_cancel_all();
    pthread_join(t, NULL);
    ck_assert_int_eq(j.st, DSRC_E_CANCELLED);
    ck_assert(j.c == NULL);
    return env_fstats(NULL);
}

/* A cancellation during open() reaches it; the plugin sees the flag, and
 * its cancel descriptor (host->cancel_fd) readable. */
START_TEST(cancel_fd_during_open)
{
    ck_assert_int_eq(cancel_hung_open(FAULT_HANG).cancel_fd_ready, 1);
}
END_TEST

/* The order the SDK promises (plugin.h, cancel_fd): once the descriptor
 * is readable, is_cancelled() is nonzero.  The plugin polls the descriptor
 * in a busy loop and reads the flag the moment it wakes; the host sets the
 * flag before it writes the descriptor, or a plugin on another core would
 * wake to a flag still 0 (and poll the readable descriptor again, in a
 * loop). */
START_TEST(cancel_flag_set_when_fd_readable)
{
    int i;

    for (i = 0; i < 200; i++) {
        fault_stats fs = cancel_hung_open(FAULT_HANG_SPIN);

        ck_assert_int_eq(fs.cancel_fd_ready, 1);
        ck_assert_msg(fs.flag_late == 0,
                      "round %d: the descriptor was readable before the flag was set", i);
    }
}
END_TEST

/* source_cancel() during a call: the descriptor of that connection is
 * readable when the plugin sees the flag; a connection closed afterwards
 * leaves nothing for source_cancel_all() to reach. */
typedef struct list_job {
    source_conn *c;
    dsrc_status st;
} list_job;

static int list_none(void *user, const dsrc_item *it)
{
    (void)user;
    (void)it;
    return 0;
}

static void *list_main(void *arg)
{
    list_job *j = arg;
    dsrc_item_sink sink = {.struct_size = sizeof sink, .item = list_none};
    derr e = {0};

    j->st = source_list(j->c, "", &sink, &e);
    derr_clear(&e);
    return NULL;
}

START_TEST(cancel_fd_during_call)
{
    list_job j = {0};
    derr e = {0};
    pthread_t t;
    fault_stats fs;

    ck_assert_int_eq(source_open(env_src, 0, &j.c, &e), DSRC_OK);
    F->set(NULL, FAULT_CALL, FAULT_HANG, DSRC_OK, 1);
    ck_assert_int_eq(pthread_create(&t, NULL, list_main, &j), 0);
    ck_assert(F->wait_hung(1, 10000));
    source_cancel(j.c);
    pthread_join(t, NULL);
    ck_assert_int_eq(j.st, DSRC_E_CANCELLED);
    fs = env_fstats(NULL);
    ck_assert_int_eq(fs.cancel_fd_ready, 1);
    source_close(j.c);
    source_cancel_all(); /* nothing live: must not touch the freed one */
}
END_TEST

START_TEST(open_failure_fails_fast)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *x = NULL;
    pool_why why;
    derr e = {0};
    int64_t t0;
    pool_stats st;

    P = mkpool(&c);
    F->set("primary", FAULT_OPEN, FAULT_FAIL, DSRC_E_AUTH, 1);
    t0 = env_real_ms();
    ck_assert_int_eq(pool_acquire(P, "first", 60000, &x, &why, &e), DSRC_E_AUTH);
    ck_assert_int_lt(env_real_ms() - t0, 10000);
    ck_assert_int_eq(why, POOL_OPEN_FAILED);
    ck_msg_has(e.msg, "cannot open");
    ck_msg_has(e.msg, "injected open failure");
    derr_clear(&e);
    ck_assert_int_eq(pool_last_error(P, &e), DSRC_E_AUTH);
    derr_clear(&e);
    ck_assert(env_wait_for(env_log_has("opening a connection failed"), 10000));
    st = stats();
    ck_assert_uint_eq(st.failed_opens, 1);
    ck_assert_int_eq(st.total, 0);
    ck_assert_int_ne(st.last_open_error_ms, -1);
    x = get("second");
    pool_release(P, x, 0);
    ck_assert_int_eq(pool_last_error(P, &e), DSRC_OK);
    ck_assert(env_wait_for(env_log_has("works again"), 10000));
}
END_TEST

/* Waiters are served in arrival order. */
#define FIFO_N 8
static int fifo_order[FIFO_N];
static int fifo_next;
static pthread_mutex_t fifo_mu = PTHREAD_MUTEX_INITIALIZER;

static void *fifo_waiter(void *arg)
{
    int id = (int)(intptr_t)arg;
    pool_conn *c = NULL;
    derr e = {0};

    if (pool_acquire(P, "fifo", 10000, &c, NULL, &e) != DSRC_OK) {
        derr_clear(&e);
        return NULL;
    }
    pthread_mutex_lock(&fifo_mu);
    fifo_order[fifo_next++] = id;
    pthread_mutex_unlock(&fifo_mu);
    pool_release(P, c, 0);
    return NULL;
}

START_TEST(fifo_fairness)
{
    cfg_pool c = env_pool_cfg(1, 0);
    pthread_t t[FIFO_N];
    pool_conn *held, *x = NULL;
    derr e = {0};
    int i;

    P = mkpool(&c);
    held = get("holder");
    fifo_next = 0;
    for (i = 0; i < FIFO_N; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, fifo_waiter, (void *)(intptr_t)i), 0);
        ck_assert(env_wait_for(stats().waiting == i + 1, 10000));
    }
    /* a newcomer cannot jump the queue, even with the connection returned
     * in between: it goes straight to the first waiter */
    pool_release(P, held, 0);
    for (i = 0; i < FIFO_N; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(fifo_next, FIFO_N);
    for (i = 0; i < FIFO_N; i++)
        ck_assert_int_eq(fifo_order[i], i);
    ck_assert_uint_eq(stats().opened, 1);
    ck_assert_int_eq(pool_acquire(P, "last", 0, &x, NULL, &e), DSRC_OK);
    pool_release(P, x, 0);
}
END_TEST

START_TEST(leak_warning_names_operation)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a;

    c.leak_threshold_ms = 10000;
    P = mkpool(&c);
    a = get("fetch public.orders");
    env_advance(9999);
    pool_maintain(P);
    ck_assert(!env_log_has("leak"));
    env_advance(1);
    pool_maintain(P);
    ck_assert(env_log_has("held for 10.0 s by 'fetch public.orders'"));
    ck_assert(env_log_has("leak_threshold 10.0 s"));
    ck_assert_uint_eq(stats().leaks, 1);
    /* reported once */
    env_advance(60000);
    pool_maintain(P);
    ck_assert_uint_eq(stats().leaks, 1);
    pool_release(P, a, 0);
    ck_assert(env_log_has("returned by 'fetch public.orders' after 70.0 s"));
    ck_assert_int_eq(stats().idle, 1);
}
END_TEST

START_TEST(lifetime_expiry_jittered)
{
    cfg_pool c = env_pool_cfg(10, 0);
    pool_conn *v[10];
    pool_stats st;
    int i;

    c.max_lifetime_ms = 100000;
    c.validate_after_ms = -1;
    P = mkpool(&c);
    for (i = 0; i < 10; i++)
        v[i] = get("fill");
    for (i = 0; i < 10; i++)
        pool_release(P, v[i], 0);
    ck_assert_int_eq(stats().idle, 10);
    /* nothing expires before 97.5% of the lifetime */
    env_advance(97499);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 10);
    ck_assert_uint_eq(stats().expired, 0);
    /* the jitter spreads expiry over the last 2.5% */
    env_advance(1250);
    pool_maintain(P);
    st = stats();
    ck_assert_uint_gt(st.expired, 0);
    ck_assert_uint_lt(st.expired, 10);
    /* all gone at 100% */
    env_advance(1251);
    pool_maintain(P);
    st = stats();
    ck_assert_uint_eq(st.expired, 10);
    ck_assert_int_eq(st.total, 0);
    ck_assert_int_eq(env_fstats(NULL).live, 0);
}
END_TEST

START_TEST(lifetime_expiry_on_release)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a, *b;

    c.max_lifetime_ms = 1000;
    P = mkpool(&c);
    a = get("long");
    env_advance(1000);
    pool_release(P, a, 0);
    ck_assert_uint_eq(stats().expired, 1);
    ck_assert_int_eq(stats().total, 0);
    ck_assert_int_eq(env_fstats(NULL).closes, 1);
    /* and an idle one found expired at acquire is replaced */
    a = get("short");
    pool_release(P, a, 0);
    env_advance(1000);
    b = get("again");
    ck_assert_uint_eq(stats().expired, 2);
    ck_assert_uint_eq(stats().opened, 3);
    pool_release(P, b, 0);
}
END_TEST

/* A connection being closed still counts against max_size: while a slow
 * close runs (recycled after a TLS change, or expired and closed by the
 * caller that found it), a waiter does not open another, and the server never
 * sees more than max_size sessions.  (A smaller max_size closes idle
 * connections only down to it, so it leaves no room meanwhile.) */
static atomic_int closing_fail;

static void *recycle_thread(void *arg)
{
    (void)arg;
    pool_recycle(P);
    return NULL;
}

static void *get_release_thread(void *arg)
{
    pool_conn *c = NULL;
    derr e = {0};

    if (pool_acquire(P, (const char *)arg, -1, &c, NULL, &e) == DSRC_OK)
        pool_release(P, c, 0);
    else
        atomic_fetch_add(&closing_fail, 1);
    derr_clear(&e);
    return NULL;
}

START_TEST(closing_counts_against_max_size)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a, *b;
    pthread_t t, u[2];
    int i;

    c.max_lifetime_ms = 1000;
    P = mkpool(&c);
    atomic_store(&closing_fail, 0);

    /* recycled: both idle connections close slowly, two callers wait */
    a = get("a");
    b = get("b");
    pool_release(P, a, 0);
    pool_release(P, b, 0);
    F->reset();
    F->set_close_delay(300000);
    ck_assert_int_eq(pthread_create(&t, NULL, recycle_thread, NULL), 0);
    ck_assert(env_wait_for(stats().idle == 0, 5000));
    for (i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&u[i], NULL, get_release_thread, "after recycle"), 0);
    pthread_join(t, NULL);
    for (i = 0; i < 2; i++)
        pthread_join(u[i], NULL);
    ck_assert_int_eq(atomic_load(&closing_fail), 0);
    ck_assert_int_le(env_fstats(NULL).max_live, 2);
    ck_assert_int_eq(env_fstats(NULL).closes, 2);

    /* expired at acquire: closed by the caller that found it, and the
     * other caller does not open a third meanwhile */
    a = get("a");
    b = get("b");
    pool_release(P, a, 0);
    pool_release(P, b, 0);
    ck_assert_int_eq(stats().idle, 2);
    env_advance(1000);
    F->reset();
    F->set_close_delay(300000);
    ck_assert_int_eq(pthread_create(&u[0], NULL, get_release_thread, "expired 1"), 0);
    ck_assert(env_wait_for(stats().idle < 2, 5000));
    ck_assert_int_eq(pthread_create(&u[1], NULL, get_release_thread, "expired 2"), 0);
    for (i = 0; i < 2; i++)
        pthread_join(u[i], NULL);
    ck_assert_int_eq(atomic_load(&closing_fail), 0);
    ck_assert_int_le(env_fstats(NULL).max_live, 2);
}
END_TEST

START_TEST(recycle_closes_idle_now_and_borrowed_on_release)
{
    cfg_pool c = env_pool_cfg(3, 0);
    pool_conn *a, *b, *d;

    P = mkpool(&c);
    a = get("busy");
    b = get("idle");
    pool_release(P, b, 0);
    ck_assert_int_eq(stats().idle, 1);
    pool_recycle(P);
    /* the idle one is closed at once, the borrowed one still works */
    ck_assert_int_eq(stats().idle, 0);
    ck_assert_int_eq(stats().active, 1);
    ck_assert_int_eq(env_fstats(NULL).closes, 1);
    ck_assert_ptr_nonnull(pool_conn_src(a));
    /* a new acquire opens a new connection */
    d = get("new");
    ck_assert_uint_eq(stats().opened, 3);
    /* the borrowed one is closed when returned, the new one kept */
    pool_release(P, a, 0);
    ck_assert_int_eq(env_fstats(NULL).closes, 2);
    pool_release(P, d, 0);
    ck_assert_int_eq(stats().idle, 1);
    ck_assert_int_eq(env_fstats(NULL).closes, 2);
    d = get("reuse");
    ck_assert_uint_eq(stats().opened, 3);
    pool_release(P, d, 0);
}
END_TEST

START_TEST(idle_timeout_keeps_min_idle)
{
    cfg_pool c = env_pool_cfg(4, 1);
    pool_conn *v[3];
    int i;

    c.idle_timeout_ms = 5000;
    c.validate_after_ms = -1;
    P = mkpool(&c);
    for (i = 0; i < 3; i++)
        v[i] = get("x");
    for (i = 0; i < 3; i++)
        pool_release(P, v[i], 0);
    env_advance(4999);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 3);
    env_advance(1);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 1);
    ck_assert_uint_eq(stats().idle_retired, 2);
    env_advance(100000);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 1);
}
END_TEST

START_TEST(min_idle_maintenance)
{
    cfg_pool c = env_pool_cfg(5, 3);
    pool_conn *a;

    P = mkpool(&c);
    ck_assert_int_eq(pool_maintain(P), 3);
    ck_assert_int_eq(stats().idle, 3);
    ck_assert_int_eq(pool_maintain(P), 0);
    /* borrowing one leaves 2 idle: the next round tops up to 3 */
    a = get("x");
    ck_assert_int_eq(pool_maintain(P), 1);
    ck_assert_int_eq(stats().idle, 3);
    ck_assert_int_eq(stats().total, 4);
    pool_release(P, a, 0);
    ck_assert_int_eq(stats().idle, 4);
    /* a failing endpoint: one failed attempt per round, not a storm */
    pool_free(P);
    F->set(NULL, FAULT_OPEN, FAULT_FAIL, DSRC_E_UNREACHABLE, -1);
    P = mkpool(&c);
    ck_assert_int_eq(pool_maintain(P), 0);
    ck_assert_uint_eq(stats().failed_opens, 1);
    ck_assert_int_eq(stats().total, 0);
    ck_assert_int_eq(stats().opening, 0);
}
END_TEST

/* pool_maintain_due() says 1 exactly when pool_maintain() has work: a
 * host of many idle sources hands none of them to a thread. */
START_TEST(maintain_due_only_with_work)
{
    cfg_pool c = env_pool_cfg(4, 0);
    pool_conn *a;

    c.idle_timeout_ms = 5000;
    c.leak_threshold_ms = 10000;
    c.validate_after_ms = -1;
    P = mkpool(&c);
    /* empty, no min_idle: nothing to do */
    ck_assert_int_eq(pool_maintain_due(P), 0);
    a = get("x");
    ck_assert_int_eq(pool_maintain_due(P), 0);
    /* a leak to report, once */
    env_advance(9999);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    env_advance(1);
    ck_assert_int_eq(pool_maintain_due(P), 1);
    pool_maintain(P);
    ck_assert_uint_eq(stats().leaks, 1);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    pool_release(P, a, 0);
    /* an idle connection: due once it is idle past idle_timeout */
    env_advance(4999);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    env_advance(1);
    ck_assert_int_eq(pool_maintain_due(P), 1);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 0);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    /* min_idle to reach */
    c.min_idle = 1;
    pool_reconfigure(P, &c);
    ck_assert_int_eq(pool_maintain_due(P), 1);
    ck_assert_int_eq(pool_maintain(P), 1);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    env_advance(100000);
    ck_assert_int_eq(pool_maintain_due(P), 0); /* min_idle is kept past idle_timeout */
    /* a keepalive ping due */
    c.keepalive_ms = 3000;
    pool_reconfigure(P, &c);
    ck_assert_int_eq(pool_maintain_due(P), 1);
    pool_maintain(P);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    env_advance(2999);
    ck_assert_int_eq(pool_maintain_due(P), 0);
    env_advance(1);
    ck_assert_int_eq(pool_maintain_due(P), 1);
}
END_TEST

START_TEST(validate_after_idle)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a;

    c.validate_after_ms = 500;
    P = mkpool(&c);
    a = get("x");
    pool_release(P, a, 0);
    env_advance(500);
    a = get("x");  /* idle exactly 500 ms: not validated */
    ck_assert_int_eq(env_fstats(NULL).pings, 0);
    pool_release(P, a, 0);
    env_advance(501);
    a = get("x");
    ck_assert_int_eq(env_fstats(NULL).pings, 1);
    pool_release(P, a, 0);
    /* a dead idle connection is replaced, the caller never sees it */
    env_advance(501);
    F->set(NULL, FAULT_PING, FAULT_BREAK, DSRC_E_UNREACHABLE, 1);
    a = get("x");
    ck_assert_uint_eq(stats().stale, 1);
    ck_assert_uint_eq(stats().opened, 2);
    ck_assert_int_eq(stats().total, 1);
    ck_assert(env_log_has("failed validation"));
    pool_release(P, a, 0);
}
END_TEST

START_TEST(keepalive_pings_idle)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a, *b;

    c.keepalive_ms = 30000;
    P = mkpool(&c);
    a = get("x");
    b = get("y");
    pool_release(P, a, 0);
    pool_release(P, b, 0);
    env_advance(29999);
    pool_maintain(P);
    ck_assert_int_eq(env_fstats(NULL).pings, 0);
    env_advance(1);
    pool_maintain(P);
    ck_assert_int_eq(env_fstats(NULL).pings, 2);
    ck_assert_int_eq(stats().idle, 2);
    /* pinged connections count as checked: no validation right after */
    a = get("z");
    ck_assert_int_eq(env_fstats(NULL).pings, 2);
    pool_release(P, a, 0);
    /* a keepalive that fails closes the connection */
    env_advance(30000);
    F->set(NULL, FAULT_PING, FAULT_FAIL, DSRC_E_UNREACHABLE, 1);
    pool_maintain(P);
    ck_assert_int_eq(stats().idle, 1);
    ck_assert_uint_eq(stats().stale, 1);
    ck_assert(env_log_has("keepalive"));
}
END_TEST

static void *maintain_thread(void *arg)
{
    (void)arg;
    pool_maintain(P);
    return NULL;
}

/* A keepalive ping that hangs: pool_cancel_maintenance() stops it, and
 * that connection is closed. */
START_TEST(keepalive_ping_cancelled)
{
    cfg_pool c = env_pool_cfg(1, 0);
    pool_conn *a;
    pthread_t th;

    c.keepalive_ms = 30000;
    P = mkpool(&c);
    a = get("x");
    pool_release(P, a, 0);
    env_advance(30000);
    F->set(NULL, FAULT_PING, FAULT_HANG, DSRC_OK, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, maintain_thread, NULL), 0);
    ck_assert(F->wait_hung(1, 10000));
    pool_cancel_maintenance(P);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(stats().idle, 0);
    ck_assert_uint_eq(stats().stale, 1);
    ck_assert_int_eq(env_fstats(NULL).live, 0);
    pool_cancel_maintenance(P); /* nothing in progress: nothing happens */
}
END_TEST

START_TEST(broken_release_closes)
{
    cfg_pool c = env_pool_cfg(2, 0);
    pool_conn *a;
    derr e = {0};
    pool_stats st;

    P = mkpool(&c);
    a = get("x");
    F->set(NULL, FAULT_CALL, FAULT_BREAK, DSRC_E_UNREACHABLE, 1);
    ck_assert_int_ne(source_list(pool_conn_src(a), "", NULL, &e), DSRC_OK);
    ck_assert_int_eq(e.connection_broken, 1);
    pool_release_err(P, a, &e);
    derr_clear(&e);
    st = stats();
    ck_assert_uint_eq(st.broken, 1);
    ck_assert_int_eq(st.total, 0);
    ck_assert_int_eq(env_fstats(NULL).live, 0);
    /* an error that is not connection-level keeps the connection */
    a = get("y");
    F->set(NULL, FAULT_CALL, FAULT_FAIL, DSRC_E_NOT_FOUND, 1);
    ck_assert_int_ne(source_list(pool_conn_src(a), "", NULL, &e), DSRC_OK);
    pool_release_err(P, a, &e);
    derr_clear(&e);
    ck_assert_int_eq(stats().idle, 1);
}
END_TEST

/* Resizing under load: shrinking never drops a borrowed connection and
 * brings the pool down to the new size; growing lets waiters open. */
static atomic_int load_stop, load_fail;
static atomic_long load_ops;

static void *loader(void *arg)
{
    (void)arg;
    while (!atomic_load(&load_stop)) {
        pool_conn *c = NULL;
        derr e = {0};
        if (pool_acquire(P, "load", 10000, &c, NULL, &e) != DSRC_OK) {
            atomic_fetch_add(&load_fail, 1);
            derr_clear(&e);
            continue;
        }
        if (source_list(pool_conn_src(c), "", NULL, &e) != DSRC_OK)
            atomic_fetch_add(&load_fail, 1);
        derr_clear(&e);
        pool_release(P, c, 0);
        atomic_fetch_add(&load_ops, 1);
    }
    return NULL;
}

START_TEST(reconfigure_under_load)
{
    cfg_pool c = env_pool_cfg(8, 0);
    pthread_t t[16];
    int i;
    long ops;

    P = mkpool(&c);
    F->set_delay(FAULT_CALL, 200);
    atomic_store(&load_stop, 0);
    atomic_store(&load_fail, 0);
    atomic_store(&load_ops, 0);
    for (i = 0; i < 16; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, loader, NULL), 0);
    ck_assert(env_wait_for(stats().total == 8, 5000));

    c.max_size = 2;
    pool_reconfigure(P, &c);
    ck_assert_int_eq(stats().max_size, 2);
    ck_assert(env_wait_for(stats().total <= 2, 5000));
    ck_assert(env_wait_for(env_fstats(NULL).live <= 2, 5000));
    F->reset();  /* max_live restarts from the live count */
    F->set_delay(FAULT_CALL, 200);
    ops = atomic_load(&load_ops);
    ck_assert(env_wait_for(atomic_load(&load_ops) > ops + 200, 10000));
    ck_assert_int_le(env_fstats(NULL).max_live, 2);

    c.max_size = 6;
    pool_reconfigure(P, &c);
    ck_assert(env_wait_for(env_fstats(NULL).live == 6, 5000));
    ops = atomic_load(&load_ops);
    ck_assert(env_wait_for(atomic_load(&load_ops) > ops + 200, 10000));
    atomic_store(&load_stop, 1);
    for (i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    i = atomic_load(&load_fail);
    ck_assert_int_eq(i, 0);
    ck_assert_int_le(env_fstats(NULL).max_live, 6);
    ck_assert_int_eq(env_fstats(NULL).overlaps, 0);
    ck_assert_uint_eq(stats().timeouts, 0);
    ck_assert_int_eq(stats().active, 0);
}
END_TEST

/* pool_free() while a thread waits and another holds a connection: the
 * waiter fails with POOL_CLOSED, the free completes once the holder gives
 * its connection back. */
static pool_why closed_why;
static dsrc_status closed_st;

static void *closed_waiter(void *arg)
{
    pool_conn *c = NULL;
    derr e = {0};

    (void)arg;
    closed_st = pool_acquire(P, "wait", 10000, &c, &closed_why, &e);
    derr_clear(&e);
    return NULL;
}

static atomic_int freed;

static void *freer(void *arg)
{
    pool_free(arg);
    atomic_store(&freed, 1);
    return NULL;
}

START_TEST(free_with_waiter_and_borrower)
{
    cfg_pool c = env_pool_cfg(1, 0);
    pthread_t w, f;
    pool_conn *held;
    pool *p;

    P = mkpool(&c);
    held = get("holder");
    ck_assert_int_eq(pthread_create(&w, NULL, closed_waiter, NULL), 0);
    ck_assert(env_wait_for(stats().waiting == 1, 10000));
    p = P;
    atomic_store(&freed, 0);
    ck_assert_int_eq(pthread_create(&f, NULL, freer, p), 0);
    pthread_join(w, NULL);
    ck_assert_int_eq(closed_st, DSRC_E_UNREACHABLE);
    ck_assert_int_eq(closed_why, POOL_CLOSED);
    env_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&freed), 0);  /* still waiting for `held` */
    pool_release(p, held, 0);
    pthread_join(f, NULL);
    ck_assert_int_eq(atomic_load(&freed), 1);
    P = NULL;
    ck_assert_int_eq(env_fstats(NULL).live, 0);
}
END_TEST

START_TEST(stats_json_shape)
{
    cfg_pool c = env_pool_cfg(3, 1);
    pool_conn *a;
    pool_stats st;
    json_t *j, *w;

    P = mkpool(&c);
    a = get("x");
    pool_stats_get(P, &st);
    j = pool_stats_json(&st);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_size")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "min_idle")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "total")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "active")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "opened")), 1);
    ck_assert_ptr_nonnull(json_object_get(j, "timeouts"));
    ck_assert_ptr_nonnull(json_object_get(j, "failed_opens"));
    w = json_object_get(j, "acquire_wait_ms");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(json_integer_value(json_object_get(w, "count")), 1);
    ck_assert(json_is_real(json_object_get(w, "p99")));
    json_decref(j);
    pool_release(P, a, 0);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reuse_and_counters);
    tcase_add_test(tc, bad_endpoint);
    tcase_add_test(tc, max_size_never_exceeded);
    tcase_add_test(tc, acquire_timeout_names_state);
    tcase_add_test(tc, timeout_while_open_hangs);
    tcase_add_test(tc, open_failure_fails_fast);
    tcase_add_test(tc, cancel_fd_during_open);
    tcase_add_test(tc, cancel_flag_set_when_fd_readable);
    tcase_add_test(tc, cancel_fd_during_call);
    tcase_add_test(tc, fifo_fairness);
    tcase_add_test(tc, leak_warning_names_operation);
    tcase_add_test(tc, lifetime_expiry_jittered);
    tcase_add_test(tc, lifetime_expiry_on_release);
    tcase_add_test(tc, recycle_closes_idle_now_and_borrowed_on_release);
    tcase_add_test(tc, closing_counts_against_max_size);
    tcase_add_test(tc, idle_timeout_keeps_min_idle);
    tcase_add_test(tc, min_idle_maintenance);
    tcase_add_test(tc, maintain_due_only_with_work);
    tcase_add_test(tc, validate_after_idle);
    tcase_add_test(tc, keepalive_pings_idle);
    tcase_add_test(tc, keepalive_ping_cancelled);
    tcase_add_test(tc, broken_release_closes);
    tcase_add_test(tc, reconfigure_under_load);
    tcase_add_test(tc, free_with_waiter_and_borrower);
    tcase_add_test(tc, stats_json_shape);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pool_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

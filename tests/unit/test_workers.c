/* SPDX-License-Identifier: Apache-2.0 */
/* test_workers.c -- the worker threads (core/jobs/workers.c) with real
 * threads.  Tasks record, under one lock, how many run at once in all and
 * per key, and may be held at a gate the test opens; the test waits on a
 * condition variable for what it expects (the 10 s limit on those waits
 * only turns a hang into a failure, it measures nothing). */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/workers.h"

#define NKEYS 4
#define MAXTASKS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, max_running;
    int running_key[NKEYS], max_key[NKEYS];
    int started, finished, freed, freed_unrun;
    int gate;                       /* 1: held tasks may return */
    int order[MAXTASKS], n_order;   /* task ids in the order they started */
    int ran[MAXTASKS];
} P;

typedef struct task {
    int id, key, hold;
} task;

static const char *const KEYS[NKEYS] = {"alpha", "beta", "gamma", "delta"};

static void reset(void)
{
    memset(&P, 0, sizeof P);
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cv, NULL);
}

static void task_fn(void *arg)
{
    task *t = arg;

    pthread_mutex_lock(&P.mu);
    P.running++;
    P.running_key[t->key]++;
    if (P.running > P.max_running)
        P.max_running = P.running;
    if (P.running_key[t->key] > P.max_key[t->key])
        P.max_key[t->key] = P.running_key[t->key];
    P.order[P.n_order++] = t->id;
    P.ran[t->id] = 1;
    P.started++;
    pthread_cond_broadcast(&P.cv);
    while (t->hold && !P.gate)
        pthread_cond_wait(&P.cv, &P.mu);
    P.running--;
    P.running_key[t->key]--;
    P.finished++;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
}

static void task_free(void *arg)
{
    task *t = arg;

    pthread_mutex_lock(&P.mu);
    P.freed++;
    if (!P.ran[t->id])
        P.freed_unrun++;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    free(t);
}

static int64_t submit(workers *w, int id, int key, int hold)
{
    task *t = malloc(sizeof *t);
    int64_t rc;

    ck_assert_ptr_nonnull(t);
    t->id = id;
    t->key = key;
    t->hold = hold;
    rc = workers_submit(w, KEYS[key], task_fn, t, task_free);
    ck_assert_int_gt(rc, 0);
    return rc;
}

/* Wait (at most 10 s) until `cond` holds, with P.mu held while testing it. */
#define WAIT_FOR(cond)                                                       \
    do {                                                                     \
        struct timespec dl_;                                                 \
        int ok_ = 1;                                                         \
        clock_gettime(CLOCK_REALTIME, &dl_);                                 \
        dl_.tv_sec += 10;                                                    \
        pthread_mutex_lock(&P.mu);                                           \
        while (!(cond) && ok_)                                               \
            ok_ = pthread_cond_timedwait(&P.cv, &P.mu, &dl_) == 0;           \
        ok_ = (cond);                                                        \
        pthread_mutex_unlock(&P.mu);                                         \
        ck_assert_msg(ok_, "never came: %s", #cond);                         \
    } while (0)

static void open_gate(void)
{
    pthread_mutex_lock(&P.mu);
    P.gate = 1;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
}

static void count(workers *w, const char *key, int queued, int running)
{
    int q = -1, r = -1;

    workers_count(w, key, &q, &r);
    ck_assert_msg(q == queued && r == running, "%s: queued %d running %d, "
                  "expected %d and %d", key ? key : "all", q, r, queued, running);
}

static workers *mk(int n, int per_key)
{
    derr e = {0};
    workers *w = workers_new(n, per_key, &e);

    ck_assert_msg(w != NULL, "workers_new: %s", e.msg ? e.msg : "?");
    return w;
}

/* ------------------------------------------------------------------------ */

START_TEST(bad_limits_are_refused)
{
    derr e = {0};

    ck_assert_ptr_null(workers_new(0, 1, &e));
    ck_assert_int_eq(e.status, DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "0 workers"));
    derr_clear(&e);
    ck_assert_ptr_null(workers_new(2, 0, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "0 per source"));
    derr_clear(&e);
}
END_TEST

START_TEST(the_limits_hold_under_load)
{
    workers *w;
    int i, k;

    reset();
    w = mk(3, 2);
    for (i = 0; i < 40; i++)
        submit(w, i, i % NKEYS, 1);
    /* three run, held; the rest wait */
    WAIT_FOR(P.started == 3);
    count(w, NULL, 37, 3);
    open_gate();
    WAIT_FOR(P.finished == 40 && P.freed == 40);
    ck_assert_int_eq(P.max_running, 3);
    for (k = 0; k < NKEYS; k++)
        ck_assert_int_le(P.max_key[k], 2);
    ck_assert_int_eq(P.freed_unrun, 0);
    count(w, NULL, 0, 0);
    workers_free(w);
}
END_TEST

START_TEST(one_key_never_runs_more_than_its_limit)
{
    workers *w;
    int i;

    reset();
    w = mk(4, 2);
    for (i = 0; i < 6; i++)
        submit(w, i, 0, 1);
    WAIT_FOR(P.started == 2);
    count(w, "alpha", 4, 2);
    /* a task of another key still finds a free worker */
    submit(w, 6, 1, 0);
    WAIT_FOR(P.finished == 1);
    ck_assert_int_eq(P.order[2], 6);
    count(w, "alpha", 4, 2);
    open_gate();
    WAIT_FOR(P.freed == 7);
    ck_assert_int_eq(P.max_key[0], 2);
    ck_assert_int_eq(P.max_running, 3);
    workers_free(w);
}
END_TEST

START_TEST(a_blocked_key_does_not_block_the_others)
{
    workers *w;

    reset();
    w = mk(2, 1);
    submit(w, 0, 0, 1);   /* alpha runs, held              */
    submit(w, 1, 0, 1);   /* alpha waits: its key is full  */
    submit(w, 2, 1, 0);   /* beta, after it in the queue   */
    /* freed: beta no longer counts as running (finished comes before) */
    WAIT_FOR(P.freed == 1);
    ck_assert_int_eq(P.order[0], 0);
    ck_assert_int_eq(P.order[1], 2);
    count(w, "alpha", 1, 1);
    count(w, "beta", 0, 0);
    open_gate();
    WAIT_FOR(P.freed == 3);
    ck_assert_int_eq(P.order[2], 1);
    workers_free(w);
}
END_TEST

START_TEST(tasks_of_one_key_start_in_order)
{
    workers *w;
    int i, last = -1, n = 0;

    reset();
    w = mk(4, 1);
    for (i = 0; i < 30; i++)
        submit(w, i, i % 3 == 0 ? 1 : 0, 0);
    WAIT_FOR(P.freed == 30);
    for (i = 0; i < P.n_order; i++) {
        if (P.order[i] % 3 == 0)
            continue;
        ck_assert_int_gt(P.order[i], last);
        last = P.order[i];
        n++;
    }
    ck_assert_int_eq(n, 20);
    ck_assert_int_eq(P.max_key[0], 1);
    workers_free(w);
}
END_TEST

START_TEST(drop_key_frees_queued_tasks_and_never_runs_them)
{
    workers *w;

    reset();
    w = mk(2, 1);
    submit(w, 0, 0, 1);   /* alpha, running */
    submit(w, 1, 0, 1);
    submit(w, 2, 0, 1);
    submit(w, 3, 1, 1);   /* beta, running */
    submit(w, 4, 1, 0);   /* beta, queued  */
    WAIT_FOR(P.started == 2);
    ck_assert_int_eq(workers_drop_key(w, "alpha"), 2);
    /* freed in this thread, before drop_key returned */
    ck_assert_int_eq(P.freed_unrun, 2);
    count(w, "alpha", 0, 1);
    count(w, "beta", 1, 1);
    ck_assert_int_eq(workers_drop_key(w, "nobody"), 0);
    open_gate();
    WAIT_FOR(P.freed == 5);
    ck_assert_int_eq(P.started, 3);
    ck_assert(!P.ran[1] && !P.ran[2]);
    ck_assert(P.ran[4]);
    count(w, "alpha", 0, 0);
    workers_free(w);
}
END_TEST

START_TEST(a_key_limit_can_be_set)
{
    workers *w;
    int i;

    reset();
    w = mk(4, 1);
    workers_set_limit(w, "alpha", 3);
    for (i = 0; i < 5; i++)
        submit(w, i, 0, 1);
    WAIT_FOR(P.started == 3);
    count(w, "alpha", 2, 3);
    /* back to per_key: no new alpha task starts until only 0 run */
    workers_set_limit(w, "alpha", 0);
    submit(w, 5, 1, 0);
    WAIT_FOR(P.finished == 1);
    count(w, "alpha", 2, 3);
    open_gate();
    WAIT_FOR(P.freed == 6);
    ck_assert_int_eq(P.max_key[0], 3);
    workers_free(w);
}
END_TEST

START_TEST(stop_waits_no_longer_than_the_grace)
{
    struct timespec a, b;
    workers *w;
    task *t;
    int64_t ms;

    reset();
    w = mk(2, 1);
    submit(w, 0, 0, 1);
    submit(w, 1, 0, 1);   /* queued behind it */
    submit(w, 2, 1, 1);
    WAIT_FOR(P.started == 2);
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(workers_stop(w, 200), 2);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (int64_t)(b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, 199);
    ck_assert_int_eq(P.freed_unrun, 1); /* the queued one, dropped */
    count(w, NULL, 0, 2);
    /* no new task once stopping; the caller keeps its argument */
    t = malloc(sizeof *t);
    ck_assert_int_eq(workers_submit(w, "alpha", task_fn, t, task_free), -1);
    free(t);
    ck_assert_int_eq(workers_stop(w, 0), 2);
    open_gate();
    workers_free(w); /* waits for the two to return */
    ck_assert_int_eq(P.finished, 2);
    ck_assert_int_eq(P.freed, 3);
    ck_assert(!P.ran[1]);
}
END_TEST

static void *open_gate_later(void *arg)
{
    workers *w = arg;
    int q = 1;

    /* once stop has dropped the queue, let the running task return */
    while (q != 0) {
        workers_count(w, NULL, &q, NULL);
        sched_yield();
    }
    open_gate();
    return NULL;
}

START_TEST(stop_returns_when_the_running_tasks_end)
{
    pthread_t th;
    workers *w;

    reset();
    w = mk(1, 1);
    submit(w, 0, 0, 1);
    submit(w, 1, 0, 0);
    WAIT_FOR(P.started == 1);
    ck_assert_int_eq(pthread_create(&th, NULL, open_gate_later, w), 0);
    ck_assert_int_eq(workers_stop(w, 60000), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(P.finished, 1);
    ck_assert(!P.ran[1]);
    workers_free(w);
    ck_assert_int_eq(P.freed, 2);
}
END_TEST

static Suite *workers_suite(void)
{
    Suite *s = suite_create("workers");
    TCase *tc = tcase_create("workers");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_limits_are_refused);
    tcase_add_test(tc, the_limits_hold_under_load);
    tcase_add_test(tc, one_key_never_runs_more_than_its_limit);
    tcase_add_test(tc, a_blocked_key_does_not_block_the_others);
    tcase_add_test(tc, tasks_of_one_key_start_in_order);
    tcase_add_test(tc, drop_key_frees_queued_tasks_and_never_runs_them);
    tcase_add_test(tc, a_key_limit_can_be_set);
    tcase_add_test(tc, stop_waits_no_longer_than_the_grace);
    tcase_add_test(tc, stop_returns_when_the_running_tasks_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(workers_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

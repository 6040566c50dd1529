/* SPDX-License-Identifier: Apache-2.0 */
/* test_jobs.c -- the scheduler's timing arithmetic (core/jobs/plan.c) and
 * the job table (core/jobs/jobs.c), on a clock the tests move by hand:
 * every "now" below is a number, nothing reads the real time. */
#include <config.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/plan.h"

/* 2026-03-01T12:00:00Z, a Sunday. */
#define T0 1772366400000LL
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static schedule_spec sched(const char *expr)
{
    schedule_spec s;
    const char *why = NULL;

    ck_assert_msg(schedule_parse(expr, &s, &why) == 0, "%s: %s", expr,
                  why ? why : "?");
    return s;
}

/* ------------------------------------------------------------------------ */
/* plan                                                                      */

START_TEST(jitter_is_stable_and_spread)
{
    int64_t window = plan_window_ms((schedule_spec[]){sched("@hourly")}, 60000);
    int buckets[10] = {0};
    int64_t seen[100];
    int i, k, distinct = 0;
    char key[64];

    ck_assert_int_eq(window, 60000);
    for (i = 0; i < 100; i++) {
        int64_t j;
        snprintf(key, sizeof key, "s%03d/discover", i);
        j = plan_jitter_ms(key, window);
        ck_assert_int_ge(j, 0);
        ck_assert_int_lt(j, window);
        ck_assert_int_eq(plan_jitter_ms(key, window), j); /* the same job, the same offset */
        buckets[j / 6000]++;
        for (k = 0; k < distinct && seen[k] != j; k++)
            ;
        if (k == distinct)
            seen[distinct++] = j;
    }
    /* 100 jobs over 10 buckets of 6 s: none empty, none holding a crowd */
    for (i = 0; i < 10; i++) {
        ck_assert_msg(buckets[i] >= 3 && buckets[i] <= 20, "bucket %d holds %d",
                      i, buckets[i]);
    }
    ck_assert_int_ge(distinct, 95);
    /* a fixed, known value: the offset does not depend on the process */
    ck_assert_int_eq(plan_jitter_ms("a", 1000000007), (int64_t)(0xaf63dc4c8601ec8cULL % 1000000007ULL));
    ck_assert_int_eq(plan_jitter_ms("x", 0), 0);
    ck_assert_int_eq(plan_jitter_ms(NULL, 100), 0);
}
END_TEST

START_TEST(window_is_a_tenth_capped)
{
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("@every 10s")}, 60000), 1000);
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("@every 2h")}, 60000), 60000);
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("* * * * *")}, 60000), 6000);
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("0 0 * * *")}, 60000), 60000);
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("0 0 * * *")}, 0), 0);
    ck_assert_int_eq(plan_window_ms((schedule_spec[]){sched("*/5 * * * *")}, 10000), 10000);
}
END_TEST

START_TEST(next_is_slot_plus_jitter_strictly_after)
{
    schedule_spec ten = sched("@every 10m"), half = sched("30 * * * *");

    /* @every slots are multiples of the interval since the epoch */
    ck_assert_int_eq(plan_next(&ten, T0 + 3 * MIN, 0), T0 + 10 * MIN);
    ck_assert_int_eq(plan_next(&ten, T0 + 10 * MIN, 0), T0 + 20 * MIN);
    ck_assert_int_eq(plan_next(&ten, T0 + 10 * MIN - 1, 0), T0 + 10 * MIN);
    /* with jitter: fire = slot + jitter, strictly after `after` */
    ck_assert_int_eq(plan_next(&ten, T0 + 10 * MIN, 5000), T0 + 10 * MIN + 5000);
    ck_assert_int_eq(plan_next(&ten, T0 + 10 * MIN + 4999, 5000), T0 + 10 * MIN + 5000);
    ck_assert_int_eq(plan_next(&ten, T0 + 10 * MIN + 5000, 5000), T0 + 20 * MIN + 5000);
    ck_assert_int_eq(plan_next(&ten, T0 + 3 * MIN, -7), T0 + 10 * MIN);
    /* cron, to the millisecond */
    ck_assert_int_eq(plan_next(&half, T0 + 30 * MIN - 1, 0), T0 + 30 * MIN);
    ck_assert_int_eq(plan_next(&half, T0 + 30 * MIN, 0), T0 + 90 * MIN);
    ck_assert_int_eq(plan_next(&half, T0 + 30 * MIN + 250, 250), T0 + 90 * MIN + 250);
    ck_assert_int_eq(plan_next(&half, T0 + 30 * MIN + 249, 250), T0 + 30 * MIN + 250);
    /* before the epoch too */
    ck_assert_int_eq(plan_next(&ten, -1, 0), 0);
    /* no answer rather than an overflow */
    ck_assert_int_eq(plan_next(&ten, INT64_MAX - 5, 0), -1);
    ck_assert_int_eq(plan_next(&ten, INT64_MIN + 5, 10), -1);
    ck_assert_int_eq(plan_next(&half, INT64_MAX - 5, 0), -1);
}
END_TEST

START_TEST(first_catches_up_once)
{
    schedule_spec h = sched("@hourly");
    int cu = -1;

    /* never run: the first fire after now, no catch-up */
    ck_assert_int_eq(plan_first(&h, -1, T0 + 5 * MIN, 700, &cu), T0 + HOUR + 700);
    ck_assert_int_eq(cu, 0);
    /* last fired 3 hours ago, three fire times missed: one run, now */
    cu = -1;
    ck_assert_int_eq(plan_first(&h, T0 - 3 * HOUR + 700, T0 + 5 * MIN, 700, &cu),
                     T0 + 5 * MIN);
    ck_assert_int_eq(cu, 1);
    /* the last fire time is the latest: the next one, no catch-up */
    cu = -1;
    ck_assert_int_eq(plan_first(&h, T0 + 700, T0 + 5 * MIN, 700, &cu), T0 + HOUR + 700);
    ck_assert_int_eq(cu, 0);
    /* a fire time that is exactly now was missed */
    ck_assert_int_eq(plan_first(&h, T0 - HOUR + 700, T0 + 700, 700, &cu), T0 + 700);
    ck_assert_int_eq(cu, 1);
    /* a fire time one millisecond ahead was not */
    ck_assert_int_eq(plan_first(&h, T0 - HOUR + 700, T0 + 699, 700, NULL), T0 + 700);
}
END_TEST

START_TEST(backoff_doubles_caps_and_never_overflows)
{
    int64_t prev = 0, d;
    int a;

    /* equal jitter: [d/2, d] */
    ck_assert_int_eq(plan_backoff_ms(1, 1000, 300000, 0), 500);
    ck_assert_int_eq(plan_backoff_ms(1, 1000, 300000, 500), 1000);
    ck_assert_int_eq(plan_backoff_ms(1, 1000, 300000, 501), 500);
    ck_assert_int_eq(plan_backoff_ms(2, 1000, 300000, 0), 1000);
    ck_assert_int_eq(plan_backoff_ms(3, 1000, 300000, 2000), 4000);
    ck_assert_int_eq(plan_backoff_ms(9, 1000, 300000, 0), 128000);
    ck_assert_int_eq(plan_backoff_ms(10, 1000, 300000, 0), 150000);
    ck_assert_int_eq(plan_backoff_ms(10, 1000, 300000, 150000), 300000);
    for (a = 1; a < 300; a++) {
        d = plan_backoff_ms(a, 1000, 300000, UINT64_MAX);
        ck_assert_int_ge(d, prev / 2);
        ck_assert_int_le(d, 300000);
        d = plan_backoff_ms(a, 1000, 300000, 0);
        ck_assert_int_ge(d, prev);
        prev = d;
    }
    d = plan_backoff_ms(INT_MAX, INT64_MAX / 2, INT64_MAX, UINT64_MAX);
    ck_assert_int_ge(d, INT64_MAX / 2);
    ck_assert_int_le(d, INT64_MAX);
    ck_assert_int_eq(plan_backoff_ms(INT_MAX, 1000, 300000, 0), 150000);
    ck_assert_int_eq(plan_backoff_ms(0, 1000, 300000, 0), 500);
    ck_assert_int_eq(plan_backoff_ms(-5, 1000, 300000, 0), 500);
    ck_assert_int_eq(plan_backoff_ms(3, 0, 300000, 99), 0);
    ck_assert_int_eq(plan_backoff_ms(1, 5000, 2000, 0), 1000); /* max < base */
}
END_TEST

START_TEST(iso_times)
{
    char buf[32];

    ck_assert_str_eq(plan_iso(T0 + 250, buf), "2026-03-01T12:00:00.250Z");
    ck_assert_str_eq(plan_iso(0, buf), "1970-01-01T00:00:00.000Z");
    ck_assert_str_eq(plan_iso(-1, buf), "1969-12-31T23:59:59.999Z");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the job table                                                             */

static jobs_settings settings(void)
{
    jobs_settings st;
    jobs_settings_default(&st);
    return st;
}

static jobs_table *table(const jobs_settings *st, const jobs_spec *sp, size_t n,
                         int64_t now)
{
    derr e = {0};
    jobs_table *t = jobs_new(st, sp, n, now, 42, &e);

    ck_assert_msg(t != NULL, "jobs_new: %s", e.msg ? e.msg : "?");
    return t;
}

/* The jitter the table gives job `key` on schedule `expr`. */
static int64_t jitter_of(const char *key, const char *expr)
{
    schedule_spec s = sched(expr);
    return plan_jitter_ms(key, plan_window_ms(&s, JOBS_DEFAULT_JITTER_MAX_MS));
}

/* The one job due at now (asserting there is exactly one). */
static jobs_fire due1(jobs_table *t, int64_t now)
{
    jobs_fire f[4];
    size_t n = jobs_due(t, now, f, 4);

    ck_assert_int_eq(n, 1);
    return f[0];
}

static void none_due(jobs_table *t, int64_t now)
{
    jobs_fire f[1];
    ck_assert_int_eq(jobs_due(t, now, f, 1), 0);
}

/* Run f from now to now (start and finish) with result r; returns after. */
static jobs_after finish(jobs_table *t, jobs_fire *f, int64_t now, jobs_result r,
                         dsrc_status st, int retryable, const char *msg)
{
    derr e = {0};
    jobs_after a;

    if (st != DSRC_OK)
        derr_set(&e, st, "%s", msg);
    e.retryable = retryable;
    ck_assert_int_eq(jobs_started(t, f, now), 0);
    ck_assert_int_eq(jobs_finished(t, f, now, r, st != DSRC_OK ? &e : NULL, &a), 0);
    derr_clear(&e);
    jobs_fire_clear(f);
    return a;
}

/* Job `key` of t as JSON (new reference). */
static json_t *job_json(jobs_table *t, const char *source, const char *key)
{
    json_t *arr = jobs_json(t, source), *o, *found = NULL;
    size_t i;

    ck_assert_ptr_nonnull(arr);
    json_array_foreach(arr, i, o) {
        if (strcmp(json_string_value(json_object_get(o, "key")), key) == 0)
            found = json_incref(o);
    }
    json_decref(arr);
    ck_assert_msg(found != NULL, "no job %s", key);
    return found;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(keys)
{
    char *k = jobs_make_key("orders", JOBS_FETCH, "blobs/2026/a.csv");
    ck_assert_str_eq(k, "orders/fetch/blobs/2026/a.csv");
    free(k);
    k = jobs_make_key("orders", JOBS_DISCOVER, NULL);
    ck_assert_str_eq(k, "orders/discover");
    free(k);
    ck_assert_ptr_null(jobs_make_key("orders", JOBS_FETCH, NULL));
    ck_assert_ptr_null(jobs_make_key(NULL, JOBS_DISCOVER, NULL));
}
END_TEST

START_TEST(hundred_hourly_jobs_spread_over_the_window)
{
    jobs_spec sp[100];
    char names[100][16];
    jobs_settings st = settings();
    jobs_table *t, *t2;
    jobs_fire f[128], f2[128];
    int64_t first = -1, last = -1;
    size_t i, n, half;

    for (i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "s%03zu", i);
        sp[i] = (jobs_spec){names[i], JOBS_DISCOVER, NULL, "@hourly", 1};
    }
    t = table(&st, sp, 100, T0 + 2 * MIN); /* past 12:00's window */
    ck_assert_int_ge(jobs_next_due(t), T0 + HOUR);
    ck_assert_int_lt(jobs_next_due(t), T0 + HOUR + MIN);
    ck_assert_int_eq(jobs_due(t, T0 + HOUR - 1, f, 128), 0);
    /* halfway through the window, about half have started */
    half = jobs_due(t, T0 + HOUR + 30 * SEC - 1, f, 128);
    ck_assert_msg(half >= 30 && half <= 70, "%zu of 100 in the first 30 s", half);
    n = jobs_due(t, T0 + HOUR + MIN, f + half, 128 - half);
    ck_assert_int_eq(half + n, 100); /* all by the window's end, each once */
    ck_assert_int_eq(jobs_due(t, T0 + HOUR + MIN, f2, 128), 0);
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(f[i].trigger, JOBS_TRIGGER_SCHEDULE);
        ck_assert_int_eq(f[i].attempt, 1);
        if (first < 0 || f[i].fire_ms < first)
            first = f[i].fire_ms;
        if (f[i].fire_ms > last)
            last = f[i].fire_ms;
    }
    ck_assert_int_lt(first, T0 + HOUR + 5 * SEC);
    ck_assert_int_gt(last, T0 + HOUR + 55 * SEC);

    /* stable: another table (a restart) gives every job the same fire time */
    t2 = table(&st, sp, 100, T0 + 2 * MIN + 1);
    ck_assert_int_eq(jobs_due(t2, T0 + HOUR + MIN, f2, 128), 100);
    for (i = 0; i < 100; i++) {
        size_t k;
        for (k = 0; k < 100 && strcmp(f2[k].key, f[i].key) != 0; k++)
            ;
        ck_assert_int_lt(k, 100);
        ck_assert_int_eq(f2[k].fire_ms, f[i].fire_ms);
        ck_assert_int_eq(f[i].fire_ms - T0 - HOUR, jitter_of(f[i].key, "@hourly"));
    }
    for (i = 0; i < 100; i++) {
        jobs_fire_clear(&f[i]);
        jobs_fire_clear(&f2[i]);
    }
    jobs_free(t);
    jobs_free(t2);
}
END_TEST

START_TEST(catch_up_after_three_hours_is_one_run)
{
    jobs_spec sp = {"db", JOBS_DISCOVER, NULL, "@hourly", 1};
    int64_t j = jitter_of("db/discover", "@hourly");
    jobs_last last = {T0 - 3 * HOUR + j, JOBS_SUCCEEDED, JOBS_TRIGGER_SCHEDULE, 1,
                      T0 - 3 * HOUR + j, T0 - 3 * HOUR + j + 10, DSRC_OK, NULL};
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0 + 30 * MIN);
    jobs_fire f;
    jobs_after a;
    json_t *o;

    /* the daemon was down from 09:00 to 12:30: 09:00's run was the last */
    ck_assert_int_eq(jobs_restore(t, "db/discover", &last, T0 + 30 * MIN), 0);
    ck_assert_int_eq(jobs_restore(t, "nope/discover", &last, T0 + 30 * MIN), -1);
    ck_assert_int_eq(jobs_next_due(t), T0 + 30 * MIN);
    o = job_json(t, NULL, "db/discover");
    ck_assert_str_eq(jstr(o, "next_trigger"), "catch-up");
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "result"), "succeeded");
    json_decref(o);

    f = due1(t, T0 + 30 * MIN);
    ck_assert_int_eq(f.trigger, JOBS_TRIGGER_CATCH_UP);
    ck_assert_int_eq(f.fire_ms, T0 + 30 * MIN);
    /* its slot: the latest fire time it covers (12:00), whoever computes it */
    ck_assert_int_eq(f.slot_ms, T0 + j);
    none_due(t, T0 + 59 * MIN); /* one catch-up, not one per missed hour */
    a = finish(t, &f, T0 + 31 * MIN, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.next_ms, T0 + HOUR + j);
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    none_due(t, T0 + HOUR + j - 1);
    f = due1(t, T0 + HOUR + j);
    ck_assert_int_eq(f.trigger, JOBS_TRIGGER_SCHEDULE);
    ck_assert_int_eq(f.fire_ms, T0 + HOUR + j);
    ck_assert_int_eq(f.slot_ms, T0 + HOUR + j);
    jobs_fire_clear(&f);
    jobs_free(t);
}
END_TEST

/* Two tables (two nodes) with the same history hand out the same slots,
 * late or not, so that a shared store makes each run once. */
START_TEST(two_nodes_compute_the_same_slots)
{
    jobs_spec sp = {"db", JOBS_FETCH, "t", "@every 2s", 1};
    int64_t j = jitter_of("db/fetch/t", "@every 2s");
    jobs_last last = {T0 + 30 * SEC + j, JOBS_SUCCEEDED, JOBS_TRIGGER_SCHEDULE, 1,
                      T0 + 30 * SEC + j, T0 + 30 * SEC + j + 10, DSRC_OK, NULL};
    jobs_settings st = settings();
    jobs_table *a = table(&st, &sp, 1, T0 + 41 * SEC), *b = table(&st, &sp, 1, T0 + 41 * SEC + 700);
    jobs_fire fa, fb;

    ck_assert_int_eq(jobs_restore(a, "db/fetch/t", &last, T0 + 41 * SEC), 0);
    ck_assert_int_eq(jobs_restore(b, "db/fetch/t", &last, T0 + 41 * SEC + 700), 0);
    fa = due1(a, T0 + 41 * SEC + 50);
    fb = due1(b, T0 + 41 * SEC + 900);
    ck_assert_int_eq(fa.trigger, JOBS_TRIGGER_CATCH_UP);
    ck_assert_int_eq(fb.trigger, JOBS_TRIGGER_CATCH_UP);
    ck_assert_int_ne(fa.fire_ms, fb.fire_ms);
    /* the latest fire time at or before 41 s: 40 s + j (j < 200 ms) */
    ck_assert_int_eq(fa.slot_ms, T0 + 40 * SEC + j);
    ck_assert_int_eq(fb.slot_ms, fa.slot_ms);
    finish(a, &fa, T0 + 41 * SEC + 100, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    /* b lost the slot to a: not run here, its next is the same, its last
     * result unchanged */
    ck_assert_int_eq(jobs_taken(b, &fb, T0 + 41 * SEC + 950), 0);
    ck_assert_int_eq(jobs_taken(b, &fb, T0 + 41 * SEC + 950), -1);
    jobs_fire_clear(&fb);
    ck_assert_int_eq(jobs_next_due(b), T0 + 42 * SEC + j);
    fa = due1(a, T0 + 42 * SEC + j);
    fb = due1(b, T0 + 42 * SEC + j);
    ck_assert_int_eq(fa.slot_ms, T0 + 42 * SEC + j);
    ck_assert_int_eq(fb.slot_ms, fa.slot_ms);
    ck_assert_int_eq(fa.attempt, fb.attempt);
    finish(a, &fa, T0 + 42 * SEC + j + 10, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(jobs_taken(b, &fb, T0 + 42 * SEC + j + 10), 0);
    jobs_fire_clear(&fb);
    /* a manual run has no slot */
    ck_assert_int_eq(jobs_manual(a, "db/fetch/t", T0 + 43 * SEC, &fa, NULL), 0);
    ck_assert_int_eq(fa.slot_ms, -1);
    jobs_fire_clear(&fa);
    jobs_free(a);
    jobs_free(b);
}
END_TEST

START_TEST(a_run_longer_than_its_interval_is_followed_by_one_catch_up)
{
    jobs_spec sp = {"db", JOBS_FETCH, "t", "@every 10s", 1};
    int64_t j = jitter_of("db/fetch/t", "@every 10s");
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0 + 5 * SEC);
    jobs_fire f = due1(t, T0 + 10 * SEC + j);
    jobs_after a;

    ck_assert_int_eq(f.fire_ms, T0 + 10 * SEC + j);
    a = finish(t, &f, T0 + 45 * SEC, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.next_ms, T0 + 45 * SEC);
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_CATCH_UP);
    f = due1(t, T0 + 45 * SEC);
    a = finish(t, &f, T0 + 46 * SEC, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.next_ms, T0 + 50 * SEC + j);
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    jobs_free(t);
}
END_TEST

/* A catch-up handed out after a slot passed (the daemon slow to start):
 * that slot is covered by the catch-up, not caught up once more. */
START_TEST(a_catch_up_handed_out_late_covers_the_slots_before_it)
{
    jobs_spec sp = {"db", JOBS_FETCH, "t", "@every 2s", 1};
    int64_t j = jitter_of("db/fetch/t", "@every 2s");
    jobs_last last = {T0 + 30 * SEC + j, JOBS_SUCCEEDED, JOBS_TRIGGER_SCHEDULE, 1,
                      T0 + 30 * SEC + j, T0 + 30 * SEC + j + 10, DSRC_OK, NULL};
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0 + 41 * SEC + 100);
    jobs_fire f;
    jobs_after a;

    ck_assert_int_eq(jobs_restore(t, "db/fetch/t", &last, T0 + 41 * SEC + 100), 0);
    ck_assert_int_eq(jobs_next_due(t), T0 + 41 * SEC + 100);
    /* handed out only after 42 s + j, the slot after the restore */
    f = due1(t, T0 + 42 * SEC + j + 90);
    ck_assert_int_eq(f.trigger, JOBS_TRIGGER_CATCH_UP);
    ck_assert_int_eq(f.fire_ms, T0 + 42 * SEC + j + 90);
    a = finish(t, &f, T0 + 42 * SEC + j + 490, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    ck_assert_int_eq(a.next_ms, T0 + 44 * SEC + j);
    jobs_free(t);
}
END_TEST

START_TEST(retries_back_off_and_stop_after_max_attempts)
{
    jobs_spec sp = {"db", JOBS_FETCH, "public.orders", "@hourly", 1};
    const char *key = "db/fetch/public.orders";
    int64_t j = jitter_of(key, "@hourly"), now = T0 + HOUR + j, cycle = now;
    int64_t lo[] = {500, 1000, 2000}, hi[] = {1000, 2000, 4000};
    jobs_settings st = settings();
    jobs_table *t;
    jobs_fire f;
    jobs_after a;
    json_t *o;
    int i;

    st.retry_base_ms = 1000;
    st.retry_max_ms = 4000;
    st.retry_max_attempts = 4;
    t = table(&st, &sp, 1, T0 + 2 * MIN);
    f = due1(t, now);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(f.attempt, i + 1);
        ck_assert_int_eq(f.fire_ms, cycle); /* a retry stays in its cycle */
        now += 3 * SEC; /* the run took 3 s to fail */
        a = finish(t, &f, now, JOBS_FAILED, DSRC_E_UNREACHABLE, 1,
                   "connection refused");
        ck_assert_int_eq(a.trigger, JOBS_TRIGGER_RETRY);
        ck_assert_int_eq(a.attempt, i + 2);
        ck_assert_int_ge(a.next_ms - now, lo[i]);
        ck_assert_int_le(a.next_ms - now, hi[i]);
        ck_assert_int_eq(a.held, 0);
        ck_assert_int_eq(jobs_next_due(t), a.next_ms);
        none_due(t, a.next_ms - 1);
        now = a.next_ms;
        f = due1(t, now);
        ck_assert_int_eq(f.trigger, JOBS_TRIGGER_RETRY);
    }
    /* the 4th attempt fails too: no 5th, the next fire time */
    ck_assert_int_eq(f.attempt, 4);
    a = finish(t, &f, now + SEC, JOBS_FAILED, DSRC_E_UNREACHABLE, 1,
               "connection refused");
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    ck_assert_int_eq(a.attempt, 1);
    ck_assert_int_eq(a.next_ms, T0 + 2 * HOUR + j);
    none_due(t, T0 + 2 * HOUR + j - 1);
    o = job_json(t, "db", key);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "failures")), 4);
    ck_assert_str_eq(jstr(o, "state"), "scheduled");
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "result"), "failed");
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "status"), "unreachable");
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "message"), "connection refused");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "last"),
                                                        "attempt")), 4);
    json_decref(o);
    /* a success resets the count */
    f = due1(t, T0 + 2 * HOUR + j);
    ck_assert_int_eq(f.attempt, 1);
    finish(t, &f, T0 + 2 * HOUR + j + SEC, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    o = job_json(t, "db", key);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "failures")), 0);
    json_decref(o);
    jobs_free(t);
}
END_TEST

START_TEST(a_non_retryable_failure_waits_for_the_next_fire_time)
{
    jobs_spec sp = {"db", JOBS_FETCH, "gone", "@hourly", 1};
    int64_t j = jitter_of("db/fetch/gone", "@hourly");
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0);
    jobs_fire f = due1(t, T0 + HOUR + j);
    jobs_after a = finish(t, &f, T0 + HOUR + j + SEC, JOBS_FAILED,
                          DSRC_E_NOT_FOUND, 0, "no table gone");

    ck_assert_int_eq(a.next_ms, T0 + 2 * HOUR + j);
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    ck_assert_int_eq(a.held, 0);
    none_due(t, T0 + 2 * HOUR + j - 1);
    /* a cancelled run is not retried either */
    f = due1(t, T0 + 2 * HOUR + j);
    a = finish(t, &f, T0 + 2 * HOUR + j + SEC, JOBS_CANCELLED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.next_ms, T0 + 3 * HOUR + j);
    jobs_free(t);
}
END_TEST

START_TEST(an_auth_failure_holds_the_job)
{
    jobs_spec sp = {"db", JOBS_DISCOVER, NULL, "@every 1m", 7};
    int64_t j = jitter_of("db/discover", "@every 1m"), now;
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0);
    jobs_fire f = due1(t, T0 + MIN + j);
    jobs_after a;
    derr e = {0};
    json_t *o;
    int held;

    /* retryable or not, an auth failure is one failed run, then a hold */
    a = finish(t, &f, T0 + MIN + j + 100, JOBS_FAILED, DSRC_E_AUTH, 1,
               "password authentication failed for user \"app\"");
    ck_assert_int_eq(a.held, 1);
    ck_assert_int_eq(a.next_ms, -1);
    ck_assert_int_eq(jobs_next_due(t), -1);
    for (now = T0 + 2 * MIN; now < T0 + 10 * HOUR; now += 7 * MIN)
        none_due(t, now);
    jobs_count(t, NULL, NULL, &held);
    ck_assert_int_eq(held, 1);
    o = job_json(t, NULL, "db/discover");
    ck_assert_str_eq(jstr(o, "state"), "held");
    ck_assert_str_eq(jstr(o, "held"),
                     "auth: password authentication failed for user \"app\"");
    ck_assert(json_is_null(json_object_get(o, "next")));
    json_decref(o);

    /* a manual run that fails the same way: still held, not reported again */
    ck_assert_int_eq(jobs_manual(t, "db/discover", T0 + 10 * HOUR, &f, &e), 0);
    ck_assert_int_eq(f.trigger, JOBS_TRIGGER_MANUAL);
    a = finish(t, &f, T0 + 10 * HOUR + SEC, JOBS_FAILED, DSRC_E_AUTH, 0, "nope");
    ck_assert_int_eq(a.held, 0);
    ck_assert_int_eq(a.next_ms, -1);
    /* a manual run that succeeds releases it: the next fire time after now */
    ck_assert_int_eq(jobs_manual(t, "db/discover", T0 + 11 * HOUR, &f, &e), 0);
    a = finish(t, &f, T0 + 11 * HOUR + SEC, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(a.next_ms, T0 + 11 * HOUR + j); /* 11:00's slot + j is ahead */
    ck_assert_int_eq(a.trigger, JOBS_TRIGGER_SCHEDULE);
    o = job_json(t, NULL, "db/discover");
    ck_assert_str_eq(jstr(o, "state"), "scheduled");
    ck_assert(json_is_null(json_object_get(o, "held")));
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "trigger"), "manual");
    json_decref(o);
    /* an invalid configuration holds too */
    f = due1(t, T0 + 11 * HOUR + MIN + j);
    a = finish(t, &f, T0 + 11 * HOUR + MIN + j, JOBS_FAILED, DSRC_E_INVALID_CONFIG, 0,
               "sslmode: bad value");
    ck_assert_int_eq(a.held, 1);
    jobs_free(t);
}
END_TEST

START_TEST(a_configuration_change_releases_a_held_job)
{
    jobs_spec sp = {"db", JOBS_DISCOVER, NULL, "@hourly", 7};
    int64_t j = jitter_of("db/discover", "@hourly");
    jobs_settings st = settings();
    jobs_table *t = table(&st, &sp, 1, T0);
    jobs_fire f = due1(t, T0 + HOUR + j);
    char **removed = NULL;
    derr e = {0};

    finish(t, &f, T0 + HOUR + j, JOBS_FAILED, DSRC_E_AUTH, 0, "bad password");
    /* the same configuration: still held */
    ck_assert_int_eq(jobs_sync(t, NULL, &sp, 1, T0 + 5 * HOUR, &removed, &e), 0);
    ck_assert_ptr_null(removed);
    ck_assert_int_eq(jobs_next_due(t), -1);
    /* a new password: released, due at its next fire time (not at once) */
    sp.fingerprint = 8;
    ck_assert_int_eq(jobs_sync(t, NULL, &sp, 1, T0 + 5 * HOUR + 1, &removed, &e), 0);
    ck_assert_int_eq(jobs_next_due(t), T0 + 5 * HOUR + j); /* 17:00 + j is ahead */
    jobs_free(t);
}
END_TEST

START_TEST(sync_keeps_changes_and_removes)
{
    jobs_spec a[] = {
        {"src", JOBS_DISCOVER, NULL, "@hourly", 1},
        {"src", JOBS_FETCH, "t1", "@daily", 1},
        {"src", JOBS_FETCH, "t2", "@daily", 1},
    };
    jobs_spec b[] = {
        {"src", JOBS_FETCH, "t3", "@every 1m", 1},
        {"src", JOBS_FETCH, "t1", "@every 5m", 1},
        {"src", JOBS_DISCOVER, NULL, "@hourly", 1},
    };
    jobs_spec bad[] = {
        {"src", JOBS_DISCOVER, NULL, "@hourly", 1},
        {"src", JOBS_FETCH, "t1", "61 * * * *", 1},
    };
    jobs_spec dup[] = {
        {"src", JOBS_FETCH, "t1", "@hourly", 1},
        {"src", JOBS_FETCH, "t1", "@daily", 1},
    };
    int64_t jd = jitter_of("src/discover", "@hourly");
    int64_t j1 = jitter_of("src/fetch/t1", "@every 5m");
    jobs_settings st = settings();
    jobs_table *t = table(&st, a, 3, T0 + 2 * MIN);
    jobs_fire f, fd[4];
    char **removed = NULL, *before, *after;
    json_t *o, *arr;
    derr e = {0};

    /* history for the discover job, and a run of t2 in flight */
    f = due1(t, T0 + HOUR + jd);
    ck_assert_str_eq(f.key, "src/discover");
    finish(t, &f, T0 + HOUR + jd + SEC, JOBS_SUCCEEDED, DSRC_OK, 0, NULL);
    ck_assert_int_eq(jobs_manual(t, "src/fetch/t2", T0 + HOUR + 2 * SEC, &fd[0], &e), 0);
    ck_assert_int_eq(jobs_manual(t, "src/fetch/t2", T0 + HOUR + 2 * SEC, &f, &e), -2);
    ck_assert_int_eq(e.status, DSRC_E_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(e.msg, "busy"));
    ck_assert_int_eq(jobs_manual(t, "src/fetch/t9", T0 + HOUR + 2 * SEC, &f, &e), -1);
    ck_assert_int_eq(e.status, DSRC_E_NOT_FOUND);
    derr_clear(&e);

    /* a bad schedule, a duplicate key: refused, nothing changed */
    arr = jobs_json(t, NULL);
    before = json_dumps(arr, JSON_SORT_KEYS);
    json_decref(arr);
    ck_assert_int_eq(jobs_sync(t, NULL, bad, 2, T0 + HOUR + 3 * SEC, &removed, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "src/fetch/t1"));
    derr_clear(&e);
    ck_assert_int_eq(jobs_sync(t, NULL, dup, 2, T0 + HOUR + 3 * SEC, &removed, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "src/fetch/t1"));
    derr_clear(&e);
    ck_assert_ptr_null(removed);
    arr = jobs_json(t, NULL);
    after = json_dumps(arr, JSON_SORT_KEYS);
    json_decref(arr);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);

    /* the reload */
    ck_assert_int_eq(jobs_sync(t, NULL, b, 3, T0 + HOUR + 2 * MIN, &removed, &e), 0);
    ck_assert_ptr_nonnull(removed);
    ck_assert_str_eq(removed[0], "src/fetch/t2");
    ck_assert_ptr_null(removed[1]);
    jobs_keys_free(removed);
    ck_assert_int_eq(jobs_count(t, NULL, NULL, NULL), 3);
    /* the removed job's run in flight is no longer the table's */
    ck_assert_int_eq(jobs_started(t, &fd[0], T0 + HOUR + 5 * SEC), -1);
    ck_assert_int_eq(jobs_finished(t, &fd[0], T0 + HOUR + 6 * SEC, JOBS_SUCCEEDED,
                                   NULL, NULL), -1);
    jobs_fire_clear(&fd[0]);

    /* unchanged: history and next due kept */
    o = job_json(t, NULL, "src/discover");
    ck_assert_str_eq(jstr(json_object_get(o, "last"), "result"), "succeeded");
    json_decref(o);
    /* changed: recomputed under the new schedule */
    o = job_json(t, NULL, "src/fetch/t1");
    ck_assert_str_eq(jstr(o, "schedule"), "@every 5m");
    json_decref(o);
    /* in the specs' order; each due at its own time */
    arr = jobs_json(t, "src");
    ck_assert_str_eq(jstr(json_array_get(arr, 0), "key"), "src/fetch/t3");
    ck_assert_str_eq(jstr(json_array_get(arr, 2), "key"), "src/discover");
    json_decref(arr);
    ck_assert_int_eq(jobs_due(t, T0 + HOUR + 5 * MIN + j1, fd, 4), 2); /* t3, t1 */
    ck_assert_str_eq(fd[1].key, "src/fetch/t1");
    ck_assert_int_eq(fd[1].fire_ms, T0 + HOUR + 5 * MIN + j1);
    jobs_fire_clear(&fd[0]);
    jobs_fire_clear(&fd[1]);
    none_due(t, T0 + 2 * HOUR + jd - 1); /* t3 and t1 are still queued */
    f = due1(t, T0 + 2 * HOUR + jd);
    ck_assert_str_eq(f.key, "src/discover");
    jobs_fire_clear(&f);
    jobs_free(t);
}
END_TEST

START_TEST(json_shape)
{
    jobs_spec sp[] = {
        {"a", JOBS_DISCOVER, NULL, "0 */6 * * *", 1},
        {"b", JOBS_FETCH, "x/y.csv", "@every 30s", 1},
    };
    jobs_settings st = settings();
    jobs_table *t;
    json_t *arr, *o;
    char buf[32];

    st.jitter_max_ms = 0; /* no jitter: exact times */
    t = table(&st, sp, 2, T0);
    arr = jobs_json(t, "a");
    ck_assert_int_eq(json_array_size(arr), 1);
    o = json_array_get(arr, 0);
    ck_assert_str_eq(jstr(o, "key"), "a/discover");
    ck_assert_str_eq(jstr(o, "source"), "a");
    ck_assert_str_eq(jstr(o, "kind"), "discover");
    ck_assert(json_is_null(json_object_get(o, "item")));
    ck_assert_str_eq(jstr(o, "schedule"), "0 */6 * * *");
    ck_assert_str_eq(jstr(o, "state"), "scheduled");
    ck_assert_str_eq(jstr(o, "next"), "2026-03-01T18:00:00.000Z");
    ck_assert_str_eq(jstr(o, "next_trigger"), "schedule");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempt")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "failures")), 0);
    ck_assert(json_is_null(json_object_get(o, "held")));
    ck_assert(json_is_null(json_object_get(o, "last")));
    json_decref(arr);
    arr = jobs_json(t, "b");
    o = json_array_get(arr, 0);
    ck_assert_str_eq(jstr(o, "kind"), "fetch");
    ck_assert_str_eq(jstr(o, "item"), "x/y.csv");
    ck_assert_str_eq(jstr(o, "next"), plan_iso(T0 + 30 * SEC, buf));
    json_decref(arr);
    arr = jobs_json(t, "nobody");
    ck_assert_int_eq(json_array_size(arr), 0);
    json_decref(arr);
    jobs_free(t);
}
END_TEST

static Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *p = tcase_create("plan"), *t = tcase_create("table");

    tcase_add_test(p, jitter_is_stable_and_spread);
    tcase_add_test(p, window_is_a_tenth_capped);
    tcase_add_test(p, next_is_slot_plus_jitter_strictly_after);
    tcase_add_test(p, first_catches_up_once);
    tcase_add_test(p, backoff_doubles_caps_and_never_overflows);
    tcase_add_test(p, iso_times);
    suite_add_tcase(s, p);
    tcase_add_test(t, keys);
    tcase_add_test(t, hundred_hourly_jobs_spread_over_the_window);
    tcase_add_test(t, catch_up_after_three_hours_is_one_run);
    tcase_add_test(t, a_run_longer_than_its_interval_is_followed_by_one_catch_up);
    tcase_add_test(t, a_catch_up_handed_out_late_covers_the_slots_before_it);
    tcase_add_test(t, retries_back_off_and_stop_after_max_attempts);
    tcase_add_test(t, a_non_retryable_failure_waits_for_the_next_fire_time);
    tcase_add_test(t, an_auth_failure_holds_the_job);
    tcase_add_test(t, a_configuration_change_releases_a_held_job);
    tcase_add_test(t, sync_keeps_changes_and_removes);
    tcase_add_test(t, json_shape);
    tcase_add_test(t, two_nodes_compute_the_same_slots);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jobs_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

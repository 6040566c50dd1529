/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c -- the scheduler's timing arithmetic (see plan.h). */
#include <config.h>

#include <stdio.h>
#include <time.h>

#include "jobs/plan.h"

/* 2000-01-01T00:00:00Z: where plan_window_ms() measures a cron interval. */
#define PLAN_REFERENCE_S 946684800

/* a / b rounded toward minus infinity (b > 0). */
static int64_t plan_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t plan_jitter_ms(const char *job_key, int64_t max_ms)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64 bits */
    const unsigned char *p;

    if (max_ms <= 0 || !job_key)
        return 0;
    for (p = (const unsigned char *)job_key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (int64_t)(h % (uint64_t)max_ms);
}

int64_t plan_window_ms(const schedule_spec *s, int64_t jitter_max_ms)
{
    int64_t interval;

    if (jitter_max_ms <= 0)
        return 0;
    if (s->kind == SCHEDULE_EVERY) {
        interval = s->every_ms;
    } else {
        time_t a = schedule_next(s, (time_t)PLAN_REFERENCE_S);
        time_t b = a == (time_t)-1 ? a : schedule_next(s, a);
        if (b == (time_t)-1)
            return 0;
        interval = ((int64_t)b - (int64_t)a) * 1000;
    }
    if (interval <= 0)
        return 0;
    return interval / 10 < jitter_max_ms ? interval / 10 : jitter_max_ms;
}

int64_t plan_next(const schedule_spec *s, int64_t after_ms, int64_t jitter_ms)
{
    int64_t x, slot;

    if (jitter_ms < 0)
        jitter_ms = 0;
    if (after_ms < INT64_MIN + jitter_ms)
        return -1;
    x = after_ms - jitter_ms; /* the slot must be > x */
    if (s->kind == SCHEDULE_EVERY) {
        int64_t k;
        if (s->every_ms <= 0)
            return -1;
        k = plan_floor_div(x, s->every_ms);
        if (k >= INT64_MAX / s->every_ms - 1)
            return -1;
        slot = (k + 1) * s->every_ms;
    } else {
        time_t t = schedule_next(s, (time_t)plan_floor_div(x, 1000));
        if (t == (time_t)-1 || (int64_t)t > INT64_MAX / 1000)
            return -1;
        slot = (int64_t)t * 1000;
    }
    if (slot > INT64_MAX - jitter_ms)
        return -1;
    return slot + jitter_ms;
}

int64_t plan_first(const schedule_spec *s, int64_t last_ms, int64_t now_ms,
                   int64_t jitter_ms, int *catch_up)
{
    int64_t next;

    if (catch_up)
        *catch_up = 0;
    if (last_ms < 0)
        return plan_next(s, now_ms, jitter_ms);
    next = plan_next(s, last_ms, jitter_ms);
    if (next < 0)
        return -1;
    if (next <= now_ms) {
        if (catch_up)
            *catch_up = 1;
        return now_ms;
    }
    return next;
}

int64_t plan_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                        uint64_t rnd)
{
    int64_t d, half;
    int i;

    if (base_ms <= 0 || max_ms <= 0)
        return 0;
    d = base_ms < max_ms ? base_ms : max_ms;
    /* doubling stops at max_ms, so at most 63 rounds whatever `attempt` */
    for (i = 1; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}

char *plan_iso(int64_t ms, char buf[32])
{
    struct tm tm;
    time_t secs = (time_t)plan_floor_div(ms, 1000);
    int64_t frac = ms - (int64_t)secs * 1000;
    size_t n;

    if (!gmtime_r(&secs, &tm) ||
        (n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
        snprintf(buf, 32, "1970-01-01T00:00:00.000Z");
        return buf;
    }
    snprintf(buf + n, 32 - n, ".%03dZ", (int)frac);
    return buf;
}

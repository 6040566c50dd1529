/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan.h -- the scheduler's timing arithmetic: when a job fires, how far
 * its start is spread, when a missed slot is caught up, how long a retry
 * waits.
 *
 * Pure functions: every time is UTC milliseconds since the epoch and the
 * present is always passed in (`now_ms`), nothing here reads a clock, so
 * tests run on a clock they move by hand.  Nothing allocates; every
 * function may be called from any thread.
 *
 * Vocabulary:
 *   slot   a time the schedule names: a whole minute matching a cron
 *          expression, or a multiple of the interval of an "@every"
 *          schedule counted from the epoch (so "@every 10m" fires at
 *          :00, :10, :20... whenever the daemon was started, and a slot
 *          means the same instant across restarts and reloads);
 *   jitter a fixed offset in [0, window) per job, from plan_jitter_ms();
 *   fire   slot + jitter: when the job actually starts.  plan_next() and
 *          plan_first() answer fire times, and take the last fire time
 *          where they need the past.
 */
#ifndef DSRC_CORE_PLAN_H
#define DSRC_CORE_PLAN_H

#include <stdint.h>

#include "config/schedule.h"

/* A deterministic offset in [0, max_ms) for job `job_key` (any string,
 * e.g. "orders/fetch/public.orders"): the FNV-1a hash of the key reduced
 * modulo max_ms.  The same key always gets the same offset, in every
 * process, so a job's fire times are stable across restarts; different
 * keys spread evenly over the window.  Returns 0 when max_ms <= 0 or
 * job_key is NULL. */
int64_t plan_jitter_ms(const char *job_key, int64_t max_ms);

/* The jitter window of schedule `s` under the setting jitter_max_ms: a
 * tenth of the schedule's interval, capped at jitter_max_ms, so that a
 * job is never pushed into its next slot.  The interval is the @every
 * duration, or for a cron schedule the gap between its first two slots
 * after 2000-01-01T00:00Z (a fixed reference, so the window -- and so
 * the jitter -- never depends on when it is computed).  Examples with
 * jitter_max_ms = 60000: "@every 10s" -> 1000, @hourly -> 60000,
 * "* * * * *" -> 6000.  Returns 0 when jitter_max_ms <= 0 or the schedule
 * never fires. */
int64_t plan_window_ms(const schedule_spec *s, int64_t jitter_max_ms);

/* The first fire time strictly after `after_ms`: the smallest slot S with
 * S + jitter_ms > after_ms, answered as S + jitter_ms.  So a job that
 * just fired at F asks plan_next(s, F, j) for the one after, and a job
 * never run asks plan_next(s, now, j).  jitter_ms < 0 counts as 0.
 * Returns -1 when the schedule fires no more (schedule_next() gives -1,
 * beyond 12 years) or the answer would overflow. */
int64_t plan_next(const schedule_spec *s, int64_t after_ms, int64_t jitter_ms);

/* When a job should first run, at start or after it was idle:
 *   - never run (last_ms < 0): the first fire after now_ms, no catch-up;
 *   - at least one fire time in (last_ms, now_ms] was missed (downtime):
 *     now_ms, with *catch_up = 1 -- one catch-up run however many fire
 *     times were missed, never one per slot;
 *   - else the next fire after last_ms (which is after now_ms).
 * last_ms is the last run's fire time (what plan_next()/plan_first()
 * answered for it; for a catch-up run, the time it ran).  *catch_up
 * (catch_up may be NULL) is set to 0 or 1.  Returns -1 when the schedule
 * fires no more. */
int64_t plan_first(const schedule_spec *s, int64_t last_ms, int64_t now_ms,
                   int64_t jitter_ms, int *catch_up);

/* How long to wait before retry number `attempt` (1 = the first retry,
 * after the first failure): exponential backoff d = base_ms * 2^(attempt-1)
 * capped at max_ms, with "equal jitter": the answer is d/2 + rnd % (d/2 + 1),
 * in [d/2, d].  Equal rather than full jitter (rnd % (d + 1)) so that a
 * retry never comes back at once to a backend that just failed, while
 * retries of many jobs still spread.  `rnd` is any random number (the
 * caller's generator; tests pass fixed values).  Never overflows: a large
 * attempt gives max_ms's range.  attempt < 1 counts as 1; base_ms <= 0
 * gives 0; max_ms < base_ms caps at max_ms. */
int64_t plan_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                        uint64_t rnd);

/* Format `ms` as ISO-8601 UTC with milliseconds,
 * "2026-03-01T12:00:00.250Z", into buf (NUL-terminated).  Returns buf. */
char *plan_iso(int64_t ms, char buf[32]);

#endif

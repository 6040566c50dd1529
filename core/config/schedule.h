/* SPDX-License-Identifier: Apache-2.0 */
/*
 * schedule.h -- schedule expressions, parsed for checking and for firing.
 *
 * A schedule is one of:
 *   - a classic five-field cron expression "MIN HOUR DOM MON DOW":
 *     minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec,
 *     day of week 0-7 or sun-sat (0 and 7 are Sunday).  Each field is a
 *     comma-separated list of `*`, `N`, `A-B`, each optionally followed by
 *     `/STEP` (`A/STEP` means A to the field's maximum).  Names are
 *     case-insensitive.  As in Vixie cron, when both the day-of-month and
 *     the day-of-week fields are restricted (neither starts with `*`), a day
 *     matches when either matches; otherwise both must.
 *   - "@every DURATION" (see cfg_parse_duration(), must be > 0);
 *   - @hourly, @daily (= @midnight), @weekly, @monthly, @yearly (= @annually).
 * All times are UTC.
 *
 * cfg_check_schedule() in config.h is the yes/no form of schedule_parse().
 */
#ifndef DSRC_CORE_SCHEDULE_H
#define DSRC_CORE_SCHEDULE_H

#include <stdint.h>
#include <time.h>

typedef enum schedule_kind {
    SCHEDULE_CRON = 0,
    SCHEDULE_EVERY = 1
} schedule_kind;

/* A parsed schedule.  Plain data: copy it freely, nothing to free. */
typedef struct schedule_spec {
    schedule_kind kind;
    int64_t every_ms;         /* SCHEDULE_EVERY: the interval, > 0              */
    uint64_t minutes;         /* SCHEDULE_CRON: bit m set = minute m (0..59)    */
    uint32_t hours;           /* bit h = hour h (0..23)                      */
    uint32_t mdays;           /* bit d = day of month d (1..31)              */
    uint16_t months;          /* bit m = month m (1..12)                     */
    uint8_t wdays;            /* bit w = weekday w (0..6, 0 = Sunday)        */
    uint8_t mday_star;        /* 1: the day-of-month field started with '*'  */
    uint8_t wday_star;        /* 1: the day-of-week field started with '*'   */
} schedule_spec;

/* Parse `expr` into *out.  Returns 0, or -1 with a one-line reason in *why
 * (a static string; why may be NULL).  A cron expression whose days can
 * never occur (e.g. "0 0 30 2 *") is refused. */
int schedule_parse(const char *expr, schedule_spec *out, const char **why);

/* The first time strictly after `after` (seconds since the epoch, UTC) at
 * which the schedule fires.  Cron schedules fire at whole minutes.  An
 * @every schedule fires `every` after `after`, rounded up to a whole second
 * (at least 1 s).  Returns (time_t)-1 when there is no such time within the
 * next 12 years or it would overflow time_t. */
time_t schedule_next(const schedule_spec *s, time_t after);

#endif

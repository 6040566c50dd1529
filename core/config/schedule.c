/* SPDX-License-Identifier: Apache-2.0 */
/* schedule.c -- durations and schedule expressions; see schedule.h and
 * config.h (cfg_parse_duration, cfg_check_schedule). */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "config/schedule.h"

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */

typedef struct schedule_unit {
    const char *name;
    int64_t ms;
} schedule_unit;

/* Largest first: a compound duration must use them in this order. */
static const schedule_unit schedule_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
};
#define SCHEDULE_N_UNITS (sizeof schedule_units / sizeof schedule_units[0])

/* Read decimal digits at *p into *v; 0 on success, -1 on none or overflow. */
static int schedule_digits(const char **p, int64_t *v)
{
    int64_t n = 0;
    const char *s = *p;

    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        int d = *s - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
        s++;
    }
    *p = s;
    *v = n;
    return 0;
}

int cfg_parse_duration(const char *s, int64_t *ms)
{
    const char *p = s;
    int64_t total = 0, v;
    size_t last = 0; /* index into schedule_units + 1 of the last unit used */

    if (!s || !*s)
        return -1;
    if (schedule_digits(&p, &v) < 0)
        return -1;
    if (*p == '\0') {           /* a bare integer: seconds */
        if (v > INT64_MAX / 1000)
            return -1;
        *ms = v * 1000;
        return 0;
    }
    p = s;
    while (*p) {
        size_t i, len = 0, u = SCHEDULE_N_UNITS;

        if (schedule_digits(&p, &v) < 0)
            return -1;
        /* the longest unit name that matches ("ms" before "m") */
        for (i = 0; i < SCHEDULE_N_UNITS; i++) {
            size_t n = strlen(schedule_units[i].name);
            if (strncmp(p, schedule_units[i].name, n) == 0 && n > len) {
                len = n;
                u = i;
            }
        }
        if (u == SCHEDULE_N_UNITS || u + 1 <= last)
            return -1;          /* unknown unit, or units out of order */
        last = u + 1;
        p += len;
        if (v > (INT64_MAX - total) / schedule_units[u].ms)
            return -1;
        total += v * schedule_units[u].ms;
    }
    *ms = total;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Cron fields                                                               */

typedef struct schedule_field {
    const char *what;        /* for messages */
    int min, max;            /* accepted numeric values */
    const char *const *names;/* names for min.. (NULL: none) */
    int names_base;          /* value of names[0] */
} schedule_field;

static const char *const schedule_month_names[] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const schedule_wday_names[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const schedule_field schedule_fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0},
    {"month", 1, 12, schedule_month_names, 1},
    {"day of week", 0, 7, schedule_wday_names, 0},
};

/* Why-strings per field, so that each message names the field. */
static const char *const schedule_why_range[5] = {
    "minute out of range (0-59)", "hour out of range (0-23)",
    "day of month out of range (1-31)", "month out of range (1-12 or jan-dec)",
    "day of week out of range (0-7 or sun-sat)",
};
static const char *const schedule_why_value[5] = {
    "minute is not a number", "hour is not a number",
    "day of month is not a number", "month is not a number or a month name",
    "day of week is not a number or a day name",
};

/* Parse one value (number or name) at *p for field f. */
static int schedule_value(const schedule_field *f, const char **p, int *out, int *bad_range)
{
    const char *s = *p;

    *bad_range = 0;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > 1000)
                v = 1000;   /* clamp: out of range anyway */
            s++;
        }
        if (v < f->min || v > f->max) {
            *bad_range = 1;
            return -1;
        }
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names && isalpha((unsigned char)*s)) {
        int i;
        for (i = 0; f->names[i]; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0 && !isalnum((unsigned char)s[3])) {
                *out = f->names_base + i;
                *p = s + 3;
                return 0;
            }
        }
    }
    return -1;
}

/* Parse field text [s, e) of field index fi into a bitset. */
static int schedule_parse_field(int fi, const char *s, const char *e, uint64_t *bits,
                             const char **why)
{
    const schedule_field *f = &schedule_fields[fi];
    const char *p = s;

    *bits = 0;
    for (;;) {
        int lo, hi, step = 1, v, bad;
        const char *q = p;

        if (*p == '*') {
            lo = f->min;
            hi = f->max;
            p++;
        } else {
            if (schedule_value(f, &p, &lo, &bad) < 0) {
                *why = bad ? schedule_why_range[fi] : schedule_why_value[fi];
                return -1;
            }
            hi = lo;
            if (*p == '-') {
                p++;
                if (schedule_value(f, &p, &hi, &bad) < 0) {
                    *why = bad ? schedule_why_range[fi] : schedule_why_value[fi];
                    return -1;
                }
                if (hi < lo) {
                    *why = "a range goes backwards (write the smaller value first)";
                    return -1;
                }
            } else if (*p == '/') {
                hi = f->max;    /* "A/STEP" = A to the maximum */
            }
        }
        if (*p == '/') {
            long n = 0;
            p++;
            if (!isdigit((unsigned char)*p)) {
                *why = "a step must be a positive number (e.g. */5)";
                return -1;
            }
            while (isdigit((unsigned char)*p)) {
                n = n * 10 + (*p - '0');
                if (n > 1000)
                    n = 1000;
                p++;
            }
            if (n < 1 || n > f->max - f->min + 1) {
                *why = "a step must be between 1 and the size of the field";
                return -1;
            }
            step = (int)n;
        }
        if (p != e && *p != ',') {
            *why = p == q ? schedule_why_value[fi]
                          : "unexpected character (use numbers, names, * , - and /)";
            return -1;
        }
        for (v = lo; v <= hi; v += step)
            *bits |= (uint64_t)1 << (fi == 4 ? v % 7 : v);
        if (p == e)
            return 0;
        p++;                    /* ',' */
        if (p == e) {
            *why = "a list ends with a comma";
            return -1;
        }
    }
}

static int schedule_days_in_month(int month, int year)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2) {
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return 28 + leap;
    }
    return days[month - 1];
}

static int schedule_parse_cron(const char *expr, schedule_spec *out, const char **why)
{
    const char *p = expr;
    uint64_t bits[5];
    int fi, m, d;

    for (fi = 0; fi < 5; fi++) {
        const char *s;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0') {
            *why = "expected 5 fields: minute hour day-of-month month day-of-week";
            return -1;
        }
        s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (fi == 2)
            out->mday_star = *s == '*';
        if (fi == 4)
            out->wday_star = *s == '*';
        if (schedule_parse_field(fi, s, p, &bits[fi], why) < 0)
            return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) {
        *why = "expected 5 fields: minute hour day-of-month month day-of-week";
        return -1;
    }
    out->kind = SCHEDULE_CRON;
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];

    /* With the weekday unrestricted, the chosen days must exist in at least
     * one chosen month (2000 is a leap year: 29 February counts). */
    if (!(!out->mday_star && !out->wday_star)) {
        int ok = 0;
        for (m = 1; m <= 12 && !ok; m++) {
            if (!(out->months & (1u << m)))
                continue;
            for (d = 1; d <= schedule_days_in_month(m, 2000); d++)
                if (out->mdays & (1u << d)) {
                    ok = 1;
                    break;
                }
        }
        if (!ok) {
            *why = "the day of month never occurs in the chosen months";
            return -1;
        }
    }
    return 0;
}

typedef struct schedule_alias {
    const char *name;
    const char *cron;
} schedule_alias;

static const schedule_alias schedule_aliases[] = {
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

int schedule_parse(const char *expr, schedule_spec *out, const char **why)
{
    const char *dummy;
    size_t i, n;

    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);
    if (!expr) {
        *why = "empty schedule";
        return -1;
    }
    while (*expr == ' ' || *expr == '\t')
        expr++;
    n = strlen(expr);
    while (n > 0 && (expr[n - 1] == ' ' || expr[n - 1] == '\t'))
        n--;
    if (n == 0) {
        *why = "empty schedule";
        return -1;
    }
    if (expr[0] != '@')
        return schedule_parse_cron(expr, out, why);

    if (n >= 6 && strncmp(expr, "@every", 6) == 0 &&
        (n == 6 || expr[6] == ' ' || expr[6] == '\t')) {
        const char *d = expr + 6;
        char buf[64];
        int64_t ms;
        while (*d == ' ' || *d == '\t')
            d++;
        if ((size_t)(expr + n - d) >= sizeof buf || expr + n == d) {
            *why = "@every needs a duration, e.g. \"@every 30s\"";
            return -1;
        }
        memcpy(buf, d, (size_t)(expr + n - d));
        buf[expr + n - d] = '\0';
        if (cfg_parse_duration(buf, &ms) < 0) {
            *why = "@every needs a duration such as 250ms, 30s, 5m, 1h or 1h30m";
            return -1;
        }
        if (ms <= 0) {
            *why = "@every needs a duration greater than zero";
            return -1;
        }
        out->kind = SCHEDULE_EVERY;
        out->every_ms = ms;
        return 0;
    }
    for (i = 0; i < sizeof schedule_aliases / sizeof schedule_aliases[0]; i++)
        if (strlen(schedule_aliases[i].name) == n && strncmp(expr, schedule_aliases[i].name, n) == 0)
            return schedule_parse_cron(schedule_aliases[i].cron, out, why);
    *why = "unknown shortcut (use @every DURATION, @hourly, @daily, @weekly, "
           "@monthly or @yearly)";
    return -1;
}

int cfg_check_schedule(const char *expr, const char **why)
{
    schedule_spec s;
    return schedule_parse(expr, &s, why);
}

/* ------------------------------------------------------------------------ */
/* Next fire time                                                            */

static int schedule_day_matches(const schedule_spec *s, const struct tm *tm)
{
    int dom = (s->mdays >> tm->tm_mday) & 1;
    int dow = (s->wdays >> tm->tm_wday) & 1;
    if (s->mday_star || s->wday_star)
        return dom && dow;
    return dom || dow;
}

/* Normalise *tm through timegm(); returns the time or -1. */
static time_t schedule_norm(struct tm *tm)
{
    time_t t;
    tm->tm_isdst = 0;
    t = timegm(tm);
    if (t == (time_t)-1 || !gmtime_r(&t, tm))
        return (time_t)-1;
    return t;
}

time_t schedule_next(const schedule_spec *s, time_t after)
{
    struct tm tm;
    time_t t;
    int last_year;

    if (s->kind == SCHEDULE_EVERY) {
        int64_t sec = s->every_ms / 1000 + (s->every_ms % 1000 != 0);
        if (sec < 1)
            sec = 1;
        if ((int64_t)after > (int64_t)INT64_MAX - sec)
            return (time_t)-1;
        return (time_t)((int64_t)after + sec);
    }
    if (s->kind != SCHEDULE_CRON || !s->minutes || !s->hours || !s->months ||
        !(s->mdays || s->wdays))
        return (time_t)-1;

    /* the next whole minute strictly after `after` */
    t = after - (((after % 60) + 60) % 60);
    if (t > (time_t)(INT64_MAX - 60))
        return (time_t)-1;
    t += 60;
    if (!gmtime_r(&t, &tm))
        return (time_t)-1;
    last_year = tm.tm_year + 12;

    for (;;) {
        if (tm.tm_year > last_year)
            return (time_t)-1;
        if (!(s->months & (1u << (tm.tm_mon + 1)))) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!schedule_day_matches(s, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!(s->hours & (1u << tm.tm_hour))) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!(s->minutes & ((uint64_t)1 << tm.tm_min))) {
            tm.tm_min++;
        } else {
            return schedule_norm(&tm);
        }
        tm.tm_sec = 0;
        if (schedule_norm(&tm) == (time_t)-1)
            return (time_t)-1;
    }
}

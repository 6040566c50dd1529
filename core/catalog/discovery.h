/* SPDX-License-Identifier: Apache-2.0 */
/*
 * discovery.h -- how hard a discover presses its source, and what each
 * discover did.
 *
 * The mode.  A source's schedule.discover_mode is passed to the plugin as
 * the discover request's mode hint (dsrc_discover_mode); "adaptive" (the
 * default) lets the host choose from the source's health report
 * (health.h), looking at the endpoints a discover may use (every endpoint
 * that is not a replica; all of them when each is a replica):
 *   conservative  a breaker is open or half-open, an error rate is at or
 *                 above error_rate_warn, or a latency p95 is above
 *                 latency_warn_ms;
 *   aggressive    every probe in the window succeeded (none failed nor
 *                 found the pool saturated), every p95 is below a fifth of
 *                 latency_warn_ms, and each pool could lend two more
 *                 connections (max_size - active >= 2);
 *   balanced      otherwise, and when there is no sample yet (a `dsrc`
 *                 process has no health history: adaptive is balanced
 *                 there).
 * A conservative discover also gets twice the stall timeout of the runs
 * (the only time limit the host sets on a discover).
 *
 * The record.  Every discover of a whole source (scheduled, `dsrc run
 * SOURCE discover`, `dsrc discover`) leaves one row in the state store's
 * `discoveries` table: when it started, how long it took, the items it
 * found, the queries the plugin reported (-1: not reported), the retries
 * before it (the run's attempt - 1), the errors (1 when it failed), the
 * mode chosen and the result ("ok" or the failure's status name).  The
 * last DISCOVERY_KEEP rows of each source are kept.
 */
#ifndef DSRC_CORE_DISCOVERY_H
#define DSRC_CORE_DISCOVERY_H

#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "conn/health.h"
#include "store/store.h"

/* Rows of `discoveries` kept per source. */
#define DISCOVERY_KEEP 100

/* The mode for a discover configured as `configured` (a cfg_discover_mode)
 * given the source's health report `rep` (NULL: none) judged with `hc`
 * (NULL: the defaults).  Pure: depends on its arguments only. */
dsrc_discover_mode discovery_choose(int configured, const health_report *rep,
                                    const health_config *hc);

/* "balanced", "conservative", "aggressive". */
const char *discovery_mode_name(dsrc_discover_mode m);

/* One discover, as recorded. */
typedef struct discovery_rec {
    const char *source;
    int64_t run_id;            /* 0: by dsrc discover (stored as NULL)      */
    int64_t started_at;        /* ms since the epoch                        */
    int64_t duration_ms;
    int64_t items;
    int64_t queries;           /* -1: the plugin did not say                */
    int64_t retries, errors;
    dsrc_discover_mode mode;
    const char *result;        /* "ok" or a status name                     */
} discovery_rec;

/* Append `r` and drop the source's rows beyond the last DISCOVERY_KEEP.
 * DSRC_OK or the store's error in `e`. */
dsrc_status discovery_record(store *s, const discovery_rec *r, derr *e);

/* The last discover of `source` as {"started_at" (ISO 8601), "duration_ms",
 * "items", "queries", "retries", "errors", "mode", "result", "run_id"
 * (null for dsrc discover)}: a new reference; json null when there is
 * none; NULL with `e` set on error. */
json_t *discovery_last_json(store *s, const char *source, derr *e);

#endif

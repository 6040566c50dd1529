/* SPDX-License-Identifier: Apache-2.0 */
/*
 * breaker.h -- a circuit breaker per source endpoint.
 *
 * States:
 *   closed     calls go through; `failure_threshold` consecutive failures
 *              (a success resets the count) open the breaker;
 *   open       calls fail fast with the last error until the cool-down
 *              ends; the cool-down is base_cooldown_ms * 2^level, capped at
 *              max_cooldown_ms;
 *   half-open  after the cool-down exactly one call (the probe) goes
 *              through, the others still fail fast; a successful probe
 *              closes the breaker, a failed one re-opens it at level + 1.
 *
 * No flapping: alternating results never open a closed breaker (the count
 * is of consecutive failures), and the level is kept after a probe closes
 * the breaker, so an endpoint that keeps failing again soon after each
 * recovery is re-opened with ever longer cool-downs.  The level returns to
 * 0 only once the breaker has stayed closed for stable_ms.
 *
 * An authentication failure (DSRC_E_AUTH) opens the breaker at once,
 * whatever the count, for the longer of the usual cool-down and
 * auth_cooldown_ms: a wrong password is not tried again before then (a
 * daemon sets it to the health interval, so that it costs at most one
 * login per probe).  The fail-fast error of a breaker opened so is not
 * retryable: only a new credential helps.
 *
 * Which errors count is the caller's choice; breaker_is_endpoint_failure()
 * gives the usual rule.  Time comes from an injected clock (milliseconds,
 * monotonic).  Every function is thread-safe.
 */
#ifndef DSRC_CORE_BREAKER_H
#define DSRC_CORE_BREAKER_H

#include <stdint.h>
#include <jansson.h>

#include "base/error.h"

typedef int64_t (*breaker_clock_fn)(void *user);

typedef enum breaker_state {
    BREAKER_CLOSED = 0,
    BREAKER_OPEN = 1,
    BREAKER_HALF_OPEN = 2
} breaker_state;

typedef struct breaker_config {
    int failure_threshold;     /* default 5                                  */
    int64_t base_cooldown_ms;  /* default 1000                               */
    int64_t max_cooldown_ms;   /* default 60000                              */
    int64_t stable_ms;         /* default max_cooldown_ms                    */
    int64_t auth_cooldown_ms;  /* default 0: the usual cool-down             */
} breaker_config;

typedef struct breaker_info {
    breaker_state state;
    int consecutive_failures;  /* in a row; open: including those that opened it */
    int level;                 /* cool-down doublings                        */
    int64_t cooldown_ms;       /* the current (or next) cool-down            */
    int64_t retry_in_ms;       /* open: time left before the probe; else 0   */
    int64_t since_ms;          /* clock time of the last state change        */
    uint64_t opens;            /* times it opened                            */
    uint64_t rejected;         /* calls failed fast                          */
    derr last_error;           /* copy (owned by the caller: derr_clear())   */
} breaker_info;

typedef struct breaker breaker;

/* Fill `c` with the defaults above. */
void breaker_config_default(breaker_config *c);

/* A closed breaker named `name` (used in messages, e.g. "source 'db'
 * (primary)"; copied).  `cfg` NULL: defaults; zero members take their
 * default.  `clock` NULL: CLOCK_MONOTONIC.  NULL when out of memory. */
breaker *breaker_new(const char *name, const breaker_config *cfg, breaker_clock_fn clock, void *clock_user);
void breaker_free(breaker *b);

/* May a call go through now?  Returns 1 (closed; or open with the cool-down
 * over: this caller is the half-open probe and *probe is set to 1), or 0
 * with `e` set to the failure to report: the last error's status, retryable,
 * and a message naming the breaker, the retry time and the last error.
 * probe and e may be NULL. */
int breaker_allow(breaker *b, int *probe, derr *e);

/* Report the outcome of a call that breaker_allow() let through. */
void breaker_success(breaker *b);
/* `e` (may be NULL) is kept as the last error. */
void breaker_failure(breaker *b, const derr *e);

/* A call let through could not reach the endpoint for a reason that says
 * nothing about it (e.g. the pool was saturated): give up the probe slot
 * without a verdict.  `probe` is the flag breaker_allow() returned. */
void breaker_abandon(breaker *b, int probe);

/* Snapshot; release out->last_error with derr_clear(). */
void breaker_get(breaker *b, breaker_info *out);

/* Change auth_cooldown_ms (0: the usual cool-down); applies from the next
 * opening. */
void breaker_set_auth_cooldown(breaker *b, int64_t ms);

/* Force the breaker closed at level 0 (an operator's reset). */
void breaker_reset(breaker *b);

const char *breaker_state_name(breaker_state s);

/* The usual rule: does this error say the endpoint itself is failing?
 * Yes for a broken connection, unreachable, timeout and authentication
 * failures; no for errors about one request (not found, bad argument,
 * unsupported, cancelled, permission on one object, backend error). */
int breaker_is_endpoint_failure(const derr *e);

/* {"state","consecutive_failures","level","cooldown_ms","retry_in_ms",
 *  "opens","rejected","last_error"}; new reference, NULL when out of memory. */
json_t *breaker_info_json(const breaker_info *info);

#endif

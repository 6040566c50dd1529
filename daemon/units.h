/* SPDX-License-Identifier: Apache-2.0 */
/*
 * units.h -- the sources dsrcd serves: one unit per source, its router
 * (pools, breakers) and health monitor, kept across reloads when its
 * endpoints did not change, and the housekeeping tick that hands their
 * pool maintenance and health probes to the probers (probes.h) and logs
 * breaker and health changes.  Main thread only, but units_use().
 */
#ifndef DSRC_DAEMON_UNITS_H
#define DSRC_DAEMON_UNITS_H

#include <stdint.h>
#include <time.h>

#include "config/schedule.h"
#include "conn/health.h"
#include "conn/router.h"
#include "generation.h"

/* A served source: its router and health monitor. */
typedef struct unit {
    generation *gen;          /* holds a reference: owns `src`               */
    const registry_source *src;
    router_source *rt;
    health_monitor *hl;
    tlswatch *tw;             /* its TLS files; NULL when it has none       */
    cfg_pool pool;            /* the pool knobs in force                     */
    schedule_spec health;        /* when to probe                               */
    time_t next_probe;
    health_status status;         /* last status logged                          */
    breaker_state *brk;           /* per endpoint: last breaker state logged     */
    size_t n_ep;
} unit;

/* Units for every source of `g`, carrying over the matching ones of `old`
 * (their routers are kept and only get the new pool knobs).  Carried units
 * are moved out of `old` (zeroed there). */
int units_build(generation *g, unit *old, size_t n_old, unit **out, size_t *n_out);

/* A use of a unit's router from another thread (an API call listing,
 * describing or fetching): from units_use(), called while the unit is
 * known to be served (under the lock that guards the units), to
 * units_unuse(), the unit is not released (units_free keeps it aside as
 * for a running job).  Thread-safe; `u` is the caller's. */
typedef struct unit_use {
    const router_source *rt;
    struct unit_use *next;
} unit_use;

void units_use(unit_use *u, const router_source *rt);
void units_unuse(unit_use *u);

/* Free the units and the vector; a unit whose job still runs (a probe, a
 * run, or a use of units_use()) is kept aside until it returns
 * (units_reap). */
void units_free(unit *v, size_t n);

/* One housekeeping tick: hand each source's pool maintenance and due
 * health probe to the probers, give up on jobs past probe_timeout, log
 * what changed. */
void units_tick(unit *v, size_t n);

/* Release the units no longer served whose job has returned; watch the
 * others against probe_timeout. */
void units_reap(void);

/* SIGTERM: ask every job in progress to stop (the stopping flag is set
 * already; this reaches plugins with a cancel()), wait for them at most
 * shutdown_grace.  0 when they all returned; else -1, each hanging source
 * logged. */
int units_stop(unit *v, size_t n, int64_t grace_ms);

/* At the end, once units_stop returned 0: reap and free what was kept
 * aside. */
void units_reap_free(void);

#endif

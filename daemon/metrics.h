/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h -- dsrcd's Prometheus metrics (the control API's GET /metrics):
 * what the daemon counts over its lifetime -- runs by source, kind and
 * result, their durations, rows and bytes fetched, drift events,
 * configuration reloads -- and the exposition of those with the served
 * sources' health, probes, pools and breakers read at the time of the
 * request.  dsrcd.8 lists every family.
 *
 * Counters live as long as the process.  Per source and endpoint ones
 * (probes, pool and breaker counters) live as long as the source's health
 * monitor and router: a reload that changes how a source is reached makes
 * new ones, which Prometheus sees as a counter reset.
 *
 * Every function is thread-safe.
 */
#ifndef DSRC_DAEMON_METRICS_H
#define DSRC_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/prom.h"
#include "control.h"
#include "store/store.h"
#include "units.h"

/* The process started now (dsrc_start_time_seconds); once, at start. */
void metrics_start(void);

/* A run was queued in the state store by the scheduler. */
void metrics_run_queued(void);

/* A queued run started on a worker. */
void metrics_run_started(void);

/* A run of `source` ended with `state` (succeeded, failed or cancelled),
 * after `seconds` of running (< 0: it never started: it ends queued).
 * rows and bytes count for a fetch that succeeded. */
void metrics_run_ended(const char *source, run_kind kind, run_state state, double seconds,
                       uint64_t rows, uint64_t bytes);

/* A discover recorded `events` drift events, `breaking` of them breaking. */
void metrics_drift(size_t events, size_t breaking);

/* A reload (SIGHUP) was applied (ok != 0) or refused. */
void metrics_reload(int ok);

/* Append the exposition (text format 0.0.4) of the counters and of units
 * v[0..n) to `b`.  0, or -1 when out of memory (b->failed). */
int metrics_write(dsrc_buf *b, const unit *v, size_t n);

/* The Content-Type of the exposition. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The whole exposition for the daemon's state `d` (taking d->mu while it
 * reads the units), malloc'd (METRICS_CONTENT_TYPE); NULL when out of
 * memory. */
char *metrics_render(control_state *d);

/* Forget every counter (at exit). */
void metrics_free(void);

#endif

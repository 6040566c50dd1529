/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler.h -- dsrcd's work: every enabled source's schedule.discover
 * and every fetch rule with a schedule is a job (core/jobs/jobs.h); due
 * jobs become runs (recorded in the state store, core/store/store.h),
 * carried out on bounded worker threads (core/jobs/workers.h) through the
 * sources' routers (core/jobs/runner.h).
 *
 * The main thread calls scheduler_tick() about once a second and at every
 * due time: it collects the runs that ended (and decides retries and next
 * fire times), hands the due jobs to the workers and prunes old run
 * records.  The control thread asks for runs now (scheduler_request), for
 * a cancellation (scheduler_cancel) and for the jobs (scheduler_jobs_json).
 * A source's router is used by a run until the run has ended:
 * scheduler_uses() tells units.c not to free it before.
 */
#ifndef DSRC_DAEMON_SCHEDULER_H
#define DSRC_DAEMON_SCHEDULER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conn/router.h"
#include "generation.h"
#include "units.h"

typedef struct scheduler scheduler;

/* Sent by a worker to the main thread (the one that called
 * scheduler_new()) when a run has ended, so that its next
 * scheduler_tick() comes at once: a retry's backoff counts from the end of
 * the failed run, not from the next one-second tick.  The main thread
 * blocks it and takes it with the other signals (sigtimedwait). */
#define SCHED_WAKE_SIGNAL SIGUSR2

/* Main thread.  Open the state store of g's state_dir, resolve the runs a previous
 * daemon left open, make the jobs of the units' sources (each with its
 * history from the store: a fire time missed while the daemon was down
 * gives one catch-up run) and start the workers.  NULL with `e` set when
 * the store cannot be opened or a schedule does not parse. */
scheduler *scheduler_new(generation *g, unit *units, size_t n, derr *e);

/* A reload: the jobs of the new generation's units (see jobs_sync()), with
 * g's settings, schedules and fetch rules (a unit carried over from the old
 * generation keeps its router, not its old configuration); queued runs of
 * a source no longer served are dropped; running ones finish.  Not
 * concurrent with scheduler_request() (the caller holds the lock the
 * control thread calls it under). */
void scheduler_sync(scheduler *s, generation *g, unit *units, size_t n);

/* Main thread: collect ended runs, start due ones, prune.  Returns the
 * milliseconds until the next due job (capped at 1000). */
int64_t scheduler_tick(scheduler *s, unit *units, size_t n);

/* A run of `source` now (control thread): its fetch of `item`, or its
 * discover when item is NULL.  The run is queued in the store; *id is its
 * id.  DSRC_E_NOT_FOUND for a source not served, DSRC_E_INVALID_ARGUMENT
 * when the job has a run queued or running already. */
dsrc_status scheduler_request(scheduler *s, unit *units, size_t n, const char *source,
                              const char *item, int64_t *id, derr *e);

/* Cancel run `id` (control thread): queued, it is dropped; running, the
 * plugin call is cancelled.  DSRC_E_NOT_FOUND when it is neither. */
dsrc_status scheduler_cancel(scheduler *s, int64_t id, derr *e);

/* The jobs of `source` (NULL: all), for `dsrc jobs`. */
json_t *scheduler_jobs_json(scheduler *s, const char *source);

/* The runs and jobs, for sd_notify STATUS=: "R run(s) in progress, Q queued,
 * H held of J job(s); next run in N s". */
void scheduler_status(scheduler *s, char *buf, size_t n);

/* SIGTERM: take no more runs, let the running ones go on for grace_ms,
 * then cancel them and wait as long again.  Returns how many still run. */
int scheduler_stop(scheduler *s, int64_t grace_ms);

/* Free (after scheduler_stop() returned 0). */
void scheduler_free(scheduler *s);

/* 1 while a run uses router `rt` (any thread). */
int scheduler_uses(const router_source *rt);

#endif

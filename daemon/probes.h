/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probes.h -- dsrcd's prober threads: they run each source's housekeeping
 * (pool maintenance, and its health probe when due), watched against
 * probe_timeout.
 *
 * A source's housekeeping (pool maintenance, which may open connections,
 * and its health probe when due) runs on a few prober threads, so that a
 * source that does not answer (opening a connection may wait for the
 * plugin's connect timeout) holds up neither the others nor the main loop
 * (signals, reloads).  A source has at most one job queued or running, so
 * it never holds more than one prober.
 *
 * A job has probe_timeout (dsrcd.conf) to finish.  Past it the main loop
 * gives up on it (probes_watch): the source gets a failed "did not return"
 * sample, the call is asked to stop, and since a thread stuck in a plugin
 * call that ignores cancellation cannot be taken back, a fresh prober
 * replaces it; the stuck thread ends when its call returns.  At most one
 * thread per source is stuck that way (its next job waits for it), so the
 * threads number at most PROBERS_MAX (4) plus one per hanging source.
 *
 * Every function here is for the main thread only, unless told.
 */
#ifndef DSRC_DAEMON_PROBES_H
#define DSRC_DAEMON_PROBES_H

#include <stdint.h>

#include "conn/health.h"
#include "conn/router.h"

/* Start the prober threads with probe_timeout limit_ms (without any, the
 * jobs run on the main thread, with a warning logged). */
void probes_start(int64_t limit_ms);

/* Let the running jobs finish (queued ones are dropped) and the threads
 * end, waiting at most grace_ms.  0 when every thread ended, -1 when some
 * are still in a plugin call. */
int probes_stop(int64_t grace_ms);

/* Once the threads ended: free the job table. */
void probes_free(void);

/* 1 when prober threads run the jobs, 0 when the main thread does. */
int probes_threaded(void);

/* probe_timeout in ms, and its new value (on a reload). */
int64_t probes_limit_ms(void);
void probes_set_limit(int64_t limit_ms);

/* Queue the housekeeping of a source (hl, rt), with a health probe when
 * `probe`, unless its previous job is still queued, running or unreported.
 * Without prober threads it runs here.  1 when queued or run. */
int probes_submit(health_monitor *hl, router_source *rt, int probe);

/* The source's finished job, forgotten now: 1 when it probed health, 0
 * when it only maintained the pools; -1 when no job has finished. */
int probes_collect(health_monitor *hl);

/* Watch the source's running job against probe_timeout: 0 when it is not
 * past it, 1 when it has just passed it (it is overdue now, and a fresh
 * prober replaces its thread), 2 when it was already overdue.  *probing
 * tells whether it is in the health probe (else in pool maintenance). */
int probes_watch(health_monitor *hl, int *probing);

/* 1 while the source's job is running. */
int probes_running(health_monitor *hl);

/* Before hl is freed: drop its queued or finished job.  0 when done, -1
 * when it is running (hl and its router must stay until it finishes). */
int probes_forget(health_monitor *hl);

#endif

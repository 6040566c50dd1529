/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workers.h -- a bounded pool of worker threads that runs tasks under two
 * limits: at most n_workers tasks run at once in all, and at most a
 * per-key limit run at once for each key (the key is the source's name,
 * so one source never takes more connections than it may).
 *
 * Order: tasks of one key start in the order they were submitted (FIFO
 * per key).  A task whose key is at its limit waits in the queue while
 * later tasks of other keys start: a busy source never holds back the
 * others (no head-of-line blocking).
 *
 * Ownership: a task is fn(arg) with free_arg(arg).  Once workers_submit()
 * has accepted a task, the pool owns arg: free_arg (when not NULL) is
 * called exactly once, after fn returns (the task then no longer counts
 * as running), or instead of fn when the task is dropped before it
 * started (workers_drop_key(), workers_stop()).  Both are called in a
 * worker thread, or in the thread that dropped the task, never under the
 * pool's lock (they may call workers_* functions, except workers_stop()
 * and workers_free()).  When workers_free() returns, every free_arg has
 * been called.
 *
 * A running task is never interrupted: to end one early, the caller
 * cancels the work it does (e.g. its plugin call's context), the pool
 * only waits.
 *
 * Threads: the pool starts n_workers threads at workers_new() and joins
 * them at workers_free().  Every function may be called from any thread,
 * except workers_free(), which no other call may overlap.
 */
#ifndef DSRC_CORE_WORKERS_H
#define DSRC_CORE_WORKERS_H

#include <stdint.h>

#include "base/error.h"

typedef struct workers workers;

typedef void (*workers_fn)(void *arg);

/* A pool of n_workers threads (>= 1) letting at most per_key tasks (>= 1)
 * of one key run at once.  Returns NULL with `e` set on bad limits, or
 * when memory or threads run out (then no thread is left behind). */
workers *workers_new(int n_workers, int per_key, derr *e);

/* Queue fn(arg) under `key` (copied; not NULL).  Returns the task's id
 * (> 0, increasing), or -1 when the pool is stopping or memory runs out:
 * then the task is not taken and arg stays the caller's (free_arg is not
 * called). */
int64_t workers_submit(workers *w, const char *key, workers_fn fn, void *arg,
                       workers_fn free_arg);

/* Drop the queued tasks of `key`: each one's free_arg is called (in this
 * thread), its fn never.  Tasks of that key already running go on.
 * Returns how many were dropped. */
int workers_drop_key(workers *w, const char *key);

/* Let at most n tasks of `key` run at once from now on (e.g. the lesser of
 * the per-source setting and the source's pool max_size); n <= 0 returns
 * the key to the pool's per_key.  Lowering a limit never stops a running
 * task: the key just starts no more until it is under the new limit. */
void workers_set_limit(workers *w, const char *key, int n);

/* How many tasks are queued and running: for `key`, or in all when key is
 * NULL.  Either pointer may be NULL.  A consistent snapshot. */
void workers_count(workers *w, const char *key, int *queued, int *running);

/* Stop: refuse new tasks from now on, drop every queued task (free_arg in
 * this thread, fn never), then wait at most grace_ms (< 0: no limit, 0:
 * not at all) for the running tasks to return.  Returns how many are
 * still running -- the caller cancels them, then calls workers_free().
 * May be called more than once (later calls only wait). */
int workers_stop(workers *w, int64_t grace_ms);

/* Stop (as workers_stop(w, -1) would, without a limit: it blocks until
 * every running task has returned), join the threads and free the pool.
 * NULL is ignored. */
void workers_free(workers *w);

#endif

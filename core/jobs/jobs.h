/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jobs.h -- the job table: what is scheduled, when each job is next due,
 * how its last run went, whether it is held.
 *
 * A job is one scheduled piece of work of one source: its discover
 * (schedule.discover) or the fetch of one item (a fetch rule with a
 * schedule).  Its key names it everywhere (runs, logs, the workers):
 *     "SOURCE/discover"          "SOURCE/fetch/ITEM"
 * (ITEM may itself hold '/': the key is read from the left.)
 *
 * The table only decides; the caller runs.  The cycle, with the present
 * always passed in as now_ms (UTC milliseconds since the epoch, see
 * plan.h), so tests drive it with a clock they move by hand:
 *
 *   jobs_due(t, now)        the jobs due at now, each once: the job is then
 *                           "queued" and is not due again until it finished;
 *   jobs_started(t, f, ..)  the run began (a worker took it);
 *   jobs_finished(t, f, ..) the run ended: the table records the result and
 *                           computes when the job is next due:
 *     succeeded         the next fire time (plan_first(): when a fire time
 *                       passed while it ran, one catch-up run now);
 *     failed, retryable (the error's flag, and not a holding status) and
 *                       the attempt below retry_max_attempts: a retry at
 *                       now + plan_backoff_ms(attempt, ...), same cycle;
 *     failed otherwise  (not retryable, or the last attempt): the next fire
 *                       time after now, no catch-up.  When the status is
 *                       one that holds (jobs_status_holds(): auth, invalid
 *                       config) the job is held instead: never due again
 *                       until its source's configuration changes
 *                       (jobs_sync() with another fingerprint) or a run of
 *                       it succeeds (jobs_manual()) -- reported once, no
 *                       retry storm;
 *     cancelled         (shutdown, `dsrc run --cancel`) the next fire time
 *                       after now; nothing is retried.  A stalled run that
 *                       the caller cancelled to retry is reported as a
 *                       retryable failure instead.
 *
 * Start: jobs_new() schedules every job as never run (its first fire time
 * after now); jobs_restore() then gives each job its history from the
 * state store, which turns missed fire times into one catch-up run.
 * Reload: jobs_sync().
 *
 * Fire times carry a per-job jitter (plan_jitter_ms() over the window
 * plan_window_ms() gives: a tenth of the interval, at most jitter_max_ms)
 * so that jobs on the same schedule do not all start at once.
 *
 * Threads: every function is thread-safe (one lock per table); nothing
 * returned points into the table.
 */
#ifndef DSRC_CORE_JOBS_H
#define DSRC_CORE_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/error.h"

typedef enum jobs_kind {
    JOBS_DISCOVER = 0,
    JOBS_FETCH = 1
} jobs_kind;

/* Why a run happens (its name in JSON in brackets). */
typedef enum jobs_trigger {
    JOBS_TRIGGER_SCHEDULE = 0,  /* a fire time came ("schedule")              */
    JOBS_TRIGGER_CATCH_UP = 1,  /* fire times were missed ("catch-up")        */
    JOBS_TRIGGER_RETRY = 2,     /* a retryable failure, after backoff ("retry") */
    JOBS_TRIGGER_MANUAL = 3     /* jobs_manual(): `dsrc run` ("manual")       */
} jobs_trigger;

/* How a run ended ("succeeded", "failed", "cancelled"). */
typedef enum jobs_result {
    JOBS_NONE = 0,              /* no run yet                                  */
    JOBS_SUCCEEDED = 1,
    JOBS_FAILED = 2,
    JOBS_CANCELLED = 3
} jobs_result;

/* The scheduler's settings (dsrcd.conf), with their defaults. */
#define JOBS_DEFAULT_WORKERS 4
#define JOBS_DEFAULT_PER_SOURCE 2
#define JOBS_DEFAULT_JITTER_MAX_MS 60000            /* 1 min               */
#define JOBS_DEFAULT_RETRY_BASE_MS 1000             /* 1 s                 */
#define JOBS_DEFAULT_RETRY_MAX_MS 300000            /* 5 min               */
#define JOBS_DEFAULT_RETRY_MAX_ATTEMPTS 5
#define JOBS_DEFAULT_STALL_MS 300000                /* 5 min               */
#define JOBS_DEFAULT_RETENTION_MS (30LL * 86400000) /* 30 days             */

typedef struct jobs_settings {
    int workers;                /* worker threads running runs (>= 1)      */
    int per_source;             /* runs of one source at once (>= 1; the
                                   caller also caps it at the pool's
                                   max_size, see workers_set_limit())      */
    int64_t jitter_max_ms;      /* the most a fire time is pushed back; a
                                   job's window is a tenth of its interval
                                   capped at this; 0: no jitter            */
    int64_t retry_base_ms;      /* backoff before the first retry          */
    int64_t retry_max_ms;       /* backoff never longer than this          */
    int retry_max_attempts;     /* attempts per fire time, the first one
                                   included (1: never retry)               */
    int64_t stall_ms;           /* a run whose counters do not move this
                                   long is cancelled and retried (the
                                   caller's watchdog)                      */
    int64_t retention_ms;       /* run records kept this long (the store)  */
} jobs_settings;

/* Fill *s with the defaults above. */
void jobs_settings_default(jobs_settings *s);

/* One job as the configuration describes it.  Every string is borrowed
 * for the call only. */
typedef struct jobs_spec {
    const char *source;         /* the source's name                       */
    jobs_kind kind;
    const char *item;           /* JOBS_FETCH: the item; JOBS_DISCOVER: NULL */
    const char *schedule;       /* a schedule expression (schedule.h)      */
    uint64_t fingerprint;       /* any digest of the source's configuration
                                   (connection, credentials...): when it
                                   changes, jobs_sync() releases a held job */
} jobs_spec;

/* A run to make, handed out by jobs_due() and jobs_manual().  Owns its
 * strings: release it with jobs_fire_clear(). */
typedef struct jobs_fire {
    char *key;
    char *source;
    char *item;                 /* NULL for a discover                     */
    jobs_kind kind;
    jobs_trigger trigger;
    int attempt;                /* 1 = the first attempt for this fire time */
    int64_t fire_ms;            /* the fire time the run stands for (a
                                   retry keeps its cycle's); for a catch-up
                                   or manual run, when it was asked for    */
    int64_t slot_ms;            /* the slot the run stands for, the same on
                                   every node that computes it from the same
                                   history: a scheduled run's fire time; a
                                   retry's, its cycle's (the attempt tells
                                   them apart); a catch-up's, the latest
                                   fire time it covers; -1 for a manual
                                   run.  A cluster sharing one state store
                                   makes one run per (job, slot, attempt). */
    uint64_t run;               /* internal: matches started/finished      */
} jobs_fire;

/* Free a fire's strings and zero it.  NULL is ignored. */
void jobs_fire_clear(jobs_fire *f);

/* A job's last run, from the state store, for jobs_restore(). */
typedef struct jobs_last {
    int64_t fire_ms;            /* the last run's jobs_fire.fire_ms; -1 never */
    jobs_result result;
    jobs_trigger trigger;
    int attempt;
    int64_t started_ms;         /* -1: unknown                             */
    int64_t finished_ms;        /* -1: unknown                             */
    dsrc_status status;         /* DSRC_OK when it succeeded               */
    const char *message;        /* redacted; may be NULL; copied           */
} jobs_last;

/* What jobs_finished() decided. */
typedef struct jobs_after {
    int64_t next_ms;            /* when the job is next due; -1: not (held,
                                   or its schedule fires no more)           */
    jobs_trigger trigger;       /* why it will be due then                 */
    int attempt;                /* the attempt that run will be            */
    int held;                   /* 1: this run put the job on hold (log it;
                                   later failures while held are 0)        */
} jobs_after;

typedef struct jobs_table jobs_table;

/* The key of a job: "SOURCE/discover" or "SOURCE/fetch/ITEM" (malloc'd;
 * NULL when out of memory, or for a fetch without an item). */
char *jobs_make_key(const char *source, jobs_kind kind, const char *item);

/* 1 when a failure with status `s` holds its job (DSRC_E_AUTH,
 * DSRC_E_INVALID_CONFIG: retrying cannot help until someone changes
 * something), else 0. */
int jobs_status_holds(dsrc_status s);

/* A table of the n jobs `specs`, each never run and due at its first fire
 * time after now_ms.  `st` is copied (NULL: the defaults); `seed` seeds the
 * backoff's randomness (0: from the time).  Returns NULL with `e` set
 * when a schedule does not parse (the message names the job's key), two
 * specs have one key, a spec lacks a source or an item, or memory runs
 * out. */
jobs_table *jobs_new(const jobs_settings *st, const jobs_spec *specs, size_t n,
                     int64_t now_ms, uint64_t seed, derr *e);

/* Free the table.  NULL is ignored. */
void jobs_free(jobs_table *t);

/* Give job `key` its history (at start, from the state store): its last
 * result is shown, and when it is idle its next due becomes
 * plan_first(last->fire_ms, now_ms): one catch-up run now if a fire time
 * was missed since, else its next fire time.  A held job is not held
 * after a restart (the hold lives in memory only).  Returns 0, or -1 when
 * no job has that key. */
int jobs_restore(jobs_table *t, const char *key, const jobs_last *last,
                 int64_t now_ms);

/* A reload: make the table hold the n jobs `specs` under settings `st`
 * (NULL: keep the current ones), as jobs_new() would, keeping what it can:
 *   - a job whose key remains keeps its history, its hold, its run in
 *     flight and its next due -- unless its schedule expression or jitter
 *     window changed: then its next due is its first fire time after
 *     now_ms under the new schedule (no catch-up; a pending retry is
 *     forgotten);
 *   - a held job whose fingerprint changed is released: it is next due at
 *     its first fire time after now_ms;
 *   - a new key is scheduled as in jobs_new();
 *   - a key no longer there is removed; when removed is not NULL, *removed
 *     is a NULL-terminated array of the removed keys (free it with
 *     jobs_keys_free(); NULL when none), so the caller drops their queued
 *     runs.  A removed job's run in flight may go on: jobs_started() and
 *     jobs_finished() answer -1 for it.
 * All or nothing: on error (as jobs_new()) returns -1 with `e` set and
 * the table unchanged; else 0. */
int jobs_sync(jobs_table *t, const jobs_settings *st, const jobs_spec *specs,
              size_t n, int64_t now_ms, char ***removed, derr *e);

/* Free an array jobs_sync() returned.  NULL is ignored. */
void jobs_keys_free(char **keys);

/* The jobs due at now_ms -- idle, not held, next due <= now_ms -- at most
 * max of them, into out[0..]: each becomes queued and is not due again
 * until jobs_finished() (so each fire time is handed out once).  Jobs
 * beyond max stay due for the next call.  Returns how many were filled;
 * each must be passed to jobs_finished() (or was removed by a sync) and
 * released with jobs_fire_clear(). */
size_t jobs_due(jobs_table *t, int64_t now_ms, jobs_fire *out, size_t max);

/* Run job `key` now (`dsrc run`), even when held or not yet due.  On
 * success fills *out (trigger MANUAL, attempt 1, fire_ms now_ms) and
 * returns 0; the job's schedule is unchanged.  Returns -1 with `e` set
 * (DSRC_E_NOT_FOUND) when no job has that key, -2 (DSRC_E_INVALID_ARGUMENT,
 * "already queued or running") when a run of it is in flight. */
int jobs_manual(jobs_table *t, const char *key, int64_t now_ms,
                jobs_fire *out, derr *e);

/* Run `f` began at now_ms.  Returns 0, or -1 when `f` is not the job's
 * run in flight (the job was removed by a reload): the caller should not
 * run it. */
int jobs_started(jobs_table *t, const jobs_fire *f, int64_t now_ms);

/* Run `f` ended at now_ms with result `r` (JOBS_SUCCEEDED, JOBS_FAILED or
 * JOBS_CANCELLED); for JOBS_FAILED `err` gives the status, the retryable
 * flag and the message (redacted; may be NULL: an internal failure, not
 * retried).  Records it as the job's last run and decides its next due
 * (see the top of this file) into *after (may be NULL).  Returns 0, or -1
 * when `f` is not the job's run in flight (removed by a reload; nothing
 * recorded). */
int jobs_finished(jobs_table *t, const jobs_fire *f, int64_t now_ms,
                  jobs_result r, const derr *err, jobs_after *after);

/* Run `f` was not made here: another node sharing the state store made
 * the run of its job and slot (jobs_fire.slot_ms).  The job becomes idle
 * with its last result unchanged, due at its first fire time after now_ms
 * (and after the slot): as every node does once that slot's run is made.
 * Returns 0, or -1 when `f` is not the job's run in flight. */
int jobs_taken(jobs_table *t, const jobs_fire *f, int64_t now_ms);

/* The earliest next due of the jobs that can become due (idle, not held),
 * for the main loop's sleep; -1 when none. */
int64_t jobs_next_due(jobs_table *t);

/* How many jobs there are, and how many are queued, running and held
 * (each pointer may be NULL), for the daemon's status line. */
size_t jobs_count(jobs_table *t, int *queued, int *running, int *held);

/* The jobs of source `source` (NULL: all) as a JSON array, in the order
 * of the specs, for `dsrc jobs` (new reference; NULL when out of memory).
 * Each element:
 *   {"key", "source", "kind": "discover"|"fetch", "item": string|null,
 *    "schedule": the expression,
 *    "state": "scheduled" | "queued" | "running" | "held" | "idle"
 *             (idle: the schedule fires no more),
 *    "next": time|null, "next_trigger": trigger|null,
 *    "attempt": the attempt of the next run or of the one in flight,
 *    "failures": consecutive failed runs,
 *    "held": the reason ("auth: ...") | null,
 *    "last": null | {"trigger", "attempt", "started": time|null,
 *                    "finished": time|null, "result", "status" (see
 *                    error_status_name()), "message": string|null}}
 * Times are ISO-8601 UTC with milliseconds ("2026-03-01T12:00:00.250Z"). */
json_t *jobs_json(jobs_table *t, const char *source);

/* Names: "discover"/"fetch"; "schedule"/"catch-up"/"retry"/"manual";
 * "none"/"succeeded"/"failed"/"cancelled".  Static strings. */
const char *jobs_kind_name(jobs_kind k);
const char *jobs_trigger_name(jobs_trigger tr);
const char *jobs_result_name(jobs_result r);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.h -- the host's connection pool: one pool per source endpoint.
 *
 * A pool keeps connections to one endpoint of one source (the primary or
 * one replica), opened with source_open() and checked with source_ping().  The
 * rules, after HikariCP:
 *
 *   - Never more than cfg.max_size connections exist, counting the ones
 *     being opened.
 *   - Waiters are served first come, first served: a connection that
 *     becomes free (released, or newly opened) goes to the oldest waiter.
 *     An acquire that times out gets DSRC_E_TIMEOUT with a message naming
 *     the source, the endpoint and the pool's state.
 *   - Opening happens outside the pool lock, in a short-lived thread per
 *     connection, so a waiter always times out on time even while an open
 *     hangs.  An open that fails is reported to the waiter that asked for
 *     it at once (fail fast); other waiters keep waiting.
 *   - A connection idle longer than cfg.validate_after_ms is pinged before
 *     it is handed out; one that fails the ping is closed and another taken.
 *   - A connection past its lifetime (cfg.max_lifetime_ms minus a random
 *     0..2.5% so they do not all expire at once) is closed when it is next
 *     released or found idle; idle connections beyond cfg.min_idle are
 *     closed after cfg.idle_timeout_ms (only when min_idle < max_size).
 *   - cfg.keepalive_ms > 0 pings idle connections that often.
 *   - A connection borrowed longer than cfg.leak_threshold_ms is reported
 *     once, with the operation the borrower named at acquire.
 *   - pool_release(..., broken=1) closes the connection instead of keeping
 *     it (an operation failed with derr.connection_broken).
 *   - Connections are exclusive: each is lent to one borrower at a time,
 *     also for plugins declaring DSRC_CAP_CONN_THREADSAFE (sharing would
 *     save connections, but exclusivity is always correct and keeps
 *     per-connection state such as transactions and cancel() unambiguous).
 *
 * Time: ages (idle, lifetime, keepalive, validation, leaks) come from the
 * clock in pool_opts (milliseconds, monotonic), so tests control them.
 * Acquire timeouts and the acquire-wait histogram use the real monotonic
 * clock, because they measure real blocking.
 *
 * Maintenance (retirement, keepalive, min_idle, leak detection) happens
 * only in pool_maintain(), which the owner calls from one thread when
 * pool_maintain_due() says there is something to do (dsrcd asks once a
 * second).
 *
 * Threads: every function may be called from any thread at any time,
 * except pool_free(): it may run while other threads wait in
 * pool_acquire() (they fail with POOL_CLOSED), hold connections (it waits
 * for them to be released) or are inside any pool call, but no call may
 * start once it has begun.
 */
#ifndef DSRC_CORE_POOL_H
#define DSRC_CORE_POOL_H

#include <stdint.h>
#include <jansson.h>

#include "config/config.h"
#include "base/error.h"
#include "plugin/source.h"

typedef struct pool pool;
typedef struct pool_conn pool_conn;

/* A monotonic clock in milliseconds. */
typedef int64_t (*pool_clock_fn)(void *user);

/* Receives the pool's log lines (leaks, failed opens, retirements). */
typedef void (*pool_log_fn)(void *user, dsrc_log_level level, const char *msg);

typedef struct pool_opts {
    pool_clock_fn clock;    /* NULL: CLOCK_MONOTONIC                        */
    void *clock_user;
    pool_log_fn log;        /* NULL: log_msg() tagged with source/plugin    */
    void *log_user;
    uint64_t seed;          /* lifetime jitter; 0: seeded from the time     */
    /* Open in the acquiring thread instead of a thread of the pool's (a
     * command with one caller, such as dsrc test: no thread to start and
     * to hand the connection over).  `open_guard`, when set, is called
     * just before such an open with the milliseconds left to the
     * acquire's deadline, and with -1 just after it: it must stop an open
     * that outlives the deadline (cancel it), pool_acquire() cannot, its
     * thread being in the open.  An open that ends after the deadline
     * makes the acquire fail with the timeout, as a background one does. */
    int open_inline;
    void (*open_guard)(void *user, int64_t ms_left);
    void *open_guard_user;
} pool_opts;

/* Why an acquire failed. */
typedef enum pool_why {
    POOL_OK = 0,
    POOL_TIMEOUT = 1,       /* no connection free within the timeout        */
    POOL_OPEN_FAILED = 2,   /* the open made for this caller failed         */
    POOL_CLOSED = 3,        /* the pool is shutting down                    */
    POOL_NO_RESOURCES = 4   /* out of memory or threads                     */
} pool_why;

#define POOL_HIST_BUCKETS 496

typedef struct pool_stats {
    int max_size, min_idle;        /* current configuration                 */
    int total;                     /* open + being opened                   */
    int idle, active, waiting, opening;
    int checking;                  /* idle ones out for a keepalive ping    */
    uint64_t acquires;             /* successful acquires                   */
    uint64_t opened, closed;
    uint64_t failed_opens, timeouts;
    uint64_t broken;               /* released with broken=1                */
    uint64_t stale;                /* idle ones that failed a validation or
                                      keepalive ping: closed by the server  */
    uint64_t expired;              /* retired at max_lifetime               */
    uint64_t idle_retired;         /* retired at idle_timeout               */
    uint64_t leaks;                /* leak warnings issued                  */
    /* Acquire wait, real time, over every acquire since the pool was made
     * (successful or not). */
    uint64_t wait_count;
    double wait_p50_ms, wait_p95_ms, wait_p99_ms, wait_max_ms;
    int64_t last_open_error_ms;    /* pool clock of the last failed open; -1 */
} pool_stats;

/* A pool for endpoint `endpoint` (0 primary, i = replicas.hosts[i-1]) of
 * source `s`, with knobs `cfg` (copied).  `s` is borrowed and must outlive
 * the pool.  `opts` may be NULL.  Opens nothing: call pool_maintain() to
 * reach min_idle.  Returns NULL with `e` set on a bad endpoint or when out
 * of memory. */
pool *pool_new(const registry_source *s, int endpoint, const cfg_pool *cfg,
               const pool_opts *opts, derr *e);

/* Shut the pool down and free it: waiters fail with POOL_CLOSED, then it
 * waits for opens in progress, for calls in progress and for borrowed
 * connections to come back (they are closed on release), and closes every
 * connection.  Blocks until then.  NULL is ignored. */
void pool_free(pool *p);

/* Borrow a connection for operation `op` (named in leak warnings; may be
 * NULL), waiting at most `timeout_ms` (< 0: cfg.acquire_timeout_ms; 0:
 * take an idle connection or fail at once -- an open it starts still adds
 * its connection to the pool).  On success *out is
 * the connection, to be given back with pool_release().  On failure
 * returns the status with `e` set and *why (may be NULL) telling why:
 * DSRC_E_TIMEOUT/POOL_TIMEOUT, the open's status/POOL_OPEN_FAILED,
 * DSRC_E_UNREACHABLE/POOL_CLOSED, DSRC_E_INTERNAL/POOL_NO_RESOURCES. */
dsrc_status pool_acquire(pool *p, const char *op, int64_t timeout_ms,
                         pool_conn **out, pool_why *why, derr *e);

/* Give a borrowed connection back.  broken != 0 closes it (use it when an
 * operation failed with derr.connection_broken).  A connection past its
 * lifetime, or over max_size after a shrink, is closed too. */
void pool_release(pool *p, pool_conn *c, int broken);

/* pool_release() with broken taken from `e` (NULL or no error: not broken). */
void pool_release_err(pool *p, pool_conn *c, const derr *e);

/* The plugin connection behind a borrowed pool connection. */
source_conn *pool_conn_src(const pool_conn *c);

/* Retire expired and surplus idle connections, ping idle ones due a
 * keepalive, report leaks, and open connections up to min_idle.  Opens and
 * pings run in the calling thread, outside the lock.  Returns the number of
 * connections opened. */
int pool_maintain(pool *p);

/* 1 when pool_maintain() has something to do now (a connection to retire
 * or to ping, min_idle to reach, a leak to report), 0 when calling it
 * would change nothing.  Takes the lock once and opens nothing: a host of
 * many pools asks this before handing maintenance to another thread. */
int pool_maintain_due(pool *p);

/* Ask the keepalive ping pool_maintain() is making, if any, to stop (the
 * flag the plugin polls, and its cancel() when it has one); that
 * connection is then closed.  The opens pool_maintain() makes cannot be
 * reached: they end with the plugin's connect timeout (or the process's
 * stop flag).  Any thread. */
void pool_cancel_maintenance(pool *p);

/* Apply new knobs (a reload).  Borrowed connections are never dropped:
 * after a shrink the surplus idle connections are closed now and borrowed
 * ones as they come back; after a growth waiters may open at once. */
void pool_reconfigure(pool *p, const cfg_pool *cfg);

/* Recycle the pool gracefully (the files a connection is opened with,
 * such as TLS certificates, changed): idle connections are closed now,
 * borrowed ones finish their work and are closed when returned (counted
 * as expired), and every connection opened from now on is new.  Waiters
 * may open at once.  Any thread. */
void pool_recycle(pool *p);

/* A consistent snapshot of the counters. */
void pool_stats_get(pool *p, pool_stats *out);

/* Source name and endpoint label ("primary", "replica 1 (host:port)"). */
const char *pool_source(const pool *p);
const char *pool_label(const pool *p);
int pool_endpoint(const pool *p);

/* The last failed open's error (redacted), copied into `e`; DSRC_OK when no
 * open has failed since the last successful one. */
dsrc_status pool_last_error(pool *p, derr *e);

/* The stats as a JSON object (new reference; NULL when out of memory):
 * {"max_size","min_idle","total","idle","active","waiting","opening",
 *  "acquires","opened","closed","failed_opens","timeouts","broken","stale",
 *  "expired","idle_retired","leaks",
 *  "acquire_wait_ms":{"count","p50","p95","p99","max"}} */
json_t *pool_stats_json(const pool_stats *st);

/* The default clock (CLOCK_MONOTONIC, milliseconds); `user` is ignored. */
int64_t pool_clock_monotonic(void *user);

#endif

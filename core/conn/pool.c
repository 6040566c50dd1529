/* SPDX-License-Identifier: Apache-2.0 */
/* pool.c -- see pool.h */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "conn/pool.h"

enum { PC_IDLE, PC_ACTIVE, PC_CHECKING };

#define POOL_OP_MAX 96
/* Longer waits are cut to this (about 11.6 days): keeps the deadline in
 * nanoseconds far from overflowing. */
#define POOL_TIMEOUT_MAX_MS (1000LL * 1000 * 1000)

struct pool_conn {
    source_conn *sc;
    pool_conn *prev, *next;
    int state;
    int64_t created_ms;
    int64_t last_used_ms;    /* last returned (idle since)                  */
    int64_t last_checked_ms; /* last known alive: returned, opened, pinged  */
    int64_t acquired_ms;
    double jitter;           /* fraction of max_lifetime taken off          */
    int leak_reported;
    uint64_t gen;            /* the pool's generation when opened           */
    char op[POOL_OP_MAX];
};

typedef struct pc_list {
    pool_conn *head, *tail;
    int n;
} pc_list;

typedef struct pool_opener pool_opener;

/* One blocked acquire, on its caller's stack. */
typedef struct pool_waiter {
    struct pool_waiter *prev, *next;
    pthread_cond_t cond;
    const char *op;
    pool_conn *conn;       /* handed over by give_locked()                  */
    int failed;            /* the open made for this waiter failed: err     */
    derr err;
    pool_opener *opener;   /* the open in flight for this waiter, or NULL   */
    int queued;
} pool_waiter;

/* An open in flight, owned by its thread. */
struct pool_opener {
    pool *p;
    pool_waiter *w;        /* the waiter it is for; NULL once it left       */
};

struct pool {
    const registry_source *src;
    int endpoint;
    char *label;
    cfg_pool cfg;
    pool_opts opts;

    pthread_mutex_t mu;
    pthread_cond_t drained;
    pc_list idle;          /* head: most recently returned                  */
    pc_list active;
    int checking, opening, total;
    int dying;      /* dropped by drop_closing_locked(), not closed yet */
    int users;             /* threads inside pool code (pool_free waits)    */
    struct {
        pool_waiter *head, *tail;
        int n;
    } wq;
    int closing;
    int open_failing;      /* the last open failed (for log de-duplication) */
    uint64_t rng;

    uint64_t acquires, opened, closed, failed_opens, timeouts, broken, stale,
        expired, idle_retired, leaks;
    uint64_t hist[POOL_HIST_BUCKETS];
    uint64_t hist_n, hist_max_ns;
    derr last_err;
    int64_t last_err_ms;
    source_conn *maint_ping;  /* the keepalive ping pool_maintain() is making  */
    uint64_t gen;             /* bumped by pool_recycle()                      */
};

/* ------------------------------------------------------------------------ */
/* Clocks, randomness, histogram                                             */

int64_t pool_clock_monotonic(void *user)
{
    struct timespec ts;

    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t pool_now(const pool *p)
{
    return p->opts.clock(p->opts.clock_user);
}

/* splitmix64 */
static uint64_t pool_rand(pool *p)
{
    uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Log-linear buckets: exact below 8 ns, then 8 sub-buckets per power of
 * two (at most 12.5% error). */
static int hist_index(uint64_t v)
{
    int msb;

    if (v < 8)
        return (int)v;
    msb = 63 - __builtin_clzll(v);
    return (msb - 2) * 8 + (int)((v >> (msb - 3)) & 7);
}

/* The middle of bucket i, in ns. */
static double hist_value(int i)
{
    int msb, sub;
    double lo, width;

    if (i < 8)
        return i;
    msb = i / 8 + 2;
    sub = i % 8;
    width = (double)(1ULL << (msb - 3));
    lo = (double)(1ULL << msb) + sub * width;
    return lo + width / 2;
}

static void hist_add(pool *p, int64_t ns)
{
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;

    p->hist[hist_index(v)]++;
    p->hist_n++;
    if (v > p->hist_max_ns)
        p->hist_max_ns = v;
}

static double hist_pct_ms(const pool *p, double q)
{
    uint64_t want, seen = 0;
    int i;

    if (!p->hist_n)
        return 0;
    want = (uint64_t)(q * (double)p->hist_n + 0.999999);
    if (want < 1)
        want = 1;
    for (i = 0; i < POOL_HIST_BUCKETS; i++) {
        seen += p->hist[i];
        if (seen >= want) {
            double v = hist_value(i);
            if (v > (double)p->hist_max_ns)
                v = (double)p->hist_max_ns;
            return v / 1e6;
        }
    }
    return (double)p->hist_max_ns / 1e6;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */

static void list_push_head(pc_list *l, pool_conn *c)
{
    c->prev = NULL;
    c->next = l->head;
    if (l->head)
        l->head->prev = c;
    else
        l->tail = c;
    l->head = c;
    l->n++;
}

static void list_remove(pc_list *l, pool_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

static void wq_push(pool *p, pool_waiter *w)
{
    w->next = NULL;
    w->prev = p->wq.tail;
    if (p->wq.tail)
        p->wq.tail->next = w;
    else
        p->wq.head = w;
    p->wq.tail = w;
    p->wq.n++;
    w->queued = 1;
}

static void wq_remove(pool *p, pool_waiter *w)
{
    if (!w->queued)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->wq.head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->wq.tail = w->prev;
    w->prev = w->next = NULL;
    p->wq.n--;
    w->queued = 0;
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */

static void pool_log_default(void *user, dsrc_log_level level, const char *msg)
{
    const pool *p = user;

    log_msg(level, p->src->cfg->name, loader_name(p->src->plugin), "%s", msg);
}

static DSRC_PRINTF(3, 4) void pool_log(pool *p, dsrc_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p->opts.log(p->opts.log_user, level, buf);
}

/* ------------------------------------------------------------------------ */
/* Helpers under the lock                                                    */

static void derr_copy(derr *dst, const derr *src)
{
    derr_clear(dst);
    if (src->status == DSRC_OK)
        return;
    derr_set(dst, src->status, "%s", src->msg ? src->msg : error_status_name(src->status));
    dst->retryable = src->retryable;
    dst->connection_broken = src->connection_broken;
    memcpy(dst->code, src->code, sizeof dst->code);
}

static int pc_expired(const pool *p, const pool_conn *c, int64_t now)
{
    double life;

    if (c->gen != p->gen)
        return 1;
    if (p->cfg.max_lifetime_ms <= 0)
        return 0;
    life = (double)p->cfg.max_lifetime_ms * (1.0 - c->jitter);
    return (double)(now - c->created_ms) >= life;
}

/* Wake waiters that could open a connection now: as many as there is
 * room for, oldest first, skipping those with an open in flight. */
static void wake_capacity_locked(pool *p)
{
    int room = p->cfg.max_size - p->total - p->dying;
    pool_waiter *w;

    for (w = p->wq.head; w && room > 0; w = w->next)
        if (!w->opener) {
            pthread_cond_signal(&w->cond);
            room--;
        }
}

static void signal_drained_locked(pool *p)
{
    if (p->closing)
        pthread_cond_broadcast(&p->drained);
}

/* The last thing a thread does in pool code that may run after pool_free()
 * started: nothing may touch `p` after this. */
static void leave_locked(pool *p)
{
    p->users--;
    signal_drained_locked(p);
    pthread_mutex_unlock(&p->mu);
}

/* Forget a connection that was taken off every list and that the caller
 * closes next (outside the lock, with pc_destroy()): it counts against
 * max_size until then, so that the backend never sees more than max_size,
 * and the caller calls closed_locked() once it is closed. */
static void drop_closing_locked(pool *p, pool_conn *c)
{
    (void)c;
    p->total--;
    p->closed++;
    p->dying++;
}

static void closed_locked(pool *p)
{
    p->dying--;
    wake_capacity_locked(p);
    signal_drained_locked(p);
}

static void pc_destroy(pool_conn *c)
{
    if (c) {
        source_close(c->sc);
        free(c);
    }
}

/* Close the connections of the list `doomed`, taken off the pool under
 * the lock with drop_closing_locked(): each counts against max_size until
 * it is closed.  Called without the lock, by a thread counted in
 * p->users. */
static void close_doomed(pool *p, pool_conn *doomed)
{
    pool_conn *c;

    while ((c = doomed)) {
        doomed = c->next;
        pc_destroy(c);
        pthread_mutex_lock(&p->mu);
        closed_locked(p);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Close one connection taken off every list, from under the lock: it
 * counts against max_size until it is closed.  Returns with the lock held
 * again. */
static void close_one_locked(pool *p, pool_conn *c)
{
    drop_closing_locked(p, c);
    pthread_mutex_unlock(&p->mu);
    pc_destroy(c);
    pthread_mutex_lock(&p->mu);
    closed_locked(p);
}

static void lend_locked(pool *p, pool_conn *c, const char *op, int64_t now)
{
    c->state = PC_ACTIVE;
    c->acquired_ms = now;
    c->leak_reported = 0;
    snprintf(c->op, sizeof c->op, "%s", op && *op ? op : "(unnamed operation)");
    list_push_head(&p->active, c);
}

/* A connection became free (released, opened, or back from a keepalive
 * ping): hand it to the oldest waiter, or keep it idle.  `touch` marks it
 * as just used.  Returns the connection when it must be closed instead
 * (pool shutting down or over max_size); the caller has taken it off every
 * list and must call drop_closing_locked(). */
static pool_conn *give_locked(pool *p, pool_conn *c, int64_t now, int touch)
{
    pool_waiter *w = p->wq.head;

    if (p->closing || p->total > p->cfg.max_size)
        return c;
    if (touch)
        c->last_used_ms = now;
    if (w) {
        wq_remove(p, w);
        w->conn = c;
        lend_locked(p, c, w->op, now);
        pthread_cond_signal(&w->cond);
        return NULL;
    }
    c->state = PC_IDLE;
    list_push_head(&p->idle, c);
    return NULL;
}

static pool_conn *pc_new(source_conn *sc, int64_t now)
{
    pool_conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->sc = sc;
    c->created_ms = c->last_used_ms = c->last_checked_ms = now;
    return c;
}

/* Record a failed open (under the lock) and return the line to log. */
static void open_failed_locked(pool *p, const derr *e, int64_t now, char *logbuf, size_t n)
{
    p->total--;
    p->failed_opens++;
    derr_copy(&p->last_err, e);
    p->last_err_ms = now;
    logbuf[0] = '\0';
    if (!p->open_failing && e->status != DSRC_E_CANCELLED) /* cancelled: no failure */
        snprintf(logbuf, n, "%s: opening a connection failed: %s", p->label,
                 e->msg ? e->msg : error_status_name(e->status));
    p->open_failing = 1;
    wake_capacity_locked(p);
    signal_drained_locked(p);
}

/* A successful open: returns the connection to close, if any. */
static pool_conn *opened_locked(pool *p, pool_conn *c, int64_t now, char *logbuf, size_t n)
{
    pool_conn *tc;

    c->gen = p->gen;
    /* 0 .. 2.5% of the lifetime, so connections do not expire together */
    c->jitter = (double)(pool_rand(p) >> 11) / (double)(1ULL << 53) * 0.025;
    p->opened++;
    logbuf[0] = '\0';
    if (p->open_failing)
        snprintf(logbuf, n, "%s: opening connections works again", p->label);
    p->open_failing = 0;
    derr_clear(&p->last_err);
    p->last_err_ms = -1;
    if ((tc = give_locked(p, c, now, 1)))
        drop_closing_locked(p, tc);
    return tc;
}

/* ------------------------------------------------------------------------ */
/* Opening in the background                                                 */

static void *opener_main(void *arg)
{
    pool_opener *rec = arg;
    pool *p = rec->p;
    source_conn *sc = NULL;
    pool_conn *c = NULL, *tc = NULL;
    derr e = {0};
    char logbuf[1024];
    dsrc_log_level lvl = DSRC_LOG_WARNING;
    dsrc_status st;
    int64_t now;

    st = source_open(p->src, p->endpoint, &sc, &e);
    now = pool_now(p);
    if (st == DSRC_OK && !(c = pc_new(sc, now))) {
        source_close(sc);
        st = derr_set(&e, DSRC_E_INTERNAL, "out of memory");
    }
    /* Free this thread's OpenSSL state (secret decryption ran here) before
     * the pool can learn the open is over: the process may exit then. */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&p->mu);
    p->opening--;
    if (rec->w)
        rec->w->opener = NULL;
    if (st == DSRC_OK) {
        tc = opened_locked(p, c, now, logbuf, sizeof logbuf);
        lvl = DSRC_LOG_INFO;
    } else {
        open_failed_locked(p, &e, now, logbuf, sizeof logbuf);
        if (rec->w && !rec->w->conn && !rec->w->failed) {
            pool_waiter *w = rec->w;
            wq_remove(p, w);
            w->failed = 1;
            derr_copy(&w->err, &e);
            pthread_cond_signal(&w->cond);
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (logbuf[0])
        p->opts.log(p->opts.log_user, lvl, logbuf);
    pc_destroy(tc);
    derr_clear(&e);
    free(rec);
    pthread_mutex_lock(&p->mu);
    if (tc)
        closed_locked(p);
    leave_locked(p);
    return NULL;
}

/* The open for waiter w in the caller's thread (pool_opts.open_inline),
 * entered and left under the lock: the connection goes to the oldest
 * waiter (w, the only one of a pool with one caller); w fails with the
 * open's error unless the deadline passed meanwhile (the caller then
 * reports the timeout, with this error as the last one). */
static void open_inline_locked(pool *p, pool_waiter *w, int64_t deadline)
{
    source_conn *sc = NULL;
    pool_conn *c = NULL, *tc = NULL;
    derr e = {0};
    char logbuf[1024];
    dsrc_log_level lvl = DSRC_LOG_WARNING;
    dsrc_status st;
    int64_t now, left;

    p->total++;
    p->opening++;
    p->users++;
    pthread_mutex_unlock(&p->mu);
    left = (deadline - mono_ns()) / 1000000;
    if (p->opts.open_guard)
        p->opts.open_guard(p->opts.open_guard_user, left > 0 ? left : 0);
    st = source_open(p->src, p->endpoint, &sc, &e);
    if (p->opts.open_guard)
        p->opts.open_guard(p->opts.open_guard_user, -1);
    now = pool_now(p);
    if (st == DSRC_OK && !(c = pc_new(sc, now))) {
        source_close(sc);
        st = derr_set(&e, DSRC_E_INTERNAL, "out of memory");
    }
    pthread_mutex_lock(&p->mu);
    p->opening--;
    if (st == DSRC_OK) {
        tc = opened_locked(p, c, now, logbuf, sizeof logbuf);
        lvl = DSRC_LOG_INFO;
    } else {
        open_failed_locked(p, &e, now, logbuf, sizeof logbuf);
        if (!w->conn && !w->failed && mono_ns() < deadline) {
            wq_remove(p, w);
            w->failed = 1;
            derr_copy(&w->err, &e);
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (logbuf[0])
        p->opts.log(p->opts.log_user, lvl, logbuf);
    pc_destroy(tc);
    derr_clear(&e);
    pthread_mutex_lock(&p->mu);
    if (tc)
        closed_locked(p);
    p->users--;
    signal_drained_locked(p);
}

/* Start an open for waiter w (under the lock).  Returns 0 or -1. */
static int start_open_locked(pool *p, pool_waiter *w)
{
    pool_opener *rec = malloc(sizeof *rec);
    pthread_attr_t attr;
    pthread_t tid;
    int rc;

    if (!rec)
        return -1;
    rec->p = p;
    rec->w = w;
    p->total++;
    p->opening++;
    p->users++;
    w->opener = rec;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, opener_main, rec);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        p->total--;
        p->opening--;
        p->users--;
        w->opener = NULL;
        free(rec);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static void cfg_sanitise(cfg_pool *c)
{
    if (c->max_size < 1)
        c->max_size = 1;
    if (c->min_idle < 0)
        c->min_idle = 0;
    if (c->min_idle > c->max_size)
        c->min_idle = c->max_size;
    if (c->acquire_timeout_ms < 0)
        c->acquire_timeout_ms = 0;
}

pool *pool_new(const registry_source *s, int endpoint, const cfg_pool *cfg,
               const pool_opts *opts, derr *e)
{
    pool *p;
    pthread_condattr_t ca;
    int r;

    if (!s || !cfg) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "pool_new: no source or no pool settings");
        return NULL;
    }
    if (endpoint < 0 || (size_t)endpoint > s->cfg->n_replica_hosts) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT,
                 "source '%s' has no endpoint %d (it has %zu replica(s))", s->cfg->name,
                 endpoint, s->cfg->n_replica_hosts);
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    p->src = s;
    p->endpoint = endpoint;
    if (endpoint == 0)
        r = asprintf(&p->label, "primary");
    else
        r = asprintf(&p->label, "replica %d (%s)", endpoint,
                     s->cfg->replica_hosts[endpoint - 1]);
    if (r < 0) {
        free(p);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    cfg_sanitise(&p->cfg);
    if (opts)
        p->opts = *opts;
    if (!p->opts.clock)
        p->opts.clock = pool_clock_monotonic;
    if (!p->opts.log) {
        p->opts.log = pool_log_default;
        p->opts.log_user = p;
    }
    p->rng = p->opts.seed ? p->opts.seed : (uint64_t)mono_ns() ^ (uint64_t)(uintptr_t)p;
    p->last_err_ms = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->drained, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void pool_free(pool *p)
{
    pool_waiter *w;
    pool_conn *c;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    for (w = p->wq.head; w; w = w->next)
        pthread_cond_signal(&w->cond);
    while (p->users || p->active.n)
        pthread_cond_wait(&p->drained, &p->mu);
    pthread_mutex_unlock(&p->mu);
    while ((c = p->idle.head)) {
        list_remove(&p->idle, c);
        pc_destroy(c);
    }
    pthread_cond_destroy(&p->drained);
    pthread_mutex_destroy(&p->mu);
    derr_clear(&p->last_err);
    free(p->label);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Acquire and release                                                       */

static dsrc_status closed_error(pool *p, pool_why *why, derr *e)
{
    *why = POOL_CLOSED;
    return derr_set(e, DSRC_E_UNREACHABLE, "source '%s' (%s): the connection pool is shut down",
                    p->src->cfg->name, p->label);
}

/* Take an idle connection (fast path, no waiters), validating it when it
 * sat idle too long.  Called and returns with the lock held.  Returns the
 * connection, or NULL when there is none fit to use. */
static pool_conn *take_idle_locked(pool *p, const char *op, int64_t t0)
{
    pool_conn *c;

    while (!p->closing && p->wq.n == 0 && (c = p->idle.head)) {
        int64_t now = pool_now(p);

        list_remove(&p->idle, c);
        if (pc_expired(p, c, now)) {
            p->expired++;
            close_one_locked(p, c);
            continue;
        }
        if (p->cfg.validate_after_ms >= 0 && now - c->last_checked_ms > p->cfg.validate_after_ms) {
            derr pe = {0};
            dsrc_status st;

            c->state = PC_CHECKING;
            p->checking++;
            pthread_mutex_unlock(&p->mu);
            st = source_ping(c->sc, NULL, NULL, &pe);
            if (st != DSRC_OK)
                pool_log(p, DSRC_LOG_INFO,
                         "%s: an idle connection failed validation and was closed: %s",
                         p->label, pe.msg ? pe.msg : error_status_name(st));
            derr_clear(&pe);
            pthread_mutex_lock(&p->mu);
            p->checking--;
            if (st != DSRC_OK) {
                p->stale++;
                close_one_locked(p, c);
                continue;
            }
            c->last_checked_ms = now;
            if (p->closing) {
                close_one_locked(p, c);
                return NULL;
            }
        }
        lend_locked(p, c, op, now);
        p->acquires++;
        hist_add(p, mono_ns() - t0);
        return c;
    }
    return NULL;
}

dsrc_status pool_acquire(pool *p, const char *op, int64_t timeout_ms, pool_conn **out,
                         pool_why *why, derr *e)
{
    int64_t t0 = mono_ns(), deadline;
    pool_why why_local;
    pool_waiter w;
    pool_conn *c;
    pthread_condattr_t ca;
    dsrc_status st;

    if (!why)
        why = &why_local;
    *why = POOL_OK;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        st = closed_error(p, why, e);
        pthread_mutex_unlock(&p->mu);
        return st;
    }
    p->users++;
    if ((c = take_idle_locked(p, op, t0))) {
        *out = c;
        leave_locked(p);
        return DSRC_OK;
    }
    if (timeout_ms < 0)
        timeout_ms = p->cfg.acquire_timeout_ms;
    if (timeout_ms > POOL_TIMEOUT_MAX_MS)
        timeout_ms = POOL_TIMEOUT_MAX_MS;
    deadline = t0 + timeout_ms * 1000000;

    memset(&w, 0, sizeof w);
    w.op = op;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cond, &ca);
    pthread_condattr_destroy(&ca);
    wq_push(p, &w);
    for (;;) {
        struct timespec ts;

        if (w.conn || w.failed || p->closing)
            break;
        if (p->opts.open_inline && !w.opener && p->total + p->dying < p->cfg.max_size) {
            open_inline_locked(p, &w, deadline);
            if (w.conn || w.failed || p->closing || mono_ns() >= deadline)
                break;
            continue;
        }
        if (!w.opener && p->total + p->dying < p->cfg.max_size &&
            start_open_locked(p, &w) != 0) {
            w.failed = 1;
            derr_set(&w.err, DSRC_E_INTERNAL,
                     "source '%s' (%s): cannot start a thread to open a connection",
                     p->src->cfg->name, p->label);
            *why = POOL_NO_RESOURCES;
            break;
        }
        if (mono_ns() >= deadline)
            break;
        ts.tv_sec = deadline / 1000000000;
        ts.tv_nsec = deadline % 1000000000;
        pthread_cond_timedwait(&w.cond, &p->mu, &ts);
    }
    wq_remove(p, &w);
    if (w.opener)
        w.opener->w = NULL;
    hist_add(p, mono_ns() - t0);
    if (w.conn) {
        p->acquires++;
        *out = w.conn;
        st = DSRC_OK;
    } else if (w.failed) {
        if (*why == POOL_OK)
            *why = POOL_OPEN_FAILED;
        derr_copy(e, &w.err);
        st = e->status;
    } else if (p->closing) {
        st = closed_error(p, why, e);
    } else {
        p->timeouts++;
        *why = POOL_TIMEOUT;
        st = derr_set(e, DSRC_E_TIMEOUT,
                      "source '%s' (%s): no connection available after %lld ms "
                      "(pool: total %d/%d, idle %d, active %d, opening %d, waiting %d)%s%s",
                      p->src->cfg->name, p->label, (long long)timeout_ms, p->total,
                      p->cfg.max_size, p->idle.n, p->active.n, p->opening, p->wq.n,
                      p->last_err.msg ? "; last open error: " : "",
                      p->last_err.msg ? p->last_err.msg : "");
        e->retryable = 1;
    }
    leave_locked(p);
    pthread_cond_destroy(&w.cond);
    derr_clear(&w.err);
    return st;
}

void pool_release(pool *p, pool_conn *c, int broken)
{
    int64_t now;
    int expired, leaked, drop;
    int64_t held;
    char op[POOL_OP_MAX];

    if (!c)
        return;
    now = pool_now(p);
    pthread_mutex_lock(&p->mu);
    list_remove(&p->active, c);
    expired = pc_expired(p, c, now);
    leaked = c->leak_reported;
    held = now - c->acquired_ms;
    if (leaked)
        memcpy(op, c->op, sizeof op);
    drop = broken || expired || p->closing || p->total > p->cfg.max_size;
    if (drop) {
        if (broken)
            p->broken++;
        else if (expired)
            p->expired++;
        drop_closing_locked(p, c);
    } else {
        pool_conn *tc;
        c->last_checked_ms = now;
        if ((tc = give_locked(p, c, now, 1))) {
            drop_closing_locked(p, tc);
            drop = 1;
        }
    }
    if (!leaked && !drop) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->users++;
    pthread_mutex_unlock(&p->mu);
    if (leaked)
        pool_log(p, DSRC_LOG_NOTICE,
                 "%s: the connection reported as possibly leaked was returned by '%s' "
                 "after %.1f s", p->label, op, (double)held / 1000.0);
    if (drop)
        pc_destroy(c);
    pthread_mutex_lock(&p->mu);
    if (drop)
        closed_locked(p);
    leave_locked(p);
}

void pool_release_err(pool *p, pool_conn *c, const derr *e)
{
    pool_release(p, c, e && e->status != DSRC_OK && e->connection_broken);
}

source_conn *pool_conn_src(const pool_conn *c)
{
    return c ? c->sc : NULL;
}

/* ------------------------------------------------------------------------ */
/* Maintenance                                                               */

typedef struct msg_list {
    char **v;
    size_t n, cap;
} msg_list;

static DSRC_PRINTF(2, 3) void msg_add(msg_list *m, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        char **v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return;
        m->v = v;
        m->cap = cap;
    }
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) >= 0)
        m->v[m->n++] = s;
    va_end(ap);
}

int pool_maintain(pool *p)
{
    int64_t now = pool_now(p);
    pool_conn *c, *prev, *doomed = NULL, *pings = NULL;
    msg_list leaks = {0};
    int need, room, opened = 0, remaining_idle, remaining_total;
    size_t i;

    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    p->users++;
    /* Leaks: borrowed for longer than leak_threshold, reported once. */
    if (p->cfg.leak_threshold_ms > 0)
        for (c = p->active.head; c; c = c->next)
            if (!c->leak_reported && now - c->acquired_ms >= p->cfg.leak_threshold_ms) {
                c->leak_reported = 1;
                p->leaks++;
                msg_add(&leaks,
                        "%s: connection held for %.1f s by '%s' (leak_threshold %.1f s); "
                        "it may have leaked, or the operation is too slow",
                        p->label, (double)(now - c->acquired_ms) / 1000.0, c->op,
                        (double)p->cfg.leak_threshold_ms / 1000.0);
            }

    /* Retirement, least recently used first. */
    remaining_idle = p->idle.n;
    remaining_total = p->total;
    for (c = p->idle.tail; c; c = prev) {
        int retire = 0;

        prev = c->prev;
        if (pc_expired(p, c, now)) {
            p->expired++;
            retire = 1;
        } else if (remaining_total > p->cfg.max_size) {
            retire = 1;
        } else if (p->cfg.idle_timeout_ms > 0 && p->cfg.min_idle < p->cfg.max_size &&
                   remaining_idle > p->cfg.min_idle &&
                   now - c->last_used_ms >= p->cfg.idle_timeout_ms) {
            p->idle_retired++;
            retire = 1;
        }
        if (retire) {
            list_remove(&p->idle, c);
            c->next = doomed;
            doomed = c;
            remaining_idle--;
            remaining_total--;
            drop_closing_locked(p, c);
        }
    }
    /* Keepalive: ping idle connections not known alive for keepalive_ms. */
    if (p->cfg.keepalive_ms > 0)
        for (c = p->idle.head; c; c = prev) {
            prev = c->next;
            if (now - c->last_checked_ms >= p->cfg.keepalive_ms) {
                list_remove(&p->idle, c);
                c->state = PC_CHECKING;
                p->checking++;
                c->next = pings;
                pings = c;
            }
        }
    /* min_idle: open what is missing, within max_size. */
    need = p->cfg.min_idle - (p->idle.n + p->checking + p->opening);
    room = p->cfg.max_size - p->total - p->dying;
    if (need > room)
        need = room;
    if (need < 0)
        need = 0;
    p->total += need;
    p->opening += need;
    wake_capacity_locked(p);
    pthread_mutex_unlock(&p->mu);

    for (i = 0; i < leaks.n; i++) {
        p->opts.log(p->opts.log_user, DSRC_LOG_WARNING, leaks.v[i]);
        free(leaks.v[i]);
    }
    free(leaks.v);
    close_doomed(p, doomed);

    while ((c = pings)) {
        derr pe = {0};
        pool_conn *tc = NULL;
        dsrc_status st;

        pings = c->next;
        c->next = NULL;
        pthread_mutex_lock(&p->mu);
        p->maint_ping = c->sc;
        pthread_mutex_unlock(&p->mu);
        st = source_ping(c->sc, NULL, NULL, &pe);
        pthread_mutex_lock(&p->mu);
        p->maint_ping = NULL;
        p->checking--;
        /* one asked to cancel keeps the flag: closed even if it answered */
        if (st == DSRC_OK && !atomic_load(&c->sc->cancel)) {
            c->last_checked_ms = now;
            if ((tc = give_locked(p, c, now, 0)))
                drop_closing_locked(p, tc);
        } else {
            p->stale++;
            drop_closing_locked(p, c);
            tc = c;
        }
        pthread_mutex_unlock(&p->mu);
        if (st != DSRC_OK)
            pool_log(p, DSRC_LOG_INFO,
                     "%s: an idle connection failed its keepalive ping and was closed: %s",
                     p->label, pe.msg ? pe.msg : error_status_name(st));
        derr_clear(&pe);
        close_doomed(p, tc);
    }

    while (need > 0) {
        source_conn *sc = NULL;
        pool_conn *nc = NULL, *tc = NULL;
        derr oe = {0};
        char logbuf[1024];
        dsrc_status st = source_open(p->src, p->endpoint, &sc, &oe);
        int64_t t = pool_now(p);

        if (st == DSRC_OK && !(nc = pc_new(sc, t))) {
            source_close(sc);
            st = derr_set(&oe, DSRC_E_INTERNAL, "out of memory");
        }
        pthread_mutex_lock(&p->mu);
        p->opening--;
        need--;
        if (st == DSRC_OK) {
            tc = opened_locked(p, nc, t, logbuf, sizeof logbuf);
            opened++;
        } else {
            open_failed_locked(p, &oe, t, logbuf, sizeof logbuf);
            /* Give up the rest of this round: the endpoint is failing. */
            p->total -= need;
            p->opening -= need;
            need = 0;
            wake_capacity_locked(p);
            signal_drained_locked(p);
        }
        pthread_mutex_unlock(&p->mu);
        if (logbuf[0])
            p->opts.log(p->opts.log_user, st == DSRC_OK ? DSRC_LOG_INFO : DSRC_LOG_WARNING,
                        logbuf);
        derr_clear(&oe);
        pc_destroy(tc);
        if (tc) {
            pthread_mutex_lock(&p->mu);
            closed_locked(p);
            pthread_mutex_unlock(&p->mu);
        }
    }
    pthread_mutex_lock(&p->mu);
    leave_locked(p);
    return opened;
}

int pool_maintain_due(pool *p)
{
    int64_t now = pool_now(p);
    const pool_conn *c;
    int due = 0, remaining_idle;

    pthread_mutex_lock(&p->mu);
    if (p->closing) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    /* what pool_maintain() would do, in the same order, without doing it */
    if (p->total > p->cfg.max_size)
        due = 1;
    if (!due && p->cfg.min_idle > p->idle.n + p->checking + p->opening &&
        p->cfg.max_size > p->total + p->dying)
        due = 1;
    if (!due && p->cfg.leak_threshold_ms > 0)
        for (c = p->active.head; c && !due; c = c->next)
            due = !c->leak_reported && now - c->acquired_ms >= p->cfg.leak_threshold_ms;
    remaining_idle = p->idle.n;
    for (c = p->idle.tail; c && !due; c = c->prev) {
        due = pc_expired(p, c, now) ||
              (p->cfg.idle_timeout_ms > 0 && p->cfg.min_idle < p->cfg.max_size &&
               remaining_idle > p->cfg.min_idle &&
               now - c->last_used_ms >= p->cfg.idle_timeout_ms) ||
              (p->cfg.keepalive_ms > 0 && now - c->last_checked_ms >= p->cfg.keepalive_ms);
    }
    pthread_mutex_unlock(&p->mu);
    return due;
}

void pool_cancel_maintenance(pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->maint_ping)
        source_cancel(p->maint_ping);
    pthread_mutex_unlock(&p->mu);
}

/* Close idle connections, the least recently used first, while the pool
 * holds more than `keep` (-1: every idle one).  Called with the lock held;
 * returns without it. */
static void shed_idle_locked(pool *p, int keep)
{
    pool_conn *c, *doomed = NULL;

    while (p->total > keep && (c = p->idle.tail)) {
        list_remove(&p->idle, c);
        c->next = doomed;
        doomed = c;
        drop_closing_locked(p, c);
    }
    p->users++;
    pthread_mutex_unlock(&p->mu);
    close_doomed(p, doomed);
    pthread_mutex_lock(&p->mu);
    leave_locked(p);
}

void pool_recycle(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->gen++;
    shed_idle_locked(p, -1);
}

void pool_reconfigure(pool *p, const cfg_pool *cfg)
{
    pthread_mutex_lock(&p->mu);
    p->cfg = *cfg;
    cfg_sanitise(&p->cfg);
    /* a larger max_size makes room at once */
    wake_capacity_locked(p);
    shed_idle_locked(p, p->cfg.max_size);
}

/* ------------------------------------------------------------------------ */
/* Introspection                                                             */

void pool_stats_get(pool *p, pool_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&p->mu);
    st->max_size = p->cfg.max_size;
    st->min_idle = p->cfg.min_idle;
    st->total = p->total;
    st->idle = p->idle.n;
    st->active = p->active.n;
    st->waiting = p->wq.n;
    st->opening = p->opening;
    st->checking = p->checking;
    st->acquires = p->acquires;
    st->opened = p->opened;
    st->closed = p->closed;
    st->failed_opens = p->failed_opens;
    st->timeouts = p->timeouts;
    st->broken = p->broken;
    st->stale = p->stale;
    st->expired = p->expired;
    st->idle_retired = p->idle_retired;
    st->leaks = p->leaks;
    st->wait_count = p->hist_n;
    st->wait_p50_ms = hist_pct_ms(p, 0.50);
    st->wait_p95_ms = hist_pct_ms(p, 0.95);
    st->wait_p99_ms = hist_pct_ms(p, 0.99);
    st->wait_max_ms = (double)p->hist_max_ns / 1e6;
    st->last_open_error_ms = p->last_err_ms;
    pthread_mutex_unlock(&p->mu);
}

const char *pool_source(const pool *p)
{
    return p->src->cfg->name;
}

const char *pool_label(const pool *p)
{
    return p->label;
}

int pool_endpoint(const pool *p)
{
    return p->endpoint;
}

dsrc_status pool_last_error(pool *p, derr *e)
{
    dsrc_status st;

    pthread_mutex_lock(&p->mu);
    derr_copy(e, &p->last_err);
    st = p->last_err.status;
    pthread_mutex_unlock(&p->mu);
    return st;
}

json_t *pool_stats_json(const pool_stats *st)
{
    json_t *o = json_object(), *w = json_object();

    if (!o || !w) {
        json_decref(o);
        json_decref(w);
        return NULL;
    }
#define PJ_INT(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
    PJ_INT("max_size", st->max_size);
    PJ_INT("min_idle", st->min_idle);
    PJ_INT("total", st->total);
    PJ_INT("idle", st->idle);
    PJ_INT("active", st->active);
    PJ_INT("waiting", st->waiting);
    PJ_INT("opening", st->opening);
    PJ_INT("acquires", st->acquires);
    PJ_INT("opened", st->opened);
    PJ_INT("closed", st->closed);
    PJ_INT("failed_opens", st->failed_opens);
    PJ_INT("timeouts", st->timeouts);
    PJ_INT("broken", st->broken);
    PJ_INT("stale", st->stale);
    PJ_INT("expired", st->expired);
    PJ_INT("idle_retired", st->idle_retired);
    PJ_INT("leaks", st->leaks);
#undef PJ_INT
    json_object_set_new(w, "count", json_integer((json_int_t)st->wait_count));
    json_object_set_new(w, "p50", json_real(st->wait_p50_ms));
    json_object_set_new(w, "p95", json_real(st->wait_p95_ms));
    json_object_set_new(w, "p99", json_real(st->wait_p99_ms));
    json_object_set_new(w, "max", json_real(st->wait_max_ms));
    json_object_set_new(o, "acquire_wait_ms", w);
    return o;
}

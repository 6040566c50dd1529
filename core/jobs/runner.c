/* SPDX-License-Identifier: Apache-2.0 */
/* runner.c -- one run of a discover or a fetch; see runner.h */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "catalog/discovery.h"
#include "catalog/snapshot.h"
#include "jobs/runner.h"
#include "output/fetch.h"
#include "plugin/loader.h"

#define RUNNER_TICK_MS 100

typedef struct runner_watch {
    const runner_req *rq;
    source_conn *conn;
    atomic_uint_least64_t progress;     /* rows + bytes (+ items) so far   */
    atomic_uint_least64_t rows, bytes;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int cancelled, stalled;             /* what the watchdog did           */
    int64_t stall_ms;                   /* rq->stall_ms, or more (discover) */
    catalog_list catalog;               /* discover: the items seen        */
    int catalog_failed;
    int noted;                          /* discover: recorded (or not to be) */
    int64_t queries, ms;                /* discover: as the plugin reported,
                                           its duration (-1: not reached) */
    size_t drift, drift_breaking;       /* discover: events recorded       */
} runner_watch;

static int64_t runner_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *runner_watchdog(void *arg)
{
    runner_watch *w = arg;
    const runner_req *rq = w->rq;
    int64_t lease = rq->lease_ms > 0 ? rq->lease_ms : 60000;
    int64_t now = runner_mono_ms(), last_move = now, last_renew = now;
    uint_least64_t seen = 0;

    log_set_run(rq->run_id);
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        struct timespec until;
        uint_least64_t p;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += RUNNER_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (w->done)
            break;
        now = runner_mono_ms();
        p = atomic_load(&w->progress);
        if (p != seen) {
            seen = p;
            last_move = now;
        }
        if (!w->cancelled && !w->stalled && rq->cancel && atomic_load(rq->cancel)) {
            w->cancelled = 1;
            source_cancel(w->conn);
        }
        if (!w->cancelled && !w->stalled && w->stall_ms > 0 && now - last_move >= w->stall_ms) {
            w->stalled = 1;
            log_msg(DSRC_LOG_WARNING, w->conn->src->cfg->name, loader_name(w->conn->src->plugin),
                    "%s%s%s: no progress for %lld ms; cancelling it",
                    store_kind_name(rq->kind),
                    rq->rule ? " " : "", rq->rule ? rq->rule->item : "",
                    (long long)w->stall_ms);
            source_cancel(w->conn);
        }
        if (now - last_renew >= lease / 3) {
            derr e = {0};
            last_renew = now;
            pthread_mutex_unlock(&w->mu);
            if (store_run_renew(rq->store, rq->run_id, lease, atomic_load(&w->rows),
                                atomic_load(&w->bytes), &e) != DSRC_OK)
                log_msg(DSRC_LOG_WARNING, NULL, NULL, "run %lld: %s", (long long)rq->run_id,
                        e.msg);
            derr_clear(&e);
            pthread_mutex_lock(&w->mu);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* discover: keep the item, count it and its columns. */
static int runner_meta(void *user, const dsrc_metadata *md)
{
    runner_watch *w = user;

    if (catalog_list_add(&w->catalog, md) < 0)
        w->catalog_failed = 1;
    atomic_fetch_add(&w->rows, 1);
    atomic_fetch_add(&w->bytes, md->n_columns);
    atomic_fetch_add(&w->progress, 1);
    return 0;
}

/* Record what the discover begun at `started` did in `discoveries`
 * (once), ending with `st`; a failure to is logged. */
static void runner_note_discover(runner_watch *w, int64_t started, dsrc_status st)
{
    const registry_source *src = router_reg_source(w->rq->rt);
    discovery_rec r;
    derr e = {0};

    if (w->noted)
        return;
    w->noted = 1;
    memset(&r, 0, sizeof r);
    r.source = src->cfg->name;
    r.run_id = w->rq->run_id;
    r.started_at = started;
    r.duration_ms = w->ms >= 0 ? w->ms : store_now() - started;
    r.items = (int64_t)atomic_load(&w->rows);
    r.queries = w->queries;
    r.retries = w->rq->attempt > 1 ? w->rq->attempt - 1 : 0;
    r.errors = st != DSRC_OK;
    r.mode = w->rq->discover_mode;
    r.result = st == DSRC_OK ? "ok" : error_status_name(st);
    if (discovery_record(w->rq->store, &r, &e) != DSRC_OK)
        log_msg(DSRC_LOG_WARNING, r.source, loader_name(src->plugin), "%s", e.msg);
    derr_clear(&e);
}

static dsrc_status runner_discover(runner_watch *w, source_conn *conn, derr *e)
{
    dsrc_discover_req req;
    dsrc_discover_result res;
    dsrc_meta_sink sink;
    store_run_output out;
    snapshot_result snap;
    dsrc_status st;
    int64_t t0;

    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.result = &res;
    req.mode = w->rq->discover_mode;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = w;
    sink.metadata = runner_meta;
    t0 = runner_mono_ms();
    st = source_discover(conn, &req, &sink, e);
    w->ms = runner_mono_ms() - t0;
    w->queries = res.queries;
    if (st == DSRC_OK && w->catalog_failed)
        st = derr_set(e, DSRC_E_INTERNAL, "out of memory keeping the catalog");
    if (st == DSRC_OK)
        st = snapshot_record(w->rq->store, conn->src->cfg->name, &w->catalog, w->ms,
                             w->rq->run_id, w->rq->cfg->catalog.retention_ms, &snap, e);
    catalog_list_free(&w->catalog);
    if (st != DSRC_OK)
        return st;
    w->drift = snap.changes;
    w->drift_breaking = snap.breaking;
    log_msg(snap.changes ? DSRC_LOG_NOTICE : DSRC_LOG_INFO, conn->src->cfg->name,
            loader_name(conn->src->plugin), "catalog: %zu item(s), %s (snapshot %lld): %zu "
            "change(s), %zu breaking; %s discover, %lld quer%s", snap.items,
            snap.changed ? "changed" : "unchanged", (long long)snap.snapshot_id, snap.changes,
            snap.breaking, discovery_mode_name(w->rq->discover_mode), (long long)res.queries,
            res.queries == 1 ? "y" : "ies");
    memset(&out, 0, sizeof out);
    out.rows = atomic_load(&w->rows);
    out.bytes = 0;
    return store_run_succeed(w->rq->store, w->rq->run_id, &out, NULL, e);
}

static dsrc_status runner_fetch(runner_watch *w, source_conn *conn, const char *endpoint,
                                derr *e)
{
    const runner_req *rq = w->rq;
    const cfg_fetch_rule *r = rq->rule;
    fetch_opts o;
    fetch_report rep;
    dsrc_status st;

    memset(&o, 0, sizeof o);
    o.item = r->item;
    o.format = r->format;
    o.columns = (const char *const *)r->columns;
    o.n_columns = r->n_columns;
    o.limit = r->limit;
    o.cursor_field = r->cursor_field;
    o.incremental = r->cursor_field != NULL;
    o.store = rq->store;
    o.run_id = rq->run_id;
    o.endpoint = endpoint;
    o.node = store_node(rq->store);
    o.progress_counter = &w->progress;
    o.mask = r->mask;
    o.n_mask = r->n_mask;
    st = fetch_run(rq->cfg, conn, &o, &rep, e);
    if (st == DSRC_OK) {
        atomic_store(&w->rows, rep.rows);
        atomic_store(&w->bytes, rep.bytes);
        log_msg(DSRC_LOG_INFO, conn->src->cfg->name, loader_name(conn->src->plugin),
                "fetched %s: %llu rows, %llu bytes -> %s", r->item,
                (unsigned long long)rep.rows, (unsigned long long)rep.bytes,
                rep.path ? rep.path : "-");
    }
    fetch_report_free(&rep);
    return st;
}

/* How many times a run's end is recorded again when the store cannot be
 * reached, a second apart. */
#define RUNNER_END_TRIES 30

dsrc_status runner_run(const runner_req *rq, runner_result *res)
{
    runner_watch w;
    router_lease l;
    pthread_t th;
    derr e2 = {0};
    dsrc_status st;
    int64_t t0;
    int watching = 0, tries;

    memset(res, 0, sizeof *res);
    memset(&w, 0, sizeof w);
    w.rq = rq;
    w.queries = w.ms = -1;
    t0 = store_now();
    if (rq->cancel && atomic_load(rq->cancel)) {
        w.noted = 1; /* no discover */
        st = derr_set(&res->err, DSRC_E_CANCELLED, "cancelled before it started");
        goto ended;
    }
    if (rq->kind == RUN_FETCH && (!rq->rule || !rq->rule->item)) {
        st = derr_set(&res->err, DSRC_E_INVALID_ARGUMENT, "a fetch run needs a fetch rule");
        goto ended;
    }
    st = router_acquire(rq->rt, router_intent_for(store_kind_name(rq->kind)),
                        store_kind_name(rq->kind), &l, &res->err);
    if (st != DSRC_OK)
        goto ended;
    st = store_run_start(rq->store, rq->run_id, l.label,
                         rq->lease_ms > 0 ? rq->lease_ms : 60000, &res->err);
    if (st != DSRC_OK) {
        router_release(rq->rt, &l, NULL);
        goto ended;
    }
    w.conn = l.conn;
    w.stall_ms = rq->stall_ms;
    if (rq->kind == RUN_DISCOVER && rq->discover_mode == DSRC_DISCOVER_CONSERVATIVE)
        w.stall_ms *= 2;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (pthread_create(&th, NULL, runner_watchdog, &w) == 0)
        watching = 1;
    if (rq->kind == RUN_DISCOVER)
        st = runner_discover(&w, l.conn, &res->err);
    else
        st = runner_fetch(&w, l.conn, l.label, &res->err);
    pthread_mutex_lock(&w.mu);
    w.done = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    if (watching)
        pthread_join(th, NULL);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (st != DSRC_OK && (w.cancelled || w.stalled)) {
        /* the plugin was told to stop: its connection is not reused */
        derr_clear(&res->err);
        if (w.stalled) {
            st = derr_set(&res->err, DSRC_E_TIMEOUT,
                          "stalled: no rows or bytes for %lld ms; cancelled",
                          (long long)w.stall_ms);
            res->err.retryable = 1;
            res->stalled = 1;
        } else {
            st = derr_set(&res->err, DSRC_E_CANCELLED, "cancelled");
        }
        res->err.connection_broken = 1;
    }
    router_release(rq->rt, &l, st == DSRC_OK ? NULL : &res->err);
ended:
    if (rq->kind == RUN_DISCOVER)
        runner_note_discover(&w, t0, st);
    res->rows = atomic_load(&w.rows);
    res->bytes = atomic_load(&w.bytes);
    res->drift = w.drift;
    res->drift_breaking = w.drift_breaking;
    if (st == DSRC_OK) {
        res->state = RUN_SUCCEEDED;
        return st;
    }
    res->state = st == DSRC_E_CANCELLED || w.cancelled ? RUN_CANCELLED : RUN_FAILED;
    /* A store that cannot be reached (a PostgreSQL store restarting) is
     * asked again for a while: a run left running by a live process would
     * hold its item until the process ends.  store_run_end() resolves a run
     * whose files are in place as succeeded, so asking again is safe. */
    for (tries = 0; store_run_end(rq->store, rq->run_id, res->state, &res->err, &e2) != DSRC_OK;
         tries++) {
        int again = e2.status == DSRC_E_UNREACHABLE && tries < RUNNER_END_TRIES;
        log_msg(again ? DSRC_LOG_WARNING : DSRC_LOG_ERROR, NULL, NULL, "run %lld: %s%s",
                (long long)rq->run_id, e2.msg, again ? " (trying again in 1 s)" : "");
        derr_clear(&e2);
        if (!again)
            break;
        nanosleep(&(struct timespec){1, 0}, NULL);
    }
    derr_clear(&e2);
    return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* scheduler.c -- see scheduler.h */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "catalog/discovery.h"
#include "catalog/drift.h"
#include "jobs/jobs.h"
#include "jobs/runner.h"
#include "jobs/workers.h"
#include "metrics.h"
#include "plugin/loader.h"
#include "scheduler.h"
#include "store/store.h"

#define SCHED_MAX_DUE 64
#define SCHED_LEASE_MS 60000
#define SCHED_BEAT_MS 1000     /* the node's heartbeat in the store        */
#define SCHED_PRUNE_EVERY_MS 3600000

/* One run on its way: made on the main thread, carried out by a worker,
 * collected on the main thread. */
typedef struct sched_task {
    struct scheduler *s;
    int64_t run_id;
    jobs_fire fire;
    int job;                   /* fire is a job's (jobs_finished() it)      */
    run_kind kind;
    cfg_fetch_rule rule;       /* a copy: item, format, columns, cursor     */
    router_source *rt;
    generation *gen;           /* a reference, released on the main thread  */
    int64_t stall_ms;
    dsrc_discover_mode mode;   /* discover: chosen when it was submitted    */
    atomic_int cancel;
    int ran;
    struct timespec started;   /* when a worker took it (CLOCK_MONOTONIC)   */
    runner_result res;
    struct sched_task *next;       /* in `active`                            */
    struct sched_task *next_done;  /* in `done`                              */
} sched_task;

/* A run asked for by `dsrc run`, queued in the store, not yet a task. */
typedef struct sched_req {
    int64_t run_id;
    char *source, *item;       /* item NULL: discover                       */
    jobs_fire fire;
    int job;
    int cancelled;
    struct sched_req *next;
} sched_req;

struct scheduler {
    store *store;
    jobs_table *jobs;
    workers *w;
    cfg_jobs cfg;
    generation *gen;           /* the configuration in force (a reference):
                                  a source kept across a reload keeps its
                                  unit's generation, not its new settings */
    pthread_mutex_t mu;        /* active, done, reqs, stopping              */
    sched_task *active;
    sched_task *done;
    sched_req *reqs;
    int stopping;
    int64_t last_prune;
    int64_t last_beat;         /* the last heartbeat in the store        */
    size_t n_sources;
    pthread_t main;            /* woken by SCHED_WAKE_SIGNAL                */
};

/* The one scheduler of the daemon, for scheduler_uses(). */
static scheduler *sched_current;

static int64_t sched_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A digest of a source's file: a hold is released when it changes. */
static uint64_t sched_fingerprint(const cfg_source *cs)
{
    uint64_t h = 1469598103934665603ULL;
    FILE *f = cs->file ? fopen(cs->file, "re") : NULL;
    int c;

    if (!f)
        return h;
    while ((c = getc(f)) != EOF) {
        h ^= (unsigned char)c;
        h *= 1099511628211ULL;
    }
    fclose(f);
    return h;
}

/* The configuration in force of a served source. */
static const cfg_source *sched_source_cfg(const scheduler *s, const unit *u)
{
    const cfg_source *cs = cfg_find_source(s->gen->cfg, u->src->cfg->name);

    return cs ? cs : u->src->cfg;
}

/* The jobs of the served sources (strings borrowed from s->gen). */
static jobs_spec *sched_specs(const scheduler *s, unit *units, size_t n, size_t *count)
{
    size_t i, k, cap = 0, m = 0;
    jobs_spec *v = NULL;

    for (i = 0; i < n; i++) {
        const cfg_source *cs;
        if (!units[i].rt)
            continue;
        cs = sched_source_cfg(s, &units[i]);
        cap += 1 + cs->n_fetch;
    }
    if (cap && !(v = calloc(cap, sizeof *v)))
        return NULL;
    for (i = 0; i < n; i++) {
        const cfg_source *cs;
        uint64_t fp;
        if (!units[i].rt)
            continue;
        cs = sched_source_cfg(s, &units[i]);
        fp = sched_fingerprint(cs);
        if (cs->schedule_discover)
            v[m++] = (jobs_spec){.source = cs->name, .kind = JOBS_DISCOVER,
                                 .schedule = cs->schedule_discover, .fingerprint = fp};
        for (k = 0; k < cs->n_fetch; k++)
            if (cs->fetch[k].schedule)
                v[m++] = (jobs_spec){.source = cs->name, .kind = JOBS_FETCH,
                                     .item = cs->fetch[k].item,
                                     .schedule = cs->fetch[k].schedule, .fingerprint = fp};
    }
    *count = m;
    return v;
}

static void sched_settings(const cfg_jobs *c, jobs_settings *js)
{
    jobs_settings_default(js);
    js->workers = c->workers;
    js->per_source = c->per_source;
    js->jitter_max_ms = c->jitter_max_ms;
    js->retry_base_ms = c->retry_backoff_ms;
    js->retry_max_ms = c->retry_backoff_max_ms;
    js->retry_max_attempts = c->retry_attempts;
    js->stall_ms = c->stall_timeout_ms;
    js->retention_ms = c->retention_ms;
}

/* Per source: at most per_source runs, never more than its pool. */
static void sched_limits(scheduler *s, unit *units, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int lim = s->cfg.per_source;
        if (!units[i].rt)
            continue;
        if (units[i].pool.max_size > 0 && units[i].pool.max_size < lim)
            lim = units[i].pool.max_size;
        workers_set_limit(s->w, units[i].src->cfg->name, lim);
    }
}

static run_trigger sched_trigger(jobs_trigger t)
{
    switch (t) {
    case JOBS_TRIGGER_CATCH_UP: return RUN_TRIGGER_CATCHUP;
    case JOBS_TRIGGER_RETRY: return RUN_TRIGGER_RETRY;
    case JOBS_TRIGGER_MANUAL: return RUN_TRIGGER_MANUAL;
    default: return RUN_TRIGGER_SCHEDULE;
    }
}

/* Each job's last run from the store: missed fire times give a catch-up. */
static void sched_restore(scheduler *s, const jobs_spec *v, size_t m, int64_t now)
{
    size_t i;

    for (i = 0; i < m; i++) {
        int64_t queued = -1, ended = -1;
        run_state st = RUN_SUCCEEDED;
        run_trigger tr = RUN_TRIGGER_SCHEDULE;
        int attempt = 1;
        jobs_last last;
        char *key;

        if (store_last_run(s->store, v[i].source,
                           v[i].kind == JOBS_DISCOVER ? RUN_DISCOVER : RUN_FETCH, v[i].item,
                           &queued, &ended, &st, &tr, &attempt) != 0)
            continue;
        memset(&last, 0, sizeof last);
        last.fire_ms = queued;
        last.result = st == RUN_SUCCEEDED ? JOBS_SUCCEEDED
                    : st == RUN_CANCELLED ? JOBS_CANCELLED : JOBS_FAILED;
        last.trigger = tr == RUN_TRIGGER_CATCHUP ? JOBS_TRIGGER_CATCH_UP
                     : tr == RUN_TRIGGER_RETRY ? JOBS_TRIGGER_RETRY
                     : tr == RUN_TRIGGER_MANUAL ? JOBS_TRIGGER_MANUAL : JOBS_TRIGGER_SCHEDULE;
        last.attempt = attempt;
        last.started_ms = -1;
        last.finished_ms = ended;
        last.status = st == RUN_SUCCEEDED ? DSRC_OK : DSRC_E_INTERNAL;
        key = jobs_make_key(v[i].source, v[i].kind, v[i].item);
        if (key)
            (void)jobs_restore(s->jobs, key, &last, now);
        free(key);
    }
}

scheduler *scheduler_new(generation *g, unit *units, size_t n, derr *e)
{
    scheduler *s = calloc(1, sizeof *s);
    jobs_settings js;
    jobs_spec *v;
    size_t m = 0;
    int64_t now = sched_now_ms();
    int k;

    if (!s) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->main = pthread_self();
    s->cfg = g->cfg->jobs;
    s->gen = g;
    g->refs++;
    if (!(s->store = store_open_cfg(g->cfg, e)))
        goto fail;
    store_set_shared_workspace(s->store, g->cfg->shared_workspace);
    if (store_node_beat(s->store, SCHED_LEASE_MS, e) != DSRC_OK)
        goto fail;
    if ((k = store_recover(s->store, NULL, NULL, e)) < 0)
        goto fail;
    if (k > 0)
        log_msg(DSRC_LOG_NOTICE, NULL, NULL,
                "resolved %d run(s) left open by a daemon or dsrc that stopped (see "
                "'dsrc runs')", k);
    sched_settings(&s->cfg, &js);
    v = sched_specs(s, units, n, &m);
    s->jobs = jobs_new(&js, v, m, now, 0, e);
    if (s->jobs)
        sched_restore(s, v, m, now);
    free(v);
    if (!s->jobs || !(s->w = workers_new(s->cfg.workers, s->cfg.per_source, e)))
        goto fail;
    sched_limits(s, units, n);
    s->n_sources = n;
    s->last_prune = 0;
    sched_current = s;
    log_msg(DSRC_LOG_INFO, NULL, NULL, "%zu job(s) scheduled, %d worker(s)", m,
            s->cfg.workers);
    return s;
fail:
    jobs_free(s->jobs);
    store_close(s->store);
    gen_unref(s->gen);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

/* Drop the queued runs -- scheduled or asked for by `dsrc run` -- of the
 * sources that `units` no longer serve; their running ones go on. */
static void sched_drop_unserved(scheduler *s, unit *units, size_t n)
{
    char **gone = NULL, **more;
    size_t k = 0, i, j;
    sched_task *t;

    pthread_mutex_lock(&s->mu);
    for (t = s->active; t; t = t->next) {
        const char *src = t->fire.source;
        int known = !src;
        for (j = 0; j < n && !known; j++)
            known = units[j].rt && strcmp(units[j].src->cfg->name, src) == 0;
        for (i = 0; i < k && !known; i++)
            known = strcmp(gone[i], src) == 0;
        if (known || !(more = realloc(gone, (k + 1) * sizeof *gone)))
            continue;
        gone = more;
        if ((gone[k] = strdup(src)))
            k++;
    }
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < k; i++) {
        int dropped = workers_drop_key(s->w, gone[i]);
        if (dropped > 0)
            log_msg(DSRC_LOG_NOTICE, gone[i], NULL,
                    "%d queued run(s) dropped: the source is no longer served", dropped);
        free(gone[i]);
    }
    free(gone);
}

void scheduler_sync(scheduler *s, generation *g, unit *units, size_t n)
{
    jobs_settings js;
    jobs_spec *v;
    size_t m = 0;
    derr e = {0};

    s->cfg = g->cfg->jobs;
    g->refs++;
    gen_unref(s->gen);
    s->gen = g;
    sched_settings(&s->cfg, &js);
    v = sched_specs(s, units, n, &m);
    if (jobs_sync(s->jobs, &js, v, m, sched_now_ms(), NULL, &e) != 0) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "jobs not updated: %s", e.msg ? e.msg : "?");
        derr_clear(&e);
    }
    sched_drop_unserved(s, units, n);
    free(v);
    sched_limits(s, units, n);
    s->n_sources = n;
    log_msg(DSRC_LOG_INFO, NULL, NULL, "%zu job(s) scheduled", m);
}

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */

static void sched_rule_free(cfg_fetch_rule *r)
{
    size_t i;

    free(r->item);
    free(r->format);
    free(r->cursor_field);
    for (i = 0; i < r->n_columns; i++)
        free(r->columns[i]);
    free(r->columns);
    mask_rules_free(r->mask, r->n_mask);
    memset(r, 0, sizeof *r);
}

/* Copy `from` (or make a rule for `item` alone when from is NULL). */
static int sched_rule_copy(cfg_fetch_rule *to, const cfg_fetch_rule *from, const char *item)
{
    size_t i;

    memset(to, 0, sizeof *to);
    to->limit = from ? from->limit : -1;
    if (!(to->item = strdup(from ? from->item : item)))
        return -1;
    if (!from)
        return 0;
    if ((from->format && !(to->format = strdup(from->format))) ||
        (from->cursor_field && !(to->cursor_field = strdup(from->cursor_field))))
        return -1;
    if (from->n_columns) {
        if (!(to->columns = calloc(from->n_columns, sizeof *to->columns)))
            return -1;
        to->n_columns = from->n_columns;
        for (i = 0; i < from->n_columns; i++)
            if (!(to->columns[i] = strdup(from->columns[i])))
                return -1;
    }
    /* the mask goes with the rule: a run is never less masked */
    for (i = 0; i < from->n_mask; i++) {
        char *why = NULL;
        if (mask_rules_add(&to->mask, &to->n_mask, from->mask[i].column,
                           mask_mode_name(from->mask[i].mode, from->mask[i].unit), &why) != 0) {
            free(why);
            return -1;
        }
    }
    return 0;
}

static const unit *sched_unit(unit *units, size_t n, const char *source)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (units[i].rt && strcmp(units[i].src->cfg->name, source) == 0)
            return &units[i];
    return NULL;
}

static const cfg_fetch_rule *sched_rule_of(const scheduler *s, const unit *u,
                                           const char *item)
{
    const cfg_source *cs = sched_source_cfg(s, u);
    size_t k;

    for (k = 0; item && k < cs->n_fetch; k++)
        if (strcmp(cs->fetch[k].item, item) == 0)
            return &cs->fetch[k];
    return NULL;
}

static void sched_task_free(sched_task *t)
{
    if (!t)
        return;
    jobs_fire_clear(&t->fire);
    sched_rule_free(&t->rule);
    derr_clear(&t->res.err);
    free(t);
}

/* on_breaking_change = "pause": 1 when the item waits for `dsrc drift
 * ack` (its queued run `id` is then ended as not run, with the reason). */
static int sched_paused(scheduler *s, const char *source, const char *item, int64_t id)
{
    char *why = NULL;
    derr e = {0}, not_run = {0};
    int paused = drift_paused(s->store, source, item, &why, &e);

    if (paused < 0)
        log_msg(DSRC_LOG_WARNING, source, NULL, "fetch %s: %s; running it", item, e.msg);
    if (paused > 0) {
        derr_set(&not_run, DSRC_E_CANCELLED, "not run: %s", why ? why : "paused");
        log_msg(DSRC_LOG_NOTICE, source, NULL, "fetch %s %s", item, not_run.msg);
        (void)store_run_end(s->store, id, RUN_CANCELLED, &not_run, NULL);
    }
    free(why);
    derr_clear(&e);
    derr_clear(&not_run);
    return paused > 0;
}

/* Worker thread: carry out the run. */
static void sched_task_run(void *arg)
{
    sched_task *t = arg;
    scheduler *s = t->s;
    runner_req rq;
    const char *src = t->fire.source;

    t->ran = 1;
    clock_gettime(CLOCK_MONOTONIC, &t->started);
    metrics_run_started();
    log_set_run(t->run_id);
    if (t->job && jobs_started(s->jobs, &t->fire, sched_now_ms()) != 0) {
        derr why = {0};
        derr_set(&why, DSRC_E_CANCELLED, "dropped: its job is no longer configured");
        (void)store_run_end(s->store, t->run_id, RUN_CANCELLED, &why, &t->res.err);
        derr_clear(&t->res.err);
        t->res.state = RUN_CANCELLED;
        t->job = 0;
        derr_clear(&why);
        log_set_run(0);
        return;
    }
    memset(&rq, 0, sizeof rq);
    rq.cfg = t->gen->cfg;
    rq.rt = t->rt;
    rq.store = s->store;
    rq.run_id = t->run_id;
    rq.kind = t->kind;
    rq.rule = t->kind == RUN_FETCH ? &t->rule : NULL;
    rq.lease_ms = SCHED_LEASE_MS;
    rq.stall_ms = t->stall_ms;
    rq.cancel = &t->cancel;
    rq.discover_mode = t->mode;
    rq.attempt = t->fire.attempt;
    log_msg(DSRC_LOG_DEBUG, src, NULL, "%s%s%s started (%s, attempt %d%s%s)",
            store_kind_name(t->kind), t->kind == RUN_FETCH ? " " : "",
            t->kind == RUN_FETCH ? t->rule.item : "", jobs_trigger_name(t->fire.trigger),
            t->fire.attempt, t->kind == RUN_DISCOVER ? ", mode " : "",
            t->kind == RUN_DISCOVER ? discovery_mode_name(t->mode) : "");
    runner_run(&rq, &t->res);
    if (t->res.state == RUN_SUCCEEDED)
        /* a fetch's success is logged by the runner, with its file */
        log_msg(t->kind == RUN_FETCH ? DSRC_LOG_DEBUG : DSRC_LOG_INFO, src, NULL,
                "%s%s%s succeeded: %llu %s",
                store_kind_name(t->kind), t->kind == RUN_FETCH ? " " : "",
                t->kind == RUN_FETCH ? t->rule.item : "", (unsigned long long)t->res.rows,
                t->kind == RUN_FETCH ? "rows" : "items");
    else
        log_msg_id(t->res.state == RUN_CANCELLED ? DSRC_LOG_NOTICE : DSRC_LOG_WARNING, src, NULL,
                t->res.state == RUN_FAILED ? LOG_MID_RUN_FAILED : NULL, "%s%s%s %s: %s%s",
                store_kind_name(t->kind), t->kind == RUN_FETCH ? " " : "",
                t->kind == RUN_FETCH ? t->rule.item : "", store_state_name(t->res.state),
                t->res.err.msg ? t->res.err.msg : "?",
                t->res.err.retryable ? " (retryable)" : "");
    log_set_run(0);
}

/* Record the end of a job's run in the job table (any thread), so that
 * `dsrc jobs` shows it as soon as the store does; log what comes next. */
static void sched_finished(scheduler *s, sched_task *t, int64_t now)
{
    jobs_result r = t->res.state == RUN_SUCCEEDED ? JOBS_SUCCEEDED
                  : t->res.state == RUN_CANCELLED ? JOBS_CANCELLED : JOBS_FAILED;
    jobs_after a;

    if (!t->job ||
        jobs_finished(s->jobs, &t->fire, now, r, r == JOBS_FAILED ? &t->res.err : NULL, &a) != 0 ||
        r != JOBS_FAILED)
        return;
    if (a.held)
        log_msg(DSRC_LOG_ERROR, t->fire.source, NULL,
                "%s: held after run %lld failed with %s: not retried until its "
                "configuration changes or 'dsrc run' succeeds", t->fire.key,
                (long long)t->run_id, error_status_name(t->res.err.status));
    else if (a.trigger == JOBS_TRIGGER_RETRY && a.next_ms >= 0)
        log_msg(DSRC_LOG_NOTICE, t->fire.source, NULL, "%s: attempt %d in %.1f s",
                t->fire.key, a.attempt,
                (double)(a.next_ms > now ? a.next_ms - now : 0) / 1000.0);
}

/* Always called once per task (after the run, or instead of it when it is
 * dropped): record its end, hand it to the main thread. */
static void sched_task_done(void *arg)
{
    sched_task *t = arg;
    scheduler *s = t->s;
    struct timespec now;

    if (!t->ran) {
        derr why = {0}, e = {0};
        derr_set(&why, DSRC_E_CANCELLED, "dropped before it started (%s)",
                 s->stopping ? "dsrcd stopping" : "its source is no longer served");
        (void)store_run_end(s->store, t->run_id, RUN_CANCELLED, &why, &e);
        derr_clear(&e);
        derr_clear(&why);
        t->res.state = RUN_CANCELLED;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    metrics_run_ended(t->fire.source, t->kind, t->res.state,
                      t->ran ? (double)(now.tv_sec - t->started.tv_sec) +
                                   (double)(now.tv_nsec - t->started.tv_nsec) / 1e9
                             : -1,
                      t->res.rows, t->res.bytes);
    metrics_drift(t->res.drift, t->res.drift_breaking);
    sched_finished(s, t, sched_now_ms());
    pthread_mutex_lock(&s->mu);
    t->next_done = s->done;
    s->done = t;
    pthread_mutex_unlock(&s->mu);
    (void)pthread_kill(s->main, SCHED_WAKE_SIGNAL);
}

/* The mode of a discover of `u` now: its schedule.discover_mode, adaptive
 * judged from its health report (discovery.h). */
static dsrc_discover_mode sched_discover_mode(const unit *u)
{
    health_report rep;
    dsrc_discover_mode m;
    int have = u->src->cfg->discover_mode == CFG_DISCOVER_ADAPTIVE && u->hl &&
               health_report_get(u->hl, &rep) == 0;

    m = discovery_choose(u->src->cfg->discover_mode, have ? &rep : NULL, NULL);
    if (have)
        health_report_free(&rep);
    return m;
}

/* Make and submit the task of a run queued in the store as `run_id`.  On
 * failure the run is ended and the fire given back. */
static void sched_submit(scheduler *s, generation *g, const unit *u, int64_t run_id,
                         jobs_fire *fire, int job, run_kind kind, const char *item)
{
    sched_task *t = calloc(1, sizeof *t);
    derr e = {0};

    if (!t || (kind == RUN_FETCH &&
               sched_rule_copy(&t->rule, sched_rule_of(s, u, item), item) < 0))
        goto fail;
    t->s = s;
    t->run_id = run_id;
    t->fire = *fire;
    memset(fire, 0, sizeof *fire);
    t->job = job;
    t->kind = kind;
    t->rt = u->rt;
    t->gen = g;
    t->stall_ms = s->cfg.stall_timeout_ms;
    if (kind == RUN_DISCOVER)
        t->mode = sched_discover_mode(u);
    atomic_init(&t->cancel, 0);
    g->refs++;
    pthread_mutex_lock(&s->mu);
    t->next = s->active;
    s->active = t;
    pthread_mutex_unlock(&s->mu);
    if (workers_submit(s->w, u->src->cfg->name, sched_task_run, t, sched_task_done) < 0) {
        /* refused (stopping): collected as dropped */
        sched_task_done(t);
    }
    return;
fail:
    derr_set(&e, DSRC_E_INTERNAL, "out of memory");
    (void)store_run_end(s->store, run_id, RUN_FAILED, &e, NULL);
    metrics_run_ended(u->src->cfg->name, kind, RUN_FAILED, -1, 0, 0);
    if (job)
        (void)jobs_finished(s->jobs, t ? &t->fire : fire, sched_now_ms(), JOBS_FAILED, &e, NULL);
    if (t)
        sched_task_free(t);
    jobs_fire_clear(fire);
    derr_clear(&e);
}

/* A task ended (main thread): forget it, release its generation. */
static void sched_collect(scheduler *s, sched_task *t)
{
    sched_task **pp;

    pthread_mutex_lock(&s->mu);
    for (pp = &s->active; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    gen_unref(t->gen);
    sched_task_free(t);
}

static void sched_drain(scheduler *s)
{
    sched_task *t, *next;

    pthread_mutex_lock(&s->mu);
    t = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->mu);
    for (; t; t = next) {
        next = t->next_done;
        sched_collect(s, t);
    }
}

int64_t scheduler_tick(scheduler *s, unit *units, size_t n)
{
    int64_t now = sched_now_ms(), next;
    jobs_fire due[SCHED_MAX_DUE];
    sched_req *r, *rn;
    size_t k, i;
    generation *g = NULL;
    derr e = {0};

    for (i = 0; i < n && !g; i++)
        if (units[i].rt)
            g = units[i].gen;
    sched_drain(s);
    pthread_mutex_lock(&s->mu);
    r = s->reqs;
    s->reqs = NULL;
    pthread_mutex_unlock(&s->mu);
    for (; r; r = rn) {
        const unit *u = sched_unit(units, n, r->source);
        rn = r->next;
        if (!u || r->cancelled) {
            derr_set(&e, DSRC_E_CANCELLED, r->cancelled ? "cancelled before it started"
                                                       : "its source is no longer served");
            (void)store_run_end(s->store, r->run_id, RUN_CANCELLED, &e, NULL);
            metrics_run_ended(r->source, r->item ? RUN_FETCH : RUN_DISCOVER, RUN_CANCELLED,
                              -1, 0, 0);
            if (r->job)
                (void)jobs_finished(s->jobs, &r->fire, now, JOBS_CANCELLED, NULL, NULL);
            jobs_fire_clear(&r->fire);
            derr_clear(&e);
        } else {
            sched_submit(s, s->gen, u, r->run_id, &r->fire, r->job,
                         r->item ? RUN_FETCH : RUN_DISCOVER, r->item);
        }
        free(r->source);
        free(r->item);
        free(r);
    }
    k = s->stopping ? 0 : jobs_due(s->jobs, now, due, SCHED_MAX_DUE);
    for (i = 0; i < k; i++) {
        const unit *u = sched_unit(units, n, due[i].source);
        const cfg_fetch_rule *rule = u ? sched_rule_of(s, u, due[i].item) : NULL;
        store_run_spec sp = {.source = due[i].source,
                             .kind = due[i].kind == JOBS_DISCOVER ? RUN_DISCOVER : RUN_FETCH,
                             .item = due[i].item, .trigger = sched_trigger(due[i].trigger),
                             .attempt = due[i].attempt,
                             .cursor_field = rule ? rule->cursor_field : NULL,
                             .job = due[i].slot_ms >= 0 ? due[i].key : NULL,
                             .slot_ms = due[i].slot_ms};
        int64_t id = 0;

        if (!u || store_run_queue(s->store, &sp, &id, &e) != DSRC_OK) {
            log_msg(DSRC_LOG_ERROR, due[i].source, NULL, "%s: cannot queue a run: %s",
                    due[i].key, u ? e.msg : "the source is not served");
            (void)jobs_finished(s->jobs, &due[i], now, JOBS_FAILED, NULL, NULL);
            jobs_fire_clear(&due[i]);
            derr_clear(&e);
            continue;
        }
        if (id == 0) {
            /* another node sharing the store made this slot's run */
            log_msg(DSRC_LOG_DEBUG, due[i].source, NULL, "%s: its run is another node's",
                    due[i].key);
            (void)jobs_taken(s->jobs, &due[i], now);
            jobs_fire_clear(&due[i]);
            continue;
        }
        metrics_run_queued();
        if (sp.kind == RUN_FETCH && rule && rule->pause_on_breaking &&
            sched_paused(s, due[i].source, due[i].item, id)) {
            metrics_run_ended(due[i].source, RUN_FETCH, RUN_CANCELLED, -1, 0, 0);
            (void)jobs_finished(s->jobs, &due[i], now, JOBS_CANCELLED, NULL, NULL);
            jobs_fire_clear(&due[i]);
            continue;
        }
        sched_submit(s, s->gen, u, id, &due[i], 1, sp.kind, due[i].item);
    }
    if (now - s->last_beat >= SCHED_BEAT_MS) {
        s->last_beat = now;
        if (store_node_beat(s->store, SCHED_LEASE_MS, &e) != DSRC_OK)
            log_msg(DSRC_LOG_WARNING, NULL, NULL, "cannot record this node's heartbeat: %s",
                    e.msg);
        derr_clear(&e);
    }
    if (now - s->last_prune >= SCHED_PRUNE_EVERY_MS) {
        int64_t gone = store_prune(s->store, now - s->cfg.retention_ms, &e);
        s->last_prune = now;
        if (gone > 0)
            log_msg(DSRC_LOG_INFO, NULL, NULL, "pruned %lld run and query record(s) older "
                    "than the retention", (long long)gone);
        derr_clear(&e);
    }
    next = jobs_next_due(s->jobs);
    if (next < 0 || next - now > 1000)
        return 1000;
    return next > now ? next - now : 0;
}

dsrc_status scheduler_request(scheduler *s, unit *units, size_t n, const char *source,
                              const char *item, int64_t *id, derr *e)
{
    const unit *u = sched_unit(units, n, source);
    const cfg_fetch_rule *rule;
    sched_req *r;
    char *key;
    int rc;
    store_run_spec sp;

    if (!u)
        return derr_set(e, DSRC_E_NOT_FOUND, "source '%s' is not served (see 'dsrc sources')",
                        source);
    if (!(r = calloc(1, sizeof *r)) || !(r->source = strdup(source)) ||
        (item && !(r->item = strdup(item)))) {
        if (r)
            free(r->source);
        free(r);
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
    key = jobs_make_key(source, item ? JOBS_FETCH : JOBS_DISCOVER, item);
    rc = key ? jobs_manual(s->jobs, key, sched_now_ms(), &r->fire, e) : -1;
    free(key);
    if (rc == -2) {
        free(r->source);
        free(r->item);
        free(r);
        return e->status;
    }
    derr_clear(e);
    r->job = rc == 0;
    if (!r->job) {
        /* no job: a run of its own */
        r->fire.trigger = JOBS_TRIGGER_MANUAL;
        r->fire.attempt = 1;
        r->fire.source = strdup(source);
    }
    rule = sched_rule_of(s, u, item);
    sp = (store_run_spec){.source = source, .kind = item ? RUN_FETCH : RUN_DISCOVER,
                          .item = item, .trigger = RUN_TRIGGER_MANUAL, .attempt = 1,
                          .cursor_field = rule ? rule->cursor_field : NULL};
    if (store_run_queue(s->store, &sp, &r->run_id, e) != DSRC_OK) {
        if (r->job)
            (void)jobs_finished(s->jobs, &r->fire, sched_now_ms(), JOBS_CANCELLED, NULL, NULL);
        jobs_fire_clear(&r->fire);
        free(r->source);
        free(r->item);
        free(r);
        return e->status;
    }
    *id = r->run_id;
    metrics_run_queued();
    pthread_mutex_lock(&s->mu);
    r->next = s->reqs;
    s->reqs = r;
    pthread_mutex_unlock(&s->mu);
    (void)pthread_kill(s->main, SCHED_WAKE_SIGNAL); /* start it now */
    return DSRC_OK;
}

dsrc_status scheduler_cancel(scheduler *s, int64_t id, derr *e)
{
    sched_task *t;
    sched_req *r;
    int found = 0;

    pthread_mutex_lock(&s->mu);
    for (t = s->active; t && !found; t = t->next)
        if (t->run_id == id) {
            atomic_store(&t->cancel, 1);
            found = 1;
        }
    for (r = s->reqs; r && !found; r = r->next)
        if (r->run_id == id)
            found = r->cancelled = 1;
    pthread_mutex_unlock(&s->mu);
    if (!found)
        return derr_set(e, DSRC_E_NOT_FOUND, "run %lld is not queued or running in dsrcd",
                        (long long)id);
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "run %lld: cancel asked", (long long)id);
    return DSRC_OK;
}

json_t *scheduler_jobs_json(scheduler *s, const char *source)
{
    return jobs_json(s->jobs, source);
}

void scheduler_status(scheduler *s, char *buf, size_t n)
{
    int queued = 0, running = 0, held = 0;
    size_t jobs = jobs_count(s->jobs, &queued, &running, &held);
    int64_t next = jobs_next_due(s->jobs), now = sched_now_ms();

    if (next >= 0)
        snprintf(buf, n, "%d run(s) in progress, %d queued, %d held of %zu job(s); next "
                 "run in %lld s", running, queued, held, jobs,
                 (long long)((next > now ? next - now : 0) + 999) / 1000);
    else
        snprintf(buf, n, "%d run(s) in progress, %d queued, %d held of %zu job(s)", running,
                 queued, held, jobs);
}

int scheduler_stop(scheduler *s, int64_t grace_ms)
{
    sched_task *t;
    int left;

    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    left = workers_stop(s->w, grace_ms);
    if (left > 0) {
        log_msg(DSRC_LOG_NOTICE, NULL, NULL,
                "%d run(s) still running after %.1f s (shutdown_grace): cancelling them",
                left, (double)grace_ms / 1000.0);
        pthread_mutex_lock(&s->mu);
        for (t = s->active; t; t = t->next)
            atomic_store(&t->cancel, 1);
        pthread_mutex_unlock(&s->mu);
        left = workers_stop(s->w, grace_ms > 0 ? grace_ms : 1000);
    }
    sched_drain(s);
    return left;
}

void scheduler_free(scheduler *s)
{
    sched_req *r, *rn;

    if (!s)
        return;
    workers_free(s->w);
    sched_drain(s);
    for (r = s->reqs; r; r = rn) {
        rn = r->next;
        jobs_fire_clear(&r->fire);
        free(r->source);
        free(r->item);
        free(r);
    }
    if (sched_current == s)
        sched_current = NULL;
    jobs_free(s->jobs);
    store_close(s->store);
    gen_unref(s->gen);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int scheduler_uses(const router_source *rt)
{
    scheduler *s = sched_current;
    sched_task *t;
    int used = 0;

    if (!s || !rt)
        return 0;
    pthread_mutex_lock(&s->mu);
    for (t = s->active; t && !used; t = t->next)
        used = t->rt == rt;
    pthread_mutex_unlock(&s->mu);
    return used;
}

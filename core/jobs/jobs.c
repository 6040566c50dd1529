/* SPDX-License-Identifier: Apache-2.0 */
/* jobs.c -- the job table (see jobs.h).
 *
 * A job is idle (waiting for next_ms; -1 when held or when its schedule
 * fires no more), queued (handed out, not started) or running.  The
 * "next" fields say what its next run will be; the "cur" fields what the
 * run in flight is; last_fire is the fire time of the last cycle that
 * ended, from which the next fire time is counted. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/schedule.h"
#include "jobs/jobs.h"
#include "jobs/plan.h"

typedef enum jb_state {
    JB_IDLE = 0,
    JB_QUEUED = 1,
    JB_RUNNING = 2
} jb_state;

typedef struct jb_job {
    char *key, *source, *item, *expr;
    jobs_kind kind;
    uint64_t fingerprint;
    schedule_spec sched;
    int64_t window, jitter;
    jb_state state;
    /* the next run */
    int64_t next_ms;
    jobs_trigger next_trigger;
    int next_attempt;
    int64_t next_fire;
    /* the run in flight */
    uint64_t run;
    jobs_trigger cur_trigger;
    int cur_attempt;
    int64_t cur_fire, cur_started;
    /* the past */
    int64_t last_fire;
    jobs_result last_result;
    jobs_trigger last_trigger;
    int last_attempt;
    int64_t last_started, last_finished;
    dsrc_status last_status;
    char *last_msg;
    int failures;
    char *held;                 /* the reason; NULL: not held */
} jb_job;

struct jobs_table {
    pthread_mutex_t mu;
    jobs_settings st;
    jb_job **jobs;
    size_t n;
    uint64_t rng;
    uint64_t runs;              /* the last run number handed out */
};

void jobs_settings_default(jobs_settings *s)
{
    s->workers = JOBS_DEFAULT_WORKERS;
    s->per_source = JOBS_DEFAULT_PER_SOURCE;
    s->jitter_max_ms = JOBS_DEFAULT_JITTER_MAX_MS;
    s->retry_base_ms = JOBS_DEFAULT_RETRY_BASE_MS;
    s->retry_max_ms = JOBS_DEFAULT_RETRY_MAX_MS;
    s->retry_max_attempts = JOBS_DEFAULT_RETRY_MAX_ATTEMPTS;
    s->stall_ms = JOBS_DEFAULT_STALL_MS;
    s->retention_ms = JOBS_DEFAULT_RETENTION_MS;
}

const char *jobs_kind_name(jobs_kind k)
{
    return k == JOBS_FETCH ? "fetch" : "discover";
}

const char *jobs_trigger_name(jobs_trigger tr)
{
    static const char *const names[] = {"schedule", "catch-up", "retry", "manual"};
    return (unsigned)tr < 4 ? names[tr] : "schedule";
}

const char *jobs_result_name(jobs_result r)
{
    static const char *const names[] = {"none", "succeeded", "failed", "cancelled"};
    return (unsigned)r < 4 ? names[r] : "none";
}

int jobs_status_holds(dsrc_status s)
{
    return s == DSRC_E_AUTH || s == DSRC_E_INVALID_CONFIG;
}

char *jobs_make_key(const char *source, jobs_kind kind, const char *item)
{
    char *k;
    size_t n;

    if (!source || (kind == JOBS_FETCH && !item))
        return NULL;
    n = strlen(source) + (kind == JOBS_FETCH ? strlen(item) + 8 : 10);
    if (!(k = malloc(n)))
        return NULL;
    if (kind == JOBS_FETCH)
        snprintf(k, n, "%s/fetch/%s", source, item);
    else
        snprintf(k, n, "%s/discover", source);
    return k;
}

void jobs_fire_clear(jobs_fire *f)
{
    if (!f)
        return;
    free(f->key);
    free(f->source);
    free(f->item);
    memset(f, 0, sizeof *f);
}

void jobs_keys_free(char **keys)
{
    char **p;
    if (!keys)
        return;
    for (p = keys; *p; p++)
        free(*p);
    free(keys);
}

/* ------------------------------------------------------------------------ */
/* One job                                                                   */

static void jb_free(jb_job *j)
{
    if (!j)
        return;
    free(j->key);
    free(j->source);
    free(j->item);
    free(j->expr);
    free(j->last_msg);
    free(j->held);
    free(j);
}

/* A new idle job from spec `sp` under settings `st`, not yet scheduled;
 * NULL with `e` set. */
static jb_job *jb_make(const jobs_spec *sp, const jobs_settings *st, derr *e)
{
    const char *why = NULL;
    jb_job *j;

    if (!sp->source || !sp->schedule || (sp->kind == JOBS_FETCH && !sp->item)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT,
                 "jobs: a job of source '%s' lacks its %s",
                 sp->source ? sp->source : "(none)",
                 !sp->source ? "source" : !sp->schedule ? "schedule" : "item");
        return NULL;
    }
    j = calloc(1, sizeof *j);
    if (!j || !(j->key = jobs_make_key(sp->source, sp->kind, sp->item)) ||
        !(j->source = strdup(sp->source)) || !(j->expr = strdup(sp->schedule)) ||
        (sp->kind == JOBS_FETCH && !(j->item = strdup(sp->item)))) {
        jb_free(j);
        derr_set(e, DSRC_E_INTERNAL, "jobs: out of memory");
        return NULL;
    }
    if (schedule_parse(sp->schedule, &j->sched, &why) != 0) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "job '%s': schedule \"%s\": %s",
                 j->key, sp->schedule, why ? why : "invalid");
        jb_free(j);
        return NULL;
    }
    j->kind = sp->kind;
    j->fingerprint = sp->fingerprint;
    j->window = plan_window_ms(&j->sched, st->jitter_max_ms);
    j->jitter = plan_jitter_ms(j->key, j->window);
    j->next_ms = j->next_fire = j->cur_fire = -1;
    j->cur_started = j->last_fire = j->last_started = j->last_finished = -1;
    return j;
}

static void jb_set_next(jb_job *j, int64_t next, jobs_trigger tr, int attempt,
                        int64_t fire)
{
    j->next_ms = next;
    j->next_trigger = tr;
    j->next_attempt = attempt;
    j->next_fire = fire;
}

/* Due at the first fire time after now: no catch-up. */
static void jb_schedule_after(jb_job *j, int64_t now)
{
    int64_t next = plan_next(&j->sched, now, j->jitter);
    jb_set_next(j, next, JOBS_TRIGGER_SCHEDULE, 1, next);
}

/* Due at the fire time after the last cycle's; one catch-up now if one
 * was missed. */
static void jb_schedule_from_last(jb_job *j, int64_t now)
{
    int cu = 0;
    int64_t next = plan_first(&j->sched, j->last_fire, now, j->jitter, &cu);
    jb_set_next(j, next, cu ? JOBS_TRIGGER_CATCH_UP : JOBS_TRIGGER_SCHEDULE, 1,
                next);
}

/* The job with `key`, or NULL. */
static jb_job *jb_find(const jobs_table *t, const char *key, size_t *idx)
{
    size_t i;
    for (i = 0; key && i < t->n; i++) {
        if (strcmp(t->jobs[i]->key, key) == 0) {
            if (idx)
                *idx = i;
            return t->jobs[i];
        }
    }
    return NULL;
}

/* The job whose run in flight is `f`, or NULL. */
static jb_job *jb_find_run(const jobs_table *t, const jobs_fire *f)
{
    jb_job *j = f ? jb_find(t, f->key, NULL) : NULL;
    return j && j->state != JB_IDLE && j->run == f->run ? j : NULL;
}

/* The latest fire time of j in (after, now] -- the slot a catch-up
 * stands for, the same whoever computes it -- or -1 when none.  A binary
 * search: plan_next() is monotonic in its `after`. */
static int64_t jb_latest_fire(const jb_job *j, int64_t after, int64_t now)
{
    int64_t lo = after, hi = now, f;

    f = plan_next(&j->sched, lo, j->jitter);
    if (f < 0 || f > now)
        return -1;
    /* plan_next(lo) <= now < plan_next(hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2, g = plan_next(&j->sched, mid, j->jitter);
        if (g >= 0 && g <= now)
            lo = mid;
        else
            hi = mid;
    }
    return plan_next(&j->sched, lo, j->jitter);
}

/* Hand job j out as a run into *f: 0, or -1 when out of memory. */
static int jb_hand_out(jobs_table *t, jb_job *j, jobs_trigger tr, int attempt,
                       int64_t fire, jobs_fire *f)
{
    memset(f, 0, sizeof *f);
    if (!(f->key = strdup(j->key)) || !(f->source = strdup(j->source)) ||
        (j->item && !(f->item = strdup(j->item)))) {
        jobs_fire_clear(f);
        return -1;
    }
    f->kind = j->kind;
    f->trigger = j->cur_trigger = tr;
    f->attempt = j->cur_attempt = attempt;
    f->fire_ms = j->cur_fire = fire;
    if (tr == JOBS_TRIGGER_MANUAL)
        f->slot_ms = -1;
    else if (tr == JOBS_TRIGGER_CATCH_UP)
        f->slot_ms = jb_latest_fire(j, j->last_fire >= 0 ? j->last_fire
                                                         : fire - 366LL * 86400000, fire);
    else
        f->slot_ms = j->next_fire;
    if (tr == JOBS_TRIGGER_CATCH_UP && f->slot_ms < 0)
        f->slot_ms = fire;
    f->run = j->run = ++t->runs;
    j->cur_started = -1;
    j->state = JB_QUEUED;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */

static uint64_t jb_random(jobs_table *t)
{
    uint64_t z = (t->rng += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

jobs_table *jobs_new(const jobs_settings *st, const jobs_spec *specs, size_t n,
                     int64_t now_ms, uint64_t seed, derr *e)
{
    jobs_table *t = calloc(1, sizeof *t);
    struct timespec ts;

    if (!t) {
        derr_set(e, DSRC_E_INTERNAL, "jobs: out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    if (st)
        t->st = *st;
    else
        jobs_settings_default(&t->st);
    if (seed == 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
    }
    t->rng = seed;
    if (jobs_sync(t, NULL, specs, n, now_ms, NULL, e) != 0) {
        jobs_free(t);
        return NULL;
    }
    return t;
}

void jobs_free(jobs_table *t)
{
    size_t i;
    if (!t)
        return;
    for (i = 0; i < t->n; i++)
        jb_free(t->jobs[i]);
    free(t->jobs);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int jobs_restore(jobs_table *t, const char *key, const jobs_last *last,
                 int64_t now_ms)
{
    jb_job *j;
    int rc = -1;

    pthread_mutex_lock(&t->mu);
    if ((j = jb_find(t, key, NULL)) != NULL && last) {
        free(j->last_msg);
        j->last_msg = last->message ? strdup(last->message) : NULL;
        j->last_fire = last->fire_ms;
        j->last_result = last->result;
        j->last_trigger = last->trigger;
        j->last_attempt = last->attempt;
        j->last_started = last->started_ms;
        j->last_finished = last->finished_ms;
        j->last_status = last->status;
        if (j->state == JB_IDLE && !j->held)
            jb_schedule_from_last(j, now_ms);
        rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Bring kept job `o` to the spec `f` was made from (a reload). */
static void jb_update(jb_job *o, jb_job *f, int64_t now)
{
    int changed = strcmp(o->expr, f->expr) != 0 || o->window != f->window;
    int released = o->held && o->fingerprint != f->fingerprint;
    char *tmp = o->expr;

    o->expr = f->expr;
    f->expr = tmp;
    o->sched = f->sched;
    o->window = f->window;
    o->jitter = f->jitter;
    o->fingerprint = f->fingerprint;
    if (released) {
        free(o->held);
        o->held = NULL;
    }
    if ((changed || released) && o->state == JB_IDLE && !o->held)
        jb_schedule_after(o, now);
}

int jobs_sync(jobs_table *t, const jobs_settings *st, const jobs_spec *specs,
              size_t n, int64_t now_ms, char ***removed, derr *e)
{
    jobs_settings nst;
    jb_job **fresh = NULL, **out = NULL;
    char **rm = NULL, *used = NULL;
    size_t i, k, n_rm = 0, idx;
    int rc = -1;

    pthread_mutex_lock(&t->mu);
    nst = st ? *st : t->st;
    if (removed)
        *removed = NULL;
    fresh = calloc(n + 1, sizeof *fresh);
    out = calloc(n + 1, sizeof *out);
    rm = calloc(t->n + 1, sizeof *rm);
    used = calloc(t->n + 1, 1);
    if (!fresh || !out || !rm || !used) {
        derr_set(e, DSRC_E_INTERNAL, "jobs: out of memory");
        goto done;
    }
    /* everything that can fail, before anything changes */
    for (i = 0; i < n; i++) {
        if (!(fresh[i] = jb_make(&specs[i], &nst, e)))
            goto done;
        for (k = 0; k < i; k++) {
            if (strcmp(fresh[k]->key, fresh[i]->key) == 0) {
                derr_set(e, DSRC_E_INVALID_CONFIG,
                         "two scheduled jobs have the key '%s' (one %s per "
                         "item and source)", fresh[i]->key,
                         jobs_kind_name(fresh[i]->kind));
                goto done;
            }
        }
    }
    for (i = 0; i < n; i++) {
        jb_job *o = jb_find(t, fresh[i]->key, &idx);
        if (o) {
            used[idx] = 1;
            jb_update(o, fresh[i], now_ms);
            out[i] = o;
        } else {
            out[i] = fresh[i];
            fresh[i] = NULL;
            jb_schedule_after(out[i], now_ms);
        }
    }
    for (i = 0; i < t->n; i++) {
        if (used[i])
            continue;
        rm[n_rm++] = t->jobs[i]->key;
        t->jobs[i]->key = NULL;
        jb_free(t->jobs[i]);
    }
    free(t->jobs);
    t->jobs = out;
    out = NULL;
    t->n = n;
    t->st = nst;
    if (removed && n_rm > 0) {
        *removed = rm;
        rm = NULL;
    }
    rc = 0;
done:
    for (i = 0; fresh && i < n; i++)
        jb_free(fresh[i]);
    free(fresh);
    free(out);
    jobs_keys_free(rm);
    free(used);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

size_t jobs_due(jobs_table *t, int64_t now_ms, jobs_fire *out, size_t max)
{
    size_t i, c = 0;
    int64_t fire;

    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->n && c < max; i++) {
        jb_job *j = t->jobs[i];
        if (j->state != JB_IDLE || j->held || j->next_ms < 0 || j->next_ms > now_ms)
            continue;
        /* A catch-up covers every slot up to when it is handed out, also
         * those that passed since it was planned (a slow start). */
        fire = j->next_trigger == JOBS_TRIGGER_CATCH_UP && now_ms > j->next_fire ? now_ms
                                                                                : j->next_fire;
        if (jb_hand_out(t, j, j->next_trigger, j->next_attempt, fire, &out[c]) == 0)
            c++;
    }
    pthread_mutex_unlock(&t->mu);
    return c;
}

int jobs_manual(jobs_table *t, const char *key, int64_t now_ms,
                jobs_fire *out, derr *e)
{
    jb_job *j;
    int rc = 0;

    pthread_mutex_lock(&t->mu);
    if (!(j = jb_find(t, key, NULL))) {
        derr_set(e, DSRC_E_NOT_FOUND, "no scheduled job '%s'", key ? key : "");
        rc = -1;
    } else if (j->state != JB_IDLE) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "job '%s' is busy: already %s",
                 key, j->state == JB_QUEUED ? "queued" : "running");
        rc = -2;
    } else if (jb_hand_out(t, j, JOBS_TRIGGER_MANUAL, 1, now_ms, out) != 0) {
        derr_set(e, DSRC_E_INTERNAL, "jobs: out of memory");
        rc = -1;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int jobs_started(jobs_table *t, const jobs_fire *f, int64_t now_ms)
{
    jb_job *j;
    int rc = -1;

    pthread_mutex_lock(&t->mu);
    if ((j = jb_find_run(t, f)) != NULL && j->state == JB_QUEUED) {
        j->state = JB_RUNNING;
        j->cur_started = now_ms;
        rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Record the run in flight as j's last one. */
static void jb_record(jb_job *j, int64_t now, jobs_result r, const derr *err)
{
    j->last_result = r;
    j->last_trigger = j->cur_trigger;
    j->last_attempt = j->cur_attempt;
    j->last_started = j->cur_started;
    j->last_finished = now;
    if (r == JOBS_FAILED)
        j->last_status = err && err->status != DSRC_OK ? err->status : DSRC_E_INTERNAL;
    else
        j->last_status = r == JOBS_CANCELLED ? DSRC_E_CANCELLED : DSRC_OK;
    free(j->last_msg);
    j->last_msg = r != JOBS_SUCCEEDED && err && err->msg ? strdup(err->msg) : NULL;
}

/* Put j on hold for its last failure; 1 when it was not held before.  Out
 * of memory, it stays scheduled instead. */
static int jb_hold(jb_job *j, int64_t now)
{
    const char *msg = j->last_msg ? j->last_msg : "no message";
    size_t n = strlen(msg) + 32;
    char *why = malloc(n);
    int fresh = j->held == NULL;

    if (!why) {
        if (!j->held)
            jb_schedule_after(j, now);
        return 0;
    }
    snprintf(why, n, "%s: %s", error_status_name(j->last_status), msg);
    free(j->held);
    j->held = why;
    jb_set_next(j, -1, JOBS_TRIGGER_SCHEDULE, 1, -1);
    return fresh;
}

/* The next due after a manual run: the schedule goes on as it was, except
 * that a success ends a hold and a pending retry. */
static int jb_after_manual(jb_job *j, int64_t now, jobs_result r)
{
    if (r == JOBS_SUCCEEDED) {
        j->failures = 0;
        if (j->held || j->next_trigger == JOBS_TRIGGER_RETRY || j->next_ms < 0) {
            free(j->held);
            j->held = NULL;
            jb_schedule_after(j, now);
        }
        return 0;
    }
    if (r == JOBS_FAILED) {
        j->failures++;
        if (jobs_status_holds(j->last_status))
            return jb_hold(j, now);
    }
    return 0;
}

/* The next due after a scheduled, catch-up or retry run. */
static int jb_after_cycle(jobs_table *t, jb_job *j, int64_t now, jobs_result r,
                          const derr *err)
{
    const jobs_settings *st = &t->st;

    if (r == JOBS_SUCCEEDED) {
        j->failures = 0;
        j->last_fire = j->cur_fire;
        jb_schedule_from_last(j, now);
        return 0;
    }
    if (r == JOBS_FAILED) {
        j->failures++;
        if (err && err->retryable && !jobs_status_holds(j->last_status) &&
            j->cur_attempt < st->retry_max_attempts) {
            int64_t d = plan_backoff_ms(j->cur_attempt, st->retry_base_ms,
                                        st->retry_max_ms, jb_random(t));
            jb_set_next(j, now + d, JOBS_TRIGGER_RETRY, j->cur_attempt + 1,
                        j->cur_fire);
            return 0;
        }
    }
    j->last_fire = j->cur_fire;
    if (r == JOBS_FAILED && jobs_status_holds(j->last_status))
        return jb_hold(j, now);
    jb_schedule_after(j, now);
    return 0;
}

int jobs_finished(jobs_table *t, const jobs_fire *f, int64_t now_ms,
                  jobs_result r, const derr *err, jobs_after *after)
{
    jb_job *j;
    int held;

    pthread_mutex_lock(&t->mu);
    if (!(j = jb_find_run(t, f))) {
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    if (r != JOBS_SUCCEEDED && r != JOBS_CANCELLED)
        r = JOBS_FAILED;
    jb_record(j, now_ms, r, err);
    if (j->cur_trigger == JOBS_TRIGGER_MANUAL)
        held = jb_after_manual(j, now_ms, r);
    else
        held = jb_after_cycle(t, j, now_ms, r, err);
    j->state = JB_IDLE;
    j->run = 0;
    if (after) {
        after->next_ms = j->next_ms;
        after->trigger = j->next_trigger;
        after->attempt = j->next_attempt;
        after->held = held;
    }
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int jobs_taken(jobs_table *t, const jobs_fire *f, int64_t now_ms)
{
    jb_job *j;

    pthread_mutex_lock(&t->mu);
    if (!(j = jb_find_run(t, f))) {
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    /* the slot is covered: as if this table had run it, without a result */
    if (j->cur_trigger != JOBS_TRIGGER_MANUAL && j->cur_fire >= 0)
        j->last_fire = j->cur_fire;
    jb_schedule_after(j, now_ms > j->cur_fire ? now_ms : j->cur_fire);
    j->state = JB_IDLE;
    j->run = 0;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int64_t jobs_next_due(jobs_table *t)
{
    int64_t best = -1;
    size_t i;

    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->n; i++) {
        const jb_job *j = t->jobs[i];
        if (j->state == JB_IDLE && !j->held && j->next_ms >= 0 &&
            (best < 0 || j->next_ms < best))
            best = j->next_ms;
    }
    pthread_mutex_unlock(&t->mu);
    return best;
}

size_t jobs_count(jobs_table *t, int *queued, int *running, int *held)
{
    int q = 0, r = 0, h = 0;
    size_t i, n;

    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->n; i++) {
        q += t->jobs[i]->state == JB_QUEUED;
        r += t->jobs[i]->state == JB_RUNNING;
        h += t->jobs[i]->held != NULL;
    }
    n = t->n;
    pthread_mutex_unlock(&t->mu);
    if (queued)
        *queued = q;
    if (running)
        *running = r;
    if (held)
        *held = h;
    return n;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */

static json_t *jb_time(int64_t ms)
{
    char buf[32];
    return ms < 0 ? json_null() : json_string(plan_iso(ms, buf));
}

static json_t *jb_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *jb_state_name(const jb_job *j)
{
    if (j->state == JB_QUEUED)
        return "queued";
    if (j->state == JB_RUNNING)
        return "running";
    if (j->held)
        return "held";
    return j->next_ms < 0 ? "idle" : "scheduled";
}

static json_t *jb_last_json(const jb_job *j)
{
    if (j->last_result == JOBS_NONE)
        return json_null();
    return json_pack("{s:s, s:i, s:o, s:o, s:s, s:s, s:o}",
                     "trigger", jobs_trigger_name(j->last_trigger),
                     "attempt", j->last_attempt,
                     "started", jb_time(j->last_started),
                     "finished", jb_time(j->last_finished),
                     "result", jobs_result_name(j->last_result),
                     "status", error_status_name(j->last_status),
                     "message", jb_str(j->last_msg));
}

static json_t *jb_json(const jb_job *j)
{
    int idle = j->state == JB_IDLE;
    int has_next = idle && !j->held && j->next_ms >= 0;

    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:i, s:i, s:o, s:o}",
                     "key", j->key, "source", j->source,
                     "kind", jobs_kind_name(j->kind),
                     "item", jb_str(j->item),
                     "schedule", j->expr,
                     "state", jb_state_name(j),
                     "next", jb_time(has_next ? j->next_ms : -1),
                     "next_trigger",
                     has_next ? json_string(jobs_trigger_name(j->next_trigger))
                              : json_null(),
                     "attempt", idle ? j->next_attempt : j->cur_attempt,
                     "failures", j->failures,
                     "held", jb_str(j->held),
                     "last", jb_last_json(j));
}

json_t *jobs_json(jobs_table *t, const char *source)
{
    json_t *arr = json_array(), *o;
    size_t i;

    if (!arr)
        return NULL;
    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->n; i++) {
        if (source && strcmp(t->jobs[i]->source, source) != 0)
            continue;
        if (!(o = jb_json(t->jobs[i])) || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return arr;
}

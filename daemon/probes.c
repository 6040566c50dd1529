/* SPDX-License-Identifier: Apache-2.0 */
/* probes.c -- see probes.h */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "probes.h"

#define PROBERS_MAX 4

enum { PJ_QUEUED, PJ_RUNNING, PJ_DONE };

typedef struct probe_job {
    health_monitor *hl;           /* identifies the source's job                 */
    router_source *rt;
    int probe;                /* probe health too (else maintenance only)    */
    int state;
    int probing;              /* running: in the probe (else maintenance)    */
    int64_t started_ms;       /* running: since when (monotonic)             */
    int overdue;              /* past probe_timeout: its thread was replaced */
} probe_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;      /* a job was queued, or quit                    */
    pthread_cond_t done;      /* a job finished, or a thread ended            */
    int n_th;                 /* threads alive, stuck ones included           */
    int threaded;             /* probes_start() started threads (main only)  */
    int64_t limit_ms;         /* probe_timeout (main thread only)             */
    probe_job *jobs;
    size_t n_jobs, cap;
    int quit;
} probers = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
             0, 0, 30000, NULL, 0, 0, 0};

static probe_job *probe_find(const health_monitor *hl)
{
    size_t i;
    for (i = 0; i < probers.n_jobs; i++)
        if (probers.jobs[i].hl == hl)
            return &probers.jobs[i];
    return NULL;
}

static void probe_remove(probe_job *j)
{
    *j = probers.jobs[--probers.n_jobs];
}

/* Mark the job of hl (if any) as probing health.  Under probers.mu. */
static void probe_phase_locked(const health_monitor *hl)
{
    probe_job *j = probe_find(hl);
    if (j)
        j->probing = 1;
}

static void *prober_main(void *arg)
{
    int replaced = 0;

    (void)arg;
    pthread_mutex_lock(&probers.mu);
    while (!replaced && !probers.quit) {
        probe_job *j = NULL;
        health_monitor *hl;
        router_source *rt;
        int probe;
        size_t i;
        for (i = 0; i < probers.n_jobs && !j; i++)
            if (probers.jobs[i].state == PJ_QUEUED)
                j = &probers.jobs[i];
        if (!j) {
            pthread_cond_wait(&probers.work, &probers.mu);
            continue;
        }
        j->state = PJ_RUNNING;
        j->probing = 0;
        j->overdue = 0;
        j->started_ms = pool_clock_monotonic(NULL);
        hl = j->hl;
        rt = j->rt;
        probe = j->probe;
        pthread_mutex_unlock(&probers.mu);
        router_maintain(rt);
        if (probe) {
            pthread_mutex_lock(&probers.mu);
            probe_phase_locked(hl);
            pthread_mutex_unlock(&probers.mu);
            health_probe(hl);
        }
        pthread_mutex_lock(&probers.mu);
        /* the table may have moved: find the job again (a running job is
         * never removed) */
        if ((j = probe_find(hl)) != NULL) {
            j->state = PJ_DONE;
            replaced = j->overdue;
        }
    }
    probers.n_th--;
    pthread_cond_broadcast(&probers.done);
    pthread_mutex_unlock(&probers.mu);
    return NULL;
}

/* One more (detached) prober thread.  Under probers.mu; 0 or -1. */
static int prober_spawn_locked(void)
{
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, prober_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    probers.n_th++;
    return 0;
}

void probes_start(int64_t limit_ms)
{
    int i;

    probers.quit = 0;
    probers.limit_ms = limit_ms;
    pthread_mutex_lock(&probers.mu);
    for (i = 0; i < PROBERS_MAX; i++)
        if (prober_spawn_locked() != 0)
            break;
    probers.threaded = probers.n_th > 0;
    pthread_mutex_unlock(&probers.mu);
    if (!probers.threaded)
        log_msg(DSRC_LOG_WARNING, NULL, NULL,
                "cannot start prober threads; health probes run on the main thread");
}

int probes_stop(int64_t grace_ms)
{
    struct timespec end;
    int64_t ns;
    int rc;

    clock_gettime(CLOCK_REALTIME, &end);
    ns = (int64_t)end.tv_nsec + grace_ms * 1000000;
    end.tv_sec += (time_t)(ns / 1000000000);
    end.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&probers.mu);
    probers.quit = 1;
    pthread_cond_broadcast(&probers.work);
    while (probers.n_th > 0)
        if (pthread_cond_timedwait(&probers.done, &probers.mu, &end) == ETIMEDOUT)
            break;
    rc = probers.n_th > 0 ? -1 : 0;
    pthread_mutex_unlock(&probers.mu);
    return rc;
}

int probes_submit(health_monitor *hl, router_source *rt, int probe)
{
    int queued = 0;

    if (!probers.threaded) {
        router_maintain(rt);
        if (probe)
            health_probe(hl);
        return 1;
    }
    pthread_mutex_lock(&probers.mu);
    if (!probe_find(hl)) {
        if (probers.n_jobs == probers.cap) {
            size_t cap = probers.cap ? probers.cap * 2 : 16;
            probe_job *v = realloc(probers.jobs, cap * sizeof *v);
            if (v) {
                probers.jobs = v;
                probers.cap = cap;
            }
        }
        if (probers.n_jobs < probers.cap) {
            probe_job *j = &probers.jobs[probers.n_jobs++];
            memset(j, 0, sizeof *j);
            j->hl = hl;
            j->rt = rt;
            j->probe = probe;
            j->state = PJ_QUEUED;
            pthread_cond_signal(&probers.work);
            queued = 1;
        }
    }
    pthread_mutex_unlock(&probers.mu);
    return queued;
}

int probes_collect(health_monitor *hl)
{
    probe_job *j;
    int done = -1;

    pthread_mutex_lock(&probers.mu);
    if ((j = probe_find(hl)) && j->state == PJ_DONE) {
        done = j->probe;
        probe_remove(j);
    }
    pthread_mutex_unlock(&probers.mu);
    return done;
}

int probes_watch(health_monitor *hl, int *probing)
{
    probe_job *j;
    int r = 0;

    pthread_mutex_lock(&probers.mu);
    if ((j = probe_find(hl)) && j->state == PJ_RUNNING) {
        *probing = j->probing;
        if (j->overdue) {
            r = 2;
        } else if (pool_clock_monotonic(NULL) - j->started_ms >= probers.limit_ms) {
            j->overdue = 1;
            r = 1;
            if (!probers.quit && prober_spawn_locked() != 0)
                log_msg(DSRC_LOG_WARNING, NULL, NULL,
                        "cannot start a prober thread to replace a stuck one");
        }
    }
    pthread_mutex_unlock(&probers.mu);
    return r;
}

int probes_running(health_monitor *hl)
{
    probe_job *j;
    int r;

    pthread_mutex_lock(&probers.mu);
    r = (j = probe_find(hl)) && j->state == PJ_RUNNING;
    pthread_mutex_unlock(&probers.mu);
    return r;
}

int probes_forget(health_monitor *hl)
{
    probe_job *j;
    int rc = 0;

    pthread_mutex_lock(&probers.mu);
    if ((j = probe_find(hl)) && j->state == PJ_RUNNING)
        rc = -1;
    else if (j)
        probe_remove(j);
    pthread_mutex_unlock(&probers.mu);
    return rc;
}

int probes_threaded(void)
{
    return probers.threaded;
}

int64_t probes_limit_ms(void)
{
    return probers.limit_ms;
}

void probes_set_limit(int64_t limit_ms)
{
    probers.limit_ms = limit_ms;
}

void probes_free(void)
{
    free(probers.jobs);
    probers.jobs = NULL;
    probers.n_jobs = probers.cap = 0;
}

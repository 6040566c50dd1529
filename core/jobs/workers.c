/* SPDX-License-Identifier: Apache-2.0 */
/* workers.c -- worker threads with a global and a per-key limit (see
 * workers.h).
 *
 * One queue of tasks in submission order; a free thread takes the first
 * task whose key is under its limit, so tasks of one key keep their order
 * and a key at its limit is skipped, not waited for.  A key's record
 * lives while it has queued or running tasks or a limit of its own. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/workers.h"

typedef struct wk_key {
    char *name;
    int queued, running;
    int limit;                  /* 0: the pool's per_key */
    struct wk_key *next;
} wk_key;

typedef struct wk_task {
    wk_key *key;
    workers_fn fn, free_arg;
    void *arg;
    struct wk_task *next;
} wk_task;

struct workers {
    pthread_mutex_t mu;
    pthread_cond_t work;        /* a task was queued, a limit rose, stop   */
    pthread_cond_t idle;        /* a task returned (CLOCK_MONOTONIC)       */
    pthread_t *threads;
    int n_threads;
    int per_key;
    int stopping;
    wk_task *head, *tail;
    wk_key *keys;
    int queued, running;
    int64_t next_id;
};

/* ------------------------------------------------------------------------ */
/* Keys and the queue (under mu)                                             */

static wk_key *wk_find(workers *w, const char *name)
{
    wk_key *k;
    for (k = w->keys; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* The record of `name`, made when missing; NULL when out of memory. */
static wk_key *wk_get(workers *w, const char *name)
{
    wk_key *k = wk_find(w, name);
    if (k)
        return k;
    k = calloc(1, sizeof *k);
    if (!k || !(k->name = strdup(name))) {
        free(k);
        return NULL;
    }
    k->next = w->keys;
    w->keys = k;
    return k;
}

/* Free k's record when nothing refers to it any more. */
static void wk_put(workers *w, wk_key *k)
{
    wk_key **pp;
    if (k->queued || k->running || k->limit)
        return;
    for (pp = &w->keys; *pp; pp = &(*pp)->next) {
        if (*pp == k) {
            *pp = k->next;
            free(k->name);
            free(k);
            return;
        }
    }
}

static int wk_limit(const workers *w, const wk_key *k)
{
    return k->limit > 0 ? k->limit : w->per_key;
}

/* Unlink the queued tasks of `only` (of every key when NULL) and return
 * them as a list, in order; counts are updated and keys left without
 * anything released (the tasks' key pointers must not be used after). */
static wk_task *wk_take(workers *w, wk_key *only)
{
    wk_task **pp = &w->head, *out = NULL, **outp = &out, *t;

    w->tail = NULL;
    while ((t = *pp) != NULL) {
        if (only && t->key != only) {
            w->tail = t;
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        t->next = NULL;
        *outp = t;
        outp = &t->next;
        w->queued--;
        if (--t->key->queued == 0)
            wk_put(w, t->key); /* its last queued task: none follows */
    }
    return out;
}

/* Free dropped tasks (outside mu); returns how many there were. */
static int wk_discard(wk_task *t)
{
    int n = 0;
    while (t) {
        wk_task *next = t->next;
        if (t->free_arg)
            t->free_arg(t->arg);
        free(t);
        t = next;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Worker threads                                                            */

/* The first queued task whose key is under its limit, unlinked; NULL. */
static wk_task *wk_pick(workers *w)
{
    wk_task **pp, *t, *prev = NULL;

    for (pp = &w->head; (t = *pp) != NULL; prev = t, pp = &t->next) {
        if (t->key->running >= wk_limit(w, t->key))
            continue;
        *pp = t->next;
        t->next = NULL;
        if (w->tail == t)
            w->tail = prev;
        t->key->queued--;
        t->key->running++;
        w->queued--;
        w->running++;
        return t;
    }
    return NULL;
}

static void *wk_main(void *arg)
{
    workers *w = arg;
    wk_task *t;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        if ((t = wk_pick(w)) == NULL) {
            if (w->stopping)
                break;
            pthread_cond_wait(&w->work, &w->mu);
            continue;
        }
        if (w->queued > 0)
            pthread_cond_signal(&w->work); /* maybe another one can start */
        pthread_mutex_unlock(&w->mu);
        t->fn(t->arg);
        pthread_mutex_lock(&w->mu);
        t->key->running--;
        w->running--;
        wk_put(w, t->key);
        pthread_cond_broadcast(&w->idle);
        pthread_mutex_unlock(&w->mu);
        wk_discard(t); /* free_arg: the task no longer counts as running */
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Interface                                                                 */

/* Tell the threads to end and join the first n of them. */
static void wk_join(workers *w, int n)
{
    int i;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < n; i++)
        pthread_join(w->threads[i], NULL);
}

workers *workers_new(int n_workers, int per_key, derr *e)
{
    workers *w;
    pthread_condattr_t ca;
    int i, rc;

    if (n_workers < 1 || per_key < 1) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT,
                 "workers: need at least one worker and one task per source "
                 "(got %d workers, %d per source)", n_workers, per_key);
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (!w || !(w->threads = calloc((size_t)n_workers, sizeof *w->threads))) {
        free(w);
        derr_set(e, DSRC_E_INTERNAL, "workers: out of memory");
        return NULL;
    }
    w->per_key = per_key;
    w->next_id = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->idle, &ca);
    pthread_condattr_destroy(&ca);
    for (i = 0; i < n_workers; i++) {
        rc = pthread_create(&w->threads[i], NULL, wk_main, w);
        if (rc != 0) {
            derr_set(e, DSRC_E_INTERNAL,
                     "workers: cannot start worker thread %d of %d: %s",
                     i + 1, n_workers, strerror(rc));
            wk_join(w, i);
            w->n_threads = 0;
            workers_free(w);
            return NULL;
        }
        w->n_threads = i + 1;
    }
    return w;
}

int64_t workers_submit(workers *w, const char *key, workers_fn fn, void *arg,
                       workers_fn free_arg)
{
    wk_task *t;
    int64_t id = -1;

    if (!key || !fn || !(t = calloc(1, sizeof *t)))
        return -1;
    t->fn = fn;
    t->free_arg = free_arg;
    t->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (!w->stopping && (t->key = wk_get(w, key)) != NULL) {
        t->key->queued++;
        w->queued++;
        if (w->tail)
            w->tail->next = t;
        else
            w->head = t;
        w->tail = t;
        id = w->next_id++;
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&w->mu);
    if (id < 0)
        free(t);
    return id;
}

int workers_drop_key(workers *w, const char *key)
{
    wk_task *dropped = NULL;
    wk_key *k;

    pthread_mutex_lock(&w->mu);
    if (key && (k = wk_find(w, key)) != NULL)
        dropped = wk_take(w, k);
    pthread_mutex_unlock(&w->mu);
    return wk_discard(dropped);
}

void workers_set_limit(workers *w, const char *key, int n)
{
    wk_key *k;

    if (!key)
        return;
    pthread_mutex_lock(&w->mu);
    if (n > 0 && (k = wk_get(w, key)) != NULL) {
        k->limit = n;
        pthread_cond_broadcast(&w->work);
    } else if (n <= 0 && (k = wk_find(w, key)) != NULL) {
        k->limit = 0;
        pthread_cond_broadcast(&w->work);
        wk_put(w, k);
    }
    pthread_mutex_unlock(&w->mu);
}

void workers_count(workers *w, const char *key, int *queued, int *running)
{
    int q = 0, r = 0;
    wk_key *k;

    pthread_mutex_lock(&w->mu);
    if (!key) {
        q = w->queued;
        r = w->running;
    } else if ((k = wk_find(w, key)) != NULL) {
        q = k->queued;
        r = k->running;
    }
    pthread_mutex_unlock(&w->mu);
    if (queued)
        *queued = q;
    if (running)
        *running = r;
}

int workers_stop(workers *w, int64_t grace_ms)
{
    wk_task *dropped;
    struct timespec end;
    int n;

    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work);
    dropped = wk_take(w, NULL);
    pthread_mutex_unlock(&w->mu);
    wk_discard(dropped);

    clock_gettime(CLOCK_MONOTONIC, &end);
    if (grace_ms > 0) {
        end.tv_sec += (time_t)(grace_ms / 1000);
        end.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
        if (end.tv_nsec >= 1000000000L) {
            end.tv_sec++;
            end.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&w->mu);
    while (w->running > 0 && grace_ms != 0) {
        if (grace_ms < 0)
            pthread_cond_wait(&w->idle, &w->mu);
        else if (pthread_cond_timedwait(&w->idle, &w->mu, &end) == ETIMEDOUT)
            break;
    }
    n = w->running;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void workers_free(workers *w)
{
    wk_key *k;

    if (!w)
        return;
    workers_stop(w, -1);
    wk_join(w, w->n_threads);
    while ((k = w->keys) != NULL) {
        w->keys = k->next;
        free(k->name);
        free(k);
    }
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* units.c -- see units.h */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "plugin/loader.h"
#include "probes.h"
#include "scheduler.h"
#include "units.h"

#define DEFAULT_HEALTH_SCHEDULE "@every 30s"

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int values_eq(const cfg_value *a, size_t na, const cfg_value *b, size_t nb)
{
    size_t i;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].text, b[i].text))
            return 0;
    return 1;
}

/* 1 when a router built for `a` also serves `b` once given b's pool knobs:
 * the same plugin and everything that decides the endpoints and how they
 * are reached. */
static int same_endpoints(const registry_source *a, const registry_source *b)
{
    const cfg_source *x = a->cfg, *y = b->cfg;
    size_t i;

    if (a->plugin != b->plugin || a->n_options != b->n_options ||
        !str_eq(a->key_file, b->key_file))
        return 0;
    for (i = 0; i < a->n_options; i++)
        if (a->options[i].def != b->options[i].def ||
            !str_eq(a->options[i].value, b->options[i].value))
            return 0;
    if (!str_eq(x->type, y->type) || x->location != y->location ||
        !str_eq(x->cloud_provider, y->cloud_provider) ||
        !values_eq(x->cloud, x->n_cloud, y->cloud, y->n_cloud) ||
        !values_eq(x->connection, x->n_connection, y->connection, y->n_connection) ||
        !str_eq(x->tls_mode, y->tls_mode) || !str_eq(x->tls_ca, y->tls_ca) ||
        !str_eq(x->tls_cert, y->tls_cert) || !str_eq(x->tls_key, y->tls_key) ||
        !str_eq(x->tls_key_passphrase, y->tls_key_passphrase) ||
        !str_eq(x->replica_set, y->replica_set) || !str_eq(x->read_policy, y->read_policy) ||
        x->n_replica_hosts != y->n_replica_hosts)
        return 0;
    for (i = 0; i < x->n_replica_hosts; i++)
        if (!str_eq(x->replica_hosts[i], y->replica_hosts[i]))
            return 0;
    return 1;
}

static int pool_eq(const cfg_pool *a, const cfg_pool *b)
{
    return a->max_size == b->max_size && a->min_idle == b->min_idle &&
           a->acquire_timeout_ms == b->acquire_timeout_ms &&
           a->idle_timeout_ms == b->idle_timeout_ms &&
           a->max_lifetime_ms == b->max_lifetime_ms && a->keepalive_ms == b->keepalive_ms &&
           a->validate_after_ms == b->validate_after_ms &&
           a->leak_threshold_ms == b->leak_threshold_ms;
}

static void unit_release(unit *u)
{
    health_free(u->hl);
    tlswatch_free(u->tw);
    router_free(u->rt);
    free(u->brk);
    gen_unref(u->gen);
    memset(u, 0, sizeof *u);
}

/* Units no longer served whose job still runs (a reload dropped them while
 * a plugin call hangs): released once it returns.  Main thread only. */
static struct {
    unit *v;
    size_t n, cap;
} orphans;

/* The uses of units_use(), under their own lock. */
static pthread_mutex_t uses_mu = PTHREAD_MUTEX_INITIALIZER;
static unit_use *uses;

void units_use(unit_use *u, const router_source *rt)
{
    u->rt = rt;
    pthread_mutex_lock(&uses_mu);
    u->next = uses;
    uses = u;
    pthread_mutex_unlock(&uses_mu);
}

void units_unuse(unit_use *u)
{
    unit_use **pp;

    pthread_mutex_lock(&uses_mu);
    for (pp = &uses; *pp; pp = &(*pp)->next)
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    pthread_mutex_unlock(&uses_mu);
}

static int units_used(const router_source *rt)
{
    const unit_use *u;
    int used = 0;

    pthread_mutex_lock(&uses_mu);
    for (u = uses; u && !used; u = u->next)
        used = u->rt == rt;
    pthread_mutex_unlock(&uses_mu);
    return used;
}

/* 1 while a probe, a run or an API call still uses the unit. */
static int unit_busy(unit *u)
{
    int probing = u->hl && probes_forget(u->hl) != 0;

    return probing || scheduler_uses(u->rt) || units_used(u->rt);
}

static void unit_free(unit *u)
{
    if (unit_busy(u)) {
        if (orphans.n == orphans.cap) {
            size_t cap = orphans.cap ? orphans.cap * 2 : 8;
            unit *v = realloc(orphans.v, cap * sizeof *v);
            if (!v) {
                /* kept for good rather than freed under a running job */
                log_msg(DSRC_LOG_WARNING, u->src->cfg->name, NULL,
                        "out of memory: its router is kept until dsrcd stops");
                memset(u, 0, sizeof *u);
                return;
            }
            orphans.v = v;
            orphans.cap = cap;
        }
        orphans.v[orphans.n++] = *u;
        memset(u, 0, sizeof *u);
        return;
    }
    unit_release(u);
}

/* One interval of schedule s (as it runs after `now`), in ms; 0 when the
 * schedule does not tell. */
static int64_t sched_interval_ms(const schedule_spec *s, time_t now)
{
    time_t a = schedule_next(s, now), b = a == (time_t)-1 ? a : schedule_next(s, a);

    if (a == (time_t)-1 || b == (time_t)-1 || b <= a)
        return 0;
    return (int64_t)(b - a) * 1000;
}

/* The health schedule of `cs` (already checked by the configuration). */
static void unit_schedule(unit *u, const cfg_source *cs)
{
    const char *expr = cs->schedule_health ? cs->schedule_health : DEFAULT_HEALTH_SCHEDULE;
    const char *why = NULL;
    int64_t interval;

    if (schedule_parse(expr, &u->health, &why) != 0) {
        log_msg(DSRC_LOG_WARNING, cs->name, NULL,
                "schedule.health '%s': %s; probing every 30 s", expr, why ? why : "invalid");
        schedule_parse(DEFAULT_HEALTH_SCHEDULE, &u->health, NULL);
    }
    /* health older than two intervals is stale; a wrong password is tried
     * once an interval */
    interval = sched_interval_ms(&u->health, time(NULL));
    if (u->hl)
        health_set_stale_after(u->hl, 2 * interval);
    if (u->rt)
        router_set_auth_cooldown(u->rt, interval);
}

/* A unit for source `s` of generation `g`.  0, or -1 (logged). */
static int unit_new(unit *u, generation *g, const registry_source *s)
{
    derr e = {0};

    memset(u, 0, sizeof *u);
    if (!(u->rt = router_new(s, NULL, &e))) {
        log_msg(DSRC_LOG_ERROR, s->cfg->name, NULL, "not served: %s",
                e.msg ? e.msg : "out of memory");
        derr_clear(&e);
        return -1;
    }
    u->n_ep = router_n_endpoints(u->rt);
    if (!(u->hl = health_new(u->rt, NULL, NULL, NULL)) ||
        !(u->brk = calloc(u->n_ep ? u->n_ep : 1, sizeof *u->brk))) {
        log_msg(DSRC_LOG_ERROR, s->cfg->name, NULL, "not served: out of memory");
        health_free(u->hl);
        router_free(u->rt);
        memset(u, 0, sizeof *u);
        return -1;
    }
    if (s->cfg->tls_ca || s->cfg->tls_cert || s->cfg->tls_key) {
        if (!(u->tw = tlswatch_new(s->cfg->tls_ca, s->cfg->tls_cert, s->cfg->tls_key,
                                   s->cfg->tls_key_passphrase)))
            log_msg(DSRC_LOG_WARNING, s->cfg->name, NULL,
                    "out of memory: its TLS files are not watched");
    }
    u->gen = g;
    g->refs++;
    u->src = s;
    u->pool = s->cfg->pool;
    u->status = HEALTH_UNKNOWN;
    u->next_probe = 0; /* probe at the first tick */
    unit_schedule(u, s->cfg);
    return 0;
}

int units_build(generation *g, unit *old, size_t n_old, unit **out, size_t *n_out)
{
    unit *v = calloc(g->reg->n_sources ? g->reg->n_sources : 1, sizeof *v);
    size_t i, j, n = 0;

    *out = v;
    *n_out = 0;
    if (!v)
        return -1;
    for (i = 0; i < g->reg->n_sources; i++) {
        const registry_source *s = &g->reg->sources[i];
        unit *carry = NULL;

        for (j = 0; j < n_old; j++)
            if (old[j].rt && strcmp(old[j].src->cfg->name, s->cfg->name) == 0) {
                if (same_endpoints(old[j].src, s))
                    carry = &old[j];
                break;
            }
        if (carry) {
            v[n] = *carry;
            memset(carry, 0, sizeof *carry);
            if (!pool_eq(&v[n].pool, &s->cfg->pool)) {
                router_reconfigure(v[n].rt, &s->cfg->pool);
                v[n].pool = s->cfg->pool;
                log_msg(DSRC_LOG_NOTICE, s->cfg->name, NULL,
                        "pool reconfigured: max_size %d, min_idle %d", s->cfg->pool.max_size,
                        s->cfg->pool.min_idle);
            }
            unit_schedule(&v[n], s->cfg);
            v[n].next_probe = 0;
            n++;
        } else if (unit_new(&v[n], g, s) == 0) {
            n++;
        }
    }
    *n_out = n;
    return 0;
}

void units_free(unit *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        unit_free(&v[i]);
    free(v);
}

/* Log breaker and health status changes of u. */
static void unit_log_changes(unit *u, int probed)
{
    const char *name = u->src->cfg->name;
    size_t i;

    for (i = 0; i < u->n_ep; i++) {
        breaker_info bi;
        breaker_get(router_breaker(u->rt, (int)i), &bi);
        if (bi.state != u->brk[i]) {
            const char *label = pool_label(router_pool(u->rt, (int)i));
            if (bi.state == BREAKER_OPEN)
                log_msg_id(DSRC_LOG_WARNING, name, NULL, LOG_MID_BREAKER_OPEN,
                        "%s: circuit breaker open for %lld ms after %d failure(s): %s", label,
                        (long long)bi.cooldown_ms, bi.consecutive_failures,
                        bi.last_error.msg ? bi.last_error.msg : "unknown error");
            else if (bi.state == BREAKER_CLOSED)
                log_msg(DSRC_LOG_NOTICE, name, NULL, "%s: circuit breaker closed", label);
            else
                log_msg(DSRC_LOG_INFO, name, NULL, "%s: circuit breaker half-open (probing)",
                        label);
            u->brk[i] = bi.state;
        }
        derr_clear(&bi.last_error);
    }
    if (probed) {
        health_report rep;
        if (health_report_get(u->hl, &rep) == 0) {
            if (rep.status != u->status) {
                const char *why = NULL;
                for (i = 0; i < rep.n_endpoints && !why; i++)
                    if (rep.endpoints[i].status != HEALTH_HEALTHY && rep.endpoints[i].last_error)
                        why = rep.endpoints[i].last_error;
                log_msg_id(rep.status == HEALTH_DOWN ? DSRC_LOG_ERROR
                           : rep.status == HEALTH_DEGRADED ? DSRC_LOG_WARNING : DSRC_LOG_NOTICE,
                           name, NULL,
                           rep.status == HEALTH_DOWN      ? LOG_MID_SOURCE_DOWN
                           : rep.status == HEALTH_HEALTHY ? LOG_MID_SOURCE_UP : NULL,
                           "health: %s -> %s%s%s", health_status_name(u->status),
                           health_status_name(rep.status), why ? ": " : "", why ? why : "");
                u->status = rep.status;
            }
            health_report_free(&rep);
        }
    }
}

/* On the health interval: check the source's TLS files.  A changed set
 * that is valid recycles the pools (borrowed connections finish first); a
 * refused one keeps them and makes the source degraded. */
static void unit_tls(unit *u, time_t now)
{
    const char *name = u->src->cfg->name, *err;
    int had_error;
    tlsw_result r;

    if (!u->tw)
        return;
    had_error = tlswatch_error(u->tw) != NULL;
    r = tlswatch_check(u->tw, now);
    err = tlswatch_error(u->tw);
    if (r == TLSW_CHANGED) {
        router_recycle(u->rt);
        log_msg(DSRC_LOG_NOTICE, name, NULL,
                "TLS file(s) changed: %s: pools recycled (idle connections closed, borrowed "
                "ones closed when returned)",
                tlswatch_changed(u->tw));
    } else if (r == TLSW_BROKEN && !had_error) {
        log_msg(DSRC_LOG_WARNING, name, NULL,
                "TLS file(s) refused, the pools keep their connections: %s",
                err ? err : "unknown error");
    }
    if (had_error && !err)
        log_msg(DSRC_LOG_NOTICE, name, NULL, "TLS files valid again");
    health_set_tls(u->hl, err, tlswatch_days(u->tw, TLSW_CA), tlswatch_days(u->tw, TLSW_CERT));
}

static void unit_next_probe(unit *u, time_t now)
{
    u->next_probe = schedule_next(&u->health, now);
    if (u->next_probe == (time_t)-1)
        u->next_probe = now + 30;
}

/* Watch u's running job against probe_timeout.  When it has just overrun,
 * or still hangs when a probe is due, it counts as a failed probe (the
 * call is asked to stop) and the source waits for its next interval.  1
 * when a sample was recorded. */
static int unit_watch(unit *u, int due, time_t now)
{
    int probing = 0, w = probes_watch(u->hl, &probing);
    const char *what = probing ? "health probe" : "pool maintenance";
    char limit[32];
    derr e = {0};

    if (w == 0 || (w == 2 && !due))
        return 0;
    snprintf(limit, sizeof limit, "%.1f s", (double)probes_limit_ms() / 1000.0);
    derr_set(&e, DSRC_E_TIMEOUT, "%s did not return within probe_timeout (%s)", what, limit);
    health_overrun(u->hl, &e);
    if (!probing)
        router_cancel_maintenance(u->rt);
    if (w == 1)
        log_msg(DSRC_LOG_WARNING, u->src->cfg->name, loader_name(u->src->plugin),
                "%s did not return within probe_timeout (%s): counted as failed, cancel "
                "asked; the source is probed again once the call returns", what, limit);
    derr_clear(&e);
    if (due)
        unit_next_probe(u, now);
    return 1;
}

void units_reap(void)
{
    size_t i = 0;
    int probing;

    while (i < orphans.n) {
        unit *u = &orphans.v[i];
        if (!unit_busy(u)) {
            unit_release(u);
            orphans.v[i] = orphans.v[--orphans.n];
            continue;
        }
        if (probes_watch(u->hl, &probing) == 1) {
            log_msg(DSRC_LOG_WARNING, u->src->cfg->name, loader_name(u->src->plugin),
                    "a call of this source, no longer served, did not return within "
                    "probe_timeout: cancel asked, released once it returns");
            health_cancel(u->hl);
            router_cancel_maintenance(u->rt);
        }
        i++;
    }
}

void units_tick(unit *v, size_t n)
{
    size_t i;
    time_t now = time(NULL);

    if (probes_threaded())
        units_reap();
    for (i = 0; i < n; i++) {
        unit *u = &v[i];
        int probed = 0, due;

        if (!u->rt)
            continue;
        due = now >= u->next_probe;
        if (due)
            unit_tls(u, now);
        if (probes_threaded()) {
            probed = probes_collect(u->hl) == 1;
            if (unit_watch(u, due, now)) {
                unit_log_changes(u, 1);
                continue;
            }
        }
        /* Nothing to do: no job (an idle source costs no thread hand-off
         * a second).  A job still queued or running is not doubled: a due
         * probe then waits for the next tick. */
        if (!due && !router_maintain_due(u->rt)) {
            unit_log_changes(u, probed);
            continue;
        }
        if (probes_submit(u->hl, u->rt, due) && due) {
            if (!probes_threaded())
                probed = 1;
            unit_next_probe(u, now);
        }
        unit_log_changes(u, probed);
    }
}

int units_stop(unit *v, size_t n, int64_t grace_ms)
{
    size_t i;
    int rc;

    for (i = 0; i < n + orphans.n; i++) {
        unit *u = i < n ? &v[i] : &orphans.v[i - n];
        if (u->hl) {
            health_cancel(u->hl);
            router_cancel_maintenance(u->rt);
        }
    }
    if ((rc = probes_stop(grace_ms)) == 0)
        return 0;
    for (i = 0; i < n + orphans.n; i++) {
        const unit *u = i < n ? &v[i] : &orphans.v[i - n];
        if (u->hl && probes_running(u->hl))
            log_msg(DSRC_LOG_ERROR, u->src->cfg->name, loader_name(u->src->plugin),
                    "a call has not returned %.1f s after SIGTERM (shutdown_grace): "
                    "plugin '%s' ignores cancellation", (double)grace_ms / 1000.0,
                    loader_name(u->src->plugin));
    }
    return rc;
}

void units_reap_free(void)
{
    units_reap();
    free(orphans.v);
    memset(&orphans, 0, sizeof orphans);
}


/* SPDX-License-Identifier: Apache-2.0 */
/* router.c -- see router.h */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "conn/router.h"

typedef struct router_endpoint {
    pool *pool;
    breaker *brk;
    dsrc_role role;
    int64_t role_at;       /* pool clock of the last role check; INT64_MIN */
    double latency_ms;     /* smoothed ping latency; < 0: unknown          */
    uint64_t served;
    int warned_role;       /* "not a replica" logged for this role change  */
} router_endpoint;

struct router_source {
    const registry_source *src;
    router_policy policy;
    router_opts opts;
    breaker_config bcfg;
    pthread_mutex_t mu;
    size_t n;
    router_endpoint *ep;
    unsigned rr;           /* round-robin over replicas                    */
};

int router_policy_parse(const char *name)
{
    size_t i;

    if (!name)
        return ROUTER_POLICY_PRIMARY;
    for (i = 0; cfg_read_policies[i]; i++)
        if (strcmp(name, cfg_read_policies[i]) == 0)
            return (int)i;
    return -1;
}

const char *router_policy_name(router_policy p)
{
    if ((int)p < 0 || p > ROUTER_POLICY_NEAREST)
        return "unknown";
    return cfg_read_policies[p];
}

const char *router_role_name(dsrc_role role)
{
    switch (role) {
    case DSRC_ROLE_PRIMARY:
        return "primary";
    case DSRC_ROLE_REPLICA:
        return "replica";
    case DSRC_ROLE_STANDALONE:
        return "standalone";
    default:
        return "unknown";
    }
}

static int64_t router_now(const router_source *r)
{
    return r->opts.clock(r->opts.clock_user);
}

static void router_log_default(void *user, dsrc_log_level level, const char *msg)
{
    const router_source *r = user;

    log_msg(level, r->src->cfg->name, loader_name(r->src->plugin), "%s", msg);
}

router_source *router_new(const registry_source *s, const router_opts *opts, derr *e)
{
    router_source *r;
    int policy;
    size_t i;

    if (!s) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "router_new: no source");
        return NULL;
    }
    policy = router_policy_parse(s->cfg->read_policy);
    if (policy < 0) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "source '%s': unknown read_policy '%s'",
                 s->cfg->name, s->cfg->read_policy);
        return NULL;
    }
    if (!(r = calloc(1, sizeof *r)) ||
        !(r->ep = calloc(1 + s->cfg->n_replica_hosts, sizeof *r->ep))) {
        free(r);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    r->src = s;
    r->policy = (router_policy)policy;
    if (opts)
        r->opts = *opts;
    if (!r->opts.clock)
        r->opts.clock = pool_clock_monotonic;
    if (!r->opts.log) {
        r->opts.log = router_log_default;
        r->opts.log_user = r;
    }
    if (r->opts.role_check_ms <= 0)
        r->opts.role_check_ms = 30000;
    if (r->opts.breaker)
        r->bcfg = *r->opts.breaker;
    else
        breaker_config_default(&r->bcfg);
    r->opts.breaker = NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->n = 1 + s->cfg->n_replica_hosts;
    for (i = 0; i < r->n; i++) {
        pool_opts po;
        char name[512];
        router_endpoint *ep = &r->ep[i];

        memset(&po, 0, sizeof po);
        po.clock = r->opts.clock;
        po.clock_user = r->opts.clock_user;
        po.log = opts && opts->log ? opts->log : NULL;
        po.log_user = opts && opts->log ? opts->log_user : NULL;
        po.seed = r->opts.seed ? r->opts.seed + i : 0;
        po.open_inline = r->opts.open_inline;
        po.open_guard = r->opts.open_guard;
        po.open_guard_user = r->opts.open_guard_user;
        ep->role = DSRC_ROLE_UNKNOWN;
        ep->role_at = INT64_MIN;
        ep->latency_ms = -1;
        if (!(ep->pool = pool_new(s, (int)i, &s->cfg->pool, &po, e)))
            goto fail;
        snprintf(name, sizeof name, "source '%s' (%s)", s->cfg->name, pool_label(ep->pool));
        if (!(ep->brk = breaker_new(name, &r->bcfg, r->opts.clock, r->opts.clock_user))) {
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            goto fail;
        }
    }
    return r;
fail:
    router_free(r);
    return NULL;
}

void router_free(router_source *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++) {
        pool_free(r->ep[i].pool);
        breaker_free(r->ep[i].brk);
    }
    pthread_mutex_destroy(&r->mu);
    free(r->ep);
    free(r);
}

/* The endpoints to try, in order.  Returns how many were written to `v`
 * (room for r->n). */
static size_t candidates(router_source *r, router_intent intent, int *v)
{
    size_t n = 0, i, nrep = r->n - 1;
    unsigned start;

    if (intent == ROUTER_WRITE || r->policy == ROUTER_POLICY_PRIMARY || nrep == 0) {
        if (intent == ROUTER_READ && r->policy == ROUTER_POLICY_REPLICA)
            return 0;
        v[0] = 0;
        return 1;
    }
    pthread_mutex_lock(&r->mu);
    start = r->rr++;
    if (r->policy == ROUTER_POLICY_NEAREST) {
        /* measured ones by latency, then unmeasured in index order */
        for (i = 0; i < r->n; i++)
            v[n++] = (int)i;
        for (i = 1; i < n; i++) {
            int x = v[i];
            size_t j = i;
            double lx = r->ep[x].latency_ms;
            while (j > 0) {
                double ly = r->ep[v[j - 1]].latency_ms;
                int before = lx >= 0 && (ly < 0 || lx < ly);
                if (!before)
                    break;
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        pthread_mutex_unlock(&r->mu);
        return n;
    }
    pthread_mutex_unlock(&r->mu);
    if (r->policy == ROUTER_POLICY_PRIMARY_PREFERRED)
        v[n++] = 0;
    for (i = 0; i < nrep; i++)
        v[n++] = 1 + (int)((start + i) % nrep);
    if (r->policy == ROUTER_POLICY_REPLICA_PREFERRED)
        v[n++] = 0;
    return n;
}

static int needs_replica(const router_source *r, router_intent intent, int endpoint)
{
    return intent == ROUTER_READ && endpoint > 0 &&
           (r->policy == ROUTER_POLICY_REPLICA || r->policy == ROUTER_POLICY_REPLICA_PREFERRED);
}

static void keep_error(derr *last, derr *e)
{
    derr_clear(last);
    *last = *e;
    memset(e, 0, sizeof *e);
}

static int role_is_replica(dsrc_role role)
{
    return role != DSRC_ROLE_PRIMARY && role != DSRC_ROLE_STANDALONE;
}

/* The role of endpoint i if checked within role_check_ms; -1 otherwise. */
static int fresh_role(router_source *r, int i)
{
    router_endpoint *ep = &r->ep[i];
    int64_t now = router_now(r);
    int role = -1;

    pthread_mutex_lock(&r->mu);
    if (ep->role_at != INT64_MIN && now - ep->role_at < r->opts.role_check_ms)
        role = (int)ep->role;
    pthread_mutex_unlock(&r->mu);
    return role;
}

/* Fill e with "endpoint i is not a replica" (warning once per role seen). */
static void not_replica(router_source *r, int i, dsrc_role role, derr *e)
{
    router_endpoint *ep = &r->ep[i];
    int warn = 0;

    pthread_mutex_lock(&r->mu);
    if (!ep->warned_role) {
        ep->warned_role = 1;
        warn = 1;
    }
    pthread_mutex_unlock(&r->mu);
    derr_set(e, DSRC_E_INVALID_CONFIG,
             "source '%s' (%s): the server reports role '%s', but read_policy '%s' needs a "
             "replica; fix replicas.hosts or the read_policy",
             r->src->cfg->name, pool_label(ep->pool), router_role_name(role),
             router_policy_name(r->policy));
    if (warn)
        r->opts.log(r->opts.log_user, DSRC_LOG_WARNING, e->msg);
}

/* Under `replica`/`replica_preferred`: is endpoint i (lease l) really a
 * replica?  Pings when the role is not known recently.  Returns 1 yes,
 * 0 no (e set), -1 the ping failed (e set). */
static int check_replica(router_source *r, int i, router_lease *l, derr *e)
{
    int role = fresh_role(r, i);

    if (role < 0) {
        dsrc_ping_info info;
        double ms = 0;

        if (source_ping(l->conn, &info, &ms, e) != DSRC_OK)
            return -1;
        role = (int)info.role;
        router_note_ping(r, i, info.role, ms);
    }
    l->role = (dsrc_role)role;
    if (role_is_replica((dsrc_role)role))
        return 1;
    not_replica(r, i, (dsrc_role)role, e);
    return 0;
}

dsrc_status router_acquire(router_source *r, router_intent intent, const char *op, router_lease *out, derr *e)
{
    int order[r->n];
    size_t n = candidates(r, intent, order), k;
    derr last = {0};

    memset(out, 0, sizeof *out);
    if (n == 0)
        return derr_set(e, DSRC_E_INVALID_CONFIG,
                        "source '%s': read_policy '%s' needs a replica, but replicas.hosts "
                        "is empty",
                        r->src->cfg->name, router_policy_name(r->policy));
    for (k = 0; k < n; k++) {
        int i = order[k], probe = 0, ok;
        router_endpoint *ep = &r->ep[i];
        derr ee = {0};
        pool_why why;
        pool_conn *pc = NULL;

        if (needs_replica(r, intent, i) && (ok = fresh_role(r, i)) >= 0 &&
            !role_is_replica((dsrc_role)ok)) {
            /* known not to be a replica: do not even borrow a connection */
            not_replica(r, i, (dsrc_role)ok, &ee);
            keep_error(&last, &ee);
            continue;
        }
        if (!breaker_allow(ep->brk, &probe, &ee)) {
            keep_error(&last, &ee);
            continue;
        }
        if (pool_acquire(ep->pool, op, -1, &pc, &why, &ee) != DSRC_OK) {
            if (why == POOL_OPEN_FAILED) {
                breaker_failure(ep->brk, &ee);
                keep_error(&last, &ee);
                continue;
            }
            /* saturated or shut down: says nothing about the endpoint */
            breaker_abandon(ep->brk, probe);
            derr_clear(&last);
            keep_error(e, &ee);
            return e->status;
        }
        out->pc = pc;
        out->conn = pool_conn_src(pc);
        out->endpoint = i;
        out->label = pool_label(ep->pool);
        out->probe = probe;
        pthread_mutex_lock(&r->mu);
        out->role = ep->role;
        pthread_mutex_unlock(&r->mu);
        if (needs_replica(r, intent, i) && (ok = check_replica(r, i, out, &ee)) != 1) {
            if (ok < 0) {
                /* the ping failed: an endpoint failure */
                breaker_failure(ep->brk, &ee);
                pool_release_err(ep->pool, pc, &ee);
            } else {
                /* it answered: alive, just not a replica */
                breaker_success(ep->brk);
                pool_release(ep->pool, pc, 0);
            }
            memset(out, 0, sizeof *out);
            keep_error(&last, &ee);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        ep->served++;
        pthread_mutex_unlock(&r->mu);
        derr_clear(&last);
        return DSRC_OK;
    }
    keep_error(e, &last);
    return e->status;
}

void router_release(router_source *r, router_lease *l, const derr *result)
{
    router_endpoint *ep;

    if (!l || !l->pc)
        return;
    ep = &r->ep[l->endpoint];
    if (result && result->status != DSRC_OK && breaker_is_endpoint_failure(result))
        breaker_failure(ep->brk, result);
    else
        breaker_success(ep->brk);
    pool_release_err(ep->pool, l->pc, result);
    memset(l, 0, sizeof *l);
}

router_intent router_intent_for(const char *operation)
{
    static const char *const reads[] = {"fetch", "list", "ls", "describe", "stats",
                                        "query"};
    size_t i;

    for (i = 0; operation && i < sizeof reads / sizeof reads[0]; i++)
        if (strcmp(operation, reads[i]) == 0)
            return ROUTER_READ;
    return ROUTER_WRITE;
}

int router_maintain(router_source *r)
{
    size_t i;
    int n = 0;

    for (i = 0; i < r->n; i++) {
        breaker_info bi;
        breaker_get(r->ep[i].brk, &bi);
        derr_clear(&bi.last_error);
        if (bi.state == BREAKER_CLOSED) {
            pool *p = r->ep[i].pool;
            pool_stats st0, st1;
            derr pe = {0};

            pool_stats_get(p, &st0);
            n += pool_maintain(p);
            pool_stats_get(p, &st1);
            /* a wrong password is not tried again on every maintenance */
            if (st1.failed_opens > st0.failed_opens && pool_last_error(p, &pe) == DSRC_E_AUTH)
                breaker_failure(r->ep[i].brk, &pe);
            derr_clear(&pe);
        }
    }
    return n;
}

int router_maintain_due(router_source *r)
{
    size_t i;
    int due = 0;

    for (i = 0; i < r->n && !due; i++) {
        breaker_info bi;
        breaker_get(r->ep[i].brk, &bi);
        derr_clear(&bi.last_error);
        due = bi.state == BREAKER_CLOSED && pool_maintain_due(r->ep[i].pool);
    }
    return due;
}

void router_set_auth_cooldown(router_source *r, int64_t ms)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        breaker_set_auth_cooldown(r->ep[i].brk, ms);
}

void router_cancel_maintenance(router_source *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        pool_cancel_maintenance(r->ep[i].pool);
}

void router_reconfigure(router_source *r, const cfg_pool *cfg)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        pool_reconfigure(r->ep[i].pool, cfg);
}

void router_recycle(router_source *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        pool_recycle(r->ep[i].pool);
}

void router_note_ping(router_source *r, int endpoint, dsrc_role role, double latency_ms)
{
    router_endpoint *ep;

    if (endpoint < 0 || (size_t)endpoint >= r->n)
        return;
    ep = &r->ep[endpoint];
    pthread_mutex_lock(&r->mu);
    if (ep->role != role)
        ep->warned_role = 0;
    ep->role = role;
    ep->role_at = router_now(r);
    if (latency_ms >= 0)
        ep->latency_ms = ep->latency_ms < 0 ? latency_ms
                                            : 0.7 * ep->latency_ms + 0.3 * latency_ms;
    pthread_mutex_unlock(&r->mu);
}

size_t router_n_endpoints(const router_source *r)
{
    return r->n;
}

pool *router_pool(router_source *r, int endpoint)
{
    return endpoint >= 0 && (size_t)endpoint < r->n ? r->ep[endpoint].pool : NULL;
}

breaker *router_breaker(router_source *r, int endpoint)
{
    return endpoint >= 0 && (size_t)endpoint < r->n ? r->ep[endpoint].brk : NULL;
}

const registry_source *router_reg_source(const router_source *r)
{
    return r->src;
}

router_policy router_get_policy(const router_source *r)
{
    return r->policy;
}

uint64_t router_served(router_source *r, int endpoint)
{
    uint64_t n = 0;

    if (endpoint < 0 || (size_t)endpoint >= r->n)
        return 0;
    pthread_mutex_lock(&r->mu);
    n = r->ep[endpoint].served;
    pthread_mutex_unlock(&r->mu);
    return n;
}

dsrc_role router_role(router_source *r, int endpoint)
{
    dsrc_role role;

    if (endpoint < 0 || (size_t)endpoint >= r->n)
        return DSRC_ROLE_UNKNOWN;
    pthread_mutex_lock(&r->mu);
    role = r->ep[endpoint].role;
    pthread_mutex_unlock(&r->mu);
    return role;
}

json_t *router_json(router_source *r)
{
    json_t *o = json_object(), *arr = json_array();
    size_t i;

    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    json_object_set_new(o, "source", json_string(r->src->cfg->name));
    json_object_set_new(o, "read_policy", json_string(router_policy_name(r->policy)));
    for (i = 0; i < r->n; i++) {
        json_t *e = json_object();
        pool_stats ps;
        breaker_info bi;
        double lat;
        dsrc_role role;
        uint64_t served;

        pthread_mutex_lock(&r->mu);
        lat = r->ep[i].latency_ms;
        role = r->ep[i].role;
        served = r->ep[i].served;
        pthread_mutex_unlock(&r->mu);
        pool_stats_get(r->ep[i].pool, &ps);
        breaker_get(r->ep[i].brk, &bi);
        json_object_set_new(e, "index", json_integer((json_int_t)i));
        json_object_set_new(e, "label", json_string(pool_label(r->ep[i].pool)));
        json_object_set_new(e, "role", json_string(router_role_name(role)));
        json_object_set_new(e, "served", json_integer((json_int_t)served));
        json_object_set_new(e, "latency_ms", lat >= 0 ? json_real(lat) : json_null());
        json_object_set_new(e, "breaker", breaker_info_json(&bi));
        json_object_set_new(e, "pool", pool_stats_json(&ps));
        derr_clear(&bi.last_error);
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "endpoints", arr);
    return o;
}

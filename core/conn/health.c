/* SPDX-License-Identifier: Apache-2.0 */
/* health.c -- see health.h */
#include <config.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ctx.h"
#include "base/log.h"
#include "conn/health.h"
#include "plugin/loader.h"

/* Ask the plugin for the storage size at the first successful probe and then
 * every HEALTH_STORAGE_EVERY-th: it may cost more than a ping. */
#define HEALTH_STORAGE_EVERY 10

enum { HS_OK = 0, HS_FAIL = 1, HS_SATURATED = 2 };

/* The upper bounds, in seconds, of the probe latency histogram. */
static const double health_latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10};

typedef struct health_sample {
    int64_t at_ms;
    int kind;
    double latency_ms;
} health_sample;

typedef struct health_ep {
    health_sample *ring;      /* window entries                                 */
    int n, next;          /* filled entries, next slot                      */
    int consecutive;      /* failed probes in a row (saturation excluded)   */
    derr last_error;
    int64_t last_error_ms;
    int64_t last_probe_ms;
    uint64_t total[3];    /* samples by kind, since the monitor was made    */
    prom_hist latency;    /* seconds                                        */
    int64_t srv_not_after; /* the server certificate's notAfter (epoch s) the
                              last successful probe saw; 0: none          */
} health_ep;

struct health_monitor {
    router_source *rt;
    health_config cfg;
    pool_clock_fn clock;
    void *clock_user;
    pthread_mutex_t mu;
    size_t n;
    health_ep *ep;
    unsigned long storage_probes;  /* successful probes of the primary       */
    int64_t storage_bytes;         /* -1: unknown                            */
    /* The probe in progress (under mu): */
    int probing;                   /* health_probe() is running                  */
    int cur_ep;                    /* the endpoint it probes; -1 none        */
    source_conn *cur_conn;            /* the connection it uses; NULL none      */
    int discard;                   /* overrun: its outcome is not recorded   */
    /* The TLS files (health_set_tls), under mu: */
    int tls;                       /* set at least once                      */
    char *tls_error;
    double tls_days[2];
};

void health_config_default(health_config *c)
{
    c->window = 60;
    c->probe_timeout_ms = 5000;
    c->latency_warn_ms = 250;
    c->error_rate_warn = 0.1;
    c->down_after = 2;
    c->stale_after_ms = 0;
}

const char *health_status_name(health_status s)
{
    switch (s) {
    case HEALTH_HEALTHY:
        return "healthy";
    case HEALTH_DEGRADED:
        return "degraded";
    case HEALTH_DOWN:
        return "down";
    case HEALTH_STALE:
        return "stale";
    default:
        return "unknown";
    }
}

health_monitor *health_new(router_source *r, const health_config *cfg, pool_clock_fn clock, void *clock_user)
{
    health_monitor *h = calloc(1, sizeof *h);
    health_config def;
    size_t i;

    if (!h)
        return NULL;
    health_config_default(&def);
    h->cfg = cfg ? *cfg : def;
    if (h->cfg.window <= 0)
        h->cfg.window = def.window;
    if (h->cfg.probe_timeout_ms < 0)
        h->cfg.probe_timeout_ms = def.probe_timeout_ms;
    if (h->cfg.latency_warn_ms <= 0)
        h->cfg.latency_warn_ms = def.latency_warn_ms;
    if (h->cfg.error_rate_warn <= 0)
        h->cfg.error_rate_warn = def.error_rate_warn;
    if (h->cfg.down_after <= 0)
        h->cfg.down_after = def.down_after;
    if (h->cfg.stale_after_ms < 0)
        h->cfg.stale_after_ms = 0;
    h->rt = r;
    h->clock = clock ? clock : pool_clock_monotonic;
    h->clock_user = clock_user;
    h->n = router_n_endpoints(r);
    if (!(h->ep = calloc(h->n, sizeof *h->ep))) {
        free(h);
        return NULL;
    }
    for (i = 0; i < h->n; i++) {
        if (!(h->ep[i].ring = calloc((size_t)h->cfg.window, sizeof *h->ep[i].ring))) {
            h->n = i;
            health_free(h);
            return NULL;
        }
        h->ep[i].last_error_ms = h->ep[i].last_probe_ms = -1;
        prom_hist_init(&h->ep[i].latency, health_latency_bounds,
                       sizeof health_latency_bounds / sizeof health_latency_bounds[0]);
    }
    h->storage_bytes = -1;
    h->cur_ep = -1;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void health_free(health_monitor *h)
{
    size_t i;

    if (!h)
        return;
    for (i = 0; i < h->n; i++) {
        free(h->ep[i].ring);
        derr_clear(&h->ep[i].last_error);
    }
    pthread_mutex_destroy(&h->mu);
    free(h->tls_error);
    free(h->ep);
    free(h);
}

/* Under h->mu. */
static void add_sample_locked(health_monitor *h, int i, int kind, double latency_ms, const derr *e,
                              int64_t now)
{
    health_ep *ep = &h->ep[i];

    ep->ring[ep->next].at_ms = now;
    ep->ring[ep->next].kind = kind;
    ep->ring[ep->next].latency_ms = latency_ms;
    ep->next = (ep->next + 1) % h->cfg.window;
    if (ep->n < h->cfg.window)
        ep->n++;
    ep->last_probe_ms = now;
    ep->total[kind]++;
    if (kind == HS_OK || (kind == HS_FAIL && latency_ms > 0))
        prom_hist_observe(&ep->latency, latency_ms / 1000.0);
    if (kind == HS_OK)
        ep->consecutive = 0;
    else if (kind == HS_FAIL)
        ep->consecutive++;
    if (kind != HS_OK && e && e->status != DSRC_OK) {
        derr_clear(&ep->last_error);
        derr_set(&ep->last_error, e->status, "%s",
                 e->msg ? e->msg : error_status_name(e->status));
        ep->last_error_ms = now;
    }
}

/* Record a sample; `probe`: the outcome of health_probe(), dropped once that
 * probe has overrun (health_overrun() recorded it). */
static void add_sample(health_monitor *h, int i, int kind, double latency_ms, const derr *e,
                       int probe)
{
    int64_t now = h->clock(h->clock_user);

    pthread_mutex_lock(&h->mu);
    if (!probe || !h->discard)
        add_sample_locked(h, i, kind, latency_ms, e, now);
    pthread_mutex_unlock(&h->mu);
}

void health_overrun(health_monitor *h, const derr *why)
{
    int64_t now = h->clock(h->clock_user);
    size_t i;

    pthread_mutex_lock(&h->mu);
    if (h->probing && h->cur_ep >= 0) {
        h->discard = 1;
        add_sample_locked(h, h->cur_ep, HS_FAIL, 0, why, now);
        if (h->cur_conn)
            source_cancel(h->cur_conn);
    } else {
        if (h->probing)
            h->discard = 1;
        for (i = 0; i < h->n; i++)
            add_sample_locked(h, (int)i, HS_FAIL, 0, why, now);
    }
    pthread_mutex_unlock(&h->mu);
}

void health_cancel(health_monitor *h)
{
    pthread_mutex_lock(&h->mu);
    if (h->cur_conn)
        source_cancel(h->cur_conn);
    pthread_mutex_unlock(&h->mu);
}

void health_set_stale_after(health_monitor *h, int64_t ms)
{
    pthread_mutex_lock(&h->mu);
    h->cfg.stale_after_ms = ms > 0 ? ms : 0;
    pthread_mutex_unlock(&h->mu);
}

void health_set_tls(health_monitor *h, const char *error, double ca_days, double cert_days)
{
    char *dup = error ? strdup(error) : NULL;

    pthread_mutex_lock(&h->mu);
    free(h->tls_error);
    h->tls_error = dup;
    h->tls_days[0] = ca_days;
    h->tls_days[1] = cert_days;
    h->tls = 1;
    pthread_mutex_unlock(&h->mu);
}

/* The connection probe_one() uses (NULL: none), for health_overrun().  Returns
 * 1 when the probe has overrun: the connection may have been asked to
 * cancel (a flag that stays), so it must not be lent out again. */
static int set_cur_conn(health_monitor *h, source_conn *c)
{
    int discard;

    pthread_mutex_lock(&h->mu);
    h->cur_conn = c;
    discard = h->discard;
    pthread_mutex_unlock(&h->mu);
    return discard;
}

void health_record(health_monitor *h, int endpoint, int ok, double latency_ms, const derr *e)
{
    if (endpoint < 0 || (size_t)endpoint >= h->n)
        return;
    if (e && e->status != DSRC_OK)
        ok = 0;
    add_sample(h, endpoint, ok ? HS_OK : HS_FAIL, latency_ms, e, 0);
}

/* Refresh the storage size through the plugin's storage() on connection c
 * (rate-limited: see HEALTH_STORAGE_EVERY).  A plugin that cannot tell leaves it
 * unknown; one that fails is logged (a plugin bug, such as an error without
 * a message, is named as such). */
static void storage_refresh(health_monitor *h, source_conn *c)
{
    dsrc_storage_info info;
    derr e = {0};
    unsigned long n;
    dsrc_status st;

    pthread_mutex_lock(&h->mu);
    n = h->storage_probes++;
    pthread_mutex_unlock(&h->mu);
    if (n % HEALTH_STORAGE_EVERY != 0 || !c->drv->storage)
        return;
    st = source_storage(c, &info, &e);
    if (st != DSRC_OK && st != DSRC_E_UNSUPPORTED)
        log_msg(DSRC_LOG_WARNING, NULL, NULL, "%s", e.msg ? e.msg : "storage size failed");
    derr_clear(&e);
    pthread_mutex_lock(&h->mu);
    h->storage_bytes = st == DSRC_OK && info.used_bytes >= 0 ? info.used_bytes : -1;
    pthread_mutex_unlock(&h->mu);
}

/* Probe endpoint i.  Returns 1 when it failed. */
static int probe_one(health_monitor *h, int i)
{
    breaker *b = router_breaker(h->rt, i);
    pool *p = router_pool(h->rt, i);
    pool_conn *pc = NULL;
    pool_why why;
    dsrc_ping_info info;
    derr e = {0};
    double ms = 0;
    int probe = 0, failed = 1;

    pthread_mutex_lock(&h->mu);
    h->cur_ep = i;
    pthread_mutex_unlock(&h->mu);
    if (!breaker_allow(b, &probe, &e)) {
        add_sample(h, i, HS_FAIL, 0, &e, 1);
    } else if (pool_acquire(p, "health probe", h->cfg.probe_timeout_ms, &pc, &why, &e) !=
               DSRC_OK) {
        if (why == POOL_OPEN_FAILED) {
            breaker_failure(b, &e);
            add_sample(h, i, HS_FAIL, 0, &e, 1);
        } else {
            breaker_abandon(b, probe);
            add_sample(h, i, why == POOL_TIMEOUT ? HS_SATURATED : HS_FAIL, 0, &e, 1);
            failed = why != POOL_TIMEOUT;
        }
    } else if (set_cur_conn(h, pool_conn_src(pc)),
               source_ping(pool_conn_src(pc), &info, &ms, &e) != DSRC_OK) {
        if (breaker_is_endpoint_failure(&e))
            breaker_failure(b, &e);
        else
            breaker_success(b);
        add_sample(h, i, HS_FAIL, ms, &e, 1);
        if (set_cur_conn(h, NULL))
            pool_release(p, pc, 1);
        else
            pool_release_err(p, pc, &e);
    } else {
        breaker_success(b);
        router_note_ping(h->rt, i, info.role, ms);
        pthread_mutex_lock(&h->mu);
        h->ep[i].srv_not_after = info.server_cert_not_after;
        pthread_mutex_unlock(&h->mu);
        add_sample(h, i, HS_OK, ms, NULL, 1);
        if (i == 0)
            storage_refresh(h, pool_conn_src(pc));
        pool_release(p, pc, set_cur_conn(h, NULL));
        failed = 0;
    }
    derr_clear(&e);
    return failed;
}

int health_probe(health_monitor *h)
{
    size_t i;
    int failed = 0, discard = 0;

    pthread_mutex_lock(&h->mu);
    h->probing = 1;
    h->discard = 0;
    pthread_mutex_unlock(&h->mu);
    /* An overrun probe stops here: its caller has given up on it. */
    for (i = 0; i < h->n && !discard; i++) {
        failed += probe_one(h, (int)i);
        pthread_mutex_lock(&h->mu);
        discard = h->discard;
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_lock(&h->mu);
    h->probing = 0;
    h->cur_ep = -1;
    pthread_mutex_unlock(&h->mu);
    return failed;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, int n, double q)
{
    int k;

    if (n <= 0)
        return 0;
    k = (int)(q * n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

static DSRC_PRINTF(2, 3) int rec_add(health_report *rep, const char *fmt, ...)
{
    char **v, *s;
    va_list ap;
    int r;

    v = realloc(rep->recommendations, (rep->n_recommendations + 1) * sizeof *v);
    if (!v)
        return -1;
    rep->recommendations = v;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    v[rep->n_recommendations++] = s;
    return 0;
}

static void fmt_ms(char *buf, size_t n, int64_t ms)
{
    if (ms <= 0)
        snprintf(buf, n, "off");
    else if (ms % 60000 == 0)
        snprintf(buf, n, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, n, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%lldms", (long long)ms);
}

static int fill_endpoint(health_monitor *h, int i, health_endpoint_report *er, int64_t now)
{
    health_ep *ep = &h->ep[i];
    double lat[h->cfg.window > 0 ? h->cfg.window : 1];
    int k, nlat = 0, ok = 0, fail = 0, sat = 0, recent_fail, oom;

    er->endpoint = i;
    er->label = pool_label(router_pool(h->rt, i));
    er->role = router_role(h->rt, i);
    pool_stats_get(router_pool(h->rt, i), &er->pool);
    breaker_get(router_breaker(h->rt, i), &er->breaker);

    pthread_mutex_lock(&h->mu);
    for (k = 0; k < ep->n; k++) {
        const health_sample *s = &ep->ring[k];
        if (s->kind == HS_OK) {
            ok++;
            lat[nlat++] = s->latency_ms;
        } else if (s->kind == HS_FAIL) {
            fail++;
        } else {
            sat++;
        }
    }
    er->samples = ep->n;
    er->failures = fail;
    er->saturated = sat;
    er->consecutive_failures = ep->consecutive;
    recent_fail = ep->n > 0 && ep->ring[(ep->next + h->cfg.window - 1) % h->cfg.window].kind ==
                                   HS_FAIL;
    er->last_error = ep->last_error.msg ? strdup(ep->last_error.msg) : NULL;
    oom = ep->last_error.msg && !er->last_error;
    er->last_error_status = ep->last_error.status;
    er->last_error_age_ms = ep->last_error_ms >= 0 ? now - ep->last_error_ms : -1;
    er->last_probe_age_ms = ep->last_probe_ms >= 0 ? now - ep->last_probe_ms : -1;
    er->probes_ok = ep->total[HS_OK];
    er->probes_failed = ep->total[HS_FAIL];
    er->probes_saturated = ep->total[HS_SATURATED];
    er->latency = ep->latency;
    er->server_cert_days = ep->srv_not_after > 0
                               ? (double)(ep->srv_not_after - (int64_t)time(NULL)) / 86400.0
                               : NAN;
    pthread_mutex_unlock(&h->mu);
    if (oom)
        return -1;

    qsort(lat, (size_t)nlat, sizeof lat[0], cmp_double);
    er->latency_p50_ms = pct(lat, nlat, 0.50);
    er->latency_p95_ms = pct(lat, nlat, 0.95);
    er->error_rate = ok + fail ? (double)fail / (ok + fail) : 0;
    er->uptime = ok + fail ? (double)ok / (ok + fail) : 0;

    if (er->samples == 0 && er->breaker.state == BREAKER_CLOSED)
        er->status = HEALTH_UNKNOWN;
    else if (er->breaker.state == BREAKER_OPEN || er->consecutive_failures >= h->cfg.down_after)
        er->status = HEALTH_DOWN;
    else if (recent_fail || sat > 0 || er->error_rate > h->cfg.error_rate_warn ||
             (nlat > 0 && er->latency_p95_ms > h->cfg.latency_warn_ms) ||
             er->breaker.state == BREAKER_HALF_OPEN)
        er->status = HEALTH_DEGRADED;
    else
        er->status = HEALTH_HEALTHY;
    return 0;
}

/* What to check first after failures whose last error had status st. */
static const char *advice_for(dsrc_status st)
{
    switch (st) {
    case DSRC_E_AUTH:
        return "check the credentials (the server refused them) and the server's logs";
    case DSRC_E_UNREACHABLE:
        return "check that the server runs, that the host and port are right and that "
               "it accepts connections from here";
    case DSRC_E_TIMEOUT:
        return "check the network path to the server and its load; raise the "
               "connect or probe timeout if the server is slow to answer";
    case DSRC_E_INVALID_CONFIG:
        return "check the source's configuration ('dsrc check-config')";
    default:
        return "check the server's logs and the last error";
    }
}

/* The rules. */
static int recommend(health_monitor *h, health_report *rep)
{
    const cfg_pool *pc = &router_reg_source(h->rt)->cfg->pool;
    size_t i;
    int r = 0;

    for (i = 0; i < rep->n_endpoints && r == 0; i++) {
        const health_endpoint_report *er = &rep->endpoints[i];
        char life[32];

        if (er->breaker.state == BREAKER_OPEN)
            r |= rec_add(rep,
                         "%s is failing (circuit open, next attempt in %.1f s): calls fail fast; "
                         "last error: %s",
                         er->label, (double)er->breaker.retry_in_ms / 1000.0,
                         er->last_error ? er->last_error : "unknown");
        if (er->failures > 0 && er->error_rate > h->cfg.error_rate_warn)
            r |= rec_add(rep, "error rate %.0f%% on %s: %s", er->error_rate * 100.0,
                         er->label, advice_for(er->last_error_status));
        if (er->samples > er->failures + er->saturated &&
            er->latency_p95_ms > h->cfg.latency_warn_ms)
            r |= rec_add(rep,
                         "latency p95 %.0f ms on %s is above %.0f ms: check the network path "
                         "to the server and the TLS settings (handshake cost, certificate "
                         "checks)",
                         er->latency_p95_ms, er->label, h->cfg.latency_warn_ms);
        if (er->saturated > 0 || er->pool.timeouts > 0 || er->pool.waiting > 0)
            r |= rec_add(rep,
                         "the pool of %s is saturated (%llu acquire timeout(s), %d waiting, "
                         "p99 wait %.1f ms, max_size %d): raise pool.max_size or hold "
                         "connections for less time",
                         er->label, (unsigned long long)er->pool.timeouts, er->pool.waiting,
                         er->pool.wait_p99_ms, er->pool.max_size);
        fmt_ms(life, sizeof life, pc->max_lifetime_ms);
        if (er->pool.stale > 0)
            r |= rec_add(rep,
                         "%llu idle connection(s) to %s were found closed by the server: lower "
                         "pool.max_lifetime (now %s) below the server's connection or idle "
                         "timeout, or set pool.keepalive",
                         (unsigned long long)er->pool.stale, er->label, life);
    }
    return r;
}

/* The TLS state: a file refused, or a certificate close to its expiry --
 * the CA or client certificate of the source's files, or the certificate
 * an endpoint's server presented -- makes a healthy (or stale) source
 * degraded and comes first in the recommendations. */
static int tls_report(health_monitor *h, health_report *rep)
{
    static const char *const what[2] = {"the CA certificate (tls.ca)",
                                        "the client certificate (tls.cert)"};
    char **before = rep->recommendations;
    size_t nb = rep->n_recommendations, i;
    int degraded = 0, r = 0;

    rep->tls_days[0] = rep->tls_days[1] = NAN;
    pthread_mutex_lock(&h->mu);
    rep->tls = h->tls;
    if (h->tls) {
        rep->tls_days[0] = h->tls_days[0];
        rep->tls_days[1] = h->tls_days[1];
        if (h->tls_error && !(rep->tls_error = strdup(h->tls_error)))
            r = -1;
    }
    pthread_mutex_unlock(&h->mu);
    if (r != 0)
        return r;
    rep->recommendations = NULL;
    rep->n_recommendations = 0;
    if (rep->tls_error) {
        degraded = 1;
        r |= rec_add(rep,
                     "a TLS file was refused, the pools keep the connections made with the "
                     "previous files: %s",
                     rep->tls_error);
    }
    for (i = 0; rep->tls && i < 2; i++) {
        double d = rep->tls_days[i];
        if (isnan(d) || d >= TLSW_RECOMMEND_DAYS)
            continue;
        if (d < TLSW_DEGRADED_DAYS)
            degraded = 1;
        if (d < 0)
            r |= rec_add(rep, "%s expired %.0f day(s) ago: replace it", what[i], -d);
        else
            r |= rec_add(rep, "%s expires in %.0f day(s): replace it (the pools are "
                         "recycled when the file changes)", what[i], floor(d));
    }
    for (i = 0; i < rep->n_endpoints; i++) {
        double d = rep->endpoints[i].server_cert_days;
        if (isnan(d) || d >= TLSW_RECOMMEND_DAYS)
            continue;
        if (d < TLSW_DEGRADED_DAYS)
            degraded = 1;
        if (d < 0)
            r |= rec_add(rep, "the certificate the server of endpoint %s presents expired "
                         "%.0f day(s) ago: the server's operator must replace it",
                         rep->endpoints[i].label, -d);
        else
            r |= rec_add(rep, "the certificate the server of endpoint %s presents expires in "
                         "%.0f day(s): the server's operator must replace it",
                         rep->endpoints[i].label, floor(d));
    }
    /* the earlier recommendations after these */
    for (i = 0; i < nb && r == 0; i++) {
        char **v = realloc(rep->recommendations, (rep->n_recommendations + 1) * sizeof *v);
        if (!v) {
            r = -1;
            break;
        }
        rep->recommendations = v;
        v[rep->n_recommendations++] = before[i];
        before[i] = NULL;
    }
    for (i = 0; i < nb; i++)
        free(before[i]);
    free(before);
    if (degraded) {
        if (rep->last_status == HEALTH_HEALTHY)
            rep->last_status = HEALTH_DEGRADED;
        if (rep->status == HEALTH_HEALTHY)
            rep->status = HEALTH_DEGRADED;
    }
    return r;
}

int health_report_get(health_monitor *h, health_report *rep)
{
    int64_t now = h->clock(h->clock_user);
    size_t i, down = 0, healthy = 0, unknown = 0;

    memset(rep, 0, sizeof *rep);
    rep->source = router_reg_source(h->rt)->cfg->name;
    pthread_mutex_lock(&h->mu);
    rep->storage_bytes = h->storage_bytes;
    pthread_mutex_unlock(&h->mu);
    if (!(rep->endpoints = calloc(h->n, sizeof *rep->endpoints)))
        return -1;
    rep->n_endpoints = h->n;
    for (i = 0; i < h->n; i++) {
        if (fill_endpoint(h, (int)i, &rep->endpoints[i], now) != 0)
            goto oom;
        switch (rep->endpoints[i].status) {
        case HEALTH_DOWN:
            down++;
            break;
        case HEALTH_HEALTHY:
            healthy++;
            break;
        case HEALTH_UNKNOWN:
            unknown++;
            break;
        default:
            break;
        }
    }
    if (unknown == h->n)
        rep->status = HEALTH_UNKNOWN;
    else if (down == h->n)
        rep->status = HEALTH_DOWN;
    else if (healthy == h->n)
        rep->status = HEALTH_HEALTHY;
    else
        rep->status = HEALTH_DEGRADED;
    rep->last_status = rep->status;
    rep->age_ms = -1;
    for (i = 0; i < h->n; i++) {
        int64_t age = rep->endpoints[i].last_probe_age_ms;
        if (age >= 0 && (rep->age_ms < 0 || age < rep->age_ms))
            rep->age_ms = age;
    }
    pthread_mutex_lock(&h->mu);
    if (h->cfg.stale_after_ms > 0 && rep->age_ms > h->cfg.stale_after_ms)
        rep->status = HEALTH_STALE;
    pthread_mutex_unlock(&h->mu);
    if (recommend(h, rep) != 0)
        goto oom;
    if (tls_report(h, rep) != 0)
        goto oom;
    return 0;
oom:
    health_report_free(rep);
    return -1;
}

void health_report_free(health_report *rep)
{
    size_t i;

    if (!rep)
        return;
    for (i = 0; i < rep->n_endpoints; i++) {
        free(rep->endpoints[i].last_error);
        derr_clear(&rep->endpoints[i].breaker.last_error);
    }
    for (i = 0; i < rep->n_recommendations; i++)
        free(rep->recommendations[i]);
    free(rep->recommendations);
    free(rep->endpoints);
    free(rep->tls_error);
    memset(rep, 0, sizeof *rep);
}

json_t *health_report_json(const health_report *rep)
{
    json_t *o = json_object(), *eps = json_array(), *recs = json_array();
    size_t i;

    if (!o || !eps || !recs) {
        json_decref(o);
        json_decref(eps);
        json_decref(recs);
        return NULL;
    }
    json_object_set_new(o, "source", json_string(rep->source));
    json_object_set_new(o, "status", json_string(health_status_name(rep->status)));
    json_object_set_new(o, "last_status", json_string(health_status_name(rep->last_status)));
    json_object_set_new(o, "age_ms", rep->age_ms >= 0 ? json_integer((json_int_t)rep->age_ms)
                                                      : json_null());
    json_object_set_new(o, "storage_bytes", rep->storage_bytes >= 0
                                                ? json_integer((json_int_t)rep->storage_bytes)
                                                : json_null());
    for (i = 0; i < rep->n_recommendations; i++)
        json_array_append_new(recs, json_string(rep->recommendations[i]));
    json_object_set_new(o, "recommendations", recs);
    if (rep->tls) {
        json_t *t = json_object();
        json_object_set_new(t, "error", rep->tls_error ? json_string(rep->tls_error)
                                                       : json_null());
        json_object_set_new(t, "ca_expiry_days", isnan(rep->tls_days[0])
                                                     ? json_null()
                                                     : json_real(rep->tls_days[0]));
        json_object_set_new(t, "cert_expiry_days", isnan(rep->tls_days[1])
                                                       ? json_null()
                                                       : json_real(rep->tls_days[1]));
        json_object_set_new(o, "tls", t);
    }
    for (i = 0; i < rep->n_endpoints; i++) {
        const health_endpoint_report *er = &rep->endpoints[i];
        json_t *e = json_object(), *lat = json_object();

        json_object_set_new(e, "index", json_integer(er->endpoint));
        json_object_set_new(e, "label", json_string(er->label));
        json_object_set_new(e, "status", json_string(health_status_name(er->status)));
        json_object_set_new(e, "server_cert_expiry_days", isnan(er->server_cert_days)
                                                              ? json_null()
                                                              : json_real(er->server_cert_days));
        json_object_set_new(e, "role", json_string(router_role_name(er->role)));
        json_object_set_new(e, "samples", json_integer(er->samples));
        json_object_set_new(e, "failures", json_integer(er->failures));
        json_object_set_new(e, "saturated", json_integer(er->saturated));
        json_object_set_new(e, "consecutive_failures", json_integer(er->consecutive_failures));
        json_object_set_new(lat, "p50", json_real(er->latency_p50_ms));
        json_object_set_new(lat, "p95", json_real(er->latency_p95_ms));
        json_object_set_new(e, "latency_ms", lat);
        json_object_set_new(e, "error_rate", json_real(er->error_rate));
        json_object_set_new(e, "uptime", json_real(er->uptime));
        json_object_set_new(e, "last_error",
                            er->last_error ? json_string(er->last_error) : json_null());
        json_object_set_new(e, "last_error_age_ms",
                            er->last_error_age_ms >= 0
                                ? json_integer((json_int_t)er->last_error_age_ms)
                                : json_null());
        json_object_set_new(e, "breaker", breaker_info_json(&er->breaker));
        json_object_set_new(e, "pool", pool_stats_json(&er->pool));
        json_array_append_new(eps, e);
    }
    json_object_set_new(o, "endpoints", eps);
    return o;
}

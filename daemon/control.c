/* SPDX-License-Identifier: Apache-2.0 */
/* control.c -- see control.h */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/redact.h"
#include "catalog/drift.h"
#include "catalog/view.h"
#include "control.h"
#include "plugin/registry.h"
#include "plugin/source.h"
#include "metrics.h"
#include "scheduler.h"
#include "store/audit.h"
#include "store/store.h"
#include "store/token.h"

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The "not found" of a source name (d->mu held). */
static void control_no_source(control_state *d, const char *name, derr *e)
{
    if (d->cur && cfg_find_source(d->cur->cfg, name))
        derr_set(e, DSRC_E_NOT_FOUND, "source '%s' is not served (disabled or invalid; "
                 "see 'dsrc sources')", name);
    else
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", name);
}

/* GET /v1/status */
static json_t *control_status(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    json_t *res;

    pthread_mutex_lock(&d->mu);
    res = json_pack("{s:s, s:i, s:s, s:i}", "version", PACKAGE_VERSION, "pid", (int)getpid(),
                    "config", d->conf_path, "sources", (int)d->n_units);
    pthread_mutex_unlock(&d->mu);
    return res;
}

enum { CONTROL_SOURCES, CONTROL_POOLS, CONTROL_HEALTH };

/* One unit's part of sources, pools or health. */
static json_t *control_unit_json(const unit *u, int what)
{
    health_report rep;
    health_status st = HEALTH_UNKNOWN;
    json_t *o = NULL;

    if (what == CONTROL_POOLS)
        return router_json(u->rt);
    if (health_report_get(u->hl, &rep) != 0)
        return what == CONTROL_HEALTH ? NULL : json_null();
    if (what == CONTROL_HEALTH)
        o = health_report_json(&rep);
    st = rep.status;
    health_report_free(&rep);
    if (what == CONTROL_HEALTH)
        return o;
    return json_pack("{s:s, s:s, s:i, s:s, s:s}", "name", u->src->cfg->name, "type",
                     u->src->cfg->type, "endpoints", (int)u->n_ep, "read_policy",
                     router_policy_name(router_get_policy(u->rt)), "status",
                     health_status_name(st));
}

/* GET /v1/sources, /v1/pools, /v1/health: every unit's, or ?source=. */
static json_t *control_units(control_state *d, api_request *r, int what, derr *e)
{
    const char *source = api_query(r, "source");
    json_t *res = json_array();
    size_t i, found = 0;

    if (source)
        snprintf(r->source, sizeof r->source, "%s", source);
    pthread_mutex_lock(&d->mu);
    for (i = 0; res && i < d->n_units; i++) {
        unit *u = &d->units[i];
        json_t *o;

        if (source && strcmp(source, u->src->cfg->name) != 0)
            continue;
        found++;
        o = control_unit_json(u, what);
        if (!o || json_array_append_new(res, o) != 0) {
            json_decref(res);
            res = NULL;
        }
    }
    if (res && source && !found) {
        json_decref(res);
        res = NULL;
        control_no_source(d, source, e);
    }
    pthread_mutex_unlock(&d->mu);
    return res;
}

static json_t *control_sources(void *user, api_request *r, derr *e)
{
    return control_units(user, r, CONTROL_SOURCES, e);
}

static json_t *control_pools(void *user, api_request *r, derr *e)
{
    return control_units(user, r, CONTROL_POOLS, e);
}

static json_t *control_health(void *user, api_request *r, derr *e)
{
    return control_units(user, r, CONTROL_HEALTH, e);
}

/* GET /v1/sources/{name}: its settings, secrets as ***. */
static json_t *control_source(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name = api_param(r, "name");
    const cfg_source *cs;
    json_t *res = NULL;

    snprintf(r->source, sizeof r->source, "%s", name);
    pthread_mutex_lock(&d->mu);
    if (d->cur && (cs = cfg_find_source(d->cur->cfg, name)))
        res = registry_source_json(cs, registry_find(d->cur->reg, name));
    else
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", name);
    pthread_mutex_unlock(&d->mu);
    return res;
}

/* The state store, opened for one request (SQLite: cheap, and no lock of
 * the daemon's held while reading it). */
static store *control_store(control_state *d, derr *e)
{
    char *dir;
    store *st;

    pthread_mutex_lock(&d->mu);
    dir = strdup(d->cur->cfg->state_dir);
    pthread_mutex_unlock(&d->mu);
    if (!dir) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    st = store_open(dir, e);
    free(dir);
    return st;
}

/* GET /v1/sources/{name}/drift[?since=MS] */
static json_t *control_source_drift(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name = api_param(r, "name"), *since = api_query(r, "since");
    long long ms = 0;
    int known;
    store *st;
    json_t *res;

    snprintf(r->source, sizeof r->source, "%s", name);
    if (since) {
        char *end;
        errno = 0;
        ms = strtoll(since, &end, 10);
        if (errno || *end || end == since || ms < 0) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "since '%s' is not milliseconds since the "
                     "epoch", since);
            return NULL;
        }
    }
    pthread_mutex_lock(&d->mu);
    known = d->cur && cfg_find_source(d->cur->cfg, name) != NULL;
    pthread_mutex_unlock(&d->mu);
    if (!known) {
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", name);
        return NULL;
    }
    if (!(st = control_store(d, e)))
        return NULL;
    res = drift_events_json(st, name, (int64_t)ms, e);
    store_close(st);
    return res;
}

/* The source of a {name} route known to the configuration: 0, or -1 with
 * `e` set (404). */
static int control_known_source(control_state *d, api_request *r, const char **name,
                                derr *e)
{
    int known;

    *name = api_param(r, "name");
    snprintf(r->source, sizeof r->source, "%s", *name);
    pthread_mutex_lock(&d->mu);
    known = d->cur && cfg_find_source(d->cur->cfg, *name) != NULL;
    pthread_mutex_unlock(&d->mu);
    if (!known)
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", *name);
    return known ? 0 : -1;
}

/* GET /v1/sources/{name}/catalog[?item=&snapshot=&at=MS] */
static json_t *control_source_catalog(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name, *item = api_query(r, "item"), *snap = api_query(r, "snapshot");
    const char *at = api_query(r, "at");
    long long id = 0, at_ms = 0;
    char *end;
    store *st;
    json_t *res;

    if (item)
        snprintf(r->item, sizeof r->item, "%s", item);
    errno = 0;
    if (snap && ((id = strtoll(snap, &end, 10)) < 1 || errno || *end || end == snap)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "snapshot '%s' is not a positive integer", snap);
        return NULL;
    }
    if (at && ((at_ms = strtoll(at, &end, 10)) < 1 || errno || *end || end == at)) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "at '%s' is not milliseconds since the epoch",
                 at);
        return NULL;
    }
    if (snap && at) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "snapshot and at exclude each other");
        return NULL;
    }
    if (control_known_source(d, r, &name, e) != 0 || !(st = control_store(d, e)))
        return NULL;
    res = catalog_view_json(st, name, (int64_t)id, (int64_t)at_ms, item, e);
    store_close(st);
    return res;
}

/* GET /v1/sources/{name}/stats */
static json_t *control_source_stats(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name;
    store *st;
    json_t *res;

    if (control_known_source(d, r, &name, e) != 0 || !(st = control_store(d, e)))
        return NULL;
    res = catalog_view_stats_json(st, name, NULL, e);
    store_close(st);
    return res;
}

/* A source test's watchdog: cancels the ping when it has not returned
 * within the limit. */
typedef struct control_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, fired;
    source_conn *conn;
    struct timespec until;
} control_watch;

static void *control_watchdog(void *p)
{
    control_watch *w = p;

    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &w->until) == ETIMEDOUT) {
            if (!w->done) {
                w->fired = 1;
                source_cancel(w->conn);
            }
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Ping on the lease, cancelled after limit_ms (the connection is then
 * marked broken in `e`, so that its release closes it). */
static dsrc_status control_ping(router_lease *l, int64_t limit_ms, dsrc_ping_info *info,
                                double *ms, derr *e)
{
    control_watch w = {.conn = l->conn};
    pthread_t t;
    dsrc_status st;
    int watching;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    clock_gettime(CLOCK_REALTIME, &w.until);
    w.until.tv_sec += (time_t)(limit_ms / 1000);
    w.until.tv_nsec += (long)(limit_ms % 1000) * 1000000L;
    if (w.until.tv_nsec >= 1000000000L) {
        w.until.tv_sec++;
        w.until.tv_nsec -= 1000000000L;
    }
    watching = pthread_create(&t, NULL, control_watchdog, &w) == 0;
    st = source_ping(l->conn, info, ms, e);
    pthread_mutex_lock(&w.mu);
    w.done = 1;
    pthread_cond_signal(&w.cv);
    pthread_mutex_unlock(&w.mu);
    if (watching)
        pthread_join(t, NULL);
    if (w.fired) {
        derr_clear(e);
        st = derr_set(e, DSRC_E_TIMEOUT, "the ping did not return within probe_timeout "
                      "(%.1f s)", (double)limit_ms / 1000.0);
    }
    if (w.fired) /* a cancelled connection is not used again */
        e->connection_broken = 1;
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}

/* POST /v1/sources/{name}/test: a ping on a connection leased from the
 * source's router (its pools and breakers apply), as a read. */
static json_t *control_source_test(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name = api_param(r, "name");
    router_source *rt = NULL;
    router_lease l;
    dsrc_ping_info info;
    int64_t limit_ms = 0;
    char *ep, *ver, served[160];
    double ms = 0;
    size_t i;
    int http;
    json_t *res;

    snprintf(r->source, sizeof r->source, "%s", name);
    pthread_mutex_lock(&d->mu);
    for (i = 0; i < d->n_units && !rt; i++)
        if (strcmp(d->units[i].src->cfg->name, name) == 0)
            rt = d->units[i].rt;
    if (!rt)
        control_no_source(d, name, e);
    else if (units_hold(rt) != 0)
        rt = NULL, derr_set(e, DSRC_E_INTERNAL, "out of memory");
    else
        limit_ms = d->cur->cfg->probe_timeout_ms;
    pthread_mutex_unlock(&d->mu);
    if (!rt)
        return NULL;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (router_acquire(rt, ROUTER_READ, "test", &l, e) == DSRC_OK) {
        snprintf(served, sizeof served, "%s", l.label ? l.label : "");
        control_ping(&l, limit_ms > 0 ? limit_ms : 10000, &info, &ms, e);
        router_release(rt, &l, e);
    }
    if (e->status != DSRC_OK) {
        units_unhold(rt);
        /* the source failed, not the caller: 502, or 503 when it may pass */
        http = api_status_retryable(e->status) ? 503 : 502;
        r->http = http;
        return api_problem(http, e->status, e->msg);
    }
    ep = redact_dup(info.endpoint);
    ver = redact_dup(info.server_version);
    res = json_pack("{s:b, s:f, s:s?, s:s, s:s, s:s?}", "ok", 1, "latency_ms", ms,
                    "endpoint", ep, "served_by", served, "role",
                    router_role_name(info.role), "server_version", ver);
    units_unhold(rt);
    free(ep);
    free(ver);
    return res;
}

/* GET /v1/jobs[?source=] */
static json_t *control_jobs(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *source = api_query(r, "source");
    json_t *res;

    if (!d->sched) {
        derr_set(e, DSRC_E_UNSUPPORTED, "dsrcd runs no jobs (no state store)");
        return NULL;
    }
    pthread_mutex_lock(&d->mu);
    res = scheduler_jobs_json(d->sched, source);
    if (res && source && !json_array_size(res) &&
        !(d->cur && cfg_find_source(d->cur->cfg, source))) {
        json_decref(res);
        res = NULL;
        derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", source);
    }
    pthread_mutex_unlock(&d->mu);
    return res;
}

/* A run id from the path: > 0, or 0 with e set. */
static int64_t control_run_id(api_request *r, derr *e)
{
    const char *s = api_param(r, "id");
    char *end;
    long long id;

    errno = 0;
    id = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || *end || id <= 0) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "run id '%s' is not a positive integer",
                 s ? s : "");
        return 0;
    }
    return (int64_t)id;
}

/* GET /v1/runs[?source=&state=&limit=] */
static json_t *control_runs(void *user, api_request *r, derr *e)
{
    const char *source = api_query(r, "source"), *state = api_query(r, "state");
    const char *limit = api_query(r, "limit");
    int st_code = -1;
    long lim = 0;
    store *st;
    json_t *res;

    if (state && (st_code = store_state_parse(state)) < 0) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "state '%s' is not one of queued, running, "
                 "succeeded, failed, cancelled", state);
        return NULL;
    }
    if (limit) {
        char *end;
        errno = 0;
        lim = strtol(limit, &end, 10);
        if (errno || *end || lim < 1 || lim > 100000) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "limit '%s' is not an integer from 1 to "
                     "100000", limit);
            return NULL;
        }
    }
    if (!(st = control_store(user, e)))
        return NULL;
    res = store_runs_json(st, source, st_code, (int)lim, e);
    store_close(st);
    return res;
}

/* GET /v1/runs/{id} */
static json_t *control_run(void *user, api_request *r, derr *e)
{
    int64_t id = control_run_id(r, e);
    store *st;
    json_t *res;

    if (!id || !(st = control_store(user, e)))
        return NULL;
    res = store_run_json(st, id, e);
    store_close(st);
    return res;
}

/* POST /v1/runs {"source", "kind": "discover"|"fetch", "item"} -> 202 */
static json_t *control_run_create(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *source = json_string_value(json_object_get(r->body, "source"));
    const char *kind = json_string_value(json_object_get(r->body, "kind"));
    const char *item = json_string_value(json_object_get(r->body, "item"));
    int64_t id = 0;
    dsrc_status st;

    if (!json_is_object(r->body) || !source || !*source) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "the body must be a JSON object with a "
                 "non-empty string \"source\"");
        return NULL;
    }
    if (!kind)
        kind = item ? "fetch" : "discover";
    if (strcmp(kind, "discover") != 0 && strcmp(kind, "fetch") != 0) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "\"kind\" must be \"discover\" or \"fetch\"");
        return NULL;
    }
    if (strcmp(kind, "fetch") == 0 ? !item || !*item : item != NULL) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "a fetch needs a non-empty string \"item\"; a "
                 "discover takes none");
        return NULL;
    }
    snprintf(r->source, sizeof r->source, "%s", source);
    if (item)
        snprintf(r->item, sizeof r->item, "%s", item);
    if (!d->sched) {
        derr_set(e, DSRC_E_UNSUPPORTED, "dsrcd runs no jobs (no state store)");
        return NULL;
    }
    pthread_mutex_lock(&d->mu);
    st = scheduler_request(d->sched, d->units, d->n_units, source, item, &id, e);
    pthread_mutex_unlock(&d->mu);
    if (st != DSRC_OK)
        return NULL;
    r->http = 202;
    snprintf(r->location, sizeof r->location, "/v1/runs/%" PRId64, id);
    return json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "queued");
}

/* DELETE /v1/runs/{id} */
static json_t *control_run_cancel(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    int64_t id = control_run_id(r, e);
    dsrc_status st;

    if (!id)
        return NULL;
    if (!d->sched) {
        derr_set(e, DSRC_E_UNSUPPORTED, "dsrcd runs no jobs (no state store)");
        return NULL;
    }
    pthread_mutex_lock(&d->mu);
    st = scheduler_cancel(d->sched, id, e);
    pthread_mutex_unlock(&d->mu);
    if (st != DSRC_OK)
        return NULL;
    return json_pack("{s:I, s:b}", "id", (json_int_t)id, "cancelling", 1);
}

/* POST /v1/reload: as SIGHUP, answered with the result. */
#define CONTROL_RELOAD_WAIT_S 120

static json_t *control_reload(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    struct timespec until;
    uint64_t mine;
    json_t *res = NULL;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CONTROL_RELOAD_WAIT_S;
    pthread_mutex_lock(&d->mu);
    mine = ++d->reload_asked;
    pthread_mutex_unlock(&d->mu);
    /* The main thread takes SIGHUP (every thread blocks it). */
    if (kill(getpid(), SIGHUP) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot ask for a reload: %s", strerror(errno));
        return NULL;
    }
    pthread_mutex_lock(&d->mu);
    while (d->reload_done < mine)
        if (pthread_cond_timedwait(&d->reloaded, &d->mu, &until) == ETIMEDOUT)
            break;
    if (d->reload_done >= mine)
        res = json_incref(d->reload_result);
    pthread_mutex_unlock(&d->mu);
    if (!res) {
        derr_set(e, DSRC_E_TIMEOUT, "the reload did not end within %d s (see the log)",
                 CONTROL_RELOAD_WAIT_S);
        return NULL;
    }
    if (!json_is_true(json_object_get(res, "reloaded"))) {
        json_t *p = api_problem(400, DSRC_E_INVALID_CONFIG,
                                "the new configuration has errors; the running one stays");
        if (p)
            json_object_set(p, "errors", json_object_get(res, "errors"));
        json_decref(res);
        r->http = 400;
        return p;
    }
    return res;
}

uint64_t control_reload_begin(control_state *d)
{
    uint64_t n;

    pthread_mutex_lock(&d->mu);
    n = d->reload_asked;
    pthread_mutex_unlock(&d->mu);
    return n;
}

void control_reload_end(control_state *d, uint64_t asked, json_t *result)
{
    pthread_mutex_lock(&d->mu);
    json_decref(d->reload_result);
    d->reload_result = result;
    if (asked > d->reload_done)
        d->reload_done = asked;
    pthread_cond_broadcast(&d->reloaded);
    pthread_mutex_unlock(&d->mu);
}

/* What the server was started with: restarted when it changes. */
static char *control_key(const cfg_config *cfg)
{
    const cfg_api *a = &cfg->api;
    char *key = NULL, *tmp;
    size_t n;
    int r;

    if (asprintf(&key, "%s|%s|%s|%s|%d|%" PRId64 "|%" PRId64 "|%" PRId64,
                 cfg->control_socket ? cfg->control_socket : "", a->listen ? a->listen : "",
                 a->tls_cert ? a->tls_cert : "", a->tls_key ? a->tls_key : "",
                 a->max_connections, a->idle_timeout_ms, a->max_header, a->max_body) < 0)
        return NULL;
    for (r = 0; r < CFG_API_ROLES; r++) {
        for (n = 0; n < a->n_users[r]; n++) {
            if (asprintf(&tmp, "%s|u%d:%s", key, r, a->users[r][n]) < 0)
                tmp = NULL;
            free(key);
            if (!(key = tmp))
                return NULL;
        }
        for (n = 0; n < a->n_groups[r]; n++) {
            if (asprintf(&tmp, "%s|g%d:%s", key, r, a->groups[r][n]) < 0)
                tmp = NULL;
            free(key);
            if (!(key = tmp))
                return NULL;
        }
    }
    return key;
}

/* GET /metrics */
static json_t *control_metrics(void *user, api_request *r, derr *e)
{
    if (!(r->text = metrics_render(user))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    r->text_len = strlen(r->text);
    r->text_type = METRICS_CONTENT_TYPE;
    return json_null();
}

/* The store of the token checks and the audit trail (see control.h). */
static store *control_api_store(control_state *d, derr *e)
{
    store *st;

    pthread_mutex_lock(&d->mu);
    if (!d->api_store)
        d->api_store = store_open(d->cur->cfg->state_dir, e);
    st = d->api_store;
    pthread_mutex_unlock(&d->mu);
    return st;
}

/* The API's bearer tokens are the state store's (store/token.h). */
static int control_token_check(void *user, const char *token, api_caller *out, derr *e)
{
    static const api_role roles[] = {
        [STORE_ROLE_VIEWER] = API_ROLE_VIEWER,
        [STORE_ROLE_OPERATOR] = API_ROLE_OPERATOR,
        [STORE_ROLE_ADMIN] = API_ROLE_ADMIN,
    };
    store *st = control_api_store(user, e);
    store_token_info info;
    store_token_verdict v;

    if (!st || store_token_check(st, token, &info, &v, e) != DSRC_OK)
        return -1;
    if ((unsigned)info.role >= sizeof roles / sizeof roles[0]) {
        derr_set(e, DSRC_E_AUTH, "the token's role is unknown");
        return -1;
    }
    out->role = roles[info.role];
    snprintf(out->who, sizeof out->who, "token %s", info.name);
    return 0;
}

/* Every audited request goes to the state store's chain (store/audit.h);
 * when it cannot, the log says so (the answer has gone already). */
static void control_audit(void *user, const api_audit_event *ev)
{
    store *st;
    store_audit_rec rec = {0};
    char action[320], result[16];
    derr e = {0};

    snprintf(action, sizeof action, "%s %s", ev->method, ev->route ? ev->route : ev->path);
    snprintf(result, sizeof result, "%d", ev->status);
    rec.who = ev->who;
    rec.origin = ev->from;
    rec.action = action;
    rec.source = ev->source;
    rec.item = ev->item;
    rec.result = result;
    rec.rows = -1;
    rec.bytes = (int64_t)ev->bytes;
    rec.detail = ev->route ? ev->path : NULL;
    if (!(st = control_api_store(user, &e)) || store_audit_append(st, &rec, NULL, &e) != DSRC_OK)
        log_msg(DSRC_LOG_ERROR, ev->source, NULL, "cannot record %s in the audit trail: %s",
                action, e.msg ? e.msg : "out of memory");
    derr_clear(&e);
}

void control_apply(control_state *d, const cfg_config *cfg, api_server **srv, char **key)
{
    derr e = {0};
    api_config ac;
    char *k = control_key(cfg);

    if (*srv && k && str_eq(*key, k)) {
        free(k);
        return;
    }
    api_server_stop(*srv);
    *srv = NULL;
    free(*key);
    *key = NULL;
    if (!cfg->control_socket && !cfg->api.listen) {
        free(k);
        return;
    }
    memset(&ac, 0, sizeof ac);
    ac.socket_path = cfg->control_socket;
    ac.api = &cfg->api;
    ac.user = d;
    ac.handlers[API_R_STATUS] = control_status;
    ac.handlers[API_R_HEALTH] = control_health;
    ac.handlers[API_R_POOLS] = control_pools;
    ac.handlers[API_R_SOURCES] = control_sources;
    ac.handlers[API_R_SOURCE] = control_source;
    ac.handlers[API_R_SOURCE_DRIFT] = control_source_drift;
    ac.handlers[API_R_JOBS] = control_jobs;
    ac.handlers[API_R_RUNS] = control_runs;
    ac.handlers[API_R_RUN_CREATE] = control_run_create;
    ac.handlers[API_R_RUN] = control_run;
    ac.handlers[API_R_RUN_CANCEL] = control_run_cancel;
    ac.handlers[API_R_RELOAD] = control_reload;
    ac.handlers[API_R_METRICS] = control_metrics;
    ac.handlers[API_R_SOURCE_TEST] = control_source_test;
    ac.handlers[API_R_SOURCE_CATALOG] = control_source_catalog;
    ac.handlers[API_R_SOURCE_STATS] = control_source_stats;
    ac.token_check = control_token_check;
    ac.token_user = d;
    ac.audit = control_audit;
    ac.audit_user = d;
    if (!(*srv = api_server_start(&ac, &e))) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "no control API (dsrc pools/health will not reach dsrcd): %s",
                e.msg ? e.msg : "out of memory");
        derr_clear(&e);
        free(k);
        return;
    }
    *key = k;
    if (cfg->control_socket)
        log_msg(DSRC_LOG_INFO, NULL, NULL, "control socket %s", cfg->control_socket);
    if (cfg->api.listen)
        log_msg(DSRC_LOG_INFO, NULL, NULL, "control API on %s (%s)", cfg->api.listen,
                cfg->api.tls_cert ? "TLS" : "no TLS");
}

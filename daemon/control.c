/* SPDX-License-Identifier: Apache-2.0 */
/* control.c -- see control.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
#include "catalog/meta_json.h"
#include "catalog/view.h"
#include "control.h"
#include "plugin/registry.h"
#include "plugin/source.h"
#include "metrics.h"
#include "openapi.h"
#include "output/fetch.h"
#include "scheduler.h"
#include "store/audit.h"
#include "store/query.h"
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
    /* the file as it is now (hand edits included), and its ETag */
    if (res)
        json_object_set_new(res, "document", control_source_document(d, r, name));
    return res;
}

/* The state store, opened for one request (SQLite: cheap, and no lock of
 * the daemon's held while reading it). */
store *control_store(control_state *d, derr *e)
{
    store_where *w;
    store *st;

    pthread_mutex_lock(&d->mu);
    w = store_where_of(d->cur->cfg);
    pthread_mutex_unlock(&d->mu);
    if (!w) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    st = store_open_where(w, e);
    store_where_free(w);
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

/* POST /v1/sources/{name}/test: a ping on a connection leased from the
 * source's router (its pools and breakers apply), as a read. */
static json_t *control_source_test(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    const char *name = api_param(r, "name");
    router_source *rt = NULL;
    unit_use use;
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
    else {
        units_use(&use, rt);
        limit_ms = d->cur->cfg->probe_timeout_ms;
    }
    pthread_mutex_unlock(&d->mu);
    if (!rt)
        return NULL;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (router_acquire(rt, ROUTER_READ, "test", &l, e) == DSRC_OK) {
        snprintf(served, sizeof served, "%s", l.label ? l.label : "");
        source_ping_within(l.conn, limit_ms > 0 ? limit_ms : 10000, &info, &ms, e);
        router_release(rt, &l, e);
    }
    if (e->status != DSRC_OK) {
        units_unuse(&use);
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
    units_unuse(&use);
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

/* GET /v1/queries[?source=&limit=] */
static json_t *control_queries(void *user, api_request *r, derr *e)
{
    const char *source = api_query(r, "source"), *limit = api_query(r, "limit");
    long lim = 0;
    store *st;
    json_t *res;

    if (limit) {
        char *end;
        errno = 0;
        lim = strtol(limit, &end, 10);
        if (errno || end == limit || *end || lim < 1 || lim > 100000) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "limit '%s' is not an integer from 1 to "
                     "100000", limit);
            return NULL;
        }
    }
    if (!(st = control_store(user, e)))
        return NULL;
    res = store_queries_json(st, source, lim, e);
    store_close(st);
    return res;
}

/* A node is live while its heartbeat is this recent. */
#define CONTROL_NODE_LIVE_MS 10000

/* GET /v1/nodes */
static json_t *control_nodes(void *user, api_request *r, derr *e)
{
    store *st;
    json_t *res;

    (void)r;
    if (!(st = control_store(user, e)))
        return NULL;
    res = store_nodes_json(st, CONTROL_NODE_LIVE_MS, e);
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

json_t *control_reload_wait(control_state *d, derr *e)
{
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
    if (!res)
        derr_set(e, DSRC_E_TIMEOUT, "the reload did not end within %d s (see the log)",
                 CONTROL_RELOAD_WAIT_S);
    return res;
}

static json_t *control_reload(void *user, api_request *r, derr *e)
{
    control_state *d = user;
    json_t *res = control_reload_wait(d, e);

    if (!res)
        return NULL;
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

/* GET /openapi.json: the document compiled in (openapi.h), as it is. */
static json_t *control_openapi(void *user, api_request *r, derr *e)
{
    if (!(r->text = malloc(openapi_doc_len))) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    memcpy(r->text, openapi_doc, openapi_doc_len);
    r->text_len = openapi_doc_len;
    r->text_type = "application/json";
    return json_null();
}

/* ------------------------------------------------------------------------ */
/* Items and data: plugin calls on a connection leased from the unit's router */

/* One plugin call of a handler: the unit's router, configuration and
 * source (kept while `use` is in force) and the lease. */
typedef struct control_call {
    unit_use use;
    router_source *rt;
    const cfg_config *cfg;
    const cfg_source *cs;
    router_lease lease;
} control_call;

/* Find the served source `name` and lease a connection for `op`
 * (router_intent_for()).  DSRC_OK, or the status with e set (the source
 * unknown or not served: DSRC_E_NOT_FOUND; else the router's). */
static dsrc_status control_call_begin(control_state *d, const char *name, const char *op,
                                      control_call *c, derr *e)
{
    size_t i;

    memset(c, 0, sizeof *c);
    pthread_mutex_lock(&d->mu);
    for (i = 0; i < d->n_units; i++)
        if (d->units[i].rt && strcmp(d->units[i].src->cfg->name, name) == 0)
            break;
    if (i == d->n_units) {
        control_no_source(d, name, e);
        pthread_mutex_unlock(&d->mu);
        return e->status;
    }
    c->rt = d->units[i].rt;
    c->cfg = d->units[i].gen->cfg;
    c->cs = d->units[i].src->cfg;
    units_use(&c->use, c->rt);
    pthread_mutex_unlock(&d->mu);
    if (router_acquire(c->rt, router_intent_for(op), op, &c->lease, e) != DSRC_OK) {
        c->lease.conn = NULL;
        return e->status ? e->status : DSRC_E_INTERNAL;
    }
    return DSRC_OK;
}

/* Give the lease back with the call's outcome (NULL: success) and let the
 * unit go. */
static void control_call_end(control_call *c, const derr *result)
{
    if (c->lease.conn)
        router_release(c->rt, &c->lease, result && result->status != DSRC_OK ? result : NULL);
    c->lease.conn = NULL;
    units_unuse(&c->use);
}

static int control_item_add(void *user, const dsrc_item *it)
{
    return json_array_append_new(user, meta_item_json(it));
}

/* GET /v1/sources/{name}/items[?path=P]: the plugin's list() of P. */
static json_t *control_items(void *user, api_request *r, derr *e)
{
    const char *name = api_param(r, "name"), *path = api_query(r, "path");
    dsrc_item_sink sink;
    control_call c;
    json_t *arr;

    snprintf(r->source, sizeof r->source, "%s", name);
    if (control_call_begin(user, name, "list", &c, e) != DSRC_OK) {
        control_call_end(&c, e);
        return NULL;
    }
    arr = json_array();
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = arr;
    sink.item = control_item_add;
    if (!arr || source_list(c.lease.conn, path ? path : "", &sink, e) != DSRC_OK) {
        json_decref(arr);
        arr = NULL;
    }
    control_call_end(&c, arr ? NULL : e);
    return arr;
}

static int control_item_meta(void *user, const dsrc_metadata *md)
{
    json_t **out = user;

    json_decref(*out);
    *out = meta_metadata_json(md);
    return *out ? 0 : -1;
}

/* GET /v1/sources/{name}/items/{item}: the plugin's describe(). */
static json_t *control_item(void *user, api_request *r, derr *e)
{
    const char *name = api_param(r, "name"), *item = api_param(r, "item");
    dsrc_meta_sink sink;
    control_call c;
    json_t *res = NULL;

    snprintf(r->source, sizeof r->source, "%s", name);
    snprintf(r->item, sizeof r->item, "%s", item);
    if (control_call_begin(user, name, "describe", &c, e) != DSRC_OK) {
        control_call_end(&c, e);
        return NULL;
    }
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &res;
    sink.metadata = control_item_meta;
    if (source_describe(c.lease.conn, item, &sink, e) != DSRC_OK) {
        json_decref(res);
        res = NULL;
    } else if (!res) {
        derr_set(e, DSRC_E_NOT_FOUND, "%s: no metadata for item '%s'", name, item);
    }
    control_call_end(&c, res ? NULL : e);
    return res;
}

/* A data stream: a fetch thread runs fetch_run() into a pipe (bounded:
 * memory stays flat whatever the size); the connection's thread reads the
 * other end.  Errors before the first byte are answered as problems; a
 * client that goes away cancels the plugin call. */
#define CONTROL_STOP_POLL_MS 250

typedef struct control_stream {
    control_state *d;
    control_call call;
    fetch_opts o;
    char *item, *format, *after, *cursor_field, **cols;
    char out[32];               /* "/dev/fd/N": the pipe's write end       */
    int rfd, wfd;
    const atomic_int *stopping; /* the server's (api_request.stopping)     */
    pthread_t th;
    int running;                /* the thread is not joined yet            */
    int cancelled;
    dsrc_status st;             /* fetch_run()'s                            */
    derr err;
    char first[16384];          /* the first bytes, read before answering  */
    size_t first_len, first_off;
    /* a query (POST /v1/sources/{name}/query) instead of an item: recorded
       in the history and the audit trail when it ends */
    int is_query;
    char *query, **params;
    size_t n_params;
    mask_rule *mask;
    size_t n_mask;
    char source[128], caller[128], origin[80];
    int64_t started_ms;
    uint64_t rows, bytes;       /* the fetch's, when it succeeded          */
    uint64_t sent;              /* the bytes given to the connection       */
    derr refused;               /* why it failed before the fetch ran      */
} control_stream;

/* read() of the fetch's pipe that gives up (-1, ECANCELED) when the
 * server stops, or, with `r` (before the answer), when its client has gone:
 * a fetch slow to give its rows never holds dsrcd's exit nor runs for
 * nobody. */
static ssize_t control_stream_pipe_read(control_stream *s, const api_request *r, char *buf,
                                        size_t max)
{
    struct pollfd pfd = {.fd = s->rfd, .events = POLLIN};
    ssize_t n;

    for (;;) {
        if (atomic_load(s->stopping) || (r && api_client_gone(r))) {
            errno = ECANCELED;
            return -1;
        }
        n = poll(&pfd, 1, CONTROL_STOP_POLL_MS);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n <= 0)
            continue;
        do
            n = read(s->rfd, buf, max);
        while (n < 0 && errno == EINTR);
        return n;
    }
}

static void *control_stream_main(void *arg)
{
    control_stream *s = arg;
    fetch_report rep;

    memset(&rep, 0, sizeof rep);
    s->st = fetch_run(s->call.cfg, s->call.lease.conn, &s->o, &rep, &s->err);
    if (s->st == DSRC_OK) {
        s->rows = rep.rows;
        s->bytes = rep.bytes;
        fetch_report_free(&rep);
    }
    close(s->wfd);              /* the reader sees the end */
    s->wfd = -1;
    return NULL;
}

static void control_stream_join(control_stream *s)
{
    if (s->running)
        pthread_join(s->th, NULL);
    s->running = 0;
}

static store *control_api_store(control_state *d, derr *e);

/* The record of a query that ended with `why` (NULL or DSRC_OK: it
 * succeeded), in the history and the audit trail. */
static void control_query_record(control_state *d, control_stream *s, const derr *why)
{
    char hex[65];
    store_query_rec q = {0};
    derr e = {0};
    store *st;
    int ok = !why || why->status == DSRC_OK;

    q.started_at = s->started_ms;
    q.source = s->source;
    q.endpoint = s->call.lease.conn ? s->call.lease.label : NULL;
    q.caller = s->caller;
    q.text = s->query;
    q.n_params = (int64_t)s->n_params;
    if (s->n_params) {
        fetch_params_sha256((const char *const *)s->params, s->n_params, hex);
        q.params_sha256 = hex[0] ? hex : NULL;
    }
    q.rows = ok ? (int64_t)s->rows : -1;
    q.bytes = ok ? (int64_t)s->bytes : (int64_t)s->sent;
    q.duration_ms = store_now() - s->started_ms;
    q.result = ok ? "ok" : error_status_name(why->status);
    q.error = ok ? NULL : why->msg;
    if (!(st = control_api_store(d, &e)) ||
        store_query_record(st, &q, s->origin, NULL, &e) != DSRC_OK)
        log_msg(DSRC_LOG_ERROR, s->source, NULL, "cannot record a query in the history: %s",
                e.msg ? e.msg : "out of memory");
    derr_clear(&e);
}

/* End it: cancel the plugin call when it still runs, give the connection
 * back (closed when cancelled or failed), record a query, free
 * everything. */
static void control_stream_end(control_stream *s)
{
    derr why = {0};

    if (s->running) {
        s->cancelled = 1;
        source_cancel(s->call.lease.conn);
    }
    if (s->rfd >= 0)
        close(s->rfd);          /* a write blocked on a full pipe fails */
    s->rfd = -1;
    control_stream_join(s);
    if (s->wfd >= 0)
        close(s->wfd);
    if (s->cancelled) {
        int stop = s->stopping && atomic_load(s->stopping);
        derr_set(&why, DSRC_E_CANCELLED, "cancelled: %s",
                 stop ? "dsrcd is stopping" : "the client went away");
        why.connection_broken = 1;
        log_msg(DSRC_LOG_NOTICE, s->call.cs->name, NULL, "API data of %s: %s; fetch cancelled",
                s->item, stop ? "dsrcd is stopping" : "the client went away");
    } else if (s->st != DSRC_OK) {
        why = s->err;
        memset(&s->err, 0, sizeof s->err);
        if (!why.msg)
            derr_set(&why, s->st, "fetch failed");
    }
    if (s->is_query)
        control_query_record(s->d, s, why.status != DSRC_OK ? &why
                                      : s->refused.status != DSRC_OK ? &s->refused : NULL);
    control_call_end(&s->call, why.status != DSRC_OK ? &why : NULL);
    derr_clear(&why);
    derr_clear(&s->err);
    derr_clear(&s->refused);
    free(s->query);
    free(s->params);
    mask_rules_free(s->mask, s->n_mask);
    free(s->item);
    free(s->format);
    free(s->after);
    free(s->cursor_field);
    free(s->cols);
    free(s);
}

static long control_stream_read(void *user, char *buf, size_t max)
{
    control_stream *s = user;
    ssize_t n;

    if (s->first_off < s->first_len) {
        n = (ssize_t)(s->first_len - s->first_off < max ? s->first_len - s->first_off : max);
        memcpy(buf, s->first + s->first_off, (size_t)n);
        s->first_off += (size_t)n;
        s->sent += (uint64_t)n;
        return (long)n;
    }
    n = control_stream_pipe_read(s, NULL, buf, max);
    if (n > 0) {
        s->sent += (uint64_t)n;
        return (long)n;
    }
    if (n == 0)                 /* the fetch is over: wait for its status */
        control_stream_join(s);
    if (n == 0 && s->st == DSRC_OK)
        return 0;
    log_msg(DSRC_LOG_WARNING, s->call.cs->name, NULL,
            "API data of %s: failed while streaming (the answer is cut): %s", s->item,
            s->err.msg ? s->err.msg : n < 0 ? strerror(errno) : "fetch failed");
    return -1;
}

static void control_stream_free(void *user, int completed)
{
    (void)completed;
    control_stream_end(user);
}

/* The options of a data request, with the item's fetch rule's defaults
 * (as `dsrc fetch`).  0, or -1 with e set. */
static int control_stream_opts(control_stream *s, api_request *r, derr *e)
{
    const char *format = api_query(r, "format"), *cols = api_query(r, "columns");
    const char *limit = api_query(r, "limit"), *after = api_query(r, "after");
    const char *field = api_query(r, "cursor_field");
    const cfg_fetch_rule *rule = NULL;
    size_t k;

    for (k = 0; k < s->call.cs->n_fetch; k++)
        if (strcmp(s->call.cs->fetch[k].item, s->item) == 0)
            rule = &s->call.cs->fetch[k];
    s->o.item = s->item;
    s->o.limit = rule && rule->limit >= 0 ? rule->limit : -1;
    s->o.format = format ? format : rule && rule->format ? rule->format : "csv";
    if (strcmp(s->o.format, "csv") != 0 && strcmp(s->o.format, "jsonl") != 0) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "format '%s' is not csv or jsonl%s", s->o.format,
                 format ? "" : " (the fetch rule's: give format=)");
        return -1;
    }
    if (limit) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(limit, &end, 10);
        if (errno || end == limit || *end || v < 0) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "limit '%s' is not a non-negative integer",
                     limit);
            return -1;
        }
        s->o.limit = v;
    }
    if (cols) {
        if (!(s->cols = fetch_split_columns(cols, &s->o.n_columns)))
            return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
        if (!s->o.n_columns) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "columns needs at least one column name");
            return -1;
        }
        s->o.columns = (const char *const *)s->cols;
    } else if (rule && rule->n_columns) {
        s->o.columns = (const char *const *)rule->columns;
        s->o.n_columns = rule->n_columns;
    }
    if (rule && rule->n_mask) {
        /* the rule's mask applies to every route of its item */
        s->o.mask = rule->mask;
        s->o.n_mask = rule->n_mask;
    }
    if ((field && !(s->cursor_field = strdup(field))) ||
        (after && !(s->after = strdup(after))))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
    s->o.cursor_field = s->cursor_field;
    if (after && !s->o.cursor_field && rule && rule->cursor_field)
        s->o.cursor_field = rule->cursor_field;
    if (after && !s->o.cursor_field) {
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "after needs a cursor field (cursor_field=, or "
                 "cursor_field in the fetch rule of %s)", s->item);
        return -1;
    }
    s->o.cursor_value = s->after;
    return 0;
}

/* Start s's fetch (its options set, its call begun) in its thread, into
 * a pipe, and answer with its first bytes: a streamed answer (json null),
 * or NULL with e set when it failed before any byte (s is ended then). */
static json_t *control_stream_serve(control_stream *s, api_request *r, derr *e)
{
    int fds[2] = {-1, -1};
    ssize_t n;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot make a pipe: %s", strerror(errno));
        goto fail;
    }
    s->rfd = fds[0];
    s->wfd = fds[1];
    snprintf(s->out, sizeof s->out, "/dev/fd/%d", s->wfd);
    s->o.output = s->out;
    s->o.endpoint = s->call.lease.label;
    if (pthread_create(&s->th, NULL, control_stream_main, s) != 0) {
        derr_set(e, DSRC_E_INTERNAL, "cannot start a thread");
        goto fail;
    }
    s->running = 1;
    /* The first bytes, or the end: an error now is still an answer. */
    n = control_stream_pipe_read(s, r, s->first, sizeof s->first);
    if (n > 0) {
        s->first_len = (size_t)n;
    } else if (n < 0) {
        if (errno == ECANCELED)
            derr_set(e, DSRC_E_CANCELLED, "%s", atomic_load(s->stopping)
                     ? "dsrcd is stopping" : "the client went away");
        else
            derr_set(e, DSRC_E_INTERNAL, "cannot read the fetch's output: %s",
                     strerror(errno));
        goto fail;              /* the fetch is cancelled */
    } else {
        control_stream_join(s);
        if (s->st != DSRC_OK) {
            *e = s->err;
            memset(&s->err, 0, sizeof s->err);
            if (!e->msg)
                derr_set(e, s->st, "the %s of '%s' failed", s->is_query ? "query" : "fetch",
                         s->is_query ? s->source : s->item);
            goto fail;
        }
    }
    r->stream_read = control_stream_read;
    r->stream_free = control_stream_free;
    r->stream_user = s;
    r->stream_type = strcmp(s->o.format, "csv") == 0 ? "text/csv; charset=utf-8"
                                                     : "application/x-ndjson";
    return json_null();
fail:
    if (s->st != DSRC_OK)       /* the fetch failed: the lease's outcome */
        derr_set(&s->err, e->status, "%s", e->msg ? e->msg : "fetch failed");
    else                        /* it did not run: recorded so */
        derr_set(&s->refused, e->status, "%s", e->msg ? e->msg : "refused");
    control_stream_end(s);
    return NULL;
}

/* GET /v1/sources/{name}/items/{item}/data */
static json_t *control_item_data(void *user, api_request *r, derr *e)
{
    const char *name = api_param(r, "name"), *item = api_param(r, "item");
    control_stream *s = calloc(1, sizeof *s);

    snprintf(r->source, sizeof r->source, "%s", name);
    snprintf(r->item, sizeof r->item, "%s", item);
    if (!s || !(s->item = strdup(item))) {
        free(s);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    s->d = user;
    s->rfd = s->wfd = -1;
    s->stopping = r->stopping;
    if (control_call_begin(user, name, "fetch", &s->call, e) != DSRC_OK ||
        control_stream_opts(s, r, e) < 0) {
        control_stream_end(s);
        return NULL;
    }
    return control_stream_serve(s, r, e);
}

/* A query's time limit when the request gives none (dsrc query's too). */
#define CONTROL_QUERY_TIMEOUT_MS 300000

/* The body of a query request into s: {"query", "params", "limit",
 * "format", "timeout_ms", "mask"}.  0, or -1 with e set. */
static int control_query_opts(control_stream *s, const json_t *body, derr *e)
{
    const char *key, *mode;
    json_t *v, *p;
    size_t i;

    if (!json_is_object(body))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "the body must be a JSON object "
                        "{\"query\": \"...\", \"params\": [...], ...}"), -1;
    v = json_object_get(body, "query");
    if (!json_is_string(v) || !*json_string_value(v))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'query' must be a non-empty string"), -1;
    if (!(s->query = strdup(json_string_value(v))))
        return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
    s->o.query = s->query;
    json_object_foreach((json_t *)body, key, v) {
        if (strcmp(key, "query") && strcmp(key, "params") && strcmp(key, "limit") &&
            strcmp(key, "format") && strcmp(key, "timeout_ms") && strcmp(key, "mask"))
            return derr_set(e, DSRC_E_INVALID_ARGUMENT, "unknown member '%s' (query, params, "
                            "limit, format, timeout_ms, mask)", key), -1;
    }
    /* the parameters: strings or null (numbers and booleans as their
       text), kept in one block */
    if ((v = json_object_get(body, "params")) && !json_is_array(v))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'params' must be an array"), -1;
    if (v && json_array_size(v)) {
        size_t n = json_array_size(v), size = n * sizeof(char *);
        char *at;
        json_array_foreach(v, i, p) {
            if (json_is_string(p))
                size += strlen(json_string_value(p)) + 1;
            else if (json_is_number(p) || json_is_boolean(p))
                size += 32;
            else if (!json_is_null(p))
                return derr_set(e, DSRC_E_INVALID_ARGUMENT, "params[%zu] must be a string, a "
                                "number, a boolean or null", i), -1;
        }
        if (!(s->params = malloc(size)))
            return derr_set(e, DSRC_E_INTERNAL, "out of memory"), -1;
        at = (char *)(s->params + n);
        json_array_foreach(v, i, p) {
            s->params[i] = json_is_null(p) ? NULL : at;
            if (json_is_string(p))
                at = stpcpy(at, json_string_value(p)) + 1;
            else if (json_is_integer(p))
                at += snprintf(at, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(p)) + 1;
            else if (json_is_real(p))
                at += snprintf(at, 32, "%.17g", json_real_value(p)) + 1;
            else if (json_is_boolean(p))
                at = stpcpy(at, json_is_true(p) ? "true" : "false") + 1;
        }
        s->n_params = n;
        s->o.params = (const char *const *)s->params;
        s->o.n_params = n;
    }
    s->o.limit = -1;
    if ((v = json_object_get(body, "limit")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'limit' must be a non-negative "
                            "integer"), -1;
        s->o.limit = json_integer_value(v);
    }
    s->o.timeout_ms = CONTROL_QUERY_TIMEOUT_MS;
    if ((v = json_object_get(body, "timeout_ms")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'timeout_ms' must be a non-negative "
                            "integer (0: none)"), -1;
        s->o.timeout_ms = json_integer_value(v);
    }
    s->o.format = "csv";
    if ((v = json_object_get(body, "format")) && !json_is_null(v)) {
        if (!json_is_string(v) || (strcmp(json_string_value(v), "csv") &&
                                   strcmp(json_string_value(v), "jsonl")))
            return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'format' must be \"csv\" or "
                            "\"jsonl\""), -1;
        s->o.format = strcmp(json_string_value(v), "csv") == 0 ? "csv" : "jsonl";
    }
    if ((v = json_object_get(body, "mask")) && !json_is_null(v)) {
        if (!json_is_object(v))
            return derr_set(e, DSRC_E_INVALID_ARGUMENT, "'mask' must be an object "
                            "{\"column\": \"mode\"}"), -1;
        json_object_foreach(v, key, p) {
            char *why = NULL;
            if (!(mode = json_string_value(p)))
                return derr_set(e, DSRC_E_INVALID_ARGUMENT, "mask of '%s': the mode must be "
                                "a string (hash, redact, truncate:UNIT, last4)", key), -1;
            if (mask_rules_add(&s->mask, &s->n_mask, key, mode, &why) < 0) {
                derr_set(e, why ? DSRC_E_INVALID_ARGUMENT : DSRC_E_INTERNAL, "mask: %s",
                         why ? why : "out of memory");
                free(why);
                return -1;
            }
        }
        s->o.mask = s->mask;
        s->o.n_mask = s->n_mask;
    }
    return 0;
}

/* POST /v1/sources/{name}/query: one read-only query, its rows streamed
 * as the data stream's; recorded in the history and the audit trail. */
static json_t *control_source_query(void *user, api_request *r, derr *e)
{
    const char *name = api_param(r, "name");
    control_stream *s = calloc(1, sizeof *s);

    snprintf(r->source, sizeof r->source, "%s", name);
    if (!s || !(s->item = strdup("query"))) {
        free(s);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    s->d = user;
    s->rfd = s->wfd = -1;
    s->stopping = r->stopping;
    s->started_ms = store_now();
    snprintf(s->source, sizeof s->source, "%s", name);
    snprintf(s->caller, sizeof s->caller, "%s", r->caller->who);
    snprintf(s->origin, sizeof s->origin, "%s", r->caller->from);
    if (control_query_opts(s, r->body, e) < 0) {
        /* no statement: nothing to record */
        s->is_query = s->query != NULL;
        if (s->is_query)
            derr_set(&s->refused, e->status, "%s", e->msg ? e->msg : "refused");
        control_stream_end(s);
        return NULL;
    }
    s->is_query = 1;
    if (control_call_begin(user, name, "query", &s->call, e) != DSRC_OK) {
        derr_set(&s->refused, e->status, "%s", e->msg ? e->msg : "refused");
        control_stream_end(s);
        return NULL;
    }
    return control_stream_serve(s, r, e);
}

/* The store of the token checks and the audit trail (see control.h). */
static store *control_api_store(control_state *d, derr *e)
{
    store *st;

    pthread_mutex_lock(&d->mu);
    if (!d->api_store)
        d->api_store = store_open_cfg(d->cur->cfg, e);
    if (!d->tokens)
        d->tokens = store_token_cache_new(CONTROL_TOKEN_TTL_MS);
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
    control_state *d = user;
    store *st = control_api_store(d, e);
    store_token_info info;
    store_token_verdict v;

    memset(&info, 0, sizeof info);
    if (!st || store_token_check_cached(st, d->tokens, token, &info, &v, e) != DSRC_OK) {
        if (info.name[0])   /* expired or revoked: named in the audit trail */
            snprintf(out->who, sizeof out->who, "token %s", info.name);
        return -1;
    }
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
    char action[320], result[16], detail[1024];
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
    if (ev->detail)
        snprintf(detail, sizeof detail, "%s: %s", ev->path, ev->detail);
    rec.detail = ev->detail ? detail : ev->route ? ev->path : NULL;
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
    ac.handlers[API_R_NODES] = control_nodes;
    ac.handlers[API_R_QUERIES] = control_queries;
    ac.handlers[API_R_SOURCE_QUERY] = control_source_query;
    ac.handlers[API_R_RUN_CREATE] = control_run_create;
    ac.handlers[API_R_RUN] = control_run;
    ac.handlers[API_R_RUN_CANCEL] = control_run_cancel;
    ac.handlers[API_R_RELOAD] = control_reload;
    ac.handlers[API_R_METRICS] = control_metrics;
    ac.handlers[API_R_OPENAPI] = control_openapi;
    ac.handlers[API_R_ITEMS] = control_items;
    ac.handlers[API_R_ITEM] = control_item;
    ac.handlers[API_R_ITEM_DATA] = control_item_data;
    ac.handlers[API_R_SOURCE_TEST] = control_source_test;
    ac.handlers[API_R_SOURCE_CATALOG] = control_source_catalog;
    ac.handlers[API_R_SOURCE_STATS] = control_source_stats;
    ac.handlers[API_R_SOURCE_CREATE] = control_source_create;
    ac.handlers[API_R_SOURCE_REPLACE] = control_source_replace;
    ac.handlers[API_R_SOURCE_PATCH] = control_source_patch;
    ac.handlers[API_R_SOURCE_DELETE] = control_source_delete;
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

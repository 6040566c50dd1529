/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control_sources.c -- the routes that add, change and remove sources at
 * run time: the file is written by plugin/srcedit.c (checked, tested,
 * secrets encrypted, atomically), then the daemon reloads, which serves
 * the changed source and keeps every other source's pools as they are
 * (units.c carries a unit over when its endpoints did not change).
 */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "control.h"
#include "plugin/srcedit.h"
#include "scheduler.h"
#include "store/store.h"

/* A reference to the current generation (its plugin set, its settings). */
static generation *control_gen(control_state *d)
{
    generation *g;

    pthread_mutex_lock(&d->mu);
    g = d->cur;
    g->refs++;
    pthread_mutex_unlock(&d->mu);
    return g;
}

/* ?NAME=true|false; `def` when absent, -1 (with `e` set) when neither. */
static int control_flag(api_request *r, const char *name, int def, derr *e)
{
    const char *v = api_query(r, name);

    if (!v)
        return def;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    derr_set(e, DSRC_E_INVALID_ARGUMENT, "?%s= takes true or false, not '%s'", name, v);
    return -1;
}

/* Cancel the running runs of a source being removed. */
static int control_cancel_runs(control_state *d, const char *name)
{
    derr e = {0};
    store *st;
    json_t *runs, *run;
    size_t i;
    int n = 0;

    if (!d->sched || !(st = control_store(d, &e))) {
        derr_clear(&e);
        return 0;
    }
    runs = store_runs_json(st, name, RUN_RUNNING, 0, &e);
    store_close(st);
    json_array_foreach(runs, i, run) {
        json_int_t id = json_integer_value(json_object_get(run, "id"));
        pthread_mutex_lock(&d->mu);
        if (scheduler_cancel(d->sched, (int64_t)id, &e) == DSRC_OK)
            n++;
        pthread_mutex_unlock(&d->mu);
        derr_clear(&e);
    }
    json_decref(runs);
    derr_clear(&e);
    return n;
}

static json_t *control_source_change(control_state *d, api_request *r, srcedit_op op, derr *e)
{
    srcedit_req rq;
    srcedit_res res;
    generation *g;
    json_t *out, *reload;
    derr re = {0};
    int cancel = 0, purge = 0, rc;

    memset(&rq, 0, sizeof rq);
    rq.op = op;
    rq.name = op == SRCEDIT_CREATE ? NULL : api_param(r, "name");
    rq.doc = r->body;
    rq.if_match = api_header(r, "If-Match");
    if (rq.name)
        snprintf(r->source, sizeof r->source, "%s", rq.name);
    if (op == SRCEDIT_DELETE) {
        if ((cancel = control_flag(r, "cancel", 0, e)) < 0 ||
            (purge = control_flag(r, "purge", 0, e)) < 0)
            return NULL;
    } else {
        if ((rq.test = control_flag(r, "test", 1, e)) < 0)
            return NULL;
        if (!r->body) {
            derr_set(e, DSRC_E_INVALID_ARGUMENT, "the request needs a JSON body: %s",
                     op == SRCEDIT_PATCH ? "a merge patch of the source's settings"
                                         : "the source's settings, as in its file");
            return NULL;
        }
    }
    g = control_gen(d);
    rq.test_timeout_ms = g->cfg->probe_timeout_ms;
    rc = srcedit_apply(d->conf_path, gen_plugin_set(g), &rq, &res);
    gen_unref(g);
    if (res.name[0])
        snprintf(r->source, sizeof r->source, "%.127s", res.name);
    if (rc < 0) {
        r->http = res.http;
        out = api_problem(res.http, res.status, res.message);
        if (out && json_array_size(res.errors))
            json_object_set(out, "errors", res.errors);
        if (out && res.test)
            json_object_set(out, "test", res.test);
        srcedit_res_free(&res);
        return out;
    }
    srcdoc_changed_text(res.changed, r->detail, sizeof r->detail);
    log_msg(DSRC_LOG_NOTICE, res.name, NULL, "source %s through the API by %s: %s (%s)",
            op == SRCEDIT_CREATE ? "added" : op == SRCEDIT_DELETE ? "removed" : "changed",
            r->caller->who, res.file, r->detail[0] ? r->detail : "no field changed");
    if (cancel) {
        int n = control_cancel_runs(d, res.name);
        if (n)
            log_msg(DSRC_LOG_NOTICE, res.name, NULL, "cancelling %d run(s) of the removed "
                    "source", n);
    }
    reload = control_reload_wait(d, &re);
    out = json_pack("{s:s, s:s, s:s?, s:O?, s:o, s:b}", "source", res.name, "file", res.file,
                    "etag", res.etag[0] ? res.etag : NULL, "test", res.test, "changed",
                    res.changed ? json_incref(res.changed) : json_array(),
                    "applied", json_is_true(json_object_get(reload, "reloaded")));
    if (out && !json_is_true(json_object_get(reload, "reloaded"))) {
        /* stored, not served: the daemon's configuration has other errors */
        json_object_set_new(out, "apply_error",
                            json_string(re.msg ? re.msg
                                               : "the configuration has errors elsewhere; "
                                                 "the running one stays (see errors)"));
        json_object_set(out, "errors", reload ? json_object_get(reload, "errors")
                                              : json_array());
    }
    derr_clear(&re);
    json_decref(reload);
    if (out && purge) {
        store *st = control_store(d, &re);
        int64_t n = st ? store_purge_source(st, res.name, &re) : -1;
        store_close(st);
        if (n >= 0)
            json_object_set_new(out, "purged", json_integer(n));
        else
            json_object_set_new(out, "purge_error", json_string(re.msg ? re.msg : "?"));
        derr_clear(&re);
    }
    if (op == SRCEDIT_CREATE) {
        r->http = 201;
        snprintf(r->location, sizeof r->location, "/v1/sources/%s", res.name);
    }
    snprintf(r->etag, sizeof r->etag, "%s", res.etag);
    srcedit_res_free(&res);
    return out;
}

json_t *control_source_create(void *user, api_request *r, derr *e)
{
    return control_source_change(user, r, SRCEDIT_CREATE, e);
}

json_t *control_source_replace(void *user, api_request *r, derr *e)
{
    return control_source_change(user, r, SRCEDIT_REPLACE, e);
}

json_t *control_source_patch(void *user, api_request *r, derr *e)
{
    return control_source_change(user, r, SRCEDIT_PATCH, e);
}

json_t *control_source_delete(void *user, api_request *r, derr *e)
{
    return control_source_change(user, r, SRCEDIT_DELETE, e);
}

json_t *control_source_document(control_state *d, api_request *r, const char *name)
{
    generation *g = control_gen(d);
    derr e = {0};
    json_t *doc;

    doc = srcedit_read(d->conf_path, gen_plugin_set(g), name,
                       r->caller->role >= API_ROLE_ADMIN ? SRCEDIT_REFS : SRCEDIT_MASK, r->etag,
                       NULL, &e);
    gen_unref(g);
    derr_clear(&e);
    return doc;
}

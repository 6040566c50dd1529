/* SPDX-License-Identifier: Apache-2.0 */
/* control.c -- see control.h */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "control.h"
#include "scheduler.h"

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* jobs, run, cancel: the scheduler's (d->mu held). */
static json_t *control_jobs(control_state *d, const api_request *req, derr *e)
{
    int64_t id = 0;

    if (!d->sched) {
        derr_set(e, DSRC_E_UNSUPPORTED, "dsrcd runs no jobs (no state store)");
        return NULL;
    }
    if (req->cmd == API_JOBS) {
        json_t *res = scheduler_jobs_json(d->sched, req->source);
        if (res && req->source && !json_array_size(res) &&
            !(d->cur && cfg_find_source(d->cur->cfg, req->source))) {
            json_decref(res);
            derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", req->source);
            return NULL;
        }
        return res;
    }
    if (req->cmd == API_CANCEL) {
        if (scheduler_cancel(d->sched, req->id, e) != DSRC_OK)
            return NULL;
        return json_pack("{s:I, s:b}", "id", (json_int_t)req->id, "cancelling", 1);
    }
    if (scheduler_request(d->sched, d->units, d->n_units, req->source,
                          req->discover ? NULL : req->item, &id, e) != DSRC_OK)
        return NULL;
    return json_pack("{s:I}", "id", (json_int_t)id);
}

static json_t *api_serve(void *user, const api_request *req, derr *e)
{
    control_state *d = user;
    json_t *res = NULL;
    size_t i, found = 0;

    pthread_mutex_lock(&d->mu);
    if (req->cmd == API_RUN || req->cmd == API_CANCEL || req->cmd == API_JOBS) {
        res = control_jobs(d, req, e);
        goto out;
    }
    if (req->cmd == API_PING) {
        res = json_pack("{s:s, s:i, s:s, s:i}", "version", PACKAGE_VERSION, "pid",
                        (int)getpid(), "config", d->conf_path, "sources", (int)d->n_units);
        goto out;
    }
    res = json_array();
    for (i = 0; res && i < d->n_units; i++) {
        unit *u = &d->units[i];
        json_t *o = NULL;

        if (req->source && strcmp(req->source, u->src->cfg->name) != 0)
            continue;
        found++;
        if (req->cmd == API_POOLS) {
            o = router_json(u->rt);
        } else if (req->cmd == API_HEALTH) {
            health_report rep;
            if (health_report_get(u->hl, &rep) == 0) {
                o = health_report_json(&rep);
                health_report_free(&rep);
            }
        } else {
            health_report rep;
            health_status st = HEALTH_UNKNOWN;
            if (health_report_get(u->hl, &rep) == 0) {
                st = rep.status;
                health_report_free(&rep);
            }
            o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "name", u->src->cfg->name, "type",
                          u->src->cfg->type, "endpoints", (int)u->n_ep, "read_policy",
                          router_policy_name(router_get_policy(u->rt)), "status",
                          health_status_name(st));
        }
        if (!o || json_array_append_new(res, o) != 0) {
            json_decref(res);
            res = NULL;
        }
    }
    if (res && req->source && !found) {
        json_decref(res);
        res = NULL;
        if (d->cur && cfg_find_source(d->cur->cfg, req->source))
            derr_set(e, DSRC_E_NOT_FOUND, "source '%s' is not served (disabled or invalid; "
                     "see 'dsrc sources')", req->source);
        else
            derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", req->source);
    }
out:
    pthread_mutex_unlock(&d->mu);
    return res;
}

void control_apply(control_state *d, const cfg_config *cfg, api_server **srv, char **path)
{
    derr e = {0};

    if (*srv && str_eq(*path, cfg->control_socket))
        return;
    api_server_stop(*srv);
    *srv = NULL;
    free(*path);
    *path = NULL;
    if (!cfg->control_socket)
        return;
    if (!(*srv = api_server_start(cfg->control_socket, api_serve, d, &e))) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "no control socket (dsrc pools/health will not reach dsrcd): %s",
                e.msg ? e.msg : "out of memory");
        derr_clear(&e);
        return;
    }
    *path = strdup(cfg->control_socket);
    log_msg(DSRC_LOG_INFO, NULL, NULL, "control socket %s", cfg->control_socket);
}

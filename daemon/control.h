/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.h -- dsrcd's side of the control API (api/api.h): the handlers
 * of its routes, answered from the served units (status, sources, pools,
 * health), the scheduler (jobs, runs, cancel) and the state store (runs).
 */
#ifndef DSRC_DAEMON_CONTROL_H
#define DSRC_DAEMON_CONTROL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "config/config.h"
#include "generation.h"
#include "units.h"

/* What the control API reads.  Only the main thread changes it, under
 * `mu`; the main thread reads it without the lock.  Handlers hold `mu`
 * only while they copy what they answer (in memory, never while sending
 * nor while reading the state store). */
typedef struct control_state {
    pthread_mutex_t mu;
    generation *cur;
    unit *units;
    size_t n_units;
    const char *conf_path;
    struct scheduler *sched;   /* set once at start                         */
    /* POST /v1/reload: asks for a SIGHUP and waits for its result. */
    pthread_cond_t reloaded;   /* broadcast when a reload has ended         */
    uint64_t reload_asked;     /* reloads asked through the API             */
    uint64_t reload_done;      /* ...and answered                           */
    json_t *reload_result;     /* the last reload's result                  */
    /* The state store the API checks tokens against and audits into:
       opened at the first use (of the state_dir then current), closed at
       exit; a store handle serves every thread. */
    struct store *api_store;
    /* Tokens the store accepted, remembered CONTROL_TOKEN_TTL_MS: a token
       revoked with `dsrc token revoke` stops working within that time. */
    struct store_token_cache *tokens;
} control_state;

#define CONTROL_TOKEN_TTL_MS 1000

/* Around a reload (main thread): control_reload_begin() before it returns
 * the asks it answers; control_reload_end() publishes its result (stolen)
 * to the handlers waiting for them. */
uint64_t control_reload_begin(control_state *d);
void control_reload_end(control_state *d, uint64_t asked, json_t *result);

/* Ask the main thread for a reload (as POST /v1/reload) and wait for its
 * result: a new reference ({"reloaded", "sources", "errors", "warnings"}),
 * or NULL with `e` set (it did not end in time). */
json_t *control_reload_wait(control_state *d, derr *e);

/* The state store, opened for one request (close with store_close). */
struct store *control_store(control_state *d, derr *e);

/* The routes that change sources (control_sources.c, plugin/srcedit.h). */
json_t *control_source_create(void *user, api_request *r, derr *e);
json_t *control_source_replace(void *user, api_request *r, derr *e);
json_t *control_source_patch(void *user, api_request *r, derr *e);
json_t *control_source_delete(void *user, api_request *r, derr *e);
/* GET /v1/sources/{name}'s document member and ETag (r->etag). */
json_t *control_source_document(control_state *d, api_request *r, const char *name);

/* (Re)start the control API when its settings changed (the socket's path,
 * the api group).  *srv is the running server, *key what it was started
 * with. */
void control_apply(control_state *d, const cfg_config *cfg, api_server **srv, char **key);

#endif

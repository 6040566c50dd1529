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
} control_state;

/* (Re)start the control API when its settings changed (the socket's path,
 * the api group).  *srv is the running server, *key what it was started
 * with. */
void control_apply(control_state *d, const cfg_config *cfg, api_server **srv, char **key);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.h -- dsrcd's side of the control socket (ctl/api.h): it answers
 * `dsrc ping`, `sources`, `pools` and `health` from the served units, and
 * `jobs`, `run` and `cancel` through the scheduler (scheduler.h).
 */
#ifndef DSRC_DAEMON_CONTROL_H
#define DSRC_DAEMON_CONTROL_H

#include <pthread.h>
#include <stddef.h>

#include "config/config.h"
#include "ctl/api.h"
#include "generation.h"
#include "units.h"

/* What the control API reads.  Only the main thread changes it, under
 * `mu`; the main thread reads it without the lock. */
typedef struct control_state {
    pthread_mutex_t mu;
    generation *cur;
    unit *units;
    size_t n_units;
    const char *conf_path;
    struct scheduler *sched;   /* set once at start                         */
} control_state;

/* (Re)start the control socket when its path is new.  *srv and *path are
 * the running server and its path. */
void control_apply(control_state *d, const cfg_config *cfg, api_server **srv, char **path);

#endif

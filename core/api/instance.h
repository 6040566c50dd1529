/* SPDX-License-Identifier: Apache-2.0 */
/*
 * instance.h -- one dsrcd per state directory and per control socket.
 *
 * instance_claim() takes an exclusive flock(2) on <state_dir>/dsrcd.pid,
 * or <state_dir>/dsrcd.NODE.pid for a daemon given a node name (several
 * nodes of a cluster may share one state directory on one machine)
 * (state_dir is made, mode 0750, when missing), then checks that nothing
 * answers on the control socket: a socket file that accepts a connection
 * belongs to a live daemon (its pid comes from SO_PEERCRED) and is never
 * removed; only a socket nobody listens on is stale.  The lock lives in
 * the open file, so it survives fork() (detaching keeps it) and is
 * released by the kernel however the process ends: a crash never leaves a
 * lock behind, only a file that the next daemon locks again.
 *
 * Ownership: the caller owns the instance and releases it with
 * instance_release() (NULL is ignored), which removes the pid file.
 */
#ifndef DSRC_CORE_INSTANCE_H
#define DSRC_CORE_INSTANCE_H

#include <sys/types.h>

#include "base/error.h"

#define INSTANCE_PID_FILE "dsrcd.pid"

typedef struct instance instance;

/* Claim state_dir and control_socket (either may be NULL: not checked);
 * `node` (may be NULL) names the pid file as above.
 * Returns 0 with *out set; 1 when another daemon holds one of them (e says
 * which and names its pid when known); -1 when the pid file cannot be made
 * or locked (e says why). */
int instance_claim(const char *state_dir, const char *node, const char *control_socket,
                   instance **out, derr *e);

/* Write `pid` (the daemon's, after detaching) to the pid file.  0, or -1
 * with e set. */
int instance_set_pid(instance *in, pid_t pid, derr *e);

/* 1 when a process accepts connections on the socket at `path` (its pid in
 * *pid when known, else 0), else 0. */
int instance_socket_live(const char *path, pid_t *pid);

/* Remove the pid file, unlock and free. */
void instance_release(instance *in);

#endif

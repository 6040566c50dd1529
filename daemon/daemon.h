/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h -- dsrcd: load and validate the configuration and the plugins it
 * needs, then serve until SIGTERM.
 *
 * SIGHUP re-reads the whole configuration, validates it, and swaps it in
 * only when it has no error; otherwise the running configuration stays and
 * every error is logged.  Under systemd (Type=notify) it reports READY=1,
 * RELOADING=1 and STOPPING=1 through sd_notify.
 */
#ifndef DSRC_CORE_DAEMON_H
#define DSRC_CORE_DAEMON_H

/* Another dsrcd holds the state directory or the control socket. */
#define DAEMON_EXIT_RUNNING 75

/* The daemon's main: parses argv, returns the exit status (0 clean stop,
 * 2 usage, 78 configuration error, DAEMON_EXIT_RUNNING, 1 other failure).
 * One daemon per state directory and control socket (instance.h). */
int daemon_main(int argc, char **argv);

#endif

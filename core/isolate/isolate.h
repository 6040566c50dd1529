/* SPDX-License-Identifier: Apache-2.0 */
/*
 * isolate.h -- plugin worker processes behind a proxy driver.
 *
 * With isolation = "process" (see dsrc.conf(5)) a source's plugin runs in
 * a worker process: the host calls the proxy driver isolate_driver()
 * returns, which has the plugin's name, options and capabilities, and
 * forwards each call over a socketpair with the framed encoding of
 * wire.h.  Pools, routers, health, the scheduler and the API see a driver
 * like any other.
 *
 * One worker per connection (per dsrc_conn): the host never uses one
 * connection from two threads at once (plugin.h), so a worker serves one
 * call at a time on one socket without multiplexing, a death costs the
 * calls of that connection only, the pool's max_size bounds the workers of
 * a source, and a connection's worker holds only its own source's
 * options and secrets.  Opening costs a process start (a few ms), paid
 * once per pooled connection.  Supervision is per source (below).
 *
 * The worker is the host's own executable (/proc/self/exe) run again with
 * ISOLATE_WORKER_ARG: always the same build as the host (no helper of
 * another version to find or install, and a binary replaced by an upgrade
 * still runs as it was), loading the plugin through the same loader.
 * dsrc and dsrcd call isolate_worker_main() first thing in main().  The
 * worker gets the socket as descriptor 3, /dev/null as standard input and
 * output, keeps standard error, closes every other descriptor, sets no new
 * privileges and is not dumpable; it ignores SIGINT, SIGTERM and SIGPIPE
 * (the host stops it) and ends when the host's end of the socket closes.
 *
 * What crosses: the open parameters (this source's options and resolved
 * secrets only; the frame is wiped on both sides after open), results and
 * errors, the plugin's log lines (logged by the host with the source and
 * plugin), sink records (items, metadata, schema, rows many to a frame,
 * bytes in chunks), a sink's refusal (the worker's sinks refuse from then
 * on, so the plugin stops), cancellation (the worker raises its own flag
 * and descriptor and calls the plugin's cancel()), storage().  validate()
 * and the plugin's init run in the host (reading the option table).
 *
 * Supervision.  A worker that dies (a signal, exit(), a broken or garbled
 * socket) fails the call in flight: "plugin 'P' worker for source 'S'
 * killed by signal SIGSEGV (Segmentation fault) during ping", retryable,
 * the connection broken (the pool drops it); logged once with
 * LOG_MID_WORKER_DIED.  The next open starts a new worker, after a backoff
 * (ISOLATE_BACKOFF_MIN_MS doubling to ISOLATE_BACKOFF_MAX_MS with the
 * deaths of the last window; before it, open fails, retryable).  A call
 * cancelled (the source's cancel descriptor, flag or the process's signal
 * flag, or the driver's cancel()) that has not returned isolate_grace
 * later has its worker killed: "... ignored cancellation for 1.0 s:
 * killed".  ISOLATE_CRASH_LOOP deaths within ISOLATE_CRASH_WINDOW_S
 * seconds quarantine the source: its opens fail, not retryable, naming
 * the quarantine, until isolate_reset() (a reload).
 *
 * Threads: every function may be called from any thread.
 */
#ifndef DSRC_CORE_ISOLATE_H
#define DSRC_CORE_ISOLATE_H

#include <stdint.h>
#include "plugin/loader.h"

#define ISOLATE_WORKER_ARG "--dsrc-plugin-worker"
#define ISOLATE_ENV_MEMORY "DSRC_WORKER_MEMORY_MAX" /* bytes, in the worker's environment */
#define ISOLATE_ENV_FILTER "DSRC_WORKER_SYSCALL_FILTER" /* 0: none; in the worker's environment */
#define ISOLATE_CRASH_LOOP 5          /* deaths ...                       */
#define ISOLATE_CRASH_WINDOW_S 60     /* ... within this many seconds      */
#define ISOLATE_BACKOFF_MIN_MS 100
#define ISOLATE_BACKOFF_MAX_MS 30000
#define ISOLATE_DEFAULT_GRACE_MS 5000

/* When argv is a worker's (argv[1] is ISOLATE_WORKER_ARG): serve the host
 * on descriptor 3 and return the process's exit status.  Else -1, at
 * once, and the process may start workers from now on: a program that
 * never calls it (a test program) runs every plugin in its own process,
 * since its executable cannot serve as a worker.  A process started as a
 * worker never starts workers itself (the environment says it is one). */
int isolate_worker_main(int argc, char **argv);

/* Let this process start workers (isolate_worker_main() does). */
void isolate_allow_workers(void);

/* 1 when this process may start workers (see isolate_worker_main()). */
int isolate_available(void);

/* The proxy driver for plugin `p`, made on first use and kept until
 * isolate_free(): `p`'s name, version, options, limits, validate() and
 * capabilities (DSRC_CAP_CANCEL added, DSRC_CAP_CONN_THREADSAFE removed),
 * its calls forwarded to workers.  NULL when out of memory. */
const dsrc_driver *isolate_driver(const loader_plugin *p);

/* How long a cancelled call may take to return before its worker is
 * killed (dsrc and dsrcd: half the shutdown_grace, so that a shutdown
 * still ends within it; default ISOLATE_DEFAULT_GRACE_MS). */
void isolate_set_grace(int64_t ms);

/* The data a worker may map, in bytes (isolation_memory_max: RLIMIT_DATA
 * in the worker, so that a plugin allocating without bound fails there,
 * alone); 0: no limit.  Builds with a sanitizer set no limit (their shadow
 * memory would exceed it). */
void isolate_set_memory_max(int64_t bytes);

/* Whether a worker filters its system calls (isolation_syscall_filter,
 * default on): once started, a worker's plugin gets EPERM from the calls
 * that act on the system rather than on the plugin's own work (ptrace and
 * reading other processes' memory, namespaces, mounts, modules, BPF,
 * perf events, keyrings, the clock, reboot, swap, accounting...); a seccomp
 * filter that the plugin cannot lift (no_new_privs). */
void isolate_set_syscall_filter(int on);

/* Forget every source's deaths and quarantine (dsrcd's reload). */
void isolate_reset(void);

/* 1 when source `name` is quarantined (a crash loop), else 0. */
int isolate_quarantined(const char *name);

/* Free the proxy drivers (after every connection is closed). */
void isolate_free(void);

#endif

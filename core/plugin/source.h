/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h -- calling a source's plugin: open, ping, list, describe,
 * discover, fetch, with the host's context, timing and error handling.
 *
 * Every function fills a derr whose message is redacted and starts with
 * what failed; plugin errors are taken over with derr_from_plugin().
 * A source_conn is used by one thread at a time, except source_cancel()
 * and source_cancel_all(), which any thread may call.
 *
 * Cancellation: each source_conn has a descriptor (an eventfd) made before
 * the plugin's open() is called and closed by source_close(); every call
 * on the connection hands it to the plugin as host->cancel_fd().  Cancelling
 * sets the flag host->is_cancelled() reads, makes the descriptor readable,
 * then calls the plugin's cancel() when a call is running on an open
 * connection.  A cancelled connection stays cancelled.
 */
#ifndef DSRC_CORE_SOURCE_H
#define DSRC_CORE_SOURCE_H

#include <stdatomic.h>
#include <stdint.h>
#include "plugin/registry.h"

struct dsrc_ctx;

typedef struct source_conn {
    const registry_source *src;
    const dsrc_driver *drv;
    dsrc_conn *conn;
    int endpoint;              /* 0 primary, i = replicas.hosts[i-1]        */
    atomic_int cancel;         /* set by source_cancel()                        */
    int cancel_fd;             /* readable once cancelled; -1 when none     */
    atomic_int busy;           /* a plugin call is running                  */
    struct source_conn *live_prev, *live_next; /* the live list (source.c) */
} source_conn;

/* The driver the host calls for `s`: the plugin's own, or with
 * isolation = "process" the proxy that forwards to worker processes
 * (core/isolate/isolate.h). */
const dsrc_driver *source_driver(const registry_source *s);

/* Open a connection to endpoint `endpoint` of `s`: builds dsrc_open_params
 * (secrets resolved just for the call and wiped afterwards). */
dsrc_status source_open(const registry_source *s, int endpoint, source_conn **out, derr *e);
void source_close(source_conn *c);

/* Ping; *latency_ms gets the round-trip time. */
dsrc_status source_ping(source_conn *c, dsrc_ping_info *info, double *latency_ms, derr *e);
dsrc_status source_list(source_conn *c, const char *path, const dsrc_item_sink *sink, derr *e);
/* describe and discover hand `sink` every record with all the members of
 * this host's dsrc_metadata: one from a plugin built for an older ABI is
 * zero-extended (a 1.0 plugin's items have no foreign keys), never read
 * past its struct_size.  discover's `req` may be NULL (everything, the
 * balanced mode); its `result`, when set, is zeroed and sized here, with
 * queries -1 until the plugin reports them. */
dsrc_status source_describe(source_conn *c, const char *item, const dsrc_meta_sink *sink, derr *e);
dsrc_status source_discover(source_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, derr *e);
dsrc_status source_fetch(source_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *res, derr *e);

/* One read-only statement through the plugin's optional query() (ABI
 * 1.4, DSRC_CAP_QUERY): its rows through `rows` (schema first), checked
 * as a fetch's are.  DSRC_E_UNSUPPORTED when the plugin has no query(). */
dsrc_status source_query(source_conn *c, const dsrc_query_req *req,
                         const dsrc_row_sink *rows, dsrc_fetch_result *res, derr *e);

/* The backend's storage use through the plugin's optional storage():
 * DSRC_E_UNSUPPORTED (no message) when the plugin has none.  info is
 * initialised here, its sizes -1 until the plugin sets them. */
dsrc_status source_storage(source_conn *c, dsrc_storage_info *info, derr *e);

/* Ping, cancelled (source_cancel) when it has not returned within
 * limit_ms: then DSRC_E_TIMEOUT, and e->connection_broken is set (the
 * connection is not to be used again). */
dsrc_status source_ping_within(source_conn *c, int64_t limit_ms, dsrc_ping_info *info,
                               double *latency_ms, derr *e);

/* Ask the running call to stop (thread-safe): sets the flag plugins poll,
 * makes the cancel descriptor readable and calls the driver's cancel()
 * (not during open(): there is no dsrc_conn yet). */
void source_cancel(source_conn *c);

/* The process is stopping (dsrc after SIGINT/SIGTERM, dsrcd's shutdown):
 * cancel every live source_conn of the process, those still in open()
 * too, from any thread (never from a signal handler).  The plugin's
 * cancel() is called only for connections with a call running.  A call
 * that starts later on a connection made before is cancelled too; one
 * made later is cancelled while the flag of ctx_set_signal_flag() is
 * raised. */
void source_cancel_all(void);

/* "source 'NAME' (plugin 'P')" of a live connection with a call running
 * (open() included) into buf: 0, or -1 when none runs. */
int source_busy_name(char *buf, size_t n);

/* The context of a plugin call on c (its source, plugin, cancellation
 * flag and descriptor), for a call made outside this module. */
void source_ctx(struct dsrc_ctx *ctx, source_conn *c);

#endif

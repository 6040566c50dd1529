/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h -- calling a source's plugin: open, ping, list, describe,
 * discover, fetch, with the host's context, timing and error handling.
 *
 * Every function fills a derr whose message is redacted and starts with
 * what failed; plugin errors are taken over with derr_from_plugin().
 * A source_conn is used by one thread at a time.
 */
#ifndef DSRC_CORE_SOURCE_H
#define DSRC_CORE_SOURCE_H

#include <stdatomic.h>
#include <stdint.h>
#include "plugin/registry.h"

typedef struct source_conn {
    const registry_source *src;
    const dsrc_driver *drv;
    dsrc_conn *conn;
    int endpoint;              /* 0 primary, i = replicas.hosts[i-1]        */
    atomic_int cancel;         /* set by source_cancel()                        */
} source_conn;

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

/* Ping, cancelled (source_cancel) when it has not returned within
 * limit_ms: then DSRC_E_TIMEOUT, and e->connection_broken is set (the
 * connection is not to be used again). */
dsrc_status source_ping_within(source_conn *c, int64_t limit_ms, dsrc_ping_info *info,
                               double *latency_ms, derr *e);

/* Ask the running call to stop (thread-safe): sets the flag plugins poll and
 * calls the driver's cancel(). */
void source_cancel(source_conn *c);

#endif

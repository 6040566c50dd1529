/* SPDX-License-Identifier: Apache-2.0 */
/* node.c -- the nodes sharing a state store: heartbeats, leases, the list
 * `dsrc nodes` shows; see store.h */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/manifest.h"
#include "store/db.h"
#include "store/store.h"

dsrc_status store_node_beat(store *s, int64_t lease_ms, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    int64_t now = store_now();
    dsrc_status rs = DSRC_OK;

    /* the node's row: its start time is kept while the same process beats */
    if (sdb_prepare(db, "INSERT INTO nodes (name, owner, version, started_at, heartbeat_at) "
            "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET "
            "started_at = CASE WHEN nodes.owner = excluded.owner THEN nodes.started_at "
            "ELSE excluded.started_at END, owner = excluded.owner, "
            "version = excluded.version, heartbeat_at = excluded.heartbeat_at", &st) < 0) {
        rs = store_error(s, e, "cannot prepare the heartbeat");
        goto out;
    }
    sdb_bind_text(st, 1, store_node(s));
    sdb_bind_text(st, 2, store_owner(s));
    sdb_bind_text(st, 3, PACKAGE_VERSION);
    sdb_bind_int64(st, 4, now);
    if (sdb_step(st) != SDB_DONE) {
        rs = store_error(s, e, "cannot record the heartbeat");
        goto out;
    }
    sdb_finalize(st);
    st = NULL;
    /* the leases of the runs this process holds */
    if (sdb_prepare(db, "UPDATE runs SET lease_until = ?1 WHERE state = 'running' "
                               "AND owner = ?2 AND lease_until < ?1", &st) < 0) {
        rs = store_error(s, e, "cannot prepare the lease renewal");
        goto out;
    }
    sdb_bind_int64(st, 1, now + lease_ms);
    sdb_bind_text(st, 2, store_owner(s));
    if (sdb_step(st) != SDB_DONE)
        rs = store_error(s, e, "cannot renew the leases");
out:
    sdb_finalize(st);
    store_unlock(s);
    return rs;
}

static json_t *node_time(int64_t ms)
{
    struct timespec ts;
    char buf[32];

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    manifest_time(&ts, buf);
    return json_string(buf);
}

json_t *store_nodes_json(store *s, int64_t live_ms, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    int64_t now = store_now();
    json_t *arr = json_array();
    int rc;

    if (!arr) {
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        goto out;
    }
    if (sdb_prepare(db, "SELECT n.name, n.owner, n.version, n.started_at, n.heartbeat_at, "
            "(SELECT count(*) FROM runs r WHERE r.state = 'running' AND r.owner = n.owner), "
            "(SELECT min(r.lease_until) FROM runs r WHERE r.state = 'running' "
            "AND r.owner = n.owner), "
            "(SELECT count(*) FROM runs r WHERE r.node = n.name) "
            "FROM nodes n ORDER BY n.name", &st) < 0) {
        store_error(s, e, "cannot read the nodes");
        json_decref(arr);
        arr = NULL;
        goto out;
    }
    while ((rc = sdb_step(st)) == SDB_ROW) {
        int64_t beat = sdb_column_int64(st, 4);
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:I, s:o, s:I}",
            "name", sdb_column_text(st, 0),
            "owner", sdb_column_text(st, 1),
            "version", sdb_column_text(st, 2),
            "started", node_time(sdb_column_int64(st, 3)),
            "heartbeat", node_time(beat),
            "live", beat >= now - live_ms,
            "leases", (json_int_t)sdb_column_int64(st, 5),
            "lease_until", sdb_column_type(st, 6) == SDB_NULL
                               ? json_null() : node_time(sdb_column_int64(st, 6)),
            "runs", (json_int_t)sdb_column_int64(st, 7));
        if (!o || json_array_append_new(arr, o) != 0) {
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
            json_decref(arr);
            arr = NULL;
            goto out;
        }
    }
    if (rc != SDB_DONE) {
        store_error(s, e, "cannot read the nodes");
        json_decref(arr);
        arr = NULL;
    }
out:
    sdb_finalize(st);
    store_unlock(s);
    return arr;
}

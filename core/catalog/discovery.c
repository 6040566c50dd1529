/* SPDX-License-Identifier: Apache-2.0 */
/* discovery.c -- discover modes and records; see discovery.h */
#include <config.h>

#include "store/db.h"

#include "catalog/discovery.h"
#include "jobs/plan.h"

/* The endpoints a discover may use: not the replicas, unless every one
 * is a replica. */
static int discovery_uses(const health_report *rep, size_t i)
{
    size_t k;

    if (rep->endpoints[i].role != DSRC_ROLE_REPLICA)
        return 1;
    for (k = 0; k < rep->n_endpoints; k++)
        if (rep->endpoints[k].role != DSRC_ROLE_REPLICA)
            return 0;
    return 1;
}

dsrc_discover_mode discovery_choose(int configured, const health_report *rep,
                                    const health_config *hc)
{
    health_config def;
    int sampled = 0, calm = 1;
    size_t i;

    switch (configured) {
    case CFG_DISCOVER_CONSERVATIVE:
        return DSRC_DISCOVER_CONSERVATIVE;
    case CFG_DISCOVER_AGGRESSIVE:
        return DSRC_DISCOVER_AGGRESSIVE;
    case CFG_DISCOVER_ADAPTIVE:
        break;
    default:
        return DSRC_DISCOVER_BALANCED;
    }
    if (!hc) {
        health_config_default(&def);
        hc = &def;
    }
    for (i = 0; rep && i < rep->n_endpoints; i++) {
        const health_endpoint_report *ep = &rep->endpoints[i];
        if (!discovery_uses(rep, i))
            continue;
        if (ep->breaker.state == BREAKER_OPEN || ep->breaker.state == BREAKER_HALF_OPEN)
            return DSRC_DISCOVER_CONSERVATIVE;
        if (ep->samples <= 0) {
            calm = 0;
            continue;
        }
        sampled = 1;
        if ((ep->failures > 0 && ep->error_rate >= hc->error_rate_warn) ||
            ep->latency_p95_ms > hc->latency_warn_ms)
            return DSRC_DISCOVER_CONSERVATIVE;
        if (ep->failures > 0 || ep->saturated > 0 ||
            ep->latency_p95_ms >= hc->latency_warn_ms / 5 ||
            ep->pool.max_size - ep->pool.active < 2)
            calm = 0;
    }
    return sampled && calm ? DSRC_DISCOVER_AGGRESSIVE : DSRC_DISCOVER_BALANCED;
}

const char *discovery_mode_name(dsrc_discover_mode m)
{
    switch (m) {
    case DSRC_DISCOVER_CONSERVATIVE:
        return "conservative";
    case DSRC_DISCOVER_AGGRESSIVE:
        return "aggressive";
    default:
        return "balanced";
    }
}

dsrc_status discovery_record(store *s, const discovery_rec *r, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    dsrc_status rc = DSRC_OK;

    if (sdb_prepare(db, "INSERT INTO discoveries (source, run_id, started_at, "
                               "duration_ms, items, queries, retries, errors, mode, result) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) != 0)
        goto fail;
    sdb_bind_text(st, 1, r->source);
    if (r->run_id > 0)
        sdb_bind_int64(st, 2, r->run_id);
    else
        sdb_bind_null(st, 2);
    sdb_bind_int64(st, 3, r->started_at);
    sdb_bind_int64(st, 4, r->duration_ms);
    sdb_bind_int64(st, 5, r->items);
    sdb_bind_int64(st, 6, r->queries);
    sdb_bind_int64(st, 7, r->retries);
    sdb_bind_int64(st, 8, r->errors);
    sdb_bind_text(st, 9, discovery_mode_name(r->mode));
    sdb_bind_text(st, 10, r->result ? r->result : "ok");
    if (sdb_step(st) != SDB_DONE)
        goto fail;
    sdb_finalize(st);
    if (sdb_prepare(db, "DELETE FROM discoveries WHERE source = ?1 AND id <= "
                               "(SELECT id FROM discoveries WHERE source = ?1 "
                               "ORDER BY id DESC LIMIT 1 OFFSET ?2)", &st) != 0)
        goto fail;
    sdb_bind_text(st, 1, r->source);
    sdb_bind_int(st, 2, DISCOVERY_KEEP);
    if (sdb_step(st) != SDB_DONE)
        goto fail;
    sdb_finalize(st);
    store_unlock(s);
    return DSRC_OK;
fail:
    rc = store_error(s, e, "cannot record the discover");
    sdb_finalize(st);
    store_unlock(s);
    return rc;
}

json_t *discovery_last_json(store *s, const char *source, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    json_t *o = NULL;
    char at[32];
    int rc;

    if (sdb_prepare(db, "SELECT started_at, duration_ms, items, queries, retries, "
                               "errors, mode, result, run_id FROM discoveries "
                               "WHERE source = ? ORDER BY id DESC LIMIT 1", &st) != 0) {
        store_error(s, e, "cannot read the discoveries");
        goto out;
    }
    sdb_bind_text(st, 1, source);
    rc = sdb_step(st);
    if (rc == SDB_DONE) {
        o = json_null();
    } else if (rc != SDB_ROW) {
        store_error(s, e, "cannot read the discoveries");
    } else {
        o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o}", "started_at",
                      plan_iso(sdb_column_int64(st, 0), at), "duration_ms",
                      (json_int_t)sdb_column_int64(st, 1), "items",
                      (json_int_t)sdb_column_int64(st, 2), "queries",
                      (json_int_t)sdb_column_int64(st, 3), "retries",
                      (json_int_t)sdb_column_int64(st, 4), "errors",
                      (json_int_t)sdb_column_int64(st, 5), "mode",
                      sdb_column_text(st, 6), "result",
                      sdb_column_text(st, 7), "run_id",
                      sdb_column_type(st, 8) == SDB_NULL
                          ? json_null() : json_integer(sdb_column_int64(st, 8)));
        if (!o)
            derr_set(e, DSRC_E_INTERNAL, "out of memory");
    }
out:
    sdb_finalize(st);
    store_unlock(s);
    return o;
}

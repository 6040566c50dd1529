/* SPDX-License-Identifier: Apache-2.0 */
/* drift.c -- drift events and acknowledgements in the state store; see
 * drift.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

#include "catalog/drift.h"
#include "output/manifest.h"

/* The last acknowledged event id of (source, item), as SQL. */
#define DRIFT_ACKED                                                                    \
    "COALESCE((SELECT a.event_id FROM drift_acks a WHERE a.source = d.source AND "      \
    "a.item = d.item), 0)"

static json_t *drift_time(int64_t ms)
{
    struct timespec ts;
    char buf[32];

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    manifest_time(&ts, buf);
    return json_string(buf);
}

static json_t *drift_col_json(sdb_stmt *st, int i)
{
    const char *t = sdb_column_text(st, i);
    json_t *j;

    if (!t)
        return json_null();
    j = json_loads(t, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(t);
}

static json_t *drift_str(sdb_stmt *st, int i)
{
    const char *t = sdb_column_text(st, i);

    return t ? json_string(t) : json_null();
}

json_t *drift_events_json(store *s, const char *source, int64_t since_ms, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    if (!arr || sdb_prepare(db, "SELECT d.id, d.at, d.source, d.item, d.col, d.change, "
                                       "d.breaking, d.before, d.after, d.from_snapshot, "
                                       "d.to_snapshot, CASE WHEN d.id <= " DRIFT_ACKED " THEN 1 ELSE 0 END "
                                "FROM drift_events d "
                                       "WHERE d.source = ? AND d.at >= ? "
                                       "ORDER BY d.breaking DESC, d.id DESC", &st) != 0) {
        store_error(s, e, "cannot read the drift events");
        store_unlock(s);
        json_decref(arr);
        return NULL;
    }
    sdb_bind_text(st, 1, source);
    sdb_bind_int64(st, 2, since_ms);
    while ((rc = sdb_step(st)) == SDB_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sdb_column_int64(st, 0)));
        json_object_set_new(o, "time", drift_time(sdb_column_int64(st, 1)));
        json_object_set_new(o, "source", drift_str(st, 2));
        json_object_set_new(o, "item", drift_str(st, 3));
        json_object_set_new(o, "column", drift_str(st, 4));
        json_object_set_new(o, "change", drift_str(st, 5));
        json_object_set_new(o, "class", json_string(sdb_column_int(st, 6) ? "breaking"
                                                                              : "non-breaking"));
        json_object_set_new(o, "before", drift_col_json(st, 7));
        json_object_set_new(o, "after", drift_col_json(st, 8));
        json_object_set_new(o, "from_snapshot", json_integer(sdb_column_int64(st, 9)));
        json_object_set_new(o, "to_snapshot", json_integer(sdb_column_int64(st, 10)));
        json_object_set_new(o, "acknowledged", json_boolean(sdb_column_int(st, 11)));
        json_array_append_new(arr, o);
    }
    if (rc != SDB_DONE) {
        store_error(s, e, "cannot read the drift events");
        json_decref(arr);
        arr = NULL;
    }
    sdb_finalize(st);
    store_unlock(s);
    return arr;
}

int64_t drift_count(store *s, const char *source, int64_t since_ms, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    int64_t n = -1;

    if (sdb_prepare(db, "SELECT COUNT(*) FROM drift_events WHERE source = ? AND at >= ?", &st) == 0) {
        sdb_bind_text(st, 1, source);
        sdb_bind_int64(st, 2, since_ms);
        if (sdb_step(st) == SDB_ROW)
            n = sdb_column_int64(st, 0);
    }
    if (n < 0)
        store_error(s, e, "cannot count the drift events");
    sdb_finalize(st);
    store_unlock(s);
    return n;
}

/* Under the lock: the newest event id of (source, item), how many
 * breaking ones are not acknowledged, and the newest of those (its change
 * and column in *why when why is not NULL).  0 or -1. */
static int drift_state_locked(sdb *db, const char *source, const char *item, int64_t *last,
                              int64_t *waiting, char **why)
{
    sdb_stmt *st = NULL;
    int rc;

    *last = *waiting = 0;
    if (sdb_prepare(db, "SELECT COALESCE(MAX(d.id), 0), COALESCE(SUM(CASE WHEN "
                        "d.breaking <> 0 AND d.id > " DRIFT_ACKED " THEN 1 ELSE 0 END), 0) FROM drift_events d "
                               "WHERE d.source = ?1 AND d.item = ?2", &st) != 0)
        return -1;
    sdb_bind_text(st, 1, source);
    sdb_bind_text(st, 2, item);
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        *last = sdb_column_int64(st, 0);
        *waiting = sdb_column_int64(st, 1);
    }
    sdb_finalize(st);
    if (rc != SDB_ROW)
        return -1;
    if (why && *waiting > 0 &&
        sdb_prepare(db, "SELECT d.change, d.col, d.at FROM drift_events d WHERE "
                               "d.source = ?1 AND d.item = ?2 AND d.breaking = 1 "
                               "ORDER BY d.id DESC LIMIT 1", &st) == 0) {
        sdb_bind_text(st, 1, source);
        sdb_bind_text(st, 2, item);
        if (sdb_step(st) == SDB_ROW) {
            const char *col = sdb_column_text(st, 1);
            if (asprintf(why, "paused after a breaking schema change (%s%s%s, %lld in all); "
                              "'dsrc drift ack %s %s' resumes it",
                         sdb_column_text(st, 0), col ? " " : "",
                         col ? col : "", (long long)*waiting, source, item) < 0)
                *why = NULL;
        }
        sdb_finalize(st);
    }
    return 0;
}

dsrc_status drift_ack(store *s, const char *source, const char *item, int64_t *n, derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    int64_t last, waiting;
    dsrc_status rs = DSRC_OK;

    if (drift_state_locked(db, source, item, &last, &waiting, NULL) < 0) {
        rs = store_error(s, e, "cannot read the drift events");
    } else if (last == 0) {
        rs = derr_set(e, DSRC_E_NOT_FOUND, "%s: no drift event of item '%s'", source, item);
    } else if (sdb_prepare(db, "INSERT INTO drift_acks (source, item, event_id, acked_at) "
                                  "VALUES (?, ?, ?, ?) ON CONFLICT (source, item) DO UPDATE "
                                  "SET event_id = excluded.event_id, acked_at = excluded.acked_at", &st) != 0) {
        rs = store_error(s, e, "cannot record the acknowledgement");
    } else {
        sdb_bind_text(st, 1, source);
        sdb_bind_text(st, 2, item);
        sdb_bind_int64(st, 3, last);
        sdb_bind_int64(st, 4, store_now());
        if (sdb_step(st) != SDB_DONE)
            rs = store_error(s, e, "cannot record the acknowledgement");
        sdb_finalize(st);
    }
    store_unlock(s);
    if (n)
        *n = rs == DSRC_OK ? waiting : 0;
    return rs;
}

int drift_paused(store *s, const char *source, const char *item, char **why, derr *e)
{
    sdb *db = store_lock(s);
    int64_t last, waiting;
    int rc;

    if (why)
        *why = NULL;
    rc = drift_state_locked(db, source, item, &last, &waiting, why);
    if (rc < 0)
        store_error(s, e, "cannot read the drift events");
    store_unlock(s);
    return rc < 0 ? -1 : waiting > 0;
}

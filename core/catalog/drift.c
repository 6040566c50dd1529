/* SPDX-License-Identifier: Apache-2.0 */
/* drift.c -- drift events and acknowledgements in the state store; see
 * drift.h */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

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

static json_t *drift_col_json(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *j;

    if (!t)
        return json_null();
    j = json_loads(t, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(t);
}

static json_t *drift_str(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);

    return t ? json_string(t) : json_null();
}

json_t *drift_events_json(store *s, const char *source, int64_t since_ms, derr *e)
{
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    if (!arr || sqlite3_prepare_v2(db, "SELECT d.id, d.at, d.source, d.item, d.col, d.change, "
                                       "d.breaking, d.before, d.after, d.from_snapshot, "
                                       "d.to_snapshot, d.id <= " DRIFT_ACKED " FROM drift_events d "
                                       "WHERE d.source = ? AND d.at >= ? "
                                       "ORDER BY d.breaking DESC, d.id DESC", -1, &st,
                                   NULL) != SQLITE_OK) {
        store_error(s, e, "cannot read the drift events");
        store_unlock(s);
        json_decref(arr);
        return NULL;
    }
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
        json_object_set_new(o, "time", drift_time(sqlite3_column_int64(st, 1)));
        json_object_set_new(o, "source", drift_str(st, 2));
        json_object_set_new(o, "item", drift_str(st, 3));
        json_object_set_new(o, "column", drift_str(st, 4));
        json_object_set_new(o, "change", drift_str(st, 5));
        json_object_set_new(o, "class", json_string(sqlite3_column_int(st, 6) ? "breaking"
                                                                              : "non-breaking"));
        json_object_set_new(o, "before", drift_col_json(st, 7));
        json_object_set_new(o, "after", drift_col_json(st, 8));
        json_object_set_new(o, "from_snapshot", json_integer(sqlite3_column_int64(st, 9)));
        json_object_set_new(o, "to_snapshot", json_integer(sqlite3_column_int64(st, 10)));
        json_object_set_new(o, "acknowledged", json_boolean(sqlite3_column_int(st, 11)));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        store_error(s, e, "cannot read the drift events");
        json_decref(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    store_unlock(s);
    return arr;
}

int64_t drift_count(store *s, const char *source, int64_t since_ms, derr *e)
{
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM drift_events WHERE source = ? AND at >= ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since_ms);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    if (n < 0)
        store_error(s, e, "cannot count the drift events");
    sqlite3_finalize(st);
    store_unlock(s);
    return n;
}

/* Under the lock: the newest event id of (source, item), how many
 * breaking ones are not acknowledged, and the newest of those (its change
 * and column in *why when why is not NULL).  0 or -1. */
static int drift_state_locked(sqlite3 *db, const char *source, const char *item, int64_t *last,
                              int64_t *waiting, char **why)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *last = *waiting = 0;
    if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(d.id), 0), COALESCE(SUM(d.breaking AND "
                               "d.id > " DRIFT_ACKED "), 0) FROM drift_events d "
                               "WHERE d.source = ?1 AND d.item = ?2", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *last = sqlite3_column_int64(st, 0);
        *waiting = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return -1;
    if (why && *waiting > 0 &&
        sqlite3_prepare_v2(db, "SELECT d.change, d.col, d.at FROM drift_events d WHERE "
                               "d.source = ?1 AND d.item = ?2 AND d.breaking = 1 "
                               "ORDER BY d.id DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(st, 1);
            if (asprintf(why, "paused after a breaking schema change (%s%s%s, %lld in all); "
                              "'dsrc drift ack %s %s' resumes it",
                         (const char *)sqlite3_column_text(st, 0), col ? " " : "",
                         col ? col : "", (long long)*waiting, source, item) < 0)
                *why = NULL;
        }
        sqlite3_finalize(st);
    }
    return 0;
}

dsrc_status drift_ack(store *s, const char *source, const char *item, int64_t *n, derr *e)
{
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st = NULL;
    int64_t last, waiting;
    dsrc_status rs = DSRC_OK;

    if (drift_state_locked(db, source, item, &last, &waiting, NULL) < 0) {
        rs = store_error(s, e, "cannot read the drift events");
    } else if (last == 0) {
        rs = derr_set(e, DSRC_E_NOT_FOUND, "%s: no drift event of item '%s'", source, item);
    } else if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO drift_acks (source, item, "
                                      "event_id, acked_at) VALUES (?, ?, ?, ?)", -1, &st,
                                  NULL) != SQLITE_OK) {
        rs = store_error(s, e, "cannot record the acknowledgement");
    } else {
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, last);
        sqlite3_bind_int64(st, 4, store_now());
        if (sqlite3_step(st) != SQLITE_DONE)
            rs = store_error(s, e, "cannot record the acknowledgement");
        sqlite3_finalize(st);
    }
    store_unlock(s);
    if (n)
        *n = rs == DSRC_OK ? waiting : 0;
    return rs;
}

int drift_paused(store *s, const char *source, const char *item, char **why, derr *e)
{
    sqlite3 *db = store_lock(s);
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

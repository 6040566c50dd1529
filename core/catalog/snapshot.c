/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot.c -- catalogs in the state store; see snapshot.h */
#include <config.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/log.h"
#include "catalog/snapshot.h"

static const char *snapshot_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void snapshot_bind(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Under the lock: the latest snapshot id of source, 0 when none, -1. */
static int64_t snapshot_latest_locked(sqlite3 *db, const char *source)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -1;

    if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM catalog_snapshots "
                               "WHERE source = ?", -1, &st, NULL) == SQLITE_OK) {
        snapshot_bind(st, 1, source);
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return id;
}

static int snapshot_load_locked(sqlite3 *db, int64_t id, catalog_list *l)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT e.path, e.hash, i.schema, e.volatile "
                               "FROM catalog_entries e JOIN catalog_items i ON i.hash = e.hash "
                               "WHERE e.snapshot_id = ? ORDER BY e.path", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (catalog_list_push(l, snapshot_text(st, 0), snapshot_text(st, 1),
                              snapshot_text(st, 2), snapshot_text(st, 3)) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Run one statement with no parameters; 0 or -1. */
static int snapshot_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* The catalog is unchanged: verified now; volatile fields refreshed. */
static int snapshot_verify_locked(sqlite3 *db, int64_t id, const catalog_list *old,
                                  const catalog_list *l, int64_t now, int64_t duration_ms)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc = 0;

    if (sqlite3_prepare_v2(db, "UPDATE catalog_snapshots SET verified_at = ?, duration_ms = ? "
                               "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, duration_ms);
    sqlite3_bind_int64(st, 3, id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    if (rc < 0 || sqlite3_prepare_v2(db, "UPDATE catalog_entries SET volatile = ? "
                                         "WHERE snapshot_id = ? AND path = ?", -1, &st,
                                     NULL) != SQLITE_OK)
        return -1;
    for (i = 0; rc == 0 && i < l->n; i++) {
        const char *a = old->v[i].vol, *b = l->v[i].vol;
        if ((!a && !b) || (a && b && strcmp(a, b) == 0))
            continue;
        sqlite3_reset(st);
        snapshot_bind(st, 1, b);
        sqlite3_bind_int64(st, 2, id);
        snapshot_bind(st, 3, l->v[i].path);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

/* A new snapshot with its entries and items; *id is its id. */
static int snapshot_insert_locked(sqlite3 *db, const char *source, const catalog_list *l,
                                  int64_t now, int64_t duration_ms, int64_t run_id,
                                  size_t changes, int64_t *id)
{
    sqlite3_stmt *st = NULL, *item = NULL;
    size_t i;
    int rc;

    if (sqlite3_prepare_v2(db, "INSERT INTO catalog_snapshots (source, taken_at, verified_at, "
                               "duration_ms, items, changes, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    snapshot_bind(st, 1, source);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, duration_ms);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)l->n);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)changes);
    if (run_id > 0)
        sqlite3_bind_int64(st, 7, run_id);
    else
        sqlite3_bind_null(st, 7);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(db);
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO catalog_items (hash, schema) VALUES (?, ?)",
                           -1, &item, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO catalog_entries (snapshot_id, path, hash, volatile) "
                               "VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(item);
        return -1;
    }
    for (i = 0; rc == 0 && i < l->n; i++) {
        sqlite3_reset(item);
        snapshot_bind(item, 1, l->v[i].hash);
        snapshot_bind(item, 2, l->v[i].schema);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, *id);
        snapshot_bind(st, 2, l->v[i].path);
        snapshot_bind(st, 3, l->v[i].hash);
        snapshot_bind(st, 4, l->v[i].vol);
        rc = sqlite3_step(item) == SQLITE_DONE && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(item);
    sqlite3_finalize(st);
    return rc;
}

static int snapshot_events_locked(sqlite3 *db, const char *source, const catalog_diff *d,
                                  int64_t from, int64_t to, int64_t now)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc = 0;

    if (sqlite3_prepare_v2(db, "INSERT INTO drift_events (source, item, col, change, breaking, "
                               "before, after, from_snapshot, to_snapshot, at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    for (i = 0; rc == 0 && i < d->n; i++) {
        const catalog_change *c = &d->v[i];
        sqlite3_reset(st);
        snapshot_bind(st, 1, source);
        snapshot_bind(st, 2, c->item);
        snapshot_bind(st, 3, c->column);
        snapshot_bind(st, 4, catalog_change_name(c->kind));
        sqlite3_bind_int(st, 5, c->breaking);
        snapshot_bind(st, 6, c->before);
        snapshot_bind(st, 7, c->after);
        sqlite3_bind_int64(st, 8, from);
        sqlite3_bind_int64(st, 9, to);
        sqlite3_bind_int64(st, 10, now);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Delete what the retention no longer keeps. */
static int snapshot_prune_locked(sqlite3 *db, const char *source, int64_t latest, int64_t cutoff)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    if (sqlite3_prepare_v2(db, "DELETE FROM catalog_entries WHERE snapshot_id IN (SELECT id FROM "
                               "catalog_snapshots WHERE source = ?1 AND id < ?2 AND "
                               "verified_at < ?3)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    snapshot_bind(st, 1, source);
    sqlite3_bind_int64(st, 2, latest);
    sqlite3_bind_int64(st, 3, cutoff);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    n = sqlite3_changes(db);
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_prepare_v2(db, "DELETE FROM catalog_snapshots WHERE source = ?1 AND "
                                          "id < ?2 AND verified_at < ?3", -1, &st,
                                      NULL) == SQLITE_OK) {
        snapshot_bind(st, 1, source);
        sqlite3_bind_int64(st, 2, latest);
        sqlite3_bind_int64(st, 3, cutoff);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
    }
    if (rc == 0 && n > 0)
        rc = snapshot_exec(db, "DELETE FROM catalog_items WHERE NOT EXISTS (SELECT 1 FROM "
                               "catalog_entries e WHERE e.hash = catalog_items.hash)");
    if (rc == 0 && sqlite3_prepare_v2(db, "DELETE FROM drift_events WHERE source = ?1 AND "
                                          "at < ?2 AND (breaking = 0 OR id <= COALESCE(("
                                          "SELECT a.event_id FROM drift_acks a WHERE a.source = "
                                          "drift_events.source AND a.item = drift_events.item), 0))",
                                      -1, &st, NULL) == SQLITE_OK) {
        snapshot_bind(st, 1, source);
        sqlite3_bind_int64(st, 2, cutoff);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
    }
    return rc;
}

/* Log each change, once it is committed. */
static void snapshot_log(const char *source, const catalog_diff *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        const catalog_change *c = &d->v[i];
        int detail = c->kind == CATALOG_COLUMN_TYPE_CHANGED ||
                     c->kind == CATALOG_COLUMN_NULLABILITY_CHANGED ||
                     c->kind == CATALOG_COLUMN_DEFAULT_CHANGED ||
                     c->kind == CATALOG_ITEM_KIND_CHANGED;
        log_msg_id(c->breaking ? DSRC_LOG_WARNING : DSRC_LOG_NOTICE, source, NULL,
                   catalog_change_message_id(c->kind), "schema drift (%s): %s %s%s%s%s%s%s%s",
                   c->breaking ? "breaking" : "non-breaking", catalog_change_name(c->kind),
                   c->item, c->column ? " column " : "", c->column ? c->column : "",
                   detail ? ": " : "", detail && c->before ? c->before : "",
                   detail ? " -> " : "", detail && c->after ? c->after : "");
    }
}

dsrc_status snapshot_record(store *s, const char *source, catalog_list *l, int64_t duration_ms,
                            int64_t run_id, int64_t retention_ms, snapshot_result *res, derr *e)
{
    sqlite3 *db;
    catalog_list old = {0};
    catalog_diff d = {0};
    int64_t prev, now = store_now();
    const char *what = "cannot read the last snapshot";
    dsrc_status rs = DSRC_OK;
    size_t i;

    memset(res, 0, sizeof *res);
    catalog_list_sort(l);
    res->items = l->n;
    db = store_lock(s);
    if (snapshot_exec(db, "BEGIN IMMEDIATE") < 0) {
        rs = store_error(s, e, "cannot lock the database");
        store_unlock(s);
        return rs;
    }
    if ((prev = snapshot_latest_locked(db, source)) < 0 ||
        (prev > 0 && snapshot_load_locked(db, prev, &old) < 0))
        goto fail;
    if (prev > 0 && catalog_list_same(&old, l)) {
        what = "cannot record the verification";
        if (snapshot_verify_locked(db, prev, &old, l, now, duration_ms) < 0)
            goto fail;
        res->snapshot_id = prev;
    } else {
        what = "cannot compare the catalogs";
        if (prev > 0 && catalog_diff_lists(&old, l, &d) < 0)
            goto fail;
        what = "cannot record the snapshot";
        if (snapshot_insert_locked(db, source, l, now, duration_ms, run_id, d.n,
                                   &res->snapshot_id) < 0 ||
            snapshot_events_locked(db, source, &d, prev, res->snapshot_id, now) < 0)
            goto fail;
        res->changed = 1;
        res->changes = d.n;
        for (i = 0; i < d.n; i++)
            res->breaking += d.v[i].breaking != 0;
    }
    what = "cannot prune the catalog";
    if (retention_ms > 0 && snapshot_prune_locked(db, source, res->snapshot_id,
                                                  now - retention_ms) < 0)
        goto fail;
    what = "cannot commit the snapshot";
    if (snapshot_exec(db, "COMMIT") < 0)
        goto fail;
    store_unlock(s);
    snapshot_log(source, &d);
    catalog_list_free(&old);
    catalog_diff_free(&d);
    return DSRC_OK;
fail:
    rs = store_error(s, e, what);
    (void)snapshot_exec(db, "ROLLBACK");
    store_unlock(s);
    catalog_list_free(&old);
    catalog_diff_free(&d);
    memset(res, 0, sizeof *res);
    return rs;
}

int snapshot_find(store *s, const char *source, int64_t id, int64_t at_ms, snapshot_info *info,
                  derr *e)
{
    sqlite3 *db = store_lock(s);
    sqlite3_stmt *st = NULL;
    int rc, out = -1;

    memset(info, 0, sizeof *info);
    if (sqlite3_prepare_v2(db, "SELECT id, taken_at, verified_at, duration_ms, items, changes, "
                               "COALESCE(run_id, 0) FROM catalog_snapshots WHERE source = ?1 "
                               "AND (?2 <= 0 OR id = ?2) AND (?3 <= 0 OR taken_at <= ?3) "
                               "ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
        store_error(s, e, "cannot read the snapshots");
        store_unlock(s);
        return -1;
    }
    snapshot_bind(st, 1, source);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int64(st, 3, at_ms);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        info->id = sqlite3_column_int64(st, 0);
        info->taken_at = sqlite3_column_int64(st, 1);
        info->verified_at = sqlite3_column_int64(st, 2);
        info->duration_ms = sqlite3_column_int64(st, 3);
        info->items = sqlite3_column_int64(st, 4);
        info->changes = sqlite3_column_int64(st, 5);
        info->run_id = sqlite3_column_int64(st, 6);
        out = 0;
    } else if (rc == SQLITE_DONE) {
        out = 1;
    } else {
        store_error(s, e, "cannot read the snapshots");
    }
    sqlite3_finalize(st);
    store_unlock(s);
    return out;
}

dsrc_status snapshot_load(store *s, int64_t id, catalog_list *l, derr *e)
{
    sqlite3 *db = store_lock(s);
    dsrc_status rs = DSRC_OK;

    if (snapshot_load_locked(db, id, l) < 0)
        rs = store_error(s, e, "cannot read the snapshot");
    store_unlock(s);
    return rs;
}

/* Does `name` match the pattern (see snapshot.h)? */
static int snapshot_match(const char *pat, const char *name)
{
    return name && fnmatch(pat, name, FNM_CASEFOLD) == 0;
}

static void snapshot_hit(json_t *arr, const char *source, const char *item, const char *kind,
                         const char *column, const char *type)
{
    json_t *o = json_object();

    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "item", json_string(item));
    json_object_set_new(o, "kind", kind ? json_string(kind) : json_null());
    json_object_set_new(o, "column", column ? json_string(column) : json_null());
    json_object_set_new(o, "type", type ? json_string(type) : json_null());
    json_array_append_new(arr, o);
}

json_t *snapshot_search(store *s, const char *pattern, derr *e)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    char *pat = NULL;
    int rc;

    if (!arr || !pattern || !*pattern) {
        json_decref(arr);
        derr_set(e, DSRC_E_INVALID_ARGUMENT, "an empty search pattern");
        return NULL;
    }
    if (asprintf(&pat, strpbrk(pattern, "*?[") ? "%s" : "*%s*", pattern) < 0) {
        json_decref(arr);
        derr_set(e, DSRC_E_INTERNAL, "out of memory");
        return NULL;
    }
    db = store_lock(s);
    if (sqlite3_prepare_v2(db, "SELECT s.source, e.path, i.schema FROM catalog_snapshots s "
                               "JOIN catalog_entries e ON e.snapshot_id = s.id "
                               "JOIN catalog_items i ON i.hash = e.hash WHERE s.id IN "
                               "(SELECT MAX(id) FROM catalog_snapshots GROUP BY source) "
                               "ORDER BY s.source, e.path", -1, &st, NULL) != SQLITE_OK) {
        store_error(s, e, "cannot read the snapshots");
        store_unlock(s);
        json_decref(arr);
        free(pat);
        return NULL;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *src = snapshot_text(st, 0), *path = snapshot_text(st, 1);
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        json_t *j = json_loads(snapshot_text(st, 2), 0, NULL), *c;
        const char *kind = json_string_value(json_object_get(j, "kind"));
        size_t i;

        if (snapshot_match(pat, strchr(pattern, '/') ? path : name))
            snapshot_hit(arr, src, path, kind, NULL, NULL);
        json_array_foreach(json_object_get(j, "columns"), i, c) {
            const char *cn = json_string_value(json_object_get(c, "name"));
            if (snapshot_match(pat, cn))
                snapshot_hit(arr, src, path, kind, cn,
                             json_string_value(json_object_get(c, "type")));
        }
        json_decref(j);
    }
    if (rc != SQLITE_DONE) {
        store_error(s, e, "cannot read the snapshots");
        json_decref(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    store_unlock(s);
    free(pat);
    return arr;
}

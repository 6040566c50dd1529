/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot.c -- catalogs in the state store; see snapshot.h */
#include <config.h>

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

#include "base/log.h"
#include "catalog/snapshot.h"

static const char *snapshot_text(sdb_stmt *st, int i)
{
    return sdb_column_text(st, i);
}

static void snapshot_bind(sdb_stmt *st, int i, const char *v)
{
    if (v)
        sdb_bind_text(st, i, v);
    else
        sdb_bind_null(st, i);
}

/* Under the lock: the latest snapshot id of source, 0 when none, -1. */
static int64_t snapshot_latest_locked(sdb *db, const char *source)
{
    sdb_stmt *st = NULL;
    int64_t id = -1;

    if (sdb_prepare(db, "SELECT COALESCE(MAX(id), 0) FROM catalog_snapshots "
                               "WHERE source = ?", &st) == 0) {
        snapshot_bind(st, 1, source);
        if (sdb_step(st) == SDB_ROW)
            id = sdb_column_int64(st, 0);
    }
    sdb_finalize(st);
    return id;
}

static int snapshot_load_locked(sdb *db, int64_t id, catalog_list *l)
{
    sdb_stmt *st = NULL;
    int rc;

    if (sdb_prepare(db, "SELECT e.path, e.hash, i.schema, e.volatile "
                               "FROM catalog_entries e JOIN catalog_items i ON i.hash = e.hash "
                               "WHERE e.snapshot_id = ? ORDER BY e.path", &st) != 0)
        return -1;
    sdb_bind_int64(st, 1, id);
    while ((rc = sdb_step(st)) == SDB_ROW)
        if (catalog_list_push(l, snapshot_text(st, 0), snapshot_text(st, 1),
                              snapshot_text(st, 2), snapshot_text(st, 3)) < 0) {
            rc = SDB_ERROR;
            break;
        }
    sdb_finalize(st);
    return rc == SDB_DONE ? 0 : -1;
}

/* Run one statement with no parameters; 0 or -1. */
static int snapshot_exec(sdb *db, const char *sql)
{
    return sdb_exec(db, sql) == 0 ? 0 : -1;
}

/* The catalog is unchanged: verified now; volatile fields refreshed. */
static int snapshot_verify_locked(sdb *db, int64_t id, const catalog_list *old,
                                  const catalog_list *l, int64_t now, int64_t duration_ms)
{
    sdb_stmt *st = NULL;
    size_t i;
    int rc = 0;

    if (sdb_prepare(db, "UPDATE catalog_snapshots SET verified_at = ?, duration_ms = ? "
                               "WHERE id = ?", &st) != 0)
        return -1;
    sdb_bind_int64(st, 1, now);
    sdb_bind_int64(st, 2, duration_ms);
    sdb_bind_int64(st, 3, id);
    rc = sdb_step(st) == SDB_DONE ? 0 : -1;
    sdb_finalize(st);
    if (rc < 0 || sdb_prepare(db, "UPDATE catalog_entries SET volatile = ? "
                                         "WHERE snapshot_id = ? AND path = ?", &st) != 0)
        return -1;
    for (i = 0; rc == 0 && i < l->n; i++) {
        const char *a = old->v[i].vol, *b = l->v[i].vol;
        if ((!a && !b) || (a && b && strcmp(a, b) == 0))
            continue;
        sdb_reset(st);
        snapshot_bind(st, 1, b);
        sdb_bind_int64(st, 2, id);
        snapshot_bind(st, 3, l->v[i].path);
        rc = sdb_step(st) == SDB_DONE ? 0 : -1;
    }
    sdb_finalize(st);
    return rc;
}

/* A new snapshot with its entries and items; *id is its id. */
static int snapshot_insert_locked(sdb *db, const char *source, const catalog_list *l,
                                  int64_t now, int64_t duration_ms, int64_t run_id,
                                  size_t changes, int64_t *id)
{
    sdb_stmt *st = NULL, *item = NULL;
    size_t i;
    int rc;

    if (sdb_prepare(db, "INSERT INTO catalog_snapshots (source, taken_at, verified_at, "
                               "duration_ms, items, changes, run_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "RETURNING id", &st) != 0)
        return -1;
    snapshot_bind(st, 1, source);
    sdb_bind_int64(st, 2, now);
    sdb_bind_int64(st, 3, now);
    sdb_bind_int64(st, 4, duration_ms);
    sdb_bind_int64(st, 5, (int64_t)l->n);
    sdb_bind_int64(st, 6, (int64_t)changes);
    if (run_id > 0)
        sdb_bind_int64(st, 7, run_id);
    else
        sdb_bind_null(st, 7);
    rc = sdb_step_id(st, id) == SDB_DONE ? 0 : -1;
    sdb_finalize(st);
    if (rc < 0)
        return -1;
    if (sdb_prepare(db, "INSERT INTO catalog_items (hash, schema) VALUES (?, ?) "
                        "ON CONFLICT (hash) DO NOTHING", &item) != 0 ||
        sdb_prepare(db, "INSERT INTO catalog_entries (snapshot_id, path, hash, volatile) "
                               "VALUES (?, ?, ?, ?)", &st) != 0) {
        sdb_finalize(item);
        return -1;
    }
    for (i = 0; rc == 0 && i < l->n; i++) {
        sdb_reset(item);
        snapshot_bind(item, 1, l->v[i].hash);
        snapshot_bind(item, 2, l->v[i].schema);
        sdb_reset(st);
        sdb_bind_int64(st, 1, *id);
        snapshot_bind(st, 2, l->v[i].path);
        snapshot_bind(st, 3, l->v[i].hash);
        snapshot_bind(st, 4, l->v[i].vol);
        rc = sdb_step(item) == SDB_DONE && sdb_step(st) == SDB_DONE ? 0 : -1;
    }
    sdb_finalize(item);
    sdb_finalize(st);
    return rc;
}

static int snapshot_events_locked(sdb *db, const char *source, const catalog_diff *d,
                                  int64_t from, int64_t to, int64_t now)
{
    sdb_stmt *st = NULL;
    size_t i;
    int rc = 0;

    if (sdb_prepare(db, "INSERT INTO drift_events (source, item, col, change, breaking, "
                               "before, after, from_snapshot, to_snapshot, at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) != 0)
        return -1;
    for (i = 0; rc == 0 && i < d->n; i++) {
        const catalog_change *c = &d->v[i];
        sdb_reset(st);
        snapshot_bind(st, 1, source);
        snapshot_bind(st, 2, c->item);
        snapshot_bind(st, 3, c->column);
        snapshot_bind(st, 4, catalog_change_name(c->kind));
        sdb_bind_int(st, 5, c->breaking);
        snapshot_bind(st, 6, c->before);
        snapshot_bind(st, 7, c->after);
        sdb_bind_int64(st, 8, from);
        sdb_bind_int64(st, 9, to);
        sdb_bind_int64(st, 10, now);
        rc = sdb_step(st) == SDB_DONE ? 0 : -1;
    }
    sdb_finalize(st);
    return rc;
}

/* Delete what the retention no longer keeps. */
static int snapshot_prune_locked(sdb *db, const char *source, int64_t latest, int64_t cutoff)
{
    sdb_stmt *st = NULL;
    int rc, n = 0;

    if (sdb_prepare(db, "DELETE FROM catalog_entries WHERE snapshot_id IN (SELECT id FROM "
                               "catalog_snapshots WHERE source = ?1 AND id < ?2 AND "
                               "verified_at < ?3)", &st) != 0)
        return -1;
    snapshot_bind(st, 1, source);
    sdb_bind_int64(st, 2, latest);
    sdb_bind_int64(st, 3, cutoff);
    rc = sdb_step(st) == SDB_DONE ? 0 : -1;
    n = sdb_changes(db);
    sdb_finalize(st);
    if (rc == 0 && sdb_prepare(db, "DELETE FROM catalog_snapshots WHERE source = ?1 AND "
                                          "id < ?2 AND verified_at < ?3", &st) == 0) {
        snapshot_bind(st, 1, source);
        sdb_bind_int64(st, 2, latest);
        sdb_bind_int64(st, 3, cutoff);
        rc = sdb_step(st) == SDB_DONE ? 0 : -1;
        sdb_finalize(st);
    }
    if (rc == 0 && n > 0)
        rc = snapshot_exec(db, "DELETE FROM catalog_items WHERE NOT EXISTS (SELECT 1 FROM "
                               "catalog_entries e WHERE e.hash = catalog_items.hash)");
    if (rc == 0 && sdb_prepare(db, "DELETE FROM drift_events WHERE source = ?1 AND "
                                          "at < ?2 AND (breaking = 0 OR id <= COALESCE(("
                                          "SELECT a.event_id FROM drift_acks a WHERE a.source = "
                                          "drift_events.source AND a.item = drift_events.item), 0))", &st) == 0) {
        snapshot_bind(st, 1, source);
        sdb_bind_int64(st, 2, cutoff);
        rc = sdb_step(st) == SDB_DONE ? 0 : -1;
        sdb_finalize(st);
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
    sdb *db;
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
    if (sdb_begin(db) < 0 || sdb_lock_table(db, "catalog_snapshots") < 0) {
        rs = store_error(s, e, "cannot lock the database");
        sdb_rollback(db);
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
    if (sdb_commit(db) < 0)
        goto fail;
    store_unlock(s);
    snapshot_log(source, &d);
    catalog_list_free(&old);
    catalog_diff_free(&d);
    return DSRC_OK;
fail:
    rs = store_error(s, e, what);
    sdb_rollback(db);
    store_unlock(s);
    catalog_list_free(&old);
    catalog_diff_free(&d);
    memset(res, 0, sizeof *res);
    return rs;
}

int snapshot_find(store *s, const char *source, int64_t id, int64_t at_ms, snapshot_info *info,
                  derr *e)
{
    sdb *db = store_lock(s);
    sdb_stmt *st = NULL;
    int rc, out = -1;

    memset(info, 0, sizeof *info);
    if (sdb_prepare(db, "SELECT id, taken_at, verified_at, duration_ms, items, changes, "
                               "COALESCE(run_id, 0) FROM catalog_snapshots WHERE source = ?1 "
                               "AND (?2 <= 0 OR id = ?2) AND (?3 <= 0 OR taken_at <= ?3) "
                               "ORDER BY id DESC LIMIT 1", &st) != 0) {
        store_error(s, e, "cannot read the snapshots");
        store_unlock(s);
        return -1;
    }
    snapshot_bind(st, 1, source);
    sdb_bind_int64(st, 2, id);
    sdb_bind_int64(st, 3, at_ms);
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        info->id = sdb_column_int64(st, 0);
        info->taken_at = sdb_column_int64(st, 1);
        info->verified_at = sdb_column_int64(st, 2);
        info->duration_ms = sdb_column_int64(st, 3);
        info->items = sdb_column_int64(st, 4);
        info->changes = sdb_column_int64(st, 5);
        info->run_id = sdb_column_int64(st, 6);
        out = 0;
    } else if (rc == SDB_DONE) {
        out = 1;
    } else {
        store_error(s, e, "cannot read the snapshots");
    }
    sdb_finalize(st);
    store_unlock(s);
    return out;
}

dsrc_status snapshot_load(store *s, int64_t id, catalog_list *l, derr *e)
{
    sdb *db = store_lock(s);
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
    sdb *db;
    sdb_stmt *st = NULL;
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
    if (sdb_prepare(db, "SELECT s.source, e.path, i.schema FROM catalog_snapshots s "
                               "JOIN catalog_entries e ON e.snapshot_id = s.id "
                               "JOIN catalog_items i ON i.hash = e.hash WHERE s.id IN "
                               "(SELECT MAX(id) FROM catalog_snapshots GROUP BY source) "
                               "ORDER BY s.source, e.path", &st) != 0) {
        store_error(s, e, "cannot read the snapshots");
        store_unlock(s);
        json_decref(arr);
        free(pat);
        return NULL;
    }
    while ((rc = sdb_step(st)) == SDB_ROW) {
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
    if (rc != SDB_DONE) {
        store_error(s, e, "cannot read the snapshots");
        json_decref(arr);
        arr = NULL;
    }
    sdb_finalize(st);
    store_unlock(s);
    free(pat);
    return arr;
}

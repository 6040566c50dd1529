/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h -- discovered catalogs kept in the state store.
 *
 * A snapshot is one source's catalog as a discover of the whole source
 * saw it: the list of (item path, schema hash) with each item's volatile
 * fields (rows, sizes, times, comments, properties), the time it was taken
 * and the discover's duration.  Items are stored once per schema hash
 * (catalog.h), so an item unchanged across snapshots costs one row per
 * snapshot, and an unchanged catalog costs nothing: snapshot_record() then
 * only moves the last snapshot's "verified at" time and refreshes its
 * volatile fields.  When the catalog changed, a new snapshot is stored and
 * every change from the previous one (catalog_diff_lists()) is recorded
 * once as a drift event (drift.h) and logged, with the change kind's
 * MESSAGE_ID in the journal.  The first snapshot of a source has nothing
 * to differ from: it records no event.
 *
 * Retention: snapshots last verified before now - retention are deleted,
 * never a source's latest one, and with them the items no snapshot holds
 * any more and the drift events that are not an unacknowledged breaking
 * change.
 */
#ifndef DSRC_CORE_SNAPSHOT_H
#define DSRC_CORE_SNAPSHOT_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "store/store.h"

/* What snapshot_record() did. */
typedef struct snapshot_result {
    int64_t snapshot_id;      /* the source's latest snapshot now           */
    int changed;              /* 1: a new snapshot was stored               */
    size_t items;
    size_t changes, breaking; /* drift events recorded                      */
} snapshot_result;

/* One stored snapshot. */
typedef struct snapshot_info {
    int64_t id;
    int64_t taken_at, verified_at;   /* ms since the epoch                  */
    int64_t duration_ms;
    int64_t items, changes;
    int64_t run_id;                  /* 0: by dsrc discover                 */
} snapshot_info;

/* Record a discover of all of `source` (the list is sorted here), taking
 * duration_ms, by run run_id (0: none), with retention_ms (<= 0: keep
 * everything).  Fills *res.  DSRC_OK, or the store's error in `e`
 * (nothing recorded). */
dsrc_status snapshot_record(store *s, const char *source, catalog_list *l,
                            int64_t duration_ms, int64_t run_id, int64_t retention_ms,
                            snapshot_result *res, derr *e);

/* The snapshot of `source` with id `id` (> 0), else the one in effect at
 * at_ms (> 0: the last taken at or before it), else the latest, into
 * *info.  0 found, 1 none, -1 error (`e` set). */
int snapshot_find(store *s, const char *source, int64_t id, int64_t at_ms,
                  snapshot_info *info, derr *e);

/* The items of snapshot `id` (sorted by path) appended to `l`.  DSRC_OK or
 * the error. */
dsrc_status snapshot_load(store *s, int64_t id, catalog_list *l, derr *e);

/* Every (source, item) of each source's latest snapshot whose item name
 * (its path when PATTERN holds a '/') or a column name matches the fnmatch(3) PATTERN (case
 * ignored; a pattern with no wildcard matches as a substring): an array of
 * {source, item, kind, column (null for the item itself), type}.  NULL
 * with `e` set. */
json_t *snapshot_search(store *s, const char *pattern, derr *e);

#endif

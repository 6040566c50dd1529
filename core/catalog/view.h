/* SPDX-License-Identifier: Apache-2.0 */
/*
 * view.h -- a source's stored catalog as JSON, read from the state store
 * alone (no source is touched): what `dsrc --json catalog` and `dsrc
 * --json stats` print and what dsrcd's GET /v1/sources/{name}/catalog and
 * /stats answer.  Strings that come from the store are redacted.
 */
#ifndef DSRC_CORE_CATALOG_VIEW_H
#define DSRC_CORE_CATALOG_VIEW_H

#include <stdint.h>

#include <jansson.h>

#include "catalog/snapshot.h"
#include "store/store.h"

/* The snapshot of `source` with id `id` (> 0), else the one in effect at
 * at_ms (> 0), else the latest, into *info, and its items into `l`.
 * DSRC_OK; DSRC_E_NOT_FOUND when there is none ("no stored catalog of S;
 * 'dsrc discover S' stores one", or "S has no snapshot ID"); else the
 * store's error. */
dsrc_status catalog_view_get(store *st, const char *source, int64_t id, int64_t at_ms,
                             snapshot_info *info, catalog_list *l, derr *e);

/* One stored item: its schema (path, kind, columns...) with "hash" and
 * "stats" (its volatile fields).  A new reference. */
json_t *catalog_view_entry_json(const catalog_entry *en);

/* The snapshot (as catalog_view_get() picks it): {source, id, taken_at,
 * verified_at, age_seconds, duration_ms, items, changes, run_id, snapshot}
 * with "items" (every item), or with "item" alone when `item` is not NULL.
 * NULL with `e` set: DSRC_E_NOT_FOUND as catalog_view_get(), or "S has no
 * item 'I' in snapshot ID". */
json_t *catalog_view_json(store *st, const char *source, int64_t id, int64_t at_ms,
                          const char *item, derr *e);

/* The latest snapshot's figures: the fields of catalog_view_json() but the
 * items, then schemas, tables, views, columns, estimated_rows and bytes
 * (null when no item tells), changes_30d (drift events of the last 30
 * days) and last_discovery (discovery_last_json()).  `info` (may be NULL)
 * gets the snapshot.  NULL with `e` set as catalog_view_get(). */
json_t *catalog_view_stats_json(store *st, const char *source, snapshot_info *info, derr *e);

#endif

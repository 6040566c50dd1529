/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drift.h -- the drift events of the state store (recorded by
 * snapshot_record()) and their acknowledgements.
 *
 * An item is paused when it has a breaking drift event newer than its last
 * acknowledgement: the daemon's scheduled fetches of an item whose fetch
 * rule says on_breaking_change = "pause" do not run while it is (the run
 * is recorded as cancelled, with the reason).  drift_ack() acknowledges
 * every event of the item recorded so far.
 */
#ifndef DSRC_CORE_DRIFT_H
#define DSRC_CORE_DRIFT_H

#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

/* The events of `source` recorded at or after since_ms (0: all), breaking
 * ones first, newest first within each class: an array of {id, time,
 * source, item, column, change, class ("breaking"/"non-breaking"), before,
 * after (JSON values), from_snapshot, to_snapshot, acknowledged}.  NULL
 * with `e` set. */
json_t *drift_events_json(store *s, const char *source, int64_t since_ms, derr *e);

/* How many events of `source` were recorded at or after since_ms; -1 on
 * error. */
int64_t drift_count(store *s, const char *source, int64_t since_ms, derr *e);

/* Acknowledge the events of (source, item): *n (may be NULL) is how many
 * breaking ones were waiting.  DSRC_E_NOT_FOUND when the item has no
 * drift event at all. */
dsrc_status drift_ack(store *s, const char *source, const char *item, int64_t *n, derr *e);

/* 1 when (source, item) has an unacknowledged breaking event (*why, when
 * not NULL, is a malloc'd one-line reason), 0 when not, -1 on error. */
int drift_paused(store *s, const char *source, const char *item, char **why, derr *e);

#endif

/*
 * state.h -- the state store: last committed incremental cursor per
 * (source, item).
 *
 * Kept as small JSON files under <state_dir>/cursors/<source>/<item path>.json,
 * each written atomically (outfile_write_all).  A cursor is committed only
 * after the data file it covers is durable, so a crash re-fetches, it never
 * skips.
 */
#ifndef DSRC_CORE_STATE_H
#define DSRC_CORE_STATE_H

#include "error.h"

/* The committed cursor for (source, item, field) into *value (malloc'd), or
 * *value = NULL when there is none.  A cursor committed for a different
 * field counts as none.  Returns DSRC_OK or an error (unreadable or
 * corrupt file). */
dsrc_status state_get_cursor(const char *state_dir, const char *source,
                             const char *item, const char *field,
                             char **value, derr *e);

/* Commit a cursor value durably. */
dsrc_status state_put_cursor(const char *state_dir, const char *source,
                             const char *item, const char *field,
                             const char *value, derr *e);

/* A safe relative path for an item: each '/'-separated component is kept if
 * it matches [A-Za-z0-9._-]+ and is not "." or "..", else percent-encoded
 * ("%2E%2E").  Empty components are dropped; an item with no component at
 * all gives "%", which no real component maps to.  NULL only when out of
 * memory.  Malloc'd. */
char *state_item_path(const char *item);

#endif

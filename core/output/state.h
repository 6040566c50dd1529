/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h -- the cursor files of earlier versions, and safe item paths.
 *
 * Earlier versions kept the last committed incremental cursor per (source,
 * item) as small JSON files under <state_dir>/cursors/<source>/<item
 * path>.json, each written atomically (outfile_write_all).  The state store
 * (store/store.h) now holds the cursors; it reads these files once, with
 * state_get_cursor() (which resolves a fetch that died mid-commit), when it
 * is first made, and leaves them as a backup.  The writers stay for tests
 * that make such files.  state_item_path() names an item's folder in the
 * workspace.
 */
#ifndef DSRC_CORE_STATE_H
#define DSRC_CORE_STATE_H

#include "base/error.h"

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

/* Before a fetch puts its files in place: record durably, beside the
 * committed cursor (which does not change), the value to come, the data
 * file's SHA-256, identity (outfile_id) and path, its manifest's path, and
 * this process's pid.  state_put_cursor then commits the value and drops
 * the record.  A record whose process is gone (it died in between) is
 * resolved by the next state_get_cursor: when the manifest is in place and
 * matches (same SHA-256, same cursor end) the value is committed, else the
 * data file, if that very file is in place without its manifest, is
 * removed and the old value stays.  So a
 * crash at any point neither skips nor duplicates.  Fails (nothing
 * recorded) when the state directory cannot be written: the caller must
 * then put nothing in place. */
dsrc_status state_prepare_cursor(const char *state_dir, const char *source,
                                 const char *item, const char *field,
                                 const char *value, const char *sha256,
                                 const char *file_id, const char *file,
                                 const char *manifest_path, derr *e);

/* A safe relative path for an item: each '/'-separated component is kept if
 * it matches [A-Za-z0-9._-]+ and is not "." or "..", else percent-encoded
 * ("%2E%2E").  Empty components are dropped; an item with no component at
 * all gives "%", which no real component maps to.  NULL only when out of
 * memory.  Malloc'd. */
char *state_item_path(const char *item);

#endif

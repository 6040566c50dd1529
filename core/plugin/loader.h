/*
 * loader.h -- finding, checking and loading plugins (libltdl).
 *
 * A plugin named NAME is the file NAME.so in one of the search directories
 * (tried in order).  Loading checks, before trusting anything:
 *   1. the file opens as a shared library (non-ELF and empty files refused);
 *   2. dsrc_plugin_abi exists, returns a magic block with DSRC_ABI_MAGIC and
 *      the host's ABI major (the message names both versions);
 *   3. dsrc_plugin_init exists and succeeds for the host's ABI version;
 *   4. the driver's name equals NAME;
 *   5. the required members (name, open, close, ping, list, describe, fetch)
 *      are set; missing optional ones (discover, cancel) are replaced by
 *      stubs returning DSRC_E_UNSUPPORTED.
 * A refusal closes the library and returns a message naming the file and the
 * reason.  Loaded plugins stay loaded until ld_free().
 * Not thread-safe: load plugins from one thread (dsrcd does it at start and
 * on reload).
 */
#ifndef DSRC_CORE_LOADER_H
#define DSRC_CORE_LOADER_H

#include <dsrc/plugin.h>
#include "base/error.h"

typedef struct ld_plugin ld_plugin;
typedef struct ld_set ld_set;

/* A new, empty set searching `dirs` (copied) in order.  Also searches the
 * directories of $DSRC_PLUGIN_PATH (colon-separated) first when set.
 * Returns NULL on allocation failure. */
ld_set *ld_new(const char *const *dirs, size_t n_dirs);

/* Unload every plugin (calling its unload()) and free the set. */
void ld_free(ld_set *set);

/* The plugin NAME, loading it on first use.  Returns DSRC_OK and sets *out,
 * or fills `e` (DSRC_E_NOT_FOUND when no NAME.so is in any directory,
 * DSRC_E_INVALID_CONFIG when a file was refused).  NAME must be a plain
 * name ([a-z0-9_-]+). */
dsrc_status ld_get(ld_set *set, const char *name, ld_plugin **out, derr *e);

/* Load one file as plugin `expected_name` (NULL: derive from the file name).
 * Same checks as ld_get().  The result is owned by `set`. */
dsrc_status ld_load_file(ld_set *set, const char *path,
                         const char *expected_name, ld_plugin **out, derr *e);

/* Call fn for every NAME.so found in the search directories, loading each
 * (first directory wins for a name).  Files that fail to load are reported
 * through fn with plugin == NULL and the error.  Returns the number found. */
typedef void (*ld_scan_fn)(void *user, const char *name, const char *path,
                           ld_plugin *plugin, const derr *e);
size_t ld_scan(ld_set *set, ld_scan_fn fn, void *user);

/* Accessors.  The driver is complete: optional members are never NULL. */
const dsrc_driver *ld_driver(const ld_plugin *p);
const char *ld_name(const ld_plugin *p);
const char *ld_path(const ld_plugin *p);
const dsrc_abi_info *ld_abi(const ld_plugin *p);

/* The search directories (for messages). */
size_t ld_dirs(const ld_set *set, const char *const **dirs);

/* The option named `name` in the plugin's table, or NULL. */
const dsrc_option *ld_option(const ld_plugin *p, const char *name);

#endif

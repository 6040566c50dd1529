/* SPDX-License-Identifier: Apache-2.0 */
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
 *      stubs returning DSRC_E_UNSUPPORTED; the option table is well formed,
 *      and so is the option limit table (since 1.1: each limit names an
 *      option once, a minimum/maximum only on int, duration and double
 *      options with min <= max, a pattern only on string and path options,
 *      compiling as a POSIX extended regular expression).
 * A refusal closes the library and returns a message naming the file and the
 * reason.  Loaded plugins stay loaded until loader_free().
 * Not thread-safe: load plugins from one thread (dsrcd does it at start and
 * on reload).
 */
#ifndef DSRC_CORE_LOADER_H
#define DSRC_CORE_LOADER_H

#include <regex.h>
#include <dsrc/plugin.h>
#include "base/error.h"

typedef struct loader_plugin loader_plugin;
typedef struct loader_set loader_set;

/* A new, empty set searching `dirs` (copied) in order.  Also searches the
 * directories of $DSRC_PLUGIN_PATH (colon-separated) first when set.
 * Returns NULL on allocation failure. */
loader_set *loader_new(const char *const *dirs, size_t n_dirs);

/* Unload every plugin (calling its unload()) and free the set. */
void loader_free(loader_set *set);

/* The plugin NAME, loading it on first use.  Returns DSRC_OK and sets *out,
 * or fills `e` (DSRC_E_NOT_FOUND when no NAME.so is in any directory,
 * DSRC_E_INVALID_CONFIG when a file was refused).  NAME must be a plain
 * name ([a-z0-9_-]+). */
dsrc_status loader_get(loader_set *set, const char *name, loader_plugin **out, derr *e);

/* Load one file as plugin `expected_name` (NULL: derive from the file name).
 * Same checks as loader_get().  The result is owned by `set`. */
dsrc_status loader_load_file(loader_set *set, const char *path,
                         const char *expected_name, loader_plugin **out, derr *e);

/* Call fn for every NAME.so found in the search directories, loading each
 * (first directory wins for a name).  Files that fail to load are reported
 * through fn with plugin == NULL and the error.  Returns the number found. */
typedef void (*loader_scan_fn)(void *user, const char *name, const char *path,
                           loader_plugin *plugin, const derr *e);
size_t loader_scan(loader_set *set, loader_scan_fn fn, void *user);

/* Accessors.  The driver is complete: optional members are never NULL. */
const dsrc_driver *loader_driver(const loader_plugin *p);
const char *loader_name(const loader_plugin *p);
const char *loader_path(const loader_plugin *p);
const dsrc_abi_info *loader_abi(const loader_plugin *p);

/* The search directories (for messages). */
size_t loader_dirs(const loader_set *set, const char *const **dirs);

/* 1 when `name` is a valid option name: lower_snake_case, starting with a
 * letter (as a libconfig setting name must). */
int loader_option_name_valid(const char *name);

/* NAME from ".../NAME.so" (or the whole base name without a ".so"):
 * malloc'd, NULL when out of memory. */
char *loader_name_from_path(const char *path);

/* For tests only: make the plugins loaded from now on see a host of the
 * older ABI `version` (DSRC_ABI_VERSION_1_0): that version number at init,
 * its host table and driver sizes, nothing past them.  Any other value
 * restores this host's own version.  Not thread-safe. */
void loader_set_host_abi(uint32_t version);

/* The option named `name` in the plugin's table, or NULL. */
const dsrc_option *loader_option(const loader_plugin *p, const char *name);

/* The limit on option `name` (since 1.1), or NULL when it has none. */
const dsrc_option_limit *loader_option_limit(const loader_plugin *p, const char *name);

/* Compile an option limit's pattern as the host applies it: a POSIX
 * extended regular expression that the whole value must match (anchors
 * implied), REG_NOSUB.  Returns regcomp()'s result; regfree() on 0. */
int loader_regcomp(regex_t *re, const char *pattern);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * generation.h -- one loaded generation of dsrcd's configuration: the
 * configuration, the plugin set it loaded (shared with the generation it
 * replaced when the plugin directories did not change) and the registry
 * of its sources.
 */
#ifndef DSRC_DAEMON_GENERATION_H
#define DSRC_DAEMON_GENERATION_H

#include <stdatomic.h>

#include "base/diag.h"
#include "config/config.h"
#include "plugin/registry.h"

typedef struct plugset plugset;

/* One loaded generation of the configuration.  A generation lives as long
 * as it is current or a source's router made from it is still in use (a
 * router borrows its registry_source): `refs` counts both. */
typedef struct generation {
    cfg_config *cfg;
    plugset *plugins;
    registry *reg;
    atomic_int refs;          /* taken and dropped from any thread          */
} generation;

/* Load a generation (one reference, the caller's).  `reuse` (may be NULL)
 * shares its plugin set when the plugin directories did not change.
 * Returns 0 when valid; *out may be set (to be released) either way. */
int gen_load(const char *path, const generation *reuse, generation **out,
             diag_list *diags);

/* The plugin set of a generation (for checking a source against it from
 * another thread while the caller holds a reference: loader.h locks). */
loader_set *gen_plugin_set(const generation *g);

/* Drop a reference (NULL is fine): the last one frees the generation. */
void gen_unref(generation *g);

/* Log the diagnostics of a load (errors as errors, the rest as warnings). */
void gen_log_diags(const diag_list *d);

/* The config's log_level and log_target apply unless given on the command
 * line (cli_target, cli_level: -1 when not given). */
void gen_apply_log_settings(const cfg_config *cfg, int cli_target, int cli_level);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.h -- the validated set of sources.
 *
 * registry_build() takes a loaded config and a plugin set, loads the plugin each
 * enabled source needs and validates the source's `connection` group
 * against the plugin's option table: unknown keys, wrong value types, bad
 * enum values, malformed durations, missing required options; each is an
 * error naming file and line.  Values are normalised (see dsrc_option_type)
 * and defaults applied.  A source that fails validation is left out of the
 * registry; the error is in `diags`.  Disabled sources are neither loaded
 * nor validated, and are not in the registry.
 *
 * Since 1.1, a value outside the limits the plugin declares
 * (dsrc_option_limit: a minimum or maximum, a pattern) is an error at its
 * line, and the plugin's validate(), when it has one, then checks the
 * options as a whole: it gets what open() would, except that a secret
 * that is set reads "(secret)" (never resolved); its refusal is reported
 * at the line of the option its message starts with ("option 'NAME'"),
 * else at the `connection` group's.
 *
 * Details: options are kept in the order of the plugin's table; options
 * with neither a value nor a default are absent.  A relative DSRC_OPT_PATH
 * value is made absolute against the directory of the source's file.  The
 * value of every DSRC_OPT_SECRET option (configured or default) is
 * registered with redact_add() before any message is produced.  A missing
 * plugin is reported at the line of the source's `type`, a missing required
 * option at the `connection` group's line (or the `name` line when there
 * is no such group).
 *
 * Ownership: the registry borrows `cfg` and `plugins`, which must outlive
 * it; it owns its registry_source array.
 */
#ifndef DSRC_CORE_REGISTRY_H
#define DSRC_CORE_REGISTRY_H

#include <jansson.h>

#include "config/config.h"
#include "base/diag.h"
#include "plugin/loader.h"

typedef struct registry_option {
    const dsrc_option *def;   /* the plugin's declaration                    */
    char *value;              /* normalised; for secrets: the reference or
                                 plain value as written (never printed)     */
    int from_default;         /* 1: not in the config, default applied       */
    int line;                 /* 0 for defaults                              */
} registry_option;

typedef struct registry_source {
    const cfg_source *cfg;
    loader_plugin *plugin;
    registry_option *options;      size_t n_options;
    const char *key_file;     /* the daemon's key_file setting (may be NULL),
                                 for resolving fernet: secrets              */
    int isolated;             /* 1: the plugin runs in worker processes
                                 (isolation = "process"; core/isolate)      */
} registry_source;

typedef struct registry {
    const cfg_config *cfg;
    loader_set *plugins;
    registry_source *sources;      size_t n_sources;
} registry;

/* 1 when `plugin` is one of the plugins shipped with dsrc (postgres,
 * mysql, mongo, azure_blob, sqlite, clickhouse, http, s3): isolation =
 * "none" by default. */
int registry_shipped(const char *plugin);

/* Build; never NULL except on allocation failure.  Problems go to diags. */
registry *registry_build(const cfg_config *cfg, loader_set *plugins, diag_list *diags);
void registry_free(registry *reg);

const registry_source *registry_find(const registry *reg, const char *name);

/* A source's settings as JSON (a new reference): name, type, location,
 * labels, connection (validated options when `s` is set, else keys only),
 * cloud, tls, replicas, pool, schedule, fetch rules.  Every secret option
 * and every registered secret is shown as *** (REDACTED). */
json_t *registry_source_json(const cfg_source *cs, const registry_source *s);

/* The members of open()'s params that come from the source's file as
 * written (source, location, tls, replicas, n_cloud); options, cloud and
 * tls_key_passphrase are the caller's (the secrets in them are resolved,
 * or replaced by a placeholder for validate()).  tls_mode is the source's
 * resolved mode (cfg_tls_default_mode() without a tls group), never NULL,
 * except that `plugin` (may be NULL), when built for ABI 1.0, gets NULL
 * for "prefer", which 1.0 did not have. */
void registry_open_params(const cfg_source *cs, const loader_plugin *plugin,
                          dsrc_open_params *p);

/* Validate one value against an option declaration and normalise it.
 * Returns a malloc'd normalised value, or NULL with a reason in *why
 * (static string).  Exposed for tests. */
char *registry_normalise(const dsrc_option *def, const cfg_value *v, const char **why);

#endif

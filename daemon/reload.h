/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reload.h -- dsrcd's SIGHUP: re-read the whole configuration, validate
 * it, and swap it in only when it has no error; otherwise the running
 * configuration stays and every error is logged.
 */
#ifndef DSRC_DAEMON_RELOAD_H
#define DSRC_DAEMON_RELOAD_H

#include "control.h"
#include "generation.h"

/* Reload the configuration at `path` in place of *cur (main thread).  When
 * valid, the units are rebuilt (carrying over the unchanged ones), the
 * control API sees them, *cur is the new generation (the old reference
 * dropped), the log settings (unless given on the command line: cli_target,
 * cli_level, -1 when not) and probe_timeout follow it; the caller then
 * applies the control API's settings (control_apply).  Returns the result
 * (a new reference, NULL when out of memory): {"reloaded": true|false,
 * "sources": N, "errors": [{"file", "line", "message"}], "warnings": [...]}. */
json_t *reload_run(const char *path, int cli_target, int cli_level, generation **cur,
                   control_state *d);

#endif

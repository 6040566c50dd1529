/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h -- the host's error value.
 *
 * A derr is what core functions fill when they fail: a dsrc_status, a
 * retryable flag, the backend's code and a message that is already redacted
 * (no secret can appear in it).  Callers own the derr and release it with
 * derr_clear().  A zeroed derr is "no error".
 */
#ifndef DSRC_CORE_ERROR_H
#define DSRC_CORE_ERROR_H

#include <dsrc/plugin.h>

typedef struct derr {
    dsrc_status status;
    int retryable;
    int connection_broken;
    char code[DSRC_BACKEND_CODE_MAX];
    char *msg; /* malloc'd, redacted; NULL when status == DSRC_OK */
} derr;

/* Set status and a printf-style message (replaces any previous one).  The
 * message is passed through redact_dup().  Returns status. */
dsrc_status derr_set(derr *e, dsrc_status status, const char *fmt, ...)
    DSRC_PRINTF(3, 4);

/* Take over a plugin's error: copy status, flags, code and the redacted
 * message, prefixed with `prefix` (may be NULL), then release the plugin's
 * error.  A plugin error with no message is the plugin's bug: the status
 * keeps its meaning (retryable, connection_broken too) and the message says
 * "plugin 'PLUGIN' bug: OP returned DSRC_E_AUTH without a message"
 * (`plugin` and `op`, e.g. "fetch", may be NULL: "?").  Returns the
 * status. */
dsrc_status derr_from_plugin(derr *e, dsrc_error *perr, const char *plugin, const char *op,
                             const char *prefix);

/* After a plugin call returned DSRC_OK: a message left in `perr` is the
 * plugin's bug, logged as one warning ("plugin 'PLUGIN' bug: OP returned
 * DSRC_OK with an error message set (\"...\")", tagged with `source`);
 * the call still succeeds.  Releases the plugin's error either way. */
void derr_plugin_ok(dsrc_error *perr, const char *source, const char *plugin, const char *op);

/* Prepend "prefix: " to the message. */
void derr_prefix(derr *e, const char *fmt, ...) DSRC_PRINTF(2, 3);

/* Free the message and reset to DSRC_OK. */
void derr_clear(derr *e);

/* A short lower-case name for a status: "ok", "auth", "not-found", ... */
const char *error_status_name(dsrc_status s);

/* The status's name in <dsrc/plugin.h>: "DSRC_OK", "DSRC_E_AUTH", ...
 * (an unknown value: "DSRC_E_INTERNAL"). */
const char *error_status_symbol(dsrc_status s);

/* Initialise a plugin error struct before a call (zero + struct_size). */
void error_init(dsrc_error *perr);

#endif

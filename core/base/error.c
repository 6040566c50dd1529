/* SPDX-License-Identifier: Apache-2.0 */
/* error.c -- see error.h */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/redact.h"

const char *error_status_name(dsrc_status s)
{
    switch (s) {
    case DSRC_OK: return "ok";
    case DSRC_E_INVALID_CONFIG: return "invalid-config";
    case DSRC_E_AUTH: return "auth";
    case DSRC_E_PERMISSION: return "permission";
    case DSRC_E_UNREACHABLE: return "unreachable";
    case DSRC_E_TIMEOUT: return "timeout";
    case DSRC_E_NOT_FOUND: return "not-found";
    case DSRC_E_UNSUPPORTED: return "unsupported";
    case DSRC_E_CANCELLED: return "cancelled";
    case DSRC_E_INVALID_ARGUMENT: return "invalid-argument";
    case DSRC_E_BACKEND: return "backend";
    case DSRC_E_INTERNAL: return "internal";
    }
    return "internal";
}

const char *error_status_symbol(dsrc_status s)
{
    switch (s) {
    case DSRC_OK: return "DSRC_OK";
    case DSRC_E_INVALID_CONFIG: return "DSRC_E_INVALID_CONFIG";
    case DSRC_E_AUTH: return "DSRC_E_AUTH";
    case DSRC_E_PERMISSION: return "DSRC_E_PERMISSION";
    case DSRC_E_UNREACHABLE: return "DSRC_E_UNREACHABLE";
    case DSRC_E_TIMEOUT: return "DSRC_E_TIMEOUT";
    case DSRC_E_NOT_FOUND: return "DSRC_E_NOT_FOUND";
    case DSRC_E_UNSUPPORTED: return "DSRC_E_UNSUPPORTED";
    case DSRC_E_CANCELLED: return "DSRC_E_CANCELLED";
    case DSRC_E_INVALID_ARGUMENT: return "DSRC_E_INVALID_ARGUMENT";
    case DSRC_E_BACKEND: return "DSRC_E_BACKEND";
    case DSRC_E_INTERNAL: return "DSRC_E_INTERNAL";
    }
    return "DSRC_E_INTERNAL";
}

static void set_msg(derr *e, char *raw)
{
    free(e->msg);
    e->msg = raw ? redact_dup(raw) : NULL;
    free(raw);
}

dsrc_status derr_set(derr *e, dsrc_status status, const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL;

    if (!e)
        return status;
    e->status = status;
    e->retryable = 0;
    e->connection_broken = 0;
    e->code[0] = '\0';
    va_start(ap, fmt);
    if (vasprintf(&raw, fmt, ap) < 0)
        raw = NULL;
    va_end(ap);
    set_msg(e, raw);
    return status;
}

void derr_prefix(derr *e, const char *fmt, ...)
{
    va_list ap;
    char *pre = NULL, *raw = NULL;

    if (!e)
        return;
    va_start(ap, fmt);
    if (vasprintf(&pre, fmt, ap) < 0)
        pre = NULL;
    va_end(ap);
    if (!pre)
        return;
    if (asprintf(&raw, "%s: %s", pre, e->msg ? e->msg : error_status_name(e->status)) < 0)
        raw = NULL;
    free(pre);
    if (raw)
        set_msg(e, raw);
}

/* Release a plugin's error and forget it. */
static void release_plugin_error(dsrc_error *perr)
{
    if (perr->release)
        perr->release(perr);
    perr->message = NULL;
    perr->release = NULL;
}

dsrc_status derr_from_plugin(derr *e, dsrc_error *perr, const char *plugin, const char *op,
                             const char *prefix)
{
    dsrc_status st = perr->status == DSRC_OK ? DSRC_E_INTERNAL : perr->status;
    char *raw = NULL, *bug = NULL;
    const char *m = perr->message;

    if (st > DSRC_E_INTERNAL)
        st = DSRC_E_INTERNAL;
    if (!m || !*m) {
        if (asprintf(&bug, "plugin '%s' bug: %s returned %s without a message",
                     plugin ? plugin : "?", op ? op : "?", error_status_symbol(st)) < 0)
            bug = NULL;
        m = bug ? bug : error_status_name(st);
    }
    if (e) {
        e->status = st;
        e->retryable = perr->retryable;
        e->connection_broken = perr->connection_broken;
        memcpy(e->code, perr->backend_code, sizeof e->code);
        e->code[sizeof e->code - 1] = '\0';
        if (prefix) {
            if (asprintf(&raw, "%s: %s", prefix, m) < 0)
                raw = NULL;
        } else {
            raw = strdup(m);
        }
        set_msg(e, raw);
    }
    free(bug);
    release_plugin_error(perr);
    return st;
}

void derr_plugin_ok(dsrc_error *perr, const char *source, const char *plugin, const char *op)
{
    if (perr->message && *perr->message)
        log_msg(DSRC_LOG_WARNING, source, plugin,
                "plugin '%s' bug: %s returned DSRC_OK with an error message set (\"%s\")",
                plugin ? plugin : "?", op ? op : "?", perr->message);
    release_plugin_error(perr);
}

void derr_clear(derr *e)
{
    if (!e)
        return;
    free(e->msg);
    memset(e, 0, sizeof *e);
}

void error_init(dsrc_error *perr)
{
    memset(perr, 0, sizeof *perr);
    perr->struct_size = sizeof *perr;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* error.c -- see error.h */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
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

dsrc_status derr_from_plugin(derr *e, dsrc_error *perr, const char *prefix)
{
    dsrc_status st = perr->status == DSRC_OK ? DSRC_E_INTERNAL : perr->status;
    char *raw = NULL;
    const char *m = perr->message && *perr->message ? perr->message : error_status_name(st);

    if (st > DSRC_E_INTERNAL)
        st = DSRC_E_INTERNAL;
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
    if (perr->release)
        perr->release(perr);
    perr->message = NULL;
    perr->release = NULL;
    return st;
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

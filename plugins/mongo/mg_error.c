/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_error.c -- driver errors as dsrc errors (the server's code, or the
 * driver's "domain.code", in backend_code), and the statuses of a call
 * that is cancelled or stopped by its receiver.
 */
#include "mg.h"

#include <stdatomic.h>

/* Map a driver error to a status.  Server errors keep the server's code in
 * backend_code (18 authentication failed, 13 unauthorized, 26 namespace
 * not found, ...); the driver's own errors keep "domain.code". */
dsrc_status mg_fail(dsrc_error *err, const bson_error_t *be, const char *fmt, ...)
{
    char what[512], code[DSRC_BACKEND_CODE_MAX];
    dsrc_status st = DSRC_E_BACKEND;
    int retry = 0, broken = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(code, sizeof code, "%u", be->code);
    switch (be->domain) {
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_QUERY:
    case MONGOC_ERROR_WRITE_CONCERN:
        switch (be->code) {
        case 18: st = DSRC_E_AUTH; break;                   /* AuthenticationFailed */
        case 13: st = DSRC_E_PERMISSION; break;             /* Unauthorized */
        case 26: st = DSRC_E_NOT_FOUND; break;              /* NamespaceNotFound */
        case 50: st = DSRC_E_TIMEOUT; retry = 1; break;     /* MaxTimeMSExpired */
        case 6: case 7: case 89: case 9001:                 /* network */
        case 91: case 189: case 11600: case 11602:          /* shutting down */
        case 10107: case 13435: case 13436:                 /* not primary */
            st = DSRC_E_UNREACHABLE;
            retry = 1;
            break;
        default: break;
        }
        break;
    case MONGOC_ERROR_CLIENT:
        if (be->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) {
            st = DSRC_E_AUTH;
            /* The driver folds the server's AuthenticationFailed into its
             * own code; the server's code is what an operator looks up. */
            snprintf(code, sizeof code, "18");
        } else {
            snprintf(code, sizeof code, "client.%u", be->code);
        }
        break;
    case MONGOC_ERROR_SERVER_SELECTION:
        st = DSRC_E_UNREACHABLE;
        retry = 1;
        snprintf(code, sizeof code, "select.%u", be->code);
        break;
    case MONGOC_ERROR_STREAM:
        retry = 1;
        broken = 1;
        st = be->code == MONGOC_ERROR_STREAM_SOCKET ? DSRC_E_TIMEOUT : DSRC_E_UNREACHABLE;
        if (strstr(be->message, "timeout") == NULL && be->code == MONGOC_ERROR_STREAM_SOCKET)
            st = DSRC_E_UNREACHABLE;
        snprintf(code, sizeof code, "stream.%u", be->code);
        break;
    case MONGOC_ERROR_CURSOR:
        snprintf(code, sizeof code, "cursor.%u", be->code);
        break;
    default:
        snprintf(code, sizeof code, "%u.%u", be->domain, be->code);
        break;
    }
    st = dsrc_error_set(err, st, retry, code, "%s: %s", what, be->message);
    if (err)
        err->connection_broken = broken;
    return st;
}

int mg_cancelled(const dsrc_ctx *ctx, dsrc_conn *c)
{
    if (atomic_load(&c->cancel))
        return 1;
    return dsrc_cancelled(mg_host, ctx);
}

dsrc_status mg_cancel_err(dsrc_error *err, const char *what)
{
    return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s cancelled", what);
}

dsrc_status mg_stopped(dsrc_error *err)
{
    return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "stopped by the receiver");
}

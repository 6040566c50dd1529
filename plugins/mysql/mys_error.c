/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_error.c -- MySQL and MariaDB errors (client and server error
 * numbers, SQLSTATEs) to dsrc statuses for the mysql plugin.
 */
#include "mys.h"

#include <errno.h>
#include <errmsg.h>

dsrc_status mys_cancelled_error(dsrc_error *err, const char *what)
{
    return dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "%s cancelled", what);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* The dsrc status of a MySQL client or server error number; `sys_errno`
 * is errno right after the failing call (ETIMEDOUT tells a read timeout
 * from a lost connection). */
static dsrc_status mys_classify(unsigned code, int sys_errno, int *retryable, int *broken)
{
    *retryable = 0;
    *broken = 0;
    switch (code) {
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
    case 1130: /* ER_HOST_NOT_PRIVILEGED */
    case 1251: /* ER_NOT_SUPPORTED_AUTH_MODE */
    case 1820: /* ER_MUST_CHANGE_PASSWORD */
    case 1862: /* ER_MUST_CHANGE_PASSWORD_LOGIN */
    case 3118: /* MySQL: account locked */
    case 4151: /* MariaDB: ER_ACCOUNT_HAS_BEEN_LOCKED */
    case CR_AUTH_PLUGIN_CANNOT_LOAD:
        return DSRC_E_AUTH;
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1142: /* ER_TABLEACCESS_DENIED_ERROR */
    case 1143: /* ER_COLUMNACCESS_DENIED_ERROR */
    case 1227: /* ER_SPECIFIC_ACCESS_DENIED_ERROR */
    case 1370: /* ER_PROCACCESS_DENIED_ERROR */
    case 1290: /* ER_OPTION_PREVENTS_STATEMENT (read_only, ...) */
        return DSRC_E_PERMISSION;
    case 1049: /* ER_BAD_DB_ERROR */
    case 1051: /* ER_BAD_TABLE_ERROR */
    case 1109: /* ER_UNKNOWN_TABLE */
    case 1146: /* ER_NO_SUCH_TABLE */
        return DSRC_E_NOT_FOUND;
    case 1054: /* ER_BAD_FIELD_ERROR */
        return DSRC_E_INVALID_ARGUMENT;
    case 1317: /* ER_QUERY_INTERRUPTED */
        return DSRC_E_CANCELLED;
    case 1927: /* ER_CONNECTION_KILLED */
        *broken = 1;
        return DSRC_E_CANCELLED;
    case 1205: /* ER_LOCK_WAIT_TIMEOUT */
    case 1969: /* MariaDB: ER_STATEMENT_TIMEOUT (max_statement_time) */
    case 3024: /* MySQL: max_execution_time exceeded */
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    case 1213: /* ER_LOCK_DEADLOCK */
        *retryable = 1;
        return DSRC_E_BACKEND;
    case 1040: /* ER_CON_COUNT_ERROR */
    case 1203: /* ER_TOO_MANY_USER_CONNECTIONS */
    case 1226: /* ER_USER_LIMIT_REACHED */
        *retryable = 1;
        return DSRC_E_UNREACHABLE;
    case 1129: /* ER_HOST_IS_BLOCKED */
        return DSRC_E_UNREACHABLE;
    case 1053: /* ER_SERVER_SHUTDOWN */
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SERVER_LOST_EXTENDED:
        *retryable = 1;
        *broken = 1;
        if (sys_errno == ETIMEDOUT || sys_errno == EAGAIN)
            return DSRC_E_TIMEOUT;
        return DSRC_E_UNREACHABLE;
    case CR_SSL_CONNECTION_ERROR:
        *broken = 1;
        /* The TLS layer reports a read that timed out (read_timeout on an
         * encrypted connection) as a TLS error: a timeout all the same. */
        if (sys_errno == ETIMEDOUT) {
            *retryable = 1;
            return DSRC_E_TIMEOUT;
        }
        /* A certificate that does not verify will not verify later. */
        return DSRC_E_UNREACHABLE;
    case CR_OUT_OF_MEMORY:
    case CR_COMMANDS_OUT_OF_SYNC:
        return DSRC_E_INTERNAL;
    default:
        return DSRC_E_BACKEND;
    }
}

/* Fill err from an error number, SQLSTATE and message. */
dsrc_status mys_fail_raw(dsrc_error *err, unsigned code, const char *sqlstate,
                         const char *msg, int sys_errno, const char *what)
{
    int retryable, broken;
    dsrc_status st = mys_classify(code, sys_errno, &retryable, &broken);
    char bc[DSRC_BACKEND_CODE_MAX];

    snprintf(bc, sizeof bc, "%u/%.5s", code, sqlstate && *sqlstate ? sqlstate : "HY000");
    if (st == DSRC_E_TIMEOUT && code >= 2000)
        dsrc_error_set(err, st, retryable, bc, "%s: the server did not answer in time"
                       " (connect_timeout / read_timeout): %s (MySQL error %u)", what,
                       msg && *msg ? msg : "timed out", code);
    else
        dsrc_error_set(err, st, retryable, bc, "%s: %s (MySQL error %u)", what,
                       msg && *msg ? msg : "unknown error", code);
    if (err)
        err->connection_broken = broken;
    return st;
}

dsrc_status mys_fail(dsrc_error *err, dsrc_conn *c, const char *what)
{
    unsigned code = mysql_errno(c->my);
    if (code == 0)
        return dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL, "%s failed", what);
    return mys_fail_raw(err, code, mysql_sqlstate(c->my), mysql_error(c->my), c->last_errno,
                        what);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq_error.c -- SQLite result codes -> dsrc_error, and preparing a
 * statement with its failure mapped the same way.
 *
 * Errors carry SQLite's primary result code name without its "SQLITE_"
 * prefix in backend_code ("BUSY", "NOTADB", "INTERRUPT", ...): the full
 * names do not all fit in DSRC_BACKEND_CODE_MAX.
 */
#include "sq.h"

/* The primary result code's name without "SQLITE_" (fits backend_code). */
const char *sq_code_name(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return "OK";
    case SQLITE_ERROR: return "ERROR";
    case SQLITE_INTERNAL: return "INTERNAL";
    case SQLITE_PERM: return "PERM";
    case SQLITE_ABORT: return "ABORT";
    case SQLITE_BUSY: return "BUSY";
    case SQLITE_LOCKED: return "LOCKED";
    case SQLITE_NOMEM: return "NOMEM";
    case SQLITE_READONLY: return "READONLY";
    case SQLITE_INTERRUPT: return "INTERRUPT";
    case SQLITE_IOERR: return "IOERR";
    case SQLITE_CORRUPT: return "CORRUPT";
    case SQLITE_NOTFOUND: return "NOTFOUND";
    case SQLITE_FULL: return "FULL";
    case SQLITE_CANTOPEN: return "CANTOPEN";
    case SQLITE_PROTOCOL: return "PROTOCOL";
    case SQLITE_EMPTY: return "EMPTY";
    case SQLITE_SCHEMA: return "SCHEMA";
    case SQLITE_TOOBIG: return "TOOBIG";
    case SQLITE_CONSTRAINT: return "CONSTRAINT";
    case SQLITE_MISMATCH: return "MISMATCH";
    case SQLITE_MISUSE: return "MISUSE";
    case SQLITE_NOLFS: return "NOLFS";
    case SQLITE_AUTH: return "AUTH";
    case SQLITE_FORMAT: return "FORMAT";
    case SQLITE_RANGE: return "RANGE";
    case SQLITE_NOTADB: return "NOTADB";
    case SQLITE_NOTICE: return "NOTICE";
    case SQLITE_WARNING: return "WARNING";
    default: return "UNKNOWN";
    }
}

/* Map an SQLite result code to a dsrc status and retryable flag. */
dsrc_status sq_status(int rc, int *retryable)
{
    *retryable = 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        *retryable = 1;
        return DSRC_E_TIMEOUT;
    case SQLITE_INTERRUPT:
        return DSRC_E_CANCELLED;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
        return DSRC_E_PERMISSION;
    case SQLITE_NOTADB:
        return DSRC_E_INVALID_CONFIG;
    case SQLITE_NOMEM:
        return DSRC_E_INTERNAL;
    default:
        return DSRC_E_BACKEND;
    }
}

/* Fill err from the connection's last SQLite error; `what` says what was
 * being done.  Returns the status. */
dsrc_status sq_fail(dsrc_error *err, sqlite3 *db, int rc, const char *what)
{
    int retryable;
    dsrc_status st = sq_status(rc, &retryable);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_INTERRUPT)
        return dsrc_error_set(err, st, 0, sq_code_name(rc), "%s: interrupted", what);
    return dsrc_error_set(err, st, retryable, sq_code_name(rc), "%s: %s", what,
                          msg ? msg : sqlite3_errstr(rc));
}

/* Prepare `sql`; on failure fill err. */
dsrc_status sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                       const char *what, dsrc_error *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sq_fail(err, db, rc, what);
    }
    return DSRC_OK;
}

/* Prepare the text built in `q` like sq_prepare(), then free it and empty
 * `q`; a `q` that ran out of memory is an error (*st = NULL). */
dsrc_status sq_prepare_buf(sqlite3 *db, dsrc_buf *q, sqlite3_stmt **st,
                           const char *what, dsrc_error *err)
{
    dsrc_status s;

    if (q->failed) {
        *st = NULL;
        s = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    } else {
        s = sq_prepare(db, q->s, st, what, err);
    }
    free(q->s);
    memset(q, 0, sizeof *q);
    return s;
}

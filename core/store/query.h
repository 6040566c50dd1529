/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query.h -- the history of read-only queries (`dsrc query`, POST
 * /v1/sources/{name}/query), kept in the state store (store.h, table
 * `queries`, schema version 6).
 *
 * Each query run is one record, whatever its outcome: when it started,
 * the source, the endpoint that served it (primary or a replica's name),
 * the node, the caller, the statement's text, how many parameters it had
 * and their SHA-256 (fetch_params_sha256(), output/fetch.h: the hash the
 * query's manifest records) -- never their values -- the rows and bytes
 * written,
 * how long it took, its result ("ok" or the status name: "permission",
 * "timeout", ...) and the error message.  Text and message pass through
 * redaction (redact.h) before they are stored.  The records are pruned
 * with the runs (store_prune: the same retention) and dropped with a
 * removed source (store_purge_source).
 *
 * store_query_record() writes the record and the audit trail's record of
 * the query (action "query", audit.h) together: the one helper the
 * command line and the control API call.
 */
#ifndef DSRC_CORE_STORE_QUERY_H
#define DSRC_CORE_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

/* One record.  Strings are borrowed from the caller. */
typedef struct store_query_rec {
    int64_t started_at;         /* ms since the epoch; 0: now               */
    const char *source;         /* required                                 */
    const char *endpoint;       /* the endpoint that served it; NULL: none
                                   (it failed before one was chosen)        */
    const char *node;           /* NULL: this process's (store_node)        */
    const char *caller;         /* "uid 1000 (alice)", "token ci"; required */
    const char *text;           /* the statement; required                  */
    const char *params_sha256;  /* fetch_params_sha256() (output/fetch.h),
                                   as the query's manifest has it; NULL:
                                   no parameters                            */
    int64_t n_params;
    int64_t rows, bytes;        /* < 0: none                                */
    int64_t duration_ms;        /* < 0: none                                */
    const char *result;         /* "ok" or error_status_name(); required    */
    const char *error;          /* the message; NULL when none              */
    const char *detail;         /* the audit record's detail after "query
                                   ID: " (store_query_record); NULL: the
                                   text, cut to fit                         */
} store_query_rec;

/* Add r to the history: *id (may be NULL) is its id.
 * DSRC_E_INVALID_ARGUMENT when a required field is missing. */
dsrc_status store_query_add(store *s, const store_query_rec *r, int64_t *id, derr *e);

/* store_query_add(), then the audit record of the query: who = caller,
 * origin ("cli", "socket", "ADDR:PORT"), action "query", the source, rows
 * and bytes, result "ok" or "error: STATUS", detail "query ID: " and
 * r->detail, or the text cut to fit.  Both are redacted.  Both are attempted; the first failure is
 * returned. */
dsrc_status store_query_record(store *s, const store_query_rec *r, const char *origin,
                               int64_t *id, derr *e);

/* The history, newest first: of `source` (NULL: all), at most `limit`
 * (<= 0: 100).  A JSON array of objects {id, started_at (RFC 3339 time),
 * source, endpoint, node, caller, text, params_sha256, n_params, rows,
 * bytes, duration_ms, result, error} (null when none); NULL with `e`
 * set. */
json_t *store_queries_json(store *s, const char *source, int64_t limit, derr *e);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h -- dsrcd's control API: a Unix stream socket speaking one JSON
 * document per line.
 *
 * Requests (one object per line, at most API_MAX_LINE bytes):
 *   {"cmd":"ping"}                     is the daemon there?
 *   {"cmd":"sources"}                  the sources being served
 *   {"cmd":"pools"}  [,"source":NAME]  endpoints, pools and breakers
 *   {"cmd":"health"} [,"source":NAME]  health reports
 *   {"cmd":"jobs"}   [,"source":NAME]  scheduled jobs: next and last run
 *   {"cmd":"run","source":NAME,"kind":"discover"}
 *   {"cmd":"run","source":NAME,"item":ITEM}   queue a run now: its id
 *   {"cmd":"cancel","id":N}            cancel a queued or running run
 * Responses (one object per line):
 *   {"ok":true,"result":...}
 *   {"ok":false,"status":"not-found","error":"..."}   (status: see
 *                                       error_status_name(); error redacted)
 *
 * The server runs in its own thread and serves one connection at a time; a
 * connection may carry several requests.  A request that is too long, not
 * JSON, not an object, without a string "cmd", with an unknown command or
 * with a "source" that is not a string gets an error answer (a line that is
 * too long is answered once and skipped up to its newline).  A client idle
 * for API_IDLE_MS is disconnected.
 */
#ifndef DSRC_CORE_API_H
#define DSRC_CORE_API_H

#include <stdint.h>

#include <jansson.h>

#include "base/error.h"

#define API_MAX_LINE 65536      /* bytes in a request line, newline included */
#define API_IDLE_MS 5000        /* a connected client must send within this   */

typedef enum api_cmd {
    API_PING = 0,
    API_SOURCES = 1,
    API_POOLS = 2,
    API_HEALTH = 3,
    API_JOBS = 4,
    API_RUN = 5,
    API_CANCEL = 6
} api_cmd;

/* A parsed request.  `source` is NULL (all sources) or a name owned by the
 * request; `item` (owned) and `discover` say what "run" runs (exactly one
 * of them is set for "run"); `id` is the run "cancel" cancels (> 0). */
typedef struct api_request {
    api_cmd cmd;
    char *source;
    char *item;
    int discover;
    int64_t id;
} api_request;

/* Parse one request line (`len` bytes, without the newline; need not be
 * NUL-terminated).  Returns DSRC_OK with *out filled (release with
 * api_request_free()), or DSRC_E_INVALID_ARGUMENT with `e` saying what is
 * wrong (out zeroed). */
dsrc_status api_parse_request(const char *line, size_t len, api_request *out, derr *e);
void api_request_free(api_request *r);

/* "ping", "sources", "pools", "health", "jobs", "run", "cancel". */
const char *api_cmd_name(api_cmd c);

/* The response line for a result (stolen; NULL means null) or, when
 * `e` is set (status != DSRC_OK), for the error.  A malloc'd string ending
 * in "\n"; NULL when out of memory. */
char *api_response_line(json_t *result, const derr *e);

/* Serves one request: returns the result (a new reference) or NULL with `e`
 * set.  Called from the server thread. */
typedef json_t *(*api_handler)(void *user, const api_request *req, derr *e);

typedef struct api_server api_server;

/* Listen on `path` (a stale socket there is removed, one that a process
 * listens on is refused; the parent directory
 * is made, mode 0755, when missing; the socket gets mode 0660) and serve
 * with `fn` in a new thread.  NULL with `e` set when the socket cannot be
 * made or the thread cannot start. */
api_server *api_server_start(const char *path, api_handler fn, void *user, derr *e);

/* Stop the thread, close and remove the socket, free.  NULL is ignored. */
void api_server_stop(api_server *s);

/* Send `req` to the daemon listening on `path` and wait at most
 * `timeout_ms` for the answer.  On {"ok":true} stores the result (new
 * reference) in *result and returns DSRC_OK.  Otherwise returns with `e`
 * set: DSRC_E_UNREACHABLE when nothing listens on `path` (no socket, or
 * connection refused), DSRC_E_TIMEOUT when no answer came in time,
 * DSRC_E_PERMISSION when the socket may not be used, the daemon's status
 * for {"ok":false} (DSRC_E_BACKEND when it names none), DSRC_E_INTERNAL for
 * a malformed answer. */
dsrc_status api_call(const char *path, const json_t *req, int timeout_ms, json_t **result,
                     derr *e);

#endif

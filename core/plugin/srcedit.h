/* SPDX-License-Identifier: Apache-2.0 */
/*
 * srcedit.h -- adding, changing and removing a source's file at run time
 * (POST, PUT, PATCH and DELETE /v1/sources; `dsrc source` when no dsrcd
 * runs): the same checks as a file written by hand, then the file.
 *
 * srcedit_apply() does, under one lock (a mutex, and an flock(2) of
 * sources_dir/.dsrc-sources.lock shared with every process):
 *   1. find the source in the configuration as it is on disk now (hand
 *      edits included) and check If-Match against its file's entity tag
 *      (srcdoc_etag_of): 412 when the file changed since;
 *   2. make the new document (the body; for PATCH the file's document with
 *      the merge patch applied) and check it: a name that is a file name,
 *      a known type;
 *   3. encrypt every secret given in plain text (the plugin's DSRC_OPT_SECRET
 *      options, the cloud group's credentials, tls.key_passphrase) with the
 *      host's first Fernet key: "fernet:TOKEN"; a fernet:, env: or file:
 *      reference is kept as given.  Without a key a plain secret is refused:
 *      it never reaches the disk;
 *   4. render it (srcdoc.h) into a hidden temporary file of sources_dir and
 *      check the configuration with it in place of the old file
 *      (cfg_load_with, registry_build): every error of that file, each with
 *      its field;
 *   5. unless told not to, open the source and ping it through its plugin;
 *   6. fsync the file, rename it over the old one (or to NAME.conf), fsync
 *      the directory: a crash leaves the old file or the new one, never a
 *      part.  DELETE removes the file the same way.
 * Nothing is written when a step fails.  Every plain secret of the request
 * is registered with redact_add() first, so no message can show it.
 *
 * Thread-safe; `plugins` is shared with other threads (loader.h locks).
 */
#ifndef DSRC_CORE_SRCEDIT_H
#define DSRC_CORE_SRCEDIT_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"
#include "plugin/loader.h"
#include "plugin/srcdoc.h"

typedef enum srcedit_op {
    SRCEDIT_CREATE = 0,   /* POST: a new source, NAME.conf                    */
    SRCEDIT_REPLACE,      /* PUT: the whole document                          */
    SRCEDIT_PATCH,        /* PATCH: a JSON merge patch (RFC 7386)             */
    SRCEDIT_DELETE        /* DELETE: the file goes                            */
} srcedit_op;

typedef struct srcedit_req {
    srcedit_op op;
    const char *name;          /* the source (all but CREATE)                 */
    const json_t *doc;         /* CREATE, REPLACE: the source; PATCH: the patch */
    const char *if_match;      /* an entity tag, "*", or NULL: unconditional  */
    int test;                  /* open and ping it before storing             */
    int64_t test_timeout_ms;   /* the ping's limit                            */
} srcedit_req;

typedef struct srcedit_res {
    int http;                  /* 200, 201 (created), 400, 404, 409, 412, 422,
                                  500                                       */
    dsrc_status status;        /* DSRC_OK, or the error's kind                */
    char message[512];         /* the error, redacted ("" on success)         */
    json_t *errors;            /* [{field, message}] of a refused document    */
    json_t *test;              /* {ok, latency_ms, endpoint, ...} or {ok:false,
                                  dsrc_status, error}; NULL: not tested     */
    json_t *changed;           /* the fields changed (names, never values)    */
    char name[160];
    char file[PATH_MAX];       /* the file written or removed                 */
    char etag[SRCDOC_ETAG_SIZE]; /* the new file's ("" after DELETE)          */
} srcedit_res;

/* Apply one change (see above) with the configuration `conf_path` and the
 * plugin set `plugins` (made from that configuration's plugin
 * directories).  Fills *res (free with srcedit_res_free); returns 0 when
 * the change was made, -1 when not (res->http says why). */
int srcedit_apply(const char *conf_path, loader_set *plugins, const srcedit_req *rq,
                  srcedit_res *res);
void srcedit_res_free(srcedit_res *res);

/* How a document shows secrets. */
typedef enum srcedit_show {
    SRCEDIT_MASK = 0,     /* every secret "***"; a reference keeps its kind:
                             "env:***", "file:***", "fernet:***"            */
    SRCEDIT_REFS = 1      /* references as written; a plain value "***"    */
} srcedit_show;

/* A source's document as its file holds it, secrets shown as `show` says,
 * with its file's entity tag in `etag` and its path in *file (malloc'd;
 * may be NULL).  NULL with `e` set: DSRC_E_NOT_FOUND for an unknown source. */
json_t *srcedit_read(const char *conf_path, loader_set *plugins, const char *name,
                     srcedit_show show, char etag[SRCDOC_ETAG_SIZE], char **file, derr *e);

/* The libconfig text of a document (srcdoc_render without a header), for
 * `dsrc source export --format libconfig`.  NULL with `e` set. */
char *srcedit_text(const json_t *doc, derr *e);

/* Remove the temporary files a process killed while writing left in
 * sources_dir (under the lock: never one being written).  How many. */
int srcedit_sweep(const char *sources_dir);

#endif

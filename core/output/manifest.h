/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h -- the JSON manifest written beside every fetched file.
 *
 * {
 *   "source": "...", "plugin": "...", "item": "...",
 *   "file": "NAME" (basename), "format": "csv"|"jsonl"|"raw"|"csv-native",
 *   "media_type": "...",
 *   "rows": N, "bytes": N, "sha256": "hex",
 *   "started_at": "ISO 8601 UTC", "finished_at": "...",
 *   "schema": [ {"name","type","native_type","nullable","primary_key"} ... ],
 *   "cursor": {"field": "...", "from": "..."|null, "to": "..."|null},
 *   "limit": N|null, "columns": [...]|null,
 *   "endpoint": "primary"|"replica 1 (host:port)" (when known),
 *   "mask": {"columns": {"email": "hash", "birth_date": "truncate:year"},
 *            "algorithm": "hmac-sha256", "key_id": "16 hex digits"} | null,
 *   "node": "..." (the node that wrote it: dsrcd.conf node_name, when known),
 *   "query": "..." and "params_sha256": "hex" (a read-only query, in place
 *            of "item": its text and a hash of its bound parameters, never
 *            their values; fetch.h fetch_params_sha256),
 *   "dsrc_version": "..."
 * }
 * Secrets never appear in a manifest: it holds no connection options, and
 * of the mask key only its id (mask.h), which does not reveal it.
 */
#ifndef DSRC_CORE_MANIFEST_H
#define DSRC_CORE_MANIFEST_H

#include <stdint.h>
#include <time.h>
#include "base/error.h"
#include "output/mask.h"
#include "output/outfile.h"

typedef struct manifest {
    const char *source, *plugin, *item;
    const char *file;            /* data file path (basename is recorded)  */
    const char *format;          /* "csv", "jsonl", "raw", "csv-native"     */
    const char *media_type;      /* may be NULL                             */
    uint64_t rows, bytes;
    const char *sha256;
    struct timespec started, finished;
    const dsrc_column *columns;  size_t n_columns;   /* may be 0 */
    const char *cursor_field, *cursor_from, *cursor_to; /* may be NULL */
    int64_t limit;               /* -1: none */
    const char *const *req_columns; size_t n_req_columns;
    const char *endpoint;        /* the endpoint that served; may be NULL   */
    const mask_rule *mask;       size_t n_mask;   /* the columns masked     */
    const char *mask_key_id;     /* mask_key_id() when n_mask               */
    const char *node;            /* the node that wrote it; may be NULL     */
    const char *query;           /* a query's text (item NULL); NULL: none  */
    const char *params_sha256;   /* with query: the parameters' hash        */
} manifest;

/* Serialise to a malloc'd JSON string (pretty, trailing newline). */
char *manifest_json(const manifest *m);

/* Write it atomically to `path`. */
dsrc_status manifest_write(const manifest *m, const char *path, derr *e);

/* Write it durably under a temporary name beside `path` (outfile_stage_all),
 * for the caller to publish with its data file.  NULL with e set. */
outfile *manifest_stage(const manifest *m, const char *path, derr *e);

/* 1 when the manifest at `path` describes the file of SHA-256 `sha256`
 * and, when `cursor_to` is not NULL, a fetch whose cursor ended at it;
 * else 0 (also when it cannot be read). */
int manifest_matches(const char *path, const char *sha256, const char *cursor_to);

/* The name of a column type, as manifests and `dsrc describe` show it:
 * "null", "bool", "int64", "double", "text", "bytes", "timestamp", "json"
 * (an unknown value: "text").  The one name table for dsrc_type. */
const char *manifest_type_name(dsrc_type t);

/* ISO 8601 UTC with milliseconds: "2024-01-31T12:00:00.123Z". */
void manifest_time(const struct timespec *ts, char buf[32]);

#endif

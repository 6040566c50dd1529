/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fetch.h -- fetching an item into a durable file (or stdout) with its
 * manifest, and committing the incremental cursor.
 *
 * Destination: by default <workspace>/<source>/<item path>/<UTC time>.<ext>,
 * with <file>.manifest.json beside it; `output` = "-" writes to stdout (no
 * manifest), as does an `output` naming a character device, FIFO or socket;
 * any other `output` is a file path (manifest beside it).  The file and its
 * manifest are written under temporary names and fsynced; with a run, where
 * they go is recorded in it (store_run_prepare), then both are renamed, then
 * the run's success and, with `incremental`, the new cursor are committed in
 * one transaction (store_run_succeed; outfile.h, store.h); a failed or
 * cancelled fetch leaves nothing under the final names, whichever step
 * failed, and the caller ends the run (store_run_end).  With `incremental`,
 * the start value is the committed cursor from the state store, and the new
 * highest value is committed only after the file and its manifest are
 * durable.  When the output refuses the data, the error names its errno,
 * not the plugin's "stopped".
 */
#ifndef DSRC_CORE_FETCH_H
#define DSRC_CORE_FETCH_H

#include <stdatomic.h>
#include <stdint.h>
#include "output/mask.h"
#include "plugin/source.h"
#include "store/store.h"

typedef struct fetch_opts {
    const char *item;
    const char *format;            /* "csv" (default), "jsonl" or "raw"     */
    const char *const *columns;    /* NULL: all                             */
    size_t n_columns;
    int64_t limit;                 /* -1: none                              */
    const char *cursor_field;      /* NULL: full fetch                      */
    const char *cursor_value;      /* explicit start value; NULL: none, or
                                      the committed one with incremental    */
    int incremental;               /* use and commit the state store's
                                      cursor (needs store and run_id)       */
    store *store;                  /* the state store, or NULL              */
    int64_t run_id;                /* the run this fetch is (started in
                                      `store`); 0: none                     */
    atomic_uint_least64_t *progress_counter; /* may be NULL: grows with each
                                      row and each byte written (a stall
                                      watchdog reads it)                    */
    const char *output;            /* NULL: workspace; "-": stdout; path    */
    int progress;                  /* 1: show progress on stderr (a tty)    */
    double progress_after;         /* seconds before progress appears       */
    const char *endpoint;          /* the endpoint serving (recorded in the
                                      manifest); may be NULL                */
    const mask_rule *mask;         /* columns masked (mask.h); NULL: none.
                                      The plugin is then asked for rows,
                                      never its own CSV, and the key is
                                      cfg->mask_key                         */
    size_t n_mask;
    const char *node;              /* the node writing (recorded in the
                                      manifest); may be NULL                */
    /* A read-only query instead of an item (source_query, ABI 1.4): the
     * same output, formats, masking and durability; `item`, the cursor and
     * `incremental` are then unused, and `limit` bounds the rows read. */
    const char *query;             /* the statement; NULL: fetch `item`    */
    const char *const *params;     /* n_params bound values; NULL entry:
                                      the backend's NULL                    */
    size_t n_params;
    int64_t timeout_ms;            /* the statement's time limit; 0: none  */
} fetch_opts;

typedef struct fetch_report {
    char *path;                    /* data file; NULL for stdout            */
    char *manifest_path;           /* NULL for stdout                       */
    const char *format;            /* what was written: csv/jsonl/raw/csv-native */
    uint64_t rows, bytes;
    char sha256[65];
    char *cursor_from, *cursor_to; /* NULL when none                        */
    double seconds;
} fetch_report;

/* Run one fetch on an open connection.  Fills *r (free with
 * fetch_report_free) on success. */
dsrc_status fetch_run(const cfg_config *cfg, source_conn *c, const fetch_opts *o,
                      fetch_report *r, derr *e);
void fetch_report_free(fetch_report *r);

/* The SHA-256 (hex) of a query's bound parameters, what is recorded of
 * them in place of their values: each one as a byte 0 (NULL) or a byte 1,
 * its length as 8 bytes little-endian and its bytes, in order (no
 * parameter: the hash of nothing). */
void fetch_params_sha256(const char *const *params, size_t n, char hex[65]);

/* "a,b,c" (a columns option) as a NULL-terminated array of its non-empty
 * names, *n of them: one malloc'd block (free() it), NULL when out of
 * memory. */
char **fetch_split_columns(const char *s, size_t *n);

#endif

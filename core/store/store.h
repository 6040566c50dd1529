/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h -- the state store: committed incremental cursors and the record
 * of every run, in one embedded SQLite database, <state_dir>/dsrc.db.
 *
 * The database is in WAL mode with synchronous=FULL: a call that returns
 * DSRC_OK after recording something has made it durable -- except that a
 * run queued, started or renewed (store_run_queue, _start, _begin, _renew)
 * is committed without waiting for the disk: such a record promises
 * nothing on disk, and the WAL makes it durable with the next synchronous
 * commit (a process killed loses none of them; a power loss may lose
 * them, never a prepared run, an ended one or a cursor).  Its schema is
 * versioned (PRAGMA user_version = STORE_SCHEMA_VERSION): an older
 * database is upgraded when opened, a newer one is refused with a message
 * that names both versions.  The cursor files of earlier versions
 * (<state_dir>/cursors/, state.h) are imported once, the first time the
 * database is made, and left in place as a backup.
 *
 * Runs.  A run is one discover or fetch of one source (and item).  It is
 * queued, then claimed by an owner ("node/host/pid/start-time" of the
 * process) with a lease expiry that the owner renews while it works, and ends
 * succeeded, failed or cancelled.  At most one run of a given source and
 * item with a cursor field (an incremental fetch) is running at a time:
 * the database enforces it, so two processes can never commit the same
 * cursor twice; the second gets a "busy" error (DSRC_E_BACKEND, retryable,
 * code "busy").  Claims are by owner and lease, never by an in-memory
 * lock, so several daemons can share one store.
 *
 * Backends (db.h): the SQLite database above, or a PostgreSQL database
 * shared by several processes on several hosts (store_open_backend,
 * state_store in dsrcd.conf): the same schema and versions, in
 * READ COMMITTED transactions whose rows are locked where SQLite relied on
 * its single writer (a claim is an UPDATE of a queued row, a recovered run
 * is locked and checked again, the audit chain and the catalog's snapshots
 * lock their table); a transaction chosen as a deadlock's victim is run
 * again.  A lost connection is a retryable DSRC_E_UNREACHABLE and the next
 * call reconnects; a run's success whose COMMIT was cut short is read back
 * to learn whether it happened ("in-doubt" when it cannot be: its files
 * stay for store_recover).  PostgreSQL's commits are durable: the lazy
 * commits below are SQLite's.
 *
 * Durable fetch order (fetch.h): the data file and its manifest are made
 * durable under temporary names; store_run_prepare() records where they
 * will be, their SHA-256 and the cursor to come; both are renamed into
 * place; store_run_succeed() then commits the run's success and the new
 * cursor in one transaction.  A run left running by an owner that is gone
 * (killed, crashed, its lease expired) is resolved by store_recover(): a
 * prepared run whose manifest is in place and matches (same SHA-256, same
 * cursor end) is committed as succeeded; otherwise its data file, if that
 * very file is in place without its manifest, is removed and the run is
 * failed ("interrupted").  So the committed files and the cursor always
 * agree: nothing is skipped and nothing is delivered twice.
 *
 * Catalog.  The tables of discovered catalogs, drift events and their
 * acknowledgements (schema version 2) are the catalog module's
 * (catalog/snapshot.h, catalog/drift.h), reached through store_lock(),
 * and so is the record of each discover (schema version 4,
 * catalog/discovery.h).
 *
 * Audit trail and API tokens.  The hash-chained audit records and the
 * hashes of the control API's tokens (schema version 3) are the modules
 * store/audit.h and store/token.h, reached through store_lock() too.
 *
 * Query history.  The record of each read-only query (schema version 6)
 * is the module store/query.h's.
 *
 * Thread-safe: one handle serves every thread of a process (calls are
 * serialised inside).  Times are milliseconds since the epoch, UTC.
 */
#ifndef DSRC_CORE_STORE_H
#define DSRC_CORE_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "base/error.h"

#define STORE_SCHEMA_VERSION 6
#define STORE_FILE "dsrc.db"

typedef struct store store;

typedef enum run_kind {
    RUN_DISCOVER = 0,
    RUN_FETCH = 1
} run_kind;

typedef enum run_trigger {
    RUN_TRIGGER_SCHEDULE = 0,  /* its schedule fired                      */
    RUN_TRIGGER_MANUAL = 1,    /* `dsrc run` asked the daemon             */
    RUN_TRIGGER_RETRY = 2,     /* an earlier attempt failed, retryable    */
    RUN_TRIGGER_CATCHUP = 3,   /* slots were missed while the daemon was down */
    RUN_TRIGGER_CLI = 4        /* `dsrc fetch --incremental`, in-process  */
} run_trigger;

typedef enum run_state {
    RUN_QUEUED = 0,
    RUN_RUNNING = 1,
    RUN_SUCCEEDED = 2,
    RUN_FAILED = 3,
    RUN_CANCELLED = 4
} run_state;

/* "discover"/"fetch"; "schedule"/"manual"/"retry"/"catch-up"/"cli";
 * "queued"/"running"/"succeeded"/"failed"/"cancelled". */
const char *store_kind_name(run_kind k);
const char *store_trigger_name(run_trigger t);
const char *store_state_name(run_state s);
/* The state named `name`, or -1. */
int store_state_parse(const char *name);

/* What a run is. */
typedef struct store_run_spec {
    const char *source;
    run_kind kind;
    const char *item;          /* NULL for discover                         */
    run_trigger trigger;
    int attempt;               /* 1 for the first; 0 counts as 1            */
    const char *cursor_field;  /* an incremental fetch: one at a time per
                                  (source, item); else NULL                 */
    const char *job;           /* a scheduled job's key (jobs.h), with...  */
    int64_t slot_ms;           /* ...the slot the run stands for: one run
                                  per (job, slot, attempt) in the store,
                                  whichever node queues it (job NULL: no
                                  such key)                                 */
    int any_node;              /* 1: queued for whichever node claims it
                                  first (store_run_claim), not this one    */
} store_run_spec;

/* What a fetch run produced. */
typedef struct store_run_output {
    const char *file;          /* data file (NULL: standard output)         */
    const char *manifest;      /* its manifest (NULL when none)             */
    const char *file_id;       /* outfile_id() of the data file             */
    const char *sha256;
    const char *cursor_from, *cursor_to;  /* NULL when none                 */
    uint64_t rows, bytes;
} store_run_output;

/* Open (making it when missing) <state_dir>/dsrc.db; the state directory
 * is made (0750) when missing.  NULL with `e` set: the directory or the
 * database cannot be made or read, it is not a database, or its schema is
 * newer than this program's. */
store *store_open(const char *state_dir, derr *e);

/* Where the store is: SQLite in the state directory (url NULL), or a
 * PostgreSQL database shared by several processes (db_pg.c): url is a
 * libpq URI or conninfo string without a password; password the resolved
 * one (NULL: none, or .pgpass); schema (NULL: the role's search path)
 * made when missing; tls_mode (libpq's sslmode: disable ... verify-full),
 * tls_ca/cert/key files; pool_size connections at most (made when
 * needed; 0: STORE_POOL_DEFAULT); connect_timeout_s (0: 10). */
#define STORE_POOL_DEFAULT 4
typedef struct store_backend {
    const char *url, *password, *schema;
    const char *tls_mode, *tls_ca, *tls_cert, *tls_key;
    int pool_size, connect_timeout_s;
} store_backend;

/* store_open() on the backend b (NULL: SQLite in state_dir).  A
 * PostgreSQL store that cannot be reached or refuses the role is
 * DSRC_E_UNREACHABLE (retryable) or DSRC_E_AUTH, the message naming the
 * URL (never the password). */
store *store_open_backend(const char *state_dir, const store_backend *b, derr *e);

/* The store a configuration names (cfg_config.state_store, its state_dir
 * and key_file), copied so that the configuration may go meanwhile:
 * store_where_of() NULL when out of memory; store_open_where() resolves the
 * password (a fernet: value with the key file) and opens it, the errors
 * naming the setting (state_store.password, state_store.url);
 * store_open_cfg() is both. */
struct cfg_config;
typedef struct store_where store_where;
store_where *store_where_of(const struct cfg_config *cfg);
store *store_open_where(const store_where *w, derr *e);
void store_where_free(store_where *w);
store *store_open_cfg(const struct cfg_config *cfg, derr *e);
void store_close(store *s);

/* This process's owner string, "node/host/pid/start-time". */
const char *store_owner(const store *s);

/* Name this process's node (dsrcd.conf node_name; the host name until
 * then): the owner string of its runs begins with it.  0, or -1 when the
 * name is empty, too long or holds '/'. */
int store_set_node(store *s, const char *node);
const char *store_node(const store *s);

/* The committed cursor of (source, item) for `field` into *value
 * (malloc'd), or *value = NULL when there is none (a cursor committed for
 * another field counts as none).  Runs of this item left by a dead owner
 * are resolved first (store_recover). */
dsrc_status store_cursor_get(store *s, const char *source, const char *item,
                             const char *field, char **value, derr *e);

/* Queue a run: *id is its id.  When spec->job is set and a run of that
 * job, slot and attempt exists already (another node queued it), nothing
 * is queued and *id is 0. */
dsrc_status store_run_queue(store *s, const store_run_spec *spec, int64_t *id, derr *e);

/* Claim a queued run for this process: it becomes running with a lease of
 * lease_ms.  `endpoint` (may be NULL) is recorded.  An incremental fetch
 * whose item already has a running run gets the busy error (after that
 * run is resolved, if its owner is gone); the queued run is left queued. */
dsrc_status store_run_start(store *s, int64_t id, const char *endpoint, int64_t lease_ms,
                            derr *e);

/* Claim the oldest run queued for any node (store_run_spec.any_node): it
 * becomes running here, as store_run_start() makes it, and *id is its id;
 * *id is 0 when there is none.  Each such run goes to exactly one claimer
 * however many processes claim at once (on PostgreSQL the candidates are
 * locked with FOR UPDATE SKIP LOCKED, so claimers never wait for each
 * other). */
dsrc_status store_run_claim(store *s, const char *endpoint, int64_t lease_ms, int64_t *id,
                            derr *e);

/* store_run_queue + store_run_start in one step (dsrc fetch). */
dsrc_status store_run_begin(store *s, const store_run_spec *spec, const char *endpoint,
                            int64_t lease_ms, int64_t *id, derr *e);

/* Extend a running run's lease to now + lease_ms, and record progress. */
dsrc_status store_run_renew(store *s, int64_t id, int64_t lease_ms, uint64_t rows,
                            uint64_t bytes, derr *e);

/* Record, durably, where a fetch's output will be put in place and what it
 * holds, before it is renamed into place. */
dsrc_status store_run_prepare(store *s, int64_t id, const store_run_output *out, derr *e);

/* The run succeeded: record its output (may be NULL) and, when
 * commit_field is not NULL and out->cursor_to is set, commit that cursor
 * for the run's (source, item) -- in one transaction. */
dsrc_status store_run_succeed(store *s, int64_t id, const store_run_output *out,
                              const char *commit_field, derr *e);

/* The run ended without success: `state` is RUN_FAILED or RUN_CANCELLED;
 * `why` (may be NULL) gives the status, retryable flag and message
 * (already redacted).  A queued run may end so too (dropped). */
dsrc_status store_run_end(store *s, int64_t id, run_state state, const derr *why, derr *e);

/* Resolve the runs (of `source` and `item`, or all when source is NULL)
 * left queued or running by an owner that is gone, as the file comment
 * says.  Returns how many were resolved, or -1 with `e` set. */
int store_recover(store *s, const char *source, const char *item, derr *e);

/* Runs, newest first: of `source` (NULL: all), in `state` (-1: any), at
 * most `limit` (<= 0: 100).  A JSON array; NULL with `e` set. */
json_t *store_runs_json(store *s, const char *source, int state, int limit, derr *e);

/* One run in full; NULL with `e` set (DSRC_E_NOT_FOUND when no such id). */
json_t *store_run_json(store *s, int64_t id, derr *e);

/* The last ended run of (source, kind, item), for catch-up after a
 * restart: the slot it stood for (store_run_spec.slot_ms), or when it was
 * queued when it has none (a manual run), when it
 * ended, its state, trigger and attempt (any pointer may be NULL).  0 when
 * found, 1 when none, -1 on error. */
int store_last_run(store *s, const char *source, run_kind kind, const char *item,
                   int64_t *queued_ms, int64_t *ended_ms, run_state *state,
                   run_trigger *trigger, int *attempt);

/* Delete ended runs that ended before `before_ms`, and the records of
 * queries (store/query.h) that started before it.  Returns how many. */
int64_t store_prune(store *s, int64_t before_ms, derr *e);

/* Drop a removed source's state: its cursors, its ended runs, its catalog
 * snapshots, drift events and acknowledgements, its discoveries, its
 * query history (its queued and running runs, and the audit trail, are
 * kept).  Returns the rows deleted, or -1 with `e` set (nothing
 * deleted). */
int64_t store_purge_source(store *s, const char *source, derr *e);

/* Whether every node mounts the same workspace (dsrcd.conf
 * shared_workspace): then store_recover() also resolves the runs with
 * output that another node left (their files are here too); else only
 * those of this node (its own files), and another node's run that had
 * recorded its output is left to its node. */
void store_set_shared_workspace(store *s, int shared);

/* Nodes (schema version 5): the processes sharing one store, each named
 * (store_set_node).  store_node_beat() records this node as live now (its
 * name, owner, version; its start, kept while the same process beats) and
 * renews the lease of every run this process is running to now + lease_ms:
 * the daemon calls it about once a second, so that its leases expire
 * lease_ms after it stopped beating.  store_nodes_json() lists the nodes
 * by name: [{"name", "owner", "version", "started", "heartbeat" (times),
 * "live" (a heartbeat in the last live_ms), "leases" (the runs it is
 * running), "lease_until" (the earliest of their leases, or null), "runs"
 * (every run it has recorded)}]; NULL with `e` set. */
dsrc_status store_node_beat(store *s, int64_t lease_ms, derr *e);
json_t *store_nodes_json(store *s, int64_t live_ms, derr *e);

/* For the modules that keep their own tables in the store (the catalog,
 * catalog/snapshot.c; its tables are made by the store's migrations):
 * store_lock() takes the handle's lock and returns the database (db.h), which
 * the caller uses until store_unlock(); store_error() sets `e` from the
 * database's last error, naming the store and `what`, and returns the
 * status (call it before store_unlock()).  store_now() is the time in ms. */
struct sdb;
struct sdb *store_lock(store *s);
void store_unlock(store *s);
dsrc_status store_error(store *s, derr *e, const char *what);
int64_t store_now(void);

#endif

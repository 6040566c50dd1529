/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runner.h -- carrying out one run: a discover or a fetch of one source,
 * recorded in the state store.
 *
 * The run is queued in the store by the caller (store_run_queue).
 * runner_run() borrows a connection through the source's router (a fetch
 * follows the source's read_policy, a discover goes to the primary), claims
 * the run (store_run_start: running, with a lease), calls the plugin and
 * ends the run:
 *   - fetch: exactly what `dsrc fetch` writes (fetch.h): a durable file and
 *     manifest in the workspace; with the rule's cursor_field it is
 *     incremental, and the cursor moves in the same store transaction that
 *     records the success, after the files are durable;
 *   - discover: the plugin's discover() over the whole source, kept as a
 *     catalog snapshot (snapshot.h: stored when it changed, its drift
 *     events recorded and logged, with cfg->catalog.retention_ms); the run
 *     records how many items it found (rows; bytes stays 0), and the
 *     discover, succeeded or not, leaves its row in `discoveries`
 *     (discovery.h: duration, items, queries, retries, errors, mode).
 * While the plugin works, a watchdog thread renews the lease, passes a
 * cancellation (*cancel set by the caller: SIGTERM, `dsrc run --cancel`) to
 * the plugin with source_cancel(), and cancels a run whose row and byte
 * counters have not moved for stall_ms: such a run fails as "stalled"
 * (retryable).  A cancelled run ends cancelled and commits nothing.  The
 * connection of a cancelled or stalled call is closed, not reused.
 */
#ifndef DSRC_CORE_RUNNER_H
#define DSRC_CORE_RUNNER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "conn/router.h"
#include "store/store.h"

typedef struct runner_req {
    const cfg_config *cfg;
    router_source *rt;              /* the source's router                    */
    store *store;
    int64_t run_id;                 /* queued in `store`                      */
    run_kind kind;
    const cfg_fetch_rule *rule;     /* fetch: item, format, columns, limit,
                                       cursor_field                           */
    int64_t lease_ms;               /* <= 0: 60 s                             */
    int64_t stall_ms;               /* <= 0: no stall watchdog                */
    atomic_int *cancel;             /* may be NULL                            */
    dsrc_discover_mode discover_mode; /* discover: the plugin's hint
                                       (discovery.h); CONSERVATIVE doubles
                                       stall_ms                               */
    int attempt;                    /* the fire's attempt (1 the first); a
                                       discover records attempt - 1 retries   */
} runner_req;

/* What came of a run (also recorded in the store). */
typedef struct runner_result {
    run_state state;                /* SUCCEEDED, FAILED or CANCELLED         */
    int stalled;                    /* failed because it stalled              */
    uint64_t rows, bytes;
    size_t drift, drift_breaking;   /* discover: drift events it recorded, and
                                       how many of them are breaking          */
    derr err;                       /* why it did not succeed; clear it       */
} runner_result;

/* Carry out the run; fills *res (always).  Returns the run's status
 * (DSRC_OK when it succeeded). */
dsrc_status runner_run(const runner_req *rq, runner_result *res);

#endif

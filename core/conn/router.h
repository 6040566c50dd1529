/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.h -- a source's endpoints (the primary and each replica), each
 * with its own pool and circuit breaker, and the choice of endpoint per
 * operation.
 *
 * Every operation declares its intent:
 *   ROUTER_WRITE  write, or anything that must see the freshest state
 *             (discover, compliance-style checks): the primary only;
 *   ROUTER_READ   fetch, list, describe, stats: the endpoints the source's
 *             read_policy allows, in its order of preference:
 *               primary            primary
 *               primary_preferred  primary, then replicas
 *               replica            replicas
 *               replica_preferred  replicas, then primary
 *               nearest            every endpoint, lowest ping latency first
 *                                  (endpoints not yet measured last)
 *             Replicas are taken round-robin so reads spread over them.
 *
 * An endpoint whose breaker is open is skipped (its last error kept); an
 * endpoint whose connection cannot be opened is recorded as a failure in its
 * breaker and the next allowed endpoint is tried.  A saturated pool
 * (acquire timeout) is not failed over: its error is returned.  When the
 * primary recovers, reads return to it only after its cool-down, through
 * the breaker's half-open probe.
 *
 * Under `replica` and `replica_preferred` a replica is used only if a ping
 * says it is one: the role (dsrc_ping_info.role) is checked on the
 * connection when it was not checked within role_check_ms; an endpoint
 * that reports itself primary or standalone is skipped with a warning
 * (a plugin that cannot tell -- DSRC_ROLE_UNKNOWN -- is trusted).
 *
 * The lease names the endpoint that served, for CLI output and manifests.
 * Every function is thread-safe.
 */
#ifndef DSRC_CORE_ROUTER_H
#define DSRC_CORE_ROUTER_H

#include <jansson.h>

#include "conn/breaker.h"
#include "conn/pool.h"

typedef enum router_intent {
    ROUTER_WRITE = 0,   /* write / fresh: primary only                           */
    ROUTER_READ = 1     /* follows read_policy                                   */
} router_intent;

typedef enum router_policy {
    ROUTER_POLICY_PRIMARY = 0,
    ROUTER_POLICY_PRIMARY_PREFERRED = 1,
    ROUTER_POLICY_REPLICA = 2,
    ROUTER_POLICY_REPLICA_PREFERRED = 3,
    ROUTER_POLICY_NEAREST = 4
} router_policy;

typedef struct router_opts {
    pool_clock_fn clock;        /* NULL: CLOCK_MONOTONIC (pools and breakers) */
    void *clock_user;
    pool_log_fn log;            /* NULL: log_msg()                           */
    void *log_user;
    const breaker_config *breaker;  /* NULL: breaker_config_default()                */
    int64_t role_check_ms;      /* 0: 30000                                  */
    uint64_t seed;              /* pools' lifetime jitter; 0: from the time  */
    /* pool_opts.open_inline, open_guard and open_guard_user of every
     * endpoint's pool (a command with one caller: dsrc test). */
    int open_inline;
    void (*open_guard)(void *user, int64_t ms_left);
    void *open_guard_user;
} router_opts;

typedef struct router_source router_source;

/* A borrowed connection on the endpoint chosen.  Filled by router_acquire(),
 * given back with router_release(). */
typedef struct router_lease {
    source_conn *conn;       /* the connection to call                        */
    int endpoint;         /* 0 primary, i = replicas.hosts[i-1]            */
    const char *label;    /* "primary" / "replica 1 (host:port)"; valid as
                             long as the router_source                         */
    dsrc_role role;       /* last role a ping reported (UNKNOWN if none)   */
    pool_conn *pc;        /* internal                                      */
    int probe;            /* internal: this call is the breaker's probe    */
} router_lease;

/* Endpoints, pools and breakers for source `s` (borrowed; must outlive the
 * router), with the pool knobs of s->cfg->pool.  `opts` may be NULL.
 * NULL with `e` set on an unknown read_policy or when out of memory. */
router_source *router_new(const registry_source *s, const router_opts *opts, derr *e);

/* Free everything (see pool_free(): waits for borrowed connections). */
void router_free(router_source *r);

/* Borrow a connection for operation `op` (named in leak warnings) with
 * intent `intent`.  On success fills *out.  On failure returns the status
 * with `e` set: the last endpoint error (a breaker's fail-fast error names
 * the endpoint and the time left), DSRC_E_TIMEOUT when a pool stayed
 * saturated, DSRC_E_INVALID_CONFIG when the policy allows no endpoint (e.g.
 * `replica` without replicas). */
dsrc_status router_acquire(router_source *r, router_intent intent, const char *op, router_lease *out, derr *e);

/* Give the lease back with the operation's outcome (`result` NULL or
 * DSRC_OK: success).  An endpoint-level failure (breaker_is_endpoint_failure)
 * counts against the endpoint's breaker, anything else proves it alive; a
 * connection_broken error closes the connection. */
void router_release(router_source *r, router_lease *l, const derr *result);

/* The intent of a named operation: "discover" and anything unknown ->
 * ROUTER_WRITE; "fetch", "list", "ls", "describe", "stats" -> ROUTER_READ. */
router_intent router_intent_for(const char *operation);

/* pool_maintain() every endpoint whose breaker is closed (an open breaker
 * means nobody should be opening connections there).  An open that failed
 * authentication counts against the endpoint's breaker (which it opens).
 * Returns the number of connections opened. */
int router_maintain(router_source *r);

/* 1 when router_maintain() would have something to do now: a pool of an
 * endpoint whose breaker is closed is due (pool_maintain_due()). */
int router_maintain_due(router_source *r);

/* breaker_set_auth_cooldown() on every endpoint's breaker. */
void router_set_auth_cooldown(router_source *r, int64_t ms);

/* pool_cancel_maintenance() on every endpoint: ask a hanging router_maintain()
 * to stop (any thread). */
void router_cancel_maintenance(router_source *r);

/* New pool knobs for every endpoint (see pool_reconfigure()). */
void router_reconfigure(router_source *r, const cfg_pool *cfg);

/* Record a ping's result for an endpoint (health probes do): the role and
 * the latency used by `nearest`. */
/* pool_recycle() every endpoint's pool. */
void router_recycle(router_source *r);

void router_note_ping(router_source *r, int endpoint, dsrc_role role, double latency_ms);

/* Accessors.  endpoint in 0 .. router_n_endpoints()-1. */
size_t router_n_endpoints(const router_source *r);
pool *router_pool(router_source *r, int endpoint);
breaker *router_breaker(router_source *r, int endpoint);
const registry_source *router_reg_source(const router_source *r);
router_policy router_get_policy(const router_source *r);
uint64_t router_served(router_source *r, int endpoint);
dsrc_role router_role(router_source *r, int endpoint);

/* "primary", ... <-> router_policy (the names are cfg_read_policies, in
 * the enum's order); parse returns -1 when unknown (NULL: primary). */
int router_policy_parse(const char *name);
const char *router_policy_name(router_policy p);
/* "primary", "replica", "standalone" or "unknown": the one name table
 * for dsrc_role. */
const char *router_role_name(dsrc_role role);

/* {"source","read_policy","endpoints":[{"index","label","role","served",
 *  "latency_ms","breaker":{...},"pool":{...}}]}: what `dsrc pools --json`
 * prints per source.  New reference; NULL when out of memory. */
json_t *router_json(router_source *r);

#endif

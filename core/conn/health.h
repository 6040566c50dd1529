/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health.h -- health probes and the health report of a source.
 *
 * A monitor watches one source through its router (router.h): health_probe()
 * borrows a connection from each endpoint's pool (through the endpoint's
 * circuit breaker), pings it, and records the latency and result as a
 * sample.  The last `window` samples per endpoint make the report:
 *
 *   per endpoint  status, latency p50/p95 (successful probes), error rate
 *                 and uptime ratio over the window, consecutive failures,
 *                 last error (redacted, as every derr), role, pool stats,
 *                 breaker state;
 *   per source    status, the endpoints, storage size when the plugin can
 *                 tell (its optional storage(), asked on the primary at the
 *                 first successful probe and every 10th), and plain
 *                 recommendations derived from rules:
 *                   high latency            check the network path and TLS
 *                   pool saturated          raise max_size / hold less
 *                   high error rate         check credentials, server logs
 *                   idle connections found  lower max_lifetime (or enable
 *                   closed by the server    keepalive)
 *                   circuit open            what fails and when it retries
 *
 * Status of an endpoint: unknown (no sample yet); down (its last
 * `down_after` probes failed, or its breaker is open); degraded (any
 * failure in the window above error_rate_warn, p95 above latency_warn_ms,
 * the last probe failed, or the pool was saturated); healthy otherwise.
 * A source is down when every endpoint is down, healthy when every endpoint
 * is healthy, unknown when none was probed, and degraded otherwise.
 *
 * A probe that finds the pool saturated (acquire timeout) does not count
 * as a failure of the endpoint: it is recorded as "saturated" and shows in
 * the recommendations.  Probes never exceed the pool's max_size.
 *
 * Stale: with stale_after_ms set, a source whose newest sample is older
 * than that is reported as HEALTH_STALE, with the status its samples gave
 * (last_status) and the newest sample's age (age_ms): a verdict nobody
 * has refreshed is not shown as current.
 *
 * Besides the window, each endpoint keeps counters for its lifetime (the
 * monitor's): samples by outcome (ok, failed, saturated; an overrun is a
 * failed one) and a histogram of latencies in seconds (13 buckets, 1 ms to
 * 10 s) of the samples that measured a round trip (successful ones, and
 * failed ones with a latency: a ping that failed), for the daemon's metrics.
 *
 * A probe that hangs (a plugin that does not answer, nor honour
 * cancellation) is the caller's to time: health_overrun() records the overrun
 * as a failed sample, asks the call in progress to stop, and makes sure
 * the late outcome of that probe is not recorded.
 *
 * Every function is thread-safe.
 */
#ifndef DSRC_CORE_HEALTH_H
#define DSRC_CORE_HEALTH_H

#include <jansson.h>

#include "base/prom.h"
#include "conn/router.h"
#include "conn/tlswatch.h"

typedef enum health_status {
    HEALTH_UNKNOWN = 0,
    HEALTH_HEALTHY = 1,
    HEALTH_DEGRADED = 2,
    HEALTH_DOWN = 3,
    HEALTH_STALE = 4               /* the newest sample is too old (source only)  */
} health_status;

typedef struct health_config {
    int window;                /* samples kept per endpoint; default 60       */
    int64_t probe_timeout_ms;  /* longest wait for a pooled connection; 5000  */
    double latency_warn_ms;    /* p95 above this: degraded; default 250       */
    double error_rate_warn;    /* error rate above this: degraded; 0.1        */
    int down_after;            /* failed probes in a row that mean down; 2    */
    int64_t stale_after_ms;    /* newest sample older: stale; 0 (default) never */
} health_config;

typedef struct health_endpoint_report {
    int endpoint;
    const char *label;         /* valid as long as the monitor               */
    health_status status;
    dsrc_role role;
    int samples;               /* probes in the window, saturated included    */
    int failures;              /* failed probes in the window                 */
    int saturated;             /* probes that found the pool saturated        */
    int consecutive_failures;
    double latency_p50_ms, latency_p95_ms; /* successful probes; 0 if none   */
    double error_rate;         /* failures / (successes + failures)           */
    double uptime;             /* successes / (successes + failures); 0..1    */
    char *last_error;          /* NULL when none; owned by the report        */
    double server_cert_days;   /* days until the certificate the server
                                  presented expires (negative: expired), as
                                  the last successful probe saw it; NAN: no
                                  TLS, or the plugin cannot tell            */
    dsrc_status last_error_status;
    int64_t last_error_age_ms; /* -1 when none                                */
    int64_t last_probe_age_ms; /* -1 when never probed                        */
    pool_stats pool;
    breaker_info breaker;          /* breaker.last_error owned by the report     */
    /* Since the monitor was made: */
    uint64_t probes_ok, probes_failed, probes_saturated;
    prom_hist latency;             /* seconds                                 */
} health_endpoint_report;

typedef struct health_report {
    const char *source;        /* valid as long as the monitor               */
    health_status status;
    health_endpoint_report *endpoints;
    size_t n_endpoints;
    int64_t storage_bytes;     /* -1: the plugin cannot tell                  */
    char **recommendations;    /* plain sentences, most important first      */
    size_t n_recommendations;
    health_status last_status;     /* what the samples say (== status unless stale) */
    int64_t age_ms;            /* age of the newest sample; -1 when none      */
    /* The TLS files (health_set_tls); tls 0: never set. */
    int tls;
    char *tls_error;           /* a refused file; NULL when none; owned       */
    double tls_days[2];        /* days to expiry: CA, client cert; NAN: none  */
} health_report;

typedef struct health_monitor health_monitor;

/* Fill `c` with the defaults above. */
void health_config_default(health_config *c);

/* A monitor for the source behind router `r` (borrowed; must outlive the
 * monitor).  `cfg` NULL: defaults.  `clock` NULL: CLOCK_MONOTONIC (use the
 * router's clock).  NULL when out of memory. */
health_monitor *health_new(router_source *r, const health_config *cfg, pool_clock_fn clock, void *clock_user);
void health_free(health_monitor *h);

/* Probe every endpoint once, one after the other (a probe waits at most
 * probe_timeout_ms for a pooled connection, then as long as the plugin's
 * ping takes).  After health_overrun() the remaining endpoints are skipped.
 * Returns the number of endpoints whose probe failed.  health_overrun() and
 * health_cancel() act on "the probe in progress": run one health_probe() at a time
 * per monitor. */
int health_probe(health_monitor *h);

/* The probe running in another thread has overrun the caller's time limit:
 * record `why` as a failed sample of the endpoint it is probing (of every
 * endpoint when none is being probed: the caller's own work on the source
 * hangs), and ask that endpoint's call in progress to stop (the flag the
 * plugin polls, and the plugin's cancel() when it has one).  The outcome of
 * the overrun probe is not recorded when it comes.  May be called again
 * while the probe still hangs (one more failed sample each time). */
void health_overrun(health_monitor *h, const derr *why);

/* Ask the probe in progress, if any, to stop (as health_overrun, recording
 * nothing). */
void health_cancel(health_monitor *h);

/* The state of the source's TLS files (tlswatch.h): `error` (copied; NULL
 * when the files are valid) and the days until the CA and client
 * certificates expire (NAN: none).  A refused file, or a certificate that
 * expires within TLSW_DEGRADED_DAYS, makes a healthy source degraded; one
 * within TLSW_RECOMMEND_DAYS earns a recommendation. */
void health_set_tls(health_monitor *h, const char *error, double ca_days, double cert_days);

/* Change stale_after_ms (0: never stale). */
void health_set_stale_after(health_monitor *h, int64_t ms);

/* Record a sample without probing (e.g. from a real operation's outcome).
 * `e` NULL or DSRC_OK: success.  Out-of-range endpoints are ignored. */
void health_record(health_monitor *h, int endpoint, int ok, double latency_ms, const derr *e);

/* Build the report.  Returns 0, or -1 when out of memory (out zeroed).
 * Release with health_report_free(). */
int health_report_get(health_monitor *h, health_report *out);
void health_report_free(health_report *rep);

/* {"source","status","last_status","age_ms","storage_bytes","recommendations":[...],
 *  "endpoints":[{"index","label","status","role","samples","failures",
 *  "saturated","consecutive_failures","latency_ms":{"p50","p95"},
 *  "error_rate","uptime","last_error","last_error_age_ms","breaker":{...},
 *  "pool":{...},"server_cert_expiry_days"}], "tls":{"error","ca_expiry_days","cert_expiry_days"} (when
 *  set)}.  New reference; NULL when out of memory. */
json_t *health_report_json(const health_report *rep);

/* "unknown", "healthy", "degraded", "down", "stale". */
const char *health_status_name(health_status s);

#endif

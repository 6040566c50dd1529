/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c -- see metrics.h */
#include <config.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

/* The upper bounds, in seconds, of the run duration histogram. */
static const double metrics_run_bounds[] = {0.1, 0.5, 1,   2.5, 5,    10,  30,
                                            60,  120, 300, 600, 1800, 3600};

/* The runs of one (source, kind). */
typedef struct metrics_runs {
    char *source;
    run_kind kind;
    uint64_t succeeded, failed, cancelled;
    prom_hist duration;
    uint64_t rows, bytes;          /* fetches that succeeded                */
} metrics_runs;

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    double start_time;             /* seconds since the epoch; 0 unknown    */
    metrics_runs *runs;
    size_t n_runs, cap_runs;
    int64_t queued, running;
    uint64_t drift_breaking, drift_non_breaking;
    uint64_t reloads_ok, reloads_failed;
} M;

void metrics_start(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&metrics_mu);
    M.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_run_queued(void)
{
    pthread_mutex_lock(&metrics_mu);
    M.queued++;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_run_started(void)
{
    pthread_mutex_lock(&metrics_mu);
    M.queued--;
    M.running++;
    pthread_mutex_unlock(&metrics_mu);
}

/* The entry of (source, kind), made when new; NULL when out of memory.
 * Under metrics_mu. */
static metrics_runs *metrics_runs_of(const char *source, run_kind kind)
{
    metrics_runs *r;
    size_t i;

    for (i = 0; i < M.n_runs; i++)
        if (M.runs[i].kind == kind && strcmp(M.runs[i].source, source) == 0)
            return &M.runs[i];
    if (M.n_runs == M.cap_runs) {
        size_t cap = M.cap_runs ? M.cap_runs * 2 : 8;
        metrics_runs *v = realloc(M.runs, cap * sizeof *v);
        if (!v)
            return NULL;
        M.runs = v;
        M.cap_runs = cap;
    }
    r = &M.runs[M.n_runs];
    memset(r, 0, sizeof *r);
    if (!(r->source = strdup(source)))
        return NULL;
    r->kind = kind;
    prom_hist_init(&r->duration, metrics_run_bounds,
                   sizeof metrics_run_bounds / sizeof metrics_run_bounds[0]);
    M.n_runs++;
    return r;
}

void metrics_run_ended(const char *source, run_kind kind, run_state state, double seconds,
                       uint64_t rows, uint64_t bytes)
{
    metrics_runs *r;

    pthread_mutex_lock(&metrics_mu);
    if (seconds < 0)
        M.queued--;
    else
        M.running--;
    if (source && (r = metrics_runs_of(source, kind))) {
        if (state == RUN_SUCCEEDED)
            r->succeeded++;
        else if (state == RUN_CANCELLED)
            r->cancelled++;
        else
            r->failed++;
        if (seconds >= 0)
            prom_hist_observe(&r->duration, seconds);
        if (state == RUN_SUCCEEDED && kind == RUN_FETCH) {
            r->rows += rows;
            r->bytes += bytes;
        }
    }
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_drift(size_t events, size_t breaking)
{
    pthread_mutex_lock(&metrics_mu);
    M.drift_breaking += breaking;
    M.drift_non_breaking += events > breaking ? events - breaking : 0;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_reload(int ok)
{
    pthread_mutex_lock(&metrics_mu);
    if (ok)
        M.reloads_ok++;
    else
        M.reloads_failed++;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_free(void)
{
    size_t i;

    pthread_mutex_lock(&metrics_mu);
    for (i = 0; i < M.n_runs; i++)
        free(M.runs[i].source);
    free(M.runs);
    memset(&M, 0, sizeof M);
    pthread_mutex_unlock(&metrics_mu);
}

/* ------------------------------------------------------------------------ */
/* Exposition                                                                */

/* dsrc_rows_fetched_total (bytes 0) or dsrc_bytes_fetched_total (bytes 1).
 * Under metrics_mu. */
static void metrics_write_fetched(prom_writer *w, int bytes)
{
    prom_label l[1];
    size_t i;

    prom_family(w, bytes ? "dsrc_bytes_fetched_total" : "dsrc_rows_fetched_total",
                PROM_COUNTER,
                bytes ? "Bytes written by fetch runs that succeeded, by source."
                      : "Rows written by fetch runs that succeeded, by source.");
    for (i = 0; i < M.n_runs; i++)
        if (M.runs[i].kind == RUN_FETCH) {
            l[0] = (prom_label){"source", M.runs[i].source};
            prom_sample(w, l, 1, (double)(bytes ? M.runs[i].bytes : M.runs[i].rows));
        }
}

/* The daemon's own counters.  Under metrics_mu. */
static void metrics_write_daemon(prom_writer *w)
{
    prom_label l[3];
    size_t i;

    prom_family(w, "dsrc_build_info", PROM_GAUGE, "The version of dsrcd (always 1).");
    l[0] = (prom_label){"version", PACKAGE_VERSION};
    prom_sample(w, l, 1, 1);
    prom_family(w, "dsrc_start_time_seconds", PROM_GAUGE,
                "When dsrcd started, in seconds since the Unix epoch.");
    prom_sample(w, NULL, 0, M.start_time);
    prom_family(w, "dsrc_config_reloads_total", PROM_COUNTER,
                "Configuration reloads, by result: ok (applied) or failed (refused, the "
                "previous configuration kept).");
    l[0] = (prom_label){"result", "ok"};
    prom_sample(w, l, 1, (double)M.reloads_ok);
    l[0].value = "failed";
    prom_sample(w, l, 1, (double)M.reloads_failed);

    prom_family(w, "dsrc_runs_total", PROM_COUNTER,
                "Runs of the scheduler that ended, by source, kind (discover, fetch) and "
                "result (succeeded, failed, cancelled).");
    for (i = 0; i < M.n_runs; i++) {
        const metrics_runs *r = &M.runs[i];
        static const char *const results[] = {"succeeded", "failed", "cancelled"};
        const uint64_t counts[] = {r->succeeded, r->failed, r->cancelled};
        size_t k;

        l[0] = (prom_label){"source", r->source};
        l[1] = (prom_label){"kind", store_kind_name(r->kind)};
        for (k = 0; k < 3; k++) {
            l[2] = (prom_label){"result", results[k]};
            prom_sample(w, l, 3, (double)counts[k]);
        }
    }
    prom_family(w, "dsrc_run_duration_seconds", PROM_HISTOGRAM,
                "How long runs ran (those that started), by source and kind.");
    for (i = 0; i < M.n_runs; i++) {
        l[0] = (prom_label){"source", M.runs[i].source};
        l[1] = (prom_label){"kind", store_kind_name(M.runs[i].kind)};
        prom_histogram(w, l, 2, &M.runs[i].duration);
    }
    metrics_write_fetched(w, 0);
    metrics_write_fetched(w, 1);
    prom_family(w, "dsrc_runs_running", PROM_GAUGE, "Runs running now.");
    prom_sample(w, NULL, 0, (double)M.running);
    prom_family(w, "dsrc_runs_queued", PROM_GAUGE,
                "Runs queued, waiting for a worker or for their source's limit.");
    prom_sample(w, NULL, 0, (double)M.queued);
    prom_family(w, "dsrc_drift_events_total", PROM_COUNTER,
                "Drift events recorded by the daemon's discovers, by class (breaking, "
                "non_breaking).");
    l[0] = (prom_label){"class", "breaking"};
    prom_sample(w, l, 1, (double)M.drift_breaking);
    l[0].value = "non_breaking";
    prom_sample(w, l, 1, (double)M.drift_non_breaking);
}

/* What one endpoint family shows of an endpoint's report. */
typedef void (*metrics_ep_fn)(prom_writer *w, prom_label *l, const health_endpoint_report *er);

/* One family over every endpoint of every source: labels source and
 * endpoint, then what `fn` adds (l has room for one more). */
static void metrics_endpoints(prom_writer *w, const health_report *reps, size_t n,
                              const char *name, prom_type type, const char *help,
                              metrics_ep_fn fn)
{
    prom_label l[3];
    size_t i, k;

    prom_family(w, name, type, help);
    for (i = 0; i < n; i++)
        for (k = 0; k < reps[i].n_endpoints; k++) {
            l[0] = (prom_label){"source", reps[i].source};
            l[1] = (prom_label){"endpoint", reps[i].endpoints[k].label};
            fn(w, l, &reps[i].endpoints[k]);
        }
}

static int metrics_is_up(health_status s)
{
    return s == HEALTH_HEALTHY || s == HEALTH_DEGRADED;
}

static void ep_up(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, metrics_is_up(er->status));
}

static void ep_probes(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    l[2] = (prom_label){"result", "ok"};
    prom_sample(w, l, 3, (double)er->probes_ok);
    l[2].value = "failed";
    prom_sample(w, l, 3, (double)er->probes_failed);
    l[2].value = "saturated";
    prom_sample(w, l, 3, (double)er->probes_saturated);
}

static void ep_latency(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_histogram(w, l, 2, &er->latency);
}

static void ep_connections(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    l[2] = (prom_label){"state", "idle"};
    prom_sample(w, l, 3, er->pool.idle);
    l[2].value = "busy";
    prom_sample(w, l, 3, er->pool.active);
    l[2].value = "opening";
    prom_sample(w, l, 3, er->pool.opening);
}

static void ep_max(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, er->pool.max_size);
}

static void ep_waiting(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, er->pool.waiting);
}

static void ep_acquires(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, (double)er->pool.acquires);
}

static void ep_timeouts(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, (double)er->pool.timeouts);
}

static void ep_open_failures(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, (double)er->pool.failed_opens);
}

static void ep_breaker_open(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, er->breaker.state == BREAKER_OPEN);
}

static void ep_breaker_state(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    static const breaker_state states[] = {BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN};
    size_t k;

    for (k = 0; k < 3; k++) {
        l[2] = (prom_label){"state", breaker_state_name(states[k])};
        prom_sample(w, l, 3, er->breaker.state == states[k]);
    }
}

static void ep_breaker_opens(prom_writer *w, prom_label *l, const health_endpoint_report *er)
{
    prom_sample(w, l, 2, (double)er->breaker.opens);
}

/* The TLS state of the sources: days to expiry of the client and CA
 * certificates (from the files every endpoint is reached with) and of the
 * certificate each endpoint's server presented, and whether the files in
 * place were refused. */
static void metrics_tls(prom_writer *w, const health_report *reps, size_t n)
{
    static const char *const kind[2] = {"ca", "client"};
    prom_label l[3];
    size_t i, j;
    int k, any = 0, files = 0;

    for (i = 0; i < n; i++) {
        files |= reps[i].tls;
        for (j = 0; j < reps[i].n_endpoints; j++)
            any |= !isnan(reps[i].endpoints[j].server_cert_days);
    }
    if (!any && !files)
        return;
    prom_family(w, "dsrc_tls_cert_expiry_days", PROM_GAUGE,
                "Days until the certificate expires (negative: expired), by source, endpoint "
                "and kind: client (tls.cert), ca (tls.ca) or server (the certificate the "
                "endpoint's server presented).");
    for (i = 0; i < n; i++)
        for (j = 0; j < reps[i].n_endpoints; j++) {
            l[0] = (prom_label){"source", reps[i].source};
            l[1] = (prom_label){"endpoint", reps[i].endpoints[j].label};
            for (k = 0; reps[i].tls && k < 2; k++) {
                if (isnan(reps[i].tls_days[k]))
                    continue;
                l[2] = (prom_label){"kind", kind[k]};
                prom_sample(w, l, 3, reps[i].tls_days[k]);
            }
            if (!isnan(reps[i].endpoints[j].server_cert_days)) {
                l[2] = (prom_label){"kind", "server"};
                prom_sample(w, l, 3, reps[i].endpoints[j].server_cert_days);
            }
        }
    if (!files)
        return;
    prom_family(w, "dsrc_tls_files_refused", PROM_GAUGE,
                "1 when the source's TLS files changed into a set that cannot be used (the "
                "pools keep the previous connections), else 0.");
    for (i = 0; i < n; i++)
        if (reps[i].tls) {
            l[0] = (prom_label){"source", reps[i].source};
            prom_sample(w, l, 1, reps[i].tls_error ? 1 : 0);
        }
}

/* The served sources, from their health reports. */
static void metrics_write_sources(prom_writer *w, const health_report *reps, size_t n)
{
    static const struct {
        const char *name;
        prom_type type;
        const char *help;
        metrics_ep_fn fn;
    } fams[] = {
        {"dsrc_endpoint_up", PROM_GAUGE,
         "1 when the endpoint is healthy or degraded, 0 when it is down or not probed yet.",
         ep_up},
        {"dsrc_probes_total", PROM_COUNTER,
         "Health probes of the endpoint, by result: ok, failed (overruns included), "
         "saturated (no pooled connection free in time).",
         ep_probes},
        {"dsrc_probe_latency_seconds", PROM_HISTOGRAM,
         "Round-trip time of the health probes that reached the endpoint's ping (succeeded "
         "or failed).",
         ep_latency},
        {"dsrc_pool_connections", PROM_GAUGE,
         "Pooled connections to the endpoint, by state: idle, busy (lent out), opening.",
         ep_connections},
        {"dsrc_pool_max_connections", PROM_GAUGE, "The pool's max_size.", ep_max},
        {"dsrc_pool_waiting", PROM_GAUGE, "Callers waiting for a pooled connection now.",
         ep_waiting},
        {"dsrc_pool_acquires_total", PROM_COUNTER, "Connections lent out by the pool.",
         ep_acquires},
        {"dsrc_pool_acquire_timeouts_total", PROM_COUNTER,
         "Waits for a pooled connection that timed out (the pool was saturated).",
         ep_timeouts},
        {"dsrc_pool_open_failures_total", PROM_COUNTER,
         "Connections the pool failed to open.", ep_open_failures},
        {"dsrc_breaker_open", PROM_GAUGE,
         "1 when the endpoint's circuit breaker is open (calls fail fast), else 0.",
         ep_breaker_open},
        {"dsrc_breaker_state", PROM_GAUGE,
         "The circuit breaker's state: 1 for the current one of closed, open, half-open.",
         ep_breaker_state},
        {"dsrc_breaker_opens_total", PROM_COUNTER, "Times the circuit breaker opened.",
         ep_breaker_opens},
    };
    prom_label l[1];
    size_t i;

    prom_family(w, "dsrc_source_up", PROM_GAUGE,
                "1 when the source is healthy or degraded (some endpoint answers), 0 when it "
                "is down, not probed yet, or its health is stale.");
    for (i = 0; i < n; i++) {
        l[0] = (prom_label){"source", reps[i].source};
        prom_sample(w, l, 1, metrics_is_up(reps[i].status));
    }
    for (i = 0; i < sizeof fams / sizeof fams[0]; i++)
        metrics_endpoints(w, reps, n, fams[i].name, fams[i].type, fams[i].help, fams[i].fn);
    metrics_tls(w, reps, n);
}

int metrics_write(dsrc_buf *b, const unit *v, size_t n)
{
    health_report *reps = calloc(n ? n : 1, sizeof *reps);
    prom_writer w;
    size_t i, m = 0;

    if (!reps) {
        b->failed = 1;
        return -1;
    }
    for (i = 0; i < n; i++)
        if (v[i].hl && health_report_get(v[i].hl, &reps[m]) == 0)
            m++;
        else if (v[i].hl)
            b->failed = 1;
    prom_begin(&w, b);
    pthread_mutex_lock(&metrics_mu);
    metrics_write_daemon(&w);
    pthread_mutex_unlock(&metrics_mu);
    metrics_write_sources(&w, reps, m);
    for (i = 0; i < m; i++)
        health_report_free(&reps[i]);
    free(reps);
    return b->failed ? -1 : 0;
}

char *metrics_render(control_state *d)
{
    dsrc_buf b = {0};

    pthread_mutex_lock(&d->mu);
    metrics_write(&b, d->units, d->n_units);
    pthread_mutex_unlock(&d->mu);
    if (b.failed) {
        dsrc_buf_free(&b);
        return NULL;
    }
    return b.s ? b.s : strdup("");
}

/* SPDX-License-Identifier: Apache-2.0 */
/* daemon.c -- see daemon.h */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "ctl/api.h"
#include "config/config.h"
#include "base/ctx.h"
#include "daemon.h"
#include "probes.h"
#include "base/diag.h"
#include "conn/health.h"
#include "ctl/instance.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "output/outfile.h"
#include "base/redact.h"
#include "plugin/registry.h"
#include "conn/router.h"
#include "config/schedule.h"

#define DEFAULT_CONF DSRC_SYSCONFDIR "/dsrcd.conf"
#define DEFAULT_HEALTH_SCHEDULE "@every 30s"

/* A plugin set shared by the generations loaded from the same plugin
 * directories. */
typedef struct plugset {
    loader_set *set;
    int refs;
} plugset;

/* One loaded generation of the configuration.  A generation lives as long
 * as it is current or a source's router made from it is still in use (a
 * router borrows its registry_source): `refs` counts both. */
typedef struct generation {
    cfg_config *cfg;
    plugset *plugins;
    registry *reg;
    int refs;
} generation;

static void plugset_unref(plugset *p)
{
    if (p && --p->refs == 0) {
        loader_free(p->set);
        free(p);
    }
}

static void gen_free(generation *g)
{
    if (!g)
        return;
    registry_free(g->reg);
    plugset_unref(g->plugins);
    cfg_free(g->cfg);
    free(g);
}

static void gen_unref(generation *g)
{
    if (g && --g->refs == 0)
        gen_free(g);
}

/* Set when the daemon stops: every plugin call in progress (a probe
 * waiting for a server that does not answer) sees itself cancelled. */
static volatile sig_atomic_t stopping;

/* A served source: its router and health monitor. */
typedef struct unit {
    generation *gen;          /* holds a reference: owns `src`               */
    const registry_source *src;
    router_source *rt;
    health_monitor *hl;
    cfg_pool pool;            /* the pool knobs in force                     */
    schedule_spec health;        /* when to probe                               */
    time_t next_probe;
    health_status status;         /* last status logged                          */
    breaker_state *brk;           /* per endpoint: last breaker state logged     */
    size_t n_ep;
} unit;

/* What the control API reads.  Only the main thread changes it, under
 * `mu`; the main thread reads it without the lock. */
typedef struct dstate {
    pthread_mutex_t mu;
    generation *cur;
    unit *units;
    size_t n_units;
    const char *conf_path;
} dstate;

static void notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void log_diags(const diag_list *d)
{
    size_t i;
    for (i = 0; i < d->n; i++) {
        const diag *x = &d->v[i];
        log_msg(x->severity == DIAG_ERROR ? DSRC_LOG_ERROR : DSRC_LOG_WARNING, NULL, NULL,
                "%s:%d: %s", x->file ? x->file : "?", x->line, x->msg ? x->msg : "");
    }
}

static int same_dirs(const cfg_config *a, const cfg_config *b)
{
    size_t i;
    if (a->n_plugin_dirs != b->n_plugin_dirs)
        return 0;
    for (i = 0; i < a->n_plugin_dirs; i++)
        if (strcmp(a->plugin_dirs[i], b->plugin_dirs[i]) != 0)
            return 0;
    return 1;
}

/* Load a generation (one reference, the caller's).  `reuse` (may be NULL)
 * shares its plugin set when the plugin directories did not change.
 * Returns 0 when valid; *out may be set (to be released) either way. */
static int gen_load(const char *path, const generation *reuse, generation **out,
                    diag_list *diags)
{
    generation *g = calloc(1, sizeof *g);

    *out = g;
    if (!g)
        return -1;
    g->refs = 1;
    g->cfg = cfg_load(path, diags);
    if (!g->cfg) {
        if (!diags->n)
            diag_error(diags, path, 0, "cannot read the configuration");
        return -1;
    }
    if (reuse && reuse->plugins && same_dirs(reuse->cfg, g->cfg)) {
        g->plugins = reuse->plugins;
        g->plugins->refs++;
    } else {
        if (!(g->plugins = calloc(1, sizeof *g->plugins)))
            return -1;
        g->plugins->refs = 1;
        g->plugins->set = loader_new((const char *const *)g->cfg->plugin_dirs,
                                 g->cfg->n_plugin_dirs);
        if (!g->plugins->set)
            return -1;
    }
    g->reg = registry_build(g->cfg, g->plugins->set, diags);
    if (!g->reg)
        return -1;
    return diags->n_errors ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Served sources                                                            */

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int values_eq(const cfg_value *a, size_t na, const cfg_value *b, size_t nb)
{
    size_t i;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].text, b[i].text))
            return 0;
    return 1;
}

/* 1 when a router built for `a` also serves `b` once given b's pool knobs:
 * the same plugin and everything that decides the endpoints and how they
 * are reached. */
static int same_endpoints(const registry_source *a, const registry_source *b)
{
    const cfg_source *x = a->cfg, *y = b->cfg;
    size_t i;

    if (a->plugin != b->plugin || a->n_options != b->n_options ||
        !str_eq(a->key_file, b->key_file))
        return 0;
    for (i = 0; i < a->n_options; i++)
        if (a->options[i].def != b->options[i].def ||
            !str_eq(a->options[i].value, b->options[i].value))
            return 0;
    if (!str_eq(x->type, y->type) || x->location != y->location ||
        !str_eq(x->cloud_provider, y->cloud_provider) ||
        !values_eq(x->cloud, x->n_cloud, y->cloud, y->n_cloud) ||
        !values_eq(x->connection, x->n_connection, y->connection, y->n_connection) ||
        !str_eq(x->tls_mode, y->tls_mode) || !str_eq(x->tls_ca, y->tls_ca) ||
        !str_eq(x->tls_cert, y->tls_cert) || !str_eq(x->tls_key, y->tls_key) ||
        !str_eq(x->tls_key_passphrase, y->tls_key_passphrase) ||
        !str_eq(x->replica_set, y->replica_set) || !str_eq(x->read_policy, y->read_policy) ||
        x->n_replica_hosts != y->n_replica_hosts)
        return 0;
    for (i = 0; i < x->n_replica_hosts; i++)
        if (!str_eq(x->replica_hosts[i], y->replica_hosts[i]))
            return 0;
    return 1;
}

static int pool_eq(const cfg_pool *a, const cfg_pool *b)
{
    return a->max_size == b->max_size && a->min_idle == b->min_idle &&
           a->acquire_timeout_ms == b->acquire_timeout_ms &&
           a->idle_timeout_ms == b->idle_timeout_ms &&
           a->max_lifetime_ms == b->max_lifetime_ms && a->keepalive_ms == b->keepalive_ms &&
           a->validate_after_ms == b->validate_after_ms &&
           a->leak_threshold_ms == b->leak_threshold_ms;
}

static void unit_release(unit *u)
{
    health_free(u->hl);
    router_free(u->rt);
    free(u->brk);
    gen_unref(u->gen);
    memset(u, 0, sizeof *u);
}

/* Units no longer served whose job still runs (a reload dropped them while
 * a plugin call hangs): released once it returns.  Main thread only. */
static struct {
    unit *v;
    size_t n, cap;
} orphans;

static void unit_free(unit *u)
{
    if (u->hl && probes_forget(u->hl) != 0) {
        if (orphans.n == orphans.cap) {
            size_t cap = orphans.cap ? orphans.cap * 2 : 8;
            unit *v = realloc(orphans.v, cap * sizeof *v);
            if (!v) {
                /* kept for good rather than freed under a running job */
                log_msg(DSRC_LOG_WARNING, u->src->cfg->name, NULL,
                        "out of memory: its router is kept until dsrcd stops");
                memset(u, 0, sizeof *u);
                return;
            }
            orphans.v = v;
            orphans.cap = cap;
        }
        orphans.v[orphans.n++] = *u;
        memset(u, 0, sizeof *u);
        return;
    }
    unit_release(u);
}

/* Two intervals of schedule s (as it runs after `now`), in ms: health
 * older than that is stale.  0 when the schedule does not tell. */
static int64_t sched_stale_after(const schedule_spec *s, time_t now)
{
    time_t a = schedule_next(s, now), b = a == (time_t)-1 ? a : schedule_next(s, a);

    if (a == (time_t)-1 || b == (time_t)-1 || b <= a)
        return 0;
    return (int64_t)(b - a) * 2000;
}

/* The health schedule of `cs` (already checked by the configuration). */
static void unit_schedule(unit *u, const cfg_source *cs)
{
    const char *expr = cs->schedule_health ? cs->schedule_health : DEFAULT_HEALTH_SCHEDULE;
    const char *why = NULL;

    if (schedule_parse(expr, &u->health, &why) != 0) {
        log_msg(DSRC_LOG_WARNING, cs->name, NULL,
                "schedule.health '%s': %s; probing every 30 s", expr, why ? why : "invalid");
        schedule_parse(DEFAULT_HEALTH_SCHEDULE, &u->health, NULL);
    }
    if (u->hl)
        health_set_stale_after(u->hl, sched_stale_after(&u->health, time(NULL)));
}

/* A unit for source `s` of generation `g`.  0, or -1 (logged). */
static int unit_new(unit *u, generation *g, const registry_source *s)
{
    derr e = {0};

    memset(u, 0, sizeof *u);
    if (!(u->rt = router_new(s, NULL, &e))) {
        log_msg(DSRC_LOG_ERROR, s->cfg->name, NULL, "not served: %s",
                e.msg ? e.msg : "out of memory");
        derr_clear(&e);
        return -1;
    }
    u->n_ep = router_n_endpoints(u->rt);
    if (!(u->hl = health_new(u->rt, NULL, NULL, NULL)) ||
        !(u->brk = calloc(u->n_ep ? u->n_ep : 1, sizeof *u->brk))) {
        log_msg(DSRC_LOG_ERROR, s->cfg->name, NULL, "not served: out of memory");
        health_free(u->hl);
        router_free(u->rt);
        memset(u, 0, sizeof *u);
        return -1;
    }
    u->gen = g;
    g->refs++;
    u->src = s;
    u->pool = s->cfg->pool;
    u->status = HEALTH_UNKNOWN;
    u->next_probe = 0; /* probe at the first tick */
    unit_schedule(u, s->cfg);
    return 0;
}

/* Units for every source of `g`, carrying over the matching ones of `old`
 * (their routers are kept and only get the new pool knobs).  Carried units
 * are moved out of `old` (zeroed there). */
static int units_build(generation *g, unit *old, size_t n_old, unit **out, size_t *n_out)
{
    unit *v = calloc(g->reg->n_sources ? g->reg->n_sources : 1, sizeof *v);
    size_t i, j, n = 0;

    *out = v;
    *n_out = 0;
    if (!v)
        return -1;
    for (i = 0; i < g->reg->n_sources; i++) {
        const registry_source *s = &g->reg->sources[i];
        unit *carry = NULL;

        for (j = 0; j < n_old; j++)
            if (old[j].rt && strcmp(old[j].src->cfg->name, s->cfg->name) == 0) {
                if (same_endpoints(old[j].src, s))
                    carry = &old[j];
                break;
            }
        if (carry) {
            v[n] = *carry;
            memset(carry, 0, sizeof *carry);
            if (!pool_eq(&v[n].pool, &s->cfg->pool)) {
                router_reconfigure(v[n].rt, &s->cfg->pool);
                v[n].pool = s->cfg->pool;
                log_msg(DSRC_LOG_NOTICE, s->cfg->name, NULL,
                        "pool reconfigured: max_size %d, min_idle %d", s->cfg->pool.max_size,
                        s->cfg->pool.min_idle);
            }
            unit_schedule(&v[n], s->cfg);
            v[n].next_probe = 0;
            n++;
        } else if (unit_new(&v[n], g, s) == 0) {
            n++;
        }
    }
    *n_out = n;
    return 0;
}

static void units_free(unit *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        unit_free(&v[i]);
    free(v);
}

/* Log breaker and health status changes of u. */
static void unit_log_changes(unit *u, int probed)
{
    const char *name = u->src->cfg->name;
    size_t i;

    for (i = 0; i < u->n_ep; i++) {
        breaker_info bi;
        breaker_get(router_breaker(u->rt, (int)i), &bi);
        if (bi.state != u->brk[i]) {
            const char *label = pool_label(router_pool(u->rt, (int)i));
            if (bi.state == BREAKER_OPEN)
                log_msg(DSRC_LOG_WARNING, name, NULL,
                        "%s: circuit breaker open for %lld ms after %d failure(s): %s", label,
                        (long long)bi.cooldown_ms, bi.consecutive_failures,
                        bi.last_error.msg ? bi.last_error.msg : "unknown error");
            else if (bi.state == BREAKER_CLOSED)
                log_msg(DSRC_LOG_NOTICE, name, NULL, "%s: circuit breaker closed", label);
            else
                log_msg(DSRC_LOG_INFO, name, NULL, "%s: circuit breaker half-open (probing)",
                        label);
            u->brk[i] = bi.state;
        }
        derr_clear(&bi.last_error);
    }
    if (probed) {
        health_report rep;
        if (health_report_get(u->hl, &rep) == 0) {
            if (rep.status != u->status) {
                const char *why = NULL;
                for (i = 0; i < rep.n_endpoints && !why; i++)
                    if (rep.endpoints[i].status != HEALTH_HEALTHY && rep.endpoints[i].last_error)
                        why = rep.endpoints[i].last_error;
                log_msg(rep.status == HEALTH_DOWN ? DSRC_LOG_ERROR
                        : rep.status == HEALTH_DEGRADED ? DSRC_LOG_WARNING : DSRC_LOG_NOTICE,
                        name, NULL, "health: %s -> %s%s%s", health_status_name(u->status),
                        health_status_name(rep.status), why ? ": " : "", why ? why : "");
                u->status = rep.status;
            }
            health_report_free(&rep);
        }
    }
}

static void unit_next_probe(unit *u, time_t now)
{
    u->next_probe = schedule_next(&u->health, now);
    if (u->next_probe == (time_t)-1)
        u->next_probe = now + 30;
}

/* Watch u's running job against probe_timeout.  When it has just overrun,
 * or still hangs when a probe is due, it counts as a failed probe (the
 * call is asked to stop) and the source waits for its next interval.  1
 * when a sample was recorded. */
static int unit_watch(unit *u, int due, time_t now)
{
    int probing = 0, w = probes_watch(u->hl, &probing);
    const char *what = probing ? "health probe" : "pool maintenance";
    char limit[32];
    derr e = {0};

    if (w == 0 || (w == 2 && !due))
        return 0;
    snprintf(limit, sizeof limit, "%.1f s", (double)probes_limit_ms() / 1000.0);
    derr_set(&e, DSRC_E_TIMEOUT, "%s did not return within probe_timeout (%s)", what, limit);
    health_overrun(u->hl, &e);
    if (!probing)
        router_cancel_maintenance(u->rt);
    if (w == 1)
        log_msg(DSRC_LOG_WARNING, u->src->cfg->name, loader_name(u->src->plugin),
                "%s did not return within probe_timeout (%s): counted as failed, cancel "
                "asked; the source is probed again once the call returns", what, limit);
    derr_clear(&e);
    if (due)
        unit_next_probe(u, now);
    return 1;
}

/* Release the orphans whose job has returned; watch the others. */
static void orphans_reap(void)
{
    size_t i = 0;
    int probing;

    while (i < orphans.n) {
        unit *u = &orphans.v[i];
        if (probes_forget(u->hl) == 0) {
            unit_release(u);
            orphans.v[i] = orphans.v[--orphans.n];
            continue;
        }
        if (probes_watch(u->hl, &probing) == 1) {
            log_msg(DSRC_LOG_WARNING, u->src->cfg->name, loader_name(u->src->plugin),
                    "a call of this source, no longer served, did not return within "
                    "probe_timeout: cancel asked, released once it returns");
            health_cancel(u->hl);
            router_cancel_maintenance(u->rt);
        }
        i++;
    }
}

/* One housekeeping tick: hand each source's pool maintenance and due
 * health probe to the probers, give up on jobs past probe_timeout, log
 * what changed. */
static void units_tick(unit *v, size_t n)
{
    size_t i;
    time_t now = time(NULL);

    if (probes_threaded())
        orphans_reap();
    for (i = 0; i < n; i++) {
        unit *u = &v[i];
        int probed = 0, due;

        if (!u->rt)
            continue;
        due = now >= u->next_probe;
        if (probes_threaded()) {
            probed = probes_collect(u->hl) == 1;
            if (unit_watch(u, due, now)) {
                unit_log_changes(u, 1);
                continue;
            }
        }
        /* a job still queued or running is not doubled: a due probe then
         * waits for the next tick */
        if (probes_submit(u->hl, u->rt, due) && due) {
            if (!probes_threaded())
                probed = 1;
            unit_next_probe(u, now);
        }
        unit_log_changes(u, probed);
    }
}

/* SIGTERM: ask every job in progress to stop (the stopping flag is set
 * already; this reaches plugins with a cancel()), wait for them at most
 * shutdown_grace.  0 when they all returned; else -1, each hanging source
 * logged. */
static int units_stop(unit *v, size_t n, int64_t grace_ms)
{
    size_t i;
    int rc;

    for (i = 0; i < n + orphans.n; i++) {
        unit *u = i < n ? &v[i] : &orphans.v[i - n];
        if (u->hl) {
            health_cancel(u->hl);
            router_cancel_maintenance(u->rt);
        }
    }
    if ((rc = probes_stop(grace_ms)) == 0)
        return 0;
    for (i = 0; i < n + orphans.n; i++) {
        const unit *u = i < n ? &v[i] : &orphans.v[i - n];
        if (u->hl && probes_running(u->hl))
            log_msg(DSRC_LOG_ERROR, u->src->cfg->name, loader_name(u->src->plugin),
                    "a call has not returned %.1f s after SIGTERM (shutdown_grace): "
                    "plugin '%s' ignores cancellation", (double)grace_ms / 1000.0,
                    loader_name(u->src->plugin));
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Control API                                                               */

static json_t *api_serve(void *user, const api_request *req, derr *e)
{
    dstate *d = user;
    json_t *res = NULL;
    size_t i, found = 0;

    pthread_mutex_lock(&d->mu);
    if (req->cmd == API_PING) {
        res = json_pack("{s:s, s:i, s:s, s:i}", "version", PACKAGE_VERSION, "pid",
                        (int)getpid(), "config", d->conf_path, "sources", (int)d->n_units);
        goto out;
    }
    res = json_array();
    for (i = 0; res && i < d->n_units; i++) {
        unit *u = &d->units[i];
        json_t *o = NULL;

        if (req->source && strcmp(req->source, u->src->cfg->name) != 0)
            continue;
        found++;
        if (req->cmd == API_POOLS) {
            o = router_json(u->rt);
        } else if (req->cmd == API_HEALTH) {
            health_report rep;
            if (health_report_get(u->hl, &rep) == 0) {
                o = health_report_json(&rep);
                health_report_free(&rep);
            }
        } else {
            health_report rep;
            health_status st = HEALTH_UNKNOWN;
            if (health_report_get(u->hl, &rep) == 0) {
                st = rep.status;
                health_report_free(&rep);
            }
            o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "name", u->src->cfg->name, "type",
                          u->src->cfg->type, "endpoints", (int)u->n_ep, "read_policy",
                          router_policy_name(router_get_policy(u->rt)), "status",
                          health_status_name(st));
        }
        if (!o || json_array_append_new(res, o) != 0) {
            json_decref(res);
            res = NULL;
        }
    }
    if (res && req->source && !found) {
        json_decref(res);
        res = NULL;
        if (d->cur && cfg_find_source(d->cur->cfg, req->source))
            derr_set(e, DSRC_E_NOT_FOUND, "source '%s' is not served (disabled or invalid; "
                     "see 'dsrc sources')", req->source);
        else
            derr_set(e, DSRC_E_NOT_FOUND, "no source named '%s'", req->source);
    }
out:
    pthread_mutex_unlock(&d->mu);
    return res;
}

/* (Re)start the control socket when its path is new.  *srv and *path are
 * the running server and its path. */
static void api_apply(dstate *d, const cfg_config *cfg, api_server **srv, char **path)
{
    derr e = {0};

    if (*srv && str_eq(*path, cfg->control_socket))
        return;
    api_server_stop(*srv);
    *srv = NULL;
    free(*path);
    *path = NULL;
    if (!cfg->control_socket)
        return;
    if (!(*srv = api_server_start(cfg->control_socket, api_serve, d, &e))) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "no control socket (dsrc pools/health will not reach dsrcd): %s",
                e.msg ? e.msg : "out of memory");
        derr_clear(&e);
        return;
    }
    *path = strdup(cfg->control_socket);
    log_msg(DSRC_LOG_INFO, NULL, NULL, "control socket %s", cfg->control_socket);
}

/* The config's log_level and log_target apply unless given on the command
 * line. */
static void apply_log_settings(const cfg_config *cfg, int cli_target, int cli_level)
{
    if (cli_level < 0 && cfg->log_level)
        log_set_level(cfg->log_level);
    if (cli_target < 0 && cfg->log_target >= 0)
        log_init("dsrcd", (log_target)cfg->log_target,
                 cli_level >= 0 ? (dsrc_log_level)cli_level
                                : (cfg->log_level ? cfg->log_level : log_get_level()));
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: dsrcd [-c FILE] [--foreground] [--check-config]\n"
            "             [--log-target stderr|journal] [--log-level LEVEL]\n\n"
            "The dsrc daemon: hosts the configured data sources.\n\n"
            "  -c, --config FILE      configuration (default %s)\n"
            "  -f, --foreground       do not detach (use under systemd)\n"
            "  -t, --check-config     validate the configuration and exit\n"
            "                         (0 valid, 78 errors)\n"
            "      --log-target T     stderr or journal (default: journal under\n"
            "                         systemd, else stderr)\n"
            "      --log-level L      error, warning, notice, info or debug\n"
            "  -h, --help             this help\n"
            "  -V, --version          print the version\n\n"
            "Signals: SIGHUP reloads (the old configuration stays if the new one is\n"
            "wrong), SIGTERM and SIGINT stop.  See dsrcd(8).\n",
            DEFAULT_CONF);
}

static int detach(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        return -1;
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

int daemon_main(int argc, char **argv)
{
    enum { OPT_TARGET = 1000, OPT_LEVEL };
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 't'},
        {"log-target", required_argument, NULL, OPT_TARGET},
        {"log-level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *path = getenv("DSRC_CONFIG");
    int opt, foreground = 0, check = 0, target = -1, level = -1, rc = 0;
    generation *cur = NULL, *next = NULL;
    char *abs_path = NULL, *api_path = NULL;
    diag_list diags = {0};
    sigset_t set;
    dstate d;
    api_server *srv = NULL;
    instance *inst = NULL;
    derr ie = {0};

    if (!path)
        path = DEFAULT_CONF;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:fthV", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'f': foreground = 1; break;
        case 't': check = 1; break;
        case OPT_TARGET:
            if ((target = log_target_parse(optarg)) < 0) {
                fprintf(stderr, "dsrcd: unknown log target '%s' (stderr or journal)\n", optarg);
                return 2;
            }
            break;
        case OPT_LEVEL:
            if ((level = log_level_parse(optarg)) < 0) {
                fprintf(stderr, "dsrcd: unknown log level '%s' "
                                "(error, warning, notice, info, debug)\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V':
            printf("dsrcd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DSRC_ABI_MAJOR,
                   DSRC_ABI_MINOR);
            return 0;
        default:
            fprintf(stderr, "dsrcd: unknown option or missing argument: '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dsrcd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    /* A relative path would break reloads once detached (chdir "/"). */
    if (path[0] != '/') {
        abs_path = realpath(path, NULL);
        if (abs_path)
            path = abs_path;
    }
    log_init("dsrcd",
             target >= 0 ? (log_target)target
             : (getenv("JOURNAL_STREAM") && log_target_parse("journal") >= 0)
                 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR,
             level >= 0 ? (dsrc_log_level)level : DSRC_LOG_INFO);

    if (check) {
        rc = gen_load(path, NULL, &cur, &diags);
        diag_print(&diags, stderr);
        if (rc == 0)
            printf("%s: configuration OK (%zu source(s))\n", path, cur->cfg->n_sources);
        else
            fprintf(stderr, "dsrcd: %s: %zu error(s)\n", path, diags.n_errors);
        gen_unref(cur);
        diag_free(&diags);
        redact_clear();
        free(abs_path);
        return rc == 0 ? 0 : 78;
    }

    /* Block the signals we handle; they are taken synchronously below. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (gen_load(path, NULL, &cur, &diags) != 0) {
        log_diags(&diags);
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "%s: %zu configuration error(s); not starting (check with "
                "'dsrcd --check-config')", path, diags.n_errors);
        gen_unref(cur);
        diag_free(&diags);
        free(abs_path);
        return 78;
    }
    log_diags(&diags); /* warnings */
    diag_free(&diags);
    apply_log_settings(cur->cfg, target, level);
    /* Before detaching, so that a refusal is the exit status. */
    if ((rc = instance_claim(cur->cfg->state_dir, cur->cfg->control_socket, &inst, &ie))) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "not starting: %s", ie.msg ? ie.msg : "?");
        derr_clear(&ie);
        gen_unref(cur);
        free(abs_path);
        return rc > 0 ? DAEMON_EXIT_RUNNING : 1;
    }
    if (!foreground && detach() < 0) {
        log_msg(DSRC_LOG_ERROR, NULL, NULL, "cannot detach: %s", strerror(errno));
        instance_release(inst);
        gen_unref(cur);
        free(abs_path);
        return 1;
    }
    if (instance_set_pid(inst, getpid(), &ie) < 0) {
        log_msg(DSRC_LOG_WARNING, NULL, NULL, "%s", ie.msg ? ie.msg : "?");
        derr_clear(&ie);
    }
    /* The temporary files of fetches that died with their process. */
    {
        const char *dirs[2];
        int k, n;
        dirs[0] = cur->cfg->workspace;
        dirs[1] = cur->cfg->state_dir;
        for (k = 0; k < 2; k++)
            if ((n = outfile_sweep_tree(dirs[k])) > 0)
                log_msg(DSRC_LOG_NOTICE, NULL, NULL,
                        "removed %d temporary file(s) left in %s by fetches that died", n,
                        dirs[k]);
    }
    /* Threads (pools, the control socket) start only after detaching. */
    memset(&d, 0, sizeof d);
    pthread_mutex_init(&d.mu, NULL);
    d.conf_path = path;
    d.cur = cur;
    units_build(cur, NULL, 0, &d.units, &d.n_units);
    stopping = 0;
    ctx_set_signal_flag(&stopping);
    probes_start(cur->cfg->probe_timeout_ms);
    api_apply(&d, cur->cfg, &srv, &api_path);
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "dsrcd %s started: %zu source(s) from %s",
            PACKAGE_VERSION, cur->reg->n_sources, path);
    notify("READY=1\nSTATUS=running");

    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig < 0) {
            if (errno == EAGAIN)
                units_tick(d.units, d.n_units);
            continue;
        }
        if (sig == SIGHUP) {
            notify("RELOADING=1\nSTATUS=reloading");
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloading %s", path);
            if (gen_load(path, cur, &next, &diags) == 0) {
                unit *nv = NULL, *ov;
                size_t nn = 0, on;
                log_diags(&diags);
                units_build(next, d.units, d.n_units, &nv, &nn);
                pthread_mutex_lock(&d.mu);
                ov = d.units;
                on = d.n_units;
                d.units = nv;
                d.n_units = nn;
                d.cur = next;
                pthread_mutex_unlock(&d.mu);
                /* Routers not carried over are freed with their generation
                 * reference. */
                units_free(ov, on);
                gen_unref(cur);
                cur = next;
                next = NULL;
                apply_log_settings(cur->cfg, target, level);
                probes_set_limit(cur->cfg->probe_timeout_ms);
                api_apply(&d, cur->cfg, &srv, &api_path);
                log_msg(DSRC_LOG_NOTICE, NULL, NULL, "reloaded: %zu source(s)",
                        cur->reg->n_sources);
            } else {
                log_diags(&diags);
                log_msg(DSRC_LOG_ERROR, NULL, NULL,
                        "reload failed with %zu error(s); keeping the previous "
                        "configuration (%zu source(s))",
                        diags.n_errors, cur->reg->n_sources);
                gen_unref(next);
                next = NULL;
            }
            diag_free(&diags);
            notify("READY=1\nSTATUS=running");
        } else {
            notify("STOPPING=1\nSTATUS=stopping");
            log_msg(DSRC_LOG_NOTICE, NULL, NULL, "received %s, stopping",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            stopping = 1;
            break;
        }
    }
    api_server_stop(srv); /* removes the control socket */
    free(api_path);
    if (units_stop(d.units, d.n_units, cur->cfg->shutdown_grace_ms) != 0) {
        /* A thread is stuck in a plugin call: nothing it uses can be
         * freed, and the process cannot wait for it.  dsrcd keeps no file
         * open for writing, so exiting now leaves everything consistent;
         * the pid file goes as in a clean stop. */
        log_msg(DSRC_LOG_ERROR, NULL, NULL,
                "stopped without waiting for the calls above (shutdown_grace %.1f s)",
                (double)cur->cfg->shutdown_grace_ms / 1000.0);
        instance_release(inst);
        fflush(NULL);
        _exit(1);
    }
    units_free(d.units, d.n_units);
    orphans_reap();
    free(orphans.v);
    memset(&orphans, 0, sizeof orphans);
    ctx_set_signal_flag(NULL);
    probes_free();
    pthread_mutex_destroy(&d.mu);
    gen_unref(cur);
    redact_clear();
    instance_release(inst);
    log_msg(DSRC_LOG_NOTICE, NULL, NULL, "stopped");
    free(abs_path);
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* cli_daemon.c -- dsrc pools, dsrc health (through dsrcd); see cli.h */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/redact.h"
#include "conn/health.h"
#include "api/api.h"
#include "table.h"

/* How long dsrc waits for dsrcd's answer on the control socket. */
#define CLI_API_TIMEOUT_MS 10000
/* dsrcd answers a reload within 120 s */
#define RELOAD_API_TIMEOUT_MS 130000

/* ------------------------------------------------------------------------ */
/* pools / health                                                            */

/* JSON accessors that tolerate missing members. */
static json_int_t jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static double jnum(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *jtext(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "-";
}

/* Ask dsrcd: GET /v1/<what>[?source=NAME].  Returns DSRC_OK with *res, or
 * the failure in `e`. */
static dsrc_status ask_daemon(cli *c, const char *what, const char *source, json_t **res,
                              derr *e)
{
    char path[512];
    dsrc_status st;

    snprintf(path, sizeof path, "/v1/%s%s%s", what, source ? "?source=" : "",
             source ? source : "");
    st = api_client_call(c->cfg->control_socket, "GET", path, NULL, CLI_API_TIMEOUT_MS, res, e);
    if (st == DSRC_OK && !json_is_array(*res)) {
        json_decref(*res);
        *res = NULL;
        st = derr_set(e, DSRC_E_INTERNAL, "malformed answer from dsrcd");
    }
    return st;
}

static void pools_add(table *t, const json_t *src)
{
    const json_t *eps = json_object_get(src, "endpoints"), *ep;
    size_t i;

    json_array_foreach(eps, i, ep) {
        const json_t *po = json_object_get(ep, "pool"), *br = json_object_get(ep, "breaker");
        const json_t *w = json_object_get(po, "acquire_wait_ms");
        char tot[48], idle[24], act[24], wait[24], op[24], cl[24], to[24], fo[24], lat[80];
        snprintf(tot, sizeof tot, "%lld/%lld", (long long)jint(po, "total"),
                 (long long)jint(po, "max_size"));
        snprintf(idle, sizeof idle, "%lld", (long long)jint(po, "idle"));
        snprintf(act, sizeof act, "%lld", (long long)jint(po, "active"));
        snprintf(wait, sizeof wait, "%lld", (long long)jint(po, "waiting"));
        snprintf(op, sizeof op, "%lld", (long long)jint(po, "opened"));
        snprintf(cl, sizeof cl, "%lld", (long long)jint(po, "closed"));
        snprintf(to, sizeof to, "%lld", (long long)jint(po, "timeouts"));
        snprintf(fo, sizeof fo, "%lld", (long long)jint(po, "failed_opens"));
        snprintf(lat, sizeof lat, "%.2f/%.2f/%.2f", jnum(w, "p50"), jnum(w, "p95"),
                 jnum(w, "p99"));
        const char *row[] = {jtext(src, "source"), jtext(ep, "label"), jtext(ep, "role"),
                             jtext(br, "state"), tot, idle, act, wait, op, cl, to, fo, lat};
        table_add(t, row);
    }
}

int cli_cmd_pools(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("pools");
    int rc = 0, i;
    json_t *res = NULL, *src;
    derr e = {0};
    size_t k;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "expected at most one source name");
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (ask_daemon(c, "pools", argc - i == 1 ? argv[i] : NULL, &res, &e) != DSRC_OK) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        derr_clear(&e);
        return rc;
    }
    if (c->json) {
        cli_json_print(res);
        return CLI_EXIT_OK;
    }
    {
        const char *hdr[] = {"source", "endpoint", "role", "breaker", "total/max",
                             "idle", "active", "waiting", "opened", "closed",
                             "timeouts", "failed", "wait p50/p95/p99 ms"};
        table *t = table_new(13, hdr);
        for (k = 4; k < 13; k++)
            table_right(t, k);
        json_array_foreach(res, k, src)
            pools_add(t, src);
        if (table_rows(t))
            table_print(t, stdout);
        else
            printf("dsrcd serves no source\n");
        table_free(t);
    }
    json_decref(res);
    return CLI_EXIT_OK;
}

static void health_print(const json_t *rep)
{
    const json_t *eps = json_object_get(rep, "endpoints"), *ep, *recs, *r;
    json_t *storage = json_object_get(rep, "storage_bytes");
    size_t i;

    if (strcmp(jtext(rep, "status"), "stale") == 0)
        printf("%s: stale (the last probe, %.1f s ago, said %s)\n", jtext(rep, "source"),
               (double)jint(rep, "age_ms") / 1000.0, jtext(rep, "last_status"));
    else
        printf("%s: %s\n", jtext(rep, "source"), jtext(rep, "status"));
    json_array_foreach(eps, i, ep) {
        const json_t *lat = json_object_get(ep, "latency_ms");
        const json_t *po = json_object_get(ep, "pool"), *br = json_object_get(ep, "breaker");
        const char *err = json_string_value(json_object_get(ep, "last_error"));
        printf("  %s (%s): %s\n", jtext(ep, "label"), jtext(ep, "role"), jtext(ep, "status"));
        printf("    latency p50 %.2f ms, p95 %.2f ms; error rate %.1f%%; uptime %.1f%% "
               "(%lld probe(s))\n",
               jnum(lat, "p50"), jnum(lat, "p95"), 100.0 * jnum(ep, "error_rate"),
               100.0 * jnum(ep, "uptime"), (long long)jint(ep, "samples"));
        printf("    pool %lld/%lld open, %lld idle, %lld active, %lld waiting; breaker %s\n",
               (long long)jint(po, "total"), (long long)jint(po, "max_size"),
               (long long)jint(po, "idle"), (long long)jint(po, "active"),
               (long long)jint(po, "waiting"), jtext(br, "state"));
        if (json_is_number(json_object_get(ep, "server_cert_expiry_days")))
            printf("    server certificate: expires in %.0f day(s)\n",
                   floor(json_number_value(json_object_get(ep, "server_cert_expiry_days"))));
        if (err) {
            char *r2 = redact_dup(err);
            printf("    last error: %s\n", r2 ? r2 : "");
            free(r2);
        }
    }
    {
        const json_t *tls = json_object_get(rep, "tls");
        const json_t *ca = json_object_get(tls, "ca_expiry_days");
        const json_t *ce = json_object_get(tls, "cert_expiry_days");
        const char *terr = json_string_value(json_object_get(tls, "error"));
        if (json_is_number(ce))
            printf("  tls client certificate: expires in %.0f day(s)\n",
                   floor(json_number_value(ce)));
        if (json_is_number(ca))
            printf("  tls CA certificate: expires in %.0f day(s)\n",
                   floor(json_number_value(ca)));
        if (terr) {
            char *r2 = redact_dup(terr);
            printf("  tls files refused: %s\n", r2 ? r2 : "");
            free(r2);
        }
    }
    if (json_is_integer(storage)) {
        char sz[32];
        cli_fmt_size(sz, sizeof sz, (int64_t)json_integer_value(storage));
        printf("  storage: %s\n", sz);
    }
    recs = json_object_get(rep, "recommendations");
    json_array_foreach(recs, i, r) {
        char *r2 = redact_dup(json_string_value(r));
        printf("  recommendation: %s\n", r2 ? r2 : "");
        free(r2);
    }
}

/* Probe source s `probes` times from here; its report (JSON) or NULL. */
static json_t *health_local(cli *c, const registry_source *s, int probes)
{
    derr e = {0};
    router_source *r = router_new(s, NULL, &e);
    health_monitor *h;
    health_report rep;
    json_t *o = NULL;
    int k;

    if (!r) {
        cli_err_print(c, &e);
        derr_clear(&e);
        return NULL;
    }
    if ((h = health_new(r, NULL, NULL, NULL))) {
        const cfg_source *cs = s->cfg;
        tlswatch *tw = NULL;
        if ((cs->tls_ca || cs->tls_cert || cs->tls_key) &&
            (tw = tlswatch_new(cs->tls_ca, cs->tls_cert, cs->tls_key, cs->tls_key_passphrase))) {
            tlswatch_check(tw, time(NULL));
            health_set_tls(h, tlswatch_error(tw), tlswatch_days(tw, TLSW_CA),
                           tlswatch_days(tw, TLSW_CERT));
            tlswatch_free(tw);
        }
        for (k = 0; k < probes; k++)
            health_probe(h);
        if (health_report_get(h, &rep) == 0) {
            o = health_report_json(&rep);
            health_report_free(&rep);
        }
        health_free(h);
    }
    router_free(r);
    return o;
}

static int health_opt(cli *c, int opt, const char *arg, void *user)
{
    long long v;

    if (opt != 'n')
        return 0;
    if (cli_opt_int(c, "health", "--probes", arg, 1, 1000, &v) < 0)
        return -1;
    *(int *)user = (int)v;
    return 0;
}

int cli_cmd_health(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {"probes", required_argument, NULL, 'n'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("health");
    int rc = 0, i, probes = 3, local = 0;
    json_t *res = NULL, *rep;
    derr e = {0};
    size_t k;
    const char *name;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "hn:", longs, health_opt, &probes, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return cli_usage_error(c, cmd, "expected at most one source name");
    name = argc - i == 1 ? argv[i] : NULL;
    if ((rc = cli_load_config(c, 0)))
        return rc;
    if (ask_daemon(c, "health", name, &res, &e) != DSRC_OK) {
        if (e.status != DSRC_E_UNREACHABLE) {
            cli_err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
        if (!c->json)
            fprintf(stderr, "%s: %s; probing from here (%d probe(s) per endpoint)\n",
                    c->prog, e.msg, probes);
        derr_clear(&e);
        local = 1;
        cli_cancel_begin(c, -1, NULL); /* the probes call the plugins */
        res = json_array();
        if (name) {
            const registry_source *s = cli_need_source(c, name, &rc);
            if (!s) {
                json_decref(res);
                return rc;
            }
            if (!(rep = health_local(c, s, probes))) {
                json_decref(res);
                return CLI_EXIT_FAIL;
            }
            json_array_append_new(res, rep);
        } else {
            for (k = 0; k < c->cfg->n_sources; k++) {
                const registry_source *s = cli_valid_source(c, &c->cfg->sources[k]);
                if (!s)
                    continue;
                if ((rep = health_local(c, s, probes)))
                    json_array_append_new(res, rep);
                else
                    rc = CLI_EXIT_FAIL;
            }
        }
    }
    json_array_foreach(res, k, rep)
        if (strcmp(jtext(rep, "status"), "healthy") != 0)
            rc = CLI_EXIT_FAIL;
    if (c->json) {
        cli_json_print(res);
        return rc;
    }
    json_array_foreach(res, k, rep)
        health_print(rep);
    if (!json_array_size(res))
        printf("no source to report on\n");
    else if (!local)
        printf("(from dsrcd on %s)\n", c->cfg->control_socket);
    json_decref(res);
    return rc;
}

/* Print the diagnostics of a reload's answer ("errors" or "warnings":
 * [{"file","line","message"}]) as FILE:LINE: SEVERITY: MESSAGE on stderr. */
static void reload_print_diags(const json_t *list, const char *severity)
{
    const json_t *d;
    size_t k;

    json_array_foreach(list, k, d) {
        const char *file = json_string_value(json_object_get(d, "file"));
        json_int_t line = json_integer_value(json_object_get(d, "line"));
        const char *msg = json_string_value(json_object_get(d, "message"));

        if (file && line > 0)
            fprintf(stderr, "%s:%lld: %s: %s\n", file, (long long)line, severity, msg ? msg : "");
        else
            fprintf(stderr, "%s%s%s: %s\n", file ? file : "", file ? ": " : "", severity,
                    msg ? msg : "");
    }
}

/* dsrc reload: POST /v1/reload, the daemon's answer printed. */
int cli_cmd_reload(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {CLI_COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("reload");
    json_t *res = NULL, *problem = NULL;
    derr e = {0};
    int rc = 0, i;

    if ((i = cli_parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (i < argc)
        return cli_usage_error(c, cmd, "unexpected argument");
    /* Only the control socket is needed: the daemon checks the files. */
    if (!c->conf_path)
        c->conf_path = getenv("DSRC_CONFIG");
    if (!c->conf_path)
        c->conf_path = CLI_DEFAULT_CONF;
    if (!(c->cfg = cfg_load(c->conf_path, &c->diags))) {
        diag_print(&c->diags, stderr);
        if (!c->diags.n)
            fprintf(stderr, "%s: cannot read %s\n", c->prog, c->conf_path);
        return CLI_EXIT_CONFIG;
    }
    if (api_client_call_problem(c->cfg->control_socket, "POST", "/v1/reload", NULL,
                                RELOAD_API_TIMEOUT_MS, &res, &problem, &e) == DSRC_OK) {
        if (c->json) {
            cli_json_print(res);
        } else {
            reload_print_diags(json_object_get(res, "warnings"), "warning");
            printf("reloaded: %lld source(s)\n",
                   (long long)json_integer_value(json_object_get(res, "sources")));
            json_decref(res);
        }
        return CLI_EXIT_OK;
    }
    /* not running, or no answer in time: trying again later may work */
    rc = e.status == DSRC_E_INVALID_CONFIG ? CLI_EXIT_CONFIG
         : e.status == DSRC_E_UNREACHABLE || e.status == DSRC_E_TIMEOUT ? CLI_EXIT_TEMPFAIL
         : cli_fail_status(&e);
    if (c->json && problem) {
        cli_json_print(problem);
    } else {
        reload_print_diags(json_object_get(problem, "errors"), "error");
        json_decref(problem);
        cli_err_print(c, &e);
    }
    derr_clear(&e);
    return rc;
}

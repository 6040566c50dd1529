/* SPDX-License-Identifier: Apache-2.0 */
/* cli_query.c -- dsrc query: one read-only statement; see cli.h */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output/fetch.h"
#include "plugin/source.h"
#include "store/audit.h"

/* The statement's time limit when --timeout is not given. */
#define CLI_QUERY_TIMEOUT_S 300

/* How much of a query's text the audit trail keeps. */
#define CLI_QUERY_AUDIT_TEXT 400

/* Record the query in the audit trail: its result, rows, bytes, where it
 * went, the hash of its parameters (never their values) and its text
 * (shortened).  A failure to record is a warning only. */
static void query_audit(cli *c, const char *source, const fetch_opts *o, dsrc_status st,
                        const fetch_report *rep)
{
    store_audit_rec r = {.action = "query", .source = source, .rows = -1, .bytes = -1};
    char result[64], detail[CLI_QUERY_AUDIT_TEXT + 256], hash[65];
    size_t n = strlen(o->query);
    int cut = n > CLI_QUERY_AUDIT_TEXT;

    fetch_params_sha256(o->params, o->n_params, hash);
    if (st == DSRC_OK) {
        r.result = "ok";
        r.rows = (int64_t)rep->rows;
        r.bytes = (int64_t)rep->bytes;
    } else {
        snprintf(result, sizeof result, "error: %s",
                 cli_interrupted() ? "interrupted" : error_status_name(st));
        r.result = result;
    }
    snprintf(detail, sizeof detail, "%s -> %s; %zu param%s, sha256 %.16s; %.*s%s",
             st == DSRC_OK && rep->format ? rep->format : o->format ? o->format : "csv",
             st == DSRC_OK ? (rep->path ? rep->path : "stdout")
                           : (o->output && strcmp(o->output, "-") ? o->output : "stdout"),
             o->n_params, o->n_params == 1 ? "" : "s", hash,
             (int)(cut ? CLI_QUERY_AUDIT_TEXT : n), o->query, cut ? "..." : "");
    r.detail = detail;
    (void)cli_audit_record(c->cfg, c->prog, &r);
}

typedef struct query_args {
    fetch_opts o;
    const char **params;           /* each --param / --null-param, in order */
    size_t n_params;
    const char **mask_args;        /* each --mask, in order                */
    size_t n_mask_args;
    int quiet;
    double grace;                  /* --grace seconds; < 0: shutdown_grace */
} query_args;

static int query_push(const char ***v, size_t *n, const char *s)
{
    const char **p = realloc(*v, (*n + 1) * sizeof *p);

    if (!p)
        return -1;
    p[(*n)++] = s;
    *v = p;
    return 0;
}

static int query_opt(cli *c, int opt, const char *arg, void *user)
{
    query_args *qa = user;
    char *end;
    double d;

    switch (opt) {
    case 'f':
        if (strcmp(arg, "csv") && strcmp(arg, "jsonl")) {
            fprintf(stderr, "%s query: unknown format '%s' (use csv or jsonl)\n", c->prog, arg);
            return -1;
        }
        qa->o.format = arg;
        break;
    case 'n':
        errno = 0;
        qa->o.limit = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || qa->o.limit < 0) {
            fprintf(stderr, "%s query: --limit needs a non-negative integer, got '%s'\n",
                    c->prog, arg);
            return -1;
        }
        break;
    case 'p':
        return query_push(&qa->params, &qa->n_params, arg);
    case 'N':
        return query_push(&qa->params, &qa->n_params, NULL);
    case 't':
        errno = 0;
        d = strtod(arg, &end);
        if (errno || end == arg || *end || !(d >= 0 && d <= 86400 * 7)) {
            fprintf(stderr, "%s query: --timeout needs a number of seconds from 0 (none) to "
                            "604800, got '%s'\n", c->prog, arg);
            return -1;
        }
        qa->o.timeout_ms = (int64_t)(d * 1000 + 0.999);
        break;
    case 'o':
        qa->o.output = arg;
        if (strcmp(arg, "-") == 0)
            cli_json_stdout_taken();
        break;
    case 'q':
        qa->quiet = 1;
        break;
    case 'm':
        return query_push(&qa->mask_args, &qa->n_mask_args, arg);
    case 'g':
        errno = 0;
        qa->grace = strtod(arg, &end);
        if (errno || end == arg || *end || !(qa->grace >= 0 && qa->grace <= 86400)) {
            fprintf(stderr, "%s query: --grace needs a number of seconds from 0 to 86400, "
                            "got '%s'\n", c->prog, arg);
            return -1;
        }
        break;
    }
    return 0;
}

int cli_cmd_query(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        CLI_COMMON_LONGS,
        {"param", required_argument, NULL, 'p'},
        {"null-param", no_argument, NULL, 'N'},
        {"format", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"grace", required_argument, NULL, 'g'},
        {"mask", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("query");
    query_args qa;
    dsrc_status st;
    int rc = 0, i;
    const registry_source *s;
    router_lease l = {0};
    mask_rule *mask = NULL;
    size_t n_mask = 0, k;
    fetch_report rep;
    derr e = {0};

    memset(&qa, 0, sizeof qa);
    qa.o.limit = -1;
    qa.o.timeout_ms = CLI_QUERY_TIMEOUT_S * 1000;
    qa.o.output = "-";
    qa.grace = -1;
    if ((i = cli_parse_opts(c, cmd, argc, argv, "hp:Nf:n:t:o:qg:m:", longs, query_opt, &qa,
                            &rc)) < 0)
        goto done;
    if (strcmp(qa.o.output, "-") == 0)
        cli_json_stdout_taken(); /* the data: an error object goes to stderr */
    if (argc - i != 2) {
        rc = cli_usage_error(c, cmd, "expected a source name and a statement");
        goto done;
    }
    if (!*argv[i + 1]) {
        rc = cli_usage_error(c, cmd, "the statement is empty");
        goto done;
    }
    if ((rc = cli_load_config(c, 0)) || !(s = cli_need_source(c, argv[i], &rc)))
        goto done;
    if (!(loader_driver(s->plugin)->capabilities & DSRC_CAP_QUERY)) {
        fprintf(stderr, "%s query: source '%s' (plugin %s) does not run queries\n", c->prog,
                s->cfg->name, loader_name(s->plugin));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    qa.o.query = argv[i + 1];
    qa.o.params = qa.params;
    qa.o.n_params = qa.n_params;
    for (k = 0; k < qa.n_mask_args; k++) {
        char *why = NULL;
        if (mask_parse_option(qa.mask_args[k], &mask, &n_mask, &why) != 0) {
            if (why)
                fprintf(stderr, "%s query: --mask: %s\n", c->prog, why);
            free(why);
            rc = why ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
            goto done;
        }
    }
    qa.o.mask = mask;
    qa.o.n_mask = n_mask;
    qa.o.progress = !qa.quiet && !c->json;
    qa.o.progress_after = 1.0;

    /* Ctrl-C cancels the statement in the backend; an unfinished file is
     * removed. */
    cli_cancel_begin(c, qa.grace, "nothing was written");
    if ((rc = cli_lease_source(c, argv[i], "query", &l)))
        goto done;
    qa.o.endpoint = l.label;
    qa.o.node = c->cfg->node_name;
    st = fetch_run(c->cfg, l.conn, &qa.o, &rep, &e);
    query_audit(c, s->cfg->name, &qa.o, st, &rep);
    if (st != DSRC_OK) {
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
    } else if (c->json) {
        json_t *o = json_object();
        char hash[65];
        fetch_params_sha256(qa.o.params, qa.o.n_params, hash);
        json_object_set_new(o, "source", cli_jstr(s->cfg->name));
        json_object_set_new(o, "format", cli_jstr(rep.format));
        json_object_set_new(o, "file", cli_jstr(rep.path));
        json_object_set_new(o, "manifest", cli_jstr(rep.manifest_path));
        json_object_set_new(o, "rows", json_integer((json_int_t)rep.rows));
        json_object_set_new(o, "bytes", json_integer((json_int_t)rep.bytes));
        json_object_set_new(o, "sha256", cli_jstr(rep.sha256));
        json_object_set_new(o, "params_sha256", cli_jstr(hash));
        json_object_set_new(o, "seconds", json_real(rep.seconds));
        json_object_set_new(o, "endpoint", cli_jstr(l.label));
        if (rep.path) {
            cli_json_print(o);
        } else {
            char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
            if (js)
                fprintf(stderr, "%s\n", js);
            free(js);
            json_decref(o);
        }
    } else if (!qa.quiet && rep.path) {
        printf("query: %" PRIu64 " rows, %" PRIu64 " bytes -> %s\n", rep.rows, rep.bytes,
               rep.path);
        printf("manifest: %s\nsha256: %s\nendpoint: %s\n", rep.manifest_path, rep.sha256,
               l.label);
    }
    fetch_report_free(&rep);
    cli_lease_done(c, &l, st == DSRC_OK ? NULL : &e);
    derr_clear(&e);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "%s: cannot write standard output: %s\n", c->prog, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
done:
    mask_rules_free(mask, n_mask);
    free(qa.params);
    free(qa.mask_args);
    return rc;
}

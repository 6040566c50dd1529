/* SPDX-License-Identifier: Apache-2.0 */
/* cli_fetch.c -- dsrc fetch; see cli.h */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output/fetch.h"
#include "output/manifest.h"
#include "plugin/source.h"
#include "store/audit.h"
#include "store/store.h"

/* The lease of an in-process incremental run.  On this host a run whose
 * process is gone is resolved at once whatever its lease; the lease is what
 * a store shared by several hosts goes by. */
#define CLI_RUN_LEASE_MS (6 * 3600 * 1000)

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

/* Record the fetch of `item` in the audit trail: its result, rows, bytes,
 * format and where it went.  A failure to record is a warning only: the
 * data has landed (or the fetch failed for its own reason). */
static void fetch_audit(cli *c, const char *source, const char *item, dsrc_status st,
                        const fetch_report *rep)
{
    store_audit_rec r = {.action = "fetch", .source = source, .item = item,
                         .rows = -1, .bytes = -1};
    char result[64], detail[512];

    if (st == DSRC_OK) {
        r.result = "ok";
        r.rows = (int64_t)rep->rows;
        r.bytes = (int64_t)rep->bytes;
        snprintf(detail, sizeof detail, "%s -> %s", rep->format ? rep->format : "?",
                 rep->path ? rep->path : "stdout");
        r.detail = detail;
    } else {
        snprintf(result, sizeof result, "error: %s",
                 cli_interrupted() ? "interrupted" : error_status_name(st));
        r.result = result;
    }
    (void)cli_audit_record(c->cfg, c->prog, &r);
}

typedef struct fetch_args {
    fetch_opts o;
    const char *columns_arg;
    const char *limit_arg;
    int quiet;
    int format_set, limit_set, columns_set;
    double grace;                  /* --grace seconds; < 0: shutdown_grace */
    const char **mask_args;        /* each --mask, in order                */
    size_t n_mask_args;
} fetch_args;

static int fetch_opt(cli *c, int opt, const char *arg, void *user)
{
    fetch_args *fa = user;
    char *end;

    switch (opt) {
    case 'f':
        if (strcmp(arg, "csv") && strcmp(arg, "jsonl") && strcmp(arg, "raw")) {
            fprintf(stderr, "%s fetch: unknown format '%s' (use csv, jsonl or raw)\n", c->prog,
                    arg);
            return -1;
        }
        fa->o.format = arg;
        fa->format_set = 1;
        break;
    case 'c':
        fa->columns_arg = arg;
        fa->columns_set = 1;
        break;
    case 'n':
        errno = 0;
        fa->o.limit = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || fa->o.limit < 0) {
            fprintf(stderr, "%s fetch: --limit needs a non-negative integer, got '%s'\n",
                    c->prog, arg);
            return -1;
        }
        fa->limit_set = 1;
        break;
    case 'k':
        fa->o.cursor_field = arg;
        break;
    case 'a':
        fa->o.cursor_value = arg;
        break;
    case 'i':
        fa->o.incremental = 1;
        break;
    case 'o':
        fa->o.output = arg;
        if (strcmp(arg, "-") == 0)
            cli_json_stdout_taken(); /* the data: an error object goes to stderr */
        break;
    case 'q':
        fa->quiet = 1;
        break;
    case 'm': {
        const char **v = realloc(fa->mask_args, (fa->n_mask_args + 1) * sizeof *v);
        if (!v)
            return -1;
        v[fa->n_mask_args++] = arg;
        fa->mask_args = v;
        break;
    }
    case 'g':
        errno = 0;
        fa->grace = strtod(arg, &end);
        if (errno || end == arg || *end || !(fa->grace >= 0 && fa->grace <= 86400)) {
            fprintf(stderr, "%s fetch: --grace needs a number of seconds from 0 to 86400, "
                            "got '%s'\n", c->prog, arg);
            return -1;
        }
        break;
    }
    return 0;
}

int cli_cmd_fetch(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        CLI_COMMON_LONGS,
        {"format", required_argument, NULL, 'f'},
        {"columns", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'n'},
        {"cursor-field", required_argument, NULL, 'k'},
        {"after", required_argument, NULL, 'a'},
        {"incremental", no_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"grace", required_argument, NULL, 'g'},
        {"mask", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = cli_find_cmd("fetch");
    fetch_args fa;
    dsrc_status st;
    int rc = 0, i;
    const registry_source *s;
    router_lease l = {0};
    char **cols = NULL;
    mask_rule *mask = NULL;
    size_t n_mask = 0;
    fetch_report rep;
    derr e = {0};
    size_t k;

    memset(&fa, 0, sizeof fa);
    fa.o.limit = -1;
    fa.grace = -1;
    if ((i = cli_parse_opts(c, cmd, argc, argv, "hf:c:n:k:a:io:qg:m:", longs, fetch_opt, &fa, &rc)) < 0) {
        free(fa.mask_args);
        return rc;
    }
    if (argc - i != 2) {
        free(fa.mask_args);
        return cli_usage_error(c, cmd, "expected a source name and an item");
    }
    if ((rc = cli_load_config(c, 0)) || !(s = cli_need_source(c, argv[i], &rc))) {
        free(fa.mask_args);
        return rc;
    }
    fa.o.item = argv[i + 1];

    /* A fetch rule for this item supplies defaults. */
    for (k = 0; k < s->cfg->n_fetch; k++) {
        const cfg_fetch_rule *r = &s->cfg->fetch[k];
        if (strcmp(r->item, fa.o.item) != 0)
            continue;
        if (!fa.format_set && r->format)
            fa.o.format = r->format;
        if (!fa.limit_set && r->limit >= 0)
            fa.o.limit = r->limit;
        if (!fa.columns_set && r->n_columns) {
            fa.o.columns = (const char *const *)r->columns;
            fa.o.n_columns = r->n_columns;
        }
        if (!fa.o.cursor_field && r->cursor_field && (fa.o.incremental || fa.o.cursor_value))
            fa.o.cursor_field = r->cursor_field;
        for (size_t m = 0; m < r->n_mask; m++) {
            char *why = NULL;
            if (mask_rules_add(&mask, &n_mask, r->mask[m].column,
                               mask_mode_name(r->mask[m].mode, r->mask[m].unit), &why) != 0) {
                fprintf(stderr, "%s fetch: %s\n", c->prog, why ? why : "out of memory");
                free(why);
                mask_rules_free(mask, n_mask);
                free(fa.mask_args);
                return CLI_EXIT_FAIL;
            }
        }
        break;
    }
    for (k = 0; k < fa.n_mask_args; k++) {
        char *why = NULL;
        if (mask_parse_option(fa.mask_args[k], &mask, &n_mask, &why) != 0) {
            if (why)
                fprintf(stderr, "%s fetch: --mask: %s\n", c->prog, why);
            free(why);
            mask_rules_free(mask, n_mask);
            free(fa.mask_args);
            return why ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        }
    }
    free(fa.mask_args);
    fa.mask_args = NULL;
    fa.o.mask = mask;
    fa.o.n_mask = n_mask;
    if ((fa.o.incremental || fa.o.cursor_value) && !fa.o.cursor_field) {
        fprintf(stderr, "%s fetch: %s needs a cursor field (--cursor-field, or cursor_field "
                        "in a fetch rule for '%s')\n", c->prog,
                fa.o.incremental ? "--incremental" : "--after", fa.o.item);
        mask_rules_free(mask, n_mask);
        return CLI_EXIT_USAGE;
    }
    if (fa.columns_arg) {
        if (!(cols = fetch_split_columns(fa.columns_arg, &fa.o.n_columns))) {
            mask_rules_free(mask, n_mask);
            return CLI_EXIT_FAIL;
        }
        if (!fa.o.n_columns) {
            free(cols);
            mask_rules_free(mask, n_mask);
            return cli_usage_error(c, cmd, "--columns needs at least one column name");
        }
        fa.o.columns = (const char *const *)cols;
    }
    fa.o.progress = !fa.quiet && !c->json;
    fa.o.progress_after = 1.0;
    if (getenv("DSRC_PROGRESS_AFTER")) {
        char *end;
        double d = strtod(getenv("DSRC_PROGRESS_AFTER"), &end);
        if (end != getenv("DSRC_PROGRESS_AFTER") && !*end && d >= 0)
            fa.o.progress_after = d;
    }

    /* Ctrl-C stops the fetch cleanly, during open() too: the plugin is
     * cancelled, the partial file removed; a plugin that does not stop has
     * the grace period. */
    cli_cancel_begin(c, fa.grace, "nothing was written");
    if ((rc = cli_lease_source(c, argv[i], "fetch", &l))) {
        free(cols);
        mask_rules_free(mask, n_mask);
        return rc;
    }
    fa.o.endpoint = l.label;
    fa.o.node = c->cfg->node_name;
    if (fa.o.incremental) {
        /* An incremental fetch is a run in the state store: one at a time
         * per item, whoever runs it (this command, another, dsrcd). */
        store_run_spec spec = {.source = s->cfg->name, .kind = RUN_FETCH, .item = fa.o.item,
                               .trigger = RUN_TRIGGER_CLI, .cursor_field = fa.o.cursor_field};
        if (!(fa.o.store = store_open_cfg(c->cfg, &e)) ||
            store_run_begin(fa.o.store, &spec, l.label, CLI_RUN_LEASE_MS, &fa.o.run_id,
                            &e) != DSRC_OK) {
            cli_err_print(c, &e);
            rc = cli_fail_status(&e);
            store_close(fa.o.store);
            cli_lease_done(c, &l, NULL);
            derr_clear(&e);
            free(cols);
            mask_rules_free(mask, n_mask);
            return rc;
        }
    }
    st = fetch_run(c->cfg, l.conn, &fa.o, &rep, &e);
    if (st != DSRC_OK && fa.o.store) {
        derr e2 = {0};
        if (store_run_end(fa.o.store, fa.o.run_id,
                          cli_interrupted() || st == DSRC_E_CANCELLED ? RUN_CANCELLED : RUN_FAILED, &e,
                          &e2) != DSRC_OK)
            cli_err_print(c, &e2);
        derr_clear(&e2);
    }
    store_close(fa.o.store);
    fetch_audit(c, s->cfg->name, fa.o.item, st, &rep);
    if (st != DSRC_OK) {
        cli_err_print(c, &e); /* not after a signal: main() says interrupted */
        rc = cli_fail_status(&e);
    } else if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "source", cli_jstr(s->cfg->name));
        json_object_set_new(o, "item", cli_jstr(fa.o.item));
        json_object_set_new(o, "format", cli_jstr(rep.format));
        json_object_set_new(o, "file", cli_jstr(rep.path));
        json_object_set_new(o, "manifest", cli_jstr(rep.manifest_path));
        json_object_set_new(o, "rows", json_integer((json_int_t)rep.rows));
        json_object_set_new(o, "bytes", json_integer((json_int_t)rep.bytes));
        json_object_set_new(o, "sha256", cli_jstr(rep.sha256));
        json_object_set_new(o, "cursor_from", cli_jstr(rep.cursor_from));
        json_object_set_new(o, "cursor_to", cli_jstr(rep.cursor_to));
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
    } else if (!fa.quiet && rep.path) {
        printf("%s: %" PRIu64 " rows, %" PRIu64 " bytes -> %s\n", fa.o.item, rep.rows,
               rep.bytes, rep.path);
        printf("manifest: %s\nsha256: %s\nendpoint: %s\n", rep.manifest_path, rep.sha256,
               l.label);
        if (rep.cursor_to)
            printf("cursor %s: %s -> %s%s\n", fa.o.cursor_field,
                   rep.cursor_from ? rep.cursor_from : "(start)", rep.cursor_to,
                   fa.o.incremental ? " (committed)" : "");
    }
    fetch_report_free(&rep);
    cli_lease_done(c, &l, &e);
    derr_clear(&e);
    free(cols);
    mask_rules_free(mask, n_mask);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "%s: cannot write standard output: %s\n", c->prog, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}

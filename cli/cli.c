/* SPDX-License-Identifier: Apache-2.0 */
/* cli.c -- the helpers the commands share; see cli.h */
#include <config.h>

#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "base/log.h"
#include "base/redact.h"
#include "catalog/catalog.h"
#include "catalog/meta_json.h"

/* ------------------------------------------------------------------------ */
/* Output helpers                                                            */

void cli_json_print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

void cli_err_print(const cli *c, const derr *e)
{
    fprintf(stderr, "%s: %s\n", c->prog, e->msg ? e->msg : error_status_name(e->status));
}

json_t *cli_jstr(const char *s)
{
    return meta_jstr(s);
}

const char *cli_kind_name(dsrc_item_kind k)
{
    return catalog_kind_name(k);
}

const char *cli_opt_type_name(dsrc_option_type t)
{
    switch (t) {
    case DSRC_OPT_STRING: return "string";
    case DSRC_OPT_INT: return "int";
    case DSRC_OPT_BOOL: return "bool";
    case DSRC_OPT_DURATION: return "duration";
    case DSRC_OPT_PATH: return "path";
    case DSRC_OPT_ENUM: return "enum";
    case DSRC_OPT_DOUBLE: return "double";
    }
    return "string";
}

void cli_fmt_i64(char *buf, size_t n, int64_t v, int estimated)
{
    if (v < 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%s%" PRId64, estimated ? "~" : "", v);
}

void cli_fmt_size(char *buf, size_t n, int64_t v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double d = (double)v;
    int i = 0;

    if (v < 0) {
        snprintf(buf, n, "-");
        return;
    }
    while (d >= 1024 && i < 5) {
        d /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", d, u[i]);
}

void cli_fmt_time(char *buf, size_t n, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t < 0 || !gmtime_r(&tt, &tm)) {
        snprintf(buf, n, "-");
        return;
    }
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cli_caps_string(uint32_t caps, char *buf, size_t n)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {DSRC_CAP_CANCEL, "cancel"},   {DSRC_CAP_CONN_THREADSAFE, "threadsafe"},
        {DSRC_CAP_DISCOVER, "discover"}, {DSRC_CAP_CURSOR, "cursor"},
        {DSRC_CAP_CSV, "csv"},         {DSRC_CAP_RAW, "raw"},
        {DSRC_CAP_REPLICAS, "replicas"}, {DSRC_CAP_STORAGE, "storage"},
    };
    size_t i, len = 0;
    buf[0] = '\0';
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (caps & names[i].bit) {
            int w = snprintf(buf + len, n - len, "%s%s", len ? "," : "", names[i].name);
            if (w < 0 || (size_t)w >= n - len)
                break;
            len += (size_t)w;
        }
    if (!len)
        snprintf(buf, n, "-");
}

json_t *cli_caps_json(uint32_t caps)
{
    char buf[128], *save = NULL, *tok;
    json_t *a = json_array();
    cli_caps_string(caps, buf, sizeof buf);
    if (strcmp(buf, "-") == 0)
        return a;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        json_array_append_new(a, cli_jstr(tok));
    return a;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/* Load the config, the plugins and the registry.  Returns 0 or an exit
 * status (errors printed). */
int cli_load_config(cli *c, int allow_missing)
{
    size_t i;

    if (!c->conf_path)
        c->conf_path = getenv("DSRC_CONFIG");
    if (!c->conf_path)
        c->conf_path = CLI_DEFAULT_CONF;
    if (allow_missing && !c->conf_explicit && access(c->conf_path, F_OK) != 0) {
        const char *dirs[] = {DSRC_PLUGINDIR};
        c->plugins = loader_new(dirs, 1);
        return c->plugins ? 0 : CLI_EXIT_FAIL;
    }
    c->cfg = cfg_load(c->conf_path, &c->diags);
    if (!c->cfg) {
        diag_print(&c->diags, stderr);
        if (!c->diags.n)
            fprintf(stderr, "%s: cannot read %s\n", c->prog, c->conf_path);
        return CLI_EXIT_CONFIG;
    }
    if (c->cfg->log_level && !c->log_forced)
        log_set_level(c->cfg->log_level < DSRC_LOG_WARNING ? c->cfg->log_level
                                                           : DSRC_LOG_WARNING);
    c->plugins = loader_new((const char *const *)c->cfg->plugin_dirs, c->cfg->n_plugin_dirs);
    if (!c->plugins)
        return CLI_EXIT_FAIL;
    c->reg = registry_build(c->cfg, c->plugins, &c->diags);
    if (!c->reg)
        return CLI_EXIT_FAIL;
    /* Errors in the daemon file itself stop every command. */
    for (i = 0; i < c->diags.n; i++)
        if (c->diags.v[i].severity == DIAG_ERROR && c->diags.v[i].file &&
            strcmp(c->diags.v[i].file, c->cfg->path) == 0) {
            diag_print(&c->diags, stderr);
            return CLI_EXIT_CONFIG;
        }
    return 0;
}

/* 1 when the file of source cs has a configuration error. */
static int source_has_errors(const cli *c, const cfg_source *cs)
{
    size_t i;
    for (i = 0; cs && i < c->diags.n; i++)
        if (c->diags.v[i].severity == DIAG_ERROR && c->diags.v[i].file &&
            strcmp(c->diags.v[i].file, cs->file) == 0)
            return 1;
    return 0;
}

/* The registered source of cs, unless its file has errors. */
const registry_source *cli_valid_source(const cli *c, const cfg_source *cs)
{
    return source_has_errors(c, cs) ? NULL : registry_find(c->reg, cs->name);
}

/* The valid source NAME, or NULL with the reason printed and *rc set. */
const registry_source *cli_need_source(cli *c, const char *name, int *rc)
{
    const cfg_source *cs = cfg_find_source(c->cfg, name);
    /* A source whose own file has an error is not used, even if the
     * registry could build it. */
    const registry_source *s = cs ? cli_valid_source(c, cs) : NULL;
    size_t i;

    if (s && c->warned)
        return s; /* the warnings below are printed once */
    if (s) {
        c->warned = 1;
        for (i = 0; cs && i < c->diags.n; i++)
            if (c->diags.v[i].severity == DIAG_WARNING && c->diags.v[i].file &&
                strcmp(c->diags.v[i].file, cs->file) == 0)
                fprintf(stderr, "%s:%d: warning: %s\n", c->diags.v[i].file,
                        c->diags.v[i].line, c->diags.v[i].msg);
        if (c->diags.n_errors)
            fprintf(stderr,
                    "%s: warning: the configuration has %zu error(s) in other sources; "
                    "run '%s check-config'\n", c->prog, c->diags.n_errors, c->prog);
        return s;
    }
    if (!cs) {
        fprintf(stderr, "%s: no source named '%s' in %s (see '%s sources')\n", c->prog,
                name, c->cfg->sources_dir, c->prog);
        *rc = CLI_EXIT_FAIL;
        return NULL;
    }
    if (!cs->enabled) {
        fprintf(stderr, "%s: source '%s' is disabled (%s:%d)\n", c->prog, name, cs->file,
                cs->line);
        *rc = CLI_EXIT_FAIL;
        return NULL;
    }
    for (i = 0; i < c->diags.n; i++)
        if (c->diags.v[i].file && strcmp(c->diags.v[i].file, cs->file) == 0) {
            const diag *d = &c->diags.v[i];
            fprintf(stderr, "%s:%d: %s: %s\n", d->file, d->line,
                    d->severity == DIAG_ERROR ? "error" : "warning", d->msg);
        }
    fprintf(stderr, "%s: source '%s' is not valid: fix the errors above\n", c->prog, name);
    *rc = CLI_EXIT_CONFIG;
    return NULL;
}

/* Borrow a connection to source NAME for operation `op` through the
 * source's router (c->rt): the operation's intent and the source's
 * read_policy choose the endpoint, with failover.  Returns 0 with *l
 * filled (give it back with cli_lease_done()) or an exit status (printed). */
/* The exit status of a failed operation: 75 (EX_TEMPFAIL) when trying again
 * later may succeed (unreachable, timed out, throttled, a dropped
 * connection), 1 otherwise. */
int cli_fail_status(const derr *e)
{
    return e && e->retryable ? CLI_EXIT_TEMPFAIL : CLI_EXIT_FAIL;
}

int cli_lease_source(cli *c, const char *name, const char *op, router_lease *l)
{
    return cli_lease_source_why(c, name, op, l, NULL);
}

int cli_lease_source_why(cli *c, const char *name, const char *op, router_lease *l, derr *why)
{
    int rc = CLI_EXIT_OK;
    const registry_source *s = cli_need_source(c, name, &rc);
    derr e = {0};

    if (!s)
        return rc;
    if (!(c->rt = router_new(s, NULL, &e)) ||
        router_acquire(c->rt, router_intent_for(op), op, l, &e) != DSRC_OK) {
        if (e.status == DSRC_OK)
            derr_set(&e, DSRC_E_INTERNAL, "out of memory");
        cli_err_print(c, &e);
        rc = cli_fail_status(&e);
        if (why)
            *why = e;
        else
            derr_clear(&e);
        return rc;
    }
    log_msg(DSRC_LOG_INFO, s->cfg->name, NULL, "%s served by %s", op, l->label);
    return CLI_EXIT_OK;
}

/* Give a lease back with the operation's outcome (e NULL: success). */
void cli_lease_done(cli *c, router_lease *l, const derr *e)
{
    if (c->rt && l->conn) {
        router_release(c->rt, l, e && e->status != DSRC_OK ? e : NULL);
        l->conn = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Option parsing helpers                                                    */

int cli_parse_opts(cli *c, const cli_cmd *cmd, int argc, char **argv,
                      const char *shorts, const struct option *longs, cli_opt_fn fn,
                      void *user, int *rc)
{
    int opt;

    optind = 0; /* glibc: 0 also resets the state of the previous parse */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            printf("usage: %s %s\n\n%s\n", c->prog, cmd->usage, cmd->help);
            *rc = CLI_EXIT_OK;
            return -1;
        }
        if (opt == CLI_OPT_JSON) {
            c->json = 1;
            continue;
        }
        if (opt == '?' || opt == ':') {
            if (optopt && optopt < 256)
                fprintf(stderr, "%s %s: %s option '-%c'\n", c->prog, cmd->name,
                        opt == ':' ? "missing argument for" : "unknown", optopt);
            else
                fprintf(stderr, "%s %s: unknown option or missing argument: '%s'\n", c->prog,
                        cmd->name, argv[optind - 1]);
            fprintf(stderr, "usage: %s %s\n", c->prog, cmd->usage);
            *rc = CLI_EXIT_USAGE;
            return -1;
        }
        if (!fn || fn(c, opt, optarg, user) < 0) {
            *rc = CLI_EXIT_USAGE;
            return -1;
        }
    }
    return optind;
}

int cli_opt_int(const cli *c, const char *cmd, const char *opt, const char *arg,
                long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "%s %s: %s needs a whole number from %lld to %lld, not '%s'\n",
                c->prog, cmd, opt, min, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_usage_error(cli *c, const cli_cmd *cmd, const char *what)
{
    fprintf(stderr, "%s %s: %s\nusage: %s %s\n", c->prog, cmd->name, what, c->prog,
            cmd->usage);
    return CLI_EXIT_USAGE;
}

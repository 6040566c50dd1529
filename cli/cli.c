/* SPDX-License-Identifier: Apache-2.0 */
/* cli.c -- the helpers the commands share; see cli.h */
#include <config.h>

#include <inttypes.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isolate/isolate.h"
#include "cli.h"
#include "base/log.h"
#include "base/nearest.h"
#include "base/redact.h"
#include "catalog/catalog.h"
#include "catalog/meta_json.h"

/* ------------------------------------------------------------------------ */
/* Output helpers                                                            */

/* What the run printed on stdout and the first error it noted. */
static int json_started, json_stdout_taken;
static json_t *noted;

void cli_json_started(void) { json_started = 1; }
void cli_json_stdout_taken(void) { json_stdout_taken = 1; }

void cli_json_print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
        json_started = 1;
    }
    json_decref(j);
}

void cli_note(const char *status, const char *msg, const derr *e)
{
    if (noted)
        return;
    noted = json_object();
    json_object_set_new(noted, "status", cli_jstr(status ? status : "failed"));
    json_object_set_new(noted, "message", cli_jstr(msg));
    json_object_set_new(noted, "retryable", json_boolean(e && e->retryable));
    if (e && e->code[0])
        json_object_set_new(noted, "code", cli_jstr(e->code));
}

void cli_err_print(const cli *c, const derr *e)
{
    const char *msg = e->msg ? e->msg : error_status_name(e->status);

    if (cli_interrupted())
        return; /* the interruption is the error (cli_interrupted_exit()) */
    cli_note(error_status_name(e->status), msg, e);
    /* printed once: not again after a log line said it, and a log line
     * that would say it later is kept off stderr */
    if (!log_recent(msg))
        fprintf(stderr, "%s: %s\n", c->prog, msg);
    log_suppress(msg);
}

json_t *cli_derr_json(const derr *e, int exit)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", cli_jstr(error_status_name(e->status)));
    json_object_set_new(o, "message", cli_jstr(e->msg ? e->msg : error_status_name(e->status)));
    json_object_set_new(o, "exit", json_integer(exit));
    json_object_set_new(o, "retryable", json_boolean(e->retryable));
    if (e->code[0])
        json_object_set_new(o, "code", cli_jstr(e->code));
    return o;
}

int cli_error(const cli *c, int exit, const char *status, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    fprintf(stderr, "%s: %s\n", c->prog, msg ? msg : "out of memory");
    cli_note(status, msg ? msg : "out of memory", NULL);
    free(msg);
    return exit;
}

json_t *cli_error_json(const char *command, int exit)
{
    json_t *o = noted ? json_deep_copy(noted) : json_object();
    const char *st = exit == CLI_EXIT_USAGE        ? "usage"
                     : exit == CLI_EXIT_CONFIG     ? "config"
                     : exit == CLI_EXIT_TEMPFAIL   ? "unavailable"
                     : exit == CLI_EXIT_INTERRUPTED ? "cancelled"
                                                   : "failed";

    if (!json_object_get(o, "status"))
        json_object_set_new(o, "status", json_string(st));
    if (!json_object_get(o, "message"))
        json_object_set_new(o, "message", json_string("the command failed (see stderr)"));
    json_object_set_new(o, "exit", json_integer(exit));
    json_object_set_new(o, "command", command ? cli_jstr(command) : json_null());
    if (!json_object_get(o, "retryable"))
        json_object_set_new(o, "retryable", json_boolean(exit == CLI_EXIT_TEMPFAIL));
    return json_pack("{s:o}", "error", o);
}

int cli_finish(const cli *c, const char *command, int rc)
{
    if (c->json && rc != CLI_EXIT_OK && (!json_started || json_stdout_taken)) {
        json_t *j = cli_error_json(command, rc);
        if (json_stdout_taken) {
            char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
            if (s)
                fprintf(stderr, "%s\n", s);
            free(s);
            json_decref(j);
        } else {
            cli_json_print(j);
        }
    }
    json_decref(noted);
    noted = NULL;
    fflush(stdout);
    return rc;
}

const char *cli_nearest(const char *word, const char *const *v, size_t n)
{
    return nearest_name(word, v, n);
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
        {DSRC_CAP_QUERY, "query"},
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

/* Note the first configuration error (of file, when not NULL) as the
 * run's error: "FILE:LINE: MESSAGE". */
static void note_diag(const cli *c, const char *file)
{
    size_t i;
    char buf[1024];

    for (i = 0; i < c->diags.n; i++) {
        const diag *d = &c->diags.v[i];
        if (d->severity != DIAG_ERROR || (file && (!d->file || strcmp(d->file, file) != 0)))
            continue;
        if (d->file)
            snprintf(buf, sizeof buf, "%s:%d: %s", d->file, d->line, d->msg);
        else
            snprintf(buf, sizeof buf, "%s", d->msg);
        cli_note("config", buf, NULL);
        return;
    }
}

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
        note_diag(c, NULL);
        if (!c->diags.n)
            return cli_error(c, CLI_EXIT_CONFIG, "config", "cannot read %s", c->conf_path);
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
    isolate_set_grace(c->cfg->shutdown_grace_ms / 2);
    isolate_set_memory_max(c->cfg->isolation_memory_max);
    isolate_set_syscall_filter(c->cfg->isolation_syscall_filter);
    /* Errors in the daemon file itself stop every command. */
    for (i = 0; i < c->diags.n; i++)
        if (c->diags.v[i].severity == DIAG_ERROR && c->diags.v[i].file &&
            strcmp(c->diags.v[i].file, c->cfg->path) == 0) {
            diag_print(&c->diags, stderr);
            note_diag(c, c->cfg->path);
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
        const char **names = calloc(c->cfg->n_sources + 1, sizeof *names);
        const char *near;
        for (i = 0; names && i < c->cfg->n_sources; i++)
            names[i] = c->cfg->sources[i].name;
        near = names ? cli_nearest(name, names, c->cfg->n_sources) : NULL;
        *rc = cli_error(c, CLI_EXIT_FAIL, "not-found",
                        "no source named '%s' in %s%s%s%s (see '%s sources')", name,
                        c->cfg->sources_dir, near ? "; did you mean '" : "",
                        near ? near : "", near ? "'?" : "", c->prog);
        free(names);
        return NULL;
    }
    if (!cs->enabled) {
        *rc = cli_error(c, CLI_EXIT_FAIL, "invalid-config", "source '%s' is disabled (%s:%d)",
                        name, cs->file, cs->line);
        return NULL;
    }
    for (i = 0; i < c->diags.n; i++)
        if (c->diags.v[i].file && strcmp(c->diags.v[i].file, cs->file) == 0) {
            const diag *d = &c->diags.v[i];
            fprintf(stderr, "%s:%d: %s: %s\n", d->file, d->line,
                    d->severity == DIAG_ERROR ? "error" : "warning", d->msg);
        }
    note_diag(c, cs->file);
    *rc = cli_error(c, CLI_EXIT_CONFIG, "config",
                    "source '%s' is not valid: fix the errors above", name);
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
            char what[256];
            if (optopt && optopt < 256)
                snprintf(what, sizeof what, "%s option '-%c'",
                         opt == ':' ? "missing argument for" : "unknown", optopt);
            else
                snprintf(what, sizeof what, "unknown option or missing argument: '%s'",
                         argv[optind - 1]);
            *rc = cli_usage_error(c, cmd, what);
            return -1;
        }
        if (!fn || fn(c, opt, optarg, user) < 0) {
            cli_note("usage", "bad option", NULL);
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
        char msg[512];
        snprintf(msg, sizeof msg, "%s needs a whole number from %lld to %lld, not '%s'", opt,
                 min, max, arg);
        fprintf(stderr, "%s %s: %s\n", c->prog, cmd, msg);
        cli_note("usage", msg, NULL);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_usage_error(cli *c, const cli_cmd *cmd, const char *what)
{
    fprintf(stderr, "%s %s: %s\nusage: %s %s\n", c->prog, cmd->name, what, c->prog,
            cmd->usage);
    cli_note("usage", what, NULL);
    return CLI_EXIT_USAGE;
}

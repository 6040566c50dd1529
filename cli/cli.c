/* SPDX-License-Identifier: Apache-2.0 */
/* cli.c -- see cli.h */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/api.h"
#include "cli.h"
#include "cli_secret.h"
#include "config/config.h"
#include "base/ctx.h"
#include "output/fetch.h"
#include "output/manifest.h"
#include "conn/health.h"
#include "plugin/loader.h"
#include "base/log.h"
#include "output/outfile.h"
#include "base/redact.h"
#include "plugin/registry.h"
#include "conn/router.h"
#include "plugin/source.h"
#include "table.h"

/* How long dsrc waits for dsrcd's answer on the control socket. */
#define CLI_API_TIMEOUT_MS 10000

#define DEFAULT_CONF DSRC_SYSCONFDIR "/dsrcd.conf"

typedef struct cli {
    const char *prog;
    const char *conf_path;
    int conf_explicit;
    int json;
    int log_forced; /* -v or -q given: the config's log_level does not apply */
    int warned;     /* the used source's config warnings were printed */
    cfg_config *cfg;
    diag_list diags;
    loader_set *plugins;
    registry *reg;
    router_source *rt;      /* the router of the source an operation uses      */
} cli;

typedef struct cli_cmd {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *usage;
    const char *summary;
    const char *help;
} cli_cmd;

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t interrupt_sig;   /* the signal that interrupted */
static atomic_int guard_armed;                /* a fetch_guard waits on guard_sem
                                                 (lock-free: read in the handler) */
static sem_t guard_sem;                       /* made once, never destroyed:
                                                 a late handler may post it */
static int guard_sem_ok;

static void on_signal(int sig)
{
    interrupted = 1;
    interrupt_sig = sig;
    if (atomic_load(&guard_armed))
        sem_post(&guard_sem);
}

/* ------------------------------------------------------------------------ */
/* Output helpers                                                            */

static void json_print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

static void err_print(const cli *c, const derr *e)
{
    fprintf(stderr, "%s: %s\n", c->prog, e->msg ? e->msg : error_status_name(e->status));
}

/* The length of the well-formed UTF-8 sequence at s (Unicode table 3-7),
 * or 0 when s does not start one.  Never reads past a NUL. */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char lo, hi;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
               (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* s with every byte that is not part of valid UTF-8 written as the text
 * \xNN (malloc'd; NULL on allocation failure).  JSON strings must be
 * UTF-8 (jansson refuses anything else), and a file name or a quoted
 * setting may not be. */
static char *utf8_escape(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(strlen(s) * 4 + 1), *o = out;

    if (!out)
        return NULL;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            o += sprintf(o, "\\x%02X", *p++);
        }
    }
    *o = '\0';
    return out;
}

/* A JSON string with every registered secret replaced by ***; null for NULL.
 * Every string that reaches the output goes through here: plugins' names,
 * comments and properties can carry what a backend echoed.  Bytes that are
 * not UTF-8 are shown as \xNN (see utf8_escape()). */
static json_t *jstr(const char *s)
{
    char *r, *u;
    json_t *j;

    if (!s)
        return json_null();
    r = redact_dup(s);
    j = json_string(r ? r : "");
    if (!j && r && (u = utf8_escape(r))) {
        j = json_string(u);
        free(u);
    }
    free(r);
    return j ? j : json_string("");
}

static const char *kind_name(dsrc_item_kind k)
{
    switch (k) {
    case DSRC_ITEM_DATABASE: return "database";
    case DSRC_ITEM_SCHEMA: return "schema";
    case DSRC_ITEM_TABLE: return "table";
    case DSRC_ITEM_VIEW: return "view";
    case DSRC_ITEM_MATERIALIZED_VIEW: return "materialized-view";
    case DSRC_ITEM_FOREIGN_TABLE: return "foreign-table";
    case DSRC_ITEM_PARTITIONED_TABLE: return "partitioned-table";
    case DSRC_ITEM_COLLECTION: return "collection";
    case DSRC_ITEM_CONTAINER: return "container";
    case DSRC_ITEM_DIRECTORY: return "directory";
    case DSRC_ITEM_BLOB: return "blob";
    case DSRC_ITEM_FILE: return "file";
    case DSRC_ITEM_OTHER: break;
    }
    return "other";
}

static const char *opt_type_name(dsrc_option_type t)
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

static void fmt_i64(char *buf, size_t n, int64_t v, int estimated)
{
    if (v < 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%s%" PRId64, estimated ? "~" : "", v);
}

static void fmt_size(char *buf, size_t n, int64_t v)
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

static void fmt_time(char *buf, size_t n, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t < 0 || !gmtime_r(&tt, &tm)) {
        snprintf(buf, n, "-");
        return;
    }
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void caps_string(uint32_t caps, char *buf, size_t n)
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

static json_t *caps_json(uint32_t caps)
{
    char buf[128], *save = NULL, *tok;
    json_t *a = json_array();
    caps_string(caps, buf, sizeof buf);
    if (strcmp(buf, "-") == 0)
        return a;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        json_array_append_new(a, jstr(tok));
    return a;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/* Load the config, the plugins and the registry.  Returns 0 or an exit
 * status (errors printed). */
static int load_config(cli *c, int allow_missing)
{
    size_t i;

    if (!c->conf_path)
        c->conf_path = getenv("DSRC_CONFIG");
    if (!c->conf_path)
        c->conf_path = DEFAULT_CONF;
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
static const registry_source *valid_source(const cli *c, const cfg_source *cs)
{
    return source_has_errors(c, cs) ? NULL : registry_find(c->reg, cs->name);
}

/* The valid source NAME, or NULL with the reason printed and *rc set. */
static const registry_source *need_source(cli *c, const char *name, int *rc)
{
    const cfg_source *cs = cfg_find_source(c->cfg, name);
    /* A source whose own file has an error is not used, even if the
     * registry could build it. */
    const registry_source *s = cs ? valid_source(c, cs) : NULL;
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
 * filled (give it back with lease_done()) or an exit status (printed). */
/* The exit status of a failed operation: 75 (EX_TEMPFAIL) when trying again
 * later may succeed (unreachable, timed out, throttled, a dropped
 * connection), 1 otherwise. */
static int fail_status(const derr *e)
{
    return e && e->retryable ? CLI_EXIT_TEMPFAIL : CLI_EXIT_FAIL;
}

static int lease_source(cli *c, const char *name, const char *op, router_lease *l)
{
    int rc = CLI_EXIT_OK;
    const registry_source *s = need_source(c, name, &rc);
    derr e = {0};

    if (!s)
        return rc;
    if (!(c->rt = router_new(s, NULL, &e)) ||
        router_acquire(c->rt, router_intent_for(op), op, l, &e) != DSRC_OK) {
        if (e.status == DSRC_OK)
            derr_set(&e, DSRC_E_INTERNAL, "out of memory");
        err_print(c, &e);
        rc = fail_status(&e);
        derr_clear(&e);
        return rc;
    }
    log_msg(DSRC_LOG_INFO, s->cfg->name, NULL, "%s served by %s", op, l->label);
    return CLI_EXIT_OK;
}

/* Give a lease back with the operation's outcome (e NULL: success). */
static void lease_done(cli *c, router_lease *l, const derr *e)
{
    if (c->rt && l->conn) {
        router_release(c->rt, l, e && e->status != DSRC_OK ? e : NULL);
        l->conn = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Option parsing helpers                                                    */

enum { OPT_HELP = 'h', OPT_JSON = 1000 };

/* Parse a command's options; returns -1 to stop with *rc set. */
typedef int (*opt_fn)(cli *c, int opt, const char *arg, void *user);

static int parse_opts(cli *c, const cli_cmd *cmd, int argc, char **argv,
                      const char *shorts, const struct option *longs, opt_fn fn,
                      void *user, int *rc)
{
    int opt;

    optind = 0; /* glibc: 0 also resets the state of the previous parse */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (opt == OPT_HELP) {
            printf("usage: %s %s\n\n%s\n", c->prog, cmd->usage, cmd->help);
            *rc = CLI_EXIT_OK;
            return -1;
        }
        if (opt == OPT_JSON) {
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

static int usage_error(cli *c, const cli_cmd *cmd, const char *what)
{
    fprintf(stderr, "%s %s: %s\nusage: %s %s\n", c->prog, cmd->name, what, c->prog,
            cmd->usage);
    return CLI_EXIT_USAGE;
}

#define COMMON_LONGS {"help", no_argument, NULL, OPT_HELP}, {"json", no_argument, NULL, OPT_JSON}

/* ------------------------------------------------------------------------ */
/* plugins                                                                   */

typedef struct plugins_state {
    table *t;
    json_t *arr;
    size_t refused;
} plugins_state;

static void plugins_cb(void *user, const char *name, const char *path, loader_plugin *p,
                       const derr *e)
{
    plugins_state *ps = user;
    char caps[128], abi[32];

    if (!p) {
        ps->refused++;
        fprintf(stderr, "dsrc: warning: %s\n", e && e->msg ? e->msg : path);
        if (ps->arr) {
            json_t *o = json_object();
            json_object_set_new(o, "name", jstr(name));
            json_object_set_new(o, "path", jstr(path));
            json_object_set_new(o, "error", jstr(e && e->msg ? e->msg : "refused"));
            json_array_append_new(ps->arr, o);
        }
        return;
    }
    const dsrc_driver *d = loader_driver(p);
    const dsrc_abi_info *ai = loader_abi(p);
    caps_string(d->capabilities, caps, sizeof caps);
    snprintf(abi, sizeof abi, "%u.%u", ai->abi_major, ai->abi_minor);
    if (ps->arr) {
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(d->name));
        json_object_set_new(o, "version", jstr(d->version));
        json_object_set_new(o, "abi", jstr(abi));
        json_object_set_new(o, "capabilities", caps_json(d->capabilities));
        json_object_set_new(o, "path", jstr(path));
        json_object_set_new(o, "description", jstr(d->description));
        json_array_append_new(ps->arr, o);
    } else {
        const char *row[] = {d->name, d->version ? d->version : "-", abi, caps,
                             d->description ? d->description : "-", path};
        table_add(ps->t, row);
    }
}

static int plugin_options(cli *c, const char *name)
{
    loader_plugin *p;
    derr e = {0};
    const dsrc_option *o;

    if (loader_get(c->plugins, name, &p, &e) != DSRC_OK) {
        err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    const dsrc_driver *d = loader_driver(p);
    if (c->json) {
        json_t *arr = json_array();
        for (o = d->options; o && o->name; o++) {
            json_t *j = json_object();
            json_object_set_new(j, "name", jstr(o->name));
            json_object_set_new(j, "type", jstr(opt_type_name(o->type)));
            json_object_set_new(j, "required", json_boolean(o->flags & DSRC_OPT_REQUIRED));
            json_object_set_new(j, "secret", json_boolean(o->flags & DSRC_OPT_SECRET));
            json_object_set_new(j, "default", jstr(o->default_value));
            if (o->choices)
                json_object_set_new(j, "choices", jstr(o->choices));
            json_object_set_new(j, "doc", jstr(o->doc));
            json_array_append_new(arr, j);
        }
        json_print(arr);
        return CLI_EXIT_OK;
    }
    const char *hdr[] = {"option", "type", "required", "default", "secret", "description"};
    table *t = table_new(6, hdr);
    if (!t)
        return CLI_EXIT_FAIL;
    for (o = d->options; o && o->name; o++) {
        char type[160];
        if (o->type == DSRC_OPT_ENUM && o->choices)
            snprintf(type, sizeof type, "enum(%s)", o->choices);
        else
            snprintf(type, sizeof type, "%s", opt_type_name(o->type));
        const char *row[] = {o->name, type, (o->flags & DSRC_OPT_REQUIRED) ? "yes" : "no",
                             o->default_value ? o->default_value : "-",
                             (o->flags & DSRC_OPT_SECRET) ? "yes" : "no",
                             o->doc ? o->doc : "-"};
        table_add(t, row);
    }
    printf("%s %s: %s\n\n", d->name, d->version ? d->version : "",
           d->description ? d->description : "");
    table_print(t, stdout);
    table_free(t);
    return CLI_EXIT_OK;
}

static int plugins_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    if (opt == 'o')
        *(const char **)user = arg;
    return 0;
}

static int cmd_plugins(cli *c, int argc, char **argv);
static int cmd_sources(cli *c, int argc, char **argv);
static int cmd_check_config(cli *c, int argc, char **argv);
static int cmd_test(cli *c, int argc, char **argv);
static int cmd_ls(cli *c, int argc, char **argv);
static int cmd_describe(cli *c, int argc, char **argv);
static int cmd_discover(cli *c, int argc, char **argv);
static int cmd_fetch(cli *c, int argc, char **argv);
static int cmd_secret(cli *c, int argc, char **argv);
static int cmd_pools(cli *c, int argc, char **argv);
static int cmd_health(cli *c, int argc, char **argv);

static const cli_cmd commands[] = {
    {"plugins", cmd_plugins, "plugins [--options NAME] [--json]",
     "list the plugins found, or one plugin's options",
     "Lists every NAME.so in the plugin directories with its version, ABI and\n"
     "capabilities; plugins that are refused are reported on stderr.\n"
     "  -o, --options NAME  print the options a source of type NAME accepts\n"
     "      --json          machine-readable output"},
    {"sources", cmd_sources, "sources [NAME] [--json]",
     "list the configured sources (secrets shown as ***)",
     "Lists the sources in sources_dir; with NAME, shows one source in detail.\n"
     "Secret option values are always shown as ***.\n"
     "      --json          machine-readable output"},
    {"check-config", cmd_check_config, "check-config [--json]",
     "validate the configuration and exit 78 on any error",
     "Reads the daemon file and every source, loads the plugins they need and\n"
     "validates every option.  Prints all errors found as FILE:LINE: error: ...\n"
     "Exit status 0 when valid, 78 (EX_CONFIG) otherwise.  Touches nothing."},
    {"test", cmd_test, "test NAME [--all] [--json]",
     "open and ping a source; print latency and the endpoint that answered",
     "Opens a connection to the source, does a real round-trip and prints the\n"
     "latency, endpoint, role and server version.\n"
     "  -a, --all           test the primary and every replica\n"
     "      --json          machine-readable output"},
    {"ls", cmd_ls, "ls NAME [PATH] [--json]", "list items under a path",
     "Lists databases, schemas, tables, views, collections, containers or\n"
     "blobs under PATH ('' = the root), with kind, rows, size and mtime.\n"
     "      --json          machine-readable output"},
    {"describe", cmd_describe, "describe NAME ITEM [--json]",
     "show an item's columns, counts and properties",
     "Shows the columns (type, nullability, key, default, comment), the row\n"
     "count or size and backend properties of one item.\n"
     "      --json          machine-readable output"},
    {"discover", cmd_discover, "discover NAME [PATH] [--system] [--json]",
     "the whole catalog: every item with its columns",
     "Discovers every table/view/collection with its columns in a bounded\n"
     "number of round-trips.\n"
     "  -s, --system        include system schemas\n"
     "      --json          machine-readable output (a JSON array)"},
    {"fetch", cmd_fetch,
     "fetch NAME ITEM [--format csv|jsonl|raw] [--columns a,b] [--limit N]\n"
     "             [--cursor-field F] [--after VALUE] [--incremental] [-o FILE|-]\n"
     "             [--grace SECONDS]",
     "fetch an item to the workspace, a file or stdout",
     "Fetches ITEM and writes it durably (temporary file, fsync, rename) with a\n"
     "manifest beside it (rows, bytes, SHA-256, schema, cursor range).\n"
     "  -f, --format F        csv (default), jsonl, or raw (blobs, files)\n"
     "  -c, --columns LIST    only these columns, comma-separated\n"
     "  -n, --limit N         at most N rows; with -k, also the rest of the rows\n"
     "                        sharing the N-th row's cursor value\n"
     "  -k, --cursor-field F  only rows with F > the start value, ordered by F\n"
     "  -a, --after VALUE     the start value for the cursor\n"
     "  -i, --incremental     start after the last committed cursor and commit\n"
     "                        the new one once the file is durable\n"
     "  -o, --output FILE     write FILE (and FILE.manifest.json); '-' = stdout;\n"
     "                        default: <workspace>/<source>/<item>/<time>.<ext>\n"
     "  -q, --quiet           no summary and no progress\n"
     "      --grace SECONDS   after SIGINT/SIGTERM, how long a plugin that does not\n"
     "                        stop may take before dsrc removes the unfinished\n"
     "                        file and exits 128+signal (default: shutdown_grace)\n"
     "      --json            print the summary as JSON\n"
     "A fetch rule in the source's config for ITEM supplies defaults for\n"
     "format, columns, limit and cursor field."},
    {"pools", cmd_pools, "pools [NAME] [--json]",
     "connection pools and circuit breakers of the running dsrcd",
     "Asks dsrcd (through its control socket) for every endpoint's pool and\n"
     "circuit breaker: SOURCE, ENDPOINT, ROLE, BREAKER, TOTAL/MAX connections,\n"
     "IDLE, ACTIVE, WAITING, OPENED, CLOSED, TIMEOUTS, FAILED opens and the\n"
     "acquire wait p50/p95/p99 in ms.  With NAME, one source.  Exits 1 when\n"
     "dsrcd is not running.\n"
     "      --json          machine-readable output"},
    {"health", cmd_health, "health [NAME] [--probes N] [--json]",
     "health of the sources: status, latency, errors, recommendations",
     "Asks dsrcd for the health of every source (or NAME) from its periodic\n"
     "probes; when dsrcd is not running, probes the sources from here.\n"
     "Prints the status (healthy, degraded, down), latency p50/p95, error\n"
     "rate, uptime, last error, pool and breaker state, storage size when the\n"
     "plugin can tell, and recommendations.\n"
     "  -n, --probes N      probes per endpoint when probing from here (3)\n"
     "      --json          machine-readable output\n"
     "Exit status 0 when every source is healthy, 1 otherwise."},
    {"secret", cmd_secret, "secret genkey|encrypt|decrypt|rotate|check [ARGS]",
     "make keys, encrypt secrets, rotate tokens, check every secret",
     "See 'dsrc secret --help' and dsrc(1)."},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const cli_cmd *find_cmd(const char *name)
{
    size_t i;
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_plugins(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        COMMON_LONGS, {"options", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("plugins");
    const char *options = NULL;
    plugins_state ps = {0};
    int rc = 0, i;

    if ((i = parse_opts(c, cmd, argc, argv, "ho:", longs, plugins_opt, &options, &rc)) < 0)
        return rc;
    if (i < argc)
        return usage_error(c, cmd, "unexpected argument");
    if ((rc = load_config(c, 1)))
        return rc;
    if (options)
        return plugin_options(c, options);
    if (c->json) {
        ps.arr = json_array();
    } else {
        const char *hdr[] = {"name", "version", "abi", "capabilities", "description", "path"};
        if (!(ps.t = table_new(6, hdr)))
            return CLI_EXIT_FAIL;
    }
    size_t n = loader_scan(c->plugins, plugins_cb, &ps);
    if (ps.arr) {
        json_print(ps.arr);
    } else {
        if (table_rows(ps.t))
            table_print(ps.t, stdout);
        table_free(ps.t);
    }
    if (n == 0) {
        const char *const *dirs;
        size_t nd = loader_dirs(c->plugins, &dirs), k;
        fprintf(stderr, "%s: no plugins found in", c->prog);
        for (k = 0; k < nd; k++)
            fprintf(stderr, "%s %s", k ? "," : "", dirs[k]);
        fputc('\n', stderr);
        return CLI_EXIT_FAIL;
    }
    return ps.refused ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* sources / check-config                                                    */

static json_t *source_json(const cfg_source *cs, const registry_source *s)
{
    json_t *o = json_object(), *conn = json_object(), *labels = json_object();
    size_t i;

    json_object_set_new(o, "name", jstr(cs->name));
    json_object_set_new(o, "type", jstr(cs->type ? cs->type : ""));
    json_object_set_new(o, "location", jstr(cfg_location_name(cs->location)));
    json_object_set_new(o, "enabled", json_boolean(cs->enabled));
    json_object_set_new(o, "valid", json_boolean(s != NULL));
    json_object_set_new(o, "file", jstr(cs->file));
    for (i = 0; i < cs->n_labels; i++)
        json_object_set_new(labels, cs->labels[i].key, jstr(cs->labels[i].text));
    json_object_set_new(o, "labels", labels);
    if (s) {
        for (i = 0; i < s->n_options; i++)
            json_object_set_new(conn, s->options[i].def->name,
                                (s->options[i].def->flags & DSRC_OPT_SECRET)
                                    ? jstr(REDACTED)
                                    : jstr(s->options[i].value));
    } else {
        /* Unvalidated: show keys only, every value redacted. */
        for (i = 0; i < cs->n_connection; i++)
            json_object_set_new(conn, cs->connection[i].key, jstr(REDACTED));
    }
    json_object_set_new(o, "connection", conn);
    if (cs->cloud_provider) {
        json_t *cl = json_object();
        for (i = 0; i < cs->n_cloud; i++)
            json_object_set_new(cl, cs->cloud[i].key,
                                cfg_cloud_key_is_secret(cs->cloud[i].key)
                                    ? jstr(REDACTED)
                                    : jstr(cs->cloud[i].text));
        json_object_set_new(o, "cloud", cl);
    }
    if (cs->tls_mode || cs->tls_ca || cs->tls_cert || cs->tls_key) {
        json_t *t = json_object();
        json_object_set_new(t, "mode", jstr(cs->tls_mode));
        json_object_set_new(t, "ca", jstr(cs->tls_ca));
        json_object_set_new(t, "cert", jstr(cs->tls_cert));
        json_object_set_new(t, "key", jstr(cs->tls_key));
        json_object_set_new(o, "tls", t);
    }
    if (cs->n_replica_hosts || cs->replica_set) {
        json_t *r = json_object(), *h = json_array();
        for (i = 0; i < cs->n_replica_hosts; i++)
            json_array_append_new(h, jstr(cs->replica_hosts[i]));
        json_object_set_new(r, "hosts", h);
        json_object_set_new(r, "replica_set", jstr(cs->replica_set));
        json_object_set_new(r, "read_policy", jstr(cs->read_policy));
        json_object_set_new(o, "replicas", r);
    }
    json_t *pj = json_object();
    json_object_set_new(pj, "max_size", json_integer(cs->pool.max_size));
    json_object_set_new(pj, "min_idle", json_integer(cs->pool.min_idle));
    json_object_set_new(pj, "acquire_timeout_ms", json_integer(cs->pool.acquire_timeout_ms));
    json_object_set_new(pj, "idle_timeout_ms", json_integer(cs->pool.idle_timeout_ms));
    json_object_set_new(pj, "max_lifetime_ms", json_integer(cs->pool.max_lifetime_ms));
    json_object_set_new(pj, "keepalive_ms", json_integer(cs->pool.keepalive_ms));
    json_object_set_new(o, "pool", pj);
    if (cs->schedule_discover || cs->schedule_health) {
        json_t *sc = json_object();
        json_object_set_new(sc, "discover", jstr(cs->schedule_discover));
        json_object_set_new(sc, "health", jstr(cs->schedule_health));
        json_object_set_new(o, "schedule", sc);
    }
    if (cs->n_fetch) {
        json_t *fa = json_array();
        for (i = 0; i < cs->n_fetch; i++) {
            json_t *f = json_object();
            json_object_set_new(f, "item", jstr(cs->fetch[i].item));
            json_object_set_new(f, "format", jstr(cs->fetch[i].format));
            json_object_set_new(f, "cursor_field", jstr(cs->fetch[i].cursor_field));
            json_object_set_new(f, "schedule", jstr(cs->fetch[i].schedule));
            json_array_append_new(fa, f);
        }
        json_object_set_new(o, "fetch", fa);
    }
    return o;
}

static void source_detail(const cfg_source *cs, const registry_source *s)
{
    size_t i;
    printf("name:      %s\n", cs->name);
    printf("type:      %s\n", cs->type ? cs->type : "-");
    printf("location:  %s\n", cfg_location_name(cs->location));
    printf("file:      %s:%d\n", cs->file, cs->line);
    printf("status:    %s\n", !cs->enabled ? "disabled" : s ? "valid" : "invalid");
    for (i = 0; i < cs->n_labels; i++)
        printf("label:     %s = %s\n", cs->labels[i].key, cs->labels[i].text);
    printf("connection:\n");
    if (s) {
        for (i = 0; i < s->n_options; i++)
            printf("  %-20s %s%s\n", s->options[i].def->name,
                   (s->options[i].def->flags & DSRC_OPT_SECRET)
                       ? REDACTED
                       : (s->options[i].value ? s->options[i].value : "-"),
                   s->options[i].from_default ? "  (default)" : "");
    } else {
        for (i = 0; i < cs->n_connection; i++)
            printf("  %-20s %s\n", cs->connection[i].key, REDACTED);
    }
    if (cs->cloud_provider)
        for (i = 0; i < cs->n_cloud; i++)
            printf("cloud.%-14s %s\n", cs->cloud[i].key,
                   cfg_cloud_key_is_secret(cs->cloud[i].key) ? REDACTED : cs->cloud[i].text);
    if (cs->tls_mode)
        printf("tls:       mode %s%s%s\n", cs->tls_mode, cs->tls_ca ? ", ca " : "",
               cs->tls_ca ? cs->tls_ca : "");
    for (i = 0; i < cs->n_replica_hosts; i++)
        printf("replica:   %s\n", cs->replica_hosts[i]);
    printf("pool:      max_size %d, min_idle %d, acquire_timeout %" PRId64 "ms\n",
           cs->pool.max_size, cs->pool.min_idle, cs->pool.acquire_timeout_ms);
    if (cs->schedule_discover)
        printf("schedule:  discover \"%s\"\n", cs->schedule_discover);
    if (cs->schedule_health)
        printf("schedule:  health \"%s\"\n", cs->schedule_health);
    for (i = 0; i < cs->n_fetch; i++)
        printf("fetch:     %s (%s%s%s)\n", cs->fetch[i].item,
               cs->fetch[i].format ? cs->fetch[i].format : "csv",
               cs->fetch[i].cursor_field ? ", cursor " : "",
               cs->fetch[i].cursor_field ? cs->fetch[i].cursor_field : "");
}

static int cmd_sources(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("sources");
    int rc = 0, i;
    size_t k;

    if ((i = parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return usage_error(c, cmd, "too many arguments");
    if ((rc = load_config(c, 0)))
        return rc;
    if (i < argc) {
        const cfg_source *cs = cfg_find_source(c->cfg, argv[i]);
        if (!cs) {
            fprintf(stderr, "%s: no source named '%s'\n", c->prog, argv[i]);
            return CLI_EXIT_FAIL;
        }
        if (c->json)
            json_print(source_json(cs, valid_source(c, cs)));
        else
            source_detail(cs, valid_source(c, cs));
        return CLI_EXIT_OK;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (k = 0; k < c->cfg->n_sources; k++)
            json_array_append_new(arr, source_json(&c->cfg->sources[k],
                                                   valid_source(c, &c->cfg->sources[k])));
        json_print(arr);
    } else {
        const char *hdr[] = {"name", "type", "location", "status", "endpoint", "labels"};
        table *t = table_new(6, hdr);
        if (!t)
            return CLI_EXIT_FAIL;
        for (k = 0; k < c->cfg->n_sources; k++) {
            const cfg_source *cs = &c->cfg->sources[k];
            const registry_source *s = valid_source(c, cs);
            char labels[256] = "", endpoint[256];
            size_t len = 0, j;
            const char *host = NULL, *port = NULL, *path = NULL;
            for (j = 0; j < cs->n_labels; j++) {
                int w = snprintf(labels + len, sizeof labels - len, "%s%s=%s", j ? "," : "",
                                 cs->labels[j].key, cs->labels[j].text);
                if (w < 0 || (size_t)w >= sizeof labels - len)
                    break;
                len += (size_t)w;
            }
            for (j = 0; s && j < s->n_options; j++) {
                const registry_option *o = &s->options[j];
                if (o->def->flags & DSRC_OPT_SECRET)
                    continue;
                if (strcmp(o->def->name, "host") == 0) host = o->value;
                else if (strcmp(o->def->name, "port") == 0) port = o->value;
                else if (strcmp(o->def->name, "path") == 0 || strcmp(o->def->name, "dir") == 0 ||
                         strcmp(o->def->name, "endpoint") == 0) path = o->value;
            }
            if (host)
                snprintf(endpoint, sizeof endpoint, "%s%s%s%s", host, port ? ":" : "",
                         port ? port : "",
                         cs->n_replica_hosts ? " (+replicas)" : "");
            else
                snprintf(endpoint, sizeof endpoint, "%s", path ? path : "-");
            const char *row[] = {cs->name, cs->type ? cs->type : "-",
                                 cfg_location_name(cs->location),
                                 !cs->enabled ? "disabled" : s ? "ok" : "invalid", endpoint,
                                 len ? labels : "-"};
            table_add(t, row);
        }
        table_print(t, stdout);
        table_free(t);
    }
    if (c->diags.n_errors)
        fprintf(stderr, "%s: the configuration has %zu error(s); run '%s check-config'\n",
                c->prog, c->diags.n_errors, c->prog);
    return CLI_EXIT_OK;
}

static int cmd_check_config(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("check-config");
    int rc = 0, i;
    size_t k;

    if ((i = parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (i < argc)
        return usage_error(c, cmd, "unexpected argument");
    rc = load_config(c, 0);
    if (rc && rc != CLI_EXIT_CONFIG)
        return rc;
    if (c->json) {
        json_t *o = json_object(), *arr = json_array();
        for (k = 0; k < c->diags.n; k++) {
            json_t *d = json_object();
            json_object_set_new(d, "severity", jstr(c->diags.v[k].severity == DIAG_ERROR
                                                               ? "error" : "warning"));
            json_object_set_new(d, "file", jstr(c->diags.v[k].file));
            json_object_set_new(d, "line", json_integer(c->diags.v[k].line));
            json_object_set_new(d, "message", jstr(c->diags.v[k].msg));
            json_array_append_new(arr, d);
        }
        json_object_set_new(o, "valid", json_boolean(c->diags.n_errors == 0 && c->cfg));
        json_object_set_new(o, "errors", json_integer((json_int_t)c->diags.n_errors));
        json_object_set_new(o, "sources", json_integer(c->cfg ? (json_int_t)c->cfg->n_sources : 0));
        json_object_set_new(o, "diagnostics", arr);
        json_print(o);
    } else if (rc == 0) {
        diag_print(&c->diags, stderr);
    }
    if (c->diags.n_errors || !c->cfg) {
        if (!c->json)
            fprintf(stderr, "%s: %s: %zu error(s)\n", c->prog, c->conf_path, c->diags.n_errors);
        return CLI_EXIT_CONFIG;
    }
    if (!c->json)
        printf("%s: configuration OK (%zu source(s))\n", c->conf_path, c->cfg->n_sources);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* test                                                                      */

static int test_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    (void)arg;
    if (opt == 'a')
        *(int *)user = 1;
    return 0;
}

static int cmd_test(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {"all", no_argument, NULL, 'a'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("test");
    int rc = 0, i, all = 0, failed = 0;
    size_t ep, n_ep;
    const registry_source *s;
    json_t *arr = NULL;

    if ((i = parse_opts(c, cmd, argc, argv, "ha", longs, test_opt, &all, &rc)) < 0)
        return rc;
    if (argc - i != 1)
        return usage_error(c, cmd, "expected one source name");
    if ((rc = load_config(c, 0)))
        return rc;
    if (!(s = need_source(c, argv[i], &rc)))
        return rc;
    {
        derr e = {0};
        if (!(c->rt = router_new(s, NULL, &e))) {
            err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
    }
    n_ep = all ? router_n_endpoints(c->rt) : 1;
    if (c->json)
        arr = json_array();
    for (ep = 0; ep < n_ep; ep++) {
        /* Every endpoint is tested directly, bypassing its breaker: an
         * operator's test must really reach it. */
        pool *p = router_pool(c->rt, (int)ep);
        pool_conn *pc = NULL;
        derr e = {0};
        dsrc_ping_info info;
        double ms = 0;
        dsrc_status st = pool_acquire(p, "test", -1, &pc, NULL, &e);
        if (st == DSRC_OK) {
            st = source_ping(pool_conn_src(pc), &info, &ms, &e);
            if (st == DSRC_OK)
                router_note_ping(c->rt, (int)ep, info.role, ms);
            pool_release_err(p, pc, &e);
        }
        if (c->json) {
            json_t *o = json_object();
            json_object_set_new(o, "source", jstr(s->cfg->name));
            json_object_set_new(o, "endpoint_index", json_integer((json_int_t)ep));
            json_object_set_new(o, "served_by", jstr(pool_label(p)));
            json_object_set_new(o, "ok", json_boolean(st == DSRC_OK));
            if (st == DSRC_OK) {
                json_object_set_new(o, "latency_ms", json_real(ms));
                json_object_set_new(o, "endpoint", jstr(info.endpoint));
                json_object_set_new(o, "role", jstr(router_role_name(info.role)));
                json_object_set_new(o, "server_version", jstr(info.server_version));
            } else {
                json_object_set_new(o, "status", jstr(error_status_name(st)));
                json_object_set_new(o, "error", jstr(e.msg));
                json_object_set_new(o, "retryable", json_boolean(e.retryable));
                if (e.code[0])
                    json_object_set_new(o, "code", jstr(e.code));
            }
            json_array_append_new(arr, o);
        } else if (st == DSRC_OK) {
            char *where = redact_dup(info.endpoint[0] ? info.endpoint
                                                      : (ep ? "replica" : "primary"));
            char *ver = redact_dup(info.server_version);
            printf("%s: ok in %.2f ms, %s: endpoint %s (%s%s%s)\n", s->cfg->name, ms,
                   pool_label(p), where ? where : "", router_role_name(info.role),
                   ver && *ver ? ", " : "", ver ? ver : "");
            free(where);
            free(ver);
        } else {
            err_print(c, &e);
        }
        if (st != DSRC_OK)
            failed++;
        derr_clear(&e);
    }
    if (arr)
        json_print(all ? arr : json_incref(json_array_get(arr, 0)));
    if (arr && !all)
        json_decref(arr);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* ls                                                                        */

typedef struct ls_state {
    table *t;
    json_t *arr;
} ls_state;

static json_t *item_json(const dsrc_item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", jstr(it->path ? it->path : ""));
    json_object_set_new(o, "name", jstr(it->name ? it->name : ""));
    json_object_set_new(o, "kind", jstr(kind_name(it->kind)));
    json_object_set_new(o, "container", json_boolean(it->container));
    json_object_set_new(o, "rows", it->rows >= 0 ? json_integer(it->rows) : json_null());
    json_object_set_new(o, "rows_estimated", json_boolean(it->rows_estimated));
    json_object_set_new(o, "size_bytes",
                        it->size_bytes >= 0 ? json_integer(it->size_bytes) : json_null());
    if (it->mtime >= 0) {
        char t[32];
        fmt_time(t, sizeof t, it->mtime);
        json_object_set_new(o, "mtime", jstr(t));
    } else {
        json_object_set_new(o, "mtime", json_null());
    }
    json_object_set_new(o, "comment", jstr(it->comment));
    return o;
}

static int ls_item(void *user, const dsrc_item *it)
{
    ls_state *ls = user;
    char rows[32], size[32], mtime[32];

    if (ls->arr)
        return json_array_append_new(ls->arr, item_json(it));
    fmt_i64(rows, sizeof rows, it->rows, it->rows_estimated);
    fmt_size(size, sizeof size, it->size_bytes);
    fmt_time(mtime, sizeof mtime, it->mtime);
    char name[1024];
    snprintf(name, sizeof name, "%s%s", it->path ? it->path : (it->name ? it->name : ""),
             it->container ? "/" : "");
    const char *row[] = {name, kind_name(it->kind), rows, size, mtime};
    return table_add(ls->t, row);
}

static int cmd_ls(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("ls");
    int rc = 0, i;
    router_lease l = {0};
    ls_state ls = {0};
    dsrc_item_sink sink;
    derr e = {0};

    if ((i = parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i < 1 || argc - i > 2)
        return usage_error(c, cmd, "expected a source name and an optional path");
    if ((rc = load_config(c, 0)))
        return rc;
    if ((rc = lease_source(c, argv[i], "list", &l)))
        return rc;
    if (c->json) {
        ls.arr = json_array();
    } else {
        const char *hdr[] = {"item", "kind", "rows", "size", "modified"};
        ls.t = table_new(5, hdr);
        table_right(ls.t, 2);
        table_right(ls.t, 3);
    }
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &ls;
    sink.item = ls_item;
    if (source_list(l.conn, argc - i == 2 ? argv[i + 1] : "", &sink, &e) != DSRC_OK) {
        err_print(c, &e);
        rc = fail_status(&e);
    } else if (ls.arr) {
        json_print(ls.arr);
        ls.arr = NULL;
    } else {
        table_print(ls.t, stdout);
    }
    json_decref(ls.arr);
    table_free(ls.t);
    lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* describe / discover                                                       */

static json_t *metadata_json(const dsrc_metadata *md)
{
    json_t *o = md->item ? item_json(md->item) : json_object();
    json_t *cols = json_array(), *props = json_object();
    size_t i;

    for (i = 0; i < md->n_columns; i++) {
        const dsrc_column *col = &md->columns[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", jstr(col->name ? col->name : ""));
        json_object_set_new(j, "type", jstr(manifest_type_name(col->type)));
        json_object_set_new(j, "native_type", jstr(col->native_type));
        json_object_set_new(j, "nullable", col->nullable < 0 ? json_null()
                                                             : json_boolean(col->nullable));
        json_object_set_new(j, "primary_key", json_integer(col->primary_key));
        json_object_set_new(j, "default", jstr(col->default_value));
        json_object_set_new(j, "comment", jstr(col->comment));
        json_array_append_new(cols, j);
    }
    json_object_set_new(o, "columns", cols);
    for (i = 0; i < md->n_properties; i++)
        if (md->properties[i].key)
            json_object_set_new(props, md->properties[i].key,
                                jstr(md->properties[i].value));
    json_object_set_new(o, "properties", props);
    return o;
}

static int describe_print(void *user, const dsrc_metadata *md)
{
    cli *c = user;
    size_t i;
    char rows[32], size[32];

    if (c->json) {
        json_print(metadata_json(md));
        return 0;
    }
    if (md->item) {
        fmt_i64(rows, sizeof rows, md->item->rows, md->item->rows_estimated);
        fmt_size(size, sizeof size, md->item->size_bytes);
        char *path = redact_dup(md->item->path ? md->item->path : "");
        printf("%s (%s), rows %s, size %s\n", path ? path : "", kind_name(md->item->kind),
               rows, size);
        free(path);
        if (md->item->comment) {
            char *cm = redact_dup(md->item->comment);
            printf("comment: %s\n", cm ? cm : "");
            free(cm);
        }
    }
    if (md->n_columns) {
        const char *hdr[] = {"#", "column", "type", "native type", "null", "pk", "default",
                             "comment"};
        table *t = table_new(8, hdr);
        table_right(t, 0);
        for (i = 0; i < md->n_columns; i++) {
            const dsrc_column *col = &md->columns[i];
            char num[24], pk[16];
            snprintf(num, sizeof num, "%zu", i + 1);
            if (col->primary_key)
                snprintf(pk, sizeof pk, "%d", col->primary_key);
            else
                snprintf(pk, sizeof pk, "-");
            const char *row[] = {num, col->name, manifest_type_name(col->type), col->native_type,
                                 col->nullable < 0 ? "?" : col->nullable ? "yes" : "no",
                                 pk, col->default_value, col->comment};
            table_add(t, row);
        }
        putchar('\n');
        table_print(t, stdout);
        table_free(t);
    }
    if (md->n_properties) {
        putchar('\n');
        for (i = 0; i < md->n_properties; i++)
            if (md->properties[i].key) {
                char *k = redact_dup(md->properties[i].key);
                char *v = redact_dup(md->properties[i].value ? md->properties[i].value : "-");
                printf("%s: %s\n", k ? k : "", v ? v : "");
                free(k);
                free(v);
            }
    }
    return 0;
}

static int cmd_describe(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("describe");
    int rc = 0, i;
    router_lease l = {0};
    dsrc_meta_sink sink;
    derr e = {0};

    if ((i = parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i != 2)
        return usage_error(c, cmd, "expected a source name and an item");
    if ((rc = load_config(c, 0)))
        return rc;
    if ((rc = lease_source(c, argv[i], "describe", &l)))
        return rc;
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = c;
    sink.metadata = describe_print;
    if (source_describe(l.conn, argv[i + 1], &sink, &e) != DSRC_OK) {
        err_print(c, &e);
        rc = fail_status(&e);
    }
    lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}

typedef struct discover_state {
    cli *c;
    table *t;
    size_t n;
} discover_state;

static int discover_item(void *user, const dsrc_metadata *md)
{
    discover_state *ds = user;
    size_t i, len = 0;
    char cols[512] = "", rows[32], ncols[24];

    if (ds->c->json) {
        json_t *o = metadata_json(md);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s)
            return -1;
        printf("%s%s", ds->n ? ",\n" : "[\n", s);
        free(s);
        ds->n++;
        return 0;
    }
    for (i = 0; i < md->n_columns; i++) {
        int w = snprintf(cols + len, sizeof cols - len, "%s%s", i ? ", " : "",
                         md->columns[i].name ? md->columns[i].name : "");
        if (w < 0 || (size_t)w >= sizeof cols - len) {
            snprintf(cols + sizeof cols - 5, 5, "...");
            break;
        }
        len += (size_t)w;
    }
    fmt_i64(rows, sizeof rows, md->item ? md->item->rows : -1,
            md->item ? md->item->rows_estimated : 0);
    snprintf(ncols, sizeof ncols, "%zu", md->n_columns);
    const char *row[] = {md->item && md->item->path ? md->item->path : "-",
                         md->item ? kind_name(md->item->kind) : "-", rows, ncols, cols};
    ds->n++;
    return table_add(ds->t, row);
}

static int discover_opt(cli *c, int opt, const char *arg, void *user)
{
    (void)c;
    (void)arg;
    if (opt == 's')
        *(int *)user = 1;
    return 0;
}

static int cmd_discover(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {"system", no_argument, NULL, 's'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("discover");
    int rc = 0, i, sys = 0;
    router_lease l = {0};
    dsrc_meta_sink sink;
    dsrc_discover_req req;
    discover_state ds = {0};
    derr e = {0};

    if ((i = parse_opts(c, cmd, argc, argv, "hs", longs, discover_opt, &sys, &rc)) < 0)
        return rc;
    if (argc - i < 1 || argc - i > 2)
        return usage_error(c, cmd, "expected a source name and an optional path");
    if ((rc = load_config(c, 0)))
        return rc;
    if ((rc = lease_source(c, argv[i], "discover", &l)))
        return rc;
    ds.c = c;
    if (!c->json) {
        const char *hdr[] = {"item", "kind", "rows", "cols", "columns"};
        ds.t = table_new(5, hdr);
        table_right(ds.t, 2);
        table_right(ds.t, 3);
    }
    memset(&sink, 0, sizeof sink);
    sink.struct_size = sizeof sink;
    sink.user = &ds;
    sink.metadata = discover_item;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.path = argc - i == 2 ? argv[i + 1] : NULL;
    req.include_system = sys;
    if (source_discover(l.conn, &req, &sink, &e) != DSRC_OK) {
        if (c->json && ds.n)
            printf("\n]\n");
        err_print(c, &e);
        rc = fail_status(&e);
    } else if (c->json) {
        printf(ds.n ? "\n]\n" : "[]\n");
    } else {
        table_print(ds.t, stdout);
        printf("\n%zu item(s)\n", ds.n);
    }
    table_free(ds.t);
    lease_done(c, &l, &e);
    derr_clear(&e);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

typedef struct fetch_args {
    fetch_opts o;
    const char *columns_arg;
    const char *limit_arg;
    int quiet;
    int format_set, limit_set, columns_set;
    double grace;                  /* --grace seconds; < 0: shutdown_grace */
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
        break;
    case 'q':
        fa->quiet = 1;
        break;
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

/* After SIGINT or SIGTERM, a fetch has a grace period to stop: the plugin
 * is asked to cancel at once (the flag it polls, and its cancel() when it
 * has one); if its call has not returned when the grace period is over,
 * the guard removes the unfinished output and ends the process with
 * 128 + the signal's number.  The state store is consistent then: a
 * cursor moves only after its file is complete and renamed. */
typedef struct fetch_guard {
    const cli *c;
    source_conn *conn;
    double grace;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;                      /* the fetch returned                    */
    pthread_t th;
    int started;
} fetch_guard;

static void *guard_main(void *arg)
{
    fetch_guard *g = arg;
    struct timespec end;
    int64_t ns;

    while (sem_wait(&guard_sem) != 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&g->mu);
    if (!g->done) {
        source_cancel(g->conn);
        clock_gettime(CLOCK_REALTIME, &end);
        ns = (int64_t)end.tv_nsec + (int64_t)(g->grace * 1e9);
        end.tv_sec += (time_t)(ns / 1000000000);
        end.tv_nsec = (long)(ns % 1000000000);
        while (!g->done)
            if (pthread_cond_timedwait(&g->cv, &g->mu, &end) == ETIMEDOUT)
                break;
    }
    if (!g->done) {
        outfile_discard_temps();
        fprintf(stderr, "%s: interrupted; source '%s' (plugin '%s') did not stop within the "
                        "%g s grace period: its unfinished output was removed; exiting with "
                        "status %d\n",
                g->c->prog, g->conn->src->cfg->name, loader_name(g->conn->src->plugin), g->grace,
                128 + (int)interrupt_sig);
        _exit(128 + (int)interrupt_sig);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Arm the guard for a fetch on conn (before the signal handlers are set).
 * Without a thread there is no grace limit: the fetch waits for the
 * plugin, as before. */
static void guard_start(fetch_guard *g, const cli *c, source_conn *conn, double grace)
{
    memset(g, 0, sizeof *g);
    g->c = c;
    g->conn = conn;
    g->grace = grace;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (!guard_sem_ok && sem_init(&guard_sem, 0, 0) != 0)
        return;
    guard_sem_ok = 1;
    atomic_store(&guard_armed, 1);
    g->started = pthread_create(&g->th, NULL, guard_main, g) == 0;
    if (!g->started)
        atomic_store(&guard_armed, 0);
}

/* The fetch returned (after the signal handlers are restored). */
static void guard_stop(fetch_guard *g)
{
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->done = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        atomic_store(&guard_armed, 0);
        sem_post(&guard_sem);
        pthread_join(g->th, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Split "a,b,c" into a NULL-terminated malloc'd array (one allocation). */
static char **split_columns(const char *s, size_t *n)
{
    size_t count = 1, i, len = strlen(s);
    const char *p;
    char **v, *buf, *tok, *save = NULL;

    for (p = s; *p; p++)
        if (*p == ',')
            count++;
    v = malloc((count + 1) * sizeof *v + len + 1);
    if (!v)
        return NULL;
    buf = (char *)(v + count + 1);
    memcpy(buf, s, len + 1);
    i = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok)
            v[i++] = tok;
    v[i] = NULL;
    *n = i;
    return v;
}

static int cmd_fetch(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {
        COMMON_LONGS,
        {"format", required_argument, NULL, 'f'},
        {"columns", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'n'},
        {"cursor-field", required_argument, NULL, 'k'},
        {"after", required_argument, NULL, 'a'},
        {"incremental", no_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"grace", required_argument, NULL, 'g'},
        {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("fetch");
    fetch_args fa;
    fetch_guard guard;
    dsrc_status st;
    int rc = 0, i;
    const registry_source *s;
    router_lease l = {0};
    char **cols = NULL;
    fetch_report rep;
    derr e = {0};
    size_t k;
    struct sigaction sa, old_int, old_term;

    memset(&fa, 0, sizeof fa);
    fa.o.limit = -1;
    fa.grace = -1;
    if ((i = parse_opts(c, cmd, argc, argv, "hf:c:n:k:a:io:qg:", longs, fetch_opt, &fa, &rc)) < 0)
        return rc;
    if (argc - i != 2)
        return usage_error(c, cmd, "expected a source name and an item");
    if ((rc = load_config(c, 0)))
        return rc;
    if (!(s = need_source(c, argv[i], &rc)))
        return rc;
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
        break;
    }
    if ((fa.o.incremental || fa.o.cursor_value) && !fa.o.cursor_field) {
        fprintf(stderr, "%s fetch: %s needs a cursor field (--cursor-field, or cursor_field "
                        "in a fetch rule for '%s')\n", c->prog,
                fa.o.incremental ? "--incremental" : "--after", fa.o.item);
        return CLI_EXIT_USAGE;
    }
    if (fa.columns_arg) {
        if (!(cols = split_columns(fa.columns_arg, &fa.o.n_columns)))
            return CLI_EXIT_FAIL;
        if (!fa.o.n_columns) {
            free(cols);
            return usage_error(c, cmd, "--columns needs at least one column name");
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

    if ((rc = lease_source(c, argv[i], "fetch", &l))) {
        free(cols);
        return rc;
    }
    fa.o.endpoint = l.label;
    /* Ctrl-C stops the fetch cleanly: the plugin sees the flag, the partial
     * file is removed; a plugin that does not stop has the grace period. */
    guard_start(&guard, c, l.conn,
                fa.grace >= 0 ? fa.grace : (double)c->cfg->shutdown_grace_ms / 1000.0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    ctx_set_signal_flag(&interrupted);

    st = fetch_run(c->cfg, l.conn, &fa.o, &rep, &e);
    guard_stop(&guard);
    if (st != DSRC_OK) {
        if (interrupted)
            fprintf(stderr, "%s: interrupted; nothing was written\n", c->prog);
        else
            err_print(c, &e);
        rc = fail_status(&e);
    } else if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "source", jstr(s->cfg->name));
        json_object_set_new(o, "item", jstr(fa.o.item));
        json_object_set_new(o, "format", jstr(rep.format));
        json_object_set_new(o, "file", jstr(rep.path));
        json_object_set_new(o, "manifest", jstr(rep.manifest_path));
        json_object_set_new(o, "rows", json_integer((json_int_t)rep.rows));
        json_object_set_new(o, "bytes", json_integer((json_int_t)rep.bytes));
        json_object_set_new(o, "sha256", jstr(rep.sha256));
        json_object_set_new(o, "cursor_from", jstr(rep.cursor_from));
        json_object_set_new(o, "cursor_to", jstr(rep.cursor_to));
        json_object_set_new(o, "seconds", json_real(rep.seconds));
        json_object_set_new(o, "endpoint", jstr(l.label));
        if (rep.path) {
            json_print(o);
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
    ctx_set_signal_flag(NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    fetch_report_free(&rep);
    lease_done(c, &l, &e);
    derr_clear(&e);
    free(cols);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "%s: cannot write standard output: %s\n", c->prog, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}

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

/* Ask dsrcd.  Returns DSRC_OK with *res, or the failure in `e`. */
static dsrc_status ask_daemon(cli *c, const char *cmd, const char *source, json_t **res,
                              derr *e)
{
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    dsrc_status st;

    if (!req)
        return derr_set(e, DSRC_E_INTERNAL, "out of memory");
    if (source)
        json_object_set_new(req, "source", json_string(source));
    st = api_call(c->cfg->control_socket, req, CLI_API_TIMEOUT_MS, res, e);
    json_decref(req);
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

static int cmd_pools(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("pools");
    int rc = 0, i;
    json_t *res = NULL, *src;
    derr e = {0};
    size_t k;

    if ((i = parse_opts(c, cmd, argc, argv, "h", longs, NULL, NULL, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return usage_error(c, cmd, "expected at most one source name");
    if ((rc = load_config(c, 0)))
        return rc;
    if (ask_daemon(c, "pools", argc - i == 1 ? argv[i] : NULL, &res, &e) != DSRC_OK) {
        err_print(c, &e);
        derr_clear(&e);
        return CLI_EXIT_FAIL;
    }
    if (c->json) {
        json_print(res);
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
        if (err) {
            char *r2 = redact_dup(err);
            printf("    last error: %s\n", r2 ? r2 : "");
            free(r2);
        }
    }
    if (json_is_integer(storage)) {
        char sz[32];
        fmt_size(sz, sizeof sz, (int64_t)json_integer_value(storage));
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
        err_print(c, &e);
        derr_clear(&e);
        return NULL;
    }
    if ((h = health_new(r, NULL, NULL, NULL))) {
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
    char *end;
    long v;

    if (opt != 'n')
        return 0;
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > 1000) {
        fprintf(stderr, "%s health: --probes needs a number from 1 to 1000, not '%s'\n",
                c->prog, arg);
        return -1;
    }
    *(int *)user = (int)v;
    return 0;
}

static int cmd_health(cli *c, int argc, char **argv)
{
    static const struct option longs[] = {COMMON_LONGS, {"probes", required_argument, NULL, 'n'},
                                          {NULL, 0, NULL, 0}};
    const cli_cmd *cmd = find_cmd("health");
    int rc = 0, i, probes = 3, local = 0;
    json_t *res = NULL, *rep;
    derr e = {0};
    size_t k;
    const char *name;

    if ((i = parse_opts(c, cmd, argc, argv, "hn:", longs, health_opt, &probes, &rc)) < 0)
        return rc;
    if (argc - i > 1)
        return usage_error(c, cmd, "expected at most one source name");
    name = argc - i == 1 ? argv[i] : NULL;
    if ((rc = load_config(c, 0)))
        return rc;
    if (ask_daemon(c, "health", name, &res, &e) != DSRC_OK) {
        if (e.status != DSRC_E_UNREACHABLE) {
            err_print(c, &e);
            derr_clear(&e);
            return CLI_EXIT_FAIL;
        }
        if (!c->json)
            fprintf(stderr, "%s: %s; probing from here (%d probe(s) per endpoint)\n",
                    c->prog, e.msg, probes);
        derr_clear(&e);
        local = 1;
        res = json_array();
        if (name) {
            const registry_source *s = need_source(c, name, &rc);
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
                const registry_source *s = valid_source(c, &c->cfg->sources[k]);
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
        json_print(res);
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

/* ------------------------------------------------------------------------ */
/* secret                                                                    */

static int cmd_secret(cli *c, int argc, char **argv)
{
    int rc;

    int help = 0, k;

    for (k = 1; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0)
            help = 1;
    if (argc >= 2 && strcmp(argv[1], "check") == 0 && !help) {
        /* check resolves every secret: it needs a valid configuration. */
        if ((rc = load_config(c, 0)))
            return rc;
    } else {
        /* The config, when there is one, only tells where the keys are. */
        if (!c->conf_path)
            c->conf_path = getenv("DSRC_CONFIG");
        if (!c->conf_path)
            c->conf_path = DEFAULT_CONF;
        if (c->conf_explicit || access(c->conf_path, F_OK) == 0) {
            c->cfg = cfg_load(c->conf_path, &c->diags);
            if (!c->cfg) {
                diag_print(&c->diags, stderr);
                return CLI_EXIT_CONFIG;
            }
        }
    }
    return cli_secret(argc, argv, c->cfg, c->prog);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */

static void usage(FILE *fp, const char *prog)
{
    size_t i;
    fprintf(fp,
            "usage: %s [-c FILE] [--json] [-v|-q] COMMAND [ARGS]\n\n"
            "Drive dsrc's sources and plugins from the configuration, in-process;\n"
            "pools and health ask the running dsrcd.\n\n"
            "Options:\n"
            "  -c, --config FILE   daemon configuration (default %s,\n"
            "                      or $DSRC_CONFIG)\n"
            "      --json          machine-readable output\n"
            "  -v, --verbose       more log output (repeat for debug)\n"
            "  -q, --quiet         only errors on stderr\n"
            "  -h, --help          this help; COMMAND --help for a command's\n"
            "  -V, --version       print the version\n\n"
            "Commands:\n",
            prog, DEFAULT_CONF);
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\nExit status: 0 ok, 1 operation failed, 2 usage error, "
                "78 configuration error.\nSee dsrc(1).\n");
}

int cli_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, OPT_JSON},
        {"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    cli c;
    int opt, rc, verbose = 0, quiet = 0;
    const cli_cmd *cmd;

    memset(&c, 0, sizeof c);
    c.prog = "dsrc";
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+c:vqhV", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            c.conf_path = optarg;
            c.conf_explicit = 1;
            break;
        case OPT_JSON:
            c.json = 1;
            break;
        case 'v':
            verbose++;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout, c.prog);
            return CLI_EXIT_OK;
        case 'V':
            printf("dsrc %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DSRC_ABI_MAJOR,
                   DSRC_ABI_MINOR);
            return CLI_EXIT_OK;
        default:
            fprintf(stderr, "%s: unknown option or missing argument: '%s'\n", c.prog,
                    argv[optind - 1]);
            usage(stderr, c.prog);
            return CLI_EXIT_USAGE;
        }
    }
    log_init("dsrc", LOG_TARGET_STDERR,
             quiet ? DSRC_LOG_ERROR : verbose > 1 ? DSRC_LOG_DEBUG
                                  : verbose ? DSRC_LOG_INFO : DSRC_LOG_WARNING);
    if (optind >= argc) {
        usage(stderr, c.prog);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 < argc && (cmd = find_cmd(argv[optind + 1]))) {
            printf("usage: %s %s\n\n%s\n", c.prog, cmd->usage, cmd->help);
            return CLI_EXIT_OK;
        }
        usage(stdout, c.prog);
        return CLI_EXIT_OK;
    }
    if (!(cmd = find_cmd(argv[optind]))) {
        fprintf(stderr, "%s: unknown command '%s'\n", c.prog, argv[optind]);
        usage(stderr, c.prog);
        return CLI_EXIT_USAGE;
    }
    c.log_forced = verbose || quiet;
    rc = cmd->run(&c, argc - optind, argv + optind);
    router_free(c.rt);
    registry_free(c.reg);
    loader_free(c.plugins);
    cfg_free(c.cfg);
    diag_free(&c.diags);
    redact_clear();
    return rc;
}

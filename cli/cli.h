/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h -- the `dsrc` command line: what its command files share.
 *
 * dsrc.c parses the global options and runs one command in-process from
 * the configuration, through the table of commands; each group of commands
 * is in its own file (cli_plugins.c, cli_config.c, cli_browse.c,
 * cli_fetch.c, cli_daemon.c, cli_secret.c, cli_audit.c).  A command
 * returns the process exit status:
 */
#ifndef DSRC_CORE_CLI_H
#define DSRC_CORE_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "conn/router.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "catalog/snapshot.h"

#define CLI_EXIT_OK 0       /* success                                      */
#define CLI_EXIT_FAIL 1     /* the operation failed (source, plugin, I/O)   */
#define CLI_EXIT_USAGE 2    /* bad command line                             */
#define CLI_EXIT_TEMPFAIL 75 /* failed for a reason that may pass (EX_TEMPFAIL) */
#define CLI_EXIT_CONFIG 78  /* configuration error (EX_CONFIG)              */
#define CLI_EXIT_INTERRUPTED 130 /* stopped by SIGINT (128 + 2)             */

/* The configuration read when neither -c nor $DSRC_CONFIG names one. */
#define CLI_DEFAULT_CONF DSRC_SYSCONFDIR "/dsrcd.conf"

/* The state of one run of dsrc: main() zeroes it, sets prog and the global
 * options, and frees cfg, diags, plugins, reg and rt once the command ran. */
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

/* One command: run() gets argv[0] = the command's name. */
typedef struct cli_cmd {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *usage;
    const char *summary;
    const char *help;
} cli_cmd;

/* The command called NAME in dsrc's table, or NULL. */
const cli_cmd *cli_find_cmd(const char *name);

/* The commands (argc, argv from the command's name on; exit status). */
int cli_cmd_plugins(cli *c, int argc, char **argv);      /* cli_plugins.c */
int cli_cmd_sources(cli *c, int argc, char **argv);      /* cli_config.c  */
int cli_cmd_check_config(cli *c, int argc, char **argv); /* cli_config.c  */
int cli_cmd_test(cli *c, int argc, char **argv);         /* cli_browse.c  */
int cli_cmd_ls(cli *c, int argc, char **argv);           /* cli_browse.c  */
int cli_cmd_describe(cli *c, int argc, char **argv);     /* cli_browse.c  */
int cli_cmd_discover(cli *c, int argc, char **argv);     /* cli_browse.c  */
int cli_cmd_fetch(cli *c, int argc, char **argv);        /* cli_fetch.c   */
int cli_cmd_query(cli *c, int argc, char **argv);        /* cli_query.c   */
int cli_cmd_pools(cli *c, int argc, char **argv);        /* cli_daemon.c  */
int cli_cmd_health(cli *c, int argc, char **argv);       /* cli_daemon.c  */
int cli_cmd_reload(cli *c, int argc, char **argv);       /* cli_daemon.c  */
int cli_cmd_secret(cli *c, int argc, char **argv);       /* cli_secret.c  */
int cli_cmd_runs(cli *c, int argc, char **argv);         /* cli_runs.c    */
int cli_cmd_nodes(cli *c, int argc, char **argv);        /* cli_runs.c    */
int cli_cmd_jobs(cli *c, int argc, char **argv);         /* cli_runs.c    */
int cli_cmd_run(cli *c, int argc, char **argv);          /* cli_runs.c    */
int cli_cmd_catalog(cli *c, int argc, char **argv);      /* cli_catalog.c */
int cli_cmd_drift(cli *c, int argc, char **argv);        /* cli_catalog.c */
int cli_cmd_stats(cli *c, int argc, char **argv);        /* cli_catalog.c */
int cli_cmd_token(cli *c, int argc, char **argv);        /* cli_audit.c   */
int cli_cmd_audit(cli *c, int argc, char **argv);        /* cli_audit.c   */
int cli_cmd_source(cli *c, int argc, char **argv);       /* cli_source.c  */
int cli_cmd_abi_check(cli *c, int argc, char **argv);    /* cli_abi.c     */
int cli_cmd_conformance(cli *c, int argc, char **argv);  /* cli_conformance.c */

/* ---- The audit trail (cli_audit.c) ---- */

/* Append the record of an in-process command to the audit trail of the
 * state store of cfg (cfg NULL: no configuration, nothing is recorded),
 * with this process's user as who, "cli" as origin and now as time, the
 * other fields from r.  0 (recorded, or nothing to record in), or -1 with
 * "PROG: warning: cannot write the audit record: WHY" printed: the caller
 * decides whether that fails the command (see dsrc(1)). */
struct store_audit_rec;
int cli_audit_record(const cfg_config *cfg, const char *prog, struct store_audit_rec *r);

/* ---- The stored catalog (cli_catalog.c) ---- */

/* Call fn for each item of the latest stored snapshot of `source`, as
 * metadata (the stored native type names, cell types as text), with the
 * snapshot in *info.  0, or an exit status (printed: no snapshot, the
 * store failed, fn returned nonzero). */
int cli_catalog_replay(cli *c, store *st, const char *source,
                       int (*fn)(void *, const dsrc_metadata *), void *user,
                       snapshot_info *info);

/* "snapshot N, last verified TIME (AGE ago)" into buf. */
void cli_catalog_age(const snapshot_info *info, char *buf, size_t n);

/* ---- Output helpers (cli.c) ---- */

/* Print j indented, in insertion order, ASCII-only, on stdout; frees j.
 * It is the command's one JSON document (see cli_finish()). */
void cli_json_print(json_t *j);

/* A command that writes its JSON document on stdout itself calls this
 * once it has begun; one whose stdout holds data (fetch -o -) calls
 * cli_json_stdout_taken(): its error object then goes to stderr. */
void cli_json_started(void);
void cli_json_stdout_taken(void);

/* Print "PROG: MESSAGE" (or the status name) for e on stderr, unless a log
 * line already said it, and keep it as the command's error (cli_note()). */
void cli_err_print(const cli *c, const derr *e);

/* ---- The error contract (cli.c; see EXIT STATUS and JSON OUTPUT in
 * dsrc(1)) ---- */

/* Keep the first error of the run for the error object: status (a
 * dsrc_status name, "usage" or "config"), message, and from e (may be
 * NULL) the retryable flag and the backend's code.  Later calls are
 * ignored. */
void cli_note(const char *status, const char *msg, const derr *e);

/* Print "PROG: MESSAGE" on stderr, keep it (cli_note()) and return exit. */
int cli_error(const cli *c, int exit, const char *status, const char *fmt, ...)
    DSRC_PRINTF(4, 5);

/* {"status", "message", "exit", "retryable"[, "code"]} for e, the inside
 * of an error object, for a command that reports several results. */
json_t *cli_derr_json(const derr *e, int exit);

/* The error object {"error": {"status", "message", "exit", "command",
 * "retryable"[, "code"]}} of a command that exits `exit`, from what was
 * noted (a generic message by exit status when nothing was). */
json_t *cli_error_json(const char *command, int exit);

/* End a command that returned rc: with --json, a failed command that
 * printed no JSON document prints its error object (on stderr when stdout
 * holds data).  Returns rc. */
int cli_finish(const cli *c, const char *command, int rc);

/* Of the n names in v, the one nearest to `word` when it looks like a
 * typo of it, else NULL (nearest_name(), base/nearest.h). */
const char *cli_nearest(const char *word, const char *const *v, size_t n);

/* A JSON string with every registered secret replaced by ***; null for
 * NULL.  Every string that reaches the output goes through here.  Bytes
 * that are not UTF-8 are shown as the text \xNN. */
json_t *cli_jstr(const char *s);

/* The names printed for an item kind and an option type. */
const char *cli_kind_name(dsrc_item_kind k);
const char *cli_opt_type_name(dsrc_option_type t);

/* Format into buf (n bytes), "-" for a negative (unknown) value: a count
 * ("~" prefixed when estimated), a size in B/KiB/MiB..., a UTC time. */
void cli_fmt_i64(char *buf, size_t n, int64_t v, int estimated);
void cli_fmt_size(char *buf, size_t n, int64_t v);
void cli_fmt_time(char *buf, size_t n, int64_t t);

/* The capability bits caps as "cancel,cursor,..." ("-" when none) in buf,
 * or as a JSON array of those names. */
void cli_caps_string(uint32_t caps, char *buf, size_t n);
json_t *cli_caps_json(uint32_t caps);

/* ---- Configuration (cli.c) ---- */

/* Load the config, the plugins and the registry into c.  allow_missing: a
 * default config file that does not exist only loads the plugins from the
 * plugin directory.  Returns 0 or an exit status (errors printed). */
int cli_load_config(cli *c, int allow_missing);

/* Load the config (cli_load_config(c, 0)) and open its state store; NULL
 * with *rc set (errors printed).  (cli_catalog.c) */
store *cli_open_store(cli *c, int *rc);

/* The registered source of cs, unless its file has errors. */
const registry_source *cli_valid_source(const cli *c, const cfg_source *cs);

/* The valid source NAME, or NULL with the reason printed and *rc set.  The
 * source's config warnings are printed the first time. */
const registry_source *cli_need_source(cli *c, const char *name, int *rc);

/* The exit status of a failed operation: 75 (EX_TEMPFAIL) when trying again
 * later may succeed (unreachable, timed out, throttled, a dropped
 * connection), 1 otherwise. */
int cli_fail_status(const derr *e);

/* Borrow a connection to source NAME for operation `op` through the
 * source's router (c->rt): the operation's intent and the source's
 * read_policy choose the endpoint, with failover.  Returns 0 with *l
 * filled (give it back with cli_lease_done()) or an exit status (printed). */
int cli_lease_source(cli *c, const char *name, const char *op, router_lease *l);
/* The same; when it fails to connect, *why (zeroed by the caller) gets
 * the error (clear it). */
int cli_lease_source_why(cli *c, const char *name, const char *op, router_lease *l, derr *why);

/* Give a lease back with the operation's outcome (e NULL: success). */
void cli_lease_done(cli *c, router_lease *l, const derr *e);

/* ---- Interruption (cli_cancel.c; see SIGNALS in dsrc(1)) ---- */

/* From here to cli_cancel_end(), SIGINT and SIGTERM interrupt the
 * command's plugin calls (call it once the configuration is loaded,
 * before the first connection is opened): the first signal raises the flag
 * plugins poll and, from a watcher thread, cancels every plugin call of
 * the process, open() included (source_cancel_all(): the flag, the cancel
 * descriptor, the plugin's cancel()).  The command then goes on and ends
 * as its calls return (main() turns the status into
 * cli_interrupted_exit()'s).  A call that has not returned `grace_s`
 * seconds after the signal (< 0: the configuration's shutdown_grace), or a
 * second signal, ends the process at once: the temporary output files are
 * removed, the reason printed, and the status is 128 + the signal.
 * `detail` (may be NULL) is added to the message of an interruption. */
void cli_cancel_begin(const cli *c, double grace_s, const char *detail);
/* Signals keep their default action again (after a signal, a second one
 * still ends the process at once).  Waits for the watcher thread after a
 * signal; without one the thread stays, idle, until the process ends. */
void cli_cancel_end(void);
/* pool_opts.open_guard for an open run in the command's own thread
 * (`user`: the source's name): from ms_left >= 0 on, the watcher thread
 * cancels the open when it has not returned within ms_left (the pool
 * then reports the acquire's timeout), and ends the process with status
 * 75 when it has not returned within the grace period after that either;
 * ms_left -1: the open returned.  Does nothing before cli_cancel_begin()
 * (no watcher thread). */
void cli_cancel_guard(void *user, int64_t ms_left);
/* The signal that interrupted the command (SIGINT, SIGTERM), or 0. */
int cli_interrupted(void);
/* Print "PROG: interrupted (SIGNAL)[; detail]" once, keep it as the
 * command's error ("cancelled") and return 128 + the signal. */
int cli_interrupted_exit(const cli *c);

/* ---- Option parsing (cli.c) ---- */

enum { CLI_OPT_HELP = 'h', CLI_OPT_JSON = 1000 };

/* The long options every command takes: --help and --json. */
#define CLI_COMMON_LONGS {"help", no_argument, NULL, CLI_OPT_HELP}, {"json", no_argument, NULL, CLI_OPT_JSON}

/* Handle one of a command's own options; < 0 stops with a usage error. */
typedef int (*cli_opt_fn)(cli *c, int opt, const char *arg, void *user);

/* Parse a command's options (--help prints the command's help, --json sets
 * c->json, the others go to fn with user).  Returns the index of the first
 * operand, or -1 to stop with *rc set (0 after --help, 2 on a usage error,
 * printed). */
int cli_parse_opts(cli *c, const cli_cmd *cmd, int argc, char **argv,
                   const char *shorts, const struct option *longs, cli_opt_fn fn,
                   void *user, int *rc);

/* A whole number in [min, max] from an option's argument into *out: 0, or
 * -1 with "PROG CMD: OPT needs a whole number from MIN to MAX, not 'ARG'"
 * printed. */
int cli_opt_int(const cli *c, const char *cmd, const char *opt, const char *arg,
                long long min, long long max, long long *out);

/* A time option into *ms (ms since the epoch): an ISO 8601 UTC time
 * (2024-01-31, 2024-01-31T12:00, 2024-01-31T12:00:00Z) or a duration
 * ("2h", "7d") meaning that long ago, or from now when `ahead`.  0, or -1
 * with "PROG CMD: OPT needs a time ..." printed.  (cli_catalog.c) */
int cli_opt_time(const cli *c, const char *cmd, const char *opt, const char *arg, int ahead,
                 int64_t *ms);

/* Print "PROG CMD: WHAT" and the command's usage on stderr; returns 2. */
int cli_usage_error(cli *c, const cli_cmd *cmd, const char *what);

#endif

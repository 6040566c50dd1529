/* SPDX-License-Identifier: Apache-2.0 */
/* dsrc -- the command-line tool (see dsrc(1)): the global options and the
 * table of commands; the commands are in cli_*.c (see cli.h). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "base/log.h"
#include "base/redact.h"
#include "isolate/isolate.h"

static const cli_cmd commands[] = {
    {"plugins", cli_cmd_plugins, "plugins [--options NAME] [--json]",
     "list the plugins found, or one plugin's options",
     "Lists every NAME.so in the plugin directories with its version, ABI and\n"
     "capabilities; plugins that are refused are reported on stderr.\n"
     "  -o, --options NAME  print the options a source of type NAME accepts\n"
     "      --json          machine-readable output"},
    {"abi-check", cli_cmd_abi_check, "abi-check PLUGIN.so [--target 1.0|1.1|1.2|1.3|1.4] [--json]",
     "check a built plugin against a released ABI minor",
     "Loads PLUGIN.so as a host of the target ABI would (by default the minor\n"
     "its magic block declares), with a driver of that version's size and the\n"
     "bytes after it poisoned, and reports every problem: members set that\n"
     "the target does not have, a declared minor above the target, missing\n"
     "required members, malformed option tables and option limits.  Exit\n"
     "status 0 when none was found, 1 otherwise.  Needs no configuration.\n"
     "  -t, --target V      the ABI minor to check against: 1.0 to 1.4\n"
     "      --json          machine-readable output"},
    {"sources", cli_cmd_sources, "sources [NAME] [--json]",
     "list the configured sources (secrets shown as ***)",
     "Lists the sources in sources_dir; with NAME, shows one source in detail.\n"
     "Secret option values are always shown as ***.\n"
     "      --json          machine-readable output"},
    {"check-config", cli_cmd_check_config, "check-config [--json]",
     "validate the configuration and exit 78 on any error",
     "Reads the daemon file and every source, loads the plugins they need and\n"
     "validates every option.  Prints all errors found as FILE:LINE: error: ...\n"
     "Exit status 0 when valid, 78 (EX_CONFIG) otherwise.  Touches nothing."},
    {"test", cli_cmd_test, "test NAME [--all] [--json]",
     "open and ping a source; print latency and the endpoint that answered",
     "Opens a connection to the source, does a real round-trip and prints the\n"
     "latency, endpoint, role and server version.\n"
     "  -a, --all           test the primary and every replica\n"
     "      --json          machine-readable output"},
    {"ls", cli_cmd_ls, "ls NAME [PATH] [--json]", "list items under a path",
     "Lists databases, schemas, tables, views, collections, containers or\n"
     "blobs under PATH ('' = the root), with kind, rows, size and mtime.\n"
     "      --json          machine-readable output"},
    {"describe", cli_cmd_describe, "describe NAME ITEM [--json]",
     "show an item's columns, counts and properties",
     "Shows the columns (type, nullability, key, default, comment), the row\n"
     "count or size and backend properties of one item.\n"
     "      --json          machine-readable output"},
    {"discover", cli_cmd_discover, "discover NAME [PATH] [--system] [--cached] [--json]",
     "the whole catalog: every item with its columns",
     "Discovers every table/view/collection with its columns in a bounded\n"
     "number of round-trips.  A discover of the whole source (no PATH, no\n"
     "--system) is kept in the state store as a catalog snapshot when it\n"
     "changed, and its changes as drift events (see dsrc catalog, dsrc drift).\n"
     "It runs in the source's schedule.discover_mode (adaptive: balanced here)\n"
     "and prints that mode with the query count.\n"
     "  -s, --system        include system schemas\n"
     "  -C, --cached        when the live discover fails, answer from the stored\n"
     "                      catalog, its age stated on stderr\n"
     "      --json          machine-readable output (a JSON array)"},
    {"catalog", cli_cmd_catalog,
     "catalog SOURCE [ITEM] [--at TIME | --snapshot ID] [--json] | catalog --search PATTERN",
     "the stored catalog of a source, or search every stored catalog",
     "Shows the catalog kept by the last discover of SOURCE (or the snapshot in\n"
     "effect at TIME, or snapshot ID), without touching the source: every item\n"
     "with its kind, rows and columns; with ITEM, its columns.\n"
     "  -t, --at TIME       2024-01-31T12:00:00Z, or an age such as 2h or 7d\n"
     "  -S, --snapshot ID   that snapshot\n"
     "  -s, --search PAT    items and columns whose names match PAT (a glob,\n"
     "                      case ignored; without wildcards, a substring) in\n"
     "                      every source's latest snapshot\n"
     "      --json          machine-readable output"},
    {"drift", cli_cmd_drift, "drift SOURCE [--since TIME] [--json] | drift ack SOURCE ITEM",
     "the schema changes of a source, breaking first; acknowledge them",
     "Lists the drift events recorded between stored catalogs of SOURCE:\n"
     "ID, TIME, CLASS (breaking, non-breaking), CHANGE, ITEM, COLUMN, BEFORE,\n"
     "AFTER and whether it was acknowledged; breaking ones first.  'drift ack\n"
     "SOURCE ITEM' acknowledges every change of ITEM: fetches paused by\n"
     "on_breaking_change = \"pause\" run again.\n"
     "  -t, --since TIME    only events since TIME (or an age: 7d)\n"
     "      --json          machine-readable output"},
    {"stats", cli_cmd_stats, "stats SOURCE [--json]",
     "a source's catalog in figures: schemas, tables, views, columns, rows, bytes",
     "From the stored catalog of SOURCE: items, schemas, tables, views,\n"
     "columns, estimated rows and bytes where the plugin knows them, the last\n"
     "discover's time and duration, and the changes of the last 30 days; then\n"
     "the last discover's mode, result, queries, retries, errors and duration.\n"
     "      --json          machine-readable output"},
    {"fetch", cli_cmd_fetch,
     "fetch NAME ITEM [--format csv|jsonl|raw] [--columns a,b] [--limit N]\n"
     "             [--cursor-field F] [--after VALUE] [--incremental] [-o FILE|-]\n"
     "             [--grace SECONDS] [--mask COLUMN=MODE,...]",
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
     "  -m, --mask SPEC       mask columns: COLUMN=MODE,... with MODE hash (keyed\n"
     "                        HMAC-SHA-256, hex), redact (null), last4, or\n"
     "                        truncate:year|month|day|hour|minute (dates and\n"
     "                        timestamps); added to the fetch rule's mask\n"
     "      --grace SECONDS   after SIGINT/SIGTERM, how long a plugin that does not\n"
     "                        stop may take before dsrc removes the unfinished\n"
     "                        file and exits 128+signal (default: shutdown_grace)\n"
     "      --json            print the summary as JSON\n"
     "A fetch rule in the source's config for ITEM supplies defaults for\n"
     "format, columns, limit and cursor field; its mask always applies."},
    {"query", cli_cmd_query,
     "query NAME 'STATEMENT' [--param VALUE]... [--null-param] [--limit N]\n"
     "             [--format csv|jsonl] [--timeout SECONDS] [-o FILE|-]\n"
     "             [--mask COLUMN=MODE,...] [--grace SECONDS]",
     "run one read-only statement and write its rows as fetch does",
     "Runs STATEMENT on the source (the endpoint its read_policy chooses) in a\n"
     "way the backend itself keeps read-only: a statement that writes fails\n"
     "with the backend's own error.  Parameters are bound by the backend, never\n"
     "put into the text; placeholders are the backend's own ($1 for PostgreSQL,\n"
     "? for MySQL and SQLite).  The rows are written as dsrc fetch writes them.\n"
     "Each query is recorded in the audit trail (its text and a hash of its\n"
     "parameters, never their values).\n"
     "  -p, --param VALUE     bind VALUE to the next placeholder (in order)\n"
     "  -N, --null-param      bind NULL to the next placeholder\n"
     "  -n, --limit N         read at most N rows\n"
     "  -f, --format F        csv (default) or jsonl\n"
     "  -t, --timeout SECONDS the statement's time limit in the backend\n"
     "                        (default 300; 0: none)\n"
     "  -o, --output FILE     write FILE (and FILE.manifest.json); '-' = stdout\n"
     "                        (default)\n"
     "  -q, --quiet           no summary and no progress\n"
     "  -m, --mask SPEC       mask columns: COLUMN=MODE,... as for dsrc fetch\n"
     "      --grace SECONDS   after SIGINT/SIGTERM, how long a plugin that does not\n"
     "                        stop may take (default: shutdown_grace)\n"
     "      --json            print the summary as JSON"},
    {"pools", cli_cmd_pools, "pools [NAME] [--json]",
     "connection pools and circuit breakers of the running dsrcd",
     "Asks dsrcd (through its control socket) for every endpoint's pool and\n"
     "circuit breaker: SOURCE, ENDPOINT, ROLE, BREAKER, TOTAL/MAX connections,\n"
     "IDLE, ACTIVE, WAITING, OPENED, CLOSED, TIMEOUTS, FAILED opens and the\n"
     "acquire wait p50/p95/p99 in ms.  With NAME, one source.  Exits 1 when\n"
     "dsrcd is not running.\n"
     "      --json          machine-readable output"},
    {"health", cli_cmd_health, "health [NAME] [--probes N] [--json]",
     "health of the sources: status, latency, errors, recommendations",
     "Asks dsrcd for the health of every source (or NAME) from its periodic\n"
     "probes; when dsrcd is not running, probes the sources from here.\n"
     "Prints the status (healthy, degraded, down), latency p50/p95, error\n"
     "rate, uptime, last error, pool and breaker state, storage size when the\n"
     "plugin can tell, and recommendations.\n"
     "  -n, --probes N      probes per endpoint when probing from here (3)\n"
     "      --json          machine-readable output\n"
     "Exit status 0 when every source is healthy, 1 otherwise."},
    {"reload", cli_cmd_reload, "reload [--json]",
     "ask the running dsrcd to reload its configuration; exit 78 if refused",
     "Asks dsrcd (through its control socket; the admin role) to re-read the\n"
     "configuration it was started with, as SIGHUP does, and waits for the\n"
     "result.  Prints 'reloaded: N source(s)' and exits 0 when the new\n"
     "configuration is in force; when it has errors, dsrcd keeps the running\n"
     "one, and dsrc prints every error as FILE:LINE: error: MESSAGE and exits\n"
     "78.  Exits 75 when dsrcd is not running.\n"
     "      --json          the daemon's answer (or its problem document)"},
    {"jobs", cli_cmd_jobs, "jobs [SOURCE] [--json]",
     "the scheduled jobs of the running dsrcd: next and last run",
     "Asks dsrcd for every job (a source's schedule.discover, each fetch rule\n"
     "with a schedule): SOURCE, KIND, ITEM, SCHEDULE, STATE (scheduled, queued,\n"
     "running, held, idle), NEXT fire time (UTC), LAST RUN, RESULT and ERROR\n"
     "(or why the job is held).  Exits 1 when dsrcd is not running.\n"
     "      --json          machine-readable output"},
    {"run", cli_cmd_run, "run SOURCE discover|ITEM [--wait] | run --cancel ID [--wait]",
     "ask the running dsrcd to run a discover or a fetch now, or cancel a run",
     "Queues a run in dsrcd, through its pools: the source's discover, or the\n"
     "fetch of ITEM (with the fetch rule for ITEM, if any).  Prints the run's id.\n"
     "  -w, --wait          wait for the run to end; exit 0 when it succeeded,\n"
     "                      75 when it failed and may succeed later, 1 otherwise\n"
     "  -x, --cancel ID     cancel a queued or running run\n"
     "      --json          machine-readable output\n"
     "A run of a job that is already queued or running is refused (exit 75)."},
    {"runs", cli_cmd_runs, "runs [SOURCE|ID] [--state S] [--limit N] [--json]",
     "the record of runs: discover and fetch, by dsrcd or dsrc fetch --incremental",
     "Lists the runs in the state store, newest first: ID, SOURCE, KIND\n"
     "(discover, fetch), ITEM, TRIGGER (schedule, manual, retry, catch-up, cli),\n"
     "STATE (queued, running, succeeded, failed, cancelled), NODE, ATTEMPT,\n"
     "STARTED, ROWS, ENDPOINT and ERROR.  With SOURCE, its runs; with a run ID, that run\n"
     "in full (file, SHA-256, cursor range, error status and retryable flag).\n"
     "Reads the state store directly: dsrcd need not run.\n"
     "  -s, --state S       only runs in state S\n"
     "  -n, --limit N       at most N runs (20)\n"
     "      --json          machine-readable output"},
    {"nodes", cli_cmd_nodes, "nodes [--json]",
     "the nodes (dsrcd) sharing the state store: live, heartbeat, leases",
     "Lists the daemons that share the state store (a cluster: one PostgreSQL\n"
     "state_store, see dsrcd(8)), by node_name: NAME, LIVE (a heartbeat in the\n"
     "last 10 s), VERSION, STARTED, HEARTBEAT (the last), LEASES (the runs it\n"
     "is running), LEASE UNTIL (the earliest expiry of their leases) and RUNS\n"
     "(the runs it has recorded).  Asks dsrcd, else reads the store directly.\n"
     "      --json          machine-readable output"},
    {"token", cli_cmd_token,
     "token create --role R --name N [--expires D] | token list | token revoke NAME",
     "the control API's bearer tokens: make one, list them, revoke one",
     "Tokens let clients of dsrcd's API on TCP in (Authorization: Bearer TOKEN).\n"
     "'token create' makes a token with a role (viewer, operator, admin) and\n"
     "prints it on stdout, once: only its SHA-256 is kept in the state store.\n"
     "'token list' shows NAME, ROLE, STATE (active, expired, revoked), CREATED,\n"
     "EXPIRES, REVOKED and LAST USED, never a token or a hash.  'token revoke'\n"
     "refuses the token from then on.  Writes the state store directly (dsrcd\n"
     "need not run; write access to it is needed); create and revoke are\n"
     "recorded in the audit trail, and a token whose making cannot be recorded\n"
     "is revoked at once.\n"
     "  -r, --role R        viewer, operator or admin\n"
     "  -N, --name N        its name: letters, digits, '.', '_', '-' (at most 64)\n"
     "  -e, --expires D     a duration from now (12h, 30d) or a time\n"
     "                      (2025-12-31, 2025-12-31T12:00:00Z); default: never\n"
     "      --json          machine-readable output"},
    {"audit", cli_cmd_audit, "audit [--since T] [--source S] [--limit N] [--json] | audit --verify",
     "the audit trail: who did what, when, from where; check its hash chain",
     "Lists the audit records in the state store, newest last: ID, TIME, WHO,\n"
     "ORIGIN (socket, cli, or the client's address), ACTION (an API route or a\n"
     "command: fetch, secret decrypt, secret rotate, token create...), SOURCE,\n"
     "ITEM, RESULT, ROWS, BYTES and DETAIL.  Each record holds the SHA-256 of\n"
     "the one before: --verify checks the whole chain and names the first\n"
     "record changed, or after a record deleted or moved.\n"
     "  -t, --since T       only records since T (2024-01-31T12:00:00Z, or an\n"
     "                      age: 7d)\n"
     "  -s, --source S      only records of source S\n"
     "  -n, --limit N       the newest N records (100)\n"
     "  -V, --verify        check the chain: exit 0 and 'N records, chain\n"
     "                      intact', or exit 1 naming the first broken record\n"
     "      --json          machine-readable output"},
    {"source", cli_cmd_source,
     "source add NAME --type T [--set K=V]... [--secret K]... [--no-test] | source set NAME "
     "K=V... [--secret K]... [--unset K]... [--no-test] | source rm NAME [--cancel] [--purge] | "
     "source show NAME | source export NAME [--format json|libconfig]",
     "add, change, remove and show sources at run time (tested, secrets encrypted)",
     "Changes a source's file in sources_dir: through dsrcd's API when it runs\n"
     "(which serves the change at once), directly on the files otherwise, with\n"
     "the same checks.  A source is checked as a hand-written file would be\n"
     "(every error, each naming its field), opened and pinged through its plugin\n"
     "(unless --no-test), its secrets given in plain text are encrypted with the\n"
     "host's Fernet key, and the file is written atomically.\n"
     "KEY is a setting's path: pool.max_size, labels.env, schedule.health; a KEY\n"
     "without '.' that is not a top-level setting is a connection option (host,\n"
     "port...).  VALUE is a number, true, false or a JSON array as such, else text.\n"
     "  -t, --type T        the plugin (add)\n"
     "  -s, --set K=V       set a setting (add, set; set also takes K=V operands)\n"
     "  -S, --secret K      read K's value from the terminal without echo, or one\n"
     "                      line from standard input; never from the command line\n"
     "  -u, --unset K       remove a setting (set)\n"
     "  -n, --no-test       store it without opening it first\n"
     "  -C, --cancel        rm: cancel its running runs (else they finish)\n"
     "  -P, --purge         rm: drop its cursors, run history and catalog too\n"
     "  -f, --format F      export: json (default) or libconfig\n"
     "      --json          machine-readable output"},
    {"conformance", cli_cmd_conformance, "conformance NAME [--quirks FILE] [--json]",
     "run the shared plugin conformance cases against a source",
     "Runs the cases every plugin must pass against source NAME, through the\n"
     "host's own code: open, ping, list, describe, discover, fetch (full, columns,\n"
     "limit, unknown column), cursor, a sink that stops, cancel, a bad option,\n"
     "the errors' messages and a leak check of open/close.  Prints each case as\n"
     "PASS NAME, FAIL NAME: WHY or SKIP NAME: WHY.  Exit status 0 when none\n"
     "failed, 1 otherwise.\n"
     "  -Q, --quirks FILE   the plugin's declared quirks, the item, container and\n"
     "                      cursor field to use, a bad option value (see dsrc(1))\n"
     "      --json          one JSON document with every case"},
    {"secret", cli_cmd_secret, "secret genkey|encrypt|decrypt|rotate|check [ARGS]",
     "make keys, encrypt secrets, rotate tokens, check every secret",
     "See 'dsrc secret --help' and dsrc(1)."},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const cli_cmd *cli_find_cmd(const char *name)
{
    size_t i;
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
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
            prog, CLI_DEFAULT_CONF);
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\nExit status: 0 ok, 1 operation failed, 2 usage error, 75 may succeed\n"
                "later (unreachable, timed out), 78 configuration error, 130 interrupted.\n"
                "See dsrc(1).\n");
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, CLI_OPT_JSON},
        {"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    cli c;
    int opt, rc, verbose = 0, quiet = 0, version = 0;
    const cli_cmd *cmd;

    if ((rc = isolate_worker_main(argc, argv)) >= 0) /* a plugin worker process */
        return rc;
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
        case CLI_OPT_JSON:
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
            version = 1;
            break;
        default:
            cli_error(&c, CLI_EXIT_USAGE, "usage", "unknown option or missing argument: '%s'",
                      argv[optind - 1]);
            usage(stderr, c.prog);
            /* --json after the bad option still asks for the error object */
            for (; optind < argc && !c.json; optind++)
                c.json = strcmp(argv[optind], "--json") == 0;
            return cli_finish(&c, NULL, CLI_EXIT_USAGE);
        }
    }
    if (version) {
        if (c.json)
            cli_json_print(json_pack("{s:s, s:s, s:{s:i, s:i}}", "name", "dsrc", "version",
                                     PACKAGE_VERSION, "plugin_abi", "major", DSRC_ABI_MAJOR,
                                     "minor", DSRC_ABI_MINOR));
        else
            printf("dsrc %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DSRC_ABI_MAJOR,
                   DSRC_ABI_MINOR);
        return CLI_EXIT_OK;
    }
    log_init("dsrc", LOG_TARGET_STDERR,
             quiet ? DSRC_LOG_ERROR : verbose > 1 ? DSRC_LOG_DEBUG
                                  : verbose ? DSRC_LOG_INFO : DSRC_LOG_WARNING);
    /* a command's messages are for the person or script that runs it:
     * no time stamps, and each error once */
    log_set_timestamps(0);
    log_keep_recent(1);
    if (optind >= argc) {
        usage(stderr, c.prog);
        cli_note("usage", "no command given", NULL);
        return cli_finish(&c, NULL, CLI_EXIT_USAGE);
    }
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 < argc && (cmd = cli_find_cmd(argv[optind + 1]))) {
            printf("usage: %s %s\n\n%s\n", c.prog, cmd->usage, cmd->help);
            return CLI_EXIT_OK;
        }
        usage(stdout, c.prog);
        return CLI_EXIT_OK;
    }
    if (!(cmd = cli_find_cmd(argv[optind]))) {
        const char *names[N_COMMANDS + 1], *near;
        size_t i;
        for (i = 0; i < N_COMMANDS; i++)
            names[i] = commands[i].name;
        near = cli_nearest(argv[optind], names, N_COMMANDS);
        cli_error(&c, CLI_EXIT_USAGE, "usage", "unknown command '%s'%s%s%s", argv[optind],
                  near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        if (!near)
            usage(stderr, c.prog);
        return cli_finish(&c, NULL, CLI_EXIT_USAGE);
    }
    c.log_forced = verbose || quiet;
    rc = cmd->run(&c, argc - optind, argv + optind);
    if (cli_interrupted())
        rc = cli_interrupted_exit(&c);
    rc = cli_finish(&c, cmd->name, rc);
    router_free(c.rt);
    cli_cancel_end();
    registry_free(c.reg);
    loader_free(c.plugins);
    cfg_free(c.cfg);
    diag_free(&c.diags);
    redact_clear();
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h -- reading dsrcd.conf and sources.d/ (libconfig 1.5).
 *
 * cfg_load() reads the daemon file and then every *.conf in sources_dir in
 * name order, one source per file.  It checks everything the host owns
 * (names, types of values, enums, durations, cron expressions, unknown keys,
 * duplicates) and records every problem in the diag_list with file and line;
 * it keeps going after an error.  Connection options are checked against the
 * plugin's option table later, by the registry (registry.h), because that
 * needs the plugin.
 *
 * Files: relative paths in the daemon file resolve against its directory;
 * relative tls ca/cert/key and gcp service_account_file paths in a source
 * file resolve against that file's directory; @include is relative to the
 * including file.  In sources_dir, only regular files named *.conf not
 * starting with '.' are read, in strcmp() order of their names.
 *
 * A source is kept in cfg_config.sources when it has a valid, unique name
 * and a valid type, even if other settings are wrong (those keep their
 * defaults and cfg_source.n_errors counts the problems); a source file with
 * a syntax error is skipped.  Secrets found here (cloud secret_access_key,
 * session_token, client_secret; tls key_passphrase) are registered with
 * redact_add().
 *
 * Ownership: the cfg_config owns every string in it; cfg_free() frees all.
 */
#ifndef DSRC_CORE_CONFIG_H
#define DSRC_CORE_CONFIG_H

#include <stdint.h>
#include <dsrc/plugin.h>
#include "base/diag.h"
#include "output/mask.h"

/* A value as written in the config: the text form plus where it was. */
typedef enum cfg_vtype {
    CFG_V_STRING, CFG_V_INT, CFG_V_FLOAT, CFG_V_BOOL, CFG_V_OTHER
} cfg_vtype;

typedef struct cfg_value {
    char *key;
    char *text;     /* string as-is; int as decimal; bool "true"/"false" */
    cfg_vtype type;
    int line;
} cfg_value;

typedef struct cfg_pool {
    int max_size;                 /* default 10                          */
    int min_idle;                 /* default 0                           */
    int64_t acquire_timeout_ms;   /* default 30 s                        */
    int64_t idle_timeout_ms;      /* default 10 min                      */
    int64_t max_lifetime_ms;      /* default 30 min                      */
    int64_t keepalive_ms;         /* 0 = off (default)                   */
    int64_t validate_after_ms;    /* default 500 ms                      */
    int64_t leak_threshold_ms;    /* 0 = off (default)                   */
} cfg_pool;

typedef struct cfg_fetch_rule {
    char *item;             /* required                                      */
    char *format;           /* "csv" (default) or "jsonl"                    */
    char **columns;         /* NULL: all                                     */
    size_t n_columns;
    int64_t limit;          /* -1: none                                      */
    char *cursor_field;     /* NULL: full fetch                              */
    char *schedule;         /* cron or "@every 5m"; NULL: on demand          */
    int line;
    int pause_on_breaking;  /* on_breaking_change = "pause": scheduled
                               fetches wait for `dsrc drift ack` after a
                               breaking change of the item (drift.h)     */
    /* mask = { column = "mode"; ... } (output/mask.h); NULL: none */
    mask_rule *mask;        size_t n_mask;
} cfg_fetch_rule;

/* isolation = "process" | "none" (dsrc.conf(5)): where a plugin runs. */
typedef enum cfg_isolation {
    CFG_ISOLATION_UNSET = 0,   /* the daemon's setting, else the default    */
    CFG_ISOLATION_PROCESS = 1, /* a supervised worker process (core/isolate) */
    CFG_ISOLATION_NONE = 2     /* in the host's own process                 */
} cfg_isolation;

typedef struct cfg_source {
    char *name;             /* [A-Za-z0-9_.-]+, unique                      */
    char *type;             /* the plugin name                               */
    char *file;             /* the file it came from                         */
    int line;               /* line of the `name` setting                    */
    int type_line;
    dsrc_location location; /* default on_prem                               */
    int enabled;            /* default 1                                     */
    cfg_isolation isolation; /* UNSET unless the file says                   */

    cfg_value *labels;      size_t n_labels;
    cfg_value *connection;  size_t n_connection;  /* checked by the registry */
    int connection_line;

    /* cloud = { provider = "aws"|"azure"|"gcp"; ... } */
    char *cloud_provider;   /* NULL when no cloud group                      */
    cfg_value *cloud;       size_t n_cloud;  /* every key, provider included */

    /* tls = { mode; ca; cert; key; key_passphrase; }; cert and key go
       together.  tls_mode is never NULL once read: the group's mode,
       "verify-full" when the group has none, and without a group the
       location's (cfg_tls_default_mode()); tls_line is 0 then. */
    char *tls_mode, *tls_ca, *tls_cert, *tls_key;
    int tls_line;

    /* replicas = { hosts = [...]; replica_set; read_policy; } */
    char **replica_hosts;   size_t n_replica_hosts;
    char *replica_set;
    char *read_policy;      /* primary | primary_preferred | replica |
                               replica_preferred | nearest; "primary" when
                               the group is present without it; NULL when
                               there is no replicas group                   */

    cfg_pool pool;

    /* schedule = { discover = "..."; health = "..."; } */
    char *schedule_discover;
    char *schedule_health;

    cfg_fetch_rule *fetch;  size_t n_fetch;

    /* Appended members: */
    char *tls_key_passphrase; /* secret; registered with redact_add()       */
    size_t n_errors;        /* errors reported for this source's file; the
                               source is kept (with the faulty settings at
                               their defaults) so the registry can still
                               check its connection options               */
    int discover_mode;      /* schedule.discover_mode: a cfg_discover_mode;
                               adaptive (0) by default                    */
} cfg_source;

/* schedule.discover_mode: how hard a discover may press the source.
 * Adaptive lets the host choose from the source's health (discovery.h);
 * the others are passed to the plugin as they are. */
typedef enum cfg_discover_mode {
    CFG_DISCOVER_ADAPTIVE = 0,
    CFG_DISCOVER_BALANCED = 1,
    CFG_DISCOVER_CONSERVATIVE = 2,
    CFG_DISCOVER_AGGRESSIVE = 3
} cfg_discover_mode;

/* jobs = { ... } in the daemon file: how dsrcd runs the scheduled work. */
typedef struct cfg_jobs {
    int workers;              /* runs at once in all; default 4             */
    int per_source;           /* runs of one source at once (never more
                                 than its pool's max_size); default 2       */
    int64_t jitter_max_ms;    /* fire times spread over a tenth of the
                                 interval, at most this; default 60 s       */
    int retry_attempts;       /* attempts per fire time; default 5          */
    int64_t retry_backoff_ms; /* before the first retry, doubling; 1 s      */
    int64_t retry_backoff_max_ms; /* never longer than this; default 5 min  */
    int64_t stall_timeout_ms; /* a run whose rows and bytes do not move this
                                 long is cancelled and retried; 5 min       */
    int64_t retention_ms;     /* run records kept this long; 30 days        */
} cfg_jobs;

/* catalog = { ... } in the daemon file: the discovered catalogs kept. */
typedef struct cfg_catalog {
    int64_t retention_ms;     /* snapshots and drift events kept; 90 days   */
} cfg_catalog;

/* api = { ... } in the daemon file: the control API (dsrcd.8).  Who gets
 * which role on the control socket: uid 0 and the daemon's own uid are
 * always admin; then a user named in admin/operator/viewer_users, or a
 * member of a group named in *_groups, gets that role (the highest that
 * matches).  Unset, operator_groups is ["dsrc"], the others are empty. */
#define CFG_API_ROLES 3         /* 0 viewer, 1 operator, 2 admin             */
typedef struct cfg_api {
    char *listen;             /* "ADDR:PORT" of the TCP listener, or NULL    */
    char *listen_host;        /* its address, numeric ("127.0.0.1", "::1")   */
    int listen_port;
    char *tls_cert, *tls_key; /* PEM files (both or neither); required when
                                 the address is not a loopback one         */
    int max_connections;      /* at once per listener; default 256          */
    int64_t idle_timeout_ms;  /* a connection idle this long is closed; 30 s */
    int64_t max_header;       /* request line + headers, bytes; 16 KiB      */
    int64_t max_body;         /* request body, bytes; 1 MiB                 */
    char **users[CFG_API_ROLES];  size_t n_users[CFG_API_ROLES];
    char **groups[CFG_API_ROLES]; size_t n_groups[CFG_API_ROLES];
} cfg_api;

/* state_store = { ... } in the daemon file: where the state store is.
 * Unset (url NULL): the embedded SQLite database in state_dir.  Set: a
 * PostgreSQL database shared by every dsrcd (and dsrc) that names it. */
typedef struct cfg_state_store {
    char *url;              /* postgresql://USER@HOST:PORT/DB, no password   */
    char *password;         /* as written: fernet:, env:, file: or plain      */
    char *schema;           /* NULL: the role's search path                  */
    char *tls_mode;         /* libpq's sslmode; default verify-full          */
    char *tls_ca, *tls_cert, *tls_key;
    int pool_size;          /* connections per process at most; default 4   */
    int64_t connect_timeout_ms; /* default 10 s                               */
    int line;               /* where it is set, for messages                 */
} cfg_state_store;

typedef struct cfg_config {
    char *path;             /* the daemon config file                        */
    char **plugin_dirs;     size_t n_plugin_dirs; /* default: DSRC_PLUGINDIR */
    char *state_dir;        /* default: DSRC_LOCALSTATEDIR/lib/dsrc          */
    char *workspace;        /* default: <state_dir>/workspace                */
    char *node_name;        /* this daemon's name in a cluster sharing one
                               state store; default: the host name       */
    int node_name_set;      /* 1: node_name was set in the file          */
    int shared_workspace;   /* 1: every node mounts the same workspace (a
                               shared filesystem where rename is atomic),
                               so any node resolves a dead node's files;
                               default 0: only the node that wrote them  */
    char *sources_dir;      /* default: <dir of path>/sources.d              */
    char *key_file;         /* NULL when not set                             */
    char *control_socket;   /* default: /run/dsrc/dsrcd.sock                  */
    dsrc_log_level log_level;   /* default info                              */
    int log_target;         /* -1: automatic (journal under systemd)         */
    int64_t probe_timeout_ms;  /* a source's probe or pool maintenance is
                                  abandoned after this long; default 30 s   */
    int64_t shutdown_grace_ms; /* after SIGTERM, wait this long for plugin
                                  calls to return, then exit; default 10 s  */
    cfg_isolation isolation; /* the sources' default; UNSET: by plugin        */
    int64_t isolation_memory_max; /* bytes of data a worker may map; 0: no
                                     limit (default 1 GiB) */
    int isolation_syscall_filter; /* a worker's seccomp filter; default 1 */
    cfg_jobs jobs;
    char *mask_key;         /* mask_key: the key of masked columns' hashes, a
                               secret reference (fernet:, env:, file:);
                               NULL when not set                          */

    cfg_source *sources;    size_t n_sources;
    cfg_catalog catalog;
    cfg_api api;
    cfg_state_store state_store;
} cfg_config;

/* Load and check.  Returns a config (possibly partial) whenever the main
 * file could be read and parsed, or NULL (unreadable file, libconfig syntax
 * error); every problem is in `diags`, as "file:line" (line 0: the file as
 * a whole).  Callers must check diags->n_errors: a non-NULL result may still
 * carry errors.  Relative paths in the daemon file are resolved against the
 * file's directory.  An unset sources_dir means <dir of path>/sources.d,
 * which may be missing (no sources); a set one must exist. */
cfg_config *cfg_load(const char *path, diag_list *diags);

/* cfg_load() with one source file swapped, to check a source before it is
 * stored: the file `skip` of sources_dir (as named in cfg_source.file) is
 * not read, and the file `extra` is read after the others, as if it were
 * in sources_dir (either may be NULL). */
cfg_config *cfg_load_with(const char *path, const char *skip, const char *extra,
                          diag_list *diags);
void cfg_free(cfg_config *cfg);

/* Check a node name: 1 to 63 characters among letters, digits, '.', '_'
 * and '-', starting with a letter or a digit.  Returns 0, or -1 with a
 * reason in why (static string; why may be NULL). */
int cfg_check_node_name(const char *name, const char **why);

/* This machine's default node name into buf (n bytes): its host name, cut
 * at the first character a node name may not hold ("localhost" when it
 * has none).  Returns buf. */
char *cfg_default_node_name(char *buf, size_t n);

/* The source named `name`, or NULL. */
const cfg_source *cfg_find_source(const cfg_config *cfg, const char *name);

/* "30s", "5m", "1h", "250ms", "1d", "1h30m" -> milliseconds.  A bare integer
 * means seconds.  Units d, h, m, s, ms; in a compound duration each unit at
 * most once, largest first.  Returns 0, or -1 (and *ms untouched) when
 * malformed, negative, empty or overflowing int64 milliseconds. */
int cfg_parse_duration(const char *s, int64_t *ms);

/* Check a schedule expression: five-field cron (e.g. "0 0-23/6 * * *" with ranges,
 * lists, steps and names), "@every <duration>", or one of @hourly, @daily,
 * @weekly, @monthly, @yearly (see schedule.h for the grammar and the parsed
 * form).  Returns 0, or -1 with a reason in why (static string; why may be
 * NULL). */
int cfg_check_schedule(const char *expr, const char **why);

const char *cfg_location_name(dsrc_location loc);

/* The TLS mode of a source whose file has no tls group, by its location:
 * "verify-full" for cloud and hybrid sources (encrypted, the server's
 * certificate and name checked), "prefer" on premises (TLS when the
 * server offers it).  A static string. */
const char *cfg_tls_default_mode(dsrc_location loc);

/* The values of a replica group's read_policy, NULL-terminated, in the
 * order of router_policy (router.h): the one list of read-policy names. */
extern const char *const cfg_read_policies[];

/* 1 when `key` of a source's cloud group holds a credential (client_secret,
 * secret_access_key, session_token): resolved like a secret option and never
 * shown. */
int cfg_cloud_key_is_secret(const char *key);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* store.c -- the state store in SQLite; see store.h */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"

#include "config/config.h"
#include "output/manifest.h"
#include "output/outfile.h"
#include "output/state.h"
#include "secret/secret.h"
#include "store/store.h"

#define STORE_BUSY_MS 10000   /* wait this long for another process's write */
#define STORE_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

#define STORE_POOL_MAX 64
#define STORE_TX_ATTEMPTS 3   /* a transaction chosen as a deadlock's victim */
#define STORE_DOUBT_MS 10000  /* to learn whether a commit cut short happened */

/* The connections: conns[0] is made by store_open, the others when all
 * the made ones are in use (a PostgreSQL store; SQLite has one).  A call
 * takes a free one for its duration (store_get/store_put): the calling
 * thread's connection is then SDB(s). */
struct store {
    sdb *conns[STORE_POOL_MAX];
    int held[STORE_POOL_MAX];
    int n_conns, pool_size;
    pthread_mutex_t mu;
    pthread_cond_t freed;
    sdb_pg_params pg;      /* to make more connections                     */
    char *pg_strings;      /* what pg points into                          */
    char *path;            /* the database, as messages name it            */
    char owner[160];
    char host[64];
    char node[64];
    int shared_workspace;
};

static __thread const store *store_tl_s;
static __thread sdb *store_tl_db;

static sdb *store_db(const store *s)
{
    return store_tl_s == s ? store_tl_db : s->conns[0];
}
#define SDB(s) store_db(s)

/* Take a free connection for this thread's call (making one when all are
 * in use and the pool may grow; waiting otherwise). */
static void store_get(store *s)
{
    int i;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (i = 0; i < s->n_conns; i++)
            if (!s->held[i] && s->conns[i])
                goto got;
        if (s->n_conns < s->pool_size) {
            char *msg = NULL;
            sdb_err code;
            sdb *db;
            /* made without the lock held: the others' calls go on */
            s->held[s->n_conns] = 1;
            i = s->n_conns++;
            pthread_mutex_unlock(&s->mu);
            db = sdb_open_pg(&s->pg, &msg, &code);
            free(msg);
            pthread_mutex_lock(&s->mu);
            if (db) {
                s->conns[i] = db;
                goto got;
            }
            /* cannot make one now: the pool stops growing, the calls wait
             * for the connections made */
            s->held[i] = 0;
            s->pool_size = s->n_conns;
            continue;
        }
        pthread_cond_wait(&s->freed, &s->mu);
    }
got:
    s->held[i] = 1;
    pthread_mutex_unlock(&s->mu);
    store_tl_s = s;
    store_tl_db = s->conns[i];
}

static void store_put(store *s)
{
    int i;

    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n_conns; i++)
        if (s->conns[i] == store_tl_db)
            s->held[i] = 0;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->mu);
    store_tl_s = NULL;
    store_tl_db = NULL;
}

static const char *const store_kind_names[] = {"discover", "fetch"};
static const char *const store_trigger_names[] = {"schedule", "manual", "retry", "catch-up",
                                                  "cli"};
static const char *const store_state_names[] = {"queued", "running", "succeeded", "failed",
                                                "cancelled"};

const char *store_kind_name(run_kind k)
{
    return (unsigned)k < 2 ? store_kind_names[k] : "?";
}

const char *store_trigger_name(run_trigger t)
{
    return (unsigned)t < 5 ? store_trigger_names[t] : "?";
}

const char *store_state_name(run_state s)
{
    return (unsigned)s < 5 ? store_state_names[s] : "?";
}

int store_state_parse(const char *name)
{
    int i;

    for (i = 0; name && i < 5; i++)
        if (strcmp(name, store_state_names[i]) == 0)
            return i;
    return -1;
}

static int64_t store_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                    */

/* Migration n takes a database from version n to n + 1. */
static const char *const store_migrations[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE cursors ("
    " source TEXT NOT NULL, item TEXT NOT NULL, field TEXT NOT NULL,"
    " value TEXT NOT NULL, run_id INTEGER, committed_at INTEGER NOT NULL,"
    " PRIMARY KEY (source, item));"
    "CREATE TABLE runs ("
    " id {ID},"
    " source TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('discover', 'fetch')),"
    " item TEXT,"
    " trigger TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " queued_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    " owner TEXT, lease_until INTEGER,"
    " endpoint TEXT, rows INTEGER, bytes INTEGER,"
    " file TEXT, manifest TEXT, file_id TEXT, sha256 TEXT,"
    " cursor_field TEXT, cursor_from TEXT, cursor_to TEXT,"
    " prepared INTEGER NOT NULL DEFAULT 0,"
    " status TEXT, retryable INTEGER, error TEXT);"
    "CREATE INDEX runs_by_source ON runs (source, id);"
    "CREATE INDEX runs_open ON runs (state) WHERE state IN ('queued', 'running');"
    /* one incremental writer per item, enforced by the database itself */
    "CREATE UNIQUE INDEX runs_one_cursor_writer ON runs (source, item)"
    " WHERE state = 'running' AND cursor_field IS NOT NULL;",
    /* 2: the catalog (catalog/snapshot.h): items stored once by schema
     * hash, snapshots as lists of (path, hash), drift events, acks */
    "CREATE TABLE catalog_items (hash TEXT PRIMARY KEY, schema TEXT NOT NULL)"
    "{WITHOUT_ROWID};"
    "CREATE TABLE catalog_snapshots ("
    " id {ID}, source TEXT NOT NULL,"
    " taken_at INTEGER NOT NULL, verified_at INTEGER NOT NULL,"
    " duration_ms INTEGER NOT NULL DEFAULT 0, items INTEGER NOT NULL DEFAULT 0,"
    " changes INTEGER NOT NULL DEFAULT 0, run_id INTEGER);"
    "CREATE INDEX catalog_snapshots_by_source ON catalog_snapshots (source, id);"
    "CREATE TABLE catalog_entries ("
    " snapshot_id INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL,"
    " volatile TEXT, PRIMARY KEY (snapshot_id, path)){WITHOUT_ROWID};"
    "CREATE INDEX catalog_entries_by_hash ON catalog_entries (hash);"
    "CREATE TABLE drift_events ("
    " id {ID}, source TEXT NOT NULL, item TEXT NOT NULL,"
    " col TEXT, change TEXT NOT NULL, breaking INTEGER NOT NULL,"
    " before TEXT, after TEXT, from_snapshot INTEGER, to_snapshot INTEGER,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX drift_events_by_item ON drift_events (source, item, id);"
    "CREATE TABLE drift_acks ("
    " source TEXT NOT NULL, item TEXT NOT NULL, event_id INTEGER NOT NULL,"
    " acked_at INTEGER NOT NULL, PRIMARY KEY (source, item));",
    /* 3: the audit trail (store/audit.h) and the API's tokens, hashed
     * (store/token.h) */
    "CREATE TABLE audit ("
    " id {ID}, at INTEGER NOT NULL,"
    " who TEXT NOT NULL, origin TEXT NOT NULL, action TEXT NOT NULL,"
    " source TEXT, item TEXT, result TEXT NOT NULL, rows INTEGER, bytes INTEGER,"
    " detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_by_at ON audit (at);"
    "CREATE INDEX audit_by_source ON audit (source, id);"
    "CREATE TABLE api_tokens ("
    " id {ID}, name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),"
    " hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,"
    " expires_at INTEGER, revoked_at INTEGER, last_used_at INTEGER);"
    "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;",
    /* 4: what each discover did (catalog/discovery.h) */
    "CREATE TABLE discoveries ("
    " id {ID}, source TEXT NOT NULL, run_id INTEGER,"
    " started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, items INTEGER NOT NULL,"
    " queries INTEGER NOT NULL, retries INTEGER NOT NULL, errors INTEGER NOT NULL,"
    " mode TEXT NOT NULL, result TEXT NOT NULL);"
    "CREATE INDEX discoveries_by_source ON discoveries (source, id);",
    /* 5: several nodes sharing the store: the nodes and their heartbeats,
     * the node of each run and of each audit record, and one run per
     * scheduled job, slot and attempt, whichever node queues it */
    "CREATE TABLE nodes ("
    " name TEXT PRIMARY KEY, owner TEXT NOT NULL, version TEXT NOT NULL,"
    " started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);"
    "ALTER TABLE runs ADD COLUMN node TEXT;"
    "ALTER TABLE runs ADD COLUMN job TEXT;"
    "ALTER TABLE runs ADD COLUMN slot INTEGER;"
    "CREATE UNIQUE INDEX runs_one_per_slot ON runs (job, slot, attempt);"
    "CREATE INDEX runs_by_node ON runs (node);"
    "ALTER TABLE audit ADD COLUMN node TEXT;",
    /* 6: the history of read-only queries (store/query.h) */
    "CREATE TABLE queries ("
    " id {ID}, started_at INTEGER NOT NULL, source TEXT NOT NULL,"
    " endpoint TEXT, node TEXT, caller TEXT NOT NULL, text TEXT NOT NULL,"
    " params_sha256 TEXT, n_params INTEGER NOT NULL DEFAULT 0,"
    " rows INTEGER, bytes INTEGER, duration_ms INTEGER,"
    " result TEXT NOT NULL, error TEXT);"
    "CREATE INDEX queries_by_source ON queries (source, id);"
    "CREATE INDEX queries_by_start ON queries (started_at);",
};

static dsrc_status store_sql_err(store *s, derr *e, const char *what)
{
    int err = sdb_sys_errno(SDB(s));
    sdb_err code = sdb_errcode(SDB(s));

    if (!err && code == SDB_E_FULL)
        err = ENOSPC;

    /* the system's reason, when there is one, says more ("No space left
     * on device") than SQLite's ("disk I/O error") */
    dsrc_status rs;

    rs = derr_set(e, code == SDB_E_CONN ? DSRC_E_UNREACHABLE
             : err == EACCES || code == SDB_E_READONLY ? DSRC_E_PERMISSION
             : code == SDB_E_BUSY && sdb_engine_of(SDB(s)) == SDB_POSTGRES ? DSRC_E_BACKEND
             : DSRC_E_INTERNAL,
             "state store %s: %s: %s%s%s%s", s->path, what, sdb_errmsg(SDB(s)),
             err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
    /* a lost connection, a deadlock or serialization failure: nothing was
     * done, the call may be made again */
    if (e && (code == SDB_E_CONN || (code == SDB_E_BUSY && sdb_engine_of(SDB(s)) == SDB_POSTGRES)))
        e->retryable = 1;
    return rs;
}

/* Begin a write transaction: 0, or -1 with e set. */
static int store_begin(store *s, derr *e, const char *what)
{
    if (sdb_begin(SDB(s)) < 0) {
        store_sql_err(s, e, what);
        return -1;
    }
    return 0;
}

/* Commit it: 0, or -1 with e set and the transaction rolled back. */
static int store_commit(store *s, derr *e, const char *what)
{
    if (sdb_commit(SDB(s)) < 0) {
        store_sql_err(s, e, what);
        sdb_rollback(SDB(s));
        return -1;
    }
    return 0;
}

/* Called with s->mu held, 1 before recording a run queued, started or
 * renewed, 0 after: those records promise nothing on disk, so they are
 * committed without waiting for it (synchronous = NORMAL); the WAL makes
 * them durable with the next synchronous commit, which is every other. */
static void store_lazy(store *s, int lazy)
{
    sdb_lazy(SDB(s), lazy);
}

static sdb_stmt *store_prep(store *s, const char *sql, derr *e)
{
    sdb_stmt *st = NULL;

    if (sdb_prepare(SDB(s), sql, &st) != 0) {
        store_sql_err(s, e, "cannot prepare a statement");
        return NULL;
    }
    return st;
}

static void store_bind_text(sdb_stmt *st, int i, const char *v)
{
    sdb_bind_text(st, i, v);
}

sdb *store_lock(store *s)
{
    store_get(s);
    return SDB(s);
}

void store_unlock(store *s)
{
    store_put(s);
}

dsrc_status store_error(store *s, derr *e, const char *what)
{
    return store_sql_err(s, e, what);
}

int64_t store_now(void)
{
    return store_now_ms();
}

static int store_user_version(store *s)
{
    return sdb_schema_version(SDB(s));
}

/* Import the cursor files of earlier versions, once. */
static void store_import_walk(store *s, const char *state_dir, const char *dir, int depth,
                              sdb_stmt *ins)
{
    DIR *d;
    struct dirent *de;

    if (depth > 64 || !(d = opendir(dir)))
        return;
    while ((de = readdir(d))) {
        char *p = NULL;
        struct stat sb;
        size_t n = strlen(de->d_name);

        if (de->d_name[0] == '.' || asprintf(&p, "%s/%s", dir, de->d_name) < 0)
            continue;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            store_import_walk(s, state_dir, p, depth + 1, ins);
        } else if (S_ISREG(sb.st_mode) && n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
            json_t *o = json_load_file(p, 0, NULL);
            const char *src = json_string_value(json_object_get(o, "source"));
            const char *item = json_string_value(json_object_get(o, "item"));
            const char *field = json_string_value(json_object_get(o, "field"));
            char *value = NULL;
            derr e = {0};

            if (!field)
                field = json_string_value(
                    json_object_get(json_object_get(o, "pending"), "field"));
            /* state_get_cursor resolves a fetch that died mid-commit */
            if (src && item && field &&
                state_get_cursor(state_dir, src, item, field, &value, &e) == DSRC_OK && value) {
                sdb_reset(ins);
                store_bind_text(ins, 1, src);
                store_bind_text(ins, 2, item);
                store_bind_text(ins, 3, field);
                store_bind_text(ins, 4, value);
                sdb_bind_int64(ins, 5, store_now_ms());
                (void)sdb_step(ins);
            }
            free(value);
            derr_clear(&e);
            json_decref(o);
        }
        free(p);
    }
    closedir(d);
}

static int store_import_cursors(store *s, const char *state_dir, derr *e)
{
    sdb_stmt *ins;
    char *dir = NULL;

    ins = store_prep(s, "INSERT INTO cursors (source, item, field, value, committed_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, item) DO NOTHING", e);
    if (!ins)
        return -1;
    if (asprintf(&dir, "%s/cursors", state_dir) >= 0)
        store_import_walk(s, state_dir, dir, 0, ins);
    free(dir);
    sdb_finalize(ins);
    return 0;
}

/* Bring the schema to STORE_SCHEMA_VERSION in one transaction. */
static int store_migrate(store *s, const char *state_dir, derr *e)
{
    int v, i;

    if (store_begin(s, e, "cannot lock the database") < 0)
        return -1;
    v = store_user_version(s);
    if (v < 0) {
        store_sql_err(s, e, "cannot read the schema version");
        goto fail;
    }
    if (v > STORE_SCHEMA_VERSION) {
        derr_set(e, DSRC_E_INVALID_CONFIG,
                 "state store %s has schema version %d, newer than this dsrc's %d: "
                 "run a newer dsrc, or point state_dir elsewhere",
                 s->path, v, STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (i = v; i < STORE_SCHEMA_VERSION; i++)
        if (sdb_exec_ddl(SDB(s), store_migrations[i]) < 0) {
            store_sql_err(s, e, "cannot upgrade the schema");
            goto fail;
        }
    if (v == 0 && store_import_cursors(s, state_dir, e) < 0)
        goto fail;
    if (v != STORE_SCHEMA_VERSION && sdb_set_schema_version(SDB(s), STORE_SCHEMA_VERSION) < 0) {
        store_sql_err(s, e, "cannot set the version");
        goto fail;
    }
    return store_commit(s, e, "cannot commit the schema");
fail:
    sdb_rollback(SDB(s));
    return -1;
}

/* The start time of process `pid` in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 when there is no such process. */
static unsigned long long store_proc_start(long pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    FILE *f;
    int i;

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "re")))
        return 0;
    if (!fgets(buf, sizeof buf, f)) {
        fclose(f);
        return 0;
    }
    fclose(f);
    p = strrchr(buf, ')');
    for (i = 2; p && i < 22; i++)
        p = strchr(p + 1, ' ');
    if (p)
        start = strtoull(p + 1, NULL, 10);
    return start;
}

/* s->owner from s->node and this process: "NODE/HOST/PID/START". */
static void store_make_owner(store *s)
{
    snprintf(s->owner, sizeof s->owner, "%s/%s/%ld/%llu", s->node, s->host, (long)getpid(),
             store_proc_start((long)getpid()));
}

/* outfile_share() of a file of the state store; 0, or -1 with e set. */
static int store_share(const char *path, const struct stat *dir, derr *e)
{
    if (outfile_share(path, dir) == 0)
        return 0;
    derr_set(e, DSRC_E_PERMISSION, "cannot share %s with the group of its directory: %s", path,
             strerror(errno));
    return -1;
}

/* In a state directory `dir` shared with its group (outfile_share), the
 * database and its -wal and -shm files are made writable by the group (SQLite
 * makes the -wal and -shm files with the database's mode).  Run as root in
 * a state directory owned by another user (the daemon's), they get that
 * owner and group, so that the daemon can still write them.  0, or -1 with
 * e set. */
static int store_give(const store *s, const struct stat *dir, derr *e)
{
    static const char *const ext[] = {"", "-wal", "-shm"};
    int give = geteuid() == 0 && dir->st_uid != 0;
    char *path;
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof ext / sizeof ext[0] && rc == 0; i++) {
        if (asprintf(&path, "%s%s", s->path, ext[i]) < 0) {
            derr_set(e, DSRC_E_INTERNAL, "state store: out of memory");
            return -1;
        }
        if (store_share(path, dir, e) != 0)
            rc = -1;
        else if (give && lchown(path, dir->st_uid, dir->st_gid) != 0 && errno != ENOENT) {
            derr_set(e, DSRC_E_PERMISSION,
                     "cannot give %s to the owner of its directory: %s", path,
                     strerror(errno));
            rc = -1;
        }
        free(path);
    }
    return rc;
}

store *store_open(const char *state_dir, derr *e)
{
    return store_open_backend(state_dir, NULL, e);
}

/* Copy the PostgreSQL settings of b into s->pg; 0 or -1. */
static int store_pg_params(store *s, const store_backend *b)
{
    const char *src[] = {b->url, b->password, b->schema, b->tls_mode, b->tls_ca, b->tls_cert,
                         b->tls_key};
    const char **dst[] = {&s->pg.url, &s->pg.password, &s->pg.schema, &s->pg.sslmode,
                          &s->pg.sslrootcert, &s->pg.sslcert, &s->pg.sslkey};
    size_t i, len = 0;
    char *p;

    for (i = 0; i < sizeof src / sizeof src[0]; i++)
        len += src[i] ? strlen(src[i]) + 1 : 0;
    if (!(s->pg_strings = p = calloc(1, len + 1)))
        return -1;
    for (i = 0; i < sizeof src / sizeof src[0]; i++)
        if (src[i]) {
            *dst[i] = p;
            p = stpcpy(p, src[i]) + 1;
        }
    s->pg.connect_timeout_s = b->connect_timeout_s;
    s->pg.application_name = "dsrc";
    s->pool_size = b->pool_size > 0 ? b->pool_size : STORE_POOL_DEFAULT;
    if (s->pool_size > STORE_POOL_MAX)
        s->pool_size = STORE_POOL_MAX;
    return 0;
}

/* Open the PostgreSQL store of s->pg: its first connection, its schema. */
static int store_open_pg(store *s, const char *state_dir, derr *e)
{
    char *msg = NULL;
    sdb_err code;

    if (!(s->conns[0] = sdb_open_pg(&s->pg, &msg, &code))) {
        derr_set(e, msg && strstr(msg, "authentication") ? DSRC_E_AUTH
                    : code == SDB_E_CONN ? DSRC_E_UNREACHABLE : DSRC_E_INVALID_CONFIG,
                 "state_store.url %s: cannot connect: %s", s->path,
                 msg ? msg : "out of memory");
        if (code == SDB_E_CONN)
            e->retryable = 1;
        free(msg);
        return -1;
    }
    s->n_conns = 1;
    return store_migrate(s, state_dir, e);
}

store *store_open_backend(const char *state_dir, const store_backend *b, derr *e)
{
    store *s;
    struct stat sb;
    char *msg = NULL;
    int err = 0, rc;

    if (!state_dir || !*state_dir) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "state store: no state_dir is set");
        return NULL;
    }
    if (mkdir(state_dir, 0750) != 0 && errno != EEXIST) {
        derr_set(e, errno == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                 "cannot make the state directory %s: %s", state_dir, strerror(errno));
        return NULL;
    }
    if (stat(state_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        derr_set(e, DSRC_E_INVALID_CONFIG, "state_dir %s is not a directory", state_dir);
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s)) ||
        (b && b->url ? !(s->path = strdup(b->url)) || store_pg_params(s, b) < 0
                     : asprintf(&s->path, "%s/" STORE_FILE, state_dir) < 0)) {
        if (s)
            free(s->path);
        free(s);
        derr_set(e, DSRC_E_INTERNAL, "state store: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->freed, NULL);
    if (gethostname(s->host, sizeof s->host) != 0)
        strcpy(s->host, "localhost");
    s->host[sizeof s->host - 1] = '\0';
    snprintf(s->node, sizeof s->node, "%s", s->host);
    store_make_owner(s);
    if (b && b->url) {
        if (store_open_pg(s, state_dir, e) < 0) {
            store_close(s);
            return NULL;
        }
        return s;
    }
    s->pool_size = s->n_conns = 1;
    if (!(s->conns[0] = sdb_open_sqlite(s->path, STORE_BUSY_MS, &msg, &err))) {
        derr_set(e, err == EACCES ? DSRC_E_PERMISSION : DSRC_E_INTERNAL,
                 "cannot open the state store %s: %s", s->path, msg ? msg : "out of memory");
        free(msg);
        store_close(s);
        return NULL;
    }
    /* Shared before the -wal and -shm files exist, so they are too. */
    if (store_share(s->path, &sb, e) != 0) {
        store_close(s);
        return NULL;
    }
    if (sdb_sqlite_readonly(SDB(s))) {
        derr_set(e, DSRC_E_PERMISSION,
                 "cannot write the state store %s: permission denied (run as the user "
                 "that owns it, or give this user write access to it and its directory)",
                 s->path);
        store_close(s);
        return NULL;
    }
    if ((rc = sdb_sqlite_setup(SDB(s))) < 0)
        store_sql_err(s, e, rc == -1   ? "not a usable database"
                            : rc == -3 ? "another process kept it locked"
                                       : "cannot set up the database");
    if (rc < 0 || store_migrate(s, state_dir, e) < 0 || store_give(s, &sb, e) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    int i;

    if (!s)
        return;
    for (i = 0; i < s->n_conns; i++)
        sdb_close(s->conns[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->freed);
    if (s->pg.password)
        memset((char *)s->pg.password, 0, strlen(s->pg.password));
    free(s->pg_strings);
    free(s->path);
    free(s);
}

const char *store_owner(const store *s)
{
    return s ? s->owner : "";
}

void store_set_shared_workspace(store *s, int shared)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->shared_workspace = shared ? 1 : 0;
    pthread_mutex_unlock(&s->mu);
}

int store_set_node(store *s, const char *node)
{
    if (!s || !node || !*node || strlen(node) >= sizeof s->node || strchr(node, '/'))
        return -1;
    pthread_mutex_lock(&s->mu);
    snprintf(s->node, sizeof s->node, "%s", node);
    store_make_owner(s);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

const char *store_node(const store *s)
{
    return s ? s->node : "";
}

/* ------------------------------------------------------------------------ */
/* Recovery                                                                  */

/* 1 when the owner of a run is gone: on this host, its process (same pid
 * and start time) no longer runs; on another, its lease has expired.  An
 * owner is "NODE/HOST/PID/START" ("HOST/PID/START" before node names). */
static int store_owner_gone(const store *s, const char *owner, int64_t lease_until, int64_t now)
{
    char a[64], b[64];
    long pid;
    unsigned long long start;
    const char *host = a;
    int n;

    if (!owner)
        return 1;
    if (strcmp(owner, s->owner) == 0)
        return 0;
    n = sscanf(owner, "%63[^/]/%63[^/]/%ld/%llu", a, b, &pid, &start);
    if (n == 4)
        host = b;
    else if (sscanf(owner, "%63[^/]/%ld/%llu", a, &pid, &start) != 3)
        return lease_until > 0 && lease_until < now;
    if (strcmp(host, s->host) != 0)
        return lease_until > 0 && lease_until < now;
    return store_proc_start(pid) != start;
}

static const char *store_col_text(sdb_stmt *st, int i)
{
    return sdb_column_text(st, i);
}

/* Commit (source, item)'s cursor to `value` for `field` from run `id`. */
static int store_put_cursor(store *s, const char *source, const char *item, const char *field,
                            const char *value, int64_t id, derr *e)
{
    sdb_stmt *st = store_prep(s,
        "INSERT INTO cursors (source, item, field, value, run_id, committed_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, item) DO UPDATE SET "
        "field = excluded.field, value = excluded.value, run_id = excluded.run_id, "
        "committed_at = excluded.committed_at", e);
    int rc;

    if (!st)
        return -1;
    store_bind_text(st, 1, source);
    store_bind_text(st, 2, item);
    store_bind_text(st, 3, field);
    store_bind_text(st, 4, value);
    sdb_bind_int64(st, 5, id);
    sdb_bind_int64(st, 6, store_now_ms());
    rc = sdb_step(st);
    sdb_finalize(st);
    if (rc != SDB_DONE) {
        store_sql_err(s, e, "cannot commit the cursor");
        return -1;
    }
    return 0;
}

/* Resolve one open run of a gone owner, inside the caller's transaction. */
static int store_resolve_one(store *s, sdb_stmt *row, derr *e)
{
    int64_t id = sdb_column_int64(row, 0);
    const char *state = store_col_text(row, 1);
    const char *source = store_col_text(row, 2), *item = store_col_text(row, 3);
    const char *file = store_col_text(row, 4), *mpath = store_col_text(row, 5);
    const char *fid = store_col_text(row, 6), *sha = store_col_text(row, 7);
    const char *field = store_col_text(row, 8), *to = store_col_text(row, 9);
    int prepared = sdb_column_int(row, 10);
    const char *new_state = "failed", *msg;
    int retryable = 1;
    sdb_stmt *up;
    struct stat sb;
    int rc;

    if (strcmp(state, "queued") == 0) {
        new_state = "cancelled";
        msg = "dropped: the process that queued it ended";
        retryable = 0;
    } else if (prepared && file && manifest_matches(mpath, sha, to)) {
        /* complete and in place: the run did succeed */
        if (field && to && store_put_cursor(s, source, item, field, to, id, e) < 0)
            return -1;
        new_state = "succeeded";
        msg = NULL;
        retryable = 0;
    } else {
        if (prepared && file && fid && (!mpath || lstat(mpath, &sb) != 0) &&
            lstat(file, &sb) == 0 && S_ISREG(sb.st_mode)) {
            char id_now[OUTFILE_ID_MAX];
            outfile_stat_id(&sb, id_now);
            if (strcmp(id_now, fid) == 0)
                unlink(file); /* its data file, without its manifest */
        }
        msg = "interrupted: the process running it ended before it finished";
    }
    up = store_prep(s, "UPDATE runs SET state = ?, finished_at = ?, error = ?, "
                       "status = ?, retryable = ? WHERE id = ?", e);
    if (!up)
        return -1;
    store_bind_text(up, 1, new_state);
    sdb_bind_int64(up, 2, store_now_ms());
    store_bind_text(up, 3, msg);
    store_bind_text(up, 4, msg ? (retryable ? "unreachable" : "cancelled") : NULL);
    if (msg)
        sdb_bind_int(up, 5, retryable);
    else
        sdb_bind_null(up, 5);
    sdb_bind_int64(up, 6, id);
    rc = sdb_step(up);
    sdb_finalize(up);
    if (rc != SDB_DONE) {
        store_sql_err(s, e, "cannot resolve a run");
        return -1;
    }
    return 1;
}

/* 1 after a failed transaction that may simply be run again: PostgreSQL
 * chose it as a deadlock's victim (or a serialization failure); nothing of
 * it was kept. */
static int store_again(store *s, int attempt)
{
    return attempt < STORE_TX_ATTEMPTS - 1 && sdb_engine_of(SDB(s)) == SDB_POSTGRES &&
           sdb_errcode(SDB(s)) == SDB_E_BUSY;
}

static int store_recover_once(store *s, const char *source, const char *item, derr *e);

/* store_recover with a connection taken and no transaction open (in one
 * transaction, tried again when it was a deadlock's victim). */
static int store_recover_locked(store *s, const char *source, const char *item, derr *e)
{
    int n, attempt;

    for (attempt = 0;; attempt++) {
        n = store_recover_once(s, source, item, e);
        if (n >= 0 || !store_again(s, attempt))
            return n;
        derr_clear(e);
    }
}

/* First the open runs whose owner is gone, then each locked, checked again
 * and resolved (in the order of their ids, as every process does). */
static int store_recover_once(store *s, const char *source, const char *item, derr *e)
{
    sdb_stmt *st;
    int64_t now = store_now_ms(), *ids = NULL;
    size_t n = 0, cap = 0, i;
    int rc, done = 0;

    if (store_begin(s, e, "cannot lock the database") < 0)
        return -1;
    st = store_prep(s, "SELECT id, owner, lease_until, node, prepared, state FROM runs "
                       "WHERE state IN ('queued', 'running') AND (CAST(?1 AS TEXT) IS NULL OR "
                       "source = ?1) AND (CAST(?2 AS TEXT) IS NULL OR item = ?2) ORDER BY id", e);
    if (!st)
        goto fail;
    store_bind_text(st, 1, source);
    store_bind_text(st, 2, source ? item : NULL);
    while ((rc = sdb_step(st)) == SDB_ROW) {
        /* a run queued for any node waits for its claimer */
        if (!store_col_text(st, 1) && strcmp(store_col_text(st, 5), "queued") == 0)
            continue;
        if (!store_owner_gone(s, store_col_text(st, 1), sdb_column_int64(st, 2), now))
            continue;
        /* the files of another node's run are on its own workspace: that
         * node resolves it when it starts again */
        if (!s->shared_workspace && sdb_column_int(st, 4) && store_col_text(st, 3) &&
            strcmp(store_col_text(st, 3), s->node) != 0)
            continue;
        if (n == cap) {
            int64_t *nv = realloc(ids, (cap = cap ? 2 * cap : 16) * sizeof *ids);
            if (!nv) {
                rc = SDB_ERROR;
                break;
            }
            ids = nv;
        }
        ids[n++] = sdb_column_int64(st, 0);
    }
    sdb_finalize(st);
    if (rc != SDB_DONE) {
        store_sql_err(s, e, "cannot read the runs");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        /* lock the run's row (another process may be resolving it, or its
         * owner renewing it), then decide again on what it holds now */
        st = store_prep(s, "UPDATE runs SET state = state WHERE id = ? "
                           "AND state IN ('queued', 'running')", e);
        if (!st)
            goto fail;
        sdb_bind_int64(st, 1, ids[i]);
        rc = sdb_step(st);
        sdb_finalize(st);
        if (rc != SDB_DONE) {
            store_sql_err(s, e, "cannot lock a run");
            goto fail;
        }
        if (sdb_changes(SDB(s)) != 1)
            continue;
        st = store_prep(s, "SELECT id, state, source, item, file, manifest, file_id, sha256, "
                           "cursor_field, cursor_to, prepared, owner, lease_until FROM runs "
                           "WHERE id = ?", e);
        if (!st)
            goto fail;
        sdb_bind_int64(st, 1, ids[i]);
        rc = sdb_step(st) == SDB_ROW &&
                     store_owner_gone(s, store_col_text(st, 11), sdb_column_int64(st, 12),
                                      store_now_ms())
                 ? store_resolve_one(s, st, e)
                 : 0;
        sdb_finalize(st);
        if (rc < 0)
            goto fail;
        done += rc;
    }
    free(ids);
    if (store_commit(s, e, "cannot commit") < 0)
        return -1;
    return done;
fail:
    free(ids);
    sdb_rollback(SDB(s));
    return -1;
}

int store_recover(store *s, const char *source, const char *item, derr *e)
{
    int n;

    store_get(s);
    n = store_recover_locked(s, source, item, e);
    store_put(s);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                   */

dsrc_status store_cursor_get(store *s, const char *source, const char *item,
                             const char *field, char **value, derr *e)
{
    sdb_stmt *st;
    dsrc_status rs = DSRC_OK;
    int rc;

    if (!value)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "state: no place for the cursor value");
    *value = NULL;
    if (!source || !item || !field || !*field)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT,
                        "state: a source, an item and a cursor field are required");
    store_get(s);
    if (store_recover_locked(s, source, item, e) < 0) {
        store_put(s);
        return e->status;
    }
    st = store_prep(s, "SELECT field, value FROM cursors WHERE source = ? AND item = ?", e);
    if (!st) {
        store_put(s);
        return e->status;
    }
    store_bind_text(st, 1, source);
    store_bind_text(st, 2, item);
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        if (strcmp(store_col_text(st, 0), field) == 0 &&
            !(*value = strdup(store_col_text(st, 1))))
            rs = derr_set(e, DSRC_E_INTERNAL, "state: out of memory");
    } else if (rc != SDB_DONE) {
        rs = store_sql_err(s, e, "cannot read the cursor");
    }
    sdb_finalize(st);
    store_put(s);
    return rs;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */

static dsrc_status store_queue_locked(store *s, const store_run_spec *sp, int64_t *id, derr *e)
{
    sdb_stmt *st;
    int rc;

    if (!sp || !sp->source || (sp->kind == RUN_FETCH && !sp->item))
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "state: a run needs a source (and an "
                                                    "item for a fetch)");
    st = store_prep(s, "INSERT INTO runs (source, kind, item, trigger, state, attempt, "
                       "queued_at, owner, cursor_field, node, job, slot) "
                       "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING RETURNING id", e);
    if (!st)
        return e->status;
    store_bind_text(st, 1, sp->source);
    store_bind_text(st, 2, store_kind_name(sp->kind));
    store_bind_text(st, 3, sp->item);
    store_bind_text(st, 4, store_trigger_name(sp->trigger));
    sdb_bind_int(st, 5, sp->attempt > 0 ? sp->attempt : 1);
    sdb_bind_int64(st, 6, store_now_ms());
    store_bind_text(st, 7, sp->any_node ? NULL : s->owner);
    store_bind_text(st, 8, sp->cursor_field);
    store_bind_text(st, 9, s->node);
    store_bind_text(st, 10, sp->job);
    if (sp->job)
        sdb_bind_int64(st, 11, sp->slot_ms);
    else
        sdb_bind_null(st, 11);
    /* no row: that job's slot has its run already */
    *id = 0;
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        *id = sdb_column_int64(st, 0);
        while ((rc = sdb_step(st)) == SDB_ROW)
            ;
    }
    sdb_finalize(st);
    if (rc != SDB_DONE)
        return store_sql_err(s, e, "cannot record the run");
    return DSRC_OK;
}

dsrc_status store_run_queue(store *s, const store_run_spec *spec, int64_t *id, derr *e)
{
    dsrc_status rs;

    store_get(s);
    store_lazy(s, 1);
    rs = store_queue_locked(s, spec, id, e);
    store_lazy(s, 0);
    store_put(s);
    return rs;
}

/* Who holds (source, item): a busy error naming the run. */
static dsrc_status store_busy(store *s, int64_t id, derr *e)
{
    sdb_stmt *st = store_prep(s,
        "SELECT b.id, b.owner, b.source, b.item FROM runs a JOIN runs b "
        "ON b.source = a.source AND b.item = a.item AND b.state = 'running' "
        "AND b.cursor_field IS NOT NULL WHERE a.id = ?", e);
    dsrc_status rs;

    if (!st)
        return e->status;
    sdb_bind_int64(st, 1, id);
    if (sdb_step(st) == SDB_ROW)
        rs = derr_set(e, DSRC_E_BACKEND,
                      "busy: item '%s' of source '%s' is being fetched incrementally by "
                      "run %lld (%s); try again when it has finished",
                      store_col_text(st, 3), store_col_text(st, 2),
                      (long long)sdb_column_int64(st, 0), store_col_text(st, 1));
    else
        rs = derr_set(e, DSRC_E_BACKEND, "busy: the item is being fetched by another run");
    sdb_finalize(st);
    e->retryable = 1;
    snprintf(e->code, sizeof e->code, "busy");
    return rs;
}

static dsrc_status store_start_locked(store *s, int64_t id, const char *endpoint,
                                      int64_t lease_ms, derr *e)
{
    int attempt, rc, conflict = 0;
    sdb_stmt *st;

    for (attempt = 0; attempt < 2; attempt++) {
        int64_t now = store_now_ms();
        st = store_prep(s, "UPDATE runs SET state = 'running', started_at = ?1, owner = ?2, "
                           "lease_until = ?3, endpoint = ?4, node = ?6 WHERE id = ?5 "
                           "AND state = 'queued'", e);
        if (!st)
            return e->status;
        sdb_bind_int64(st, 1, now);
        store_bind_text(st, 2, s->owner);
        sdb_bind_int64(st, 3, now + lease_ms);
        store_bind_text(st, 4, endpoint);
        sdb_bind_int64(st, 5, id);
        store_bind_text(st, 6, s->node);
        rc = sdb_step(st);
        sdb_finalize(st);
        if (rc == SDB_DONE) {
            if (sdb_changes(SDB(s)) == 1)
                return DSRC_OK;
            return derr_set(e, DSRC_E_NOT_FOUND, "state: run %lld is not queued",
                            (long long)id);
        }
        if (!(conflict = sdb_errcode(SDB(s)) == SDB_E_CONSTRAINT))
            break;
        /* another run holds the item: resolve it if its owner is gone */
        if (attempt == 0) {
            sdb_stmt *q = store_prep(s, "SELECT source, item FROM runs WHERE id = ?", e);
            char *src = NULL, *item = NULL;
            int n;
            if (!q)
                return e->status;
            sdb_bind_int64(q, 1, id);
            if (sdb_step(q) == SDB_ROW) {
                src = strdup(store_col_text(q, 0));
                item = store_col_text(q, 1) ? strdup(store_col_text(q, 1)) : NULL;
            }
            sdb_finalize(q);
            n = src ? store_recover_locked(s, src, item, e) : 0;
            free(src);
            free(item);
            if (n < 0)
                return e->status;
            if (n == 0)
                break;
        }
    }
    if (conflict)
        return store_busy(s, id, e);
    return store_sql_err(s, e, "cannot start the run");
}

dsrc_status store_run_start(store *s, int64_t id, const char *endpoint, int64_t lease_ms,
                            derr *e)
{
    dsrc_status rs;

    store_get(s);
    store_lazy(s, 1);
    rs = store_start_locked(s, id, endpoint, lease_ms, e);
    store_lazy(s, 0);
    store_put(s);
    return rs;
}

dsrc_status store_run_claim(store *s, const char *endpoint, int64_t lease_ms, int64_t *id,
                            derr *e)
{
    /* PostgreSQL: the candidate row is locked, and one another claimer
     * holds is skipped rather than waited for; SQLite has one writer */
    static const char *const sql[2] = {
        "UPDATE runs SET state = 'running', started_at = ?1, owner = ?2, "
        "lease_until = ?3, endpoint = ?4, node = ?5 WHERE id = "
        "(SELECT id FROM runs WHERE state = 'queued' AND owner IS NULL "
        "ORDER BY id LIMIT 1) AND state = 'queued' AND owner IS NULL RETURNING id",
        "UPDATE runs SET state = 'running', started_at = ?1, owner = ?2, "
        "lease_until = ?3, endpoint = ?4, node = ?5 WHERE id = "
        "(SELECT id FROM runs WHERE state = 'queued' AND owner IS NULL "
        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"};
    sdb_stmt *st;
    int64_t now = store_now_ms();
    dsrc_status rs = DSRC_OK;
    int rc;

    *id = 0;
    store_get(s);
    store_lazy(s, 1);
    st = store_prep(s, sql[sdb_engine_of(SDB(s)) == SDB_POSTGRES], e);
    if (!st) {
        rs = e->status;
        goto out;
    }
    sdb_bind_int64(st, 1, now);
    store_bind_text(st, 2, s->owner);
    sdb_bind_int64(st, 3, now + lease_ms);
    store_bind_text(st, 4, endpoint);
    store_bind_text(st, 5, s->node);
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        *id = sdb_column_int64(st, 0);
        while ((rc = sdb_step(st)) == SDB_ROW)
            ;
    }
    if (rc != SDB_DONE) {
        rs = sdb_errcode(SDB(s)) == SDB_E_CONSTRAINT
                 ? derr_set(e, DSRC_E_BACKEND, "busy: the run's item is being fetched")
                 : store_sql_err(s, e, "cannot claim a run");
        *id = 0;
    }
    sdb_finalize(st);
out:
    store_lazy(s, 0);
    store_put(s);
    return rs;
}

dsrc_status store_run_begin(store *s, const store_run_spec *spec, const char *endpoint,
                            int64_t lease_ms, int64_t *id, derr *e)
{
    dsrc_status rs;
    derr e2 = {0};

    store_get(s);
    store_lazy(s, 1);
    rs = store_queue_locked(s, spec, id, e);
    if (rs == DSRC_OK && (rs = store_start_locked(s, *id, endpoint, lease_ms, e)) != DSRC_OK) {
        /* the attempt is recorded, as refused */
        sdb_stmt *st = store_prep(s, "UPDATE runs SET state = 'failed', finished_at = ?, "
                                         "status = ?, retryable = ?, error = ? WHERE id = ?",
                                      &e2);
        if (st) {
            sdb_bind_int64(st, 1, store_now_ms());
            store_bind_text(st, 2, error_status_name(e->status));
            sdb_bind_int(st, 3, e->retryable);
            store_bind_text(st, 4, e->msg);
            sdb_bind_int64(st, 5, *id);
            (void)sdb_step(st);
            sdb_finalize(st);
        }
        derr_clear(&e2);
    }
    store_lazy(s, 0);
    store_put(s);
    return rs;
}

/* Run one UPDATE of a running run owned by this process: the statement's
 * last parameter is the id. */
static dsrc_status store_update_run(store *s, sdb_stmt *st, int last, int64_t id,
                                    const char *what, derr *e)
{
    int rc;

    sdb_bind_int64(st, last, id);
    rc = sdb_step(st);
    sdb_finalize(st);
    if (rc != SDB_DONE)
        return store_sql_err(s, e, what);
    if (sdb_changes(SDB(s)) != 1)
        return derr_set(e, DSRC_E_INTERNAL, "state: run %lld is not running here (%s)",
                        (long long)id, what);
    return DSRC_OK;
}

dsrc_status store_run_renew(store *s, int64_t id, int64_t lease_ms, uint64_t rows,
                            uint64_t bytes, derr *e)
{
    sdb_stmt *st;
    dsrc_status rs;

    store_get(s);
    st = store_prep(s, "UPDATE runs SET lease_until = ?, rows = ?, bytes = ? "
                       "WHERE state = 'running' AND owner = ? AND id = ?", e);
    if (!st) {
        store_put(s);
        return e->status;
    }
    store_lazy(s, 1);
    sdb_bind_int64(st, 1, store_now_ms() + lease_ms);
    sdb_bind_int64(st, 2, (int64_t)rows);
    sdb_bind_int64(st, 3, (int64_t)bytes);
    store_bind_text(st, 4, s->owner);
    rs = store_update_run(s, st, 5, id, "cannot renew the run's lease", e);
    store_lazy(s, 0);
    store_put(s);
    return rs;
}

/* Bind the output columns file..rows, bytes at parameters 1..9. */
static void store_bind_output(sdb_stmt *st, const store_run_output *o)
{
    store_bind_text(st, 1, o ? o->file : NULL);
    store_bind_text(st, 2, o ? o->manifest : NULL);
    store_bind_text(st, 3, o ? o->file_id : NULL);
    store_bind_text(st, 4, o ? o->sha256 : NULL);
    store_bind_text(st, 5, o ? o->cursor_from : NULL);
    store_bind_text(st, 6, o ? o->cursor_to : NULL);
    sdb_bind_int64(st, 7, o ? (int64_t)o->rows : 0);
    sdb_bind_int64(st, 8, o ? (int64_t)o->bytes : 0);
    store_bind_text(st, 9, NULL);
}

#define STORE_SET_OUTPUT                                                               \
    "file = ?1, manifest = ?2, file_id = ?3, sha256 = ?4, cursor_from = ?5, "          \
    "cursor_to = ?6, rows = ?7, bytes = ?8, error = ?9"

dsrc_status store_run_prepare(store *s, int64_t id, const store_run_output *out, derr *e)
{
    sdb_stmt *st;
    dsrc_status rs;

    store_get(s);
    st = store_prep(s, "UPDATE runs SET " STORE_SET_OUTPUT ", prepared = 1 "
                       "WHERE state = 'running' AND owner = ?10 AND id = ?11", e);
    if (!st) {
        store_put(s);
        return e->status;
    }
    store_bind_output(st, out);
    store_bind_text(st, 10, s->owner);
    rs = store_update_run(s, st, 11, id, "cannot record the fetch's output", e);
    store_put(s);
    return rs;
}

static dsrc_status store_succeed_once(store *s, int64_t id, const store_run_output *out,
                                     const char *commit_field, derr *e);

/* The connection was lost during the success's transaction, perhaps
 * during its COMMIT: whether it was committed is read again (on a new
 * connection, for up to STORE_DOUBT_MS).  DSRC_OK when it was; the error
 * in e when it was not; when it cannot be known, DSRC_E_UNREACHABLE with
 * code "in-doubt": the caller leaves the run's files in place (the run is
 * prepared: store_recover commits it, or it is committed already). */
static dsrc_status store_succeed_outcome(store *s, int64_t id, derr *e)
{
    int64_t until = store_now_ms() + STORE_DOUBT_MS;

    for (;;) {
        sdb_stmt *st = NULL;
        int rc = SDB_ERROR;

        if (sdb_prepare(SDB(s), "SELECT state FROM runs WHERE id = ? AND owner = ?", &st) == 0) {
            sdb_bind_int64(st, 1, id);
            sdb_bind_text(st, 2, s->owner);
            rc = sdb_step(st);
            if (rc == SDB_ROW && strcmp(store_col_text(st, 0), "succeeded") == 0) {
                sdb_finalize(st);
                derr_clear(e);
                return DSRC_OK;
            }
        }
        sdb_finalize(st);
        if (rc != SDB_ERROR)
            return e ? e->status : DSRC_E_UNREACHABLE; /* not committed */
        if (store_now_ms() >= until)
            break;
        usleep(500000);
    }
    derr_set(e, DSRC_E_UNREACHABLE,
             "state store %s: the connection was lost while run %lld's success was being "
             "committed, and the store cannot be reached to tell whether it was; its files "
             "are left in place for the run's recovery", s->path, (long long)id);
    if (e) {
        e->retryable = 1;
        snprintf(e->code, sizeof e->code, "in-doubt");
    }
    return DSRC_E_UNREACHABLE;
}

dsrc_status store_run_succeed(store *s, int64_t id, const store_run_output *out,
                              const char *commit_field, derr *e)
{
    dsrc_status rs;
    int attempt;

    store_get(s);
    for (attempt = 0;; attempt++) {
        rs = store_succeed_once(s, id, out, commit_field, e);
        if (rs == DSRC_OK || !store_again(s, attempt))
            break;
        derr_clear(e);
    }
    if (rs != DSRC_OK && sdb_errcode(SDB(s)) == SDB_E_CONN)
        rs = store_succeed_outcome(s, id, e);
    store_put(s);
    return rs;
}

/* The run's success and its cursor in one transaction. */
static dsrc_status store_succeed_once(store *s, int64_t id, const store_run_output *out,
                                     const char *commit_field, derr *e)
{
    sdb_stmt *st;
    dsrc_status rs = DSRC_OK;

    if (store_begin(s, e, "cannot lock the database") < 0)
        return e->status;
    if (commit_field && out && out->cursor_to) {
        sdb_stmt *q = store_prep(s, "SELECT source, item FROM runs WHERE id = ? AND "
                                        "state = 'running' AND owner = ?", e);
        int rc;
        if (!q) {
            rs = e->status;
            goto out;
        }
        sdb_bind_int64(q, 1, id);
        store_bind_text(q, 2, s->owner);
        rc = sdb_step(q);
        if (rc != SDB_ROW)
            rs = derr_set(e, DSRC_E_INTERNAL, "state: run %lld is not running here",
                          (long long)id);
        else if (store_put_cursor(s, store_col_text(q, 0), store_col_text(q, 1), commit_field,
                                  out->cursor_to, id, e) < 0)
            rs = e->status;
        sdb_finalize(q);
        if (rs != DSRC_OK)
            goto out;
    }
    st = store_prep(s, "UPDATE runs SET " STORE_SET_OUTPUT ", state = 'succeeded', "
                       "finished_at = ?10, status = NULL, retryable = NULL "
                       "WHERE state = 'running' AND owner = ?11 AND id = ?12", e);
    if (!st) {
        rs = e->status;
        goto out;
    }
    store_bind_output(st, out);
    sdb_bind_int64(st, 10, store_now_ms());
    store_bind_text(st, 11, s->owner);
    rs = store_update_run(s, st, 12, id, "cannot record the run's success", e);
out:
    if (rs == DSRC_OK && store_commit(s, e, "cannot commit the run") < 0)
        rs = e->status;
    if (rs != DSRC_OK)
        sdb_rollback(SDB(s));
    return rs;
}

/* A run of this process that ends without success, but whose files were
 * put in place (its success's COMMIT was in doubt): it did succeed, and is
 * committed so, as store_recover would.  1 when it was, 0 when it is not
 * such a run, -1 with e set. */
static int store_end_in_place(store *s, int64_t id, derr *e)
{
    sdb_stmt *st;
    int rc = 0;

    st = store_prep(s, "SELECT id, state, source, item, file, manifest, file_id, sha256, "
                       "cursor_field, cursor_to, prepared FROM runs WHERE id = ? AND owner = ? "
                       "AND state = 'running' AND prepared = 1", e);
    if (!st)
        return -1;
    sdb_bind_int64(st, 1, id);
    store_bind_text(st, 2, s->owner);
    if (sdb_step(st) == SDB_ROW && store_col_text(st, 4) &&
        manifest_matches(store_col_text(st, 5), store_col_text(st, 7), store_col_text(st, 9))) {
        sdb_finalize(st);
        if (store_begin(s, e, "cannot lock the database") < 0)
            return -1;
        /* the row's lock first (another process may be resolving it) */
        st = store_prep(s, "UPDATE runs SET state = state WHERE id = ? AND owner = ? "
                           "AND state = 'running'", e);
        if (st) {
            sdb_bind_int64(st, 1, id);
            store_bind_text(st, 2, s->owner);
            rc = sdb_step(st) == SDB_DONE ? 0 : -1;
            sdb_finalize(st);
            if (rc < 0)
                store_sql_err(s, e, "cannot lock the run");
            else if (sdb_changes(SDB(s)) == 1)
                st = store_prep(s, "SELECT id, state, source, item, file, manifest, file_id, "
                                   "sha256, cursor_field, cursor_to, prepared FROM runs "
                                   "WHERE id = ?", e);
            else
                st = NULL;
            if (st) {
                sdb_bind_int64(st, 1, id);
                rc = sdb_step(st) == SDB_ROW ? store_resolve_one(s, st, e) : 0;
                sdb_finalize(st);
            }
        } else {
            rc = -1;
        }
        if (rc < 0 || store_commit(s, e, "cannot commit the run") < 0) {
            sdb_rollback(SDB(s));
            return -1;
        }
        return rc;
    }
    sdb_finalize(st);
    return 0;
}

dsrc_status store_run_end(store *s, int64_t id, run_state state, const derr *why, derr *e)
{
    sdb_stmt *st;
    dsrc_status rs;
    int rc;

    if (state != RUN_FAILED && state != RUN_CANCELLED)
        return derr_set(e, DSRC_E_INVALID_ARGUMENT, "state: a run ends failed or cancelled");
    store_get(s);
    if ((rc = store_end_in_place(s, id, e)) != 0) {
        store_put(s);
        return rc > 0 ? DSRC_OK : e ? e->status : DSRC_E_INTERNAL;
    }
    st = store_prep(s, "UPDATE runs SET state = ?, finished_at = ?, status = ?, "
                       "retryable = ?, error = ? WHERE state IN ('queued', 'running') "
                       "AND owner = ? AND id = ?", e);
    if (!st) {
        store_put(s);
        return e->status;
    }
    store_bind_text(st, 1, store_state_name(state));
    sdb_bind_int64(st, 2, store_now_ms());
    store_bind_text(st, 3, why && why->status != DSRC_OK ? error_status_name(why->status)
                                                         : NULL);
    sdb_bind_int(st, 4, why ? why->retryable : 0);
    store_bind_text(st, 5, why ? why->msg : NULL);
    store_bind_text(st, 6, s->owner);
    rs = store_update_run(s, st, 7, id, "cannot record the run's end", e);
    store_put(s);
    return rs;
}

int store_last_run(store *s, const char *source, run_kind kind, const char *item,
                   int64_t *queued_ms, int64_t *ended_ms, run_state *state,
                   run_trigger *trigger, int *attempt)
{
    sdb_stmt *st;
    int rc, out = 1;
    derr e = {0};

    store_get(s);
    st = store_prep(s, "SELECT finished_at, state, COALESCE(slot, queued_at), trigger, attempt "
                       "FROM runs "
                       "WHERE source = ? AND kind = ? "
                       "AND item IS NOT DISTINCT FROM ? AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
                    &e);
    if (!st) {
        store_put(s);
        derr_clear(&e);
        return -1;
    }
    store_bind_text(st, 1, source);
    store_bind_text(st, 2, store_kind_name(kind));
    store_bind_text(st, 3, item);
    rc = sdb_step(st);
    if (rc == SDB_ROW) {
        if (ended_ms)
            *ended_ms = sdb_column_int64(st, 0);
        if (state)
            *state = (run_state)store_state_parse(store_col_text(st, 1));
        if (queued_ms)
            *queued_ms = sdb_column_int64(st, 2);
        if (trigger) {
            int i;
            *trigger = RUN_TRIGGER_SCHEDULE;
            for (i = 0; i < 5; i++)
                if (strcmp(store_col_text(st, 3), store_trigger_names[i]) == 0)
                    *trigger = (run_trigger)i;
        }
        if (attempt)
            *attempt = sdb_column_int(st, 4);
        out = 0;
    } else if (rc != SDB_DONE) {
        out = -1;
    }
    sdb_finalize(st);
    store_put(s);
    return out;
}

int64_t store_prune(store *s, int64_t before_ms, derr *e)
{
    static const char *const sql[] = {
        "DELETE FROM runs WHERE state IN ('succeeded', 'failed', 'cancelled') "
        "AND finished_at < ?",
        "DELETE FROM queries WHERE started_at < ?",
    };
    sdb_stmt *st;
    int64_t n = 0;
    size_t i;

    store_get(s);
    for (i = 0; n >= 0 && i < sizeof sql / sizeof sql[0]; i++) {
        if (!(st = store_prep(s, sql[i], e))) {
            n = -1;
            break;
        }
        sdb_bind_int64(st, 1, before_ms);
        if (sdb_step(st) == SDB_DONE)
            n += sdb_changes(SDB(s));
        else {
            store_sql_err(s, e, i ? "cannot prune the query history" : "cannot prune runs");
            n = -1;
        }
        sdb_finalize(st);
    }
    store_put(s);
    return n;
}

/* The tables that hold a source's state, and how each is cleared. */
static const char *const store_purge_sql[] = {
    "DELETE FROM cursors WHERE source = ?1",
    "DELETE FROM runs WHERE source = ?1 AND state IN ('succeeded', 'failed', 'cancelled')",
    "DELETE FROM catalog_entries WHERE snapshot_id IN"
    " (SELECT id FROM catalog_snapshots WHERE source = ?1)",
    "DELETE FROM catalog_snapshots WHERE source = ?1",
    "DELETE FROM drift_events WHERE source = ?1",
    "DELETE FROM drift_acks WHERE source = ?1",
    "DELETE FROM discoveries WHERE source = ?1",
    "DELETE FROM queries WHERE source = ?1",
};

int64_t store_purge_source(store *s, const char *source, derr *e)
{
    sdb_stmt *st;
    int64_t n = 0;
    size_t i;

    store_get(s);
    if (store_begin(s, e, "cannot begin a purge") < 0) {
        store_put(s);
        return -1;
    }
    for (i = 0; n >= 0 && i < sizeof store_purge_sql / sizeof store_purge_sql[0]; i++) {
        if (!(st = store_prep(s, store_purge_sql[i], e))) {
            n = -1;
            break;
        }
        store_bind_text(st, 1, source);
        if (sdb_step(st) == SDB_DONE)
            n += sdb_changes(SDB(s));
        else {
            store_sql_err(s, e, "cannot purge a source's state");
            n = -1;
        }
        sdb_finalize(st);
    }
    if (n < 0)
        sdb_rollback(SDB(s));
    else if (store_commit(s, e, "cannot commit a purge") < 0)
        n = -1;
    store_put(s);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Runs as JSON                                                              */

#define STORE_RUN_COLUMNS                                                              \
    "id, source, kind, item, trigger, state, attempt, queued_at, started_at, "          \
    "finished_at, owner, node, endpoint, rows, bytes, file, manifest, sha256, "          \
    "cursor_field, "                                                                    \
    "cursor_from, cursor_to, status, retryable, error"

static json_t *store_time_json(sdb_stmt *st, int i)
{
    int64_t ms;
    struct timespec ts;
    char buf[32];

    if (sdb_column_type(st, i) == SDB_NULL)
        return json_null();
    ms = sdb_column_int64(st, i);
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    manifest_time(&ts, buf);
    return json_string(buf);
}

/* One row of STORE_RUN_COLUMNS as an object. */
static json_t *store_row_json(sdb_stmt *st)
{
    json_t *o = json_object();
    int i, n = sdb_column_count(st);

    for (i = 0; o && i < n; i++) {
        const char *name = sdb_column_name(st, i);
        json_t *v;

        if (strcmp(name, "queued_at") == 0 || strcmp(name, "started_at") == 0 ||
            strcmp(name, "finished_at") == 0)
            v = store_time_json(st, i);
        else if (strcmp(name, "retryable") == 0)
            v = sdb_column_type(st, i) == SDB_NULL ? json_null()
                                                          : json_boolean(sdb_column_int(st, i));
        else if (sdb_column_type(st, i) == SDB_INTEGER)
            v = json_integer(sdb_column_int64(st, i));
        else if (sdb_column_type(st, i) == SDB_NULL)
            v = json_null();
        else
            v = json_string(store_col_text(st, i));
        json_object_set_new(o, name, v ? v : json_null());
    }
    return o;
}

json_t *store_runs_json(store *s, const char *source, int state, int limit, derr *e)
{
    sdb_stmt *st;
    json_t *arr = json_array();
    int rc;

    store_get(s);
    st = store_prep(s, "SELECT " STORE_RUN_COLUMNS " FROM runs WHERE (CAST(?1 AS TEXT) IS NULL OR "
                       "source = ?1) AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3",
                    e);
    if (!st || !arr) {
        store_put(s);
        json_decref(arr);
        return NULL;
    }
    store_bind_text(st, 1, source);
    store_bind_text(st, 2, state >= 0 ? store_state_name((run_state)state) : NULL);
    sdb_bind_int(st, 3, limit > 0 ? limit : 100);
    while ((rc = sdb_step(st)) == SDB_ROW)
        json_array_append_new(arr, store_row_json(st));
    if (rc != SDB_DONE) {
        store_sql_err(s, e, "cannot read the runs");
        json_decref(arr);
        arr = NULL;
    }
    sdb_finalize(st);
    store_put(s);
    return arr;
}

json_t *store_run_json(store *s, int64_t id, derr *e)
{
    sdb_stmt *st;
    json_t *o = NULL;
    int rc;

    store_get(s);
    st = store_prep(s, "SELECT " STORE_RUN_COLUMNS " FROM runs WHERE id = ?", e);
    if (st) {
        sdb_bind_int64(st, 1, id);
        rc = sdb_step(st);
        if (rc == SDB_ROW)
            o = store_row_json(st);
        else if (rc == SDB_DONE)
            derr_set(e, DSRC_E_NOT_FOUND, "no run %lld", (long long)id);
        else
            store_sql_err(s, e, "cannot read the run");
        sdb_finalize(st);
    }
    store_put(s);
    return o;
}

/* ------------------------------------------------------------------------ */
/* The store of a configuration                                              */

struct store_where {
    char *state_dir, *key_file, *url, *password, *schema, *tls_mode, *tls_ca, *tls_cert,
        *tls_key, *node;
    int pool_size, connect_timeout_s;
};

void store_where_free(store_where *w)
{
    if (!w)
        return;
    free(w->state_dir);
    free(w->key_file);
    free(w->url);
    if (w->password)
        memset(w->password, 0, strlen(w->password));
    free(w->password);
    free(w->schema);
    free(w->tls_mode);
    free(w->tls_ca);
    free(w->tls_cert);
    free(w->tls_key);
    free(w->node);
    free(w);
}

store_where *store_where_of(const cfg_config *cfg)
{
    const cfg_state_store *st = &cfg->state_store;
    store_where *w = calloc(1, sizeof *w);
    char **dst[] = {&w->state_dir, &w->key_file, &w->url, &w->password, &w->schema,
                    &w->tls_mode, &w->tls_ca, &w->tls_cert, &w->tls_key, &w->node};
    const char *src[] = {cfg->state_dir, cfg->key_file, st->url, st->password, st->schema,
                         st->tls_mode, st->tls_ca, st->tls_cert, st->tls_key, cfg->node_name};
    size_t i;

    if (!w)
        return NULL;
    for (i = 0; i < sizeof src / sizeof src[0]; i++)
        if (src[i] && !(*dst[i] = strdup(src[i]))) {
            store_where_free(w);
            return NULL;
        }
    w->pool_size = st->pool_size;
    w->connect_timeout_s = (int)((st->connect_timeout_ms + 999) / 1000);
    return w;
}

store *store_open_where(const store_where *w, derr *e)
{
    store_backend b = {0};
    char *password = NULL;
    store *s;

    if (!w->url) {
        if ((s = store_open(w->state_dir, e)) && w->node)
            (void)store_set_node(s, w->node);
        return s;
    }
    if (w->password &&
        secret_resolve(w->password, NULL, w->key_file, &password, NULL, e) != DSRC_OK) {
        derr_prefix(e, "state_store.password");
        return NULL;
    }
    b.url = w->url;
    b.password = password;
    b.schema = w->schema;
    b.tls_mode = w->tls_mode;
    b.tls_ca = w->tls_ca;
    b.tls_cert = w->tls_cert;
    b.tls_key = w->tls_key;
    /* verify-ca and verify-full without a CA: the system's bundle */
    if (!b.tls_ca && b.tls_mode && strncmp(b.tls_mode, "verify-", 7) == 0 &&
        access(STORE_SYSTEM_CA, R_OK) == 0)
        b.tls_ca = STORE_SYSTEM_CA;
    b.pool_size = w->pool_size;
    b.connect_timeout_s = w->connect_timeout_s;
    s = store_open_backend(w->state_dir, &b, e);
    secret_free(password);
    if (s && w->node)
        (void)store_set_node(s, w->node);
    return s;
}

store *store_open_cfg(const cfg_config *cfg, derr *e)
{
    store_where *w = store_where_of(cfg);
    store *s;

    if (!w) {
        derr_set(e, DSRC_E_INTERNAL, "state store: out of memory");
        return NULL;
    }
    s = store_open_where(w, e);
    store_where_free(w);
    return s;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* db_sqlite.c -- db.h on the embedded SQLite database */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store/db_int.h"

typedef struct sq_db {
    sdb base;
    sqlite3 *db;
    int busy_ms;
} sq_db;

typedef struct sq_stmt {
    sdb_stmt base;
    sqlite3_stmt *st;
} sq_stmt;

#define SQ(d) (((sq_db *)(d))->db)
#define ST(s) (((sq_stmt *)(s))->st)

static void sq_close(sdb *d)
{
    sqlite3_close(SQ(d));
    free(d);
}

static int sq_prepare(sdb *d, const char *sql, sdb_stmt **out)
{
    sq_stmt *s = calloc(1, sizeof *s);

    if (!s)
        return -1;
    s->base.db = d;
    if (sqlite3_prepare_v2(SQ(d), sql, -1, &s->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(s->st);
        free(s);
        return -1;
    }
    *out = &s->base;
    return 0;
}

static void sq_bind_int64(sdb_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(ST(s), i, (sqlite3_int64)v);
}

static void sq_bind_text(sdb_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(ST(s), i, v, -1, SQLITE_TRANSIENT);
}

static void sq_bind_null(sdb_stmt *s, int i)
{
    sqlite3_bind_null(ST(s), i);
}

static void sq_bind_blob(sdb_stmt *s, int i, const void *v, size_t n)
{
    sqlite3_bind_blob64(ST(s), i, v, (sqlite3_uint64)n, SQLITE_TRANSIENT);
}

static int sq_step(sdb_stmt *s)
{
    int rc = sqlite3_step(ST(s));

    return rc == SQLITE_ROW ? SDB_ROW : rc == SQLITE_DONE ? SDB_DONE : SDB_ERROR;
}

static int sq_column_count(sdb_stmt *s)
{
    return sqlite3_column_count(ST(s));
}

static const char *sq_column_name(sdb_stmt *s, int i)
{
    return sqlite3_column_name(ST(s), i);
}

static sdb_type sq_column_type(sdb_stmt *s, int i)
{
    switch (sqlite3_column_type(ST(s), i)) {
    case SQLITE_NULL:
        return SDB_NULL;
    case SQLITE_INTEGER:
        return SDB_INTEGER;
    case SQLITE_BLOB:
        return SDB_BLOB;
    default:
        return SDB_TEXT;
    }
}

static int64_t sq_column_int64(sdb_stmt *s, int i)
{
    return sqlite3_column_int64(ST(s), i);
}

static const char *sq_column_text(sdb_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(ST(s), i);
}

static const void *sq_column_blob(sdb_stmt *s, int i)
{
    return sqlite3_column_blob(ST(s), i);
}

static size_t sq_column_bytes(sdb_stmt *s, int i)
{
    return (size_t)sqlite3_column_bytes(ST(s), i);
}

static void sq_reset(sdb_stmt *s)
{
    sqlite3_reset(ST(s));
}

static void sq_finalize(sdb_stmt *s)
{
    sqlite3_finalize(ST(s));
    free(s);
}

static int sq_exec(sdb *d, const char *sql)
{
    return sqlite3_exec(SQ(d), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int64_t sq_changes(sdb *d)
{
    return sqlite3_changes(SQ(d));
}

static int sq_begin(sdb *d)
{
    return sq_exec(d, "BEGIN IMMEDIATE");
}

static int sq_commit(sdb *d)
{
    return sq_exec(d, "COMMIT");
}

static void sq_rollback(sdb *d)
{
    if (!sqlite3_get_autocommit(SQ(d)))
        (void)sqlite3_exec(SQ(d), "ROLLBACK", NULL, NULL, NULL);
}

static int sq_lock_table(sdb *d, const char *table)
{
    (void)d;
    (void)table;
    return 0;
}

static int sq_schema_version(sdb *d)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(SQ(d), "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int sq_set_schema_version(sdb *d, int v)
{
    char sql[64];

    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    return sq_exec(d, sql);
}

static void sq_lazy(sdb *d, int lazy)
{
    (void)sqlite3_exec(SQ(d), lazy ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
                       NULL, NULL, NULL);
}

static sdb_err sq_errcode(sdb *d)
{
    switch (sqlite3_errcode(SQ(d)) & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return SDB_E_NONE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SDB_E_BUSY;
    case SQLITE_CONSTRAINT:
        return SDB_E_CONSTRAINT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return SDB_E_READONLY;
    case SQLITE_FULL:
        return SDB_E_FULL;
    case SQLITE_NOMEM:
        return SDB_E_NOMEM;
    default:
        return SDB_E_OTHER;
    }
}

static const char *sq_errmsg(sdb *d)
{
    return sqlite3_errmsg(SQ(d));
}

static int sq_sys_errno(sdb *d)
{
    return sqlite3_system_errno(SQ(d));
}

static const sdb_ops sq_ops = {
    .engine = SDB_SQLITE,
    .close = sq_close,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .bind_blob = sq_bind_blob,
    .step = sq_step,
    .column_count = sq_column_count,
    .column_name = sq_column_name,
    .column_type = sq_column_type,
    .column_int64 = sq_column_int64,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .column_bytes = sq_column_bytes,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .exec = sq_exec,
    .changes = sq_changes,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock_table = sq_lock_table,
    .schema_version = sq_schema_version,
    .set_schema_version = sq_set_schema_version,
    .lazy = sq_lazy,
    .ddl_id = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .ddl_without_rowid = " WITHOUT ROWID",
    .ddl_blob = "BLOB",
    .ddl_integer = "INTEGER",
    .ddl_text = "TEXT",
    .errcode = sq_errcode,
    .errmsg = sq_errmsg,
    .sys_errno = sq_sys_errno,
};

sdb *sdb_open_sqlite(const char *path, int busy_ms, char **err, int *sys_errno)
{
    sq_db *d = calloc(1, sizeof *d);

    *err = NULL;
    *sys_errno = 0;
    if (!d) {
        *err = strdup("out of memory");
        return NULL;
    }
    d->base.ops = &sq_ops;
    if (sqlite3_open_v2(path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        *sys_errno = errno;
        *err = strdup(d->db ? sqlite3_errmsg(d->db) : "out of memory");
        sqlite3_close(d->db);
        free(d);
        return NULL;
    }
    sqlite3_busy_timeout(d->db, busy_ms);
    d->busy_ms = busy_ms;
    return &d->base;
}

int sdb_sqlite_readonly(sdb *d)
{
    return d->ops->engine == SDB_SQLITE && sqlite3_db_readonly(SQ(d), "main") == 1;
}

static double sq_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Put the file in WAL mode.  Another process writing the file in its
 * rollback-journal mode (the first opens of a new store, side by side)
 * makes SQLite refuse the switch at once, without its busy handler:
 * the switch is tried again, up to the busy timeout. */
static int sq_wal(sq_db *d)
{
    double deadline = sq_now_ms() + d->busy_ms;
    long pause_us = 1000;
    int rc;

    for (;;) {
        rc = sqlite3_exec(d->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return -1;
        if (sq_now_ms() >= deadline)
            return -3;
        nanosleep(&(struct timespec){0, pause_us * 1000}, NULL);
        if (pause_us < 50000)
            pause_us *= 2;
    }
}

int sdb_sqlite_setup(sdb *d)
{
    int rc;

    if (d->ops->engine != SDB_SQLITE)
        return 0;
    if ((rc = sq_wal((sq_db *)d)) < 0)
        return rc;
    return sq_exec(d, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON") < 0 ? -2 : 0;
}

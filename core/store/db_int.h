/* SPDX-License-Identifier: Apache-2.0 */
/* db_int.h -- what a backend of db.h provides */
#ifndef DSRC_CORE_STORE_DB_INT_H
#define DSRC_CORE_STORE_DB_INT_H

#include "store/db.h"

typedef struct sdb_ops {
    sdb_engine engine;
    void (*close)(sdb *db);
    int (*prepare)(sdb *db, const char *sql, sdb_stmt **st);
    void (*bind_int64)(sdb_stmt *st, int i, int64_t v);
    void (*bind_text)(sdb_stmt *st, int i, const char *v);
    void (*bind_null)(sdb_stmt *st, int i);
    void (*bind_blob)(sdb_stmt *st, int i, const void *v, size_t n);
    int (*step)(sdb_stmt *st);
    int (*column_count)(sdb_stmt *st);
    const char *(*column_name)(sdb_stmt *st, int i);
    sdb_type (*column_type)(sdb_stmt *st, int i);
    int64_t (*column_int64)(sdb_stmt *st, int i);
    const char *(*column_text)(sdb_stmt *st, int i);
    const void *(*column_blob)(sdb_stmt *st, int i);
    size_t (*column_bytes)(sdb_stmt *st, int i);
    void (*reset)(sdb_stmt *st);
    void (*finalize)(sdb_stmt *st);
    int (*exec)(sdb *db, const char *sql);
    int64_t (*changes)(sdb *db);
    int (*begin)(sdb *db);
    int (*commit)(sdb *db);
    void (*rollback)(sdb *db);
    int (*lock_table)(sdb *db, const char *table);
    int (*schema_version)(sdb *db);
    int (*set_schema_version)(sdb *db, int v);
    void (*lazy)(sdb *db, int lazy);
    /* the DDL words of db.h's file comment */
    const char *ddl_id, *ddl_without_rowid, *ddl_blob, *ddl_integer, *ddl_text;
    sdb_err (*errcode)(sdb *db);
    const char *(*errmsg)(sdb *db);
    int (*sys_errno)(sdb *db);
} sdb_ops;

/* The first member of every backend's handle and statement. */
struct sdb {
    const sdb_ops *ops;
};

struct sdb_stmt {
    sdb *db;
};

#endif

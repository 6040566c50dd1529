/* SPDX-License-Identifier: Apache-2.0 */
/* db.c -- the calls of db.h, handed to the handle's backend */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "store/db_int.h"

void sdb_close(sdb *db)
{
    if (db)
        db->ops->close(db);
}

sdb_engine sdb_engine_of(const sdb *db)
{
    return db->ops->engine;
}

int sdb_prepare(sdb *db, const char *sql, sdb_stmt **st)
{
    *st = NULL;
    return db->ops->prepare(db, sql, st);
}

void sdb_bind_int64(sdb_stmt *st, int i, int64_t v)
{
    st->db->ops->bind_int64(st, i, v);
}

void sdb_bind_int(sdb_stmt *st, int i, int v)
{
    st->db->ops->bind_int64(st, i, v);
}

void sdb_bind_text(sdb_stmt *st, int i, const char *v)
{
    if (v)
        st->db->ops->bind_text(st, i, v);
    else
        st->db->ops->bind_null(st, i);
}

void sdb_bind_null(sdb_stmt *st, int i)
{
    st->db->ops->bind_null(st, i);
}

void sdb_bind_blob(sdb_stmt *st, int i, const void *v, size_t n)
{
    st->db->ops->bind_blob(st, i, v, n);
}

int sdb_step(sdb_stmt *st)
{
    return st->db->ops->step(st);
}

int sdb_step_id(sdb_stmt *st, int64_t *id)
{
    int rc = sdb_step(st);

    if (rc != SDB_ROW)
        return SDB_ERROR;
    *id = sdb_column_int64(st, 0);
    while ((rc = sdb_step(st)) == SDB_ROW)
        ;
    return rc;
}

int sdb_column_count(sdb_stmt *st)
{
    return st->db->ops->column_count(st);
}

const char *sdb_column_name(sdb_stmt *st, int i)
{
    return st->db->ops->column_name(st, i);
}

sdb_type sdb_column_type(sdb_stmt *st, int i)
{
    return st->db->ops->column_type(st, i);
}

int64_t sdb_column_int64(sdb_stmt *st, int i)
{
    return st->db->ops->column_int64(st, i);
}

int sdb_column_int(sdb_stmt *st, int i)
{
    return (int)st->db->ops->column_int64(st, i);
}

const char *sdb_column_text(sdb_stmt *st, int i)
{
    return st->db->ops->column_text(st, i);
}

const void *sdb_column_blob(sdb_stmt *st, int i)
{
    return st->db->ops->column_blob(st, i);
}

size_t sdb_column_bytes(sdb_stmt *st, int i)
{
    return st->db->ops->column_bytes(st, i);
}

void sdb_reset(sdb_stmt *st)
{
    if (st)
        st->db->ops->reset(st);
}

void sdb_finalize(sdb_stmt *st)
{
    if (st)
        st->db->ops->finalize(st);
}

int sdb_exec(sdb *db, const char *sql)
{
    return db->ops->exec(db, sql);
}

/* Append `s` to the growing buffer. */
static int sdb_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*len + n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int sdb_exec_ddl(sdb *db, const char *sql)
{
    const sdb_ops *o = db->ops;
    const struct {
        const char *word, *with;
    } rw[] = {{"{ID}", o->ddl_id},
              {"{WITHOUT_ROWID}", o->ddl_without_rowid},
              {"{BLOB}", o->ddl_blob},
              {"INTEGER", o->ddl_integer},
              {"TEXT", o->ddl_text}};
    char *buf = NULL;
    size_t len = 0, cap = 0, i;
    const char *p = sql;
    int rc;

    if (sdb_put(&buf, &len, &cap, "", 0) < 0)
        return -1;
    while (*p) {
        for (i = 0; i < sizeof rw / sizeof rw[0]; i++) {
            size_t n = strlen(rw[i].word);
            if (strncmp(p, rw[i].word, n) == 0) {
                if (sdb_put(&buf, &len, &cap, rw[i].with, strlen(rw[i].with)) < 0) {
                    free(buf);
                    return -1;
                }
                p += n;
                break;
            }
        }
        if (i == sizeof rw / sizeof rw[0] && sdb_put(&buf, &len, &cap, p++, 1) < 0) {
            free(buf);
            return -1;
        }
    }
    rc = sdb_exec(db, buf);
    free(buf);
    return rc;
}

int64_t sdb_changes(sdb *db)
{
    return db->ops->changes(db);
}

int sdb_begin(sdb *db)
{
    return db->ops->begin(db);
}

int sdb_commit(sdb *db)
{
    return db->ops->commit(db);
}

void sdb_rollback(sdb *db)
{
    db->ops->rollback(db);
}

int sdb_lock_table(sdb *db, const char *table)
{
    return db->ops->lock_table(db, table);
}

int sdb_schema_version(sdb *db)
{
    return db->ops->schema_version(db);
}

int sdb_set_schema_version(sdb *db, int v)
{
    return db->ops->set_schema_version(db, v);
}

void sdb_lazy(sdb *db, int lazy)
{
    db->ops->lazy(db, lazy);
}

sdb_err sdb_errcode(sdb *db)
{
    return db->ops->errcode(db);
}

const char *sdb_errmsg(sdb *db)
{
    return db->ops->errmsg(db);
}

int sdb_sys_errno(sdb *db)
{
    return db->ops->sys_errno(db);
}

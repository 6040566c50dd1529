/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_env.h -- the state store a unit test opens: SQLite in the test's
 * directory, or, when DSRC_TEST_STORE_URL is set, that PostgreSQL
 * database, in a schema of its own for each directory (so that a test
 * that reopens its directory finds its store again).  The password is
 * DSRC_TEST_STORE_PASSWORD; DSRC_TEST_STORE_CA, when set, is the CA that
 * verifies the server (verify-full).  tests/integration/store_pg.sh runs
 * the store's tests so.
 */
#ifndef DSRC_TESTS_STORE_ENV_H
#define DSRC_TESTS_STORE_ENV_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/store.h"

static inline int unit_store_is_pg(void)
{
    const char *u = getenv("DSRC_TEST_STORE_URL");

    return u && *u;
}

static inline store *unit_store_open(const char *dir, derr *e)
{
    store_backend b = {0};
    char schema[32];
    uint64_t h = 1469598103934665603ULL;
    const char *p;

    if (!unit_store_is_pg())
        return store_open(dir, e);
    for (p = dir; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(schema, sizeof schema, "t_%016llx", (unsigned long long)h);
    b.url = getenv("DSRC_TEST_STORE_URL");
    b.password = getenv("DSRC_TEST_STORE_PASSWORD");
    b.schema = schema;
    if ((b.tls_ca = getenv("DSRC_TEST_STORE_CA")))
        b.tls_mode = "verify-full";
    return store_open_backend(dir, &b, e);
}

/* Run sql on the store of dir, as someone who can write its database
 * would, behind the back of the handles open on it. */
static inline void unit_store_exec(const char *dir, const char *sql)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    sdb *db;

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    db = store_lock(s);
    ck_assert_msg(sdb_exec(db, sql) == 0, "%s: %s", sql, sdb_errmsg(db));
    store_unlock(s);
    store_close(s);
}

/* The integer that sql selects from the store of dir. */
static inline int64_t unit_store_int(const char *dir, const char *sql)
{
    derr e = {0};
    store *s = unit_store_open(dir, &e);
    sdb_stmt *st = NULL;
    sdb *db;
    int64_t n;

    ck_assert_msg(s != NULL, "store_open: %s", e.msg ? e.msg : "?");
    db = store_lock(s);
    ck_assert_msg(sdb_prepare(db, sql, &st) == 0, "%s: %s", sql, sdb_errmsg(db));
    ck_assert_msg(sdb_step(st) == SDB_ROW, "%s: %s", sql, sdb_errmsg(db));
    n = sdb_column_int64(st, 0);
    sdb_finalize(st);
    store_unlock(s);
    store_close(s);
    return n;
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db_pg.c -- db.h on a PostgreSQL database shared by several processes.
 *
 * libpq is opened with dlopen() the first time a PostgreSQL store is
 * opened (lazylib.h): dsrc and dsrcd on the SQLite store never load it.
 *
 * A statement is kept as SQL until its first step, which sends it with
 * its parameters in one round trip (PQexecParams, text results); `?` and
 * `?N` become `$N`.  A parameter bound as an integer is sent as int8, a
 * text as text, a blob as bytea (binary), a NULL untyped.
 *
 * Connection loss: a call that finds the connection broken fails with
 * SDB_E_CONN.  Outside a transaction the next call reconnects; inside
 * one, every call fails until the caller rolls back (or its commit
 * fails), so that the rest of a transaction is never run on a new
 * connection, outside it: a transaction is all or nothing.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/lazylib.h"
#include "store/db_int.h"

/* libpq's functions, loaded on first use. */
static struct {
    PGconn *(*connectdbParams)(const char *const *kw, const char *const *val, int expand);
    ConnStatusType (*status)(const PGconn *c);
    char *(*errorMessage)(const PGconn *c);
    void (*finish)(PGconn *c);
    PGresult *(*exec)(PGconn *c, const char *q);
    PGresult *(*execParams)(PGconn *c, const char *q, int n, const Oid *types,
                            const char *const *vals, const int *lens, const int *fmts,
                            int rfmt);
    ExecStatusType (*resultStatus)(const PGresult *r);
    char *(*resultErrorField)(const PGresult *r, int field);
    char *(*resultErrorMessage)(const PGresult *r);
    void (*clear)(PGresult *r);
    int (*ntuples)(const PGresult *r);
    int (*nfields)(const PGresult *r);
    char *(*fname)(const PGresult *r, int i);
    Oid (*ftype)(const PGresult *r, int i);
    int (*getisnull)(const PGresult *r, int row, int col);
    char *(*getvalue)(const PGresult *r, int row, int col);
    int (*getlength)(const PGresult *r, int row, int col);
    char *(*cmdTuples)(PGresult *r);
    char *(*cmdStatus)(PGresult *r);
    PGTransactionStatusType (*transactionStatus)(const PGconn *c);
    unsigned char *(*unescapeBytea)(const unsigned char *s, size_t *n);
    void (*freemem)(void *p);
    PQnoticeProcessor (*setNoticeProcessor)(PGconn *c, PQnoticeProcessor p, void *arg);
} pq;

static const char *const pq_names[] = {
    "PQconnectdbParams", "PQstatus", "PQerrorMessage", "PQfinish", "PQexec", "PQexecParams",
    "PQresultStatus", "PQresultErrorField", "PQresultErrorMessage", "PQclear", "PQntuples",
    "PQnfields", "PQfname", "PQftype", "PQgetisnull", "PQgetvalue", "PQgetlength",
    "PQcmdTuples", "PQcmdStatus", "PQtransactionStatus", "PQunescapeBytea", "PQfreemem",
    "PQsetNoticeProcessor"};

static void pq_fill(void **s)
{
    LAZY_SET(pq.connectdbParams, s[0]);
    LAZY_SET(pq.status, s[1]);
    LAZY_SET(pq.errorMessage, s[2]);
    LAZY_SET(pq.finish, s[3]);
    LAZY_SET(pq.exec, s[4]);
    LAZY_SET(pq.execParams, s[5]);
    LAZY_SET(pq.resultStatus, s[6]);
    LAZY_SET(pq.resultErrorField, s[7]);
    LAZY_SET(pq.resultErrorMessage, s[8]);
    LAZY_SET(pq.clear, s[9]);
    LAZY_SET(pq.ntuples, s[10]);
    LAZY_SET(pq.nfields, s[11]);
    LAZY_SET(pq.fname, s[12]);
    LAZY_SET(pq.ftype, s[13]);
    LAZY_SET(pq.getisnull, s[14]);
    LAZY_SET(pq.getvalue, s[15]);
    LAZY_SET(pq.getlength, s[16]);
    LAZY_SET(pq.cmdTuples, s[17]);
    LAZY_SET(pq.cmdStatus, s[18]);
    LAZY_SET(pq.transactionStatus, s[19]);
    LAZY_SET(pq.unescapeBytea, s[20]);
    LAZY_SET(pq.freemem, s[21]);
    LAZY_SET(pq.setNoticeProcessor, s[22]);
}

static lazylib_def pq_lib = {
    "libpq.so.5", "A PostgreSQL state store", "libpq5", pq_names,
    sizeof pq_names / sizeof *pq_names, pq_fill, 0, {0}};

/* The type oids the store reads. */
#define PG_BOOL 16
#define PG_BYTEA 17
#define PG_INT8 20
#define PG_INT2 21
#define PG_INT4 23
#define PG_NUMERIC 1700

#define PG_KW_MAX 16

typedef struct pg_db {
    sdb base;
    PGconn *conn;
    /* the connection's keywords, kept to reconnect */
    char *kw[PG_KW_MAX], *val[PG_KW_MAX];
    char *schema;         /* NULL: the server's search path               */
    int in_tx;            /* between begin and commit/rollback             */
    int broken;           /* the connection was lost inside that transaction */
    int64_t changes;
    sdb_err err;
    char msg[512];
} pg_db;

typedef struct pg_param {
    char *v;              /* NULL: SQL NULL                                */
    int len, fmt;
    Oid type;
} pg_param;

typedef struct pg_stmt {
    sdb_stmt base;
    char *sql;            /* with $N                                       */
    int nparams;
    pg_param *p;
    PGresult *res;
    int row, nrows;       /* row: the current one, -1 before the first     */
    unsigned char *blob;  /* the last column_blob, unescaped               */
    size_t blob_len;
} pg_stmt;

#define PG(d) ((pg_db *)(d))
#define PS(s) ((pg_stmt *)(s))

static void pg_noticeless(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Set the handle's error from `why` (may be NULL: the connection's). */
static void pg_seterr(pg_db *d, sdb_err code, const char *why)
{
    size_t n;

    d->err = code;
    snprintf(d->msg, sizeof d->msg, "%s",
             why ? why : d->conn ? pq.errorMessage(d->conn) : "no connection");
    n = strlen(d->msg);
    while (n > 0 && (d->msg[n - 1] == '\n' || d->msg[n - 1] == ' '))
        d->msg[--n] = '\0';
    if (!n)
        snprintf(d->msg, sizeof d->msg, "%s",
                 code == SDB_E_CONN ? "the connection to the server was lost" : "error");
}

/* The class of a failed result's SQLSTATE. */
static sdb_err pg_classify(pg_db *d, const PGresult *r)
{
    const char *state = r ? pq.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (!d->conn || pq.status(d->conn) == CONNECTION_BAD)
        return SDB_E_CONN;
    if (!state)
        return r ? SDB_E_OTHER : SDB_E_CONN;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return SDB_E_CONN;     /* connection exception; admin shutdown */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)
        return SDB_E_BUSY;     /* serialization failure, deadlock, lock not available */
    if (strncmp(state, "23", 2) == 0)
        return SDB_E_CONSTRAINT;
    if (strcmp(state, "42501") == 0 || strcmp(state, "25006") == 0)
        return SDB_E_READONLY;
    if (strcmp(state, "53100") == 0)
        return SDB_E_FULL;
    if (strcmp(state, "53200") == 0)
        return SDB_E_NOMEM;
    return SDB_E_OTHER;
}

/* Record a failed result's error; the connection is marked broken when
 * lost inside a transaction.  Frees r. */
static void pg_fail(pg_db *d, PGresult *r)
{
    sdb_err code = pg_classify(d, r);

    pg_seterr(d, code, r && pq.resultErrorMessage(r)[0] ? pq.resultErrorMessage(r) : NULL);
    if (code == SDB_E_CONN && d->in_tx)
        d->broken = 1;
    if (r)
        pq.clear(r);
}

static void pg_disconnect(pg_db *d)
{
    if (d->conn)
        pq.finish(d->conn);
    d->conn = NULL;
}

/* Connect (again): 0, or -1 with the error set. */
static int pg_connect(pg_db *d)
{
    PGresult *r = NULL;

    pg_disconnect(d);
    d->conn = pq.connectdbParams((const char *const *)d->kw, (const char *const *)d->val, 1);
    if (!d->conn) {
        pg_seterr(d, SDB_E_NOMEM, "out of memory");
        return -1;
    }
    if (pq.status(d->conn) != CONNECTION_OK) {
        pg_seterr(d, SDB_E_CONN, NULL);
        pg_disconnect(d);
        return -1;
    }
    pq.setNoticeProcessor(d->conn, pg_noticeless, NULL);
    if (d->schema) {
        /* made when missing, by one process at a time (the name is
         * checked: lower-case letters, digits and '_') */
        char sql[256];
        int missing;
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM pg_catalog.pg_namespace "
                                  "WHERE nspname = '%s'", d->schema);
        r = pq.exec(d->conn, sql);
        if (!r || pq.resultStatus(r) != PGRES_TUPLES_OK)
            goto fail;
        missing = strcmp(pq.getvalue(r, 0, 0), "0") == 0;
        pq.clear(r);
        if (missing) {
            snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(7239170002); "
                                      "CREATE SCHEMA IF NOT EXISTS \"%s\"", d->schema);
            r = pq.exec(d->conn, sql);
            if (!r || pq.resultStatus(r) != PGRES_COMMAND_OK)
                goto fail;
            pq.clear(r);
        }
        snprintf(sql, sizeof sql, "SET search_path = \"%s\"", d->schema);
        r = pq.exec(d->conn, sql);
        if (!r || pq.resultStatus(r) != PGRES_COMMAND_OK)
            goto fail;
        pq.clear(r);
    }
    return 0;
fail:
    pg_fail(d, r);
    pg_disconnect(d);
    return -1;
}

/* Before a call: a connection to use, or -1 with the error set (lost
 * inside a transaction: no reconnection until it ends). */
static int pg_ready(pg_db *d)
{
    if (d->broken) {
        pg_seterr(d, SDB_E_CONN, "the connection to the server was lost during the "
                                 "transaction; it was not committed");
        return -1;
    }
    if (d->conn && pq.status(d->conn) == CONNECTION_OK)
        return 0;
    if (d->in_tx) {
        d->broken = 1;
        pg_seterr(d, SDB_E_CONN, "the connection to the server was lost during the "
                                 "transaction; it was not committed");
        return -1;
    }
    return pg_connect(d);
}

/* ------------------------------------------------------------------------ */
/* Statements                                                                */

/* sql with `?`/`?N` made `$N` (outside quotes); *n the highest number. */
static char *pg_translate(const char *sql, int *n)
{
    size_t cap = strlen(sql) * 2 + 16, len = 0;
    char *out = malloc(cap);
    int max = 0;
    char quote = 0;

    if (!out)
        return NULL;
    for (; *sql; sql++) {
        if (len + 16 >= cap) {
            char *nb = realloc(out, cap *= 2);
            if (!nb) {
                free(out);
                return NULL;
            }
            out = nb;
        }
        if (quote) {
            if (*sql == quote)
                quote = 0;
            out[len++] = *sql;
        } else if (*sql == '\'' || *sql == '"') {
            quote = *sql;
            out[len++] = *sql;
        } else if (*sql == '?') {
            int k;
            if (sql[1] >= '0' && sql[1] <= '9') {
                char *end;
                k = (int)strtol(sql + 1, &end, 10);
                sql = end - 1;
            } else {
                k = max + 1;
            }
            if (k > max)
                max = k;
            len += (size_t)sprintf(out + len, "$%d", k);
        } else {
            out[len++] = *sql;
        }
    }
    out[len] = '\0';
    *n = max;
    return out;
}

static int pg_prepare(sdb *db, const char *sql, sdb_stmt **out)
{
    pg_db *d = PG(db);
    pg_stmt *s = calloc(1, sizeof *s);

    if (!s || !(s->sql = pg_translate(sql, &s->nparams)) ||
        (s->nparams > 0 && !(s->p = calloc((size_t)s->nparams, sizeof *s->p)))) {
        if (s)
            free(s->sql);
        free(s);
        pg_seterr(d, SDB_E_NOMEM, "out of memory");
        return -1;
    }
    s->base.db = db;
    s->row = -1;
    *out = &s->base;
    return 0;
}

static pg_param *pg_param_at(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);

    if (i < 1 || i > s->nparams)
        return NULL;
    free(s->p[i - 1].v);
    memset(&s->p[i - 1], 0, sizeof s->p[i - 1]);
    return &s->p[i - 1];
}

static void pg_bind_int64(sdb_stmt *st, int i, int64_t v)
{
    pg_param *p = pg_param_at(st, i);

    if (p && asprintf(&p->v, "%lld", (long long)v) >= 0)
        p->type = PG_INT8;
    else if (p)
        p->v = NULL;
}

static void pg_bind_text(sdb_stmt *st, int i, const char *v)
{
    pg_param *p = pg_param_at(st, i);

    if (p && (p->v = strdup(v)))
        p->type = 25; /* text */
}

static void pg_bind_null(sdb_stmt *st, int i)
{
    (void)pg_param_at(st, i);
}

static void pg_bind_blob(sdb_stmt *st, int i, const void *v, size_t n)
{
    pg_param *p = pg_param_at(st, i);

    if (p && (p->v = malloc(n ? n : 1))) {
        memcpy(p->v, v, n);
        p->len = (int)n;
        p->fmt = 1;
        p->type = PG_BYTEA;
    }
}

static void pg_clear_result(pg_stmt *s)
{
    if (s->res)
        pq.clear(s->res);
    s->res = NULL;
    s->row = -1;
    s->nrows = 0;
    if (s->blob)
        pq.freemem(s->blob);
    s->blob = NULL;
}

static int pg_step(sdb_stmt *st)
{
    pg_stmt *s = PS(st);
    pg_db *d = PG(st->db);

    if (!s->res) {
        const char *vals[s->nparams ? s->nparams : 1];
        int lens[s->nparams ? s->nparams : 1], fmts[s->nparams ? s->nparams : 1];
        Oid types[s->nparams ? s->nparams : 1];
        ExecStatusType rs;
        PGresult *r;
        int k;

        if (pg_ready(d) < 0)
            return SDB_ERROR;
        for (k = 0; k < s->nparams; k++) {
            vals[k] = s->p[k].v;
            lens[k] = s->p[k].len;
            fmts[k] = s->p[k].fmt;
            types[k] = s->p[k].type;
        }
        r = pq.execParams(d->conn, s->sql, s->nparams, types, vals, lens, fmts, 0);
        rs = r ? pq.resultStatus(r) : PGRES_FATAL_ERROR;
        if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
            pg_fail(d, r);
            return SDB_ERROR;
        }
        s->res = r;
        s->nrows = pq.ntuples(r);
        d->changes = strtoll(pq.cmdTuples(r), NULL, 10);
        d->err = SDB_E_NONE;
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        if (s->blob)
            pq.freemem(s->blob);
        s->blob = NULL;
        return SDB_ROW;
    }
    s->row = s->nrows;
    return SDB_DONE;
}

static int pg_column_count(sdb_stmt *st)
{
    return PS(st)->res ? pq.nfields(PS(st)->res) : 0;
}

static const char *pg_column_name(sdb_stmt *st, int i)
{
    return PS(st)->res ? pq.fname(PS(st)->res, i) : NULL;
}

/* 1 when (row, column i) has a value. */
static int pg_has(pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < pq.nfields(s->res) &&
           !pq.getisnull(s->res, s->row, i);
}

static sdb_type pg_column_type(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);

    if (!pg_has(s, i))
        return SDB_NULL;
    switch (pq.ftype(s->res, i)) {
    case PG_INT2:
    case PG_INT4:
    case PG_INT8:
    case PG_NUMERIC:
    case PG_BOOL:
        return SDB_INTEGER;
    case PG_BYTEA:
        return SDB_BLOB;
    default:
        return SDB_TEXT;
    }
}

static int64_t pg_column_int64(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);
    const char *v;

    if (!pg_has(s, i))
        return 0;
    v = pq.getvalue(s->res, s->row, i);
    if (pq.ftype(s->res, i) == PG_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_column_text(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);

    return pg_has(s, i) ? pq.getvalue(s->res, s->row, i) : NULL;
}

static const void *pg_column_blob(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);

    if (!pg_has(s, i))
        return NULL;
    if (pq.ftype(s->res, i) != PG_BYTEA) {
        s->blob_len = (size_t)pq.getlength(s->res, s->row, i);
        return pq.getvalue(s->res, s->row, i);
    }
    if (s->blob)
        pq.freemem(s->blob);
    s->blob = pq.unescapeBytea((const unsigned char *)pq.getvalue(s->res, s->row, i),
                               &s->blob_len);
    return s->blob;
}

static size_t pg_column_bytes(sdb_stmt *st, int i)
{
    pg_stmt *s = PS(st);

    if (!pg_has(s, i))
        return 0;
    if (pq.ftype(s->res, i) == PG_BYTEA) {
        (void)pg_column_blob(st, i);
        return s->blob ? s->blob_len : 0;
    }
    return (size_t)pq.getlength(s->res, s->row, i);
}

static void pg_reset(sdb_stmt *st)
{
    pg_clear_result(PS(st));
}

static void pg_finalize(sdb_stmt *st)
{
    pg_stmt *s = PS(st);
    int k;

    pg_clear_result(s);
    for (k = 0; k < s->nparams; k++)
        free(s->p[k].v);
    free(s->p);
    free(s->sql);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* The handle                                                                */

static int pg_exec(sdb *db, const char *sql)
{
    pg_db *d = PG(db);
    PGresult *r;
    ExecStatusType rs;

    if (pg_ready(d) < 0)
        return -1;
    r = pq.exec(d->conn, sql);
    rs = r ? pq.resultStatus(r) : PGRES_FATAL_ERROR;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        pg_fail(d, r);
        return -1;
    }
    d->changes = strtoll(pq.cmdTuples(r), NULL, 10);
    pq.clear(r);
    return 0;
}

static int64_t pg_changes(sdb *db)
{
    return PG(db)->changes;
}

static int pg_begin(sdb *db)
{
    pg_db *d = PG(db);

    if (d->in_tx) {
        pg_seterr(d, SDB_E_OTHER, "a transaction is already open");
        return -1;
    }
    if (pg_exec(db, "BEGIN ISOLATION LEVEL READ COMMITTED") < 0)
        return -1;
    d->in_tx = 1;
    d->broken = 0;
    return 0;
}

static int pg_commit(sdb *db)
{
    pg_db *d = PG(db);
    PGresult *r;
    int rc = -1;

    if (pg_ready(d) < 0) {
        d->in_tx = d->broken = 0;
        return -1;
    }
    r = pq.exec(d->conn, "COMMIT");
    if (r && pq.resultStatus(r) == PGRES_COMMAND_OK) {
        /* a transaction that had failed answers ROLLBACK, not an error */
        if (strcmp(pq.cmdStatus(r), "COMMIT") == 0)
            rc = 0;
        else
            pg_seterr(d, SDB_E_OTHER, "the transaction failed and was rolled back");
        pq.clear(r);
    } else {
        /* lost during COMMIT: whether it committed is unknown to this
         * process; the callers' records are idempotent and checked again */
        pg_fail(d, r);
    }
    d->in_tx = d->broken = 0;
    return rc;
}

static void pg_rollback(sdb *db)
{
    pg_db *d = PG(db);
    sdb_err err = d->err;
    char msg[sizeof d->msg];

    memcpy(msg, d->msg, sizeof msg);
    if (!d->broken && d->conn && pq.status(d->conn) == CONNECTION_OK &&
        pq.transactionStatus(d->conn) != PQTRANS_IDLE) {
        PGresult *r = pq.exec(d->conn, "ROLLBACK");
        if (r)
            pq.clear(r);
    }
    d->in_tx = d->broken = 0;
    /* the error that made the caller roll back stays the one reported */
    d->err = err;
    memcpy(d->msg, msg, sizeof msg);
}

static int pg_lock_table(sdb *db, const char *table)
{
    char sql[128];

    snprintf(sql, sizeof sql, "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", table);
    return pg_exec(db, sql);
}

/* Read inside the migration's transaction: it first takes a lock that
 * serialises the migrations of every process sharing the database. */
static int pg_schema_version(sdb *db)
{
    sdb_stmt *st;
    int v = -1;

    if (pg_exec(db, "SELECT pg_advisory_xact_lock(7239170001)") < 0 ||
        pg_exec(db, "CREATE TABLE IF NOT EXISTS store_schema ("
                    " one INTEGER PRIMARY KEY CHECK (one = 1),"
                    " version INTEGER NOT NULL)") < 0 ||
        pg_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM store_schema", &st) < 0)
        return -1;
    if (pg_step(st) == SDB_ROW)
        v = (int)pg_column_int64(st, 0);
    pg_finalize(st);
    return v;
}

static int pg_set_schema_version(sdb *db, int v)
{
    char sql[160];

    snprintf(sql, sizeof sql, "INSERT INTO store_schema (one, version) VALUES (1, %d) "
                              "ON CONFLICT (one) DO UPDATE SET version = excluded.version", v);
    return pg_exec(db, sql);
}

static void pg_lazy(sdb *db, int lazy)
{
    (void)db;
    (void)lazy;
}

static sdb_err pg_errcode(sdb *db)
{
    return PG(db)->err;
}

static const char *pg_errmsg(sdb *db)
{
    return PG(db)->msg;
}

static int pg_sys_errno(sdb *db)
{
    (void)db;
    return 0;
}

static void pg_close(sdb *db)
{
    pg_db *d = PG(db);
    int k;

    pg_disconnect(d);
    free(d->schema);
    for (k = 0; k < PG_KW_MAX; k++) {
        free(d->kw[k]);
        if (d->val[k]) {
            /* the password among them */
            memset(d->val[k], 0, strlen(d->val[k]));
            free(d->val[k]);
        }
    }
    free(d);
}

static const sdb_ops pg_ops = {
    .engine = SDB_POSTGRES,
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .column_bytes = pg_column_bytes,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .exec = pg_exec,
    .changes = pg_changes,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock_table = pg_lock_table,
    .schema_version = pg_schema_version,
    .set_schema_version = pg_set_schema_version,
    .lazy = pg_lazy,
    .ddl_id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .ddl_without_rowid = "",
    .ddl_blob = "BYTEA",
    .ddl_integer = "BIGINT",
    .ddl_text = "TEXT COLLATE \"C\"",
    .errcode = pg_errcode,
    .errmsg = pg_errmsg,
    .sys_errno = pg_sys_errno,
};

sdb *sdb_open_pg(const sdb_pg_params *p, char **err, sdb_err *code)
{
    pg_db *d;
    derr e = {0};
    int n = 0, ok = 1;
    char timeout[16];
    const char *tmo;

    *err = NULL;
    *code = SDB_E_OTHER;
    if (lazylib_load(&pq_lib, &e) < 0) {
        *err = strdup(e.msg);
        derr_clear(&e);
        return NULL;
    }
    if (!(d = calloc(1, sizeof *d))) {
        *err = strdup("out of memory");
        *code = SDB_E_NOMEM;
        return NULL;
    }
    d->base.ops = &pg_ops;
    if (p->schema) {
        const char *c;
        for (c = p->schema; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                break;
        if (*c || !*p->schema || strlen(p->schema) > 63) {
            free(d);
            *err = strdup("the schema name must be 1 to 63 lower-case letters, digits or '_'");
            *code = SDB_E_OTHER;
            return NULL;
        }
        ok = (d->schema = strdup(p->schema)) != NULL;
    }
#define PG_KW(k, v)                                                              \
    do {                                                                         \
        if ((v) && n < PG_KW_MAX - 1) {                                          \
            ok = ok && (d->kw[n] = strdup(k)) && (d->val[n] = strdup(v));        \
            n++;                                                                 \
        }                                                                        \
    } while (0)
    /* the URL first: the settings after it override what it says */
    PG_KW("dbname", p->url);
    PG_KW("password", p->password);
    PG_KW("sslmode", p->sslmode);
    PG_KW("sslrootcert", p->sslrootcert);
    PG_KW("sslcert", p->sslcert);
    PG_KW("sslkey", p->sslkey);
    snprintf(timeout, sizeof timeout, "%d", p->connect_timeout_s > 0 ? p->connect_timeout_s : 10);
    tmo = timeout;
    PG_KW("connect_timeout", tmo);
    PG_KW("application_name", p->application_name ? p->application_name : "dsrcd");
    PG_KW("client_encoding", "UTF8");
    PG_KW("keepalives", "1");
#undef PG_KW
    if (!ok) {
        pg_close(&d->base);
        *err = strdup("out of memory");
        *code = SDB_E_NOMEM;
        return NULL;
    }
    if (pg_connect(d) < 0) {
        *err = strdup(d->msg);
        *code = d->err;
        pg_close(&d->base);
        return NULL;
    }
    return &d->base;
}

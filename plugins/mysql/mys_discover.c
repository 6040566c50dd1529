/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_discover.c -- discover for the mysql plugin, read from
 * information_schema.
 *
 * discover() reads the whole catalog in a fixed number of queries: the
 * tables and (on MariaDB) the json_valid() checks that mark JSON columns
 * and the foreign keys are stored and indexed by (schema, table), the
 * columns are streamed with
 * mysql_use_result() and each table's metadata goes to the sink as soon as
 * its last column has arrived; only composite primary keys need one more
 * query.  For a database or the whole catalog the tables and checks are
 * read on a second connection while the server fills the columns for the
 * first: the two fills run side by side.  The request's mode decides
 * about that second connection: CONSERVATIVE never opens it, BALANCED
 * opens it when this connection was quick to open, AGGRESSIVE always.
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <string.h>

static int mys_cmp_key(const char *db1, const char *t1, const char *db2, const char *t2)
{
    int r = strcmp(db1 ? db1 : "", db2 ? db2 : "");
    return r ? r : strcmp(t1 ? t1 : "", t2 ? t2 : "");
}

/* ------------------------------------------------------------------------ */
/* discover                                                                  */

/* The rows of a stored result in the server's order, found by their first
 * two columns (schema, table) through a hash table; the rows of one
 * (schema, table) are chained. */
#define MYS_NONE ((size_t)-1)

typedef struct mys_rows {
    MYSQL_RES *res;
    MYSQL_ROW *row;
    size_t n;
    unsigned char *used;  /* per row: delivered already                     */
    size_t *next;         /* per row: the next row of its (schema, table)   */
    size_t *slot;         /* hash table: row index, MYS_NONE when empty     */
    size_t mask;          /* its size - 1 (a power of two)                  */
} mys_rows;

static void mys_rows_free(mys_rows *r)
{
    if (r->res)
        mysql_free_result(r->res);
    free(r->row);
    free(r->used);
    free(r->next);
    free(r->slot);
    memset(r, 0, sizeof *r);
}

static size_t mys_key_hash(const char *db, const char *name)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    const unsigned char *p;

    for (p = (const unsigned char *)(db ? db : ""); *p; p++)
        h = (h ^ *p) * 1099511628211u;
    h = (h ^ 0xffu) * 1099511628211u; /* never inside UTF-8 */
    for (p = (const unsigned char *)(name ? name : ""); *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

/* The hash slot of (db, name): where it is, or the empty slot it would
 * take. */
static size_t mys_rows_slot(const mys_rows *r, const char *db, const char *name)
{
    size_t h = mys_key_hash(db, name) & r->mask;
    while (r->slot[h] != MYS_NONE &&
           mys_cmp_key(r->row[r->slot[h]][0], r->row[r->slot[h]][1], db, name) != 0)
        h = (h + 1) & r->mask;
    return h;
}

/* The first row of (db, name), MYS_NONE when none; r->next[] has the
 * others. */
static size_t mys_rows_find(const mys_rows *r, const char *db, const char *name)
{
    return r->n ? r->slot[mys_rows_slot(r, db, name)] : MYS_NONE;
}

/* Keep all rows of the result the last statement on `c` produced,
 * indexed by (schema, table). */
static dsrc_status mys_rows_store(dsrc_conn *c, mys_rows *out, const char *what,
                                  dsrc_error *err)
{
    size_t i, size = 16;

    memset(out, 0, sizeof *out);
    errno = 0;
    out->res = mysql_store_result(c->my);
    if (!out->res) {
        if (mysql_field_count(c->my) == 0)
            return DSRC_OK;
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    out->n = (size_t)mysql_num_rows(out->res);
    while (size < 2 * out->n)
        size *= 2;
    out->row = calloc(out->n + 1, sizeof *out->row);
    out->used = calloc(out->n + 1, 1);
    out->next = calloc(out->n + 1, sizeof *out->next);
    out->slot = malloc(size * sizeof *out->slot);
    if (!out->row || !out->used || !out->next || !out->slot) {
        mys_rows_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    out->mask = size - 1;
    for (i = 0; i < size; i++)
        out->slot[i] = MYS_NONE;
    for (i = 0; i < out->n; i++) {
        size_t h;
        out->row[i] = mysql_fetch_row(out->res);
        h = mys_rows_slot(out, out->row[i][0], out->row[i][1]);
        if (out->slot[h] == MYS_NONE) {
            out->slot[h] = i;
            out->next[i] = MYS_NONE;
        } else { /* after the first row of its key */
            out->next[i] = out->next[out->slot[h]];
            out->next[out->slot[h]] = i;
        }
    }
    return DSRC_OK;
}

/* Run `sql`, keep all its rows, indexed by (schema, table). */
static dsrc_status mys_rows_load(dsrc_conn *c, const dsrc_buf *sql, mys_rows *out,
                                 const char *what, dsrc_error *err)
{
    dsrc_status st;

    memset(out, 0, sizeof *out);
    if (sql->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    st = mys_query(c, sql->s, sql->len, what, err);
    return st == DSRC_OK ? mys_rows_store(c, out, what, err) : st;
}

/* Send `sql` without waiting for its result (mys_wait() does). */
static dsrc_status mys_send(dsrc_conn *c, const dsrc_buf *sql, const char *what,
                            dsrc_error *err)
{
    if (sql->failed)
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    errno = 0;
    if (mysql_send_query(c->my, sql->s, (unsigned long)sql->len) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
}

/* Wait for the answer to the statement mys_send() sent. */
static dsrc_status mys_wait(dsrc_conn *c, const char *what, dsrc_error *err)
{
    errno = 0;
    if (mysql_read_query_result(c->my) != 0) {
        c->last_errno = errno;
        return mys_fail(err, c, what);
    }
    return DSRC_OK;
}

/* The filter shared by the discover queries. */
static void mys_buf_discover_where(dsrc_buf *q, MYSQL *my, const char *schema_col,
                                   const char *db, const char *table, int include_system)
{
    if (db) {
        dsrc_buf_add(q, " WHERE ");
        dsrc_buf_add(q, schema_col);
        dsrc_buf_add(q, " = ");
        mys_buf_literal(q, my, db);
        if (table) {
            dsrc_buf_add(q, " AND TABLE_NAME = ");
            mys_buf_literal(q, my, table);
        }
    } else if (!include_system) {
        dsrc_buf_add(q, " WHERE ");
        dsrc_buf_add(q, schema_col);
        dsrc_buf_add(q, " NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')");
    } else {
        dsrc_buf_add(q, " WHERE 1");
    }
}

/* A table whose record waits for the primary key positions of a composite
 * key (read with one query after the columns). */
typedef struct mys_pending {
    char *db, *name;
    mys_cols cols;
} mys_pending;

typedef struct mys_disc {
    const dsrc_ctx *ctx;
    dsrc_conn *c;
    const dsrc_meta_sink *sink;
    const dsrc_discover_req *req;
    mys_rows tables, checks, fks;
    mys_pending *pend;
    size_t n_pend, cap_pend;
    const char *db, *table;   /* the request's filter */
    int include_system;
    mys_scratch scratch;      /* for mys_emit */
} mys_disc;

/* A table row of the discover query (no statistics: see mys_table_head). */
#define MYS_DISC_TABLE_FIELDS "TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COMMENT, " \
                              "TABLE_COLLATION"

static int mys_size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* mys_emit() of one table, with its foreign keys from d->fks (in the
 * server's order: the rows of a key are chained out of order). */
static int mys_disc_emit(mys_disc *d, const char *db, const char *name, const mys_table *t,
                         const mys_cols *cols)
{
    dsrc_fk_list l = {0};
    size_t k, n = 0, *ix = NULL;
    int r = 0;

    for (k = mys_rows_find(&d->fks, db, name); k != MYS_NONE; k = d->fks.next[k])
        n++;
    if (n && !(ix = malloc(n * sizeof *ix)))
        return -1;
    n = 0;
    for (k = mys_rows_find(&d->fks, db, name); k != MYS_NONE; k = d->fks.next[k])
        ix[n++] = k;
    if (n > 1)
        qsort(ix, n, sizeof *ix, mys_size_cmp);
    for (k = 0; k < n && r == 0; k++)
        r = mys_fk_row(&l, d->fks.row[ix[k]]);
    free(ix);
    if (r == 0)
        r = mys_emit(d->sink, db, name, t, cols, NULL, &l, &d->scratch);
    dsrc_fk_free(&l);
    return r;
}

/* One table's columns have all arrived: mark JSON columns from the checks,
 * primary keys from COLUMN_KEY, and deliver it (or keep it for
 * mys_disc_pending). */
static int mys_disc_group(mys_disc *d, const char *db, const char *name, mys_cols *cols)
{
    size_t i, n_pk = 0, pk = 0, tk = mys_rows_find(&d->tables, db, name), k;
    mys_table t;
    mys_pending *p;

    if (tk != MYS_NONE && d->tables.used[tk]) {
        /* Seen before: information_schema did not keep a table's columns
         * together.  Never deliver a table twice. */
        if (mys_host && mys_host->log)
            mys_host->log(d->ctx, DSRC_LOG_WARNING, "discover: the columns of %s/%s arrived"
                          " in two parts; the second is ignored", db, name);
        return 0;
    }
    for (k = mys_rows_find(&d->checks, db, name); k != MYS_NONE; k = d->checks.next[k])
        mys_cols_mark_json(cols, d->checks.row[k][2]);
    for (i = 0; i < cols->n; i++) {
        if (cols->v[i].key && strcmp(cols->v[i].key, "PRI") == 0) {
            n_pk++;
            pk = i;
        }
    }
    if (n_pk <= 1) {
        if (n_pk == 1)
            cols->v[pk].pk = 1;
        if (tk == MYS_NONE)
            return mys_disc_emit(d, db, name, NULL, cols);
        d->tables.used[tk] = 1;
        mys_table_head(&t, d->tables.row[tk]);
        return mys_disc_emit(d, db, name, &t, cols);
    }
    /* A composite key: its order is in STATISTICS; keep the table. */
    if (d->n_pend == d->cap_pend) {
        mys_pending *np = mys_grow(d->pend, &d->cap_pend, sizeof *np);
        if (!np)
            return -1;
        d->pend = np;
    }
    p = &d->pend[d->n_pend++];
    p->db = strdup(db);
    p->name = strdup(name);
    p->cols = *cols;
    memset(cols, 0, sizeof *cols);
    if (!p->db || !p->name)
        return -1;
    if (tk != MYS_NONE)
        d->tables.used[tk] = 1;
    return 0;
}

/* Read the primary key order of the pending tables (one query) and deliver
 * them. */
static dsrc_status mys_disc_pending(mys_disc *d, dsrc_error *err)
{
    dsrc_buf q = {0};
    mys_rows stats;
    dsrc_status st;
    size_t i;
    int rc;

    dsrc_buf_add(&q, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM"
                    " information_schema.STATISTICS");
    mys_buf_discover_where(&q, d->c->my, "TABLE_SCHEMA", d->db, d->table, d->include_system);
    dsrc_buf_add(&q, " AND INDEX_NAME = 'PRIMARY'");
    st = mys_rows_load(d->c, &q, &stats, "discover: reading the primary keys", err);
    dsrc_buf_free(&q);
    dsrc_discover_count(d->req, 1);
    if (st != DSRC_OK)
        return st;
    for (i = 0; i < d->n_pend; i++) {
        mys_pending *p = &d->pend[i];
        size_t k, tk;
        mys_table t, *tp = NULL;
        for (k = mys_rows_find(&stats, p->db, p->name); k != MYS_NONE; k = stats.next[k]) {
            long c = stats.row[k][2] ? mys_cols_find(&p->cols, stats.row[k][2]) : -1;
            if (c >= 0)
                p->cols.v[c].pk = (int)mys_i64(stats.row[k][3], 0);
        }
        tk = mys_rows_find(&d->tables, p->db, p->name);
        if (tk != MYS_NONE) {
            mys_table_head(&t, d->tables.row[tk]);
            tp = &t;
        }
        rc = mys_disc_emit(d, p->db, p->name, tp, &p->cols);
        if (rc) {
            mys_rows_free(&stats);
            return rc < 0 ? dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory")
                          : dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                           "discover stopped by the receiver");
        }
    }
    mys_rows_free(&stats);
    return DSRC_OK;
}

static void mys_disc_free(mys_disc *d)
{
    size_t i;
    for (i = 0; i < d->n_pend; i++) {
        free(d->pend[i].db);
        free(d->pend[i].name);
        mys_cols_free(&d->pend[i].cols);
    }
    free(d->pend);
    mys_rows_free(&d->tables);
    mys_rows_free(&d->checks);
    mys_rows_free(&d->fks);
    mys_scratch_free(&d->scratch);
}

/* The statements of discover (1) and (2). */
static void mys_disc_tables_sql(const mys_disc *d, MYSQL *my, dsrc_buf *q)
{
    /* Only what the table definitions hold: statistics (rows, sizes,
     * times) would open every table in its engine; list() has them. */
    dsrc_buf_add(q, "SELECT " MYS_DISC_TABLE_FIELDS " FROM information_schema.TABLES");
    mys_buf_discover_where(q, my, "TABLE_SCHEMA", d->db, d->table, d->include_system);
}

static void mys_disc_checks_sql(const mys_disc *d, MYSQL *my, dsrc_buf *q)
{
    dsrc_buf_add(q, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE"
                    " FROM information_schema.CHECK_CONSTRAINTS");
    mys_buf_discover_where(q, my, "CONSTRAINT_SCHEMA", d->db, d->table, d->include_system);
    dsrc_buf_add(q, " AND CHECK_CLAUSE LIKE 'json\\_valid(%'");
}

/* Read the tables (1), on MariaDB the json_valid() checks that mark JSON
 * columns (2), and the foreign keys (2b) into d, through `conn`.  `sent`:
 * statement 1 went out already (mys_send). */
static dsrc_status mys_disc_load_small(dsrc_conn *conn, mys_disc *d, int sent,
                                       dsrc_error *err)
{
    static const char what_t[] = "discover: reading the tables";
    dsrc_buf q = {0};
    dsrc_status st;

    if (sent) {
        st = mys_wait(conn, what_t, err);
        if (st == DSRC_OK)
            st = mys_rows_store(conn, &d->tables, what_t, err);
    } else {
        mys_disc_tables_sql(d, conn->my, &q);
        st = mys_rows_load(conn, &q, &d->tables, what_t, err);
        dsrc_buf_free(&q);
    }
    dsrc_discover_count(d->req, 1);
    if (st == DSRC_OK && conn->is_mariadb && conn->server_num >= 100200) {
        mys_disc_checks_sql(d, conn->my, &q);
        st = mys_rows_load(conn, &q, &d->checks, "discover: reading the check constraints",
                           err);
        dsrc_buf_free(&q);
        dsrc_discover_count(d->req, 1);
    }
    if (st != DSRC_OK)
        return st;
    mys_buf_fk_sql(&q, conn->my, d->db, d->db ? d->table : NULL, d->include_system);
    st = mys_rows_load(conn, &q, &d->fks, "discover: reading the foreign keys", err);
    dsrc_buf_free(&q);
    dsrc_discover_count(d->req, 1);
    return st;
}

/* discover opens its second connection only when this one took no longer
 * than this to open (microseconds).  The second connection is made before
 * the columns are asked for: on a server this near (same host or LAN,
 * plain or TLS) it costs a few milliseconds at most and the side-by-side
 * fills save about 8 us per table; a remote server would make a small
 * catalog wait several round trips more. */
#define MYS_SIDE_MAX_CONNECT_US 5000

/* Open the second connection of discover and send it statement 1.  On
 * any failure `side` stays closed and discover reads everything through
 * `c` (a server that allows one connection per user, say). */
static void mys_disc_side_start(const dsrc_ctx *ctx, dsrc_conn *c, const mys_disc *d,
                                dsrc_conn *side)
{
    dsrc_error serr;
    dsrc_buf q = {0};

    memset(&serr, 0, sizeof serr);
    serr.struct_size = sizeof serr;
    if (mys_side_open(c, side, &serr) == DSRC_OK) {
        mys_disc_tables_sql(d, side->my, &q);
        if (mys_send(side, &q, "discover: reading the tables", &serr) != DSRC_OK)
            mys_side_close(c, side);
        dsrc_buf_free(&q);
    }
    if (side->my && mys_host && mys_host->log)
        mys_host->log(ctx, DSRC_LOG_DEBUG, "discover: second connection in %lu.%03lu ms",
                      side->connect_us / 1000, side->connect_us % 1000);
    if (!side->my && mys_host && mys_host->log)
        mys_host->log(ctx, DSRC_LOG_DEBUG, "discover: no second connection (%s); reading the"
                      " tables before the columns", serr.message ? serr.message : "failed");
    if (serr.release)
        serr.release(&serr);
}

/* Give up the statement sent on `c`: read its answer, drop its rows.
 * Returns 0 when `c` is still usable. */
static int mys_disc_drop_sent(dsrc_conn *c)
{
    MYSQL_RES *res;

    if (mysql_read_query_result(c->my) != 0) {
        unsigned code = mysql_errno(c->my);
        return code >= 2000 && code < 3000 ? -1 : 0; /* client errors: lost */
    }
    res = mysql_use_result(c->my);
    if (res)
        mys_abandon_result(c, res);
    return mysql_errno(c->my) >= 2000 && mysql_errno(c->my) < 3000 ? -1 : 0;
}

dsrc_status mys_discover(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_discover_req *req,
                         const dsrc_meta_sink *sink, dsrc_error *err)
{
    static const char what_c[] = "discover: reading the columns";
    mys_disc d;
    dsrc_conn side;
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    dsrc_status st = DSRC_OK;
    mys_cols cols = {0};
    dsrc_buf cur = {0};         /* the table whose columns arrive */
    const char *cur_db = NULL, *cur_name = NULL;
    const unsigned long *len;
    char *db = NULL, *table = NULL;
    const char *path = req ? req->path : NULL;
    dsrc_discover_mode mode = dsrc_discover_mode_of(req);
    unsigned long n = 0;
    size_t i;
    int rc = 0;

    if (!sink || !sink->metadata)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "discover: no metadata receiver");
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "discover");
    memset(&d, 0, sizeof d);
    memset(&side, 0, sizeof side);
    d.ctx = ctx;
    d.c = c;
    d.sink = sink;
    d.req = req;
    d.include_system = req ? req->include_system : 0;

    if (path && *path && strcmp(path, "/") != 0) {
        dsrc_path sp;
        st = dsrc_path_split(path, 2, &sp, err);
        if (st != DSRC_OK)
            goto out;
        db = strdup(sp.part[0]);
        if (sp.n == 2 && sp.part[1][0])
            table = strdup(sp.part[1]);
        if (!db || (sp.n == 2 && sp.part[1][0] && !table))
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        dsrc_path_free(&sp);
        if (st != DSRC_OK)
            goto out;
    }
    d.db = db;
    d.table = table;

    /* 1, 2: the tables and the JSON checks.  MariaDB fills an
     * information_schema table by going through every table definition,
     * one statement on one core: for a database or the whole catalog a
     * second connection reads 1 and 2 while this one has the server fill
     * 3, and the two fills run side by side.  One table needs no second
     * connection, nor does a server that is slow to connect to (unless
     * the mode is aggressive), nor a conservative discover. */
    if (!table && mode != DSRC_DISCOVER_CONSERVATIVE &&
        (mode == DSRC_DISCOVER_AGGRESSIVE || c->connect_us <= MYS_SIDE_MAX_CONNECT_US))
        mys_disc_side_start(ctx, c, &d, &side);
    if (!side.my) {
        st = mys_disc_load_small(c, &d, 0, err);
        if (st != DSRC_OK)
            goto out;
        if (dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "discover");
            goto out;
        }
    }

    /* 3. The columns, streamed; each table's record goes out when its last
     * column has arrived.  MariaDB fills information_schema one table at
     * a time, so a table's columns come together and need no sorting;
     * other servers are asked to sort. */
    dsrc_buf_add(&q, "SELECT TABLE_SCHEMA, TABLE_NAME, " MYS_COL_FIELDS
                    " FROM information_schema.COLUMNS");
    mys_buf_discover_where(&q, c->my, "TABLE_SCHEMA", db, table, d.include_system);
    if (!c->is_mariadb)
        dsrc_buf_add(&q, " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION");
    if (side.my)
        st = mys_send(c, &q, what_c, err);
    else if (q.failed)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else
        st = mys_query(c, q.s, q.len, what_c, err);
    dsrc_buf_free(&q);
    dsrc_discover_count(req, 1);
    if (st != DSRC_OK)
        goto out;
    if (side.my) {
        /* 1 and 2 arrive while the server is still filling 3.  (Stored
         * results outlive the connection they came from.) */
        st = mys_disc_load_small(&side, &d, 1, err);
        mys_side_close(c, &side);
        if (st == DSRC_OK && dsrc_cancelled(mys_host, ctx))
            st = mys_cancelled_error(err, "discover");
        if (st == DSRC_OK) {
            st = mys_wait(c, what_c, err);
        } else if (err) {
            /* The failure was the second connection's: this one is fine
             * once the columns are dropped. */
            err->connection_broken = mys_disc_drop_sent(c) != 0;
        } else {
            mys_disc_drop_sent(c);
        }
        if (st != DSRC_OK)
            goto out;
    }
    errno = 0;
    res = mysql_use_result(c->my);
    if (!res) {
        c->last_errno = errno;
        st = mys_fail(err, c, what_c);
        goto out;
    }
    for (;;) {
        row = mys_next_row(c, res);
        if (!row) {
            if (mysql_errno(c->my))
                st = mys_fail(err, c, what_c);
            break;
        }
        if (!row[0] || !row[1])
            continue;
        if ((++n % MYS_POLL_EVERY) == 0 && dsrc_cancelled(mys_host, ctx)) {
            st = mys_cancelled_error(err, "discover");
            break;
        }
        if (cur_db && mys_cmp_key(cur_db, cur_name, row[0], row[1]) != 0) {
            rc = mys_disc_group(&d, cur_db, cur_name, &cols);
            mys_cols_clear(&cols);
            cur_db = cur_name = NULL;
            if (rc)
                break;
        }
        len = mysql_fetch_lengths(res);
        if (!cur_db) {
            /* "schema\0table" */
            dsrc_buf_reset(&cur);
            dsrc_buf_addn(&cur, row[0], (size_t)len[0] + 1);
            dsrc_buf_addn(&cur, row[1], (size_t)len[1]);
            if (cur.failed) {
                rc = -1;
                break;
            }
            cur_db = cur.s;
            cur_name = cur.s + len[0] + 1;
        }
        if (mys_cols_add(&cols, row, len, 2, c->is_mariadb) != 0) {
            rc = -1;
            break;
        }
    }
    if (row)
        mys_abandon_result(c, res); /* stopped before the end */
    else
        mysql_free_result(res);
    res = NULL;
    if (st == DSRC_OK && rc == 0 && cur_db)
        rc = mys_disc_group(&d, cur_db, cur_name, &cols);
    if (st == DSRC_OK && rc < 0)
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    else if (st == DSRC_OK && rc > 0)
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "discover stopped by the receiver");

    /* 4. Composite primary keys (one query, only when there are any). */
    if (st == DSRC_OK && d.n_pend)
        st = mys_disc_pending(&d, err);

    /* Nothing at all: say why when a database or table was named. */
    if (st == DSRC_OK && db && d.tables.n == 0 && n == 0) {
        st = mys_check_db(c, db, err);
        dsrc_discover_count(req, 1);
        if (st == DSRC_OK && table)
            st = dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, "1146/42S02",
                                "no table or view '%s' in database '%s', or no privilege to"
                                " see it", table, db);
    }

    /* 5. Tables and views without visible columns (a view whose
     * definition is broken, for one). */
    for (i = 0; st == DSRC_OK && i < d.tables.n; i++) {
        static const mys_cols none = {0};
        mys_table t;
        if (d.tables.used[i])
            continue;
        mys_table_head(&t, d.tables.row[i]);
        rc = mys_disc_emit(&d, t.db ? t.db : "", t.name ? t.name : "", &t, &none);
        if (rc < 0)
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        else if (rc > 0)
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "discover stopped by the receiver");
    }
out:
    mys_side_close(c, &side);
    mys_cols_free(&cols);
    dsrc_buf_free(&cur);
    mys_disc_free(&d);
    dsrc_buf_free(&q);
    free(db);
    free(table);
    return st;
}

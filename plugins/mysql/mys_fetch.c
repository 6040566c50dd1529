/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_fetch.c -- fetch for the mysql plugin.
 *
 * One fetch is one read-only transaction with a consistent snapshot:
 *   START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY
 *   the table's columns from information_schema (names, types, keys)
 *   SELECT `col`, ... FROM `db`.`table` [WHERE `cursor` > value
 *     ORDER BY `cursor`] [LIMIT n]          -- streamed: mysql_use_result
 *   (with a cursor and a limit n, no LIMIT but the rest of the n-th row's
 *   group of equal cursor values: see mys_tie_bound)
 *   COMMIT
 * Rows are read one at a time as the server sends them, so memory stays
 * flat whatever the table's size.  Values arrive as text and become typed
 * cells from the result's field metadata: integers INT64 (BIGINT UNSIGNED
 * above INT64_MAX as exact text), FLOAT/DOUBLE as DOUBLE, DECIMAL as exact
 * text, DATETIME and DATE as ISO 8601 timestamps, TIMESTAMP as ISO 8601 in
 * UTC ("...Z", the session runs in UTC), JSON as json, binary strings
 * (character set 63) and geometry as bytes, BIT as an integer, everything
 * else as text; NULL stays NULL and an empty string stays an empty string.
 *
 * The cursor value goes into the statement as a literal checked for the
 * cursor column's type: a plain integer or decimal number unquoted (so
 * integers compare exactly), anything else as a string literal escaped with
 * mysql_real_escape_string() (which follows NO_BACKSLASH_ESCAPES).
 */
#define _GNU_SOURCE
#include "mys.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* How a result column's text becomes a cell. */
typedef enum mys_class {
    MC_TEXT,     /* text as is                                          */
    MC_BYTES,    /* binary as is                                        */
    MC_INT,      /* signed integer                                      */
    MC_UINT,     /* BIGINT UNSIGNED: INT64, or exact text above INT64_MAX */
    MC_BIT,      /* BIT(n): big-endian bytes                            */
    MC_DOUBLE,
    MC_DECIMAL,  /* exact text                                          */
    MC_DATETIME, /* "YYYY-MM-DD HH:MM:SS[.f]" -> "YYYY-MM-DDTHH:MM:SS[.f]" */
    MC_TIMESTAMP,/* the same with "Z"                                   */
    MC_DATE,     /* "YYYY-MM-DD"                                        */
    MC_JSON
} mys_class;

static dsrc_type mys_class_type(mys_class k)
{
    switch (k) {
    case MC_BYTES: return DSRC_T_BYTES;
    case MC_INT:
    case MC_UINT:
    case MC_BIT: return DSRC_T_INT64;
    case MC_DOUBLE: return DSRC_T_DOUBLE;
    case MC_DATETIME:
    case MC_TIMESTAMP:
    case MC_DATE: return DSRC_T_TIMESTAMP;
    case MC_JSON: return DSRC_T_JSON;
    case MC_TEXT:
    case MC_DECIMAL:
    default: return DSRC_T_TEXT;
    }
}

/* The class of a result field; `json` when information_schema says the
 * column holds JSON. */
static mys_class mys_class_of(const MYSQL_FIELD *f, int json)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
        return MC_INT;
    case MYSQL_TYPE_LONGLONG:
        return (f->flags & UNSIGNED_FLAG) ? MC_UINT : MC_INT;
    case MYSQL_TYPE_BIT:
        return MC_BIT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return MC_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        return MC_DECIMAL;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
        return MC_TIMESTAMP;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
        return MC_DATETIME;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        return MC_DATE;
    case MYSQL_TYPE_JSON:
        return MC_JSON;
    case MYSQL_TYPE_GEOMETRY:
        return MC_BYTES;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_NULL:
        return MC_TEXT;
    default: {
        /* Strings, blobs, ENUM, SET: binary when their character set is
         * "binary" (63); JSON when the server's extended metadata or the
         * catalog says so. */
        MARIADB_CONST_STRING fmt = {NULL, 0};
        if (f->charsetnr == 63)
            return MC_BYTES;
        if (json)
            return MC_JSON;
        if (mariadb_field_attr(&fmt, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && fmt.str &&
            fmt.length == 4 && strncasecmp(fmt.str, "json", 4) == 0)
            return MC_JSON;
        return MC_TEXT;
    }
    }
}

/* A signed decimal integer of exactly n bytes; 0 ok, -1 not one / overflow. */
static int mys_parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0, lim;
    size_t i = 0;
    int neg = 0;

    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* 1 for a zero or partly zero date ("0000-00-00", "2024-00-10"), which is
 * no ISO 8601 date. */
static int mys_zero_date(const char *s, size_t n)
{
    if (n < 10)
        return 1;
    return memcmp(s, "0000", 4) == 0 || memcmp(s + 5, "00", 2) == 0 ||
           memcmp(s + 8, "00", 2) == 0;
}

/* Per output column: its class and scratch space for converted text. */
typedef struct mys_outcol {
    mys_class cls;
    char scratch[48];
} mys_outcol;

/* Fill `cell` from a value (NULL: SQL NULL) of `len` bytes. */
static void mys_cell(mys_outcol *oc, const char *v, unsigned long len, dsrc_cell *cell)
{
    if (!v) {
        cell->type = DSRC_T_NULL;
        return;
    }
    switch (oc->cls) {
    case MC_INT:
    case MC_UINT:
        if (mys_parse_i64(v, len, &cell->v.i) == 0) {
            cell->type = DSRC_T_INT64;
            return;
        }
        break; /* above INT64_MAX: exact text */
    case MC_BIT: {
        uint64_t b = 0;
        unsigned long i;
        for (i = 0; i < len && i < 8; i++)
            b = (b << 8) | (unsigned char)v[i];
        if (b <= (uint64_t)INT64_MAX) {
            cell->type = DSRC_T_INT64;
            cell->v.i = (int64_t)b;
            return;
        }
        snprintf(oc->scratch, sizeof oc->scratch, "%" PRIu64, b);
        cell->type = DSRC_T_TEXT;
        cell->v.s.ptr = oc->scratch;
        cell->v.s.len = strlen(oc->scratch);
        return;
    }
    case MC_DOUBLE:
        cell->type = DSRC_T_DOUBLE;
        cell->v.d = strtod(v, NULL);
        return;
    case MC_DATETIME:
    case MC_TIMESTAMP:
    case MC_DATE:
        if (mys_zero_date(v, len) || len + 2 > sizeof oc->scratch)
            break; /* not a date: the server's text */
        memcpy(oc->scratch, v, len);
        if (len > 10 && oc->scratch[10] == ' ')
            oc->scratch[10] = 'T';
        if (oc->cls == MC_TIMESTAMP)
            oc->scratch[len++] = 'Z';
        cell->type = DSRC_T_TIMESTAMP;
        cell->v.s.ptr = oc->scratch;
        cell->v.s.len = len;
        return;
    case MC_BYTES:
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = v;
        cell->v.s.len = len;
        return;
    case MC_JSON:
        cell->type = DSRC_T_JSON;
        cell->v.s.ptr = v;
        cell->v.s.len = len;
        return;
    case MC_TEXT:
    case MC_DECIMAL:
    default:
        break;
    }
    cell->type = DSRC_T_TEXT;
    cell->v.s.ptr = v;
    cell->v.s.len = len;
}

/* ------------------------------------------------------------------------ */
/* The cursor literal                                                        */

static int mys_is_int_type(const char *dt)
{
    static const char *const t[] = {"tinyint", "smallint", "mediumint", "int", "integer",
                                    "bigint", "year", "bit"};
    size_t i;
    for (i = 0; dt && i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(dt, t[i]) == 0)
            return 1;
    return 0;
}

static int mys_is_num_type(const char *dt, int *exact)
{
    *exact = dt && (strcasecmp(dt, "decimal") == 0 || strcasecmp(dt, "numeric") == 0);
    return *exact || (dt && (strcasecmp(dt, "float") == 0 || strcasecmp(dt, "double") == 0 ||
                             strcasecmp(dt, "real") == 0));
}

static int mys_is_time_type(const char *dt)
{
    return dt && (strcasecmp(dt, "date") == 0 || strcasecmp(dt, "datetime") == 0 ||
                  strcasecmp(dt, "timestamp") == 0);
}

/* [+-]digits[.digits][e[+-]digits] (exponent only when !exact). */
static int mys_is_number(const char *s, int exact)
{
    int digits = 0;
    if (*s == '+' || *s == '-')
        s++;
    while (*s >= '0' && *s <= '9') {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            s++;
            digits++;
        }
    }
    if (!digits)
        return 0;
    if (!exact && (*s == 'e' || *s == 'E')) {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* Append the cursor value as a literal for a column of information_schema
 * data type `dt` (NULL: unknown). */
static dsrc_status mys_cursor_literal(dsrc_conn *c, dsrc_buf *q, const char *dt,
                                      const char *field, const char *value, dsrc_error *err)
{
    int exact;
    int64_t i64;

    if (mys_is_int_type(dt)) {
        if (mys_parse_i64(value, strlen(value), &i64) != 0) {
            /* BIGINT UNSIGNED above INT64_MAX */
            if (!(value[0] >= '0' && value[0] <= '9') || !mys_is_number(value, 1) ||
                strchr(value, '.'))
                return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                      "cursor value '%s' is not an integer, as column '%s'"
                                      " needs", value, field);
            dsrc_buf_add(q, value);
            return DSRC_OK;
        }
        dsrc_buf_printf(q, "%" PRId64, i64);
        return DSRC_OK;
    }
    if (mys_is_num_type(dt, &exact)) {
        if (!mys_is_number(value, exact))
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "cursor value '%s' is not a %s number, as column '%s' needs",
                                  value, exact ? "decimal" : "", field);
        dsrc_buf_add(q, value);
        return DSRC_OK;
    }
    if (mys_is_time_type(dt)) {
        /* Accept what fetch reports: ISO 8601 with 'T' and, for
         * TIMESTAMP, 'Z' (the session is in UTC). */
        char *t = strdup(value);
        size_t n;
        if (!t)
            return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        n = strlen(t);
        if (n > 10 && t[10] == 'T')
            t[10] = ' ';
        if (n > 0 && (t[n - 1] == 'Z' || t[n - 1] == 'z'))
            t[--n] = '\0';
        else if (n > 6 && strcmp(t + n - 6, "+00:00") == 0)
            t[n -= 6] = '\0';
        mys_buf_literal(q, c->my, t);
        free(t);
        return DSRC_OK;
    }
    mys_buf_literal(q, c->my, value);
    return DSRC_OK;
}

/* Append the condition that ends an incremental fetch with a limit at a
 * whole group of equal cursor values: the rows up to the highest of the
 * first req->limit values of cursor column `cur` (information_schema type
 * `dt`) after req->cursor_value when there is one, all of them even when
 * that value is shared, so that the next fetch skips nothing; and, in a
 * fetch from the start, every row whose cursor is NULL, beyond the limit
 * (never afterwards). */
static dsrc_status mys_tie_bound(dsrc_conn *c, dsrc_buf *q, const mys_path *p, const char *cur,
                                 const char *dt, const dsrc_fetch_req *req, dsrc_error *err)
{
    dsrc_status st = DSRC_OK;

    dsrc_buf_add(q, req->cursor_value ? " AND (" : " WHERE (");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " IS NULL OR ");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " <= (SELECT MAX(dsrc_first.c) FROM (SELECT ");
    mys_buf_ident(q, cur);
    dsrc_buf_add(q, " AS c FROM ");
    mys_buf_ident(q, p->db);
    dsrc_buf_add(q, ".");
    mys_buf_ident(q, p->name);
    dsrc_buf_add(q, " WHERE ");
    mys_buf_ident(q, cur);
    if (req->cursor_value) {
        dsrc_buf_add(q, " > ");
        st = mys_cursor_literal(c, q, dt, req->cursor_field, req->cursor_value, err);
    } else {
        dsrc_buf_add(q, " IS NOT NULL");
    }
    dsrc_buf_add(q, " ORDER BY ");
    mys_buf_ident(q, cur);
    dsrc_buf_printf(q, " LIMIT %" PRId64 ") AS dsrc_first))", req->limit);
    return st;
}

/* The text that stands for a cursor value in cursor_max: what its cell
 * renders as (timestamps in ISO 8601), or the server's own text.
 * Returns 0, or -1 when it cannot serve as a cursor (binary, too long). */
static int mys_cursor_text(mys_outcol *oc, const char *v, unsigned long len, char *out,
                           size_t outsz)
{
    dsrc_cell cell;

    if (oc->cls == MC_BYTES)
        return -1;
    memset(&cell, 0, sizeof cell);
    mys_cell(oc, v, len, &cell);
    switch (cell.type) {
    case DSRC_T_INT64:
        snprintf(out, outsz, "%" PRId64, cell.v.i);
        return 0;
    case DSRC_T_DOUBLE:
        /* The server's text reads back as the same value. */
        break;
    case DSRC_T_TEXT:
    case DSRC_T_TIMESTAMP:
    case DSRC_T_JSON:
        v = cell.v.s.ptr;
        len = (unsigned long)cell.v.s.len;
        break;
    default:
        return -1;
    }
    if (len >= outsz || memchr(v, '\0', len))
        return -1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* fetch                                                                     */

static const char mys_q_begin[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
static const char mys_q_commit[] = "COMMIT";
static const char mys_q_rollback[] = "ROLLBACK";

/* End the snapshot transaction; failures are ignored (the error that
 * matters is the fetch's own) unless the fetch itself went fine. */
static dsrc_status mys_end_tx(dsrc_conn *c, dsrc_status st, dsrc_error *err)
{
    if (err && err->connection_broken)
        return st;
    if (st == DSRC_OK)
        return mys_query(c, mys_q_commit, sizeof mys_q_commit - 1, "ending the snapshot", err);
    if (mysql_real_query(c->my, mys_q_rollback, sizeof mys_q_rollback - 1) != 0 && err &&
        mysql_errno(c->my) >= 2000)
        err->connection_broken = 1;
    return st;
}

dsrc_status mys_fetch(const dsrc_ctx *ctx, dsrc_conn *c, const dsrc_fetch_req *req,
                      const dsrc_row_sink *rows, const dsrc_byte_sink *bytes,
                      dsrc_fetch_result *result, dsrc_error *err)
{
    mys_path p = {NULL, NULL};
    mys_cols cols = {0};
    dsrc_buf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_FIELD *fields;
    MYSQL_ROW row = NULL;
    unsigned long *lens;
    dsrc_status st = DSRC_OK;
    size_t n_out = 0, i;
    long *map = NULL, cursor_col = -1;
    dsrc_column *out_cols = NULL;
    dsrc_cell *cells = NULL;
    mys_outcol *oc = NULL, cursor_oc;
    dsrc_cursor_max *cm = NULL;
    int cursor_sel = -1, in_tx = 0, stopped = 0;
    unsigned nf;
    uint64_t nrows = 0;
    char what[64];

    (void)bytes;
    if (!req || !rows || !rows->row || !rows->schema)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: no request or no row receiver");
    if (req->mode == DSRC_FETCH_RAW)
        return dsrc_error_set(err, DSRC_E_UNSUPPORTED, 0, NULL,
                              "MySQL tables have no raw form: fetch rows or CSV");
    if (req->n_columns && !req->columns)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: %zu columns announced but none given", req->n_columns);
    if (req->cursor_field && !*req->cursor_field)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "fetch: the cursor field is empty");
    for (i = 0; i < req->n_columns; i++)
        if (!req->columns[i] || !*req->columns[i])
            return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                                  "fetch: column %zu of the list is empty", i + 1);
    if (dsrc_cancelled(mys_host, ctx))
        return mys_cancelled_error(err, "fetch");
    st = mys_path_object(c, req->item, &p, err);
    if (st != DSRC_OK)
        return st;

    st = mys_query(c, mys_q_begin, sizeof mys_q_begin - 1, "starting a consistent snapshot",
                   err);
    if (st != DSRC_OK)
        goto out;
    in_tx = 1;
    st = mys_read_columns(c, p.db, p.name, &cols, err);
    if (st == DSRC_OK && c->is_mariadb && c->server_num < 100500)
        st = mys_mark_json(c, p.db, p.name, &cols, err); /* no extended metadata */
    if (st != DSRC_OK)
        goto out;

    /* The output columns, checked against the catalog when it shows the
     * table (else the server's own errors say what is wrong). */
    n_out = req->n_columns ? req->n_columns : cols.n;
    map = calloc(n_out + 1, sizeof *map);
    cm = malloc(sizeof *cm);
    if (!map || !cm) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    dsrc_cursor_max_init(cm, req->cursor_field, "column", "binary or");
    for (i = 0; i < n_out; i++) {
        map[i] = req->n_columns ? (cols.n ? mys_cols_find(&cols, req->columns[i]) : -1)
                                : (long)i;
        if (req->n_columns && cols.n && map[i] < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "1054/42S22",
                                "no column '%s' in '%s'", req->columns[i], req->item);
            goto out;
        }
    }
    if (req->cursor_field && cols.n) {
        cursor_col = mys_cols_find(&cols, req->cursor_field);
        if (cursor_col < 0) {
            st = dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, "1054/42S22",
                                "no cursor column '%s' in '%s'", req->cursor_field, req->item);
            goto out;
        }
    }

    /* The statement: identifiers quoted, the cursor value a checked
     * literal. */
    dsrc_buf_add(&q, "SELECT ");
    if (n_out == 0) {
        dsrc_buf_add(&q, "*");
    } else {
        for (i = 0; i < n_out; i++) {
            if (i)
                dsrc_buf_add(&q, ", ");
            mys_buf_ident(&q, map[i] >= 0 ? cols.v[map[i]].name : req->columns[i]);
        }
    }
    if (req->cursor_field) {
        dsrc_buf_add(&q, ", ");
        mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
    }
    dsrc_buf_add(&q, " FROM ");
    mys_buf_ident(&q, p.db);
    dsrc_buf_add(&q, ".");
    mys_buf_ident(&q, p.name);
    if (req->cursor_field) {
        if (req->cursor_value) {
            dsrc_buf_add(&q, " WHERE ");
            mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
            dsrc_buf_add(&q, " > ");
            st = mys_cursor_literal(c, &q, cursor_col >= 0 ? cols.v[cursor_col].data_type : NULL,
                                    req->cursor_field, req->cursor_value, err);
            if (st != DSRC_OK)
                goto out;
        }
        if (req->limit > 0) {
            st = mys_tie_bound(c, &q, &p,
                               cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field,
                               cursor_col >= 0 ? cols.v[cursor_col].data_type : NULL, req, err);
            if (st != DSRC_OK)
                goto out;
        }
        dsrc_buf_add(&q, " ORDER BY ");
        mys_buf_ident(&q, cursor_col >= 0 ? cols.v[cursor_col].name : req->cursor_field);
    }
    if (req->limit >= 0 && !(req->cursor_field && req->limit > 0))
        dsrc_buf_printf(&q, " LIMIT %" PRId64, req->limit);
    if (q.failed) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    if (dsrc_cancelled(mys_host, ctx)) {
        st = mys_cancelled_error(err, "fetch");
        goto out;
    }
    st = mys_query(c, q.s, q.len, "fetch", err);
    if (st == DSRC_OK) {
        errno = 0;
        res = mysql_use_result(c->my);
        if (!res) {
            c->last_errno = errno;
            st = mys_fail(err, c, "fetch");
        }
    }
    if (st != DSRC_OK) {
        unsigned code = mysql_errno(c->my);
        if (code == 1146 || code == 1049) {
            /* Name the item as the request did. */
            char bc[DSRC_BACKEND_CODE_MAX];
            snprintf(bc, sizeof bc, "%s", err ? err->backend_code : "");
            dsrc_error_set(err, DSRC_E_NOT_FOUND, 0, bc, "no table or view '%s': %s (MySQL"
                           " error %u)", req->item, mysql_error(c->my), code);
        }
        goto out;
    }

    /* The schema, from the result's fields and the catalog. */
    nf = mysql_num_fields(res);
    fields = mysql_fetch_fields(res);
    if (n_out == 0) {
        n_out = nf - (req->cursor_field ? 1u : 0u);
        free(map);
        map = calloc(n_out + 1, sizeof *map);
        if (!map) {
            st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
            goto out;
        }
        for (i = 0; i < n_out; i++)
            map[i] = -1;
    }
    if (nf != n_out + (req->cursor_field ? 1u : 0u)) {
        st = dsrc_error_set(err, DSRC_E_BACKEND, 0, NULL,
                            "fetch: the server sent %u columns, %zu expected", nf,
                            n_out + (req->cursor_field ? 1u : 0u));
        goto out;
    }
    out_cols = calloc(n_out + 1, sizeof *out_cols);
    cells = calloc(n_out + 1, sizeof *cells);
    oc = calloc(n_out + 1, sizeof *oc);
    if (!out_cols || !cells || !oc) {
        st = dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < n_out; i++) {
        const mys_colinfo *ci = map[i] >= 0 ? &cols.v[map[i]] : NULL;
        oc[i].cls = mys_class_of(&fields[i], ci && ci->is_json);
        out_cols[i].name = ci ? ci->name : fields[i].name;
        out_cols[i].type = mys_class_type(oc[i].cls);
        out_cols[i].native_type =
            ci ? ((ci->is_json || oc[i].cls == MC_JSON) ? "json" : ci->column_type) : NULL;
        out_cols[i].nullable = ci ? ci->nullable : !(fields[i].flags & NOT_NULL_FLAG);
        out_cols[i].primary_key = ci ? ci->pk : 0;
        out_cols[i].default_value = ci ? ci->default_value : NULL;
        out_cols[i].comment = ci && ci->comment && *ci->comment ? ci->comment : NULL;
    }
    if (req->cursor_field) {
        cursor_sel = (int)n_out;
        memset(&cursor_oc, 0, sizeof cursor_oc);
        cursor_oc.cls = mys_class_of(&fields[cursor_sel], 0);
    }
    if (rows->schema(rows->user, out_cols, n_out) != 0) {
        st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
        stopped = 1;
        goto out;
    }

    /* The rows, one at a time as they arrive. */
    for (;;) {
        errno = 0;
        row = mysql_fetch_row(res);
        if (!row) {
            if (mysql_errno(c->my)) {
                c->last_errno = errno;
                snprintf(what, sizeof what, "fetch (after %" PRIu64 " rows)", nrows);
                st = mys_fail(err, c, what);
            }
            break;
        }
        lens = mysql_fetch_lengths(res);
        for (i = 0; i < n_out; i++)
            mys_cell(&oc[i], row[i], lens[i], &cells[i]);
        if (rows->row(rows->user, cells, n_out) != 0) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL, "fetch stopped by the receiver");
            stopped = 1;
            break;
        }
        nrows++;
        if (cursor_sel >= 0 && row[cursor_sel]) {
            /* Rows arrive in cursor order: the last value sent is the
             * highest. */
            dsrc_cursor_max_note(cm, mys_cursor_text(&cursor_oc, row[cursor_sel],
                                                     lens[cursor_sel], cm->value,
                                                     DSRC_CURSOR_MAX) == 0);
        }
        if ((nrows % MYS_POLL_EVERY) == 0 && dsrc_cancelled(mys_host, ctx)) {
            st = dsrc_error_set(err, DSRC_E_CANCELLED, 0, NULL,
                                "fetch cancelled after %" PRIu64 " rows", nrows);
            stopped = 1;
            break;
        }
    }
    if (result) {
        result->mode = DSRC_FETCH_ROWS;
        result->rows = nrows;
        result->bytes = 0;
        if (st == DSRC_OK && cursor_sel >= 0)
            dsrc_cursor_max_report(cm, mys_host, ctx, result);
    }
out:
    if (res) {
        if (stopped)
            mys_abandon_result(c, res);
        else
            mysql_free_result(res);
    }
    if (in_tx)
        st = mys_end_tx(c, st, err);
    if (result && st != DSRC_OK)
        result->has_cursor = 0;
    free(map);
    free(out_cols);
    free(cells);
    free(oc);
    free(cm);
    dsrc_buf_free(&q);
    mys_cols_free(&cols);
    mys_path_free(&p);
    return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mys_types.c -- types and values of the mysql plugin: the SDK type of an
 * information_schema data type, result fields to typed cells, cursor
 * values to SQL literals and cells back to cursor text.
 *
 * Values arrive as text and become typed cells from the result's field
 * metadata: integers INT64 (BIGINT UNSIGNED and BIT(64) above INT64_MAX as
 * exact text, so that a fetch's schema declares such columns TEXT),
 * FLOAT/DOUBLE as DOUBLE, DECIMAL as exact text, DATETIME and DATE as ISO
 * 8601 timestamps, TIMESTAMP as ISO 8601 in UTC ("...Z", the session runs
 * in UTC), zero dates as timestamps holding the server's text, JSON as
 * json, binary strings (character set 63) and geometry as bytes, BIT as an
 * integer, everything else as text; NULL stays NULL and an
 * empty string stays an empty string.
 *
 * The cursor value goes into the statement as a literal checked for the
 * cursor column's type: a plain integer or decimal number unquoted (so
 * integers compare exactly), anything else as a string literal escaped with
 * mysql_real_escape_string() (which follows NO_BACKSLASH_ESCAPES).
 */
#define _GNU_SOURCE
#include "mys.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Catalog types                                                             */

dsrc_type mys_type_of_data_type(const char *dt, const char *column_type, int is_json)
{
    /* Everything else is text: decimal (exact, as text), char, varchar,
     * text, enum, set, time, uuid, inet6, ... */
    static const struct {
        const char *name;
        dsrc_type type;
    } types[] = {
        {"tinyint", DSRC_T_INT64},        {"smallint", DSRC_T_INT64},
        {"mediumint", DSRC_T_INT64},      {"int", DSRC_T_INT64},
        {"integer", DSRC_T_INT64},        {"bigint", DSRC_T_INT64},
        {"year", DSRC_T_INT64},           {"bit", DSRC_T_INT64},
        {"bool", DSRC_T_INT64},           {"boolean", DSRC_T_INT64},
        {"float", DSRC_T_DOUBLE},         {"double", DSRC_T_DOUBLE},
        {"real", DSRC_T_DOUBLE},          {"double precision", DSRC_T_DOUBLE},
        {"date", DSRC_T_TIMESTAMP},       {"datetime", DSRC_T_TIMESTAMP},
        {"timestamp", DSRC_T_TIMESTAMP},  {"json", DSRC_T_JSON},
        {"binary", DSRC_T_BYTES},         {"varbinary", DSRC_T_BYTES},
        {"tinyblob", DSRC_T_BYTES},       {"blob", DSRC_T_BYTES},
        {"mediumblob", DSRC_T_BYTES},     {"longblob", DSRC_T_BYTES},
        {"geometry", DSRC_T_BYTES},       {"point", DSRC_T_BYTES},
        {"linestring", DSRC_T_BYTES},     {"polygon", DSRC_T_BYTES},
        {"multipoint", DSRC_T_BYTES},     {"multilinestring", DSRC_T_BYTES},
        {"multipolygon", DSRC_T_BYTES},   {"geometrycollection", DSRC_T_BYTES},
    };
    size_t i;
    int first;

    if (is_json)
        return DSRC_T_JSON;
    if (!dt || !*dt)
        return DSRC_T_TEXT;
    /* BIGINT UNSIGNED and BIT(64) hold values above INT64_MAX: exact text,
     * as a fetch's schema declares them (mys_class_type, mys_fetch.c). */
    if (column_type && ((strcasecmp(dt, "bigint") == 0 && strcasestr(column_type, "unsigned")) ||
                        strcasecmp(column_type, "bit(64)") == 0))
        return DSRC_T_TEXT;
    /* The first letter rules out nearly all names cheaply (discover maps
     * every column of the catalog). */
    first = dt[0] | 0x20;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].name[0] == first && strcasecmp(dt, types[i].name) == 0)
            return types[i].type;
    return DSRC_T_TEXT;
}

/* ------------------------------------------------------------------------ */
/* Cells                                                                     */

dsrc_type mys_class_type(mys_class k)
{
    switch (k) {
    case MYS_MC_BYTES: return DSRC_T_BYTES;
    case MYS_MC_INT:
    case MYS_MC_BIT: return DSRC_T_INT64;
    case MYS_MC_UINT: return DSRC_T_TEXT; /* above INT64_MAX a value is text */
    case MYS_MC_DOUBLE: return DSRC_T_DOUBLE;
    case MYS_MC_DATETIME:
    case MYS_MC_TIMESTAMP:
    case MYS_MC_DATE: return DSRC_T_TIMESTAMP;
    case MYS_MC_JSON: return DSRC_T_JSON;
    case MYS_MC_TEXT:
    case MYS_MC_DECIMAL:
    default: return DSRC_T_TEXT;
    }
}

/* The class of a result field; `json` when information_schema says the
 * column holds JSON. */
mys_class mys_class_of(const MYSQL_FIELD *f, int json)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_YEAR:
        return MYS_MC_INT;
    case MYSQL_TYPE_LONGLONG:
        return (f->flags & UNSIGNED_FLAG) ? MYS_MC_UINT : MYS_MC_INT;
    case MYSQL_TYPE_BIT:
        return MYS_MC_BIT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return MYS_MC_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        return MYS_MC_DECIMAL;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
        return MYS_MC_TIMESTAMP;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
        return MYS_MC_DATETIME;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        return MYS_MC_DATE;
    case MYSQL_TYPE_JSON:
        return MYS_MC_JSON;
    case MYSQL_TYPE_GEOMETRY:
        return MYS_MC_BYTES;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_NULL:
        return MYS_MC_TEXT;
    default: {
        /* Strings, blobs, ENUM, SET: binary when their character set is
         * "binary" (63); JSON when the server's extended metadata or the
         * catalog says so. */
        MARIADB_CONST_STRING fmt = {NULL, 0};
        if (f->charsetnr == 63)
            return MYS_MC_BYTES;
        if (json)
            return MYS_MC_JSON;
        if (mariadb_field_attr(&fmt, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && fmt.str &&
            fmt.length == 4 && strncasecmp(fmt.str, "json", 4) == 0)
            return MYS_MC_JSON;
        return MYS_MC_TEXT;
    }
    }
}

/* A signed decimal integer of exactly n bytes; 0 ok, -1 not one / overflow.
 * Up to 18 digits cannot overflow and are taken without a check per digit
 * (most values); only a longer one is checked against the limit. */
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
    if (n - i <= 18) {
        for (; i < n; i++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (d > 9)
                return -1;
            v = v * 10 + d;
        }
        *out = neg ? -(int64_t)v : (int64_t)v;
        return 0;
    }
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

/* Fill `cell` from a value (NULL: SQL NULL) of `len` bytes. */
void mys_cell(mys_outcol *oc, const char *v, unsigned long len, dsrc_cell *cell)
{
    if (!v) {
        cell->type = DSRC_T_NULL;
        return;
    }
    switch (oc->cls) {
    case MYS_MC_INT:
    case MYS_MC_UINT:
        if (mys_parse_i64(v, len, &cell->v.i) == 0) {
            cell->type = DSRC_T_INT64;
            return;
        }
        break; /* above INT64_MAX: exact text */
    case MYS_MC_BIT: {
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
    case MYS_MC_DOUBLE:
        cell->type = DSRC_T_DOUBLE;
        cell->v.d = strtod(v, NULL);
        return;
    case MYS_MC_DATETIME:
    case MYS_MC_TIMESTAMP:
    case MYS_MC_DATE:
        if (mys_zero_date(v, len) || len + 2 > sizeof oc->scratch) {
            /* not a date: the server's text, in the column's type */
            cell->type = DSRC_T_TIMESTAMP;
            cell->v.s.ptr = v;
            cell->v.s.len = len;
            return;
        }
        memcpy(oc->scratch, v, len);
        if (len > 10 && oc->scratch[10] == ' ')
            oc->scratch[10] = 'T';
        if (oc->cls == MYS_MC_TIMESTAMP)
            oc->scratch[len++] = 'Z';
        cell->type = DSRC_T_TIMESTAMP;
        cell->v.s.ptr = oc->scratch;
        cell->v.s.len = len;
        return;
    case MYS_MC_BYTES:
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = v;
        cell->v.s.len = len;
        return;
    case MYS_MC_JSON:
        cell->type = DSRC_T_JSON;
        cell->v.s.ptr = v;
        cell->v.s.len = len;
        return;
    case MYS_MC_TEXT:
    case MYS_MC_DECIMAL:
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
dsrc_status mys_cursor_literal(dsrc_conn *c, dsrc_buf *q, const char *dt,
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

/* The text that stands for a cursor value in cursor_max: what its cell
 * renders as (timestamps in ISO 8601), or the server's own text.
 * Returns 0, or -1 when it cannot serve as a cursor (binary, too long). */
int mys_cursor_text(mys_outcol *oc, const char *v, unsigned long len, char *out,
                    size_t outsz)
{
    dsrc_cell cell;

    if (oc->cls == MYS_MC_BYTES)
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

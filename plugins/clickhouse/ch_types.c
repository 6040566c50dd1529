/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ch_types.c -- ClickHouse types and values for the clickhouse plugin:
 * type names -> SDK types (Nullable and LowCardinality unwrapped; UInt64
 * as exact text, as its values may pass INT64_MAX), TabSeparated text ->
 * cells, identifiers and string literals quoted for a statement, item
 * paths split into database and table.
 */
#include "ch.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Strip one "Wrapper(" ... ")" from [*s, *e) when it is there. */
static int ch_unwrap(const char **s, size_t *n, const char *wrapper)
{
    size_t w = strlen(wrapper);

    if (*n > w + 1 && strncmp(*s, wrapper, w) == 0 && (*s)[w] == '(' && (*s)[*n - 1] == ')') {
        *s += w + 1;
        *n -= w + 2;
        return 1;
    }
    return 0;
}

static int ch_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && strncmp(s, name, n) == 0;
}

static int ch_starts(const char *s, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && strncmp(s, prefix, p) == 0;
}

ch_type ch_type_of(const char *native)
{
    ch_type t = {CH_C_TEXT, DSRC_T_TEXT, 0, 0, 0};
    const char *s = native ? native : "";
    size_t n = strlen(s);

    for (;;) {
        if (ch_unwrap(&s, &n, "Nullable"))
            t.nullable = 1;
        else if (!ch_unwrap(&s, &n, "LowCardinality"))
            break;
    }
    if (ch_is(s, n, "Int8") || ch_is(s, n, "Int16") || ch_is(s, n, "Int32") ||
        ch_is(s, n, "Int64") || ch_is(s, n, "UInt8") || ch_is(s, n, "UInt16") ||
        ch_is(s, n, "UInt32")) {
        t.cls = CH_C_INT;
        t.type = DSRC_T_INT64;
        t.numeric = 1;
    } else if (ch_is(s, n, "UInt64")) {
        t.numeric = 1; /* text: values above INT64_MAX stay exact */
    } else if (ch_is(s, n, "Float32") || ch_is(s, n, "Float64")) {
        t.cls = CH_C_FLOAT;
        t.type = DSRC_T_DOUBLE;
        t.numeric = 1;
    } else if (ch_starts(s, n, "Decimal")) {
        t.numeric = 1;
    } else if (ch_is(s, n, "DateTime") || ch_starts(s, n, "DateTime(")) {
        t.cls = CH_C_DATETIME;
        t.type = DSRC_T_TIMESTAMP;
    } else if (ch_starts(s, n, "FixedString(")) {
        t.cls = CH_C_BYTES;
        t.type = DSRC_T_BYTES;
    } else if (ch_starts(s, n, "Array(") || ch_starts(s, n, "Tuple(")) {
        t.composite = 1;
    }
    return t;
}

size_t ch_tsv_unescape(char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < n) {
            switch (s[++i]) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case '0': ch = '\0'; break;
            case 'a': ch = '\a'; break;
            case 'v': ch = '\v'; break;
            default: ch = s[i]; break; /* \\ \' and the rest: the character */
            }
        }
        s[o++] = ch;
    }
    return o;
}

size_t ch_tsv_value(const ch_type *t, char *s, size_t n)
{
    return t->composite ? n : ch_tsv_unescape(s, n);
}

size_t ch_tsv_split(char *line, size_t n, char **f, size_t *len, size_t max)
{
    size_t k = 0, start = 0, i;

    for (i = 0; i <= n && k < max; i++) {
        if (i == n || line[i] == '\t') {
            f[k] = line + start;
            len[k] = i - start;
            k++;
            start = i + 1;
        } else if (line[i] == '\\' && i + 1 < n) {
            i++; /* an escaped character, never a separator */
        }
    }
    return k;
}

int ch_cell(const ch_type *t, char *s, size_t n, int is_null, char *tmp, dsrc_cell *cell)
{
    char num[64], *end;

    if (is_null) {
        cell->type = DSRC_T_NULL;
        return 0;
    }
    switch (t->cls) {
    case CH_C_INT:
        if (n == 0 || n >= sizeof num)
            return -1;
        memcpy(num, s, n);
        num[n] = '\0';
        errno = 0;
        cell->v.i = strtoll(num, &end, 10);
        if (errno || *end)
            return -1;
        cell->type = DSRC_T_INT64;
        return 0;
    case CH_C_FLOAT:
        if (n == 0 || n >= sizeof num)
            return -1;
        memcpy(num, s, n);
        num[n] = '\0';
        if (strcmp(num, "nan") == 0 || strcmp(num, "-nan") == 0)
            cell->v.d = NAN;
        else if (strcmp(num, "inf") == 0 || strcmp(num, "+inf") == 0)
            cell->v.d = INFINITY;
        else if (strcmp(num, "-inf") == 0)
            cell->v.d = -INFINITY;
        else {
            cell->v.d = strtod(num, &end);
            if (*end)
                return -1;
        }
        cell->type = DSRC_T_DOUBLE;
        return 0;
    case CH_C_DATETIME:
        /* "YYYY-MM-DD hh:mm:ss", selected in UTC (see ch_fetch.c) */
        if (n != 19 || s[10] != ' ')
            return -1;
        memcpy(tmp, s, 19);
        tmp[10] = 'T';
        tmp[19] = 'Z';
        tmp[20] = '\0';
        cell->type = DSRC_T_TIMESTAMP;
        cell->v.s.ptr = tmp;
        cell->v.s.len = 20;
        return 0;
    case CH_C_BYTES:
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = s;
        cell->v.s.len = n;
        return 0;
    case CH_C_TEXT:
    default:
        cell->type = DSRC_T_TEXT;
        cell->v.s.ptr = s;
        cell->v.s.len = n;
        return 0;
    }
}

/* Append s with '\\' before each of `esc` (and before '\\'), between `q`. */
static void ch_buf_quoted(dsrc_buf *b, const char *s, char q)
{
    dsrc_buf_addn(b, &q, 1);
    for (; *s; s++) {
        if (*s == '\\' || *s == q || *s == '\'' || *s == '`')
            dsrc_buf_addn(b, "\\", 1);
        dsrc_buf_addn(b, s, 1);
    }
    dsrc_buf_addn(b, &q, 1);
}

void ch_buf_ident(dsrc_buf *b, const char *name)
{
    ch_buf_quoted(b, name, '`');
}

void ch_buf_literal(dsrc_buf *b, const char *s)
{
    ch_buf_quoted(b, s, '\'');
}

void ch_path_free(ch_path *p)
{
    free(p->db);
    free(p->table);
    p->db = p->table = NULL;
}

dsrc_status ch_path_parse(const dsrc_conn *c, const char *path, int want_table, ch_path *out,
                          dsrc_error *err)
{
    dsrc_path sp;
    dsrc_status st;
    size_t n;

    out->db = out->table = NULL;
    if (!path || !*path)
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL, "no item path given");
    memset(&sp, 0, sizeof sp);
    st = dsrc_path_split(path, 2, &sp, err);
    if (st != DSRC_OK)
        return st;
    n = sp.n;
    if (n == 2 && (!*sp.part[0] || !*sp.part[1])) {
        dsrc_path_free(&sp);
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "item path '%s': a database and a table name, not empty ones",
                              path);
    }
    if (n == 2) {
        out->db = dsrc_strdup(sp.part[0]);
        out->table = dsrc_strdup(sp.part[1]);
    } else if (want_table) {
        out->db = dsrc_strdup(c->database);
        out->table = dsrc_strdup(sp.part[0]);
    } else {
        out->db = dsrc_strdup(sp.part[0]);
    }
    dsrc_path_free(&sp);
    if (!out->db || (n == 2 && !out->table) || (want_table && !out->table)) {
        ch_path_free(out);
        return dsrc_error_set(err, DSRC_E_INTERNAL, 0, NULL, "out of memory");
    }
    return DSRC_OK;
}

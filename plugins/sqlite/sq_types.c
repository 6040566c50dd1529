/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sq_types.c -- declared column types -> SDK types, and values -> cells.
 *
 * A column's SDK type comes from its declared type (SQLite's affinity
 * rules, plus BOOLEAN, DATE/DATETIME/TIMESTAMP and JSON).  Cells follow
 * each value's dynamic type, except that BOOLEAN columns deliver the
 * integers 0 and 1 as booleans, DATE/DATETIME/TIMESTAMP columns deliver
 * dates stored as text as timestamps, and JSON columns deliver text as
 * JSON (embedded in JSON Lines when valid).  A value its column's SDK type
 * cannot carry (SQLite does not enforce declared types: 'yes' in a BOOLEAN
 * column, an integer in a DATETIME one) fails the fetch (sq_cell_fits):
 * the host accepts only cells of the declared type, TEXT and JSON columns
 * taking any.
 */
#include "sq.h"

#include <ctype.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Declared types                                                            */

static int sq_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* SQLite's column affinity rules (datatype3.html, section 3.1). */
sq_affinity sq_affinity_of(const char *decl)
{
    if (!decl || !*decl)
        return SQ_AFF_BLOB;
    if (sq_contains_ci(decl, "INT"))
        return SQ_AFF_INTEGER;
    if (sq_contains_ci(decl, "CHAR") || sq_contains_ci(decl, "CLOB") ||
        sq_contains_ci(decl, "TEXT"))
        return SQ_AFF_TEXT;
    if (sq_contains_ci(decl, "BLOB"))
        return SQ_AFF_BLOB;
    if (sq_contains_ci(decl, "REAL") || sq_contains_ci(decl, "FLOA") ||
        sq_contains_ci(decl, "DOUB"))
        return SQ_AFF_REAL;
    return SQ_AFF_NUMERIC;
}

/* True when the first word of `decl` (up to a space or '(') is `word`. */
static int sq_first_word_is(const char *decl, const char *word)
{
    size_t n = 0;
    if (!decl)
        return 0;
    while (decl[n] && decl[n] != ' ' && decl[n] != '(' && decl[n] != '\t')
        n++;
    return n == strlen(word) && strncasecmp(decl, word, n) == 0;
}

int sq_decl_is_bool(const char *decl)
{
    return sq_first_word_is(decl, "BOOLEAN") || sq_first_word_is(decl, "BOOL");
}

int sq_decl_is_time(const char *decl)
{
    return sq_first_word_is(decl, "DATE") || sq_first_word_is(decl, "DATETIME") ||
           sq_first_word_is(decl, "TIMESTAMP") || sq_first_word_is(decl, "TIMESTAMPTZ");
}

int sq_decl_is_json(const char *decl)
{
    return sq_first_word_is(decl, "JSON") || sq_first_word_is(decl, "JSONB");
}

/* The SDK type a column's values are reported as.  A column without a
 * declared type (typical for view expressions) is reported as TEXT: its
 * values carry their own dynamic types. */
dsrc_type sq_type_of(const char *decl)
{
    if (!decl || !*decl)
        return DSRC_T_TEXT;
    if (sq_decl_is_bool(decl))
        return DSRC_T_BOOL;
    if (sq_decl_is_time(decl))
        return DSRC_T_TIMESTAMP;
    if (sq_decl_is_json(decl))
        return DSRC_T_JSON;
    switch (sq_affinity_of(decl)) {
    case SQ_AFF_INTEGER: return DSRC_T_INT64;
    case SQ_AFF_REAL: return DSRC_T_DOUBLE;
    case SQ_AFF_BLOB: return DSRC_T_BYTES;
    case SQ_AFF_TEXT:
    case SQ_AFF_NUMERIC:
    default: return DSRC_T_TEXT;
    }
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

/* True when a text value looks like an ISO 8601 date ("YYYY-MM-DD..."). */
static int sq_looks_like_date(const unsigned char *s, int n)
{
    static const char pat[] = "dddd-dd-dd";
    int i;
    if (n < 10)
        return 0;
    for (i = 0; i < 10; i++) {
        if (pat[i] == 'd' ? !isdigit(s[i]) : s[i] != '-')
            return 0;
    }
    return 1;
}

/* Fill a cell from result column `i`; `cls` is the column's declared type
 * class: 'b' boolean, 't' date/time, 'j' JSON, 0 other.  A boolean column
 * turns only the integers 0 and 1 into booleans: any other value (2, -1,
 * 'yes') is sent as stored. */
void sq_cell(sqlite3_stmt *st, int i, char cls, dsrc_cell *cell)
{
    int t = sqlite3_column_type(st, i);
    memset(cell, 0, sizeof *cell);
    switch (t) {
    case SQLITE_INTEGER:
        cell->type = DSRC_T_INT64;
        cell->v.i = sqlite3_column_int64(st, i);
        if (cls == 'b' && (cell->v.i == 0 || cell->v.i == 1)) {
            cell->type = DSRC_T_BOOL;
            cell->v.b = cell->v.i == 1;
        }
        break;
    case SQLITE_FLOAT:
        cell->type = DSRC_T_DOUBLE;
        cell->v.d = sqlite3_column_double(st, i);
        break;
    case SQLITE_TEXT: {
        const unsigned char *p = sqlite3_column_text(st, i);
        int n = sqlite3_column_bytes(st, i);
        if (!p) {
            cell->type = DSRC_T_NULL;
            break;
        }
        cell->type = (cls == 't' && sq_looks_like_date(p, n)) ? DSRC_T_TIMESTAMP
                     : cls == 'j'                             ? DSRC_T_JSON
                                                              : DSRC_T_TEXT;
        cell->v.s.ptr = (const char *)p;
        cell->v.s.len = (size_t)n;
        break;
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = p ? (const char *)p : "";
        cell->v.s.len = (size_t)n;
        break;
    }
    case SQLITE_NULL:
    default:
        cell->type = DSRC_T_NULL;
        break;
    }
}

int sq_cell_fits(dsrc_type declared, const dsrc_cell *cell)
{
    switch (declared) {
    case DSRC_T_TEXT:
    case DSRC_T_JSON:
        return 1;
    case DSRC_T_DOUBLE:
        return cell->type == DSRC_T_NULL || cell->type == DSRC_T_DOUBLE ||
               cell->type == DSRC_T_INT64;
    default:
        return cell->type == DSRC_T_NULL || cell->type == declared;
    }
}

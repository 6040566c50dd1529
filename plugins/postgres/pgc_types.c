/*
 * pgc_types.c -- PostgreSQL types as SDK types, and values in PostgreSQL's
 * text form as cells.
 *
 *   int2 int4 int8 oid           INT64
 *   float4 float8                DOUBLE (NaN and infinities included)
 *   numeric                      TEXT, exact, as the server writes it
 *   bool                         BOOL
 *   date timestamp timestamptz   TIMESTAMP in ISO 8601: "2024-01-31",
 *                                "2024-01-31T12:00:00.5", "...T12:00:00Z",
 *                                "...T12:00:00+05:30" (the session runs
 *                                with DateStyle ISO)
 *   json jsonb                   JSON
 *   bytea                        BYTES (decoded from the hex form)
 *   anything else                TEXT (arrays, uuid, interval, enums...)
 *
 * Domains are mapped by their base type (the catalog queries resolve it).
 * Values outside what a type's SDK form can say (infinity, BC dates) are
 * sent as text cells.
 */
#include "pgc.h"

#include <errno.h>

/* Type OIDs from PostgreSQL's pg_type.dat; they are fixed forever. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_DATE 1082
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700
#define OID_JSONB 3802

pgc_class pgc_class_of(unsigned oid)
{
    switch (oid) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        return PGC_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
        return PGC_FLOAT;
    case OID_NUMERIC:
        return PGC_NUMERIC;
    case OID_BOOL:
        return PGC_BOOL;
    case OID_DATE:
        return PGC_DATE;
    case OID_TIMESTAMP:
        return PGC_TIMESTAMP;
    case OID_TIMESTAMPTZ:
        return PGC_TIMESTAMPTZ;
    case OID_JSON:
    case OID_JSONB:
        return PGC_JSON;
    case OID_BYTEA:
        return PGC_BYTEA;
    default:
        return PGC_TEXT;
    }
}

dsrc_type pgc_type_of(pgc_class cls)
{
    switch (cls) {
    case PGC_INT: return DSRC_T_INT64;
    case PGC_FLOAT: return DSRC_T_DOUBLE;
    case PGC_BOOL: return DSRC_T_BOOL;
    case PGC_DATE:
    case PGC_TIMESTAMP:
    case PGC_TIMESTAMPTZ: return DSRC_T_TIMESTAMP;
    case PGC_JSON: return DSRC_T_JSON;
    case PGC_BYTEA: return DSRC_T_BYTES;
    case PGC_NUMERIC:
    case PGC_TEXT:
    default: return DSRC_T_TEXT;
    }
}

/* ------------------------------------------------------------------------ */
/* Scratch                                                                   */

int pgc_scratch_reserve(pgc_scratch *s, size_t need)
{
    s->used = 0;
    if (need <= s->cap)
        return 0;
    {
        size_t cap = s->cap ? s->cap : 256;
        char *p;
        while (cap < need)
            cap *= 2;
        p = realloc(s->buf, cap);
        if (!p)
            return -1;
        s->buf = p;
        s->cap = cap;
    }
    return 0;
}

void pgc_scratch_free(pgc_scratch *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}

size_t pgc_scratch_need(pgc_class cls, size_t len)
{
    switch (cls) {
    case PGC_TIMESTAMP:
    case PGC_TIMESTAMPTZ:
        return len + 4; /* "+05" -> "+05:00" */
    case PGC_BYTEA:
        return len / 2 + 1;
    default:
        return 0;
    }
}

static char *pgc_take(pgc_scratch *s, size_t n)
{
    char *p;
    if (!s->buf || s->used + n > s->cap)
        return NULL; /* not reserved: the caller's bug; the value goes as text */
    p = s->buf + s->used;
    s->used += n;
    return p;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

static void pgc_text_cell(const char *v, size_t len, dsrc_type t, dsrc_cell *cell)
{
    cell->type = t;
    cell->v.s.ptr = v;
    cell->v.s.len = len;
}

static int pgc_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea's hex form "\x0a1b..." decoded into scratch; 0, or -1 when the
 * value is not in that form. */
static int pgc_bytea(const char *v, size_t len, pgc_scratch *s, dsrc_cell *cell)
{
    size_t i, n;
    char *out;

    if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2)
        return -1;
    n = (len - 2) / 2;
    out = pgc_take(s, n + 1);
    if (!out)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = pgc_hexval(v[2 + 2 * i]), lo = pgc_hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (char)(hi << 4 | lo);
    }
    cell->type = DSRC_T_BYTES;
    cell->v.s.ptr = out;
    cell->v.s.len = n;
    return 0;
}

/* A timestamp in DateStyle ISO ("2024-01-31 12:00:00[.frac][+hh[:mm[:ss]]]")
 * as ISO 8601 with a 'T' and a "+hh:mm" offset ("Z" for UTC).  0, or -1
 * when it is not in that form (infinity, BC). */
static int pgc_timestamp(const char *v, size_t len, int tz, pgc_scratch *s, dsrc_cell *cell)
{
    const char *sp = memchr(v, ' ', len);
    size_t i, date_len, tail;
    char *out;

    if (!sp || (len >= 3 && memcmp(v + len - 3, " BC", 3) == 0))
        return -1;
    date_len = (size_t)(sp - v);
    if (date_len < 10 || v[date_len - 3] != '-' || v[date_len - 6] != '-')
        return -1;
    out = pgc_take(s, len + 4);
    if (!out)
        return -1;
    memcpy(out, v, len);
    out[date_len] = 'T';
    tail = len;
    if (tz) {
        /* The offset starts at the last '+' or '-' after the time. */
        for (i = len; i > date_len + 1; i--)
            if (v[i - 1] == '+' || v[i - 1] == '-')
                break;
        if (i > date_len + 1) {
            size_t off = i - 1, olen = len - off;
            if ((olen == 3 && memcmp(v + off, "+00", 3) == 0) ||
                (olen == 6 && memcmp(v + off, "+00:00", 6) == 0)) {
                out[off] = 'Z';
                tail = off + 1;
            } else if (olen == 3) {
                memcpy(out + len, ":00", 3);
                tail = len + 3;
            }
        }
    }
    cell->type = DSRC_T_TIMESTAMP;
    cell->v.s.ptr = out;
    cell->v.s.len = tail;
    return 0;
}

void pgc_cell(pgc_class cls, const char *v, size_t len, pgc_scratch *s, dsrc_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    if (!v) {
        cell->type = DSRC_T_NULL;
        return;
    }
    switch (cls) {
    case PGC_INT: {
        char *end;
        long long x;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (!errno && end != v && *end == '\0') {
            cell->type = DSRC_T_INT64;
            cell->v.i = (int64_t)x;
            return;
        }
        break;
    }
    case PGC_FLOAT: {
        char *end;
        double d;
        errno = 0;
        d = strtod(v, &end);
        if (end != v && *end == '\0') {
            /* ERANGE: denormals come back as the nearest double, fine. */
            cell->type = DSRC_T_DOUBLE;
            cell->v.d = d;
            return;
        }
        break;
    }
    case PGC_BOOL:
        if (len == 1 && (v[0] == 't' || v[0] == 'f')) {
            cell->type = DSRC_T_BOOL;
            cell->v.b = v[0] == 't';
            return;
        }
        break;
    case PGC_DATE:
        if (len == 10 && v[4] == '-' && v[7] == '-') {
            pgc_text_cell(v, len, DSRC_T_TIMESTAMP, cell);
            return;
        }
        break;
    case PGC_TIMESTAMP:
    case PGC_TIMESTAMPTZ:
        if (pgc_timestamp(v, len, cls == PGC_TIMESTAMPTZ, s, cell) == 0)
            return;
        break;
    case PGC_JSON:
        pgc_text_cell(v, len, DSRC_T_JSON, cell);
        return;
    case PGC_BYTEA:
        if (pgc_bytea(v, len, s, cell) == 0)
            return;
        break;
    case PGC_NUMERIC:
    case PGC_TEXT:
    default:
        break;
    }
    pgc_text_cell(v, len, DSRC_T_TEXT, cell);
}

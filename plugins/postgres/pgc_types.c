/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pgc_types.c -- PostgreSQL types as SDK types, and values in PostgreSQL's
 * text form as cells.
 *
 *   int2 int4 int8 oid           INT64
 *   float4 float8                DOUBLE (NaN and infinities included)
 *   numeric                      TEXT, exact, as the server writes it
 *   bool                         BOOL
 *   date timestamp timestamptz   TIMESTAMP in ISO 8601: "2024-01-31",
 *                                "2024-01-31T12:00:00.5", timestamptz in
 *                                UTC "...T06:30:00Z" whatever the session's
 *                                TimeZone; BC as astronomical years
 *                                ("-0043-03-15" is 44 BC), years after
 *                                9999 with '+', "infinity" / "-infinity"
 *                                as they are (the session runs with
 *                                DateStyle ISO)
 *   json jsonb                   JSON
 *   bytea                        BYTES (decoded from the hex form)
 *   anything else                TEXT (arrays, uuid, interval, enums...)
 *
 * Domains are mapped by their base type (the catalog queries resolve it).
 * Values outside what a type's SDK form can say (bytea not in hex form, a
 * date in an unexpected form) are sent as text cells.
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

/* The names format_type() gives the built-in types a statement's columns
 * most often have; NULL for any other. */
static const char *pgc_builtin_name(unsigned oid)
{
    switch (oid) {
    case OID_BOOL: return "boolean";
    case OID_BYTEA: return "bytea";
    case 18: return "\"char\"";
    case 19: return "name";
    case OID_INT8: return "bigint";
    case OID_INT2: return "smallint";
    case OID_INT4: return "integer";
    case 25: return "text";
    case OID_OID: return "oid";
    case OID_JSON: return "json";
    case 142: return "xml";
    case 650: return "cidr";
    case OID_FLOAT4: return "real";
    case OID_FLOAT8: return "double precision";
    case 790: return "money";
    case 829: return "macaddr";
    case 869: return "inet";
    case 1000: return "boolean[]";
    case 1001: return "bytea[]";
    case 1005: return "smallint[]";
    case 1007: return "integer[]";
    case 1009: return "text[]";
    case 1014: return "character[]";
    case 1015: return "character varying[]";
    case 1016: return "bigint[]";
    case 1021: return "real[]";
    case 1022: return "double precision[]";
    case 1042: return "character";
    case 1043: return "character varying";
    case OID_DATE: return "date";
    case 1083: return "time without time zone";
    case OID_TIMESTAMP: return "timestamp without time zone";
    case 1115: return "timestamp without time zone[]";
    case 1182: return "date[]";
    case OID_TIMESTAMPTZ: return "timestamp with time zone";
    case 1185: return "timestamp with time zone[]";
    case 1186: return "interval";
    case 1231: return "numeric[]";
    case 1266: return "time with time zone";
    case 1560: return "bit";
    case 1562: return "bit varying";
    case OID_NUMERIC: return "numeric";
    case 2950: return "uuid";
    case 2951: return "uuid[]";
    case 199: return "json[]";
    case 3807: return "jsonb[]";
    case OID_JSONB: return "jsonb";
    default: return NULL;
    }
}

int pgc_type_name(unsigned oid, int typmod, char *out, size_t outsz)
{
    const char *name = pgc_builtin_name(oid);

    if (!name)
        return -1;
    if (typmod >= 4 && oid == OID_NUMERIC)
        snprintf(out, outsz, "numeric(%d,%d)", ((typmod - 4) >> 16) & 0xffff,
                 (typmod - 4) & 0xffff);
    else if (typmod >= 4 && (oid == 1042 || oid == 1043))
        snprintf(out, outsz, "%s(%d)", name, typmod - 4);
    else if (typmod >= 0 && typmod <= 6 &&
             (oid == OID_TIMESTAMP || oid == OID_TIMESTAMPTZ || oid == 1083 || oid == 1266))
        snprintf(out, outsz, "%.*s(%d)%s", (int)strcspn(name, " "), name, typmod,
                 name + strcspn(name, " "));
    else
        snprintf(out, outsz, "%s", name);
    return 0;
}

pgc_class pgc_rows_class(PGconn *pg, unsigned oid, uint32_t host_abi)
{
    if (oid == OID_FLOAT8 && host_abi >= DSRC_ABI_VERSION_1_5 && pg &&
        PQserverVersion(pg) >= 120000)
        return PGC_FLOAT_TEXT;
    return pgc_class_of(oid);
}

dsrc_type pgc_type_of(pgc_class cls)
{
    switch (cls) {
    case PGC_INT: return DSRC_T_INT64;
    case PGC_FLOAT:
    case PGC_FLOAT_TEXT: return DSRC_T_DOUBLE;
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
    case PGC_DATE:
    case PGC_TIMESTAMP:
    case PGC_TIMESTAMPTZ:
        return len + 32; /* the longest ISO 8601 form, with room to spare */
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
        int hi = dsrc_hexval(v[2 + 2 * i]), lo = dsrc_hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (char)(hi << 4 | lo);
    }
    cell->type = DSRC_T_BYTES;
    cell->v.s.ptr = out;
    cell->v.s.len = n;
    return 0;
}

/* A date, timestamp or timestamptz in DateStyle ISO, parsed. */
typedef struct pgc_when {
    long long year;          /* astronomical: 1 BC is 0, 44 BC is -43   */
    int mon, day, hour, min, sec;
    const char *frac;        /* ".123456" or NULL                        */
    size_t frac_len;
    int has_time;
    long off;                /* seconds east of UTC (timestamptz)        */
} pgc_when;

/* `n` digits at *p as a number (n > 0, no sign); -1 when not digits. */
static long long pgc_digits(const char **p, const char *end, size_t n)
{
    long long v = 0;
    size_t i;
    if ((size_t)(end - *p) < n)
        return -1;
    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

/* Parse "YYYY-MM-DD[ hh:mm:ss[.f]][+hh[:mm[:ss]]][ BC]" (the year may have
 * more than four digits).  0, or -1 when it is not in that form. */
static int pgc_parse_when(const char *v, size_t len, int with_time, int tz, pgc_when *w)
{
    const char *p = v, *end = v + len;
    long long oh, om = 0, os = 0;
    size_t ylen = 0;
    int sign;

    memset(w, 0, sizeof *w);
    if (len >= 3 && memcmp(end - 3, " BC", 3) == 0)
        end -= 3;
    while (ylen < (size_t)(end - v) && v[ylen] >= '0' && v[ylen] <= '9' && ylen < 9)
        ylen++;
    if (ylen < 4)
        return -1;
    w->year = pgc_digits(&p, end, ylen);
    if (p >= end || *p++ != '-' || (w->mon = (int)pgc_digits(&p, end, 2)) < 1 ||
        p >= end || *p++ != '-' || (w->day = (int)pgc_digits(&p, end, 2)) < 1)
        return -1;
    if (end != v + len)
        w->year = 1 - w->year;
    if (!with_time)
        return p == end ? 0 : -1;
    if (p >= end || *p++ != ' ' || (w->hour = (int)pgc_digits(&p, end, 2)) < 0 ||
        p >= end || *p++ != ':' || (w->min = (int)pgc_digits(&p, end, 2)) < 0 ||
        p >= end || *p++ != ':' || (w->sec = (int)pgc_digits(&p, end, 2)) < 0)
        return -1;
    w->has_time = 1;
    if (p < end && *p == '.') {
        w->frac = p++;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        w->frac_len = (size_t)(p - w->frac);
    }
    if (!tz)
        return p == end ? 0 : -1;
    if (p >= end || (*p != '+' && *p != '-'))
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if ((oh = pgc_digits(&p, end, 2)) < 0)
        return -1;
    if (p < end && *p == ':') {
        p++;
        if ((om = pgc_digits(&p, end, 2)) < 0)
            return -1;
    }
    if (p < end && *p == ':') {
        p++;
        if ((os = pgc_digits(&p, end, 2)) < 0)
            return -1;
    }
    w->off = sign * (long)(oh * 3600 + om * 60 + os);
    return p == end ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's algorithms; any year). */
static long long pgc_days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void pgc_civil_from_days(long long z, long long *y, int *m, int *d)
{
    long long era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* v (>= 0) in decimal, zero-padded to at least width digits, into out;
 * returns the length (at most 20). */
static int pgc_put_num(char *out, long long v, int width)
{
    char tmp[24];
    int n = 0, i;
    unsigned long long u = (unsigned long long)v;

    /* The common cases, months to seconds and years 0 to 9999, without a
     * loop. */
    if (width == 2 && u < 100) {
        out[0] = (char)('0' + u / 10);
        out[1] = (char)('0' + u % 10);
        return 2;
    }
    if (width == 4 && u < 10000) {
        unsigned hi = (unsigned)u / 100, lo = (unsigned)u % 100;
        out[0] = (char)('0' + hi / 10);
        out[1] = (char)('0' + hi % 10);
        out[2] = (char)('0' + lo / 10);
        out[3] = (char)('0' + lo % 10);
        return 4;
    }
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n < width)
        tmp[n++] = '0';
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* A date, timestamp or timestamptz in DateStyle ISO as ISO 8601 in
 * scratch: "2024-01-31", "2024-01-31T12:00:00.5", a timestamptz moved to
 * UTC with "Z" ("2024-01-31T06:30:00Z", whatever the session's time zone
 * and even for offsets with seconds); years before 1 with ISO 8601's
 * astronomical numbering and a sign ("-0043-03-15" for 44 BC, "0000" for
 * 1 BC), years after 9999 with a '+'.  "infinity" and "-infinity" stay as
 * they are.  0, or -1 when the value is not in that form. */
static int pgc_when_cell(const char *v, size_t len, pgc_class cls, pgc_scratch *s,
                         dsrc_cell *cell)
{
    pgc_when w;
    char *out;
    int n;

    if ((len == 8 && memcmp(v, "infinity", 8) == 0) ||
        (len == 9 && memcmp(v, "-infinity", 9) == 0)) {
        pgc_text_cell(v, len, DSRC_T_TIMESTAMP, cell);
        return 0;
    }
    if (pgc_parse_when(v, len, cls != PGC_DATE, cls == PGC_TIMESTAMPTZ, &w) != 0)
        return -1;
    if (cls == PGC_TIMESTAMPTZ && w.off) {
        long long t = (pgc_days_from_civil(w.year, w.mon, w.day) * 86400 + w.hour * 3600 +
                       w.min * 60 + w.sec) - w.off;
        long long days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
        pgc_civil_from_days(days, &w.year, &w.mon, &w.day);
        w.hour = (int)(secs / 3600);
        w.min = (int)(secs / 60 % 60);
        w.sec = (int)(secs % 60);
    }
    out = pgc_take(s, pgc_scratch_need(cls, len));
    if (!out)
        return -1;
    /* as "%s%04lld-%02d-%02d" and "T%02d:%02d:%02d" would, without
     * printf (it was a fifth of a typed fetch's instructions) */
    n = 0;
    if (w.year < 0)
        out[n++] = '-';
    else if (w.year > 9999)
        out[n++] = '+';
    n += pgc_put_num(out + n, w.year < 0 ? -w.year : w.year, 4);
    out[n++] = '-';
    n += pgc_put_num(out + n, w.mon, 2);
    out[n++] = '-';
    n += pgc_put_num(out + n, w.day, 2);
    if (w.has_time) {
        out[n++] = 'T';
        n += pgc_put_num(out + n, w.hour, 2);
        out[n++] = ':';
        n += pgc_put_num(out + n, w.min, 2);
        out[n++] = ':';
        n += pgc_put_num(out + n, w.sec, 2);
        if (w.frac_len) {
            memcpy(out + n, w.frac, w.frac_len);
            n += (int)w.frac_len;
        }
        if (cls == PGC_TIMESTAMPTZ)
            out[n++] = 'Z';
    }
    cell->type = DSRC_T_TIMESTAMP;
    cell->v.s.ptr = out;
    cell->v.s.len = (size_t)n;
    return 0;
}

/* An integer of at most 18 digits (no overflow possible) without
 * strtoll(); 0, or -1 for strtoll(). */
static int pgc_fast_int(const char *v, size_t len, int64_t *out)
{
    const char *p = v, *end = v + len;
    int neg = 0;
    int64_t x = 0;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || end - p > 18)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (*p - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

/* A decimal number without strtod() where one correctly rounded operation
 * makes the double: at most 19 significant digits whose value is at most
 * 2^53, times or divided by a power of ten of at most 22 (both exact
 * doubles: Clinger's fast path), which gives what strtod() gives.  0, or
 * -1 for strtod() (more digits, larger exponents, NaN, infinities). */
static int pgc_fast_double(const char *v, size_t len, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = v, *end = v + len;
    uint64_t m = 0;
    int neg = 0, sig = 0, any = 0, exp = 0;
    double d;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        any = 1;
        if (m || *p != '0') {
            if (++sig > 19)
                return -1;
            m = m * 10 + (uint64_t)(*p - '0');
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            any = 1;
            exp--;
            if (m || *p != '0') {
                if (++sig > 19)
                    return -1;
                m = m * 10 + (uint64_t)(*p - '0');
            }
        }
    }
    if (!any)
        return -1;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int esign = 1, e = 0, nd = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            esign = *p++ == '-' ? -1 : 1;
        for (; p < end && *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
            e = e * 10 + (*p - '0');
        if (!nd)
            return -1;
        exp += esign * e;
    }
    if (p != end || m > (UINT64_C(1) << 53))
        return -1;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (exp < -22 || exp > 22)
        return -1;
    d = (double)m;
    d = exp < 0 ? d / p10[-exp] : d * p10[exp];
    *out = neg ? -d : d;
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
        if (pgc_fast_int(v, len, &cell->v.i) == 0) {
            cell->type = DSRC_T_INT64;
            return;
        }
        errno = 0;
        x = strtoll(v, &end, 10);
        if (!errno && end != v && *end == '\0') {
            cell->type = DSRC_T_INT64;
            cell->v.i = (int64_t)x;
            return;
        }
        break;
    }
    case PGC_FLOAT_TEXT:
        /* float8out's own text, as the host would write the double (the
         * host refuses anything that is not a number) */
        cell->type = DSRC_T_DOUBLE_TEXT;
        cell->v.s.ptr = v;
        cell->v.s.len = len;
        return;
    case PGC_FLOAT: {
        char *end;
        double d;
        if (pgc_fast_double(v, len, &cell->v.d) == 0) {
            cell->type = DSRC_T_DOUBLE;
            return;
        }
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
    case PGC_TIMESTAMP:
    case PGC_TIMESTAMPTZ:
        if (pgc_when_cell(v, len, cls, s, cell) == 0)
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

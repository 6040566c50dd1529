/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mg_value.c -- BSON values as SDK cells, Extended JSON and cursor text.
 */
#include "mg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <time.h>

dsrc_type mg_sdk_type(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64: return DSRC_T_INT64;
    case BSON_TYPE_DOUBLE: return DSRC_T_DOUBLE;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_OID:
    case BSON_TYPE_DECIMAL128:
    case BSON_TYPE_SYMBOL: return DSRC_T_TEXT;
    case BSON_TYPE_BOOL: return DSRC_T_BOOL;
    case BSON_TYPE_DATE_TIME: return DSRC_T_TIMESTAMP;
    case BSON_TYPE_BINARY: return DSRC_T_BYTES;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return DSRC_T_NULL;
    default: return DSRC_T_JSON;
    }
}

const char *mg_type_name(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_DOCUMENT: return "object";
    case BSON_TYPE_ARRAY: return "array";
    case BSON_TYPE_BINARY: return "binData";
    case BSON_TYPE_UNDEFINED: return "undefined";
    case BSON_TYPE_OID: return "objectId";
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_DATE_TIME: return "date";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_REGEX: return "regex";
    case BSON_TYPE_DBPOINTER: return "dbPointer";
    case BSON_TYPE_CODE: return "javascript";
    case BSON_TYPE_SYMBOL: return "symbol";
    case BSON_TYPE_CODEWSCOPE: return "javascriptWithScope";
    case BSON_TYPE_INT32: return "int";
    case BSON_TYPE_TIMESTAMP: return "timestamp";
    case BSON_TYPE_INT64: return "long";
    case BSON_TYPE_DECIMAL128: return "decimal";
    case BSON_TYPE_MAXKEY: return "maxKey";
    case BSON_TYPE_MINKEY: return "minKey";
    default: return "unknown";
    }
}

char *mg_value_json(const bson_iter_t *it, int canonical)
{
    bson_t tmp = BSON_INITIALIZER;
    char *s, *out = NULL;
    size_t len = 0;
    static const char pre[] = "{ \"v\" : ";

    if (!bson_append_iter(&tmp, "v", 1, it)) {
        bson_destroy(&tmp);
        return NULL;
    }
    s = canonical ? bson_as_canonical_extended_json(&tmp, &len)
                  : bson_as_relaxed_extended_json(&tmp, &len);
    bson_destroy(&tmp);
    /* libbson writes `{ "v" : VALUE }`: keep VALUE. */
    if (s && len >= sizeof pre + 1 && memcmp(s, pre, sizeof pre - 1) == 0 &&
        memcmp(s + len - 2, " }", 2) == 0)
        out = bson_strndup(s + sizeof pre - 1, len - (sizeof pre - 1) - 2);
    bson_free(s);
    return out;
}

/* Milliseconds since the epoch as ISO 8601 UTC with milliseconds. */
static int iso_ms(int64_t ms, char *out, size_t outsz)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    struct tm tm;
    time_t t;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm))
        return -1;
    if (snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac) >=
        (int)outsz)
        return -1;
    return 0;
}

int mg_value_cell(const bson_iter_t *it, int canonical, dsrc_cell *cell, char **scratch)
{
    char buf[64];
    memset(cell, 0, sizeof *cell);
    *scratch = NULL;
    if (!it) {
        cell->type = DSRC_T_NULL;
        return 0;
    }
    switch (bson_iter_type(it)) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        cell->type = DSRC_T_NULL;
        return 0;
    case BSON_TYPE_INT32:
        cell->type = DSRC_T_INT64;
        cell->v.i = bson_iter_int32(it);
        return 0;
    case BSON_TYPE_INT64:
        cell->type = DSRC_T_INT64;
        cell->v.i = bson_iter_int64(it);
        return 0;
    case BSON_TYPE_DOUBLE:
        cell->type = DSRC_T_DOUBLE;
        cell->v.d = bson_iter_double(it);
        return 0;
    case BSON_TYPE_BOOL:
        cell->type = DSRC_T_BOOL;
        cell->v.b = bson_iter_bool(it) ? 1 : 0;
        return 0;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: {
        uint32_t n = 0;
        const char *s = bson_iter_type(it) == BSON_TYPE_UTF8 ? bson_iter_utf8(it, &n)
                                                             : bson_iter_symbol(it, &n);
        cell->type = DSRC_T_TEXT;
        cell->v.s.ptr = s ? s : "";
        cell->v.s.len = s ? n : 0;
        return 0;
    }
    case BSON_TYPE_BINARY: {
        bson_subtype_t sub;
        uint32_t n = 0;
        const uint8_t *p = NULL;
        bson_iter_binary(it, &sub, &n, &p);
        cell->type = DSRC_T_BYTES;
        cell->v.s.ptr = p ? (const char *)p : "";
        cell->v.s.len = p ? n : 0;
        return 0;
    }
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), buf);
        break;
    case BSON_TYPE_DATE_TIME:
        if (iso_ms(bson_iter_date_time(it), buf, sizeof buf) != 0)
            goto json;
        cell->type = DSRC_T_TIMESTAMP;
        break;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        bson_iter_decimal128(it, &d);
        bson_decimal128_to_string(&d, buf);
        break;
    }
    default:
        goto json;
    }
    /* Text made from the value. */
    if (cell->type == DSRC_T_NULL)
        cell->type = DSRC_T_TEXT;
    *scratch = bson_strdup(buf);
    cell->v.s.ptr = *scratch;
    cell->v.s.len = strlen(buf);
    return 0;
json:
    *scratch = mg_value_json(it, canonical);
    if (!*scratch)
        return -1;
    cell->type = DSRC_T_JSON;
    cell->v.s.ptr = *scratch;
    cell->v.s.len = strlen(*scratch);
    return 0;
}

int mg_cursor_text(const bson_iter_t *it, char *out, size_t outsz)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        snprintf(out, outsz, "%d", (int)bson_iter_int32(it));
        return 0;
    case BSON_TYPE_INT64:
        snprintf(out, outsz, "%" PRId64, bson_iter_int64(it));
        return 0;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (!isfinite(d))
            return -1;
        snprintf(out, outsz, "%.15g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, outsz, "%.17g", d);
        return 0;
    }
    case BSON_TYPE_UTF8: {
        uint32_t n = 0;
        const char *s = bson_iter_utf8(it, &n);
        if (!s || n >= outsz || memchr(s, '\0', n))
            return -1;
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
    }
    case BSON_TYPE_DATE_TIME:
        return iso_ms(bson_iter_date_time(it), out, outsz);
    case BSON_TYPE_OID:
        if (outsz < 25)
            return -1;
        bson_oid_to_string(bson_iter_oid(it), out);
        return 0;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        char buf[BSON_DECIMAL128_STRING];
        bson_iter_decimal128(it, &d);
        bson_decimal128_to_string(&d, buf);
        if (strlen(buf) >= outsz)
            return -1;
        strcpy(out, buf);
        return 0;
    }
    default:
        return -1;
    }
}

/* "2024-01-31T12:00:00[.123][Z]" or "2024-01-31 12:00:00" or "2024-01-31",
 * read as UTC; or milliseconds since the epoch.  Returns 0 or -1. */
static int parse_date(const char *s, int64_t *ms)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, frac = 0, fd = 0;
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (*s && !errno && *end == '\0' && !isspace((unsigned char)*s)) {
        *ms = (int64_t)v;
        return 0;
    }
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    s += n;
    if (*s == 'T' || *s == ' ') {
        if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
            return -1;
        s += 1 + n;
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s)) {
                if (fd < 3) {
                    frac = frac * 10 + (*s - '0');
                    fd++;
                }
                s++;
            }
            while (fd < 3) {
                frac *= 10;
                fd++;
            }
        }
        if (*s == 'Z')
            s++;
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

dsrc_status mg_cursor_append(bson_t *dst, const char *key, const char *field,
                             const char *text, bson_type_t t, dsrc_error *err)
{
    char *end;
    int klen = (int)strlen(key);
    switch (t) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: {
        long long v;
        double d;
        if (!*text || isspace((unsigned char)*text))
            break;
        errno = 0;
        v = strtoll(text, &end, 10);
        if (!errno && *end == '\0') {
            bson_append_int64(dst, key, klen, (int64_t)v);
            return DSRC_OK;
        }
        errno = 0;
        d = strtod(text, &end);
        if (!errno && *end == '\0' && isfinite(d)) {
            bson_append_double(dst, key, klen, d);
            return DSRC_OK;
        }
        break;
    }
    case BSON_TYPE_UTF8:
        bson_append_utf8(dst, key, klen, text, -1);
        return DSRC_OK;
    case BSON_TYPE_DATE_TIME: {
        int64_t ms;
        if (parse_date(text, &ms) == 0) {
            bson_append_date_time(dst, key, klen, ms);
            return DSRC_OK;
        }
        break;
    }
    case BSON_TYPE_OID:
        if (bson_oid_is_valid(text, strlen(text)) && strlen(text) == 24) {
            bson_oid_t oid;
            bson_oid_init_from_string(&oid, text);
            bson_append_oid(dst, key, klen, &oid);
            return DSRC_OK;
        }
        break;
    default:
        return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                              "cursor field '%s' holds %s values, which cannot serve as a"
                              " cursor", field, mg_type_name(t));
    }
    return dsrc_error_set(err, DSRC_E_INVALID_ARGUMENT, 0, NULL,
                          "cursor value '%s' is not a %s, the type of field '%s'", text,
                          mg_type_name(t), field);
}
